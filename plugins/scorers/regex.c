/*
 * regex: extracts the answer with a pattern, as lm-eval's regex filter
 * does (re.findall, the match numbered group_select, the first non-empty
 * group, strip), then compares it with the references through the same
 * normaliser exact_match uses.  No match: the fallback, scored 0 and
 * listed as invalid.
 */
#include <string.h>

#include <qa/plugin.h>

QA_PLUGIN_HOST;

struct state {
	qa_regex *re;
	qa_norm *norm;
	long select;
	char *fallback;
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
	H->free(s->fallback);
	H->free(s);
}

static int init(const qa_json *opts, void **state, char **err)
{
	static const char *const own[] = { "pattern", "group_select", "match", "fallback", NULL };
	struct state *s = H->alloc(sizeof *s);
	memset(s, 0, sizeof *s);
	*state = s;

	const char *pattern = H->string(opts, "pattern", NULL), *e;
	if (!pattern) {
		*err = H->format("needs a pattern (regex:pattern=...)");
		return -1;
	}
	if (!(s->re = H->regex_new(pattern, &e))) {
		*err = H->format("pattern: %s", e);
		return -1;
	}
	double sel = 0;
	const char *match = H->string(opts, "match", NULL);
	if (match && strcmp(match, "first") == 0)
		sel = 0;
	else if (match && strcmp(match, "last") == 0)
		sel = -1;
	else if (match || (H->type(opts, "group_select") != QA_ABSENT &&
	    (H->number(opts, "group_select", &sel) < 0 || sel != (long)sel))) {
		*err = H->format("group_select must be a whole number, match first or last");
		return -1;
	}
	s->select = (long)sel;
	size_t flen = 9;
	const char *fb = H->string(opts, "fallback", &flen);
	if (!fb)
		fb = "[invalid]", flen = 9;
	s->fallback = H->alloc(flen + 1);
	memcpy(s->fallback, fb, flen + 1);
	if (!(s->norm = H->norm_new(opts, own, &e))) {
		*err = H->format("%s", e);
		return -1;
	}
	return 0;
}

static int score(void *st, const struct qa_input *in, struct qa_output *out)
{
	struct state *s = st;
	size_t xlen;
	const char *x = H->regex_pick(s->re, in->answer, in->answer_len, s->select, &xlen);
	if (!x) {
		out->invalid = 1;
		out->details = H->format("{\"extracted\":%s}", H->quote(s->fallback, strlen(s->fallback)));
		return 0;
	}
	out->details = H->format("{\"extracted\":%s}", H->quote(x, xlen));
	size_t alen;
	const char *a = H->norm_apply(s->norm, x, xlen, &alen);
	for (size_t i = 0; i < in->nrefs && out->score < 1; i++) {
		size_t rlen;
		const char *r = H->norm_apply(s->norm, in->refs[i], in->ref_lens[i], &rlen);
		if (alen == rlen && memcmp(a, r, alen) == 0)
			out->score = 1;
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
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "regex", "1.0",
	    "extract with a pattern (lm-eval's regex filter), then compare as exact_match"),
	.flags = QA_NEEDS_ANSWER,
	.scorer = &ops,
};

QA_PLUGIN_EXPORT(&plugin)
