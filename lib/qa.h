/*
 * libqa: the core every tool shares.
 *
 * Ownership: functions that return memory say so with a name ending in _new
 * or a leading x (xstrdup); the caller frees it.  Everything else borrows:
 * pointers into a qa_json stay valid until its next parse, arena memory until
 * the arena is reset.  Out of memory ends the run (a message, exit 2,
 * stdout whole records only: lib/xalloc.c); nothing checks
 * malloc at the call site.
 */
#ifndef QA_H
#define QA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "qa/plugin.h"

#define QA_VERSION "0.1.0"

#if defined(__GNUC__)
#define QA_NORETURN __attribute__((noreturn))
#else
#define QA_NORETURN
#endif

/* Exit statuses, for every tool. */
enum { QA_EXIT_OK = 0, QA_EXIT_DATA = 1, QA_EXIT_USAGE = 2 };

/*
 * The run status (lib/status.c), OpenBSD's rval: one per process, only ever
 * raised, and what every exit reports, a closed reader's (EPIPE) included.
 */
void status_raise(int status);
int status_get(void);
/* The last thing a tool does: stdout closed and checked, then exit with the run status. */
QA_NORETURN void status_exit(void);

/* ---- allocation ---- */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Frees *pp and sets it to NULL: xfree(&p). */
void xfree(void *pp);

/* ---- diagnostics: "qa-score: tasks.jsonl:17: message" ---- */
extern const char *qa_prog;
void qa_set_prog(const char *argv0);
void qa_warn(const char *fmt, ...) QA_PRINTF(1, 2);
/* file may be NULL; line 0 leaves the line out. */
void qa_warn_at(const char *file, unsigned long line, const char *fmt, ...) QA_PRINTF(3, 4);
void qa_vwarn_at(const char *file, unsigned long line, const char *fmt, va_list ap);
/* Exits with status, or the run status when that is higher. */
QA_NORETURN void qa_die(int status, const char *fmt, ...) QA_PRINTF(2, 3);
/* Where qa_warn_at() without a file says the warning comes from (plugins' host->log). */
void qa_set_where(const char *file, unsigned long line);

/* ---- growable buffer ---- */
typedef struct qa_buf {
	char *p;
	size_t len, cap;
} qa_buf;

void buf_grow(qa_buf *b, size_t extra);
void buf_add(qa_buf *b, const void *p, size_t n);
void buf_addc(qa_buf *b, char c);
void buf_adds(qa_buf *b, const char *s);
void buf_printf(qa_buf *b, const char *fmt, ...) QA_PRINTF(2, 3);
void buf_free(qa_buf *b);
/* A NUL-terminated view of the contents (the NUL is not counted in len). */
const char *buf_cstr(qa_buf *b);
/* A quoted, escaped JSON string; invalid UTF-8 bytes become \ufffd. */
void buf_json_string(qa_buf *b, const char *s, size_t n);
/*
 * JSON text that json_parse() accepted, made strict RFC 8259 on one line:
 * control characters in strings escaped, invalid UTF-8 as \ufffd, line
 * breaks between tokens as blanks.  For anything copied into a record.
 */
void buf_json_clean(qa_buf *b, const char *s, size_t n);
/* The shortest text that reads back as the same double; NaN and infinities are null. */
void buf_json_number(qa_buf *b, double v);
/*
 * A member of a JSON object written piece by piece: ,"key":value (the
 * caller writes the brace and the first member).  The key is written as it
 * is (a name in the code, nothing to escape); the number as buf_json_number()
 * writes it (NaN and infinities: null), the string escaped (NULL: null).
 */
void buf_kv_num(qa_buf *b, const char *key, double v);
void buf_kv_long(qa_buf *b, const char *key, long v);
void buf_kv_str(qa_buf *b, const char *key, const char *s);

/* ---- arena: per-record scratch memory, freed all at once ---- */
typedef struct qa_arena qa_arena;
qa_arena *arena_new(void);
void *arena_alloc(qa_arena *a, size_t n);
char *arena_strndup(qa_arena *a, const char *s, size_t n);
void arena_reset(qa_arena *a);
void arena_free(qa_arena **a);

/* ---- line reader: any length, CRLF, a last line without newline, NUL bytes ---- */
typedef struct qa_lines {
	FILE *fp;
	const char *name;	/* for messages: the path, or "-" for stdin */
	unsigned long lineno;
	char *buf;
	size_t cap;
	int own;		/* fp is ours to close */
	char *iobuf;		/* fp's buffer, when we gave it one */
} qa_lines;

/* 0, or -1 with errno set. path "-" is stdin. */
int lines_open(qa_lines *r, const char *path);
/* The next line without its "\n" or "\r\n", NUL-terminated (it may hold NULs). -1 at the end. */
ssize_t lines_next(qa_lines *r, char **line);
/* 0, or -1 when reading failed (errno set). */
int lines_error(const qa_lines *r);
void lines_close(qa_lines *r);
/*
 * Every line of path ("-": stdin) through fn, the output buffer out (or
 * NULL) written to stdout as it passes 64 KiB and at the end.  A file that
 * does not open or fails to read is one warning and the usage status: -1.
 */
typedef void qa_line_fn(void *arg, const char *file, unsigned long lineno, const char *line, size_t len);
int lines_each(const char *path, qa_line_fn *fn, void *arg, qa_buf *out);

/* ---- JSON: one validating scan to a token array; values read in place ---- */
struct qa_json_impl;
/* A parse context, reusable from record to record. */
qa_json *json_new(void);
void json_free(qa_json **j);
/* Tokens one line may ask for; past this it is refused, not allocated. */
#define QA_JSON_MAX_TOKENS (1u << 22)
/*
 * Parses and validates text (RFC 8259, one value, whitespace around it).
 * The text must outlive the parse.  0, or -1 with *err a static message and
 * *err_off the byte offset it refers to.
 */
int json_parse(qa_json *j, const char *text, size_t len, const char **err, size_t *err_off);
/* The arena that string values are unescaped into; reset by each parse. */
qa_arena *json_arena(qa_json *j);

/* Token navigation.  A token is an index; -1 is "absent". 0 is the root. */
int json_root(const qa_json *j);
int json_find(const qa_json *j, int tok, const char *path);
/* Member of an object by key (the last one, when a key repeats). */
int json_member(const qa_json *j, int obj, const char *key, size_t keylen);
/*
 * Several members in one pass: val[i] is the value of key keys[i] (klen[i]
 * bytes), -1 when absent, the last when a key repeats.  Returns the last
 * member's value, or -1 (not an object, or empty).
 */
int json_members(const qa_json *j, int obj, const char *const *keys, const size_t *klen, size_t nkeys,
    int *val);
int json_index(const qa_json *j, int arr, size_t i);
/* The i-th key and value of an object: returns the key token; value is key + 1. */
int json_key_at(const qa_json *j, int obj, size_t i);
enum qa_type json_type(const qa_json *j, int tok);
size_t json_count(const qa_json *j, int tok);
/* Raw text of a value (strings include their quotes). */
const char *json_raw(const qa_json *j, int tok, size_t *len);
size_t json_start(const qa_json *j, int tok);
size_t json_end(const qa_json *j, int tok);
/* The unescaped string (into the arena); NULL when tok is not a string. */
const char *json_str(const qa_json *j, int tok, size_t *len);
/* An object key's text: in place when it has no escapes, else unescaped into the arena. */
const char *json_key(const qa_json *j, int tok, size_t *len);
/* Compares a string token with s without unescaping when it can. */
int json_str_eq(const qa_json *j, int tok, const char *s, size_t n);
int json_num(const qa_json *j, int tok, double *out);
/*
 * A number as an identity (ids, routing keys), the same in every tool: an
 * integer written without fraction or exponent by its digits, at any size
 * (-0 is 0); anything else by its value, as buf_json_number() writes it, so
 * 1, 1.0 and 1e0 are one key.  Written into out; NULL when tok is no number.
 */
const char *json_num_key(const qa_json *j, int tok, qa_buf *out, size_t *len);
/* The next token after tok's whole subtree. */
int json_next(const qa_json *j, int tok);
int json_ntokens(const qa_json *j);

/* Unescapes JSON string body s[0..n) into out (at most 3n bytes: a bad byte becomes U+FFFD). Returns the length. */
size_t json_unescape(const char *s, size_t n, char *out);

/* ---- the splice writer: a record's own bytes plus the fields a tool owns ---- */
typedef struct qa_field {
	const char *key;
	const char *value;	/* JSON text; NULL removes the field */
	size_t len;
} qa_field;

/*
 * Appends to out the record `text` (parsed into j, whose root is an object)
 * with each field replaced in place when present, appended before the
 * closing brace when not, or removed when its value is NULL.  Every other
 * byte is kept as it came.
 */
void splice_record(qa_buf *out, const qa_json *j, const char *text, size_t len,
    const qa_field *fields, size_t nfields);

/* ---- output ---- */
/*
 * Writes all of b to fp.  On EPIPE (the reader went away) the tool stops
 * quietly with the run status decided so far; on any other error it exits 2
 * with a message.
 */
void out_write(FILE *fp, qa_buf *b);
/* fflush of stdout, checked as out_write() checks: for a tool that hands each record on at once. */
void out_flush(void);
/* fflush + fclose of stdout checked, as the last thing a tool does. */
void out_close(void);

/*
 * A record's line: 1 when it is blank (it carries no record), 0 when it
 * parsed into j as a JSON object, -1 when not, with msg saying why ("...
 * at byte N" or "not a JSON object").
 */
int record_parse(qa_json *j, const char *line, size_t len, char *msg, size_t msglen);

/* ---- error records ---- */
/* {"error":{"type":"bad_record","line":N,"message":...},"input":"<the line>"} */
void bad_record(qa_buf *out, const char *file, unsigned long line, const char *text, size_t len,
    const char *message);

/* What every tool does first: its name for messages, EPIPE instead of SIGPIPE, the plugin host. */
void qa_tool_init(const char *argv0);

/* ---- numbers on the command line ---- */
/* 0 when s is a whole finite number within [min, max]. */
int parse_double(const char *s, double min, double max, double *out);
int parse_long(const char *s, long min, long max, long *out);

/*
 * ---- the command line (lib/opt.c): one option table per tool ----
 * A row names an option (long name, short flag, argument kind and range,
 * metavar, help) and where its value goes.  getopt_long's table, the
 * short-option string, --help and the range checks all come from it, so
 * they cannot disagree.  A numeric argument out of range stops the run
 * with one line: "--NAME: 'ARG' is not WHAT" (WHAT: the row's, else "a
 * whole number from MIN to MAX" and the like), exit 2.
 */
enum qa_opt_kind {
	QA_OPT_END,	/* ends the table */
	QA_OPT_TEXT,	/* no option: help is printed as it is (a heading, a paragraph) */
	QA_OPT_FLAG,	/* int *target = 1 */
	QA_OPT_STRING,	/* const char **target = the argument */
	QA_OPT_CHOICE,	/* const char **target = the argument, one of choices */
	QA_OPT_ENUM,	/* int *target = the argument's index in choices */
	QA_OPT_LONG,	/* long *target: a whole number in [min, max] */
	QA_OPT_SIZE,	/* size_t *target: likewise */
	QA_OPT_U64,	/* uint64_t *target: likewise */
	QA_OPT_WHOLE,	/* double *target: a whole number in [min, max], as a double */
	QA_OPT_DOUBLE,	/* double *target: a number in [min, max] */
	QA_OPT_SECONDS,	/* double *target: seconds in [min, max], stored as milliseconds */
	QA_OPT_CALL,	/* call(row, argument), or set(argument); NULL without a metavar */
	QA_OPT_HELP,	/* --help: the help on stdout, exit 0 */
	QA_OPT_VERSION,	/* --version: "PROG VERSION", exit 0 */
};

#define QA_OPT_ONCE 1	/* a second use is an error: "--NAME given twice" */

struct qa_opt {
	enum qa_opt_kind kind;
	const char *name;	/* long name without "--" */
	int flag;		/* short flag, or 0 */
	const char *metavar;	/* the argument in --help; NULL: the option takes none */
	const char *help;	/* lines separated by '\n' */
	void *target;
	double min, max;	/* numbers: the range (SECONDS without a max: up to 1e7 s) */
	const char *choices;	/* CHOICE, ENUM: "json|table|md" */
	const char *what;	/* numbers: what the argument must be, for the error */
	void (*call)(const struct qa_opt *o, const char *arg);
	void (*set)(const char *arg);	/* CALL, when the row itself is not needed */
	unsigned flags;		/* QA_OPT_ONCE */
	int *seen;		/* set to 1 when the option is given */
};

struct qa_opts {
	const char *prog;	/* for --version */
	const char *usage;	/* the synopsis, "usage: ..." lines (a blank line follows) */
	const struct qa_opt *opt;	/* ends with a QA_OPT_END row */
	int col;		/* the column the help text starts at */
	const char *tail;	/* after the option list and a blank line: exit status, see also */
};

/* A row: QA_ROW(QA_OPT_LONG, "concurrency", 'c', "N", "help", &target, .min = 1, .max = 4096). */
#define QA_ROW(k, n, f, m, h, t, ...) \
	{ .kind = (k), .name = (n), .flag = (f), .metavar = (m), .help = (h), .target = (t), __VA_ARGS__ }
/* A paragraph or heading of --help between rows. */
#define QA_TEXT(h) { .kind = QA_OPT_TEXT, .help = (h) }
#define QA_END { .kind = QA_OPT_END }
/* The last rows of every tool's table: -h, --help and -V, --version, then the end. */
#define QA_END_HELP_VERSION \
	QA_ROW(QA_OPT_HELP, "help", 'h', NULL, "print the usage and exit", NULL), \
	QA_ROW(QA_OPT_VERSION, "version", 'V', NULL, "print the version and exit", NULL), QA_END

/* Parses the options of argv by the table; *argc and *argv are left with the operands. */
void opt_parse(const struct qa_opts *t, int *argc, char ***argv);
/* The whole --help text. */
void opt_help(const struct qa_opts *t, FILE *fp);
/* The help on stderr (status != 0) or stdout, then exit. */
QA_NORETURN void opt_usage(const struct qa_opts *t, int status);
/* A numeric row's check on its own, for CALL rows and the environment: the value, or exit 2. */
double opt_number(const struct qa_opt *o, const char *arg);
/* A CHOICE, ENUM or CALL row's argument: its index in the row's choices, or exit 2 naming them. */
int opt_choice(const struct qa_opt *o, const char *arg);
/* The row named name, or NULL. */
const struct qa_opt *opt_find(const struct qa_opts *t, const char *name);

/* ---- text, as Python sees it (lib/text.c) ---- */
/* Decodes one code point; bad bytes decode as U+FFFD, consuming one byte. */
int32_t utf8_decode(const char *s, size_t n, size_t *used);
size_t utf8_encode(int32_t cp, char *out);
/* Python's str.isspace()/str.split() whitespace. */
int py_isspace(int32_t cp);
/* Python str.lower(), including SpecialCasing (U+0130 -> i + U+0307). */
void text_lower(qa_buf *out, const char *s, size_t n);
void text_nfkc(qa_buf *out, const char *s, size_t n);
void text_strip(const char *s, size_t n, size_t *start, size_t *len);
/* str.split(): the next word at or after *pos, or NULL. */
const char *text_word(const char *s, size_t n, size_t *pos, size_t *wlen);
/* Code points in s. */
size_t text_length(const char *s, size_t n);

/* ---- regular expressions, as Python's re (lib/regex.c) ---- */
qa_regex *regex_new(const char *pattern, char *err, size_t errlen);
void regex_free(qa_regex *re);
size_t regex_groups(const qa_regex *re);
/* re.sub(re, "", s) into out. */
void regex_remove(const qa_regex *re, qa_buf *out, const char *s, size_t n);
/* re.sub(re, repl, s) into out, repl taken literally. */
void regex_sub(const qa_regex *re, qa_buf *out, const char *s, size_t n, const char *repl, size_t repl_len);
/* lm-eval's regex filter; 1 and [*start, *start + *len) of s, or 0 when nothing matched. */
int regex_pick(const qa_regex *re, const char *s, size_t n, long select, size_t *start, size_t *len);

/* ---- tables for people and spreadsheets (lib/table.c) ---- */
#define QA_TABLE_MAXCOLS 32
enum qa_table_style { QA_TABLE_TEXT, QA_TABLE_MD, QA_TABLE_CSV };
typedef struct qa_table {
	size_t ncols, nrows;
	char **cells;			/* nrows x ncols, owned; row 0 is the header */
	unsigned char right[QA_TABLE_MAXCOLS];	/* numbers align right */
	int width[QA_TABLE_MAXCOLS];	/* table_line's fixed widths, in bytes as printf's %*s */
	const char *gap;		/* between aligned columns; NULL: two spaces */
	int tight;			/* Markdown cells unpadded with '|' escaped, rule |---|--:| */
} qa_table;
/* Appends a row of ncols cells (copied; NULL is ""). */
void table_add(qa_table *t, const char *const *cells);
/*
 * Prints the rows and empties the table: aligned (each column as wide as
 * its widest cell, in code points), Markdown (a rule under row 0) or CSV.
 */
void table_print(qa_buf *b, qa_table *t, enum qa_table_style style);
/* One aligned row at the fixed widths, printed at once (for tables with lines between rows). */
void table_line(qa_buf *b, const qa_table *t, const char *const *cells);
void table_clear(qa_table *t);
/* A number for a cell: v by printf's fmt (one double), or "-" when it is not finite.  Returns dst. */
const char *cell_num(char *dst, size_t n, const char *fmt, double v);

/* ---- answer normalisation, lm-eval's exact_match and more (lib/norm.c) ---- */
/* NULL with a message in err when an option is wrong or unknown (own_keys: NULL-terminated). */
qa_norm *norm_new(const qa_json *options, const char *const *own_keys, char *err, size_t errlen);
void norm_free(qa_norm *n);
void norm_apply(const qa_norm *n, qa_buf *out, const char *s, size_t len);

/* ---- statistics (lib/stats.c) ---- */
#define QA_Z95 1.959963984540054
/* Wilson score interval for k successes in n trials; NaN bounds when n <= 0. */
void wilson_ci(double k, double n, double z, double *low, double *high);
/* The delta-method CI of the ratio sy / sx from n pairs' sums (lib/ratio.c); NaN when undefined. */
void ratio_ci(double n, double sy, double syy, double sx, double sxx, double sxy, double z, double *lo,
    double *hi);
/* Streaming mean and variance (Welford), mergeable across shards. */
typedef struct qa_moments {
	double n, mean, m2;
} qa_moments;
void moments_add(qa_moments *m, double x);
void moments_merge(qa_moments *into, const qa_moments *from);
/* Sample variance (ddof 1); NaN when n < 2. */
double moments_var(const qa_moments *m);
/* Streaming covariance of pairs (x, y), Welford's way, mergeable as qa_moments is. */
typedef struct qa_comoments {
	double n, mx, my, cxx, cyy, cxy;
} qa_comoments;
void comoments_add(qa_comoments *m, double x, double y);
void comoments_merge(qa_comoments *into, const qa_comoments *from);
/* Pearson's r, clamped to [-1, 1] against rounding; NaN when n < 2 or either side is constant. */
double comoments_corr(const qa_comoments *m);
/*
 * Percentile q (0-100) of sorted v[0..n): numpy's default, linear
 * interpolation.  Both percentile functions give NaN when n == 0.
 */
double percentile_linear(const double *sorted, size_t n, double q);
/* Nearest rank: sorted[ceil(q n / 100) - 1], rank at least 1. */
double percentile_nearest(const double *sorted, size_t n, double q);
/* qsort order for doubles: ascending, NaNs last. */
int cmp_double(const void *a, const void *b);
/*
 * McNemar's test on the discordant counts: b right only in the baseline, c
 * right only in the candidate.  Everything is NaN when b + c == 0, where the
 * test says nothing; callers print null.
 */
struct qa_mcnemar {
	double p_exact;		/* two-sided exact binomial test, B(b + c, 1/2) */
	double chi2, p_chi2;	/* (b - c)^2 / (b + c), 1 df */
	double chi2_cc, p_chi2_cc;	/* continuity-corrected, not clamped at 0 */
};
void mcnemar(long b, long c, struct qa_mcnemar *out);
/* The exact p alone: scipy's binomtest(b, b + c, 0.5).pvalue; NaN when b + c == 0. */
double mcnemar_exact_p(long b, long c);
/* Survival function of chi-square with 1 degree of freedom. */
double chi2_sf_1df(double x);
/*
 * Paired difference d = a - b over n items: mean, sample sd (ddof 1), its
 * standard error and the normal interval mean -/+ z se.  What needs n >= 2
 * is NaN below that (the mean too when n == 0).
 */
struct qa_paired {
	size_t n;
	double mean_diff, sd_diff, se, ci_low, ci_high;
};
/*
 * Mean of x[0..n) and its standard error, sample sd (ddof 1) / sqrt(n), in
 * two passes; NaN where n is too small (0 for the mean, 1 for se).
 * Returns the sum, exact for 0/1 scores (the count of successes).
 */
double mean_se(const double *x, size_t n, double *mean, double *se);
void paired_diff(const double *a, const double *b, size_t n, double z, struct qa_paired *out);
/*
 * KL(P || Q) in nats over the n entries given, 0 ln(0 / q) = 0, +inf where
 * p > 0 and q == 0 (scipy rel_entr).  kl_raw takes P and Q as they are, so a
 * truncated top-k list stays truncated; kl_renormalized first scales each to
 * sum to 1 (scipy.stats.entropy) and is NaN when either sums to 0.
 */
double kl_raw(const double *p, const double *q, size_t n);
double kl_renormalized(const double *p, const double *q, size_t n);

/* ---- the endpoint config (lib/config.c): INI, one [NAME] section per endpoint ---- */
typedef struct qa_endpoint_conf {
	char *name;
	char *provider, *base_url, *model, *key_env;	/* NULL when not set */
	double input_per_mtok, output_per_mtok;		/* NAN when not set */
	double cached_input_per_mtok, reasoning_per_mtok;	/* NAN when not set */
	long concurrency, rpm;				/* 0 when not set */
	int stream;					/* stream = true: qa-send --stream for it */
	char *kl_base;		/* the llama provider (issue 17): the baseline GGUF; NULL when not set */
	long threads;		/* its decode threads; 0: the cores */
	long tpm;					/* tokens per minute; 0 when not set */
	unsigned long line;				/* where the section starts */
} qa_endpoint_conf;

typedef struct qa_config {
	qa_endpoint_conf *ep;
	size_t n;
	char *path;	/* the file read, or NULL */
} qa_config;

/*
 * Reads path; with path NULL, $QA_CONFIG, else ~/.config/qa/endpoints.conf,
 * where a missing file is no error (1, an empty config).  0 when read; -1
 * with "file:line: reason" in err for a file that is missing (when named)
 * or malformed: an unknown key, a bad number, a key outside a section.
 */
int config_load(qa_config *c, const char *path, char *err, size_t errlen);
const qa_endpoint_conf *config_endpoint(const qa_config *c, const char *name);
void config_free(qa_config *c);

/* ---- hashes (lib/hash.c): their values are behaviour; tests/unit/test_hash.c pins them ---- */
#define HASH_FNV_BASIS 0xcbf29ce484222325u
/* FNV-1a 64, continuing from h (HASH_FNV_BASIS to start). */
uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n);
/* splitmix64's step and finalizer: the next output for state z. */
uint64_t hash_splitmix64(uint64_t z);
/* MurmurHash3's 64-bit finalizer. */
uint64_t hash_fmix64(uint64_t h);
/* The host's hash64(): FNV-1a from seed ^ HASH_FNV_BASIS, the length, splitmix64 (qa-plugin(7)). */
uint64_t hash64(uint64_t seed, const void *p, size_t n);
/* SHA-256 of p, its first hexlen (<= 64) lowercase hex digits into out (hexlen + 1 bytes); -1: libcrypto failed. */
int hash_sha256_hex(const void *p, size_t n, char *out, size_t hexlen);

/* ---- plugins (lib/plugin.c) ---- */
typedef struct qa_loaded {
	const struct qa_plugin *plugin;
	char *path;
	void *handle;
} qa_loaded;

extern const struct qa_host qa_host_table;
/* The arena host functions return memory from. */
extern qa_arena *qa_host_arena;
void host_init(void);
/* Ends a record: what host functions returned is gone after this. */
void host_reset(void);
void host_fini(void);

/*
 * Finds NAME.so on the plugin path and loads it as a plugin of the given
 * kind.  0, or -1 with a one-line reason in err ("file: reason").
 */
int plugin_load(const char *name, uint32_t kind, qa_loaded *out, char *err, size_t errlen);
void plugin_unload(qa_loaded *p);

/*
 * Calls fn once for every plugin file on the path (kind 0: any kind), in
 * search order, for --list: p is NULL and err says why when it does not load.
 */
void plugin_each(uint32_t kind, void (*fn)(const qa_loaded *p, const char *path, const char *err,
    void *arg), void *arg);
/* The plugin directories, in search order, ':'-separated. */
const char *plugin_path(void);

#endif
