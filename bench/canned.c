/*
 * canned: a tiny HTTP server for benchmarks.  Every POST gets the same
 * chat completion, after --delay milliseconds.  It binds 127.0.0.1 on a
 * free port and prints the port first thing.  A thread per connection,
 * so a delay costs a sleeping thread, not the server's time.
 *
 * With --tokens N it streams (issue 18): a request whose body holds
 * "stream":true gets server-sent events over chunked encoding on a fixed
 * schedule from the moment its body was read: the role-only chunk at once,
 * token j (" w<j>") at --ttft + j * --gap ms, the finish chunk, the usage
 * chunk when the body asks "include_usage":true, "data: [DONE]".  Without
 * "stream" the same N tokens come as one chat completion, at once.  Each
 * event is written when due (an absolute-time sleep, so gaps do not drift).
 *
 * With --log FILE a streamed answer carries "X-Request-Id: canned-<k>" and
 * FILE gets a JSON line per stream, {"rid", "first_chunk_ms", "ttft_ms",
 * "tpot_ms", "late_ms"}: the server's own times, from CLOCK_MONOTONIC read
 * when it had the whole request and right before each write (a write is
 * handed to the socket as the reader returns), so ttft_ms = first token's
 * write - request read, tpot_ms = (last token's write - first token's) /
 * (N - 1), late_ms = first token's write - its due time.  A client's error
 * against these leaves out the server's own lateness (bench/stream.sh).
 * The line is written before the [DONE] event is: a client that has read
 * [DONE] finds it in FILE.
 *
 *	cc -O2 -o canned canned.c $(pkg-config --cflags --libs libmicrohttpd) -lpthread
 *	./canned [--delay MS] [--tokens N [--ttft MS] [--gap MS] [--log FILE]]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char answer[] =
    "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"The answer is B.\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":5,"
    "\"total_tokens\":47,\"prompt_tokens_details\":{\"cached_tokens\":0},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}";

static struct MHD_Response *canned;
static long delay_ms;

/* --tokens N: the streaming server (see the head comment). */
static int stream_tokens;
static double stream_ttft_ms, stream_gap_ms;
static FILE *stream_log;	/* --log FILE: the server's own times, a line per stream */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long log_next;	/* the last request id given, under log_lock */

struct sreq {
	int stream, usage;	/* "stream":true, "include_usage":true in the body */
	char tail[32];		/* the body's last bytes, for a key split across reads */
	size_t ntail;
	struct timespec t0;	/* when the body was read */
	int next;		/* the next event: 0 role, 1..N tokens, N+1 finish, N+2 usage, N+3 [DONE] */
	unsigned long rid;	/* --log: its X-Request-Id's number */
	long long w_role, w_first, w_last;	/* --log: ns of the writes of the role chunk, first and last tokens */
};

static void sreq_body(struct sreq *r, const char *p, size_t n)
{
	char win[32 + 256];
	while (n) {
		size_t k = n < 256 ? n : 256;
		memcpy(win, r->tail, r->ntail);
		memcpy(win + r->ntail, p, k);
		size_t w = r->ntail + k;
		win[w] = '\0';
		if (strstr(win, "\"stream\":true"))
			r->stream = 1;
		if (strstr(win, "\"include_usage\":true"))
			r->usage = 1;
		r->ntail = w < 24 ? w : 24;
		memcpy(r->tail, win + w - r->ntail, r->ntail);
		p += k;
		n -= k;
	}
}

static void sreq_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)c, (void)toe;
	if (stream_tokens)
		free(*state);
	*state = NULL;
}

static const char chunk_head[] = "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\","
    "\"created\":1700000000,\"model\":\"m\",\"choices\":[";

/* Event k of the stream into buf: its length, 0 when none is left. */
static int sse_event(const struct sreq *r, int k, char *buf, size_t max)
{
	int n = stream_tokens;
	if (k == 0)
		return snprintf(buf, max, "%s{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
		    "\"finish_reason\":null}]}\n\n", chunk_head);
	if (k <= n)
		return snprintf(buf, max, "%s{\"index\":0,\"delta\":{\"content\":\" w%d\"},\"finish_reason\":null}]}\n\n",
		    chunk_head, k - 1);
	if (k == n + 1)
		return snprintf(buf, max, "%s{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n", chunk_head);
	if (k == n + 2 && r->usage)
		return snprintf(buf, max, "%s],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":%d,"
		    "\"total_tokens\":%d}}\n\n", chunk_head, n, 42 + n);
	if (k <= n + 3)
		return snprintf(buf, max, "data: [DONE]\n\n");
	return 0;
}

/* When event k is due, in ns of CLOCK_MONOTONIC: a token at ttft + j * gap, the others with the token before them. */
static long long due_ns(const struct sreq *r, int k)
{
	int j = k < 1 ? -1 : (k > stream_tokens ? stream_tokens : k) - 1;
	double ms = j < 0 ? 0 : stream_ttft_ms + j * stream_gap_ms;
	return (long long)r->t0.tv_sec * 1000000000LL + r->t0.tv_nsec + (long long)(ms * 1e6);
}

/*
 * MHD's content reader: the next event once it is due (a thread per
 * connection may sleep), and with it every later one already due, in one
 * write, as a server whose tokens come faster than its socket takes them.
 */
static long long now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/* --log: the write of events from..r->next-1 is now; the line goes out with the [DONE] event's write. */
static void log_write(struct sreq *r, int from)
{
	if (!stream_log || !r->rid || from == r->next)
		return;
	long long t = now_ns(), t0 = (long long)r->t0.tv_sec * 1000000000LL + r->t0.tv_nsec;
	int n = stream_tokens;
	if (from == 0)
		r->w_role = t;
	if (from <= 1 && r->next > 1)
		r->w_first = t;
	if (from <= n && r->next > n)
		r->w_last = t;
	if (r->next <= n + 3)
		return;
	pthread_mutex_lock(&log_lock);
	fprintf(stream_log, "{\"rid\":\"canned-%lu\",\"first_chunk_ms\":%.3f,\"ttft_ms\":%.3f,\"tpot_ms\":",
	    r->rid, (double)(r->w_role - t0) / 1e6, (double)(r->w_first - t0) / 1e6);
	if (n > 1)
		fprintf(stream_log, "%.4f", (double)(r->w_last - r->w_first) / 1e6 / (n - 1));
	else
		fputs("null", stream_log);
	fprintf(stream_log, ",\"late_ms\":%.3f,\"read_at_ms\":%.3f,\"first_at_ms\":%.3f}\n",
	    (double)(r->w_first - due_ns(r, 1)) / 1e6, (double)t0 / 1e6, (double)r->w_first / 1e6);
	fflush(stream_log);
	pthread_mutex_unlock(&log_lock);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sreq *r = cls;
	size_t off = 0;
	int from = r->next;
	(void)pos;
	for (;;) {
		if (r->next == stream_tokens + 2 && !r->usage)
			r->next++;
		long long due = due_ns(r, r->next);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (due > (long long)now.tv_sec * 1000000000LL + now.tv_nsec) {
			if (off) {
				log_write(r, from);
				return (ssize_t)off;
			}
			struct timespec t = { (time_t)(due / 1000000000LL), (long)(due % 1000000000LL) };
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) != 0)
				;
		}
		int len = sse_event(r, r->next, buf + off, max - off);
		if (len <= 0) {
			log_write(r, from);
			return off ? (ssize_t)off : MHD_CONTENT_READER_END_OF_STREAM;
		}
		if ((size_t)len >= max - off) {
			if (!off)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			log_write(r, from);
			return (ssize_t)off;	/* this one goes in the next write */
		}
		off += (size_t)len;
		r->next++;
	}
}

/* Answers built once at the start (the server's cost is then the same either way): [0], [1] with usage. */
static struct MHD_Response *whole[2], *plain;

static void stream_build(void)
{
	static char body[2][16384], text[4096], one[8192];
	size_t t = 0;
	for (int j = 0; j < stream_tokens && t + 16 < sizeof text; j++)
		t += (size_t)snprintf(text + t, sizeof text - t, " w%d", j);
	int n = snprintf(one, sizeof one, "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\","
	    "\"created\":1700000000,\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
	    "\"content\":\"%s\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":42,"
	    "\"completion_tokens\":%d,\"total_tokens\":%d}}", text, stream_tokens, 42 + stream_tokens);
	plain = MHD_create_response_from_buffer((size_t)n, one, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(plain, "Content-Type", "application/json");
	/*
	 * Every event due at once (--ttft 0 --gap 0): one write, with a length,
	 * as the unstreamed answer goes (chunked, MHD writes the head, the
	 * events and the last chunk apart: three wake-ups of the client, not
	 * its parsing, would then be what the benchmark compares).
	 */
	if (stream_ttft_ms > 0 || stream_gap_ms > 0)
		return;
	for (int u = 0; u < 2; u++) {
		struct sreq r = { .usage = u };
		size_t len = 0;
		ssize_t k;
		clock_gettime(CLOCK_MONOTONIC, &r.t0);
		while (len < sizeof body[u] && (k = stream_read(&r, 0, body[u] + len, sizeof body[u] - len)) > 0)
			len += (size_t)k;
		whole[u] = MHD_create_response_from_buffer(len, body[u], MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(whole[u], "Content-Type", "text/event-stream");
	}
}

static enum MHD_Result stream_queue(struct MHD_Connection *c, struct sreq *r)
{
	if (!r->stream)
		return MHD_queue_response(c, MHD_HTTP_OK, plain);
	if (whole[r->usage])
		return MHD_queue_response(c, MHD_HTTP_OK, whole[r->usage]);
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, r, NULL);
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	if (stream_log) {
		char id[40];
		pthread_mutex_lock(&log_lock);
		r->rid = ++log_next;
		pthread_mutex_unlock(&log_lock);
		snprintf(id, sizeof id, "canned-%lu", r->rid);
		MHD_add_response_header(resp, "X-Request-Id", id);
	}
	enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **state)
{
	(void)cls, (void)url, (void)method, (void)version, (void)upload;
	if (!*state) {		/* headers are in; the body follows */
		*state = stream_tokens ? calloc(1, sizeof(struct sreq)) : (void *)1;
		return *state ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {	/* body bytes: read and dropped (a stream's looked at) */
		if (stream_tokens)
			sreq_body(*state, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (stream_tokens)
		return stream_queue(c, *state);
	if (delay_ms > 0) {
		struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	return MHD_queue_response(c, MHD_HTTP_OK, canned);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--delay") == 0 && i + 1 < argc)
			delay_ms = atol(argv[++i]);
		else if (strcmp(argv[i], "--tokens") == 0 && i + 1 < argc)
			stream_tokens = atoi(argv[++i]);
		else if (strcmp(argv[i], "--ttft") == 0 && i + 1 < argc)
			stream_ttft_ms = atof(argv[++i]);
		else if (strcmp(argv[i], "--gap") == 0 && i + 1 < argc)
			stream_gap_ms = atof(argv[++i]);
		else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) {
			if (!(stream_log = fopen(argv[++i], "w"))) {
				perror(argv[i]);
				return 1;
			}
		} else {
			fprintf(stderr, "usage: canned [--delay MS] [--tokens N [--ttft MS] [--gap MS] [--log FILE]]\n");
			return 2;
		}
	}
	canned = MHD_create_response_from_buffer(sizeof answer - 1, (void *)answer, MHD_RESPMEM_PERSISTENT);
	if (stream_tokens)
		stream_build();
	MHD_add_response_header(canned, "Content-Type", "application/json");
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
	    MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_NOTIFY_COMPLETED, sreq_done, NULL, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "canned: cannot start the server\n");
		return 1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("%u\n", (unsigned)info->port);
	fflush(stdout);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	MHD_destroy_response(canned);
	return 0;
}
