# The response cache (issue 20): a warm-cache hit must cost under 10% of a
# loopback request.  Today (before qa-send uses the cache) this measures the
# module alone, bench/cachebench.c: N keys built and answers put, then N
# keys built and got from a warm file; against qa-send sending the same N
# tasks to bench/canned.c at delay 0, concurrency 64; and qa-send --cache
# with every task a hit against that loopback run (target: 10x faster).
. bench/lib.sh
n=${BENCH_CACHE_N:-100000}
c=64
cc -std=c11 -D_GNU_SOURCE -O2 -Ilib -Iinclude -o "$BENCH_TMP/cachebench" bench/cachebench.c "${QA_BIN%/bin}/libqa.a" \
	$(pkg-config --libs sqlite3 libcrypto libpcre2-8 libutf8proc libcurl inih) -lcsv -ldl -lm || { echo "  cannot build bench/cachebench.c"; exit 1; }
cc -std=c11 -D_GNU_SOURCE -O2 -o "$BENCH_TMP/canned" bench/canned.c \
	$(pkg-config --cflags --libs libmicrohttpd) || { echo "  cannot build bench/canned.c"; exit 1; }

rm -f "$BENCH_TMP/cache.db"*
"$BENCH_TMP/cachebench" "$BENCH_TMP/cache.db" "$n" > "$BENCH_TMP/cache.json" || { echo "  cachebench failed"; exit 1; }
read -r put_s get_s key_s puts gets bget_s bpr < <(jq -r '"\(.put_s) \(.get_s) \(.key_s) \(.puts_per_s) \(.gets_per_s) \(.batch_get_s) \(.bytes_per_record)"' "$BENCH_TMP/cache.json")
printf '  %d records: put %s s (%s/s, each committed), warm get %s s one by one (%s/s; of it, keys %s s),\n  %s s in read batches of 1000, %s bytes per record\n' \
	"$n" "$put_s" "$puts" "$get_s" "$gets" "$key_s" "$bget_s" "$bpr"
rm -f "$BENCH_TMP/cache.db"*

awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
	printf "{\"id\":%d,\"task\":\"mc\",\"prompt\":\"Question %d: which of these is right? A) one B) two C) three D) four\",\"expected\":\"B\",\"metric\":\"choice\"}\n", i, i }' \
	> "$BENCH_TMP/tasks.jsonl"
rm -f "$BENCH_TMP/port"
mkfifo "$BENCH_TMP/port"
"$BENCH_TMP/canned" --delay 0 > "$BENCH_TMP/port" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null' EXIT
read -r port < "$BENCH_TMP/port"
export OPENAI_API_KEY=sk-bench
/usr/bin/time -f '%e' -o "$BENCH_TMP/.time" qa-send -q --cache-mode off --provider openai --base-url "http://127.0.0.1:$port/v1" \
	--model m -c $c "$BENCH_TMP/tasks.jsonl" > /dev/null 2>&1
send_s=$(tail -n 1 "$BENCH_TMP/.time")
# qa-send with the cache: a cold run (sends, stores each answer), then a warm one, every task a hit.
rm -f "$BENCH_TMP/send.db"*
/usr/bin/time -f '%e' -o "$BENCH_TMP/.time" qa-send -q --cache "$BENCH_TMP/send.db" --provider openai \
	--base-url "http://127.0.0.1:$port/v1" --model m -c $c "$BENCH_TMP/tasks.jsonl" > /dev/null 2>&1
cold_s=$(tail -n 1 "$BENCH_TMP/.time")
/usr/bin/time -f '%e' -o "$BENCH_TMP/.time" qa-send -q --cache "$BENCH_TMP/send.db" --provider openai \
	--base-url "http://127.0.0.1:$port/v1" --model m -c $c "$BENCH_TMP/tasks.jsonl" > "$BENCH_TMP/warm.jsonl" 2>&1
warm_s=$(tail -n 1 "$BENCH_TMP/.time")
hits=$(grep -c '"cached":true' "$BENCH_TMP/warm.jsonl")
printf '  qa-send --cache: cold (sends and stores) %s s; warm, %s of %d tasks hits: %s s; loopback / warm = %sx (target: 10x or more)\n' \
	"$cold_s" "$hits" "$n" "$warm_s" "$(awk -v a="$send_s" -v b="$warm_s" 'BEGIN { printf "%.1f", a / (b < 0.01 ? 0.01 : b) }')"
rm -f "$BENCH_TMP/send.db"* "$BENCH_TMP/warm.jsonl"
printf '  qa-send, %d tasks to the canned server (delay 0, -c %d, once): %s s\n' "$n" "$c" "$send_s"
pct() { awk -v g="$1" -v s="$send_s" 'BEGIN { printf "%.1f", 100 * g / (s < 0.01 ? 0.01 : s) }'; }
printf '  a warm get costs %s%% of a loopback request one by one, %s%% in read batches (target: under 10%%)\n' \
	"$(pct "$get_s")" "$(pct "$bget_s")"
rm -f "$BENCH_TMP/tasks.jsonl"
