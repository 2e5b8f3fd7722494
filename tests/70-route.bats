#!/usr/bin/env bats
# qa-route: sticky, monotone weighted splits, stages, rules, mirroring, fallback.

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
}

# N records {"id":1} ... {"id":N}, once per file.
keys() {
	[ -f "$BATS_FILE_TMPDIR/keys-$1.jsonl" ] ||
		seq "$1" | awk '{ printf "{\"id\":%d}\n", $1 }' > "$BATS_FILE_TMPDIR/keys-$1.jsonl"
	echo "$BATS_FILE_TMPDIR/keys-$1.jsonl"
}

# The endpoint of each output line, one per line (no jq per line).
endpoints() { awk -F'"endpoint":"' '{ split($2, a, "\""); print a[1] }'; }

@test "property: 100k keys are sticky, monotone along the ramp, and near their weights" {
	in=$(keys 100000)
	local stages=(0 1 2 3 4) weights=(0 10 30 60 100)
	for s in "${stages[@]}"; do
		qa-route --split old=90,new=10 --plan 10,30,60,100 --stage "$s" "$in" | endpoints > "st$s"
		[ "$(wc -l < "st$s")" -eq 100000 ]
	done
	# Sticky: the same key, salt and weights give the same endpoint, run after run.
	qa-route --split old=90,new=10 --plan 10,30,60,100 --stage 2 "$in" | endpoints > again
	cmp st2 again
	# --stage P% is the same stage as its number.
	qa-route --split old=90,new=10 --plan 10,30,60,100 --stage 30% "$in" | endpoints | cmp - st2
	# Monotone: no key leaves the candidate when its weight rises.
	for i in 1 2 3 4; do
		left=$(paste -d' ' "st$((i - 1))" "st$i" | awk '$1 == "new" && $2 != "new"' | wc -l)
		[ "$left" -eq 0 ] || { echo "stage $i: $left keys left the candidate"; return 1; }
	done
	# The realised share is within 4 binomial standard errors of the weight.
	for i in "${!stages[@]}"; do
		k=$(grep -cx new "st$i" || true)
		awk -v k="$k" -v n=100000 -v w="${weights[$i]}" 'BEGIN {
			p = w / 100; se = sqrt(p * (1 - p) / n); d = k / n - p; if (d < 0) d = -d
			if (d > 4 * se) { printf "weight %s: share %.4f, 4 se %.4f\n", w, k / n, 4 * se; exit 1 }
		}'
	done
	# Another salt is another, equally sticky, cohort.
	qa-route --split old=90,new=10 --plan 10,30,60,100 --stage 2 --salt other "$in" | endpoints > salted
	run ! cmp -s st2 salted
}

@test "property: three endpoints, the candidate first: keys only ever move onto it" {
	in=$(keys 20000)
	prev=""
	for s in 0 1 2 3; do
		qa-route --split a=50,b=30,c=20 --candidate a --plan 10,50,100 --stage "$s" "$in" | endpoints > "st$s"
		if [ -n "$prev" ]; then
			left=$(paste -d' ' "$prev" "st$s" | awk '$1 == "a" && $2 != "a"' | wc -l)
			[ "$left" -eq 0 ]
		fi
		prev=st$s
	done
	# Stage 0 is a full rollback; the others keep their 30:20 proportion.
	[ "$(grep -cx a st0)" = 0 ]
	[ "$(grep -cx a st3)" -eq 20000 ]
}

@test "the bucket is fmix64(FNV-1a 64(salt:key)) mod 10000, as the man page says" {
	run_ok qa-route --split old=90,new=10 <<<'{"id":1}
{"id":"abc"}
{"id":5}'
	assert_line --index 0 '{"id":1,"endpoint":"old","route":{"bucket":4898,"weight":90,"stage":null,"rule":"split"}}'
	assert_line --index 1 '{"id":"abc","endpoint":"old","route":{"bucket":4134,"weight":90,"stage":null,"rule":"split"}}'
	assert_line --index 2 '{"id":5,"endpoint":"new","route":{"bucket":644,"weight":10,"stage":null,"rule":"split"}}'
	# The string unescaped; a number by its value (1, 1.0 and 1e0 are one key).
	run_ok qa-route --split old=90,new=10 --key k <<<'{"k":"a\u0062c"}'
	[ "$(field .route.bucket)" = 4134 ]
}

@test "endpoint, fallback and route are replaced in place; every other byte is kept" {
	run_ok qa-route --split old=50,new=50 --fallback old <<<'{"id" : 5, "endpoint":"x","fallback":[],"n":1.50,"route":1}'
	assert_output '{"id" : 5, "endpoint":"new","fallback":["old"],"n":1.50,"route":{"bucket":644,"weight":50,"stage":null,"rule":"split"}}'
}

@test "weights with decimals; stages share the rest in proportion" {
	run_ok qa-route --split a=33.33,b=33.33,c=33.34 <<<'{"id":5}'
	[ "$(field .route.weight)" = 33.34 ]
	# a and b share the 50 the candidate leaves as 60:20.
	in=$(keys 1000)
	run_ok qa-route --split a=60,b=20,c=20 --plan 50 --stage 1 "$in"
	[ "$(jq -r '"\(.endpoint)=\(.route.weight)"' <<<"$output" | sort -u | paste -sd,)" = a=37.5,b=12.5,c=50 ]
	run_ok qa-route --split a=0,b=0,c=100 --plan 40 --stage 1 <<<'{"id":5}'
	[ "$(field .endpoint)" = '"c"' ]
	[ "$(field .route.weight)" = 40 ]
	[ "$(field .route.stage)" = 1 ]
}

@test "rules come before the split; the first match wins" {
	run_ok qa-route --split old=90,new=10 \
		--rule 'task=code:endpoint=strong' --rule 'prompt~(?i)^translate:endpoint=polyglot' \
		--rule 'level=3:endpoint=strong' --rule 'task~.:endpoint=any' <<'EOF'
{"id":1,"task":"code","prompt":"Translate this"}
{"id":2,"task":"chat","prompt":"translate: hi"}
{"id":3,"level":3}
{"id":4,"task":"chat"}
{"id":5}
EOF
	assert_line --index 0 --partial '"endpoint":"strong","route":{"bucket":null,"weight":null,"stage":null,"rule":"1:task=code:endpoint=strong"}'
	assert_line --index 1 --partial '"endpoint":"polyglot"'
	assert_line --index 1 --partial '"rule":"2:prompt~(?i)^translate:endpoint=polyglot"'
	assert_line --index 2 --partial '"endpoint":"strong"'
	assert_line --index 2 --partial '"rule":"3:level=3:endpoint=strong"'
	assert_line --index 3 --partial '"endpoint":"any"'
	assert_line --index 4 --partial '"endpoint":"new","route":{"bucket":644,"weight":10,"stage":null,"rule":"split"}'
}

@test "--mirror doubles the count and marks the copies" {
	in=$(keys 1000)
	qa-route --split old=90,new=10 --mirror cand --fallback old "$in" > out
	[ "$(wc -l < out)" -eq 2000 ]
	[ "$(jq -c 'select(.mirror == true)' out | wc -l)" -eq 1000 ]
	[ "$(jq -c 'select(.mirror == true and .endpoint == "cand" and .route.rule == "mirror" and
		(has("fallback") | not))' out | wc -l)" -eq 1000 ]
	# Each copy follows its record, with the same id and bucket.
	[ "$(jq -s '[range(0; length; 2) as $i | .[$i].id == .[$i + 1].id and .[$i].route.bucket ==
		.[$i + 1].route.bucket and (.[$i] | has("mirror") | not)] | all' out)" = true ]
}

@test "--fallback sets the array on every record" {
	run_ok qa-route --split old=90,new=10 --fallback old,spare <<<'{"id":1}
{"id":2,"fallback":["x"]}'
	[ "$(jq -c .fallback <<<"$output" | sort -u)" = '["old","spare"]' ]
}

@test "label mode: without --config any name goes, and a weight of 0 is valid" {
	run_ok qa-route --split "never=0,always=100" <<<'{"id":1}'
	[ "$(field .endpoint)" = '"always"' ]
	[ "$(field .route.weight)" = 100 ]
}

@test "--config: every endpoint named must be in it, else exit 2 naming it" {
	printf '[old]\nprovider = openai\n[new]\nprovider = openai\n[spare]\nprovider = mock\n' > ep.conf
	run_ok qa-route --config ep.conf --split old=90,new=10 --fallback spare <<<'{"id":1}'
	run_usage qa-route --config ep.conf --split old=90,nu=10 <<<'{"id":1}'
	assert_stderr --partial 'endpoint nu is not in'
	run_usage qa-route --config ep.conf --split old=90,new=10 --mirror shadow <<<'{"id":1}'
	assert_stderr --partial 'endpoint shadow'
	run_usage qa-route --config ep.conf --split old=90,new=10 --rule 'a=b:endpoint=big' <<<'{"id":1}'
	assert_stderr --partial 'endpoint big'
	run_usage qa-route --config ep.conf --split old=90,new=10 --fallback old,gone <<<'{"id":1}'
	assert_stderr --partial 'endpoint gone'
	[ -z "$output" ]
}

@test "usage errors exit 2: weights not summing to 100, a stage outside the plan, bad options" {
	run_usage qa-route --split old=90,new=20 <<<'{"id":1}'
	assert_stderr --partial 'sum to 110, not 100'
	run_usage qa-route --split old=90.5,new=9.49 <<<'{"id":1}'
	run_usage qa-route --split old=90.001,new=9.999 <<<'{"id":1}'
	run_usage qa-route --split only=100 <<<'{"id":1}'
	run_usage qa-route --split old=90,new=10 --plan 10,30,60,100 --stage 5 <<<'{"id":1}'
	run_usage qa-route --split old=90,new=10 --plan 10,30,60,100 --stage 20% <<<'{"id":1}'
	run_usage qa-route --split old=90,new=10 --plan 10,30 --stage -1 <<<'{"id":1}'
	run_usage qa-route --split old=90,new=10 --stage 1 <<<'{"id":1}'
	run_usage qa-route --split old=90,new=10 --candidate nope <<<'{"id":1}'
	run_usage qa-route --split old=90,new=10 --rule 'task=code' <<<'{"id":1}'
	run_usage qa-route --split old=90,new=10 --rule 'task~(:endpoint=x' <<<'{"id":1}'
	run_usage qa-route <<<'{"id":1}'
	run_usage qa-route --bogus
	run_ok qa-route --help
	assert_output --partial 'usage: qa-route'
}

@test "a missing key: routed by line number, one warning with the count and first line" {
	run_ok qa-route --split old=50,new=50 <<<'{"id":1}
{"x":1}
{"id":true}
{"id":4}'
	[ "$(grep -c 'stands in' <<<"$stderr")" -eq 1 ]
	assert_stderr --partial '2 records have no string or number "id" (first at -:2)'
	# The line number's text is the key: line 2 routes like id 2.
	[ "$(sed -n 2p <<<"$output" | jq .route.bucket)" = "$(qa-route --split old=50,new=50 <<<'{"id":2}' | jq .route.bucket)" ]
}

@test "a line that is not a JSON object: a bad_record record, exit 1" {
	run_data qa-route --split old=90,new=10 <<<'{"id":1}
not json
[1,2]
{"id":5}'
	[ "${#lines[@]}" -eq 4 ]
	assert_line --index 1 '{"error":{"type":"bad_record","line":2,"message":"invalid JSON at byte 1"},"input":"not json"}'
	assert_line --index 2 --partial '"message":"not a JSON object"'
	assert_line --index 3 --partial '"endpoint":"new"'
}

@test "numeric keys by value, as qa-diff joins ids: 1, 1.0, 1e0 and 10e-1 share a bucket" {
	run_ok qa-route --split old=90,new=10 <<<'{"id":1}
{"id":1.0}
{"id":1e0}
{"id":10e-1}
{"id":-0}
{"id":0}
{"id":12345678901234567890}
{"id":12345678901234567891}'
	[ "$(jq -c .route.bucket <<<"$output" | paste -sd,)" = 4898,4898,4898,4898,7894,7894,7664,698 ]
	# The bytes stay as written; only the key is read by value.
	assert_line --index 1 '{"id":1.0,"endpoint":"old","route":{"bucket":4898,"weight":90,"stage":null,"rule":"split"}}'
	# And qa-diff joins the same records: a baseline written 1.0, a candidate written 1e0.
	printf '%s\n' '{"id":1.0,"scores":{"m":1}}' '{"id":2,"scores":{"m":1}}' > base.jsonl
	printf '%s\n' '{"id":1e0,"scores":{"m":0}}' '{"id":2.0,"scores":{"m":1}}' > cand.jsonl
	run_data qa-diff --max-drop 0.02 base.jsonl cand.jsonl
	[ "$(jq -c 'select(.scope == "overall") | [.n, .only_baseline, .only_candidate]' <<<"$output")" = '[2,0,0]' ]
}

@test "a plan that goes down is a usage error naming the stage" {
	run_usage qa-route --split old=90,new=10 --plan 10,30,5,100 --stage 1 <<<'{"id":1}'
	assert_stderr 'qa-route: --plan 10,30,5,100: stage 3 (5%) is below stage 2 (30%): a plan only goes up (roll back with --stage)'
	[ -z "$output" ]
	# Holding a stage is no step down.
	run_ok qa-route --split old=90,new=10 --plan 10,30,30,100 --stage 3 <<<'{"id":1}'
	[ "$(field .route.stage)" = 3 ]
}
