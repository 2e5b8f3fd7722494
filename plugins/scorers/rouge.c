/*
 * rouge1, rouge2, rougeL, rougeLsum: Google's rouge-score
 * (google-research rouge/), the F-measure (0-1) as the score, precision
 * and recall in details.  One file serves the four names: rouge2.so,
 * rougeL.so and rougeLsum.so link to rouge1.so.
 *
 * Tokens as its tokenize(): Python str.lower(), every run of characters
 * outside [a-z0-9] is a separator; with use_stemmer, tokens longer than 3
 * characters go through NLTK's PorterStemmer (porter/porter.c).  ROUGE-N
 * counts clipped n-gram matches; ROUGE-L is the LCS; ROUGE-Lsum splits
 * both texts into sentences on "\n" and takes the union LCS of each
 * reference sentence against the prediction's sentences, each token
 * counted at most as often as it occurs on both sides.  Several references:
 * the one with the highest F (the first on ties), as score_multi().  The
 * corpus figures are the plain means of per-record P, R and F (details.stats
 * carries them to the summary).  See qa-rouge(7).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qa/plugin.h>

#include "porter.h"

QA_PLUGIN_HOST;

#include "ngram.h"

enum kind { R1, R2, RL, RLSUM };

struct state {
	enum kind kind;
	int stem;
	int tokens;	/* show the prediction's tokens in details */
	struct ng ng;
	struct ratio_memo *memo;	/* fmt_memo's, made on first use */
	double svals[5];	/* the last record's details.stats, for stats() */
	const char *snames[5];
	char item[112];	/* the bootstrap's "item:P,R,F" */
	long boot;	/* resamples of BootstrapAggregator's low/mid/high; 0: none */
	double seed;
};

/* A text's tokens as ids of the record (ngram.h), and where they are; all the record's scratch. */
struct toks {
	uint32_t *id;
	const char **p;
	uint32_t *len;
	size_t n;
	size_t *sent;	/* start of each sentence (rougeLsum), and n at the end */
	size_t nsent;
	uint32_t *g;	/* n-gram ids (rouge1, rouge2) */
};

static int init_kind(const qa_json *o, void **state, char **err, enum kind k)
{
	struct state *s = H->alloc(sizeof *s);
	memset(s, 0, sizeof *s);
	*state = s;
	s->kind = k;
	for (size_t i = 0; i < H->count(o, ""); i++) {
		const char *key = H->key(o, "", i);
		if (strcmp(key, "use_stemmer") == 0) {
			int b = H->boolean(o, "use_stemmer");
			if (b < 0) {
				*err = H->format("use_stemmer: true or false");
				return -1;
			}
			s->stem = b;
		} else if (strcmp(key, "tokens") == 0) {
			int b = H->boolean(o, "tokens");
			if (b < 0) {
				*err = H->format("tokens: true or false");
				return -1;
			}
			s->tokens = b;
		} else if (strcmp(key, "bootstrap") == 0 || strcmp(key, "seed") == 0) {
			double d;
			long hi = key[0] == 'b' ? 100000 : 4294967295;
			if (H->number(o, key, &d) < 0 || d != floor(d) || d < 0 || d > (double)hi) {
				*err = H->format("%s: an integer from 0 to %ld", key, hi);
				return -1;
			}
			if (key[0] == 'b')
				s->boot = (long)d;
			else
				s->seed = d;
		} else if (strcmp(key, "split_summaries") == 0 && H->boolean(o, "split_summaries") == 0) {
			continue;	/* the default: sentences are lines */
		} else {
			*err = H->format("unknown option '%s' (use_stemmer, tokens, bootstrap, seed; split_summaries "
			    "can only be false)",
			    key);
			return -1;
		}
	}
	return 0;
}

static int init1(const qa_json *o, void **s, char **e) { return init_kind(o, s, e, R1); }
static int init2(const qa_json *o, void **s, char **e) { return init_kind(o, s, e, R2); }
static int initl(const qa_json *o, void **s, char **e) { return init_kind(o, s, e, RL); }
static int initlsum(const qa_json *o, void **s, char **e) { return init_kind(o, s, e, RLSUM); }

static void fini(void *st)
{
	struct state *s = st;
	ng_free(&s->ng);
	H->free(s->memo);
	H->free(s);
}

static int alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* tokenize() of the whole text; for rougeLsum, sentence starts at each non-empty line. */
static void tokenize(struct state *s, const char *in, size_t n, struct toks *t)
{
	struct ng *g = &s->ng;
	size_t ln = n;
	const char *l = in;
	int ascii = 1;
	for (size_t i = 0; i < n && ascii; i++)
		ascii = (unsigned char)in[i] < 0x80;
	if (ascii) {
		/* ASCII: str.lower() is the ASCII mapping, done here without the host's Unicode tables. */
		char *low = ng_alloc(g, n + 1);
		for (size_t i = 0; i < n; i++)
			low[i] = in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] + 32) : in[i];
		l = low;
	} else {
		l = H->lower(in, n, &ln);
	}
	t->n = t->nsent = 0;
	/* At most a token and a sentence every two bytes. */
	size_t most = ln / 2 + 2;
	t->id = ng_alloc(g, most * sizeof *t->id);
	t->p = ng_alloc(g, most * sizeof *t->p);
	t->len = ng_alloc(g, most * sizeof *t->len);
	t->sent = ng_alloc(g, most * sizeof *t->sent);
	t->g = NULL;
	char *store = s->stem ? ng_alloc(g, ln + 1) : NULL;	/* stemmed text */
	size_t so = 0;
	int line_start = 1;
	for (size_t i = 0; i <= ln;) {
		if (i == ln || l[i] == '\n') {
			line_start = 1;
			i++;
			continue;
		}
		if (!alnum((unsigned char)l[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < ln && alnum((unsigned char)l[j]))
			j++;
		if (line_start) {
			t->sent[t->nsent++] = t->n;
			line_start = 0;
		}
		const char *p = l + i;
		size_t w = j - i;
		if (s->stem && w > 3) {
			size_t k = porter_stem(p, w, store + so);
			p = store + so;
			so += k;
			w = k;
		}
		t->p[t->n] = p;
		t->len[t->n] = (uint32_t)w;
		t->id[t->n++] = ng_unit(g, p, w);
		i = j;
	}
	t->sent[t->nsent] = t->n;
}

/* p = num / dp, r = num / dr: the whole numbers kept, so their text can be memoized by them. */
struct prf {
	double p, r, f;
	double num, dp, dr;
};

static double fmeasure(double p, double r)
{
	return p + r > 0 ? 2 * p * r / (p + r) : 0;
}

/* Clipped n-gram matches; the prediction's counts are in the table (score()). */
static struct prf rouge_n(struct state *s, const struct toks *target, const struct toks *pred, size_t n)
{
	size_t tn = target->n >= n ? target->n - n + 1 : 0, pn = pred->n >= n ? pred->n - n + 1 : 0;
	double inter = (double)ng_match(&s->ng, target->g + (n - 1) * target->n, tn, 0);
	struct prf x;
	x.num = inter;
	x.dp = (double)(pn > 1 ? pn : 1);
	x.dr = (double)(tn > 1 ? tn : 1);
	x.p = x.num / x.dp;
	x.r = x.num / x.dr;
	x.f = fmeasure(x.p, x.r);
	return x;
}

/*
 * LCS length of a[0..na) and b[0..nb), bit-parallel (Allison-Dix, in
 * Hyyro's form): one bit per unit of b, 64 of them a word, so a row of the
 * DP table is a few additions instead of nb comparisons.  The equal units
 * of b share one match mask, found by their id (nu ids in the record).
 * V's zero bits among the first nb are the LCS length.
 */
static size_t lcs_len(struct ng *g, const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	size_t W = (nb + 63) / 64;
	uint32_t *cls = ng_alloc(g, (g->nu + 1) * sizeof *cls);	/* 1 + a unit's mask, 0 none */
	uint64_t *mask = ng_alloc(g, (nb * W + W) * sizeof *mask), *v = mask + nb * W;
	memset(cls, 0, g->nu * sizeof *cls);
	uint32_t ncls = 0;
	for (size_t j = 0; j < nb; j++) {
		if (!cls[b[j]]) {
			memset(mask + (size_t)ncls * W, 0, W * sizeof *mask);
			cls[b[j]] = ++ncls;
		}
		mask[(size_t)(cls[b[j]] - 1) * W + j / 64] |= 1ull << (j % 64);
	}
	for (size_t w = 0; w < W; w++)
		v[w] = ~0ull;
	for (size_t k = 0; k < na; k++) {
		if (!cls[a[k]])
			continue;	/* no match: the row is the one above */
		const uint64_t *m = mask + (size_t)(cls[a[k]] - 1) * W;
		uint64_t carry = 0;
		for (size_t w = 0; w < W; w++) {
			uint64_t u = v[w] & m[w], t = v[w] + u, s2 = t + carry;
			carry = (t < v[w]) | (s2 < t);
			v[w] = s2 | (v[w] & ~m[w]);
		}
	}
	size_t ones = 0;
	for (size_t j = 0; j < nb; j++)
		ones += (v[j / 64] >> (j % 64)) & 1;
	return nb - ones;
}

/* _lcs_table + _backtrack_norec: marks in mark[] the indices of ref on the LCS path. */
static void lcs_mark(const uint32_t *ref, size_t nr, const uint32_t *can, size_t nc, char *mark)
{
	uint32_t *t = H->alloc((nr + 1) * (nc + 1) * sizeof *t);
	memset(t, 0, (nr + 1) * (nc + 1) * sizeof *t);
#define T(i, j) t[(i) * (nc + 1) + (j)]
	for (size_t i = 1; i <= nr; i++)
		for (size_t j = 1; j <= nc; j++)
			T(i, j) = ref[i - 1] == can[j - 1] ? T(i - 1, j - 1) + 1 :
			    (T(i - 1, j) > T(i, j - 1) ? T(i - 1, j) : T(i, j - 1));
	size_t i = nr, j = nc;
	while (i > 0 && j > 0) {
		if (ref[i - 1] == can[j - 1]) {
			mark[i - 1] = 1;
			i--, j--;
		} else if (T(i, j - 1) > T(i - 1, j))
			j--;
		else
			i--;
	}
#undef T
	H->free(t);
}

static struct prf rouge_lsum(struct ng *g, const struct toks *ref, const struct toks *can)
{
	struct prf x = { 0, 0, 0, 0, 0, 0 };
	if (!ref->nsent || !can->nsent || !ref->n || !can->n)
		return x;
	/* Each token's count on both sides, by id: a hit spends one of each. */
	long *cr = ng_alloc(g, 2 * (g->nu + 1) * sizeof *cr), *cc = cr + g->nu + 1;
	memset(cr, 0, 2 * (g->nu + 1) * sizeof *cr);
	for (size_t i = 0; i < ref->n; i++)
		cr[ref->id[i]]++;
	for (size_t i = 0; i < can->n; i++)
		cc[can->id[i]]++;
	char *mark = ng_alloc(g, ref->n + 1);
	double hits = 0;
	for (size_t s = 0; s < ref->nsent; s++) {
		const uint32_t *r = ref->id + ref->sent[s];
		size_t nr = ref->sent[s + 1] - ref->sent[s];
		memset(mark, 0, nr + 1);
		for (size_t c = 0; c < can->nsent; c++)
			lcs_mark(r, nr, can->id + can->sent[c], can->sent[c + 1] - can->sent[c], mark);
		for (size_t i = 0; i < nr; i++) {
			if (mark[i] && cc[r[i]] > 0 && cr[r[i]] > 0) {
				hits++;
				cc[r[i]]--;
				cr[r[i]]--;
			}
		}
	}
	x.num = hits;
	x.dr = (double)ref->n;
	x.dp = (double)can->n;
	x.r = hits / (double)ref->n;
	x.p = hits / (double)can->n;
	x.f = fmeasure(x.p, x.r);
	return x;
}

static struct prf one(struct state *s, const struct toks *target, const struct toks *pred)
{
	struct prf x = { 0, 0, 0, 0, 0, 0 };
	switch (s->kind) {
	case R1:
		return rouge_n(s, target, pred, 1);
	case R2:
		return rouge_n(s, target, pred, 2);
	case RL:
		if (!target->n || !pred->n)
			return x;
		{
			double l = (double)lcs_len(&s->ng, target->id, target->n, pred->id, pred->n);
			x.num = l;
			x.dp = (double)pred->n;
			x.dr = (double)target->n;
			x.p = l / (double)pred->n;
			x.r = l / (double)target->n;
			x.f = fmeasure(x.p, x.r);
		}
		return x;
	case RLSUM:
		return rouge_lsum(&s->ng, target, pred);
	}
	return x;
}

/*
 * %.17g of P, R or F, memoized by the whole numbers they come from: short
 * texts give the same few thousand ratios again and again, and printf of
 * a double was a quarter of a record's cost.  A value is looked up only
 * when it is the ratio of its key, so the text is what printf makes of it.
 */
#define QMAX 64
struct ratio_memo {
	char q[QMAX][QMAX][26];	/* num / den; "" until first use */
	struct {
		double num, dp, dr;
		char txt[26];
	} f[4096];	/* F by (num, dp, dr), one entry a slot, the last one kept */
};

static void fmt_memo(struct state *s, int which, const struct prf *x, double v, char *out)
{
	if (!s->memo) {
		s->memo = H->alloc(sizeof *s->memo);
		memset(s->memo, 0, sizeof *s->memo);
	}
	struct ratio_memo *m = s->memo;
	double den = which == 0 ? x->dp : x->dr;
	if (which < 2 && x->num >= 0 && x->num < QMAX && den > 0 && den < QMAX && v == x->num / den) {
		char *t = m->q[(int)x->num][(int)den];
		if (!t[0])
			snprintf(t, sizeof m->q[0][0], "%.17g", v);
		memcpy(out, t, strlen(t) + 1);
		return;
	}
	if (which == 2 && x->dp > 0 && x->dr > 0 && x->num < 1e6 && x->dp < 1e6 && x->dr < 1e6 &&
	    v == fmeasure(x->num / x->dp, x->num / x->dr)) {
		uint64_t h = ((uint64_t)x->num * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)x->dp * 0xff51afd7ed558ccdull) ^
		    ((uint64_t)x->dr * 0xc4ceb9fe1a85ec53ull);
		size_t i = (size_t)(h >> 52);
		if (m->f[i].num != x->num || m->f[i].dp != x->dp || m->f[i].dr != x->dr || !m->f[i].txt[0]) {
			m->f[i].num = x->num, m->f[i].dp = x->dp, m->f[i].dr = x->dr;
			snprintf(m->f[i].txt, sizeof m->f[i].txt, "%.17g", v);
		}
		memcpy(out, m->f[i].txt, strlen(m->f[i].txt) + 1);
		return;
	}
	snprintf(out, 32, "%.17g", v);
}

static int score(void *st, const struct qa_input *in, struct qa_output *out)
{
	struct state *s = st;
	struct ng *g = &s->ng;
	ng_begin(g);
	struct toks pred, *refs = ng_alloc(g, (in->nrefs + 1) * sizeof *refs);
	tokenize(s, in->answer, in->answer_len, &pred);
	for (size_t r = 0; r < in->nrefs; r++)
		tokenize(s, in->refs[r], in->ref_lens[r], &refs[r]);
	/* ROUGE-N: every text's grams, then the prediction's counts, once for all references. */
	size_t order = s->kind == R1 ? 1 : s->kind == R2 ? 2 : 0;
	if (order) {
		pred.g = ng_grams(g, pred.id, pred.n, (int)order);
		for (size_t r = 0; r < in->nrefs; r++)
			refs[r].g = ng_grams(g, refs[r].id, refs[r].n, (int)order);
		ng_counts(g);
		ng_hyp(g, pred.g + (order - 1) * pred.n, pred.n >= order ? pred.n - order + 1 : 0);
	}
	struct prf best = { 0, 0, -1, 0, 0, 0 };
	for (size_t r = 0; r < in->nrefs; r++) {
		struct prf x = one(s, &refs[r], &pred);
		if (x.f > best.f)
			best = x;
	}
	if (best.f < 0)
		best.f = 0;
	out->score = best.f;
	/* Each number formatted once, shown twice: printf of a double is most of a record's cost. */
	char prf[3][32];
	const double v[3] = { best.p, best.r, best.f };
	for (int i = 0; i < 3; i++) {
		if (v[i] == 0 || v[i] == 1)
			snprintf(prf[i], sizeof prf[i], "%d", (int)v[i]);
		else
			fmt_memo(s, i, &best, v[i], prf[i]);
	}
	struct qa_text d = { 0 };
	/* Pieces added as they are: a printf per record cost a tenth of it. */
	const char *lead[3] = { "{\"precision\":", ",\"recall\":", ",\"fmeasure\":" };
	for (int i = 0; i < 3; i++) {
		H->text_add(&d, lead[i], strlen(lead[i]));
		H->text_add(&d, prf[i], strlen(prf[i]));
	}
	if (s->tokens) {
		H->text_add(&d, ",\"tokens\":[", 11);
		for (size_t i = 0; i < pred.n; i++) {
			H->text_add(&d, i ? "," : "", i ? 1 : 0);
			H->text_json(&d, pred.p[i], pred.len[i]);
		}
		H->text_add(&d, "]", 1);
	}
	const char *slead[3] = { ",\"stats\":{\"n\":1,\"precision\":", ",\"recall\":", ",\"fmeasure\":" };
	for (int i = 0; i < 3; i++) {
		H->text_add(&d, slead[i], strlen(slead[i]));
		H->text_add(&d, prf[i], strlen(prf[i]));
	}
	if (s->boot) {
		/* The record's P, R and F as a name counted once: the summary's sums keep every item for the bootstrap. */
		snprintf(s->item, sizeof s->item, "item:%s,%s,%s", prf[0], prf[1], prf[2]);
		H->text_add(&d, ",\"", 2);
		H->text_add(&d, s->item, strlen(s->item));
		H->text_add(&d, "\":1", 3);
	}
	H->text_add(&d, "}}", 2);
	s->svals[0] = 1, s->svals[1] = best.p, s->svals[2] = best.r, s->svals[3] = best.f, s->svals[4] = 1;
	out->details = d.p;
	return 0;
}

/* What the last score() put in details.stats, in the same order. */
static const char *const stat_names[4] = { "n", "precision", "recall", "fmeasure" };

static size_t stats(void *st, const char *const **names, const double **values)
{
	struct state *s = st;
	memcpy(s->snames, stat_names, sizeof stat_names);
	s->snames[4] = s->item;
	*names = s->snames;
	*values = s->svals;
	return s->boot ? 5 : 4;
}

static int by_prf(const void *a, const void *b)
{
	const double *x = a, *y = b;
	for (int i = 0; i < 3; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* splitmix64: the resamples' draws, from the seed. */
static uint64_t next_rand(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* np.percentile's default (linear) of sorted x[0..n) at q percent. */
static double percentile(const double *x, size_t n, double q)
{
	double pos = q / 100 * (double)(n - 1);
	size_t lo = (size_t)pos;
	if (lo + 1 >= n)
		return x[n - 1];
	return x[lo] + (x[lo + 1] - x[lo]) * (pos - (double)lo);
}

/*
 * BootstrapAggregator's low/mid/high: s->boot resamples of the items with
 * replacement, each's mean P, R and F, and their 2.5th, 50th and 97.5th
 * percentiles.  The items are sorted first, so that a merge of shards
 * draws what one run draws.  The draws are qa's (splitmix64 from seed),
 * not numpy's: the same figures for the same seed, not rouge-score's.
 */
static void bootstrap(const struct state *s, double *items, size_t n, struct qa_text *d)
{
	qsort(items, n, 3 * sizeof *items, by_prf);
	double *means = H->alloc(3 * (size_t)s->boot * sizeof *means);
	uint64_t x = (uint64_t)s->seed;
	for (long b = 0; b < s->boot; b++) {
		double sum[3] = { 0, 0, 0 };
		for (size_t i = 0; i < n; i++) {
			size_t k = (size_t)((double)(next_rand(&x) >> 11) * 0x1.0p-53 * (double)n);
			for (int c = 0; c < 3; c++)
				sum[c] += items[3 * k + c];
		}
		for (int c = 0; c < 3; c++)
			means[(size_t)c * (size_t)s->boot + (size_t)b] = sum[c] / (double)n;
	}
	static const char *const what[3] = { "precision", "recall", "fmeasure" };
	static const double q[3] = { 2.5, 50, 97.5 };
	static const char *const at[3] = { "low", "mid", "high" };
	for (int c = 0; c < 3; c++)
		qsort(means + (size_t)c * (size_t)s->boot, (size_t)s->boot, sizeof *means, by_value);
	H->text_printf(d, ",\"bootstrap\":{\"resamples\":%ld,\"seed\":%.0f", s->boot, s->seed);
	for (int k = 0; k < 3; k++) {
		H->text_printf(d, ",\"%s\":{", at[k]);
		for (int c = 0; c < 3; c++)
			H->text_printf(d, "%s\"%s\":%.17g", c ? "," : "", what[c],
			    percentile(means + (size_t)c * (size_t)s->boot, (size_t)s->boot, q[k]));
		H->text_add(d, "}", 1);
	}
	H->text_add(d, "}", 1);
	H->free(means);
}

static int corpus(void *st, const char *const *names, const double *sums, size_t n, double *score_out,
    char **details)
{
	struct state *s = st;
	double cnt = 0, p = 0, r = 0, f = 0;
	size_t nitems = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], "n") == 0)
			cnt = sums[i];
		else if (strcmp(names[i], "precision") == 0)
			p = sums[i];
		else if (strcmp(names[i], "recall") == 0)
			r = sums[i];
		else if (strcmp(names[i], "fmeasure") == 0)
			f = sums[i];
		else if (strncmp(names[i], "item:", 5) == 0 && sums[i] >= 1 && sums[i] < 1e9)
			nitems += (size_t)sums[i];
	}
	if (cnt <= 0)
		return -1;
	*score_out = f / cnt;
	struct qa_text d = { 0 };
	H->text_printf(&d, "{\"precision\":%.17g,\"recall\":%.17g,\"fmeasure\":%.17g", p / cnt, r / cnt, f / cnt);
	if (s->boot && nitems) {
		/* Each item as many times as it was counted: sums of a name are how many records had it. */
		double *items = H->alloc(3 * nitems * sizeof *items);
		size_t k = 0;
		for (size_t i = 0; i < n && k < nitems; i++) {
			if (strncmp(names[i], "item:", 5) != 0 || !(sums[i] >= 1 && sums[i] < 1e9))
				continue;
			double v[3];
			char *e = (char *)names[i] + 5;
			for (int c = 0; c < 3; c++)
				v[c] = strtod(e + (c > 0), &e);
			for (size_t m = 0; m < (size_t)sums[i] && k < nitems; m++, k++)
				memcpy(items + 3 * k, v, sizeof v);
		}
		bootstrap(s, items, k, &d);
		H->free(items);
	}
	H->text_add(&d, "}", 1);
	*details = d.p;
	return 0;
}

#define OPS(init_) { QA_OPS(qa_scorer_ops), .init = init_, .score = score, .fini = fini, .corpus = corpus, \
	.stats = stats }
static const struct qa_scorer_ops ops[4] = { OPS(init1), OPS(init2), OPS(initl), OPS(initlsum) };

#define ROUGE(name_, i_, what_) { \
	QA_PLUGIN_HEADER(QA_KIND_SCORER, name_, "1.0", "rouge-score " what_ " F-measure, 0-1 (P, R in details)"), \
	.flags = QA_NEEDS_ANSWER | QA_NEEDS_REFERENCE | QA_DETAILS_VALID, .scorer = &ops[i_] }

static const struct qa_plugin plugins[4] = {
	ROUGE("rouge1", 0, "ROUGE-1"),
	ROUGE("rouge2", 1, "ROUGE-2"),
	ROUGE("rougeL", 2, "ROUGE-L (LCS)"),
	ROUGE("rougeLsum", 3, "ROUGE-Lsum (union LCS over \\n-split sentences)"),
};

QA_PLUGIN_EXPORT(&plugins[0], &plugins[1], &plugins[2], &plugins[3])
