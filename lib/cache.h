/*
 * The response cache: answers kept in SQLite under a content-addressed key,
 * so a re-run (to resume after a crash, change a scorer, add a report)
 * never pays for the same request twice.
 *
 * One file, shared safely by every process on the machine: WAL journal,
 * synchronous=NORMAL (a put survives the writing process being killed; only
 * a power loss may drop the last puts), a busy timeout so parallel shards
 * wait for each other's short write transactions instead of failing.  The
 * file is created 0600 in a 0700 folder: it holds prompts and answers.
 *
 * The key is the SHA-256 of the canonical JSON (cache_canonical) of
 *   {"base_url":..,"body":<request body>,"format":QA_CACHE_FORMAT,
 *    "mode":..,"model":..,"provider":..[,"sample":N]}
 * -- never the API key, other headers, timeouts or retry settings, so
 * changing those still hits.  "sample" is there only when decoding is not
 * pinned (cache_pinned), so N samples of one prompt stay N answers.
 */
#ifndef QA_CACHE_H
#define QA_CACHE_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "qa.h"

/* Bumped when the key's inputs or the tables change; part of every key. */
#define QA_CACHE_FORMAT 2	/* 2: the table in arrival order, keys as 32 bytes (lib/cache.c) */
#define QA_CACHE_STR_(x) #x
#define QA_CACHE_STR(x) QA_CACHE_STR_(x)
#define QA_CACHE_FORMAT_TEXT QA_CACHE_STR(QA_CACHE_FORMAT)	/* "2" */

enum qa_cache_mode {
	QA_CACHE_READ_WRITE,	/* the default: hits are served, answers stored */
	QA_CACHE_READ_ONLY,	/* hits are served, nothing is stored */
	QA_CACHE_REFRESH,	/* nothing is served, every answer stored (replacing) */
	QA_CACHE_OFF		/* no file is opened; every call is a miss or a no-op */
};

/* "read-write" ... "off" to a mode: 0, or -1 for an unknown name. */
int cache_mode_parse(const char *s, enum qa_cache_mode *mode);
const char *cache_mode_name(enum qa_cache_mode mode);

/* $XDG_CACHE_HOME/qa/responses.db, else $HOME/.cache/qa/responses.db; NULL without either. */
char *cache_default_path_new(void);

typedef struct qa_cache qa_cache;

/*
 * Opens (creating the file and its folders, for the modes that write) the
 * cache at path.  NULL with err filled ("FILE: reason") when it cannot; a
 * read-only open of a missing file is an empty cache, not an error.
 */
qa_cache *cache_open(const char *path, enum qa_cache_mode mode, char *err, size_t errlen);
/* Records this process's hits in the file and closes it.  NULL-safe. */
void cache_close(qa_cache **c);

/* ---- keys ---- */
typedef struct qa_cache_key {
	char hex[65];		/* 64 lowercase hex digits and a NUL */
} qa_cache_key;

typedef struct qa_cache_req {
	const char *provider;	/* "openai", "mock", ... */
	const char *base_url;	/* as configured; not normalised */
	const char *model;
	const char *mode;	/* "chat", "completion", ... */
	const char *body;	/* the full request body JSON, every default applied */
	size_t body_len;
	unsigned long sample;	/* the record's sample index; 0 by default */
} qa_cache_req;

/*
 * Canonical JSON of text, appended to out: no whitespace; object members
 * sorted by their unescaped key bytes (memcmp order), a repeated key kept
 * once with its last value (as json_member reads it); strings unescaped
 * then re-escaped the one way buf_json_string writes them; numbers,
 * true/false/null byte for byte as written (1.0 and 1 differ, on purpose:
 * a server may see them differently).  0, or -1 with *err set.
 */
int cache_canonical(qa_buf *out, const char *text, size_t len, const char **err);
/*
 * 1 when the body pins decoding (same answer every time): a "seed", or a
 * "temperature" of 0, at the top level or in "options" (Ollama) or
 * "generationConfig" (Gemini).  0 otherwise.  body must be an object.
 */
int cache_pinned(const char *body, size_t len);
/* The key of a request: 0, or -1 with err filled when the body is not a JSON object. */
int cache_key(const qa_cache_req *req, qa_cache_key *key, char *err, size_t errlen);

/* ---- entries ---- */
typedef struct qa_cache_entry {
	const char *response;	/* the "response" object exactly as qa-send wrote it */
	size_t response_len;
	int64_t cached_at;	/* when the answer arrived, seconds since the epoch (UTC) */
	const char *endpoint;	/* the URL the request went to */
	const char *model;
	int64_t request_bytes;	/* size of the request body sent */
} qa_cache_entry;

/* A hit's copy: each string is the caller's to free (cache_hit_free). */
typedef struct qa_cache_hit {
	char *response;
	size_t response_len;
	int64_t cached_at;
	char cached_at_text[32];	/* RFC 3339 UTC, "2026-12-06T21:48:50Z" */
	char *endpoint;
	char *model;
} qa_cache_hit;
void cache_hit_free(qa_cache_hit *h);

/*
 * 1 hit (h filled), 0 miss (always in refresh and off modes), -1 error (err filled).
 * A handle that has found many keys (one per 16 KiB of file, 1024 at
 * least; files up to 256 MiB) reads every entry into memory in one scan
 * and answers from there: a warm run's lookups cost a hash probe, not a
 * B-tree walk.  Keys not found there still go to the file (answers stored
 * since, by this handle or others).
 */
int cache_get(qa_cache *c, const qa_cache_key *key, qa_cache_hit *h, char *err, size_t errlen);

/*
 * cache_get without the copies (a warm run's hit): v's response is
 * borrowed -- from the preload, or from a buffer of the handle -- and
 * stays valid until the next call on c.  Endpoint and model are not read.
 * 1 hit, 0 miss, -1 error (err filled).
 */
typedef struct qa_cache_view {
	const char *response;	/* NUL-terminated */
	size_t response_len;
	int64_t cached_at;
	char cached_at_text[32];
} qa_cache_view;
int cache_peek(qa_cache *c, const qa_cache_key *key, qa_cache_view *v, char *err, size_t errlen);

/*
 * A batch of lookups in one read transaction: each get then skips taking
 * and dropping the shared lock (a warm run's cost; see bench/cache.sh).
 * Answers stored by others meanwhile are not seen until cache_read_end.
 * No cache_put between the two.  0, or -1 (err filled).
 */
int cache_read_begin(qa_cache *c, char *err, size_t errlen);
void cache_read_end(qa_cache *c);

enum { QA_CACHE_STORED = 0, QA_CACHE_REFUSED = 1, QA_CACHE_SKIPPED = 2 };
/*
 * Stores an answer, committed (on disk, visible to every process) before it
 * returns -- or, inside a write batch, at cache_write_end: a caller writes
 * its record only after that, so a killed run never loses an answer it
 * reported.  QA_CACHE_REFUSED, storing nothing,
 * when finish_reason is "content_filter" or "error" or the response has an
 * "error" member or is not a JSON object: those are asked again next time.
 * QA_CACHE_SKIPPED in read-only and off modes.  -1 on a database error.
 */
int cache_put(qa_cache *c, const qa_cache_key *key, const qa_cache_entry *e,
    const char *finish_reason, char *err, size_t errlen);

/*
 * A write batch: the puts until cache_write_end are one transaction, one
 * commit for many answers (a commit each is most of a cold run's cost).
 * The caller holds back the records of those answers until
 * cache_write_end has returned 0.  Gets in the batch see its puts.  The
 * batch holds the file's write lock: other writers wait (busy timeout),
 * so keep it to one turn of a loop.  A no-op in read-only and off modes.
 * 0, or -1 (err filled; a failed commit is rolled back).
 */
int cache_write_begin(qa_cache *c, char *err, size_t errlen);
int cache_write_end(qa_cache *c, char *err, size_t errlen);
int cache_writing(const qa_cache *c);

/* ---- in flight: identical requests sent once ---- */
/*
 * 1: this process now fetches key (it is recorded as in flight, with our
 * pid); 0: another fetch of key is in flight (in this process or another
 * living one): wait for it, then cache_get.  A claim left by a process
 * that died is taken over.  -1 on a database error.
 */
int cache_claim(qa_cache *c, const qa_cache_key *key, char *err, size_t errlen);
/* Ends our claim (after cache_put, or after a failure: then a waiter fetches it itself). */
void cache_release(qa_cache *c, const qa_cache_key *key);
/* 1 while key is claimed by a living process, else 0. */
int cache_in_flight(qa_cache *c, const qa_cache_key *key);

/* ---- upkeep ---- */
typedef struct qa_cache_stats {
	int64_t entries;
	int64_t response_bytes;	/* sum of the stored responses' sizes */
	int64_t request_bytes;
	int64_t hits;		/* served since the file was made (flushed at each close) */
	int64_t oldest, newest;	/* cached_at range; 0 when empty */
	int64_t file_bytes;	/* the database file and its WAL */
	int64_t session_hits, session_puts;	/* this handle's */
	int64_t session_preloaded;	/* entries this handle read into memory at once (a warm run; cache_get) */
} qa_cache_stats;
int cache_stats(qa_cache *c, qa_cache_stats *st, char *err, size_t errlen);

/* Deletes entries that arrived before `before` (epoch seconds); *removed counts them. */
int cache_prune(qa_cache *c, int64_t before, int64_t *removed, char *err, size_t errlen);

/*
 * One JSON line per entry, oldest first:
 * {"key":HEX,"cached_at":"RFC 3339","endpoint":..,"model":..,"request_bytes":N,"response":{...}}
 */
int cache_export(qa_cache *c, FILE *out, char *err, size_t errlen);
/*
 * Reads cache_export's lines from r, in one transaction; an entry already
 * there is kept.  A bad line is reported ("FILE:LINE: reason") and skipped;
 * *bad counts them, *added the entries stored.  -1 on a database error.
 */
int cache_import(qa_cache *c, qa_lines *r, int64_t *added, int64_t *bad, char *err, size_t errlen);

/* RFC 3339 UTC text ("2026-12-06T21:48:50Z") to epoch seconds: 0, or -1. */
int cache_parse_time(const char *s, int64_t *t);
void cache_format_time(int64_t t, char out[32]);

#endif
