/* qa-diff: the state of one comparison: the index, reading both runs, joining them by id. */

#include "qa-diff.h"

/* ---- hashing and a compact open-addressing index ---- */

/* FNV-1a over a type tag and the bytes, then MurmurHash3's finalizer to spread the bits. */
uint64_t tag_hash(int tag, const char *s, size_t n)
{
	unsigned char t = (unsigned char)tag;
	return hash_fmix64(hash_fnv1a(hash_fnv1a(HASH_FNV_BASIS, &t, 1), s, n));
}

uint64_t key_at(const void *keys, size_t stride, uint32_t pos)
{
	uint64_t h;
	memcpy(&h, (const char *)keys + (size_t)pos * stride, sizeof h);
	return h;
}

/* The slot holding hash h, or the empty slot where it would go. */
uint32_t *index_slot(const struct index *x, uint64_t h, const void *keys, size_t stride)
{
	size_t mask = x->cap - 1, i = (size_t)h & mask;
	for (;;) {
		uint32_t s = x->slot[i];
		if (!s || key_at(keys, stride, s - 1) == h)
			return &x->slot[i];
		i = (i + 1) & mask;
	}
}

/* Makes room for entry number n (0-based) before it is added. */
void index_reserve(struct index *x, size_t n, const void *keys, size_t stride)
{
	if (x->cap && (n + 1) * 4 <= x->cap * 3)
		return;
	if (n >= NONE - 1)
		qa_die(QA_EXIT_USAGE, "more than %u items", NONE - 2);
	free(x->slot);
	x->cap = x->cap ? x->cap * 2 : 64;
	x->slot = xcalloc(x->cap, sizeof *x->slot);
	for (uint32_t pos = 0; pos < n; pos++)
		*index_slot(x, key_at(keys, stride, pos), keys, stride) = pos + 1;
}

/* ---- the state of one comparison ---- */

void dvec_add(struct dvec *d, double x)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->v = xreallocarray(d->v, d->cap, sizeof *d->v);
	}
	d->v[d->n++] = x;
}

void drift_merge(struct drift *into, const struct drift *from)
{
	into->records += from->records;
	into->differ += from->differ;
	into->tokens += from->tokens;
	for (int k = 0; k < 2; k++) {
		into->lp_sum[k] += from->lp_sum[k];
		into->lp_n[k] += from->lp_n[k];
		moments_merge(&into->nll[k], &from->nll[k]);
	}
	moments_merge(&into->dln, &from->dln);
	moments_merge(&into->dp, &from->dp);
	moments_merge(&into->dp2, &from->dp2);
	comoments_merge(&into->rec, &from->rec);
	into->top_n += from->top_n;
	into->same_top += from->same_top;
	moments_merge(&into->cover, &from->cover);
	into->kl_inf += from->kl_inf;
	into->kl_undef += from->kl_undef;
	into->dup[BASE] += from->dup[BASE];
	into->dup[CAND] += from->dup[CAND];
	into->exact += from->exact;
}

struct cs_table CS;

uint32_t cs_intern(const char *s, size_t n)
{
	if (2 * (CS.nnames + 1) > CS.ixcap) {
		size_t cap = CS.ixcap ? 2 * CS.ixcap : 64;
		uint32_t *ix = xcalloc(cap, sizeof *ix);
		for (size_t i = 0; i < CS.nnames; i++) {
			size_t at = (size_t)tag_hash('s', CS.names[i], strlen(CS.names[i])) & (cap - 1);
			while (ix[at])
				at = (at + 1) & (cap - 1);
			ix[at] = (uint32_t)i + 1;
		}
		free(CS.ix);
		CS.ix = ix;
		CS.ixcap = cap;
	}
	size_t at = (size_t)tag_hash('s', s, n) & (CS.ixcap - 1);
	for (; CS.ix[at]; at = (at + 1) & (CS.ixcap - 1)) {
		const char *x = CS.names[CS.ix[at] - 1];
		if (strlen(x) == n && memcmp(x, s, n) == 0)
			return CS.ix[at] - 1;
	}
	CS.names = xreallocarray(CS.names, CS.nnames + 1, sizeof *CS.names);
	CS.names[CS.nnames] = xstrndup(s, n);
	CS.ix[at] = (uint32_t)++CS.nnames;
	return (uint32_t)CS.nnames - 1;
}

/* Keeps the numbers of the stats object at tok; returns how many. */
uint32_t cs_read(const qa_json *j, int tok, uint32_t *off)
{
	*off = (uint32_t)CS.n;
	uint32_t k = 0;
	for (size_t i = 0; i < json_count(j, tok); i++) {
		int key = json_key_at(j, tok, i);
		size_t len;
		double v;
		const char *name = json_key(j, key, &len);
		if (!name || memchr(name, '\0', len) || json_num(j, key + 1, &v) < 0)
			continue;
		if (CS.n == CS.cap) {
			CS.cap = CS.cap ? 2 * CS.cap : 1024;
			CS.v = xreallocarray(CS.v, CS.cap, sizeof *CS.v);
		}
		CS.v[CS.n++] = (struct cstat){ cs_intern(name, len), v };
		k++;
	}
	return k;
}

struct diff_state D;

int gate_given(void)
{
	return !isnan(O.max_drop) || !isnan(O.max_flips) || !isnan(O.min_recovery) ||
	    !isnan(O.max_invalid) || !isnan(O.max_errors) || !isnan(O.max_p95) || !isnan(O.max_kld) ||
	    !isnan(O.min_same_top) || !isnan(O.max_ppl_ratio) || !isnan(O.max_excess_flips) ||
	    stream_lat_gated();
}

uint32_t task_get(const char *name, size_t len)
{
	uint64_t h = name ? tag_hash('t', name, len) : tag_hash('T', "", 0);
	index_reserve(&D.tasks_ix, D.ntasks, D.task_hash, sizeof *D.task_hash);
	uint32_t *slot = index_slot(&D.tasks_ix, h, D.task_hash, sizeof *D.task_hash);
	if (*slot)
		return *slot - 1;
	D.tasks = xreallocarray(D.tasks, D.ntasks + 1, sizeof *D.tasks);
	D.task_hash = xreallocarray(D.task_hash, D.ntasks + 1, sizeof *D.task_hash);
	struct task *t = &D.tasks[D.ntasks];
	memset(t, 0, sizeof *t);
	t->name = name ? xstrndup(name, len) : NULL;
	t->metric = NO_METRIC;
	D.task_hash[D.ntasks] = h;
	*slot = (uint32_t)D.ntasks + 1;
	return (uint32_t)D.ntasks++;
}

uint32_t cluster_get(uint64_t h)
{
	index_reserve(&D.clusters_ix, D.nclusters, D.cluster_hash, sizeof *D.cluster_hash);
	uint32_t *slot = index_slot(&D.clusters_ix, h, D.cluster_hash, sizeof *D.cluster_hash);
	if (*slot)
		return *slot - 1;
	D.cluster_hash = xreallocarray(D.cluster_hash, D.nclusters + 1, sizeof *D.cluster_hash);
	D.cluster_hash[D.nclusters] = h;
	*slot = (uint32_t)D.nclusters + 1;
	return (uint32_t)D.nclusters++;
}

uint16_t metric_get(const char *name, size_t len)
{
	for (size_t i = 0; i < D.nmetrics; i++)
		if (strlen(D.metrics[i]) == len && memcmp(D.metrics[i], name, len) == 0)
			return (uint16_t)i;
	if (D.nmetrics >= NO_METRIC)
		qa_die(QA_EXIT_USAGE, "more than %u different score names", NO_METRIC);
	D.metrics = xreallocarray(D.metrics, D.nmetrics + 1, sizeof *D.metrics);
	D.metrics[D.nmetrics] = xstrndup(name, len);
	return (uint16_t)D.nmetrics++;
}

/*
 * The identity of an id or cluster value: a string by its unescaped text, a
 * number by its value (1, 1.0 and 1e0 are one id), an integer written
 * without fraction or exponent by its digits, at any size.  A string never
 * equals a number: "1" and 1 are two ids.  -1: neither a string nor a number.
 */
int value_hash(const qa_json *j, int tok, uint64_t *h)
{
	size_t n;
	const char *s;
	static qa_buf num;

	switch (json_type(j, tok)) {
	case QA_STRING:
		s = json_str(j, tok, &n);
		*h = tag_hash('s', s, n);
		return 0;
	case QA_NUMBER:
		/* The same key qa-route buckets by (json_num_key). */
		s = json_num_key(j, tok, &num, &n);
		*h = tag_hash('n', s, n);
		return 0;
	default:
		return -1;
	}
}

/* The score named m in scores, or NaN. */
double score_named(const qa_json *j, int scores, const char *m, size_t mlen)
{
	double v;
	if (json_num(j, json_member(j, scores, m, mlen), &v) < 0 || !isfinite(v))
		return NAN;
	return v;
}

int listed_invalid(const qa_json *j, const char *m, size_t mlen)
{
	int inv = json_member(j, 0, "invalid", 7);
	for (size_t i = 0; i < json_count(j, inv); i++)
		if (json_type(j, inv) == QA_ARRAY && json_str_eq(j, json_index(j, inv, i), m, mlen))
			return 1;
	return 0;
}

uint32_t clamp_line(unsigned long line)
{
	return line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
}

void id_text(size_t item, char *out, size_t outlen)
{
	const char *s = D.idpool.p + D.idoff[item];
	snprintf(out, outlen, "%s", s);
}

QA_NORETURN void duplicate(int side, unsigned long line, const qa_json *j, int idtok, uint32_t first)
{
	size_t n = 0;
	const char *raw = idtok >= 0 ? json_raw(j, idtok, &n) : NULL;
	if (raw)
		qa_warn_at(D.file[side], line, "duplicate id %.*s (first at line %lu)", (int)(n > 200 ? 200 : n),
		    raw, (unsigned long)first);
	else
		qa_warn_at(D.file[side], line, "duplicate id %lu, this record's line number standing in for "
		    "its id (first at line %lu)", line, (unsigned long)first);
	exit(QA_EXIT_USAGE);
}

/* A line that counts as a record in error and nothing more (not JSON, a bad id). */
static void unreadable(int side, unsigned long lineno, const char *msg)
{
	qa_warn_at(D.file[side], lineno, "%s", msg);
	D.extra[side].records++;
	D.extra[side].errors++;
	status_raise(QA_EXIT_DATA);
}

/* The id's hash, or the line number's standing in for it (*idtok -1, its text in lbuf); -1: a bad id. */
static int record_id(int side, unsigned long lineno, const qa_json *j, int *idtok, uint64_t *h, char *lbuf,
    size_t lbuflen)
{
	*idtok = json_member(j, 0, "id", 2);
	if (json_type(j, *idtok) == QA_ABSENT || json_type(j, *idtok) == QA_NULL) {
		*idtok = -1;
		int n = snprintf(lbuf, lbuflen, "%lu", lineno);
		*h = tag_hash('n', lbuf, (size_t)n);
		D.noid[side]++;
		return 0;
	}
	if (value_hash(j, *idtok, h) < 0) {
		unreadable(side, lineno, "id is neither a string nor a number");
		return -1;
	}
	return 0;
}

/* A new item in slot: its id kept for -v (the raw id, or the line number), its cluster. */
static struct item *item_new(uint32_t *slot, const qa_json *j, int idtok, const char *lbuf, uint64_t h,
    uint32_t task)
{
	if (D.nitems == D.capitems) {
		D.capitems = D.capitems ? D.capitems + D.capitems / 2 : 1024;
		D.items = xreallocarray(D.items, D.capitems, sizeof *D.items);
		if (O.verbose)
			D.idoff = xreallocarray(D.idoff, D.capitems, sizeof *D.idoff);
		if (D.lpoff)
			D.lpoff = xreallocarray(D.lpoff, D.capitems, sizeof *D.lpoff);
	}
	if (D.lpoff)
		D.lpoff[D.nitems] = NO_LP;
	struct item *it = &D.items[D.nitems];
	*it = (struct item){ .hash = h, .base = NAN, .cand = NAN, .task = task, .cluster = NONE,
		.metric = NO_METRIC };
	if (O.verbose) {
		D.idoff[D.nitems] = D.idpool.len;
		if (idtok >= 0) {
			size_t n;
			const char *raw = json_raw(j, idtok, &n);
			buf_add(&D.idpool, raw, n > 200 ? 200 : n);
		} else {
			buf_adds(&D.idpool, lbuf);
		}
		buf_addc(&D.idpool, '\0');
	}
	*slot = (uint32_t)D.nitems + 1;
	D.nitems++;
	int c = json_member(j, 0, "cluster", 7);
	uint64_t ch;
	if (value_hash(j, c, &ch) == 0)
		it->cluster = cluster_get(ch);
	return it;
}

/* The score a record is judged by: its scores object, the metric's name and number. */
struct pick {
	int scores;
	const char *m;
	size_t mlen;
	uint16_t mi;
};

/* Which score: --metric, the baseline's for this item, else the record's first; the baseline's is kept. */
static struct pick which_metric(int side, struct item *it, const qa_json *j)
{
	struct pick p = { json_member(j, 0, "scores", 6), NULL, 0, NO_METRIC };
	if (O.metric) {
		p.m = O.metric;
		p.mlen = strlen(p.m);
		p.mi = 0;
	} else if (side == CAND && it->metric != NO_METRIC) {
		p.mi = it->metric;
		p.m = D.metrics[p.mi];
		p.mlen = strlen(p.m);
	} else if (json_count(j, p.scores) > 0) {
		p.m = json_str(j, json_key_at(j, p.scores, 0), &p.mlen);
		p.mi = metric_get(p.m, p.mlen);
	}
	if (side == BASE)
		it->metric = p.mi;
	return p;
}

/* The perplexity score's share: its log, and the details' sum of logprobs and tokens when given. */
static void read_ppl(struct side *s, const qa_json *j, int scores)
{
	size_t plen = strlen(O.ppl_key);
	double ppl = score_named(j, scores, O.ppl_key, plen);
	if (!(ppl > 0))
		return;
	s->ppl_n++;
	s->ppl_ln += log(ppl);
	int det = json_member(j, json_member(j, 0, "details", 7), O.ppl_key, plen);
	double lp, tok;
	int tt = json_member(j, det, "tokens", 6);
	if (tt < 0)
		tt = json_member(j, det, "n_tokens", 8);
	if (tt < 0)
		tt = json_member(j, det, "n", 1);
	if (json_num(j, json_member(j, det, "sum_logprob", 11), &lp) == 0 && json_num(j, tt, &tok) == 0 &&
	    tok > 0) {
		s->ppl_lp += lp;
		s->ppl_tok += tok;
		s->ppl_tok_n++;
	}
}

/* An answered record's score (cost the cost of the record, or NaN): the item's side, the task's counts. */
static void read_score(int side, struct item *it, struct task *tk, unsigned long lineno, double cost,
    const struct pick *p)
{
	const qa_json *j = D.j;
	struct side *s = &tk->side[side];
	const char *m = p->m;
	size_t mlen = p->mlen;
	read_logprobs(side, (size_t)(it - D.items), lineno);
	double score = m ? score_named(j, p->scores, m, mlen) : NAN;
	if (isnan(score)) {
		if (!D.unscored[side]++)
			D.unscored_line[side] = lineno;
		return;
	}
	if (tk->metric == NO_METRIC)
		tk->metric = p->mi;
	else if (tk->metric != p->mi)
		tk->mixed = 1;
	s->scored++;
	if (score == 1 && !isnan(cost)) {
		s->cost_right++;
		s->cost_correct += cost;
	}
	s->invalid += listed_invalid(j, m, mlen);
	if (side == BASE)
		it->base = score;
	else
		it->cand = score;
	int st = json_member(j, json_member(j, json_member(j, 0, "details", 7), m, mlen), "stats", 5);
	if (json_type(j, st) == QA_OBJECT)
		it->sn[side] = cs_read(j, st, &it->soff[side]);
	read_ppl(s, j, p->scores);
}

/* One line of either run: its item (found by id, or made), latency and cost, then its score. */
void read_record(int side, unsigned long lineno, const char *line, size_t len)
{
	qa_json *j = D.j;
	char msg[160];
	int rc;

	if ((rc = record_parse(j, line, len, msg, sizeof msg)) > 0)
		return;	/* a blank line carries no record */
	if (rc < 0) {
		unreadable(side, lineno, msg);
		return;
	}
	int idtok;
	uint64_t h;
	char lbuf[24];
	if (record_id(side, lineno, j, &idtok, &h, lbuf, sizeof lbuf) < 0)
		return;

	int t = json_member(j, 0, "task", 4);
	if (json_type(j, t) != QA_STRING)
		t = json_member(j, 0, "name", 4);
	size_t tlen = 0;
	const char *tname = json_str(j, t, &tlen);
	uint32_t task = task_get(tname, tlen);

	int e = json_member(j, 0, "error", 5);
	int error = json_type(j, e) != QA_ABSENT && json_type(j, e) != QA_NULL;

	/* Find or make the item. */
	index_reserve(&D.items_ix, D.nitems, D.items, sizeof *D.items);
	uint32_t *slot = index_slot(&D.items_ix, h, D.items, sizeof *D.items);
	struct item *it;
	if (*slot) {
		it = &D.items[*slot - 1];
		if (side == BASE || (it->flags & IN_CAND))
			duplicate(side, lineno, j, idtok, it->line);
	} else {
		it = item_new(slot, j, idtok, lbuf, h, task);
	}
	if (side == CAND && (it->flags & IN_BASE) && it->task != task && !D.other_task++)
		D.other_task_line = lineno;
	it->flags |= side == BASE ? IN_BASE : IN_CAND;
	sent_record(side, (size_t)(it - D.items), j, lineno);
	it->line = clamp_line(lineno);
	struct pick p = which_metric(side, it, j);

	struct task *tk = &D.tasks[task];
	struct side *s = &tk->side[side];
	s->records++;
	double v;
	if (json_num(j, json_find(j, 0, "response.latency_ms"), &v) == 0)
		dvec_add(&s->lat, v);
	stream_lat_read(side, j);
	double cost = NAN;
	if (json_num(j, json_find(j, 0, "cost.total"), &v) == 0) {
		s->cost_sum += v;
		s->cost_n++;
		s->cost_sq += v * v;
		cost = v;
	}
	if (error) {
		s->errors++;
		return;
	}
	read_score(side, it, tk, lineno, cost, &p);
}

void read_run(int side)
{
	qa_lines in;
	char *line;
	ssize_t n;

	if (lines_open(&in, D.file[side]) < 0)
		qa_die(QA_EXIT_USAGE, "%s: %s", D.file[side], strerror(errno));
	while ((n = lines_next(&in, &line)) >= 0)
		read_record(side, in.lineno, line, (size_t)n);
	if (lines_error(&in) < 0)
		qa_die(QA_EXIT_USAGE, "%s: read error: %s", D.file[side], strerror(errno));
	lines_close(&in);
}
