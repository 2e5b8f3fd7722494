/* qa-cost: the price table: loading it, and looking a model's price up. */

#include "qa-cost.h"

/* ---- the price table ---- */

struct price *prices;

size_t nprices;

int valid_date(const char *s)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
	return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

struct price *price_add(void)
{
	prices = xreallocarray(prices, nprices + 1, sizeof *prices);
	struct price *p = &prices[nprices++];
	memset(p, 0, sizeof *p);
	p->in = p->out = p->cached = p->cache_write = p->reasoning = NAN;
	return p;
}

/* Two rows for one provider and model are history only when their dates differ. */
void price_check_duplicate(const struct price *p, const char *file, unsigned long line, int col)
{
	for (size_t i = 0; i + 1 < nprices; i++) {
		const struct price *q = &prices[i];
		if (strcmp(q->provider, p->provider) == 0 && strcmp(q->model, p->model) == 0 &&
		    ((!q->date && !p->date) || (q->date && p->date && strcmp(q->date, p->date) == 0)))
			qa_die(QA_EXIT_USAGE, "%s:%lu:%d: %s/%s is already priced%s%s at %s:%lu", file, line, col,
			    p->provider, p->model, p->date ? " for " : "", p->date ? p->date : "", q->file, q->line);
	}
}

const char *const col_names[C_NCOLS] = { "provider", "model", "input_per_mtok", "output_per_mtok",
	"cached_input_per_mtok", "cache_write_per_mtok", "reasoning_per_mtok", "currency", "date", "source" };

const int col_required[C_NCOLS] = { 1, 1, 1, 1, 0, 0, 0, 1, 1, 1 };

void csv_on_field(void *s, size_t len, void *data)
{
	struct csv_state *st = data;
	if (st->nfields == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		st->fields = xreallocarray(st->fields, st->cap, sizeof *st->fields);
	}
	st->fields[st->nfields++] = xstrndup(s ? s : "", s ? len : 0);
}

QA_NORETURN void csv_fail(struct csv_state *st, int col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	qa_die(QA_EXIT_USAGE, "%s:%lu:%d: %s", st->file, st->rec_line, col, msg);
}

void csv_header(struct csv_state *st)
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

double csv_price(struct csv_state *st, int c)
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

void csv_on_record(int term, void *data)
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

void load_csv(const char *path, const char *text, size_t len)
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
void text_position(const char *text, size_t off, unsigned long *line, unsigned long *col)
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
void load_litellm(const char *path, const char *text, size_t len)
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

void load_prices(const char *path)
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

int file_exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/*
 * No --prices: $QA_PRICES, else the installed table beside the executable
 * (bin/../share/qa/prices.csv), else the build tree's (build/bin/../../pipelines).
 * The path is the caller's to free.
 */
char *default_prices_new(qa_buf *searched)
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

struct opts O = { .exact_max = DEFAULT_EXACT_LATENCIES, .format = "json" };

qa_config config;

/* May this row price anything: from the provider wanted (or any, prov NULL), dated by --as-of? */
int applicable(const struct price *p, const char *prov)
{
	if (prov && strcmp(p->provider, prov) != 0)
		return 0;
	if (O.as_of && p->date && strcmp(p->date, O.as_of) > 0)
		return 0;
	return 1;
}

const struct price *find_row(const char *model, size_t mlen, const char *prov)
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

char *json_string_new(const char *s)
{
	qa_buf b = { 0 };
	buf_json_string(&b, s, strlen(s));
	return (char *)buf_cstr(&b);
}

/*
 * The provider preference: --provider (strict), else the endpoint config's
 * provider when it has a matching row, else every row.
 */
struct rprice *resolve(const char *endpoint, const char *model, size_t mlen)
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

void rprice_free(struct rprice *r)
{
	if (!r)
		return;
	free(r->currency);
	free(r->label);
	free(r->currency_json);
	free(r->label_json);
	free(r);
}

struct centry cache[CACHE_SIZE];

size_t cache_used;

struct rprice **spill;

size_t nspill;

struct rprice *overflow;

uint64_t hash_bytes(const char *s, size_t n)
{
	return hash_fnv1a(HASH_FNV_BASIS, s, n);
}

/*
 * NULL when the model has no price.  What it returns stays valid to the end
 * of the run, except past the cache's size without --summary: to the next call.
 */
struct rprice *lookup(const char *endpoint, const char *model, size_t mlen, qa_buf *scratch)
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
