/*
 * perplexity: token perplexity from the logprobs a provider returned, in
 * the OpenAI completions layout {tokens, token_logprobs, top_logprobs}
 * (qa-send -p logprobs=N -p echo=true asks for the prompt's).
 *
 * score = exp(-sum_logprob / tokens), over the non-null token_logprobs (the
 * first token of an echoed prompt has none).  It is the one score that is
 * not 0..1: 1 is a model certain of every token, higher is worse.  It needs
 * neither an answer nor a reference.
 *
 * details: sum_logprob, tokens (N scored), bytes and words (UTF-8 bytes and
 * whitespace-separated words of the scored tokens' text: the concatenation
 * of the tokens whose logprob is not null; null without a token for every
 * logprob), ppl, mean_nll.  qa-score
 * --summary turns these into the corpus figures lm-eval reports.
 *
 * A record without logprobs, or with none scored, is an error (not an
 * invalid 0: a perplexity of 0 would be a lie, and it would drag the mean).
 *
 * options: path (default "response.logprobs"): the object holding
 * token_logprobs and tokens.
 */
#include <math.h>	/* isfinite, INFINITY, NAN: macros; no libm, as mock.c */
#include <stdio.h>
#include <string.h>

#include <qa/plugin.h>

QA_PLUGIN_HOST;

struct state {
	char *path;
};

static void fini(void *st)
{
	struct state *s = st;
	if (!s)
		return;
	H->free(s->path);
	H->free(s);
}

static int init(const qa_json *opts, void **state, char **err)
{
	struct state *s = H->alloc(sizeof *s);
	memset(s, 0, sizeof *s);
	*state = s;
	for (size_t i = 0; i < H->count(opts, ""); i++) {
		const char *k = H->key(opts, "", i);
		if (k && strcmp(k, "path") != 0) {
			*err = H->format("unknown option %s (perplexity takes path)", k);
			return -1;
		}
	}
	const char *p = "response.logprobs";
	if (H->type(opts, "path") != QA_ABSENT) {
		size_t n;
		p = H->string(opts, "path", &n);
		if (!p || !n) {
			*err = H->format("path must be a non-empty string (a field such as response.logprobs)");
			return -1;
		}
	}
	s->path = H->format("%s", p);
	return 0;
}

/*
 * e^x without libm (a plugin links nothing the host may not have loaded):
 * x = k ln2 + r, |r| <= ln2 / 2; e^r by its series; 2^k by squaring.
 */
static double p_exp(double x)
{
	if (x != x)
		return x;
	if (x < -745)
		return 0;
	if (x > 710)
		return INFINITY;
	const double ln2_hi = 0.693147180369123816490, ln2_lo = 1.90821492927058770002e-10;
	long k = (long)(x / (ln2_hi + ln2_lo) + (x < 0 ? -0.5 : 0.5));
	double r = (x - (double)k * ln2_hi) - (double)k * ln2_lo, term = 1, sum = 1;
	for (int i = 1; i < 22; i++) {
		term *= r / i;
		sum += term;
	}
	double b = k < 0 ? 0.5 : 2;
	for (long e = k < 0 ? -k : k; e; e >>= 1, b *= b)
		if (e & 1)
			sum *= b;
	return sum;
}

/* A JSON number, or null when it is not finite (JSON has no inf). */
static const char *num(char *buf, size_t n, double v)
{
	if (isfinite(v))
		snprintf(buf, n, "%.17g", v);
	else
		snprintf(buf, n, "null");
	return buf;
}

static int score(void *st, const struct qa_input *in, struct qa_output *out)
{
	struct state *s = st;
	const qa_json *r = in->record;
	char *lp = H->format("%s.token_logprobs", s->path);
	char *tk = H->format("%s.tokens", s->path);
	int ret = -1;
	if (H->type(r, lp) != QA_ARRAY) {
		out->error = H->format("no logprobs at %s (ask qa-send for them: -p logprobs=1 -p echo=true)",
		    s->path);
		goto done;
	}
	size_t n = H->count(r, lp), ntok = H->type(r, tk) == QA_ARRAY ? H->count(r, tk) : 0;
	double sum = 0;
	long scored = 0;
	struct qa_text text = { 0 };
	H->text_add(&text, "", 0);
	for (size_t i = 0; i < n; i++) {
		char *e = H->format("%s[%zu]", lp, i);
		enum qa_type t = H->type(r, e);
		double v = 0;
		int bad = t != QA_NULL && H->number(r, e, &v) < 0;
		H->free(e);
		if (bad) {
			out->error = H->format("%s[%zu] is neither a number nor null", lp, i);
			H->free(text.p);
			goto done;
		}
		if (t == QA_NULL)
			continue;
		sum += v;
		scored++;
		if (i < ntok) {
			char *te = H->format("%s[%zu]", tk, i);
			size_t tl;
			const char *ts = H->string(r, te, &tl);
			if (ts)
				H->text_add(&text, ts, tl);
			H->free(te);
		}
	}
	if (scored == 0) {
		out->error = H->format("no scored tokens at %s (every logprob is null)", lp);
		H->free(text.p);
		goto done;
	}
	size_t pos = 0, wl;
	long words = 0;
	while (H->word(text.p, text.len, &pos, &wl))
		words++;
	double mean_nll = -sum / (double)scored, ppl = p_exp(mean_nll);
	char b1[40], b2[40], b3[40], b4[40], b5[40];
	/* Without a token for every logprob the text is unknown: bytes and words null. */
	int known = ntok >= n;
	out->score = ppl;
	out->details = H->format("{\"sum_logprob\":%s,\"tokens\":%ld,\"bytes\":%s,\"words\":%s,"
	    "\"ppl\":%s,\"mean_nll\":%s}", num(b1, sizeof b1, sum), scored,
	    num(b4, sizeof b4, known ? (double)text.len : NAN), num(b5, sizeof b5, known ? (double)words : NAN),
	    num(b2, sizeof b2, ppl), num(b3, sizeof b3, mean_nll));
	H->free(text.p);
	ret = 0;
done:
	H->free(lp);
	H->free(tk);
	return ret;
}

static const struct qa_scorer_ops ops = {
	QA_OPS(qa_scorer_ops),
	.init = init,
	.score = score,
	.fini = fini,
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "perplexity", "1.0",
	    "token perplexity exp(-sum logprob / N) from response.logprobs (not 0-1: lower is better)"),
	.flags = 0,
	.scorer = &ops,
};

QA_PLUGIN_EXPORT(&plugin)
