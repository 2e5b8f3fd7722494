#!/usr/bin/env bats
# qa-send against what a hostile or broken server and a hostile world do
# (issue 14): JSON that only a lenient reader takes, requests libcurl
# resends on its own, secrets quoted back, signals, too few descriptors.

load testd

setup_file() {
	start_testd S
}

teardown_file() {
	stop_testd S
}

teardown() {
	# the signal tests' own servers, and their qa-send, even when a check failed half-way
	[ -z "${pid:-}" ] || kill "$pid" 2>/dev/null || true
	local n
	for n in H1 H2; do
		stop_testd "$n"
	done
}

setup() {
	testd_env g
}

count() { testd_count S "$1"; }
send() {
	timeout 60 qa-send -q --provider openai --base-url "$BASE" --model m --seed 7 \
		--backoff-base 0.01 --backoff-cap 0.05 "$@"
}
# Every line of a file is one strict JSON object (Python's json: no raw
# control characters in strings), and the file is valid UTF-8.
strict_lines() {
	python3 -c '
import json, sys
data = open(sys.argv[1], "rb").read()
text = data.decode("utf-8")  # raises on invalid UTF-8
for n, line in enumerate(text.split("\n")[:-1], 1):
    if not isinstance(json.loads(line), dict):
        sys.exit("line %d is not an object" % n)
print(len(text.split("\n")) - 1)
' "$1"
}

@test "raw newlines, control bytes and bad UTF-8 in usage and logprobs: one strict JSON line per record" {
	for i in 1 2; do rec "!dirty #$T-$i"; done >in.jsonl
	run_ok send -p logprobs=1 in.jsonl
	printf '%s\n' "$output" >out.jsonl
	[ "$(strict_lines out.jsonl)" = 2 ]
	[ "$(jq -rs '.[0].response.usage.note' out.jsonl | od -An -c | tr -s ' ')" = \
		"$(printf 'a\nb\001\033[0m\357\277\275\357\277\275z\n' | od -An -c | tr -s ' ')" ]
	[ "$(jq -c '.response | [.text, .usage.completion_tokens, (.logprobs.tokens | length)]' out.jsonl | head -n 1)" = \
		"[\"!dirty #$T-1\",1,1]" ]
	# the completions provider copies logprobs as they come
	rec "!dirty #$T-c" >c.jsonl
	run_ok send --provider openai-completions -p logprobs=1 c.jsonl
	printf '%s\n' "$output" >outc.jsonl
	[ "$(strict_lines outc.jsonl)" = 1 ]
	[ "$(jq -r '.response.logprobs.tokens[0]' outc.jsonl | od -An -c | tr -s ' ')" = \
		"$(printf 'a\nb\001\033[0m\357\277\275\357\277\275z\n' | od -An -c | tr -s ' ')" ]
}

@test "a record's own raw control characters and bad UTF-8 come out escaped" {
	printf '{"prompt":"!200 #%s","note":"a\tb\001\377"}\n' "$T" >in.jsonl
	run_ok send in.jsonl
	printf '%s\n' "$output" >out.jsonl
	[ "$(strict_lines out.jsonl)" = 1 ]
	[ "$(jq -c .note out.jsonl)" = '"a\tb\u0001�"' ]
}

@test "a NUL (\\u0000) in an answer does not cut response.text" {
	run_ok send <<<"$(rec "!nul #$T")"
	[ "$(jq -c .response.text <<<"$output")" = '"a\u0000b"' ]
}

@test "libcurl's silent resend on a reset keep-alive connection is counted, and held to -r" {
	# The first record leaves a kept-alive connection; the second's first
	# request on it is reset, and libcurl sends it again on a new one.
	{ rec "!200 #$T-a"; rec "!reset 200 #$T-b"; } >in.jsonl
	run_ok send -c 1 --trace tr.jsonl in.jsonl
	[ "$(count "!reset 200 #$T-b")" = 2 ]
	[ "$(sed -n 2p <<<"$output" | jq -c '.response | [.attempts, .text]')" = "[2,\"ok\"]" ]
	[ "$(jq -r 'select(.line == 2) | .decision' tr.jsonl | tr '\n' ' ')" = 'resend answer ' ]
	# With -r 0 the resend would be a second request: it is not sent.
	{ rec "!200 #$T-c"; rec "!reset 200 #$T-d"; } >in2.jsonl
	run_data send -c 1 -r 0 in2.jsonl
	[ "$(count "!reset 200 #$T-d")" = 1 ]
	[ "$(sed -n 2p <<<"$output" | jq -c '.error | [.type, .attempts]')" = '["network",1]' ]
}

@test "secrets are scrubbed from every message: key variables, credential headers, URL userinfo, any case" {
	export OPENAI_API_KEY=sk-Canary-Key-0123456789
	key2=AzureCanary9876543210
	relay=relay-Canary-5555aaaa
	b=${BASE/http:\/\//http://user:Pass-Canary-777@}
	for step in echokey 401 500 reset; do rec "!$step #$T"; done >in.jsonl
	run --separate-stderr timeout 60 qa-send -q --provider openai --base-url "$b" --model m --retries 1 \
		--backoff-base 0.01 --backoff-cap 0.02 -H "api-key: $key2" -H "X-Relay: $relay" \
		-H "X-Test-Script: echokey #$T" in.jsonl
	[ "$status" = 1 ]
	[ "$(jq -r .error.message <<<"$output" | head -n 1)" = \
		'Incorrect API key provided: Bearer [redacted]. You can find your API key at https://example.invalid.' ]
	# The server quotes the header back in lower case, the key upper: still scrubbed.
	run --separate-stderr timeout 60 qa-send -q --provider openai --base-url "$BASE" --model m -r 0 \
		-H "api-key: $key2" -H "X-Relay: $relay" \
		-H "X-Test-Script: 401:msg=${key2,,}/${relay^^}/${OPENAI_API_KEY^^} #$T" <<<'{"prompt":"x"}'
	[ "$status" = 1 ]
	[ "$(jq -r .error.message <<<"$output")" = '[redacted]/[redacted]/[redacted]' ]
	# A URL's userinfo in a configuration error.
	run --separate-stderr timeout 60 qa-send -q --provider openai --base-url "ftp://u:Pass-Canary-777@h/v1" <<<'{}'
	[ "$status" = 2 ]
	[[ "$stderr" == *"[redacted]"* ]]
	[[ "$stderr$output" != *Canary* ]] && [[ "$stderr$output" != *canary* ]] && [[ "$stderr$output" != *CANARY* ]]
}

@test "the retry budget grows with the run: late faults still get their retries; the end says what was spent" {
	# The faults come last, after 80 clean records: a fixed budget of 20 would be spent.
	{ for i in $(seq 1 80); do rec "!200 #$T-$i"; done
	  for i in $(seq 81 100); do rec "!500 500 200 #$T-$i"; done; } >in.jsonl
	run_ok send -c 4 in.jsonl
	[ "$(jq -r .response.attempts <<<"$output" | sort | uniq -c | tr -s ' ' | tr '\n' ' ')" = ' 80 1  20 3 ' ]
	assert_stderr 'qa-send: 40 retries of a budget of 70 (20 + 0.5 per record read)'
}

@test "an endpoint that fails everything spends no more than the budget" {
	for i in $(seq 1 40); do rec "!500 #$T-$i"; done >in.jsonl
	run_data send -c 1 --retries 5 --retry-budget 0.25 in.jsonl
	total=0
	for i in $(seq 1 40); do total=$((total + $(count "!500 #$T-$i"))); done
	# 40 first attempts, and retries up to 20 + 0.25 per record read
	[ "$total" = 70 ]
	assert_stderr --partial 'qa-send: 30 retries of a budget of 30 (20 + 0.25 per record read); the budget refused some'
	[ "$(jq -r .error.message <<<"$output" | grep -c 'retry budget (--retry-budget) is spent')" -ge 1 ]
}

@test "-c past the open-file limit: the soft limit is raised to the hard one, else refused (exit 2)" {
	seq 50 | jq -c '{prompt: "q \(.)"}' >in.jsonl
	run_ok bash -c 'ulimit -Sn 64 && ulimit -Hn 4096 && qa-send -q --provider mock -c 200 in.jsonl | wc -l'
	[ "$output" = 50 ]
	run_usage bash -c 'ulimit -n 64 && qa-send -q --provider mock -c 200 in.jsonl'
	assert_stderr 'qa-send: -c 200 needs 232 open files, over the limit of 64 (hard limit 64); lower -c or raise the limit (ulimit -n)'
	[ "$output" = "" ]
}

# qa-send in the background on records that the server holds, once the
# server holds $held of them; the trace, a FIFO, says when the signal has
# been taken.  Every wait is bounded: a qa-send that fails must not hang
# the suite.  timeout passes the signals on.
start_held() {
	mkfifo tr.fifo
	exec {trfd}<>tr.fifo
	timeout --foreground 60 qa-send -q --provider openai --base-url "$BASE" --model m -c 3 --window 3 --trace tr.fifo \
		"$@" in.jsonl >out.jsonl 2>err.txt &
	pid=$!
	local fd line
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'GET /_wait?held=%s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' "$held" >&"$fd"
	read -r -t 30 line <&"$fd"
	exec {fd}>&-
	[[ "$line" == "HTTP/1.1 200"* ]]
}

@test "SIGTERM: nothing more admitted, requests in flight get the grace, every admitted record written" {
	held=3
	for i in $(seq 1 10); do rec "!hold #$T-$i"; done >in.jsonl
	start_held --grace 60
	kill -TERM "$pid"
	read -r -t 30 line <&"$trfd" || true
	[ "$(jq -r '[.decision, .in_flight] | @tsv' <<<"$line")" = "stop	3" ]
	printf 'POST /_release HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' |
		{ exec 9<>"/dev/tcp/127.0.0.1/$PORT"; cat >&9; cat <&9 >/dev/null; }
	st=0
	wait "$pid" || st=$?
	[ "$st" = 1 ]
	[ "$(jq -r .response.text out.jsonl | tr '\n' ' ')" = "!hold #$T-1 !hold #$T-2 !hold #$T-3 " ]
	grep -q '^qa-send: Terminated: stopped admitting records; 7 input records were never admitted$' err.txt
}

@test "SIGINT with --grace 0, or a second signal: unfinished records are interrupted, in order, whole" {
	# S answers held requests at once since the test before released them: a server of its own
	start_testd H1
	held=3
	for i in $(seq 1 10); do rec "!hold #$T-$i"; done >in.jsonl
	start_held --grace 0
	kill -INT "$pid"
	st=0
	wait "$pid" || st=$?
	stop_testd H1
	[ "$st" = 1 ]
	[ "$(jq -c '[.prompt, .error.type, .error.attempts]' out.jsonl | tr '\n' ' ')" = \
		"[\"!hold #$T-1\",\"interrupted\",1] [\"!hold #$T-2\",\"interrupted\",1] [\"!hold #$T-3\",\"interrupted\",1] " ]
	grep -q 'Interrupt: stopped admitting records; 7 input records were never admitted' err.txt
	# a second signal ends the grace at once
	rm tr.fifo
	start_testd H2
	start_held --grace 600
	kill -HUP "$pid"
	read -r -t 30 line <&"$trfd" || true
	kill -HUP "$pid"
	st=0
	wait "$pid" || st=$?
	stop_testd H2
	[ "$st" = 1 ]
	[ "$(jq -r .error.type out.jsonl | tr '\n' ' ')" = "interrupted interrupted interrupted " ]
	grep -q 'Hangup: stopped admitting records; 7 input records were never admitted' err.txt
}

@test "TLS to a plain HTTP port names the TLS failure, not a missing answer" {
	run_data timeout 60 qa-send -q --provider openai --base-url "https://127.0.0.1:$PORT/v1" --model m -r 0 \
		--connect-timeout 0.5 <<<'{"prompt":"x"}'
	[[ "$(jq -r .error.message <<<"$output")" == "the TLS handshake "*"is the port speaking TLS?"* ]]
}

@test "a valid record that cannot make a request: the error names the file and line" {
	printf '%s\n' '{"prompt":"!200 #'$T'"}' '{"id":7}' >in.jsonl
	run_data send in.jsonl
	[ "$(sed -n 2p <<<"$output" | jq -c '.error | [.type, .file, .line]')" = '["bad_record","in.jsonl",2]' ]
	assert_stderr --partial 'qa-send: in.jsonl:2: the record has neither a prompt string nor a messages array'
}
