/* The response cache (cache.h): the store, in SQLite.  Keys: cache_key.c; the warm-run preload: cache_mem.c. */
#include "cache_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


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

/* ---- the store ---- */

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

int cache_fail(qa_cache *c, char *err, size_t errlen, const char *what)
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
		cache_fail(c, err, errlen, "cannot open");
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
		cache_fail(c, err, errlen, "cannot prepare");
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
	cache_mem_free(c);
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

/*
 * A lookup: the answer as a view (borrowed: the preload's row, or the
 * handle's peeked buffer), and, when names is not NULL, its endpoint and
 * model copied there.  1 hit, 0 miss, -1 error.
 */
static int lookup(qa_cache *c, const qa_cache_key *key, qa_cache_view *v, qa_cache_hit *names, char *err,
    size_t errlen)
{
	if (!c->db || c->mode == QA_CACHE_REFRESH || c->mode == QA_CACHE_OFF)
		return 0;
	unsigned char kb[32];
	cache_key_bytes(key->hex, kb);
	const char *row = cache_mem_find(c, kb);
	if (row) {
		cache_mem_view(row, v);
		if (names)
			cache_mem_names(row, names);
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
		if (names) {
			names->endpoint = col_dup(st, 2);
			names->model = col_dup(st, 3);
		}
		c->session_hits++;
		r = 1;
	} else if (rc == SQLITE_DONE) {
		c->misses++;
		r = 0;
	} else {
		r = cache_fail(c, err, errlen, "reading");
	}
	sqlite3_reset(st);
	if (r == 1)
		cache_mem_maybe_load(c);	/* hits, not misses: a cold run gains nothing from it (v stays good) */
	return r;
}

int cache_get(qa_cache *c, const qa_cache_key *key, qa_cache_hit *h, char *err, size_t errlen)
{
	qa_cache_view v;
	memset(h, 0, sizeof *h);
	int r = lookup(c, key, &v, h, err, errlen);
	if (r == 1) {
		h->response = xstrndup(v.response, v.response_len);
		h->response_len = v.response_len;
		h->cached_at = v.cached_at;
		memcpy(h->cached_at_text, v.cached_at_text, sizeof h->cached_at_text);
	}
	return r;
}

int cache_peek(qa_cache *c, const qa_cache_key *key, qa_cache_view *v, char *err, size_t errlen)
{
	return lookup(c, key, v, NULL, err, errlen);
}

int cache_read_begin(qa_cache *c, char *err, size_t errlen)
{
	if (!c->db || c->mode == QA_CACHE_REFRESH || c->writing || !sqlite3_get_autocommit(c->db))
		return 0;
	if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return cache_fail(c, err, errlen, "beginning a read");
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
	cache_key_bytes(key->hex, kb);
	cache_mem_forget(c, kb);
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
		return cache_fail(c, err, errlen, "writing");
	c->session_puts++;
	return QA_CACHE_STORED;
}

int cache_write_begin(qa_cache *c, char *err, size_t errlen)
{
	if (c->writing || !c->db || !c->put || c->mode == QA_CACHE_READ_ONLY || c->mode == QA_CACHE_OFF)
		return 0;
	cache_read_end(c);	/* a read snapshot cannot always become a writer: start afresh */
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return cache_fail(c, err, errlen, "beginning a write");
	c->writing = 1;
	return 0;
}

int cache_write_end(qa_cache *c, char *err, size_t errlen)
{
	if (!c->writing)
		return 0;
	c->writing = 0;
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		cache_fail(c, err, errlen, "committing");
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
		return cache_fail(c, err, errlen, "claiming");
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
		return cache_fail(c, err, errlen, "claiming");
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

int64_t cache_file_size(const char *path, const char *suffix)
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
		return cache_fail(c, err, errlen, "stats");
	if (sqlite3_step(st) == SQLITE_ROW) {
		s->entries = sqlite3_column_int64(st, 0);
		s->response_bytes = sqlite3_column_int64(st, 1);
		s->request_bytes = sqlite3_column_int64(st, 2);
		s->oldest = sqlite3_column_int64(st, 3);
		s->newest = sqlite3_column_int64(st, 4);
		s->hits = sqlite3_column_int64(st, 5) + c->session_hits;
	}
	sqlite3_finalize(st);
	s->file_bytes = cache_file_size(c->path, "") + cache_file_size(c->path, "-wal");
	return 0;
}

int cache_prune(qa_cache *c, int64_t before, int64_t *removed, char *err, size_t errlen)
{
	*removed = 0;
	if (!c->db || !c->put)
		return 0;
	cache_mem_free(c);	/* it may hold what is pruned */
	c->preload_at = -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(c->db, "DELETE FROM responses WHERE cached_at < ?1", -1, &st, NULL) != SQLITE_OK)
		return cache_fail(c, err, errlen, "pruning");
	sqlite3_bind_int64(st, 1, before);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cache_fail(c, err, errlen, "pruning");
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
		return cache_fail(c, err, errlen, "exporting");
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
		return cache_fail(c, err, errlen, "exporting");
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
		return cache_fail(c, err, errlen, "importing");
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_finalize(ins);
		return cache_fail(c, err, errlen, "importing");
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
		cache_key_bytes(key.hex, kb);
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
			rc = cache_fail(c, err, errlen, "importing");
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
		rc = cache_fail(c, err, errlen, "importing");
	if (rc != 0)
		*added = 0;
	return rc;
}
