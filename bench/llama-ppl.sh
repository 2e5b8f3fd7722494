# The llama engine's teacher-forced perplexity (build/tests/llama-ppl, the
# engine the llama provider of issue 17 wraps) against the pinned
# llama-perplexity, on the same model (the tests' tiny Q4_0), text, context
# (128) and threads (BENCH_LLAMA_THREADS, default the cores); then the
# exact drift (Q4_0 against the F32 base, both models evaluated) against
# the same single-model llama-perplexity run, and against its own two-step
# drift (--kl-divergence-base, then --kl-divergence).  Targets: >= 0.9x
# and >= 0.45x llama-perplexity's tokens/s.  Wall time includes loading
# the models (a few ms for these).
. bench/lib.sh
export QA_ROOT=$PWD BATS_FILE_TMPDIR=$BENCH_TMP
. tests/llama.bash
llama_models || { echo "  the test models could not be made (make llama first)"; exit 1; }
ppl=${QA_BUILD:-build}/tests/llama-ppl
[ -x "$ppl" ] || { echo "  $ppl is not built (make unit with pkg-config llama)"; exit 1; }
t=${BENCH_LLAMA_THREADS:-$(nproc)}
c=128
text=$BENCH_TMP/llama-text.txt
# About 12k tokens of fixed text (the repository's own words).
cat README.md man/*.1 | tr 'A-Z' 'a-z' | tr -cs 'a-z\n' ' ' | head -c 16000 >"$text"
ref=$LLAMA_PREFIX/bin/llama-perplexity
m=$LLAMA_MODELS/q4_0.gguf b=$LLAMA_MODELS/f32.gguf
"$ref" -m "$b" -f "$text" -c $c -t "$t" --kl-divergence-base "$BENCH_TMP/base.kld" --log-file "$BENCH_TMP/base.log" \
	>/dev/null 2>&1 || { echo "  llama-perplexity failed"; exit 1; }
chunks=$(grep -m1 -o 'perplexity over [0-9]*' "$BENCH_TMP/base.log" | grep -o '[0-9]*$')
tokens=$((chunks * c))
echo "  $tokens tokens evaluated ($chunks chunks of $c), $t threads, Q4_0 of the test model (vocabulary 512)"
measure "llama-perplexity (Q4_0)" "$ref" -m "$m" -f "$text" -c $c -t "$t"
rs=$MEASURED_S rc=$MEASURED_CPU
measure "qa llama engine, PPL (Q4_0)" "$ppl" -m "$m" -f "$text" -c $c -t "$t"
qs=$MEASURED_S qc=$MEASURED_CPU
measure "llama-perplexity --kl-divergence" "$ref" -m "$m" -f "$text" -c $c -t "$t" \
	--kl-divergence-base "$BENCH_TMP/base.kld" --kl-divergence
ks=$MEASURED_S
measure "qa llama engine, exact drift" "$ppl" -m "$m" -b "$b" -f "$text" -c $c -t "$t"
ds=$MEASURED_S dc=$MEASURED_CPU
tps() { awk -v n="$tokens" -v s="$1" 'BEGIN { printf "%.0f", n / (s < 0.01 ? 0.01 : s) }'; }
r2() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '  %-44s %8s tok/s\n' "llama-perplexity" "$(tps "$rs")"
printf '  %-44s %8s tok/s  %sx (cpu %sx), target >= 0.9x\n' "qa PPL" "$(tps "$qs")" "$(r2 "$rs" "$qs")" "$(r2 "$rc" "$qc")"
printf '  %-44s %8s tok/s  %sx (cpu %sx), target >= 0.45x\n' "qa exact drift (2 models)" "$(tps "$ds")" \
	"$(r2 "$rs" "$ds")" "$(r2 "$rc" "$dc")"
printf '  %-44s %sx the --kl-divergence run alone (its base run not counted)\n' "qa exact drift" "$(r2 "$ks" "$ds")"
