#!/usr/bin/env bats
# The scorers one by one: what each extracts, and how it compares.

setup() {
	load test_helper
}

# score METRIC ANSWER REFERENCE: prints the score, then "invalid" when listed, then details.
score() {
	jq -cn --arg a "$2" --arg r "$3" '{response: {text: $a}, expected: $r}' |
		qa-score -m "$1" | jq -r '.scores[], (if .invalid then "invalid" else empty end), (.details // {} | .[] | tojson)'
}

@test "exact_match: lm-eval's options, applied in lm-eval's order" {
	[ "$(score exact_match 'Paris' 'Paris' | head -1)" = 1 ]
	[ "$(score exact_match ' Paris' 'Paris' | head -1)" = 0 ]
	[ "$(score exact_match:ignore_case=true,ignore_punctuation=true 'Hello, World!' 'hello world' | head -1)" = 1 ]
	[ "$(score exact_match:ignore_numbers=true 'abc123' 'abc' | head -1)" = 1 ]
	[ "$(score exact_match:ignore_case=true 'İstanbul' 'istanbul' | head -1)" = 0 ]
	[ "$(score exact_match:normalize=nfkc 'ﬁnance' 'finance' | head -1)" = 1 ]
	[ "$(score exact_match:strip=true '  yes ' 'yes' | head -1)" = 1 ]
	run_usage qa-score -m exact_match:normalize=nfkd </dev/null
	assert_stderr --partial 'qa-score: --metric exact_match:normalize=nfkd: option normalize must be "nfkc" or "none" ('
}

@test "contains: a reference inside the answer" {
	[ "$(score contains 'The capital is Paris.' 'Paris' | head -1)" = 1 ]
	[ "$(score contains 'The capital is paris.' 'Paris' | head -1)" = 0 ]
	[ "$(score contains:ignore_case=true 'The capital is paris.' 'Paris' | head -1)" = 1 ]
	[ "$(score contains 'anything' '' | head -1)" = 0 ]
}

@test "regex: first and last match, groups, fallback, then exact_match's comparison" {
	run_ok qa-score -m '{"name":"regex","pattern":"answer is \\(?([A-D])\\)?","group_select":-1}' \
		<<<'{"response":{"text":"the answer is A, no, the answer is (C)"},"expected":"C"}'
	[ "$(field .scores.regex)" = 1 ]
	[ "$(field .details.regex.extracted)" = '"C"' ]
	run_ok qa-score -m '{"name":"regex","pattern":"answer is \\(?([A-D])\\)?","match":"first"}' \
		<<<'{"response":{"text":"the answer is A, no, the answer is (C)"},"expected":"C"}'
	[ "$(field .details.regex.extracted)" = '"A"' ]
	run_ok qa-score -m '{"name":"regex","pattern":"(\\d+)","fallback":"NONE"}' \
		<<<'{"response":{"text":"none"},"expected":"1"}'
	[ "$(field '[.scores.regex, .invalid[0], .details.regex.extracted]')" = '[0,"regex","NONE"]' ]
	run_ok qa-score -m '{"name":"regex","pattern":"Answer: (\\w+)","ignore_case":true}' \
		<<<'{"response":{"text":"Answer: PARIS"},"expected":"paris"}'
	[ "$(field .scores.regex)" = 1 ]
	run_usage qa-score -m regex </dev/null
	assert_stderr --partial 'needs a pattern'
}

@test "numeric: GSM8K strict-match and flexible-extract, as lm-eval does them" {
	gold=$'Natalia sold 48/2 = <<48/2=24>>24 clips.\n#### 72'
	[ "$(score numeric:extract=strict $'so 72\n#### 72' "$gold" | head -1)" = 1 ]
	[ "$(score numeric:extract=strict 'The answer is 72' "$gold" | head -2 | tr '\n' ' ')" = '0 invalid ' ]
	[ "$(score numeric 'The answer is 72' "$gold" | head -1)" = 1 ]
	[ "$(score numeric 'The answer is 1,000,000.' '#### 1000000' | head -1)" = 1 ]
	[ "$(score numeric '2.50' '#### 2.5' | head -1)" = 0 ]
	[ "$(score numeric:tolerance=0.001 '2.50' '#### 2.5' | head -1)" = 1 ]
	[ "$(score numeric:tolerance=0.001 '3.14159' '3.1416' | head -1)" = 1 ]
	[ "$(score numeric:tolerance=0.001 '3.2' '3.1416' | head -1)" = 0 ]
	[ "$(score numeric 'x = 3.5, y = 4, so 7.5' '7.5' | sed -n 2p)" = '{"extracted":"7.5","extract":"flexible"}' ]
	run_usage qa-score -m numeric:extract=loose </dev/null
	run_usage qa-score -m numeric:tolerance=-1 </dev/null
}

@test "choice: the letter, in the forms models write it" {
	for a in 'B' 'b' '(B)' 'B)' 'B.' 'Answer: B' 'The answer is B.' 'the answer is (B)' 'B) Paris' \
		'I think it is A... no. The answer is B' 'I would go with (B)'; do
		got=$(score choice "$a" 'B' | head -1)
		[ "$got" = 1 ] || { echo "answer '$a' scored $got"; return 1; }
	done
	[ "$(score choice 'C' 'B' | head -1)" = 0 ]
	[ "$(score choice 'B' '(B) Paris' | head -1)" = 1 ]
	[ "$(score choice 'I cannot tell' 'B' | head -2 | tr '\n' ' ')" = '0 invalid ' ]
	[ "$(score choice 'a good answer' 'A' | sed -n 2p)" = invalid ]
	[ "$(score choice:letters=AB 'C' 'A' | sed -n 2p)" = invalid ]
}

@test "squad_em and squad_f1: the official v1.1 normalisation, max over references" {
	run_ok qa-score -m squad_em -m squad_f1 \
		<<<'{"response":{"text":"Santa Clara, California"},"expected":["Santa Clara","Levi'"'"'s Stadium in Santa Clara, California"]}'
	[ "$(field .scores)" = '{"squad_em":0,"squad_f1":0.8}' ]
	[ "$(field .details.squad_em.normalized)" = '"santa clara california"' ]
	run_ok qa-score -m squad_em -m squad_f1 <<<'{"response":{"text":"The"},"expected":"the"}'
	[ "$(field .scores)" = '{"squad_em":1,"squad_f1":0}' ]
	run_usage qa-score -m squad_f1:x=1 </dev/null
}

@test "--list shows every plugin with its kind, version and path" {
	run_ok qa-score --list
	for s in exact_match contains regex numeric choice squad_em squad_f1; do
		grep -Eq "^$s +scorer +1\.0 +/[^ ]*/$s\.so$" <<<"$output" || { echo "no line for $s"; return 1; }
	done
}
