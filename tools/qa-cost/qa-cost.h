/* qa-cost: what its files share (types, options, run state); private to the tool. */
#ifndef QA_QA_COST_H
#define QA_QA_COST_H

#include <csv.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "qa.h"

#define DEFAULT_EXACT_LATENCIES 4194304L

struct price {
	char *provider, *model;
	size_t mlen;
	/* NAN where the table leaves it out: cached and cache_write fall back to in, reasoning to out. */
	double in, out, cached, cache_write, reasoning;
	double per;		/* the tokens a price is for: 1e6 (per MTok), or 1 (LiteLLM, per token) */
	char *currency, *date, *source;	/* date NULL when the table has none */
	char *file;
	unsigned long line;
};

/* CSV, read with libcsv; columns by the names in the header. */
enum { C_PROVIDER, C_MODEL, C_IN, C_OUT, C_CACHED, C_CACHE_WRITE, C_REASONING, C_CURRENCY, C_DATE,
	C_SOURCE, C_NCOLS };

struct csv_state {
	const char *file;
	unsigned long line;		/* of the byte being fed */
	unsigned long rec_line;		/* where the current record began */
	int at_record_start;
	char **fields;
	size_t nfields, cap;
	int col[C_NCOLS];		/* header position of each column, -1 when absent */
	size_t ncols;			/* columns in the header */
	int have_header;
};

/* What one record is priced with: a table row, maybe overridden by the endpoint config. */
struct rprice {
	double in, out, cached, cache_write, reasoning, per;
	char *currency;
	char *label;		/* "provider/model@date", or "config[endpoint]" */
	char *currency_json, *label_json;
};

struct opts {
	const char *provider;	/* --provider */
	const char *as_of;	/* --as-of */
	const char *correct;	/* --correct */
	int estimate, summary;
	long exact_max;
	double monthly_tasks, monthly_tokens;	/* NAN when not given */
	const char *baseline;
	double migration_cost;	/* NAN when not given */
	const char *format;
	const char *config;		/* --config */
	const char **price_files;	/* --prices, in order */
	size_t nprice_files;
};

/* Endpoint and model to resolved price: a bounded open-addressing cache. */
#define CACHE_SIZE 4096

struct centry {
	char *key;	/* endpoint NUL model */
	size_t klen;
	struct rprice *price;	/* NULL: no price */
};

struct usage {
	int style;		/* 0 none, 1 OpenAI, 2 Anthropic */
	double prompt, completion, total, cached, reasoning;	/* OpenAI */
	double input, output, cache_read, cache_write;		/* Anthropic */
	int has_total;
};

/* DDSketch-style log buckets: every value within 0.5% of the bucket's estimate. */
#define SK_ALPHA 0.005

#define SK_MIN 1e-3

#define SK_BUCKETS 2400

/* Latencies are kept to the microsecond, 4 bytes each: up to 4294967.295 ms (71 minutes). */
struct lat {
	uint32_t *v;
	size_t n, cap;
	uint64_t *sk;		/* non-NULL once the sketch has taken over */
	uint64_t skn;
};

struct pct {
	double n, p50, p95, p99;
	int sketch;
};

struct group {
	char *endpoint, *model;	/* NULL: the records had none */
	long tasks, errors, retries, mismatches, unpriced, estimated, scored, correct;
	double tok_in, tok_out, tok_cached, tok_reasoning, cost;
	double priced_tokens;	/* in + out of the records that were priced */
	double cost_sq, cost_correct;	/* sums of cost^2 and of the correct answers' cost: the CI */
	double incurred;	/* cost less the answers served from qa-send's cache */
	const char *currency;	/* borrowed from a resolved price */
	int mixed_currency;
	struct lat lat;
};

/* A string literal appended without strlen. */
#define ADDL(b, lit) buf_add((b), lit, sizeof lit - 1)

struct run {
	qa_json *j;
	qa_buf out, cost, mismatch, err, scratch;
	long missing_usage, no_model, unknown_models, bad, mismatches;
	const char *missing_first_file;
	unsigned long missing_first_line;
	char **warned;		/* unknown models already named */
	size_t nwarned;
};

struct proj {
	const char *endpoint;	/* NULL: records without one, projected per model */
	const char *model;
	long tasks, unpriced;
	double cost, tokens;
	const char *currency;
	int mixed_currency;
	/* computed */
	double unit, monthly, yearly;	/* unit: per task, or per MTok */
	double save_month, save_year, save_pct, payback;
	char *arith, *save_arith, *payback_arith;	/* NULL when there is none */
};

/* The derived figures of a group, NaN where undefined. */
struct derived {
	double per_1k, per_correct, accuracy;
	double per_correct_lo, per_correct_hi;	/* delta-method CI (lib/ratio.c) */
	double per_1k_lo, per_1k_hi;	/* normal CI of the mean cost per task, x 1000 */
	struct pct lat;
};


#define NSUM (sizeof sum_head / sizeof *sum_head)

#define NCSV (sizeof csv_head / sizeof *csv_head)

extern struct price *prices;
extern size_t nprices;
extern const char *const col_names[C_NCOLS];
extern const int col_required[C_NCOLS];
extern struct opts O;
extern qa_config config;
extern struct centry cache[CACHE_SIZE];
extern size_t cache_used;
extern struct rprice **spill;
extern size_t nspill;
extern struct rprice *overflow;
extern double sk_gamma, sk_lngamma;
extern struct group *groups;
extern size_t ngroups;
extern struct group overall;
extern struct proj *projs;
extern size_t nprojs;
extern const char *const sum_head[];
extern const char *const csv_head[];

int valid_date(const char *s);
struct price *price_add(void);
void price_check_duplicate(const struct price *p, const char *file, unsigned long line, int col);
void csv_on_field(void *s, size_t len, void *data);
QA_NORETURN void csv_fail(struct csv_state *st, int col, const char *fmt, ...);
void csv_header(struct csv_state *st);
double csv_price(struct csv_state *st, int c);
void csv_on_record(int term, void *data);
void load_csv(const char *path, const char *text, size_t len);
void text_position(const char *text, size_t off, unsigned long *line, unsigned long *col);
void load_litellm(const char *path, const char *text, size_t len);
void load_prices(const char *path);
int file_exists(const char *path);
char *default_prices_new(qa_buf *searched);
int applicable(const struct price *p, const char *prov);
const struct price *find_row(const char *model, size_t mlen, const char *prov);
char *json_string_new(const char *s);
struct rprice *resolve(const char *endpoint, const char *model, size_t mlen);
void rprice_free(struct rprice *r);
uint64_t hash_bytes(const char *s, size_t n);
struct rprice *lookup(const char *endpoint, const char *model, size_t mlen, qa_buf *scratch);
int count_of(qa_json *j, int t, const char *path, const char *key, double *out, qa_buf *err);
int read_usage(qa_json *j, int usage, struct usage *u, qa_buf *err);
void sk_add(struct lat *l, double x);
void lat_add(struct lat *l, double x);
uint64_t lat_count(const struct lat *l);
double sk_percentile(const struct lat *l, double q);
int cmp_u32(const void *a, const void *b);
double linear_pct(uint32_t (*at)(size_t, const void *), const void *arg, size_t n, double q);
uint32_t rank_in_array(size_t i, const void *arg);
struct pct exact_pct(uint32_t (*at)(size_t, const void *), const void *arg, size_t n);
struct pct lat_percentiles(struct lat *l);
int same(const char *a, const char *b);
struct group *group_get(const char *endpoint, const char *model);
void add_currency(struct group *g, const char *cur);
const char *str_at(qa_json *j, int tok, size_t *len);
double text_bytes(qa_json *j, int tok);
int first_score(qa_json *j, int scores, int metrics, int metric, double *v);
void warn_unknown(struct run *r, const char *file, unsigned long line, const char *model, size_t mlen);
void cost_record(void *run, const char *file, unsigned long lineno, const char *line, size_t len);
void cost_file(struct run *r, const char *path);
void with_commas(char *dst, size_t n, const char *digits);
void fixed_sig(char *dst, size_t n, double av, int sig);
void money_text(char *dst, size_t n, double v, const char *cur, int sig);
void fmt_money(char *dst, size_t n, double v, const char *cur);
void fmt_short(char *dst, size_t n, double v);
void fmt_int(char *dst, size_t n, double v);
double shown(double v, int dec);
int same_at(double a, double b, int dec);
void money_dec(char *dst, size_t n, double v, int dec, const char *cur);
void unit_price_text(char *dst, size_t n, double units, double unit, double monthly, const char *cur);
char *text_new(const char *fmt, ...);
const char *proj_name(const struct proj *p);
void build_projections(void);
struct proj *find_baseline(void);
void savings(struct proj *base);
void json_str_or_null(qa_buf *b, const char *s);
const char *pct_method(const struct pct *p);
struct derived derive(struct group *g);
void json_group(qa_buf *b, const char *scope, struct group *g, const struct derived *d);
void json_proj(qa_buf *b, const struct proj *p, const struct proj *base);
void group_cells(char cells[][64], const char *scope, struct group *g, const struct derived *d, int csv);
size_t count_le(const struct lat *l, uint32_t x);
uint32_t rank_in_groups(size_t i, const void *arg);
struct pct overall_percentiles(void);
void summary_print(void);
int parse_count(const char *s, double *out);
void cleanup(struct run *r);

/* latency.c: the latency of streamed records */
void stream_lat_add(const qa_json *j, int resp, const char *endpoint, size_t elen);
void stream_lat_print(qa_buf *out, const char *format);
void stream_lat_free(void);

#endif
