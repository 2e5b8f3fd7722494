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

void cost_record(struct run *r, const char *file, unsigned long lineno, const char *line, size_t len)
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
	int last = json_members(j, 0, rkeys, rklen, R_N, rm);
	int resp = json_type(j, rm[R_RESPONSE]) == QA_OBJECT ? rm[R_RESPONSE] : -1;
	json_members(j, resp, skeys, sklen, 6, sm);
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

	int served_cached = resp >= 0 && json_type(j, json_member(j, resp, "cached", 6)) == QA_TRUE;
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
			/* What this run paid: nothing for an answer qa-send served from its cache. */
			ADDL(c, ",\"incurred\":");
			buf_json_number(c, served_cached ? 0 : total);
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
	stream_lat_add(j, resp, endpoint, elen);
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
			s->cost_sq += total * total;
			s->cost_correct += scored && score == 1 ? total : 0;
			s->incurred += served_cached ? 0 : total;
			s->priced_tokens += tin + tout;
			s->estimated += source_estimate;
			add_currency(s, price->currency);
		}
	}
}

void cost_file(struct run *r, const char *path)
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
