/*
 * qa-diff: what a right answer costs on each side, and the break-even: a
 * cheaper model that answers fewer questions right can still cost more
 * per right answer.  With c the mean cost per record and a the share of
 * records answered right, the cheaper side C stays cheaper per right
 * answer while c_C / a_C < c_O / a_O, that is while its accuracy is above
 * a_O * c_C / c_O; the break-even drop is a_O minus that.
 */

#include "qa-diff.h"

void break_even(struct result *r, const struct side side[2])
{
	r->cheaper = -1;
	r->be_acc = r->be_drop = NAN;
	double c[2], a[2];
	for (int k = 0; k < 2; k++) {
		if (side[k].cost_n == 0)
			return;
		c[k] = side[k].cost_sum / (double)side[k].cost_n;
		a[k] = (double)side[k].cost_right / (double)side[k].cost_n;
	}
	if (c[BASE] == c[CAND])
		return;
	int ch = c[CAND] < c[BASE] ? CAND : BASE, other = 1 - ch;
	if (a[other] == 0)
		return;	/* the dearer side answers nothing right: no cost per right answer to beat */
	r->cheaper = ch;
	r->be_acc = a[other] * c[ch] / c[other];
	r->be_drop = a[other] - r->be_acc;
}

/*
 * Recovery as the quantization literature reports it: per task, then the
 * plain mean over the tasks (each task counts once, whatever its size),
 * beside the pooled figure of the overall line.
 */
void recovery_mean(struct result *o, const struct result *tasks, size_t ntasks)
{
	double sum = 0;
	size_t n = 0;
	for (size_t t = 0; t < ntasks; t++)
		if (isfinite(tasks[t].recovery)) {
			sum += tasks[t].recovery;
			n++;
		}
	o->recovery_mean = n ? sum / (double)n : NAN;
}

void json_cost(qa_buf *b, const struct result *r)
{
	if (strcmp(r->scope, "overall") == 0)
		buf_kv_num(b, "recovery_pct_task_mean", r->recovery_mean);
	buf_adds(b, ",\"break_even\":");
	if (r->cheaper < 0) {
		buf_adds(b, "null");
		return;
	}
	buf_printf(b, "{\"cheaper\":\"%s\"", side_name[r->cheaper]);
	buf_kv_num(b, "accuracy", r->be_acc);
	buf_kv_num(b, "drop", r->be_drop);
	buf_addc(b, '}');
}

void json_side_cost(qa_buf *b, const struct sideres *s)
{
	buf_kv_num(b, "cost_per_correct", s->per_correct);
	buf_adds(b, ",\"cost_per_correct_ci\":");
	if (isnan(s->per_correct_lo)) {
		buf_adds(b, "null");
		return;
	}
	buf_adds(b, "{\"low\":");
	buf_json_number(b, s->per_correct_lo);
	buf_adds(b, ",\"high\":");
	buf_json_number(b, s->per_correct_hi);
	buf_adds(b, ",\"method\":\"delta\"}");
}

/* For people: what a right answer costs on each side, and where the cheaper side stops being cheaper. */
void cost_text(qa_buf *b, const struct result *r)
{
	if (isfinite(r->recovery_mean) && isfinite(r->recovery) && r->flips)
		buf_printf(b, "Recovery: %.1f%% pooled, %.1f%% averaged over the tasks; %.1f%% of the items flip.\n",
		    r->recovery, r->recovery_mean, 100.0 * (double)(r->b + r->c) / (double)r->nflip);
	if (isnan(r->s[BASE].per_correct) && isnan(r->s[CAND].per_correct))
		return;
	buf_adds(b, "Cost per correct answer:");
	for (int k = 0; k < 2; k++) {
		const struct sideres *s = &r->s[k];
		buf_printf(b, "%s %s ", k ? ";" : "", side_name[k]);
		if (isnan(s->per_correct))
			buf_adds(b, "-");
		else if (isnan(s->per_correct_lo))
			buf_printf(b, "%.4g", s->per_correct);
		else
			buf_printf(b, "%.4g [%.4g, %.4g]", s->per_correct, s->per_correct_lo, s->per_correct_hi);
	}
	buf_adds(b, " (95% CI, delta method).\n");
	if (r->cheaper >= 0)
		buf_printf(b, "Break-even: the %s is cheaper per correct answer while its accuracy stays above %.1f%% "
		    "(%.1f points under the %s's).\n", side_name[r->cheaper], 100 * r->be_acc, 100 * r->be_drop,
		    side_name[1 - r->cheaper]);
}
