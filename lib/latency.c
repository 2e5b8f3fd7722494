/* Per-record timings of a streamed response and a run's percentiles (see latency.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "latency.h"

const qa_lat_measure qa_lat_measures[QA_LAT_NMEASURES] = {
	[QA_LAT_TTFT] = { "ttft_ms", "t(first content chunk) - t(sent)" },
	[QA_LAT_FIRST_CHUNK] = { "first_chunk_ms", "t(first chunk with choices, role-only too) - t(sent)" },
	[QA_LAT_TPOT] = { "tpot_ms", "(t(last token) - t(first token)) / (tokens - 1)" },
	[QA_LAT_ITL] = { "itl_ms", "mean gap between content chunks, per request" },
	[QA_LAT_CHUNK_GAP] = { "chunk_gaps_ms", "each gap between content chunks, pooled" },
	[QA_LAT_E2E] = { "latency_ms", "t(last byte) - t(sent)" },
	[QA_LAT_TOKENS_PER_S] = { "tokens_per_s", "tokens / latency_ms * 1000" },
};

void latency_compute(qa_latency *out, const qa_chunk_time *c, size_t n, double end_ms,
    long usage_tokens, long chunk_tokens, double queue_ms)
{
	const unsigned tok = QA_CHUNK_CONTENT | QA_CHUNK_REASONING;
	double first = NAN, last = NAN, prev = NAN;
	size_t i, k = 0;

	memset(out, 0, sizeof *out);
	out->first_chunk_ms = NAN;
	out->queue_ms = queue_ms;
	out->latency_ms = end_ms;
	for (i = 0; i < n; i++)
		if (c[i].flags & tok)
			k++;
	if (k > 1)
		out->gaps = xcalloc(k - 1, sizeof *out->gaps);
	for (i = 0; i < n; i++) {
		if ((c[i].flags & QA_CHUNK_CHOICES) && isnan(out->first_chunk_ms))
			out->first_chunk_ms = c[i].t_ms;
		if (!(c[i].flags & tok))
			continue;
		if (isnan(first))
			first = c[i].t_ms;
		else
			out->gaps[out->ngaps++] = (int32_t)lround((c[i].t_ms - prev) * 10);
		prev = last = c[i].t_ms;
	}
	out->ttft_ms = first;
	out->estimated = usage_tokens < 0;
	out->tokens = usage_tokens >= 0 ? usage_tokens : chunk_tokens;
	out->tpot_ms = out->tokens > 1 && k > 0 ? (last - first) / (double)(out->tokens - 1) : NAN;
	out->itl_ms = k > 1 ? (last - first) / (double)(k - 1) : NAN;
	out->tokens_per_s = end_ms > 0 ? (double)out->tokens / end_ms * 1000 : NAN;
}

static double member_num(const qa_json *j, int obj, const char *key)
{
	double v;
	int k = json_member(j, obj, key, strlen(key));
	return k >= 0 && json_num(j, k, &v) == 0 && isfinite(v) ? v : NAN;
}

int latency_from_record(qa_latency *out, const qa_json *j, int resp)
{
	memset(out, 0, sizeof *out);
	if (resp < 0 || json_member(j, resp, "ttft_ms", 7) < 0)
		return -1;
	out->ttft_ms = member_num(j, resp, "ttft_ms");
	out->first_chunk_ms = member_num(j, resp, "first_chunk_ms");
	out->tpot_ms = member_num(j, resp, "tpot_ms");
	out->itl_ms = member_num(j, resp, "itl_ms");
	out->latency_ms = member_num(j, resp, "latency_ms");
	out->tokens_per_s = member_num(j, resp, "tokens_per_s");
	out->queue_ms = member_num(j, resp, "queue_ms");
	int g = json_member(j, resp, "chunk_gaps_ms", 13);
	size_t n = g >= 0 && json_type(j, g) == QA_ARRAY ? json_count(j, g) : 0;
	if (n)
		out->gaps = xcalloc(n, sizeof *out->gaps);
	for (size_t i = 0; i < n; i++) {
		double v;
		if (json_num(j, json_index(j, g, i), &v) == 0 && isfinite(v) && fabs(v) < 2e8)
			out->gaps[out->ngaps++] = (int32_t)lround(v * 10);
	}
	return 0;
}

void lat_stats_json(qa_buf *b, const qa_lat_stats *st)
{
	buf_printf(b, "{\"n\":%zu,\"mean\":", st->n);
	buf_json_number(b, round(st->mean * 1000) / 1000);
	buf_adds(b, ",\"p50\":");
	buf_json_number(b, round(st->p50 * 1000) / 1000);
	buf_adds(b, ",\"p90\":");
	buf_json_number(b, round(st->p90 * 1000) / 1000);
	buf_adds(b, ",\"p95\":");
	buf_json_number(b, round(st->p95 * 1000) / 1000);
	buf_adds(b, ",\"p99\":");
	buf_json_number(b, round(st->p99 * 1000) / 1000);
	buf_addc(b, '}');
}

void latency_free(qa_latency *l)
{
	xfree(&l->gaps);
	l->ngaps = 0;
}

/* n bytes appended where buf_grow() already made room: no call per piece. */
static void put(qa_buf *out, const char *p, size_t n)
{
	memcpy(out->p + out->len, p, n);
	out->len += n;
}

/*
 * v in whole microseconds, as buf_json_number(round(v * 1000) / 1000)
 * writes it (the shortest form: trailing zeros and a bare point dropped,
 * "0" for a -0), by hand: that call was a third of a streamed record's
 * writing.  Below 1e11 every such number has at most 15 digits and the
 * doubles near it lie closer than 0.001, so its decimal is the shortest;
 * beyond that (and for NaN) buf_json_number itself.  Room for 32 bytes made.
 */
static void micros(qa_buf *out, double v)
{
	if (!(fabs(v) < 1e11)) {
		buf_json_number(out, round(v * 1000) / 1000);
		return;
	}
	long long k = llround(v * 1000);
	unsigned long long a = k < 0 ? 0ULL - (unsigned long long)k : (unsigned long long)k;
	char d[32], *e = d + sizeof d, *p = e;
	unsigned frac = (unsigned)(a % 1000);
	int nf = 3;
	while (nf && frac % 10 == 0) {
		frac /= 10;
		nf--;
	}
	for (int i = 0; i < nf; i++, frac /= 10)
		*--p = (char)('0' + frac % 10);
	if (nf)
		*--p = '.';
	a /= 1000;
	do
		*--p = (char)('0' + a % 10);
	while ((a /= 10) != 0);
	if (k < 0)
		*--p = '-';
	put(out, p, (size_t)(e - p));
}

/* ,"NAME": and the value: by hand, not buf_printf() (a format per field was most of a record's cost here). */
#define FIELD(out, name, v) (buf_grow(out, sizeof ",\"" name "\":" + 32), \
	put(out, ",\"" name "\":", sizeof ",\"" name "\":" - 1), micros(out, v))

void latency_json(qa_buf *out, const qa_latency *l)
{
	size_t i;

	/* Microseconds: finer than any clock a stream is read with, and short. */
	FIELD(out, "queue_ms", l->queue_ms);
	FIELD(out, "ttft_ms", l->ttft_ms);
	FIELD(out, "first_chunk_ms", l->first_chunk_ms);
	FIELD(out, "tpot_ms", l->tpot_ms);
	FIELD(out, "itl_ms", l->itl_ms);
	FIELD(out, "latency_ms", l->latency_ms);
	FIELD(out, "tokens_per_s", l->tokens_per_s);
	/* A gap is at most 13 bytes with its comma ("-214748364.8,"). */
	buf_grow(out, sizeof ",\"chunk_gaps_ms\":[]" + 13 * l->ngaps);
	put(out, ",\"chunk_gaps_ms\":[", sizeof ",\"chunk_gaps_ms\":[" - 1);
	for (i = 0; i < l->ngaps; i++) {
		int32_t g = l->gaps[i];
		/* Tenths printed as a decimal: exact, and as short as the integer (by hand: a printf a gap showed in profiles). */
		char d[16], *e = d + sizeof d, *p = e;
		uint32_t a = g < 0 ? (uint32_t)0 - (uint32_t)g : (uint32_t)g;
		*--p = (char)('0' + a % 10);
		*--p = '.';
		a /= 10;
		do
			*--p = (char)('0' + a % 10);
		while ((a /= 10) != 0);
		if (g < 0)
			*--p = '-';
		if (i)
			*--p = ',';
		put(out, p, (size_t)(e - p));
	}
	put(out, "]", 1);
}

void lat_summary_add(qa_lat_summary *s, int m, double v)
{
	if (isnan(v))
		return;
	if (s->n[m] == s->cap[m]) {
		s->cap[m] = s->cap[m] ? 2 * s->cap[m] : 64;
		s->v[m] = xreallocarray(s->v[m], s->cap[m], sizeof *s->v[m]);
	}
	s->v[m][s->n[m]++] = v;
}

void lat_summary_add_record(qa_lat_summary *s, const qa_latency *l)
{
	size_t i;

	lat_summary_add(s, QA_LAT_TTFT, l->ttft_ms);
	lat_summary_add(s, QA_LAT_FIRST_CHUNK, l->first_chunk_ms);
	lat_summary_add(s, QA_LAT_TPOT, l->tpot_ms);
	lat_summary_add(s, QA_LAT_ITL, l->itl_ms);
	for (i = 0; i < l->ngaps; i++)
		lat_summary_add(s, QA_LAT_CHUNK_GAP, l->gaps[i] / 10.0);
	lat_summary_add(s, QA_LAT_E2E, l->latency_ms);
	lat_summary_add(s, QA_LAT_TOKENS_PER_S, l->tokens_per_s);
}

void lat_summary_stats(qa_lat_summary *s, int m, qa_lat_stats *out)
{
	size_t i, n = s->n[m];
	double sum = 0;

	out->n = n;
	if (n > 1)
		qsort(s->v[m], n, sizeof *s->v[m], cmp_double);
	for (i = 0; i < n; i++)
		sum += s->v[m][i];
	out->mean = n ? sum / (double)n : NAN;
	out->p50 = percentile_linear(s->v[m], n, 50);
	out->p90 = percentile_linear(s->v[m], n, 90);
	out->p95 = percentile_linear(s->v[m], n, 95);
	out->p99 = percentile_linear(s->v[m], n, 99);
}

static void num(FILE *fp, double v)
{
	if (isnan(v))
		fprintf(fp, " %9s", "-");
	else
		fprintf(fp, " %9.1f", v);
}

void lat_summary_print(FILE *fp, qa_lat_summary *s)
{
	qa_lat_stats st;
	int m;

	fprintf(fp, "%-15s %-52s %7s %9s %9s %9s %9s %9s\n", "measure", "formula (times in ms from sending)",
	    "n", "mean", "p50", "p90", "p95", "p99");
	for (m = 0; m < QA_LAT_NMEASURES; m++) {
		lat_summary_stats(s, m, &st);
		fprintf(fp, "%-15s %-52s %7zu", qa_lat_measures[m].name, qa_lat_measures[m].formula, st.n);
		num(fp, st.mean);
		num(fp, st.p50);
		num(fp, st.p90);
		num(fp, st.p95);
		num(fp, st.p99);
		fputc('\n', fp);
	}
}

/* FACTS.md, "Latency: the same names mean different things", with its sources. */
static const char *const names[][5] = {
	{ "qa", "vLLM bench serve", "GuideLLM", "LLMPerf", "genai-perf" },
	{ "ttft_ms", "-", "TTFT", "TTFT", "TTFT" },
	{ "first_chunk_ms", "TTFT", "-", "-", "-" },
	{ "tpot_ms", "TPOT", "ITL", "-", "ITL" },
	{ "chunk_gaps_ms", "ITL", "-", "-", "-" },
	{ "latency_ms", "E2EL", "request latency", "end-to-end latency", "request latency" },
	{ "(not in qa)", "-", "TPOT = (t(last token) - t(sent)) / tokens", "ITL = all gaps incl. TTFT / tokens", "-" },
};

void lat_names_print(FILE *fp)
{
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		fprintf(fp, "%-15s %-17s %-42s %-35s %s\n", names[i][0], names[i][1], names[i][2], names[i][3],
		    names[i][4]);
}

void lat_names_section(FILE *fp, int md)
{
	fprintf(fp, "\nthe same numbers under other benchmarks' names:\n%s", md ? "```\n" : "");
	lat_names_print(fp);
	fputs(md ? "```\n" : "", fp);
}

void lat_summary_free(qa_lat_summary *s)
{
	int m;

	for (m = 0; m < QA_LAT_NMEASURES; m++)
		xfree(&s->v[m]);
	memset(s, 0, sizeof *s);
}
