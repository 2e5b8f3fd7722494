/* Incremental server-sent events parser (see sse.h). */
#include <string.h>

#include "sse.h"

static const char bom[3] = { '\xef', '\xbb', '\xbf' };

void sse_init(qa_sse *p, qa_sse_cb cb, void *ctx)
{
	memset(p, 0, sizeof *p);
	p->cb = cb;
	p->ctx = ctx;
}

void sse_free(qa_sse *p)
{
	buf_free(&p->line);
	buf_free(&p->data);
	buf_free(&p->event);
	buf_free(&p->id);
}

static int is_done(const qa_buf *data)
{
	/* The joined data still ends in the "\n" of its last data: line. */
	return data->len == 7 && memcmp(data->p, "[DONE]\n", 7) == 0;
}

static int dispatch(qa_sse *p)
{
	qa_sse_event ev;
	int rc;

	if (!p->has_data) {
		p->event.len = 0;
		return 0;
	}
	if (is_done(&p->data)) {
		p->done = 1;
		return 0;
	}
	p->data.len--;	/* the "\n" after the last line */
	ev.data = buf_cstr(&p->data);
	ev.len = p->data.len;
	ev.event = buf_cstr(&p->event);
	ev.id = buf_cstr(&p->id);
	p->events++;
	rc = p->cb ? p->cb(p->ctx, &ev) : 0;
	p->data.len = 0;
	p->event.len = 0;
	p->has_data = 0;
	return rc;
}

/*
 * An event of one "data:" line and its blank line, LF-ended and whole in
 * the input at s (q: the line's LF, q + 1 < end): passed on where it lies,
 * without the copy into p->data.  0 with *rc set when it took it; -1 when
 * the event is another shape (the line-by-line path reads it).
 */
static int whole_event(qa_sse *p, const char *s, const char *q, int *rc)
{
	qa_sse_event ev;
	const char *v = s + 5;

	if (p->has_data || q[1] != '\n' || q - s < 5 || memcmp(s, "data:", 5) != 0)
		return -1;
	if (v < q && *v == ' ')
		v++;
	p->line.len = 0;
	p->pending = 0;
	if (q - v == 6 && memcmp(v, "[DONE]", 6) == 0) {
		p->done = 1;
		*rc = 0;
		return 0;
	}
	ev.data = v;
	ev.len = (size_t)(q - v);
	ev.event = p->event.len ? buf_cstr(&p->event) : "";
	ev.id = p->id.len ? buf_cstr(&p->id) : "";
	p->events++;
	*rc = p->cb ? p->cb(p->ctx, &ev) : 0;
	p->event.len = 0;
	return 0;
}

/* One line, s[0..n) (in p->line or still in the input), without its end. */
static int line(qa_sse *p, const char *s, size_t n)
{
	const char *colon, *v;
	size_t flen, vlen;

	p->line.len = 0;
	if (n == 0) {
		p->pending = 0;
		return dispatch(p);
	}
	if (s[0] == ':')
		return 0;
	p->pending = 1;
	colon = memchr(s, ':', n);
	flen = colon ? (size_t)(colon - s) : n;
	v = colon ? colon + 1 : s + n;
	vlen = (size_t)(s + n - v);
	/* One space after the colon belongs to the syntax, not the value. */
	if (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	if (flen == 4 && memcmp(s, "data", 4) == 0) {
		if (p->data.len + vlen + 1 > QA_SSE_MAX)
			return -1;
		buf_add(&p->data, v, vlen);
		buf_addc(&p->data, '\n');
		p->has_data = 1;
	} else if (flen == 5 && memcmp(s, "event", 5) == 0) {
		p->event.len = 0;
		buf_add(&p->event, v, vlen);
	} else if (flen == 2 && memcmp(s, "id", 2) == 0) {
		/* The spec ignores an id holding a NUL. */
		if (!memchr(v, '\0', vlen)) {
			p->id.len = 0;
			buf_add(&p->id, v, vlen);
		}
	}
	/* retry: and unknown fields: a client without reconnection has no use for them. */
	return 0;
}

int sse_feed(qa_sse *p, const char *s, size_t n)
{
	const char *end = s + n, *q;
	int rc;

	while (p->bom >= 0 && s < end) {
		if (*s == bom[p->bom]) {
			s++;
			if (++p->bom == 3)
				p->bom = -1;
			continue;
		}
		/* Not a BOM after all: the bytes taken so far are text. */
		buf_add(&p->line, bom, (size_t)p->bom);
		p->bom = -1;
	}
	while (s < end) {
		if (p->done)
			return 0;
		if (*s == '\n' && p->cr) {
			p->cr = 0;
			s++;
			continue;
		}
		p->cr = 0;
		if (*s == '\r' || *s == '\n') {
			p->cr = *s == '\r';
			s++;
			if ((rc = line(p, p->line.p, p->line.len)) != 0)
				return rc;
			continue;
		}
		/* The line's end: LF, else CR (rare: memchr's speed for the common case). */
		q = memchr(s, '\n', (size_t)(end - s));
		const char *cr = memchr(s, '\r', (size_t)((q ? q : end) - s));
		if (cr)
			q = cr;
		if (!q)
			q = end;
		if (p->line.len + (size_t)(q - s) > QA_SSE_MAX)
			return -1;
		/* The usual event, "data: ...\n\n", whole in the input: not copied. */
		if (p->line.len == 0 && q + 1 < end && *q == '\n' && whole_event(p, s, q, &rc) == 0) {
			s = q + 2;
			if (rc != 0)
				return rc;
			continue;
		}
		if (p->line.len == 0 && q < end) {	/* a whole line in the input: read where it is */
			p->cr = *q == '\r';
			rc = line(p, s, (size_t)(q - s));
			s = q + 1;
			if (rc != 0)
				return rc;
			continue;
		}
		buf_add(&p->line, s, (size_t)(q - s));
		s = q;
	}
	return 0;
}

enum qa_sse_end sse_finish(const qa_sse *p)
{
	if (p->done)
		return QA_SSE_DONE;
	if (p->line.len > 0 || (p->bom > 0))
		return QA_SSE_CUT;
	/* "data: [DONE]" without its blank line: every byte of it came. */
	if (p->has_data && is_done(&p->data))
		return QA_SSE_DONE;
	if (p->pending)
		return QA_SSE_CUT;
	return QA_SSE_EOF;
}
