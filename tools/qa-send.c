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
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qa.h"

static const char usage_text[] =
    "usage: qa-send [-q] [--unordered] [-c N] [-r N] [-t SECONDS] [-p KEY=VALUE]...\n"
    "               [--grace SECONDS] [--trace FILE]\n"
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
    "Logprobs:\n"
    "      --mode logprobs       ask for the prompt's own logprobs (echo: true,\n"
    "                            logprobs: 5, max_tokens: 0), for perplexity\n"
    "      --context N           score long prompts in windows of N tokens\n"
    "      --stride S            new tokens per window (default N/2)\n"
    "Fallback:\n"
    "  -F, --fallback NAME,...   endpoints to try, in turn, when a record's own\n"
    "                            gives up (a record's fallback array wins)\n"
    "      --cooldown SECONDS    how long an endpoint that fails too often is skipped\n"
    "                            (default 5; 0: never)\n"
    "      --allowed-fails N     failures in a row an endpoint may have before its\n"
    "                            cooldown (default 3)\n"
    "Engine:\n"
    "  -c, --concurrency N       requests in flight at once (default 16)\n"
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
    "Output:\n"
    "  -q, --quiet               no progress line on a terminal\n"
    "  -h, --help                show this help and exit\n"
    "  -V, --version             show the version and exit\n"
    "\n"
    "Exit status: 0 all records answered, 1 some records carry an error,\n"
    "2 usage or configuration error.  See qa-send(1).\n";

/* ---- settings ---- */

static struct {
	long concurrency, window, retries, max_retries_total;	/* max_retries_total < 0: no fixed cap */
	double retry_budget;		/* --retry-budget: retries per record read */
	double grace_ms;		/* --grace */
	FILE *trace;			/* --trace */
	double timeout_ms, connect_timeout_ms, deadline_ms;
	double backoff_base_ms, backoff_cap_ms, retry_after_max_ms;
	double cooldown_ms;		/* 0: no cooldown breaker */
	long allowed_fails;
	struct endpoint **fallback;	/* --fallback, for records without their own */
	size_t nfallback;
	int unordered, quiet, h2c;
	int logprobs_mode;		/* --mode logprobs */
	size_t context, stride;		/* --context, --stride: windows of the prompt, in tokens */
	uint64_t seed;
	struct curl_slist *headers;	/* --header */
	qa_buf params;			/* --param, as JSON members: "k":v,"k2":v2 */
	qa_json *params_j;		/* the same as an object, for lookups */
} opt = {
	.concurrency = 16, .retries = 2, .max_retries_total = -1, .retry_budget = 0.5, .grace_ms = 10e3,
	.timeout_ms = 300e3, .connect_timeout_ms = 10e3, .deadline_ms = 600e3,
	.backoff_base_ms = 500, .backoff_cap_ms = 8000, .retry_after_max_ms = 60e3,
	.cooldown_ms = 5000, .allowed_fails = 3,
};

/* Consecutive 401/403 answers after which an endpoint gets no more requests. */
#define AUTH_BREAK 3
/* Longest response body kept; past it, the answer is a bad_response. */
#define MAX_BODY (64u << 20)
/* Longest error message written, in bytes. */
#define MAX_MESSAGE 500
/* Most endpoints in one record's chain: its own and its fallbacks. */
#define MAX_CHAIN 16
/*
 * The cooldown breaker's second rule, LiteLLM's: more than half of an
 * endpoint's requests failed, among at least this many in the minute.
 */
#define COOL_MIN_REQUESTS 5
#define COOL_WINDOW_MS 60000.0
/* A wait no server asked for (retry-after and the like). */
#define HINT_NONE (-1e300)
/*
 * The run's retry budget: RETRY_FLOOR retries, plus --retry-budget per
 * record read so far.  It grows with the run, so a long run cannot spend
 * it early by accident; an endpoint that fails everything still costs at
 * most that many requests more than the records.
 */
#define RETRY_FLOOR 20

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* splitmix64: the backoff jitter, reproducible with --seed. */
static uint64_t rng_state;

static double rng_unif(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	z ^= z >> 31;
	return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- keys never leave the process ---- */

/*
 * Every secret qa-send was given: the key variables' values, the values
 * of credential-like --header lines, the userinfo of base URLs.  A server
 * may quote one back in any case (a key echoed lower-cased), so they are
 * found case-insensitively.
 */
static char **keys;
static size_t nkeys;

static const char *find_nocase(const char *h, size_t hl, const char *n, size_t nl)
{
	for (size_t i = 0; nl <= hl && i <= hl - nl; i++)
		if (strncasecmp(h + i, n, nl) == 0)
			return h + i;
	return NULL;
}

/* Replaces every key in b with [redacted]. */
static void scrub(qa_buf *b)
{
	for (size_t k = 0; k < nkeys; k++) {
		size_t kl = strlen(keys[k]), from = 0;
		const char *hit;
		while (b->len > from && (hit = find_nocase(b->p + from, b->len - from, keys[k], kl))) {
			static const char red[] = "[redacted]";
			size_t at = (size_t)(hit - b->p), rl = sizeof red - 1;
			if (rl > kl)
				buf_grow(b, rl - kl);
			memmove(b->p + at + rl, b->p + at + kl, b->len - at - kl);
			memcpy(b->p + at, red, rl);
			b->len = b->len - kl + rl;
			from = at + rl;
		}
	}
}

static void remember_key(const char *key)
{
	/* Too short to scrub without mangling text; such a key is no secret anyway. */
	if (strlen(key) < 8)
		return;
	for (size_t k = 0; k < nkeys; k++)
		if (strcasecmp(keys[k], key) == 0)
			return;
	keys = xreallocarray(keys, nkeys + 1, sizeof *keys);
	keys[nkeys++] = xstrdup(key);
}

/*
 * A --header line's value is a secret when the name says so
 * (Authorization, api-key, x-api-key, anything with key, token, secret,
 * auth or cookie in it) or when it looks like a key: 8 or more
 * characters of one word that mixes letters and digits.  Its last word
 * is remembered too, so "Bearer sk-..." is scrubbed without "Bearer".
 */
static void remember_header(const char *line)
{
	const char *colon = strchr(line, ':');
	size_t nl = (size_t)(colon - line);
	const char *v = colon + 1;
	v += strspn(v, " \t");
	static const char *const names[] = { "key", "token", "secret", "auth", "cookie", "password", "signature" };
	int named = 0;
	for (size_t i = 0; i < sizeof names / sizeof *names && !named; i++)
		named = find_nocase(line, nl, names[i], strlen(names[i])) != NULL;
	size_t vl = strlen(v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	char *val = xstrndup(v, vl);
	const char *last = strrchr(val, ' ');
	last = last ? last + 1 : val;
	int alpha = 0, digit = 0;
	for (const char *p = last; *p; p++)
		alpha |= (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'), digit |= *p >= '0' && *p <= '9';
	if (named || (strlen(last) >= 8 && alpha && digit)) {
		remember_key(val);
		remember_key(last);
	}
	free(val);
}

/* "https://user:pass@host/v1": the userinfo, and the password alone. */
static void remember_userinfo(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return;
	p += 3;
	size_t auth = strcspn(p, "/?#");
	const char *at = memrchr(p, '@', auth);
	if (!at)
		return;
	char *ui = xstrndup(p, (size_t)(at - p));
	remember_key(ui);
	char *colon = strchr(ui, ':');
	if (colon)
		remember_key(colon + 1);
	free(ui);
}

/* qa_die() for a message that may hold a secret (a URL's userinfo). */
static QA_NORETURN void die_scrubbed(const char *msg)
{
	qa_buf b = { 0 };
	buf_adds(&b, msg);
	scrub(&b);
	qa_die(QA_EXIT_USAGE, "%s", buf_cstr(&b));
}

/* ---- stderr: warnings and the progress line share it ---- */

static int progress_on, progress_drawn;

static void progress_clear(void)
{
	if (progress_drawn) {
		fputs("\r\033[K", stderr);
		progress_drawn = 0;
	}
}

/* A warning whose text may hold what a server said: scrubbed. */
static void warn_scrubbed(const char *file, unsigned long line, const char *fmt, ...) QA_PRINTF(3, 4);
static void warn_scrubbed(const char *file, unsigned long line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	qa_buf b = { 0 };
	buf_adds(&b, msg);
	scrub(&b);
	progress_clear();
	if (file)
		qa_warn_at(file, line, "%s", buf_cstr(&b));
	else
		qa_warn("%s", buf_cstr(&b));
	buf_free(&b);
}

/* ---- providers ---- */

struct provider {
	char *name;
	qa_loaded l;
	void *state;
	char *err;		/* why it is not usable */
};

static struct provider **provs;
static size_t nprovs;

static struct provider *provider_get(const char *name)
{
	for (size_t i = 0; i < nprovs; i++)
		if (strcmp(provs[i]->name, name) == 0)
			return provs[i];
	provs = xreallocarray(provs, nprovs + 1, sizeof *provs);
	struct provider *p = provs[nprovs++] = xcalloc(1, sizeof *p);
	p->name = xstrdup(name);
	char err[1024];
	if (plugin_load(name, QA_KIND_PROVIDER, &p->l, err, sizeof err) < 0) {
		p->err = xstrdup(err);
		return p;
	}
	const struct qa_plugin *pl = p->l.plugin;
	if (pl->init) {
		qa_json *empty = json_new();
		const char *e;
		size_t off;
		json_parse(empty, "{}", 2, &e, &off);
		char *ierr = NULL;
		if (pl->init(empty, &p->state, &ierr) < 0) {
			snprintf(err, sizeof err, "%s: init failed: %s", p->l.path, ierr ? ierr : "no reason given");
			p->err = xstrdup(err);
			free(ierr);
			if (p->state && pl->fini)
				pl->fini(p->state);
			p->state = NULL;
		}
		host_reset();
		json_free(&empty);
	}
	return p;
}

/* ---- endpoints ---- */

/*
 * An endpoint is a provider at a base URL with a model and a key.  The
 * default one comes from the command line (and the config, with
 * --endpoint); records name others from the config.  Resolution is
 * endpoint_named(); what happens when one fails is decided in decide()
 * and give_up(): retry there, go on to the next endpoint of the record's
 * chain (fall_back()), or end the record.  The cooldown breaker
 * (note_outcome()) keeps records away from an endpoint that keeps failing.
 */
struct endpoint {
	char *name;
	struct provider *prov;
	char *base_url, *model;
	char *auth;		/* the auth header line, key included, or NULL */
	long concurrency, rpm;	/* 0: no limit of its own */
	char *why;		/* set when unusable: every record gets this error */
	const char *why_type;
	int inflight;
	double next_start;	/* rpm pacing */
	int auth_fails, auth_broken;
	/* the cooldown breaker */
	double cool_until;	/* records with another endpoint to go to skip it until then */
	long fails;		/* failed attempts in a row */
	double win_start;	/* this minute's attempts and failures, for the ratio rule */
	long win_req, win_fail;
	long cooldowns;		/* times it went into cooldown, for the summary */
	long served;		/* records it answered as a fallback, for the summary */
	char cool_why[64];	/* what put it there, for the records that skip it */
	/* What a server that times itself (llama.cpp) said, for report_server() */
	long st_n, st_slow;	/* answers with server_timings; those much slower than its compute */
	double st_lat, st_comp;	/* the slow ones' latency and compute, summed */
	char *chat_prompt;	/* the first chat request made from a prompt string, */
	double chat_tokens;	/* and the prompt_tokens the server counted for it */
};

static struct endpoint **eps;
static size_t neps;
static struct endpoint *default_ep;
static qa_config config;
static int config_loaded;

static int url_ok(const char *u)
{
	return strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0;
}

/*
 * Fills in an endpoint from its provider's defaults: base URL from its
 * variable or default, key from key_env or the provider's variable.
 * strict: a missing key variable or base URL is a configuration error
 * (the default endpoint); else it makes the endpoint unusable.
 */
static struct endpoint *endpoint_make(const char *name, const char *provider, const char *base_url,
    const char *model, const char *key_env, long concurrency, long rpm)
{
	struct endpoint *e = xcalloc(1, sizeof *e);
	e->name = xstrdup(name);
	e->concurrency = concurrency;
	e->rpm = rpm;
	e->model = model && *model ? xstrdup(model) : NULL;
	eps = xreallocarray(eps, neps + 1, sizeof *eps);
	eps[neps++] = e;
	char why[1200];
	e->prov = provider_get(provider ? provider : "openai");
	if (e->prov->err) {
		e->why = xstrdup(e->prov->err);
		e->why_type = "bad_record";
		return e;
	}
	const struct qa_plugin *pl = e->prov->l.plugin;
	if (pl->respond)
		return e;	/* in-process: no URL, no key */
	const char *env = pl->base_url_env ? getenv(pl->base_url_env) : NULL;
	const char *url = base_url && *base_url ? base_url : env && *env ? env : pl->base_url;
	if (!url) {
		snprintf(why, sizeof why, "endpoint '%s': no base URL (give --base-url or base_url)", name);
		e->why = xstrdup(why);
		e->why_type = "bad_record";
		return e;
	}
	e->base_url = xstrdup(url);
	remember_userinfo(url);
	if (!url_ok(url)) {
		snprintf(why, sizeof why, "endpoint '%s': base URL '%s' is not http:// or https://", name, url);
		e->why = xstrdup(why);
		e->why_type = "bad_record";
		return e;
	}
	if (pl->auth_header) {
		const char *var = key_env && *key_env ? key_env : pl->key_env;
		const char *key = var ? getenv(var) : NULL;
		if (key && *key) {
			size_t n = strlen(pl->auth_header) + strlen(key) + 1;
			e->auth = xmalloc(n);
			snprintf(e->auth, n, "%s%s", pl->auth_header, key);
			remember_key(key);
		} else if (key_env && *key_env) {
			snprintf(why, sizeof why, "endpoint '%s': %s is not set (its key_env)", name, key_env);
			e->why = xstrdup(why);
			e->why_type = "auth";
		} else if (var) {
			warn_scrubbed(NULL, 0, "endpoint '%s': %s is not set: its requests carry no key", name, var);
		}
	}
	return e;
}

static void endpoint_free(struct endpoint *e)
{
	free(e->name);
	free(e->base_url);
	free(e->model);
	free(e->auth);
	free(e->why);
	free(e->chat_prompt);
	free(e);
}

/* The endpoint a record names: the default one, one made before, or one from the config. */
static struct endpoint *endpoint_named(const char *name)
{
	for (size_t i = 0; i < neps; i++)
		if (strcmp(eps[i]->name, name) == 0)
			return eps[i];
	const qa_endpoint_conf *c = config_loaded ? config_endpoint(&config, name) : NULL;
	if (!c) {
		struct endpoint *e = xcalloc(1, sizeof *e);
		e->name = xstrdup(name);
		char why[1200];
		snprintf(why, sizeof why, "unknown endpoint '%s' (%s%s)", name,
		    config.path ? "not in " : "no endpoint config", config.path ? config.path : "");
		e->why = xstrdup(why);
		e->why_type = "bad_record";
		eps = xreallocarray(eps, neps + 1, sizeof *eps);
		eps[neps++] = e;
		return e;
	}
	struct endpoint *e = endpoint_make(name, c->provider, c->base_url, c->model, c->key_env,
	    c->concurrency, c->rpm);
	if (e->why)
		warn_scrubbed(config.path, c->line, "%s", e->why);
	return e;
}

/* ---- input: lines read as slots free up, never blocking the loop ---- */

struct feed {
	char **files;
	int nfiles, cur;
	int fd, own;
	const char *name;
	char *buf;
	size_t start, len, cap, scan;	/* unread bytes: buf[start, len); no '\n' in [start, scan) */
	unsigned long lineno;
	int eof, done, failed;
};

static void feed_next_file(struct feed *f)
{
	if (f->own)
		close(f->fd);
	f->own = 0;
	f->fd = -1;
	while (f->cur < f->nfiles) {
		const char *path = f->files[f->cur++];
		f->lineno = 0;
		f->eof = 0;
		f->name = path;
		if (strcmp(path, "-") == 0) {
			f->fd = 0;
			return;
		}
		f->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (f->fd >= 0) {
			f->own = 1;
			return;
		}
		warn_scrubbed(NULL, 0, "%s: %s", path, strerror(errno));
		f->failed = 1;
	}
	f->done = 1;
}

/* One read() of what is there.  Call it only when poll() says the fd is readable. */
static void feed_fill(struct feed *f)
{
	if (f->done || f->eof)
		return;
	if (f->start == f->len) {
		f->start = f->len = f->scan = 0;
		if (f->cap > (16u << 20)) {	/* a huge line should not pin its buffer */
			xfree(&f->buf);
			f->cap = 0;
		}
	} else if (f->start > f->cap / 2) {
		memmove(f->buf, f->buf + f->start, f->len - f->start);
		f->len -= f->start;
		f->scan -= f->start;
		f->start = 0;
	}
	if (f->cap - f->len < 64 * 1024) {
		f->cap = f->cap ? f->cap * 2 : 256 * 1024;
		f->buf = xrealloc(f->buf, f->cap);
	}
	ssize_t n = read(f->fd, f->buf + f->len, f->cap - f->len);
	if (n > 0)
		f->len += (size_t)n;
	else if (n == 0)
		f->eof = 1;
	else if (errno != EINTR && errno != EAGAIN) {
		warn_scrubbed(NULL, 0, "%s: read error: %s", f->name, strerror(errno));
		f->failed = 1;
		f->eof = 1;
	}
}

/* 1 and the next line; 0 when more input is needed; -1 when all input is read. */
static int feed_line(struct feed *f, char **line, size_t *len)
{
	for (;;) {
		if (f->done)
			return -1;
		char *nl = f->len > f->scan ? memchr(f->buf + f->scan, '\n', f->len - f->scan) : NULL;
		size_t end;
		if (nl) {
			end = (size_t)(nl - f->buf);
		} else {
			f->scan = f->len;
			if (!f->eof)
				return 0;
			if (f->len == f->start) {
				feed_next_file(f);
				continue;
			}
			end = f->len;	/* the last line, without a newline */
		}
		*line = f->buf + f->start;
		*len = end - f->start;
		if (*len && (*line)[*len - 1] == '\r')
			(*len)--;
		f->start = f->scan = end < f->len ? end + 1 : end;
		f->lineno++;
		return 1;
	}
}

static int fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) > 0;
}

/* Lines in the input files, for the progress line; -1 when any is not a regular file. */
static long count_lines(char **files, int n)
{
	long total = 0;
	char buf[1 << 16];
	for (int i = 0; i < n; i++) {
		int fd = strcmp(files[i], "-") == 0 ? dup(0) : open(files[i], O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (strcmp(files[i], "-") == 0 && lseek(fd, 0, SEEK_CUR) != 0)) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		ssize_t r;
		char last = '\n';
		off_t off = 0;
		while ((r = pread(fd, buf, sizeof buf, off)) > 0) {
			for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + r - p))); p++)
				total++;
			last = buf[r - 1];
			off += r;
		}
		if (last != '\n')
			total++;
		close(fd);
	}
	return total;
}

/* ---- tasks: one per record in the window ---- */

enum tstate { T_FREE, T_READY, T_ACTIVE, T_WAIT, T_SIMWAIT, T_DONE };

struct hdrs {
	double retry_after_ms;	/* retry-after-ms; HINT_NONE: none, NAN: unreadable */
	double retry_after;	/* retry-after, in ms (a past date: <= 0); the same */
	int should_retry;	/* -1 none, 0 false, 1 true */
	qa_buf request_id;
	qa_buf ratelimit;	/* JSON members */
};

struct task {
	enum tstate st;
	uint64_t seq;
	int next_ready;		/* the ready queue, by index; -1 ends it */
	char *line;
	size_t len, cap;
	const char *file;
	unsigned long lineno;
	qa_json *j;		/* the record */
	struct endpoint *ep;	/* chain[link]: the endpoint it goes to now */
	struct endpoint *chain[MAX_CHAIN];	/* its own endpoint, then its fallbacks */
	int nchain, link;
	int prior_attempts;	/* attempts on the endpoints before ep */
	qa_buf from;		/* the entries of fallback_from, comma-separated */
	/* the last failed attempt on ep, for a retry that a cooldown calls off */
	const char *last_type;
	long last_status;
	qa_buf last_msg;
	char *model;
	qa_buf params;
	qa_json *pj;
	struct qa_request req;
	struct curl_slist *hdrs;
	int attempts;		/* on ep */
	double first, deadline, wake, t0;	/* deadline: 0 until the first attempt */
	/* the attempt in flight */
	CURL *easy;
	double attempt_ms;	/* its timeout */
	char errbuf[CURL_ERROR_SIZE];
	int sends;		/* requests curl sent for this attempt (it resends on its own) */
	int resend_refused;	/* a resend was stopped: past -r or the budget */
	double connect_ms, appconnect_ms;	/* how far the attempt got: TCP, TLS */
	int easy_done;		/* the two above are the last HTTP attempt's (not a simulated one) */
	qa_buf body;
	int too_big;
	struct hdrs h;
	struct qa_sim sim;
	int sim_timeout;
	/* the record that goes out */
	qa_buf out;
	int failed;
	const char *etype;
	struct windows *win;	/* --context: the prompt's windows, while they are scored */
};

static const qa_json *asked(const struct task *t);
static void windows_free(struct task *t);

static struct task *tasks;
static size_t ntasks;		/* the window */
static uint64_t next_seq, head_seq;	/* read so far; written so far (ordered) */
static int *free_slots;		/* unordered: a stack of free slots */
static size_t nfree;
static int ready_head = -1, ready_tail = -1;
static long inflight, waiting, inwindow;

static struct {
	long read, done, errors, retries, requests;
	long denied;		/* retries the budget refused */
	long moves;		/* records sent on to another endpoint */
	long cooldowns;		/* endpoints put in cooldown */
	long fell_back, fb_served;	/* records that left their first endpoint; of those, answered */
	long by_type[16];
	const char *types[16];
	size_t ntypes;
	double start;
	long total;		/* lines in the input, -1 unknown */
} stats;

static CURLM *multi;
static CURL **easy_pool;
static size_t neasy;
static qa_json *scratch;	/* checks JSON that plugins return */
static qa_buf outbuf;

/* Tasks made ready: a turn that readied one has work for the next turn, not a wait. */
static long readied;

static void ready_push(struct task *t)
{
	int i = (int)(t - tasks);
	readied++;
	t->st = T_READY;
	t->next_ready = -1;
	if (ready_tail >= 0)
		tasks[ready_tail].next_ready = i;
	else
		ready_head = i;
	ready_tail = i;
}

static void count_type(const char *type)
{
	for (size_t i = 0; i < stats.ntypes; i++)
		if (strcmp(stats.types[i], type) == 0) {
			stats.by_type[i]++;
			return;
		}
	if (stats.ntypes < 16) {
		stats.types[stats.ntypes] = type;
		stats.by_type[stats.ntypes++] = 1;
	}
}

static void request_free(struct task *t)
{
	xfree(&t->req.url);
	xfree(&t->req.body);
	xfree(&t->req.headers);
	t->req.body_len = 0;
	if (t->hdrs)
		curl_slist_free_all(t->hdrs);
	t->hdrs = NULL;
	xfree(&t->sim.body);
	xfree(&t->sim.headers);
}

/* Ends a record: out holds its line.  The writer takes it from here. */
static void task_done(struct task *t)
{
	request_free(t);
	windows_free(t);
	t->st = T_DONE;
	stats.done++;
	if (t->from.len) {
		stats.fell_back++;
		if (!t->failed) {
			stats.fb_served++;
			t->ep->served++;
		}
	}
	if (t->failed) {
		stats.errors++;
		count_type(t->etype);
		status_raise(QA_EXIT_DATA);
	}
}

/* The record with response set (ok) or error set (not), the other field removed. */
static void emit(struct task *t, const char *response, size_t rlen, const char *error, size_t elen)
{
	qa_field f[] = {
		{ "response", response, rlen },
		{ "error", error, elen },
	};
	/*
	 * The record's own bytes and what a server sent were accepted by a
	 * scanner that lets raw control characters and bad UTF-8 through in
	 * strings: the line is re-escaped, so that it is one line of strict
	 * JSON whatever came in.
	 */
	static qa_buf line;
	line.len = 0;
	splice_record(&line, t->j, t->line, t->len, f, 2);
	t->out.len = 0;
	buf_json_clean(&t->out, line.p, line.len);
	buf_addc(&t->out, '\n');
	if (line.cap > (1u << 20))
		buf_free(&line);
}

/* A message as a JSON string: scrubbed of keys, cut at a character boundary. */
static void add_message(qa_buf *b, const char *msg)
{
	qa_buf m = { 0 };
	buf_adds(&m, msg ? msg : "");
	scrub(&m);
	size_t n = m.len;
	if (n > MAX_MESSAGE) {
		n = MAX_MESSAGE;
		while (n > 0 && ((unsigned char)m.p[n] & 0xc0) == 0x80)
			n--;
	}
	buf_json_string(b, m.p ? m.p : "", n);
	if (n < m.len)
		b->len -= 1, buf_adds(b, "...\"");
	buf_free(&m);
}

static void fail(struct task *t, const char *type, long status, const char *msg)
{
	qa_buf e = { 0 };
	buf_adds(&e, "{\"type\":");
	buf_json_string(&e, type, strlen(type));
	if (status > 0)
		buf_printf(&e, ",\"status\":%ld", status);
	buf_adds(&e, ",\"message\":");
	add_message(&e, msg);
	if (strcmp(type, "bad_record") == 0) {
		/* A valid line the run cannot send: say where it is, as for one that is not JSON. */
		buf_adds(&e, ",\"file\":");
		buf_json_string(&e, t->file, strlen(t->file));
		buf_printf(&e, ",\"line\":%lu", t->lineno);
		warn_scrubbed(t->file, t->lineno, "%s", msg ? msg : type);
	}
	buf_printf(&e, ",\"attempts\":%d", t->prior_attempts + t->attempts);
	if (t->ep) {
		buf_adds(&e, ",\"endpoint\":");
		buf_json_string(&e, t->ep->name, strlen(t->ep->name));
	}
	if (t->from.len) {
		buf_adds(&e, ",\"fallback_from\":[");
		buf_add(&e, t->from.p, t->from.len);
		buf_addc(&e, ']');
	}
	buf_addc(&e, '}');
	if (t->j) {
		emit(t, NULL, 0, e.p, e.len);
	} else {
		t->out.len = 0;
		buf_add(&t->out, e.p, e.len);
	}
	buf_free(&e);
	t->failed = 1;
	t->etype = type;
	task_done(t);
}

/* ---- fallback chains ---- */

/*
 * Whether another endpoint could fix this error (FACTS.md): the endpoint's
 * own trouble (its limits, its quota, its key, its health, the way to it)
 * yes, and an answer it sent that cannot be read too; a request that is
 * wrong (bad_request) or a record that is (bad_record) would only fail
 * again elsewhere.
 */
static int fallback_worthy(const char *type)
{
	static const char *const worthy[] = {
		"auth", "quota", "rate_limit", "timeout", "network", "server", "bad_response",
	};
	for (size_t i = 0; i < sizeof worthy / sizeof *worthy; i++)
		if (strcmp(type, worthy[i]) == 0)
			return 1;
	return 0;
}

static int cooling(const struct endpoint *e, double now)
{
	return opt.cooldown_ms > 0 && now < e->cool_until;
}

/* Whether the record has an endpoint after the one it is on. */
static int has_next(const struct task *t)
{
	return t->link + 1 < t->nchain;
}

/*
 * Whether a cooldown may send the record past its endpoint: only when one
 * after it could take the record, so that the last endpoint left is never
 * skipped (one with no key, or stopped by the auth breaker, is no endpoint
 * left).
 */
static int may_skip(const struct task *t, double now)
{
	if (!cooling(t->ep, now))
		return 0;
	for (int i = t->link + 1; i < t->nchain; i++)
		if (!t->chain[i]->why && !t->chain[i]->auth_broken)
			return 1;
	return 0;
}

/*
 * The record leaves its endpoint for the next in its chain: one entry of
 * fallback_from says why (an error, or skipped: a cooldown).
 */
static void leave(struct task *t, const char *type, long status, const char *msg, const char *skipped)
{
	qa_buf *b = &t->from;
	if (b->len)
		buf_addc(b, ',');
	buf_adds(b, "{\"endpoint\":");
	buf_json_string(b, t->ep->name, strlen(t->ep->name));
	if (skipped) {
		buf_adds(b, ",\"skipped\":");
		buf_json_string(b, skipped, strlen(skipped));
	} else {
		buf_adds(b, ",\"type\":");
		buf_json_string(b, type, strlen(type));
		if (status > 0)
			buf_printf(b, ",\"status\":%ld", status);
	}
	buf_adds(b, ",\"message\":");
	add_message(b, msg);
	buf_printf(b, ",\"attempts\":%d}", t->attempts);
	t->prior_attempts += t->attempts;
	t->attempts = 0;
	t->ep = t->chain[++t->link];
	stats.moves++;
	windows_free(t);	/* another endpoint tokenizes its own way: its windows start over */
}

/*
 * The record's endpoint failed it.  0: it goes on to the next endpoint of
 * its chain (the caller makes its request, enter()), when another could
 * fix the error and the deadline leaves time; -1: the record ends with
 * this error.
 */
static int fall_back(struct task *t, const char *type, long status, const char *msg, double now)
{
	if (!fallback_worthy(type) || !has_next(t)) {
		fail(t, type, status, msg);
		return -1;
	}
	if (t->deadline && now >= t->deadline) {
		qa_buf m = { 0 };
		buf_printf(&m, "%s (no time left for fallback '%s')", msg, t->chain[t->link + 1]->name);
		fail(t, type, status, buf_cstr(&m));
		buf_free(&m);
		return -1;
	}
	leave(t, type, status, msg, NULL);
	return 0;
}

/* ---- admitting records ---- */

static struct task *slot_for(uint64_t seq)
{
	if (!opt.unordered)
		return &tasks[seq % ntasks];
	return &tasks[free_slots[--nfree]];
}

static int window_has_room(void)
{
	return opt.unordered ? nfree > 0 : next_seq - head_seq < ntasks;
}

/* params: the record's own, then each --param it does not set. */
static int merge_params(struct task *t, const char **why)
{
	qa_json *j = t->j;
	int p = json_member(j, 0, "params", 6);
	t->params.len = 0;
	buf_addc(&t->params, '{');
	size_t members = 0;
	if (p >= 0 && json_type(j, p) != QA_NULL) {
		if (json_type(j, p) != QA_OBJECT) {
			*why = "params is not an object";
			return -1;
		}
		size_t n;
		const char *raw = json_raw(j, p, &n);
		members = json_count(j, p);
		buf_add(&t->params, raw + 1, n - 2);	/* the members as written */
	}
	for (size_t i = 0; i < json_count(opt.params_j, 0); i++) {
		int k = json_key_at(opt.params_j, 0, i);
		size_t kl, vl;
		const char *key = json_str(opt.params_j, k, &kl);
		if (p >= 0 && json_member(j, p, key, kl) >= 0)
			continue;
		const char *kr = json_raw(opt.params_j, k, &kl), *vr = json_raw(opt.params_j, k + 1, &vl);
		if (members++)
			buf_addc(&t->params, ',');
		buf_add(&t->params, kr, kl);
		buf_addc(&t->params, ':');
		buf_add(&t->params, vr, vl);
	}
	buf_addc(&t->params, '}');
	const char *err;
	size_t off;
	if (!t->pj)
		t->pj = json_new();
	if (json_parse(t->pj, t->params.p, t->params.len, &err, &off) < 0) {
		*why = "params is not valid JSON";
		return -1;
	}
	return 0;
}

/*
 * Makes the record's request for its endpoint, chain[link], passing over
 * endpoints that cannot take any (a key variable not set) while another
 * follows.  0, or the record is done.
 */
static int enter(struct task *t, double now)
{
	while (t->ep->why)
		if (fall_back(t, t->ep->why_type, 0, t->ep->why, now) < 0)
			return -1;
	request_free(t);
	/* The record's model is for the endpoint it names; a fallback brings its own. */
	qa_json *j = t->j;
	const char *model = json_str(j, json_member(j, 0, "model", 5), NULL);
	if (model && !*model)
		model = NULL;
	if (t->link > 0 && t->ep->model)
		model = t->ep->model;
	else if (!model)
		model = t->ep->model;
	xfree(&t->model);
	t->model = model ? xstrdup(model) : NULL;

	const struct qa_plugin *pl = t->ep->prov->l.plugin;
	struct qa_endpoint qe = { t->ep->name, t->ep->base_url, t->model, t->pj };
	char *err = NULL;
	qa_set_where(t->file, t->lineno);
	int rc = pl->build(t->ep->prov->state, asked(t), &qe, &t->req, &err);
	host_reset();
	if (rc < 0 || !t->req.body || (!pl->respond && !t->req.url)) {
		fail(t, "bad_record", 0, err ? err : "the provider could not build a request");
		free(err);
		return -1;
	}
	free(err);
	if (!pl->respond) {
		struct curl_slist *h = NULL;
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Accept: application/json");
		h = curl_slist_append(h, "Expect:");
		if (t->ep->auth)
			h = curl_slist_append(h, t->ep->auth);
		for (struct curl_slist *x = opt.headers; x; x = x->next)
			h = curl_slist_append(h, x->data);
		if (t->req.headers) {
			char *save = NULL;
			for (char *l = strtok_r(t->req.headers, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
				if (*l)
					h = curl_slist_append(h, l);
		}
		t->hdrs = h;
	}
	return 0;
}

/* Appends e to the record's chain, unless it is there already.  -1 when the chain is full. */
static int chain_add(struct task *t, struct endpoint *e)
{
	for (int i = 0; i < t->nchain; i++)
		if (t->chain[i] == e)
			return 0;
	if (t->nchain == MAX_CHAIN)
		return -1;
	t->chain[t->nchain++] = e;
	return 0;
}

/*
 * The endpoints after the record's own: its fallback array, else
 * --fallback.  An endpoint that is not configured, or not usable as
 * configured, makes the record a bad_record before anything is sent.
 * 0, or the record is done.
 */
static int resolve_fallback(struct task *t)
{
	qa_json *j = t->j;
	int f = json_member(j, 0, "fallback", 8);
	if (f < 0 || json_type(j, f) == QA_NULL) {
		for (size_t i = 0; i < opt.nfallback; i++)
			chain_add(t, opt.fallback[i]);
		return 0;
	}
	if (json_type(j, f) != QA_ARRAY) {
		fail(t, "bad_record", 0, "fallback is not an array of endpoint names");
		return -1;
	}
	if (json_count(j, f) >= MAX_CHAIN) {
		char msg[80];
		snprintf(msg, sizeof msg, "fallback names more than %d endpoints", MAX_CHAIN - 1);
		fail(t, "bad_record", 0, msg);
		return -1;
	}
	int v = json_index(j, f, 0);
	for (size_t i = 0; i < json_count(j, f); i++, v = json_next(j, v)) {
		size_t n;
		const char *name = json_str(j, v, &n);
		if (!name || !n || memchr(name, '\0', n)) {
			fail(t, "bad_record", 0, "fallback is not an array of endpoint names");
			return -1;
		}
		struct endpoint *e = default_ep && strcmp(default_ep->name, name) == 0 ? default_ep :
		    endpoint_named(name);
		if (e->why && strcmp(e->why_type, "bad_record") == 0) {
			qa_buf m = { 0 };
			buf_printf(&m, "fallback: %s", e->why);
			t->ep = e;
			fail(t, "bad_record", 0, buf_cstr(&m));
			buf_free(&m);
			return -1;
		}
		chain_add(t, e);
	}
	return 0;
}

/* The record's endpoint and its fallbacks, its params, and its first request.  0, or the record is done. */
static int resolve(struct task *t)
{
	qa_json *j = t->j;
	int e = json_member(j, 0, "endpoint", 8);
	if (e >= 0 && json_type(j, e) != QA_NULL) {
		size_t n;
		const char *name = json_str(j, e, &n);
		if (!name || !n || memchr(name, '\0', n)) {
			fail(t, "bad_record", 0, "endpoint is not a name");
			return -1;
		}
		t->ep = default_ep && strcmp(default_ep->name, name) == 0 ? default_ep : endpoint_named(name);
	} else if (!(t->ep = default_ep)) {
		fail(t, "bad_record", 0, "no endpoint: the record names none, and no --endpoint or --provider was given");
		return -1;
	}
	if (t->ep->why && strcmp(t->ep->why_type, "bad_record") == 0) {
		fail(t, t->ep->why_type, 0, t->ep->why);
		return -1;
	}
	t->chain[0] = t->ep;
	t->nchain = 1;
	t->link = 0;
	if (resolve_fallback(t) < 0)
		return -1;
	const char *why;
	if (merge_params(t, &why) < 0) {
		fail(t, "bad_record", 0, why);
		return -1;
	}
	return enter(t, 0);
}

static void admit(struct task *t, uint64_t seq, const char *file, unsigned long lineno, const char *line,
    size_t len)
{
	t->seq = seq;
	t->file = file;
	t->lineno = lineno;
	t->attempts = t->prior_attempts = 0;
	t->deadline = 0;
	t->failed = 0;
	t->etype = NULL;
	t->ep = NULL;
	t->nchain = t->link = 0;
	t->from.len = 0;
	if (t->cap < len + 1 || t->cap > (1u << 20)) {
		free(t->line);
		t->cap = len + 1 > 4096 ? len + 1 : 4096;
		t->line = xmalloc(t->cap);
	}
	memcpy(t->line, line, len);
	t->line[len] = '\0';
	t->len = len;
	inwindow++;
	stats.read++;

	if (t->j && len > (1u << 20))
		json_free(&t->j);	/* its tokens would stay at the size of a huge line */
	if (!t->j)
		t->j = json_new();
	char msg[160];
	if (record_parse(t->j, t->line, len, msg, sizeof msg) != 0) {
		warn_scrubbed(file, lineno, "%s", msg);
		t->out.len = 0;
		bad_record(&t->out, file, lineno, line, len, msg);
		buf_addc(&t->out, '\n');
		t->failed = 1;
		t->etype = "bad_record";
		json_free(&t->j);
		task_done(t);
		return;
	}
	if (resolve(t) == 0)
		ready_push(t);
}

/* Reads records while the window has room and input is there without waiting. */
static void admit_input(struct feed *f)
{
	while (window_has_room()) {
		char *line;
		size_t len;
		int r = feed_line(f, &line, &len);
		if (r < 0)
			return;
		if (r == 0) {
			if (f->done || !fd_readable(f->fd))
				return;
			feed_fill(f);
			continue;
		}
		if (strspn(line, " \t\r") == len)
			continue;	/* a blank line carries no record */
		uint64_t seq = next_seq++;
		admit(slot_for(seq), seq, f->name, f->lineno, line, len);
	}
}

/* ---- one attempt over HTTP ---- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct task *t = arg;
	size_t len = size * n;
	if (t->body.len + len > MAX_BODY) {
		t->too_big = 1;
		return 0;
	}
	buf_add(&t->body, p, len);
	return len;
}

static void hdrs_reset(struct hdrs *h)
{
	h->retry_after_ms = HINT_NONE;
	h->retry_after = HINT_NONE;
	h->should_retry = -1;
	h->request_id.len = 0;
	h->ratelimit.len = 0;
}

/* One header line "Name: value", from curl or from a provider's simulated answer. */
static void on_header_line(struct hdrs *h, const char *p, size_t len)
{
	while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'))
		len--;
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		hdrs_reset(h);	/* a new response (after a 100 Continue): forget the last one's */
		return;
	}
	const char *colon = memchr(p, ':', len);
	if (!colon)
		return;
	size_t nl = (size_t)(colon - p);
	const char *v = colon + 1, *end = p + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	size_t vl = (size_t)(end - v);
	char val[256];
	snprintf(val, sizeof val, "%.*s", (int)(vl < sizeof val ? vl : sizeof val - 1), v);
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(p, name, nl) == 0)
	/* Kept as said, 0, negative and unreadable included: retry_delay() judges them. */
	if (IS("retry-after-ms")) {
		double ms;
		h->retry_after_ms = parse_double(val, -1e12, 1e12, &ms) == 0 ? ms : NAN;
	} else if (IS("retry-after")) {
		double s;
		time_t when;
		if (parse_double(val, -1e9, 1e9, &s) == 0)
			h->retry_after = s * 1000;
		else if ((when = curl_getdate(val, NULL)) != -1)
			h->retry_after = difftime(when, time(NULL)) * 1000;
		else
			h->retry_after = NAN;
	} else if (IS("x-should-retry")) {
		if (strcmp(val, "true") == 0)
			h->should_retry = 1;
		else if (strcmp(val, "false") == 0)
			h->should_retry = 0;
	} else if (IS("x-request-id") || IS("request-id")) {
		h->request_id.len = 0;
		buf_add(&h->request_id, v, vl);
	} else if ((nl > 12 && strncasecmp(p, "x-ratelimit-", 12) == 0) ||
	    (nl > 20 && strncasecmp(p, "anthropic-ratelimit-", 20) == 0)) {
		if (h->ratelimit.len)
			buf_addc(&h->ratelimit, ',');
		char name[128];
		size_t k;
		for (k = 0; k < nl && k < sizeof name - 1; k++)
			name[k] = (char)(p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k]);
		buf_json_string(&h->ratelimit, name, k);
		buf_addc(&h->ratelimit, ':');
		buf_json_string(&h->ratelimit, v, vl);
	}
#undef IS
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct task *t = arg;
	on_header_line(&t->h, p, size * n);
	return size * n;
}

static CURL *easy_get(void)
{
	if (neasy)
		return easy_pool[--neasy];
	CURL *c = curl_easy_init();
	if (!c)
		qa_die(QA_EXIT_USAGE, "curl_easy_init failed");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "qa-send/" QA_VERSION);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
	    opt.h2c ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE : (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)opt.connect_timeout_ms);
	return c;
}

static void easy_put(CURL *c)
{
	easy_pool[neasy++] = c;
}

/* ---- outcomes ---- */

struct outcome {
	int ok;
	const char *type;	/* error type */
	long status;		/* HTTP status; 0 when there was none */
	char *message;
	int retry;		/* may be retried */
	double hint_ms;		/* a wait the server asked for; HINT_NONE: none, NAN: unreadable */
	const char *hint_from;	/* the header (or body field) it came from */
	int deadline;		/* the attempt was cut by the record's deadline */
	struct qa_reply reply;
	double latency_ms;
	int timed;		/* an HTTP attempt: libcurl's breakdown below is set */
	double connect_ms, tls_ms, ttfb_ms;
};

static void reply_free(struct qa_reply *r)
{
	xfree(&r->text);
	xfree(&r->finish_reason);
	xfree(&r->model);
	xfree(&r->id);
	xfree(&r->usage);
	xfree(&r->logprobs);
	xfree(&r->error);
	xfree(&r->server_timings);
}

/* What a status means when the provider does not say. */
static const char *type_of_status(long status)
{
	if (status == 401 || status == 403)
		return "auth";
	if (status == 429)
		return "rate_limit";
	if (status == 408)
		return "timeout";
	if (status >= 500)
		return "server";
	if (status >= 400)
		return "bad_request";
	return "bad_response";
}

/* Retryable by status alone (FACTS.md): 408, 409, 429 and every 5xx. */
static int status_retryable(long status)
{
	return status == 408 || status == 409 || status == 429 || status >= 500;
}

/* An HTTP response: the provider reads it, then the rules of FACTS.md decide. */
static void classify_http(struct task *t, long status, struct outcome *o)
{
	o->status = status;
	const struct qa_plugin *pl = t->ep->prov->l.plugin;
	struct qa_endpoint qe = { t->ep->name, t->ep->base_url, t->model, t->pj };
	struct qa_reply *r = &o->reply;
	qa_set_where(t->file, t->lineno);
	int rc = pl->parse(t->ep->prov->state, asked(t), &qe, status, t->body.p ? t->body.p : "", t->body.len, r);
	host_reset();
	if (status >= 200 && status <= 299 && rc == 0 && !r->error) {
		o->ok = 1;
		return;
	}
	o->type = r->error_type ? r->error_type :
	    status >= 200 && status <= 299 ? "bad_response" : type_of_status(status);
	o->message = r->error ? xstrdup(r->error) : xstrdup(rc < 0 ? "the response could not be read" : "failed");
	if (strcmp(o->type, "quota") == 0)
		o->retry = 0;	/* an exhausted quota or budget: waiting does not help */
	else if (t->h.should_retry >= 0)
		o->retry = t->h.should_retry;
	else if (r->retry != QA_RETRY_DEFAULT)
		o->retry = r->retry == QA_RETRY_YES;
	else
		o->retry = status_retryable(status);
	/* FACTS.md's order: retry-after-ms, retry-after, then what the body asks (Gemini's retryDelay). */
	if (t->h.retry_after_ms != HINT_NONE)
		o->hint_ms = t->h.retry_after_ms, o->hint_from = "retry-after-ms";
	else if (t->h.retry_after != HINT_NONE)
		o->hint_ms = t->h.retry_after, o->hint_from = "retry-after";
	else if (r->retry_after_ms > 0)
		o->hint_ms = r->retry_after_ms, o->hint_from = "retryDelay";
}

static void classify_curl(struct task *t, CURLcode rc, const char *errbuf, struct outcome *o)
{
	o->hint_ms = HINT_NONE;
	char msg[CURL_ERROR_SIZE + 64];
	const char *what = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		o->type = "timeout";
		o->retry = 1;
		if (o->deadline)
			snprintf(msg, sizeof msg, "no answer before the record's deadline (%.0f ms)", opt.deadline_ms);
		/* curl leaves the connect time unset when the TLS handshake is what timed out; its message says so. */
		else if (t->easy_done && t->appconnect_ms <= 0 && strncasecmp(t->req.url, "https:", 6) == 0 &&
		    (t->connect_ms > 0 || strstr(what, "SSL")))
			snprintf(msg, sizeof msg, "the TLS handshake did not finish within %g s: is the port "
			    "speaking TLS? (%s)", (opt.connect_timeout_ms < t->attempt_ms ? opt.connect_timeout_ms :
			    t->attempt_ms) / 1000, what);
		else if (t->easy_done && t->connect_ms <= 0)
			snprintf(msg, sizeof msg, "no connection within %g s (%s)",
			    (opt.connect_timeout_ms < t->attempt_ms ? opt.connect_timeout_ms : t->attempt_ms) / 1000, what);
		else
			snprintf(msg, sizeof msg, "no answer within %g s (%s)", t->attempt_ms / 1000, what);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		o->type = "network";
		o->retry = 1;
		snprintf(msg, sizeof msg, "the TLS handshake failed: is the port speaking TLS? (%s)", what);
		break;
	case CURLE_WRITE_ERROR:
		o->type = t->too_big ? "bad_response" : "network";
		o->retry = !t->too_big;
		snprintf(msg, sizeof msg, "%s", t->too_big ? "the response is larger than 64 MiB" : what);
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		o->type = "network";
		o->retry = 0;	/* waiting will not fix these */
		snprintf(msg, sizeof msg, "%s", what);
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		o->type = "network";
		o->retry = 1;	/* decide() says why not: past -r or the budget */
		snprintf(msg, sizeof msg, "the connection closed before an answer");
		break;
	default:
		o->type = "network";
		o->retry = 1;
		snprintf(msg, sizeof msg, "%s", what);
		break;
	}
	o->message = xstrdup(msg);
}

/* ---- the decisions: retry, give up ---- */

static double budget_total(void)
{
	return RETRY_FLOOR + opt.retry_budget * (double)stats.read;
}

/* Why the run may not retry once more, or NULL when it may. */
static const char *budget_spent(void)
{
	if (opt.max_retries_total >= 0 && stats.retries >= opt.max_retries_total)
		return "the run's retry cap (--max-retries-total) is reached";
	if ((double)stats.retries >= budget_total())
		return "the run's retry budget (--retry-budget) is spent";
	return NULL;
}

/*
 * --trace: one JSON line per decision, for tests and for anyone asking
 * why a record waited: the record (file, line, its id), the attempt, the
 * decision (answer, retry, resend, give_up), why, and the delay chosen.
 */
static void trace(const struct task *t, const char *decision, const struct outcome *o, const char *reason,
    double delay_ms)
{
	if (!opt.trace)
		return;
	qa_buf b = { 0 };
	buf_adds(&b, "{\"file\":");
	buf_json_string(&b, t->file, strlen(t->file));
	buf_printf(&b, ",\"line\":%lu,\"id\":", t->lineno);
	int id = t->j ? json_member(t->j, 0, "id", 2) : -1;
	size_t n;
	const char *raw = id >= 0 ? json_raw(t->j, id, &n) : NULL;
	if (raw)
		buf_json_clean(&b, raw, n);
	else
		buf_adds(&b, "null");
	buf_printf(&b, ",\"endpoint\":");
	buf_json_string(&b, t->ep->name, strlen(t->ep->name));
	buf_printf(&b, ",\"attempt\":%d,\"decision\":\"%s\",\"status\":%ld,\"type\":", t->prior_attempts + t->attempts,
	    decision, o ? o->status : 0L);
	if (o && o->type)
		buf_json_string(&b, o->type, strlen(o->type));
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"reason\":");
	buf_json_string(&b, reason, strlen(reason));
	buf_adds(&b, ",\"delay_ms\":");
	if (delay_ms >= 0)
		buf_json_number(&b, round(delay_ms * 1000) / 1000);
	else
		buf_adds(&b, "null");
	buf_adds(&b, "}\n");
	scrub(&b);
	fwrite(b.p, 1, b.len, opt.trace);
	buf_free(&b);
}

/*
 * How long to wait before the next attempt: the server's word when
 * 0 < value <= --retry-after-max, as openai-python's
 * _calculate_retry_timeout takes it (FACTS.md); else, and for 0, a
 * negative value, a past date or one that does not parse, full jitter.
 * *reason says which, for the trace.
 */
static double retry_delay(const struct task *t, const struct outcome *o, char *reason, size_t rlen)
{
	if (o->hint_ms != HINT_NONE) {
		if (isnan(o->hint_ms))
			snprintf(reason, rlen, "%s unreadable: backoff", o->hint_from);
		else if (o->hint_ms <= 0)
			snprintf(reason, rlen, "%s %.0f ms is not over 0: backoff", o->hint_from, o->hint_ms);
		else if (o->hint_ms > opt.retry_after_max_ms)
			snprintf(reason, rlen, "%s %.0f ms is over --retry-after-max: backoff", o->hint_from, o->hint_ms);
		else {
			snprintf(reason, rlen, "%s", o->hint_from);
			return o->hint_ms;
		}
	} else {
		snprintf(reason, rlen, "backoff");
	}
	double ceiling = opt.backoff_base_ms * pow(2, t->attempts - 1);
	if (ceiling > opt.backoff_cap_ms)
		ceiling = opt.backoff_cap_ms;
	return rng_unif() * ceiling;
}

/*
 * 1 and *delay when the record gets another attempt, *reason saying how
 * the delay was chosen; 0 when it gives up (*why says why, if not obvious).
 */
static int decide(const struct task *t, const struct outcome *o, double now, double *delay, const char **why,
    char *reason, size_t rlen)
{
	*why = NULL;
	if (!o->retry)
		return 0;
	if (t->ep->auth_broken) {
		*why = "endpoint stopped after repeated auth failures";
		return 0;
	}
	if (t->attempts > opt.retries) {
		*why = opt.retries ? "retries exhausted" : NULL;
		return 0;
	}
	if (may_skip(t, now)) {
		*why = "the endpoint is cooling down";
		return 0;
	}
	if ((*why = budget_spent()) != NULL) {
		stats.denied++;
		return 0;
	}
	*delay = retry_delay(t, o, reason, rlen);
	if (now + *delay >= t->deadline) {
		*why = "the record's deadline would pass";
		return 0;
	}
	return 1;
}

/* An error and why no retry followed, as a message: "simulated HTTP 503 (retries exhausted after 3 attempts)". */
static void give_up_message(qa_buf *m, const struct task *t, const char *msg, const char *why)
{
	buf_adds(m, msg);
	if (why)
		buf_printf(m, " (%s after %d attempt%s)", why, t->attempts, t->attempts == 1 ? "" : "s");
}

/* The record gives up on its endpoint with this error: on to the next in its chain, or the end. */
static void give_up(struct task *t, const struct outcome *o, const char *why, double now)
{
	qa_buf m = { 0 };
	give_up_message(&m, t, o->message ? o->message : o->type, why);
	/* An attempt that the deadline cut has used up all of it, whatever the clocks say. */
	double at = o->deadline ? t->deadline : now;
	if (fall_back(t, o->type, o->status, buf_cstr(&m), at) == 0 && enter(t, now) == 0)
		ready_push(t);
	buf_free(&m);
}

/*
 * The cooldown breaker counts each attempt's outcome on its endpoint.
 * Failures are the errors another endpoint could fix; a success ends a
 * run of them; a bad_request is the request's fault and counts only as an
 * attempt.  More than --allowed-fails failures in a row, or more than
 * half of at least COOL_MIN_REQUESTS attempts in the minute (LiteLLM's
 * two rules), and records that have another endpoint to go to skip this
 * one for --cooldown.  An attempt cut by the record's own deadline says
 * nothing about the endpoint.  Counting starts afresh after a cooldown.
 */
static void note_outcome(struct endpoint *e, const struct outcome *o, double now)
{
	if (opt.cooldown_ms <= 0 || o->deadline || cooling(e, now))
		return;
	if (now - e->win_start >= COOL_WINDOW_MS) {
		e->win_start = now;
		e->win_req = e->win_fail = 0;
	}
	e->win_req++;
	if (o->ok) {
		e->fails = 0;
		return;
	}
	if (!fallback_worthy(o->type))
		return;
	e->win_fail++;
	e->fails++;
	if (e->fails > opt.allowed_fails)
		snprintf(e->cool_why, sizeof e->cool_why, "%ld failures in a row", e->fails);
	else if (e->win_req >= COOL_MIN_REQUESTS && 2 * e->win_fail > e->win_req)
		snprintf(e->cool_why, sizeof e->cool_why, "%ld of %ld attempts failed", e->win_fail, e->win_req);
	else
		return;
	e->cool_until = now + opt.cooldown_ms;
	e->cooldowns++;
	stats.cooldowns++;
	e->fails = e->win_req = e->win_fail = 0;
	e->win_start = e->cool_until;
}

/*
 * A record about to be sent to an endpoint that cools down goes to the
 * next one in its chain instead, unless it is the last; one that was
 * waiting to retry there gives up on it with its last error.  0, or the
 * record is done.
 */
static int pass_cooling(struct task *t, double now)
{
	while (may_skip(t, now)) {
		if (t->attempts) {
			qa_buf m = { 0 };
			give_up_message(&m, t, buf_cstr(&t->last_msg), "the endpoint is cooling down");
			leave(t, t->last_type, t->last_status, buf_cstr(&m), NULL);
			buf_free(&m);
		} else {
			char msg[128];
			snprintf(msg, sizeof msg, "cooling down: %s", t->ep->cool_why);
			leave(t, NULL, 0, msg, "cooldown");
		}
		if (enter(t, now) < 0)
			return -1;
	}
	return 0;
}

/*
 * The auth breaker counts answers by status as they arrive, before
 * anything else is sent: 401 and 403 in a row trip it, a 2xx resets it.
 */
static void note_auth(struct endpoint *e, long status)
{
	if (status != 401 && status != 403) {
		if (status >= 200 && status <= 299)
			e->auth_fails = 0;
		return;
	}
	if (++e->auth_fails >= AUTH_BREAK && !e->auth_broken) {
		e->auth_broken = 1;
		warn_scrubbed(NULL, 0, "endpoint '%s': %d auth failures in a row (HTTP %ld): sending it no more "
		    "requests; its remaining records get an auth error", e->name, AUTH_BREAK, status);
	}
}

/* Whether JSON text a plugin returned is one valid value. */
static int valid_json(const char *s)
{
	const char *err;
	size_t off;
	return json_parse(scratch, s, strlen(s), &err, &off) == 0;
}

/* ---- windows (--context): a long prompt's logprobs, window by window ---- */

/*
 * The endpoint scores the whole prompt first; its tokens say where the
 * token boundaries are (tokens spell the text, so their byte lengths are
 * the offsets).  The first `context` tokens keep the logprobs of that
 * answer, which saw no more context than a window would.  Each later
 * window is the text of up to `context` tokens ending `stride` tokens
 * further on, and only its new tokens are kept, so each token is scored
 * once, with context - stride tokens or more before it.  A window may
 * tokenize its first bytes differently; tokens are matched by byte
 * offset, so that does not matter past the window's start.
 */
struct windows {
	char *text;		/* what the tokens spell */
	size_t *off;		/* off[i]: byte offset of token i; off[ntok] = strlen(text) */
	size_t ntok, first;	/* first: tokens before it (a BOS) spell nothing of the prompt */
	size_t done;		/* tokens scored so far */
	size_t begin;		/* the window in flight: its first token */
	qa_json *rec;		/* the window's request record: {"prompt": ...} */
	qa_buf rec_text;
	qa_buf tokens, lps, tops;	/* the merged arrays' members */
	double prompt_tokens, completion_tokens, latency_ms;
	int requests;
};

static void windows_free(struct task *t)
{
	struct windows *w = t->win;
	if (!w)
		return;
	free(w->text);
	free(w->off);
	json_free(&w->rec);
	buf_free(&w->rec_text);
	buf_free(&w->tokens);
	buf_free(&w->lps);
	buf_free(&w->tops);
	xfree(&t->win);
}

/* The record a request is built from: the window's, while windows are scored. */
static const qa_json *asked(const struct task *t)
{
	return t->win ? t->win->rec : t->j;
}

/* Appends member i of array path in lp to b, comma-separated. */
static void add_member(qa_buf *b, qa_json *lp, int arr, size_t i)
{
	size_t n;
	const char *raw = arr >= 0 ? json_raw(lp, json_index(lp, arr, i), &n) : NULL;
	if (b->len)
		buf_addc(b, ',');
	if (raw)
		buf_add(b, raw, n);
	else
		buf_adds(b, "null");
}

static void add_usage(struct windows *w, const char *usage, double latency_ms)
{
	double v;
	if (usage && json_parse(scratch, usage, strlen(usage), &(const char *){ 0 }, &(size_t){ 0 }) == 0) {
		if (json_num(scratch, json_find(scratch, 0, "prompt_tokens"), &v) == 0)
			w->prompt_tokens += v;
		if (json_num(scratch, json_find(scratch, 0, "completion_tokens"), &v) == 0)
			w->completion_tokens += v;
	}
	w->latency_ms += latency_ms;
	w->requests++;
}

/* The window ending stride tokens past what is scored: its request record. */
static void window_next(struct task *t)
{
	struct windows *w = t->win;
	size_t end = w->done + opt.stride < w->ntok ? w->done + opt.stride : w->ntok;
	w->begin = end - opt.context > w->first ? end - opt.context : w->first;
	w->rec_text.len = 0;
	buf_adds(&w->rec_text, "{\"prompt\":");
	buf_json_string(&w->rec_text, w->text + w->off[w->begin], w->off[end] - w->off[w->begin]);
	buf_addc(&w->rec_text, '}');
	if (!w->rec)
		w->rec = json_new();
	const char *err;
	size_t eoff;
	if (json_parse(w->rec, w->rec_text.p, w->rec_text.len, &err, &eoff) < 0)
		qa_die(QA_EXIT_USAGE, "internal error: a window's record does not parse: %s", err);
}

/*
 * The tokens of a logprobs object and their byte offsets (cumulative
 * lengths).  -1 when there are none or one is not a string.
 */
static int token_offsets(qa_json *lp, int *tokens, size_t **off, size_t *n, qa_buf *spelled)
{
	*tokens = json_member(lp, 0, "tokens", 6);
	if (json_type(lp, *tokens) != QA_ARRAY)
		return -1;
	*n = json_count(lp, *tokens);
	*off = xreallocarray(NULL, *n + 1, sizeof **off);
	spelled->len = 0;
	for (size_t i = 0; i < *n; i++) {
		size_t len;
		const char *s = json_str(lp, json_index(lp, *tokens, i), &len);
		if (!s)
			return -1;
		(*off)[i] = spelled->len;
		buf_add(spelled, s, len);
	}
	(*off)[*n] = spelled->len;
	return 0;
}

/*
 * Whether a token is a special one (BOS, EOS, ...) that spells nothing of
 * the text: "<s>", "</s>", "<|begin_of_text|>", "<bos>", or empty.
 */
static int special_token(const char *s, size_t len)
{
	if (len == 0)
		return 1;
	if (len < 3 || s[0] != '<' || s[len - 1] != '>')
		return 0;
	for (size_t i = 1; i < len - 1; i++)
		if (s[i] == ' ' || s[i] == '<' || s[i] == '>' || s[i] == '\n')
			return 0;
	return 1;
}

/*
 * Which of an answer's tokens spell text: [*skip, *end), past leading
 * and trailing special tokens (a BOS, an EOS), the first of them *shift
 * bytes in (1 when a SentencePiece tokenizer added its leading space to
 * a text that had none of its own).  0 when they spell text exactly, -1
 * when they do not.
 */
static int spelling_start(const size_t *off, size_t n, const char *sp, const char *text, size_t len,
    size_t *skip, size_t *end, size_t *shift)
{
	size_t trimmed = n;
	while (trimmed > 0 && special_token(sp + off[trimmed - 1], off[trimmed] - off[trimmed - 1]))
		trimmed--;
	for (*skip = 0; *skip <= n && *skip < 3; ++*skip) {
		for (int k = 0; k < 2; k++) {
			*end = k ? trimmed : n;
			if (*end < *skip || (k && trimmed == n))
				continue;
			size_t have = off[*end] - off[*skip];
			const char *s0 = sp + off[*skip];
			for (*shift = 0; *shift < 2; ++*shift)
				if (have == len + *shift && (*shift == 0 || s0[0] == ' ') &&
				    memcmp(s0 + *shift, text, len) == 0)
					return 0;
		}
		if (*skip == n || !special_token(sp + off[*skip], off[*skip + 1] - off[*skip]))
			break;
	}
	return -1;
}

/*
 * A logprobs answer under --context.  0: the record's logprobs are final
 * (*merged, when set, replaces the answer's); 1: another window was asked
 * for; -1: the record failed.
 */
static int window_step(struct task *t, const struct outcome *o, char **merged)
{
	const struct qa_reply *r = &o->reply;
	*merged = NULL;
	qa_json *lp = json_new();
	qa_buf spelled = { 0 };
	size_t *off = NULL, n = 0;
	int tokens, rc = -1;
	const char *err;
	size_t eoff;
	if (json_parse(lp, r->logprobs, strlen(r->logprobs), &err, &eoff) < 0 ||
	    token_offsets(lp, &tokens, &off, &n, &spelled) < 0) {
		fail(t, "bad_response", o->status, "--context: the logprobs have no tokens array of strings");
		goto out;
	}
	int lps = json_member(lp, 0, "token_logprobs", 14), tops = json_member(lp, 0, "top_logprobs", 12);
	if (json_type(lp, lps) != QA_ARRAY || json_count(lp, lps) != n) {
		fail(t, "bad_response", o->status, "--context: token_logprobs does not match tokens");
		goto out;
	}
	if (json_type(lp, tops) != QA_ARRAY || json_count(lp, tops) != n)
		tops = -1;

	struct windows *w = t->win;
	if (!w) {
		if (n <= opt.context) {
			rc = 0;	/* it fits: the one answer is the whole */
			goto out;
		}
		size_t plen;
		const char *prompt = json_str(t->j, json_member(t->j, 0, "prompt", 6), &plen);
		if (!prompt || json_member(t->j, 0, "system", 6) >= 0) {
			fail(t, "bad_record", 0, "--context: windows are cut from a prompt string (no system, no messages)");
			goto out;
		}
		/* The tokens spell the prompt, maybe between special tokens that spell nothing of it. */
		size_t first, end, shift;
		if (spelling_start(off, n, spelled.p, prompt, plen, &first, &end, &shift) < 0) {
			/* The same prompt gets the same tokens again: nothing to retry, nowhere to fall back. */
			fail(t, "bad_request", o->status, "--context: the endpoint's tokens do not spell the prompt, "
			    "so windows cannot be cut at token boundaries");
			goto out;
		}
		w = t->win = xcalloc(1, sizeof *w);
		w->text = xmalloc(plen + 1);
		memcpy(w->text, prompt, plen);
		w->text[plen] = '\0';
		/* Offsets into the prompt: the special tokens before it, and an added space, at 0. */
		size_t at = off[first];
		for (size_t i = 0; i <= end; i++)
			off[i] = i <= first || off[i] - at < shift ? 0 : off[i] - at - shift;
		w->off = off;
		off = NULL;
		w->ntok = end;
		w->first = first;
		for (size_t i = 0; i < opt.context; i++) {
			add_member(&w->tokens, lp, tokens, i);
			add_member(&w->lps, lp, lps, i);
			add_member(&w->tops, lp, tops, i);
		}
		w->done = opt.context;
	} else {
		/* The window's tokens from the first one that starts where the scored ones end. */
		size_t base = w->off[w->begin], from = w->off[w->done];
		size_t end = w->done + opt.stride < w->ntok ? w->done + opt.stride : w->ntok;
		size_t skip, stop, shift;
		if (spelling_start(off, n, spelled.p, w->text + base, w->off[end] - base, &skip, &stop, &shift) < 0) {
			fail(t, "bad_request", o->status, "--context: a window's tokens do not spell its text");
			goto out;
		}
		size_t i = skip;
		while (i < stop && base + (off[i] - off[skip]) < from + shift)
			i++;
		for (; i < stop; i++) {
			add_member(&w->tokens, lp, tokens, i);
			add_member(&w->lps, lp, lps, i);
			add_member(&w->tops, lp, tops, i);
		}
		w->done = end;
	}
	add_usage(w, r->usage, o->latency_ms);
	if (w->done < w->ntok) {
		window_next(t);
		rc = 1;
		goto out;
	}
	qa_buf m = { 0 };
	buf_printf(&m, "{\"tokens\":[%.*s],\"token_logprobs\":[%.*s]", (int)w->tokens.len,
	    w->tokens.p ? w->tokens.p : "", (int)w->lps.len, w->lps.p ? w->lps.p : "");
	if (tops >= 0)
		buf_printf(&m, ",\"top_logprobs\":[%.*s]", (int)w->tops.len, w->tops.p ? w->tops.p : "");
	buf_printf(&m, ",\"windows\":{\"context\":%zu,\"stride\":%zu,\"requests\":%d}}", opt.context, opt.stride,
	    w->requests);
	*merged = xstrdup(buf_cstr(&m));
	buf_free(&m);
	rc = 0;
out:
	free(off);
	buf_free(&spelled);
	json_free(&lp);
	return rc;
}

/*
 * An answer whose server timed itself: latency much larger than the
 * server's compute (prompt_ms + predicted_ms) is waiting, not work; and
 * the first chat request made from a bare prompt is kept, to compare its
 * prompt_tokens with the prompt's own at the end (report_server()).
 */
static void note_server(struct task *t, const struct outcome *o)
{
	const struct qa_reply *r = &o->reply;
	struct endpoint *e = t->ep;
	double pm, gm, pt;
	if (json_parse(scratch, r->server_timings, strlen(r->server_timings), &(const char *){ 0 },
	    &(size_t){ 0 }) == 0 && json_num(scratch, json_find(scratch, 0, "prompt_ms"), &pm) == 0 &&
	    json_num(scratch, json_find(scratch, 0, "predicted_ms"), &gm) == 0) {
		double compute = pm + gm, over = o->latency_ms - compute;
		e->st_n++;
		if (over > 250 && over > 2 * compute) {
			e->st_slow++;
			e->st_lat += o->latency_ms;
			e->st_comp += compute;
		}
	}
	size_t plen;
	const char *prompt = json_str(t->j, json_member(t->j, 0, "prompt", 6), &plen);
	if (!e->chat_prompt && prompt && json_member(t->j, 0, "system", 6) < 0 && t->req.url &&
	    strstr(t->req.url, "/chat/completions") && r->usage &&
	    json_parse(scratch, r->usage, strlen(r->usage), &(const char *){ 0 }, &(size_t){ 0 }) == 0 &&
	    json_num(scratch, json_find(scratch, 0, "prompt_tokens"), &pt) == 0) {
		e->chat_prompt = xstrndup(prompt, plen);
		e->chat_tokens = pt;
	}
}

static void succeed(struct task *t, const struct outcome *o, double now)
{
	const struct qa_reply *r = &o->reply;
	if ((r->usage && !valid_json(r->usage)) || (r->logprobs && !valid_json(r->logprobs)) ||
	    (r->server_timings && !valid_json(r->server_timings))) {
		if (fall_back(t, "bad_response", o->status, "the provider returned usage or logprobs that are not JSON",
		    now) == 0 && enter(t, now) == 0)
			ready_push(t);
		return;
	}
	char *merged = NULL;
	if (opt.context && r->logprobs) {
		int rc = window_step(t, o, &merged);
		if (rc < 0)
			return;
		if (rc > 0) {
			/* The next window: a request of its own, with retries of its own. */
			t->prior_attempts += t->attempts;
			t->attempts = 0;
			if (enter(t, now) == 0)
				ready_push(t);
			return;
		}
	}
	const char *text = t->win ? t->win->text : r->text;
	qa_buf b = { 0 };
	buf_adds(&b, "{\"text\":");
	if (text)	/* an answer may hold NULs (\u0000): its length, not strlen's */
		buf_json_string(&b, text, !t->win && r->text_len ? r->text_len : strlen(text));
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"finish_reason\":");
	if (r->finish_reason)
		buf_json_string(&b, r->finish_reason, strlen(r->finish_reason));
	else
		buf_adds(&b, "null");
	const char *model = r->model ? r->model : t->model;
	buf_adds(&b, ",\"model\":");
	if (model)
		buf_json_string(&b, model, strlen(model));
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"endpoint\":");
	buf_json_string(&b, t->ep->name, strlen(t->ep->name));
	buf_adds(&b, ",\"usage\":");
	if (t->win)
		buf_printf(&b, "{\"prompt_tokens\":%.0f,\"completion_tokens\":%.0f,\"total_tokens\":%.0f}",
		    t->win->prompt_tokens, t->win->completion_tokens,
		    t->win->prompt_tokens + t->win->completion_tokens);
	else
		buf_adds(&b, r->usage ? r->usage : "null");
	buf_adds(&b, ",\"latency_ms\":");
	buf_json_number(&b, round((t->win ? t->win->latency_ms : o->latency_ms) * 10) / 10);
	/* libcurl's breakdown of the (last) attempt, ms from its start: queueing shows in ttfb. */
	if (o->timed)
		buf_printf(&b, ",\"timing\":{\"connect\":%.1f,\"tls\":%.1f,\"ttfb\":%.1f}", o->connect_ms, o->tls_ms,
		    o->ttfb_ms);
	if (r->server_timings && !t->win) {
		buf_adds(&b, ",\"server_timings\":");
		buf_adds(&b, r->server_timings);
		note_server(t, o);
	}
	buf_printf(&b, ",\"attempts\":%d,\"status\":%ld,\"request_id\":", t->prior_attempts + t->attempts,
	    o->status);
	if (t->h.request_id.len)
		buf_json_string(&b, t->h.request_id.p, t->h.request_id.len);
	else if (r->id)
		buf_json_string(&b, r->id, strlen(r->id));
	else
		buf_adds(&b, "null");
	if (t->h.ratelimit.len) {
		buf_adds(&b, ",\"ratelimit\":{");
		buf_add(&b, t->h.ratelimit.p, t->h.ratelimit.len);
		buf_addc(&b, '}');
	}
	if (t->from.len) {
		buf_adds(&b, ",\"fallback_from\":[");
		buf_add(&b, t->from.p, t->from.len);
		buf_addc(&b, ']');
	}
	if (merged || r->logprobs) {
		buf_adds(&b, ",\"logprobs\":");
		buf_adds(&b, merged ? merged : r->logprobs);
	}
	buf_addc(&b, '}');
	scrub(&b);
	emit(t, b.p, b.len, NULL, 0);
	buf_free(&b);
	free(merged);
	task_done(t);
}

/* An attempt ended: answer, retry, or give up. */
static void settle(struct task *t, struct outcome *o, double now)
{
	note_outcome(t->ep, o, now);
	if (o->ok) {
		trace(t, "answer", o, "", -1);
		succeed(t, o, now);
	} else {
		double delay = 0;
		const char *why;
		char reason[160] = "";
		if (decide(t, o, now, &delay, &why, reason, sizeof reason)) {
			trace(t, "retry", o, reason, delay);
			t->st = T_WAIT;
			t->wake = now + delay;
			waiting++;
			stats.retries++;
			t->last_type = o->type;
			t->last_status = o->status;
			t->last_msg.len = 0;
			buf_adds(&t->last_msg, o->message ? o->message : o->type);
		} else {
			trace(t, "give_up", o, why ? why : o->retry ? "retries exhausted" : "not retryable", -1);
			give_up(t, o, why, now);
		}
	}
	free(o->message);
	reply_free(&o->reply);
}

/* ---- dispatch ---- */

static void trace(const struct task *t, const char *decision, const struct outcome *o, const char *reason,
    double delay_ms);
static const char *budget_spent(void);

/*
 * libcurl calls this before each request it sends, and when a reused
 * keep-alive connection dies before an answer it sends the request again
 * on a new one without asking.  Each of those left the machine and may be
 * billed, so each counts as an attempt and a retry, against -r and the
 * budget; one past them is not sent.
 */
static int on_prereq(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct task *t = arg;
	(void)ip, (void)local_ip, (void)port, (void)local_port;
	if (t->sends++ == 0)
		return CURL_PREREQFUNC_OK;
	const char *why = t->attempts > opt.retries ? "retries exhausted" : budget_spent();
	if (why) {
		t->resend_refused = 1;	/* settle() gives up on it, saying why */
		return CURL_PREREQFUNC_ABORT;
	}
	t->attempts++;
	stats.requests++;
	stats.retries++;
	trace(t, "resend", NULL, "a reused connection closed before an answer: libcurl resent", 0);
	return CURL_PREREQFUNC_OK;
}

static void start_http(struct task *t, double now)
{
	CURL *c = t->easy = easy_get();
	t->body.len = 0;
	t->too_big = 0;
	hdrs_reset(&t->h);
	(void)now;
	curl_easy_setopt(c, CURLOPT_URL, t->req.url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->req.body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->req.body_len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)t->attempt_ms);
	curl_easy_setopt(c, CURLOPT_PIPEWAIT, (long)(opt.h2c || strncasecmp(t->req.url, "https:", 6) == 0));
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(c, CURLOPT_PRIVATE, t);
	t->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
	t->sends = t->resend_refused = 0;
	curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(c, CURLOPT_PREREQDATA, t);
	t->st = T_ACTIVE;
	CURLMcode mc = curl_multi_add_handle(multi, c);
	if (mc != CURLM_OK)
		qa_die(QA_EXIT_USAGE, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
}

static void finish_sim(struct task *t, double now);

/* An in-process provider answers now; qa-send waits its latency only when asked to. */
static void start_sim(struct task *t, double now)
{
	const struct qa_plugin *pl = t->ep->prov->l.plugin;
	struct qa_endpoint qe = { t->ep->name, t->ep->base_url, t->model, t->pj };
	char *err = NULL;
	xfree(&t->sim.body);
	xfree(&t->sim.headers);
	memset(&t->sim, 0, sizeof t->sim);
	qa_set_where(t->file, t->lineno);
	int rc = pl->respond(t->ep->prov->state, asked(t), &qe, &t->req, &t->sim, &err);
	host_reset();
	if (rc < 0 || !t->sim.body) {
		inflight--;
		t->ep->inflight--;
		if (fall_back(t, "bad_response", 0, err ? err : "the provider gave no answer", now) == 0 &&
		    enter(t, now) == 0)
			ready_push(t);
		free(err);
		return;
	}
	free(err);
	t->sim_timeout = t->sim.wait && t->sim.latency_ms > t->attempt_ms;
	if (t->sim.wait && t->sim.latency_ms > 0) {
		t->st = T_SIMWAIT;
		t->wake = now + (t->sim_timeout ? t->attempt_ms : t->sim.latency_ms);
		waiting++;
		return;
	}
	finish_sim(t, now);
}

static void finish_sim(struct task *t, double now)
{
	inflight--;
	t->ep->inflight--;
	struct outcome o = { 0 };
	o.hint_ms = HINT_NONE;
	hdrs_reset(&t->h);
	if (t->sim_timeout) {
		classify_curl(t, CURLE_OPERATION_TIMEDOUT, "simulated", &o);
	} else {
		if (t->sim.headers) {
			char *save = NULL;
			for (char *l = strtok_r(t->sim.headers, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
				on_header_line(&t->h, l, strlen(l));
		}
		t->body.len = 0;
		buf_add(&t->body, t->sim.body, t->sim.body_len);
		note_auth(t->ep, t->sim.status);
		classify_http(t, t->sim.status, &o);
		o.latency_ms = t->sim.latency_ms;
	}
	settle(t, &o, now);
}

/* Whether the endpoint takes another request now; when not, *at is when it may (or 0: when one ends). */
static int endpoint_open(struct endpoint *e, double now, double *at)
{
	*at = 0;
	if (e->concurrency && e->inflight >= e->concurrency)
		return 0;
	if (e->rpm && now < e->next_start) {
		*at = e->next_start;
		return 0;
	}
	return 1;
}

static void start(struct task *t, double now)
{
	if (t->ep->auth_broken) {
		char msg[300];
		snprintf(msg, sizeof msg, "not sent: endpoint '%s' stopped after %d auth failures in a row",
		    t->ep->name, AUTH_BREAK);
		if (fall_back(t, "auth", 0, msg, now) == 0 && enter(t, now) == 0)
			ready_push(t);
		return;
	}
	if (!t->deadline) {	/* one deadline for the whole chain */
		t->first = now;
		t->deadline = now + opt.deadline_ms;
	}
	t->attempts++;
	stats.requests++;
	t->easy_done = 0;
	inflight++;
	t->ep->inflight++;
	if (t->ep->rpm)
		t->ep->next_start = (t->ep->next_start > now ? t->ep->next_start : now) + 60000.0 / (double)t->ep->rpm;
	t->t0 = now;
	double left = t->deadline - now;
	t->attempt_ms = opt.timeout_ms < left ? opt.timeout_ms : left;
	if (t->attempt_ms < 1)
		t->attempt_ms = 1;
	if (t->ep->prov->l.plugin->respond)
		start_sim(t, now);
	else
		start_http(t, now);
}

/*
 * Starts ready records, in the order they became ready, while slots and
 * their endpoints allow; a record whose endpoint cools down moves on first.
 */
static void dispatch(double now, double *next_timer)
{
	int prev = -1;
	for (int i = ready_head; i >= 0 && inflight < opt.concurrency;) {
		struct task *t = &tasks[i];
		int next = t->next_ready;
		double at;
		int done = pass_cooling(t, now) < 0;
		if (!done && !t->ep->auth_broken && !endpoint_open(t->ep, now, &at)) {
			if (at > 0 && (*next_timer == 0 || at < *next_timer))
				*next_timer = at;
			prev = i;
			i = next;
			continue;
		}
		/* unlink */
		if (prev >= 0)
			tasks[prev].next_ready = next;
		else
			ready_head = next;
		if (ready_tail == i)
			ready_tail = prev;
		if (!done)
			start(t, now);
		i = next;
	}
}

/* Records whose wait is over: back to the ready queue, or (simulated answers) settled. */
static void wake(double now, double *next_timer)
{
	if (!waiting)
		return;
	for (size_t i = 0; i < ntasks; i++) {
		struct task *t = &tasks[i];
		if (t->st != T_WAIT && t->st != T_SIMWAIT)
			continue;
		/* A retry on an endpoint that cools down need not wait: dispatch() sends the record on. */
		if (t->wake > now && !(t->st == T_WAIT && may_skip(t, now))) {
			if (*next_timer == 0 || t->wake < *next_timer)
				*next_timer = t->wake;
			continue;
		}
		waiting--;
		if (t->st == T_WAIT)
			ready_push(t);
		else
			finish_sim(t, now);
	}
}

/* A finished transfer, taken off curl before its answer is read. */
struct finished {
	struct task *t;
	CURLcode rc;
	long status;
	double latency_ms;
	double connect_ms, tls_ms, ttfb_ms;
};

static struct finished *fin;

/*
 * Takes the finished transfers off curl and frees their slots; reading
 * their answers waits until the slots are refilled (see run()).
 */
static size_t reap(void)
{
	CURLMsg *m;
	int left;
	size_t n = 0;
	while ((m = curl_multi_info_read(multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *c = m->easy_handle;
		struct finished *f = &fin[n++];
		f->rc = m->data.result;
		f->t = NULL;
		f->status = 0;
		curl_off_t us = 0;
		curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&f->t);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
		curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &us);
		f->latency_ms = (double)us / 1000;
		us = 0;
		curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &us);
		f->connect_ms = (double)us / 1000;
		us = 0;
		curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &us);
		f->tls_ms = (double)us / 1000;
		us = 0;
		curl_easy_getinfo(c, CURLINFO_STARTTRANSFER_TIME_T, &us);
		f->ttfb_ms = (double)us / 1000;
		curl_off_t cus = (curl_off_t)(f->connect_ms * 1000), aus = (curl_off_t)(f->tls_ms * 1000);
		curl_multi_remove_handle(multi, c);
		easy_put(c);
		struct task *t = f->t;
		t->easy = NULL;
		t->easy_done = 1;
		t->connect_ms = (double)cus / 1000;
		t->appconnect_ms = (double)aus / 1000;
		inflight--;
		t->ep->inflight--;
		if (f->rc == CURLE_OK)
			note_auth(t->ep, f->status);
	}
	return n;
}

/* Reads the answers reap() took: done, retried or given up. */
static void settle_finished(size_t n, double now)
{
	for (size_t i = 0; i < n; i++) {
		struct task *t = fin[i].t;
		struct outcome o = { 0 };
		o.hint_ms = HINT_NONE;
		o.latency_ms = fin[i].latency_ms;
		o.timed = 1;
		o.connect_ms = fin[i].connect_ms;
		o.tls_ms = fin[i].tls_ms;
		o.ttfb_ms = fin[i].ttfb_ms;
		if (fin[i].rc != CURLE_OK) {
			o.deadline = fin[i].rc == CURLE_OPERATION_TIMEDOUT && t->t0 + opt.timeout_ms > t->deadline;
			classify_curl(t, fin[i].rc, t->errbuf, &o);
		} else {
			classify_http(t, fin[i].status, &o);
		}
		settle(t, &o, now);
	}
}

/* ---- output ---- */

static void release(struct task *t)
{
	t->st = T_FREE;
	inwindow--;
	if (opt.unordered)
		free_slots[nfree++] = (int)(t - tasks);
	if (t->out.cap > (1u << 20))
		buf_free(&t->out);
	if (t->body.cap > (1u << 20))
		buf_free(&t->body);
}

/* Moves finished records to the output: the head of the window, or any (--unordered). */
static void collect(void)
{
	if (opt.unordered) {
		for (size_t i = 0; i < ntasks; i++)
			if (tasks[i].st == T_DONE) {
				buf_add(&outbuf, tasks[i].out.p, tasks[i].out.len);
				release(&tasks[i]);
			}
		return;
	}
	while (head_seq < next_seq) {
		struct task *t = &tasks[head_seq % ntasks];
		if (t->st != T_DONE)
			break;
		buf_add(&outbuf, t->out.p, t->out.len);
		release(t);
		head_seq++;
	}
}

static void flush_out(void)
{
	if (!outbuf.len)
		return;
	out_write(stdout, &outbuf);
	out_flush();
}

/* ---- progress ---- */

static double last_progress;

static void progress(double now, int final)
{
	if (!progress_on || (!final && now - last_progress < 200))
		return;
	last_progress = now;
	if (final) {
		progress_clear();
		return;
	}
	double secs = (now - stats.start) / 1000;
	double rate = secs > 0 ? (double)stats.done / secs : 0;
	char total[32] = "", eta[32] = "";
	if (stats.total >= 0) {
		snprintf(total, sizeof total, "/%ld", stats.total);
		if (rate > 0 && stats.total >= stats.done)
			snprintf(eta, sizeof eta, "  eta %.0fs", (double)(stats.total - stats.done) / rate);
	}
	char moved[48] = "";
	if (stats.moves)
		snprintf(moved, sizeof moved, "  %ld fallbacks", stats.moves);
	fprintf(stderr, "\r%s: %ld%s done  %.1f/s  %ld errors  %ld retries%s  %ld in flight%s\033[K", qa_prog,
	    stats.done, total, rate, stats.errors, stats.retries, moved, inflight, eta);
	progress_drawn = 1;
}

/* ---- signals: stop admitting, let what is in flight finish, write it all ---- */

static volatile sig_atomic_t got_signal, nsignals;
static int stopping;
static double grace_end;

static void on_signal(int sig)
{
	if (!got_signal)
		got_signal = sig;
	nsignals++;
	if (multi)
		curl_multi_wakeup(multi);	/* a write to curl's own socket pair: out of the wait at once */
}

static void setup_signals(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;	/* a write of the output is finished, never cut */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* A record the signal caught before it was answered. */
static void interrupt(struct task *t)
{
	char msg[96];
	snprintf(msg, sizeof msg, "interrupted by %s before an answer", strsignal(got_signal));
	fail(t, "interrupted", 0, msg);
}

/*
 * After a signal, every record that is not in flight is done at once;
 * those in flight get until the grace ends (or a second signal), then
 * they are taken off curl and done too.
 */
static void stop_idle(double now)
{
	int all = nsignals > 1 || now >= grace_end;
	for (size_t i = 0; i < ntasks; i++) {
		struct task *t = &tasks[i];
		switch (t->st) {
		case T_READY:
			interrupt(t);
			break;
		case T_WAIT:
			waiting--;
			interrupt(t);
			break;
		case T_SIMWAIT:
			if (!all)
				break;
			waiting--;
			inflight--;
			t->ep->inflight--;
			interrupt(t);
			break;
		case T_ACTIVE:
			if (!all)
				break;
			curl_multi_remove_handle(multi, t->easy);
			easy_put(t->easy);
			t->easy = NULL;
			inflight--;
			t->ep->inflight--;
			interrupt(t);
			break;
		default:
			break;
		}
	}
	ready_head = ready_tail = -1;
}

/* Input records never admitted: those that can be read without waiting.  -1 after the count: more may follow. */
static long never_admitted(struct feed *f, int *more)
{
	long n = 0;
	*more = 0;
	for (;;) {
		char *line;
		size_t len;
		int r = feed_line(f, &line, &len);
		if (r < 0)
			return n;
		if (r == 0) {
			if (!fd_readable(f->fd)) {
				*more = 1;
				return n;
			}
			feed_fill(f);
			continue;
		}
		if (strspn(line, " \t\r") != len)
			n++;
	}
}

/* ---- the loop ---- */

/* The earliest wake-up among waiting records, or 0. */
static double next_wake(void)
{
	double at = 0;
	for (size_t i = 0; waiting && i < ntasks; i++)
		if ((tasks[i].st == T_WAIT || tasks[i].st == T_SIMWAIT) && (at == 0 || tasks[i].wake < at))
			at = tasks[i].wake;
	return at;
}

/* A count that moves whenever a turn of the loop did something. */
static long turn_mark(void)
{
	return stats.read + stats.done + stats.requests + stats.retries + readied;
}

/*
 * Each turn: read what fits, wake what waited, start what may start, let
 * curl work, collect what finished, write the head.  Then wait for a
 * socket, the input, or the next timer, unless the turn changed anything.
 */
static void run(struct feed *f)
{
	stats.start = now_ms();
	for (;;) {
		long before = turn_mark();
		if (got_signal && !stopping) {
			stopping = 1;
			grace_end = now_ms() + opt.grace_ms;
			if (opt.trace)
				fprintf(opt.trace, "{\"decision\":\"stop\",\"reason\":\"%s\",\"in_flight\":%ld,"
				    "\"grace_ms\":%.0f}\n", strsignal(got_signal), inflight, opt.grace_ms);
		}
		if (!stopping)
			admit_input(f);
		double now = now_ms(), timer = 0;
		if (stopping)
			stop_idle(now);
		wake(now, &timer);
		if (!stopping)
			dispatch(now, &timer);
		int running = 0;
		curl_multi_perform(multi, &running);
		size_t nfin = reap();
		if (nfin && !stopping) {
			/* Refill the freed slots and send before reading what came back. */
			dispatch(now_ms(), &timer);
			curl_multi_perform(multi, &running);
		}
		settle_finished(nfin, now_ms());
		if (stopping)
			stop_idle(now_ms());	/* what settling sent back to wait or to another endpoint */
		collect();
		flush_out();
		progress(now_ms(), 0);
		if ((f->done || stopping) && !inwindow)
			break;
		int busy = turn_mark() != before;
		int need_input = !f->done && window_has_room();
		/* A line already buffered, the end of a file, or a regular file: no reason to wait. */
		if (need_input && (f->len > f->scan || f->eof || fd_readable(f->fd)))
			busy = 1;
		long wait = 0;
		if (!busy) {
			double w = next_wake();
			if (w && (timer == 0 || w < timer))
				timer = w;
			wait = 1000;
			if (timer > 0) {
				double d = timer - now_ms();
				wait = d <= 0 ? 0 : d < 1000 ? (long)ceil(d) : 1000;
			}
			if (progress_on && wait > 200)
				wait = 200;
			if (stopping) {	/* the grace's end is a timer too */
				double d = grace_end - now_ms();
				if (d < wait)
					wait = d <= 0 ? 0 : (long)ceil(d);
			}
		}
		struct curl_waitfd in = { .fd = f->fd, .events = CURL_WAIT_POLLIN };
		if (wait > 0)
			curl_multi_poll(multi, need_input ? &in : NULL, need_input ? 1 : 0, (int)wait, NULL);
	}
	progress(now_ms(), 1);
}

/* ---- setup ---- */

/*
 * --mode logprobs: the prompt's own logprobs, as lm-eval asks a completions
 * endpoint for them: echo the prompt, 5 alternatives a token, generate
 * nothing.  --param wins over these, and a record's params over both.
 */
static void setup_mode(void)
{
	static const char *const defaults[][2] = { { "echo", "true" }, { "logprobs", "5" }, { "max_tokens", "0" } };
	if (opt.stride && !opt.context)
		qa_die(QA_EXIT_USAGE, "--stride needs --context");
	if (opt.context && !opt.logprobs_mode)
		qa_die(QA_EXIT_USAGE, "--context cuts prompts into windows for --mode logprobs; give --mode logprobs");
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
static void add_param(const char *arg)
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

static double seconds_arg(const char *name, const char *s, double min)
{
	double v;
	if (parse_double(s, min, 1e7, &v) < 0)
		qa_die(QA_EXIT_USAGE, "--%s: '%s' is not a number of seconds from %g", name, s, min);
	return v * 1000;
}

static long count_arg(const char *name, const char *s, long min, long max)
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
static void setup_fallback(const char *list)
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
static void report_fallback(void)
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

static size_t on_side_body(char *p, size_t size, size_t n, void *arg)
{
	qa_buf *b = arg;
	if (b->len + size * n > (1u << 20))
		return 0;
	buf_add(b, p, size * n);
	return size * n;
}

/* The answer of the last side request: scratch points into it. */
static qa_buf side_body;

/*
 * One small request to the server beside the API (llama.cpp's /props,
 * /tokenize): the base URL without its /v1, at most 2 s, failures
 * ignored.  The parsed answer in scratch, or -1.
 */
static int side_request(const struct endpoint *e, const char *path, const char *post)
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
static void report_server(void)
{
	for (size_t i = 0; i < neps; i++) {
		struct endpoint *e = eps[i];
		if (e->st_slow >= 3 && 5 * e->st_slow >= e->st_n) {
			double slots;
			int known = side_request(e, "/props", NULL) == 0 &&
			    json_num(scratch, json_find(scratch, 0, "total_slots"), &slots) == 0 && slots >= 1;
			char fix[160];
			if (known && (double)opt.concurrency > slots)
				snprintf(fix, sizeof fix, "-c %ld is above the server's %.0f slots (/props total_slots): "
				    "use -c %.0f", opt.concurrency, slots, slots);
			else if (known)
				snprintf(fix, sizeof fix, "the server has %.0f slots (/props total_slots) and other "
				    "clients may be using them", slots);
			else
				snprintf(fix, sizeof fix, "keep -c (now %ld) at or below the server's parallel slots "
				    "(llama-server -np)", opt.concurrency);
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
static void setup_files(void)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)opt.concurrency + 32;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		qa_die(QA_EXIT_USAGE, "-c %ld needs %lu open files, over the limit of %lu (hard limit %lu); "
		    "lower -c or raise the limit (ulimit -n)", opt.concurrency, (unsigned long)need,
		    (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);
	unsigned long soft = (unsigned long)rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		qa_die(QA_EXIT_USAGE, "-c %ld needs %lu open files, over the limit of %lu, which could not be "
		    "raised: %s", opt.concurrency, (unsigned long)need, soft, strerror(errno));
}

static QA_NORETURN void usage(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	exit(status);
}

static void cleanup(void)
{
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
			if (p->l.plugin->fini && p->state)
				p->l.plugin->fini(p->state);
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
		O_SEED, O_UNORDERED, O_WINDOW, O_MODE, O_CONTEXT, O_STRIDE, O_GRACE, O_RETRY_BUDGET, O_TRACE,
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
		{ "retry-after-max", required_argument, NULL, O_RETRY_AFTER_MAX },
		{ "retry-budget", required_argument, NULL, O_RETRY_BUDGET },
		{ "seed", required_argument, NULL, O_SEED },
		{ "stride", required_argument, NULL, O_STRIDE },
		{ "timeout", required_argument, NULL, 't' },
		{ "trace", required_argument, NULL, O_TRACE },
		{ "unordered", no_argument, NULL, O_UNORDERED },
		{ "version", no_argument, NULL, 'V' },
		{ "window", required_argument, NULL, O_WINDOW },
		{ NULL, 0, NULL, 0 },
	};
	const char *endpoint = NULL, *provider = NULL, *base_url = NULL, *model = NULL, *key_env = NULL;
	const char *config_path = NULL, *fallback = NULL, *trace_path = NULL;
	int c, seeded = 0;

	qa_tool_init(argv[0]);
	while ((c = getopt_long(argc, argv, "c:e:F:hH:m:p:qr:t:V", longopts, NULL)) != -1) {
		switch (c) {
		case O_ALLOWED_FAILS: opt.allowed_fails = count_arg("allowed-fails", optarg, 0, 1000000); break;
		case O_BACKOFF_BASE: opt.backoff_base_ms = seconds_arg("backoff-base", optarg, 0); break;
		case O_BACKOFF_CAP: opt.backoff_cap_ms = seconds_arg("backoff-cap", optarg, 0); break;
		case O_BASE_URL: base_url = optarg; break;
		case 'c': opt.concurrency = count_arg("concurrency", optarg, 1, 100000); break;
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
		case O_KEY_ENV: key_env = optarg; break;
		case O_MAX_RETRIES_TOTAL:
			opt.max_retries_total = count_arg("max-retries-total", optarg, 0, 1000000000);
			break;
		case 'm': model = optarg; break;
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
		default: usage(QA_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

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
	setup_files();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		qa_die(QA_EXIT_USAGE, "curl_global_init failed");

	char err[1200];
	int rc = config_load(&config, config_path, err, sizeof err);
	if (rc < 0)
		qa_die(QA_EXIT_USAGE, "%s", err);
	config_loaded = rc == 0;

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
		if (default_ep->why)
			die_scrubbed(default_ep->why);
	} else if (!config_loaded || !config.n) {
		qa_die(QA_EXIT_USAGE, "no endpoint: give --endpoint NAME, --provider NAME, or set OPENAI_BASE_URL "
		    "(try --provider mock)");
	} else if (base_url || model || key_env) {
		qa_die(QA_EXIT_USAGE, "--base-url, --model and --key-env need --endpoint or --provider");
	}
	if (fallback)
		setup_fallback(fallback);

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
