/*
 * JSON lines, scanned in one pass.  The scanner checks the whole grammar
 * as it goes (RFC 8259: structure, commas and colons, literals, numbers,
 * escapes, one value per line) and writes a flat token array in document
 * order, the layout jsmn used: type, extent, child count, parent, plus
 * each token's subtree end (next), set when its container closes.
 * Nothing is copied; strings are read in place and unescaped on demand.
 * Inside a string, raw control characters and invalid UTF-8 are let
 * through, as they were under jsmn (json_str() makes the latter U+FFFD).
 *
 * Hot loops: most strings end within their first two 8-byte words, read
 * here; memchr finds the end of longer ones.  Either way a string notes
 * whether it holds a backslash, so keys without one are compared in place.
 * A NUL byte is found once per line with memchr, and the scan stops there.
 * Open containers are a linked stack through the parent links: depth costs
 * no memory of its own, no recursion, and closing a bracket is O(1).
 * An error names the first byte at which the line stops being JSON.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"

enum { T_OBJECT = 1, T_ARRAY = 2, T_STRING = 3, T_PRIMITIVE = 4 };	/* jsmn's numbering */

struct tok {
	unsigned char type;
	unsigned char escaped;	/* a string with a backslash in it */
	int start, end;		/* byte offsets; a string's include its quotes */
	int size;		/* members or elements; an object key has 1, its value */
	int parent;		/* the container, or for a member's value its key; the root -1 */
	int next;		/* the first token after this one's subtree */
};

struct qa_json {
	const char *text;
	size_t len;
	struct tok *tok;
	unsigned ntok, cap;
	qa_arena *arena;
	/*
	 * The last element json_index() found in each of a few arrays: callers
	 * walk arrays by index, often several side by side ("tokens[i]",
	 * "token_logprobs[i]", ...), which is quadratic from each array's start
	 * and linear from here.  A cache, so it changes behind const.
	 */
	struct { int arr, tok; size_t idx; } at[4];
	unsigned at_next;
};

static void forget_index(qa_json *j)
{
	for (size_t k = 0; k < sizeof j->at / sizeof *j->at; k++)
		j->at[k].arr = -1;
}

qa_json *json_new(void)
{
	qa_json *j = xcalloc(1, sizeof *j);
	forget_index(j);
	j->arena = arena_new();
	return j;
}

void json_free(qa_json **j)
{
	if (!*j)
		return;
	free((*j)->tok);
	arena_free(&(*j)->arena);
	xfree(j);
}

qa_arena *json_arena(qa_json *j)
{
	return j->arena;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t tstart(const qa_json *j, int i)
{
	return (size_t)j->tok[i].start;
}

static size_t tend(const qa_json *j, int i)
{
	return (size_t)j->tok[i].end;
}

/* tok is a token of this type (what json_type() says, without its detour through primitives). */
static int is(const qa_json *j, int tok, int type)
{
	return tok >= 0 && (unsigned)tok < j->ntok && j->tok[tok].type == type;
}

static int valid_primitive(const char *s, size_t n)
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

static int fail(const char **err, size_t *err_off, const char *msg, size_t off)
{
	*err = msg;
	*err_off = off;
	return -1;
}

/* What a byte can be between tokens. */
enum {
	C_BAD, C_WS, C_LBRACE, C_LBRACKET, C_RBRACE, C_RBRACKET, C_QUOTE, C_COMMA, C_COLON,
	C_NUMBER, C_TRUE, C_FALSE, C_NULL
};

static const unsigned char cls[256] = {
	[' '] = C_WS, ['\t'] = C_WS, ['\n'] = C_WS, ['\r'] = C_WS,
	['{'] = C_LBRACE, ['['] = C_LBRACKET, ['}'] = C_RBRACE, [']'] = C_RBRACKET,
	['"'] = C_QUOTE, [','] = C_COMMA, [':'] = C_COLON,
	['-'] = C_NUMBER, ['0'] = C_NUMBER, ['1'] = C_NUMBER, ['2'] = C_NUMBER, ['3'] = C_NUMBER,
	['4'] = C_NUMBER, ['5'] = C_NUMBER, ['6'] = C_NUMBER, ['7'] = C_NUMBER, ['8'] = C_NUMBER,
	['9'] = C_NUMBER, ['t'] = C_TRUE, ['f'] = C_FALSE, ['n'] = C_NULL,
};

/* A primitive ends at whitespace, a comma or a closing bracket. */
static int ends_primitive(unsigned char c)
{
	return cls[c] == C_WS || cls[c] == C_COMMA || cls[c] == C_RBRACE || cls[c] == C_RBRACKET;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

#define ONES ((uint64_t)0x0101010101010101u)
#define HIGHS (ONES * 0x80)

/*
 * Nonzero when one of the eight bytes in v is '"' or '\\'.  In each half a
 * borrow can only flag bytes above a true match, so the lowest flag is one.
 */
static uint64_t quote_or_backslash(uint64_t v)
{
	uint64_t q = v ^ (ONES * '"'), b = v ^ (ONES * '\\');
	return ((q - ONES) & ~q & HIGHS) | ((b - ONES) & ~b & HIGHS);
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FIRST_FLAGGED(m) ((size_t)__builtin_ctzll(m) / 8)	/* the lowest address is the lowest byte */
#endif

/*
 * The string whose opening quote is s[i]: the offset just past its closing
 * quote, or 0 with *bad where it goes wrong (len: it never ends).  *escaped
 * is set when it holds a backslash.  Most strings are short: the first two
 * words are looked at here; past them memchr (vectorised in any serious C
 * library) finds the closing quote, then any backslash before it.
 */
static inline size_t skip_string(const char *s, size_t i, size_t len, size_t *bad, unsigned char *escaped)
{
	const char *q = NULL;	/* a '"' at or after s[i], once memchr has found one */
	i++;
	for (int w = 0; w < 2 && len - i >= 8; w++) {
		uint64_t v;
		memcpy(&v, s + i, 8);
		uint64_t m = quote_or_backslash(v);
		if (m) {
#ifdef FIRST_FLAGGED
			i += FIRST_FLAGGED(m);
#else
			while (s[i] != '"' && s[i] != '\\')
				i++;
#endif
			if (s[i] == '"')
				return i + 1;
			goto escape;
		}
		i += 8;
	}
	for (;;) {
		if (!q || q < s + i) {
			q = memchr(s + i, '"', len - i);
			if (!q)
				q = s + len;	/* it never ends, unless a bad escape comes first */
		}
		const char *b = memchr(s + i, '\\', (size_t)(q - (s + i)));
		if (!b) {
			if (q == s + len)
				break;
			return (size_t)(q - s) + 1;
		}
		i = (size_t)(b - s);
escape:
		/* One of \" \\ \/ \b \f \n \r \t, or \u and four hex digits. */
		*escaped = 1;
		*bad = i++;
		if (i >= len)
			break;
		switch (s[i]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			i++;
			continue;
		case 'u':
			for (int k = 0; k < 4; k++)
				if (++i >= len)
					goto eof;
				else if (!is_hex(s[i]))
					return 0;
			i++;
			continue;
		default:
			return 0;
		}
	}
eof:
	*bad = len;
	return 0;
}

static int grow(qa_json *j)
{
	if (j->cap >= QA_JSON_MAX_TOKENS)
		return -1;
	j->cap *= 2;
	j->tok = xreallocarray(j->tok, j->cap, sizeof *j->tok);
	return 0;
}

/*
 * Scans the value at text[i] (an object, an array or a string) and what
 * follows it.  end is where the line stops for us: its length, or its
 * first NUL byte.
 */
static int scan(qa_json *j, size_t i, size_t end, const char **err, size_t *err_off)
{
	const char *s = j->text;
	struct tok *t = j->tok;
	unsigned n = 0;
	int cur = -1;		/* the innermost open container */
	int sup = -1;		/* what the next value hangs from: cur, or its key */
	int in_obj = 0;		/* cur is an object */
	int is_key = 0;		/* the string being read is an object's key */
	size_t st = 0, bad = 0;
	const char *msg;

value:
	while (i < end && cls[(unsigned char)s[i]] == C_WS)
		i++;
	if (i >= end)
		goto eof;
	is_key = 0;
token:
	if (n == j->cap) {
		if (grow(j) < 0)
			return fail(err, err_off, "too many JSON values on one line", i);
		t = j->tok;
	}
	st = i;
	t[n].start = (int)i;
	t[n].size = 0;
	t[n].parent = sup;
	switch (cls[(unsigned char)s[i]]) {
	case C_LBRACE:
	case C_LBRACKET:
		if (sup >= 0)
			t[sup].size++;
		in_obj = s[i] == '{';
		t[n].type = in_obj ? T_OBJECT : T_ARRAY;
		cur = sup = (int)n++;
		i++;
		while (i < end && cls[(unsigned char)s[i]] == C_WS)
			i++;
		if (i >= end)
			goto eof;
		if (s[i] == (in_obj ? '}' : ']'))
			goto close;
		if (in_obj)
			goto key;
		goto value;
	case C_QUOTE:
		t[n].escaped = 0;
		if (!(i = skip_string(s, i, end, &bad, &t[n].escaped)))
			goto bad_string;
		t[n].type = T_STRING;
		if (is_key)
			goto key_done;
		break;
	case C_NUMBER:
		if (s[i] == '-')
			i++;
		if (i < end && s[i] == '0')
			i++;
		else if (i < end && is_digit(s[i]))
			do
				i++;
			while (i < end && is_digit(s[i]));
		else
			goto bad_primitive;
		if (i < end && s[i] == '.') {
			size_t d = ++i;
			while (i < end && is_digit(s[i]))
				i++;
			if (i == d)
				goto bad_primitive;
		}
		if (i < end && (s[i] == 'e' || s[i] == 'E')) {
			i++;
			if (i < end && (s[i] == '+' || s[i] == '-'))
				i++;
			size_t d = i;
			while (i < end && is_digit(s[i]))
				i++;
			if (i == d)
				goto bad_primitive;
		}
		goto primitive;
	case C_TRUE:
		if (end - i < 4 || memcmp(s + i, "true", 4) != 0)
			goto bad_primitive;
		i += 4;
		goto primitive;
	case C_FALSE:
		if (end - i < 5 || memcmp(s + i, "false", 5) != 0)
			goto bad_primitive;
		i += 5;
		goto primitive;
	case C_NULL:
		if (end - i < 4 || memcmp(s + i, "null", 4) != 0)
			goto bad_primitive;
		i += 4;
		goto primitive;
	default:
		if (sup >= 0 && t[sup].type == T_STRING && (s[i] == '}' || s[i] == ','))
			return fail(err, err_off, "object key without a value", tstart(j, sup));
		goto bad_value;
	}
	goto done_leaf;
primitive:
	/* Like jsmn's strict mode: a delimiter must follow, even at the end of the line. */
	if (i >= end)
		goto eof;
	if (!ends_primitive((unsigned char)s[i]))
		goto bad_primitive;
	t[n].type = T_PRIMITIVE;
done_leaf:
	if (sup >= 0)
		t[sup].size++;
	t[n].end = (int)i;
	t[n].next = (int)n + 1;
	n++;
after:
	if (cur < 0)
		goto trailer;
	sup = cur;
	while (i < end && cls[(unsigned char)s[i]] == C_WS)
		i++;
	if (i >= end)
		goto eof;
	if (s[i] == ',') {
		i++;
		if (in_obj)
			goto key;
		goto value;
	}
	if (s[i] == (in_obj ? '}' : ']'))
		goto close;
	switch (cls[(unsigned char)s[i]]) {
	case C_RBRACE:
	case C_RBRACKET:
		msg = "mismatched closing bracket";
		break;
	case C_LBRACE: case C_LBRACKET: case C_QUOTE: case C_NUMBER: case C_TRUE: case C_FALSE: case C_NULL:
		msg = "expected ',' between values";
		break;
	default:
		msg = "expected ',' or a closing bracket";
		break;
	}
	return fail(err, err_off, msg, i);
close:
	t[cur].end = (int)++i;
	t[cur].next = (int)n;
	cur = t[cur].parent;
	if (cur >= 0 && t[cur].type == T_STRING)
		cur = t[cur].parent;
	in_obj = cur >= 0 && t[cur].type == T_OBJECT;
	goto after;
key:
	while (i < end && cls[(unsigned char)s[i]] == C_WS)
		i++;
	if (i >= end)
		goto eof;
	if (s[i] != '"')
		goto bad_value;
	is_key = 1;
	goto token;	/* and back to key_done: one copy of the string code, inlined */
key_done:
	t[sup].size++;
	t[n].end = (int)i;
	t[n].next = (int)n + 1;
	sup = (int)n++;
	while (i < end && cls[(unsigned char)s[i]] == C_WS)
		i++;
	if (i >= end)
		goto eof;
	if (s[i] != ':') {
		if (s[i] == '}' || s[i] == ',')
			return fail(err, err_off, "object key without a value", st);
		return fail(err, err_off, "expected ':' after key", i);
	}
	i++;
	goto value;

trailer:
	while (i < end && cls[(unsigned char)s[i]] == C_WS)
		i++;
	if (i < end)
		return fail(err, err_off, "unexpected text after the JSON value", i);
	if (end < j->len)
		return fail(err, err_off, "NUL byte in line", end);
	j->ntok = n;
	return 0;
eof:
	if (end < j->len)
		return fail(err, err_off, "NUL byte in line", end);
	return fail(err, err_off, "unexpected end of JSON", end);
bad_string:
	if (bad >= end)
		goto eof;
	return fail(err, err_off, "invalid escape in string", bad);
bad_primitive:
	/* The primitive runs to a delimiter, as jsmn read it; at the end of the line, it was cut short. */
	for (i = st; i < end && !ends_primitive((unsigned char)s[i]); i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			break;
	if (i >= end)
		goto eof;
	return fail(err, err_off, "invalid literal or number", st);
bad_value:
	/* Where a value or a key should start: a closing bracket there may follow a comma. */
	if (s[i] == ']' || s[i] == '}') {
		size_t c = i;
		while (c > 0 && is_ws(s[c - 1]))
			c--;
		if (c > 0 && s[c - 1] == ',')
			return fail(err, err_off, "trailing comma", c - 1);
	}
	return fail(err, err_off, "invalid JSON", i);
}

int json_parse(qa_json *j, const char *text, size_t len, const char **err, size_t *err_off)
{
	arena_reset(j->arena);
	j->text = text;
	j->len = len;
	j->ntok = 0;
	forget_index(j);
	/* A line of a million tokens should not pin their memory for the rest of the run. */
	if (j->cap > (1u << 16)) {
		xfree(&j->tok);
		j->cap = 0;
	}
	if (!j->cap) {
		j->cap = 64;
		j->tok = xreallocarray(NULL, j->cap, sizeof *j->tok);
	}
	if (len > INT_MAX)
		return fail(err, err_off, "line too long", 0);	/* offsets are ints */
	size_t lead = 0;
	while (lead < len && is_ws(text[lead]))
		lead++;
	if (lead == len)
		return fail(err, err_off, "empty line", len);
	if (!text[lead])
		return fail(err, err_off, "NUL byte in line", lead);
	if (text[lead] != '{' && text[lead] != '[' && text[lead] != '"') {
		/* A bare literal or number: the whole line up to whitespace. */
		size_t end = lead;
		while (end < len && !is_ws(text[end]))
			end++;
		if (!valid_primitive(text + lead, end - lead))
			return fail(err, err_off, "invalid JSON", lead);
		for (size_t i = end; i < len; i++)
			if (!is_ws(text[i]))
				return fail(err, err_off, text[i] ? "unexpected text after the JSON value" :
				    "NUL byte in line", i);
		j->tok[0] = (struct tok){ .type = T_PRIMITIVE, .escaped = 0, .start = (int)lead, .end = (int)end,
			.size = 0, .parent = -1, .next = 1 };
		j->ntok = 1;
		return 0;
	}
	const char *nul = memchr(text + lead, '\0', len - lead);
	return scan(j, lead, nul ? (size_t)(nul - text) : len, err, err_off);
}

int json_root(const qa_json *j)
{
	return j->ntok ? 0 : -1;
}

int json_ntokens(const qa_json *j)
{
	return (int)j->ntok;
}

int json_next(const qa_json *j, int tok)
{
	return j->tok[tok].next;
}

enum qa_type json_type(const qa_json *j, int tok)
{
	if (tok < 0 || (unsigned)tok >= j->ntok)
		return QA_ABSENT;
	const struct tok *t = &j->tok[tok];
	switch (t->type) {
	case T_OBJECT: return QA_OBJECT;
	case T_ARRAY: return QA_ARRAY;
	case T_STRING: return QA_STRING;
	case T_PRIMITIVE:
		switch (j->text[t->start]) {
		case 't': return QA_TRUE;
		case 'f': return QA_FALSE;
		case 'n': return QA_NULL;
		default: return QA_NUMBER;
		}
	default:
		return QA_ABSENT;
	}
}

size_t json_count(const qa_json *j, int tok)
{
	return is(j, tok, T_OBJECT) || is(j, tok, T_ARRAY) ? (size_t)j->tok[tok].size : 0;
}

size_t json_start(const qa_json *j, int tok)
{
	return tstart(j, tok);
}

size_t json_end(const qa_json *j, int tok)
{
	return tend(j, tok);
}

const char *json_raw(const qa_json *j, int tok, size_t *len)
{
	if (json_type(j, tok) == QA_ABSENT)
		return NULL;
	*len = tend(j, tok) - tstart(j, tok);
	return j->text + tstart(j, tok);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long hex4(const char *s, size_t n)
{
	if (n < 4)
		return -1;
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* out must hold 3n bytes: an invalid byte grows into U+FFFD. */
size_t json_unescape(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c != '\\') {
			if (c < 0x80) {
				out[o++] = (char)c;
				i++;
			} else {
				size_t used;
				int32_t cp = utf8_decode(s + i, n - i, &used);
				o += utf8_encode(cp, out + o);
				i += used;
			}
			continue;
		}
		if (i + 1 >= n) {
			o += utf8_encode(0xfffd, out + o);
			break;
		}
		char e = s[i + 1];
		i += 2;
		switch (e) {
		case 'n': out[o++] = '\n'; break;
		case 't': out[o++] = '\t'; break;
		case 'r': out[o++] = '\r'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'u': {
			long cp = hex4(s + i, n - i);
			if (cp < 0) {
				o += utf8_encode(0xfffd, out + o);
				break;
			}
			i += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
				long lo = hex4(s + i + 2, n - i - 2);
				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd;	/* a lone surrogate has no UTF-8 form */
			o += utf8_encode((int32_t)cp, out + o);
			break;
		}
		default: out[o++] = e; break;	/* \" \\ \/ */
		}
	}
	return o;
}

const char *json_str(const qa_json *j, int tok, size_t *len)
{
	if (!is(j, tok, T_STRING))
		return NULL;
	const char *s = j->text + j->tok[tok].start + 1;
	size_t n = (size_t)(j->tok[tok].end - j->tok[tok].start) - 2;
	char *out = arena_alloc(j->arena, 3 * n + 1);
	size_t o = json_unescape(s, n, out);
	out[o] = '\0';
	if (len)
		*len = o;
	return out;
}

const char *json_key(const qa_json *j, int tok, size_t *len)
{
	if (!is(j, tok, T_STRING))
		return NULL;
	const char *t = j->text + j->tok[tok].start + 1;
	size_t tn = (size_t)(j->tok[tok].end - j->tok[tok].start) - 2;
	if (j->tok[tok].escaped)
		return json_str(j, tok, len);
	*len = tn;
	return t;
}

static int has_high(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

int json_str_eq(const qa_json *j, int tok, const char *s, size_t n)
{
	if (!is(j, tok, T_STRING))
		return 0;
	const char *t = j->text + j->tok[tok].start + 1;
	size_t tn = (size_t)(j->tok[tok].end - j->tok[tok].start) - 2;
	/* A string without a backslash is compared as it stands, as json_key() hands it out. */
	if (!j->tok[tok].escaped)
		return tn == n && memcmp(t, s, n) == 0;
	/*
	 * Escapes shorten, but an invalid byte (U+FFFD, 3 bytes) lengthens: only
	 * a key of plain ASCII and escapes is told apart by length alone (found
	 * by fuzz_json: a key with both was not found under its own name).
	 */
	if (tn <= n && !has_high(t, tn))
		return 0;
	size_t len;
	const char *u = json_str(j, tok, &len);
	return len == n && memcmp(u, s, n) == 0;
}

int json_num(const qa_json *j, int tok, double *out)
{
	if (json_type(j, tok) != QA_NUMBER)
		return -1;
	/*
	 * A short integer (what counts and sufficient statistics are) read
	 * directly: below 2^53 every one is a double exactly, as strtod would
	 * give it, at a tenth of strtod's cost.
	 */
	size_t n;
	const char *s = json_raw(j, tok, &n), *e = s + n;
	int neg = s < e && *s == '-';
	if (n - (size_t)neg > 0 && n - (size_t)neg <= 15) {
		uint64_t u = 0;
		const char *p = s + neg;
		while (p < e && *p >= '0' && *p <= '9')
			u = u * 10 + (uint64_t)(*p++ - '0');
		if (p == e) {
			*out = neg ? -(double)u : (double)u;
			return 0;
		}
	}
	/* Validated, and followed by a delimiter, so strtod stops at the token's end. */
	*out = strtod(j->text + j->tok[tok].start, NULL);
	return 0;
}

int json_member(const qa_json *j, int obj, const char *key, size_t keylen)
{
	if (!is(j, obj, T_OBJECT))
		return -1;
	int found = -1, k = obj + 1;
	for (int i = 0; i < j->tok[obj].size; i++) {
		if (json_str_eq(j, k, key, keylen))
			found = k + 1;
		k = j->tok[k + 1].next;
	}
	return found;
}

/* One pass over obj's members for several keys (qa-cost reads every record this way). */
int json_members(const qa_json *j, int obj, const char *const *keys, const size_t *klen, size_t nkeys,
    int *val)
{
	int last = -1;
	for (size_t i = 0; i < nkeys; i++)
		val[i] = -1;
	if (json_type(j, obj) != QA_OBJECT)
		return -1;
	size_t n = json_count(j, obj);
	int k = obj + 1;
	for (size_t m = 0; m < n; m++, k = json_next(j, k + 1)) {
		last = k + 1;
		size_t len = 0;
		const char *raw = json_raw(j, k, &len);
		if (!raw || len < 2)
			continue;
		raw++;
		len -= 2;
		int escaped = 0;
		for (size_t i = 0; i < len && !escaped; i++)	/* keys are short: no call to memchr */
			escaped = raw[i] == '\\';
		for (size_t i = 0; i < nkeys; i++)
			if (escaped ? json_str_eq(j, k, keys[i], klen[i]) :
			    (len == klen[i] && raw[0] == keys[i][0] && memcmp(raw, keys[i], len) == 0)) {
				val[i] = k + 1;
				break;
			}
	}
	return last;
}

int json_index(const qa_json *j, int arr, size_t idx)
{
	if (!is(j, arr, T_ARRAY) || idx >= (size_t)j->tok[arr].size)
		return -1;
	qa_json *cache = (qa_json *)j;
	size_t k = 0, n = sizeof j->at / sizeof *j->at, i = 0;
	while (k < n && j->at[k].arr != arr)
		k++;
	if (k == n)
		k = cache->at_next++ % n;
	int c = arr + 1;
	if (j->at[k].arr == arr && idx >= j->at[k].idx) {
		i = j->at[k].idx;
		c = j->at[k].tok;
	}
	for (; i < idx; i++)
		c = j->tok[c].next;
	cache->at[k].arr = arr;
	cache->at[k].idx = idx;
	cache->at[k].tok = c;
	return c;
}

int json_key_at(const qa_json *j, int obj, size_t idx)
{
	if (!is(j, obj, T_OBJECT) || idx >= (size_t)j->tok[obj].size)
		return -1;
	int k = obj + 1;
	while (idx--)
		k = j->tok[k + 1].next;
	return k;
}

/* "response.text", "expected[0]", "a.b[2].c"; "" is tok itself. */
int json_find(const qa_json *j, int tok, const char *path)
{
	const char *p = path;
	while (tok >= 0 && *p) {
		if (*p == '[') {
			char *end;
			unsigned long idx = strtoul(p + 1, &end, 10);
			if (end == p + 1 || *end != ']')
				return -1;
			tok = json_index(j, tok, idx);
			p = end + 1;
		} else {
			if (*p == '.')
				p++;
			size_t n = strcspn(p, ".[");
			tok = json_member(j, tok, p, n);
			p += n;
		}
	}
	return tok;
}

const char *json_num_key(const qa_json *j, int tok, qa_buf *out, size_t *len)
{
	if (json_type(j, tok) != QA_NUMBER)
		return NULL;
	size_t n;
	const char *s = json_raw(j, tok, &n);
	out->len = 0;
	if (strspn(s, "-0123456789") >= n) {
		/* Digits, not a double: 20-digit ids stay apart. */
		if (n == 2 && s[0] == '-' && s[1] == '0')
			s = "0", n = 1;
		buf_add(out, s, n);
	} else {
		double v = 0;
		json_num(j, tok, &v);
		buf_json_number(out, v);
	}
	*len = out->len;
	return buf_cstr(out);
}
