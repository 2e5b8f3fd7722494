/* qa-cost: the summary per endpoint and model, the projection and the savings. */

#include "qa-cost.h"

/* ---- the summary: per endpoint and model, and overall ---- */

double sk_gamma, sk_lngamma;

void sk_add(struct lat *l, double x)
{
	size_t i = 0;
	if (x > SK_MIN) {
		double idx = ceil(log(x / SK_MIN) / sk_lngamma);
		i = idx >= SK_BUCKETS - 1 ? SK_BUCKETS - 1 : (size_t)idx;
	}
	l->sk[i]++;
	l->skn++;
}

void lat_add(struct lat *l, double x)
{
	if (l->sk) {
		sk_add(l, x);
		return;
	}
	if (l->n == (size_t)O.exact_max) {
		l->sk = xcalloc(SK_BUCKETS, sizeof *l->sk);
		for (size_t i = 0; i < l->n; i++)
			sk_add(l, l->v[i] / 1000.0);
		xfree(&l->v);
		l->n = l->cap = 0;
		sk_add(l, x);
		return;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		if (l->cap > (size_t)O.exact_max)
			l->cap = (size_t)O.exact_max;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	double us = nearbyint(x * 1000);
	l->v[l->n++] = us >= 4294967295.0 ? UINT32_MAX : (uint32_t)us;
}

uint64_t lat_count(const struct lat *l)
{
	return l->sk ? l->skn : l->n;
}

/* Nearest-rank percentile from the sketch: the bucket's midpoint in relative terms. */
double sk_percentile(const struct lat *l, double q)
{
	if (!l->skn)
		return NAN;
	double rank = ceil(q / 100 * (double)l->skn);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (size_t i = 0; i < SK_BUCKETS; i++) {
		seen += l->sk[i];
		if ((double)seen >= rank)
			return i == 0 ? 0 : SK_MIN * 2 * pow(sk_gamma, (double)i) / (sk_gamma + 1);
	}
	return NAN;
}

int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/*
 * numpy's percentile (method "linear", as percentile_linear) of n sorted
 * values, each read by its rank through at(): values stay 4 bytes each.
 */
double linear_pct(uint32_t (*at)(size_t, const void *), const void *arg, size_t n, double q)
{
	if (n == 0)
		return NAN;
	double vi = (double)(n - 1) * (q / 100), lo = floor(vi);
	if (lo >= (double)(n - 1))
		return at(n - 1, arg);
	size_t i = (size_t)lo;
	double t = vi - lo, a = at(i, arg), b = at(i + 1, arg), diff = b - a;
	return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

uint32_t rank_in_array(size_t i, const void *arg)
{
	return ((const struct lat *)arg)->v[i];
}

/* In microseconds, then back to milliseconds to the microsecond. */
struct pct exact_pct(uint32_t (*at)(size_t, const void *), const void *arg, size_t n)
{
	struct pct p = { (double)n, NAN, NAN, NAN, 0 };
	p.p50 = nearbyint(linear_pct(at, arg, n, 50)) / 1000;
	p.p95 = nearbyint(linear_pct(at, arg, n, 95)) / 1000;
	p.p99 = nearbyint(linear_pct(at, arg, n, 99)) / 1000;
	return p;
}

/* A group's percentiles; its latencies are sorted in place. */
struct pct lat_percentiles(struct lat *l)
{
	if (l->sk) {
		struct pct p = { (double)l->skn, sk_percentile(l, 50), sk_percentile(l, 95), sk_percentile(l, 99), 1 };
		return p;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, cmp_u32);
	return exact_pct(rank_in_array, l, l->n);
}

struct group *groups;

size_t ngroups;

struct group overall;

int same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

struct group *group_get(const char *endpoint, const char *model)
{
	static size_t last;
	if (last < ngroups && same(groups[last].endpoint, endpoint) && same(groups[last].model, model))
		return &groups[last];
	for (size_t i = 0; i < ngroups; i++)
		if (same(groups[i].endpoint, endpoint) && same(groups[i].model, model))
			return &groups[last = i];
	groups = xreallocarray(groups, ngroups + 1, sizeof *groups);
	struct group *g = &groups[ngroups];
	memset(g, 0, sizeof *g);
	g->endpoint = endpoint ? xstrdup(endpoint) : NULL;
	g->model = model ? xstrdup(model) : NULL;
	last = ngroups++;
	return g;
}

void add_currency(struct group *g, const char *cur)
{
	if (!g->currency)
		g->currency = cur;
	else if (strcmp(g->currency, cur) != 0)
		g->mixed_currency = 1;
}

/* ---- projection and savings: per endpoint ---- */

struct proj *projs;

size_t nprojs;

char *text_new(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

const char *proj_name(const struct proj *p)
{
	return p->endpoint ? p->endpoint : p->model ? p->model : "(none)";
}

void build_projections(void)
{
	for (size_t i = 0; i < ngroups; i++) {
		struct group *g = &groups[i];
		struct proj *p = NULL;
		for (size_t k = 0; k < nprojs && !p; k++)
			if (g->endpoint ? same(projs[k].endpoint, g->endpoint) :
			    (!projs[k].endpoint && same(projs[k].model, g->model)))
				p = &projs[k];
		if (!p) {
			projs = xreallocarray(projs, nprojs + 1, sizeof *projs);
			p = &projs[nprojs++];
			memset(p, 0, sizeof *p);
			p->endpoint = g->endpoint;
			p->model = g->model;
		}
		p->tasks += g->tasks;
		p->unpriced += g->unpriced;
		p->cost += g->cost;
		p->tokens += g->priced_tokens;
		if (g->currency) {
			if (p->currency && strcmp(p->currency, g->currency) != 0)
				p->mixed_currency = 1;
			if (!p->currency)
				p->currency = g->currency;
		}
		p->mixed_currency |= g->mixed_currency;
	}
	for (size_t k = 0; k < nprojs; k++) {
		struct proj *p = &projs[k];
		char n_text[64], unit_text[64], month_text[64];
		double costed = (double)(p->tasks - p->unpriced);
		p->unit = p->monthly = p->yearly = NAN;
		p->save_month = p->save_year = p->save_pct = p->payback = NAN;
		if (p->mixed_currency) {
			p->arith = text_new("no projection: prices in more than one currency");
			continue;
		}
		if (!isnan(O.monthly_tokens)) {
			fmt_short(n_text, sizeof n_text, O.monthly_tokens);
			if (p->tokens > 0) {
				p->unit = p->cost / p->tokens * 1e6;
				p->monthly = O.monthly_tokens * p->cost / p->tokens;
				unit_price_text(unit_text, sizeof unit_text, O.monthly_tokens / 1e6, p->unit, p->monthly,
				    p->currency);
				money_dec(month_text, sizeof month_text, p->monthly, 2, p->currency);
				p->arith = text_new("%s tokens x %s/MTok = %s/month", n_text, unit_text,
				    month_text);
			} else {
				p->arith = text_new("no projection: no priced tokens");
			}
		} else {
			fmt_short(n_text, sizeof n_text, O.monthly_tasks);
			if (costed > 0) {
				p->unit = p->cost / costed;
				p->monthly = O.monthly_tasks * p->cost / costed;
				unit_price_text(unit_text, sizeof unit_text, O.monthly_tasks, p->unit, p->monthly,
				    p->currency);
				money_dec(month_text, sizeof month_text, p->monthly, 2, p->currency);
				p->arith = text_new("%s tasks x %s/task = %s/month", n_text, unit_text,
				    month_text);
			} else {
				p->arith = text_new("no projection: no priced tasks");
			}
		}
		p->yearly = p->monthly * 12;
	}
}

struct proj *find_baseline(void)
{
	for (size_t k = 0; k < nprojs; k++)
		if (strcmp(proj_name(&projs[k]), O.baseline) == 0)
			return &projs[k];
	qa_buf names = { 0 };
	for (size_t k = 0; k < nprojs; k++)
		buf_printf(&names, "%s%s", k ? ", " : "", proj_name(&projs[k]));
	qa_die(QA_EXIT_USAGE, "--baseline %s: no such endpoint in the input (%s%s)", O.baseline,
	    nprojs ? "endpoints: " : "no endpoints", nprojs ? buf_cstr(&names) : "");
}

void savings(struct proj *base)
{
	for (size_t k = 0; k < nprojs; k++) {
		struct proj *p = &projs[k];
		char b[64], c[64], s[64], y[64], m[64];
		if (isnan(p->monthly) || isnan(base->monthly))
			continue;
		if (p->currency && base->currency && strcmp(p->currency, base->currency) != 0) {
			p->save_arith = text_new("no savings: %s and %s are in different currencies",
			    proj_name(p), proj_name(base));
			continue;
		}
		p->save_month = base->monthly - p->monthly;
		p->save_year = p->save_month * 12;
		if (p == base) {
			p->save_pct = 0;
			continue;
		}
		p->save_pct = base->monthly > 0 ? 100 * p->save_month / base->monthly : NAN;
		if (!isnan(O.migration_cost) && p->save_month > 0)
			p->payback = O.migration_cost / p->save_month;
		/* Cents, or as many more decimals as it takes for the printed figures to add up. */
		int dec = 2;
		for (; dec < 10; dec++) {
			double bs = shown(base->monthly, dec), cs = shown(p->monthly, dec), ss = shown(p->save_month, dec);
			if (same_at(bs - cs, ss, dec) && same_at(ss * 12, p->save_year, 2) &&
			    (!(base->monthly > 0) || same_at(100 * ss / bs, p->save_pct, 1)) &&
			    (isnan(p->payback) || same_at(O.migration_cost / ss, p->payback, 1)))
				break;
		}
		money_dec(b, sizeof b, base->monthly, dec, base->currency);
		money_dec(c, sizeof c, p->monthly, dec, p->currency);
		money_dec(s, sizeof s, p->save_month, dec, p->currency);
		money_dec(y, sizeof y, p->save_year, 2, p->currency);
		if (base->monthly > 0)
			p->save_arith = text_new("%s - %s = %s/month; x 12 = %s/year; %s / %s = %.1f%%", b, c, s,
			    y, s, b, p->save_pct);
		else
			p->save_arith = text_new("%s - %s = %s/month; x 12 = %s/year", b, c, s, y);
		if (!isnan(O.migration_cost)) {
			money_dec(m, sizeof m, O.migration_cost, 2, p->currency);
			if (p->save_month > 0) {
				p->payback_arith = text_new("%s / %s/month = %.1f months", m, s, p->payback);
			} else {
				p->payback_arith = text_new("no payback: %s does not cost less than %s", proj_name(p),
				    proj_name(base));
			}
		}
	}
}
