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

#include <qa/plugin.h>

#include "engine.h"

QA_PLUGIN_HOST;

struct eng {
	le_engine *m, *base;	/* base: --kl-base, or NULL */
	int ctx, stride;	/* --context, --stride: 0 when not given */
	char *base_path;
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
	int echo = H->boolean(ep->params, "echo") == 1;
	double k = 0;
	if (H->type(ep->params, "logprobs") == QA_NUMBER)
		H->number(ep->params, "logprobs", &k);
	else if (H->boolean(ep->params, "logprobs") == 1)
		k = 1;
	H->text_printf(&b, ",\"echo\":%d,\"logprobs\":%.0f", echo, k < 0 ? 0 : k);
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
	char e[512];
	le_engine *m = le_open(ep->model, (int)th, e, sizeof e);
	if (!m) {
		*err = H->format("%s", e);
		return -1;
	}
	struct eng *g = H->alloc(sizeof *g);
	g->m = m;
	g->base = NULL;
	g->base_path = NULL;
	double v = 0;
	g->ctx = settings && H->number(settings, "context", &v) == 0 ? (int)v : 0;
	v = 0;
	g->stride = settings && H->number(settings, "stride", &v) == 0 ? (int)v : 0;
	const char *kb = settings ? H->string(settings, "kl_base", NULL) : NULL;
	if (kb && *kb) {
		g->base = le_open(kb, (int)th, e, sizeof e);
		if (!g->base) {
			*err = H->format("--kl-base: %s", e);
			le_close(m);
			H->free(g);
			return -1;
		}
		if (le_vocab(g->base) != le_vocab(m)) {
			*err = H->format("--kl-base %s has a vocabulary of %d tokens, the model %s one of %d: drift "
			    "needs the same vocabulary", kb, le_vocab(g->base), ep->model, le_vocab(m));
			le_close(g->base);
			le_close(m);
			H->free(g);
			return -1;
		}
		g->base_path = H->format("%s", kb);
	}
	*engine = g;
	return 0;
}

static void close_(void *engine)
{
	struct eng *g = engine;
	if (!g)
		return;
	le_close(g->m);
	if (g->base)
		le_close(g->base);
	H->free(g->base_path);
	H->free(g);
}

/* ---- teacher forcing: the prompt's own logprobs, OpenAI's completions layout ---- */

struct lp {
	struct eng *g;
	const char *prompt;
	long k;
	struct qa_text toks, lps, tops;
	struct qa_text dlp, kld, same;	/* with a base model */
	long n;
	char *piece;
	size_t piece_cap;
	int32_t *best;
	double *bestv;
};

static const char *piece(struct lp *l, int32_t t)
{
	if (!l->piece) {
		l->piece_cap = 256;
		l->piece = H->alloc(l->piece_cap);
	}
	size_t n = le_piece(l->g->m, t, l->piece, l->piece_cap);
	if (n + 1 > l->piece_cap) {
		H->free(l->piece);
		l->piece_cap = n + 64;
		l->piece = H->alloc(l->piece_cap);
		le_piece(l->g->m, t, l->piece, l->piece_cap);
	}
	return l->piece;
}

/* One scored position: its token, logprob, and the k likeliest tokens (a string two tokens spell keeps the likelier). */
static int on_pos(void *u, const struct le_pos *p)
{
	struct lp *l = u;
	const char *sep = l->n ? "," : "";
	const char *s = piece(l, p->token);
	/* SentencePiece's space before the first word is not in the text: the tokens spell the prompt */
	if (p->index == 1 && *s == ' ' && *l->prompt != ' ')
		s++;
	H->text_add(&l->toks, sep, strlen(sep));
	H->text_json(&l->toks, s, strlen(s));
	H->text_printf(&l->lps, "%s%.9g", sep, p->lp);
	if (l->g->base) {
		H->text_printf(&l->dlp, "%s%.9g", sep, p->lp_base);
		H->text_printf(&l->kld, "%s%.9g", sep, p->kld);
		H->text_printf(&l->same, "%s%s", sep, p->top == p->top_base ? "true" : "false");
	}
	if (l->k > 0) {
		int nv = le_vocab(l->g->m);
		long m = 0;
		for (int t = 0; t < nv; t++) {
			double v = p->logits[t];
			if (m == l->k && v <= l->bestv[m - 1])
				continue;
			long j = m < l->k ? m++ : m - 1;
			while (j > 0 && l->bestv[j - 1] < v) {
				l->best[j] = l->best[j - 1];
				l->bestv[j] = l->bestv[j - 1];
				j--;
			}
			l->best[j] = t;
			l->bestv[j] = v;
		}
		H->text_printf(&l->tops, "%s{", sep);
		struct qa_text seen = { 0 };
		int first = 1;
		for (long j = 0; j < m; j++) {
			s = piece(l, l->best[j]);
			struct qa_text key = { 0 };
			H->text_json(&key, s, strlen(s));
			/* the list is likeliest first: a later token with the same string is dropped */
			int dup = 0;
			for (const char *q = seen.p; q && (q = strstr(q, key.p)); q += key.len)
				if ((q == seen.p || q[-1] == '\n') && q[key.len] == '\n') {
					dup = 1;
					break;
				}
			if (!dup) {
				H->text_printf(&l->tops, "%s%s:%.9g", first ? "" : ",", key.p, l->bestv[j] - p->logz);
				H->text_add(&seen, key.p, key.len);
				H->text_add(&seen, "\n", 1);
				first = 0;
			}
			H->free(key.p);
		}
		H->free(seen.p);
		H->text_add(&l->tops, "}", 1);
	}
	l->n++;
	return 0;
}

static int score(struct eng *g, const char *prompt, long k, struct qa_reply *out)
{
	size_t n = 0;
	int32_t *tok = le_tokenize(g->m, prompt, strlen(prompt), 1, &n);
	if (!tok || n < 2) {
		free(tok);
		out->error = H->format("the prompt has no token to score");
		out->error_type = "bad_request";
		out->retry = QA_RETRY_NO;
		return -1;
	}
	int nv = le_vocab(g->m);
	struct lp l = { .g = g, .prompt = prompt, .k = k > nv ? nv : k };
	l.best = H->alloc(((size_t)l.k + 1) * sizeof *l.best);
	l.bestv = H->alloc(((size_t)l.k + 1) * sizeof *l.bestv);
	char e[512] = "";
	/*
	 * Without --context: one window of the whole prompt, every token after
	 * BOS scored once.  --context N alone: llama-perplexity's positions;
	 * with --stride S: overlapping windows (engine.h states both rules).
	 * The positions come in order, so tokens[i] is the i-th scored one.
	 */
	int ctx = g->ctx ? g->ctx : (int)n, stride = g->ctx ? g->stride : (int)n - 1;
	int rc = le_score(g->m, g->base, tok, n, ctx, stride, on_pos, &l, e, sizeof e);
	if (rc == LE_OK) {
		out->logprobs = H->format("{\"tokens\":[%s],\"token_logprobs\":[%s],\"top_logprobs\":%s%s%s}",
		    l.toks.p ? l.toks.p : "", l.lps.p ? l.lps.p : "", l.k > 0 ? "[" : "null",
		    l.k > 0 && l.tops.p ? l.tops.p : "", l.k > 0 ? "]" : "");
		if (g->base) {
			struct qa_text d = { 0 };
			H->text_printf(&d, "{\"exact\":true,\"base\":");
			H->text_json(&d, g->base_path, strlen(g->base_path));
			H->text_printf(&d, ",\"token_logprobs\":[%s],\"kld\":[%s],\"same_top\":[%s]}",
			    l.dlp.p ? l.dlp.p : "", l.kld.p ? l.kld.p : "", l.same.p ? l.same.p : "");
			out->drift = d.p;
		}
		out->text = H->format("%s", prompt);
		out->finish_reason = H->format("length");
		out->usage = H->format("{\"prompt_tokens\":%zu,\"completion_tokens\":0,\"total_tokens\":%zu}", n, n);
	} else if (rc == LE_ABORTED) {
		out->error = H->format("the decode was stopped (timeout)");
		out->error_type = "timeout";
	} else {
		out->error = H->format("%s", *e ? e : "the decode failed");
		out->error_type = "server";
		out->retry = QA_RETRY_NO;
	}
	H->free(l.toks.p);
	H->free(l.lps.p);
	H->free(l.tops.p);
	H->free(l.dlp.p);
	H->free(l.kld.p);
	H->free(l.same.p);
	H->free(l.piece);
	H->free(l.best);
	H->free(l.bestv);
	free(tok);
	return rc == LE_OK ? 0 : -1;
}

/* One request read back from build()'s body: a generation, or a scoring (echo). */
struct job {
	double temp, seed, maxt, echo, k;
	char **stops, **msgs, *prompt, *chat;
	size_t nstops, nmsgs;
};

static void job_free(struct job *j)
{
	strs_free(j->stops, j->nstops);
	strs_free(j->msgs, j->nmsgs);
	free(j->prompt);
	free(j->chat);
}

/* Reads req into j, the chat applied to messages; -1 with out->error when it cannot. */
static int job_read(struct eng *g, const struct qa_request *req, struct job *j, struct qa_reply *out)
{
	struct rd r = { req->body, req->body + req->body_len };
	char e[512] = "";
	memset(j, 0, sizeof *j);
	if (lit(&r, "{\"temperature\":") < 0 || num(&r, &j->temp) < 0 || lit(&r, ",\"seed\":") < 0 ||
	    num(&r, &j->seed) < 0 || lit(&r, ",\"max_tokens\":") < 0 || num(&r, &j->maxt) < 0 ||
	    lit(&r, ",\"echo\":") < 0 || num(&r, &j->echo) < 0 || lit(&r, ",\"logprobs\":") < 0 ||
	    num(&r, &j->k) < 0 || lit(&r, ",\"stop\":") < 0 || strs(&r, &j->stops, &j->nstops) < 0 ||
	    lit(&r, ",\"messages\":") < 0 || strs(&r, &j->msgs, &j->nmsgs) < 0 || lit(&r, ",\"prompt\":") < 0 ||
	    (lit(&r, "null") < 0 && !(j->prompt = str(&r)))) {
		out->error = H->format("the llama provider could not read its own request");
		out->error_type = "bad_request";
		return -1;
	}
	if (j->echo && !j->prompt) {
		out->error = H->format("--mode logprobs scores a prompt; this record has messages");
		out->error_type = "bad_request";
		out->retry = QA_RETRY_NO;
		return -1;
	}
	if (!j->echo && !j->prompt) {
		struct le_msg *m = H->alloc((j->nmsgs / 2 + 1) * sizeof *m);
		for (size_t i = 0; i + 1 < j->nmsgs; i += 2)
			m[i / 2] = (struct le_msg){ j->msgs[i], j->msgs[i + 1] };
		j->chat = le_chat(g->m, m, j->nmsgs / 2, e, sizeof e);
		H->free(m);
		if (!j->chat) {
			out->error = H->format("%s", e);
			out->error_type = "bad_request";
			out->retry = QA_RETRY_NO;
			return -1;
		}
	}
	return 0;
}

static struct le_gen job_gen(const struct job *j, int (*stop)(void *), void *stop_arg)
{
	return (struct le_gen){ .temperature = j->temp, .seed = (uint32_t)j->seed, .max_tokens = (int)j->maxt,
		.stop = (const char *const *)j->stops, .nstop = j->nstops, .cancel = stop, .cancel_arg = stop_arg };
}

/* A generation's outcome as the record's answer. */
static int gen_reply(struct le_out *o, struct qa_reply *out)
{
	if (o->rc != LE_OK) {
		out->error = H->format("%s", o->rc == LE_ABORTED ? "the decode was stopped (timeout)" :
		    *o->err ? o->err : "the decode failed");
		out->error_type = o->rc == LE_ABORTED ? "timeout" : "server";
		if (o->rc != LE_ABORTED)
			out->retry = QA_RETRY_NO;
		free(o->text);
		return -1;
	}
	size_t tl = o->text ? strlen(o->text) : 0;
	out->text = H->alloc(tl + 1);
	memcpy(out->text, o->text ? o->text : "", tl + 1);
	free(o->text);
	out->finish_reason = H->format("%s", o->finish_reason ? o->finish_reason : "stop");
	out->usage = H->format("{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld}",
	    o->prompt_tokens, o->completion_tokens, o->prompt_tokens + o->completion_tokens);
	return 0;
}

static int compute(void *engine, const qa_json *rec, const struct qa_request *req, int (*stop)(void *),
    void *stop_arg, struct qa_reply *out)
{
	(void)rec;
	struct eng *g = engine;
	struct job j;
	int rc = -1;
	if (job_read(g, req, &j, out) < 0)
		goto done;
	le_set_abort_fn(g->m, stop, stop_arg);
	if (g->base)
		le_set_abort_fn(g->base, stop, stop_arg);
	if (j.echo) {
		rc = score(g, j.prompt, (long)j.k, out);
	} else {
		struct le_gen gen = job_gen(&j, NULL, NULL);
		struct le_out o;
		const char *p = j.prompt ? j.prompt : j.chat;
		le_generate_many(g->m, 1, &p, &gen, &o);
		rc = gen_reply(&o, out);
	}
	le_set_abort_fn(g->m, NULL, NULL);
	if (g->base)
		le_set_abort_fn(g->base, NULL, NULL);
done:
	job_free(&j);
	return rc;
}

/*
 * Several requests at once: the generations share one batched decode per
 * token (one sequence each), scorings and bad requests are answered one by
 * one as compute() answers them.
 */
static void compute_many(void *engine, size_t n, const qa_json *const *recs, const struct qa_request *const *reqs,
    int (*stop)(void *), void *const *stop_args, struct qa_reply *const *out)
{
	struct eng *g = engine;
	struct job *j = H->alloc(n * sizeof *j);
	struct le_gen *gen = H->alloc(n * sizeof *gen);
	struct le_out *o = H->alloc(n * sizeof *o);
	const char **prompt = H->alloc(n * sizeof *prompt);
	size_t *ix = H->alloc(n * sizeof *ix), ng = 0;
	for (size_t i = 0; i < n; i++) {
		if (job_read(g, reqs[i], &j[i], out[i]) < 0)
			continue;
		if (j[i].echo) {
			compute(engine, recs[i], reqs[i], stop, stop_args[i], out[i]);
			continue;
		}
		gen[ng] = job_gen(&j[i], stop, stop_args[i]);
		prompt[ng] = j[i].prompt ? j[i].prompt : j[i].chat;
		ix[ng++] = i;
	}
	if (ng)
		le_generate_many(g->m, ng, prompt, gen, o);
	for (size_t k = 0; k < ng; k++)
		gen_reply(&o[k], out[ix[k]]);
	for (size_t i = 0; i < n; i++)
		job_free(&j[i]);
	H->free(j);
	H->free(gen);
	H->free(o);
	H->free(prompt);
	H->free(ix);
}

static const struct qa_provider_ops ops = {
	QA_OPS(qa_provider_ops),
	.build = build,
	.parse = parse,
	.open = open_,
	.compute = compute,
	.close = close_,
	.compute_many = compute_many,
};

static const struct qa_plugin me = { QA_PLUGIN_HEADER(QA_KIND_PROVIDER, "llama", "0.1",
    "a GGUF model run in the process through libllama (--model PATH.gguf)"),
	.provider = &ops };

QA_PLUGIN_EXPORT(&me)
