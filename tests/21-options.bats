#!/usr/bin/env bats
# Each tool's --help (from its option table, lib/opt.c) and its man page
# name the same options: the synopses agree, and so do the option lists.

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
}

@test "every tool's --help and man page name the same options, in the synopsis and in the list" {
	local n=0
	for t in "$QA_BIN"/qa-*; do
		name=${t##*/}
		page="$QA_ROOT/man/$name.1"
		[ -f "$page" ] || { echo "no man page for $name"; return 1; }
		run "$QA_ROOT/tests/options-check" "$t" "$page"
		[ "$status" -eq 0 ] || { echo "$name: $output"; return 1; }
		[ -z "$output" ]
		n=$((n + 1))
	done
	[ "$n" -ge 7 ]
}

@test "options-check finds an option the page lacks, and one the help lacks" {
	local page="$QA_ROOT/man/qa-send.1"
	# the synopsis without --mode (as qa-send's usage line once was)
	grep -v '^\.Op Fl -mode Cm logprobs' "$page" >nomode.1
	run "$QA_ROOT/tests/options-check" "$QA_BIN/qa-send" nomode.1
	[ "$status" -eq 1 ]
	assert_line "synopsis: --help names context, nomode.1 does not"
	assert_line "synopsis: --help names mode, nomode.1 does not"
	assert_line "synopsis: --help names stride, nomode.1 does not"
	# an option documented only on the page; a nested list's items do not count
	sed 's/^\.It Fl -window Ar N$/.It Fl -window Ar N\n.It Fl -windows Ar N\n.Bl -tag\n.It Fl -nested\n.El/' "$page" >extra.1
	run "$QA_ROOT/tests/options-check" "$QA_BIN/qa-send" extra.1
	[ "$status" -eq 1 ]
	assert_output "option list: extra.1 names windows, --help does not"
	# a short flag counts as its long option: -c on the page is --concurrency
	grep -v '^\.It Fl c Ar N' "$page" >noc.1
	run "$QA_ROOT/tests/options-check" "$QA_BIN/qa-send" noc.1
	[ "$status" -eq 1 ]
	assert_output "option list: --help names concurrency, noc.1 does not"
}

@test "a number out of range is one line naming the option and its range, exit 2" {
	run_usage qa-send --provider mock -c 0 </dev/null
	assert_stderr "qa-send: --concurrency: '0' is not a whole number from 1 to 100000"
	run_usage qa-send --provider mock --timeout abc </dev/null
	assert_stderr "qa-send: --timeout: 'abc' is not a number of seconds from 0.001"
	run_usage qa-send --provider mock --mode chat </dev/null
	assert_stderr "qa-send: --mode: 'chat' is not text or logprobs"
	run_usage qa-cost --exact-latencies 0 </dev/null
	assert_stderr "qa-cost: --exact-latencies: '0' is not a whole number from 1 to 1073741824"
	run_usage qa-diff --bootstrap 1.5 a b
	assert_stderr "qa-diff: --bootstrap: '1.5' is not a whole number from 1 to 10000000"
	run_usage qa-diff --gate-scope all a b
	assert_stderr "qa-diff: --gate-scope: 'all' is not overall, task or both"
	run_usage qa-route -S a=50,b=50 -S a=100 </dev/null
	assert_stderr "qa-route: --split given twice"
}

@test "short and long forms reach the same row; -V prints the version" {
	for t in "$QA_BIN"/qa-*; do
		run_ok "$t" -V
		assert_output "${t##*/} 0.1.0"
		run_ok "$t" --version
		assert_output "${t##*/} 0.1.0"
		run_ok "$t" -h
		[ "$output" = "$("$t" --help)" ]
	done
}
