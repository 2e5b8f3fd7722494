/*
 * lib/latency.c: the per-record formulas on chunk times chosen to be exact
 * in binary, so the results are compared exactly; the run summary's
 * percentiles against numpy's linear method worked by hand.
 */
#include <math.h>
#include <stdlib.h>

#include "qa.h"
#include "latency.h"
#include "t.h"

#define C QA_CHUNK_CHOICES
#define T QA_CHUNK_CONTENT
#define R QA_CHUNK_REASONING
#define U QA_CHUNK_USAGE

/* Role-only first chunk, reasoning, content, a finish chunk, a usage chunk. */
static void test_stream(void)
{
	static const qa_chunk_time c[] = {
		{ 40.5, C }, { 100, C | R }, { 110.25, C | R }, { 120, C | T }, { 140, C | T }, { 141, C }, { 142.5, U },
	};
	qa_latency l;
	qa_buf b = { 0 };

	latency_compute(&l, c, sizeof c / sizeof c[0], 150, 9, 4, 3.5);
	CHECK(l.first_chunk_ms == 40.5);
	CHECK(l.ttft_ms == 100);
	/* Usage says 9 tokens in 4 chunks: (140 - 100) / (9 - 1). */
	CHECK(l.tpot_ms == 5);
	CHECK(l.tokens == 9 && !l.estimated);
	/* Four content chunks, three gaps: 10.25, 9.75, 20. */
	CHECK(l.itl_ms == 40.0 / 3);
	CHECK(l.ngaps == 3);
	CHECK(l.ngaps == 3 && l.gaps[0] == 103 && l.gaps[1] == 98 && l.gaps[2] == 200);
	CHECK(l.latency_ms == 150);
	CHECK(l.tokens_per_s == 60);
	CHECK(l.queue_ms == 3.5);
	latency_json(&b, &l);
	CHECK_STR(buf_cstr(&b), ",\"queue_ms\":3.5,\"ttft_ms\":100,\"first_chunk_ms\":40.5,\"tpot_ms\":5,"
	    "\"itl_ms\":13.333,\"latency_ms\":150,\"tokens_per_s\":60,\"chunk_gaps_ms\":[10.3,9.8,20.0]");
	latency_free(&l);
	CHECK(l.gaps == NULL && l.ngaps == 0);
	buf_free(&b);
}

/* Gaps are written by hand, not printf: zero, tenths, thousands, a negative one (a clock that stepped back). */
static void test_gap_digits(void)
{
	static int32_t g[] = { 0, 7, 12345, -5, -123 };
	qa_latency l;
	qa_buf b = { 0 };
	const char *s;

	memset(&l, 0, sizeof l);
	l.ttft_ms = l.first_chunk_ms = l.tpot_ms = l.itl_ms = l.latency_ms = l.tokens_per_s = l.queue_ms = 1;
	l.gaps = g;
	l.ngaps = sizeof g / sizeof g[0];
	latency_json(&b, &l);
	s = strstr(buf_cstr(&b), "\"chunk_gaps_ms\":");
	CHECK_STR(s, "\"chunk_gaps_ms\":[0.0,0.7,1234.5,-0.5,-12.3]");
	buf_free(&b);
}

/*
 * The measures are written by hand in whole microseconds: each as
 * buf_json_number(round(v * 1000) / 1000) writes it, for values across the
 * range (fixed seed), halves, negatives, -0, and NaN and the huge ones
 * that take buf_json_number itself.
 */
static void test_micros(void)
{
	static const double fixed[] = { 0, -0.0, 1, 0.0004, 0.0005, -0.0004, -0.0005, 0.001, 0.01, 0.1, 0.12,
		100, 100.0005, 99.9995, 13.333333, 1234567.891, 99999999999.9994, 1e11, 1e11 + 0.5, -1e11, 3e15,
		NAN, INFINITY };
	unsigned long long x = 88172645463325252ULL;
	qa_buf got = { 0 }, want = { 0 };
	size_t n = sizeof fixed / sizeof fixed[0], bad = 0;

	for (size_t i = 0; i < n + 200000; i++) {
		double v;
		if (i < n) {
			v = fixed[i];
		} else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* 1e-4 .. 1e12, either sign, and some on a microsecond's half */
			v = pow(10, (double)(x % 16000) / 1000 - 4) * (x & 1 << 20 ? -1 : 1);
			if (x & 1 << 21)
				v = (floor(v * 1000) + 0.5) / 1000;
		}
		qa_latency l;
		memset(&l, 0, sizeof l);
		l.ttft_ms = l.first_chunk_ms = l.tpot_ms = l.itl_ms = l.latency_ms = l.tokens_per_s = NAN;
		l.queue_ms = v;
		got.len = want.len = 0;
		latency_json(&got, &l);
		buf_adds(&want, ",\"queue_ms\":");
		buf_json_number(&want, round(v * 1000) / 1000);
		buf_cstr(&got);
		if ((got.len < want.len || memcmp(got.p, want.p, want.len) != 0 || got.p[want.len] != ',') &&
		    bad++ == 0)
			CHECK_STR(buf_cstr(&got), buf_cstr(&want));	/* the first one, to see */
	}
	CHECK(bad == 0);
	buf_free(&got);
	buf_free(&want);
}

/* No usage: the tokens are the chunks' count, and the record says so. */
static void test_estimated(void)
{
	static const qa_chunk_time c[] = { { 10, C | T }, { 20, C | T }, { 40, C | T } };
	qa_latency l;

	latency_compute(&l, c, 3, 50, -1, 3, 0);
	CHECK(l.estimated && l.tokens == 3);
	CHECK(l.tpot_ms == 15);
	CHECK(l.itl_ms == 15);
	CHECK(l.ttft_ms == 10 && l.first_chunk_ms == 10);
	CHECK(l.tokens_per_s == 60);
	latency_free(&l);
}

/* One token: TPOT and ITL are undefined, written as null; no gaps. */
static void test_one_token(void)
{
	static const qa_chunk_time c[] = { { 5, C }, { 30, C | T }, { 31, U } };
	qa_latency l;
	qa_buf b = { 0 };

	latency_compute(&l, c, 3, 32, 1, 1, 0);
	CHECK(isnan(l.tpot_ms) && isnan(l.itl_ms));
	CHECK(l.ttft_ms == 30 && l.first_chunk_ms == 5);
	latency_json(&b, &l);
	CHECK_STR(buf_cstr(&b), ",\"queue_ms\":0,\"ttft_ms\":30,\"first_chunk_ms\":5,\"tpot_ms\":null,"
	    "\"itl_ms\":null,\"latency_ms\":32,\"tokens_per_s\":31.25,\"chunk_gaps_ms\":[]");
	latency_free(&l);
	buf_free(&b);
}

/* Several tokens in one chunk: all came at once, so TPOT is 0 and ITL undefined. */
static void test_one_chunk(void)
{
	static const qa_chunk_time c[] = { { 30, C | T } };
	qa_latency l;

	latency_compute(&l, c, 1, 30, 4, 1, 0);
	CHECK(l.tpot_ms == 0);
	CHECK(isnan(l.itl_ms));
	latency_free(&l);
}

/* Nothing but a role chunk and usage (an empty answer): no TTFT. */
static void test_empty(void)
{
	static const qa_chunk_time c[] = { { 7, C }, { 9, U } };
	qa_latency l;

	latency_compute(&l, c, 2, 10, 0, 0, 0);
	CHECK(isnan(l.ttft_ms) && isnan(l.tpot_ms) && isnan(l.itl_ms));
	CHECK(l.first_chunk_ms == 7);
	CHECK(l.tokens_per_s == 0);
	latency_compute(&l, NULL, 0, 0, -1, 0, 0);
	CHECK(isnan(l.ttft_ms) && isnan(l.first_chunk_ms) && isnan(l.tokens_per_s));
	latency_free(&l);
}

/* numpy.percentile(v, q) (method "linear") of 98, 99.5, 100, 101.25, 102.5, 130, 250.75, by hand. */
static void test_summary(void)
{
	static const double v[] = { 101.25, 99.5, 130, 100, 250.75, 98, 102.5 };
	static const qa_chunk_time c[] = { { 1, C | T }, { 3, C | T }, { 3.5, C | T } };
	qa_lat_summary s = { 0 };
	qa_lat_stats st;
	qa_latency l;
	size_t i;

	for (i = 0; i < 7; i++)
		lat_summary_add(&s, QA_LAT_TTFT, v[i]);
	lat_summary_add(&s, QA_LAT_TTFT, NAN);
	lat_summary_stats(&s, QA_LAT_TTFT, &st);
	CHECK(st.n == 7);
	CHECK(st.mean == 126);
	CHECK(st.p50 == 101.25);
	CHECK_NEAR(st.p90, 178.3, 1e-13);
	CHECK_NEAR(st.p95, 214.525, 1e-13);
	CHECK_NEAR(st.p99, 243.505, 1e-13);
	lat_summary_stats(&s, QA_LAT_TPOT, &st);
	CHECK(st.n == 0 && isnan(st.mean) && isnan(st.p99));
	/* A record's gaps are pooled (vLLM's ITL): 2.0 and 0.5 here. */
	latency_compute(&l, c, 3, 4, 3, 3, 0);
	lat_summary_add_record(&s, &l);
	lat_summary_add_record(&s, &l);
	lat_summary_stats(&s, QA_LAT_CHUNK_GAP, &st);
	CHECK(st.n == 4 && st.mean == 1.25 && st.p50 == 1.25);
	lat_summary_stats(&s, QA_LAT_TTFT, &st);
	CHECK(st.n == 9);
	lat_summary_stats(&s, QA_LAT_TPOT, &st);
	CHECK(st.n == 2 && st.p99 == 1.25);
	latency_free(&l);
	lat_summary_free(&s);
}

/* The printed table carries every measure with its formula; the names table every tool. */
static void test_print(void)
{
	qa_lat_summary s = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	int m;

	lat_summary_add(&s, QA_LAT_E2E, 12.25);
	lat_summary_print(fp, &s);
	lat_names_print(fp);
	fclose(fp);
	for (m = 0; m < QA_LAT_NMEASURES; m++) {
		CHECK(strstr(text, qa_lat_measures[m].name) != NULL);
		CHECK(strstr(text, qa_lat_measures[m].formula) != NULL);
	}
	CHECK(strstr(text, "latency_ms      t(last byte) - t(sent)") != NULL);
	CHECK(strstr(text, "      1      12.2      12.2      12.2      12.2      12.2\n") != NULL);
	CHECK(strstr(text, "tpot_ms         TPOT              ITL") != NULL);
	CHECK(strstr(text, "genai-perf") && strstr(text, "LLMPerf") && strstr(text, "GuideLLM"));
	free(text);
	/* the section qa-cost and qa-diff print: a blank line, the heading, the names fenced for Markdown */
	text = NULL;
	fp = open_memstream(&text, &len);
	lat_names_section(fp, 1);
	fclose(fp);
	CHECK(strncmp(text, "\nthe same numbers under other benchmarks' names:\n```\n", 53) == 0);
	CHECK(len > 4 && strcmp(text + len - 4, "```\n") == 0);
	free(text);
	lat_summary_free(&s);
}

int main(void)
{
	test_stream();
	test_gap_digits();
	test_micros();
	test_estimated();
	test_one_token();
	test_one_chunk();
	test_empty();
	test_summary();
	test_print();
	return t_done("test_latency");
}
