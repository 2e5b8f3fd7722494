/*
 * qa-diff: joins two scored runs by id and prints paired statistics, per
 * task and overall, with a deploy gate.
 *
 *	qa-diff --max-drop 0.02 --max-flips 5 baseline.jsonl candidate.jsonl
 *
 * Memory: the baseline is read whole into a table of items (a 64-bit hash
 * of the id and a few numbers, 40 bytes each); the candidate is streamed
 * against it.  Latencies are kept per side for the percentiles.  When
 * records carry logprobs, the baseline's go to a temporary file (they can
 * be far larger than the rest of the item) and are read back as the
 * candidate's arrive, and one KL value per compared token (8 bytes) is
 * kept for the percentiles.  Nothing else grows with the input.
 */

#include "qa-diff.h"

const char usage_text[] =
    "usage: qa-diff [-v] [-f json|table|md] [-m metric] [--max-drop fraction]\n"
    "               [--gate-on ci|point] [--gate-scope overall|task|both]\n"
    "               [--max-flips pct] [--min-recovery pct] [--max-invalid pct]\n"
    "               [--max-errors pct] [--max-p95-ratio ratio] [--bootstrap n]\n"
    "               [--max-latency-ratio measure:stat=ratio]\n"
    "               [--seed s] [--z z] [--percentiles linear|nearest-rank]\n"
    "               [--perplexity name] [--kl renormalized|raw] [--max-kld nats]\n"
    "               [--min-same-top pct] [--max-ppl-ratio ratio]\n"
    "               [--allow-mismatch field] [--noise run] [--max-excess-flips pts]\n"
    "               [--candidate-repeat run]\n"
    "               baseline candidate\n"
    "\n"
    "  -m, --metric NAME       score to compare (default: each record's first score)\n"
    "  -f, --format FMT        json (default: a line per task and one overall),\n"
    "                          table or md (for people, the decision first)\n"
    "  -v, --verbose           list every id found in only one run\n"
    "      --max-drop F        gate: accuracy may drop at most F (a fraction: 0.02 is\n"
    "                          two points); a lower-is-better score may rise at most F\n"
    "      --gate-on WHAT      --max-drop reads the CI's lower bound (ci, default) or\n"
    "                          the point estimate (point)\n"
    "      --gate-scope WHERE  gate the overall line (default), each task, or both\n"
    "      --max-flips PCT     gate: at most PCT % of the items may flip\n"
    "      --min-recovery PCT  gate: candidate / baseline x 100 at least PCT (baseline /\n"
    "                          candidate for perplexity, bits_per_byte, latency)\n"
    "      --max-invalid PCT   gate: the candidate's invalid rate at most PCT %\n"
    "      --max-errors PCT    gate: the candidate's error rate at most PCT %\n"
    "      --max-p95-ratio R   gate: candidate p95 latency / baseline p95 at most R\n"
    "      --max-latency-ratio MEASURE:STAT=R  gate on streamed records: candidate /\n"
    "                          baseline of a measure (ttft_ms, tpot_ms, itl_ms,\n"
    "                          chunk_gaps_ms, latency_ms) at mean, p50, p90, p95 or\n"
    "                          p99 at most R (repeatable; ttft_ms:p95=1.2)\n"
    "      --bootstrap N       add a paired bootstrap CI from N resamples\n"
    "      --seed S            the bootstrap's seed (default 1)\n"
    "      --z Z               normal quantile of the CIs (default 1.959963984540054)\n"
    "      --percentiles M     latency percentiles: linear (numpy's default) or\n"
    "                          nearest-rank\n"
    "      --perplexity NAME   the score holding perplexity (default perplexity)\n"
    "      --kl EST            token drift's KL divergence over the top-k lists:\n"
    "                          renormalized (default) or raw\n"
    "      --max-kld NATS      gate: mean KL divergence per token at most NATS\n"
    "      --min-same-top PCT  gate: the same top token at least PCT % of positions\n"
    "      --max-ppl-ratio R   gate: candidate / baseline perplexity at most R\n"
    "      --allow-mismatch F  compare even though response.sent.F differs between the\n"
    "                          runs (repeatable, or F,G,...); otherwise exit 2\n"
    "      --noise RUN         the baseline sent again on the same items: the flips of\n"
    "                          the baseline against itself, the floor under the\n"
    "                          candidate's flips\n"
    "      --max-excess-flips P  gate: the candidate may flip at most P percentage\n"
    "                          points more items than the floor (needs --noise)\n"
    "      --candidate-repeat RUN  the candidate sent again (repeatable; --noise is\n"
    "                          too): with more than one repeat, per-item agreement\n"
    "                          and a paired test over items of the runs' accuracy,\n"
    "                          which --max-drop then reads\n"
    "  -h, --help              show this help and exit\n"
    "  -V, --version           show the version and exit\n"
    "\n"
    "Either input may be - (standard input).  Exit status: 0 compared and the\n"
    "gate holds, 1 a gate criterion failed or some lines could not be compared,\n"
    "2 usage error, unreadable input or a duplicate id.  See qa-diff(1).\n";

const char *const side_name[2] = { "baseline", "candidate" };

/* ---- the end of the run: what was not compared, then the statistics ---- */

void report_unpaired(void)
{
	long only[2] = { 0, 0 };
	for (size_t i = 0; i < D.nitems; i++) {
		const struct item *it = &D.items[i];
		int side = it->flags == IN_BASE ? BASE : it->flags == IN_CAND ? CAND : -1;
		if (side < 0) {
			if (isnan(it->base) || isnan(it->cand))
				D.tasks[it->task].excluded++;
			continue;
		}
		only[side]++;
		D.tasks[it->task].only[side]++;
	}
	if (D.verbose)
		for (int side = 0; side < 2; side++)
			for (size_t i = 0; i < D.nitems; i++) {
				const struct item *it = &D.items[i];
				if (it->flags != (side == BASE ? IN_BASE : IN_CAND))
					continue;
				char id[256];
				id_text(i, id, sizeof id);
				qa_warn_at(D.file[side], it->line, "id %s only in the %s", id, side_name[side]);
			}
	if (only[BASE] || only[CAND])
		qa_warn("%ld id%s only in the baseline, %ld only in the candidate: not compared%s", only[BASE],
		    only[BASE] == 1 ? "" : "s", only[CAND], D.verbose ? "" : " (--verbose lists them)");
	for (int side = 0; side < 2; side++) {
		if (D.noid[side])
			qa_warn_at(D.file[side], 0, "%ld record%s no id; the line number stands in for it",
			    D.noid[side], D.noid[side] == 1 ? " has" : "s have");
		if (D.unscored[side]) {
			qa_warn_at(D.file[side], 0, "%ld record%s no score to compare (first at line %lu): not "
			    "compared", D.unscored[side], D.unscored[side] == 1 ? " has" : "s have",
			    D.unscored_line[side]);
			status_raise(QA_EXIT_DATA);
		}
	}
	if (D.other_task)
		qa_warn_at(D.file[CAND], 0, "%ld id%s another task than in the baseline (first at line %lu); "
		    "the baseline's is used", D.other_task, D.other_task == 1 ? " has" : "s have",
		    D.other_task_line);
	if (D.differ)
		qa_warn_at(D.file[CAND], 0, "tokens differ: %ld record%s, left out of token drift (first at line "
		    "%lu)", D.differ, D.differ == 1 ? "" : "s", D.differ_line);
	if (D.lp_one[BASE] || D.lp_one[CAND])
		qa_warn("%ld paired record%s logprobs in the baseline only, %ld in the candidate only: left out "
		    "of token drift", D.lp_one[BASE], D.lp_one[BASE] == 1 ? " has" : "s have", D.lp_one[CAND]);
}

/* Gathers the compared pairs task by task; frees the item table. */
size_t gather(void)
{
	size_t total = 0;
	xfree(&D.items_ix.slot);
	int any_cluster = 0;
	for (size_t i = 0; i < D.nitems; i++) {
		const struct item *it = &D.items[i];
		if (it->flags == (IN_BASE | IN_CAND) && !isnan(it->base) && !isnan(it->cand)) {
			D.tasks[it->task].n++;
			total++;
			any_cluster |= it->cluster != NONE;
		}
	}
	size_t off = 0;
	for (size_t t = 0; t < D.ntasks; t++) {
		D.tasks[t].off = off;
		off += D.tasks[t].n;
		D.tasks[t].n = 0;
	}
	gbase = xreallocarray(NULL, total ? total : 1, sizeof *gbase);
	gcand = xreallocarray(NULL, total ? total : 1, sizeof *gcand);
	gcl = any_cluster ? xreallocarray(NULL, total ? total : 1, sizeof *gcl) : NULL;
	gmet = xreallocarray(NULL, total ? total : 1, sizeof *gmet);
	met_binary = xreallocarray(NULL, D.nmetrics + 1, 1);
	memset(met_binary, 1, D.nmetrics + 1);
	if (CS.n)
		for (int k = 0; k < 2; k++) {
			gsoff[k] = xreallocarray(NULL, total ? total : 1, sizeof *gsoff[k]);
			gsn[k] = xreallocarray(NULL, total ? total : 1, sizeof *gsn[k]);
		}
	for (size_t i = 0; i < D.nitems; i++) {
		const struct item *it = &D.items[i];
		if (it->flags != (IN_BASE | IN_CAND) || isnan(it->base) || isnan(it->cand))
			continue;
		struct task *t = &D.tasks[it->task];
		size_t at = t->off + t->n++;
		gbase[at] = it->base;
		gcand[at] = it->cand;
		gmet[at] = it->metric;
		if ((it->base != 0 && it->base != 1) || (it->cand != 0 && it->cand != 1))
			met_binary[it->metric == NO_METRIC ? D.nmetrics : it->metric] = 0;
		if (gcl)
			gcl[at] = it->cluster;
		for (int k = 0; k < 2 && gsn[0]; k++) {
			gsoff[k][at] = it->soff[k];
			gsn[k][at] = it->sn[k];
		}
	}
	xfree(&D.items);
	xfree(&D.idoff);
	buf_free(&D.idpool);
	/* The candidate has been read: the baseline's logprobs are no longer needed. */
	xfree(&D.lpoff);
	if (D.spool)
		fclose(D.spool);
	D.spool = NULL;
	buf_free(&D.lpbuf);
	json_free(&D.jb);
	return total;
}

void finish(void)
{
	report_unpaired();
	size_t total = gather();
	size_t nres = D.ntasks + 1;
	if (gcl) {
		scratch.csum = xcalloc(D.nclusters, sizeof *scratch.csum);
		scratch.touched = xcalloc(D.nclusters, sizeof *scratch.touched);
		scratch.seen = xcalloc(D.nclusters, sizeof *scratch.seen);
	}
	struct result *res = xcalloc(nres, sizeof *res);
	struct side all[2];
	struct drift alld;

	memset(&alld, 0, sizeof alld);
	long only[2] = { 0, 0 }, excluded = 0;
	uint16_t metric = NO_METRIC;
	int mixed = 0;

	memset(all, 0, sizeof all);
	for (int k = 0; k < 2; k++)
		add_side(&all[k], &D.extra[k], 1);
	for (size_t t = 0; t < D.ntasks; t++) {
		struct task *tk = &D.tasks[t];
		struct result *r = &res[t];
		r->scope = "task";
		r->task = tk->name;
		r->metric = tk->mixed || tk->metric == NO_METRIC ? NULL : D.metrics[tk->metric];
		r->only[BASE] = tk->only[BASE];
		r->only[CAND] = tk->only[CAND];
		r->excluded = tk->excluded;
		r->gated = gate_given() && D.gate_task;
		for (int k = 0; k < 2; k++) {
			add_side(&all[k], &tk->side[k], 1);
			only[k] += tk->only[k];
		}
		excluded += tk->excluded;
		if (tk->metric != NO_METRIC) {
			if (metric == NO_METRIC)
				metric = tk->metric;
			mixed |= tk->mixed || metric != tk->metric;
		}
		struct dvec lat[2] = { tk->side[BASE].lat, tk->side[CAND].lat };
		compute(r, tk->side, lat, tk->off, tk->n, D.task_hash[t]);
		drift_merge(&alld, &tk->drift);
		drift_stats(&r->dr, &tk->drift);
		gate(r);
	}
	gather_kl(&alld.kl);
	gather_dp(&alld.dpv);
	struct result *o = &res[D.ntasks];
	o->scope = "overall";
	o->task = NULL;
	o->metric = mixed || metric == NO_METRIC ? NULL : D.metrics[metric];
	o->only[BASE] = only[BASE];
	o->only[CAND] = only[CAND];
	o->excluded = excluded;
	o->gated = gate_given() && D.gate_overall;
	struct dvec lat[2] = { all[BASE].lat, all[CAND].lat };
	compute(o, all, lat, 0, total, tag_hash('o', "", 0));
	recovery_mean(o, res, D.ntasks);
	drift_stats(&o->dr, &alld);
	gate(o);
	stream_lat_gate(o);

	int pass = 1;
	char words[200];
	for (size_t i = 0; i < nres; i++) {
		for (size_t k = 0; k < res[i].nfail; k++)
			qa_warn("gate: %s: %s", scope_words(&res[i], words, sizeof words), res[i].fail[k].msg);
		pass &= res[i].nfail == 0;
	}
	if (!pass)
		status_raise(QA_EXIT_DATA);

	qa_buf out = { 0 };
	if (D.table)
		print_table(&out, res, nres);
	else if (D.md)
		print_md(&out, res, nres);
	else
		for (size_t i = 0; i < nres; i++)
			json_line(&out, &res[i], i == D.ntasks, pass);
	stream_lat_print(&out, D.table, D.md);
	stream_lat_free();
	out_write(stdout, &out);
	buf_free(&out);

	for (size_t i = 0; i < nres; i++)
		free(res[i].fail);
	free(res);
	xfree(&scratch.csum);
	xfree(&scratch.touched);
	xfree(&scratch.seen);
	for (int k = 0; k < 2; k++)
		free(all[k].lat.v);
	free(alld.kl.v);
	free(alld.dpv.v);
}

void cleanup(void)
{
	for (size_t t = 0; t < D.ntasks; t++) {
		free(D.tasks[t].name);
		free(D.tasks[t].side[BASE].lat.v);
		free(D.tasks[t].side[CAND].lat.v);
		free(D.tasks[t].drift.kl.v);
		free(D.tasks[t].drift.dpv.v);
	}
	free(D.alt[BASE]);
	free(D.alt[CAND]);
	free(D.kp);
	free(D.kq);
	free(D.tasks);
	free(D.task_hash);
	free(D.tasks_ix.slot);
	free(D.cluster_hash);
	free(D.clusters_ix.slot);
	for (size_t i = 0; i < D.nmetrics; i++)
		free(D.metrics[i]);
	free(D.metrics);
	free(gbase);
	free(gcand);
	free(gcl);
	free(gmet);
	free(met_binary);
	for (int k = 0; k < 2; k++) {
		free(gsoff[k]);
		free(gsn[k]);
	}
	cplug_free();
	for (size_t i = 0; i < CS.nnames; i++)
		free(CS.names[i]);
	free(CS.names);
	free(CS.ix);
	free(CS.v);
	json_free(&D.j);
	noise_free();
	host_fini();
}

QA_NORETURN void usage(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	exit(status);
}

double num_arg(const char *opt, const char *arg, double min, double max, const char *what)
{
	double v;
	if (parse_double(arg, min, max, &v) < 0)
		qa_die(QA_EXIT_USAGE, "--%s %s: %s", opt, arg, what);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "allow-mismatch", required_argument, NULL, OPT_ALLOW_MISMATCH },
		{ "candidate-repeat", required_argument, NULL, OPT_CANDIDATE_REPEAT },
		{ "max-excess-flips", required_argument, NULL, OPT_MAX_EXCESS_FLIPS },
		{ "noise", required_argument, NULL, OPT_NOISE },
		{ "bootstrap", required_argument, NULL, OPT_BOOTSTRAP },
		{ "format", required_argument, NULL, 'f' },
		{ "gate-on", required_argument, NULL, OPT_GATE_ON },
		{ "gate-scope", required_argument, NULL, OPT_GATE_SCOPE },
		{ "help", no_argument, NULL, 'h' },
		{ "kl", required_argument, NULL, OPT_KL },
		{ "max-drop", required_argument, NULL, OPT_MAX_DROP },
		{ "max-errors", required_argument, NULL, OPT_MAX_ERRORS },
		{ "max-flips", required_argument, NULL, OPT_MAX_FLIPS },
		{ "max-invalid", required_argument, NULL, OPT_MAX_INVALID },
		{ "max-kld", required_argument, NULL, OPT_MAX_KLD },
		{ "max-p95-ratio", required_argument, NULL, OPT_MAX_P95 },
		{ "max-latency-ratio", required_argument, NULL, OPT_MAX_LATENCY_RATIO },
		{ "max-ppl-ratio", required_argument, NULL, OPT_MAX_PPL_RATIO },
		{ "metric", required_argument, NULL, 'm' },
		{ "min-recovery", required_argument, NULL, OPT_MIN_RECOVERY },
		{ "min-same-top", required_argument, NULL, OPT_MIN_SAME_TOP },
		{ "percentiles", required_argument, NULL, OPT_PERCENTILES },
		{ "perplexity", required_argument, NULL, OPT_PERPLEXITY },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "z", required_argument, NULL, OPT_Z },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	long l;

	qa_tool_init(argv[0]);
	while ((c = getopt_long(argc, argv, "f:hm:vV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ALLOW_MISMATCH:
			sent_allow(optarg);
			break;
		case OPT_NOISE:
			noise_set(optarg);
			break;
		case OPT_CANDIDATE_REPEAT:
			repeat_add(CAND, optarg);
			break;
		case OPT_MAX_EXCESS_FLIPS:
			D.max_excess_flips = num_arg("max-excess-flips", optarg, -100, 100,
			    "percentage points from -100 to 100");
			break;
		case OPT_BOOTSTRAP:
			if (parse_long(optarg, 1, 10000000, &l) < 0)
				qa_die(QA_EXIT_USAGE, "--bootstrap %s: a whole number of resamples, 1 to 10000000",
				    optarg);
			D.bootstrap = l;
			break;
		case 'f':
			if (strcmp(optarg, "table") == 0)
				D.table = 1, D.md = 0;
			else if (strcmp(optarg, "md") == 0)
				D.md = 1, D.table = 0;
			else if (strcmp(optarg, "json") == 0)
				D.md = D.table = 0;
			else
				qa_die(QA_EXIT_USAGE, "--format: '%s' is not json, table or md", optarg);
			break;
		case OPT_GATE_ON:
			if (strcmp(optarg, "ci") != 0 && strcmp(optarg, "point") != 0)
				qa_die(QA_EXIT_USAGE, "--gate-on: '%s' is not ci or point", optarg);
			D.gate_ci = strcmp(optarg, "ci") == 0;
			break;
		case OPT_GATE_SCOPE:
			if (strcmp(optarg, "overall") == 0)
				D.gate_overall = 1, D.gate_task = 0;
			else if (strcmp(optarg, "task") == 0)
				D.gate_overall = 0, D.gate_task = 1;
			else if (strcmp(optarg, "both") == 0)
				D.gate_overall = 1, D.gate_task = 1;
			else
				qa_die(QA_EXIT_USAGE, "--gate-scope: '%s' is not overall, task or both", optarg);
			break;
		case 'h':
			usage(QA_EXIT_OK);
		case OPT_KL:
			if (strcmp(optarg, "renormalized") == 0)
				D.kl_raw = 0;
			else if (strcmp(optarg, "raw") == 0)
				D.kl_raw = 1;
			else
				qa_die(QA_EXIT_USAGE, "--kl: '%s' is not renormalized or raw", optarg);
			break;
		case OPT_MAX_DROP:
			D.max_drop = num_arg("max-drop", optarg, 0, 1, "a fraction from 0 to 1 (0.02 is two points)");
			break;
		case OPT_MAX_ERRORS:
			D.max_errors = num_arg("max-errors", optarg, 0, 100, "a percentage from 0 to 100");
			break;
		case OPT_MAX_FLIPS:
			D.max_flips = num_arg("max-flips", optarg, 0, 100, "a percentage from 0 to 100");
			break;
		case OPT_MAX_INVALID:
			D.max_invalid = num_arg("max-invalid", optarg, 0, 100, "a percentage from 0 to 100");
			break;
		case OPT_MAX_KLD:
			D.max_kld = num_arg("max-kld", optarg, 0, 1e9, "a KL divergence in nats, 0 or more (0.01)");
			break;
		case OPT_MAX_LATENCY_RATIO:
			stream_lat_gate_opt(optarg);
			break;
		case OPT_MAX_P95:
			D.max_p95 = num_arg("max-p95-ratio", optarg, 0, 1e9, "a ratio, 0 or more (1.2: 20% slower)");
			break;
		case OPT_MAX_PPL_RATIO:
			D.max_ppl_ratio = num_arg("max-ppl-ratio", optarg, 0, 1e9, "a ratio, 0 or more (1.05: 5% "
			    "higher perplexity)");
			break;
		case 'm':
			if (!*optarg)
				qa_die(QA_EXIT_USAGE, "--metric: a score name, not empty");
			D.metric = optarg;
			break;
		case OPT_MIN_RECOVERY:
			D.min_recovery = num_arg("min-recovery", optarg, 0, 1e9, "a percentage, 0 or more (98: "
			    "the candidate keeps 98% of the baseline's score)");
			break;
		case OPT_MIN_SAME_TOP:
			D.min_same_top = num_arg("min-same-top", optarg, 0, 100, "a percentage from 0 to 100");
			break;
		case OPT_PERCENTILES:
			if (strcmp(optarg, "linear") == 0)
				D.percentile = percentile_linear, D.percentile_name = "linear";
			else if (strcmp(optarg, "nearest-rank") == 0)
				D.percentile = percentile_nearest, D.percentile_name = "nearest-rank";
			else
				qa_die(QA_EXIT_USAGE, "--percentiles: '%s' is not linear or nearest-rank", optarg);
			break;
		case OPT_PERPLEXITY:
			if (!*optarg)
				qa_die(QA_EXIT_USAGE, "--perplexity: a score name, not empty");
			D.ppl_key = optarg;
			break;
		case OPT_SEED:
			if (parse_long(optarg, 0, LONG_MAX, &l) < 0)
				qa_die(QA_EXIT_USAGE, "--seed %s: a whole number, 0 or more", optarg);
			D.seed = (unsigned long long)l;
			break;
		case 'v':
			D.verbose = 1;
			break;
		case 'V':
			printf("qa-diff %s\n", QA_VERSION);
			out_close();
			return QA_EXIT_OK;
		case OPT_Z:
			D.z = num_arg("z", optarg, 0.001, 10, "a normal quantile between 0.001 and 10 (1.96 for 95%)");
			break;
		default:
			usage(QA_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2) {
		qa_warn("need two runs: baseline and candidate");
		usage(QA_EXIT_USAGE);
	}
	if (strcmp(argv[0], "-") == 0 && strcmp(argv[1], "-") == 0)
		qa_die(QA_EXIT_USAGE, "only one of the runs can be - (standard input)");
	if (noise_stdin() && (strcmp(argv[0], "-") == 0 || strcmp(argv[1], "-") == 0))
		qa_die(QA_EXIT_USAGE, "only one of the runs and their repeats can be - (standard input)");
	if (!isnan(D.max_excess_flips) && !noise_on())
		qa_die(QA_EXIT_USAGE, "--max-excess-flips needs --noise RUN, the floor it is measured over");
	D.file[BASE] = argv[0];
	D.file[CAND] = argv[1];
	if (D.metric)
		metric_get(D.metric, strlen(D.metric));

	D.j = json_new();
	read_run(BASE);
	if (D.spool && fflush(D.spool) != 0)
		qa_die(QA_EXIT_USAGE, "writing the temporary logprobs file: %s", strerror(errno));
	read_run(CAND);
	sent_report();
	noise_read();
	finish();
	cleanup();
	status_exit();
}
