/*
 * openai: OpenAI chat completions, POST {base_url}/chat/completions, and
 * every relay or server that speaks it (vLLM, llama.cpp, LiteLLM, Gemini's
 * and Anthropic's compatibility endpoints, ...).
 *
 * The request: {"model", "messages", ...params}.  messages is the record's
 * own array, or its prompt as one user message; a system string goes first.
 * params pass through as they are, except logprobs: N, which chat spells
 * "logprobs": true, "top_logprobs": N.  The answer's logprobs (generated
 * tokens only: chat has no echo) come back in the completions layout.
 * Error bodies are read in the shapes OpenAI, Anthropic, Gemini and vLLM
 * use; an exhausted quota or budget is type "quota", never retried.
 *

 * openai-completions, served by the same plugin: the legacy OpenAI completions endpoint, POST
 * {base_url}/completions, which vLLM and most relays still serve.  It is
 * the one that can echo the prompt with its logprobs (echo: true,
 * logprobs: N, max_tokens: 0), which perplexity needs.
 *
 * The request: {"model", "prompt", ...params}: the record's prompt, after
 * its system string and a blank line when it has one.  params pass through
 * as they are (logprobs: true becomes 1).  The answer's logprobs come back
 * as the provider sends them: {tokens, token_logprobs, top_logprobs,
 * text_offset}, the first entry null when the prompt is echoed.  Error
 * bodies are read as the openai provider reads them.
 *
 * llama.cpp's server answers completions logprobs in the chat layout
 * {"content": [{token, logprob, top_logprobs}]}: converted as the openai
 * provider converts chat's.
 *
 * Prompt logprobs (perplexity) come back in the same layout, whichever way
 * the server gives them:
 *   - echo: true with max_tokens 0 (OpenAI, vLLM); with max_tokens N the
 *     N generated tokens at the end are dropped, so what remains is the
 *     prompt's;
 *   - vLLM's prompt_logprobs: K, a list of {token_id: {logprob, rank,
 *     decoded_token}} whose first entry is the prompt's own token (vLLM
 *     puts it first), converted to tokens/token_logprobs/top_logprobs;
 *   - a server that refuses echo (llama.cpp's answers "Unsupported param:
 *     echo", or "Only no echo is supported") or ignores it is a
 *     bad_request saying so, not a server error to retry.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "openai.h"

const struct qa_host *openai_host;

static const struct api chat_api = { "/chat/completions", 1, chat_input, chat_answer };
static const struct api completions_api = { "/completions", 0, completions_input, completions_answer };

static int build_chat(void *st, const qa_json *rec, const struct qa_endpoint *ep, struct qa_request *req,
    char **err)
{
	(void)st;
	return build_api(&chat_api, rec, ep, req, err);
}

static int parse_chat(void *st, const qa_json *rec, const struct qa_endpoint *ep, long status,
    const char *body, size_t len, struct qa_reply *out)
{
	(void)st, (void)rec;
	return parse_api(&chat_api, ep, status, body, len, out);
}

static int build_completions(void *st, const qa_json *rec, const struct qa_endpoint *ep,
    struct qa_request *req, char **err)
{
	(void)st;
	return build_api(&completions_api, rec, ep, req, err);
}

static int parse_completions(void *st, const qa_json *rec, const struct qa_endpoint *ep, long status,
    const char *body, size_t len, struct qa_reply *out)
{
	(void)st, (void)rec;
	int rc = parse_api(&completions_api, ep, status, body, len, out);
	/* llama.cpp's server: "Unsupported param: echo", or newer, "Only no echo is supported". */
	if ((status < 200 || status > 299) && wants_echo(ep) && mentions(out->error, "echo") &&
	    (mentions(out->error, "unsupported") || mentions(out->error, "not support") ||
	    mentions(out->error, "no echo"))) {
		char *said = out->error;
		out->error = H->format("the endpoint refuses echo, so it cannot return the prompt's "
		    "logprobs (llama.cpp's server does this); use a server that echoes, such as vLLM "
		    "(it said: %s)", said);
		H->free(said);
		out->error_type = "bad_request";
		out->retry = QA_RETRY_NO;
	}
	return rc;
}

/* The two names differ in their build, parse and stream only. */
#define OPENAI_OPS(b, p, s) { QA_OPS(qa_provider_ops), .auth_header = "Authorization: Bearer ", \
	.key_env = "OPENAI_API_KEY", .base_url_env = "OPENAI_BASE_URL", \
	.base_url = "https://api.openai.com/v1", .build = (b), .parse = (p), .stream = (s) }

static const struct qa_provider_ops chat_ops = OPENAI_OPS(build_chat, parse_chat, stream_chat);
static const struct qa_provider_ops completions_ops = OPENAI_OPS(build_completions, parse_completions,
    stream_completions);

static const struct qa_plugin chat = {
	QA_PLUGIN_HEADER(QA_KIND_PROVIDER, "openai", "1.0",
	    "OpenAI chat completions (POST /chat/completions), and compatible relays"),
	.provider = &chat_ops,
};

static const struct qa_plugin completions = {
	QA_PLUGIN_HEADER(QA_KIND_PROVIDER, "openai-completions", "1.0",
	    "OpenAI legacy completions (POST /completions): prompt echo and logprobs"),
	.provider = &completions_ops,
};

QA_PLUGIN_EXPORT(&chat, &completions)
