/* Small things every tool needs: checked output, numbers from the command line, error records. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"

void qa_tool_init(const char *argv0)
{
	qa_set_prog(argv0);
	signal(SIGPIPE, SIG_IGN);
	host_init();
}

static QA_NORETURN void write_failed(void)
{
	/*
	 * The reader went away (| head): nobody reads what follows, so the run
	 * stops here, quietly, with the status it has earned so far.  A failed
	 * gate or an error record already written stays 1; EPIPE itself is
	 * no failure, so it does not raise it.
	 */
	if (errno == EPIPE)
		_exit(status_get());
	qa_die(QA_EXIT_USAGE, "write error: %s", strerror(errno));
}

void out_write(FILE *fp, qa_buf *b)
{
	if (b->len && fwrite(b->p, 1, b->len, fp) != b->len)
		write_failed();
	b->len = 0;
}

void out_flush(void)
{
	if (fflush(stdout) != 0)
		write_failed();
}

void out_close(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		write_failed();
	if (fclose(stdout) != 0)
		write_failed();
}

int record_parse(qa_json *j, const char *line, size_t len, char *msg, size_t msglen)
{
	const char *err;
	size_t off;

	if (strspn(line, " \t\r") == len)
		return 1;
	if (json_parse(j, line, len, &err, &off) < 0) {
		snprintf(msg, msglen, "%s at byte %zu", err, off + 1);
		return -1;
	}
	if (json_type(j, 0) != QA_OBJECT) {
		snprintf(msg, msglen, "not a JSON object");
		return -1;
	}
	return 0;
}

void bad_record(qa_buf *out, const char *file, unsigned long line, const char *text, size_t len,
    const char *message)
{
	buf_adds(out, "{\"error\":{\"type\":\"bad_record\",");
	if (file && strcmp(file, "-") != 0) {
		buf_adds(out, "\"file\":");
		buf_json_string(out, file, strlen(file));
		buf_addc(out, ',');
	}
	buf_printf(out, "\"line\":%lu,\"message\":", line);
	buf_json_string(out, message, strlen(message));
	buf_adds(out, "},\"input\":");
	buf_json_string(out, text, len);
	buf_addc(out, '}');
}

int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno == ERANGE || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno == ERANGE || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
