/*
 * tokenize.h - sacreBLEU's tokenizers for bleu.c: 13a (Tokenizer13a and
 * TokenizerRegexp's four passes), intl (TokenizerV14International), zh,
 * and the splitting that char and none share with them; plus split_fast(),
 * which splits text with nothing for 13a or none to do where it lies.
 * Included after QA_PLUGIN_HOST and ngram.h (a record's scratch comes from
 * its arena), not a plugin of its own: the Makefile builds only the .c
 * files of plugins/scorers.  Call punct_init() once before the rest.
 */
#ifndef QA_TOKENIZE_H
#define QA_TOKENIZE_H

#include <stdint.h>
#include <string.h>

#include <utf8proc.h>

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

/* What split_fast()'s ids[] needs past its text's length plus one: split_sse2() writes ahead. */
#define SPLIT_SLACK 4

#if defined(__SSE2__)
#include <emmintrin.h>

/*
 * Sixteen bytes of s: bit i of the result is set when s[i] is ' ', and
 * *bad gets a bit for each byte that is neither ' ' nor an ASCII letter
 * or digit (compares are signed: a byte from 0x80 up is in no range).
 */
static inline uint32_t space16(const char *s, uint32_t *bad)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i lo = _mm_or_si128(x, _mm_set1_epi8(0x20));
	__m128i let = _mm_and_si128(_mm_cmpgt_epi8(lo, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(lo, _mm_set1_epi8('z' + 1)));
	__m128i dig = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
	__m128i sp = _mm_cmpeq_epi8(x, _mm_set1_epi8(' '));
	*bad |= 0xffffu ^ (uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(let, dig), sp));
	return (uint32_t)_mm_movemask_epi8(sp);
}

/*
 * The offsets base + b of the set bits b of m into o[k..], in order; the
 * new k returned.  Four are written whatever m holds (most sixteens hold
 * at most four words), so that the common case takes no branch on how
 * many there are: o[] has room for SPLIT_SLACK more than it gets.
 */
static inline size_t put_bits(uint32_t *o, size_t k, uint32_t m, uint32_t base)
{
	uint32_t c = m - ((m >> 1) & 0x5555u);	/* the bits of m (16 of them) counted: no popcnt before SSE4.2 */
	c = (c & 0x3333u) + ((c >> 2) & 0x3333u);
	c = (c + (c >> 4)) & 0x0f0fu;
	c = (c + (c >> 8)) & 0x1fu;
	uint32_t *w = o + k;
	for (int r = 0; r < 4; r++) {
		w[r] = base + (uint32_t)__builtin_ctz(m | 0x10000u);
		m &= m - 1;
	}
	for (w += 4; m; m &= m - 1)
		*w++ = base + (uint32_t)__builtin_ctz(m);
	return k + c;
}

/*
 * Text of ASCII letters, digits and ' ' alone, split on ' ' sixteen
 * bytes at a time: a word starts where a space is followed by another
 * byte and ends where the reverse happens, and the set bits of those two
 * masks give the offsets, with no branch per byte.  Both 13a and none
 * leave such text as it is, and cls13a and clsnone class its bytes 0 and
 * 1 alike.  The words' bounds into start[] and end[] (each with room
 * for SPLIT_SLACK more than the words), their number returned; -1 at
 * the first other byte (split_fast()'s loop, then).
 */
static long split_sse2(const char *in, size_t n, uint32_t *start, uint32_t *end)
{
	size_t ks = 0, ke = 0;
	uint32_t bad = 0, prev = 1;	/* a space before the text */
	for (size_t i = 0; i < n; i += 16) {
		char t[16];
		const char *p = in + i;
		if (n - i < 16) {	/* the last bytes, padded with spaces: no read past the text */
			memset(t, ' ', sizeof t);
			memcpy(t, p, n - i);
			p = t;
		}
		uint32_t sp = space16(p, &bad);
		if (bad)
			return -1;
		uint32_t edge = (sp ^ ((sp << 1) | prev)) & 0xffffu;
		uint32_t st = edge & ~sp, en = edge & sp;
		prev = sp >> 15;
		ks = put_bits(start, ks, st, (uint32_t)i);
		ke = put_bits(end, ke, en, (uint32_t)i);
	}
	if (ke < ks)	/* a word at the very end of a text of whole sixteens */
		end[ke++] = (uint32_t)n;
	return (long)ks;
}
#endif

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
	uint32_t *start = ng_alloc(g, (n / 2 + 1 + SPLIT_SLACK) * sizeof *start);	/* a word and a space: at most (n + 1) / 2 */
#if defined(__SSE2__)
	long ks = split_sse2(in, n, start, ids);
	if (ks >= 0) {
		ng_units(g, in, start, ids, (size_t)ks, in + n);
		return ks;
	}
#endif
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

#endif
