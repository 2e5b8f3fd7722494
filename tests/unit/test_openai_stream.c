/*
 * The openai providers' stream() (plugins/providers/openai/) on recorded streams: llama.cpp v0.4.0's own (chat and
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

/*
 * The fast path (fast_event() in openai/stream.c) against the full parse on the
 * same events: QA_OPENAI_STREAM_PARSE=full reads every event the full way,
 * =fast only the fast way (an event it does not take is then an error),
 * unset both (the fast path, else the full parse).
 */
struct outcome {
	int rc, failed;
	char flags[40];
	long chunk_tokens;
	struct qa_reply out;
};

/* Events of one stream, each NUL-terminated, the list ended by an empty one; lens[] for events holding a NUL. */
static void run_mode(const char *mode, int chat, const char *const *ev, const size_t *lens, struct outcome *o)
{
	struct run r = { 0 };
	int i;

	if (mode)
		setenv("QA_OPENAI_STREAM_PARSE", mode, 1);
	else
		unsetenv("QA_OPENAI_STREAM_PARSE");
	memset(o, 0, sizeof *o);
	o->out.size = sizeof o->out;
	r.ops = chat ? chat_ops : completions_ops;
	for (i = 0; ev[i]; i++) {
		qa_sse_event e = { .data = ev[i], .len = lens && lens[i] ? lens[i] : strlen(ev[i]) };
		on_event(&r, &e);
		if (r.failed)
			break;
	}
	o->rc = r.ops->stream(NULL, NULL, &ep, &r.acc, NULL, 0, QA_STREAM_DONE, &o->chunk_tokens, &o->out);
	o->failed = r.failed;
	flag_string(&r, o->flags);
	unsetenv("QA_OPENAI_STREAM_PARSE");
	host_reset();
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The fast path (or, with fast_only, it alone) gives what the full parse gives. */
static void check_same(const char *name, int chat, int fast_only, const char *const *ev, const size_t *lens)
{
	struct outcome full, both, fast;
	int before = t_failed;

	run_mode("full", chat, ev, lens, &full);
	run_mode(NULL, chat, ev, lens, &both);
	run_mode("fast", chat, ev, lens, &fast);
	CHECK(both.rc == full.rc && both.failed == full.failed);
	CHECK_STR(both.flags, full.flags);
	CHECK(both.chunk_tokens == full.chunk_tokens);
	CHECK(same_str(both.out.text, full.out.text) && both.out.text_len == full.out.text_len);
	CHECK(same_str(both.out.finish_reason, full.out.finish_reason));
	CHECK(same_str(both.out.model, full.out.model));
	CHECK(same_str(both.out.id, full.out.id));
	CHECK(same_str(both.out.usage, full.out.usage));
	CHECK(same_str(both.out.logprobs, full.out.logprobs));
	CHECK(same_str(both.out.server_timings, full.out.server_timings));
	CHECK(same_str(both.out.error, full.out.error));
	CHECK(same_str(both.out.error_type, full.out.error_type));
	if (fast_only) {
		/* The usual shapes: the fast path alone reads them, the same. */
		CHECK(fast.rc == full.rc && !fast.failed);
		CHECK_STR(fast.flags, full.flags);
		CHECK(same_str(fast.out.text, full.out.text) && fast.out.text_len == full.out.text_len);
		CHECK(same_str(fast.out.finish_reason, full.out.finish_reason));
		CHECK(same_str(fast.out.model, full.out.model) && same_str(fast.out.id, full.out.id));
		CHECK(same_str(fast.out.usage, full.out.usage));
		CHECK(same_str(fast.out.server_timings, full.out.server_timings));
		CHECK(same_str(fast.out.error, full.out.error));
		CHECK(fast.chunk_tokens == full.chunk_tokens);
	} else {
		/* An odd event: the fast path leaves it to the full parse. */
		CHECK(fast.failed && fast.out.error && strstr(fast.out.error, "not in the fast path's shape"));
	}
	if (t_failed != before)
		fprintf(stderr, "  (fast path vs full parse: %s; full: rc %d flags %s text %s)\n", name, full.rc,
		    full.flags, full.out.text ? full.out.text : "(null)");
	free_reply(&full.out);
	free_reply(&both.out);
	free_reply(&fast.out);
}

#define CHUNK(choice) "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000," \
	"\"model\":\"gpt-x\",\"system_fingerprint\":\"fp_1\",\"choices\":[" choice "]}"
#define DELTA(d) CHUNK("{\"index\":0,\"delta\":" d ",\"logprobs\":null,\"finish_reason\":null}")
#define TEXT(t) "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\"," \
	"\"choices\":[{\"text\":" t ",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}"
#define ONE(name, chat, fast, e) check_same(name, chat, fast, (const char *const[]){ e, NULL }, NULL)

static void check_fast_path(void)
{
	static const char *const usual[][2] = {
		{ "role", DELTA("{\"role\":\"assistant\",\"content\":\"\"}") },
		{ "content", DELTA("{\"content\":\"Hi\"}") },
		{ "escapes", DELTA("{\"content\":\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\"}") },
		{ "utf-8", DELTA("{\"content\":\"h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"}") },
		{ "control byte", DELTA("{\"content\":\"a\x01" "b\"}") },
		{ "null content", DELTA("{\"content\":null}") },
		{ "empty delta", DELTA("{}") },
		{ "nulls", DELTA("{\"content\":\"x\",\"refusal\":null,\"reasoning\":null,\"reasoning_content\":null,"
		    "\"tool_calls\":null}") },
		{ "finish", CHUNK("{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}") },
		{ "finish escaped", CHUNK("{\"index\":0,\"delta\":{},\"finish_reason\":\"st\\nop\"}") },
		{ "empty choices", "{\"id\":\"c\",\"choices\":[],\"usage\":null,\"error\":null}" },
		{ "empty object", "{}" },
		{ "spaces", " { \"choices\" : [ { \"delta\" : { \"content\" : \"x\" } , \"finish_reason\" : null } ] ,"
		    "\"model\"\t:\r\n\"m\" }\n " },
		{ "scalars", "{\"a\":-1.5e+3,\"b\":0,\"c\":true,\"d\":false,\"e\":null,\"f\":\"s\",\"g\":12.25E-2,"
		    "\"choices\":[{\"delta\":{\"content\":\"x\",\"n\":1}}]}" },
		{ "llama.cpp order", "{\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\" been\"}}],"
		    "\"created\":1,\"id\":\"chatcmpl-x\",\"model\":\"f32\",\"system_fingerprint\":\"b1\","
		    "\"object\":\"chat.completion.chunk\"}" },
		{ "model escaped", "{\"model\":\"a\\/b\",\"id\":\"i\\\"d\",\"choices\":[{\"delta\":{\"content\":\"x\"}}]}" },
		{ "no choices", "{\"id\":\"c\",\"model\":\"m\"}" },
		{ "usage", "{\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}" },
		{ "usage spaced", "{\"usage\": {\"a\": 1, \"b\": {\"c\": [1, 2.5e3, null, true, \"x\\n\", {}, []]}}}" },
		{ "usage null", "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":null,\"timings\":null}" },
		{ "timings", "{\"choices\":[],\"timings\":{\"predicted_n\":2}}" },
		{ "llama.cpp last", "{\"choices\":[{\"finish_reason\":\"length\",\"index\":0,\"delta\":{}}],\"created\":1,"
		    "\"model\":\"f32\",\"usage\":{\"completion_tokens\":4,\"prompt_tokens\":57,\"total_tokens\":61,"
		    "\"prompt_tokens_details\":{\"cached_tokens\":0}},\"timings\":{\"predicted_n\":4,\"predicted_ms\":1.5}}" },
	};
	static const char *const odd[][2] = {
		{ "\\u escape", DELTA("{\"content\":\"\\u00e9\"}") },
		{ "surrogates", DELTA("{\"content\":\"\\ud83d\\ude00 \\ud800\"}") },
		{ "key escaped", DELTA("{\"con\\u0074ent\":\"x\"}") },
		{ "reasoning", DELTA("{\"reasoning_content\":\"think\"}") },
		{ "reasoning (openrouter)", DELTA("{\"reasoning\":\"think\",\"content\":\"\"}") },
		{ "logprobs", CHUNK("{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"logprobs\":{\"content\":"
		    "[{\"token\":\"Hi\",\"logprob\":-0.5,\"top_logprobs\":[]}]},\"finish_reason\":null}") },
		{ "usage tab", "{\"choices\":[],\"usage\":{\"prompt_tokens\":1,\t\"completion_tokens\":2}}" },
		{ "usage \\u", "{\"choices\":[],\"usage\":{\"a\\u0041\":1}}" },
		{ "usage utf-8", "{\"choices\":[],\"usage\":{\"n\":\"\xc3\xa9\"}}" },
		{ "usage 01", "{\"choices\":[],\"usage\":{\"n\":01}}" },
		{ "usage not closed", "{\"choices\":[],\"usage\":{\"n\":[1,2}}" },
		{ "usage deep", "{\"usage\":{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}}" },
		{ "usage array", "{\"choices\":[],\"usage\":[1]}" },
		{ "usage string", "{\"choices\":[],\"usage\":\"x\"}" },
		{ "timings number", "{\"choices\":[],\"timings\":5}" },
		{ "error", "{\"error\":{\"message\":\"boom\"}}" },
		{ "two choices", CHUNK("{\"delta\":{\"content\":\"a\"}},{\"delta\":{\"content\":\"b\"}}") },
		{ "content twice", DELTA("{\"content\":\"a\",\"content\":\"b\"}") },
		{ "finish twice", CHUNK("{\"delta\":{},\"finish_reason\":\"stop\",\"finish_reason\":\"length\"}") },
		{ "invalid utf-8", DELTA("{\"content\":\"a\xff" "b\"}") },
		{ "overlong", DELTA("{\"content\":\"\xc0\xaf\"}") },
		{ "utf-8 surrogate", DELTA("{\"content\":\"\xed\xa0\x80\"}") },
		{ "cut utf-8", DELTA("{\"content\":\"\xe6\x97\"}") },
		{ "bad escape", DELTA("{\"content\":\"\\x\"}") },
		{ "not closed", "{\"choices\":[" },
		{ "trailing", "{} x" },
		{ "number 01", "{\"a\":01}" },
		{ "number 1.", "{\"a\":1.}" },
		{ "tru", "{\"a\":tru}" },
		{ "no comma", "{\"a\":1 \"b\":2}" },
		{ "delta array", CHUNK("{\"delta\":[]}") },
		{ "content number", DELTA("{\"content\":5}") },
		{ "choices object", "{\"choices\":{\"delta\":{\"content\":\"x\"}}}" },
		{ "choice null", "{\"choices\":[null]}" },
		{ "tool_calls", DELTA("{\"tool_calls\":[{\"index\":0}]}") },
		{ "unknown object", "{\"x\":{},\"choices\":[{\"delta\":{\"content\":\"x\"}}]}" },
		{ "array", "[1]" },
		{ "model null", "{\"model\":null,\"choices\":[{\"delta\":{\"content\":\"x\"}}]}" },
	};
	static const char *const usual_text[][2] = {
		{ "text", TEXT("\" Paris\"") },
		{ "text escaped", TEXT("\"a\\nb\"") },
		{ "text null", TEXT("null") },
		{ "text empty", TEXT("\"\"") },
		{ "delta null", "{\"choices\":[{\"text\":\"x\",\"delta\":null}]}" },
	};
	static const char *const odd_text[][2] = {
		{ "text logprobs", "{\"choices\":[{\"text\":\"x\",\"logprobs\":{\"tokens\":[\"x\"],\"token_logprobs\":[-1],"
		    "\"top_logprobs\":[null]}}]}" },
		{ "text number", TEXT("3") },
		{ "text \\u", TEXT("\"\\u0041\"") },
		{ "delta object", "{\"choices\":[{\"text\":\"x\",\"delta\":{\"content\":\"y\"}}]}" },
	};
	/* A stream: role, content chunks read by comparing with the last one (a string ending early among them), finish, usage. */
	static const char *const stream[] = {
		DELTA("{\"role\":\"assistant\",\"content\":\"\"}"), DELTA("{\"content\":\"a\"}"), DELTA("{\"content\":\"b\\n\"}"),
		DELTA("{\"content\":\"\"}"), DELTA("{\"content\":\"\xc3\xa9\"}"), DELTA("{\"content\":\"q\\\"\"}"),
		DELTA("{\"content\":\"x\",\"refusal\":\"\"}"), DELTA("{\"content\":\"\\u00e9\"}"), DELTA("{\"content\":\"c\"}"),
		DELTA("{\"content\":\"\xff\"}"), DELTA("{\"content\":null}"), DELTA("{\"content\":\"d\"}"),
		CHUNK("{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}"),
		"{\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":7}}", NULL,
	};
	/* The same stream's usual events alone: the fast path reads all of them. */
	static const char *const usual_stream[] = {
		DELTA("{\"role\":\"assistant\",\"content\":\"\"}"), DELTA("{\"content\":\"a\"}"), DELTA("{\"content\":\"b\\n\"}"),
		DELTA("{\"content\":\"\"}"), DELTA("{\"content\":\"\xc3\xa9\"}"), DELTA("{\"content\":\"q\\\"\"}"),
		DELTA("{\"content\":\"x\",\"refusal\":\"\"}"), DELTA("{\"content\":\"c\"}"), DELTA("{\"content\":null}"),
		DELTA("{\"content\":\"d\"}"), CHUNK("{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}"),
		NULL,
	};
	static const char *const text_stream[] = {
		TEXT("\" Pa\""), TEXT("\"ris\""), TEXT("\"\\t.\""), TEXT("\"\""),
		"{\"choices\":[{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"length\"}]}", NULL,
	};
	/* A NUL byte in a string: the full parse reads the line to there, the fast path does not take it. */
	static const char nul[] = "{\"choices\":[{\"delta\":{\"content\":\"a\0b\"}}]}";
	size_t i;

	for (i = 0; i < sizeof usual / sizeof usual[0]; i++)
		ONE(usual[i][0], 1, 1, usual[i][1]);
	for (i = 0; i < sizeof odd / sizeof odd[0]; i++)
		ONE(odd[i][0], 1, 0, odd[i][1]);
	for (i = 0; i < sizeof usual_text / sizeof usual_text[0]; i++)
		ONE(usual_text[i][0], 0, 1, usual_text[i][1]);
	for (i = 0; i < sizeof odd_text / sizeof odd_text[0]; i++)
		ONE(odd_text[i][0], 0, 0, odd_text[i][1]);
	check_same("stream", 1, 0, stream, NULL);
	check_same("usual stream", 1, 1, usual_stream, NULL);
	check_same("text stream", 0, 1, text_stream, NULL);
	check_same("NUL", 1, 0, (const char *const[]){ nul, NULL }, (const size_t[]){ sizeof nul - 1 });
}

int main(void)
{
	qa_loaded chat_l, completions_l;

	host_init();
	chat_ops = load("openai", &chat_l);
	completions_ops = load("openai-completions", &completions_l);
	CHECK(QA_HAS(chat_ops, stream) && chat_ops->stream && completions_ops->stream);
	check_drop();
	check_fast_path();
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
