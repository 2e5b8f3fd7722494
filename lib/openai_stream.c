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
	char *v = H->copy(d, path, want);

	if (!v)
		return;
	H->free(*slot);
	*slot = v;
}

/* Appends the string at path; 1 when it was a non-empty string. */
static int append(const struct qa_host *H, struct qa_text *t, const qa_json *d, const char *path)
{
	size_t len;
	const char *s = H->type(d, path) == QA_STRING ? H->string(d, path, &len) : NULL;

	if (!s || len == 0)
		return 0;
	H->text_add(t, s, len);
	return 1;
}

/* Bits of which keys an object at path has, of names[]: one pass over its keys instead of a lookup per name. */
static unsigned keys_of(const struct qa_host *H, const qa_json *d, const char *path, const char *const *names)
{
	size_t n = H->count(d, path), i, j;
	unsigned has = 0;
	const char *k;

	for (i = 0; i < n; i++)
		if ((k = H->key(d, path, i)) != NULL)
			for (j = 0; names[j]; j++)
				if (strcmp(k, names[j]) == 0)
					has |= 1u << j;
	return has;
}

enum { TOP_ERROR = 1, TOP_MODEL = 2, TOP_ID = 4, TOP_USAGE = 8, TOP_TIMINGS = 16, TOP_CHOICES = 32 };
static const char *const top_keys[] = { "error", "model", "id", "usage", "timings", "choices", NULL };
enum { DELTA_CONTENT = 1, DELTA_RC = 2, DELTA_REASONING = 4 };
static const char *const delta_keys[] = { "content", "reasoning_content", "reasoning", NULL };

int stream_event(const struct qa_host *H, struct qa_stream *st, const char *data, size_t len)
{
	const char *perr, *msg;
	const qa_json *d = H->parse(data, len, &perr);
	unsigned flags = 0, top, delta;
	long ntok = 0;
	size_t mlen;

	st->chunks++;
	if (!d || H->type(d, "") != QA_OBJECT) {
		H->free(st->error);
		st->error = H->format("chunk %ld is not a JSON object (%s)", st->chunks, d ? "another value" : perr);
		return -1;
	}
	/* Tens of thousands of events a second: only the keys a chunk has are looked up. */
	top = keys_of(H, d, "", top_keys);
	if ((top & TOP_ERROR) && H->type(d, "error") != QA_NULL) {
		msg = H->string(d, "error.message", &mlen);
		if (!msg)
			msg = H->string(d, "error", &mlen);
		H->free(st->error);
		st->error = H->format("error event in the stream: %.*s", msg ? (int)mlen : 12,
		    msg ? msg : "(no message)");
		return -1;
	}
	if (!st->model && (top & TOP_MODEL))
		keep(H, &st->model, d, "model", QA_STRING);
	if (!st->id && (top & TOP_ID))
		keep(H, &st->id, d, "id", QA_STRING);
	if ((top & TOP_USAGE) && H->type(d, "usage") == QA_OBJECT) {
		keep(H, &st->usage, d, "usage", QA_OBJECT);
		flags |= QA_CHUNK_USAGE;
	}
	if (top & TOP_TIMINGS)
		keep(H, &st->server_timings, d, "timings", QA_OBJECT);
	if (!(top & TOP_CHOICES) || H->type(d, "choices[0]") != QA_OBJECT)
		return (int)flags;
	flags |= QA_CHUNK_CHOICES;
	if (st->chat) {
		delta = keys_of(H, d, "choices[0].delta", delta_keys);
		if ((delta & DELTA_CONTENT) && append(H, &st->text, d, "choices[0].delta.content"))
			flags |= QA_CHUNK_CONTENT;
		/* vLLM and DeepSeek say reasoning_content; OpenRouter and newer vLLM, reasoning. */
		if (((delta & DELTA_RC) && append(H, &st->reasoning, d, "choices[0].delta.reasoning_content")) ||
		    ((delta & DELTA_REASONING) && append(H, &st->reasoning, d, "choices[0].delta.reasoning")))
			flags |= QA_CHUNK_REASONING;
	} else if (append(H, &st->text, d, "choices[0].text")) {
		flags |= QA_CHUNK_CONTENT;
	}
	keep(H, &st->finish_reason, d, "choices[0].finish_reason", QA_STRING);
	switch (H->type(d, "choices[0].logprobs")) {
	case QA_OBJECT:
		if (H->type(d, "choices[0].logprobs.content") == QA_ARRAY)
			ntok = chat_logprobs(H, st, d, "choices[0].logprobs.content");
		else if (H->type(d, "choices[0].logprobs.tokens") == QA_ARRAY)
			ntok = completion_logprobs(H, st, d, "choices[0].logprobs");
		break;
	default:
		break;
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
