/*
 * f1: classification.  Each record's label is its answer (through the
 * pattern, when one is given, then the normaliser's options and
 * str.strip()), the gold label its first reference, normalised the same
 * way; the record scores 1 when they are equal, else 0.  The F1s are corpus
 * figures: the record's details.stats is one cell of the confusion matrix,
 * and corpus() computes from the summed matrix what scikit-learn 1.2's
 * precision_recall_fscore_support (per class, macro, micro, weighted),
 * accuracy_score and confusion_matrix give, labels being the sorted union
 * of gold and predicted labels.  The corpus figure is macro F1.  See qa-f1(7).
 *
 * Options: zero_division ("warn" (as 0), 0 or 1), pattern (a regular
 * expression; the label is its first match, the first non-empty group if
 * it has groups; no match is the label "[invalid]"), and the normaliser's
 * (ignore_case, regexes_to_ignore, ...).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qa/plugin.h>

QA_PLUGIN_HOST;

#define SEP '\x1f'	/* between gold and predicted label in a stats name */

#define OTHER "[other]"	/* the class the labels past max_labels are counted as */

struct state {
	qa_norm *norm;
	qa_regex *pattern;
	double zd;
	size_t max_labels;
	int warned;
};

static const char *const own_keys[] = { "zero_division", "pattern", "max_labels", NULL };

static int init(const qa_json *o, void **state, char **err)
{
	struct state *s = H->alloc(sizeof *s);
	memset(s, 0, sizeof *s);
	*state = s;
	const char *e, *v;
	s->max_labels = 1000;
	if (H->type(o, "max_labels") != QA_ABSENT) {
		double d;
		if (H->number(o, "max_labels", &d) < 0 || d != (double)(long)d || d < 2 || d > 100000) {
			*err = H->format("max_labels: an integer from 2 to 100000");
			return -1;
		}
		s->max_labels = (size_t)d;
	}
	if ((v = H->string(o, "zero_division", NULL))) {
		if (strcmp(v, "warn") != 0) {
			*err = H->format("zero_division: \"warn\", 0 or 1");
			return -1;
		}
	} else if (H->type(o, "zero_division") != QA_ABSENT) {
		if (H->number(o, "zero_division", &s->zd) < 0 || (s->zd != 0 && s->zd != 1)) {
			*err = H->format("zero_division: \"warn\", 0 or 1");
			return -1;
		}
	}
	if ((v = H->string(o, "pattern", NULL))) {
		if (!(s->pattern = H->regex_new(v, &e))) {
			*err = H->format("pattern: %s", e);
			return -1;
		}
	} else if (H->type(o, "pattern") != QA_ABSENT) {
		*err = H->format("pattern: a string");
		return -1;
	}
	if (!(s->norm = H->norm_new(o, own_keys, &e))) {
		*err = H->format("%s", e);
		return -1;
	}
	return 0;
}

static void fini(void *st)
{
	struct state *s = st;
	if (s->norm)
		H->norm_free(s->norm);
	if (s->pattern)
		H->regex_free(s->pattern);
	H->free(s);
}

/* The label of an answer (through the pattern, when asked) or of a gold reference (as it is). */
static const char *label(const struct state *s, const char *in, size_t n, size_t *out, int *invalid, int answer)
{
	const char *t = in;
	if (answer && s->pattern && !(t = H->regex_pick(s->pattern, in, n, 0, &n))) {
		*invalid = 1;
		*out = strlen("[invalid]");
		return "[invalid]";
	}
	t = H->norm_apply(s->norm, t, n, &n);
	return H->strip(t, n, out);
}

static int score(void *st, const struct qa_input *in, struct qa_output *out)
{
	struct state *s = st;
	size_t pn, gn;
	int bad = 0, unused = 0;
	const char *p = label(s, in->answer, in->answer_len, &pn, &bad, 1);
	const char *g = label(s, in->refs[0], in->ref_lens[0], &gn, &unused, 0);
	if (memchr(p, SEP, pn) || memchr(g, SEP, gn) || memchr(p, 0, pn) || memchr(g, 0, gn)) {
		out->error = H->format("a label holds U+001F or U+0000");
		return -1;
	}
	out->score = pn == gn && memcmp(p, g, pn) == 0;
	out->invalid = bad;
	char *cell = H->alloc(pn + gn + 2);
	memcpy(cell, g, gn);
	cell[gn] = SEP;
	memcpy(cell + gn + 1, p, pn);
	struct qa_text d = { 0 };
	H->text_add(&d, "{\"label\":", 9);
	H->text_json(&d, p, pn);
	H->text_add(&d, ",\"gold\":", 8);
	H->text_json(&d, g, gn);
	H->text_add(&d, ",\"stats\":{", 10);
	H->text_json(&d, cell, pn + gn + 1);
	H->text_add(&d, ":1}}", 4);
	H->free(cell);
	out->details = d.p;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t find(char **labels, size_t n, const char *l)
{
	char **hit = bsearch(&l, labels, n, sizeof *labels, cmp);
	return (size_t)(hit - labels);
}

static double divide(double num, double den, double zd)
{
	return den == 0 ? zd : num / den;
}

static double f1_of(double p, double r)
{
	double den = p + r;
	return 2 * p * r / (den == 0 ? 1 : den);
}

static void prf(struct qa_text *d, const char *name, double p, double r, double f)
{
	H->text_printf(d, ",\"%s\":{\"precision\":%.17g,\"recall\":%.17g,\"f1\":%.17g}", name, p, r, f);
}

/* A label's index and how often it occurs; sorted most first, ties in label order. */
struct occ {
	double n;
	size_t i;
};

static int by_occ(const void *a, const void *b)
{
	const struct occ *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * The size guard: past max_labels distinct labels (a free-text label per
 * record would make an N x N matrix), the max_labels - 1 that occur most
 * are kept and the rest counted as one class OTHER, with a warning once.
 * Rewrites labels, *nl and the cells' indices; returns the number of
 * distinct labels there were, 0 when nothing was merged.
 */
static size_t merge_rare(struct state *s, char **labels, size_t *nl, size_t *gi, size_t *pi, const double *sums,
    size_t n)
{
	size_t was = *nl, keep = s->max_labels - 1;
	if (was <= s->max_labels)
		return 0;
	struct occ *occ = H->alloc(was * sizeof *occ);
	size_t *map = H->alloc(was * sizeof *map);
	char **out = H->alloc((keep + 2) * sizeof *out);
	for (size_t i = 0; i < was; i++)
		occ[i] = (struct occ){ 0, i }, map[i] = (size_t)-1;
	for (size_t i = 0; i < n; i++)
		if (gi[i] != (size_t)-1)
			occ[gi[i]].n += sums[i], occ[pi[i]].n += sums[i];
	qsort(occ, was, sizeof *occ, by_occ);
	for (size_t i = 0; i < keep; i++)
		map[occ[i].i] = 0;
	/* The kept labels in their order, OTHER where it sorts (unless a kept label is called that). */
	size_t k = 0, other = (size_t)-1;
	for (size_t i = 0; i < was; i++) {
		int is_other = strcmp(labels[i], OTHER) == 0;
		if (map[i] == (size_t)-1 && !is_other) {
			H->free(labels[i]);
			continue;
		}
		if (other == (size_t)-1 && strcmp(labels[i], OTHER) >= 0) {
			other = k;
			if (!is_other)
				out[k++] = H->format("%s", OTHER);
		}
		map[i] = k;
		out[k++] = labels[i];
	}
	if (other == (size_t)-1)
		other = k, out[k++] = H->format("%s", OTHER);
	memcpy(labels, out, k * sizeof *out);
	H->free(out);
	for (size_t i = 0; i < was; i++)
		if (map[i] == (size_t)-1)
			map[i] = other;
	for (size_t i = 0; i < n; i++)
		if (gi[i] != (size_t)-1)
			gi[i] = map[gi[i]], pi[i] = map[pi[i]];
	if (!s->warned++)
		H->log("f1: %zu distinct labels, more than max_labels %zu: all but the %zu most frequent are "
		    "counted as one class \"%s\"", was, s->max_labels, keep, OTHER);
	*nl = k;
	H->free(occ);
	H->free(map);
	return was;
}

static int corpus(void *st, const char *const *names, const double *sums, size_t n, double *score_out,
    char **details)
{
	struct state *s = st;
	if (!n)
		return -1;
	/* The labels: the sorted, distinct union of both sides. */
	char **labels = H->alloc(2 * n * sizeof *labels);
	size_t nl = 0;
	for (size_t i = 0; i < n; i++) {
		const char *sep = strchr(names[i], SEP);
		if (!sep)
			continue;
		labels[nl++] = H->format("%.*s", (int)(sep - names[i]), names[i]);
		labels[nl++] = H->format("%s", sep + 1);
	}
	qsort(labels, nl, sizeof *labels, cmp);
	size_t k = 0;
	for (size_t i = 0; i < nl; i++) {
		if (k && strcmp(labels[k - 1], labels[i]) == 0)
			H->free(labels[i]);
		else
			labels[k++] = labels[i];
	}
	nl = k;
	/* Each cell's gold and predicted label as indices; the right answers counted before any merging. */
	size_t *gi = H->alloc((2 * n + 1) * sizeof *gi), *pi = gi + n;
	double tp_exact = 0;
	for (size_t i = 0; i < n; i++) {
		const char *sep = strchr(names[i], SEP);
		gi[i] = pi[i] = (size_t)-1;
		if (!sep)
			continue;
		char *g = H->format("%.*s", (int)(sep - names[i]), names[i]);
		gi[i] = find(labels, nl, g);
		pi[i] = find(labels, nl, sep + 1);
		tp_exact += gi[i] == pi[i] ? sums[i] : 0;
		H->free(g);
	}
	size_t capped = merge_rare(s, labels, &nl, gi, pi, sums, n);
	double *cm = H->alloc(nl * nl * sizeof *cm);
	memset(cm, 0, nl * nl * sizeof *cm);
	for (size_t i = 0; i < n; i++)
		if (gi[i] != (size_t)-1)
			cm[gi[i] * nl + pi[i]] += sums[i];
	H->free(gi);
	double tp_all = 0, total = 0, mp = 0, mr = 0, mf = 0, wp = 0, wr = 0, wf = 0;
	struct qa_text d = { 0 };
	H->text_add(&d, "{\"labels\":[", 11);
	for (size_t i = 0; i < nl; i++) {
		H->text_add(&d, i ? "," : "", i ? 1 : 0);
		H->text_json(&d, labels[i], strlen(labels[i]));
	}
	H->text_add(&d, "],\"per_class\":{", 15);
	for (size_t c = 0; c < nl; c++) {
		double tp = cm[c * nl + c], pred = 0, truth = 0;
		for (size_t o = 0; o < nl; o++) {
			pred += cm[o * nl + c];
			truth += cm[c * nl + o];
		}
		double p = divide(tp, pred, s->zd), r = divide(tp, truth, s->zd), f = f1_of(p, r);
		H->text_add(&d, c ? "," : "", c ? 1 : 0);
		H->text_json(&d, labels[c], strlen(labels[c]));
		H->text_printf(&d, ":{\"precision\":%.17g,\"recall\":%.17g,\"f1\":%.17g,\"support\":%.0f}",
		    p, r, f, truth);
		mp += p, mr += r, mf += f;
		wp += p * truth, wr += r * truth, wf += f * truth;
		tp_all += tp;
		total += truth;
	}
	H->text_add(&d, "}", 1);
	double macro_f = mf / (double)nl;
	prf(&d, "macro", mp / (double)nl, mr / (double)nl, macro_f);
	tp_all = tp_exact;	/* the same unless labels were merged: "[other]" vs "[other]" is no right answer */
	double up = divide(tp_all, total, s->zd), ur = divide(tp_all, total, s->zd);
	prf(&d, "micro", up, ur, f1_of(up, ur));
	if (total > 0)
		prf(&d, "weighted", wp / total, wr / total, wf / total);
	else
		prf(&d, "weighted", s->zd, s->zd, s->zd);
	H->text_printf(&d, ",\"accuracy\":%.17g,\"confusion\":[", total > 0 ? tp_all / total : 0);
	for (size_t g = 0; g < nl; g++) {
		H->text_add(&d, g ? ",[" : "[", g ? 2 : 1);
		for (size_t p = 0; p < nl; p++)
			H->text_printf(&d, "%s%.0f", p ? "," : "", cm[g * nl + p]);
		H->text_add(&d, "]", 1);
	}
	H->text_add(&d, "]", 1);
	if (capped)
		H->text_printf(&d, ",\"capped\":{\"max_labels\":%zu,\"distinct\":%zu,\"merged_into\":\"" OTHER "\"}",
		    s->max_labels, capped);
	H->text_add(&d, "}", 1);
	for (size_t i = 0; i < nl; i++)
		H->free(labels[i]);
	H->free(labels);
	H->free(cm);
	*score_out = macro_f;
	*details = d.p;
	return 0;
}

static const struct qa_scorer_ops ops = {
	QA_OPS(qa_scorer_ops),
	.init = init,
	.score = score,
	.fini = fini,
	.corpus = corpus,
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "f1", "1.0",
	    "classification: 1 when the label is right; per-class, macro, micro, weighted F1 in the summary"),
	.flags = QA_NEEDS_ANSWER | QA_NEEDS_REFERENCE,
	.scorer = &ops,
};

QA_PLUGIN_EXPORT(&plugin)
