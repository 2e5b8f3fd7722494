/*
 * qa-cost: prices each record from its token usage, reconciles the usage
 * the provider reported, and summarises cost, accuracy and latency per
 * endpoint and model, with a monthly projection and the savings of moving
 * off a baseline.
 *
 *	qa-send ... | qa-score ... | qa-cost --summary --monthly-tokens 500M --baseline base
 */
#include <csv.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qa.h"

static const char usage_text[] =
    "usage: qa-cost [-es] [-p prices] [--config file] [--provider name] [--as-of date]\n"
    "               [file ...]\n"
    "       qa-cost -s [-f json|table|md|csv] [--correct metric] [--exact-latencies n]\n"
    "               [--monthly-tasks n | --monthly-tokens n]\n"
    "               [--baseline endpoint [--migration-cost usd]] [file ...]\n"
    "\n"
    "  -p, --prices FILE       price table: CSV, or LiteLLM's model_prices_and_context_window.json\n"
    "                          (repeatable; default $QA_PRICES, else the installed prices.csv)\n"
    "      --config FILE       endpoint config with per-endpoint price overrides\n"
    "                          (default $QA_CONFIG, else ~/.config/qa/endpoints.conf)\n"
    "      --provider NAME     price only from rows of this provider\n"
    "      --as-of DATE        price as of DATE (YYYY-MM-DD): the newest row dated on or before it\n"
    "  -e, --estimate          estimate tokens (4 bytes a token) when a record has no usage\n"
    "  -s, --summary           per endpoint/model and overall: tasks, errors, retries, tokens,\n"
    "                          cost, cost per 1k tasks and per correct answer, accuracy,\n"
    "                          latency p50/p95/p99, usage mismatches\n"
    "      --correct METRIC    the score that says a task is correct when it is 1\n"
    "                          (default: each record's first score)\n"
    "      --exact-latencies N latencies kept exactly per group before a sketch takes over\n"
    "                          (default 4194304)\n"
    "      --monthly-tasks N   project each endpoint's monthly cost for N tasks (500k, 2M, ...)\n"
    "      --monthly-tokens N  project each endpoint's monthly cost for N tokens (500M, 1B, ...)\n"
    "      --baseline EP       savings per month and year against endpoint EP\n"
    "      --migration-cost USD  one-off cost of switching: adds the payback time\n"
    "  -f, --format FMT        summary format: json (default), table, md or csv\n"
    "  -h, --help              show this help and exit\n"
    "  -V, --version           show the version and exit\n"
    "\n"
    "Cost = tokens x price per million tokens / 1e6, per kind of token.  Exit status:\n"
    "0 all priced, 1 some records carry errors or could not be priced, 2 usage or\n"
    "configuration error.  See qa-cost(1).\n";

#define DEFAULT_EXACT_LATENCIES 4194304L

/* ---- the price table ---- */

struct price {
	char *provider, *model;
	size_t mlen;
	/* NAN where the table leaves it out: cached and cache_write fall back to in, reasoning to out. */
	double in, out, cached, cache_write, reasoning;
	double per;		/* the tokens a price is for: 1e6 (per MTok), or 1 (LiteLLM, per token) */
	char *currency, *date, *source;	/* date NULL when the table has none */
	char *file;
	unsigned long line;
};

static struct price *prices;
static size_t nprices;

static int valid_date(const char *s)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
	return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static struct price *price_add(void)
{
	prices = xreallocarray(prices, nprices + 1, sizeof *prices);
	struct price *p = &prices[nprices++];
	memset(p, 0, sizeof *p);
	p->in = p->out = p->cached = p->cache_write = p->reasoning = NAN;
	return p;
}

/* Two rows for one provider and model are history only when their dates differ. */
static void price_check_duplicate(const struct price *p, const char *file, unsigned long line, int col)
{
	for (size_t i = 0; i + 1 < nprices; i++) {
		const struct price *q = &prices[i];
		if (strcmp(q->provider, p->provider) == 0 && strcmp(q->model, p->model) == 0 &&
		    ((!q->date && !p->date) || (q->date && p->date && strcmp(q->date, p->date) == 0)))
			qa_die(QA_EXIT_USAGE, "%s:%lu:%d: %s/%s is already priced%s%s at %s:%lu", file, line, col,
			    p->provider, p->model, p->date ? " for " : "", p->date ? p->date : "", q->file, q->line);
	}
}

/* CSV, read with libcsv; columns by the names in the header. */
enum { C_PROVIDER, C_MODEL, C_IN, C_OUT, C_CACHED, C_CACHE_WRITE, C_REASONING, C_CURRENCY, C_DATE,
	C_SOURCE, C_NCOLS };
static const char *const col_names[C_NCOLS] = { "provider", "model", "input_per_mtok", "output_per_mtok",
	"cached_input_per_mtok", "cache_write_per_mtok", "reasoning_per_mtok", "currency", "date", "source" };
static const int col_required[C_NCOLS] = { 1, 1, 1, 1, 0, 0, 0, 1, 1, 1 };

struct csv_state {
	const char *file;
	unsigned long line;		/* of the byte being fed */
	unsigned long rec_line;		/* where the current record began */
	int at_record_start;
	char **fields;
	size_t nfields, cap;
	int col[C_NCOLS];		/* header position of each column, -1 when absent */
	size_t ncols;			/* columns in the header */
	int have_header;
};

static void csv_on_field(void *s, size_t len, void *data)
{
	struct csv_state *st = data;
	if (st->nfields == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		st->fields = xreallocarray(st->fields, st->cap, sizeof *st->fields);
	}
	st->fields[st->nfields++] = xstrndup(s ? s : "", s ? len : 0);
}

static QA_NORETURN void csv_fail(struct csv_state *st, int col, const char *fmt, ...) QA_PRINTF(3, 4);
static QA_NORETURN void csv_fail(struct csv_state *st, int col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	qa_die(QA_EXIT_USAGE, "%s:%lu:%d: %s", st->file, st->rec_line, col, msg);
}

static void csv_header(struct csv_state *st)
{
	for (int c = 0; c < C_NCOLS; c++)
		st->col[c] = -1;
	for (size_t i = 0; i < st->nfields; i++) {
		int c = 0;
		while (c < C_NCOLS && strcmp(st->fields[i], col_names[c]) != 0)
			c++;
		if (c == C_NCOLS)
			csv_fail(st, (int)i + 1, "unknown column '%s' (the columns are provider, model, "
			    "input_per_mtok, output_per_mtok, cached_input_per_mtok, cache_write_per_mtok, "
			    "reasoning_per_mtok, currency, date, source)", st->fields[i]);
		if (st->col[c] >= 0)
			csv_fail(st, (int)i + 1, "column '%s' appears twice", col_names[c]);
		st->col[c] = (int)i;
	}
	for (int c = 0; c < C_NCOLS; c++)
		if (col_required[c] && st->col[c] < 0)
			csv_fail(st, (int)st->nfields + 1, "the header has no '%s' column", col_names[c]);
	st->ncols = st->nfields;
	st->have_header = 1;
}

static double csv_price(struct csv_state *st, int c)
{
	const char *s = st->fields[st->col[c]];
	double v;
	if (!*s) {
		if (col_required[c])
			csv_fail(st, st->col[c] + 1, "%s is empty", col_names[c]);
		return NAN;
	}
	if (parse_double(s, 0, 1e9, &v) < 0)
		csv_fail(st, st->col[c] + 1, "%s: '%s' is not a price (a number from 0 to 1e9)", col_names[c], s);
	return v;
}

static void csv_on_record(int term, void *data)
{
	struct csv_state *st = data;
	(void)term;
	st->at_record_start = 1;
	if (!st->have_header) {
		csv_header(st);
	} else {
		if (st->nfields != st->ncols)
			csv_fail(st, (int)(st->nfields < st->ncols ? st->nfields : st->ncols) + 1,
			    "%zu field%s, but the header has %zu", st->nfields, st->nfields == 1 ? "" : "s", st->ncols);
		struct price *p = price_add();
		const char *text[C_NCOLS];
		for (int c = 0; c < C_NCOLS; c++) {
			text[c] = st->col[c] >= 0 ? st->fields[st->col[c]] : "";
			if (col_required[c] && c != C_IN && c != C_OUT && !*text[c])
				csv_fail(st, st->col[c] + 1, "%s is empty", col_names[c]);
		}
		p->in = csv_price(st, C_IN);
		p->out = csv_price(st, C_OUT);
		if (st->col[C_CACHED] >= 0)
			p->cached = csv_price(st, C_CACHED);
		if (st->col[C_CACHE_WRITE] >= 0)
			p->cache_write = csv_price(st, C_CACHE_WRITE);
		if (st->col[C_REASONING] >= 0)
			p->reasoning = csv_price(st, C_REASONING);
		if (!valid_date(text[C_DATE]))
			csv_fail(st, st->col[C_DATE] + 1, "date: '%s' is not YYYY-MM-DD", text[C_DATE]);
		p->provider = xstrdup(text[C_PROVIDER]);
		p->model = xstrdup(text[C_MODEL]);
		p->mlen = strlen(p->model);
		p->currency = xstrdup(text[C_CURRENCY]);
		p->date = xstrdup(text[C_DATE]);
		p->source = xstrdup(text[C_SOURCE]);
		p->per = 1e6;
		p->file = xstrdup(st->file);
		p->line = st->rec_line;
		price_check_duplicate(p, st->file, st->rec_line, st->col[C_DATE] + 1);
	}
	for (size_t i = 0; i < st->nfields; i++)
		free(st->fields[i]);
	st->nfields = 0;
}

static void load_csv(const char *path, const char *text, size_t len)
{
	struct csv_parser p;
	struct csv_state st = { .file = path, .line = 1, .rec_line = 1, .at_record_start = 1 };
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		qa_die(QA_EXIT_USAGE, "%s: cannot start the CSV parser", path);
	/* Byte by byte, so every message can say where: price tables are small. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (st.at_record_start && c != '\n' && c != '\r') {
			st.at_record_start = 0;
			st.rec_line = st.line;
		}
		if (csv_parse(&p, text + i, 1, csv_on_field, csv_on_record, &st) != 1) {
			st.rec_line = st.line;
			csv_fail(&st, (int)st.nfields + 1, "%s", csv_error(&p) == CSV_EPARSE ?
			    "malformed CSV: a quote inside an unquoted field, or text after a closing quote" :
			    csv_strerror(csv_error(&p)));
		}
		if (c == '\n')
			st.line++;
	}
	if (csv_fini(&p, csv_on_field, csv_on_record, &st) != 0)
		csv_fail(&st, (int)st.nfields + 1, "unterminated quoted field");
	csv_free(&p);
	if (!st.have_header)
		qa_die(QA_EXIT_USAGE, "%s:1:1: empty price table: no header", path);
	free(st.fields);
}

/* Line and column (1-based, in bytes) of an offset into text. */
static void text_position(const char *text, size_t off, unsigned long *line, unsigned long *col)
{
	*line = 1;
	size_t start = 0;
	for (size_t i = 0; i < off; i++)
		if (text[i] == '\n') {
			(*line)++;
			start = i + 1;
		}
	*col = off - start + 1;
}

/* LiteLLM's model_prices_and_context_window.json: per-token prices, keyed by model. */
static void load_litellm(const char *path, const char *text, size_t len)
{
	static const struct {
		const char *key;
		size_t off;
	} fields[] = {
		{ "input_cost_per_token", offsetof(struct price, in) },
		{ "output_cost_per_token", offsetof(struct price, out) },
		{ "cache_read_input_token_cost", offsetof(struct price, cached) },
		{ "cache_creation_input_token_cost", offsetof(struct price, cache_write) },
		{ "output_cost_per_reasoning_token", offsetof(struct price, reasoning) },
	};
	qa_json *j = json_new();
	const char *err;
	size_t off;
	unsigned long line, col;
	if (json_parse(j, text, len, &err, &off) < 0) {
		text_position(text, off, &line, &col);
		qa_die(QA_EXIT_USAGE, "%s:%lu:%lu: not JSON: %s", path, line, col, err);
	}
	if (json_type(j, 0) != QA_OBJECT)
		qa_die(QA_EXIT_USAGE, "%s:1:1: a LiteLLM price map is an object keyed by model", path);
	for (size_t i = 0; i < json_count(j, 0); i++) {
		int k = json_key_at(j, 0, i), v = k + 1;
		size_t klen;
		const char *name = json_str(j, k, &klen);
		if (json_str_eq(j, k, "sample_spec", 11) || json_type(j, v) != QA_OBJECT || !klen ||
		    memchr(name, '\0', klen))
			continue;
		double val[5];
		int any = 0;
		for (size_t f = 0; f < 5; f++) {
			int t = json_member(j, v, fields[f].key, strlen(fields[f].key));
			val[f] = NAN;
			if (t < 0 || json_type(j, t) == QA_NULL)
				continue;
			if (json_type(j, t) != QA_NUMBER || json_num(j, t, &val[f]) < 0 || !isfinite(val[f]) ||
			    val[f] < 0) {
				text_position(text, json_start(j, t), &line, &col);
				qa_die(QA_EXIT_USAGE, "%s:%lu:%lu: %s of %s is not a price (a number, 0 or more)",
				    path, line, col, fields[f].key, name);
			}
			if (f < 2)
				any = 1;
		}
		if (!any)
			continue;	/* priced per image, per second, ...: not by the token */
		text_position(text, json_start(j, k), &line, &col);
		struct price *p = price_add();
		for (size_t f = 0; f < 5; f++)
			*(double *)((char *)p + fields[f].off) = val[f];
		if (isnan(p->in))
			p->in = 0;
		if (isnan(p->out))
			p->out = 0;
		size_t plen;
		const char *prov = json_str(j, json_member(j, v, "litellm_provider", 16), &plen);
		p->provider = xstrdup(prov && plen && !memchr(prov, '\0', plen) ? prov : "litellm");
		p->model = xstrndup(name, klen);
		p->mlen = klen;
		p->currency = xstrdup("USD");
		p->source = xstrdup("LiteLLM model_prices_and_context_window.json");
		p->per = 1;
		p->file = xstrdup(path);
		p->line = line;
		price_check_duplicate(p, path, line, (int)col);
	}
	json_free(&j);
}

static void load_prices(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		qa_die(QA_EXIT_USAGE, "%s: %s", path, strerror(errno));
	qa_buf b = { 0 };
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(f))
		qa_die(QA_EXIT_USAGE, "%s: read error: %s", path, strerror(errno));
	fclose(f);
	buf_cstr(&b);
	size_t lead = 0;
	while (lead < b.len && strchr(" \t\r\n", b.p[lead]))
		lead++;
	size_t plen = strlen(path);
	if ((plen > 5 && strcmp(path + plen - 5, ".json") == 0) || (lead < b.len && b.p[lead] == '{'))
		load_litellm(path, b.p ? b.p : "", b.len);
	else
		load_csv(path, b.p ? b.p : "", b.len);
	buf_free(&b);
}

static int file_exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/*
 * No --prices: $QA_PRICES, else the installed table beside the executable
 * (bin/../share/qa/prices.csv), else the build tree's (build/bin/../../pipelines).
 */
static char *default_prices(qa_buf *searched)
{
	const char *env = getenv("QA_PRICES");
	if (env && *env)
		return xstrdup(env);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	const char *tries[3] = { NULL, NULL, NULL };
	char a[PATH_MAX + 64], b[PATH_MAX + 64];
#ifdef QA_DATADIR
	tries[2] = QA_DATADIR "/prices.csv";
#endif
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(a, sizeof a, "%s/../share/qa/prices.csv", exe);
			snprintf(b, sizeof b, "%s/../../pipelines/prices.csv", exe);
			tries[0] = a;
			tries[1] = b;
		}
	}
	for (int i = 0; i < 3; i++) {
		if (!tries[i])
			continue;
		if (file_exists(tries[i]))
			return xstrdup(tries[i]);
		buf_printf(searched, "%s%s", searched->len ? ", " : "", tries[i]);
	}
	return NULL;
}

/* ---- looking a price up: exact name, else the longest name that prefixes it ---- */

/* What one record is priced with: a table row, maybe overridden by the endpoint config. */
struct rprice {
	double in, out, cached, cache_write, reasoning, per;
	char *currency;
	char *label;		/* "provider/model@date", or "config[endpoint]" */
	char *currency_json, *label_json;
};

struct opts {
	const char *provider;	/* --provider */
	const char *as_of;	/* --as-of */
	const char *correct;	/* --correct */
	int estimate, summary;
	long exact_max;
	double monthly_tasks, monthly_tokens;	/* NAN when not given */
	const char *baseline;
	double migration_cost;	/* NAN when not given */
	const char *format;
};

static struct opts O = { .exact_max = DEFAULT_EXACT_LATENCIES, .format = "json" };
static qa_config config;

/* May this row price anything: from the provider wanted (or any, prov NULL), dated by --as-of? */
static int applicable(const struct price *p, const char *prov)
{
	if (prov && strcmp(p->provider, prov) != 0)
		return 0;
	if (O.as_of && p->date && strcmp(p->date, O.as_of) > 0)
		return 0;
	return 1;
}

static const struct price *find_row(const char *model, size_t mlen, const char *prov)
{
	const struct price *best = NULL;
	size_t best_rank = 0;
	for (size_t i = 0; i < nprices; i++) {
		const struct price *p = &prices[i];
		size_t rank;
		if (p->mlen == mlen && memcmp(p->model, model, mlen) == 0)
			rank = SIZE_MAX;
		else if (p->mlen < mlen && memcmp(p->model, model, p->mlen) == 0)
			rank = p->mlen;
		else
			continue;
		if (!applicable(p, prov))
			continue;
		if (!best || rank > best_rank) {
			best = p;
			best_rank = rank;
			continue;
		}
		/* The same name twice: the newer row of one provider, else the first row. */
		if (rank == best_rank && strcmp(p->provider, best->provider) == 0 &&
		    strcmp(p->model, best->model) == 0 && p->date && (!best->date || strcmp(p->date, best->date) > 0))
			best = p;
	}
	return best;
}

static char *json_string_new(const char *s)
{
	qa_buf b = { 0 };
	buf_json_string(&b, s, strlen(s));
	return (char *)buf_cstr(&b);
}

/*
 * The provider preference: --provider (strict), else the endpoint config's
 * provider when it has a matching row, else every row.
 */
static struct rprice *resolve(const char *endpoint, const char *model, size_t mlen)
{
	const qa_endpoint_conf *ep = endpoint ? config_endpoint(&config, endpoint) : NULL;
	const struct price *row = NULL;
	if (O.provider)
		row = find_row(model, mlen, O.provider);
	else {
		if (ep && ep->provider)
			row = find_row(model, mlen, ep->provider);
		if (!row)
			row = find_row(model, mlen, NULL);
	}
	int override = ep && (!isnan(ep->input_per_mtok) || !isnan(ep->output_per_mtok) ||
	    !isnan(ep->cached_input_per_mtok) || !isnan(ep->reasoning_per_mtok));
	if (!row && !(override && !isnan(ep->input_per_mtok) && !isnan(ep->output_per_mtok)))
		return NULL;

	struct rprice *r = xcalloc(1, sizeof *r);
	qa_buf label = { 0 };
	if (row) {
		r->in = row->in;
		r->out = row->out;
		r->cached = row->cached;
		r->cache_write = row->cache_write;
		r->reasoning = row->reasoning;
		r->per = row->per;
		r->currency = xstrdup(row->currency);
		buf_printf(&label, "%s/%s%s%s", row->provider, row->model, row->date ? "@" : "",
		    row->date ? row->date : "");
	} else {
		r->cached = r->cache_write = r->reasoning = NAN;
		r->per = 1e6;
		r->currency = xstrdup("USD");
	}
	if (override) {
		/* The config prices per MTok: a per-token row is brought to the same scale first. */
		double k = 1e6 / r->per;
		r->in *= k, r->out *= k, r->cached *= k, r->cache_write *= k, r->reasoning *= k;
		r->per = 1e6;
		if (!isnan(ep->input_per_mtok))
			r->in = ep->input_per_mtok;
		if (!isnan(ep->output_per_mtok))
			r->out = ep->output_per_mtok;
		if (!isnan(ep->cached_input_per_mtok))
			r->cached = ep->cached_input_per_mtok;
		if (!isnan(ep->reasoning_per_mtok))
			r->reasoning = ep->reasoning_per_mtok;
		buf_printf(&label, "%sconfig[%s]", label.len ? "+" : "", endpoint);
	}
	if (isnan(r->cached))
		r->cached = r->in;
	if (isnan(r->cache_write))
		r->cache_write = r->in;
	if (isnan(r->reasoning))
		r->reasoning = r->out;
	r->label = (char *)buf_cstr(&label);
	r->currency_json = json_string_new(r->currency);
	r->label_json = json_string_new(r->label);
	return r;
}

static void rprice_free(struct rprice *r)
{
	if (!r)
		return;
	free(r->currency);
	free(r->label);
	free(r->currency_json);
	free(r->label_json);
	free(r);
}

/* Endpoint and model to resolved price: a bounded open-addressing cache. */
#define CACHE_SIZE 4096
struct centry {
	char *key;	/* endpoint NUL model */
	size_t klen;
	struct rprice *price;	/* NULL: no price */
};
static struct centry cache[CACHE_SIZE];
static size_t cache_used;
static struct rprice **spill;
static size_t nspill;
static struct rprice *overflow;

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/*
 * NULL when the model has no price.  What it returns stays valid to the end
 * of the run, except past the cache's size without --summary: to the next call.
 */
static struct rprice *lookup(const char *endpoint, const char *model, size_t mlen, qa_buf *scratch)
{
	scratch->len = 0;
	if (endpoint)
		buf_adds(scratch, endpoint);
	buf_addc(scratch, '\0');	/* neither name holds a NUL, and an endpoint is never empty */
	buf_add(scratch, model, mlen);
	uint64_t h = hash_bytes(scratch->p, scratch->len);
	size_t i = (size_t)h & (CACHE_SIZE - 1);
	while (cache[i].key) {
		if (cache[i].klen == scratch->len && memcmp(cache[i].key, scratch->p, scratch->len) == 0)
			return cache[i].price;
		i = (i + 1) & (CACHE_SIZE - 1);
	}
	struct rprice *r = resolve(endpoint, model, mlen);
	if (cache_used < CACHE_SIZE / 2) {
		cache[i].key = xstrndup(scratch->p, scratch->len);
		cache[i].klen = scratch->len;
		cache[i].price = r;
		cache_used++;
	} else if (r && O.summary) {
		/* Past the cache's size each miss resolves afresh; the summary's groups point into it. */
		spill = xreallocarray(spill, nspill + 1, sizeof *spill);
		spill[nspill++] = r;
	} else if (r) {
		/* Without a summary nothing keeps it past the record: memory stays flat. */
		rprice_free(overflow);
		overflow = r;
	}
	return r;
}


/* ---- reading records: the members we use, found in one pass ---- */

/*
 * Sets val[i] to the value of member keys[i] of obj (-1 when absent; the
 * last one when a key repeats, as json_member does).  Keys are compared as
 * written, and through json_str_eq when they hold an escape.  Returns the
 * last member's value, or -1.
 */
static int members(const qa_json *j, int obj, const char *const *keys, const size_t *klen, size_t nkeys,
    int *val)
{
	int last = -1;
	for (size_t i = 0; i < nkeys; i++)
		val[i] = -1;
	if (json_type(j, obj) != QA_OBJECT)
		return -1;
	size_t n = json_count(j, obj);
	int k = obj + 1;
	for (size_t m = 0; m < n; m++, k = json_next(j, k + 1)) {
		last = k + 1;
		size_t len;
		const char *raw = json_raw(j, k, &len);
		raw++;
		len -= 2;
		int escaped = 0;
		for (size_t i = 0; i < len && !escaped; i++)	/* keys are short: no call to memchr */
			escaped = raw[i] == '\\';
		for (size_t i = 0; i < nkeys; i++)
			if (escaped ? json_str_eq(j, k, keys[i], klen[i]) :
			    (len == klen[i] && raw[0] == keys[i][0] && memcmp(raw, keys[i], len) == 0)) {
				val[i] = k + 1;
				break;
			}
	}
	return last;
}

/* ---- usage: what the provider reported ---- */

struct usage {
	int style;		/* 0 none, 1 OpenAI, 2 Anthropic */
	double prompt, completion, total, cached, reasoning;	/* OpenAI */
	double input, output, cache_read, cache_write;		/* Anthropic */
	int has_total;
};

/*
 * A token count: 0 when absent or null, 1 with *out set, -1 with a message
 * in err when it is not a whole number of tokens, 0 or more.
 */
static int count_of(qa_json *j, int t, const char *path, const char *key, double *out, qa_buf *err)
{
	*out = 0;
	if (t < 0 || json_type(j, t) == QA_NULL)
		return 0;
	size_t len;
	const char *raw = json_raw(j, t, &len);
	if (json_type(j, t) == QA_NUMBER && len <= 15) {
		/* The usual case, digits only, without strtod. */
		double v = 0;
		size_t i = 0;
		while (i < len && raw[i] >= '0' && raw[i] <= '9')
			v = v * 10 + (raw[i++] - '0');
		if (i == len) {
			*out = v;
			return 1;
		}
	}
	double v;
	if (json_type(j, t) != QA_NUMBER || json_num(j, t, &v) < 0) {
		buf_printf(err, "%s.%s is %.*s, not a token count", path, key, (int)(len > 40 ? 40 : len), raw);
		return -1;
	}
	if (!(v >= 0) || v != floor(v) || v > 9007199254740992.0) {
		buf_printf(err, "%s.%s is %.*s, not a token count (a whole number, 0 or more)", path, key,
		    (int)(len > 40 ? 40 : len), raw);
		return -1;
	}
	*out = v;
	return 1;
}

/* 0 read (u->style 0 when there is no usage), -1 with a message in err. */
static int read_usage(qa_json *j, int usage, struct usage *u, qa_buf *err)
{
	enum { PT, CT, TT, PD, CD, IT, OT, CR, CW };
	static const char *const keys[] = { "prompt_tokens", "completion_tokens", "total_tokens",
		"prompt_tokens_details", "completion_tokens_details", "input_tokens", "output_tokens",
		"cache_read_input_tokens", "cache_creation_input_tokens" };
	static const size_t klen[] = { 13, 17, 12, 21, 25, 12, 13, 23, 27 };
	int m[9];
	const char *U = "response.usage";

	memset(u, 0, sizeof *u);
	if (usage < 0 || json_type(j, usage) == QA_NULL)
		return 0;
	if (json_type(j, usage) != QA_OBJECT) {
		buf_adds(err, "response.usage is not an object");
		return -1;
	}
	members(j, usage, keys, klen, 9, m);
	if (m[PT] >= 0 || m[CT] >= 0) {
		u->style = 1;
		if (count_of(j, m[PT], U, "prompt_tokens", &u->prompt, err) < 0 ||
		    count_of(j, m[CT], U, "completion_tokens", &u->completion, err) < 0)
			return -1;
		int t = count_of(j, m[TT], U, "total_tokens", &u->total, err);
		if (t < 0)
			return -1;
		u->has_total = t == 1;
		if (json_type(j, m[PD]) == QA_OBJECT &&
		    count_of(j, json_member(j, m[PD], "cached_tokens", 13), "response.usage.prompt_tokens_details",
		    "cached_tokens", &u->cached, err) < 0)
			return -1;
		if (json_type(j, m[CD]) == QA_OBJECT &&
		    count_of(j, json_member(j, m[CD], "reasoning_tokens", 16),
		    "response.usage.completion_tokens_details", "reasoning_tokens", &u->reasoning, err) < 0)
			return -1;
	} else if (m[IT] >= 0 || m[OT] >= 0) {
		u->style = 2;
		if (count_of(j, m[IT], U, "input_tokens", &u->input, err) < 0 ||
		    count_of(j, m[OT], U, "output_tokens", &u->output, err) < 0 ||
		    count_of(j, m[CR], U, "cache_read_input_tokens", &u->cache_read, err) < 0 ||
		    count_of(j, m[CW], U, "cache_creation_input_tokens", &u->cache_write, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- the summary: per endpoint and model, and overall ---- */

/* DDSketch-style log buckets: every value within 0.5% of the bucket's estimate. */
#define SK_ALPHA 0.005
#define SK_MIN 1e-3
#define SK_BUCKETS 2400

/* Latencies are kept to the microsecond, 4 bytes each: up to 4294967.295 ms (71 minutes). */
struct lat {
	uint32_t *v;
	size_t n, cap;
	uint64_t *sk;		/* non-NULL once the sketch has taken over */
	uint64_t skn;
};

static double sk_gamma, sk_lngamma;

static void sk_add(struct lat *l, double x)
{
	size_t i = 0;
	if (x > SK_MIN) {
		double idx = ceil(log(x / SK_MIN) / sk_lngamma);
		i = idx >= SK_BUCKETS - 1 ? SK_BUCKETS - 1 : (size_t)idx;
	}
	l->sk[i]++;
	l->skn++;
}

static void lat_add(struct lat *l, double x)
{
	if (l->sk) {
		sk_add(l, x);
		return;
	}
	if (l->n == (size_t)O.exact_max) {
		l->sk = xcalloc(SK_BUCKETS, sizeof *l->sk);
		for (size_t i = 0; i < l->n; i++)
			sk_add(l, l->v[i] / 1000.0);
		xfree(&l->v);
		l->n = l->cap = 0;
		sk_add(l, x);
		return;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		if (l->cap > (size_t)O.exact_max)
			l->cap = (size_t)O.exact_max;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	double us = nearbyint(x * 1000);
	l->v[l->n++] = us >= 4294967295.0 ? UINT32_MAX : (uint32_t)us;
}

static uint64_t lat_count(const struct lat *l)
{
	return l->sk ? l->skn : l->n;
}

/* Nearest-rank percentile from the sketch: the bucket's midpoint in relative terms. */
static double sk_percentile(const struct lat *l, double q)
{
	if (!l->skn)
		return NAN;
	double rank = ceil(q / 100 * (double)l->skn);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (size_t i = 0; i < SK_BUCKETS; i++) {
		seen += l->sk[i];
		if ((double)seen >= rank)
			return i == 0 ? 0 : SK_MIN * 2 * pow(sk_gamma, (double)i) / (sk_gamma + 1);
	}
	return NAN;
}

struct pct {
	double n, p50, p95, p99;
	int sketch;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/*
 * numpy's percentile (method "linear", as percentile_linear) of n sorted
 * values, each read by its rank through at(): values stay 4 bytes each.
 */
static double linear_pct(uint32_t (*at)(size_t, const void *), const void *arg, size_t n, double q)
{
	if (n == 0)
		return NAN;
	double vi = (double)(n - 1) * (q / 100), lo = floor(vi);
	if (lo >= (double)(n - 1))
		return at(n - 1, arg);
	size_t i = (size_t)lo;
	double t = vi - lo, a = at(i, arg), b = at(i + 1, arg), diff = b - a;
	return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

static uint32_t rank_in_array(size_t i, const void *arg)
{
	return ((const struct lat *)arg)->v[i];
}

/* In microseconds, then back to milliseconds to the microsecond. */
static struct pct exact_pct(uint32_t (*at)(size_t, const void *), const void *arg, size_t n)
{
	struct pct p = { (double)n, NAN, NAN, NAN, 0 };
	p.p50 = nearbyint(linear_pct(at, arg, n, 50)) / 1000;
	p.p95 = nearbyint(linear_pct(at, arg, n, 95)) / 1000;
	p.p99 = nearbyint(linear_pct(at, arg, n, 99)) / 1000;
	return p;
}

/* A group's percentiles; its latencies are sorted in place. */
static struct pct lat_percentiles(struct lat *l)
{
	if (l->sk) {
		struct pct p = { (double)l->skn, sk_percentile(l, 50), sk_percentile(l, 95), sk_percentile(l, 99), 1 };
		return p;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, cmp_u32);
	return exact_pct(rank_in_array, l, l->n);
}

struct group {
	char *endpoint, *model;	/* NULL: the records had none */
	long tasks, errors, retries, mismatches, unpriced, estimated, scored, correct;
	double tok_in, tok_out, tok_cached, tok_reasoning, cost;
	double priced_tokens;	/* in + out of the records that were priced */
	const char *currency;	/* borrowed from a resolved price */
	int mixed_currency;
	struct lat lat;
};

static struct group *groups;
static size_t ngroups;
static struct group overall;

static int same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static struct group *group_get(const char *endpoint, const char *model)
{
	static size_t last;
	if (last < ngroups && same(groups[last].endpoint, endpoint) && same(groups[last].model, model))
		return &groups[last];
	for (size_t i = 0; i < ngroups; i++)
		if (same(groups[i].endpoint, endpoint) && same(groups[i].model, model))
			return &groups[last = i];
	groups = xreallocarray(groups, ngroups + 1, sizeof *groups);
	struct group *g = &groups[ngroups];
	memset(g, 0, sizeof *g);
	g->endpoint = endpoint ? xstrdup(endpoint) : NULL;
	g->model = model ? xstrdup(model) : NULL;
	last = ngroups++;
	return g;
}

static void add_currency(struct group *g, const char *cur)
{
	if (!g->currency)
		g->currency = cur;
	else if (strcmp(g->currency, cur) != 0)
		g->mixed_currency = 1;
}

/* ---- one record ---- */

/* A string literal appended without strlen. */
#define ADDL(b, lit) buf_add((b), lit, sizeof lit - 1)

struct run {
	qa_json *j;
	qa_buf out, cost, mismatch, err, scratch;
	long missing_usage, no_model, unknown_models, bad, mismatches;
	const char *missing_first_file;
	unsigned long missing_first_line;
	char **warned;		/* unknown models already named */
	size_t nwarned;
};

static const char *str_at(qa_json *j, int tok, size_t *len)
{
	if (json_type(j, tok) != QA_STRING)
		return NULL;
	const char *s = json_str(j, tok, len);
	return s && *len && !memchr(s, '\0', *len) ? s : NULL;
}

/* Bytes of text a prompt holds: the prompt string, or the messages' contents and the system text. */
static double text_bytes(qa_json *j, int tok)
{
	size_t len;
	if (json_type(j, tok) == QA_STRING) {
		json_str(j, tok, &len);
		return (double)len;
	}
	double n = 0;
	if (json_type(j, tok) == QA_ARRAY)
		for (size_t i = 0; i < json_count(j, tok); i++) {
			int m = json_index(j, tok, i);
			int c = json_type(j, m) == QA_OBJECT ? json_member(j, m, "content", 7) : m;
			if (json_type(j, c) == QA_ARRAY) {	/* content parts: {type, text} */
				for (size_t k = 0; k < json_count(j, c); k++)
					n += text_bytes(j, json_member(j, json_index(j, c, k), "text", 4));
			} else {
				n += text_bytes(j, c);
			}
		}
	return n;
}

/*
 * The score that says whether the task is correct: --correct's, else the
 * first metric the record lists (metrics, else metric: a name, or an object's
 * "as" or "name") when it was scored, else the first score, which qa-score
 * writes in the order the metrics were given.  0 when there is none.
 */
static int first_score(qa_json *j, int scores, int metrics, int metric, double *v)
{
	if (json_type(j, scores) != QA_OBJECT || json_count(j, scores) == 0)
		return 0;
	int t = -1;
	if (O.correct) {
		t = json_member(j, scores, O.correct, strlen(O.correct));
	} else {
		int m = metrics >= 0 && json_type(j, metrics) != QA_NULL ? metrics : metric;
		if (json_type(j, m) == QA_ARRAY)
			m = json_index(j, m, 0);
		if (json_type(j, m) == QA_OBJECT) {
			int as = json_member(j, m, "as", 2);
			size_t alen = 0;
			if (json_type(j, as) == QA_STRING)
				json_str(j, as, &alen);
			m = alen ? as : json_member(j, m, "name", 4);
		}
		size_t n;
		const char *name = json_type(j, m) == QA_STRING ? json_str(j, m, &n) : NULL;
		if (name)
			t = json_member(j, scores, name, n);
		if (t < 0)
			t = json_key_at(j, scores, 0) + 1;
	}
	return json_type(j, t) == QA_NUMBER && json_num(j, t, v) == 0;
}

static void warn_unknown(struct run *r, const char *file, unsigned long line, const char *model, size_t mlen)
{
	for (size_t i = 0; i < r->nwarned; i++)
		if (strlen(r->warned[i]) == mlen && memcmp(r->warned[i], model, mlen) == 0)
			return;
	r->warned = xreallocarray(r->warned, r->nwarned + 1, sizeof *r->warned);
	r->warned[r->nwarned++] = xstrndup(model, mlen);
	qa_warn_at(file, line, "no price for model '%.*s'%s%s%s: cost left out", (int)mlen, model,
	    O.provider ? " from provider " : "", O.provider ? O.provider : "",
	    O.as_of ? " as of that date" : "");
}

static void cost_record(struct run *r, const char *file, unsigned long lineno, const char *line, size_t len)
{
	qa_json *j = r->j;
	char msg[160];
	int rc;

	if ((rc = record_parse(j, line, len, msg, sizeof msg)) > 0)
		return;
	if (rc < 0) {
		qa_warn_at(file, lineno, "%s", msg);
		status_raise(QA_EXIT_DATA);
		r->bad++;
		overall.tasks++;
		overall.errors++;
		overall.unpriced++;
		if (!O.summary) {
			bad_record(&r->out, file, lineno, line, len, msg);
			buf_addc(&r->out, '\n');
		}
		return;
	}

	enum { R_RESPONSE, R_ENDPOINT, R_MODEL, R_ERROR, R_SCORES, R_MESSAGES, R_PROMPT, R_SYSTEM, R_COST,
		R_MISMATCH, R_METRICS, R_METRIC, R_N };
	enum { S_ENDPOINT, S_MODEL, S_USAGE, S_LATENCY, S_ATTEMPTS, S_TEXT };
	static const char *const rkeys[] = { "response", "endpoint", "model", "error", "scores", "messages",
		"prompt", "system", "cost", "usage_mismatch", "metrics", "metric" };
	static const size_t rklen[] = { 8, 8, 5, 5, 6, 8, 6, 6, 4, 14, 7, 6 };
	static const char *const skeys[] = { "endpoint", "model", "usage", "latency_ms", "attempts", "text" };
	static const size_t sklen[] = { 8, 5, 5, 10, 8, 4 };
	int rm[R_N], sm[6];
	int last = members(j, 0, rkeys, rklen, R_N, rm);
	int resp = json_type(j, rm[R_RESPONSE]) == QA_OBJECT ? rm[R_RESPONSE] : -1;
	members(j, resp, skeys, sklen, 6, sm);
	size_t elen = 0, mlen = 0;
	const char *endpoint = str_at(j, sm[S_ENDPOINT], &elen);
	if (!endpoint)
		endpoint = str_at(j, rm[R_ENDPOINT], &elen);
	const char *model = str_at(j, sm[S_MODEL], &mlen);
	if (!model)
		model = str_at(j, rm[R_MODEL], &mlen);
	const qa_endpoint_conf *ep = endpoint ? config_endpoint(&config, endpoint) : NULL;
	if (!model && ep && ep->model) {
		model = ep->model;
		mlen = strlen(model);
	}
	int e = rm[R_ERROR];
	int is_error = e >= 0 && json_type(j, e) != QA_NULL;

	struct usage u;
	r->err.len = 0;
	int usage_tok = sm[S_USAGE];
	int bad = read_usage(j, usage_tok, &u, &r->err) < 0;

	/* Reconcile before pricing: a mismatch is worth knowing even without a price. */
	r->mismatch.len = 0;
	double cached = u.cached, reasoning = u.reasoning;
	if (!bad && u.style == 1) {
		qa_buf *m = &r->mismatch;
		int total_off = u.has_total && u.total != u.prompt + u.completion;
		if (total_off || cached > u.prompt || reasoning > u.completion) {
			buf_adds(m, "{\"message\":\"");
			const char *sep = "";
			if (total_off) {
				buf_printf(m, "total_tokens %.0f != prompt_tokens %.0f + completion_tokens %.0f",
				    u.total, u.prompt, u.completion);
				sep = "; ";
			}
			if (cached > u.prompt) {
				buf_printf(m, "%scached_tokens %.0f > prompt_tokens %.0f: billed as %.0f", sep, cached,
				    u.prompt, u.prompt);
				sep = "; ";
			}
			if (reasoning > u.completion)
				buf_printf(m, "%sreasoning_tokens %.0f > completion_tokens %.0f: billed as %.0f", sep,
				    reasoning, u.completion, u.completion);
			buf_addc(m, '"');
			if (total_off) {
				buf_printf(m, ",\"total_tokens\":%.0f,\"prompt_plus_completion\":%.0f,\"difference\":%.0f",
				    u.total, u.prompt + u.completion, u.total - (u.prompt + u.completion));
			}
			buf_addc(m, '}');
		}
		if (cached > u.prompt)
			cached = u.prompt;	/* cached tokens are part of the prompt: never billed twice */
		if (reasoning > u.completion)
			reasoning = u.completion;
	}

	/* Tokens, by kind: in = everything read, out = everything written. */
	double tin = 0, tout = 0, tcached = 0, treason = 0;
	double nin = 0, ncached = 0, nwrite = 0, nout = 0, nreason = 0;	/* billed counts */
	int source_estimate = 0, have_tokens = 0;
	if (!bad && u.style == 1) {
		nin = u.prompt - cached;
		ncached = cached;
		nout = u.completion - reasoning;
		nreason = reasoning;
		tin = u.prompt;
		tout = u.completion;
		tcached = cached;
		treason = reasoning;
		have_tokens = 1;
	} else if (!bad && u.style == 2) {
		nin = u.input;
		ncached = u.cache_read;
		nwrite = u.cache_write;
		nout = u.output;
		tin = u.input + u.cache_read + u.cache_write;
		tout = u.output;
		tcached = u.cache_read;
		have_tokens = 1;
	} else if (!bad && !is_error && O.estimate) {
		nin = text_bytes(j, rm[R_MESSAGES] >= 0 ? rm[R_MESSAGES] : rm[R_PROMPT]) + text_bytes(j, rm[R_SYSTEM]);
		nout = text_bytes(j, sm[S_TEXT]);
		nin = ceil(nin / 4);
		nout = ceil(nout / 4);
		tin = nin;
		tout = nout;
		source_estimate = 1;
		have_tokens = 1;
	}

	struct rprice *price = NULL;
	int priced = 0, unpriced = 0;
	if (bad) {
		status_raise(QA_EXIT_DATA);
		r->bad++;
		qa_warn_at(file, lineno, "%s", buf_cstr(&r->err));
	} else if (!have_tokens) {
		if (!is_error) {
			unpriced = 1;
			status_raise(QA_EXIT_DATA);
			if (!r->missing_usage++) {
				r->missing_first_file = file;
				r->missing_first_line = lineno;
			}
		}
	} else if (!model) {
		unpriced = 1;
		status_raise(QA_EXIT_DATA);
		if (!r->no_model++)
			qa_warn_at(file, lineno, "no model to price (response.model or model): cost left out");
	} else if (!(price = lookup(endpoint, model, mlen, &r->scratch))) {
		unpriced = 1;
		status_raise(QA_EXIT_DATA);
		r->unknown_models++;
		warn_unknown(r, file, lineno, model, mlen);
	} else {
		priced = 1;
	}
	if (is_error)
		status_raise(QA_EXIT_DATA);

	double c_in = 0, c_cached = 0, c_write = 0, c_out = 0, c_reason = 0, total = 0;
	if (priced) {
		c_in = nin * price->in / price->per;
		c_cached = ncached * price->cached / price->per;
		c_write = nwrite * price->cache_write / price->per;
		c_out = nout * price->out / price->per;
		c_reason = nreason * price->reasoning / price->per;
		total = c_in + c_cached + c_write + c_out + c_reason;
	}

	if (!O.summary) {
		qa_buf *c = &r->cost;
		c->len = 0;
		if (priced) {
			ADDL(c, "{\"input\":");
			buf_json_number(c, c_in);
			ADDL(c, ",\"cached\":");
			buf_json_number(c, c_cached);
			ADDL(c, ",\"cache_write\":");
			buf_json_number(c, c_write);
			ADDL(c, ",\"output\":");
			buf_json_number(c, c_out);
			ADDL(c, ",\"reasoning\":");
			buf_json_number(c, c_reason);
			ADDL(c, ",\"total\":");
			buf_json_number(c, total);
			ADDL(c, ",\"currency\":");
			buf_adds(c, price->currency_json);
			if (source_estimate)
				ADDL(c, ",\"source\":\"estimate\"");
			else
				ADDL(c, ",\"source\":\"usage\"");
			ADDL(c, ",\"price\":");
			buf_adds(c, price->label_json);
			if (source_estimate)
				buf_printf(c, ",\"estimated_tokens\":{\"input\":%.0f,\"output\":%.0f}", nin, nout);
			buf_addc(c, '}');
		}
		qa_buf errj = { 0 };
		int prior = is_error;
		if (bad && !prior) {
			buf_printf(&errj, "{\"type\":\"bad_record\",\"line\":%lu,\"message\":", lineno);
			buf_json_string(&errj, r->err.p, r->err.len);
			buf_addc(&errj, '}');
		}
		qa_field fields[] = {
			{ "cost", priced ? c->p : NULL, c->len },
			{ "usage_mismatch", r->mismatch.len ? r->mismatch.p : NULL, r->mismatch.len },
			{ "error", errj.p, errj.len },
		};
		if (rm[R_COST] < 0 && rm[R_MISMATCH] < 0 && !errj.len) {
			/*
			 * Nothing of ours to replace: what splice_record does, without
			 * matching every key again.  The record's bytes up to its last
			 * member, our members, then the rest as it came.
			 */
			size_t pos = last >= 0 ? json_end(j, last) : json_start(j, 0) + 1;
			int emitted = last >= 0;
			buf_add(&r->out, line, pos);
			for (size_t f = 0; f < 2; f++) {
				if (!fields[f].value)
					continue;
				if (emitted)
					buf_addc(&r->out, ',');
				buf_addc(&r->out, '"');
				buf_adds(&r->out, fields[f].key);
				buf_add(&r->out, "\":", 2);
				buf_add(&r->out, fields[f].value, fields[f].len);
				emitted = 1;
			}
			buf_add(&r->out, line + pos, len - pos);
		} else {
			splice_record(&r->out, j, line, len, fields, errj.len ? 3 : 2);
		}
		buf_addc(&r->out, '\n');
		buf_free(&errj);
	}

	if (r->mismatch.len)
		r->mismatches++;
	if (!O.summary)
		return;

	/* The summary's share of this record. */
	double lat = NAN, attempts = NAN, score = NAN;
	int lt = sm[S_LATENCY];
	if (json_num(j, lt, &lat) < 0 || !isfinite(lat) || lat < 0)
		lat = NAN;
	int at = sm[S_ATTEMPTS];
	if (at < 0 && is_error)
		at = json_member(j, e, "attempts", 8);
	if (json_num(j, at, &attempts) < 0 || !(attempts >= 1 && attempts < 1e9))
		attempts = NAN;
	int scored = first_score(j, rm[R_SCORES], rm[R_METRICS], rm[R_METRIC], &score);
	struct group *g = group_get(endpoint, model);
	if (!isnan(lat))
		lat_add(&g->lat, lat);
	struct group *both[2] = { g, &overall };
	for (int k = 0; k < 2; k++) {
		struct group *s = both[k];
		s->tasks++;
		s->errors += is_error || bad;
		s->unpriced += unpriced || bad;
		s->mismatches += r->mismatch.len > 0;
		if (!isnan(attempts))
			s->retries += (long)attempts - 1;
		if (scored) {
			s->scored++;
			s->correct += score == 1;
		}
		if (have_tokens && !bad) {
			s->tok_in += tin;
			s->tok_out += tout;
			s->tok_cached += tcached;
			s->tok_reasoning += treason;
		}
		if (priced) {
			s->cost += total;
			s->priced_tokens += tin + tout;
			s->estimated += source_estimate;
			add_currency(s, price->currency);
		}
	}
}

static void cost_file(struct run *r, const char *path)
{
	qa_lines in;
	char *line;
	ssize_t n;

	if (lines_open(&in, path) < 0) {
		qa_warn("%s: %s", path, strerror(errno));
		status_raise(QA_EXIT_USAGE);
		return;
	}
	/* Fewer, larger reads than the 4 KiB default; stdin only before its first read. */
	static int stdin_set;
	if (in.fp != stdin || !stdin_set++)
		setvbuf(in.fp, NULL, _IOFBF, 1 << 17);
	while ((n = lines_next(&in, &line)) >= 0) {
		cost_record(r, in.name, in.lineno, line, (size_t)n);
		if (r->out.len >= 64 * 1024)
			out_write(stdout, &r->out);
	}
	if (lines_error(&in) < 0) {
		qa_warn("%s: read error: %s", path, strerror(errno));
		status_raise(QA_EXIT_USAGE);
	}
	lines_close(&in);
	out_write(stdout, &r->out);
}

/* ---- text for people: money, counts, prices ---- */

/* Digits of an unsigned decimal text with thousands separators. */
static void with_commas(char *dst, size_t n, const char *digits)
{
	const char *dot = strchr(digits, '.');
	size_t ilen = dot ? (size_t)(dot - digits) : strlen(digits), o = 0;
	for (size_t i = 0; i < ilen && o + 2 < n; i++) {
		if (i && (ilen - i) % 3 == 0)
			dst[o++] = ',';
		dst[o++] = digits[i];
	}
	snprintf(dst + o, n - o, "%s", dot ? dot : "");
}

/* |v| with `sig` significant digits, at least 2 decimals and at most `sig` when below 1. */
static void fixed_sig(char *dst, size_t n, double av, int sig)
{
	int mag = av > 0 ? (int)floor(log10(av)) : 0;
	int dec = sig - 1 - mag;
	if (dec < 2)
		dec = 2;
	if (dec > 12)
		dec = 12;
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%.*f", dec, av);
	char *dot = strchr(tmp, '.');
	if (dot) {
		char *end = tmp + strlen(tmp);
		while (end > dot + 3 && end[-1] == '0')
			*--end = '\0';
	}
	with_commas(dst, n, tmp);
}

static void money_text(char *dst, size_t n, double v, const char *cur, int sig)
{
	if (!isfinite(v)) {
		snprintf(dst, n, "-");
		return;
	}
	char body[64];
	double av = fabs(v);
	if (sig == 0 || av >= 0.995) {
		char tmp[64];
		snprintf(tmp, sizeof tmp, "%.2f", av);
		with_commas(body, sizeof body, tmp);
	} else {
		fixed_sig(body, sizeof body, av, sig);
	}
	if (strcmp(body, "0.00") == 0)
		v = 0;
	int usd = !cur || strcmp(cur, "USD") == 0;
	snprintf(dst, n, "%s%s%.40s%s%.8s", v < 0 ? "-" : "", usd ? "$" : "", body, usd ? "" : " ", usd ? "" : cur);
}

/* Money as people read it: cents from $1 up, four significant digits below. */
static void fmt_money(char *dst, size_t n, double v, const char *cur)
{
	money_text(dst, n, v, cur, 4);
}

/* 500000000 is "500M": k, M, B for thousands, millions, billions. */
static void fmt_short(char *dst, size_t n, double v)
{
	static const struct {
		double unit;
		const char *sfx;
	} u[] = { { 1e12, "T" }, { 1e9, "B" }, { 1e6, "M" }, { 1e3, "k" } };
	for (size_t i = 0; i < 4; i++)
		if (v >= u[i].unit) {
			snprintf(dst, n, "%.10g%s", v / u[i].unit, u[i].sfx);
			return;
		}
	snprintf(dst, n, "%.10g", v);
}

static void fmt_int(char *dst, size_t n, double v)
{
	if (!isfinite(v)) {
		snprintf(dst, n, "-");
		return;
	}
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%.0f", fabs(v));
	char body[80];
	with_commas(body, sizeof body, tmp);
	snprintf(dst, n, "%s%.40s", v < 0 ? "-" : "", body);
}

static void fmt_fixed(char *dst, size_t n, const char *fmt, double v)
{
	if (isfinite(v))
		snprintf(dst, n, fmt, v);
	else
		snprintf(dst, n, "-");
}

/*
 * The arithmetic is printed to be checked by hand, so each figure in it
 * has just the decimals that make the printed figures give the printed
 * result: v to `dec` decimals, trailing zeros past the cents dropped.
 */
static double shown(double v, int dec)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%.*f", dec, v);
	return strtod(tmp, NULL);
}

static int same_at(double a, double b, int dec)
{
	char x[64], y[64];
	snprintf(x, sizeof x, "%.*f", dec, a);
	snprintf(y, sizeof y, "%.*f", dec, b);
	return strcmp(x, y) == 0;
}

static void money_dec(char *dst, size_t n, double v, int dec, const char *cur)
{
	char tmp[64], body[80];
	snprintf(tmp, sizeof tmp, "%.*f", dec, fabs(v));
	char *dot = strchr(tmp, '.');
	if (dot) {
		char *end = tmp + strlen(tmp);
		while (end > dot + 3 && end[-1] == '0')
			*--end = '\0';
	}
	if (strspn(tmp, "0.") == strlen(tmp))
		v = 0;
	with_commas(body, sizeof body, tmp);
	int usd = !cur || strcmp(cur, "USD") == 0;
	snprintf(dst, n, "%s%s%.40s%s%.8s", v < 0 ? "-" : "", usd ? "$" : "", body, usd ? "" : " ", usd ? "" : cur);
}

/* "N units x price = monthly": the price with the decimals that reproduce the monthly cents. */
static void unit_price_text(char *dst, size_t n, double units, double unit, double monthly, const char *cur)
{
	int mag = unit > 0 ? (int)floor(log10(unit)) : 0;
	int dec = 2 - mag > 2 ? 2 - mag : 2;	/* three significant digits, at least cents */
	while (dec < 15 && !same_at(units * shown(unit, dec), monthly, 2))
		dec++;
	money_dec(dst, n, unit, dec, cur);
}

/* ---- projection and savings: per endpoint ---- */

struct proj {
	const char *endpoint;	/* NULL: records without one, projected per model */
	const char *model;
	long tasks, unpriced;
	double cost, tokens;
	const char *currency;
	int mixed_currency;
	/* computed */
	double unit, monthly, yearly;	/* unit: per task, or per MTok */
	double save_month, save_year, save_pct, payback;
	char *arith, *save_arith, *payback_arith;	/* NULL when there is none */
};

static struct proj *projs;
static size_t nprojs;

static char *text_new(const char *fmt, ...) QA_PRINTF(1, 2);
static char *text_new(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static const char *proj_name(const struct proj *p)
{
	return p->endpoint ? p->endpoint : p->model ? p->model : "(none)";
}

static void build_projections(void)
{
	for (size_t i = 0; i < ngroups; i++) {
		struct group *g = &groups[i];
		struct proj *p = NULL;
		for (size_t k = 0; k < nprojs && !p; k++)
			if (g->endpoint ? same(projs[k].endpoint, g->endpoint) :
			    (!projs[k].endpoint && same(projs[k].model, g->model)))
				p = &projs[k];
		if (!p) {
			projs = xreallocarray(projs, nprojs + 1, sizeof *projs);
			p = &projs[nprojs++];
			memset(p, 0, sizeof *p);
			p->endpoint = g->endpoint;
			p->model = g->model;
		}
		p->tasks += g->tasks;
		p->unpriced += g->unpriced;
		p->cost += g->cost;
		p->tokens += g->priced_tokens;
		if (g->currency) {
			if (p->currency && strcmp(p->currency, g->currency) != 0)
				p->mixed_currency = 1;
			if (!p->currency)
				p->currency = g->currency;
		}
		p->mixed_currency |= g->mixed_currency;
	}
	for (size_t k = 0; k < nprojs; k++) {
		struct proj *p = &projs[k];
		char n_text[64], unit_text[64], month_text[64];
		double costed = (double)(p->tasks - p->unpriced);
		p->unit = p->monthly = p->yearly = NAN;
		p->save_month = p->save_year = p->save_pct = p->payback = NAN;
		if (p->mixed_currency) {
			p->arith = text_new("no projection: prices in more than one currency");
			continue;
		}
		if (!isnan(O.monthly_tokens)) {
			fmt_short(n_text, sizeof n_text, O.monthly_tokens);
			if (p->tokens > 0) {
				p->unit = p->cost / p->tokens * 1e6;
				p->monthly = O.monthly_tokens * p->cost / p->tokens;
				unit_price_text(unit_text, sizeof unit_text, O.monthly_tokens / 1e6, p->unit, p->monthly,
				    p->currency);
				money_dec(month_text, sizeof month_text, p->monthly, 2, p->currency);
				p->arith = text_new("%s tokens x %s/MTok = %s/month", n_text, unit_text,
				    month_text);
			} else {
				p->arith = text_new("no projection: no priced tokens");
			}
		} else {
			fmt_short(n_text, sizeof n_text, O.monthly_tasks);
			if (costed > 0) {
				p->unit = p->cost / costed;
				p->monthly = O.monthly_tasks * p->cost / costed;
				unit_price_text(unit_text, sizeof unit_text, O.monthly_tasks, p->unit, p->monthly,
				    p->currency);
				money_dec(month_text, sizeof month_text, p->monthly, 2, p->currency);
				p->arith = text_new("%s tasks x %s/task = %s/month", n_text, unit_text,
				    month_text);
			} else {
				p->arith = text_new("no projection: no priced tasks");
			}
		}
		p->yearly = p->monthly * 12;
	}
}

static struct proj *find_baseline(void)
{
	for (size_t k = 0; k < nprojs; k++)
		if (strcmp(proj_name(&projs[k]), O.baseline) == 0)
			return &projs[k];
	qa_buf names = { 0 };
	for (size_t k = 0; k < nprojs; k++)
		buf_printf(&names, "%s%s", k ? ", " : "", proj_name(&projs[k]));
	qa_die(QA_EXIT_USAGE, "--baseline %s: no such endpoint in the input (%s%s)", O.baseline,
	    nprojs ? "endpoints: " : "no endpoints", nprojs ? buf_cstr(&names) : "");
}

static void savings(struct proj *base)
{
	for (size_t k = 0; k < nprojs; k++) {
		struct proj *p = &projs[k];
		char b[64], c[64], s[64], y[64], m[64];
		if (isnan(p->monthly) || isnan(base->monthly))
			continue;
		if (p->currency && base->currency && strcmp(p->currency, base->currency) != 0) {
			p->save_arith = text_new("no savings: %s and %s are in different currencies",
			    proj_name(p), proj_name(base));
			continue;
		}
		p->save_month = base->monthly - p->monthly;
		p->save_year = p->save_month * 12;
		if (p == base) {
			p->save_pct = 0;
			continue;
		}
		p->save_pct = base->monthly > 0 ? 100 * p->save_month / base->monthly : NAN;
		if (!isnan(O.migration_cost) && p->save_month > 0)
			p->payback = O.migration_cost / p->save_month;
		/* Cents, or as many more decimals as it takes for the printed figures to add up. */
		int dec = 2;
		for (; dec < 10; dec++) {
			double bs = shown(base->monthly, dec), cs = shown(p->monthly, dec), ss = shown(p->save_month, dec);
			if (same_at(bs - cs, ss, dec) && same_at(ss * 12, p->save_year, 2) &&
			    (!(base->monthly > 0) || same_at(100 * ss / bs, p->save_pct, 1)) &&
			    (isnan(p->payback) || same_at(O.migration_cost / ss, p->payback, 1)))
				break;
		}
		money_dec(b, sizeof b, base->monthly, dec, base->currency);
		money_dec(c, sizeof c, p->monthly, dec, p->currency);
		money_dec(s, sizeof s, p->save_month, dec, p->currency);
		money_dec(y, sizeof y, p->save_year, 2, p->currency);
		if (base->monthly > 0)
			p->save_arith = text_new("%s - %s = %s/month; x 12 = %s/year; %s / %s = %.1f%%", b, c, s,
			    y, s, b, p->save_pct);
		else
			p->save_arith = text_new("%s - %s = %s/month; x 12 = %s/year", b, c, s, y);
		if (!isnan(O.migration_cost)) {
			money_dec(m, sizeof m, O.migration_cost, 2, p->currency);
			if (p->save_month > 0) {
				p->payback_arith = text_new("%s / %s/month = %.1f months", m, s, p->payback);
			} else {
				p->payback_arith = text_new("no payback: %s does not cost less than %s", proj_name(p),
				    proj_name(base));
			}
		}
	}
}

/* ---- summary output ---- */

static void json_str_or_null(qa_buf *b, const char *s)
{
	if (s)
		buf_json_string(b, s, strlen(s));
	else
		buf_adds(b, "null");
}

static const char *pct_method(const struct pct *p)
{
	return p->sketch ? "sketch" : "linear";
}

/* The derived figures of a group, NaN where undefined. */
struct derived {
	double per_1k, per_correct, accuracy;
	struct pct lat;
};

static struct pct overall_percentiles(void);

static struct derived derive(struct group *g)
{
	struct derived d;
	d.lat = g == &overall ? overall_percentiles() : lat_percentiles(&g->lat);
	double costed = (double)(g->tasks - g->unpriced);
	int cost_ok = !g->mixed_currency;
	d.per_1k = costed > 0 && cost_ok ? 1000 * g->cost / costed : NAN;
	d.per_correct = g->correct > 0 && cost_ok ? g->cost / (double)g->correct : NAN;
	d.accuracy = g->scored > 0 && g->tasks > 0 ? (double)g->correct / (double)g->tasks : NAN;
	return d;
}

static void json_group(qa_buf *b, const char *scope, struct group *g, const struct derived *d)
{
	buf_printf(b, "{\"scope\":\"%s\",\"endpoint\":", scope);
	json_str_or_null(b, g->endpoint);
	buf_adds(b, ",\"model\":");
	json_str_or_null(b, g->model);
	buf_printf(b, ",\"tasks\":%ld,\"errors\":%ld,\"retries\":%ld,\"tokens_in\":", g->tasks, g->errors,
	    g->retries);
	buf_json_number(b, g->tok_in);
	buf_adds(b, ",\"tokens_out\":");
	buf_json_number(b, g->tok_out);
	buf_adds(b, ",\"tokens_cached\":");
	buf_json_number(b, g->tok_cached);
	buf_adds(b, ",\"tokens_reasoning\":");
	buf_json_number(b, g->tok_reasoning);
	buf_adds(b, ",\"cost\":");
	buf_json_number(b, g->mixed_currency ? NAN : g->cost);
	buf_adds(b, ",\"currency\":");
	json_str_or_null(b, g->mixed_currency ? "mixed" : g->currency);
	buf_adds(b, ",\"cost_per_1k_tasks\":");
	buf_json_number(b, d->per_1k);
	buf_printf(b, ",\"correct\":%ld,\"scored\":%ld,\"accuracy\":", g->correct, g->scored);
	buf_json_number(b, d->accuracy);
	buf_adds(b, ",\"cost_per_correct\":");
	buf_json_number(b, d->per_correct);
	buf_adds(b, ",\"correct_metric\":");
	json_str_or_null(b, O.correct);
	buf_printf(b, ",\"latency_ms\":{\"n\":%.0f,\"p50\":", d->lat.n);
	buf_json_number(b, d->lat.p50);
	buf_adds(b, ",\"p95\":");
	buf_json_number(b, d->lat.p95);
	buf_adds(b, ",\"p99\":");
	buf_json_number(b, d->lat.p99);
	buf_printf(b, ",\"percentiles\":\"%s\"}", pct_method(&d->lat));
	buf_printf(b, ",\"usage_mismatches\":%ld,\"estimated\":%ld,\"unpriced\":%ld}\n", g->mismatches,
	    g->estimated, g->unpriced);
}

static void json_proj(qa_buf *b, const struct proj *p, const struct proj *base)
{
	buf_adds(b, "{\"scope\":\"projection\",\"endpoint\":");
	json_str_or_null(b, p->endpoint);
	if (!p->endpoint) {
		buf_adds(b, ",\"model\":");
		json_str_or_null(b, p->model);
	}
	if (!isnan(O.monthly_tokens)) {
		buf_adds(b, ",\"basis\":\"tokens\",\"monthly_tokens\":");
		buf_json_number(b, O.monthly_tokens);
		buf_adds(b, ",\"price_per_mtok\":");
	} else {
		buf_adds(b, ",\"basis\":\"tasks\",\"monthly_tasks\":");
		buf_json_number(b, O.monthly_tasks);
		buf_adds(b, ",\"cost_per_task\":");
	}
	buf_json_number(b, p->unit);
	buf_adds(b, ",\"monthly_cost\":");
	buf_json_number(b, p->monthly);
	buf_adds(b, ",\"yearly_cost\":");
	buf_json_number(b, p->yearly);
	buf_adds(b, ",\"currency\":");
	json_str_or_null(b, p->mixed_currency ? "mixed" : p->currency);
	buf_adds(b, ",\"arithmetic\":");
	json_str_or_null(b, p->arith);
	if (base) {
		buf_adds(b, ",\"baseline\":");
		json_str_or_null(b, proj_name(base));
		buf_adds(b, ",\"savings_per_month\":");
		buf_json_number(b, p->save_month);
		buf_adds(b, ",\"savings_per_year\":");
		buf_json_number(b, p->save_year);
		buf_adds(b, ",\"savings_pct\":");
		buf_json_number(b, p->save_pct);
		buf_adds(b, ",\"savings_arithmetic\":");
		json_str_or_null(b, p->save_arith);
		if (!isnan(O.migration_cost)) {
			buf_adds(b, ",\"migration_cost\":");
			buf_json_number(b, O.migration_cost);
			buf_adds(b, ",\"payback_months\":");
			buf_json_number(b, p->payback);
			buf_adds(b, ",\"payback_arithmetic\":");
			json_str_or_null(b, p->payback_arith);
		}
	}
	buf_adds(b, "}\n");
}

/* A table of text cells: printed aligned, as Markdown, or as CSV through libcsv. */
#define MAXCOLS 24
struct table {
	size_t ncols, nrows;
	char **cells;		/* nrows x ncols; row 0 is the header */
	int right[MAXCOLS];	/* numbers align right */
};

static void table_row(struct table *t, const char *const *cells)
{
	t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols, sizeof *t->cells);
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = xstrdup(cells[c] ? cells[c] : "");
	t->nrows++;
}

static void pad(qa_buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_addc(b, ' ');
}

static void table_print(qa_buf *b, struct table *t, const char *fmt)
{
	size_t w[MAXCOLS] = { 0 };
	int csv = strcmp(fmt, "csv") == 0, md = strcmp(fmt, "md") == 0;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t l = text_length(s, strlen(s));
			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t n = strlen(s);
			if (csv) {
				/* libcsv quotes every field and doubles the quotes inside. */
				size_t need = csv_write(NULL, 0, s, n);
				if (c)
					buf_addc(b, ',');
				buf_grow(b, need);
				csv_write(b->p + b->len, need, s, n);
				b->len += need;
				continue;
			}
			size_t fill = w[c] - text_length(s, n);
			int right = t->right[c];
			buf_adds(b, md ? "| " : c ? "  " : "");
			if (right)
				pad(b, fill);
			buf_add(b, s, n);
			if (!right && (md || c + 1 < t->ncols))
				pad(b, fill);
			if (md)
				buf_addc(b, ' ');
		}
		buf_adds(b, md ? "|\n" : "\n");
		if (r == 0 && md) {
			for (size_t c = 0; c < t->ncols; c++) {
				buf_addc(b, '|');
				for (size_t i = 0; i < w[c] + 1; i++)
					buf_addc(b, '-');
				buf_addc(b, t->right[c] ? ':' : '-');
			}
			buf_adds(b, "|\n");
		}
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

/* One summary row's cells: for people (table, md), or plain numbers (csv). */
static void group_cells(char cells[][64], const char *scope, struct group *g, const struct derived *d, int csv)
{
	const char *cur = g->mixed_currency ? "mixed" : g->currency;
	double cost = g->mixed_currency ? NAN : g->cost;
	size_t i = 0;
	if (csv)
		snprintf(cells[i++], 64, "%s", scope);
	snprintf(cells[i++], 64, "%s", g->endpoint ? g->endpoint : csv ? "" : strcmp(scope, "overall") ? "-" : "(overall)");
	snprintf(cells[i++], 64, "%s", g->model ? g->model : csv ? "" : "-");
	if (csv) {
		snprintf(cells[i++], 64, "%ld", g->tasks);
		snprintf(cells[i++], 64, "%ld", g->errors);
		snprintf(cells[i++], 64, "%ld", g->retries);
		snprintf(cells[i++], 64, "%.0f", g->tok_in);
		snprintf(cells[i++], 64, "%.0f", g->tok_out);
		fmt_fixed(cells[i++], 64, "%.6f", cost);
		snprintf(cells[i++], 64, "%s", cur ? cur : "");
		fmt_fixed(cells[i++], 64, "%.6f", d->per_1k);
		fmt_fixed(cells[i++], 64, "%.6f", d->per_correct);
		fmt_fixed(cells[i++], 64, "%.4f", d->accuracy);
		fmt_fixed(cells[i++], 64, "%.1f", d->lat.p50);
		fmt_fixed(cells[i++], 64, "%.1f", d->lat.p95);
		fmt_fixed(cells[i++], 64, "%.1f", d->lat.p99);
		snprintf(cells[i++], 64, "%ld", g->mismatches);
		for (size_t k = 0; k < i; k++)
			if (strcmp(cells[k], "-") == 0)
				cells[k][0] = '\0';
		return;
	}
	fmt_int(cells[i++], 64, (double)g->tasks);
	fmt_int(cells[i++], 64, (double)g->errors);
	fmt_int(cells[i++], 64, (double)g->retries);
	fmt_int(cells[i++], 64, g->tok_in);
	fmt_int(cells[i++], 64, g->tok_out);
	fmt_money(cells[i++], 64, cost, cur);
	fmt_money(cells[i++], 64, d->per_1k, cur);
	fmt_money(cells[i++], 64, d->per_correct, cur);
	fmt_fixed(cells[i++], 64, "%.1f%%", 100 * d->accuracy);
	fmt_fixed(cells[i++], 64, "%.0f", d->lat.p50);
	fmt_fixed(cells[i++], 64, "%.0f", d->lat.p95);
	fmt_fixed(cells[i++], 64, "%.0f", d->lat.p99);
	fmt_int(cells[i++], 64, (double)g->mismatches);
}

static const char *const sum_head[] = { "ENDPOINT", "MODEL", "TASKS", "ERRORS", "RETRIES", "TOKENS_IN",
	"TOKENS_OUT", "COST", "PER_1K_TASKS", "PER_CORRECT", "ACCURACY", "P50_MS", "P95_MS", "P99_MS",
	"MISMATCHES" };
static const char *const csv_head[] = { "scope", "endpoint", "model", "tasks", "errors", "retries",
	"tokens_in", "tokens_out", "cost", "currency", "cost_per_1k_tasks", "cost_per_correct", "accuracy",
	"latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "usage_mismatches", "monthly_cost",
	"yearly_cost", "savings_per_month", "savings_per_year", "savings_pct", "payback_months",
	"arithmetic" };
#define NSUM (sizeof sum_head / sizeof *sum_head)
#define NCSV (sizeof csv_head / sizeof *csv_head)

/*
 * The value of rank i over every group's sorted latencies, without a merged
 * copy: the least x with at least i + 1 values at or below it.
 */
static size_t count_le(const struct lat *l, uint32_t x)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->v[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint32_t rank_in_groups(size_t i, const void *arg)
{
	(void)arg;
	uint64_t lo = 0, hi = UINT32_MAX;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		size_t c = 0;
		for (size_t g = 0; g < ngroups; g++)
			c += count_le(&groups[g].lat, (uint32_t)mid);
		if (c >= i + 1)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (uint32_t)lo;
}

/* The overall percentiles, after every group's (which sorts them). */
static struct pct overall_percentiles(void)
{
	size_t total = 0;
	int sketch = 0;
	for (size_t i = 0; i < ngroups; i++) {
		total += lat_count(&groups[i].lat);
		sketch |= groups[i].lat.sk != NULL;
	}
	if (!sketch && total <= (size_t)O.exact_max)
		return exact_pct(rank_in_groups, NULL, total);
	struct lat *o = &overall.lat;
	o->sk = xcalloc(SK_BUCKETS, sizeof *o->sk);
	for (size_t i = 0; i < ngroups; i++) {
		struct lat *l = &groups[i].lat;
		for (size_t k = 0; k < l->n; k++)
			sk_add(o, l->v[k] / 1000.0);
		if (l->sk)
			for (size_t k = 0; k < SK_BUCKETS; k++)
				o->sk[k] += l->sk[k];
		o->skn += l->skn;
	}
	return lat_percentiles(o);
}

static void summary_print(void)
{
	qa_buf out = { 0 };
	struct proj *base = NULL;
	int project = !isnan(O.monthly_tasks) || !isnan(O.monthly_tokens);
	if (project) {
		build_projections();
		if (O.baseline) {
			base = find_baseline();
			savings(base);
		}
	}
	struct derived *ds = xreallocarray(NULL, ngroups + 1, sizeof *ds);
	for (size_t i = 0; i < ngroups; i++)
		ds[i] = derive(&groups[i]);
	ds[ngroups] = derive(&overall);
	int sketch = ds[ngroups].lat.sketch;

	if (strcmp(O.format, "json") == 0) {
		for (size_t i = 0; i < ngroups; i++)
			json_group(&out, "group", &groups[i], &ds[i]);
		json_group(&out, "overall", &overall, &ds[ngroups]);
		for (size_t k = 0; k < nprojs; k++)
			json_proj(&out, &projs[k], base);
	} else if (strcmp(O.format, "csv") == 0) {
		struct table t = { .ncols = NCSV };
		char cells[NCSV][64];
		const char *row[NCSV];
		table_row(&t, csv_head);
		for (size_t i = 0; i <= ngroups; i++) {
			memset(cells, 0, sizeof cells);
			group_cells(cells, i < ngroups ? "group" : "overall", i < ngroups ? &groups[i] : &overall,
			    &ds[i], 1);
			for (size_t c = 0; c < NCSV; c++)
				row[c] = cells[c];
			table_row(&t, row);
		}
		for (size_t k = 0; k < nprojs; k++) {
			const struct proj *p = &projs[k];
			qa_buf arith = { 0 };
			memset(cells, 0, sizeof cells);
			for (size_t c = 0; c < NCSV; c++)
				row[c] = cells[c];
			snprintf(cells[0], 64, "projection");
			snprintf(cells[1], 64, "%s", p->endpoint ? p->endpoint : "");
			snprintf(cells[2], 64, "%s", p->endpoint ? "" : p->model ? p->model : "");
			snprintf(cells[9], 64, "%s", p->currency ? p->currency : "");
			fmt_fixed(cells[17], 64, "%.2f", p->monthly);
			fmt_fixed(cells[18], 64, "%.2f", p->yearly);
			if (base) {
				fmt_fixed(cells[19], 64, "%.2f", p->save_month);
				fmt_fixed(cells[20], 64, "%.2f", p->save_year);
				fmt_fixed(cells[21], 64, "%.2f", p->save_pct);
				fmt_fixed(cells[22], 64, "%.2f", p->payback);
			}
			for (size_t c = 17; c < 23; c++)
				if (strcmp(cells[c], "-") == 0)
					cells[c][0] = '\0';
			buf_adds(&arith, p->arith);
			if (p->save_arith)
				buf_printf(&arith, "; %s", p->save_arith);
			if (p->payback_arith)
				buf_printf(&arith, "; %s", p->payback_arith);
			row[23] = buf_cstr(&arith);
			table_row(&t, row);
			buf_free(&arith);
		}
		table_print(&out, &t, "csv");
	} else {
		int md = strcmp(O.format, "md") == 0;
		struct table t = { .ncols = NSUM };
		char cells[NSUM][64];
		const char *row[NSUM];
		for (size_t c = 2; c < NSUM; c++)
			t.right[c] = 1;
		table_row(&t, sum_head);
		for (size_t i = 0; i <= ngroups; i++) {
			group_cells(cells, i < ngroups ? "group" : "overall", i < ngroups ? &groups[i] : &overall,
			    &ds[i], 0);
			for (size_t c = 0; c < NSUM; c++)
				row[c] = cells[c];
			table_row(&t, row);
		}
		table_print(&out, &t, O.format);
		buf_printf(&out, "%slatency percentiles: %s\n", md ? "\n" : "",
		    sketch ? "nearest rank from a log sketch (within 0.5%)" :
		    "linear interpolation between closest ranks (numpy's default)");
		buf_printf(&out, "%scorrect: %s%s is 1\n", md ? "\n" : "", O.correct ? O.correct : "the first score",
		    O.correct ? "" : " of each record");
		if (nprojs) {
			static const char *const ph[] = { "ENDPOINT", "MONTHLY", "YEARLY", "SAVINGS/MONTH",
				"SAVINGS/YEAR", "SAVINGS", "PAYBACK" };
			size_t pcols = base ? (isnan(O.migration_cost) ? 6 : 7) : 3;
			struct table pt = { .ncols = pcols };
			for (size_t c = 1; c < pcols; c++)
				pt.right[c] = 1;
			table_row(&pt, ph);
			for (size_t k = 0; k < nprojs; k++) {
				const struct proj *p = &projs[k];
				char pc[7][64];
				const char *prow[7];
				snprintf(pc[0], 64, "%s%s", proj_name(p), p == base ? " (baseline)" : "");
				fmt_money(pc[1], 64, p->monthly, p->currency);
				fmt_money(pc[2], 64, p->yearly, p->currency);
				fmt_money(pc[3], 64, p == base ? NAN : p->save_month, p->currency);
				fmt_money(pc[4], 64, p == base ? NAN : p->save_year, p->currency);
				fmt_fixed(pc[5], 64, "%.1f%%", p == base ? NAN : p->save_pct);
				fmt_fixed(pc[6], 64, "%.1f months", p->payback);
				for (size_t c = 0; c < 7; c++)
					prow[c] = pc[c];
				table_row(&pt, prow);
			}
			buf_addc(&out, '\n');
			table_print(&out, &pt, O.format);
			buf_addc(&out, '\n');
			for (size_t k = 0; k < nprojs; k++) {
				const struct proj *p = &projs[k];
				buf_printf(&out, "%s%s: %s\n", md ? "- " : "", proj_name(p), p->arith);
				if (p->save_arith && p != base)
					buf_printf(&out, "%s%s: savings %s\n", md ? "- " : "", proj_name(p), p->save_arith);
				if (p->payback_arith)
					buf_printf(&out, "%s%s: payback %s\n", md ? "- " : "", proj_name(p), p->payback_arith);
			}
		}
	}
	out_write(stdout, &out);
	buf_free(&out);
	free(ds);
}

/* ---- the command line ---- */

/* A count with an optional k, M, B (or G) or T suffix: 500M, 1.5B, 100k. */
static int parse_count(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno == ERANGE)
		return -1;
	double mult = 1;
	if (*end == 'k' || *end == 'K')
		mult = 1e3, end++;
	else if (*end == 'M')
		mult = 1e6, end++;
	else if (*end == 'B' || *end == 'G')
		mult = 1e9, end++;
	else if (*end == 'T')
		mult = 1e12, end++;
	if (*end || !isfinite(v) || v < 0 || v * mult > 1e18)
		return -1;
	*out = v * mult;
	return 0;
}

static QA_NORETURN void usage(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	exit(status);
}

static void cleanup(struct run *r)
{
	for (size_t i = 0; i < CACHE_SIZE; i++) {
		free(cache[i].key);
		rprice_free(cache[i].price);
	}
	for (size_t i = 0; i < nspill; i++)
		rprice_free(spill[i]);
	free(spill);
	rprice_free(overflow);
	for (size_t i = 0; i < nprices; i++) {
		struct price *p = &prices[i];
		free(p->provider);
		free(p->model);
		free(p->currency);
		free(p->date);
		free(p->source);
		free(p->file);
	}
	free(prices);
	for (size_t i = 0; i < ngroups; i++) {
		free(groups[i].endpoint);
		free(groups[i].model);
		free(groups[i].lat.v);
		free(groups[i].lat.sk);
	}
	free(groups);
	free(overall.lat.v);
	free(overall.lat.sk);
	for (size_t k = 0; k < nprojs; k++) {
		free(projs[k].arith);
		free(projs[k].save_arith);
		free(projs[k].payback_arith);
	}
	free(projs);
	for (size_t i = 0; i < r->nwarned; i++)
		free(r->warned[i]);
	free(r->warned);
	buf_free(&r->out);
	buf_free(&r->cost);
	buf_free(&r->mismatch);
	buf_free(&r->err);
	buf_free(&r->scratch);
	json_free(&r->j);
	config_free(&config);
	host_fini();
}

int main(int argc, char **argv)
{
	enum { OPT_AS_OF = 256, OPT_BASELINE, OPT_CONFIG, OPT_CORRECT, OPT_EXACT, OPT_MIGRATION,
		OPT_MONTHLY_TASKS, OPT_MONTHLY_TOKENS, OPT_PROVIDER };
	static const struct option longopts[] = {
		{ "as-of", required_argument, NULL, OPT_AS_OF },
		{ "baseline", required_argument, NULL, OPT_BASELINE },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "correct", required_argument, NULL, OPT_CORRECT },
		{ "estimate", no_argument, NULL, 'e' },
		{ "exact-latencies", required_argument, NULL, OPT_EXACT },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "migration-cost", required_argument, NULL, OPT_MIGRATION },
		{ "monthly-tasks", required_argument, NULL, OPT_MONTHLY_TASKS },
		{ "monthly-tokens", required_argument, NULL, OPT_MONTHLY_TOKENS },
		{ "prices", required_argument, NULL, 'p' },
		{ "provider", required_argument, NULL, OPT_PROVIDER },
		{ "summary", no_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct run r = { 0 };
	const char **price_files = NULL, *config_path = NULL;
	size_t nprice_files = 0;
	int c;

	qa_tool_init(argv[0]);
	O.monthly_tasks = O.monthly_tokens = O.migration_cost = NAN;
	while ((c = getopt_long(argc, argv, "ef:hp:sV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_AS_OF:
			if (!valid_date(optarg))
				qa_die(QA_EXIT_USAGE, "--as-of: '%s' is not a date (YYYY-MM-DD)", optarg);
			O.as_of = optarg;
			break;
		case OPT_BASELINE:
			O.baseline = optarg;
			break;
		case OPT_CONFIG:
			config_path = optarg;
			break;
		case OPT_CORRECT:
			O.correct = optarg;
			break;
		case 'e':
			O.estimate = 1;
			break;
		case OPT_EXACT:
			if (parse_long(optarg, 1, 1L << 30, &O.exact_max) < 0)
				qa_die(QA_EXIT_USAGE, "--exact-latencies: '%s' is not a whole number from 1 to %ld",
				    optarg, 1L << 30);
			break;
		case 'f':
			if (strcmp(optarg, "json") && strcmp(optarg, "table") && strcmp(optarg, "md") &&
			    strcmp(optarg, "csv"))
				qa_die(QA_EXIT_USAGE, "--format: '%s' is not json, table, md or csv", optarg);
			O.format = optarg;
			break;
		case 'h':
			usage(QA_EXIT_OK);
		case OPT_MIGRATION:
			if (parse_double(optarg, 0, 1e15, &O.migration_cost) < 0)
				qa_die(QA_EXIT_USAGE, "--migration-cost: '%s' is not an amount (0 or more)", optarg);
			break;
		case OPT_MONTHLY_TASKS:
			if (parse_count(optarg, &O.monthly_tasks) < 0)
				qa_die(QA_EXIT_USAGE, "--monthly-tasks: '%s' is not a count (like 100000 or 100k)", optarg);
			break;
		case OPT_MONTHLY_TOKENS:
			if (parse_count(optarg, &O.monthly_tokens) < 0)
				qa_die(QA_EXIT_USAGE, "--monthly-tokens: '%s' is not a count (like 500000000 or 500M)",
				    optarg);
			break;
		case 'p':
			price_files = xreallocarray(price_files, nprice_files + 1, sizeof *price_files);
			price_files[nprice_files++] = optarg;
			break;
		case OPT_PROVIDER:
			O.provider = optarg;
			break;
		case 's':
			O.summary = 1;
			break;
		case 'V':
			printf("qa-cost %s\n", QA_VERSION);
			return QA_EXIT_OK;
		default:
			usage(QA_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	if (!isnan(O.monthly_tasks) && !isnan(O.monthly_tokens))
		qa_die(QA_EXIT_USAGE, "--monthly-tasks and --monthly-tokens: give one of them");
	if (O.baseline && isnan(O.monthly_tasks) && isnan(O.monthly_tokens))
		qa_die(QA_EXIT_USAGE, "--baseline needs a volume to project: --monthly-tasks or --monthly-tokens");
	if (!isnan(O.migration_cost) && !O.baseline)
		qa_die(QA_EXIT_USAGE, "--migration-cost needs --baseline: payback is against the baseline's cost");
	/* Projections, savings and the people's formats are summaries. */
	if (!isnan(O.monthly_tasks) || !isnan(O.monthly_tokens) || strcmp(O.format, "json") != 0)
		O.summary = 1;

	char err[1024];
	if (config_load(&config, config_path, err, sizeof err) < 0)
		qa_die(QA_EXIT_USAGE, "%s", err);
	if (nprice_files) {
		for (size_t i = 0; i < nprice_files; i++)
			load_prices(price_files[i]);
	} else {
		/* Without one, only the endpoint config's prices apply: say so, and go on. */
		qa_buf searched = { 0 };
		char *path = default_prices(&searched);
		if (path)
			load_prices(path);
		else
			qa_warn("no price table: give --prices FILE or set QA_PRICES (looked for %s); "
			    "only the endpoint config's prices apply", buf_cstr(&searched));
		buf_free(&searched);
		free(path);
	}
	free(price_files);
	if (O.provider) {
		size_t i = 0;
		while (i < nprices && strcmp(prices[i].provider, O.provider) != 0)
			i++;
		if (i == nprices)
			qa_die(QA_EXIT_USAGE, "--provider %s: no row of the price table is from that provider",
			    O.provider);
	}
	sk_gamma = (1 + SK_ALPHA) / (1 - SK_ALPHA);
	sk_lngamma = log(sk_gamma);

	r.j = json_new();
	if (argc == 0)
		cost_file(&r, "-");
	for (int i = 0; i < argc; i++)
		cost_file(&r, argv[i]);

	if (r.missing_usage)
		qa_warn_at(r.missing_first_file, r.missing_first_line,
		    "no response.usage: cost left out (%ld record%s in all; --estimate estimates them)",
		    r.missing_usage, r.missing_usage == 1 ? "" : "s");
	if (r.unknown_models > 1 || r.nwarned > 1)
		qa_warn("%ld record%s not priced: %zu model%s without a price", r.unknown_models,
		    r.unknown_models == 1 ? "" : "s", r.nwarned, r.nwarned == 1 ? "" : "s");
	if (r.mismatches)
		qa_warn("%ld record%s: usage that does not add up (see usage_mismatch)", r.mismatches,
		    r.mismatches == 1 ? "" : "s");
	if (O.summary)
		summary_print();
	cleanup(&r);
	status_exit();
}
