/*
 * lib/table.c: the tools' tables, byte for byte: aligned text (widths in
 * code points, a left-aligned last column unpadded), Markdown padded and
 * tight, CSV through libcsv, and fixed-width rows as printf pads them.
 */
#include <stdlib.h>

#include "qa.h"
#include "t.h"

static const char *const head[] = { "NAME", "N", "NOTE" };
static const char *const r1[] = { "café", "12", "a \"quoted\" one" };
static const char *const r2[] = { "x|y", "3", NULL };

static void fill(qa_table *t)
{
	table_add(t, head);
	table_add(t, r1);
	table_add(t, r2);
}

int main(void)
{
	qa_buf b = { 0 };
	qa_table t = { .ncols = 3, .right = { 0, 1, 0 } };

	/* "café" is 4 columns wide though 5 bytes; the last column is left-aligned, so unpadded */
	fill(&t);
	table_print(&b, &t, QA_TABLE_TEXT);
	CHECK_STR(buf_cstr(&b), "NAME   N  NOTE\ncafé  12  a \"quoted\" one\nx|y    3  \n");
	CHECK(t.nrows == 0 && t.cells == NULL);

	b.len = 0;
	fill(&t);
	table_print(&b, &t, QA_TABLE_MD);
	CHECK_STR(buf_cstr(&b), "| NAME |  N | NOTE           |\n|------|---:|----------------|\n"
	    "| café | 12 | a \"quoted\" one |\n| x|y  |  3 |                |\n");

	b.len = 0;
	fill(&t);
	t.tight = 1;
	table_print(&b, &t, QA_TABLE_MD);
	CHECK_STR(buf_cstr(&b), "| NAME | N | NOTE |\n|---|--:|---|\n| café | 12 | a \"quoted\" one |\n"
	    "| x\\|y | 3 |  |\n");

	b.len = 0;
	fill(&t);
	table_print(&b, &t, QA_TABLE_CSV);
	CHECK_STR(buf_cstr(&b), "\"NAME\",\"N\",\"NOTE\"\n\"café\",\"12\",\"a \"\"quoted\"\" one\"\n\"x|y\",\"3\",\"\"\n");

	/* fixed widths: as printf("%-6s %3s %4s\n"), bytes counted, a longer cell overflows */
	qa_table f = { .ncols = 3, .gap = " ", .width = { 6, 3, 4 }, .right = { 0, 1, 1 } };
	char want[128];
	b.len = 0;
	table_line(&b, &f, (const char *const[]){ "café", "7", "1.5" });
	table_line(&b, &f, (const char *const[]){ "toolongname", "1234", "x" });
	snprintf(want, sizeof want, "%-6s %3s %4s\n%-6s %3s %4s\n", "café", "7", "1.5", "toolongname", "1234", "x");
	CHECK_STR(buf_cstr(&b), want);

	/* cell_num: printf's way, or "-" for what is not a number */
	char c[16];
	CHECK_STR(cell_num(c, sizeof c, "%.1f%%", 12.345), "12.3%");
	CHECK_STR(cell_num(c, sizeof c, "%.4f", NAN), "-");
	CHECK_STR(cell_num(c, sizeof c, "%.0f", INFINITY), "-");

	buf_free(&b);
	return t_done("test_table");
}
