/*
 * HTML text and SVG chart arithmetic (lib/html.c), for qa-report: the page
 * is drawn by qa itself, so the scales, ticks and error bars live here,
 * where unit tests can reach them.  Nothing here allocates except into the
 * caller's qa_buf.
 */
#ifndef QA_HTML_H
#define QA_HTML_H

#include "qa.h"

/*
 * Appends s[0..n) as HTML text, safe in element content and in quoted
 * attribute values: & < > " ' become entities, invalid UTF-8 and control
 * characters other than tab, newline and carriage return become U+FFFD.
 */
void html_esc(qa_buf *b, const char *s, size_t n);
void html_escs(qa_buf *b, const char *s);

/* A scale maps a data domain [d0, d1] onto a pixel range [r0, r1]. */
typedef struct qa_scale {
	double d0, d1, r0, r1;
	int log;	/* base-10 logarithmic */
} qa_scale;

/* A linear scale; a degenerate domain (d0 == d1) is widened by 1 each side. */
void scale_linear(qa_scale *s, double d0, double d1, double r0, double r1);
/* A log scale: -1 (and nothing set) unless 0 < d0 < d1. */
int scale_log(qa_scale *s, double d0, double d1, double r0, double r1);
/* The pixel position of x; NaN for NaN, and for x <= 0 on a log scale. */
double scale_map(const qa_scale *s, double x);
/* The same, held inside the range. */
double scale_clamp(const qa_scale *s, double x);

/*
 * Round tick values covering [lo, hi] at a step of 1, 2 or 5 times a power
 * of ten, at most max of them (max >= 2); *lo and *hi are widened to the
 * outer ticks.  Returns the count written to out (at most cap).
 */
size_t ticks_linear(double *lo, double *hi, size_t max, double *out, size_t cap);
/*
 * Ticks of a log axis over [lo, hi] (0 < lo < hi): lo and hi are widened to
 * powers of ten; the ticks are the powers of ten between, plus 2x and 5x
 * when the axis spans fewer than three decades.
 */
size_t ticks_log(double *lo, double *hi, double *out, size_t cap);

/*
 * A confidence interval drawn on a scale: x0..x1 the bar, xm the point;
 * clip_lo/clip_hi say that the interval ran past the range and was cut
 * (drawn with an arrow).  0 when drawn, -1 when the interval is undefined
 * (a NaN bound or point), which the caller says in words instead.
 */
struct qa_cibar {
	double x0, x1, xm;
	int clip_lo, clip_hi;
};
int ci_bar(const qa_scale *s, double lo, double mid, double hi, struct qa_cibar *out);

/*
 * The Pareto front of points (cost, accuracy): on[i] = 1 when no other point
 * is at least as cheap and at least as accurate, and strictly better in one.
 * Points with a NaN coordinate are never on it.  Returns the count on it.
 */
size_t pareto_front(const double *cost, const double *acc, size_t n, int *on);

/* A number for an axis label: at most 3 significant digits, no exponent, no trailing zeros. */
void fmt_tick(char *out, size_t len, double v);

#endif
