/*
 * openai: OpenAI chat completions, POST {base_url}/chat/completions, and
 * every relay or server that speaks it (vLLM, llama.cpp, LiteLLM, Gemini's
 * and Anthropic's compatibility endpoints, ...).
 *
 * The request: {"model", "messages", ...params}.  messages is the record's
 * own array, or its prompt as one user message; a system string goes first.
 * params pass through as they are, except logprobs: N, which chat spells
 * "logprobs": true, "top_logprobs": N.  The answer's logprobs (generated
 * tokens only: chat has no echo) come back in the completions layout.
 * Error bodies are read in the shapes OpenAI, Anthropic, Gemini and vLLM
 * use; an exhausted quota or budget is type "quota", never retried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qa/plugin.h>

static const struct qa_host *H;

/* Keys of params that are not passed through: the request's own, streaming, the mock's. */
static int skipped(const char *k)
{
	return strcmp(k, "model") == 0 || strcmp(k, "messages") == 0 || strcmp(k, "prompt") == 0 ||
	    strcmp(k, "stream") == 0 || strcmp(k, "stream_options") == 0 || strncmp(k, "mock_", 5) == 0 ||
	    strpbrk(k, ".[") != NULL;
}

static void add_params(struct qa_text *t, const qa_json *params)
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
		if (strcmp(k, "logprobs") == 0 && H->number(params, k, &num) == 0) {
			/* the completions spelling: N alternatives per token */
			H->text_add(t, ",\"logprobs\":true", 16);
			if (!has_top)
				H->text_printf(t, ",\"top_logprobs\":%.0f", num);
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
	return H->format("%.*s%s", (int)n, b, path);
}

static int build(void *st, const qa_json *rec, const struct qa_endpoint *ep, struct qa_request *req,
    char **err)
{
	(void)st;
	if (!ep->model || !*ep->model) {
		*err = H->format("no model: give --model, model in the endpoint config, or one in the record");
		return -1;
	}
	if (H->boolean(ep->params, "echo") == 1) {
		/* Sent, it would come back with the answer's logprobs, silently not the prompt's. */
		*err = H->format("chat completions cannot echo the prompt, so they give no prompt logprobs; "
		    "use the openai-completions provider for perplexity");
		return -1;
	}
	size_t n;
	const char *system = H->string(rec, "system", &n);
	struct qa_text t = { 0 };
	H->text_add(&t, "{\"model\":", 9);
	H->text_json(&t, ep->model, strlen(ep->model));
	H->text_add(&t, ",\"messages\":[", 13);
	int first = 1;
	if (system) {
		H->text_add(&t, "{\"role\":\"system\",\"content\":", 27);
		H->text_json(&t, system, n);
		H->text_add(&t, "}", 1);
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
				H->text_add(&t, ",", 1);
			H->text_add(&t, m, len);
			first = 0;
		}
	} else {
		const char *prompt = H->string(rec, "prompt", &n);
		if (!prompt) {
			H->free(t.p);
			*err = H->format("the record has neither a prompt string nor a messages array");
			return -1;
		}
		if (!first)
			H->text_add(&t, ",", 1);
		H->text_add(&t, "{\"role\":\"user\",\"content\":", 25);
		H->text_json(&t, prompt, n);
		H->text_add(&t, "}", 1);
	}
	H->text_add(&t, "]", 1);
	add_params(&t, ep->params);
	H->text_add(&t, "}", 1);
	req->url = url_of(ep, "/chat/completions");
	req->body = t.p;
	req->body_len = t.len;
	return 0;
}

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

static int parse(void *st, const qa_json *rec, const struct qa_endpoint *ep, long status,
    const char *body, size_t len, struct qa_reply *out)
{
	(void)st, (void)rec, (void)ep;
	if (status < 200 || status > 299) {
		H->error_body(status, body, len, out);
		return 0;
	}
	const char *perr;
	const qa_json *d = H->parse(body, len, &perr);
	if (!d || H->type(d, "") != QA_OBJECT) {
		out->error = len ? H->format("the response is not a JSON object (%s)", d ? "another value" : perr)
		    : H->format("the response is empty");
		return -1;
	}
	if (H->type(d, "error") == QA_OBJECT || H->type(d, "error") == QA_STRING) {
		/* Some relays answer 200 with an error body. */
		H->error_body(status, body, len, out);
		if (!out->error_type)
			out->error_type = "server";
		return 0;
	}
	if (H->type(d, "choices[0]") != QA_OBJECT) {
		out->error = H->format("the response has no choices");
		return -1;
	}
	out->text = content_text(d, &out->text_len);
	if (!out->text && H->type(d, "choices[0].message.refusal") == QA_STRING)
		out->text = H->copy_len(d, "choices[0].message.refusal", QA_STRING, &out->text_len);
	out->finish_reason = H->copy(d, "choices[0].finish_reason", QA_STRING);
	out->model = H->copy(d, "model", QA_STRING);
	out->id = H->copy(d, "id", QA_STRING);
	out->usage = H->copy(d, "usage", QA_OBJECT);
	out->server_timings = H->copy(d, "timings", QA_OBJECT);	/* llama.cpp's */
	out->logprobs = content_logprobs(d, "choices[0].logprobs.content");
	return 0;
}

static const struct qa_plugin me = {
	QA_PLUGIN_HEADER(QA_KIND_PROVIDER, "openai", "1.0",
	    "OpenAI chat completions (POST /chat/completions), and compatible relays"),
	.auth_header = "Authorization: Bearer ",
	.key_env = "OPENAI_API_KEY",
	.base_url_env = "OPENAI_BASE_URL",
	.base_url = "https://api.openai.com/v1",
	.build = build,
	.parse = parse,
};

const struct qa_plugin *qa_plugin_entry(const struct qa_host *host, const char *name)
{
	(void)name;
	H = host;
	return &me;
}
