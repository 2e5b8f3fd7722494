# qa-send against a real llama-server (the pinned llama.cpp of make llama,
# the tests' tiny Q4_0 model), at -c equal to the server's slots: the
# median per-request overhead, latency_ms minus the server's own
# prompt_ms + predicted_ms, beside curl's figure (time_total) for the same
# requests over the same kept-alive connections.  Target (issue 16): at
# most 2 ms on loopback.  Then the same at -c 16 against 2 slots, which
# measures the queue, not the client.
. bench/lib.sh
n=${BENCH_LLAMA_N:-60}
export QA_ROOT=$PWD BATS_FILE_TMPDIR=$BENCH_TMP
. tests/llama.bash
llama_models || { echo "  the test models could not be made (make llama first)"; exit 1; }
start_llama bench q4_0.gguf -np 2 || exit 1
trap 'stop_llama bench; rm -rf "$BENCH_TMP"' EXIT
base=http://127.0.0.1:$bench_PORT
for i in $(seq "$n"); do jq -nc --arg p "the cat $i" '{prompt: $p}'; done >"$BENCH_TMP/llama.jsonl"

# median of stdin's numbers
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

overhead() {
	QA_LLAMA_KEY=none qa-send -q --provider openai-completions --base-url "$base/v1" --model bench \
		--key-env QA_LLAMA_KEY -p temperature=0 -p max_tokens=8 -c "$1" "$BENCH_TMP/llama.jsonl" |
		jq '.response | .latency_ms - .server_timings.prompt_ms - .server_timings.predicted_ms' | median
}

# curl: one config of n requests, 2 at a time, each body to its own file.
: >"$BENCH_TMP/curl.cfg"
for i in $(seq "$n"); do
	printf 'url = "%s/v1/completions"\nrequest = "POST"\nheader = "Content-Type: application/json"\ndata = "{\\"model\\":\\"bench\\",\\"prompt\\":\\"the cat %d\\",\\"temperature\\":0,\\"max_tokens\\":8}"\noutput = "%s/curl.%d.json"\nwrite-out = "%%{time_total}\\n"\nnext\n' \
		"$base" "$i" "$BENCH_TMP" "$i" >>"$BENCH_TMP/curl.cfg"
done
curl -s --parallel --parallel-max 2 -K "$BENCH_TMP/curl.cfg" >"$BENCH_TMP/curl.times"
# --parallel writes the times in completion order: pair them by file instead.
for i in $(seq "$n"); do jq '.timings.prompt_ms + .timings.predicted_ms' "$BENCH_TMP/curl.$i.json"; done >"$BENCH_TMP/curl.compute"
curl_total=$(awk '{ s += $1 * 1000 } END { print s }' "$BENCH_TMP/curl.times")
curl_compute=$(awk '{ s += $1 } END { print s }' "$BENCH_TMP/curl.compute")
curl_mean=$(awk -v t="$curl_total" -v c="$curl_compute" -v n="$n" 'BEGIN { printf "%.1f", (t - c) / n }')

qa2=$(overhead 2)
qa16=$(overhead 16)
printf '  %-44s %8.1f ms\n' "qa-send -c 2 (= slots), median overhead" "$qa2"
printf '  %-44s %8.1f ms\n' "curl --parallel-max 2, mean overhead" "$curl_mean"
printf '  %-44s %8.1f ms\n' "qa-send -c 16 (8x the slots), median overhead" "$qa16"
