/* The response cache (cache.h): SQLite for the store, libcrypto for SHA-256. */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

struct qa_cache {
	sqlite3 *db;		/* NULL: off, or a read-only open of a missing file */
	enum qa_cache_mode mode;
	char *path;
	sqlite3_stmt *get, *put, *claim, *release, *owner, *takeover;
	int64_t session_hits, session_puts;
	int writing;		/* a write batch is open (cache_write_begin) */
	/*
	 * The warm-run preload (see preload()): every entry read in one
	 * sequential scan into rows, found by key through slots (open
	 * addressing: the key's first 64 bits, and offset + 1 into rows, 0
	 * empty; a probe reads a row only when those bits match).  A row is
	 * key[64], cached_at, response length, then response, endpoint and
	 * model, each NUL-terminated, endpoint/model "\1" for NULL.
	 */
	int64_t probes;		/* lookups that found their key in SQLite */
	int64_t preload_at;	/* ... at which to preload; 0 until the file's size is known, -1 never */
	int64_t file_bytes;	/* the file and its WAL when preload_at was set: the rows' first size */
	qa_buf rows;
	struct preload_slot {
		uint64_t tag;
		size_t off;
	} *slots;
	size_t nslots;
	int64_t preloaded;	/* entries read into rows */
	qa_buf peeked;		/* cache_peek's answer read from SQLite */
};

static const char *const mode_names[] = { "read-write", "read-only", "refresh", "off" };

int cache_mode_parse(const char *s, enum qa_cache_mode *mode)
{
	for (size_t i = 0; i < sizeof mode_names / sizeof *mode_names; i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*mode = (enum qa_cache_mode)i;
			return 0;
		}
	return -1;
}

const char *cache_mode_name(enum qa_cache_mode mode)
{
	return mode_names[mode];
}

char *cache_default_path_new(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	qa_buf b = { 0 };
	/* The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored. */
	if (xdg && xdg[0] == '/')
		buf_printf(&b, "%s/qa/responses.db", xdg);
	else if (home && home[0])
		buf_printf(&b, "%s/.cache/qa/responses.db", home);
	else
		return NULL;
	buf_cstr(&b);
	return b.p;
}

/* ---- time ---- */

void cache_format_time(int64_t t, char out[32])
{
	/* The last one again: a warm run's hits mostly share a few seconds. */
	static _Thread_local int64_t last_t = INT64_MIN;
	static _Thread_local char last[32];
	if (t != last_t) {
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(last, sizeof last, "%Y-%m-%dT%H:%M:%SZ", &tm);
		last_t = t;
	}
	memcpy(out, last, 32);
}

int cache_parse_time(const char *s, int64_t *t)
{
	struct tm tm = { 0 };
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	/* Fractions of a second are allowed and dropped: the cache keeps seconds. */
	if (*end == '.') {
		end++;
		if (*end < '0' || *end > '9')
			return -1;
		while (*end >= '0' && *end <= '9')
			end++;
	}
	long off = 0;
	if (*end == 'Z' || *end == 'z') {
		end++;
	} else if ((*end == '+' || *end == '-') && strlen(end) == 6 && end[3] == ':') {
		int h = (end[1] - '0') * 10 + (end[2] - '0'), m = (end[4] - '0') * 10 + (end[5] - '0');
		off = (h * 3600L + m * 60L) * (*end == '-' ? -1 : 1);
		end += 6;
	} else {
		return -1;
	}
	if (*end)
		return -1;
	*t = (int64_t)timegm(&tm) - off;
	return 0;
}

/* ---- canonical JSON and keys ---- */

struct member {
	const char *key;
	size_t keylen;
	int val;
	int order;
};

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	if (x->keylen != y->keylen)
		return x->keylen < y->keylen ? -1 : 1;
	return x->order - y->order;
}

/*
 * Where canonical text goes: appended to out, or (out NULL) through a
 * small buffer into the digest, so a key is hashed as its text is made,
 * in one SHA-256 context, whatever the body's size.
 */
struct sink {
	qa_buf *out;
	EVP_MD_CTX *md;
	int failed;
	size_t n;
	char buf[4096];
};

static void sink_flush(struct sink *k)
{
	if (k->out)
		buf_add(k->out, k->buf, k->n);
	else if (k->n && !EVP_DigestUpdate(k->md, k->buf, k->n))
		k->failed = 1;
	k->n = 0;
}

static void sink_add(struct sink *k, const void *p, size_t n)
{
	if (k->n + n > sizeof k->buf) {
		sink_flush(k);
		if (n > sizeof k->buf) {
			if (k->out)
				buf_add(k->out, p, n);
			else if (!EVP_DigestUpdate(k->md, p, n))
				k->failed = 1;
			return;
		}
	}
	memcpy(k->buf + k->n, p, n);
	k->n += n;
}

static void sink_addc(struct sink *k, char c)
{
	if (k->n == sizeof k->buf)
		sink_flush(k);
	k->buf[k->n++] = c;
}

/* A string as buf_json_string writes it: printable ASCII but '"' and '\\' as it is, else through it. */
static void sink_string(struct sink *k, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
		i++;
	if (i == n) {
		sink_addc(k, '"');
		sink_add(k, s, n);
		sink_addc(k, '"');
		return;
	}
	static _Thread_local qa_buf e;
	e.len = 0;
	buf_json_string(&e, s, n);
	sink_add(k, e.p, e.len);
	if (e.cap > (1u << 20))
		buf_free(&e);
}

static void canon(struct sink *out, const qa_json *j, int tok)
{
	size_t len;
	const char *s;
	switch (json_type(j, tok)) {
	case QA_STRING:
		s = json_key(j, tok, &len);	/* the text itself when it has no escapes: no copy */
		sink_string(out, s, len);
		return;
	case QA_ARRAY: {
		size_t n = json_count(j, tok);
		sink_addc(out, '[');
		for (size_t i = 0; i < n; i++) {
			if (i)
				sink_addc(out, ',');
			canon(out, j, json_index(j, tok, i));
		}
		sink_addc(out, ']');
		return;
	}
	case QA_OBJECT: {
		size_t n = json_count(j, tok);
		struct member few[16];	/* most objects: no allocation */
		struct member *m = n <= 16 ? few : xcalloc(n, sizeof *m);
		for (size_t i = 0; i < n; i++) {
			int k = json_key_at(j, tok, i);
			m[i].key = json_key(j, k, &m[i].keylen);
			m[i].val = k + 1;
			m[i].order = (int)i;
		}
		if (n > 16)
			qsort(m, n, sizeof *m, member_cmp);
		else	/* a few members: insertion sort, no calls through a pointer (the same order: keys then order are unique) */
			for (size_t i = 1; i < n; i++) {
				struct member x = m[i];
				size_t k = i;
				for (; k > 0 && member_cmp(&m[k - 1], &x) > 0; k--)
					m[k] = m[k - 1];
				m[k] = x;
			}
		sink_addc(out, '{');
		int first = 1;
		for (size_t i = 0; i < n; i++) {
			/* A repeated key: only its last occurrence (the run's last after a stable sort by order). */
			if (i + 1 < n && m[i + 1].keylen == m[i].keylen && memcmp(m[i + 1].key, m[i].key, m[i].keylen) == 0)
				continue;
			if (!first)
				sink_addc(out, ',');
			first = 0;
			sink_string(out, m[i].key, m[i].keylen);
			sink_addc(out, ':');
			canon(out, j, m[i].val);
		}
		sink_addc(out, '}');
		if (m != few)
			free(m);
		return;
	}
	default:
		s = json_raw(j, tok, &len);
		sink_add(out, s, len);
		return;
	}
}

int cache_canonical(qa_buf *out, const char *text, size_t len, const char **err)
{
	qa_json *j = json_new();
	size_t off;
	int rc = json_parse(j, text, len, err, &off);
	if (rc == 0) {
		struct sink *k = xcalloc(1, sizeof *k);
		k->out = out;
		canon(k, j, json_root(j));
		sink_flush(k);
		free(k);
	}
	json_free(&j);
	return rc;
}

/* 1: the object at tok pins decoding; 0: it does not say so. */
static int pins(const qa_json *j, int tok)
{
	if (json_type(j, tok) != QA_OBJECT)
		return 0;
	int seed = json_member(j, tok, "seed", 4);
	if (seed >= 0 && json_type(j, seed) != QA_NULL)
		return 1;
	int t = json_member(j, tok, "temperature", 11);
	double v;
	return t >= 0 && json_num(j, t, &v) == 0 && v == 0;
}

int cache_pinned(const char *body, size_t len)
{
	qa_json *j = json_new();
	const char *err;
	size_t off;
	int r = 0;
	if (json_parse(j, body, len, &err, &off) == 0 && json_type(j, 0) == QA_OBJECT) {
		r = pins(j, 0) || pins(j, json_member(j, 0, "options", 7)) ||
		    pins(j, json_member(j, 0, "generationConfig", 16));
	}
	json_free(&j);
	return r;
}

static void add_str_member(qa_buf *b, const char *name, const char *v)
{
	buf_json_string(b, name, strlen(name));
	buf_addc(b, ':');
	if (v)
		buf_json_string(b, v, strlen(v));
	else
		buf_adds(b, "null");
}

int cache_key(const qa_cache_req *req, qa_cache_key *key, char *err, size_t errlen)
{
	/*
	 * Kept from call to call (keys are on every request's path, a warm
	 * run's whole cost): the parser and the digest context.
	 */
	static _Thread_local qa_json *j;
	static _Thread_local EVP_MD_CTX *ctx;
	static _Thread_local EVP_MD *sha256;	/* EVP_sha256() looks the algorithm up again at every digest (OpenSSL 3) */
	const char *why;
	size_t off;
	if (!j)
		j = json_new();
	/* One parse for both the canonical text and the pinned test. */
	if (json_parse(j, req->body, req->body_len, &why, &off) != 0 || json_type(j, 0) != QA_OBJECT) {
		snprintf(err, errlen, "the request body is not a JSON object");
		return -1;
	}
	int pinned = pins(j, 0) || pins(j, json_member(j, 0, "options", 7)) ||
	    pins(j, json_member(j, 0, "generationConfig", 16));
	/*
	 * Members in sorted order, so this is itself canonical JSON.  What
	 * comes before and after the body is the same for a run's requests
	 * (one endpoint, one model): made again only when one of them changes.
	 */
	static _Thread_local qa_buf head, tail;	/* {"base_url":..,"body":  and  ,"format":..,"provider":.. */
	static _Thread_local char *last[4];
	const char *now[4] = { req->base_url, req->mode, req->model, req->provider };
	int same = head.len > 0;
	for (int i = 0; i < 4 && same; i++)
		same = (!now[i] && !last[i]) || (now[i] && last[i] && strcmp(now[i], last[i]) == 0);
	if (!same) {
		for (int i = 0; i < 4; i++) {
			free(last[i]);
			last[i] = now[i] ? xstrdup(now[i]) : NULL;
		}
		head.len = tail.len = 0;
		buf_addc(&head, '{');
		add_str_member(&head, "base_url", req->base_url);
		buf_adds(&head, ",\"body\":");
		buf_adds(&tail, ",\"format\":" QA_CACHE_FORMAT_TEXT ",");
		add_str_member(&tail, "mode", req->mode);
		buf_addc(&tail, ',');
		add_str_member(&tail, "model", req->model);
		buf_addc(&tail, ',');
		add_str_member(&tail, "provider", req->provider);
	}
	if (!sha256)
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!ctx)
		ctx = EVP_MD_CTX_new();
	if (!sha256 || !ctx || !EVP_DigestInit_ex(ctx, sha256, NULL)) {
		snprintf(err, errlen, "SHA-256 failed");
		return -1;
	}
	/* The text is hashed as it is made: a few KiB at a time, never held whole. */
	static _Thread_local struct sink k;
	k.out = NULL;
	k.md = ctx;
	k.failed = 0;
	k.n = 0;
	sink_add(&k, head.p, head.len);
	canon(&k, j, 0);
	sink_add(&k, tail.p, tail.len);
	if (!pinned) {
		char digits[24], *d = digits + sizeof digits;
		unsigned long v = req->sample;
		do
			*--d = (char)('0' + v % 10);
		while (v /= 10);
		sink_add(&k, ",\"sample\":", 10);
		sink_add(&k, d, (size_t)(digits + sizeof digits - d));
	}
	sink_addc(&k, '}');
	sink_flush(&k);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (k.failed || !EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32) {
		snprintf(err, errlen, "SHA-256 failed");
		return -1;
	}
	static const char hex[] = "0123456789abcdef";	/* not snprintf: 32 calls of it were a warm hit's largest cost */
	for (unsigned i = 0; i < 32; i++) {
		key->hex[2 * i] = hex[md[i] >> 4];
		key->hex[2 * i + 1] = hex[md[i] & 15];
	}
	key->hex[64] = '\0';
	return 0;
}

/* ---- the store ---- */

static void preload_free(qa_cache *c);
static int64_t file_size(const char *path, const char *suffix);

/*
 * Format 2: the answers in the order they arrived (rowid), the key (the
 * 32 bytes of the digest) in an index of its own.  A batch of puts appends
 * to the table's last pages and touches one small index page per answer;
 * keyed by the random key itself (format 1), the table's ~600-byte rows
 * went to random pages that split often -- three 4 KiB WAL frames per
 * answer, most of a cold run's cost.  A warm run read in the same order
 * as the cold one finds its answers side by side.  No index on cached_at:
 * prune, stats and export scan (they are rare); every put would pay for it.
 */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS responses(id INTEGER PRIMARY KEY,"
    " key BLOB NOT NULL UNIQUE, response TEXT NOT NULL, cached_at INTEGER NOT NULL,"
    " endpoint TEXT, model TEXT, request_bytes INTEGER NOT NULL DEFAULT 0,"
    " response_bytes INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS inflight(key TEXT PRIMARY KEY, pid INTEGER NOT NULL) WITHOUT ROWID;";

/* 64 hex digits (either case) to the digest's 32 bytes, as the table keeps them. */
static void key_bytes(const char *hex, unsigned char out[32])
{
	for (int i = 0; i < 32; i++) {
		unsigned char h = (unsigned char)hex[2 * i], l = (unsigned char)hex[2 * i + 1];
		out[i] = (unsigned char)(((h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10) << 4) |
		    (l <= '9' ? l - '0' : (l | 0x20) - 'a' + 10));
	}
}

static int fail(qa_cache *c, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s: %s", c->path, what, c->db ? sqlite3_errmsg(c->db) : "no database");
	return -1;
}

/* mkdir -p of path's folder, 0700: the cache is private. */
static int make_parent(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int rc = 0;
	if (slash && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1; *p; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			if (mkdir(dir, 0700) != 0 && errno != EEXIST)
				rc = -1;
			*p = '/';
		}
		if (rc == 0 && mkdir(dir, 0700) != 0 && errno != EEXIST)
			rc = -1;
	}
	free(dir);
	return rc;
}

static int prepare(qa_cache *c, sqlite3_stmt **st, const char *sql)
{
	return sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK ? 0 : -1;
}

qa_cache *cache_open(const char *path, enum qa_cache_mode mode, char *err, size_t errlen)
{
	qa_cache *c = xcalloc(1, sizeof *c);
	c->mode = mode;
	c->path = xstrdup(path ? path : "");
	if (mode == QA_CACHE_OFF)
		return c;
	if (!path || !*path) {
		snprintf(err, errlen, "no cache file: set XDG_CACHE_HOME or HOME, or give --cache FILE");
		cache_close(&c);
		return NULL;
	}
	int flags;
	if (mode == QA_CACHE_READ_ONLY) {
		if (access(path, F_OK) != 0 && errno == ENOENT)
			return c;
		/* Read-write all the same when we may: a WAL reader needs the -shm file. */
		flags = access(path, W_OK) == 0 ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
	} else {
		if (make_parent(path) != 0) {
			snprintf(err, errlen, "%s: cannot make its folder: %s", path, strerror(errno));
			cache_close(&c);
			return NULL;
		}
		/* Created here, 0600 whatever the umask, before SQLite opens it (its -wal and -shm copy the mode). */
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			cache_close(&c);
			return NULL;
		}
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_size == 0)
			fchmod(fd, 0600);
		close(fd);
		flags = SQLITE_OPEN_READWRITE;
	}
	if (sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		fail(c, err, errlen, "cannot open");
		cache_close(&c);
		return NULL;
	}
	/* Parallel shards wait for each other's (millisecond) write transactions rather than fail. */
	sqlite3_busy_timeout(c->db, 30000);
	char *msg = NULL;
	int64_t format = -1;
	/*
	 * Switching a new file to WAL can meet SQLITE_BUSY without the busy
	 * handler being asked (another process is making the file too): retry
	 * it for as long as the busy timeout, a millisecond at a time.
	 */
	int rc;
	for (int tries = 0;; tries++) {
		rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		    " PRAGMA cache_size=-32768; PRAGMA mmap_size=268435456; PRAGMA wal_autocheckpoint=8192;", NULL, NULL, &msg);
		if ((rc & 0xff) != SQLITE_BUSY || tries >= 30000)
			break;
		sqlite3_free(msg);
		msg = NULL;
		sqlite3_sleep(1);
	}
	/*
	 * The write lock first (IMMEDIATE waits in the busy handler): two
	 * shards making the file at once would otherwise see each other's
	 * schema change mid-statement and fail with SQLITE_BUSY at once.
	 */
	if (rc == SQLITE_OK && flags != SQLITE_OPEN_READONLY) {
		qa_buf sql = { 0 };
		buf_printf(&sql, "BEGIN IMMEDIATE; %s INSERT OR IGNORE INTO meta VALUES('format',%d),('hits',0); COMMIT;",
		    schema, QA_CACHE_FORMAT);
		rc = sqlite3_exec(c->db, buf_cstr(&sql), NULL, NULL, &msg);
		buf_free(&sql);
		if (rc != SQLITE_OK && !sqlite3_get_autocommit(c->db))
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: not a qa cache: %s", path, msg ? msg : sqlite3_errmsg(c->db));
		sqlite3_free(msg);
		cache_close(&c);
		return NULL;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE name='format'", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			format = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (format != QA_CACHE_FORMAT) {
		snprintf(err, errlen, "%s: cache format %" PRId64 ", this qa reads format %d (move it away or give another --cache)",
		    path, format, QA_CACHE_FORMAT);
		cache_close(&c);
		return NULL;
	}
	if (prepare(c, &c->get, "SELECT response, cached_at, endpoint, model FROM responses WHERE key=?1") ||
	    (flags != SQLITE_OPEN_READONLY &&
		(prepare(c, &c->put, "INSERT OR REPLACE INTO responses(key, response, cached_at, endpoint, model,"
		    " request_bytes, response_bytes) VALUES(?1,?2,?3,?4,?5,?6,?7)") ||
		    prepare(c, &c->claim, "INSERT OR IGNORE INTO inflight VALUES(?1,?2)") ||
		    prepare(c, &c->release, "DELETE FROM inflight WHERE key=?1 AND pid=?2") ||
		    prepare(c, &c->takeover, "UPDATE inflight SET pid=?2 WHERE key=?1 AND pid=?3"))) ||
	    prepare(c, &c->owner, "SELECT pid FROM inflight WHERE key=?1")) {
		fail(c, err, errlen, "cannot prepare");
		cache_close(&c);
		return NULL;
	}
	return c;
}

void cache_close(qa_cache **cp)
{
	qa_cache *c = *cp;
	if (!c)
		return;
	if (c->db) {
		char err[256];
		cache_write_end(c, err, sizeof err);
		if (c->session_hits > 0 && c->put) {
			/*
			 * A handle that only read (a warm run) commits its hit count
			 * to the WAL unsynced and leaves the checkpoint (and its
			 * fsyncs) to the next writer: a pure-hit run syncs nothing.
			 * A power loss may cost that count, never an answer: it is
			 * the only frame this handle writes, and a WAL frame whose
			 * checksum fails is ignored.
			 */
			if (sqlite3_total_changes(c->db) == 0) {
				sqlite3_exec(c->db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
				sqlite3_db_config(c->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
			}
			char sql[96];
			snprintf(sql, sizeof sql, "UPDATE meta SET value=value+%" PRId64 " WHERE name='hits'", c->session_hits);
			sqlite3_exec(c->db, sql, NULL, NULL, NULL);
		}
		sqlite3_finalize(c->get);
		sqlite3_finalize(c->put);
		sqlite3_finalize(c->claim);
		sqlite3_finalize(c->release);
		sqlite3_finalize(c->owner);
		sqlite3_finalize(c->takeover);
		sqlite3_close(c->db);
	}
	preload_free(c);
	buf_free(&c->peeked);
	free(c->path);
	free(c);
	*cp = NULL;
}

void cache_hit_free(qa_cache_hit *h)
{
	xfree(&h->response);
	xfree(&h->endpoint);
	xfree(&h->model);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? xstrdup((const char *)s) : NULL;
}

/* ---- the warm-run preload ---- */

/*
 * A point lookup in SQLite costs a few microseconds (random pages of the
 * file); reading every entry in key order costs about as much as one
 * lookup per 16 KiB of file.  So once a process has found that many
 * keys there (a warm run, most likely), it reads the whole file into memory in
 * one scan and answers the rest from there: at worst twice what lookups
 * alone would have cost, at best a fraction.  Files over PRELOAD_MAX are
 * never read whole (memory).  A key not in memory still goes to SQLite:
 * answers stored since the scan, by us or others, are found.
 */
#define PRELOAD_BYTES_PER_PROBE 16384
#define PRELOAD_MIN_PROBES 1024
#define PRELOAD_MAX ((int64_t)256 << 20)
#define HUGE_PAGE ((size_t)2 << 20)

/* A key's first 8 bytes as a number: its slot's tag, and (low bits) where its probe starts. */
static uint64_t key_tag(const unsigned char *k)
{
	uint64_t h = 0;
	for (int i = 0; i < 8; i++)
		h = h << 8 | k[i];
	return h;
}

static void preload_free(qa_cache *c)
{
	buf_free(&c->rows);
	xfree(&c->slots);
	c->nslots = 0;
	c->preloaded = 0;
}

static void preload(qa_cache *c)
{
	c->preload_at = -1;	/* once: tried, whatever comes of it */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(c->db, "SELECT key, cached_at, response, endpoint, model FROM responses", -1, &st, NULL) != SQLITE_OK)
		return;
	size_t n = 0, noffs = 0;
	size_t *offs = NULL;	/* where each row starts */
	int rc;
	/*
	 * One allocation (the rows are smaller than the file), in huge pages
	 * where the kernel gives them on request: a hit is a random read in
	 * it, and 4 KiB pages cost a TLB miss (and a page fault) each.
	 */
	size_t want = ((size_t)c->file_bytes + HUGE_PAGE) & ~(size_t)(HUGE_PAGE - 1);
	void *mem = NULL;
	if (posix_memalign(&mem, HUGE_PAGE, want) == 0) {
#ifdef MADV_HUGEPAGE
		madvise(mem, want, MADV_HUGEPAGE);
#endif
		c->rows.p = mem;
		c->rows.cap = want;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *k = sqlite3_column_blob(st, 0);
		if (!k || sqlite3_column_bytes(st, 0) != 32)
			continue;
		int64_t at = sqlite3_column_int64(st, 1);
		size_t rlen = (size_t)sqlite3_column_bytes(st, 2);
		const char *r = (const char *)sqlite3_column_text(st, 2);
		if (!r)
			continue;
		if (noffs == n) {
			noffs = noffs ? 2 * noffs : 1024;
			offs = xreallocarray(offs, noffs, sizeof *offs);
		}
		offs[n] = c->rows.len;
		buf_add(&c->rows, k, 32);
		buf_add(&c->rows, &at, sizeof at);
		buf_add(&c->rows, &rlen, sizeof rlen);
		buf_add(&c->rows, r, rlen);
		buf_addc(&c->rows, '\0');
		for (int i = 3; i <= 4; i++) {
			const char *s = (const char *)sqlite3_column_text(st, i);
			buf_adds(&c->rows, s ? s : "\1");
			buf_addc(&c->rows, '\0');
		}
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		preload_free(c);
		free(offs);
		return;
	}
	c->preloaded = (int64_t)n;
	for (c->nslots = 16; c->nslots < 2 * n; c->nslots *= 2)
		;
	c->slots = xcalloc(c->nslots, sizeof *c->slots);
	for (size_t r = 0; r < n; r++) {
		uint64_t tag = key_tag((const unsigned char *)c->rows.p + offs[r]);
		size_t i = (size_t)tag & (c->nslots - 1);
		while (c->slots[i].off)
			i = (i + 1) & (c->nslots - 1);
		c->slots[i].tag = tag;
		c->slots[i].off = offs[r] + 1;
	}
	free(offs);
}

/* A row: the key's 32 bytes, cached_at, the response's length (ROW_DEAD: stale), the texts. */
#define ROW_AT 32
#define ROW_LEN (ROW_AT + sizeof(int64_t))
#define ROW_TEXT (ROW_LEN + sizeof(size_t))
#define ROW_DEAD SIZE_MAX

/* The preloaded row of key (its 32 bytes), or NULL. */
static const char *preloaded(const qa_cache *c, const unsigned char *key)
{
	if (!c->nslots)
		return NULL;
	uint64_t tag = key_tag(key);
	for (size_t i = (size_t)tag & (c->nslots - 1); c->slots[i].off; i = (i + 1) & (c->nslots - 1)) {
		if (c->slots[i].tag != tag)
			continue;
		const char *row = c->rows.p + c->slots[i].off - 1;
		size_t len;
		memcpy(&len, row + ROW_LEN, sizeof len);
		if (memcmp(row, key, 32) == 0 && len != ROW_DEAD)
			return row;
	}
	return NULL;
}

/* A key stored anew: its preloaded copy is stale.  Its row stays, found no more (its slot keeps the probe chain). */
static void preload_forget(qa_cache *c, const unsigned char *key)
{
	char *row = (char *)preloaded(c, key);
	if (row) {
		size_t dead = ROW_DEAD;
		memcpy(row + ROW_LEN, &dead, sizeof dead);
	}
}

static void hit_from_row(const char *row, qa_cache_hit *h)
{
	memset(h, 0, sizeof *h);
	memcpy(&h->cached_at, row + ROW_AT, sizeof h->cached_at);
	memcpy(&h->response_len, row + ROW_LEN, sizeof h->response_len);
	const char *p = row + ROW_TEXT;
	h->response = xstrndup(p, h->response_len);
	p += h->response_len + 1;
	h->endpoint = strcmp(p, "\1") ? xstrdup(p) : NULL;
	p += strlen(p) + 1;
	h->model = strcmp(p, "\1") ? xstrdup(p) : NULL;
	cache_format_time(h->cached_at, h->cached_at_text);
}

/* After a hit found in SQLite: time to read the whole file? */
static void maybe_preload(qa_cache *c)
{
	if (c->preload_at < 0 || ++c->probes < PRELOAD_MIN_PROBES || c->writing)
		return;
	if (c->preload_at == 0) {
		int64_t bytes = file_size(c->path, "") + file_size(c->path, "-wal");
		c->file_bytes = bytes;
		c->preload_at = bytes > PRELOAD_MAX ? -1 : bytes / PRELOAD_BYTES_PER_PROBE;
		if (c->preload_at < PRELOAD_MIN_PROBES && c->preload_at >= 0)
			c->preload_at = PRELOAD_MIN_PROBES;
	}
	if (c->preload_at > 0 && c->probes >= c->preload_at)
		preload(c);
}

int cache_get(qa_cache *c, const qa_cache_key *key, qa_cache_hit *h, char *err, size_t errlen)
{
	if (!c->db || c->mode == QA_CACHE_REFRESH || c->mode == QA_CACHE_OFF)
		return 0;
	unsigned char kb[32];
	key_bytes(key->hex, kb);
	const char *row = preloaded(c, kb);
	if (row) {
		hit_from_row(row, h);
		c->session_hits++;
		return 1;
	}
	sqlite3_stmt *st = c->get;
	sqlite3_bind_blob(st, 1, kb, 32, SQLITE_STATIC);
	int rc = sqlite3_step(st), r;
	if (rc == SQLITE_ROW) {
		memset(h, 0, sizeof *h);
		h->response_len = (size_t)sqlite3_column_bytes(st, 0);
		h->response = xstrndup((const char *)sqlite3_column_text(st, 0), h->response_len);
		h->cached_at = sqlite3_column_int64(st, 1);
		cache_format_time(h->cached_at, h->cached_at_text);
		h->endpoint = col_dup(st, 2);
		h->model = col_dup(st, 3);
		c->session_hits++;
		r = 1;
	} else if (rc == SQLITE_DONE) {
		r = 0;
	} else {
		r = fail(c, err, errlen, "reading");
	}
	sqlite3_reset(st);
	if (r == 1)
		maybe_preload(c);	/* hits, not misses: a cold run gains nothing from reading the file */
	return r;
}

int cache_peek(qa_cache *c, const qa_cache_key *key, qa_cache_view *v, char *err, size_t errlen)
{
	if (!c->db || c->mode == QA_CACHE_REFRESH || c->mode == QA_CACHE_OFF)
		return 0;
	unsigned char kb[32];
	key_bytes(key->hex, kb);
	const char *row = preloaded(c, kb);
	if (row) {
		memcpy(&v->cached_at, row + ROW_AT, sizeof v->cached_at);
		memcpy(&v->response_len, row + ROW_LEN, sizeof v->response_len);
		v->response = row + ROW_TEXT;
		cache_format_time(v->cached_at, v->cached_at_text);
		c->session_hits++;
		return 1;
	}
	sqlite3_stmt *st = c->get;
	sqlite3_bind_blob(st, 1, kb, 32, SQLITE_STATIC);
	int rc = sqlite3_step(st), r;
	if (rc == SQLITE_ROW) {
		c->peeked.len = 0;
		buf_add(&c->peeked, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
		v->response = buf_cstr(&c->peeked);
		v->response_len = c->peeked.len;
		v->cached_at = sqlite3_column_int64(st, 1);
		cache_format_time(v->cached_at, v->cached_at_text);
		c->session_hits++;
		r = 1;
	} else if (rc == SQLITE_DONE) {
		r = 0;
	} else {
		r = fail(c, err, errlen, "reading");
	}
	sqlite3_reset(st);
	if (r == 1)
		maybe_preload(c);	/* v points into peeked, which the preload leaves alone */
	return r;
}

int cache_read_begin(qa_cache *c, char *err, size_t errlen)
{
	if (!c->db || c->mode == QA_CACHE_REFRESH || c->writing || !sqlite3_get_autocommit(c->db))
		return 0;
	if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return fail(c, err, errlen, "beginning a read");
	return 0;
}

void cache_read_end(qa_cache *c)
{
	if (c->db && !c->writing && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
}

/* 1 when the answer must not be stored: errors and content-filter stops are asked again. */
static int refused(const qa_cache_entry *e, const char *finish_reason)
{
	if (finish_reason && (strcmp(finish_reason, "content_filter") == 0 || strcmp(finish_reason, "error") == 0))
		return 1;
	qa_json *j = json_new();
	const char *why;
	size_t off;
	int r = json_parse(j, e->response, e->response_len, &why, &off) != 0 ||
	    json_type(j, 0) != QA_OBJECT || json_member(j, 0, "error", 5) >= 0;
	json_free(&j);
	return r;
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int cache_put(qa_cache *c, const qa_cache_key *key, const qa_cache_entry *e,
    const char *finish_reason, char *err, size_t errlen)
{
	if (!c->db || !c->put || c->mode == QA_CACHE_READ_ONLY || c->mode == QA_CACHE_OFF)
		return QA_CACHE_SKIPPED;
	if (refused(e, finish_reason))
		return QA_CACHE_REFUSED;
	unsigned char kb[32];
	key_bytes(key->hex, kb);
	preload_forget(c, kb);
	sqlite3_stmt *st = c->put;
	sqlite3_bind_blob(st, 1, kb, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->response, (int)e->response_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, e->cached_at);
	bind_opt_text(st, 4, e->endpoint);
	bind_opt_text(st, 5, e->model);
	sqlite3_bind_int64(st, 6, e->request_bytes);
	sqlite3_bind_int64(st, 7, (int64_t)e->response_len);
	/* Autocommit, unless a write batch is open: then committed at cache_write_end. */
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return fail(c, err, errlen, "writing");
	c->session_puts++;
	return QA_CACHE_STORED;
}

int cache_write_begin(qa_cache *c, char *err, size_t errlen)
{
	if (c->writing || !c->db || !c->put || c->mode == QA_CACHE_READ_ONLY || c->mode == QA_CACHE_OFF)
		return 0;
	cache_read_end(c);	/* a read snapshot cannot always become a writer: start afresh */
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(c, err, errlen, "beginning a write");
	c->writing = 1;
	return 0;
}

int cache_write_end(qa_cache *c, char *err, size_t errlen)
{
	if (!c->writing)
		return 0;
	c->writing = 0;
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fail(c, err, errlen, "committing");
		if (!sqlite3_get_autocommit(c->db))
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int cache_writing(const qa_cache *c)
{
	return c->writing;
}

/* ---- in flight ---- */

static int64_t owner_of(qa_cache *c, const qa_cache_key *key)
{
	int64_t pid = 0;
	sqlite3_bind_text(c->owner, 1, key->hex, 64, SQLITE_STATIC);
	if (sqlite3_step(c->owner) == SQLITE_ROW)
		pid = sqlite3_column_int64(c->owner, 0);
	sqlite3_reset(c->owner);
	return pid;
}

static int alive(int64_t pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int cache_claim(qa_cache *c, const qa_cache_key *key, char *err, size_t errlen)
{
	if (!c->db || !c->claim)
		return 1;	/* nothing shared to wait on: fetch */
	int64_t me = (int64_t)getpid();
	sqlite3_bind_text(c->claim, 1, key->hex, 64, SQLITE_STATIC);
	sqlite3_bind_int64(c->claim, 2, me);
	int rc = sqlite3_step(c->claim);
	sqlite3_reset(c->claim);
	if (rc != SQLITE_DONE)
		return fail(c, err, errlen, "claiming");
	if (sqlite3_changes(c->db) == 1)
		return 1;
	int64_t pid = owner_of(c, key);
	if (pid == 0 || pid == me || alive(pid)) {
		if (pid != 0)
			return 0;
		return cache_claim(c, key, err, errlen);	/* released meanwhile */
	}
	/* Its owner died (kill -9 mid-request): take the claim over, once. */
	sqlite3_bind_text(c->takeover, 1, key->hex, 64, SQLITE_STATIC);
	sqlite3_bind_int64(c->takeover, 2, me);
	sqlite3_bind_int64(c->takeover, 3, pid);
	rc = sqlite3_step(c->takeover);
	sqlite3_reset(c->takeover);
	if (rc != SQLITE_DONE)
		return fail(c, err, errlen, "claiming");
	return sqlite3_changes(c->db) == 1;
}

void cache_release(qa_cache *c, const qa_cache_key *key)
{
	if (!c->db || !c->release)
		return;
	sqlite3_bind_text(c->release, 1, key->hex, 64, SQLITE_STATIC);
	sqlite3_bind_int64(c->release, 2, (int64_t)getpid());
	sqlite3_step(c->release);
	sqlite3_reset(c->release);
}

int cache_in_flight(qa_cache *c, const qa_cache_key *key)
{
	if (!c->db)
		return 0;
	return alive(owner_of(c, key));
}

/* ---- upkeep ---- */

static int64_t file_size(const char *path, const char *suffix)
{
	char *p = xmalloc(strlen(path) + strlen(suffix) + 1);
	strcpy(p, path);
	strcat(p, suffix);
	struct stat st;
	int64_t n = stat(p, &st) == 0 ? (int64_t)st.st_size : 0;
	free(p);
	return n;
}

int cache_stats(qa_cache *c, qa_cache_stats *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->session_hits = c->session_hits;
	s->session_puts = c->session_puts;
	s->session_preloaded = c->preloaded;
	if (!c->db)
		return 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(c->db,
		"SELECT count(*), total(response_bytes), total(request_bytes), ifnull(min(cached_at),0),"
		" ifnull(max(cached_at),0), (SELECT value FROM meta WHERE name='hits') FROM responses",
		-1, &st, NULL) != SQLITE_OK)
		return fail(c, err, errlen, "stats");
	if (sqlite3_step(st) == SQLITE_ROW) {
		s->entries = sqlite3_column_int64(st, 0);
		s->response_bytes = sqlite3_column_int64(st, 1);
		s->request_bytes = sqlite3_column_int64(st, 2);
		s->oldest = sqlite3_column_int64(st, 3);
		s->newest = sqlite3_column_int64(st, 4);
		s->hits = sqlite3_column_int64(st, 5) + c->session_hits;
	}
	sqlite3_finalize(st);
	s->file_bytes = file_size(c->path, "") + file_size(c->path, "-wal");
	return 0;
}

int cache_prune(qa_cache *c, int64_t before, int64_t *removed, char *err, size_t errlen)
{
	*removed = 0;
	if (!c->db || !c->put)
		return 0;
	preload_free(c);	/* it may hold what is pruned */
	c->preload_at = -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(c->db, "DELETE FROM responses WHERE cached_at < ?1", -1, &st, NULL) != SQLITE_OK)
		return fail(c, err, errlen, "pruning");
	sqlite3_bind_int64(st, 1, before);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(c, err, errlen, "pruning");
	*removed = sqlite3_changes(c->db);
	return 0;
}

int cache_export(qa_cache *c, FILE *out, char *err, size_t errlen)
{
	if (!c->db)
		return 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(c->db,
		"SELECT lower(hex(key)), cached_at, endpoint, model, request_bytes, response FROM responses ORDER BY cached_at, key",
		-1, &st, NULL) != SQLITE_OK)
		return fail(c, err, errlen, "exporting");
	qa_buf b = { 0 };
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char when[32];
		const char *s;
		b.len = 0;
		buf_printf(&b, "{\"key\":\"%s\"", (const char *)sqlite3_column_text(st, 0));
		cache_format_time(sqlite3_column_int64(st, 1), when);
		buf_printf(&b, ",\"cached_at\":\"%s\",\"endpoint\":", when);
		if ((s = (const char *)sqlite3_column_text(st, 2)))
			buf_json_string(&b, s, strlen(s));
		else
			buf_adds(&b, "null");
		buf_adds(&b, ",\"model\":");
		if ((s = (const char *)sqlite3_column_text(st, 3)))
			buf_json_string(&b, s, strlen(s));
		else
			buf_adds(&b, "null");
		buf_printf(&b, ",\"request_bytes\":%" PRId64 ",\"response\":", (int64_t)sqlite3_column_int64(st, 4));
		buf_add(&b, sqlite3_column_text(st, 5), (size_t)sqlite3_column_bytes(st, 5));
		buf_adds(&b, "}\n");
		out_write(out, &b);
	}
	buf_free(&b);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(c, err, errlen, "exporting");
	return 0;
}

static int is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* One export line into e/key; NULL, or why it is bad. */
static const char *import_line(qa_json *j, const char *line, size_t len, qa_cache_key *key,
    qa_cache_entry *e, char *msg, size_t msglen)
{
	if (record_parse(j, line, len, msg, msglen) != 0)
		return msg;
	size_t n;
	int t = json_member(j, 0, "key", 3);
	const char *s = t >= 0 ? json_str(j, t, &n) : NULL;
	if (!s || !is_hex64(s, n))
		return "\"key\" is not 64 lowercase hex digits";
	memcpy(key->hex, s, 64);
	key->hex[64] = '\0';
	t = json_member(j, 0, "cached_at", 9);
	s = t >= 0 ? json_str(j, t, &n) : NULL;
	if (!s || cache_parse_time(s, &e->cached_at) != 0)
		return "\"cached_at\" is not an RFC 3339 time";
	t = json_member(j, 0, "response", 8);
	if (t < 0 || json_type(j, t) != QA_OBJECT)
		return "\"response\" is not an object";
	e->response = json_raw(j, t, &e->response_len);
	t = json_member(j, 0, "endpoint", 8);
	e->endpoint = t >= 0 ? json_str(j, t, &n) : NULL;
	t = json_member(j, 0, "model", 5);
	e->model = t >= 0 ? json_str(j, t, &n) : NULL;
	t = json_member(j, 0, "request_bytes", 13);
	double v = 0;
	e->request_bytes = t >= 0 && json_num(j, t, &v) == 0 ? (int64_t)v : 0;
	return NULL;
}

int cache_import(qa_cache *c, qa_lines *r, int64_t *added, int64_t *bad, char *err, size_t errlen)
{
	*added = *bad = 0;
	if (!c->db || !c->put) {
		snprintf(err, errlen, "%s: the cache is not open for writing", c->path);
		return -1;
	}
	sqlite3_stmt *ins;
	if (sqlite3_prepare_v2(c->db, "INSERT OR IGNORE INTO responses(key, response, cached_at, endpoint, model,"
		" request_bytes, response_bytes) VALUES(?1,?2,?3,?4,?5,?6,?7)", -1, &ins, NULL) != SQLITE_OK)
		return fail(c, err, errlen, "importing");
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_finalize(ins);
		return fail(c, err, errlen, "importing");
	}
	qa_json *j = json_new();
	char *line, msg[160];
	ssize_t len;
	int rc = 0;
	while ((len = lines_next(r, &line)) >= 0) {
		qa_cache_key key;
		qa_cache_entry e = { 0 };
		int blank = 1;
		for (ssize_t i = 0; i < len && blank; i++)
			blank = line[i] == ' ' || line[i] == '\t';
		if (blank)
			continue;
		const char *why = import_line(j, line, (size_t)len, &key, &e, msg, sizeof msg);
		if (!why && refused(&e, NULL))
			why = "\"response\" holds an error: errors are never cached";
		if (why) {
			qa_warn_at(r->name, r->lineno, "%s", why);
			(*bad)++;
			continue;
		}
		unsigned char kb[32];
		key_bytes(key.hex, kb);
		sqlite3_bind_blob(ins, 1, kb, 32, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, e.response, (int)e.response_len, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, e.cached_at);
		bind_opt_text(ins, 4, e.endpoint);
		bind_opt_text(ins, 5, e.model);
		sqlite3_bind_int64(ins, 6, e.request_bytes);
		sqlite3_bind_int64(ins, 7, (int64_t)e.response_len);
		int s = sqlite3_step(ins);
		sqlite3_reset(ins);
		if (s != SQLITE_DONE) {
			rc = fail(c, err, errlen, "importing");
			break;
		}
		*added += sqlite3_changes(c->db);
	}
	json_free(&j);
	sqlite3_finalize(ins);
	if (rc == 0 && lines_error(r)) {
		snprintf(err, errlen, "%s: %s", r->name, strerror(errno));
		rc = -1;
	}
	if (sqlite3_exec(c->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK && rc == 0)
		rc = fail(c, err, errlen, "importing");
	if (rc != 0)
		*added = 0;
	return rc;
}
