#!/usr/bin/env bats
# qa-send: fallback chains and the cooldown breaker, against three
# tests/server/qa-testd: A plays each record's script ("!503 #tag") and is
# the primary that fails; B answers 503 to everything; H answers 200 to
# everything.  Each counts the requests it saw, by script, so a test
# proves who was asked how often.  No assertion depends on timing.

load testd

setup_file() {
	start_testd A
	start_testd B --answer 503
	start_testd H --answer 200:text=healthy
	cat >"$BATS_FILE_TMPDIR/qa.conf" <<-EOF
	[a]
	base_url = http://127.0.0.1:$A_PORT/v1
	model = ma
	[a2]
	base_url = http://127.0.0.1:$A_PORT/two/v1
	model = ma2
	key_env = A2_KEY
	[b]
	base_url = http://127.0.0.1:$B_PORT/v1
	model = mb
	[h]
	base_url = http://127.0.0.1:$H_PORT/v1
	model = mh
	[dead]
	base_url = http://127.0.0.1:1/v1
	model = md
	[nokey]
	base_url = http://127.0.0.1:$H_PORT/v1
	key_env = QA_TEST_UNSET_KEY
	[mock]
	provider = mock
	model = int8
	EOF
}

teardown_file() {
	stop_testd A B H
}

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	export HOME=$BATS_TEST_TMPDIR	# no user config
	export OPENAI_API_KEY=sk-test-000000000000 A2_KEY=sk-test-222222222222
	unset OPENAI_BASE_URL QA_TEST_UNSET_KEY
	T=t$BATS_TEST_NUMBER	# tags scripts, so each test counts its own requests
	CONF=$BATS_FILE_TMPDIR/qa.conf
}

# A record whose prompt is a script for A (scripts need no JSON escapes).
rec() { printf '{"prompt":"%s"}\n' "$1"; }
# How many requests server A, B or H saw with this script; the last of them.
count() { testd_count "$@"; }
last() { testd_last "$@"; }
# The requests server A, B or H saw with scripts containing this text, together.
tagged() {
	local port=${1}_PORT
	get "${!port}" /_count | jq --arg t "$2" '[.scripts | to_entries[] | select(.key | contains($t)) | .value] | add // 0'
}
# qa-send with endpoint a as the default, bounded, with fast and reproducible backoff;
# no response cache: identical records here are meant to be sent each.
send() {
	timeout 60 qa-send -q --cache-mode off --config "$CONF" -e a --seed 7 --backoff-base 0.01 --backoff-cap 0.05 "$@"
}

@test "the primary's own retries come first; then the fallback answers, and the response says who failed and why" {
	s="!503 #$T"
	in='{ "id" : 1, "prompt":"'$s'", "model":"own", "zz":[1.50] }'
	run_ok send --fallback h -r 2 <<<"$in"
	[[ "$output" == '{ "id" : 1, "prompt":"'$s'", "model":"own", "zz":[1.50],"response":{'*'} }' ]]
	[ "$(count A "$s")" = 3 ]
	[ "$(count H "$s")" = 1 ]
	[ "$(field '.response | [.text, .endpoint, .attempts, .status]')" = '["healthy","h",4,200]' ]
	[ "$(field .response.fallback_from)" = \
		'[{"endpoint":"a","type":"server","status":503,"message":"simulated HTTP 503 (retries exhausted after 3 attempts)","attempts":3}]' ]
	# the record's model is for its own endpoint; the fallback brings its own
	[ "$(last A "$s" | jq -r .body.model)" = own ]
	[ "$(last H "$s" | jq -r .body.model)" = mh ]
	[ "$(field .response.model)" = '"mh"' ]
	assert_stderr 'qa-send: 1 of 1 record fell back to another endpoint, 1 answered there (h 1)
qa-send: 2 retries of a budget of 20 (20 + 0.5 per record read)'
}

@test "without a fallback nothing changes: no fallback_from, no summary line" {
	run_ok send <<<"$(rec "!200 #$T")"
	[ "$(field '.response | has("fallback_from")')" = false ]
	[ -z "$stderr" ]
	run_data send -r 0 <<<"$(rec "!503 #$T")"
	[ "$(field '.error | has("fallback_from")')" = false ]
	[ "$(count H "!503 #$T")" = 0 ]
}

@test "every error another endpoint could fix falls back: 429, quota, 5xx, timeout, reset, 401, unreadable 200" {
	steps="429 quota 500 hang reset 401 garbage wrapped"
	for step in $steps; do rec "!$step #$T"; done >in.jsonl
	# all at once (-c 8): the quota answer stops endpoint a for the records not yet sent
	run_ok send --fallback h -r 0 --timeout 0.3 --cooldown 0 -c 8 in.jsonl
	[ "$(jq -r '.response.fallback_from[0].type' <<<"$output" | tr '\n' ' ')" = \
		'rate_limit quota server timeout network auth bad_response server ' ]
	[ "$(jq -r '.response.endpoint' <<<"$output" | sort -u)" = h ]
	for step in $steps; do
		[ "$(count A "!$step #$T")" = 1 ] || { echo "A $step"; return 1; }
		[ "$(count H "!$step #$T")" = 1 ] || { echo "H $step"; return 1; }
	done
}

@test "no fallback on a request's own fault (400, 404, 422): the error stays, the fallback gets nothing" {
	for code in 400 404 422; do rec "!$code #$T"; done >in.jsonl
	run_data send --fallback h in.jsonl
	[ "$(jq -c '.error | [.type, .endpoint, .attempts, has("fallback_from")]' <<<"$output" | sort -u)" = '["bad_request","a",1,false]' ]
	[ "$(tagged A "#$T")" = 3 ]
	[ "$(tagged H "#$T")" = 0 ]
	[ -z "$(grep 'fell back' <<<"$stderr")" ]
}

@test "the chain is tried in order; a record's fallback wins over --fallback, [] turns it off, duplicates go" {
	jq -nc --arg t "$T" '{id: 1, prompt: "!503 #\($t)-1"},
		{id: 2, prompt: "!503 #\($t)-2", fallback: ["h", "b"]},
		{id: 3, prompt: "!503 #\($t)-3", fallback: []},
		{id: 4, prompt: "!503 #\($t)-4", fallback: null},
		{id: 5, prompt: "!503 #\($t)-5", fallback: ["a", "b", "a", "b"]},
		{id: 6, prompt: "!503 #\($t)-6", endpoint: "b", fallback: ["b", "h"]}' >in.jsonl
	run_data send --fallback b,h -r 0 --cooldown 0 in.jsonl
	[ "$(jq -c '[.id, (.response.endpoint // .error.endpoint), [(.response // .error).fallback_from[]?.endpoint]]' <<<"$output" | tr '\n' ' ')" = \
		'[1,"h",["a","b"]] [2,"h",["a"]] [3,"a",[]] [4,"h",["a","b"]] [5,"b",["a"]] [6,"h",["b"]] ' ]
	# who was asked: A, then B, then H, each as the chain says
	for i in 1 2 3 4 5 6; do
		printf '%s%s%s ' "$(count A "!503 #$T-$i")" "$(count B "!503 #$T-$i")" "$(count H "!503 #$T-$i")"
	done >seen
	[ "$(cat seen)" = '111 101 100 111 110 011 ' ]
	[ "$(sed -n 1p <<<"$output" | jq -c '.response.fallback_from[1] | [.endpoint, .type, .status, .attempts]')" = '["b","server",503,1]' ]
}

@test "when every endpoint fails, the error is the last one's, with fallback_from inside it" {
	run_data send --fallback b,dead -r 1 --cooldown 0 <<<"$(rec "!503 #$T")"
	[ "$(field '.error | [.type, .endpoint, .attempts, (.fallback_from | length)]')" = '["network","dead",6,2]' ]
	[[ "$(field .error.message)" == *"onnect"*"retries exhausted after 2 attempts"* ]]
	[ "$(field '.error.fallback_from | map([.endpoint, .type, .status, .attempts])')" = '[["a","server",503,2],["b","server",503,2]]' ]
	[ "$(field 'has("response")')" = false ]
	[ "$(count A "!503 #$T")" = 2 ]
	[ "$(count B "!503 #$T")" = 2 ]
	assert_stderr --partial 'qa-send: 1 of 1 record carries an error (1 network)'
	assert_stderr --partial 'qa-send: 1 of 1 record fell back to another endpoint, 0 answered there'
}

@test "a fallback endpoint whose key is not set is passed over (auth, 0 attempts); the next one answers" {
	jq -nc --arg t "$T" '{prompt: "!503 #\($t)", fallback: ["nokey", "h"]}' >in.jsonl
	run_ok send -r 0 in.jsonl
	[ "$(field '.response | [.endpoint, .attempts]')" = '["h",2]' ]
	[ "$(field '.response.fallback_from[1]')" = \
		'{"endpoint":"nokey","type":"auth","message":"endpoint '"'nokey'"': QA_TEST_UNSET_KEY is not set (its key_env)","attempts":0}' ]
	# a primary that cannot be used falls back the same way
	jq -nc --arg t "$T" '{prompt: "!200 #\($t)-2", endpoint: "nokey", fallback: ["h"]}' >in2.jsonl
	run_ok send in2.jsonl
	[ "$(field '[.response.endpoint, .response.fallback_from[0].type]')" = '["h","auth"]' ]
}

@test "unknown or malformed fallback names: a record's is a bad_record before anything is sent" {
	jq -nc --arg t "$T" '{prompt: "!200 #\($t)", fallback: ["h", "nope"]},
		{prompt: "!200 #\($t)", fallback: "h"},
		{prompt: "!200 #\($t)", fallback: ["h", 7]},
		{prompt: "!200 #\($t)", fallback: [""]},
		{prompt: "!200 #\($t)", fallback: [range(0; 20) | "h"]}' >in.jsonl
	run_data send in.jsonl
	[ "$(jq -c '.error | [.type, .message, .attempts]' <<<"${lines[0]}")" = \
		"[\"bad_record\",\"fallback: unknown endpoint 'nope' (not in $CONF)\",0]" ]
	[ "$(jq -r .error.endpoint <<<"${lines[0]}")" = nope ]
	[ "$(jq -r .error.message <<<"${lines[1]}")" = 'fallback is not an array of endpoint names' ]
	[ "$(jq -r .error.message <<<"${lines[2]}")" = 'fallback is not an array of endpoint names' ]
	[ "$(jq -r .error.message <<<"${lines[3]}")" = 'fallback is not an array of endpoint names' ]
	[ "$(jq -r .error.message <<<"${lines[4]}")" = 'fallback names more than 15 endpoints' ]
	[ "$(count A "!200 #$T")" = 0 ]
	[ "$(count H "!200 #$T")" = 0 ]
}

@test "--fallback is checked before any input is read: unknown, unusable or empty names exit 2" {
	rec "!200 #$T" >in.jsonl
	run_usage send --fallback h,nope in.jsonl
	assert_stderr "qa-send: --fallback: unknown endpoint 'nope' (not in $CONF)"
	run_usage send --fallback nokey in.jsonl
	assert_stderr "qa-send: --fallback: endpoint 'nokey': QA_TEST_UNSET_KEY is not set (its key_env)"
	run_usage send --fallback h, in.jsonl
	assert_stderr --partial 'an empty endpoint name'
	run_usage send --fallback h --fallback b in.jsonl
	run_usage timeout 60 qa-send --provider mock --fallback h in.jsonl
	assert_stderr --partial 'no endpoint config'
	run_usage send --cooldown -1 in.jsonl
	run_usage send --cooldown soon in.jsonl
	run_usage send --allowed-fails -1 in.jsonl
	run_usage send --allowed-fails 2.5 in.jsonl
	[ "$(count A "!200 #$T")" = 0 ]
	# the default endpoint may be named too, and is not tried twice
	run_ok timeout 60 qa-send -q --config "$CONF" -e h --fallback h,b <<<'{"prompt":"x"}'
	[ "$(field '.response | [.endpoint, has("fallback_from")]')" = '["h",false]' ]
}

@test "cooldown: past --allowed-fails failures in a row, records skip the endpoint: it gets fewer requests than records" {
	for i in $(seq 10); do rec "!503 #$T"; done >in.jsonl
	run_ok send --fallback h -r 0 -c 1 --window 1 in.jsonl
	# the 4th failure in a row (more than 3) starts the cooldown
	[ "$(count A "!503 #$T")" = 4 ]
	[ "$(count H "!503 #$T")" = 10 ]
	[ "$(jq -c '.response.fallback_from[0] | [.type // .skipped, .attempts]' <<<"$output" | uniq -c | tr -s ' ')" = \
		"$(printf ' 4 ["server",1]\n 6 ["cooldown",0]')" ]
	[ "$(sed -n 5p <<<"$output" | jq -c .response.fallback_from)" = \
		'[{"endpoint":"a","skipped":"cooldown","message":"cooling down: 4 failures in a row","attempts":0}]' ]
	[ "$(sed -n 5p <<<"$output" | jq -c .response.attempts)" = 1 ]
	assert_stderr 'qa-send: 10 of 10 records fell back to another endpoint, 10 answered there (h 10); cooldowns: a 1'
	# --allowed-fails 1: the second failure starts it
	for i in $(seq 10); do rec "!503 #$T-1"; done >in1.jsonl
	run_ok send --fallback h -r 0 -c 1 --window 1 --allowed-fails 1 in1.jsonl
	[ "$(count A "!503 #$T-1")" = 2 ]
	# retries count too: with -r 2 the first record fails 3 times, the second once more and stops there
	for i in $(seq 10); do rec "!503 #$T-2"; done >in2.jsonl
	run_ok send --fallback h -r 2 -c 1 --window 1 in2.jsonl
	[ "$(count A "!503 #$T-2")" = 4 ]
	[[ "$(sed -n 2p <<<"$output" | jq -r '.response.fallback_from[0].message')" == *"(the endpoint is cooling down after 1 attempt)" ]]
}

@test "cooldown: a success ends a run of failures; over half of at least 5 attempts failing trips it too" {
	for s in 200 503 200 503 200 503; do rec "!$s #$T-a-$s"; done >alt.jsonl
	run_ok send --fallback h -r 0 -c 1 --window 1 --allowed-fails 1 alt.jsonl
	# never two failures in a row, never more than half failing: no cooldown
	[ "$(count A "!503 #$T-a-503")" = 3 ]
	[ "$(count A "!200 #$T-a-200")" = 3 ]
	[ -z "$(grep cooldowns <<<"$stderr")" ]
	for s in 200 503 503 200 503 200 200; do rec "!$s #$T-r-$s"; done >ratio.jsonl
	run_ok send --fallback h -r 0 -c 1 --window 1 --allowed-fails 100 ratio.jsonl
	# the 5th attempt makes 3 failures of 5: the last two records skip a
	[ "$(count A "!503 #$T-r-503")" = 3 ]
	[ "$(count A "!200 #$T-r-200")" = 2 ]
	[ "$(count H "!200 #$T-r-200")" = 2 ]
	[ "$(sed -n 6p <<<"$output" | jq -r .response.fallback_from[0].message)" = 'cooling down: 3 of 5 attempts failed' ]
	assert_stderr --partial 'cooldowns: a 1'
}

@test "cooldown never skips the last endpoint left; --cooldown 0 turns it off" {
	for i in 1 2 3 4; do rec "!503 #$T"; done >in.jsonl
	for i in 1 2 3; do jq -nc --arg p "!503 #$T-last" '{prompt: $p, fallback: []}'; done >>in.jsonl
	for i in 1 2 3; do jq -nc --arg p "!503 #$T-ab" '{prompt: $p, fallback: ["a"]}'; done >>in.jsonl
	for i in 1 2; do jq -nc --arg p "!503 #$T-nokey" '{prompt: $p, fallback: ["nokey"]}'; done >>in.jsonl
	run_data send --fallback h -r 0 -c 1 --window 1 in.jsonl
	[ "$(count A "!503 #$T")" = 4 ]
	# a is cooling, but these records have nowhere else to go (an endpoint without its key is nowhere)
	[ "$(count A "!503 #$T-last")" = 3 ]
	[ "$(count A "!503 #$T-ab")" = 3 ]
	[ "$(count A "!503 #$T-nokey")" = 2 ]
	[ "$(jq -c '.error | select(.) | [.type, .endpoint, .attempts, has("fallback_from")]' <<<"$output" | sort | uniq -c | tr -s ' ')" = \
		"$(printf ' 2 ["auth","nokey",1,true]\n 6 ["server","a",1,false]')" ]
	for i in $(seq 10); do rec "!503 #$T-off"; done >off.jsonl
	run_ok send --fallback h -r 0 -c 1 --window 1 --cooldown 0 off.jsonl
	[ "$(count A "!503 #$T-off")" = 10 ]
}

@test "cooldown ends: after --cooldown the endpoint gets records again" {
	# -c 1 --window 1: one record at a time, in input order.  The third
	# record has only a, so it goes there while a cools down, and takes
	# 0.8 s, longer than the 0.5 s cooldown: the fourth finds a open again.
	{
		rec "!503 #$T"
		rec "!503 #$T"
		jq -nc --arg p "!slow:s=0.8 #$T-slow" '{prompt: $p, fallback: []}'
		rec "!503 #$T"
		rec "!503 #$T"
	} >in.jsonl
	run_ok send --fallback h -r 0 -c 1 --window 1 --allowed-fails 0 --cooldown 0.5 in.jsonl
	[ "$(count A "!503 #$T")" = 2 ]
	[ "$(jq -c '(.response.fallback_from // [{"endpoint": "-"}])[0] | .type // .skipped // .endpoint' <<<"$output" | tr '\n' ' ')" = \
		'"server" "cooldown" "-" "server" "cooldown" ' ]
	[ "$(sed -n 3p <<<"$output" | jq -r .response.endpoint)" = a ]
	assert_stderr --partial 'cooldowns: a 2'
}

@test "a record waiting to retry on an endpoint that starts cooling down falls back with its last error" {
	# Both fail at once and ask for a 2 s wait; the second failure
	# (more than --allowed-fails 1) starts the cooldown, so that record
	# falls back at once, and so does the one waiting: no retry goes to a.
	rec "!503:rams=2000 #$T-1" >in.jsonl
	rec "!503:rams=2000 #$T-2" >>in.jsonl
	run_ok send --fallback h -r 3 -c 2 --allowed-fails 1 in.jsonl
	[ "$(count A "!503:rams=2000 #$T-1")" = 1 ]
	[ "$(count A "!503:rams=2000 #$T-2")" = 1 ]
	[ "$(jq -c '.response | [.endpoint, .attempts, .fallback_from[0].type, .fallback_from[0].status, .fallback_from[0].attempts]' <<<"$output" | sort -u)" = \
		'["h",2,"server",503,1]' ]
	[ "$(jq -r '.response.fallback_from[0].message' <<<"$output" | sort -u)" = \
		'simulated HTTP 503 (the endpoint is cooling down after 1 attempt)' ]
}

@test "--deadline bounds the whole chain: no fallback once it has passed" {
	run_data send --fallback h --timeout 30 --deadline 0.5 <<<"$(rec "!hang #$T")"
	[ "$(field '.error | [.type, .endpoint, has("fallback_from")]')" = '["timeout","a",false]' ]
	[[ "$(jq -r .error.message <<<"$output")" == *"(no time left for fallback 'h')" ]]
	[ "$(count H "!hang #$T")" = 0 ]
}

@test "many records at once: every one answered, in order, and attempts add up to the requests each server saw" {
	jq -nc --arg t "$T" 'range(1; 61) | {id: ., prompt: "\(if . % 3 == 0 then "!200" else "!503" end) #\($t)-\(.)"}' >in.jsonl
	run_ok send --fallback b,h -r 1 -c 8 in.jsonl
	[ "${#lines[@]}" = 60 ]
	[ "$(jq -r .id <<<"$output" | awk '$1 != NR' | wc -l)" = 0 ]
	[ "$(jq -r .response.endpoint <<<"$output" | sort -u | tr '\n' ' ')" = 'a h ' ]
	# the attempts the records report on each endpoint are the requests its server saw
	on() {
		jq -s --arg e "$1" 'map(.response | (if .endpoint == $e then .attempts - ([.fallback_from[]?.attempts] | add // 0) else 0 end)
			+ ([.fallback_from[]? | select(.endpoint == $e) | .attempts] | add // 0)) | add' <<<"$output"
	}
	[ "$(on a)" = "$(tagged A "#$T-")" ]
	[ "$(on b)" = "$(tagged B "#$T-")" ]
	[ "$(on h)" = "$(tagged H "#$T-")" ]
	# a record b failed went on to h; a record a answered never left it
	[ "$(jq -c 'select(.response.endpoint == "h") | [.response.fallback_from[].endpoint]' <<<"$output" | sort -u)" = '["a","b"]' ]
}

@test "an in-process provider in the chain: a dead endpoint falls back to the mock" {
	run_ok timeout 60 qa-send -q --config "$CONF" -e dead --fallback mock -r 0 <<<'{"prompt":"hi"}'
	[ "$(field '.response | [.endpoint, .model, .attempts, .fallback_from[0].type, .fallback_from[0].endpoint]')" = \
		'["mock","int8",2,"network","dead"]' ]
}

@test "the key never shows on the fallback path: not in records, messages or stderr" {
	export OPENAI_API_KEY=sk-canary-1234567890abcdef A2_KEY=sk-canary-abcdef1234567890
	for i in 1 2 3 4 5 6; do rec "!echokey #$T"; done >in.jsonl
	jq -nc --arg t "$T" '{prompt: "!echokey #\($t)-2", fallback: ["a2"]}, {prompt: "!echokey #\($t)-3", fallback: ["a2", "nokey"]},
		{prompt: "x", fallback: ["nope"]}' >>in.jsonl
	{
		send --fallback h -c 1 --window 1 --allowed-fails 1 in.jsonl 2>&1
		send --fallback a2 -r 0 --cooldown 0 in.jsonl 2>&1
		send --fallback a2,dead -r 0 in.jsonl 2>&1
		send --fallback nope in.jsonl 2>&1
		send --fallback nokey in.jsonl 2>&1
	} >all.txt || true
	grep -q '"fallback_from":\[{"endpoint":"a","type":"auth","status":401' all.txt
	grep -q '"skipped":"cooldown"' all.txt
	grep -q '\[redacted\]' all.txt
	run ! grep -q 'canary' all.txt
}
