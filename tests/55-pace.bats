#!/usr/bin/env bats
# qa-send's rate-limit pacing (issue 21) against tests/server/qa-limitd.
# Every check reads what qa-send decided (its --trace "pace" lines: the
# planned send, the budget it believed left, the charge) or what the server
# counted, never how long anything took.  A "minute" of 6 s
# (qa-limitd --minute, QA_SEND_MINUTE) keeps each run to a few seconds.

load test_helper

start_limitd() { start_server L qa-limitd "$@"; }

teardown() { stop_server L; }

# records N: N prompts of mixed size (10 to 250 bytes), max_tokens 0 to 80
records() {
	local i
	for ((i = 1; i <= $1; i++)); do
		printf '{"id":%d,"prompt":"%s","params":{"max_tokens":%d}}\n' "$i" \
			"$(printf '%*s' $((i % 7 * 40 + 10)) '' | tr ' ' a)" $((i % 5 * 20))
	done
}

send() {
	QA_SEND_MINUTE=${MINUTE:-6} OPENAI_API_KEY=k run --separate-stderr qa-send --provider openai \
		--base-url "$BASE" --model m --cache-mode off --trace "$BATS_TEST_TMPDIR/trace" "$@" \
		<"$BATS_TEST_TMPDIR/in"
}

count() { curl -s "http://127.0.0.1:$PORT/_count" | jq -r ".[\"$1\"]"; }

@test "pace: with headers, no send is planned into a budget that cannot hold it, and at most 1% are answered 429" {
	start_limitd --rpm 1200 --tpm 6000 --minute 6
	records 200 >"$BATS_TEST_TMPDIR/in"
	send -c 8
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.error)' <<<"$output" | wc -l)" -eq 0 ]
	[ "$(wc -l <<<"$output")" -eq 200 ]
	# the token bucket (6,000 a minute of a battery of about 17,000 tokens) made it wait
	[ "$(jq -c 'select(.decision == "pace" and .reason == "tokens")' "$BATS_TEST_TMPDIR/trace" | wc -l)" -gt 0 ]
	# the 6000 believed came from the headers, not from an option
	[ "$(jq -c 'select(.decision == "pace" and .tpm != 6000)' "$BATS_TEST_TMPDIR/trace" | wc -l)" -eq 0 ]
	[ "$(jq -c 'select(.decision == "pace" and .tok_left < .charge_tokens - 0.001)' "$BATS_TEST_TMPDIR/trace" | wc -l)" -eq 0 ]
	total=$(count total) r429=$(count 429)
	[ "$total" -ge 200 ]
	[ $((r429 * 100)) -le "$total" ]
}

@test "pace: without headers, -c auto learns a rate from the 429s; few are answered 429 and every record arrives" {
	start_limitd --rpm 1200 --tpm 6000 --minute 6 --headers none
	records 200 >"$BATS_TEST_TMPDIR/in"
	printf '[l]\nprovider = openai\nbase_url = http://127.0.0.1:%s/v1\nmodel = m\nkey_env = OPENAI_API_KEY\nconcurrency = 4\n' \
		"$PORT" >"$BATS_TEST_TMPDIR/conf"
	send --config "$BATS_TEST_TMPDIR/conf" --endpoint l -c auto
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.error)' <<<"$output" | wc -l)" -eq 0 ]
	[ "$(wc -l <<<"$output")" -eq 200 ]
	[ "$(jq -c 'select(.decision == "pace" and .reason == "learned")' "$BATS_TEST_TMPDIR/trace" | wc -l)" -gt 0 ]
	total=$(count total) r429=$(count 429)
	[ "$r429" -gt 0 ]	# it had to be taught
	# How many 429s it takes to learn depends on how fast this machine
	# answers (ASan, load): 3% is the benchmark's target (bench/ratelimit.sh,
	# 0.8% to 2.9% measured); here a bound that an endpoint hammered without a
	# learned rate does not meet.
	[ $((r429 * 100)) -le $((total * 10)) ]
}

@test "pace: --rpm alone, no headers: no record before the 11th of 10 a minute waits; it waits for one request" {
	start_limitd --headers none --minute 3600
	records 14 >"$BATS_TEST_TMPDIR/in"
	MINUTE=2 send -c 4 --rpm 10
	[ "$status" -eq 0 ]
	[ "$(count 429)" -eq 0 ]
	first=$(jq -c 'select(.decision == "pace")' "$BATS_TEST_TMPDIR/trace" | head -1)
	[ "$(jq -r .reason <<<"$first")" = requests ]
	# the bucket starts full: ten go at once (a slow machine may refill more)
	[ "$(jq -r .line <<<"$first")" -ge 11 ]
	[ "$(jq -r .rpm <<<"$first")" -eq 10 ]
	# planned for when one request's worth has refilled: at most 200 ms at 10 a 2-s minute
	jq -e '.req_left >= 0.999 and .req_left < 1.01 and .wait_ms > 0 and .wait_ms <= 200.001' <<<"$first"
}

@test "pace: --tpm alone, no headers: the first send the tokens cannot cover waits for exactly its charge" {
	start_limitd --headers none --minute 3600
	records 30 >"$BATS_TEST_TMPDIR/in"
	send -c 2 --tpm 1000
	[ "$status" -eq 0 ]
	[ "$(count 429)" -eq 0 ]
	first=$(jq -c 'select(.decision == "pace")' "$BATS_TEST_TMPDIR/trace" | head -1)
	[ "$(jq -r .reason <<<"$first")" = tokens ]
	[ "$(jq -r .tpm <<<"$first")" -eq 1000 ]
	# a send is planned when the bucket holds its charge, not sooner and not later
	jq -e '(.tok_left - .charge_tokens) | fabs < 0.01' <<<"$first"
	# and at 1000 tokens a 6-s minute the wait is the shortfall over the rate: at most its charge's worth
	jq -e '.wait_ms > 0 and .wait_ms <= .charge_tokens * 6000 / 1000 + 0.001' <<<"$first"
}

@test "pace: a quota stops the endpoint: one stderr line, every later record a quota error, no more requests" {
	start_limitd --rpm 1200 --quota-after 5 --minute 6
	records 40 >"$BATS_TEST_TMPDIR/in"
	send -c 2
	[ "$status" -eq 1 ]
	[ "$(wc -l <<<"$output")" -eq 40 ]
	[ "$(grep -c 'out of quota' <<<"$stderr")" -eq 1 ]
	[[ $stderr == *'endpoint openai: out of quota for the rest of this run; its records get "quota" errors'* ]]
	[ "$(jq -c 'select(.error == null)' <<<"$output" | wc -l)" -eq 5 ]
	[ "$(jq -c 'select(.error.type == "quota")' <<<"$output" | wc -l)" -eq 35 ]
	# only requests in flight when the first quota answer came, or sent in
	# the turn that read it (slots are refilled before answers are read),
	# reached the server: at most two per slot
	[ "$(count total)" -le 9 ]
	[ "$(count quota)" -le 4 ]
}

@test "pace: a quota goes to the record's fallback" {
	start_limitd --rpm 1200 --quota-after 2 --minute 6
	cat >"$BATS_TEST_TMPDIR/conf" <<-EOF
	[limited]
	provider = openai
	base_url = $BASE
	model = m
	key_env = OPENAI_API_KEY
	[spare]
	provider = mock
	EOF
	records 6 >"$BATS_TEST_TMPDIR/in"
	send --config "$BATS_TEST_TMPDIR/conf" --endpoint limited --fallback spare -c 1
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.error)' <<<"$output" | wc -l)" -eq 0 ]
	[ "$(grep -c 'out of quota' <<<"$stderr")" -eq 1 ]
	# two answered, then the quota answer; qa-send refills a slot before it
	# reads the answers just in, so one more request may have been on its way
	[ "$(count ok)" -eq 2 ]
	[ "$(count total)" -le 4 ]
	[ "$(jq -c 'select(.response.endpoint == "spare")' <<<"$output" | wc -l)" -eq 4 ]
}

@test "pace: -c 3 stays 3; -c auto never passes the config's concurrency" {
	start_limitd --rpm 1200 --tpm 3000 --minute 6
	records 60 >"$BATS_TEST_TMPDIR/in"
	send -c 3
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.decision == "pace")' "$BATS_TEST_TMPDIR/trace" | wc -l)" -gt 0 ]
	[ "$(jq -c 'select(.decision == "pace" and .concurrency != 3)' "$BATS_TEST_TMPDIR/trace" | wc -l)" -eq 0 ]
	curl -s -X POST "http://127.0.0.1:$PORT/_reset" >/dev/null
	cat >"$BATS_TEST_TMPDIR/conf" <<-EOF
	[limited]
	provider = openai
	base_url = $BASE
	model = m
	key_env = OPENAI_API_KEY
	concurrency = 6
	tpm = 3000
	EOF
	send --config "$BATS_TEST_TMPDIR/conf" --endpoint limited -c auto
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.decision == "pace")' "$BATS_TEST_TMPDIR/trace" | wc -l)" -gt 0 ]
	[ "$(jq -c 'select(.decision == "pace" and (.concurrency < 1 or .concurrency > 6))' "$BATS_TEST_TMPDIR/trace" | wc -l)" -eq 0 ]
	[ "$(jq -c 'select(.decision == "pace" and .tpm != 3000)' "$BATS_TEST_TMPDIR/trace" | wc -l)" -eq 0 ]
}

@test "pace: --rpm, --tpm and a config's tpm are range-checked" {
	run_usage qa-send --provider mock --rpm 0
	[[ $stderr == *rpm* ]]
	run_usage qa-send --provider mock --tpm x
	[[ $stderr == *tpm* ]]
	printf '[e]\nprovider = mock\ntpm = -3\n' >"$BATS_TEST_TMPDIR/conf"
	run_usage qa-send --config "$BATS_TEST_TMPDIR/conf" --endpoint e
	[[ $stderr == *"tpm must be a whole number"* ]]
}

@test "pace: without -c an HTTP endpoint is -c auto, from 4 (or its config's concurrency); -c N fixes N" {
	start_limitd --headers none --minute 3600
	records 3 >"$BATS_TEST_TMPDIR/in"
	# one request a 0.3-s minute: the second record waits, decided before any answer came
	MINUTE=0.3 send --rpm 1
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.decision == "pace" and .line == 2) | .concurrency' "$BATS_TEST_TMPDIR/trace")" = 4 ]
	MINUTE=0.3 send --rpm 1 -c 7
	[ "$(jq -c 'select(.decision == "pace" and .line == 2) | .concurrency' "$BATS_TEST_TMPDIR/trace")" = 7 ]
	printf '[l]\nprovider = openai\nbase_url = http://127.0.0.1:%s/v1\nmodel = m\nkey_env = OPENAI_API_KEY\nconcurrency = 2\n' \
		"$PORT" >"$BATS_TEST_TMPDIR/conf"
	MINUTE=0.3 send --config "$BATS_TEST_TMPDIR/conf" --endpoint l --rpm 1
	[ "$(jq -c 'select(.decision == "pace" and .line == 2) | .concurrency' "$BATS_TEST_TMPDIR/trace")" = 2 ]
	[ "$(count total)" -eq 9 ]
}

@test "pace: the open-file check counts the most -c auto may reach; a run that reaches only the mock keeps 16" {
	cd "$BATS_TEST_TMPDIR"
	export HOME=$BATS_TEST_TMPDIR	# no user config: its endpoints would count
	seq 20 | jq -c '{prompt: "q \(.)"}' >in.jsonl
	# the mock alone: 16 + 32 files fit under 64
	run_ok bash -c 'ulimit -n 64 && qa-send -q --provider mock in.jsonl | wc -l'
	[ "$output" = 20 ]
	# an HTTP endpoint: -c auto may reach 64, which needs 96
	run_usage bash -c 'ulimit -n 64 && OPENAI_API_KEY=k qa-send -q --provider openai --base-url http://127.0.0.1:9/v1 in.jsonl'
	assert_stderr 'qa-send: -c auto (up to 64 in flight) needs 96 open files, over the limit of 64 (hard limit 64); lower -c or raise the limit (ulimit -n)'
	# or the endpoint config's concurrency, past 64, even for a run whose own endpoint is the mock
	printf '[big]\nprovider = openai\nbase_url = http://127.0.0.1:9/v1\nconcurrency = 100\n' >conf
	run_usage bash -c 'ulimit -n 64 && qa-send -q --config conf --provider mock in.jsonl'
	assert_stderr 'qa-send: -c auto (up to 100 in flight) needs 132 open files, over the limit of 64 (hard limit 64); lower -c or raise the limit (ulimit -n)'
	# -c N is what it says
	run_ok bash -c 'ulimit -n 64 && qa-send -q --config conf --provider mock -c 8 in.jsonl | wc -l'
	[ "$output" = 20 ]
}
