/* One format for every message: "qa-score: tasks.jsonl:17: message". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"

const char *qa_prog = "qa";
static const char *where_file;
static unsigned long where_line;

void qa_set_prog(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');
	qa_prog = slash ? slash + 1 : argv0;
}

void qa_set_where(const char *file, unsigned long line)
{
	where_file = file;
	where_line = line;
}

void qa_vwarn_at(const char *file, unsigned long line, const char *fmt, va_list ap)
{
	/* One fprintf per message, so lines from parallel shards do not interleave. */
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (file && line)
		fprintf(stderr, "%s: %s:%lu: %s\n", qa_prog, file, line, msg);
	else if (file)
		fprintf(stderr, "%s: %s: %s\n", qa_prog, file, msg);
	else
		fprintf(stderr, "%s: %s\n", qa_prog, msg);
}

void qa_warn_at(const char *file, unsigned long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (!file) {
		file = where_file;
		line = where_line;
	}
	qa_vwarn_at(file, line, fmt, ap);
	va_end(ap);
}

void qa_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	qa_vwarn_at(NULL, 0, fmt, ap);
	va_end(ap);
}

void qa_die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	qa_vwarn_at(NULL, 0, fmt, ap);
	va_end(ap);
	status_raise(status);
	exit(status_get());
}
