/*
 * lib/ratio.c: the delta-method interval of a ratio of sums (cost per
 * correct answer) on cases derived by hand, and its undefined corners.
 */
#include <math.h>

#include "qa.h"
#include "t.h"

/* The sums ratio_ci takes, from the pairs themselves. */
static void ci_of(const double *y, const double *x, int n, double *lo, double *hi)
{
	double sy = 0, syy = 0, sx = 0, sxx = 0, sxy = 0;
	for (int i = 0; i < n; i++) {
		sy += y[i];
		syy += y[i] * y[i];
		sx += x[i];
		sxx += x[i] * x[i];
		sxy += x[i] * y[i];
	}
	ratio_ci(n, sy, syy, sx, sxx, sxy, QA_Z95, lo, hi);
}

int main(void)
{
	double lo, hi;

	/* Costs 1..4, right but the second: R = 10/3, Var = 10 / (4 * 3 * (3/4)^2) = 40/27. */
	{
		const double y[] = { 1, 2, 3, 4 }, x[] = { 1, 0, 1, 1 };
		ci_of(y, x, 4, &lo, &hi);
		CHECK_NEAR(lo, 10.0 / 3 - QA_Z95 * sqrt(40.0 / 27), 1e-14);
		CHECK_NEAR(hi, 10.0 / 3 + QA_Z95 * sqrt(40.0 / 27), 1e-14);
	}
	/* Each y is R x exactly: no spread, a zero-width interval at R. */
	{
		const double y[] = { 2, 0, 2, 2 }, x[] = { 1, 0, 1, 1 };
		ci_of(y, x, 4, &lo, &hi);
		CHECK_NEAR(lo, 2, 1e-14);
		CHECK_NEAR(hi, 2, 1e-14);
	}
	/* Every answer right: the interval of the mean cost, sd / sqrt(n) (y 1, 1, 1, 3: sd 1, se 1/2). */
	{
		const double y[] = { 1, 1, 1, 3 }, x[] = { 1, 1, 1, 1 };
		ci_of(y, x, 4, &lo, &hi);
		CHECK_NEAR(lo, 1.5 - QA_Z95 * 0.5, 1e-14);
		CHECK_NEAR(hi, 1.5 + QA_Z95 * 0.5, 1e-14);
	}
	/* Undefined: one pair, or nothing right. */
	{
		const double y[] = { 1, 2 }, x[] = { 1, 0 }, none[] = { 0, 0 };
		ci_of(y, x, 1, &lo, &hi);
		CHECK(isnan(lo) && isnan(hi));
		ci_of(y, none, 2, &lo, &hi);
		CHECK(isnan(lo) && isnan(hi));
	}
	return t_done("ratio");
}
