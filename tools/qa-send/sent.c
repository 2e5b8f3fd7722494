/*
 * qa-send: response.sent, what a request was made with, so that qa-diff
 * can tell whether two runs asked the same thing (its comparability check).
 * It is read from the record, not from the request body, so that the same
 * question put to two providers (chat and completions bodies differ) reads
 * the same: the parameters after --param's defaults, a hash of the prompt
 * or messages, and a hash of the system prompt of its own, so that a
 * changed system prompt is named as such.  A llama.cpp server says which
 * chat template it wraps messages in (/props chat_template: the Jinja
 * text, or a built-in's name such as "llama2"); a chat request to one
 * carries its fingerprint as "template", since another template is
 * another question put to the model.
 */

#include "qa-send.h"

static void hash_field(qa_buf *b, const char *name, const char *s, size_t n)
{
	buf_printf(b, ",\"%s\":\"%016llx\"", name,
	    (unsigned long long)hash_fmix64(hash_fnv1a(HASH_FNV_BASIS, s, n)));
}

/* Appends ,"sent":{...} to the response object being written in b. */
void sent_add(qa_buf *b, const struct task *t)
{
	const qa_json *j = t->j, *p = t->pj;
	size_t n;
	const char *raw;

	if (t->win)
		return;	/* --context scores a text; it asks no question */
	buf_adds(b, ",\"sent\":{\"params\":");
	raw = p ? json_raw(p, 0, &n) : NULL;
	if (raw)
		buf_add(b, raw, n);
	else
		buf_adds(b, "{}");
	int m = json_member(j, 0, "messages", 8), sys = -1;
	if (json_type(j, m) == QA_ARRAY) {
		raw = json_raw(j, m, &n);
		hash_field(b, "prompt_hash", raw, n);
		for (size_t i = 0; i < json_count(j, m) && sys < 0; i++) {
			int msg = json_index(j, m, i);
			if (json_str_eq(j, json_member(j, msg, "role", 4), "system", 6))
				sys = json_member(j, msg, "content", 7);
		}
	} else if ((raw = json_raw(j, json_member(j, 0, "prompt", 6), &n))) {
		hash_field(b, "prompt_hash", raw, n);
	}
	if (sys < 0)
		sys = json_member(j, 0, "system", 6);
	if ((raw = json_raw(j, sys, &n)))
		hash_field(b, "system_hash", raw, n);
	if (t->ep->template_fp[0] && t->req.url && strstr(t->req.url, "/chat/completions"))
		buf_printf(b, ",\"template\":\"%s\"", t->ep->template_fp);
	buf_addc(b, '}');
}

size_t on_side_body(char *p, size_t size, size_t n, void *arg)
{
	qa_buf *b = arg;
	if (b->len + size * n > (1u << 20))
		return 0;
	buf_add(b, p, size * n);
	return size * n;
}

/* The answer of the last side request: scratch points into it. */
qa_buf side_body;

/*
 * One small request to the server beside the API (llama.cpp's /props,
 * /tokenize): the base URL without its /v1, at most 2 s, failures
 * ignored.  The parsed answer in scratch, or -1.
 */
int side_request(const struct endpoint *e, const char *path, const char *post)
{
	qa_buf url = { 0 }, *body = &side_body;
	body->len = 0;
	size_t n = strlen(e->base_url);
	while (n && e->base_url[n - 1] == '/')
		n--;
	if (n >= 3 && strncmp(e->base_url + n - 3, "/v1", 3) == 0)
		n -= 3;
	buf_add(&url, e->base_url, n);
	buf_adds(&url, path);
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	int rc = -1;
	long status = 0;
	if (!c)
		goto out;
	h = curl_slist_append(h, "Content-Type: application/json");
	if (e->auth)
		h = curl_slist_append(h, e->auth);
	curl_easy_setopt(c, CURLOPT_URL, buf_cstr(&url));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "qa-send/" QA_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_side_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	if (curl_easy_perform(c) == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
	    status == 200 && json_parse(scratch, buf_cstr(body), body->len, &(const char *){ 0 },
	    &(size_t){ 0 }) == 0)
		rc = 0;
out:
	curl_slist_free_all(h);
	if (c)
		curl_easy_cleanup(c);
	buf_free(&url);
	return rc;
}

/*
 * The first answer to a chat request that carries llama.cpp's timings
 * asks the endpoint's /props, before that answer is written, so that
 * every record of the endpoint carries the template; the answer waits for
 * it (at most side_request()'s 2 s, once per endpoint).  A failure leaves
 * the records without a template, which report_server() says;
 * total_slots is kept for it too.
 */
void sent_props(struct endpoint *e)
{
	if (e->props_asked)
		return;
	e->props_asked = 1;
	if (side_request(e, "/props", NULL) < 0)
		return;
	e->props_ok = 1;
	double slots;
	if (json_num(scratch, json_find(scratch, 0, "total_slots"), &slots) == 0 && slots >= 1)
		e->props_slots = slots;
	size_t n;
	const char *tpl = json_str(scratch, json_find(scratch, 0, "chat_template"), &n);
	char hex[17];
	if (tpl && n && hash_sha256_hex(tpl, n, hex, 16) == 0)
		snprintf(e->template_fp, sizeof e->template_fp, "sha256:%s", hex);
}
