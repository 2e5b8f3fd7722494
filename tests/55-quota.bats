#!/usr/bin/env bats
# Quota is not a rate limit (issue 21), in Anthropic's shapes: its 429
# rate_limit_error and 529 overloaded_error are retried and teach pacing;
# its 402 billing_error and the 400 invalid_request_error that says the
# credit balance is too low or the spend limit is reached are quota: never
# retried, and they stop the endpoint for the run (or until the time the
# message gives); its 403 permission_error is a key's access (auth).
# Against tests/server/qa-testd ("!anthropic:kind=credit" and the like).

load testd-suite

# N records whose prompt is the script S (the n-th request of it plays step n)
recs() {
	local i
	for ((i = 1; i <= $1; i++)); do jq -nc --arg p "$2" --argjson i "$i" '{id: $i, prompt: $p}'; done
}
# identical prompts: the cache is off, these tests count requests
send() {
	timeout 60 qa-send --cache-mode off --provider openai --base-url "$BASE" --model m --seed 7 \
		--backoff-base 0.01 --backoff-cap 0.05 "$@"
}

@test "anthropic: each error shape is classified: quota, rate_limit, server, auth; only the rate and overload are retried" {
	for k in credit:quota:400:1 usage:quota:400:1 billing:quota:402:1 permission:auth:403:1 \
		rate:rate_limit:429:3 overloaded:server:529:3; do
		IFS=: read -r kind type code sent <<<"$k"
		s="!anthropic:kind=$kind,ra=0.01 #$T"
		run_data send -c 1 --retries 2 <<<"$(recs 1 "$s")"
		[ "$(field '[.error.type, .error.status]')" = "[\"$type\",$code]" ]
		[ "$(testd_count S "$s")" = "$sent" ]
	done
}

@test "anthropic: a spent credit balance stops the endpoint: one stderr line, the other records quota errors, no more requests" {
	s="!200 200 anthropic:kind=credit #$T"
	recs 12 "$s" >in.jsonl
	run_data send -c 1 in.jsonl
	[ "$(wc -l <<<"$output")" -eq 12 ]
	[ "$(jq -c 'select(.error == null)' <<<"$output" | wc -l)" -eq 2 ]
	[ "$(jq -c 'select(.error.type == "quota")' <<<"$output" | wc -l)" -eq 10 ]
	[ "$(jq -c 'select(.error.status == 400)' <<<"$output" | wc -l)" -ge 1 ]
	[ "$(grep -c 'out of quota' <<<"$stderr")" -eq 1 ]
	[[ $stderr == *'endpoint openai: out of quota for the rest of this run'* ]]
	# the answer that said so, and at most one sent in the turn that read it
	[ "$(testd_count S "$s")" -le 4 ]
}

@test "anthropic: a reached spend limit stops the endpoint until the time its message gives" {
	s="!anthropic:kind=usage,days=2 #$T"
	recs 5 "$s" >in.jsonl
	run_data send -c 1 in.jsonl
	[ "$(jq -c 'select(.error.type == "quota")' <<<"$output" | wc -l)" -eq 5 ]
	# the date the server's message gave (two days ahead, at 00:00 UTC) is the one said
	day=$(jq -r 'select(.error.status == 400) | .error.message' <<<"$output" | head -1 |
		sed -nE 's/.*regain access on ([0-9]{4}-[0-9]{2}-[0-9]{2}) at 00:00 UTC.*/\1/p')
	[ -n "$day" ]
	[[ $stderr == *"endpoint openai: out of quota until ${day}T00:00:00Z; its records get \"quota\" errors"* ]]
	[ "$(testd_count S "$s")" -le 2 ]
}

@test "anthropic: a 429 rate_limit_error is a rate: every record is retried and answered, none is stopped" {
	s="!anthropic:kind=rate,ra=0.2 200 #$T"
	recs 4 "$s" >in.jsonl
	run_ok send -c 2 --trace tr.jsonl in.jsonl
	[ "$(jq -c 'select(.response.text == "ok")' <<<"$output" | wc -l)" -eq 4 ]
	[[ $stderr != *quota* ]]
	[ "$(jq -c 'select(.decision == "retry" and .status == 429 and .type == "rate_limit")' tr.jsonl | wc -l)" -eq 1 ]
}
