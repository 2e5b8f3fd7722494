#!/usr/bin/env bats
# The llama provider (plugins/providers/llama/llama.c): qa-send runs a GGUF
# model in the process on its worker thread.  Its records are checked
# against the engine's own driver (build/tests/llama-ppl) on the test
# models of tests/llama.bash.

load llama

setup_file() {
	load test_helper
	llama_models
}

setup() {
	load test_helper
	PPL=$QA_BUILD/tests/llama-ppl
	[ -x "$PPL" ] || {
		echo "$PPL is not built: make unit with pkg-config llama (make llama)" >&2
		return 1
	}
	[ -f "$QA_BUILD/lib/qa/plugins/llama.so" ] || {
		echo "the llama provider is not built: make with pkg-config llama (make llama)" >&2
		return 1
	}
}

@test "llama provider: greedy text, usage and finish_reason equal the engine driver's" {
	run_ok "$PPL" -m "$LLAMA_MODELS/f32.gguf" -p "the cat" -n 8 -t 1
	local g=$output
	run_ok qa-send --provider llama --model "$LLAMA_MODELS/f32.gguf" -p max_tokens=8 \
		<<<'{"id":"a","prompt":"the cat"}'
	[ "$(field .response.text)" = "$(jq -c .text <<<"$g")" ]
	[ "$(field .response.usage.prompt_tokens)" = "$(jq .prompt_tokens <<<"$g")" ]
	[ "$(field .response.usage.completion_tokens)" = 8 ]
	[ "$(field .response.finish_reason)" = '"length"' ]
	[ "$(field .response.endpoint)" = '"llama"' ]
}

@test "llama provider: -c 2 and -c 4 (batched) answer as -c 1, every record out, in order" {
	local i in=
	for i in "the cat" "a king" "the river" "one two" "my house" "water in the"; do
		in+=$(jq -nc --arg p "$i" '{id: $p, prompt: $p}')$'\n'
	done
	run_ok qa-send -c 1 --provider llama --model "$LLAMA_MODELS/q4_0.gguf" -p max_tokens=6 <<<"$in"
	local one=$output
	[ "$(jq -s 'map(select(.response.text)) | length' <<<"$one")" -eq 6 ]
	run_ok qa-send -c 2 --provider llama --model "$LLAMA_MODELS/q4_0.gguf" -p max_tokens=6 <<<"$in"
	[ "$(jq -c '[.id, .response.text]' <<<"$output")" = "$(jq -c '[.id, .response.text]' <<<"$one")" ]
	# -c 4: the worker hands the engine what is waiting, decoded in one batch (--trace says how many).
	run_ok qa-send -c 4 --cache-mode off --trace "$BATS_TEST_TMPDIR/tr.jsonl" --provider llama \
		--model "$LLAMA_MODELS/q4_0.gguf" -p max_tokens=6 <<<"$in$in"
	[ "$(jq -c '[.id, .response.text]' <<<"$output" | sort -u)" = "$(jq -c '[.id, .response.text]' <<<"$one" | sort)" ]
	[ "$(jq -s 'map(select(.decision == "computed")) | length' "$BATS_TEST_TMPDIR/tr.jsonl")" -eq 12 ]
	jq -se 'map(select(.decision == "computed") | .batch) | max > 1 and max <= 4' "$BATS_TEST_TMPDIR/tr.jsonl"
	# -c 1 computes one at a time
	run_ok qa-send -c 1 --cache-mode off --trace "$BATS_TEST_TMPDIR/tr1.jsonl" --provider llama \
		--model "$LLAMA_MODELS/q4_0.gguf" -p max_tokens=6 <<<"$in"
	jq -se 'map(select(.decision == "computed") | .batch) | length == 6 and all(. == 1)' "$BATS_TEST_TMPDIR/tr1.jsonl"
}

@test "llama provider: --mode logprobs gives the driver's perplexity; tokens spell the prompt" {
	local text="the model of the text and the river"
	printf '%s' "$text" >"$BATS_TEST_TMPDIR/t.txt"
	run_ok "$PPL" -m "$LLAMA_MODELS/q4_0.gguf" -f "$BATS_TEST_TMPDIR/t.txt" -c 64 -s 63 -t 1
	local ppl scored
	ppl=$(jq .ppl <<<"$output")
	scored=$(jq .scored <<<"$output")
	run_ok qa-send --provider llama --model "$LLAMA_MODELS/q4_0.gguf" --mode logprobs \
		<<<"$(jq -nc --arg p "$text" '{id: "t", prompt: $p}')"
	[ "$(jq '.response.logprobs.token_logprobs | length' <<<"$output")" -eq "$scored" ]
	[ "$(jq -r '.response.logprobs.tokens | join("")' <<<"$output")" = "$text" ]
	jq -e --argjson want "$ppl" '.response.logprobs.token_logprobs | (-add / length | exp) as $p
		| (($p - $want) / $want | fabs) < 1e-5' <<<"$output"
	# logprobs=5 by default: five entries, the likeliest first
	jq -e '.response.logprobs.top_logprobs | all(length == 5 and (to_entries | .[0].value >= .[4].value))' <<<"$output"
}

@test "llama provider: logprobs=N up to the vocabulary; the full list is the whole distribution" {
	run_ok qa-send --provider llama --model "$LLAMA_MODELS/f32.gguf" --mode logprobs -p logprobs=1000000 \
		<<<'{"id":"a","prompt":"the cat and the dog"}'
	# Every string of the vocabulary at every position; tokens that spell the same string keep the
	# likelier one only, so the mass is at most 1, and most of it.
	jq -e '.response.logprobs.top_logprobs | (map(length) | unique | length == 1 and .[0] > 200)
		and all([.[] | exp] | add | . <= 1.000001 and . > 0.9)' <<<"$output"
	# logprobs=3 is the head of that list
	local full=$output
	run_ok qa-send --provider llama --model "$LLAMA_MODELS/f32.gguf" --mode logprobs -p logprobs=3 \
		<<<'{"id":"a","prompt":"the cat and the dog"}'
	[ "$(jq -c '.response.logprobs.top_logprobs | map(to_entries | .[:3] | map(.key))' <<<"$full")" = \
	  "$(jq -c '.response.logprobs.top_logprobs | map(to_entries | map(.key))' <<<"$output")" ]
	# each token's own logprob is at most its string's entry in the list (the first lost its SentencePiece space)
	jq -e '.response.logprobs | [.tokens, .token_logprobs, .top_logprobs] | transpose | .[1:]
		| all(.[2][.[0]] != null and .[1] <= .[2][.[0]] + 1e-6)' <<<"$full"
}

@test "llama provider: messages on a model without a chat template is an error record; the others answer" {
	run_data qa-send --provider llama --model "$LLAMA_MODELS/f32.gguf" -p max_tokens=2 <<-'EOF'
		{"id":"m","messages":[{"role":"user","content":"hi"}]}
		{"id":"p","prompt":"the cat"}
	EOF
	[ "$(jq -sc 'map(.error.type)' <<<"$output")" = '["bad_request",null]' ]
	[[ $(jq -rs '.[0].error.message' <<<"$output") == *"no chat template"* ]]
	[ "$(jq -s '.[1].response.usage.completion_tokens' <<<"$output")" -eq 2 ]
}

@test "llama provider: --timeout stops a decode: a timeout error record, and qa-send ends" {
	# A generation to the end of the context (thousands of tokens) against a 1 ms timeout.
	run_data qa-send --provider llama --model "$LLAMA_MODELS/f32.gguf" --timeout 0.001 -r 0 \
		-p max_tokens=0 <<<'{"id":"a","prompt":"the cat"}'
	[ "$(field .error.type)" = '"timeout"' ]
	# Two in one batch: each its own timeout error record
	run_data qa-send -c 2 --cache-mode off --provider llama --model "$LLAMA_MODELS/f32.gguf" --timeout 0.001 -r 0 \
		-p max_tokens=0 <<<$'{"id":"a","prompt":"the cat"}\n{"id":"b","prompt":"a king"}'
	[ "$(jq -sc 'map([.id, .error.type])' <<<"$output")" = '[["a","timeout"],["b","timeout"]]' ]
}

@test "llama provider: no model, or a file that is not a GGUF, is an error record naming it" {
	run_data qa-send --provider llama <<<'{"id":"a","prompt":"the cat"}'
	[[ $(field .error.message) == *"needs a model"* ]]
	printf 'not a model' >"$BATS_TEST_TMPDIR/bad.gguf"
	run_data qa-send --provider llama --model "$BATS_TEST_TMPDIR/bad.gguf" <<<'{"id":"a","prompt":"the cat"}'
	[[ $(field .error.message) == *bad.gguf* ]]
}

@test "llama provider: --kl-base gives each token's exact drift; its sums are the driver's" {
	local text="the model of the text and the river"
	printf '%s' "$text" >"$BATS_TEST_TMPDIR/t.txt"
	run_ok "$PPL" -m "$LLAMA_MODELS/q4_0.gguf" -b "$LLAMA_MODELS/f32.gguf" -f "$BATS_TEST_TMPDIR/t.txt" -c 64 -s 63 -t 1
	local ref=$output
	run_ok qa-send --provider llama --model "$LLAMA_MODELS/q4_0.gguf" --kl-base "$LLAMA_MODELS/f32.gguf" \
		--threads 1 --mode logprobs <<<"$(jq -nc --arg p "$text" '{id: "t", prompt: $p}')"
	local r=$output
	[ "$(jq .response.drift.exact <<<"$r")" = true ]
	[ "$(jq -r .response.drift.base <<<"$r")" = "$LLAMA_MODELS/f32.gguf" ]
	# aligned with the tokens
	[ "$(jq '.response.drift | [.token_logprobs, .kld, .same_top] | map(length) | unique' -c <<<"$r")" = \
	  "[$(jq .scored <<<"$ref")]" ]
	jq -e --argjson ref "$ref" '.response.drift as $d | ($d.kld | add / length) as $kld
		| (($d.same_top | map(select(.)) | length) * 100 / ($d.same_top | length)) as $same
		| ($d.token_logprobs | -add / length | exp) as $pb
		| (($kld - $ref.kld_mean) | fabs) < 1e-6 and (($same - $ref.same_top_pct) | fabs) < 1e-6
		  and ((($pb - $ref.ppl_base) / $ref.ppl_base) | fabs) < 1e-5' <<<"$r"
	# The model against itself drifts by nothing.
	run_ok qa-send --provider llama --model "$LLAMA_MODELS/f32.gguf" --kl-base "$LLAMA_MODELS/f32.gguf" \
		--mode logprobs <<<"$(jq -nc --arg p "$text" '{id: "t", prompt: $p}')"
	jq -e '.response.drift | (.kld | all(fabs < 1e-9)) and (.same_top | all)' <<<"$output"
}

@test "llama provider: threads and kl_base as endpoint settings in the config; --threads needs an engine" {
	cat >"$BATS_TEST_TMPDIR/ep.ini" <<-INI
		[q4]
		provider = llama
		model = $LLAMA_MODELS/q4_0.gguf
		kl_base = $LLAMA_MODELS/f32.gguf
		threads = 1
	INI
	run_ok qa-send --config "$BATS_TEST_TMPDIR/ep.ini" -e q4 --mode logprobs <<<'{"id":"a","prompt":"the cat and the dog"}'
	[ "$(field .response.drift.exact)" = true ]
	[ "$(field .response.endpoint)" = '"q4"' ]
	run_usage qa-send --provider mock --threads 2 <<<'{"id":"a","prompt":"x"}'
	assert_stderr --partial "--threads and --kl-base"
	# a baseline that is not a GGUF: an error record naming it
	printf 'nothing' >"$BATS_TEST_TMPDIR/no.gguf"
	run_data qa-send --provider llama --model "$LLAMA_MODELS/q4_0.gguf" --kl-base "$BATS_TEST_TMPDIR/no.gguf" \
		--mode logprobs <<<'{"id":"a","prompt":"the cat"}'
	[[ $(field .error.message) == *"--kl-base"*no.gguf* ]]
}

@test "llama provider: --context through the engine scores llama-perplexity's positions; --stride every token once" {
	# No newline in the text: the driver drops a final one, as llama-perplexity does with its -f file.
	tr 'A-Z' 'a-z' <"$QA_ROOT/tests/llama/mkmodel" | tr -cs 'a-z' ' ' | head -c 6000 >"$BATS_TEST_TMPDIR/t.txt"
	jq -Rsc '{id: "t", prompt: .}' "$BATS_TEST_TMPDIR/t.txt" >"$BATS_TEST_TMPDIR/t.jsonl"
	local c s q
	for c in "-c 128" "-c 128 -s 96"; do
		run_ok "$PPL" -m "$LLAMA_MODELS/q4_0.gguf" -b "$LLAMA_MODELS/f32.gguf" -f "$BATS_TEST_TMPDIR/t.txt" $c -t 1
		local ref=$output
		q=${c/-c/--context}
		q=${q/-s/--stride}
		run_ok qa-send --provider llama --model "$LLAMA_MODELS/q4_0.gguf" --kl-base "$LLAMA_MODELS/f32.gguf" \
			--threads 1 --mode logprobs $q "$BATS_TEST_TMPDIR/t.jsonl"
		[ "$(jq '.response.logprobs.token_logprobs | length' <<<"$output")" -eq "$(jq .scored <<<"$ref")" ]
		jq -e --argjson ref "$ref" '.response as $r | ($r.logprobs.token_logprobs | -add / length | exp) as $p
			| ($r.drift.kld | add / length) as $kld
			| ((($p - $ref.ppl) / $ref.ppl) | fabs) < 1e-5 and (($kld - $ref.kld_mean) | fabs) < 1e-6' <<<"$output"
	done
	# the chunked positions score fewer tokens than the overlapping windows, which score all but BOS
	[ "$(jq .scored <<<"$ref")" -eq "$(($(jq .text_tokens <<<"$ref") - 1))" ]
}
