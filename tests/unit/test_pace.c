#include "t.h"
#include "pace.h"

#define H(h, name, val) pace_hdrs_add((h), name, strlen(name), val, strlen(val), WALL)
static const double WALL = 1796594400000.0;	/* 2026-12-06T22:00:00Z */

static void durations(void)
{
	CHECK_NEAR(pace_duration_ms("1s", 2), 1000, 0);
	CHECK_NEAR(pace_duration_ms("6m0s", 4), 360000, 0);
	CHECK_NEAR(pace_duration_ms("20ms", 4), 20, 0);
	CHECK_NEAR(pace_duration_ms("1h2m3.5s", 8), 3723500, 0);
	CHECK_NEAR(pace_duration_ms("0.5", 3), 500, 0);
	CHECK_NEAR(pace_duration_ms(" 2s ", 4), 2000, 0);
	CHECK(pace_duration_ms("", 0) < 0);
	CHECK(pace_duration_ms("1x", 2) < 0);
	CHECK(pace_duration_ms("s", 1) < 0);
	CHECK(pace_duration_ms("1s5", 3) < 0);
	CHECK_NEAR(pace_rfc3339_ms("2026-12-06T22:00:30Z", 20), WALL + 30000, 0);
	CHECK_NEAR(pace_rfc3339_ms("2026-12-06T23:00:30.25+01:00", 28), WALL + 30250, 0);
	CHECK_NEAR(pace_rfc3339_ms("2026-12-06T21:30:00-00:30", 25), WALL, 0);
	CHECK(pace_rfc3339_ms("2026-13-06T22:00:30Z", 20) < 0);
	CHECK(pace_rfc3339_ms("2026-12-06T22:00:30", 19) < 0);
	/* resets in all forms, as delays */
	CHECK_NEAR(pace_reset_ms("2026-12-06T22:00:30Z", 20, WALL), 30000, 0);
	CHECK_NEAR(pace_reset_ms("2026-12-06T21:00:30Z", 20, WALL), 0, 0);	/* past: now */
	CHECK_NEAR(pace_reset_ms("1796594460", 10, WALL), 60000, 0);		/* epoch seconds */
	CHECK_NEAR(pace_reset_ms("30", 2, WALL), 30000, 0);			/* delta seconds */
	CHECK_NEAR(pace_reset_ms("1m", 2, WALL), 60000, 0);
}

static void headers(void)
{
	pace_hdrs h;
	pace_hdrs_init(&h);
	CHECK(H(&h, "Content-Type", "application/json") == 0);
	CHECK(!h.any);
	CHECK(H(&h, "x-ratelimit-limit-requests", "1200") == 1);
	CHECK(H(&h, "X-RateLimit-Remaining-Requests", "1199") == 1);
	CHECK(H(&h, "x-ratelimit-reset-requests", "50ms") == 1);
	CHECK(H(&h, "x-ratelimit-limit-tokens", "120000") == 1);
	CHECK(H(&h, "x-ratelimit-remaining-tokens", "119500") == 1);
	CHECK(H(&h, "x-ratelimit-reset-tokens", "250ms") == 1);
	CHECK(H(&h, "x-ratelimit-reset-tokens", "soon") == -1);
	CHECK_NEAR(h.limit[PACE_REQ], 1200, 0);
	CHECK_NEAR(h.remaining[PACE_REQ], 1199, 0);
	CHECK_NEAR(h.reset_ms[PACE_REQ], 50, 0);
	CHECK_NEAR(h.limit[PACE_TOK], 120000, 0);
	CHECK_NEAR(h.remaining[PACE_TOK], 119500, 0);
	CHECK_NEAR(h.reset_ms[PACE_TOK], 250, 0);	/* the bad value left it alone */
	CHECK(H(&h, "x-ratelimit-limit-bananas", "3") == 0);

	pace_hdrs_init(&h);
	CHECK(H(&h, "anthropic-ratelimit-requests-limit", "50") == 1);
	CHECK(H(&h, "anthropic-ratelimit-requests-remaining", "49") == 1);
	CHECK(H(&h, "anthropic-ratelimit-requests-reset", "2026-12-06T22:00:01Z") == 1);
	CHECK(H(&h, "anthropic-ratelimit-input-tokens-limit", "40000") == 1);
	CHECK(H(&h, "anthropic-ratelimit-output-tokens-remaining", "7000") == 1);
	CHECK(H(&h, "anthropic-ratelimit-tokens-reset", "2026-12-06T22:00:06Z") == 1);
	CHECK_NEAR(h.limit[PACE_REQ], 50, 0);
	CHECK_NEAR(h.remaining[PACE_REQ], 49, 0);
	CHECK_NEAR(h.reset_ms[PACE_REQ], 1000, 0);
	CHECK_NEAR(h.limit[PACE_TOK_IN], 40000, 0);
	CHECK_NEAR(h.remaining[PACE_TOK_OUT], 7000, 0);
	CHECK_NEAR(h.reset_ms[PACE_TOK], 6000, 0);
	CHECK(h.limit[PACE_TOK] < 0);

	pace_hdrs_init(&h);	/* the IETF draft, older and newer forms */
	CHECK(H(&h, "RateLimit-Limit", "100") == 1);
	CHECK(H(&h, "RateLimit-Remaining", "60") == 1);
	CHECK(H(&h, "RateLimit-Reset", "20") == 1);
	CHECK_NEAR(h.limit[PACE_REQ], 100, 0);
	CHECK_NEAR(h.remaining[PACE_REQ], 60, 0);
	CHECK_NEAR(h.reset_ms[PACE_REQ], 20000, 0);
	CHECK(H(&h, "RateLimit-Policy", "300;w=60") == 1);
	CHECK_NEAR(h.limit[PACE_REQ], 300, 0);
	CHECK_NEAR(h.window_ms, 60000, 0);
	pace_hdrs_init(&h);
	CHECK(H(&h, "RateLimit-Policy", "\"default\";q=500;w=10") == 1);
	CHECK(H(&h, "RateLimit", "\"default\";r=250;t=4") == 1);
	CHECK_NEAR(h.limit[PACE_REQ], 500, 0);
	CHECK_NEAR(h.window_ms, 10000, 0);
	CHECK_NEAR(h.remaining[PACE_REQ], 250, 0);
	CHECK_NEAR(h.reset_ms[PACE_REQ], 4000, 0);
	CHECK(H(&h, "RateLimit", "\"default\";x=1") == -1);
}

/* A server bucket: 60 requests a minute, 1000 tokens a minute. */
static void budgets(void)
{
	pace_opts o = { .rpm = 60, .tpm = 1000 };
	pace_t *p = pace_new(&o);
	pace_decision d;
	/* 400 bytes = 100 tokens at 4 bytes a token, + 100 max_tokens */
	CHECK_NEAR(pace_prompt_tokens(p, 400), 100, 0);
	CHECK_NEAR(pace_when(p, 400, 100, 0, &d), 0, 0);
	CHECK_NEAR(d.charge_tokens, 200, 0);
	CHECK_NEAR(d.left[PACE_TOK], 1000, 0);
	CHECK_STR(d.reason, "budget");
	for (int i = 0; i < 5; i++)
		pace_charge(p, 400, 100, 0);
	/* the 1000 tokens are spent: the next 200 take 200 / (1000/60000) = 12000 ms */
	CHECK_NEAR(pace_when(p, 400, 100, 0, &d), 12000, 1e-9);
	CHECK_STR(d.reason, "tokens");
	CHECK_NEAR(d.left[PACE_TOK], 200, 1e-9);
	CHECK_NEAR(d.left[PACE_REQ], 60, 1e-9);	/* 55 + 12 s, but a bucket holds 60 */
	CHECK_NEAR(d.rate_tpm, 1000, 1e-9);
	/* half the wait gone */
	CHECK_NEAR(pace_when(p, 400, 100, 6000, NULL), 12000, 1e-9);
	/* a request bigger than the bucket goes when the bucket is full */
	CHECK_NEAR(pace_when(p, 40000, 0, 0, NULL), 60000, 1e-9);
	char buf[512];
	pace_when(p, 400, 100, 2000, &d);
	int n = pace_trace_members(&d, buf, sizeof buf);
	CHECK(n > 0 && (size_t)n < sizeof buf);
	CHECK(strstr(buf, "\"decision\":\"pace\",\"reason\":\"tokens\",\"planned_ms\":12000,\"wait_ms\":10000,") == buf);
	CHECK(strstr(buf, "\"charge_tokens\":200,\"rpm\":60,\"tpm\":1000,\"concurrency\":4") != NULL);
	pace_free(&p);
	CHECK(p == NULL);
	/* a test server's "minute" of 6 s: the same budgets, ten times as fast */
	o = (pace_opts){ .rpm = 60, .minute_ms = 6000 };
	p = pace_new(&o);
	for (int i = 0; i < 60; i++)
		pace_charge(p, 4, 0, 0);
	CHECK_NEAR(pace_when(p, 4, 0, 0, &d), 100, 1e-9);
	CHECK_NEAR(d.rate_rpm, 60, 1e-9);	/* per its minute */
	pace_free(&p);
}

/* Headers replace beliefs; in-flight requests sent after the answered one are subtracted. */
static void from_headers(void)
{
	pace_opts o = { 0 };
	pace_t *p = pace_new(&o);
	CHECK_NEAR(pace_when(p, 400, 0, 0, NULL), 0, 0);	/* nothing known: go */
	long a = pace_charge(p, 400, 0, 0);
	pace_charge(p, 400, 0, 1);
	pace_charge(p, 400, 0, 2);
	pace_hdrs h;
	pace_hdrs_init(&h);
	H(&h, "x-ratelimit-limit-requests", "120");
	H(&h, "x-ratelimit-remaining-requests", "3");
	H(&h, "x-ratelimit-reset-requests", "58.5s");
	H(&h, "x-ratelimit-limit-tokens", "10000");
	H(&h, "x-ratelimit-remaining-tokens", "9000");
	H(&h, "x-ratelimit-reset-tokens", "6s");
	pace_answer(p, a, 200, &h, 100, 20, -1, NULL, 0, 20);
	/* 3 left, 2 of them already on their way: 1 left at t=20 */
	pace_decision d;
	CHECK_NEAR(pace_when(p, 400, 0, 20, &d), 20, 0);
	CHECK_NEAR(d.left[PACE_REQ], 1, 1e-9);
	CHECK_NEAR(d.left[PACE_TOK], 9000 - 200, 1e-9);
	pace_charge(p, 400, 0, 20);
	/* the reset said (120-3) / 58500 ms = 2 a second, the limit 120 a minute: the slower */
	CHECK_NEAR(pace_when(p, 400, 0, 20, &d), 20 + 500, 1e-9);
	CHECK_STR(d.reason, "requests");
	CHECK_NEAR(d.rate_rpm, 120, 1e-9);
	/* usage said 100 tokens for 400 bytes: 4 bytes a token still */
	CHECK_NEAR(pace_prompt_tokens(p, 400), 100, 0);
	pace_answer(p, 1, 200, NULL, 200, 20, -1, NULL, 0, 30);	/* 400 bytes were 200 tokens */
	CHECK_NEAR(pace_prompt_tokens(p, 300), 113, 0);		/* 800 bytes were 300 tokens: 112.5 */
	/* an answer overtaken by a newer one's headers changes nothing */
	pace_hdrs old;
	pace_hdrs_init(&old);
	H(&old, "x-ratelimit-remaining-requests", "100");
	long b = pace_charge(p, 4, 0, 40);
	long c2 = pace_charge(p, 4, 0, 41);
	pace_hdrs_init(&h);
	H(&h, "x-ratelimit-remaining-requests", "0");
	H(&h, "x-ratelimit-reset-requests", "1s");
	pace_answer(p, c2, 200, &h, -1, 20, -1, NULL, 0, 60);
	pace_answer(p, b, 200, &old, -1, 20, -1, NULL, 0, 61);
	CHECK_NEAR(pace_when(p, 4, 0, 61, &d), 560, 1e-6);	/* 0 left at 60, 2 a second */
	CHECK(!pace_stopped(p));
	pace_free(&p);
}

static void quota(void)
{
	pace_opts o = { 0 };
	pace_t *p = pace_new(&o);
	long a = pace_charge(p, 10, 0, 0);
	pace_hdrs h;
	pace_hdrs_init(&h);
	H(&h, "x-ratelimit-limit-requests", "10000");
	H(&h, "x-ratelimit-remaining-requests", "0");
	H(&h, "x-ratelimit-reset-requests", "7h12m");
	pace_answer(p, a, 200, &h, -1, 20, -1, NULL, 0, 5);
	CHECK_NEAR(pace_stopped(p), 5 + 7.2 * 3600000, 1e-12);
	pace_decision d;
	CHECK_NEAR(pace_when(p, 10, 0, 6, &d), 5 + 7.2 * 3600000, 1e-12);
	CHECK_STR(d.reason, "quota");
	pace_free(&p);

	p = pace_new(&o);
	a = pace_charge(p, 10, 0, 0);
	const char *body = "{\"error\":{\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\"}}";
	pace_answer(p, a, 429, NULL, -1, 20, 1000, body, strlen(body), 5);
	CHECK(pace_stopped(p) == -1);	/* stopped, and nothing says until when */
	CHECK(isinf(pace_when(p, 10, 0, 6, &d)));
	CHECK_STR(d.reason, "quota");
	CHECK(d.left[PACE_REQ] == -1);
	pace_free(&p);

	/* an ordinary 429 holds for its Retry-After, and is no quota */
	p = pace_new(&o);
	a = pace_charge(p, 10, 0, 0);
	body = "{\"error\":{\"type\":\"rate_limit_exceeded\"}}";
	pace_answer(p, a, 429, NULL, -1, 20, 1500, body, strlen(body), 5);
	CHECK(!pace_stopped(p));
	CHECK(pace_when(p, 10, 0, 5, &d) >= 1505);
	pace_free(&p);

	char utc[32];
	pace_format_utc(WALL + 30000, utc, sizeof utc);
	CHECK_STR(utc, "2026-12-06T22:00:30Z");

	/* Anthropic's spend limit says when access comes back, in its message */
	const char *m = "You have reached your specified API usage limits. You will regain access on 2026-12-07 at "
	    "00:00 UTC.";
	CHECK_NEAR(pace_regain_ms(m, strlen(m), WALL), 2 * 3600000, 1e-9);
	CHECK(pace_regain_ms(m, strlen(m), WALL + 3 * 3600000) == 0);	/* already past */
	m = "Your credit balance is too low to access the Anthropic API.";
	CHECK(pace_regain_ms(m, strlen(m), WALL) == -1);
	m = "regain access on 2026-13-07 at 00:00 UTC";
	CHECK(pace_regain_ms(m, strlen(m), WALL) == -1);
	CHECK(pace_regain_ms(m, 20, WALL) == -1);	/* cut short */
	/* a quota the caller classified: until the message's time, else an hour-long reset, else the run */
	p = pace_new(&o);
	pace_quota(p, NULL, 2 * 3600000, 100);
	CHECK_NEAR(pace_stopped(p), 100 + 2 * 3600000, 1e-9);
	pace_quota(p, NULL, 1000, 200);	/* the first stop stands */
	CHECK_NEAR(pace_stopped(p), 100 + 2 * 3600000, 1e-9);
	pace_free(&p);
	p = pace_new(&o);
	pace_hdrs_init(&h);
	H(&h, "anthropic-ratelimit-tokens-reset", "2026-12-07T01:00:00Z");
	pace_quota(p, &h, -1, 100);
	CHECK_NEAR(pace_stopped(p), 100 + 3 * 3600000, 1e-6);
	pace_free(&p);
	p = pace_new(&o);
	pace_hdrs_init(&h);
	H(&h, "anthropic-ratelimit-tokens-reset", "2026-12-06T22:00:05Z");	/* 5 s: a rate's reset */
	pace_quota(p, &h, -1, 100);
	CHECK(pace_stopped(p) == -1);
	pace_free(&p);
}

/* No headers: a 429 sets rates from what was accepted, each later episode cuts, clean seconds add. */
static void learned(void)
{
	pace_opts o = { 0 };
	pace_t *p = pace_new(&o);
	/* 120 requests of 100 tokens accepted within the first 30 s */
	for (int i = 0; i < 120; i++) {
		long id = pace_charge(p, 400, 0, i * 250.0);
		pace_answer(p, id, 200, NULL, -1, 20, -1, NULL, 0, i * 250.0 + 20);
	}
	CHECK_NEAR(pace_when(p, 400, 0, 30000, NULL), 30000, 0);	/* still nothing learned */
	long x = pace_charge(p, 400, 0, 30000);
	long y = pace_charge(p, 400, 0, 30001);
	pace_answer(p, x, 429, NULL, -1, 20, -1, NULL, 0, 30020);
	pace_decision d;
	/* 0.9 * 12000 tokens a minute (120 of 100): 100 tokens every 555.6 ms, starting empty */
	CHECK_NEAR(pace_when(p, 400, 0, 30020, &d), 30020 + 60000.0 / 108, 1e-9);
	CHECK_STR(d.reason, "learned");
	CHECK_NEAR(d.rate_tpm, 0.9 * 12000, 1e-9);
	CHECK_NEAR(d.rate_rpm, 0, 0);
	/* y was sent before the cut: the same episode, no second cut */
	pace_answer(p, y, 429, NULL, -1, 20, -1, NULL, 0, 30021);
	pace_when(p, 400, 0, 30021, &d);
	CHECK_NEAR(d.rate_tpm, 10800, 1e-9);
	/* a request sent after the cut and refused: cut again */
	long z = pace_charge(p, 400, 0, 31000);
	pace_answer(p, z, 529, NULL, -1, 20, -1, NULL, 0, 31020);
	pace_when(p, 400, 0, 31020, &d);
	CHECK_NEAR(d.rate_tpm, 10800 * 0.9, 1e-9);
	/* three clean seconds later: + 3 * 2% of 9720 */
	long w = pace_charge(p, 400, 0, 34000);
	pace_answer(p, w, 200, NULL, -1, 20, -1, NULL, 0, 34020);
	pace_when(p, 400, 0, 34020, &d);
	CHECK_NEAR(d.rate_tpm, 9720 * 1.06, 1e-9);
	/* headers, once seen, end the guessing */
	long v = pace_charge(p, 400, 0, 35000);
	pace_hdrs h;
	pace_hdrs_init(&h);
	H(&h, "x-ratelimit-limit-requests", "6000");
	H(&h, "x-ratelimit-remaining-requests", "5999");
	pace_answer(p, v, 200, &h, -1, 20, -1, NULL, 0, 35020);
	CHECK_NEAR(pace_when(p, 400, 0, 35020, &d), 35020, 0);
	CHECK_STR(d.reason, "budget");
	pace_answer(p, 12345, 429, NULL, -1, 20, -1, NULL, 0, 36000);	/* not a ticket: ignored */
	pace_free(&p);

	/* A later episode measures: what the server accepted since the last cut's request is its rate */
	p = pace_new(&o);
	for (int i = 0; i < 120; i++) {
		long id = pace_charge(p, 400, 0, i * 250.0);
		pace_answer(p, id, 200, NULL, -1, 20, -1, NULL, 0, i * 250.0 + 20);
	}
	x = pace_charge(p, 400, 0, 30000);
	pace_answer(p, x, 429, NULL, -1, 20, -1, NULL, 0, 30020);	/* the first cut: 10800 a minute */
	for (int i = 1; i <= 20; i++) {	/* 2000 tokens accepted in the next 10.5 s */
		long id = pace_charge(p, 400, 0, 30000 + 500.0 * i);
		pace_answer(p, id, 200, NULL, -1, 20, -1, NULL, 0, 30000 + 500.0 * i + 20);
	}
	pace_when(p, 400, 0, 40100, &d);
	CHECK_NEAR(d.rate_tpm, 10800 * 1.2, 1e-6);	/* ten clean seconds: + 10 * 2% */
	long u = pace_charge(p, 400, 0, 40400);	/* in flight across the cut: counted as accepted */
	z = pace_charge(p, 400, 0, 40500);
	pace_answer(p, z, 429, NULL, -1, 20, -1, NULL, 0, 40520);
	double measured = 2100.0 / 10500 * 60000;	/* 12000 a minute, below the 12960 believed */
	pace_when(p, 400, 0, 40520, &d);
	CHECK_NEAR(d.rate_tpm, 0.95 * measured, 1e-6);
	/* near the measured rate, clean seconds add only 0.5% each */
	pace_answer(p, u, 200, NULL, -1, 20, -1, NULL, 0, 43520);
	pace_when(p, 400, 0, 43520, &d);
	CHECK_NEAR(d.rate_tpm, 0.95 * measured * 1.015, 1e-6);
	/* nothing accepted since the last cut measures nothing: the cut is 0.9 */
	long q = pace_charge(p, 400, 0, 44000);
	pace_answer(p, q, 429, NULL, -1, 20, -1, NULL, 0, 44020);
	pace_when(p, 400, 0, 44020, &d);
	CHECK_NEAR(d.rate_tpm, 0.95 * measured * 1.015 * 0.9, 1e-6);
	pace_free(&p);
}

static void concurrency(void)
{
	pace_conc c;
	pace_conc_init(&c, 64);
	CHECK(c.limit == 4);
	/* flat latency: doubles each round (4 answers, then 8, ...) up to the cap */
	int rounds = 0;
	while (c.limit < 64 && rounds < 10) {
		int n = c.limit;
		for (int i = 0; i < n; i++)
			pace_conc_sample(&c, 100);
		rounds++;
	}
	CHECK(c.limit == 64);
	CHECK(rounds == 4);
	/* latency doubles: queueing; shrink by 1.25/2 = 0.625 */
	for (int i = 0; i < 64; i++)
		pace_conc_sample(&c, 200);
	CHECK(c.limit == 40);
	CHECK(c.slow_start == 0);
	/* flat again (baseline aged 1%): + 1 a round */
	for (int i = 0; i < 40; i++)
		pace_conc_sample(&c, 100);
	CHECK(c.limit == 41);
	/* a small rise, 1.3x: hold */
	for (int i = 0; i < 41; i++)
		pace_conc_sample(&c, 130.5);
	CHECK(c.limit == 41);
	/* a huge rise: at most halves */
	for (int i = 0; i < 41; i++)
		pace_conc_sample(&c, 10000);
	CHECK(c.limit == 20);
	pace_conc_init(&c, 2);	/* the endpoint's concurrency caps it */
	CHECK(c.limit == 2);
	for (int i = 0; i < 20; i++)
		pace_conc_sample(&c, 100);
	CHECK(c.limit == 2);
	pace_opts o = { .conc_fixed = 7, .conc_cap = 64 };
	pace_t *p = pace_new(&o);
	CHECK(pace_concurrency(p) == 7);
	pace_free(&p);
	/* without an endpoint config's concurrency, never above 64; with one, never above it (even past 64) */
	static const int caps[] = { 0, 100, 10 }, want[] = { PACE_CONC_CAP, 100, 10 };
	for (int k = 0; k < 3; k++) {
		o = (pace_opts){ .conc_cap = caps[k] };
		p = pace_new(&o);
		CHECK(pace_concurrency(p) == (caps[k] && caps[k] < 4 ? caps[k] : 4));
		for (int i = 0; i < 600; i++) {
			long id = pace_charge(p, 1, 0, i);
			pace_answer(p, id, 200, NULL, -1, 50, -1, NULL, 0, i + 50);
		}
		CHECK(pace_concurrency(p) == want[k]);
		CHECK(pace_concurrency_peak(p) == want[k]);
		pace_free(&p);
	}
	/* the peak stays when latency shrinks the limit */
	pace_conc_init(&c, 64);
	for (int i = 0; i < 4 + 8; i++)
		pace_conc_sample(&c, 100);
	CHECK(c.limit == 16 && c.peak == 16);
	for (int i = 0; i < 16; i++)
		pace_conc_sample(&c, 1000);
	CHECK(c.limit == 8 && c.peak == 16);
}

int main(void)
{
	durations();
	headers();
	budgets();
	from_headers();
	quota();
	learned();
	concurrency();
	return t_done("test_pace");
}
