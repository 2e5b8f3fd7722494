/*
 * Statistics for scores and comparisons.  The references are scipy 1.10,
 * numpy 1.24 and statsmodels 0.13 (shared/vectors/stats.jsonl); where the
 * order of floating-point operations decides the last bits, it follows theirs.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "qa.h"

#define LN_2PI		1.837877066409345483560659472811	/* ln(2 pi) */
#define LN_SQRT_2PI	0.918938533204672741780329736406	/* ln(sqrt(2 pi)) */
#define LN_2		0.693147180559945309417232121458	/* ln 2 */

void wilson_ci(double k, double n, double z, double *low, double *high)
{
	double p, z2, denom, center, dist;

	if (!(n > 0)) {
		*low = *high = NAN;
		return;
	}
	/* statsmodels' proportion_confint(method="wilson"), term for term. */
	p = k / n;
	z2 = z * z;
	denom = 1 + z2 / n;
	center = (p + z2 / (2 * n)) / denom;
	dist = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom;
	/* The bounds lie in [0, 1]; rounding may step a hair outside at k = 0 or k = n. */
	*low = fmax(center - dist, 0);
	*high = fmin(center + dist, 1);
}

void moments_add(qa_moments *m, double x)
{
	double d;

	m->n += 1;
	d = x - m->mean;
	m->mean += d / m->n;
	m->m2 += d * (x - m->mean);
}

/* Chan, Golub and LeVeque: exact for any split, so shards merge in any order. */
void moments_merge(qa_moments *into, const qa_moments *from)
{
	double n, d;

	if (from->n == 0)
		return;
	if (into->n == 0) {
		*into = *from;
		return;
	}
	n = into->n + from->n;
	d = from->mean - into->mean;
	into->mean += d * from->n / n;
	into->m2 += from->m2 + d * d * into->n * from->n / n;
	into->n = n;
}

void comoments_add(qa_comoments *m, double x, double y)
{
	double dx, dy;

	m->n += 1;
	dx = x - m->mx;
	dy = y - m->my;
	m->mx += dx / m->n;
	m->my += dy / m->n;
	m->cxx += dx * (x - m->mx);
	m->cyy += dy * (y - m->my);
	m->cxy += dx * (y - m->my);
}

/* Chan, Golub and LeVeque, as moments_merge: a shard's pairs join the others exactly. */
void comoments_merge(qa_comoments *into, const qa_comoments *from)
{
	double n, dx, dy, f;

	if (from->n == 0)
		return;
	if (into->n == 0) {
		*into = *from;
		return;
	}
	n = into->n + from->n;
	dx = from->mx - into->mx;
	dy = from->my - into->my;
	f = into->n * from->n / n;
	into->cxx += from->cxx + dx * dx * f;
	into->cyy += from->cyy + dy * dy * f;
	into->cxy += from->cxy + dx * dy * f;
	into->mx += dx * from->n / n;
	into->my += dy * from->n / n;
	into->n = n;
}

double comoments_corr(const qa_comoments *m)
{
	if (!(m->n >= 2 && m->cxx > 0 && m->cyy > 0))
		return NAN;
	/* sqrt of the product: identical pairs then give exactly 1, as sqrt(x * x) is x. */
	return fmax(-1, fmin(1, m->cxy / sqrt(m->cxx * m->cyy)));
}

double moments_var(const qa_moments *m)
{
	if (m->n < 2)
		return NAN;
	return m->m2 / (m->n - 1);
}

double percentile_linear(const double *sorted, size_t n, double q)
{
	double vi, lo, t, a, b, diff;
	size_t i;

	if (n == 0 || !(q >= 0 && q <= 100))
		return NAN;
	/* numpy: q / 100 first, then (n - 1) * q; the division's rounding shows in the last bit. */
	vi = (double)(n - 1) * (q / 100);
	lo = floor(vi);
	if (lo >= (double)(n - 1))
		return sorted[n - 1];
	i = (size_t)lo;
	t = vi - lo;
	a = sorted[i];
	b = sorted[i + 1];
	diff = b - a;
	/* numpy's _lerp: from the nearer end, so t = 1 gives b exactly. */
	if (t >= 0.5)
		return b - diff * (1 - t);
	return a + diff * t;
}

double percentile_nearest(const double *sorted, size_t n, double q)
{
	double x, r;

	if (n == 0 || !(q >= 0 && q <= 100))
		return NAN;
	/*
	 * The reference works in exact arithmetic on q as written: q = 4.4 of
	 * 750 is rank 33, though 4.4 * 750 / 100 comes out a hair above 33 and
	 * ceil would say 34.  A rank within rounding of an integer is that integer.
	 */
	x = q * (double)n / 100;
	r = nearbyint(x);
	if (fabs(x - r) > 1e-9 * fmax(1, x))
		r = ceil(x);
	if (r < 1)
		r = 1;
	if (r > (double)n)
		r = (double)n;
	return sorted[(size_t)r - 1];
}

int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	int nx = isnan(x) != 0, ny = isnan(y) != 0;

	/* NaNs last, so qsort sees a total order and numbers stay in front. */
	if (nx || ny)
		return nx - ny;
	return (x > y) - (x < y);
}

/*
 * Loader's saddle-point binomial ("Fast and accurate computation of binomial
 * probabilities", 2000; R's dbinom).  ln C(n, x) by lgamma loses about 1e-9
 * at n = 1e6, since lgamma(n + 1) is near 1e7 and its last bit is that large;
 * Loader's form has no such cancellation and stays near 1e-15 relative.
 */

/* ln(n!) - ln(sqrt(2 pi n) (n / e)^n), the error of Stirling's formula; n a positive integer. */
static double stirlerr(double n)
{
	static const double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260,
	    s3 = 1.0 / 1680, s4 = 1.0 / 1188;
	double nn;

	/* Small n: lgamma is small too, so the subtraction costs nothing. */
	if (n <= 15)
		return lgamma(n + 1) - (n + 0.5) * log(n) + n - LN_SQRT_2PI;
	nn = n * n;
	if (n > 500)
		return (s0 - s1 / nn) / n;
	if (n > 80)
		return (s0 - (s1 - s2 / nn) / nn) / n;
	if (n > 35)
		return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n;
	return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

/* x ln(x / m) + m - x, without the cancellation when x is near m. */
static double bd0(double x, double m)
{
	double v, s, s1, ej;
	int j;

	if (fabs(x - m) < 0.1 * (x + m)) {
		v = (x - m) / (x + m);
		s = (x - m) * v;
		if (fabs(s) < DBL_MIN)
			return s;
		ej = 2 * x * v;
		v *= v;
		for (j = 1; j < 1000; j++) {
			ej *= v;
			s1 = s + ej / (2 * j + 1);
			if (s1 == s)
				return s1;
			s = s1;
		}
	}
	return x * log(x / m) + m - x;
}

/* ln P(X = x) for X ~ Binomial(n, 1/2). */
static double binom_half_logpmf(double x, double n)
{
	double lc, lf;

	if (x == 0 || x == n)
		return -n * LN_2;
	lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n / 2) - bd0(n - x, n / 2);
	lf = LN_2PI + log(x) + log1p(-x / n);
	return lc - 0.5 * lf;
}

double mcnemar_exact_p(long b, long c)
{
	double n, k, i, t, s, p;

	if (b < 0 || c < 0 || b + c == 0)
		return NAN;
	n = (double)b + (double)c;
	k = (double)(b < c ? b : c);
	if (2 * k == n)
		return 1;
	/*
	 * At p = 1/2 the two tails mirror each other, so scipy's two-sided p is
	 * 2 P(X <= k) with k the smaller count (its 1e-7 tie tolerance pulls in
	 * no further term until n passes 2e7).  The tail is P(X = k) times the
	 * sum of pmf(i) / pmf(k), whose terms only shrink going down: exact
	 * ratios, no lgamma per term, and the loop stops once they no longer
	 * change the sum.
	 */
	t = s = 1;
	for (i = k; i > 0; i--) {
		t *= i / (n - i + 1);
		s += t;
		if (t < s * 0x1p-60)
			break;
	}
	p = exp(LN_2 + binom_half_logpmf(k, n) + log(s));
	return p < 1 ? p : 1;
}

double chi2_sf_1df(double x)
{
	if (isnan(x))
		return NAN;
	if (x <= 0)
		return 1;
	return erfc(sqrt(x / 2));
}

void mcnemar(long b, long c, struct qa_mcnemar *out)
{
	double n, d;

	if (b < 0 || c < 0 || b + c == 0) {
		out->p_exact = out->chi2 = out->p_chi2 = out->chi2_cc = out->p_chi2_cc = NAN;
		return;
	}
	n = (double)b + (double)c;
	d = (double)b - (double)c;
	out->p_exact = mcnemar_exact_p(b, c);
	out->chi2 = d * d / n;
	out->p_chi2 = chi2_sf_1df(out->chi2);
	/* statsmodels does not clamp |b - c| - 1 at 0; b = c gives 1 / n, and so do we. */
	d = fabs(d) - 1;
	out->chi2_cc = d * d / n;
	out->p_chi2_cc = chi2_sf_1df(out->chi2_cc);
}

double mean_se(const double *x, size_t n, double *mean, double *se)
{
	double sum = 0, ss = 0;
	for (size_t i = 0; i < n; i++)
		sum += x[i];
	*mean = n > 0 ? sum / (double)n : NAN;
	*se = NAN;
	if (n > 1) {
		for (size_t i = 0; i < n; i++)
			ss += (x[i] - *mean) * (x[i] - *mean);
		*se = sqrt(ss / (double)(n - 1)) / sqrt((double)n);
	}
	return sum;
}

void paired_diff(const double *a, const double *b, size_t n, double z, struct qa_paired *out)
{
	double sum = 0, ss = 0, mean, d;
	size_t i;

	out->n = n;
	out->mean_diff = out->sd_diff = out->se = out->ci_low = out->ci_high = NAN;
	if (n == 0)
		return;
	for (i = 0; i < n; i++)
		sum += a[i] - b[i];
	mean = sum / (double)n;
	out->mean_diff = mean;
	if (n < 2)
		return;
	/* Two passes, as numpy's std: one pass loses digits when the mean dwarfs the spread. */
	for (i = 0; i < n; i++) {
		d = a[i] - b[i] - mean;
		ss += d * d;
	}
	out->sd_diff = sqrt(ss / (double)(n - 1));
	out->se = out->sd_diff / sqrt((double)n);
	out->ci_low = mean - z * out->se;
	out->ci_high = mean + z * out->se;
}

/* scipy.special.rel_entr, except that NaN stays NaN rather than becoming inf. */
static double rel_entr(double x, double y)
{
	if (isnan(x) || isnan(y))
		return NAN;
	if (x > 0 && y > 0)
		return x * log(x / y);
	if (x == 0 && y >= 0)
		return 0;
	return INFINITY;
}

double kl_raw(const double *p, const double *q, size_t n)
{
	double s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += rel_entr(p[i], q[i]);
	return s;
}

double kl_renormalized(const double *p, const double *q, size_t n)
{
	double sp = 0, sq = 0, s = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		sp += p[i];
		sq += q[i];
	}
	if (!(sp > 0) || !(sq > 0))
		return NAN;
	/* Divide, as scipy does, rather than multiply by 1 / sum: the last bit then agrees. */
	for (i = 0; i < n; i++)
		s += rel_entr(p[i] / sp, q[i] / sq);
	return s;
}
