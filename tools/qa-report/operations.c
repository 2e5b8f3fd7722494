/* The sections about running it: cost against accuracy, latency and errors, the ramp. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* ---- 3. cost against accuracy ---- */

/*
 * A cost interval, when qa-cost writes one: cost_per_1k_tasks_ci as
 * {low, high, method} (what qa-cost writes), {ci_low, ci_high} or [low,
 * high], or cost_per_1k_tasks_ci_low and _high.  0 and both set, or -1.
 */
static int cost_ci(const struct doc *d, long i, double *lo, double *hi)
{
	static const char *const paths[][2] = {
		{ "cost_per_1k_tasks_ci.low", "cost_per_1k_tasks_ci.high" },
		{ "cost_per_1k_tasks_ci.ci_low", "cost_per_1k_tasks_ci.ci_high" },
		{ "cost_per_1k_tasks_ci[0]", "cost_per_1k_tasks_ci[1]" },
		{ "cost_per_1k_tasks_ci_low", "cost_per_1k_tasks_ci_high" },
	};
	for (size_t k = 0; k < sizeof paths / sizeof *paths; k++) {
		*lo = doc_num(d, i, paths[k][0]);
		*hi = doc_num(d, i, paths[k][1]);
		if (!isnan(*lo) && !isnan(*hi))
			return 0;
	}
	return -1;
}

/* The endpoints' points: cost per 1k tasks (NaN off the log axis), accuracy and its interval, the front. */
struct costpts {
	size_t ng;
	long *g;		/* the cost summary's group lines */
	double *c, *acc, *lo, *hi;
	int *on;		/* on the Pareto front */
	double cmin, cmax, amin, amax;	/* the axes' extent, intervals included */
};

static size_t costpts_read(struct report *r, struct costpts *cp)
{
	cp->ng = 0;
	cp->g = xcalloc(r->cost.n + 1, sizeof *cp->g);
	for (size_t i = 0; i < r->cost.n; i++) {
		const char *sc = doc_str(&r->cost, (long)i, "scope");
		if (sc && strcmp(sc, "group") == 0)
			cp->g[cp->ng++] = (long)i;
	}
	size_t ng = cp->ng;
	if (ng == 0)
		return 0;
	cp->c = xcalloc(ng, sizeof *cp->c);
	cp->acc = xcalloc(ng, sizeof *cp->acc);
	cp->lo = xcalloc(ng, sizeof *cp->lo);
	cp->hi = xcalloc(ng, sizeof *cp->hi);
	cp->on = xcalloc(ng, sizeof *cp->on);
	cp->cmin = INFINITY, cp->cmax = 0, cp->amin = 1, cp->amax = 0;
	for (size_t i = 0; i < ng; i++) {
		long gi = cp->g[i];
		cp->c[i] = doc_num(&r->cost, gi, "cost_per_1k_tasks");
		double k = doc_num(&r->cost, gi, "correct"), n = doc_num(&r->cost, gi, "scored");
		cp->acc[i] = doc_num(&r->cost, gi, "accuracy");
		cp->lo[i] = cp->hi[i] = NAN;
		if (!isnan(k) && n > 0)
			wilson_ci(k, n, QA_Z95, &cp->lo[i], &cp->hi[i]);
		if (cp->c[i] > 0) {
			double cl, ch;
			cp->cmin = fmin(cp->cmin, cp->c[i]);
			cp->cmax = fmax(cp->cmax, cp->c[i]);
			if (cost_ci(&r->cost, gi, &cl, &ch) == 0 && cl > 0) {
				cp->cmin = fmin(cp->cmin, cl);
				cp->cmax = fmax(cp->cmax, ch);
			}
		} else
			cp->c[i] = NAN;	/* not on a log axis; the table still has it */
		if (!isnan(cp->acc[i])) {
			cp->amin = fmin(cp->amin, isnan(cp->lo[i]) ? cp->acc[i] : cp->lo[i]);
			cp->amax = fmax(cp->amax, isnan(cp->hi[i]) ? cp->acc[i] : cp->hi[i]);
		}
	}
	pareto_front(cp->c, cp->acc, ng, cp->on);
	return ng;
}

static void costpts_free(struct costpts *cp)
{
	free(cp->g);
	free(cp->c);
	free(cp->acc);
	free(cp->lo);
	free(cp->hi);
	free(cp->on);
}

/* The dashed line through the front, cheapest first. */
static void front_path(qa_buf *p, const struct costpts *cp, const qa_scale *sx, const qa_scale *sy)
{
	qa_buf path = { 0 };
	double last = 0;
	for (size_t n = 0; n < cp->ng; n++) {
		size_t best = cp->ng;
		for (size_t i = 0; i < cp->ng; i++)
			if (cp->on[i] && cp->c[i] > last && (best == cp->ng || cp->c[i] < cp->c[best]))
				best = i;
		if (best == cp->ng)
			break;
		buf_printf(&path, "%s%.1f %.1f", path.len ? "L" : "M", scale_map(sx, cp->c[best]),
		    scale_map(sy, cp->acc[best]));
		last = cp->c[best];
	}
	if (path.len)
		buf_printf(p, "<path d=\"%s\" fill=\"none\" stroke=\"#777\" stroke-width=\"1.5\" "
		    "stroke-dasharray=\"5 4\"/>", buf_cstr(&path));
	buf_free(&path);
}

/* The chart: cost (log) against accuracy, both intervals as bars, the front dashed. */
static void cost_chart(struct report *r, qa_buf *p, struct costpts *cp)
{
	double xt[32], yt[16];
	double x0 = cp->cmin / 1.5, x1 = cp->cmax * 1.5;
	size_t nxt = ticks_log(&x0, &x1, xt, 32);
	size_t nyt = ticks_linear(&cp->amin, &cp->amax, 6, yt, 16);
	int W = 760, H = 380;
	qa_scale sx, sy;
	scale_log(&sx, x0, x1, 90, W - 30);
	scale_linear(&sy, cp->amin, cp->amax, H - 60, 20);
	fig_open(p, "costacc", W, H, "Cost per 1,000 tasks against accuracy",
	    "Each endpoint is a point: cost per 1,000 tasks on a logarithmic axis, accuracy with its 95% "
	    "Wilson interval; the dashed line joins the Pareto front, the endpoints that no other beats on "
	    "both cost and accuracy. The table below gives every number.");
	axis_x(p, &sx, xt, nxt, H - 60, 20, "cost per 1,000 tasks (USD, log scale)", 0);
	axis_y(p, &sy, yt, nyt, 90, W - 30, "accuracy", 1);
	front_path(p, cp, &sx, &sy);
	for (size_t i = 0; i < cp->ng; i++) {
		if (isnan(cp->c[i]) || isnan(cp->acc[i]))
			continue;
		double x = scale_map(&sx, cp->c[i]), y = scale_map(&sy, cp->acc[i]);
		struct qa_cibar b;
		if (ci_bar(&sy, cp->lo[i], cp->acc[i], cp->hi[i], &b) == 0)
			cibar_v(p, &b, x, side_colour[i % 6], 2);
		double cl, ch;
		if (cost_ci(&r->cost, cp->g[i], &cl, &ch) == 0 && ci_bar(&sx, cl, cp->c[i], ch, &b) == 0)
			cibar_h(p, &b, y, side_colour[i % 6], 2);
		marker(p, i, x, y, 6);
		const char *name = doc_str(&r->cost, cp->g[i], "endpoint");
		qa_buf t = { 0 };
		buf_printf(&t, "%s%s", name ? name : "?", cp->on[i] ? " (Pareto front)" : "");
		svg_text(p, x + 10, y + 4, "start", "pt", buf_cstr(&t));
		buf_free(&t);
	}
	fig_close(p, "Accuracy here is qa-cost's share of correct answers per endpoint; the intervals are Wilson "
	    "95% intervals computed from its counts.");
}

/* money, then " [low, high]" when both bounds are numbers; whether they were. */
static int money_ci(char *dst, size_t n, double v, double lo, double hi)
{
	fmt_money(dst, n, v);
	if (isnan(lo) || isnan(hi))
		return 0;
	char x[24], y[24];
	fmt_money(x, sizeof x, lo);
	fmt_money(y, sizeof y, hi);
	snprintf(dst + strlen(dst), n - strlen(dst), " [%s, %s]", x, y);
	return 1;
}

/* One endpoint's row of the cost table; whether its cost per 1k tasks had an interval. */
static int cost_row(struct report *r, qa_buf *p, const struct costpts *cp, size_t i)
{
	long gi = cp->g[i];
	const char *name = doc_str(&r->cost, gi, "endpoint"), *model = doc_str(&r->cost, gi, "model");
	char a[128], b[80], cc[80], d[32], e[32];
	long pj = -1;
	for (size_t k = 0; k < r->cost.n && name; k++) {
		const char *sc = doc_str(&r->cost, (long)k, "scope"), *ep = doc_str(&r->cost, (long)k, "endpoint");
		if (sc && ep && strcmp(sc, "projection") == 0 && strcmp(ep, name) == 0)
			pj = (long)k;
	}
	fmt_ci(a, sizeof a, cp->acc[i], cp->lo[i], cp->hi[i], 0);
	double cl = NAN, ch = NAN;
	cost_ci(&r->cost, gi, &cl, &ch);
	int have_ci = money_ci(b, sizeof b, doc_num(&r->cost, gi, "cost_per_1k_tasks"), cl, ch);
	money_ci(cc, sizeof cc, doc_num(&r->cost, gi, "cost_per_correct"),
	    doc_num(&r->cost, gi, "cost_per_correct_ci.low"), doc_num(&r->cost, gi, "cost_per_correct_ci.high"));
	fmt_money(d, sizeof d, doc_num(&r->cost, pj, "monthly_cost"));
	fmt_money(e, sizeof e, doc_num(&r->cost, pj, "savings_per_month"));
	buf_adds(p, "<tr><th scope=\"row\">");
	html_escs(p, name ? name : "?");
	buf_adds(p, "</th><td>");
	html_escs(p, model ? model : "-");
	buf_printf(p, "</td><td class=\"n\">%.0f</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
	    "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>%s</td></tr>\n",
	    doc_num(&r->cost, gi, "tasks"), a, b, cc, d, e, cp->on[i] ? "yes" : "no");
	return have_ci;
}

/* The projections' arithmetic, as qa-cost wrote it, when there are any. */
static void cost_projections(struct report *r, qa_buf *p)
{
	int first = 1;
	for (size_t k = 0; k < r->cost.n; k++) {
		const char *sc = doc_str(&r->cost, (long)k, "scope");
		if (!sc || strcmp(sc, "projection") != 0)
			continue;
		const char *ep = doc_str(&r->cost, (long)k, "endpoint"), *ar = doc_str(&r->cost, (long)k, "arithmetic"),
			   *sa = doc_str(&r->cost, (long)k, "savings_arithmetic");
		if (first)
			buf_adds(p, "<h3>Monthly projection, with the arithmetic</h3>\n<ul>\n");
		first = 0;
		buf_adds(p, "<li><strong>");
		html_escs(p, ep ? ep : "?");
		buf_adds(p, "</strong>: <code>");
		html_escs(p, ar ? ar : "-");
		buf_adds(p, "</code>");
		if (sa) {
			buf_adds(p, "<br>savings: <code>");
			html_escs(p, sa);
			buf_adds(p, "</code>");
		}
		buf_adds(p, "</li>\n");
	}
	if (!first)
		buf_adds(p, "</ul>\n");
}

void section_cost(struct report *r, qa_buf *p)
{
	buf_adds(p, "<h2 id=\"cost\">Cost against accuracy</h2>\n");
	struct costpts cp = { 0 };
	if (costpts_read(r, &cp) == 0) {
		absent(p, "No cost summary in this run (qa-cost --summary's cost.json is missing).");
		costpts_free(&cp);
		return;
	}
	if (cp.cmax > 0 && cp.amax >= cp.amin)
		cost_chart(r, p, &cp);

	buf_adds(p, "<table><thead><tr><th scope=\"col\">endpoint</th><th scope=\"col\">model</th><th class=\"n\" "
	    "scope=\"col\">tasks</th><th class=\"n\" scope=\"col\">accuracy [95% CI]</th><th class=\"n\" scope=\"col\">"
	    "cost per 1k tasks</th><th class=\"n\" scope=\"col\">cost per correct answer</th><th class=\"n\" "
	    "scope=\"col\">monthly cost</th><th class=\"n\" scope=\"col\">savings per month</th><th scope=\"col\">"
	    "Pareto front</th></tr></thead><tbody>\n");
	int have_ci = 0;
	for (size_t i = 0; i < cp.ng; i++)
		have_ci |= cost_row(r, p, &cp, i);
	buf_adds(p, "</tbody></table>\n");
	cost_projections(r, p);
	if (have_ci)
		buf_adds(p, "<p>Costs per 1,000 tasks carry qa-cost's 95% intervals (normal, over tasks), drawn as "
		    "horizontal bars; costs per correct answer theirs (the delta method: a ratio of two sums).</p>\n");
	else
		absent(p, "Cost confidence intervals: not in this run (cost.json carries none); costs are point values.");
	costpts_free(&cp);
}

/* ---- 6. latency, errors, retries ---- */

void section_latency(struct report *r, qa_buf *p)
{
	static const char *const what[3] = { "end-to-end latency", "time to first token (TTFT)",
		"time per output token (TPOT)" };
	buf_adds(p, "<h2 id=\"latency\">Latency, errors and retries</h2>\n");
	for (int q = 0; q < 3; q++) {
		double *v[2];
		size_t n[2] = { 0, 0 };
		double hi = 0;
		for (int k = 0; k < 2; k++) {
			v[k] = xcalloc(r->s[k].n + 1, sizeof *v[k]);
			for (size_t i = 0; i < r->s[k].n; i++) {
				const struct item *it = &r->s[k].it[i];
				double x = q == 0 ? it->latency : q == 1 ? it->ttft : it->tpot;
				if (!isnan(x))
					v[k][n[k]++] = x;
			}
			qsort(v[k], n[k], sizeof *v[k], cmp_double);
			if (n[k])
				hi = fmax(hi, percentile_linear(v[k], n[k], 99.5));
		}
		if (n[0] + n[1] == 0) {
			if (q == 0)
				absent(p, "Latency: no record carries response.latency_ms.");
			else if (q == 1)
				absent(p, "TTFT and TPOT: not in this run (the runs were not streamed; qa-send writes "
				    "response.ttft_ms and tpot_ms for streamed requests).");
		} else {
			double lo = 0, xt[16], yt[8], y0 = 0, y1 = 1;
			size_t nxt = ticks_linear(&lo, &hi, 7, xt, 16), nyt = ticks_linear(&y0, &y1, 6, yt, 8);
			int W = 760, H = 320;
			qa_scale sx, sy;
			scale_linear(&sx, lo, hi, 80, W - 30);
			scale_linear(&sy, 0, 1, H - 60, 20);
			char id[16], title[128], desc[512];
			snprintf(id, sizeof id, "cdf%d", q);
			snprintf(title, sizeof title, "Distribution (CDF) of %s per endpoint", what[q]);
			snprintf(desc, sizeof desc, "Cumulative share of requests answered within a time, %s: baseline "
			    "(solid) median %.0f ms, p95 %.0f ms; candidate (dashed) median %.0f ms, p95 %.0f ms.", what[q],
			    percentile_linear(v[0], n[0], 50), percentile_linear(v[0], n[0], 95),
			    percentile_linear(v[1], n[1], 50), percentile_linear(v[1], n[1], 95));
			if (q == 0)
				key(p, r);
			fig_open(p, id, W, H, title, desc);
			axis_x(p, &sx, xt, nxt, H - 60, 20, "milliseconds", 0);
			axis_y(p, &sy, yt, nyt, 80, W - 30, "share of requests", 1);
			for (int k = 0; k < 2; k++)
				cdf_path(p, &sx, &sy, v[k], n[k], side_colour[k], k ? "7 4" : NULL);
			fig_close(p, q == 0 ? "Solid: baseline; dashed: candidate. Measured by qa-send from request to last "
			    "byte; cached answers show the original call's latency." : NULL);
			buf_adds(p, "<table><thead><tr><th scope=\"col\"></th><th class=\"n\" scope=\"col\">n</th>"
			    "<th class=\"n\" scope=\"col\">p50 ms</th><th class=\"n\" scope=\"col\">p95 ms</th>"
			    "<th class=\"n\" scope=\"col\">p99 ms</th></tr></thead><tbody>\n");
			for (int k = 0; k < 2; k++) {
				buf_adds(p, "<tr><th scope=\"row\">");
				html_escs(p, r->s[k].name);
				buf_printf(p, "</th><td class=\"n\">%zu</td><td class=\"n\">%.0f</td><td class=\"n\">%.0f</td>"
				    "<td class=\"n\">%.0f</td></tr>\n", n[k], percentile_linear(v[k], n[k], 50),
				    percentile_linear(v[k], n[k], 95), percentile_linear(v[k], n[k], 99));
			}
			buf_adds(p, "</tbody></table>\n");
		}
		free(v[0]);
		free(v[1]);
	}

	/* Errors by type, and the retries and fallbacks it took. */
	buf_adds(p, "<h3>Errors and retries</h3>\n<table><thead><tr><th scope=\"col\"></th><th class=\"n\" "
	    "scope=\"col\">records</th><th class=\"n\" scope=\"col\">retries</th><th class=\"n\" scope=\"col\">"
	    "fallbacks</th><th scope=\"col\">errors by type</th></tr></thead><tbody>\n");
	for (int k = 0; k < 2; k++) {
		const struct side *s = &r->s[k];
		long retries = 0, fb = 0;
		const char **types = xcalloc(s->n + 1, sizeof *types);
		size_t nt = 0;
		for (size_t i = 0; i < s->n; i++) {
			retries += s->it[i].attempts > 1 ? s->it[i].attempts - 1 : 0;
			fb += s->it[i].fallback;
			if (s->it[i].error)
				types[nt++] = s->it[i].error;
		}
		qsort(types, nt, sizeof *types, cmp_str);
		buf_adds(p, "<tr><th scope=\"row\">");
		html_escs(p, s->name);
		buf_printf(p, "</th><td class=\"n\">%zu</td><td class=\"n\">%ld</td><td class=\"n\">%ld</td><td>", s->n,
		    retries, fb);
		if (nt == 0)
			buf_adds(p, "none");
		for (size_t i = 0; i < nt;) {
			size_t j = i;
			while (j < nt && strcmp(types[j], types[i]) == 0)
				j++;
			html_escs(p, types[i]);
			buf_printf(p, " %zu%s", j - i, j < nt ? ", " : "");
			i = j;
		}
		buf_adds(p, "</td></tr>\n");
		free(types);
	}
	buf_adds(p, "</tbody></table>\n");
}

/* ---- 7. the migration ramp ---- */

void section_ramp(struct report *r, qa_buf *p)
{
	buf_adds(p, "<h2 id=\"ramp\">Migration ramp</h2>\n");
	if (r->nramp == 0) {
		absent(p, "No migration ramp in this run (pipelines/migrate.mk, run with the same NAME, writes one).");
		return;
	}
	int W = 160 * (int)r->nramp + 60, H = 216;
	if (W < 400)
		W = 400;
	qa_buf desc = { 0 };
	buf_adds(&desc, "Timeline of the ramp's stages, in order: ");
	for (size_t i = 0; i < r->nramp; i++)
		buf_printf(&desc, "%sstage %s at %s, %s", i ? "; " : "", r->ramp[i].f[0], r->ramp[i].f[1], r->ramp[i].f[8]);
	buf_adds(&desc, ". The table below gives each stage's numbers.");
	fig_open(p, "rampchart", W, H, "The migration ramp, stage by stage", buf_cstr(&desc));
	buf_free(&desc);
	/* A lane per stage: the bar's height is the candidate's share, out of a 100% outline. */
	double base = 130, top = 30, full = base - 16 - top;
	buf_printf(p, "<line x1=\"30\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#999\" stroke-width=\"2\"/>", base,
	    W - 30, base);
	for (size_t i = 0; i < r->nramp; i++) {
		const struct stage *s = &r->ramp[i];
		double x = 30 + 80 + 160.0 * (double)i, w = strtod(s->f[1], NULL);
		const char *d = s->f[8];
		int ok = strcmp(d, "advance") == 0 || strcmp(d, "done") == 0 || strcmp(d, "pass") == 0;
		int back = strstr(d, "roll") != NULL;
		const char *col = ok ? "#009E73" : back ? "#D55E00" : "#777";
		double h = full * (w < 0 ? 0 : w > 100 ? 100 : w) / 100;
		buf_printf(p, "<rect x=\"%.1f\" y=\"%.1f\" width=\"44\" height=\"%.1f\" fill=\"none\" stroke=\"#bbb\" "
		    "stroke-dasharray=\"3 3\"/>", x - 22, top, full);
		if (h > 0)
			buf_printf(p, "<rect x=\"%.1f\" y=\"%.1f\" width=\"44\" height=\"%.1f\" fill=\"#cfe3f1\" "
			    "stroke=\"#0072B2\"/>", x - 22, base - 16 - h, h);
		svg_text(p, x, top - 8, "middle", "label", s->f[1]);
		buf_printf(p, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"10\" fill=\"%s\"/>", x, base, col);
		buf_printf(p, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" style=\"fill:#fff;font-weight:700\">%s"
		    "</text>", x, base + 4, ok ? "\xe2\x9c\x93" : back ? "\xe2\x9c\x97" : "\xe2\x80\xa2");
		char t[64];
		snprintf(t, sizeof t, "stage %s", s->f[0]);
		svg_text(p, x, base + 30, "middle", "label", t);
		svg_text(p, x, base + 48, "middle", NULL, d);
		svg_text(p, x, base + 66, "middle", "muted", s->f[3]);
		if (i + 1 < r->nramp)
			buf_printf(p, "<path d=\"M%.1f %.1fl-8 -5v10Z\" fill=\"#999\"/>", x + 80, base);
	}
	fig_close(p, "Bars: the candidate's share of traffic at each stage, out of 100% (dashed), with each stage's "
	    "decision and accuracy (baseline / candidate). Ticks mark stages that advanced, crosses a rollback "
	    "(stage 0 puts everything back on the baseline).");
	static const char *const head[9] = { "stage", "weight", "requests", "accuracy", "p95 ms", "errors", "fallbacks",
		"cost", "decision" };
	buf_adds(p, "<table><thead><tr>");
	for (size_t k = 0; k < 9; k++)
		buf_printf(p, "<th scope=\"col\">%s</th>", head[k]);
	buf_adds(p, "</tr></thead><tbody>\n");
	for (size_t i = 0; i < r->nramp; i++) {
		buf_adds(p, "<tr>");
		for (size_t k = 0; k < 9; k++) {
			buf_adds(p, k ? "<td>" : "<th scope=\"row\">");
			html_escs(p, r->ramp[i].f[k]);
			buf_adds(p, k ? "</td>" : "</th>");
		}
		buf_adds(p, "</tr>\n");
	}
	buf_adds(p, "</tbody></table>\n");
}
