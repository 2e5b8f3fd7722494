#!/usr/bin/env bats
# Streamed responses (issue 18), below qa-send: qa-streamd's streams and
# llama-server's own, read with curl -N and run through lib/sse and the
# openai providers' stream() by the driver build/tests/sse-reply (what
# qa-send --stream calls).  No timing is asserted: the schedule is
# checked by what arrived, not when.

load llama

setup_file() {
	load test_helper
	local root
	root=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	mkfifo "$BATS_FILE_TMPDIR/sd.port"
	"$root/tests/server/qa-streamd" --tokens 4 >"$BATS_FILE_TMPDIR/sd.port" 2>"$BATS_FILE_TMPDIR/sd.log" 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/sd.pid"
	read -r -t 20 SD_PORT <"$BATS_FILE_TMPDIR/sd.port"
	export SD_PORT
	llama_models
	start_llama lm f32.gguf -np 1
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/sd.pid")" 2>/dev/null || true
	stop_llama lm
}

setup() {
	load test_helper
	REPLY_BIN=$QA_BUILD/tests/sse-reply
	cd "$BATS_TEST_TMPDIR"
}

# sd PATH HEADER BODY: qa-streamd's raw stream, into out.sse.
sd() {
	curl -sN "http://127.0.0.1:$SD_PORT/v1/$1" -H "X-Test-Stream: $2" -d "$3" >out.sse
}

CHAT='{"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"one two three"}]}'

@test "stream: a chat stream with a role-only chunk and a usage chunk, fed whole and a byte at a time" {
	sd chat/completions "" "$CHAT"
	for c in 65536 1 7; do
		run -0 "$REPLY_BIN" --chunk "$c" <out.sse
		assert_equal "$(jq -c '[.end, .flags, .chunk_tokens, .text, .finish_reason, .usage, .error]' <<<"$output")" \
			'["done","rccccru",4," w0 w1 w2 w3","length",{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7},null]'
	done
}

@test "stream: no usage chunk unless stream_options asks; usage=on sends it anyway" {
	sd chat/completions "" '{"stream":true,"messages":[{"role":"user","content":"x"}]}'
	run -0 "$REPLY_BIN" <out.sse
	assert_equal "$(jq -c '[.end, .flags, .usage]' <<<"$output")" '["done","rccccr",null]'
	sd chat/completions "usage=on" '{"stream":true,"messages":[{"role":"user","content":"x"}]}'
	run -0 "$REPLY_BIN" <out.sse
	assert_equal "$(jq -c '[.flags, .usage.completion_tokens]' <<<"$output")" '["rccccru",4]'
}

@test "stream: reasoning deltas, several tokens a chunk, comments, CRLF, no role chunk" {
	sd chat/completions "reasoning=2,per=3,comments=1,crlf=1,role=0" "$CHAT"
	grep -c '^: keep-alive' out.sse | grep -qx 6
	grep -q $'\r$' out.sse
	run -0 "$REPLY_BIN" --chunk 3 <out.sse
	# One reasoning chunk (2 tokens), two content chunks (3 + 1): 3 counted without logprobs.
	assert_equal "$(jq -c '[.end, .flags, .chunk_tokens, .text, .usage.completion_tokens]' <<<"$output")" \
		'["done","Rccru",3," w0 w1 w2 w3",6]'
	sd chat/completions "reasoning=1,reasoning_key=reasoning,per=3,logprobs=1" "$CHAT"
	run -0 "$REPLY_BIN" <out.sse
	# With logprobs every token is counted, and joined.
	assert_equal "$(jq -c '[.flags, .chunk_tokens, .logprobs.tokens]' <<<"$output")" \
		'["rRccru",5,[" r0"," w0"," w1"," w2"," w3"]]'
}

@test "stream: completions chunks" {
	sd completions "per=2" '{"stream":true,"prompt":"a b","stream_options":{"include_usage":true}}'
	run -0 "$REPLY_BIN" --completions <out.sse
	assert_equal "$(jq -c '[.end, .flags, .text, .finish_reason, .usage.prompt_tokens]' <<<"$output")" \
		'["done","ccru"," w0 w1 w2 w3","length",2]'
}

@test "stream: the streamed text is the non-streamed answer" {
	run -0 curl -s "http://127.0.0.1:$SD_PORT/v1/chat/completions" -d '{"messages":[{"role":"user","content":"x"}]}'
	want=$(jq -r .choices[0].message.content <<<"$output")
	sd chat/completions "per=3" "$CHAT"
	run -0 "$REPLY_BIN" <out.sse
	assert_equal "$(jq -r .text <<<"$output")" "$want"
}

@test "stream: a stream cut in the middle is a bad_response, whether HTTP ends cleanly or not" {
	sd chat/completions "cut=2" "$CHAT"
	run -0 "$REPLY_BIN" <out.sse
	assert_equal "$(jq -c '[.end, .flags, .text, .error_type, .error]' <<<"$output")" \
		'["cut","rcc",null,"bad_response","the stream was cut after 3 chunks (in the middle of an event)"]'
	run -18 curl -sN "http://127.0.0.1:$SD_PORT/v1/chat/completions" -H "X-Test-Stream: cut=0,abort=1" -d "$CHAT" -o out.sse
	run -0 "$REPLY_BIN" <out.sse
	assert_equal "$(jq -c '[.end, .flags, .error_type]' <<<"$output")" '["cut","r","bad_response"]'
}

@test "stream: llama-server's chat stream carries the same answer, tokens and logprobs as its non-streamed response" {
	local body='{"model":"lm","messages":[{"role":"user","content":"the cat"}],"max_tokens":6,"temperature":0,"logprobs":true,"top_logprobs":2'
	run -0 curl -sf "http://127.0.0.1:$lm_PORT/v1/chat/completions" -d "$body}"
	whole=$output
	curl -sfN "http://127.0.0.1:$lm_PORT/v1/chat/completions" \
		-d "$body"',"stream":true,"stream_options":{"include_usage":true}}' >out.sse
	run -0 "$REPLY_BIN" --chunk 5 <out.sse
	assert_equal "$(jq -c '[.end, .error, .text, .finish_reason, .usage.completion_tokens, .logprobs.tokens, .logprobs.token_logprobs]' <<<"$output")" \
		"$(jq -c '["done", null, .choices[0].message.content, .choices[0].finish_reason, .usage.completion_tokens,
			[.choices[0].logprobs.content[].token], [.choices[0].logprobs.content[].logprob]]' <<<"$whole")"
	assert_equal "$(jq .chunk_tokens <<<"$output")" "$(jq .usage.completion_tokens <<<"$whole")"
}

@test "stream: llama-server's completions stream, the same" {
	local body='{"model":"lm","prompt":"the dog","max_tokens":5,"temperature":0'
	run -0 curl -sf "http://127.0.0.1:$lm_PORT/v1/completions" -d "$body}"
	whole=$output
	curl -sfN "http://127.0.0.1:$lm_PORT/v1/completions" \
		-d "$body"',"stream":true,"stream_options":{"include_usage":true}}' >out.sse
	run -0 "$REPLY_BIN" --completions <out.sse
	assert_equal "$(jq -c '[.end, .text, .finish_reason, .usage.completion_tokens]' <<<"$output")" \
		"$(jq -c '["done", .choices[0].text, .choices[0].finish_reason, .usage.completion_tokens]' <<<"$whole")"
}
