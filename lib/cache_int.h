/*
 * The response cache's insides, shared by its files (lib/cache*.c) and no
 * one else: cache.c the store (SQLite: open, get, put, batches, claims,
 * upkeep), cache_key.c the canonical JSON and the keys, cache_mem.c the
 * warm-run preload (every entry in memory, found by key).
 */
#ifndef QA_CACHE_INT_H
#define QA_CACHE_INT_H

#include "cache.h"

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
	int64_t misses;		/* lookups that did not (in SQLite: the preload does not see them) */
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

/* 64 hex digits (either case) to the digest's 32 bytes, as the table keeps them. */
void cache_key_bytes(const char *hex, unsigned char out[32]);
/* "FILE: what: SQLite's message" into err; -1. */
int cache_fail(qa_cache *c, char *err, size_t errlen, const char *what);
/* The size of path + suffix ("" or "-wal"), 0 when it is not there. */
int64_t cache_file_size(const char *path, const char *suffix);

/* ---- cache_mem.c: the warm-run preload ---- */
/* After a hit found in SQLite: reads the whole file into memory when it is time to. */
void cache_mem_maybe_load(qa_cache *c);
void cache_mem_free(qa_cache *c);
/* The preloaded row of key (its 32 bytes), or NULL; it stays until cache_mem_free. */
const char *cache_mem_find(const qa_cache *c, const unsigned char *key);
/* A key stored anew: its preloaded copy is stale, found no more. */
void cache_mem_forget(qa_cache *c, const unsigned char *key);
/* A row as a view (borrowed); its endpoint and model copied into h. */
void cache_mem_view(const char *row, qa_cache_view *v);
void cache_mem_names(const char *row, qa_cache_hit *h);

#endif
