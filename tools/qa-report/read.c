/*
 * Reading what the pipelines leave: scored runs, the tools' JSON summaries
 * and the ramp's rows.  Every field is looked up by name and may be absent:
 * other tools grow new fields and tasks, and those must simply show up.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"

static char *str_new(const qa_json *j, int tok)
{
	size_t n;
	const char *s;

	if (tok < 0)
		return NULL;
	if ((s = json_str(j, tok, &n)))
		return xstrndup(s, n);
	if (json_type(j, tok) == QA_NULL)
		return NULL;
	/* A number, an array of acceptable answers, an object: shown as JSON. */
	s = json_raw(j, tok, &n);
	return xstrndup(s, n);
}

/* "expected" may be a list of acceptable answers: shown one per line. */
static char *expected_new(const qa_json *j, int tok)
{
	if (tok < 0 || json_type(j, tok) != QA_ARRAY)
		return str_new(j, tok);
	qa_buf b = { 0 };
	size_t n = json_count(j, tok);
	for (size_t i = 0; i < n; i++) {
		char *s = str_new(j, json_index(j, tok, i));
		if (i)
			buf_adds(&b, "\n");
		buf_adds(&b, s ? s : "null");
		free(s);
	}
	char *out = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return out;
}

/* Chat messages as "role: content" lines, for a record without "prompt". */
static char *messages_new(const qa_json *j, int tok)
{
	qa_buf b = { 0 };
	size_t n = json_count(j, tok);
	for (size_t i = 0; i < n; i++) {
		int m = json_index(j, tok, i);
		char *role = str_new(j, json_find(j, m, "role"));
		char *content = str_new(j, json_find(j, m, "content"));
		buf_printf(&b, "%s%s: %s", i ? "\n" : "", role ? role : "?", content ? content : "");
		free(role);
		free(content);
	}
	char *out = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return out;
}

/* The name of the first metric a record lists: a string, {name}, or a list of either. */
static char *first_metric_new(const qa_json *j, int root)
{
	int t = json_find(j, root, "metric");
	if (t < 0)
		t = json_find(j, root, "metrics");
	if (t >= 0 && json_type(j, t) == QA_ARRAY)
		t = json_index(j, t, 0);
	if (t >= 0 && json_type(j, t) == QA_OBJECT)
		t = json_find(j, t, "name");
	if (t >= 0 && json_type(j, t) == QA_STRING)
		return str_new(j, t);
	return NULL;
}

static double num_at(const qa_json *j, int root, const char *path)
{
	double v;
	int t = json_find(j, root, path);
	return t >= 0 && json_num(j, t, &v) == 0 ? v : NAN;
}

static void item_read(struct side *s, const qa_json *j, unsigned long lineno)
{
	int root = json_root(j);
	struct item it = { 0 };

	int t = json_find(j, root, "id");
	if (t >= 0 && json_type(j, t) != QA_NULL)
		it.id = str_new(j, t);
	else {
		char b[32];
		snprintf(b, sizeof b, "%lu", lineno);
		it.id = xstrdup(b);
	}
	it.task = str_new(j, json_find(j, root, "task"));
	if (!it.task)
		it.task = str_new(j, json_find(j, root, "name"));
	if (!it.task)
		it.task = xstrdup("(no task)");
	t = json_find(j, root, "prompt");
	if (t >= 0)
		it.prompt = str_new(j, t);
	else if ((t = json_find(j, root, "messages")) >= 0 && json_type(j, t) == QA_ARRAY)
		it.prompt = messages_new(j, t);
	t = json_find(j, root, "expected");
	it.expected = expected_new(j, t >= 0 ? t : json_find(j, root, "ground_truth"));
	it.answer = str_new(j, json_find(j, root, "response.text"));
	it.error = str_new(j, json_find(j, root, "error.type"));

	/* The first score: the first metric the record lists, else the first score it has. */
	it.metric = first_metric_new(j, root);
	int sc = json_find(j, root, "scores");
	if (!it.metric && sc >= 0 && json_type(j, sc) == QA_OBJECT && json_count(j, sc) > 0) {
		size_t n;
		const char *k = json_key(j, json_key_at(j, sc, 0), &n);
		it.metric = xstrndup(k, n);
	}
	it.score = NAN;
	if (it.metric && sc >= 0) {
		t = json_member(j, sc, it.metric, strlen(it.metric));
		if (t >= 0 && json_num(j, t, &it.score) != 0)
			it.score = NAN;
		int d = json_find(j, root, "details");
		if (d >= 0 && (d = json_member(j, d, it.metric, strlen(it.metric))) >= 0)
			it.extracted = str_new(j, json_find(j, d, "extracted"));
	}
	it.latency = num_at(j, root, "response.latency_ms");
	it.ttft = num_at(j, root, "response.ttft_ms");
	it.tpot = num_at(j, root, "response.tpot_ms");
	double a = num_at(j, root, "response.attempts");
	if (isnan(a))
		a = num_at(j, root, "error.attempts");
	it.attempts = isnan(a) ? 0 : (long)a;
	it.fallback = json_find(j, root, "response.fallback_from") >= 0;

	/* The settings the side ran with: from its first record, noting when they vary. */
	if (!s->model)
		s->model = str_new(j, json_find(j, root, "response.model"));
	if (!s->model)
		s->model = str_new(j, json_find(j, root, "model"));
	if (!s->endpoint)
		s->endpoint = str_new(j, json_find(j, root, "response.endpoint"));
	if (!s->endpoint)
		s->endpoint = str_new(j, json_find(j, root, "endpoint"));
	if (!s->qa_version)
		s->qa_version = str_new(j, json_find(j, root, "response.sent.qa_version"));
	t = json_find(j, root, "response.sent.params");
	if (t < 0)
		t = json_find(j, root, "params");
	char *params = t >= 0 ? str_new(j, t) : xstrdup("");
	if (s->n == 0)
		s->params = params;
	else {
		if (strcmp(params, s->params) != 0)
			s->params_vary = 1;
		free(params);
	}

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->it = xreallocarray(s->it, s->cap, sizeof *s->it);
	}
	s->it[s->n++] = it;
}

static const struct side *sort_side;
static int cmp_by_id(const void *a, const void *b)
{
	return strcmp(sort_side->it[*(const size_t *)a].id, sort_side->it[*(const size_t *)b].id);
}

void side_load(struct report *r, struct side *s, const char *path)
{
	qa_lines in;
	char *line;
	ssize_t len;
	char msg[256];
	struct stat st;

	if (lines_open(&in, path) < 0)
		qa_die(QA_EXIT_USAGE, "%s: %s", path, strerror(errno));
	s->path = xstrdup(path);
	s->mtime = stat(path, &st) == 0 ? st.st_mtime : 0;
	qa_json *j = json_new();
	while ((len = lines_next(&in, &line)) >= 0) {
		int v = record_parse(j, line, (size_t)len, msg, sizeof msg);
		if (v == 1)
			continue;
		if (v < 0) {
			qa_warn_at(path, in.lineno, "%s: left out of the report", msg);
			r->status = QA_EXIT_DATA;
			continue;
		}
		item_read(s, j, in.lineno);
	}
	if (lines_error(&in))
		qa_die(QA_EXIT_USAGE, "%s: %s", path, strerror(errno));
	lines_close(&in);
	json_free(&j);
	if (!s->name)
		s->name = xstrdup(s->endpoint ? s->endpoint : path);
	s->by_id = xreallocarray(NULL, s->n ? s->n : 1, sizeof *s->by_id);
	for (size_t i = 0; i < s->n; i++)
		s->by_id[i] = i;
	sort_side = s;
	qsort(s->by_id, s->n, sizeof *s->by_id, cmp_by_id);
}

const struct item *side_find(const struct side *s, const char *id)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->it[s->by_id[mid]].id, id);
		if (c == 0)
			return &s->it[s->by_id[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A summary that is missing is a section that says so, not an error. */
void doc_load(struct report *r, struct doc *d, const char *path)
{
	qa_lines in;
	char *line;
	ssize_t len;
	char msg[256];

	d->path = path;
	if (!path || lines_open(&in, path) < 0)
		return;
	while ((len = lines_next(&in, &line)) >= 0) {
		qa_json *j = json_new();
		char *text = xstrndup(line, (size_t)len);
		int v = record_parse(j, text, (size_t)len, msg, sizeof msg);
		if (v != 0) {
			if (v < 0) {
				qa_warn_at(path, in.lineno, "%s: left out of the report", msg);
				r->status = QA_EXIT_DATA;
			}
			json_free(&j);
			free(text);
			continue;
		}
		d->text = xreallocarray(d->text, d->n + 1, sizeof *d->text);
		d->j = xreallocarray(d->j, d->n + 1, sizeof *d->j);
		d->text[d->n] = text;
		d->j[d->n++] = j;
	}
	lines_close(&in);
}

void doc_free(struct doc *d)
{
	for (size_t i = 0; i < d->n; i++) {
		json_free(&d->j[i]);
		free(d->text[i]);
	}
	free(d->j);
	free(d->text);
	d->n = 0;
}

long doc_find(const struct doc *d, const char *scope, const char *task)
{
	for (size_t i = 0; i < d->n; i++) {
		int root = json_root(d->j[i]);
		int t = json_find(d->j[i], root, "scope");
		if (t < 0 || !json_str_eq(d->j[i], t, scope, strlen(scope)))
			continue;
		if (task) {
			t = json_find(d->j[i], root, "task");
			if (t < 0 || !json_str_eq(d->j[i], t, task, strlen(task)))
				continue;
		}
		return (long)i;
	}
	return -1;
}

int doc_tok(const struct doc *d, long i, const char *path)
{
	if (i < 0 || (size_t)i >= d->n)
		return -1;
	return json_find(d->j[i], json_root(d->j[i]), path);
}

double doc_num(const struct doc *d, long i, const char *path)
{
	double v;
	int t = doc_tok(d, i, path);
	return t >= 0 && json_num(d->j[i], t, &v) == 0 ? v : NAN;
}

const char *doc_str(const struct doc *d, long i, const char *path)
{
	int t = doc_tok(d, i, path);
	return t >= 0 ? json_str(d->j[i], t, NULL) : NULL;
}

static void ramp_row(struct report *r, const char *path)
{
	qa_lines in;
	char *line;
	ssize_t len;

	if (lines_open(&in, path) < 0)
		return;
	while ((len = lines_next(&in, &line)) >= 0) {
		if (len == 0)
			continue;
		struct stage st = { 0 };
		char *copy = xstrdup(line);
		size_t k = 0;
		/* Split by hand: strtok would merge empty fields. */
		for (char *p = copy; k < 9; k++) {
			char *tab = strchr(p, '\t');
			if (tab)
				*tab = '\0';
			st.f[k] = xstrdup(p);
			if (!tab) {
				k++;
				break;
			}
			p = tab + 1;
		}
		free(copy);
		char *end;
		st.stage = strtol(st.f[0], &end, 10);
		if (k < 9 || *end) {
			qa_warn_at(path, in.lineno, "not a ramp row (9 tab-separated fields): left out");
			r->status = QA_EXIT_DATA;
			for (size_t i = 0; i < 9; i++)
				free(st.f[i]);
			continue;
		}
		r->ramp = xreallocarray(r->ramp, r->nramp + 1, sizeof *r->ramp);
		r->ramp[r->nramp++] = st;
	}
	lines_close(&in);
}

/* Stages in plan order, the rollback (stage 0) last, as ramp.txt lists them. */
static int cmp_stage(const void *a, const void *b)
{
	long x = ((const struct stage *)a)->stage, y = ((const struct stage *)b)->stage;
	if (x == 0 || y == 0)
		return (x == 0) - (y == 0);
	return (x > y) - (x < y);
}

void ramp_load(struct report *r, const char *path, int is_dir)
{
	if (!is_dir)
		ramp_row(r, path);
	else {
		DIR *dp = opendir(path);
		struct dirent *e;
		if (!dp)
			return;
		while ((e = readdir(dp))) {
			size_t n = strlen(e->d_name);
			if (strncmp(e->d_name, "stage-", 6) != 0 || n < 10 || strcmp(e->d_name + n - 4, ".row") != 0)
				continue;
			qa_buf b = { 0 };
			buf_printf(&b, "%s/%s", path, e->d_name);
			ramp_row(r, buf_cstr(&b));
			buf_free(&b);
		}
		closedir(dp);
	}
	if (r->nramp > 1)
		qsort(r->ramp, r->nramp, sizeof *r->ramp, cmp_stage);
}
