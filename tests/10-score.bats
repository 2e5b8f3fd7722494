#!/usr/bin/env bats
# qa-score: records in, scores out; the contract of DESIGN.md.

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
}

@test "scores response.text against expected and keeps the record's own bytes" {
	printf '%s\n' '{ "id" : 1, "n":1.50, "response":{"text":"Paris"}, "expected":"Paris", "zz":[1e3] }' > in.jsonl
	run_ok qa-score --metric exact_match in.jsonl
	assert_output '{ "id" : 1, "n":1.50, "response":{"text":"Paris"}, "expected":"Paris", "zz":[1e3],"scores":{"exact_match":1} }'
}

@test "ground_truth is an alias; an array of references: the best wins" {
	run_ok qa-score -m exact_match <<<'{"response":{"text":"b"},"ground_truth":["a","b"]}'
	[ "$(field .scores.exact_match)" = 1 ]
	run_ok qa-score -m exact_match <<<'{"response":{"text":"c"},"ground_truth":["a","b"]}'
	[ "$(field .scores.exact_match)" = 0 ]
}

@test "a numeric reference is compared as its text" {
	run_ok qa-score -m exact_match <<<'{"response":{"text":"72"},"expected":72}'
	[ "$(field .scores.exact_match)" = 1 ]
}

@test "metrics come from the record when none is given: names and typed options" {
	run_ok qa-score <<'IN'
{"id":1,"response":{"text":" PARIS "},"expected":"paris","metric":"exact_match"}
{"id":2,"response":{"text":" PARIS "},"expected":"paris","metrics":[{"name":"exact_match","ignore_case":true,"strip":true},"contains"]}
{"id":3,"response":{"text":"$1,000"},"expected":"1000","metrics":[{"name":"exact_match","regexes_to_ignore":[",","\\$"]}]}
IN
	[ "$(sed -n 1p <<<"$output" | jq -c .scores)" = '{"exact_match":0}' ]
	[ "$(sed -n 2p <<<"$output" | jq -c .scores)" = '{"exact_match":1,"contains":0}' ]
	[ "$(sed -n 3p <<<"$output" | jq -c .scores)" = '{"exact_match":1}' ]
}

@test "--metric takes NAME:key=value,... and a JSON object" {
	run_ok qa-score -m exact_match:ignore_case=true,strip=true <<<'{"response":{"text":" Paris"},"expected":"paris"}'
	[ "$(field .scores.exact_match)" = 1 ]
	run_ok qa-score -m '{"name":"exact_match","regexes_to_ignore":["\\s+"],"ignore_case":true}' \
		<<<'{"response":{"text":" P a r i s"},"expected":"paris"}'
	[ "$(field .scores.exact_match)" = 1 ]
}

@test "scores are keyed by the bare name; \"as\" renames one, and the order is the metrics' order" {
	run_ok qa-score -m numeric:extract=strict,as=strict -m numeric <<<'{"response":{"text":"#### 5 then 6"},"expected":"6"}'
	[ "$(field .scores)" = '{"strict":0,"numeric":1}' ]
	run_usage qa-score -m exact_match -m exact_match:ignore_case=true </dev/null
	assert_stderr --partial 'already asked for'
}

@test "--answer picks the field holding the answer" {
	run_ok qa-score -m exact_match --answer output.choices[0] <<<'{"output":{"choices":["B"]},"expected":"B"}'
	[ "$(field .scores.exact_match)" = 1 ]
}

@test "re-scoring replaces the fields qa-score owns and clears stale ones" {
	run_ok qa-score -m regex:pattern=x <<<'{"response":{"text":"y"},"expected":"x"}'
	first=$output
	[ "$(field .invalid)" = '["regex"]' ]
	run_ok qa-score -m exact_match <<<"$first"
	[ "$(field .scores)" = '{"exact_match":0}' ]
	[ "$(field 'has("invalid")')" = false ]
	[ "$(field 'has("details")')" = false ]
	[ "$(grep -o '"scores"' <<<"$output" | wc -l)" -eq 1 ]
}

@test "an answer that cannot be extracted scores 0 and is listed in invalid, with details" {
	run_ok qa-score -m numeric <<<'{"response":{"text":"I do not know"},"expected":"#### 4"}'
	[ "$(field .scores.numeric)" = 0 ]
	[ "$(field .invalid)" = '["numeric"]' ]
	[ "$(field .details.numeric.extracted)" = '"[invalid]"' ]
}

@test "a record without an answer is invalid, with one warning for the run" {
	run_ok qa-score -m exact_match <<'IN'
{"expected":"a"}
{"expected":"b"}
IN
	[ "$(jq -c .invalid <<<"$output" | sort -u)" = '["exact_match"]' ]
	assert_stderr 'qa-score: 2 records had no answer at response.text (scored invalid)'
}

@test "a line that is not JSON becomes a bad_record error, keeps its text, and the run goes on" {
	printf '%s\n' '{"response":{"text":"a"},"expected":"a"}' '{"broken": ' 'plain "text"' '[1,2]' \
		'{"response":{"text":"b"},"expected":"a"}' > in.jsonl
	run_data qa-score -m exact_match in.jsonl
	[ "${#lines[@]}" -eq 5 ]
	[ "$(sed -n 2p <<<"$output" | jq -c '[.error.type, .error.line, .input]')" = '["bad_record",2,"{\"broken\": "]' ]
	[ "$(sed -n 3p <<<"$output" | jq -r .input)" = 'plain "text"' ]
	[ "$(sed -n 4p <<<"$output" | jq -r .error.message)" = 'not a JSON object' ]
	[ "$(sed -n 5p <<<"$output" | jq -c .scores)" = '{"exact_match":0}' ]
	assert_stderr --partial 'qa-score: in.jsonl:2: unexpected end of JSON'
	assert_stderr --partial 'qa-score: in.jsonl:3: invalid JSON at byte 1'
}

@test "records that already failed upstream pass through untouched and count as errors" {
	rec='{"id":7,"error":{"type":"timeout","message":"gave up"}}'
	run_data qa-score -m exact_match <<<"$rec"
	assert_output "$rec"
}

@test "a scorer's own error is reported on the record; its other scores stay" {
	cc -shared -fPIC -I"$QA_ROOT/include" -o misbehaves.so "$QA_ROOT/tests/plugins/misbehaves.c"
	export QA_PLUGIN_PATH=$PWD
	run_data qa-score -m misbehaves -m exact_match <<'IN'
{"response":{"text":"fail"},"expected":"fail"}
{"response":{"text":"junk"},"expected":"x"}
{"response":{"text":"fine"},"expected":"x"}
IN
	[ "$(sed -n 1p <<<"$output" | jq -c '[.scores, .error.type, .error.message]')" = '[{"exact_match":1},"scorer","misbehaves: refused: fail"]' ]
	[ "$(sed -n 2p <<<"$output" | jq -r .error.message)" = 'misbehaves: scorer returned details that are not JSON' ]
	[ "$(sed -n 3p <<<"$output" | jq -c .scores)" = '{"misbehaves":0.5,"exact_match":0}' ]
}

@test "a record naming an unknown metric gets a scorer error; the run goes on" {
	run_data qa-score <<'IN'
{"response":{"text":"a"},"expected":"a","metric":"no_such_scorer"}
{"response":{"text":"a"},"expected":"a","metric":"exact_match"}
{"response":{"text":"a"},"expected":"a","metric":"../../etc/evil"}
IN
	[ "$(sed -n 1p <<<"$output" | jq -r .error.type)" = scorer ]
	[ "$(sed -n 2p <<<"$output" | jq -c .scores)" = '{"exact_match":1}' ]
	[ "$(sed -n 3p <<<"$output" | jq -r .error.message)" = "../../etc/evil: '../../etc/evil' is not a plugin name" ]
	assert_stderr --partial "no scorer named 'no_such_scorer'"
}

@test "a record without any metric is an error, not a silent zero" {
	run_data qa-score <<<'{"response":{"text":"a"},"expected":"a"}'
	[ "$(field .error.message)" = '"no metric: give --metric, or a metric field in the record"' ]
}

@test "usage errors exit 2 before reading any input" {
	run_usage qa-score -m no_such_scorer </dev/zero
	assert_stderr --partial "qa-score: --metric no_such_scorer: no scorer named 'no_such_scorer'"
	run_usage qa-score -m exact_match:bogus=1 </dev/zero
	[[ "$stderr" =~ ^"qa-score: --metric exact_match:bogus=1: unknown option 'bogus' ("/[^\ ]*/exact_match\.so")"$ ]]
	run_usage qa-score -m exact_match:ignore_case=maybe </dev/zero
	assert_stderr --partial 'ignore_case must be true or false'
	run_usage qa-score -m 'regex:pattern=(' </dev/zero
	assert_stderr --partial 'pattern:'
	run_usage qa-score -m exact_match:novalue </dev/zero
	run_usage qa-score --format xml </dev/zero
	run_usage qa-score --no-such-option </dev/zero
}

@test "--help prints the usage on stdout and exits 0; --version too" {
	run_ok qa-score --help
	assert_line --index 0 --partial 'usage: qa-score'
	run_ok qa-score --version
	assert_output --regexp '^qa-score [0-9]+\.[0-9]+'
}

@test "a missing input file is an error naming it; the other files are still read" {
	printf '%s\n' '{"response":{"text":"a"},"expected":"a"}' > ok.jsonl
	run_usage qa-score -m exact_match nope.jsonl ok.jsonl
	assert_stderr --partial 'nope.jsonl: No such file or directory'
	[ "$(field .scores.exact_match)" = 1 ]
}

@test "line numbers in messages count per file" {
	printf '%s\n' '{"response":{"text":"a"},"expected":"a"}' > a.jsonl
	printf '%s\n' '{"ok":1}' 'bad' > b.jsonl
	run_data qa-score -m exact_match a.jsonl b.jsonl
	assert_stderr --partial 'b.jsonl:2:'
}

@test "CRLF line ends, a last line without newline and blank lines are read as records" {
	printf '{"response":{"text":"a"},"expected":"a"}\r\n\n  \n{"response":{"text":"b"},"expected":"b"}' > in.jsonl
	run_ok qa-score -m exact_match in.jsonl
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -c .scores.exact_match <<<"$output" | tr -d '\n')" = 11 ]
}

@test "a NUL byte or invalid UTF-8 is handled, never a crash" {
	printf '{"response":{"text":"a"},"expected":"a"}\0tail\n' > nul.jsonl
	run_data qa-score -m exact_match nul.jsonl
	[ "$(field .error.type)" = '"bad_record"' ]
	assert_stderr --partial 'NUL byte'
	printf '{"response":{"text":"caf\xe9"},"expected":"caf\xef\xbf\xbd"}\n' > utf.jsonl
	run_ok qa-score -m exact_match utf.jsonl
	[ "$(jq -c .scores.exact_match <<<"$output")" = 1 ]
}

@test "a deeply nested line and a 30 MB line are handled" {
	{ printf '{"expected":"x","a":'; head -c 200000 /dev/zero | tr '\0' '['; head -c 200000 /dev/zero | tr '\0' ']'; printf '}\n'; } > deep.jsonl
	run_ok qa-score -m exact_match deep.jsonl
	[[ "$output" == *']]]}]],"scores":{"exact_match":0},"invalid":["exact_match"]}' ]] || [[ "$output" == *']]]],"scores":{"exact_match":0},"invalid":["exact_match"]}' ]]
	{ printf '{"response":{"text":"'; head -c 30000000 /dev/zero | tr '\0' 'x'; printf '"},"expected":"x"}\n'; } > big.jsonl
	run_ok qa-score -m exact_match big.jsonl
	[ "$(jq -c .scores <<<"$output")" = '{"exact_match":0}' ]
}

@test "a closed stdout ends the run quietly" {
	for i in $(seq 1 20000); do echo '{"response":{"text":"a"},"expected":"a"}'; done > many.jsonl
	run bash -c 'set -o pipefail; qa-score -m exact_match many.jsonl | head -n 1'
	[ "$status" -eq 0 ]
	[ "$output" = '{"response":{"text":"a"},"expected":"a","scores":{"exact_match":1}}' ]
}

@test "a full disk is an error" {
	run bash -c 'qa-score -m exact_match <<<"{\"response\":{\"text\":\"a\"},\"expected\":\"a\"}" >/dev/full'
	[ "$status" -eq 2 ]
	[[ "$output" == *"write error: No space left on device"* ]]
}
