/*
 * chrf and chrfpp: sacreBLEU 2.x CHRF on its 0-100 scale; chrfpp is
 * chrF++ (word_order 2).  One file serves both names: chrfpp.so links to
 * chrf.so.
 *
 * Per record: CHRF().sentence_score(answer, references): character n-grams
 * of orders 1..char_order over the text with Python whitespace removed,
 * word n-grams (chrF++) over words with a leading or trailing ASCII
 * punctuation mark split off; each reference gives [hyp, ref, match] per
 * order and the one with the best F wins (the first on ties).  Those
 * statistics are the record's details.stats; the corpus figure is
 * compute_f_score over their sums, as corpus_score().  See qa-bleu(7).
 *
 * Options: char_order (6), word_order (0 for chrf, 2 for chrfpp), beta (2),
 * lowercase, whitespace, eps_smoothing.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <qa/plugin.h>

QA_PLUGIN_HOST;

#include "ngram.h"

#define MAXORD 16

struct state {
	int char_order, word_order, lowercase, whitespace, eps;
	double beta;
	struct ng ng;
};

/* A segment's character and word ids, and the ids of their n-grams (ngram.h). */
struct seg {
	uint32_t *c, *w, *cg, *wg;
	size_t nc, nw;
};

static int int_opt(const qa_json *o, const char *k, int lo, int hi, int *out, char **err)
{
	double d;
	if (H->type(o, k) == QA_ABSENT)
		return 0;
	if (H->number(o, k, &d) < 0 || d != floor(d) || d < lo || d > hi) {
		*err = H->format("%s: an integer from %d to %d", k, lo, hi);
		return -1;
	}
	*out = (int)d;
	return 0;
}

static int bool_opt(const qa_json *o, const char *k, int *out, char **err)
{
	int b = H->boolean(o, k);
	if (b >= 0)
		*out = b;
	else if (H->type(o, k) != QA_ABSENT) {
		*err = H->format("%s: true or false", k);
		return -1;
	}
	return 0;
}

static int init_common(const qa_json *o, void **state, char **err, int word_order)
{
	static const char *const keys[] = { "char_order", "word_order", "beta", "lowercase",
		"whitespace", "eps_smoothing", NULL };
	struct state *s = H->alloc(sizeof *s);
	memset(s, 0, sizeof *s);
	*state = s;
	s->char_order = 6;
	s->word_order = word_order;
	s->beta = 2;
	for (size_t i = 0; i < H->count(o, ""); i++) {
		const char *k = H->key(o, "", i);
		size_t j = 0;
		while (keys[j] && strcmp(keys[j], k) != 0)
			j++;
		if (!keys[j]) {
			*err = H->format("unknown option '%s' (char_order, word_order, beta, lowercase, "
			    "whitespace, eps_smoothing)", k);
			return -1;
		}
	}
	if (int_opt(o, "char_order", 0, 8, &s->char_order, err) < 0 ||
	    int_opt(o, "word_order", 0, 8, &s->word_order, err) < 0 ||
	    bool_opt(o, "lowercase", &s->lowercase, err) < 0 ||
	    bool_opt(o, "whitespace", &s->whitespace, err) < 0 ||
	    bool_opt(o, "eps_smoothing", &s->eps, err) < 0)
		return -1;
	if (H->type(o, "beta") != QA_ABSENT && (H->number(o, "beta", &s->beta) < 0 || !(s->beta > 0))) {
		*err = H->format("beta: a number > 0");
		return -1;
	}
	if (s->char_order + s->word_order < 1) {
		*err = H->format("char_order + word_order must be at least 1");
		return -1;
	}
	return 0;
}

static int init_chrf(const qa_json *o, void **state, char **err)
{
	return init_common(o, state, err, 0);
}

static int init_chrfpp(const qa_json *o, void **state, char **err)
{
	return init_common(o, state, err, 2);
}

static void fini(void *st)
{
	struct state *s = st;
	ng_free(&s->ng);
	H->free(s);
}

static size_t utf8_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

static int is_punct(unsigned char c)
{
	return c < 0x80 && c > ' ' && c != 0x7f && !(c >= '0' && c <= '9') &&
	    !((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/*
 * A segment's characters (code points; whitespace dropped unless asked to
 * keep it) and its words, split as _remove_punctuation() does, as ids of
 * the record; then their n-grams.
 */
static void segment(struct state *s, const char *in, size_t n, struct seg *g)
{
	struct ng *ng = &s->ng;
	const char *t = in;
	size_t tn = n, pos = 0, w;
	if (s->lowercase)
		t = H->lower(t, tn, &tn);
	g->c = ng_alloc(ng, (tn + 1) * sizeof *g->c);
	g->w = ng_alloc(ng, (tn + 1) * sizeof *g->w);
	g->nc = g->nw = 0;
	if (s->whitespace) {
		for (size_t i = 0; i < tn;) {
			size_t k = utf8_len((unsigned char)t[i]);
			if (i + k > tn)
				k = tn - i;
			g->c[g->nc++] = ng_unit(ng, t + i, k);
			i += k;
		}
	}
	for (const char *p; (p = H->word(t, tn, &pos, &w));) {
		size_t ncp = 0;
		for (size_t i = 0; i < w;) {
			size_t k = utf8_len((unsigned char)p[i]);
			if (i + k > w)
				k = w - i;
			if (!s->whitespace)
				g->c[g->nc++] = ng_unit(ng, p + i, k);
			i += k;
			ncp++;
		}
		if (!s->word_order)
			continue;
		/* A word's pieces: its whole, or a punctuation mark split off one end. */
		size_t cut = ncp == 1 ? w : is_punct((unsigned char)p[w - 1]) ? w - 1 :
		    is_punct((unsigned char)p[0]) ? 1 : w;
		g->w[g->nw++] = ng_unit(ng, p, cut);
		if (cut < w)
			g->w[g->nw++] = ng_unit(ng, p + cut, w - cut);
	}
	g->cg = ng_grams(ng, g->c, g->nc, s->char_order);
	g->wg = ng_grams(ng, g->w, g->nw, s->word_order);
}

/* _compute_f_score over [hyp, ref, match] triples, 0-100. */
static double f_score(const struct state *s, const double *st)
{
	const double eps = 1e-16;
	double score = 0, factor = s->beta * s->beta, avg_p = 0, avg_r = 0;
	int order = s->char_order + s->word_order, eff = 0;
	for (int i = 0; i < order; i++) {
		double nh = st[3 * i], nr = st[3 * i + 1], nm = st[3 * i + 2];
		double p = nh > 0 ? nm / nh : eps, r = nr > 0 ? nm / nr : eps;
		double den = factor * p + r;
		score += den > 0 ? (1 + factor) * p * r / den : eps;
		if (nh > 0 && nr > 0) {
			avg_p += p;
			avg_r += r;
			eff++;
		}
	}
	if (s->eps)
		return 100 * score / order;
	if (eff == 0)
		avg_p = avg_r = 0;
	else
		avg_p /= eff, avg_r /= eff;
	if (avg_p + avg_r == 0)
		return 0;
	return 100 * (1 + factor) * avg_p * avg_r / (factor * avg_p + avg_r);
}

/* [hyp, ref, match] of order n of one kind of unit for every reference, into st[ref][3 * ord...]. */
static void count_order(struct state *s, const struct seg *hyp, const struct seg *refs, size_t nref, int words,
    size_t n, int ord, double (*st)[3 * MAXORD])
{
	struct ng *ng = &s->ng;
	size_t hn = words ? hyp->nw : hyp->nc, hyp_count = hn >= n ? hn - n + 1 : 0;
	const uint32_t *hg = (words ? hyp->wg : hyp->cg) + (n - 1) * hn;
	/* Characters and words share ids ("a" is both): the counts are cleared after each order. */
	ng_hyp(ng, hg, hyp_count);
	for (size_t r = 0; r < nref; r++) {
		size_t rn = words ? refs[r].nw : refs[r].nc, total = rn >= n ? rn - n + 1 : 0;
		const uint32_t *rg = (words ? refs[r].wg : refs[r].cg) + (n - 1) * rn;
		st[r][3 * ord] = total ? (double)hyp_count : 0;	/* no hits counted where the reference has none */
		st[r][3 * ord + 1] = (double)total;
		st[r][3 * ord + 2] = (double)ng_match(ng, rg, total, 0);
	}
	for (size_t i = 0; i < hyp_count; i++)
		ng->ch[hg[i]] = 0;
}

static int score(void *st_, const struct qa_input *in, struct qa_output *out)
{
	struct state *s = st_;
	ng_begin(&s->ng);
	size_t nonempty = 0;
	for (size_t r = 0; r < in->nrefs; r++)
		nonempty += in->ref_lens[r] > 0;
	size_t nref = 0;
	struct seg h, *refs = ng_alloc(&s->ng, (in->nrefs + 1) * sizeof *refs);
	segment(s, in->answer, in->answer_len, &h);
	ng_freeze(&s->ng);	/* the references' grams only count where the hypothesis has them */
	for (size_t r = 0; r < in->nrefs; r++) {
		/* sacreBLEU drops empty references (unless there is nothing else). */
		if (nonempty && in->ref_lens[r] == 0)
			continue;
		segment(s, in->refs[r], in->ref_lens[r], &refs[nref]);
		nref++;
	}
	ng_counts(&s->ng);
	double (*st)[3 * MAXORD] = ng_alloc(&s->ng, (nref + 1) * sizeof *st);
	memset(st, 0, (nref + 1) * sizeof *st);
	int ord = 0;
	for (int n = 1; n <= s->char_order; n++, ord++)
		count_order(s, &h, refs, nref, 0, (size_t)n, ord, st);
	for (int n = 1; n <= s->word_order; n++, ord++)
		count_order(s, &h, refs, nref, 1, (size_t)n, ord, st);
	size_t best = 0;
	double best_f = -1;
	for (size_t r = 0; r < nref; r++) {
		double f = f_score(s, st[r]);
		if (f > best_f)
			best_f = f, best = r;
	}
	out->score = best_f;
	struct qa_text d = { 0 };
	H->text_add(&d, "{\"best_ref_stats\":[", 19);
	for (int i = 0; i < ord; i++)
		H->text_printf(&d, "%s[%.0f,%.0f,%.0f]", i ? "," : "", st[best][3 * i], st[best][3 * i + 1],
		    st[best][3 * i + 2]);
	H->text_add(&d, "],\"stats\":{", 11);
	for (int i = 0; i < ord; i++)
		H->text_printf(&d, "%s\"h%d\":%.0f,\"r%d\":%.0f,\"m%d\":%.0f", i ? "," : "", i + 1,
		    st[best][3 * i], i + 1, st[best][3 * i + 1], i + 1, st[best][3 * i + 2]);
	H->text_add(&d, "}}", 2);
	out->details = d.p;
	return 0;
}

static int corpus(void *st_, const char *const *names, const double *sums, size_t n, double *score_out,
    char **details)
{
	struct state *s = st_;
	double st[3 * MAXORD];
	memset(st, 0, sizeof st);
	int order = s->char_order + s->word_order;
	for (size_t i = 0; i < n; i++) {
		const char *k = names[i];
		int slot = k[0] == 'h' ? 0 : k[0] == 'r' ? 1 : k[0] == 'm' ? 2 : -1;
		int o = 0;
		if (slot < 0 || sscanf(k + 1, "%d", &o) != 1 || o < 1 || o > order)
			continue;
		st[3 * (o - 1) + slot] = sums[i];
	}
	*score_out = f_score(s, st);
	*details = NULL;
	return 0;
}

static const struct qa_scorer_ops chrf_ops = {
	QA_OPS(qa_scorer_ops),
	.init = init_chrf,
	.score = score,
	.fini = fini,
	.corpus = corpus,
};

static const struct qa_plugin chrf = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "chrf", "1.0",
	    "sacreBLEU 2.x chrF, 0-100: sentence per record, corpus in the summary"),
	.flags = QA_NEEDS_ANSWER | QA_NEEDS_REFERENCE | QA_DETAILS_VALID,
	.scorer = &chrf_ops,
};

static const struct qa_scorer_ops chrfpp_ops = {
	QA_OPS(qa_scorer_ops),
	.init = init_chrfpp,
	.score = score,
	.fini = fini,
	.corpus = corpus,
};

static const struct qa_plugin chrfpp = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "chrfpp", "1.0",
	    "sacreBLEU 2.x chrF++ (word_order 2), 0-100: sentence per record, corpus in the summary"),
	.flags = QA_NEEDS_ANSWER | QA_NEEDS_REFERENCE | QA_DETAILS_VALID,
	.scorer = &chrfpp_ops,
};

QA_PLUGIN_EXPORT(&chrf, &chrfpp)
