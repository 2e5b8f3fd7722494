/*
 * The scorers' option parsing: qa-score's own main() (tools/qa-score/main.c
 * included, the tool's other objects linked) run on a command line made
 * from the case.  Each line is one --metric argument (NAME, NAME:key=value,... or a JSON object); a
 * line that starts with '@' is a record to score instead, so the options
 * are also applied.  Exit statuses 0, 1 and 2 are all answers; only a
 * crash or a sanitizer report is a finding.  One case per process: main()
 * exits.
 */
#define FUZZ_OWN_MAIN
#include "fuzz.h"

#include <dlfcn.h>
#include <glob.h>
#include <sys/mman.h>
#include <unistd.h>

#define main qa_score_main
#include "../../tools/qa-score/main.c"
#undef main

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_options FILE\n");
		return 2;
	}
	/* Loaded before the fork server starts, so a case does not pay for dlopen. */
	char exe[4096], pattern[4200];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	glob_t g = { 0 };
	if (len > 0) {
		exe[len] = '\0';
		*strrchr(exe, '/') = '\0';
		snprintf(pattern, sizeof pattern, "%s/../lib/qa/plugins/*.so", exe);
		if (glob(pattern, 0, NULL, &g) == 0)
			for (size_t i = 0; i < g.gl_pathc; i++)
				dlopen(g.gl_pathv[i], RTLD_NOW | RTLD_LOCAL);
	}
#ifdef __AFL_HAVE_MANUAL_CONTROL
	__AFL_INIT();
#endif
	size_t n;
	char *p = fuzz_read(argv[1], &n);
	if (!p)
		return 2;
	int fd = memfd_create("records", 0);
	if (fd < 0)
		return 2;
	char **args = xcalloc(n + 8, sizeof *args);
	int nargs = 0;
	args[nargs++] = "qa-score";
	args[nargs++] = "--summary";
	for (char *line = p, *end; line < p + n; line = end + 1) {
		end = memchr(line, '\n', (size_t)(p + n - line));
		if (!end)
			end = p + n;
		*end = '\0';
		if (*line == '@') {
			if (write(fd, line + 1, strlen(line + 1)) < 0 || write(fd, "\n", 1) < 0)
				return 2;
		} else if (*line) {
			args[nargs++] = "--metric";
			args[nargs++] = line;
		}
	}
	char input[64];
	snprintf(input, sizeof input, "/proc/self/fd/%d", fd);
	args[nargs++] = "--";
	args[nargs++] = input;
	return qa_score_main(nargs, args);
}
