#!/usr/bin/env bats
# The in-process llama engine (plugins/providers/llama/engine.c) through its
# driver build/tests/llama-ppl, on the test models of tests/llama.bash:
# teacher-forced perplexity and exact drift against the pinned
# llama-perplexity (--kl-divergence-base, then --kl-divergence) on the same
# text and context, the positions of --stride, generation and abort.

load llama

# ref_run LAST NAME ARGS: llama-perplexity on the text, its log in NAME.log.
# Its log is written by a thread that may lose the last lines at exit (seen
# on a loaded machine), so a log without LAST is run again, up to 5 times:
# the numbers are deterministic, only their printing is not.
ref_run() {
	local last=$1 name=$2 i
	shift 2
	for i in 1 2 3 4 5; do
		"$LLAMA_PREFIX/bin/llama-perplexity" "$@" -f "$BATS_FILE_TMPDIR/text.txt" -c 128 -t 1 \
			--log-file "$BATS_FILE_TMPDIR/$name.log" >"$BATS_FILE_TMPDIR/$name.out" 2>&1 || return 1
		grep -q "$last" "$BATS_FILE_TMPDIR/$name.log" && return 0
	done
	echo "llama-perplexity ($name) never printed '$last'" >&2
	return 1
}

setup_file() {
	load test_helper
	llama_models
	local d=$BATS_FILE_TMPDIR
	# A fixed text of about 3000 tokens: the model generator's own words.
	tr 'A-Z' 'a-z' <"$QA_ROOT/tests/llama/mkmodel" | tr -cs 'a-z\n' ' ' >"$d/text.txt"
	# The reference: F32 is the base, Q4_0 the model under test, context 128.
	ref_run "Final estimate: PPL" base -m "$LLAMA_MODELS/f32.gguf" --kl-divergence-base "$d/base.kld"
	ref_run "Same top p:" kl -m "$LLAMA_MODELS/q4_0.gguf" --kl-divergence-base "$d/base.kld" --kl-divergence
}

setup() {
	load test_helper
	D=$BATS_FILE_TMPDIR
	PPL=$QA_BUILD/tests/llama-ppl
	[ -x "$PPL" ] || {
		echo "$PPL is not built: make unit with pkg-config llama (make llama)" >&2
		return 1
	}
}

# ref_num FILE REGEX: the first number after REGEX in FILE.
ref_num() {
	grep -m1 -E "$2" "$1" | sed -E "s/.*$2[^0-9-]*(-?[0-9.]+).*/\1/"
}

# close A B REL [ABS]: |A-B| <= max(REL*|B|, ABS), with both numbers shown when not.
close() {
	awk -v a="$1" -v b="$2" -v r="$3" -v t="${4:-0}" 'BEGIN {
		d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; lim = r * m; if (t > lim) lim = t
		if (a == "" || b == "" || d > lim) { printf "qa %s, reference %s: off by %g, over %g\n", a, b, d, lim; exit 1 }
	}'
}

@test "llama engine: PPL of both models, mean KLD and same top p equal llama-perplexity's (context 128)" {
	local base_ppl q_ppl kld same chunks
	base_ppl=$(ref_num "$D/base.log" 'Final estimate: PPL = ')
	q_ppl=$(ref_num "$D/kl.log" 'Mean PPL\(Q\) +: ')
	kld=$(ref_num "$D/kl.log" 'Mean +KLD: ')
	same=$(ref_num "$D/kl.log" 'Same top p: ')
	chunks=$(ref_num "$D/base.log" 'calculating perplexity over ')
	[ -n "$base_ppl" ]
	[ -n "$q_ppl" ]
	[ -n "$kld" ]
	[ -n "$same" ]
	[ "$chunks" -ge 2 ]
	run_ok "$PPL" -m "$LLAMA_MODELS/q4_0.gguf" -b "$LLAMA_MODELS/f32.gguf" -f "$D/text.txt" -c 128 -t 1
	echo "$output"
	# The positions: the second half of each chunk, 63 of 128, as the reference scores them.
	[ "$(jq .scored <<<"$output")" -eq $((chunks * 63)) ]
	close "$(jq .ppl_base <<<"$output")" "$base_ppl" 1e-4
	close "$(jq .ppl <<<"$output")" "$q_ppl" 1e-4
	close "$(jq .same_top_pct <<<"$output")" "$same" 1e-4
	close "$(jq .kld_mean <<<"$output")" "$kld" 0.01 1e-4
	# The two models do differ: a drift of 0 would pass nothing above by accident.
	awk -v k="$(jq .kld_mean <<<"$output")" 'BEGIN { exit !(k > 0.01) }'
}

@test "llama engine: one model's perplexity alone is the one it has in the drift run" {
	run_ok "$PPL" -m "$LLAMA_MODELS/f32.gguf" -f "$D/text.txt" -c 128 -t 1
	close "$(jq .ppl <<<"$output")" "$(ref_num "$D/base.log" 'Final estimate: PPL = ')" 1e-4
}

@test "llama engine: a model against itself drifts by nothing" {
	run_ok "$PPL" -m "$LLAMA_MODELS/q8_0.gguf" -b "$LLAMA_MODELS/q8_0.gguf" -f "$D/text.txt" -c 64 -t 1
	[ "$(jq .same_top_pct <<<"$output")" = 100 ]
	close "$(jq .kld_mean <<<"$output")" 0 0 1e-9
	[ "$(jq '.ppl == .ppl_base' <<<"$output")" = true ]
}

@test "llama engine: --stride scores every token after the first once; one window is plain causal scoring" {
	local n
	run_ok "$PPL" -m "$LLAMA_MODELS/f32.gguf" -f "$D/text.txt" -c 96 -s 32 -t 1
	n=$(jq .text_tokens <<<"$output")
	[ "$(jq .scored <<<"$output")" -eq $((n - 1)) ]
	# A text shorter than the window: every stride gives the same single window.
	head -c 300 "$D/text.txt" >"$D/short.txt"
	run_ok "$PPL" -m "$LLAMA_MODELS/f32.gguf" -f "$D/short.txt" -c 512 -s 16 -t 1
	local one=$output
	run_ok "$PPL" -m "$LLAMA_MODELS/f32.gguf" -f "$D/short.txt" -c 512 -s 256 -t 1
	[ "$(jq .ppl <<<"$output")" = "$(jq .ppl <<<"$one")" ]
	# Shorter windows see less context: another perplexity over the same tokens.
	run_ok "$PPL" -m "$LLAMA_MODELS/f32.gguf" -f "$D/short.txt" -c 8 -s 4 -t 1
	[ "$(jq .scored <<<"$output")" = "$(jq .scored <<<"$one")" ]
	[ "$(jq .ppl <<<"$output")" != "$(jq .ppl <<<"$one")" ]
	run_usage "$PPL" -m "$LLAMA_MODELS/f32.gguf" -f "$D/short.txt" -c 8 -s 8 -t 1
	[[ $(jq -r .error <<<"$output") == *"0 < stride < context"* ]]
	# --context alone scores whole chunks only: none in a text shorter than one.
	run_usage "$PPL" -m "$LLAMA_MODELS/f32.gguf" -f "$D/short.txt" -c 512 -t 1
	[[ $(jq -r .error <<<"$output") == *"no token to score"* ]]
}

@test "llama engine: greedy generation is stable; stop strings cut it; a seed repeats sampling" {
	run_ok "$PPL" -m "$LLAMA_MODELS/f32.gguf" -p "the cat" -n 8 -t 1
	local g=$output text
	[ "$(jq -r .finish_reason <<<"$g")" = length ]
	[ "$(jq .completion_tokens <<<"$g")" -eq 8 ]
	[ "$(jq .prompt_tokens <<<"$g")" -gt 1 ]
	run_ok "$PPL" -m "$LLAMA_MODELS/f32.gguf" -p "the cat" -n 8 -t 1
	[ "$output" = "$g" ]
	# A stop string from the middle of the greedy text: the text ends before it.
	text=$(jq -r .text <<<"$g")
	local stop=${text:3:2}
	run_ok "$PPL" -m "$LLAMA_MODELS/f32.gguf" -p "the cat" -n 8 -t 1 -x "$stop"
	[ "$(jq -r .finish_reason <<<"$output")" = stop ]
	[ "$(jq -r .text <<<"$output")" = "${text%%"$stop"*}" ]
	run_ok "$PPL" -m "$LLAMA_MODELS/f32.gguf" -p "the cat" -n 8 -t 1 -T 1.5 -S 11
	local s=$output
	run_ok "$PPL" -m "$LLAMA_MODELS/f32.gguf" -p "the cat" -n 8 -t 1 -T 1.5 -S 11
	[ "$output" = "$s" ]
}

@test "llama engine: a set abort flag stops the decode and says so; no chat template is an error" {
	run -2 "$PPL" -m "$LLAMA_MODELS/f32.gguf" -p "the cat" -n 8 -t 1 -a
	[ "$(jq .aborted <<<"$output")" = true ]
	run -2 "$PPL" -m "$LLAMA_MODELS/q4_0.gguf" -b "$LLAMA_MODELS/f32.gguf" -f "$D/text.txt" -c 128 -t 1 -a
	[ "$(jq .aborted <<<"$output")" = true ]
	run -1 "$PPL" -m "$LLAMA_MODELS/f32.gguf" -p "the cat" -C
	[[ $output == *"no chat template"* ]]
}

@test "llama engine: qa-diff of a --kl-base run prints llama-perplexity's drift, marked exact, equal to it" {
	[ -f "$QA_BUILD/lib/qa/plugins/llama.so" ]
	# The whole text as one prompt; the driver and llama-perplexity drop the file's final newline.
	jq -Rsc '{id: "t", prompt: rtrimstr("\n")}' "$D/text.txt" >"$D/t.jsonl"
	qa-send --provider llama --model "$LLAMA_MODELS/f32.gguf" --threads 1 --mode logprobs --context 128 \
		"$D/t.jsonl" | qa-score --metric perplexity >"$D/base.jsonl"
	qa-send --provider llama --model "$LLAMA_MODELS/q4_0.gguf" --kl-base "$LLAMA_MODELS/f32.gguf" --threads 1 \
		--mode logprobs --context 128 "$D/t.jsonl" | qa-score --metric perplexity >"$D/cand.jsonl"
	run_ok qa-diff "$D/base.jsonl" "$D/cand.jsonl"
	local o
	o=$(jq -c 'select(.scope == "overall") | .drift' <<<"$output")
	echo "$o"
	[ "$(jq -r .kl_estimate <<<"$o")" = exact ]
	[ "$(jq .exact_records <<<"$o")" = 1 ]
	close "$(jq .baseline.perplexity <<<"$o")" "$(ref_num "$D/base.log" 'Final estimate: PPL = ')" 1e-4
	close "$(jq .candidate.perplexity <<<"$o")" "$(ref_num "$D/kl.log" 'Mean PPL\(Q\) +: ')" 1e-4
	# The reference's own PPL(base) and ratio in its --kl-divergence run come from the 16-bit base file
	# (1% off its base run's PPL here): the ratio is checked against its two runs' exact PPLs.
	close "$(jq .ppl_ratio <<<"$o")" "$(awk -v q="$(ref_num "$D/kl.log" 'Mean PPL\(Q\) +: ')" \
		-v b="$(ref_num "$D/base.log" 'Final estimate: PPL = ')" 'BEGIN { printf "%.9g", q / b }')" 1e-4
	close "$(jq .same_top.pct <<<"$o")" "$(ref_num "$D/kl.log" 'Same top p: ')" 1e-4
	close "$(jq .kld.mean <<<"$o")" "$(ref_num "$D/kl.log" 'Mean +KLD: ')" 0.01 1e-4
	close "$(jq .kld.median <<<"$o")" "$(ref_num "$D/kl.log" 'Median +KLD: ')" 0.01 1e-4
	close "$(jq .kld.max <<<"$o")" "$(ref_num "$D/kl.log" 'Maximum KLD: ')" 0.01 1e-4
	# Δp in percent, as the reference prints it (3 decimals)
	close "$(jq '.delta_p.rms * 100' <<<"$o")" "$(ref_num "$D/kl.log" 'RMS Δp +: ')" 0.01 2e-3
	close "$(jq '.delta_p.median * 100' <<<"$o")" "$(ref_num "$D/kl.log" 'Median +Δp: ')" 0.01 2e-3
	awk -v k="$(jq .kld.mean <<<"$o")" 'BEGIN { exit !(k > 0.01) }'
	# The text layout: llama-perplexity's sections, the KLD marked exact and no top-k mass.
	run_ok qa-diff --format table "$D/base.jsonl" "$D/cand.jsonl"
	[[ $output == *"KL divergence statistics (exact, the whole vocabulary)"* ]]
	[[ $output == *"Median  Δp:"* && $output == *"Same top p:"* && $output == *"99.9%   KLD:"* ]]
	[[ $output != *"Top-k mass"* && $output != *"truncated estimate"* ]]
	# The drift needs no logprobs from the baseline record: its answer alone pairs it.
	jq -c 'del(.response.logprobs)' "$D/base.jsonl" >"$D/base-nolp.jsonl"
	run_ok qa-diff "$D/base-nolp.jsonl" "$D/cand.jsonl"
	[ "$(jq -c 'select(.scope == "overall") | .drift | [.kl_estimate, .kld.mean]' <<<"$output")" = \
	  "$(jq -c '[.kl_estimate, .kld.mean]' <<<"$o")" ]
	# A malformed drift is warned about and measured from the top-k lists instead.
	jq -c '.response.drift.kld |= .[1:]' "$D/cand.jsonl" >"$D/cand-bad.jsonl"
	run_data qa-diff "$D/base.jsonl" "$D/cand-bad.jsonl"
	assert_stderr --partial "cand-bad.jsonl:1"
	assert_stderr --partial "response.drift"
	[ "$(jq -r 'select(.scope == "overall") | .drift.kl_estimate' <<<"$output")" = "top-k renormalized" ]
	# One record with exact drift, one without: the estimate says it is mixed (qa-report reads "exact" as exact).
	{ cat "$D/base.jsonl"; jq -c '.id = "u"' "$D/base.jsonl"; } >"$D/base2.jsonl"
	{ cat "$D/cand.jsonl"; jq -c '.id = "u" | del(.response.drift)' "$D/cand.jsonl"; } >"$D/cand2.jsonl"
	run_ok qa-diff "$D/base2.jsonl" "$D/cand2.jsonl"
	[ "$(jq -c 'select(.scope == "overall") | .drift | [.kl_estimate, .exact_records, .records]' <<<"$output")" = \
	  '["mixed: --kl-base where given, else top-k",1,2]' ]
}
