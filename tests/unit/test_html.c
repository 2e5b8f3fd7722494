/* lib/html.c: escaping, and the arithmetic qa-report's charts are drawn with. */
#include <math.h>

#include "html.h"
#include "t.h"

static const char *esc(const char *s, size_t n)
{
	static qa_buf b;
	b.len = 0;
	html_esc(&b, s, n);
	return buf_cstr(&b);
}

static void test_escape(void)
{
	const char *hostile = "</script><img src=x onerror=\"alert('x')\">&amp;";
	CHECK_STR(esc(hostile, strlen(hostile)),
	    "&lt;/script&gt;&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;amp;");
	CHECK_STR(esc("plain text, 42", 14), "plain text, 42");
	/* Tabs and newlines stay (the page shows them with pre-wrap); UTF-8 passes. */
	CHECK_STR(esc("a\tb\nc \xc3\xa9 \xe2\x86\x92", 12), "a\tb\nc \xc3\xa9 \xe2\x86\x92");
	/* NUL, other controls and broken UTF-8 become U+FFFD, never raw bytes. */
	CHECK_STR(esc("a\0b\x01" "c\xff" "d\xc3", 8), "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd" "d\xef\xbf\xbd");
	/* A C1 control (U+0085) is a parse error in HTML too. */
	CHECK_STR(esc("x\xc2\x85y", 4), "x\xef\xbf\xbdy");
	CHECK_STR(esc("", 0), "");
	/* An attribute value cannot be closed from inside. */
	CHECK_STR(esc("\" onmouseover=\"x", 16), "&quot; onmouseover=&quot;x");
}

static void test_scales(void)
{
	qa_scale s;
	scale_linear(&s, 0, 1, 100, 500);
	CHECK_NEAR(scale_map(&s, 0), 100, 1e-12);
	CHECK_NEAR(scale_map(&s, 0.25), 200, 1e-12);
	CHECK_NEAR(scale_map(&s, 1), 500, 1e-12);
	CHECK(isnan(scale_map(&s, NAN)));
	CHECK_NEAR(scale_clamp(&s, 2), 500, 1e-12);
	CHECK_NEAR(scale_clamp(&s, -1), 100, 1e-12);
	/* An inverted range: y axes grow upwards. */
	scale_linear(&s, 0, 1, 300, 20);
	CHECK_NEAR(scale_map(&s, 0.5), 160, 1e-12);
	CHECK_NEAR(scale_clamp(&s, 7), 20, 1e-12);
	/* A one-point domain is widened, not divided by zero. */
	scale_linear(&s, 3, 3, 0, 100);
	CHECK_NEAR(scale_map(&s, 3), 50, 1e-12);

	/* Log: each decade the same width. */
	CHECK(scale_log(&s, 0.01, 10, 0, 300) == 0);
	CHECK_NEAR(scale_map(&s, 0.01), 0, 1e-9);
	CHECK_NEAR(scale_map(&s, 0.1), 100, 1e-9);
	CHECK_NEAR(scale_map(&s, 1), 200, 1e-9);
	CHECK_NEAR(scale_map(&s, sqrt(10)), 250, 1e-9);
	CHECK(isnan(scale_map(&s, 0)));
	CHECK(isnan(scale_map(&s, -1)));
	CHECK(scale_log(&s, 0, 10, 0, 1) == -1);
	CHECK(scale_log(&s, 5, 5, 0, 1) == -1);
	CHECK(scale_log(&s, 10, 1, 0, 1) == -1);
}

static void test_ticks(void)
{
	double t[32], lo = 0.739, hi = 0.945;
	size_t n = ticks_linear(&lo, &hi, 6, t, 32);
	/* Step 0.05 fits 0.70 .. 0.95 in six ticks. */
	CHECK(n == 6);
	CHECK_NEAR(lo, 0.7, 1e-12);
	CHECK_NEAR(hi, 0.95, 1e-12);
	CHECK_NEAR(t[1], 0.75, 1e-12);
	CHECK_NEAR(t[5], 0.95, 1e-12);

	lo = -21.7;
	hi = 9.9;
	n = ticks_linear(&lo, &hi, 7, t, 32);
	CHECK(n <= 7);
	CHECK(lo <= -21.7 && hi >= 9.9);
	int zero = 0;
	for (size_t i = 0; i < n; i++)
		zero |= t[i] == 0 && !signbit(t[i]);
	CHECK(zero);
	/* Even steps: every gap the same. */
	for (size_t i = 2; i < n; i++)
		CHECK_NEAR(t[i] - t[i - 1], t[1] - t[0], 1e-9);

	lo = 5;
	hi = 5;
	n = ticks_linear(&lo, &hi, 5, t, 32);
	CHECK(n >= 2 && lo < 5 && hi > 5);

	/* Log ticks: widened to decades; minor 2x and 5x under three decades. */
	lo = 0.014;
	hi = 0.46;
	n = ticks_log(&lo, &hi, t, 32);
	CHECK_NEAR(lo, 0.01, 1e-12);
	CHECK_NEAR(hi, 1, 1e-12);
	CHECK(n == 7);
	CHECK_NEAR(t[0], 0.01, 1e-12);
	CHECK_NEAR(t[1], 0.02, 1e-12);
	CHECK_NEAR(t[2], 0.05, 1e-12);
	CHECK_NEAR(t[3], 0.1, 1e-12);
	CHECK_NEAR(t[6], 1, 1e-12);
	lo = 1e-5;
	hi = 0.0632;
	n = ticks_log(&lo, &hi, t, 32);
	CHECK(n == 5);
	CHECK_NEAR(hi, 0.1, 1e-12);
	/* An exact decade stays put. */
	lo = 1;
	hi = 100;
	n = ticks_log(&lo, &hi, t, 32);
	CHECK_NEAR(lo, 1, 1e-12);
	CHECK_NEAR(hi, 100, 1e-12);
}

static void test_cibar(void)
{
	qa_scale s;
	struct qa_cibar b;
	scale_linear(&s, 0, 1, 0, 200);
	CHECK(ci_bar(&s, 0.7, 0.8, 0.9, &b) == 0);
	CHECK_NEAR(b.x0, 140, 1e-9);
	CHECK_NEAR(b.xm, 160, 1e-9);
	CHECK_NEAR(b.x1, 180, 1e-9);
	CHECK(!b.clip_lo && !b.clip_hi);
	/* Past the axis: cut at the edge, and said so. */
	CHECK(ci_bar(&s, -0.2, 0.1, 1.3, &b) == 0);
	CHECK_NEAR(b.x0, 0, 1e-9);
	CHECK_NEAR(b.x1, 200, 1e-9);
	CHECK(b.clip_lo && b.clip_hi);
	/* An inverted range still gives x0 <= x1. */
	scale_linear(&s, 0, 1, 300, 100);
	CHECK(ci_bar(&s, 0.25, 0.5, 0.75, &b) == 0);
	CHECK_NEAR(b.x0, 150, 1e-9);
	CHECK_NEAR(b.x1, 250, 1e-9);
	CHECK(!b.clip_lo && !b.clip_hi);
	/* Undefined intervals are not drawn. */
	CHECK(ci_bar(&s, NAN, 0.5, 0.7, &b) == -1);
	CHECK(ci_bar(&s, 0.2, NAN, 0.7, &b) == -1);
	scale_log(&s, 0.01, 1, 0, 100);
	CHECK(ci_bar(&s, 0, 0.1, 0.5, &b) == -1);
	CHECK(ci_bar(&s, 0.01, 0.1, 1, &b) == 0);
	CHECK_NEAR(b.xm, 50, 1e-9);
}

static void test_pareto(void)
{
	/* a cheap and bad, b dear and good, c dearer and worse than b, d as cheap as a and better. */
	double cost[] = { 1, 10, 20, 1, NAN };
	double acc[] = { 0.5, 0.9, 0.8, 0.6, 0.99 };
	int on[5];
	CHECK(pareto_front(cost, acc, 5, on) == 2);
	CHECK(on[0] == 0 && on[1] == 1 && on[2] == 0 && on[3] == 1 && on[4] == 0);
	/* Two identical points: neither beats the other. */
	double c2[] = { 2, 2 }, a2[] = { 0.7, 0.7 };
	CHECK(pareto_front(c2, a2, 2, on) == 2);
}

static void test_fmt(void)
{
	char b[32];
	fmt_tick(b, sizeof b, 0.05);
	CHECK_STR(b, "0.05");
	fmt_tick(b, sizeof b, 0.75);
	CHECK_STR(b, "0.75");
	fmt_tick(b, sizeof b, 200);
	CHECK_STR(b, "200");
	fmt_tick(b, sizeof b, 2.5);
	CHECK_STR(b, "2.5");
	fmt_tick(b, sizeof b, -30);
	CHECK_STR(b, "-30");
	fmt_tick(b, sizeof b, 1e-5);
	CHECK_STR(b, "0.00001");
	fmt_tick(b, sizeof b, 1e-17);
	CHECK_STR(b, "0");
	fmt_tick(b, sizeof b, 12345);
	CHECK_STR(b, "12345");
}

int main(void)
{
	test_escape();
	test_scales();
	test_ticks();
	test_cibar();
	test_pareto();
	test_fmt();
	return t_done("test_html");
}
