/* qa-score --merge: shard summaries back into the summary of the whole. */
#include "qa-score.h"

/*
 * --merge: summaries of shards (this tool's own --summary JSON lines) back
 * into the summary of the whole.  The moments merge exactly (Chan et al.),
 * the perplexity sums add, and a metric is binary only if it was binary in
 * every shard, as it would be over the whole input.
 */
static int merge_line(const qa_json *j, const char **why)
{
	size_t len;
	const char *scope = json_str(j, json_find(j, 0, "scope"), &len);
	if (!scope || (strcmp(scope, "task") != 0 && strcmp(scope, "overall") != 0)) {
		*why = "not a qa-score --summary line (no scope task or overall)";
		return -1;
	}
	struct tsum *t = &overall;
	if (strcmp(scope, "task") == 0) {
		int tt = json_find(j, 0, "task");
		t = task_get(json_str(j, tt, NULL));
	}
	double errors = 0, n = 0, sum = 0, m2 = 0, invalid = 0, nonfinite = 0;
	json_num(j, json_find(j, 0, "errors"), &errors);
	t->errors += (long)errors;
	int mt = json_find(j, 0, "metric");
	if (json_type(j, mt) != QA_STRING)
		return 0;	/* a task with errors only */
	struct msum *m = metric_get(t, json_str(j, mt, NULL));
	if (json_num(j, json_find(j, 0, "n"), &n) < 0 || (n > 0 && (json_num(j, json_find(j, 0, "sum"), &sum) < 0 ||
	    json_num(j, json_find(j, 0, "m2"), &m2) < 0))) {
		*why = "a summary line without n, sum and m2";
		return -1;
	}
	json_num(j, json_find(j, 0, "invalid"), &invalid);
	json_num(j, json_find(j, 0, "nonfinite"), &nonfinite);
	int stats = json_find(j, 0, "stats"), spec = json_find(j, 0, "spec");
	if (stats >= 0 && spec >= 0) {
		/* A corpus scorer: its sums add up, and its plugin recomputes the figure from them. */
		size_t sl;
		const char *sr = json_raw(j, spec, &sl);
		if (!m->inst)
			m->inst = inst_get(sr, sl);
		stats_add_object(m, j, stats);
	}
	qa_moments part = { .n = n, .mean = n > 0 ? sum / n : 0, .m2 = m2 };
	moments_merge(&m->m, &part);
	m->sum += sum;
	m->invalid += (long)invalid;
	m->nonfinite += (long)nonfinite;
	const char *method = json_str(j, json_find(j, 0, "ci_method"), &len);
	if (n > 0 && (!method || strcmp(method, "wilson") != 0))
		m->nonbinary = 1;
	double tokens, ll, words, bytes;
	if (json_num(j, json_find(j, 0, "tokens"), &tokens) == 0 &&
	    json_num(j, json_find(j, 0, "sum_logprob"), &ll) == 0) {
		m->ppl_n++;
		m->ppl_ll += ll;
		m->ppl_tokens += tokens;
		if (json_num(j, json_find(j, 0, "words"), &words) == 0)
			m->ppl_words += words;
		else
			m->ppl_nowords = 1;
		if (json_num(j, json_find(j, 0, "bytes"), &bytes) == 0)
			m->ppl_bytes += bytes;
		else
			m->ppl_nobytes = 1;
	}
	return 0;
}

/*
 * A shard summary that cannot be (n = -5, a mean of 3.5 for a 0/1 metric,
 * more invalid answers than answers): refused with the field and the
 * reason, before any of it is merged.  Absent fields are merge_line's
 * business; a present one must be possible.  0, or -1 with why.
 */
static int merge_check(const qa_json *j, char *why, size_t whylen)
{
	/* Counts: whole numbers, 0 or more; those of scored items at most n. */
	static const char *const counts[] = { "n", "errors", "invalid", "nonfinite", "tokens", "words", "bytes" };
	/* Non-negative reals; a standard error and a sum of squares cannot be below 0. */
	static const char *const nonneg[] = { "se", "m2" };
	double v[sizeof counts / sizeof *counts], n = -1, x;
	int tok;

	for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
		v[i] = 0;
		tok = json_find(j, 0, counts[i]);
		if (tok < 0 || json_type(j, tok) == QA_NULL)
			continue;
		if (json_num(j, tok, &v[i]) < 0 || !isfinite(v[i]) || v[i] < 0 || v[i] != floor(v[i]) || v[i] > 9e15) {
			size_t len;
			const char *raw = json_raw(j, tok, &len);
			snprintf(why, whylen, "%s is %.*s: a count is a whole number, 0 or more", counts[i],
			    len > 40 ? 40 : (int)len, raw);
			return -1;
		}
		if (i == 0)
			n = v[0];
	}
	for (size_t i = 2; i <= 3 && n >= 0; i++)
		if (v[i] > n) {
			snprintf(why, whylen, "%s is %.10g, more than n (%.10g)", counts[i], v[i], n);
			return -1;
		}
	for (size_t i = 0; i < sizeof nonneg / sizeof *nonneg; i++) {
		tok = json_find(j, 0, nonneg[i]);
		if (tok < 0 || json_type(j, tok) == QA_NULL)
			continue;
		if (json_num(j, tok, &x) < 0 || !isfinite(x) || x < 0) {
			snprintf(why, whylen, "%s must be a finite number, 0 or more", nonneg[i]);
			return -1;
		}
	}
	double sum = 0, mean;
	int has_sum = json_num(j, json_find(j, 0, "sum"), &sum) == 0;
	if (has_sum && !isfinite(sum)) {
		snprintf(why, whylen, "sum must be a finite number");
		return -1;
	}
	size_t len;
	const char *method = json_str(j, json_find(j, 0, "ci_method"), &len);
	int binary = method && strcmp(method, "wilson") == 0;
	tok = json_find(j, 0, "mean");
	if (tok >= 0 && json_type(j, tok) != QA_NULL) {
		if (json_num(j, tok, &mean) < 0 || !isfinite(mean)) {
			snprintf(why, whylen, "mean must be a finite number or null");
			return -1;
		}
		if (binary && (mean < 0 || mean > 1)) {
			snprintf(why, whylen, "mean is %.10g: a 0/1 metric (ci_method wilson) has its mean in [0, 1]", mean);
			return -1;
		}
		/* The mean is printed from sum / n: a line where they disagree was edited or mixed up. */
		if (has_sum && n > 0 && fabs(mean - sum / n) > 1e-9 * fmax(1, fabs(mean))) {
			snprintf(why, whylen, "mean %.10g is not sum / n (%.10g / %.10g)", mean, sum, n);
			return -1;
		}
	}
	if (binary && has_sum && n >= 0 && (sum < 0 || sum > n || sum != floor(sum))) {
		snprintf(why, whylen, "sum is %.10g: a 0/1 metric's sum is a whole number from 0 to n (%.10g)", sum, n);
		return -1;
	}
	if (n == 0 && has_sum && sum != 0) {
		snprintf(why, whylen, "sum is %.10g with n 0", sum);
		return -1;
	}
	double rate;
	if (json_num(j, json_find(j, 0, "invalid_rate"), &rate) == 0 && !(rate >= 0 && rate <= 1)) {
		snprintf(why, whylen, "invalid_rate is %.10g: a rate is in [0, 1]", rate);
		return -1;
	}
	double lo, hi;
	if (json_num(j, json_find(j, 0, "ci_low"), &lo) == 0 && json_num(j, json_find(j, 0, "ci_high"), &hi) == 0 &&
	    !(lo <= hi)) {
		snprintf(why, whylen, "ci_low %.10g is above ci_high %.10g", lo, hi);
		return -1;
	}
	if (json_num(j, json_find(j, 0, "sum_logprob"), &x) == 0 && !(isfinite(x) && x <= 0)) {
		snprintf(why, whylen, "sum_logprob is %.10g: a sum of log-probabilities is finite and 0 or less", x);
		return -1;
	}
	return 0;
}

void merge_record(void *arg, const char *file, unsigned long lineno, const char *line, size_t len)
{
	struct run *r = arg;
	const char *why;
	char msg[160];
	int rc = record_parse(r->j, line, len, msg, sizeof msg);
	if (rc > 0)
		return;
	if (rc < 0)
		qa_warn_at(file, lineno, "%s", msg);
	else if (merge_check(r->j, msg, sizeof msg) < 0)
		qa_warn_at(file, lineno, "not a possible summary: %s", msg);
	else if (merge_line(r->j, &why) < 0)
		qa_warn_at(file, lineno, "%s", why);
	else
		return;
	status_raise(QA_EXIT_USAGE);
}
