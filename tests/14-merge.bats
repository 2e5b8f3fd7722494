#!/usr/bin/env bats
# qa-score --merge refuses shard summaries that cannot be: one line naming
# the file, the line and the reason, exit 2, and nothing of them merged.
# Before this, each of these lines merged into figures that could not be.

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	# A real shard summary, as qa-score --summary prints it: 4 items, 1 right.
	printf '{"expected":"a","response":{"text":"%s"}}\n' a b c d | qa-score -m exact_match --summary 2>/dev/null |
		jq -c 'select(.scope == "overall")' > good.json
}

# refused JQ REASON: good.json edited by JQ is refused, naming line 2 and REASON.
refused() {
	{ cat good.json; jq -c "$1" good.json; } > shards.json
	run_usage qa-score --merge shards.json
	# Only the good line is merged.
	[ "$(jq -c 'select(.scope == "overall") | .n' <<<"$output")" = 4 ]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	assert_stderr "qa-score: shards.json:2: not a possible summary: $2"
}

@test "a real shard summary merges (the control)" {
	[ "$(jq -c '[.n, .sum, .ci_method]' good.json)" = '[4,1,"wilson"]' ]
	cat good.json good.json > shards.json
	run_ok qa-score --merge shards.json
	[ "$(jq -c 'select(.scope == "overall") | [.n, .mean]' <<<"$output")" = '[8,0.25]' ]
}

@test "n below 0, fractional, or not a number is refused" {
	refused '.n = -5' 'n is -5: a count is a whole number, 0 or more'
	refused '.n = 2.5' 'n is 2.5: a count is a whole number, 0 or more'
	refused '.n = "4"' 'n is "4": a count is a whole number, 0 or more'
}

@test "a mean outside [0, 1] for a 0/1 metric, or not sum / n, is refused" {
	refused '.mean = 3.5' 'mean is 3.5: a 0/1 metric (ci_method wilson) has its mean in [0, 1]'
	refused '.mean = 0.5' 'mean 0.5 is not sum / n (1 / 4)'
	refused '.sum = 7 | .mean = 1.75' 'mean is 1.75: a 0/1 metric (ci_method wilson) has its mean in [0, 1]'
	refused '.sum = 1.5 | .mean = 0.375' "sum is 1.5: a 0/1 metric's sum is a whole number from 0 to n (4)"
}

@test "more invalid answers than answers, negative counts, SE or m2 below 0 are refused" {
	refused '.invalid = 5' 'invalid is 5, more than n (4)'
	refused '.errors = -1' 'errors is -1: a count is a whole number, 0 or more'
	refused '.se = -0.1' 'se must be a finite number, 0 or more'
	refused '.m2 = -2' 'm2 must be a finite number, 0 or more'
	refused '.invalid_rate = 1.5' 'invalid_rate is 1.5: a rate is in [0, 1]'
	refused '.ci_low = 0.9 | .ci_high = 0.5' 'ci_low 0.9 is above ci_high 0.5'
}
