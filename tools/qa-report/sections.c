/*
 * The page, top to bottom: the decision, accuracy, cost, flips, perplexity
 * and drift, latency, the ramp.  It rearranges numbers the tools computed
 * (qa-diff, qa-cost, qa-score); what it computes itself (the 2x2 table,
 * latency distributions, error counts, Wilson intervals of qa-cost's
 * accuracy) comes from the scored records and says so.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static const char css[] =
    ":root{color-scheme:light}"
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;"
    "color:#1b1b1b;background:#fff;margin:0}"
    "main{max-width:1100px;margin:0 auto;padding:20px 24px 48px}"
    "h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:36px 0 8px;padding-top:12px;"
    "border-top:2px solid #ddd}h3{font-size:16px;margin:18px 0 6px}"
    ".decision{font-size:19px;padding:12px 16px;border-left:8px solid;margin:12px 0;background:#f6f6f6}"
    ".decision.noship{border-color:#D55E00}.decision.ship{border-color:#009E73}.decision.none{border-color:#777}"
    ".muted{color:#555}.small{font-size:13px}"
    ".two{display:grid;grid-template-columns:auto 1fr;gap:28px;align-items:start}"
    "@media (max-width:800px){.two{grid-template-columns:1fr}}.two h3{margin-top:8px}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:12px;margin:14px 0}"
    ".card{display:flex;flex-direction:column;border:1px solid #d0d0d0;border-radius:6px;padding:10px 14px;"
    "color:inherit;text-decoration:none;font-size:13px}.card:hover{border-color:#0072B2}"
    ".card .what{color:#555;text-transform:uppercase;letter-spacing:.04em;font-size:12px}"
    ".card .big{font-size:22px;font-weight:700;margin:2px 0}"
    "table{border-collapse:collapse;margin:8px 0 12px;font-size:14px}"
    "th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f2f2f2}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td.n{white-space:nowrap}"
    ".warn{border-left:4px solid #E69F00;background:#fff8e6;padding:6px 12px;margin:6px 0}"
    ".absent{color:#555;font-style:italic}"
    "figure.chart{margin:8px 0}figure.chart svg{max-width:100%;height:auto;display:block}"
    "figcaption{font-size:13px;color:#444}"
    "svg text{font:12px system-ui,sans-serif;fill:#222}svg text.muted{fill:#555}svg .label{font-size:13px;fill:#333}"
    "svg .label,svg .pt{paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}"
    "svg .axis line{stroke:#444}svg .axis line.grid{stroke:#e3e3e3}"
    ".key{display:inline-block;margin-right:16px}.swatch{display:inline-block;width:12px;height:12px;"
    "vertical-align:-1px;margin-right:4px}"
    "table.flips{table-layout:fixed;width:100%}table.flips td{font-size:13px}"
    "table.flips .txt{white-space:pre-wrap;word-break:break-word;max-height:14em;overflow:auto;"
    "font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}"
    ".dir{font-weight:600}.r2w,.worse{color:#B34700}.w2r,.better{color:#00704F}"
    "form.filter{margin:8px 0;display:flex;gap:16px;flex-wrap:wrap;align-items:center}"
    "code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}"
    "pre{white-space:pre-wrap;background:#f6f6f6;padding:8px}"
    "@media print{h2{break-before:auto;break-after:avoid}figure,tr{break-inside:avoid}"
    "table.flips .txt{max-height:none;overflow:visible}form.filter{display:none}main{max-width:none}}";

/* Sorting is not needed to read the table; filtering is, and works without it too (all rows show). */
static const char script[] =
    "(function(){var f=document.getElementById('flipfilter'),t=document.getElementById('fliprows');"
    "if(!f||!t)return;f.hidden=false;function go(){var k=f.elements.task.value,d=f.elements.dir.value,n=0;"
    "Array.prototype.forEach.call(t.rows,function(r){var s=(!k||r.dataset.task===k)&&(!d||r.dataset.dir===d);"
    "r.hidden=!s;if(s)n++;});document.getElementById('flipcount').textContent=n+' shown';}"
    "f.addEventListener('change',go);go();})();";

void fmt_pct(char *out, size_t len, double v)
{
	if (isnan(v))
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%.1f%%", v * 100);
}

void fmt_money(char *out, size_t len, double v)
{
	if (isnan(v))
		snprintf(out, len, "-");
	else if (v == 0)
		snprintf(out, len, "$0");
	else {
		/* Cents from a dollar up, else three significant digits; never an exponent: $0.0000272, $309.36. */
		int e = (int)floor(log10(fabs(v)));
		int dec = e >= 0 ? 2 : 2 - e;
		snprintf(out, len, "$%.*f", dec > 10 ? 10 : dec, v);
	}
}

static void fmt_pts(char *out, size_t len, double v)
{
	if (isnan(v))
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%+.1f", v * 100);
}

static void fmt_ci(char *out, size_t len, double m, double lo, double hi, int pts)
{
	char a[24], b[24], c[24];
	if (pts) {
		fmt_pts(a, sizeof a, m);
		fmt_pts(b, sizeof b, lo);
		fmt_pts(c, sizeof c, hi);
	} else {
		fmt_pct(a, sizeof a, m);
		fmt_pct(b, sizeof b, lo);
		fmt_pct(c, sizeof c, hi);
	}
	if (isnan(lo) || isnan(hi))
		snprintf(out, len, "%s", a);
	else
		snprintf(out, len, "%s [%s, %s]", a, b, c);
}

static void absent(qa_buf *p, const char *what)
{
	buf_adds(p, "<p class=\"absent\">");
	html_escs(p, what);
	buf_adds(p, "</p>\n");
}

static void key(qa_buf *p, const struct report *r)
{
	buf_adds(p, "<p class=\"small\">");
	for (int k = 0; k < 2; k++) {
		buf_printf(p, "<span class=\"key\"><svg width=\"14\" height=\"14\" viewBox=\"0 0 14 14\" aria-hidden=\"true\">");
		marker(p, (size_t)k, 7, 7, 5);
		buf_adds(p, "</svg> ");
		buf_adds(p, k == BASE ? "baseline: " : "candidate: ");
		html_escs(p, r->s[k].name);
		buf_adds(p, "</span>");
	}
	buf_adds(p, "</p>\n");
}

/* ---- 1. the decision and the settings ---- */

static void decision(struct report *r, qa_buf *p)
{
	long ov = doc_find(&r->diff, "overall", NULL);
	const char *d = doc_str(&r->diff, ov, "decision");
	int fails = doc_tok(&r->diff, ov, "gate.failures");
	const qa_json *j = ov >= 0 ? r->diff.j[ov] : NULL;
	double n = doc_num(&r->diff, ov, "n");

	if (d && strcmp(d, "fail") == 0) {
		buf_adds(p, "<p class=\"decision noship\"><strong>&#10007; Do not ship.</strong> ");
		size_t nf = fails >= 0 ? json_count(j, fails) : 0;
		for (size_t i = 0; i < nf; i++) {
			int m = json_find(j, json_index(j, fails, i), "message");
			const char *s = m >= 0 ? json_str(j, m, NULL) : NULL;
			buf_adds(p, i ? "; " : "The gate failed: ");
			html_escs(p, s ? s : "(no message)");
		}
		buf_adds(p, "</p>\n");
	} else if (d && strcmp(d, "pass") == 0) {
		const char *on = doc_str(&r->diff, ov, "gate.on");
		buf_adds(p, "<p class=\"decision ship\"><strong>&#10003; Ship.</strong> The gate held: ");
		double lo = doc_num(&r->diff, ov, "delta.ci_low"), m = doc_num(&r->diff, ov, "delta.mean");
		char a[32], b[32];
		fmt_pts(a, sizeof a, m);
		fmt_pts(b, sizeof b, lo);
		buf_printf(p, "accuracy changed by %s points", a);
		if (on && strcmp(on, "ci") == 0)
			buf_printf(p, ", and even the 95%% CI's lower bound (%s) ", b);
		else
			buf_adds(p, ", which ");
		if (!isnan(r->max_drop))
			buf_printf(p, "stays within --max-drop %g (%g points).</p>\n", r->max_drop, r->max_drop * 100);
		else
			buf_adds(p, "stays within the gate.</p>\n");
	} else
		buf_adds(p, "<p class=\"decision none\"><strong>No decision.</strong> No gate was applied to these "
		    "runs (qa-diff --max-drop decides ship or do not ship).</p>\n");
	if (!isnan(n))
		buf_printf(p, "<p class=\"muted\">%.0f items compared, paired by id.</p>\n", n);
}

/* 1000000 as 1,000,000. */
static void fmt_count(char *out, size_t len, double v)
{
	char d[40];
	snprintf(d, sizeof d, "%.0f", fabs(v));
	size_t n = strlen(d), o = 0;
	if (v < 0 && o + 1 < len)
		out[o++] = '-';
	for (size_t i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = d[i];
	}
	out[o] = '\0';
}

/* The four numbers a reader takes away, each with where it comes from below. */
static void headline(struct report *r, qa_buf *p)
{
	long ov = doc_find(&r->diff, "overall", NULL);
	char a[32], b[32], c[32], d[32], e[32];
	int any = 0;

	buf_adds(p, "<div class=\"cards\">");
	double mb = doc_num(&r->diff, ov, "baseline.mean"), mc = doc_num(&r->diff, ov, "candidate.mean");
	if (!isnan(mb) && !isnan(mc)) {
		fmt_pct(a, sizeof a, mb);
		fmt_pct(b, sizeof b, mc);
		fmt_pts(c, sizeof c, doc_num(&r->diff, ov, "delta.mean"));
		fmt_pts(d, sizeof d, doc_num(&r->diff, ov, "delta.ci_low"));
		fmt_pts(e, sizeof e, doc_num(&r->diff, ov, "delta.ci_high"));
		buf_printf(p, "<a class=\"card\" href=\"#accuracy\"><span class=\"what\">accuracy</span><span class=\"big\">"
		    "%s &rarr; %s</span><span>%s points, 95%% CI [%s, %s]</span></a>", a, b, c, d, e);
		any = 1;
	}
	long g[2] = { -1, -1 }, pj = -1;
	for (size_t i = 0; i < r->cost.n; i++) {
		const char *sc = doc_str(&r->cost, (long)i, "scope"), *ep = doc_str(&r->cost, (long)i, "endpoint");
		for (int k = 0; k < 2 && sc && ep; k++) {
			if (strcmp(sc, "group") == 0 && strcmp(ep, r->s[k].name) == 0)
				g[k] = (long)i;
			if (k == CAND && strcmp(sc, "projection") == 0 && strcmp(ep, r->s[k].name) == 0)
				pj = (long)i;
		}
	}
	if (g[0] >= 0 && g[1] >= 0) {
		fmt_money(a, sizeof a, doc_num(&r->cost, g[0], "cost_per_1k_tasks"));
		fmt_money(b, sizeof b, doc_num(&r->cost, g[1], "cost_per_1k_tasks"));
		buf_printf(p, "<a class=\"card\" href=\"#cost\"><span class=\"what\">cost per 1,000 tasks</span>"
		    "<span class=\"big\">%s &rarr; %s</span>", a, b);
		double save = doc_num(&r->cost, pj, "savings_per_month"), tasks = doc_num(&r->cost, pj, "monthly_tasks");
		if (!isnan(save)) {
			fmt_money(c, sizeof c, save);
			char t[48];
			fmt_count(t, sizeof t, tasks);
			buf_printf(p, "<span>%s %s a month at %s tasks a month</span>", save < 0 ? "costs" : "saves",
			    c + (c[1] == '-'), t);
		}
		buf_adds(p, "</a>");
		any = 1;
	}
	double r2w = doc_num(&r->diff, ov, "flips.right_to_wrong"), w2r = doc_num(&r->diff, ov, "flips.wrong_to_right");
	if (!isnan(r2w)) {
		double pct = doc_num(&r->diff, ov, "flips.pct");
		buf_printf(p, "<a class=\"card\" href=\"#flips\"><span class=\"what\">answers that flipped</span>"
		    "<span class=\"big\">%.0f lost, %.0f gained</span><span>right&rarr;wrong and wrong&rarr;right: %.1f%% "
		    "of the items changed</span></a>", r2w, w2r, pct);
		any = 1;
	}
	double pb = doc_num(&r->diff, ov, "baseline.p95_ms"), pc = doc_num(&r->diff, ov, "candidate.p95_ms");
	if (!isnan(pb) && !isnan(pc)) {
		buf_printf(p, "<a class=\"card\" href=\"#latency\"><span class=\"what\">latency, 95th percentile</span>"
		    "<span class=\"big\">%.0f &rarr; %.0f ms</span><span>%+.0f%%</span></a>", pb, pc,
		    pb > 0 ? (pc / pb - 1) * 100 : NAN);
		any = 1;
	}
	buf_adds(p, "</div>\n");
	if (!any)
		p->len -= strlen("<div class=\"cards\"></div>\n");
}

static void fmt_date(char *out, size_t len, time_t t)
{
	struct tm tm;
	if (t == 0 || !gmtime_r(&t, &tm))
		snprintf(out, len, "-");
	else
		strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm);
}

static void settings(struct report *r, qa_buf *p)
{
	char a[64];
	buf_adds(p, "<h2 id=\"settings\">Settings and comparability</h2>\n<div class=\"two\"><div><table><caption class=\"muted small\">"
	    "What each side ran with, from its scored records</caption>\n<thead><tr><th scope=\"col\"></th>"
	    "<th scope=\"col\">baseline</th><th scope=\"col\">candidate</th></tr></thead><tbody>\n");
	static const char *const rows[] = { "run", "endpoint", "model", "decoding parameters", "date (file written)",
		"qa version", "items", "scored", "errors" };
	for (size_t row = 0; row < sizeof rows / sizeof *rows; row++) {
		buf_printf(p, "<tr><th scope=\"row\">%s</th>", rows[row]);
		for (int k = 0; k < 2; k++) {
			const struct side *s = &r->s[k];
			size_t scored = 0, errors = 0;
			for (size_t i = 0; i < s->n; i++) {
				scored += !isnan(s->it[i].score);
				errors += s->it[i].error != NULL;
			}
			buf_adds(p, "<td>");
			switch (row) {
			case 0: html_escs(p, s->name); break;
			case 1: html_escs(p, s->endpoint ? s->endpoint : "-"); break;
			case 2: html_escs(p, s->model ? s->model : "-"); break;
			case 3:
				buf_adds(p, "<code>");
				html_escs(p, s->params && *s->params ? s->params : "provider defaults");
				buf_adds(p, "</code>");
				if (s->params_vary)
					buf_adds(p, " (first record; they vary)");
				break;
			case 4: fmt_date(a, sizeof a, s->mtime); html_escs(p, a); break;
			case 5:
				if (s->qa_version)
					html_escs(p, s->qa_version);
				else
					buf_adds(p, "<span class=\"absent\">not recorded in the runs</span>");
				break;
			case 6: buf_printf(p, "%zu", s->n); break;
			case 7: buf_printf(p, "%zu", scored); break;
			default: buf_printf(p, "%zu", errors);
			}
			buf_adds(p, "</td>");
		}
		buf_adds(p, "</tr>\n");
	}
	buf_printf(p, "</tbody></table>\n<p class=\"small muted\">Report written by qa-report %s.</p></div><div>\n",
	    QA_VERSION);

	/* Comparability: what would make the two columns measure different things. */
	size_t nw = 0, only[2] = { 0, 0 };
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < r->s[k].n; i++)
			only[k] += side_find(&r->s[1 - k], r->s[k].it[i].id) == NULL;
	buf_adds(p, "<h3>Comparability warnings</h3>\n");
	if (only[0] || only[1]) {
		buf_printf(p, "<p class=\"warn\">%zu item%s only in the baseline and %zu only in the candidate: "
		    "they are not compared.</p>\n", only[0], only[0] == 1 ? "" : "s", only[1]);
		nw++;
	}
	const char *pa = r->s[0].params ? r->s[0].params : "", *pb = r->s[1].params ? r->s[1].params : "";
	if (strcmp(pa, pb) != 0 || r->s[0].params_vary || r->s[1].params_vary) {
		buf_adds(p, "<p class=\"warn\">The decoding parameters differ between the sides (or within a side): "
		    "part of the difference may be the settings, not the model.</p>\n");
		nw++;
	}
	long dov = doc_find(&r->drift, "overall", NULL);
	double td = doc_num(&r->drift, dov, "drift.tokens_differ");
	if (td > 0) {
		buf_printf(p, "<p class=\"warn\">%.0f texts were tokenized differently by the two sides: "
		    "token-level drift compares different tokens there.</p>\n", td);
		nw++;
	}
	long ov = doc_find(&r->diff, "overall", NULL);
	double ib = doc_num(&r->diff, ov, "baseline.invalid_rate"), ic = doc_num(&r->diff, ov, "candidate.invalid_rate");
	if (!isnan(ib) && !isnan(ic) && fabs(ic - ib) >= 0.01) {
		char x[32], y[32];
		fmt_pct(x, sizeof x, ib);
		fmt_pct(y, sizeof y, ic);
		buf_printf(p, "<p class=\"warn\">Answers the scorer could not extract: %s in the baseline, %s in the "
		    "candidate.  Format drift can look like accuracy loss; read the flips below.</p>\n", x, y);
		nw++;
	}
	int w = doc_tok(&r->diff, ov, "warnings");
	if (w >= 0 && json_type(r->diff.j[ov], w) == QA_ARRAY)
		for (size_t i = 0; i < json_count(r->diff.j[ov], w); i++) {
			const char *s = json_str(r->diff.j[ov], json_index(r->diff.j[ov], w, i), NULL);
			if (!s)
				continue;
			buf_adds(p, "<p class=\"warn\">");
			html_escs(p, s);
			buf_adds(p, "</p>\n");
			nw++;
		}
	if (nw == 0)
		buf_adds(p, "<p>None: the same items on both sides, with the same decoding parameters.</p>\n");
	buf_adds(p, "</div></div>\n");
}

/* ---- 2. accuracy per task ---- */

struct frow {
	const char *task, *metric;
	double n, m[2], lo[2], hi[2], d, dlo, dhi, r2w, w2r, rec;
};

static void row_from(const struct doc *d, long i, struct frow *f)
{
	static const char *const side[2] = { "baseline", "candidate" };
	char path[64];
	f->task = doc_str(d, i, "task");
	f->metric = doc_str(d, i, "metric");
	f->n = doc_num(d, i, "n");
	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof path, "%s.mean", side[k]);
		f->m[k] = doc_num(d, i, path);
		snprintf(path, sizeof path, "%s.ci_low", side[k]);
		f->lo[k] = doc_num(d, i, path);
		snprintf(path, sizeof path, "%s.ci_high", side[k]);
		f->hi[k] = doc_num(d, i, path);
	}
	f->d = doc_num(d, i, "delta.mean");
	f->dlo = doc_num(d, i, "delta.ci_low");
	f->dhi = doc_num(d, i, "delta.ci_high");
	f->r2w = doc_num(d, i, "flips.right_to_wrong");
	f->w2r = doc_num(d, i, "flips.wrong_to_right");
	f->rec = doc_num(d, i, "recovery_pct");
}

static void accuracy(struct report *r, qa_buf *p)
{
	buf_adds(p, "<h2 id=\"accuracy\">Accuracy per task, with 95% confidence intervals</h2>\n");
	size_t nr = 0;
	struct frow *rows = xcalloc(r->diff.n + 1, sizeof *rows);
	for (size_t i = 0; i < r->diff.n; i++) {
		const char *sc = doc_str(&r->diff, (long)i, "scope");
		if (sc && strcmp(sc, "task") == 0)
			row_from(&r->diff, (long)i, &rows[nr++]);
	}
	long ov = doc_find(&r->diff, "overall", NULL);
	if (ov >= 0) {
		row_from(&r->diff, ov, &rows[nr]);
		rows[nr++].task = "overall";
	}
	if (nr == 0) {
		absent(p, "No paired comparison in this run (qa-diff's diff.json is missing).");
		free(rows);
		return;
	}

	double lo = 1, hi = 0, dlo = 0, dhi = 0;
	for (size_t i = 0; i < nr; i++) {
		for (int k = 0; k < 2; k++) {
			double a = isnan(rows[i].lo[k]) ? rows[i].m[k] : rows[i].lo[k];
			double b = isnan(rows[i].hi[k]) ? rows[i].m[k] : rows[i].hi[k];
			if (!isnan(a))
				lo = fmin(lo, a);
			if (!isnan(b))
				hi = fmax(hi, b);
		}
		if (!isnan(rows[i].dlo))
			dlo = fmin(dlo, rows[i].dlo);
		if (!isnan(rows[i].dhi))
			dhi = fmax(dhi, rows[i].dhi);
	}
	if (!isnan(r->max_drop))
		dlo = fmin(dlo, -r->max_drop);
	if (hi < lo) {
		lo = 0;
		hi = 1;
	}
	double at[16], dt[16];
	size_t nat = ticks_linear(&lo, &hi, 6, at, 16);
	dlo *= 100;
	dhi *= 100;
	size_t ndt = ticks_linear(&dlo, &dhi, 7, dt, 16);

	int W = 960, rowh = 40, top = 34, H = top + (int)nr * rowh + 44;
	double l0 = 150, l1 = 560, g0 = 640, g1 = 940;
	qa_scale sa, sd;
	scale_linear(&sa, lo, hi, l0, l1);
	scale_linear(&sd, dlo, dhi, g0, g1);

	qa_buf desc = { 0 };
	buf_printf(&desc, "Forest plot of %zu rows. Left: each task's score on both sides with its 95%% CI. "
	    "Right: the paired change in points with its CI", nr);
	if (!isnan(r->max_drop))
		buf_printf(&desc, ", against the gate at %.4g points", -r->max_drop * 100);
	buf_adds(&desc, ". The table below gives every number.");
	key(p, r);
	fig_open(p, "forest", W, H, "Accuracy per task and the paired change", buf_cstr(&desc));
	buf_free(&desc);
	svg_text(p, (l0 + l1) / 2, 16, "middle", "label", "score (accuracy) with 95% CI");
	svg_text(p, (g0 + g1) / 2, 16, "middle", "label", "change, points (candidate - baseline)");
	double ybot = top + nr * rowh;
	/* Stripes first: the grid and the gate line go over them. */
	for (size_t i = 0; i < nr; i += 2)
		buf_printf(p, "<rect x=\"0\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"#f5f5f5\"/>",
		    top + (double)i * rowh, W, rowh);
	axis_x(p, &sa, at, nat, ybot, top - 6, NULL, 1);
	axis_x(p, &sd, dt, ndt, ybot, top - 6, NULL, 0);
	double x0 = scale_map(&sd, 0);
	buf_printf(p, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>", x0, top - 6, x0, ybot);
	if (!isnan(r->max_drop)) {
		double xg = scale_map(&sd, -r->max_drop * 100);
		char t[64];
		buf_printf(p, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#D55E00\" stroke-width=\"2\" "
		    "stroke-dasharray=\"6 4\"/>", xg, top - 6, xg, ybot);
		snprintf(t, sizeof t, "gate %.4g pts", -r->max_drop * 100);
		svg_text(p, xg - 4, ybot + 30, "end", "label", t);
	}
	for (size_t i = 0; i < nr; i++) {
		struct frow *f = &rows[i];
		double y = top + i * rowh + rowh / 2.0;
		if (i == nr - 1 && ov >= 0)
			buf_printf(p, "<line x1=\"0\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#999\"/>", y - rowh / 2.0, W,
			    y - rowh / 2.0);
		/* A task scored by two metrics has two rows: the metric tells them apart. */
		int twice = 0;
		for (size_t k = 0; k < nr && f->task && f->metric; k++)
			twice |= k != i && rows[k].task && strcmp(rows[k].task, f->task) == 0;
		qa_buf label = { 0 };
		buf_printf(&label, "%s%s%s", f->task ? f->task : "?", twice ? " \xc2\xb7 " : "", twice ? f->metric : "");
		svg_text(p, 8, y + 4, "start", i == nr - 1 && ov >= 0 ? "label" : NULL, buf_cstr(&label));
		buf_free(&label);
		for (int k = 0; k < 2; k++) {
			struct qa_cibar b;
			double yy = y + (k ? 7 : -7);
			if (ci_bar(&sa, f->lo[k], f->m[k], f->hi[k], &b) == 0)
				cibar_h(p, &b, yy, side_colour[k], 2);
			if (!isnan(f->m[k]))
				marker(p, (size_t)k, scale_clamp(&sa, f->m[k]), yy, 5);
		}
		struct qa_cibar b;
		if (ci_bar(&sd, f->dlo * 100, f->d * 100, f->dhi * 100, &b) == 0) {
			int bad = !isnan(r->max_drop) && f->dlo < -r->max_drop;
			cibar_h(p, &b, y, bad ? "#B34700" : "#222", bad ? 3 : 2);
			buf_printf(p, "<path d=\"M%.1f %.1fl6 6l-6 6l-6 -6Z\" fill=\"%s\"/>", b.xm, y - 6,
			    bad ? "#B34700" : "#222");
		}
	}
	fig_close(p, "Circles: baseline; squares: candidate. Diamonds: the paired change; a thicker, dark orange bar "
	    "reaches past the gate (dashed line). Arrowheads mark intervals cut at the edge of the axis.");

	buf_adds(p, "<table><thead><tr><th scope=\"col\">task</th><th scope=\"col\">metric</th><th class=\"n\" "
	    "scope=\"col\">n</th><th class=\"n\" scope=\"col\">baseline [95% CI]</th><th class=\"n\" scope=\"col\">"
	    "candidate [95% CI]</th><th class=\"n\" scope=\"col\">change, points [CI]</th><th class=\"n\" scope=\"col\">"
	    "right&rarr;wrong</th><th class=\"n\" scope=\"col\">wrong&rarr;right</th><th class=\"n\" scope=\"col\">"
	    "recovery</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < nr; i++) {
		struct frow *f = &rows[i];
		char a[128], b[128], c[128];
		fmt_ci(a, sizeof a, f->m[0], f->lo[0], f->hi[0], 0);
		fmt_ci(b, sizeof b, f->m[1], f->lo[1], f->hi[1], 0);
		fmt_ci(c, sizeof c, f->d, f->dlo, f->dhi, 1);
		buf_adds(p, "<tr><th scope=\"row\">");
		html_escs(p, f->task ? f->task : "?");
		buf_adds(p, "</th><td>");
		html_escs(p, f->metric ? f->metric : "-");
		buf_printf(p, "</td><td class=\"n\">%.0f</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
		    "<td class=\"n\">%s</td>", f->n, a, b, c);
		if (isnan(f->r2w))
			buf_adds(p, "<td class=\"n\">-</td><td class=\"n\">-</td>");
		else
			buf_printf(p, "<td class=\"n\">%.0f</td><td class=\"n\">%.0f</td>", f->r2w, f->w2r);
		if (isnan(f->rec))
			buf_adds(p, "<td class=\"n\">-</td></tr>\n");
		else
			buf_printf(p, "<td class=\"n\">%.1f%%</td></tr>\n", f->rec);
	}
	buf_adds(p, "</tbody></table>\n");
	double pe = doc_num(&r->diff, ov, "mcnemar.p_exact");
	if (!isnan(pe))
		buf_printf(p, "<p>McNemar's exact test on the flips: p = %.3g.</p>\n", pe);

	/* The noise floor is another issue's: shown when qa-diff writes it. */
	int nf = doc_tok(&r->diff, ov, "noise_floor");
	if (nf < 0)
		nf = doc_tok(&r->diff, ov, "noise");
	if (nf >= 0) {
		size_t n;
		const char *raw = json_raw(r->diff.j[ov], nf, &n);
		buf_adds(p, "<p>Noise floor (the same model against itself): <code>");
		html_esc(p, raw, n);
		buf_adds(p, "</code></p>\n");
	} else
		absent(p, "Noise floor: not in this run (diff.json carries no noise_floor).");
	free(rows);
}

/* ---- 3. cost against accuracy ---- */

/*
 * A cost interval, when qa-cost writes one: cost_per_1k_tasks_ci as
 * {low, high}, {ci_low, ci_high} or [low, high], or cost_per_1k_tasks_ci_low
 * and _high.  0 and both set, or -1.
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

static void cost(struct report *r, qa_buf *p)
{
	buf_adds(p, "<h2 id=\"cost\">Cost against accuracy</h2>\n");
	size_t ng = 0;
	long *g = xcalloc(r->cost.n + 1, sizeof *g);
	for (size_t i = 0; i < r->cost.n; i++) {
		const char *sc = doc_str(&r->cost, (long)i, "scope");
		if (sc && strcmp(sc, "group") == 0)
			g[ng++] = (long)i;
	}
	if (ng == 0) {
		absent(p, "No cost summary in this run (qa-cost --summary's cost.json is missing).");
		free(g);
		return;
	}
	double *c = xcalloc(ng, sizeof *c), *acc = xcalloc(ng, sizeof *acc), *lo = xcalloc(ng, sizeof *lo),
	       *hi = xcalloc(ng, sizeof *hi);
	int *on = xcalloc(ng, sizeof *on);
	double cmin = INFINITY, cmax = 0, amin = 1, amax = 0;
	for (size_t i = 0; i < ng; i++) {
		c[i] = doc_num(&r->cost, g[i], "cost_per_1k_tasks");
		double k = doc_num(&r->cost, g[i], "correct"), n = doc_num(&r->cost, g[i], "scored");
		acc[i] = doc_num(&r->cost, g[i], "accuracy");
		lo[i] = hi[i] = NAN;
		if (!isnan(k) && n > 0)
			wilson_ci(k, n, QA_Z95, &lo[i], &hi[i]);
		if (c[i] > 0) {
			double cl, ch;
			cmin = fmin(cmin, c[i]);
			cmax = fmax(cmax, c[i]);
			if (cost_ci(&r->cost, g[i], &cl, &ch) == 0 && cl > 0) {
				cmin = fmin(cmin, cl);
				cmax = fmax(cmax, ch);
			}
		} else
			c[i] = NAN;	/* not on a log axis; the table still has it */
		if (!isnan(acc[i])) {
			amin = fmin(amin, isnan(lo[i]) ? acc[i] : lo[i]);
			amax = fmax(amax, isnan(hi[i]) ? acc[i] : hi[i]);
		}
	}
	pareto_front(c, acc, ng, on);
	if (cmax > 0 && amax >= amin) {
		double xt[32], yt[16];
		double x0 = cmin / 1.5, x1 = cmax * 1.5;
		size_t nxt = ticks_log(&x0, &x1, xt, 32);
		size_t nyt = ticks_linear(&amin, &amax, 6, yt, 16);
		int W = 760, H = 380;
		qa_scale sx, sy;
		scale_log(&sx, x0, x1, 90, W - 30);
		scale_linear(&sy, amin, amax, H - 60, 20);
		fig_open(p, "costacc", W, H, "Cost per 1,000 tasks against accuracy",
		    "Each endpoint is a point: cost per 1,000 tasks on a logarithmic axis, accuracy with its 95% "
		    "Wilson interval; the dashed line joins the Pareto front, the endpoints that no other beats on "
		    "both cost and accuracy. The table below gives every number.");
		axis_x(p, &sx, xt, nxt, H - 60, 20, "cost per 1,000 tasks (USD, log scale)", 0);
		axis_y(p, &sy, yt, nyt, 90, W - 30, "accuracy", 1);
		/* The front, cheapest first. */
		qa_buf path = { 0 };
		for (int pass = 0; pass < 1; pass++) {
			double last = 0;
			for (size_t n = 0; n < ng; n++) {
				size_t best = ng;
				for (size_t i = 0; i < ng; i++)
					if (on[i] && c[i] > last && (best == ng || c[i] < c[best]))
						best = i;
				if (best == ng)
					break;
				buf_printf(&path, "%s%.1f %.1f", path.len ? "L" : "M", scale_map(&sx, c[best]),
				    scale_map(&sy, acc[best]));
				last = c[best];
			}
		}
		if (path.len)
			buf_printf(p, "<path d=\"%s\" fill=\"none\" stroke=\"#777\" stroke-width=\"1.5\" "
			    "stroke-dasharray=\"5 4\"/>", buf_cstr(&path));
		buf_free(&path);
		for (size_t i = 0; i < ng; i++) {
			if (isnan(c[i]) || isnan(acc[i]))
				continue;
			double x = scale_map(&sx, c[i]), y = scale_map(&sy, acc[i]);
			struct qa_cibar b;
			if (ci_bar(&sy, lo[i], acc[i], hi[i], &b) == 0)
				cibar_v(p, &b, x, side_colour[i % 6], 2);
			double cl, ch;
			if (cost_ci(&r->cost, g[i], &cl, &ch) == 0 && ci_bar(&sx, cl, c[i], ch, &b) == 0)
				cibar_h(p, &b, y, side_colour[i % 6], 2);
			marker(p, i, x, y, 6);
			const char *name = doc_str(&r->cost, g[i], "endpoint");
			qa_buf t = { 0 };
			buf_printf(&t, "%s%s", name ? name : "?", on[i] ? " (Pareto front)" : "");
			svg_text(p, x + 10, y + 4, "start", "pt", buf_cstr(&t));
			buf_free(&t);
		}
		fig_close(p, "Accuracy here is qa-cost's share of correct answers per endpoint; the intervals are Wilson "
		    "95% intervals computed from its counts.");
	}

	buf_adds(p, "<table><thead><tr><th scope=\"col\">endpoint</th><th scope=\"col\">model</th><th class=\"n\" "
	    "scope=\"col\">tasks</th><th class=\"n\" scope=\"col\">accuracy [95% CI]</th><th class=\"n\" scope=\"col\">"
	    "cost per 1k tasks</th><th class=\"n\" scope=\"col\">cost per correct answer</th><th class=\"n\" "
	    "scope=\"col\">monthly cost</th><th class=\"n\" scope=\"col\">savings per month</th><th scope=\"col\">"
	    "Pareto front</th></tr></thead><tbody>\n");
	int have_ci = 0;
	for (size_t i = 0; i < ng; i++) {
		const char *name = doc_str(&r->cost, g[i], "endpoint"), *model = doc_str(&r->cost, g[i], "model");
		char a[128], b[80], cc[32], d[32], e[32];
		long pj = -1;
		for (size_t k = 0; k < r->cost.n && name; k++) {
			const char *sc = doc_str(&r->cost, (long)k, "scope"), *ep = doc_str(&r->cost, (long)k, "endpoint");
			if (sc && ep && strcmp(sc, "projection") == 0 && strcmp(ep, name) == 0)
				pj = (long)k;
		}
		fmt_ci(a, sizeof a, acc[i], lo[i], hi[i], 0);
		double cl, ch;
		fmt_money(b, sizeof b, doc_num(&r->cost, g[i], "cost_per_1k_tasks"));
		if (cost_ci(&r->cost, g[i], &cl, &ch) == 0) {
			char x[24], y[24];
			fmt_money(x, sizeof x, cl);
			fmt_money(y, sizeof y, ch);
			snprintf(b + strlen(b), sizeof b - strlen(b), " [%s, %s]", x, y);
			have_ci = 1;
		}
		fmt_money(cc, sizeof cc, doc_num(&r->cost, g[i], "cost_per_correct"));
		fmt_money(d, sizeof d, doc_num(&r->cost, pj, "monthly_cost"));
		fmt_money(e, sizeof e, doc_num(&r->cost, pj, "savings_per_month"));
		buf_adds(p, "<tr><th scope=\"row\">");
		html_escs(p, name ? name : "?");
		buf_adds(p, "</th><td>");
		html_escs(p, model ? model : "-");
		buf_printf(p, "</td><td class=\"n\">%.0f</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
		    "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>%s</td></tr>\n",
		    doc_num(&r->cost, g[i], "tasks"), a, b, cc, d, e, on[i] ? "yes" : "no");
	}
	buf_adds(p, "</tbody></table>\n");
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
	if (have_ci)
		buf_adds(p, "<p>Costs per 1,000 tasks carry qa-cost's 95% intervals, drawn as horizontal bars.</p>\n");
	else
		absent(p, "Cost confidence intervals: not in this run (cost.json carries none); costs are point values.");
	free(g);
	free(c);
	free(acc);
	free(lo);
	free(hi);
	free(on);
}

/* ---- 4. flips ---- */

static int is_binary(double v)
{
	return v == 0 || v == 1;
}

/* A continuous score (ROUGE, F1) "flips" when it moves this much: the list is for reading, not for counting. */
#define SCORE_MOVE 0.25

static const char *direction(const struct item *a, const struct item *b)
{
	if (isnan(a->score) || isnan(b->score))
		return NULL;
	if (is_binary(a->score) && is_binary(b->score))
		return a->score > b->score ? "r2w" : a->score < b->score ? "w2r" : NULL;
	return b->score <= a->score - SCORE_MOVE ? "worse" : b->score >= a->score + SCORE_MOVE ? "better" : NULL;
}

static const char *dir_text(const char *d)
{
	return strcmp(d, "r2w") == 0 ? "right \xe2\x86\x92 wrong" : strcmp(d, "w2r") == 0 ? "wrong \xe2\x86\x92 right" :
	    strcmp(d, "worse") == 0 ? "score fell" : "score rose";
}

static void answer_cell(qa_buf *p, const struct item *it)
{
	buf_adds(p, "<td><div class=\"txt\">");
	if (it->answer)
		html_escs(p, it->answer);
	else if (it->error) {
		buf_adds(p, "(error: ");
		html_escs(p, it->error);
		buf_adds(p, ")");
	}
	buf_adds(p, "</div><div class=\"small\">");
	html_escs(p, it->metric ? it->metric : "score");
	buf_printf(p, " = %.4g", it->score);
	if (it->extracted) {
		buf_adds(p, "; extracted: <code>");
		html_escs(p, it->extracted);
		buf_adds(p, "</code>");
	}
	buf_adds(p, "</div></td>");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void flips(struct report *r, qa_buf *p)
{
	const struct side *B = &r->s[BASE], *C = &r->s[CAND];
	size_t cell[2][2] = { { 0, 0 }, { 0, 0 } }, nbin = 0, nflip = 0;
	const char **tasks = xcalloc(B->n + 1, sizeof *tasks);
	size_t ntasks = 0;

	buf_adds(p, "<h2 id=\"flips\">Flips: answers that changed</h2>\n");
	for (size_t i = 0; i < B->n; i++) {
		const struct item *a = &B->it[i], *b = side_find(C, a->id);
		if (!b || isnan(a->score) || isnan(b->score))
			continue;
		if (is_binary(a->score) && is_binary(b->score)) {
			cell[a->score == 1][b->score == 1]++;
			nbin++;
		}
		if (direction(a, b)) {
			nflip++;
			tasks[ntasks++] = a->task;
		}
	}
	buf_printf(p, "<table><caption class=\"muted small\">Items scored 0 or 1 on both sides (%zu), by "
	    "correctness; counted from the scored records</caption><thead><tr><td></td><th scope=\"col\">candidate "
	    "right</th><th scope=\"col\">candidate wrong</th></tr></thead><tbody>\n"
	    "<tr><th scope=\"row\">baseline right</th><td class=\"n\">%zu</td><td class=\"n\"><strong>%zu</strong> "
	    "right&rarr;wrong</td></tr>\n<tr><th scope=\"row\">baseline wrong</th><td class=\"n\"><strong>%zu</strong> "
	    "wrong&rarr;right</td><td class=\"n\">%zu</td></tr>\n</tbody></table>\n",
	    nbin, cell[1][1], cell[1][0], cell[0][1], cell[0][0]);
	if (nflip == 0) {
		buf_adds(p, "<p>No item changed.</p>\n");
		free(tasks);
		return;
	}

	qsort(tasks, ntasks, sizeof *tasks, cmp_str);
	buf_printf(p, "<p>%zu items changed: every one is below, baseline and candidate side by side. A continuous "
	    "score (such as ROUGE) counts as changed when it moves by %.2f or more.</p>\n", nflip, SCORE_MOVE);
	/* Hidden until the script runs: without it, every row shows and nothing pretends to filter. */
	buf_adds(p, "<form id=\"flipfilter\" class=\"filter\" hidden><label>Task <select name=\"task\">"
	    "<option value=\"\">all</option>");
	for (size_t i = 0; i < ntasks; i++) {
		if (i && strcmp(tasks[i], tasks[i - 1]) == 0)
			continue;
		buf_adds(p, "<option value=\"");
		html_escs(p, tasks[i]);
		buf_adds(p, "\">");
		html_escs(p, tasks[i]);
		buf_adds(p, "</option>");
	}
	buf_adds(p, "</select></label><label>Direction <select name=\"dir\"><option value=\"\">both</option>"
	    "<option value=\"r2w\">right &rarr; wrong</option><option value=\"w2r\">wrong &rarr; right</option>"
	    "<option value=\"worse\">score fell</option><option value=\"better\">score rose</option></select></label>"
	    "<output id=\"flipcount\" aria-live=\"polite\"></output></form>\n");
	buf_adds(p, "<table class=\"flips\"><colgroup><col style=\"width:11%\"><col style=\"width:27%\">"
	    "<col style=\"width:14%\"><col style=\"width:24%\"><col style=\"width:24%\"></colgroup><thead><tr>"
	    "<th scope=\"col\">item</th><th scope=\"col\">prompt</th><th scope=\"col\">expected</th>"
	    "<th scope=\"col\">baseline answer</th><th scope=\"col\">candidate answer</th></tr></thead>"
	    "<tbody id=\"fliprows\">\n");
	for (size_t i = 0; i < B->n; i++) {
		const struct item *a = &B->it[i], *b = side_find(C, a->id);
		const char *d = b ? direction(a, b) : NULL;
		if (!d)
			continue;
		buf_adds(p, "<tr data-task=\"");
		html_escs(p, a->task);
		buf_printf(p, "\" data-dir=\"%s\"><td><code>", d);
		html_escs(p, a->id);
		buf_adds(p, "</code><br>");
		html_escs(p, a->task);
		buf_printf(p, "<br><span class=\"dir %s\">%s</span></td><td><div class=\"txt\">", d, dir_text(d));
		html_escs(p, a->prompt ? a->prompt : "");
		buf_adds(p, "</div></td><td><div class=\"txt\">");
		html_escs(p, a->expected ? a->expected : "");
		buf_adds(p, "</div></td>");
		answer_cell(p, a);
		answer_cell(p, b);
		buf_adds(p, "</tr>\n");
	}
	buf_adds(p, "</tbody></table>\n");
	free(tasks);
}

/* ---- 5. perplexity against accuracy, and drift ---- */

static void perplexity(struct report *r, qa_buf *p)
{
	buf_adds(p, "<h2 id=\"drift\">Perplexity against accuracy, and token drift</h2>\n");
	long pb = -1, pc = -1;
	for (size_t i = 0; i < r->ppl.n; i++) {
		const char *s = doc_str(&r->ppl, (long)i, "side");
		if (s && strcmp(s, "baseline") == 0)
			pb = (long)i;
		if (s && strcmp(s, "candidate") == 0)
			pc = (long)i;
	}
	long ov = doc_find(&r->diff, "overall", NULL);
	if (pb >= 0 && pc >= 0) {
		static const char *const what[] = { "token_perplexity", "bits_per_byte", "byte_perplexity" };
		buf_adds(p, "<table><thead><tr><th scope=\"col\"></th><th class=\"n\" scope=\"col\">baseline</th>"
		    "<th class=\"n\" scope=\"col\">candidate</th><th class=\"n\" scope=\"col\">change</th></tr></thead><tbody>\n");
		for (size_t k = 0; k < 3; k++) {
			double a = doc_num(&r->ppl, pb, what[k]), b = doc_num(&r->ppl, pc, what[k]);
			if (isnan(a) || isnan(b))
				continue;
			buf_printf(p, "<tr><th scope=\"row\">%s</th><td class=\"n\">%.4g</td><td class=\"n\">%.4g</td>"
			    "<td class=\"n\">%+.2f%%</td></tr>\n", what[k], a, b, a ? (b / a - 1) * 100 : NAN);
		}
		double da = doc_num(&r->diff, ov, "delta.mean");
		if (!isnan(da)) {
			char x[32], y[32], z[32];
			fmt_pct(x, sizeof x, doc_num(&r->diff, ov, "baseline.mean"));
			fmt_pct(y, sizeof y, doc_num(&r->diff, ov, "candidate.mean"));
			fmt_pts(z, sizeof z, da);
			buf_printf(p, "<tr><th scope=\"row\">task accuracy</th><td class=\"n\">%s</td><td class=\"n\">%s</td>"
			    "<td class=\"n\">%s points</td></tr>\n", x, y, z);
		}
		buf_adds(p, "</tbody></table>\n");
	} else
		absent(p, "Corpus perplexity: not in this run (ppl.summary.json is missing; assess.mk with PERPLEXITY=yes "
		    "writes it).");

	/* Per task: does perplexity's change say anything about accuracy's? */
	size_t nt = 0;
	double *px = xcalloc(r->drift.n + 1, sizeof *px), *py = xcalloc(r->drift.n + 1, sizeof *py);
	const char **pn = xcalloc(r->drift.n + 1, sizeof *pn);
	for (size_t i = 0; i < r->drift.n; i++) {
		const char *sc = doc_str(&r->drift, (long)i, "scope"), *task = doc_str(&r->drift, (long)i, "task");
		if (!sc || strcmp(sc, "task") != 0 || !task)
			continue;
		double ratio = doc_num(&r->drift, (long)i, "ratios.perplexity");
		double d = doc_num(&r->diff, doc_find(&r->diff, "task", task), "delta.mean");
		if (isnan(ratio) || isnan(d))
			continue;
		px[nt] = (ratio - 1) * 100;
		py[nt] = d * 100;
		pn[nt++] = task;
	}
	if (nt > 0) {
		double x0 = 0, x1 = 0, y0 = 0, y1 = 0, xt[16], yt[16];
		for (size_t i = 0; i < nt; i++) {
			x0 = fmin(x0, px[i]);
			x1 = fmax(x1, px[i]);
			y0 = fmin(y0, py[i]);
			y1 = fmax(y1, py[i]);
		}
		size_t nxt = ticks_linear(&x0, &x1, 6, xt, 16), nyt = ticks_linear(&y0, &y1, 6, yt, 16);
		int W = 640, H = 340;
		qa_scale sx, sy;
		scale_linear(&sx, x0, x1, 90, W - 40);
		scale_linear(&sy, y0, y1, H - 60, 20);
		fig_open(p, "pplacc", W, H, "Perplexity change against accuracy change, per task",
		    "One point per task: the change in prompt perplexity (percent) against the change in accuracy "
		    "(points). Perplexity can stay flat while accuracy falls; the accuracy table above has the numbers.");
		axis_x(p, &sx, xt, nxt, H - 60, 20, "perplexity change, % (candidate / baseline - 1)", 0);
		axis_y(p, &sy, yt, nyt, 90, W - 40, "accuracy change, points", 0);
		buf_printf(p, "<line x1=\"90\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#444\"/>", scale_map(&sy, 0), W - 40,
		    scale_map(&sy, 0));
		for (size_t i = 0; i < nt; i++) {
			double x = scale_map(&sx, px[i]), y = scale_map(&sy, py[i]);
			marker(p, 1, x, y, 5);
			svg_text(p, x + 8, y - 6, "start", "pt", pn[i]);
		}
		fig_close(p, NULL);
	}
	free(px);
	free(py);
	free(pn);

	long dv = doc_find(&r->drift, "overall", NULL);
	int kld = doc_tok(&r->drift, dv, "drift.kld");
	if (kld < 0) {
		absent(p, "Token drift (KL divergence, same top token): not in this run (drift.json is missing or has no "
		    "drift block).");
		return;
	}
	const char *est = doc_str(&r->drift, dv, "drift.kl_estimate");
	int exact = est && strstr(est, "exact") != NULL;
	buf_adds(p, "<h3>Token drift: KL divergence from the baseline</h3>\n<p><strong>");
	buf_adds(p, exact ? "Exact" : "Top-k estimate");
	buf_adds(p, "</strong> (");
	html_escs(p, est ? est : "method not stated");
	buf_adds(p, ")");
	if (!exact)
		buf_adds(p, ": only the top-k log probabilities are known through the API, so this KLD is truncated "
		    "and reads low");
	double cov = doc_num(&r->drift, dv, "drift.kld.top_k_coverage");
	if (!isnan(cov))
		buf_printf(p, "; the top-k covered %.1f%% of the probability", cov * 100);
	buf_adds(p, ".</p>\n");

	static const char *const pk[] = { "min", "p1", "p5", "p10", "median", "p90", "p95", "p99", "p99_9", "max" };
	static const char *const pl[] = { "min", "1%", "5%", "10%", "median", "90%", "95%", "99%", "99.9%", "max" };
	double v[10];
	char path[64];
	for (size_t i = 0; i < 10; i++) {
		snprintf(path, sizeof path, "drift.kld.%s", pk[i]);
		v[i] = doc_num(&r->drift, dv, path);
	}
	double mean = doc_num(&r->drift, dv, "drift.kld.mean");
	double lo = INFINITY, hi = 0;
	for (size_t i = 0; i < 10; i++)
		if (v[i] > 0) {
			lo = fmin(lo, v[i]);
			hi = fmax(hi, v[i]);
		}
	if (hi > lo) {
		double xt[32];
		size_t nxt = ticks_log(&lo, &hi, xt, 32);
		int W = 760, H = 150;
		qa_scale sx;
		scale_log(&sx, lo, hi, 40, W - 30);
		char desc[512];
		snprintf(desc, sizeof desc, "Distribution of per-token KL divergence on a log axis: whiskers from the 1st "
		    "to the 99th percentile, a box from the 10th to the 90th, the median as a line, the mean as a diamond "
		    "(%.3g nats), dots at the minimum, 0.1%%, 99.9%% and maximum. The table gives every percentile.", mean);
		fig_open(p, "kld", W, H, "KL divergence per token, percentiles", desc);
		axis_x(p, &sx, xt, nxt, H - 50, 10, "KL divergence per token (nats, log scale)", 0);
		double y = 50;
		double x1 = scale_clamp(&sx, v[1]), x99 = scale_clamp(&sx, v[7]);
		double x10 = scale_clamp(&sx, v[3]), x90 = scale_clamp(&sx, v[5]), xm = scale_clamp(&sx, v[4]);
		buf_printf(p, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#0072B2\" stroke-width=\"2\"/>",
		    x1, y, x99, y);
		buf_printf(p, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"24\" fill=\"#cfe3f1\" stroke=\"#0072B2\" "
		    "stroke-width=\"2\"/>", x10, y - 12, x90 - x10);
		buf_printf(p, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1b1b1b\" stroke-width=\"3\"/>",
		    xm, y - 12, xm, y + 12);
		size_t dots[] = { 0, 8, 9 };
		for (size_t i = 0; i < 3; i++)
			if (v[dots[i]] > 0)
				buf_printf(p, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#555\"/>",
				    scale_clamp(&sx, v[dots[i]]), y);
		if (mean > 0)
			buf_printf(p, "<path d=\"M%.1f %.1fl6 6l-6 6l-6 -6Z\" fill=\"#D55E00\"/>", scale_clamp(&sx, mean), y - 26);
		fig_close(p, NULL);
	}
	buf_adds(p, "<table><thead><tr><th scope=\"col\">mean</th>");
	for (size_t i = 0; i < 10; i++)
		buf_printf(p, "<th class=\"n\" scope=\"col\">%s</th>", pl[i]);
	buf_printf(p, "</tr></thead><tbody><tr><td class=\"n\">%.4g</td>", mean);
	for (size_t i = 0; i < 10; i++)
		buf_printf(p, "<td class=\"n\">%.3g</td>", v[i]);
	buf_adds(p, "</tr></tbody></table>\n");
	double same = doc_num(&r->drift, dv, "drift.same_top.pct"), sse = doc_num(&r->drift, dv, "drift.same_top.pct_se");
	double rms = doc_num(&r->drift, dv, "drift.delta_p.rms");
	if (!isnan(same))
		buf_printf(p, "<p>Same top token: <strong>%.2f%%</strong> &plusmn; %.2f of positions; RMS &Delta;p %.4g.</p>\n",
		    same, sse, rms);
}

/* ---- 6. latency, errors, retries ---- */

static void latency(struct report *r, qa_buf *p)
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

static void ramp(struct report *r, qa_buf *p)
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

void page_write(struct report *r, qa_buf *p)
{
	qa_buf title = { 0 };
	if (r->title)
		buf_adds(&title, r->title);
	else
		buf_printf(&title, "qa: %s against %s", r->s[CAND].name, r->s[BASE].name);

	/*
	 * The policy makes "no request of any kind" the browser's job too: nothing
	 * may load, and only the script carrying this page's nonce may run, so even
	 * markup that slipped past the escaping could not act.
	 */
	buf_printf(p, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
	    "script-src 'nonce-%s'; img-src data:\">\n<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<title>", r->nonce);
	html_escs(p, buf_cstr(&title));
	buf_printf(p, "</title>\n<style>%s</style>\n</head>\n<body><main>\n<h1>", css);
	html_escs(p, buf_cstr(&title));
	buf_adds(p, "</h1>\n");
	decision(r, p);
	headline(r, p);
	buf_adds(p, "<nav aria-label=\"sections\" class=\"small\"><a href=\"#settings\">settings</a> &middot; "
	    "<a href=\"#accuracy\">accuracy</a> &middot; <a href=\"#cost\">cost</a> &middot; <a href=\"#flips\">flips</a> "
	    "&middot; <a href=\"#drift\">perplexity and drift</a> &middot; <a href=\"#latency\">latency</a> &middot; "
	    "<a href=\"#ramp\">ramp</a></nav>\n");
	settings(r, p);
	accuracy(r, p);
	cost(r, p);
	flips(r, p);
	perplexity(r, p);
	latency(r, p);
	ramp(r, p);
	buf_printf(p, "</main>\n<script nonce=\"%s\">%s</script>\n</body></html>\n", r->nonce, script);
	buf_free(&title);
}
