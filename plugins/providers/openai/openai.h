/*
 * openai's private header: the openai and openai-completions providers
 * (openai.c: the ops, the api table and the entry point) by concern.
 * request.c: the request body (build()); answer.c: a whole answer
 * (parse()), its logprobs and errors; stream.c: a streamed answer
 * (stream()), SSE events by the fast path or the full parse.  Nothing here
 * is exported from openai.so.
 */
#ifndef QA_OPENAI_H
#define QA_OPENAI_H

#include <stddef.h>

#include <qa/plugin.h>

#pragma GCC visibility push(hidden)

/* The host's table, set by qa_plugin_entry() (openai.c). */
#define H openai_host
extern const struct qa_host *openai_host;

/* What each API's body carries after "model", and where it goes: the two halves differ only here. */
struct api {
	const char *path;
	int chat;	/* add_params spells logprobs chat's way */
	int (*input)(struct qa_text *t, const qa_json *rec, const struct qa_endpoint *ep, char **err);
	void (*answer)(const qa_json *d, const struct qa_endpoint *ep, struct qa_reply *out);
};

/* request.c */
int build_api(const struct api *a, const qa_json *rec, const struct qa_endpoint *ep,
    struct qa_request *req, char **err);
int chat_input(struct qa_text *t, const qa_json *rec, const struct qa_endpoint *ep, char **err);
int completions_input(struct qa_text *t, const qa_json *rec, const struct qa_endpoint *ep, char **err);

/* answer.c */
int parse_api(const struct api *a, const struct qa_endpoint *ep, long status, const char *body,
    size_t len, struct qa_reply *out);
void chat_answer(const qa_json *d, const struct qa_endpoint *ep, struct qa_reply *out);
void completions_answer(const qa_json *d, const struct qa_endpoint *ep, struct qa_reply *out);
int wants_echo(const struct qa_endpoint *ep);
int mentions(const char *s, const char *word);

/* stream.c */
int stream_chat(void *state, const qa_json *rec, const struct qa_endpoint *ep, void **acc,
    const char *data, size_t len, int end, long *tokens, struct qa_reply *out);
int stream_completions(void *state, const qa_json *rec, const struct qa_endpoint *ep, void **acc,
    const char *data, size_t len, int end, long *tokens, struct qa_reply *out);

#pragma GCC visibility pop

#endif
