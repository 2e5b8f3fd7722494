/* qa-cost: one record: its price, its usage reconciled, its line out. */

#include "qa-cost.h"

/* ---- one record ---- */

const char *str_at(qa_json *j, int tok, size_t *len)
{
	if (json_type(j, tok) != QA_STRING)
		return NULL;
	const char *s = json_str(j, tok, len);
	return s && *len && !memchr(s, '\0', *len) ? s : NULL;
}

/* Bytes of text a prompt holds: the prompt string, or the messages' contents and the system text. */
double text_bytes(qa_json *j, int tok)
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
int first_score(qa_json *j, int scores, int metrics, int metric, double *v)
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

void warn_unknown(struct run *r, const char *file, unsigned long line, const char *model, size_t mlen)
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

/* A line that is not a record: warned, counted as an unpriced error, written as a bad_record. */
static void cost_bad_line(struct run *r, const char *file, unsigned long lineno, const char *line, size_t len,
    const char *msg)
{
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
}

enum { R_RESPONSE, R_ENDPOINT, R_MODEL, R_ERROR, R_SCORES, R_MESSAGES, R_PROMPT, R_SYSTEM, R_COST,
	R_MISMATCH, R_METRICS, R_METRIC, R_N };
enum { S_ENDPOINT, S_MODEL, S_USAGE, S_LATENCY, S_ATTEMPTS, S_TEXT, S_N };

/* One record as cost_record takes it apart: what it names, its tokens, its price and its cost. */
struct rec {
	qa_json *j;
	int rm[R_N], sm[S_N];	/* the record's members and its response's, -1 when absent */
	int last, resp;		/* the last member's value; the response object, or -1 */
	const char *endpoint, *model;
	size_t elen, mlen;
	int is_error, bad;	/* it carries an error; its usage is malformed (r->err says how) */
	struct usage u;
	double cached, reasoning;	/* as billed: never more than the prompt and completion */
	double tin, tout, tcached, treason;	/* tokens, by kind: in = everything read, out = written */
	double nin, ncached, nwrite, nout, nreason;	/* billed counts */
	int source_estimate, have_tokens;
	struct rprice *price;
	int priced, unpriced;
	double c_in, c_cached, c_write, c_out, c_reason, total;
	int served_cached;	/* qa-send answered it from its cache: nothing incurred */
};

/* The members cost_record uses, in two passes (the record's, its response's), and whom to price. */
static void rec_read(struct rec *x)
{
	static const char *const rkeys[] = { "response", "endpoint", "model", "error", "scores", "messages",
		"prompt", "system", "cost", "usage_mismatch", "metrics", "metric" };
	static const size_t rklen[] = { 8, 8, 5, 5, 6, 8, 6, 6, 4, 14, 7, 6 };
	static const char *const skeys[] = { "endpoint", "model", "usage", "latency_ms", "attempts", "text" };
	static const size_t sklen[] = { 8, 5, 5, 10, 8, 4 };
	qa_json *j = x->j;
	x->last = json_members(j, 0, rkeys, rklen, R_N, x->rm);
	x->resp = json_type(j, x->rm[R_RESPONSE]) == QA_OBJECT ? x->rm[R_RESPONSE] : -1;
	json_members(j, x->resp, skeys, sklen, S_N, x->sm);
	x->endpoint = str_at(j, x->sm[S_ENDPOINT], &x->elen);
	if (!x->endpoint)
		x->endpoint = str_at(j, x->rm[R_ENDPOINT], &x->elen);
	x->model = str_at(j, x->sm[S_MODEL], &x->mlen);
	if (!x->model)
		x->model = str_at(j, x->rm[R_MODEL], &x->mlen);
	const qa_endpoint_conf *ep = x->endpoint ? config_endpoint(&config, x->endpoint) : NULL;
	if (!x->model && ep && ep->model) {
		x->model = ep->model;
		x->mlen = strlen(x->model);
	}
	int e = x->rm[R_ERROR];
	x->is_error = e >= 0 && json_type(j, e) != QA_NULL;
}

/*
 * OpenAI usage that does not add up, said in r->mismatch before pricing (a
 * mismatch is worth knowing even without a price); cached and reasoning
 * tokens are then billed as at most the prompt and the completion.
 */
static void rec_reconcile(struct run *r, struct rec *x)
{
	const struct usage *u = &x->u;
	x->cached = u->cached;
	x->reasoning = u->reasoning;
	if (x->bad || u->style != 1)
		return;
	qa_buf *m = &r->mismatch;
	int total_off = u->has_total && u->total != u->prompt + u->completion;
	if (total_off || x->cached > u->prompt || x->reasoning > u->completion) {
		buf_adds(m, "{\"message\":\"");
		const char *sep = "";
		if (total_off) {
			buf_printf(m, "total_tokens %.0f != prompt_tokens %.0f + completion_tokens %.0f",
			    u->total, u->prompt, u->completion);
			sep = "; ";
		}
		if (x->cached > u->prompt) {
			buf_printf(m, "%scached_tokens %.0f > prompt_tokens %.0f: billed as %.0f", sep, x->cached,
			    u->prompt, u->prompt);
			sep = "; ";
		}
		if (x->reasoning > u->completion)
			buf_printf(m, "%sreasoning_tokens %.0f > completion_tokens %.0f: billed as %.0f", sep,
			    x->reasoning, u->completion, u->completion);
		buf_addc(m, '"');
		if (total_off) {
			buf_printf(m, ",\"total_tokens\":%.0f,\"prompt_plus_completion\":%.0f,\"difference\":%.0f",
			    u->total, u->prompt + u->completion, u->total - (u->prompt + u->completion));
		}
		buf_addc(m, '}');
	}
	if (x->cached > u->prompt)
		x->cached = u->prompt;	/* cached tokens are part of the prompt: never billed twice */
	if (x->reasoning > u->completion)
		x->reasoning = u->completion;
}

/* Tokens by kind, and the counts billed: OpenAI's usage, Anthropic's, or (--estimate) 4 bytes a token. */
static void rec_tokens(struct rec *x)
{
	const struct usage *u = &x->u;
	qa_json *j = x->j;
	if (x->bad)
		return;
	if (u->style == 1) {
		x->nin = u->prompt - x->cached;
		x->ncached = x->cached;
		x->nout = u->completion - x->reasoning;
		x->nreason = x->reasoning;
		x->tin = u->prompt;
		x->tout = u->completion;
		x->tcached = x->cached;
		x->treason = x->reasoning;
		x->have_tokens = 1;
	} else if (u->style == 2) {
		x->nin = u->input;
		x->ncached = u->cache_read;
		x->nwrite = u->cache_write;
		x->nout = u->output;
		x->tin = u->input + u->cache_read + u->cache_write;
		x->tout = u->output;
		x->tcached = u->cache_read;
		x->have_tokens = 1;
	} else if (!x->is_error && O.estimate) {
		int prompt = x->rm[R_MESSAGES] >= 0 ? x->rm[R_MESSAGES] : x->rm[R_PROMPT];
		x->nin = ceil((text_bytes(j, prompt) + text_bytes(j, x->rm[R_SYSTEM])) / 4);
		x->nout = ceil(text_bytes(j, x->sm[S_TEXT]) / 4);
		x->tin = x->nin;
		x->tout = x->nout;
		x->source_estimate = 1;
		x->have_tokens = 1;
	}
}

/* Whether it is priced, and why not when it is not (each reason warned once or counted); its cost. */
static void rec_price(struct run *r, struct rec *x, const char *file, unsigned long lineno)
{
	if (x->bad) {
		status_raise(QA_EXIT_DATA);
		r->bad++;
		qa_warn_at(file, lineno, "%s", buf_cstr(&r->err));
	} else if (!x->have_tokens) {
		if (!x->is_error) {
			x->unpriced = 1;
			status_raise(QA_EXIT_DATA);
			if (!r->missing_usage++) {
				r->missing_first_file = file;
				r->missing_first_line = lineno;
			}
		}
	} else if (!x->model) {
		x->unpriced = 1;
		status_raise(QA_EXIT_DATA);
		if (!r->no_model++)
			qa_warn_at(file, lineno, "no model to price (response.model or model): cost left out");
	} else if (!(x->price = lookup(x->endpoint, x->model, x->mlen, &r->scratch))) {
		x->unpriced = 1;
		status_raise(QA_EXIT_DATA);
		r->unknown_models++;
		warn_unknown(r, file, lineno, x->model, x->mlen);
	} else {
		x->priced = 1;
	}
	if (x->is_error)
		status_raise(QA_EXIT_DATA);
	if (x->priced) {
		const struct rprice *p = x->price;
		x->c_in = x->nin * p->in / p->per;
		x->c_cached = x->ncached * p->cached / p->per;
		x->c_write = x->nwrite * p->cache_write / p->per;
		x->c_out = x->nout * p->out / p->per;
		x->c_reason = x->nreason * p->reasoning / p->per;
		x->total = x->c_in + x->c_cached + x->c_write + x->c_out + x->c_reason;
	}
	x->served_cached = x->resp >= 0 && json_type(x->j, json_member(x->j, x->resp, "cached", 6)) == QA_TRUE;
}

/* The record's "cost" object. */
static void cost_object(qa_buf *c, const struct rec *x)
{
	ADDL(c, "{\"input\":");
	buf_json_number(c, x->c_in);
	buf_kv_num(c, "cached", x->c_cached);
	buf_kv_num(c, "cache_write", x->c_write);
	buf_kv_num(c, "output", x->c_out);
	buf_kv_num(c, "reasoning", x->c_reason);
	buf_kv_num(c, "total", x->total);
	/* What this run paid: nothing for an answer qa-send served from its cache. */
	buf_kv_num(c, "incurred", x->served_cached ? 0 : x->total);
	ADDL(c, ",\"currency\":");
	buf_adds(c, x->price->currency_json);
	if (x->source_estimate)
		ADDL(c, ",\"source\":\"estimate\"");
	else
		ADDL(c, ",\"source\":\"usage\"");
	ADDL(c, ",\"price\":");
	buf_adds(c, x->price->label_json);
	if (x->source_estimate)
		buf_printf(c, ",\"estimated_tokens\":{\"input\":%.0f,\"output\":%.0f}", x->nin, x->nout);
	buf_addc(c, '}');
}

/*
 * Nothing of ours to replace: what splice_record does, without matching
 * every key again.  The record's bytes up to its last member, our
 * members, then the rest as it came.
 */
static void append_fields(qa_buf *out, const struct rec *x, const char *line, size_t len, const qa_field *fields,
    size_t nfields)
{
	size_t pos = x->last >= 0 ? json_end(x->j, x->last) : json_start(x->j, 0) + 1;
	int emitted = x->last >= 0;
	buf_add(out, line, pos);
	for (size_t f = 0; f < nfields; f++) {
		if (!fields[f].value)
			continue;
		if (emitted)
			buf_addc(out, ',');
		buf_addc(out, '"');
		buf_adds(out, fields[f].key);
		buf_add(out, "\":", 2);
		buf_add(out, fields[f].value, fields[f].len);
		emitted = 1;
	}
	buf_add(out, line + pos, len - pos);
}

/* The record out: its bytes with cost, usage_mismatch and (malformed usage) error set. */
static void rec_write(struct run *r, const struct rec *x, unsigned long lineno, const char *line, size_t len)
{
	qa_buf *c = &r->cost;
	c->len = 0;
	if (x->priced)
		cost_object(c, x);
	qa_buf errj = { 0 };
	if (x->bad && !x->is_error) {
		buf_printf(&errj, "{\"type\":\"bad_record\",\"line\":%lu,\"message\":", lineno);
		buf_json_string(&errj, r->err.p, r->err.len);
		buf_addc(&errj, '}');
	}
	qa_field fields[] = {
		{ "cost", x->priced ? c->p : NULL, c->len },
		{ "usage_mismatch", r->mismatch.len ? r->mismatch.p : NULL, r->mismatch.len },
		{ "error", errj.p, errj.len },
	};
	if (x->rm[R_COST] < 0 && x->rm[R_MISMATCH] < 0 && !errj.len)
		append_fields(&r->out, x, line, len, fields, 2);
	else
		splice_record(&r->out, x->j, line, len, fields, errj.len ? 3 : 2);
	buf_addc(&r->out, '\n');
	buf_free(&errj);
}

/* The summary's share of this record: its group's and the overall counts, tokens, cost, latency. */
static void rec_summarize(struct run *r, const struct rec *x)
{
	qa_json *j = x->j;
	double lat = NAN, attempts = NAN, score = NAN;
	if (json_num(j, x->sm[S_LATENCY], &lat) < 0 || !isfinite(lat) || lat < 0)
		lat = NAN;
	int at = x->sm[S_ATTEMPTS];
	if (at < 0 && x->is_error)
		at = json_member(j, x->rm[R_ERROR], "attempts", 8);
	if (json_num(j, at, &attempts) < 0 || !(attempts >= 1 && attempts < 1e9))
		attempts = NAN;
	int scored = first_score(j, x->rm[R_SCORES], x->rm[R_METRICS], x->rm[R_METRIC], &score);
	struct group *g = group_get(x->endpoint, x->model);
	if (!isnan(lat))
		lat_add(&g->lat, lat);
	stream_lat_add(j, x->resp, x->endpoint, x->elen);
	struct group *both[2] = { g, &overall };
	for (int k = 0; k < 2; k++) {
		struct group *s = both[k];
		s->tasks++;
		s->errors += x->is_error || x->bad;
		s->unpriced += x->unpriced || x->bad;
		s->mismatches += r->mismatch.len > 0;
		if (!isnan(attempts))
			s->retries += (long)attempts - 1;
		if (scored) {
			s->scored++;
			s->correct += score == 1;
		}
		if (x->have_tokens && !x->bad) {
			s->tok_in += x->tin;
			s->tok_out += x->tout;
			s->tok_cached += x->tcached;
			s->tok_reasoning += x->treason;
		}
		if (x->priced) {
			s->cost += x->total;
			s->cost_sq += x->total * x->total;
			s->cost_correct += scored && score == 1 ? x->total : 0;
			s->incurred += x->served_cached ? 0 : x->total;
			s->priced_tokens += x->tin + x->tout;
			s->estimated += x->source_estimate;
			add_currency(s, x->price->currency);
		}
	}
}

/* One line: read, reconcile, count, price, then the record out or its share of the summary. */
void cost_record(void *arg, const char *file, unsigned long lineno, const char *line, size_t len)
{
	struct run *r = arg;
	char msg[160];
	int rc;

	if ((rc = record_parse(r->j, line, len, msg, sizeof msg)) > 0)
		return;
	if (rc < 0) {
		cost_bad_line(r, file, lineno, line, len, msg);
		return;
	}
	struct rec x = { .j = r->j };
	rec_read(&x);
	r->err.len = 0;
	x.bad = read_usage(x.j, x.sm[S_USAGE], &x.u, &r->err) < 0;
	r->mismatch.len = 0;
	rec_reconcile(r, &x);
	rec_tokens(&x);
	rec_price(r, &x, file, lineno);
	if (!O.summary)
		rec_write(r, &x, lineno, line, len);
	if (r->mismatch.len)
		r->mismatches++;
	if (O.summary)
		rec_summarize(r, &x);
}

void cost_file(struct run *r, const char *path)
{
	lines_each(path, cost_record, r, &r->out);
}
