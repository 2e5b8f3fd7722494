/* The response cache: what goes into a key, and what the store keeps. */
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "cache.h"
#include "t.h"

static const char body[] = "{\"model\":\"m\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

static qa_cache_req req_of(const char *b)
{
	qa_cache_req r = { "openai", "http://127.0.0.1:8080/v1", "m", "chat", b, strlen(b), 0 };
	return r;
}

static void key_of(const qa_cache_req *r, char out[65])
{
	qa_cache_key k;
	char err[128];
	CHECK(cache_key(r, &k, err, sizeof err) == 0);
	memcpy(out, k.hex, 65);
}

static void canonical(const char *in, const char *want)
{
	qa_buf b = { 0 };
	const char *err;
	CHECK(cache_canonical(&b, in, strlen(in), &err) == 0);
	CHECK_STR(buf_cstr(&b), want);
	buf_free(&b);
}

static void test_keys(void)
{
	char a[65], b[65];
	qa_cache_req r = req_of(body);
	key_of(&r, a);
	key_of(&r, b);
	CHECK_STR(a, b);
	CHECK(strlen(a) == 64);

	/* The same body spelled differently: key order, whitespace, escapes. */
	qa_cache_req r2 = req_of(" { \"messages\" : [ {\"content\":\"h\\u0069\", \"role\":\"user\"} ], \"temperature\":0, \"model\":\"m\" } ");
	key_of(&r2, b);
	CHECK_STR(b, a);

	r2 = r;
	r2.base_url = "http://127.0.0.1:8081/v1";
	key_of(&r2, b);
	CHECK(strcmp(a, b) != 0);
	r2 = r;
	r2.model = "m2";
	key_of(&r2, b);
	CHECK(strcmp(a, b) != 0);
	r2 = r;
	r2.provider = "relay";
	key_of(&r2, b);
	CHECK(strcmp(a, b) != 0);
	r2 = r;
	r2.mode = "completion";
	key_of(&r2, b);
	CHECK(strcmp(a, b) != 0);
	/* A sampling parameter in the body. */
	r2 = req_of("{\"model\":\"m\",\"temperature\":0,\"top_p\":0.9,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
	key_of(&r2, b);
	CHECK(strcmp(a, b) != 0);
	/* Numbers as written: 0 and 0.0 are different requests on the wire. */
	r2 = req_of("{\"model\":\"m\",\"temperature\":0.0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
	key_of(&r2, b);
	CHECK(strcmp(a, b) != 0);

	/* Pinned (temperature 0): the sample index does not matter. */
	r2 = r;
	r2.sample = 3;
	key_of(&r2, b);
	CHECK_STR(b, a);

	/* Not pinned: each sample its own answer. */
	const char *hot = "{\"model\":\"m\",\"temperature\":0.7,\"messages\":[]}";
	char h0[65], h1[65], h0b[65];
	qa_cache_req s = req_of(hot);
	key_of(&s, h0);
	s.sample = 1;
	key_of(&s, h1);
	s.sample = 0;
	key_of(&s, h0b);
	CHECK(strcmp(h0, h1) != 0);
	CHECK_STR(h0, h0b);
	/* Temperature absent is not pinned either; a seed pins it. */
	CHECK(cache_pinned("{\"model\":\"m\"}", 13) == 0);
	CHECK(cache_pinned("{\"temperature\":0.7,\"seed\":1}", 28) == 1);
	CHECK(cache_pinned("{\"temperature\":0}", 17) == 1);
	CHECK(cache_pinned("{\"options\":{\"temperature\":0}}", 29) == 1);
	CHECK(cache_pinned("{\"generationConfig\":{\"seed\":7}}", 31) == 1);
	CHECK(cache_pinned("{\"seed\":null}", 13) == 0);

	/* Not a JSON object: refused. */
	qa_cache_req bad = req_of("[1,2]");
	qa_cache_key k;
	char err[128];
	CHECK(cache_key(&bad, &k, err, sizeof err) == -1);
	bad = req_of("{\"a\":");
	CHECK(cache_key(&bad, &k, err, sizeof err) == -1);
}

static void test_canonical(void)
{
	canonical(" {\"b\" : 1 , \"a\":[ true,null ,\"x\\/y\"], \"c\":{\"z\":1e3,\"y\":-0.50}} ",
	    "{\"a\":[true,null,\"x/y\"],\"b\":1,\"c\":{\"y\":-0.50,\"z\":1e3}}");
	/* A repeated key keeps its last value, as json_member reads it. */
	canonical("{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}");
	/* Keys sort by bytes: "ab" after "a", upper case before lower. */
	canonical("{\"ab\":1,\"a\":2,\"B\":3}", "{\"B\":3,\"a\":2,\"ab\":1}");
	canonical("\"\\u00e9\"", "\"\xc3\xa9\"");
}

/* The key of a request an API key, a timeout or a retry setting could change: none are inputs. */
static void test_key_ignores_auth(void)
{
	/* qa_cache_req has no field for them; a header inside the body would be the caller's bug. */
	char a[65], b[65];
	qa_cache_req r = req_of(body);
	key_of(&r, a);
	setenv("OPENAI_API_KEY", "sk-other", 1);
	key_of(&r, b);
	CHECK_STR(a, b);
	/*
	 * A known vector: the key is SHA-256 of this exact text, so it is stable across builds:
	 * printf '{"base_url":"http://x","body":{"temperature":0},"format":2,"mode":"chat","model":"m","provider":"mock"}' | sha256sum
	 */
	qa_cache_req v = { "mock", "http://x", "m", "chat", "{\"temperature\":0}", 17, 0 };
	key_of(&v, a);
	CHECK_STR(a, "49d759870566731f4f18abebe8f0ac870690ba523f4bbd647ccb22e0cab11070");
}

/*
 * The key is hashed as its text is made, a few KiB at a time: it must be
 * the digest of the whole text all the same, for bodies smaller and larger
 * than the piece, strings that go as they are and strings re-escaped.
 */
static void test_key_streamed(void)
{
	qa_buf big = { 0 }, text = { 0 };
	for (int round = 0; round < 4; round++) {
		big.len = 0;
		buf_adds(&big, "{\"z\":1,\"messages\":[");
		int n = round == 0 ? 1 : round == 1 ? 300 : 2000;
		for (int i = 0; i < n; i++)
			buf_printf(&big, "%s{\"role\":\"user\",\"content\":\"line %d\\n caf\u00e9 \\\"q\\\" %s\"}", i ? "," : "", i,
			    round == 3 ? "" : "plain text that needs no escapes at all");
		if (round == 3) {	/* one string longer than the piece */
			buf_adds(&big, ",\"");
			for (int i = 0; i < 9000; i++)
				buf_addc(&big, (char)('a' + i % 26));
			buf_addc(&big, '"');
		}
		buf_adds(&big, "],\"temperature\":0.5}");
		qa_cache_req r = req_of(buf_cstr(&big));
		r.sample = (unsigned long)round * 7;
		char got[65];
		key_of(&r, got);
		text.len = 0;
		buf_adds(&text, "{\"base_url\":\"http://127.0.0.1:8080/v1\",\"body\":");
		const char *why;
		CHECK(cache_canonical(&text, big.p, big.len, &why) == 0);
		buf_printf(&text, ",\"format\":%d,\"mode\":\"chat\",\"model\":\"m\",\"provider\":\"openai\",\"sample\":%d}",
		    QA_CACHE_FORMAT, round * 7);
		unsigned char md[32];
		unsigned int mdlen = 0;
		CHECK(EVP_Digest(text.p, text.len, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32);
		char want[65];
		for (int i = 0; i < 32; i++)
			snprintf(want + 2 * i, 3, "%02x", md[i]);
		CHECK_STR(got, want);
	}
	buf_free(&big);
	buf_free(&text);
}

static qa_cache_entry entry(const char *resp)
{
	qa_cache_entry e = { resp, strlen(resp), 1796594930, "http://127.0.0.1:8080/v1/chat/completions", "m", 80 };
	return e;
}

static void test_store(const char *dir)
{
	char path[512], err[256];
	snprintf(path, sizeof path, "%s/sub/responses.db", dir);
	qa_cache *c = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
	CHECK(c != NULL);
	if (!c) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	snprintf(path + strlen(path), sizeof path - strlen(path), "-wal");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	path[strlen(path) - 4] = '\0';
	char sub[512];
	snprintf(sub, sizeof sub, "%s/sub", dir);
	CHECK(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700);

	qa_cache_req r = req_of(body);
	qa_cache_key k;
	qa_cache_hit h;
	CHECK(cache_key(&r, &k, err, sizeof err) == 0);
	CHECK(cache_get(c, &k, &h, err, sizeof err) == 0);
	const char *resp = "{\"text\":\"hello\",\"finish_reason\":\"stop\",\"attempts\":2,\"latency_ms\":41}";
	qa_cache_entry e = entry(resp);
	CHECK(cache_put(c, &k, &e, "stop", err, sizeof err) == QA_CACHE_STORED);
	CHECK(cache_get(c, &k, &h, err, sizeof err) == 1);
	CHECK_STR(h.response, resp);
	CHECK(h.response_len == strlen(resp));
	CHECK(h.cached_at == 1796594930);
	CHECK_STR(h.cached_at_text, "2026-12-06T22:08:50Z");
	CHECK_STR(h.model, "m");
	cache_hit_free(&h);
	/* The same inside a read batch, which ends cleanly. */
	CHECK(cache_read_begin(c, err, sizeof err) == 0);
	CHECK(cache_get(c, &k, &h, err, sizeof err) == 1);
	cache_hit_free(&h);
	cache_read_end(c);

	/* Errors and content-filter stops are never stored. */
	qa_cache_key k2 = k;
	k2.hex[0] = k.hex[0] == 'a' ? 'b' : 'a';
	qa_cache_entry cf = entry("{\"text\":\"\",\"finish_reason\":\"content_filter\"}");
	CHECK(cache_put(c, &k2, &cf, "content_filter", err, sizeof err) == QA_CACHE_REFUSED);
	qa_cache_entry er = entry("{\"error\":{\"type\":\"http\",\"status\":500}}");
	CHECK(cache_put(c, &k2, &er, NULL, err, sizeof err) == QA_CACHE_REFUSED);
	CHECK(cache_put(c, &k2, &er, "error", err, sizeof err) == QA_CACHE_REFUSED);
	qa_cache_entry notobj = entry("[1]");
	CHECK(cache_put(c, &k2, &notobj, "stop", err, sizeof err) == QA_CACHE_REFUSED);
	CHECK(cache_get(c, &k2, &h, err, sizeof err) == 0);

	/* In flight: the first claim fetches, a second in the same process waits. */
	CHECK(cache_claim(c, &k2, err, sizeof err) == 1);
	CHECK(cache_in_flight(c, &k2) == 1);
	CHECK(cache_claim(c, &k2, err, sizeof err) == 0);
	cache_release(c, &k2);
	CHECK(cache_in_flight(c, &k2) == 0);
	CHECK(cache_claim(c, &k2, err, sizeof err) == 1);
	cache_release(c, &k2);

	qa_cache_stats s;
	CHECK(cache_stats(c, &s, err, sizeof err) == 0);
	CHECK(s.session_hits == 2 && s.session_puts == 1 && s.hits == 2);

	/* A claim left by a process that died is taken over.  No connection crosses the fork (SQLite forbids it). */
	cache_close(&c);
	pid_t pid = fork();
	if (pid == 0) {
		qa_cache *cc = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
		_exit(cc && cache_claim(cc, &k2, err, sizeof err) == 1 ? 0 : 1);	/* dies holding it */
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	c = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
	CHECK(c != NULL);
	if (!c)
		return;
	/* The dead child's row is there, but it is not in flight, and we take it over. */
	CHECK(cache_in_flight(c, &k2) == 0);
	CHECK(cache_claim(c, &k2, err, sizeof err) == 1);
	cache_release(c, &k2);

	CHECK(cache_stats(c, &s, err, sizeof err) == 0);
	CHECK(s.entries == 1);
	CHECK(s.response_bytes == (int64_t)strlen(resp));
	CHECK(s.request_bytes == 80);
	CHECK(s.session_hits == 0 && s.session_puts == 0);	/* a new handle's */
	CHECK(s.hits == 2);	/* the first handle's hits, recorded at its close */
	cache_close(&c);

	/* The journal really is WAL, and the format is recorded. */
	sqlite3 *db;
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	sqlite3_stmt *q;
	CHECK(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(q) == SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	CHECK(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name='format'", -1, &q, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == QA_CACHE_FORMAT);
	sqlite3_finalize(q);
	sqlite3_close(db);

	/* Hits are counted in the file at close. */
	c = cache_open(path, QA_CACHE_READ_ONLY, err, sizeof err);
	CHECK(c != NULL);
	CHECK(cache_stats(c, &s, err, sizeof err) == 0 && s.hits == 2 && s.session_hits == 0);
	/* Read-only serves but stores nothing. */
	CHECK(cache_get(c, &k, &h, err, sizeof err) == 1);
	cache_hit_free(&h);
	CHECK(cache_put(c, &k2, &e, "stop", err, sizeof err) == QA_CACHE_SKIPPED);
	cache_close(&c);

	/* Refresh serves nothing and replaces. */
	c = cache_open(path, QA_CACHE_REFRESH, err, sizeof err);
	CHECK(c != NULL);
	CHECK(cache_get(c, &k, &h, err, sizeof err) == 0);
	qa_cache_entry e2 = entry("{\"text\":\"again\"}");
	CHECK(cache_put(c, &k, &e2, "stop", err, sizeof err) == QA_CACHE_STORED);
	cache_close(&c);
	c = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
	CHECK(c && cache_get(c, &k, &h, err, sizeof err) == 1);
	if (c && h.response) {
		CHECK_STR(h.response, "{\"text\":\"again\"}");
		cache_hit_free(&h);
	}
	int64_t removed;
	CHECK(cache_prune(c, 1796594930, &removed, err, sizeof err) == 0 && removed == 0);
	CHECK(cache_prune(c, 1796594931, &removed, err, sizeof err) == 0 && removed == 1);
	cache_close(&c);

	/* Off opens nothing. */
	c = cache_open(NULL, QA_CACHE_OFF, err, sizeof err);
	CHECK(c && cache_get(c, &k, &h, err, sizeof err) == 0);
	CHECK(cache_put(c, &k, &e, "stop", err, sizeof err) == QA_CACHE_SKIPPED);
	cache_close(&c);

	/* A file that is not a cache is refused with its name. */
	snprintf(path, sizeof path, "%s/junk.db", dir);
	FILE *fp = fopen(path, "w");
	fputs("not sqlite at all, not at all, really not, no.....................................................\n", fp);
	fclose(fp);
	c = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
	CHECK(c == NULL);
	CHECK(strstr(err, "junk.db") != NULL);
}

/* Two processes writing the one file at once: every put lands, none fails. */
static void test_concurrent(const char *dir)
{
	char path[512], err[256];
	snprintf(path, sizeof path, "%s/shared.db", dir);
	enum { N = 400 };
	pid_t kids[2];
	for (int w = 0; w < 2; w++) {
		kids[w] = fork();
		if (kids[w] == 0) {
			qa_cache *c = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
			if (!c) {
				fprintf(stderr, "writer %d: %s\n", w, err);
				_exit(2);
			}
			int bad = 0;
			for (int i = 0; i < N; i++) {
				char b[64];
				snprintf(b, sizeof b, "{\"w\":%d,\"i\":%d,\"temperature\":0}", w, i);
				qa_cache_req r = req_of(b);
				qa_cache_key k;
				qa_cache_entry e = entry("{\"text\":\"x\"}");
				if (cache_key(&r, &k, err, sizeof err) || cache_put(c, &k, &e, "stop", err, sizeof err) != QA_CACHE_STORED) {
					if (!bad)
						fprintf(stderr, "writer %d: %s\n", w, err);
					bad++;
				}
			}
			cache_close(&c);
			_exit(bad ? 1 : 0);
		}
	}
	for (int w = 0; w < 2; w++) {
		int status;
		waitpid(kids[w], &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	qa_cache *c = cache_open(path, QA_CACHE_READ_ONLY, err, sizeof err);
	qa_cache_stats s;
	CHECK(c && cache_stats(c, &s, err, sizeof err) == 0);
	CHECK(s.entries == 2 * N);
	cache_close(&c);
}

/* A write batch: one transaction; its puts seen by its own gets, by another handle only after the end. */
static void test_write_batch(const char *dir)
{
	char path[512], err[256];
	snprintf(path, sizeof path, "%s/batch.db", dir);
	qa_cache *a = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
	qa_cache *b = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
	CHECK(a != NULL && b != NULL);
	if (!a || !b)
		return;
	qa_cache_key k[3];
	qa_cache_hit h;
	const char *bodies[] = { "{\"prompt\":\"b1\"}", "{\"prompt\":\"b2\"}", "{\"prompt\":\"b3\"}" };
	qa_cache_entry e = entry("{\"text\":\"x\",\"finish_reason\":\"stop\"}");
	CHECK(!cache_writing(a));
	CHECK(cache_write_begin(a, err, sizeof err) == 0);
	CHECK(cache_writing(a));
	CHECK(cache_write_begin(a, err, sizeof err) == 0);	/* already open: a no-op */
	for (int i = 0; i < 3; i++) {
		qa_cache_req r = req_of(bodies[i]);
		CHECK(cache_key(&r, &k[i], err, sizeof err) == 0);
		CHECK(cache_put(a, &k[i], &e, "stop", err, sizeof err) == QA_CACHE_STORED);
	}
	CHECK(cache_get(a, &k[1], &h, err, sizeof err) == 1);
	cache_hit_free(&h);
	CHECK(cache_get(b, &k[1], &h, err, sizeof err) == 0);	/* not committed yet */
	CHECK(cache_write_end(a, err, sizeof err) == 0);
	CHECK(!cache_writing(a));
	CHECK(cache_write_end(a, err, sizeof err) == 0);	/* none open: a no-op */
	for (int i = 0; i < 3; i++) {
		CHECK(cache_get(b, &k[i], &h, err, sizeof err) == 1);
		cache_hit_free(&h);
	}
	/* a batch left open is committed by cache_close */
	qa_cache_req r = req_of("{\"prompt\":\"b4\"}");
	qa_cache_key k4;
	CHECK(cache_key(&r, &k4, err, sizeof err) == 0);
	CHECK(cache_write_begin(a, err, sizeof err) == 0);
	CHECK(cache_put(a, &k4, &e, "stop", err, sizeof err) == QA_CACHE_STORED);
	cache_close(&a);
	CHECK(cache_get(b, &k4, &h, err, sizeof err) == 1);
	cache_hit_free(&h);
	cache_close(&b);
	/* read-only: no batch */
	qa_cache *ro = cache_open(path, QA_CACHE_READ_ONLY, err, sizeof err);
	CHECK(ro != NULL);
	if (ro) {
		CHECK(cache_write_begin(ro, err, sizeof err) == 0 && !cache_writing(ro));
		cache_close(&ro);
	}
}

static void test_preload(const char *dir)
{
	char path[512], err[256];
	snprintf(path, sizeof path, "%s/preload.db", dir);
	qa_cache *a = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
	qa_cache *b = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
	CHECK(a != NULL && b != NULL);
	if (!a || !b)
		return;
	enum { N = 3000 };
	static qa_cache_key k[N];
	char text[64], resp[64];
	CHECK(cache_write_begin(a, err, sizeof err) == 0);
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof text, "{\"prompt\":\"p%d\"}", i);
		snprintf(resp, sizeof resp, "{\"text\":\"r%d\"}", i);
		qa_cache_req r = req_of(text);
		CHECK(cache_key(&r, &k[i], err, sizeof err) == 0);
		qa_cache_entry e = entry(resp);
		e.cached_at += i;
		if (i % 3 == 0)
			e.endpoint = NULL;
		if (i % 5 == 0)
			e.model = NULL;
		CHECK(cache_put(a, &k[i], &e, "stop", err, sizeof err) == QA_CACHE_STORED);
	}
	CHECK(cache_write_end(a, err, sizeof err) == 0);
	qa_cache_stats st;
	qa_cache_hit h;
	/* misses do not count towards reading the file whole: a cold run gains nothing from it */
	for (int i = 0; i < 2 * N; i++) {
		qa_cache_key miss = k[i % N];
		miss.hex[63] = miss.hex[63] == '0' ? '1' : '0';
		CHECK(cache_get(b, &miss, &h, err, sizeof err) == 0);
	}
	CHECK(cache_stats(b, &st, err, sizeof err) == 0 && st.session_preloaded == 0);
	/* b looks every key up: past 1024 of them it reads the file whole, and the rest come from memory */
	int good = 0;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < N; i++) {
			snprintf(resp, sizeof resp, "{\"text\":\"r%d\"}", i);
			if (cache_get(b, &k[i], &h, err, sizeof err) == 1 && strcmp(h.response, resp) == 0 &&
			    h.response_len == strlen(resp) && h.cached_at == 1796594930 + i &&
			    (i % 3 == 0 ? h.endpoint == NULL : h.endpoint && strcmp(h.endpoint, "http://127.0.0.1:8080/v1/chat/completions") == 0) &&
			    (i % 5 == 0 ? h.model == NULL : h.model && strcmp(h.model, "m") == 0))
				good++;
			cache_hit_free(&h);
		}
	CHECK(good == 2 * N);
	CHECK(cache_stats(b, &st, err, sizeof err) == 0 && st.session_preloaded == N && st.session_hits == 2 * N);
	/* stored after the scan, by another handle: found in the file */
	qa_cache_req r = req_of("{\"prompt\":\"later\"}");
	qa_cache_key later;
	CHECK(cache_key(&r, &later, err, sizeof err) == 0);
	CHECK(cache_get(b, &later, &h, err, sizeof err) == 0);
	qa_cache_entry e = entry("{\"text\":\"later\"}");
	CHECK(cache_put(a, &later, &e, "stop", err, sizeof err) == QA_CACHE_STORED);
	CHECK(cache_get(b, &later, &h, err, sizeof err) == 1 && strcmp(h.response, "{\"text\":\"later\"}") == 0);
	cache_hit_free(&h);
	/* stored anew by b itself: the copy in memory is not served */
	e = entry("{\"text\":\"new\"}");
	CHECK(cache_put(b, &k[7], &e, "stop", err, sizeof err) == QA_CACHE_STORED);
	CHECK(cache_get(b, &k[7], &h, err, sizeof err) == 1 && strcmp(h.response, "{\"text\":\"new\"}") == 0);
	cache_hit_free(&h);
	good = 0;
	for (int i = 0; i < N; i++) {
		snprintf(resp, sizeof resp, "{\"text\":\"r%d\"}", i);
		if (i != 7 && cache_get(b, &k[i], &h, err, sizeof err) == 1 && strcmp(h.response, resp) == 0)
			good++;
		cache_hit_free(&h);
	}
	CHECK(good == N - 1);
	/* pruned: nothing is served from memory any more */
	int64_t removed = 0;
	CHECK(cache_prune(b, 1796594930 + N, &removed, err, sizeof err) == 0 && removed == N + 1);	/* and "later" */
	CHECK(cache_get(b, &k[100], &h, err, sizeof err) == 0);
	CHECK(cache_stats(b, &st, err, sizeof err) == 0 && st.session_preloaded == 0);
	CHECK(cache_put(a, &k[1], &e, "stop", err, sizeof err) == QA_CACHE_STORED);
	cache_close(&a);
	cache_close(&b);
	/* a handle that only read: its hit is counted, its close leaves the WAL (no checkpoint, no fsync) */
	char wal[600];
	snprintf(wal, sizeof wal, "%s-wal", path);
	CHECK(access(wal, F_OK) != 0);	/* the last writer's close checkpointed it away */
	qa_cache *c = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
	CHECK(c && cache_stats(c, &st, err, sizeof err) == 0);
	int64_t hits = st.hits;
	CHECK(c && cache_get(c, &k[1], &h, err, sizeof err) == 1);
	cache_hit_free(&h);
	cache_close(&c);
	CHECK(access(wal, F_OK) == 0);
	c = cache_open(path, QA_CACHE_READ_WRITE, err, sizeof err);
	CHECK(c && cache_stats(c, &st, err, sizeof err) == 0 && st.hits == hits + 1);
	cache_close(&c);
}

static void test_time(void)
{
	int64_t t;
	CHECK(cache_parse_time("2026-12-06T22:08:50Z", &t) == 0 && t == 1796594930);
	CHECK(cache_parse_time("2026-12-06T23:08:50.25+01:00", &t) == 0 && t == 1796594930);
	CHECK(cache_parse_time("2026-12-06 22:08:50", &t) == -1);
	CHECK(cache_parse_time("2026-12-06T22:08:50Zx", &t) == -1);
	enum qa_cache_mode m;
	CHECK(cache_mode_parse("refresh", &m) == 0 && m == QA_CACHE_REFRESH);
	CHECK(cache_mode_parse("rw", &m) == -1);
	setenv("XDG_CACHE_HOME", "/x/y", 1);
	char *p = cache_default_path_new();
	CHECK_STR(p, "/x/y/qa/responses.db");
	free(p);
	setenv("XDG_CACHE_HOME", "relative", 1);
	setenv("HOME", "/home/u", 1);
	p = cache_default_path_new();
	CHECK_STR(p, "/home/u/.cache/qa/responses.db");
	free(p);
}

int main(void)
{
	char tmpl[] = "/tmp/test_cache.XXXXXX";
	const char *dir = mkdtemp(tmpl);
	CHECK(dir != NULL);
	if (!dir)
		return t_done("test_cache");
	umask(022);
	test_canonical();
	test_keys();
	test_key_ignores_auth();
	test_key_streamed();
	test_store(dir);
	test_concurrent(dir);
	test_write_batch(dir);
	test_preload(dir);
	test_time();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	return t_done("test_cache");
}
