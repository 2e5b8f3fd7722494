/* The response cache's keys (cache.h): canonical JSON, hashed with libcrypto's SHA-256. */
#include "cache_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct member {
	const char *key;
	size_t keylen;
	int val;
	int order;
};

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	if (x->keylen != y->keylen)
		return x->keylen < y->keylen ? -1 : 1;
	return x->order - y->order;
}

/*
 * Where canonical text goes: appended to out, or (out NULL) through a
 * small buffer into the digest, so a key is hashed as its text is made,
 * in one SHA-256 context, whatever the body's size.
 */
struct sink {
	qa_buf *out;
	EVP_MD_CTX *md;
	int failed;
	size_t n;
	char buf[4096];
};

static void sink_flush(struct sink *k)
{
	if (k->out)
		buf_add(k->out, k->buf, k->n);
	else if (k->n && !EVP_DigestUpdate(k->md, k->buf, k->n))
		k->failed = 1;
	k->n = 0;
}

static void sink_add(struct sink *k, const void *p, size_t n)
{
	if (k->n + n > sizeof k->buf) {
		sink_flush(k);
		if (n > sizeof k->buf) {
			if (k->out)
				buf_add(k->out, p, n);
			else if (!EVP_DigestUpdate(k->md, p, n))
				k->failed = 1;
			return;
		}
	}
	memcpy(k->buf + k->n, p, n);
	k->n += n;
}

static void sink_addc(struct sink *k, char c)
{
	if (k->n == sizeof k->buf)
		sink_flush(k);
	k->buf[k->n++] = c;
}

/* A string as buf_json_string writes it: printable ASCII but '"' and '\\' as it is, else through it. */
static void sink_string(struct sink *k, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
		i++;
	if (i == n) {
		sink_addc(k, '"');
		sink_add(k, s, n);
		sink_addc(k, '"');
		return;
	}
	static _Thread_local qa_buf e;
	e.len = 0;
	buf_json_string(&e, s, n);
	sink_add(k, e.p, e.len);
	if (e.cap > (1u << 20))
		buf_free(&e);
}

static void canon(struct sink *out, const qa_json *j, int tok)
{
	size_t len;
	const char *s;
	switch (json_type(j, tok)) {
	case QA_STRING:
		s = json_key(j, tok, &len);	/* the text itself when it has no escapes: no copy */
		sink_string(out, s, len);
		return;
	case QA_ARRAY: {
		size_t n = json_count(j, tok);
		sink_addc(out, '[');
		for (size_t i = 0; i < n; i++) {
			if (i)
				sink_addc(out, ',');
			canon(out, j, json_index(j, tok, i));
		}
		sink_addc(out, ']');
		return;
	}
	case QA_OBJECT: {
		size_t n = json_count(j, tok);
		struct member few[16];	/* most objects: no allocation */
		struct member *m = n <= 16 ? few : xcalloc(n, sizeof *m);
		for (size_t i = 0; i < n; i++) {
			int k = json_key_at(j, tok, i);
			m[i].key = json_key(j, k, &m[i].keylen);
			m[i].val = k + 1;
			m[i].order = (int)i;
		}
		if (n > 16)
			qsort(m, n, sizeof *m, member_cmp);
		else	/* a few members: insertion sort, no calls through a pointer (the same order: keys then order are unique) */
			for (size_t i = 1; i < n; i++) {
				struct member x = m[i];
				size_t k = i;
				for (; k > 0 && member_cmp(&m[k - 1], &x) > 0; k--)
					m[k] = m[k - 1];
				m[k] = x;
			}
		sink_addc(out, '{');
		int first = 1;
		for (size_t i = 0; i < n; i++) {
			/* A repeated key: only its last occurrence (the run's last after a stable sort by order). */
			if (i + 1 < n && m[i + 1].keylen == m[i].keylen && memcmp(m[i + 1].key, m[i].key, m[i].keylen) == 0)
				continue;
			if (!first)
				sink_addc(out, ',');
			first = 0;
			sink_string(out, m[i].key, m[i].keylen);
			sink_addc(out, ':');
			canon(out, j, m[i].val);
		}
		sink_addc(out, '}');
		if (m != few)
			free(m);
		return;
	}
	default:
		s = json_raw(j, tok, &len);
		sink_add(out, s, len);
		return;
	}
}

int cache_canonical(qa_buf *out, const char *text, size_t len, const char **err)
{
	qa_json *j = json_new();
	size_t off;
	int rc = json_parse(j, text, len, err, &off);
	if (rc == 0) {
		struct sink *k = xcalloc(1, sizeof *k);
		k->out = out;
		canon(k, j, json_root(j));
		sink_flush(k);
		free(k);
	}
	json_free(&j);
	return rc;
}

/* 1: the object at tok pins decoding; 0: it does not say so. */
static int pins(const qa_json *j, int tok)
{
	if (json_type(j, tok) != QA_OBJECT)
		return 0;
	int seed = json_member(j, tok, "seed", 4);
	if (seed >= 0 && json_type(j, seed) != QA_NULL)
		return 1;
	int t = json_member(j, tok, "temperature", 11);
	double v;
	return t >= 0 && json_num(j, t, &v) == 0 && v == 0;
}

int cache_pinned(const char *body, size_t len)
{
	qa_json *j = json_new();
	const char *err;
	size_t off;
	int r = 0;
	if (json_parse(j, body, len, &err, &off) == 0 && json_type(j, 0) == QA_OBJECT) {
		r = pins(j, 0) || pins(j, json_member(j, 0, "options", 7)) ||
		    pins(j, json_member(j, 0, "generationConfig", 16));
	}
	json_free(&j);
	return r;
}

static void add_str_member(qa_buf *b, const char *name, const char *v)
{
	buf_json_string(b, name, strlen(name));
	buf_addc(b, ':');
	if (v)
		buf_json_string(b, v, strlen(v));
	else
		buf_adds(b, "null");
}

int cache_key(const qa_cache_req *req, qa_cache_key *key, char *err, size_t errlen)
{
	/*
	 * Kept from call to call (keys are on every request's path, a warm
	 * run's whole cost): the parser and the digest context.
	 */
	static _Thread_local qa_json *j;
	static _Thread_local EVP_MD_CTX *ctx;
	static _Thread_local EVP_MD *sha256;	/* EVP_sha256() looks the algorithm up again at every digest (OpenSSL 3) */
	const char *why;
	size_t off;
	if (!j)
		j = json_new();
	/* One parse for both the canonical text and the pinned test. */
	if (json_parse(j, req->body, req->body_len, &why, &off) != 0 || json_type(j, 0) != QA_OBJECT) {
		snprintf(err, errlen, "the request body is not a JSON object");
		return -1;
	}
	int pinned = pins(j, 0) || pins(j, json_member(j, 0, "options", 7)) ||
	    pins(j, json_member(j, 0, "generationConfig", 16));
	/*
	 * Members in sorted order, so this is itself canonical JSON.  What
	 * comes before and after the body is the same for a run's requests
	 * (one endpoint, one model): made again only when one of them changes.
	 */
	static _Thread_local qa_buf head, tail;	/* {"base_url":..,"body":  and  ,"format":..,"provider":.. */
	static _Thread_local char *last[4];
	const char *now[4] = { req->base_url, req->mode, req->model, req->provider };
	int same = head.len > 0;
	for (int i = 0; i < 4 && same; i++)
		same = (!now[i] && !last[i]) || (now[i] && last[i] && strcmp(now[i], last[i]) == 0);
	if (!same) {
		for (int i = 0; i < 4; i++) {
			free(last[i]);
			last[i] = now[i] ? xstrdup(now[i]) : NULL;
		}
		head.len = tail.len = 0;
		buf_addc(&head, '{');
		add_str_member(&head, "base_url", req->base_url);
		buf_adds(&head, ",\"body\":");
		buf_adds(&tail, ",\"format\":" QA_CACHE_FORMAT_TEXT ",");
		add_str_member(&tail, "mode", req->mode);
		buf_addc(&tail, ',');
		add_str_member(&tail, "model", req->model);
		buf_addc(&tail, ',');
		add_str_member(&tail, "provider", req->provider);
	}
	if (!sha256)
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!ctx)
		ctx = EVP_MD_CTX_new();
	if (!sha256 || !ctx || !EVP_DigestInit_ex(ctx, sha256, NULL)) {
		snprintf(err, errlen, "SHA-256 failed");
		return -1;
	}
	/* The text is hashed as it is made: a few KiB at a time, never held whole. */
	static _Thread_local struct sink k;
	k.out = NULL;
	k.md = ctx;
	k.failed = 0;
	k.n = 0;
	sink_add(&k, head.p, head.len);
	canon(&k, j, 0);
	sink_add(&k, tail.p, tail.len);
	if (!pinned) {
		char digits[24], *d = digits + sizeof digits;
		unsigned long v = req->sample;
		do
			*--d = (char)('0' + v % 10);
		while (v /= 10);
		sink_add(&k, ",\"sample\":", 10);
		sink_add(&k, d, (size_t)(digits + sizeof digits - d));
	}
	sink_addc(&k, '}');
	sink_flush(&k);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (k.failed || !EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32) {
		snprintf(err, errlen, "SHA-256 failed");
		return -1;
	}
	static const char hex[] = "0123456789abcdef";	/* not snprintf: 32 calls of it were a warm hit's largest cost */
	for (unsigned i = 0; i < 32; i++) {
		key->hex[2 * i] = hex[md[i] >> 4];
		key->hex[2 * i + 1] = hex[md[i] & 15];
	}
	key->hex[64] = '\0';
	return 0;
}

/* 64 hex digits (either case) to the digest's 32 bytes, as the table keeps them. */
void cache_key_bytes(const char *hex, unsigned char out[32])
{
	for (int i = 0; i < 32; i++) {
		unsigned char h = (unsigned char)hex[2 * i], l = (unsigned char)hex[2 * i + 1];
		out[i] = (unsigned char)(((h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10) << 4) |
		    (l <= '9' ? l - '0' : (l | 0x20) - 'a' + 10));
	}
}
