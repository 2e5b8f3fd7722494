/*
 * The providers' response parsers (the .c files in plugins/providers), fed as a server
 * would answer: the first byte of a case picks the HTTP status and the
 * record that asked, the rest is the body.  Every provider parses every
 * case.  Oracles: a parser says yes with an answer or an error, no with a
 * reason; the JSON fields it hands qa-send (usage, logprobs) scan as JSON.
 */
#include <string.h>

#include "fuzz.h"

static const char *const names[] = { "openai", "openai-completions", "mock" };
#define NPROV (sizeof names / sizeof names[0])
static qa_loaded prov[NPROV];
static void *state[NPROV];
static const long statuses[] = { 200, 200, 200, 200, 400, 401, 403, 404, 408, 429, 500, 502, 503, 529, 0, 302 };
static const char *const records[] = {
	"{\"prompt\":\"hi\"}",
	"{\"prompt\":\"hi\",\"params\":{\"logprobs\":true,\"top_logprobs\":2}}",
	"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"params\":{\"logprobs\":1}}",
	"{\"prompt\":\"hi\",\"params\":{\"echo\":true,\"logprobs\":0,\"max_tokens\":0}}",
};
static qa_json *rec[4], *params[4], *check;

static void fuzz_setup(void)
{
	char err[512];
	const char *e;
	size_t off;
	for (size_t i = 0; i < NPROV; i++) {
		if (plugin_load(names[i], QA_KIND_PROVIDER, &prov[i], err, sizeof err) < 0) {
			fprintf(stderr, "%s\n", err);
			exit(2);
		}
		qa_json *empty = json_new();
		json_parse(empty, "{}", 2, &e, &off);
		char *ierr = NULL;
		if (prov[i].plugin->provider->init && prov[i].plugin->provider->init(empty, &state[i], &ierr) < 0) {
			fprintf(stderr, "%s: %s\n", names[i], ierr ? ierr : "init failed");
			exit(2);
		}
		json_free(&empty);
	}
	for (size_t r = 0; r < 4; r++) {
		rec[r] = json_new();
		FUZZ_CHECK(json_parse(rec[r], records[r], strlen(records[r]), &e, &off) == 0);
		params[r] = json_new();
		int pt = json_member(rec[r], 0, "params", 6);
		size_t len = 2;
		const char *ptext = pt >= 0 ? json_raw(rec[r], pt, &len) : "{}";
		FUZZ_CHECK(json_parse(params[r], ptext, len, &e, &off) == 0);
	}
	check = json_new();
}

static void scans(const char *s)
{
	const char *e;
	size_t off;
	if (s)
		FUZZ_CHECK(json_parse(check, s, strlen(s), &e, &off) == 0);
}

/*
 * The openai providers' stream(): the body's lines as a stream's events
 * (several, so the fast path's compare with the last chunk is tried), read
 * with QA_OPENAI_STREAM_PARSE=full and unset: the fast path must give what
 * the full parse gives.
 */
struct streamed {
	int rc, flags[64], n;
	long tokens;
	struct qa_reply out;
};

static void stream_run(const struct qa_provider_ops *ops, const char *mode, const char *body, size_t len,
    struct streamed *s)
{
	struct qa_endpoint ep = { "fuzz", "http://127.0.0.1:1/v1", "m", params[0] };
	const char *p = body, *e = body + len, *nl;
	void *acc = NULL;
	int f = 0;

	if (mode)
		setenv("QA_OPENAI_STREAM_PARSE", mode, 1);
	else
		unsetenv("QA_OPENAI_STREAM_PARSE");
	memset(s, 0, sizeof *s);
	s->out.size = sizeof s->out;
	for (; p < e && f >= 0 && s->n < 64; p = nl + 1) {
		if (!(nl = memchr(p, '\n', (size_t)(e - p))))
			nl = e;
		f = ops->stream(NULL, rec[0], &ep, &acc, p, (size_t)(nl - p), QA_STREAM_MORE, NULL, NULL);
		s->flags[s->n++] = f;
		host_reset();
	}
	s->rc = ops->stream(NULL, rec[0], &ep, &acc, NULL, 0, QA_STREAM_DONE, &s->tokens, &s->out);
	FUZZ_CHECK(acc == NULL);
	unsetenv("QA_OPENAI_STREAM_PARSE");
	host_reset();
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void reply_free(struct qa_reply *o)
{
	free(o->text);
	free(o->finish_reason);
	free(o->model);
	free(o->id);
	free(o->usage);
	free(o->logprobs);
	free(o->error);
	free(o->server_timings);
}

static void stream_same(const struct qa_provider_ops *ops, const char *body, size_t len)
{
	struct streamed full, both;

	stream_run(ops, "full", body, len, &full);
	stream_run(ops, NULL, body, len, &both);
	FUZZ_CHECK(full.n == both.n && memcmp(full.flags, both.flags, sizeof full.flags) == 0);
	FUZZ_CHECK(full.rc == both.rc && full.tokens == both.tokens);
	FUZZ_CHECK(same(full.out.text, both.out.text) && full.out.text_len == both.out.text_len);
	FUZZ_CHECK(same(full.out.finish_reason, both.out.finish_reason));
	FUZZ_CHECK(same(full.out.model, both.out.model) && same(full.out.id, both.out.id));
	FUZZ_CHECK(same(full.out.usage, both.out.usage) && same(full.out.logprobs, both.out.logprobs));
	FUZZ_CHECK(same(full.out.error, both.out.error) && same(full.out.error_type, both.out.error_type));
	reply_free(&full.out);
	reply_free(&both.out);
}

static void fuzz_one(const char *p, size_t n)
{
	unsigned char pick = n ? (unsigned char)p[0] : 0;
	long status = statuses[pick & 15];
	size_t r = (pick >> 4) & 3;
	const char *body = n ? p + 1 : p;
	size_t len = n ? n - 1 : 0;
	struct qa_endpoint ep = { "fuzz", "http://127.0.0.1:1/v1", "m", params[r] };
	for (size_t i = 0; i < NPROV; i++) {
		struct qa_reply out = { .size = sizeof out };
		int rc = prov[i].plugin->provider->parse(state[i], rec[r], &ep, status, body, len, &out);
		FUZZ_CHECK(rc == 0 || rc == -1);
		if (rc < 0)
			FUZZ_CHECK(out.error != NULL);
		scans(out.usage);
		scans(out.logprobs);
		FUZZ_CHECK(out.retry >= -1 && out.retry <= 1 && out.retry_after_ms >= 0);
		free(out.text);
		free(out.finish_reason);
		free(out.model);
		free(out.id);
		free(out.usage);
		free(out.logprobs);
		free(out.error);
		host_reset();
	}
	for (size_t i = 0; i < 2; i++)	/* openai, openai-completions */
		stream_same(prov[i].plugin->provider, body, len);
}
