#!/usr/bin/env bats
# qa-report: the page an assessment ends in.  What it says is checked
# against what the tools computed; tests/92-report-browser.bats checks how
# a browser shows it.

setup_file() {
	load test_helper
	cd "$BATS_FILE_TMPDIR"
	mock_endpoints old int4 same > ep.conf
	# One assessment and one ramp, as the pipelines leave them, on a part of the battery.
	mk=(make -s --no-print-directory CONFIG="$PWD/ep.conf" PRICES="$QA_ROOT/pipelines/prices.csv" RUNS="$PWD/runs"
		TASKS="$QA_ROOT/pipelines/tasks/arith.jsonl $QA_ROOT/pipelines/tasks/classify.jsonl $QA_ROOT/pipelines/tasks/mcq.jsonl")
	"${mk[@]}" -f "$QA_ROOT/pipelines/migrate.mk" BASELINE=old CANDIDATE=int4 NAME=a MAX_DROP=0.02 \
		> /dev/null 2>&1 || true
	"${mk[@]}" -f "$QA_ROOT/pipelines/assess.mk" BASELINE=old CANDIDATE=int4 NAME=a report > /dev/null 2>&1
	"${mk[@]}" -f "$QA_ROOT/pipelines/assess.mk" BASELINE=old CANDIDATE=same NAME=p MAX_DROP=0.1 \
		PERPLEXITY=no report > /dev/null 2>&1
}

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	R=$BATS_FILE_TMPDIR/runs
}

# The text of the page without its tags, one line per line.
text_of() { sed -e 's/<[^>]*>//g' -e "s/&#39;/'/g" -e 's/&quot;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g' "$1"; }

# Two tiny scored runs written by hand: ID TASK SCORE_BASE SCORE_CAND per line on stdin.
mkruns() {
	while read -r id task a b; do
		for side in base cand; do
			s=$a; [ $side = cand ] && s=$b
			jq -nc --arg id "$id" --arg task "$task" --arg side "$side" --argjson s "$s" --arg p "${PROMPT:-What is 2+2?}" '
				{id: $id, task: $task, prompt: $p, expected: "4", metric: (env.METRIC // "exact_match"),
				 response: {text: ("answer of " + $side), model: ("m-" + $side), endpoint: $side, latency_ms: 100,
				            attempts: 1},
				 scores: {(env.METRIC // "exact_match"): $s}}' >> "$side.jsonl"
		done
	done
}

@test "qa-report --help is the synopsis, --version the version" {
	run_ok qa-report --help
	assert_line --index 0 --partial "usage: qa-report [-b name] [-c name]"
	run_ok qa-report -V
	assert_output "qa-report 0.1.0"
}

@test "qa-report: usage errors exit 2 and name the problem" {
	run_usage qa-report
	run_usage qa-report --max-drop 2 "$R/a"
	assert_stderr "qa-report: --max-drop: '2' is not a fraction between 0 and 1"
	run_usage qa-report nowhere
	assert_stderr --partial "nowhere: not a directory"
	mkdir empty
	run_usage qa-report empty
	assert_stderr --partial "cannot tell which scored runs to compare (found 0)"
	run_usage qa-report -b old -c nobody "$R/a"
	assert_stderr --partial "nobody.scored.jsonl"
	run_usage qa-report -o /nonexistent/dir/x.html "$R/a"
	assert_stderr --partial "/nonexistent/dir/x.html"
}

@test "assess.mk writes report.html: one file, nothing to fetch, under 1 MB" {
	f=$R/a/report.html
	[ -s "$f" ]
	[ "$(stat -c %s "$f")" -lt 1000000 ]
	head -c 15 "$f" | grep -qx '<!DOCTYPE html>'
	# No absolute URL, no link, no import, no external source of any kind.
	! grep -qiE 'https?:|//[a-z]|<link|@import|url\(|src=' "$f" || false
	# Only in-page links.
	[ "$(grep -oE 'href="[^"]*"' "$f" | grep -vc 'href="#')" -eq 0 ]
	# The browser is told the same: nothing loads, only this page's script runs.
	grep -q "Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-" "$f"
	[ "$(grep -o '<script' "$f" | wc -l)" -eq 1 ]
}

@test "the sections come in the issue's order, each with its heading" {
	grep -oE '<h2 id="[a-z]+"' "$R/a/report.html" | sed -E 's/.*"(.*)"/\1/' > got
	printf '%s\n' settings accuracy cost flips drift latency ramp > want
	diff want got
	# Headings, table markup and a text alternative for every chart.
	[ "$(grep -o '<h1>' "$R/a/report.html" | wc -l)" -eq 1 ]
	charts=$(grep -o 'role="img"' "$R/a/report.html" | wc -l)
	[ "$charts" -eq 6 ]
	[ "$(grep -oE '<title id="[a-z0-9]+-t">[^<]+</title><desc id="[a-z0-9]+-d">[^<]{20,}</desc>' "$R/a/report.html" | wc -l)" -eq "$charts" ]
	grep -q '<th scope="col">' "$R/a/report.html"
}

@test "the decision is qa-diff's, with the criterion that decided" {
	[ "$(jq -r 'select(.scope == "overall") | .decision' "$R/a/diff.json")" = fail ]
	msg=$(jq -r 'select(.scope == "overall") | .gate.failures[0].message' "$R/a/diff.json")
	text_of "$R/a/report.html" | grep -F "Do not ship. The gate failed: $msg"
	[ "$(jq -r 'select(.scope == "overall") | .decision' "$R/p/diff.json")" = pass ]
	text_of "$R/p/report.html" | grep -E 'Ship. The gate held: accuracy changed by [-+][0-9.]+ points, and even the 95% CI.s lower bound \([-+][0-9.]+\) stays within --max-drop 0.1 \(10 points\)'
	# The gate's threshold is drawn on the forest plot.
	grep -q '>gate -10 pts<' "$R/p/report.html"
	grep -q '>gate -2 pts<' "$R/a/report.html"
}

@test "accuracy rows are qa-diff's numbers, per task and overall" {
	for task in arith classify mcq; do
		row=$(jq -r --arg t "$task" 'select(.task == $t) |
			"\(.baseline.mean * 1000 | round / 10)% [\(.baseline.ci_low * 1000 | round / 10)%"' "$R/a/diff.json")
		# jq prints 85 where the page prints 85.0.
		row=$(sed -E 's/([0-9]+)%/\1.0%/g; s/\.([0-9])\.0%/.\1%/g' <<<"$row")
		grep -F "<th scope=\"row\">$task</th>" "$R/a/report.html" | grep -F "$row"
	done
	grep -F '<th scope="row">overall</th>' "$R/a/report.html"
}

@test "every flipped item is listed, and the 2x2 table matches qa-diff's flips" {
	b=$(jq 'select(.scope == "overall") | .flips.right_to_wrong' "$R/a/diff.json")
	c=$(jq 'select(.scope == "overall") | .flips.wrong_to_right' "$R/a/diff.json")
	[ $((b + c)) -gt 0 ]
	[ "$(grep -c 'data-dir="r2w"' "$R/a/report.html")" -eq "$b" ]
	[ "$(grep -c 'data-dir="w2r"' "$R/a/report.html")" -eq "$c" ]
	grep -F "<strong>$b</strong> right&rarr;wrong" "$R/a/report.html"
	grep -F "<strong>$c</strong> wrong&rarr;right" "$R/a/report.html"
	# Each flipped id, with both answers and what the scorer extracted.
	jq -r 'select(.scores | to_entries[0].value == 1) | .id' "$R/a/old.scored.jsonl" | sort > right-old
	jq -r 'select(.scores | to_entries[0].value == 1) | .id' "$R/a/int4.scored.jsonl" | sort > right-int4
	comm -23 right-old right-int4 > r2w
	[ "$(wc -l < r2w)" -eq "$b" ]
	while read -r id; do grep -qF "data-dir=\"r2w\"><td><code>$id</code>" "$R/a/report.html"; done < r2w
	grep -q '; extracted: <code>' "$R/a/report.html"
	# Without script every row shows: the filter form is hidden until the script shows it.
	grep -q '<form id="flipfilter" class="filter" hidden>' "$R/a/report.html"
	! grep -q '<tr[^>]* hidden' "$R/a/report.html" || false
}

@test "cost: qa-cost's figures, the Pareto front and the arithmetic" {
	f=$R/a/report.html
	arith=$(jq -r 'select(.scope == "projection" and .endpoint == "int4") | .savings_arithmetic' "$R/a/cost.json")
	grep -qF "savings: <code>$arith</code>" "$f"
	grep -q 'cost per 1,000 tasks (USD, log scale)' "$f"
	# int4 is cheaper; the baseline more accurate: both are on the front.
	grep -q '>old (Pareto front)<' "$f"
	grep -q '>int4 (Pareto front)<' "$f"
	# qa-cost writes intervals (issue 22): the run's own show, per 1k tasks and per correct answer
	! text_of "$f" | grep -q 'Cost confidence intervals: not in this run' || false
	text_of "$f" | grep -q "costs per correct answer theirs (the delta method"
	[ "$(jq -r 'select(.endpoint == "int4" and .scope == "group") | .cost_per_correct_ci.method' "$R/a/cost.json")" = delta ]
	# a cost.json without them (an older qa-cost) says so
	jq -c 'del(.cost_per_1k_tasks_ci, .cost_per_correct_ci)' "$R/a/cost.json" > old-cost.json
	run_ok qa-report --cost old-cost.json -o old.html "$R/a/old.scored.jsonl" "$R/a/int4.scored.jsonl"
	text_of old.html | grep -q 'Cost confidence intervals: not in this run'
	# When qa-cost writes intervals, they show, in the table and as bars.
	jq -c 'if .scope == "group" then .cost_per_1k_tasks_ci = {low: (.cost_per_1k_tasks * 0.9), high: (.cost_per_1k_tasks * 1.1)} else . end' \
		"$R/a/cost.json" > cost.json
	run_ok qa-report --cost cost.json -o page.html "$R/a/old.scored.jsonl" "$R/a/int4.scored.jsonl"
	lo=$(jq -r 'select(.endpoint == "int4" and .scope == "group") | .cost_per_1k_tasks * 0.9 * 10000 | round / 10000' "$R/a/cost.json")
	grep -qF "[\$$lo" page.html
	text_of page.html | grep -q "carry qa-cost's 95% intervals"
	! text_of page.html | grep -q 'Cost confidence intervals: not in this run' || false
}

@test "perplexity, drift and the ramp show when the runs carry them, and say so when not" {
	f=$R/a/report.html
	grep -q '<strong>Top-k estimate</strong> (top-k renormalized)' "$f"
	grep -q 'id="kld"' "$f"
	grep -q 'id="rampchart"' "$f"
	[ "$(grep -c '<tr><th scope="row">[0-9]</th>' "$f")" -eq "$(ls "$R"/a/stage-*.row | wc -l)" ]
	text_of "$f" | grep -q 'TTFT and TPOT: not in this run'
	text_of "$f" | grep -q 'Noise floor: not in this run'
	f=$R/p/report.html
	! grep -q 'id="kld"' "$f" || false
	text_of "$f" | grep -q 'Corpus perplexity: not in this run'
	text_of "$f" | grep -q 'Token drift (KL divergence, same top token): not in this run'
	text_of "$f" | grep -q 'No migration ramp in this run'
}

@test "named files: two scored runs and whichever summaries there are" {
	run_ok qa-report --diff "$R/a/diff.json" "$R/a/old.scored.jsonl" "$R/a/int4.scored.jsonl"
	[[ $output == *'<h1>qa: int4 against old</h1>'* ]]
	[[ $output == *'id="forest"'* ]]
	[[ $output == *'No cost summary in this run'* ]]
	[[ $output == *'No migration ramp in this run'* ]]
	run_usage qa-report -b old "$R/a/old.scored.jsonl" "$R/a/int4.scored.jsonl"
}

@test "the run folder alone: the baseline is the one qa-cost priced savings against" {
	run_ok qa-report -o page.html "$R/a"
	grep -q '<h1>qa: int4 against old</h1>' page.html
	# One side named: the other is the folder's other run, whichever comes first by name.
	run_ok qa-report -c old -o page.html "$R/a"
	grep -q '<h1>qa: old against int4</h1>' page.html
	run_ok qa-report -b int4 -o page.html "$R/a"
	grep -q '<h1>qa: old against int4</h1>' page.html
	# Two runs and nothing to tell the baseline by: ask.
	mkdir two
	cp "$R/a/old.scored.jsonl" two/x.scored.jsonl
	cp "$R/a/int4.scored.jsonl" two/y.scored.jsonl
	run_usage qa-report two
	assert_stderr --partial "two: two scored runs and no way to tell the baseline: use -b and -c"
	cp "$R/a/int4.scored.jsonl" two/z.scored.jsonl
	run_usage qa-report -b x two
	assert_stderr --partial "cannot tell which scored runs to compare (found 3)"
}

@test "a hostile prompt, answer, task and id are text, never markup" {
	PROMPT='</script><img src=x onerror="window.pwned=1"><script>window.pwned=2</script>' mkruns <<-'EOF'
	a<b>"x' t</textarea> 1 0
	plain ok 0 1
	EOF
	jq -c '.response.text = "<svg onload=alert(1)>&amp;"' cand.jsonl > c2 && mv c2 cand.jsonl
	run_ok qa-report -t '<b>title</b>' -o page.html base.jsonl cand.jsonl
	! grep -qi '<img\|<svg onload\|<b>\|<textarea' page.html || false
	[ "$(grep -o '<script' page.html | wc -l)" -eq 1 ]
	grep -qF '&lt;/script&gt;&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;' page.html
	grep -qF '&lt;svg onload=alert(1)&gt;&amp;amp;' page.html
	grep -qF 'data-task="t&lt;/textarea&gt;"' page.html
	grep -qF '<code>a&lt;b&gt;&quot;x&#39;</code>' page.html
	grep -qF '<title>&lt;b&gt;title&lt;/b&gt;</title>' page.html
}

@test "new tasks and continuous scores show up: a ROUGE-scored task lists the answers that moved" {
	METRIC=rougeL mkruns <<-'EOF'
	s1 summarize 0.30 0.80
	s2 summarize 0.70 0.20
	s3 summarize 0.50 0.55
	EOF
	run_ok qa-report -o page.html base.jsonl cand.jsonl
	[ "$(grep -c 'data-dir="better"' page.html)" -eq 1 ]
	[ "$(grep -c 'data-dir="worse"' page.html)" -eq 1 ]
	grep -qF 'data-dir="better"><td><code>s1</code><br>summarize' page.html
	grep -qF 'rougeL = 0.8' page.html
	# Not 0/1 scores: nothing in the right/wrong table.
	grep -qF 'Items scored 0 or 1 on both sides (0)' page.html
	# No diff.json: no decision, and the page says why.
	text_of page.html | grep -q 'No decision. No gate was applied to these runs'
	# A task that qa-diff reports under two metrics gets two labelled rows.
	cat > diff.json <<-'EOF'
	{"scope":"task","task":"summarize","metric":"rougeL","binary":false,"n":3,"baseline":{"mean":0.5,"ci_low":0.3,"ci_high":0.7},"candidate":{"mean":0.52,"ci_low":0.32,"ci_high":0.72},"delta":{"mean":0.02,"ci_low":-0.1,"ci_high":0.14},"flips":null,"some_new_field":{"x":1}}
	{"scope":"task","task":"summarize","metric":"macro_f1","binary":false,"n":3,"baseline":{"mean":0.6},"candidate":{"mean":0.4},"delta":{"mean":-0.2}}
	{"scope":"overall","n":3,"baseline":{"mean":0.5},"candidate":{"mean":0.52},"delta":{"mean":0.02},"gate":null,"decision":null}
	EOF
	run_ok qa-report --diff diff.json -o page.html base.jsonl cand.jsonl
	grep -qF '>summarize · rougeL</text>' page.html
	grep -qF '>summarize · macro_f1</text>' page.html
	grep -qF '<td class="n">50.0% [30.0%, 70.0%]</td>' page.html
	grep -qF '<td class="n">-20.0</td>' page.html
}

@test "a line that is not JSON is left out with file and line, and the page is still written (exit 1)" {
	mkruns <<-'EOF'
	i1 t 1 0
	i2 t 1 1
	EOF
	sed -i '2s/.*/{"id": "i2", broken/' cand.jsonl
	run_data qa-report -o page.html base.jsonl cand.jsonl
	assert_stderr --partial "qa-report: cand.jsonl:2: invalid JSON at byte 14: left out of the report"
	grep -q 'data-dir="r2w"' page.html
	text_of page.html | grep -q '1 item only in the baseline and 0 only in the candidate: they are not compared'
}

@test "streamed runs get TTFT and TPOT distributions; errors are counted by type" {
	mkruns <<-'EOF'
	i1 t 1 1
	i2 t 1 1
	EOF
	jq -c '.response.ttft_ms = 40 | .response.tpot_ms = 7' base.jsonl > b2
	jq -c 'if .id == "i2" then del(.response) | del(.scores) | .error = {type: "rate_limit", attempts: 3} else .response.ttft_ms = 20 end' cand.jsonl > c2
	run_ok qa-report -o page.html b2 c2
	grep -q 'id="cdf1"' page.html
	grep -q 'id="cdf2"' page.html
	# Records 2, retries 2 (3 attempts), fallbacks 0.
	grep -qF '<th scope="row">cand</th><td class="n">2</td><td class="n">2</td><td class="n">0</td><td>rate_limit 1</td>' page.html
}
