# The llama provider's generation at -c 1 against -c 4 (issue 17): with
# -c 4 the worker hands the engine up to four requests at once and libllama
# decodes them in one batch, a sequence each (qa-send --trace says how many
# went together).  The tests' tiny Q4_0 model, BENCH_LLAMA_N prompts
# (default 32), max_tokens 64, greedy, BENCH_LLAMA_THREADS threads (default
# the cores), the cache off.  Wall time includes loading the model once.
. bench/lib.sh
export QA_ROOT=$PWD BATS_FILE_TMPDIR=$BENCH_TMP
. tests/llama.bash
llama_models || { echo "  the test models could not be made (make llama first)"; exit 1; }
[ -f "${QA_BUILD:-build}/lib/qa/plugins/llama.so" ] || { echo "  the llama provider is not built"; exit 1; }
n=${BENCH_LLAMA_N:-32} t=${BENCH_LLAMA_THREADS:-$(nproc)}
words=(the cat a king river one two my house water dog in of and)
for i in $(seq "$n"); do
	jq -nc --arg p "${words[i % 14]} ${words[(i * 5) % 14]} ${words[(i * 3) % 14]}" --arg i "$i" '{id: $i, prompt: $p}'
done >"$BENCH_TMP/batch.jsonl"
send=(qa-send --cache-mode off --provider llama --model "$LLAMA_MODELS/q4_0.gguf" --threads "$t"
	-p max_tokens=64 -p temperature=0 "$BENCH_TMP/batch.jsonl")
"${send[@]}" -c 1 >"$BENCH_TMP/c1.jsonl"
"${send[@]}" -c 4 >"$BENCH_TMP/c4.jsonl"
tokens=$(jq -s 'map(.response.usage.completion_tokens) | add' "$BENCH_TMP/c1.jsonl")
same=$(cmp -s <(jq -c .response.text "$BENCH_TMP/c1.jsonl") <(jq -c .response.text "$BENCH_TMP/c4.jsonl") && echo yes || echo no)
echo "  $n prompts, $tokens tokens generated, $t threads, load $(cut -d' ' -f1 /proc/loadavg); -c 4 answers equal -c 1's: $same"
measure "qa-send -c 1 (llama provider)" "${send[@]}" -c 1
s1=$MEASURED_S
measure "qa-send -c 4 (llama provider)" "${send[@]}" -c 4
s4=$MEASURED_S
tps() { awk -v n="$tokens" -v s="$1" 'BEGIN { printf "%.0f", n / (s < 0.01 ? 0.01 : s) }'; }
printf '  %-44s %8s tok/s\n' "-c 1" "$(tps "$s1")"
printf '  %-44s %8s tok/s  %sx -c 1\n' "-c 4 (one decode for the four sequences)" "$(tps "$s4")" "$(ratio "$s1" "$s4")"
