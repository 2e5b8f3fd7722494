/*
 * contains: a reference appears somewhere in the answer (the source
 * article's second metric).  The normaliser's options apply to both sides,
 * so contains:ignore_case=true is the usual case-blind check.
 */
#include <string.h>

#include <qa/plugin.h>

QA_PLUGIN_HOST;

static int init(const qa_json *opts, void **state, char **err)
{
	const char *e;
	qa_norm *n = H->norm_new(opts, NULL, &e);
	if (!n) {
		*err = H->format("%s", e);
		return -1;
	}
	*state = n;
	return 0;
}

/* memmem, without asking for _GNU_SOURCE from plugin authors who copy this. */
static int has(const char *hay, size_t hn, const char *needle, size_t nn)
{
	if (nn == 0)
		return 0;	/* an empty reference is in everything, which says nothing */
	for (size_t i = 0; i + nn <= hn; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, nn) == 0)
			return 1;
	return 0;
}

static int score(void *state, const struct qa_input *in, struct qa_output *out)
{
	size_t alen;
	const char *a = H->norm_apply(state, in->answer, in->answer_len, &alen);
	for (size_t i = 0; i < in->nrefs && out->score < 1; i++) {
		size_t rlen;
		const char *r = H->norm_apply(state, in->refs[i], in->ref_lens[i], &rlen);
		if (has(a, alen, r, rlen))
			out->score = 1;
	}
	return 0;
}

static void fini(void *state)
{
	H->norm_free(state);
}

static const struct qa_scorer_ops ops = {
	QA_OPS(qa_scorer_ops),
	.init = init,
	.score = score,
	.fini = fini,
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "contains", "1.0",
	    "a reference occurs in the answer (same normalisation options as exact_match)"),
	.flags = QA_NEEDS_ANSWER | QA_NEEDS_REFERENCE,
	.scorer = &ops,
};

QA_PLUGIN_EXPORT(&plugin)
