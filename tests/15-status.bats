#!/usr/bin/env bats
# The run status (lib/status.c): one per run, only ever raised, and what
# every exit reports.  A reader that closes early (| head) stops the tool
# but does not turn a 1 into a 0: a CI step that pipes a failing gate into
# head must still fail.

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	# 2,000 records: hundreds of kilobytes of output, far more than a pipe holds, so
	# the tool is still writing when head has gone (EPIPE, not a lucky fit).
	seq 2000 | awk '{ printf "{\"id\":%d,\"task\":\"t%d\",\"prompt\":\"q\",\"expected\":\"a\",\"response\":{\"text\":\"a\",\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}},\"scores\":{\"exact_match\":%d}}\n", $1, $1, ($1 % 3 > 0) }' > good.jsonl
	{ echo 'not a record'; cat good.jsonl; } > bad.jsonl
	seq 2000 | awk '{ printf "{\"id\":%d,\"task\":\"t%d\",\"scores\":{\"exact_match\":%d}}\n", $1, $1, $1 % 2 }' > worse.jsonl
}

# head_status WANT CMD...: CMD | head -n 1 under pipefail exits WANT.
head_status() {
	local want=$1
	shift
	status_is "$want" bash -c 'set -o pipefail; "$@" | head -n 1 > head.out' head "$@"
	[ "$(wc -l < head.out)" -eq 1 ]
}

@test "qa-score: a bad record's 1 survives a reader that closes early" {
	head_status 1 qa-score --metric exact_match bad.jsonl
	head_status 0 qa-score --metric exact_match good.jsonl
}

@test "qa-cost: a bad record's 1 survives a reader that closes early" {
	head_status 1 qa-cost --prices "$QA_ROOT/pipelines/prices.csv" bad.jsonl
	head_status 0 qa-cost --prices "$QA_ROOT/pipelines/prices.csv" good.jsonl
}

@test "qa-route: a bad record's 1 survives a reader that closes early" {
	head_status 1 qa-route --split a=50,b=50 bad.jsonl
	head_status 0 qa-route --split a=50,b=50 good.jsonl
}

@test "qa-send: an error record's 1 survives a reader that closes early" {
	head_status 1 qa-send --provider mock bad.jsonl
	head_status 0 qa-send --provider mock good.jsonl
}

@test "qa-diff: a failing gate stays 1 under | head -n 4 (the issue's case)" {
	# 2,000 tasks: one table line each, megabytes of it.
	run_data qa-diff --max-drop 0.02 good.jsonl worse.jsonl
	status_is 1 bash -c 'set -o pipefail; qa-diff --max-drop 0.02 good.jsonl worse.jsonl | head -n 4 > head.out'
	[ "$(wc -l < head.out)" -eq 4 ]
	head_status 1 qa-diff --max-drop 0.02 good.jsonl worse.jsonl
	# The gate holds the other way round: a closed reader alone is no failure.
	head_status 0 qa-diff --max-drop 0.02 worse.jsonl good.jsonl
}

@test "a closed reader: nothing on stderr, whatever the status" {
	head_status 1 qa-score --metric exact_match bad.jsonl
	[[ "$stderr" != *"write error"* ]]
}
