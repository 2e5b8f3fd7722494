#!/usr/bin/env bats
# qa-diff: paired comparison of two scored runs, and its deploy gate.

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
}

# rec ID TASK SCORE [MORE]: one scored record; MORE is extra JSON members.
rec() { printf '{"id":%s,"task":"%s","scores":{"exact_match":%s}%s}\n' "$1" "$2" "$3" "${4:+,$4}"; }

# The man page's example: 8 items, b = 3, c = 1, one invalid candidate answer.
example() {
	rec 1 math 1 '"response":{"latency_ms":820},"cost":{"total":0.002}'
	rec 2 math 1 '"response":{"latency_ms":940},"cost":{"total":0.002}'
	rec 3 math 1 '"response":{"latency_ms":1010},"cost":{"total":0.002}'
	rec 4 math 0 '"response":{"latency_ms":1200},"cost":{"total":0.002}'
	rec 5 capitals 1 '"response":{"latency_ms":300},"cost":{"total":0.001}'
	rec 6 capitals 1 '"response":{"latency_ms":340},"cost":{"total":0.001}'
	rec 7 capitals 1 '"response":{"latency_ms":360},"cost":{"total":0.001}'
	rec 8 capitals 1 '"response":{"latency_ms":410},"cost":{"total":0.001}'
}

example_cand() {
	rec 1 math 1 '"response":{"latency_ms":610},"cost":{"total":0.0005}'
	rec 2 math 0 '"response":{"latency_ms":700},"cost":{"total":0.0005}'
	rec 3 math 0 '"invalid":["exact_match"],"response":{"latency_ms":650},"cost":{"total":0.0005}'
	rec 4 math 1 '"response":{"latency_ms":900},"cost":{"total":0.0005}'
	rec 5 capitals 1 '"response":{"latency_ms":250},"cost":{"total":0.0002}'
	rec 6 capitals 1 '"response":{"latency_ms":260},"cost":{"total":0.0002}'
	rec 7 capitals 0 '"response":{"latency_ms":280},"cost":{"total":0.0002}'
	rec 8 capitals 1 '"response":{"latency_ms":990},"cost":{"total":0.0002}'
}

overall() { jq -c 'select(.scope == "overall")' <<<"$output"; }
task_line() { jq -c --arg t "$1" 'select(.scope == "task" and .task == $t)' <<<"$output"; }
# near GOT WANT: equal to a relative 1e-12 (absolute 1e-15 near 0).
near() { jq -en --argjson g "$1" --argjson w "$2" '($g - $w | fabs) <= 1e-12 * ($w | fabs) + 1e-15' >/dev/null; }

@test "the hand-computed example: delta, se, CI, McNemar, flips, recovery, rates, latency, cost" {
	example > base.jsonl
	example_cand > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "${#lines[@]}" -eq 3 ]
	[ "$(jq -c '[.scope, .task, .n]' <<<"$output" | tr -d '\n')" = '["task","math",4]["task","capitals",4]["overall",null,8]' ]
	o=$(overall)
	[ "$(jq -c '[.metric, .binary, .n, .only_baseline, .only_candidate, .excluded]' <<<"$o")" = '["exact_match",true,8,0,0,0]' ]
	# d: -1 x3, +1, 0 x4; mean -0.25, sum of squares 3.5, sd sqrt(0.5), se 0.25.
	near "$(jq .delta.mean <<<"$o")" -0.25
	near "$(jq .delta.sd <<<"$o")" "$(jq -n '0.5 | sqrt')"
	near "$(jq .delta.se <<<"$o")" 0.25
	near "$(jq .delta.ci_low <<<"$o")" "$(jq -n '-0.25 - 1.959963984540054 * 0.25')"
	near "$(jq .delta.ci_high <<<"$o")" "$(jq -n '-0.25 + 1.959963984540054 * 0.25')"
	# McNemar b = 3, c = 1: exact 2 (1 + 4) / 16; chi2 4 / 4; cc 1 / 4.
	[ "$(jq -c '.mcnemar | [.b, .c, .p_exact, .chi2, .chi2_cc]' <<<"$o")" = '[3,1,0.625,1,0.25]' ]
	near "$(jq .mcnemar.p_chi2 <<<"$o")" 0.31731050786291115
	[ "$(jq -c .flips <<<"$o")" = '{"right_to_wrong":3,"wrong_to_right":1,"pct_right_to_wrong":37.5,"pct_wrong_to_right":12.5,"pct":50}' ]
	near "$(jq .recovery_pct <<<"$o")" "$(jq -n '100 * 0.625 / 0.875')"
	[ "$(jq -c '[.baseline.mean, .candidate.mean, .baseline.invalid_rate, .candidate.invalid_rate, .candidate.invalid, .candidate.error_rate]' <<<"$o")" = '[0.875,0.625,0,0.125,1,0]' ]
	# Wilson for 7 of 8 (statsmodels): centre and half-width by hand.
	near "$(jq .baseline.ci_low <<<"$o")" "$(jq -n '1.959963984540054 as $z | 0.875 as $p | 8 as $n |
		(1 + $z * $z / $n) as $d | (($p + $z * $z / (2 * $n)) / $d) - $z * (($p * (1 - $p) / $n + $z * $z / (4 * $n * $n)) | sqrt) / $d')"
	[ "$(jq -c '[.baseline.ci_method, .baseline.p50_ms, .baseline.p95_ms, .candidate.p95_ms, .baseline.latency_n]' <<<"$o")" = '["wilson",615,1133.5,958.5,8]' ]
	near "$(jq .ratios.p95_latency <<<"$o")" "$(jq -n '958.5 / 1133.5')"
	near "$(jq .baseline.mean_cost <<<"$o")" 0.0015
	near "$(jq .ratios.mean_cost <<<"$o")" "$(jq -n '0.00035 / 0.0015')"
	[ "$(jq -c '[.gate, .decision, .percentiles, .ratios.perplexity]' <<<"$o")" = '[null,null,"linear",null]' ]
	m=$(task_line math)
	[ "$(jq -c '[.n, .mcnemar.b, .mcnemar.c, .mcnemar.p_exact, .candidate.invalid_rate]' <<<"$m")" = '[4,2,1,1,0.25]' ]
	[ -z "$stderr" ]
}

@test "identical runs: no flips, delta 0, p = 1, chi-squared null, recovery 100, a gate on the CI passes" {
	example > base.jsonl
	run_ok qa-diff --max-drop 0.02 --max-flips 0 --min-recovery 100 base.jsonl base.jsonl
	o=$(overall)
	[ "$(jq -c '[.delta.mean, .delta.sd, .delta.se, .delta.ci_low, .delta.ci_high]' <<<"$o")" = '[0,0,0,0,0]' ]
	[ "$(jq -c .mcnemar <<<"$o")" = '{"b":0,"c":0,"p_exact":1,"chi2":null,"p_chi2":null,"chi2_cc":null,"p_chi2_cc":null}' ]
	[ "$(jq -c '[.flips.pct, .recovery_pct, .ratios.p95_latency, .decision, .gate.pass]' <<<"$o")" = '[0,100,1,"pass",true]' ]
	[ -z "$stderr" ]
}

@test "b + c = 0 with different answers elsewhere: p_exact 1, the chi-squared forms null" {
	{ rec 1 t 1; rec 2 t 0; rec 3 t 1; } > base.jsonl
	{ rec 1 t 1 '"response":{"latency_ms":5}'; rec 2 t 0; rec 3 t 1; } > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "$(overall | jq -c '[.mcnemar.b, .mcnemar.c, .mcnemar.p_exact, .mcnemar.chi2, .mcnemar.p_chi2_cc, .flips.pct]')" = '[0,0,1,null,null,0]' ]
}

@test "n = 1: the mean difference is defined, sd, se and the normal CIs are null; Wilson is defined" {
	rec 1 t 1 > base.jsonl
	rec 1 t 0 > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	o=$(overall)
	[ "$(jq -c '[.n, .delta.mean, .delta.sd, .delta.se, .delta.ci_low, .delta.ci_high, .baseline.se]' <<<"$o")" = '[1,-1,null,null,null,null,null]' ]
	[ "$(jq -c '[.mcnemar.b, .mcnemar.c, .mcnemar.p_exact, .mcnemar.chi2, .mcnemar.chi2_cc]' <<<"$o")" = '[1,0,1,1,0]' ]
	[ "$(jq -c '[.baseline.ci_method, .baseline.ci_high, .candidate.ci_low]' <<<"$o")" = '["wilson",1,0]' ]
	# A gate on an interval that does not exist fails, naming why.
	run_data qa-diff --max-drop 0.5 base.jsonl cand.jsonl
	assert_stderr 'qa-diff: gate: overall: --max-drop 0.5: the CI is undefined (1 paired item)'
	run_data qa-diff --max-drop 0.5 --gate-on point base.jsonl cand.jsonl
	assert_stderr 'qa-diff: gate: overall: accuracy drops by 1, over --max-drop 0.5'
}

@test "all wrong on both sides: means 0, recovery null, no flips, Wilson from 0" {
	{ rec 1 t 0; rec 2 t 0; rec 3 t 0; } > base.jsonl
	run_ok qa-diff base.jsonl base.jsonl
	o=$(overall)
	[ "$(jq -c '[.baseline.mean, .candidate.mean, .recovery_pct, .flips.pct, .baseline.ci_low, .mcnemar.p_exact]' <<<"$o")" = '[0,0,null,0,0,1]' ]
	jq -e '.baseline.ci_high > 0.5 and .baseline.ci_high < 0.6' <<<"$o"
	run_data qa-diff --min-recovery 90 base.jsonl base.jsonl
	assert_stderr 'qa-diff: gate: overall: --min-recovery 90: recovery is undefined (the baseline'"'"'s mean is 0)'
}

@test "non-binary scores: mean difference statistics, normal CIs; McNemar and flips are null" {
	printf '%s\n' '{"id":"a","scores":{"f1":0.5}}' '{"id":"b","scores":{"f1":1}}' '{"id":"c","scores":{"f1":0.25}}' > base.jsonl
	printf '%s\n' '{"id":"a","scores":{"f1":0.75}}' '{"id":"b","scores":{"f1":0.5}}' '{"id":"c","scores":{"f1":0.25}}' > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "${#lines[@]}" -eq 2 ]
	o=$(overall)
	[ "$(jq -c '[.metric, .binary, .mcnemar, .flips, .baseline.ci_method, .task]' <<<"$o")" = '["f1",false,null,null,"normal",null]' ]
	# d = 0.25, -0.5, 0: mean -1/12
	near "$(jq .delta.mean <<<"$o")" "$(jq -n '-1 / 12')"
	near "$(jq .delta.sd <<<"$o")" "$(jq -n '[0.25, -0.5, 0] as $d | ($d | add / 3) as $m | [$d[] | (. - $m) * (. - $m)] | add / 2 | sqrt')"
	near "$(jq .recovery_pct <<<"$o")" "$(jq -n '100 * (1.5 / 3) / (1.75 / 3)')"
	run_data qa-diff --max-flips 50 base.jsonl cand.jsonl
	assert_stderr 'qa-diff: gate: overall: --max-flips 50: flips are undefined (scores are not binary)'
	run_data qa-diff --max-drop 0.01 --gate-on point base.jsonl cand.jsonl
	assert_stderr 'qa-diff: gate: overall: the mean score drops by 0.08333, over --max-drop 0.01'
}

@test "a duplicate id is an error naming both lines, exit 2, nothing written" {
	{ rec 1 t 1; rec 2 t 1; rec 1 t 0; } > dup.jsonl
	{ rec 1 t 1; rec 2 t 1; } > ok.jsonl
	run_usage qa-diff dup.jsonl ok.jsonl
	assert_output ''
	assert_stderr 'qa-diff: dup.jsonl:3: duplicate id 1 (first at line 1)'
	run_usage qa-diff ok.jsonl dup.jsonl
	assert_stderr 'qa-diff: dup.jsonl:3: duplicate id 1 (first at line 1)'
	# Also for ids found only in the candidate.
	{ rec 1 t 1; rec '"x"' t 1; rec '"x"' t 0; } > dup2.jsonl
	run_usage qa-diff ok.jsonl dup2.jsonl
	assert_stderr 'qa-diff: dup2.jsonl:3: duplicate id "x" (first at line 2)'
}

@test "ids: a string and a number differ, 1 and 1.0 and 1e0 are one, escapes are unescaped" {
	printf '%s\n' '{"id":1,"scores":{"m":1}}' '{"id":"b","scores":{"m":1}}' '{"id":"1","scores":{"m":1}}' > base.jsonl
	printf '%s\n' '{"id":1.0,"scores":{"m":0}}' '{"id":"\u0062","scores":{"m":1}}' '{"id":"1","scores":{"m":1}}' > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "$(overall | jq -c '[.n, .mcnemar.b, .only_baseline, .only_candidate]')" = '[3,1,0,0]' ]
	printf '%s\n' '{"id":1e0,"scores":{"m":1}}' '{"id":"b","scores":{"m":1}}' '{"id":1,"scores":{"m":1}}' > dup.jsonl
	run_usage qa-diff dup.jsonl cand.jsonl
	assert_stderr 'qa-diff: dup.jsonl:3: duplicate id 1 (first at line 1)'
	printf '%s\n' '{"id":[1],"scores":{"m":1}}' > bad.jsonl
	run_data qa-diff bad.jsonl cand.jsonl
	assert_stderr --partial 'qa-diff: bad.jsonl:1: id is neither a string nor a number'
}

@test "ids in one run only are counted, warned about, and listed with --verbose" {
	{ rec 1 t 1; rec 2 t 1; rec 3 u 1; } > base.jsonl
	{ rec 2 t 1; rec 4 t 0; rec 5 u 1; rec 3 u 1; } > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "$(jq -c '[.task, .n, .only_baseline, .only_candidate]' <<<"$output" | tr -d '\n')" = '["t",1,1,1]["u",1,0,1][null,2,1,2]' ]
	assert_stderr 'qa-diff: 1 id only in the baseline, 2 only in the candidate: not compared (--verbose lists them)'
	run_ok qa-diff -v base.jsonl cand.jsonl
	assert_stderr "$(printf '%s\n' 'qa-diff: base.jsonl:1: id 1 only in the baseline' \
		'qa-diff: cand.jsonl:2: id 4 only in the candidate' 'qa-diff: cand.jsonl:3: id 5 only in the candidate' \
		'qa-diff: 1 id only in the baseline, 2 only in the candidate: not compared')"
}

@test "records without an id are paired by line number, with one warning per run" {
	printf '%s\n' '{"scores":{"m":1}}' '{"scores":{"m":0}}' '{"scores":{"m":1}}' > base.jsonl
	printf '%s\n' '{"scores":{"m":1}}' '{"scores":{"m":1}}' '{"id":null,"scores":{"m":1}}' > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "$(overall | jq -c '[.n, .mcnemar.c]')" = '[3,1]' ]
	assert_stderr "$(printf '%s\n' 'qa-diff: base.jsonl: 3 records have no id; the line number stands in for it' \
		'qa-diff: cand.jsonl: 3 records have no id; the line number stands in for it')"
}

@test "either run may be standard input, not both" {
	example > base.jsonl
	example_cand > cand.jsonl
	want=$(qa-diff base.jsonl cand.jsonl)
	run_ok qa-diff - cand.jsonl < base.jsonl
	[ "$output" = "$want" ]
	run_ok qa-diff base.jsonl - < cand.jsonl
	[ "$output" = "$want" ]
	run_usage qa-diff - - < base.jsonl
	assert_stderr 'qa-diff: only one of the runs can be - (standard input)'
}

@test "records with an error count in the error rate and are left out of the paired statistics" {
	{ rec 1 t 1; rec 2 t 1; rec 3 t 0; rec 4 t 1; } > base.jsonl
	{ rec 1 t 1; echo '{"id":2,"task":"t","error":{"type":"timeout","message":"gave up"}}'; rec 3 t 1
	  echo '{"id":4,"task":"t","error":{"type":"server","status":500,"message":"x"}}'; } > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	o=$(overall)
	[ "$(jq -c '[.n, .excluded, .candidate.errors, .candidate.error_rate, .candidate.records, .candidate.scored, .baseline.error_rate]' <<<"$o")" = '[2,2,2,0.5,4,2,0]' ]
	[ "$(jq -c '[.baseline.mean, .candidate.mean, .mcnemar.c]' <<<"$o")" = '[0.5,1,1]' ]
	run_data qa-diff --max-errors 25 base.jsonl cand.jsonl
	assert_stderr "qa-diff: gate: overall: the candidate's error rate 50% is over --max-errors 25"
	run_ok qa-diff --max-errors 50 base.jsonl cand.jsonl
}

@test "a record with no score to compare is warned about, not compared, and makes the status 1" {
	{ rec 1 t 1; rec 2 t 1; } > base.jsonl
	{ rec 1 t 1; echo '{"id":2,"task":"t","response":{"text":"x"}}'; } > cand.jsonl
	run_data qa-diff base.jsonl cand.jsonl
	[ "$(overall | jq -c '[.n, .excluded]')" = '[1,1]' ]
	assert_stderr 'qa-diff: cand.jsonl: 1 record has no score to compare (first at line 2): not compared'
}

@test "--metric picks the score; the default is each baseline record's first" {
	printf '%s\n' '{"id":1,"scores":{"a":1,"b":0}}' '{"id":2,"scores":{"a":1,"b":1}}' > base.jsonl
	printf '%s\n' '{"id":1,"scores":{"b":1,"a":0}}' '{"id":2,"scores":{"b":1,"a":1}}' > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "$(overall | jq -c '[.metric, .mcnemar.b, .mcnemar.c]')" = '["a",1,0]' ]
	run_ok qa-diff -m b base.jsonl cand.jsonl
	[ "$(overall | jq -c '[.metric, .mcnemar.b, .mcnemar.c]')" = '["b",0,1]' ]
	run_data qa-diff --metric nope base.jsonl cand.jsonl
	assert_stderr --partial '2 records have no score to compare'
}

@test "the invalid rate counts the candidate's invalid answers; --max-invalid gates it" {
	example > base.jsonl
	example_cand > cand.jsonl
	run_data qa-diff --max-invalid 10 base.jsonl cand.jsonl
	assert_stderr "qa-diff: gate: overall: the candidate's invalid rate 12.5% is over --max-invalid 10"
	[ "$(overall | jq -c '.gate')" = '{"pass":false,"on":"ci","ci":"normal","failures":[{"criterion":"max-invalid","value":12.5,"limit":10,"message":"the candidate'"'"'s invalid rate 12.5% is over --max-invalid 10"}]}' ]
	run_ok qa-diff --max-invalid 12.5 base.jsonl cand.jsonl
}

@test "--max-drop reads the CI's lower bound, or the point estimate with --gate-on point" {
	example > base.jsonl
	example_cand > cand.jsonl
	# delta -0.25, CI lower bound -0.74
	run_data qa-diff --max-drop 0.5 base.jsonl cand.jsonl
	assert_stderr "qa-diff: gate: overall: accuracy may drop by 0.74 (the normal CI's lower bound is -0.74), over --max-drop 0.5"
	run_ok qa-diff --max-drop 0.75 base.jsonl cand.jsonl
	run_ok qa-diff --max-drop 0.25 --gate-on point base.jsonl cand.jsonl
	run_data qa-diff --max-drop 0.24 --gate-on point base.jsonl cand.jsonl
	assert_stderr 'qa-diff: gate: overall: accuracy drops by 0.25, over --max-drop 0.24'
	[ "$(overall | jq -c '[.decision, .gate.on, .gate.failures[0].value]')" = '["fail","point",0.25]' ]
}

@test "--max-flips, --min-recovery and --max-p95-ratio pass and fail with one stderr line each" {
	example > base.jsonl
	example_cand > cand.jsonl
	run_ok qa-diff --max-flips 50 --min-recovery 71 --max-p95-ratio 0.85 base.jsonl cand.jsonl
	[ "$(overall | jq -c '[.decision, .gate.pass, .gate.failures]')" = '["pass",true,[]]' ]
	run_data qa-diff --max-flips 49 --min-recovery 72 --max-p95-ratio 0.8 base.jsonl cand.jsonl
	assert_stderr "$(printf '%s\n' 'qa-diff: gate: overall: 50% of the items flip, over --max-flips 49' \
		'qa-diff: gate: overall: recovery 71.43% is under --min-recovery 72' \
		'qa-diff: gate: overall: p95 latency ratio 0.8456 is over --max-p95-ratio 0.8')"
	[ "$(overall | jq -c '[.gate.failures[].criterion]')" = '["max-flips","min-recovery","max-p95-ratio"]' ]
}

@test "--max-p95-ratio without latencies fails: a gate that cannot tell does not pass" {
	{ rec 1 t 1; rec 2 t 1; } > base.jsonl
	run_data qa-diff --max-p95-ratio 2 base.jsonl base.jsonl
	assert_stderr 'qa-diff: gate: overall: --max-p95-ratio 2: the p95 latency ratio is undefined (no latency in the baseline)'
}

@test "--gate-scope: the overall line by default, each task, or both" {
	example > base.jsonl
	example_cand > cand.jsonl
	# math flips 75%, capitals 25%, overall 50%
	run_ok qa-diff --max-flips 60 base.jsonl cand.jsonl
	[ "$(jq -c .gate <<<"$(task_line math)")" = null ]
	run_data qa-diff --max-flips 60 --gate-scope task base.jsonl cand.jsonl
	assert_stderr 'qa-diff: gate: task math: 75% of the items flip, over --max-flips 60'
	[ "$(overall | jq -c '[.gate, .decision]')" = '[null,"fail"]' ]
	[ "$(task_line capitals | jq -c .gate.pass)" = true ]
	run_data qa-diff --max-flips 40 --gate-scope both base.jsonl cand.jsonl
	assert_stderr "$(printf '%s\n' 'qa-diff: gate: task math: 75% of the items flip, over --max-flips 40' \
		'qa-diff: gate: overall: 50% of the items flip, over --max-flips 40')"
}

@test "limits compare with a little slack: 3 of 150 is 2%, not over 2" {
	for i in $(seq 1 150); do rec "$i" t 1; done > base.jsonl
	for i in $(seq 1 150); do if [ "$i" -le 3 ]; then rec "$i" t 0; else rec "$i" t 1; fi; done > cand.jsonl
	run_ok qa-diff --max-flips 2 base.jsonl cand.jsonl
	run_data qa-diff --max-flips 1.99 base.jsonl cand.jsonl
}

@test "clustered standard errors match a hand computation" {
	# d per item: cluster p: +1, +1, 0; cluster q: -1, 0; no cluster: 0
	{ rec 1 t 0 '"cluster":"p"'; rec 2 t 0 '"cluster":"p"'; rec 3 t 1 '"cluster":"p"'
	  rec 4 t 1 '"cluster":7'; rec 5 t 1 '"cluster":7'; rec 6 t 1; } > base.jsonl
	{ rec 1 t 1; rec 2 t 1; rec 3 t 1; rec 4 t 0; rec 5 t 1; rec 6 t 1; } > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	o=$(overall)
	want=$(jq -n '[1, 1, 0, -1, 0, 0] as $d | 6 as $n | ($d | add / $n) as $m | [$d[] | . - $m] as $r
		| ([$r[] | . * .] | add) as $ss | ($ss / ($n - 1) / $n) as $se2
		| [[$r[0], $r[1], $r[2]], [$r[3], $r[4]], [$r[5]]]
		| (map((add * add) - (map(. * .) | add)) | add) as $cross
		| ($se2 + $cross / ($n * $n)) | sqrt')
	near "$(jq .delta.clustered.se <<<"$o")" "$want"
	[ "$(jq -c '[.delta.clustered.clusters, .gate]' <<<"$o")" = '[3,null]' ]
	near "$(jq .delta.clustered.ci_low <<<"$o")" "$(jq -n --argjson se "$want" '1 / 6 - 1.959963984540054 * $se')"
	# Clustered SE differs from the plain one here, and the gate reads it.
	jq -e '.delta.clustered.se > .delta.se' <<<"$o"
	run_ok qa-diff --max-drop 1 base.jsonl cand.jsonl
	[ "$(overall | jq -r .gate.ci)" = clustered ]
}

@test "clusters of one item each give the plain standard error" {
	{ rec 1 t 0 '"cluster":1'; rec 2 t 1 '"cluster":2'; rec 3 t 1 '"cluster":3'; } > base.jsonl
	{ rec 1 t 1; rec 2 t 1; rec 3 t 0; } > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	o=$(overall)
	near "$(jq .delta.clustered.se <<<"$o")" "$(jq .delta.se <<<"$o")"
}

@test "the paired bootstrap is seeded: the same seed gives the same interval, another seed another" {
	for i in $(seq 1 200); do rec "$i" t $(( i % 5 != 0 )); done > base.jsonl
	for i in $(seq 1 200); do rec "$i" t $(( i % 7 != 0 )); done > cand.jsonl
	run_ok qa-diff --bootstrap 500 --seed 42 base.jsonl cand.jsonl
	a=$(overall | jq -c .delta.bootstrap)
	run_ok qa-diff --bootstrap 500 --seed 42 base.jsonl cand.jsonl
	[ "$(overall | jq -c .delta.bootstrap)" = "$a" ]
	run_ok qa-diff --bootstrap 500 --seed 43 base.jsonl cand.jsonl
	[ "$(overall | jq -c .delta.bootstrap)" != "$a" ]
	# Sensible: around the normal interval, on either side of the mean.
	jq -e '.resamples == 500 and .seed == 42' <<<"$a"
	o=$(overall)
	jq -e --argjson b "$a" '($b.ci_low - .delta.ci_low | fabs) < 0.03 and ($b.ci_high - .delta.ci_high | fabs) < 0.03
		and $b.ci_low < .delta.mean and $b.ci_high > .delta.mean' <<<"$o"
	[ "$(jq -r .gate <<<"$o")" = null ]
	run_ok qa-diff --bootstrap 500 --max-drop 1 base.jsonl cand.jsonl
	[ "$(overall | jq -r .gate.ci)" = bootstrap ]
}

@test "a task's bootstrap interval does not depend on the other tasks" {
	for i in $(seq 1 100); do rec "$i" a $(( i % 3 != 0 )); done > base.jsonl
	for i in $(seq 1 100); do rec "$i" a $(( i % 4 != 0 )); done > cand.jsonl
	run_ok qa-diff --bootstrap 300 base.jsonl cand.jsonl
	alone=$(task_line a | jq -c .delta.bootstrap)
	for i in $(seq 101 150); do rec "$i" b 1; done >> base.jsonl
	for i in $(seq 101 150); do rec "$i" b 0; done >> cand.jsonl
	run_ok qa-diff --bootstrap 300 base.jsonl cand.jsonl
	[ "$(task_line a | jq -c .delta.bootstrap)" = "$alone" ]
}

@test "--format table and md print the decision first" {
	example > base.jsonl
	example_cand > cand.jsonl
	run_data qa-diff -f table --max-flips 10 base.jsonl cand.jsonl
	assert_line --index 0 'decision: FAIL (1 of 1 checks failed)'
	assert_line --index 1 '  overall: 50% of the items flip, over --max-flips 10'
	assert_line --index 2 --regexp '^TASK +N +BASELINE +CANDIDATE +DELTA +95% CI'
	assert_line --index 5 --regexp '^\(overall\) +8 +0\.8750 +0\.6250 +-0\.2500 \[-0\.7400, \+0\.2400\] +0\.625 +3 +1 +50\.0% +71\.4%'
	run_ok qa-diff -f md --max-flips 50 base.jsonl cand.jsonl
	assert_line --index 0 '**Decision: PASS** (1 check holds)'
	assert_line --index 1 --regexp '^\| task \| n \| baseline \|'
	assert_line --index 5 --regexp '^\| \(overall\) \| 8 \| 0\.8750 \| 0\.6250 \| -0\.2500 \|'
	run_ok qa-diff -f table base.jsonl cand.jsonl
	assert_line --index 0 'decision: none (no gate criteria given)'
}

@test "a line that is not JSON is named by file and line; the comparison still comes out, status 1" {
	{ rec 1 t 1; echo '{"id":2,'; echo '[1]'; rec 3 t 0; } > base.jsonl
	{ rec 1 t 1; rec 3 t 1; } > cand.jsonl
	run_data qa-diff base.jsonl cand.jsonl
	assert_stderr "$(printf '%s\n' 'qa-diff: base.jsonl:2: unexpected end of JSON at byte 9' \
		'qa-diff: base.jsonl:3: not a JSON object')"
	[ "$(overall | jq -c '[.n, .mcnemar.c, .baseline.records, .baseline.errors]')" = '[2,1,4,2]' ]
}

@test "perplexity: the corpus figure from token counts, else the geometric mean; and the ratio" {
	printf '%s\n' '{"id":1,"scores":{"m":1,"perplexity":4},"details":{"perplexity":{"sum_logprob":-10,"tokens":5}}}' \
		'{"id":2,"scores":{"m":1,"perplexity":9},"details":{"perplexity":{"sum_logprob":-20,"tokens":5}}}' > base.jsonl
	printf '%s\n' '{"id":1,"scores":{"m":1,"perplexity":2}}' '{"id":2,"scores":{"m":1,"perplexity":8}}' > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	o=$(overall)
	near "$(jq .baseline.perplexity <<<"$o")" "$(jq -n '3 | exp')"
	near "$(jq .candidate.perplexity <<<"$o")" 4
	[ "$(jq -c '[.baseline.perplexity_method, .candidate.perplexity_method]' <<<"$o")" = '["tokens","geomean"]' ]
	near "$(jq .ratios.perplexity <<<"$o")" "$(jq -n '4 / (3 | exp)')"
	run_ok qa-diff --perplexity m base.jsonl cand.jsonl
	[ "$(overall | jq -c '[.baseline.perplexity, .ratios.perplexity]')" = '[1,1]' ]
}

@test "--percentiles nearest-rank, and p99" {
	for i in $(seq 1 10); do rec "$i" t 1 "\"response\":{\"latency_ms\":$((i * 10))}"; done > base.jsonl
	run_ok qa-diff base.jsonl base.jsonl
	# numpy: h = 9 q / 100 between the sorted values 10, 20, ... 100
	[ "$(overall | jq -c '[.percentiles, .baseline.p50_ms, .baseline.latency_n]')" = '["linear",55,10]' ]
	near "$(overall | jq .baseline.p95_ms)" 95.5
	near "$(overall | jq .baseline.p99_ms)" 99.1
	run_ok qa-diff --percentiles nearest-rank base.jsonl base.jsonl
	[ "$(overall | jq -c '[.percentiles, .baseline.p50_ms, .baseline.p95_ms, .baseline.p99_ms]')" = '["nearest-rank",50,100,100]' ]
}

@test "--z sets the normal quantile of every interval" {
	example > base.jsonl
	example_cand > cand.jsonl
	run_ok qa-diff --z 1.96 base.jsonl cand.jsonl
	near "$(overall | jq .delta.ci_low)" "$(jq -n '-0.25 - 1.96 * 0.25')"
}

@test "a task that differs between the runs: the baseline's is used, with a warning" {
	{ rec 1 a 1; rec 2 a 1; } > base.jsonl
	{ rec 1 a 1; rec 2 b 0; } > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "$(task_line a | jq -c '[.n, .mcnemar.b]')" = '[2,1]' ]
	[ "$(task_line b | jq -c '[.n, .candidate.records]')" = '[0,1]' ]
	assert_stderr 'qa-diff: cand.jsonl: 1 id has another task than in the baseline (first at line 2); the baseline'"'"'s is used'
}

@test "usage errors exit 2 before reading; fractions and percentages are checked" {
	example > base.jsonl
	run_usage qa-diff --max-drop 2 base.jsonl base.jsonl
	assert_stderr "qa-diff: --max-drop: '2' is not a fraction from 0 to 1 (0.02 is two points)"
	run_usage qa-diff --max-flips 101 base.jsonl base.jsonl
	run_usage qa-diff --max-invalid -1 base.jsonl base.jsonl
	run_usage qa-diff --gate-on lower base.jsonl base.jsonl
	run_usage qa-diff --gate-scope tasks base.jsonl base.jsonl
	run_usage qa-diff --format csv base.jsonl base.jsonl
	run_usage qa-diff --percentiles median base.jsonl base.jsonl
	run_usage qa-diff --bootstrap 0 base.jsonl base.jsonl
	run_usage qa-diff --seed -1 base.jsonl base.jsonl
	run_usage qa-diff --z 0 base.jsonl base.jsonl
	run_usage qa-diff base.jsonl
	assert_stderr --partial 'qa-diff: need two runs: baseline and candidate'
	run_usage qa-diff base.jsonl base.jsonl base.jsonl
	run_usage qa-diff --no-such-option base.jsonl base.jsonl
	run_usage qa-diff base.jsonl nope.jsonl
	assert_stderr 'qa-diff: nope.jsonl: No such file or directory'
	assert_output ''
}

@test "--help prints the usage on stdout and exits 0; --version too" {
	run_ok qa-diff --help
	assert_line --index 0 --partial 'usage: qa-diff'
	run_ok qa-diff --version
	assert_output --regexp '^qa-diff [0-9]+\.[0-9]+'
}

@test "undefined statistics are null, never NaN" {
	printf '%s\n' '{"id":1,"scores":{"m":0.5}}' > base.jsonl
	printf '%s\n' '{"id":1,"error":{"type":"timeout","message":"x"}}' > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[[ "$output" != *[Nn]a[Nn]* && "$output" != *nf* ]]
	[ "$(overall | jq -c '[.n, .delta.mean, .baseline.mean, .recovery_pct, .candidate.error_rate]')" = '[0,null,null,null,1]' ]
}

@test "a full disk is an error; a closed stdout ends the run quietly" {
	example > base.jsonl
	run bash -c 'qa-diff base.jsonl base.jsonl >/dev/full'
	[ "$status" -eq 2 ]
	[[ "$output" == *"write error: No space left on device"* ]]
	run bash -c 'set -o pipefail; qa-diff base.jsonl base.jsonl | head -c 1'
	[ "$status" -eq 0 ]
}

@test "20k items: the counts agree with the same join done in jq" {
	awk 'BEGIN { srand(7); for (i = 1; i <= 20000; i++) {
		b = rand() < 0.7; c = rand() < 0.1 ? 1 - b : b
		printf "{\"id\":\"q%d\",\"task\":\"t%d\",\"scores\":{\"em\":%d}}\n", i, i % 3, b > "base.jsonl"
		printf "{\"id\":\"q%d\",\"task\":\"t%d\",\"scores\":{\"em\":%d}}\n", i, i % 3, c > "cand.jsonl" } }'
	run_ok qa-diff base.jsonl cand.jsonl
	got=$(overall | jq -c '[.n, .mcnemar.b, .mcnemar.c]')
	want=$(jq -cn --slurpfile b base.jsonl --slurpfile c cand.jsonl '(reduce $b[] as $r ({}; .[$r.id] = $r.scores.em)) as $B
		| [$c[] | [$B[.id], .scores.em]] | [length, (map(select(. == [1, 0])) | length), (map(select(. == [0, 1])) | length)]')
	[ "$got" = "$want" ]
}
