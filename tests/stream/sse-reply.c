/*
 * sse-reply [--completions] [--chunk N]: a streamed response on stdin through
 * lib/sse and the openai provider's stream() (openai-completions' with
 * --completions), as qa-send --stream runs them; prints
 * one JSON line {end, flags, chunk_tokens, text, finish_reason, usage,
 * logprobs, error, error_type}.  flags has a letter per event: r choices
 * only, R reasoning, c content, u usage, - none, ! not a chunk.  For
 * tests/57-stream.bats, against qa-streamd and llama-server.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qa.h"
#include "latency.h"
#include "sse.h"

struct run {
	const struct qa_provider_ops *ops;
	struct qa_endpoint ep;
	void *acc;
	qa_buf flags;
};

static int on_event(void *ctx, const qa_sse_event *ev)
{
	struct run *r = ctx;
	int f = r->ops->stream(NULL, NULL, &r->ep, &r->acc, ev->data, ev->len, QA_STREAM_MORE, NULL, NULL);

	host_reset();

	buf_addc(&r->flags, f < 0 ? '!' : f & QA_CHUNK_USAGE ? 'u' : f & QA_CHUNK_CONTENT ? 'c'
	    : f & QA_CHUNK_REASONING ? 'R' : f & QA_CHUNK_CHOICES ? 'r' : '-');
	return 0;
}

static void field(qa_buf *b, const char *name, const char *json_value, const char *str)
{
	buf_printf(b, ",\"%s\":", name);
	if (json_value)
		buf_adds(b, json_value);
	else if (str)
		buf_json_string(b, str, strlen(str));
	else
		buf_adds(b, "null");
}

int main(int argc, char **argv)
{
	static const char *const ends[] = { "done", "eof", "cut" };
	static const int stream_end[] = { QA_STREAM_DONE, QA_STREAM_EOF, QA_STREAM_CUT };
	struct run r = { 0 };
	const char *provider = "openai";
	qa_loaded l;
	char err[1024];
	long chunk_tokens = 0;
	struct qa_reply out = { 0 };
	size_t chunk = 65536;
	char *buf;
	ssize_t n;
	qa_sse p;
	qa_buf b = { 0 };
	enum qa_sse_end end;
	int i;

	qa_tool_init(argv[0]);
	host_init();
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--completions") == 0)
			provider = "openai-completions";
		else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc)
			chunk = strtoul(argv[++i], NULL, 10);
		else
			qa_die(QA_EXIT_USAGE, "usage: sse-reply [--completions] [--chunk N]");
	}
	if (chunk == 0)
		qa_die(QA_EXIT_USAGE, "--chunk: want a positive number");
	if (plugin_load(provider, QA_KIND_PROVIDER, &l, err, sizeof err) < 0)
		qa_die(QA_EXIT_USAGE, "%s", err);
	r.ops = l.plugin->provider;
	r.ep.name = provider;
	buf = xmalloc(chunk);
	out.size = sizeof out;
	sse_init(&p, on_event, &r);
	while ((n = read(0, buf, chunk)) > 0)
		if (sse_feed(&p, buf, (size_t)n) != 0)
			qa_die(QA_EXIT_DATA, "an event longer than %u bytes", QA_SSE_MAX);
	end = sse_finish(&p);
	r.ops->stream(NULL, NULL, &r.ep, &r.acc, NULL, 0, stream_end[end], &chunk_tokens, &out);
	buf_printf(&b, "{\"end\":\"%s\"", ends[end]);
	field(&b, "flags", NULL, buf_cstr(&r.flags));
	buf_printf(&b, ",\"chunk_tokens\":%ld", chunk_tokens);
	field(&b, "text", NULL, out.text);
	field(&b, "finish_reason", NULL, out.finish_reason);
	field(&b, "usage", out.usage ? out.usage : "null", NULL);
	field(&b, "logprobs", out.logprobs ? out.logprobs : "null", NULL);
	field(&b, "error", NULL, out.error);
	field(&b, "error_type", NULL, out.error_type);
	buf_adds(&b, "}\n");
	out_write(stdout, &b);
	free(out.text);
	free(out.finish_reason);
	free(out.usage);
	free(out.logprobs);
	free(out.model);
	free(out.id);
	free(out.error);
	free(out.server_timings);
	sse_free(&p);
	plugin_unload(&l);
	buf_free(&r.flags);
	buf_free(&b);
	free(buf);
	host_fini();
	out_close();
	return 0;
}
