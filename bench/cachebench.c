/*
 * cachebench: the response cache (lib/cache.h) alone, as qa-send will use
 * it: for each of N requests build the key from a chat body, then put the
 * answer (each put its own committed transaction), then, in a second open,
 * key and get every one.  Prints one JSON line of rates and sizes.
 *
 *	cachebench FILE N
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "cache.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The body qa-send sends for bench/send.sh's tasks. */
static void body_of(qa_buf *b, long i)
{
	b->len = 0;
	buf_printf(b, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Question %ld: which of these "
	    "is right? A) one B) two C) three D) four\"}],\"temperature\":0}", i);
}

static const char response[] =
    "{\"text\":\"The answer is B.\",\"finish_reason\":\"stop\",\"model\":\"m\",\"usage\":{\"prompt_tokens\":42,"
    "\"completion_tokens\":5,\"total_tokens\":47},\"latency_ms\":1.2,\"attempts\":1,\"status\":200}";

int main(int argc, char **argv)
{
	if (argc != 3) {
		fputs("usage: cachebench FILE N\n", stderr);
		return 2;
	}
	const char *path = argv[1];
	long n = atol(argv[2]);
	char err[512];
	qa_buf b = { 0 };
	qa_cache_req r = { "openai", "http://127.0.0.1:8080/v1", "m", "chat", NULL, 0, 0 };
	qa_cache_key k;

	qa_cache *c = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
	if (!c) {
		fprintf(stderr, "cachebench: %s\n", err);
		return 2;
	}
	double t0 = now();
	for (long i = 0; i < n; i++) {
		body_of(&b, i);
		r.body = b.p;
		r.body_len = b.len;
		qa_cache_entry e = { response, sizeof response - 1, 1796594930, "http://127.0.0.1:8080/v1/chat/completions", "m",
			(int64_t)b.len };
		if (cache_key(&r, &k, err, sizeof err) != 0 || cache_put(c, &k, &e, "stop", err, sizeof err) != QA_CACHE_STORED) {
			fprintf(stderr, "cachebench: put %ld: %s\n", i, err);
			return 1;
		}
	}
	double t_put = now() - t0;
	cache_close(&c);

	c = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
	long hits = 0;
	t0 = now();
	/* Gets one by one, each its own read transaction. */
	for (long i = 0; i < n; i++) {
		qa_cache_hit h;
		body_of(&b, i);
		r.body = b.p;
		r.body_len = b.len;
		if (cache_key(&r, &k, err, sizeof err) == 0 && cache_get(c, &k, &h, err, sizeof err) == 1) {
			hits++;
			cache_hit_free(&h);
		}
	}
	double t_get = now() - t0;
	/* The same in batches of 1000 in one read transaction (cache_read_begin). */
	long bhits = 0;
	t0 = now();
	for (long i = 0; i < n; i++) {
		qa_cache_hit h;
		if (i % 1000 == 0) {
			cache_read_end(c);
			cache_read_begin(c, err, sizeof err);
		}
		body_of(&b, i);
		r.body = b.p;
		r.body_len = b.len;
		if (cache_key(&r, &k, err, sizeof err) == 0 && cache_get(c, &k, &h, err, sizeof err) == 1) {
			bhits++;
			cache_hit_free(&h);
		}
	}
	cache_read_end(c);
	double t_bget = now() - t0;
	/* The key alone, to tell hashing from the lookup. */
	t0 = now();
	for (long i = 0; i < n; i++) {
		body_of(&b, i);
		r.body = b.p;
		r.body_len = b.len;
		cache_key(&r, &k, err, sizeof err);
	}
	double t_key = now() - t0;
	cache_close(&c);
	struct stat st;
	long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
	printf("{\"n\":%ld,\"hits\":%ld,\"put_s\":%.3f,\"get_s\":%.3f,\"key_s\":%.3f,\"puts_per_s\":%.0f,"
	    "\"gets_per_s\":%.0f,\"batch_get_s\":%.3f,\"file_bytes\":%lld,\"bytes_per_record\":%.0f}\n",
	    n, hits, t_put, t_get, t_key, n / t_put, n / t_get, t_bget, bytes, (double)bytes / (double)n);
	buf_free(&b);
	return hits == n && bhits == n ? 0 : 1;
}
