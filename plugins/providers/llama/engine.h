/*
 * engine.h: a GGUF model run in-process through libllama, for the llama
 * provider (issue 17).  No qa types: the provider plugin turns what this
 * returns into records.  Not thread-safe per engine: one thread (qa-send's
 * worker) calls it; le_abort() alone may be called from any thread.
 */
#ifndef QA_LLAMA_ENGINE_H
#define QA_LLAMA_ENGINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct le_engine le_engine;

/* Loads PATH; threads <= 0 means the online cores.  NULL with a one-line reason in err. */
le_engine *le_open(const char *path, int threads, char *err, size_t errlen);
void le_close(le_engine *e);
int le_vocab(const le_engine *e);	/* the vocabulary's size */

/*
 * Abort: while *flag is nonzero every decode of e stops at the next graph
 * node (llama_set_abort_callback) and the call returns LE_ABORTED.  The flag
 * is the caller's (e.g. set by qa-send's --timeout); NULL removes it.
 */
void le_set_abort(le_engine *e, volatile int *flag);
/* The same with a function (a provider's stop()); NULL removes it. */
void le_set_abort_fn(le_engine *e, int (*fn)(void *), void *arg);
enum { LE_OK = 0, LE_ERROR = -1, LE_ABORTED = -2 };

/* The tokens of text (BOS first when the model asks for it and bos is set); caller frees. */
int32_t *le_tokenize(le_engine *e, const char *text, size_t len, int bos, size_t *n);
/* One token's text into buf (NUL-terminated, at most size-1 bytes); its length. */
size_t le_piece(le_engine *e, int32_t tok, char *buf, size_t size);

/* A chat turned into a prompt by the GGUF's own template (tokenizer.chat_template); caller frees. */
struct le_msg {
	const char *role, *content;
};
char *le_chat(le_engine *e, const struct le_msg *msg, size_t n, char *err, size_t errlen);

/* Generation: temperature 0 is greedy; stop strings end the text before them. */
struct le_gen {
	double temperature;
	uint32_t seed;
	int max_tokens;		/* <= 0: up to the context */
	const char *const *stop;
	size_t nstop;
	int (*cancel)(void *);	/* NULL, or the caller's: nonzero ends this sequence with LE_ABORTED */
	void *cancel_arg;
};
struct le_out {
	char *text;		/* caller frees */
	long prompt_tokens, completion_tokens;
	const char *finish_reason;	/* "stop" or "length" */
	int rc;			/* LE_OK, or LE_ERROR / LE_ABORTED with err */
	char err[200];
};
int le_generate(le_engine *e, const char *prompt, const struct le_gen *g, struct le_out *out, char *err,
    size_t errlen);
/*
 * n generations at once, one sequence each (the -c slots): the prompts go
 * to libllama in one batch, then every live sequence's next token in one
 * decode, until each ends.  out[i].rc says how each went; the call itself
 * returns LE_OK.
 */
int le_generate_many(le_engine *e, size_t n, const char *const *prompt, const struct le_gen *g, struct le_out *out);

/*
 * Teacher forcing.  The positions rule (what the man page states):
 *   stride 0 (--context N): llama-perplexity's default.  tok (BOS first)
 *     is cut into len(tok)/N non-overlapping chunks of N tokens; a chunk's
 *     first token is replaced by BOS; in each chunk the tokens at chunk
 *     positions N/2+1 .. N-1 are scored (the second half, each with at
 *     least N/2 tokens of context).  The rest of the text is not scored.
 *   stride S (0 < S < N): windows of N tokens of tok start at tok
 *     indices 0, S, 2S, ..., each with its first token replaced by BOS
 *     (when the model adds one); the first window scores all its tokens
 *     after BOS, each later one only the tokens no earlier window scored,
 *     so every token after tok[0] is scored once, with at least N-S
 *     tokens (BOS included) before it.
 * Windows go to libllama several at a time, one sequence each, one decode
 * per batch.  With base, the base model decodes the same batch and each
 * scored position carries the exact drift.
 */
struct le_pos {
	size_t index;		/* the token's index in tok */
	int32_t token;
	double lp;		/* its log-probability under the model */
	const float *logits;	/* the model's raw logits (vocab of them), valid during the call */
	double logz;		/* their log-sum-exp: logprob of t = logits[t] - logz */
	int32_t top;		/* the model's most likely token */
	/* with a base model, else NAN / -1 */
	double lp_base;
	double kld;		/* KL(base || model) over the whole vocabulary, nats */
	int32_t top_base;
};
typedef int (*le_pos_fn)(void *u, const struct le_pos *p);	/* nonzero stops */
int le_score(le_engine *e, le_engine *base, const int32_t *tok, size_t n, int ctx, int stride, le_pos_fn fn,
    void *u, char *err, size_t errlen);

/* A running summary of le_pos values in constant memory, for drivers and benches. */
struct le_sum {
	long n, same_top;
	double nll, nll2, nll_base, nll_base2, kld, kld2, dp, dp2;
};
int le_sum_add(void *sum, const struct le_pos *p);	/* an le_pos_fn */

#endif
