/*
 * The page: its frame (styles, the filter script), the decision, the
 * headline numbers and the settings, then the sections in the issue's
 * order (quality.c, operations.c).  It rearranges numbers the tools
 * computed (qa-diff, qa-cost, qa-score); what it computes itself (the 2x2
 * table, latency distributions, error counts, Wilson intervals of
 * qa-cost's accuracy) comes from the scored records and says so.
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

void fmt_pts(char *out, size_t len, double v)
{
	if (isnan(v))
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%+.1f", v * 100);
}

void fmt_ci(char *out, size_t len, double m, double lo, double hi, int pts)
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

void absent(qa_buf *p, const char *what)
{
	buf_adds(p, "<p class=\"absent\">");
	html_escs(p, what);
	buf_adds(p, "</p>\n");
}

void key(qa_buf *p, const struct report *r)
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

int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
	section_accuracy(r, p);
	section_cost(r, p);
	section_flips(r, p);
	section_drift(r, p);
	section_latency(r, p);
	section_ramp(r, p);
	buf_printf(p, "</main>\n<script nonce=\"%s\">%s</script>\n</body></html>\n", r->nonce, script);
	buf_free(&title);
}
