/*
 * The openai providers' stream() (plugins/providers/openai.c) on recorded streams: llama.cpp v0.4.0's own (chat and
 * completions, tests/data/stream/llama-*.sse, recorded with curl -N from
 * llama-server and the tiny test model) and OpenAI-style ones written from
 * the API reference (role-only first chunk, usage-only last chunk, logprobs
 * per chunk in both layouts, reasoning deltas, an error event, a cut).
 * Every stream goes through lib/sse split in two at every byte, and must
 * give the same reply each time.
 */
#include <stdlib.h>

#include "qa.h"
#include "latency.h"
#include "sse.h"
#include "t.h"

static const struct qa_host *H = &qa_host_table;
static const struct qa_provider_ops *chat_ops, *completions_ops;
static const struct qa_endpoint ep = { "test", NULL, NULL, NULL };

struct run {
	const struct qa_provider_ops *ops;
	void *acc;
	long chunk_tokens;
	unsigned flags[32];
	int n, failed;
};

static int on_event(void *ctx, const qa_sse_event *ev)
{
	struct run *r = ctx;
	int f = r->ops->stream(NULL, NULL, &ep, &r->acc, ev->data, ev->len, QA_STREAM_MORE, NULL, NULL);

	if (f < 0) {
		r->failed = 1;
		return 0;	/* the error stays in the provider's state for the end */
	}
	if (r->n < 32)
		r->flags[r->n++] = (unsigned)f;
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	qa_buf b = { 0 };
	char tmp[4096];
	size_t r;

	if (!fp) {
		fprintf(stderr, "%s: cannot open\n", path);
		exit(1);
	}
	while ((r = fread(tmp, 1, sizeof tmp, fp)) > 0)
		buf_add(&b, tmp, r);
	fclose(fp);
	buf_cstr(&b);
	*len = b.len;
	return b.p;
}

struct want {
	const char *text, *finish, *usage, *logprobs, *model, *error, *error_type;
	long chunk_tokens;
	const char *flags;	/* per event: r role/choices only, c content, R reasoning, u usage, - none */
};

static void flag_string(const struct run *r, char *out)
{
	int i;

	for (i = 0; i < r->n; i++) {
		unsigned f = r->flags[i];
		out[i] = f & QA_CHUNK_USAGE ? 'u' : f & QA_CHUNK_CONTENT ? 'c' : f & QA_CHUNK_REASONING ? 'R'
		    : f & QA_CHUNK_CHOICES ? 'r' : '-';
	}
	out[r->n] = '\0';
}

static int check_reply(const char *name, size_t split, const struct want *w, const struct run *r,
    const struct qa_reply *out, int rc)
{
	int before = t_failed;
	char fl[40];

	if (w->error) {
		CHECK(rc == -1);
		CHECK(out->error && strstr(out->error, w->error));
		CHECK_STR(out->error_type, w->error_type);
	} else {
		CHECK(rc == 0);
		CHECK_STR(out->text, w->text);
		CHECK(out->text && out->text_len == strlen(w->text));
		CHECK_STR(out->finish_reason, w->finish);
		if (w->usage)
			CHECK_STR(out->usage, w->usage);
		else
			CHECK(out->usage == NULL);
		if (w->logprobs)
			CHECK_STR(out->logprobs, w->logprobs);
		else
			CHECK(out->logprobs == NULL);
		CHECK_STR(out->model, w->model);
		CHECK(r->chunk_tokens == w->chunk_tokens);
		flag_string(r, fl);
		CHECK_STR(fl, w->flags);
	}
	if (t_failed != before) {
		fprintf(stderr, "  (%s, split at %zu)\n", name, split);
		return -1;
	}
	return 0;
}

static void free_reply(struct qa_reply *o)
{
	H->free(o->text);
	H->free(o->finish_reason);
	H->free(o->model);
	H->free(o->id);
	H->free(o->usage);
	H->free(o->logprobs);
	H->free(o->error);
	H->free(o->server_timings);
	memset(o, 0, sizeof *o);
}

static void check_stream(const char *file, int chat, const struct want *w)
{
	char path[200];
	size_t len, k;
	char *s;

	snprintf(path, sizeof path, "tests/data/stream/%s", file);
	s = slurp(path, &len);
	for (k = 0; k <= len; k++) {
		struct run r = { 0 };
		struct qa_reply out = { 0 };
		qa_sse p;
		int rc, bad;

		static const int ends[] = { [QA_SSE_DONE] = QA_STREAM_DONE, [QA_SSE_EOF] = QA_STREAM_EOF,
			[QA_SSE_CUT] = QA_STREAM_CUT };
		r.ops = chat ? chat_ops : completions_ops;
		out.size = sizeof out;
		sse_init(&p, on_event, &r);
		sse_feed(&p, s, k);
		sse_feed(&p, s + k, len - k);
		rc = r.ops->stream(NULL, NULL, &ep, &r.acc, NULL, 0, ends[sse_finish(&p)], &r.chunk_tokens, &out);
		CHECK(r.acc == NULL);
		bad = check_reply(file, k, w, &r, &out, rc);
		free_reply(&out);
		sse_free(&p);
		host_reset();
		if (bad)
			break;
	}
	free(s);
}

static const struct qa_provider_ops *load(const char *name, qa_loaded *l)
{
	char err[1024];

	if (plugin_load(name, QA_KIND_PROVIDER, l, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	return l->plugin->provider;
}

/* A request dropped half-way: the provider frees its state (the sanitizer build checks the leak). */
static void check_drop(void)
{
	void *acc = NULL;
	static const char ev[] = "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}";

	CHECK(chat_ops->stream(NULL, NULL, &ep, &acc, ev, sizeof ev - 1, QA_STREAM_MORE, NULL, NULL) ==
	    (QA_CHUNK_CHOICES | QA_CHUNK_CONTENT));
	CHECK(acc != NULL);
	CHECK(chat_ops->stream(NULL, NULL, &ep, &acc, NULL, 0, QA_STREAM_DROP, NULL, NULL) == 0);
	CHECK(acc == NULL);
	host_reset();
}

int main(void)
{
	qa_loaded chat_l, completions_l;

	host_init();
	chat_ops = load("openai", &chat_l);
	completions_ops = load("openai-completions", &completions_l);
	CHECK(QA_HAS(chat_ops, stream) && chat_ops->stream && completions_ops->stream);
	check_drop();
	check_stream("llama-chat.sse", 1, &(struct want){
	    .text = " been if firv", .finish = "length", .model = "f32", .chunk_tokens = 4, .flags = "rccccru",
	    .usage = "{\"completion_tokens\":4,\"prompt_tokens\":57,\"total_tokens\":61,"
		"\"prompt_tokens_details\":{\"cached_tokens\":0}}",
	    .logprobs = "{\"tokens\":[\" been\",\" if\",\" fir\",\"v\"],"
		"\"token_logprobs\":[-0.6526588797569275,-0.24380627274513245,-0.7954952716827393,-1.7461432218551636],"
		"\"top_logprobs\":[{\" been\":-0.6526588797569275,\" ou\":-1.9708389043807983},"
		"{\" if\":-0.24380627274513245,\" y\":-3.74853253364563},"
		"{\" fir\":-0.7954952716827393,\" mor\":-2.2288129329681396},"
		"{\"v\":-1.7461432218551636,\" if\":-2.2111215591430664}]}" });
	/* Completions: llama.cpp sends the chat layout of logprobs here too, and usage on the finish chunk. */
	check_stream("llama-completions.sse", 0, &(struct want){
	    .text = " se^/", .finish = "length", .model = "f32", .chunk_tokens = 3, .flags = "cccu",
	    .usage = "{\"completion_tokens\":3,\"prompt_tokens\":4,\"total_tokens\":7,"
		"\"prompt_tokens_details\":{\"cached_tokens\":1}}",
	    .logprobs = "{\"tokens\":[\" se\",\"^\",\"/\"],"
		"\"token_logprobs\":[-1.5883586406707764,-0.27841275930404663,-1.3834636211395264],"
		"\"top_logprobs\":[{\" se\":-1.5883586406707764,\"=\":-1.8439686298370361},"
		"{\"^\":-0.27841275930404663,\"C\":-2.7642202377319336},"
		"{\"/\":-1.3834636211395264,\"B\":-2.1623618602752686}]}" });
	/* OpenAI chat: "" content in the role chunk is not a token; two tokens in one chunk; a collision. */
	check_stream("openai-chat.sse", 1, &(struct want){
	    .text = "Hello world\n", .finish = "stop", .model = "gpt-4o-mini", .chunk_tokens = 3, .flags = "rccru",
	    .usage = "{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}",
	    .logprobs = "{\"tokens\":[\"Hello\",\" world\",\"\\n\"],\"token_logprobs\":[-0.25,-0.5,-0.125],"
		"\"top_logprobs\":[{\"Hello\":-0.25,\"Hi\":-1.5},{\" world\":-0.5},{}],\"collisions\":1}" });
	check_stream("openai-completions.sse", 0, &(struct want){
	    .text = " Paris.", .finish = "stop", .model = "gpt-3.5-turbo-instruct", .chunk_tokens = 2, .flags = "cc",
	    .logprobs = "{\"tokens\":[\" Paris\",\".\"],\"token_logprobs\":[-0.03125,-0.75],"
		"\"top_logprobs\":[{\" Paris\":-0.03125,\" Lyon\":-4.5},{\".\":-0.75,\",\":-1}]}" });
	check_stream("reasoning-chat.sse", 1, &(struct want){
	    .text = "4", .finish = "stop", .model = "r", .chunk_tokens = 3, .flags = "rRRc" });
	check_stream("cut-chat.sse", 1, &(struct want){
	    .error = "the stream was cut after 2 chunks", .error_type = "bad_response" });
	check_stream("error-chat.sse", 1, &(struct want){
	    .error = "error event in the stream: The server had an error", .error_type = "server" });
	plugin_unload(&chat_l);
	plugin_unload(&completions_l);
	host_fini();
	return t_done("test_openai_stream");
}
