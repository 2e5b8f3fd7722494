/*
 * lib/sse.c: every stream is fed whole, split in two at every byte position,
 * and one byte at a time; each way must give the same events and the same end.
 */
#include <stdlib.h>

#include "qa.h"
#include "sse.h"
#include "t.h"

struct got {
	qa_buf log;
	int stop_after;		/* stop the parse after this many events; 0 never */
	int n;
};

static int collect(void *ctx, const qa_sse_event *ev)
{
	struct got *g = ctx;

	buf_printf(&g->log, "[%s|%s|", ev->event, ev->id);
	buf_add(&g->log, ev->data, ev->len);
	buf_adds(&g->log, "]");
	if (++g->n == g->stop_after)
		return 7;
	return 0;
}

/* Feeds s in pieces cut at cuts[0..ncuts); returns the end state, the log in g. */
static enum qa_sse_end run(const char *s, size_t n, const size_t *cuts, size_t ncuts, struct got *g, int *rc)
{
	qa_sse p;
	size_t at = 0, i;
	enum qa_sse_end e;

	g->log.len = 0;
	g->n = 0;
	*rc = 0;
	sse_init(&p, collect, g);
	for (i = 0; i <= ncuts && *rc == 0; i++) {
		size_t to = i < ncuts ? cuts[i] : n;
		*rc = sse_feed(&p, s + at, to - at);
		at = to;
	}
	e = sse_finish(&p);
	sse_free(&p);
	buf_cstr(&g->log);
	return e;
}

static const struct ccase {
	const char *name;
	const char *in;
	size_t len;		/* 0: strlen(in) */
	const char *want;
	enum qa_sse_end end;
} cases[] = {
	{ "openai", "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n", 0,
	  "[||{\"a\":1}][||{\"b\":2}]", QA_SSE_DONE },
	{ "crlf", "data: x\r\n\r\ndata: y\r\n\r\ndata: [DONE]\r\n\r\n", 0, "[||x][||y]", QA_SSE_DONE },
	{ "cr", "data: x\r\rdata: y\r\r", 0, "[||x][||y]", QA_SSE_EOF },
	{ "mixed ends", "data: a\r\ndata: b\rdata: c\n\r\n", 0, "[||a\nb\nc]", QA_SSE_EOF },
	{ "comments", ": keep-alive\n\n:\ndata: x\n: in between\ndata: y\n\n", 0, "[||x\ny]", QA_SSE_EOF },
	{ "fields", "event: delta\nid: 7\nretry: 100\ndata: x\n\ndata:y\n\n", 0,
	  "[delta|7|x][|7|y]", QA_SSE_EOF },
	{ "space kept after the first", "data:  two\n\n", 0, "[|| two]", QA_SSE_EOF },
	{ "no colon", "data\n\ndata\ndata\n\n", 0, "[||][||\n]", QA_SSE_EOF },
	{ "event without data", "event: ping\n\ndata: x\n\n", 0, "[||x]", QA_SSE_EOF },
	{ "bom", "\xef\xbb\xbf" "data: x\n\n", 0, "[||x]", QA_SSE_EOF },
	{ "a bom later is text", "data: \xef\xbb\xbf\n\n", 0, "[||\xef\xbb\xbf]", QA_SSE_EOF },
	{ "half a bom", "\xef\xbb" "data: x\n\n", 0, "", QA_SSE_EOF },
	{ "after done", "data: [DONE]\n\ndata: late\n\n", 0, "", QA_SSE_DONE },
	{ "done not quite", "data: [DONE] \n\ndata: [DONE]\ndata: x\n\n", 0,
	  "[||[DONE] ][||[DONE]\nx]", QA_SSE_EOF },
	{ "done without blank line", "data: x\n\ndata: [DONE]\n", 0, "[||x]", QA_SSE_DONE },
	{ "cut in a line", "data: {\"a\":1}\n\ndata: {\"b\"", 0, "[||{\"a\":1}]", QA_SSE_CUT },
	{ "cut in an event", "data: {\"a\":1}\n\ndata: {\"b\":2}\n", 0, "[||{\"a\":1}]", QA_SSE_CUT },
	{ "cut after a comment line", "data: x\n\n: ping", 0, "[||x]", QA_SSE_CUT },
	{ "empty", "", 0, "", QA_SSE_EOF },
	{ "nul in data", "data: a\0b\n\n", 11, "[||a\0b]", QA_SSE_EOF },
};

static int same_log(const qa_buf *a, const char *want, size_t wlen)
{
	return a->len == wlen && memcmp(a->p, want, wlen) == 0;
}

static void test_cases(void)
{
	struct got g = { 0 };
	size_t i, k, n, wlen, cut[1], *bytes;
	int rc, before;
	enum qa_sse_end e;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct ccase *c = &cases[i];
		n = c->len ? c->len : strlen(c->in);
		/* "nul in data" is the only want with a NUL: its length is known. */
		wlen = c->len ? 7 : strlen(c->want);
		before = t_failed;
		for (k = 0; k <= n; k++) {
			cut[0] = k;
			e = run(c->in, n, cut, 1, &g, &rc);
			CHECK(rc == 0);
			CHECK(e == c->end);
			CHECK(same_log(&g.log, c->want, wlen));
			if (t_failed != before) {
				fprintf(stderr, "  (%s, split at %zu: \"%s\")\n", c->name, k, g.log.p);
				break;
			}
		}
		bytes = xcalloc(n ? n : 1, sizeof *bytes);
		for (k = 0; k < n; k++)
			bytes[k] = k;
		e = run(c->in, n, bytes, n, &g, &rc);
		CHECK(e == c->end);
		CHECK(same_log(&g.log, c->want, wlen));
		if (t_failed != before)
			fprintf(stderr, "  (%s, byte by byte)\n", c->name);
		free(bytes);
	}
	buf_free(&g.log);
}

/* A callback's nonzero return stops the parse and comes back from sse_feed. */
static void test_stop(void)
{
	struct got g = { 0 };
	const char *s = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
	int rc;

	g.stop_after = 2;
	run(s, strlen(s), NULL, 0, &g, &rc);
	CHECK(rc == 7);
	CHECK_STR(g.log.p, "[||1][||2]");
	buf_free(&g.log);
}

/* Where each event's data lay: in the input (not copied) or in the parser's buffer. */
struct where {
	const char *in, *in_end;
	int inplace, copied;
};

static int locate(void *ctx, const qa_sse_event *ev)
{
	struct where *w = ctx;

	if (ev->data >= w->in && ev->data + ev->len <= w->in_end)
		w->inplace++;
	else
		w->copied++;
	return 0;
}

/*
 * The usual event ("data: ...\n\n", LF, whole in one input) is passed where
 * it lies; an event of several lines, a CRLF one, or one split across
 * inputs is joined in the parser's buffer as before.
 */
static void test_inplace(void)
{
	static const struct { const char *in; size_t cut; int inplace, copied; } c[] = {
		{ "data: {\"a\":1}\n\ndata:b\n\ndata: [DONE]\n\n", 0, 2, 0 },
		{ "event: e\ndata: x\n\n", 0, 1, 0 },
		{ "data: x\ndata: y\n\n", 0, 0, 1 },
		{ "data: x\r\n\r\n", 0, 0, 1 },
		{ "data: x\n\ndata: y\n\n", 12, 1, 1 },	/* cut inside the second event */
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		size_t n = strlen(c[i].in), cut = c[i].cut ? c[i].cut : n;
		struct where w = { c[i].in, c[i].in + n, 0, 0 };
		qa_sse p;

		sse_init(&p, locate, &w);
		CHECK(sse_feed(&p, c[i].in, cut) == 0);
		CHECK(sse_feed(&p, c[i].in + cut, n - cut) == 0);
		sse_free(&p);
		CHECK(w.inplace == c[i].inplace);
		CHECK(w.copied == c[i].copied);
	}
}

/* The recorded llama.cpp streams: every split gives the same events. */
static void test_recorded(const char *path, unsigned long want_events)
{
	FILE *fp = fopen(path, "rb");
	qa_buf s = { 0 }, whole = { 0 };
	char tmp[4096];
	size_t r, k, cut[1];
	struct got g = { 0 };
	int rc, before = t_failed;

	CHECK(fp != NULL);
	if (!fp)
		return;
	while ((r = fread(tmp, 1, sizeof tmp, fp)) > 0)
		buf_add(&s, tmp, r);
	fclose(fp);
	CHECK(run(s.p, s.len, NULL, 0, &g, &rc) == QA_SSE_DONE);
	CHECK((unsigned long)g.n == want_events);
	buf_add(&whole, g.log.p, g.log.len);
	for (k = 0; k <= s.len && t_failed == before; k++) {
		cut[0] = k;
		CHECK(run(s.p, s.len, cut, 1, &g, &rc) == QA_SSE_DONE);
		CHECK(g.log.len == whole.len && memcmp(g.log.p, whole.p, whole.len) == 0);
	}
	/* Cut anywhere before "[DONE]" and the end says so. */
	for (k = 1; k + 1 < s.len - strlen("data: [DONE]\n\n") && t_failed == before; k += 97) {
		enum qa_sse_end e = run(s.p, k, NULL, 0, &g, &rc);
		CHECK(e == QA_SSE_CUT || e == QA_SSE_EOF);
	}
	buf_free(&s);
	buf_free(&whole);
	buf_free(&g.log);
}

int main(void)
{
	test_cases();
	test_stop();
	test_inplace();
	test_recorded("tests/data/stream/llama-chat.sse", 7);
	test_recorded("tests/data/stream/llama-completions.sse", 4);
	return t_done("test_sse");
}
