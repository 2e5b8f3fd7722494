/*
 * libqa: the uncertainty of cost per correct answer (qa-cost, qa-diff).  It is a ratio of
 * two sums over the same tasks, R = sum(cost) / sum(correct), and both
 * vary with the sample; the delta method (the ratio estimator's usual
 * linearisation, Cochran, "Sampling Techniques", 6.3) gives
 *
 *	Var(R) ~ sum_i (y_i - R x_i)^2 / (n (n - 1) xbar^2)
 *
 * with y the cost of task i and x its 0/1 correctness.  It needs only the
 * sums below, so a summary of merged shards equals one of a single run.
 */

#include <math.h>
#include "qa.h"

/* The CI of sy / sx at normal quantile z, from n pairs' sums; NaN when undefined (n < 2, sx = 0). */
void ratio_ci(double n, double sy, double syy, double sx, double sxx, double sxy, double z, double *lo,
    double *hi)
{
	*lo = *hi = NAN;
	if (n < 2 || sx <= 0)
		return;
	double r = sy / sx, xbar = sx / n;
	double ss = syy - 2 * r * sxy + r * r * sxx;	/* sum (y - r x)^2, expanded */
	if (ss < 0)
		ss = 0;	/* rounding, when every y is r x */
	double se = sqrt(ss / (n * (n - 1))) / xbar;
	*lo = r - z * se;
	*hi = r + z * se;
}
