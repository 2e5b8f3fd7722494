/*
 * qa-diff: the comparability check.  qa-send writes what each request was
 * made with under response.sent; two runs whose records were sent with
 * different parameters, prompts or templates measure different things, so
 * a delta between them means nothing and qa-diff refuses it unless told
 * which difference is intended (--allow-mismatch).  The endpoint and the
 * model are what a comparison compares, so they may differ.  The chat
 * template's fingerprint is there only when the server reports one
 * (llama.cpp): absent on one side, it is unknown there, not different.
 */

#include "qa-diff.h"

static qa_buf pool;		/* the baseline's sent objects, NUL-terminated */
static size_t *where;		/* per item: 1 + offset into pool, 0: none */
static size_t wcap;
static qa_json *js;		/* a baseline sent object, parsed again */
static char **allowed;
static size_t nallowed;
static long paired_with, paired_without, seen;	/* seen: records carrying sent, either run */
static long template_one;	/* pairs whose template is known on one side only */

void sent_allow(const char *list)
{
	const char *p = list;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n) {
			allowed = xreallocarray(allowed, nallowed + 1, sizeof *allowed);
			allowed[nallowed++] = xstrndup(p, n);
		}
		p += n + (p[n] == ',');
	}
}

static int ignored(const char *k, size_t n)
{
	if ((n == 8 && memcmp(k, "endpoint", 8) == 0) || (n == 5 && memcmp(k, "model", 5) == 0))
		return 1;
	for (size_t i = 0; i < nallowed; i++)
		if (strlen(allowed[i]) == n && memcmp(allowed[i], k, n) == 0)
			return 1;
	return 0;
}

/* Values equal as numbers (0 and 0.0) or byte for byte. */
static int same_value(const qa_json *a, int ta, const qa_json *b, int tb)
{
	double x, y;
	if (json_type(a, ta) == QA_NUMBER && json_type(b, tb) == QA_NUMBER && json_num(a, ta, &x) == 0 &&
	    json_num(b, tb, &y) == 0)
		return x == y;
	size_t na, nb;
	const char *ra = json_raw(a, ta, &na), *rb = json_raw(b, tb, &nb);
	return ra && rb && na == nb && memcmp(ra, rb, na) == 0;
}

static QA_NORETURN void refuse(size_t item, unsigned long line, const char *pre, const char *k, size_t kn,
    const qa_json *jb, int vb, const qa_json *jc, int vc)
{
	size_t nb = 0, nc = 0;
	const char *rb = vb >= 0 ? json_raw(jb, vb, &nb) : NULL, *rc = vc >= 0 ? json_raw(jc, vc, &nc) : NULL;
	qa_warn_at(D.file[CAND], line, "not comparable: response.sent.%s%.*s is %.*s here, %.*s in the baseline "
	    "(line %lu); --allow-mismatch %.*s compares anyway", pre, (int)kn, k,
	    (int)(rc ? (nc > 80 ? 80 : nc) : 6), rc ? rc : "absent", (int)(rb ? (nb > 80 ? 80 : nb) : 6),
	    rb ? rb : "absent", (unsigned long)D.items[item].line, (int)kn, k);
	exit(QA_EXIT_USAGE);
}

/*
 * Every key of either object, the baseline's first; params is compared
 * member by member, so that the difference is named (params.temperature).
 */
static void compare(size_t item, unsigned long line, const char *pre, const qa_json *jb, int ob,
    const qa_json *jc, int oc)
{
	for (int pass = 0; pass < 2; pass++) {
		const qa_json *a = pass ? jc : jb, *b = pass ? jb : jc;
		int oa = pass ? oc : ob, obb = pass ? ob : oc;
		for (size_t i = 0; i < json_count(a, oa); i++) {
			int key = json_key_at(a, oa, i);
			size_t kn;
			const char *k = json_key(a, key, &kn);
			if (!k || ignored(k, kn))
				continue;
			int other = json_member(b, obb, k, kn);
			if (!*pre && other < 0 && kn == 8 && memcmp(k, "template", 8) == 0) {
				template_one++;
				continue;
			}
			if (!*pre && kn == 6 && memcmp(k, "params", 6) == 0 && json_type(a, key + 1) == QA_OBJECT &&
			    json_type(b, other) == QA_OBJECT) {
				if (pass == 0)
					compare(item, line, "params.", jb, key + 1, jc, other);
				continue;
			}
			if (other >= 0 && same_value(a, key + 1, b, other))
				continue;
			if (pass == 0)
				refuse(item, line, pre, k, kn, jb, key + 1, jc, other);
			refuse(item, line, pre, k, kn, jb, other, jc, key + 1);
		}
	}
}

/* Called for every record once its item is known; j is the record, parsed. */
void sent_record(int side, size_t item, const qa_json *j, unsigned long line)
{
	int s = json_find(j, 0, "response.sent");
	int has = json_type(j, s) == QA_OBJECT;
	seen += has;
	if (side == BASE) {
		if (item >= wcap) {
			size_t cap = wcap ? 2 * wcap : 1024;
			while (cap <= item)
				cap *= 2;
			where = xreallocarray(where, cap, sizeof *where);
			memset(where + wcap, 0, (cap - wcap) * sizeof *where);
			wcap = cap;
		}
		where[item] = 0;
		if (has) {
			size_t n;
			const char *raw = json_raw(j, s, &n);
			where[item] = pool.len + 1;
			buf_add(&pool, raw, n);
			buf_addc(&pool, '\0');
		}
		return;
	}
	if (!(D.items[item].flags & IN_BASE))
		return;
	size_t at = item < wcap ? where[item] : 0;
	if (!has || !at) {
		paired_without++;
		return;
	}
	paired_with++;
	if (!js)
		js = json_new();
	char msg[160];
	const char *text = pool.p + at - 1;
	if (record_parse(js, text, strlen(text), msg, sizeof msg) != 0)
		return;	/* it was one JSON object when it was read */
	compare(item, line, "", js, 0, j, s);
}

/*
 * After both runs: say when the check could not be made, and free what it
 * kept.  Runs where no record carries sent at all (written before qa-send
 * recorded it, or by hand) are compared as they always were, without a word.
 */
void sent_report(void)
{
	if (paired_without && seen)
		qa_warn("%ld of %ld compared pair%s carry no response.sent on one side or both (records from an "
		    "older qa-send?): whether they were sent alike is not checked", paired_without,
		    paired_without + paired_with, paired_without + paired_with == 1 ? "" : "s");
	if (template_one)
		qa_warn("%ld compared pair%s a chat template fingerprint on one side only (a server that does not "
		    "report its template): the templates are not compared there", template_one,
		    template_one == 1 ? " has" : "s have");
	free(where);
	where = NULL;
	wcap = 0;
	buf_free(&pool);
	json_free(&js);
	for (size_t i = 0; i < nallowed; i++)
		free(allowed[i]);
	free(allowed);
	allowed = NULL;
	nallowed = 0;
}
