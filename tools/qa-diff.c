/*
 * qa-diff: joins two scored runs by id and prints paired statistics, per
 * task and overall, with a deploy gate.
 *
 *	qa-diff --max-drop 0.02 --max-flips 5 baseline.jsonl candidate.jsonl
 *
 * Memory: the baseline is read whole into a table of items (a 64-bit hash
 * of the id and a few numbers, 40 bytes each); the candidate is streamed
 * against it.  Latencies are kept per side for the percentiles.  When
 * records carry logprobs, the baseline's go to a temporary file (they can
 * be far larger than the rest of the item) and are read back as the
 * candidate's arrive, and one KL value per compared token (8 bytes) is
 * kept for the percentiles.  Nothing else grows with the input.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qa.h"

static const char usage_text[] =
    "usage: qa-diff [-v] [-f json|table|md] [-m metric] [--max-drop fraction]\n"
    "               [--gate-on ci|point] [--gate-scope overall|task|both]\n"
    "               [--max-flips pct] [--min-recovery pct] [--max-invalid pct]\n"
    "               [--max-errors pct] [--max-p95-ratio ratio] [--bootstrap n]\n"
    "               [--seed s] [--z z] [--percentiles linear|nearest-rank]\n"
    "               [--perplexity name] [--kl renormalized|raw] [--max-kld nats]\n"
    "               [--min-same-top pct] [--max-ppl-ratio ratio] baseline candidate\n"
    "\n"
    "  -m, --metric NAME       score to compare (default: each record's first score)\n"
    "  -f, --format FMT        json (default: a line per task and one overall),\n"
    "                          table or md (for people, the decision first)\n"
    "  -v, --verbose           list every id found in only one run\n"
    "      --max-drop F        gate: accuracy may drop at most F (a fraction: 0.02 is\n"
    "                          two points); a lower-is-better score may rise at most F\n"
    "      --gate-on WHAT      --max-drop reads the CI's lower bound (ci, default) or\n"
    "                          the point estimate (point)\n"
    "      --gate-scope WHERE  gate the overall line (default), each task, or both\n"
    "      --max-flips PCT     gate: at most PCT % of the items may flip\n"
    "      --min-recovery PCT  gate: candidate / baseline x 100 at least PCT (baseline /\n"
    "                          candidate for perplexity, bits_per_byte, latency)\n"
    "      --max-invalid PCT   gate: the candidate's invalid rate at most PCT %\n"
    "      --max-errors PCT    gate: the candidate's error rate at most PCT %\n"
    "      --max-p95-ratio R   gate: candidate p95 latency / baseline p95 at most R\n"
    "      --bootstrap N       add a paired bootstrap CI from N resamples\n"
    "      --seed S            the bootstrap's seed (default 1)\n"
    "      --z Z               normal quantile of the CIs (default 1.959963984540054)\n"
    "      --percentiles M     latency percentiles: linear (numpy's default) or\n"
    "                          nearest-rank\n"
    "      --perplexity NAME   the score holding perplexity (default perplexity)\n"
    "      --kl EST            token drift's KL divergence over the top-k lists:\n"
    "                          renormalized (default) or raw\n"
    "      --max-kld NATS      gate: mean KL divergence per token at most NATS\n"
    "      --min-same-top PCT  gate: the same top token at least PCT % of positions\n"
    "      --max-ppl-ratio R   gate: candidate / baseline perplexity at most R\n"
    "  -h, --help              show this help and exit\n"
    "  -V, --version           show the version and exit\n"
    "\n"
    "Either input may be - (standard input).  Exit status: 0 compared and the\n"
    "gate holds, 1 a gate criterion failed or some lines could not be compared,\n"
    "2 usage error, unreadable input or a duplicate id.  See qa-diff(1).\n";

#define NONE UINT32_MAX
#define NO_METRIC UINT16_MAX
/* Thresholds compare with this much slack, so 100 * 3 / 150 is not "over 2". */
#define EPS 1e-9

enum { BASE = 0, CAND = 1 };
static const char *const side_name[2] = { "baseline", "candidate" };

/* ---- hashing and a compact open-addressing index ---- */

/* FNV-1a over a type tag and the bytes, then MurmurHash3's finalizer to spread the bits. */
static uint64_t hash64(int tag, const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;
	h = (h ^ (unsigned char)tag) * 0x100000001b3u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53u;
	h ^= h >> 33;
	return h;
}

/*
 * Slots hold 1 + the position of an entry in a dense array whose entries
 * start with their 64-bit hash, stride bytes apart; 0 is an empty slot.
 * Linear probing, at most 3/4 full.
 */
struct index {
	uint32_t *slot;
	size_t cap;
};

static uint64_t key_at(const void *keys, size_t stride, uint32_t pos)
{
	uint64_t h;
	memcpy(&h, (const char *)keys + (size_t)pos * stride, sizeof h);
	return h;
}

/* The slot holding hash h, or the empty slot where it would go. */
static uint32_t *index_slot(const struct index *x, uint64_t h, const void *keys, size_t stride)
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
static void index_reserve(struct index *x, size_t n, const void *keys, size_t stride)
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

struct item {
	uint64_t hash;		/* of the id; first, for the index */
	double base, cand;	/* the compared score; NaN: an error, no score, or not in that run */
	uint32_t line;		/* the baseline's line; the candidate's once seen there */
	uint32_t task;
	uint32_t cluster;	/* NONE: none */
	uint16_t metric;	/* the baseline's compared score, NO_METRIC when it has none */
	uint8_t flags;
	uint32_t soff[2], sn[2];	/* its corpus statistics in CS, per side (sn 0: none) */
};
enum { IN_BASE = 1, IN_CAND = 2 };

struct dvec {
	double *v;
	size_t n, cap;
};

static void dvec_add(struct dvec *d, double x)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->v = xreallocarray(d->v, d->cap, sizeof *d->v);
	}
	d->v[d->n++] = x;
}

/* Streaming covariance of pairs (x, y), Welford's way, mergeable as qa_moments is. */
struct comoments {
	double n, mx, my, cxx, cyy, cxy;
};

static void comoments_add(struct comoments *m, double x, double y)
{
	m->n += 1;
	double dx = x - m->mx, dy = y - m->my;
	m->mx += dx / m->n;
	m->my += dy / m->n;
	m->cxx += dx * (x - m->mx);
	m->cyy += dy * (y - m->my);
	m->cxy += dx * (y - m->my);
}

/* Chan, Golub and LeVeque, as moments_merge: a task's pairs join the overall ones exactly. */
static void comoments_merge(struct comoments *into, const struct comoments *from)
{
	if (from->n == 0)
		return;
	if (into->n == 0) {
		*into = *from;
		return;
	}
	double n = into->n + from->n, dx = from->mx - into->mx, dy = from->my - into->my;
	double f = into->n * from->n / n;
	into->cxx += from->cxx + dx * dx * f;
	into->cyy += from->cyy + dy * dy * f;
	into->cxy += from->cxy + dx * dy * f;
	into->mx += dx * from->n / n;
	into->my += dy * from->n / n;
	into->n = n;
}

/* One entry of a top_logprobs object: its token's hash, logprob, and where it was listed. */
struct alt {
	uint64_t h;
	double lp;
	double other;		/* the other run's logprob of the token, NaN when it does not list it */
	uint32_t ord;
};

/*
 * Token drift in one task: what the pairs of records that both carry
 * logprobs say, in sums and moments that add up across tasks.
 */
struct drift {
	long records;		/* pairs where both records carry logprobs */
	long differ;		/* of which the tokens differ (or are missing): no token drift */
	long tokens;		/* positions compared: same tokens, a logprob on both sides */
	double lp_sum[2];	/* per run: the logprobs summed for the corpus perplexity, */
	long lp_n[2];		/* and how many */
	qa_moments nll[2];	/* the same tokens' -logprob, for the perplexity's uncertainty */
	qa_moments dln;		/* lp_base - lp_cand per compared token: ln(PPL(cand) / PPL(base)) */
	qa_moments dp, dp2;	/* p_cand - p_base of the actual token, and its square */
	struct comoments rec;	/* per-record ln PPL: baseline x, candidate y */
	long top_n, same_top;	/* positions with both top lists; where their first token agrees */
	qa_moments cover;	/* the baseline's probability on the tokens both lists share */
	long kl_inf, kl_undef;	/* positions whose KL is infinite, or undefined */
	struct dvec kl;		/* every finite KL value, for the percentiles */
	long dup[2];		/* per run: top-list entries dropped for a likelier one of the same string */
};

static void drift_merge(struct drift *into, const struct drift *from)
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
}

/*
 * Corpus statistics (qa-plugin(7)): a corpus scorer's details.stats of
 * every record, kept so that the paired bootstrap can add them up again
 * for each resample and ask the scorer's corpus() for the figure.
 */
struct cstat {
	uint32_t name;
	double v;
};

static struct {
	struct cstat *v;
	size_t n, cap;
	char **names;
	size_t nnames;
	uint32_t *ix;		/* open addressing over names: index + 1, 0 empty */
	size_t ixcap;
} CS;

static uint32_t cs_intern(const char *s, size_t n)
{
	if (2 * (CS.nnames + 1) > CS.ixcap) {
		size_t cap = CS.ixcap ? 2 * CS.ixcap : 64;
		uint32_t *ix = xcalloc(cap, sizeof *ix);
		for (size_t i = 0; i < CS.nnames; i++) {
			size_t at = (size_t)hash64('s', CS.names[i], strlen(CS.names[i])) & (cap - 1);
			while (ix[at])
				at = (at + 1) & (cap - 1);
			ix[at] = (uint32_t)i + 1;
		}
		free(CS.ix);
		CS.ix = ix;
		CS.ixcap = cap;
	}
	size_t at = (size_t)hash64('s', s, n) & (CS.ixcap - 1);
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
static uint32_t cs_read(const qa_json *j, int tok, uint32_t *off)
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

/* What one run says about one task, record by record. */
struct side {
	long records, errors, scored, invalid;
	struct dvec lat;
	double cost_sum;
	long cost_n;
	double ppl_ln, ppl_lp, ppl_tok;	/* sums: ln perplexity; and sum_logprob, tokens from details */
	long ppl_n, ppl_tok_n;
};

struct task {
	char *name;		/* NULL: records without a task */
	struct side side[2];
	long only[2];		/* ids in one run only */
	long excluded;		/* ids in both, not compared: an error or no score on a side */
	uint16_t metric;
	int mixed;		/* its records compare more than one score */
	size_t off, n;		/* its compared pairs in the gathered arrays */
	struct drift drift;
};

static struct {
	/* options */
	const char *metric;
	const char *ppl_key;
	int verbose, table, md;
	double z;
	double (*percentile)(const double *, size_t, double);
	const char *percentile_name;
	long bootstrap;
	unsigned long long seed;
	int gate_ci, gate_task, gate_overall;
	double max_drop, max_flips, min_recovery, max_invalid, max_errors, max_p95;
	int kl_raw;		/* --kl raw */
	double max_kld, min_same_top, max_ppl_ratio;

	const char *file[2];
	qa_json *j;

	struct item *items;
	size_t nitems, capitems;
	struct index items_ix;
	qa_buf idpool;		/* --verbose: every id's text, for the listing */
	size_t *idoff;

	struct task *tasks;
	uint64_t *task_hash;
	size_t ntasks;
	struct index tasks_ix;

	uint64_t *cluster_hash;
	size_t nclusters;
	struct index clusters_ix;

	char **metrics;
	size_t nmetrics;

	/* lines that are not records count in the overall figures only */
	struct side extra[2];
	long noid[2], unscored[2], other_task;
	unsigned long unscored_line[2], other_task_line;

	/* logprobs: the baseline's spooled to a file, where lpoff[item] says (NO_LP: none) */
	FILE *spool;
	uint64_t spool_end;
	uint64_t *lpoff;
	qa_json *jb;		/* a baseline record's logprobs, parsed again */
	qa_buf lpbuf;		/* and their text */
	struct alt *alt[2];	/* one position's top list per run */
	size_t altcap[2];
	double *kp, *kq;	/* the shared tokens' probabilities, for the KL */
	size_t kcap;
	long lp_records;	/* pairs with logprobs on both sides, in all tasks */
	long lp_one[2];		/* pairs with logprobs in one run only */
	long lp_bad;		/* records whose logprobs could not be read */
	long differ;
	unsigned long differ_line, lp_bad_line;
	const char *lp_bad_file;
} D = { .z = QA_Z95, .percentile = percentile_linear, .percentile_name = "linear", .seed = 1,
	.gate_ci = 1, .gate_overall = 1, .max_drop = NAN, .max_flips = NAN, .min_recovery = NAN,
	.max_invalid = NAN, .max_errors = NAN, .max_p95 = NAN, .ppl_key = "perplexity",
	.max_kld = NAN, .min_same_top = NAN, .max_ppl_ratio = NAN };

#define NO_LP UINT64_MAX

static int gate_given(void)
{
	return !isnan(D.max_drop) || !isnan(D.max_flips) || !isnan(D.min_recovery) ||
	    !isnan(D.max_invalid) || !isnan(D.max_errors) || !isnan(D.max_p95) || !isnan(D.max_kld) ||
	    !isnan(D.min_same_top) || !isnan(D.max_ppl_ratio);
}

static uint32_t task_get(const char *name, size_t len)
{
	uint64_t h = name ? hash64('t', name, len) : hash64('T', "", 0);
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

static uint32_t cluster_get(uint64_t h)
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

static uint16_t metric_get(const char *name, size_t len)
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
static int value_hash(const qa_json *j, int tok, uint64_t *h)
{
	size_t n;
	const char *s;
	static qa_buf num;

	switch (json_type(j, tok)) {
	case QA_STRING:
		s = json_str(j, tok, &n);
		*h = hash64('s', s, n);
		return 0;
	case QA_NUMBER:
		/* The same key qa-route buckets by (json_num_key). */
		s = json_num_key(j, tok, &num, &n);
		*h = hash64('n', s, n);
		return 0;
	default:
		return -1;
	}
}

/* The score named m in scores, or NaN. */
static double score_named(const qa_json *j, int scores, const char *m, size_t mlen)
{
	double v;
	if (json_num(j, json_member(j, scores, m, mlen), &v) < 0 || !isfinite(v))
		return NAN;
	return v;
}

static int listed_invalid(const qa_json *j, const char *m, size_t mlen)
{
	int inv = json_member(j, 0, "invalid", 7);
	for (size_t i = 0; i < json_count(j, inv); i++)
		if (json_type(j, inv) == QA_ARRAY && json_str_eq(j, json_index(j, inv, i), m, mlen))
			return 1;
	return 0;
}

static uint32_t clamp_line(unsigned long line)
{
	return line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
}

static void id_text(size_t item, char *out, size_t outlen)
{
	const char *s = D.idpool.p + D.idoff[item];
	snprintf(out, outlen, "%s", s);
}

static QA_NORETURN void duplicate(int side, unsigned long line, const qa_json *j, int idtok, uint32_t first)
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

/* ---- logprobs: token drift ---- */

/*
 * Checks a logprobs object in the OpenAI completions layout: token_logprobs
 * an array of numbers and nulls; tokens, when there, an array of strings;
 * top_logprobs, when there, an array of nulls and objects whose values are
 * numbers or null.  NULL when it is fine, else what is wrong.
 */
static const char *lp_check(const qa_json *j, int lp)
{
	/* Types only: strtod is the costliest part of reading logprobs, and each number is read later anyway. */
	if (json_type(j, lp) != QA_OBJECT)
		return "response.logprobs is not an object";
	int v = json_member(j, lp, "token_logprobs", 14);
	if (json_type(j, v) != QA_ARRAY)
		return "response.logprobs has no token_logprobs array";
	size_t n = json_count(j, v);
	int e = v + 1;
	for (size_t i = 0; i < n; i++, e = json_next(j, e))
		if (json_type(j, e) != QA_NULL && json_type(j, e) != QA_NUMBER)
			return "a token_logprobs entry is neither a number nor null";
	int t = json_member(j, lp, "tokens", 6);
	if (json_type(j, t) != QA_ABSENT && json_type(j, t) != QA_NULL) {
		if (json_type(j, t) != QA_ARRAY)
			return "response.logprobs.tokens is not an array";
		n = json_count(j, t);
		e = t + 1;
		for (size_t i = 0; i < n; i++, e = json_next(j, e))
			if (json_type(j, e) != QA_STRING)
				return "a tokens entry is not a string";
	}
	int top = json_member(j, lp, "top_logprobs", 12);
	if (json_type(j, top) == QA_ABSENT || json_type(j, top) == QA_NULL)
		return NULL;
	if (json_type(j, top) != QA_ARRAY)
		return "response.logprobs.top_logprobs is not an array";
	n = json_count(j, top);
	e = top + 1;
	for (size_t i = 0; i < n; i++, e = json_next(j, e)) {
		if (json_type(j, e) == QA_NULL)
			continue;
		if (json_type(j, e) != QA_OBJECT)
			return "a top_logprobs entry is neither an object nor null";
		size_t k = json_count(j, e);
		int key = e + 1;
		for (size_t a = 0; a < k; a++, key = json_next(j, key + 1))
			if (json_type(j, key + 1) != QA_NULL && json_type(j, key + 1) != QA_NUMBER)
				return "a top_logprobs value is neither a number nor null";
	}
	return NULL;
}

/* The baseline's logprobs go to an unlinked file in $TMPDIR, a length and then the JSON text. */
static void spool_add(size_t item, const qa_json *j, int lp)
{
	if (!D.spool) {
		const char *dir = getenv("TMPDIR");
		if (!dir || !*dir)
			dir = "/tmp";
		qa_buf path = { 0 };
		buf_printf(&path, "%s/qa-diff.XXXXXX", dir);
		int fd = mkstemp(path.p);
		if (fd < 0 || unlink(path.p) < 0 || !(D.spool = fdopen(fd, "w+b")))
			qa_die(QA_EXIT_USAGE, "%s: %s (logprobs are kept there; set TMPDIR)", path.p,
			    strerror(errno));
		buf_free(&path);
	}
	if (!D.lpoff) {
		D.lpoff = xreallocarray(NULL, D.capitems, sizeof *D.lpoff);
		for (size_t i = 0; i < D.capitems; i++)
			D.lpoff[i] = NO_LP;
	}
	size_t n;
	const char *raw = json_raw(j, lp, &n);
	uint64_t len = n;
	if (fwrite(&len, sizeof len, 1, D.spool) != 1 || fwrite(raw, 1, n, D.spool) != n)
		qa_die(QA_EXIT_USAGE, "writing the temporary logprobs file: %s", strerror(errno));
	D.lpoff[item] = D.spool_end;
	D.spool_end += sizeof len + n;
}

/* Reads back the baseline's logprobs that start at off, parsed into D.jb (root 0). */
static void spool_get(uint64_t off)
{
	uint64_t len;
	size_t got = 0;
	int fd = fileno(D.spool);
	if (pread(fd, &len, sizeof len, (off_t)off) != (ssize_t)sizeof len)
		qa_die(QA_EXIT_USAGE, "reading the temporary logprobs file: %s", strerror(errno));
	D.lpbuf.len = 0;
	buf_grow(&D.lpbuf, (size_t)len);
	while (got < len) {
		ssize_t r = pread(fd, D.lpbuf.p + got, (size_t)len - got, (off_t)(off + sizeof len + got));
		if (r <= 0)
			qa_die(QA_EXIT_USAGE, "reading the temporary logprobs file: %s",
			    r < 0 ? strerror(errno) : "short read");
		got += (size_t)r;
	}
	D.lpbuf.len = (size_t)len;
	const char *err;
	size_t eoff;
	if (!D.jb)
		D.jb = json_new();
	if (json_parse(D.jb, D.lpbuf.p, D.lpbuf.len, &err, &eoff) < 0)
		qa_die(QA_EXIT_USAGE, "the temporary logprobs file is corrupt: %s", err);
}

static int alt_before(const struct alt *a, const struct alt *b, int by_ord)
{
	if (by_ord || a->h == b->h)
		return a->ord < b->ord;
	return a->h < b->h;
}

static int cmp_alt_h(const void *a, const void *b)
{
	return alt_before(b, a, 0) - alt_before(a, b, 0);
}

static int cmp_alt_ord(const void *a, const void *b)
{
	return alt_before(b, a, 1) - alt_before(a, b, 1);
}

/* Top lists are short (OpenAI gives at most 20): insertion sort, qsort past that. */
static void alt_sort(struct alt *v, size_t n, int by_ord)
{
	if (n > 32) {
		qsort(v, n, sizeof *v, by_ord ? cmp_alt_ord : cmp_alt_h);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		struct alt x = v[i];
		size_t k = i;
		for (; k > 0 && alt_before(&x, &v[k - 1], by_ord); k--)
			v[k] = v[k - 1];
		v[k] = x;
	}
}

/*
 * One position's top list into D.alt[side], sorted by token hash: every
 * token string once; an entry whose logprob is null is not listed.  A
 * string that several tokens share (byte tokens that all read as U+FFFD,
 * a byte token and the character token it spells) keeps its likeliest
 * entry, as the server ranked them; *dup counts the others.
 */
static size_t alts_read(int side, const qa_json *j, int obj, long *dup)
{
	size_t k = json_count(j, obj), n = 0;
	if (k > D.altcap[side]) {
		D.altcap[side] = k;
		D.alt[side] = xreallocarray(D.alt[side], k, sizeof *D.alt[side]);
	}
	struct alt *v = D.alt[side];
	int key = obj + 1;
	for (size_t i = 0; i < k; i++, key = json_next(j, key + 1)) {
		double lp;
		size_t len;
		if (json_num(j, key + 1, &lp) < 0)
			continue;
		const char *s = json_key(j, key, &len);
		v[n++] = (struct alt){ .h = hash64('k', s, len), .lp = lp, .other = NAN, .ord = (uint32_t)i };
	}
	alt_sort(v, n, 0);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && v[m - 1].h == v[i].h) {
			(*dup)++;
			if (v[i].lp > v[m - 1].lp || (v[i].lp == v[m - 1].lp && v[i].ord < v[m - 1].ord))
				v[m - 1] = v[i];
			continue;
		}
		v[m++] = v[i];
	}
	return m;
}

/* The token a top list ranks first; between equal logprobs, the one listed first. */
static uint64_t alt_top(const struct alt *v, size_t n)
{
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (v[i].lp > v[best].lp || (v[i].lp == v[best].lp && v[i].ord < v[best].ord))
			best = i;
	return v[best].h;
}

/* One position's top lists, ob in the baseline and oc in the candidate: same top token, and the KL. */
static void top_pair(struct drift *d, const qa_json *jb, int ob, const qa_json *jc, int oc)
{
	size_t nb = alts_read(BASE, jb, ob, &d->dup[BASE]), nc = alts_read(CAND, jc, oc, &d->dup[CAND]);
	if (!nb || !nc)
		return;
	struct alt *b = D.alt[BASE], *c = D.alt[CAND];
	d->top_n++;
	d->same_top += alt_top(b, nb) == alt_top(c, nc);
	for (size_t i = 0, k = 0; i < nb && k < nc;) {
		if (b[i].h == c[k].h)
			b[i++].other = c[k++].lp;
		else if (b[i].h < c[k].h)
			i++;
		else
			k++;
	}
	/* Summed in the order the baseline lists them, as the reference sums its arrays. */
	alt_sort(b, nb, 1);
	if (nb > D.kcap) {
		D.kcap = nb;
		D.kp = xreallocarray(D.kp, nb, sizeof *D.kp);
		D.kq = xreallocarray(D.kq, nb, sizeof *D.kq);
	}
	size_t m = 0;
	double mass = 0;
	for (size_t i = 0; i < nb; i++)
		if (!isnan(b[i].other)) {
			D.kp[m] = exp(b[i].lp);
			D.kq[m] = exp(b[i].other);
			mass += D.kp[m++];
		}
	/* No token in both lists: nothing to measure, not a divergence of 0. */
	if (!m) {
		d->kl_undef++;
		return;
	}
	moments_add(&d->cover, mass);
	double kl = D.kl_raw ? kl_raw(D.kp, D.kq, m) : kl_renormalized(D.kp, D.kq, m);
	if (isnan(kl))
		d->kl_undef++;
	else if (isinf(kl))
		d->kl_inf++;
	else
		dvec_add(&d->kl, kl);
}

/* Whether two logprobs objects score the same tokens: both list them, and the lists are equal. */
static int same_tokens(const qa_json *jb, int lb, const qa_json *jc, int lc)
{
	int tb = json_member(jb, lb, "tokens", 6), tc = json_member(jc, lc, "tokens", 6);
	if (json_type(jb, tb) != QA_ARRAY || json_type(jc, tc) != QA_ARRAY)
		return 0;
	size_t n = json_count(jb, tb);
	if (json_count(jc, tc) != n)
		return 0;
	int eb = tb + 1, ec = tc + 1;
	for (size_t i = 0; i < n; i++, eb = json_next(jb, eb), ec = json_next(jc, ec)) {
		size_t lb_, lc_;
		const char *sb = json_raw(jb, eb, &lb_), *sc = json_raw(jc, ec, &lc_);
		if (lb_ == lc_ && memcmp(sb, sc, lb_) == 0)
			continue;
		/* The same text may be escaped differently ("\u00e9" and "é"). */
		sb = json_str(jb, eb, &lb_);
		sc = json_str(jc, ec, &lc_);
		if (lb_ != lc_ || memcmp(sb, sc, lb_) != 0)
			return 0;
	}
	return 1;
}

/* The sum and count of a token_logprobs array's numbers; with m, their -logprob into it. */
static long lp_sum(const qa_json *j, int v, double *sum, qa_moments *m)
{
	size_t n = json_count(j, v);
	long count = 0;
	double x;
	*sum = 0;
	int e = v + 1;
	for (size_t i = 0; i < n; i++, e = json_next(j, e))
		if (json_num(j, e, &x) == 0) {
			*sum += x;
			count++;
			if (m)
				moments_add(m, -x);
		}
	return count;
}

/* A baseline record's logprobs (lb in jb) against its candidate's (lc in jc). */
static void drift_pair(struct drift *d, const qa_json *jb, int lb, const qa_json *jc, int lc,
    unsigned long lineno)
{
	int vb = json_member(jb, lb, "token_logprobs", 14), vc = json_member(jc, lc, "token_logprobs", 14);
	d->records++;
	D.lp_records++;
	if (!same_tokens(jb, lb, jc, lc)) {
		/* Other tokens: no position lines up, but each run's perplexity still counts. */
		d->differ++;
		if (!D.differ++)
			D.differ_line = lineno;
		double sb, sc;
		if (lp_sum(jb, vb, &sb, NULL) > 0 && lp_sum(jc, vc, &sc, NULL) > 0) {
			long nb = lp_sum(jb, vb, &sb, &d->nll[BASE]), nc = lp_sum(jc, vc, &sc, &d->nll[CAND]);
			d->lp_sum[BASE] += sb;
			d->lp_sum[CAND] += sc;
			d->lp_n[BASE] += nb;
			d->lp_n[CAND] += nc;
			comoments_add(&d->rec, -sb / (double)nb, -sc / (double)nc);
		}
		return;
	}
	/* What the providers dropped already when they turned a top list into an object. */
	double dupb, dupc;
	if (json_num(jb, json_member(jb, lb, "collisions", 10), &dupb) == 0 && dupb > 0)
		d->dup[BASE] += (long)dupb;
	if (json_num(jc, json_member(jc, lc, "collisions", 10), &dupc) == 0 && dupc > 0)
		d->dup[CAND] += (long)dupc;
	int topb = json_member(jb, lb, "top_logprobs", 12), topc = json_member(jc, lc, "top_logprobs", 12);
	size_t n = json_count(jb, vb), ntb = json_count(jb, topb), ntc = json_count(jc, topc);
	if (json_count(jc, vc) < n)
		n = json_count(jc, vc);
	int eb = vb + 1, ec = vc + 1, ob = topb + 1, oc = topc + 1;
	double sb = 0, sc = 0;
	long m = 0;
	for (size_t i = 0; i < n; i++) {
		double xb, xc;
		if (json_num(jb, eb, &xb) == 0 && json_num(jc, ec, &xc) == 0) {
			m++;
			sb += xb;
			sc += xc;
			moments_add(&d->nll[BASE], -xb);
			moments_add(&d->nll[CAND], -xc);
			moments_add(&d->dln, xb - xc);
			double dp = exp(xc) - exp(xb);
			moments_add(&d->dp, dp);
			moments_add(&d->dp2, dp * dp);
			if (i < ntb && i < ntc && json_type(jb, ob) == QA_OBJECT && json_type(jc, oc) == QA_OBJECT)
				top_pair(d, jb, ob, jc, oc);
		}
		eb = json_next(jb, eb);
		ec = json_next(jc, ec);
		if (i < ntb)
			ob = json_next(jb, ob);
		if (i < ntc)
			oc = json_next(jc, oc);
	}
	d->tokens += m;
	d->lp_sum[BASE] += sb;
	d->lp_sum[CAND] += sc;
	d->lp_n[BASE] += m;
	d->lp_n[CAND] += m;
	if (m)
		comoments_add(&d->rec, -sb / (double)m, -sc / (double)m);
}

/* A record's response.logprobs: the baseline's are kept, the candidate's compared with them. */
static void read_logprobs(int side, size_t item, unsigned long lineno)
{
	qa_json *j = D.j;
	int lp = json_find(j, 0, "response.logprobs");
	if (json_type(j, lp) == QA_ABSENT || json_type(j, lp) == QA_NULL) {
		lp = -1;
	} else {
		const char *why = lp_check(j, lp);
		if (why) {
			qa_warn_at(D.file[side], lineno, "%s: left out of token drift", why);
			status_raise(QA_EXIT_DATA);
			lp = -1;
		}
	}
	if (side == BASE) {
		if (lp >= 0)
			spool_add(item, j, lp);
		return;
	}
	const struct item *it = &D.items[item];
	if (!(it->flags & IN_BASE))
		return;
	int base = D.lpoff && D.lpoff[item] != NO_LP;
	if (!base || lp < 0) {
		if (base || lp >= 0)
			D.lp_one[base ? BASE : CAND]++;
		return;
	}
	spool_get(D.lpoff[item]);
	drift_pair(&D.tasks[it->task].drift, D.jb, 0, j, lp, lineno);
}

/* One line of either run. */
static void read_record(int side, unsigned long lineno, const char *line, size_t len)
{
	qa_json *j = D.j;
	char msg[160];
	int rc;

	if ((rc = record_parse(j, line, len, msg, sizeof msg)) > 0)
		return;	/* a blank line carries no record */
	if (rc < 0) {
		qa_warn_at(D.file[side], lineno, "%s", msg);
		D.extra[side].records++;
		D.extra[side].errors++;
		status_raise(QA_EXIT_DATA);
		return;
	}

	/* The id, or the line number standing in for it. */
	int idtok = json_member(j, 0, "id", 2);
	uint64_t h;
	char lbuf[24];
	if (json_type(j, idtok) == QA_ABSENT || json_type(j, idtok) == QA_NULL) {
		idtok = -1;
		int n = snprintf(lbuf, sizeof lbuf, "%lu", lineno);
		h = hash64('n', lbuf, (size_t)n);
		D.noid[side]++;
	} else if (value_hash(j, idtok, &h) < 0) {
		qa_warn_at(D.file[side], lineno, "id is neither a string nor a number");
		D.extra[side].records++;
		D.extra[side].errors++;
		status_raise(QA_EXIT_DATA);
		return;
	}

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
	struct item *it = NULL;
	if (*slot) {
		it = &D.items[*slot - 1];
		if (side == BASE || (it->flags & IN_CAND))
			duplicate(side, lineno, j, idtok, it->line);
	} else {
		if (D.nitems == D.capitems) {
			D.capitems = D.capitems ? D.capitems + D.capitems / 2 : 1024;
			D.items = xreallocarray(D.items, D.capitems, sizeof *D.items);
			if (D.verbose)
				D.idoff = xreallocarray(D.idoff, D.capitems, sizeof *D.idoff);
			if (D.lpoff)
				D.lpoff = xreallocarray(D.lpoff, D.capitems, sizeof *D.lpoff);
		}
		if (D.lpoff)
			D.lpoff[D.nitems] = NO_LP;
		it = &D.items[D.nitems];
		*it = (struct item){ .hash = h, .base = NAN, .cand = NAN, .task = task, .cluster = NONE,
			.metric = NO_METRIC };
		if (D.verbose) {
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
	}
	if (side == CAND && (it->flags & IN_BASE) && it->task != task && !D.other_task++)
		D.other_task_line = lineno;
	it->flags |= side == BASE ? IN_BASE : IN_CAND;
	it->line = clamp_line(lineno);

	/* Which score: --metric, the baseline's for this item, else the record's first. */
	int scores = json_member(j, 0, "scores", 6);
	const char *m = NULL;
	size_t mlen = 0;
	uint16_t mi = NO_METRIC;
	if (D.metric) {
		m = D.metric;
		mlen = strlen(m);
		mi = 0;
	} else if (side == CAND && it->metric != NO_METRIC) {
		mi = it->metric;
		m = D.metrics[mi];
		mlen = strlen(m);
	} else if (json_count(j, scores) > 0) {
		m = json_str(j, json_key_at(j, scores, 0), &mlen);
		mi = metric_get(m, mlen);
	}
	if (side == BASE)
		it->metric = mi;

	struct task *tk = &D.tasks[task];
	struct side *s = &tk->side[side];
	s->records++;
	double v;
	if (json_num(j, json_find(j, 0, "response.latency_ms"), &v) == 0)
		dvec_add(&s->lat, v);
	if (json_num(j, json_find(j, 0, "cost.total"), &v) == 0) {
		s->cost_sum += v;
		s->cost_n++;
	}
	if (error) {
		s->errors++;
		return;
	}
	read_logprobs(side, (size_t)(it - D.items), lineno);
	double score = m ? score_named(j, scores, m, mlen) : NAN;
	if (isnan(score)) {
		if (!D.unscored[side]++)
			D.unscored_line[side] = lineno;
		return;
	}
	if (tk->metric == NO_METRIC)
		tk->metric = mi;
	else if (tk->metric != mi)
		tk->mixed = 1;
	s->scored++;
	s->invalid += listed_invalid(j, m, mlen);
	if (side == BASE)
		it->base = score;
	else
		it->cand = score;
	int st = json_member(j, json_member(j, json_member(j, 0, "details", 7), m, mlen), "stats", 5);
	if (json_type(j, st) == QA_OBJECT)
		it->sn[side] = cs_read(j, st, &it->soff[side]);

	size_t plen = strlen(D.ppl_key);
	double ppl = score_named(j, scores, D.ppl_key, plen);
	if (ppl > 0) {
		s->ppl_n++;
		s->ppl_ln += log(ppl);
		int det = json_member(j, json_member(j, 0, "details", 7), D.ppl_key, plen);
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
}

static void read_run(int side)
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

/* ---- statistics of one scope: a task, or everything ---- */

struct failure {
	const char *criterion;	/* the option's name */
	double value, limit;	/* value NaN: could not be evaluated */
	char msg[200];
};

struct sideres {
	long records, errors, scored, invalid;
	double mean, se, lo, hi;
	const char *ci_method;
	double invalid_rate, error_rate;
	size_t lat_n;
	double p50, p95, p99;
	long cost_n;
	double mean_cost;
	double ppl;
	const char *ppl_method;
};

/* The KL percentiles llama-perplexity prints, in its order. */
enum { NKLQ = 11 };
static const double kl_q[NKLQ] = { 100, 99.9, 99, 95, 90, 50, 10, 5, 1, 0.1, 0 };
static const char *const kl_key[NKLQ] = { "max", "p99_9", "p99", "p95", "p90", "median", "p10", "p5", "p1",
	"p0_1", "min" };
static const char *const kl_label[NKLQ] = { "Maximum", "99.9%  ", "99.0%  ", "95.0%  ", "90.0%  ", "Median ",
	"10.0%  ", " 5.0%  ", " 1.0%  ", " 0.1%  ", "Minimum" };

/* Token drift of one line; d is NULL when no pair in it carries logprobs on both sides. */
struct driftres {
	const struct drift *d;
	double ppl[2], ppl_se[2], ppl_ratio;
	double ln_mean, ln_se, corr;
	size_t kl_n;
	double kl_mean, kl_se, kl_pct[NKLQ], cover;
	double dp_mean, dp_se, rms, rms_se;
	double same_pct, same_se;
};

struct result {
	const char *scope;
	const char *task;
	const char *metric;	/* NULL: the records compare different scores */
	int binary;
	int flips;		/* some pair compares a 0/1 metric: b, c and nflip count those only */
	size_t nflip;
	size_t n;
	long only[2], excluded;
	struct sideres s[2];
	struct qa_paired pd;
	size_t nclusters;	/* 0: no item has a cluster */
	double cse, clo, chi;
	double blo, bhi;	/* the bootstrap's CI, when asked for */
	/* A corpus scorer's figure on each side, and the paired bootstrap of its delta. */
	int has_corpus;
	long cresamples;
	double cbase, ccand, cdelta, clo_b, chi_b, cp;
	long b, c;
	struct qa_mcnemar mc;
	double recovery;
	double r_p50, r_p95, r_p99, r_cost, r_ppl;
	struct driftres dr;
	int gated;
	const char *gate_ci;
	struct failure *fail;
	size_t nfail, ncheck;
};

/* The compared pairs, gathered task by task. */
static double *gbase, *gcand;
static uint32_t *gcl;
static uint32_t *gsoff[2], *gsn[2];	/* their corpus statistics, when some record has them */
static uint16_t *gmet;		/* their compared metric */
static unsigned char *met_binary;	/* per metric: every compared score of it is 0 or 1 */

static double ratio(double a, double b)
{
	return isfinite(a) && isfinite(b) && b != 0 ? a / b : NAN;
}

/*
 * Scores where less is better.  For these, recovery is baseline /
 * candidate x 100 (a perplexity 6% higher recovers 94%, not 106%), and
 * the drop --max-drop bounds is a rise.
 */
static int lower_better(const char *metric)
{
	static const char *const names[] = {
		"perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte", "latency", "latency_ms",
	};
	for (size_t i = 0; metric && i < sizeof names / sizeof *names; i++)
		if (strcmp(metric, names[i]) == 0)
			return 1;
	return 0;
}

static void side_stats(struct sideres *r, const struct side *s, const double *x, size_t n, int binary,
    struct dvec *sorted_lat)
{
	r->records = s->records;
	r->errors = s->errors;
	r->scored = s->scored;
	r->invalid = s->invalid;
	r->lo = r->hi = NAN;
	r->ci_method = NULL;
	double sum = mean_se(x, n, &r->mean, &r->se);
	if (n > 0) {
		if (binary) {
			wilson_ci(sum, (double)n, D.z, &r->lo, &r->hi);
			/* None right, or all: the bound is exactly 0 or 1, not a rounding away from it. */
			if (sum == 0)
				r->lo = 0;
			if (sum == (double)n)
				r->hi = 1;
			r->ci_method = "wilson";
		} else if (n > 1) {
			r->lo = r->mean - D.z * r->se;
			r->hi = r->mean + D.z * r->se;
			r->ci_method = "normal";
		}
	}
	r->invalid_rate = s->scored > 0 ? (double)s->invalid / (double)s->scored : NAN;
	r->error_rate = s->records > 0 ? (double)s->errors / (double)s->records : NAN;
	r->lat_n = sorted_lat->n;
	r->p50 = D.percentile(sorted_lat->v, sorted_lat->n, 50);
	r->p95 = D.percentile(sorted_lat->v, sorted_lat->n, 95);
	r->p99 = D.percentile(sorted_lat->v, sorted_lat->n, 99);
	r->cost_n = s->cost_n;
	r->mean_cost = s->cost_n > 0 ? s->cost_sum / (double)s->cost_n : NAN;
	r->ppl = NAN;
	r->ppl_method = NULL;
	if (s->ppl_n > 0 && s->ppl_tok_n == s->ppl_n) {
		r->ppl = exp(-s->ppl_lp / s->ppl_tok);
		r->ppl_method = "tokens";
	} else if (s->ppl_n > 0) {
		r->ppl = exp(s->ppl_ln / (double)s->ppl_n);
		r->ppl_method = "geomean";
	}
}

/* splitmix64 (Steele, Lea and Flood 2014): one 64-bit state, good enough for resampling. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), without modulo bias (Lemire 2019). */
static uint32_t draw(uint64_t *state, uint32_t n)
{
	uint64_t m = (splitmix64(state) >> 32) * (uint64_t)n;
	uint32_t low = (uint32_t)m;
	if (low < n) {
		uint32_t floor_ = (uint32_t)(-n) % n;
		while (low < floor_) {
			m = (splitmix64(state) >> 32) * (uint64_t)n;
			low = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

static void bootstrap(struct result *r, const double *cand, const double *base, size_t n, uint64_t stream)
{
	r->blo = r->bhi = NAN;
	if (n == 0)
		return;
	uint64_t state = (uint64_t)D.seed ^ stream;
	double *means = xreallocarray(NULL, (size_t)D.bootstrap, sizeof *means);
	for (long k = 0; k < D.bootstrap; k++) {
		double sum = 0;
		for (size_t i = 0; i < n; i++) {
			uint32_t at = draw(&state, (uint32_t)n);
			sum += cand[at] - base[at];
		}
		means[k] = sum / (double)n;
	}
	qsort(means, (size_t)D.bootstrap, sizeof *means, cmp_double);
	/* The percentile interval at the level z stands for: Phi(-z) and Phi(z). */
	double tail = 50 * erfc(D.z / sqrt(2));
	r->blo = percentile_linear(means, (size_t)D.bootstrap, tail);
	r->bhi = percentile_linear(means, (size_t)D.bootstrap, 100 - tail);
	free(means);
}

/*
 * Miller (2024), "Adding Error Bars to Evals": with r_i = d_i - mean(d),
 * SE_clustered^2 = SE^2 + (1 / n^2) sum over clusters of sum_{i != j} r_i r_j.
 * An item without a cluster is a cluster of its own.
 */
/* Per-cluster sums while one line is computed: all zero between lines. */
static struct {
	double *csum;
	uint32_t *touched;
	unsigned char *seen;
} scratch;

static void clustered(struct result *r, const double *cand, const double *base, const uint32_t *cl, size_t n)
{
	double *csum = scratch.csum;
	uint32_t *touched = scratch.touched;
	unsigned char *seen = scratch.seen;
	size_t ntouched = 0, nclusters = 0;
	double mean = r->pd.mean_diff, ss = 0, s2 = 0;

	r->nclusters = 0;
	r->cse = r->clo = r->chi = NAN;
	if (!cl)
		return;
	for (size_t i = 0; i < n; i++) {
		double res = cand[i] - base[i] - mean;
		ss += res * res;
		if (cl[i] == NONE) {
			s2 += res * res;
			nclusters++;
			continue;
		}
		if (!seen[cl[i]]) {
			seen[cl[i]] = 1;
			touched[ntouched++] = cl[i];
		}
		csum[cl[i]] += res;
	}
	for (size_t k = 0; k < ntouched; k++) {
		uint32_t c = touched[k];
		s2 += csum[c] * csum[c];
		csum[c] = 0;
		seen[c] = 0;
	}
	if (!ntouched)
		return;
	r->nclusters = nclusters + ntouched;
	if (n < 2)
		return;
	double var = r->pd.se * r->pd.se + (s2 - ss) / ((double)n * (double)n);
	r->cse = sqrt(var > 0 ? var : 0);
	r->clo = mean - D.z * r->cse;
	r->chi = mean + D.z * r->cse;
}

static void add_side(struct side *into, const struct side *from, int with_lat)
{
	into->records += from->records;
	into->errors += from->errors;
	into->scored += from->scored;
	into->invalid += from->invalid;
	into->cost_sum += from->cost_sum;
	into->cost_n += from->cost_n;
	into->ppl_ln += from->ppl_ln;
	into->ppl_lp += from->ppl_lp;
	into->ppl_tok += from->ppl_tok;
	into->ppl_n += from->ppl_n;
	into->ppl_tok_n += from->ppl_tok_n;
	if (with_lat)
		for (size_t i = 0; i < from->lat.n; i++)
			dvec_add(&into->lat, from->lat.v[i]);
}

/*
 * The exact McNemar p for up to 62 discordant pairs, in integers: 2 sum_{i <= k}
 * C(n, i) / 2^n, rounded once, so 3 against 1 gives 0.625, not 0.6250000000000004
 * (what scipy prints too).  Above that, libqa's saddle-point value.
 */
static double exact_p(long b, long c, double libqa)
{
	long n = b + c, k = b < c ? b : c;
	if (n <= 0 || n > 62)
		return libqa;
	if (2 * k == n)
		return 1;
	uint64_t term = 1, sum = 1;	/* C(n, 0) */
	for (long i = 1; i <= k; i++) {
		term = term * (uint64_t)(n - i + 1) / (uint64_t)i;	/* exact: C(n, i - 1) (n - i + 1) is divisible by i */
		sum += term;
	}
	double p = ldexp((double)sum, (int)(1 - n));
	return p < 1 ? p : 1;
}

/* A metric's corpus(), from its plugin with default options; loaded once per metric. */
struct cplug {
	char *metric;
	qa_loaded loaded;
	void *state;
	int (*fn)(void *, const char *const *, const double *, size_t, double *, char **);
};
static struct cplug *cplugs;
static size_t ncplugs;

static struct cplug *cplug_get(const char *metric)
{
	for (size_t i = 0; i < ncplugs; i++)
		if (strcmp(cplugs[i].metric, metric) == 0)
			return cplugs[i].fn ? &cplugs[i] : NULL;
	cplugs = xreallocarray(cplugs, ncplugs + 1, sizeof *cplugs);
	struct cplug *c = &cplugs[ncplugs++];
	memset(c, 0, sizeof *c);
	c->metric = xstrdup(metric);
	char err[1024];
	if (plugin_load(metric, QA_KIND_SCORER, &c->loaded, err, sizeof err) < 0) {
		qa_warn("corpus statistics of %s: %s", metric, err);
		return NULL;
	}
	const struct qa_plugin *p = c->loaded.plugin;
	if (!plugin_corpus(p))
		return NULL;
	qa_json *none = json_new();
	const char *perr;
	size_t off;
	json_parse(none, "{}", 2, &perr, &off);
	char *ierr = NULL;
	int rc = p->init ? p->init(none, &c->state, &ierr) : 0;
	json_free(&none);
	host_reset();
	if (rc < 0) {
		qa_warn("corpus statistics of %s: %s", metric, ierr ? ierr : "init failed");
		free(ierr);
		if (c->state && p->fini)
			p->fini(c->state);
		c->state = NULL;
		return NULL;
	}
	c->fn = plugin_corpus(p);
	return c;
}

static void cplug_free(void)
{
	for (size_t i = 0; i < ncplugs; i++) {
		const struct qa_plugin *p = cplugs[i].loaded.plugin;
		if (cplugs[i].state && p && p->fini)
			p->fini(cplugs[i].state);
		if (p)
			plugin_unload(&cplugs[i].loaded);
		free(cplugs[i].metric);
	}
	xfree(&cplugs);
	ncplugs = 0;
}

/* The corpus figure of summed statistics (only the non-zero ones: a label absent from a resample is absent). */
static double corpus_eval(struct cplug *c, const double *sum, const char **names, double *vals)
{
	size_t k = 0;
	for (size_t i = 0; i < CS.nnames; i++)
		if (sum[i] != 0) {
			names[k] = CS.names[i];
			vals[k++] = sum[i];
		}
	double v = NAN;
	char *details = NULL;
	if (c->fn(c->state, names, vals, k, &v, &details) < 0)
		v = NAN;
	free(details);
	host_reset();
	return v;
}

static void corpus_add(double *sum, int side, size_t at)
{
	const struct cstat *v = CS.v + gsoff[side][at];
	for (uint32_t i = 0; i < gsn[side][at]; i++)
		sum[v[i].name] += v[i].v;
}

/*
 * The paired bootstrap of a corpus figure, as sacreBLEU's paired-bs: each
 * resample draws items with replacement, the same ones for both runs, and
 * recomputes both corpus figures from the drawn items' statistics.  The CI
 * is the percentile interval of the deltas; p is the two-sided share of
 * resamples whose delta, centred on the resamples' mean (the null of no
 * difference), is at least as far from 0 as the observed one, counting the
 * observed sample: (1 + #) / (B + 1).
 */
static void corpus_compare(struct result *r, size_t off, size_t n, uint64_t stream)
{
	r->has_corpus = 0;
	if (!gsn[0] || !r->metric || n == 0)
		return;
	int any = 0;
	for (size_t i = 0; i < n && !any; i++)
		any = gsn[BASE][off + i] && gsn[CAND][off + i];
	struct cplug *c = any ? cplug_get(r->metric) : NULL;
	if (!c)
		return;
	double *sum[2] = { xcalloc(CS.nnames, sizeof(double)), xcalloc(CS.nnames, sizeof(double)) };
	const char **names = xcalloc(CS.nnames + 1, sizeof *names);
	double *vals = xcalloc(CS.nnames + 1, sizeof *vals);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 2; k++)
			corpus_add(sum[k], k, off + i);
	r->cbase = corpus_eval(c, sum[BASE], names, vals);
	r->ccand = corpus_eval(c, sum[CAND], names, vals);
	r->cdelta = r->ccand - r->cbase;
	r->has_corpus = 1;
	long B = D.bootstrap ? D.bootstrap : 1000;
	r->cresamples = B;
	double *deltas = xreallocarray(NULL, (size_t)B, sizeof *deltas);
	uint64_t state = (uint64_t)D.seed ^ stream ^ 0x636f72707573ull;	/* "corpus": its own stream */
	double mean = 0;
	for (long b = 0; b < B; b++) {
		memset(sum[BASE], 0, CS.nnames * sizeof(double));
		memset(sum[CAND], 0, CS.nnames * sizeof(double));
		for (size_t i = 0; i < n; i++) {
			size_t at = off + draw(&state, (uint32_t)n);
			corpus_add(sum[BASE], BASE, at);
			corpus_add(sum[CAND], CAND, at);
		}
		deltas[b] = corpus_eval(c, sum[CAND], names, vals) - corpus_eval(c, sum[BASE], names, vals);
		mean += deltas[b];
	}
	mean /= (double)B;
	long extreme = 0;
	for (long b = 0; b < B; b++)
		extreme += fabs(deltas[b] - mean) >= fabs(r->cdelta);
	r->cp = (double)(extreme + 1) / (double)(B + 1);
	qsort(deltas, (size_t)B, sizeof *deltas, cmp_double);
	double tail = 50 * erfc(D.z / sqrt(2));
	r->clo_b = percentile_linear(deltas, (size_t)B, tail);
	r->chi_b = percentile_linear(deltas, (size_t)B, 100 - tail);
	free(deltas);
	free(sum[BASE]);
	free(sum[CAND]);
	free(names);
	free(vals);
}

static void compute(struct result *r, const struct side side[2], struct dvec lat[2], size_t off, size_t n,
    uint64_t stream)
{
	const double *cand = gcand + off, *base = gbase + off;
	r->n = n;
	r->binary = 1;
	for (size_t i = 0; i < n && r->binary; i++)
		if ((base[i] != 0 && base[i] != 1) || (cand[i] != 0 && cand[i] != 1))
			r->binary = 0;
	for (int k = 0; k < 2; k++) {
		if (lat[k].n > 1)
			qsort(lat[k].v, lat[k].n, sizeof *lat[k].v, cmp_double);
		side_stats(&r->s[k], &side[k], k == BASE ? base : cand, n, r->binary, &lat[k]);
	}
	paired_diff(cand, base, n, D.z, &r->pd);
	clustered(r, cand, base, gcl ? gcl + off : NULL, n);
	r->blo = r->bhi = NAN;
	if (D.bootstrap)
		bootstrap(r, cand, base, n, stream);
	corpus_compare(r, off, n, stream);
	/*
	 * Flips need right and wrong: they are counted over the pairs whose
	 * metric is 0/1 throughout the runs, so a continuous metric (ROUGE)
	 * beside 0/1 ones in the overall line leaves the others' flips as they were.
	 */
	r->b = r->c = 0;
	r->nflip = 0;
	for (size_t i = 0; i < n; i++) {
		uint16_t m = gmet[off + i];
		if (!met_binary[m == NO_METRIC ? D.nmetrics : m])
			continue;
		r->nflip++;
		r->b += base[i] == 1 && cand[i] == 0;
		r->c += base[i] == 0 && cand[i] == 1;
	}
	r->flips = r->nflip > 0;
	if (r->flips) {
		mcnemar(r->b, r->c, &r->mc);
		r->mc.p_exact = exact_p(r->b, r->c, r->mc.p_exact);
		/* No discordant pair: the exact test of zero trials gives 1, as statsmodels does; chi2 is 0/0. */
		if (r->b + r->c == 0 && n > 0)
			r->mc.p_exact = 1;
	}
	r->recovery = n == 0 ? NAN : lower_better(r->metric) ? 100 * ratio(r->s[BASE].mean, r->s[CAND].mean) :
	    100 * ratio(r->s[CAND].mean, r->s[BASE].mean);
	r->r_p50 = ratio(r->s[CAND].p50, r->s[BASE].p50);
	r->r_p95 = ratio(r->s[CAND].p95, r->s[BASE].p95);
	r->r_p99 = ratio(r->s[CAND].p99, r->s[BASE].p99);
	r->r_cost = ratio(r->s[CAND].mean_cost, r->s[BASE].mean_cost);
	r->r_ppl = ratio(r->s[CAND].ppl, r->s[BASE].ppl);
}

/* sd / sqrt(n), the standard error of a mean; NaN below 2 values. */
static double se_of(const qa_moments *m)
{
	double v = moments_var(m);
	return isnan(v) ? NAN : sqrt(v / m->n);
}

/* The figures of one line's token drift; sorts d's KL values. */
static void drift_stats(struct driftres *r, struct drift *d)
{
	memset(r, 0, sizeof *r);
	r->d = d->records ? d : NULL;
	r->ppl[BASE] = r->ppl[CAND] = r->ppl_se[BASE] = r->ppl_se[CAND] = r->ppl_ratio = NAN;
	r->ln_mean = r->ln_se = r->corr = r->kl_mean = r->kl_se = r->cover = NAN;
	r->dp_mean = r->dp_se = r->rms = r->rms_se = r->same_pct = r->same_se = NAN;
	for (int q = 0; q < NKLQ; q++)
		r->kl_pct[q] = NAN;
	if (!r->d)
		return;
	for (int k = 0; k < 2; k++) {
		r->ppl[k] = d->lp_n[k] ? exp(-d->lp_sum[k] / (double)d->lp_n[k]) : NAN;
		/* llama-perplexity's propagation: d exp(x) = exp(x) dx. */
		r->ppl_se[k] = r->ppl[k] * se_of(&d->nll[k]);
	}
	r->ppl_ratio = ratio(r->ppl[CAND], r->ppl[BASE]);
	r->ln_mean = d->dln.n > 0 ? d->dln.mean : NAN;
	r->ln_se = se_of(&d->dln);
	if (d->rec.n >= 2 && d->rec.cxx > 0 && d->rec.cyy > 0)
		/* sqrt of the product: identical runs then give exactly 1, as sqrt(x * x) is x. */
		r->corr = fmax(-1, fmin(1, d->rec.cxy / sqrt(d->rec.cxx * d->rec.cyy)));

	size_t n = d->kl.n;
	const double *v = d->kl.v;
	r->kl_n = n;
	if (n > 1)
		qsort(d->kl.v, n, sizeof *d->kl.v, cmp_double);
	mean_se(v, n, &r->kl_mean, &r->kl_se);
	for (int q = 0; q < NKLQ; q++)
		r->kl_pct[q] = percentile_linear(v, n, kl_q[q]);
	r->cover = d->cover.n > 0 ? d->cover.mean : NAN;

	r->dp_mean = d->dp.n > 0 ? d->dp.mean : NAN;
	r->dp_se = se_of(&d->dp);
	r->rms = d->dp2.n > 0 ? sqrt(d->dp2.mean) : NAN;
	/* llama-perplexity's: the mean square's error through d sqrt(x) = dx / (2 sqrt(x)); 0 with no spread. */
	double se2 = se_of(&d->dp2);
	r->rms_se = se2 == 0 ? 0 : 0.5 / r->rms * se2;
	if (d->top_n > 0) {
		double p = (double)d->same_top / (double)d->top_n;
		r->same_pct = 100 * p;
		if (d->top_n > 1)
			r->same_se = 100 * sqrt(p * (1 - p) / (double)(d->top_n - 1));
	}
}

/* ---- the gate ---- */

static void fail(struct result *r, const char *criterion, double value, double limit, const char *fmt, ...)
    QA_PRINTF(5, 6);

static void fail(struct result *r, const char *criterion, double value, double limit, const char *fmt, ...)
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
static const char *ci_used(const struct result *r, double *lo, double *hi)
{
	if (D.bootstrap) {
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

static void gate(struct result *r)
{
	double lo, hi;
	r->gate_ci = ci_used(r, &lo, &hi);
	if (!r->gated)
		return;
	if (!isnan(D.max_drop)) {
		r->ncheck++;
		/* For a lower-is-better score the loss is a rise: the CI's upper bound. */
		int low = lower_better(r->metric);
		double drop = low ? (D.gate_ci ? hi : r->pd.mean_diff) : (D.gate_ci ? -lo : -r->pd.mean_diff);
		const char *what = low ? r->metric : r->binary ? "accuracy" : "the mean score";
		if (isnan(drop))
			fail(r, "max-drop", NAN, D.max_drop, "--max-drop %g: the %s is undefined (%zu paired "
			    "item%s)", D.max_drop, D.gate_ci ? "CI" : "difference", r->n, r->n == 1 ? "" : "s");
		else if (drop > D.max_drop + EPS && D.gate_ci)
			fail(r, "max-drop", drop, D.max_drop, "%s may %s by %.4g (the %s CI's %s bound "
			    "is %.4g), over --max-drop %g", what, low ? "rise" : "drop", drop, r->gate_ci,
			    low ? "upper" : "lower", low ? hi : lo, D.max_drop);
		else if (drop > D.max_drop + EPS)
			fail(r, "max-drop", drop, D.max_drop, "%s %s by %.4g, over --max-drop %g",
			    what, low ? "rises" : "drops", drop, D.max_drop);
	}
	if (!isnan(D.max_flips)) {
		r->ncheck++;
		double pct = r->flips ? 100.0 * (double)(r->b + r->c) / (double)r->nflip : NAN;
		if (isnan(pct))
			fail(r, "max-flips", NAN, D.max_flips, "--max-flips %g: flips are undefined (%s)",
			    D.max_flips, r->n ? "scores are not binary" : "no paired items");
		else if (pct > D.max_flips + EPS)
			fail(r, "max-flips", pct, D.max_flips, "%.4g%% of the items flip, over --max-flips %g",
			    pct, D.max_flips);
	}
	if (!isnan(D.min_recovery)) {
		r->ncheck++;
		if (isnan(r->recovery))
			fail(r, "min-recovery", NAN, D.min_recovery, "--min-recovery %g: recovery is undefined "
			    "(the baseline's mean is %s)", D.min_recovery, r->n ? "0" : "undefined");
		else if (r->recovery < D.min_recovery - EPS)
			fail(r, "min-recovery", r->recovery, D.min_recovery, "recovery %.4g%% is under "
			    "--min-recovery %g", r->recovery, D.min_recovery);
	}
	if (!isnan(D.max_invalid)) {
		r->ncheck++;
		double pct = 100 * r->s[CAND].invalid_rate;
		if (isnan(pct))
			fail(r, "max-invalid", NAN, D.max_invalid, "--max-invalid %g: the candidate's invalid "
			    "rate is undefined (no scored records)", D.max_invalid);
		else if (pct > D.max_invalid + EPS)
			fail(r, "max-invalid", pct, D.max_invalid, "the candidate's invalid rate %.4g%% is "
			    "over --max-invalid %g", pct, D.max_invalid);
	}
	if (!isnan(D.max_errors)) {
		r->ncheck++;
		double pct = 100 * r->s[CAND].error_rate;
		if (isnan(pct))
			fail(r, "max-errors", NAN, D.max_errors, "--max-errors %g: the candidate's error rate is "
			    "undefined (no records)", D.max_errors);
		else if (pct > D.max_errors + EPS)
			fail(r, "max-errors", pct, D.max_errors, "the candidate's error rate %.4g%% is "
			    "over --max-errors %g", pct, D.max_errors);
	}
	if (!isnan(D.max_p95)) {
		r->ncheck++;
		if (isnan(r->r_p95))
			fail(r, "max-p95-ratio", NAN, D.max_p95, "--max-p95-ratio %g: the p95 latency ratio is "
			    "undefined (%s)", D.max_p95, !r->s[BASE].lat_n ? "no latency in the baseline" :
			    !r->s[CAND].lat_n ? "no latency in the candidate" : "the baseline's p95 is 0");
		else if (r->r_p95 > D.max_p95 + EPS)
			fail(r, "max-p95-ratio", r->r_p95, D.max_p95, "p95 latency ratio %.4g is over "
			    "--max-p95-ratio %g", r->r_p95, D.max_p95);
	}
	const struct driftres *dr = &r->dr;
	if (!isnan(D.max_kld)) {
		r->ncheck++;
		/* An infinite KL at one position makes the mean infinite, whatever the others say. */
		if (dr->d && dr->d->kl_inf)
			fail(r, "max-kld", INFINITY, D.max_kld, "the KL divergence is infinite at %ld position%s "
			    "(the candidate gives 0 to a token the baseline lists), over --max-kld %g",
			    dr->d->kl_inf, dr->d->kl_inf == 1 ? "" : "s", D.max_kld);
		else if (isnan(dr->kl_mean))
			fail(r, "max-kld", NAN, D.max_kld, "--max-kld %g: the KL divergence is undefined (no "
			    "position with top_logprobs in both runs)", D.max_kld);
		else if (dr->kl_mean > D.max_kld + EPS)
			fail(r, "max-kld", dr->kl_mean, D.max_kld, "mean KL divergence %.4g is over --max-kld %g",
			    dr->kl_mean, D.max_kld);
	}
	if (!isnan(D.min_same_top)) {
		r->ncheck++;
		if (isnan(dr->same_pct))
			fail(r, "min-same-top", NAN, D.min_same_top, "--min-same-top %g: the same-top rate is "
			    "undefined (no position with top_logprobs in both runs)", D.min_same_top);
		else if (dr->same_pct < D.min_same_top - EPS)
			fail(r, "min-same-top", dr->same_pct, D.min_same_top, "the top token is the same at "
			    "%.4g%% of positions, under --min-same-top %g", dr->same_pct, D.min_same_top);
	}
	if (!isnan(D.max_ppl_ratio)) {
		r->ncheck++;
		/* The logprobs' corpus perplexity when the line has them, else the perplexity scores'. */
		double v = dr->d && !isnan(dr->ppl_ratio) ? dr->ppl_ratio : r->r_ppl;
		if (isnan(v))
			fail(r, "max-ppl-ratio", NAN, D.max_ppl_ratio, "--max-ppl-ratio %g: the perplexity "
			    "ratio is undefined (no logprobs or perplexity scores in both runs)", D.max_ppl_ratio);
		else if (v > D.max_ppl_ratio + EPS)
			fail(r, "max-ppl-ratio", v, D.max_ppl_ratio, "perplexity ratio %.6g is over "
			    "--max-ppl-ratio %g", v, D.max_ppl_ratio);
	}
}

/* ---- output ---- */

static void jnum(qa_buf *b, const char *key, double v)
{
	buf_printf(b, ",\"%s\":", key);
	buf_json_number(b, v);
}

static void jstr(qa_buf *b, const char *key, const char *s)
{
	buf_printf(b, ",\"%s\":", key);
	if (s)
		buf_json_string(b, s, strlen(s));
	else
		buf_adds(b, "null");
}

static void json_side(qa_buf *b, const struct sideres *s)
{
	buf_printf(b, "{\"records\":%ld", s->records);
	jnum(b, "mean", s->mean);
	jnum(b, "se", s->se);
	jnum(b, "ci_low", s->lo);
	jnum(b, "ci_high", s->hi);
	jstr(b, "ci_method", s->ci_method);
	buf_printf(b, ",\"scored\":%ld,\"invalid\":%ld", s->scored, s->invalid);
	jnum(b, "invalid_rate", s->invalid_rate);
	buf_printf(b, ",\"errors\":%ld", s->errors);
	jnum(b, "error_rate", s->error_rate);
	buf_printf(b, ",\"latency_n\":%zu", s->lat_n);
	jnum(b, "p50_ms", s->p50);
	jnum(b, "p95_ms", s->p95);
	jnum(b, "p99_ms", s->p99);
	buf_printf(b, ",\"cost_n\":%ld", s->cost_n);
	jnum(b, "mean_cost", s->mean_cost);
	jnum(b, "perplexity", s->ppl);
	jstr(b, "perplexity_method", s->ppl_method);
	buf_addc(b, '}');
}

static const char *kl_estimate(void)
{
	return D.kl_raw ? "top-k raw" : "top-k renormalized";
}

static void json_drift(qa_buf *b, const struct driftres *r)
{
	const struct drift *d = r->d;
	if (!d) {
		buf_adds(b, "null");
		return;
	}
	buf_printf(b, "{\"records\":%ld,\"tokens_differ\":%ld,\"tokens\":%ld", d->records, d->differ, d->tokens);
	jstr(b, "kl_estimate", kl_estimate());
	for (int k = 0; k < 2; k++) {
		buf_printf(b, ",\"%s\":{\"perplexity\":", side_name[k]);
		buf_json_number(b, r->ppl[k]);
		jnum(b, "perplexity_se", r->ppl_se[k]);
		buf_printf(b, ",\"tokens\":%ld}", d->lp_n[k]);
	}
	jnum(b, "ppl_ratio", r->ppl_ratio);
	buf_adds(b, ",\"ln_ppl_ratio\":{\"mean\":");
	buf_json_number(b, r->ln_mean);
	jnum(b, "se", r->ln_se);
	buf_addc(b, '}');
	jnum(b, "ln_ppl_correlation", r->corr);
	buf_printf(b, ",\"kld\":{\"n\":%zu", r->kl_n);
	jnum(b, "mean", r->kl_mean);
	jnum(b, "se", r->kl_se);
	for (int q = 0; q < NKLQ; q++)
		jnum(b, kl_key[q], r->kl_pct[q]);
	buf_printf(b, ",\"infinite\":%ld,\"undefined\":%ld", d->kl_inf, d->kl_undef);
	jnum(b, "top_k_coverage", r->cover);
	buf_adds(b, "},\"delta_p\":{\"mean\":");
	buf_json_number(b, r->dp_mean);
	jnum(b, "se", r->dp_se);
	jnum(b, "rms", r->rms);
	jnum(b, "rms_se", r->rms_se);
	buf_printf(b, "},\"same_top\":{\"n\":%ld,\"same\":%ld", d->top_n, d->same_top);
	jnum(b, "pct", r->same_pct);
	jnum(b, "pct_se", r->same_se);
	buf_printf(b, "},\"top_collisions\":{\"baseline\":%ld,\"candidate\":%ld}}", d->dup[BASE], d->dup[CAND]);
}

static void json_line(qa_buf *b, const struct result *r, int overall, int decision)
{
	buf_printf(b, "{\"scope\":\"%s\"", r->scope);
	jstr(b, "task", r->task);
	jstr(b, "metric", r->metric);
	buf_printf(b, ",\"binary\":%s,\"n\":%zu,\"only_baseline\":%ld,\"only_candidate\":%ld,\"excluded\":%ld",
	    r->binary ? "true" : "false", r->n, r->only[BASE], r->only[CAND], r->excluded);
	buf_adds(b, ",\"baseline\":");
	json_side(b, &r->s[BASE]);
	buf_adds(b, ",\"candidate\":");
	json_side(b, &r->s[CAND]);

	buf_adds(b, ",\"delta\":{\"mean\":");
	buf_json_number(b, r->pd.mean_diff);
	jnum(b, "sd", r->pd.sd_diff);
	jnum(b, "se", r->pd.se);
	jnum(b, "ci_low", r->pd.ci_low);
	jnum(b, "ci_high", r->pd.ci_high);
	buf_adds(b, ",\"clustered\":");
	if (r->nclusters) {
		buf_printf(b, "{\"clusters\":%zu", r->nclusters);
		jnum(b, "se", r->cse);
		jnum(b, "ci_low", r->clo);
		jnum(b, "ci_high", r->chi);
		buf_addc(b, '}');
	} else {
		buf_adds(b, "null");
	}
	buf_adds(b, ",\"bootstrap\":");
	if (D.bootstrap) {
		buf_printf(b, "{\"resamples\":%ld,\"seed\":%llu", D.bootstrap, D.seed);
		jnum(b, "ci_low", r->blo);
		jnum(b, "ci_high", r->bhi);
		buf_addc(b, '}');
	} else {
		buf_adds(b, "null");
	}
	buf_addc(b, '}');

	if (r->flips) {
		buf_printf(b, ",\"mcnemar\":{\"b\":%ld,\"c\":%ld", r->b, r->c);
		jnum(b, "p_exact", r->mc.p_exact);
		jnum(b, "chi2", r->mc.chi2);
		jnum(b, "p_chi2", r->mc.p_chi2);
		jnum(b, "chi2_cc", r->mc.chi2_cc);
		jnum(b, "p_chi2_cc", r->mc.p_chi2_cc);
		buf_printf(b, "},\"flips\":{\"right_to_wrong\":%ld,\"wrong_to_right\":%ld", r->b, r->c);
		double n = (double)r->nflip;
		if (r->nflip != r->n)
			buf_printf(b, ",\"n\":%zu", r->nflip);
		jnum(b, "pct_right_to_wrong", 100.0 * (double)r->b / n);
		jnum(b, "pct_wrong_to_right", 100.0 * (double)r->c / n);
		jnum(b, "pct", 100.0 * (double)(r->b + r->c) / n);
		buf_addc(b, '}');
	} else {
		buf_adds(b, ",\"mcnemar\":null,\"flips\":null");
	}
	if (r->has_corpus) {
		/* Only for corpus scorers: other runs print as before. */
		buf_adds(b, ",\"corpus\":{\"baseline\":");
		buf_json_number(b, r->cbase);
		jnum(b, "candidate", r->ccand);
		jnum(b, "delta", r->cdelta);
		buf_printf(b, ",\"bootstrap\":{\"resamples\":%ld,\"seed\":%llu", r->cresamples, D.seed);
		jnum(b, "ci_low", r->clo_b);
		jnum(b, "ci_high", r->chi_b);
		jnum(b, "p", r->cp);
		buf_adds(b, "}}");
	}
	jnum(b, "recovery_pct", r->recovery);
	buf_printf(b, ",\"lower_is_better\":%s", lower_better(r->metric) ? "true" : "false");
	buf_adds(b, ",\"ratios\":{\"p50_latency\":");
	buf_json_number(b, r->r_p50);
	jnum(b, "p95_latency", r->r_p95);
	jnum(b, "p99_latency", r->r_p99);
	jnum(b, "mean_cost", r->r_cost);
	jnum(b, "perplexity", r->r_ppl);
	buf_addc(b, '}');
	jstr(b, "percentiles", D.percentile_name);
	/* Only when some pair carries logprobs on both sides: runs without them print as before. */
	if (D.lp_records) {
		buf_adds(b, ",\"drift\":");
		json_drift(b, &r->dr);
	}

	buf_adds(b, ",\"gate\":");
	if (r->gated) {
		buf_printf(b, "{\"pass\":%s,\"on\":\"%s\",\"ci\":\"%s\",\"failures\":[", r->nfail ? "false" : "true",
		    D.gate_ci ? "ci" : "point", r->gate_ci);
		for (size_t i = 0; i < r->nfail; i++) {
			const struct failure *f = &r->fail[i];
			buf_printf(b, "%s{\"criterion\":\"%s\"", i ? "," : "", f->criterion);
			jnum(b, "value", f->value);
			jnum(b, "limit", f->limit);
			jstr(b, "message", f->msg);
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

static const char *fmt(char *dst, size_t n, const char *f, double v)
{
	if (isfinite(v))
		snprintf(dst, n, f, v);
	else
		snprintf(dst, n, "-");
	return dst;
}

static const char *scope_label(const struct result *r)
{
	return strcmp(r->scope, "overall") == 0 ? "(overall)" : r->task ? r->task : "(no task)";
}

/* "overall", "task NAME" or "records without a task", for messages. */
static const char *scope_words(const struct result *r, char *buf, size_t n)
{
	if (strcmp(r->scope, "overall") == 0)
		return "overall";
	if (!r->task)
		return "records without a task";
	snprintf(buf, n, "task %s", r->task);
	return buf;
}

/* The cells of one row, for the table and for Markdown. */
enum { NCOL = 13 };
static const char *const col_head[NCOL] = { "TASK", "N", "BASELINE", "CANDIDATE", "DELTA", "95% CI",
	"P (EXACT)", "R->W", "W->R", "RECOVERY", "INVALID B/C", "ERRORS B/C", "P95 MS B/C" };

static void row_cells(const struct result *r, char cell[NCOL][64])
{
	char a[32], b[32];
	snprintf(cell[0], 64, "%s", scope_label(r));
	snprintf(cell[1], 64, "%zu", r->n);
	fmt(cell[2], 64, "%.4f", r->s[BASE].mean);
	fmt(cell[3], 64, "%.4f", r->s[CAND].mean);
	fmt(cell[4], 64, "%+.4f", r->pd.mean_diff);
	double lo, hi;
	ci_used(r, &lo, &hi);
	if (isfinite(lo) && isfinite(hi))
		snprintf(cell[5], 64, "[%+.4f, %+.4f]", lo, hi);
	else
		snprintf(cell[5], 64, "-");
	fmt(cell[6], 64, "%.4g", r->flips ? r->mc.p_exact : NAN);
	if (r->flips) {
		snprintf(cell[7], 64, "%ld", r->b);
		snprintf(cell[8], 64, "%ld", r->c);
	} else {
		snprintf(cell[7], 64, "-");
		snprintf(cell[8], 64, "-");
	}
	fmt(cell[9], 64, "%.1f%%", r->recovery);
	snprintf(cell[10], 64, "%s/%s", fmt(a, sizeof a, "%.1f%%", 100 * r->s[BASE].invalid_rate),
	    fmt(b, sizeof b, "%.1f%%", 100 * r->s[CAND].invalid_rate));
	snprintf(cell[11], 64, "%s/%s", fmt(a, sizeof a, "%.1f%%", 100 * r->s[BASE].error_rate),
	    fmt(b, sizeof b, "%.1f%%", 100 * r->s[CAND].error_rate));
	snprintf(cell[12], 64, "%s/%s", fmt(a, sizeof a, "%.0f", r->s[BASE].p95),
	    fmt(b, sizeof b, "%.0f", r->s[CAND].p95));
}

static void decision_text(qa_buf *b, const struct result *res, size_t nres, int md)
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
static const char *fnum(char *dst, size_t n, int w, int prec, double v)
{
	if (isfinite(v))
		snprintf(dst, n, "%*.*f", w, prec, v);
	else
		snprintf(dst, n, "%*s", w, "-");
	return dst;
}

/* The overall token drift, laid out as llama-perplexity --kl-divergence prints it. */
static void drift_text(qa_buf *b, const struct driftres *r)
{
	const struct drift *d = r->d;
	char x[64], y[64];
	buf_printf(b, "token drift: %ld record%s with logprobs in both runs, %ld token%s compared, "
	    "%ld with top-k lists\n", d->records, d->records == 1 ? "" : "s", d->tokens, d->tokens == 1 ? "" : "s",
	    d->top_n);
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
	buf_printf(b, "\n====== KL divergence statistics (%s, a truncated estimate) ======\n", kl_estimate());
	buf_printf(b, "Mean    KLD: %s ± %s\n", fnum(x, sizeof x, 10, 6, r->kl_mean), fnum(y, sizeof y, 10, 6, r->kl_se));
	for (int q = 0; q < NKLQ; q++)
		buf_printf(b, "%s KLD: %s\n", kl_label[q], fnum(x, sizeof x, 10, 6, r->kl_pct[q]));
	buf_printf(b, "Top-k mass   : %s%% of the baseline's probability on the tokens both lists share\n",
	    fnum(x, sizeof x, 6, 2, 100 * r->cover));
	if (d->kl_inf || d->kl_undef)
		buf_printf(b, "KLD left out: infinite at %ld position%s, undefined at %ld\n", d->kl_inf,
		    d->kl_inf == 1 ? "" : "s", d->kl_undef);
	buf_adds(b, "\n====== Token probability statistics ======\n");
	buf_printf(b, "Mean    Δp: %s ± %s %%\n", fnum(x, sizeof x, 6, 3, 100 * r->dp_mean),
	    fnum(y, sizeof y, 5, 3, 100 * r->dp_se));
	buf_printf(b, "RMS Δp    : %s ± %s %%\n", fnum(x, sizeof x, 6, 3, 100 * r->rms),
	    fnum(y, sizeof y, 5, 3, 100 * r->rms_se));
	buf_printf(b, "Same top p: %s ± %s %%\n", fnum(x, sizeof x, 6, 3, r->same_pct),
	    fnum(y, sizeof y, 5, 3, r->same_se));
}

static void print_table(qa_buf *b, const struct result *res, size_t nres)
{
	char cell[NCOL][64];
	static const int width[NCOL] = { -16, 7, 9, 9, 8, -20, 9, 6, 6, 9, 13, 13, 12 };
	decision_text(b, res, nres, 0);
	for (int k = 0; k < NCOL; k++)
		buf_printf(b, "%s%*s", k ? " " : "", width[k], col_head[k]);
	buf_addc(b, '\n');
	for (size_t i = 0; i < nres; i++) {
		row_cells(&res[i], cell);
		for (int k = 0; k < NCOL; k++)
			buf_printf(b, "%s%*s", k ? " " : "", width[k], cell[k]);
		buf_addc(b, '\n');
	}
	if (res[nres - 1].dr.d) {
		buf_addc(b, '\n');
		drift_text(b, &res[nres - 1].dr);
	}
}

static void print_md(qa_buf *b, const struct result *res, size_t nres)
{
	char cell[NCOL][64];
	decision_text(b, res, nres, 1);
	buf_adds(b, "| task | n | baseline | candidate | delta | 95% CI | p (exact) | right→wrong | wrong→right "
	    "| recovery | invalid b/c | errors b/c | p95 ms b/c |\n");
	buf_adds(b, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	for (size_t i = 0; i < nres; i++) {
		row_cells(&res[i], cell);
		for (int k = 0; k < NCOL; k++) {
			buf_adds(b, "| ");
			/* A task name may hold a pipe; escape it so the row keeps its columns. */
			for (const char *p = cell[k]; *p; p++) {
				if (*p == '|')
					buf_addc(b, '\\');
				buf_addc(b, *p);
			}
			buf_addc(b, ' ');
		}
		buf_adds(b, "|\n");
	}
	if (res[nres - 1].dr.d) {
		buf_adds(b, "\n**Token drift** (all items)\n\n```\n");
		drift_text(b, &res[nres - 1].dr);
		buf_adds(b, "```\n");
	}
}

/* ---- the end of the run: what was not compared, then the statistics ---- */

/*
 * Every task's KL values into one array, for the overall percentiles.  The
 * largest task's array grows to hold them all and the others are freed as
 * they are copied, so the values are not held twice (realloc of a block
 * that large moves pages, not bytes).
 */
static void gather_kl(struct dvec *all)
{
	size_t total = 0, big = 0;
	for (size_t t = 0; t < D.ntasks; t++) {
		total += D.tasks[t].drift.kl.n;
		if (D.tasks[t].drift.kl.n > D.tasks[big].drift.kl.n)
			big = t;
	}
	if (!total)
		return;
	*all = D.tasks[big].drift.kl;
	memset(&D.tasks[big].drift.kl, 0, sizeof D.tasks[big].drift.kl);
	all->v = xreallocarray(all->v, total, sizeof *all->v);
	all->cap = total;
	for (size_t t = 0; t < D.ntasks; t++) {
		struct dvec *k = &D.tasks[t].drift.kl;
		if (k->n)
			memcpy(all->v + all->n, k->v, k->n * sizeof *k->v);
		all->n += k->n;
		xfree(&k->v);
		k->n = k->cap = 0;
	}
}

static void report_unpaired(void)
{
	long only[2] = { 0, 0 };
	for (size_t i = 0; i < D.nitems; i++) {
		const struct item *it = &D.items[i];
		int side = it->flags == IN_BASE ? BASE : it->flags == IN_CAND ? CAND : -1;
		if (side < 0) {
			if (isnan(it->base) || isnan(it->cand))
				D.tasks[it->task].excluded++;
			continue;
		}
		only[side]++;
		D.tasks[it->task].only[side]++;
	}
	if (D.verbose)
		for (int side = 0; side < 2; side++)
			for (size_t i = 0; i < D.nitems; i++) {
				const struct item *it = &D.items[i];
				if (it->flags != (side == BASE ? IN_BASE : IN_CAND))
					continue;
				char id[256];
				id_text(i, id, sizeof id);
				qa_warn_at(D.file[side], it->line, "id %s only in the %s", id, side_name[side]);
			}
	if (only[BASE] || only[CAND])
		qa_warn("%ld id%s only in the baseline, %ld only in the candidate: not compared%s", only[BASE],
		    only[BASE] == 1 ? "" : "s", only[CAND], D.verbose ? "" : " (--verbose lists them)");
	for (int side = 0; side < 2; side++) {
		if (D.noid[side])
			qa_warn_at(D.file[side], 0, "%ld record%s no id; the line number stands in for it",
			    D.noid[side], D.noid[side] == 1 ? " has" : "s have");
		if (D.unscored[side]) {
			qa_warn_at(D.file[side], 0, "%ld record%s no score to compare (first at line %lu): not "
			    "compared", D.unscored[side], D.unscored[side] == 1 ? " has" : "s have",
			    D.unscored_line[side]);
			status_raise(QA_EXIT_DATA);
		}
	}
	if (D.other_task)
		qa_warn_at(D.file[CAND], 0, "%ld id%s another task than in the baseline (first at line %lu); "
		    "the baseline's is used", D.other_task, D.other_task == 1 ? " has" : "s have",
		    D.other_task_line);
	if (D.differ)
		qa_warn_at(D.file[CAND], 0, "tokens differ: %ld record%s, left out of token drift (first at line "
		    "%lu)", D.differ, D.differ == 1 ? "" : "s", D.differ_line);
	if (D.lp_one[BASE] || D.lp_one[CAND])
		qa_warn("%ld paired record%s logprobs in the baseline only, %ld in the candidate only: left out "
		    "of token drift", D.lp_one[BASE], D.lp_one[BASE] == 1 ? " has" : "s have", D.lp_one[CAND]);
}

/* Gathers the compared pairs task by task; frees the item table. */
static size_t gather(void)
{
	size_t total = 0;
	xfree(&D.items_ix.slot);
	int any_cluster = 0;
	for (size_t i = 0; i < D.nitems; i++) {
		const struct item *it = &D.items[i];
		if (it->flags == (IN_BASE | IN_CAND) && !isnan(it->base) && !isnan(it->cand)) {
			D.tasks[it->task].n++;
			total++;
			any_cluster |= it->cluster != NONE;
		}
	}
	size_t off = 0;
	for (size_t t = 0; t < D.ntasks; t++) {
		D.tasks[t].off = off;
		off += D.tasks[t].n;
		D.tasks[t].n = 0;
	}
	gbase = xreallocarray(NULL, total ? total : 1, sizeof *gbase);
	gcand = xreallocarray(NULL, total ? total : 1, sizeof *gcand);
	gcl = any_cluster ? xreallocarray(NULL, total ? total : 1, sizeof *gcl) : NULL;
	gmet = xreallocarray(NULL, total ? total : 1, sizeof *gmet);
	met_binary = xreallocarray(NULL, D.nmetrics + 1, 1);
	memset(met_binary, 1, D.nmetrics + 1);
	if (CS.n)
		for (int k = 0; k < 2; k++) {
			gsoff[k] = xreallocarray(NULL, total ? total : 1, sizeof *gsoff[k]);
			gsn[k] = xreallocarray(NULL, total ? total : 1, sizeof *gsn[k]);
		}
	for (size_t i = 0; i < D.nitems; i++) {
		const struct item *it = &D.items[i];
		if (it->flags != (IN_BASE | IN_CAND) || isnan(it->base) || isnan(it->cand))
			continue;
		struct task *t = &D.tasks[it->task];
		size_t at = t->off + t->n++;
		gbase[at] = it->base;
		gcand[at] = it->cand;
		gmet[at] = it->metric;
		if ((it->base != 0 && it->base != 1) || (it->cand != 0 && it->cand != 1))
			met_binary[it->metric == NO_METRIC ? D.nmetrics : it->metric] = 0;
		if (gcl)
			gcl[at] = it->cluster;
		for (int k = 0; k < 2 && gsn[0]; k++) {
			gsoff[k][at] = it->soff[k];
			gsn[k][at] = it->sn[k];
		}
	}
	xfree(&D.items);
	xfree(&D.idoff);
	buf_free(&D.idpool);
	/* The candidate has been read: the baseline's logprobs are no longer needed. */
	xfree(&D.lpoff);
	if (D.spool)
		fclose(D.spool);
	D.spool = NULL;
	buf_free(&D.lpbuf);
	json_free(&D.jb);
	return total;
}

static void finish(void)
{
	report_unpaired();
	size_t total = gather();
	size_t nres = D.ntasks + 1;
	if (gcl) {
		scratch.csum = xcalloc(D.nclusters, sizeof *scratch.csum);
		scratch.touched = xcalloc(D.nclusters, sizeof *scratch.touched);
		scratch.seen = xcalloc(D.nclusters, sizeof *scratch.seen);
	}
	struct result *res = xcalloc(nres, sizeof *res);
	struct side all[2];
	struct drift alld;

	memset(&alld, 0, sizeof alld);
	long only[2] = { 0, 0 }, excluded = 0;
	uint16_t metric = NO_METRIC;
	int mixed = 0;

	memset(all, 0, sizeof all);
	for (int k = 0; k < 2; k++)
		add_side(&all[k], &D.extra[k], 1);
	for (size_t t = 0; t < D.ntasks; t++) {
		struct task *tk = &D.tasks[t];
		struct result *r = &res[t];
		r->scope = "task";
		r->task = tk->name;
		r->metric = tk->mixed || tk->metric == NO_METRIC ? NULL : D.metrics[tk->metric];
		r->only[BASE] = tk->only[BASE];
		r->only[CAND] = tk->only[CAND];
		r->excluded = tk->excluded;
		r->gated = gate_given() && D.gate_task;
		for (int k = 0; k < 2; k++) {
			add_side(&all[k], &tk->side[k], 1);
			only[k] += tk->only[k];
		}
		excluded += tk->excluded;
		if (tk->metric != NO_METRIC) {
			if (metric == NO_METRIC)
				metric = tk->metric;
			mixed |= tk->mixed || metric != tk->metric;
		}
		struct dvec lat[2] = { tk->side[BASE].lat, tk->side[CAND].lat };
		compute(r, tk->side, lat, tk->off, tk->n, D.task_hash[t]);
		drift_merge(&alld, &tk->drift);
		drift_stats(&r->dr, &tk->drift);
		gate(r);
	}
	gather_kl(&alld.kl);
	struct result *o = &res[D.ntasks];
	o->scope = "overall";
	o->task = NULL;
	o->metric = mixed || metric == NO_METRIC ? NULL : D.metrics[metric];
	o->only[BASE] = only[BASE];
	o->only[CAND] = only[CAND];
	o->excluded = excluded;
	o->gated = gate_given() && D.gate_overall;
	struct dvec lat[2] = { all[BASE].lat, all[CAND].lat };
	compute(o, all, lat, 0, total, hash64('o', "", 0));
	drift_stats(&o->dr, &alld);
	gate(o);

	int pass = 1;
	char words[200];
	for (size_t i = 0; i < nres; i++) {
		for (size_t k = 0; k < res[i].nfail; k++)
			qa_warn("gate: %s: %s", scope_words(&res[i], words, sizeof words), res[i].fail[k].msg);
		pass &= res[i].nfail == 0;
	}
	if (!pass)
		status_raise(QA_EXIT_DATA);

	qa_buf out = { 0 };
	if (D.table)
		print_table(&out, res, nres);
	else if (D.md)
		print_md(&out, res, nres);
	else
		for (size_t i = 0; i < nres; i++)
			json_line(&out, &res[i], i == D.ntasks, pass);
	out_write(stdout, &out);
	buf_free(&out);

	for (size_t i = 0; i < nres; i++)
		free(res[i].fail);
	free(res);
	xfree(&scratch.csum);
	xfree(&scratch.touched);
	xfree(&scratch.seen);
	for (int k = 0; k < 2; k++)
		free(all[k].lat.v);
	free(alld.kl.v);
}

static void cleanup(void)
{
	for (size_t t = 0; t < D.ntasks; t++) {
		free(D.tasks[t].name);
		free(D.tasks[t].side[BASE].lat.v);
		free(D.tasks[t].side[CAND].lat.v);
		free(D.tasks[t].drift.kl.v);
	}
	free(D.alt[BASE]);
	free(D.alt[CAND]);
	free(D.kp);
	free(D.kq);
	free(D.tasks);
	free(D.task_hash);
	free(D.tasks_ix.slot);
	free(D.cluster_hash);
	free(D.clusters_ix.slot);
	for (size_t i = 0; i < D.nmetrics; i++)
		free(D.metrics[i]);
	free(D.metrics);
	free(gbase);
	free(gcand);
	free(gcl);
	free(gmet);
	free(met_binary);
	for (int k = 0; k < 2; k++) {
		free(gsoff[k]);
		free(gsn[k]);
	}
	cplug_free();
	for (size_t i = 0; i < CS.nnames; i++)
		free(CS.names[i]);
	free(CS.names);
	free(CS.ix);
	free(CS.v);
	json_free(&D.j);
	host_fini();
}

static QA_NORETURN void usage(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	exit(status);
}

static double num_arg(const char *opt, const char *arg, double min, double max, const char *what)
{
	double v;
	if (parse_double(arg, min, max, &v) < 0)
		qa_die(QA_EXIT_USAGE, "--%s %s: %s", opt, arg, what);
	return v;
}

enum {
	OPT_BOOTSTRAP = 256, OPT_GATE_ON, OPT_GATE_SCOPE, OPT_KL, OPT_MAX_DROP, OPT_MAX_ERRORS, OPT_MAX_FLIPS,
	OPT_MAX_INVALID, OPT_MAX_KLD, OPT_MAX_P95, OPT_MAX_PPL_RATIO, OPT_MIN_RECOVERY, OPT_MIN_SAME_TOP,
	OPT_PERCENTILES, OPT_PERPLEXITY, OPT_SEED, OPT_Z,
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bootstrap", required_argument, NULL, OPT_BOOTSTRAP },
		{ "format", required_argument, NULL, 'f' },
		{ "gate-on", required_argument, NULL, OPT_GATE_ON },
		{ "gate-scope", required_argument, NULL, OPT_GATE_SCOPE },
		{ "help", no_argument, NULL, 'h' },
		{ "kl", required_argument, NULL, OPT_KL },
		{ "max-drop", required_argument, NULL, OPT_MAX_DROP },
		{ "max-errors", required_argument, NULL, OPT_MAX_ERRORS },
		{ "max-flips", required_argument, NULL, OPT_MAX_FLIPS },
		{ "max-invalid", required_argument, NULL, OPT_MAX_INVALID },
		{ "max-kld", required_argument, NULL, OPT_MAX_KLD },
		{ "max-p95-ratio", required_argument, NULL, OPT_MAX_P95 },
		{ "max-ppl-ratio", required_argument, NULL, OPT_MAX_PPL_RATIO },
		{ "metric", required_argument, NULL, 'm' },
		{ "min-recovery", required_argument, NULL, OPT_MIN_RECOVERY },
		{ "min-same-top", required_argument, NULL, OPT_MIN_SAME_TOP },
		{ "percentiles", required_argument, NULL, OPT_PERCENTILES },
		{ "perplexity", required_argument, NULL, OPT_PERPLEXITY },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "z", required_argument, NULL, OPT_Z },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	long l;

	qa_tool_init(argv[0]);
	while ((c = getopt_long(argc, argv, "f:hm:vV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_BOOTSTRAP:
			if (parse_long(optarg, 1, 10000000, &l) < 0)
				qa_die(QA_EXIT_USAGE, "--bootstrap %s: a whole number of resamples, 1 to 10000000",
				    optarg);
			D.bootstrap = l;
			break;
		case 'f':
			if (strcmp(optarg, "table") == 0)
				D.table = 1, D.md = 0;
			else if (strcmp(optarg, "md") == 0)
				D.md = 1, D.table = 0;
			else if (strcmp(optarg, "json") == 0)
				D.md = D.table = 0;
			else
				qa_die(QA_EXIT_USAGE, "--format: '%s' is not json, table or md", optarg);
			break;
		case OPT_GATE_ON:
			if (strcmp(optarg, "ci") != 0 && strcmp(optarg, "point") != 0)
				qa_die(QA_EXIT_USAGE, "--gate-on: '%s' is not ci or point", optarg);
			D.gate_ci = strcmp(optarg, "ci") == 0;
			break;
		case OPT_GATE_SCOPE:
			if (strcmp(optarg, "overall") == 0)
				D.gate_overall = 1, D.gate_task = 0;
			else if (strcmp(optarg, "task") == 0)
				D.gate_overall = 0, D.gate_task = 1;
			else if (strcmp(optarg, "both") == 0)
				D.gate_overall = 1, D.gate_task = 1;
			else
				qa_die(QA_EXIT_USAGE, "--gate-scope: '%s' is not overall, task or both", optarg);
			break;
		case 'h':
			usage(QA_EXIT_OK);
		case OPT_KL:
			if (strcmp(optarg, "renormalized") == 0)
				D.kl_raw = 0;
			else if (strcmp(optarg, "raw") == 0)
				D.kl_raw = 1;
			else
				qa_die(QA_EXIT_USAGE, "--kl: '%s' is not renormalized or raw", optarg);
			break;
		case OPT_MAX_DROP:
			D.max_drop = num_arg("max-drop", optarg, 0, 1, "a fraction from 0 to 1 (0.02 is two points)");
			break;
		case OPT_MAX_ERRORS:
			D.max_errors = num_arg("max-errors", optarg, 0, 100, "a percentage from 0 to 100");
			break;
		case OPT_MAX_FLIPS:
			D.max_flips = num_arg("max-flips", optarg, 0, 100, "a percentage from 0 to 100");
			break;
		case OPT_MAX_INVALID:
			D.max_invalid = num_arg("max-invalid", optarg, 0, 100, "a percentage from 0 to 100");
			break;
		case OPT_MAX_KLD:
			D.max_kld = num_arg("max-kld", optarg, 0, 1e9, "a KL divergence in nats, 0 or more (0.01)");
			break;
		case OPT_MAX_P95:
			D.max_p95 = num_arg("max-p95-ratio", optarg, 0, 1e9, "a ratio, 0 or more (1.2: 20% slower)");
			break;
		case OPT_MAX_PPL_RATIO:
			D.max_ppl_ratio = num_arg("max-ppl-ratio", optarg, 0, 1e9, "a ratio, 0 or more (1.05: 5% "
			    "higher perplexity)");
			break;
		case 'm':
			if (!*optarg)
				qa_die(QA_EXIT_USAGE, "--metric: a score name, not empty");
			D.metric = optarg;
			break;
		case OPT_MIN_RECOVERY:
			D.min_recovery = num_arg("min-recovery", optarg, 0, 1e9, "a percentage, 0 or more (98: "
			    "the candidate keeps 98% of the baseline's score)");
			break;
		case OPT_MIN_SAME_TOP:
			D.min_same_top = num_arg("min-same-top", optarg, 0, 100, "a percentage from 0 to 100");
			break;
		case OPT_PERCENTILES:
			if (strcmp(optarg, "linear") == 0)
				D.percentile = percentile_linear, D.percentile_name = "linear";
			else if (strcmp(optarg, "nearest-rank") == 0)
				D.percentile = percentile_nearest, D.percentile_name = "nearest-rank";
			else
				qa_die(QA_EXIT_USAGE, "--percentiles: '%s' is not linear or nearest-rank", optarg);
			break;
		case OPT_PERPLEXITY:
			if (!*optarg)
				qa_die(QA_EXIT_USAGE, "--perplexity: a score name, not empty");
			D.ppl_key = optarg;
			break;
		case OPT_SEED:
			if (parse_long(optarg, 0, LONG_MAX, &l) < 0)
				qa_die(QA_EXIT_USAGE, "--seed %s: a whole number, 0 or more", optarg);
			D.seed = (unsigned long long)l;
			break;
		case 'v':
			D.verbose = 1;
			break;
		case 'V':
			printf("qa-diff %s\n", QA_VERSION);
			out_close();
			return QA_EXIT_OK;
		case OPT_Z:
			D.z = num_arg("z", optarg, 0.001, 10, "a normal quantile between 0.001 and 10 (1.96 for 95%)");
			break;
		default:
			usage(QA_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2) {
		qa_warn("need two runs: baseline and candidate");
		usage(QA_EXIT_USAGE);
	}
	if (strcmp(argv[0], "-") == 0 && strcmp(argv[1], "-") == 0)
		qa_die(QA_EXIT_USAGE, "only one of the runs can be - (standard input)");
	D.file[BASE] = argv[0];
	D.file[CAND] = argv[1];
	if (D.metric)
		metric_get(D.metric, strlen(D.metric));

	D.j = json_new();
	read_run(BASE);
	if (D.spool && fflush(D.spool) != 0)
		qa_die(QA_EXIT_USAGE, "writing the temporary logprobs file: %s", strerror(errno));
	read_run(CAND);
	finish();
	cleanup();
	status_exit();
}
