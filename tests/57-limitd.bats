#!/usr/bin/env bats
# tests/server/qa-limitd, the rate-limiting server that issue 21's pacing is
# tested and benchmarked against: it must refuse exactly what its buckets
# do not hold, say so in OpenAI's headers (or not at all), and count.
# A "minute" of an hour keeps refills out of the counts: no clock is asserted.

load test_helper

start_limitd() { start_server L qa-limitd "$@"; }

teardown() { stop_server L; }

# ask PROMPT MAX_TOKENS: the status line, the x-ratelimit and retry headers, the body
ask() {
	curl -s -i -X POST -H 'Content-Type: application/json' \
		-d "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"$1\"}],\"max_tokens\":$2}" \
		"http://127.0.0.1:$PORT/v1/chat/completions" | tr -d '\r'
}

@test "qa-limitd: the request bucket refuses the request it does not hold, with Retry-After and headers" {
	start_limitd --rpm 3 --tpm 100000 --minute 3600
	for i in 1 2 3; do
		run ask hi 1
		[[ ${lines[0]} == "HTTP/1.1 200 OK" ]]
		[[ $output == *"x-ratelimit-limit-requests: 3"* ]]
		[[ $output == *"x-ratelimit-remaining-requests: $((3 - i))"* ]]
		[[ $output == *'"prompt_tokens": 1'* ]]
	done
	run ask hi 1
	[[ ${lines[0]} == "HTTP/1.1 429 Too Many Requests" ]]
	[[ $output == *"Retry-After: "* ]]
	[[ $output == *"retry-after-ms: "* ]]
	[[ $output == *rate_limit_exceeded* ]]
	run curl -s "http://127.0.0.1:$PORT/_count"
	[ "$output" = '{"total": 4, "ok": 3, "429": 1, "quota": 0}' ]
}

@test "qa-limitd: tokens are charged on arrival as prompt (a token per 3 bytes) plus max_tokens" {
	start_limitd --rpm 1000 --tpm 100 --minute 3600
	run ask 123456789012345678901234567890 40	# 10 + 40
	[[ ${lines[0]} == "HTTP/1.1 200 OK" ]]
	[[ $output == *"x-ratelimit-remaining-tokens: 50"* ]]
	[[ $output == *'"prompt_tokens": 10'* ]]
	run ask 123456789012345678901234567890 40
	[[ $output == *"x-ratelimit-remaining-tokens: 0"* ]]
	run ask 123 0				# 1 token: refused, nothing charged
	[[ ${lines[0]} == "HTTP/1.1 429 Too Many Requests" ]]
	run curl -s "http://127.0.0.1:$PORT/_log"
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[0]} == *'"tokens": 50, "status": 200'* ]]
	[[ ${lines[2]} == *'"tokens": 1, "status": 429'* ]]
}

@test "qa-limitd: --headers none still refuses, without a word of its limits" {
	start_limitd --rpm 1 --headers none --minute 3600
	run ask hi 1
	[[ ${lines[0]} == "HTTP/1.1 200 OK" ]]
	[[ $output != *x-ratelimit* ]]
	run ask hi 1
	[[ ${lines[0]} == "HTTP/1.1 429 Too Many Requests" ]]
	[[ $output != *x-ratelimit* ]]
	[[ $output == *"Retry-After: "* ]]
}

@test "qa-limitd: --quota-after N answers insufficient_quota from the N+1-th request on" {
	start_limitd --rpm 100 --quota-after 1 --minute 3600
	run ask hi 1
	[[ ${lines[0]} == "HTTP/1.1 200 OK" ]]
	run ask hi 1
	[[ ${lines[0]} == "HTTP/1.1 429 Too Many Requests" ]]
	[[ $output == *insufficient_quota* ]]
	run curl -s "http://127.0.0.1:$PORT/_count"
	[ "$output" = '{"total": 2, "ok": 1, "429": 0, "quota": 1}' ]
	run curl -s -X POST "http://127.0.0.1:$PORT/_reset"
	run curl -s "http://127.0.0.1:$PORT/_count"
	[ "$output" = '{"total": 0, "ok": 0, "429": 0, "quota": 0}' ]
}

@test "qa-limitd: a bad option is a usage error" {
	run "$BATS_TEST_DIRNAME/server/qa-limitd" --headers anthropic
	[ "$status" -eq 1 ]
	[[ $output == *"bad --headers"* ]]
}

@test "bench/plot-conc.py: one curve of requests in flight, one red tick per 429" {
	start_limitd --rpm 2 --delay 0 --minute 3600
	for i in 1 2 3 4 5; do ask hi 1 >/dev/null; done
	curl -s "http://127.0.0.1:$PORT/_log" >"$BATS_TEST_TMPDIR/log"
	run /usr/bin/python3 "$BATS_TEST_DIRNAME/../bench/plot-conc.py" --delay 20 --title 'a <test>' "$BATS_TEST_TMPDIR/log"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == '<svg '* ]]
	[[ $output == *'a &lt;test>'* ]]
	[ "$(grep -c '<polyline' <<<"$output")" -eq 1 ]
	[ "$(grep -c 'stroke="#c0392b"' <<<"$output")" -eq 3 ]
	[[ ${lines[-1]} == '</svg>' ]]
	: >"$BATS_TEST_TMPDIR/empty"
	run /usr/bin/python3 "$BATS_TEST_DIRNAME/../bench/plot-conc.py" "$BATS_TEST_TMPDIR/empty"
	[ "$status" -eq 1 ]
	[[ $output == *"no requests"* ]]
}
