/*
 * bleu: sacreBLEU 2.x BLEU on its 0-100 scale, sentence and corpus.
 *
 * Per record: BLEU().sentence_score(answer, references) (effective order on
 * by default, as sacrebleu.sentence_bleu).  Corpus: the record's sufficient
 * statistics (hypothesis and closest reference length, matched and total
 * n-grams of each order) go into details.stats; qa-score sums them and
 * calls corpus(), which is BLEU().corpus_score() on the whole: not the mean
 * of sentence BLEUs.  See qa-bleu(7).
 *
 * Options: tokenize (13a, none, char, intl, zh; default 13a), lowercase, smooth_method
 * (exp, floor, add-k, none), smooth_value, effective_order, max_ngram_order.
 * The tokenizers are tokenize.h's; words and n-grams are ngram.h's ids.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qa/plugin.h>

QA_PLUGIN_HOST;

#include "ngram.h"
#include "tokenize.h"

enum tok { TOK_13A, TOK_NONE, TOK_CHAR, TOK_INTL, TOK_ZH };
enum smooth { SM_EXP, SM_FLOOR, SM_ADDK, SM_NONE };

#define MAXN 8

struct state {
	enum tok tok;
	enum smooth smooth;
	double smooth_value;
	int lowercase, effective_order, order;
	struct ng ng;
	struct memo *prec_memo, *bp_memo;	/* details_of's */
	double *logs;	/* compute()'s, LOGMEMO x LOGMEMO */
	/* The last record's details.stats as numbers, for the stats() callback. */
	const char *snames[2 + 2 * MAXN];
	double svals[2 + 2 * MAXN];
	size_t ns;
};

static void small_init(void);

static const char *const own_keys[] = { "tokenize", "lowercase", "smooth_method", "smooth_value",
	"effective_order", "max_ngram_order", NULL };

static int init(const qa_json *o, void **state, char **err)
{
	struct state *s = H->alloc(sizeof *s);
	memset(s, 0, sizeof *s);
	*state = s;
	s->effective_order = 1;
	s->order = 4;
	punct_init();
	small_init();
	for (size_t i = 0; i < H->count(o, ""); i++) {
		const char *k = H->key(o, "", i);
		size_t j = 0;
		while (own_keys[j] && strcmp(own_keys[j], k) != 0)
			j++;
		if (!own_keys[j]) {
			*err = H->format("unknown option '%s' (tokenize, lowercase, smooth_method, "
			    "smooth_value, effective_order, max_ngram_order)", k);
			return -1;
		}
	}
	const char *v;
	if ((v = H->string(o, "tokenize", NULL))) {
		if (strcmp(v, "13a") == 0)
			s->tok = TOK_13A;
		else if (strcmp(v, "none") == 0)
			s->tok = TOK_NONE;
		else if (strcmp(v, "char") == 0)
			s->tok = TOK_CHAR;
		else if (strcmp(v, "intl") == 0)
			s->tok = TOK_INTL;
		else if (strcmp(v, "zh") == 0)
			s->tok = TOK_ZH;
		else {
			*err = H->format("tokenize: '%s' is not one of 13a, none, char, intl, zh", v);
			return -1;
		}
	} else if (H->type(o, "tokenize") != QA_ABSENT) {
		*err = H->format("tokenize: a string");
		return -1;
	}
	s->smooth_value = NAN;
	if ((v = H->string(o, "smooth_method", NULL))) {
		if (strcmp(v, "exp") == 0)
			s->smooth = SM_EXP;
		else if (strcmp(v, "floor") == 0)
			s->smooth = SM_FLOOR, s->smooth_value = 0.1;
		else if (strcmp(v, "add-k") == 0)
			s->smooth = SM_ADDK, s->smooth_value = 1;
		else if (strcmp(v, "none") == 0)
			s->smooth = SM_NONE;
		else {
			*err = H->format("smooth_method: '%s' is not one of exp, floor, add-k, none", v);
			return -1;
		}
	}
	double d;
	if (H->type(o, "smooth_value") == QA_NUMBER) {
		H->number(o, "smooth_value", &d);
		if (!(d >= 0)) {
			*err = H->format("smooth_value: a number >= 0");
			return -1;
		}
		if (s->smooth == SM_FLOOR || s->smooth == SM_ADDK)
			s->smooth_value = d;
	} else if (H->type(o, "smooth_value") != QA_ABSENT && H->type(o, "smooth_value") != QA_NULL) {
		*err = H->format("smooth_value: a number");
		return -1;
	}
	int b;
	if ((b = H->boolean(o, "lowercase")) >= 0)
		s->lowercase = b;
	else if (H->type(o, "lowercase") != QA_ABSENT) {
		*err = H->format("lowercase: true or false");
		return -1;
	}
	if ((b = H->boolean(o, "effective_order")) >= 0)
		s->effective_order = b;
	else if (H->type(o, "effective_order") != QA_ABSENT) {
		*err = H->format("effective_order: true or false");
		return -1;
	}
	if (H->type(o, "max_ngram_order") != QA_ABSENT) {
		if (H->number(o, "max_ngram_order", &d) < 0 || d != floor(d) || d < 1 || d > MAXN) {
			*err = H->format("max_ngram_order: an integer from 1 to %d", MAXN);
			return -1;
		}
		s->order = (int)d;
	}
	return 0;
}

static void fini(void *st)
{
	struct state *s = st;
	ng_free(&s->ng);
	H->free(s->prec_memo);
	H->free(s->bp_memo);
	H->free(s->logs);
	H->free(s);
}

/*
 * One segment as sacreBLEU prepares it: lower-cased if asked, rstrip()ped,
 * tokenized, split on Python whitespace; its unit ids (the record's
 * scratch) and their number in *nids.  Text with nothing for the
 * tokenizer to do (most of it, without punctuation) is split where it is.
 */
static uint32_t *segment(struct state *s, const char *in, size_t n, size_t *nids)
{
	const char *t = in;
	size_t tn = n, pos = 0, w;
	struct ng *g = &s->ng;
	if (s->lowercase)
		t = H->lower(t, tn, &tn);
	if (s->tok == TOK_13A || s->tok == TOK_NONE) {
		uint32_t *ids = ng_alloc(g, (tn + 1 + SPLIT_SLACK) * sizeof *ids);
		long k = split_fast(g, s->tok == TOK_13A ? cls13a : clsnone, t, tn, ids);
		if (k >= 0) {
			*nids = (size_t)k;
			return ids;
		}
	}
	int is_ascii = ascii(t, tn);
	/* rstrip(): the end of the last word. */
	size_t end = 0;
	if (is_ascii) {
		end = tn;
		while (end > 0 && ascii_space((unsigned char)t[end - 1]))
			end--;
	} else {
		for (const char *p; (p = H->word(t, tn, &pos, &w));)
			end = (size_t)(p - t) + w;
	}
	tn = end;
	if (s->tok == TOK_13A)
		t = tok13a(g, t, tn, &tn);
	else if (s->tok == TOK_INTL)
		t = tok_intl(g, t, tn, &tn);
	else if (s->tok == TOK_ZH)
		t = tok_zh(g, t, tn, &tn);
	uint32_t *ids = ng_alloc(g, (tn + 1) * sizeof *ids);
	size_t k = 0;
	pos = 0;
	for (const char *p; (p = next_word(t, tn, &pos, &w, is_ascii));) {
		if (s->tok != TOK_CHAR) {
			ids[k++] = ng_unit(g, p, w);
			continue;
		}
		for (size_t i = 0; i < w;) {
			size_t c = utf8_len((unsigned char)p[i]);
			if (i + c > w)
				c = w - i;
			ids[k++] = ng_unit(g, p + i, c);
			i += c;
		}
	}
	*nids = k;
	return ids;
}

struct bstats {
	double sys_len, ref_len, correct[MAXN], total[MAXN];
};

/* BLEU.compute_bleu() of sacreBLEU, on copies of the counts (add-k changes them). */
#define LOGMEMO 64

/* logs: log(100 c / t) by c * LOGMEMO + t, 0 until first use, or NULL. */
static double compute(const struct state *s, const struct bstats *st, int effective, double *prec, double *bp_out,
    double *logs)
{
	double correct[MAXN], total[MAXN];
	memcpy(correct, st->correct, sizeof correct);
	memcpy(total, st->total, sizeof total);
	double smooth_mteval = 1;
	int eff = s->order;
	for (int i = 0; i < s->order; i++)
		prec[i] = 0;
	double bp = 1.0;
	if (st->sys_len < st->ref_len)
		bp = st->sys_len > 0 ? exp(1 - st->ref_len / st->sys_len) : 0.0;
	*bp_out = bp;
	/* sacreBLEU's early stop (its #141): no match of any order is 0, whatever the smoothing. */
	int any = 0;
	for (int i = 0; i < s->order; i++)
		any |= correct[i] != 0;
	if (!any)
		return 0;
	for (int n = 1; n <= s->order; n++) {
		if (s->smooth == SM_ADDK && n > 1) {
			correct[n - 1] += s->smooth_value;
			total[n - 1] += s->smooth_value;
		}
		if (total[n - 1] == 0)
			break;
		if (effective)
			eff = n;
		if (correct[n - 1] == 0) {
			if (s->smooth == SM_EXP) {
				smooth_mteval *= 2;
				prec[n - 1] = 100. / (smooth_mteval * total[n - 1]);
			} else if (s->smooth == SM_FLOOR) {
				prec[n - 1] = 100. * s->smooth_value / total[n - 1];
			}
		} else {
			prec[n - 1] = 100. * correct[n - 1] / total[n - 1];
		}
	}
	double sum = 0;
	for (int i = 0; i < eff; i++) {
		double c = correct[i], t = total[i];
		if (prec[i] == 0.0)
			sum += -9999999999.0;
		else if (logs && c < LOGMEMO && t < LOGMEMO && c == (int)c && t == (int)t && prec[i] == 100. * c / t) {
			/* A sentence's few small counts repeat: their logs are looked up, and are log()'s. */
			double *l = &logs[(int)c * LOGMEMO + (int)t];
			if (*l == 0)
				*l = log(prec[i]);
			sum += *l;
		} else
			sum += log(prec[i]);
	}
	return bp * exp(sum / eff);
}

static const char *const stat_names[] = { "sys_len", "ref_len", "c1", "c2", "c3", "c4", "c5", "c6",
	"c7", "c8", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8" };

/* The digits of 0..999 and how many, made once: most counts are small. */
static struct {
	char d[3];
	unsigned char n;
} small_int[1000];

static void small_init(void)
{
	for (int i = 0; i < 1000; i++) {
		char t[8];
		int n = snprintf(t, sizeof t, "%d", i);
		memcpy(small_int[i].d, t, 3);
		small_int[i].n = (unsigned char)n;
	}
}

/*
 * A whole number's digits at p; returns the end.  Counts are whole: faster
 * than printf's %g.  A small one is four bytes copied whatever its length
 * (what follows overwrites the rest; p has room), so no branch on it.
 */
static inline char *put_int(char *p, double v)
{
	if (v >= 0 && v < 1000) {
		memcpy(p, &small_int[(int)v], 4);
		return p + small_int[(int)v].n;
	}
	char tmp[24];
	unsigned long long u = v < 0 ? (unsigned long long)-v : (unsigned long long)v;
	int k = 0;
	if (v < 0)
		*p++ = '-';
	do
		tmp[k++] = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	while (k > 0)
		*p++ = tmp[--k];
	return p;
}

/* A string literal at p; returns the end (its length is known when compiling). */
#define PUT_LIT(p, lit) (memcpy(p, lit, sizeof lit - 1), (p) + sizeof lit - 1)

/*
 * %.17g of a double, memoized by the small whole numbers it was computed
 * from (a precision from its counts, bp from the lengths): printf of a
 * double was the largest cost of a record, and short segments repeat the
 * same few hundred values.  The text is the same as printf's, it is
 * printf's.
 */
#define MEMO 64
struct memo {
	char txt[MEMO][MEMO][32];	/* the text, its length in the last byte; "" until first use */
};

static char *put_g(char *p, double v)
{
	return p + snprintf(p, 32, "%.17g", v);
}

/* p has room for 32 bytes: the text is copied whole, its length is what counts. */
static char *put_memo(char *p, struct memo *m, double a, double b, double v)
{
	if (!m || !(a >= 0 && a < MEMO && b >= 0 && b < MEMO))
		return put_g(p, v);
	char *t = m->txt[(int)a][(int)b];
	if (!t[0])
		t[31] = (char)snprintf(t, 31, "%.17g", v);
	memcpy(p, t, 32);
	return p + t[31];
}

static void details_of(struct state *s, const struct bstats *st, const double *prec, double bp,
    struct qa_text *d, int with_stats)
{
	char buf[1024], *p = buf;	/* at most 8 orders: a few hundred bytes */
	p = PUT_LIT(p, "{\"counts\":[");
	for (int i = 0; i < s->order; i++) {
		if (i)
			*p++ = ',';
		p = put_int(p, st->correct[i]);
	}
	p = PUT_LIT(p, "],\"totals\":[");
	for (int i = 0; i < s->order; i++) {
		if (i)
			*p++ = ',';
		p = put_int(p, st->total[i]);
	}
	p = PUT_LIT(p, "],\"precisions\":[");
	for (int i = 0; i < s->order; i++) {
		if (i)
			*p++ = ',';
		if (prec[i] == (double)(long long)prec[i])
			p = put_int(p, prec[i]);
		else if (prec[i] == 100. * st->correct[i] / st->total[i])
			p = put_memo(p, s->prec_memo, st->correct[i], st->total[i], prec[i]);
		else
			p = put_g(p, prec[i]);	/* smoothed */
	}
	p = PUT_LIT(p, "],\"bp\":");
	if (bp == 1)
		*p++ = '1';
	else if (with_stats && st->sys_len > 0 && st->sys_len < st->ref_len)	/* compute()'s exp(1 - r / c) */
		p = put_memo(p, s->bp_memo, st->sys_len, st->ref_len, bp);
	else
		p = put_g(p, bp);
	p = PUT_LIT(p, ",\"sys_len\":");
	p = put_int(p, st->sys_len);
	p = PUT_LIT(p, ",\"ref_len\":");
	p = put_int(p, st->ref_len);
	if (with_stats) {
		p = PUT_LIT(p, ",\"stats\":{\"sys_len\":");
		p = put_int(p, st->sys_len);
		p = PUT_LIT(p, ",\"ref_len\":");
		p = put_int(p, st->ref_len);
		for (int i = 0; i < s->order; i++) {
			/* ,"cN": and ,"tN": as stat_names[] has them, six bytes each */
			char key[6] = { ',', '"', 'c', (char)('1' + i), '"', ':' };
			memcpy(p, key, 6);
			p = put_int(p + 6, st->correct[i]);
			key[2] = 't';
			memcpy(p, key, 6);
			p = put_int(p + 6, st->total[i]);
		}
		*p++ = '}';
	}
	*p++ = '}';
	H->text_add(d, buf, (size_t)(p - buf));
}

static int score(void *st_, const struct qa_input *in, struct qa_output *out)
{
	struct state *s = st_;
	if (!s->prec_memo) {
		s->prec_memo = H->alloc(sizeof *s->prec_memo);
		s->bp_memo = H->alloc(sizeof *s->bp_memo);
		memset(s->prec_memo, 0, sizeof *s->prec_memo);
		memset(s->bp_memo, 0, sizeof *s->bp_memo);
		s->logs = H->alloc(LOGMEMO * LOGMEMO * sizeof *s->logs);
		memset(s->logs, 0, LOGMEMO * LOGMEMO * sizeof *s->logs);
	}
	struct ng *g = &s->ng;
	ng_begin(g);
	struct bstats st;
	memset(&st, 0, sizeof st);
	size_t nh;
	uint32_t *hyp = segment(s, in->answer, in->answer_len, &nh);
	uint32_t *hg = ng_grams(g, hyp, nh, s->order);
	ng_freeze(g);	/* the references' grams only count where the hypothesis has them */
	st.sys_len = (double)nh;
	for (int n = 0; n < s->order; n++)
		st.total[n] = nh >= (size_t)n + 1 ? (double)(nh - (size_t)n) : 0;

	/* Empty references are dropped, as sacreBLEU does, unless all are empty; each is tokenized once. */
	size_t nonempty = 0, nref = 0;
	for (size_t r = 0; r < in->nrefs; r++)
		nonempty += in->ref_lens[r] > 0;
	uint32_t **rg = ng_alloc(g, (in->nrefs + 1) * sizeof *rg);
	size_t *rn = ng_alloc(g, (in->nrefs + 1) * sizeof *rn);
	double best_diff = INFINITY;
	for (size_t r = 0; r < in->nrefs; r++) {
		if (nonempty && in->ref_lens[r] == 0)
			continue;
		uint32_t *ids = segment(s, in->refs[r], in->ref_lens[r], &rn[nref]);
		rg[nref] = ng_grams(g, ids, rn[nref], s->order);
		/* The closest reference length; on ties the shorter. */
		double len = (double)rn[nref], diff = fabs(st.sys_len - len);
		if (diff < best_diff || (diff == best_diff && len < st.ref_len)) {
			best_diff = diff;
			st.ref_len = len;
		}
		nref++;
	}
	/*
	 * Clipped counts per order: each hypothesis n-gram at most as often as
	 * in the reference that has it most.  With one reference that is the
	 * plain clipped match count.
	 */
	ng_counts(g);
	for (int n = 1; n <= s->order; n++) {
		size_t off = (size_t)(n - 1) * nh, m = nh >= (size_t)n ? nh - (size_t)n + 1 : 0;
		ng_hyp(g, hg + off, m);
		uint64_t c = 0;
		for (size_t r = 0; r < nref; r++) {
			size_t rm = rn[r] >= (size_t)n ? rn[r] - (size_t)n + 1 : 0;
			const uint32_t *gr = rg[r] + (size_t)(n - 1) * rn[r];
			c = nref == 1 ? ng_match_spend(g, gr, rm) : ng_match(g, gr, rm, 1);
		}
		if (nref > 1)
			c = ng_clip_best(g, hg + off, m);
		st.correct[n - 1] = (double)c;
	}

	s->ns = 0;
	s->snames[s->ns] = stat_names[0], s->svals[s->ns++] = st.sys_len;
	s->snames[s->ns] = stat_names[1], s->svals[s->ns++] = st.ref_len;
	for (int i = 0; i < s->order; i++) {
		s->snames[s->ns] = stat_names[2 + i], s->svals[s->ns++] = st.correct[i];
		s->snames[s->ns] = stat_names[10 + i], s->svals[s->ns++] = st.total[i];
	}
	double prec[MAXN], bp;
	out->score = compute(s, &st, s->effective_order, prec, &bp, s->logs);
	struct qa_text d = { 0 };
	details_of(s, &st, prec, bp, &d, 1);
	out->details = d.p;
	return 0;
}

/* What the last score() put in details.stats, in the same order. */
static size_t stats(void *st_, const char *const **names, const double **values)
{
	struct state *s = st_;
	*names = s->snames;
	*values = s->svals;
	return s->ns;
}

static int corpus(void *st_, const char *const *names, const double *sums, size_t n, double *score_out,
    char **details)
{
	struct state *s = st_;
	struct bstats st;
	memset(&st, 0, sizeof st);
	for (size_t i = 0; i < n; i++) {
		double *slot = NULL;
		if (strcmp(names[i], "sys_len") == 0)
			slot = &st.sys_len;
		else if (strcmp(names[i], "ref_len") == 0)
			slot = &st.ref_len;
		else if ((names[i][0] == 'c' || names[i][0] == 't') && names[i][1] >= '1' &&
		    names[i][1] <= '0' + MAXN && !names[i][2])
			slot = (names[i][0] == 'c' ? st.correct : st.total) + (names[i][1] - '1');
		if (slot)
			*slot = sums[i];
	}
	double prec[MAXN], bp;
	/* corpus_score(): sacreBLEU's BLEU() default, no effective order. */
	*score_out = compute(s, &st, 0, prec, &bp, NULL);
	struct qa_text d = { 0 };
	details_of(s, &st, prec, bp, &d, 0);
	*details = d.p;
	return 0;
}

static const struct qa_scorer_ops ops = {
	QA_OPS(qa_scorer_ops),
	.init = init,
	.score = score,
	.fini = fini,
	.corpus = corpus,
	.stats = stats,
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "bleu", "1.0",
	    "sacreBLEU 2.x BLEU, 0-100: sentence per record, corpus in the summary"),
	.flags = QA_NEEDS_ANSWER | QA_NEEDS_REFERENCE | QA_DETAILS_VALID,
	.scorer = &ops,
};

QA_PLUGIN_EXPORT(&plugin)
