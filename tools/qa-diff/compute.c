/* qa-diff: the statistics of one scope, a task or everything. */

#include "qa-diff.h"

/* ---- statistics of one scope: a task, or everything ---- */

const double kl_q[NKLQ] = { 100, 99.9, 99, 95, 90, 50, 10, 5, 1, 0.1, 0 };

const char *const kl_key[NKLQ] = { "max", "p99_9", "p99", "p95", "p90", "median", "p10", "p5", "p1",
	"p0_1", "min" };

const char *const kl_label[NKLQ] = { "Maximum", "99.9%  ", "99.0%  ", "95.0%  ", "90.0%  ", "Median ",
	"10.0%  ", " 5.0%  ", " 1.0%  ", " 0.1%  ", "Minimum" };

/* Δp = p_cand - p_base of the right token: llama-perplexity's percentiles, in its order. */
const double dp_q[NDPQ] = { 100, 99.9, 99, 95, 90, 75, 50, 25, 10, 5, 1, 0.1, 0 };

const char *const dp_key[NDPQ] = { "max", "p99_9", "p99", "p95", "p90", "p75", "median", "p25", "p10", "p5",
	"p1", "p0_1", "min" };

const char *const dp_label[NDPQ] = { "Maximum", "99.9%  ", "99.0%  ", "95.0%  ", "90.0%  ", "75.0%  ",
	"Median ", "25.0%  ", "10.0%  ", " 5.0%  ", " 1.0%  ", " 0.1%  ", "Minimum" };

/* The compared pairs, gathered task by task. */
double *gbase, *gcand;

uint32_t *gcl;

uint32_t *gsoff[2], *gsn[2];

	/* their corpus statistics, when some record has them */
uint16_t *gmet;

		/* their compared metric */
unsigned char *met_binary;

	/* per metric: every compared score of it is 0 or 1 */
double ratio(double a, double b)
{
	return isfinite(a) && isfinite(b) && b != 0 ? a / b : NAN;
}

/*
 * Scores where less is better.  For these, recovery is baseline /
 * candidate x 100 (a perplexity 6% higher recovers 94%, not 106%), and
 * the drop --max-drop bounds is a rise.
 */
int lower_better(const char *metric)
{
	static const char *const names[] = {
		"perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte", "latency", "latency_ms",
	};
	for (size_t i = 0; metric && i < sizeof names / sizeof *names; i++)
		if (strcmp(metric, names[i]) == 0)
			return 1;
	return 0;
}

void side_stats(struct sideres *r, const struct side *s, const double *x, size_t n, int binary,
    struct dvec *sorted_lat)
{
	r->records = s->records;
	r->errors = s->errors;
	r->scored = s->scored;
	r->invalid = s->invalid;
	r->lo = r->hi = NAN;
	r->ci_method = NULL;
	double sum = mean_se(x, n, &r->mean, &r->se);
	if (n > 0) {
		if (binary) {
			wilson_ci(sum, (double)n, O.z, &r->lo, &r->hi);
			/* None right, or all: the bound is exactly 0 or 1, not a rounding away from it. */
			if (sum == 0)
				r->lo = 0;
			if (sum == (double)n)
				r->hi = 1;
			r->ci_method = "wilson";
		} else if (n > 1) {
			r->lo = r->mean - O.z * r->se;
			r->hi = r->mean + O.z * r->se;
			r->ci_method = "normal";
		}
	}
	r->invalid_rate = s->scored > 0 ? (double)s->invalid / (double)s->scored : NAN;
	r->error_rate = s->records > 0 ? (double)s->errors / (double)s->records : NAN;
	r->lat_n = sorted_lat->n;
	r->p50 = O.percentile(sorted_lat->v, sorted_lat->n, 50);
	r->p95 = O.percentile(sorted_lat->v, sorted_lat->n, 95);
	r->p99 = O.percentile(sorted_lat->v, sorted_lat->n, 99);
	r->cost_n = s->cost_n;
	r->mean_cost = s->cost_n > 0 ? s->cost_sum / (double)s->cost_n : NAN;
	/* x is 0/1 per record, so the sum of its squares is the count of right answers */
	r->per_correct = r->per_correct_lo = r->per_correct_hi = NAN;
	if (s->cost_right > 0) {
		r->per_correct = s->cost_sum / (double)s->cost_right;
		ratio_ci((double)s->cost_n, s->cost_sum, s->cost_sq, (double)s->cost_right, (double)s->cost_right,
		    s->cost_correct, O.z, &r->per_correct_lo, &r->per_correct_hi);
	}
	r->ppl = NAN;
	r->ppl_method = NULL;
	if (s->ppl_n > 0 && s->ppl_tok_n == s->ppl_n) {
		r->ppl = exp(-s->ppl_lp / s->ppl_tok);
		r->ppl_method = "tokens";
	} else if (s->ppl_n > 0) {
		r->ppl = exp(s->ppl_ln / (double)s->ppl_n);
		r->ppl_method = "geomean";
	}
}

/* splitmix64 (Steele, Lea and Flood 2014): one 64-bit state, good enough for resampling. */
uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), without modulo bias (Lemire 2019). */
uint32_t draw(uint64_t *state, uint32_t n)
{
	uint64_t m = (splitmix64(state) >> 32) * (uint64_t)n;
	uint32_t low = (uint32_t)m;
	if (low < n) {
		uint32_t floor_ = (uint32_t)(-n) % n;
		while (low < floor_) {
			m = (splitmix64(state) >> 32) * (uint64_t)n;
			low = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

void bootstrap(struct result *r, const double *cand, const double *base, size_t n, uint64_t stream)
{
	r->blo = r->bhi = NAN;
	if (n == 0)
		return;
	uint64_t state = (uint64_t)O.seed ^ stream;
	double *means = xreallocarray(NULL, (size_t)O.bootstrap, sizeof *means);
	for (long k = 0; k < O.bootstrap; k++) {
		double sum = 0;
		for (size_t i = 0; i < n; i++) {
			uint32_t at = draw(&state, (uint32_t)n);
			sum += cand[at] - base[at];
		}
		means[k] = sum / (double)n;
	}
	qsort(means, (size_t)O.bootstrap, sizeof *means, cmp_double);
	/* The percentile interval at the level z stands for: Phi(-z) and Phi(z). */
	double tail = 50 * erfc(O.z / sqrt(2));
	r->blo = percentile_linear(means, (size_t)O.bootstrap, tail);
	r->bhi = percentile_linear(means, (size_t)O.bootstrap, 100 - tail);
	free(means);
}

struct line_scratch scratch;

void clustered(struct result *r, const double *cand, const double *base, const uint32_t *cl, size_t n)
{
	double *csum = scratch.csum;
	uint32_t *touched = scratch.touched;
	unsigned char *seen = scratch.seen;
	size_t ntouched = 0, nclusters = 0;
	double mean = r->pd.mean_diff, ss = 0, s2 = 0;

	r->nclusters = 0;
	r->cse = r->clo = r->chi = NAN;
	if (!cl)
		return;
	for (size_t i = 0; i < n; i++) {
		double res = cand[i] - base[i] - mean;
		ss += res * res;
		if (cl[i] == NONE) {
			s2 += res * res;
			nclusters++;
			continue;
		}
		if (!seen[cl[i]]) {
			seen[cl[i]] = 1;
			touched[ntouched++] = cl[i];
		}
		csum[cl[i]] += res;
	}
	for (size_t k = 0; k < ntouched; k++) {
		uint32_t c = touched[k];
		s2 += csum[c] * csum[c];
		csum[c] = 0;
		seen[c] = 0;
	}
	if (!ntouched)
		return;
	r->nclusters = nclusters + ntouched;
	if (n < 2)
		return;
	double var = r->pd.se * r->pd.se + (s2 - ss) / ((double)n * (double)n);
	r->cse = sqrt(var > 0 ? var : 0);
	r->clo = mean - O.z * r->cse;
	r->chi = mean + O.z * r->cse;
}

void add_side(struct side *into, const struct side *from, int with_lat)
{
	into->records += from->records;
	into->errors += from->errors;
	into->scored += from->scored;
	into->invalid += from->invalid;
	into->cost_sum += from->cost_sum;
	into->cost_n += from->cost_n;
	into->cost_sq += from->cost_sq;
	into->cost_correct += from->cost_correct;
	into->cost_right += from->cost_right;
	into->ppl_ln += from->ppl_ln;
	into->ppl_lp += from->ppl_lp;
	into->ppl_tok += from->ppl_tok;
	into->ppl_n += from->ppl_n;
	into->ppl_tok_n += from->ppl_tok_n;
	if (with_lat)
		for (size_t i = 0; i < from->lat.n; i++)
			dvec_add(&into->lat, from->lat.v[i]);
}

/*
 * The exact McNemar p for up to 62 discordant pairs, in integers: 2 sum_{i <= k}
 * C(n, i) / 2^n, rounded once, so 3 against 1 gives 0.625, not 0.6250000000000004
 * (what scipy prints too).  Above that, libqa's saddle-point value.
 */
double exact_p(long b, long c, double libqa)
{
	long n = b + c, k = b < c ? b : c;
	if (n <= 0 || n > 62)
		return libqa;
	if (2 * k == n)
		return 1;
	uint64_t term = 1, sum = 1;	/* C(n, 0) */
	for (long i = 1; i <= k; i++) {
		term = term * (uint64_t)(n - i + 1) / (uint64_t)i;	/* exact: C(n, i - 1) (n - i + 1) is divisible by i */
		sum += term;
	}
	double p = ldexp((double)sum, (int)(1 - n));
	return p < 1 ? p : 1;
}

struct cplug *cplugs;

size_t ncplugs;

struct cplug *cplug_get(const char *metric)
{
	for (size_t i = 0; i < ncplugs; i++)
		if (strcmp(cplugs[i].metric, metric) == 0)
			return cplugs[i].fn ? &cplugs[i] : NULL;
	cplugs = xreallocarray(cplugs, ncplugs + 1, sizeof *cplugs);
	struct cplug *c = &cplugs[ncplugs++];
	memset(c, 0, sizeof *c);
	c->metric = xstrdup(metric);
	char err[1024];
	if (plugin_load(metric, QA_KIND_SCORER, &c->loaded, err, sizeof err) < 0) {
		qa_warn("corpus statistics of %s: %s", metric, err);
		return NULL;
	}
	const struct qa_scorer_ops *p = c->loaded.plugin->scorer;
	if (!p->corpus)
		return NULL;
	qa_json *none = json_new();
	const char *perr;
	size_t off;
	json_parse(none, "{}", 2, &perr, &off);
	char *ierr = NULL;
	int rc = p->init ? p->init(none, &c->state, &ierr) : 0;
	json_free(&none);
	host_reset();
	if (rc < 0) {
		qa_warn("corpus statistics of %s: %s", metric, ierr ? ierr : "init failed");
		free(ierr);
		if (c->state && p->fini)
			p->fini(c->state);
		c->state = NULL;
		return NULL;
	}
	c->fn = p->corpus;
	return c;
}

void cplug_free(void)
{
	for (size_t i = 0; i < ncplugs; i++) {
		const struct qa_plugin *p = cplugs[i].loaded.plugin;
		if (cplugs[i].state && p && p->scorer->fini)
			p->scorer->fini(cplugs[i].state);
		if (p)
			plugin_unload(&cplugs[i].loaded);
		free(cplugs[i].metric);
	}
	xfree(&cplugs);
	ncplugs = 0;
}

/* The corpus figure of summed statistics (only the non-zero ones: a label absent from a resample is absent). */
double corpus_eval(struct cplug *c, const double *sum, const char **names, double *vals)
{
	size_t k = 0;
	for (size_t i = 0; i < CS.nnames; i++)
		if (sum[i] != 0) {
			names[k] = CS.names[i];
			vals[k++] = sum[i];
		}
	double v = NAN;
	char *details = NULL;
	if (c->fn(c->state, names, vals, k, &v, &details) < 0)
		v = NAN;
	free(details);
	host_reset();
	return v;
}

void corpus_add(double *sum, int side, size_t at)
{
	const struct cstat *v = CS.v + gsoff[side][at];
	for (uint32_t i = 0; i < gsn[side][at]; i++)
		sum[v[i].name] += v[i].v;
}

/*
 * B resampled values of a statistic observed as obs: p, the two-sided
 * share of them that, centred on their mean (the null of no difference),
 * are at least as far from 0 as obs, counting the observed sample:
 * (1 + #) / (B + 1); and the percentile interval at the level O.z stands
 * for, Phi(-z) and Phi(z).  Sorts v.
 */
void resampled(double *v, long B, double obs, double *p, double *lo, double *hi)
{
	double mean = 0;
	for (long b = 0; b < B; b++)
		mean += v[b];
	mean /= (double)B;
	long extreme = 0;
	for (long b = 0; b < B; b++)
		extreme += fabs(v[b] - mean) >= fabs(obs);
	*p = (double)(extreme + 1) / (double)(B + 1);
	qsort(v, (size_t)B, sizeof *v, cmp_double);
	double tail = 50 * erfc(O.z / sqrt(2));
	*lo = percentile_linear(v, (size_t)B, tail);
	*hi = percentile_linear(v, (size_t)B, 100 - tail);
}

/*
 * The paired bootstrap of a corpus figure, as sacreBLEU's paired-bs: each
 * resample draws items with replacement, the same ones for both runs, and
 * recomputes both corpus figures from the drawn items' statistics.  The CI
 * is the percentile interval of the deltas; p is the two-sided share of
 * resamples whose delta, centred on the resamples' mean (the null of no
 * difference), is at least as far from 0 as the observed one, counting the
 * observed sample: (1 + #) / (B + 1).
 */
void corpus_compare(struct result *r, size_t off, size_t n, uint64_t stream)
{
	r->has_corpus = 0;
	if (!gsn[0] || !r->metric || n == 0)
		return;
	int any = 0;
	for (size_t i = 0; i < n && !any; i++)
		any = gsn[BASE][off + i] && gsn[CAND][off + i];
	struct cplug *c = any ? cplug_get(r->metric) : NULL;
	if (!c)
		return;
	double *sum[2] = { xcalloc(CS.nnames, sizeof(double)), xcalloc(CS.nnames, sizeof(double)) };
	const char **names = xcalloc(CS.nnames + 1, sizeof *names);
	double *vals = xcalloc(CS.nnames + 1, sizeof *vals);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 2; k++)
			corpus_add(sum[k], k, off + i);
	r->cbase = corpus_eval(c, sum[BASE], names, vals);
	r->ccand = corpus_eval(c, sum[CAND], names, vals);
	r->cdelta = r->ccand - r->cbase;
	r->has_corpus = 1;
	long B = O.bootstrap ? O.bootstrap : 1000;
	r->cresamples = B;
	double *deltas = xreallocarray(NULL, (size_t)B, sizeof *deltas);
	uint64_t state = (uint64_t)O.seed ^ stream ^ 0x636f72707573ull;	/* "corpus": its own stream */
	for (long b = 0; b < B; b++) {
		memset(sum[BASE], 0, CS.nnames * sizeof(double));
		memset(sum[CAND], 0, CS.nnames * sizeof(double));
		for (size_t i = 0; i < n; i++) {
			size_t at = off + draw(&state, (uint32_t)n);
			corpus_add(sum[BASE], BASE, at);
			corpus_add(sum[CAND], CAND, at);
		}
		deltas[b] = corpus_eval(c, sum[CAND], names, vals) - corpus_eval(c, sum[BASE], names, vals);
	}
	resampled(deltas, B, r->cdelta, &r->cp, &r->clo_b, &r->chi_b);
	free(deltas);
	free(sum[BASE]);
	free(sum[CAND]);
	free(names);
	free(vals);
}

void compute(struct result *r, const struct side side[2], struct dvec lat[2], size_t off, size_t n,
    uint64_t stream)
{
	const double *cand = gcand + off, *base = gbase + off;
	r->n = n;
	r->binary = 1;
	for (size_t i = 0; i < n && r->binary; i++)
		if ((base[i] != 0 && base[i] != 1) || (cand[i] != 0 && cand[i] != 1))
			r->binary = 0;
	for (int k = 0; k < 2; k++) {
		if (lat[k].n > 1)
			qsort(lat[k].v, lat[k].n, sizeof *lat[k].v, cmp_double);
		side_stats(&r->s[k], &side[k], k == BASE ? base : cand, n, r->binary, &lat[k]);
	}
	paired_diff(cand, base, n, O.z, &r->pd);
	clustered(r, cand, base, gcl ? gcl + off : NULL, n);
	r->blo = r->bhi = NAN;
	if (O.bootstrap)
		bootstrap(r, cand, base, n, stream);
	corpus_compare(r, off, n, stream);
	/*
	 * Flips need right and wrong: they are counted over the pairs whose
	 * metric is 0/1 throughout the runs, so a continuous metric (ROUGE)
	 * beside 0/1 ones in the overall line leaves the others' flips as they were.
	 */
	r->b = r->c = 0;
	r->nflip = 0;
	for (size_t i = 0; i < n; i++) {
		uint16_t m = gmet[off + i];
		if (!met_binary[m == NO_METRIC ? D.nmetrics : m])
			continue;
		r->nflip++;
		r->b += base[i] == 1 && cand[i] == 0;
		r->c += base[i] == 0 && cand[i] == 1;
	}
	r->flips = r->nflip > 0;
	if (r->flips) {
		mcnemar(r->b, r->c, &r->mc);
		r->mc.p_exact = exact_p(r->b, r->c, r->mc.p_exact);
		/* No discordant pair: the exact test of zero trials gives 1, as statsmodels does; chi2 is 0/0. */
		if (r->b + r->c == 0 && n > 0)
			r->mc.p_exact = 1;
	}
	r->recovery = n == 0 ? NAN : lower_better(r->metric) ? 100 * ratio(r->s[BASE].mean, r->s[CAND].mean) :
	    100 * ratio(r->s[CAND].mean, r->s[BASE].mean);
	r->r_p50 = ratio(r->s[CAND].p50, r->s[BASE].p50);
	r->r_p95 = ratio(r->s[CAND].p95, r->s[BASE].p95);
	r->r_p99 = ratio(r->s[CAND].p99, r->s[BASE].p99);
	r->r_cost = ratio(r->s[CAND].mean_cost, r->s[BASE].mean_cost);
	break_even(r, side);
	r->r_ppl = ratio(r->s[CAND].ppl, r->s[BASE].ppl);
}

/* sd / sqrt(n), the standard error of a mean; NaN below 2 values. */
double se_of(const qa_moments *m)
{
	double v = moments_var(m);
	return isnan(v) ? NAN : sqrt(v / m->n);
}

/* The figures of one line's token drift; sorts d's KL values. */
void drift_stats(struct driftres *r, struct drift *d)
{
	memset(r, 0, sizeof *r);
	r->d = d->records ? d : NULL;
	r->ppl[BASE] = r->ppl[CAND] = r->ppl_se[BASE] = r->ppl_se[CAND] = r->ppl_ratio = NAN;
	r->ln_mean = r->ln_se = r->corr = r->kl_mean = r->kl_se = r->cover = NAN;
	r->dp_mean = r->dp_se = r->rms = r->rms_se = r->same_pct = r->same_se = NAN;
	for (int q = 0; q < NKLQ; q++)
		r->kl_pct[q] = NAN;
	for (int q = 0; q < NDPQ; q++)
		r->dp_pct[q] = NAN;
	if (!r->d)
		return;
	for (int k = 0; k < 2; k++) {
		r->ppl[k] = d->lp_n[k] ? exp(-d->lp_sum[k] / (double)d->lp_n[k]) : NAN;
		/* llama-perplexity's propagation: d exp(x) = exp(x) dx. */
		r->ppl_se[k] = r->ppl[k] * se_of(&d->nll[k]);
	}
	r->ppl_ratio = ratio(r->ppl[CAND], r->ppl[BASE]);
	r->ln_mean = d->dln.n > 0 ? d->dln.mean : NAN;
	r->ln_se = se_of(&d->dln);
	r->corr = comoments_corr(&d->rec);

	size_t n = d->kl.n;
	const double *v = d->kl.v;
	r->kl_n = n;
	if (n > 1)
		qsort(d->kl.v, n, sizeof *d->kl.v, cmp_double);
	mean_se(v, n, &r->kl_mean, &r->kl_se);
	for (int q = 0; q < NKLQ; q++)
		r->kl_pct[q] = percentile_linear(v, n, kl_q[q]);
	r->cover = d->cover.n > 0 ? d->cover.mean : NAN;

	if (d->dpv.n > 1)
		qsort(d->dpv.v, d->dpv.n, sizeof *d->dpv.v, cmp_double);
	for (int q = 0; q < NDPQ; q++)
		r->dp_pct[q] = percentile_linear(d->dpv.v, d->dpv.n, dp_q[q]);
	r->dp_mean = d->dp.n > 0 ? d->dp.mean : NAN;
	r->dp_se = se_of(&d->dp);
	r->rms = d->dp2.n > 0 ? sqrt(d->dp2.mean) : NAN;
	/* llama-perplexity's: the mean square's error through d sqrt(x) = dx / (2 sqrt(x)); 0 with no spread. */
	double se2 = se_of(&d->dp2);
	r->rms_se = se2 == 0 ? 0 : 0.5 / r->rms * se2;
	if (d->top_n > 0) {
		double p = (double)d->same_top / (double)d->top_n;
		r->same_pct = 100 * p;
		if (d->top_n > 1)
			r->same_se = 100 * sqrt(p * (1 - p) / (double)(d->top_n - 1));
	}
}
