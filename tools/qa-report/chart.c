/*
 * SVG pieces.  Sides differ by shape and dash as well as colour (Okabe-Ito,
 * which colour-blind readers tell apart), so a greyscale print still reads.
 */
#include <math.h>
#include <string.h>

#include "report.h"

const char *const side_colour[6] = { "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9" };

void fig_open(qa_buf *p, const char *id, int w, int h, const char *title, const char *desc)
{
	buf_printf(p, "<figure class=\"chart\"><svg id=\"%s\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
	    "role=\"img\" aria-labelledby=\"%s-t %s-d\"><title id=\"%s-t\">", id, w, h, w, h, id, id, id);
	html_escs(p, title);
	buf_printf(p, "</title><desc id=\"%s-d\">", id);
	html_escs(p, desc);
	buf_adds(p, "</desc>\n");
}

void fig_close(qa_buf *p, const char *caption)
{
	buf_adds(p, "</svg>");
	if (caption) {
		buf_adds(p, "<figcaption>");
		html_escs(p, caption);
		buf_adds(p, "</figcaption>");
	}
	buf_adds(p, "</figure>\n");
}

static void tick_label(char *out, size_t n, double v, int percent)
{
	fmt_tick(out, n, percent ? v * 100 : v);
	if (percent)
		strcat(out, "%");
}

void axis_x(qa_buf *p, const qa_scale *sc, const double *ticks, size_t nt, double y, double y_top,
    const char *label, int percent)
{
	char t[48];
	buf_printf(p, "<g class=\"axis\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", sc->r0, y, sc->r1, y);
	for (size_t i = 0; i < nt; i++) {
		double x = scale_map(sc, ticks[i]);
		if (isnan(x))
			continue;
		buf_printf(p, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, y_top, x, y);
		tick_label(t, sizeof t - 1, ticks[i], percent);
		svg_text(p, x, y + 14, "middle", NULL, t);
	}
	if (label)
		svg_text(p, (sc->r0 + sc->r1) / 2, y + 30, "middle", "label", label);
	buf_adds(p, "</g>\n");
}

void axis_y(qa_buf *p, const qa_scale *sc, const double *ticks, size_t nt, double x, double x_right,
    const char *label, int percent)
{
	char t[48];
	buf_printf(p, "<g class=\"axis\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, sc->r0, x, sc->r1);
	for (size_t i = 0; i < nt; i++) {
		double y = scale_map(sc, ticks[i]);
		if (isnan(y))
			continue;
		buf_printf(p, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, y, x_right, y);
		tick_label(t, sizeof t - 1, ticks[i], percent);
		svg_text(p, x - 6, y + 4, "end", NULL, t);
	}
	if (label)
		buf_printf(p, "<text class=\"label\" transform=\"translate(%.1f %.1f) rotate(-90)\" "
		    "text-anchor=\"middle\">%s</text>", x - 44, (sc->r0 + sc->r1) / 2, label);
	buf_adds(p, "</g>\n");
}

void marker(qa_buf *p, size_t k, double x, double y, double s)
{
	const char *c = side_colour[k % 6];
	switch (k % 3) {
	case 0:
		buf_printf(p, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" stroke=\"#fff\"/>", x, y, s, c);
		break;
	case 1:
		buf_printf(p, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"#fff\"/>",
		    x - s, y - s, 2 * s, 2 * s, c);
		break;
	default:
		buf_printf(p, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" fill=\"%s\" stroke=\"#fff\"/>",
		    x, y - 1.2 * s, x + 1.2 * s, y + s, x - 1.2 * s, y + s, c);
	}
}

/* A cut end gets an arrowhead instead of a cap, so nobody reads it as the bound. */
void cibar_h(qa_buf *p, const struct qa_cibar *b, double y, const char *colour, double width)
{
	buf_printf(p, "<g stroke=\"%s\" stroke-width=\"%.1f\" fill=\"%s\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
	    "y2=\"%.1f\"/>", colour, width, colour, b->x0, y, b->x1, y);
	if (b->clip_lo)
		buf_printf(p, "<path d=\"M%.1f %.1fl6 -4v8Z\"/>", b->x0, y);
	else
		buf_printf(p, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", b->x0, y - 4, b->x0, y + 4);
	if (b->clip_hi)
		buf_printf(p, "<path d=\"M%.1f %.1fl-6 -4v8Z\"/>", b->x1, y);
	else
		buf_printf(p, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", b->x1, y - 4, b->x1, y + 4);
	buf_adds(p, "</g>");
}

void cibar_v(qa_buf *p, const struct qa_cibar *b, double x, const char *colour, double width)
{
	buf_printf(p, "<g stroke=\"%s\" stroke-width=\"%.1f\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
	    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/></g>",
	    colour, width, x, b->x0, x, b->x1, x - 4, b->x0, x + 4, b->x0, x - 4, b->x1, x + 4, b->x1);
}

void svg_text(qa_buf *p, double x, double y, const char *anchor, const char *cls, const char *text)
{
	buf_printf(p, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"", x, y, anchor);
	if (cls)
		buf_printf(p, " class=\"%s\"", cls);
	buf_adds(p, ">");
	html_escs(p, text);
	buf_adds(p, "</text>");
}

void cdf_path(qa_buf *p, const qa_scale *sx, const qa_scale *sy, const double *v, size_t n,
    const char *colour, const char *dash)
{
	if (n == 0)
		return;
	/* Past 256 steps a line is as smooth as the eye sees; 10k items stay small. */
	size_t step = n > 256 ? (n + 255) / 256 : 1;
	buf_printf(p, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s%s%s d=\"M%.1f %.1f", colour,
	    dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "",
	    scale_clamp(sx, v[0]), scale_map(sy, 0));
	for (size_t i = 0; i < n; i += step) {
		size_t last = i + step - 1 < n ? i + step - 1 : n - 1;
		double x = scale_clamp(sx, v[last]);
		buf_printf(p, "H%.1fV%.1f", x, scale_map(sy, (double)(last + 1) / (double)n));
	}
	buf_adds(p, "\"/>\n");
}
