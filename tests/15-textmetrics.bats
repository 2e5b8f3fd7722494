#!/usr/bin/env bats
# bleu, chrf, chrfpp, rouge1/2/L/Lsum and f1: per-record scores, corpus
# figures from summed statistics in --summary and --merge, and qa-diff's
# paired bootstrap of corpus figures.  Conformance with sacreBLEU,
# rouge-score and scikit-learn is tests/vectors' job (tests/data/vectors).

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
}

# A small corpus of translations with one reference each (and one with two).
corpus() {
	cat <<'JSON'
{"id":1,"task":"mt","response":{"text":"The cat sat on the mat."},"expected":["The cat is on the mat."]}
{"id":2,"task":"mt","response":{"text":"There is a dog in the garden."},"expected":["A dog is in the garden."]}
{"id":3,"task":"mt","response":{"text":"He reads books every evening."},"expected":["He reads a book every night.","Every evening he reads books."]}
{"id":4,"task":"mt","response":{"text":"It rains."},"expected":["It is raining today."]}
{"id":5,"task":"mt","response":{"text":"We went to the market on Monday and bought fresh bread."},"expected":["On Monday we went to the market and bought fresh bread."]}
{"id":6,"task":"mt","response":{"text":"Completely unrelated words here"},"expected":["The meeting was postponed until Friday."]}
JSON
}

@test "bleu: sentence scores on sacreBLEU's 0-100 scale, statistics in details" {
	corpus > in.jsonl
	run_ok qa-score -m bleu in.jsonl
	[ "$(jq -s 'length' <<<"$output")" -eq 6 ]
	# A perfect match is 100; the score is never outside 0..100.
	echo '{"response":{"text":"The cat sat on the mat."},"expected":"The cat sat on the mat."}' |
		qa-score -m bleu | jq -e '(.scores.bleu - 100 | fabs) < 1e-9 and .details.bleu.counts == [7,6,5,4]'
	jq -se 'all(.[]; .scores.bleu >= 0 and .scores.bleu <= 100 and (.details.bleu.stats | has("c1") and has("ref_len")))' <<<"$output"
}

@test "bleu: options change the tokenization and the smoothing; bad options are usage errors" {
	echo '{"response":{"text":"Hello, World!"},"expected":"hello , world !"}' > one.jsonl
	a=$(qa-score -m bleu one.jsonl | jq '.scores.bleu')
	b=$(qa-score -m bleu:lowercase=true one.jsonl | jq '.scores.bleu')
	c=$(qa-score -m bleu:tokenize=none one.jsonl | jq '.scores.bleu')
	jq -en --argjson a "$a" --argjson b "$b" '$a < 100 and ($b - 100 | fabs) < 1e-9'
	jq -en --argjson c "$c" '$c < 50'
	# char: every non-space character is a token
	echo '{"response":{"text":"ab"},"expected":"a b"}' | qa-score -m bleu:tokenize=char |
		jq -e '.details.bleu.sys_len == 2 and (.scores.bleu - 100 | fabs) < 1e-9'
	f=$(echo '{"response":{"text":"a b c x"},"expected":"a b c d"}' | qa-score -m bleu:smooth_method=floor | jq '.details.bleu.precisions[3]')
	jq -en --argjson f "$f" '($f - 10 | fabs) < 1e-9'
	run_usage qa-score -m bleu:tokenize=moses one.jsonl
	assert_stderr --partial "tokenize: 'moses' is not one of 13a, none, char"
	run_usage qa-score -m bleu:color=red one.jsonl
	assert_stderr --partial "unknown option 'color'"
}

@test "summary: corpus BLEU and chrF come from summed statistics, not the mean of sentence scores" {
	corpus > in.jsonl
	run_ok qa-score --summary -m bleu -m chrf -m chrfpp in.jsonl
	b=$(jq -c 'select(.scope == "overall" and .metric == "bleu")' <<<"$output")
	# Recompute corpus BLEU from the records' own statistics, by hand (exp smoothing, no effective order).
	want=$(qa-score -m bleu in.jsonl | jq -s '
	  (map(.details.bleu.stats) | reduce .[] as $s ({}; reduce ($s | to_entries[]) as $e (.; .[$e.key] += $e.value))) as $t
	  | [range(1; 5) as $n | 100 * $t["c\($n)"] / $t["t\($n)"] | log] | add / 4 | exp
	  | . * (if $t.sys_len < $t.ref_len then (1 - $t.ref_len / $t.sys_len | exp) else 1 end)')
	jq -e --argjson w "$want" '(.corpus - $w | fabs) < 1e-9 and (.corpus - .mean | fabs) > 1' <<<"$b"
	jq -e '.corpus_details.counts | length == 4' <<<"$b"
	c=$(jq -c 'select(.scope == "overall" and .metric == "chrfpp")' <<<"$output")
	jq -e '.corpus > 0 and .corpus < 100 and (.stats | has("h8"))' <<<"$c"
	run_ok qa-score --summary -f table -m bleu in.jsonl
	assert_output --partial "  corpus bleu: "
}

@test "merge: shards' statistics add up to one run's corpus BLEU, chrF and F1, to the last digit" {
	corpus > in.jsonl
	for i in 1 2 3 4 5 6; do echo "{\"id\":$i,\"task\":\"cls\",\"response\":{\"text\":\"$(( i % 3 ))\"},\"expected\":\"$(( i % 2 ))\"}"; done >> in.jsonl
	m='-m bleu -m chrf -m f1 -m rougeL'
	qa-score --summary $m in.jsonl 2>/dev/null | jq -c 'select(.corpus != null) | [.scope, .task, .metric, .corpus, .corpus_details]' | sort > whole
	head -n 4 in.jsonl > s1.jsonl
	tail -n +5 in.jsonl > s2.jsonl
	{ qa-score --summary $m s1.jsonl; qa-score --summary $m s2.jsonl; } 2>/dev/null > shards
	qa-score --merge shards | jq -c 'select(.corpus != null) | [.scope, .task, .metric, .corpus, .corpus_details]' | sort > merged
	[ "$(wc -l < whole)" -eq 12 ]
	diff whole merged
}

@test "rouge bootstrap=N,seed=S: BootstrapAggregator's low/mid/high in the summary, the same from merged shards" {
	corpus > in.jsonl
	m='-m rougeL:bootstrap=1000,seed=7 -m rouge1:bootstrap=500'
	qa-score --summary $m in.jsonl | jq -c 'select(.scope == "overall") | [.metric, .corpus_details]' | sort > whole
	[ "$(wc -l < whole)" -eq 2 ]
	head -n 2 in.jsonl > s1.jsonl
	tail -n +3 in.jsonl > s2.jsonl
	{ qa-score --summary $m s1.jsonl; qa-score --summary $m s2.jsonl; } > shards
	qa-score --merge shards | jq -c 'select(.scope == "overall") | [.metric, .corpus_details]' | sort > merged
	# The draws are the same (the items are sorted first); the means are sums of
	# doubles, which may differ in the last digit with the order of adding.
	diff <(jq -c '[.[0], .[1].bootstrap]' whole) <(jq -c '[.[0], .[1].bootstrap]' merged)
	o=$(jq -c 'select(.[0] == "rougeL") | .[1]' whole)
	jq -e '.bootstrap.resamples == 1000 and .bootstrap.seed == 7' <<<"$o"
	jq -e '.bootstrap as $b | all("precision", "recall", "fmeasure"; . as $k |
		$b.low[$k] <= $b.mid[$k] and $b.mid[$k] <= $b.high[$k] and $b.low[$k] < $b.high[$k])' <<<"$o"
	jq -e '.bootstrap.low.fmeasure <= .fmeasure and .fmeasure <= .bootstrap.high.fmeasure' <<<"$o"
	# The seed decides the draws: the same seed, the same figures; another, others.
	again=$(qa-score --summary -m rougeL:bootstrap=1000,seed=7 in.jsonl | jq -c 'select(.scope == "overall") | .corpus_details')
	[ "$again" = "$o" ]
	other=$(qa-score --summary -m rougeL:bootstrap=1000,seed=8 in.jsonl | jq -c 'select(.scope == "overall") | .corpus_details.bootstrap')
	[ "$other" != "$(jq -c .bootstrap <<<"$o")" ]
	# Items all alike: every resample's mean is theirs.
	for i in 1 2 3; do echo '{"response":{"text":"a b c d"},"expected":"a b x y"}'; done |
		qa-score --summary -m rougeL:bootstrap=200 | jq -e 'select(.scope == "overall") | .corpus_details.bootstrap |
		[.low.fmeasure, .mid.fmeasure, .high.fmeasure] == [0.5, 0.5, 0.5]'
	# Off by default: no items in the statistics.
	qa-score --summary -m rougeL in.jsonl | jq -e 'select(.scope == "overall") | (.corpus_details | has("bootstrap") | not) and (.stats | keys == ["fmeasure","n","precision","recall"])'
	run_usage qa-score -m rougeL:bootstrap=-1 in.jsonl
	assert_stderr --partial 'bootstrap: an integer from 0 to 100000'
}

@test "chrf and chrfpp: one file, two names; chrF++ adds word orders" {
	echo '{"response":{"text":"The cat sat on the mat."},"expected":"The cat is on the mat."}' > one.jsonl
	run_ok qa-score -m chrf -m chrfpp one.jsonl
	jq -e '(.details.chrf.best_ref_stats | length) == 6 and (.details.chrfpp.best_ref_stats | length) == 8' <<<"$output"
	jq -e '.scores.chrf != .scores.chrfpp' <<<"$output"
	run_usage qa-score -m chrf:char_order=99 one.jsonl
	assert_stderr --partial "char_order: an integer from 0 to 8"
}

@test "rouge: F as the score, P and R in details; the stemmer; Lsum splits on newlines" {
	echo '{"response":{"text":"the cats are running"},"expected":"The cat runs"}' > one.jsonl
	run_ok qa-score -m rouge1 one.jsonl
	# Without the stemmer only "the" matches; with it cats -> cat, running/runs -> run.
	jq -e '.details.rouge1.precision == 0.25 and (.details.rouge1.recall - 1/3 | fabs) < 1e-15' <<<"$output"
	r=$(echo '{"response":{"text":"the cats are running"},"expected":"The cat runs"}' | qa-score -m '{"name":"rouge1","use_stemmer":true}')
	jq -e '.details.rouge1.precision == 0.75 and .details.rouge1.recall == 1 and (.scores.rouge1 - 6/7 | fabs) < 1e-15' <<<"$r"
	# Lsum: the union LCS over sentences; L over the whole text.
	printf '%s\n' '{"response":{"text":"b a\nd c"},"expected":"a b\nc d"}' |
		qa-score -m rougeL -m rougeLsum | jq -e '.scores.rougeL == 0.5 and .scores.rougeLsum == 0.5'
	printf '%s\n' '{"response":{"text":"c d\na b"},"expected":"a b\nc d"}' |
		qa-score -m rougeL -m rougeLsum | jq -e '.scores.rougeL == 0.5 and .scores.rougeLsum == 1'
	run_usage qa-score -m rouge2:split_summaries=true one.jsonl
	assert_stderr --partial "split_summaries can only be false"
}

@test "f1: 1 when the label is right; per-class, macro, micro, weighted F1 and the confusion matrix in the summary" {
	printf '%s\n' '{"response":{"text":"Positive"},"expected":"Positive"}' '{"response":{"text":"Positive"},"expected":"Negative"}' \
		'{"response":{"text":" positive "},"expected":"positive"}' '{"response":{"text":"Neutral"},"expected":"Neutral"}' > in.jsonl
	run_ok qa-score -m f1:ignore_case=true in.jsonl
	[ "$(jq -s -c 'map(.scores.f1)' <<<"$output")" = '[1,0,1,1]' ]
	run_ok qa-score --summary -m f1:ignore_case=true in.jsonl
	o=$(jq -c 'select(.scope == "overall")' <<<"$output")
	jq -e '.mean == 0.75 and .corpus_details.labels == ["negative","neutral","positive"]' <<<"$o"
	jq -e '.corpus_details.confusion == [[0,0,1],[0,1,0],[0,0,2]] and .corpus_details.accuracy == 0.75' <<<"$o"
	# negative: P 0 (zero_division), R 0; neutral: 1, 1; positive: P 2/3, R 1, F 0.8
	jq -e '(.corpus - (0 + 1 + 0.8) / 3 | fabs) < 1e-15 and .corpus_details.per_class.negative.support == 1' <<<"$o"
	z=$(qa-score --summary -m f1:ignore_case=true,zero_division=1 in.jsonl | jq -c 'select(.scope == "overall") | .corpus_details.per_class.negative')
	[ "$z" = '{"precision":1,"recall":0,"f1":0,"support":1}' ]
	# A pattern extracts the label; no match is the label "[invalid]", listed as invalid.
	printf '%s\n' '{"response":{"text":"Label: B"},"expected":"B"}' '{"response":{"text":"none"},"expected":"A"}' |
		qa-score -m '{"name":"f1","pattern":"Label: (\\w)"}' | jq -se '.[0].scores.f1 == 1 and .[1].invalid == ["f1"] and .[1].details.f1.label == "[invalid]"'
	run_usage qa-score -m f1:zero_division=2 in.jsonl
	assert_stderr --partial 'zero_division: "warn", 0 or 1'
}

@test "bleu: tokenize intl and zh split as sacreBLEU's tokenizers (python3-regex) do" {
	# Each text tokenized by tests/data/sacrebleu_tok.py and scored with
	# tokenize=none must give the statistics qa's own tokenizer gives.
	for m in intl zh; do
		/usr/bin/python3 "$BATS_TEST_DIRNAME/data/sacrebleu_tok.py" $m < "$BATS_TEST_DIRNAME/data/bleu-tokenize.jsonl" > tok.jsonl
		f='[.scores.bleu, .details.bleu.counts, .details.bleu.totals, .details.bleu.sys_len, .details.bleu.ref_len]'
		own=$(qa-score -m bleu:tokenize=$m "$BATS_TEST_DIRNAME/data/bleu-tokenize.jsonl" | jq -c "$f")
		ref=$(qa-score -m bleu:tokenize=none tok.jsonl | jq -c "$f")
		[ "$(wc -l <<<"$own")" -eq 8 ]
		[ "$own" = "$ref" ]
		# These texts are ones where the choice of tokenizer shows.
		[ "$own" != "$(qa-score -m bleu "$BATS_TEST_DIRNAME/data/bleu-tokenize.jsonl" | jq -c "$f")" ]
	done
	# The zh ranges as Python compares them: '\u20000'..'\u2a6d6' holds U+2A6D, not U+2A6E.
	echo '{"response":{"text":"a\u2a6db c\u2a6ed"},"expected":"x"}' | qa-score -m bleu:tokenize=zh | jq -e '.details.bleu.sys_len == 4'
	run_usage qa-score -m bleu:tokenize=ja one.jsonl
	assert_stderr --partial "is not one of 13a, none, char, intl, zh"
}

@test "bleu, chrf, rouge: details qa-score copies unread (QA_DETAILS_VALID) are JSON whatever the text" {
	printf '%s\n' '{"response":{"text":"a \"quoted\" \\ back\\slash\ttab \u0001 ctl é 中文"},"expected":["\"quoted\" a","\\"]}' \
		'{"response":{"text":""},"expected":"x"}' '{"response":{"text":"x"},"expected":""}' \
		'{"response":{"text":"\u2028 \ud83d\ude00 end."},"expected":"\ud83d\ude00 end ."}' > odd.jsonl
	m='-m bleu -m bleu:tokenize=intl,as=bi -m bleu:tokenize=zh,as=bz -m chrf -m chrfpp -m rouge1:tokens=true -m rougeLsum:bootstrap=10'
	run_ok qa-score $m odd.jsonl
	jq -s -e 'length == 4' <<<"$output"
	[ "$(jq -c '.details | keys' <<<"$output" | sort -u)" = '["bi","bleu","bz","chrf","chrfpp","rouge1","rougeLsum"]' ]
	jq -e '.details.rouge1.tokens == ["a","quoted","back","slash","tab","ctl"]' <<<"$(head -n 1 <<<"$output")"
}

@test "f1: past max_labels distinct labels the rarest are one class [other], with a warning; accuracy stays exact" {
	{
		for i in $(seq 10); do echo '{"response":{"text":"a"},"expected":"a"}'; done
		for i in $(seq 8); do echo '{"response":{"text":"b"},"expected":"b"}'; done
		for i in $(seq 20); do echo "{\"response\":{\"text\":\"v$i\"},\"expected\":\"u$i\"}"; done
	} > in.jsonl
	run_ok qa-score --summary -m f1:max_labels=3 in.jsonl
	assert_stderr --partial 'f1: 42 distinct labels, more than max_labels 3'
	[ "$(grep -c 'distinct labels' <<<"$stderr")" -eq 1 ]
	o=$(jq -c 'select(.scope == "overall") | .corpus_details' <<<"$output")
	jq -e '.labels == ["[other]","a","b"] and .confusion == [[20,0,0],[0,10,0],[0,0,8]]' <<<"$o"
	jq -e '.capped == {"max_labels":3,"distinct":42,"merged_into":"[other]"}' <<<"$o"
	# The right answers are counted before merging: u1 vs v1 is wrong, though both are "[other]".
	jq -e '.accuracy == 18 / 38 and .micro.f1 == 18 / 38 and .per_class.a.f1 == 1' <<<"$o"
	# The default guard, 1000: 1,500 labels make a 1000 x 1000 matrix at most.
	seq 1500 | awk '{ printf "{\"response\":{\"text\":\"p%d\"},\"expected\":\"g%d\"}\n", $1, $1 }' > many.jsonl
	run_ok qa-score --summary -m f1 many.jsonl
	jq -e 'select(.scope == "overall") | .corpus_details | (.labels | length) == 1000 and (.confusion | length) == 1000 and .capped.distinct == 3000' <<<"$output"
	# Under the guard nothing is merged, and details say nothing of it.
	qa-score --summary -m f1:max_labels=42 in.jsonl | jq -e 'select(.scope == "overall") | .corpus_details | (.labels | length) == 42 and (has("capped") | not)'
	run_usage qa-score -m f1:max_labels=1 in.jsonl
	assert_stderr --partial 'max_labels: an integer from 2 to 100000'
}

@test "qa-diff: corpus figures of both runs and a paired bootstrap of their delta" {
	corpus > base.jsonl
	sed -e 's/There is a dog in the garden./A dog is in the garden./' -e 's/It rains./It is raining today./' base.jsonl > cand.jsonl
	qa-score -m bleu base.jsonl > b.jsonl
	qa-score -m bleu cand.jsonl > c.jsonl
	run_ok qa-diff --seed 7 b.jsonl c.jsonl
	o=$(jq -c 'select(.scope == "overall")' <<<"$output")
	wb=$(qa-score --summary -m bleu base.jsonl | jq 'select(.scope == "overall") | .corpus')
	wc=$(qa-score --summary -m bleu cand.jsonl | jq 'select(.scope == "overall") | .corpus')
	jq -e --argjson b "$wb" --argjson c "$wc" '.corpus.baseline == $b and .corpus.candidate == $c and .corpus.delta == $c - $b' <<<"$o"
	jq -e '.corpus.bootstrap.resamples == 1000 and .corpus.bootstrap.ci_low <= .corpus.bootstrap.ci_high and .corpus.bootstrap.p > 0 and .corpus.bootstrap.p <= 1' <<<"$o"
	# Fixed seed: the same answer twice; --bootstrap sets the resamples.
	[ "$(qa-diff --seed 7 b.jsonl c.jsonl | jq -c 'select(.scope == "overall") | .corpus')" = "$(jq -c '.corpus' <<<"$o")" ]
	qa-diff --bootstrap 200 b.jsonl c.jsonl | jq -se '.[-1].corpus.bootstrap.resamples == 200'
	# Identical runs: delta 0, every resample's delta 0, p = 1.
	qa-diff b.jsonl b.jsonl | jq -se '.[-1].corpus | .delta == 0 and .bootstrap.ci_low == 0 and .bootstrap.ci_high == 0 and .bootstrap.p == 1'
	# A scorer without corpus statistics prints no corpus field, as before.
	qa-score -m exact_match b.jsonl > e.jsonl
	qa-diff e.jsonl e.jsonl | jq -se 'all(.[]; has("corpus") | not)'
}

@test "qa-diff --metric f1: macro-F1 of both runs, as the summaries have it, and its paired bootstrap" {
	for i in $(seq 1 30); do
		g=$(( i % 3 ))
		echo "{\"id\":$i,\"response\":{\"text\":\"c$g\"},\"expected\":\"c$g\"}"
	done > base.jsonl
	# The candidate confuses class c2 with c1 on every other c2 item.
	jq -c 'if .expected == "c2" and (.id % 2 == 0) then .response.text = "c1" else . end' base.jsonl > cand.jsonl
	qa-score -m exact_match -m f1 base.jsonl > b.jsonl
	qa-score -m exact_match -m f1 cand.jsonl > c.jsonl
	wb=$(qa-score --summary -m f1 base.jsonl | jq 'select(.scope == "overall") | .corpus')
	wc=$(qa-score --summary -m f1 cand.jsonl | jq 'select(.scope == "overall") | .corpus')
	run_ok qa-diff --metric f1 --seed 3 b.jsonl c.jsonl
	o=$(jq -c 'select(.scope == "overall")' <<<"$output")
	jq -e --argjson b "$wb" --argjson c "$wc" '$b == 1 and $c < 1 and .corpus.baseline == $b and .corpus.candidate == $c' <<<"$o"
	jq -e '.corpus.bootstrap.ci_low < .corpus.delta and .corpus.delta <= .corpus.bootstrap.ci_high and .corpus.bootstrap.ci_high <= 0' <<<"$o"
	# The first metric (exact_match) has no corpus statistics: no corpus comparison.
	qa-diff b.jsonl c.jsonl | jq -se 'all(.[]; has("corpus") | not)'
}

# Coverage: 200 data sets drawn from a known population (ROUGE-L F of the
# baseline ~ U(0, 1), the candidate's = its own U(0, 1) + 0.05, so the true
# corpus delta, a difference of means, is 0.05), 100 items each, a
# different bootstrap seed each time: the 95% interval must hold 0.05 in
# about 95% of them (a binomial spread of 1.5 points: 88..99 is far outside chance).
@test "qa-diff: the corpus bootstrap CI covers a known delta about 95% of the time" {
	covered=0
	for r in $(seq 1 200); do
		awk -v seed="$r" 'BEGIN {
			srand(seed)
			for (i = 1; i <= 100; i++) {
				b = rand(); c = rand() + 0.05
				printf "{\"id\":%d,\"scores\":{\"rougeL\":%.17g},\"details\":{\"rougeL\":{\"stats\":{\"n\":1,\"fmeasure\":%.17g}}}}\n", i, b, b > "b.jsonl"
				printf "{\"id\":%d,\"scores\":{\"rougeL\":%.17g},\"details\":{\"rougeL\":{\"stats\":{\"n\":1,\"fmeasure\":%.17g}}}}\n", i, c, c > "c.jsonl"
			}
		}'
		if qa-diff --seed "$r" b.jsonl c.jsonl | jq -se '.[-1].corpus.bootstrap | .ci_low <= 0.05 and 0.05 <= .ci_high' >/dev/null; then
			covered=$((covered + 1))
		fi
	done
	echo "covered $covered of 200" >&3
	[ "$covered" -ge 176 ] && [ "$covered" -le 198 ]
}

@test "bleu: clipped counts are a plain count of n-grams, for repeated and long words and tables grown between records" {
	# Words of 1 to 40 letters (keys packed, hashed past 8 bytes), many
	# repeats, one to three references, and a 3,000-word record between
	# short ones (the id tables grow, then serve small records again).
	/usr/bin/python3 - > in.jsonl <<'PY'
import json, random
from collections import Counter
random.seed(19)
voc = ["".join(random.choice("abcdefgh") for _ in range(random.choice([1, 2, 7, 8, 9, 16, 17, 40])))
       for _ in range(60)]
voc += [w[:8] + "x" * 9 for w in voc[:10]] + [w[:8] + "y" * 9 for w in voc[:10]]   # same first 8 bytes
def sent(n):
    return [random.choice(voc[: random.choice([5, 80])]) for _ in range(n)]
def grams(ws, n):
    return Counter(tuple(ws[i:i + n]) for i in range(len(ws) - n + 1))
for i in range(200):
    h = sent(3000 if i == 100 else random.randint(0, 30))
    refs = [[w if random.random() < .7 else random.choice(voc) for w in h] for _ in range(random.randint(1, 3))]
    counts = []
    for n in range(1, 5):
        best = Counter()
        for r in refs:
            best |= grams(r, n)
        counts.append(sum(min(c, best[g]) for g, c in grams(h, n).items()))
    print(json.dumps({"id": i, "response": {"text": " ".join(h)},
                      "expected": [" ".join(r) for r in refs], "want": counts}))
PY
	for tok in none 13a; do
		run_ok qa-score -m "bleu:tokenize=$tok" in.jsonl
		jq -se 'length == 200 and all(.[]; .details.bleu.counts == .want)' <<<"$output"
	done
}
