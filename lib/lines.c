/* Lines of any length; getline() already copes with NUL bytes, we add CRLF. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"

/*
 * Reads go through a buffer of this size: stdio's default (4 KiB) costs a
 * system call per few records.  It must be our own memory: given none,
 * glibc ignores the size.
 */
#define IOBUF (256 * 1024)

int lines_open(qa_lines *r, const char *path)
{
	static int stdin_set;
	memset(r, 0, sizeof *r);
	if (strcmp(path, "-") == 0) {
		static char stdin_buf[IOBUF];
		r->fp = stdin;
		r->name = "-";
		/* Only before stdin's first read, and in memory that outlives every reader. */
		if (!stdin_set++)
			setvbuf(stdin, stdin_buf, _IOFBF, sizeof stdin_buf);
		return 0;
	}
	r->fp = fopen(path, "r");
	if (!r->fp)
		return -1;
	r->iobuf = xmalloc(IOBUF);
	setvbuf(r->fp, r->iobuf, _IOFBF, IOBUF);
	r->name = path;
	r->own = 1;
	return 0;
}

ssize_t lines_next(qa_lines *r, char **line)
{
	/* A 100 MB line should not pin 100 MB for the rest of the run. */
	if (r->cap > (16u << 20)) {
		xfree(&r->buf);
		r->cap = 0;
	}
	errno = 0;
	ssize_t n = getline(&r->buf, &r->cap, r->fp);
	if (n < 0) {
		if (errno == ENOMEM)
			qa_die(QA_EXIT_USAGE, "%s:%lu: out of memory reading a line", r->name, r->lineno + 1);
		return -1;
	}
	r->lineno++;
	if (n > 0 && r->buf[n - 1] == '\n')
		n--;
	if (n > 0 && r->buf[n - 1] == '\r')
		n--;
	r->buf[n] = '\0';
	*line = r->buf;
	return n;
}

int lines_error(const qa_lines *r)
{
	return ferror(r->fp) ? -1 : 0;
}

void lines_close(qa_lines *r)
{
	if (r->own && r->fp)
		fclose(r->fp);
	xfree(&r->iobuf);	/* after fclose: the stream used it to the end */
	xfree(&r->buf);
	r->fp = NULL;
}

int lines_each(const char *path, qa_line_fn *fn, void *arg, qa_buf *out)
{
	qa_lines in;
	char *line;
	ssize_t n;
	int rc = 0;

	if (lines_open(&in, path) < 0) {
		qa_warn("%s: %s", path, strerror(errno));
		status_raise(QA_EXIT_USAGE);
		return -1;
	}
	while ((n = lines_next(&in, &line)) >= 0) {
		fn(arg, in.name, in.lineno, line, (size_t)n);
		if (out && out->len >= 64 * 1024)
			out_write(stdout, out);
	}
	if (lines_error(&in) < 0) {
		qa_warn("%s: read error: %s", path, strerror(errno));
		status_raise(QA_EXIT_USAGE);
		rc = -1;
	}
	lines_close(&in);
	if (out)
		out_write(stdout, out);
	return rc;
}
