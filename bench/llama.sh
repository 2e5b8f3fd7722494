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

# curl: one config of n requests, 2 at a time, each body to its own file,
# each time beside its file (--parallel finishes them in any order).  A
# transfer curl could not start is left out, and counted.
: >"$BENCH_TMP/curl.cfg"
for i in $(seq "$n"); do
	printf 'url = "%s/v1/completions"\nrequest = "POST"\nheader = "Content-Type: application/json"\ndata = "{\\"model\\":\\"bench\\",\\"prompt\\":\\"the cat %d\\",\\"temperature\\":0,\\"max_tokens\\":8}"\noutput = "%s/curl.%d.json"\nwrite-out = "%%{http_code} %%{time_total} %%{filename_effective}\\n"\nnext\n' \
		"$base" "$i" "$BENCH_TMP" "$i" >>"$BENCH_TMP/curl.cfg"
done
curl -s --parallel --parallel-max 2 -K "$BENCH_TMP/curl.cfg" 2>/dev/null >"$BENCH_TMP/curl.times"
curl_ok=0
: >"$BENCH_TMP/curl.over"
while read -r code t file; do
	[ "$code" = 200 ] || continue
	curl_ok=$((curl_ok + 1))
	jq --argjson t "$t" '$t * 1000 - .timings.prompt_ms - .timings.predicted_ms' "$file" >>"$BENCH_TMP/curl.over"
done <"$BENCH_TMP/curl.times"
curl_med=$(median <"$BENCH_TMP/curl.over")

qa2=$(overhead 2)
qa16=$(overhead 16)
printf '  %-44s %8.1f ms\n' "qa-send -c 2 (= slots), median overhead" "$qa2"
printf '  %-44s %8.1f ms  (%d of %d requests)\n' "curl --parallel-max 2, median overhead" "$curl_med" "$curl_ok" "$n"
printf '  %-44s %8.1f ms\n' "qa-send -c 16 (8x the slots), median overhead" "$qa16"
