# qa-report: the page for 10k paired items (20 tasks, 10% flipped, prompts of
# about 300 bytes, fixed seed), against qa-diff on the same runs, the step
# that must come before it.  The target is under 1 s.
. bench/lib.sh
n=${BENCH_REPORT_N:-10000}
dir=$BENCH_TMP/report
mkdir -p "$dir"
awk -v n="$n" -v dir="$dir" 'BEGIN {
	srand(20261206)
	p = "Solve the problem. Show your working briefly, then give the final answer on its own last line. "
	p = p p p
	for (i = 1; i <= n; i++) {
		b = rand() < 0.8 ? 1 : 0
		c = rand() < 0.1 ? 1 - b : b
		for (k = 0; k < 2; k++) {
			s = k ? c : b
			printf "{\"id\":\"item-%d\",\"task\":\"task-%d\",\"prompt\":\"%s #%d\",\"expected\":\"%d\",\"metric\":\"exact_match\",\"response\":{\"text\":\"The answer is %d.\",\"endpoint\":\"%s\",\"model\":\"%s\",\"latency_ms\":%d,\"attempts\":1},\"scores\":{\"exact_match\":%d},\"details\":{\"exact_match\":{\"extracted\":\"%d\"}}}\n", \
				i, i % 20, p, i, i, s ? i : i + 1, k ? "cand" : "base", k ? "cand" : "base", 150 + int(rand() * 800), s, s ? i : i + 1 \
				> (dir "/" (k ? "cand" : "base") ".scored.jsonl")
		}
	}
}'
qa-diff --max-drop 0.02 "$dir/base.scored.jsonl" "$dir/cand.scored.jsonl" > "$dir/diff.json" 2>/dev/null
echo "  input: $n paired items, $(( $(wc -c < "$dir/base.scored.jsonl") / n )) bytes a record"
measure "qa-diff, $n items" qa-diff "$dir/base.scored.jsonl" "$dir/cand.scored.jsonl"; diff_cpu=$MEASURED_CPU
measure "qa-report, $n items" qa-report -b base -c cand -o "$dir/report.html" "$dir"
echo "  page: $(( $(wc -c < "$dir/report.html") / 1024 )) KiB, $(grep -c 'data-dir=' "$dir/report.html") flipped items listed"
echo "  qa-report / qa-diff (CPU): $(ratio "$MEASURED_CPU" "$diff_cpu")x; target: under 1 s wall"
