/* qa-send: one attempt over HTTP: easy handles, headers, and how an answer is classified. */

#include "qa-send.h"

/* ---- one attempt over HTTP ---- */

size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct task *t = arg;
	size_t len = size * n;
	if (t->ts && stream_feed(t, p, len))
		return len;
	if (t->body.len + len > MAX_BODY) {
		t->too_big = 1;
		return 0;
	}
	buf_add(&t->body, p, len);
	return len;
}

void hdrs_reset(struct hdrs *h)
{
	h->retry_after_ms = HINT_NONE;
	h->retry_after = HINT_NONE;
	h->should_retry = -1;
	h->request_id.len = 0;
	h->ratelimit.len = 0;
	pace_hdrs_init(&h->ph);
}

/* One header line "Name: value", from curl or from a provider's simulated answer. */
void on_header_line(struct hdrs *h, const char *p, size_t len)
{
	while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'))
		len--;
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		hdrs_reset(h);	/* a new response (after a 100 Continue): forget the last one's */
		return;
	}
	const char *colon = memchr(p, ':', len);
	if (!colon)
		return;
	size_t nl = (size_t)(colon - p);
	const char *v = colon + 1, *end = p + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	size_t vl = (size_t)(end - v);
	pace_header(h, p, nl, v, vl);
	char val[256];
	snprintf(val, sizeof val, "%.*s", (int)(vl < sizeof val ? vl : sizeof val - 1), v);
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(p, name, nl) == 0)
	/* Kept as said, 0, negative and unreadable included: retry_delay() judges them. */
	if (IS("retry-after-ms")) {
		double ms;
		h->retry_after_ms = parse_double(val, -1e12, 1e12, &ms) == 0 ? ms : NAN;
	} else if (IS("retry-after")) {
		double s;
		time_t when;
		if (parse_double(val, -1e9, 1e9, &s) == 0)
			h->retry_after = s * 1000;
		else if ((when = curl_getdate(val, NULL)) != -1)
			h->retry_after = difftime(when, time(NULL)) * 1000;
		else
			h->retry_after = NAN;
	} else if (IS("x-should-retry")) {
		if (strcmp(val, "true") == 0)
			h->should_retry = 1;
		else if (strcmp(val, "false") == 0)
			h->should_retry = 0;
	} else if (IS("x-request-id") || IS("request-id")) {
		h->request_id.len = 0;
		buf_add(&h->request_id, v, vl);
	} else if ((nl > 12 && strncasecmp(p, "x-ratelimit-", 12) == 0) ||
	    (nl > 20 && strncasecmp(p, "anthropic-ratelimit-", 20) == 0)) {
		if (h->ratelimit.len)
			buf_addc(&h->ratelimit, ',');
		char name[128];
		size_t k;
		for (k = 0; k < nl && k < sizeof name - 1; k++)
			name[k] = (char)(p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k]);
		buf_json_string(&h->ratelimit, name, k);
		buf_addc(&h->ratelimit, ':');
		buf_json_string(&h->ratelimit, v, vl);
	}
#undef IS
}

size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct task *t = arg;
	on_header_line(&t->h, p, size * n);
	return size * n;
}

CURL *easy_get(void)
{
	if (neasy)
		return easy_pool[--neasy];
	CURL *c = curl_easy_init();
	if (!c)
		qa_die(QA_EXIT_USAGE, "curl_easy_init failed");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "qa-send/" QA_VERSION);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
	    opt.h2c ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE : (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)opt.connect_timeout_ms);
	return c;
}

void easy_put(CURL *c)
{
	easy_pool[neasy++] = c;
}

/* ---- outcomes ---- */

void reply_free(struct qa_reply *r)
{
	xfree(&r->text);
	xfree(&r->finish_reason);
	xfree(&r->model);
	xfree(&r->id);
	xfree(&r->usage);
	xfree(&r->logprobs);
	xfree(&r->error);
	xfree(&r->server_timings);
	xfree(&r->drift);
}

/* What a status means when the provider does not say. */
const char *type_of_status(long status)
{
	if (status == 401 || status == 403)
		return "auth";
	if (status == 429)
		return "rate_limit";
	if (status == 408)
		return "timeout";
	if (status >= 500)
		return "server";
	if (status >= 400)
		return "bad_request";
	return "bad_response";
}

/* Retryable by status alone (FACTS.md): 408, 409, 429 and every 5xx. */
int status_retryable(long status)
{
	return status == 408 || status == 409 || status == 429 || status >= 500;
}

/* An HTTP response: the provider reads it, then the rules of FACTS.md decide. */
void classify_http(struct task *t, long status, struct outcome *o)
{
	o->status = status;
	const struct qa_provider_ops *pl = t->ep->prov->l.plugin->provider;
	struct qa_endpoint qe = { t->ep->name, t->ep->base_url, t->model, t->pj };
	struct qa_reply *r = &o->reply;
	r->size = sizeof *r;
	qa_set_where(t->file, t->lineno);
	int rc = status >= 200 && status <= 299 && stream_active(t) ? stream_reply_of(t, r) :
	    pl->parse(t->ep->prov->state, asked(t), &qe, status, t->body.p ? t->body.p : "", t->body.len, r);
	host_reset();
	if (status >= 200 && status <= 299 && rc == 0 && !r->error) {
		o->ok = 1;
		return;
	}
	o->type = r->error_type ? r->error_type :
	    status >= 200 && status <= 299 ? "bad_response" : type_of_status(status);
	o->message = r->error ? xstrdup(r->error) : xstrdup(rc < 0 ? "the response could not be read" : "failed");
	if (strcmp(o->type, "quota") == 0)
		o->retry = 0;	/* an exhausted quota or budget: waiting does not help */
	else if (t->h.should_retry >= 0)
		o->retry = t->h.should_retry;
	else if (r->retry != QA_RETRY_DEFAULT)
		o->retry = r->retry == QA_RETRY_YES;
	else
		o->retry = status_retryable(status);
	/* FACTS.md's order: retry-after-ms, retry-after, then what the body asks (Gemini's retryDelay). */
	if (t->h.retry_after_ms != HINT_NONE)
		o->hint_ms = t->h.retry_after_ms, o->hint_from = "retry-after-ms";
	else if (t->h.retry_after != HINT_NONE)
		o->hint_ms = t->h.retry_after, o->hint_from = "retry-after";
	else if (r->retry_after_ms > 0)
		o->hint_ms = r->retry_after_ms, o->hint_from = "retryDelay";
}

void classify_curl(struct task *t, CURLcode rc, const char *errbuf, struct outcome *o)
{
	o->hint_ms = HINT_NONE;
	char msg[CURL_ERROR_SIZE + 64];
	const char *what = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		o->type = "timeout";
		o->retry = 1;
		if (o->deadline)
			snprintf(msg, sizeof msg, "no answer before the record's deadline (%.0f ms)", opt.deadline_ms);
		/* curl leaves the connect time unset when the TLS handshake is what timed out; its message says so. */
		else if (t->easy_done && t->appconnect_ms <= 0 && strncasecmp(t->req.url, "https:", 6) == 0 &&
		    (t->connect_ms > 0 || strstr(what, "SSL")))
			snprintf(msg, sizeof msg, "the TLS handshake did not finish within %g s: is the port "
			    "speaking TLS? (%s)", (opt.connect_timeout_ms < t->attempt_ms ? opt.connect_timeout_ms :
			    t->attempt_ms) / 1000, what);
		else if (t->easy_done && t->connect_ms <= 0)
			snprintf(msg, sizeof msg, "no connection within %g s (%s)",
			    (opt.connect_timeout_ms < t->attempt_ms ? opt.connect_timeout_ms : t->attempt_ms) / 1000, what);
		else
			snprintf(msg, sizeof msg, "no answer within %g s (%s)", t->attempt_ms / 1000, what);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		o->type = "network";
		o->retry = 1;
		snprintf(msg, sizeof msg, "the TLS handshake failed: is the port speaking TLS? (%s)", what);
		break;
	case CURLE_WRITE_ERROR:
		o->type = t->too_big ? "bad_response" : "network";
		o->retry = !t->too_big;
		snprintf(msg, sizeof msg, "%s", t->too_big ? "the response is larger than 64 MiB" : what);
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		o->type = "network";
		o->retry = 0;	/* waiting will not fix these */
		snprintf(msg, sizeof msg, "%s", what);
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		o->type = "network";
		o->retry = 1;	/* decide() says why not: past -r or the budget */
		snprintf(msg, sizeof msg, "the connection closed before an answer");
		break;
	default:
		o->type = "network";
		o->retry = 1;
		snprintf(msg, sizeof msg, "%s", what);
		break;
	}
	o->message = xstrdup(msg);
}
