/* A scorer whose init refuses its options, to test the message and exit 2. */
#include <qa/plugin.h>

QA_PLUGIN_HOST;

static int init(const qa_json *opts, void **state, char **err)
{
	(void)opts, (void)state;
	*err = H->format("cannot start: the moon is in the wrong phase");
	return -1;
}

static int score(void *st, const struct qa_input *in, struct qa_output *out)
{
	(void)st, (void)in, (void)out;
	return 0;
}

static const struct qa_scorer_ops ops = {
	QA_OPS(qa_scorer_ops),
	.init = init,
	.score = score,
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "init_fails", "0", "always fails init"),
	.scorer = &ops,
};

QA_PLUGIN_EXPORT(&plugin)
