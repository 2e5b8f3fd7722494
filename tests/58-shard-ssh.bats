#!/usr/bin/env bats
# Sharded runs across hosts on GNU parallel --sshlogin, for real: an sshd on
# 127.0.0.1 (tests/sshd.bash) with two logins standing for two hosts, each
# with its own XDG_CACHE_HOME.  The mock provider answers, so the shards'
# merged summary must be the single local run's; the last two tests send to
# qa-testd instead, to count what a killed shard's retry resends.

setup() {
	load test_helper
	load sshd
	cd "$BATS_TEST_TMPDIR"
	sshd_start "$BATS_TEST_TMPDIR/ssh"
	LOGINS="$(sshd_login host1),$(sshd_login host2)"
	cat "$QA_ROOT"/pipelines/tasks/*.jsonl > tasks.jsonl
	qa-send -q --provider mock --model int4 < tasks.jsonl | qa-score --summary > whole.json
	mkdir marks
	# One shard: logs where it ran; shard $KILL's first attempt is killed
	# (SIGKILL) after qa-send has answered part of it.
	cat > shard.sh <<-EOF
	#!/bin/bash
	echo "\$1 \${XDG_CACHE_HOME##*/}" >> $BATS_TEST_TMPDIR/marks/attempts
	if [ "\$1" = "\${KILL:-0}" ] && mkdir $BATS_TEST_TMPDIR/marks/killed 2>/dev/null; then
		$QA_BIN/qa-send -q --provider mock --model int4 | head -n 3 > /dev/null
		kill -9 \$\$
	fi
	$QA_BIN/qa-send -q --provider mock --model int4 | $QA_BIN/qa-score --summary
	EOF
	chmod +x shard.sh
}

teardown() {
	sshd_stop "$BATS_TEST_TMPDIR/ssh"
	sshd_stop "$BATS_TEST_TMPDIR/ssh2"
	if [ -n "${SRV:-}" ]; then stop_testd "$SRV"; fi
}

# The merged summary equals whole.json: 0/1 scores bit for bit, the others to rounding.
same_as_whole() {
	qa-score --merge "$1" > merged.json
	[ "$(grep -c '"scope":"overall"' merged.json)" = "$(grep -c '"scope":"overall"' whole.json)" ]
	grep '"ci_method":"wilson"' whole.json | jq -c 'del(.stats)' > w.bin
	[ -s w.bin ]
	grep '"ci_method":"wilson"' merged.json | jq -c 'del(.stats)' | cmp - w.bin
	json_near whole.json merged.json
}

@test "sshd: two logins reach it, each with its own XDG_CACHE_HOME" {
	run_ok ssh -F ssh/ssh_config host1 'echo "$XDG_CACHE_HOME"'
	assert_output "$BATS_TEST_TMPDIR/ssh/host1"
	run_ok ssh -F ssh/ssh_config host2 'echo "$XDG_CACHE_HOME"'
	assert_output "$BATS_TEST_TMPDIR/ssh/host2"
}

@test "parallel --pipe --sshlogin over two hosts: the merged summary is the local run's" {
	parallel --will-cite --pipe -N 60 -k --sshlogin "$LOGINS" \
	    "$BATS_TEST_TMPDIR/shard.sh {#}" < tasks.jsonl > shards.json
	# 358 tasks in shards of 60: six shards, on both hosts
	[ "$(wc -l < marks/attempts)" = 6 ]
	[ "$(cut -d' ' -f2 marks/attempts | sort -u | tr '\n' ' ')" = "host1 host2 " ]
	same_as_whole shards.json
}

@test "a killed shard is re-run by parallel --retries on the other host; the merge is unchanged" {
	KILL=2 parallel --will-cite --pipe -N 60 -k --retries 2 --env KILL --sshlogin "$LOGINS" \
	    "$BATS_TEST_TMPDIR/shard.sh {#}" < tasks.jsonl > shards.json
	[ -d marks/killed ]
	# shard 2 ran twice, the second time on the host it had not run on
	[ "$(grep -c '^2 ' marks/attempts)" = 2 ]
	[ "$(grep '^2 ' marks/attempts | cut -d' ' -f2 | sort -u | wc -l)" = 2 ]
	[ "$(wc -l < marks/attempts)" = 7 ]
	same_as_whole shards.json
}

# The killed-shard cases with the response cache: qa-send asks qa-testd
# (which counts), 240 distinct prompts in shards of 60, -c 4.  Shard 2's
# first attempt is cut after 3 records (| head -n 3: qa-send stops at the
# closed pipe) and the shell killed; its retry is served what it had
# answered, so the server sees at most 240 + the requests in flight then.
cached_shards() {
	load testd
	SRV=S$BATS_TEST_NUMBER
	start_testd "$SRV"	# sets PORT and BASE
	seq 1 240 | jq -c '{id: ., prompt: "q\(.)", expected: "q\(.)", metric: "exact_match"}' > t240.jsonl
	cat > cshard.sh <<-EOF
	#!/bin/bash
	export OPENAI_API_KEY=sk-test-000000000000
	send() { $QA_BIN/qa-send -q --provider openai --base-url $BASE --model m -c 4 "\$@"; }
	echo "\$1 \$QA_HOST" >> $BATS_TEST_TMPDIR/marks/attempts
	if [ "\$1" = "\${KILL:-0}" ] && mkdir $BATS_TEST_TMPDIR/marks/killed 2>/dev/null; then
		send | head -n 3 > /dev/null
		kill -9 \$\$
	fi
	send 2> $BATS_TEST_TMPDIR/marks/err.\$1.\$QA_HOST | $QA_BIN/qa-score --summary
	EOF
	chmod +x cshard.sh
	OPENAI_API_KEY=sk-test-000000000000 qa-send -q --cache-mode off --provider openai --base-url "$BASE" \
		--model m < t240.jsonl | qa-score --summary > whole.json
	curl -s -X POST "http://127.0.0.1:$PORT/_reset" > /dev/null
}

# The retried shard's qa-send: how many of its 60 records the cache served.
retry_hits() {
	sed -nE 's/^qa-send: ([0-9]+) of 60 records served from the response cache.*/\1/p' "$@"
}

@test "a killed shard retried on the other host, the hosts sharing a cache on local disk: only the unfinished are resent" {
	sshd_stop "$BATS_TEST_TMPDIR/ssh"
	SSHD_SHARED_CACHE=$BATS_TEST_TMPDIR/shared sshd_start "$BATS_TEST_TMPDIR/ssh2"
	LOGINS="$(sshd_login host1),$(sshd_login host2)"
	cached_shards
	KILL=2 parallel --will-cite --pipe -N 60 -k --retries 2 --env KILL --sshlogin "$LOGINS" \
	    "$BATS_TEST_TMPDIR/cshard.sh {#}" < t240.jsonl > shards.json
	total=$(get "$PORT" /_count | jq .total)
	sshd_stop "$BATS_TEST_TMPDIR/ssh2"
	stop_testd "$SRV"
	[ -d marks/killed ]
	[ "$(grep '^2 ' marks/attempts | cut -d' ' -f2 | sort -u | wc -l)" = 2 ]	# the retry ran on the other host
	hits=$(retry_hits marks/err.2.*)
	echo "shard 2's retry: $hits of 60 served from the cache; the server saw $total requests" >&3
	[ "$hits" -ge 3 ]
	[ "$total" -le $((240 + 2 * 4)) ]
	[ "$total" -ge 240 ]
	[ -f shared/qa/responses.db ]
	same_as_whole shards.json
}

@test "a killed shard retried on the same host, each login with its own cache: only the unfinished are resent" {
	cached_shards
	KILL=2 parallel --will-cite --pipe -N 60 -k --retries 2 --env KILL --sshlogin "$(sshd_login host1)" \
	    "$BATS_TEST_TMPDIR/cshard.sh {#}" < t240.jsonl > shards.json
	total=$(get "$PORT" /_count | jq .total)
	stop_testd "$SRV"
	[ -d marks/killed ]
	[ "$(grep -c '^2 host1$' marks/attempts)" = 2 ]
	hits=$(retry_hits marks/err.2.host1)
	echo "shard 2's retry: $hits of 60 served from the cache; the server saw $total requests" >&3
	[ "$hits" -ge 3 ]
	[ "$total" -le $((240 + 2 * 4)) ]
	[ -f ssh/host1/qa/responses.db ]
	[ ! -e ssh/host2/qa/responses.db ]
	same_as_whole shards.json
}
