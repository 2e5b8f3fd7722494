/* qa-score --summary: per task and metric, mergeable moments; printed as JSON lines or a table. */
#include "qa-score.h"

struct tsum *tasks;
size_t ntasks;
struct tsum overall;

struct tsum *task_get(const char *name)
{
	for (size_t i = ntasks; i-- > 0;)
		if ((!name && !tasks[i].task) || (name && tasks[i].task && strcmp(tasks[i].task, name) == 0))
			return &tasks[i];
	tasks = xreallocarray(tasks, ntasks + 1, sizeof *tasks);
	struct tsum *t = &tasks[ntasks++];
	memset(t, 0, sizeof *t);
	t->task = name ? xstrdup(name) : NULL;
	return t;
}

static void msum_free(struct msum *m)
{
	free(m->metric);
	for (size_t i = 0; i < m->ns; i++)
		free(m->snames[i]);
	free(m->snames);
	free(m->svals);
}

/* Adds value to the corpus statistic called name. */
static void stats_add(struct msum *m, const char *name, size_t len, double value)
{
	/* A scorer names its statistics in the same order every record: try the one after the last first. */
	size_t h = m->shint < m->ns ? m->shint : 0;
	if (h < m->ns && strlen(m->snames[h]) == len && memcmp(m->snames[h], name, len) == 0) {
		m->svals[h] += value;
		m->shint = h + 1;
		return;
	}
	for (size_t i = m->ns; i-- > 0;)
		if (strlen(m->snames[i]) == len && memcmp(m->snames[i], name, len) == 0) {
			m->svals[i] += value;
			m->shint = i + 1;
			return;
		}
	m->snames = xreallocarray(m->snames, m->ns + 1, sizeof *m->snames);
	m->svals = xreallocarray(m->svals, m->ns + 1, sizeof *m->svals);
	m->snames[m->ns] = xstrndup(name, len);
	m->svals[m->ns++] = value;
	m->shint = m->ns;
}

/* Every number of the object at tok (a scorer's details.stats, a summary's stats) into m's sums. */
void stats_add_object(struct msum *m, const qa_json *j, int tok)
{
	if (json_type(j, tok) != QA_OBJECT)
		return;
	for (size_t i = 0; i < json_count(j, tok); i++) {
		int k = json_key_at(j, tok, i);
		double v;
		size_t len;
		const char *name = json_key(j, k, &len);
		if (json_num(j, k + 1, &v) == 0 && name && !memchr(name, '\0', len))
			stats_add(m, name, len, v);
	}
}

struct msum *metric_get(struct tsum *t, const char *metric)
{
	for (size_t i = 0; i < t->nms; i++)
		if (strcmp(t->ms[i].metric, metric) == 0)
			return &t->ms[i];
	t->ms = xreallocarray(t->ms, t->nms + 1, sizeof *t->ms);
	struct msum *m = &t->ms[t->nms++];
	memset(m, 0, sizeof *m);
	m->metric = xstrdup(metric);
	return m;
}

void summary_add(struct tsum *t, struct inst *in, double score, int invalid,
    const struct ppl_add *ppl, const qa_json *details, const struct bin_stats *bs)
{
	struct msum *m = metric_get(t, in->key);
	if (bs->n) {
		for (size_t i = 0; i < bs->n; i++)
			stats_add(m, bs->names[i], strlen(bs->names[i]), bs->values[i]);
		if (!m->inst)
			m->inst = in;
	} else if (details && json_type(details, 0) == QA_OBJECT) {
		int st = json_member(details, 0, "stats", 5);
		if (st >= 0) {
			stats_add_object(m, details, st);
			if (!m->inst)
				m->inst = in;
		}
	}
	if (ppl) {
		m->ppl_n++;
		m->ppl_ll += ppl->ll;
		m->ppl_tokens += ppl->tokens;
		if (isnan(ppl->words))
			m->ppl_nowords = 1;
		else
			m->ppl_words += ppl->words;
		if (isnan(ppl->bytes))
			m->ppl_nobytes = 1;
		else
			m->ppl_bytes += ppl->bytes;
	}
	if (!isfinite(score)) {
		m->nonfinite++;
		return;
	}
	moments_add(&m->m, score);
	m->sum += score;
	m->invalid += invalid;
	if (score != 0 && score != 1)
		m->nonbinary = 1;
}

struct stat_line {
	double n, mean, se, lo, hi;	/* NaN when undefined */
	const char *method;
};

static double m2_of(const struct msum *m)
{
	double n = m->m.n;
	return m->nonbinary || n == 0 ? m->m.m2 : m->sum * (n - m->sum) / n;
}

static struct stat_line stat_of(const struct msum *m)
{
	struct stat_line s = { m->m.n, NAN, NAN, NAN, NAN, NULL };
	if (m->m.n > 0)
		s.mean = m->sum / m->m.n;
	if (m->m.n > 1)
		s.se = sqrt(m2_of(m) / (m->m.n - 1) / m->m.n);
	if (m->m.n > 0 && !m->nonbinary) {
		wilson_ci(m->sum, m->m.n, QA_Z95, &s.lo, &s.hi);
		s.method = "wilson";
	} else if (m->m.n > 1) {
		s.lo = s.mean - QA_Z95 * s.se;
		s.hi = s.mean + QA_Z95 * s.se;
		s.method = "normal";
	}
	return s;
}

/*
 * Corpus perplexity as lm-eval computes it: one exp over all the corpus's
 * log-likelihood, not the mean of per-record perplexities.  NaN: undefined.
 */
struct ppl_line {
	double token, word, byte, bpb;
};

static double ppl_over(double ll, double n)
{
	return n > 0 ? exp(-ll / n) : NAN;
}

static struct ppl_line ppl_of(const struct msum *m)
{
	struct ppl_line p;
	p.token = ppl_over(m->ppl_ll, m->ppl_tokens);
	p.word = m->ppl_nowords ? NAN : ppl_over(m->ppl_ll, m->ppl_words);
	p.byte = m->ppl_nobytes ? NAN : ppl_over(m->ppl_ll, m->ppl_bytes);
	p.bpb = !m->ppl_nobytes && m->ppl_bytes > 0 ? -m->ppl_ll / m->ppl_bytes / log(2.0) : NAN;
	return p;
}

/*
 * The corpus figure of a corpus scorer, from the summed stats: 0 with
 * *score and *details (malloc'd JSON or NULL), -1 when it has none.
 */
static int corpus_of(const struct msum *m, double *score, char **details)
{
	*details = NULL;
	if (!m->ns || !m->inst || m->inst->err)
		return -1;
	const struct qa_plugin *p = m->inst->plug->loaded.plugin;
	int (*fn)(void *, const char *const *, const double *, size_t, double *, char **) = p->scorer->corpus;
	if (!fn)
		return -1;
	int rc = fn(m->inst->state, (const char *const *)m->snames, m->svals, m->ns, score, details);
	host_reset();
	if (rc < 0) {
		free(*details);
		*details = NULL;
	}
	return rc;
}

static void json_line(qa_buf *out, const char *scope, const char *task, const struct msum *m, long errors)
{
	buf_printf(out, "{\"scope\":\"%s\",\"task\":", scope);
	if (task)
		buf_json_string(out, task, strlen(task));
	else
		buf_adds(out, "null");
	buf_adds(out, ",\"metric\":");
	if (!m) {
		buf_printf(out, "null,\"n\":0,\"errors\":%ld}\n", errors);
		return;
	}
	struct stat_line s = stat_of(m);
	buf_json_string(out, m->metric, strlen(m->metric));
	buf_printf(out, ",\"n\":%.0f", s.n);
	buf_kv_num(out, "mean", s.mean);
	buf_kv_num(out, "se", s.se);
	buf_kv_num(out, "ci_low", s.lo);
	buf_kv_num(out, "ci_high", s.hi);
	buf_kv_str(out, "ci_method", s.method);
	buf_kv_long(out, "invalid", m->invalid);
	buf_kv_num(out, "invalid_rate", s.n > 0 ? m->invalid / s.n : NAN);
	buf_kv_long(out, "errors", errors);
	if (m->nonfinite)
		buf_kv_long(out, "nonfinite", m->nonfinite);
	buf_kv_num(out, "sum", m->sum);
	buf_kv_num(out, "m2", m2_of(m));
	if (m->ppl_n) {
		struct ppl_line p = ppl_of(m);
		buf_kv_num(out, "token_perplexity", p.token);
		buf_kv_num(out, "word_perplexity", p.word);
		buf_kv_num(out, "byte_perplexity", p.byte);
		buf_kv_num(out, "bits_per_byte", p.bpb);
		buf_kv_num(out, "sum_logprob", m->ppl_ll);
		buf_kv_num(out, "tokens", m->ppl_tokens);
		buf_kv_num(out, "words", m->ppl_nowords ? NAN : m->ppl_words);
		buf_kv_num(out, "bytes", m->ppl_nobytes ? NAN : m->ppl_bytes);
	}
	if (m->ns && m->inst) {
		/* The corpus figure, and what --merge needs to recompute it: the sums and the metric. */
		double cs;
		char *cd;
		buf_adds(out, ",\"corpus\":");
		if (corpus_of(m, &cs, &cd) == 0)
			buf_json_number(out, cs);
		else
			buf_adds(out, "null");
		buf_adds(out, ",\"corpus_details\":");
		buf_adds(out, cd ? cd : "null");
		free(cd);
		buf_adds(out, ",\"stats\":{");
		for (size_t i = 0; i < m->ns; i++) {
			buf_adds(out, i ? "," : "");
			buf_json_string(out, m->snames[i], strlen(m->snames[i]));
			buf_addc(out, ':');
			buf_json_number(out, m->svals[i]);
		}
		buf_adds(out, "},\"spec\":");
		buf_adds(out, m->inst->spec);
	}
	buf_adds(out, "}\n");
}

/* The summary table's columns, as printf's %-20s and %7s had them: text left, numbers right. */
static const qa_table sum_cols = { .ncols = 8, .gap = " ", .width = { 20, 14, 7, 8, 19, 8, 8, 7 },
	.right = { 0, 0, 1, 1, 0, 1, 1, 1 } };

static void table_row(qa_buf *out, const char *task, const struct msum *m, long errors)
{
	char n[32], mean[32], ci[64], se[32], inv[32], err[32];
	snprintf(err, sizeof err, "%ld", errors);
	if (!m) {
		table_line(out, &sum_cols, (const char *const[]){ task ? task : "-", "-", "0", "-", "-", "-", "-", err });
		return;
	}
	struct stat_line s = stat_of(m);
	snprintf(n, sizeof n, "%.0f", s.n);
	cell_num(mean, sizeof mean, "%.4f", s.mean);
	cell_num(se, sizeof se, "%.4f", s.se);
	cell_num(inv, sizeof inv, "%.1f%%", s.n > 0 ? 100.0 * m->invalid / s.n : NAN);
	if (isfinite(s.lo))
		snprintf(ci, sizeof ci, "[%.4f, %.4f]", s.lo, s.hi);
	else
		snprintf(ci, sizeof ci, "-");
	table_line(out, &sum_cols, (const char *const[]){ task ? task : "-", m->metric, n, mean, ci, se, inv, err });
	if (m->ppl_n) {
		/* MEAN above is the mean of per-record perplexities; this is the corpus's. */
		struct ppl_line p = ppl_of(m);
		char tok[32], word[32], byte[32], bpb[32];
		cell_num(tok, sizeof tok, "%.4f", p.token);
		cell_num(word, sizeof word, "%.4f", p.word);
		cell_num(byte, sizeof byte, "%.4f", p.byte);
		cell_num(bpb, sizeof bpb, "%.4f", p.bpb);
		buf_printf(out, "  corpus %s: token_ppl %s  word_ppl %s  byte_ppl %s  bits_per_byte %s"
		    "  (%.0f tokens)\n", m->metric, tok, word, byte, bpb, m->ppl_tokens);
	}
	double cs;
	char *cd;
	if (corpus_of(m, &cs, &cd) == 0) {
		/* MEAN above is the mean of per-record scores; a corpus scorer's own figure differs. */
		char v[32];
		cell_num(v, sizeof v, "%.4f", cs);
		buf_printf(out, "  corpus %s: %s\n", m->metric, v);
	}
	free(cd);
}

void summary_print(int table)
{
	qa_buf out = { 0 };
	if (table)
		table_line(&out, &sum_cols, (const char *const[]){ "TASK", "METRIC", "N", "MEAN", "95% CI", "SE",
		    "INVALID", "ERRORS" });
	for (size_t i = 0; i < ntasks; i++) {
		struct tsum *t = &tasks[i];
		if (!t->nms) {
			if (table)
				table_row(&out, t->task, NULL, t->errors);
			else
				json_line(&out, "task", t->task, NULL, t->errors);
		}
		for (size_t k = 0; k < t->nms; k++) {
			if (table)
				table_row(&out, t->task, &t->ms[k], t->errors);
			else
				json_line(&out, "task", t->task, &t->ms[k], t->errors);
		}
	}
	for (size_t k = 0; k < overall.nms || (k == 0 && !overall.nms); k++) {
		const struct msum *m = overall.nms ? &overall.ms[k] : NULL;
		if (table)
			table_row(&out, "(overall)", m, overall.errors);
		else
			json_line(&out, "overall", NULL, m, overall.errors);
	}
	out_write(stdout, &out);
	buf_free(&out);
}

/* Every task's and the overall sums back. */
void summaries_free(void)
{
	for (size_t i = 0; i < ntasks; i++) {
		for (size_t k = 0; k < tasks[i].nms; k++)
			msum_free(&tasks[i].ms[k]);
		free(tasks[i].ms);
		free(tasks[i].task);
	}
	free(tasks);
	for (size_t k = 0; k < overall.nms; k++)
		msum_free(&overall.ms[k]);
	free(overall.ms);
}
