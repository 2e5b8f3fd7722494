/* qa-cost: text for people: money, counts, prices, and the summary tables. */

#include "qa-cost.h"

/* ---- text for people: money, counts, prices ---- */

/* Digits of an unsigned decimal text with thousands separators. */
void with_commas(char *dst, size_t n, const char *digits)
{
	const char *dot = strchr(digits, '.');
	size_t ilen = dot ? (size_t)(dot - digits) : strlen(digits), o = 0;
	for (size_t i = 0; i < ilen && o + 2 < n; i++) {
		if (i && (ilen - i) % 3 == 0)
			dst[o++] = ',';
		dst[o++] = digits[i];
	}
	snprintf(dst + o, n - o, "%s", dot ? dot : "");
}

/* |v| with `sig` significant digits, at least 2 decimals and at most `sig` when below 1. */
void fixed_sig(char *dst, size_t n, double av, int sig)
{
	int mag = av > 0 ? (int)floor(log10(av)) : 0;
	int dec = sig - 1 - mag;
	if (dec < 2)
		dec = 2;
	if (dec > 12)
		dec = 12;
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%.*f", dec, av);
	char *dot = strchr(tmp, '.');
	if (dot) {
		char *end = tmp + strlen(tmp);
		while (end > dot + 3 && end[-1] == '0')
			*--end = '\0';
	}
	with_commas(dst, n, tmp);
}

void money_text(char *dst, size_t n, double v, const char *cur, int sig)
{
	if (!isfinite(v)) {
		snprintf(dst, n, "-");
		return;
	}
	char body[64];
	double av = fabs(v);
	if (sig == 0 || av >= 0.995) {
		char tmp[64];
		snprintf(tmp, sizeof tmp, "%.2f", av);
		with_commas(body, sizeof body, tmp);
	} else {
		fixed_sig(body, sizeof body, av, sig);
	}
	if (strcmp(body, "0.00") == 0)
		v = 0;
	int usd = !cur || strcmp(cur, "USD") == 0;
	snprintf(dst, n, "%s%s%.40s%s%.8s", v < 0 ? "-" : "", usd ? "$" : "", body, usd ? "" : " ", usd ? "" : cur);
}

/* Money as people read it: cents from $1 up, four significant digits below. */
void fmt_money(char *dst, size_t n, double v, const char *cur)
{
	money_text(dst, n, v, cur, 4);
}

/* 500000000 is "500M": k, M, B for thousands, millions, billions. */
void fmt_short(char *dst, size_t n, double v)
{
	static const struct {
		double unit;
		const char *sfx;
	} u[] = { { 1e12, "T" }, { 1e9, "B" }, { 1e6, "M" }, { 1e3, "k" } };
	for (size_t i = 0; i < 4; i++)
		if (v >= u[i].unit) {
			snprintf(dst, n, "%.10g%s", v / u[i].unit, u[i].sfx);
			return;
		}
	snprintf(dst, n, "%.10g", v);
}

void fmt_int(char *dst, size_t n, double v)
{
	if (!isfinite(v)) {
		snprintf(dst, n, "-");
		return;
	}
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%.0f", fabs(v));
	char body[80];
	with_commas(body, sizeof body, tmp);
	snprintf(dst, n, "%s%.40s", v < 0 ? "-" : "", body);
}

/*
 * The arithmetic is printed to be checked by hand, so each figure in it
 * has just the decimals that make the printed figures give the printed
 * result: v to `dec` decimals, trailing zeros past the cents dropped.
 */
double shown(double v, int dec)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%.*f", dec, v);
	return strtod(tmp, NULL);
}

int same_at(double a, double b, int dec)
{
	char x[64], y[64];
	snprintf(x, sizeof x, "%.*f", dec, a);
	snprintf(y, sizeof y, "%.*f", dec, b);
	return strcmp(x, y) == 0;
}

void money_dec(char *dst, size_t n, double v, int dec, const char *cur)
{
	char tmp[64], body[80];
	snprintf(tmp, sizeof tmp, "%.*f", dec, fabs(v));
	char *dot = strchr(tmp, '.');
	if (dot) {
		char *end = tmp + strlen(tmp);
		while (end > dot + 3 && end[-1] == '0')
			*--end = '\0';
	}
	if (strspn(tmp, "0.") == strlen(tmp))
		v = 0;
	with_commas(body, sizeof body, tmp);
	int usd = !cur || strcmp(cur, "USD") == 0;
	snprintf(dst, n, "%s%s%.40s%s%.8s", v < 0 ? "-" : "", usd ? "$" : "", body, usd ? "" : " ", usd ? "" : cur);
}

/* "N units x price = monthly": the price with the decimals that reproduce the monthly cents. */
void unit_price_text(char *dst, size_t n, double units, double unit, double monthly, const char *cur)
{
	int mag = unit > 0 ? (int)floor(log10(unit)) : 0;
	int dec = 2 - mag > 2 ? 2 - mag : 2;	/* three significant digits, at least cents */
	while (dec < 15 && !same_at(units * shown(unit, dec), monthly, 2))
		dec++;
	money_dec(dst, n, unit, dec, cur);
}

/* ---- summary output ---- */

void json_str_or_null(qa_buf *b, const char *s)
{
	if (s)
		buf_json_string(b, s, strlen(s));
	else
		buf_adds(b, "null");
}

const char *pct_method(const struct pct *p)
{
	return p->sketch ? "sketch" : "linear";
}

struct derived derive(struct group *g)
{
	struct derived d;
	d.lat = g == &overall ? overall_percentiles() : lat_percentiles(&g->lat);
	double costed = (double)(g->tasks - g->unpriced);
	int cost_ok = !g->mixed_currency;
	d.per_1k = costed > 0 && cost_ok ? 1000 * g->cost / costed : NAN;
	d.per_correct = g->correct > 0 && cost_ok ? g->cost / (double)g->correct : NAN;
	d.accuracy = g->scored > 0 && g->tasks > 0 ? (double)g->correct / (double)g->tasks : NAN;
	/* correct is 0/1 per task, so the sum of its squares is the count */
	d.per_correct_lo = d.per_correct_hi = NAN;
	d.per_1k_lo = d.per_1k_hi = NAN;
	if (!isnan(d.per_1k) && costed > 1) {
		double var = (g->cost_sq - g->cost * g->cost / costed) / (costed - 1);
		double se = 1000 * sqrt((var > 0 ? var : 0) / costed);
		d.per_1k_lo = d.per_1k - QA_Z95 * se;
		d.per_1k_hi = d.per_1k + QA_Z95 * se;
	}
	if (!isnan(d.per_correct) && costed > 0)
		ratio_ci((double)g->tasks, g->cost, g->cost_sq, (double)g->correct, (double)g->correct,
		    g->cost_correct, QA_Z95, &d.per_correct_lo, &d.per_correct_hi);
	return d;
}

/* {low, high, method}, or null when the interval is undefined. */
static void ci_object(qa_buf *b, double lo, double hi, const char *method)
{
	if (isnan(lo) || isnan(hi)) {
		buf_adds(b, "null");
		return;
	}
	buf_adds(b, "{\"low\":");
	buf_json_number(b, lo);
	buf_adds(b, ",\"high\":");
	buf_json_number(b, hi);
	buf_printf(b, ",\"method\":\"%s\"}", method);
}

void json_group(qa_buf *b, const char *scope, struct group *g, const struct derived *d)
{
	buf_printf(b, "{\"scope\":\"%s\"", scope);
	buf_kv_str(b, "endpoint", g->endpoint);
	buf_kv_str(b, "model", g->model);
	buf_kv_long(b, "tasks", g->tasks);
	buf_kv_long(b, "errors", g->errors);
	buf_kv_long(b, "retries", g->retries);
	buf_kv_num(b, "tokens_in", g->tok_in);
	buf_kv_num(b, "tokens_out", g->tok_out);
	buf_kv_num(b, "tokens_cached", g->tok_cached);
	buf_kv_num(b, "tokens_reasoning", g->tok_reasoning);
	buf_kv_num(b, "cost", g->mixed_currency ? NAN : g->cost);
	buf_kv_num(b, "cost_incurred", g->mixed_currency ? NAN : g->incurred);
	buf_kv_str(b, "currency", g->mixed_currency ? "mixed" : g->currency);
	buf_kv_num(b, "cost_per_1k_tasks", d->per_1k);
	buf_adds(b, ",\"cost_per_1k_tasks_ci\":");
	ci_object(b, d->per_1k_lo, d->per_1k_hi, "normal");
	buf_kv_long(b, "correct", g->correct);
	buf_kv_long(b, "scored", g->scored);
	buf_kv_num(b, "accuracy", d->accuracy);
	buf_kv_num(b, "cost_per_correct", d->per_correct);
	buf_adds(b, ",\"cost_per_correct_ci\":");
	ci_object(b, d->per_correct_lo, d->per_correct_hi, "delta");
	buf_kv_str(b, "correct_metric", O.correct);
	buf_printf(b, ",\"latency_ms\":{\"n\":%.0f", d->lat.n);
	buf_kv_num(b, "p50", d->lat.p50);
	buf_kv_num(b, "p95", d->lat.p95);
	buf_kv_num(b, "p99", d->lat.p99);
	buf_kv_str(b, "percentiles", pct_method(&d->lat));
	buf_addc(b, '}');
	buf_kv_long(b, "usage_mismatches", g->mismatches);
	buf_kv_long(b, "estimated", g->estimated);
	buf_kv_long(b, "unpriced", g->unpriced);
	buf_adds(b, "}\n");
}

void json_proj(qa_buf *b, const struct proj *p, const struct proj *base)
{
	buf_adds(b, "{\"scope\":\"projection\"");
	buf_kv_str(b, "endpoint", p->endpoint);
	if (!p->endpoint)
		buf_kv_str(b, "model", p->model);
	if (!isnan(O.monthly_tokens)) {
		buf_kv_str(b, "basis", "tokens");
		buf_kv_num(b, "monthly_tokens", O.monthly_tokens);
		buf_kv_num(b, "price_per_mtok", p->unit);
	} else {
		buf_kv_str(b, "basis", "tasks");
		buf_kv_num(b, "monthly_tasks", O.monthly_tasks);
		buf_kv_num(b, "cost_per_task", p->unit);
	}
	buf_kv_num(b, "monthly_cost", p->monthly);
	buf_kv_num(b, "yearly_cost", p->yearly);
	buf_kv_str(b, "currency", p->mixed_currency ? "mixed" : p->currency);
	buf_kv_str(b, "arithmetic", p->arith);
	if (base) {
		buf_kv_str(b, "baseline", proj_name(base));
		buf_kv_num(b, "savings_per_month", p->save_month);
		buf_kv_num(b, "savings_per_year", p->save_year);
		buf_kv_num(b, "savings_pct", p->save_pct);
		buf_kv_str(b, "savings_arithmetic", p->save_arith);
		if (!isnan(O.migration_cost)) {
			buf_kv_num(b, "migration_cost", O.migration_cost);
			buf_kv_num(b, "payback_months", p->payback);
			buf_kv_str(b, "payback_arithmetic", p->payback_arith);
		}
	}
	buf_adds(b, "}\n");
}

/* One summary row's cells: for people (table, md), or plain numbers (csv). */
void group_cells(char cells[][64], const char *scope, struct group *g, const struct derived *d, int csv)
{
	const char *cur = g->mixed_currency ? "mixed" : g->currency;
	double cost = g->mixed_currency ? NAN : g->cost;
	size_t i = 0;
	if (csv)
		snprintf(cells[i++], 64, "%s", scope);
	snprintf(cells[i++], 64, "%s", g->endpoint ? g->endpoint : csv ? "" : strcmp(scope, "overall") ? "-" : "(overall)");
	snprintf(cells[i++], 64, "%s", g->model ? g->model : csv ? "" : "-");
	if (csv) {
		snprintf(cells[i++], 64, "%ld", g->tasks);
		snprintf(cells[i++], 64, "%ld", g->errors);
		snprintf(cells[i++], 64, "%ld", g->retries);
		snprintf(cells[i++], 64, "%.0f", g->tok_in);
		snprintf(cells[i++], 64, "%.0f", g->tok_out);
		cell_num(cells[i++], 64, "%.6f", cost);
		cell_num(cells[i++], 64, "%.6f", g->mixed_currency ? NAN : g->incurred);
		snprintf(cells[i++], 64, "%s", cur ? cur : "");
		cell_num(cells[i++], 64, "%.6f", d->per_1k);
		cell_num(cells[i++], 64, "%.6f", d->per_correct);
		cell_num(cells[i++], 64, "%.4f", d->accuracy);
		cell_num(cells[i++], 64, "%.1f", d->lat.p50);
		cell_num(cells[i++], 64, "%.1f", d->lat.p95);
		cell_num(cells[i++], 64, "%.1f", d->lat.p99);
		snprintf(cells[i++], 64, "%ld", g->mismatches);
		for (size_t k = 0; k < i; k++)
			if (strcmp(cells[k], "-") == 0)
				cells[k][0] = '\0';
		return;
	}
	fmt_int(cells[i++], 64, (double)g->tasks);
	fmt_int(cells[i++], 64, (double)g->errors);
	fmt_int(cells[i++], 64, (double)g->retries);
	fmt_int(cells[i++], 64, g->tok_in);
	fmt_int(cells[i++], 64, g->tok_out);
	fmt_money(cells[i++], 64, cost, cur);
	fmt_money(cells[i++], 64, g->mixed_currency ? NAN : g->incurred, cur);
	fmt_money(cells[i++], 64, d->per_1k, cur);
	fmt_money(cells[i++], 64, d->per_correct, cur);
	cell_num(cells[i++], 64, "%.1f%%", 100 * d->accuracy);
	cell_num(cells[i++], 64, "%.0f", d->lat.p50);
	cell_num(cells[i++], 64, "%.0f", d->lat.p95);
	cell_num(cells[i++], 64, "%.0f", d->lat.p99);
	fmt_int(cells[i++], 64, (double)g->mismatches);
}

const char *const sum_head[] = { "ENDPOINT", "MODEL", "TASKS", "ERRORS", "RETRIES", "TOKENS_IN",
	"TOKENS_OUT", "COST", "INCURRED", "PER_1K_TASKS", "PER_CORRECT", "ACCURACY", "P50_MS", "P95_MS", "P99_MS",
	"MISMATCHES" };

const char *const csv_head[] = { "scope", "endpoint", "model", "tasks", "errors", "retries",
	"tokens_in", "tokens_out", "cost", "cost_incurred", "currency", "cost_per_1k_tasks", "cost_per_correct", "accuracy",
	"latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "usage_mismatches", "monthly_cost",
	"yearly_cost", "savings_per_month", "savings_per_year", "savings_pct", "payback_months",
	"arithmetic" };

/*
 * The value of rank i over every group's sorted latencies, without a merged
 * copy: the least x with at least i + 1 values at or below it.
 */
size_t count_le(const struct lat *l, uint32_t x)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->v[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t rank_in_groups(size_t i, const void *arg)
{
	(void)arg;
	uint64_t lo = 0, hi = UINT32_MAX;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		size_t c = 0;
		for (size_t g = 0; g < ngroups; g++)
			c += count_le(&groups[g].lat, (uint32_t)mid);
		if (c >= i + 1)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (uint32_t)lo;
}

/* The overall percentiles, after every group's (which sorts them). */
struct pct overall_percentiles(void)
{
	size_t total = 0;
	int sketch = 0;
	for (size_t i = 0; i < ngroups; i++) {
		total += lat_count(&groups[i].lat);
		sketch |= groups[i].lat.sk != NULL;
	}
	if (!sketch && total <= (size_t)O.exact_max)
		return exact_pct(rank_in_groups, NULL, total);
	struct lat *o = &overall.lat;
	o->sk = xcalloc(SK_BUCKETS, sizeof *o->sk);
	for (size_t i = 0; i < ngroups; i++) {
		struct lat *l = &groups[i].lat;
		for (size_t k = 0; k < l->n; k++)
			sk_add(o, l->v[k] / 1000.0);
		if (l->sk)
			for (size_t k = 0; k < SK_BUCKETS; k++)
				o->sk[k] += l->sk[k];
		o->skn += l->skn;
	}
	return lat_percentiles(o);
}

/* --format csv: the groups, the overall line and the projections, one table. */
static void summary_csv(qa_buf *out, struct derived *ds, const struct proj *base)
{
	qa_table t = { .ncols = NCSV };
	char cells[NCSV][64];
	const char *row[NCSV];
	table_add(&t, csv_head);
	for (size_t i = 0; i <= ngroups; i++) {
		memset(cells, 0, sizeof cells);
		group_cells(cells, i < ngroups ? "group" : "overall", i < ngroups ? &groups[i] : &overall, &ds[i], 1);
		for (size_t c = 0; c < NCSV; c++)
			row[c] = cells[c];
		table_add(&t, row);
	}
	for (size_t k = 0; k < nprojs; k++) {
		const struct proj *p = &projs[k];
		qa_buf arith = { 0 };
		memset(cells, 0, sizeof cells);
		for (size_t c = 0; c < NCSV; c++)
			row[c] = cells[c];
		snprintf(cells[0], 64, "projection");
		snprintf(cells[1], 64, "%s", p->endpoint ? p->endpoint : "");
		snprintf(cells[2], 64, "%s", p->endpoint ? "" : p->model ? p->model : "");
		snprintf(cells[10], 64, "%s", p->currency ? p->currency : "");
		cell_num(cells[18], 64, "%.2f", p->monthly);
		cell_num(cells[19], 64, "%.2f", p->yearly);
		if (base) {
			cell_num(cells[20], 64, "%.2f", p->save_month);
			cell_num(cells[21], 64, "%.2f", p->save_year);
			cell_num(cells[22], 64, "%.2f", p->save_pct);
			cell_num(cells[23], 64, "%.2f", p->payback);
		}
		for (size_t c = 18; c < 24; c++)
			if (strcmp(cells[c], "-") == 0)
				cells[c][0] = '\0';
		buf_adds(&arith, p->arith);
		if (p->save_arith)
			buf_printf(&arith, "; %s", p->save_arith);
		if (p->payback_arith)
			buf_printf(&arith, "; %s", p->payback_arith);
		row[24] = buf_cstr(&arith);
		table_add(&t, row);
		buf_free(&arith);
	}
	table_print(out, &t, QA_TABLE_CSV);
}

/* The projections for people: a table of monthly and yearly cost and savings, then their arithmetic. */
static void projections_text(qa_buf *out, const struct proj *base, int md)
{
	static const char *const ph[] = { "ENDPOINT", "MONTHLY", "YEARLY", "SAVINGS/MONTH", "SAVINGS/YEAR",
		"SAVINGS", "PAYBACK" };
	size_t pcols = base ? (isnan(O.migration_cost) ? 6 : 7) : 3;
	qa_table pt = { .ncols = pcols };
	for (size_t c = 1; c < pcols; c++)
		pt.right[c] = 1;
	table_add(&pt, ph);
	for (size_t k = 0; k < nprojs; k++) {
		const struct proj *p = &projs[k];
		char pc[7][64];
		const char *prow[7];
		snprintf(pc[0], 64, "%s%s", proj_name(p), p == base ? " (baseline)" : "");
		fmt_money(pc[1], 64, p->monthly, p->currency);
		fmt_money(pc[2], 64, p->yearly, p->currency);
		fmt_money(pc[3], 64, p == base ? NAN : p->save_month, p->currency);
		fmt_money(pc[4], 64, p == base ? NAN : p->save_year, p->currency);
		cell_num(pc[5], 64, "%.1f%%", p == base ? NAN : p->save_pct);
		cell_num(pc[6], 64, "%.1f months", p->payback);
		for (size_t c = 0; c < 7; c++)
			prow[c] = pc[c];
		table_add(&pt, prow);
	}
	buf_addc(out, '\n');
	table_print(out, &pt, md ? QA_TABLE_MD : QA_TABLE_TEXT);
	buf_addc(out, '\n');
	for (size_t k = 0; k < nprojs; k++) {
		const struct proj *p = &projs[k];
		buf_printf(out, "%s%s: %s\n", md ? "- " : "", proj_name(p), p->arith);
		if (p->save_arith && p != base)
			buf_printf(out, "%s%s: savings %s\n", md ? "- " : "", proj_name(p), p->save_arith);
		if (p->payback_arith)
			buf_printf(out, "%s%s: payback %s\n", md ? "- " : "", proj_name(p), p->payback_arith);
	}
}

/* --format table or md: the groups and the overall line, how latency and correct were read, projections. */
static void summary_text(qa_buf *out, struct derived *ds, const struct proj *base, int sketch)
{
	int md = strcmp(O.format, "md") == 0;
	qa_table t = { .ncols = NSUM };
	char cells[NSUM][64];
	const char *row[NSUM];
	for (size_t c = 2; c < NSUM; c++)
		t.right[c] = 1;
	table_add(&t, sum_head);
	for (size_t i = 0; i <= ngroups; i++) {
		group_cells(cells, i < ngroups ? "group" : "overall", i < ngroups ? &groups[i] : &overall, &ds[i], 0);
		for (size_t c = 0; c < NSUM; c++)
			row[c] = cells[c];
		table_add(&t, row);
	}
	table_print(out, &t, md ? QA_TABLE_MD : QA_TABLE_TEXT);
	buf_printf(out, "%slatency percentiles: %s\n", md ? "\n" : "",
	    sketch ? "nearest rank from a log sketch (within 0.5%)" :
	    "linear interpolation between closest ranks (numpy's default)");
	buf_printf(out, "%scorrect: %s%s is 1\n", md ? "\n" : "", O.correct ? O.correct : "the first score",
	    O.correct ? "" : " of each record");
	if (nprojs)
		projections_text(out, base, md);
}

void summary_print(void)
{
	qa_buf out = { 0 };
	struct proj *base = NULL;
	int project = !isnan(O.monthly_tasks) || !isnan(O.monthly_tokens);
	if (project) {
		build_projections();
		if (O.baseline) {
			base = find_baseline();
			savings(base);
		}
	}
	struct derived *ds = xreallocarray(NULL, ngroups + 1, sizeof *ds);
	for (size_t i = 0; i < ngroups; i++)
		ds[i] = derive(&groups[i]);
	ds[ngroups] = derive(&overall);

	if (strcmp(O.format, "json") == 0) {
		for (size_t i = 0; i < ngroups; i++)
			json_group(&out, "group", &groups[i], &ds[i]);
		json_group(&out, "overall", &overall, &ds[ngroups]);
		for (size_t k = 0; k < nprojs; k++)
			json_proj(&out, &projs[k], base);
	} else if (strcmp(O.format, "csv") == 0) {
		summary_csv(&out, ds, base);
	} else {
		summary_text(&out, ds, base, ds[ngroups].lat.sketch);
	}
	stream_lat_print(&out, O.format);
	stream_lat_free();
	out_write(stdout, &out);
	buf_free(&out);
	free(ds);
}
