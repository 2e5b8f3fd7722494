/*
 * Allocation that stops the run on exhaustion, as jq's jv_alloc does: no
 * call site checks.
 *
 * Torture testing, as curl's: QA_FAIL_ALLOC=N makes the Nth allocation
 * fail, so a test can walk N over every allocation a run makes and check
 * that each one ends the same clean way (tests/16-torture.bats).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"

static QA_NORETURN void oom(size_t n)
{
	fprintf(stderr, "%s: out of memory allocating %zu bytes\n", qa_prog, n);
	/*
	 * exit, not abort: stdout then holds only whole records (every tool
	 * hands stdio complete lines), and stdio flushes what is left of the
	 * last one; abort would leave a half line behind and die by a signal.
	 */
	status_raise(QA_EXIT_USAGE);
	exit(status_get());
}

static long fail_at;	/* 0: not read yet; -1: no torture */
static long allocations;

/* 1 when this allocation is the one QA_FAIL_ALLOC names. */
static int torture(void)
{
	if (fail_at == -1)
		return 0;
	if (fail_at == 0) {
		const char *e = getenv("QA_FAIL_ALLOC");
		char *end;
		fail_at = e && *e ? strtol(e, &end, 10) : -1;
		if (fail_at <= 0 || *end)
			fail_at = -1;
		if (fail_at == -1)
			return 0;
	}
	return ++allocations == fail_at;
}

void *xmalloc(size_t n)
{
	void *p = torture() ? NULL : malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = torture() ? NULL : calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = torture() ? NULL : realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		oom(SIZE_MAX);
	return xrealloc(p, n * size);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void xfree(void *pp)
{
	void **p = pp;
	free(*p);
	*p = NULL;
}
