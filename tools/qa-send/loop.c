/* qa-send: the loop: dispatch, wake, reap, signals, progress and warnings on stderr. */

#include "qa-send.h"

/* ---- stderr: warnings and the progress line share it ---- */

int progress_on, progress_drawn;

void progress_clear(void)
{
	if (progress_drawn) {
		fputs("\r\033[K", stderr);
		progress_drawn = 0;
	}
}

void warn_scrubbed(const char *file, unsigned long line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	qa_buf b = { 0 };
	buf_adds(&b, msg);
	scrub(&b);
	progress_clear();
	if (file)
		qa_warn_at(file, line, "%s", buf_cstr(&b));
	else
		qa_warn("%s", buf_cstr(&b));
	buf_free(&b);
}

/* ---- dispatch ---- */

/*
 * libcurl calls this before each request it sends, and when a reused
 * keep-alive connection dies before an answer it sends the request again
 * on a new one without asking.  Each of those left the machine and may be
 * billed, so each counts as an attempt and a retry, against -r and the
 * budget; one past them is not sent.
 */
int on_prereq(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct task *t = arg;
	(void)ip, (void)local_ip, (void)port, (void)local_port;
	if (t->sends++ == 0) {
		stream_sent(t);
		return CURL_PREREQFUNC_OK;
	}
	const char *why = t->attempts > opt.retries ? "retries exhausted" : budget_spent();
	if (why) {
		t->resend_refused = 1;	/* settle() gives up on it, saying why */
		return CURL_PREREQFUNC_ABORT;
	}
	t->attempts++;
	stats.requests++;
	stats.retries++;
	trace(t, "resend", NULL, "a reused connection closed before an answer: libcurl resent", -1, 0);
	return CURL_PREREQFUNC_OK;
}

/* libcurl opened a socket for a connection, before its connect(): a stream's clock starts (stream_sent()). */
static int on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	(void)fd;
	if (purpose == CURLSOCKTYPE_IPCXN)
		stream_sent(arg);
	return CURL_SOCKOPT_OK;
}

void start_http(struct task *t, double now)
{
	CURL *c = t->easy = easy_get();
	t->body.len = 0;
	t->too_big = 0;
	hdrs_reset(&t->h);
	(void)now;
	curl_easy_setopt(c, CURLOPT_URL, t->req.url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->req.body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->req.body_len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)t->attempt_ms);
	curl_easy_setopt(c, CURLOPT_PIPEWAIT, (long)(opt.h2c || strncasecmp(t->req.url, "https:", 6) == 0));
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(c, CURLOPT_PRIVATE, t);
	t->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
	t->sends = t->resend_refused = 0;
	curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(c, CURLOPT_PREREQDATA, t);
	curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
	curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, t);
	t->st = T_ACTIVE;
	stream_begin(t);
	CURLMcode mc = curl_multi_add_handle(multi, c);
	if (mc != CURLM_OK)
		qa_die(QA_EXIT_USAGE, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
}

/* An in-process provider answers now; qa-send waits its latency only when asked to. */
void start_sim(struct task *t, double now)
{
	const struct qa_provider_ops *pl = t->ep->prov->l.plugin->provider;
	struct qa_endpoint qe = { t->ep->name, t->ep->base_url, t->model, t->pj };
	char *err = NULL;
	xfree(&t->sim.body);
	xfree(&t->sim.headers);
	memset(&t->sim, 0, sizeof t->sim);
	t->sim.size = sizeof t->sim;
	qa_set_where(t->file, t->lineno);
	int rc = pl->respond(t->ep->prov->state, asked(t), &qe, &t->req, &t->sim, &err);
	host_reset();
	if (rc < 0 || !t->sim.body) {
		inflight--;
		t->ep->inflight--;
		if (fall_back(t, "bad_response", 0, err ? err : "the provider gave no answer", now) == 0 &&
		    enter(t, now) == 0)
			ready_push(t);
		free(err);
		return;
	}
	free(err);
	t->sim_timeout = t->sim.wait && t->sim.latency_ms > t->attempt_ms;
	if (t->sim.wait && t->sim.latency_ms > 0) {
		t->st = T_SIMWAIT;
		t->wake = now + (t->sim_timeout ? t->attempt_ms : t->sim.latency_ms);
		waiting++;
		return;
	}
	finish_sim(t, now);
}

void finish_sim(struct task *t, double now)
{
	inflight--;
	t->ep->inflight--;
	struct outcome o = { 0 };
	o.hint_ms = HINT_NONE;
	hdrs_reset(&t->h);
	if (t->sim_timeout) {
		classify_curl(t, CURLE_OPERATION_TIMEDOUT, "simulated", &o);
	} else {
		if (t->sim.headers) {
			char *save = NULL;
			for (char *l = strtok_r(t->sim.headers, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
				on_header_line(&t->h, l, strlen(l));
		}
		t->body.len = 0;
		buf_add(&t->body, t->sim.body, t->sim.body_len);
		note_auth(t->ep, t->sim.status);
		classify_http(t, t->sim.status, &o);
		o.latency_ms = t->sim.latency_ms;
	}
	settle(t, &o, now);
}

/* Whether the endpoint takes another request now; when not, *at is when it may (or 0: when one ends). */
int endpoint_open(struct endpoint *e, double now, double *at)
{
	*at = 0;
	if (e->concurrency && e->inflight >= e->concurrency)
		return 0;
	if (e->rpm && now < e->next_start) {
		*at = e->next_start;
		return 0;
	}
	return 1;
}

void start(struct task *t, double now)
{
	if (t->ep->auth_broken) {
		char msg[300];
		snprintf(msg, sizeof msg, "not sent: endpoint '%s' stopped after %d auth failures in a row",
		    t->ep->name, AUTH_BREAK);
		if (fall_back(t, "auth", 0, msg, now) == 0 && enter(t, now) == 0)
			ready_push(t);
		return;
	}
	if (!t->attempts && cache_gate(t))
		return;	/* an identical request is in flight, or was answered since this record was read */
	if (pace_refuse(t, now))
		return;
	if (!t->deadline) {	/* one deadline for the whole chain */
		t->first = now;
		t->deadline = now + opt.deadline_ms;
	}
	t->attempts++;
	stats.requests++;
	t->easy_done = 0;
	inflight++;
	t->ep->inflight++;
	t->sent_inflight = t->ep->inflight;
	if (t->ep->rpm)
		t->ep->next_start = (t->ep->next_start > now ? t->ep->next_start : now) + 60000.0 / (double)t->ep->rpm;
	pace_sent(t, now);
	t->t0 = now;
	double left = t->deadline - now;
	t->attempt_ms = opt.timeout_ms < left ? opt.timeout_ms : left;
	if (t->attempt_ms < 1)
		t->attempt_ms = 1;
	if (t->ep->prov->l.plugin->provider->compute)
		start_work(t, now);
	else if (t->ep->prov->l.plugin->provider->respond)
		start_sim(t, now);
	else
		start_http(t, now);
}

/*
 * Starts ready records, in the order they became ready, while slots and
 * their endpoints allow; a record whose endpoint cools down moves on first.
 */
void dispatch(double now, double *next_timer)
{
	static unsigned long pass;
	int prev = -1;
	pass++;
	for (int i = ready_head; i >= 0 && inflight + cache_held() < opt.concurrency;) {
		struct task *t = &tasks[i];
		int next = t->next_ready;
		double at;
		int done = pass_cooling(t, now) < 0;
		if (!done && !t->ep->auth_broken && (!endpoint_open(t->ep, now, &at) || !pace_open(t, now, &at, pass))) {
			if (at > 0 && (*next_timer == 0 || at < *next_timer))
				*next_timer = at;
			prev = i;
			i = next;
			continue;
		}
		/* unlink */
		if (prev >= 0)
			tasks[prev].next_ready = next;
		else
			ready_head = next;
		if (ready_tail == i)
			ready_tail = prev;
		if (!done)
			start(t, now);
		i = next;
	}
	cache_read_done();	/* cache_gate's read transaction: not held past this */
}

/* Records whose wait is over: back to the ready queue, or (simulated answers) settled. */
void wake(double now, double *next_timer)
{
	if (!waiting)
		return;
	for (size_t i = 0; i < ntasks; i++) {
		struct task *t = &tasks[i];
		if (t->st != T_WAIT && t->st != T_SIMWAIT)
			continue;
		/* A retry on an endpoint that cools down need not wait: dispatch() sends the record on. */
		if (t->wake > now && !(t->st == T_WAIT && may_skip(t, now))) {
			if (*next_timer == 0 || t->wake < *next_timer)
				*next_timer = t->wake;
			continue;
		}
		waiting--;
		if (t->st == T_WAIT)
			ready_push(t);
		else
			finish_sim(t, now);
	}
}

struct finished *fin;

/*
 * Takes the finished transfers off curl and frees their slots; reading
 * their answers waits until the slots are refilled (see run()).
 */
size_t reap(void)
{
	CURLMsg *m;
	int left;
	size_t n = 0;
	while ((m = curl_multi_info_read(multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *c = m->easy_handle;
		struct finished *f = &fin[n++];
		f->rc = m->data.result;
		f->t = NULL;
		f->status = 0;
		curl_off_t us = 0;
		curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&f->t);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
		curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &us);
		f->latency_ms = (double)us / 1000;
		us = 0;
		curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &us);
		f->connect_ms = (double)us / 1000;
		us = 0;
		curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &us);
		f->tls_ms = (double)us / 1000;
		us = 0;
		curl_easy_getinfo(c, CURLINFO_STARTTRANSFER_TIME_T, &us);
		f->ttfb_ms = (double)us / 1000;
		curl_off_t cus = (curl_off_t)(f->connect_ms * 1000), aus = (curl_off_t)(f->tls_ms * 1000);
		curl_multi_remove_handle(multi, c);
		easy_put(c);
		struct task *t = f->t;
		t->easy = NULL;
		t->easy_done = 1;
		t->connect_ms = (double)cus / 1000;
		t->appconnect_ms = (double)aus / 1000;
		inflight--;
		t->ep->inflight--;
		if (f->rc == CURLE_OK)
			note_auth(t->ep, f->status);
		pace_reaped(t, f->rc == CURLE_OK ? f->status : 0);
	}
	return n;
}

/* Reads the answers reap() took: done, retried or given up. */
void settle_finished(size_t n, double now)
{
	for (size_t i = 0; i < n; i++) {
		struct task *t = fin[i].t;
		struct outcome o = { 0 };
		o.hint_ms = HINT_NONE;
		o.latency_ms = fin[i].latency_ms;
		o.timed = 1;
		o.connect_ms = fin[i].connect_ms;
		o.tls_ms = fin[i].tls_ms;
		o.ttfb_ms = fin[i].ttfb_ms;
		if (fin[i].rc != CURLE_OK) {
			o.deadline = fin[i].rc == CURLE_OPERATION_TIMEDOUT && t->t0 + opt.timeout_ms > t->deadline;
			classify_curl(t, fin[i].rc, t->errbuf, &o);
		} else {
			classify_http(t, fin[i].status, &o);
		}
		settle(t, &o, now);
	}
}

/* ---- progress ---- */

double last_progress;

void progress(double now, int final)
{
	if (!progress_on || (!final && now - last_progress < 200))
		return;
	last_progress = now;
	if (final) {
		progress_clear();
		return;
	}
	double secs = (now - stats.start) / 1000;
	double rate = secs > 0 ? (double)stats.done / secs : 0;
	char total[32] = "", eta[32] = "";
	if (stats.total >= 0) {
		snprintf(total, sizeof total, "/%ld", stats.total);
		if (rate > 0 && stats.total >= stats.done)
			snprintf(eta, sizeof eta, "  eta %.0fs", (double)(stats.total - stats.done) / rate);
	}
	char moved[48] = "";
	if (stats.moves)
		snprintf(moved, sizeof moved, "  %ld fallbacks", stats.moves);
	qa_buf pb = { 0 };
	pace_progress(&pb);
	fprintf(stderr, "\r%s: %ld%s done  %.1f/s  %ld errors  %ld retries%s  %ld in flight%s%s\033[K", qa_prog,
	    stats.done, total, rate, stats.errors, stats.retries, moved, inflight, eta, pb.len ? buf_cstr(&pb) : "");
	buf_free(&pb);
	progress_drawn = 1;
}

/* ---- the loop ---- */

/* The earliest wake-up among waiting records, or 0. */
double next_wake(void)
{
	double at = 0;
	for (size_t i = 0; waiting && i < ntasks; i++)
		if ((tasks[i].st == T_WAIT || tasks[i].st == T_SIMWAIT) && (at == 0 || tasks[i].wake < at))
			at = tasks[i].wake;
	return at;
}

/* A count that moves whenever a turn of the loop did something. */
long turn_mark(void)
{
	return stats.read + stats.done + stats.requests + stats.retries + readied;
}

/*
 * Each turn: read what fits, wake what waited, start what may start, let
 * curl work, collect what finished, write the head.  Then wait for a
 * socket, the input, or the next timer, unless the turn changed anything.
 */
void run(struct feed *f)
{
	stats.start = now_ms();
	for (;;) {
		long before = turn_mark();
		if (got_signal && !stopping) {
			stopping = 1;
			grace_end = now_ms() + opt.grace_ms;
			if (opt.trace)
				fprintf(opt.trace, "{\"decision\":\"stop\",\"reason\":\"%s\",\"in_flight\":%ld,"
				    "\"grace_ms\":%.0f}\n", strsignal(got_signal), inflight, opt.grace_ms);
		}
		if (!stopping)
			admit_input(f);
		cache_read_done();	/* no read snapshot held while waiting */
		double now = now_ms(), timer = 0;
		if (stopping)
			stop_idle(now);
		wake(now, &timer);
		if (!stopping)
			dispatch(now, &timer);
		int running = 0;
		curl_multi_perform(multi, &running);
		size_t nfin = reap();
		if (nfin && !stopping) {
			/* Refill the freed slots and send before reading what came back. */
			dispatch(now_ms(), &timer);
			curl_multi_perform(multi, &running);
		}
		settle_finished(nfin, now_ms());
		collect_work(now_ms());
		if (stopping)
			stop_idle(now_ms());	/* what settling sent back to wait or to another endpoint */
		collect();
		flush_out(0);
		progress(now_ms(), 0);
		if (((f->done && !samples_pending()) || stopping) && !inwindow) {
			flush_out(1);
			break;
		}
		int busy = turn_mark() != before;
		int need_input = !f->done && window_has_room();
		/* A line already buffered, the end of a file, or a regular file: no reason to wait. */
		if (need_input && (f->len > f->scan || f->eof || fd_readable(f->fd)))
			busy = 1;
		long wait = 0;
		if (!busy) {
			double w = next_wake();
			if (w && (timer == 0 || w < timer))
				timer = w;
			wait = 1000;
			if (timer > 0) {
				double d = timer - now_ms();
				wait = d <= 0 ? 0 : d < 1000 ? (long)ceil(d) : 1000;
			}
			if (progress_on && wait > 200)
				wait = 200;
			double due = cache_due();	/* records held for their answers' commit */
			if (due) {
				double d = due - now_ms();
				if (d < wait)
					wait = d <= 0 ? 0 : (long)ceil(d);
			}
			if (stopping) {	/* the grace's end is a timer too */
				double d = grace_end - now_ms();
				if (d < wait)
					wait = d <= 0 ? 0 : (long)ceil(d);
			}
		}
		struct curl_waitfd in = { .fd = f->fd, .events = CURL_WAIT_POLLIN };
		if (wait > 0)
			curl_multi_poll(multi, need_input ? &in : NULL, need_input ? 1 : 0, (int)wait, NULL);
	}
	progress(now_ms(), 1);
}
