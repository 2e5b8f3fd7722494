/*
 * openai provider: building the request body (build()).  See openai.h.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "openai.h"

/* Keys of params that are not passed through: the request's own, streaming, the mock's. */
static int skipped(const char *k)
{
	return strcmp(k, "model") == 0 || strcmp(k, "messages") == 0 || strcmp(k, "prompt") == 0 ||
	    strcmp(k, "stream") == 0 || strcmp(k, "stream_options") == 0 || strncmp(k, "mock_", 5) == 0 ||
	    strpbrk(k, ".[") != NULL;
}

/* build() asked for a stream: qa-send sets qa_request.stream (a host built before it has no such field). */
static void stream_fields(struct qa_text *t, const struct qa_request *req)
{
	if (QA_HAS(req, stream) && req->stream)
		H->text_add(t, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}", 54);
}

/* chat spells logprobs: N as "logprobs": true, "top_logprobs": N; completions, logprobs: true as 1. */
static void add_params(struct qa_text *t, const qa_json *params, int chat)
{
	size_t n = H->count(params, "");
	int has_top = H->type(params, "top_logprobs") != QA_ABSENT;
	for (size_t i = 0; i < n; i++) {
		const char *k = H->key(params, "", i);
		if (!k || skipped(k))
			continue;
		size_t len;
		const char *v = H->raw(params, k, &len);
		if (!v)
			continue;
		double num;
		if (chat && strcmp(k, "logprobs") == 0 && H->number(params, k, &num) == 0) {
			/* the completions spelling: N alternatives per token */
			H->text_add(t, ",\"logprobs\":true", 16);
			if (!has_top)
				H->text_printf(t, ",\"top_logprobs\":%.0f", num);
			continue;
		}
		if (!chat && strcmp(k, "logprobs") == 0 && H->boolean(params, k) >= 0) {
			/* chat's spelling: true is one alternative per token, false none */
			if (H->boolean(params, k) == 1)
				H->text_add(t, ",\"logprobs\":1", 13);
			continue;
		}
		H->text_add(t, ",", 1);
		H->text_json(t, k, strlen(k));
		H->text_add(t, ":", 1);
		H->text_add(t, v, len);
	}
}

static char *url_of(const struct qa_endpoint *ep, const char *path)
{
	const char *b = ep->base_url ? ep->base_url : "";
	size_t n = strlen(b);
	while (n && b[n - 1] == '/')
		n--;
	size_t pn = strlen(path);
	char *u = H->alloc(n + pn + 1);	/* not H->format: on every request's path (a warm cache's hit too) */
	memcpy(u, b, n);
	memcpy(u + n, path, pn + 1);
	return u;
}

/* {"model", <the API's input>, ...params}, POSTed to {base_url}<path>. */
int build_api(const struct api *a, const qa_json *rec, const struct qa_endpoint *ep,
    struct qa_request *req, char **err)
{
	if (!ep->model || !*ep->model) {
		*err = H->format("no model: give --model, model in the endpoint config, or one in the record");
		return -1;
	}
	struct qa_text t = { 0 };
	H->text_add(&t, "{\"model\":", 9);
	H->text_json(&t, ep->model, strlen(ep->model));
	if (a->input(&t, rec, ep, err) < 0) {
		H->free(t.p);
		return -1;
	}
	add_params(&t, ep->params, a->chat);
	stream_fields(&t, req);
	H->text_add(&t, "}", 1);
	req->url = url_of(ep, a->path);
	req->body = t.p;
	req->body_len = t.len;
	return 0;
}

/* Chat's input: "messages", the record's own or its prompt as one user message, after its system string. */
int chat_input(struct qa_text *t, const qa_json *rec, const struct qa_endpoint *ep, char **err)
{
	if (H->boolean(ep->params, "echo") == 1) {
		/* Sent, it would come back with the answer's logprobs, silently not the prompt's. */
		*err = H->format("chat completions cannot echo the prompt, so they give no prompt logprobs; "
		    "use the openai-completions provider for perplexity");
		return -1;
	}
	size_t n;
	const char *system = H->string(rec, "system", &n);
	H->text_add(t, ",\"messages\":[", 13);
	int first = 1;
	if (system) {
		H->text_add(t, "{\"role\":\"system\",\"content\":", 27);
		H->text_json(t, system, n);
		H->text_add(t, "}", 1);
		first = 0;
	}
	if (H->type(rec, "messages") == QA_ARRAY) {
		size_t count = H->count(rec, "messages");
		for (size_t i = 0; i < count; i++) {
			char path[48];
			snprintf(path, sizeof path, "messages[%zu]", i);
			size_t len;
			const char *m = H->raw(rec, path, &len);
			if (!first)
				H->text_add(t, ",", 1);
			H->text_add(t, m, len);
			first = 0;
		}
	} else {
		const char *prompt = H->string(rec, "prompt", &n);
		if (!prompt) {
			*err = H->format("the record has neither a prompt string nor a messages array");
			return -1;
		}
		if (!first)
			H->text_add(t, ",", 1);
		H->text_add(t, "{\"role\":\"user\",\"content\":", 25);
		H->text_json(t, prompt, n);
		H->text_add(t, "}", 1);
	}
	H->text_add(t, "]", 1);
	return 0;
}

/* ---- openai-completions ---- */

/* Completions' input: "prompt", after the record's system string and a blank line when it has one. */
int completions_input(struct qa_text *t, const qa_json *rec, const struct qa_endpoint *ep, char **err)
{
	(void)ep;
	size_t n, sn;
	const char *prompt = H->string(rec, "prompt", &n);
	if (!prompt) {
		*err = H->format("the record has no prompt string (messages need the openai provider)");
		return -1;
	}
	const char *system = H->string(rec, "system", &sn);
	H->text_add(t, ",\"prompt\":", 10);
	if (system) {
		struct qa_text p = { 0 };
		H->text_add(&p, system, sn);
		H->text_add(&p, "\n\n", 2);
		H->text_add(&p, prompt, n);
		H->text_json(t, p.p, p.len);
		H->free(p.p);
	} else {
		H->text_json(t, prompt, n);
	}
	return 0;
}
