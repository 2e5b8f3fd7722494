/* The line reader: CRLF, a last line without newline, NUL bytes, long lines. */
#include <stdlib.h>
#include <unistd.h>

#include "qa.h"
#include "t.h"

/* lines_each's callback: each line's number and length, as "N:LEN " into the buffer. */
static void tally(void *arg, const char *file, unsigned long lineno, const char *line, size_t len)
{
	qa_buf *b = arg;
	(void)line;
	buf_printf(b, "%s%lu:%zu ", b->len || strncmp(file, "/tmp/", 5) == 0 ? "" : "?", lineno, len);
}

int main(void)
{
	char path[] = "/tmp/qa-lines-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("one\r\ntwo\n\nfo", f);
	fputc('\0', f);
	fputs("ur\n", f);
	for (int i = 0; i < 3000000; i++)
		fputc('x', f);
	fputs("\nlast", f);
	fclose(f);

	qa_lines r;
	char *line;
	ssize_t n;
	CHECK(lines_open(&r, path) == 0);
	n = lines_next(&r, &line);
	CHECK_MEM(line, (size_t)n, "one");
	n = lines_next(&r, &line);
	CHECK_MEM(line, (size_t)n, "two");
	CHECK(r.lineno == 2);
	n = lines_next(&r, &line);
	CHECK(n == 0);
	n = lines_next(&r, &line);
	CHECK(n == 5 && memcmp(line, "fo\0ur", 5) == 0);
	n = lines_next(&r, &line);
	CHECK(n == 3000000 && line[0] == 'x' && line[n - 1] == 'x');
	n = lines_next(&r, &line);
	CHECK_MEM(line, (size_t)n, "last");
	CHECK(r.lineno == 6);
	CHECK(lines_next(&r, &line) == -1);
	CHECK(lines_error(&r) == 0);
	lines_close(&r);
	CHECK(lines_open(&r, "/nonexistent/x") < 0);

	/* lines_each: every line, numbered from 1, to the callback; a missing file is -1 and a warning */
	qa_buf seen = { 0 };
	CHECK(lines_each(path, tally, &seen, NULL) == 0);
	CHECK_STR(buf_cstr(&seen), "1:3 2:3 3:0 4:5 5:3000000 6:4 ");
	CHECK(lines_each("/nonexistent/x", tally, &seen, NULL) == -1);
	CHECK(status_get() == QA_EXIT_USAGE);
	buf_free(&seen);
	unlink(path);
	return t_done("lines");
}
