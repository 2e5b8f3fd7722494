/*
 * The tools' summary tables: rows of text cells printed aligned, as
 * Markdown, or as CSV through libcsv (qa-cost, qa-diff, qa-score).
 */
#include <csv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"

const char *cell_num(char *dst, size_t n, const char *fmt, double v)
{
	if (isfinite(v))
		snprintf(dst, n, fmt, v);
	else
		snprintf(dst, n, "-");
	return dst;
}

void table_add(qa_table *t, const char *const *cells)
{
	size_t c;

	t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols, sizeof *t->cells);
	for (c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = xstrdup(cells[c] ? cells[c] : "");
	t->nrows++;
}

static void pad(qa_buf *b, size_t n)
{
	while (n--)
		buf_addc(b, ' ');
}

/* One aligned row: widths w[], the gap between columns; a left-aligned last column is not padded. */
static void text_row(qa_buf *b, const qa_table *t, const size_t *w, const size_t *len, const char *const *cells)
{
	size_t c, fill;

	for (c = 0; c < t->ncols; c++) {
		const char *s = cells[c] ? cells[c] : "";
		fill = w[c] > len[c] ? w[c] - len[c] : 0;
		if (c)
			buf_adds(b, t->gap ? t->gap : "  ");
		if (t->right[c])
			pad(b, fill);
		buf_adds(b, s);
		if (!t->right[c] && c + 1 < t->ncols)
			pad(b, fill);
	}
	buf_addc(b, '\n');
}

void table_line(qa_buf *b, const qa_table *t, const char *const *cells)
{
	size_t w[QA_TABLE_MAXCOLS], len[QA_TABLE_MAXCOLS], c;

	/* Fixed widths count bytes, as printf's %*s does. */
	for (c = 0; c < t->ncols; c++) {
		w[c] = t->width[c] > 0 ? (size_t)t->width[c] : 0;
		len[c] = cells[c] ? strlen(cells[c]) : 0;
	}
	text_row(b, t, w, len, cells);
}

static void csv_row(qa_buf *b, const qa_table *t, const char *const *cells)
{
	size_t c, n, need;

	for (c = 0; c < t->ncols; c++) {
		/* libcsv quotes every field and doubles the quotes inside. */
		n = strlen(cells[c]);
		need = csv_write(NULL, 0, cells[c], n);
		if (c)
			buf_addc(b, ',');
		buf_grow(b, need);
		csv_write(b->p + b->len, need, cells[c], n);
		b->len += need;
	}
	buf_addc(b, '\n');
}

/* "| a | b |": cells padded to the column (or, tight, as they are with '|' escaped). */
static void md_row(qa_buf *b, const qa_table *t, const size_t *w, const char *const *cells)
{
	size_t c, l;
	const char *p;

	for (c = 0; c < t->ncols; c++) {
		buf_adds(b, "| ");
		if (t->tight) {
			for (p = cells[c]; *p; p++) {
				if (*p == '|')
					buf_addc(b, '\\');
				buf_addc(b, *p);
			}
		} else {
			l = text_length(cells[c], strlen(cells[c]));
			if (t->right[c])
				pad(b, w[c] - l);
			buf_adds(b, cells[c]);
			if (!t->right[c])
				pad(b, w[c] - l);
		}
		buf_addc(b, ' ');
	}
	buf_adds(b, "|\n");
}

/* The rule under the header: |---|--:| when tight, else as wide as the column. */
static void md_rule(qa_buf *b, const qa_table *t, const size_t *w)
{
	size_t c, i;

	for (c = 0; c < t->ncols; c++) {
		buf_addc(b, '|');
		if (t->tight) {
			buf_adds(b, t->right[c] ? "--:" : "---");
			continue;
		}
		for (i = 0; i < w[c] + 1; i++)
			buf_addc(b, '-');
		buf_addc(b, t->right[c] ? ':' : '-');
	}
	buf_adds(b, "|\n");
}

void table_print(qa_buf *b, qa_table *t, enum qa_table_style style)
{
	size_t w[QA_TABLE_MAXCOLS] = { 0 }, len[QA_TABLE_MAXCOLS], r, c, l;
	const char *const *row;

	/* Each column as wide as its widest cell, in code points. */
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			l = text_length(t->cells[r * t->ncols + c], strlen(t->cells[r * t->ncols + c]));
			if (l > w[c])
				w[c] = l;
		}
	for (r = 0; r < t->nrows; r++) {
		row = (const char *const *)&t->cells[r * t->ncols];
		if (style == QA_TABLE_CSV) {
			csv_row(b, t, row);
		} else if (style == QA_TABLE_MD) {
			md_row(b, t, w, row);
			if (r == 0)
				md_rule(b, t, w);
		} else {
			for (c = 0; c < t->ncols; c++)
				len[c] = text_length(row[c], strlen(row[c]));
			text_row(b, t, w, len, row);
		}
	}
	table_clear(t);
}

void table_clear(qa_table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}
