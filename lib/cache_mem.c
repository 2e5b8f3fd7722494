/* The response cache's warm-run preload (cache_int.h): every entry read into memory in one scan. */
#include "cache_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/*
 * A point lookup in SQLite costs a few microseconds (random pages of the
 * file); reading every entry in the order they arrived costs less than
 * one lookup per 16 KiB of file.  So once a process has found that many
 * keys there (a warm run, most likely), it reads the whole file into memory in
 * one scan and answers the rest from there: at worst about twice what
 * lookups alone would have cost, at best a fraction.  When none of the
 * first PRELOAD_MIN_PROBES lookups missed, it reads the file at once: a
 * warm run, most likely; and if not, one scan of a file of at most
 * PRELOAD_MAX is the most it costs.  Files over PRELOAD_MAX are
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

void cache_mem_free(qa_cache *c)
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
		cache_mem_free(c);
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
const char *cache_mem_find(const qa_cache *c, const unsigned char *key)
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
void cache_mem_forget(qa_cache *c, const unsigned char *key)
{
	char *row = (char *)cache_mem_find(c, key);
	if (row) {
		size_t dead = ROW_DEAD;
		memcpy(row + ROW_LEN, &dead, sizeof dead);
	}
}

void cache_mem_names(const char *row, qa_cache_hit *h)
{
	size_t len;
	memcpy(&len, row + ROW_LEN, sizeof len);
	const char *p = row + ROW_TEXT + len + 1;
	h->endpoint = strcmp(p, "\1") ? xstrdup(p) : NULL;
	p += strlen(p) + 1;
	h->model = strcmp(p, "\1") ? xstrdup(p) : NULL;
}

/* After a hit found in SQLite: time to read the whole file? */
void cache_mem_maybe_load(qa_cache *c)
{
	if (c->preload_at < 0 || ++c->probes < PRELOAD_MIN_PROBES || c->writing)
		return;
	if (c->preload_at == 0) {
		int64_t bytes = cache_file_size(c->path, "") + cache_file_size(c->path, "-wal");
		c->file_bytes = bytes;
		c->preload_at = bytes > PRELOAD_MAX ? -1 : bytes / PRELOAD_BYTES_PER_PROBE;
		if (c->preload_at < PRELOAD_MIN_PROBES && c->preload_at >= 0)
			c->preload_at = PRELOAD_MIN_PROBES;
	}
	/* Every lookup so far a hit: a warm run, surely; read the file now rather than later. */
	if (c->preload_at > 0 && (c->probes >= c->preload_at || c->misses == 0))
		preload(c);
}

void cache_mem_view(const char *row, qa_cache_view *v)
{
	memcpy(&v->cached_at, row + ROW_AT, sizeof v->cached_at);
	memcpy(&v->response_len, row + ROW_LEN, sizeof v->response_len);
	v->response = row + ROW_TEXT;
	cache_format_time(v->cached_at, v->cached_at_text);
}
