/*
 * qa-score: appends scores to each record, or summarises them.
 *
 *	qa-send ... | qa-score --metric exact_match:ignore_case=true | ...
 */
#include "qa-score.h"

/* Every line of path through fn; output is flushed as it grows. */
static void each_line(struct run *r, const char *path, qa_line_fn *fn)
{
	lines_each(path, fn, r, &r->out);
}
static void list_one(const qa_loaded *p, const char *path, const char *err, void *arg)
{
	(void)arg;
	if (!p) {
		printf("%-20s %-8s %-8s %s\n%20s %s\n", "?", "broken", "-", path, "", err);
		return;
	}
	const struct qa_plugin *pl = p->plugin;
	printf("%-20s %-8s %-8s %s\n%20s %s\n", pl->name,
	    pl->kind == QA_KIND_SCORER ? "scorer" : "provider", pl->version ? pl->version : "-",
	    path, "", pl->summary ? pl->summary : "");
}

/* Everything back, so the sanitizers' leak check sees only real leaks. */
static void cleanup(struct run *r)
{
	metrics_free();
	summaries_free();
	free(r->cli);
	buf_free(&r->out);
	json_free(&r->j);
	json_free(&r->scratch);
	host_fini();
}

/* The command line (lib/opt.c). */
static struct score_opts {
	const char *answer, *format;	/* --answer, --format */
	int list, merge, summary;
	struct inst **cli;		/* --metric, in order */
	size_t ncli;
} O = { .answer = "response.text", .format = "json" };

/* --metric SPEC: an instance now, so a wrong name or option stops the run before any record. */
static void metric_opt(const char *arg)
{
	qa_buf spec = { 0 };
	spec_to_json(arg, &spec);
	struct inst *in = inst_get(spec.p, spec.len);
	buf_free(&spec);
	if (in->err)
		qa_die(QA_EXIT_USAGE, "--metric %s: %s", arg, in->err);
	for (size_t i = 0; i < O.ncli; i++)
		if (strcmp(O.cli[i]->key, in->key) == 0)
			qa_die(QA_EXIT_USAGE, "--metric %s: a score named %s is already asked for "
			    "(give this one \"as\": another name)", arg, in->key);
	O.cli = xreallocarray(O.cli, O.ncli + 1, sizeof *O.cli);
	O.cli[O.ncli++] = in;
}

static const struct qa_opt rows[] = {
	QA_ROW(QA_OPT_CALL, "metric", 'm', "SPEC", "scorer to apply: NAME, NAME:key=value,... or a JSON object\n"
	    "(repeatable; default: each record's metric/metrics)", NULL, .set = metric_opt),
	QA_ROW(QA_OPT_STRING, "answer", 'a', "PATH", "field holding the answer (default response.text)", &O.answer),
	QA_ROW(QA_OPT_FLAG, "summary", 's', NULL, "print n, mean, standard error, 95% CI, invalid rate and\n"
	    "errors per task and overall instead of the records", &O.summary),
	QA_ROW(QA_OPT_CHOICE, "format", 'f', "FMT", "summary format: json (default) or table", &O.format,
	    .choices = "json|table"),
	QA_ROW(QA_OPT_FLAG, "merge", 'M', NULL, "read --summary JSON lines (of shards) and print the\n"
	    "summary of the whole, as one run would have; a line\n"
	    "that cannot be (n < 0, a 0/1 mean above 1) is refused", &O.merge),
	QA_ROW(QA_OPT_FLAG, "list", 'l', NULL, "list the plugins on the search path and exit", &O.list),
	QA_END_HELP_VERSION,
};

static const struct qa_opts options = {
	.prog = "qa-score",
	.usage = "usage: qa-score [-s] [-a path] [-f json|table] [-m metric]... [file ...]\n"
	    "       qa-score --merge [-f json|table] [summary ...]\n"
	    "       qa-score --list\n",
	.opt = rows,
	.col = 22,
	.tail =
	    "Plugins are searched in $QA_PLUGIN_PATH, then the install directory, then\n"
	    "the build tree.  Exit status: 0 all scored, 1 some records carry errors,\n"
	    "2 usage or configuration error.  See qa-score(1).\n",
};

int main(int argc, char **argv)
{
	qa_tool_init(argv[0]);
	opt_parse(&options, &argc, &argv);
	struct run r = { .answer_path = O.answer, .cli = O.cli, .ncli = O.ncli, .summary = O.summary };
	const char *format = O.format;
	int list = O.list, merge = O.merge;

	if (list) {
		plugin_each(0, list_one, NULL);
		out_close();
		return QA_EXIT_OK;
	}
	r.answer_rootlen = strcspn(r.answer_path, ".[");
	r.answer_rest = r.answer_path + r.answer_rootlen;
	r.j = json_new();
	r.scratch = json_new();
	if (merge) {
		if (r.ncli)
			qa_die(QA_EXIT_USAGE, "--merge reads summaries: --metric does not apply");
		if (argc == 0)
			each_line(&r, "-", merge_record);
		for (int i = 0; i < argc; i++)
			each_line(&r, argv[i], merge_record);
		summary_print(strcmp(format, "table") == 0);
		cleanup(&r);
		status_exit();
	}
	if (argc == 0)
		each_line(&r, "-", score_record);
	for (int i = 0; i < argc; i++)
		each_line(&r, argv[i], score_record);
	if (r.no_answer)
		qa_warn("%ld record%s had no answer at %s (scored invalid)", r.no_answer,
		    r.no_answer == 1 ? "" : "s", r.answer_path);
	if (r.summary)
		summary_print(strcmp(format, "table") == 0);
	cleanup(&r);
	status_exit();
}
