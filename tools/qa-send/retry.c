/* qa-send: the decisions: retry or give up, the delays and the run's retry budget. */

#include "qa-send.h"

/* ---- the decisions: retry, give up ---- */

double budget_total(void)
{
	return RETRY_FLOOR + opt.retry_budget * (double)stats.read;
}

/* Why the run may not retry once more, or NULL when it may. */
const char *budget_spent(void)
{
	if (opt.max_retries_total >= 0 && stats.retries >= opt.max_retries_total)
		return "the run's retry cap (--max-retries-total) is reached";
	if ((double)stats.retries >= budget_total())
		return "the run's retry budget (--retry-budget) is spent";
	return NULL;
}

/* The start of every --trace line: the record's file, line and id, as they came. */
void trace_head(qa_buf *b, const struct task *t)
{
	buf_adds(b, "{\"file\":");
	buf_json_string(b, t->file, strlen(t->file));
	buf_printf(b, ",\"line\":%lu,\"id\":", t->lineno);
	int id = t->j ? json_member(t->j, 0, "id", 2) : -1;
	size_t n;
	const char *raw = id >= 0 ? json_raw(t->j, id, &n) : NULL;
	if (raw)
		buf_json_clean(b, raw, n);
	else
		buf_adds(b, "null");
}

/* ,"KEY":ms to the microsecond, or null when ms is negative. */
static void trace_ms(qa_buf *b, const char *key, double ms)
{
	buf_printf(b, ",\"%s\":", key);
	if (ms >= 0)
		buf_json_number(b, round(ms * 1000) / 1000);
	else
		buf_adds(b, "null");
}

/*
 * --trace: one JSON line per decision, for tests and for anyone asking
 * why a record waited: the record (file, line, its id), the attempt, the
 * decision (answer, retry, resend, give_up), why, and the delay chosen;
 * then the endpoint's requests in flight once the attempt was sent, and
 * when it was sent and decided on, in ms since the run started (the
 * loop's own clock: what it did, not how long a machine took).  now < 0:
 * not known (a resend inside libcurl).
 */
void trace(const struct task *t, const char *decision, const struct outcome *o, const char *reason, double now,
    double delay_ms)
{
	if (!opt.trace)
		return;
	qa_buf b = { 0 };
	trace_head(&b, t);
	buf_printf(&b, ",\"endpoint\":");
	buf_json_string(&b, t->ep->name, strlen(t->ep->name));
	buf_printf(&b, ",\"attempt\":%d,\"decision\":\"%s\",\"status\":%ld,\"type\":", t->prior_attempts + t->attempts,
	    decision, o ? o->status : 0L);
	if (o && o->type)
		buf_json_string(&b, o->type, strlen(o->type));
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"reason\":");
	buf_json_string(&b, reason, strlen(reason));
	trace_ms(&b, "delay_ms", delay_ms);
	buf_printf(&b, ",\"in_flight\":%d", t->sent_inflight);
	trace_ms(&b, "sent_ms", t->t0 - stats.start);
	trace_ms(&b, "at_ms", now >= 0 ? now - stats.start : -1);
	buf_adds(&b, "}\n");
	scrub(&b);
	fwrite(b.p, 1, b.len, opt.trace);
	buf_free(&b);
}

/*
 * How long to wait before the next attempt: the server's word when
 * 0 < value <= --retry-after-max, as openai-python's
 * _calculate_retry_timeout takes it (FACTS.md); else, and for 0, a
 * negative value, a past date or one that does not parse, full jitter.
 * *reason says which, for the trace.
 */
double retry_delay(const struct task *t, const struct outcome *o, char *reason, size_t rlen)
{
	if (o->hint_ms != HINT_NONE) {
		if (isnan(o->hint_ms))
			snprintf(reason, rlen, "%s unreadable: backoff", o->hint_from);
		else if (o->hint_ms <= 0)
			snprintf(reason, rlen, "%s %.0f ms is not over 0: backoff", o->hint_from, o->hint_ms);
		else if (o->hint_ms > opt.retry_after_max_ms)
			snprintf(reason, rlen, "%s %.0f ms is over --retry-after-max: backoff", o->hint_from, o->hint_ms);
		else {
			snprintf(reason, rlen, "%s", o->hint_from);
			return o->hint_ms;
		}
	} else {
		snprintf(reason, rlen, "backoff");
	}
	double ceiling = opt.backoff_base_ms * pow(2, t->attempts - 1);
	if (ceiling > opt.backoff_cap_ms)
		ceiling = opt.backoff_cap_ms;
	return rng_unif() * ceiling;
}

/*
 * 1 and *delay when the record gets another attempt, *reason saying how
 * the delay was chosen; 0 when it gives up (*why says why, if not obvious).
 */
int decide(const struct task *t, const struct outcome *o, double now, double *delay, const char **why,
    char *reason, size_t rlen)
{
	*why = NULL;
	if (!o->retry)
		return 0;
	if (t->ep->auth_broken) {
		*why = "endpoint stopped after repeated auth failures";
		return 0;
	}
	if (t->attempts > opt.retries) {
		*why = opt.retries ? "retries exhausted" : NULL;
		return 0;
	}
	if (may_skip(t, now)) {
		*why = "the endpoint is cooling down";
		return 0;
	}
	if ((*why = budget_spent()) != NULL) {
		stats.denied++;
		return 0;
	}
	*delay = retry_delay(t, o, reason, rlen);
	if (now + *delay >= t->deadline) {
		*why = "the record's deadline would pass";
		return 0;
	}
	return 1;
}

/* An error and why no retry followed, as a message: "simulated HTTP 503 (retries exhausted after 3 attempts)". */
void give_up_message(qa_buf *m, const struct task *t, const char *msg, const char *why)
{
	buf_adds(m, msg);
	if (why)
		buf_printf(m, " (%s after %d attempt%s)", why, t->attempts, t->attempts == 1 ? "" : "s");
}

/* The record gives up on its endpoint with this error: on to the next in its chain, or the end. */
void give_up(struct task *t, const struct outcome *o, const char *why, double now)
{
	qa_buf m = { 0 };
	give_up_message(&m, t, o->message ? o->message : o->type, why);
	/* An attempt that the deadline cut has used up all of it, whatever the clocks say. */
	double at = o->deadline ? t->deadline : now;
	if (fall_back(t, o->type, o->status, buf_cstr(&m), at) == 0 && enter(t, now) == 0)
		ready_push(t);
	buf_free(&m);
}

/*
 * The cooldown breaker counts each attempt's outcome on its endpoint.
 * Failures are the errors another endpoint could fix; a success ends a
 * run of them; a bad_request is the request's fault and counts only as an
 * attempt.  More than --allowed-fails failures in a row, or more than
 * half of at least COOL_MIN_REQUESTS attempts in the minute (LiteLLM's
 * two rules), and records that have another endpoint to go to skip this
 * one for --cooldown.  An attempt cut by the record's own deadline says
 * nothing about the endpoint.  Counting starts afresh after a cooldown.
 */
void note_outcome(struct endpoint *e, const struct outcome *o, double now)
{
	if (opt.cooldown_ms <= 0 || o->deadline || cooling(e, now))
		return;
	if (now - e->win_start >= COOL_WINDOW_MS) {
		e->win_start = now;
		e->win_req = e->win_fail = 0;
	}
	e->win_req++;
	if (o->ok) {
		e->fails = 0;
		return;
	}
	if (!fallback_worthy(o->type))
		return;
	e->win_fail++;
	e->fails++;
	if (e->fails > opt.allowed_fails)
		snprintf(e->cool_why, sizeof e->cool_why, "%ld failures in a row", e->fails);
	else if (e->win_req >= COOL_MIN_REQUESTS && 2 * e->win_fail > e->win_req)
		snprintf(e->cool_why, sizeof e->cool_why, "%ld of %ld attempts failed", e->win_fail, e->win_req);
	else
		return;
	e->cool_until = now + opt.cooldown_ms;
	e->cooldowns++;
	stats.cooldowns++;
	e->fails = e->win_req = e->win_fail = 0;
	e->win_start = e->cool_until;
}

/*
 * A record about to be sent to an endpoint that cools down goes to the
 * next one in its chain instead, unless it is the last; one that was
 * waiting to retry there gives up on it with its last error.  0, or the
 * record is done.
 */
int pass_cooling(struct task *t, double now)
{
	while (may_skip(t, now)) {
		if (t->attempts) {
			qa_buf m = { 0 };
			give_up_message(&m, t, buf_cstr(&t->last_msg), "the endpoint is cooling down");
			leave(t, t->last_type, t->last_status, buf_cstr(&m), NULL);
			buf_free(&m);
		} else {
			char msg[128];
			snprintf(msg, sizeof msg, "cooling down: %s", t->ep->cool_why);
			leave(t, NULL, 0, msg, "cooldown");
		}
		if (enter(t, now) < 0)
			return -1;
	}
	return 0;
}

/*
 * The auth breaker counts answers by status as they arrive, before
 * anything else is sent: 401 and 403 in a row trip it, a 2xx resets it.
 */
void note_auth(struct endpoint *e, long status)
{
	if (status != 401 && status != 403) {
		if (status >= 200 && status <= 299)
			e->auth_fails = 0;
		return;
	}
	if (++e->auth_fails >= AUTH_BREAK && !e->auth_broken) {
		e->auth_broken = 1;
		warn_scrubbed(NULL, 0, "endpoint '%s': %d auth failures in a row (HTTP %ld): sending it no more "
		    "requests; its remaining records get an auth error", e->name, AUTH_BREAK, status);
	}
}

/* Whether JSON text a plugin returned is one valid value. */
int valid_json(const char *s)
{
	const char *err;
	size_t off;
	return json_parse(scratch, s, strlen(s), &err, &off) == 0;
}
