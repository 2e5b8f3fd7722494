/*
 * openai provider: parsing a whole (unstreamed) answer: text, logprobs, errors.  See openai.h.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "openai.h"

/*
 * The chat layout of logprobs, {"content": [{token, logprob, top_logprobs:
 * [{token, logprob}]}]}, as the completions layout {tokens,
 * token_logprobs, top_logprobs}.  A top list becomes an object keyed by
 * token string, and several tokens may spell the same string (byte tokens
 * that all read as U+FFFD, a byte token and the character it is): the
 * likeliest keeps the key, and "collisions" (when there are any) counts
 * the entries dropped.
 */
static char *content_logprobs(const qa_json *d, const char *base)
{
	if (H->type(d, base) != QA_ARRAY)
		return NULL;
	size_t n = H->count(d, base);
	struct qa_text tok = { 0 }, lp = { 0 }, top = { 0 };
	H->text_add(&tok, "{\"tokens\":[", 11);
	H->text_add(&lp, "],\"token_logprobs\":[", 20);
	H->text_add(&top, "],\"top_logprobs\":[", 18);
	char path[160];
	long collisions = 0;
	for (size_t i = 0; i < n; i++) {
		const char *sep = i ? "," : "";
		size_t len;
		snprintf(path, sizeof path, "%s[%zu].token", base, i);
		const char *s = H->string(d, path, &len);
		H->text_add(&tok, sep, strlen(sep));
		H->text_json(&tok, s ? s : "", s ? len : 0);
		snprintf(path, sizeof path, "%s[%zu].logprob", base, i);
		const char *v = H->type(d, path) == QA_NUMBER ? H->raw(d, path, &len) : NULL;
		H->text_add(&lp, sep, strlen(sep));
		H->text_add(&lp, v ? v : "null", v ? len : 4);
		snprintf(path, sizeof path, "%s[%zu].top_logprobs", base, i);
		size_t nt = H->count(d, path);
		H->text_add(&top, sep, strlen(sep));
		H->text_add(&top, "{", 1);
		int first = 1;
		for (size_t k = 0; k < nt; k++) {
			char p2[200];
			snprintf(p2, sizeof p2, "%s[%zu].top_logprobs[%zu].token", base, i, k);
			size_t tl, vl;
			const char *ts = H->string(d, p2, &tl);
			snprintf(p2, sizeof p2, "%s[%zu].top_logprobs[%zu].logprob", base, i, k);
			double x;
			const char *tv = H->number(d, p2, &x) == 0 ? H->raw(d, p2, &vl) : NULL;
			if (!ts || !tv)
				continue;
			/* Kept only when no other entry of the list with this string is likelier (or as likely, earlier). */
			int beaten = 0;
			for (size_t o = 0; o < nt && !beaten; o++) {
				if (o == k)
					continue;
				size_t ol;
				double y;
				snprintf(p2, sizeof p2, "%s[%zu].top_logprobs[%zu].token", base, i, o);
				const char *os = H->string(d, p2, &ol);
				snprintf(p2, sizeof p2, "%s[%zu].top_logprobs[%zu].logprob", base, i, o);
				if (os && ol == tl && memcmp(os, ts, tl) == 0 && H->number(d, p2, &y) == 0)
					beaten = y > x || (y == x && o < k);
			}
			if (beaten) {
				collisions++;
				continue;
			}
			if (!first)
				H->text_add(&top, ",", 1);
			first = 0;
			H->text_json(&top, ts, tl);
			H->text_add(&top, ":", 1);
			H->text_add(&top, tv, vl);
		}
		H->text_add(&top, "}", 1);
	}
	H->text_add(&tok, lp.p, lp.len);
	H->text_add(&tok, top.p, top.len);
	H->text_add(&tok, "]", 1);
	if (collisions)
		H->text_printf(&tok, ",\"collisions\":%ld", collisions);
	H->text_add(&tok, "}", 1);
	H->free(lp.p);
	H->free(top.p);
	return tok.p;
}

/* message.content: a string, or (some relays) an array of {type: "text", text} parts. */
static char *content_text(const qa_json *d, size_t *text_len)
{
	const char *c = "choices[0].message.content";
	if (H->type(d, c) == QA_STRING)
		return H->copy_len(d, c, QA_STRING, text_len);
	if (H->type(d, c) != QA_ARRAY)
		return NULL;
	struct qa_text t = { 0 };
	H->text_add(&t, "", 0);
	size_t n = H->count(d, c);
	for (size_t i = 0; i < n; i++) {
		char path[80];
		snprintf(path, sizeof path, "%s[%zu].text", c, i);
		size_t len;
		const char *s = H->string(d, path, &len);
		if (s)
			H->text_add(&t, s, len);
	}
	*text_len = t.len;
	return t.p;
}

/*
 * What every answer goes through: an HTTP error, a body that is not an
 * object, an error in disguise (some relays answer 200 with an error
 * body), no choices.  The parsed body, or NULL with *rc what parse returns.
 */
static const qa_json *choices_of(long status, const char *body, size_t len, struct qa_reply *out, int *rc)
{
	*rc = 0;
	if (status < 200 || status > 299) {
		H->error_body(status, body, len, out);
		return NULL;
	}
	const char *perr;
	const qa_json *d = H->parse(body, len, &perr);
	if (!d || H->type(d, "") != QA_OBJECT) {
		out->error = len ? H->format("the response is not a JSON object (%s)", d ? "another value" : perr)
		    : H->format("the response is empty");
		*rc = -1;
		return NULL;
	}
	if (H->type(d, "error") == QA_OBJECT || H->type(d, "error") == QA_STRING) {
		H->error_body(status, body, len, out);
		if (!out->error_type)
			out->error_type = "server";
		return NULL;
	}
	if (H->type(d, "choices[0]") != QA_OBJECT) {
		out->error = H->format("the response has no choices");
		*rc = -1;
		return NULL;
	}
	return d;
}

int parse_api(const struct api *a, const struct qa_endpoint *ep, long status, const char *body,
    size_t len, struct qa_reply *out)
{
	int rc;
	const qa_json *d = choices_of(status, body, len, out, &rc);
	if (!d)
		return rc;
	out->finish_reason = H->copy(d, "choices[0].finish_reason", QA_STRING);
	out->model = H->copy(d, "model", QA_STRING);
	out->id = H->copy(d, "id", QA_STRING);
	out->usage = H->copy(d, "usage", QA_OBJECT);
	out->server_timings = H->copy(d, "timings", QA_OBJECT);	/* llama.cpp's */
	a->answer(d, ep, out);
	return 0;
}

/* Chat's answer: the message's content (or its refusal), logprobs converted from chat's layout. */
void chat_answer(const qa_json *d, const struct qa_endpoint *ep, struct qa_reply *out)
{
	(void)ep;
	out->text = content_text(d, &out->text_len);
	if (!out->text && H->type(d, "choices[0].message.refusal") == QA_STRING)
		out->text = H->copy_len(d, "choices[0].message.refusal", QA_STRING, &out->text_len);
	out->logprobs = content_logprobs(d, "choices[0].logprobs.content");
}

/* Did the request ask for the prompt echoed? */
int wants_echo(const struct qa_endpoint *ep)
{
	return H->boolean(ep->params, "echo") == 1;
}

int mentions(const char *s, const char *word)
{
	size_t n = strlen(word);
	for (; s && *s; s++)
		if (strncasecmp(s, word, n) == 0)
			return 1;
	return 0;
}

/*
 * The logprobs object with only its first keep entries (the prompt's),
 * in the OpenAI layout.
 */
static char *logprobs_head(const qa_json *d, const char *at, size_t keep)
{
	static const char *const arrays[] = { "tokens", "token_logprobs", "top_logprobs", "text_offset" };
	struct qa_text t = { 0 };
	H->text_add(&t, "{", 1);
	int first = 1;
	for (size_t a = 0; a < sizeof arrays / sizeof *arrays; a++) {
		char path[96];
		snprintf(path, sizeof path, "%s.%s", at, arrays[a]);
		if (H->type(d, path) != QA_ARRAY)
			continue;
		H->text_printf(&t, "%s\"%s\":[", first ? "" : ",", arrays[a]);
		first = 0;
		size_t n = H->count(d, path);
		for (size_t i = 0; i < n && i < keep; i++) {
			char ip[128];
			size_t len;
			snprintf(ip, sizeof ip, "%s[%zu]", path, i);
			const char *v = H->raw(d, ip, &len);
			if (i)
				H->text_add(&t, ",", 1);
			H->text_add(&t, v, len);
		}
		H->text_add(&t, "]", 1);
	}
	H->text_add(&t, "}", 1);
	return t.p;
}

/*
 * vLLM's prompt_logprobs, [null, {"id": {"logprob", "rank", "decoded_token"}}, ...],
 * in the OpenAI layout.  The token of a position is its first entry (vLLM
 * puts the prompt's own token first); the first position has none, so its
 * token is "".
 */
static char *from_prompt_logprobs(const qa_json *d, const char *at)
{
	struct qa_text tok = { 0 }, lp = { 0 }, top = { 0 };
	size_t n = H->count(d, at);
	for (size_t i = 0; i < n; i++) {
		char pos[96], p2[160];
		const char *sep = i ? "," : "";
		snprintf(pos, sizeof pos, "%s[%zu]", at, i);
		H->text_printf(&tok, "%s", sep);
		H->text_printf(&lp, "%s", sep);
		H->text_printf(&top, "%s", sep);
		size_t k = H->type(d, pos) == QA_OBJECT ? H->count(d, pos) : 0;
		if (!k) {
			H->text_add(&tok, "\"\"", 2);
			H->text_add(&lp, "null", 4);
			H->text_add(&top, "null", 4);
			continue;
		}
		H->text_add(&top, "{", 1);
		for (size_t j = 0; j < k; j++) {
			const char *id = H->key(d, pos, j);
			size_t sl, vl;
			snprintf(p2, sizeof p2, "%s.%s.decoded_token", pos, id);
			const char *s = H->string(d, p2, &sl);
			snprintf(p2, sizeof p2, "%s.%s.logprob", pos, id);
			const char *v = H->type(d, p2) == QA_NUMBER ? H->raw(d, p2, &vl) : NULL;
			if (!s)
				s = id, sl = strlen(id);
			if (!v)
				v = "null", vl = 4;
			if (j == 0) {
				H->text_json(&tok, s, sl);
				H->text_add(&lp, v, vl);
			}
			if (j)
				H->text_add(&top, ",", 1);
			H->text_json(&top, s, sl);
			H->text_add(&top, ":", 1);
			H->text_add(&top, v, vl);
		}
		H->text_add(&top, "}", 1);
	}
	char *out = H->format("{\"tokens\":[%s],\"token_logprobs\":[%s],\"top_logprobs\":[%s]}",
	    tok.p ? tok.p : "", lp.p ? lp.p : "", top.p ? top.p : "");
	H->free(tok.p);
	H->free(lp.p);
	H->free(top.p);
	return out;
}

/* Completions' answer: the text, and logprobs in whichever layout the server chose (see the top of openai.c). */
void completions_answer(const qa_json *d, const struct qa_endpoint *ep, struct qa_reply *out)
{
	out->text = H->copy_len(d, "choices[0].text", QA_STRING, &out->text_len);
	if (H->type(d, "choices[0].prompt_logprobs") == QA_ARRAY && !wants_echo(ep)) {
		out->logprobs = from_prompt_logprobs(d, "choices[0].prompt_logprobs");
		return;
	}
	if (!wants_echo(ep) && H->type(d, "choices[0].logprobs.content") == QA_ARRAY) {
		/* llama.cpp's server answers completions in the chat layout. */
		out->logprobs = content_logprobs(d, "choices[0].logprobs.content");
		return;
	}
	if (!wants_echo(ep) || H->type(d, "choices[0].logprobs") != QA_OBJECT) {
		out->logprobs = H->copy(d, "choices[0].logprobs", QA_OBJECT);
		return;
	}
	/* Echoed: the prompt's first token has no logprob; a real number there means no echo. */
	if (H->type(d, "choices[0].logprobs.token_logprobs[0]") == QA_NUMBER) {
		out->error = H->format("echo was asked for, but the endpoint returned logprobs for the "
		    "generated tokens only, not the prompt's; use a server that echoes, such as vLLM");
		out->error_type = "bad_request";
		out->retry = QA_RETRY_NO;
		return;
	}
	double generated = 0;
	size_t n = H->count(d, "choices[0].logprobs.tokens");
	if (H->number(d, "usage.completion_tokens", &generated) == 0 && generated > 0 && generated <= n)
		out->logprobs = logprobs_head(d, "choices[0].logprobs", n - (size_t)generated);
	else
		out->logprobs = H->copy(d, "choices[0].logprobs", QA_OBJECT);
}
