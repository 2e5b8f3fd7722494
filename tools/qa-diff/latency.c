/*
 * qa-diff: the latency of streamed records (qa-send --stream) on both
 * sides, each measure at mean, p50, p90, p95 and p99 with the
 * candidate/baseline ratio, and the gate --max-latency-ratio
 * MEASURE:STAT=R (ttft_ms:p95=1.2).  Records without ttft_ms are not
 * streamed and are left out here.
 */

#include "qa-diff.h"
#include "latency.h"

static qa_lat_summary sum[2];
static size_t records[2];

static const char *const stat_name[] = { "mean", "p50", "p90", "p95", "p99" };
enum { NSTAT = 5 };

struct lat_gate {
	int measure, stat;
	double max;
};
static struct lat_gate *gates;
static size_t ngates;

void stream_lat_read(int side, const qa_json *j)
{
	qa_latency l;
	int resp = json_member(j, 0, "response", 8);
	if (resp < 0 || json_type(j, resp) != QA_OBJECT || latency_from_record(&l, j, resp) < 0)
		return;
	records[side]++;
	lat_summary_add_record(&sum[side], &l);
	latency_free(&l);
}

/* --max-latency-ratio MEASURE:STAT=R, repeatable. */
void stream_lat_gate_opt(const char *arg)
{
	const char *colon = strchr(arg, ':'), *eq = colon ? strchr(colon, '=') : NULL;
	struct lat_gate g = { -1, -1, NAN };
	for (int m = 0; colon && m < QA_LAT_NMEASURES; m++)
		if (strlen(qa_lat_measures[m].name) == (size_t)(colon - arg) &&
		    strncmp(arg, qa_lat_measures[m].name, (size_t)(colon - arg)) == 0)
			g.measure = m;
	for (int k = 0; eq && k < NSTAT; k++)
		if (strlen(stat_name[k]) == (size_t)(eq - colon - 1) && strncmp(colon + 1, stat_name[k], (size_t)(eq - colon - 1)) == 0)
			g.stat = k;
	if (g.measure < 0 || g.stat < 0 || parse_double(eq + 1, 0, 1e9, &g.max) < 0)
		qa_die(QA_EXIT_USAGE, "--max-latency-ratio: '%s' is not MEASURE:STAT=RATIO (a measure as ttft_ms, tpot_ms, "
		    "itl_ms, chunk_gaps_ms, latency_ms; a stat of mean, p50, p90, p95, p99; e.g. ttft_ms:p95=1.2)", arg);
	gates = xreallocarray(gates, ngates + 1, sizeof *gates);
	gates[ngates++] = g;
}

int stream_lat_gated(void)
{
	return ngates > 0;
}

static double stat_of(const qa_lat_stats *st, int k)
{
	const double v[NSTAT] = { st->mean, st->p50, st->p90, st->p95, st->p99 };
	return v[k];
}

static double ratio_of(double c, double b)
{
	return b > 0 && !isnan(c) ? c / b : NAN;
}

/*
 * The gates, as checks of the overall result: a failure is one of its
 * failures, so the decision line and the JSON "decision" count it like any
 * other criterion.
 */
void stream_lat_gate(struct result *o)
{
	for (size_t i = 0; i < ngates; i++) {
		qa_lat_stats b, c;
		lat_summary_stats(&sum[BASE], gates[i].measure, &b);
		lat_summary_stats(&sum[CAND], gates[i].measure, &c);
		const char *m = qa_lat_measures[gates[i].measure].name, *k = stat_name[gates[i].stat];
		double r = ratio_of(stat_of(&c, gates[i].stat), stat_of(&b, gates[i].stat));
		o->ncheck++;
		if (isnan(r))
			fail(o, "max-latency-ratio", r, gates[i].max,
			    "latency: --max-latency-ratio %s:%s=%g: the ratio is undefined (%s)", m, k,
			    gates[i].max, !b.n ? "no streamed record in the baseline has it" :
			    !c.n ? "no streamed record in the candidate has it" : "the baseline's is 0");
		else if (r > gates[i].max + 1e-9)
			fail(o, "max-latency-ratio", r, gates[i].max,
			    "latency: %s %s ratio %.4g (candidate %.4g ms / baseline %.4g ms) is over "
			    "--max-latency-ratio %s:%s=%g", m, k, r, stat_of(&c, gates[i].stat),
			    stat_of(&b, gates[i].stat), m, k, gates[i].max);
	}
}

static void stats_json(qa_buf *b, const qa_lat_stats *st)
{
	lat_stats_json(b, st);
}

void stream_lat_print(qa_buf *out, int table, int md)
{
	if (!records[BASE] && !records[CAND])
		return;
	qa_lat_stats st[2];
	if (!table && !md) {
		buf_printf(out, "{\"scope\":\"latency\",\"records\":{\"baseline\":%zu,\"candidate\":%zu}", records[BASE],
		    records[CAND]);
		for (int m = 0; m < QA_LAT_NMEASURES; m++) {
			lat_summary_stats(&sum[BASE], m, &st[BASE]);
			lat_summary_stats(&sum[CAND], m, &st[CAND]);
			buf_printf(out, ",\"%s\":{\"baseline\":", qa_lat_measures[m].name);
			stats_json(out, &st[BASE]);
			buf_adds(out, ",\"candidate\":");
			stats_json(out, &st[CAND]);
			buf_adds(out, ",\"ratio\":{");
			for (int k = 0; k < NSTAT; k++) {
				buf_printf(out, "%s\"%s\":", k ? "," : "", stat_name[k]);
				buf_json_number(out, round(ratio_of(stat_of(&st[CAND], k), stat_of(&st[BASE], k)) * 10000) / 10000);
			}
			buf_adds(out, "}}");
		}
		buf_adds(out, "}\n");
		return;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	if (!fp)
		qa_die(QA_EXIT_USAGE, "open_memstream: %s", strerror(errno));
	fprintf(fp, "\nlatency of streamed records (%zu baseline, %zu candidate): baseline / candidate (ratio)\n%s",
	    records[BASE], records[CAND], md ? "```\n" : "");
	fprintf(fp, "%-15s %-52s", "measure", "formula (times in ms from sending)");
	for (int k = 0; k < NSTAT; k++)
		fprintf(fp, " %-24s", stat_name[k]);
	fputc('\n', fp);
	for (int m = 0; m < QA_LAT_NMEASURES; m++) {
		lat_summary_stats(&sum[BASE], m, &st[BASE]);
		lat_summary_stats(&sum[CAND], m, &st[CAND]);
		fprintf(fp, "%-15s %-52s", qa_lat_measures[m].name, qa_lat_measures[m].formula);
		for (int k = 0; k < NSTAT; k++) {
			char cell[64];
			double b = stat_of(&st[BASE], k), c = stat_of(&st[CAND], k), r = ratio_of(c, b);
			if (isnan(r))
				snprintf(cell, sizeof cell, "%.1f/%.1f (-)", b, c);
			else
				snprintf(cell, sizeof cell, "%.1f/%.1f (%.2f)", b, c, r);
			fprintf(fp, " %-24s", cell);
		}
		fputc('\n', fp);
	}
	fputs(md ? "```\n" : "", fp);
	lat_names_section(fp, md);
	fclose(fp);
	buf_add(out, text, len);
	free(text);
}

void stream_lat_free(void)
{
	lat_summary_free(&sum[BASE]);
	lat_summary_free(&sum[CAND]);
	free(gates);
	gates = NULL;
	ngates = 0;
}
