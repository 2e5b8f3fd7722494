/*
 * pace: rate-limit-aware pacing for one endpoint (issue 21).
 *
 * Pure logic: no I/O and no clock of its own.  Every call takes now_ms,
 * milliseconds on one monotonic clock the caller owns; calls that read an
 * absolute time from a header (Anthropic's RFC 3339 resets, epoch seconds)
 * also take wall_ms, the caller's wall clock (ms since the epoch) at the
 * same instant.  Ownership: a pace_t is made by pace_new and freed by
 * pace_free; strings passed in are borrowed for the call; nothing returned
 * needs freeing (reason strings are static).
 *
 * The caller's loop:
 *   t = pace_when(p, bytes, max_tokens, now, &d)   when may this request go?
 *   ... wait on a timer until t ...
 *   id = pace_charge(p, bytes, max_tokens, t)      charge it, just before sending
 *   ... the answer arrives: pace_hdrs_add each header, then ...
 *   pace_answer(p, id, status, &h, prompt_tokens, latency_ms, now)
 * and pace_stopped() says whether the endpoint is out of quota.
 */
#ifndef QA_PACE_H
#define QA_PACE_H
#include <stddef.h>

/* Budgets: requests, all tokens (OpenAI, Anthropic's combined), Anthropic's input and output tokens. */
enum { PACE_REQ, PACE_TOK, PACE_TOK_IN, PACE_TOK_OUT, PACE_NB };

/* What one response's headers said; -1: not said.  reset_ms is a delay from now. */
typedef struct pace_hdrs {
	double limit[PACE_NB], remaining[PACE_NB], reset_ms[PACE_NB];
	double window_ms;	/* ratelimit-policy's w=, else -1 */
	int any;		/* some rate-limit header was understood */
} pace_hdrs;

void pace_hdrs_init(pace_hdrs *h);
/* One header line's name and value (not NUL-terminated).  Returns 1 if it
 * was a rate-limit header understood, 0 if not one, -1 if one whose value
 * could not be read (then it is ignored). */
int pace_hdrs_add(pace_hdrs *h, const char *name, size_t nlen, const char *val, size_t vlen, double wall_ms);

/* "1s", "6m0s", "20ms", "1h2m3.5s", "0.5" (seconds): milliseconds, or -1. */
double pace_duration_ms(const char *s, size_t n);
/* An RFC 3339 time ("2026-12-06T22:00:30Z", "...+01:00", fractions): ms since the epoch, or -1. */
double pace_rfc3339_ms(const char *s, size_t n);
/* A reset value in any of its forms (duration, RFC 3339, epoch seconds, delta seconds): a delay in ms, or -1. */
double pace_reset_ms(const char *s, size_t n, double wall_ms);

typedef struct pace pace_t;

typedef struct pace_opts {
	double rpm, tpm;	/* what the user knows of the tier; 0: unknown */
	int conc_cap;		/* -c auto's ceiling: the endpoint config's concurrency, else PACE_CONC_CAP */
	int conc_fixed;		/* -c N: N; 0: auto */
	double minute_ms;	/* how long a limit's "minute" lasts: 0 is 60000; tests against a fast clock shorten it */
	int learn_off;		/* learn no rate from 429s (qa-send with a fixed -c: a busy server's
				   scattered 429s would teach a crawl) */
} pace_opts;

pace_t *pace_new(const pace_opts *o);
void pace_free(pace_t **p);

/* A pacing decision, for the progress line and qa-send's --trace. */
typedef struct pace_decision {
	double now_ms, send_ms;		/* when decided, when it may go */
	double left[PACE_NB];		/* budget believed left at send_ms, before this charge; -1: unknown */
	double charge_tokens;		/* prompt estimate + max_tokens */
	double rate_rpm, rate_tpm;	/* the rates paced by (given, said or learned); 0: none */
	int concurrency;		/* the controller's current limit */
	const char *reason;		/* "budget", "requests", "tokens", "input-tokens", "output-tokens",
					   "hold" (a Retry-After), "quota", "learned" (the rate 429s taught) */
} pace_decision;

/* The earliest time (>= now_ms) a request of prompt_bytes bytes asking for
 * max_tokens may be sent without exceeding any budget believed.  d may be NULL.
 * For a stopped endpoint it returns the stop's end, HUGE_VAL when none was
 * said (and d->reason "quota"). */
double pace_when(pace_t *p, size_t prompt_bytes, long max_tokens, double now_ms, pace_decision *d);
/* Charge the request (at send time); returns a ticket for pace_answer. */
long pace_charge(pace_t *p, size_t prompt_bytes, long max_tokens, double now_ms);
/* The estimated prompt tokens for so many bytes, from the ratio learned so far. */
double pace_prompt_tokens(const pace_t *p, size_t prompt_bytes);

/* The answer to ticket id: its HTTP status (0: no answer), its headers (may be
 * NULL), usage.prompt_tokens (< 0: unknown), its latency, and Retry-After in ms
 * (< 0: none).  body may be NULL; an "insufficient_quota" in a 429's body stops
 * the endpoint. */
void pace_answer(pace_t *p, long id, long status, const pace_hdrs *h, long prompt_tokens,
    double latency_ms, double retry_after_ms, const char *body, size_t blen, double now_ms);

/* A quota error the caller classified (Anthropic's billing_error, a spent
 * credit balance, a reached spend limit; any provider's "quota"): stop the
 * endpoint.  regain_ms is the delay the error's message gave (see
 * pace_regain_ms), else < 0; without it, a reset an hour or more away in h
 * (may be NULL) says when, and nothing: for the rest of the run. */
void pace_quota(pace_t *p, const pace_hdrs *h, double regain_ms, double now_ms);
/* "... You will regain access on 2026-04-01 at 00:00 UTC." (Anthropic's
 * spend limit): the delay from wall_ms until then, or -1. */
double pace_regain_ms(const char *msg, size_t n, double wall_ms);

/* Stopped for quota?  Returns 0 if not, else the time (now_ms's clock) the
 * quota resets, or -1 if nothing said when (then it is stopped for the run). */
double pace_stopped(const pace_t *p);
/* The concurrency the caller may have in flight now; the highest it has been. */
int pace_concurrency(const pace_t *p);
int pace_concurrency_peak(const pace_t *p);

/* The decision as JSON members (no braces), to splice into a --trace line:
 * "planned_ms":..,"wait_ms":..,"req_left":..,"tok_left":..,... Returns the
 * length snprintf would write. */
int pace_trace_members(const pace_decision *d, char *buf, size_t n);

/* The stop's end for stderr: "2026-12-07T00:00:00Z", from the wall clock. */
void pace_format_utc(double wall_ms, char *buf, size_t n);

/* -c auto's ceiling when the endpoint config says none. */
#define PACE_CONC_CAP 64

/* The latency controller alone, for -c auto (pace_answer feeds it). */
typedef struct pace_conc {
	int limit, cap;
	int peak;		/* the highest limit so far */
	int slow_start;		/* doubling until latency first rises */
	int n;			/* samples in this round */
	double sum, baseline;	/* this round's latencies, the best round's mean */
} pace_conc;
void pace_conc_init(pace_conc *c, int cap);
void pace_conc_sample(pace_conc *c, double latency_ms);

#endif
