/*
 * qa-report: one self-contained HTML page from an assessment's runs, for
 * the people who decide a migration.
 *
 *	qa-report -b baseline -c int4 -o runs/demo/report.html runs/demo
 *	qa-report --diff diff.json --cost cost.json base.scored.jsonl cand.scored.jsonl
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

/* The command line (lib/opt.c). */
static struct report_opts {
	const char *name[2];	/* --baseline, --candidate */
	const char *file[5];	/* --diff, --cost, --drift, --ppl, --ramp */
	const char *output, *title;
	double max_drop;	/* NAN: from diff.json */
} O = { .max_drop = NAN };
enum { F_DIFF, F_COST, F_DRIFT, F_PPL, F_RAMP };

static const struct qa_opt rows[] = {
	QA_ROW(QA_OPT_STRING, "baseline", 'b', "NAME", "the baseline run in DIR: DIR/NAME.scored.jsonl", &O.name[BASE]),
	QA_ROW(QA_OPT_STRING, "candidate", 'c', "NAME", "the candidate run in DIR: DIR/NAME.scored.jsonl",
	    &O.name[CAND]),
	QA_ROW(QA_OPT_STRING, "diff", 0, "FILE", "qa-diff's JSON of the two runs (DIR/diff.json)", &O.file[F_DIFF]),
	QA_ROW(QA_OPT_STRING, "cost", 0, "FILE", "qa-cost --summary's JSON (DIR/cost.json)", &O.file[F_COST]),
	QA_ROW(QA_OPT_STRING, "drift", 0, "FILE", "qa-diff's JSON of the logprob runs (DIR/drift.json)",
	    &O.file[F_DRIFT]),
	QA_ROW(QA_OPT_STRING, "ppl", 0, "FILE", "corpus perplexities per side (DIR/ppl.summary.json)", &O.file[F_PPL]),
	QA_ROW(QA_OPT_STRING, "ramp", 0, "FILE", "migrate.mk's stage rows (DIR/stage-*.row)", &O.file[F_RAMP]),
	QA_ROW(QA_OPT_DOUBLE, "max-drop", 'm', "DROP", "the gate's threshold, a fraction (0.02 = 2 points),\n"
	    "drawn on the forest plot (default: from diff.json)", &O.max_drop, .max = 1,
	    .what = "a fraction between 0 and 1"),
	QA_ROW(QA_OPT_STRING, "output", 'o', "FILE", "write the page there (default: standard output)", &O.output),
	QA_ROW(QA_OPT_STRING, "title", 't', "TEXT", "the page's title", &O.title),
	QA_END_HELP_VERSION,
};

static const struct qa_opts options = {
	.prog = "qa-report",
	.usage = "usage: qa-report [-b name] [-c name] [-m drop] [-o file] [-t title] DIR\n"
	    "       qa-report [--diff file] [--cost file] [--drift file] [--ppl file]\n"
	    "                 [--ramp file] [-m drop] [-o file] [-t title] BASELINE CANDIDATE\n",
	.opt = rows,
	.col = 24,
	.tail =
	    "The page needs nothing else: styles, charts (SVG) and a few lines of script\n"
	    "are inline, and it makes no request when opened.  Exit status: 0 written,\n"
	    "1 written but some input lines were left out, 2 usage error or a run that\n"
	    "cannot be read.  See qa-report(1).\n",
};

static char *path_in_new(const char *dir, const char *name)
{
	qa_buf b = { 0 };
	buf_printf(&b, "%s/%s", dir, name);
	char *s = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return s;
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* DIR/NAME.scored.jsonl for the names given, else the two scored runs there. */
static void find_runs(const char *dir, const char *cost, const char **name, char **path)
{
	char *found[3] = { NULL, NULL, NULL };
	size_t nfound = 0;
	if (!name[BASE] || !name[CAND]) {
		DIR *dp = opendir(dir);
		struct dirent *e;
		if (!dp)
			qa_die(QA_EXIT_USAGE, "%s: %s", dir, strerror(errno));
		while ((e = readdir(dp))) {
			size_t n = strlen(e->d_name);
			if (n > 13 && strcmp(e->d_name + n - 13, ".scored.jsonl") == 0 && nfound < 3)
				found[nfound++] = xstrndup(e->d_name, n - 13);
		}
		closedir(dp);
		if (nfound == 2 && strcmp(found[0], found[1]) > 0) {
			char *t = found[0];
			found[0] = found[1];
			found[1] = t;
		}
	}
	/* qa-cost's projection names the baseline; otherwise the order is a guess, so ask. */
	const char *cost_base = NULL;
	struct report tmp = { 0 };
	struct doc d = { 0 };
	if (nfound == 2 && !name[BASE] && !name[CAND]) {
		doc_load(&tmp, &d, cost);
		long pj = doc_find(&d, "projection", NULL);
		cost_base = doc_str(&d, pj, "baseline");
		if (cost_base && strcmp(cost_base, found[1]) == 0) {
			char *t = found[0];
			found[0] = found[1];
			found[1] = t;
		} else if (!cost_base || strcmp(cost_base, found[0]) != 0)
			qa_die(QA_EXIT_USAGE, "%s: two scored runs and no way to tell the baseline: use -b and -c", dir);
	}
	for (int k = 0; k < 2; k++) {
		const char *nm = name[k], *other = name[1 - k];
		if (!nm && !other && nfound == 2)
			nm = found[k];
		else if (!nm) {
			/* The one run that is not the other side. */
			size_t n = 0;
			for (size_t i = 0; i < nfound; i++)
				if (strcmp(found[i], other) != 0) {
					nm = found[i];
					n++;
				}
			if (n != 1)
				nm = NULL;
		}
		if (!nm)
			qa_die(QA_EXIT_USAGE, "%s: cannot tell which scored runs to compare (found %zu): use -b and -c",
			    dir, nfound);
		qa_buf b = { 0 };
		buf_printf(&b, "%s/%s.scored.jsonl", dir, nm);
		path[k] = xstrdup(buf_cstr(&b));
		buf_free(&b);
		name[k] = xstrdup(nm);
	}
	doc_free(&d);
	for (size_t i = 0; i < nfound; i++)
		free(found[i]);
}

int main(int argc, char **argv)
{
	qa_tool_init(argv[0]);
	opt_parse(&options, &argc, &argv);
	struct report r = { .max_drop = O.max_drop, .title = O.title };
	const char **name = O.name, *output = O.output;
	const char **file = O.file;

	char *path[2] = { NULL, NULL };
	char *owned[5] = { NULL };
	struct stat st;
	if (argc == 1 && stat(argv[0], &st) == 0 && S_ISDIR(st.st_mode)) {
		r.dir = argv[0];
		static const char *const names[4] = { "diff.json", "cost.json", "drift.json", "ppl.summary.json" };
		for (int k = 0; k < 4; k++)
			if (!file[k] && exists((owned[k] = path_in_new(r.dir, names[k]))))
				file[k] = owned[k];
		find_runs(r.dir, file[F_COST], name, path);
	} else if (argc == 2) {
		if (name[BASE] || name[CAND])
			qa_die(QA_EXIT_USAGE, "-b and -c name runs in a directory; here the files are named");
		for (int k = 0; k < 2; k++)
			path[k] = xstrdup(argv[k]);
	} else if (argc == 1)
		qa_die(QA_EXIT_USAGE, "%s: not a directory (give a run folder, or two scored runs)", argv[0]);
	else
		opt_usage(&options, QA_EXIT_USAGE);

	for (int k = 0; k < 2; k++) {
		if (name[k] && r.dir)
			r.s[k].name = (char *)name[k];
		side_load(&r, &r.s[k], path[k]);
	}
	doc_load(&r, &r.diff, file[F_DIFF]);
	doc_load(&r, &r.cost, file[F_COST]);
	doc_load(&r, &r.drift, file[F_DRIFT]);
	doc_load(&r, &r.ppl, file[F_PPL]);
	if (file[F_RAMP])
		ramp_load(&r, file[F_RAMP], 0);
	else if (r.dir)
		ramp_load(&r, r.dir, 1);

	/* The gate's threshold, when not given: what the failing gate said it was. */
	if (isnan(r.max_drop)) {
		long ov = doc_find(&r.diff, "overall", NULL);
		int f = doc_tok(&r.diff, ov, "gate.failures");
		for (size_t i = 0; f >= 0 && i < json_count(r.diff.j[ov], f); i++) {
			const qa_json *j = r.diff.j[ov];
			int e = json_index(j, f, i), cr = json_find(j, e, "criterion"), lim = json_find(j, e, "limit");
			double v;
			if (cr >= 0 && json_str_eq(j, cr, "max-drop", 8) && lim >= 0 && json_num(j, lim, &v) == 0)
				r.max_drop = v;
		}
		if (isnan(r.max_drop))
			r.max_drop = doc_num(&r.diff, ov, "gate.max_drop");
	}

	/* A fresh nonce per page: a prompt written before the page cannot guess it. */
	unsigned char rnd[16];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		qa_die(QA_EXIT_USAGE, "getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(r.nonce + 2 * i, 3, "%02x", rnd[i]);

	qa_buf page = { 0 };
	page_write(&r, &page);
	if (output) {
		/* Written beside the target and renamed: a reader never sees half a page. */
		qa_buf tmp = { 0 };
		buf_printf(&tmp, "%s.tmp", output);
		FILE *fp = fopen(buf_cstr(&tmp), "w");
		if (!fp)
			qa_die(QA_EXIT_USAGE, "%s: %s", buf_cstr(&tmp), strerror(errno));
		if (fwrite(page.p, 1, page.len, fp) != page.len || fclose(fp) != 0 || rename(buf_cstr(&tmp), output) != 0) {
			int e = errno;
			unlink(buf_cstr(&tmp));
			qa_die(QA_EXIT_USAGE, "%s: %s", output, strerror(e));
		}
		buf_free(&tmp);
	} else
		out_write(stdout, &page);
	out_close();

	buf_free(&page);
	for (int k = 0; k < 2; k++) {
		struct side *s = &r.s[k];
		for (size_t i = 0; i < s->n; i++) {
			struct item *it = &s->it[i];
			free(it->id);
			free(it->task);
			free(it->prompt);
			free(it->expected);
			free(it->answer);
			free(it->extracted);
			free(it->metric);
			free(it->error);
		}
		free(s->it);
		free(s->by_id);
		free(s->model);
		free(s->endpoint);
		free(s->params);
		free(s->qa_version);
		free(s->path);
		free(s->name);
		free(path[k]);
	}
	doc_free(&r.diff);
	doc_free(&r.cost);
	doc_free(&r.drift);
	doc_free(&r.ppl);
	for (size_t i = 0; i < r.nramp; i++)
		for (size_t k = 0; k < 9; k++)
			free(r.ramp[i].f[k]);
	free(r.ramp);
	for (int k = 0; k < 5; k++)
		free(owned[k]);
	return r.status;
}
