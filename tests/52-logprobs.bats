#!/usr/bin/env bats
# qa-send --mode logprobs: the prompt's own logprobs, however the endpoint
# gives them (echo, vLLM's prompt_logprobs), the endpoints that cannot,
# and long prompts scored in windows (--context, --stride).

load testd-suite

completions() {
	timeout 60 qa-send -q --provider openai-completions --base-url "$BASE" --model m --seed 7 \
		--backoff-base 0.01 --backoff-cap 0.05 "$@"
}
# A prompt of N words, the same every time.
words() { seq "$1" | awk '{ printf "%sw%d", (NR > 1 ? " " : ""), ($1 * 7919) % 101 } END { print "" }'; }

@test "--mode logprobs asks for echo, 5 alternatives and no answer; -p and the record's params win" {
	s="!200:text=ok #$T"
	run_ok completions --mode logprobs <<<"$(rec "$s")"
	[ "$(testd_last S "$s" | jq -c '.body | [.echo, .logprobs, .max_tokens]')" = '[true,5,0]' ]
	run_ok completions --mode logprobs -p logprobs=2 <<<"$(jq -nc --arg p "$s" '{prompt: $p, params: {max_tokens: 1}}')"
	[ "$(testd_last S "$s" | jq -c '.body | [.echo, .logprobs, .max_tokens]')" = '[true,2,1]' ]
	# Without the mode nothing is asked for.
	run_ok completions <<<"$(rec "$s")"
	[ "$(testd_last S "$s" | jq -c '.body | [.echo, .logprobs, .max_tokens]')" = '[null,null,null]' ]
}

@test "a server that refuses echo (llama.cpp) is a bad_request saying so, sent once, not retried" {
	s="!llamaecho #$T"
	run_data completions --mode logprobs -r 3 <<<"$(rec "$s")"
	[ "$(testd_count S "$s")" = 1 ]
	[ "$(field .error.type)" = '"bad_request"' ]
	[[ "$(field .error.message)" == *"refuses echo"*"llama.cpp"*"Unsupported param: echo"* ]]
}

@test "a server that ignores echo (logprobs of the answer only) is a bad_request, not a wrong perplexity" {
	s="!noecho #$T"
	run_data completions --mode logprobs <<<"$(rec "$s")"
	[ "$(field .error.type)" = '"bad_request"' ]
	[[ "$(field .error.message)" == *"generated tokens only"* ]]
}

@test "vLLM's prompt_logprobs come back in the OpenAI layout, the prompt's own token first" {
	s="!plp a b c #$T"
	run_ok completions -p prompt_logprobs=1 -p max_tokens=1 <<<"$(rec "$s")"
	[ "$(field .response.logprobs)" = \
		'{"tokens":["","a","b","c","#'$T'"],"token_logprobs":[null,-1.5,-1.5,-1.5,-1.5],"top_logprobs":[null,{"a":-1.5,"top":-0.5},{"b":-1.5,"top":-0.5},{"c":-1.5,"top":-0.5},{"#'$T'":-1.5,"top":-0.5}]}' ]
	qa-score -m perplexity <<<"$output" | jq -e '.scores.perplexity == (1.5 | exp)'
}

@test "chat endpoints cannot give prompt logprobs: refused before sending" {
	s="!200 #$T"
	run_data timeout 60 qa-send -q --provider openai --base-url "$BASE" --model m --mode logprobs <<<"$(rec "$s")"
	[ "$(testd_count S "$s")" = 0 ]
	[[ "$(field .error.message)" == *"openai-completions provider"* ]]
}

@test "--context: each token scored once, in windows that fit, and the same logprobs where context does not matter" {
	words 40 | jq -Rc '{prompt: .}' > long.jsonl
	# The mock's baseline gives a token the same logprob whatever comes before its previous word.
	qa-send -q --provider mock --mode logprobs long.jsonl > whole.jsonl
	run_ok qa-send -q --provider mock --mode logprobs --context 10 --stride 7 long.jsonl
	# 40 tokens: the first 10 from the whole prompt's answer, then windows ending at 17, 24, 31, 38, 40.
	[ "$(field .response.logprobs.windows)" = '{"context":10,"stride":7,"requests":6}' ]
	[ "$(field .response.attempts)" = 6 ]
	[ "$(field '.response.logprobs | [(.tokens | length), (.tokens | add)]')" = "[40,\"$(words 40)\"]" ]
	[ "$(field '.response.logprobs.token_logprobs')" = "$(jq -c .response.logprobs.token_logprobs whole.jsonl)" ]
	[ "$(field '[.response.logprobs.token_logprobs[] | select(. == null)] | length')" = 1 ]
	# Usage adds up the windows' prompts: 40 tokens, plus 5 windows of 10 (the last one 9).
	[ "$(field .response.usage.prompt_tokens)" -gt "$(jq .response.usage.prompt_tokens whole.jsonl)" ]
}

@test "--context: int4 windows see less context; its perplexity differs, every token still scored once" {
	words 40 | jq -Rc '{prompt: .}' > long.jsonl
	qa-send -q --provider mock --model int4 --mode logprobs long.jsonl | qa-score -m perplexity > whole.jsonl
	qa-send -q --provider mock --model int4 --mode logprobs --context 8 long.jsonl | qa-score -m perplexity > win.jsonl
	[ "$(jq .details.perplexity.tokens win.jsonl)" = 39 ]
	[ "$(jq .details.perplexity.tokens whole.jsonl)" = 39 ]
	[ "$(jq .response.logprobs.windows.stride win.jsonl)" = 4 ]
	[ "$(jq -n --slurpfile a whole.jsonl --slurpfile b win.jsonl '$a[0].scores.perplexity != $b[0].scores.perplexity')" = true ]
}

@test "--context: a prompt that fits is one request; tokens that do not spell the prompt are a clear error" {
	run_ok qa-send -q --provider mock --mode logprobs --context 50 <<<'{"prompt":"short text here"}'
	[ "$(field .response.logprobs.windows)" = null ]
	[ "$(field .response.attempts)" = 1 ]
	# qa-testd's tokens are the prompt's words without their spaces.
	s="!200 a b c d e f #$T"
	run_data completions --mode logprobs -p max_tokens=1 --context 3 <<<"$(rec "$s")"
	# The same prompt gets the same tokens: a bad request, never retried.
	[ "$(field .error.type)" = '"bad_request"' ]
	[ "$(field .error.attempts)" = 1 ]
	[[ "$(field .error.message)" == *"do not spell the prompt"* ]]
	# A system string is not part of what windows are cut from.
	run_data qa-send -q --provider mock --mode logprobs --context 3 <<<'{"system":"be brief","prompt":"one two three four five"}'
	[ "$(field .error.type)" = '"bad_record"' ]
}

@test "--context and --stride: usage errors before anything is read" {
	run_usage qa-send --provider mock --context 10 </dev/null
	assert_stderr --partial "give --mode logprobs"
	run_usage qa-send --provider mock --mode logprobs --context 10 --stride 10 </dev/null
	assert_stderr --partial "must be less than --context"
	run_usage qa-send --provider mock --mode logprobs --stride 3 </dev/null
	run_usage qa-send --provider mock --mode perplexity </dev/null
}
