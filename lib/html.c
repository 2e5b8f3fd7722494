/* HTML text and SVG chart arithmetic: see html.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "html.h"

void html_esc(qa_buf *b, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t run = i;
		/* Plain ASCII goes out in runs: the common case, and the fast one. */
		while (run < n && (c = (unsigned char)s[run]) >= 0x20 && c < 0x7f && c != '&' && c != '<' &&
		    c != '>' && c != '"' && c != '\'')
			run++;
		if (run > i)
			buf_add(b, s + i, run - i);
		i = run;
		if (i >= n)
			break;
		switch (c) {
		case '&': buf_adds(b, "&amp;"); i++; continue;
		case '<': buf_adds(b, "&lt;"); i++; continue;
		case '>': buf_adds(b, "&gt;"); i++; continue;
		case '"': buf_adds(b, "&quot;"); i++; continue;
		case '\'': buf_adds(b, "&#39;"); i++; continue;
		case '\t': case '\n': case '\r': buf_addc(b, (char)c); i++; continue;
		default: break;
		}
		size_t used;
		int32_t cp = utf8_decode(s + i, n - i, &used);
		/* C0/C1 controls and DEL are parse errors in HTML; NUL is worse. */
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			cp = 0xfffd;
		char enc[4];
		buf_add(b, enc, utf8_encode(cp, enc));
		i += used;
	}
}

void html_escs(qa_buf *b, const char *s)
{
	if (s)
		html_esc(b, s, strlen(s));
}

void scale_linear(qa_scale *s, double d0, double d1, double r0, double r1)
{
	if (d0 == d1) {
		d0 -= 1;
		d1 += 1;
	}
	*s = (qa_scale){ d0, d1, r0, r1, 0 };
}

int scale_log(qa_scale *s, double d0, double d1, double r0, double r1)
{
	if (!(d0 > 0 && d1 > d0) || !isfinite(d1))
		return -1;
	*s = (qa_scale){ d0, d1, r0, r1, 1 };
	return 0;
}

double scale_map(const qa_scale *s, double x)
{
	double t;

	if (isnan(x))
		return NAN;
	if (s->log) {
		if (x <= 0)
			return NAN;
		t = (log10(x) - log10(s->d0)) / (log10(s->d1) - log10(s->d0));
	} else
		t = (x - s->d0) / (s->d1 - s->d0);
	return s->r0 + t * (s->r1 - s->r0);
}

double scale_clamp(const qa_scale *s, double x)
{
	double v = scale_map(s, x), lo = fmin(s->r0, s->r1), hi = fmax(s->r0, s->r1);

	if (isnan(v))
		return s->log && x <= 0 ? s->r0 : v;
	return v < lo ? lo : v > hi ? hi : v;
}

/* The smallest of 1, 2, 5 x 10^k that is at least raw. */
static double nice_step(double raw)
{
	double p = pow(10, floor(log10(raw))), f = raw / p;

	/* A hair of slack: raw itself is a quotient and may miss a round value by an ulp. */
	return (f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10) * p;
}

size_t ticks_linear(double *lo, double *hi, size_t max, double *out, size_t cap)
{
	if (max < 2)
		max = 2;
	if (!(*hi > *lo)) {
		*lo -= 1;
		*hi += 1;
	}
	double step = nice_step((*hi - *lo) / (double)(max - 1));
	double a, b;
	/* Widening may need one more tick than max allows: take the next step then. */
	for (;;) {
		a = floor(*lo / step + 1e-9) * step;
		b = ceil(*hi / step - 1e-9) * step;
		if ((b - a) / step + 1 <= (double)max + 1e-9)
			break;
		step = nice_step(step * 1.0001);
	}
	*lo = a;
	*hi = b;
	size_t n = 0;
	for (long k = 0; n < cap; k++) {
		double v = a + (double)k * step;
		if (v > b + step * 1e-9)
			break;
		/* -0 and 1e-17 read badly on an axis. */
		if (fabs(v) < step * 1e-9)
			v = 0;
		out[n++] = v;
	}
	return n;
}

size_t ticks_log(double *lo, double *hi, double *out, size_t cap)
{
	int e0 = (int)floor(log10(*lo) + 1e-9), e1 = (int)ceil(log10(*hi) - 1e-9);
	size_t n = 0;

	if (e1 <= e0)
		e1 = e0 + 1;
	*lo = pow(10, e0);
	*hi = pow(10, e1);
	int minor = e1 - e0 < 3;
	for (int e = e0; e <= e1 && n < cap; e++) {
		double p = pow(10, e);
		out[n++] = p;
		if (minor && e < e1) {
			if (n < cap)
				out[n++] = 2 * p;
			if (n < cap)
				out[n++] = 5 * p;
		}
	}
	return n;
}

int ci_bar(const qa_scale *s, double lo, double mid, double hi, struct qa_cibar *out)
{
	if (isnan(lo) || isnan(hi) || isnan(mid) || (s->log && (lo <= 0 || mid <= 0)))
		return -1;
	double a = scale_map(s, lo), b = scale_map(s, hi);
	double rmin = fmin(s->r0, s->r1), rmax = fmax(s->r0, s->r1);
	if (a > b) {
		double t = a;
		a = b;
		b = t;
	}
	out->clip_lo = a < rmin - 1e-9;
	out->clip_hi = b > rmax + 1e-9;
	out->x0 = out->clip_lo ? rmin : a;
	out->x1 = out->clip_hi ? rmax : b;
	out->xm = scale_clamp(s, mid);
	return 0;
}

size_t pareto_front(const double *cost, const double *acc, size_t n, int *on)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++) {
		on[i] = !isnan(cost[i]) && !isnan(acc[i]);
		for (size_t j = 0; j < n && on[i]; j++) {
			if (j == i || isnan(cost[j]) || isnan(acc[j]))
				continue;
			if (cost[j] <= cost[i] && acc[j] >= acc[i] && (cost[j] < cost[i] || acc[j] > acc[i]))
				on[i] = 0;
		}
		count += (size_t)on[i];
	}
	return count;
}

void fmt_tick(char *out, size_t len, double v)
{
	if (v == 0 || fabs(v) < 1e-12) {
		snprintf(out, len, "0");
		return;
	}
	int e = (int)floor(log10(fabs(v)));
	int dec = e >= 2 ? 0 : 2 - e;
	if (dec > 12)
		dec = 12;
	snprintf(out, len, "%.*f", dec, v);
	/* Trailing zeros after the point, then a bare point. */
	char *dot = strchr(out, '.');
	if (dot) {
		char *end = out + strlen(out) - 1;
		while (end > dot && *end == '0')
			*end-- = '\0';
		if (end == dot)
			*end = '\0';
	}
}
