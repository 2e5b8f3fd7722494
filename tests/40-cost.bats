#!/usr/bin/env bats
# qa-cost: prices, usage reconciliation, summaries, projections and savings.

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	unset QA_PRICES
	# A small table with round figures, so every expected number is by hand.
	cat > prices.csv <<'CSV'
provider,model,input_per_mtok,output_per_mtok,cached_input_per_mtok,cache_write_per_mtok,reasoning_per_mtok,currency,date,source
openai,gpt-4o,5.00,15.00,,,,USD,2024-05-13,launch price
openai,gpt-4o,2.50,10.00,1.25,,,USD,2024-08-06,list price
openai,gpt-4o-mini,0.15,0.60,0.075,,,USD,2024-07-18,list price
openai,o9,2.00,8.00,,,40.00,USD,2026-01-01,made up: reasoning dearer than output
anthropic,claude-3-5-sonnet,3.00,15.00,0.30,3.75,,USD,2024-06-20,list price
relay,gpt-4o,1.00,1.00,,,,USD,2026-11-24,a relay with the same name
example,one-dollar,1.00,1.00,,,,USD,2026-01-01,the worked example
example,four-dollar,4.00,4.00,,,,USD,2026-01-01,a baseline
CSV
}

# A record with OpenAI-style usage: model prompt completion [total].
oa() {
	local total=${4:+,\"total_tokens\":$4}
	printf '{"response":{"model":"%s","usage":{"prompt_tokens":%s,"completion_tokens":%s%s}}}\n' "$1" "$2" "$3" "$total"
}

@test "cost.incurred: the total, or 0 for an answer qa-send served from its cache; the summary has both" {
	{ oa gpt-4o 1000 100; printf '%s\n' '{"response":{"model":"gpt-4o","cached":true,"cached_at":"2026-12-06T21:00:00Z","usage":{"prompt_tokens":1000,"completion_tokens":100}}}'; } > in.jsonl
	run_ok qa-cost -p prices.csv in.jsonl
	[ "$(jq -c '[.cost.total, .cost.incurred]' <<<"$output" | tr '\n' ' ')" = '[0.0035,0.0035] [0.0035,0] ' ]
	run_ok qa-cost -p prices.csv -s -f json in.jsonl
	[ "$(jq -c 'select(.scope == "overall") | [.cost, .cost_incurred]' <<<"$output")" = '[0.007,0.0035]' ]
	# the table, Markdown and CSV show both, side by side
	run_ok qa-cost -p prices.csv -s -f table in.jsonl
	[ "$(awk '$1 == "(overall)" { print $8, $9 }' <<<"$output")" = '$0.007 $0.0035' ]
	[[ "${lines[0]}" =~ " COST "+"INCURRED "+"PER_1K_TASKS" ]]
	run_ok qa-cost -p prices.csv -s -f md in.jsonl
	[ "$(awk -F'|' '$2 ~ /overall/ { gsub(/ /, ""); print $9, $10 }' <<<"$output")" = '$0.007 $0.0035' ]
	run_ok qa-cost -p prices.csv -s -f csv in.jsonl
	[ "$(grep '^"overall"' <<<"$output" | cut -d, -f9,10)" = '"0.007000","0.003500"' ]
	[ "$(head -n 1 <<<"$output" | cut -d, -f9,10)" = '"cost","cost_incurred"' ]
}

@test "appends cost and keeps every other byte of the record" {
	printf '%s\n' '{ "id" : 7, "n":1.50, "response":{"model":"gpt-4o","usage":{"prompt_tokens":1000,"completion_tokens":100}} , "zz":[1e3] }' > in.jsonl
	run_ok qa-cost -p prices.csv in.jsonl
	assert_output '{ "id" : 7, "n":1.50, "response":{"model":"gpt-4o","usage":{"prompt_tokens":1000,"completion_tokens":100}} , "zz":[1e3],"cost":{"input":0.0025,"cached":0,"cache_write":0,"output":0.001,"reasoning":0,"total":0.0035,"incurred":0.0035,"currency":"USD","source":"usage","price":"openai/gpt-4o@2024-08-06"} }'
}

@test "cost = tokens x price per MTok / 1e6, unrounded" {
	run_ok qa-cost -p prices.csv <<<"$(oa gpt-4o 333 77)"
	# 333 x 2.50 / 1e6 and 77 x 10 / 1e6, as the double arithmetic gives them
	[ "$(field .cost.input)" = 0.0008325 ]
	[ "$(field .cost.output)" = 0.00077 ]
	[ "$(field .cost.total)" = "$(jq -n '333 * 2.5 / 1e6 + 77 * 10 / 1e6')" ]
}

@test "re-pricing replaces cost and clears a stale usage_mismatch" {
	run_ok qa-cost -p prices.csv <<<'{"response":{"model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":10,"total_tokens":25}}}'
	first=$output
	[ "$(field .usage_mismatch.difference)" = 5 ]
	fixed=$(jq -c '.response.usage.total_tokens = 20' <<<"$first")
	run_ok qa-cost -p prices.csv <<<"$fixed"
	[ "$(field 'has("usage_mismatch")')" = false ]
	[ "$(grep -o '"cost"' <<<"$output" | wc -l)" -eq 1 ]
	[ "$(field .cost.total)" = 0.000125 ]
}

@test "OpenAI: cached tokens are part of prompt_tokens and billed once, at the cached price" {
	run_ok qa-cost -p prices.csv <<<'{"response":{"model":"gpt-4o","usage":{"prompt_tokens":1000,"completion_tokens":0,"prompt_tokens_details":{"cached_tokens":400}}}}'
	# 600 x 2.50 + 400 x 1.25, per MTok; not 1000 x 2.50 + 400 x 1.25
	[ "$(field .cost.input)" = 0.0015 ]
	[ "$(field .cost.cached)" = 0.0005 ]
	[ "$(field .cost.total)" = 0.002 ]
}

@test "OpenAI: cached tokens beyond prompt_tokens are clamped and flagged" {
	run_ok qa-cost -p prices.csv <<<'{"response":{"model":"gpt-4o","usage":{"prompt_tokens":100,"completion_tokens":0,"prompt_tokens_details":{"cached_tokens":150}}}}'
	[ "$(field .cost.input)" = 0 ]
	[ "$(field .cost.cached)" = 0.000125 ]
	[[ "$(field .usage_mismatch.message)" == *"cached_tokens 150 > prompt_tokens 100: billed as 100"* ]]
}

@test "Anthropic: cache reads and writes come on top of input_tokens, each at its price" {
	run_ok qa-cost -p prices.csv <<<'{"response":{"model":"claude-3-5-sonnet-20240620","usage":{"input_tokens":100,"output_tokens":50,"cache_read_input_tokens":1000,"cache_creation_input_tokens":200}}}'
	[ "$(field .cost.input)" = 0.0003 ]	# 100 x 3.00
	[ "$(field .cost.cached)" = 0.0003 ]	# 1000 x 0.30
	[ "$(field .cost.cache_write)" = 0.00075 ]	# 200 x 3.75
	[ "$(field .cost.output)" = 0.00075 ]	# 50 x 15.00
	[ "$(field '.cost.total * 1e6 | round')" = 2100 ]
	[ "$(field .cost.price)" = '"anthropic/claude-3-5-sonnet@2024-06-20"' ]
}

@test "a cache write without a cache-write price is billed at the input price" {
	run_ok qa-cost -p prices.csv <<<'{"response":{"model":"gpt-4o","usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":1000}}}'
	[ "$(field .cost.cache_write)" = 0.0025 ]
}

@test "reasoning tokens are inside completion_tokens: priced apart, never twice" {
	run_ok qa-cost -p prices.csv <<<'{"response":{"model":"o9","usage":{"prompt_tokens":0,"completion_tokens":1000,"completion_tokens_details":{"reasoning_tokens":250}}}}'
	[ "$(field .cost.output)" = 0.006 ]	# 750 x 8
	[ "$(field .cost.reasoning)" = 0.01 ]	# 250 x 40
	[ "$(field .cost.total)" = 0.016 ]
	# Without a reasoning price they cost what output costs.
	run_ok qa-cost -p prices.csv <<<'{"response":{"model":"gpt-4o","usage":{"prompt_tokens":0,"completion_tokens":1000,"completion_tokens_details":{"reasoning_tokens":250}}}}'
	[ "$(field .cost.total)" = 0.01 ]
}

@test "total_tokens that does not add up is flagged in the record and counted in the summary" {
	{ oa gpt-4o 100 25 130; oa gpt-4o 100 25 125; oa gpt-4o 100 25; } > in.jsonl
	run_ok qa-cost -p prices.csv in.jsonl
	[ "$(sed -n 1p <<<"$output" | jq -c .usage_mismatch)" = '{"message":"total_tokens 130 != prompt_tokens 100 + completion_tokens 25","total_tokens":130,"prompt_plus_completion":125,"difference":5}' ]
	[ "$(sed -n 2p <<<"$output" | jq 'has("usage_mismatch")')" = false ]
	[ "$(sed -n 3p <<<"$output" | jq 'has("usage_mismatch")')" = false ]
	# Billed on prompt and completion, as providers bill.
	[ "$(sed -n 1p <<<"$output" | jq .cost.total)" = "$(sed -n 2p <<<"$output" | jq .cost.total)" ]
	assert_stderr 'qa-cost: 1 record: usage that does not add up (see usage_mismatch)'
	run_ok qa-cost -p prices.csv -s in.jsonl
	[ "$(tail -n 1 <<<"$output" | jq .usage_mismatches)" = 1 ]
}

@test "an unknown model: one warning naming it, no cost, exit 1" {
	{ oa mystery-1 10 5; oa mystery-1 10 5; oa gpt-4o 10 5; oa mystery-2 1 1; } > in.jsonl
	run_data qa-cost -p prices.csv in.jsonl
	[ "$(jq -c 'has("cost")' <<<"$output" | tr '\n' ' ')" = 'false false true false ' ]
	[ "$(grep -c "no price for model 'mystery-1'" <<<"$stderr")" -eq 1 ]
	assert_stderr --partial "in.jsonl:1: no price for model 'mystery-1': cost left out"
	assert_stderr --partial "in.jsonl:4: no price for model 'mystery-2'"
	assert_stderr --partial '3 records not priced: 2 models without a price'
}

@test "a record with no model to price: a warning, no cost, exit 1" {
	run_data qa-cost -p prices.csv <<<'{"response":{"usage":{"prompt_tokens":1,"completion_tokens":1}}}'
	[ "$(field 'has("cost")')" = false ]
	assert_stderr --partial 'no model to price'
}

@test "negative, fractional and non-numeric token counts: a bad_record error on that record" {
	cat > in.jsonl <<'IN'
{"id":1,"response":{"model":"gpt-4o","usage":{"prompt_tokens":-5,"completion_tokens":5}}}
{"id":2,"response":{"model":"gpt-4o","usage":{"prompt_tokens":"12","completion_tokens":5}}}
{"id":3,"response":{"model":"gpt-4o","usage":{"prompt_tokens":10.5,"completion_tokens":5}}}
{"id":4,"response":{"model":"gpt-4o","usage":{"prompt_tokens":1,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":true}}}}
{"id":5,"response":{"model":"gpt-4o","usage":"lots"}}
{"id":6,"response":{"model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":5}}}
IN
	run_data qa-cost -p prices.csv in.jsonl
	[ "$(jq -c '[.id, .error.type, has("cost")]' <<<"$output" | tr '\n' ' ')" = '[1,"bad_record",false] [2,"bad_record",false] [3,"bad_record",false] [4,"bad_record",false] [5,"bad_record",false] [6,null,true] ' ]
	[ "$(sed -n 1p <<<"$output" | jq -r .error.message)" = 'response.usage.prompt_tokens is -5, not a token count (a whole number, 0 or more)' ]
	[ "$(sed -n 2p <<<"$output" | jq -r .error.message)" = 'response.usage.prompt_tokens is "12", not a token count' ]
	[ "$(sed -n 1p <<<"$output" | jq .error.line)" = 1 ]
	assert_stderr --partial 'in.jsonl:1: response.usage.prompt_tokens is -5'
	assert_stderr --partial 'in.jsonl:5: response.usage is not an object'
	# The record's own bytes are kept.
	[ "$(sed -n 1p <<<"$output" | jq -c 'del(.error)')" = "$(sed -n 1p in.jsonl | jq -c .)" ]
}

@test "a line that is not JSON comes out as a bad_record error" {
	printf '%s\n' 'not json' "$(oa gpt-4o 1 1)" > in.jsonl
	run_data qa-cost -p prices.csv in.jsonl
	[ "$(sed -n 1p <<<"$output" | jq -c '[.error.type, .error.line, .input]')" = '["bad_record",1,"not json"]' ]
	[ "$(sed -n 2p <<<"$output" | jq 'has("cost")')" = true ]
}

@test "missing usage: one warning with the count, no cost, exit 1; failed requests are not warned about" {
	cat > in.jsonl <<'IN'
{"id":1,"response":{"model":"gpt-4o","text":"hi"}}
{"id":2,"response":{"model":"gpt-4o","text":"hi"}}
{"id":3,"model":"gpt-4o","error":{"type":"timeout","message":"gave up","attempts":3}}
IN
	run_data qa-cost -p prices.csv in.jsonl
	[ "$(jq -c 'has("cost")' <<<"$output" | tr '\n' ' ')" = 'false false false ' ]
	assert_stderr 'qa-cost: in.jsonl:1: no response.usage: cost left out (2 records in all; --estimate estimates them)'
}

@test "--estimate: 4 bytes a token, rounded up, marked as an estimate" {
	printf '%s\n' '{"prompt":"What is the answer to this?","response":{"model":"gpt-4o","text":"hello world, this is it"}}' \
		'{"system":"Be brief.","messages":[{"role":"user","content":"Hi there"},{"role":"user","content":[{"type":"text","text":"and you"}]}],"response":{"model":"gpt-4o","text":"ok"}}' > in.jsonl
	run_ok qa-cost -p prices.csv --estimate in.jsonl
	# 27 bytes -> 7 tokens in, 23 bytes -> 6 out
	[ "$(sed -n 1p <<<"$output" | jq -c '[.cost.source, .cost.estimated_tokens]')" = '["estimate",{"input":7,"output":6}]' ]
	[ "$(sed -n 1p <<<"$output" | jq '.cost.total * 1e7 | round')" = 775 ]
	# 9 + 8 + 7 bytes -> 6 tokens in, 2 bytes -> 1 out
	[ "$(sed -n 2p <<<"$output" | jq -c .cost.estimated_tokens)" = '{"input":6,"output":1}' ]
	run_ok qa-cost -p prices.csv --estimate -s in.jsonl
	[ "$(tail -n 1 <<<"$output" | jq .estimated)" = 2 ]
}

@test "lookup: exact name first, then the longest prefix; a snapshot finds its family" {
	{ oa gpt-4o-2024-08-06 1000000 0; oa gpt-4o-mini-2024-07-18 1000000 0; oa gpt-4o-mini 1000000 0; } > in.jsonl
	run_ok qa-cost -p prices.csv in.jsonl
	[ "$(jq -c '[.cost.price, .cost.total]' <<<"$output" | tr '\n' ' ')" = '["openai/gpt-4o@2024-08-06",2.5] ["openai/gpt-4o-mini@2024-07-18",0.15] ["openai/gpt-4o-mini@2024-07-18",0.15] ' ]
}

@test "dated rows are the price's history: the newest applies, --as-of picks an older one" {
	run_ok qa-cost -p prices.csv <<<"$(oa gpt-4o 1000000 1000000)"
	[ "$(field .cost.total)" = 12.5 ]
	run_ok qa-cost -p prices.csv --as-of 2024-06-01 <<<"$(oa gpt-4o 1000000 1000000)"
	[ "$(field .cost.total)" = 20 ]
	[ "$(field .cost.price)" = '"openai/gpt-4o@2024-05-13"' ]
	run_data qa-cost -p prices.csv --as-of 2024-01-01 <<<"$(oa gpt-4o 1 1)"
	assert_stderr --partial "no price for model 'gpt-4o' as of that date"
	run_usage qa-cost -p prices.csv --as-of 2024-13-01 </dev/null
	assert_stderr --partial "--as-of: '2024-13-01' is not a date"
}

@test "thousands of model names: every record priced, with and without --summary" {
	for i in $(seq 1 3000); do oa "gpt-4o-ft-$i" 1000000 0; done > many.jsonl
	run_ok qa-cost -p prices.csv many.jsonl
	[ "$(jq -c .cost.total <<<"$output" | sort -u)" = 2.5 ]
	[ "$(wc -l <<<"$output")" -eq 3000 ]
	run_ok qa-cost -p prices.csv -s many.jsonl
	[ "$(tail -n 1 <<<"$output" | jq -c '[.tasks, .cost, .unpriced]')" = '[3000,7500,0]' ]
}

@test "a model under several providers: the first row, --provider, or the endpoint config's provider" {
	run_ok qa-cost -p prices.csv <<<"$(oa gpt-4o 1000000 0)"
	[ "$(field .cost.price)" = '"openai/gpt-4o@2024-08-06"' ]
	run_ok qa-cost -p prices.csv --provider relay <<<"$(oa gpt-4o 1000000 0)"
	[ "$(field .cost.price)" = '"relay/gpt-4o@2026-11-24"' ]
	[ "$(field .cost.total)" = 1 ]
	# --provider is strict: a model it does not sell has no price.
	run_data qa-cost -p prices.csv --provider relay <<<"$(oa claude-3-5-sonnet 1 1)"
	assert_stderr --partial "no price for model 'claude-3-5-sonnet' from provider relay"
	run_usage qa-cost -p prices.csv --provider nobody </dev/null
	assert_stderr --partial 'no row of the price table is from that provider'
	printf '[cheap]\nprovider = relay\n[plain]\nprovider = openai\n' > ep.conf
	run_ok qa-cost -p prices.csv --config ep.conf <<'IN'
{"endpoint":"cheap","response":{"model":"gpt-4o","usage":{"prompt_tokens":1000000,"completion_tokens":0}}}
{"endpoint":"plain","response":{"model":"gpt-4o","usage":{"prompt_tokens":1000000,"completion_tokens":0}}}
{"endpoint":"cheap","response":{"model":"claude-3-5-sonnet","usage":{"prompt_tokens":1000000,"completion_tokens":0}}}
IN
	[ "$(jq -c .cost.price <<<"$output" | tr '\n' ' ')" = '"relay/gpt-4o@2026-11-24" "openai/gpt-4o@2024-08-06" "anthropic/claude-3-5-sonnet@2024-06-20" ' ]
}

@test "the endpoint config overrides prices per endpoint, and can price a model the table lacks" {
	cat > ep.conf <<'INI'
[cand]
provider = openai
model = gpt-4o
input_per_mtok = 0.50
output_per_mtok = 1.50
[own]
input_per_mtok = 2
output_per_mtok = 3
cached_input_per_mtok = 1
INI
	cat > in.jsonl <<'IN'
{"endpoint":"cand","response":{"usage":{"prompt_tokens":1000000,"completion_tokens":1000000,"prompt_tokens_details":{"cached_tokens":500000}}}}
{"endpoint":"own","response":{"model":"in-house-7b","usage":{"prompt_tokens":1000000,"completion_tokens":1000000,"prompt_tokens_details":{"cached_tokens":500000}}}}
{"endpoint":"other","response":{"model":"gpt-4o","usage":{"prompt_tokens":1000000,"completion_tokens":1000000}}}
IN
	run_ok qa-cost -p prices.csv --config ep.conf in.jsonl
	# cand: the config's model and prices, the table's cached price: 0.25 + 0.625 + 1.50
	[ "$(sed -n 1p <<<"$output" | jq -c '[.cost.price, .cost.input, .cost.cached, .cost.output]')" = '["openai/gpt-4o@2024-08-06+config[cand]",0.25,0.625,1.5]' ]
	[ "$(sed -n 2p <<<"$output" | jq -c '[.cost.price, .cost.total]')" = '["config[own]",4.5]' ]
	[ "$(sed -n 3p <<<"$output" | jq -c .cost.total)" = 12.5 ]
	# QA_CONFIG is read too; a broken config is a configuration error.
	QA_CONFIG=ep.conf run_ok qa-cost -p prices.csv in.jsonl
	printf '[x]\ninput_per_mtok = cheap\n' > bad.conf
	run_usage qa-cost -p prices.csv --config bad.conf </dev/null
	assert_stderr --partial 'bad.conf:2:'
}

@test "LiteLLM's model_prices_and_context_window.json: per-token prices, provider, skipped entries" {
	lite=$QA_ROOT/tests/data/litellm-prices.json
	cat > in.jsonl <<'IN'
{"response":{"model":"gpt-4o-2024-08-06","usage":{"prompt_tokens":1000,"completion_tokens":500,"prompt_tokens_details":{"cached_tokens":400}}}}
{"response":{"model":"claude-3-5-sonnet-20240620","usage":{"input_tokens":100,"output_tokens":50,"cache_read_input_tokens":1000,"cache_creation_input_tokens":200}}}
{"response":{"model":"gemini-2.5-flash-preview-04-17","usage":{"prompt_tokens":1000,"completion_tokens":500,"completion_tokens_details":{"reasoning_tokens":300}}}}
{"response":{"model":"text-embedding-3-small","usage":{"prompt_tokens":1000000,"completion_tokens":0}}}
IN
	run_ok qa-cost -p "$lite" in.jsonl
	[ "$(sed -n 1p <<<"$output" | jq -c '[.cost.price, .cost.input, .cost.cached, .cost.output, .cost.total]')" = '["openai/gpt-4o",0.0015,0.0005,0.005,0.007]' ]
	[ "$(sed -n 2p <<<"$output" | jq -c '[.cost.cached, .cost.cache_write, .cost.output]')" = '[0.0003,0.00075,0.00075]' ]
	# 1000 x 1.5e-7 in, 200 x 6e-7 out, 300 x 3.5e-6 reasoning
	[ "$(sed -n 3p <<<"$output" | jq -c '[.cost.input, .cost.reasoning, (.cost.total * 1e8 | round)]')" = '[0.00015,0.00105,132000]' ]
	[ "$(sed -n 4p <<<"$output" | jq -c '[.cost.price, .cost.total]')" = '["openai/text-embedding-3-small",0.02]' ]
	# The image model and sample_spec are not prices by the token.
	run_data qa-cost -p "$lite" <<<"$(oa 1024-x-1024/dall-e-2 1 1)"
	run_data qa-cost -p "$lite" <<<"$(oa sample_spec 1 1)"
}

@test "several price tables: read in order, an earlier row wins" {
	printf 'provider,model,input_per_mtok,output_per_mtok,currency,date,source\nmine,gpt-4o,0.10,0.10,USD,2026-01-01,negotiated\n' > mine.csv
	run_ok qa-cost -p mine.csv -p "$QA_ROOT/tests/data/litellm-prices.json" <<<"$(oa gpt-4o 1000000 0)"
	[ "$(field .cost.total)" = 0.1 ]
	run_ok qa-cost -p "$QA_ROOT/tests/data/litellm-prices.json" -p mine.csv <<<"$(oa gpt-4o 1000000 0)"
	[ "$(field .cost.total)" = 2.5 ]
}

@test "a malformed price table: exit 2 naming file, line and column" {
	head='provider,model,input_per_mtok,output_per_mtok,currency,date,source'
	printf '%s\nx,m,1,2,USD,2026-01-01,s\nx,n,abc,2,USD,2026-01-01,s\n' "$head" > t.csv
	run_usage qa-cost -p t.csv </dev/null
	assert_stderr "qa-cost: t.csv:3:3: input_per_mtok: 'abc' is not a price (a number from 0 to 1e9)"
	printf '%s\nx,m,1,-2,USD,2026-01-01,s\n' "$head" > t.csv
	run_usage qa-cost -p t.csv </dev/null
	assert_stderr --partial 't.csv:2:4: output_per_mtok'
	printf '%s\nx,m,1,2,USD,2026-01-01\n' "$head" > t.csv
	run_usage qa-cost -p t.csv </dev/null
	assert_stderr 'qa-cost: t.csv:2:7: 6 fields, but the header has 7'
	printf '%s\nx,m,1,2,USD,2026-01-01,s,extra\n' "$head" > t.csv
	run_usage qa-cost -p t.csv </dev/null
	assert_stderr 'qa-cost: t.csv:2:8: 8 fields, but the header has 7'
	printf '%s\nx,m,1,2,USD,2026-01-01,s\n\nx,"n,1,2,USD,2026-01-01,s\n' "$head" > t.csv
	run_usage qa-cost -p t.csv </dev/null
	assert_stderr 'qa-cost: t.csv:4:2: unterminated quoted field'
	printf '%s\nx,m,1,2"x,USD,2026-01-01,s\n' "$head" > t.csv
	run_usage qa-cost -p t.csv </dev/null
	assert_stderr --partial 't.csv:2:4: malformed CSV'
	printf '%s\nx,m,1,2,USD,24-05-13,s\n' "$head" > t.csv
	run_usage qa-cost -p t.csv </dev/null
	assert_stderr "qa-cost: t.csv:2:6: date: '24-05-13' is not YYYY-MM-DD"
	printf '%s\nx,m,1,2,USD,2026-01-01,s\nx,m,3,4,USD,2026-01-01,s\n' "$head" > t.csv
	run_usage qa-cost -p t.csv </dev/null
	assert_stderr 'qa-cost: t.csv:3:6: x/m is already priced for 2026-01-01 at t.csv:2'
	printf '%s\nx,m,1,2,,2026-01-01,s\n' "$head" > t.csv
	run_usage qa-cost -p t.csv </dev/null
	assert_stderr 'qa-cost: t.csv:2:5: currency is empty'
	printf 'provider,model,price\n' > t.csv
	run_usage qa-cost -p t.csv </dev/null
	assert_stderr --partial "t.csv:1:3: unknown column 'price'"
	printf 'provider,model,input_per_mtok,output_per_mtok,currency,date\n' > t.csv
	run_usage qa-cost -p t.csv </dev/null
	assert_stderr "qa-cost: t.csv:1:7: the header has no 'source' column"
	: > t.csv
	run_usage qa-cost -p t.csv </dev/null
	assert_stderr 'qa-cost: t.csv:1:1: empty price table: no header'
	run_usage qa-cost -p nope.csv </dev/null
	assert_stderr 'qa-cost: nope.csv: No such file or directory'
	[ -z "$output" ]
}

@test "a malformed LiteLLM file: exit 2 naming file, line and column" {
	printf '{\n  "m": {\n    "input_cost_per_token": "cheap"\n  }\n}\n' > t.json
	run_usage qa-cost -p t.json </dev/null
	assert_stderr 'qa-cost: t.json:3:29: input_cost_per_token of m is not a price (a number, 0 or more)'
	printf '{\n  "m": {"input_cost_per_token": 1e-6,}\n}\n' > t.json
	run_usage qa-cost -p t.json </dev/null
	assert_stderr --partial 't.json:2:37: not JSON'
	printf '[1]\n' > t.json
	run_usage qa-cost -p t.json </dev/null
	assert_stderr --partial 't.json:1:1: a LiteLLM price map is an object'
}

@test "the default table: QA_PRICES, then beside the executable, then the build tree" {
	QA_PRICES=prices.csv run_ok qa-cost <<<"$(oa one-dollar 1000000 0)"
	[ "$(field .cost.total)" = 1 ]
	# No table anywhere: a warning saying where it looked; the endpoint config's prices still apply.
	mkdir -p lone/bin && cp "$QA_BIN/qa-cost" lone/bin/
	run_data lone/bin/qa-cost <<<"$(oa gpt-4o 1 1)"
	assert_stderr --partial 'no price table: give --prices FILE or set QA_PRICES (looked for'
	assert_stderr --partial "no price for model 'gpt-4o'"
	printf '[own]\ninput_per_mtok = 2\noutput_per_mtok = 3\n' > own.conf
	run_ok lone/bin/qa-cost --config own.conf <<<'{"endpoint":"own","response":{"model":"x","usage":{"prompt_tokens":1000000,"completion_tokens":0}}}'
	[ "$(field .cost.total)" = 2 ]
	# A table asked for by name must be there.
	QA_PRICES=nope.csv run_usage qa-cost </dev/null
	assert_stderr 'qa-cost: nope.csv: No such file or directory'
	# Installed: bin/../share/qa/prices.csv
	mkdir -p inst/bin inst/share/qa && cp "$QA_BIN/qa-cost" inst/bin/ && cp prices.csv inst/share/qa/
	run_ok inst/bin/qa-cost <<<"$(oa four-dollar 1000000 0)"
	[ "$(field .cost.total)" = 4 ]
	# The build tree: build/bin/../../pipelines/prices.csv
	mkdir -p src/build/bin src/pipelines && cp "$QA_BIN/qa-cost" src/build/bin/ && cp "$QA_ROOT/pipelines/prices.csv" src/pipelines/
	run_ok src/build/bin/qa-cost <<<"$(oa deepseek-v3.2 1000000 1000000)"
	[ "$(field .cost.total)" = 0.84 ]
}

@test "the shipped table: both GPT-4o prices dated, and the relay's flat prices" {
	export QA_PRICES=$QA_ROOT/pipelines/prices.csv
	{ oa gpt-4o 1000000 1000000; oa claude-3-5-sonnet-20240620 1000000 1000000; oa deepseek-v3.2 1000000 1000000
	  oa gemini-2.5-flash 1000000 1000000; oa gpt-4.1 1000000 1000000; oa claude-sonnet-4-5 1000000 1000000
	  oa gpt-4o-2024-05-13 1000000 1000000; } > in.jsonl
	run_ok qa-cost in.jsonl
	[ "$(jq -c .cost.total <<<"$output" | tr '\n' ' ')" = '12.5 18 0.84 5 16 30 20 ' ]
	run_ok qa-cost --as-of 2024-07-01 <<<"$(oa gpt-4o 1000000 1000000)"
	[ "$(field .cost.total)" = 20 ]
	# Every row has a date and a source.
	run python3 -c 'import csv,sys; rows=list(csv.DictReader(open(sys.argv[1]))); print(all(r["date"] and r["source"] for r in rows), len(rows))' "$QA_PRICES"
	[ "${lines[0]%% *}" = True ]
}

summary_in() {
	cat > run.jsonl <<'IN'
{"id":1,"endpoint":"base","response":{"model":"four-dollar","usage":{"prompt_tokens":600,"completion_tokens":400,"total_tokens":1000},"latency_ms":100,"attempts":1},"scores":{"exact_match":1,"f1":0.5}}
{"id":2,"endpoint":"base","response":{"model":"four-dollar","usage":{"prompt_tokens":600,"completion_tokens":400,"total_tokens":1000},"latency_ms":200,"attempts":3},"scores":{"exact_match":0,"f1":1}}
{"id":3,"endpoint":"base","response":{"model":"four-dollar","usage":{"prompt_tokens":600,"completion_tokens":400,"total_tokens":1001},"latency_ms":400,"attempts":1},"scores":{"exact_match":1,"f1":1}}
{"id":4,"endpoint":"base","model":"four-dollar","error":{"type":"timeout","message":"gave up","attempts":4}}
{"id":1,"endpoint":"cand","response":{"model":"one-dollar","usage":{"prompt_tokens":600,"completion_tokens":400},"latency_ms":50,"attempts":1},"scores":{"exact_match":0}}
{"id":2,"endpoint":"cand","response":{"model":"one-dollar","usage":{"prompt_tokens":600,"completion_tokens":400},"latency_ms":70,"attempts":1},"scores":{"exact_match":0}}
IN
}

@test "--summary per endpoint/model and overall: tasks, errors, retries, tokens, cost, accuracy, latency" {
	summary_in
	run_data qa-cost -p prices.csv -s run.jsonl
	[ "${#lines[@]}" -eq 3 ]
	base=$(sed -n 1p <<<"$output")
	[ "$(jq -c '[.scope, .endpoint, .model, .tasks, .errors, .retries, .tokens_in, .tokens_out]' <<<"$base")" = '["group","base","four-dollar",4,1,5,1800,1200]' ]
	# 3 x 1000 tokens x $4/MTok; the failed request costs nothing and counts as a task
	[ "$(jq -c '[.cost, .currency, .cost_per_1k_tasks, .correct, .scored, .accuracy, .cost_per_correct]' <<<"$base")" = '[0.012,"USD",3,2,3,0.5,0.006]' ]
	# numpy.percentile([100, 200, 400], [50, 95, 99]) = 200, 380, 396
	[ "$(jq -c .latency_ms <<<"$base")" = '{"n":3,"p50":200,"p95":380,"p99":396,"percentiles":"linear"}' ]
	[ "$(jq -c '[.usage_mismatches, .unpriced, .estimated]' <<<"$base")" = '[1,0,0]' ]
	cand=$(sed -n 2p <<<"$output")
	# Nothing correct: cost per correct answer is undefined, null
	[ "$(jq -c '[.endpoint, .cost, .correct, .accuracy, .cost_per_correct]' <<<"$cand")" = '["cand",0.002,0,0,null]' ]
	all=$(sed -n 3p <<<"$output")
	[ "$(jq -c '[.scope, .endpoint, .tasks, .errors, .retries, (.cost * 1e6 | round), .correct, .accuracy]' <<<"$all")" = '["overall",null,6,1,5,14000,2,0.3333333333333333]' ]
	[ "$(jq -c .latency_ms <<<"$all")" = '{"n":5,"p50":100,"p95":360,"p99":392,"percentiles":"linear"}' ]
}

@test "--correct METRIC instead of the first score; no scores at all: accuracy null" {
	summary_in
	run_data qa-cost -p prices.csv -s --correct f1 run.jsonl
	[ "$(sed -n 1p <<<"$output" | jq -c '[.correct, .correct_metric, .cost_per_correct]')" = '[2,"f1",0.006]' ]
	[ "$(sed -n 2p <<<"$output" | jq -c '[.scored, .accuracy]')" = '[0,null]' ]
}

@test "the first score: the record's first listed metric when scored, else the first in scores" {
	cat > in.jsonl <<'IN'
{"endpoint":"a","metrics":[{"name":"numeric","as":"strict"},"exact_match"],"response":{"model":"one-dollar","usage":{"prompt_tokens":1,"completion_tokens":1}},"scores":{"exact_match":1,"strict":0}}
{"endpoint":"b","metric":"contains","response":{"model":"one-dollar","usage":{"prompt_tokens":1,"completion_tokens":1}},"scores":{"exact_match":1,"contains":0}}
{"endpoint":"c","metric":"numeric","response":{"model":"one-dollar","usage":{"prompt_tokens":1,"completion_tokens":1}},"scores":{"exact_match":1}}
{"endpoint":"d","response":{"model":"one-dollar","usage":{"prompt_tokens":1,"completion_tokens":1}},"scores":{"f1":0.5,"exact_match":1}}
IN
	run_ok qa-cost -p prices.csv -s in.jsonl
	[ "$(head -n 4 <<<"$output" | jq -c '[.endpoint, .correct, .scored]' | tr '\n' ' ')" = '["a",0,1] ["b",0,1] ["c",1,1] ["d",0,1] ' ]
}

@test "past --exact-latencies a sketch takes over, within 0.5%" {
	for i in $(seq 1 1000); do
		printf '{"endpoint":"e","response":{"model":"one-dollar","usage":{"prompt_tokens":1,"completion_tokens":1},"latency_ms":%d}}\n' "$i"
	done > many.jsonl
	run_ok qa-cost -p prices.csv -s --exact-latencies 100 many.jsonl
	g=$(sed -n 1p <<<"$output")
	[ "$(jq -r .latency_ms.percentiles <<<"$g")" = sketch ]
	# nearest rank: 500, 950, 990
	jq -e '.latency_ms | (.p50 / 500 - 1 | fabs) < 0.005 and (.p95 / 950 - 1 | fabs) < 0.005 and (.p99 / 990 - 1 | fabs) < 0.005' <<<"$g"
	jq -e '.latency_ms.n == 1000' <<<"$g"
	run_ok qa-cost -p prices.csv -s many.jsonl
	[ "$(sed -n 1p <<<"$output" | jq -c .latency_ms)" = '{"n":1000,"p50":500.5,"p95":950.05,"p99":990.01,"percentiles":"linear"}' ]
}

@test "the worked example: 500M tokens a month at \$1/MTok is \$500 a month, not \$500,000" {
	oa one-dollar 800 200 > in.jsonl
	run_ok qa-cost -p prices.csv --monthly-tokens 500M in.jsonl
	p=$(grep '"projection"' <<<"$output")
	[ "$(jq -c '[.basis, .monthly_tokens, .price_per_mtok, .monthly_cost, .yearly_cost]' <<<"$p")" = '["tokens",500000000,1,500,6000]' ]
	[ "$(jq -r .arithmetic <<<"$p")" = '500M tokens x $1.00/MTok = $500.00/month' ]
	# The same by hand: 500,000,000 / 1,000,000 x $1.00
	[ "$(jq -n '500000000 / 1000000 * 1.00')" = "$(jq .monthly_cost <<<"$p")" ]
	run_ok qa-cost -p prices.csv --monthly-tokens 500000000 -f table in.jsonl
	assert_output --partial 'one-dollar: 500M tokens x $1.00/MTok = $500.00/month'
	refute_output --partial '500,000'
}

@test "projection by tasks, savings per month and year, savings %, payback" {
	summary_in
	run_data qa-cost -p prices.csv --monthly-tasks 100k --baseline base --migration-cost 1000 run.jsonl
	base=$(jq -c 'select(.scope == "projection" and .endpoint == "base")' <<<"$output")
	cand=$(jq -c 'select(.scope == "projection" and .endpoint == "cand")' <<<"$output")
	# base: $0.012 over 4 tasks = $0.003/task; x 100,000 = $300/month
	[ "$(jq -c '[.basis, .monthly_tasks, .cost_per_task, .monthly_cost, .yearly_cost]' <<<"$base")" = '["tasks",100000,0.003,300,3600]' ]
	[ "$(jq -r .arithmetic <<<"$base")" = '100k tasks x $0.003/task = $300.00/month' ]
	# cand: $0.002 over 2 tasks = $0.001/task = $100/month; saves $200/month, $2,400/year, 66.7%
	[ "$(jq -c '[.monthly_cost, .savings_per_month, .savings_per_year, (.savings_pct * 1000 | round), .payback_months]' <<<"$cand")" = '[100,200,2400,66667,5]' ]
	[ "$(jq -r .savings_arithmetic <<<"$cand")" = '$300.00 - $100.00 = $200.00/month; x 12 = $2,400.00/year; $200.00 / $300.00 = 66.7%' ]
	[ "$(jq -r .payback_arithmetic <<<"$cand")" = '$1,000.00 / $200.00/month = 5.0 months' ]
	[ "$(jq -c '[.baseline, .savings_per_month, .payback_months]' <<<"$base")" = '["base",0,null]' ]
}

@test "savings by tokens; a dearer candidate saves nothing and never pays back" {
	summary_in
	run_data qa-cost -p prices.csv --monthly-tokens 1B --baseline cand --migration-cost 500 run.jsonl
	base=$(jq -c 'select(.scope == "projection" and .endpoint == "base")' <<<"$output")
	# 1B tokens: $4/MTok = $4,000 vs $1/MTok = $1,000
	[ "$(jq -c '[.price_per_mtok, .monthly_cost, .savings_per_month, .savings_pct, .payback_months]' <<<"$base")" = '[4,4000,-3000,-300,null]' ]
	[ "$(jq -r .payback_arithmetic <<<"$base")" = 'no payback: base does not cost less than cand' ]
}

@test "projection options: checked, and the baseline must be in the input" {
	summary_in
	run_usage qa-cost -p prices.csv --baseline base run.jsonl
	assert_stderr --partial '--baseline needs a volume'
	run_usage qa-cost -p prices.csv --monthly-tokens 1M --migration-cost 5 run.jsonl
	assert_stderr --partial '--migration-cost needs --baseline'
	run_usage qa-cost -p prices.csv --monthly-tokens 1M --monthly-tasks 1M run.jsonl
	run_usage qa-cost -p prices.csv --monthly-tokens lots run.jsonl
	assert_stderr --partial "--monthly-tokens: 'lots' is not a count"
	run_usage qa-cost -p prices.csv --monthly-tasks -5 run.jsonl
	run_usage qa-cost -p prices.csv --monthly-tasks 1k --baseline nowhere run.jsonl
	assert_stderr --partial 'qa-cost: --baseline nowhere: no such endpoint in the input (endpoints: base, cand)'
	[ -z "$output" ]
	run_usage qa-cost -p prices.csv --monthly-tasks 1k --baseline base --migration-cost free run.jsonl
}

@test "--format table and md: for people, rounded, with the arithmetic" {
	summary_in
	run_data qa-cost -p prices.csv -f table --monthly-tasks 100k --baseline base --migration-cost 1000 run.jsonl
	assert_line --index 0 --regexp '^ENDPOINT +MODEL +TASKS +ERRORS +RETRIES +TOKENS_IN +TOKENS_OUT +COST +INCURRED +PER_1K_TASKS +PER_CORRECT +ACCURACY +P50_MS +P95_MS +P99_MS +MISMATCHES$'
	assert_line --regexp '^base +four-dollar +4 +1 +5 +1,800 +1,200 +\$0\.012 +\$0\.012 +\$3\.00 +\$0\.006 +50\.0% +200 +380 +396 +1$'
	assert_line --regexp '^cand +one-dollar .* \$0\.002 +\$0\.002 +\$1\.00 +- +0\.0% '
	assert_line "latency percentiles: linear interpolation between closest ranks (numpy's default)"
	assert_line --regexp '^cand +\$100\.00 +\$1,200\.00 +\$200\.00 +\$2,400\.00 +66\.7% +5\.0 months$'
	assert_line 'cand: savings $300.00 - $100.00 = $200.00/month; x 12 = $2,400.00/year; $200.00 / $300.00 = 66.7%'
	assert_line 'cand: payback $1,000.00 / $200.00/month = 5.0 months'
	run_data qa-cost -p prices.csv -f md --monthly-tasks 100k --baseline base run.jsonl
	assert_line --index 0 --regexp '^\| ENDPOINT +\| MODEL +\| +TASKS \|'
	assert_line --index 1 --regexp '^\|-+\|-+\|-+:\|'
	assert_line --regexp '^\| base \(baseline\) \| +\$300\.00 \| +\$3,600\.00 \| +- \| +- \| +- \|$'
	assert_line '- base: 100k tasks x $0.003/task = $300.00/month'
}

@test "--format csv: one table, quoted by libcsv, that a CSV reader reads back" {
	summary_in
	sed -i 's/"endpoint":"cand"/"endpoint":"cand, \\"v2\\""/' run.jsonl
	run_data qa-cost -p prices.csv -f csv --monthly-tasks 100k --baseline base run.jsonl
	assert_line --index 0 '"scope","endpoint","model","tasks","errors","retries","tokens_in","tokens_out","cost","cost_incurred","currency","cost_per_1k_tasks","cost_per_correct","accuracy","latency_p50_ms","latency_p95_ms","latency_p99_ms","usage_mismatches","monthly_cost","yearly_cost","savings_per_month","savings_per_year","savings_pct","payback_months","arithmetic"'
	assert_line --index 2 '"group","cand, ""v2""","one-dollar","2","0","0","1200","800","0.002000","0.002000","USD","1.000000","","0.0000","60.0","69.0","69.8","0","","","","","","",""'
	printf '%s\n' "$output" > out.csv
	run python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
p = [r for r in rows if r["scope"] == "projection" and r["endpoint"] == "cand, \"v2\""][0]
print(len(rows), p["monthly_cost"], p["savings_per_month"], p["savings_pct"])' out.csv
	[ "$output" = '5 100.00 200.00 66.67' ]
}

@test "empty input: nothing out, exit 0; the summary still has its overall line" {
	run_ok qa-cost -p prices.csv </dev/null
	[ -z "$output" ]
	run_ok qa-cost -p prices.csv -s </dev/null
	[ "$(field '[.scope, .tasks, .cost, .accuracy, .cost_per_1k_tasks, .latency_ms.p50]')" = '["overall",0,0,null,null,null]' ]
}

@test "a missing input file is an error naming it; the other files are still read" {
	oa gpt-4o 1 1 > ok.jsonl
	run_usage qa-cost -p prices.csv nope.jsonl ok.jsonl
	assert_stderr 'qa-cost: nope.jsonl: No such file or directory'
	[ "$(field 'has("cost")')" = true ]
}

@test "a closed stdout ends the run quietly; a full disk is an error" {
	for i in $(seq 1 20000); do oa gpt-4o 10 10; done > many.jsonl
	run bash -c 'set -o pipefail; qa-cost -p prices.csv many.jsonl | head -n 1'
	[ "$status" -eq 0 ]
	[ "$(jq .cost.total <<<"$output")" = 0.000125 ]
	run bash -c 'qa-cost -p prices.csv many.jsonl >/dev/full'
	[ "$status" -eq 2 ]
	[[ "$output" == *"write error"* ]]
}

@test "--help prints the usage on stdout and exits 0; --version; bad options exit 2" {
	run_ok qa-cost --help
	assert_line --index 0 --partial 'usage: qa-cost'
	# Every long option the man page documents is in --help.
	for opt in $(grep '^\.It ' "$QA_ROOT/man/qa-cost.1" | grep -o 'Fl \\-[a-z][a-z-]*' | sed 's/^Fl \\-/--/' | sort -u); do
		[[ "$output" == *"$opt"* ]] || { echo "--help lacks $opt"; return 1; }
	done
	run_ok qa-cost --version
	assert_output --regexp '^qa-cost [0-9]+\.[0-9]+'
	run_usage qa-cost --bogus </dev/null
	assert_stderr --partial 'usage: qa-cost'
	run_usage qa-cost -p prices.csv -f xml </dev/null
	assert_stderr "qa-cost: --format: 'xml' is not json, table, md or csv"
	run_usage qa-cost -p prices.csv --exact-latencies 0 </dev/null
}
