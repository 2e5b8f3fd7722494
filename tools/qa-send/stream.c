/*
 * qa-send --stream: a streamed answer read event by event as libcurl
 * delivers it (lib/sse), each event handed to the provider's stream()
 * (qa-provider(7): it parses one event at a time and says what the event
 * carried), and each event's arrival time kept for the latency measures
 * of lib/latency.  A provider streams when it has stream().
 *
 * Times are from the moment the attempt went to the network: libcurl
 * opened its connection, or, on a kept-alive one, began to send the
 * request (stream_sent()).  The wait before that, for a free slot and for
 * libcurl to reach the handle among the others handed to it together, is
 * queue_ms: at -c 64, sending a burst of requests in one turn took up to
 * milliseconds that are the client's, not the server's (bench/stream.sh).  Each attempt starts afresh: a
 * stream cut in the middle is a bad_response, retried like any other.
 */

#include "qa-send.h"
#include "latency.h"
#include "sse.h"

struct tstream {
	qa_sse sse;
	void *acc;		/* the provider's per-request state */
	const struct provider *prov;	/* whose it is */
	long chunk_tokens;	/* output tokens the provider counted from chunks */
	qa_chunk_time *c;
	size_t n, cap;
	double t_ready, t_added, t_last;
	double t_zero;		/* stream_sent(): the clock's zero, 0 until then */
	int bad;		/* an event the provider could not read */
	long status;		/* the response's status, once known */
	qa_latency lat;
	int have_lat;
	struct task *t;
};

static int streams(const struct provider *p)
{
	const struct qa_provider_ops *pl = p && !p->err ? p->l.plugin->provider : NULL;
	return pl && QA_HAS(pl, stream) && pl->stream;
}

/* --stream, or stream = true in the endpoint's config section. */
int stream_wanted(const struct task *t)
{
	if (!streams(t->ep->prov))
		return 0;
	if (opt.stream)
		return 1;
	const qa_endpoint_conf *c = config_loaded ? config_endpoint(&config, t->ep->name) : NULL;
	return c && c->stream;
}

/* A provider that cannot stream, where one must: NULL when it can (or does not load: endpoint_make says why). */
static const char *cannot_stream(const char *provider)
{
	struct provider *p = provider_get(provider);
	return p->err || streams(p) ? NULL : p->name;
}

/* Streaming asked of a provider that cannot: a usage error before anything is sent.  provider NULL: the config's only. */
void stream_refuse(const char *provider)
{
	const char *no;
	if (opt.stream && provider && (no = cannot_stream(provider)) != NULL)
		qa_die(QA_EXIT_USAGE, "--stream: provider %s does not stream (it has no stream())", no);
	for (size_t i = 0; config_loaded && i < config.n; i++)
		if (config.ep[i].stream &&
		    (no = cannot_stream(config.ep[i].provider ? config.ep[i].provider : "openai")) != NULL)
			qa_die(QA_EXIT_USAGE, "%s:%lu: [%s]: stream = true, but provider %s does not stream "
			    "(it has no stream())", config.path, config.ep[i].line, config.ep[i].name, no);
}

void stream_ready(struct task *t)
{
	if (!opt.stream && !(config_loaded && t->ep && stream_wanted(t)))
		return;
	if (!t->ts)
		t->ts = xcalloc(1, sizeof *t->ts);
	t->ts->t_ready = now_ms();
}

/* --trace: a line per event, and one at the end with the last byte's time, so tests redo the arithmetic. */
static void chunk_trace(const struct task *t, const char *decision, double t_ms, int flags, double queue_ms)
{
	if (!opt.trace)
		return;
	qa_buf b = { 0 };
	trace_head(&b, t);
	buf_printf(&b, ",\"attempt\":%d,\"decision\":\"%s\",\"t_ms\":", t->prior_attempts + t->attempts, decision);
	buf_json_number(&b, t_ms);
	if (flags >= 0)
		buf_printf(&b, ",\"flags\":%d", flags);
	else {
		buf_adds(&b, ",\"queue_ms\":");
		buf_json_number(&b, queue_ms);
	}
	buf_adds(&b, "}\n");
	scrub(&b);	/* as every trace line: an id may hold a key */
	fwrite(b.p, 1, b.len, opt.trace);
	buf_free(&b);
}

/* The provider's stream() on one event (data) or at the end (data NULL). */
static int provider_stream(struct task *t, const char *data, size_t len, int end, long *tokens,
    struct qa_reply *out)
{
	struct tstream *s = t->ts;
	const struct qa_provider_ops *pl = s->prov->l.plugin->provider;
	struct qa_endpoint qe = { t->ep->name, t->ep->base_url, t->model, t->pj };
	return pl->stream(s->prov->state, asked(t), &qe, &s->acc, data, len, end, tokens, out);
}

/* Times count from here: the connection's opening or the request's sending, else the hand-over to libcurl. */
static double zero(const struct tstream *s)
{
	return s->t_zero ? s->t_zero : s->t_added;
}

static int on_event(void *ctx, const qa_sse_event *ev)
{
	struct tstream *s = ctx;
	int f = provider_stream(s->t, ev->data, ev->len, QA_STREAM_MORE, NULL, NULL);
	/*
	 * What the provider asked of the host (the event's document) lives in
	 * the host's arena until a reset: without one per event a long
	 * stream's memory would grow with it.  The provider keeps copies only,
	 * and no other host call is under way inside libcurl's write callback.
	 */
	host_reset();
	if (f < 0) {
		s->bad = 1;
		return 1;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;	/* a usual answer's chunks in one allocation */
		s->c = xreallocarray(s->c, s->cap, sizeof *s->c);
	}
	/* Whole microseconds: the trace then holds the exact times the formulas used. */
	double t_ms = round((s->t_last - zero(s)) * 1000) / 1000;
	s->c[s->n++] = (qa_chunk_time){ t_ms, (unsigned)f };
	chunk_trace(s->t, "chunk", t_ms, f, 0);
	return 0;
}

static void state_free(struct tstream *s)
{
	sse_free(&s->sse);
	if (s->acc)	/* abandoned half-way: the provider frees its state */
		provider_stream(s->t, NULL, 0, QA_STREAM_DROP, NULL, NULL);
	s->acc = NULL;
	s->chunk_tokens = 0;
	s->n = 0;
	s->bad = 0;
	s->status = 0;
	if (s->have_lat)
		latency_free(&s->lat);
	s->have_lat = 0;
}

/* Right before curl_multi_add_handle: a fresh parse, and the clock's zero. */
void stream_begin(struct task *t)
{
	if (!stream_wanted(t))
		return;
	if (!t->ts) {
		t->ts = xcalloc(1, sizeof *t->ts);
		t->ts->t_ready = now_ms();
	}
	struct tstream *s = t->ts;
	state_free(s);
	s->t = t;
	s->prov = t->ep->prov;
	sse_init(&s->sse, on_event, s);
	s->t_added = s->t_last = now_ms();
	s->t_zero = 0;
}

/*
 * libcurl opens a connection for the attempt, or is about to send its
 * request (on_sockopt(), on_prereq()): the first of these is the clock's
 * zero.  A connection's set-up is the client's to wait for, as the
 * server's accept is; what came before it was qa-send's own.
 */
void stream_sent(struct task *t)
{
	struct tstream *s = t->ts;
	if (s && s->t_added && !s->t_zero && t->easy)
		s->t_zero = now_ms();
}

/*
 * The write callback's part: a 2xx answer is parsed as it comes; any other
 * is kept whole for the provider's parse() (an error body).  The clock is
 * read once per call: events that came in one read arrived together.
 */
int stream_feed(struct task *t, const char *p, size_t len)
{
	struct tstream *s = t->ts;
	if (!s || !s->t_added || !t->easy)
		return 0;
	if (!s->status)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->status < 200 || s->status > 299)
		return 0;
	s->t_last = now_ms();
	if (!s->bad)
		sse_feed(&s->sse, p, len);
	return 1;
}

/* A 2xx streamed answer into r, as the provider's parse() would have. */
int stream_reply_of(struct task *t, struct qa_reply *r)
{
	struct tstream *s = t->ts;
	/* An event the provider could not read ended the reading: it says why. */
	enum qa_sse_end e = s->bad ? QA_SSE_DONE : sse_finish(&s->sse);
	int end = e == QA_SSE_DONE ? QA_STREAM_DONE : e == QA_SSE_EOF ? QA_STREAM_EOF : QA_STREAM_CUT;
	int rc = provider_stream(t, NULL, 0, end, &s->chunk_tokens, r);
	s->acc = NULL;	/* the last call freed it */
	/* A stream cut short or garbled says nothing about the next one: retried, unlike a bad 200 body. */
	if ((rc < 0 || r->error) && (!r->error_type || strcmp(r->error_type, "bad_response") == 0))
		r->retry = QA_RETRY_YES;
	long usage_tokens = -1;
	if (r->usage) {
		static qa_json *j;	/* one parser for the run: a new one per answer was half this call's cost */
		const char *err;
		size_t off;
		if (!j)
			j = json_new();
		if (json_parse(j, r->usage, strlen(r->usage), &err, &off) == 0) {
			int k = json_member(j, 0, "completion_tokens", 17);
			double v;
			if (k >= 0 && json_num(j, k, &v) == 0)
				usage_tokens = (long)v;
		}
	}
	double t_end = round((s->t_last - zero(s)) * 1000) / 1000, queue = round((zero(s) - s->t_ready) * 1000) / 1000;
	chunk_trace(t, "stream_end", t_end, -1, queue);
	latency_compute(&s->lat, s->c, s->n, t_end, usage_tokens, s->chunk_tokens, queue);
	s->have_lat = 1;
	return rc;
}

int stream_active(const struct task *t)
{
	return t->ts && t->ts->t_added && stream_wanted(t);
}

/* The record's usage (completion tokens counted from chunks when the server sent none) and timings. */
int stream_usage_json(const struct task *t, qa_buf *b)
{
	const struct tstream *s = t->ts;
	if (!s || !s->have_lat || !s->lat.estimated)
		return 0;
	buf_printf(b, "{\"completion_tokens\":%ld,\"estimated\":true}", s->lat.tokens);
	return 1;
}

int stream_latency_json(const struct task *t, qa_buf *b)
{
	const struct tstream *s = t->ts;
	if (!s || !s->have_lat)
		return 0;
	latency_json(b, &s->lat);
	return 1;
}

void stream_task_free(struct task *t)
{
	if (!t->ts)
		return;
	state_free(t->ts);
	free(t->ts->c);
	free(t->ts);
	t->ts = NULL;
}
