/*
 * openai provider: streamed answers (qa-send --stream): SSE events, the fast path and the full parse.  See openai.h.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "openai.h"

/* ---- streaming (qa-send --stream): one event at a time ---- */

/*
 * A streamed chat or completions answer, event by event: chat
 * "choices[0].delta" with content, reasoning_content or reasoning, a
 * role-only first delta; completions "choices[0].text"; finish_reason; a
 * usage-only last chunk with empty choices (stream_options.include_usage);
 * logprobs per chunk in the chat layout (content: [{token, logprob,
 * top_logprobs}], as OpenAI chat and llama.cpp send them) or the
 * completions layout (tokens, token_logprobs, top_logprobs), joined into
 * the completions layout the unstreamed answers give; {"error": ...} in
 * the stream.  The per-request state (stream()'s *acc) owns its buffers;
 * stream_reply() hands them to the qa_reply.
 */
struct stream_acc {
	int chat;			/* chat chunks (delta) rather than completions (text) */
	struct qa_text text, reasoning;
	struct qa_text lp_tokens, lp_values, lp_top;	/* the joined logprobs, in three parts */
	long lp_n, collisions;
	long chunk_tokens;		/* logprobs entries, else chunks with content or reasoning */
	long chunks;			/* events parsed */
	char *finish_reason, *usage, *model, *id, *server_timings;
	char *error;			/* why an event could not be read */
	int error_event;		/* ... because it was an error event */
	int mode;			/* QA_OPENAI_STREAM_PARSE, for the tests: 0 both paths, 1 "full", 2 "fast" only */
	struct qa_text tpl;		/* the last usual content chunk around its content string (fast_event) */
	size_t tpl_pre;			/* ... its bytes up to the string's opening quote, then those after its closing one */
};


static void sep(struct qa_text *t, long i)
{
	if (i)
		H->text_add(t, ",", 1);
}

/* A raw JSON value at path, or null. */
static void raw_or_null(struct qa_text *t, const qa_json *d, const char *path)
{
	size_t len;
	const char *v = H->type(d, path) != QA_ABSENT ? H->raw(d, path, &len) : NULL;

	H->text_add(t, v ? v : "null", v ? len : 4);
}

/* One entry's token (a string, else "") and logprob (a number, else null) appended. */
static void lp_token(struct stream_acc *st, const qa_json *d, const char *token_path, const char *logprob_path)
{
	size_t len;
	const char *s = H->string(d, token_path, &len);

	sep(&st->lp_tokens, st->lp_n);
	H->text_json(&st->lp_tokens, s ? s : "", s ? len : 0);
	sep(&st->lp_values, st->lp_n);
	if (H->type(d, logprob_path) == QA_NUMBER)
		raw_or_null(&st->lp_values, d, logprob_path);
	else
		H->text_add(&st->lp_values, "null", 4);
}

/*
 * Chat-layout entries {token, logprob, top_logprobs: [{token, logprob}]}
 * appended in the completions layout.  A top list becomes an object keyed
 * by token string; when several entries spell the same string the likeliest
 * keeps the key (as the non-streamed openai provider does) and collisions
 * counts the others.
 */
static long chat_logprobs(struct stream_acc *st, const qa_json *d, const char *base)
{
	size_t n = H->count(d, base), i, k, o, nt, tl, vl, ol;
	char path[200], p2[240];
	const char *ts, *tv, *os;
	double x, y;
	int first, beaten;

	for (i = 0; i < n; i++, st->lp_n++) {
		snprintf(path, sizeof path, "%s[%zu].token", base, i);
		snprintf(p2, sizeof p2, "%s[%zu].logprob", base, i);
		lp_token(st, d, path, p2);
		snprintf(path, sizeof path, "%s[%zu].top_logprobs", base, i);
		nt = H->count(d, path);
		sep(&st->lp_top, st->lp_n);
		H->text_add(&st->lp_top, "{", 1);
		first = 1;
		for (k = 0; k < nt; k++) {
			snprintf(p2, sizeof p2, "%s[%zu].token", path, k);
			ts = H->string(d, p2, &tl);
			snprintf(p2, sizeof p2, "%s[%zu].logprob", path, k);
			tv = H->number(d, p2, &x) == 0 ? H->raw(d, p2, &vl) : NULL;
			if (!ts || !tv)
				continue;
			beaten = 0;
			for (o = 0; o < nt && !beaten; o++) {
				if (o == k)
					continue;
				snprintf(p2, sizeof p2, "%s[%zu].token", path, o);
				os = H->string(d, p2, &ol);
				snprintf(p2, sizeof p2, "%s[%zu].logprob", path, o);
				if (os && ol == tl && memcmp(os, ts, tl) == 0 && H->number(d, p2, &y) == 0)
					beaten = y > x || (y == x && o < k);
			}
			if (beaten) {
				st->collisions++;
				continue;
			}
			if (!first)
				H->text_add(&st->lp_top, ",", 1);
			first = 0;
			H->text_json(&st->lp_top, ts, tl);
			H->text_add(&st->lp_top, ":", 1);
			H->text_add(&st->lp_top, tv, vl);
		}
		H->text_add(&st->lp_top, "}", 1);
	}
	return (long)n;
}

/* Completions-layout pieces {tokens, token_logprobs, top_logprobs} appended as they are. */
static long completion_logprobs(struct stream_acc *st, const qa_json *d, const char *base)
{
	char path[200], p2[240];
	size_t n, i;

	snprintf(path, sizeof path, "%s.tokens", base);
	n = H->count(d, path);
	for (i = 0; i < n; i++, st->lp_n++) {
		snprintf(path, sizeof path, "%s.tokens[%zu]", base, i);
		snprintf(p2, sizeof p2, "%s.token_logprobs[%zu]", base, i);
		lp_token(st, d, path, p2);
		snprintf(path, sizeof path, "%s.top_logprobs[%zu]", base, i);
		sep(&st->lp_top, st->lp_n);
		if (H->type(d, path) == QA_OBJECT)
			raw_or_null(&st->lp_top, d, path);
		else
			H->text_add(&st->lp_top, "null", 4);
	}
	return (long)n;
}

static void keep(char **slot, const qa_json *d, const char *path, enum qa_type want)
{
	size_t len;
	const char *s = want == QA_STRING ? H->string(d, path, &len) : NULL;
	char *v;

	if (s) {	/* one lookup instead of copy()'s two, for the strings of every chunk */
		v = H->alloc(len + 1);
		memcpy(v, s, len);
		v[len] = '\0';
	} else if ((v = H->copy(d, path, want)) == NULL) {
		return;
	}
	H->free(*slot);
	*slot = v;
}

/* Appends the string at path; 1 when it was a non-empty string. */
static int append(struct qa_text *t, const qa_json *d, const char *path)
{
	size_t len;
	const char *s = H->string(d, path, &len);

	if (!s || len == 0)
		return 0;
	H->text_add(t, s, len);
	return 1;
}

/*
 * The keys an event's text may hold, of those read below: one pass over its
 * bytes for each quoted name (or any \u escape, which could spell one: all
 * of them then).  A tenth of a lookup's cost, and most chunks lack most keys.
 */
enum { K_ERROR = 1, K_MODEL = 2, K_ID = 4, K_USAGE = 8, K_TIMINGS = 16, K_CONTENT = 32, K_REASONING = 64,
	K_FINISH = 128, K_LOGPROBS = 256 };
#define RAWKEY(s, bit) { s, sizeof s - 1, bit }
static const struct { const char *name; size_t len; unsigned bit; } rawkey[] = {
	RAWKEY("error\"", K_ERROR), RAWKEY("model\"", K_MODEL), RAWKEY("id\"", K_ID), RAWKEY("usage\"", K_USAGE),
	RAWKEY("timings\"", K_TIMINGS), RAWKEY("content\"", K_CONTENT), RAWKEY("reasoning", K_REASONING),
	RAWKEY("finish_reason\"", K_FINISH), RAWKEY("logprobs\"", K_LOGPROBS),
};
/* rawkey's index + 1 by first letter, 0 for none. */
static const unsigned char rawkey_of[256] = {
	['e'] = 1, ['m'] = 2, ['i'] = 3, ['u'] = 4, ['t'] = 5, ['c'] = 6, ['r'] = 7, ['f'] = 8, ['l'] = 9,
};

static unsigned raw_keys(const char *s, size_t len)
{
	const char *end = s + len, *q;
	unsigned has = 0;
	int i;

	for (q = s; (q = memchr(q, '\\', (size_t)(end - q))) != NULL && q + 1 < end; q += 2)
		if (q[1] == 'u')
			return ~0u;
	/* Each key above starts with its own letter: one compare per quoted string. */
	for (q = s; q < end && (q = memchr(q, '"', (size_t)(end - q))) != NULL; q++) {
		if (++q >= end || (i = rawkey_of[(unsigned char)*q]) == 0)
			continue;
		i--;
		if ((size_t)(end - q) < rawkey[i].len || q[1] != rawkey[i].name[1] ||
		    memcmp(q, rawkey[i].name, rawkey[i].len) != 0)
			continue;
		has |= rawkey[i].bit;
		q += rawkey[i].len;
		/* "finish_reason":null, in every chunk but the last, keeps nothing. */
		if (rawkey[i].bit == K_FINISH && (size_t)(end - q) >= 5 && memcmp(q, ":null", 5) == 0)
			has &= ~K_FINISH;
		/* q is past the key's closing quote (or inside "reasoning..."): the next quote opens a string. */
		if (rawkey[i].bit == K_REASONING)
			q = memchr(q, '"', (size_t)(end - q));
		if (!q)
			break;
	}
	return has;
}

/*
 * The fast path: the usual chunk read straight from its bytes, without a
 * parse or a lookup.  fast_event() recognises, strictly, the shape nearly
 * every chunk has (OpenAI's, llama.cpp's, vLLM's): an object whose
 * "choices" holds at most one object, with a "delta" of "content" and
 * "role" (chat) or a "text" (completions), a "finish_reason", "logprobs":
 * null, "error" null, "usage" and "timings" objects of printable ASCII
 * (kept as their bytes, as the host's copy() keeps them), and any other
 * key a string, a number, true, false or null.  Strings may hold the
 * simple escapes and valid UTF-8; keys no escape.  Anything else (\u
 * escapes, reasoning, logprobs, an error, a second choice, a key twice, a
 * byte the parser would read otherwise) is not recognised and the event
 * takes the full parse below, which gives the same answer for the events this one
 * takes (tests/unit/test_openai_stream.c compares the two, with
 * QA_OPENAI_STREAM_PARSE=full or =fast in the environment: one path only,
 * an event the fast one does not take then an error).  Nothing is kept
 * until the whole event has been recognised.
 */
struct span {
	const char *p;
	size_t len;
	int esc;	/* holds a backslash */
	int set;
};

struct fast {
	struct span content, finish, model, id, usage, timings;	/* usage and timings: their raw bytes */
	int choice;	/* choices[0] is an object */
};

static const char *fws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

#define F_ONES ((unsigned long long)0x0101010101010101u)
#define F_HIGHS (F_ONES * 0x80)
#define F_ZERO(v) (((v) - F_ONES) & ~(v) & F_HIGHS)

/* The string opening at *p (a quote): past its closing quote, or NULL when this path does not take it. */
static const char *fstr(const char *p, const char *e, struct span *sp)
{
	const unsigned char *u = (const unsigned char *)p + 1, *ue = (const unsigned char *)e;
	unsigned long long v;
	int esc = 0;

	for (;;) {
		/* Eight plain bytes at a time: none a quote, a backslash, NUL or above 0x7f. */
		while (ue - u >= 8) {
			memcpy(&v, u, 8);
			unsigned long long m = (v & F_HIGHS) | F_ZERO(v) | F_ZERO(v ^ (F_ONES * '"')) |
			    F_ZERO(v ^ (F_ONES * '\\'));

			if (m) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				/* The lowest flag is a true one (a borrow flags only bytes above one): short strings in one step. */
				u += __builtin_ctzll(m) / 8;
#endif
				break;
			}
			u += 8;
		}
		while (u < ue && *u != '"' && *u != '\\' && *u != 0 && *u < 0x80)
			u++;
		if (u >= ue || *u == 0)
			return NULL;
		if (*u == '"') {
			sp->p = p + 1;
			sp->len = (size_t)((const char *)u - p - 1);
			sp->esc = esc;
			sp->set = 1;
			return (const char *)u + 1;
		}
		if (*u == '\\') {
			if (++u >= ue)
				return NULL;
			switch (*u) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				break;
			default:	/* \u, or a bad escape: the full parse */
				return NULL;
			}
			esc = 1;
			u++;
		} else {
			/* Valid UTF-8 only (as utf8_decode reads it: no overlong form, surrogate or past U+10FFFF). */
			unsigned c = *u, n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 :
			    c >= 0xf0 && c <= 0xf4 ? 3 : 0;
			unsigned cp = c & (n == 1 ? 0x1f : n == 2 ? 0x0f : 0x07), k;

			if (n == 0 || (size_t)(ue - u) <= n)
				return NULL;
			for (k = 1; k <= n; k++) {
				if ((u[k] & 0xc0) != 0x80)
					return NULL;
				cp = cp << 6 | (u[k] & 0x3f);
			}
			if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
			    cp > 0x10ffff)
				return NULL;
			u += n + 1;
		}
	}
}

/* A number, true, false, null or a string; past it, or NULL. *is_null says which it was. */
static const char *fscalar(const char *p, const char *e, int *is_null)
{
	struct span sp;
	const char *d;

	*is_null = 0;
	if (p >= e)
		return NULL;
	if (*p == '"')
		return fstr(p, e, &sp);
	if ((size_t)(e - p) >= 4 && memcmp(p, "null", 4) == 0) {
		*is_null = 1;
		p += 4;
	} else if ((size_t)(e - p) >= 4 && memcmp(p, "true", 4) == 0) {
		p += 4;
	} else if ((size_t)(e - p) >= 5 && memcmp(p, "false", 5) == 0) {
		p += 5;
	} else {
		/* JSON's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
		if (*p == '-')
			p++;
		if (p < e && *p == '0')
			p++;
		else if (p < e && *p >= '1' && *p <= '9')
			while (p < e && *p >= '0' && *p <= '9')
				p++;
		else
			return NULL;
		if (p < e && *p == '.') {
			for (d = ++p; p < e && *p >= '0' && *p <= '9'; p++)
				;
			if (p == d)
				return NULL;
		}
		if (p < e && (*p == 'e' || *p == 'E')) {
			if (++p < e && (*p == '+' || *p == '-'))
				p++;
			for (d = p; p < e && *p >= '0' && *p <= '9'; p++)
				;
			if (p == d)
				return NULL;
		}
	}
	/* A delimiter must follow (the parser's rule); the caller checks which. */
	return p < e && (*p == ',' || *p == '}' || *p == ']' || *p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r') ? p : NULL;
}

/* A string or null into *sp (null leaves it unset); past it, or NULL. */
static const char *fstr_or_null(const char *p, const char *e, struct span *sp)
{
	int is_null;

	if (p < e && *p == '"')
		return fstr(p, e, sp);
	p = fscalar(p, e, &is_null);
	return is_null ? p : NULL;
}

/* Any value, as the parser reads it (containers at most 16 deep here); past it, or NULL. */
static const char *fany(const char *p, const char *e, int depth)
{
	struct span key;
	int is_null;
	char close;

	if (p >= e || (*p != '{' && *p != '['))
		return fscalar(p, e, &is_null);
	if (depth > 16)
		return NULL;
	close = *p == '{' ? '}' : ']';
	p = fws(p + 1, e);
	if (p < e && *p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			if (p >= e || *p != '"' || !(p = fstr(p, e, &key)))
				return NULL;
			p = fws(p, e);
			if (p >= e || *p != ':')
				return NULL;
			p = fws(p + 1, e);
		}
		if (!(p = fany(p, e, depth + 1)))
			return NULL;
		p = fws(p, e);
		if (p < e && *p == close)
			return p + 1;
		if (p >= e || *p != ',')
			return NULL;
		p = fws(p + 1, e);
	}
}

/*
 * An object kept as the host's copy() keeps it: its raw bytes, when they
 * are all printable ASCII (what copy() would clean is left to the full
 * parse).  null leaves *sp unset.
 */
static const char *fraw_object(const char *p, const char *e, struct span *sp)
{
	const char *q;
	int is_null;

	if (p >= e || *p != '{') {
		p = fscalar(p, e, &is_null);
		return is_null ? p : NULL;
	}
	if (!(q = fany(p, e, 0)))
		return NULL;
	for (sp->p = p; p < q; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x80)
			return NULL;
	sp->len = (size_t)(q - sp->p);
	sp->set = 1;
	return q;
}

/* Which object: the event, choices[0], its delta. */
enum { F_TOP, F_CHOICE, F_DELTA };

static const char *fobject(const char *p, const char *e, int chat, int level, struct fast *f);

/* The value of key (klen bytes at k) in an object of level; past it, or NULL. */
static const char *fvalue(const char *k, size_t klen, const char *p, const char *e, int chat, int level,
    struct fast *f, unsigned *seen)
{
#define KNOWN(level, s) { level, s, sizeof s - 1 }
	static const struct { int level; const char *name; size_t len; } known[] = {
		KNOWN(F_TOP, "choices"), KNOWN(F_TOP, "error"), KNOWN(F_TOP, "usage"), KNOWN(F_TOP, "model"),
		KNOWN(F_TOP, "id"), KNOWN(F_TOP, "timings"), KNOWN(F_CHOICE, "delta"), KNOWN(F_CHOICE, "text"),
		KNOWN(F_CHOICE, "finish_reason"), KNOWN(F_CHOICE, "logprobs"), KNOWN(F_DELTA, "content"),
		KNOWN(F_DELTA, "reasoning_content"), KNOWN(F_DELTA, "reasoning"),
	};
#undef KNOWN
	/* known[]'s index + 1 by level and first letter (reasoning_content's for both reasonings). */
	static const unsigned char by_letter[3][128] = {
		[F_TOP] = { ['c'] = 1, ['e'] = 2, ['u'] = 3, ['m'] = 4, ['i'] = 5, ['t'] = 6 },
		[F_CHOICE] = { ['d'] = 7, ['t'] = 8, ['f'] = 9, ['l'] = 10 },
		[F_DELTA] = { ['c'] = 11, ['r'] = 12 },
	};
	size_t i = sizeof known / sizeof known[0];
	int is_null;

	if (klen > 0 && (unsigned char)k[0] < 128 && by_letter[level][(unsigned char)k[0]]) {
		i = by_letter[level][(unsigned char)k[0]] - 1u;
		if (i == 11 && klen == known[12].len)
			i = 12;
		if (known[i].len != klen || memcmp(k, known[i].name, klen) != 0)
			i = sizeof known / sizeof known[0];
	}
	if (i == sizeof known / sizeof known[0])
		return fscalar(p, e, &is_null);	/* a key the full parse does not read */
	if (*seen & 1u << i)
		return NULL;	/* twice: the parse's lookup says which one counts */
	*seen |= 1u << i;
	switch (i) {
	case 0:	/* choices: [] or [{...}] */
		if (p >= e || *p != '[')
			return NULL;
		p = fws(p + 1, e);
		if (p < e && *p == ']')
			return p + 1;
		if (!(p = fobject(p, e, chat, F_CHOICE, f)))
			return NULL;
		f->choice = 1;
		p = fws(p, e);
		return p < e && *p == ']' ? p + 1 : NULL;
	case 2:
		return fraw_object(p, e, &f->usage);
	case 5:
		return fraw_object(p, e, &f->timings);
	case 1: case 9: case 11: case 12:	/* error, logprobs, reasoning: null only */
		p = fscalar(p, e, &is_null);
		return is_null ? p : NULL;
	case 3:
		return p < e && *p == '"' ? fstr(p, e, &f->model) : NULL;
	case 4:
		return p < e && *p == '"' ? fstr(p, e, &f->id) : NULL;
	case 6:	/* delta: chat reads it; completions ignore a null one */
		if (chat)
			return fobject(p, e, chat, F_DELTA, f);
		p = fscalar(p, e, &is_null);
		return is_null ? p : NULL;
	case 7:	/* text: completions read it; chat ignores it */
		return chat ? fscalar(p, e, &is_null) : fstr_or_null(p, e, &f->content);
	case 8:
		return fstr_or_null(p, e, &f->finish);
	case 10:
		return fstr_or_null(p, e, &f->content);
	default:
		return NULL;
	}
}

/* The object opening at p; past it, or NULL. */
static const char *fobject(const char *p, const char *e, int chat, int level, struct fast *f)
{
	struct span key;
	unsigned seen = 0;

	if (p >= e || *p != '{')
		return NULL;
	p = fws(p + 1, e);
	if (p < e && *p == '}')
		return p + 1;
	for (;;) {
		if (p >= e || *p != '"' || !(p = fstr(p, e, &key)) || key.esc)
			return NULL;
		p = fws(p, e);
		if (p >= e || *p != ':')
			return NULL;
		p = fws(p + 1, e);
		if (!(p = fvalue(key.p, key.len, p, e, chat, level, f, &seen)))
			return NULL;
		p = fws(p, e);
		if (p < e && *p == '}')
			return p + 1;
		if (p >= e || *p != ',')
			return NULL;
		p = fws(p + 1, e);
	}
}

/* text_add(), without the call when the bytes fit. */
static void fadd(struct qa_text *t, const char *s, size_t n)
{
	if (t->p && t->len + n < t->cap) {
		memcpy(t->p + t->len, s, n);
		t->len += n;
		t->p[t->len] = '\0';
	} else {
		H->text_add(t, s, n);
	}
}

/* A string's bytes, its escapes read, appended. */
static void fappend(struct qa_text *t, const struct span *sp)
{
	const char *p = sp->p, *e = sp->p + sp->len, *b;
	char c;

	if (!sp->esc) {
		fadd(t, p, sp->len);
		return;
	}
	while ((b = memchr(p, '\\', (size_t)(e - p))) != NULL) {
		fadd(t, p, (size_t)(b - p));
		switch (b[1]) {
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		default: c = b[1]; break;	/* \" \\ \/ */
		}
		fadd(t, &c, 1);
		p = b + 2;
	}
	fadd(t, p, (size_t)(e - p));
}

/* A string kept as a C string in *slot (replacing what was there). */
static void fkeep(char **slot, const struct span *sp)
{
	struct qa_text t = { 0 };

	fappend(&t, sp);
	H->text_add(&t, "", 0);
	H->free(*slot);
	*slot = t.p;
}

/* Raw bytes kept as a C string in *slot (replacing what was there). */
static void fraw(char **slot, const struct span *sp)
{
	char *v = H->alloc(sp->len + 1);

	memcpy(v, sp->p, sp->len);
	v[sp->len] = '\0';
	H->free(*slot);
	*slot = v;
}

/* The event's flags as stream_event() gives them, or -1: not the usual shape (nothing was kept). */
static int fast_event(struct stream_acc *st, const char *data, size_t len)
{
	const char *e = data + len, *p = fws(data, e);
	struct fast f;
	int flags = 0;

	memset(&f, 0, sizeof f);
	/*
	 * A stream's chunks differ in their content alone: an event with the
	 * bytes of the last one before and after its content string, and a
	 * string between them, is read the same.
	 */
	if (st->tpl.len && len > st->tpl.len && memcmp(data, st->tpl.p, st->tpl_pre) == 0 &&
	    memcmp(e - (st->tpl.len - st->tpl_pre), st->tpl.p + st->tpl_pre, st->tpl.len - st->tpl_pre) == 0 &&
	    fstr(data + st->tpl_pre - 1, e, &f.content) == e - (st->tpl.len - st->tpl_pre)) {
		st->chunks++;
		if (f.content.len == 0)
			return QA_CHUNK_CHOICES;
		fappend(&st->text, &f.content);
		st->chunk_tokens++;
		return QA_CHUNK_CHOICES | QA_CHUNK_CONTENT;
	}
	if (!(p = fobject(p, e, st->chat, F_TOP, &f)) || fws(p, e) != e)
		return -1;
	if (f.choice && f.content.set && !f.finish.set && !f.usage.set && !f.timings.set) {
		st->tpl.len = 0;
		st->tpl_pre = (size_t)(f.content.p - data);
		H->text_add(&st->tpl, data, st->tpl_pre);
		H->text_add(&st->tpl, f.content.p + f.content.len + 1, (size_t)(e - f.content.p - f.content.len - 1));
	}
	st->chunks++;
	if (!st->model && f.model.set)
		fkeep(&st->model, &f.model);
	if (!st->id && f.id.set)
		fkeep(&st->id, &f.id);
	if (f.usage.set) {
		fraw(&st->usage, &f.usage);
		flags |= QA_CHUNK_USAGE;
	}
	if (f.timings.set)
		fraw(&st->server_timings, &f.timings);
	if (!f.choice)
		return flags;
	flags |= QA_CHUNK_CHOICES;
	if (f.content.set && f.content.len > 0) {
		fappend(&st->text, &f.content);
		flags |= QA_CHUNK_CONTENT;
		st->chunk_tokens++;
	}
	if (f.finish.set)
		fkeep(&st->finish_reason, &f.finish);
	return flags;
}

static int stream_event(struct stream_acc *st, const char *data, size_t len)
{
	const char *perr, *msg;
	const qa_json *d;
	unsigned flags = 0, k;
	long ntok = 0;
	size_t mlen;
	int fast;

	if (st->mode != 1 && (fast = fast_event(st, data, len)) >= 0)
		return fast;
	if (st->mode == 2) {
		H->free(st->error);
		st->error = H->format("chunk %ld is not in the fast path's shape", ++st->chunks);
		return -1;
	}
	d = H->parse(data, len, &perr);
	k = raw_keys(data, len);
	st->chunks++;
	if (!d || H->type(d, "") != QA_OBJECT) {
		H->free(st->error);
		st->error = H->format("chunk %ld is not a JSON object (%s)", st->chunks, d ? "another value" : perr);
		return -1;
	}
	/* Tens of thousands of events a second: only the keys a chunk may have are looked up. */
	if ((k & K_ERROR) && H->type(d, "error") != QA_ABSENT && H->type(d, "error") != QA_NULL) {
		msg = H->string(d, "error.message", &mlen);
		if (!msg)
			msg = H->string(d, "error", &mlen);
		H->free(st->error);
		st->error = H->format("error event in the stream: %.*s", msg ? (int)mlen : 12,
		    msg ? msg : "(no message)");
		st->error_event = 1;
		return -1;
	}
	if (!st->model && (k & K_MODEL))
		keep(&st->model, d, "model", QA_STRING);
	if (!st->id && (k & K_ID))
		keep(&st->id, d, "id", QA_STRING);
	if ((k & K_USAGE) && H->type(d, "usage") == QA_OBJECT) {
		keep(&st->usage, d, "usage", QA_OBJECT);
		flags |= QA_CHUNK_USAGE;
	}
	if (k & K_TIMINGS)
		keep(&st->server_timings, d, "timings", QA_OBJECT);
	/* Content found says choices[0] is an object: the usual chunk costs two lookups. */
	if (st->chat && (k & K_CONTENT) && append(&st->text, d, "choices[0].delta.content"))
		flags |= QA_CHUNK_CHOICES | QA_CHUNK_CONTENT;
	else if (H->type(d, "choices[0]") != QA_OBJECT)
		return (int)flags;
	flags |= QA_CHUNK_CHOICES;
	if (st->chat) {
		/* vLLM and DeepSeek say reasoning_content; OpenRouter and newer vLLM, reasoning. */
		if ((k & K_REASONING) &&
		    (append(&st->reasoning, d, "choices[0].delta.reasoning_content") ||
		    append(&st->reasoning, d, "choices[0].delta.reasoning")))
			flags |= QA_CHUNK_REASONING;
	} else if (append(&st->text, d, "choices[0].text")) {
		flags |= QA_CHUNK_CONTENT;
	}
	if (k & K_FINISH)
		keep(&st->finish_reason, d, "choices[0].finish_reason", QA_STRING);
	if (k & K_LOGPROBS) {
		if (H->type(d, "choices[0].logprobs.content") == QA_ARRAY)
			ntok = chat_logprobs(st, d, "choices[0].logprobs.content");
		else if (H->type(d, "choices[0].logprobs.tokens") == QA_ARRAY)
			ntok = completion_logprobs(st, d, "choices[0].logprobs");
	}
	if (ntok == 0 && (flags & (QA_CHUNK_CONTENT | QA_CHUNK_REASONING)))
		ntok = 1;
	st->chunk_tokens += ntok;
	return (int)flags;
}

static char *take(char **p)
{
	char *v = *p;

	*p = NULL;
	return v;
}

static int stream_reply(struct stream_acc *st, int end, struct qa_reply *out)
{
	struct qa_text lp = { 0 };

	if (st->error) {
		out->error = take(&st->error);
		/* An error event is the server's; a chunk that is no JSON object, a garbled answer (retried). */
		out->error_type = st->error_event ? "server" : "bad_response";
		return -1;
	}
	if (end == QA_STREAM_CUT || (end == QA_STREAM_EOF && !st->finish_reason)) {
		out->error = H->format("the stream was cut after %ld chunks (%s)", st->chunks,
		    end == QA_STREAM_CUT ? "in the middle of an event" : "no [DONE] and no finish_reason");
		out->error_type = "bad_response";
		return -1;
	}
	if (!st->finish_reason && st->text.len == 0 && !st->usage) {
		out->error = H->format("the stream carried no choices");
		out->error_type = "bad_response";
		return -1;
	}
	H->text_add(&st->text, "", 0);	/* an empty answer is "", not absent */
	out->text_len = st->text.len;
	out->text = take(&st->text.p);
	out->finish_reason = take(&st->finish_reason);
	out->usage = take(&st->usage);
	out->model = take(&st->model);
	out->id = take(&st->id);
	out->server_timings = take(&st->server_timings);
	if (st->lp_n > 0) {
		H->text_add(&lp, "{\"tokens\":[", 11);
		H->text_add(&lp, st->lp_tokens.p, st->lp_tokens.len);
		H->text_add(&lp, "],\"token_logprobs\":[", 20);
		H->text_add(&lp, st->lp_values.p, st->lp_values.len);
		H->text_add(&lp, "],\"top_logprobs\":[", 18);
		H->text_add(&lp, st->lp_top.p, st->lp_top.len);
		H->text_add(&lp, "]", 1);
		if (st->collisions)
			H->text_printf(&lp, ",\"collisions\":%ld", st->collisions);
		H->text_add(&lp, "}", 1);
		/* Raw pieces from many chunks: one strict line, as copy() gives. */
		out->logprobs = H->clean(lp.p, lp.len);
		H->free(lp.p);
	}
	return 0;
}

static void stream_free(struct stream_acc *st)
{
	H->free(st->text.p);
	H->free(st->reasoning.p);
	H->free(st->lp_tokens.p);
	H->free(st->lp_values.p);
	H->free(st->lp_top.p);
	H->free(st->tpl.p);
	H->free(st->finish_reason);
	H->free(st->usage);
	H->free(st->model);
	H->free(st->id);
	H->free(st->server_timings);
	H->free(st->error);
	memset(st, 0, sizeof *st);
}

static int stream_any(int chat, void **acc, const char *data, size_t len, int end, long *tokens,
    struct qa_reply *out)
{
	struct stream_acc *st = *acc;
	const char *mode;
	int rc = 0;

	if (!st) {
		st = H->alloc(sizeof *st);
		memset(st, 0, sizeof *st);
		st->chat = chat;
		/* The tests' switch between the two ways an event is read (fast_event()). */
		if ((mode = getenv("QA_OPENAI_STREAM_PARSE")) != NULL)
			st->mode = strcmp(mode, "full") == 0 ? 1 : strcmp(mode, "fast") == 0 ? 2 : 0;
		*acc = st;
	}
	if (end == QA_STREAM_MORE)
		return stream_event(st, data, len);
	if (end != QA_STREAM_DROP && out) {
		rc = stream_reply(st, end, out);
		if (tokens)
			*tokens = st->chunk_tokens;
	}
	stream_free(st);
	H->free(st);
	*acc = NULL;
	return rc;
}

int stream_chat(void *state, const qa_json *rec, const struct qa_endpoint *ep, void **acc,
    const char *data, size_t len, int end, long *tokens, struct qa_reply *out)
{
	(void)state, (void)rec, (void)ep;
	return stream_any(1, acc, data, len, end, tokens, out);
}

int stream_completions(void *state, const qa_json *rec, const struct qa_endpoint *ep, void **acc,
    const char *data, size_t len, int end, long *tokens, struct qa_reply *out)
{
	(void)state, (void)rec, (void)ep;
	return stream_any(0, acc, data, len, end, tokens, out);
}
