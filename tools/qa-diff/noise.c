/*
 * qa-diff --noise RUN: the noise floor of flips.  A model run twice on the
 * same items flips answers too (batching, non-deterministic kernels, a
 * server's prompt cache), so a candidate's flips mean something only above
 * what the baseline does against itself.  RUN is the baseline sent again;
 * per item, d = (candidate flips) - (the repeat flips) over the items with
 * a 0/1 score in all three runs, and the excess flip rate is mean(d) with
 * a paired normal CI (the same items on both sides, so their noise cancels
 * rather than adds).  The floor's own rate has a Wilson interval.
 */

#include "qa-diff.h"

struct nstat {
	long n;			/* items with a 0/1 score in the baseline, candidate and repeat */
	long floor, cand;	/* of which the repeat flips; the candidate flips */
	qa_moments d;		/* candidate flip - repeat flip, per item */
};

static const char *file;
static double *score;		/* per item: the repeat's score, NaN: none */
static size_t nscore;
static struct nstat *per_task, all;
static long records, cached, unknown, unscored;
static unsigned long cached_line, unknown_line;

void noise_set(const char *path)
{
	file = path;
}

int noise_stdin(void)
{
	return file && strcmp(file, "-") == 0;
}

int noise_on(void)
{
	return file != NULL;
}

static void noise_record(qa_json *j, unsigned long lineno, const char *line, size_t len)
{
	char msg[160];
	int rc = record_parse(j, line, len, msg, sizeof msg);
	if (rc > 0)
		return;
	records++;
	if (rc < 0) {
		qa_warn_at(file, lineno, "%s", msg);
		status_raise(QA_EXIT_DATA);
		return;
	}
	if (json_type(j, json_find(j, 0, "response.cached")) == QA_TRUE && !cached++)
		cached_line = lineno;
	int idtok = json_member(j, 0, "id", 2);
	uint64_t h;
	char lbuf[24];
	if (json_type(j, idtok) == QA_ABSENT || json_type(j, idtok) == QA_NULL) {
		int n = snprintf(lbuf, sizeof lbuf, "%lu", lineno);
		h = tag_hash('n', lbuf, (size_t)n);
	} else if (value_hash(j, idtok, &h) < 0) {
		qa_warn_at(file, lineno, "id is neither a string nor a number");
		status_raise(QA_EXIT_DATA);
		return;
	}
	uint32_t *slot = D.items_ix.cap ? index_slot(&D.items_ix, h, D.items, sizeof *D.items) : NULL;
	if (!slot || !*slot || !(D.items[*slot - 1].flags & IN_BASE)) {
		if (!unknown++)
			unknown_line = lineno;
		return;
	}
	size_t item = *slot - 1;
	const struct item *it = &D.items[item];
	const char *m = O.metric ? O.metric : it->metric != NO_METRIC ? D.metrics[it->metric] : NULL;
	int e = json_member(j, 0, "error", 5);
	double v = NAN;
	if (m && (json_type(j, e) == QA_ABSENT || json_type(j, e) == QA_NULL))
		v = score_named(j, json_member(j, 0, "scores", 6), m, strlen(m));
	if (isnan(v))
		unscored++;
	if (!isnan(score[item]))
		qa_die(QA_EXIT_USAGE, "%s:%lu: duplicate id (--noise)", file, lineno);
	score[item] = v;
}

/* Reads RUN against the item table; call after both runs, before finish() frees the table. */
void noise_read(void)
{
	if (!file)
		return;
	nscore = D.nitems;
	score = xreallocarray(NULL, nscore ? nscore : 1, sizeof *score);
	for (size_t i = 0; i < nscore; i++)
		score[i] = NAN;
	qa_json *j = json_new();
	qa_lines in;
	char *line;
	ssize_t n;
	if (lines_open(&in, file) < 0)
		qa_die(QA_EXIT_USAGE, "%s: %s", file, strerror(errno));
	while ((n = lines_next(&in, &line)) >= 0)
		noise_record(j, in.lineno, line, (size_t)n);
	if (lines_error(&in) < 0)
		qa_die(QA_EXIT_USAGE, "%s: read error: %s", file, strerror(errno));
	lines_close(&in);
	json_free(&j);

	/* Flips count over the metrics that are 0/1 throughout both runs, as the candidate's do (gather()). */
	unsigned char *bin = xreallocarray(NULL, D.nmetrics + 1, 1);
	memset(bin, 1, D.nmetrics + 1);
	for (size_t i = 0; i < D.nitems; i++) {
		const struct item *it = &D.items[i];
		if (it->flags == (IN_BASE | IN_CAND) && !isnan(it->base) && !isnan(it->cand) &&
		    ((it->base != 0 && it->base != 1) || (it->cand != 0 && it->cand != 1)))
			bin[it->metric == NO_METRIC ? D.nmetrics : it->metric] = 0;
	}
	per_task = xcalloc(D.ntasks ? D.ntasks : 1, sizeof *per_task);
	for (size_t i = 0; i < D.nitems; i++) {
		const struct item *it = &D.items[i];
		double b = it->base, c = it->cand, r = score[i];
		if (it->flags != (IN_BASE | IN_CAND) || !bin[it->metric == NO_METRIC ? D.nmetrics : it->metric] ||
		    (b != 0 && b != 1) || (c != 0 && c != 1) || (r != 0 && r != 1))
			continue;
		int fc = b != c, fr = b != r;
		struct nstat *t = &per_task[it->task];
		struct nstat *both[2] = { t, &all };
		for (int k = 0; k < 2; k++) {
			both[k]->n++;
			both[k]->cand += fc;
			both[k]->floor += fr;
			moments_add(&both[k]->d, (double)(fc - fr));
		}
	}
	xfree(&score);
	free(bin);

	/* A repeat served from the response cache is the first run again: no noise at all. */
	if (cached)
		qa_warn_at(file, cached_line, "%ld of %ld records of the noise run carry response.cached: true: "
		    "they repeat the first answer instead of asking again, so the floor is too low (send repeats "
		    "with --cache-mode refresh)", cached, records);
	if (unknown)
		qa_warn_at(file, unknown_line, "%ld record%s of the noise run %s not in the baseline: not used",
		    unknown, unknown == 1 ? "" : "s", unknown == 1 ? "is" : "are");
	if (all.n == 0)
		qa_warn("%s: no item has a 0/1 score in the baseline, the candidate and the noise run: no floor",
		    file);
}

static const struct nstat *stat_of(const struct result *r)
{
	if (!per_task)
		return NULL;
	if (strcmp(r->scope, "overall") == 0)
		return &all;
	for (size_t t = 0; t < D.ntasks; t++)
		if (D.tasks[t].name == r->task)
			return &per_task[t];
	return NULL;
}

/* The excess flip rate in points, and its CI; NaN when undefined. */
static void excess(const struct nstat *s, double *pts, double *lo, double *hi)
{
	*pts = *lo = *hi = NAN;
	if (!s || s->n == 0)
		return;
	*pts = 100 * s->d.mean;
	double se = se_of(&s->d);
	if (!isnan(se)) {
		*lo = *pts - O.z * 100 * se;
		*hi = *pts + O.z * 100 * se;
	}
}

void json_noise(qa_buf *b, const struct result *r)
{
	const struct nstat *s = stat_of(r);
	if (!file)
		return;
	buf_adds(b, ",\"noise_floor\":");
	if (!s || s->n == 0) {
		buf_adds(b, "null");
		return;
	}
	double lo = NAN, hi = NAN, pts, elo, ehi;
	wilson_ci((double)s->floor, (double)s->n, O.z, &lo, &hi);
	buf_printf(b, "{\"n\":%ld,\"flips\":%ld", s->n, s->floor);
	jnum(b, "flip_pct", 100.0 * (double)s->floor / (double)s->n);
	jnum(b, "ci_low", 100 * lo);
	jnum(b, "ci_high", 100 * hi);
	buf_printf(b, ",\"candidate_flips\":%ld", s->cand);
	jnum(b, "candidate_flip_pct", 100.0 * (double)s->cand / (double)s->n);
	excess(s, &pts, &elo, &ehi);
	jnum(b, "excess_pts", pts);
	jnum(b, "excess_ci_low", elo);
	jnum(b, "excess_ci_high", ehi);
	buf_printf(b, ",\"cached\":%ld}", cached);
}

/* One line for people: the floor beside the candidate's flips. */
void noise_text(qa_buf *b, const struct result *r)
{
	const struct nstat *s = stat_of(r);
	if (!file || !s || s->n == 0)
		return;
	double lo = NAN, hi = NAN, pts, elo, ehi;
	wilson_ci((double)s->floor, (double)s->n, O.z, &lo, &hi);
	excess(s, &pts, &elo, &ehi);
	buf_printf(b, "Noise floor (the baseline against its repeat, %ld items): %.1f%% flip [%.1f, %.1f]; the "
	    "candidate flips %.1f%%, %+.1f points over the floor [%+.1f, %+.1f].\n", s->n,
	    100.0 * (double)s->floor / (double)s->n, 100 * lo, 100 * hi, 100.0 * (double)s->cand / (double)s->n,
	    pts, elo, ehi);
}

void noise_gate(struct result *r)
{
	if (isnan(O.max_excess_flips) || !r->gated)
		return;
	r->ncheck++;
	const struct nstat *s = stat_of(r);
	double pts, lo, hi;
	excess(s, &pts, &lo, &hi);
	if (isnan(pts))
		fail(r, "max-excess-flips", NAN, O.max_excess_flips, "--max-excess-flips %g: the excess over the "
		    "noise floor is undefined (%s)", O.max_excess_flips, file ? "no item scored 0/1 in all three runs" :
		    "no --noise run");
	else if (pts > O.max_excess_flips + EPS)
		fail(r, "max-excess-flips", pts, O.max_excess_flips, "the candidate flips %.4g points more than the "
		    "baseline against itself, over --max-excess-flips %g", pts, O.max_excess_flips);
}

void noise_free(void)
{
	xfree(&per_task);
	memset(&all, 0, sizeof all);
}
