#!/usr/bin/env bats
# pipelines/tasks: the task batteries are well-formed JSON lines, and they agree
# with the scorers: a correct answer scores 1 on the first metric, a wrong one 0.

setup() {
	load test_helper
	TASKS=$QA_ROOT/pipelines/tasks
	cd "$BATS_TEST_TMPDIR"
}

# jq helpers shared by the tests below.
JQ_DEFS='
def gt: .ground_truth | if type == "array" then .[0] else . end;
def metrics: .metric | if type == "array" then . else [.] end;
def first_name: metrics[0] | if type == "string" then . else .name end;
# A reply a model that got it right would give.
def right:
	if first_name == "choice" then "The answer is \(gt)."
	else gt end;
# A reply that is well-formed for the metric but wrong.
def wrong:
	if first_name == "choice" then "The answer is \(if gt == "A" then "B" else "A" end)."
	elif first_name == "numeric" then
		"Let me work it out.\n#### \(gt | capture("#### (?<n>-?[0-9]+)$").n | tonumber + 1)"
	else "Sorry, I cannot help with that." end;
'

@test "at least 8 batteries and 300 items; every line is one JSON object" {
	files=("$TASKS"/*.jsonl)
	[ "${#files[@]}" -ge 8 ]
	total=0
	for f in "${files[@]}"; do
		n=$(wc -l <"$f")
		# newline-terminated, no blank lines, each line a complete object
		[ "$(tail -c1 "$f" | od -An -c | tr -d ' ')" = '\n' ] || { echo "$f: no final newline"; return 1; }
		[ "$(jq -R -c 'fromjson | select(type == "object") | 1' "$f" | wc -l)" -eq "$n" ] ||
			{ echo "$f: a line is not a JSON object"; return 1; }
		[ "$(grep -cv '^{.*}$' "$f")" -eq 0 ] || { echo "$f: a record spans lines"; return 1; }
		[ "$n" -ge 30 ] || { echo "$f: only $n items"; return 1; }
		total=$((total + n))
	done
	[ "$total" -ge 300 ]
}

@test "every record has id, name, task, prompt, ground_truth and metric, and task names the file" {
	for f in "$TASKS"/*.jsonl; do
		base=$(basename "$f" .jsonl)
		run_ok jq -c --arg t "$base" '
			def ref_ok: type == "string" and length > 0;
			def metric_ok: (type == "string" and length > 0) or (type == "object" and (.name | type) == "string");
			select(
				((.id | type) != "string") or (.id | startswith($t + "-") | not)
				or .task != $t or .name != $t
				or ((.prompt | type) != "string") or (.prompt | length) < 10
				or ((.ground_truth | if type == "array" then length > 0 and all(ref_ok) else ref_ok end) | not)
				or ((.metric | if type == "array" then length > 0 and all(metric_ok) else metric_ok end) | not)
			) | .id // "(no id)"' "$f"
		[ -z "$output" ] || { echo "$f: bad records: $output"; return 1; }
	done
}

@test "ids are unique across all batteries" {
	run_ok jq -r .id "$TASKS"/*.jsonl
	[ -z "$(sort <<<"$output" | uniq -d)" ] || { sort <<<"$output" | uniq -d; return 1; }
}

@test "each battery uses its scorer; numeric items carry a '#### N' worked answer; mcq letters are offered" {
	run_ok jq -r -n "$JQ_DEFS"'[inputs | "\(.task) \(first_name)"] | unique[]' "$TASKS"/*.jsonl
	for want in "arith numeric" "mcq choice" "factqa squad_em" "extract exact_match" \
	    "classify exact_match" "code exact_match" "instruct regex" "summarize rougeL"; do
		grep -qx "$want" <<<"$output" || { echo "missing: $want"; return 1; }
	done
	# numeric references end in "#### N", and their prompts ask for that form
	run_ok jq -r "$JQ_DEFS"'select(first_name == "numeric")
		| select((.ground_truth | test("\n#### [0-9]+$") | not) or (.prompt | contains("####") | not)) | .id' \
		"$TASKS"/*.jsonl
	[ -z "$output" ]
	# every mcq reference is a letter the prompt offers
	run_ok jq -r '.ground_truth as $g | select(.prompt | contains("\n\($g). ") | not) | .id' \
		"$TASKS"/mcq.jsonl
	[ -z "$output" ]
}

# Scores every record with the reply the jq function $1 gives, by the record's own
# metrics; writes "id first-score invalid-list" lines to scored.txt.
score_all() {
	jq -c "$JQ_DEFS"'. + {response: {text: '"$1"'}}' "$TASKS"/*.jsonl >in.jsonl
	local rc=0
	qa-score in.jsonl >out.jsonl 2>err.txt || rc=$?
	[ "$rc" -eq 0 ] || { echo "qa-score exit $rc:"; cat err.txt; return 1; }
	jq -r "$JQ_DEFS"'"\(.id) \(.scores[first_name]) \(.invalid // [] | join(","))"' out.jsonl >scored.txt
	[ "$(wc -l <scored.txt)" -eq "$(cat "$TASKS"/*.jsonl | wc -l)" ]
}

@test "a correct answer scores 1 on the first metric for every item" {
	score_all right
	bad=$(grep -v '^[^ ]* 1 $' scored.txt || true)
	[ -z "$bad" ] || { echo "not scored 1:"; echo "$bad"; return 1; }
}

@test "a wrong answer scores 0 on the first metric for every item" {
	score_all wrong
	bad=$(grep -v '^[^ ]* 0 ' scored.txt || true)
	[ -z "$bad" ] || { echo "not scored 0:"; echo "$bad"; return 1; }
}

@test "factqa: every acceptable answer scores 1 on squad_em and squad_f1" {
	jq -c '.ground_truth[] as $a | . + {response: {text: $a}}' "$TASKS"/factqa.jsonl >in.jsonl
	run_ok qa-score in.jsonl
	[ -z "$(jq -r 'select(.scores.squad_em != 1 or .scores.squad_f1 != 1) | .id' <<<"$output")" ]
}

@test "mcq: the other forms a model writes pick the same letter" {
	for form in '"\(gt)"' '"(\(gt))"' '"Answer: \(gt)"' '"\(gt). some option text"'; do
		jq -c "$JQ_DEFS"'. + {response: {text: '"$form"'}}' "$TASKS"/mcq.jsonl >in.jsonl
		run_ok qa-score in.jsonl
		[ -z "$(jq -r 'select(.scores.choice != 1) | .id' <<<"$output")" ] || { echo "form $form"; return 1; }
	done
}

@test "code: each snippet prints its ground truth (python3, cc and bash run them)" {
	command -v python3 >/dev/null || skip "no python3"
	command -v cc >/dev/null || skip "no cc"
	# One driver: python3 is often a slow-starting shim, sys.executable is not.
	run_ok python3 - "$TASKS"/code.jsonl <<'PY'
import json, os, re, subprocess, sys, tempfile
bad = []
with tempfile.TemporaryDirectory() as d:
    for line in open(sys.argv[1], encoding="utf-8"):
        r = json.loads(line)
        m = re.search(r"```([a-z]+)\n(.*)\n```$", r["prompt"], re.S)
        lang, code = m.group(1), m.group(2)
        if lang == "python":
            cmd = [sys.executable, "-c", code]
        elif lang == "bash":
            cmd = ["bash", "-c", code]
        elif lang == "c":
            src, exe = os.path.join(d, "t.c"), os.path.join(d, "t")
            with open(src, "w") as f:
                f.write(code + "\n")
            subprocess.run(["cc", "-std=c11", "-w", "-o", exe, src], check=True)
            cmd = [exe]
        else:
            sys.exit("%s: unknown language %s" % (r["id"], lang))
        got = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, LC_ALL="C")).stdout
        if got.strip() != r["ground_truth"]:
            bad.append("%s: got %r want %r" % (r["id"], got.strip(), r["ground_truth"]))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}

@test "instruct: every pattern compiles under Python re and extracts the ground truth from itself" {
	command -v python3 >/dev/null || skip "no python3"
	run_ok python3 - "$TASKS"/instruct.jsonl <<'PY'
import json, re, sys
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    m = r["metric"]
    ign = m.get("regexes_to_ignore", [])
    found = re.findall(m["pattern"], r["ground_truth"])
    x = found[m.get("group_select", 0)]
    if isinstance(x, tuple):
        x = next(g for g in x if g)
    def norm(s):
        for p in ign:
            s = re.sub(p, "", s)
        return s
    assert norm(x.strip()) == norm(r["ground_truth"]), r["id"]
PY
}
