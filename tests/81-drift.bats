#!/usr/bin/env bats
# qa-diff's token drift: perplexity, KL divergence over the top-k lists, delta p and
# same-top agreement, from the logprobs both runs carry for the same texts.

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
}

# lp ID TASK TOKENS PROBS TOPS: a scored record whose response.logprobs hold the natural logs of
# PROBS (token_logprobs, null stays null) and TOPS (an array of null or {token: p}).
lp() {
	jq -cn --argjson id "$1" --arg task "$2" --argjson t "$3" --argjson p "$4" --argjson top "$5" '
		def l: if . == null then null else log end;
		{id: $id, task: $task, scores: {x: 1},
		 response: {logprobs: {tokens: $t, token_logprobs: ($p | map(l)),
		                       top_logprobs: ($top | map(if . == null then null else map_values(l) end))}}}'
}

# The worked example.  Record 1: two positions, record 2: one, record 3: other tokens in the
# candidate, record 4: no logprobs.
#   pos 1.1  P = {b .5, x .25}, Q = {b .25, x .5}; actual b: .5 -> .25; top b vs x
#   pos 1.2  P = Q = {c .25, y .5}; actual c: .25 -> .25; top y, y
#   pos 2.1  P = {d .8, z .1}, Q = {d .4, w .4}: only d shared; actual d .8 -> .4;
#            top d, and d again (d and w tie at .4: the first listed wins)
example() {
	lp 1 a '["A"," b"," c"]' '[null,0.5,0.25]' '[null,{" b":0.5," x":0.25},{" c":0.25," y":0.5}]'
	lp 2 a '["A"," d"]' '[null,0.8]' '[null,{" d":0.8," z":0.1}]'
	lp 3 b '["A"," e"]' '[null,0.5]' '[null,{" e":0.5}]'
	echo '{"id":4,"task":"b","scores":{"x":1}}'
}

example_cand() {
	lp 1 a '["A"," b"," c"]' '[null,0.25,0.25]' '[null,{" b":0.25," x":0.5},{" c":0.25," y":0.5}]'
	lp 2 a '["A"," d"]' '[null,0.4]' '[null,{" d":0.4," w":0.4}]'
	lp 3 b '["A"," f"]' '[null,0.1]' '[null,{" f":0.1}]'
	echo '{"id":4,"task":"b","scores":{"x":1}}'
}

overall() { jq -c 'select(.scope == "overall")' <<<"$output"; }
# near GOT WANT_EXPR: GOT equals the jq expression WANT_EXPR to a relative 1e-9.
near() {
	jq -en --argjson g "$1" "($2) as \$w | (\$g - \$w | fabs) <= 1e-9 * (\$w | fabs) + 1e-15" >/dev/null ||
		{ echo "not near: $1 vs $2 = $(jq -n "$2")" >&2; return 1; }
}

@test "the worked example: perplexities, ln ratio, correlation, by hand" {
	example > base.jsonl
	example_cand > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	d=$(overall | jq -c .drift)
	[ "$(jq -c '[.records, .tokens_differ, .tokens, .baseline.tokens, .candidate.tokens, .kl_estimate]' <<<"$d")" = \
		'[3,1,3,4,4,"top-k renormalized"]' ]
	# Corpus perplexity over every joined token, record 3's own ones included.
	near "$(jq .baseline.perplexity <<<"$d")" '-((0.5 | log) + (0.25 | log) + (0.8 | log) + (0.5 | log)) / 4 | exp'
	near "$(jq .candidate.perplexity <<<"$d")" '-((0.25 | log) + (0.25 | log) + (0.4 | log) + (0.1 | log)) / 4 | exp'
	near "$(jq .ppl_ratio <<<"$d")" "$(jq .candidate.perplexity <<<"$d") / $(jq .baseline.perplexity <<<"$d")"
	# Its uncertainty: PPL sd(nll) / sqrt(n); the baseline's nll are ln 2, ln 4, -ln .8, ln 2.
	near "$(jq .baseline.perplexity_se <<<"$d")" \
		"[2, 4, 1.25, 2 | log] as \$x | (\$x | add / 4) as \$m | ([\$x[] | (. - \$m) * (. - \$m)] | add / 3 | sqrt) / 2 * ($(jq .baseline.perplexity <<<"$d"))"
	# ln(PPL(Q)/PPL(base)) over the matched tokens: lp_base - lp_cand = ln 2, 0, ln 2.
	near "$(jq .ln_ppl_ratio.mean <<<"$d")" '2 / 3 * (2 | log)'
	near "$(jq .ln_ppl_ratio.se <<<"$d")" '(2 | log) / 3'
	# Pearson of per-record ln PPL: (x, y) = (ln 8 / 2, ln 16 / 2), (ln 1.25, ln 2.5), (ln 2, ln 10).
	near "$(jq .ln_ppl_correlation <<<"$d")" '
		[[((8 | log) / 2), ((16 | log) / 2)], [(1.25 | log), (2.5 | log)], [(2 | log), (10 | log)]] as $r
		| ($r | map(.[0]) | add / 3) as $mx | ($r | map(.[1]) | add / 3) as $my
		| ($r | map((.[0] - $mx) * (.[1] - $my)) | add)
		  / (($r | map((.[0] - $mx) * (.[0] - $mx)) | add | sqrt) * ($r | map((.[1] - $my) * (.[1] - $my)) | add | sqrt))'
	assert_stderr --partial 'tokens differ: 1 record, left out of token drift (first at line 3)'
}

@test "the worked example: KL, its percentiles, coverage, delta p, same top" {
	example > base.jsonl
	example_cand > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	k=$(overall | jq -c .drift.kld)
	# Renormalized: pos 1.1 is (2/3, 1/3) against (1/3, 2/3): 2/3 ln 2 + 1/3 ln 1/2 = ln 2 / 3;
	# pos 1.2 is 0; pos 2.1 shares d only, 1 against 1: 0.
	[ "$(jq -c '[.n, .infinite, .undefined]' <<<"$k")" = '[3,0,0]' ]
	near "$(jq .mean <<<"$k")" '(2 | log) / 9'
	near "$(jq .se <<<"$k")" '(2 | log) / 3 * ((4 / 9 + 1 / 9 + 1 / 9) / 2 | sqrt) / (3 | sqrt)'
	# numpy's linear percentiles of 0, 0, ln 2 / 3: position 2 q / 100.
	near "$(jq .max <<<"$k")" '(2 | log) / 3'
	near "$(jq .p99_9 <<<"$k")" '0.998 * (2 | log) / 3'
	near "$(jq .p90 <<<"$k")" '0.8 * (2 | log) / 3'
	[ "$(jq -c '[.median, .p10, .p5, .p1, .p0_1, .min]' <<<"$k")" = '[0,0,0,0,0,0]' ]
	# The baseline's mass on the shared tokens: .75, .75, .8.
	near "$(jq .top_k_coverage <<<"$k")" '(0.75 + 0.75 + 0.8) / 3'
	p=$(overall | jq -c .drift.delta_p)
	# delta p of the actual tokens: -.25, 0, -.4.
	near "$(jq .mean <<<"$p")" '-0.65 / 3'
	near "$(jq .se <<<"$p")" '[-0.25, 0, -0.4] as $x | (-0.65 / 3) as $m | ([$x[] | (. - $m) * (. - $m)] | add / 2 | sqrt) / (3 | sqrt)'
	near "$(jq .rms <<<"$p")" '(0.0625 + 0.16) / 3 | sqrt'
	near "$(jq .rms_se <<<"$p")" '[0.0625, 0, 0.16] as $x | (0.2225 / 3) as $m
		| ([$x[] | (. - $m) * (. - $m)] | add / 2 | sqrt) / (3 | sqrt) / 2 / ($m | sqrt)'
	s=$(overall | jq -c .drift.same_top)
	# Same top at 2 of 3 positions: 1.1 differs (b, x), 1.2 agrees, 2.1 agrees on the tie's first.
	[ "$(jq -c '[.n, .same]' <<<"$s")" = '[3,2]' ]
	near "$(jq .pct <<<"$s")" '200 / 3'
	near "$(jq .pct_se <<<"$s")" '100 * (2 / 9 / 2 | sqrt)'
}

@test "--kl raw: p ln(p / q) over the shared tokens as listed, no renormalization" {
	example > base.jsonl
	example_cand > cand.jsonl
	run_ok qa-diff --kl raw base.jsonl cand.jsonl
	k=$(overall | jq -c .drift.kld)
	# .5 ln 2 + .25 ln .5 = .25 ln 2; 0; .8 ln 2.
	near "$(jq .mean <<<"$k")" '1.05 * (2 | log) / 3'
	near "$(jq .max <<<"$k")" '0.8 * (2 | log)'
	near "$(jq .median <<<"$k")" '0.25 * (2 | log)'
	[ "$(overall | jq -r .drift.kl_estimate)" = 'top-k raw' ]
	run_usage qa-diff --kl both base.jsonl cand.jsonl
	assert_stderr --partial "--kl: 'both' is not renormalized or raw"
}

@test "per task: a task's drift, and null for a task without logprobs" {
	example > base.jsonl
	example_cand > cand.jsonl
	echo '{"id":5,"task":"c","scores":{"x":1}}' | tee -a base.jsonl >> cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	a=$(jq -c 'select(.task == "a") | .drift' <<<"$output")
	[ "$(jq -c '[.records, .tokens, .tokens_differ, .same_top.same]' <<<"$a")" = '[2,3,0,2]' ]
	near "$(jq .kld.mean <<<"$a")" '(2 | log) / 9'
	# Task b has only the record whose tokens differ: perplexities, and no token figures.
	[ "$(jq -c 'select(.task == "b") | .drift | [.records, .tokens_differ, .tokens, .kld.n, .kld.mean, .same_top.pct, .ln_ppl_ratio.mean]' <<<"$output")" = \
		'[1,1,0,0,null,null,null]' ]
	near "$(jq 'select(.task == "b") | .drift.ppl_ratio' <<<"$output")" '5'
	[ "$(jq -c 'select(.task == "c") | .drift' <<<"$output")" = null ]
}

@test "runs without logprobs print no drift, as before" {
	printf '%s\n' '{"id":1,"scores":{"x":1}}' '{"id":2,"scores":{"x":0}}' > base.jsonl
	cp base.jsonl cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "$(jq -c 'has("drift")' <<<"$output" | sort -u)" = false ]
	run_ok qa-diff -f table base.jsonl cand.jsonl
	refute_output --partial 'KL divergence'
	# Logprobs in one run only: nothing to compare, a warning says so.
	lp 1 t '["A"," b"]' '[null,0.5]' '[null,{" b":0.5}]' > base.jsonl
	echo '{"id":2,"task":"t","scores":{"x":0}}' >> base.jsonl
	printf '%s\n' '{"id":1,"task":"t","scores":{"x":1}}' '{"id":2,"task":"t","scores":{"x":0}}' > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "$(jq -c 'has("drift")' <<<"$output" | sort -u)" = false ]
	assert_stderr --partial '1 paired record has logprobs in the baseline only, 0 in the candidate only: left out of token drift'
}

@test "tokens missing on a side count as differing; a record with an error is left out" {
	lp 1 t '["A"," b"]' '[null,0.5]' '[null,{" b":0.5}]' > base.jsonl
	jq -cn '{id: 1, task: "t", scores: {x: 1}, response: {logprobs: {token_logprobs: [null, (0.25 | log)]}}}' > cand.jsonl
	lp 2 t '["A"," b"]' '[null,0.5]' '[null,{" b":0.5}]' >> base.jsonl
	lp 2 t '["A"," b"]' '[null,0.5]' '[null,{" b":0.5}]' | jq -c '. + {error: {type: "server", message: "x"}}' >> cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "$(overall | jq -c '.drift | [.records, .tokens_differ, .tokens, .kld.n]')" = '[1,1,0,0]' ]
	near "$(overall | jq .drift.ppl_ratio)" '2'
}

@test "a candidate that gives 0 to a token the baseline lists: infinite KL, counted, left out of the mean" {
	lp 1 t '["A"," b"," c"]' '[null,0.5,0.5]' '[null,{" b":0.5," x":0.5},{" c":0.5}]' > base.jsonl
	# ln 0 cannot be written; -1e4 underflows to a probability of 0.
	lp 1 t '["A"," b"," c"]' '[null,0.5,0.5]' '[null,{" b":0.5},{" c":0.5}]' |
		jq -c '.response.logprobs.top_logprobs[1][" x"] = -1e4' > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "$(overall | jq -c '.drift.kld | [.n, .infinite, .undefined, .mean, .max]')" = '[1,1,0,0,0]' ]
	run_data qa-diff --max-kld 1 base.jsonl cand.jsonl
	assert_stderr --partial 'the KL divergence is infinite at 1 position'
	# Disjoint lists share nothing: the KL is undefined there, not 0.
	lp 1 t '["A"," b"]' '[null,0.5]' '[null,{" b":0.5}]' > base.jsonl
	lp 1 t '["A"," b"]' '[null,0.5]' '[null,{" z":0.5}]' > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "$(overall | jq -c '.drift | [.kld.n, .kld.undefined, .kld.mean, .same_top.pct]')" = '[0,1,null,0]' ]
}

@test "escapes: tokens and top-list keys compare by their text" {
	lp 1 t '["A"," é"]' '[null,0.5]' '[null,{" é":0.5," x":0.25}]' > base.jsonl
	printf '%s\n' '{"id":1,"task":"t","scores":{"x":1},"response":{"logprobs":{"tokens":["A"," \u00e9"],"token_logprobs":[null,-0.6931471805599453],"top_logprobs":[null,{" \u00e9":-0.6931471805599453," x":-1.3862943611198906}]}}}' > cand.jsonl
	run_ok qa-diff base.jsonl cand.jsonl
	[ "$(overall | jq -c '.drift | [.tokens_differ, .tokens, .kld.n, .same_top.same]')" = '[0,1,1,1]' ]
	near "$(overall | jq .drift.kld.mean)" '0'
}

@test "malformed logprobs are named by file and line, left out, and make the status 1" {
	lp 1 t '["A"," b"]' '[null,0.5]' '[null,{" b":0.5}]' > base.jsonl
	echo '{"id":1,"task":"t","scores":{"x":1},"response":{"logprobs":{"tokens":["A"," b"],"token_logprobs":[null,"x"]}}}' > cand.jsonl
	run_data qa-diff base.jsonl cand.jsonl
	assert_stderr --partial 'cand.jsonl:1: a token_logprobs entry is neither a number nor null: left out of token drift'
	# The score comparison still comes out.
	[ "$(overall | jq -c '[.n, has("drift")]')" = '[1,false]' ]
}

@test "the gate: --max-kld, --min-same-top, --max-ppl-ratio" {
	example > base.jsonl
	example_cand > cand.jsonl
	# Mean KLD ln 2 / 9 = 0.077; same top 66.7%; perplexity ratio (400 / 20)^(1/4) = 2.115.
	run_ok qa-diff --max-kld 0.08 --min-same-top 66 --max-ppl-ratio 2.2 base.jsonl cand.jsonl
	[ "$(overall | jq -c '[.decision, .gate.failures]')" = '["pass",[]]' ]
	run_data qa-diff --max-kld 0.07 base.jsonl cand.jsonl
	assert_stderr --partial 'gate: overall: mean KL divergence 0.07702 is over --max-kld 0.07'
	run_data qa-diff --min-same-top 70 base.jsonl cand.jsonl
	assert_stderr --partial 'gate: overall: the top token is the same at 66.67% of positions, under --min-same-top 70'
	run_data qa-diff --max-ppl-ratio 2.1 base.jsonl cand.jsonl
	assert_stderr --partial 'gate: overall: perplexity ratio 2.11474 is over --max-ppl-ratio 2.1'
	[ "$(overall | jq -c '.gate.failures | map(.criterion)')" = '["max-ppl-ratio"]' ]
	# Per task: task b has no top lists, so its KL and same-top cannot be told, and fail.
	run_data qa-diff --gate-scope task --max-kld 1 --min-same-top 0 base.jsonl cand.jsonl
	assert_stderr --partial 'gate: task b: --max-kld 1: the KL divergence is undefined'
	assert_stderr --partial 'gate: task b: --min-same-top 0: the same-top rate is undefined'
	# Without logprobs, --max-kld cannot be told; --max-ppl-ratio reads the perplexity scores.
	printf '%s\n' '{"id":1,"scores":{"perplexity":4}}' > b.jsonl
	printf '%s\n' '{"id":1,"scores":{"perplexity":5}}' > c.jsonl
	run_data qa-diff --max-kld 1 b.jsonl c.jsonl
	assert_stderr --partial '--max-kld 1: the KL divergence is undefined'
	run_ok qa-diff --max-ppl-ratio 1.25 b.jsonl c.jsonl
	run_data qa-diff --max-ppl-ratio 1.2 b.jsonl c.jsonl
	run_usage qa-diff --max-kld -1 b.jsonl c.jsonl
	run_usage qa-diff --min-same-top 101 b.jsonl c.jsonl
	run_usage qa-diff --max-ppl-ratio x b.jsonl c.jsonl
}

@test "--format table and md: the drift block laid out as llama-perplexity's" {
	example > base.jsonl
	example_cand > cand.jsonl
	run_ok qa-diff -f table base.jsonl cand.jsonl
	assert_line 'token drift: 3 records with logprobs in both runs, 3 tokens compared, 3 with top-k lists'
	assert_line 'tokens differ: 1 record, left out of token drift'
	assert_line '====== Perplexity statistics ======'
	assert_line --regexp '^Mean PPL\(Q\)                   :   [0-9.]+ ± +[0-9.]+$'
	assert_line --regexp '^Cor\(ln\(PPL\(Q\)\), ln\(PPL\(base\)\)\): +[0-9.]+%$'
	assert_line 'Mean ln(PPL(Q)/PPL(base))     :   0.462098 ±   0.231049'
	assert_line '====== KL divergence statistics (top-k renormalized, a truncated estimate) ======'
	assert_line 'Mean    KLD:   0.077016 ±   0.077016'
	assert_line 'Maximum KLD:   0.231049'
	assert_line 'Minimum KLD:   0.000000'
	assert_line 'Mean    Δp: -21.667 ± 11.667 %'
	assert_line 'Same top p: 66.667 ± 33.333 %'
	# Every percentile, in llama-perplexity's order.
	[ "$(grep -oE '^(Maximum|Median |Minimum|[ 0-9.]{4}%  ) KLD' <<<"$output" | tr '\n' '|')" = \
		'Maximum KLD|99.9%   KLD|99.0%   KLD|95.0%   KLD|90.0%   KLD|Median  KLD|10.0%   KLD| 5.0%   KLD| 1.0%   KLD| 0.1%   KLD|Minimum KLD|' ]
	run_ok qa-diff -f md --kl raw base.jsonl cand.jsonl
	assert_line '**Token drift** (all items)'
	assert_line '====== KL divergence statistics (top-k raw, a truncated estimate) ======'
}

@test "the baseline may come from standard input" {
	example > base.jsonl
	example_cand > cand.jsonl
	whole=$(qa-diff base.jsonl cand.jsonl 2>/dev/null)
	run_ok qa-diff - cand.jsonl < base.jsonl
	[ "$output" = "$whole" ]
}

@test "end to end on the mock: int4 drifts from the baseline, the baseline not from itself" {
	for m in baseline int4; do
		cat "$QA_ROOT"/pipelines/tasks/mcq.jsonl "$QA_ROOT"/pipelines/tasks/arith.jsonl |
			qa-send --provider mock -m "$m" -p logprobs=5 -p echo=true -p max_tokens=0 2>/dev/null |
			qa-score -m perplexity > "$m.jsonl"
	done
	run_ok qa-diff baseline.jsonl int4.jsonl
	d=$(overall | jq -c .drift)
	jq -en --argjson d "$d" '$d.records == 80 and $d.tokens_differ == 0 and $d.tokens > 1000
		and $d.kld.mean > 0 and $d.kld.n == $d.tokens and $d.same_top.pct < 100 and $d.same_top.pct > 80
		and $d.ppl_ratio > 1 and $d.ppl_ratio < 1.05 and $d.ln_ppl_correlation > 0.9' >/dev/null
	# The corpus perplexity agrees with qa-score's own.
	s=$(qa-score -m perplexity --summary < baseline.jsonl | jq 'select(.scope == "overall") | .token_perplexity')
	near "$(jq .baseline.perplexity <<<"$d")" "$s"
	run_ok qa-diff baseline.jsonl baseline.jsonl
	[ "$(overall | jq -c '.drift | [.kld.mean, .kld.max, .same_top.pct, .ppl_ratio, .delta_p.rms, .ln_ppl_correlation]')" = '[0,0,100,1,0,1]' ]
}
