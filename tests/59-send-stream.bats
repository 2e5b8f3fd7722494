#!/usr/bin/env bats
# qa-send --stream (issue 18) against qa-streamd: the record is the one a
# non-streamed request gives, plus the timings, and each timing is redone
# from qa-send's own event times (--trace) by the formulas of README
# "Latency" (tests/data/stream/formulas.jq) and compared exactly.  No
# timing is asserted against the clock.

setup_file() {
	load test_helper
	mkfifo "$BATS_FILE_TMPDIR/sd.port"
	"$QA_ROOT/tests/server/qa-streamd" --tokens 4 --ttft 3 --gap 1 >"$BATS_FILE_TMPDIR/sd.port" \
		2>"$BATS_FILE_TMPDIR/sd.log" 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/sd.pid"
	read -r -t 20 SD_PORT <"$BATS_FILE_TMPDIR/sd.port"
	export SD_PORT
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/sd.pid")" 2>/dev/null || true
}

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	export OPENAI_API_KEY=sk-test
}

# send PROVIDER HEADER [qa-send options...]: records from in.jsonl into out.jsonl, the trace into tr.jsonl.
send() {
	local prov=$1 hdr=$2
	shift 2
	run_ok qa-send -q --provider "$prov" --base-url "http://127.0.0.1:$SD_PORT/v1" -m m \
		-H "X-Test-Stream: $hdr" --cache-mode off --trace tr.jsonl "$@" in.jsonl
	printf '%s\n' "$output" >out.jsonl
}

LAT='{queue_ms,ttft_ms,first_chunk_ms,tpot_ms,itl_ms,latency_ms,tokens_per_s,chunk_gaps_ms}'

# Every record of out.jsonl: its timings are the formulas applied to its trace lines.
check_formulas() {
	local id n want got
	while read -r id n; do
		want=$(jq -sc --argjson id "$id" --argjson n "$n" -f "$QA_ROOT/tests/data/stream/formulas.jq" tr.jsonl)
		got=$(jq -c --argjson id "$id" "select(.id == \$id) | .response | $LAT" out.jsonl)
		assert_equal "$got" "$want"
	done < <(jq -r '"\(.id | tojson) \(.response.usage.completion_tokens)"' out.jsonl)
	[ "$(wc -l <out.jsonl)" -gt 0 ]
}

@test "send-stream: a chat stream gives the non-streamed record plus timings, each by its formula" {
	printf '{"id":1,"prompt":"one two"}\n' >in.jsonl
	send openai ""
	jq -c '.response | del(.latency_ms,.timing)' out.jsonl >plain.json
	send openai "" --stream
	assert_equal "$(jq -c ".response | del(.queue_ms,.ttft_ms,.first_chunk_ms,.tpot_ms,.itl_ms,.latency_ms,.tokens_per_s,.chunk_gaps_ms,.timing)" out.jsonl)" "$(cat plain.json)"
	check_formulas
	# A role-only chunk, four content chunks, the finish chunk, the usage chunk.
	assert_equal "$(jq -sc '[.[] | select(.decision == "chunk") | .flags]' tr.jsonl)" '[1,3,3,3,3,1,8]'
	assert_equal "$(jq -c '[.response.text, .response.usage.completion_tokens, (.response.chunk_gaps_ms | length)]' out.jsonl)" \
		'[" w0 w1 w2 w3",4,3]'
}

@test "send-stream: several tokens a chunk, reasoning deltas, comments, CRLF, no role chunk" {
	printf '{"id":"a","prompt":"x"}\n{"id":"b","prompt":"y"}\n' >in.jsonl
	for h in per=2 reasoning=2,per=3 role=0,comments=1,crlf=1 reasoning=1,reasoning_key=reasoning; do
		send openai "$h" --stream -c 2
		check_formulas
		assert_equal "$(jq -r .response.text out.jsonl | sort -u)" " w0 w1 w2 w3"
	done
	send openai reasoning=2,per=3 --stream
	# One reasoning chunk of 2 tokens, content chunks of 3 and 1: 6 tokens, 3 token chunks, 2 gaps.
	assert_equal "$(jq -sc 'map([.response.usage.completion_tokens, (.response.chunk_gaps_ms | length)])' out.jsonl)" '[[6,2],[6,2]]'
	# per=2 puts two tokens in a chunk: TPOT divides by the tokens, ITL by the chunk gaps.
	send openai per=2 --stream
	jq -se 'length == 2 and all(.[]; .response.chunk_gaps_ms | length == 1)' out.jsonl
}

@test "send-stream: no usage chunk: the tokens are counted from chunks and usage says estimated" {
	printf '{"id":1,"prompt":"x"}\n' >in.jsonl
	send openai usage=off --stream
	assert_equal "$(jq -c .response.usage out.jsonl)" '{"completion_tokens":4,"estimated":true}'
	check_formulas
}

@test "send-stream: logprobs in the chunks come out joined" {
	printf '{"id":1,"prompt":"x"}\n' >in.jsonl
	send openai logprobs=1 --stream
	assert_equal "$(jq -c '.response.logprobs.tokens' out.jsonl)" '[" w0"," w1"," w2"," w3"]'
	check_formulas
}

@test "send-stream: openai-completions streams too" {
	printf '{"id":7,"prompt":"a b"}\n' >in.jsonl
	send openai-completions per=3 --stream
	assert_equal "$(jq -c '[.response.text, .response.finish_reason]' out.jsonl)" '[" w0 w1 w2 w3","length"]'
	assert_equal "$(jq -sc '[.[] | select(.decision == "chunk") | .flags]' tr.jsonl)" '[3,3,1,8]'
	check_formulas
}

@test "send-stream: a stream cut in the middle is a bad_response, retried from scratch" {
	printf '{"id":1,"prompt":"x"}\n' >in.jsonl
	run_data qa-send -q --provider openai --base-url "http://127.0.0.1:$SD_PORT/v1" -m m -r 1 --backoff-base 0 \
		-H "X-Test-Stream: cut=2" --stream --trace tr.jsonl in.jsonl
	assert_equal "$(jq -c '[.error.type, .error.attempts]' <<<"$output")" '["bad_response",2]'
	assert_equal "$(jq -sc '[.[] | select(.decision != "chunk") | [.attempt, .decision, .type]]' tr.jsonl)" \
		'[[1,"stream_end",null],[1,"retry","bad_response"],[2,"stream_end",null],[2,"give_up","bad_response"]]'
	# Each attempt's events start again: the role chunk, then two content chunks.
	assert_equal "$(jq -sc '[.[] | select(.decision == "chunk") | [.attempt, .flags]]' tr.jsonl)" \
		'[[1,1],[1,3],[1,3],[2,1],[2,3],[2,3]]'
	# A reset connection is a network error, retried the same way.
	run_data qa-send -q --provider openai --base-url "http://127.0.0.1:$SD_PORT/v1" -m m -r 0 \
		-H "X-Test-Stream: cut=1,abort=1" --stream in.jsonl
	assert_equal "$(jq -c '.error.type' <<<"$output")" '"network"'
}

@test "send-stream: a provider that does not stream is refused" {
	printf '{"id":1,"prompt":"x"}\n' >in.jsonl
	run_usage qa-send --provider mock --stream in.jsonl
	assert_stderr --partial "--stream: provider mock does not stream"
}

@test "send-stream: stream = true in an endpoint's section streams it without --stream" {
	printf '{"id":1,"prompt":"x","endpoint":"s"}\n{"id":2,"prompt":"x","endpoint":"p"}\n' >in.jsonl
	printf '[s]\nprovider = openai\nbase_url = http://127.0.0.1:%s/v1\nmodel = m\nstream = true\n[p]\nprovider = openai\nbase_url = http://127.0.0.1:%s/v1\nmodel = m\n' \
		"$SD_PORT" "$SD_PORT" >ep.conf
	run_ok qa-send -q --config ep.conf -e p --trace tr.jsonl in.jsonl
	printf '%s\n' "$output" >out.jsonl
	assert_equal "$(jq -c '[.id, .response.text, (.response | has("ttft_ms"))]' out.jsonl)" \
		'[1," w0 w1 w2 w3",true]
[2," w0 w1 w2 w3",false]'
	jq -sc 'map(select(.id == 1))' out.jsonl | jq -c '.[]' >one.jsonl && mv one.jsonl out.jsonl
	check_formulas
	printf '[s]\nprovider = mock\nstream = true\n' >bad.conf
	run_usage qa-send --config bad.conf -e s in.jsonl
	assert_stderr --partial "[s]: stream = true, but provider mock does not stream"
	printf '[s]\nstream = yes\n' >bad.conf
	run_usage qa-send --config bad.conf -e s in.jsonl
	assert_stderr --partial "stream must be true or false, not 'yes'"
}

# Three streamed records and one not: their measures, known.
lat_records() {
	local e=$1 k=$2
	printf '{"id":1,"scores":{"exact":1},"response":{"text":"a","endpoint":"%s","usage":null,"ttft_ms":%s,"first_chunk_ms":5,"tpot_ms":2,"itl_ms":4,"latency_ms":100,"tokens_per_s":50,"chunk_gaps_ms":[1.5,2.5]}}\n' "$e" "$((10 * k))"
	printf '{"id":2,"scores":{"exact":1},"response":{"text":"a","endpoint":"%s","usage":null,"ttft_ms":%s,"first_chunk_ms":5,"tpot_ms":4,"itl_ms":4,"latency_ms":200,"tokens_per_s":50,"chunk_gaps_ms":[3.5]}}\n' "$e" "$((20 * k))"
	printf '{"id":3,"scores":{"exact":1},"response":{"text":"a","endpoint":"%s","usage":null,"ttft_ms":%s,"first_chunk_ms":5,"tpot_ms":null,"itl_ms":null,"latency_ms":300,"tokens_per_s":50,"chunk_gaps_ms":[]}}\n' "$e" "$((30 * k))"
	printf '{"id":4,"scores":{"exact":1},"response":{"text":"a","endpoint":"%s","usage":null,"latency_ms":900}}\n' "$e"
}

@test "send-stream: qa-cost --summary gives each measure's percentiles per endpoint, with formulas and names" {
	lat_records s 1 >lat.jsonl
	run_data qa-cost --summary lat.jsonl
	assert_equal "$(jq -c 'select(.scope == "latency") | [.endpoint, .records, .ttft_ms, .tpot_ms.n, .tpot_ms.mean, .chunk_gaps_ms, .latency_ms.p99]' <<<"$output")" \
		'["s",3,{"n":3,"mean":20,"p50":20,"p90":28,"p95":29,"p99":29.8},2,3,{"n":3,"mean":2.5,"p50":2.5,"p90":3.3,"p95":3.4,"p99":3.48},298]'
	run_data qa-cost --summary -f table lat.jsonl
	assert_line --regexp '^ttft_ms +t\(first content chunk\) - t\(sent\) +3 +20\.0 +20\.0 +28\.0 +29\.0 +29\.8$'
	assert_line --regexp '^tpot_ms +\(t\(last token\) - t\(first token\)\) / \(tokens - 1\) +2 '
	assert_line --regexp '^tpot_ms +TPOT +ITL '
	assert_line 'latency of streamed records, endpoint s (3 records):'
}

@test "send-stream: qa-diff compares each measure side by side, and --max-latency-ratio gates one" {
	lat_records s 1 >b.jsonl
	lat_records s 2 >c.jsonl
	run_ok qa-diff b.jsonl c.jsonl
	assert_equal "$(jq -c 'select(.scope == "latency") | [.records, .ttft_ms.ratio, .ttft_ms.candidate.p95, .tpot_ms.ratio.mean]' <<<"$output")" \
		'[{"baseline":3,"candidate":3},{"mean":2,"p50":2,"p90":2,"p95":2,"p99":2},58,1]'
	run_ok qa-diff --max-latency-ratio ttft_ms:p95=2 --max-latency-ratio tpot_ms:mean=1 b.jsonl c.jsonl
	run_data qa-diff --max-latency-ratio ttft_ms:p95=1.5 b.jsonl c.jsonl
	assert_stderr --partial "latency: ttft_ms p95 ratio 2 (candidate 58 ms / baseline 29 ms) is over --max-latency-ratio ttft_ms:p95=1.5"
	# The decision counts the latency gate like any other criterion.
	assert_equal "$(jq -r 'select(.scope == "overall") | .decision' <<<"$output")" fail
	run_data qa-diff -f table --max-latency-ratio ttft_ms:p95=1.5 b.jsonl c.jsonl
	assert_line 'decision: FAIL (1 of 1 checks failed)'
	run_ok qa-diff -f table --max-latency-ratio ttft_ms:p95=2 b.jsonl c.jsonl
	assert_line 'decision: PASS (1 check holds)'
	# The baseline has no streamed records: the ratio is undefined, and the gate does not pass.
	lat_records s 1 | grep '"id":4' >b4.jsonl
	run_data qa-diff --max-latency-ratio ttft_ms:p50=9 b4.jsonl c.jsonl
	assert_stderr --partial "the ratio is undefined (no streamed record in the baseline has it)"
	run_usage qa-diff --max-latency-ratio ttft:p95=1.2 b.jsonl c.jsonl
	assert_stderr --partial "is not MEASURE:STAT=RATIO"
	run_ok qa-diff -f table b.jsonl c.jsonl
	assert_line --regexp '^ttft_ms +t\(first content chunk\) - t\(sent\) +20\.0/40\.0 \(2\.00\) '
	assert_line --regexp '^chunk_gaps_ms +ITL '
}
