/*
 * qa-score: appends scores to each record, or summarises them.
 *
 *	qa-send ... | qa-score --metric exact_match:ignore_case=true | ...
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"


/* ---- scorers: a plugin per name, an instance per distinct options ---- */

struct plug {
	char *name;
	qa_loaded loaded;
	char *err;		/* why it did not load */
	int warned;
};

struct inst {
	char *spec;		/* the text it came from: the cache key */
	char *key;		/* what scores are keyed by: the name, or "as" */
	struct plug *plug;
	void *state;
	char *err;		/* why it could not be made */
	int warned;
};

static struct plug **plugs;	/* pointers: instances keep them across reallocs */
static size_t nplugs;
static struct inst **insts;
static size_t ninsts;

static struct plug *plug_get(const char *name)
{
	for (size_t i = 0; i < nplugs; i++)
		if (strcmp(plugs[i]->name, name) == 0)
			return plugs[i];
	plugs = xreallocarray(plugs, nplugs + 1, sizeof *plugs);
	struct plug *p = plugs[nplugs++] = xcalloc(1, sizeof *p);
	p->name = xstrdup(name);
	char err[1024];
	if (plugin_load(name, QA_KIND_SCORER, &p->loaded, err, sizeof err) < 0)
		p->err = xstrdup(err);
	return p;
}

/*
 * A metric given as a JSON object: its "name" picks the plugin, "as"
 * renames the score, and the other members are the plugin's options.
 */
static struct inst *inst_make(const char *spec, const qa_json *obj)
{
	struct inst *in = xcalloc(1, sizeof *in);
	in->spec = xstrdup(spec);
	int name = json_member(obj, 0, "name", 4);
	size_t n;
	const char *s = json_str(obj, name, &n);
	if (!s || !n || memchr(s, '\0', n)) {
		in->err = xstrdup("metric has no \"name\"");
		return in;
	}
	in->plug = plug_get(s);
	const char *as = json_str(obj, json_member(obj, 0, "as", 2), NULL);
	in->key = xstrdup(as && *as ? as : s);
	if (in->plug->err) {
		in->err = xstrdup(in->plug->err);
		return in;
	}

	qa_buf opts = { 0 };
	buf_addc(&opts, '{');
	for (size_t i = 0, first = 1; i < json_count(obj, 0); i++) {
		int k = json_key_at(obj, 0, i);
		if (json_str_eq(obj, k, "name", 4) || json_str_eq(obj, k, "as", 2))
			continue;
		size_t kl, vl;
		const char *kr = json_raw(obj, k, &kl), *vr = json_raw(obj, k + 1, &vl);
		if (!first)
			buf_addc(&opts, ',');
		buf_add(&opts, kr, kl);
		buf_addc(&opts, ':');
		buf_add(&opts, vr, vl);
		first = 0;
	}
	buf_addc(&opts, '}');
	qa_json *oj = json_new();
	const char *perr;
	size_t off;
	json_parse(oj, opts.p, opts.len, &perr, &off);	/* valid: built from valid parts */

	const struct qa_scorer_ops *p = in->plug->loaded.plugin->scorer;
	char *ierr = NULL;
	if (p->init && p->init(oj, &in->state, &ierr) < 0) {
		/* Name the file: the same name may come from several directories. */
		qa_buf m = { 0 };
		buf_printf(&m, "%s (%s)", ierr ? ierr : "init failed", in->plug->loaded.path);
		in->err = xstrdup(buf_cstr(&m));
		buf_free(&m);
		free(ierr);
		if (in->state && p->fini)
			p->fini(in->state);	/* what a failed init built, it still owns */
		in->state = NULL;
	}
	host_reset();
	json_free(&oj);
	buf_free(&opts);
	return in;
}

/* The instance for a metric written as JSON text (a name string, or an object). */
static struct inst *inst_get(const char *spec, size_t len)
{
	for (size_t i = 0; i < ninsts; i++)
		if (strlen(insts[i]->spec) == len && memcmp(insts[i]->spec, spec, len) == 0)
			return insts[i];
	char *text = xstrndup(spec, len);
	qa_json *j = json_new();
	const char *err;
	size_t off;
	struct inst *in;
	if (json_parse(j, text, len, &err, &off) < 0) {
		in = xcalloc(1, sizeof *in);
		in->spec = xstrdup(text);
		in->err = xstrdup("metric is not valid JSON");
	} else if (json_type(j, 0) == QA_STRING) {
		qa_buf obj = { 0 };
		buf_adds(&obj, "{\"name\":");
		buf_add(&obj, text, len);
		buf_addc(&obj, '}');
		qa_json *oj = json_new();
		json_parse(oj, obj.p, obj.len, &err, &off);
		in = inst_make(text, oj);
		json_free(&oj);
		buf_free(&obj);
	} else if (json_type(j, 0) == QA_OBJECT) {
		in = inst_make(text, j);
	} else {
		in = xcalloc(1, sizeof *in);
		in->spec = xstrdup(text);
		in->err = xstrdup("a metric is a name or an object with a \"name\"");
	}
	json_free(&j);
	free(text);
	insts = xreallocarray(insts, ninsts + 1, sizeof *insts);
	insts[ninsts++] = in;
	return in;
}

static int is_number(const char *s)
{
	qa_json *j = json_new();
	const char *err;
	size_t off;
	int ok = json_parse(j, s, strlen(s), &err, &off) == 0 && json_type(j, 0) == QA_NUMBER;
	json_free(&j);
	return ok;
}

/* --metric NAME[:key=value,...] or a JSON object, as JSON text. */
static void spec_to_json(const char *arg, qa_buf *out)
{
	if (arg[0] == '{') {
		buf_adds(out, arg);
		return;
	}
	const char *colon = strchr(arg, ':');
	size_t nlen = colon ? (size_t)(colon - arg) : strlen(arg);
	if (!colon) {
		buf_json_string(out, arg, nlen);
		return;
	}
	buf_adds(out, "{\"name\":");
	buf_json_string(out, arg, nlen);
	char *opts = xstrdup(colon + 1), *save = NULL;
	for (char *kv = strtok_r(opts, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			qa_die(QA_EXIT_USAGE, "--metric %s: '%s' is not key=value (use a JSON object for lists)",
			    arg, kv);
		*eq = '\0';
		const char *v = eq + 1;
		buf_addc(out, ',');
		buf_json_string(out, kv, strlen(kv));
		buf_addc(out, ':');
		if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0 || is_number(v))
			buf_adds(out, v);
		else
			buf_json_string(out, v, strlen(v));
	}
	free(opts);
	buf_addc(out, '}');
}

/* ---- summaries: per task and metric, mergeable moments ---- */

struct msum {
	char *metric;
	qa_moments m;
	/*
	 * The plain sum beside the moments: for 0/1 scores it is exact, so the
	 * mean, the Wilson interval and m2 (k(n - k)/n) of shards merged come
	 * out bit for bit as one run's.
	 */
	double sum;
	long invalid;
	long nonfinite;
	int nonbinary;
	/*
	 * Perplexity scorers (details with sum_logprob and tokens): the sums
	 * lm-eval's corpus figures come from.  nowords/nobytes: some record
	 * did not say, so that figure is undefined.
	 */
	long ppl_n;
	double ppl_ll, ppl_tokens, ppl_words, ppl_bytes;
	int ppl_nowords, ppl_nobytes;
	/*
	 * Corpus scorers (a corpus() callback, qa-plugin(7)): their details'
	 * "stats" summed by name, and the instance that computes the corpus
	 * figure from the sums (the first one seen for this metric).
	 */
	struct inst *inst;
	char **snames;
	double *svals;
	size_t ns;
	size_t shint;	/* where stats_add looks first */
};

/* What a perplexity scorer's details add to the corpus sums. */
struct ppl_add {
	double ll, tokens, words, bytes;	/* words, bytes: NaN when absent */
};

struct tsum {
	char *task;		/* NULL: records without a task */
	long errors;
	struct msum *ms;
	size_t nms;
};

static struct tsum *tasks;
static size_t ntasks;
static struct tsum overall;

static struct tsum *task_get(const char *name)
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
static void stats_add_object(struct msum *m, const qa_json *j, int tok)
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

static struct msum *metric_get(struct tsum *t, const char *metric)
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

/* A scorer's statistics as numbers, from its stats() callback (qa-plugin(7)); n 0: none. */
struct bin_stats {
	const char *const *names;
	const double *values;
	size_t n;
};

static void summary_add(struct tsum *t, struct inst *in, double score, int invalid,
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
	buf_printf(out, ",\"n\":%.0f,\"mean\":", s.n);
	buf_json_number(out, s.mean);
	buf_adds(out, ",\"se\":");
	buf_json_number(out, s.se);
	buf_adds(out, ",\"ci_low\":");
	buf_json_number(out, s.lo);
	buf_adds(out, ",\"ci_high\":");
	buf_json_number(out, s.hi);
	buf_adds(out, ",\"ci_method\":");
	if (s.method)
		buf_printf(out, "\"%s\"", s.method);
	else
		buf_adds(out, "null");
	buf_printf(out, ",\"invalid\":%ld,\"invalid_rate\":", m->invalid);
	buf_json_number(out, s.n > 0 ? m->invalid / s.n : NAN);
	buf_printf(out, ",\"errors\":%ld", errors);
	if (m->nonfinite)
		buf_printf(out, ",\"nonfinite\":%ld", m->nonfinite);
	buf_adds(out, ",\"sum\":");
	buf_json_number(out, m->sum);
	buf_adds(out, ",\"m2\":");
	buf_json_number(out, m2_of(m));
	if (m->ppl_n) {
		struct ppl_line p = ppl_of(m);
		buf_adds(out, ",\"token_perplexity\":");
		buf_json_number(out, p.token);
		buf_adds(out, ",\"word_perplexity\":");
		buf_json_number(out, p.word);
		buf_adds(out, ",\"byte_perplexity\":");
		buf_json_number(out, p.byte);
		buf_adds(out, ",\"bits_per_byte\":");
		buf_json_number(out, p.bpb);
		buf_adds(out, ",\"sum_logprob\":");
		buf_json_number(out, m->ppl_ll);
		buf_adds(out, ",\"tokens\":");
		buf_json_number(out, m->ppl_tokens);
		buf_adds(out, ",\"words\":");
		buf_json_number(out, m->ppl_nowords ? NAN : m->ppl_words);
		buf_adds(out, ",\"bytes\":");
		buf_json_number(out, m->ppl_nobytes ? NAN : m->ppl_bytes);
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

static void summary_print(int table)
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

/* ---- one record ---- */

/* The top-level fields qa-score reads, found in one pass (the last of a repeated key wins). */
struct top {
	int error, task, name, expected, ground_truth, metric, metrics, answer;
};

static void index_top(const qa_json *j, const char *answer_root, size_t rootlen, struct top *t)
{
	*t = (struct top){ -1, -1, -1, -1, -1, -1, -1, -1 };
	size_t n = json_count(j, 0);
	for (int k = 1, i = 0; i < (int)n; i++, k = json_next(j, k + 1)) {
		int v = k + 1;
		size_t len;
		const char *key = json_key(j, k, &len);
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(key, lit, sizeof(lit) - 1) == 0)
		if (len == rootlen && memcmp(key, answer_root, len) == 0)
			t->answer = v;
		switch (len) {
		case 4:
			if (IS("task"))
				t->task = v;
			else if (IS("name"))
				t->name = v;
			break;
		case 5:
			if (IS("error"))
				t->error = v;
			break;
		case 6:
			if (IS("metric"))
				t->metric = v;
			break;
		case 7:
			if (IS("metrics"))
				t->metrics = v;
			break;
		case 8:
			if (IS("expected"))
				t->expected = v;
			break;
		case 12:
			if (IS("ground_truth"))
				t->ground_truth = v;
			break;
		}
#undef IS
	}
}

struct run {
	const char *answer_path;
	const char *answer_rest;	/* answer_path past its first key */
	size_t answer_rootlen;
	struct inst **cli;	/* --metric instances; NULL: the record's own */
	size_t ncli;
	int summary;
	long no_answer;
	qa_json *j;
	qa_json *scratch;	/* for checking what plugins return */
	qa_buf out;
};

/* The record's metric/metrics, as instances. */
static size_t record_metrics(struct run *r, const struct top *t, struct inst ***list, size_t *cap)
{
	qa_json *j = r->j;
	int m = t->metrics;
	if (m < 0 || json_type(j, m) == QA_NULL)
		m = t->metric;
	size_t n = 0;
	int one = json_type(j, m) == QA_STRING || json_type(j, m) == QA_OBJECT;
	size_t count = one ? 1 : json_type(j, m) == QA_ARRAY ? json_count(j, m) : 0;
	for (size_t i = 0; i < count; i++) {
		int e = one ? m : json_index(j, m, i);
		size_t len;
		const char *raw = json_raw(j, e, &len);
		if (n == *cap) {
			*cap = *cap ? *cap * 2 : 4;
			*list = xreallocarray(*list, *cap, sizeof **list);
		}
		(*list)[n++] = inst_get(raw, len);
	}
	return n;
}

/* A reference may be written as a string, a number, or an array of either. */
static size_t references(qa_json *j, const struct top *top, const char ***refs, size_t **lens, size_t *cap)
{
	int e = top->expected;
	if (e < 0 || json_type(j, e) == QA_NULL)
		e = top->ground_truth;
	int arr = json_type(j, e) == QA_ARRAY;
	size_t count = arr ? json_count(j, e) : json_type(j, e) == QA_ABSENT || json_type(j, e) == QA_NULL ? 0 : 1;
	size_t n = 0;
	if (count > *cap) {
		*cap = count;
		*refs = xreallocarray(*refs, count, sizeof **refs);
		*lens = xreallocarray(*lens, count, sizeof **lens);
	}
	for (size_t i = 0; i < count; i++) {
		int t = arr ? json_index(j, e, i) : e;
		size_t len;
		const char *s = json_str(j, t, &len);
		if (!s && json_type(j, t) == QA_NUMBER) {
			s = json_raw(j, t, &len);
			s = arena_strndup(json_arena(j), s, len);	/* plugins get NUL-terminated strings */
		}
		if (!s)
			continue;
		(*refs)[n] = s;
		(*lens)[n++] = len;
	}
	return n;
}

static const char *task_of(qa_json *j, const struct top *top)
{
	int t = top->task;
	if (json_type(j, t) != QA_STRING)
		t = top->name;
	return json_str(j, t, NULL);
}

/* Scratch for the fields a record gets, kept from record to record. */
static struct {
	qa_buf scores, invalid, details, errors, err_json;
} sc;

/* What one record offers its scorers: the answer (a number's text too) and the references. */
struct offer {
	const char *answer;
	size_t alen;
	const char **refs;
	size_t *reflens;
	size_t nrefs;
};

/*
 * One scorer on the record: NULL with *o filled, or why it failed (*owned
 * set when that text is the caller's to free).  *called: the scorer ran.
 */
static const char *score_one(struct run *r, struct inst *in, const struct offer *of, qa_json *j,
    const char *file, unsigned long lineno, struct qa_output *o, int *called, int *parsed, char **owned,
    int *missing_answer)
{
	const char *err;
	size_t off;
	*called = *parsed = 0;
	*owned = NULL;
	if (in->err) {
		if (!in->warned++)
			qa_warn_at(file, lineno, "metric %s: %s", in->spec, in->err);
		return in->err;
	}
	const struct qa_plugin *p = in->plug->loaded.plugin;
	if ((p->flags & QA_NEEDS_ANSWER) && !of->answer) {
		o->invalid = 1;
		*missing_answer = 1;
		return NULL;
	}
	if ((p->flags & QA_NEEDS_REFERENCE) && !of->nrefs)
		return "no expected or ground_truth to compare with";
	struct qa_input inp = { of->answer, of->alen, of->refs, of->reflens, of->nrefs, j };
	*called = 1;
	if (p->scorer->score(in->state, &inp, o) < 0)
		return *owned = o->error ? o->error : xstrdup("scorer failed");
	free(o->error);
	/*
	 * Details are checked by parsing them, unless the scorer vouches for
	 * them (QA_DETAILS_VALID) and nothing is read from them: the summary
	 * of a scorer with stats() takes its numbers from that.
	 */
	int has_stats = QA_HAS(p->scorer, stats) && p->scorer->stats;
	*parsed = o->details && (!(p->flags & QA_DETAILS_VALID) || (r->summary && !has_stats));
	if (*parsed && json_parse(r->scratch, o->details, strlen(o->details), &err, &off) < 0)
		return "scorer returned details that are not JSON";
	return NULL;
}

/* A score into the summary (its task's and the overall): a perplexity's sums, a corpus scorer's stats. */
static void summary_share(struct run *r, struct inst *in, const struct qa_output *o, int called, int parsed,
    const char *task)
{
	/* Details parsed in score_one (unless vouched for): a perplexity scorer's sums, if these are one's. */
	struct ppl_add pa, *ppl = NULL;
	qa_json *d = r->scratch;
	if (parsed && json_type(d, 0) == QA_OBJECT &&
	    json_num(d, json_member(d, 0, "sum_logprob", 11), &pa.ll) == 0 &&
	    json_num(d, json_member(d, 0, "tokens", 6), &pa.tokens) == 0) {
		if (json_num(d, json_member(d, 0, "words", 5), &pa.words) < 0)
			pa.words = NAN;
		if (json_num(d, json_member(d, 0, "bytes", 5), &pa.bytes) < 0)
			pa.bytes = NAN;
		ppl = &pa;
	}
	/* A corpus scorer's statistics as numbers, when it hands them so. */
	struct bin_stats bs = { NULL, NULL, 0 };
	const struct qa_scorer_ops *ops = called ? in->plug->loaded.plugin->scorer : NULL;
	if (ops && o->details && QA_HAS(ops, stats) && ops->stats)
		bs.n = ops->stats(in->state, &bs.names, &bs.values);
	summary_add(task_get(task), in, o->score, o->invalid, ppl, parsed ? d : NULL, &bs);
	summary_add(&overall, in, o->score, o->invalid, ppl, parsed ? d : NULL, &bs);
}

/* A score into the record's fields: scores, invalid, details. */
static void fields_add(const struct inst *in, const struct qa_output *o)
{
	buf_adds(&sc.scores, sc.scores.len ? "," : "{");
	buf_json_string(&sc.scores, in->key, strlen(in->key));
	buf_addc(&sc.scores, ':');
	buf_json_number(&sc.scores, o->score);
	if (o->invalid) {
		buf_adds(&sc.invalid, sc.invalid.len ? "," : "[");
		buf_json_string(&sc.invalid, in->key, strlen(in->key));
	}
	if (o->details) {
		buf_adds(&sc.details, sc.details.len ? "," : "{");
		buf_json_string(&sc.details, in->key, strlen(in->key));
		buf_addc(&sc.details, ':');
		buf_adds(&sc.details, o->details);
	}
}

/* The record out with its scores, invalid, details and (any scorer failed) error. */
static void scored_write(struct run *r, qa_json *j, const char *line, size_t len)
{
	if (sc.errors.len) {
		buf_adds(&sc.err_json, "{\"type\":\"scorer\",\"message\":");
		buf_json_string(&sc.err_json, sc.errors.p, sc.errors.len);
		buf_addc(&sc.err_json, '}');
	}
	buf_adds(&sc.scores, sc.scores.len ? "}" : "{}");
	if (sc.invalid.len)
		buf_addc(&sc.invalid, ']');
	if (sc.details.len)
		buf_addc(&sc.details, '}');
	qa_field fields[] = {
		{ "scores", sc.scores.p, sc.scores.len },
		{ "invalid", sc.invalid.len ? sc.invalid.p : NULL, sc.invalid.len },
		{ "details", sc.details.len ? sc.details.p : NULL, sc.details.len },
		{ "error", sc.err_json.len ? sc.err_json.p : NULL, sc.err_json.len },
	};
	splice_record(&r->out, j, line, len, fields, 4);
	buf_addc(&r->out, '\n');
}

/*
 * Not scored: a line that is not a record (msg says why), or a record that
 * failed upstream (msg NULL: not our error, and not a wrong answer either),
 * written as it came.
 */
static void not_scored(struct run *r, const char *file, unsigned long lineno, const char *line, size_t len,
    const char *msg, const char *task)
{
	status_raise(QA_EXIT_DATA);
	overall.errors++;
	if (msg) {
		qa_warn_at(file, lineno, "%s", msg);
		if (!r->summary) {
			bad_record(&r->out, file, lineno, line, len, msg);
			buf_addc(&r->out, '\n');
		}
		return;
	}
	task_get(task)->errors++;
	if (!r->summary) {
		buf_add(&r->out, line, len);
		buf_addc(&r->out, '\n');
	}
}

static void score_record(void *arg, const char *file, unsigned long lineno, const char *line, size_t len)
{
	struct run *r = arg;
	static struct inst **own;
	static size_t owncap, refcap;
	static const char **refs;
	static size_t *reflens;
	qa_json *j = r->j;
	char msg[160];
	int rc;

	qa_set_where(file, lineno);
	if ((rc = record_parse(j, line, len, msg, sizeof msg)) > 0)
		return;
	if (rc < 0) {
		not_scored(r, file, lineno, line, len, msg, NULL);
		return;
	}

	struct top top;
	index_top(j, r->answer_path, r->answer_rootlen, &top);
	const char *task = task_of(j, &top);
	int e = top.error;
	if (e >= 0 && json_type(j, e) != QA_NULL && !json_str_eq(j, json_member(j, e, "type", 4), "scorer", 6)) {
		not_scored(r, file, lineno, line, len, NULL, task);
		return;
	}

	struct inst **list = r->cli;
	size_t nlist = r->ncli;
	if (!list)
		nlist = record_metrics(r, &top, &own, &owncap), list = own;

	struct offer of = { NULL, 0, NULL, NULL, 0 };
	int at = top.answer >= 0 ? json_find(j, top.answer, r->answer_rest) : -1;
	of.answer = json_str(j, at, &of.alen);
	if (!of.answer && json_type(j, at) == QA_NUMBER) {
		of.answer = json_raw(j, at, &of.alen);
		of.answer = arena_strndup(json_arena(j), of.answer, of.alen);
	}
	of.nrefs = references(j, &top, &refs, &reflens, &refcap);
	of.refs = refs;
	of.reflens = reflens;

	sc.scores.len = sc.invalid.len = sc.details.len = sc.errors.len = sc.err_json.len = 0;
	int missing_answer = 0;
	for (size_t i = 0; i < nlist; i++) {
		struct inst *in = list[i];
		struct qa_output o = { .size = sizeof o };
		char *owned_fail;
		int called, parsed;
		const char *fail = score_one(r, in, &of, j, file, lineno, &o, &called, &parsed, &owned_fail,
		    &missing_answer);
		if (fail) {
			buf_adds(&sc.errors, sc.errors.len ? "; " : "");
			buf_printf(&sc.errors, "%s: %s", in->key ? in->key : in->spec, fail);
		} else {
			fields_add(in, &o);
			if (r->summary)
				summary_share(r, in, &o, called, parsed, task);
		}
		free(owned_fail);
		free(o.details);
	}
	r->no_answer += missing_answer;
	if (!nlist)
		buf_adds(&sc.errors, "no metric: give --metric, or a metric field in the record");

	if (sc.errors.len) {
		status_raise(QA_EXIT_DATA);
		task_get(task)->errors++;
		overall.errors++;
	}
	if (!r->summary)
		scored_write(r, j, line, len);
	host_reset();
}

/* Every line of path through fn; output is flushed as it grows. */
static void each_line(struct run *r, const char *path, qa_line_fn *fn)
{
	lines_each(path, fn, r, &r->out);
}

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

static void merge_record(void *arg, const char *file, unsigned long lineno, const char *line, size_t len)
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

static void list_one(const qa_loaded *p, const char *path, const char *err, void *arg)
{
	(void)arg;
	if (!p) {
		printf("%-20s %-8s %-8s %s\n%20s %s\n", "?", "broken", "-", path, "", err);
		return;
	}
	const struct qa_plugin *pl = p->plugin;
	printf("%-20s %-8s %-8s %s\n%20s %s\n", pl->name,
	    pl->kind == QA_KIND_SCORER ? "scorer" : "provider", pl->version ? pl->version : "-",
	    path, "", pl->summary ? pl->summary : "");
}

/* Everything back, so the sanitizers' leak check sees only real leaks. */
static void cleanup(struct run *r)
{
	for (size_t i = 0; i < ninsts; i++) {
		struct inst *in = insts[i];
		if (!in->err && in->state && in->plug->loaded.plugin->scorer->fini)
			in->plug->loaded.plugin->scorer->fini(in->state);
		free(in->spec);
		free(in->key);
		free(in->err);
		free(in);
	}
	free(insts);
	for (size_t i = 0; i < nplugs; i++) {
		if (!plugs[i]->err)
			plugin_unload(&plugs[i]->loaded);
		free(plugs[i]->name);
		free(plugs[i]->err);
		free(plugs[i]);
	}
	free(plugs);
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
	free(r->cli);
	buf_free(&r->out);
	json_free(&r->j);
	json_free(&r->scratch);
	host_fini();
}

/* The command line (lib/opt.c). */
static struct score_opts {
	const char *answer, *format;	/* --answer, --format */
	int list, merge, summary;
	struct inst **cli;		/* --metric, in order */
	size_t ncli;
} O = { .answer = "response.text", .format = "json" };

/* --metric SPEC: an instance now, so a wrong name or option stops the run before any record. */
static void metric_opt(const char *arg)
{
	qa_buf spec = { 0 };
	spec_to_json(arg, &spec);
	struct inst *in = inst_get(spec.p, spec.len);
	buf_free(&spec);
	if (in->err)
		qa_die(QA_EXIT_USAGE, "--metric %s: %s", arg, in->err);
	for (size_t i = 0; i < O.ncli; i++)
		if (strcmp(O.cli[i]->key, in->key) == 0)
			qa_die(QA_EXIT_USAGE, "--metric %s: a score named %s is already asked for "
			    "(give this one \"as\": another name)", arg, in->key);
	O.cli = xreallocarray(O.cli, O.ncli + 1, sizeof *O.cli);
	O.cli[O.ncli++] = in;
}

static const struct qa_opt rows[] = {
	QA_ROW(QA_OPT_CALL, "metric", 'm', "SPEC", "scorer to apply: NAME, NAME:key=value,... or a JSON object\n"
	    "(repeatable; default: each record's metric/metrics)", NULL, .set = metric_opt),
	QA_ROW(QA_OPT_STRING, "answer", 'a', "PATH", "field holding the answer (default response.text)", &O.answer),
	QA_ROW(QA_OPT_FLAG, "summary", 's', NULL, "print n, mean, standard error, 95% CI, invalid rate and\n"
	    "errors per task and overall instead of the records", &O.summary),
	QA_ROW(QA_OPT_CHOICE, "format", 'f', "FMT", "summary format: json (default) or table", &O.format,
	    .choices = "json|table"),
	QA_ROW(QA_OPT_FLAG, "merge", 'M', NULL, "read --summary JSON lines (of shards) and print the\n"
	    "summary of the whole, as one run would have; a line\n"
	    "that cannot be (n < 0, a 0/1 mean above 1) is refused", &O.merge),
	QA_ROW(QA_OPT_FLAG, "list", 'l', NULL, "list the plugins on the search path and exit", &O.list),
	QA_END_HELP_VERSION,
};

static const struct qa_opts options = {
	.prog = "qa-score",
	.usage = "usage: qa-score [-s] [-a path] [-f json|table] [-m metric]... [file ...]\n"
	    "       qa-score --merge [-f json|table] [summary ...]\n"
	    "       qa-score --list\n",
	.opt = rows,
	.col = 22,
	.tail =
	    "Plugins are searched in $QA_PLUGIN_PATH, then the install directory, then\n"
	    "the build tree.  Exit status: 0 all scored, 1 some records carry errors,\n"
	    "2 usage or configuration error.  See qa-score(1).\n",
};

int main(int argc, char **argv)
{
	qa_tool_init(argv[0]);
	opt_parse(&options, &argc, &argv);
	struct run r = { .answer_path = O.answer, .cli = O.cli, .ncli = O.ncli, .summary = O.summary };
	const char *format = O.format;
	int list = O.list, merge = O.merge;

	if (list) {
		plugin_each(0, list_one, NULL);
		out_close();
		return QA_EXIT_OK;
	}
	r.answer_rootlen = strcspn(r.answer_path, ".[");
	r.answer_rest = r.answer_path + r.answer_rootlen;
	r.j = json_new();
	r.scratch = json_new();
	if (merge) {
		if (r.ncli)
			qa_die(QA_EXIT_USAGE, "--merge reads summaries: --metric does not apply");
		if (argc == 0)
			each_line(&r, "-", merge_record);
		for (int i = 0; i < argc; i++)
			each_line(&r, argv[i], merge_record);
		summary_print(strcmp(format, "table") == 0);
		cleanup(&r);
		status_exit();
	}
	if (argc == 0)
		each_line(&r, "-", score_record);
	for (int i = 0; i < argc; i++)
		each_line(&r, argv[i], score_record);
	if (r.no_answer)
		qa_warn("%ld record%s had no answer at %s (scored invalid)", r.no_answer,
		    r.no_answer == 1 ? "" : "s", r.answer_path);
	if (r.summary)
		summary_print(strcmp(format, "table") == 0);
	cleanup(&r);
	status_exit();
}
