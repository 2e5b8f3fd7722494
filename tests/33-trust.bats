#!/usr/bin/env bats
# Comparisons you can trust: runs sent alike (response.sent and qa-diff's
# comparability check), and cost per correct answer with its uncertainty,
# checked against numpy (Debian's python3-numpy, at /usr/bin/python3).

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	unset QA_PRICES
	cat > prices.csv <<'CSV'
provider,model,input_per_mtok,output_per_mtok,cached_input_per_mtok,cache_write_per_mtok,reasoning_per_mtok,currency,date,source
example,one-dollar,1.00,1.00,,,,USD,2026-01-01,a dollar per million tokens
CSV
	printf '%s\n' '{"id":1,"prompt":"2+2?","expected":"4","metric":"exact_match"}' \
		'{"id":2,"prompt":"hi","system":"be brief","expected":"x","metric":"exact_match"}' \
		'{"id":3,"prompt":"q","params":{"temperature":1},"expected":"y","metric":"exact_match"}' > tasks.jsonl
}

# A scored run of tasks.jsonl on the mock provider: out model [qa-send flags...]
run_mock() {
	local out=$1 model=$2
	shift 2
	qa-send -q --provider mock --model "$model" "$@" < tasks.jsonl | qa-score > "$out"
}

@test "qa-send: response.sent holds the params after --param defaults and hashes of prompt and system" {
	run_ok qa-send -q --provider mock --param temperature=0 --param max_tokens=32 tasks.jsonl
	run jq -c '.response.sent' <<<"$output"
	[ "$(jq -c .params <<<"${lines[0]}")" = '{"temperature":0,"max_tokens":32}' ]
	[ "$(jq -c 'keys' <<<"${lines[0]}")" = '["params","prompt_hash"]' ]
	[[ "$(jq -r .prompt_hash <<<"${lines[0]}")" =~ ^[0-9a-f]{16}$ ]]
	# the record's own params win over --param
	[ "$(jq -c .params <<<"${lines[2]}")" = '{"temperature":1,"max_tokens":32}' ]
	# a system prompt has a hash of its own; the others have none
	[ "$(jq -r '.system_hash | length' <<<"${lines[1]}")" = 16 ]
	[ "$(jq -c 'has("system_hash")' <<<"${lines[0]}")" = false ]
	# the same prompt hashes the same whatever the model; another prompt differently
	run_mock b.jsonl base
	run_mock c.jsonl cand
	[ "$(jq -r .response.sent.prompt_hash b.jsonl)" = "$(jq -r .response.sent.prompt_hash c.jsonl)" ]
	[ "$(jq -r .response.sent.prompt_hash b.jsonl | sort -u | wc -l)" = 3 ]
}

@test "qa-diff: runs sent alike compare; the endpoint and the model may differ" {
	run_mock b.jsonl base --param temperature=0
	run_mock c.jsonl cand --param temperature=0
	run_ok qa-diff b.jsonl c.jsonl
	[ "$(jq -c 'select(.scope == "overall") | .n' <<<"$output")" = 3 ]
	[ -z "$stderr" ]
}

@test "qa-diff: different decoding parameters are refused with exit 2, the first difference named" {
	run_mock b.jsonl base --param temperature=0
	run_mock c.jsonl cand --param temperature=0.7
	run_usage qa-diff b.jsonl c.jsonl
	[ -z "$output" ]
	assert_stderr "qa-diff: c.jsonl:1: not comparable: response.sent.params.temperature is 0.7 here, 0 in the baseline (line 1); --allow-mismatch temperature compares anyway"
	# told that the difference is the point, it compares
	run_ok qa-diff --allow-mismatch temperature b.jsonl c.jsonl
	[ "$(jq -c 'select(.scope == "overall") | .n' <<<"$output")" = 3 ]
	# a parameter on one side only is a difference too; a list allows several
	run_mock c2.jsonl cand --param temperature=0.7 --param max_tokens=5
	run_usage qa-diff b.jsonl c2.jsonl
	assert_stderr --partial "response.sent.params.temperature is 0.7 here"
	run_usage qa-diff --allow-mismatch temperature b.jsonl c2.jsonl
	assert_stderr --partial "response.sent.params.max_tokens is 5 here, absent in the baseline"
	run_ok qa-diff --allow-mismatch temperature,max_tokens b.jsonl c2.jsonl
}

@test "qa-diff: a changed system prompt or prompt is named" {
	run_mock b.jsonl base
	sed 's/be brief/be long/' tasks.jsonl | qa-send -q --provider mock | qa-score > c.jsonl
	run_usage qa-diff b.jsonl c.jsonl
	assert_stderr --partial "c.jsonl:2: not comparable: response.sent.system_hash is"
	sed 's/2+2?/3+3?/' tasks.jsonl | qa-send -q --provider mock | qa-score > d.jsonl
	run_usage qa-diff b.jsonl d.jsonl
	assert_stderr --partial "d.jsonl:1: not comparable: response.sent.prompt_hash is"
	# numbers compare by value: 0 and 0.0 are the same temperature
	jq -c '.response.sent.params.temperature = 0' b.jsonl > b0.jsonl
	jq -c '.response.sent.params.temperature = 0.0' b.jsonl | sed 's/"temperature":0/"temperature":0.0/' > b1.jsonl
	grep -q '"temperature":0.0' b1.jsonl
	run_ok qa-diff b0.jsonl b1.jsonl
}

@test "qa-diff: records without response.sent compare as before; a run with it on one side only warns" {
	run_mock b.jsonl base --param temperature=0
	run_mock c.jsonl cand --param temperature=0.7
	jq -c 'del(.response.sent)' b.jsonl > old-b.jsonl
	jq -c 'del(.response.sent)' c.jsonl > old-c.jsonl
	run_ok qa-diff old-b.jsonl old-c.jsonl
	[ -z "$stderr" ]
	run_ok qa-diff old-b.jsonl c.jsonl
	assert_stderr "qa-diff: 3 of 3 compared pairs carry no response.sent on one side or both (records from an older qa-send?): whether they were sent alike is not checked"
	# items in one run only are reported, not refused
	head -2 c.jsonl > c2.jsonl
	run_ok qa-diff --allow-mismatch temperature b.jsonl c2.jsonl
	assert_stderr --partial "1 id only in the baseline, 0 only in the candidate: not compared"
}

# Four tasks costing $1..$4, right, wrong, right, right.
hand_case() {
	for t in "1 1" "2 0" "3 1" "4 1"; do
		set -- $t
		printf '{"id":%s,"scores":{"exact_match":%s},"response":{"model":"one-dollar","usage":{"prompt_tokens":%s000000,"completion_tokens":0}}}\n' $1 $2 $1
	done
}

@test "qa-cost: cost per correct answer's CI is the delta method's, as derived by hand" {
	hand_case > h.jsonl
	run_ok qa-cost -p prices.csv --summary h.jsonl
	run jq -c 'select(.scope == "overall") | [.cost_per_correct, .cost_per_correct_ci.method]' <<<"$output"
	[ "$output" = '[3.3333333333333335,"delta"]' ]
	# R = 10/3; residuals y - R x: -7/3, 2, -1/3, 2/3, squares summing to 10;
	# Var(R) = 10 / (n (n - 1) xbar^2) = 10 / (4 * 3 * 9/16) = 40/27
	run_ok qa-cost -p prices.csv --summary h.jsonl
	lo=$(jq -r 'select(.scope == "overall") | .cost_per_correct_ci.low' <<<"$output")
	hi=$(jq -r 'select(.scope == "overall") | .cost_per_correct_ci.high' <<<"$output")
	jq -en --argjson lo "$lo" --argjson hi "$hi" \
		'(10/3 - 1.959963984540054 * (40/27 | sqrt)) as $l | (10/3 + 1.959963984540054 * (40/27 | sqrt)) as $h |
		 (($lo - $l) | fabs) < 1e-12 and (($hi - $h) | fabs) < 1e-12'
	# nothing right: no cost per correct answer, no CI
	hand_case | sed 's/"exact_match":1/"exact_match":0/' > none.jsonl
	run_ok qa-cost -p prices.csv --summary none.jsonl
	[ "$(jq -c 'select(.scope == "overall") | [.cost_per_correct, .cost_per_correct_ci]' <<<"$output")" = '[null,null]' ]
}

@test "qa-cost: the delta-method CI agrees with numpy's gradient form on random data" {
	/usr/bin/python3 - <<'PY'
import json, numpy as np
rng = np.random.default_rng(7)
with open("r.jsonl", "w") as f:
    for i in range(500):
        x = int(rng.random() < 0.63)
        tok = int(rng.poisson(800 + 1500 * x))
        f.write(json.dumps({"id": i, "scores": {"exact_match": x},
            "response": {"model": "one-dollar", "usage": {"prompt_tokens": tok, "completion_tokens": 0}}}) + "\n")
PY
	run_ok qa-cost -p prices.csv --summary r.jsonl
	jq -c 'select(.scope == "overall")' <<<"$output" > got.json
	/usr/bin/python3 - <<'PY'
import json, numpy as np
recs = [json.loads(l) for l in open("r.jsonl")]
x = np.array([r["scores"]["exact_match"] for r in recs], float)
y = np.array([r["response"]["usage"]["prompt_tokens"] / 1e6 for r in recs])
n = len(x)
R = y.mean() / x.mean()
# the gradient of mean(y) / mean(x) applied to the sample covariance (ddof 1)
g = np.array([1 / x.mean(), -y.mean() / x.mean() ** 2])
var = g @ np.cov(np.vstack([y, x])) @ g / n
z = 1.959963984540054
got = json.load(open("got.json"))
ci = got["cost_per_correct_ci"]
assert abs(got["cost_per_correct"] - R) < 1e-12 * R, (got["cost_per_correct"], R)
assert abs(ci["low"] - (R - z * np.sqrt(var))) < 1e-9 * R, (ci, R, var)
assert abs(ci["high"] - (R + z * np.sqrt(var))) < 1e-9 * R, (ci, R, var)
PY
}

@test "qa-cost: the 95% CI covers the true cost per correct answer in about 95% of 400 samples" {
	# x ~ Bernoulli(0.6), tokens ~ Poisson(1000 + 2000 x): the true ratio is
	# E[y] / E[x] = (1000 + 1200) / 1e6 / 0.6 dollars
	/usr/bin/python3 - <<'PY'
import json, numpy as np
for seed in range(400):
    rng = np.random.default_rng(seed)
    with open(f"s{seed}.jsonl", "w") as f:
        for i in range(150):
            x = int(rng.random() < 0.6)
            tok = int(rng.poisson(1000 + 2000 * x))
            f.write(json.dumps({"id": i, "scores": {"exact_match": x},
                "response": {"model": "one-dollar", "usage": {"prompt_tokens": tok, "completion_tokens": 0}}}) + "\n")
PY
	for seed in $(seq 0 399); do
		qa-cost -p prices.csv --summary "s$seed.jsonl" | jq -c 'select(.scope == "overall") | .cost_per_correct_ci'
	done > cis.jsonl
	[ "$(wc -l < cis.jsonl)" = 400 ]
	covered=$(jq -s '[.[] | select(.low <= (2200 / 1e6 / 0.6) and .high >= (2200 / 1e6 / 0.6))] | length' cis.jsonl)
	echo "covered $covered of 400" >&2
	# binomial(400, 0.95) lies in [366, 394] with probability > 0.999
	[ "$covered" -ge 366 ] && [ "$covered" -le 394 ]
}

@test "qa-diff: cost per correct answer with its CI per side, and the break-even" {
	# baseline: $4 a task, 3 of 4 right; candidate: $1 a task, 2 of 4 right
	for i in 1 2 3 4; do
		printf '{"id":%s,"scores":{"exact_match":%s},"cost":{"total":4}}\n' $i $((i < 4))
	done > b.jsonl
	for i in 1 2 3 4; do
		printf '{"id":%s,"scores":{"exact_match":%s},"cost":{"total":1}}\n' $i $((i < 3))
	done > c.jsonl
	run_ok qa-diff b.jsonl c.jsonl
	jq -c 'select(.scope == "overall")' <<<"$output" > o.json
	[ "$(jq -c '[.baseline.cost_per_correct, .candidate.cost_per_correct]' o.json)" = '[5.333333333333333,2]' ]
	[ "$(jq -r '.candidate.cost_per_correct_ci.method' o.json)" = delta ]
	# the candidate stays cheaper per right answer down to 0.75 x 1/4 = 0.1875 accuracy
	[ "$(jq -c '.break_even' o.json)" = '{"cheaper":"candidate","accuracy":0.1875,"drop":0.5625}' ]
	# the same records give qa-cost's figures: y = 1 per task, right 2 of 4
	# (y - 2x: -1, -1, 1, 1; Var = 4 / (4 * 3 * 1/4) = 4/3)
	jq -en --slurpfile o o.json '($o[0].candidate.cost_per_correct_ci) as $c |
		((($c.low - (2 - 1.959963984540054 * (4/3 | sqrt))) | fabs) < 1e-12) and
		((($c.high - (2 + 1.959963984540054 * (4/3 | sqrt))) | fabs) < 1e-12)'
	# no costs: no break-even
	jq -c 'del(.cost)' b.jsonl > nb.jsonl
	run_ok qa-diff nb.jsonl c.jsonl
	[ "$(jq -c 'select(.scope == "overall") | [.break_even, .baseline.cost_per_correct_ci]' <<<"$output")" = '[null,null]' ]
}

# Baseline, candidate and the baseline's repeat over 400 items of two tasks,
# the repeat flipping about 3% of the baseline's answers, the candidate 12%.
noise_runs() {
	/usr/bin/python3 - <<'PY'
import json, numpy as np
rng = np.random.default_rng(22)
with open("b.jsonl", "w") as b, open("c.jsonl", "w") as c, open("n.jsonl", "w") as n:
    for i in range(400):
        task = "t%d" % (i % 2)
        x = int(rng.random() < 0.8)
        y = x ^ int(rng.random() < 0.12)
        z = x ^ int(rng.random() < 0.03)
        for f, v in ((b, x), (c, y), (n, z)):
            f.write(json.dumps({"id": i, "task": task, "scores": {"exact_match": v}}) + "\n")
PY
}

@test "qa-diff --noise: the floor, the candidate's flips and the paired excess, as scipy computes them" {
	noise_runs
	run_ok qa-diff --noise n.jsonl b.jsonl c.jsonl
	jq -c 'select(.scope == "overall") | .noise_floor' <<<"$output" > got.json
	[ "$(jq -r .n got.json)" = 400 ]
	/usr/bin/python3 - <<'PY'
import json, numpy as np
from scipy import stats
load = lambda f: np.array([json.loads(l)["scores"]["exact_match"] for l in open(f)], float)
b, c, n = load("b.jsonl"), load("c.jsonl"), load("n.jsonl")
got = json.load(open("got.json"))
fr, fc = (b != n).astype(float), (b != c).astype(float)
assert got["flips"] == fr.sum() and got["candidate_flips"] == fc.sum(), got
ci = stats.binomtest(int(fr.sum()), len(fr)).proportion_ci(confidence_level=0.95, method="wilson")
assert abs(got["ci_low"] - 100 * ci.low) < 1e-9 and abs(got["ci_high"] - 100 * ci.high) < 1e-9, (got, ci)
d = fc - fr
m, se = 100 * d.mean(), 100 * stats.sem(d)
z = stats.norm.ppf(0.975)
assert abs(got["excess_pts"] - m) < 1e-9, (got, m)
assert abs(got["excess_ci_low"] - (m - z * se)) < 1e-9 and abs(got["excess_ci_high"] - (m + z * se)) < 1e-9, (got, m, se)
assert got["cached"] == 0
PY
	# per task too, and the table says it in words
	[ "$(jq -c 'select(.scope == "task") | .noise_floor.n' <<<"$output" | paste -sd+ | bc)" = 400 ]
	run_ok qa-diff -f table --noise n.jsonl b.jsonl c.jsonl
	assert_output --partial "Noise floor (the baseline against its repeat, 400 items): "
}

@test "qa-diff --max-excess-flips gates on the excess over the floor, and needs --noise" {
	noise_runs
	run_ok qa-diff --noise n.jsonl b.jsonl c.jsonl
	pts=$(jq -r 'select(.scope == "overall") | .noise_floor.excess_pts' <<<"$output")
	run_ok qa-diff --noise n.jsonl --max-excess-flips "$(jq -n "$pts + 0.5")" b.jsonl c.jsonl
	[ "$(jq -r 'select(.scope == "overall") | .gate.decision // .decision' <<<"$output")" != fail ]
	run_data qa-diff --noise n.jsonl --max-excess-flips "$(jq -n "$pts - 0.5")" b.jsonl c.jsonl
	assert_stderr --partial "qa-diff: gate: overall: the candidate flips $(printf '%.4g' "$pts") points more than the baseline against itself, over --max-excess-flips"
	run_usage qa-diff --max-excess-flips 1 b.jsonl c.jsonl
	assert_stderr "qa-diff: --max-excess-flips needs --noise RUN, the floor it is measured over"
	run_usage qa-diff --noise n.jsonl --max-excess-flips 101 b.jsonl c.jsonl
}

@test "qa-diff --noise: a repeat served from the response cache is named; records not in the baseline are left out" {
	noise_runs
	jq -c 'if .id < 10 then .response.cached = true else . end' n.jsonl > cached.jsonl
	run_ok qa-diff --noise cached.jsonl b.jsonl c.jsonl
	assert_stderr "qa-diff: cached.jsonl:1: 10 of 400 records of the noise run carry response.cached: true: they repeat the first answer instead of asking again, so the floor is too low (send repeats with --cache-mode refresh)"
	[ "$(jq -r 'select(.scope == "overall") | .noise_floor.cached' <<<"$output")" = 10 ]
	{ cat n.jsonl; echo '{"id":"new","scores":{"exact_match":1}}'; } > extra.jsonl
	run_ok qa-diff --noise extra.jsonl b.jsonl c.jsonl
	assert_stderr "qa-diff: extra.jsonl:401: 1 record of the noise run is not in the baseline: not used"
}

# assess.mk on mock endpoints: make VAR=... ; the tools from $1 (a bin directory).
assess_with() {
	local bin=$1
	shift
	mock_endpoints old int4 > ep.conf
	make -s --no-print-directory -f "$QA_ROOT/pipelines/assess.mk" CONFIG="$PWD/ep.conf" \
		PRICES="$QA_ROOT/pipelines/prices.csv" RUNS="$PWD/runs" QA_BIN="$bin" BASELINE=old CANDIDATE=int4 \
		PERPLEXITY=no MAX_DROP=0.5 "$@"
}

@test "assess.mk REPEAT=3: both sides sent three times, qa-diff --noise over the first repeat, the test over all" {
	run --separate-stderr assess_with "$QA_BIN" NAME=r REPEAT=3 GATE_FLAGS='--gate-scope both'
	assert_success
	for f in old.repeat-2 old.repeat-3 int4.repeat-2 int4.repeat-3; do
		[ "$(wc -l < "runs/r/$f.sent.jsonl")" = "$(wc -l < runs/r/tasks.jsonl)" ]
	done
	[ "$(jq -r 'select(.scope == "overall") | .noise_floor.n' runs/r/diff.json)" -gt 300 ]
	grep -q '^Noise floor (the baseline against its repeat' runs/r/diff.txt
	jq -e 'select(.scope == "overall") | .repeats.baseline.runs == 3 and .repeats.candidate.runs == 3 and
		.repeats.n > 300' runs/r/diff.json
	# --max-drop reads the test over repeats on lines of 0/1 scores; ROUGE makes the overall line a mean score
	[ "$(jq -r 'select(.task == "arith") | .gate.ci' runs/r/diff.json)" = repeats ]
	[ "$(jq -r 'select(.task == "summarize") | .gate.ci' runs/r/diff.json)" = normal ]
	[ "$(jq -r 'select(.scope == "overall") | .gate.ci' runs/r/diff.json)" = normal ]
	grep -q '^Repeats (3 baseline runs, 3 candidate runs' runs/r/diff.txt
	# without REPEAT, no repeat and no floor
	run --separate-stderr assess_with "$QA_BIN" NAME=one
	assert_success
	[ ! -e runs/one/old.repeat-2.sent.jsonl ]
	[ "$(jq -c 'select(.scope == "overall") | has("noise_floor")' runs/one/diff.json)" = false ]
}

@test "assess.mk REPEAT: repeats go out with --cache-mode refresh only when qa-send lists it" {
	# a qa-send whose --help lists --cache-mode, logging the flags each run gets
	mkdir bin
	for t in "$QA_BIN"/qa-*; do ln -s "$t" bin/; done
	rm bin/qa-send
	cat > bin/qa-send <<-SH
	#!/bin/sh
	if [ "\$1" = --help ]; then "$QA_BIN/qa-send" --help; echo "      --cache-mode MODE"; exit 0; fi
	echo "\$*" >> "$PWD/send.log"
	args=""
	for a in "\$@"; do case \$a in --cache-mode|refresh) ;; *) args="\$args \$a" ;; esac; done
	exec "$QA_BIN/qa-send" \$args
	SH
	chmod +x bin/qa-send
	run --separate-stderr assess_with "$PWD/bin" NAME=c REPEAT=2
	assert_success
	[ "$(grep -c -- '--cache-mode refresh' send.log)" = 2 ]
	[ "$(grep -c -- '--endpoint old' send.log)" = 2 ]
	[ "$(grep -c -- '--endpoint int4' send.log)" = 2 ]
	grep -- '--cache-mode refresh' send.log | grep -q -- '--endpoint old'
	grep -- '--cache-mode refresh' send.log | grep -q -- '--endpoint int4'
	# the real qa-send of this tree, which has the cache: the repeats are sent too
	run --separate-stderr assess_with "$QA_BIN" NAME=d REPEAT=2
	assert_success
	[ -s runs/d/old.repeat-2.sent.jsonl ]
}

@test "qa-diff: recovery per task, averaged over the tasks beside the pooled figure" {
	# t0: 2 of 2 right, then 1 of 2 (50%); t1: 4 of 4 both (100%); pooled 5/6 of 6/6
	for i in 1 2 3 4 5 6; do
		t=$([ "$i" -le 2 ] && echo t0 || echo t1)
		printf '{"id":%s,"task":"%s","scores":{"exact_match":1}}\n' "$i" "$t" >> b.jsonl
		printf '{"id":%s,"task":"%s","scores":{"exact_match":%s}}\n' "$i" "$t" "$([ "$i" = 2 ] && echo 0 || echo 1)" >> c.jsonl
	done
	run_ok qa-diff b.jsonl c.jsonl
	[ "$(jq -c 'select(.scope == "task") | [.task, .recovery_pct]' <<<"$output" | paste -sd' ')" = '["t0",50] ["t1",100]' ]
	[ "$(jq -c 'select(.scope == "overall") | [.recovery_pct, .recovery_pct_task_mean]' <<<"$output")" = '[83.33333333333334,75]' ]
	run_ok qa-diff -f table b.jsonl c.jsonl
	assert_output --partial "Recovery: 83.3% pooled, 75.0% averaged over the tasks; 16.7% of the items flip."
}

# Servers this file's tests start (qa-testd, llama-server) end with the test.
teardown() {
	local f
	for f in "$BATS_FILE_TMPDIR"/*.pid; do
		[ -f "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
}

# A scored run of tasks.jsonl against a server on port $2: out port [qa-send flags...]
run_at() {
	local out=$1 port=$2
	shift 2
	QA_TEST_KEY=none qa-send -q --cache-mode off --provider openai --base-url "http://127.0.0.1:$port/v1" \
		--model m --key-env QA_TEST_KEY -p temperature=0 -p max_tokens=4 "$@" < tasks.jsonl | qa-score > "$out"
}

@test "qa-send: a server that reports its chat template (qa-testd as llama.cpp) puts its fingerprint in response.sent; qa-diff compares it" {
	load testd
	start_testd TA --template 'TEMPLATE-A {{ messages }}'
	start_testd TB --template 'TEMPLATE-B {{ messages }}'
	start_testd TN
	run_at a1.jsonl "$TA_PORT"
	run_at a2.jsonl "$TA_PORT"
	run_at b.jsonl "$TB_PORT"
	run_at n.jsonl "$TN_PORT"
	# every record carries sha256 of the template, cut to 16 hex digits; /props was asked once
	want="sha256:$(printf '%s' 'TEMPLATE-A {{ messages }}' | sha256sum | cut -c1-16)"
	[ "$(jq -r .response.sent.template a1.jsonl | sort | uniq -c | awk '{print $1, $2}')" = "3 $want" ]
	[ "$(get "$TA_PORT" /_count | jq '.paths["/props"]')" = 2 ]
	# a server without timings is not llama.cpp: no /props asked, no template
	[ "$(jq -c '.response.sent | has("template")' n.jsonl | sort -u)" = false ]
	[ "$(get "$TN_PORT" /_count | jq '.paths["/props"] // 0')" = 0 ]
	# the same template compares; another is refused, named, unless allowed
	run_ok qa-diff a1.jsonl a2.jsonl
	[ -z "$stderr" ]
	run_usage qa-diff a1.jsonl b.jsonl
	assert_stderr "qa-diff: b.jsonl:1: not comparable: response.sent.template is \"sha256:$(printf '%s' 'TEMPLATE-B {{ messages }}' | sha256sum | cut -c1-16)\" here, \"$want\" in the baseline (line 1); --allow-mismatch template compares anyway"
	run_ok qa-diff --allow-mismatch template a1.jsonl b.jsonl
	# known on one side only: not a difference, but said
	run_ok qa-diff a1.jsonl n.jsonl
	assert_stderr "qa-diff: 3 compared pairs have a chat template fingerprint on one side only (a server that does not report its template): the templates are not compared there"
	# a completions request is wrapped in no template: none is recorded
	QA_TEST_KEY=none qa-send -q --cache-mode off --provider openai-completions --base-url "http://127.0.0.1:$TA_PORT/v1" \
		--model m --key-env QA_TEST_KEY < tasks.jsonl > comp.jsonl
	[ "$(jq -c '.response.sent | has("template")' comp.jsonl | sort -u)" = false ]
	[ "$(get "$TA_PORT" /_count | jq '.paths["/props"]')" = 2 ]
	# a llama.cpp-like server whose /props does not answer: no template, and a warning says so
	start_testd TX --template 'TEMPLATE-X' --no-props
	run_ok run_at x.jsonl "$TX_PORT"
	assert_stderr "qa-send: endpoint 'openai': its /props did not answer (within 2 s, at its first answer): its records carry no chat template fingerprint (response.sent.template)"
	[ "$(jq -c '.response.sent | has("template")' x.jsonl | sort -u)" = false ]
}

@test "qa-send against the real llama-server: chatml and llama2 templates differ in response.sent, and qa-diff refuses the pair" {
	load llama
	llama_models
	start_llama tchatml f32.gguf --chat-template chatml
	start_llama tllama2 f32.gguf --chat-template llama2
	run_at c1.jsonl "$tchatml_PORT"
	run_at c2.jsonl "$tchatml_PORT"
	run_at l.jsonl "$tllama2_PORT"
	# the fingerprint is of what /props says the template is
	for p in tchatml tllama2; do
		port=${p}_PORT
		llama_get "${!port}" /props | jq -j .chat_template | sha256sum | cut -c1-16 > "$p.fp"
	done
	[ "$(jq -r .response.sent.template c1.jsonl | sort -u)" = "sha256:$(cat tchatml.fp)" ]
	[ "$(jq -r .response.sent.template l.jsonl | sort -u)" = "sha256:$(cat tllama2.fp)" ]
	[ "$(cat tchatml.fp)" != "$(cat tllama2.fp)" ]
	run_ok qa-diff c1.jsonl c2.jsonl
	run_usage qa-diff c1.jsonl l.jsonl
	assert_stderr --partial "qa-diff: l.jsonl:1: not comparable: response.sent.template is \"sha256:$(cat tllama2.fp)\" here"
	run_ok qa-diff --allow-mismatch template c1.jsonl l.jsonl
}

# Four items, three runs a side (hb1..3, hc1..3), figures derived by hand:
# per item, right in k of 3 runs: baseline 3, 2, 0, 3; candidate 2, 0, 1, 3.
repeat_hand_case() {
	local f i v
	mk() { f=$1.jsonl; shift; i=1; for v in "$@"; do printf '{"id":%d,"scores":{"exact_match":%s}}\n' $i $v >> "$f"; i=$((i + 1)); done; }
	mk hb1 1 1 0 1; mk hb2 1 0 0 1; mk hb3 1 1 0 1
	mk hc1 1 0 0 1; mk hc2 1 0 1 1; mk hc3 0 0 0 1
}

@test "qa-diff with repeats: per-item accuracy and agreement, and the paired test over items, as derived by hand" {
	repeat_hand_case
	run_ok qa-diff --noise hb2.jsonl --noise hb3.jsonl --candidate-repeat hc2.jsonl --candidate-repeat hc3.jsonl \
		hb1.jsonl hc1.jsonl
	jq -c 'select(.scope == "overall") | .repeats' <<<"$output" > r.json
	# accuracy over the runs: baseline (1 + 2/3 + 0 + 1) / 4 = 2/3, candidate (2/3 + 0 + 1/3 + 1) / 4 = 1/2;
	# agreement, the chance two runs agree, k(k-1) + (3-k)(2-k) over 6: baseline 1, 1/3, 1, 1; candidate 1/3, 1, 1/3, 1
	jq -e '.n == 4 and .baseline.runs == 3 and .candidate.runs == 3 and
		((.baseline.accuracy - 2/3) | fabs) < 1e-12 and ((.candidate.accuracy - 1/2) | fabs) < 1e-12 and
		((.baseline.agreement - 5/6) | fabs) < 1e-12 and ((.candidate.agreement - 2/3) | fabs) < 1e-12 and
		.baseline.unanimous_pct == 75 and .candidate.unanimous_pct == 50' r.json
	# d = -1/3, -2/3, 1/3, 0: mean -1/6, SE sqrt((1/36 + 1/4 + 1/4 + 1/36) / 3 / 4) = sqrt(5/108)
	jq -e '((.delta.mean + 1/6) | fabs) < 1e-12 and ((.delta.se - (5/108 | sqrt)) | fabs) < 1e-12 and
		.delta.method == "paired bootstrap over items" and .delta.resamples == 1000 and
		.delta.ci_low < .delta.mean and .delta.mean < .delta.ci_high and .delta.p > 0 and .delta.p <= 1' r.json
	# a resample draws items whole: its mean is one of the means of four of the d values, on a grid of 1/12
	jq -e '[.delta.ci_low, .delta.ci_high] | map(. * 12 | (. - round) | fabs < 1e-9) | all' r.json
	# --max-drop reads the test over repeats: its CI's lower bound is -7/12 (the grid's), over 0.5
	run_data qa-diff --max-drop 0.5 --noise hb2.jsonl --noise hb3.jsonl --candidate-repeat hc2.jsonl \
		--candidate-repeat hc3.jsonl hb1.jsonl hc1.jsonl
	assert_stderr --partial "qa-diff: gate: overall: accuracy may drop by $(jq -r '-.delta.ci_low | tostring | .[0:6]' r.json)"
	assert_stderr --partial "(the repeats CI's lower bound is"
	[ "$(jq -r 'select(.scope == "overall") | .gate.ci' <<<"$output")" = repeats ]
	# the table says it in a line; --verbose names the items whose runs disagree
	run_ok qa-diff -f table -v --noise hb2.jsonl --noise hb3.jsonl --candidate-repeat hc2.jsonl \
		--candidate-repeat hc3.jsonl hb1.jsonl hc1.jsonl
	assert_output --partial "Repeats (3 baseline runs, 3 candidate runs, 4 items): per-item agreement 83.3% baseline, 66.7% candidate; accuracy over the runs 0.6667 and 0.5000, delta -0.1667 ["
	assert_stderr --partial "qa-diff: hb1.jsonl:2: id 2: right in 2 of 3 baseline runs, 0 of 3 candidate runs"
	[ "$(grep -c 'baseline runs' <<<"$stderr")" = 3 ]
}

@test "qa-diff with repeats: one --noise is the floor only; repeats of one side; items a repeat lacks are left out" {
	repeat_hand_case
	run_ok qa-diff --noise hb2.jsonl hb1.jsonl hc1.jsonl
	[ "$(jq -c 'select(.scope == "overall") | has("repeats")' <<<"$output")" = false ]
	# three baseline runs against one candidate run: no candidate agreement, the test still made
	run_ok qa-diff --noise hb2.jsonl --noise hb3.jsonl hb1.jsonl hc1.jsonl
	jq -e 'select(.scope == "overall") | .repeats | .candidate.runs == 1 and .candidate.agreement == null and
		((.candidate.accuracy - 1/2) | fabs) < 1e-12 and ((.delta.mean - (1/2 - 2/3)) | fabs) < 1e-12' <<<"$output"
	head -3 hc2.jsonl > short.jsonl
	run_ok qa-diff --noise hb2.jsonl --candidate-repeat short.jsonl hb1.jsonl hc1.jsonl
	assert_stderr "qa-diff: 1 paired item has a 0/1 score in the first runs but not in every repeat: left out of the per-item test over repeats"
	[ "$(jq -r 'select(.scope == "overall") | .repeats.n' <<<"$output")" = 3 ]
	run_usage qa-diff --noise - --candidate-repeat - hb1.jsonl hc1.jsonl
	assert_stderr "qa-diff: only one of the runs and their repeats can be - (standard input)"
	run_usage qa-diff --candidate-repeat - - hc1.jsonl
	assert_stderr "qa-diff: only one of the runs and their repeats can be - (standard input)"
}

@test "qa-diff with repeats: the figures agree with numpy on 300 items of 3 runs a side, per task and overall" {
	/usr/bin/python3 - <<'PY'
import json, numpy as np
rng = np.random.default_rng(31)
n, runs = 300, 3
q = rng.uniform(0.1, 1.0, n)
files = {s: [open(f"{s}{k}.jsonl", "w") for k in range(runs)] for s in "bc"}
for i in range(n):
    for s, p in (("b", q[i]), ("c", max(q[i] - 0.08, 0))):
        for f in files[s]:
            f.write(json.dumps({"id": i, "task": "t%d" % (i % 2), "scores": {"exact_match": int(rng.random() < p)}}) + "\n")
for fs in files.values():
    for f in fs:
        f.close()
PY
	run_ok qa-diff --bootstrap 4000 --noise b1.jsonl --noise b2.jsonl --candidate-repeat c1.jsonl \
		--candidate-repeat c2.jsonl b0.jsonl c0.jsonl
	printf '%s\n' "$output" > got.jsonl
	/usr/bin/python3 - <<'PY'
import json, numpy as np
from scipy import stats
load = lambda f: np.array([json.loads(l)["scores"]["exact_match"] for l in open(f)], float)
task = np.array([json.loads(l)["task"] for l in open("b0.jsonl")])
B = np.vstack([load(f"b{k}.jsonl") for k in range(3)])
C = np.vstack([load(f"c{k}.jsonl") for k in range(3)])
z = stats.norm.ppf(0.975)
for line in map(json.loads, open("got.jsonl")):
    sel = np.ones(len(task), bool) if line["scope"] == "overall" else task == line["task"]
    r = line["repeats"]
    for side, X in (("baseline", B[:, sel]), ("candidate", C[:, sel])):
        k = X.sum(0)
        agree = (k * (k - 1) + (3 - k) * (2 - k)) / 6
        assert abs(r[side]["accuracy"] - (k / 3).mean()) < 1e-12, (side, r)
        assert abs(r[side]["agreement"] - agree.mean()) < 1e-12, (side, r)
        assert abs(r[side]["unanimous_pct"] - 100 * np.mean((k == 0) | (k == 3))) < 1e-9, (side, r)
    d = C[:, sel].mean(0) - B[:, sel].mean(0)
    assert abs(r["delta"]["mean"] - d.mean()) < 1e-12 and abs(r["delta"]["se"] - stats.sem(d)) < 1e-12, r
    # 4000 resamples of a mean over 150+ items: the percentile interval is the normal one to a few percent
    lo, hi = d.mean() - z * stats.sem(d), d.mean() + z * stats.sem(d)
    w = hi - lo
    assert abs(r["delta"]["ci_low"] - lo) < 0.08 * w and abs(r["delta"]["ci_high"] - hi) < 0.08 * w, (r, lo, hi)
PY
}

# Coverage over many seeds: data sets drawn from a population whose delta is
# known, each compared with another bootstrap seed; a 95% interval must hold
# the true delta in about 95% of them.
@test "qa-diff: the bootstrap CIs cover a known delta about 95% of the time (single runs and repeats)" {
	/usr/bin/python3 - <<'PY'
import json, numpy as np
for s in range(200):
    rng = np.random.default_rng(1000 + s)
    # single runs: P(right) 0.7 and 0.6, independent: delta -0.1
    with open(f"sb{s}.jsonl", "w") as b, open(f"sc{s}.jsonl", "w") as c:
        for i in range(200):
            b.write(json.dumps({"id": i, "scores": {"exact_match": int(rng.random() < 0.7)}}) + "\n")
            c.write(json.dumps({"id": i, "scores": {"exact_match": int(rng.random() < 0.6)}}) + "\n")
    # repeats: item i right with q_i ~ U(0.2, 1) in the baseline, q_i - 0.1 in the candidate; 3 runs a side
    q = rng.uniform(0.2, 1.0, 150)
    for side, p in (("b", q), ("c", q - 0.1)):
        for k in range(3):
            with open(f"r{side}{k}-{s}.jsonl", "w") as f:
                for i in range(150):
                    f.write(json.dumps({"id": i, "scores": {"exact_match": int(rng.random() < p[i])}}) + "\n")
PY
	for s in $(seq 0 199); do
		qa-diff --bootstrap 1000 --seed "$s" "sb$s.jsonl" "sc$s.jsonl" | tail -1 >> single.jsonl
		qa-diff --seed "$s" --noise "rb1-$s.jsonl" --noise "rb2-$s.jsonl" --candidate-repeat "rc1-$s.jsonl" \
			--candidate-repeat "rc2-$s.jsonl" "rb0-$s.jsonl" "rc0-$s.jsonl" | tail -1 >> rep.jsonl
	done
	[ "$(wc -l < single.jsonl)" = 200 ] && [ "$(wc -l < rep.jsonl)" = 200 ]
	a=$(jq -s '[.[] | .delta.bootstrap | select(.ci_low <= -0.1 and -0.1 <= .ci_high)] | length' single.jsonl)
	b=$(jq -s '[.[] | .repeats.delta | select(.ci_low <= -0.1 and -0.1 <= .ci_high)] | length' rep.jsonl)
	echo "covered: single runs $a of 200, repeats $b of 200" >&3
	# binomial(200, 0.95) lies in [176, 198] with probability > 0.999
	[ "$a" -ge 176 ] && [ "$a" -le 198 ]
	[ "$b" -ge 176 ] && [ "$b" -le 198 ]
}
