#!/usr/bin/env bats
# A fault soak: 2,000 records at -c 64 against a server that fails 20% of
# them in every way it knows (429 with each form of Retry-After, 500, 503,
# resets, hangs past --timeout, garbage, truncated bodies, raw control
# bytes and bad UTF-8 in usage and logprobs), chosen by record id so that
# every run is the same.  The server counts every request by script, and
# each record has a script of its own: each record's attempts must equal
# the server's count, and each answer must be its own record's.

load testd

setup_file() {
	start_testd SOAK
}

teardown_file() {
	stop_testd SOAK
}

setup() {
	testd_env
}

@test "fault soak: 2,000 records, -c 64, 20% faults: every record whole, in order, its attempts counted" {
	# Every fifth record is faulty; which fault, by its id.  "echo" answers the prompt itself.
	python3 - <<'EOF' >in.jsonl
import json
faults = ["429:ra=0", "429:ra=-1", "429:radate=-30", "429:ra=soon", "429:ra=1", "429:rams=50",
          "429:ra=100", "429:radate=1", "500", "503", "reset", "hang", "garbage", "trunc",
          "dirty", "500 500", "503:xsr=true reset"]
for i in range(1, 2001):
    steps = faults[(i // 5) % len(faults)] + " echo" if i % 5 == 0 else "echo"
    if steps == "dirty echo":
        steps = "dirty"
    print(json.dumps({"id": i, "prompt": "!%s #soak-%d" % (steps, i)}))
EOF
	run --separate-stderr timeout 120 qa-send -q --provider openai --base-url "$SOAK_BASE" --model m \
		-c 64 -p logprobs=1 --timeout 1 --backoff-base 0.02 --backoff-cap 0.2 --retry-after-max 2 \
		--seed 14 in.jsonl
	[ "$status" -eq 1 ]	# the garbage answers are bad_response, never retried
	printf '%s\n' "$output" >out.jsonl
	get "$SOAK_PORT" /_count >counts.json
	python3 - in.jsonl out.jsonl counts.json <<'EOF' >figures.txt
import json, sys
ins = [json.loads(l) for l in open(sys.argv[1])]
raw = open(sys.argv[2], "rb").read().decode("utf-8")      # invalid UTF-8 raises
lines = raw.split("\n")[:-1]
counts = json.load(open(sys.argv[3]))["scripts"]
assert len(lines) == len(ins), "lines out %d, records in %d" % (len(lines), len(ins))
errors = requests = 0
for rec, line in zip(ins, lines):
    out = json.loads(line)                                    # strict: no raw control characters
    assert isinstance(out, dict)
    assert out["id"] == rec["id"] and out["prompt"] == rec["prompt"], "order: %r" % line[:80]
    script = rec["prompt"]
    seen = counts.get(script, 0)
    requests += seen
    if "error" in out:
        errors += 1
        att = out["error"]["attempts"]
    else:
        r = out["response"]
        att = r["attempts"]
        assert r["text"] == rec["prompt"], "misattributed: %r got %r" % (rec["prompt"], r["text"])
    assert att == seen, "%s: attempts %d, the server saw %d" % (script, att, seen)
assert errors * 20 < len(ins), "errors %d of %d" % (errors, len(ins))
print("records %d requests %d errors %d" % (len(ins), requests, errors))
EOF
	cat figures.txt
	grep -Eq '^records 2000 requests [0-9]+ errors [0-9]+$' figures.txt
	# the run says what its retries cost
	[[ "$stderr" == *"retries of a budget of 1020 (20 + 0.5 per record read)"* ]]
}
