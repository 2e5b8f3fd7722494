/* qa-diff: output: the table, Markdown and JSON lines. */

#include "qa-diff.h"

/* ---- output ---- */

void json_side(qa_buf *b, const struct sideres *s)
{
	buf_printf(b, "{\"records\":%ld", s->records);
	buf_kv_num(b, "mean", s->mean);
	buf_kv_num(b, "se", s->se);
	buf_kv_num(b, "ci_low", s->lo);
	buf_kv_num(b, "ci_high", s->hi);
	buf_kv_str(b, "ci_method", s->ci_method);
	buf_printf(b, ",\"scored\":%ld,\"invalid\":%ld", s->scored, s->invalid);
	buf_kv_num(b, "invalid_rate", s->invalid_rate);
	buf_printf(b, ",\"errors\":%ld", s->errors);
	buf_kv_num(b, "error_rate", s->error_rate);
	buf_printf(b, ",\"latency_n\":%zu", s->lat_n);
	buf_kv_num(b, "p50_ms", s->p50);
	buf_kv_num(b, "p95_ms", s->p95);
	buf_kv_num(b, "p99_ms", s->p99);
	buf_printf(b, ",\"cost_n\":%ld", s->cost_n);
	buf_kv_num(b, "mean_cost", s->mean_cost);
	json_side_cost(b, s);
	buf_kv_num(b, "perplexity", s->ppl);
	buf_kv_str(b, "perplexity_method", s->ppl_method);
	buf_addc(b, '}');
}

const char *kl_estimate(const struct drift *d)
{
	if (d->exact)
		return d->exact == d->records ? "exact" : "mixed: --kl-base where given, else top-k";
	return O.kl_raw ? "top-k raw" : "top-k renormalized";
}

void json_drift(qa_buf *b, const struct driftres *r)
{
	const struct drift *d = r->d;
	if (!d) {
		buf_adds(b, "null");
		return;
	}
	buf_printf(b, "{\"records\":%ld,\"tokens_differ\":%ld,\"tokens\":%ld", d->records, d->differ, d->tokens);
	buf_kv_str(b, "kl_estimate", kl_estimate(d));
	buf_printf(b, ",\"exact_records\":%ld", d->exact);
	for (int k = 0; k < 2; k++) {
		buf_printf(b, ",\"%s\":{\"perplexity\":", side_name[k]);
		buf_json_number(b, r->ppl[k]);
		buf_kv_num(b, "perplexity_se", r->ppl_se[k]);
		buf_printf(b, ",\"tokens\":%ld}", d->lp_n[k]);
	}
	buf_kv_num(b, "ppl_ratio", r->ppl_ratio);
	buf_adds(b, ",\"ln_ppl_ratio\":{\"mean\":");
	buf_json_number(b, r->ln_mean);
	buf_kv_num(b, "se", r->ln_se);
	buf_addc(b, '}');
	buf_kv_num(b, "ln_ppl_correlation", r->corr);
	buf_printf(b, ",\"kld\":{\"n\":%zu", r->kl_n);
	buf_kv_num(b, "mean", r->kl_mean);
	buf_kv_num(b, "se", r->kl_se);
	for (int q = 0; q < NKLQ; q++)
		buf_kv_num(b, kl_key[q], r->kl_pct[q]);
	buf_printf(b, ",\"infinite\":%ld,\"undefined\":%ld", d->kl_inf, d->kl_undef);
	buf_kv_num(b, "top_k_coverage", r->cover);
	buf_adds(b, "},\"delta_p\":{\"mean\":");
	buf_json_number(b, r->dp_mean);
	buf_kv_num(b, "se", r->dp_se);
	buf_kv_num(b, "rms", r->rms);
	buf_kv_num(b, "rms_se", r->rms_se);
	for (int q = 0; q < NDPQ; q++)
		buf_kv_num(b, dp_key[q], r->dp_pct[q]);
	buf_printf(b, "},\"same_top\":{\"n\":%ld,\"same\":%ld", d->top_n, d->same_top);
	buf_kv_num(b, "pct", r->same_pct);
	buf_kv_num(b, "pct_se", r->same_se);
	buf_printf(b, "},\"top_collisions\":{\"baseline\":%ld,\"candidate\":%ld}}", d->dup[BASE], d->dup[CAND]);
}

void json_line(qa_buf *b, const struct result *r, int overall, int decision)
{
	buf_printf(b, "{\"scope\":\"%s\"", r->scope);
	buf_kv_str(b, "task", r->task);
	buf_kv_str(b, "metric", r->metric);
	buf_printf(b, ",\"binary\":%s,\"n\":%zu,\"only_baseline\":%ld,\"only_candidate\":%ld,\"excluded\":%ld",
	    r->binary ? "true" : "false", r->n, r->only[BASE], r->only[CAND], r->excluded);
	buf_adds(b, ",\"baseline\":");
	json_side(b, &r->s[BASE]);
	buf_adds(b, ",\"candidate\":");
	json_side(b, &r->s[CAND]);

	buf_adds(b, ",\"delta\":{\"mean\":");
	buf_json_number(b, r->pd.mean_diff);
	buf_kv_num(b, "sd", r->pd.sd_diff);
	buf_kv_num(b, "se", r->pd.se);
	buf_kv_num(b, "ci_low", r->pd.ci_low);
	buf_kv_num(b, "ci_high", r->pd.ci_high);
	buf_adds(b, ",\"clustered\":");
	if (r->nclusters) {
		buf_printf(b, "{\"clusters\":%zu", r->nclusters);
		buf_kv_num(b, "se", r->cse);
		buf_kv_num(b, "ci_low", r->clo);
		buf_kv_num(b, "ci_high", r->chi);
		buf_addc(b, '}');
	} else {
		buf_adds(b, "null");
	}
	buf_adds(b, ",\"bootstrap\":");
	if (O.bootstrap) {
		buf_printf(b, "{\"resamples\":%ld,\"seed\":%llu", O.bootstrap, (unsigned long long)O.seed);
		buf_kv_num(b, "ci_low", r->blo);
		buf_kv_num(b, "ci_high", r->bhi);
		buf_addc(b, '}');
	} else {
		buf_adds(b, "null");
	}
	buf_addc(b, '}');

	if (r->flips) {
		buf_printf(b, ",\"mcnemar\":{\"b\":%ld,\"c\":%ld", r->b, r->c);
		buf_kv_num(b, "p_exact", r->mc.p_exact);
		buf_kv_num(b, "chi2", r->mc.chi2);
		buf_kv_num(b, "p_chi2", r->mc.p_chi2);
		buf_kv_num(b, "chi2_cc", r->mc.chi2_cc);
		buf_kv_num(b, "p_chi2_cc", r->mc.p_chi2_cc);
		buf_printf(b, "},\"flips\":{\"right_to_wrong\":%ld,\"wrong_to_right\":%ld", r->b, r->c);
		double n = (double)r->nflip;
		if (r->nflip != r->n)
			buf_printf(b, ",\"n\":%zu", r->nflip);
		buf_kv_num(b, "pct_right_to_wrong", 100.0 * (double)r->b / n);
		buf_kv_num(b, "pct_wrong_to_right", 100.0 * (double)r->c / n);
		buf_kv_num(b, "pct", 100.0 * (double)(r->b + r->c) / n);
		buf_addc(b, '}');
	} else {
		buf_adds(b, ",\"mcnemar\":null,\"flips\":null");
	}
	if (r->has_corpus) {
		/* Only for corpus scorers: other runs print as before. */
		buf_adds(b, ",\"corpus\":{\"baseline\":");
		buf_json_number(b, r->cbase);
		buf_kv_num(b, "candidate", r->ccand);
		buf_kv_num(b, "delta", r->cdelta);
		buf_printf(b, ",\"bootstrap\":{\"resamples\":%ld,\"seed\":%llu", r->cresamples, (unsigned long long)O.seed);
		buf_kv_num(b, "ci_low", r->clo_b);
		buf_kv_num(b, "ci_high", r->chi_b);
		buf_kv_num(b, "p", r->cp);
		buf_adds(b, "}}");
	}
	buf_kv_num(b, "recovery_pct", r->recovery);
	buf_printf(b, ",\"lower_is_better\":%s", lower_better(r->metric) ? "true" : "false");
	buf_adds(b, ",\"ratios\":{\"p50_latency\":");
	buf_json_number(b, r->r_p50);
	buf_kv_num(b, "p95_latency", r->r_p95);
	buf_kv_num(b, "p99_latency", r->r_p99);
	buf_kv_num(b, "mean_cost", r->r_cost);
	buf_kv_num(b, "perplexity", r->r_ppl);
	buf_addc(b, '}');
	json_cost(b, r);
	json_noise(b, r);
	buf_kv_str(b, "percentiles", O.percentile_name);
	/* Only when some pair carries logprobs on both sides: runs without them print as before. */
	if (D.lp_records) {
		buf_adds(b, ",\"drift\":");
		json_drift(b, &r->dr);
	}

	buf_adds(b, ",\"gate\":");
	if (r->gated) {
		buf_printf(b, "{\"pass\":%s,\"on\":\"%s\",\"ci\":\"%s\",\"failures\":[", r->nfail ? "false" : "true",
		    O.gate_ci ? "ci" : "point", r->gate_ci);
		for (size_t i = 0; i < r->nfail; i++) {
			const struct failure *f = &r->fail[i];
			buf_printf(b, "%s{\"criterion\":\"%s\"", i ? "," : "", f->criterion);
			buf_kv_num(b, "value", f->value);
			buf_kv_num(b, "limit", f->limit);
			buf_kv_str(b, "message", f->msg);
			buf_addc(b, '}');
		}
		buf_adds(b, "]}");
	} else {
		buf_adds(b, "null");
	}
	if (overall)
		buf_printf(b, ",\"decision\":%s", !gate_given() ? "null" : decision ? "\"pass\"" : "\"fail\"");
	buf_adds(b, "}\n");
}

const char *scope_label(const struct result *r)
{
	return strcmp(r->scope, "overall") == 0 ? "(overall)" : r->task ? r->task : "(no task)";
}

/* "overall", "task NAME" or "records without a task", for messages. */
const char *scope_words(const struct result *r, char *buf, size_t n)
{
	if (strcmp(r->scope, "overall") == 0)
		return "overall";
	if (!r->task)
		return "records without a task";
	snprintf(buf, n, "task %s", r->task);
	return buf;
}

const char *const col_head[NCOL] = { "TASK", "N", "BASELINE", "CANDIDATE", "DELTA", "95% CI",
	"P (EXACT)", "R->W", "W->R", "FLIPS", "RECOVERY", "INVALID B/C", "ERRORS B/C", "P95 MS B/C" };

void row_cells(const struct result *r, char cell[NCOL][64])
{
	char a[32], b[32];
	snprintf(cell[0], 64, "%s", scope_label(r));
	snprintf(cell[1], 64, "%zu", r->n);
	cell_num(cell[2], 64, "%.4f", r->s[BASE].mean);
	cell_num(cell[3], 64, "%.4f", r->s[CAND].mean);
	cell_num(cell[4], 64, "%+.4f", r->pd.mean_diff);
	double lo, hi;
	ci_used(r, &lo, &hi);
	if (isfinite(lo) && isfinite(hi))
		snprintf(cell[5], 64, "[%+.4f, %+.4f]", lo, hi);
	else
		snprintf(cell[5], 64, "-");
	cell_num(cell[6], 64, "%.4g", r->flips ? r->mc.p_exact : NAN);
	if (r->flips) {
		snprintf(cell[7], 64, "%ld", r->b);
		snprintf(cell[8], 64, "%ld", r->c);
		/* The literature's flips: the share of items whose correctness changed, beside recovery. */
		cell_num(cell[9], 64, "%.1f%%", r->nflip ? 100.0 * (double)(r->b + r->c) / (double)r->nflip : NAN);
	} else {
		snprintf(cell[7], 64, "-");
		snprintf(cell[8], 64, "-");
		snprintf(cell[9], 64, "-");
	}
	cell_num(cell[10], 64, "%.1f%%", r->recovery);
	snprintf(cell[11], 64, "%s/%s", cell_num(a, sizeof a, "%.1f%%", 100 * r->s[BASE].invalid_rate),
	    cell_num(b, sizeof b, "%.1f%%", 100 * r->s[CAND].invalid_rate));
	snprintf(cell[12], 64, "%s/%s", cell_num(a, sizeof a, "%.1f%%", 100 * r->s[BASE].error_rate),
	    cell_num(b, sizeof b, "%.1f%%", 100 * r->s[CAND].error_rate));
	snprintf(cell[13], 64, "%s/%s", cell_num(a, sizeof a, "%.0f", r->s[BASE].p95),
	    cell_num(b, sizeof b, "%.0f", r->s[CAND].p95));
}

void decision_text(qa_buf *b, const struct result *res, size_t nres, int md)
{
	size_t nfail = 0, ncheck = 0;
	char words[200];
	for (size_t i = 0; i < nres; i++) {
		nfail += res[i].nfail;
		ncheck += res[i].ncheck;
	}
	if (!gate_given())
		buf_printf(b, md ? "**Decision: none** (no gate criteria given)\n" :
		    "decision: none (no gate criteria given)\n");
	else if (!nfail)
		buf_printf(b, md ? "**Decision: PASS** (%zu check%s)\n" : "decision: PASS (%zu check%s)\n",
		    ncheck, ncheck == 1 ? " holds" : "s hold");
	else
		buf_printf(b, md ? "**Decision: FAIL** (%zu of %zu checks failed)\n" :
		    "decision: FAIL (%zu of %zu checks failed)\n", nfail, ncheck);
	if (nfail && md)
		buf_addc(b, '\n');
	for (size_t i = 0; i < nres; i++)
		for (size_t k = 0; k < res[i].nfail; k++)
			buf_printf(b, "%s%s: %s\n", md ? "- " : "  ", scope_words(&res[i], words, sizeof words),
			    res[i].fail[k].msg);
	buf_addc(b, '\n');
}

/* v in %W.Pf, or "-" as wide when it is undefined. */
const char *fnum(char *dst, size_t n, int w, int prec, double v)
{
	if (isfinite(v))
		snprintf(dst, n, "%*.*f", w, prec, v);
	else
		snprintf(dst, n, "%*s", w, "-");
	return dst;
}

/* The overall token drift, laid out as llama-perplexity --kl-divergence prints it. */
void drift_text(qa_buf *b, const struct driftres *r)
{
	const struct drift *d = r->d;
	char x[64], y[64];
	buf_printf(b, "token drift: %ld record%s with logprobs in both runs, %ld token%s compared, ", d->records,
	    d->records == 1 ? "" : "s", d->tokens, d->tokens == 1 ? "" : "s");
	if (d->exact == d->records)
		buf_adds(b, "each one's drift exact (the candidate ran with --kl-base)\n");
	else
		buf_printf(b, "%ld with top-k lists\n", d->top_n);
	if (d->differ)
		buf_printf(b, "tokens differ: %ld record%s, left out of token drift\n", d->differ,
		    d->differ == 1 ? "" : "s");
	if (d->dup[BASE] || d->dup[CAND])
		buf_printf(b, "top-k collisions: %ld baseline and %ld candidate entries named a token string a "
		    "likelier entry of the same list had (several tokens spell it); the likeliest was kept\n",
		    d->dup[BASE], d->dup[CAND]);
	buf_adds(b, "\n====== Perplexity statistics ======\n");
	buf_printf(b, "Mean PPL(Q)                   : %s ± %s\n", fnum(x, sizeof x, 10, 6, r->ppl[CAND]),
	    fnum(y, sizeof y, 10, 6, r->ppl_se[CAND]));
	buf_printf(b, "Mean PPL(base)                : %s ± %s\n", fnum(x, sizeof x, 10, 6, r->ppl[BASE]),
	    fnum(y, sizeof y, 10, 6, r->ppl_se[BASE]));
	buf_printf(b, "Cor(ln(PPL(Q)), ln(PPL(base))): %s%s\n", fnum(x, sizeof x, 6, 2, 100 * r->corr),
	    isfinite(r->corr) ? "%" : "");
	buf_printf(b, "Mean ln(PPL(Q)/PPL(base))     : %s ± %s\n", fnum(x, sizeof x, 10, 6, r->ln_mean),
	    fnum(y, sizeof y, 10, 6, r->ln_se));
	buf_printf(b, "Mean PPL(Q)/PPL(base)         : %s ± %s\n", fnum(x, sizeof x, 10, 6, r->ppl_ratio),
	    fnum(y, sizeof y, 10, 6, r->ppl_ratio * r->ln_se));
	buf_printf(b, "\n====== KL divergence statistics (%s%s) ======\n", kl_estimate(d),
	    d->exact == d->records ? ", the whole vocabulary" : d->exact ? "" : ", a truncated estimate");
	buf_printf(b, "Mean    KLD: %s ± %s\n", fnum(x, sizeof x, 10, 6, r->kl_mean), fnum(y, sizeof y, 10, 6, r->kl_se));
	for (int q = 0; q < NKLQ; q++)
		buf_printf(b, "%s KLD: %s\n", kl_label[q], fnum(x, sizeof x, 10, 6, r->kl_pct[q]));
	if (d->cover.n > 0)
		buf_printf(b, "Top-k mass   : %s%% of the baseline's probability on the tokens both lists share\n",
		    fnum(x, sizeof x, 6, 2, 100 * r->cover));
	if (d->kl_inf || d->kl_undef)
		buf_printf(b, "KLD left out: infinite at %ld position%s, undefined at %ld\n", d->kl_inf,
		    d->kl_inf == 1 ? "" : "s", d->kl_undef);
	buf_adds(b, "\n====== Token probability statistics ======\n");
	buf_printf(b, "Mean    Δp: %s ± %s %%\n", fnum(x, sizeof x, 6, 3, 100 * r->dp_mean),
	    fnum(y, sizeof y, 5, 3, 100 * r->dp_se));
	for (int q = 0; q < NDPQ; q++)
		buf_printf(b, "%s Δp: %s%%\n", dp_label[q], fnum(x, sizeof x, 6, 3, 100 * r->dp_pct[q]));
	buf_printf(b, "RMS Δp    : %s ± %s %%\n", fnum(x, sizeof x, 6, 3, 100 * r->rms),
	    fnum(y, sizeof y, 5, 3, 100 * r->rms_se));
	buf_printf(b, "Same top p: %s ± %s %%\n", fnum(x, sizeof x, 6, 3, r->same_pct),
	    fnum(y, sizeof y, 5, 3, r->same_se));
}

/* The overall line's noise floor and cost per correct answer, when there are any, after a blank line. */
static void trust_text(qa_buf *b, const struct result *o)
{
	size_t at = b->len;
	buf_addc(b, '\n');
	size_t start = b->len;
	noise_text(b, o);
	cost_text(b, o);
	if (b->len == start)
		b->len = at;
}

/* The text table's columns, as printf's %16s and %-20s had them: text left, numbers right. */
static const qa_table text_cols = { .ncols = NCOL, .gap = " ",
	.width = { 16, 7, 9, 9, 8, 20, 9, 6, 6, 6, 9, 13, 13, 12 },
	.right = { 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1 } };

/* One row's cells as table_line wants them. */
static const char *const *row_of(const struct result *r, char cell[NCOL][64], const char *row[NCOL])
{
	row_cells(r, cell);
	for (int k = 0; k < NCOL; k++)
		row[k] = cell[k];
	return row;
}

void print_table(qa_buf *b, const struct result *res, size_t nres)
{
	char cell[NCOL][64];
	const char *row[NCOL];
	decision_text(b, res, nres, 0);
	table_line(b, &text_cols, col_head);
	for (size_t i = 0; i < nres; i++)
		table_line(b, &text_cols, row_of(&res[i], cell, row));
	trust_text(b, &res[nres - 1]);
	if (res[nres - 1].dr.d) {
		buf_addc(b, '\n');
		drift_text(b, &res[nres - 1].dr);
	}
}

static const char *const md_head[NCOL] = { "task", "n", "baseline", "candidate", "delta", "95% CI",
	"p (exact)", "right→wrong", "wrong→right", "flips", "recovery", "invalid b/c", "errors b/c", "p95 ms b/c" };

void print_md(qa_buf *b, const struct result *res, size_t nres)
{
	char cell[NCOL][64];
	const char *row[NCOL];
	/* A task name may hold a pipe: tight cells escape it, so the row keeps its columns. */
	qa_table t = { .ncols = NCOL, .tight = 1,
		.right = { 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 } };
	decision_text(b, res, nres, 1);
	table_add(&t, md_head);
	for (size_t i = 0; i < nres; i++)
		table_add(&t, row_of(&res[i], cell, row));
	table_print(b, &t, QA_TABLE_MD);
	trust_text(b, &res[nres - 1]);
	if (res[nres - 1].dr.d) {
		buf_adds(b, "\n**Token drift** (all items)\n\n```\n");
		drift_text(b, &res[nres - 1].dr);
		buf_adds(b, "```\n");
	}
}
