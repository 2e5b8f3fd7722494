/* The sections about answers: accuracy per task, the flips, perplexity and drift. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

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

/* The forest plot's layout: its width, row height and top margin; the scores' and changes' axes. */
struct forest {
	int W, rowh, top;
	qa_scale sa, sd;
};

/* One row of the forest plot: its label, both sides' scores, the paired change (past the gate: orange). */
static void forest_row(struct report *r, qa_buf *p, const struct forest *fo, const struct frow *rows, size_t nr,
    size_t i, long ov)
{
	const struct frow *f = &rows[i];
	int W = fo->W, rowh = fo->rowh, top = fo->top;
	const qa_scale *sa = &fo->sa, *sd = &fo->sd;
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
		if (ci_bar(sa, f->lo[k], f->m[k], f->hi[k], &b) == 0)
			cibar_h(p, &b, yy, side_colour[k], 2);
		if (!isnan(f->m[k]))
			marker(p, (size_t)k, scale_clamp(sa, f->m[k]), yy, 5);
	}
	struct qa_cibar b;
	if (ci_bar(sd, f->dlo * 100, f->d * 100, f->dhi * 100, &b) == 0) {
		int bad = !isnan(r->max_drop) && f->dlo < -r->max_drop;
		cibar_h(p, &b, y, bad ? "#B34700" : "#222", bad ? 3 : 2);
		buf_printf(p, "<path d=\"M%.1f %.1fl6 6l-6 6l-6 -6Z\" fill=\"%s\"/>", b.xm, y - 6,
		    bad ? "#B34700" : "#222");
	}
}

/* Each task's score on both sides and the paired change, against the gate. */
static void forest_plot(struct report *r, qa_buf *p, const struct frow *rows, size_t nr, long ov)
{
	struct forest fo = { .W = 960, .rowh = 40, .top = 34 };
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

	int W = fo.W, rowh = fo.rowh, top = fo.top, H = top + (int)nr * rowh + 44;
	double l0 = 150, l1 = 560, g0 = 640, g1 = 940;
	scale_linear(&fo.sa, lo, hi, l0, l1);
	scale_linear(&fo.sd, dlo, dhi, g0, g1);

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
	axis_x(p, &fo.sa, at, nat, ybot, top - 6, NULL, 1);
	axis_x(p, &fo.sd, dt, ndt, ybot, top - 6, NULL, 0);
	double x0 = scale_map(&fo.sd, 0);
	buf_printf(p, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>", x0, top - 6, x0, ybot);
	if (!isnan(r->max_drop)) {
		double xg = scale_map(&fo.sd, -r->max_drop * 100);
		char t[64];
		buf_printf(p, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#D55E00\" stroke-width=\"2\" "
		    "stroke-dasharray=\"6 4\"/>", xg, top - 6, xg, ybot);
		snprintf(t, sizeof t, "gate %.4g pts", -r->max_drop * 100);
		svg_text(p, xg - 4, ybot + 30, "end", "label", t);
	}
	for (size_t i = 0; i < nr; i++)
		forest_row(r, p, &fo, rows, nr, i, ov);
	fig_close(p, "Circles: baseline; squares: candidate. Diamonds: the paired change; a thicker, dark orange bar "
	    "reaches past the gate (dashed line). Arrowheads mark intervals cut at the edge of the axis.");

}

/* The table under the plot: every number of every row. */
static void accuracy_table(qa_buf *p, const struct frow *rows, size_t nr)
{
	buf_adds(p, "<table><thead><tr><th scope=\"col\">task</th><th scope=\"col\">metric</th><th class=\"n\" "
	    "scope=\"col\">n</th><th class=\"n\" scope=\"col\">baseline [95% CI]</th><th class=\"n\" scope=\"col\">"
	    "candidate [95% CI]</th><th class=\"n\" scope=\"col\">change, points [CI]</th><th class=\"n\" scope=\"col\">"
	    "right&rarr;wrong</th><th class=\"n\" scope=\"col\">wrong&rarr;right</th><th class=\"n\" scope=\"col\">"
	    "recovery</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < nr; i++) {
		const struct frow *f = &rows[i];
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
}

/* McNemar's p and the noise floor, when diff.json has them. */
static void accuracy_notes(struct report *r, qa_buf *p, long ov)
{
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
}

void section_accuracy(struct report *r, qa_buf *p)
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
	forest_plot(r, p, rows, nr, ov);
	accuracy_table(p, rows, nr);
	accuracy_notes(r, p, ov);
	free(rows);
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

void section_flips(struct report *r, qa_buf *p)
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

/* Corpus perplexity on both sides beside the task accuracy, when ppl.summary.json is there. */
static void ppl_table(struct report *r, qa_buf *p)
{
	long ov = doc_find(&r->diff, "overall", NULL);
	long pb = -1, pc = -1;
	for (size_t i = 0; i < r->ppl.n; i++) {
		const char *s = doc_str(&r->ppl, (long)i, "side");
		if (s && strcmp(s, "baseline") == 0)
			pb = (long)i;
		if (s && strcmp(s, "candidate") == 0)
			pc = (long)i;
	}
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

}

/* Per task: does perplexity's change say anything about accuracy's? A scatter, when drift.json has tasks. */
static void ppl_scatter(struct report *r, qa_buf *p)
{
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

}

/* The KL divergence's percentiles as a box plot on a log axis (v: min, p1, ... p99.9, max). */
static void kld_box(qa_buf *p, const double *v, double mean, double lo, double hi)
{
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

/* Token drift: how the KL divergence was estimated, its percentiles (plot and table), the same top token. */
static void kld_section(struct report *r, qa_buf *p)
{
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
	if (hi > lo)
		kld_box(p, v, mean, lo, hi);
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

void section_drift(struct report *r, qa_buf *p)
{
	buf_adds(p, "<h2 id=\"drift\">Perplexity against accuracy, and token drift</h2>\n");
	ppl_table(r, p);
	ppl_scatter(r, p);
	kld_section(r, p);
}
