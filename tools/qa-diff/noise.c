/*
 * qa-diff --noise RUN: the noise floor of flips.  A model run twice on the
 * same items flips answers too (batching, non-deterministic kernels, a
 * server's prompt cache), so a candidate's flips mean something only above
 * what the baseline does against itself.  RUN is the baseline sent again;
 * per item, d = (candidate flips) - (the repeat flips) over the items with
 * a 0/1 score in all three runs, and the excess flip rate is mean(d) with
 * a paired normal CI (the same items on both sides, so their noise cancels
 * rather than adds).  The floor's own rate has a Wilson interval.
 *
 * With more repeats (--noise several times, --candidate-repeat), each item
 * has N runs on a side: its accuracy over them is a proportion, and its
 * agreement rate the chance that two of its runs agree.  The paired test
 * is then on d = (the candidate's per-item accuracy) - (the baseline's),
 * with a paired bootstrap over items (the same draws for both sides), and
 * --max-drop reads that interval: repeats average the run-to-run noise
 * out of each item instead of leaving it in the delta.  The floor stays
 * the baseline against its first repeat.
 */

#include "qa-diff.h"

struct nstat {
	long n;			/* items with a 0/1 score in the baseline, candidate and repeat */
	long floor, cand;	/* of which the repeat flips; the candidate flips */
	qa_moments d;		/* candidate flip - repeat flip, per item */
};

/* The per-item test over repeats, per task and overall. */
struct rstat {
	long n;			/* items with a 0/1 score in every run of both sides */
	double acc[2];		/* summed per-item accuracy over the runs, per side */
	qa_moments agree[2];	/* per-item agreement rate, per side (a side of one run: none) */
	long unanimous[2];	/* items whose runs all agree, per side */
	struct dvec d;		/* per item: candidate accuracy - baseline accuracy */
	double mean, se, lo, hi, p;	/* mean(d), its SE, the bootstrap's CI and p */
};

static const char *file;	/* the first --noise run: the floor's */
static const char **rfile[2];	/* every repeat, per side: --noise, --candidate-repeat */
static size_t nrep[2];
static double *score;		/* per item: the current repeat's score, NaN: none */
static double *first;		/* per item: the first --noise run's score, for the floor */
static uint16_t *right[2], *nrun[2];	/* per item and side: repeats scoring it 1; scoring it 0 or 1 */
static size_t nscore;
static struct nstat *per_task, all;
static struct rstat *rtask, rall;
static long records, cached, unknown, unscored, left_out;
static unsigned long cached_line, unknown_line;

/* A repeat of one side's run: --noise (the baseline's) or --candidate-repeat. */
void repeat_add(int side, const char *path)
{
	int stdin_taken = 0;
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < nrep[k]; i++)
			stdin_taken |= strcmp(rfile[k][i], "-") == 0;
	if (stdin_taken && strcmp(path, "-") == 0)
		qa_die(QA_EXIT_USAGE, "only one of the runs and their repeats can be - (standard input)");
	if (nrep[side] >= 1000)
		qa_die(QA_EXIT_USAGE, "%s: at most 1000 repeats of a run", path);
	rfile[side] = xreallocarray(rfile[side], nrep[side] + 1, sizeof *rfile[side]);
	rfile[side][nrep[side]++] = path;
	if (side == BASE && !file)
		file = path;
}

void noise_set(const char *path)
{
	repeat_add(BASE, path);
}

int noise_stdin(void)
{
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < nrep[k]; i++)
			if (strcmp(rfile[k][i], "-") == 0)
				return 1;
	return 0;
}

int noise_on(void)
{
	return file != NULL;
}

/* The per-item test runs when there is more than the floor's one repeat. */
static int repeats_on(void)
{
	return nrep[BASE] + nrep[CAND] >= 2;
}

static const char *cur;	/* the repeat being read */
static const char *cur_opt;	/* and the option that named it */

static void noise_record(qa_json *j, unsigned long lineno, const char *line, size_t len)
{
	char msg[160];
	int rc = record_parse(j, line, len, msg, sizeof msg);
	if (rc > 0)
		return;
	records++;
	if (rc < 0) {
		qa_warn_at(cur, lineno, "%s", msg);
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
		qa_warn_at(cur, lineno, "id is neither a string nor a number");
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
		qa_die(QA_EXIT_USAGE, "%s:%lu: duplicate id (%s)", cur, lineno, cur_opt);
	score[item] = v;
}

/* An item's runs on one side: right answers k of n; agreement, the chance two of its runs agree. */
static double agreement(double k, double n)
{
	return n < 2 ? NAN : (k * (k - 1) + (n - k) * (n - k - 1)) / (n * (n - 1));
}

/* One paired item with 0/1 scores in the first runs: into the per-item test when every repeat scored it. */
static void repeat_item(size_t i, const struct item *it)
{
	if (nrun[BASE][i] != nrep[BASE] || nrun[CAND][i] != nrep[CAND]) {
		left_out++;
		return;
	}
	double k[2] = { it->base + right[BASE][i], it->cand + right[CAND][i] };
	double n[2] = { 1.0 + (double)nrep[BASE], 1.0 + (double)nrep[CAND] };
	struct rstat *both[2] = { &rtask[it->task], &rall };
	for (int s = 0; s < 2; s++) {
		struct rstat *r = both[s];
		r->n++;
		for (int side = 0; side < 2; side++) {
			r->acc[side] += k[side] / n[side];
			if (n[side] >= 2)
				moments_add(&r->agree[side], agreement(k[side], n[side]));
			r->unanimous[side] += k[side] == 0 || k[side] == n[side];
		}
		dvec_add(&r->d, k[CAND] / n[CAND] - k[BASE] / n[BASE]);
	}
	if (O.verbose && (!(k[BASE] == 0 || k[BASE] == n[BASE]) || !(k[CAND] == 0 || k[CAND] == n[CAND]))) {
		char id[256];
		id_text(i, id, sizeof id);
		qa_warn_at(D.file[BASE], it->line, "id %s: right in %.0f of %.0f baseline runs, %.0f of %.0f "
		    "candidate runs", id, k[BASE], n[BASE], k[CAND], n[CAND]);
	}
}

/*
 * The paired bootstrap of mean(d) over items: each resample draws items
 * with replacement (an item's runs stay together, both sides alike); the
 * CI and p are resampled()'s, as the corpus figures' are.
 */
static void repeat_test(struct rstat *r, uint64_t stream)
{
	r->mean = r->se = r->lo = r->hi = r->p = NAN;
	size_t n = r->d.n;
	if (n == 0)
		return;
	mean_se(r->d.v, n, &r->mean, &r->se);
	long B = O.bootstrap ? O.bootstrap : 1000;
	double *means = xreallocarray(NULL, (size_t)B, sizeof *means);
	uint64_t state = (uint64_t)O.seed ^ stream ^ 0x726570656174ull;	/* "repeat": its own stream */
	for (long b = 0; b < B; b++) {
		double sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += r->d.v[draw(&state, (uint32_t)n)];
		means[b] = sum / (double)n;
	}
	resampled(means, B, r->mean, &r->p, &r->lo, &r->hi);
	free(means);
}

static void repeat_tests(void)
{
	for (size_t t = 0; t < D.ntasks; t++)
		repeat_test(&rtask[t], D.task_hash[t]);
	repeat_test(&rall, tag_hash('o', "", 0));
	if (left_out)
		qa_warn("%ld paired item%s a 0/1 score in the first runs but not in every repeat: left out of the "
		    "per-item test over repeats", left_out, left_out == 1 ? " has" : "s have");
	if (rall.n == 0)
		qa_warn("no item has a 0/1 score in every run of both sides: no per-item test over repeats");
}

/* One repeat into score[], warning about its records served from the cache or not in the baseline. */
static void read_repeat(int side, const char *path, qa_json *j)
{
	cur = path;
	cur_opt = side == BASE ? "--noise" : "--candidate-repeat";
	records = cached = unknown = 0;
	for (size_t i = 0; i < nscore; i++)
		score[i] = NAN;
	qa_lines in;
	char *line;
	ssize_t n;
	if (lines_open(&in, path) < 0)
		qa_die(QA_EXIT_USAGE, "%s: %s", path, strerror(errno));
	while ((n = lines_next(&in, &line)) >= 0)
		noise_record(j, in.lineno, line, (size_t)n);
	if (lines_error(&in) < 0)
		qa_die(QA_EXIT_USAGE, "%s: read error: %s", path, strerror(errno));
	lines_close(&in);
	const char *what = side == BASE ? "the noise run" : "the candidate's repeat";
	/* A repeat served from the response cache is the first run again: no noise at all. */
	if (cached)
		qa_warn_at(path, cached_line, "%ld of %ld records of %s carry response.cached: true: "
		    "they repeat the first answer instead of asking again, so the %s is too low (send repeats "
		    "with --cache-mode refresh)", cached, records, what, side == BASE ? "floor" : "noise");
	if (unknown)
		qa_warn_at(path, unknown_line, "%ld record%s of %s %s not in the baseline: not used",
		    unknown, unknown == 1 ? "" : "s", what, unknown == 1 ? "is" : "are");
	for (size_t i = 0; i < nscore; i++)
		if (score[i] == 0 || score[i] == 1) {
			nrun[side][i]++;
			right[side][i] += score[i] == 1;
		}
}

static long floor_cached;	/* the floor's run: its records served from the cache */

/* Reads the repeats against the item table; call after both runs, before finish() frees the table. */
void noise_read(void)
{
	if (!nrep[BASE] && !nrep[CAND])
		return;
	nscore = D.nitems;
	score = xreallocarray(NULL, nscore ? nscore : 1, sizeof *score);
	first = xreallocarray(NULL, nscore ? nscore : 1, sizeof *first);
	for (size_t i = 0; i < nscore; i++)
		first[i] = NAN;
	for (int k = 0; k < 2; k++) {
		right[k] = xcalloc(nscore ? nscore : 1, sizeof *right[k]);
		nrun[k] = xcalloc(nscore ? nscore : 1, sizeof *nrun[k]);
	}
	qa_json *j = json_new();
	for (int k = 0; k < 2; k++)
		for (size_t r = 0; r < nrep[k]; r++) {
			read_repeat(k, rfile[k][r], j);
			if (k == BASE && r == 0) {
				memcpy(first, score, nscore * sizeof *first);
				floor_cached = cached;
			}
		}
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
	if (file)
		per_task = xcalloc(D.ntasks ? D.ntasks : 1, sizeof *per_task);
	if (repeats_on())
		rtask = xcalloc(D.ntasks ? D.ntasks : 1, sizeof *rtask);
	for (size_t i = 0; i < D.nitems; i++) {
		const struct item *it = &D.items[i];
		double b = it->base, c = it->cand, r = first[i];
		if (it->flags != (IN_BASE | IN_CAND) || !bin[it->metric == NO_METRIC ? D.nmetrics : it->metric] ||
		    (b != 0 && b != 1) || (c != 0 && c != 1))
			continue;
		if (rtask)
			repeat_item(i, it);
		if (!per_task || (r != 0 && r != 1))
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
	xfree(&first);
	for (int k = 0; k < 2; k++) {
		xfree(&right[k]);
		xfree(&nrun[k]);
	}
	free(bin);
	if (rtask)
		repeat_tests();
	if (file && all.n == 0)
		qa_warn("%s: no item has a 0/1 score in the baseline, the candidate and the noise run: no floor",
		    file);
}

/* The line's task: its index, D.ntasks for the overall line, -1 for none. */
static long line_task(const struct result *r)
{
	if (strcmp(r->scope, "overall") == 0)
		return (long)D.ntasks;
	for (size_t t = 0; t < D.ntasks; t++)
		if (D.tasks[t].name == r->task)
			return (long)t;
	return -1;
}

static const struct nstat *stat_of(const struct result *r)
{
	long t = per_task ? line_task(r) : -1;
	return t < 0 ? NULL : t == (long)D.ntasks ? &all : &per_task[t];
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
	json_repeats(b, r);
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
	buf_kv_num(b, "flip_pct", 100.0 * (double)s->floor / (double)s->n);
	buf_kv_num(b, "ci_low", 100 * lo);
	buf_kv_num(b, "ci_high", 100 * hi);
	buf_printf(b, ",\"candidate_flips\":%ld", s->cand);
	buf_kv_num(b, "candidate_flip_pct", 100.0 * (double)s->cand / (double)s->n);
	excess(s, &pts, &elo, &ehi);
	buf_kv_num(b, "excess_pts", pts);
	buf_kv_num(b, "excess_ci_low", elo);
	buf_kv_num(b, "excess_ci_high", ehi);
	buf_printf(b, ",\"cached\":%ld}", floor_cached);
}

/* One line for people: the floor beside the candidate's flips. */
void noise_text(qa_buf *b, const struct result *r)
{
	const struct nstat *s = stat_of(r);
	if (!file || !s || s->n == 0) {
		repeats_text(b, r);
		return;
	}
	double lo = NAN, hi = NAN, pts, elo, ehi;
	wilson_ci((double)s->floor, (double)s->n, O.z, &lo, &hi);
	excess(s, &pts, &elo, &ehi);
	buf_printf(b, "Noise floor (the baseline against its repeat, %ld items): %.1f%% flip [%.1f, %.1f]; the "
	    "candidate flips %.1f%%, %+.1f points over the floor [%+.1f, %+.1f].\n", s->n,
	    100.0 * (double)s->floor / (double)s->n, 100 * lo, 100 * hi, 100.0 * (double)s->cand / (double)s->n,
	    pts, elo, ehi);
	repeats_text(b, r);
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

static const struct rstat *rstat_of(const struct result *r)
{
	long t = rtask ? line_task(r) : -1;
	return t < 0 ? NULL : t == (long)D.ntasks ? &rall : &rtask[t];
}

/* For --max-drop: the per-item test over repeats, when the line has one; 0 when it has not. */
int repeats_delta(const struct result *r, double *point, double *lo, double *hi)
{
	const struct rstat *s = rstat_of(r);
	if (!s || s->n == 0)
		return 0;
	*point = s->mean;
	*lo = s->lo;
	*hi = s->hi;
	return 1;
}

static void json_rside(qa_buf *b, const char *name, const struct rstat *s, int side)
{
	buf_printf(b, ",\"%s\":{\"runs\":%zu", name, 1 + nrep[side]);
	buf_kv_num(b, "accuracy", s->acc[side] / (double)s->n);
	buf_kv_num(b, "agreement", s->agree[side].n > 0 ? s->agree[side].mean : NAN);
	buf_kv_num(b, "unanimous_pct", 100.0 * (double)s->unanimous[side] / (double)s->n);
	buf_addc(b, '}');
}

void json_repeats(qa_buf *b, const struct result *r)
{
	const struct rstat *s = rstat_of(r);
	if (!rtask)
		return;
	buf_adds(b, ",\"repeats\":");
	if (!s || s->n == 0) {
		buf_adds(b, "null");
		return;
	}
	buf_printf(b, "{\"n\":%ld", s->n);
	json_rside(b, "baseline", s, BASE);
	json_rside(b, "candidate", s, CAND);
	buf_adds(b, ",\"delta\":{\"mean\":");
	buf_json_number(b, s->mean);
	buf_kv_num(b, "se", s->se);
	buf_kv_num(b, "ci_low", s->lo);
	buf_kv_num(b, "ci_high", s->hi);
	buf_kv_num(b, "p", s->p);
	buf_printf(b, ",\"method\":\"paired bootstrap over items\",\"resamples\":%ld,\"seed\":%llu}}",
	    O.bootstrap ? O.bootstrap : 1000, (unsigned long long)O.seed);
}

void repeats_text(qa_buf *b, const struct result *r)
{
	const struct rstat *s = rstat_of(r);
	if (!s || s->n == 0)
		return;
	double n = (double)s->n;
	char ab[16], ac[16];
	buf_printf(b, "Repeats (%zu baseline run%s, %zu candidate run%s, %ld items): per-item agreement %s "
	    "baseline, %s candidate; accuracy over the runs %.4f and %.4f, delta %+.4f [%+.4f, %+.4f] "
	    "(paired bootstrap over items), p %.3g.\n", 1 + nrep[BASE], nrep[BASE] ? "s" : "", 1 + nrep[CAND],
	    nrep[CAND] ? "s" : "", s->n, cell_num(ab, sizeof ab, "%.1f%%", s->agree[BASE].n ? 100 * s->agree[BASE].mean : NAN),
	    cell_num(ac, sizeof ac, "%.1f%%", s->agree[CAND].n ? 100 * s->agree[CAND].mean : NAN), s->acc[BASE] / n,
	    s->acc[CAND] / n, s->mean, s->lo, s->hi, s->p);
}

void noise_free(void)
{
	xfree(&per_task);
	memset(&all, 0, sizeof all);
	if (rtask)
		for (size_t t = 0; t < D.ntasks; t++)
			free(rtask[t].d.v);
	xfree(&rtask);
	free(rall.d.v);
	memset(&rall, 0, sizeof rall);
	for (int k = 0; k < 2; k++) {
		xfree(&rfile[k]);
		nrep[k] = 0;
	}
}
