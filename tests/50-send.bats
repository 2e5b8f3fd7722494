#!/usr/bin/env bats
# qa-send: the engine, the providers and every retry rule of FACTS.md,
# against tests/server/qa-testd, which each request scripts ("!429:ra=1 200
# #tag": a 429 first, then a 200) and which counts what it saw.

load testd-suite

# How many requests the server saw with this script; the last of them: {path, body, headers}.
count() { testd_count S "$1"; }
last() { testd_last S "$1"; }
# Whether an arithmetic comparison holds: is "$r > 0.9".
is() { awk "BEGIN { exit !($*) }"; }
# qa-send against the test server, bounded, with fast and reproducible backoff;
# no response cache, since these tests count what is sent (59-send-cache tests it).
send() {
	timeout 60 qa-send -q --cache-mode off --provider openai --base-url "$BASE" --model m --seed 7 \
		--backoff-base 0.01 --backoff-cap 0.05 "$@"
}
# The retry decisions of --trace tr.jsonl: "reason delay_ms" per retry.
retries() { jq -r 'select(.decision == "retry") | "\(.reason) \(.delay_ms)"' tr.jsonl; }

@test "an answer: response fields appended, the record's own bytes kept" {
	in='{ "id" : 1, "prompt":"!200:text=Paris #'$T'", "zz":[1.50] }'
	run_ok send <<<"$in"
	[[ "$output" == '{ "id" : 1, "prompt":"!200:text=Paris #'$T'", "zz":[1.50],"response":{'*'} }' ]]
	[ "$(field '.response | [.text, .finish_reason, .model, .endpoint, .attempts, .status, .request_id]')" = \
		'["Paris","stop","m","openai",1,200,"chatcmpl-test"]' ]
	[ "$(field '.response.usage')" = \
		'{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":1}}' ]
	[ "$(field '.response.latency_ms | type')" = '"number"' ]
	[ "$(field 'has("error")')" = false ]
	[ "$(count "!200:text=Paris #$T")" = 1 ]
}

@test "the request: model, system, prompt, params; the record's model and params win over the defaults" {
	s="!200 #$T"
	jq -nc --arg p "$s" '{prompt: $p, system: "Be brief.", model: "m2", params: {temperature: 0, stop: ["\n"]}}' >in.jsonl
	run_ok send -p temperature=0.7 -p max_tokens=5 -p user=bob in.jsonl
	last "$s" >req.json
	[ "$(jq -r .path req.json)" = /v1/chat/completions ]
	[ "$(jq -c .body req.json)" = \
		'{"model":"m2","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"'"$s"'"}],"temperature":0,"stop":["\n"],"max_tokens":5,"user":"bob"}' ]
	[ "$(jq -r '.headers.authorization' req.json)" = "Bearer $OPENAI_API_KEY" ]
	[ "$(jq -r '.headers["content-type"]' req.json)" = application/json ]
	[ "$(field .response.model)" = '"m2"' ]
}

@test "messages pass through; logprobs: N is chat's logprobs + top_logprobs, answered in the completions layout" {
	s="!200:text=a_b #$T"
	jq -nc --arg p "$s" '{messages: [{role: "user", content: "hi"}, {role: "assistant", content: "yes"}, {role: "user", content: $p}], params: {logprobs: 2}}' >in.jsonl
	run_ok send in.jsonl
	[ "$(last "$s" | jq -c '.body | [.messages[1], .logprobs, .top_logprobs]')" = '[{"role":"assistant","content":"yes"},true,2]' ]
	[ "$(field .response.logprobs)" = '{"tokens":["a_b"],"token_logprobs":[-0.5],"top_logprobs":[{"a_b":-0.5,"x":-2}]}' ]
}

@test "openai-completions: POST /completions with the prompt; echoed logprobs come back, the generated token dropped" {
	s="!200:text=done #$T"
	jq -nc --arg p "$s" '{prompt: $p, params: {echo: true, logprobs: 1, max_tokens: 1}}' >in.jsonl
	run_ok send --provider openai-completions in.jsonl
	[ "$(last "$s" | jq -c '[.path, .body.prompt, .body.echo, .body.logprobs, .body.max_tokens]')" = \
		"[\"/v1/completions\",\"$s\",true,1,1]" ]
	# The server sent the prompt's two tokens and the generated "done"; only the prompt's stay.
	[ "$(field '.response | [.text, .logprobs.token_logprobs[0], .logprobs.tokens]')" = "[\"done\",null,[\"!200:text=done\",\"#$T\"]]" ]
}

@test "429 with retry-after in seconds: waits that long, then retries" {
	s="!429:ra=1 200 #$T"
	run_ok send --trace tr.jsonl <<<"$(rec "$s")"
	[ "$(retries)" = "retry-after 1000" ]
	[ "$(jq -c '[.line, .attempt, .decision, .status, .type]' tr.jsonl | tr '\n' ' ')" = \
		'[1,1,"retry",429,"rate_limit"] [1,2,"answer",200,null] ' ]
	[ "$(count "$s")" = 2 ]
	[ "$(field .response.attempts)" = 2 ]
}

@test "429 with retry-after as an HTTP date" {
	s="!429:radate=2 200 #$T"
	run_ok send --trace tr.jsonl <<<"$(rec "$s")"
	# the date has whole seconds: the wait is over 0 and at most 2 s
	[ "$(jq -r 'select(.decision == "retry") | .reason' tr.jsonl)" = retry-after ]
	is "$(jq -r 'select(.decision == "retry") | .delay_ms' tr.jsonl) > 0"
	is "$(jq -r 'select(.decision == "retry") | .delay_ms' tr.jsonl) <= 2000"
	[ "$(count "$s")" = 2 ]
}

@test "retry-after-ms wins over retry-after" {
	s="!503:rams=300,ra=30 200 #$T"
	run_ok send --trace tr.jsonl <<<"$(rec "$s")"
	[ "$(retries)" = "retry-after-ms 300" ]
	[ "$(count "$s")" = 2 ]
}

@test "a retry-after past --retry-after-max is not honoured: backoff instead" {
	s="!429:ra=100 200 #$T"
	run_ok send --retry-after-max 2 --trace tr.jsonl <<<"$(rec "$s")"
	[ "$(retries | cut -d' ' -f1-7)" = "retry-after 100000 ms is over --retry-after-max: backoff" ]
	is "$(retries | cut -d' ' -f8) <= 10"	# --backoff-base 0.01: the first ceiling is 10 ms
	[ "$(count "$s")" = 2 ]
}

@test "retry-after of 0, negative, a past date or unreadable: backoff, as openai-python does" {
	for ra in ra=0 ra=-5 radate=-30 ra=soon rams=0; do rec "!429:$ra 200 #$T-$ra"; done >in.jsonl
	run_ok send -c 1 --trace tr.jsonl in.jsonl
	got=$(jq -r 'select(.decision == "retry") | "\(.line) \(.reason)"' tr.jsonl)
	[ "$(sed 3d <<<"$got")" = "1 retry-after 0 ms is not over 0: backoff
2 retry-after -5000 ms is not over 0: backoff
4 retry-after unreadable: backoff
5 retry-after-ms 0 ms is not over 0: backoff" ]
	# the date is whole seconds, 30 s before the server's clock: a second boundary between the two moves it
	[[ "$(sed -n 3p <<<"$got")" =~ ^"3 retry-after -3"[0-9]"000 ms is not over 0: backoff"$ ]]
	[ "$(jq -r 'select(.decision == "retry") | .delay_ms <= 10' tr.jsonl | sort -u)" = true ]
	[ "$(jq -r .response.attempts <<<"$output" | sort -u)" = 2 ]
}

@test "Gemini's retryDelay in an error body is honoured" {
	s="!gemini429:delay=0.4s 200 #$T"
	run_ok send --trace tr.jsonl <<<"$(rec "$s")"
	[ "$(retries)" = "retryDelay 400" ]
	[ "$(count "$s")" = 2 ]
}

@test "408, 409, 429, 500, 502, 503, 529 are retried until --retries is spent: N + 1 requests" {
	codes="408 409 429 500 502 503 529"
	for code in $codes; do rec "!$code #$T"; done >in.jsonl
	run_data send --retries 2 in.jsonl
	[ "$(jq -c '[.error.status, .error.attempts, .error.endpoint]' <<<"$output" | sort -u | wc -l)" = 7 ]
	[ "$(jq -c 'select(.error.attempts != 3 or .error.endpoint != "openai")' <<<"$output")" = "" ]
	counts=$(get "$PORT" /_count)
	for code in $codes; do
		[ "$(jq --arg s "!$code #$T" '.scripts[$s]' <<<"$counts")" = 3 ] || { echo "$code: $counts"; return 1; }
	done
	run_data send --retries 0 <<<"$(rec "!500 #$T-0")"
	[ "$(count "!500 #$T-0")" = 1 ]
	[ "$(field '.error | [.type, .message]')" = '["server","simulated HTTP 500"]' ]
}

@test "error types follow the status: 401/403 auth, 429 rate_limit, 5xx server, 408 timeout, 4xx bad_request" {
	for code in 401 403 429 500 529 408 400 422; do rec "!$code #$T"; done >in.jsonl
	run_data send --retries 0 in.jsonl
	[ "$(jq -r .error.type <<<"$output" | tr '\n' ' ')" = 'auth auth rate_limit server server timeout bad_request bad_request ' ]
}

@test "other 4xx are never retried" {
	codes="400 401 403 404 413 422"
	for code in $codes; do rec "!$code #$T"; done >in.jsonl
	run_data send --retries 3 in.jsonl
	[ "$(jq -r .error.attempts <<<"$output" | sort -u)" = 1 ]
	counts=$(get "$PORT" /_count)
	[ "$(jq --arg t "#$T" '[.scripts | to_entries[] | select(.key | endswith($t)) | .value] | [length, add]' -c <<<"$counts")" = '[6,6]' ]
}

@test "x-should-retry: false stops a retry, true makes a 400 retryable" {
	run_data send <<<"$(rec "!500:xsr=false #$T")"
	[ "$(count "!500:xsr=false #$T")" = 1 ]
	run_ok send <<<"$(rec "!400:xsr=true 200 #$T")"
	[ "$(count "!400:xsr=true 200 #$T")" = 2 ]
}

@test "a quota 429 (OpenAI insufficient_quota, Anthropic spend limit) is type quota and never retried" {
	for step in quota anthropic_quota; do
		s="!$step #$T"
		run_data send --retries 3 <<<"$(rec "$s")"
		[ "$(count "$s")" = 1 ]
		[ "$(field '[.error.type, .error.status]')" = '["quota",429]' ]
	done
	[[ "$(field .error.message)" == *"spend limit reached"* ]]
}

@test "error bodies in other shapes: FastAPI's detail and a proxy's HTML page, in both providers" {
	for provider in openai openai-completions; do
		run_data send --provider $provider <<<"$(rec "!detail #$T")"
		[ "$(field '[.error.type, .error.status, .error.message]')" = '["bad_request",422,"prompt: field required"]' ]
		run_data send --provider $provider --retries 0 <<<"$(rec "!proxy #$T")"
		[ "$(field '[.error.type, .error.status, .error.message]')" = \
			'["server",502,"HTTP 502: <html><head><title>502 Bad Gateway</title></head>"]' ]
	done
}

@test "a reset connection and a truncated body are network errors, retried" {
	run_ok send <<<"$(rec "!reset 200 #$T")"
	[ "$(count "!reset 200 #$T")" = 2 ]
	run_ok send <<<"$(rec "!trunc 200 #$T")"
	[ "$(count "!trunc 200 #$T")" = 2 ]
	run_data send --retries 1 <<<"$(rec "!reset #$T")"
	[ "$(field '[.error.type, .error.attempts]')" = '["network",2]' ]
}

@test "--timeout bounds an attempt: a hung request times out and is retried" {
	s="!hang 200 #$T"
	run_ok send --timeout 0.5 <<<"$(rec "$s")"
	[ "$(count "$s")" = 2 ]
	run_data send --timeout 0.3 --retries 1 --trace tr.jsonl <<<"$(rec "!hang #$T")"
	[ "$(field '[.error.type, .error.attempts]')" = '["timeout",2]' ]
	# the timed-out attempt was retried after a backoff under --backoff-cap (50 ms)
	[ "$(jq -r 'select(.decision == "retry") | .type' tr.jsonl)" = timeout ]
	is "$(retries | awk '$1 == "backoff" { print $2 }') < 50"
}

@test "--deadline bounds a record's attempts and waits together" {
	s="!503:ra=1 #$T"
	run_data send --retries 10 --deadline 1.5 --trace tr.jsonl <<<"$(rec "$s")"
	n=$(count "$s")
	[ "$n" -ge 1 ]
	[ "$n" -le 2 ]
	[[ "$(field .error.message)" == *deadline* ]]
	# each wait was the server's 1 s, and the one that would have passed the deadline was not taken
	[ "$(retries | sort -u)" = "retry-after 1000" ]
	[ "$(jq -r 'select(.decision == "give_up") | .reason' tr.jsonl)" = "the record's deadline would pass" ]
	# a hang with a long --timeout is still cut by the deadline
	run_data send --timeout 30 --deadline 0.5 <<<"$(rec "!hang #$T")"
	[ "$(field .error.type)" = '"timeout"' ]
	[[ "$(field .error.message)" == *"before the record's deadline (500 ms)"* ]]
}

@test "backoff: full jitter under --backoff-cap, however large --backoff-base" {
	s="!500 #$T"
	run_data send --backoff-base 30 --backoff-cap 0.2 --retries 3 --trace tr.jsonl <<<"$(rec "$s")"
	[ "$(count "$s")" = 4 ]
	# three waits, each drawn under the 200 ms cap, however large the base
	[ "$(retries | awk '$1 == "backoff" && $2 >= 0 && $2 < 200' | wc -l)" = 3 ]
	[ "$(retries | wc -l)" = 3 ]
}

@test "a record waiting to retry holds up no other: waits are timers" {
	{ rec "!429:ra=1 200 #$T-slow"; for i in 1 2 3 4 5; do rec "!200 #$T-$i"; done; } >in.jsonl
	run_ok send -c 2 --unordered --trace tr.jsonl in.jsonl
	# the slow record waited the server's 1 s on a timer, and the five others came out first
	[ "$(retries)" = "retry-after 1000" ]
	[ "$(jq -r .prompt <<<"$output" | tail -n 1)" = "!429:ra=1 200 #$T-slow" ]
	run_ok send -c 2 in.jsonl
	[ "$(jq -r .prompt <<<"$output" | head -n 1)" = "!429:ra=1 200 #$T-slow" ]
}

@test "an endpoint's own concurrency and rpm limits from the config" {
	printf '[one]\nbase_url = %s\nmodel = m\nconcurrency = 1\n[any]\nbase_url = %s\nmodel = m\n[paced]\nbase_url = %s\nmodel = m\nrpm = 600\n' "$BASE" "$BASE" "$BASE" >qa.conf
	for i in 1 2 3 4; do rec "!slow:s=0.25 #$T-$i"; done >slow.jsonl
	# what qa-send decided, from --trace: the endpoint's requests in flight as each was sent
	run_ok timeout 60 qa-send -q --cache-mode off --config qa.conf -e one -c 8 --trace tr.jsonl slow.jsonl
	[ "$(jq -s 'map(.in_flight) | [length, max]' tr.jsonl | jq -c .)" = '[4,1]' ]
	# the same records without the limit go out together under -c 8
	run_ok timeout 60 qa-send -q --cache-mode off --config qa.conf -e any -c 8 --trace tr.jsonl slow.jsonl
	[ "$(jq -s 'map(.in_flight) | max' tr.jsonl)" = 4 ]
	# 600 a minute: one every 100 ms, by the loop's own clock
	for i in 1 2 3 4 5 6; do rec "!200 #$T-p$i"; done >fast.jsonl
	run_ok timeout 60 qa-send -q --cache-mode off --config qa.conf -e paced -c 8 --trace tr.jsonl fast.jsonl
	[ "$(jq -s 'map(.sent_ms) | sort | [range(1; length) as $i | .[$i] - .[$i - 1] >= 99.999] | [length, all]' tr.jsonl | jq -c .)" = '[5,true]' ]
}

@test "--max-retries-total bounds the retries of the whole run" {
	for i in 1 2 3; do rec "!500 #$T-$i"; done >in.jsonl
	run_data send --retries 5 --max-retries-total 2 -c 1 in.jsonl
	total=0
	for i in 1 2 3; do total=$((total + $(count "!500 #$T-$i"))); done
	[ "$total" = 5 ]
	[[ "$(sed -n 3p <<<"$output" | jq -r .error.message)" == *"retry cap (--max-retries-total) is reached"* ]]
}

@test "a 200 that is not JSON, empty, or an error in disguise: bad_response or server, not retried" {
	run_data send <<<"$(rec "!garbage #$T")"
	[ "$(field '[.error.type, .error.status]')" = '["bad_response",200]' ]
	[ "$(count "!garbage #$T")" = 1 ]
	run_data send <<<"$(rec "!empty #$T")"
	[ "$(field .error.type)" = '"bad_response"' ]
	run_data send <<<"$(rec "!wrapped #$T")"
	[ "$(field '.error | [.type, .message]')" = '["server","upstream provider failed"]' ]
}

@test "after 3 auth failures in a row an endpoint gets no more requests; its records fail without one" {
	for i in 1 2 3 4 5 6; do rec "!401 #$T"; done >in.jsonl
	run_data send -c 1 in.jsonl
	[ "$(count "!401 #$T")" = 3 ]
	[ "$(jq -c '[.error.type, .error.attempts]' <<<"$output" | sort | uniq -c | tr -s ' ')" = \
		"$(printf ' 3 ["auth",0]\n 3 ["auth",1]')" ]
	[ "$(grep -c 'auth failures in a row' <<<"$stderr")" = 1 ]
	# a success in between resets the count
	printf '%s\n' "$(rec "!401 #$T-b")" "$(rec "!401 #$T-b")" "$(rec "!200 #$T-b")" "$(rec "!403 #$T-c")" "$(rec "!403 #$T-c")" >in2.jsonl
	run_data send -c 1 in2.jsonl
	[ "$(jq -r '.error.type // "ok"' <<<"$output" | tr '\n' ' ')" = 'auth auth ok auth auth ' ]
}

@test "connection refused: a network error, retried" {
	run_data timeout 60 qa-send -q --provider openai --base-url http://127.0.0.1:1/v1 --model m \
		--retries 2 --backoff-base 0.01 <<<'{"prompt":"x"}'
	[ "$(field '[.error.type, .error.attempts, .error.endpoint]')" = '["network",3,"openai"]' ]
	[[ "$(field .error.message)" == *"onnect"* ]]
}

@test "records come out in input order; --unordered writes them as they finish" {
	printf '%s\n' "$(rec "!slow:s=0.6 #$T-1")" "$(rec "!200 #$T-2")" "$(rec "!200 #$T-3")" >in.jsonl
	run_ok send in.jsonl
	[ "$(jq -r .prompt <<<"$output" | tr '\n' ' ')" = "!slow:s=0.6 #$T-1 !200 #$T-2 !200 #$T-3 " ]
	run_ok send --unordered in.jsonl
	[ "$(jq -r .prompt <<<"$output" | tail -n 1)" = "!slow:s=0.6 #$T-1" ]
	[ "${#lines[@]}" = 3 ]
}

@test "each record is written and flushed as soon as it is done, before the input ends" {
	coproc QA { timeout 30 qa-send -q --provider mock; }
	pid=$QA_PID	# bash unsets QA_PID once the coprocess is reaped
	echo '{"id":1,"prompt":"first"}' >&"${QA[1]}"
	read -r -t 20 line <&"${QA[0]}"
	[ "$(jq -r .id <<<"$line")" = 1 ]
	echo '{"id":2,"prompt":"second"}' >&"${QA[1]}"
	read -r -t 20 line <&"${QA[0]}"
	[ "$(jq -r .id <<<"$line")" = 2 ]
	exec {QA[1]}>&-
	wait "$pid"
}

@test "the window bounds memory: 5000 records through a window of 8, in order" {
	seq 5000 | awk '{ printf "{\"id\":%d,\"prompt\":\"q %d\"}\n", $1, $1 }' >in.jsonl
	timeout 60 qa-send -q --provider mock -c 2 --window 8 in.jsonl >out.jsonl
	[ "$(wc -l <out.jsonl)" = 5000 ]
	[ "$(jq -r .id out.jsonl | awk '$1 != NR' | wc -l)" = 0 ]
}

@test "a malformed line is a bad_record, blank lines are skipped, and the run goes on (exit 1)" {
	printf '%s\n' '{"prompt":"a"}' '{"prompt": ' '' '   ' '[1]' '{"prompt":"b","params":7}' '{"id":5}' '{"prompt":"c"}' >in.jsonl
	run_data timeout 60 qa-send -q --provider mock in.jsonl
	[ "${#lines[@]}" = 6 ]
	[ "$(jq -c '.error | [.type, .line]' <<<"${lines[1]}")" = '["bad_record",2]' ]
	[ "$(jq -r .error.message <<<"${lines[2]}")" = 'not a JSON object' ]
	[ "$(jq -r .error.message <<<"${lines[3]}")" = 'params is not an object' ]
	[ "$(jq -r .error.message <<<"${lines[4]}")" = 'the record has neither a prompt string nor a messages array' ]
	[ "$(jq -r .response.text <<<"${lines[5]}")" != null ]
	assert_stderr --partial 'qa-send: in.jsonl:2: '
	assert_stderr --partial 'qa-send: 4 of 6 records carry an error (4 bad_record)'
}

@test "a closed stdout ends the run quietly with status 0; a failed write is status 2" {
	seq 5000 | jq -c '{prompt: "q \(.)"}' >in.jsonl
	run bash -c 'timeout 60 qa-send -q --provider mock in.jsonl | head -n 1 >/dev/null; echo "${PIPESTATUS[0]}"'
	[ "$output" = 0 ]
	run_usage bash -c 'timeout 60 qa-send -q --provider mock in.jsonl >/dev/full'
	assert_stderr --partial 'write error'
}

@test "a huge line (an 8 MB prompt) goes through, to the mock and to a server" {
	{ printf '{"id":1,"prompt":"'; head -c 8000000 /dev/zero | tr '\0' 'a'; printf '"}\n{"id":2,"prompt":"next"}\n'; } >big.jsonl
	timeout 60 qa-send -q --provider mock big.jsonl >out.jsonl
	[ "$(wc -l <out.jsonl)" = 2 ]
	[ "$(head -n 1 out.jsonl | wc -c)" -gt 8000000 ]
	[ "$(head -n 1 out.jsonl | jq -c '[.id, .response.usage.prompt_tokens]')" = '[1,2]' ]
	[ "$(tail -n 1 out.jsonl | jq -c .id)" = 2 ]
	{ printf '{"prompt":"'; head -c 2000000 /dev/zero | tr '\0' 'b'; printf '"}\n'; } >big2.jsonl
	send big2.jsonl >out2.jsonl
	[ "$(jq '.response.text | length' out2.jsonl)" = 2000000 ]
}

@test "invalid UTF-8 in a prompt is escaped into a valid request body" {
	printf '{"prompt":"caf\xc3\xa9 \xff\xfe end"}\n' >in.jsonl
	run_ok send in.jsonl
	[ "$(field .response.text)" = '"café �� end"' ]
}

@test "endpoints from the config: records choose them, unknown ones are bad_record, a missing key is auth" {
	cat >qa.conf <<-EOF
	[main]
	provider = openai
	base_url = $BASE
	model = cfg-model
	key_env = MAIN_KEY
	[alt]
	base_url = http://127.0.0.1:$PORT/alt/v1
	model = alt-model
	key_env = MAIN_KEY
	[nokey]
	base_url = $BASE
	model = x
	key_env = UNSET_KEY_VAR
	[fake]
	provider = mock
	model = int4
	EOF
	export MAIN_KEY=sk-main-111111111111
	unset UNSET_KEY_VAR
	jq -nc --arg t "$T" '{prompt: "!200 #\($t)-1"}, {prompt: "!200 #\($t)-2", endpoint: "alt"},
		{prompt: "!200 #\($t)-3", endpoint: "nope"}, {prompt: "!200 #\($t)-4", endpoint: "nokey"},
		{prompt: "x", endpoint: "fake"}, {prompt: "!200 #\($t)-6", endpoint: "alt", model: "own"}' >in.jsonl
	run_data timeout 60 qa-send -q --config qa.conf --endpoint main in.jsonl
	[ "$(jq -c '[.response.endpoint // .error.type, .response.model // .error.message]' <<<"$output" | tr '\n' ' ')" = \
		'["main","cfg-model"] ["alt","alt-model"] ["bad_record","unknown endpoint '"'nope'"' (not in qa.conf)"] ["auth","endpoint '"'nokey'"': UNSET_KEY_VAR is not set (its key_env)"] ["fake","int4"] ["alt","own"] ' ]
	[ "$(last "!200 #$T-2" | jq -r '[.path, .headers.authorization] | join(" ")')" = "/alt/v1/chat/completions Bearer $MAIN_KEY" ]
	# $QA_CONFIG is the default config
	QA_CONFIG=qa.conf run_ok timeout 60 qa-send -q -e fake <<<'{"prompt":"y"}'
	[ "$(field .response.endpoint)" = '"fake"' ]
}

@test "OPENAI_BASE_URL stands in for --base-url, as the OpenAI SDKs use it" {
	OPENAI_BASE_URL=$BASE run_ok timeout 60 qa-send -q --model m <<<"$(rec "!200 #$T")"
	[ "$(field '[.response.endpoint, .response.text]')" = '["openai","ok"]' ]
	[ "$(count "!200 #$T")" = 1 ]
}

@test "--header adds request headers (here: scripting the server)" {
	run_ok send -H "X-Test-Script: 429:ra=0 200 #$T" <<<'{"prompt":"hello"}'
	[ "$(count "429:ra=0 200 #$T")" = 2 ]
}

@test "rate-limit headers and the request id are recorded" {
	run_ok send <<<"$(rec "!ratelimit #$T")"
	[ "$(field .response.request_id)" = '"req_test123"' ]
	[ "$(field .response.ratelimit)" = \
		'{"x-ratelimit-limit-requests":"10000","x-ratelimit-remaining-requests":"9999","x-ratelimit-reset-requests":"6ms","x-ratelimit-remaining-tokens":"149984"}' ]
}

@test "the key never shows: not in records, messages or stderr, on any failure path" {
	export OPENAI_API_KEY=sk-canary-1234567890abcdef
	export RELAY_KEY=sk-canary-1234567890abcdef
	printf '[relay]\nbase_url = %s\nmodel = m\nkey_env = RELAY_KEY\n' "$BASE" >qa.conf
	for step in echokey 401 403 quota 500 429:ra=0 reset trunc garbage empty wrapped hang; do
		rec "!$step #$T"
	done >in.jsonl
	jq -nc '{prompt: "x", endpoint: "nope"}, {prompt: "!echokey #'$T'-r", endpoint: "relay"}' >>in.jsonl
	{
		send --timeout 0.5 --retries 1 in.jsonl 2>&1
		send --config qa.conf --timeout 0.5 --retries 1 in.jsonl 2>&1
		timeout 60 qa-send --provider openai --base-url http://127.0.0.1:1/v1 --model m --retries 0 <<<'{"prompt":"x"}' 2>&1
		timeout 60 qa-send --provider openai --base-url 'not a url' --model m <<<'{"prompt":"x"}' 2>&1
		timeout 60 qa-send --endpoint nowhere <<<'{"prompt":"x"}' 2>&1
		timeout 60 qa-send --provider openai --key-env NOPE_UNSET --model m <<<'{"prompt":"x"}' 2>&1
	} >all.txt || true
	grep -q '"type":"auth"' all.txt
	grep -q '\[redacted\]' all.txt
	run ! grep -q 'canary' all.txt
}

@test "configuration errors exit 2 before anything is sent" {
	run_usage qa-send </dev/null
	assert_stderr 'qa-send: no endpoint: give --endpoint NAME, --provider NAME, or set OPENAI_BASE_URL (try --provider mock)'
	run_usage qa-send --provider nosuch </dev/null
	assert_stderr --partial "no provider named 'nosuch'"
	run_usage qa-send --endpoint nowhere </dev/null
	assert_stderr --partial "unknown endpoint 'nowhere'"
	run_usage qa-send --provider openai --key-env NOPE_UNSET </dev/null
	assert_stderr --partial 'NOPE_UNSET is not set'
	run_usage qa-send --provider openai --base-url ftp://x/v1 </dev/null
	assert_stderr --partial 'is not http:// or https://'
	run_usage qa-send --provider mock -c 0 </dev/null
	assert_stderr --partial -- '--concurrency'
	run_usage qa-send --provider mock --timeout abc </dev/null
	run_usage qa-send --provider mock -p novalue </dev/null
	run_usage qa-send --provider mock --config /nonexistent.conf </dev/null
	run_usage qa-send --provider mock no-such-file.jsonl
	run_usage qa-send --bogus </dev/null
}

@test "--help prints the usage on stdout; --version" {
	run_ok qa-send --help
	[[ "$output" == "usage: qa-send "* ]]
	run_ok qa-send --version
	[[ "$output" == "qa-send "* ]]
}

@test "the progress line appears only on a terminal, and --quiet turns it off" {
	seq 50 | jq -c '{prompt: "q \(.)"}' >in.jsonl
	run_ok qa-send --provider mock in.jsonl
	[ -z "$stderr" ]
	run script -qec "qa-send --provider mock in.jsonl 2>&1 >/dev/null" /dev/null
	[[ "$output" == *"done"* ]]
	run script -qec "qa-send -q --provider mock in.jsonl 2>&1 >/dev/null" /dev/null
	[[ "$output" != *"done"* ]]
}

# ---- the mock provider ----

battery() {
	jq -nc 'range(0; 400) as $i | ($i % 4) as $k
		| if $k == 0 then {task: "mc", prompt: "Q\($i) pick", expected: ("ABCD"[$i % 4:$i % 4 + 1]), metric: "choice"}
		elif $k == 1 then {task: "gsm", prompt: "P\($i) compute", expected: "so \($i * 3)\n#### \($i * 3)", metric: "numeric"}
		elif $k == 2 then {task: "trivia", prompt: "T\($i) name", expected: "word\($i)", metric: "exact_match"}
		else {task: "squad", prompt: "S\($i) find", expected: ["the long river \($i)"], metrics: ["squad_em", "squad_f1"]} end
		| .id = $i'
}

@test "mock: deterministic per model, prompt and seed" {
	battery >in.jsonl
	qa-send -q --provider mock --model int4 in.jsonl >a.jsonl
	qa-send -q --provider mock --model int4 -c 3 in.jsonl >b.jsonl
	cmp a.jsonl b.jsonl
	qa-send -q --provider mock --model int4 -p seed=2 in.jsonl >c.jsonl
	run ! cmp -s a.jsonl c.jsonl
}

@test "mock: mock_accuracy 1 is right and 0 is wrong under every scorer" {
	battery >in.jsonl
	run_ok bash -c 'qa-send -q --provider mock --model int4 -p mock_accuracy=1 in.jsonl | qa-score | jq -c "[.scores[]] | min"'
	[ "$(sort -u <<<"$output")" = 1 ]
	run_ok bash -c 'qa-send -q --provider mock -p mock_accuracy=0 in.jsonl | qa-score | jq -c "[.scores[]] | max"'
	[ "$(sort -u <<<"$output" | awk '$1 >= 0.99' | wc -l)" = 0 ]
}

@test "mock: baseline beats int8 beats int4, and int4 is right mostly where baseline is" {
	battery >in.jsonl
	for m in baseline int8 int4; do
		qa-send -q --provider mock --model $m in.jsonl | qa-score | jq -c '.scores | to_entries[0].value' >$m.txt
	done
	acc() { awk '{ s += $1 } END { printf "%.3f", s / NR }' "$1"; }
	echo "baseline $(acc baseline.txt) int8 $(acc int8.txt) int4 $(acc int4.txt)"
	is "$(acc baseline.txt) > 0.78 && $(acc baseline.txt) < 0.93"
	is "$(acc int4.txt) > 0.66 && $(acc int4.txt) < $(acc int8.txt) && $(acc int8.txt) <= $(acc baseline.txt) + 0.01"
	# flips, both ways: baseline right and int4 wrong far outnumber the reverse
	lost=$(paste baseline.txt int4.txt | awk '$1 == 1 && $2 == 0' | wc -l)
	won=$(paste baseline.txt int4.txt | awk '$1 == 0 && $2 == 1' | wc -l)
	[ "$lost" -gt $((2 * won)) ]
	[ "$won" -gt 0 ]
}

@test "mock: latency is simulated without waiting, unless mock_wait; waits run concurrently" {
	seq 20 | jq -c '{prompt: "q \(.)"}' >in.jsonl
	# --trace says when each record was sent and answered, by qa-send's own clock
	run_ok timeout 60 qa-send -q --provider mock --trace tr.jsonl in.jsonl
	[ "$(jq -s 'map(.response.latency_ms) | add / length > 150' <<<"$output")" = true ]
	[ "$(jq -s 'map(select(.decision == "answer" and .at_ms == .sent_ms)) | length' tr.jsonl)" = 20 ]
	run_ok timeout 60 qa-send -q --provider mock -c 20 -p mock_wait=true -p mock_latency_ms=300 --trace tr.jsonl in.jsonl
	# each answer waited its simulated latency on a timer, and the 20 waits overlapped
	jq -s 'map(.response.latency_ms)' <<<"$output" >lat.json
	[ "$(jq -s --slurpfile lat lat.json 'sort_by(.line) | [range(length) as $i | .[$i].at_ms - .[$i].sent_ms >= $lat[0][$i] - 0.001] | [length, all]' tr.jsonl | jq -c .)" = '[20,true]' ]
	[ "$(jq -s 'map(.in_flight) | max' tr.jsonl)" = 20 ]
	[ "$(jq -s '(map(.sent_ms) | max) < (map(.at_ms) | min)' tr.jsonl)" = true ]
	# and a wait past --timeout is a timeout
	run_data timeout 60 qa-send -q --provider mock --timeout 0.05 --retries 0 -p mock_wait=true -p mock_latency_ms=300 <<<'{"prompt":"x"}'
	[ "$(field .error.type)" = '"timeout"' ]
}

@test "mock: echoed logprobs, first null; int4's perplexity stays close to baseline's" {
	jq -nc '{prompt: "the cat sat on the mat and looked at the dog for a long time", params: {echo: true, logprobs: 2, max_tokens: 0}}' >in.jsonl
	for m in baseline int4; do
		run_ok qa-send -q --provider mock --model $m in.jsonl
		[ "$(field '.response | [.text, .finish_reason, .logprobs.token_logprobs[0], (.logprobs.tokens | length), .logprobs.tokens[1]]')" = \
			'["the cat sat on the mat and looked at the dog for a long time","length",null,15," cat"]' ]
		field '[.response.logprobs.token_logprobs[1:][]] | (add / length) | -. | exp' >$m.ppl
		[ "$(field '[.response.logprobs.top_logprobs[1:][] | length] | min >= 2')" = true ]
	done
	r=$(awk -v a="$(cat int4.ppl)" -v b="$(cat baseline.ppl)" 'BEGIN { print a / b }')
	is "$r > 0.9 && $r < 1.2"
}

@test "mock: max_tokens cuts the answer (finish_reason length); usage counts the words" {
	run_ok timeout 60 qa-send -q --provider mock -p max_tokens=3 <<<'{"prompt":"one two three four five six seven eight nine ten","expected":"#### 5","metric":"numeric"}'
	[ "$(field '.response | [.text, .finish_reason, .usage.prompt_tokens, .usage.completion_tokens]')" = \
		'["Working through","length",13,3]' ]
}

@test "mock: mock_status simulates an error status" {
	run_data timeout 60 qa-send -q --provider mock -p mock_status=503 --retries 1 --backoff-base 0.01 <<<'{"prompt":"x"}'
	[ "$(field '.error | [.type, .status, .attempts, .message]')" = '["server",503,2,"mock: simulated HTTP 503 (retries exhausted after 2 attempts)"]' ]
}
