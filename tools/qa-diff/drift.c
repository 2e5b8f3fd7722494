/* qa-diff: logprobs: token drift between the two runs. */

#include "qa-diff.h"

/* ---- logprobs: token drift ---- */

/*
 * Checks a logprobs object in the OpenAI completions layout: token_logprobs
 * an array of numbers and nulls; tokens, when there, an array of strings;
 * top_logprobs, when there, an array of nulls and objects whose values are
 * numbers or null.  NULL when it is fine, else what is wrong.
 */
const char *lp_check(const qa_json *j, int lp)
{
	/* Types only: strtod is the costliest part of reading logprobs, and each number is read later anyway. */
	if (json_type(j, lp) != QA_OBJECT)
		return "response.logprobs is not an object";
	int v = json_member(j, lp, "token_logprobs", 14);
	if (json_type(j, v) != QA_ARRAY)
		return "response.logprobs has no token_logprobs array";
	size_t n = json_count(j, v);
	int e = v + 1;
	for (size_t i = 0; i < n; i++, e = json_next(j, e))
		if (json_type(j, e) != QA_NULL && json_type(j, e) != QA_NUMBER)
			return "a token_logprobs entry is neither a number nor null";
	int t = json_member(j, lp, "tokens", 6);
	if (json_type(j, t) != QA_ABSENT && json_type(j, t) != QA_NULL) {
		if (json_type(j, t) != QA_ARRAY)
			return "response.logprobs.tokens is not an array";
		n = json_count(j, t);
		e = t + 1;
		for (size_t i = 0; i < n; i++, e = json_next(j, e))
			if (json_type(j, e) != QA_STRING)
				return "a tokens entry is not a string";
	}
	int top = json_member(j, lp, "top_logprobs", 12);
	if (json_type(j, top) == QA_ABSENT || json_type(j, top) == QA_NULL)
		return NULL;
	if (json_type(j, top) != QA_ARRAY)
		return "response.logprobs.top_logprobs is not an array";
	n = json_count(j, top);
	e = top + 1;
	for (size_t i = 0; i < n; i++, e = json_next(j, e)) {
		if (json_type(j, e) == QA_NULL)
			continue;
		if (json_type(j, e) != QA_OBJECT)
			return "a top_logprobs entry is neither an object nor null";
		size_t k = json_count(j, e);
		int key = e + 1;
		for (size_t a = 0; a < k; a++, key = json_next(j, key + 1))
			if (json_type(j, key + 1) != QA_NULL && json_type(j, key + 1) != QA_NUMBER)
				return "a top_logprobs value is neither a number nor null";
	}
	return NULL;
}

/* The baseline's logprobs go to an unlinked file in $TMPDIR, a length and then the JSON text. */
void spool_add(size_t item, const qa_json *j, int lp)
{
	if (!D.spool) {
		const char *dir = getenv("TMPDIR");
		if (!dir || !*dir)
			dir = "/tmp";
		qa_buf path = { 0 };
		buf_printf(&path, "%s/qa-diff.XXXXXX", dir);
		int fd = mkstemp(path.p);
		if (fd < 0 || unlink(path.p) < 0 || !(D.spool = fdopen(fd, "w+b")))
			qa_die(QA_EXIT_USAGE, "%s: %s (logprobs are kept there; set TMPDIR)", path.p,
			    strerror(errno));
		buf_free(&path);
	}
	if (!D.lpoff) {
		D.lpoff = xreallocarray(NULL, D.capitems, sizeof *D.lpoff);
		for (size_t i = 0; i < D.capitems; i++)
			D.lpoff[i] = NO_LP;
	}
	size_t n;
	const char *raw = json_raw(j, lp, &n);
	uint64_t len = n;
	if (fwrite(&len, sizeof len, 1, D.spool) != 1 || fwrite(raw, 1, n, D.spool) != n)
		qa_die(QA_EXIT_USAGE, "writing the temporary logprobs file: %s", strerror(errno));
	D.lpoff[item] = D.spool_end;
	D.spool_end += sizeof len + n;
}

/* Reads back the baseline's logprobs that start at off, parsed into D.jb (root 0). */
void spool_get(uint64_t off)
{
	uint64_t len;
	size_t got = 0;
	int fd = fileno(D.spool);
	if (pread(fd, &len, sizeof len, (off_t)off) != (ssize_t)sizeof len)
		qa_die(QA_EXIT_USAGE, "reading the temporary logprobs file: %s", strerror(errno));
	D.lpbuf.len = 0;
	buf_grow(&D.lpbuf, (size_t)len);
	while (got < len) {
		ssize_t r = pread(fd, D.lpbuf.p + got, (size_t)len - got, (off_t)(off + sizeof len + got));
		if (r <= 0)
			qa_die(QA_EXIT_USAGE, "reading the temporary logprobs file: %s",
			    r < 0 ? strerror(errno) : "short read");
		got += (size_t)r;
	}
	D.lpbuf.len = (size_t)len;
	const char *err;
	size_t eoff;
	if (!D.jb)
		D.jb = json_new();
	if (json_parse(D.jb, D.lpbuf.p, D.lpbuf.len, &err, &eoff) < 0)
		qa_die(QA_EXIT_USAGE, "the temporary logprobs file is corrupt: %s", err);
}

int alt_before(const struct alt *a, const struct alt *b, int by_ord)
{
	if (by_ord || a->h == b->h)
		return a->ord < b->ord;
	return a->h < b->h;
}

int cmp_alt_h(const void *a, const void *b)
{
	return alt_before(b, a, 0) - alt_before(a, b, 0);
}

int cmp_alt_ord(const void *a, const void *b)
{
	return alt_before(b, a, 1) - alt_before(a, b, 1);
}

/* Top lists are short (OpenAI gives at most 20): insertion sort, qsort past that. */
void alt_sort(struct alt *v, size_t n, int by_ord)
{
	if (n > 32) {
		qsort(v, n, sizeof *v, by_ord ? cmp_alt_ord : cmp_alt_h);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		struct alt x = v[i];
		size_t k = i;
		for (; k > 0 && alt_before(&x, &v[k - 1], by_ord); k--)
			v[k] = v[k - 1];
		v[k] = x;
	}
}

/*
 * One position's top list into D.alt[side], sorted by token hash: every
 * token string once; an entry whose logprob is null is not listed.  A
 * string that several tokens share (byte tokens that all read as U+FFFD,
 * a byte token and the character token it spells) keeps its likeliest
 * entry, as the server ranked them; *dup counts the others.
 */
size_t alts_read(int side, const qa_json *j, int obj, long *dup)
{
	size_t k = json_count(j, obj), n = 0;
	if (k > D.altcap[side]) {
		D.altcap[side] = k;
		D.alt[side] = xreallocarray(D.alt[side], k, sizeof *D.alt[side]);
	}
	struct alt *v = D.alt[side];
	int key = obj + 1;
	for (size_t i = 0; i < k; i++, key = json_next(j, key + 1)) {
		double lp;
		size_t len;
		if (json_num(j, key + 1, &lp) < 0)
			continue;
		const char *s = json_key(j, key, &len);
		v[n++] = (struct alt){ .h = tag_hash('k', s, len), .lp = lp, .other = NAN, .ord = (uint32_t)i };
	}
	alt_sort(v, n, 0);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && v[m - 1].h == v[i].h) {
			(*dup)++;
			if (v[i].lp > v[m - 1].lp || (v[i].lp == v[m - 1].lp && v[i].ord < v[m - 1].ord))
				v[m - 1] = v[i];
			continue;
		}
		v[m++] = v[i];
	}
	return m;
}

/* The token a top list ranks first; between equal logprobs, the one listed first. */
uint64_t alt_top(const struct alt *v, size_t n)
{
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (v[i].lp > v[best].lp || (v[i].lp == v[best].lp && v[i].ord < v[best].ord))
			best = i;
	return v[best].h;
}

/* One position's top lists, ob in the baseline and oc in the candidate: same top token, and the KL. */
void top_pair(struct drift *d, const qa_json *jb, int ob, const qa_json *jc, int oc)
{
	size_t nb = alts_read(BASE, jb, ob, &d->dup[BASE]), nc = alts_read(CAND, jc, oc, &d->dup[CAND]);
	if (!nb || !nc)
		return;
	struct alt *b = D.alt[BASE], *c = D.alt[CAND];
	d->top_n++;
	d->same_top += alt_top(b, nb) == alt_top(c, nc);
	for (size_t i = 0, k = 0; i < nb && k < nc;) {
		if (b[i].h == c[k].h)
			b[i++].other = c[k++].lp;
		else if (b[i].h < c[k].h)
			i++;
		else
			k++;
	}
	/* Summed in the order the baseline lists them, as the reference sums its arrays. */
	alt_sort(b, nb, 1);
	if (nb > D.kcap) {
		D.kcap = nb;
		D.kp = xreallocarray(D.kp, nb, sizeof *D.kp);
		D.kq = xreallocarray(D.kq, nb, sizeof *D.kq);
	}
	size_t m = 0;
	double mass = 0;
	for (size_t i = 0; i < nb; i++)
		if (!isnan(b[i].other)) {
			D.kp[m] = exp(b[i].lp);
			D.kq[m] = exp(b[i].other);
			mass += D.kp[m++];
		}
	/* No token in both lists: nothing to measure, not a divergence of 0. */
	if (!m) {
		d->kl_undef++;
		return;
	}
	moments_add(&d->cover, mass);
	double kl = O.kl_raw ? kl_raw(D.kp, D.kq, m) : kl_renormalized(D.kp, D.kq, m);
	if (isnan(kl))
		d->kl_undef++;
	else if (isinf(kl))
		d->kl_inf++;
	else
		dvec_add(&d->kl, kl);
}

/* Whether two logprobs objects score the same tokens: both list them, and the lists are equal. */
int same_tokens(const qa_json *jb, int lb, const qa_json *jc, int lc)
{
	int tb = json_member(jb, lb, "tokens", 6), tc = json_member(jc, lc, "tokens", 6);
	if (json_type(jb, tb) != QA_ARRAY || json_type(jc, tc) != QA_ARRAY)
		return 0;
	size_t n = json_count(jb, tb);
	if (json_count(jc, tc) != n)
		return 0;
	int eb = tb + 1, ec = tc + 1;
	for (size_t i = 0; i < n; i++, eb = json_next(jb, eb), ec = json_next(jc, ec)) {
		size_t lb_, lc_;
		const char *sb = json_raw(jb, eb, &lb_), *sc = json_raw(jc, ec, &lc_);
		if (lb_ == lc_ && memcmp(sb, sc, lb_) == 0)
			continue;
		/* The same text may be escaped differently ("\u00e9" and "é"). */
		sb = json_str(jb, eb, &lb_);
		sc = json_str(jc, ec, &lc_);
		if (lb_ != lc_ || memcmp(sb, sc, lb_) != 0)
			return 0;
	}
	return 1;
}

/* The sum and count of a token_logprobs array's numbers; with m, their -logprob into it. */
long lp_sum(const qa_json *j, int v, double *sum, qa_moments *m)
{
	size_t n = json_count(j, v);
	long count = 0;
	double x;
	*sum = 0;
	int e = v + 1;
	for (size_t i = 0; i < n; i++, e = json_next(j, e))
		if (json_num(j, e, &x) == 0) {
			*sum += x;
			count++;
			if (m)
				moments_add(m, -x);
		}
	return count;
}

/* One compared token: xb its logprob in the baseline, xc in the candidate. */
static void token_add(struct drift *d, double xb, double xc, double *sb, double *sc, long *m)
{
	(*m)++;
	*sb += xb;
	*sc += xc;
	moments_add(&d->nll[BASE], -xb);
	moments_add(&d->nll[CAND], -xc);
	moments_add(&d->dln, xb - xc);
	double dp = exp(xc) - exp(xb);
	moments_add(&d->dp, dp);
	moments_add(&d->dp2, dp * dp);
	dvec_add(&d->dpv, dp);
}

/* A pair's m compared tokens, their logprobs summed to sb and sc, into the corpus sums. */
static void pair_end(struct drift *d, double sb, double sc, long m)
{
	d->tokens += m;
	d->lp_sum[BASE] += sb;
	d->lp_sum[CAND] += sc;
	d->lp_n[BASE] += m;
	d->lp_n[CAND] += m;
	if (m)
		comoments_add(&d->rec, -sb / (double)m, -sc / (double)m);
}

/* A baseline record's logprobs (lb in jb) against its candidate's (lc in jc). */
void drift_pair(struct drift *d, const qa_json *jb, int lb, const qa_json *jc, int lc,
    unsigned long lineno)
{
	int vb = json_member(jb, lb, "token_logprobs", 14), vc = json_member(jc, lc, "token_logprobs", 14);
	d->records++;
	D.lp_records++;
	if (!same_tokens(jb, lb, jc, lc)) {
		/* Other tokens: no position lines up, but each run's perplexity still counts. */
		d->differ++;
		if (!D.differ++)
			D.differ_line = lineno;
		double sb, sc;
		if (lp_sum(jb, vb, &sb, NULL) > 0 && lp_sum(jc, vc, &sc, NULL) > 0) {
			long nb = lp_sum(jb, vb, &sb, &d->nll[BASE]), nc = lp_sum(jc, vc, &sc, &d->nll[CAND]);
			d->lp_sum[BASE] += sb;
			d->lp_sum[CAND] += sc;
			d->lp_n[BASE] += nb;
			d->lp_n[CAND] += nc;
			comoments_add(&d->rec, -sb / (double)nb, -sc / (double)nc);
		}
		return;
	}
	/* What the providers dropped already when they turned a top list into an object. */
	double dupb, dupc;
	if (json_num(jb, json_member(jb, lb, "collisions", 10), &dupb) == 0 && dupb > 0)
		d->dup[BASE] += (long)dupb;
	if (json_num(jc, json_member(jc, lc, "collisions", 10), &dupc) == 0 && dupc > 0)
		d->dup[CAND] += (long)dupc;
	int topb = json_member(jb, lb, "top_logprobs", 12), topc = json_member(jc, lc, "top_logprobs", 12);
	size_t n = json_count(jb, vb), ntb = json_count(jb, topb), ntc = json_count(jc, topc);
	if (json_count(jc, vc) < n)
		n = json_count(jc, vc);
	int eb = vb + 1, ec = vc + 1, ob = topb + 1, oc = topc + 1;
	double sb = 0, sc = 0;
	long m = 0;
	for (size_t i = 0; i < n; i++) {
		double xb, xc;
		if (json_num(jb, eb, &xb) == 0 && json_num(jc, ec, &xc) == 0) {
			token_add(d, xb, xc, &sb, &sc, &m);
			if (i < ntb && i < ntc && json_type(jb, ob) == QA_OBJECT && json_type(jc, oc) == QA_OBJECT)
				top_pair(d, jb, ob, jc, oc);
		}
		eb = json_next(jb, eb);
		ec = json_next(jc, ec);
		if (i < ntb)
			ob = json_next(jb, ob);
		if (i < ntc)
			oc = json_next(jc, oc);
	}
	pair_end(d, sb, sc, m);
}

/* ---- exact drift: the candidate's response.drift ---- */

/*
 * An in-process provider run with --kl-base (the llama provider) writes
 * response.drift: {"exact":true, "base":FILE, "token_logprobs":[..],
 * "kld":[..], "same_top":[..]}, per scored token the baseline model's
 * logprob, the KL divergence over the whole vocabulary and whether both
 * rank the same token first, aligned with response.logprobs.  Both models
 * saw the same windows in the same process, so nothing is estimated.
 * Returns the drift object, -1 when the record has none, or -2 with *why
 * when it is malformed.
 */
static int exact_of(const qa_json *j, int lp, const char **why)
{
	int dr = json_find(j, 0, "response.drift");
	if (json_type(j, dr) == QA_ABSENT || json_type(j, dr) == QA_NULL)
		return -1;
	*why = "response.drift is not an object with \"exact\": true";
	if (json_type(j, dr) != QA_OBJECT || json_type(j, json_member(j, dr, "exact", 5)) != QA_TRUE)
		return -2;
	size_t n = json_count(j, json_member(j, lp, "token_logprobs", 14));
	static const char *const key[3] = { "token_logprobs", "kld", "same_top" };
	for (int k = 0; k < 3; k++) {
		int v = json_member(j, dr, key[k], strlen(key[k]));
		*why = "response.drift's token_logprobs, kld and same_top are not arrays as long as "
		    "response.logprobs.token_logprobs";
		if (json_type(j, v) != QA_ARRAY || json_count(j, v) != n)
			return -2;
		int e = v + 1;
		for (size_t i = 0; i < n; i++, e = json_next(j, e)) {
			enum qa_type t = json_type(j, e);
			*why = k == 2 ? "a response.drift.same_top entry is not a boolean" :
			    "a response.drift token_logprobs or kld entry is neither a number nor null";
			if (k == 2 ? t != QA_TRUE && t != QA_FALSE : t != QA_NUMBER && t != QA_NULL)
				return -2;
		}
	}
	return dr;
}

/* A candidate record with exact drift (dr in j, its logprobs lp): the baseline's record is not needed. */
static void exact_pair(struct drift *d, const qa_json *j, int lp, int dr)
{
	int vc = json_member(j, lp, "token_logprobs", 14), vb = json_member(j, dr, "token_logprobs", 14);
	int ek = json_member(j, dr, "kld", 3) + 1, es = json_member(j, dr, "same_top", 8) + 1;
	size_t n = json_count(j, vc);
	int ec = vc + 1, eb = vb + 1;
	double sb = 0, sc = 0, kl;
	long m = 0;
	d->records++;
	d->exact++;
	D.lp_records++;
	for (size_t i = 0; i < n; i++) {
		double xb, xc;
		if (json_num(j, eb, &xb) == 0 && json_num(j, ec, &xc) == 0) {
			token_add(d, xb, xc, &sb, &sc, &m);
			d->top_n++;
			d->same_top += json_type(j, es) == QA_TRUE;
			if (json_num(j, ek, &kl) < 0 || isnan(kl))
				d->kl_undef++;
			else if (isinf(kl))
				d->kl_inf++;
			else
				dvec_add(&d->kl, kl);
		}
		eb = json_next(j, eb);
		ec = json_next(j, ec);
		ek = json_next(j, ek);
		es = json_next(j, es);
	}
	pair_end(d, sb, sc, m);
}

/* A record's response.logprobs: the baseline's are kept, the candidate's compared with them. */
void read_logprobs(int side, size_t item, unsigned long lineno)
{
	qa_json *j = D.j;
	int lp = json_find(j, 0, "response.logprobs");
	if (json_type(j, lp) == QA_ABSENT || json_type(j, lp) == QA_NULL) {
		lp = -1;
	} else {
		const char *why = lp_check(j, lp);
		if (why) {
			qa_warn_at(D.file[side], lineno, "%s: left out of token drift", why);
			status_raise(QA_EXIT_DATA);
			lp = -1;
		}
	}
	if (side == BASE) {
		if (lp >= 0)
			spool_add(item, j, lp);
		return;
	}
	const struct item *it = &D.items[item];
	if (!(it->flags & IN_BASE))
		return;
	const char *why = NULL;
	int dr = lp >= 0 ? exact_of(j, lp, &why) : -1;
	if (dr == -2) {
		qa_warn_at(D.file[side], lineno, "%s: its drift is measured from the logprobs instead", why);
		status_raise(QA_EXIT_DATA);
	} else if (dr >= 0) {
		exact_pair(&D.tasks[it->task].drift, j, lp, dr);
		return;
	}
	int base = D.lpoff && D.lpoff[item] != NO_LP;
	if (!base || lp < 0) {
		if (base || lp >= 0)
			D.lp_one[base ? BASE : CAND]++;
		return;
	}
	spool_get(D.lpoff[item]);
	drift_pair(&D.tasks[it->task].drift, D.jb, 0, j, lp, lineno);
}

/*
 * Every task's values of one per-token array into one, for the overall
 * percentiles.  The largest task's array grows to hold them all and the
 * others are freed as they are copied, so the values are not held twice
 * (realloc of a block that large moves pages, not bytes).
 */
static void gather_vec(struct dvec *all, size_t off)
{
#define VEC(t) ((struct dvec *)((char *)&D.tasks[t] + off))
	size_t total = 0, big = 0;
	for (size_t t = 0; t < D.ntasks; t++) {
		total += VEC(t)->n;
		if (VEC(t)->n > VEC(big)->n)
			big = t;
	}
	if (!total)
		return;
	*all = *VEC(big);
	memset(VEC(big), 0, sizeof *all);
	all->v = xreallocarray(all->v, total, sizeof *all->v);
	all->cap = total;
	for (size_t t = 0; t < D.ntasks; t++) {
		struct dvec *k = VEC(t);
		if (k->n)
			memcpy(all->v + all->n, k->v, k->n * sizeof *k->v);
		all->n += k->n;
		xfree(&k->v);
		k->n = k->cap = 0;
	}
#undef VEC
}

void gather_kl(struct dvec *all)
{
	gather_vec(all, offsetof(struct task, drift.kl));
}

void gather_dp(struct dvec *all)
{
	gather_vec(all, offsetof(struct task, drift.dpv));
}
