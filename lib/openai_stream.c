/* A streamed OpenAI chat or completions response, one event at a time (see openai_stream.h). */
#include <stdio.h>
#include <string.h>

#include "latency.h"
#include "openai_stream.h"

static void sep(const struct qa_host *H, struct qa_text *t, long i)
{
	if (i)
		H->text_add(t, ",", 1);
}

/* A raw JSON value at path, or null. */
static void raw_or_null(const struct qa_host *H, struct qa_text *t, const qa_json *d, const char *path)
{
	size_t len;
	const char *v = H->type(d, path) != QA_ABSENT ? H->raw(d, path, &len) : NULL;

	H->text_add(t, v ? v : "null", v ? len : 4);
}

/*
 * Chat-layout entries {token, logprob, top_logprobs: [{token, logprob}]}
 * appended in the completions layout.  A top list becomes an object keyed
 * by token string; when several entries spell the same string the likeliest
 * keeps the key (as the non-streamed openai provider does) and collisions
 * counts the others.
 */
static long chat_logprobs(const struct qa_host *H, struct qa_stream *st, const qa_json *d, const char *base)
{
	size_t n = H->count(d, base), i, k, o, nt, len, tl, vl, ol;
	char path[200], p2[240];
	const char *s, *ts, *tv, *os;
	double x, y;
	int first, beaten;

	for (i = 0; i < n; i++, st->lp_n++) {
		snprintf(path, sizeof path, "%s[%zu].token", base, i);
		s = H->string(d, path, &len);
		sep(H, &st->lp_tokens, st->lp_n);
		H->text_json(&st->lp_tokens, s ? s : "", s ? len : 0);
		snprintf(path, sizeof path, "%s[%zu].logprob", base, i);
		sep(H, &st->lp_values, st->lp_n);
		if (H->type(d, path) == QA_NUMBER)
			raw_or_null(H, &st->lp_values, d, path);
		else
			H->text_add(&st->lp_values, "null", 4);
		snprintf(path, sizeof path, "%s[%zu].top_logprobs", base, i);
		nt = H->count(d, path);
		sep(H, &st->lp_top, st->lp_n);
		H->text_add(&st->lp_top, "{", 1);
		first = 1;
		for (k = 0; k < nt; k++) {
			snprintf(p2, sizeof p2, "%s[%zu].token", path, k);
			ts = H->string(d, p2, &tl);
			snprintf(p2, sizeof p2, "%s[%zu].logprob", path, k);
			tv = H->number(d, p2, &x) == 0 ? H->raw(d, p2, &vl) : NULL;
			if (!ts || !tv)
				continue;
			beaten = 0;
			for (o = 0; o < nt && !beaten; o++) {
				if (o == k)
					continue;
				snprintf(p2, sizeof p2, "%s[%zu].token", path, o);
				os = H->string(d, p2, &ol);
				snprintf(p2, sizeof p2, "%s[%zu].logprob", path, o);
				if (os && ol == tl && memcmp(os, ts, tl) == 0 && H->number(d, p2, &y) == 0)
					beaten = y > x || (y == x && o < k);
			}
			if (beaten) {
				st->collisions++;
				continue;
			}
			if (!first)
				H->text_add(&st->lp_top, ",", 1);
			first = 0;
			H->text_json(&st->lp_top, ts, tl);
			H->text_add(&st->lp_top, ":", 1);
			H->text_add(&st->lp_top, tv, vl);
		}
		H->text_add(&st->lp_top, "}", 1);
	}
	return (long)n;
}

/* Completions-layout pieces {tokens, token_logprobs, top_logprobs} appended as they are. */
static long completion_logprobs(const struct qa_host *H, struct qa_stream *st, const qa_json *d, const char *base)
{
	char path[200];
	size_t n, i, len;
	const char *s;

	snprintf(path, sizeof path, "%s.tokens", base);
	n = H->count(d, path);
	for (i = 0; i < n; i++, st->lp_n++) {
		snprintf(path, sizeof path, "%s.tokens[%zu]", base, i);
		s = H->string(d, path, &len);
		sep(H, &st->lp_tokens, st->lp_n);
		H->text_json(&st->lp_tokens, s ? s : "", s ? len : 0);
		snprintf(path, sizeof path, "%s.token_logprobs[%zu]", base, i);
		sep(H, &st->lp_values, st->lp_n);
		if (H->type(d, path) == QA_NUMBER)
			raw_or_null(H, &st->lp_values, d, path);
		else
			H->text_add(&st->lp_values, "null", 4);
		snprintf(path, sizeof path, "%s.top_logprobs[%zu]", base, i);
		sep(H, &st->lp_top, st->lp_n);
		if (H->type(d, path) == QA_OBJECT)
			raw_or_null(H, &st->lp_top, d, path);
		else
			H->text_add(&st->lp_top, "null", 4);
	}
	return (long)n;
}

static void keep(const struct qa_host *H, char **slot, const qa_json *d, const char *path, enum qa_type want)
{
	size_t len;
	const char *s = want == QA_STRING ? H->string(d, path, &len) : NULL;
	char *v;

	if (s) {	/* one lookup instead of copy()'s two, for the strings of every chunk */
		v = H->alloc(len + 1);
		memcpy(v, s, len);
		v[len] = '\0';
	} else if ((v = H->copy(d, path, want)) == NULL) {
		return;
	}
	H->free(*slot);
	*slot = v;
}

/* Appends the string at path; 1 when it was a non-empty string. */
static int append(const struct qa_host *H, struct qa_text *t, const qa_json *d, const char *path)
{
	size_t len;
	const char *s = H->string(d, path, &len);

	if (!s || len == 0)
		return 0;
	H->text_add(t, s, len);
	return 1;
}

/*
 * The keys an event's text may hold, of those read below: one pass over its
 * bytes for each quoted name (or any \u escape, which could spell one: all
 * of them then).  A tenth of a lookup's cost, and most chunks lack most keys.
 */
enum { K_ERROR = 1, K_MODEL = 2, K_ID = 4, K_USAGE = 8, K_TIMINGS = 16, K_CONTENT = 32, K_REASONING = 64,
	K_FINISH = 128, K_LOGPROBS = 256 };
#define RAWKEY(s, bit) { s, sizeof s - 1, bit }
static const struct { const char *name; size_t len; unsigned bit; } rawkey[] = {
	RAWKEY("error\"", K_ERROR), RAWKEY("model\"", K_MODEL), RAWKEY("id\"", K_ID), RAWKEY("usage\"", K_USAGE),
	RAWKEY("timings\"", K_TIMINGS), RAWKEY("content\"", K_CONTENT), RAWKEY("reasoning", K_REASONING),
	RAWKEY("finish_reason\"", K_FINISH), RAWKEY("logprobs\"", K_LOGPROBS),
};
/* rawkey's index + 1 by first letter, 0 for none. */
static const unsigned char rawkey_of[256] = {
	['e'] = 1, ['m'] = 2, ['i'] = 3, ['u'] = 4, ['t'] = 5, ['c'] = 6, ['r'] = 7, ['f'] = 8, ['l'] = 9,
};

static unsigned raw_keys(const char *s, size_t len)
{
	const char *end = s + len, *q;
	unsigned has = 0;
	int i;

	for (q = s; (q = memchr(q, '\\', (size_t)(end - q))) != NULL && q + 1 < end; q += 2)
		if (q[1] == 'u')
			return ~0u;
	/* Each key above starts with its own letter: one compare per quoted string. */
	for (q = s; q < end && (q = memchr(q, '"', (size_t)(end - q))) != NULL; q++) {
		if (++q >= end || (i = rawkey_of[(unsigned char)*q]) == 0)
			continue;
		i--;
		if ((size_t)(end - q) < rawkey[i].len || q[1] != rawkey[i].name[1] ||
		    memcmp(q, rawkey[i].name, rawkey[i].len) != 0)
			continue;
		has |= rawkey[i].bit;
		q += rawkey[i].len;
		/* "finish_reason":null, in every chunk but the last, keeps nothing. */
		if (rawkey[i].bit == K_FINISH && (size_t)(end - q) >= 5 && memcmp(q, ":null", 5) == 0)
			has &= ~K_FINISH;
		/* q is past the key's closing quote (or inside "reasoning..."): the next quote opens a string. */
		if (rawkey[i].bit == K_REASONING)
			q = memchr(q, '"', (size_t)(end - q));
		if (!q)
			break;
	}
	return has;
}

int stream_event(const struct qa_host *H, struct qa_stream *st, const char *data, size_t len)
{
	const char *perr, *msg;
	const qa_json *d = H->parse(data, len, &perr);
	unsigned flags = 0;
	unsigned k = raw_keys(data, len);
	long ntok = 0;
	size_t mlen;

	st->chunks++;
	if (!d || H->type(d, "") != QA_OBJECT) {
		H->free(st->error);
		st->error = H->format("chunk %ld is not a JSON object (%s)", st->chunks, d ? "another value" : perr);
		return -1;
	}
	/* Tens of thousands of events a second: only the keys a chunk may have are looked up. */
	if ((k & K_ERROR) && H->type(d, "error") != QA_ABSENT && H->type(d, "error") != QA_NULL) {
		msg = H->string(d, "error.message", &mlen);
		if (!msg)
			msg = H->string(d, "error", &mlen);
		H->free(st->error);
		st->error = H->format("error event in the stream: %.*s", msg ? (int)mlen : 12,
		    msg ? msg : "(no message)");
		return -1;
	}
	if (!st->model && (k & K_MODEL))
		keep(H, &st->model, d, "model", QA_STRING);
	if (!st->id && (k & K_ID))
		keep(H, &st->id, d, "id", QA_STRING);
	if ((k & K_USAGE) && H->type(d, "usage") == QA_OBJECT) {
		keep(H, &st->usage, d, "usage", QA_OBJECT);
		flags |= QA_CHUNK_USAGE;
	}
	if (k & K_TIMINGS)
		keep(H, &st->server_timings, d, "timings", QA_OBJECT);
	/* Content found says choices[0] is an object: the usual chunk costs two lookups. */
	if (st->chat && (k & K_CONTENT) && append(H, &st->text, d, "choices[0].delta.content"))
		flags |= QA_CHUNK_CHOICES | QA_CHUNK_CONTENT;
	else if (H->type(d, "choices[0]") != QA_OBJECT)
		return (int)flags;
	flags |= QA_CHUNK_CHOICES;
	if (st->chat) {
		/* vLLM and DeepSeek say reasoning_content; OpenRouter and newer vLLM, reasoning. */
		if ((k & K_REASONING) &&
		    (append(H, &st->reasoning, d, "choices[0].delta.reasoning_content") ||
		    append(H, &st->reasoning, d, "choices[0].delta.reasoning")))
			flags |= QA_CHUNK_REASONING;
	} else if (append(H, &st->text, d, "choices[0].text")) {
		flags |= QA_CHUNK_CONTENT;
	}
	if (k & K_FINISH)
		keep(H, &st->finish_reason, d, "choices[0].finish_reason", QA_STRING);
	if (k & K_LOGPROBS) {
		if (H->type(d, "choices[0].logprobs.content") == QA_ARRAY)
			ntok = chat_logprobs(H, st, d, "choices[0].logprobs.content");
		else if (H->type(d, "choices[0].logprobs.tokens") == QA_ARRAY)
			ntok = completion_logprobs(H, st, d, "choices[0].logprobs");
	}
	if (ntok == 0 && (flags & (QA_CHUNK_CONTENT | QA_CHUNK_REASONING)))
		ntok = 1;
	st->chunk_tokens += ntok;
	return (int)flags;
}

static char *take(char **p)
{
	char *v = *p;

	*p = NULL;
	return v;
}

int stream_reply(const struct qa_host *H, struct qa_stream *st, enum qa_sse_end end, struct qa_reply *out)
{
	struct qa_text lp = { 0 };

	if (st->error) {
		out->error = take(&st->error);
		out->error_type = "server";
		return -1;
	}
	if (end == QA_SSE_CUT || (end == QA_SSE_EOF && !st->finish_reason)) {
		out->error = H->format("the stream was cut after %ld chunks (%s)", st->chunks,
		    end == QA_SSE_CUT ? "in the middle of an event" : "no [DONE] and no finish_reason");
		out->error_type = "bad_response";
		return -1;
	}
	if (!st->finish_reason && st->text.len == 0 && !st->usage) {
		out->error = H->format("the stream carried no choices");
		out->error_type = "bad_response";
		return -1;
	}
	H->text_add(&st->text, "", 0);	/* an empty answer is "", not absent */
	out->text_len = st->text.len;
	out->text = take(&st->text.p);
	out->finish_reason = take(&st->finish_reason);
	out->usage = take(&st->usage);
	out->model = take(&st->model);
	out->id = take(&st->id);
	out->server_timings = take(&st->server_timings);
	if (st->lp_n > 0) {
		H->text_add(&lp, "{\"tokens\":[", 11);
		H->text_add(&lp, st->lp_tokens.p, st->lp_tokens.len);
		H->text_add(&lp, "],\"token_logprobs\":[", 20);
		H->text_add(&lp, st->lp_values.p, st->lp_values.len);
		H->text_add(&lp, "],\"top_logprobs\":[", 18);
		H->text_add(&lp, st->lp_top.p, st->lp_top.len);
		H->text_add(&lp, "]", 1);
		if (st->collisions)
			H->text_printf(&lp, ",\"collisions\":%ld", st->collisions);
		H->text_add(&lp, "}", 1);
		/* Raw pieces from many chunks: one strict line, as copy() gives. */
		out->logprobs = H->clean(lp.p, lp.len);
		H->free(lp.p);
	}
	return 0;
}

void stream_free(const struct qa_host *H, struct qa_stream *st)
{
	H->free(st->text.p);
	H->free(st->reasoning.p);
	H->free(st->lp_tokens.p);
	H->free(st->lp_values.p);
	H->free(st->lp_top.p);
	H->free(st->finish_reason);
	H->free(st->usage);
	H->free(st->model);
	H->free(st->id);
	H->free(st->server_timings);
	H->free(st->error);
	memset(st, 0, sizeof *st);
}
