/*
 * qa-route: sets each record's endpoint (and fallback) with sticky, monotone
 * weighted splits, rules, rollout stages and mirroring.
 *
 *	qa-route --split old=90,new=10 --plan 10,30,60,100 --stage 2 | qa-send ...
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"


#define NBUCKETS 10000

struct ep {
	char *name;
	long split;	/* --split weight, in hundredths of a percent */
	long weight;	/* effective weight after --stage */
	long lo, hi;	/* buckets [lo, hi) */
};

struct rule {
	char *text;
	char *field;
	char *value;	/* for '=' */
	qa_regex *re;	/* for '~' */
	char *endpoint;
	char *route;	/* the "route" value, prebuilt */
};

/* The command line (the option table below) and what main() builds from it
 * before the first record: read-only while the records are routed. */
static struct route_opts {
	const char *split, *cand, *plan, *stage, *config;	/* as given */
	struct ep *ep;		/* --split, laid out by --stage */
	size_t nep;
	size_t cand_ep;		/* --candidate's index in ep */
	struct rule *rules;
	size_t nrules;
	const char *key;
	size_t keylen;
	const char *salt;
	long stage_n;		/* the stage applied; -1: none */
	char *mirror;
	qa_buf fallback;	/* JSON array, or empty */
	char **fb;		/* its names, until --config has checked them */
	size_t nfb;
	qa_buf *ep_json;	/* each endpoint's name as a JSON string */
} O = { .key = "id", .salt = "qa", .stage_n = -1 };

/* The run: the record being routed, its buffers, and what is counted. */
static struct route_state {
	qa_json *j;
	qa_buf out, val, tmp, numkey;
	long nokey;
	char *nokey_file;
	unsigned long nokey_line;
} R;

/* ---- the hash: FNV-1a 64 over salt ":" key, then murmur3's fmix64 ---- */

static long bucket_of(const char *key, size_t n)
{
	uint64_t h = hash_fnv1a(HASH_FNV_BASIS, O.salt, strlen(O.salt));
	h = hash_fnv1a(h, ":", 1);
	return (long)(hash_fmix64(hash_fnv1a(h, key, n)) % NBUCKETS);
}

/* ---- option parsing ---- */

/* A percentage with up to 2 decimals, in hundredths: "12.5" -> 1250.  -1 when not one. */
static long parse_pct(const char *s, size_t n)
{
	long v = 0;
	size_t i = 0, digits = 0, dec = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9') {
		v = v * 10 + (s[i++] - '0');
		if (++digits > 3)
			return -1;
	}
	if (!digits)
		return -1;
	v *= 100;
	if (i < n && s[i] == '.') {
		i++;
		long scale = 10;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (++dec > 2)
				return -1;
			v += (s[i++] - '0') * scale;
			scale /= 10;
		}
		if (!dec)
			return -1;
	}
	if (i != n || v > NBUCKETS)
		return -1;
	return v;
}

/* A non-negative number in decimal, without printf on the per-record path. */
static void add_long(qa_buf *b, long v)
{
	char d[24];
	size_t i = sizeof d;
	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	buf_add(b, d + i, sizeof d - i);
}

/* Hundredths of a percent as the shortest JSON number: 1250 -> 12.5. */
static void add_pct(qa_buf *b, long v)
{
	add_long(b, v / 100);
	if (v % 100) {
		buf_addc(b, '.');
		buf_addc(b, (char)('0' + v % 100 / 10));
		if (v % 10)
			buf_addc(b, (char)('0' + v % 10));
	}
}

static long find_ep(const char *name)
{
	for (size_t i = 0; i < O.nep; i++)
		if (strcmp(O.ep[i].name, name) == 0)
			return (long)i;
	return -1;
}

static void parse_split(const char *arg)
{
	long sum = 0;
	const char *p = arg;

	for (;;) {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);
		if (!eq || eq == p)
			qa_die(QA_EXIT_USAGE, "--split: '%.*s' is not NAME=WEIGHT", (int)n, p);
		long w = parse_pct(eq + 1, (size_t)(p + n - eq - 1));
		if (w < 0)
			qa_die(QA_EXIT_USAGE, "--split: '%.*s' is not a weight between 0 and 100 with up "
			    "to 2 decimals", (int)(p + n - eq - 1), eq + 1);
		O.ep = xreallocarray(O.ep, O.nep + 1, sizeof *O.ep);
		char *name = O.ep[O.nep].name = xstrndup(p, (size_t)(eq - p));
		if (find_ep(name) >= 0)
			qa_die(QA_EXIT_USAGE, "--split: %s is named twice", name);
		O.ep[O.nep++] = (struct ep){ .name = name, .split = w, .weight = w };
		sum += w;
		if (!p[n])
			break;
		p += n + 1;
	}
	if (O.nep < 2)
		qa_die(QA_EXIT_USAGE, "--split: needs two or more endpoints");
	if (sum != NBUCKETS) {
		add_pct(&R.tmp, sum);
		qa_die(QA_EXIT_USAGE, "--split: weights sum to %s, not 100", buf_cstr(&R.tmp));
	}
}

static void parse_rule(const char *arg)
{
	static const char sep[] = ":endpoint=";
	const char *at = NULL;
	for (const char *s = strstr(arg, sep); s; s = strstr(s + 1, sep))
		at = s;
	if (!at || !at[sizeof sep - 1])
		qa_die(QA_EXIT_USAGE, "--rule '%s': not FIELD=VALUE:endpoint=NAME or "
		    "FIELD~REGEX:endpoint=NAME", arg);
	size_t fl = strcspn(arg, "=~");
	if (fl == 0 || arg + fl >= at)
		qa_die(QA_EXIT_USAGE, "--rule '%s': no FIELD=VALUE or FIELD~REGEX before :endpoint=", arg);
	/* In O.rules before anything can fail, so that nothing leaks on the way out. */
	O.rules = xreallocarray(O.rules, O.nrules + 1, sizeof *O.rules);
	struct rule *r = &O.rules[O.nrules++];
	memset(r, 0, sizeof *r);
	r->text = xstrdup(arg);
	r->field = xstrndup(arg, fl);
	r->endpoint = xstrdup(at + sizeof sep - 1);
	r->value = xstrndup(arg + fl + 1, (size_t)(at - arg - fl - 1));
	if (arg[fl] == '~') {
		char err[256];
		r->re = regex_new(r->value, err, sizeof err);
		if (!r->re)
			qa_die(QA_EXIT_USAGE, "--rule '%s': %s", arg, err);
		xfree(&r->value);
	}
}

static void parse_fallback(const char *arg, char ***names, size_t *nnames)
{
	const char *p = arg;
	buf_addc(&O.fallback, '[');
	for (;;) {
		size_t n = strcspn(p, ",");
		if (n == 0)
			qa_die(QA_EXIT_USAGE, "--fallback: an empty endpoint name in '%s'", arg);
		if (*nnames)
			buf_addc(&O.fallback, ',');
		buf_json_string(&O.fallback, p, n);
		*names = xreallocarray(*names, *nnames + 1, sizeof **names);
		(*names)[(*nnames)++] = xstrndup(p, n);
		if (!p[n])
			break;
		p += n + 1;
	}
	buf_addc(&O.fallback, ']');
}

/*
 * The stage: "N" counts from 1 in the plan, "P%" names a weight in it, 0 (or
 * 0%) is the rollback.  Returns the candidate's weight; *stage is its number.
 */
static long stage_weight(const char *plan, const char *arg, long *stage)
{
	long w[64], n = 0;
	const char *p = plan, *prev = NULL;
	size_t prevlen = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		if (n == 64)
			qa_die(QA_EXIT_USAGE, "--plan: more than 64 stages");
		if ((w[n++] = parse_pct(p, len)) < 0)
			qa_die(QA_EXIT_USAGE, "--plan: '%.*s' is not a weight between 0 and 100 with up "
			    "to 2 decimals", (int)len, p);
		/* A rollout only goes up; going back is --stage 0 (or an earlier stage). */
		if (n > 1 && w[n - 1] < w[n - 2])
			qa_die(QA_EXIT_USAGE, "--plan %s: stage %ld (%.*s%%) is below stage %ld (%.*s%%): a "
			    "plan only goes up (roll back with --stage)", plan, n, (int)len, p, n - 1,
			    (int)prevlen, prev);
		prev = p;
		prevlen = len;
		if (!p[len])
			break;
		p += len + 1;
	}
	size_t al = strlen(arg);
	if (al > 1 && arg[al - 1] == '%') {
		long v = parse_pct(arg, al - 1);
		if (v == 0) {
			*stage = 0;
			return 0;
		}
		for (long i = 0; v > 0 && i < n; i++)
			if (w[i] == v) {
				*stage = i + 1;
				return v;
			}
		qa_die(QA_EXIT_USAGE, "--stage %s: not a weight in the plan %s", arg, plan);
	}
	long s;
	if (parse_long(arg, 0, n, &s) < 0)
		qa_die(QA_EXIT_USAGE, "--stage %s: not a stage of the plan %s (0 to %ld, or a weight "
		    "in it with %%)", arg, plan, n);
	*stage = s;
	return s ? w[s - 1] : 0;
}

/*
 * The candidate gets cw; the rest is shared among the others in proportion
 * to their --split weights (all to the first other when those are all 0),
 * each one's boundary rounded down: other k's cumulative share is
 * floor(rest * (sum of split weights of others 1..k) / (sum over all others)).
 */
static void apply_stage(long cw)
{
	long rest = NBUCKETS - cw, total = 0, cum = 0, prev = 0;
	for (size_t i = 0; i < O.nep; i++)
		if (i != O.cand_ep)
			total += O.ep[i].split;
	int first = 1;
	for (size_t i = 0; i < O.nep; i++) {
		if (i == O.cand_ep) {
			O.ep[i].weight = cw;
			continue;
		}
		long share;
		if (total == 0) {
			share = first ? rest : 0;
		} else {
			cum += O.ep[i].split;
			long upto = (long)((long long)rest * cum / total);
			share = upto - prev;
			prev = upto;
		}
		O.ep[i].weight = share;
		first = 0;
	}
}

/* The candidate at the bottom, [0, w); the others from the top down, in --split order. */
static void lay_out(void)
{
	struct ep *c = &O.ep[O.cand_ep];
	c->lo = 0;
	c->hi = c->weight;
	long top = NBUCKETS;
	for (size_t i = 0; i < O.nep; i++) {
		if (i == O.cand_ep)
			continue;
		O.ep[i].hi = top;
		O.ep[i].lo = top - O.ep[i].weight;
		top = O.ep[i].lo;
	}
}

/* ---- records ---- */

/* A top-level string or number's text: unescaped, or the number as written. */
static const char *scalar_text(const qa_json *j, int tok, size_t *n)
{
	if (tok < 0)
		return NULL;
	switch (json_type(j, tok)) {
	case QA_STRING:
		return json_str(j, tok, n);
	case QA_NUMBER:
		return json_raw(j, tok, n);
	default:
		return NULL;
	}
}

static int rule_matches(const struct rule *r, const qa_json *j)
{
	size_t n;
	const char *s = scalar_text(j, json_member(j, 0, r->field, strlen(r->field)), &n);
	if (!s)
		return 0;
	if (r->value)
		return n == strlen(r->value) && memcmp(s, r->value, n) == 0;
	/*
	 * re.search: substituting a byte that valid UTF-8 never holds for every
	 * match (empty ones too) changes the text exactly when something matched.
	 */
	R.tmp.len = 0;
	regex_sub(r->re, &R.tmp, s, n, "\xff", 1);
	return R.tmp.len != n || memcmp(R.tmp.p, s, n) != 0;
}

/* rule is JSON text. */
static void route_json(qa_buf *b, long bucket, const struct ep *e, const char *rule)
{
	buf_adds(b, "{\"bucket\":");
	if (bucket >= 0)
		add_long(b, bucket);
	else
		buf_adds(b, "null");
	buf_adds(b, ",\"weight\":");
	if (e)
		add_pct(b, e->weight);
	else
		buf_adds(b, "null");
	buf_adds(b, ",\"stage\":");
	if (O.stage_n >= 0)
		add_long(b, O.stage_n);
	else
		buf_adds(b, "null");
	buf_adds(b, ",\"rule\":");
	buf_adds(b, rule);
	buf_addc(b, '}');
}

static void route_record(void *arg, const char *file, unsigned long lineno, const char *line, size_t len)
{
	(void)arg;
	qa_json *j = R.j;
	char msg[160];
	int rc;

	qa_set_where(file, lineno);
	if ((rc = record_parse(j, line, len, msg, sizeof msg)) > 0)
		return;
	if (rc < 0) {
		qa_warn_at(file, lineno, "%s", msg);
		status_raise(QA_EXIT_DATA);
		bad_record(&R.out, file, lineno, line, len, msg);
		buf_addc(&R.out, '\n');
		return;
	}

	const struct rule *rule = NULL;
	for (size_t i = 0; i < O.nrules && !rule; i++)
		if (rule_matches(&O.rules[i], j))
			rule = &O.rules[i];

	long bucket = -1;
	if (!rule || O.mirror) {
		size_t kn;
		int kt = json_member(j, 0, O.key, O.keylen);
		/* A number by its value, as qa-diff joins ids: 1, 1.0 and 1e0 are one key. */
		const char *k = json_type(j, kt) == QA_NUMBER ? json_num_key(j, kt, &R.numkey, &kn) :
		    scalar_text(j, kt, &kn);
		char num[32];
		if (!k) {
			kn = (size_t)snprintf(num, sizeof num, "%lu", lineno);
			k = num;
			if (R.nokey++ == 0) {
				R.nokey_file = xstrdup(file);
				R.nokey_line = lineno;
			}
		}
		bucket = bucket_of(k, kn);
	}

	qa_field f[4];
	size_t nf = 0;
	R.val.len = 0;
	const struct ep *e = NULL;
	const char *epname;
	size_t epjson_start = 0;
	if (rule) {
		epname = rule->endpoint;
		buf_json_string(&R.val, epname, strlen(epname));
	} else {
		for (size_t i = 0; i < O.nep; i++)
			if (bucket >= O.ep[i].lo && bucket < O.ep[i].hi)
				e = &O.ep[i];
		size_t i = (size_t)(e - O.ep);
		buf_add(&R.val, O.ep_json[i].p, O.ep_json[i].len);
	}
	size_t eplen = R.val.len;
	size_t route_start = R.val.len;
	if (rule)
		route_json(&R.val, -1, NULL, rule->route);
	else
		route_json(&R.val, bucket, e, "\"split\"");
	f[nf++] = (qa_field){ "endpoint", R.val.p + epjson_start, eplen };
	if (O.fallback.len)
		f[nf++] = (qa_field){ "fallback", O.fallback.p, O.fallback.len };
	f[nf++] = (qa_field){ "route", R.val.p + route_start, R.val.len - route_start };
	splice_record(&R.out, j, line, len, f, nf);
	buf_addc(&R.out, '\n');

	if (O.mirror) {
		R.val.len = 0;
		buf_json_string(&R.val, O.mirror, strlen(O.mirror));
		eplen = R.val.len;
		route_json(&R.val, bucket, NULL, "\"mirror\"");
		nf = 0;
		f[nf++] = (qa_field){ "endpoint", R.val.p, eplen };
		f[nf++] = (qa_field){ "fallback", NULL, 0 };
		f[nf++] = (qa_field){ "route", R.val.p + eplen, R.val.len - eplen };
		f[nf++] = (qa_field){ "mirror", "true", 4 };
		splice_record(&R.out, j, line, len, f, nf);
		buf_addc(&R.out, '\n');
	}
}

static void route_file(const char *path)
{
	lines_each(path, route_record, NULL, &R.out);
}

static void check_known(qa_config *c, const char *what, const char *name)
{
	if (!config_endpoint(c, name)) {
		qa_warn("%s: endpoint %s is not in %s", what, name, c->path ? c->path : "the config");
		config_free(c);
		exit(QA_EXIT_USAGE);
	}
}

/* ---- the command line (lib/opt.c) ---- */

static void split_opt(const struct qa_opt *o, const char *arg)
{
	*(const char **)o->target = arg;
	parse_split(arg);
}

static void key_opt(const char *arg)
{
	if (!*arg)
		qa_die(QA_EXIT_USAGE, "--key: an empty field name");
	O.key = arg;
}

static void mirror_opt(const char *arg)
{
	if (!*arg)
		qa_die(QA_EXIT_USAGE, "--mirror: an empty endpoint name");
	free(O.mirror);
	O.mirror = xstrdup(arg);
}

static void fallback_opt(const char *arg)
{
	parse_fallback(arg, &O.fb, &O.nfb);
}

static const struct qa_opt rows[] = {
	QA_ROW(QA_OPT_CALL, "split", 'S', "LIST", "endpoints and weights in percent (up to 2 decimals,\n"
	    "summing to 100): old=90,new=10", &O.split, .call = split_opt, .flags = QA_OPT_ONCE),
	QA_ROW(QA_OPT_CALL, "key", 'k', "FIELD", "top-level field that keeps a record sticky (default id);\n"
	    "a number by its value: 1, 1.0 and 1e0 are one key", NULL, .set = key_opt),
	QA_ROW(QA_OPT_STRING, "salt", 's', "TEXT", "salt of the bucket hash (default qa)", &O.salt),
	QA_ROW(QA_OPT_STRING, "candidate", 'c', "NAME", "the endpoint being ramped up (default: the last in --split)",
	    &O.cand),
	QA_ROW(QA_OPT_STRING, "plan", 'p', "LIST", "the candidate's weight at each stage, never going\n"
	    "down: 10,30,60,100", &O.plan),
	QA_ROW(QA_OPT_STRING, "stage", 't', "N", "stage of the plan to apply: 1..N, N% (a weight in the\n"
	    "plan), or 0 (rollback: candidate weight 0)", &O.stage),
	QA_ROW(QA_OPT_CALL, "rule", 'r', "RULE", "FIELD=VALUE:endpoint=NAME or FIELD~REGEX:endpoint=NAME,\n"
	    "tried before the split, first match wins (repeatable)", NULL, .set = parse_rule),
	QA_ROW(QA_OPT_CALL, "mirror", 'm', "NAME", "after each record, emit a copy marked \"mirror\":true\n"
	    "sent to NAME", NULL, .set = mirror_opt),
	QA_ROW(QA_OPT_CALL, "fallback", 'F', "LIST", "set \"fallback\" to these endpoints on every record", NULL,
	    .set = fallback_opt, .flags = QA_OPT_ONCE),
	QA_ROW(QA_OPT_STRING, "config", 'C', "FILE", "endpoint config: every endpoint named must be in it\n"
	    "(without it endpoint names are labels)", &O.config),
	QA_END_HELP_VERSION,
};

static const struct qa_opts options = {
	.prog = "qa-route",
	.usage = "usage: qa-route -S name=weight,name=weight... [-k field] [-s salt]\n"
	    "                [-p plan -t stage] [-c name] [-r rule]... [-m endpoint]\n"
	    "                [-F name,...] [-C file] [file ...]\n",
	.opt = rows,
	.col = 24,
	.tail =
	    "bucket = fmix64(FNV-1a-64(salt \":\" key)) mod 10000; the candidate holds\n"
	    "buckets [0, weight*100).  Exit status: 0 all routed, 1 some records carry\n"
	    "errors, 2 usage or configuration error.  See qa-route(1).\n",
};

int main(int argc, char **argv)
{
	qa_tool_init(argv[0]);
	opt_parse(&options, &argc, &argv);
	const char *split = O.split, *cand = O.cand, *plan = O.plan, *stage = O.stage, *config = O.config;

	if (!split)
		qa_die(QA_EXIT_USAGE, "--split is required (try --help)");
	O.keylen = strlen(O.key);
	O.cand_ep = O.nep - 1;
	if (cand) {
		long i = find_ep(cand);
		if (i < 0)
			qa_die(QA_EXIT_USAGE, "--candidate %s: not an endpoint of --split", cand);
		O.cand_ep = (size_t)i;
	}
	if (plan && !stage)
		qa_die(QA_EXIT_USAGE, "--plan needs --stage");
	if (stage && !plan)
		qa_die(QA_EXIT_USAGE, "--stage needs --plan");
	if (stage)
		apply_stage(stage_weight(plan, stage, &O.stage_n));
	lay_out();

	if (config) {
		qa_config cf = { 0 };
		char err[1024];
		if (config_load(&cf, config, err, sizeof err) < 0) {
			config_free(&cf);
			qa_die(QA_EXIT_USAGE, "%s", err);
		}
		for (size_t i = 0; i < O.nep; i++)
			check_known(&cf, "--split", O.ep[i].name);
		for (size_t i = 0; i < O.nrules; i++)
			check_known(&cf, "--rule", O.rules[i].endpoint);
		if (O.mirror)
			check_known(&cf, "--mirror", O.mirror);
		for (size_t i = 0; i < O.nfb; i++)
			check_known(&cf, "--fallback", O.fb[i]);
		config_free(&cf);
	}
	for (size_t i = 0; i < O.nfb; i++)
		free(O.fb[i]);
	xfree(&O.fb);

	O.ep_json = xcalloc(O.nep, sizeof *O.ep_json);
	for (size_t i = 0; i < O.nep; i++)
		buf_json_string(&O.ep_json[i], O.ep[i].name, strlen(O.ep[i].name));
	for (size_t i = 0; i < O.nrules; i++) {
		qa_buf b = { 0 }, t = { 0 };
		buf_printf(&t, "%zu:%s", i + 1, O.rules[i].text);
		buf_json_string(&b, t.p, t.len);
		O.rules[i].route = xstrdup(buf_cstr(&b));
		buf_free(&b);
		buf_free(&t);
	}

	R.j = json_new();
	if (argc == 0)
		route_file("-");
	for (int i = 0; i < argc; i++)
		route_file(argv[i]);
	if (R.nokey)
		qa_warn("%ld record%s no string or number \"%s\" (first at %s:%lu): the line number "
		    "stands in as the key", R.nokey, R.nokey == 1 ? " has" : "s have", O.key,
		    R.nokey_file, R.nokey_line);

	json_free(&R.j);
	buf_free(&R.out);
	buf_free(&R.val);
	buf_free(&R.tmp);
	buf_free(&R.numkey);
	buf_free(&O.fallback);
	for (size_t i = 0; i < O.nep; i++) {
		free(O.ep[i].name);
		buf_free(&O.ep_json[i]);
	}
	free(O.ep);
	free(O.ep_json);
	for (size_t i = 0; i < O.nrules; i++) {
		struct rule *r = &O.rules[i];
		free(r->text);
		free(r->field);
		free(r->value);
		free(r->endpoint);
		free(r->route);
		if (r->re)
			regex_free(r->re);
	}
	free(O.rules);
	free(O.mirror);
	free(R.nokey_file);
	status_exit();
}
