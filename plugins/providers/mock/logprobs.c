/* mock: tokens and their logprobs, with the top alternatives (mock.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

/* ---- logprobs ---- */

static const char *const common[] = { " the", " of", " and", " to", " a", " in", " is", " that",
	" for", " it", " was", " on" };
#define NCOMMON (sizeof common / sizeof *common)

struct lp {
	const char *tok;
	double v;
};

static int by_lp(const void *a, const void *b)
{
	double x = ((const struct lp *)a)->v, y = ((const struct lp *)b)->v;
	return x < y ? 1 : x > y ? -1 : 0;
}

static void json_lp(struct qa_text *t, double v)
{
	H->text_printf(t, "%.5f", v);
}

/*
 * One token's logprob and its alternatives.  The text decides the base
 * value (the same words score the same in every prompt); the model adds
 * noise.  prompt: a prompt token (harder) or an answer token.
 */
static void token_lp(const struct item *it, const char *prev, size_t pl, const char *tok, size_t tl,
    const char *text, size_t textlen, size_t i, int prompt, long ntop, struct qa_text *lps,
    struct qa_text *tops)
{
	uint64_t th = hash(hash(0x746f6b, prev, pl), tok, tl);
	double mean = prompt ? 2.0 : 0.3;
	double base = -(0.02 + -mean * m_log(1 - unif(th)));
	uint64_t nh = mix(it->mkey ^ (0x6e6f697365u + i));
	double v = base + it->prof->noise * normal(nh) - it->prof->shift;
	if (v > -1e-4)
		v = -1e-4;
	json_lp(lps, v);
	if (ntop < 0)
		return;
	/* The rest of the mass, over common tokens, in shares the text decides. */
	struct lp c[NCOMMON + 1];
	size_t nc = 0;
	double rest = 1 - m_exp(base), share = 0.45;
	size_t pick = (size_t)(th >> 7) % NCOMMON;
	for (size_t k = 0; k < NCOMMON; k++) {
		const char *ct = common[(pick + k) % NCOMMON];
		if (strlen(ct) == tl && memcmp(ct, tok, tl) == 0)
			continue;
		double cv = m_log(rest * share) + it->prof->noise * normal(nh + 0x9e37u * (k + 1)) - it->prof->shift;
		c[nc].tok = ct;
		c[nc++].v = cv > -1e-4 ? -1e-4 : cv;
		share *= 0.5;
	}
	c[nc].tok = NULL;	/* the token itself */
	c[nc++].v = v;
	qsort(c, nc, sizeof *c, by_lp);
	/* The top N, and the sampled token always, as the API does it: up to N + 1 entries. */
	size_t shown = 0;
	int own = 0;
	H->text_add(tops, "{", 1);
	for (size_t k = 0; k < nc; k++) {
		int mine = c[k].tok == NULL;
		if ((long)k >= ntop && !(mine && !own))
			continue;
		if (shown++)
			add(tops, ",");
		if (mine) {
			H->text_json(tops, text, textlen);
			own = 1;
		} else {
			H->text_json(tops, c[k].tok, strlen(c[k].tok));
		}
		add(tops, ":");
		json_lp(tops, c[k].v);
	}
	add(tops, "}");
}

/*
 * Tokens are words with the whitespace before them, as BPE vocabularies
 * have them (the last one also takes the whitespace after it), so the
 * tokens spell the text exactly, as a real endpoint's do: qa-send cuts
 * windows at token boundaries by adding up their bytes.  The logprobs
 * depend only on the words, each after the first read with one leading
 * space, so layout does not change them.
 */
static void add_tokens(const struct item *it, const char *s, size_t n, int prompt, int first_null,
    long ntop, size_t *idx, struct qa_text *toks, struct qa_text *lps, struct qa_text *tops)
{
	size_t pos = 0, wl, pl = 0, from = 0;
	const char *w, *prev = "";
	for (w = H->word(s, n, &pos, &wl); w;) {
		size_t nwl;
		const char *next = H->word(s, n, &pos, &nwl);
		size_t to = next ? (size_t)(w - s) + wl : n;
		struct qa_text tok = { 0 };
		if (*idx > 0)
			add(&tok, " ");
		H->text_add(&tok, w, wl);
		const char *sep = *idx ? "," : "";
		add(toks, sep);
		H->text_json(toks, s + from, to - from);
		add(lps, sep);
		if (ntop >= 0)
			add(tops, sep);
		if (first_null && *idx == 0) {
			add(lps, "null");
			if (ntop >= 0)
				add(tops, "null");
		} else {
			token_lp(it, prev, pl, tok.p, tok.len, s + from, to - from, *idx, prompt, ntop, lps, tops);
		}
		H->free(tok.p);
		prev = w, pl = wl;
		(*idx)++;
		from = to;
		w = next, wl = nwl;
	}
}

void logprobs(struct qa_text *t, const struct item *it, int echo, long ntop, const char *text,
    size_t textlen)
{
	struct qa_text toks = { 0 }, lps = { 0 }, tops = { 0 };
	size_t idx = 0;
	add(&toks, "");
	add(&lps, "");
	add(&tops, "");
	if (echo)
		add_tokens(it, it->prompt, it->promptlen, 1, 1, ntop, &idx, &toks, &lps, &tops);
	add_tokens(it, text, textlen, 0, 0, ntop, &idx, &toks, &lps, &tops);
	add(t, "{\"tokens\":[");
	H->text_add(t, toks.p, toks.len);
	add(t, "],\"token_logprobs\":[");
	H->text_add(t, lps.p, lps.len);
	add(t, "],\"top_logprobs\":[");
	H->text_add(t, tops.p, tops.len);
	add(t, "]}");
	H->free(toks.p);
	H->free(lps.p);
	H->free(tops.p);
}
