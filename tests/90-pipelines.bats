#!/usr/bin/env bats
# The pipelines a user runs: assess.mk, migrate.mk, make demo, and the
# battery sharded with GNU parallel.  All on the mock provider.

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	mock_endpoints old fragile same int4 > ep.conf
	cat >> ep.conf <<-'EOF'
	[down]
	provider = openai
	base_url = http://127.0.0.1:9/v1
	model = gpt-4o
	key_env = QA_TEST_NO_KEY
	EOF
	export QA_TEST_NO_KEY=sk-canary-0000
	mk=(make -s --no-print-directory CONFIG="$PWD/ep.conf" PRICES="$QA_ROOT/pipelines/prices.csv" RUNS="$PWD/runs")
	ntasks=$(cat "$QA_ROOT"/pipelines/tasks/*.jsonl | wc -l)
}

migrate() { "${mk[@]}" -f "$QA_ROOT/pipelines/migrate.mk" "$@"; }
assess() { "${mk[@]}" -f "$QA_ROOT/pipelines/assess.mk" "$@"; }

# The ids a stage routed to an endpoint, sorted.
routed() { jq -r --arg e "$2" 'select(.endpoint == $e) | .id' "runs/$1" | sort; }

@test "migrate.mk: a candidate that degrades at 60% is rolled back, and make fails" {
	run --separate-stderr migrate BASELINE=old CANDIDATE=fragile NAME=m
	[ "$status" -eq 2 ]	# make's status for a failed recipe
	assert_stderr --partial "stage 3 failed its gate; traffic rolled back to old"
	assert_stderr --partial "Error 1"
	# The table: a header, stages 1-3, then the rollback.
	run awk '{ print $1, $2, $NF }' runs/m/ramp.txt
	assert_output "$(printf 'STAGE WEIGHT DECISION\n1 10%% advance\n2 30%% advance\n3 60%% rollback\n0 0%% back')"
	grep -q 'rolled back' runs/m/ramp.txt
	[ ! -e runs/m/stage-3.pass ]
	[ ! -e runs/m/stage-4.jsonl ]
	# Every stage routes every task; the rollback sends all of them to the baseline.
	for k in 0 1 2 3; do [ "$(wc -l < "runs/m/stage-$k.jsonl")" -eq "$ntasks" ]; done
	[ "$(routed m/stage-0.jsonl old | wc -l)" -eq "$ntasks" ]
	# Sticky and monotone: the candidate's cohort only grows along the ramp.
	routed m/stage-1.jsonl fragile > c1
	routed m/stage-2.jsonl fragile > c2
	routed m/stage-3.jsonl fragile > c3
	[ -s c1 ]
	[ -z "$(comm -23 c1 c2)" ]
	[ -z "$(comm -23 c2 c3)" ]
	# The gate saw what the records say: the candidate's share collapsed at 60%.
	acc() { jq -s --arg e "$2" '[.[] | select(.endpoint == $e) | .scores | to_entries[0].value] | add / length' "runs/m/$1"; }
	[ "$(jq -n "$(acc stage-2.jsonl fragile) > 0.75")" = true ]
	[ "$(jq -n "$(acc stage-3.jsonl fragile) < 0.6")" = true ]
	# The requests column adds up, per stage, to the battery.
	run awk 'NR > 1 { print $4 + $7 }' runs/m/ramp.txt
	for n in $output; do [ "$n" -eq "$ntasks" ]; done
	# Run again: only the failed gate is looked at again; no stage is re-sent.
	before=$(stat -c %Y runs/m/stage-1.jsonl runs/m/stage-2.jsonl runs/m/old.scored.jsonl)
	run --separate-stderr migrate BASELINE=old CANDIDATE=fragile NAME=m
	[ "$status" -ne 0 ]
	[ "$(stat -c %Y runs/m/stage-1.jsonl runs/m/stage-2.jsonl runs/m/old.scored.jsonl)" = "$before" ]
}

@test "migrate.mk: a candidate as good as the baseline goes to 100% and make succeeds" {
	run --separate-stderr migrate BASELINE=old CANDIDATE=same NAME=m PLAN=25,50,100
	assert_success
	assert_line --regexp '^3 +100% +old 0 / same '"$ntasks"' .* done$'
	[ -e runs/m/stage-3.pass ]
	[ ! -e runs/m/stage-0.jsonl ]
	# The table's cost column is qa-cost's, per stage.
	want=$(jq -r 'select(.scope == "overall") | .cost * 10000 | round / 10000' runs/m/stage-1.cost.json)
	grep -q "\$$want " runs/m/ramp.txt
}

@test "migrate.mk: a candidate that cannot be reached falls back to the baseline and is rolled back" {
	run --separate-stderr migrate BASELINE=old CANDIDATE=down NAME=m SEND_FLAGS='--retries 0'
	[ "$status" -ne 0 ]
	# Served by the baseline after the candidate's network error: no error reaches the user.
	run jq -s '[.[] | select(.endpoint == "down")] | (length > 0) and all(.response.endpoint == "old" and (.response.fallback_from | length) == 1)' runs/m/stage-1.jsonl
	assert_output true
	# The gate counts them as the candidate's errors: stage 1 rolls back.
	n=$(routed m/stage-1.jsonl down | wc -l)
	run awk 'NR == 2 { print $1, $(NF - 3), $(NF - 2), $NF }' runs/m/ramp.txt
	assert_output "1 0 $n rollback"
	assert_stderr --partial "stage 1 failed its gate"
	run ! grep -rq sk-canary-0000 runs/m
}

@test "migrate.mk: missing BASELINE, CANDIDATE or tasks are errors before anything runs" {
	run migrate CANDIDATE=x
	[ "$status" -ne 0 ]
	assert_output --partial "BASELINE is not set"
	run migrate BASELINE=x CANDIDATE=y TASKS=/nonexistent-*.jsonl
	[ "$status" -ne 0 ]
	assert_output --partial "TASKS names no file"
	[ ! -e runs ]
}

@test "assess.mk: a failing candidate gets the whole report, then make fails on the gate" {
	run --separate-stderr assess BASELINE=old CANDIDATE=int4 NAME=a
	[ "$status" -ne 0 ]
	for f in old.sent.jsonl int4.scored.jsonl old.summary.txt int4.summary.json ppl-baseline.jsonl \
	    ppl.summary.json diff.json diff.txt cost.json cost.md report.md; do
		[ -s "runs/a/$f" ] || { echo "missing runs/a/$f"; false; }
	done
	[ "$(cat runs/a/gate.status)" = 1 ]
	[ "$(jq -r 'select(.scope == "overall") | .decision' runs/a/diff.json)" = fail ]
	# The runs are priced before the diff, so it compares cost too: int4 costs 0.42/0.42 against 5/15.
	[ "$(jq -r 'select(.scope == "overall") | .ratios.mean_cost | type == "number" and . < 0.1' runs/a/diff.json)" = true ]
	for h in '**Decision: FAIL**' '## Accuracy per task (95% CI)' '## Perplexity against accuracy' \
	    '## Latency, cost and savings' 'savings: $'; do
		grep -qF -- "$h" runs/a/report.md || { echo "report lacks: $h"; false; }
	done
	# The report's numbers are the tools' own: overall accuracy, rounded.
	want=$(jq -r 'select(.scope == "overall") | .baseline.mean * 1000 | round / 10' runs/a/diff.json)
	grep -q "^| \*\*overall\*\* | $ntasks | $want" runs/a/report.md
	# Perplexity was measured for both sides, over every prompt.
	[ "$(jq -s 'map(.tokens > 0 and .token_perplexity > 1) | all' runs/a/ppl.summary.json)" = true ]
}

@test "assess.mk: a re-run redoes only what changed" {
	assess BASELINE=old CANDIDATE=same NAME=a MAX_DROP=0.1 > /dev/null
	run assess -n BASELINE=old CANDIDATE=same NAME=a MAX_DROP=0.1
	refute_output --partial qa-send
	refute_output --partial qa-score
	# A config edit sends again (both endpoints: make cannot tell which section changed).
	touch -d '+1 minute' ep.conf
	run assess -n BASELINE=old CANDIDATE=same NAME=a MAX_DROP=0.1
	assert_output --partial 'qa-send -q --endpoint old'
	assert_output --partial 'qa-send -q --endpoint same'
}

@test "assess.mk: a candidate within the gate passes, and PERPLEXITY=no leaves logprobs out" {
	run --separate-stderr assess BASELINE=old CANDIDATE=same NAME=a PERPLEXITY=no MAX_DROP=0.1
	assert_success
	grep -qF '**Decision: PASS**' runs/a/report.md
	[ "$(grep -c Perplexity runs/a/report.md)" = 0 ]
	[ ! -e runs/a/ppl-baseline.jsonl ]
}

@test "make demo: the one-screen report, with the ramp, without network or key" {
	cd "$QA_ROOT"
	run --separate-stderr env -u OPENAI_API_KEY make -s --no-print-directory demo BUILD="$QA_BUILD"
	assert_success
	for h in 'Decision: FAIL' 'Accuracy per task' 'right→wrong' 'Perplexity against accuracy' \
	    'p95 ms' 'cost per correct answer' 'savings: $' 'Migration ramp' 'rolled back'; do
		assert_output --partial "$h"
	done
	# 66 lines since the corpus-metrics and decoding sections came in (the merge of w16 and w19)
	[ "$(echo "$output" | wc -l)" -le 60 ]
}

@test "sharding: parallel --pipe summaries merge into exactly the single run's summary" {
	cat "$QA_ROOT"/pipelines/tasks/*.jsonl | qa-send -q --provider mock --model int4 > sent.jsonl
	qa-score --summary sent.jsonl > whole.json
	parallel --will-cite --pipe -N 37 -k qa-score --summary < sent.jsonl > shards.json
	[ "$(grep -c '"scope":"overall"' shards.json)" -gt 8 ]
	qa-score --merge shards.json > merged.json
	# 0/1 scores merge bit for bit; others (squad_f1, ROUGE's corpus means) to rounding, at any depth.
	grep '"ci_method":"wilson"' whole.json | jq -c 'del(.stats)' > w.bin
	grep '"ci_method":"wilson"' merged.json | jq -c 'del(.stats)' | cmp - w.bin
	json_near whole.json merged.json
	# Table output from the merge is the table of the whole.
	diff <(qa-score --merge --format table shards.json) <(qa-score --summary --format table sent.jsonl)
}

@test "sharding: perplexity corpus figures merge too" {
	jq -c '{id, task, prompt}' "$QA_ROOT"/pipelines/tasks/*.jsonl |
		qa-send -q --provider mock -p logprobs=5 -p echo=true -p max_tokens=0 |
		qa-score --metric perplexity > ppl.jsonl
	qa-score --summary --metric perplexity ppl.jsonl | tail -n 1 > whole.json
	split -l 100 ppl.jsonl part.
	for f in part.*; do qa-score --summary --metric perplexity "$f"; done | qa-score --merge | tail -n 1 > merged.json
	for k in n tokens words bytes; do
		[ "$(jq ".$k > 0" whole.json)" = true ]
		[ "$(jq ".$k" whole.json)" = "$(jq ".$k" merged.json)" ]
	done
	jq -n --slurpfile a whole.json --slurpfile b merged.json \
		'($a[0].token_perplexity - $b[0].token_perplexity | fabs) < 1e-12 * $a[0].token_perplexity' | grep -qx true
}

@test "qa-score --merge: a line that is not a summary names the file and line, exit 2" {
	printf '{"scope":"overall","task":null,"metric":"exact_match","n":2,"sum":1,"m2":0.5,"ci_method":"wilson","errors":0,"invalid":0}\n{"id":1}\nnot json\n' > s.json
	run_usage qa-score --merge s.json
	assert_stderr --partial "s.json:2: not a qa-score --summary line"
	assert_stderr --partial "s.json:3: "
	# What could be read is still summed.
	[ "$(field '.n')" = 2 ]
	run_usage qa-score --merge -m exact_match s.json
}
