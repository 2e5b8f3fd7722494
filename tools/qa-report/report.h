/* qa-report's private header: what the reader loads and the page draws from. */
#ifndef QA_REPORT_H
#define QA_REPORT_H

#include <time.h>

#include "qa.h"
#include "html.h"

/* One scored record, reduced to what the page shows. */
struct item {
	char *id, *task, *prompt, *expected, *answer, *extracted, *metric;
	char *error;		/* error.type, or NULL */
	double score;		/* the first score; NaN when there is none */
	double latency, ttft, tpot;	/* NaN when absent */
	long attempts;
	int fallback;		/* served after a fallback */
};

/* One side of the comparison: a scored run. */
struct side {
	char *name;		/* endpoint name, as the runs call it */
	char *path;
	struct item *it;
	size_t n, cap;
	size_t *by_id;		/* indices into it, sorted by id */
	char *model, *endpoint, *params, *qa_version;
	int params_vary;
	time_t mtime;
};

/* A JSON-lines summary file (diff.json, cost.json, ...), each line parsed. */
struct doc {
	const char *path;
	char **text;
	qa_json **j;
	size_t n;
};

/* One stage of the migration ramp (migrate.mk's stage-K.row). */
struct stage {
	long stage;
	char *f[9];	/* stage, weight, requests, accuracy, p95, errors, fallbacks, cost, decision */
};

struct report {
	const char *title;
	const char *dir;
	struct side s[2];	/* baseline, candidate */
	struct doc diff, cost, drift, ppl;
	struct stage *ramp;
	size_t nramp;
	double max_drop;	/* NaN: unknown */
	int status;		/* the exit status so far */
	char nonce[33];
};

enum { BASE = 0, CAND = 1 };

/* read.c */
void side_load(struct report *r, struct side *s, const char *path);
const struct item *side_find(const struct side *s, const char *id);
void doc_load(struct report *r, struct doc *d, const char *path);
void doc_free(struct doc *d);
void ramp_load(struct report *r, const char *dir_or_file, int is_dir);
/* The first line whose "scope" is scope (and "task" is task, when task is not NULL); -1 when none. */
long doc_find(const struct doc *d, const char *scope, const char *task);
/* Fields of line i: NaN / NULL when absent or of another type. */
double doc_num(const struct doc *d, long i, const char *path);
const char *doc_str(const struct doc *d, long i, const char *path);
int doc_tok(const struct doc *d, long i, const char *path);

/* chart.c: SVG pieces, drawn into the page */
extern const char *const side_colour[6];
void fig_open(qa_buf *p, const char *id, int w, int h, const char *title, const char *desc);
void fig_close(qa_buf *p, const char *caption);
void axis_x(qa_buf *p, const qa_scale *sc, const double *ticks, size_t nt, double y, double y_top,
    const char *label, int percent);
void axis_y(qa_buf *p, const qa_scale *sc, const double *ticks, size_t nt, double x, double x_right,
    const char *label, int percent);
/* A point in side k's colour and shape. */
void marker(qa_buf *p, size_t k, double x, double y, double size);
/* A horizontal CI bar at y; vertical when vertical is set (x, y swapped). */
void cibar_h(qa_buf *p, const struct qa_cibar *b, double y, const char *colour, double width);
void cibar_v(qa_buf *p, const struct qa_cibar *b, double x, const char *colour, double width);
void svg_text(qa_buf *p, double x, double y, const char *anchor, const char *cls, const char *text);
/* A CDF of sorted v[0..n) as a step path (at most 256 points). */
void cdf_path(qa_buf *p, const qa_scale *sx, const qa_scale *sy, const double *v, size_t n,
    const char *colour, const char *dash);

/* page.c: the whole page, and what the sections share */
void page_write(struct report *r, qa_buf *p);
void fmt_pct(char *out, size_t len, double v);	/* 0.857 as 85.7% */
void fmt_money(char *out, size_t len, double v);	/* $309.36, $0.0000272 */
void fmt_pts(char *out, size_t len, double v);	/* -0.07 as -7.0 (points) */
/* "m [lo, hi]" in percent, or in points when pts is set; the mean alone when a bound is NaN. */
void fmt_ci(char *out, size_t len, double m, double lo, double hi, int pts);
/* A section's data is not in the runs: say which and why, in its place. */
void absent(qa_buf *p, const char *what);
/* The legend of the two sides' markers. */
void key(qa_buf *p, const struct report *r);
int cmp_str(const void *a, const void *b);

/* quality.c, operations.c: the sections, in page order */
void section_accuracy(struct report *r, qa_buf *p);
void section_cost(struct report *r, qa_buf *p);
void section_flips(struct report *r, qa_buf *p);
void section_drift(struct report *r, qa_buf *p);
void section_latency(struct report *r, qa_buf *p);
void section_ramp(struct report *r, qa_buf *p);

#endif
