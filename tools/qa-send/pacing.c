/* qa-send: rate-limit pacing per endpoint (lib/pace.c decides; this wires it to the loop). */

#include "qa-send.h"

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* An in-process provider (the mock, the llama engine): no server, so no rate limits to pace. */
static int in_process(const struct provider *pv)
{
	return !pv->err && (pv->l.plugin->provider->respond || pv->l.plugin->provider->compute);
}

/* HTTP endpoints are paced; in-process ones keep a fixed concurrency and no budgets. */
static int paced(const struct endpoint *e)
{
	return !in_process(e->prov);
}

/*
 * -c auto, and the default (no -c) for a run that may reach an HTTP
 * endpoint (the default one, a fallback, or any in the config, which
 * records may name): each HTTP endpoint's concurrency adapts (lib/pace.c)
 * from 4 up to PACE_CONC_CAP or its config's concurrency, and the run's
 * slots (sockets, and so the open-file check) are the most any may reach.
 * A run that can reach in-process providers only keeps the fixed default.
 */
void conc_setup(void)
{
	if (!opt.conc_given) {
		int http = default_ep && paced(default_ep);
		for (size_t i = 0; i < opt.nfallback && !http; i++)
			http = paced(opt.fallback[i]);
		for (size_t i = 0; config_loaded && i < config.n && !http; i++)
			http = !in_process(provider_get(config.ep[i].provider ? config.ep[i].provider : "openai"));
		opt.conc_auto = http;
	}
	if (!opt.conc_auto)
		return;
	opt.concurrency = PACE_CONC_CAP;
	for (size_t i = 0; config_loaded && i < config.n; i++)
		if (config.ep[i].concurrency > opt.concurrency)
			opt.concurrency = config.ep[i].concurrency;
	for (size_t i = 0; i < neps; i++)
		if (eps[i]->concurrency > opt.concurrency)
			opt.concurrency = eps[i]->concurrency;
}

/* The concurrency endpoint e is held to now, and (*peak) the most it has been allowed this run. */
long conc_now(const struct endpoint *e, long *peak)
{
	long c = opt.conc_auto && !paced(e) ? CONC_IN_PROCESS : opt.concurrency;
	if (e->concurrency && e->concurrency < c)
		c = e->concurrency;
	*peak = c;
	if (opt.conc_auto && e->pace) {
		c = pace_concurrency(e->pace);
		*peak = pace_concurrency_peak(e->pace);
	}
	return c;
}

static pace_t *pace_of(struct endpoint *e)
{
	if (!e->pace) {
		pace_opts o = { 0 };
		o.rpm = opt.rpm > 0 ? opt.rpm : (double)e->rpm;
		const qa_endpoint_conf *c = config_loaded ? config_endpoint(&config, e->name) : NULL;
		o.tpm = opt.tpm > 0 ? opt.tpm : c ? (double)c->tpm : 0;
		o.conc_cap = e->concurrency ? (int)e->concurrency : PACE_CONC_CAP;
		o.conc_fixed = opt.conc_auto ? 0 : e->concurrency ? (int)e->concurrency : (int)opt.concurrency;
		o.minute_ms = opt.minute_ms;
		o.learn_off = !opt.conc_auto;	/* a fixed -c paces by headers and --rpm/--tpm only */
		e->pace = pace_new(&o);
	}
	return e->pace;
}

/*
 * What the provider charges a request for: the prompt's bytes (the prompt
 * string, or the messages as written, which overcounts their few bytes of
 * keys; usage refines the ratio) and max_tokens (or max_completion_tokens)
 * from the request's parameters: the record's params over --param.
 */
static void charge_of(const struct task *t, size_t *bytes, long *max_tokens)
{
	const qa_json *j = asked(t);
	size_t n = 0;
	*bytes = 0;
	*max_tokens = 0;
	int m = j ? json_member(j, 0, "prompt", 6) : -1;
	if (m < 0 && j)
		m = json_member(j, 0, "messages", 8);
	if (m >= 0 && json_raw(j, m, &n))
		*bytes = n > 2 ? n - 2 : 0;
	const char *raw = NULL;
	int k = t->pj ? json_member(t->pj, 0, "max_completion_tokens", 21) : -1;
	if (k < 0 && t->pj)
		k = json_member(t->pj, 0, "max_tokens", 10);
	if (k >= 0)
		raw = json_raw(t->pj, k, &n);
	if (raw) {
		char b[32];
		snprintf(b, sizeof b, "%.*s", (int)(n < sizeof b ? n : sizeof b - 1), raw);
		*max_tokens = strtol(b, NULL, 10);
		if (*max_tokens < 0)
			*max_tokens = 0;
	}
}

static void trace_pace(const struct task *t, const pace_decision *d)
{
	if (!opt.trace)
		return;
	qa_buf b = { 0 };
	char m[600];
	trace_head(&b, t);
	buf_adds(&b, ",\"endpoint\":");
	buf_json_string(&b, t->ep->name, strlen(t->ep->name));
	pace_trace_members(d, m, sizeof m);
	buf_printf(&b, ",%s}\n", m);
	scrub(&b);
	fwrite(b.p, 1, b.len, opt.trace);
	buf_free(&b);
}

int pace_open(struct task *t, double now, double *at, unsigned long pass)
{
	struct endpoint *e = t->ep;
	if (!paced(e))	/* -c auto: an in-process provider keeps its own few */
		return !opt.conc_auto || e->concurrency || e->inflight < CONC_IN_PROCESS;
	pace_t *p = pace_of(e);
	if (pace_stopped(p))
		return 1;	/* start() ends it with a quota error */
	if (e->pace_pass == pass || e->pace_unread)
		return 0;	/* an earlier record of this endpoint waits (keep their order), or a 429 is unread */
	if (e->inflight >= pace_concurrency(p)) {
		e->pace_pass = pass;
		return 0;
	}
	size_t bytes;
	long mt;
	charge_of(t, &bytes, &mt);
	pace_decision d;
	double when = pace_when(p, bytes, mt, now, &d);
	e->pace_wait = when > now ? when - now : 0;
	if (when <= now)
		return 1;
	if (!t->pace_traced) {
		t->pace_traced = 1;
		trace_pace(t, &d);
	}
	e->pace_pass = pass;
	*at = isfinite(when) ? when : 0;
	return 0;
}

int pace_refuse(struct task *t, double now)
{
	if (!paced(t->ep) || !t->ep->pace || !pace_stopped(t->ep->pace))
		return 0;
	char msg[300];
	snprintf(msg, sizeof msg, "not sent: endpoint '%s' is out of quota", t->ep->name);
	if (fall_back(t, "quota", 0, msg, now) == 0 && enter(t, now) == 0)
		ready_push(t);
	return 1;
}

void pace_sent(struct task *t, double now)
{
	if (!paced(t->ep))
		return;
	size_t bytes;
	long mt;
	charge_of(t, &bytes, &mt);
	t->pace_id = pace_charge(pace_of(t->ep), bytes, mt, now);
	t->pace_traced = 0;
}

/*
 * A 429 or 529 just taken off curl: run() refills the freed slots before it
 * reads the answers, and a slot refilled now would go, unpaced, to a server
 * that just said its bucket is empty; so the endpoint waits for that read.
 */
void pace_reaped(struct task *t, long status)
{
	if ((status == 429 || status == 529) && paced(t->ep))
		t->ep->pace_unread = 1;
}

void pace_settle(struct task *t, struct outcome *o, double now)
{
	struct endpoint *e = t->ep;
	if (o->status == 429 || o->status == 529)
		e->pace_unread = 0;
	if (!paced(e) || !e->pace)
		return;
	long pt = -1;
	if (o->ok && o->reply.usage) {
		const char *u = strstr(o->reply.usage, "\"prompt_tokens\":");
		if (u)
			pt = strtol(u + 16, NULL, 10);
	}
	double ra = -1;
	if (t->h.retry_after_ms != HINT_NONE && isfinite(t->h.retry_after_ms) && t->h.retry_after_ms >= 0)
		ra = t->h.retry_after_ms;
	else if (t->h.retry_after != HINT_NONE && isfinite(t->h.retry_after) && t->h.retry_after >= 0)
		ra = t->h.retry_after;
	if (ra > opt.retry_after_max_ms || !opt.conc_auto)
		ra = -1;	/* past the most honoured retry.c backs off; a fixed -c: only the record waits */
	pace_answer(e->pace, t->pace_id, o->status, &t->h.ph, pt, o->latency_ms, ra, t->body.p, t->body.len,
	    now);
	if (!o->ok && o->type && strcmp(o->type, "quota") == 0) {	/* any provider's: Anthropic's 400 and 402 too */
		const char *m = o->message ? o->message : "";
		pace_quota(e->pace, &t->h.ph, pace_regain_ms(m, strlen(m), wall_now()), now);
	}
	double stop = pace_stopped(e->pace);
	if (!stop)
		return;
	if (o->status == 429) {	/* a quota is not retried: the record ends or falls back */
		o->type = "quota";
		o->retry = 0;
	}
	if (!e->quota_told) {
		e->quota_told = 1;
		if (stop > 0) {
			char when[40];
			pace_format_utc(wall_now() + (stop - now), when, sizeof when);
			warn_scrubbed(NULL, 0, "endpoint %s: out of quota until %s; its records get \"quota\" errors",
			    e->name, when);
		} else {
			warn_scrubbed(NULL, 0, "endpoint %s: out of quota for the rest of this run; its records get "
			    "\"quota\" errors", e->name);
		}
	}
}

void pace_header(struct hdrs *h, const char *name, size_t nl, const char *val, size_t vl)
{
	if (nl > 9)	/* every rate-limit header's name is longer than "ratelimit" */
		pace_hdrs_add(&h->ph, name, nl, val, vl, wall_now());
}

/* The progress line's pacing part: concurrency, budget left, the wait. */
void pace_progress(qa_buf *b)
{
	const struct endpoint *e = default_ep;
	if (!e || !e->pace)
		return;
	pace_decision d;
	double now = now_ms();
	pace_when(e->pace, 0, 0, now, &d);
	buf_printf(b, "  c %d/%d", e->inflight, pace_concurrency(e->pace));
	if (d.left[PACE_REQ] >= 0)
		buf_printf(b, "  %.0f req", d.left[PACE_REQ]);
	if (d.left[PACE_TOK] >= 10000)
		buf_printf(b, " %.0fk tok", d.left[PACE_TOK] / 1000);
	else if (d.left[PACE_TOK] >= 0)
		buf_printf(b, " %.0f tok", d.left[PACE_TOK]);
	if (e->pace_wait >= 50)
		buf_printf(b, "  wait %.1fs", e->pace_wait / 1000);
}
