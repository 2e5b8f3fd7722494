#!/usr/bin/env bats
# assess.mk with two GGUF files as the two sides (BASELINE_GGUF,
# CANDIDATE_GGUF): no servers, the llama provider runs both in the process,
# on the test models of tests/llama.bash (F32 the baseline, Q4_0 the
# candidate), a few items and a few tokens each.

load llama

setup_file() {
	load test_helper
	llama_models
}

setup() {
	load test_helper
	[ -f "$QA_BUILD/lib/qa/plugins/llama.so" ] || {
		echo "the llama provider is not built: make with pkg-config llama (make llama)" >&2
		return 1
	}
	cd "$BATS_TEST_TMPDIR"
	local i w words="the cat the dog a king the river one two my house water"
	for i in 1 2 3 4 5 6; do
		w=$(cut -d' ' -f$i-$((i + 3)) <<<"$words")
		jq -nc --arg p "$w" --arg i "$i" \
			'{id: "w-\($i)", task: "words", prompt: $p, ground_truth: "the", metric: "contains"}'
	done >tasks.jsonl
	mk=(make -s --no-print-directory -f "$QA_ROOT/pipelines/assess.mk" RUNS="$PWD/runs" TASKS="$PWD/tasks.jsonl"
		BASELINE_GGUF="$LLAMA_MODELS/f32.gguf" CANDIDATE_GGUF="$LLAMA_MODELS/q4_0.gguf" LLAMA_THREADS=1
		DECODE='temperature=0 max_tokens=6')
}

@test "assess.mk with two GGUF files: accuracy, flips, perplexity, exact drift, latency and cost in one report" {
	run --separate-stderr "${mk[@]}" MAX_DROP=1 BASELINE_PER_MTOK='1 2' CANDIDATE_PER_MTOK='0.5 1'
	echo "$output"
	echo "$stderr"
	assert_success
	local r=runs/f32-vs-q4_0
	# Both sides answered every item through the llama provider, greedily, as asked.
	[ "$(jq -s 'map(select(.response.text and .response.usage.completion_tokens <= 6)) | length' "$r/f32.sent.jsonl")" -eq 6 ]
	[ "$(jq -s 'map(select(.response.text)) | length' "$r/q4_0.sent.jsonl")" -eq 6 ]
	[ "$(jq -r .response.model "$r/q4_0.sent.jsonl" | sort -u)" = "$LLAMA_MODELS/q4_0.gguf" ]
	# Accuracy and flips are the scored records'.
	local acc flips
	acc=$(jq -s 'map(.scores.contains) | add / length' "$r/q4_0.scored.jsonl")
	[ "$(jq 'select(.scope == "overall") | .candidate.mean' "$r/diff.json")" = "$acc" ]
	flips=$(jq -sn --slurpfile b "$r/f32.scored.jsonl" --slurpfile c "$r/q4_0.scored.jsonl" \
		'[range(6) as $i | select($b[$i].scores.contains == 1 and $c[$i].scores.contains == 0)] | length')
	[ "$(jq 'select(.scope == "overall") | .flips.right_to_wrong' "$r/diff.json")" = "$flips" ]
	# The candidate's perplexity run carries the exact drift, and qa-diff reads it as such.
	[ "$(jq -s 'map(.response.drift.exact) | all' "$r/ppl-candidate.jsonl")" = true ]
	jq -e --slurpfile c "$r/ppl-candidate.jsonl" 'select(.scope == "overall") | .drift
		| .kl_estimate == "exact" and .exact_records == 6
		  and ((.kld.mean - ([$c[].response.drift.kld[]] | add / length)) | fabs) < 1e-9' "$r/drift.json"
	# The report: each part once.
	assert_output --partial "| words | 6 |"
	assert_output --partial "right→wrong"
	assert_output --partial "## Perplexity against accuracy"
	assert_output --partial "Token drift (exact, the whole vocabulary"
	assert_output --regexp "\| q4_0 \| [0-9]+ \| [0-9]+ \| [0-9]+ \| 0 \| \\\$[0-9.]+ \| \\\$[0-9.]+ \|"
	[[ $output != *"truncated estimate"* ]]
	# A re-run has nothing to do: the generated endpoint config is left as it was.
	run "${mk[@]}" -n MAX_DROP=1 BASELINE_PER_MTOK='1 2' CANDIDATE_PER_MTOK='0.5 1'
	[[ $output != *qa-send* ]]
	# Another price rewrites it, and what depends on the config is done again.
	run "${mk[@]}" -n MAX_DROP=1 BASELINE_PER_MTOK='3 4' CANDIDATE_PER_MTOK='0.5 1'
	[[ $output == *qa-cost* ]]
}

@test "assess.mk: one GGUF without the other, or two files of one name, are errors before anything runs" {
	run make -s -f "$QA_ROOT/pipelines/assess.mk" RUNS="$PWD/runs" BASELINE_GGUF=/x/a.gguf
	[ "$status" -ne 0 ]
	[[ $output == *"BASELINE_GGUF and CANDIDATE_GGUF go together"* ]]
	run make -s -f "$QA_ROOT/pipelines/assess.mk" RUNS="$PWD/runs" BASELINE_GGUF=/x/a.gguf CANDIDATE_GGUF=/y/a.gguf
	[ "$status" -ne 0 ]
	[[ $output == *"name the sides with BASELINE=name CANDIDATE=name"* ]]
	[ ! -e runs ]
}
