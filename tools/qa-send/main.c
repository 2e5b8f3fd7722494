/*
 * qa-send: sends each record to its endpoint and appends response (or error).
 *
 *	qa-send --provider openai --base-url http://localhost:8000/v1 --model m < tasks.jsonl
 *
 * One thread drives libcurl's multi interface.  Records are read only as
 * fast as the window frees up, so memory stays flat on any input; they
 * come out in input order (or, --unordered, as they finish), each one
 * written and flushed as soon as it and everything before it is done.
 * Providers (plugins) build the requests and read the answers; everything
 * that touches the network is here: timeouts, retries with their waits (on
 * timers, never sleep()), limits, the auth breaker, fallback to the next
 * endpoint of a record's chain and the cooldown breaker that skips a
 * failing one.  Keys are read from the environment, added as a header,
 * and scrubbed from every message.
 */

#include "qa-send.h"

/* ---- setup ---- */

/*
 * --mode logprobs: the prompt's own logprobs, as lm-eval asks a completions
 * endpoint for them: echo the prompt, 5 alternatives a token, generate
 * nothing.  --param wins over these, and a record's params over both.
 */
void setup_mode(void)
{
	static const char *const defaults[][2] = { { "echo", "true" }, { "logprobs", "5" }, { "max_tokens", "0" } };
	if (opt.stride && !opt.context)
		qa_die(QA_EXIT_USAGE, "--stride needs --context");
	if (opt.context && !opt.logprobs_mode)
		qa_die(QA_EXIT_USAGE, "--context cuts prompts into windows for --mode logprobs; give --mode logprobs");
	opt.stride_given = opt.stride;
	if (opt.context) {
		if (!opt.stride)
			opt.stride = opt.context / 2;
		if (opt.stride >= opt.context)
			qa_die(QA_EXIT_USAGE, "--stride %zu: must be less than --context %zu, so each window's first "
			    "new token has context", opt.stride, opt.context);
	}
	if (!opt.logprobs_mode)
		return;
	opt.params.len--;	/* the closing brace */
	for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++) {
		if (json_member(opt.params_j, 0, defaults[i][0], strlen(defaults[i][0])) >= 0)
			continue;
		buf_printf(&opt.params, "%s\"%s\":%s", opt.params.len > 1 ? "," : "", defaults[i][0], defaults[i][1]);
	}
	buf_addc(&opt.params, '}');
	const char *err;
	size_t off;
	if (json_parse(opt.params_j, opt.params.p, opt.params.len, &err, &off) < 0)
		qa_die(QA_EXIT_USAGE, "internal error: --mode params: %s", err);
}

/* --param KEY=VALUE: VALUE as JSON when it is JSON, else as a string. */
static void param_opt(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		qa_die(QA_EXIT_USAGE, "--param %s: not KEY=VALUE", arg);
	qa_json *j = json_new();
	const char *v = eq + 1, *err;
	size_t off;
	if (opt.params.len)
		buf_addc(&opt.params, ',');
	buf_json_string(&opt.params, arg, (size_t)(eq - arg));
	buf_addc(&opt.params, ':');
	if (*v && json_parse(j, v, strlen(v), &err, &off) == 0)
		buf_adds(&opt.params, v);
	else
		buf_json_string(&opt.params, v, strlen(v));
	json_free(&j);
}

/*
 * --fallback NAME,...: endpoints from the config (or the default one),
 * checked now, so that a wrong name stops the run before anything is sent.
 */
void setup_fallback(const char *list)
{
	for (const char *p = list;; p++) {
		size_t n = strcspn(p, ",");
		char *name = xstrndup(p, n);
		if (!n)
			qa_die(QA_EXIT_USAGE, "--fallback: an empty endpoint name in '%s'", list);
		struct endpoint *e = NULL;
		for (size_t i = 0; i < neps && !e; i++)
			if (strcmp(eps[i]->name, name) == 0)
				e = eps[i];
		if (!e) {
			const qa_endpoint_conf *c = config_loaded ? config_endpoint(&config, name) : NULL;
			if (!c)
				qa_die(QA_EXIT_USAGE, "--fallback: unknown endpoint '%s' (%s%s)", name,
				    config.path ? "not in " : "no endpoint config; give --config FILE",
				    config.path ? config.path : "");
			e = endpoint_make(name, c->provider, c->base_url, c->model, c->key_env, c->concurrency,
			    c->rpm);
			engine_settings(e, c->threads, c->kl_base);
		}
		if (e->why) {
			char m[1300];
			snprintf(m, sizeof m, "--fallback: %s", e->why);
			die_scrubbed(m);
		}
		size_t k;
		for (k = 0; k < opt.nfallback && opt.fallback[k] != e; k++)
			continue;
		if (k == opt.nfallback) {
			if (opt.nfallback == MAX_CHAIN - 1)
				qa_die(QA_EXIT_USAGE, "--fallback: more than %d endpoints", MAX_CHAIN - 1);
			opt.fallback = xreallocarray(opt.fallback, opt.nfallback + 1, sizeof *opt.fallback);
			opt.fallback[opt.nfallback++] = e;
		}
		free(name);
		p += n;
		if (!*p)
			break;
	}
}

/* The end of a run where records fell back: how many, who served them, which endpoints cooled down. */
void report_fallback(void)
{
	if (!stats.fell_back)
		return;
	qa_buf b = { 0 };
	for (size_t i = 0; i < neps; i++)
		if (eps[i]->served)
			buf_printf(&b, "%s%s %ld", b.len ? ", " : " (", eps[i]->name, eps[i]->served);
	if (b.len)
		buf_addc(&b, ')');
	size_t mark = b.len;
	for (size_t i = 0; i < neps; i++)
		if (eps[i]->cooldowns)
			buf_printf(&b, "%s%s %ld", b.len > mark ? ", " : "; cooldowns: ", eps[i]->name, eps[i]->cooldowns);
	qa_warn("%ld of %ld record%s fell back to another endpoint, %ld answered there%s", stats.fell_back,
	    stats.read, stats.read == 1 ? "" : "s", stats.fb_served, buf_cstr(&b));
	buf_free(&b);
}

/*
 * The end of a run against servers that time themselves (llama.cpp): say
 * once when many answers waited far longer than the server computed (a
 * client with more connections than the server has slots queues, and
 * llama-server's idle keep-alive connections hold its HTTP threads for 5 s),
 * and when a chat endpoint wrapped a bare prompt in a chat template.
 */
void report_server(void)
{
	for (size_t i = 0; i < neps; i++) {
		struct endpoint *e = eps[i];
		if (e->st_slow >= 3 && 5 * e->st_slow >= e->st_n) {
			double slots;
			int known;
			if (e->props_ok)	/* asked at its first answer (sent_props()): not again */
				known = (slots = e->props_slots) >= 1;
			else
				known = side_request(e, "/props", NULL) == 0 &&
				    json_num(scratch, json_find(scratch, 0, "total_slots"), &slots) == 0 && slots >= 1;
			char fix[200], c[48];
			long peak, now = conc_now(e, &peak);	/* -c auto: what it went up to, and is at */
			if (opt.conc_auto)
				snprintf(c, sizeof c, "-c auto went up to %ld (now %ld), which", peak, now);
			else
				snprintf(c, sizeof c, "-c %ld", now);
			if (known && (double)peak > slots)
				snprintf(fix, sizeof fix, "%s is above the server's %.0f slots (/props total_slots): "
				    "use -c %.0f", c, slots, slots);
			else if (known)
				snprintf(fix, sizeof fix, "the server has %.0f slots (/props total_slots) and other "
				    "clients may be using them", slots);
			else
				snprintf(fix, sizeof fix, "keep -c (%s %ld) at or below the server's parallel slots "
				    "(llama-server -np)", opt.conc_auto ? "auto, up to" : "now", peak);
			qa_warn("endpoint '%s': %ld of %ld answers took much longer than the server's own compute "
			    "(mean latency_ms %.0f, server prompt_ms + predicted_ms %.0f): they waited for the server, "
			    "so latency_ms is queueing, not speed; %s", e->name, e->st_slow, e->st_n,
			    e->st_lat / (double)e->st_slow, e->st_comp / (double)e->st_slow, fix);
		}
		if (e->props_asked && !e->props_ok)
			qa_warn("endpoint '%s': its /props did not answer (within 2 s, at its first answer): its records "
			    "carry no chat template fingerprint (response.sent.template)", e->name);
		if (e->chat_prompt) {
			qa_buf q = { 0 };
			buf_adds(&q, "{\"add_special\":true,\"content\":");
			buf_json_string(&q, e->chat_prompt, strlen(e->chat_prompt));
			buf_addc(&q, '}');
			int tok;
			if (side_request(e, "/tokenize", buf_cstr(&q)) == 0 &&
			    json_type(scratch, (tok = json_find(scratch, 0, "tokens"))) == QA_ARRAY &&
			    e->chat_tokens > (double)json_count(scratch, tok) + 4)
				qa_warn("endpoint '%s': a prompt of %zu tokens was sent as %.0f: the server wrapped it "
				    "in a chat template; right for a chat model, but a base model answers the template "
				    "too (use --provider openai-completions for base models)", e->name,
				    json_count(scratch, tok), e->chat_tokens);
			buf_free(&q);
		}
	}
	buf_free(&side_body);
}

/*
 * Each request in flight holds a socket: -c needs that many descriptors,
 * and some to spare (stdio, curl's wakeup pair, the input, --trace,
 * plugins).  Past the soft limit, connections would fail as network
 * errors and spend the retries; so the soft limit is raised to the hard
 * one, and past that the run is refused before it starts.
 */
void setup_files(void)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)opt.concurrency + 32;
	char c[48];	/* -c auto: the most in flight it may reach (64, or an endpoint config's concurrency) */
	snprintf(c, sizeof c, opt.conc_auto ? "-c auto (up to %ld in flight)" : "-c %ld", opt.concurrency);
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		qa_die(QA_EXIT_USAGE, "%s needs %lu open files, over the limit of %lu (hard limit %lu); "
		    "lower -c or raise the limit (ulimit -n)", c, (unsigned long)need,
		    (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);
	unsigned long soft = (unsigned long)rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		qa_die(QA_EXIT_USAGE, "%s needs %lu open files, over the limit of %lu, which could not be "
		    "raised: %s", c, (unsigned long)need, soft, strerror(errno));
}

void cleanup(void)
{
	workers_end();	/* before the tasks go: a worker may still hold one */
	cache_teardown();
	samples_free();
	for (size_t i = 0; i < ntasks; i++) {
		struct task *t = &tasks[i];
		if (t->easy) {
			curl_multi_remove_handle(multi, t->easy);
			curl_easy_cleanup(t->easy);
		}
		request_free(t);
		free(t->line);
		free(t->model);
		json_free(&t->j);
		json_free(&t->pj);
		buf_free(&t->params);
		buf_free(&t->body);
		buf_free(&t->out);
		buf_free(&t->h.request_id);
		buf_free(&t->h.ratelimit);
		buf_free(&t->from);
		buf_free(&t->last_msg);
	}
	free(tasks);
	free(free_slots);
	for (size_t i = 0; i < neasy; i++)
		curl_easy_cleanup(easy_pool[i]);
	free(easy_pool);
	free(fin);
	if (multi)
		curl_multi_cleanup(multi);
	for (size_t i = 0; i < neps; i++)
		endpoint_free(eps[i]);
	free(eps);
	free(opt.fallback);
	for (size_t i = 0; i < nprovs; i++) {
		struct provider *p = provs[i];
		if (!p->err) {
			if (p->l.plugin->provider->fini && p->state)
				p->l.plugin->provider->fini(p->state);
			plugin_unload(&p->l);
		}
		free(p->name);
		free(p->err);
		free(p);
	}
	free(provs);
	for (size_t k = 0; k < nkeys; k++)
		free(keys[k]);
	free(keys);
	curl_slist_free_all(opt.headers);
	buf_free(&opt.params);
	json_free(&opt.params_j);
	json_free(&scratch);
	buf_free(&outbuf);
	if (opt.trace && fclose(opt.trace) != 0)
		qa_warn("--trace: %s", strerror(errno));
	config_free(&config);
	host_fini();
	curl_global_cleanup();
}


/* ---- the command line (lib/opt.c): one row per option ---- */

/* What the command line names before the endpoints are set up (the rest goes into opt). */
static struct send_cli {
	const char *endpoint, *provider, *base_url, *model, *key_env, *config;
	const char *kl_base;	/* the llama provider's settings (worker.c) */
	long threads;
	const char *fallback, *trace;
	int seeded;
} cli;

static void concurrency_opt(const char *arg)
{
	static const struct qa_opt n = QA_ROW(QA_OPT_LONG, "concurrency", 'c', "N", NULL, NULL, .min = 1,
	    .max = 100000);
	opt.conc_given = 1;	/* auto: conc_setup() sets the run's slots */
	opt.conc_auto = strcmp(arg, "auto") == 0;
	opt.concurrency = opt.conc_auto ? PACE_CONC_CAP : (long)opt_number(&n, arg);
}

static void header_opt(const char *arg)
{
	if (!strchr(arg, ':') || strchr(arg, '\n') || strchr(arg, '\r'))
		qa_die(QA_EXIT_USAGE, "--header: not 'Name: value'");
	opt.headers = curl_slist_append(opt.headers, arg);
	remember_header(arg);
}

/* A duration on the command line, in seconds from lo (kept in milliseconds). */
#define SECONDS(name, flag, target, lo, help) \
	QA_ROW(QA_OPT_SECONDS, name, flag, "SECONDS", help, target, .min = (lo))

static const struct qa_opt rows[] = {
	QA_TEXT("Endpoint:"),
	QA_ROW(QA_OPT_STRING, "endpoint", 'e', "NAME", "endpoint from the config file (or a label for --provider)",
	    &cli.endpoint),
	QA_ROW(QA_OPT_STRING, "provider", 0, "NAME", "provider plugin: openai, openai-completions, mock, ...",
	    &cli.provider),
	QA_ROW(QA_OPT_STRING, "base-url", 0, "URL", "base URL with the version path (http://host/v1)", &cli.base_url),
	QA_ROW(QA_OPT_STRING, "model", 'm', "MODEL", "model (a record's own model wins)", &cli.model),
	QA_ROW(QA_OPT_STRING, "key-env", 0, "VAR", "variable holding the key (default: the provider's,\n"
	    "OPENAI_API_KEY)", &cli.key_env),
	QA_ROW(QA_OPT_STRING, "config", 0, "FILE", "endpoint config (default $QA_CONFIG, then\n"
	    "~/.config/qa/endpoints.conf)", &cli.config),
	QA_ROW(QA_OPT_CALL, "param", 'p', "KEY=VALUE", "default request parameter (a record's params win);\n"
	    "VALUE is JSON when it parses as JSON, else a string", NULL, .set = param_opt),
	QA_ROW(QA_OPT_CALL, "header", 'H', "'NAME: VALUE'", "extra request header (repeatable)", NULL,
	    .set = header_opt),
	QA_ROW(QA_OPT_FLAG, "http2-prior-knowledge", 0, NULL, "speak HTTP/2 over cleartext http:// (h2c)",
	    &opt.h2c),
	QA_ROW(QA_OPT_FLAG, "stream", 0, NULL, "stream the answer (openai, openai-completions) and\n"
	    "record ttft_ms, tpot_ms, itl_ms, chunk_gaps_ms, queue_ms", &opt.stream),
	QA_TEXT("Logprobs:"),
	QA_ROW(QA_OPT_ENUM, "mode", 0, "logprobs", "ask for the prompt's own logprobs (echo: true,\n"
	    "logprobs: 5, max_tokens: 0), for perplexity", &opt.logprobs_mode, .choices = "text|logprobs"),
	QA_ROW(QA_OPT_SIZE, "context", 0, "N", "score long prompts in windows of N tokens", &opt.context, .min = 2,
	    .max = 1e8),
	QA_ROW(QA_OPT_SIZE, "stride", 0, "S", "new tokens per window (default N/2)", &opt.stride, .min = 1,
	    .max = 1e8),
	QA_TEXT("An engine in the process (--provider llama, see qa-llama(7)):"),
	QA_ROW(QA_OPT_LONG, "threads", 0, "N", "its decode threads (default: the cores)", &cli.threads, .min = 1,
	    .max = 1024),
	QA_ROW(QA_OPT_STRING, "kl-base", 0, "FILE", "a baseline GGUF: each scored token's exact drift\n"
	    "from it, as response.drift", &cli.kl_base),
	QA_TEXT("Fallback:"),
	QA_ROW(QA_OPT_STRING, "fallback", 'F', "NAME,...", "endpoints to try, in turn, when a record's own\n"
	    "gives up (a record's fallback array wins)", &cli.fallback, .flags = QA_OPT_ONCE),
	SECONDS("cooldown", 0, &opt.cooldown_ms, 0, "how long an endpoint that fails too often is skipped\n"
	    "(default 5; 0: never)"),
	QA_ROW(QA_OPT_LONG, "allowed-fails", 0, "N", "failures in a row an endpoint may have before its\n"
	    "cooldown (default 3)", &opt.allowed_fails, .max = 1000000),
	QA_TEXT("Engine:"),
	QA_ROW(QA_OPT_CALL, "concurrency", 'c', "N|auto", "requests in flight at once; auto (the default when\n"
	    "an HTTP endpoint may be reached): each HTTP endpoint's\n"
	    "adapts on latency, from 4 up to its config's\n"
	    "concurrency or 64; in-process providers: 16", NULL, .set = concurrency_opt),
	QA_ROW(QA_OPT_WHOLE, "rpm", 0, "N", "requests per minute the endpoint allows (over the\n"
	    "config's rpm); qa-send paces to it", &opt.rpm, .min = 1, .max = 1e8),
	QA_ROW(QA_OPT_WHOLE, "tpm", 0, "N", "tokens per minute it allows (prompt + max_tokens)", &opt.tpm, .min = 1,
	    .max = 1e9),
	QA_ROW(QA_OPT_LONG, "window", 0, "N", "records held at once, for ordering (default 4 x N)", &opt.window,
	    .min = 1, .max = 1e7),
	QA_ROW(QA_OPT_FLAG, "unordered", 0, NULL, "write records as they finish, not in input order", &opt.unordered),
	QA_TEXT("Retries and time:"),
	QA_ROW(QA_OPT_LONG, "retries", 'r', "N", "retries after the first attempt (default 2)", &opt.retries,
	    .max = 100),
	SECONDS("backoff-base", 0, &opt.backoff_base_ms, 0, "first backoff ceiling (default 0.5)"),
	SECONDS("backoff-cap", 0, &opt.backoff_cap_ms, 0, "largest backoff ceiling (default 8)"),
	SECONDS("retry-after-max", 0, &opt.retry_after_max_ms, 0, "largest server-asked wait honoured (default 60)"),
	QA_ROW(QA_OPT_DOUBLE, "retry-budget", 0, "R", "retries the run may spend per record read, plus 20\n"
	    "(default 0.5)", &opt.retry_budget, .max = 100, .what = "a number of retries per record from 0 to 100"),
	QA_ROW(QA_OPT_LONG, "max-retries-total", 0, "N", "a fixed cap on the run's retries (default: none)",
	    &opt.max_retries_total, .max = 1e9),
	SECONDS("timeout", 't', &opt.timeout_ms, 0.001, "bound on one attempt (default 300)"),
	SECONDS("connect-timeout", 0, &opt.connect_timeout_ms, 0.001, "bound on connecting (default 10)"),
	SECONDS("deadline", 0, &opt.deadline_ms, 0.001, "bound on a record's attempts and waits (default 600)"),
	QA_ROW(QA_OPT_U64, "seed", 0, "N", "seed of the backoff jitter (default: from the clock)", &opt.seed,
	    .max = 9.3e18, .seen = &cli.seeded),
	SECONDS("grace", 0, &opt.grace_ms, 0, "on SIGINT, SIGTERM or SIGHUP, how long requests in\n"
	    "flight may finish (default 10)"),
	QA_ROW(QA_OPT_STRING, "trace", 0, "FILE", "write each retry decision to FILE as a JSON line", &cli.trace),
	QA_TEXT("Cache:"),
	QA_ROW(QA_OPT_CALL, "cache", 0, "FILE", "the response cache (default\n$XDG_CACHE_HOME/qa/responses.db)",
	    NULL, .set = cache_path_opt),
	QA_ROW(QA_OPT_CALL, "cache-mode", 0, "MODE", "read-write (default), read-only, refresh or off", NULL,
	    .call = cache_mode_opt),
	QA_ROW(QA_OPT_LONG, "samples", 0, "N", "write N records per input record, \"sample\" 0..N-1", &opt.samples,
	    .min = 1, .max = 1000000),
	QA_TEXT("Output:"),
	QA_ROW(QA_OPT_FLAG, "quiet", 'q', NULL, "no progress line on a terminal", &opt.quiet),
	QA_END_HELP_VERSION,
};

static const struct qa_opts options = {
	.prog = "qa-send",
	.usage = "usage: qa-send [-q] [--unordered] [-c N|auto] [--rpm N] [--tpm N] [-r N] [-t SECONDS]\n"
	    "               [-p KEY=VALUE]... [-e NAME] [--provider NAME] [--base-url URL]\n"
	    "               [--key-env VAR] [-m MODEL] [--config FILE] [-F NAME,...]\n"
	    "               [--mode logprobs [--context N [--stride S]]] [--grace SECONDS]\n"
	    "               [--trace FILE] [--stream] [--cache FILE] [--cache-mode MODE]\n"
	    "               [--samples N] [file ...]\n",
	.opt = rows,
	.col = 28,
	.tail =
	    "Exit status: 0 all records answered, 1 some records carry an error,\n"
	    "2 usage or configuration error.  See qa-send(1).\n",
};

/* --param's members as one JSON object, parsed once for lookups. */
static void setup_params(void)
{
	qa_buf p = { 0 };
	buf_addc(&p, '{');
	buf_add(&p, opt.params.p ? opt.params.p : "", opt.params.len);
	buf_addc(&p, '}');
	buf_free(&opt.params);
	opt.params = p;
	opt.params_j = json_new();
	const char *err;
	size_t off;
	if (json_parse(opt.params_j, opt.params.p, opt.params.len, &err, &off) < 0)
		qa_die(QA_EXIT_USAGE, "--param: %s", err);
}

/* The default endpoint: --endpoint from the config, then the command line over it. */
static void setup_endpoint(void)
{
	const qa_endpoint_conf *ec = cli.endpoint ? config_endpoint(&config, cli.endpoint) : NULL;
	if (cli.endpoint && !ec && !cli.provider)
		qa_die(QA_EXIT_USAGE, "unknown endpoint '%s' (%s%s)", cli.endpoint,
		    config.path ? "not in " : "no endpoint config; give --config FILE or --provider",
		    config.path ? config.path : "");
	const char *obu = getenv("OPENAI_BASE_URL");
	if (ec || cli.provider || (obu && *obu)) {
		const char *pv = cli.provider ? cli.provider : ec && ec->provider ? ec->provider : "openai";
		const char *name = cli.endpoint ? cli.endpoint : pv;
		default_ep = endpoint_make(name, pv, cli.base_url ? cli.base_url : ec ? ec->base_url : NULL,
		    cli.model ? cli.model : ec ? ec->model : NULL, cli.key_env ? cli.key_env : ec ? ec->key_env : NULL,
		    ec ? ec->concurrency : 0, ec ? ec->rpm : 0);
		stream_refuse(pv);
		if (default_ep->why)
			die_scrubbed(default_ep->why);
		engine_settings(default_ep, cli.threads ? cli.threads : ec ? ec->threads : 0,
		    cli.kl_base ? cli.kl_base : ec ? ec->kl_base : NULL);
		if ((cli.threads || cli.kl_base) && !default_ep->prov->l.plugin->provider->compute)
			qa_die(QA_EXIT_USAGE, "--threads and --kl-base are settings of an engine in the process "
			    "(--provider llama), not of '%s'", default_ep->prov->name);
	} else if (!config_loaded || !config.n) {
		qa_die(QA_EXIT_USAGE, "no endpoint: give --endpoint NAME, --provider NAME, or set OPENAI_BASE_URL "
		    "(try --provider mock)");
	} else if (cli.base_url || cli.model || cli.key_env) {
		qa_die(QA_EXIT_USAGE, "--base-url, --model and --key-env need --endpoint or --provider");
	}
}

/* The window of tasks, the easy handles and the multi handle. */
static void setup_tasks(void)
{
	ntasks = (size_t)(opt.window ? opt.window : 4 * opt.concurrency);
	if (ntasks < (size_t)opt.concurrency)
		ntasks = (size_t)opt.concurrency;
	tasks = xcalloc(ntasks, sizeof *tasks);
	for (size_t i = 0; i < ntasks; i++)
		tasks[i].next_ready = -1;
	if (opt.unordered) {
		free_slots = xmalloc(ntasks * sizeof *free_slots);
		for (size_t i = 0; i < ntasks; i++)
			free_slots[nfree++] = (int)(ntasks - 1 - i);
	}
	easy_pool = xcalloc((size_t)opt.concurrency, sizeof *easy_pool);
	fin = xcalloc((size_t)opt.concurrency, sizeof *fin);
	multi = curl_multi_init();
	curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, opt.concurrency);
	scratch = json_new();
}

/* Everything before the first record: options, limits, config, endpoints, the window. */
static void setup(int *argc, char ***argv)
{
	static const struct qa_opt minute = QA_ROW(QA_OPT_SECONDS, "QA_SEND_MINUTE", 0, NULL, NULL, NULL, .min = 0.001);
	opt_parse(&options, argc, argv);
	const char *m = getenv("QA_SEND_MINUTE");
	if (m && *m)
		opt.minute_ms = opt_number(&minute, m);
	rng_state = cli.seeded ? opt.seed : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	setup_params();
	setup_mode();
	if (cli.trace) {
		if (!(opt.trace = fopen(cli.trace, "w")))
			qa_die(QA_EXIT_USAGE, "--trace: %s: %s", cli.trace, strerror(errno));
		setvbuf(opt.trace, NULL, _IOLBF, 0);	/* whole lines, even if the run is killed */
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		qa_die(QA_EXIT_USAGE, "curl_global_init failed");
	char err[1200];
	int rc = config_load(&config, cli.config, err, sizeof err);
	if (rc < 0)
		qa_die(QA_EXIT_USAGE, "%s", err);
	config_loaded = rc == 0;
	stream_refuse(NULL);
	setup_endpoint();
	if (cli.fallback)
		setup_fallback(cli.fallback);
	conc_setup();
	setup_files();
	setup_tasks();
}

/* The end of the run on stderr: errors by type, the cache, fallbacks, the server, the retry budget. */
static void report_end(void)
{
	if (stats.errors) {
		qa_buf b = { 0 };
		for (size_t i = 0; i < stats.ntypes; i++)
			buf_printf(&b, "%s%ld %s", i ? ", " : "", stats.by_type[i], stats.types[i]);
		qa_warn("%ld of %ld record%s %s an error (%s)", stats.errors, stats.read,
		    stats.read == 1 ? "" : "s", stats.errors == 1 ? "carries" : "carry", buf_cstr(&b));
		buf_free(&b);
	}
	if (cache_hits)
		qa_warn("%ld of %ld record%s served from the response cache, %ld request%s sent", cache_hits,
		    stats.read, stats.read == 1 ? "" : "s", stats.requests, stats.requests == 1 ? "" : "s");
	report_fallback();
	report_server();
	if (stats.retries || stats.denied)
		qa_warn("%ld retr%s of a budget of %.0f (20 + %g per record read)%s", stats.retries,
		    stats.retries == 1 ? "y" : "ies", budget_total(), opt.retry_budget,
		    stats.denied ? "; the budget refused some" : "");
}

int main(int argc, char **argv)
{
	qa_tool_init(argv[0]);
	setup(&argc, &argv);

	static char *stdin_only[] = { "-" };
	struct feed f = { .files = argc ? argv : stdin_only, .nfiles = argc ? argc : 1, .fd = -1 };
	progress_on = !opt.quiet && isatty(2);
	stats.total = progress_on ? count_lines(f.files, f.nfiles) : -1;
	if (stats.total > 0 && opt.samples > 1)
		stats.total *= opt.samples;
	feed_next_file(&f);

	cache_setup();
	setup_signals();
	run(&f);
	if (stopping) {
		int more;
		long left = never_admitted(&f, &more);
		progress_clear();
		qa_warn("%s: stopped admitting records; %ld input record%s never admitted%s", strsignal(got_signal),
		    left, left == 1 ? " was" : "s were", more ? " (and the input went on)" : "");
		status_raise(QA_EXIT_DATA);
	}
	if (f.own)
		close(f.fd);
	free(f.buf);
	report_end();
	if (f.failed)
		status_raise(QA_EXIT_USAGE);
	out_close();
	cleanup();
	return status_get();
}
