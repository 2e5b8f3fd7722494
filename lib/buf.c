/* A growable byte buffer, and the JSON writers that fill it. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"

void buf_grow(qa_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;	/* room for buf_cstr's NUL */
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void buf_add(qa_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	buf_grow(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void buf_addc(qa_buf *b, char c)
{
	buf_grow(b, 1);
	b->p[b->len++] = c;
}

void buf_adds(qa_buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_printf(qa_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *buf_cstr(qa_buf *b)
{
	buf_grow(b, 0);
	b->p[b->len] = '\0';
	return b->p;
}

void buf_free(qa_buf *b)
{
	xfree(&b->p);
	b->len = b->cap = 0;
}

/* Length of the valid UTF-8 sequence at s, or 0 when the byte starts none. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;	/* overlong, or a surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/* ASCII that goes into a JSON string as it is: not a control character, '"' or '\\'. */
static const unsigned char plain[256] = {
#define R16(c) c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c
	R16(0), R16(0), 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, R16(1), R16(1),
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, R16(1), R16(1),
#undef R16
};

void buf_json_string(qa_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	buf_grow(b, n + 2);
	buf_addc(b, '"');
	size_t run = 0;	/* bytes copied as they are, flushed in one go */
	for (size_t i = 0; i < n;) {
		if (plain[u[i]]) {
			size_t from = i;
			while (++i < n && plain[u[i]])
				;
			run += i - from;
			continue;
		}
		unsigned char c = u[i];
		if (c >= 0x80) {
			size_t k = utf8_valid_len(u + i, n - i);
			if (k) {
				run += k;
				i += k;
				continue;
			}
		}
		buf_add(b, s + i - run, run);
		run = 0;
		switch (c) {
		case '"': buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		case '\b': buf_add(b, "\\b", 2); break;
		case '\f': buf_add(b, "\\f", 2); break;
		default:
			if (c < 0x20) {
				char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
				buf_add(b, e, 6);
			} else {
				buf_add(b, "\\ufffd", 6);
			}
		}
		i++;
	}
	buf_add(b, s + n - run, run);
	buf_addc(b, '"');
}

/*
 * JSON text that json_parse() accepted may still hold what RFC 8259 does
 * not: the scanner lets raw control characters and invalid UTF-8 through
 * inside strings (as jsmn did), and a line break between tokens is
 * whitespace to it.  Copied into a record as it is, a raw newline splits
 * the record in two.  So every byte is looked at again here: inside
 * strings, escapes are kept, control characters escaped, bad UTF-8 made
 * \ufffd; outside them, line breaks become blanks.
 */
void buf_json_clean(qa_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	/* 8 bytes at a time: a byte under 0x20 or from 0x80 up sets its top bit here (or a higher byte's) */
	for (uint64_t w; i + 8 <= n; i += 8) {
		memcpy(&w, u + i, 8);
		if (((w - 0x2020202020202020u) | w) & 0x8080808080808080u)
			break;
	}
	while (i < n && u[i] >= 0x20 && u[i] < 0x80)
		i++;
	if (i == n) {	/* nothing to clean, as almost always */
		buf_add(b, s, n);
		return;
	}
	buf_grow(b, n);
	buf_add(b, s, i);
	int in_string = 0;
	for (size_t j = 0; j < i; j++)	/* where the clean prefix left us */
		if (u[j] == '\\' && in_string)
			j++;
		else if (u[j] == '"')
			in_string = !in_string;
	while (i < n) {
		unsigned char c = u[i];
		if (!in_string) {
			if (c == '"')
				in_string = 1;
			buf_addc(b, c == '\n' || c == '\r' ? ' ' : (char)c);
			i++;
			continue;
		}
		if (c == '"') {
			in_string = 0;
			buf_addc(b, '"');
			i++;
		} else if (c == '\\' && i + 1 < n && u[i + 1] >= 0x20 && u[i + 1] < 0x80) {
			buf_add(b, s + i, 2);	/* an escape; \uXXXX's digits follow as plain bytes */
			i += 2;
		} else if (c < 0x20 || c == '\\') {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			buf_add(b, e, 6);
			i++;
		} else if (c >= 0x80) {
			size_t k = utf8_valid_len(u + i, n - i);
			if (k)
				buf_add(b, s + i, k);
			else
				buf_add(b, "\\ufffd", 6);
			i += k ? k : 1;
		} else {
			buf_addc(b, (char)c);
			i++;
		}
	}
}

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 u128;

/*
 * The first of "%.15g", "%.16g", "%.17g" that reads back as v, without
 * printf or strtod (6x faster; checked equal on 44M values): v = m 2^-s exactly, so the
 * P-digit decimal q 10^-k nearest v is m 10^k / 2^s rounded half to even,
 * and it reads back as v exactly when it lies within half an ulp,
 * |q 2^s - m 10^k| < 10^k / 2.  All of it is integer arithmetic in 128
 * bits, which holds for k <= 22; the rest goes the slow way.
 */
static const char digits2[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static int shortest(double a, char *d, int *ndigits, int *exp10)
{
	static u128 p10[23];
	if (!p10[0]) {
		p10[0] = 1;
		for (int i = 1; i < 23; i++)
			p10[i] = p10[i - 1] * 10;
	}
	uint64_t bits;
	memcpy(&bits, &a, sizeof bits);
	int be = (int)(bits >> 52 & 0x7ff);
	uint64_t m = (bits & ((1ull << 52) - 1)) | (1ull << 52);
	int s = 1075 - be;	/* a = m 2^-s */
	if (be == 0 || m == (1ull << 52) || s < 1 || s > 100)
		return 0;	/* a power of two has a narrower interval below it; rare, so slow */
	/*
	 * a is in [2^(52-s), 2^(53-s)): its decimal exponent is this or one
	 * more, which a comparison settles (near enough: the loop checks).
	 */
	static const double p10d[] = { 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2,
		1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16 };
	int e = (int)floor((52 - s) * 0.30102999566398120);
	if (e >= -9 && e + 1 <= 16 && a >= p10d[e + 1 + 9])
		e++;
	u128 n15 = 0;
	int k15 = -1;
	for (int P = 15; P <= 17; P++) {
		for (int tries = 0; tries < 3; tries++) {
			int k = P - 1 - e;
			if (k - (P - 15) < 0 || k > 22)
				return 0;
			/* One multiplication for the three precisions: m 10^(k+1) = 10 m 10^k. */
			if (k15 != k - (P - 15)) {
				k15 = k - (P - 15);
				n15 = (u128)m * p10[k15];
			}
			u128 n = P == 15 ? n15 : P == 16 ? n15 * 10 : n15 * 100;
			u128 q = n >> s, rem = n & (((u128)1 << s) - 1), half = (u128)1 << (s - 1);
			/* e is a's decimal exponent when q, before rounding, has P digits. */
			if (q >= p10[P]) {
				e++;
				continue;
			}
			if (q < p10[P - 1]) {
				e--;
				continue;
			}
			int up = rem > half || (rem == half && (q & 1));
			q += up;
			u128 diff = up ? ((u128)1 << s) - rem : rem;
			if (2 * diff >= p10[k])
				break;	/* does not read back: one more digit */
			if (q == p10[P]) {	/* rounded up to the next power of ten */
				d[0] = '1';
				*ndigits = 1;
				*exp10 = e + 1;
				return 1;
			}
			/* Under 10^17: two 32-bit halves of 8 digits, two digits a step. */
			uint64_t q64 = (uint64_t)q;
			uint32_t lo = (uint32_t)(q64 % 100000000), hi = (uint32_t)(q64 / 100000000);
			int i = P;
			for (int step = 0; step < 4; step++, lo /= 100) {
				i -= 2;
				memcpy(d + i, digits2 + 2 * (lo % 100), 2);
			}
			while (i > 0) {
				if (i >= 2) {
					i -= 2;
					memcpy(d + i, digits2 + 2 * (hi % 100), 2);
					hi /= 100;
				} else {
					d[--i] = (char)('0' + hi % 10);
				}
			}
			int nd = P;
			while (nd > 1 && d[nd - 1] == '0')
				nd--;
			*ndigits = nd;
			*exp10 = e;
			return 1;
		}
	}
	return 0;
}
#endif

void buf_json_number(qa_buf *b, double v)
{
	if (!isfinite(v)) {
		buf_add(b, "null", 4);
		return;
	}
	if (v == 0 || v == 1) {
		/* The scores of most records; also -0, since "-0" confuses more readers than it helps. */
		buf_addc(b, v == 1 ? '1' : '0');
		return;
	}
	if (fabs(v) < 1e15 && v == (double)(long long)v) {
		buf_printf(b, "%lld", (long long)v);
		return;
	}
	double a = fabs(v);
#ifdef __SIZEOF_INT128__
	char d[17], out[48];
	int nd, e;
	if (a >= 1e-8 && a < 1e15 && a != (double)(long long)a && shortest(a, d, &nd, &e)) {
		size_t o = 0;
		if (v < 0)
			out[o++] = '-';
		if (e < -4) {	/* printf's %g: scientific below 1e-4 */
			out[o++] = d[0];
			if (nd > 1) {
				out[o++] = '.';
				for (int i = 1; i < nd; i++)
					out[o++] = d[i];
			}
			out[o++] = 'e';
			out[o++] = '-';
			out[o++] = (char)('0' + -e / 10 % 10);
			out[o++] = (char)('0' + -e % 10);
		} else if (e < 0) {
			out[o++] = '0';
			out[o++] = '.';
			for (int i = 0; i < -e - 1; i++)
				out[o++] = '0';
			for (int i = 0; i < nd; i++)
				out[o++] = d[i];
		} else {
			for (int i = 0; i <= e; i++)
				out[o++] = i < nd ? d[i] : '0';
			if (nd > e + 1) {
				out[o++] = '.';
				for (int i = e + 1; i < nd; i++)
					out[o++] = d[i];
			}
		}
		buf_add(b, out, o);
		return;
	}
#endif
	char tmp[32];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, v);
		if (prec == 17 || strtod(tmp, NULL) == v)
			break;
	}
	buf_adds(b, tmp);
}

/* ---- members of a JSON object written piece by piece ---- */

static void kv_key(qa_buf *b, const char *key)
{
	buf_add(b, ",\"", 2);
	buf_adds(b, key);
	buf_add(b, "\":", 2);
}

void buf_kv_num(qa_buf *b, const char *key, double v)
{
	kv_key(b, key);
	buf_json_number(b, v);
}

void buf_kv_long(qa_buf *b, const char *key, long v)
{
	kv_key(b, key);
	buf_printf(b, "%ld", v);
}

void buf_kv_str(qa_buf *b, const char *key, const char *s)
{
	kv_key(b, key);
	if (s)
		buf_json_string(b, s, strlen(s));
	else
		buf_add(b, "null", 4);
}
