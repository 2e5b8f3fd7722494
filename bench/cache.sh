# The response cache (issue 20): a warm-cache hit must cost under 10% of a
# loopback request.  Measures the module alone, bench/cachebench.c (N keys
# built and answers put one commit each, then got from a warm file), then
# qa-send on N tasks in one run: sending them to bench/canned.c at delay 0,
# concurrency 64 without the cache; a cold run with the cache (sends, and
# stores each answer, committed in batches); a warm one, every task a hit
# (target: 10x faster than the loopback run).  Wall and CPU (user + sys)
# times: on a shared machine the CPU times are the steadier.
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
# timed NAME ARGS...: qa-send ARGS to the canned server; sets T_S (wall) and T_CPU (user + sys).
timed() {
	local name=$1 u s
	shift
	/usr/bin/time -f '%e %U %S' -o "$BENCH_TMP/.time" qa-send -q --provider openai \
		--base-url "http://127.0.0.1:$port/v1" --model m -c $c "$@" "$BENCH_TMP/tasks.jsonl" > "$BENCH_TMP/$name.jsonl" 2>/dev/null
	read -r T_S u s < <(tail -n 1 "$BENCH_TMP/.time")
	T_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
}
timed send --cache-mode off
send_s=$T_S send_cpu=$T_CPU
rm -f "$BENCH_TMP/send.db"*
timed cold --cache "$BENCH_TMP/send.db"
cold_s=$T_S cold_cpu=$T_CPU
db_bytes=$(($(stat -c %s "$BENCH_TMP/send.db") + $(stat -c %s "$BENCH_TMP/send.db-wal" 2>/dev/null || echo 0)))
timed warm --cache "$BENCH_TMP/send.db"
warm_s=$T_S warm_cpu=$T_CPU
hits=$(grep -c '"cached":true' "$BENCH_TMP/warm.jsonl")
printf '  qa-send, %d tasks to the canned server (delay 0, -c %d), no cache: %s s wall, %s s cpu\n' "$n" "$c" "$send_s" "$send_cpu"
printf '  qa-send --cache, cold (sends, stores): %s s wall, %s s cpu; file %d bytes, %d per record\n' \
	"$cold_s" "$cold_cpu" "$db_bytes" $((db_bytes / n))
printf '  qa-send --cache, warm (%s of %d hits): %s s wall, %s s cpu\n' "$hits" "$n" "$warm_s" "$warm_cpu"
printf '  loopback / warm = %sx wall, %sx cpu (target: 10x or more); cold / loopback = %sx wall\n' \
	"$(ratio "$send_s" "$warm_s")" "$(ratio "$send_cpu" "$warm_cpu")" "$(ratio "$cold_s" "$send_s")"
rm -f "$BENCH_TMP/send.db"* "$BENCH_TMP"/{send,cold,warm}.jsonl
pct() { awk -v g="$1" -v s="$send_s" 'BEGIN { printf "%.1f", 100 * g / (s < 0.01 ? 0.01 : s) }'; }
printf '  a warm get costs %s%% of a loopback request one by one, %s%% in read batches (target: under 10%%)\n' \
	"$(pct "$get_s")" "$(pct "$bget_s")"
rm -f "$BENCH_TMP/tasks.jsonl"
