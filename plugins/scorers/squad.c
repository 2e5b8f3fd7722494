/*
 * squad_em and squad_f1: the official SQuAD v1.1 evaluation.  Both
 * normalise as its normalize_answer() does: lower case, drop ASCII
 * punctuation, drop the articles a/an/the, collapse whitespace.  EM
 * compares the results; F1 is the token-overlap F1 (a multiset
 * intersection).  The best reference wins.  One file serves both names:
 * squad_f1.so is a link to squad_em.so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qa/plugin.h>

QA_PLUGIN_HOST;

struct state {
	qa_regex *articles;
	int f1;
};

struct tok {
	const char *p;
	size_t n;
};

static int init_common(const qa_json *opts, void **state, char **err, int f1)
{
	if (H->count(opts, "") > 0) {
		*err = H->format("takes no options (unknown option '%s')", H->key(opts, "", 0));
		return -1;
	}
	struct state *s = H->alloc(sizeof *s);
	const char *e;
	s->articles = H->regex_new("\\b(a|an|the)\\b", &e);
	s->f1 = f1;
	*state = s;
	return 0;
}

static int init_em(const qa_json *opts, void **state, char **err)
{
	return init_common(opts, state, err, 0);
}

static int init_f1(const qa_json *opts, void **state, char **err)
{
	return init_common(opts, state, err, 1);
}

static void fini(void *st)
{
	struct state *s = st;
	H->regex_free(s->articles);
	H->free(s);
}

/* normalize_answer(), then split into words; returns the normalised text. */
static const char *normalize(const struct state *s, const char *in, size_t len, size_t *out_len,
    struct tok **toks, size_t *ntok)
{
	size_t n;
	const char *low = H->lower(in, len, &n);
	char *kept = H->alloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)low[i];
		if (!(c < 0x80 && c && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c)))
			kept[k++] = (char)c;
	}
	const char *na = H->regex_sub(s->articles, kept, k, " ", 1, &n);
	H->free(kept);

	*toks = H->alloc((n / 2 + 1) * sizeof **toks);
	*ntok = 0;
	char *joined = H->alloc(n + 1);
	size_t pos = 0, w, j = 0;
	for (const char *word; (word = H->word(na, n, &pos, &w));) {
		if (j)
			joined[j++] = ' ';
		memcpy(joined + j, word, w);
		(*toks)[(*ntok)++] = (struct tok){ word, w };
		j += w;
	}
	joined[j] = '\0';
	*out_len = j;
	const char *q = H->quote(joined, j);	/* into host memory: joined can go now */
	H->free(joined);
	return q;
}

static int tokcmp(const void *a, const void *b)
{
	const struct tok *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->p, y->p, n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Size of the multiset intersection: both sides sorted, then merged. */
static size_t common(struct tok *a, size_t na, struct tok *b, size_t nb)
{
	qsort(a, na, sizeof *a, tokcmp);
	qsort(b, nb, sizeof *b, tokcmp);
	size_t i = 0, j = 0, same = 0;
	while (i < na && j < nb) {
		int c = tokcmp(&a[i], &b[j]);
		if (c == 0)
			same++, i++, j++;
		else if (c < 0)
			i++;
		else
			j++;
	}
	return same;
}

static int score(void *st, const struct qa_input *in, struct qa_output *out)
{
	struct state *s = st;
	struct tok *at, *rt;
	size_t an, rn, alen, rlen;
	const char *aq = normalize(s, in->answer, in->answer_len, &alen, &at, &an);
	const char *rq[64];
	size_t shown = in->nrefs < 64 ? in->nrefs : 64;

	for (size_t i = 0; i < in->nrefs; i++) {
		const char *q = normalize(s, in->refs[i], in->ref_lens[i], &rlen, &rt, &rn);
		if (i < shown)
			rq[i] = q;
		double v;
		if (!s->f1) {
			/* Quoted forms compare equal exactly when the texts do. */
			v = strcmp(q, aq) == 0;
		} else {
			struct tok *ac = H->alloc((an + 1) * sizeof *ac);
			memcpy(ac, at, an * sizeof *ac);
			size_t same = common(ac, an, rt, rn);
			H->free(ac);
			double p = an ? (double)same / an : 0, r = rn ? (double)same / rn : 0;
			v = same ? 2 * p * r / (p + r) : 0;
		}
		if (v > out->score)
			out->score = v;
		H->free(rt);
	}
	H->free(at);

	size_t cap = strlen(aq) + 64;
	for (size_t i = 0; i < shown; i++)
		cap += strlen(rq[i]) + 1;
	char *d = H->alloc(cap);
	size_t o = (size_t)snprintf(d, cap, "{\"normalized\":%s,\"normalized_references\":[", aq);
	for (size_t i = 0; i < shown; i++)
		o += (size_t)snprintf(d + o, cap - o, "%s%s", i ? "," : "", rq[i]);
	snprintf(d + o, cap - o, "]}");
	out->details = d;
	return 0;
}

static const struct qa_scorer_ops em_ops = {
	QA_OPS(qa_scorer_ops),
	.init = init_em,
	.score = score,
	.fini = fini,
};

static const struct qa_plugin em = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "squad_em", "1.0",
	    "SQuAD v1.1 exact match after its normalisation (max over references)"),
	.flags = QA_NEEDS_ANSWER | QA_NEEDS_REFERENCE,
	.scorer = &em_ops,
};

static const struct qa_scorer_ops f1_ops = {
	QA_OPS(qa_scorer_ops),
	.init = init_f1,
	.score = score,
	.fini = fini,
};

static const struct qa_plugin f1 = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "squad_f1", "1.0",
	    "SQuAD v1.1 token-overlap F1, 0-1 (max over references)"),
	.flags = QA_NEEDS_ANSWER | QA_NEEDS_REFERENCE,
	.scorer = &f1_ops,
};

QA_PLUGIN_EXPORT(&em, &f1)
