/* qa-send: what its files share (types, settings, run state); private to the tool. */
#ifndef QA_QA_SEND_H
#define QA_QA_SEND_H

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "qa.h"
#include "pace.h"

struct send_opts {
	long concurrency, window, retries, max_retries_total;	/* max_retries_total < 0: no fixed cap */
	double retry_budget;		/* --retry-budget: retries per record read */
	double grace_ms;		/* --grace */
	FILE *trace;			/* --trace */
	double timeout_ms, connect_timeout_ms, deadline_ms;
	double backoff_base_ms, backoff_cap_ms, retry_after_max_ms;
	double cooldown_ms;		/* 0: no cooldown breaker */
	long allowed_fails;
	struct endpoint **fallback;	/* --fallback, for records without their own */
	size_t nfallback;
	int unordered, quiet, h2c;
	int stream;		/* --stream */
	int logprobs_mode;		/* --mode logprobs */
	size_t context, stride;		/* --context, --stride: windows of the prompt, in tokens */
	size_t stride_given;		/* --stride as given (0: none), for an engine in the process */
	uint64_t seed;
	struct curl_slist *headers;	/* --header */
	qa_buf params;			/* --param, as JSON members: "k":v,"k2":v2 */
	qa_json *params_j;		/* the same as an object, for lookups */
	/* rate-limit pacing (pacing.c) */
	double rpm, tpm;		/* --rpm, --tpm: over the endpoint config's; 0: not given */
	int conc_auto;			/* -c auto: pace.c's controller sets each endpoint's concurrency */
	int conc_given;			/* -c given; without it, conc_setup() chooses auto where HTTP may be reached */
	double minute_ms;		/* QA_SEND_MINUTE: how long a limit's minute lasts (tests); 0: 60 s */
	long samples;			/* --samples: records written per input record (0: 1) */
};

/* Consecutive 401/403 answers after which an endpoint gets no more requests. */
#define AUTH_BREAK 3

/* Longest response body kept; past it, the answer is a bad_response. */
#define MAX_BODY (64u << 20)

/* Longest error message written, in bytes. */
#define MAX_MESSAGE 500

/* Most endpoints in one record's chain: its own and its fallbacks. */
#define MAX_CHAIN 16

/*
 * The cooldown breaker's second rule, LiteLLM's: more than half of an
 * endpoint's requests failed, among at least this many in the minute.
 */
#define COOL_MIN_REQUESTS 5

#define COOL_WINDOW_MS 60000.0

/* A wait no server asked for (retry-after and the like). */
#define HINT_NONE (-1e300)

/*
 * The run's retry budget: RETRY_FLOOR retries, plus --retry-budget per
 * record read so far.  It grows with the run, so a long run cannot spend
 * it early by accident; an endpoint that fails everything still costs at
 * most that many requests more than the records.
 */
#define RETRY_FLOOR 20

struct provider {
	char *name;
	qa_loaded l;
	void *state;
	char *err;		/* why it is not usable */
};

/*
 * An endpoint is a provider at a base URL with a model and a key.  The
 * default one comes from the command line (and the config, with
 * --endpoint); records name others from the config.  Resolution is
 * endpoint_named(); what happens when one fails is decided in decide()
 * and give_up(): retry there, go on to the next endpoint of the record's
 * chain (fall_back()), or end the record.  The cooldown breaker
 * (note_outcome()) keeps records away from an endpoint that keeps failing.
 */
struct endpoint {
	char *name;
	struct provider *prov;
	char *base_url, *model;
	char *auth;		/* the auth header line, key included, or NULL */
	struct worker *wk;	/* an in-process engine's worker thread (worker.c), or NULL */
	char *kl_base;		/* its settings: --kl-base, --threads or the config's */
	long threads;
	long concurrency, rpm;	/* 0: no limit of its own */
	char *why;		/* set when unusable: every record gets this error */
	const char *why_type;
	int inflight;
	double next_start;	/* rpm pacing */
	int auth_fails, auth_broken;
	/* the cooldown breaker */
	double cool_until;	/* records with another endpoint to go to skip it until then */
	long fails;		/* failed attempts in a row */
	double win_start;	/* this minute's attempts and failures, for the ratio rule */
	long win_req, win_fail;
	long cooldowns;		/* times it went into cooldown, for the summary */
	long served;		/* records it answered as a fallback, for the summary */
	char cool_why[64];	/* what put it there, for the records that skip it */
	/* What a server that times itself (llama.cpp) said, for report_server() */
	long st_n, st_slow;	/* answers with server_timings; those much slower than its compute */
	double st_lat, st_comp;	/* the slow ones' latency and compute, summed */
	char *chat_prompt;	/* the first chat request made from a prompt string, */
	double chat_tokens;	/* and the prompt_tokens the server counted for it */
	/* its /props, asked once at its first timed chat answer (sent_props()) */
	int props_asked, props_ok;
	double props_slots;	/* total_slots, 0: not said */
	char template_fp[24];	/* "sha256:" and 16 hex digits of chat_template, "": not said */
	/* rate-limit pacing (pacing.c) */
	pace_t *pace;		/* NULL until its first record */
	unsigned long pace_pass;	/* the dispatch pass in which one of its records had to wait */
	double pace_wait;	/* the last wait planned, for the progress line */
	int quota_told;
	int pace_unread;	/* a 429 or 529 taken off curl, not read yet: no refill before it is */
};

struct feed {
	char **files;
	int nfiles, cur;
	int fd, own;
	const char *name;
	char *buf;
	size_t start, len, cap, scan;	/* unread bytes: buf[start, len); no '\n' in [start, scan) */
	unsigned long lineno;
	int eof, done, failed;
};

enum tstate { T_FREE, T_READY, T_ACTIVE, T_WAIT, T_SIMWAIT, T_DONE, T_TWIN };	/* T_TWIN: waits for an identical request in flight */

struct hdrs {
	double retry_after_ms;	/* retry-after-ms; HINT_NONE: none, NAN: unreadable */
	double retry_after;	/* retry-after, in ms (a past date: <= 0); the same */
	int should_retry;	/* -1 none, 0 false, 1 true */
	qa_buf request_id;
	qa_buf ratelimit;	/* JSON members */
	pace_hdrs ph;		/* the same, read for pacing */
};

struct task {
	enum tstate st;
	uint64_t seq;
	int next_ready;		/* the ready queue, by index; -1 ends it */
	char *line;
	size_t len, cap;
	const char *file;
	unsigned long lineno;
	qa_json *j;		/* the record */
	struct endpoint *ep;	/* chain[link]: the endpoint it goes to now */
	struct endpoint *chain[MAX_CHAIN];	/* its own endpoint, then its fallbacks */
	int nchain, link;
	int prior_attempts;	/* attempts on the endpoints before ep */
	qa_buf from;		/* the entries of fallback_from, comma-separated */
	/* the last failed attempt on ep, for a retry that a cooldown calls off */
	const char *last_type;
	long last_status;
	qa_buf last_msg;
	char *model;
	qa_buf params;
	qa_json *pj;
	struct qa_request req;
	struct curl_slist *hdrs;
	int attempts;		/* on ep */
	double first, deadline, wake, t0;	/* deadline: 0 until the first attempt */
	/* the attempt in flight */
	CURL *easy;
	double attempt_ms;	/* its timeout */
	char errbuf[CURL_ERROR_SIZE];
	int sends;		/* requests curl sent for this attempt (it resends on its own) */
	int resend_refused;	/* a resend was stopped: past -r or the budget */
	double connect_ms, appconnect_ms;	/* how far the attempt got: TCP, TLS */
	int easy_done;		/* the two above are the last HTTP attempt's (not a simulated one) */
	qa_buf body;
	int too_big;
	struct hdrs h;
	struct qa_sim sim;
	int sim_timeout;
	/* an in-process engine's job (worker.c): its queue link, record, answer, compute time */
	struct task *wnext;
	const qa_json *wrec;
	struct qa_reply wreply;
	int wrc;
	double wms;
	size_t wbatch;		/* how many requests its engine computed with it (compute_many) */
	/* the record that goes out */
	qa_buf out;
	int failed;
	const char *etype;
	struct windows *win;	/* --context: the prompt's windows, while they are scored */
	struct tstream *ts;	/* --stream: stream.c's state */
	long pace_id;		/* the attempt's ticket with its endpoint's pace */
	int pace_traced;	/* its wait was written to --trace */
	/* cache.c: the request's cache key; identical requests in flight wait on the one sent (its twins) */
	int keyed;		/* key is the current request's */
	char key[65];
	int owns;		/* this record's request is the one sent for key */
	int twin_next;		/* next in the owner's list of twins, or in a hash bucket (-1 ends) */
	int twins;		/* the first twin waiting on this record, -1 none */
	int bucket_next;
	int sent_inflight;	/* its endpoint's requests in flight once this attempt was sent */
};

struct send_stats {
	long read, done, errors, retries, requests;
	long denied;		/* retries the budget refused */
	long moves;		/* records sent on to another endpoint */
	long cooldowns;		/* endpoints put in cooldown */
	long fell_back, fb_served;	/* records that left their first endpoint; of those, answered */
	long by_type[16];
	const char *types[16];
	size_t ntypes;
	double start;
	long total;		/* lines in the input, -1 unknown */
};

struct outcome {
	int ok;
	const char *type;	/* error type */
	long status;		/* HTTP status; 0 when there was none */
	char *message;
	int retry;		/* may be retried */
	double hint_ms;		/* a wait the server asked for; HINT_NONE: none, NAN: unreadable */
	const char *hint_from;	/* the header (or body field) it came from */
	int deadline;		/* the attempt was cut by the record's deadline */
	struct qa_reply reply;
	double latency_ms;
	int timed;		/* an HTTP attempt: libcurl's breakdown below is set */
	double connect_ms, tls_ms, ttfb_ms;
};

/*
 * The endpoint scores the whole prompt first; its tokens say where the
 * token boundaries are (tokens spell the text, so their byte lengths are
 * the offsets).  The first `context` tokens keep the logprobs of that
 * answer, which saw no more context than a window would.  Each later
 * window is the text of up to `context` tokens ending `stride` tokens
 * further on, and only its new tokens are kept, so each token is scored
 * once, with context - stride tokens or more before it.  A window may
 * tokenize its first bytes differently; tokens are matched by byte
 * offset, so that does not matter past the window's start.
 */
struct windows {
	char *text;		/* what the tokens spell */
	size_t *off;		/* off[i]: byte offset of token i; off[ntok] = strlen(text) */
	size_t ntok, first;	/* first: tokens before it (a BOS) spell nothing of the prompt */
	size_t done;		/* tokens scored so far */
	size_t begin;		/* the window in flight: its first token */
	qa_json *rec;		/* the window's request record: {"prompt": ...} */
	qa_buf rec_text;
	qa_buf tokens, lps, tops;	/* the merged arrays' members */
	double prompt_tokens, completion_tokens, latency_ms;
	int requests;
};

/* A finished transfer, taken off curl before its answer is read. */
struct finished {
	struct task *t;
	CURLcode rc;
	long status;
	double latency_ms;
	double connect_ms, tls_ms, ttfb_ms;
};

extern struct send_opts opt;
extern uint64_t rng_state;
extern char **keys;
extern size_t nkeys;
extern int progress_on, progress_drawn;
extern struct provider **provs;
extern size_t nprovs;
extern struct endpoint **eps;
extern size_t neps;
extern struct endpoint *default_ep;
extern qa_config config;
extern int config_loaded;
extern struct task *tasks;
extern size_t ntasks;
extern uint64_t next_seq, head_seq;
extern int *free_slots;
extern size_t nfree;
extern int ready_head, ready_tail;
extern long inflight, waiting, inwindow;
extern struct send_stats stats;
extern CURLM *multi;
extern CURL **easy_pool;
extern size_t neasy;
extern qa_json *scratch;
extern qa_buf outbuf;
extern long readied;
extern struct finished *fin;
extern double last_progress;
extern volatile sig_atomic_t got_signal, nsignals;
extern int stopping;
extern double grace_end;
extern qa_buf side_body;

double now_ms(void);

/* stream.c: --stream */
int stream_wanted(const struct task *t);
void stream_refuse(const char *provider);
void stream_ready(struct task *t);
void stream_begin(struct task *t);
void stream_sent(struct task *t);
int stream_feed(struct task *t, const char *p, size_t len);
int stream_active(const struct task *t);
int stream_reply_of(struct task *t, struct qa_reply *r);
int stream_usage_json(const struct task *t, qa_buf *b);
int stream_latency_json(const struct task *t, qa_buf *b);
void stream_task_free(struct task *t);
double rng_unif(void);
const char *find_nocase(const char *h, size_t hl, const char *n, size_t nl);
void scrub(qa_buf *b);
void remember_key(const char *key);
void remember_header(const char *line);
void remember_userinfo(const char *url);
QA_NORETURN void die_scrubbed(const char *msg);
void progress_clear(void);
void warn_scrubbed(const char *file, unsigned long line, const char *fmt, ...);
struct provider *provider_get(const char *name);
int url_ok(const char *u);
struct endpoint *endpoint_make(const char *name, const char *provider, const char *base_url,
    const char *model, const char *key_env, long concurrency, long rpm);
void endpoint_free(struct endpoint *e);
struct endpoint *endpoint_named(const char *name);
void feed_next_file(struct feed *f);
void feed_fill(struct feed *f);
int feed_line(struct feed *f, char **line, size_t *len);
int fd_readable(int fd);
long count_lines(char **files, int n);
void ready_push(struct task *t);
void count_type(const char *type);
void request_free(struct task *t);
void task_done(struct task *t);
void emit(struct task *t, const char *response, size_t rlen, const char *error, size_t elen);
void add_message(qa_buf *b, const char *msg);
void fail(struct task *t, const char *type, long status, const char *msg);
int fallback_worthy(const char *type);
int cooling(const struct endpoint *e, double now);
int has_next(const struct task *t);
int may_skip(const struct task *t, double now);
void leave(struct task *t, const char *type, long status, const char *msg, const char *skipped);
int fall_back(struct task *t, const char *type, long status, const char *msg, double now);
struct task *slot_for(uint64_t seq);
int window_has_room(void);
int merge_params(struct task *t, const char **why);
int enter(struct task *t, double now);
int chain_add(struct task *t, struct endpoint *e);
int resolve_fallback(struct task *t);
int resolve(struct task *t);
void admit(struct task *t, uint64_t seq, const char *file, unsigned long lineno, const char *line,
    size_t len);
void admit_input(struct feed *f);
void samples_free(void);
int samples_pending(void);
size_t on_body(char *p, size_t size, size_t n, void *arg);
void hdrs_reset(struct hdrs *h);
void on_header_line(struct hdrs *h, const char *p, size_t len);
size_t on_header(char *p, size_t size, size_t n, void *arg);
CURL *easy_get(void);
void easy_put(CURL *c);
void reply_free(struct qa_reply *r);
const char *type_of_status(long status);
int status_retryable(long status);
void classify_http(struct task *t, long status, struct outcome *o);
void classify_curl(struct task *t, CURLcode rc, const char *errbuf, struct outcome *o);
double budget_total(void);
const char *budget_spent(void);
void trace_head(qa_buf *b, const struct task *t);
void trace(const struct task *t, const char *decision, const struct outcome *o, const char *reason, double now,
    double delay_ms);
double retry_delay(const struct task *t, const struct outcome *o, char *reason, size_t rlen);
int decide(const struct task *t, const struct outcome *o, double now, double *delay, const char **why,
    char *reason, size_t rlen);
void give_up_message(qa_buf *m, const struct task *t, const char *msg, const char *why);
void give_up(struct task *t, const struct outcome *o, const char *why, double now);
void note_outcome(struct endpoint *e, const struct outcome *o, double now);
int pass_cooling(struct task *t, double now);
void note_auth(struct endpoint *e, long status);
int valid_json(const char *s);
void windows_free(struct task *t);
const qa_json *asked(const struct task *t);
void add_member(qa_buf *b, qa_json *lp, int arr, size_t i);
void add_usage(struct windows *w, const char *usage, double latency_ms);
void window_next(struct task *t);
int token_offsets(qa_json *lp, int *tokens, size_t **off, size_t *n, qa_buf *spelled);
int special_token(const char *s, size_t len);
int spelling_start(const size_t *off, size_t n, const char *sp, const char *text, size_t len,
    size_t *skip, size_t *end, size_t *shift);
int window_step(struct task *t, const struct outcome *o, char **merged);
void note_server(struct task *t, const struct outcome *o);
void succeed(struct task *t, const struct outcome *o, double now);
void sent_add(qa_buf *b, const struct task *t);	/* sent.c: response.sent */
void sent_props(struct endpoint *e);	/* sent.c: a llama.cpp server's /props, once */
void settle(struct task *t, struct outcome *o, double now);
int on_prereq(void *arg, char *ip, char *local_ip, int port, int local_port);
void start_http(struct task *t, double now);
void start_sim(struct task *t, double now);
void finish_sim(struct task *t, double now);
/* worker.c */
void start_work(struct task *t, double now);
void collect_work(double now);
void workers_end(void);
void engine_settings(struct endpoint *e, long threads, const char *kl_base);
int endpoint_open(struct endpoint *e, double now, double *at);
void start(struct task *t, double now);
void dispatch(double now, double *next_timer);
void wake(double now, double *next_timer);
size_t reap(void);
void settle_finished(size_t n, double now);
void release(struct task *t);
void collect(void);
void flush_out(int all);
void progress(double now, int final);
void on_signal(int sig);
void setup_signals(void);
void interrupt(struct task *t);
void stop_idle(double now);
long never_admitted(struct feed *f, int *more);
double next_wake(void);
long turn_mark(void);
void run(struct feed *f);
void setup_mode(void);
void setup_fallback(const char *list);
void report_fallback(void);
size_t on_side_body(char *p, size_t size, size_t n, void *arg);
int side_request(const struct endpoint *e, const char *path, const char *post);
void report_server(void);
void setup_files(void);
void cleanup(void);
/* pacing.c */
int pace_open(struct task *t, double now, double *at, unsigned long pass);
int pace_refuse(struct task *t, double now);
void pace_sent(struct task *t, double now);
void pace_settle(struct task *t, struct outcome *o, double now);
void pace_header(struct hdrs *h, const char *name, size_t nl, const char *val, size_t vl);
void pace_progress(qa_buf *b);
void pace_reaped(struct task *t, long status);
void conc_setup(void);
long conc_now(const struct endpoint *e, long *peak);

/* -c auto: what an in-process provider (the mock, the llama engine) keeps in flight, each */
#define CONC_IN_PROCESS 16

/* cache.c: the response cache */
extern long cache_hits;
void cache_mode_opt(const struct qa_opt *o, const char *arg);
void cache_path_opt(const char *arg);
void cache_setup(void);
void cache_teardown(void);
void cache_read_batch(void);
void cache_read_done(void);
int cache_serve(struct task *t);
int cache_gate(struct task *t);
void cache_store(struct task *t, const char *response, size_t len, const char *finish_reason);
void cache_task_done(struct task *t);
int cache_commit(void);
int cache_hold(double now);
long cache_held(void);
double cache_due(void);

#endif
