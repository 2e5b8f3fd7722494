/*
 * numeric: GSM8K-style numeric answers, as lm-eval's gsm8k task scores
 * them.  extract=strict takes the first "#### N"; extract=flexible (the
 * default) takes the last number-like run.  Both sides are then
 * normalised as gsm8k.yaml does (ignore_case; remove ",", "$", everything
 * up to "#### ", a final ".") and compared as strings, or as numbers
 * within tolerance= when one is given.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <qa/plugin.h>

QA_PLUGIN_HOST;

static const char strict_re[] = "#### (\\-?[0-9\\.\\,]+)";
static const char flexible_re[] = "(-?[$0-9.,]{2,})|(-?[0-9]+)";
static const char gsm8k_norm[] =
    "{\"ignore_case\":true,\"regexes_to_ignore\":[\",\",\"\\\\$\",\"(?s).*#### \",\"\\\\.$\"]}";

struct state {
	qa_regex *re;
	qa_norm *norm;
	long select;
	int strict;
	double tolerance;	/* < 0: compare the strings, as lm-eval does */
};

static void fini(void *st)
{
	struct state *s = st;
	if (!s)
		return;
	if (s->re)
		H->regex_free(s->re);
	if (s->norm)
		H->norm_free(s->norm);
	H->free(s);
}

static int has_norm_option(const qa_json *opts)
{
	static const char *const keys[] = { "ignore_case", "ignore_numbers", "ignore_punctuation",
		"normalize", "regexes_to_ignore", "strip" };
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		if (H->type(opts, keys[i]) != QA_ABSENT)
			return 1;
	return 0;
}

static int init(const qa_json *opts, void **state, char **err)
{
	static const char *const own[] = { "extract", "tolerance", NULL };
	struct state *s = H->alloc(sizeof *s);
	memset(s, 0, sizeof *s);
	s->tolerance = -1;
	*state = s;

	const char *mode = H->string(opts, "extract", NULL), *e;
	if (!mode || strcmp(mode, "flexible") == 0) {
		s->select = -1;
	} else if (strcmp(mode, "strict") == 0) {
		s->strict = 1;
	} else {
		*err = H->format("extract must be strict or flexible");
		return -1;
	}
	if (H->type(opts, "tolerance") != QA_ABSENT &&
	    (H->number(opts, "tolerance", &s->tolerance) < 0 || s->tolerance < 0)) {
		*err = H->format("tolerance must be a number >= 0");
		return -1;
	}
	s->re = H->regex_new(s->strict ? strict_re : flexible_re, &e);
	/* Checks every key, then gives way to gsm8k's normalisation unless you chose your own. */
	if (!(s->norm = H->norm_new(opts, own, &e))) {
		*err = H->format("%s", e);
		return -1;
	}
	if (!has_norm_option(opts)) {
		H->norm_free(s->norm);
		s->norm = H->norm_new(H->parse(gsm8k_norm, strlen(gsm8k_norm), &e), NULL, &e);
	}
	return 0;
}

/* The whole string as a number, or NAN. */
static double number(const char *s, size_t n)
{
	char buf[64], *end;
	if (n == 0 || n >= sizeof buf)
		return NAN;
	memcpy(buf, s, n);
	buf[n] = '\0';
	double v = strtod(buf, &end);
	return *end ? NAN : v;
}

static int score(void *st, const struct qa_input *in, struct qa_output *out)
{
	struct state *s = st;
	size_t xlen;
	const char *x = H->regex_pick(s->re, in->answer, in->answer_len, s->select, &xlen);
	const char *mode = s->strict ? "strict" : "flexible";
	if (!x) {
		out->invalid = 1;
		out->details = H->format("{\"extracted\":\"[invalid]\",\"extract\":\"%s\"}", mode);
		return 0;
	}
	out->details = H->format("{\"extracted\":%s,\"extract\":\"%s\"}", H->quote(x, xlen), mode);
	size_t alen;
	const char *a = H->norm_apply(s->norm, x, xlen, &alen);
	double av = s->tolerance >= 0 ? number(a, alen) : NAN;
	for (size_t i = 0; i < in->nrefs && out->score < 1; i++) {
		size_t rlen;
		const char *r = H->norm_apply(s->norm, in->refs[i], in->ref_lens[i], &rlen);
		double rv = s->tolerance >= 0 ? number(r, rlen) : NAN;
		if (!isnan(av) && !isnan(rv))
			out->score = fabs(av - rv) <= s->tolerance;
		else
			out->score = alen == rlen && memcmp(a, r, alen) == 0;
	}
	return 0;
}

static const struct qa_scorer_ops ops = {
	QA_OPS(qa_scorer_ops),
	.init = init,
	.score = score,
	.fini = fini,
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "numeric", "1.0",
	    "GSM8K strict-match or flexible-extract as lm-eval does them, or within a tolerance"),
	.flags = QA_NEEDS_ANSWER | QA_NEEDS_REFERENCE,
	.scorer = &ops,
};

QA_PLUGIN_EXPORT(&plugin)
