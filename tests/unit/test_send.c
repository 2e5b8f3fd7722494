/*
 * qa-send's decisions, exactly: the retry decision, the delay arithmetic
 * and the header parser, linked against the tool's own objects (every
 * file of tools/qa-send/ but main.c), so no test has to time a server.
 */
#include "qa-send.h"
#include "t.h"

static struct endpoint ep_a, ep_b;

static void task_on(struct task *t, int attempts, double deadline)
{
	memset(t, 0, sizeof *t);
	t->ep = t->chain[0] = &ep_a;
	t->chain[1] = &ep_b;
	t->nchain = 1;
	t->attempts = attempts;
	t->deadline = deadline;
}

static struct outcome retryable(double hint_ms, const char *from)
{
	struct outcome o = { .type = "server_error", .status = 503, .retry = 1, .hint_ms = hint_ms,
		.hint_from = from };
	return o;
}

/* The backoff ceiling doubles from --backoff-base up to --backoff-cap; the jitter is uniform below it. */
static void test_backoff(void)
{
	struct task t;
	struct outcome o = retryable(HINT_NONE, NULL);
	char reason[128];
	for (int a = 1; a <= 6; a++) {
		task_on(&t, a, 1e12);
		double ceiling = fmin(500 * pow(2, a - 1), 8000);
		/* the same seed gives the same draw: the delay is that draw times the ceiling */
		rng_state = 42;
		double u = rng_unif();
		rng_state = 42;
		double d = retry_delay(&t, &o, reason, sizeof reason);
		CHECK_NEAR(d, u * ceiling, 1e-12);
		CHECK(d >= 0 && d < ceiling);
		CHECK_STR(reason, "backoff");
	}
}

/* A server's wait is taken when 0 < ms <= --retry-after-max; else backoff, and the reason says why. */
static void test_hint(void)
{
	struct task t;
	char reason[128];
	task_on(&t, 1, 1e12);
	struct outcome o = retryable(1500, "retry-after-ms");
	CHECK_NEAR(retry_delay(&t, &o, reason, sizeof reason), 1500, 0);
	CHECK_STR(reason, "retry-after-ms");
	o = retryable(0, "retry-after");
	rng_state = 7;
	CHECK(retry_delay(&t, &o, reason, sizeof reason) < 500);
	CHECK_STR(reason, "retry-after 0 ms is not over 0: backoff");
	o = retryable(61e3, "retry-after");
	retry_delay(&t, &o, reason, sizeof reason);
	CHECK_STR(reason, "retry-after 61000 ms is over --retry-after-max: backoff");
	o = retryable(NAN, "retry-after");
	retry_delay(&t, &o, reason, sizeof reason);
	CHECK_STR(reason, "retry-after unreadable: backoff");
}

/* Each refusal of decide(), with its reason, in the order it checks them. */
static void test_decide(void)
{
	struct task t;
	struct outcome o = retryable(1000, "retry-after");
	double delay = -1;
	const char *why;
	char reason[128];

	task_on(&t, 1, 1e12);
	CHECK(decide(&t, &o, 0, &delay, &why, reason, sizeof reason) == 1);
	CHECK_NEAR(delay, 1000, 0);
	CHECK(why == NULL);

	o.retry = 0;
	CHECK(decide(&t, &o, 0, &delay, &why, reason, sizeof reason) == 0);
	CHECK(why == NULL);
	o.retry = 1;

	ep_a.auth_broken = 1;
	CHECK(decide(&t, &o, 0, &delay, &why, reason, sizeof reason) == 0);
	CHECK_STR(why, "endpoint stopped after repeated auth failures");
	ep_a.auth_broken = 0;

	task_on(&t, 3, 1e12);	/* -r 2: the third attempt was the last */
	CHECK(decide(&t, &o, 0, &delay, &why, reason, sizeof reason) == 0);
	CHECK_STR(why, "retries exhausted");

	/* cooling down, with an endpoint after it: skip, not retry */
	task_on(&t, 1, 1e12);
	t.nchain = 2;
	ep_a.cool_until = 100;
	CHECK(decide(&t, &o, 50, &delay, &why, reason, sizeof reason) == 0);
	CHECK_STR(why, "the endpoint is cooling down");
	/* the last endpoint left is never skipped */
	t.nchain = 1;
	CHECK(decide(&t, &o, 50, &delay, &why, reason, sizeof reason) == 1);
	ep_a.cool_until = 0;

	/* the budget: RETRY_FLOOR plus --retry-budget per record read */
	stats.read = 10;
	stats.retries = RETRY_FLOOR + 5;
	long denied = stats.denied;
	CHECK(decide(&t, &o, 0, &delay, &why, reason, sizeof reason) == 0);
	CHECK_STR(why, "the run's retry budget (--retry-budget) is spent");
	CHECK(stats.denied == denied + 1);
	stats.retries = RETRY_FLOOR + 4;
	CHECK(decide(&t, &o, 0, &delay, &why, reason, sizeof reason) == 1);
	opt.max_retries_total = RETRY_FLOOR + 4;
	CHECK(decide(&t, &o, 0, &delay, &why, reason, sizeof reason) == 0);
	CHECK_STR(why, "the run's retry cap (--max-retries-total) is reached");
	opt.max_retries_total = -1;
	stats.retries = 0;

	/* a wait that would end at or past the deadline is no retry */
	task_on(&t, 1, 1000);
	CHECK(decide(&t, &o, 0, &delay, &why, reason, sizeof reason) == 0);
	CHECK_STR(why, "the record's deadline would pass");
	task_on(&t, 1, 1000.5);
	CHECK(decide(&t, &o, 0, &delay, &why, reason, sizeof reason) == 1);
}

static void header(struct hdrs *h, const char *line)
{
	on_header_line(h, line, strlen(line));
}

/* The headers a retry listens to, as the server said them; retry_delay() judges the values. */
static void test_headers(void)
{
	struct hdrs h = { 0 };
	hdrs_reset(&h);
	CHECK(h.retry_after_ms == HINT_NONE && h.retry_after == HINT_NONE && h.should_retry == -1);
	header(&h, "Retry-After-Ms: 250\r\n");
	CHECK_NEAR(h.retry_after_ms, 250, 0);
	header(&h, "retry-after: 2\r\n");
	CHECK_NEAR(h.retry_after, 2000, 0);
	header(&h, "Retry-After: -3\r\n");
	CHECK_NEAR(h.retry_after, -3000, 0);
	header(&h, "Retry-After: soon\r\n");
	CHECK(isnan(h.retry_after));
	header(&h, "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n");	/* a past date: not over 0 */
	CHECK(h.retry_after <= 0);
	header(&h, "x-should-retry: false\r\n");
	CHECK(h.should_retry == 0);
	header(&h, "X-Should-Retry: true\r\n");
	CHECK(h.should_retry == 1);
	header(&h, "X-Should-Retry: maybe\r\n");
	CHECK(h.should_retry == 1);
	header(&h, "x-request-id: req_1\r\n");
	CHECK_MEM(h.request_id.p, h.request_id.len, "req_1");
	header(&h, "X-RateLimit-Remaining-Requests: 9\r\n");
	header(&h, "anthropic-ratelimit-tokens-limit: 100\r\n");
	CHECK_MEM(h.ratelimit.p, h.ratelimit.len,
	    "\"x-ratelimit-remaining-requests\":\"9\",\"anthropic-ratelimit-tokens-limit\":\"100\"");
	header(&h, "no colon here\r\n");
	CHECK(h.should_retry == 1);
	/* a new response (after 100 Continue) forgets the last one's */
	header(&h, "HTTP/1.1 200 OK\r\n");
	CHECK(h.retry_after_ms == HINT_NONE && h.should_retry == -1 && h.request_id.len == 0 && h.ratelimit.len == 0);
	buf_free(&h.request_id);
	buf_free(&h.ratelimit);
}

/* find_nocase() against the obvious loop, on random text over a small alphabet (fixed seed), and scrub(). */
static const char *naive(const char *h, size_t hl, const char *n, size_t nl)
{
	for (size_t i = 0; nl <= hl && i <= hl - nl; i++)
		if (strncasecmp(h + i, n, nl) == 0)
			return h + i;
	return NULL;
}

static void test_find_nocase(void)
{
	static const char abc[] = "sSkK-b1 ";
	unsigned long long x = 88172645463325252ULL;
	char h[64], n[8];
	int bad = 0;

	for (int r = 0; r < 200000; r++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t hl = x % 40, nl = (x >> 8) % 5;
		for (size_t i = 0; i < hl; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			h[i] = abc[x % 8];
		}
		for (size_t i = 0; i < nl; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			n[i] = abc[x % 8];
		}
		if (find_nocase(h, hl, n, nl) != naive(h, hl, n, nl))
			bad++;
	}
	CHECK(bad == 0);
	qa_buf b = { 0 };
	remember_key("sk-secret-123");
	buf_adds(&b, "{\"a\":\"SK-SECRET-123 and sk-secret-123\",\"s\":\"sk-secret-12\"}");
	scrub(&b);
	CHECK_STR(buf_cstr(&b), "{\"a\":\"[redacted] and [redacted]\",\"s\":\"sk-secret-12\"}");
	buf_free(&b);
}

int main(void)
{
	ep_a.name = "a";
	ep_b.name = "b";
	test_backoff();
	test_hint();
	test_decide();
	test_headers();
	test_find_nocase();
	return t_done("test_send");
}
