/*
 * lib/stats.c against the reference vectors (scipy 1.10.1, numpy 1.24.2,
 * statsmodels 0.13.5) and against itself where the vectors do not reach:
 * large McNemar counts, merging shards, the undefined corners.
 */
#include <math.h>
#include <stdlib.h>

#include "qa.h"
#include "t.h"

/* The tolerance shared/vectors/README.md sets for statistics, perplexity and KL. */
#define REL 1e-6

static double max_rel;
static int vec_cases;

/* CHECK_NEAR that names the case and field on failure and keeps the worst relative error. */
static void near(const char *id, const char *field, double got, double want)
{
	int before = t_failed;
	double e;

	CHECK_NEAR(got, want, REL);
	if (t_failed != before)
		fprintf(stderr, "  (%s %s)\n", id, field);
	if (want != 0) {
		e = fabs(got - want) / fabs(want);
		if (!(e <= max_rel))
			max_rel = e;
	}
}

/* Generated once from shared/vectors/stats.jsonl and perplexity.jsonl (python3 json, repr floats). */
static const struct mcnemar_case {
	const char *id;
	long b, c;
	double p_exact, chi2, p_chi2, chi2_cc, p_chi2_cc;
} mcnemar_cases[] = {
	{ "stats-000", 1, 0, 1.0, 1.0, 0.31731050786291115, 0.0, 1.0 },
	{ "stats-004", 2, 10, 0.03857421875, 5.333333333333333, 0.020921335337794035, 4.083333333333333, 0.04330814281079206 },
	{ "stats-008", 3, 12, 0.03515625, 5.4, 0.02013675155034633, 4.266666666666667, 0.03886710381241731 },
	{ "stats-012", 13, 4, 0.049041748046875, 4.764705882352941, 0.029049022161940597, 3.764705882352941, 0.052345063273163295 },
	{ "stats-016", 500, 400, 0.0009564441369189373, 11.11111111111111, 0.0008581206663936758, 10.89, 0.0009668482847675553 },
	{ "stats-020", 30, 31, 1.0, 0.01639344262295082, 0.898119787253741, 0.0, 1.0 },
};

static const double stats_024_a[] = {
	0.9, 0.8, 0.7, 0.6, 0.5
};
static const double stats_024_b[] = {
	0.5, 0.6, 0.7, 0.8, 0.9
};
static const double stats_028_a[] = {
	0.0, 0.14285714285714285, 0.2857142857142857, 0.42857142857142855, 0.5714285714285714,
	0.7142857142857143, 0.8571428571428571, 0.0, 0.14285714285714285, 0.2857142857142857,
	0.42857142857142855, 0.5714285714285714, 0.7142857142857143, 0.8571428571428571, 0.0,
	0.14285714285714285, 0.2857142857142857, 0.42857142857142855, 0.5714285714285714,
	0.7142857142857143, 0.8571428571428571, 0.0, 0.14285714285714285, 0.2857142857142857,
	0.42857142857142855, 0.5714285714285714, 0.7142857142857143, 0.8571428571428571, 0.0,
	0.14285714285714285, 0.2857142857142857, 0.42857142857142855, 0.5714285714285714,
	0.7142857142857143, 0.8571428571428571, 0.0, 0.14285714285714285, 0.2857142857142857,
	0.42857142857142855, 0.5714285714285714, 0.7142857142857143, 0.8571428571428571, 0.0,
	0.14285714285714285, 0.2857142857142857, 0.42857142857142855, 0.5714285714285714,
	0.7142857142857143, 0.8571428571428571, 0.0, 0.14285714285714285, 0.2857142857142857,
	0.42857142857142855, 0.5714285714285714, 0.7142857142857143, 0.8571428571428571, 0.0,
	0.14285714285714285, 0.2857142857142857, 0.42857142857142855, 0.5714285714285714,
	0.7142857142857143, 0.8571428571428571, 0.0, 0.14285714285714285, 0.2857142857142857,
	0.42857142857142855, 0.5714285714285714, 0.7142857142857143, 0.8571428571428571, 0.0,
	0.14285714285714285, 0.2857142857142857, 0.42857142857142855, 0.5714285714285714,
	0.7142857142857143, 0.8571428571428571, 0.0, 0.14285714285714285, 0.2857142857142857,
	0.42857142857142855, 0.5714285714285714, 0.7142857142857143, 0.8571428571428571, 0.0,
	0.14285714285714285, 0.2857142857142857, 0.42857142857142855, 0.5714285714285714,
	0.7142857142857143, 0.8571428571428571, 0.0, 0.14285714285714285, 0.2857142857142857,
	0.42857142857142855, 0.5714285714285714, 0.7142857142857143, 0.8571428571428571, 0.0,
	0.14285714285714285
};
static const double stats_028_b[] = {
	0.0, 0.2727272727272727, 0.5454545454545454, 0.8181818181818182, 0.09090909090909091,
	0.36363636363636365, 0.6363636363636364, 0.9090909090909091, 0.18181818181818182,
	0.45454545454545453, 0.7272727272727273, 0.0, 0.2727272727272727, 0.5454545454545454,
	0.8181818181818182, 0.09090909090909091, 0.36363636363636365, 0.6363636363636364,
	0.9090909090909091, 0.18181818181818182, 0.45454545454545453, 0.7272727272727273, 0.0,
	0.2727272727272727, 0.5454545454545454, 0.8181818181818182, 0.09090909090909091,
	0.36363636363636365, 0.6363636363636364, 0.9090909090909091, 0.18181818181818182,
	0.45454545454545453, 0.7272727272727273, 0.0, 0.2727272727272727, 0.5454545454545454,
	0.8181818181818182, 0.09090909090909091, 0.36363636363636365, 0.6363636363636364,
	0.9090909090909091, 0.18181818181818182, 0.45454545454545453, 0.7272727272727273, 0.0,
	0.2727272727272727, 0.5454545454545454, 0.8181818181818182, 0.09090909090909091,
	0.36363636363636365, 0.6363636363636364, 0.9090909090909091, 0.18181818181818182,
	0.45454545454545453, 0.7272727272727273, 0.0, 0.2727272727272727, 0.5454545454545454,
	0.8181818181818182, 0.09090909090909091, 0.36363636363636365, 0.6363636363636364,
	0.9090909090909091, 0.18181818181818182, 0.45454545454545453, 0.7272727272727273, 0.0,
	0.2727272727272727, 0.5454545454545454, 0.8181818181818182, 0.09090909090909091,
	0.36363636363636365, 0.6363636363636364, 0.9090909090909091, 0.18181818181818182,
	0.45454545454545453, 0.7272727272727273, 0.0, 0.2727272727272727, 0.5454545454545454,
	0.8181818181818182, 0.09090909090909091, 0.36363636363636365, 0.6363636363636364,
	0.9090909090909091, 0.18181818181818182, 0.45454545454545453, 0.7272727272727273, 0.0,
	0.2727272727272727, 0.5454545454545454, 0.8181818181818182, 0.09090909090909091,
	0.36363636363636365, 0.6363636363636364, 0.9090909090909091, 0.18181818181818182,
	0.45454545454545453, 0.7272727272727273, 0.0
};
static const struct paired_case {
	const char *id;
	const double *a, *b;
	size_t n;
	double z, mean_diff, sd_diff, se, ci_low, ci_high;
} paired_cases[] = {
	{ "stats-024", stats_024_a, stats_024_b, 5, 1.96, 0.0, 0.316227766016838, 0.14142135623730953, -0.2771858582251267, 0.2771858582251267 },
	{ "stats-028", stats_028_a, stats_028_b, 100, 1.96, -0.02857142857142858, 0.41013746432301335, 0.04101374643230134, -0.1089583715787392, 0.05181551443588203 },
};

static const struct wilson_case {
	const char *id;
	double k, n, z, low, high;
} wilson_cases[] = {
	{ "stats-033", 10.0, 10.0, 1.96, 0.7224598312333836, 1.0 },
	{ "stats-034", 10.0, 10.0, 1.959963984540054, 0.7224672001371106, 1.0 },
	{ "stats-041", 50.0, 100.0, 1.96, 0.40382982859014716, 0.5961701714098528 },
	{ "stats-042", 50.0, 100.0, 1.959963984540054, 0.4038315303659956, 0.5961684696340044 },
	{ "stats-049", 7.0, 9.0, 1.96, 0.4525833436728054, 0.9367762376877727 },
	{ "stats-050", 7.0, 9.0, 1.959963984540054, 0.45258896910698887, 0.9367748928821533 },
};

static const double stats_055_v[] = {
	3.0, 1.0, 2.0
};
static const double stats_059_v[] = {
	0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0,
	17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0,
	32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0,
	47.0, 48.0, 49.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0, 61.0,
	62.0, 63.0, 64.0, 65.0, 66.0, 67.0, 68.0, 69.0, 70.0, 71.0, 72.0, 73.0, 74.0, 75.0, 76.0,
	77.0, 78.0, 79.0, 80.0, 81.0, 82.0, 83.0, 84.0, 85.0, 86.0, 87.0, 88.0, 89.0, 90.0, 91.0,
	92.0, 93.0, 94.0, 95.0, 96.0, 97.0, 98.0, 99.0, 100.0
};
static const double stats_063_v[] = {
	0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1
};
static const struct pct_case {
	const char *id;
	const double *v;
	size_t n;
	double linear[3], nearest[3];	/* p50, p95, p99 */
} pct_cases[] = {
	{ "stats-055", stats_055_v, 3, { 2.0, 2.9, 2.98 }, { 2.0, 3.0, 3.0 } },
	{ "stats-059", stats_059_v, 101, { 50.0, 95.0, 99.0 }, { 50.0, 95.0, 99.0 } },
	{ "stats-063", stats_063_v, 11, { 0.6, 1.05, 1.09 }, { 0.6, 1.1, 1.1 } },
};

static const double perplexity_012_p[] = {
	0.5, 0.5
};
static const double perplexity_012_q[] = {
	0.5, 0.5
};
static const double perplexity_016_p[] = {
	0.4, 0.3, 0.2, 0.1
};
static const double perplexity_016_q[] = {
	0.1, 0.2, 0.3, 0.4
};
static const double perplexity_020_p[] = {
	0.3, 0.3
};
static const double perplexity_020_q[] = {
	0.2, 0.1
};
static const struct kl_case {
	const char *id;
	const double *p, *q;
	size_t n;
	double raw, renorm;
} kl_cases[] = {
	{ "perplexity-012", perplexity_012_p, perplexity_012_q, 2, 0.0, 0.0 },
	{ "perplexity-016", perplexity_016_p, perplexity_016_q, 4, 0.4564348191467835, 0.45643481914678397 },
	{ "perplexity-020", perplexity_020_p, perplexity_020_q, 2, 0.4512232190328821, 0.05889151782819174 },
};

static const double perplexity_000_lp[] = {
	0.0
};
static const double perplexity_004_lp[] = {
	-1.0, -2.0, -3.0
};
static const double perplexity_008_lp[] = {
	-0.6931471805599453, -1.0986122886681098, -1.3862943611198906
};
static const struct ppl_case {
	const char *id;
	const double *lp;
	size_t n;
	double sum_logprob, mean_nll, ppl;
} ppl_cases[] = {
	{ "perplexity-000", perplexity_000_lp, 1, 0.0, -0.0, 1.0 },
	{ "perplexity-004", perplexity_004_lp, 3, -6.0, 2.0, 7.38905609893065 },
	{ "perplexity-008", perplexity_008_lp, 3, -3.1780538303479453, 1.0593512767826485, 2.8844991406148166 },
};

static void test_mcnemar_vectors(void)
{
	const struct mcnemar_case *v;
	struct qa_mcnemar m;
	size_t i;

	for (i = 0; i < sizeof(mcnemar_cases) / sizeof(mcnemar_cases[0]); i++) {
		v = &mcnemar_cases[i];
		mcnemar(v->b, v->c, &m);
		near(v->id, "p_exact", m.p_exact, v->p_exact);
		near(v->id, "chi2", m.chi2, v->chi2);
		near(v->id, "p_chi2", m.p_chi2, v->p_chi2);
		near(v->id, "chi2_cc", m.chi2_cc, v->chi2_cc);
		near(v->id, "p_chi2_cc", m.p_chi2_cc, v->p_chi2_cc);
		near(v->id, "mcnemar_exact_p", mcnemar_exact_p(v->b, v->c), v->p_exact);
		vec_cases++;
	}
}

static void test_paired_vectors(void)
{
	const struct paired_case *v;
	struct qa_paired p;
	size_t i;

	for (i = 0; i < sizeof(paired_cases) / sizeof(paired_cases[0]); i++) {
		v = &paired_cases[i];
		paired_diff(v->a, v->b, v->n, v->z, &p);
		CHECK(p.n == v->n);
		near(v->id, "mean_diff", p.mean_diff, v->mean_diff);
		near(v->id, "sd_diff", p.sd_diff, v->sd_diff);
		near(v->id, "se", p.se, v->se);
		near(v->id, "ci_low", p.ci_low, v->ci_low);
		near(v->id, "ci_high", p.ci_high, v->ci_high);
		vec_cases++;
	}
}

static void test_wilson_vectors(void)
{
	const struct wilson_case *v;
	double lo, hi;
	size_t i;

	for (i = 0; i < sizeof(wilson_cases) / sizeof(wilson_cases[0]); i++) {
		v = &wilson_cases[i];
		wilson_ci(v->k, v->n, v->z, &lo, &hi);
		near(v->id, "low", lo, v->low);
		near(v->id, "high", hi, v->high);
		vec_cases++;
	}
}

static void test_percentile_vectors(void)
{
	static const double qs[3] = { 50, 95, 99 };
	static const char *names[3] = { "p50", "p95", "p99" };
	const struct pct_case *v;
	double *s;
	size_t i, j;

	for (i = 0; i < sizeof(pct_cases) / sizeof(pct_cases[0]); i++) {
		v = &pct_cases[i];
		/* The vectors give values unsorted; the functions take them sorted. */
		if ((s = malloc(v->n * sizeof(*s))) == NULL)
			abort();
		memcpy(s, v->v, v->n * sizeof(*s));
		qsort(s, v->n, sizeof(*s), cmp_double);
		for (j = 0; j < 3; j++) {
			near(v->id, names[j], percentile_linear(s, v->n, qs[j]), v->linear[j]);
			near(v->id, names[j], percentile_nearest(s, v->n, qs[j]), v->nearest[j]);
		}
		free(s);
		vec_cases++;
	}
}

static void test_kl_vectors(void)
{
	const struct kl_case *v;
	size_t i;

	for (i = 0; i < sizeof(kl_cases) / sizeof(kl_cases[0]); i++) {
		v = &kl_cases[i];
		near(v->id, "kl_raw", kl_raw(v->p, v->q, v->n), v->raw);
		near(v->id, "kl_renormalized", kl_renormalized(v->p, v->q, v->n), v->renorm);
		vec_cases++;
	}
}

/* stats.c has no perplexity function: tools take it from the running mean of the log-probs. */
static void test_ppl_vectors(void)
{
	const struct ppl_case *v;
	qa_moments m;
	size_t i, j;

	for (i = 0; i < sizeof(ppl_cases) / sizeof(ppl_cases[0]); i++) {
		v = &ppl_cases[i];
		m = (qa_moments){ 0, 0, 0 };
		for (j = 0; j < v->n; j++)
			moments_add(&m, v->lp[j]);
		CHECK(m.n == (double)v->n);
		near(v->id, "sum_logprob", m.mean * m.n, v->sum_logprob);
		near(v->id, "mean_nll", -m.mean, v->mean_nll);
		near(v->id, "ppl", exp(-m.mean), v->ppl);
		vec_cases++;
	}
}

static void test_mcnemar_more(void)
{
	struct qa_mcnemar m;

	mcnemar(5000, 5200, &m);
	CHECK(m.p_exact > 0 && m.p_exact < 1);
	CHECK(m.p_chi2 > 0 && m.p_chi2 < 1);
	CHECK(m.p_chi2_cc > m.p_chi2);
	CHECK_NEAR(m.chi2, 40000.0 / 10200, 1e-15);

	/* Two-sided at p = 1/2 does not care which run is the baseline. */
	CHECK(mcnemar_exact_p(5000, 5200) == mcnemar_exact_p(5200, 5000));
	CHECK(mcnemar_exact_p(7, 7) == 1);
	CHECK_NEAR(mcnemar_exact_p(0, 3), 0.25, 1e-15);
	CHECK_NEAR(mcnemar_exact_p(0, 20), 0x1p-19, 1e-14);

	/*
	 * Large counts, where ln C(n, k) by lgamma alone would be off by 1e-9;
	 * references are 2 sum C(n, i) / 2^n summed in 40 digits (mpmath).
	 */
	CHECK_NEAR(mcnemar_exact_p(5000, 5200), 0.048787963126822453, 1e-12);
	CHECK_NEAR(mcnemar_exact_p(499000, 501000), 0.045608299865382086, 1e-12);
	CHECK_NEAR(mcnemar_exact_p(499500, 500499), 0.31827911683453038, 1e-12);
	CHECK_NEAR(mcnemar_exact_p(4558, 7787) / 1.0089852057563603e-187, 1, 1e-11);

	/* b = c is not clamped: (0 - 1)^2 / (b + c). */
	mcnemar(4, 4, &m);
	CHECK(m.chi2 == 0 && m.p_chi2 == 1);
	CHECK(m.chi2_cc == 1.0 / 8);
	CHECK(m.p_exact == 1);

	mcnemar(0, 0, &m);
	CHECK(isnan(m.p_exact) && isnan(m.chi2) && isnan(m.p_chi2));
	CHECK(isnan(m.chi2_cc) && isnan(m.p_chi2_cc));
	CHECK(isnan(mcnemar_exact_p(0, 0)));

	CHECK(chi2_sf_1df(0) == 1);
	CHECK_NEAR(chi2_sf_1df(QA_Z95 * QA_Z95), 0.05, 1e-12);
	CHECK(isnan(chi2_sf_1df(NAN)));
}

/*
 * The exact p for small counts, where qa-diff once carried its own sum
 * (b + c up to 62): scipy 1.10.1's binomtest(b, b + c, 0.5).pvalue,
 * computed with /usr/bin/python3 for this table.
 */
static const struct { long b, c; double p; } binom_small[] = {
	{ 0, 1, 1.0 },
	{ 1, 4, 0.375 },
	{ 2, 9, 0.0654296875 },
	{ 3, 3, 1.0 },
	{ 5, 25, 0.0003249142318964005 },
	{ 10, 30, 0.0022214337732293643 },
	{ 20, 42, 0.007148733833163066 },
	{ 25, 37, 0.16188140552559763 },
	{ 12, 50, 1.2143807700186297e-06 },
	{ 29, 33, 0.7035366713552733 },
	{ 1, 61, 2.7321894746634712e-17 },
	{ 40, 22, 0.030015864349067285 },
};

static void test_mcnemar_small(void)
{
	size_t i;

	for (i = 0; i < sizeof binom_small / sizeof binom_small[0]; i++) {
		CHECK_NEAR(mcnemar_exact_p(binom_small[i].b, binom_small[i].c), binom_small[i].p, 1e-13);
		CHECK_NEAR(mcnemar_exact_p(binom_small[i].c, binom_small[i].b), binom_small[i].p, 1e-13);
	}
}

/* Covariance by pairs against numpy 1.24 (np.cov, np.corrcoef), whole and merged from two shards. */
static void test_comoments(void)
{
	static const double x[] = { 3.5, -1, 2, 1e3, 0.25, 7, 7, -40, 11, 0.125, 6 };
	static const double y[] = { 1, 2, 0.5, 900, 0, 6, 8, -35, 10, 1, 5.5 };
	const size_t n = sizeof x / sizeof x[0];
	qa_comoments all = { 0 }, a = { 0 }, b = { 0 }, none = { 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		comoments_add(&all, x[i], y[i]);
		comoments_add(i < 4 ? &a : &b, x[i], y[i]);
	}
	CHECK_NEAR(all.cxy / (all.n - 1), 82025.34772727275, 1e-13);
	CHECK_NEAR(all.cxx / (all.n - 1), 91171.16903409091, 1e-13);
	CHECK_NEAR(all.cyy / (all.n - 1), 73798.86818181818, 1e-13);
	CHECK_NEAR(comoments_corr(&all), 0.9999872615593899, 1e-13);
	comoments_merge(&a, &b);
	comoments_merge(&a, &none);
	CHECK(a.n == (double)n);
	CHECK_NEAR(a.cxy, all.cxy, 1e-12);
	CHECK_NEAR(a.mx, all.mx, 1e-12);
	CHECK_NEAR(comoments_corr(&a), comoments_corr(&all), 1e-12);
	comoments_merge(&none, &all);
	CHECK(none.cxy == all.cxy && none.n == all.n);
	/* identical sides: exactly 1; a constant side or one pair: undefined */
	qa_comoments same = { 0 }, flat = { 0 }, one = { 0 };
	for (i = 0; i < n; i++) {
		comoments_add(&same, x[i], x[i]);
		comoments_add(&flat, x[i], 2);
	}
	comoments_add(&one, 1, 2);
	CHECK(comoments_corr(&same) == 1);
	CHECK(isnan(comoments_corr(&flat)));
	CHECK(isnan(comoments_corr(&one)));
}

static void test_moments(void)
{
	static const double x[] = { 3.5, -1, 2, 1e3, 0.25, 7, 7, -40, 11, 0.125, 6 };
	const size_t n = sizeof(x) / sizeof(x[0]);
	qa_moments all = { 0, 0, 0 }, a = { 0, 0, 0 }, b = { 0, 0, 0 }, e = { 0, 0, 0 };
	double mean = 0, ss = 0;
	size_t i, cut;

	for (i = 0; i < n; i++)
		mean += x[i];
	mean /= n;
	for (i = 0; i < n; i++)
		ss += (x[i] - mean) * (x[i] - mean);
	for (i = 0; i < n; i++)
		moments_add(&all, x[i]);
	CHECK(all.n == n);
	CHECK_NEAR(all.mean, mean, 1e-14);
	CHECK_NEAR(moments_var(&all), ss / (n - 1), 1e-13);

	/* Every split point, including the empty shard on either side. */
	for (cut = 0; cut <= n; cut++) {
		a = b = (qa_moments){ 0, 0, 0 };
		for (i = 0; i < cut; i++)
			moments_add(&a, x[i]);
		for (i = cut; i < n; i++)
			moments_add(&b, x[i]);
		moments_merge(&a, &b);
		CHECK(a.n == all.n);
		CHECK_NEAR(a.mean, all.mean, 1e-13);
		CHECK_NEAR(a.m2, all.m2, 1e-13);
	}
	moments_merge(&e, &e);
	CHECK(e.n == 0 && e.mean == 0 && e.m2 == 0);

	moments_add(&e, 5);
	CHECK(isnan(moments_var(&e)));
	e = (qa_moments){ 0, 0, 0 };
	CHECK(isnan(moments_var(&e)));
}

static void test_corners(void)
{
	static const double one[] = { 4 }, zeros[] = { 0, 0 };
	static const double p[] = { 0.5, 0, 0.5 }, q[] = { 0.25, 0.5, 0 };
	static const double pk[] = { 0.6, 0.3 }, qk[] = { 0.3, 0.1 };
	double lo, hi, v[] = { 2, NAN, -1, 3, NAN, 0 }, r[750];
	struct qa_paired pd;
	size_t i;

	wilson_ci(0, 0, QA_Z95, &lo, &hi);
	CHECK(isnan(lo) && isnan(hi));
	wilson_ci(0, 10, QA_Z95, &lo, &hi);
	CHECK(lo == 0 && hi > 0 && hi < 1);

	paired_diff(one, zeros, 1, 1.96, &pd);
	CHECK(pd.n == 1 && pd.mean_diff == 4);
	CHECK(isnan(pd.sd_diff) && isnan(pd.se) && isnan(pd.ci_low) && isnan(pd.ci_high));
	paired_diff(one, zeros, 0, 1.96, &pd);
	CHECK(pd.n == 0 && isnan(pd.mean_diff) && isnan(pd.sd_diff));

	/* mean_se: by hand, sd of 1..4 is sqrt(5/3); and the NaNs of too few items. */
	double four[] = { 1, 2, 3, 4 }, m, se;
	CHECK(mean_se(four, 4, &m, &se) == 10 && m == 2.5);
	near("mean_se", "se", se, sqrt(5.0 / 3) / 2);
	CHECK(mean_se(four, 1, &m, &se) == 1 && m == 1 && isnan(se));
	CHECK(mean_se(four, 0, &m, &se) == 0 && isnan(m) && isnan(se));

	/* NaNs sort last, so a sorted prefix of real numbers can be cut off. */
	qsort(v, 6, sizeof(v[0]), cmp_double);
	CHECK(v[0] == -1 && v[1] == 0 && v[2] == 2 && v[3] == 3 && isnan(v[4]) && isnan(v[5]));

	CHECK(isnan(percentile_linear(v, 0, 50)));
	CHECK(isnan(percentile_nearest(v, 0, 50)));
	CHECK(percentile_linear(v, 4, 0) == -1 && percentile_linear(v, 4, 100) == 3);
	CHECK(percentile_nearest(v, 4, 0) == -1 && percentile_nearest(v, 4, 100) == 3);
	CHECK(percentile_nearest(v, 4, 25) == -1 && percentile_nearest(v, 4, 26) == 0);
	/* 4.4 * 750 / 100 is a hair above 33 in doubles; the rank is 33 exactly. */
	for (i = 0; i < 750; i++)
		r[i] = (double)i + 1;
	CHECK(percentile_nearest(r, 750, 4.4) == 33);

	/* 0 ln(0 / q) = 0; p > 0 against q = 0 is infinite. */
	CHECK(kl_raw(p, q, 1) == 0.5 * log(2));
	CHECK(kl_raw(p + 1, q + 1, 1) == 0);
	CHECK(isinf(kl_raw(p, q, 3)) && kl_raw(p, q, 3) > 0);
	CHECK(kl_raw(p, q, 0) == 0);
	CHECK(isnan(kl_renormalized(zeros, q, 2)));
	/* Truncated lists: P is 0.9 of its mass, Q 0.4; renormalized they are (2/3, 1/3), (3/4, 1/4). */
	CHECK_NEAR(kl_renormalized(pk, qk, 2),
	    (2.0 / 3) * log((2.0 / 3) / 0.75) + (1.0 / 3) * log((1.0 / 3) / 0.25), 1e-14);
	CHECK_NEAR(kl_raw(pk, qk, 2), 0.6 * log(2) + 0.3 * log(3), 1e-14);
}

int main(void)
{
	test_mcnemar_vectors();
	test_paired_vectors();
	test_wilson_vectors();
	test_percentile_vectors();
	test_kl_vectors();
	test_ppl_vectors();
	test_mcnemar_more();
	test_mcnemar_small();
	test_comoments();
	test_moments();
	test_corners();
	printf("stats: %d vector cases, max relative error %.3g\n", vec_cases, max_rel);
	return t_done("stats");
}
