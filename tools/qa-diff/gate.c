/* qa-diff: the deploy gate. */

#include "qa-diff.h"

/* ---- the gate ---- */

void fail(struct result *r, const char *criterion, double value, double limit, const char *fmt, ...)
{
	r->fail = xreallocarray(r->fail, r->nfail + 1, sizeof *r->fail);
	struct failure *f = &r->fail[r->nfail++];
	f->criterion = criterion;
	f->value = value;
	f->limit = limit;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof f->msg, fmt, ap);
	va_end(ap);
}

/* The interval decisions read: the bootstrap's when asked for, else the clustered one, else the normal. */
const char *ci_used(const struct result *r, double *lo, double *hi)
{
	if (O.bootstrap) {
		*lo = r->blo, *hi = r->bhi;
		return "bootstrap";
	}
	if (r->nclusters) {
		*lo = r->clo, *hi = r->chi;
		return "clustered";
	}
	*lo = r->pd.ci_low, *hi = r->pd.ci_high;
	return "normal";
}

void gate(struct result *r)
{
	double lo, hi, point = r->pd.mean_diff;
	r->gate_ci = ci_used(r, &lo, &hi);
	/* Repeats on a line of 0/1 scores: the paired test of the per-item accuracy over the runs. */
	if (r->binary && repeats_delta(r, &point, &lo, &hi))
		r->gate_ci = "repeats";
	if (!r->gated)
		return;
	if (!isnan(O.max_drop)) {
		r->ncheck++;
		/* For a lower-is-better score the loss is a rise: the CI's upper bound. */
		int low = lower_better(r->metric);
		double drop = low ? (O.gate_ci ? hi : point) : (O.gate_ci ? -lo : -point);
		const char *what = low ? r->metric : r->binary ? "accuracy" : "the mean score";
		if (isnan(drop))
			fail(r, "max-drop", NAN, O.max_drop, "--max-drop %g: the %s is undefined (%zu paired "
			    "item%s)", O.max_drop, O.gate_ci ? "CI" : "difference", r->n, r->n == 1 ? "" : "s");
		else if (drop > O.max_drop + EPS && O.gate_ci)
			fail(r, "max-drop", drop, O.max_drop, "%s may %s by %.4g (the %s CI's %s bound "
			    "is %.4g), over --max-drop %g", what, low ? "rise" : "drop", drop, r->gate_ci,
			    low ? "upper" : "lower", low ? hi : lo, O.max_drop);
		else if (drop > O.max_drop + EPS)
			fail(r, "max-drop", drop, O.max_drop, "%s %s by %.4g, over --max-drop %g",
			    what, low ? "rises" : "drops", drop, O.max_drop);
	}
	if (!isnan(O.max_flips)) {
		r->ncheck++;
		double pct = r->flips ? 100.0 * (double)(r->b + r->c) / (double)r->nflip : NAN;
		if (isnan(pct))
			fail(r, "max-flips", NAN, O.max_flips, "--max-flips %g: flips are undefined (%s)",
			    O.max_flips, r->n ? "scores are not binary" : "no paired items");
		else if (pct > O.max_flips + EPS)
			fail(r, "max-flips", pct, O.max_flips, "%.4g%% of the items flip, over --max-flips %g",
			    pct, O.max_flips);
	}
	noise_gate(r);
	if (!isnan(O.min_recovery)) {
		r->ncheck++;
		if (isnan(r->recovery))
			fail(r, "min-recovery", NAN, O.min_recovery, "--min-recovery %g: recovery is undefined "
			    "(the baseline's mean is %s)", O.min_recovery, r->n ? "0" : "undefined");
		else if (r->recovery < O.min_recovery - EPS)
			fail(r, "min-recovery", r->recovery, O.min_recovery, "recovery %.4g%% is under "
			    "--min-recovery %g", r->recovery, O.min_recovery);
	}
	if (!isnan(O.max_invalid)) {
		r->ncheck++;
		double pct = 100 * r->s[CAND].invalid_rate;
		if (isnan(pct))
			fail(r, "max-invalid", NAN, O.max_invalid, "--max-invalid %g: the candidate's invalid "
			    "rate is undefined (no scored records)", O.max_invalid);
		else if (pct > O.max_invalid + EPS)
			fail(r, "max-invalid", pct, O.max_invalid, "the candidate's invalid rate %.4g%% is "
			    "over --max-invalid %g", pct, O.max_invalid);
	}
	if (!isnan(O.max_errors)) {
		r->ncheck++;
		double pct = 100 * r->s[CAND].error_rate;
		if (isnan(pct))
			fail(r, "max-errors", NAN, O.max_errors, "--max-errors %g: the candidate's error rate is "
			    "undefined (no records)", O.max_errors);
		else if (pct > O.max_errors + EPS)
			fail(r, "max-errors", pct, O.max_errors, "the candidate's error rate %.4g%% is "
			    "over --max-errors %g", pct, O.max_errors);
	}
	if (!isnan(O.max_p95)) {
		r->ncheck++;
		if (isnan(r->r_p95))
			fail(r, "max-p95-ratio", NAN, O.max_p95, "--max-p95-ratio %g: the p95 latency ratio is "
			    "undefined (%s)", O.max_p95, !r->s[BASE].lat_n ? "no latency in the baseline" :
			    !r->s[CAND].lat_n ? "no latency in the candidate" : "the baseline's p95 is 0");
		else if (r->r_p95 > O.max_p95 + EPS)
			fail(r, "max-p95-ratio", r->r_p95, O.max_p95, "p95 latency ratio %.4g is over "
			    "--max-p95-ratio %g", r->r_p95, O.max_p95);
	}
	const struct driftres *dr = &r->dr;
	if (!isnan(O.max_kld)) {
		r->ncheck++;
		/* An infinite KL at one position makes the mean infinite, whatever the others say. */
		if (dr->d && dr->d->kl_inf)
			fail(r, "max-kld", INFINITY, O.max_kld, "the KL divergence is infinite at %ld position%s "
			    "(the candidate gives 0 to a token the baseline lists), over --max-kld %g",
			    dr->d->kl_inf, dr->d->kl_inf == 1 ? "" : "s", O.max_kld);
		else if (isnan(dr->kl_mean))
			fail(r, "max-kld", NAN, O.max_kld, "--max-kld %g: the KL divergence is undefined (no "
			    "position with top_logprobs in both runs)", O.max_kld);
		else if (dr->kl_mean > O.max_kld + EPS)
			fail(r, "max-kld", dr->kl_mean, O.max_kld, "mean KL divergence %.4g is over --max-kld %g",
			    dr->kl_mean, O.max_kld);
	}
	if (!isnan(O.min_same_top)) {
		r->ncheck++;
		if (isnan(dr->same_pct))
			fail(r, "min-same-top", NAN, O.min_same_top, "--min-same-top %g: the same-top rate is "
			    "undefined (no position with top_logprobs in both runs)", O.min_same_top);
		else if (dr->same_pct < O.min_same_top - EPS)
			fail(r, "min-same-top", dr->same_pct, O.min_same_top, "the top token is the same at "
			    "%.4g%% of positions, under --min-same-top %g", dr->same_pct, O.min_same_top);
	}
	if (!isnan(O.max_ppl_ratio)) {
		r->ncheck++;
		/* The logprobs' corpus perplexity when the line has them, else the perplexity scores'. */
		double v = dr->d && !isnan(dr->ppl_ratio) ? dr->ppl_ratio : r->r_ppl;
		if (isnan(v))
			fail(r, "max-ppl-ratio", NAN, O.max_ppl_ratio, "--max-ppl-ratio %g: the perplexity "
			    "ratio is undefined (no logprobs or perplexity scores in both runs)", O.max_ppl_ratio);
		else if (v > O.max_ppl_ratio + EPS)
			fail(r, "max-ppl-ratio", v, O.max_ppl_ratio, "perplexity ratio %.6g is over "
			    "--max-ppl-ratio %g", v, O.max_ppl_ratio);
	}
}
