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

const char usage_text[] =
    "usage: qa-send [-q] [--unordered] [-c N|auto] [-r N] [-t SECONDS] [-p KEY=VALUE]...\n"
    "               [--grace SECONDS] [--trace FILE] [--stream]\n"
    "               [-e NAME] [--provider NAME] [--base-url URL] [--key-env VAR] [-m MODEL]\n"
    "               [--config FILE] [-F NAME,...] [file ...]\n"
    "\n"
    "Endpoint:\n"
    "  -e, --endpoint NAME       endpoint from the config file (or a label for --provider)\n"
    "      --provider NAME       provider plugin: openai, openai-completions, mock, ...\n"
    "      --base-url URL        base URL with the version path (http://host/v1)\n"
    "  -m, --model MODEL         model (a record's own model wins)\n"
    "      --key-env VAR         variable holding the key (default: the provider's,\n"
    "                            OPENAI_API_KEY)\n"
    "      --config FILE         endpoint config (default $QA_CONFIG, then\n"
    "                            ~/.config/qa/endpoints.conf)\n"
    "  -p, --param KEY=VALUE     default request parameter (a record's params win);\n"
    "                            VALUE is JSON when it parses as JSON, else a string\n"
    "  -H, --header 'NAME: VALUE'  extra request header (repeatable)\n"
    "      --http2-prior-knowledge  speak HTTP/2 over cleartext http:// (h2c)\n"
    "      --stream              stream the answer (openai, openai-completions) and\n"
    "                            record ttft_ms, tpot_ms, itl_ms, chunk_gaps_ms, queue_ms\n"
    "Logprobs:\n"
    "      --mode logprobs       ask for the prompt's own logprobs (echo: true,\n"
    "                            logprobs: 5, max_tokens: 0), for perplexity\n"
    "      --context N           score long prompts in windows of N tokens\n"
    "      --stride S            new tokens per window (default N/2)\n"
    "An engine in the process (--provider llama, see qa-llama(7)):\n"
    "      --threads N           its decode threads (default: the cores)\n"
    "      --kl-base FILE        a baseline GGUF: each scored token's exact drift\n"
    "                            from it, as response.drift\n"
    "Fallback:\n"
    "  -F, --fallback NAME,...   endpoints to try, in turn, when a record's own\n"
    "                            gives up (a record's fallback array wins)\n"
    "      --cooldown SECONDS    how long an endpoint that fails too often is skipped\n"
    "                            (default 5; 0: never)\n"
    "      --allowed-fails N     failures in a row an endpoint may have before its\n"
    "                            cooldown (default 3)\n"
    "Engine:\n"
    "  -c, --concurrency N|auto  requests in flight at once; auto (the default when\n"
    "                            an HTTP endpoint may be reached): each HTTP endpoint's\n"
    "                            adapts on latency, from 4 up to its config's\n"
    "                            concurrency or 64; in-process providers: 16\n"
    "      --rpm N               requests per minute the endpoint allows (over the\n"
    "                            config's rpm); qa-send paces to it\n"
    "      --tpm N               tokens per minute it allows (prompt + max_tokens)\n"
    "      --window N            records held at once, for ordering (default 4 x N)\n"
    "      --unordered           write records as they finish, not in input order\n"
    "Retries and time:\n"
    "  -r, --retries N           retries after the first attempt (default 2)\n"
    "      --backoff-base SECONDS  first backoff ceiling (default 0.5)\n"
    "      --backoff-cap SECONDS   largest backoff ceiling (default 8)\n"
    "      --retry-after-max SECONDS  largest server-asked wait honoured (default 60)\n"
    "      --retry-budget R      retries the run may spend per record read, plus 20\n"
    "                            (default 0.5)\n"
    "      --max-retries-total N a fixed cap on the run's retries (default: none)\n"
    "  -t, --timeout SECONDS     bound on one attempt (default 300)\n"
    "      --connect-timeout SECONDS  bound on connecting (default 10)\n"
    "      --deadline SECONDS    bound on a record's attempts and waits (default 600)\n"
    "      --seed N              seed of the backoff jitter (default: from the clock)\n"
    "      --grace SECONDS       on SIGINT, SIGTERM or SIGHUP, how long requests in\n"
    "                            flight may finish (default 10)\n"
    "      --trace FILE          write each retry decision to FILE as a JSON line\n"
    "Cache:\n"
    "      --cache FILE          the response cache (default\n"
    "                            $XDG_CACHE_HOME/qa/responses.db)\n"
    "      --cache-mode MODE     read-write (default), read-only, refresh or off\n"
    "Output:\n"
    "  -q, --quiet               no progress line on a terminal\n"
    "  -h, --help                show this help and exit\n"
    "  -V, --version             show the version and exit\n"
    "\n"
    "Exit status: 0 all records answered, 1 some records carry an error,\n"
    "2 usage or configuration error.  See qa-send(1).\n";

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
void add_param(const char *arg)
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

double seconds_arg(const char *name, const char *s, double min)
{
	double v;
	if (parse_double(s, min, 1e7, &v) < 0)
		qa_die(QA_EXIT_USAGE, "--%s: '%s' is not a number of seconds from %g", name, s, min);
	return v * 1000;
}

long count_arg(const char *name, const char *s, long min, long max)
{
	long v;
	if (parse_long(s, min, max, &v) < 0)
		qa_die(QA_EXIT_USAGE, "--%s: '%s' is not a whole number from %ld to %ld", name, s, min, max);
	return v;
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

size_t on_side_body(char *p, size_t size, size_t n, void *arg)
{
	qa_buf *b = arg;
	if (b->len + size * n > (1u << 20))
		return 0;
	buf_add(b, p, size * n);
	return size * n;
}

/* The answer of the last side request: scratch points into it. */
qa_buf side_body;

/*
 * One small request to the server beside the API (llama.cpp's /props,
 * /tokenize): the base URL without its /v1, at most 2 s, failures
 * ignored.  The parsed answer in scratch, or -1.
 */
int side_request(const struct endpoint *e, const char *path, const char *post)
{
	qa_buf url = { 0 }, *body = &side_body;
	body->len = 0;
	size_t n = strlen(e->base_url);
	while (n && e->base_url[n - 1] == '/')
		n--;
	if (n >= 3 && strncmp(e->base_url + n - 3, "/v1", 3) == 0)
		n -= 3;
	buf_add(&url, e->base_url, n);
	buf_adds(&url, path);
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	int rc = -1;
	long status = 0;
	if (!c)
		goto out;
	h = curl_slist_append(h, "Content-Type: application/json");
	if (e->auth)
		h = curl_slist_append(h, e->auth);
	curl_easy_setopt(c, CURLOPT_URL, buf_cstr(&url));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "qa-send/" QA_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_side_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	if (curl_easy_perform(c) == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
	    status == 200 && json_parse(scratch, buf_cstr(body), body->len, &(const char *){ 0 },
	    &(size_t){ 0 }) == 0)
		rc = 0;
out:
	curl_slist_free_all(h);
	if (c)
		curl_easy_cleanup(c);
	buf_free(&url);
	return rc;
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
			int known = side_request(e, "/props", NULL) == 0 &&
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

QA_NORETURN void usage(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	exit(status);
}

void cleanup(void)
{
	workers_end();	/* before the tasks go: a worker may still hold one */
	cache_teardown();
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

int main(int argc, char **argv)
{
	enum {
		O_ALLOWED_FAILS = 256, O_BACKOFF_BASE, O_BACKOFF_CAP, O_BASE_URL, O_CONFIG, O_CONNECT_TIMEOUT,
		O_COOLDOWN, O_DEADLINE, O_H2C, O_KEY_ENV, O_MAX_RETRIES_TOTAL, O_PROVIDER, O_RETRY_AFTER_MAX,
		O_THREADS, O_KL_BASE,
		O_SEED, O_UNORDERED, O_WINDOW, O_MODE, O_CONTEXT, O_STRIDE, O_GRACE, O_RETRY_BUDGET, O_TRACE,
		O_STREAM,
		O_CACHE, O_CACHE_MODE,
		O_RPM, O_TPM,
	};
	static const struct option longopts[] = {
		{ "allowed-fails", required_argument, NULL, O_ALLOWED_FAILS },
		{ "backoff-base", required_argument, NULL, O_BACKOFF_BASE },
		{ "backoff-cap", required_argument, NULL, O_BACKOFF_CAP },
		{ "base-url", required_argument, NULL, O_BASE_URL },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT },
		{ "context", required_argument, NULL, O_CONTEXT },
		{ "cooldown", required_argument, NULL, O_COOLDOWN },
		{ "deadline", required_argument, NULL, O_DEADLINE },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "fallback", required_argument, NULL, 'F' },
		{ "grace", required_argument, NULL, O_GRACE },
		{ "header", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ "http2-prior-knowledge", no_argument, NULL, O_H2C },
		{ "key-env", required_argument, NULL, O_KEY_ENV },
		{ "max-retries-total", required_argument, NULL, O_MAX_RETRIES_TOTAL },
		{ "mode", required_argument, NULL, O_MODE },
		{ "model", required_argument, NULL, 'm' },
		{ "param", required_argument, NULL, 'p' },
		{ "provider", required_argument, NULL, O_PROVIDER },
		{ "quiet", no_argument, NULL, 'q' },
		{ "retries", required_argument, NULL, 'r' },
		{ "rpm", required_argument, NULL, O_RPM },
		{ "tpm", required_argument, NULL, O_TPM },
		{ "retry-after-max", required_argument, NULL, O_RETRY_AFTER_MAX },
		{ "retry-budget", required_argument, NULL, O_RETRY_BUDGET },
		{ "seed", required_argument, NULL, O_SEED },
		{ "stride", required_argument, NULL, O_STRIDE },
		{ "timeout", required_argument, NULL, 't' },
		{ "trace", required_argument, NULL, O_TRACE },
		{ "stream", no_argument, NULL, O_STREAM },
		{ "unordered", no_argument, NULL, O_UNORDERED },
		{ "version", no_argument, NULL, 'V' },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "kl-base", required_argument, NULL, O_KL_BASE },
		{ "cache", required_argument, NULL, O_CACHE },
		{ "cache-mode", required_argument, NULL, O_CACHE_MODE },
		{ NULL, 0, NULL, 0 },
	};
	const char *endpoint = NULL, *provider = NULL, *base_url = NULL, *model = NULL, *key_env = NULL;
	const char *kl_base = NULL;	/* the llama provider's settings (worker.c) */
	long threads = 0;
	const char *config_path = NULL, *fallback = NULL, *trace_path = NULL;
	int c, seeded = 0;

	qa_tool_init(argv[0]);
	while ((c = getopt_long(argc, argv, "c:e:F:hH:m:p:qr:t:V", longopts, NULL)) != -1) {
		switch (c) {
		case O_ALLOWED_FAILS: opt.allowed_fails = count_arg("allowed-fails", optarg, 0, 1000000); break;
		case O_BACKOFF_BASE: opt.backoff_base_ms = seconds_arg("backoff-base", optarg, 0); break;
		case O_BACKOFF_CAP: opt.backoff_cap_ms = seconds_arg("backoff-cap", optarg, 0); break;
		case O_BASE_URL: base_url = optarg; break;
		case 'c':	/* auto: conc_setup() sets the run's slots */
			opt.conc_given = 1;
			opt.conc_auto = strcmp(optarg, "auto") == 0;
			opt.concurrency = opt.conc_auto ? PACE_CONC_CAP : count_arg("concurrency", optarg, 1, 100000);
			break;
		case O_RPM: opt.rpm = (double)count_arg("rpm", optarg, 1, 100000000); break;
		case O_TPM: opt.tpm = (double)count_arg("tpm", optarg, 1, 1000000000); break;
		case O_CONFIG: config_path = optarg; break;
		case O_CONNECT_TIMEOUT: opt.connect_timeout_ms = seconds_arg("connect-timeout", optarg, 0.001); break;
		case O_CONTEXT: opt.context = (size_t)count_arg("context", optarg, 2, 100000000); break;
		case O_COOLDOWN: opt.cooldown_ms = seconds_arg("cooldown", optarg, 0); break;
		case O_DEADLINE: opt.deadline_ms = seconds_arg("deadline", optarg, 0.001); break;
		case 'e': endpoint = optarg; break;
		case 'F':
			if (fallback)
				qa_die(QA_EXIT_USAGE, "--fallback given twice");
			fallback = optarg;
			break;
		case 'H':
			if (!strchr(optarg, ':') || strchr(optarg, '\n') || strchr(optarg, '\r'))
				qa_die(QA_EXIT_USAGE, "--header: not 'Name: value'");
			opt.headers = curl_slist_append(opt.headers, optarg);
			remember_header(optarg);
			break;
		case O_GRACE: opt.grace_ms = seconds_arg("grace", optarg, 0); break;
		case 'h': usage(QA_EXIT_OK);
		case O_H2C: opt.h2c = 1; break;
		case O_STREAM: opt.stream = 1; break;
		case O_KEY_ENV: key_env = optarg; break;
		case O_MAX_RETRIES_TOTAL:
			opt.max_retries_total = count_arg("max-retries-total", optarg, 0, 1000000000);
			break;
		case 'm': model = optarg; break;
		case O_THREADS: threads = (long)count_arg("threads", optarg, 1, 1024); break;
		case O_KL_BASE: kl_base = optarg; break;
		case O_MODE:
			if (strcmp(optarg, "logprobs") != 0 && strcmp(optarg, "text") != 0)
				qa_die(QA_EXIT_USAGE, "--mode: '%s' is not text or logprobs", optarg);
			opt.logprobs_mode = strcmp(optarg, "logprobs") == 0;
			break;
		case 'p': add_param(optarg); break;
		case O_PROVIDER: provider = optarg; break;
		case 'q': opt.quiet = 1; break;
		case 'r': opt.retries = count_arg("retries", optarg, 0, 100); break;
		case O_RETRY_AFTER_MAX: opt.retry_after_max_ms = seconds_arg("retry-after-max", optarg, 0); break;
		case O_RETRY_BUDGET:
			if (parse_double(optarg, 0, 100, &opt.retry_budget) < 0)
				qa_die(QA_EXIT_USAGE, "--retry-budget: '%s' is not a number of retries per record from 0 "
				    "to 100", optarg);
			break;
		case O_STRIDE: opt.stride = (size_t)count_arg("stride", optarg, 1, 100000000); break;
		case O_SEED:
			opt.seed = (uint64_t)count_arg("seed", optarg, 0, 0x7fffffffffffffffL);
			seeded = 1;
			break;
		case 't': opt.timeout_ms = seconds_arg("timeout", optarg, 0.001); break;
		case O_TRACE: trace_path = optarg; break;
		case O_UNORDERED: opt.unordered = 1; break;
		case 'V':
			printf("qa-send %s\n", QA_VERSION);
			return QA_EXIT_OK;
		case O_WINDOW: opt.window = count_arg("window", optarg, 1, 10000000); break;
		case O_CACHE: cache_path_opt(optarg); break;
		case O_CACHE_MODE:
			if (cache_mode_opt(optarg) < 0)
				qa_die(QA_EXIT_USAGE, "--cache-mode: '%s' is not read-write, read-only, refresh or off",
				    optarg);
			break;
		default: usage(QA_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	const char *minute = getenv("QA_SEND_MINUTE");
	if (minute && *minute)
		opt.minute_ms = seconds_arg("QA_SEND_MINUTE", minute, 0.001);
	rng_state = seeded ? opt.seed : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	opt.params_j = json_new();
	{
		qa_buf p = { 0 };
		buf_addc(&p, '{');
		buf_add(&p, opt.params.p ? opt.params.p : "", opt.params.len);
		buf_addc(&p, '}');
		buf_free(&opt.params);
		opt.params = p;
		const char *err;
		size_t off;
		if (json_parse(opt.params_j, opt.params.p, opt.params.len, &err, &off) < 0)
			qa_die(QA_EXIT_USAGE, "--param: %s", err);
	}
	setup_mode();
	if (trace_path) {
		if (!(opt.trace = fopen(trace_path, "w")))
			qa_die(QA_EXIT_USAGE, "--trace: %s: %s", trace_path, strerror(errno));
		setvbuf(opt.trace, NULL, _IOLBF, 0);	/* whole lines, even if the run is killed */
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		qa_die(QA_EXIT_USAGE, "curl_global_init failed");

	char err[1200];
	int rc = config_load(&config, config_path, err, sizeof err);
	if (rc < 0)
		qa_die(QA_EXIT_USAGE, "%s", err);
	config_loaded = rc == 0;
	stream_refuse(NULL);

	/* The default endpoint: --endpoint from the config, then the command line over it. */
	const qa_endpoint_conf *ec = endpoint ? config_endpoint(&config, endpoint) : NULL;
	if (endpoint && !ec && !provider)
		qa_die(QA_EXIT_USAGE, "unknown endpoint '%s' (%s%s)", endpoint,
		    config.path ? "not in " : "no endpoint config; give --config FILE or --provider",
		    config.path ? config.path : "");
	const char *obu = getenv("OPENAI_BASE_URL");
	if (ec || provider || (obu && *obu)) {
		const char *pv = provider ? provider : ec && ec->provider ? ec->provider : "openai";
		const char *name = endpoint ? endpoint : pv;
		default_ep = endpoint_make(name, pv, base_url ? base_url : ec ? ec->base_url : NULL,
		    model ? model : ec ? ec->model : NULL, key_env ? key_env : ec ? ec->key_env : NULL,
		    ec ? ec->concurrency : 0, ec ? ec->rpm : 0);
		stream_refuse(pv);
		if (default_ep->why)
			die_scrubbed(default_ep->why);
		engine_settings(default_ep, threads ? threads : ec ? ec->threads : 0,
		    kl_base ? kl_base : ec ? ec->kl_base : NULL);
		if ((threads || kl_base) && !default_ep->prov->l.plugin->provider->compute)
			qa_die(QA_EXIT_USAGE, "--threads and --kl-base are settings of an engine in the process "
			    "(--provider llama), not of '%s'", default_ep->prov->name);
	} else if (!config_loaded || !config.n) {
		qa_die(QA_EXIT_USAGE, "no endpoint: give --endpoint NAME, --provider NAME, or set OPENAI_BASE_URL "
		    "(try --provider mock)");
	} else if (base_url || model || key_env) {
		qa_die(QA_EXIT_USAGE, "--base-url, --model and --key-env need --endpoint or --provider");
	}
	if (fallback)
		setup_fallback(fallback);
	conc_setup();
	setup_files();

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

	static char *stdin_only[] = { "-" };
	struct feed f = { .files = argc ? argv : stdin_only, .nfiles = argc ? argc : 1, .fd = -1 };
	progress_on = !opt.quiet && isatty(2);
	stats.total = progress_on ? count_lines(f.files, f.nfiles) : -1;
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
	if (f.failed)
		status_raise(QA_EXIT_USAGE);
	out_close();
	cleanup();
	return status_get();
}
