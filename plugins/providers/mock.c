/*
 * mock: a provider that answers in-process, without a network.  It is what
 * the demo and the tests run on, and it behaves like a family of models:
 *
 *   baseline   right on about 86% of items, p50 latency 400 ms
 *   int8       about 85%, p50 330 ms, a little logprob noise
 *   int4       about 78%, p50 250 ms, more noise, some format drift
 *   fragile    int8 while it serves under 60% of the traffic; from 60% on
 *              (the record's route.weight, set by qa-route) it is
 *              overloaded: about 55%, p50 1200 ms, drifting formats.  It
 *              is the cheap relay that a migration ramp must catch.
 *
 * (a model name containing fragile is fragile; int4, q4, 4bit, awq or gptq
 * is int4; int8, q8, 8bit or fp8 is int8; anything else is baseline.)  Everything is
 * deterministic per (model, prompt, params.seed).  Whether an item comes
 * out right is u < accuracy, with u drawn per item, not per model, so the
 * items int4 gets right are mostly a subset of those baseline gets right;
 * a small per-model flip in both directions makes the difference real.
 * A task name shifts every model's accuracy alike; numeric (GSM8K) items
 * cost quantized models a little more.
 *
 * The answer is written so the record's own metric scores it as intended:
 * "The answer is B." for choice, "... #### 72" for numeric, the reference
 * itself for exact_match and squad; a plausible wrong answer otherwise
 * (another letter, another number, another word).  int4 sometimes drops
 * "####" or answers a choice in words, as quantized models do.
 *
 * params: mock_accuracy (0-1, replaces the model's accuracy exactly, no
 * flips, no drift), mock_latency_ms (the median), mock_wait (true: qa-send really
 * waits the latency), mock_status (answer this HTTP status instead),
 * max_tokens (cuts the answer: finish_reason "length"), logprobs (N or
 * true) with echo (the prompt's tokens first, the first one null), seed.
 *
 * No libm: exp and log are computed here, so results are the same bits on
 * every libc, and the plugin needs nothing the host may not have loaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qa/plugin.h>

QA_PLUGIN_HOST;

/* ---- arithmetic: hashing, uniforms, exp, log, normals ---- */

static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15u;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* The host's hash64(): the same FNV-1a and splitmix64 as lib/hash.c, so the answers do not move. */
static uint64_t hash(uint64_t h, const char *s, size_t n)
{
	return H->hash64(h, s, n);
}

static uint64_t hashs(uint64_t h, const char *s)
{
	return hash(h, s, strlen(s));
}

/* A uniform in [0, 1) from a hash. */
static double unif(uint64_t h)
{
	return (double)(mix(h) >> 11) * (1.0 / 9007199254740992.0);
}

static double m_exp(double x)
{
	if (x < -700)
		return 0;
	if (x > 700)
		x = 700;
	/* x = k ln2 + r, |r| <= ln2 / 2; e^r by its series; 2^k by squaring. */
	const double ln2 = 0.6931471805599453;
	long k = (long)(x / ln2 + (x < 0 ? -0.5 : 0.5));
	double r = x - (double)k * ln2, term = 1, sum = 1;
	for (int i = 1; i < 20; i++) {
		term *= r / i;
		sum += term;
	}
	double p = 1, b = k < 0 ? 0.5 : 2;
	for (long e = k < 0 ? -k : k; e; e >>= 1, b *= b)
		if (e & 1)
			p *= b;
	return sum * p;
}

static double m_log(double x)
{
	if (x <= 0)
		return -745;
	/* x = m 2^e with m in [0.75, 1.5); ln m = 2 atanh((m - 1) / (m + 1)). */
	int e = 0;
	while (x >= 1.5) {
		x /= 2;
		e++;
	}
	while (x < 0.75) {
		x *= 2;
		e--;
	}
	double y = (x - 1) / (x + 1), y2 = y * y, term = y, sum = 0;
	for (int i = 1; i < 60; i += 2) {
		sum += term / i;
		term *= y2;
	}
	return 2 * sum + e * 0.6931471805599453;
}

/* A standard normal, near enough: the sum of 12 uniforms less 6. */
static double normal(uint64_t h)
{
	double s = 0;
	for (int i = 0; i < 12; i++)
		s += unif(h + (uint64_t)i * 0x632be59bd9b4e019u);
	return s - 6;
}

/* ---- the model family ---- */

struct profile {
	const char *name;
	double accuracy;	/* expected share right, before task modifiers */
	double flip;		/* the model's own flips, in both directions */
	double drift;		/* answers in a format the scorer may not read */
	double numeric_penalty;	/* extra accuracy lost on numeric items */
	double median_ms;	/* latency */
	double noise;		/* logprob noise (sd) */
	double shift;		/* logprobs lowered by this much on average */
};

static const struct profile profiles[] = {
	{ "baseline", 0.86, 0.02, 0.0, 0.0, 400, 0.0, 0.0 },
	{ "int8", 0.85, 0.03, 0.005, 0.01, 330, 0.05, 0.002 },
	{ "int4", 0.78, 0.05, 0.03, 0.04, 250, 0.15, 0.01 },
	{ "fragile", 0.85, 0.03, 0.005, 0.01, 330, 0.05, 0.002 },
	{ "fragile, overloaded", 0.55, 0.06, 0.08, 0.10, 1200, 0.30, 0.05 },
};

#define FRAGILE (&profiles[3])
#define OVERLOADED (&profiles[4])
#define OVERLOAD_WEIGHT 60

static int has_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);
	for (; *s; s++) {
		size_t i = 0;
		while (i < n && s[i] && (s[i] | 0x20) == (needle[i] | 0x20))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

static const struct profile *profile_of(const char *model)
{
	static const char *const q4[] = { "int4", "q4", "4bit", "awq", "gptq" };
	static const char *const q8[] = { "int8", "q8", "8bit", "fp8" };
	if (has_ci(model, "fragile"))
		return FRAGILE;
	for (size_t i = 0; i < sizeof q4 / sizeof *q4; i++)
		if (has_ci(model, q4[i]))
			return &profiles[2];
	for (size_t i = 0; i < sizeof q8 / sizeof *q8; i++)
		if (has_ci(model, q8[i]))
			return &profiles[1];
	return &profiles[0];
}

/* ---- what the record asks ---- */

enum kind { K_NONE, K_EXACT, K_CONTAINS, K_CHOICE, K_NUMERIC, K_SQUAD, K_TEXT };

struct item {
	const char *model;
	const struct profile *prof;
	uint64_t key;		/* the item: prompt and seed, not the model */
	uint64_t mkey;		/* the item for this model */
	const char *ref;	/* the first reference, or NULL */
	size_t reflen;
	enum kind kind;
	const char *prompt;	/* all prompt text, for tokens and usage */
	size_t promptlen;
	const char *last;	/* the last user text, for answers without a reference */
	size_t lastlen;
};

static enum kind kind_of_name(const char *name)
{
	if (!name)
		return K_NONE;
	if (strcmp(name, "choice") == 0)
		return K_CHOICE;
	if (strcmp(name, "numeric") == 0)
		return K_NUMERIC;
	if (strcmp(name, "exact_match") == 0 || strcmp(name, "regex") == 0)
		return K_EXACT;
	if (strcmp(name, "contains") == 0)
		return K_CONTAINS;
	if (strcmp(name, "squad_em") == 0 || strcmp(name, "squad_f1") == 0)
		return K_SQUAD;
	return K_TEXT;
}

/* The first metric the record names: "metrics" first, then "metric"; a name or {name}. */
static enum kind record_kind(const qa_json *rec)
{
	const char *m = H->type(rec, "metrics") != QA_ABSENT && H->type(rec, "metrics") != QA_NULL ?
	    "metrics" : "metric";
	char path[32];
	if (H->type(rec, m) == QA_ARRAY)
		snprintf(path, sizeof path, "%s[0]", m);
	else
		snprintf(path, sizeof path, "%s", m);
	if (H->type(rec, path) == QA_STRING)
		return kind_of_name(H->string(rec, path, NULL));
	char npath[40];
	snprintf(npath, sizeof npath, "%s.name", path);
	return kind_of_name(H->string(rec, npath, NULL));
}

/* A choice letter: "B", "(B)", "B)", "B. Paris"; 0 when the text is not one. */
static char choice_letter(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '('))
		i++;
	if (i < n && s[i] >= 'A' && s[i] <= 'Z' &&
	    (i + 1 == n || s[i + 1] == ')' || s[i + 1] == '.' || s[i + 1] == ':' || s[i + 1] == ' '))
		return s[i];
	return 0;
}

/* Where the number of a numeric reference is: after "####", else the last number in it. */
static int ref_number(const char *s, size_t n, size_t *start, size_t *len)
{
	size_t from = 0;
	for (size_t i = 0; i + 4 <= n; i++)
		if (memcmp(s + i, "####", 4) == 0)
			from = i + 4;
	size_t best = n, bestlen = 0;
	for (size_t i = from; i < n;) {
		size_t j = i;
		if (s[j] == '-' || s[j] == '$')
			j++;
		if (j < n && s[j] >= '0' && s[j] <= '9') {
			size_t k = j;
			while (k < n && ((s[k] >= '0' && s[k] <= '9') || s[k] == '.' || s[k] == ','))
				k++;
			while (k > j && (s[k - 1] == '.' || s[k - 1] == ','))
				k--;
			best = i, bestlen = k - i;
			if (from)
				break;	/* the first after "####" */
			i = k;
		} else {
			i++;
		}
	}
	if (best == n)
		return 0;
	*start = best;
	*len = bestlen;
	return 1;
}

static double ref_value(const char *s, size_t n)
{
	char buf[64];
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < sizeof buf; i++)
		if (s[i] != ',' && s[i] != '$')
			buf[o++] = s[i];
	buf[o] = '\0';
	return strtod(buf, NULL);
}

/* ---- answers ---- */

static void add(struct qa_text *t, const char *s)
{
	H->text_add(t, s, strlen(s));
}

static int eq_ci(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b);
	if (an != bn)
		return 0;
	for (size_t i = 0; i < an; i++)
		if ((a[i] | 0x20) != (b[i] | 0x20))
			return 0;
	return 1;
}

static int contains_ci(const char *hay, size_t hn, const char *needle, size_t nn)
{
	if (!nn)
		return 0;
	for (size_t i = 0; i + nn <= hn; i++) {
		size_t k = 0;
		while (k < nn && (hay[i + k] | 0x20) == (needle[k] | 0x20))
			k++;
		if (k == nn)
			return 1;
	}
	return 0;
}

static int is_number(const char *s, size_t n)
{
	size_t st, len;
	return n && ref_number(s, n, &st, &len) && st == 0 && len == n;
}

/* Another number: +1, -1, x2 or +10, never the same. */
static void wrong_number(struct qa_text *t, double v, uint64_t h)
{
	static const double add_[] = { 1, -1, 0, 10 };
	int pick = (int)(unif(h) * 4);
	double w = pick == 2 ? v * 2 : v + add_[pick];
	if (w == v)
		w = v + 1;
	if (w == (double)(long long)w && w < 1e15 && w > -1e15)
		H->text_printf(t, "%lld", (long long)w);
	else
		H->text_printf(t, "%.6g", w);
}

/* A plausible wrong word for a reference. */
static void wrong_word(struct qa_text *t, const char *ref, size_t n, uint64_t h)
{
	static const char *const names[] = { "Paris", "London", "Berlin", "Madrid", "Rome", "Vienna",
		"Mercury", "Jupiter", "Shakespeare", "Newton", "Amazon", "Everest" };
	static const char *const plain[] = { "blue", "green", "seven", "twelve", "water", "oxygen",
		"iron", "winter", "north", "carbon", "silver", "triangle" };
	static const char *const pairs[][2] = { { "yes", "no" }, { "true", "false" }, { "positive", "negative" } };
	if (is_number(ref, n)) {
		wrong_number(t, ref_value(ref, n), h);
		return;
	}
	for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++)
		for (int k = 0; k < 2; k++)
			if (eq_ci(ref, n, pairs[i][k])) {
				add(t, pairs[i][1 - k]);
				return;
			}
	/* A name for a name, a word for a word. */
	const char *const *words = n && ref[0] >= 'A' && ref[0] <= 'Z' ? names : plain;
	size_t nw = sizeof names / sizeof *names, pick = (size_t)(unif(h) * (double)nw);
	for (size_t i = 0; i < nw; i++) {
		const char *w = words[(pick + i) % nw];
		if (!contains_ci(w, strlen(w), ref, n) && !contains_ci(ref, n, w, strlen(w))) {
			add(t, w);
			return;
		}
	}
	add(t, "unknown");
}

/* The first k words of s, or every word but each third one (k == 0). */
static void some_words(struct qa_text *t, const char *s, size_t n, size_t k)
{
	size_t pos = 0, wl, i = 0, out = 0;
	const char *w;
	while ((w = H->word(s, n, &pos, &wl))) {
		i++;
		if (k ? i > k : i % 3 == 0)
			continue;
		if (out++)
			add(t, " ");
		H->text_add(t, w, wl);
	}
}

static size_t count_words(const char *s, size_t n)
{
	size_t pos = 0, wl, c = 0;
	while (H->word(s, n, &pos, &wl))
		c++;
	return c;
}

static const char *const ordinals[] = { "first", "second", "third", "fourth", "fifth", "sixth",
	"seventh", "eighth", "ninth", "tenth" };

static void answer(struct qa_text *t, const struct item *it, int right, int drift)
{
	const char *ref = it->ref;
	size_t n = it->reflen;
	uint64_t h = mix(it->mkey ^ 0x77726f6e67u);	/* "wrong" */
	enum kind k = it->kind;
	if (ref && k == K_NONE) {
		/* No metric named: guess from the reference's shape. */
		size_t st, len;
		if (choice_letter(ref, n) && n <= 4)
			k = K_CHOICE;
		else if (ref_number(ref, n, &st, &len) && (is_number(ref, n) || memmem(ref, n, "####", 4)))
			k = K_NUMERIC;
		else
			k = K_EXACT;
	}
	if (!ref) {
		add(t, "This is a mock answer to: ");
		size_t from = t->len;
		some_words(t, it->last, it->lastlen, 12);
		if (t->len - from > 120) {	/* a few words, not a few megabytes */
			size_t cut = from + 120;
			while (cut > from && ((unsigned char)t->p[cut] & 0xc0) == 0x80)
				cut--;
			t->len = cut;
			t->p[cut] = '\0';
			add(t, "...");
		}
		return;
	}
	switch (k) {
	case K_CHOICE: {
		char l = choice_letter(ref, n);
		if (!l) {
			k = K_EXACT;
			break;
		}
		char top = l > 'D' ? l : 'D';
		char pick = l;
		if (!right) {
			int span = top - 'A' + 1, r = 1 + (int)(unif(h) * (span - 1));
			pick = (char)('A' + ((l - 'A') + r) % span);
		}
		if (drift)
			H->text_printf(t, "I would go with the %s option.", ordinals[(pick - 'A') % 10]);
		else
			H->text_printf(t, "The answer is %c.", pick);
		return;
	}
	case K_NUMERIC: {
		size_t st, len;
		if (!ref_number(ref, n, &st, &len)) {
			k = K_EXACT;
			break;
		}
		struct qa_text num = { 0 };
		if (right)
			H->text_add(&num, ref + st, len);
		else
			wrong_number(&num, ref_value(ref + st, len), h);
		if (drift)
			H->text_printf(t, "Working through it step by step, the answer is %s.", num.p);
		else
			H->text_printf(t, "Working through it step by step, the answer is %s.\n#### %s", num.p, num.p);
		H->free(num.p);
		return;
	}
	default:
		break;
	}
	switch (k) {
	case K_CONTAINS: {
		struct qa_text w = { 0 };
		add(&w, "I believe the answer is ");
		if (right)
			H->text_add(&w, ref, n);
		else
			wrong_word(&w, ref, n, h);
		add(&w, ".");
		if (!right && contains_ci(w.p, w.len, ref, n)) {
			w.len = 0;
			add(&w, "I do not know.");
		}
		H->text_add(t, w.p, w.len);
		H->free(w.p);
		return;
	}
	case K_SQUAD:
	case K_TEXT: {
		size_t words = count_words(ref, n);
		if (right)
			H->text_add(t, ref, n);
		else if (words >= 3)
			some_words(t, ref, n, k == K_SQUAD ? (words + 1) / 2 : 0);
		else
			wrong_word(t, ref, n, h);
		return;
	}
	default:
		if (right)
			H->text_add(t, ref, n);
		else
			wrong_word(t, ref, n, h);
		return;
	}
}

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

static void logprobs(struct qa_text *t, const struct item *it, int echo, long ntop, const char *text,
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

/* ---- the provider ---- */

static int build(void *st, const qa_json *rec, const struct qa_endpoint *ep, struct qa_request *req,
    char **err)
{
	(void)st;
	if (H->type(rec, "prompt") != QA_STRING && H->type(rec, "messages") != QA_ARRAY) {
		*err = H->format("the record has neither a prompt string nor a messages array");
		return -1;
	}
	const char *model = ep->model && *ep->model ? ep->model : "baseline";
	struct qa_text t = { 0 };
	add(&t, "{\"model\":");
	H->text_json(&t, model, strlen(model));
	add(&t, "}");
	req->url = H->format("mock:///%s", model);
	req->body = t.p;
	req->body_len = t.len;
	return 0;
}

/* Every piece of prompt text, separated by newlines: system, prompt, or each message's content. */
static void prompt_text(const qa_json *rec, struct qa_text *all, const char **last, size_t *lastlen)
{
	size_t n;
	const char *s = H->string(rec, "system", &n);
	add(all, "");
	if (s) {
		H->text_add(all, s, n);
		add(all, "\n");
	}
	*last = "";
	*lastlen = 0;
	if ((s = H->string(rec, "prompt", &n))) {
		H->text_add(all, s, n);
		*last = s, *lastlen = n;
		return;
	}
	size_t count = H->count(rec, "messages");
	for (size_t i = 0; i < count; i++) {
		char path[64];
		snprintf(path, sizeof path, "messages[%zu].content", i);
		if ((s = H->string(rec, path, &n))) {
			H->text_add(all, s, n);
			add(all, "\n");
			*last = s, *lastlen = n;
		}
	}
}

/* The item a record asks about: model and profile, prompt, the keys its draws come from, reference, kind. */
static void item_of(const qa_json *rec, const struct qa_endpoint *ep, struct item *it, struct qa_text *all)
{
	const qa_json *p = ep->params;
	it->model = ep->model && *ep->model ? ep->model : "baseline";
	it->prof = profile_of(it->model);
	double weight;
	if (it->prof == FRAGILE && H->number(rec, "route.weight", &weight) == 0 && weight >= OVERLOAD_WEIGHT)
		it->prof = OVERLOADED;
	prompt_text(rec, all, &it->last, &it->lastlen);
	it->prompt = all->p;
	it->promptlen = all->len;
	size_t sl = 0;
	const char *seed = H->type(p, "seed") != QA_ABSENT ? H->raw(p, "seed", &sl) : "";
	it->key = hash(hash(0x71616d6f636bu, all->p, all->len), seed, sl);
	it->mkey = hashs(it->key, it->model);

	const char *refpath = H->type(rec, "expected") != QA_ABSENT && H->type(rec, "expected") != QA_NULL ?
	    "expected" : "ground_truth";
	char rp[32];
	snprintf(rp, sizeof rp, "%s%s", refpath, H->type(rec, refpath) == QA_ARRAY ? "[0]" : "");
	it->ref = H->string(rec, rp, &it->reflen);
	if (!it->ref && H->type(rec, rp) == QA_NUMBER)
		it->ref = H->raw(rec, rp, &it->reflen);
	it->kind = record_kind(rec);
}

/* mock_status: an HTTP error instead of an answer.  Whether it was asked for. */
static int simulated_error(const qa_json *p, struct qa_sim *sim)
{
	double status;
	if (H->number(p, "mock_status", &status) != 0 || !(status >= 400 && status < 600))
		return 0;
	sim->status = (long)status;
	sim->body = H->format("{\"error\":{\"message\":\"mock: simulated HTTP %ld\",\"type\":\"mock_error\","
	    "\"code\":null}}", sim->status);
	sim->body_len = strlen(sim->body);
	sim->latency_ms = 5;
	return 1;
}

/* Right or wrong: u < accuracy, u shared by every model; then the model's own flips.  *drift: it drifts. */
static int is_right(const qa_json *rec, const qa_json *p, const struct item *it, int *drift)
{
	const struct profile *pr = it->prof;
	double target, flip = pr->flip, drift_rate = pr->drift, forced;
	if (H->number(p, "mock_accuracy", &forced) == 0) {
		target = forced < 0 ? 0 : forced > 1 ? 1 : forced;
		flip = drift_rate = 0;
	} else {
		target = pr->accuracy;
		size_t tl;
		const char *task = H->string(rec, "task", &tl);
		if (!task)
			task = H->string(rec, "name", &tl);
		if (task)
			target += (unif(hash(0x7461736bu, task, tl)) - 0.5) * 0.16;
		if (it->kind == K_NUMERIC)
			target -= pr->numeric_penalty;
		target = target < 0.02 ? 0.02 : target > 0.99 ? 0.99 : target;
	}
	double acc = (target - flip) / (1 - 2 * flip);
	acc = acc < 0 ? 0 : acc > 1 ? 1 : acc;
	int right = unif(it->key ^ 0x7269676874u) < acc;
	if (unif(it->mkey ^ 0x666c6970u) < flip)
		right = !right;
	*drift = unif(it->mkey ^ 0x6472696674u) < drift_rate;
	return right;
}

/* max_tokens cuts the answer, about 1.3 tokens a word: the finish reason. */
static const char *cut_answer(const qa_json *p, struct qa_text *text)
{
	double maxt;
	if (H->number(p, "max_tokens", &maxt) != 0 && H->number(p, "max_completion_tokens", &maxt) != 0)
		return "stop";
	size_t words = count_words(text->p, text->len);
	size_t keep = maxt <= 0 ? 0 : (size_t)(maxt * 10 / 13);
	if (words <= keep)
		return "stop";
	struct qa_text cut = { 0 };
	add(&cut, "");
	if (keep)
		some_words(&cut, text->p, text->len, keep);
	H->free(text->p);
	*text = cut;
	return "length";
}

/* Alternatives per token: logprobs N (or true: 0), top_logprobs N; -1 for none; at most 20. */
static long top_count(const qa_json *p)
{
	double nlp, nt;
	long ntop = -1;
	if (H->number(p, "logprobs", &nlp) == 0 && nlp >= 0)
		ntop = (long)nlp;
	else if (H->boolean(p, "logprobs") == 1)
		ntop = 0;
	if (ntop >= 0 && H->number(p, "top_logprobs", &nt) == 0 && nt >= 0)
		ntop = (long)nt;
	return ntop > 20 ? 20 : ntop;
}

/* The completions endpoint's answer: id, model, the text (echoed after the prompt), logprobs, usage. */
static void answer_body(struct qa_text *b, const struct item *it, const qa_json *p, const struct qa_text *text,
    const char *finish)
{
	size_t pw = count_words(it->prompt, it->promptlen), cw = count_words(text->p, text->len);
	long ptok = (long)((pw * 13 + 9) / 10), ctok = (long)((cw * 13 + 9) / 10);
	if (ptok < 1)
		ptok = 1;
	add(b, "{\"id\":");
	H->text_printf(b, "\"mock-%016llx\"", (unsigned long long)it->mkey);
	add(b, ",\"object\":\"text_completion\",\"model\":");
	H->text_json(b, it->model, strlen(it->model));
	add(b, ",\"choices\":[{\"index\":0,\"text\":");
	int echo = H->boolean(p, "echo") == 1;
	if (echo) {
		/* Echo: the prompt, then the answer, as the completions endpoint sends it. */
		struct qa_text both = { 0 };
		H->text_add(&both, it->prompt, it->promptlen);
		H->text_add(&both, text->p, text->len);
		H->text_json(b, both.p, both.len);
		H->free(both.p);
	} else {
		H->text_json(b, text->p, text->len);
	}
	H->text_printf(b, ",\"finish_reason\":\"%s\",\"logprobs\":", finish);
	long ntop = top_count(p);
	if (ntop >= 0)
		logprobs(b, it, echo, ntop, text->p, text->len);
	else
		add(b, "null");
	H->text_printf(b, "}],\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}",
	    ptok, ctok, ptok + ctok);
}

static int respond(void *st, const qa_json *rec, const struct qa_endpoint *ep, const struct qa_request *req,
    struct qa_sim *sim, char **err)
{
	(void)st, (void)req, (void)err;
	const qa_json *p = ep->params;
	struct item it = { 0 };
	struct qa_text all = { 0 };
	item_of(rec, ep, &it, &all);
	if (simulated_error(p, sim)) {
		H->free(all.p);
		return 0;
	}
	int drift, right = is_right(rec, p, &it, &drift);
	struct qa_text text = { 0 };
	add(&text, "");
	answer(&text, &it, right, drift);
	const char *finish = cut_answer(p, &text);

	double median = it.prof->median_ms, lat;
	if (H->number(p, "mock_latency_ms", &lat) == 0 && lat >= 0)
		median = lat;
	double latency = median * m_exp(0.35 * normal(it.mkey ^ 0x6c6174u));

	struct qa_text b = { 0 };
	answer_body(&b, &it, p, &text, finish);
	sim->status = 200;
	sim->body = b.p;
	sim->body_len = b.len;
	sim->latency_ms = (double)(long long)(latency * 10 + 0.5) / 10;
	sim->wait = H->boolean(p, "mock_wait") == 1;
	H->free(text.p);
	H->free(all.p);
	return 0;
}

static int parse(void *st, const qa_json *rec, const struct qa_endpoint *ep, long status,
    const char *body, size_t len, struct qa_reply *out)
{
	(void)st, (void)rec, (void)ep;
	const char *perr;
	const qa_json *d = H->parse(body, len, &perr);
	if (!d) {
		out->error = H->format("the response is not JSON (%s)", perr);
		return -1;
	}
	if (status < 200 || status > 299) {
		H->error_body(status, body, len, out);
		return 0;
	}
	out->text = H->copy_len(d, "choices[0].text", QA_STRING, &out->text_len);
	out->finish_reason = H->copy(d, "choices[0].finish_reason", QA_STRING);
	out->model = H->copy(d, "model", QA_STRING);
	out->id = H->copy(d, "id", QA_STRING);
	out->usage = H->copy(d, "usage", QA_OBJECT);
	out->logprobs = H->copy(d, "choices[0].logprobs", QA_OBJECT);
	return 0;
}

static const struct qa_provider_ops ops = {
	QA_OPS(qa_provider_ops),
	.build = build,
	.parse = parse,
	.respond = respond,
};

static const struct qa_plugin me = {
	QA_PLUGIN_HEADER(QA_KIND_PROVIDER, "mock", "1.0",
	    "in-process answers without a network: models baseline, int8, int4, fragile"),
	.provider = &ops,
};

QA_PLUGIN_EXPORT(&me)
