/*
 * Latency of one streamed response, and of a run, the way serving
 * benchmarks measure it, with the formula beside each name (FACTS.md:
 * "Latency: the same names mean different things").
 *
 * Times are milliseconds since the request was handed to libcurl; time spent
 * waiting for a free slot before that is queue_ms, never latency.  A
 * "content chunk" is one carrying non-empty content or reasoning content.
 *
 * Ownership: qa_latency holds its own gap array (latency_free); summaries
 * own their samples (lat_summary_free).  Nothing else is allocated.
 */
#ifndef QA_LATENCY_H
#define QA_LATENCY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qa.h"

/* What one chunk carried: the QA_CHUNK_* flags of include/qa/plugin.h, the provider's stream() says. */

typedef struct qa_chunk_time {
	double t_ms;
	unsigned flags;
} qa_chunk_time;

typedef struct qa_latency {
	/* NaN where undefined (written as null): no content chunk, one token, ... */
	double ttft_ms;		/* t(first content chunk) */
	double first_chunk_ms;	/* t(first chunk with choices) */
	double tpot_ms;		/* (t(last content chunk) - ttft_ms) / (tokens - 1) */
	double itl_ms;		/* mean gap between consecutive content chunks */
	double latency_ms;	/* t(last byte) */
	double tokens_per_s;	/* tokens / latency_ms * 1000 */
	double queue_ms;	/* given by the caller, passed through */
	long tokens;		/* output tokens: usage's, else counted from chunks */
	int estimated;		/* tokens were counted from chunks */
	int32_t *gaps;		/* gaps between content chunks, in tenths of a ms, rounded */
	size_t ngaps;
} qa_latency;

/*
 * Computes every measure from the chunk times c[0..n) (in arrival order),
 * the time of the last byte, the usage's completion tokens (-1 when the
 * response had none) and the tokens counted from chunks (logprobs entries,
 * else content chunks).
 */
void latency_compute(qa_latency *out, const qa_chunk_time *c, size_t n, double end_ms,
    long usage_tokens, long chunk_tokens, double queue_ms);
void latency_free(qa_latency *l);
/*
 * The measures a streamed record's response (token resp of j) carries, as
 * qa-send --stream wrote them: 0, or -1 when it has no ttft_ms member (not
 * streamed).  Missing or null fields are NaN.
 */
int latency_from_record(qa_latency *out, const qa_json *j, int resp);
/*
 * The record's fields, each as ",\"name\":value" (JSON numbers, null when
 * undefined; chunk_gaps_ms as milliseconds rounded to 0.1).
 */
void latency_json(qa_buf *out, const qa_latency *l);

/* ---- a run's summary ---- */
enum {
	QA_LAT_TTFT, QA_LAT_FIRST_CHUNK, QA_LAT_TPOT, QA_LAT_ITL, QA_LAT_CHUNK_GAP,
	QA_LAT_E2E, QA_LAT_TOKENS_PER_S, QA_LAT_NMEASURES
};

typedef struct qa_lat_measure {
	const char *name;	/* qa's name, the record field */
	const char *formula;
} qa_lat_measure;

extern const qa_lat_measure qa_lat_measures[QA_LAT_NMEASURES];

typedef struct qa_lat_stats {
	size_t n;
	double mean, p50, p90, p95, p99;	/* NaN when n is 0 */
} qa_lat_stats;

typedef struct qa_lat_summary {
	double *v[QA_LAT_NMEASURES];
	size_t n[QA_LAT_NMEASURES], cap[QA_LAT_NMEASURES];
} qa_lat_summary;

/* One sample; NaN is left out (a record without that measure). */
void lat_summary_add(qa_lat_summary *s, int measure, double v);
/* Every measure of one record; its gaps are pooled into QA_LAT_CHUNK_GAP (vLLM's ITL). */
void lat_summary_add_record(qa_lat_summary *s, const qa_latency *l);
/* Mean and numpy-linear percentiles; sorts the samples. */
void lat_summary_stats(qa_lat_summary *s, int measure, qa_lat_stats *out);
/* The table: one row per measure with its formula, n, mean, p50, p90, p95, p99. */
void lat_summary_print(FILE *fp, qa_lat_summary *s);
/* qa's names beside vLLM's, GuideLLM's, LLMPerf's and genai-perf's. */
void lat_names_print(FILE *fp);
/* The same after a blank line and a heading, fenced as code for Markdown (md): qa-cost's and qa-diff's. */
void lat_names_section(FILE *fp, int md);
void lat_summary_free(qa_lat_summary *s);
/* One measure's stats as a JSON object {n, mean, p50, p90, p95, p99}. */
void lat_stats_json(qa_buf *b, const qa_lat_stats *st);

#endif
