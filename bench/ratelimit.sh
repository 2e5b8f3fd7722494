# Pacing against a rate-limited server (issue 21): tests/server/qa-limitd at
# 1,200 requests and 120,000 tokens a minute (each bucket full at the start,
# as a provider's is), each answer taking 20 ms, and 600 tasks of mixed size
# (prompts of 90 to 3,000 bytes, max_tokens 128; the server counts a token
# per 3 bytes plus max_tokens).  The floor is the buckets' lower bound: what
# exceeds a bucket's first minute, at its rate.  Targets: qa-send with
# headers within 1.10x of it and at most 1% 429s; without headers 1.25x and
# 3%; and 1.2x sooner than promptfoo's adaptive scheduler, or 5x fewer 429s.
# promptfoo@0.121.20 (the newest that takes Node 20) lives in bench/promptfoo
# (git-ignored), is installed there on first use, and runs with telemetry,
# updates, sharing and its cache off, against 127.0.0.1 only.
# RATELIMIT_MINUTE=SECONDS shortens the server's minute (same shape, faster).
# The plots of concurrency over time go to docs/ (README "Rate limits" links
# them), or to RATELIMIT_SVG_DIR; the last lines compare qa-send with promptfoo.
. bench/lib.sh
minute=${RATELIMIT_MINUTE:-60}
svgdir=${RATELIMIT_SVG_DIR:-$PWD/docs}
: >"$BENCH_TMP/rows"
rpm=1200 tpm=120000 delay=20 n=600
py=/usr/bin/python3
root=$PWD

awk -v n="$n" 'BEGIN {
	s = 42	# a fixed LCG: the same tasks every run, and as tests/unit/test_pace_sim.c
	for (i = 1; i <= n; i++) {
		s = (s * 16807) % 2147483647	# Park-Miller: exact in doubles
		r = s % 100
		len = r < 50 ? 90 + r * 4 : r < 85 ? 600 + r * 8 : 2000 + r * 10
		p = sprintf("Task %d. ", i)
		while (length(p) < len) p = p "lorem ipsum dolor sit amet "
		p = substr(p, 1, len)
		printf "{\"id\":%d,\"prompt\":\"%s\",\"max_tokens\":128}\n", i, p
	}
}' >"$BENCH_TMP/tasks.jsonl"
# the floor, from the tasks as the server charges them
floor=$(awk -v rpm="$rpm" -v tpm="$tpm" -v minute="$minute" '
	{ match($0, /"prompt":"[^"]*"/); b = RLENGTH - 11; tok += int((b + 2) / 3) + 128; req++ }
	END { fr = (req - rpm) / rpm; ft = (tok - tpm) / tpm; f = fr > ft ? fr : ft; if (f < 0) f = 0
	      printf "%.2f %d\n", f * minute, tok }' "$BENCH_TMP/tasks.jsonl")
read -r floor_s tokens <<<"$floor"
echo "  $n tasks, $tokens tokens as charged; the buckets' lower bound is $floor_s s (a minute is $minute s)"

start_limitd() {	# ARGS...: a fresh server; its port in PORT, its pid in LPID
	rm -f "$BENCH_TMP/port"
	mkfifo "$BENCH_TMP/port"
	"$root/tests/server/qa-limitd" --rpm "$rpm" --tpm "$tpm" --delay "$delay" --minute "$minute" "$@" \
		>"$BENCH_TMP/port" 2>"$BENCH_TMP/limitd.err" &
	LPID=$!
	read -r -t 20 PORT <"$BENCH_TMP/port"
}
# report NAME SECONDS: the server's counts and the ratio to the floor; the log kept for the plot
report() {
	local c
	c=$(exec 3<>"/dev/tcp/127.0.0.1/$PORT"; printf 'GET /_count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3; sed '1,/^\r$/d' <&3)
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT"; printf 'GET /_log HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3; sed '1,/^\r$/d' <&3) \
		>"$BENCH_TMP/$1.log"
	kill "$LPID"
	wait "$LPID" 2>/dev/null
	$py - "$1" "$2" "$floor_s" "$c" "$BENCH_TMP/$1.log" "$delay" "$BENCH_TMP/rows" <<'PY'
import json, sys
name, secs, floor, c = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
# the span the server saw, first arrival to last answer: a client's start-up (Node's is
# seconds) is not pacing
ts = [json.loads(l)["t"] for l in open(sys.argv[5]) if l.strip()]
span = (max(ts) - min(ts) + float(sys.argv[6])) / 1000 if ts else 0
pct = 100.0 * c["429"] / max(1, c["total"])
print("  %-24s %7.2f s wall, %7.2f s span (%.2fx the floor)  %5d requests, %4d answered 429 (%.1f%%)" %
      (name, secs, span, span / floor if floor > 0 else 0, c["total"], c["429"], pct))
with open(sys.argv[7], "a") as f:
    f.write("%s\t%.3f\t%d\t%.3f\n" % (name, span, c["429"], pct))
PY
}

# promptfoo's adaptive scheduler (on by default), allowed 64 at once as qa's -c auto is
pf=bench/promptfoo/node_modules/.bin/promptfoo
if [ ! -x "$pf" ]; then
	(mkdir -p bench/promptfoo && cd bench/promptfoo &&
		npm install --no-audit --no-fund --omit=dev promptfoo@0.121.20 >/dev/null 2>&1) ||
		echo "  (npm could not install promptfoo@0.121.20: its row is skipped)"
fi
if [ -x "$pf" ]; then
	start_limitd
	$py - "$BENCH_TMP/tasks.jsonl" "$PORT" >"$BENCH_TMP/promptfooconfig.yaml" <<'PY'
import json, sys
tasks = [json.loads(l) for l in open(sys.argv[1])]
print("prompts: ['{{prompt}}']")
print("providers:\n  - id: openai:chat:limitd\n    config:\n      apiBaseUrl: http://127.0.0.1:%s/v1\n"
      "      apiKey: sk-bench\n      max_tokens: 128" % sys.argv[2])
print("tests:")
for t in tasks:
    print("  - vars: {prompt: %s}" % json.dumps(t["prompt"]))
PY
	mkdir -p "$BENCH_TMP/pfhome"
	t0=$(date +%s.%N)
	HOME=$BENCH_TMP/pfhome PROMPTFOO_CONFIG_DIR=$BENCH_TMP/pfhome PROMPTFOO_DISABLE_TELEMETRY=1 \
	PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_DISABLE_SHARING=1 PROMPTFOO_DISABLE_REMOTE_GENERATION=1 \
	OPENAI_API_KEY=sk-bench NO_PROXY=127.0.0.1 \
		"$pf" eval -c "$BENCH_TMP/promptfooconfig.yaml" --no-cache --no-write --no-table --no-progress-bar \
		-j 64 -o "$BENCH_TMP/promptfoo.json" >"$BENCH_TMP/promptfoo.out" 2>&1
	t1=$(date +%s.%N)
	report promptfoo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
	$py bench/plot-conc.py --delay "$delay" --title "promptfoo 0.121.20, adaptive" \
		"$BENCH_TMP/promptfoo.log" >"$svgdir/ratelimit-promptfoo.svg" &&
		echo "  plot: $svgdir/ratelimit-promptfoo.svg"
fi

# qa-send as a user runs it (no -c: -c auto is the default for HTTP endpoints), with headers and without
if "$QA_BIN/qa-send" --help 2>/dev/null | grep -q -- '--tpm'; then
	for mode in openai none; do
		start_limitd --headers "$mode"
		printf '[limitd]\nprovider = openai\nbase_url = http://127.0.0.1:%s/v1\nmodel = limitd\nkey_env = BENCH_KEY\n' \
			"$PORT" >"$BENCH_TMP/ep.ini"
		t0=$(date +%s.%N)
		BENCH_KEY=sk-bench "$QA_BIN/qa-send" --config "$BENCH_TMP/ep.ini" -e limitd -p max_tokens=128 \
			--trace "$BENCH_TMP/qa-$mode.trace" <"$BENCH_TMP/tasks.jsonl" >/dev/null 2>"$BENCH_TMP/qa-$mode.err"
		t1=$(date +%s.%N)
		report "qa-send ($mode headers)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
		$py bench/plot-conc.py --delay "$delay" --title "qa-send, headers: $mode" "$BENCH_TMP/qa-send ($mode headers).log" \
			>"$svgdir/ratelimit-qa-$mode.svg" && echo "  plot: $svgdir/ratelimit-qa-$mode.svg"
	done
	# the issue's bar: 1.2x sooner than promptfoo, or 5x fewer 429s, on the same server and tasks in this run
	awk -F'\t' '{ span[$1] = $2; n[$1] = $3 }
		END { if (!("promptfoo" in span)) exit
		      for (m = 1; m <= 2; m++) { q = m == 1 ? "qa-send (openai headers)" : "qa-send (none headers)"
		        printf "  promptfoo vs %-24s %.2fx the time, %d vs %d 429s (%s)\n", q, span["promptfoo"] / span[q],
		          n["promptfoo"], n[q], n[q] ? sprintf("%.1fx fewer", n["promptfoo"] / n[q]) : "none for qa" } }' \
		"$BENCH_TMP/rows"
else
	echo "  (qa-send has no --tpm yet: its rows wait for issue 21's integration)"
fi
