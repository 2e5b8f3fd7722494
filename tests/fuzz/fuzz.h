/*
 * What every fuzz target shares.  A target is a plain program: with AFL++
 * (afl-cc) it runs in persistent mode on the file afl-fuzz names (@@); built
 * with cc it replays the files it is given, one after the other, which is
 * how make test runs tests/fuzz/TARGET/{seeds,regressions}.  A target
 * aborts when its oracle fails, so a wrong answer counts as a crash too.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#include "qa.h"

#ifndef FUZZ_OWN_MAIN
/* The target: one test case, p[0..n), NUL-terminated past n. */
static void fuzz_one(const char *p, size_t n);
#endif

/* The whole file (NULL and a message when it cannot be read). */
static char *fuzz_read(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		perror(path);
		return NULL;
	}
	qa_buf b = { 0 };
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_add(&b, chunk, got);
	fclose(fp);
	*n = b.len;
	buf_cstr(&b);
	if (!b.p)
		b.p = xstrdup("");
	return b.p;
}

/* An oracle that failed: abort, so AFL++ keeps the case as a crash. */
#define FUZZ_CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: oracle failed: %s\n", __FILE__, __LINE__, #cond); abort(); } } while (0)

#ifndef FUZZ_OWN_MAIN
static void fuzz_setup(void);

int main(int argc, char **argv)
{
	qa_tool_init(argv[0]);
	fuzz_setup();
#ifdef __AFL_HAVE_MANUAL_CONTROL
	/* The fork server starts after the plugins are loaded: each case skips dlopen. */
	__AFL_INIT();
#endif
#ifdef __AFL_LOOP
	while (__AFL_LOOP(10000)) {
		if (argc < 2)
			return 2;
		size_t n;
		char *p = fuzz_read(argv[1], &n);
		if (p)
			fuzz_one(p, n);
		free(p);
	}
#else
	for (int i = 1; i < argc; i++) {
		size_t n;
		char *p = fuzz_read(argv[i], &n);
		if (!p)
			return 2;
		fuzz_one(p, n);
		free(p);
	}
#endif
	return 0;
}
#endif

#endif
