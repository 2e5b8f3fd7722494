/* qa-send: windows (--context): a long prompt's logprobs, window by window. */

#include "qa-send.h"

/* ---- windows (--context): a long prompt's logprobs, window by window ---- */

void windows_free(struct task *t)
{
	struct windows *w = t->win;
	if (!w)
		return;
	free(w->text);
	free(w->off);
	json_free(&w->rec);
	buf_free(&w->rec_text);
	buf_free(&w->tokens);
	buf_free(&w->lps);
	buf_free(&w->tops);
	xfree(&t->win);
}

/* The record a request is built from: the window's, while windows are scored. */
const qa_json *asked(const struct task *t)
{
	return t->win ? t->win->rec : t->j;
}

/* Appends member i of array path in lp to b, comma-separated. */
void add_member(qa_buf *b, qa_json *lp, int arr, size_t i)
{
	size_t n;
	const char *raw = arr >= 0 ? json_raw(lp, json_index(lp, arr, i), &n) : NULL;
	if (b->len)
		buf_addc(b, ',');
	if (raw)
		buf_add(b, raw, n);
	else
		buf_adds(b, "null");
}

void add_usage(struct windows *w, const char *usage, double latency_ms)
{
	double v;
	if (usage && json_parse(scratch, usage, strlen(usage), &(const char *){ 0 }, &(size_t){ 0 }) == 0) {
		if (json_num(scratch, json_find(scratch, 0, "prompt_tokens"), &v) == 0)
			w->prompt_tokens += v;
		if (json_num(scratch, json_find(scratch, 0, "completion_tokens"), &v) == 0)
			w->completion_tokens += v;
	}
	w->latency_ms += latency_ms;
	w->requests++;
}

/* The window ending stride tokens past what is scored: its request record. */
void window_next(struct task *t)
{
	struct windows *w = t->win;
	size_t end = w->done + opt.stride < w->ntok ? w->done + opt.stride : w->ntok;
	w->begin = end - opt.context > w->first ? end - opt.context : w->first;
	w->rec_text.len = 0;
	buf_adds(&w->rec_text, "{\"prompt\":");
	buf_json_string(&w->rec_text, w->text + w->off[w->begin], w->off[end] - w->off[w->begin]);
	buf_addc(&w->rec_text, '}');
	if (!w->rec)
		w->rec = json_new();
	const char *err;
	size_t eoff;
	if (json_parse(w->rec, w->rec_text.p, w->rec_text.len, &err, &eoff) < 0)
		qa_die(QA_EXIT_USAGE, "internal error: a window's record does not parse: %s", err);
}

/*
 * The tokens of a logprobs object and their byte offsets (cumulative
 * lengths).  -1 when there are none or one is not a string.
 */
int token_offsets(qa_json *lp, int *tokens, size_t **off, size_t *n, qa_buf *spelled)
{
	*tokens = json_member(lp, 0, "tokens", 6);
	if (json_type(lp, *tokens) != QA_ARRAY)
		return -1;
	*n = json_count(lp, *tokens);
	*off = xreallocarray(NULL, *n + 1, sizeof **off);
	spelled->len = 0;
	for (size_t i = 0; i < *n; i++) {
		size_t len;
		const char *s = json_str(lp, json_index(lp, *tokens, i), &len);
		if (!s)
			return -1;
		(*off)[i] = spelled->len;
		buf_add(spelled, s, len);
	}
	(*off)[*n] = spelled->len;
	return 0;
}

/*
 * Whether a token is a special one (BOS, EOS, ...) that spells nothing of
 * the text: "<s>", "</s>", "<|begin_of_text|>", "<bos>", or empty.
 */
int special_token(const char *s, size_t len)
{
	if (len == 0)
		return 1;
	if (len < 3 || s[0] != '<' || s[len - 1] != '>')
		return 0;
	for (size_t i = 1; i < len - 1; i++)
		if (s[i] == ' ' || s[i] == '<' || s[i] == '>' || s[i] == '\n')
			return 0;
	return 1;
}

/*
 * Which of an answer's tokens spell text: [*skip, *end), past leading
 * and trailing special tokens (a BOS, an EOS), the first of them *shift
 * bytes in (1 when a SentencePiece tokenizer added its leading space to
 * a text that had none of its own).  0 when they spell text exactly, -1
 * when they do not.
 */
int spelling_start(const size_t *off, size_t n, const char *sp, const char *text, size_t len,
    size_t *skip, size_t *end, size_t *shift)
{
	size_t trimmed = n;
	while (trimmed > 0 && special_token(sp + off[trimmed - 1], off[trimmed] - off[trimmed - 1]))
		trimmed--;
	for (*skip = 0; *skip <= n && *skip < 3; ++*skip) {
		for (int k = 0; k < 2; k++) {
			*end = k ? trimmed : n;
			if (*end < *skip || (k && trimmed == n))
				continue;
			size_t have = off[*end] - off[*skip];
			const char *s0 = sp + off[*skip];
			for (*shift = 0; *shift < 2; ++*shift)
				if (have == len + *shift && (*shift == 0 || s0[0] == ' ') &&
				    memcmp(s0 + *shift, text, len) == 0)
					return 0;
		}
		if (*skip == n || !special_token(sp + off[*skip], off[*skip + 1] - off[*skip]))
			break;
	}
	return -1;
}

/*
 * A logprobs answer under --context.  0: the record's logprobs are final
 * (*merged, when set, replaces the answer's); 1: another window was asked
 * for; -1: the record failed.
 */
int window_step(struct task *t, const struct outcome *o, char **merged)
{
	const struct qa_reply *r = &o->reply;
	*merged = NULL;
	qa_json *lp = json_new();
	qa_buf spelled = { 0 };
	size_t *off = NULL, n = 0;
	int tokens, rc = -1;
	const char *err;
	size_t eoff;
	if (json_parse(lp, r->logprobs, strlen(r->logprobs), &err, &eoff) < 0 ||
	    token_offsets(lp, &tokens, &off, &n, &spelled) < 0) {
		fail(t, "bad_response", o->status, "--context: the logprobs have no tokens array of strings");
		goto out;
	}
	int lps = json_member(lp, 0, "token_logprobs", 14), tops = json_member(lp, 0, "top_logprobs", 12);
	if (json_type(lp, lps) != QA_ARRAY || json_count(lp, lps) != n) {
		fail(t, "bad_response", o->status, "--context: token_logprobs does not match tokens");
		goto out;
	}
	if (json_type(lp, tops) != QA_ARRAY || json_count(lp, tops) != n)
		tops = -1;

	struct windows *w = t->win;
	if (!w) {
		if (n <= opt.context) {
			rc = 0;	/* it fits: the one answer is the whole */
			goto out;
		}
		size_t plen;
		const char *prompt = json_str(t->j, json_member(t->j, 0, "prompt", 6), &plen);
		if (!prompt || json_member(t->j, 0, "system", 6) >= 0) {
			fail(t, "bad_record", 0, "--context: windows are cut from a prompt string (no system, no messages)");
			goto out;
		}
		/* The tokens spell the prompt, maybe between special tokens that spell nothing of it. */
		size_t first, end, shift;
		if (spelling_start(off, n, spelled.p, prompt, plen, &first, &end, &shift) < 0) {
			/* The same prompt gets the same tokens again: nothing to retry, nowhere to fall back. */
			fail(t, "bad_request", o->status, "--context: the endpoint's tokens do not spell the prompt, "
			    "so windows cannot be cut at token boundaries");
			goto out;
		}
		w = t->win = xcalloc(1, sizeof *w);
		w->text = xmalloc(plen + 1);
		memcpy(w->text, prompt, plen);
		w->text[plen] = '\0';
		/* Offsets into the prompt: the special tokens before it, and an added space, at 0. */
		size_t at = off[first];
		for (size_t i = 0; i <= end; i++)
			off[i] = i <= first || off[i] - at < shift ? 0 : off[i] - at - shift;
		w->off = off;
		off = NULL;
		w->ntok = end;
		w->first = first;
		for (size_t i = 0; i < opt.context; i++) {
			add_member(&w->tokens, lp, tokens, i);
			add_member(&w->lps, lp, lps, i);
			add_member(&w->tops, lp, tops, i);
		}
		w->done = opt.context;
	} else {
		/* The window's tokens from the first one that starts where the scored ones end. */
		size_t base = w->off[w->begin], from = w->off[w->done];
		size_t end = w->done + opt.stride < w->ntok ? w->done + opt.stride : w->ntok;
		size_t skip, stop, shift;
		if (spelling_start(off, n, spelled.p, w->text + base, w->off[end] - base, &skip, &stop, &shift) < 0) {
			fail(t, "bad_request", o->status, "--context: a window's tokens do not spell its text");
			goto out;
		}
		size_t i = skip;
		while (i < stop && base + (off[i] - off[skip]) < from + shift)
			i++;
		for (; i < stop; i++) {
			add_member(&w->tokens, lp, tokens, i);
			add_member(&w->lps, lp, lps, i);
			add_member(&w->tops, lp, tops, i);
		}
		w->done = end;
	}
	add_usage(w, r->usage, o->latency_ms);
	if (w->done < w->ntok) {
		window_next(t);
		rc = 1;
		goto out;
	}
	qa_buf m = { 0 };
	buf_printf(&m, "{\"tokens\":[%.*s],\"token_logprobs\":[%.*s]", (int)w->tokens.len,
	    w->tokens.p ? w->tokens.p : "", (int)w->lps.len, w->lps.p ? w->lps.p : "");
	if (tops >= 0)
		buf_printf(&m, ",\"top_logprobs\":[%.*s]", (int)w->tops.len, w->tops.p ? w->tops.p : "");
	buf_printf(&m, ",\"windows\":{\"context\":%zu,\"stride\":%zu,\"requests\":%d}}", opt.context, opt.stride,
	    w->requests);
	*merged = xstrdup(buf_cstr(&m));
	buf_free(&m);
	rc = 0;
out:
	free(off);
	buf_free(&spelled);
	json_free(&lp);
	return rc;
}

/*
 * An answer whose server timed itself: latency much larger than the
 * server's compute (prompt_ms + predicted_ms) is waiting, not work; and
 * the first chat request made from a bare prompt is kept, to compare its
 * prompt_tokens with the prompt's own at the end (report_server()).
 */
void note_server(struct task *t, const struct outcome *o)
{
	const struct qa_reply *r = &o->reply;
	struct endpoint *e = t->ep;
	double pm, gm, pt;
	if (json_parse(scratch, r->server_timings, strlen(r->server_timings), &(const char *){ 0 },
	    &(size_t){ 0 }) == 0 && json_num(scratch, json_find(scratch, 0, "prompt_ms"), &pm) == 0 &&
	    json_num(scratch, json_find(scratch, 0, "predicted_ms"), &gm) == 0) {
		double compute = pm + gm, over = o->latency_ms - compute;
		e->st_n++;
		if (over > 250 && over > 2 * compute) {
			e->st_slow++;
			e->st_lat += o->latency_ms;
			e->st_comp += compute;
		}
	}
	size_t plen;
	const char *prompt = json_str(t->j, json_member(t->j, 0, "prompt", 6), &plen);
	if (!e->chat_prompt && prompt && json_member(t->j, 0, "system", 6) < 0 && t->req.url &&
	    strstr(t->req.url, "/chat/completions") && r->usage &&
	    json_parse(scratch, r->usage, strlen(r->usage), &(const char *){ 0 }, &(size_t){ 0 }) == 0 &&
	    json_num(scratch, json_find(scratch, 0, "prompt_tokens"), &pt) == 0) {
		e->chat_prompt = xstrndup(prompt, plen);
		e->chat_tokens = pt;
	}
}

void succeed(struct task *t, const struct outcome *o, double now)
{
	const struct qa_reply *r = &o->reply;
	if ((r->usage && !valid_json(r->usage)) || (r->logprobs && !valid_json(r->logprobs)) ||
	    (r->server_timings && !valid_json(r->server_timings))) {
		if (fall_back(t, "bad_response", o->status, "the provider returned usage or logprobs that are not JSON",
		    now) == 0 && enter(t, now) == 0)
			ready_push(t);
		return;
	}
	char *merged = NULL;
	/* An engine in the process cuts its own windows (worker.c passes it --context and --stride). */
	if (opt.context && r->logprobs && !t->ep->prov->l.plugin->provider->compute) {
		int rc = window_step(t, o, &merged);
		if (rc < 0)
			return;
		if (rc > 0) {
			/* The next window: a request of its own, with retries of its own. */
			t->prior_attempts += t->attempts;
			t->attempts = 0;
			if (enter(t, now) == 0)
				ready_push(t);
			return;
		}
	}
	/* A chat request to a server that times itself (llama.cpp's): its template goes in response.sent. */
	if (r->server_timings && !t->win && t->req.url && strstr(t->req.url, "/chat/completions"))
		sent_props(t->ep);
	const char *text = t->win ? t->win->text : r->text;
	qa_buf b = { 0 };
	buf_adds(&b, "{\"text\":");
	if (text)	/* an answer may hold NULs (\u0000): its length, not strlen's */
		buf_json_string(&b, text, !t->win && r->text_len ? r->text_len : strlen(text));
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"finish_reason\":");
	if (r->finish_reason)
		buf_json_string(&b, r->finish_reason, strlen(r->finish_reason));
	else
		buf_adds(&b, "null");
	const char *model = r->model ? r->model : t->model;
	buf_adds(&b, ",\"model\":");
	if (model)
		buf_json_string(&b, model, strlen(model));
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"endpoint\":");
	buf_json_string(&b, t->ep->name, strlen(t->ep->name));
	buf_adds(&b, ",\"usage\":");
	if (t->win)
		buf_printf(&b, "{\"prompt_tokens\":%.0f,\"completion_tokens\":%.0f,\"total_tokens\":%.0f}",
		    t->win->prompt_tokens, t->win->completion_tokens,
		    t->win->prompt_tokens + t->win->completion_tokens);
	else if (!stream_usage_json(t, &b))
		buf_adds(&b, r->usage ? r->usage : "null");
	if (t->win || !stream_latency_json(t, &b)) {
		buf_adds(&b, ",\"latency_ms\":");
		buf_json_number(&b, round((t->win ? t->win->latency_ms : o->latency_ms) * 10) / 10);
	}
	/* libcurl's breakdown of the (last) attempt, ms from its start: queueing shows in ttfb. */
	if (o->timed)
		buf_printf(&b, ",\"timing\":{\"connect\":%.1f,\"tls\":%.1f,\"ttfb\":%.1f}", o->connect_ms, o->tls_ms,
		    o->ttfb_ms);
	if (r->drift && !t->win) {
		buf_adds(&b, ",\"drift\":");
		buf_adds(&b, r->drift);
	}
	if (r->server_timings && !t->win) {
		buf_adds(&b, ",\"server_timings\":");
		buf_adds(&b, r->server_timings);
		note_server(t, o);
	}
	buf_printf(&b, ",\"attempts\":%d,\"status\":%ld,\"request_id\":", t->prior_attempts + t->attempts,
	    o->status);
	if (t->h.request_id.len)
		buf_json_string(&b, t->h.request_id.p, t->h.request_id.len);
	else if (r->id)
		buf_json_string(&b, r->id, strlen(r->id));
	else
		buf_adds(&b, "null");
	if (t->h.ratelimit.len) {
		buf_adds(&b, ",\"ratelimit\":{");
		buf_add(&b, t->h.ratelimit.p, t->h.ratelimit.len);
		buf_addc(&b, '}');
	}
	if (t->from.len) {
		buf_adds(&b, ",\"fallback_from\":[");
		buf_add(&b, t->from.p, t->from.len);
		buf_addc(&b, ']');
	}
	if (merged || r->logprobs) {
		buf_adds(&b, ",\"logprobs\":");
		buf_adds(&b, merged ? merged : r->logprobs);
	}
	sent_add(&b, t);
	buf_addc(&b, '}');
	scrub(&b);
	cache_store(t, b.p, b.len, r->finish_reason);
	emit(t, b.p, b.len, NULL, 0);
	buf_free(&b);
	free(merged);
	task_done(t);
}

/* An attempt ended: answer, retry, or give up. */
void settle(struct task *t, struct outcome *o, double now)
{
	pace_settle(t, o, now);
	note_outcome(t->ep, o, now);
	if (o->ok) {
		trace(t, "answer", o, "", now, -1);
		succeed(t, o, now);
	} else {
		double delay = 0;
		const char *why;
		char reason[160] = "";
		if (decide(t, o, now, &delay, &why, reason, sizeof reason)) {
			trace(t, "retry", o, reason, now, delay);
			t->st = T_WAIT;
			t->wake = now + delay;
			waiting++;
			stats.retries++;
			t->last_type = o->type;
			t->last_status = o->status;
			t->last_msg.len = 0;
			buf_adds(&t->last_msg, o->message ? o->message : o->type);
		} else {
			trace(t, "give_up", o, why ? why : o->retry ? "retries exhausted" : "not retryable", now, -1);
			give_up(t, o, why, now);
		}
	}
	free(o->message);
	reply_free(&o->reply);
}
