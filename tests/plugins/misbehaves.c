/* A scorer that returns an error on "fail", bad details on "junk", else 0.5. */
#include <string.h>

#include <qa/plugin.h>

QA_PLUGIN_HOST;

static int score(void *st, const struct qa_input *in, struct qa_output *out)
{
	(void)st;
	if (in->answer_len == 4 && memcmp(in->answer, "fail", 4) == 0) {
		out->error = H->format("refused: %s", "fail");
		return -1;
	}
	if (in->answer_len == 4 && memcmp(in->answer, "junk", 4) == 0)
		out->details = H->format("{not json");
	out->score = 0.5;
	return 0;
}

static const struct qa_scorer_ops ops = {
	QA_OPS(qa_scorer_ops),
	.score = score,
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "misbehaves", "0", "fails on purpose"),
	.flags = QA_NEEDS_ANSWER,
	.scorer = &ops,
};

QA_PLUGIN_EXPORT(&plugin)
