/* qa-score: one record, scored by each of its metrics, written out with its scores. */
#include "qa-score.h"

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

void score_record(void *arg, const char *file, unsigned long lineno, const char *line, size_t len)
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
