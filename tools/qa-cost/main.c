/*
 * qa-cost: prices each record from its token usage, reconciles the usage
 * the provider reported, and summarises cost, accuracy and latency per
 * endpoint and model, with a monthly projection and the savings of moving
 * off a baseline.
 *
 *	qa-send ... | qa-score ... | qa-cost --summary --monthly-tokens 500M --baseline base
 */

#include "qa-cost.h"

/* ---- the command line ---- */

/* A count with an optional k, M, B (or G) or T suffix: 500M, 1.5B, 100k. */
int parse_count(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno == ERANGE)
		return -1;
	double mult = 1;
	if (*end == 'k' || *end == 'K')
		mult = 1e3, end++;
	else if (*end == 'M')
		mult = 1e6, end++;
	else if (*end == 'B' || *end == 'G')
		mult = 1e9, end++;
	else if (*end == 'T')
		mult = 1e12, end++;
	if (*end || !isfinite(v) || v < 0 || v * mult > 1e18)
		return -1;
	*out = v * mult;
	return 0;
}

void cleanup(struct run *r)
{
	for (size_t i = 0; i < CACHE_SIZE; i++) {
		free(cache[i].key);
		rprice_free(cache[i].price);
	}
	for (size_t i = 0; i < nspill; i++)
		rprice_free(spill[i]);
	free(spill);
	rprice_free(overflow);
	for (size_t i = 0; i < nprices; i++) {
		struct price *p = &prices[i];
		free(p->provider);
		free(p->model);
		free(p->currency);
		free(p->date);
		free(p->source);
		free(p->file);
	}
	free(prices);
	for (size_t i = 0; i < ngroups; i++) {
		free(groups[i].endpoint);
		free(groups[i].model);
		free(groups[i].lat.v);
		free(groups[i].lat.sk);
	}
	free(groups);
	free(overall.lat.v);
	free(overall.lat.sk);
	for (size_t k = 0; k < nprojs; k++) {
		free(projs[k].arith);
		free(projs[k].save_arith);
		free(projs[k].payback_arith);
	}
	free(projs);
	for (size_t i = 0; i < r->nwarned; i++)
		free(r->warned[i]);
	free(r->warned);
	buf_free(&r->out);
	buf_free(&r->cost);
	buf_free(&r->mismatch);
	buf_free(&r->err);
	buf_free(&r->scratch);
	json_free(&r->j);
	config_free(&config);
	host_fini();
}

static void as_of_opt(const struct qa_opt *o, const char *arg)
{
	if (!valid_date(arg))
		qa_die(QA_EXIT_USAGE, "--as-of: '%s' is not a date (YYYY-MM-DD)", arg);
	*(const char **)o->target = arg;
}

static void count_opt(const struct qa_opt *o, const char *arg)
{
	if (parse_count(arg, o->target) < 0)
		qa_die(QA_EXIT_USAGE, "--%s: '%s' is not %s", o->name, arg, o->what);
}

static void prices_opt(const char *arg)
{
	O.price_files = xreallocarray(O.price_files, O.nprice_files + 1, sizeof *O.price_files);
	O.price_files[O.nprice_files++] = arg;
}

static const struct qa_opt rows[] = {
	QA_ROW(QA_OPT_CALL, "prices", 'p', "FILE", "price table: CSV, or LiteLLM's model_prices_and_context_window.json\n"
	    "(repeatable; default $QA_PRICES, else the installed prices.csv)", NULL, .set = prices_opt),
	QA_ROW(QA_OPT_STRING, "config", 0, "FILE", "endpoint config with per-endpoint price overrides\n"
	    "(default $QA_CONFIG, else ~/.config/qa/endpoints.conf)", &O.config),
	QA_ROW(QA_OPT_STRING, "provider", 0, "NAME", "price only from rows of this provider", &O.provider),
	QA_ROW(QA_OPT_CALL, "as-of", 0, "DATE", "price as of DATE (YYYY-MM-DD): the newest row dated on or before it",
	    &O.as_of, .call = as_of_opt),
	QA_ROW(QA_OPT_FLAG, "estimate", 'e', NULL, "estimate tokens (4 bytes a token) when a record has no usage",
	    &O.estimate),
	QA_ROW(QA_OPT_FLAG, "summary", 's', NULL, "per endpoint/model and overall: tasks, errors, retries, tokens,\n"
	    "cost, cost per 1k tasks and per correct answer, accuracy,\n"
	    "latency p50/p95/p99, usage mismatches", &O.summary),
	QA_ROW(QA_OPT_STRING, "correct", 0, "METRIC", "the score that says a task is correct when it is 1\n"
	    "(default: each record's first score)", &O.correct),
	QA_ROW(QA_OPT_LONG, "exact-latencies", 0, "N", "latencies kept exactly per group before a sketch takes over\n"
	    "(default 4194304)", &O.exact_max, .min = 1, .max = 1L << 30),
	QA_ROW(QA_OPT_CALL, "monthly-tasks", 0, "N", "project each endpoint's monthly cost for N tasks (500k, 2M, ...)",
	    &O.monthly_tasks, .call = count_opt, .what = "a count (like 100000 or 100k)"),
	QA_ROW(QA_OPT_CALL, "monthly-tokens", 0, "N", "project each endpoint's monthly cost for N tokens (500M, 1B, "
	    "...)", &O.monthly_tokens, .call = count_opt, .what = "a count (like 500000000 or 500M)"),
	QA_ROW(QA_OPT_STRING, "baseline", 0, "EP", "savings per month and year against endpoint EP", &O.baseline),
	QA_ROW(QA_OPT_DOUBLE, "migration-cost", 0, "USD", "one-off cost of switching: adds the payback time",
	    &O.migration_cost, .max = 1e15, .what = "an amount (0 or more)"),
	QA_ROW(QA_OPT_CHOICE, "format", 'f', "FMT", "summary format: json (default), table, md or csv", &O.format,
	    .choices = "json|table|md|csv"),
	QA_END_HELP_VERSION,
};

static const struct qa_opts options = {
	.prog = "qa-cost",
	.usage = "usage: qa-cost [-es] [-p prices] [--config file] [--provider name] [--as-of date]\n"
	    "               [file ...]\n"
	    "       qa-cost -s [-f json|table|md|csv] [--correct metric] [--exact-latencies n]\n"
	    "               [--monthly-tasks n | --monthly-tokens n]\n"
	    "               [--baseline endpoint [--migration-cost usd]] [file ...]\n",
	.opt = rows,
	.col = 26,
	.tail =
	    "Cost = tokens x price per million tokens / 1e6, per kind of token.  Exit status:\n"
	    "0 all priced, 1 some records carry errors or could not be priced, 2 usage or\n"
	    "configuration error.  See qa-cost(1).\n",
};

int main(int argc, char **argv)
{
	struct run r = { 0 };

	qa_tool_init(argv[0]);
	O.monthly_tasks = O.monthly_tokens = O.migration_cost = NAN;
	opt_parse(&options, &argc, &argv);

	if (!isnan(O.monthly_tasks) && !isnan(O.monthly_tokens))
		qa_die(QA_EXIT_USAGE, "--monthly-tasks and --monthly-tokens: give one of them");
	if (O.baseline && isnan(O.monthly_tasks) && isnan(O.monthly_tokens))
		qa_die(QA_EXIT_USAGE, "--baseline needs a volume to project: --monthly-tasks or --monthly-tokens");
	if (!isnan(O.migration_cost) && !O.baseline)
		qa_die(QA_EXIT_USAGE, "--migration-cost needs --baseline: payback is against the baseline's cost");
	/* Projections, savings and the people's formats are summaries. */
	if (!isnan(O.monthly_tasks) || !isnan(O.monthly_tokens) || strcmp(O.format, "json") != 0)
		O.summary = 1;

	char err[1024];
	if (config_load(&config, O.config, err, sizeof err) < 0)
		qa_die(QA_EXIT_USAGE, "%s", err);
	if (O.nprice_files) {
		for (size_t i = 0; i < O.nprice_files; i++)
			load_prices(O.price_files[i]);
	} else {
		/* Without one, only the endpoint config's prices apply: say so, and go on. */
		qa_buf searched = { 0 };
		char *path = default_prices_new(&searched);
		if (path)
			load_prices(path);
		else
			qa_warn("no price table: give --prices FILE or set QA_PRICES (looked for %s); "
			    "only the endpoint config's prices apply", buf_cstr(&searched));
		buf_free(&searched);
		free(path);
	}
	xfree(&O.price_files);
	if (O.provider) {
		size_t i = 0;
		while (i < nprices && strcmp(prices[i].provider, O.provider) != 0)
			i++;
		if (i == nprices)
			qa_die(QA_EXIT_USAGE, "--provider %s: no row of the price table is from that provider",
			    O.provider);
	}
	sk_gamma = (1 + SK_ALPHA) / (1 - SK_ALPHA);
	sk_lngamma = log(sk_gamma);

	r.j = json_new();
	if (argc == 0)
		cost_file(&r, "-");
	for (int i = 0; i < argc; i++)
		cost_file(&r, argv[i]);

	if (r.missing_usage)
		qa_warn_at(r.missing_first_file, r.missing_first_line,
		    "no response.usage: cost left out (%ld record%s in all; --estimate estimates them)",
		    r.missing_usage, r.missing_usage == 1 ? "" : "s");
	if (r.unknown_models > 1 || r.nwarned > 1)
		qa_warn("%ld record%s not priced: %zu model%s without a price", r.unknown_models,
		    r.unknown_models == 1 ? "" : "s", r.nwarned, r.nwarned == 1 ? "" : "s");
	if (r.mismatches)
		qa_warn("%ld record%s: usage that does not add up (see usage_mismatch)", r.mismatches,
		    r.mismatches == 1 ? "" : "s");
	if (O.summary)
		summary_print();
	cleanup(&r);
	status_exit();
}
