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
/* The write batch: answers stored since it began, and when; committed at BATCH_N or after BATCH_MS. */
#define BATCH_N 512
#define BATCH_MS 10.0
static long batch_n;
static double batch_t0;
static int *bucket;		/* records whose request is in flight, by key: heads of chains */
static size_t nbucket;

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
	for (nbucket = 16; nbucket < 2 * ntasks; nbucket *= 2)
		;
	bucket = xmalloc(nbucket * sizeof *bucket);
	for (size_t i = 0; i < nbucket; i++)
		bucket[i] = -1;
	for (size_t i = 0; i < ntasks; i++)
		tasks[i].twins = tasks[i].twin_next = tasks[i].bucket_next = -1;
}

void cache_teardown(void)
{
	cache_commit();
	cache_read_done();
	cache_close(&rc);
	xfree(&bucket);
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
	if (rc && !rc_batch && !cache_writing(rc) && cache_read_begin(rc, err, sizeof err) == 0)
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

/* ---- identical requests in flight: the first is sent, its twins wait for its answer ---- */

static size_t bucket_of(const char *hex)
{
	size_t h = 0;
	for (int i = 0; i < 16; i++)
		h = h * 16 + (size_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
	return h & (nbucket - 1);
}

static struct task *owner_of(const char *hex)
{
	for (int i = bucket[bucket_of(hex)]; i >= 0; i = tasks[i].bucket_next)
		if (memcmp(tasks[i].key, hex, 64) == 0)
			return &tasks[i];
	return NULL;
}

static void own(struct task *t)
{
	size_t b = bucket_of(t->key);
	t->bucket_next = bucket[b];
	bucket[b] = (int)(t - tasks);
	t->owns = 1;
	t->twins = -1;
}

/*
 * t's request is no longer in flight under its key: off the table, and
 * its twins (those the answer did not serve) go back to the ready queue
 * to be sent themselves, the first of them becoming the owner.
 */
static void disown(struct task *t)
{
	if (!t->owns)
		return;
	int me = (int)(t - tasks);
	for (int *p = &bucket[bucket_of(t->key)]; *p >= 0; p = &tasks[*p].bucket_next)
		if (*p == me) {
			*p = t->bucket_next;
			break;
		}
	t->owns = 0;
	t->bucket_next = -1;
	for (int i = t->twins, next; i >= 0; i = next) {
		next = tasks[i].twin_next;
		tasks[i].twin_next = -1;
		if (tasks[i].st == T_TWIN)
			ready_push(&tasks[i]);
	}
	t->twins = -1;
}

/* Writes t as served by response (a JSON object) answered at when: a hit. */
static void serve(struct task *t, const char *response, size_t len, const char *when)
{
	size_t n = len;
	while (n && response[n - 1] != '}')
		n--;
	static qa_buf b;	/* reused: a warm run serves every record here */
	b.len = 0;
	buf_add(&b, response, n - 1);
	buf_adds(&b, n > 2 ? ",\"cached\":true,\"cached_at\":" : "\"cached\":true,\"cached_at\":");
	buf_json_string(&b, when, strlen(when));
	buf_addc(&b, '}');
	emit(t, b.p, b.len, NULL, 0);
	if (b.cap > (1u << 20))
		buf_free(&b);
	cache_hits++;
	task_done(t);
}

/* 1 when t was served from the file (t is done), else 0. */
static int lookup(struct task *t)
{
	qa_cache_view v;
	char err[512];
	qa_cache_key k;
	memcpy(k.hex, t->key, sizeof k.hex);
	int r = cache_peek(rc, &k, &v, err, sizeof err);	/* borrowed: serve copies it once, into the record */
	if (r < 0)
		qa_warn("cache: %s", err);
	if (r > 0 && v.response_len && memchr(v.response, '}', v.response_len)) {
		serve(t, v.response, v.response_len, v.cached_at_text);
		return 1;
	}
	return 0;
}

/*
 * Serves t from the cache when its request was answered before: the
 * stored response as it was (its attempts and latency are the original
 * call's), marked cached.  Called with each request built (a fallback
 * builds another): its key is kept for cache_gate and cache_store.
 * 1 when served (t is done), else 0.
 */
int cache_serve(struct task *t)
{
	disown(t);	/* a fallback: the request it was sending is not this one */
	qa_cache_key k;
	t->keyed = task_key(t, &k) == 0;
	if (!t->keyed)
		return 0;
	memcpy(t->key, k.hex, sizeof t->key);
	return lookup(t);
}

/*
 * Just before t's request is first sent: when an identical one is in
 * flight, t waits for its answer (T_TWIN) instead; when one was answered
 * since t was read, t is served.  1 when t is not to be sent now.
 */
int cache_gate(struct task *t)
{
	if (!t->keyed || t->owns)
		return 0;
	struct task *o = owner_of(t->key);
	if (o) {
		t->st = T_TWIN;
		t->twin_next = -1;
		int *p = &o->twins;	/* at the end: twins go on in the order they came */
		while (*p >= 0)
			p = &tasks[*p].twin_next;
		*p = (int)(t - tasks);
		trace(t, "twin", NULL, "an identical request is in flight: waiting for its answer", now_ms(), 0);
		return 1;
	}
	cache_read_batch();	/* dispatch's lookups share one read transaction (ended as dispatch ends) */
	if (lookup(t))
		return 1;
	own(t);
	return 0;
}

/*
 * Stores t's answer (response, as it will be written) -- in this turn's
 * write batch, committed (cache_commit) before the record is written --
 * and serves the twins that waited for it.
 */
void cache_store(struct task *t, const char *response, size_t len, const char *finish_reason)
{
	if (!t->keyed)
		return;
	int refused = finish_reason && (strcmp(finish_reason, "content_filter") == 0 || strcmp(finish_reason, "error") == 0);
	if (!refused && t->owns && len && response[len - 1] == '}') {
		char when[32];
		cache_format_time((int64_t)time(NULL), when);
		for (int i = t->twins, next; i >= 0; i = next) {
			next = tasks[i].twin_next;
			tasks[i].twin_next = -1;
			if (tasks[i].st == T_TWIN)
				serve(&tasks[i], response, len, when);
		}
		t->twins = -1;
	}
	if (rc_mode == QA_CACHE_READ_ONLY)
		return;
	char err[512];
	if (!cache_writing(rc)) {
		cache_read_done();
		if (cache_write_begin(rc, err, sizeof err) < 0)
			qa_warn("cache: %s", err);
		batch_t0 = now_ms();
		batch_n = 0;
	}
	batch_n++;
	qa_cache_key k;
	memcpy(k.hex, t->key, sizeof k.hex);
	qa_cache_entry e = {
		.response = response,
		.response_len = len,
		.cached_at = (int64_t)time(NULL),
		.endpoint = t->req.url ? t->req.url : t->ep->base_url ? t->ep->base_url : "",
		.model = t->model ? t->model : "",
		.request_bytes = (int64_t)(t->req.body_len ? t->req.body_len : strlen(t->req.body)),
	};
	if (cache_put(rc, &k, &e, finish_reason, err, sizeof err) < 0)
		qa_warn("cache: %s", err);
}

/* A record ends: its twins not served go on by themselves. */
void cache_task_done(struct task *t)
{
	disown(t);
	t->keyed = 0;
}

/*
 * 1 while the write batch may take more answers before it is committed (and
 * its records written).  An answer held for the commit keeps its request's
 * slot (cache_held()): a run killed at any point has lost at most -c
 * answers, in flight or held, as if there were no batch; so the batch is
 * committed at once when the held answers leave no slot free.
 */
int cache_hold(double now)
{
	return rc && cache_writing(rc) && batch_n < BATCH_N && now - batch_t0 < BATCH_MS &&
	    inflight + batch_n < opt.concurrency;
}

/* Answers stored and not yet committed: each still holds a slot. */
long cache_held(void)
{
	return rc && cache_writing(rc) ? batch_n : 0;
}

/* When the write batch is to be committed at the latest, or 0 when none is open. */
double cache_due(void)
{
	return rc && cache_writing(rc) ? batch_t0 + BATCH_MS : 0;
}

/*
 * Commits the answers stored in the write batch: called before records are
 * written, so every record written has its answer on disk.  0, or -1
 * when the commit failed (the answers are then not in the file; the
 * records are written all the same, and the next run asks again).
 */
int cache_commit(void)
{
	char err[512];
	if (!rc || !cache_writing(rc))
		return 0;
	if (cache_write_end(rc, err, sizeof err) < 0) {
		qa_warn("cache: %s", err);
		return -1;
	}
	return 0;
}
