/*
 * llama.c: the llama provider (issue 17).  A GGUF model run in the process
 * through libllama (engine.c), on the worker thread qa-send owns: open()
 * loads the model named by the endpoint's model (--model PATH.gguf),
 * build() turns a record into a job, compute() runs it.
 *
 * compute() may call no host function that reads JSON (they are not
 * thread-safe), so build() writes everything the job needs into the
 * request body in one fixed order, and compute() reads it back in that
 * order: {"temperature":T,"seed":S,"max_tokens":N,"stop":[..],
 * "messages":[role,content,...],"prompt":"..."|null}.  The body is also
 * what --trace shows of the request.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qa/plugin.h>

#include "engine.h"

QA_PLUGIN_HOST;

struct eng {
	le_engine *m;
};

static int build(void *st, const qa_json *rec, const struct qa_endpoint *ep, struct qa_request *req, char **err)
{
	(void)st;
	(void)ep;
	struct qa_text b = { 0 };
	double v;
	H->text_printf(&b, "{\"temperature\":%.17g", H->number(ep->params, "temperature", &v) == 0 ? v : 0.0);
	H->text_printf(&b, ",\"seed\":%.0f", H->number(ep->params, "seed", &v) == 0 && v >= 0 ? v : 0.0);
	H->text_printf(&b, ",\"max_tokens\":%.0f", H->number(ep->params, "max_tokens", &v) == 0 && v > 0 ? v : 0.0);
	H->text_add(&b, ",\"stop\":[", 9);
	size_t len;
	const char *s;
	if ((s = H->string(ep->params, "stop", &len))) {
		H->text_json(&b, s, len);
	} else {
		size_t n = H->count(ep->params, "stop");
		for (size_t i = 0; i < n; i++) {
			char path[32];
			snprintf(path, sizeof path, "stop[%zu]", i);
			if ((s = H->string(ep->params, path, &len))) {
				if (b.p[b.len - 1] != '[')
					H->text_add(&b, ",", 1);
				H->text_json(&b, s, len);
			}
		}
	}
	H->text_add(&b, "],\"messages\":[", 14);
	int any = 0;
	if ((s = H->string(rec, "system", &len))) {
		H->text_add(&b, "\"system\",", 9);
		H->text_json(&b, s, len);
		any = 1;
	}
	size_t n = H->count(rec, "messages");
	for (size_t i = 0; i < n; i++) {
		char path[48];
		snprintf(path, sizeof path, "messages[%zu].role", i);
		const char *role = H->string(rec, path, &len);
		if (!role) {
			*err = H->format("messages[%zu] has no role", i);
			H->free(b.p);
			return -1;
		}
		if (any)
			H->text_add(&b, ",", 1);
		H->text_json(&b, role, len);
		snprintf(path, sizeof path, "messages[%zu].content", i);
		const char *c = H->string(rec, path, &len);
		if (!c) {
			*err = H->format("messages[%zu].content is not a string", i);
			H->free(b.p);
			return -1;
		}
		H->text_add(&b, ",", 1);
		H->text_json(&b, c, len);
		any = 1;
	}
	H->text_add(&b, "],\"prompt\":", 11);
	if ((s = H->string(rec, "prompt", &len))) {
		H->text_json(&b, s, len);
	} else if (!n) {
		*err = H->format("the record has neither a prompt string nor a messages array");
		H->free(b.p);
		return -1;
	} else {
		H->text_add(&b, "null", 4);
	}
	H->text_add(&b, "}", 1);
	req->body = b.p;
	req->body_len = b.len;
	return 0;
}

static int parse(void *st, const qa_json *rec, const struct qa_endpoint *ep, long status, const char *body,
    size_t len, struct qa_reply *out)
{
	(void)st, (void)rec, (void)ep, (void)status, (void)body, (void)len;
	out->error = H->format("the llama provider answers in the process; there is no response to read");
	return -1;
}

/* ---- reading back build()'s body, in its order, without the host ---- */

struct rd {
	const char *p, *end;
};

static int lit(struct rd *r, const char *s)
{
	size_t n = strlen(s);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, s, n) != 0)
		return -1;
	r->p += n;
	return 0;
}

static int num(struct rd *r, double *v)
{
	char *e;
	errno = 0;
	*v = strtod(r->p, &e);
	if (e == r->p || e > r->end)
		return -1;
	r->p = e;
	return 0;
}

static void put_utf8(char **o, unsigned long c)
{
	unsigned char *q = (unsigned char *)*o;
	if (c < 0x80) {
		*q++ = (unsigned char)c;
	} else if (c < 0x800) {
		*q++ = (unsigned char)(0xc0 | c >> 6), *q++ = (unsigned char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		*q++ = (unsigned char)(0xe0 | c >> 12), *q++ = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		*q++ = (unsigned char)(0x80 | (c & 0x3f));
	} else {
		*q++ = (unsigned char)(0xf0 | c >> 18), *q++ = (unsigned char)(0x80 | (c >> 12 & 0x3f));
		*q++ = (unsigned char)(0x80 | (c >> 6 & 0x3f)), *q++ = (unsigned char)(0x80 | (c & 0x3f));
	}
	*o = (char *)q;
}

/* A JSON string literal as text_json() wrote it; malloc'd (compute() owns it). */
static char *str(struct rd *r)
{
	if (lit(r, "\"") < 0)
		return NULL;
	char *s = malloc((size_t)(r->end - r->p) + 1), *o = s;
	if (!s)
		return NULL;
	while (r->p < r->end && *r->p != '"') {
		if (*r->p != '\\') {
			*o++ = *r->p++;
			continue;
		}
		if (r->end - r->p < 2)
			break;
		char c = r->p[1];
		r->p += 2;
		switch (c) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'u': {
			if (r->end - r->p < 4)
				goto bad;
			char hex[5] = { r->p[0], r->p[1], r->p[2], r->p[3], 0 };
			unsigned long u = strtoul(hex, NULL, 16);
			r->p += 4;
			if (u >= 0xd800 && u < 0xdc00 && r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u') {
				char lo[5] = { r->p[2], r->p[3], r->p[4], r->p[5], 0 };
				unsigned long l = strtoul(lo, NULL, 16);
				r->p += 6;
				u = 0x10000 + ((u - 0xd800) << 10) + (l - 0xdc00);
			}
			put_utf8(&o, u);
			break;
		}
		default: *o++ = c; break;
		}
	}
	if (lit(r, "\"") < 0)
		goto bad;
	*o = 0;
	return s;
bad:
	free(s);
	return NULL;
}

/* A list of strings, [ ... ]; malloc'd array of malloc'd strings. */
static int strs(struct rd *r, char ***v, size_t *n)
{
	*v = NULL;
	*n = 0;
	if (lit(r, "[") < 0)
		return -1;
	while (lit(r, "]") < 0) {
		if (*n && lit(r, ",") < 0)
			return -1;
		char *s = str(r);
		if (!s)
			return -1;
		char **nv = realloc(*v, (*n + 1) * sizeof *nv);
		if (!nv) {
			free(s);
			return -1;
		}
		*v = nv;
		(*v)[(*n)++] = s;
	}
	return 0;
}

static void strs_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- the engine ---- */

static int open_(void *st, const struct qa_endpoint *ep, const qa_json *settings, void **engine, char **err)
{
	(void)st;
	if (!ep->model || !*ep->model) {
		*err = H->format("endpoint '%s': the llama provider needs a model: --model PATH.gguf", ep->name);
		return -1;
	}
	double th = 0;
	if (settings)
		H->number(settings, "threads", &th);
	const char *env = getenv("QA_LLAMA_THREADS");
	if (th <= 0 && env && *env)
		th = atof(env);
	char e[512];
	le_engine *m = le_open(ep->model, (int)th, e, sizeof e);
	if (!m) {
		*err = H->format("%s", e);
		return -1;
	}
	struct eng *g = H->alloc(sizeof *g);
	g->m = m;
	*engine = g;
	return 0;
}

static void close_(void *engine)
{
	struct eng *g = engine;
	if (!g)
		return;
	le_close(g->m);
	H->free(g);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int compute(void *engine, const qa_json *rec, const struct qa_request *req, int (*stop)(void *),
    void *stop_arg, struct qa_reply *out)
{
	(void)rec;
	struct eng *g = engine;
	struct rd r = { req->body, req->body + req->body_len };
	double temp, seed, maxt;
	char **stops = NULL, **msgs = NULL, *prompt = NULL, *chat = NULL;
	size_t nstops = 0, nmsgs = 0;
	int rc = -1;
	char e[512] = "";
	if (lit(&r, "{\"temperature\":") < 0 || num(&r, &temp) < 0 || lit(&r, ",\"seed\":") < 0 ||
	    num(&r, &seed) < 0 || lit(&r, ",\"max_tokens\":") < 0 || num(&r, &maxt) < 0 ||
	    lit(&r, ",\"stop\":") < 0 || strs(&r, &stops, &nstops) < 0 || lit(&r, ",\"messages\":") < 0 ||
	    strs(&r, &msgs, &nmsgs) < 0 || lit(&r, ",\"prompt\":") < 0 ||
	    (lit(&r, "null") < 0 && !(prompt = str(&r)))) {
		out->error = H->format("the llama provider could not read its own request");
		out->error_type = "bad_request";
		goto done;
	}
	le_set_abort_fn(g->m, stop, stop_arg);
	if (!prompt) {
		struct le_msg *m = H->alloc((nmsgs / 2 + 1) * sizeof *m);
		for (size_t i = 0; i + 1 < nmsgs; i += 2)
			m[i / 2] = (struct le_msg){ msgs[i], msgs[i + 1] };
		char *c = le_chat(g->m, m, nmsgs / 2, e, sizeof e);
		H->free(m);
		if (!c) {
			out->error = H->format("%s", e);
			out->error_type = "bad_request";
			out->retry = QA_RETRY_NO;
			goto done;
		}
		chat = c;
	}
	struct le_gen gen = { .temperature = temp, .seed = (uint32_t)seed, .max_tokens = (int)maxt,
		.stop = (const char *const *)stops, .nstop = nstops, .slot = 0 };
	struct le_out o;
	double t0 = now_ms();
	int grc = le_generate(g->m, prompt ? prompt : chat, &gen, &o, e, sizeof e);
	(void)t0;
	if (grc == LE_ABORTED) {
		out->error = H->format("the decode was stopped (timeout)");
		out->error_type = "timeout";
		free(o.text);
		goto done;
	}
	if (grc != LE_OK) {
		out->error = H->format("%s", *e ? e : "the decode failed");
		out->error_type = "server";
		out->retry = QA_RETRY_NO;
		free(o.text);
		goto done;
	}
	size_t tl = o.text ? strlen(o.text) : 0;
	out->text = H->alloc(tl + 1);
	memcpy(out->text, o.text ? o.text : "", tl + 1);
	free(o.text);
	out->finish_reason = H->format("%s", o.finish_reason ? o.finish_reason : "stop");
	out->usage = H->format("{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld}",
	    o.prompt_tokens, o.completion_tokens, o.prompt_tokens + o.completion_tokens);
	rc = 0;
done:
	if (g)
		le_set_abort_fn(g->m, NULL, NULL);
	strs_free(stops, nstops);
	strs_free(msgs, nmsgs);
	free(prompt);
	free(chat);
	return rc;
}

static const struct qa_provider_ops ops = {
	QA_OPS(qa_provider_ops),
	.build = build,
	.parse = parse,
	.open = open_,
	.compute = compute,
	.close = close_,
};

static const struct qa_plugin me = { QA_PLUGIN_HEADER(QA_KIND_PROVIDER, "llama", "0.1",
    "a GGUF model run in the process through libllama (--model PATH.gguf)"),
	.provider = &ops };

QA_PLUGIN_EXPORT(&me)
