# Shared by the bench/*.sh scripts (sourced, not run).

# least A B: the smaller of two numbers, B when A is empty
least() {
	awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'
}

# measure NAME CMD...: runs CMD three times, prints the best wall time (s),
# the best CPU time (user + sys, s) and the peak RSS (KiB).  On a shared
# machine CPU time is the steadier of the two: compare ratios of it.
# Sets MEASURED_S, MEASURED_CPU and MEASURED_KB.
measure() {
	local name=$1 best="" cpu="" rss=0 t m u s c
	shift
	for _ in 1 2 3; do
		/usr/bin/time -f '%e %M %U %S' -o "$BENCH_TMP/.time" "$@" >/dev/null 2>&1
		read -r t m u s < <(tail -n 1 "$BENCH_TMP/.time")
		c=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
		best=$(least "$best" "$t")
		cpu=$(least "$cpu" "$c")
		[ "$m" -gt "$rss" ] && rss=$m
	done
	MEASURED_S=$best
	MEASURED_CPU=$cpu
	MEASURED_KB=$rss
	printf '  %-34s %8.2f s wall %8.2f s cpu %10d KiB\n' "$name" "$best" "$cpu" "$rss"
}

# ratio A B: A/B to two decimals (0.01 s floor: the clock's resolution)
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b < 0.01) b = 0.01; if (a < 0.01) a = 0.01; printf "%.1f", a / b }'
}
