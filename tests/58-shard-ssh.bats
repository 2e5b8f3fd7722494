#!/usr/bin/env bats
# Sharded runs across hosts on GNU parallel --sshlogin, for real: an sshd on
# 127.0.0.1 (tests/sshd.bash) with two logins standing for two hosts, each
# with its own XDG_CACHE_HOME.  The mock provider answers, so the shards'
# merged summary must be the single local run's.

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
}

# The merged summary equals whole.json: 0/1 scores bit for bit, the others to rounding.
same_as_whole() {
	qa-score --merge "$1" > merged.json
	[ "$(grep -c '"scope":"overall"' merged.json)" = "$(grep -c '"scope":"overall"' whole.json)" ]
	grep '"ci_method":"wilson"' whole.json | jq -c 'del(.stats)' > w.bin
	[ -s w.bin ]
	grep '"ci_method":"wilson"' merged.json | jq -c 'del(.stats)' | cmp - w.bin
	jq -n --slurpfile a whole.json --slurpfile b merged.json '
		def near($v; $w): if ($v | type) == "number" and ($w | type) == "number"
			then ($v - $w | fabs) <= 1e-12 * ([($v | fabs), 1] | max)
			elif ($v | type) == "object" and ($w | type) == "object"
			then ($v | keys) == ($w | keys) and all($v | keys[]; near($v[.]; $w[.]))
			elif ($v | type) == "array" and ($w | type) == "array"
			then ($v | length) == ($w | length) and all(range($v | length); near($v[.]; $w[.]))
			else $v == $w end;
		($a | length) == ($b | length) and ([$a, $b] | transpose | all(near(.[0]; .[1])))' > ok
	[ "$(cat ok)" = true ]
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
