/*
 * qa-cost --summary: the latency of streamed records (qa-send --stream),
 * per endpoint, with each measure's formula and the names other
 * benchmarks give the same numbers (lib/latency).  Records without
 * ttft_ms (not streamed) are left out of these tables; their latency_ms is
 * in the main table as before.
 */

#include "qa-cost.h"
#include "latency.h"

struct lat_ep {
	char *endpoint;		/* NULL: records without one */
	size_t records;
	qa_lat_summary s;
};

static struct lat_ep *eps;
static size_t neps;

void stream_lat_add(const qa_json *j, int resp, const char *endpoint, size_t elen)
{
	qa_latency l;
	if (latency_from_record(&l, j, resp) < 0)
		return;
	struct lat_ep *e = NULL;
	for (size_t i = 0; i < neps && !e; i++)
		if (endpoint ? eps[i].endpoint && strlen(eps[i].endpoint) == elen &&
		    memcmp(eps[i].endpoint, endpoint, elen) == 0 : !eps[i].endpoint)
			e = &eps[i];
	if (!e) {
		eps = xreallocarray(eps, neps + 1, sizeof *eps);
		e = &eps[neps++];
		memset(e, 0, sizeof *e);
		e->endpoint = endpoint ? xstrndup(endpoint, elen) : NULL;
	}
	e->records++;
	lat_summary_add_record(&e->s, &l);
	latency_free(&l);
}

/* JSON: one {"scope":"latency", ...} line per endpoint; tables: one table each, then the names. */
void stream_lat_print(qa_buf *out, const char *format)
{
	if (!neps)
		return;
	if (strcmp(format, "json") == 0) {
		for (size_t i = 0; i < neps; i++) {
			buf_adds(out, "{\"scope\":\"latency\",\"endpoint\":");
			json_str_or_null(out, eps[i].endpoint);
			buf_printf(out, ",\"records\":%zu", eps[i].records);
			for (int m = 0; m < QA_LAT_NMEASURES; m++) {
				qa_lat_stats st;
				lat_summary_stats(&eps[i].s, m, &st);
				buf_printf(out, ",\"%s\":", qa_lat_measures[m].name);
				lat_stats_json(out, &st);
			}
			buf_adds(out, "}\n");
		}
		return;
	}
	if (strcmp(format, "csv") == 0)
		return;	/* one table per file: the latency goes in the json and table formats */
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	if (!fp)
		qa_die(QA_EXIT_USAGE, "open_memstream: %s", strerror(errno));
	int md = strcmp(format, "md") == 0;
	for (size_t i = 0; i < neps; i++) {
		fprintf(fp, "\nlatency of streamed records, endpoint %s (%zu records):\n%s",
		    eps[i].endpoint ? eps[i].endpoint : "(none)", eps[i].records, md ? "```\n" : "");
		lat_summary_print(fp, &eps[i].s);
		fputs(md ? "```\n" : "", fp);
	}
	lat_names_section(fp, md);
	fclose(fp);
	buf_add(out, text, len);
	free(text);
}

void stream_lat_free(void)
{
	for (size_t i = 0; i < neps; i++) {
		free(eps[i].endpoint);
		lat_summary_free(&eps[i].s);
	}
	free(eps);
	eps = NULL;
	neps = 0;
}
