/*
 * qa-send's use of the response cache (lib/cache.c): a request already
 * answered is served from the file instead of sent, and every answer is
 * stored before its record is written, so a run killed at any point
 * resumes by running it again, paying only for what it had not written.
 */
#include "qa-send.h"
#include "cache.h"

static qa_cache *rc;
static enum qa_cache_mode rc_mode = QA_CACHE_READ_WRITE;
static char *rc_path;
static int rc_batch;		/* a read batch is open */
long cache_hits;

/* --cache-mode MODE, --cache FILE (main.c's option table) */
void cache_mode_opt(const struct qa_opt *o, const char *arg)
{
	if (cache_mode_parse(arg, &rc_mode) < 0)
		qa_die(QA_EXIT_USAGE, "--%s: '%s' is not read-write, read-only, refresh or off", o->name, arg);
}

void cache_path_opt(const char *arg)
{
	free(rc_path);
	rc_path = xstrdup(arg);
}

void cache_setup(void)
{
	if (rc_mode == QA_CACHE_OFF)
		return;
	if (!rc_path && !(rc_path = cache_default_path_new())) {
		qa_warn("no response cache: neither XDG_CACHE_HOME nor HOME is set");
		return;
	}
	char err[512];
	if (!(rc = cache_open(rc_path, rc_mode, err, sizeof err)))
		qa_die(QA_EXIT_USAGE, "--cache: %s", err);
}

void cache_teardown(void)
{
	cache_read_done();
	cache_close(&rc);
	xfree(&rc_path);
}

/*
 * A warm run looks up many keys in a row: one read transaction for them
 * all instead of one each.  Ended before any put, since a writer must not
 * hold a read snapshot that others' commits have moved past.
 */
void cache_read_batch(void)
{
	char err[512];
	if (rc && !rc_batch && cache_read_begin(rc, err, sizeof err) == 0)
		rc_batch = 1;
}

void cache_read_done(void)
{
	if (rc_batch)
		cache_read_end(rc);
	rc_batch = 0;
}

/* The key of the request t is about to send, to its current endpoint: 0, or -1. */
static int task_key(const struct task *t, qa_cache_key *k)
{
	if (!rc || opt.context || !t->req.body)
		return -1;	/* --context: one answer is many windows' requests */
	if (t->ep->prov->l.plugin->provider->respond)
		return -1;	/* simulated (mock): free, and its answers follow --seed, not the body */
	const struct endpoint *e = t->ep;
	qa_cache_req q = {
		.provider = e->prov->name,
		.base_url = e->base_url ? e->base_url : "",
		.model = t->model ? t->model : "",
		.mode = opt.logprobs_mode ? "logprobs" : "text",
		.body = t->req.body,
		.body_len = t->req.body_len ? t->req.body_len : strlen(t->req.body),
		.sample = 0,
	};
	const qa_json *j = t->j;
	int s = json_member(j, 0, "sample", 6);
	double d;
	if (s >= 0 && json_num(j, s, &d) == 0 && d >= 0 && d < 1e15)
		q.sample = (unsigned long)d;
	char err[160];
	return cache_key(&q, k, err, sizeof err);
}

/*
 * Serves t from the cache when its request was answered before: the
 * stored response as it was (its attempts and latency are the original
 * call's), marked cached.  1 when served (t is done), else 0.
 */
int cache_serve(struct task *t)
{
	qa_cache_key k;
	if (task_key(t, &k) < 0)
		return 0;
	qa_cache_hit h = { 0 };
	char err[512];
	int r = cache_get(rc, &k, &h, err, sizeof err);
	if (r < 0)
		qa_warn("cache: %s", err);
	if (r <= 0)
		return 0;
	size_t n = h.response_len;
	while (n && h.response[n - 1] != '}')
		n--;
	if (!n) {
		cache_hit_free(&h);
		return 0;
	}
	qa_buf b = { 0 };
	buf_add(&b, h.response, n - 1);
	buf_adds(&b, ",\"cached\":true,\"cached_at\":");
	buf_json_string(&b, h.cached_at_text, strlen(h.cached_at_text));
	buf_addc(&b, '}');
	emit(t, b.p, b.len, NULL, 0);
	buf_free(&b);
	cache_hit_free(&h);
	cache_hits++;
	task_done(t);
	return 1;
}

/* Stores t's answer (response, as it will be written) before the record is written. */
void cache_store(struct task *t, const char *response, size_t len, const char *finish_reason)
{
	qa_cache_key k;
	if (rc_mode == QA_CACHE_READ_ONLY || task_key(t, &k) < 0)
		return;
	cache_read_done();
	qa_cache_entry e = {
		.response = response,
		.response_len = len,
		.cached_at = (int64_t)time(NULL),
		.endpoint = t->req.url ? t->req.url : t->ep->base_url ? t->ep->base_url : "",
		.model = t->model ? t->model : "",
		.request_bytes = (int64_t)(t->req.body_len ? t->req.body_len : strlen(t->req.body)),
	};
	char err[512];
	if (cache_put(rc, &k, &e, finish_reason, err, sizeof err) < 0)
		qa_warn("cache: %s", err);
}
