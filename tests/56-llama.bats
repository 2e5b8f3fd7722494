#!/usr/bin/env bats
# Real llama.cpp in the loop: llama-server (the pinned build of make llama)
# serving a tiny test model made here, F32 and a Q4_0 quantization of it,
# and the tools run as a user would.  The assertions read what the server
# itself reports (its timings, /props, /tokenize, token counts).

load llama
load testd

PROMPTS=("the cat" "the dog" "a king" "the queen of" "water in the" "one two" "the sun and the moon"
	"people who" "the river" "a little bird" "what is the" "my house")

setup_file() {
	load test_helper
	llama_models
	start_llama f32 f32.gguf -np 2
	start_llama q4 q4_0.gguf -np 2
	start_testd S
	export F32="http://127.0.0.1:$f32_PORT/v1" Q4="http://127.0.0.1:$q4_PORT/v1"
	export QA_LLAMA_KEY=none
	# The battery: each prompt with the F32 model's own greedy continuation as its answer.
	local d=$BATS_FILE_TMPDIR
	for p in "${PROMPTS[@]}"; do jq -nc --arg p "$p" '{prompt: $p}'; done |
		awk '{ sub(/^\{/, "{\"id\":\"g" NR "\",\"task\":\"greedy\","); print }' >"$d/prompts.jsonl"
	"$QA_BIN/qa-send" -q -c 2 --provider openai-completions --base-url "$F32" --model f32 --key-env QA_LLAMA_KEY \
		-p temperature=0 -p max_tokens=6 "$d/prompts.jsonl" |
		jq -c '{id, task, prompt, expected: .response.text, metric: "exact_match", params: {max_tokens: 6}}' \
		>"$d/tasks.jsonl"
	cat >"$d/ep.conf" <<-EOF
	[f32]
	provider = openai-completions
	base_url = $F32
	model = f32
	key_env = QA_LLAMA_KEY
	concurrency = 2
	input_per_mtok = 1
	output_per_mtok = 2
	[q4]
	provider = openai-completions
	base_url = $Q4
	model = q4
	key_env = QA_LLAMA_KEY
	concurrency = 2
	input_per_mtok = 0.25
	output_per_mtok = 0.5
	EOF
}

teardown_file() {
	stop_llama f32 q4
	stop_testd S
}

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	D=$BATS_FILE_TMPDIR
	unset OPENAI_BASE_URL OPENAI_API_KEY
}

# No response cache: these tests rerun requests to see how the server timed them.
completions() {
	local base=$1 model=$2
	shift 2
	timeout 120 qa-send -q -c 2 --cache-mode off --provider openai-completions --base-url "$base" --model "$model" \
		--key-env QA_LLAMA_KEY "$@"
}
chat() {
	local base=$1 model=$2
	shift 2
	timeout 120 qa-send -q -c 2 --cache-mode off --provider openai --base-url "$base" --model "$model" --key-env QA_LLAMA_KEY "$@"
}

@test "llama.cpp: the test models are llama-architecture GGUFs the server loads, F32 and Q4_0" {
	[ "$(llama_get "$f32_PORT" /props | jq -r .total_slots)" = 2 ]
	[ "$(llama_get "$q4_PORT" /props | jq -r .total_slots)" = 2 ]
	[ "$(llama_get "$f32_PORT" /props | jq -r .model_ftype)" = "all F32" ]
	[ "$(llama_get "$q4_PORT" /props | jq -r .model_ftype)" = "Q4_0" ]
	[ "$(llama_get "$f32_PORT" /props | jq -r .bos_token)" = "<s>" ]
	# The shapes mkmodel writes, as the server read them.
	[ "$(llama_get "$f32_PORT" /v1/models | jq -c '.data[0] | [.id, .meta.n_vocab, .meta.n_embd, .meta.n_ctx_train]')" = \
		'["f32",512,256,512]' ]
	# Q8_0 and the k-quant were made too: rows of 256 quantize without fallbacks.
	for q in q8_0 q4_k; do [ -s "$LLAMA_MODELS/$q.gguf" ]; done
	[ "$(stat -c %s "$LLAMA_MODELS/q4_0.gguf")" -lt "$(stat -c %s "$LLAMA_MODELS/q8_0.gguf")" ]
	# Same generator, same bytes: the model is made, not downloaded.
	PYTHONPATH="$LLAMA_PREFIX/gguf-py" "$QA_ROOT/tests/llama/mkmodel" again.gguf 1
	cmp again.gguf "$LLAMA_MODELS/f32.gguf"
}

@test "greedy completions: deterministic, different per prompt, and the quantization changes some" {
	run_ok completions "$F32" f32 -p temperature=0 -p max_tokens=6 "$D/prompts.jsonl"
	echo "$output" | jq -r .response.text >a.txt
	run_ok completions "$F32" f32 -p temperature=0 -p max_tokens=6 -c 1 "$D/prompts.jsonl"
	echo "$output" | jq -r .response.text >b.txt
	cmp a.txt b.txt
	[ "$(sort -u a.txt | wc -l)" -ge 6 ]
	run_ok completions "$Q4" q4 -p temperature=0 -p max_tokens=6 "$D/prompts.jsonl"
	echo "$output" | jq -r .response.text >q.txt
	! cmp -s a.txt q.txt || false
	# Every record: the server's own counts and timings, and libcurl's.
	echo "$output" | jq -e -s 'all(.[].response;
		.usage.completion_tokens == .server_timings.predicted_n and
		.usage.prompt_tokens == .server_timings.prompt_n + (.server_timings.cache_n // 0) and
		(.server_timings.prompt_ms | type) == "number" and
		.timing.ttfb > 0 and .timing.ttfb <= .latency_ms + 0.1 and .timing.tls == 0)'
}

@test "openai-completions -p logprobs=N: llama.cpp's chat layout is converted, likeliest of a shared string kept" {
	run_ok completions "$F32" f32 -p temperature=0 -p max_tokens=6 -p logprobs=20 "$D/prompts.jsonl"
	echo "$output" >lp.jsonl
	# One token and one logprob a generated token, as the server counted them.
	jq -e -s 'all(.[].response; (.logprobs.tokens | length) == .usage.completion_tokens and
		(.logprobs.token_logprobs | length) == .usage.completion_tokens and
		(.logprobs.tokens | join("")) == .text)' lp.jsonl
	# The server lists 20 a position; the strings kept and the collisions add up to them.
	jq -e -s '(map(.response.logprobs.top_logprobs | map(keys | length) | add) | add) +
		(map(.response.logprobs.collisions // 0) | add) == 20 * (map(.response.usage.completion_tokens) | add)' lp.jsonl
	[ "$(jq -s 'map(.response.logprobs.collisions // 0) | add' lp.jsonl)" -gt 0 ]
	# The greedy token is the likeliest the server listed for its string.
	jq -e -s 'all(.[].response.logprobs; [.tokens, .token_logprobs, .top_logprobs] | transpose |
		all(.[2][.[0]] == .[1]))' lp.jsonl
	run_ok qa-score -m perplexity lp.jsonl
	echo "$output" | jq -e -s 'all(.[]; .scores.perplexity >= 1)'
}

@test "qa-diff: drift between F32 and Q4_0 names the collisions; perplexity recovery is baseline / candidate" {
	# Two tokens: greedy F32 and Q4_0 mostly agree that far, so positions line up.
	completions "$F32" f32 -p temperature=0 -p max_tokens=2 -p logprobs=20 "$D/prompts.jsonl" |
		qa-score -m perplexity >base.jsonl
	completions "$Q4" q4 -p temperature=0 -p max_tokens=2 -p logprobs=20 "$D/prompts.jsonl" |
		qa-score -m perplexity >cand.jsonl
	run --separate-stderr qa-diff -m perplexity base.jsonl cand.jsonl
	[ "$status" -le 1 ]
	ov=$(echo "$output" | jq -c 'select(.scope == "overall")')
	[ "$(jq .lower_is_better <<<"$ov")" = true ]
	# 100 x baseline / candidate, from the runs' own perplexities.
	want=$(jq -s '(map(.scores.perplexity) | add / length)' base.jsonl)
	got=$(jq -s '(map(.scores.perplexity) | add / length)' cand.jsonl)
	jq -e --argjson b "$want" --argjson c "$got" '(.recovery_pct - 100 * $b / $c) | fabs < 1e-6' <<<"$ov"
	# Positions both runs generated alike are compared, and their top lists' shared strings reported.
	[ "$(jq '.drift.tokens' <<<"$ov")" -gt 0 ]
	[ "$(jq '.drift.top_collisions.baseline' <<<"$ov")" -gt 0 ]
	run --separate-stderr qa-diff -m perplexity --format table base.jsonl cand.jsonl
	assert_output --partial "top-k collisions:"
	# The gate bounds a rise of perplexity: a candidate whose perplexity is higher fails --max-drop 0.
	if jq -e -n --argjson b "$want" --argjson c "$got" '$c > $b' >/dev/null; then
		run_data qa-diff -m perplexity --gate-on point --max-drop 0 base.jsonl cand.jsonl
		assert_stderr --partial "perplexity rises by"
	else
		run_ok qa-diff -m perplexity --gate-on point --max-drop 0 base.jsonl cand.jsonl
	fi
}

@test "chat on a base model: the server's chat template is named once, from its own /tokenize" {
	run_ok chat "$F32" f32 -p temperature=0 -p max_tokens=4 "$D/prompts.jsonl"
	p=$(echo "$output" | jq -s '.[0].response.usage.prompt_tokens')
	n=$(curl -sf "http://127.0.0.1:$f32_PORT/tokenize" -d '{"content": "the cat", "add_special": true}' |
		jq '.tokens | length')
	[ "$p" -gt $((n + 4)) ]
	assert_stderr --partial "a prompt of $n tokens was sent as $p"
	[ "$(grep -c 'chat template' <<<"$stderr")" = 1 ]
	# The completions endpoint sends the prompt as it is: no note.
	run_ok completions "$F32" f32 -p temperature=0 -p max_tokens=4 "$D/prompts.jsonl"
	[ "$(echo "$output" | jq -s '.[0].response.usage.prompt_tokens')" = "$n" ]
	refute_output --partial "chat template"
	[[ "$stderr" != *"chat template"* ]]
}

@test "queueing: -c above the server's slots is named with the fix from /props; -c at its slots is not" {
	for i in $(seq 24); do jq -nc --arg p "the cat $i" '{prompt: $p}'; done >many.jsonl
	run_ok completions "$Q4" q4 -p temperature=0 -p max_tokens=2 -c 2 many.jsonl
	[[ "$stderr" != *"queueing"* ]]
	lat=$(echo "$output" | jq -s 'map(.response.latency_ms - .response.server_timings.prompt_ms -
		.response.server_timings.predicted_ms) | sort | .[length / 2 | floor]')
	echo "median latency_ms minus server compute at -c 2: $lat ms" >&3
	run_ok completions "$Q4" q4 -p temperature=0 -p max_tokens=2 -c 16 many.jsonl
	slow=$(echo "$output" | jq -s 'map(select(.response.latency_ms - .response.server_timings.prompt_ms -
		.response.server_timings.predicted_ms > 250)) | length')
	echo "answers waiting more than 250 ms at -c 16: $slow of 24" >&3
	if [ "$slow" -ge 5 ]; then
		assert_stderr --partial "-c 16 is above the server's 2 slots (/props total_slots): use -c 2"
	else
		[[ "$stderr" != *"queueing"* ]]
	fi
}

@test "queueing, decided on answers that waited: 300 ms each for 1 ms of compute, by qa-testd" {
	# The same decision as above, on answers that certainly waited (qa-testd holds each 300 ms).
	for i in 1 2 3 4 5 6; do jq -nc --arg p "!timed:ms=300 #w$i" '{prompt: $p}'; done >wait.jsonl
	run_ok completions "http://127.0.0.1:$S_PORT/v1" m -c 6 wait.jsonl
	[ "$(echo "$output" | jq -s 'map(.response.server_timings.predicted_ms) | add')" = 2.4 ]
	assert_stderr --partial "6 of 6 answers took much longer than the server's own compute"
	assert_stderr --partial "-c 6 is above the server's 2 slots (/props total_slots): use -c 2"
	[ "$(grep -c queueing <<<"$stderr")" = 1 ]
	# At the server's slots the fix is not -c: the message says what else to check.
	run_ok completions "http://127.0.0.1:$S_PORT/v1" m -c 2 wait.jsonl
	assert_stderr --partial "the server has 2 slots (/props total_slots) and other clients may be using them"
	# Answers that did not wait are not named.
	for i in 1 2 3 4 5 6; do jq -nc --arg p "!timed:ms=0 #n$i" '{prompt: $p}'; done >now.jsonl
	run_ok completions "http://127.0.0.1:$S_PORT/v1" m -c 6 now.jsonl
	[[ "$stderr" != *queueing* ]]
}

@test "queueing without -c: -c auto (the default for HTTP) is named with what it went up to, from 4" {
	for i in 1 2 3 4 5 6 7 8; do jq -nc --arg p "!timed:ms=300 #a$i" '{prompt: $p}'; done >auto.jsonl
	run_ok timeout 120 qa-send -q --cache-mode off --provider openai-completions --base-url "http://127.0.0.1:$S_PORT/v1" \
		--model m --key-env QA_LLAMA_KEY auto.jsonl
	assert_stderr --partial "8 of 8 answers took much longer than the server's own compute"
	[[ "$stderr" =~ "-c auto went up to "([0-9]+)" (now "[0-9]+"), which is above the server's 2 slots (/props total_slots): use -c 2" ]]
	[ "${BASH_REMATCH[1]}" -ge 4 ]
}

@test "assess.mk end to end: greedy by default, the baseline reproduces itself, the report says how" {
	run make -s --no-print-directory -f "$QA_ROOT/pipelines/assess.mk" BASELINE=f32 CANDIDATE=q4 \
		CONFIG="$D/ep.conf" PRICES="$QA_ROOT/pipelines/prices.csv" RUNS="$PWD/runs" TASKS="$D/tasks.jsonl" \
		PERPLEXITY=no MAX_DROP=1
	[ "$status" -eq 0 ]
	r=runs/f32-vs-q4
	# Greedy: the F32 endpoint answers its own battery exactly as it did.
	[ "$(jq -r 'select(.scope == "overall") | .baseline.mean' $r/diff.json)" = 1 ]
	[ "$(jq -s 'map(.response.server_timings.predicted_n) | all(. > 0)' $r/q4.sent.jsonl)" = true ]
	grep -qF 'Decoding, both sides: temperature=0 (greedy).' $r/report.md
	# Costs come from the server's token counts and the config's prices.
	[ "$(jq -s 'map(.cost.total - (.response.usage.prompt_tokens * 1 + .response.usage.completion_tokens * 2) / 1e6 |
		fabs < 1e-12) | all' $r/f32.scored.jsonl)" = true ]
	# DECODE changes what both sides send, and sends again.
	run make -s --no-print-directory -f "$QA_ROOT/pipelines/assess.mk" BASELINE=f32 CANDIDATE=q4 \
		CONFIG="$D/ep.conf" PRICES="$QA_ROOT/pipelines/prices.csv" RUNS="$PWD/runs" TASKS="$D/tasks.jsonl" \
		PERPLEXITY=no MAX_DROP=1 DECODE='temperature=0 top_k=1'
	[ "$status" -eq 0 ]
	grep -qF 'Decoding, both sides: temperature=0 top_k=1 (greedy).' $r/report.md
}

@test "migrate.mk end to end: F32 to Q4_0 in two stages, greedy, gated on the F32 answers" {
	run make -s --no-print-directory -f "$QA_ROOT/pipelines/migrate.mk" BASELINE=f32 CANDIDATE=q4 \
		CONFIG="$D/ep.conf" PRICES="$QA_ROOT/pipelines/prices.csv" RUNS="$PWD/runs" TASKS="$D/tasks.jsonl" \
		PLAN=50,100 MAX_DROP=1
	[ "$status" -eq 0 ]
	r=runs/f32-vs-q4
	[ "$(awk 'NR == 3 { print $NF }' $r/ramp.txt)" = done ]
	[ "$(jq -s 'map(select(.endpoint == "q4")) | length' $r/stage-2.jsonl)" = "${#PROMPTS[@]}" ]
	[ "$(jq -s 'map(.response.server_timings.predicted_n > 0) | all' $r/stage-2.jsonl)" = true ]
}

@test "--context windows with llama.cpp's own tokenizer: the BOS and the SentencePiece space are not text" {
	# Prompt logprobs from llama-server's tokenizer (tests/llama/echo-shim): <s>, then " the", " cat", ...
	mkfifo shim.port
	"$QA_ROOT/tests/llama/echo-shim" "$f32_PORT" >shim.port 2>shim.log 3>&- &
	shim=$!
	read -r -t 20 port <shim.port
	text="the cat and the dog made the king of the river know the way to the sea water"
	jq -nc --arg p "$text" '{prompt: $p}' >long.jsonl
	n=$(curl -sf "http://127.0.0.1:$f32_PORT/tokenize" -d "$(jq -nc --arg p "$text" '{content: $p}')" |
		jq '.tokens | length')
	run_ok completions "http://127.0.0.1:$port/v1" f32 --mode logprobs --context 6 --stride 3 -r 0 long.jsonl
	kill "$shim"
	# Every token of the prompt once (the BOS first, null), in 1 + ceil((T - 6) / 3) requests for T with it.
	t=$((n + 1))
	[ "$(field '.response.logprobs.tokens | length')" = "$t" ]
	[ "$(field '.response.logprobs.windows.requests')" = $((1 + (t - 6 + 2) / 3)) ]
	[ "$(field '.response.logprobs.tokens[0]')" = '"<s>"' ]
	[ "$(field '.response.logprobs.tokens[1:] | join("")')" = "\" $text\"" ]
	[ "$(field '.response.attempts')" = "$(field '.response.logprobs.windows.requests')" ]
	run_ok qa-score -m perplexity <<<"$output"
}

# Issue 18: the same requests streamed give the same records, plus timings the formulas account for.
@test "--stream: greedy completions and chat streamed match the unstreamed records, timings by their formulas" {
	for mode in completions chat; do
		run_ok $mode "$F32" f32 -p temperature=0 -p max_tokens=6 -p logprobs=3 "$D/prompts.jsonl"
		jq -c '.response | [.text, .finish_reason, .usage.completion_tokens, .logprobs.tokens]' <<<"$output" >plain.txt
		run_ok $mode "$F32" f32 -p temperature=0 -p max_tokens=6 -p logprobs=3 --stream --trace tr.jsonl \
			"$D/prompts.jsonl"
		printf '%s\n' "$output" >out.jsonl
		jq -c '.response | [.text, .finish_reason, .usage.completion_tokens, .logprobs.tokens]' out.jsonl >stream.txt
		cmp plain.txt stream.txt
		# The server's own count of what it generated, from the timings it streams.
		jq -e -s 'all(.[].response; .usage.completion_tokens == .server_timings.predicted_n and
			(.usage.estimated | not) and .ttft_ms <= .latency_ms)' out.jsonl
		local id n want got
		while read -r id n; do
			want=$(jq -sc --argjson id "$id" --argjson n "$n" -f "$QA_ROOT/tests/data/stream/formulas.jq" tr.jsonl)
			got=$(jq -c --argjson id "$id" 'select(.id == $id) | .response |
				{queue_ms,ttft_ms,first_chunk_ms,tpot_ms,itl_ms,latency_ms,tokens_per_s,chunk_gaps_ms}' out.jsonl)
			assert_equal "$got" "$want"
		done < <(jq -r '"\(.id | tojson) \(.response.usage.completion_tokens)"' out.jsonl)
	done
}

@test "llama provider: greedy generation in the process equals llama-server's greedy answer, same GGUF and prompts" {
	local m url
	for m in f32:F32 q4_0:Q4; do
		url=${m#*:}
		url=${!url}
		# llama-server's greedy answers, 16 tokens each
		run_ok qa-send -q -c 2 --cache-mode off --provider openai-completions --base-url "$url" --model x \
			--key-env QA_LLAMA_KEY -p temperature=0 -p max_tokens=16 "$D/prompts.jsonl"
		local server=$output
		[ "$(jq -s 'map(select(.response.usage.completion_tokens == 16)) | length' <<<"$server")" -gt 0 ]
		run_ok qa-send -q -c 2 --cache-mode off --provider llama --model "$LLAMA_MODELS/${m%%:*}.gguf" \
			--threads 1 -p temperature=0 -p max_tokens=16 "$D/prompts.jsonl"
		[ "$(jq -s 'map(select(.response.text | length > 0)) | length' <<<"$output")" -eq ${#PROMPTS[@]} ]
		diff <(jq -c '[.id, .response.text, .response.usage.completion_tokens]' <<<"$server") \
			<(jq -c '[.id, .response.text, .response.usage.completion_tokens]' <<<"$output")
	done
	# the two models answer differently somewhere: the comparison above can tell them apart
	run_ok qa-send -q --cache-mode off --provider llama --model "$LLAMA_MODELS/q4_0.gguf" --threads 1 \
		-p temperature=0 -p max_tokens=16 "$D/prompts.jsonl"
	local q4=$output
	run_ok qa-send -q --cache-mode off --provider llama --model "$LLAMA_MODELS/f32.gguf" --threads 1 \
		-p temperature=0 -p max_tokens=16 "$D/prompts.jsonl"
	[ "$(jq -c .response.text <<<"$q4")" != "$(jq -c .response.text <<<"$output")" ]
}
