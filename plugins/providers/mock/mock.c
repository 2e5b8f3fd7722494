/*
 * mock: a provider that answers in-process, without a network.  It is what
 * the demo and the tests run on, and it behaves like a family of models:
 *
 *   baseline   right on about 86% of items, p50 latency 400 ms
 *   int8       about 85%, p50 330 ms, a little logprob noise
 *   int4       about 78%, p50 250 ms, more noise, some format drift
 *   fragile    int8 while it serves under 60% of the traffic; from 60% on
 *              (the record's route.weight, set by qa-route) it is
 *              overloaded: about 55%, p50 1200 ms, drifting formats.  It
 *              is the cheap relay that a migration ramp must catch.
 *
 * (a model name containing fragile is fragile; int4, q4, 4bit, awq or gptq
 * is int4; int8, q8, 8bit or fp8 is int8; anything else is baseline.)  Everything is
 * deterministic per (model, prompt, params.seed).  Whether an item comes
 * out right is u < accuracy, with u drawn per item, not per model, so the
 * items int4 gets right are mostly a subset of those baseline gets right;
 * a small per-model flip in both directions makes the difference real.
 * A task name shifts every model's accuracy alike; numeric (GSM8K) items
 * cost quantized models a little more.
 *
 * The answer is written so the record's own metric scores it as intended:
 * "The answer is B." for choice, "... #### 72" for numeric, the reference
 * itself for exact_match and squad; a plausible wrong answer otherwise
 * (another letter, another number, another word).  int4 sometimes drops
 * "####" or answers a choice in words, as quantized models do.
 *
 * params: mock_accuracy (0-1, replaces the model's accuracy exactly, no
 * flips, no drift), mock_latency_ms (the median), mock_wait (true: qa-send really
 * waits the latency), mock_status (answer this HTTP status instead),
 * max_tokens (cuts the answer: finish_reason "length"), logprobs (N or
 * true) with echo (the prompt's tokens first, the first one null), seed.
 *
 * No libm: exp and log are computed here, so results are the same bits on
 * every libc, and the plugin needs nothing the host may not have loaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

const struct qa_host *mock_host;

/* ---- the provider ---- */

static int build(void *st, const qa_json *rec, const struct qa_endpoint *ep, struct qa_request *req,
    char **err)
{
	(void)st;
	if (H->type(rec, "prompt") != QA_STRING && H->type(rec, "messages") != QA_ARRAY) {
		*err = H->format("the record has neither a prompt string nor a messages array");
		return -1;
	}
	const char *model = ep->model && *ep->model ? ep->model : "baseline";
	struct qa_text t = { 0 };
	add(&t, "{\"model\":");
	H->text_json(&t, model, strlen(model));
	add(&t, "}");
	req->url = H->format("mock:///%s", model);
	req->body = t.p;
	req->body_len = t.len;
	return 0;
}

/* mock_status: an HTTP error instead of an answer.  Whether it was asked for. */
static int simulated_error(const qa_json *p, struct qa_sim *sim)
{
	double status;
	if (H->number(p, "mock_status", &status) != 0 || !(status >= 400 && status < 600))
		return 0;
	sim->status = (long)status;
	sim->body = H->format("{\"error\":{\"message\":\"mock: simulated HTTP %ld\",\"type\":\"mock_error\","
	    "\"code\":null}}", sim->status);
	sim->body_len = strlen(sim->body);
	sim->latency_ms = 5;
	return 1;
}

/* Right or wrong: u < accuracy, u shared by every model; then the model's own flips.  *drift: it drifts. */
static int is_right(const qa_json *rec, const qa_json *p, const struct item *it, int *drift)
{
	const struct profile *pr = it->prof;
	double target, flip = pr->flip, drift_rate = pr->drift, forced;
	if (H->number(p, "mock_accuracy", &forced) == 0) {
		target = forced < 0 ? 0 : forced > 1 ? 1 : forced;
		flip = drift_rate = 0;
	} else {
		target = pr->accuracy;
		size_t tl;
		const char *task = H->string(rec, "task", &tl);
		if (!task)
			task = H->string(rec, "name", &tl);
		if (task)
			target += (unif(hash(0x7461736bu, task, tl)) - 0.5) * 0.16;
		if (it->kind == K_NUMERIC)
			target -= pr->numeric_penalty;
		target = target < 0.02 ? 0.02 : target > 0.99 ? 0.99 : target;
	}
	double acc = (target - flip) / (1 - 2 * flip);
	acc = acc < 0 ? 0 : acc > 1 ? 1 : acc;
	int right = unif(it->key ^ 0x7269676874u) < acc;
	if (unif(it->mkey ^ 0x666c6970u) < flip)
		right = !right;
	*drift = unif(it->mkey ^ 0x6472696674u) < drift_rate;
	return right;
}

/* max_tokens cuts the answer, about 1.3 tokens a word: the finish reason. */
static const char *cut_answer(const qa_json *p, struct qa_text *text)
{
	double maxt;
	if (H->number(p, "max_tokens", &maxt) != 0 && H->number(p, "max_completion_tokens", &maxt) != 0)
		return "stop";
	size_t words = count_words(text->p, text->len);
	size_t keep = maxt <= 0 ? 0 : (size_t)(maxt * 10 / 13);
	if (words <= keep)
		return "stop";
	struct qa_text cut = { 0 };
	add(&cut, "");
	if (keep)
		some_words(&cut, text->p, text->len, keep);
	H->free(text->p);
	*text = cut;
	return "length";
}

/* Alternatives per token: logprobs N (or true: 0), top_logprobs N; -1 for none; at most 20. */
static long top_count(const qa_json *p)
{
	double nlp, nt;
	long ntop = -1;
	if (H->number(p, "logprobs", &nlp) == 0 && nlp >= 0)
		ntop = (long)nlp;
	else if (H->boolean(p, "logprobs") == 1)
		ntop = 0;
	if (ntop >= 0 && H->number(p, "top_logprobs", &nt) == 0 && nt >= 0)
		ntop = (long)nt;
	return ntop > 20 ? 20 : ntop;
}

/* The completions endpoint's answer: id, model, the text (echoed after the prompt), logprobs, usage. */
static void answer_body(struct qa_text *b, const struct item *it, const qa_json *p, const struct qa_text *text,
    const char *finish)
{
	size_t pw = count_words(it->prompt, it->promptlen), cw = count_words(text->p, text->len);
	long ptok = (long)((pw * 13 + 9) / 10), ctok = (long)((cw * 13 + 9) / 10);
	if (ptok < 1)
		ptok = 1;
	add(b, "{\"id\":");
	H->text_printf(b, "\"mock-%016llx\"", (unsigned long long)it->mkey);
	add(b, ",\"object\":\"text_completion\",\"model\":");
	H->text_json(b, it->model, strlen(it->model));
	add(b, ",\"choices\":[{\"index\":0,\"text\":");
	int echo = H->boolean(p, "echo") == 1;
	if (echo) {
		/* Echo: the prompt, then the answer, as the completions endpoint sends it. */
		struct qa_text both = { 0 };
		H->text_add(&both, it->prompt, it->promptlen);
		H->text_add(&both, text->p, text->len);
		H->text_json(b, both.p, both.len);
		H->free(both.p);
	} else {
		H->text_json(b, text->p, text->len);
	}
	H->text_printf(b, ",\"finish_reason\":\"%s\",\"logprobs\":", finish);
	long ntop = top_count(p);
	if (ntop >= 0)
		logprobs(b, it, echo, ntop, text->p, text->len);
	else
		add(b, "null");
	H->text_printf(b, "}],\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}",
	    ptok, ctok, ptok + ctok);
}

static int respond(void *st, const qa_json *rec, const struct qa_endpoint *ep, const struct qa_request *req,
    struct qa_sim *sim, char **err)
{
	(void)st, (void)req, (void)err;
	const qa_json *p = ep->params;
	struct item it = { 0 };
	struct qa_text all = { 0 };
	item_of(rec, ep, &it, &all);
	if (simulated_error(p, sim)) {
		H->free(all.p);
		return 0;
	}
	int drift, right = is_right(rec, p, &it, &drift);
	struct qa_text text = { 0 };
	add(&text, "");
	answer(&text, &it, right, drift);
	const char *finish = cut_answer(p, &text);

	double median = it.prof->median_ms, lat;
	if (H->number(p, "mock_latency_ms", &lat) == 0 && lat >= 0)
		median = lat;
	double latency = median * m_exp(0.35 * normal(it.mkey ^ 0x6c6174u));

	struct qa_text b = { 0 };
	answer_body(&b, &it, p, &text, finish);
	sim->status = 200;
	sim->body = b.p;
	sim->body_len = b.len;
	sim->latency_ms = (double)(long long)(latency * 10 + 0.5) / 10;
	sim->wait = H->boolean(p, "mock_wait") == 1;
	H->free(text.p);
	H->free(all.p);
	return 0;
}

static int parse(void *st, const qa_json *rec, const struct qa_endpoint *ep, long status,
    const char *body, size_t len, struct qa_reply *out)
{
	(void)st, (void)rec, (void)ep;
	const char *perr;
	const qa_json *d = H->parse(body, len, &perr);
	if (!d) {
		out->error = H->format("the response is not JSON (%s)", perr);
		return -1;
	}
	if (status < 200 || status > 299) {
		H->error_body(status, body, len, out);
		return 0;
	}
	out->text = H->copy_len(d, "choices[0].text", QA_STRING, &out->text_len);
	out->finish_reason = H->copy(d, "choices[0].finish_reason", QA_STRING);
	out->model = H->copy(d, "model", QA_STRING);
	out->id = H->copy(d, "id", QA_STRING);
	out->usage = H->copy(d, "usage", QA_OBJECT);
	out->logprobs = H->copy(d, "choices[0].logprobs", QA_OBJECT);
	return 0;
}

static const struct qa_provider_ops ops = {
	QA_OPS(qa_provider_ops),
	.build = build,
	.parse = parse,
	.respond = respond,
};

static const struct qa_plugin me = {
	QA_PLUGIN_HEADER(QA_KIND_PROVIDER, "mock", "1.0",
	    "in-process answers without a network: models baseline, int8, int4, fragile"),
	.provider = &ops,
};

QA_PLUGIN_EXPORT(&me)
