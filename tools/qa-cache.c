/*
 * qa-cache: look after the response cache qa-send keeps (lib/cache.h):
 * its size and hits, pruning old answers, and moving it between machines
 * as JSON lines.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "qa.h"

/* The command line (lib/opt.c). */
static struct cache_opts {
	const char *cache;	/* --cache */
	const char *older;	/* --older-than */
} O;

static const struct qa_opt rows[] = {
	QA_ROW(QA_OPT_STRING, "cache", 'c', "FILE", "the cache file (default $XDG_CACHE_HOME/qa/responses.db,\n"
	    "else ~/.cache/qa/responses.db)", &O.cache),
	QA_ROW(QA_OPT_STRING, "older-than", 0, "AGE", "for prune: 30d, 12h, 90m, 2w, 45s", &O.older),
	QA_END_HELP_VERSION,
};

static const struct qa_opts options = {
	.prog = "qa-cache",
	.usage = "usage: qa-cache [--cache FILE] stats\n"
	    "       qa-cache [--cache FILE] prune --older-than AGE\n"
	    "       qa-cache [--cache FILE] export\n"
	    "       qa-cache [--cache FILE] import [FILE...]\n"
	    "Looks after qa-send's response cache.\n"
	    "\n"
	    "  stats                 one JSON line: entries, bytes, hits, oldest and newest\n"
	    "  prune                 delete answers older than AGE (N followed by s, m, h, d or w)\n"
	    "  export                every entry as a JSON line, oldest first\n"
	    "  import                add the entries of export lines (stdin, or FILEs); existing ones are kept\n",
	.opt = rows,
	.col = 24,
	.tail =
	    "The cache holds prompts and answers: it is created mode 0600.  Exit status:\n"
	    "0 ok, 1 bad import lines, 2 usage or cache error.  See qa-cache(1).\n",
};

/* "30d" to seconds; -1 when it is not a count and a unit. */
static int64_t parse_age(const char *s)
{
	char *end;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (errno || end == s || n < 0 || end[0] == '\0' || end[1] != '\0')
		return -1;
	int64_t unit;
	switch (*end) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return -1;
	}
	if (n > INT64_MAX / unit)
		return -1;
	return (int64_t)n * unit;
}

static void print_stats(qa_cache *c, const char *path)
{
	qa_cache_stats s;
	char err[512], t0[32], t1[32];
	if (cache_stats(c, &s, err, sizeof err) != 0)
		qa_die(QA_EXIT_USAGE, "%s", err);
	qa_buf b = { 0 };
	buf_adds(&b, "{\"cache\":");
	buf_json_string(&b, path, strlen(path));
	buf_printf(&b, ",\"format\":%d,\"entries\":%lld,\"response_bytes\":%lld,\"request_bytes\":%lld,"
	    "\"file_bytes\":%lld,\"hits\":%lld", QA_CACHE_FORMAT, (long long)s.entries,
	    (long long)s.response_bytes, (long long)s.request_bytes, (long long)s.file_bytes, (long long)s.hits);
	if (s.entries) {
		cache_format_time(s.oldest, t0);
		cache_format_time(s.newest, t1);
		buf_printf(&b, ",\"oldest\":\"%s\",\"newest\":\"%s\"}\n", t0, t1);
	} else {
		buf_adds(&b, ",\"oldest\":null,\"newest\":null}\n");
	}
	out_write(stdout, &b);
	buf_free(&b);
}

/* File scope, so what is open when qa_die() exits is still reachable (LeakSanitizer). */
static char *path;
static qa_cache *cache;

int main(int argc, char **argv)
{
	qa_set_prog(argv[0]);
	opt_parse(&options, &argc, &argv);
	int next = 0;
	const char *older = O.older;
	if (next >= argc)
		qa_die(QA_EXIT_USAGE, "a command is required: stats, prune, export or import (try --help)");
	const char *cmd = argv[next++];
	enum qa_cache_mode mode;
	if (strcmp(cmd, "stats") == 0 || strcmp(cmd, "export") == 0)
		mode = QA_CACHE_READ_ONLY;
	else if (strcmp(cmd, "prune") == 0 || strcmp(cmd, "import") == 0)
		mode = QA_CACHE_READ_WRITE;
	else
		qa_die(QA_EXIT_USAGE, "unknown command '%s': stats, prune, export or import (try --help)", cmd);
	if (strcmp(cmd, "import") != 0 && next < argc)
		qa_die(QA_EXIT_USAGE, "%s takes no arguments: '%s'", cmd, argv[next]);
	if (older && strcmp(cmd, "prune") != 0)
		qa_die(QA_EXIT_USAGE, "--older-than is for prune");
	int64_t age = 0;
	if (strcmp(cmd, "prune") == 0) {
		if (!older)
			qa_die(QA_EXIT_USAGE, "prune needs --older-than AGE (try --help)");
		if ((age = parse_age(older)) < 0)
			qa_die(QA_EXIT_USAGE, "--older-than '%s': want a count and a unit, as 30d, 12h, 90m, 2w or 45s", older);
	}
	if (!(path = O.cache ? xstrdup(O.cache) : cache_default_path_new()))
		qa_die(QA_EXIT_USAGE, "no cache file: set XDG_CACHE_HOME or HOME, or give --cache FILE");

	char err[512];
	cache = cache_open(path, mode, err, sizeof err);
	if (!cache)
		qa_die(QA_EXIT_USAGE, "%s", err);
	int status = QA_EXIT_OK;
	if (strcmp(cmd, "stats") == 0) {
		print_stats(cache, path);
	} else if (strcmp(cmd, "export") == 0) {
		if (cache_export(cache, stdout, err, sizeof err) != 0)
			qa_die(QA_EXIT_USAGE, "%s", err);
	} else if (strcmp(cmd, "prune") == 0) {
		int64_t removed;
		if (cache_prune(cache, (int64_t)time(NULL) - age, &removed, err, sizeof err) != 0)
			qa_die(QA_EXIT_USAGE, "%s", err);
		fprintf(stderr, "qa-cache: pruned %lld entries older than %s\n", (long long)removed, older);
	} else {
		int64_t added = 0, bad = 0;
		const char *stdin_only[] = { "-" };
		const char *const *files = next < argc ? (const char *const *)argv + next : stdin_only;
		int nfiles = next < argc ? argc - next : 1;
		for (int i = 0; i < nfiles; i++) {
			qa_lines r;
			int64_t a, b;
			if (lines_open(&r, files[i]) != 0)
				qa_die(QA_EXIT_USAGE, "%s: %s", files[i], strerror(errno));
			if (cache_import(cache, &r, &a, &b, err, sizeof err) != 0)
				qa_die(QA_EXIT_USAGE, "%s", err);
			lines_close(&r);
			added += a;
			bad += b;
		}
		fprintf(stderr, "qa-cache: imported %lld entries, %lld bad lines\n", (long long)added, (long long)bad);
		if (bad)
			status = QA_EXIT_DATA;
	}
	cache_close(&cache);
	free(path);
	out_close();
	return status;
}
