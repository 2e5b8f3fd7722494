/*
 * bleu: sacreBLEU 2.x BLEU on its 0-100 scale, sentence and corpus.
 *
 * Per record: BLEU().sentence_score(answer, references) (effective order on
 * by default, as sacrebleu.sentence_bleu).  Corpus: the record's sufficient
 * statistics (hypothesis and closest reference length, matched and total
 * n-grams of each order) go into details.stats; qa-score sums them and
 * calls corpus(), which is BLEU().corpus_score() on the whole: not the mean
 * of sentence BLEUs.  See qa-bleu(7).
 *
 * Options: tokenize (13a, none, char, intl, zh; default 13a), lowercase, smooth_method
 * (exp, floor, add-k, none), smooth_value, effective_order, max_ngram_order.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qa/plugin.h>
#include <utf8proc.h>

QA_PLUGIN_HOST;

#include "ngram.h"

enum tok { TOK_13A, TOK_NONE, TOK_CHAR, TOK_INTL, TOK_ZH };
enum smooth { SM_EXP, SM_FLOOR, SM_ADDK, SM_NONE };

#define MAXN 8

struct state {
	enum tok tok;
	enum smooth smooth;
	double smooth_value;
	int lowercase, effective_order, order;
	struct ng ng;
	struct memo *prec_memo, *bp_memo;	/* details_of's */
	double *logs;	/* compute()'s, LOGMEMO x LOGMEMO */
	/* The last record's details.stats as numbers, for the stats() callback. */
	const char *snames[2 + 2 * MAXN];
	double svals[2 + 2 * MAXN];
	size_t ns;
};

static void punct_init(void);
static void small_init(void);

static const char *const own_keys[] = { "tokenize", "lowercase", "smooth_method", "smooth_value",
	"effective_order", "max_ngram_order", NULL };

static int init(const qa_json *o, void **state, char **err)
{
	struct state *s = H->alloc(sizeof *s);
	memset(s, 0, sizeof *s);
	*state = s;
	s->effective_order = 1;
	s->order = 4;
	punct_init();
	small_init();
	for (size_t i = 0; i < H->count(o, ""); i++) {
		const char *k = H->key(o, "", i);
		size_t j = 0;
		while (own_keys[j] && strcmp(own_keys[j], k) != 0)
			j++;
		if (!own_keys[j]) {
			*err = H->format("unknown option '%s' (tokenize, lowercase, smooth_method, "
			    "smooth_value, effective_order, max_ngram_order)", k);
			return -1;
		}
	}
	const char *v;
	if ((v = H->string(o, "tokenize", NULL))) {
		if (strcmp(v, "13a") == 0)
			s->tok = TOK_13A;
		else if (strcmp(v, "none") == 0)
			s->tok = TOK_NONE;
		else if (strcmp(v, "char") == 0)
			s->tok = TOK_CHAR;
		else if (strcmp(v, "intl") == 0)
			s->tok = TOK_INTL;
		else if (strcmp(v, "zh") == 0)
			s->tok = TOK_ZH;
		else {
			*err = H->format("tokenize: '%s' is not one of 13a, none, char, intl, zh", v);
			return -1;
		}
	} else if (H->type(o, "tokenize") != QA_ABSENT) {
		*err = H->format("tokenize: a string");
		return -1;
	}
	s->smooth_value = NAN;
	if ((v = H->string(o, "smooth_method", NULL))) {
		if (strcmp(v, "exp") == 0)
			s->smooth = SM_EXP;
		else if (strcmp(v, "floor") == 0)
			s->smooth = SM_FLOOR, s->smooth_value = 0.1;
		else if (strcmp(v, "add-k") == 0)
			s->smooth = SM_ADDK, s->smooth_value = 1;
		else if (strcmp(v, "none") == 0)
			s->smooth = SM_NONE;
		else {
			*err = H->format("smooth_method: '%s' is not one of exp, floor, add-k, none", v);
			return -1;
		}
	}
	double d;
	if (H->type(o, "smooth_value") == QA_NUMBER) {
		H->number(o, "smooth_value", &d);
		if (!(d >= 0)) {
			*err = H->format("smooth_value: a number >= 0");
			return -1;
		}
		if (s->smooth == SM_FLOOR || s->smooth == SM_ADDK)
			s->smooth_value = d;
	} else if (H->type(o, "smooth_value") != QA_ABSENT && H->type(o, "smooth_value") != QA_NULL) {
		*err = H->format("smooth_value: a number");
		return -1;
	}
	int b;
	if ((b = H->boolean(o, "lowercase")) >= 0)
		s->lowercase = b;
	else if (H->type(o, "lowercase") != QA_ABSENT) {
		*err = H->format("lowercase: true or false");
		return -1;
	}
	if ((b = H->boolean(o, "effective_order")) >= 0)
		s->effective_order = b;
	else if (H->type(o, "effective_order") != QA_ABSENT) {
		*err = H->format("effective_order: true or false");
		return -1;
	}
	if (H->type(o, "max_ngram_order") != QA_ABSENT) {
		if (H->number(o, "max_ngram_order", &d) < 0 || d != floor(d) || d < 1 || d > MAXN) {
			*err = H->format("max_ngram_order: an integer from 1 to %d", MAXN);
			return -1;
		}
		s->order = (int)d;
	}
	return 0;
}

static void fini(void *st)
{
	struct state *s = st;
	ng_free(&s->ng);
	H->free(s->prec_memo);
	H->free(s->bp_memo);
	H->free(s->logs);
	H->free(s);
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* 13a's first rule: every ASCII punctuation mark but ' , - . is set apart. */
static int punct13a_rule(unsigned char c)
{
	return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
	    (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

/* The rule as a table, made once: it runs on every byte of every segment. */
static unsigned char punct_tab[256];

/*
 * Byte classes for splitting text that needs no tokenizing pass: 0 a
 * word's byte, 1 ASCII whitespace, 2 a byte some pass (or Unicode
 * whitespace) would act on, which sends the segment the long way.
 */
static unsigned char cls13a[256], clsnone[256];

static int ascii_space(unsigned char c);

static void punct_init(void)
{
	for (int c = 0; c < 256; c++) {
		unsigned char u = (unsigned char)c;
		punct_tab[c] = (unsigned char)punct13a_rule(u);
		clsnone[c] = c >= 0x80 ? 2 : ascii_space(u) ? 1 : 0;
		cls13a[c] = clsnone[c] == 1 && c != '\n' ? 1 :
		    (clsnone[c] == 2 || punct_tab[c] || c == '.' || c == ',' || c == '-' || c == '\n') ? 2 : 0;
	}
}

static int punct13a(unsigned char c)
{
	return punct_tab[c];
}

static int has_at(const char *s, size_t n, size_t i, const char *lit)
{
	size_t k = strlen(lit);
	return i + k <= n && memcmp(s + i, lit, k) == 0;
}

/* Removes every occurrence of lit from s[0..*n), in place, as str.replace(lit, "") does. */
static void drop_all(char *s, size_t *n, const char *lit)
{
	size_t k = strlen(lit), o = 0;
	for (size_t i = 0; i < *n;)
		if (has_at(s, *n, i, lit))
			i += k;
		else
			s[o++] = s[i++];
	*n = o;
}

/*
 * sacrebleu's Tokenizer13a: replace("<skipped>", ""), replace("-\n", ""),
 * "\n" to space, unescape &quot; &amp; &lt; &gt; (in that order), pad with
 * spaces, then TokenizerRegexp's four re.sub passes in order.  Each pass is
 * Python's re.sub scanning left to right without overlap; bytes stand for
 * code points, which gives the same result since only ASCII is ever
 * matched on the left of a pair and a multi-byte character on the right
 * is copied through whole.  Returns a host-allocated buffer.
 */
static char *re_passes(struct ng *g, char *a, size_t an, size_t *out_len);

static char *tok13a(struct ng *g, const char *in, size_t n, size_t *out_len)
{
	char *a = ng_alloc(g, n + 3);
	size_t an = 0;
	a[an++] = ' ';
	memcpy(a + an, in, n);
	an += n;
	if (memchr(in, '<', n)) {
		/* Only what follows the pad is the line. */
		size_t ln = an - 1;
		drop_all(a + 1, &ln, "<skipped>");
		an = ln + 1;
	}
	if (memchr(a, '\n', an)) {
		size_t ln = an - 1;
		drop_all(a + 1, &ln, "-\n");
		an = ln + 1;
		for (size_t i = 0; i < an; i++)
			if (a[i] == '\n')
				a[i] = ' ';
	}
	if (memchr(a, '&', an)) {
		static const char *const ent[][2] = {
			{ "&quot;", "\"" }, { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" },
		};
		for (size_t e = 0; e < 4; e++) {
			size_t k = strlen(ent[e][0]), o = 0;
			for (size_t i = 0; i < an;)
				if (has_at(a, an, i, ent[e][0]))
					a[o++] = ent[e][1][0], i += k;
				else
					a[o++] = a[i++];
			an = o;
		}
	}
	a[an++] = ' ';
	return re_passes(g, a, an, out_len);
}

/*
 * TokenizerRegexp's four re.sub passes over a[0..an), which 13a and zh
 * share; returns the record's scratch (a itself when nothing matched).
 */
static char *re_passes(struct ng *g, char *a, size_t an, size_t *out_len)
{
	size_t cap = 0, bn = 0;
	char *b = NULL;
	/*
	 * Which passes can match at all: none of them makes a character another
	 * one looks for, so one scan decides, and most text skips most passes.
	 */
	size_t np1 = 0, ndot = 0, ndash = 0;
	for (size_t i = 0; i < an; i++) {
		unsigned char c = (unsigned char)a[i];
		np1 += punct13a(c);
		ndot += c == '.' || c == ',';
		ndash += c == '-';
	}
	/* Pass 1 adds 2 bytes per match, passes 2 and 3 at most 2 per . or , and pass 4 2 per -. */
	size_t need = an + 2 * np1 + 4 * ndot + 2 * ndash + 8;
	if (need > cap && (np1 || ndot || ndash)) {
		char *na = ng_alloc(g, need);
		memcpy(na, a, an);
		a = na;
		b = ng_alloc(g, need);
		cap = need;
	}
	char *t;
	if (np1) {
		/* Pass 1: ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 " */
		bn = 0;
		for (size_t i = 0; i < an; i++) {
			if (punct13a((unsigned char)a[i])) {
				b[bn++] = ' ';
				b[bn++] = a[i];
				b[bn++] = ' ';
			} else
				b[bn++] = a[i];
		}
		t = a, a = b, b = t, an = bn;
	}
	if (ndot) {
		/* Pass 2: ([^0-9])([\.,]) -> "\1 \2 " */
		bn = 0;
		for (size_t i = 0; i < an;) {
			if (i + 1 < an && !is_digit((unsigned char)a[i]) && (a[i + 1] == '.' || a[i + 1] == ',')) {
				b[bn++] = a[i];
				b[bn++] = ' ';
				b[bn++] = a[i + 1];
				b[bn++] = ' ';
				i += 2;
			} else
				b[bn++] = a[i++];
		}
		t = a, a = b, b = t, an = bn;
		/* Pass 3: ([\.,])([^0-9]) -> " \1 \2" */
		bn = 0;
		for (size_t i = 0; i < an;) {
			if (i + 1 < an && (a[i] == '.' || a[i] == ',') && !is_digit((unsigned char)a[i + 1])) {
				b[bn++] = ' ';
				b[bn++] = a[i];
				b[bn++] = ' ';
				b[bn++] = a[i + 1];
				i += 2;
			} else
				b[bn++] = a[i++];
		}
		t = a, a = b, b = t, an = bn;
	}
	if (ndash) {
		/* Pass 4: ([0-9])(-) -> "\1 \2 " */
		bn = 0;
		for (size_t i = 0; i < an;) {
			if (i + 1 < an && is_digit((unsigned char)a[i]) && a[i + 1] == '-') {
				b[bn++] = a[i];
				b[bn++] = ' ';
				b[bn++] = '-';
				b[bn++] = ' ';
				i += 2;
			} else
				b[bn++] = a[i++];
		}
		t = a, a = b, b = t, an = bn;
	}
	*out_len = an;
	return a;
}

/* The code point at s[i..n) and its length; a byte that starts no valid sequence is -1, alone. */
static int32_t cp_at(const char *s, size_t n, size_t i, size_t *len)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
	if (k < 1) {
		*len = 1;
		return -1;
	}
	*len = (size_t)k;
	return c;
}

/* Unicode general categories as the regex module's \p{N}, \p{P} and \p{S} (utf8proc's tables). */
enum { CAT_OTHER, CAT_N, CAT_P, CAT_S };

static int cat_of(int32_t c)
{
	if (c < 0)
		return CAT_OTHER;
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
		return CAT_N;
	case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
	case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO:
		return CAT_P;
	case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK:
	case UTF8PROC_CATEGORY_SO:
		return CAT_S;
	default:
		return CAT_OTHER;
	}
}

static char *put_span(char *b, const char *p, size_t n)
{
	memcpy(b, p, n);
	return b + n;
}

/*
 * One of TokenizerV14International's re.sub passes over code points:
 * 1 (\P{N})(\p{P}) -> "\1 \2 ", 2 (\p{P})(\P{N}) -> " \1 \2", 3 (\p{S}) -> " \1 ".
 * b has room for 3 * an bytes; returns the end.
 */
static char *intl_pass(int pass, const char *a, size_t an, char *b)
{
	for (size_t i = 0, k1, k2; i < an; i += k1) {
		int c1 = cat_of(cp_at(a, an, i, &k1));
		if (pass == 3) {
			if (c1 == CAT_S)
				*b++ = ' ';
			b = put_span(b, a + i, k1);
			if (c1 == CAT_S)
				*b++ = ' ';
			continue;
		}
		if (i + k1 < an) {
			int c2 = cat_of(cp_at(a, an, i + k1, &k2));
			if (pass == 1 ? c1 != CAT_N && c2 == CAT_P : c1 == CAT_P && c2 != CAT_N) {
				if (pass == 2)
					*b++ = ' ';
				b = put_span(b, a + i, k1);
				*b++ = ' ';
				b = put_span(b, a + i + k1, k2);
				if (pass == 1)
					*b++ = ' ';
				k1 += k2;
				continue;
			}
		}
		b = put_span(b, a + i, k1);
	}
	return b;
}

/* sacreBLEU's intl: the three passes; the words are then split as ' '.join(line.split()) leaves them. */
static char *tok_intl(struct ng *g, const char *in, size_t n, size_t *out_len)
{
	const char *a = in;
	char *b = NULL;
	for (int pass = 1; pass <= 3; pass++) {
		b = ng_alloc(g, 3 * n + 1);
		n = (size_t)(intl_pass(pass, a, n, b) - b);
		a = b;
	}
	*out_len = n;
	return b;
}

/*
 * TokenizerZh's _UCODE_RANGES as Python compares them: a range written
 * '\u20000' is the two characters U+2000 '0', so one character is inside
 * it when it is above U+2000 and at most U+2A6D (and '\u2f800'..'\u2fa1d'
 * is U+2F81..U+2FA1): what sacreBLEU does, kept.
 */
static int is_zh(int32_t c)
{
	static const int32_t r[][2] = {
		{ 0x3400, 0x4db5 }, { 0x4e00, 0x9fa5 }, { 0x9fa6, 0x9fbb }, { 0xf900, 0xfa2d },
		{ 0xfa30, 0xfa6a }, { 0xfa70, 0xfad9 }, { 0x2001, 0x2a6d }, { 0x2f81, 0x2fa1 },
		{ 0xff00, 0xffef }, { 0x2e80, 0x2eff }, { 0x3000, 0x303f }, { 0x31c0, 0x31ef },
		{ 0x2f00, 0x2fdf }, { 0x2ff0, 0x2fff }, { 0x3100, 0x312f }, { 0x31a0, 0x31bf },
		{ 0xfe10, 0xfe1f }, { 0xfe30, 0xfe4f }, { 0x2600, 0x26ff }, { 0x2700, 0x27bf },
		{ 0x3200, 0x32ff }, { 0x3300, 0x33ff },
	};
	for (size_t i = 0; i < sizeof r / sizeof *r; i++)
		if (c >= r[i][0] && c <= r[i][1])
			return 1;
	return 0;
}

/* sacreBLEU's zh: strip(), each Chinese character set apart, then TokenizerRegexp (no padding). */
static char *tok_zh(struct ng *g, const char *in, size_t n, size_t *out_len)
{
	in = H->strip(in, n, &n);
	char *a = ng_alloc(g, 3 * n + 1), *e = a;
	for (size_t i = 0, k; i < n; i += k) {
		int z = is_zh(cp_at(in, n, i, &k));
		if (z)
			*e++ = ' ';
		e = put_span(e, in + i, k);
		if (z)
			*e++ = ' ';
	}
	return re_passes(g, a, (size_t)(e - a), out_len);
}

static size_t utf8_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

static int ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

/* Python's str.isspace() on an ASCII byte. */
static int ascii_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* The next word of s as str.split() sees it: ASCII text directly, anything else through the host. */
static const char *next_word(const char *s, size_t n, size_t *pos, size_t *w, int is_ascii)
{
	if (!is_ascii)
		return H->word(s, n, pos, w);
	size_t i = *pos;
	while (i < n && ascii_space((unsigned char)s[i]))
		i++;
	if (i == n) {
		*pos = n;
		return NULL;
	}
	size_t j = i;
	while (j < n && !ascii_space((unsigned char)s[j]))
		j++;
	*pos = j;
	*w = j - i;
	return s + i;
}

static int alnum_ascii(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/*
 * The end of the run of ASCII letters and digits at s[j..n): eight bytes
 * at a time where the bytes are little-endian in a word (a byte is in a
 * range when adding what brings the range's bottom to 0x80 sets its high
 * bit and adding what brings the top past 0x7f does not; high bits are
 * cleared first so that no sum carries into the next byte).  A word's end
 * is then found without a branch per byte.
 */
static size_t alnum_run(const char *s, size_t j, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && (defined(__GNUC__) || defined(__clang__))
	const uint64_t ones = 0x0101010101010101ull, high = 0x80 * ones;
	for (; j + 8 <= n; j += 8) {
		uint64_t x, v, lo;
		memcpy(&x, s + j, 8);
		v = x & ~high;
		lo = v | 0x20 * ones;
		uint64_t let = (lo + (0x80 - 'a') * ones) & ~(lo + (0x7f - 'z') * ones);
		uint64_t dig = (v + (0x80 - '0') * ones) & ~(v + (0x7f - '9') * ones);
		uint64_t other = ~((let | dig) & ~x) & high;
		if (other)
			return j + (size_t)__builtin_ctzll(other) / 8;
	}
#endif
	while (j < n && alnum_ascii((unsigned char)s[j]))
		j++;
	return j;
}

/*
 * Text with no byte cls[] marks 2 split on ASCII whitespace, its words'
 * ids into ids[]; -1 at the first marked byte (the long way, then).
 */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))	/* its own registers: segment() around it has many tokenizers */
#endif
static long split_fast(struct ng *g, const unsigned char *cls, const char *in, size_t n, uint32_t *ids)
{
	/*
	 * Two passes, each a small loop that keeps its values in registers:
	 * the words' ends (into ids[], as offsets), then their ids.
	 */
	size_t k = 0;
	if (n > UINT32_MAX)
		return -1;
	uint32_t *start = ng_alloc(g, (n / 2 + 1) * sizeof *start);	/* a word and a space: at most (n + 1) / 2 */
	for (size_t i = 0; i < n;) {
		unsigned char c = cls[(unsigned char)in[i]];
		if (c == 1) {
			i++;
			continue;
		}
		if (c == 2)
			return -1;
		size_t j = i + 1;
		while ((j = alnum_run(in, j, n)) < n && (c = cls[(unsigned char)in[j]]) == 0)
			j++;
		if (j < n && c == 2)
			return -1;
		start[k] = (uint32_t)i;
		ids[k++] = (uint32_t)j;
		i = j;
	}
	ng_units(g, in, start, ids, k, in + n);
	return (long)k;
}

/*
 * One segment as sacreBLEU prepares it: lower-cased if asked, rstrip()ped,
 * tokenized, split on Python whitespace; its unit ids (the record's
 * scratch) and their number in *nids.  Text with nothing for the
 * tokenizer to do (most of it, without punctuation) is split where it is.
 */
static uint32_t *segment(struct state *s, const char *in, size_t n, size_t *nids)
{
	const char *t = in;
	size_t tn = n, pos = 0, w;
	struct ng *g = &s->ng;
	if (s->lowercase)
		t = H->lower(t, tn, &tn);
	if (s->tok == TOK_13A || s->tok == TOK_NONE) {
		uint32_t *ids = ng_alloc(g, (tn + 1) * sizeof *ids);
		long k = split_fast(g, s->tok == TOK_13A ? cls13a : clsnone, t, tn, ids);
		if (k >= 0) {
			*nids = (size_t)k;
			return ids;
		}
	}
	int is_ascii = ascii(t, tn);
	/* rstrip(): the end of the last word. */
	size_t end = 0;
	if (is_ascii) {
		end = tn;
		while (end > 0 && ascii_space((unsigned char)t[end - 1]))
			end--;
	} else {
		for (const char *p; (p = H->word(t, tn, &pos, &w));)
			end = (size_t)(p - t) + w;
	}
	tn = end;
	if (s->tok == TOK_13A)
		t = tok13a(g, t, tn, &tn);
	else if (s->tok == TOK_INTL)
		t = tok_intl(g, t, tn, &tn);
	else if (s->tok == TOK_ZH)
		t = tok_zh(g, t, tn, &tn);
	uint32_t *ids = ng_alloc(g, (tn + 1) * sizeof *ids);
	size_t k = 0;
	pos = 0;
	for (const char *p; (p = next_word(t, tn, &pos, &w, is_ascii));) {
		if (s->tok != TOK_CHAR) {
			ids[k++] = ng_unit(g, p, w);
			continue;
		}
		for (size_t i = 0; i < w;) {
			size_t c = utf8_len((unsigned char)p[i]);
			if (i + c > w)
				c = w - i;
			ids[k++] = ng_unit(g, p + i, c);
			i += c;
		}
	}
	*nids = k;
	return ids;
}

struct bstats {
	double sys_len, ref_len, correct[MAXN], total[MAXN];
};

/* BLEU.compute_bleu() of sacreBLEU, on copies of the counts (add-k changes them). */
#define LOGMEMO 64

/* logs: log(100 c / t) by c * LOGMEMO + t, 0 until first use, or NULL. */
static double compute(const struct state *s, const struct bstats *st, int effective, double *prec, double *bp_out,
    double *logs)
{
	double correct[MAXN], total[MAXN];
	memcpy(correct, st->correct, sizeof correct);
	memcpy(total, st->total, sizeof total);
	double smooth_mteval = 1;
	int eff = s->order;
	for (int i = 0; i < s->order; i++)
		prec[i] = 0;
	double bp = 1.0;
	if (st->sys_len < st->ref_len)
		bp = st->sys_len > 0 ? exp(1 - st->ref_len / st->sys_len) : 0.0;
	*bp_out = bp;
	/* sacreBLEU's early stop (its #141): no match of any order is 0, whatever the smoothing. */
	int any = 0;
	for (int i = 0; i < s->order; i++)
		any |= correct[i] != 0;
	if (!any)
		return 0;
	for (int n = 1; n <= s->order; n++) {
		if (s->smooth == SM_ADDK && n > 1) {
			correct[n - 1] += s->smooth_value;
			total[n - 1] += s->smooth_value;
		}
		if (total[n - 1] == 0)
			break;
		if (effective)
			eff = n;
		if (correct[n - 1] == 0) {
			if (s->smooth == SM_EXP) {
				smooth_mteval *= 2;
				prec[n - 1] = 100. / (smooth_mteval * total[n - 1]);
			} else if (s->smooth == SM_FLOOR) {
				prec[n - 1] = 100. * s->smooth_value / total[n - 1];
			}
		} else {
			prec[n - 1] = 100. * correct[n - 1] / total[n - 1];
		}
	}
	double sum = 0;
	for (int i = 0; i < eff; i++) {
		double c = correct[i], t = total[i];
		if (prec[i] == 0.0)
			sum += -9999999999.0;
		else if (logs && c < LOGMEMO && t < LOGMEMO && c == (int)c && t == (int)t && prec[i] == 100. * c / t) {
			/* A sentence's few small counts repeat: their logs are looked up, and are log()'s. */
			double *l = &logs[(int)c * LOGMEMO + (int)t];
			if (*l == 0)
				*l = log(prec[i]);
			sum += *l;
		} else
			sum += log(prec[i]);
	}
	return bp * exp(sum / eff);
}

static const char *const stat_names[] = { "sys_len", "ref_len", "c1", "c2", "c3", "c4", "c5", "c6",
	"c7", "c8", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8" };

/* The digits of 0..999 and how many, made once: most counts are small. */
static struct {
	char d[3];
	unsigned char n;
} small_int[1000];

static void small_init(void)
{
	for (int i = 0; i < 1000; i++) {
		char t[8];
		int n = snprintf(t, sizeof t, "%d", i);
		memcpy(small_int[i].d, t, 3);
		small_int[i].n = (unsigned char)n;
	}
}

/*
 * A whole number's digits at p; returns the end.  Counts are whole: faster
 * than printf's %g.  A small one is four bytes copied whatever its length
 * (what follows overwrites the rest; p has room), so no branch on it.
 */
static inline char *put_int(char *p, double v)
{
	if (v >= 0 && v < 1000) {
		memcpy(p, &small_int[(int)v], 4);
		return p + small_int[(int)v].n;
	}
	char tmp[24];
	unsigned long long u = v < 0 ? (unsigned long long)-v : (unsigned long long)v;
	int k = 0;
	if (v < 0)
		*p++ = '-';
	do
		tmp[k++] = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	while (k > 0)
		*p++ = tmp[--k];
	return p;
}

/* A string literal at p; returns the end (its length is known when compiling). */
#define PUT_LIT(p, lit) (memcpy(p, lit, sizeof lit - 1), (p) + sizeof lit - 1)

/*
 * %.17g of a double, memoized by the small whole numbers it was computed
 * from (a precision from its counts, bp from the lengths): printf of a
 * double was the largest cost of a record, and short segments repeat the
 * same few hundred values.  The text is the same as printf's, it is
 * printf's.
 */
#define MEMO 64
struct memo {
	char txt[MEMO][MEMO][32];	/* the text, its length in the last byte; "" until first use */
};

static char *put_g(char *p, double v)
{
	return p + snprintf(p, 32, "%.17g", v);
}

/* p has room for 32 bytes: the text is copied whole, its length is what counts. */
static char *put_memo(char *p, struct memo *m, double a, double b, double v)
{
	if (!m || !(a >= 0 && a < MEMO && b >= 0 && b < MEMO))
		return put_g(p, v);
	char *t = m->txt[(int)a][(int)b];
	if (!t[0])
		t[31] = (char)snprintf(t, 31, "%.17g", v);
	memcpy(p, t, 32);
	return p + t[31];
}

static void details_of(struct state *s, const struct bstats *st, const double *prec, double bp,
    struct qa_text *d, int with_stats)
{
	char buf[1024], *p = buf;	/* at most 8 orders: a few hundred bytes */
	p = PUT_LIT(p, "{\"counts\":[");
	for (int i = 0; i < s->order; i++) {
		if (i)
			*p++ = ',';
		p = put_int(p, st->correct[i]);
	}
	p = PUT_LIT(p, "],\"totals\":[");
	for (int i = 0; i < s->order; i++) {
		if (i)
			*p++ = ',';
		p = put_int(p, st->total[i]);
	}
	p = PUT_LIT(p, "],\"precisions\":[");
	for (int i = 0; i < s->order; i++) {
		if (i)
			*p++ = ',';
		if (prec[i] == (double)(long long)prec[i])
			p = put_int(p, prec[i]);
		else if (prec[i] == 100. * st->correct[i] / st->total[i])
			p = put_memo(p, s->prec_memo, st->correct[i], st->total[i], prec[i]);
		else
			p = put_g(p, prec[i]);	/* smoothed */
	}
	p = PUT_LIT(p, "],\"bp\":");
	if (bp == 1)
		*p++ = '1';
	else if (with_stats && st->sys_len > 0 && st->sys_len < st->ref_len)	/* compute()'s exp(1 - r / c) */
		p = put_memo(p, s->bp_memo, st->sys_len, st->ref_len, bp);
	else
		p = put_g(p, bp);
	p = PUT_LIT(p, ",\"sys_len\":");
	p = put_int(p, st->sys_len);
	p = PUT_LIT(p, ",\"ref_len\":");
	p = put_int(p, st->ref_len);
	if (with_stats) {
		p = PUT_LIT(p, ",\"stats\":{\"sys_len\":");
		p = put_int(p, st->sys_len);
		p = PUT_LIT(p, ",\"ref_len\":");
		p = put_int(p, st->ref_len);
		for (int i = 0; i < s->order; i++) {
			/* ,"cN": and ,"tN": as stat_names[] has them, six bytes each */
			char key[6] = { ',', '"', 'c', (char)('1' + i), '"', ':' };
			memcpy(p, key, 6);
			p = put_int(p + 6, st->correct[i]);
			key[2] = 't';
			memcpy(p, key, 6);
			p = put_int(p + 6, st->total[i]);
		}
		*p++ = '}';
	}
	*p++ = '}';
	H->text_add(d, buf, (size_t)(p - buf));
}

static int score(void *st_, const struct qa_input *in, struct qa_output *out)
{
	struct state *s = st_;
	if (!s->prec_memo) {
		s->prec_memo = H->alloc(sizeof *s->prec_memo);
		s->bp_memo = H->alloc(sizeof *s->bp_memo);
		memset(s->prec_memo, 0, sizeof *s->prec_memo);
		memset(s->bp_memo, 0, sizeof *s->bp_memo);
		s->logs = H->alloc(LOGMEMO * LOGMEMO * sizeof *s->logs);
		memset(s->logs, 0, LOGMEMO * LOGMEMO * sizeof *s->logs);
	}
	struct ng *g = &s->ng;
	ng_begin(g);
	struct bstats st;
	memset(&st, 0, sizeof st);
	size_t nh;
	uint32_t *hyp = segment(s, in->answer, in->answer_len, &nh);
	uint32_t *hg = ng_grams(g, hyp, nh, s->order);
	ng_freeze(g);	/* the references' grams only count where the hypothesis has them */
	st.sys_len = (double)nh;
	for (int n = 0; n < s->order; n++)
		st.total[n] = nh >= (size_t)n + 1 ? (double)(nh - (size_t)n) : 0;

	/* Empty references are dropped, as sacreBLEU does, unless all are empty; each is tokenized once. */
	size_t nonempty = 0, nref = 0;
	for (size_t r = 0; r < in->nrefs; r++)
		nonempty += in->ref_lens[r] > 0;
	uint32_t **rg = ng_alloc(g, (in->nrefs + 1) * sizeof *rg);
	size_t *rn = ng_alloc(g, (in->nrefs + 1) * sizeof *rn);
	double best_diff = INFINITY;
	for (size_t r = 0; r < in->nrefs; r++) {
		if (nonempty && in->ref_lens[r] == 0)
			continue;
		uint32_t *ids = segment(s, in->refs[r], in->ref_lens[r], &rn[nref]);
		rg[nref] = ng_grams(g, ids, rn[nref], s->order);
		/* The closest reference length; on ties the shorter. */
		double len = (double)rn[nref], diff = fabs(st.sys_len - len);
		if (diff < best_diff || (diff == best_diff && len < st.ref_len)) {
			best_diff = diff;
			st.ref_len = len;
		}
		nref++;
	}
	/*
	 * Clipped counts per order: each hypothesis n-gram at most as often as
	 * in the reference that has it most.  With one reference that is the
	 * plain clipped match count.
	 */
	ng_counts(g);
	for (int n = 1; n <= s->order; n++) {
		size_t off = (size_t)(n - 1) * nh, m = nh >= (size_t)n ? nh - (size_t)n + 1 : 0;
		ng_hyp(g, hg + off, m);
		uint64_t c = 0;
		for (size_t r = 0; r < nref; r++) {
			size_t rm = rn[r] >= (size_t)n ? rn[r] - (size_t)n + 1 : 0;
			const uint32_t *gr = rg[r] + (size_t)(n - 1) * rn[r];
			c = nref == 1 ? ng_match_spend(g, gr, rm) : ng_match(g, gr, rm, 1);
		}
		if (nref > 1)
			c = ng_clip_best(g, hg + off, m);
		st.correct[n - 1] = (double)c;
	}

	s->ns = 0;
	s->snames[s->ns] = stat_names[0], s->svals[s->ns++] = st.sys_len;
	s->snames[s->ns] = stat_names[1], s->svals[s->ns++] = st.ref_len;
	for (int i = 0; i < s->order; i++) {
		s->snames[s->ns] = stat_names[2 + i], s->svals[s->ns++] = st.correct[i];
		s->snames[s->ns] = stat_names[10 + i], s->svals[s->ns++] = st.total[i];
	}
	double prec[MAXN], bp;
	out->score = compute(s, &st, s->effective_order, prec, &bp, s->logs);
	struct qa_text d = { 0 };
	details_of(s, &st, prec, bp, &d, 1);
	out->details = d.p;
	return 0;
}

/* What the last score() put in details.stats, in the same order. */
static size_t stats(void *st_, const char *const **names, const double **values)
{
	struct state *s = st_;
	*names = s->snames;
	*values = s->svals;
	return s->ns;
}

static int corpus(void *st_, const char *const *names, const double *sums, size_t n, double *score_out,
    char **details)
{
	struct state *s = st_;
	struct bstats st;
	memset(&st, 0, sizeof st);
	for (size_t i = 0; i < n; i++) {
		double *slot = NULL;
		if (strcmp(names[i], "sys_len") == 0)
			slot = &st.sys_len;
		else if (strcmp(names[i], "ref_len") == 0)
			slot = &st.ref_len;
		else if ((names[i][0] == 'c' || names[i][0] == 't') && names[i][1] >= '1' &&
		    names[i][1] <= '0' + MAXN && !names[i][2])
			slot = (names[i][0] == 'c' ? st.correct : st.total) + (names[i][1] - '1');
		if (slot)
			*slot = sums[i];
	}
	double prec[MAXN], bp;
	/* corpus_score(): sacreBLEU's BLEU() default, no effective order. */
	*score_out = compute(s, &st, 0, prec, &bp, NULL);
	struct qa_text d = { 0 };
	details_of(s, &st, prec, bp, &d, 0);
	*details = d.p;
	return 0;
}

static const struct qa_scorer_ops ops = {
	QA_OPS(qa_scorer_ops),
	.init = init,
	.score = score,
	.fini = fini,
	.corpus = corpus,
	.stats = stats,
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "bleu", "1.0",
	    "sacreBLEU 2.x BLEU, 0-100: sentence per record, corpus in the summary"),
	.flags = QA_NEEDS_ANSWER | QA_NEEDS_REFERENCE | QA_DETAILS_VALID,
	.scorer = &ops,
};

QA_PLUGIN_EXPORT(&plugin)
