/*
 * engine.c: libllama in-process, for the llama provider.  See engine.h for
 * the contract and the positions rule.
 */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llama.h>

struct le_engine {
	struct llama_model *model;
	const struct llama_vocab *vocab;
	struct llama_context *ctx;
	int threads, n_vocab;
	uint32_t ctx_seq, ctx_n;	/* the context's shape: n_seq_max sequences of ctx_n tokens */
	volatile int *abort;
	int (*abort_fn)(void *);	/* the host's stop(): a provider's compute() polls it */
	void *abort_arg;
	struct llama_batch batch;
	int32_t batch_cap;
};

static void seterr(char *err, size_t size, const char *fmt, ...)
{
	if (!err || !size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

/* libllama talks a lot on stderr; a tool's stderr is for its own one-line errors. */
static void quiet(enum ggml_log_level level, const char *text, void *u)
{
	(void)u;
	(void)level;
	if (getenv("QA_LLAMA_LOG"))
		fputs(text, stderr);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void init(void)
{
	llama_log_set(quiet, NULL);
	llama_backend_init();
}

le_engine *le_open(const char *path, int threads, char *err, size_t errlen)
{
	pthread_once(&once, init);
	FILE *f = fopen(path, "rb");
	if (!f) {
		seterr(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	fclose(f);
	struct llama_model_params mp = llama_model_default_params();
	struct llama_model *m = llama_model_load_from_file(path, mp);
	if (!m) {
		seterr(err, errlen, "%s: libllama cannot load it as a GGUF model", path);
		return NULL;
	}
	le_engine *e = calloc(1, sizeof *e);
	if (!e) {
		llama_model_free(m);
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	e->model = m;
	e->vocab = llama_model_get_vocab(m);
	e->n_vocab = llama_vocab_n_tokens(e->vocab);
	long nc = sysconf(_SC_NPROCESSORS_ONLN);
	e->threads = threads > 0 ? threads : nc > 0 ? (int)nc : 1;
	return e;
}

void le_close(le_engine *e)
{
	if (!e)
		return;
	if (e->batch_cap)
		llama_batch_free(e->batch);
	if (e->ctx)
		llama_free(e->ctx);
	llama_model_free(e->model);
	free(e);
}

int le_vocab(const le_engine *e)
{
	return e->n_vocab;
}

static bool aborted(void *u)
{
	le_engine *e = u;
	if (e->abort_fn && e->abort_fn(e->abort_arg))
		return true;
	return e->abort && *e->abort;
}

void le_set_abort_fn(le_engine *e, int (*fn)(void *), void *arg)
{
	e->abort_fn = fn;
	e->abort_arg = arg;
}

void le_set_abort(le_engine *e, volatile int *flag)
{
	e->abort = flag;
}

/* A context of nseq sequences of n tokens each, empty. */
static int need_ctx(le_engine *e, uint32_t n, uint32_t nseq, char *err, size_t errlen)
{
	if (e->ctx && e->ctx_n >= n && e->ctx_seq >= nseq) {
		llama_memory_clear(llama_get_memory(e->ctx), true);
		return 0;
	}
	if (e->ctx)
		llama_free(e->ctx);
	struct llama_context_params cp = llama_context_default_params();
	cp.n_ctx = n * nseq;
	cp.n_batch = n * nseq;
	cp.n_seq_max = nseq;
	cp.n_threads = cp.n_threads_batch = e->threads;
	cp.abort_callback = aborted;
	cp.abort_callback_data = e;
	cp.no_perf = true;
	e->ctx = llama_init_from_model(e->model, cp);
	if (!e->ctx) {
		e->ctx_n = e->ctx_seq = 0;
		seterr(err, errlen, "libllama cannot make a context of %u sequences of %u tokens", nseq, n);
		return -1;
	}
	e->ctx_n = n;
	e->ctx_seq = nseq;
	return 0;
}

static int need_batch(le_engine *e, int32_t n)
{
	if (e->batch_cap >= n)
		return 0;
	if (e->batch_cap)
		llama_batch_free(e->batch);
	e->batch = llama_batch_init(n, 0, 1);
	e->batch_cap = n;
	return 0;
}

static void batch_add(struct llama_batch *b, int32_t tok, int32_t pos, int32_t seq, int logits)
{
	int i = b->n_tokens++;
	b->token[i] = tok;
	b->pos[i] = pos;
	b->n_seq_id[i] = 1;
	b->seq_id[i][0] = seq;
	b->logits[i] = (int8_t)logits;
}

static int decode(le_engine *e, char *err, size_t errlen)
{
	int rc = llama_decode(e->ctx, e->batch);
	if (rc == 0)
		return LE_OK;
	if (aborted(e)) {
		seterr(err, errlen, "aborted");
		return LE_ABORTED;
	}
	seterr(err, errlen, "llama_decode failed (%d)", rc);
	return LE_ERROR;
}

static int32_t *tokenize(le_engine *e, const char *text, size_t len, int bos, int special, size_t *n)
{
	int32_t cap = (int32_t)len + 2;
	int32_t *t = malloc((size_t)cap * sizeof *t);
	if (!t)
		return NULL;
	int32_t k = llama_tokenize(e->vocab, text, (int32_t)len, t, cap, bos, special);
	if (k < 0) {
		cap = -k;
		int32_t *u = realloc(t, (size_t)cap * sizeof *t);
		if (!u) {
			free(t);
			return NULL;
		}
		t = u;
		k = llama_tokenize(e->vocab, text, (int32_t)len, t, cap, bos, special);
	}
	if (k < 0) {
		free(t);
		return NULL;
	}
	*n = (size_t)k;
	return t;
}

int32_t *le_tokenize(le_engine *e, const char *text, size_t len, int bos, size_t *n)
{
	/* As llama-perplexity does: special tokens in the text are plain text. */
	return tokenize(e, text, len, bos, 0, n);
}

size_t le_piece(le_engine *e, int32_t tok, char *buf, size_t size)
{
	int32_t k = llama_token_to_piece(e->vocab, tok, buf, (int32_t)size - 1, 0, false);
	if (k < 0)
		k = 0;
	buf[k] = 0;
	return (size_t)k;
}

char *le_chat(le_engine *e, const struct le_msg *msg, size_t n, char *err, size_t errlen)
{
	const char *tmpl = llama_model_chat_template(e->model, NULL);
	if (!tmpl) {
		seterr(err, errlen, "the model has no chat template (tokenizer.chat_template): send a prompt");
		return NULL;
	}
	struct llama_chat_message *cm = calloc(n ? n : 1, sizeof *cm);
	size_t total = 64;
	for (size_t i = 0; i < n; i++) {
		cm[i].role = msg[i].role;
		cm[i].content = msg[i].content;
		total += strlen(msg[i].content) + strlen(msg[i].role) + 32;
	}
	char *buf = NULL;
	int32_t k = -1;
	for (int tries = 0; tries < 2; tries++) {
		free(buf);
		buf = malloc(2 * total + 1);
		k = llama_chat_apply_template(tmpl, cm, n, true, buf, (int32_t)(2 * total));
		if (k < 0 || (size_t)k < 2 * total)
			break;
		total = (size_t)k;
	}
	free(cm);
	if (k < 0) {
		free(buf);
		seterr(err, errlen, "libllama does not know the model's chat template");
		return NULL;
	}
	buf[k] = 0;
	return buf;
}

/* The first stop string in text[from..], or NULL. */
static char *find_stop(char *text, size_t from, const struct le_gen *g)
{
	char *best = NULL;
	for (size_t i = 0; i < g->nstop; i++) {
		if (!g->stop[i][0])
			continue;
		char *p = strstr(text + from, g->stop[i]);
		if (p && (!best || p < best))
			best = p;
	}
	return best;
}

/* One sequence of a batched generation. */
struct seq {
	int32_t pos, idx;	/* its next position; the batch index of its logits */
	int live;
	struct llama_sampler *smp;
	char *text;
	size_t len, cap, maxstop;
};

struct many {
	const struct le_gen *g;
	struct seq *s;
	size_t n;
};

/* The abort callback of a batched decode: every live sequence's caller has stopped. */
static int all_stopped(void *u)
{
	const struct many *m = u;
	for (size_t i = 0; i < m->n; i++)
		if (m->s[i].live && !(m->g[i].cancel && m->g[i].cancel(m->g[i].cancel_arg)))
			return 0;
	return 1;
}

static void gen_fail(struct le_out *o, int rc, const char *fmt, const char *arg)
{
	o->rc = rc;
	snprintf(o->err, sizeof o->err, fmt, arg);
}

/* Sequence i's next token t: 1 when the sequence goes on (t is added to the batch), 0 when it ended. */
static int gen_step(le_engine *e, struct seq *s, const struct le_gen *g, struct le_out *o, int32_t seq,
    llama_token t, uint32_t nctx)
{
	if (llama_vocab_is_eog(e->vocab, t)) {
		o->finish_reason = "stop";
		return 0;
	}
	o->completion_tokens++;
	char piece[256];
	size_t k = le_piece(e, t, piece, sizeof piece);
	if (s->len + k + 1 > s->cap) {
		s->cap = 2 * (s->len + k + 1);
		s->text = realloc(s->text, s->cap);
	}
	memcpy(s->text + s->len, piece, k + 1);
	size_t from = s->len > s->maxstop ? s->len - s->maxstop : 0;
	s->len += k;
	char *st = find_stop(s->text, from, g);
	if (st) {
		*st = 0;
		s->len = (size_t)(st - s->text);
		o->finish_reason = "stop";
		return 0;
	}
	if ((g->max_tokens > 0 && o->completion_tokens >= g->max_tokens) || (uint32_t)s->pos + 1 >= nctx)
		return 0;
	batch_add(&e->batch, t, s->pos++, seq, 1);
	s->idx = e->batch.n_tokens - 1;
	return 1;
}

int le_generate_many(le_engine *e, size_t n, const char *const *prompt, const struct le_gen *g, struct le_out *out)
{
	uint32_t nctx = (uint32_t)llama_model_n_ctx_train(e->model);
	if (nctx == 0 || nctx > 8192)
		nctx = 8192;
	struct seq *s = calloc(n ? n : 1, sizeof *s);
	int32_t **pt = calloc(n ? n : 1, sizeof *pt);
	size_t *np = calloc(n ? n : 1, sizeof *np), total = 0, live = 0;
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof out[i]);
		out[i].finish_reason = "length";
		/* Special tokens parsed, as llama-server does: chat templates write them as text. */
		if (!(pt[i] = tokenize(e, prompt[i], strlen(prompt[i]), 1, 1, &np[i]))) {
			gen_fail(&out[i], LE_ERROR, "cannot tokenize the prompt%s", "");
		} else if (np[i] == 0 || np[i] >= nctx) {
			out[i].rc = LE_ERROR;
			snprintf(out[i].err, sizeof out[i].err, "the prompt has %zu tokens, the context %u", np[i], nctx);
		} else {
			s[i].live = 1;
			total += np[i];
			live++;
		}
	}
	char err[200] = "";
	if (live && need_ctx(e, nctx, (uint32_t)n, err, sizeof err) < 0) {
		for (size_t i = 0; i < n; i++)
			if (s[i].live)
				gen_fail(&out[i], LE_ERROR, "%s", err);
		live = 0;
	}
	if (live) {
		/* Every prompt in one batch, one sequence each; then one token per live sequence per decode. */
		need_batch(e, (int32_t)(total > n ? total : n));
		e->batch.n_tokens = 0;
		for (size_t i = 0; i < n; i++) {
			if (!s[i].live)
				continue;
			for (size_t k = 0; k < np[i]; k++)
				batch_add(&e->batch, pt[i][k], (int32_t)k, (int32_t)i, k + 1 == np[i]);
			s[i].idx = e->batch.n_tokens - 1;
			s[i].pos = (int32_t)np[i];
			out[i].prompt_tokens = (long)np[i];
			s[i].smp = llama_sampler_chain_init(llama_sampler_chain_default_params());
			if (g[i].temperature > 0) {
				llama_sampler_chain_add(s[i].smp, llama_sampler_init_temp((float)g[i].temperature));
				llama_sampler_chain_add(s[i].smp, llama_sampler_init_dist(g[i].seed));
			} else {
				llama_sampler_chain_add(s[i].smp, llama_sampler_init_greedy());
			}
			for (size_t k = 0; k < g[i].nstop; k++)
				if (strlen(g[i].stop[k]) > s[i].maxstop)
					s[i].maxstop = strlen(g[i].stop[k]);
			s[i].cap = 256;
			s[i].text = calloc(1, s[i].cap);
		}
	}
	/* Each caller's stop() ends its own sequence; a decode stops when all of them have. */
	int (*fn)(void *) = e->abort_fn;
	void *arg = e->abort_arg;
	struct many m = { g, s, n };
	if (n > 1 || g[0].cancel)
		le_set_abort_fn(e, all_stopped, &m);
	while (live) {
		int rc = decode(e, err, sizeof err);
		if (rc != LE_OK) {
			for (size_t i = 0; i < n; i++)
				if (s[i].live)
					gen_fail(&out[i], rc, "%s", err);
			break;
		}
		e->batch.n_tokens = 0;
		for (size_t i = 0; i < n; i++) {
			if (!s[i].live)
				continue;
			if (g[i].cancel && g[i].cancel(g[i].cancel_arg)) {
				gen_fail(&out[i], LE_ABORTED, "%s", "aborted");
				s[i].live = 0;
				continue;
			}
			llama_token t = llama_sampler_sample(s[i].smp, e->ctx, s[i].idx);
			s[i].live = gen_step(e, &s[i], &g[i], &out[i], (int32_t)i, t, nctx);
		}
		if (!e->batch.n_tokens)
			break;
	}
	le_set_abort_fn(e, fn, arg);
	for (size_t i = 0; i < n; i++) {
		if (s[i].smp)
			llama_sampler_free(s[i].smp);
		if (out[i].rc == LE_OK)
			out[i].text = s[i].text;
		else
			free(s[i].text);
		free(pt[i]);
	}
	free(s);
	free(pt);
	free(np);
	return LE_OK;
}

int le_generate(le_engine *e, const char *prompt, const struct le_gen *g, struct le_out *out, char *err,
    size_t errlen)
{
	le_generate_many(e, 1, &prompt, g, out);
	if (out->rc != LE_OK)
		seterr(err, errlen, "%s", out->err);
	return out->rc;
}

/* A window: src[off .. off+len) with its first token BOS when bos; positions p0 .. len-2 scored. */
struct win {
	size_t off;
	int32_t len, p0;
};

/* The log-sum-exp of v[0..n), summed as llama-perplexity sums it (float exp, double sum). */
static double logsumexp(const float *v, int n, float *max)
{
	float m = v[0];
	for (int i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	double s = 0;
	for (int i = 0; i < n; i++)
		s += expf(v[i] - m);
	*max = m;
	return m + log(s);
}

static int32_t argmax(const float *v, int n)
{
	int32_t b = 0;
	for (int i = 1; i < n; i++)
		if (v[i] > v[b])
			b = i;
	return b;
}

/* Scores a group of windows (already in e->batch and decoded in both models). */
static int score_group(le_engine *e, le_engine *base, const int32_t *tok, const struct win *w, int nw,
    le_pos_fn fn, void *u)
{
	int V = e->n_vocab;
	int32_t idx = 0;
	for (int k = 0; k < nw; k++) {
		for (int32_t p = 0; p < w[k].len; p++, idx++) {
			if (p < w[k].p0 || p >= w[k].len - 1)
				continue;
			struct le_pos r;
			r.index = w[k].off + (size_t)p + 1;
			r.token = tok[r.index];
			r.logits = llama_get_logits_ith(e->ctx, idx);
			float mq;
			r.logz = logsumexp(r.logits, V, &mq);
			r.lp = r.logits[r.token] - r.logz;
			r.top = argmax(r.logits, V);
			r.lp_base = NAN;
			r.kld = NAN;
			r.top_base = -1;
			if (base) {
				const float *zb = llama_get_logits_ith(base->ctx, idx);
				float mb;
				double s = 0, d = 0;
				mb = zb[0];
				for (int i = 1; i < V; i++)
					if (zb[i] > mb)
						mb = zb[i];
				for (int i = 0; i < V; i++) {
					double x = expf(zb[i] - mb);
					s += x;
					d += x * ((double)zb[i] - r.logits[i]);
				}
				double lzb = mb + log(s);
				r.lp_base = zb[r.token] - lzb;
				/* KL(b||q) = sum p_b (z_b - z_q) - logZ_b + logZ_q */
				r.kld = d / s - lzb + r.logz;
				if (r.kld < 0)
					r.kld = 0;
				r.top_base = argmax(zb, V);
			}
			if (fn(u, &r))
				return 1;
		}
	}
	return 0;
}

int le_score(le_engine *e, le_engine *base, const int32_t *tok, size_t n, int ctx, int stride, le_pos_fn fn,
    void *u, char *err, size_t errlen)
{
	if (ctx < 2 || (stride && (stride < 1 || stride >= ctx))) {
		seterr(err, errlen, "--context %d --stride %d: need a context of 2 or more and 0 < stride < context",
		    ctx, stride);
		return LE_ERROR;
	}
	if (base && base->n_vocab != e->n_vocab) {
		seterr(err, errlen, "the base model's vocabulary (%d) is not the model's (%d)", base->n_vocab,
		    e->n_vocab);
		return LE_ERROR;
	}
	/* As llama-perplexity: as many windows per decode as fit in 2048 tokens. */
	int nseq = ctx >= 2048 ? 1 : 2048 / ctx;
	if ((size_t)nseq > llama_max_parallel_sequences())
		nseq = (int)llama_max_parallel_sequences();
	if (need_ctx(e, (uint32_t)ctx, (uint32_t)nseq, err, errlen) ||
	    (base && need_ctx(base, (uint32_t)ctx, (uint32_t)nseq, err, errlen)))
		return LE_ERROR;
	need_batch(e, ctx * nseq);
	int bos = llama_vocab_get_add_bos(e->vocab);
	llama_token bostok = llama_vocab_bos(e->vocab);
	struct win *w = calloc((size_t)nseq, sizeof *w);
	size_t off = 0, done = 1;
	int last = 0, rc = LE_OK;
	while (!last) {
		int nw = 0;
		e->batch.n_tokens = 0;
		while (nw < nseq && !last) {
			struct win *x = &w[nw];
			if (!stride) {
				if (off + (size_t)ctx > n) {
					last = 1;
					break;
				}
				x->off = off;
				x->len = ctx;
				x->p0 = ctx / 2;
				off += (size_t)ctx;
			} else {
				if (done >= n) {
					last = 1;
					break;
				}
				x->off = off;
				x->len = n - off < (size_t)ctx ? (int32_t)(n - off) : ctx;
				x->p0 = (int32_t)(done - off - 1);
				done = off + (size_t)x->len;
				off += (size_t)stride;
			}
			for (int32_t p = 0; p < x->len; p++)
				batch_add(&e->batch, p == 0 && bos ? bostok : tok[x->off + (size_t)p], p, nw,
				    p >= x->p0 && p < x->len - 1);
			nw++;
		}
		if (!nw)
			break;
		llama_memory_clear(llama_get_memory(e->ctx), true);
		if ((rc = decode(e, err, errlen)) != LE_OK)
			break;
		if (base) {
			llama_memory_clear(llama_get_memory(base->ctx), true);
			int brc = llama_decode(base->ctx, e->batch);
			if (brc) {
				rc = aborted(base) || aborted(e) ? LE_ABORTED : LE_ERROR;
				seterr(err, errlen, rc == LE_ABORTED ? "aborted" : "llama_decode of the base model failed (%d)",
				    brc);
				break;
			}
		}
		if (score_group(e, base, tok, w, nw, fn, u))
			break;
	}
	free(w);
	return rc;
}

int le_sum_add(void *sum, const struct le_pos *p)
{
	struct le_sum *s = sum;
	s->n++;
	s->nll -= p->lp;
	s->nll2 += p->lp * p->lp;
	if (!isnan(p->lp_base)) {
		s->nll_base -= p->lp_base;
		s->nll_base2 += p->lp_base * p->lp_base;
		s->kld += p->kld;
		s->kld2 += p->kld * p->kld;
		double dp = exp(p->lp) - exp(p->lp_base);
		s->dp += dp;
		s->dp2 += dp * dp;
		s->same_top += p->top == p->top_base;
	}
	return 0;
}
