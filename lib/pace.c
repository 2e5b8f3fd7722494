/*
 * pace: budgets per endpoint from rate-limit headers, user limits and what
 * 429s teach; see pace.h for the calling sequence and README "Rate limits"
 * for the rules.  No I/O, no clock: tests drive it with made-up times.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pace.h"

#define MINUTE (p->minute)
#define QUOTA_MS 3600000.0	/* a reset this far away is a quota, not a rate limit */
#define RING 4096		/* accepted sends remembered, for the first learned rate */
#define BETA 0.9		/* multiplicative decrease per 429 episode */
#define ALPHA 0.02		/* additive increase per clean second, of the rate at the last decrease */
#define ALPHA_SLOW 0.005	/* the same, once near the rate measured between two episodes */
#define NEAR 0.9		/* "near": this share of that rate */
#define MEASURED 0.95		/* a cut goes to this share of the rate measured between two episodes */
#define MEASURE_MIN_MS 2000.0	/* the shortest span between two episodes that measures a rate */
#define LEARN_MIN 8	/* answers in the last minute before a first 429 teaches a rate */
#define CONC_START 4

struct bucket {
	double limit;	/* per window; 0: unknown */
	double rate;	/* refill per ms */
	double left, at;	/* believed left at time at */
};

struct ticket {
	long id;
	double sent, bytes, charge[PACE_NB];
};

struct pace {
	pace_opts o;
	struct bucket b[PACE_NB];	/* from headers or the user's rpm/tpm */
	struct bucket learned;		/* tokens as charged, from 429s, when no header says */
	int headers;			/* the endpoint sends rate-limit headers */
	long hdr_id;			/* the newest ticket whose headers were applied */
	double bytes, toks;		/* prompt bytes and tokens seen in usage */
	struct ticket *t;
	size_t nt, cap;
	long next_id;
	double hold_until, stop;
	long md_id;			/* tickets up to this one belong to the last 429 episode */
	double md_rate, ai_at;
	double cut_sent;		/* when the request whose 429 made the last cut was sent */
	double measured;		/* the rate the server accepted between the last two cuts; 0: none yet */
	double ring_t[RING], ring_k[RING];
	size_t rn, rpos;
	pace_conc conc;
	double minute;
};

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q) {
		fputs("qa: out of memory\n", stderr);
		abort();
	}
	return q;
}

/* ---------- header values ---------- */

double pace_duration_ms(const char *s, size_t n)
{
	double total = 0;
	size_t i = 0;
	int parts = 0;
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	while (n > i && isspace((unsigned char)s[n - 1]))
		n--;
	if (i == n)
		return -1;
	while (i < n) {
		char num[64];
		size_t k = 0;
		while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '.') && k < sizeof num - 1)
			num[k++] = s[i++];
		num[k] = 0;
		if (!k)
			return -1;
		char *end;
		double v = strtod(num, &end);
		if (*end)
			return -1;
		if (i == n) {		/* a bare number: seconds */
			if (parts)
				return -1;
			return v * 1000;
		}
		if (n - i >= 2 && s[i] == 'm' && s[i + 1] == 's')
			total += v, i += 2;
		else if (s[i] == 'h')
			total += v * 3600000, i++;
		else if (s[i] == 'm')
			total += v * 60000, i++;
		else if (s[i] == 's')
			total += v * 1000, i++;
		else
			return -1;
		parts++;
	}
	return total;
}

/* days_from_civil (H. Hinnant): timegm without the TZ environment. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

double pace_rfc3339_ms(const char *s, size_t n)
{
	char b[64];
	if (n >= sizeof b)
		return -1;
	memcpy(b, s, n);
	b[n] = 0;
	int y, mo, d, h, mi, c = 0;
	double sec;
	if (sscanf(b, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &sec, &c) != 6 || !c)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec < 0 || sec >= 61)
		return -1;
	const char *z = b + c;
	double off = 0;
	if ((z[0] == 'Z' || z[0] == 'z') && !z[1])
		off = 0;
	else if ((z[0] == '+' || z[0] == '-') && isdigit((unsigned char)z[1]) && isdigit((unsigned char)z[2]) &&
	    z[3] == ':' && isdigit((unsigned char)z[4]) && isdigit((unsigned char)z[5]) && !z[6])
		off = (z[0] == '-' ? -60000.0 : 60000.0) *
		    (((z[1] - '0') * 10 + (z[2] - '0')) * 60 + (z[4] - '0') * 10 + (z[5] - '0'));
	else
		return -1;
	double days = (double)days_from_civil(y, (unsigned)mo, (unsigned)d);
	return ((days * 24 + h) * 60 + mi) * 60000 + sec * 1000 - off;
}

double pace_reset_ms(const char *s, size_t n, double wall_ms)
{
	double t = pace_rfc3339_ms(s, n);
	if (t >= 0)
		return t > wall_ms ? t - wall_ms : 0;
	double v = pace_duration_ms(s, n);
	if (v < 0)
		return -1;
	/* A bare number past 2001-09-09 in seconds is an epoch time, not a delay. */
	if (v >= 1e12 && memchr(s, 's', n) == NULL && memchr(s, 'm', n) == NULL && memchr(s, 'h', n) == NULL)
		return v > wall_ms ? v - wall_ms : 0;
	return v;
}

void pace_hdrs_init(pace_hdrs *h)
{
	for (int i = 0; i < PACE_NB; i++)
		h->limit[i] = h->remaining[i] = h->reset_ms[i] = -1;
	h->window_ms = -1;
	h->any = 0;
}

static double number(const char *s, size_t n)
{
	char b[64];
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (!n || n >= sizeof b)
		return -1;
	memcpy(b, s, n);
	b[n] = 0;
	char *end;
	double v = strtod(b, &end);
	return *end || v < 0 || !isfinite(v) ? -1 : v;
}

/* The IETF draft's structured forms: "100;w=60" or "default";q=100;w=60 (policy),
 * "default";r=50;t=30 (ratelimit).  Returns the members found. */
static int params(const char *s, size_t n, double *q, double *w, double *r, double *t)
{
	int found = 0;
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != ';' && s[j] != ',')
			j++;
		const char *a = s + i;
		size_t an = j - i;
		while (an && isspace((unsigned char)*a))
			a++, an--;
		double v;
		if (an > 2 && a[1] == '=') {
			v = number(a + 2, an - 2);
			if (v >= 0) {
				double *dst = a[0] == 'q' ? q : a[0] == 'w' ? w : a[0] == 'r' ? r : a[0] == 't' ? t : NULL;
				if (dst)
					*dst = v, found++;
			}
		} else if (an && (v = number(a, an)) >= 0 && q) {
			*q = v, found++;	/* the older "100;w=60" */
		}
		if (j < n && s[j] == ',')
			break;		/* the first policy is the one that binds here */
		i = j + 1;
	}
	return found;
}

int pace_hdrs_add(pace_hdrs *h, const char *name, size_t nlen, const char *val, size_t vlen, double wall_ms)
{
	static const char *const kind[PACE_NB] = { "requests", "tokens", "input-tokens", "output-tokens" };
	static const char *const what[3] = { "limit", "remaining", "reset" };
	char n[96];
	if (nlen >= sizeof n)
		return 0;
	for (size_t i = 0; i < nlen; i++)
		n[i] = (char)tolower((unsigned char)name[i]);
	n[nlen] = 0;
	int b = -1, w = -1;
	if (strncmp(n, "x-ratelimit-", 12) == 0) {	/* OpenAI: x-ratelimit-WHAT-KIND */
		for (int i = 0; i < 3 && w < 0; i++) {
			size_t l = strlen(what[i]);
			if (strncmp(n + 12, what[i], l) == 0 && n[12 + l] == '-') {
				for (int k = 0; k < 2; k++)
					if (strcmp(n + 13 + l, kind[k]) == 0)
						w = i, b = k;
			}
		}
	} else if (strncmp(n, "anthropic-ratelimit-", 20) == 0) {	/* anthropic-ratelimit-KIND-WHAT */
		for (int k = 0; k < PACE_NB && b < 0; k++) {
			size_t l = strlen(kind[k]);
			if (strncmp(n + 20, kind[k], l) == 0 && n[20 + l] == '-')
				for (int i = 0; i < 3; i++)
					if (strcmp(n + 21 + l, what[i]) == 0)
						w = i, b = k;
		}
	} else if (strcmp(n, "ratelimit-limit") == 0 || strcmp(n, "ratelimit-remaining") == 0 ||
	    strcmp(n, "ratelimit-reset") == 0) {
		/* The draft does not say what it counts: requests, as every relay using it does. */
		b = PACE_REQ;
		w = n[10] == 'l' ? 0 : n[11] == 'e' && n[12] == 'm' ? 1 : 2;
		if (w == 0) {	/* "100, 100;w=60" in early drafts */
			double q = -1, win = -1;
			if (!params(val, vlen, &q, &win, NULL, NULL) || q < 0)
				return -1;
			h->limit[b] = q;
			if (win > 0)
				h->window_ms = win * 1000;
			return h->any = 1;
		}
	} else if (strcmp(n, "ratelimit-policy") == 0) {
		double q = -1, win = -1;
		if (!params(val, vlen, &q, &win, NULL, NULL) || q < 0)
			return -1;
		h->limit[PACE_REQ] = q;
		if (win > 0)
			h->window_ms = win * 1000;
		return h->any = 1;
	} else if (strcmp(n, "ratelimit") == 0) {
		double r = -1, t = -1;
		if (!params(val, vlen, NULL, NULL, &r, &t) || r < 0)
			return -1;
		h->remaining[PACE_REQ] = r;
		if (t >= 0)
			h->reset_ms[PACE_REQ] = t * 1000;
		return h->any = 1;
	}
	if (b < 0)
		return 0;
	double v = w == 2 ? pace_reset_ms(val, vlen, wall_ms) : number(val, vlen);
	if (v < 0)
		return -1;
	(w == 0 ? h->limit : w == 1 ? h->remaining : h->reset_ms)[b] = v;
	return h->any = 1;
}

/* ---------- budgets ---------- */

static double left_at(const struct bucket *k, double t)
{
	if (k->limit <= 0)
		return -1;
	double l = k->left + (t > k->at ? t - k->at : 0) * k->rate;
	return l < k->limit ? l : k->limit;
}

/* When bucket k holds need (never: HUGE_VAL if it cannot refill). */
static double ready(const struct bucket *k, double need, double now)
{
	if (k->limit <= 0)
		return now;
	if (need > k->limit)
		need = k->limit;	/* a request larger than the bucket goes when it is full */
	double l = left_at(k, now);
	if (l >= need)
		return now;
	return k->rate > 0 ? now + (need - l) / k->rate : HUGE_VAL;
}

static void take(struct bucket *k, double amount, double now)
{
	if (k->limit <= 0)
		return;
	k->left = left_at(k, now) - amount;
	k->at = now;
}

pace_t *pace_new(const pace_opts *o)
{
	pace_t *p = xrealloc(NULL, sizeof *p);
	memset(p, 0, sizeof *p);
	p->o = *o;
	p->minute = o->minute_ms > 0 ? o->minute_ms : 60000;
	/* The user's tier: buckets that start full, as a provider's do. */
	if (o->rpm > 0)
		p->b[PACE_REQ] = (struct bucket){ o->rpm, o->rpm / MINUTE, o->rpm, 0 };
	if (o->tpm > 0)
		p->b[PACE_TOK] = (struct bucket){ o->tpm, o->tpm / MINUTE, o->tpm, 0 };
	pace_conc_init(&p->conc, o->conc_cap > 0 ? o->conc_cap : PACE_CONC_CAP);
	p->md_id = -1;
	p->hdr_id = -1;
	return p;
}

void pace_free(pace_t **p)
{
	if (!*p)
		return;
	free((*p)->t);
	free(*p);
	*p = NULL;
}

double pace_prompt_tokens(const pace_t *p, size_t bytes)
{
	/* 4 bytes a token until usage says otherwise; rounding up errs on the side of waiting. */
	double ratio = p->toks > 0 ? p->bytes / p->toks : 4.0;
	if (ratio < 0.5)
		ratio = 0.5;
	return ceil((double)bytes / ratio);
}

static void charges(const pace_t *p, size_t bytes, long max_tokens, double c[PACE_NB])
{
	double in = pace_prompt_tokens(p, bytes), out = max_tokens > 0 ? (double)max_tokens : 0;
	c[PACE_REQ] = 1;
	c[PACE_TOK] = in + out;
	c[PACE_TOK_IN] = in;
	c[PACE_TOK_OUT] = out;
}

double pace_when(pace_t *p, size_t bytes, long max_tokens, double now, pace_decision *d)
{
	static const char *const names[PACE_NB] = { "requests", "tokens", "input-tokens", "output-tokens" };
	double c[PACE_NB], t = now;
	const char *why = "budget";
	charges(p, bytes, max_tokens, c);
	if (p->stop) {
		t = p->stop > 0 ? p->stop : HUGE_VAL;	/* -1: no end was said, none for this run */
		why = "quota";
	} else {
		if (p->hold_until > t)
			t = p->hold_until, why = "hold";
		for (int i = 0; i < PACE_NB; i++) {
			double r = ready(&p->b[i], c[i], now);
			if (r > t)
				t = r, why = names[i];
		}
		double r = ready(&p->learned, c[PACE_TOK], now);
		if (r > t)
			t = r, why = "learned";
	}
	if (d) {
		memset(d, 0, sizeof *d);
		d->now_ms = now;
		d->send_ms = t;
		for (int i = 0; i < PACE_NB; i++)
			d->left[i] = isfinite(t) ? left_at(&p->b[i], t) : -1;
		d->charge_tokens = c[PACE_TOK];
		d->rate_rpm = p->b[PACE_REQ].limit > 0 ? p->b[PACE_REQ].rate * MINUTE : 0;
		d->rate_tpm = p->b[PACE_TOK].limit > 0 ? p->b[PACE_TOK].rate * MINUTE : p->learned.rate * MINUTE;
		d->concurrency = pace_concurrency(p);
		d->reason = why;
	}
	return t;
}

long pace_charge(pace_t *p, size_t bytes, long max_tokens, double now)
{
	double c[PACE_NB];
	charges(p, bytes, max_tokens, c);
	for (int i = 0; i < PACE_NB; i++)
		take(&p->b[i], c[i], now);
	take(&p->learned, c[PACE_TOK], now);
	if (p->nt == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->t = xrealloc(p->t, p->cap * sizeof *p->t);
	}
	struct ticket *k = &p->t[p->nt++];
	k->id = p->next_id++;
	k->sent = now;
	k->bytes = (double)bytes;
	memcpy(k->charge, c, sizeof c);
	return k->id;
}

/* The server counted what arrived before this answer's request; what was sent
 * after it and is still in flight it has not seen, so it comes off the header's figure. */
static void apply_headers(pace_t *p, const struct ticket *k, const pace_hdrs *h, double now)
{
	if (k->id < p->hdr_id)
		return;		/* an older answer overtaken by a newer one says less */
	p->hdr_id = k->id;
	p->headers = 1;
	for (int i = 0; i < PACE_NB; i++) {
		struct bucket *b = &p->b[i];
		if (h->limit[i] > 0)
			b->limit = h->limit[i];
		if (b->limit <= 0 || h->remaining[i] < 0)
			continue;
		double window = h->window_ms > 0 ? h->window_ms : MINUTE;
		double rate = b->limit / window;
		/* The reset says when the bucket is full again: for a daily limit that is
		 * far slower than limit per minute.  The slower of the two is believed. */
		if (h->reset_ms[i] > 0 && h->remaining[i] < b->limit) {
			double r = (b->limit - h->remaining[i]) / h->reset_ms[i];
			if (r < rate)
				rate = r;
		}
		if (i == PACE_REQ && p->o.rpm > 0 && p->o.rpm / MINUTE < rate)
			rate = p->o.rpm / MINUTE;
		if (i == PACE_TOK && p->o.tpm > 0 && p->o.tpm / MINUTE < rate)
			rate = p->o.tpm / MINUTE;
		b->rate = rate;
		double unseen = 0;
		for (size_t j = 0; j < p->nt; j++)
			if (p->t[j].id > k->id)
				unseen += p->t[j].charge[i];
		b->left = h->remaining[i] - unseen;
		b->at = now;
	}
	double rr = h->remaining[PACE_REQ], rs = h->reset_ms[PACE_REQ];
	if (rr == 0 && rs >= QUOTA_MS)
		p->stop = now + rs;
	/* A server that says its limits needs no guessing. */
	p->learned.limit = 0;
}

static void remember(pace_t *p, double t, double tokens)
{
	p->ring_t[p->rpos] = t;
	p->ring_k[p->rpos] = tokens;
	p->rpos = (p->rpos + 1) % RING;
	if (p->rn < RING)
		p->rn++;
}

/*
 * What the server accepted of the requests sent in [from, to): the answered
 * ones (the ring, clipped to what it still holds) and, optimistically, those
 * still in flight.  Per ms, or -1 when the span is too short to say.
 */
static double accepted_rate(const pace_t *p, double from, double to, long except)
{
	if (p->rn == RING) {	/* the ring forgot what came before its oldest entry */
		double oldest = p->ring_t[p->rpos];
		if (oldest > from)
			from = oldest;
	}
	if (to - from < MEASURE_MIN_MS)
		return -1;
	double n = 0;
	for (size_t j = 0; j < p->rn; j++)
		if (p->ring_t[j] >= from && p->ring_t[j] < to)
			n += p->ring_k[j];
	for (size_t j = 0; j < p->nt; j++)
		if (p->t[j].id != except && p->t[j].sent >= from && p->t[j].sent < to)
			n += p->t[j].charge[PACE_TOK];
	return n / (to - from);
}

/*
 * No headers: a 429 (or 529) episode sets or cuts the learned rate.  It is
 * one rate, of tokens as charged (prompt + max_tokens): without headers a
 * 429 does not say which bucket ran dry, and a rate of requests learned when
 * tokens bound would starve small requests; every request is charged at
 * least its max_tokens, so a token rate also spaces requests.  The first
 * estimate is what the server accepted over the last minute (limits are per
 * minute, and a provider's bucket starts full).  An episode is the 429s of
 * requests sent before the last cut: they were paced by the old rate and say
 * nothing new.  Each later episode measures: between two of them the
 * server's bucket went from empty to empty, so what it accepted in between
 * is its rate, which a cut goes MEASURED below (never above the rate it
 * cuts; BETA of it when the span is too short to measure).  Each clean
 * second adds ALPHA of the rate at the last cut, or ALPHA_SLOW once within
 * NEAR of the measured rate: probing slowly near the limit spaces the 429s.
 */
static void learn_429(pace_t *p, const struct ticket *k, double now)
{
	if (k->id <= p->md_id)
		return;
	struct bucket *b = &p->learned;
	double rate;
	if (b->limit <= 0) {
		double n = 0;
		size_t sends = 0;
		for (size_t j = 0; j < p->rn; j++)
			if (p->ring_t[j] > now - MINUTE)
				n += p->ring_k[j], sends++;
		/* A 429 after a handful of answers says the server is busy, not
		 * what its rate is: a rate learned from them would crawl (one
		 * answer, then a minute's wait).  Its Retry-After alone holds. */
		if (sends < LEARN_MIN)
			return;
		p->md_id = p->next_id - 1;
		rate = BETA * (n > 1 ? n : 1) / MINUTE;
	} else {
		p->md_id = p->next_id - 1;
		double m = accepted_rate(p, p->cut_sent, k->sent, k->id);
		rate = BETA * b->rate;
		if (m > 0) {
			p->measured = m;
			rate = MEASURED * (m < b->rate ? m : b->rate);
		}
	}
	p->cut_sent = k->sent;
	b->rate = rate;
	b->limit = rate * 1000 > 1 ? rate * 1000 : 1;	/* a burst of one second at most */
	b->left = 0;	/* the server's bucket is empty: that is what the 429 said */
	b->at = now;
	p->md_rate = rate;
	p->ai_at = now;
}

static void learn_ok(pace_t *p, double now)
{
	struct bucket *b = &p->learned;
	if (b->limit <= 0 || now - p->ai_at < 1000)
		return;
	double secs = floor((now - p->ai_at) / 1000), l = left_at(b, now);
	b->rate += secs * (p->measured > 0 && b->rate >= NEAR * p->measured ? ALPHA_SLOW : ALPHA) * p->md_rate;
	b->limit = b->rate * 1000 > 1 ? b->rate * 1000 : 1;
	b->left = l < b->limit ? l : b->limit;
	b->at = now;
	p->ai_at += secs * 1000;
}

void pace_answer(pace_t *p, long id, long status, const pace_hdrs *h, long prompt_tokens, double latency_ms,
    double retry_after_ms, const char *body, size_t blen, double now)
{
	size_t j = 0;
	while (j < p->nt && p->t[j].id != id)
		j++;
	if (j == p->nt)
		return;		/* not a ticket of ours: nothing to learn */
	struct ticket k = p->t[j];
	p->t[j] = p->t[--p->nt];
	if (prompt_tokens > 0 && status >= 200 && status < 300) {
		/* bytes per token, over all answers so far: one odd prompt moves it little */
		p->bytes += k.bytes;
		p->toks += (double)prompt_tokens;
	}
	if (h && h->any)
		apply_headers(p, &k, h, now);
	int quota = status == 429 && body && blen >= 18 && memmem(body, blen, "insufficient_quota", 18);
	if (quota) {
		pace_quota(p, h, -1, now);
		return;
	}
	if (status == 429 || status == 529) {
		if (retry_after_ms >= 0 && now + retry_after_ms > p->hold_until)
			p->hold_until = now + retry_after_ms;
		if (!p->headers && !p->o.learn_off)
			learn_429(p, &k, now);
		return;
	}
	if (status >= 200 && status < 300) {
		remember(p, k.sent, k.charge[PACE_TOK]);
		learn_ok(p, now);
		pace_conc_sample(&p->conc, latency_ms);
	}
}

void pace_quota(pace_t *p, const pace_hdrs *h, double regain_ms, double now)
{
	if (p->stop)
		return;
	double r = h ? h->reset_ms[PACE_REQ] : -1;
	for (int i = 1; h && i < PACE_NB; i++)
		if (h->reset_ms[i] > r)
			r = h->reset_ms[i];
	if (regain_ms >= 0)
		p->stop = now + regain_ms;	/* what the message says is the quota's own */
	else
		p->stop = r >= QUOTA_MS ? now + r : -1;	/* a short reset on a quota error is a rate's, not the quota's */
	if (p->stop == 0)
		p->stop = -1;	/* 0 means "not stopped" */
}

double pace_regain_ms(const char *msg, size_t n, double wall_ms)
{
	static const char key[] = "regain access on ";
	const char *k = msg ? memmem(msg, n, key, sizeof key - 1) : NULL;
	if (!k)
		return -1;
	char b[40];
	size_t left = n - (size_t)(k + sizeof key - 1 - msg);
	snprintf(b, sizeof b, "%.*s", (int)(left < sizeof b - 1 ? left : sizeof b - 1), k + sizeof key - 1);
	int y, mo, d, hh, mi, c = 0;
	if (sscanf(b, "%4d-%2d-%2d at %2d:%2d UTC%n", &y, &mo, &d, &hh, &mi, &c) != 5 || !c)
		return -1;
	char iso[32];
	snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:00Z", y, mo, d, hh, mi);
	double t = pace_rfc3339_ms(iso, strlen(iso));
	return t < 0 ? -1 : t > wall_ms ? t - wall_ms : 0;
}

double pace_stopped(const pace_t *p)
{
	return p->stop;
}

int pace_concurrency(const pace_t *p)
{
	return p->o.conc_fixed > 0 ? p->o.conc_fixed : p->conc.limit;
}

int pace_concurrency_peak(const pace_t *p)
{
	return p->o.conc_fixed > 0 ? p->o.conc_fixed : p->conc.peak;
}

/* ---------- -c auto ---------- */

/*
 * The rule: a round is as many answers as the limit allows in flight.  Its
 * mean latency is compared with the baseline, the best round's mean (aged 1%
 * a round, so a server that got slower for good is followed).  Within 25% of
 * it, the server is not queueing: the limit doubles until latency first rises
 * (slow start), then grows by one a round.  Above 50%, requests are waiting
 * for a slot (Little's law: past a server's slots, more in flight only adds
 * queueing, not throughput), so the limit shrinks in proportion to the rise,
 * by 10% to 50%.  Between the two it holds.
 */
void pace_conc_init(pace_conc *c, int cap)
{
	memset(c, 0, sizeof *c);
	c->cap = cap < 1 ? 1 : cap;	/* an endpoint config's concurrency may pass PACE_CONC_CAP */
	c->limit = CONC_START < c->cap ? CONC_START : c->cap;
	c->peak = c->limit;
	c->slow_start = 1;
}

void pace_conc_sample(pace_conc *c, double ms)
{
	if (ms < 0)
		return;
	c->sum += ms;
	if (++c->n < c->limit)
		return;
	double mean = c->sum / c->n;
	c->n = 0;
	c->sum = 0;
	if (c->baseline <= 0 || mean < c->baseline) {
		c->baseline = mean;
	} else {
		c->baseline *= 1.01;
	}
	if (mean <= 1.25 * c->baseline) {
		c->limit = c->slow_start ? 2 * c->limit : c->limit + 1;
	} else if (mean > 1.5 * c->baseline) {
		double f = 1.25 * c->baseline / mean;
		f = f < 0.5 ? 0.5 : f > 0.9 ? 0.9 : f;
		c->limit = (int)floor(c->limit * f);
		c->slow_start = 0;
	}
	if (c->limit > c->cap)
		c->limit = c->cap;
	if (c->limit < 1)
		c->limit = 1;
	if (c->limit > c->peak)
		c->peak = c->limit;
}

/* ---------- output ---------- */

static int num(char *b, size_t n, const char *key, double v)
{
	if (v < 0 || !isfinite(v))
		return snprintf(b, n, ",\"%s\":null", key);
	return snprintf(b, n, ",\"%s\":%.10g", key, round(v * 1000) / 1000);
}

int pace_trace_members(const pace_decision *d, char *buf, size_t n)
{
	static const char *const keys[PACE_NB] = { "req_left", "tok_left", "in_left", "out_left" };
	char tmp[512];
	size_t len = 0;
	int w = snprintf(tmp, sizeof tmp, "\"decision\":\"pace\",\"reason\":\"%s\"", d->reason ? d->reason : "");
	len = (size_t)w;
	w = num(tmp + len, sizeof tmp - len, "planned_ms", d->send_ms);
	len += (size_t)w;
	len += (size_t)num(tmp + len, sizeof tmp - len, "wait_ms", d->send_ms - d->now_ms);
	for (int i = 0; i < PACE_NB; i++)
		len += (size_t)num(tmp + len, sizeof tmp - len, keys[i], d->left[i]);
	len += (size_t)num(tmp + len, sizeof tmp - len, "charge_tokens", d->charge_tokens);
	len += (size_t)num(tmp + len, sizeof tmp - len, "rpm", d->rate_rpm > 0 ? d->rate_rpm : -1);
	len += (size_t)num(tmp + len, sizeof tmp - len, "tpm", d->rate_tpm > 0 ? d->rate_tpm : -1);
	len += (size_t)snprintf(tmp + len, sizeof tmp - len, ",\"concurrency\":%d", d->concurrency);
	return snprintf(buf, n, "%s", tmp);
}

void pace_format_utc(double wall_ms, char *buf, size_t n)
{
	time_t s = (time_t)(wall_ms / 1000);
	struct tm tm;
	if (!gmtime_r(&s, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "?");
}
