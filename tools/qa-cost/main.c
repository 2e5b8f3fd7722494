/*
 * qa-cost: prices each record from its token usage, reconciles the usage
 * the provider reported, and summarises cost, accuracy and latency per
 * endpoint and model, with a monthly projection and the savings of moving
 * off a baseline.
 *
 *	qa-send ... | qa-score ... | qa-cost --summary --monthly-tokens 500M --baseline base
 */

#include "qa-cost.h"

const char usage_text[] =
    "usage: qa-cost [-es] [-p prices] [--config file] [--provider name] [--as-of date]\n"
    "               [file ...]\n"
    "       qa-cost -s [-f json|table|md|csv] [--correct metric] [--exact-latencies n]\n"
    "               [--monthly-tasks n | --monthly-tokens n]\n"
    "               [--baseline endpoint [--migration-cost usd]] [file ...]\n"
    "\n"
    "  -p, --prices FILE       price table: CSV, or LiteLLM's model_prices_and_context_window.json\n"
    "                          (repeatable; default $QA_PRICES, else the installed prices.csv)\n"
    "      --config FILE       endpoint config with per-endpoint price overrides\n"
    "                          (default $QA_CONFIG, else ~/.config/qa/endpoints.conf)\n"
    "      --provider NAME     price only from rows of this provider\n"
    "      --as-of DATE        price as of DATE (YYYY-MM-DD): the newest row dated on or before it\n"
    "  -e, --estimate          estimate tokens (4 bytes a token) when a record has no usage\n"
    "  -s, --summary           per endpoint/model and overall: tasks, errors, retries, tokens,\n"
    "                          cost, cost per 1k tasks and per correct answer, accuracy,\n"
    "                          latency p50/p95/p99, usage mismatches\n"
    "      --correct METRIC    the score that says a task is correct when it is 1\n"
    "                          (default: each record's first score)\n"
    "      --exact-latencies N latencies kept exactly per group before a sketch takes over\n"
    "                          (default 4194304)\n"
    "      --monthly-tasks N   project each endpoint's monthly cost for N tasks (500k, 2M, ...)\n"
    "      --monthly-tokens N  project each endpoint's monthly cost for N tokens (500M, 1B, ...)\n"
    "      --baseline EP       savings per month and year against endpoint EP\n"
    "      --migration-cost USD  one-off cost of switching: adds the payback time\n"
    "  -f, --format FMT        summary format: json (default), table, md or csv\n"
    "  -h, --help              show this help and exit\n"
    "  -V, --version           show the version and exit\n"
    "\n"
    "Cost = tokens x price per million tokens / 1e6, per kind of token.  Exit status:\n"
    "0 all priced, 1 some records carry errors or could not be priced, 2 usage or\n"
    "configuration error.  See qa-cost(1).\n";

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

QA_NORETURN void usage(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	exit(status);
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

int main(int argc, char **argv)
{
	enum { OPT_AS_OF = 256, OPT_BASELINE, OPT_CONFIG, OPT_CORRECT, OPT_EXACT, OPT_MIGRATION,
		OPT_MONTHLY_TASKS, OPT_MONTHLY_TOKENS, OPT_PROVIDER };
	static const struct option longopts[] = {
		{ "as-of", required_argument, NULL, OPT_AS_OF },
		{ "baseline", required_argument, NULL, OPT_BASELINE },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "correct", required_argument, NULL, OPT_CORRECT },
		{ "estimate", no_argument, NULL, 'e' },
		{ "exact-latencies", required_argument, NULL, OPT_EXACT },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "migration-cost", required_argument, NULL, OPT_MIGRATION },
		{ "monthly-tasks", required_argument, NULL, OPT_MONTHLY_TASKS },
		{ "monthly-tokens", required_argument, NULL, OPT_MONTHLY_TOKENS },
		{ "prices", required_argument, NULL, 'p' },
		{ "provider", required_argument, NULL, OPT_PROVIDER },
		{ "summary", no_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct run r = { 0 };
	/* static: a usage error exits from inside the loop, and the list must still be reachable then */
	static const char **price_files;
	const char *config_path = NULL;
	size_t nprice_files = 0;
	int c;

	qa_tool_init(argv[0]);
	O.monthly_tasks = O.monthly_tokens = O.migration_cost = NAN;
	while ((c = getopt_long(argc, argv, "ef:hp:sV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_AS_OF:
			if (!valid_date(optarg))
				qa_die(QA_EXIT_USAGE, "--as-of: '%s' is not a date (YYYY-MM-DD)", optarg);
			O.as_of = optarg;
			break;
		case OPT_BASELINE:
			O.baseline = optarg;
			break;
		case OPT_CONFIG:
			config_path = optarg;
			break;
		case OPT_CORRECT:
			O.correct = optarg;
			break;
		case 'e':
			O.estimate = 1;
			break;
		case OPT_EXACT:
			if (parse_long(optarg, 1, 1L << 30, &O.exact_max) < 0)
				qa_die(QA_EXIT_USAGE, "--exact-latencies: '%s' is not a whole number from 1 to %ld",
				    optarg, 1L << 30);
			break;
		case 'f':
			if (strcmp(optarg, "json") && strcmp(optarg, "table") && strcmp(optarg, "md") &&
			    strcmp(optarg, "csv"))
				qa_die(QA_EXIT_USAGE, "--format: '%s' is not json, table, md or csv", optarg);
			O.format = optarg;
			break;
		case 'h':
			usage(QA_EXIT_OK);
		case OPT_MIGRATION:
			if (parse_double(optarg, 0, 1e15, &O.migration_cost) < 0)
				qa_die(QA_EXIT_USAGE, "--migration-cost: '%s' is not an amount (0 or more)", optarg);
			break;
		case OPT_MONTHLY_TASKS:
			if (parse_count(optarg, &O.monthly_tasks) < 0)
				qa_die(QA_EXIT_USAGE, "--monthly-tasks: '%s' is not a count (like 100000 or 100k)", optarg);
			break;
		case OPT_MONTHLY_TOKENS:
			if (parse_count(optarg, &O.monthly_tokens) < 0)
				qa_die(QA_EXIT_USAGE, "--monthly-tokens: '%s' is not a count (like 500000000 or 500M)",
				    optarg);
			break;
		case 'p':
			price_files = xreallocarray(price_files, nprice_files + 1, sizeof *price_files);
			price_files[nprice_files++] = optarg;
			break;
		case OPT_PROVIDER:
			O.provider = optarg;
			break;
		case 's':
			O.summary = 1;
			break;
		case 'V':
			printf("qa-cost %s\n", QA_VERSION);
			return QA_EXIT_OK;
		default:
			usage(QA_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

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
	if (config_load(&config, config_path, err, sizeof err) < 0)
		qa_die(QA_EXIT_USAGE, "%s", err);
	if (nprice_files) {
		for (size_t i = 0; i < nprice_files; i++)
			load_prices(price_files[i]);
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
	free(price_files);
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
