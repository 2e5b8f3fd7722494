/*
 * Server-sent events, parsed incrementally (the WHATWG HTML "event stream"
 * rules) from byte chunks split anywhere, as libcurl's write callback
 * delivers them.
 *
 * Lines end in CRLF, LF or CR (a CR at the end of a chunk waits for the next
 * one to see whether an LF follows); a UTF-8 BOM at the very start is dropped;
 * lines starting with ':' are comments; "data:" lines of one event are joined
 * with "\n"; "event:" and "id:" are kept, "retry:" and unknown fields are
 * ignored; an event is dispatched at a blank line and only when it carried
 * data.  An event whose data is exactly "[DONE]" (OpenAI's terminator) is
 * not passed on: it marks the stream done, and later events are dropped.
 *
 * Ownership: the parser owns its buffers; the event passed to the callback
 * is borrowed for the duration of the call.  The usual event, one "data:"
 * line and a blank line whole in one input (LF-ended), is passed where it
 * lies in the input, without a copy: its data is not NUL-terminated.
 */
#ifndef QA_SSE_H
#define QA_SSE_H

#include <stddef.h>

#include "qa.h"

typedef struct qa_sse_event {
	const char *data;	/* len bytes, not NUL-terminated (it may lie in the input); may hold NULs */
	size_t len;
	const char *event;	/* "" when the event had no "event:" field */
	const char *id;		/* the last event id seen on the stream, "" when none */
} qa_sse_event;

/* Return 0 to go on; anything else stops the parse and sse_feed() returns it. */
typedef int (*qa_sse_cb)(void *ctx, const qa_sse_event *ev);

/* How a stream ended, from sse_finish(). */
enum qa_sse_end {
	QA_SSE_DONE = 0,	/* "[DONE]" came */
	QA_SSE_EOF = 1,		/* ended between events without "[DONE]": the provider decides */
	QA_SSE_CUT = 2		/* ended inside an event or a line: cut in the middle */
};

/* One line or one event longer than this is refused (sse_feed returns -1). */
#define QA_SSE_MAX (64u << 20)

typedef struct qa_sse {
	qa_sse_cb cb;
	void *ctx;
	qa_buf line, data, event, id;
	int has_data;		/* a data: field came since the last dispatch */
	int pending;		/* a field line came since the last blank line */
	int cr;			/* the last byte was a CR */
	int bom;		/* bytes of a leading BOM matched so far; -1 once past it */
	int done;
	unsigned long events;	/* dispatched to the callback */
} qa_sse;

void sse_init(qa_sse *p, qa_sse_cb cb, void *ctx);
/* 0, the callback's nonzero return, or -1 when a line or event exceeds QA_SSE_MAX. */
int sse_feed(qa_sse *p, const char *s, size_t n);
/*
 * At the end of the input.  An unterminated last line is a cut, not an
 * event: the spec discards it, and for a response it means bytes were lost.
 */
enum qa_sse_end sse_finish(const qa_sse *p);
void sse_free(qa_sse *p);

#endif
