/*
 * One streamed OpenAI chat or completions response, event by event, for the
 * openai and openai-completions providers.  Written only against the plugin
 * host table (no libqa calls), so it moves into plugins/providers/ as it is;
 * it lives in lib/ until the provider ops struct has a per-event callback.
 *
 * Each event's data is one chunk JSON: chat "choices[0].delta" with content,
 * reasoning_content or reasoning, a role-only first delta; completions
 * "choices[0].text"; finish_reason; a usage-only last chunk with empty
 * choices (stream_options.include_usage); logprobs per chunk in the chat
 * layout (content: [{token, logprob, top_logprobs}], as OpenAI chat and
 * llama.cpp send them) or the completions layout (tokens, token_logprobs,
 * top_logprobs), joined into the completions layout the non-streamed
 * providers write; {"error": ...} in the stream.
 *
 * Ownership: the state owns its buffers (host->alloc); stream_reply()
 * hands them to the qa_reply, which the host frees as any provider reply.
 */
#ifndef QA_OPENAI_STREAM_H
#define QA_OPENAI_STREAM_H

#include <stddef.h>

#include "qa/plugin.h"
#include "sse.h"

struct qa_stream {
	int chat;			/* chat chunks (delta) rather than completions (text) */
	struct qa_text text, reasoning;
	struct qa_text lp_tokens, lp_values, lp_top;	/* the joined logprobs, in three parts */
	long lp_n, collisions;
	long chunk_tokens;		/* logprobs entries, else chunks with content or reasoning */
	long chunks;			/* events parsed */
	char *finish_reason, *usage, *model, *id, *server_timings;
	char *error;			/* an error event's message */
};

/* Start from { 0 } and set chat. */
/*
 * Parses one event's data.  Returns the QA_CHUNK_* flags of lib/latency.h
 * it carried (0 for a chunk without choices or usage), or -1 when the data
 * is not a chunk or is an error event (st->error says which).
 */
int stream_event(const struct qa_host *H, struct qa_stream *st, const char *data, size_t len);
/*
 * The record's reply once the stream ended as end says: text,
 * finish_reason, usage, model, id, server_timings and logprobs (NULL when
 * no chunk had any).  A stream cut in the middle, or one that ended without
 * "[DONE]" and without a finish_reason, is a bad_response (retried); an
 * error event is a server error.  0, or -1 with out->error set.
 */
int stream_reply(const struct qa_host *H, struct qa_stream *st, enum qa_sse_end end, struct qa_reply *out);
/* Frees what stream_reply() did not hand over. */
void stream_free(const struct qa_host *H, struct qa_stream *st);

#endif
