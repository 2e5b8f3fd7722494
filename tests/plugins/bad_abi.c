/* A plugin built against an ABI this qa does not speak: the host must refuse it. */
#include <qa/plugin.h>

static int score(void *st, const struct qa_input *in, struct qa_output *out)
{
	(void)st, (void)in, (void)out;
	return 0;
}

static const struct qa_scorer_ops ops = { QA_OPS(qa_scorer_ops), .score = score };

static const struct qa_plugin plugin = {
	.abi = 99, .size = sizeof(struct qa_plugin), .kind = QA_KIND_SCORER,
	.name = "bad_abi", .version = "0", .summary = "wrong ABI", .scorer = &ops,
};

QA_PLUGIN_HOST;
QA_PLUGIN_EXPORT(&plugin)
