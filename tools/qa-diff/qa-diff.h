/* qa-diff: what its files share (types, options, run state); private to the tool. */
#ifndef QA_QA_DIFF_H
#define QA_QA_DIFF_H

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "qa.h"

#define NONE UINT32_MAX

#define NO_METRIC UINT16_MAX

/* Thresholds compare with this much slack, so 100 * 3 / 150 is not "over 2". */
#define EPS 1e-9

enum { BASE = 0, CAND = 1 };

/*
 * Slots hold 1 + the position of an entry in a dense array whose entries
 * start with their 64-bit hash, stride bytes apart; 0 is an empty slot.
 * Linear probing, at most 3/4 full.
 */
struct index {
	uint32_t *slot;
	size_t cap;
};

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
	qa_comoments rec;	/* per-record ln PPL: baseline x, candidate y */
	long top_n, same_top;	/* positions with both top lists; where their first token agrees */
	qa_moments cover;	/* the baseline's probability on the tokens both lists share */
	long kl_inf, kl_undef;	/* positions whose KL is infinite, or undefined */
	struct dvec kl;		/* every finite KL value, for the percentiles */
	long dup[2];		/* per run: top-list entries dropped for a likelier one of the same string */
	long exact;		/* records whose drift is exact: the candidate's response.drift (--kl-base) */
	struct dvec dpv;	/* every compared token's p_cand - p_base, for the percentiles */
};

/*
 * Corpus statistics (qa-plugin(7)): a corpus scorer's details.stats of
 * every record, kept so that the paired bootstrap can add them up again
 * for each resample and ask the scorer's corpus() for the figure.
 */
struct cstat {
	uint32_t name;
	double v;
};

struct cs_table {
	struct cstat *v;
	size_t n, cap;
	char **names;
	size_t nnames;
	uint32_t *ix;		/* open addressing over names: index + 1, 0 empty */
	size_t ixcap;
};

/* What one run says about one task, record by record. */
struct side {
	long records, errors, scored, invalid;
	struct dvec lat;
	double cost_sum;
	long cost_n;
	double cost_sq, cost_correct;	/* sums of cost^2, and of the right answers' cost */
	long cost_right;		/* records with a cost whose compared score is 1 */
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

/* The command line (main.c's option table): set before the runs are read, read-only after. */
struct diff_opts {
	const char *metric;
	const char *ppl_key;
	int verbose, table, md;
	double z;
	double (*percentile)(const double *, size_t, double);
	const char *percentile_name;
	long bootstrap;
	uint64_t seed;
	int gate_ci, gate_task, gate_overall;
	double max_drop, max_flips, min_recovery, max_invalid, max_errors, max_p95;
	int kl_raw;		/* --kl raw */
	double max_kld, min_same_top, max_ppl_ratio;
	double max_excess_flips;	/* --max-excess-flips, points over the --noise floor */
};

/* The run: what the two runs hold, as they are read and compared. */
struct diff_state {
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
};

#define NO_LP UINT64_MAX

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
	double per_correct, per_correct_lo, per_correct_hi;	/* cost per right answer, delta-method CI */
	double ppl;
	const char *ppl_method;
};

/* The KL percentiles llama-perplexity prints, in its order. */
enum { NKLQ = 11 };
/* The Δp percentiles it prints, in its order. */
enum { NDPQ = 13 };

/* Token drift of one line; d is NULL when no pair in it carries logprobs on both sides. */
struct driftres {
	const struct drift *d;
	double ppl[2], ppl_se[2], ppl_ratio;
	double ln_mean, ln_se, corr;
	size_t kl_n;
	double kl_mean, kl_se, kl_pct[NKLQ], cover;
	double dp_mean, dp_se, rms, rms_se;
	double same_pct, same_se;
	double dp_pct[NDPQ];
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
	double recovery_mean;	/* overall line: the tasks' recovery %, averaged (NaN elsewhere) */
	double be_acc, be_drop;	/* break-even: the cheaper side's accuracy where it stops being cheaper */
	int cheaper;		/* BASE, CAND, or -1: no costs, or equal */
	double r_p50, r_p95, r_p99, r_cost, r_ppl;
	struct driftres dr;
	int gated;
	const char *gate_ci;
	struct failure *fail;
	size_t nfail, ncheck;
};

/*
 * Miller (2024), "Adding Error Bars to Evals": with r_i = d_i - mean(d),
 * SE_clustered^2 = SE^2 + (1 / n^2) sum over clusters of sum_{i != j} r_i r_j.
 * An item without a cluster is a cluster of its own.
 */
/* Per-cluster sums while one line is computed: all zero between lines. */
struct line_scratch {
	double *csum;
	uint32_t *touched;
	unsigned char *seen;
};

/* A metric's corpus(), from its plugin with default options; loaded once per metric. */
struct cplug {
	char *metric;
	qa_loaded loaded;
	void *state;
	int (*fn)(void *, const char *const *, const double *, size_t, double *, char **);
};

/* The cells of one row, for the table and for Markdown. */
enum { NCOL = 14 };

extern const char *const side_name[2];
extern struct cs_table CS;
extern struct diff_opts O;
extern struct diff_state D;
extern const double kl_q[NKLQ];
extern const char *const kl_key[NKLQ];
extern const char *const kl_label[NKLQ];
extern double *gbase, *gcand;
extern uint32_t *gcl;
extern uint32_t *gsoff[2], *gsn[2];
extern uint16_t *gmet;
extern unsigned char *met_binary;
extern struct line_scratch scratch;
extern struct cplug *cplugs;
extern size_t ncplugs;
extern const char *const col_head[NCOL];

uint64_t tag_hash(int tag, const char *s, size_t n);
uint64_t key_at(const void *keys, size_t stride, uint32_t pos);
uint32_t *index_slot(const struct index *x, uint64_t h, const void *keys, size_t stride);
void index_reserve(struct index *x, size_t n, const void *keys, size_t stride);
void dvec_add(struct dvec *d, double x);
void drift_merge(struct drift *into, const struct drift *from);
uint32_t cs_intern(const char *s, size_t n);
uint32_t cs_read(const qa_json *j, int tok, uint32_t *off);
int gate_given(void);
uint32_t task_get(const char *name, size_t len);
uint32_t cluster_get(uint64_t h);
uint16_t metric_get(const char *name, size_t len);
int value_hash(const qa_json *j, int tok, uint64_t *h);
double score_named(const qa_json *j, int scores, const char *m, size_t mlen);
int listed_invalid(const qa_json *j, const char *m, size_t mlen);
uint32_t clamp_line(unsigned long line);
void id_text(size_t item, char *out, size_t outlen);
QA_NORETURN void duplicate(int side, unsigned long line, const qa_json *j, int idtok, uint32_t first);
const char *lp_check(const qa_json *j, int lp);
void spool_add(size_t item, const qa_json *j, int lp);
void spool_get(uint64_t off);
int alt_before(const struct alt *a, const struct alt *b, int by_ord);
int cmp_alt_h(const void *a, const void *b);
int cmp_alt_ord(const void *a, const void *b);
void alt_sort(struct alt *v, size_t n, int by_ord);
size_t alts_read(int side, const qa_json *j, int obj, long *dup);
uint64_t alt_top(const struct alt *v, size_t n);
void top_pair(struct drift *d, const qa_json *jb, int ob, const qa_json *jc, int oc);
int same_tokens(const qa_json *jb, int lb, const qa_json *jc, int lc);
long lp_sum(const qa_json *j, int v, double *sum, qa_moments *m);
void drift_pair(struct drift *d, const qa_json *jb, int lb, const qa_json *jc, int lc,
    unsigned long lineno);
void read_logprobs(int side, size_t item, unsigned long lineno);
void read_record(int side, unsigned long lineno, const char *line, size_t len);
void read_run(int side);
double ratio(double a, double b);
int lower_better(const char *metric);
void side_stats(struct sideres *r, const struct side *s, const double *x, size_t n, int binary,
    struct dvec *sorted_lat);
uint64_t splitmix64(uint64_t *state);
uint32_t draw(uint64_t *state, uint32_t n);
void bootstrap(struct result *r, const double *cand, const double *base, size_t n, uint64_t stream);
void clustered(struct result *r, const double *cand, const double *base, const uint32_t *cl, size_t n);
void add_side(struct side *into, const struct side *from, int with_lat);
double exact_p(long b, long c, double libqa);
struct cplug *cplug_get(const char *metric);
void cplug_free(void);
double corpus_eval(struct cplug *c, const double *sum, const char **names, double *vals);
void corpus_add(double *sum, int side, size_t at);
void corpus_compare(struct result *r, size_t off, size_t n, uint64_t stream);
void resampled(double *v, long B, double obs, double *p, double *lo, double *hi);
void compute(struct result *r, const struct side side[2], struct dvec lat[2], size_t off, size_t n,
    uint64_t stream);
double se_of(const qa_moments *m);
void drift_stats(struct driftres *r, struct drift *d);
void fail(struct result *r, const char *criterion, double value, double limit, const char *fmt, ...);
const char *ci_used(const struct result *r, double *lo, double *hi);
void gate(struct result *r);
void json_side(qa_buf *b, const struct sideres *s);
const char *kl_estimate(const struct drift *d);
void json_drift(qa_buf *b, const struct driftres *r);
void json_line(qa_buf *b, const struct result *r, int overall, int decision);
const char *scope_label(const struct result *r);
const char *scope_words(const struct result *r, char *buf, size_t n);
void row_cells(const struct result *r, char cell[NCOL][64]);
void decision_text(qa_buf *b, const struct result *res, size_t nres, int md);
const char *fnum(char *dst, size_t n, int w, int prec, double v);
void drift_text(qa_buf *b, const struct driftres *r);
void print_table(qa_buf *b, const struct result *res, size_t nres);
void print_md(qa_buf *b, const struct result *res, size_t nres);
void gather_kl(struct dvec *all);
void gather_dp(struct dvec *all);
extern const double dp_q[NDPQ];
extern const char *const dp_key[NDPQ];
extern const char *const dp_label[NDPQ];
void report_unpaired(void);
size_t gather(void);
void finish(void);
void cleanup(void);
void break_even(struct result *r, const struct side side[2]);
void json_cost(qa_buf *b, const struct result *r);
void recovery_mean(struct result *o, const struct result *tasks, size_t ntasks);
void cost_text(qa_buf *b, const struct result *r);
void json_side_cost(qa_buf *b, const struct sideres *s);
void noise_set(const char *path);
int noise_on(void);
int noise_stdin(void);
void noise_read(void);
void json_noise(qa_buf *b, const struct result *r);
void noise_text(qa_buf *b, const struct result *r);
void noise_gate(struct result *r);
void noise_free(void);
void repeat_add(int side, const char *path);
int repeats_delta(const struct result *r, double *point, double *lo, double *hi);
void json_repeats(qa_buf *b, const struct result *r);
void repeats_text(qa_buf *b, const struct result *r);
void sent_allow(const char *list);
void sent_record(int side, size_t item, const qa_json *j, unsigned long line);
void sent_report(void);

/* latency.c: the latency of streamed records, and --max-latency-ratio */
void stream_lat_read(int side, const qa_json *j);
void stream_lat_gate_opt(const char *arg);
int stream_lat_gated(void);
void stream_lat_gate(struct result *o);
void stream_lat_print(qa_buf *out, int table, int md);
void stream_lat_free(void);

#endif
