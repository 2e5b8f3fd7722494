# Corpus BLEU and ROUGE-L over 100k sentence pairs: qa-score against
# Debian's python3-nltk (corpus_bleu) and a plain Python LCS (nltk has no
# ROUGE), and qa-score -m bleu against its own -m exact_match on the same
# records.  The peers get the text already split (str.split()), so their
# time is the metric's, not a tokenizer's; qa-score tokenizes (13a) too.
. bench/lib.sh
n=${BENCH_TEXT_N:-100000}
py=/usr/bin/python3	# Debian's, where python3-nltk is
in=$BENCH_TMP/text-$n.jsonl
# Sentences of 12-28 words from a 2,000-word vocabulary; the reference
# keeps each word with probability 0.8 and otherwise draws another one.
awk -v n="$n" 'BEGIN {
	srand(19)
	for (i = 0; i < 2000; i++) {
		w = ""; l = 3 + int(rand() * 7)
		for (k = 0; k < l; k++) w = w sprintf("%c", 97 + int(rand() * 26))
		voc[i] = w
	}
	for (i = 1; i <= n; i++) {
		l = 12 + int(rand() * 17); h = ""; r = ""
		for (k = 0; k < l; k++) {
			w = voc[int(rand() * rand() * 2000)]
			h = h (k ? " " : "") w
			r = r (k ? " " : "") (rand() < 0.8 ? w : voc[int(rand() * 2000)])
		}
		printf "{\"id\":%d,\"task\":\"mt\",\"response\":{\"text\":\"%s\"},\"expected\":\"%s\"}\n", i, h, r
	}
}' > "$in"
echo "  input: $n sentence pairs, $(( $(wc -c < "$in") / n )) bytes a record"
jq -r '[.response.text, .expected] | @tsv' "$in" > "$BENCH_TMP/pairs.tsv"

cat > "$BENCH_TMP/nltk_bleu.py" <<'PY'
import sys
from nltk.translate.bleu_score import corpus_bleu
hyps, refs = [], []
for line in open(sys.argv[1]):
    h, r = line.rstrip("\n").split("\t")
    hyps.append(h.split())
    refs.append([r.split()])
print(corpus_bleu(refs, hyps))
PY
cat > "$BENCH_TMP/lcs.py" <<'PY'
import re, sys
tok = re.compile(r"[a-z0-9]+")
def lcs(a, b):
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]
f = 0.0
n = 0
for line in open(sys.argv[1]):
    h, r = line.rstrip("\n").split("\t")
    a, b = tok.findall(r.lower()), tok.findall(h.lower())
    l = lcs(a, b)
    p, q = (l / len(b) if b else 0), (l / len(a) if a else 0)
    f += 2 * p * q / (p + q) if p + q else 0
    n += 1
print(f / n)
PY

measure "qa-score --summary -m bleu" qa-score --summary -m bleu "$in"; qb_cpu=$MEASURED_CPU
measure "nltk corpus_bleu" "$py" "$BENCH_TMP/nltk_bleu.py" "$BENCH_TMP/pairs.tsv"; nb_cpu=$MEASURED_CPU
echo "  corpus BLEU: qa-score is $(ratio "$nb_cpu" "$qb_cpu")x nltk by CPU time; target 20x"
measure "qa-score --summary -m rougeL" qa-score --summary -m rougeL "$in"; qr_cpu=$MEASURED_CPU
measure "Python LCS (ROUGE-L)" "$py" "$BENCH_TMP/lcs.py" "$BENCH_TMP/pairs.tsv"; pr_cpu=$MEASURED_CPU
echo "  ROUGE-L: qa-score is $(ratio "$pr_cpu" "$qr_cpu")x plain Python by CPU time; target 20x"
# The same figures, or the comparison means nothing: with tokenize=none and
# no punctuation sacreBLEU's corpus BLEU is nltk's (x100; nltk needs no
# smoothing when every order matches); ROUGE-L's corpus figure is the mean F.
qbleu=$(qa-score --summary -m bleu:tokenize=none "$in" | jq 'select(.scope == "overall") | .corpus / 100')
nbleu=$("$py" "$BENCH_TMP/nltk_bleu.py" "$BENCH_TMP/pairs.tsv")
qrouge=$(qa-score --summary -m rougeL "$in" | jq 'select(.scope == "overall") | .corpus')
prouge=$("$py" "$BENCH_TMP/lcs.py" "$BENCH_TMP/pairs.tsv")
echo "  values: BLEU qa $qbleu, nltk $nbleu; ROUGE-L qa $qrouge, Python $prouge"
awk -v a="$qbleu" -v b="$nbleu" -v c="$qrouge" -v d="$prouge" 'BEGIN {
	if ((a - b) ^ 2 > 1e-18 || (c - d) ^ 2 > 1e-18) print "  MISMATCH: qa-score and its peers disagree" }'

# -m bleu against -m exact_match: a gap of about 0.2 s, so the records five
# times over (the clock's 0.01 s is then under 2% of either) and seven runs
# of each in turn, the least CPU time of each: a neighbour's burst of load
# falls on one run, not on one side.
for _ in 1 2 3 4 5; do cat "$in"; done > "$in.5"
sb_cpu="" se_cpu=""
for _ in 1 2 3 4 5 6 7; do
	for m in bleu exact_match; do
		/usr/bin/time -f '%U %S' -o "$BENCH_TMP/.time" qa-score -m "$m" "$in.5" >/dev/null 2>&1
		c=$(tail -n 1 "$BENCH_TMP/.time" | awk '{ print $1 + $2 }')
		if [ $m = bleu ]; then sb_cpu=$(least "$sb_cpu" "$c"); else se_cpu=$(least "$se_cpu" "$c"); fi
	done
done
printf '  %-34s %8.2f s cpu\n' "qa-score -m bleu, $((5 * n)) records" "$sb_cpu" "qa-score -m exact_match" "$se_cpu"
echo "  qa-score -m bleu takes $(ratio "$sb_cpu" "$se_cpu")x the CPU time of -m exact_match (least of 7 each, in turn); target at most 3x"
rm -f "$in" "$in.5" "$BENCH_TMP/pairs.tsv"
