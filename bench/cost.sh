# qa-cost against jq doing the same per-record cost arithmetic (price
# lookup by model, cached and reasoning tokens apart, the cost object
# appended), on 200k records of about 600 bytes made with a fixed seed;
# then peak RSS at 10k and 1M records: flat without --summary.
# Target: qa-cost at least 20x jq's throughput.
. bench/lib.sh
n=${BENCH_COST_N:-200000}

prices=$BENCH_TMP/cost-prices.csv
cat > "$prices" <<'CSV'
provider,model,input_per_mtok,output_per_mtok,cached_input_per_mtok,currency,date,source
openai,gpt-4o,2.50,10.00,1.25,USD,2024-08-06,bench
anthropic,claude-3-5-sonnet,3.00,15.00,0.30,USD,2024-06-20,bench
relay,deepseek-v3.2,0.42,0.42,,USD,2026-11-24,bench
relay,gemini-2.5-flash,2.50,2.50,,USD,2026-11-24,bench
relay,gpt-4.1,8.00,8.00,,USD,2026-11-24,bench
CSV
# The same table for jq: [input, output, cached input, reasoning] per MTok.
jq_prog='{"gpt-4o":[2.5,10,1.25,10],"claude-3-5-sonnet":[3,15,0.3,15],"deepseek-v3.2":[0.42,0.42,0.42,0.42],
  "gemini-2.5-flash":[2.5,2.5,2.5,2.5],"gpt-4.1":[8,8,8,8]} as $p
| (.response.model // .model) as $m | $p[$m] as $r | .response.usage as $u
| ($u.prompt_tokens_details.cached_tokens // 0) as $k
| ($u.completion_tokens_details.reasoning_tokens // 0) as $rt
| (($u.prompt_tokens - $k) * $r[0] / 1e6) as $i | ($k * $r[2] / 1e6) as $c
| (($u.completion_tokens - $rt) * $r[1] / 1e6) as $o | ($rt * $r[3] / 1e6) as $rr
| .cost = {input: $i, cached: $c, cache_write: 0, output: $o, reasoning: $rr,
    total: ($i + $c + 0 + $o + $rr), currency: "USD", source: "usage", price: $m}
| if $u.total_tokens != null and $u.total_tokens != $u.prompt_tokens + $u.completion_tokens
  then .usage_mismatch = {total_tokens: $u.total_tokens} else . end'

# gen N: N records like qa-send and qa-score write them, from a fixed seed.
gen() {
	awk -v n="$1" 'BEGIN {
		srand(42)
		split("gpt-4o claude-3-5-sonnet deepseek-v3.2 gemini-2.5-flash gpt-4.1", models, " ")
		pad = sprintf("%200s", ""); gsub(/ /, "lorem ipsum ", pad)
		for (i = 1; i <= n; i++) {
			m = models[1 + int(rand() * 5)]
			p = 50 + int(rand() * 1500); c = 5 + int(rand() * 600)
			details = ""
			if (rand() < 0.3) details = sprintf(",\"prompt_tokens_details\":{\"cached_tokens\":%d}", int(p * rand()))
			if (rand() < 0.2) details = details sprintf(",\"completion_tokens_details\":{\"reasoning_tokens\":%d}", int(c * rand()))
			t = p + c + (rand() < 0.01 ? 7 : 0)
			printf "{\"id\":%d,\"task\":\"gsm8k\",\"endpoint\":\"%s\",\"prompt\":\"Question %d: %s How many sheep are left?\",\"expected\":\"%d\",\"response\":{\"text\":\"There are %d sheep left. #### %d\",\"finish_reason\":\"stop\",\"model\":\"%s\",\"endpoint\":\"%s\",\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d%s},\"latency_ms\":%.1f,\"attempts\":%d,\"status\":200},\"scores\":{\"exact_match\":%d}}\n", \
			    i, (i % 2 ? "base" : "cand"), i, substr(pad, 1, 150 + int(rand() * 100)), i % 97, i % 97, i % 97, \
			    m, (i % 2 ? "base" : "cand"), p, c, t, details, 80 + rand() * 2000, 1 + (rand() < 0.05), rand() < 0.8
		}
	}'
}

# best RUNS NAME CMD...: the best wall and CPU (user + sys) time of RUNS runs, and the
# last run's peak RSS.  CPU time is the fairer ratio on a busy machine; wall time is what users see.
best() {
	local runs=$1 name=$2 w c m bw="" bc=""
	shift 2
	for _ in $(seq "$runs"); do
		/usr/bin/time -f '%e %U %S %M' -o "$BENCH_TMP/.time" "$@" >/dev/null 2>&1
		read -r w c m < <(awk '{ print $1, $2 + $3, $4 }' "$BENCH_TMP/.time" | tail -n 1)
		bw=$(least "$bw" "$w")
		bc=$(least "$bc" "$c")
	done
	BEST_WALL=$bw BEST_CPU=$bc BEST_KB=$m
	printf '  %-34s %8.2f s wall %8.2f s cpu %10d KiB\n' "$name" "$bw" "$bc" "$m"
}
rate() { awk -v n="$n" -v s="$1" 'BEGIN { printf "%.0f", n / (s < 0.01 ? 0.01 : s) }'; }

in=$BENCH_TMP/cost-$n.jsonl
gen "$n" > "$in"
echo "  input: $n records, $(( $(wc -c < "$in") / n )) bytes each"
best 3 "qa-cost" qa-cost -p "$prices" "$in"; qa_w=$BEST_WALL qa_c=$BEST_CPU
best 2 "jq -c (same cost arithmetic)" jq -c "$jq_prog" "$in"; jq_w=$BEST_WALL jq_c=$BEST_CPU
echo "  records/s, wall: qa-cost $(rate "$qa_w"), jq $(rate "$jq_w"); cpu: qa-cost $(rate "$qa_c"), jq $(rate "$jq_c")"
rw=$(ratio "$jq_w" "$qa_w") rc=$(ratio "$jq_c" "$qa_c")
echo "  qa-cost is ${rw}x jq's throughput by wall time, ${rc}x by CPU time (target: 20x or more$(awk -v r="$rc" 'BEGIN { if (r + 0 < 20) printf "; BELOW TARGET" }'))"
# The same arithmetic: every cost figure equal to the last bit, on the first 10k.
head -n 10000 "$in" > "$BENCH_TMP/cost-10k-check.jsonl"
if cmp -s <(qa-cost -p "$prices" "$BENCH_TMP/cost-10k-check.jsonl" 2>/dev/null | jq -c '.cost | [.input, .cached, .output, .reasoning, .total]') \
	<(jq -c "$jq_prog" "$BENCH_TMP/cost-10k-check.jsonl" | jq -c '.cost | [.input, .cached, .output, .reasoning, .total]'); then
	echo "  qa-cost and jq agree on every cost of the first 10k records"
else
	echo "  MISMATCH: qa-cost and jq disagree"
fi

small=$BENCH_TMP/cost-10k.jsonl
big=$BENCH_TMP/cost-1m.jsonl
gen 10000 > "$small"
gen 1000000 > "$big"
best 1 "qa-cost, 10k records" qa-cost -p "$prices" "$small"; r1=$BEST_KB
best 1 "qa-cost, 1M records" qa-cost -p "$prices" "$big"; r2=$BEST_KB
echo "  peak RSS 1M/10k without --summary: $(awk -v a="$r2" -v b="$r1" 'BEGIN { printf "%.2f", a / b }') (flat is 1.00)"
best 1 "qa-cost --summary, 1M records" qa-cost -p "$prices" --summary "$big"; r3=$BEST_KB
echo "  --summary keeps $(awk -v a="$r3" -v b="$r2" 'BEGIN { printf "%.1f", (a - b) * 1024 / 1000000 }') bytes per record (latencies, 4 bytes each)"
rm -f "$big" "$small" "$in" "$BENCH_TMP/cost-10k-check.jsonl"
