/*
 * exact_match: lm-evaluation-harness's exact_match.  Both sides go through
 * the same normaliser (regexes_to_ignore, ignore_case, ignore_punctuation,
 * ignore_numbers, plus normalize=nfkc and strip), then must be equal; the
 * best reference wins.
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

static int score(void *state, const struct qa_input *in, struct qa_output *out)
{
	size_t alen;
	const char *a = H->norm_apply(state, in->answer, in->answer_len, &alen);
	for (size_t i = 0; i < in->nrefs && out->score < 1; i++) {
		size_t rlen;
		const char *r = H->norm_apply(state, in->refs[i], in->ref_lens[i], &rlen);
		if (alen == rlen && memcmp(a, r, alen) == 0)
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
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "exact_match", "1.0",
	    "answer equals a reference, after lm-eval's normalisation options"),
	.flags = QA_NEEDS_ANSWER | QA_NEEDS_REFERENCE,
	.scorer = &ops,
};

QA_PLUGIN_EXPORT(&plugin)
