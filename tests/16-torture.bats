#!/usr/bin/env bats
# Allocation-failure injection, as curl's torture tests: QA_FAIL_ALLOC=N makes
# the Nth allocation through lib/xalloc.c fail.  For every N, until the run
# gets past its last allocation, the tool must stop the one clean way: one
# "out of memory" line on stderr, exit 2, and on stdout only whole records,
# the first ones of what an undisturbed run writes.  Never a signal, never a
# half-written line.

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	# Records that grow (a longer answer, a longer array each time), so the
	# parser's tokens and the output buffers grow late in the run, after
	# hundreds of kilobytes of output have gone to stdout.
	python3 -c '
import json
for i in range(1, 121):
    print(json.dumps({"id": i, "task": "t%d" % (i % 7), "model": "gpt-4o", "expected": ["a", "B%d" % i],
        "response": {"text": "ab " * (i * 10), "model": "gpt-4o",
                     "usage": {"prompt_tokens": i, "completion_tokens": i}},
        "arr": list(range(i * 5))}, separators=(",", ":")))
' > in.jsonl
	printf '%s\n' 'provider,model,input_per_mtok,output_per_mtok,cached_input_per_mtok,cache_write_per_mtok,reasoning_per_mtok,currency,date,source' \
		'openai,gpt-4o,2.50,10.00,,,,USD,2024-08-06,test' > prices.csv
}

# torture CMD...: fails each allocation of CMD in turn; the clean stop every time.
torture() {
	local tool=${1##*/} n=1 want st failures=0 midway=0
	want=0
	"$@" > full.out 2> full.err || want=$?
	[ "$want" -lt 2 ] || { echo "the undisturbed run exits $want" >&2; return 1; }
	[ -s full.out ] || { echo "the undisturbed run writes nothing" >&2; return 1; }
	while :; do
		st=0
		QA_FAIL_ALLOC=$n "$@" > out 2> err || st=$?
		if [ "$st" -ge 128 ]; then
			echo "allocation $n: died by signal $((st - 128))" >&2
			return 1
		fi
		if ! grep -q 'out of memory' err; then
			# Past the last allocation: the run is the undisturbed one.
			[ "$st" -eq "$want" ] && cmp -s out full.out && break
			echo "allocation $n: exit $st, output differs, no message" >&2
			return 1
		fi
		failures=$((failures + 1))
		if [ "$st" -ne 2 ] || ! tail -n 1 err | grep -Eqx "$tool: out of memory allocating [0-9]+ bytes"; then
			echo "allocation $n: exit $st, stderr: $(cat err)" >&2
			return 1
		fi
		# Whole lines only, and the first lines of the real output.
		if [ -s out ] && [ "$(tail -c 1 out | od -An -c | tr -d ' ')" != '\n' ]; then
			echo "allocation $n: a half-written line" >&2
			return 1
		fi
		[ -s out ] && midway=$((midway + 1))
		if ! cmp -s out <(head -c "$(wc -c < out)" full.out); then
			echo "allocation $n: output is not a prefix of the real one" >&2
			return 1
		fi
		n=$((n + 1))
		[ "$n" -le 20000 ] || { echo "more than 20000 allocations?" >&2; return 1; }
	done
	echo "# $tool: $failures allocations failed in turn, each cleanly ($midway after output began)" >&3
	# The hook works: at least the first allocations failed.
	[ "$failures" -ge 5 ]
}

@test "qa-score: the parser, the scorers' options and the splice writer stop cleanly on every failed allocation" {
	torture qa-score -m exact_match:ignore_case=true -m '{"name":"regex","pattern":"(a)b"}' in.jsonl
}

@test "qa-score --summary stops cleanly on every failed allocation" {
	torture qa-score --summary -m exact_match in.jsonl
}

@test "qa-route stops cleanly on every failed allocation" {
	torture qa-route --split a=50,b=50 --rule 'task=t3:endpoint=b' in.jsonl
}

@test "qa-cost stops cleanly on every failed allocation" {
	torture qa-cost --prices prices.csv in.jsonl
}

@test "qa-diff stops cleanly on every failed allocation" {
	qa-score -m exact_match in.jsonl > base.jsonl
	sed 's/"a"/"x"/' in.jsonl | qa-score -m exact_match > cand.jsonl
	torture qa-diff base.jsonl cand.jsonl
}
