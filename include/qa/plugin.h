/*
 * qa/plugin.h - the plugin ABI of qa.  The only header a plugin includes.
 *
 * MEMORY, THE ONE RULE, BY NAME
 *   Borrowed, until the plugin's function returns: whatever the host hands
 *   a plugin (strings, JSON handles) and what host functions return, except
 *   those named below.  Owned by the caller: what a function named alloc,
 *   format, copy*, clean or *_new returns.  What a plugin hands the host
 *   (state, details, error text, request and reply strings) it allocates
 *   with host->alloc (or host->format, host->copy ...), and the host frees
 *   it.  A plugin keeps what host->regex_new and host->norm_new return
 *   until it passes it to host->regex_free and host->norm_free.
 *
 * A plugin is one shared object exporting one symbol, qa_plugin_entry(),
 * which QA_PLUGIN_EXPORT() writes.  The host calls it with its function
 * table and the name the plugin was asked for (a file may serve several
 * names through symlinks, as squad_em.so and squad_f1.so do); it returns a
 * static struct qa_plugin, or NULL when it serves no such name.  The host
 * checks abi and size before it reads anything else.  A plugin's callbacks
 * are in the ops struct of its kind (struct qa_scorer_ops, struct
 * qa_provider_ops), which carries its own size.  Every struct here only
 * ever grows at the end: the ones the host hands a plugin carry their size
 * too (QA_HAS() says whether a member is there); QA_ABI_VERSION changes
 * only when something already there changes.  ABI 2 (qa 0.2) put the
 * callbacks in ops structs and the sizes in the structs the host hands out.
 *
 * A scorer, in full:
 *
 *	#include <string.h>
 *	#include <qa/plugin.h>
 *	QA_PLUGIN_HOST;
 *	static int score(void *st, const struct qa_input *in, struct qa_output *out)
 *	{
 *		(void)st;
 *		for (size_t i = 0; i < in->nrefs; i++)
 *			if (in->answer_len == in->ref_lens[i] &&
 *			    memcmp(in->answer, in->refs[i], in->answer_len) == 0)
 *				out->score = 1;
 *		return 0;
 *	}
 *	static const struct qa_scorer_ops ops = { QA_OPS(qa_scorer_ops), .score = score };
 *	static const struct qa_plugin me = { QA_PLUGIN_HEADER(QA_KIND_SCORER,
 *	    "same", "1.0", "answer equals a reference byte for byte"),
 *	    .flags = QA_NEEDS_ANSWER | QA_NEEDS_REFERENCE, .scorer = &ops };
 *	QA_PLUGIN_EXPORT(&me)
 *
 * A provider (kind QA_KIND_PROVIDER) turns a record into an HTTP request
 * and an HTTP response into an answer; it never does I/O.  qa-send owns the
 * network, so timeouts, retries, limits and fallback work the same for
 * every provider.  For each record qa-send calls build() once (the request
 * is reused for every retry), sends it, and calls parse() on whatever came
 * back, error statuses included.  An in-process provider (mock) also has
 * respond(), which stands in for the network: qa-send calls it instead of
 * sending, then parses its answer through the same parse().  An engine in the process has
 * open(), compute() and close() instead, and computes on a worker thread
 * qa-send owns.  A provider with stream() (at the end of the ops) streams:
 * qa-send hands it one server-sent event at a time.  The key never
 * reaches a plugin: the provider names its auth header ("Authorization:
 * Bearer ") and qa-send appends the key itself.  The memory rule is the
 * one above: what build, parse and respond hand back is host->alloc'd.
 * man qa-provider(7) is the guide for providers, qa-plugin(7) the whole one.
 */
#ifndef QA_PLUGIN_H
#define QA_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QA_ABI_VERSION 2

#if defined(__GNUC__)
#define QA_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define QA_PRINTF(f, a)
#endif

/* A parsed JSON document (a record, a scorer's options, a response body). */
typedef struct qa_json qa_json;

/* A compiled regular expression with Python semantics (PCRE2, UTF + UCP). */
typedef struct qa_regex qa_regex;

/* An answer normaliser: lm-eval's exact_match options, and a few more. */
typedef struct qa_norm qa_norm;

enum qa_type {
	QA_ABSENT = 0,	/* no such path */
	QA_NULL,
	QA_FALSE,
	QA_TRUE,
	QA_NUMBER,
	QA_STRING,
	QA_ARRAY,
	QA_OBJECT
};

enum qa_kind { QA_KIND_SCORER = 1, QA_KIND_PROVIDER = 2 };

/* qa_plugin.flags */
#define QA_NEEDS_ANSWER    0x1u	/* no answer: invalid, score 0, not called */
#define QA_NEEDS_REFERENCE 0x2u	/* no expected/ground_truth: an error */
/* details are always one JSON object the scorer writes whole: the host copies them unread (qa-plugin(7)) */
#define QA_DETAILS_VALID   0x4u

/*
 * Text a plugin builds through the host (request bodies): p is
 * host->alloc'd and NUL-terminated after every call, so it can be handed
 * back as it is.  Start from { 0 }.
 */
struct qa_text {
	char *p;
	size_t len, cap;
};

struct qa_reply;

/*
 * The host's function table.  Paths name a field from the document's top:
 * "response.text", "expected[0]", "metrics[1].name"; "" is the whole document.
 */
struct qa_host {
	uint32_t abi;		/* QA_ABI_VERSION of the host */
	uint32_t size;		/* sizeof(struct qa_host) in the host */

	void *(*alloc)(size_t n);		/* never returns NULL */
	void (*free)(void *p);
	/* A host-allocated, formatted string (for details and errors). */
	char *(*format)(const char *fmt, ...) QA_PRINTF(1, 2);
	/* A warning on stderr, prefixed with the tool, file and line. */
	void (*log)(const char *fmt, ...) QA_PRINTF(1, 2);

	enum qa_type (*type)(const qa_json *doc, const char *path);
	/* Unescaped string value (UTF-8; bad bytes become U+FFFD); NULL if not a string. */
	const char *(*string)(const qa_json *doc, const char *path, size_t *len);
	/* 0 and *out set when path is a number; -1 otherwise. */
	int (*number)(const qa_json *doc, const char *path, double *out);
	/* 1 true, 0 false, -1 not a boolean. */
	int (*boolean)(const qa_json *doc, const char *path);
	/* Elements of an array or members of an object; 0 otherwise. */
	size_t (*count)(const qa_json *doc, const char *path);
	/* Key of the i-th member of an object, or NULL. */
	const char *(*key)(const qa_json *doc, const char *path, size_t i);
	/* The value's JSON text exactly as it appears in the document. */
	const char *(*raw)(const qa_json *doc, const char *path, size_t *len);
	/* Parse text into a document; NULL and *err (borrowed) when it is not JSON. */
	const qa_json *(*parse)(const char *text, size_t len, const char **err);
	/* A JSON string literal, quotes included, for building details. */
	const char *(*quote)(const char *s, size_t len);

	/* Text, as Python's str methods see it (code points, not bytes). */
	const char *(*lower)(const char *s, size_t len, size_t *out_len);
	const char *(*nfkc)(const char *s, size_t len, size_t *out_len);
	/* Python str.strip(): the str.split() whitespace set. */
	const char *(*strip)(const char *s, size_t len, size_t *out_len);
	/* Python str.split(): the word at or after *pos, advancing *pos; NULL at the end. */
	const char *(*word)(const char *s, size_t len, size_t *pos, size_t *wlen);

	/* Regular expressions as Python's re writes them.  NULL and *err (borrowed) on a bad pattern. */
	qa_regex *(*regex_new)(const char *pattern, const char **err);
	void (*regex_free)(qa_regex *re);
	/* re.sub(pattern, repl, s) with repl taken literally. */
	const char *(*regex_sub)(const qa_regex *re, const char *s, size_t len, const char *repl,
	    size_t repl_len, size_t *out_len);
	/*
	 * lm-eval's regex filter: re.findall(), take match number `select`
	 * (Python indexing: -1 is the last), the first non-empty group of a
	 * multi-group pattern, then str.strip().  NULL when there is no match.
	 */
	const char *(*regex_pick)(const qa_regex *re, const char *s, size_t len, long select, size_t *out_len);

	/*
	 * The normaliser reads these keys of an options object, in this order
	 * of application: normalize ("nfkc"), regexes_to_ignore (a string or an
	 * array, each removed with re.sub), ignore_case (str.lower),
	 * ignore_punctuation (ASCII punctuation), ignore_numbers (ASCII digits),
	 * strip (str.strip).  Any other key not in own_keys (the scorer's
	 * own options, NULL-terminated; may be NULL) is refused as unknown, so
	 * a typo in an option is an error, not a silent default.
	 */
	qa_norm *(*norm_new)(const qa_json *options, const char *const *own_keys, const char **err);
	void (*norm_free)(qa_norm *n);
	const char *(*norm_apply)(const qa_norm *n, const char *s, size_t len, size_t *out_len);

	/* Appending to a struct qa_text: bytes, printf, and s as a JSON string literal (bad UTF-8 becomes \ufffd). */
	void (*text_add)(struct qa_text *t, const char *s, size_t len);
	void (*text_printf)(struct qa_text *t, const char *fmt, ...) QA_PRINTF(2, 3);
	void (*text_json)(struct qa_text *t, const char *s, size_t len);

	/*
	 * copy() and error_body() came after the first host table: a plugin
	 * that may meet an older host checks host->size >
	 * offsetof(struct qa_host, copy) before it calls them.
	 *
	 * copy(): the value at path as a host->alloc'd, NUL-terminated string
	 * for a struct qa_reply: a string unescaped, any other type as its JSON
	 * text; NULL when it is absent or not of type want (QA_ABSENT: any).
	 *
	 * error_body(): an error response's body read the way OpenAI,
	 * Anthropic, Gemini, vLLM and FastAPI write it ({"error":{"message",
	 * "type","code"}}, {"type":"error","error":{...}}, Gemini's
	 * {"error":{"details":[{"retryDelay"}]}} possibly inside [ ],
	 * {"message"}, {"detail"}, or text).  Always sets out->error (the
	 * body's message, else "HTTP <status>: <first line>"); sets
	 * error_type "quota" for an exhausted quota or budget (never retried)
	 * and retry_after_ms for a retryDelay.  For any OpenAI-compatible
	 * provider's parse().
	 */
	char *(*copy)(const qa_json *doc, const char *path, enum qa_type want);
	void (*error_body)(long status, const char *body, size_t len, struct qa_reply *out);

	/*
	 * After error_body (check host->size > offsetof(struct qa_host,
	 * copy_len) on an older host):
	 *
	 * copy_len(): copy() that also says the length, for a string that
	 * may hold NULs (an answer with \u0000); *len may be NULL.
	 *
	 * clean(): JSON text a plugin assembled itself, as a host->alloc'd
	 * string on one line that any RFC 8259 reader takes (control
	 * characters in strings escaped, invalid UTF-8 as \ufffd); NULL when
	 * it is not JSON.  copy() and copy_len() already return non-string
	 * values this way.
	 */
	char *(*copy_len)(const qa_json *doc, const char *path, enum qa_type want, size_t *len);
	char *(*clean)(const char *json, size_t len);

	/*
	 * hash64(): FNV-1a 64 over the bytes, started from seed xor the FNV
	 * offset basis, then the length xor'd in and splitmix64's finalizer.
	 * Stable across hosts and versions: a plugin may derive anything
	 * reproducible from it (the mock provider's answers do).
	 */
	uint64_t (*hash64)(uint64_t seed, const void *p, size_t len);
};

/*
 * Whether the struct at s (one the host handed out, or an ops struct)
 * has member m: a plugin built against a newer header than the host's
 * checks before it reads or writes a member the host may not have.
 */
#define QA_HAS(s, m) ((s)->size >= offsetof(__typeof__(*(s)), m) + sizeof((s)->m))

/* What a scorer sees of one record. */
struct qa_input {
	const char *answer;		/* NULL when the record has no answer */
	size_t answer_len;
	const char *const *refs;	/* acceptable answers; nrefs may be 0 */
	const size_t *ref_lens;
	size_t nrefs;
	const qa_json *record;		/* the whole record, for anything else */
};

/* What a scorer says of it.  The host zeroes it and sets size before each call. */
struct qa_output {
	uint32_t size;		/* sizeof(struct qa_output) in the host */
	double score;		/* 0..1 */
	int invalid;		/* the answer could not be extracted */
	char *details;		/* optional JSON value, host->alloc'd */
	char *error;		/* message when score() returns -1, host->alloc'd */
};

/*
 * Providers.  The structs below only grow at the end: the host allocates
 * and zeroes them, so a provider built against an older header fills the
 * fields it knows.
 */

/* What qa-send resolved for one record: the endpoint, with the record's own model and params applied. */
struct qa_endpoint {
	const char *name;	/* the endpoint's name, for messages */
	const char *base_url;	/* with the version path: "http://host/v1"; NULL for in-process providers */
	const char *model;	/* the record's model, else the endpoint's; may be NULL */
	const qa_json *params;	/* an object: qa-send's --param defaults under the record's params */
};

/* The request build() makes.  Strings host->alloc'd; the host frees them. */
struct qa_request {
	uint32_t size;		/* sizeof(struct qa_request) in the host, which sets it */
	char *url;		/* absolute: base_url plus the provider's path */
	char *body;		/* JSON, NUL-terminated */
	size_t body_len;
	char *headers;		/* optional extra lines "Name: value\n"; qa-send adds Content-Type and auth */
	/*
	 * Set by the host before build(): 1 when the answer is to be streamed
	 * (a provider with stream() only): build() asks the server for a
	 * stream with the usage at its end.  Added after the first struct:
	 * check size before reading it.
	 */
	int stream;
};

/* Values of qa_reply.retry. */
#define QA_RETRY_DEFAULT 0	/* the host decides, from the status and the headers */
#define QA_RETRY_YES 1
#define QA_RETRY_NO (-1)

/*
 * What parse() makes of a response.  On an answer it sets text and what
 * else it knows; on an error it sets error (the provider's own message),
 * and may set error_type and retry.  Strings are host->alloc'd, JSON
 * fields are JSON text; NULL when unknown.
 */
struct qa_reply {
	uint32_t size;		/* sizeof(struct qa_reply) in the host, which sets it */
	char *text;
	char *finish_reason;
	char *model;		/* the model that answered */
	char *id;		/* the response's id; a request-id header wins over it */
	char *usage;		/* JSON object, as the provider reports it */
	char *logprobs;		/* JSON object, OpenAI completions layout {tokens, token_logprobs, top_logprobs} */
	char *error;		/* an error message; set on any error */
	/*
	 * One of the error types of DESIGN.md, a static string: "quota" for an
	 * exhausted quota or budget (never retried), "rate_limit", "auth",
	 * "server", "bad_request", "bad_response" ...  NULL: the host derives
	 * it from the status.
	 */
	const char *error_type;
	int retry;		/* QA_RETRY_*: the provider's own verdict, when it has one */
	double retry_after_ms;	/* a delay the body asks for (Gemini's retryDelay); 0: none */
	/*
	 * The server's own account of its time, a JSON object as it sent it
	 * (llama.cpp's "timings": prompt_n, prompt_ms, predicted_n,
	 * predicted_ms, ...); NULL when it sends none.  qa-send writes it as
	 * response.server_timings.  Added after the first struct: an older
	 * provider leaves it NULL.
	 */
	char *server_timings;
	size_t text_len;	/* bytes in text when it may hold NULs (copy_len()); 0: strlen(text) */
	/*
	 * Exact drift against a baseline model (the llama provider's
	 * --kl-base), a JSON object {exact: true, base, token_logprobs, kld,
	 * same_top} aligned with logprobs.tokens; qa-send writes it as
	 * response.drift.  NULL: none.
	 */
	char *drift;
};

/* What respond() says the network would have answered (in-process providers). */
struct qa_sim {
	uint32_t size;		/* sizeof(struct qa_sim) in the host, which sets it */
	long status;
	char *body;		/* host->alloc'd */
	size_t body_len;
	char *headers;		/* optional "Name: value\n" lines, host->alloc'd */
	double latency_ms;	/* how long the answer took, reported as latency_ms */
	int wait;		/* 1: qa-send waits latency_ms (on a timer) before it parses */
};

/*
 * A scorer's callbacks.  init() reads the options object (its keys besides
 * "name") and makes the state; on failure it returns -1 with *err set
 * (host->alloc'd) naming the option; the host then still calls fini() on
 * whatever *state holds, so init may fail half-way.  init and fini may be
 * NULL; fini is never called with NULL.
 */
struct qa_scorer_ops {
	uint32_t size;		/* sizeof(struct qa_scorer_ops) the plugin was built with: QA_OPS() */
	int (*init)(const qa_json *options, void **state, char **err);
	int (*score)(void *state, const struct qa_input *in, struct qa_output *out);
	void (*fini)(void *state);
	/*
	 * Corpus statistics, for scorers whose corpus figure is not the mean
	 * of per-record scores (corpus BLEU and chrF, F1 over classes); NULL
	 * for the others.
	 *
	 * score() puts the record's sufficient statistics in its details as
	 * "stats": an object of name: number.  The host adds them up by name
	 * over the records of each task and overall (qa-score --summary), over
	 * shards (qa-score --merge) and over resamples (qa-diff's paired
	 * bootstrap), then calls corpus() with the sums, names in the order
	 * first seen.  corpus() sets *score (the corpus figure, on the
	 * scorer's own scale) and may set *details to a host->alloc'd JSON
	 * object to show beside it; it returns -1 when the figure is undefined.
	 */
	int (*corpus)(void *state, const char *const *names, const double *sums, size_t n,
	    double *score, char **details);
	/*
	 * Optional, beside corpus(): the statistics the last score() put in
	 * details.stats, as numbers (the same names in the same order, the
	 * same values), so qa-score --summary adds them up without reading
	 * its text back.  Returns their count (0: read details.stats); the
	 * arrays stay valid until the next score().  details.stats stays in
	 * the record all the same: --merge and qa-diff read it.
	 */
	size_t (*stats)(void *state, const char *const **names, const double **values);
};

/*
 * A provider's callbacks and settings.  init and fini as a scorer's (init
 * gets an empty object for now).  auth_header is the start of the header
 * line the key completes ("Authorization: Bearer "), NULL when the
 * provider takes no key; key_env and base_url_env are its usual
 * environment variables ("OPENAI_API_KEY", "OPENAI_BASE_URL"); base_url
 * its default, or NULL.
 *
 * build() fills req from the record (prompt or messages, system) and ep
 * (model, params); -1 and *err (host->alloc'd) when the record cannot make
 * a request.  parse() reads a response of any status, body as received
 * (not NUL-terminated; len may be 0): 0 when it understood the body, -1
 * when not (a bad_response, *out->error saying why).  respond(), for
 * in-process providers only, answers req itself: 0, or -1 and *err
 * (host->alloc'd).
 */
struct qa_provider_ops {
	uint32_t size;		/* sizeof(struct qa_provider_ops) the plugin was built with: QA_OPS() */
	const char *auth_header;
	const char *key_env;
	const char *base_url_env;
	const char *base_url;
	int (*init)(const qa_json *options, void **state, char **err);
	void (*fini)(void *state);
	int (*build)(void *state, const qa_json *record, const struct qa_endpoint *ep,
	    struct qa_request *req, char **err);
	int (*parse)(void *state, const qa_json *record, const struct qa_endpoint *ep, long status,
	    const char *body, size_t len, struct qa_reply *out);
	int (*respond)(void *state, const qa_json *record, const struct qa_endpoint *ep,
	    const struct qa_request *req, struct qa_sim *sim, char **err);

	/*
	 * Reserved, never called: stream() at the end of this struct does its
	 * work (this one could not say what an event carried, nor how the
	 * stream ended).  As it was first written: qa-send will read a streamed
	 * answer (text/event-stream) itself and hand event() one event's
	 * "data:" payload at a time (data not NUL-terminated).  *acc is the
	 * provider's own per-request state: NULL at a request's first event,
	 * what event() left there after (host->alloc'd).  At the end of the
	 * stream ("[DONE]" or end of body) qa-send calls event() with data
	 * NULL, and event() fills out from *acc as parse() would; a request
	 * abandoned half-way gets data NULL and out NULL.  Either way event()
	 * frees *acc and sets it NULL.  0, or -1 with out->error (when out is
	 * not NULL) for an event it cannot read.  No I/O here either.
	 */
	int (*event)(void *state, const qa_json *record, const struct qa_endpoint *ep, void **acc,
	    const char *data, size_t len, struct qa_reply *out);

	/*
	 * An engine in the process (a model run through a library, not a
	 * server; the llama provider).  qa-send calls open() once per
	 * endpoint, on its own thread, at the endpoint's first record, with
	 * the endpoint (base_url NULL) and its settings as an object
	 * ({"threads", "kl_base", "context", "stride"}: the endpoint
	 * section's or the command line's); *engine is the provider's.  compute() answers one request built by build(),
	 * on a worker thread that qa-send owns, one call per engine at a time
	 * unless the provider says otherwise in settings it documents; it
	 * calls stop(stop_arg) now and then and returns soon after stop() says
	 * 1 (the deadline passed, or the run stops), with out->error_type
	 * "timeout".  It fills out as parse() would: 0, or -1 with out->error.
	 * close() frees the engine.  compute() must not call host functions
	 * other than alloc, free, format, hash64, text_add, text_printf and
	 * text_json (the others are not thread-safe).
	 */
	int (*open)(void *state, const struct qa_endpoint *ep, const qa_json *settings, void **engine,
	    char **err);
	int (*compute)(void *engine, const qa_json *record, const struct qa_request *req,
	    int (*stop)(void *stop_arg), void *stop_arg, struct qa_reply *out);
	void (*close)(void *engine);

	/*
	 * Several requests at once (optional, beside compute()): qa-send's
	 * worker hands the engine every request it has waiting (at most -c)
	 * and the engine answers them together; the llama provider decodes
	 * their generations in one batch, a sequence each.  *out[i] is filled
	 * as compute() fills it (an error in out[i]->error), and
	 * stop(stop_args[i]) ends request i.  compute()'s rules hold.
	 */
	void (*compute_many)(void *engine, size_t n, const qa_json *const *records,
	    const struct qa_request *const *reqs, int (*stop)(void *stop_arg), void *const *stop_args,
	    struct qa_reply *const *out);

	/*
	 * Streaming (qa-send --stream), what event() above was reserved for
	 * but could not say; event() stays reserved and is never called.  A
	 * provider with stream() streams: its build() is asked for a stream
	 * (qa_request.stream, below), qa-send reads the server-sent events as
	 * they come and calls stream() with each event's "data:" payload
	 * (not NUL-terminated; "[DONE]" is not passed), end QA_STREAM_MORE
	 * and out NULL.  It returns the QA_CHUNK_* flags the event carried
	 * (qa-send times the event by them), or -1 for an event it cannot
	 * read (an error event too: it keeps why in *acc, and qa-send reads
	 * no further).  *acc is the provider's own per-request state: NULL
	 * at a request's first event, what stream() left there after
	 * (host->alloc'd).  At the end, data NULL and end QA_STREAM_DONE,
	 * _EOF or _CUT: stream() fills out as parse() would (a stream cut in
	 * the middle is a "bad_response"), sets *tokens to the output tokens
	 * it counted from the chunks (for a server that sends no usage), and
	 * returns 0 or -1 with out->error.  A request abandoned half-way gets
	 * end QA_STREAM_DROP and out NULL.  Either way the last call frees
	 * *acc and sets it NULL.  No I/O here either.
	 */
	int (*stream)(void *state, const qa_json *record, const struct qa_endpoint *ep, void **acc,
	    const char *data, size_t len, int end, long *tokens, struct qa_reply *out);
};

/* stream()'s end: more to come, or how the stream ended. */
enum {
	QA_STREAM_MORE = 0,	/* an event; more may come */
	QA_STREAM_DONE = 1,	/* "[DONE]" came */
	QA_STREAM_EOF = 2,	/* the body ended between events without "[DONE]": the provider decides */
	QA_STREAM_CUT = 3,	/* the body ended inside an event or a line */
	QA_STREAM_DROP = 4	/* the request was abandoned: free *acc, out is NULL */
};

/* What one streamed event carried: stream()'s return. */
enum {
	QA_CHUNK_CHOICES = 1,	/* a non-empty "choices", a role-only delta too (vLLM's first chunk) */
	QA_CHUNK_CONTENT = 2,	/* non-empty content (delta.content, text) */
	QA_CHUNK_REASONING = 4,	/* non-empty reasoning (reasoning_content, reasoning) */
	QA_CHUNK_USAGE = 8	/* a usage object */
};

struct qa_plugin {
	uint32_t abi;		/* QA_ABI_VERSION the plugin was built with */
	uint32_t size;		/* sizeof(struct qa_plugin) the plugin was built with */
	uint32_t kind;		/* enum qa_kind */
	uint32_t flags;		/* QA_NEEDS_* */
	const char *name;
	const char *version;
	const char *summary;	/* one line, for qa-score --list */
	const struct qa_scorer_ops *scorer;	/* kind QA_KIND_SCORER */
	const struct qa_provider_ops *provider;	/* kind QA_KIND_PROVIDER */
};

#define QA_PLUGIN_HEADER(kind_, name_, version_, summary_) \
	.abi = QA_ABI_VERSION, .size = sizeof(struct qa_plugin), \
	.kind = (kind_), .name = (name_), .version = (version_), .summary = (summary_)

/* The size member of an ops struct: .size = sizeof(struct NAME). */
#define QA_OPS(name_) .size = sizeof(struct name_)

typedef const struct qa_plugin *qa_plugin_entry_fn(const struct qa_host *host, const char *name);
#define QA_PLUGIN_ENTRY "qa_plugin_entry"

const struct qa_plugin *qa_plugin_entry(const struct qa_host *host, const char *name);

/*
 * The entry boilerplate, as SQLite's SQLITE_EXTENSION_INIT1/2: the host's
 * table is H (QA_PLUGIN_HOST, at the top of the file), and
 * QA_PLUGIN_EXPORT(&a, &b, ...), at the end, defines qa_plugin_entry(),
 * which keeps the table in H and serves the plugins listed by their names;
 * a file that lists one serves it under any name (its file's).
 */
#define QA_PLUGIN_HOST static const struct qa_host *H
#define QA_PLUGIN_EXPORT(...) \
	const struct qa_plugin *qa_plugin_entry(const struct qa_host *host, const char *name) \
	{ \
		static const struct qa_plugin *const served_[] = { __VA_ARGS__ }; \
		H = host; \
		if (sizeof served_ / sizeof *served_ == 1) \
			return served_[0]; \
		for (size_t i_ = 0; name && i_ < sizeof served_ / sizeof *served_; i_++) \
			if (strcmp(served_[i_]->name, name) == 0) \
				return served_[i_]; \
		return NULL; \
	}

#ifdef __cplusplus
}
#endif
#endif
