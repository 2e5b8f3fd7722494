/*
 * The scanner in lib/json.c against the jsmn path it replaced, kept here
 * verbatim: on every input both must agree on accept or reject, and on an
 * accepted line on every token (type, extent, child count, subtree end).
 * Error messages and offsets are compared too: they must be equal on the
 * cases the tools' tests and man pages show, and elsewhere they may differ
 * only in the documented ways (the scanner reports the first byte where the
 * line stops being JSON; see "allowed" below).  QA_SCAN_VERBOSE=1 prints a
 * tally of every difference.
 *
 * Corpora: every line of tests/data and pipelines/tasks, bench-shaped
 * records, every short string over a JSON-ish alphabet, every byte and byte
 * pair in a few templates, strings across the 8-byte boundaries the
 * scanner reads in, seeded random documents and mutations of them, deep
 * nesting, huge strings, and the token cap.
 */
#include <glob.h>
#include <stdint.h>
#include <stdlib.h>

#include "qa.h"
#include "t.h"

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#define JSMN_STATIC
#include <jsmn.h>

/* ---- the old path: lib/json.c's json_parse before the scanner, unchanged but for names ---- */

struct old {
	const char *text;
	size_t len;
	jsmntok_t *tok;
	int *next;
	int *stack;
	unsigned ntok, cap;
	unsigned ncap;
};

static int o_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t o_tstart(const struct old *j, int i)
{
	return (size_t)j->tok[i].start;
}

static size_t o_tend(const struct old *j, int i)
{
	return (size_t)j->tok[i].end;
}

static int o_valid_primitive(const char *s, size_t n)
{
	if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0) ||
	    (n == 4 && memcmp(s, "null", 4) == 0))
		return 1;
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	if (i < n && s[i] == '.') {
		size_t d = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t d = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	return i == n;
}

static int o_gap_ok(const char *s, size_t from, size_t to, char sep, size_t *bad)
{
	int seen = 0;
	for (size_t i = from; i < to; i++) {
		if (o_is_ws(s[i]))
			continue;
		if (sep && s[i] == sep && !seen) {
			seen = 1;
			continue;
		}
		*bad = i;
		return 0;
	}
	if (sep && !seen) {
		*bad = to;
		return 0;
	}
	return 1;
}

static int o_fail(const char **err, size_t *err_off, const char *msg, size_t off)
{
	*err = msg;
	*err_off = off;
	return -1;
}

static int o_validate(struct old *j, const char **err, size_t *err_off)
{
	const char *s = j->text;
	int n = (int)j->ntok;
	size_t bad;

	int *stack = j->stack;
	int top = 0;
	for (int i = 0; i < n; i++) {
		while (top > 0 && o_tstart(j, i) >= o_tend(j, stack[top - 1]))
			j->next[stack[--top]] = i;
		stack[top++] = i;
	}
	while (top > 0)
		j->next[stack[--top]] = n;

	if (j->next[0] != n)
		return o_fail(err, err_off, "more than one JSON value on the line", o_tstart(j, j->next[0]));
	for (int i = 0; i < n; i++) {
		jsmntok_t *t = &j->tok[i];
		if (t->type == JSMN_PRIMITIVE) {
			if (!o_valid_primitive(s + t->start, (size_t)(t->end - t->start)))
				return o_fail(err, err_off, "invalid literal or number", (size_t)t->start);
			continue;
		}
		if (t->type == JSMN_STRING)
			continue;
		int is_obj = t->type == JSMN_OBJECT;
		size_t pos = (size_t)t->start + 1;
		int c = i + 1;
		for (int k = 0; k < t->size; k++) {
			if (!o_gap_ok(s, pos, o_tstart(j, c), k ? ',' : 0, &bad))
				return o_fail(err, err_off, k ? "expected ',' between values" : "unexpected character", bad);
			if (is_obj) {
				if (j->tok[c].type != JSMN_STRING || j->tok[c].size != 1)
					return o_fail(err, err_off, "object key without a value", o_tstart(j, c));
				int v = c + 1;
				if (!o_gap_ok(s, o_tend(j, c), o_tstart(j, v), ':', &bad))
					return o_fail(err, err_off, "expected ':' after key", bad);
				pos = o_tend(j, v);
				c = j->next[v];
			} else {
				pos = o_tend(j, c);
				c = j->next[c];
			}
		}
		if (!o_gap_ok(s, pos, (size_t)t->end - 1, 0, &bad))
			return o_fail(err, err_off, "expected ',' or a closing bracket", bad);
	}
	return 0;
}

static int old_parse(struct old *j, const char *text, size_t len, const char **err, size_t *err_off)
{
	jsmn_parser p;
	int r;

	j->text = text;
	j->len = len;
	j->ntok = 0;
	if (!j->cap) {
		j->cap = 64;
		j->tok = xreallocarray(NULL, j->cap, sizeof *j->tok);
	}
	size_t lead = 0;
	while (lead < len && o_is_ws(text[lead]))
		lead++;
	if (lead < len && text[lead] != '{' && text[lead] != '[' && text[lead] != '"') {
		size_t end = lead;
		while (end < len && !o_is_ws(text[end]))
			end++;
		if (!o_valid_primitive(text + lead, end - lead))
			return o_fail(err, err_off, "invalid JSON", lead);
		for (size_t i = end; i < len; i++)
			if (!o_is_ws(text[i]))
				return o_fail(err, err_off, text[i] ? "unexpected text after the JSON value" :
				    "NUL byte in line", i);
		j->tok[0] = (jsmntok_t){ .type = JSMN_PRIMITIVE, .start = (int)lead, .end = (int)end,
			.size = 0, .parent = -1 };
		j->ntok = 1;
		if (j->ncap < j->cap) {
			j->next = xreallocarray(j->next, j->cap, sizeof *j->next);
			j->stack = xreallocarray(j->stack, j->cap, sizeof *j->stack);
			j->ncap = j->cap;
		}
		j->next[0] = 1;
		return 0;
	}
	jsmn_init(&p);
	while ((r = jsmn_parse(&p, text, len, j->tok, j->cap)) == JSMN_ERROR_NOMEM) {
		if (j->cap >= QA_JSON_MAX_TOKENS)
			return o_fail(err, err_off, "too many JSON values on one line", p.pos);
		j->cap *= 2;
		j->tok = xreallocarray(j->tok, j->cap, sizeof *j->tok);
	}
	if (r == JSMN_ERROR_INVAL)
		return o_fail(err, err_off, "invalid JSON", p.pos);
	if (r == JSMN_ERROR_PART)
		return o_fail(err, err_off, "unexpected end of JSON", len);
	if (r == 0)
		return o_fail(err, err_off, p.pos < len ? "NUL byte in line" : "empty line", p.pos);
	j->ntok = (unsigned)r;
	for (int i = 0; i < r; i++)
		if (j->tok[i].type == JSMN_STRING)
			j->tok[i].start--, j->tok[i].end++;
	for (size_t i = o_tend(j, 0); i < len; i++)
		if (!o_is_ws(text[i]))
			return o_fail(err, err_off, text[i] ? "unexpected text after the JSON value" :
			    "NUL byte in line", i);
	if (j->ncap < j->cap) {
		j->next = xreallocarray(j->next, j->cap, sizeof *j->next);
		j->stack = xreallocarray(j->stack, j->cap, sizeof *j->stack);
		j->ncap = j->cap;
	}
	return o_validate(j, err, err_off);
}

/* ---- the comparison ---- */

static qa_json *J;
static struct old O;
static int verbose;

static long ncases, naccepted, nverdict, ntokens, nsame_err, nallowed, nother;

/* Error differences, by kind, for the tally. */
struct kind {
	const char *old, *new;
	int rel;	/* sign of new offset - old offset */
	long count;
	char example[96];
};
static struct kind kinds[256];
static size_t nkinds;

static void show(char *dst, size_t cap, const char *s, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			dst[o++] = (char)c;
		else
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
	}
	if (len && o + 5 >= cap)
		memcpy(dst + cap - 4, "...", 4);
	else
		dst[o] = '\0';
}

static void report(const char *why, const char *s, size_t len)
{
	static int shown;
	if (shown++ >= 20)
		return;
	char buf[200];
	show(buf, sizeof buf, s, len);
	fprintf(stderr, "scan: %s: [%s] (%zu bytes)\n", why, buf, len);
}

static int old_type(const struct old *o, int i)
{
	switch (o->tok[i].type) {
	case JSMN_OBJECT: return QA_OBJECT;
	case JSMN_ARRAY: return QA_ARRAY;
	case JSMN_STRING: return QA_STRING;
	default:
		switch (o->text[o->tok[i].start]) {
		case 't': return QA_TRUE;
		case 'f': return QA_FALSE;
		case 'n': return QA_NULL;
		default: return QA_NUMBER;
		}
	}
}

/*
 * Where the scanner's error may differ from the old one: it stops at the
 * first byte that cannot continue a JSON text, where the old path reported
 * jsmn's complaint first and its own checks later, so the scanner's offset
 * is never past the old one, with two exceptions.  A bad escape is shown at
 * its backslash (the old path named the string's opening quote), and a NUL
 * byte is named as one wherever it is (jsmn took it for the end of the
 * line, so the old message was "unexpected end of JSON" at the line's end).
 * Two old messages pointed before the fault, and may be followed by any
 * later offset: "object key without a value" named the key, and "expected
 * ',' or a closing bracket" could name a comma that was fine in itself.
 */
static int allowed(const char *s, const char *oe, size_t oo, const char *ne, size_t no)
{
	if (strcmp(ne, "invalid escape in string") == 0)
		return 1;
	if (strcmp(ne, "NUL byte in line") == 0)
		return 1;
	/* This one named a key that jsmn's reading had left without a value, not the byte at fault. */
	if (strcmp(oe, "object key without a value") == 0)
		return 1;
	/* And this one a comma that was fine in itself: the fault comes after it. */
	if (strcmp(oe, "expected ',' or a closing bracket") == 0 && s[oo] == ',')
		return 1;
	return no <= oo;
}

static int key_ok(const char *body, size_t n, int i)
{
	static char *want;
	static size_t cap;
	size_t kl;
	const char *key = json_key(J, i, &kl);
	if (!memchr(body, '\\', n))
		return key == body && kl == n && json_str_eq(J, i, body, n);
	if (3 * n + 1 > cap) {
		cap = 3 * n + 1;
		want = xrealloc(want, cap);
	}
	size_t wl = json_unescape(body, n, want);
	/* A key is found under its unescaped name, invalid bytes (U+FFFD, longer) and all. */
	return key != body && kl == wl && memcmp(key, want, wl) == 0 && json_str_eq(J, i, want, wl) &&
	    (wl == n && memcmp(want, body, n) == 0 ? 1 : !json_str_eq(J, i, body, n));
}

/* The byte an error names is the kind of byte its message speaks of. */
static int names_its_byte(const char *s, size_t len, const char *e, size_t off)
{
	if (strcmp(e, "unexpected end of JSON") == 0 || strcmp(e, "empty line") == 0)
		return off == len;
	if (off >= len)
		return 0;
	char c = s[off];
	if (strcmp(e, "NUL byte in line") == 0)
		return c == '\0';
	if (strcmp(e, "invalid escape in string") == 0)
		return c == '\\';
	if (strcmp(e, "object key without a value") == 0)
		return c == '"';
	if (strcmp(e, "mismatched closing bracket") == 0)
		return c == ']' || c == '}';
	if (strcmp(e, "invalid literal or number") == 0)
		return strchr("-0123456789tfn", c) != NULL;
	if (strcmp(e, "expected ',' between values") == 0)
		return strchr("{[\"-0123456789tfn", c) != NULL;
	if (strcmp(e, "unexpected text after the JSON value") == 0 || strcmp(e, "expected ':' after key") == 0 ||
	    strcmp(e, "expected ',' or a closing bracket") == 0 || strcmp(e, "invalid JSON") == 0)
		return !strchr(" \t\r\n", c);
	if (strcmp(e, "trailing comma") == 0) {
		size_t k = off + 1;
		while (k < len && strchr(" \t\r\n", s[k]) && s[k])
			k++;
		return c == ',' && k < len && (s[k] == ']' || s[k] == '}');
	}
	return strcmp(e, "too many JSON values on one line") == 0;
}

static void compare(const char *s, size_t len)
{
	const char *oe = NULL, *ne = NULL;
	size_t oo = 0, no = 0;
	int ro = old_parse(&O, s, len, &oe, &oo);
	int rn = json_parse(J, s, len, &ne, &no);
	ncases++;
	if (ro != rn) {
		nverdict++;
		report(ro == 0 ? "old accepts, new rejects" : "old rejects, new accepts", s, len);
		if (ro)
			fprintf(stderr, "scan:   old: %s at %zu\n", oe, oo);
		else
			fprintf(stderr, "scan:   new: %s at %zu\n", ne, no);
		return;
	}
	if (ro == 0) {
		naccepted++;
		int n = (int)O.ntok;
		int bad = json_ntokens(J) != n;
		for (int i = 0; i < n && !bad; i++) {
			int type = old_type(&O, i);
			size_t count = type == QA_OBJECT || type == QA_ARRAY ? (size_t)O.tok[i].size : 0;
			bad = (int)json_type(J, i) != type || json_start(J, i) != (size_t)O.tok[i].start ||
			    json_end(J, i) != (size_t)O.tok[i].end || json_count(J, i) != count ||
			    json_next(J, i) != O.next[i];
			/* A value hangs from its key, an element from its array: the same tree as jsmn's. */
			if (!bad && type == QA_STRING && O.tok[i].size != (O.tok[i].parent >= 0 &&
			    O.tok[O.tok[i].parent].type == JSMN_OBJECT))
				bad = 1;
			/* Keys: in place without a backslash, unescaped with one (the scanner notes which). */
			if (!bad && type == QA_STRING)
				bad = !key_ok(s + O.tok[i].start + 1, (size_t)(O.tok[i].end - O.tok[i].start) - 2, i);
		}
		if (bad) {
			ntokens++;
			report("tokens differ", s, len);
		}
		return;
	}
	if (!names_its_byte(s, len, ne, no)) {
		nother++;
		report("the error names the wrong byte", s, len);
		fprintf(stderr, "scan:   new: %s at %zu\n", ne, no);
	}
	if (strcmp(oe, ne) == 0 && oo == no) {
		nsame_err++;
		return;
	}
	int ok = allowed(s, oe, oo, ne, no);
	if (ok)
		nallowed++;
	else {
		nother++;
		report("error differs beyond what is allowed", s, len);
		fprintf(stderr, "scan:   old: %s at %zu; new: %s at %zu\n", oe, oo, ne, no);
	}
	int rel = no < oo ? -1 : no > oo;
	size_t k;
	for (k = 0; k < nkinds; k++)
		if (kinds[k].old == oe && kinds[k].new == ne && kinds[k].rel == rel)
			break;
	if (k == nkinds && nkinds < sizeof kinds / sizeof *kinds) {
		kinds[nkinds] = (struct kind){ oe, ne, rel, 0, "" };
		show(kinds[nkinds].example, sizeof kinds[nkinds].example, s, len < 60 ? len : 60);
		nkinds++;
	}
	if (k < nkinds)
		kinds[k].count++;
}

/* The message and offset the new path gives, for the fixed cases. */
static int error_is(const char *s, size_t len, const char *msg, size_t off)
{
	const char *e;
	size_t o;
	if (json_parse(J, s, len, &e, &o) == 0)
		return 0;
	if (strcmp(e, msg) != 0 || o != off) {
		fprintf(stderr, "scan: \"%s\": %s at %zu\n", s, e, o);
		return 0;
	}
	return 1;
}

static int same_error(const char *s, size_t len)
{
	const char *oe, *ne;
	size_t oo, no;
	if (old_parse(&O, s, len, &oe, &oo) == 0 || json_parse(J, s, len, &ne, &no) == 0)
		return 0;
	if (strcmp(oe, ne) != 0 || oo != no) {
		fprintf(stderr, "scan: \"%s\": old %s at %zu, new %s at %zu\n", s, oe, oo, ne, no);
		return 0;
	}
	return 1;
}

/* ---- corpora ---- */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1du;
}

static size_t below(size_t n)
{
	return (size_t)(rnd() % n);
}

static void ws(qa_buf *b)
{
	static const char w[] = " \t\r\n";
	if (below(4) == 0)
		for (size_t n = 1 + below(3); n--;)
			buf_addc(b, w[below(4)]);
}

static void gen_string(qa_buf *b)
{
	buf_addc(b, '"');
	size_t n = below(6) == 0 ? below(80) : below(12);
	for (size_t i = 0; i < n; i++) {
		size_t r = below(100);
		if (r < 60)
			buf_addc(b, "abcdefghij XYZ 0123456789{}[],:"[below(31)]);
		else if (r < 75) {
			static const char *const esc[] = { "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t" };
			buf_adds(b, esc[below(8)]);
		} else if (r < 82) {
			static const char hex[] = "0123456789abcdefABCDEF";
			buf_adds(b, "\\u");
			if (below(3) == 0)
				buf_adds(b, below(2) ? "d83d" : "DE00");	/* surrogates, paired or not */
			else
				for (int k = 0; k < 4; k++)
					buf_addc(b, hex[below(22)]);
		} else if (r < 88)
			buf_adds(b, below(2) ? "\xc3\xa9" : "\xe4\xb8\xad");	/* UTF-8 */
		else if (r < 93)
			buf_addc(b, (char)(0x80 + below(128)));	/* invalid UTF-8, alone */
		else if (r < 97)
			buf_addc(b, (char)(1 + below(31)));	/* raw control characters */
		else
			buf_addc(b, 0x7f);
	}
	buf_addc(b, '"');
}

static void digits(qa_buf *b, size_t min)
{
	for (size_t n = min + below(4); n--;)
		buf_addc(b, (char)('0' + below(10)));
}

static void gen_number(qa_buf *b)
{
	if (below(3) == 0)
		buf_addc(b, '-');
	if (below(3) == 0)
		buf_addc(b, '0');
	else {
		buf_addc(b, (char)('1' + below(9)));
		digits(b, 0);
	}
	if (below(3) == 0) {
		buf_addc(b, '.');
		digits(b, 1);
	}
	if (below(3) == 0) {
		buf_addc(b, "eE"[below(2)]);
		if (below(2))
			buf_addc(b, "+-"[below(2)]);
		digits(b, 1);
	}
}

static void gen_value(qa_buf *b, int depth)
{
	size_t r = below(depth > 6 ? 6 : 10);
	ws(b);
	if (r < 2)
		gen_string(b);
	else if (r < 4)
		gen_number(b);
	else if (r < 5) {
		static const char *const lit[] = { "true", "false", "null" };
		buf_adds(b, lit[below(3)]);
	} else if (r < 6)
		buf_adds(b, below(2) ? "{}" : "[]");
	else if (r < 8) {
		buf_addc(b, '[');
		for (size_t n = below(5), i = 0; i < n; i++) {
			if (i)
				buf_addc(b, ',');
			gen_value(b, depth + 1);
		}
		ws(b);
		buf_addc(b, ']');
	} else {
		buf_addc(b, '{');
		for (size_t n = below(5), i = 0; i < n; i++) {
			if (i)
				buf_addc(b, ',');
			ws(b);
			gen_string(b);
			ws(b);
			buf_addc(b, ':');
			gen_value(b, depth + 1);
		}
		ws(b);
		buf_addc(b, '}');
	}
	ws(b);
}

static void mutate(qa_buf *b)
{
	static const char alpha[] = "{}[]\",:\\ \t0123456789-+.eEtrufalsn\0\x01\x1f\x7f\x80\xff/xu";
	for (size_t m = 1 + below(3); m-- && b->len;) {
		size_t at = below(b->len);
		switch (below(6)) {
		case 0:	/* delete */
			memmove(b->p + at, b->p + at + 1, b->len - at - 1);
			b->len--;
			break;
		case 1:	/* insert */
			buf_addc(b, 0);
			memmove(b->p + at + 1, b->p + at, b->len - at - 1);
			b->p[at] = alpha[below(sizeof alpha - 1)];
			break;
		case 2:	/* replace */
			b->p[at] = alpha[below(sizeof alpha - 1)];
			break;
		case 3:	/* truncate */
			b->len = at;
			break;
		case 4:	/* swap two neighbours */
			if (at + 1 < b->len) {
				char c = b->p[at];
				b->p[at] = b->p[at + 1];
				b->p[at + 1] = c;
			}
			break;
		default: {	/* repeat a piece */
			size_t n = below(b->len - at) + 1;
			if (n > 16)
				n = 16;
			char piece[16];
			memcpy(piece, b->p + at, n);
			size_t to = below(b->len + 1);
			for (size_t k = 0; k < n; k++)
				buf_addc(b, 0);
			memmove(b->p + to + n, b->p + to, b->len - n - to);
			memcpy(b->p + to, piece, n);
			break;
		}
		}
	}
}

static void each_line_of(const char *pattern, long *lines)
{
	glob_t g;
	int r = glob(pattern, 0, NULL, &g);
	CHECK(r == 0 && g.gl_pathc > 0);	/* run from the top of the tree (tests/run does) */
	for (size_t f = 0; r == 0 && f < g.gl_pathc; f++) {
		qa_lines in;
		char *line;
		ssize_t n;
		if (lines_open(&in, g.gl_pathv[f]) < 0) {
			CHECK(!"cannot open a corpus file");
			continue;
		}
		while ((n = lines_next(&in, &line)) >= 0) {
			compare(line, (size_t)n);
			(*lines)++;
		}
		lines_close(&in);
	}
	if (r == 0)
		globfree(&g);
}

/* Every string of up to maxlen bytes over alpha. */
static void exhaustive(const char *alpha, size_t maxlen)
{
	size_t na = strlen(alpha);
	char s[16];
	size_t idx[16];
	for (size_t len = 0; len <= maxlen; len++) {
		memset(idx, 0, sizeof idx);
		for (;;) {
			for (size_t i = 0; i < len; i++)
				s[i] = alpha[idx[i]];
			compare(s, len);
			size_t i = 0;
			while (i < len && ++idx[i] == na)
				idx[i++] = 0;
			if (i == len)
				break;
		}
	}
}

/* tmpl with its '@' replaced by every byte, and by every pair of bytes when pairs. */
static void holes(const char *tmpl, int pairs)
{
	size_t n = strlen(tmpl), at = strcspn(tmpl, "@");
	char s[64];
	for (int a = 0; a < 256; a++) {
		memcpy(s, tmpl, at);
		s[at] = (char)a;
		memcpy(s + at + 1, tmpl + at + 1, n - at - 1);
		compare(s, n);
		if (!pairs)
			continue;
		for (int c = 0; c < 256; c++) {
			memcpy(s, tmpl, at);
			s[at] = (char)a;
			s[at + 1] = (char)c;
			memcpy(s + at + 2, tmpl + at + 1, n - at - 1);
			compare(s, n + 1);
		}
	}
}

static void bench_record(qa_buf *b, int i)
{
	char pad[361];
	for (int k = 0; k < 360; k++)
		pad[k] = "lorem ipsum "[k % 12];
	pad[360] = '\0';
	buf_printf(b, "{\"id\":%d,\"task\":\"geo\",\"prompt\":\"What is the capital of France? %s\","
	    "\"expected\":\"Paris\",\"response\":{\"text\":\"%s\",\"finish_reason\":\"stop\",\"model\":\"m\","
	    "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":3,\"total_tokens\":123},"
	    "\"latency_ms\":%d}}", i, pad, i % 7 ? "Paris" : "Lyon", 100 + i % 900);
}

int main(void)
{
	J = json_new();
	verbose = getenv("QA_SCAN_VERBOSE") != NULL;
	qa_buf b = { 0 };

	/* The fixed cases: what tests, man pages and users see. */
	CHECK(same_error("{\"broken\": ", 11));
	CHECK(same_error("plain \"text\"", 12));
	CHECK(same_error("not json", 8));
	CHECK(same_error("{\"id\":2,", 8));
	CHECK(same_error("{\"id\":2, \"response\":", 20));
	CHECK(same_error("{\"a\":1}\0garbage", 15));
	CHECK(same_error("", 0));
	CHECK(same_error("  \t", 3));
	CHECK(same_error("[tru]", 5));
	CHECK(same_error("[01]", 4));
	CHECK(same_error("[1.]", 4));
	CHECK(same_error("[1e]", 4));
	CHECK(same_error("[-]", 3));
	CHECK(same_error("[1:2]", 5));
	CHECK(same_error("[+1]", 4));
	CHECK(same_error("{} {}", 5));
	CHECK(same_error("{\"a\"}", 5));
	CHECK(same_error("{\"a\":}", 6));
	CHECK(same_error("{1:2}", 5));
	CHECK(same_error("[1 2]", 5));
	/* Where the scanner says more than jsmn did. */
	CHECK(error_is("{\"a\" 1}", 7, "expected ':' after key", 5));
	CHECK(same_error("{\"a\":\"x", 7));
	CHECK(error_is("{\"a\":1]", 7, "mismatched closing bracket", 6));
	CHECK(error_is("[\"a\\x\"]", 7, "invalid escape in string", 3));
	CHECK(error_is("[\"\\u12\"]", 8, "invalid escape in string", 2));
	CHECK(error_is("[1,]", 4, "trailing comma", 2));
	CHECK(error_is("{\"a\":1,}", 8, "trailing comma", 6));
	CHECK(error_is("[1,,2]", 6, "invalid JSON", 3));
	CHECK(error_is("{\"a\":\"x\0\"}", 10, "NUL byte in line", 7));
	CHECK(error_is("{\"a\":1}x", 8, "unexpected text after the JSON value", 7));

	/* Every line the project ships. */
	long lines = 0;
	each_line_of("tests/data/*.json*", &lines);
	each_line_of("tests/data/*/*.jsonl", &lines);
	each_line_of("pipelines/tasks/*.jsonl", &lines);
	CHECK(lines > 100);

	/* Bench-shaped records, whole and cut at every byte. */
	b.len = 0;
	bench_record(&b, 7);
	for (size_t n = 0; n <= b.len; n++)
		compare(b.p, n);

	/* Every short string over a JSON-ish alphabet. */
	exhaustive("{}[]\",: 01-.e\\", 5);
	exhaustive("\"\\u0aF/n", 7);

	/* Every byte, and every pair, in a few places. */
	holes("[@]", 1);
	holes("{\"a\":@}", 1);
	holes("[\"@\"]", 1);
	holes("[\"\\@\"]", 1);
	holes("[\"\\u00@1\"]", 0);
	holes("[1@]", 1);
	holes("[-@]", 0);
	holes("[1.@]", 0);
	holes("[1e@]", 0);
	holes("[t@ue]", 0);
	holes("{\"a\"@1}", 0);
	holes("{@:1}", 0);
	holes("[1,@]", 0);
	holes("[1]@", 1);
	holes("@[1]", 0);

	/* Strings across the 8-byte words the scanner reads, at every alignment. */
	for (size_t lead = 0; lead < 9; lead++)
		for (size_t n = 0; n < 40; n++)
			for (size_t at = 0; at <= n; at++) {
				static const char *const special[] = { "\"", "\\", "\\n", "\\u00e9", "\\q", "\x01", "\0" };
				for (size_t k = 0; k < sizeof special / sizeof *special; k++) {
					b.len = 0;
					for (size_t i = 0; i < lead; i++)
						buf_addc(&b, ' ');
					buf_adds(&b, "[\"");
					for (size_t i = 0; i < n; i++) {
						if (i == at)
							buf_add(&b, special[k], k == 6 ? 1 : strlen(special[k]));
						buf_addc(&b, (char)('a' + i % 26));
					}
					buf_adds(&b, "\"]");
					compare(b.p, b.len);
					compare(b.p, b.len - 1);
					compare(b.p, b.len - 2);
				}
			}

	/* Random documents, and mutations of them. */
	for (int i = 0; i < 40000; i++) {
		b.len = 0;
		gen_value(&b, below(4) ? 0 : 5);
		compare(b.p, b.len);
		size_t len = b.len;
		char *copy = xstrndup(b.p, len);
		for (int m = 0; m < 6; m++) {
			b.len = 0;
			buf_add(&b, copy, len);
			mutate(&b);
			compare(b.p, b.len);
		}
		free(copy);
	}
	for (int i = 0; i < 2000; i++) {
		b.len = 0;
		bench_record(&b, i);
		mutate(&b);
		compare(b.p, b.len);
	}

	/*
	 * Deep nesting: arrays, objects, cut short, mismatched at the bottom.
	 * Not deeper: jsmn closes a bracket by walking up from the last token,
	 * past every closed one, so the old path is quadratic in depth.
	 */
	{
		size_t depth = 3000;
		b.len = 0;
		for (size_t i = 0; i < depth; i++)
			buf_adds(&b, i % 2 ? "[" : "{\"k\":");
		buf_adds(&b, "1");
		for (size_t i = depth; i-- > 0;)
			buf_adds(&b, i % 2 ? "]" : "}");
		compare(b.p, b.len);
		compare(b.p, b.len - 1);
		compare(b.p, b.len / 2);
		char *mid = memchr(b.p, '1', b.len);
		*mid = ']';
		compare(b.p, b.len);
		*mid = '1';
		b.p[b.len - 1] = ']';
		compare(b.p, b.len);
	}

	/* Huge strings: 8 MB with escapes sprinkled in, then one bad one near the end. */
	{
		b.len = 0;
		buf_adds(&b, "{\"s\":\"");
		for (size_t i = 0; i < (8u << 20); i++)
			buf_addc(&b, i % 4099 == 0 ? '\\' : i % 4099 == 1 ? 'n' : (char)('a' + i % 26));
		buf_adds(&b, "\"}");
		compare(b.p, b.len);
		b.p[b.len - 100] = '\\';
		compare(b.p, b.len);
	}

	/* The token cap: a line of exactly QA_JSON_MAX_TOKENS tokens parses, one more is refused. */
	{
		b.len = 0;
		buf_addc(&b, '[');
		for (size_t i = 0; i < QA_JSON_MAX_TOKENS - 1; i++)
			buf_adds(&b, i ? ",0" : "0");
		buf_addc(&b, ']');
		compare(b.p, b.len);
		CHECK(json_parse(J, b.p, b.len, &(const char *){ 0 }, &(size_t){ 0 }) == 0);
		b.p[b.len - 1] = ',';
		buf_adds(&b, "0]");
		compare(b.p, b.len);
		CHECK(same_error(b.p, b.len));
	}

	CHECK(nverdict == 0);
	CHECK(ntokens == 0);
	CHECK(nother == 0);
	CHECK(ncases > 300000);
	if (verbose) {
		fprintf(stderr, "scan: %ld cases, %ld accepted; errors: %ld the same, %ld allowed differences\n",
		    ncases, naccepted, nsame_err, nallowed);
		for (size_t k = 0; k < nkinds; k++)
			fprintf(stderr, "scan: %7ld  old %-36s new %-36s %s  e.g. [%s]\n", kinds[k].count,
			    kinds[k].old, kinds[k].new, kinds[k].rel < 0 ? "earlier" : kinds[k].rel ? "LATER" : "same",
			    kinds[k].example);
	}
	buf_free(&b);
	free(O.tok);
	free(O.next);
	free(O.stack);
	json_free(&J);
	return t_done("scan");
}
