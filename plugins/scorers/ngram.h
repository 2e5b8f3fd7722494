/*
 * ngram.h - words and n-grams as small whole numbers, shared by bleu.c,
 * chrf.c and rouge.c (included after QA_PLUGIN_HOST, not a plugin of its
 * own: the Makefile builds only the .c files of plugins/scorers).
 *
 * Within one record every distinct unit (a word, or a code point for
 * chrF) gets a dense id the first time it is seen, by its bytes; every
 * distinct n-gram then gets one too, as the pair (id of its first n-1
 * units' gram, id of its last unit), so an n-gram of any order is looked
 * up by one 64-bit key and grams compare as integers.  Counts are then
 * arrays indexed by gram id: Counter & Counter (clipped matches) is one
 * pass over each side, with no sorting and no per-gram hashing of text.
 * Once the hypothesis is in, ng_freeze() makes the references only look
 * up: a unit or gram the hypothesis lacks can match nothing, so it gets
 * the dead id (NG_DEAD, gram id 1, whose hypothesis count stays 0), and a
 * gram with a dead part is looked up like any other and found dead (no
 * gram of the hypothesis has a dead part: no branch on it).
 * Tables and buffers are kept from record to record (a generation number
 * empties them), and a record's scratch comes from an arena reset at
 * ng_begin(): no malloc per record once the sizes have settled.
 */
#ifndef QA_NGRAM_H
#define QA_NGRAM_H

#include <stdint.h>
#include <string.h>

/* What runs per unit is inlined into its callers' loops where the compiler allows asking. */
#if defined(__GNUC__) || defined(__clang__)
#define NG_INLINE inline __attribute__((always_inline))
#else
#define NG_INLINE inline
#endif

/*
 * live ? a : b where live (0 or 1) is a coin toss, such as new or seen:
 * as masks the compiler cannot see are 0 or all ones (the empty asm), so
 * that it keeps the arithmetic and makes no branch of it.
 */
static NG_INLINE uint32_t ng_pick(uint32_t live, uint32_t a, uint32_t b)
{
	uint32_t m = -live;
#if defined(__GNUC__) || defined(__clang__)
	__asm__("" : "+r"(m));
#endif
	return (a & m) | (b & ~m);
}

#if defined(__GNUC__) || defined(__clang__)
#define NG_RARE(c) __builtin_expect(!!(c), 0)
#else
#define NG_RARE(c) (c)
#endif

#define NG_DEAD UINT32_MAX	/* a unit the hypothesis lacks, after ng_freeze() */
#define NG_DEAD_GRAM 1u	/* a gram of one */

struct ng_uslot {
	uint64_t h;	/* ng_key() */
	const char *p;
	uint32_t n, id, gen;
};

struct ng_gslot {
	uint64_t key;
	uint32_t id, gen;
};

struct ng_blk {
	struct ng_blk *next;
	size_t cap, used;	/* in uint64_t */
	uint64_t data[];
};

struct ng {
	struct ng_uslot *us;
	struct ng_gslot *gs;
	size_t ucap, gcap;	/* powers of two */
	int ushift, gshift;
	uint32_t gen, nu, ngr;	/* ids handed out this record: units, grams of order 2 and up */
	int frozen;	/* look-ups only: ng_freeze() */
	uint32_t *ch, *cc, *cm;	/* counts by gram id: hypothesis, this reference, best reference */
	size_t ccap;
	struct ng_blk *blk;
};

/* A record's scratch, 8-byte aligned, valid until the next ng_begin(). */
static inline void *ng_alloc(struct ng *g, size_t bytes)
{
	size_t w = (bytes + 7) / 8;
	struct ng_blk *b;
	for (b = g->blk; b; b = b->next)
		if (b->cap - b->used >= w)
			break;
	if (!b) {
		size_t cap = w > 8192 ? w : 8192;
		b = H->alloc(sizeof *b + cap * sizeof(uint64_t));
		b->cap = cap;
		b->used = 0;
		b->next = g->blk;
		g->blk = b;
	}
	void *p = b->data + b->used;
	b->used += w;
	return p;
}

static inline void ng_free(struct ng *g)
{
	for (struct ng_blk *b = g->blk, *n; b; b = n) {
		n = b->next;
		H->free(b);
	}
	H->free(g->us);
	H->free(g->gs);
	H->free(g->ch);
	memset(g, 0, sizeof *g);
}

static inline void ng_begin(struct ng *g)
{
	for (struct ng_blk *b = g->blk; b; b = b->next)
		b->used = 0;
	g->nu = g->ngr = 0;
	g->frozen = 0;
	if (++g->gen == 0) {	/* wrapped: every slot's stamp could look current */
		if (g->us)
			memset(g->us, 0, g->ucap * sizeof *g->us);
		if (g->gs)
			memset(g->gs, 0, g->gcap * sizeof *g->gs);
		g->gen = 1;
	}
}

/*
 * A unit's key: for up to 8 bytes, the bytes themselves, zero-padded into
 * 64 bits (which with the length names the unit exactly); longer ones, a
 * hash that memcmp then confirms.  Bytes up to `end` may be read: a word
 * with 8 of them ahead is one load and a mask, no branch on its length.
 */
static const uint64_t ng_mask[9] = { 0, 0xff, 0xffff, 0xffffff, 0xffffffffull, 0xffffffffffull,
	0xffffffffffffull, 0xffffffffffffffull, ~0ull };

static NG_INLINE uint64_t ng_key(const char *p, size_t n, const char *end)
{
	uint64_t w;
	if (n <= 8) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		if (end - p >= 8) {
			memcpy(&w, p, 8);
			return w & ng_mask[n];
		}
#endif
		(void)end;
		unsigned char t[8] = { 0 };
		for (size_t i = 0; i < n; i++)
			t[i] = (unsigned char)p[i];
		memcpy(&w, t, 8);
		return w;
	}
	uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15ull;
	for (; n > 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	memcpy(&w, p + n - 8, 8);	/* the last 8 bytes, overlapping what came before */
	h = (h ^ w) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

static inline size_t ng_slot(uint64_t h, int shift)
{
	return (size_t)((h * 0x9e3779b97f4a7c15ull) >> shift);
}

/*
 * Tables are kept at most 1/NG_SPARSE full: a probe then nearly always
 * ends at its first slot, and the branch that ends it is predicted (at
 * half load, a third of the look-ups went on and were mispredicted).  A
 * record's few hundred slots still fit in L1.
 */
#ifndef NG_SPARSE
#define NG_SPARSE 8
#endif

/* Slots for `want` live entries: 1/NG_SPARSE full while small, half full past 4,096 (memory). */
static inline size_t ng_room(size_t want)
{
	return want <= 4096 ? NG_SPARSE * want : 2 * want;
}

/* A table of 2^bits slots for at least `want` live entries. */
static inline int ng_bits(size_t want)
{
	int bits = 6;
	while (((size_t)1 << bits) < ng_room(want))
		bits++;
	return bits;
}

static inline void ng_grow_units(struct ng *g, size_t want)
{
	int bits = ng_bits(want);
	size_t cap = (size_t)1 << bits;
	struct ng_uslot *t = H->alloc(cap * sizeof *t);
	memset(t, 0, cap * sizeof *t);
	for (size_t i = 0; i < g->ucap; i++) {
		struct ng_uslot *o = &g->us[i];
		if (o->gen != g->gen)
			continue;
		size_t k = ng_slot(o->h, 64 - bits);
		while (t[k].gen == g->gen)
			k = (k + 1) & (cap - 1);
		t[k] = *o;
	}
	H->free(g->us);
	g->us = t;
	g->ucap = cap;
	g->ushift = 64 - bits;
}

/* The slot of unit key h (of p[0..n)), or the empty one where it would go; *live says which. */
static NG_INLINE struct ng_uslot *ng_uprobe(const struct ng *g, uint64_t h, const char *p, size_t n, uint32_t *live)
{
	size_t mask = g->ucap - 1;
	for (size_t k = ng_slot(h, g->ushift);; k = (k + 1) & mask) {
		struct ng_uslot *s = &g->us[k];
		*live = s->gen == g->gen;
		if ((((s->h ^ h) | (s->n ^ n)) & -(uint64_t)*live) == 0) {
			if (NG_RARE(n > 8) && *live && memcmp(s->p, p, n) != 0)
				continue;	/* a long unit whose hash matched another's */
			return s;
		}
	}
}

/*
 * The id of unit p[0..n) in this record (bytes up to end readable); p
 * must stay valid until ng_begin().  New or seen is a coin toss in text,
 * so one branch ends the probe (an empty slot, or this unit's key) and
 * masks pick the id; the slot is written either way.
 */
static NG_INLINE uint32_t ng_unit_in(struct ng *g, const char *p, size_t n, const char *end)
{
	if (ng_room((size_t)g->nu + 1) > g->ucap)
		ng_grow_units(g, (size_t)g->nu + 1);
	uint64_t h = ng_key(p, n, end) + n;
	uint32_t live;
	struct ng_uslot *s = ng_uprobe(g, h, p, n, &live);
	if (g->frozen)
		return ng_pick(live, s->id, NG_DEAD);
	uint32_t id = ng_pick(live, s->id, g->nu);
	*s = (struct ng_uslot){ h, p, (uint32_t)n, id, g->gen };
	g->nu += !live;
	return id;
}

/*
 * ng_unit_in() of k units at once, the i-th at base[start[i]..ids[i]),
 * its id then written over ids[i]: the table is grown once, and the
 * count of ids stays in a register rather than in *g.
 */
static inline void ng_units(struct ng *g, const char *base, const uint32_t *start, uint32_t *ids, size_t k,
    const char *end)
{
	if (!g->frozen && ng_room((size_t)g->nu + k) > g->ucap)	/* look-ups add nothing */
		ng_grow_units(g, (size_t)g->nu + k);
	if (g->frozen) {
		for (size_t i = 0; i < k; i++) {
			const char *p = base + start[i];
			size_t n = ids[i] - start[i];
			uint32_t live;
			struct ng_uslot *s = ng_uprobe(g, ng_key(p, n, end) + n, p, n, &live);
			ids[i] = ng_pick(live, s->id, NG_DEAD);
		}
		return;
	}
	uint32_t nu = g->nu, gen = g->gen;
	for (size_t i = 0; i < k; i++) {
		const char *p = base + start[i];
		size_t n = ids[i] - start[i];
		uint64_t h = ng_key(p, n, end) + n;
		uint32_t live;
		struct ng_uslot *s = ng_uprobe(g, h, p, n, &live);
		uint32_t id = ng_pick(live, s->id, nu);
		*s = (struct ng_uslot){ h, p, (uint32_t)n, id, gen };
		nu += !live;
		ids[i] = id;
	}
	g->nu = nu;
}

static inline uint32_t ng_unit(struct ng *g, const char *p, size_t n)
{
	return ng_unit_in(g, p, n, p + n);
}

static inline void ng_grow_grams(struct ng *g, size_t want)
{
	int bits = ng_bits(want);
	size_t cap = (size_t)1 << bits;
	struct ng_gslot *t = H->alloc(cap * sizeof *t);
	memset(t, 0, cap * sizeof *t);
	for (size_t i = 0; i < g->gcap; i++) {
		struct ng_gslot *o = &g->gs[i];
		if (o->gen != g->gen)
			continue;
		size_t k = ng_slot(o->key, 64 - bits);
		while (t[k].gen == g->gen)
			k = (k + 1) & (cap - 1);
		t[k] = *o;
	}
	H->free(g->gs);
	g->gs = t;
	g->gcap = cap;
	g->gshift = 64 - bits;
}

/* The slot of gram key, or the empty one where it would go; *live says which. */
static NG_INLINE struct ng_gslot *ng_probe(struct ng *g, uint64_t key, size_t mask, uint32_t gen, uint32_t *live)
{
	for (size_t s = ng_slot(key, g->gshift);; s = (s + 1) & mask) {
		struct ng_gslot *e = &g->gs[s];
		*live = e->gen == gen;
		if (((e->key ^ key) & -(uint64_t)*live) == 0)
			return e;
	}
}

/*
 * The gram ids of every order 1..order of the units ids[0..n): order k's
 * at [(k - 1) * n, (k - 1) * n + n - k + 1) of the array returned (the
 * record's scratch).  A unigram's id is twice its unit's; a longer gram's
 * is odd from 3 on, handed out in the table by (its prefix's id, its last
 * unit); 1 is the dead gram.
 */
static inline uint32_t *ng_grams(struct ng *g, const uint32_t *ids, size_t n, int order)
{
	uint32_t *out = ng_alloc(g, (size_t)order * n * sizeof *out + 1);
	size_t add = order > 1 && !g->frozen ? (size_t)(order - 1) * n : 0;	/* look-ups add nothing */
	if (ng_room((size_t)g->ngr + add) > g->gcap)
		ng_grow_grams(g, (size_t)g->ngr + add);
	size_t mask = g->gcap - 1;
	uint32_t gen = g->gen;
	if (order >= 1)
		for (size_t i = 0; i < n; i++)
			out[i] = ids[i] == NG_DEAD ? NG_DEAD_GRAM : 2 * ids[i];
	for (int k = 2; k <= order; k++) {
		uint32_t *lv = out + (size_t)(k - 1) * n;
		const uint32_t *prev = lv - n;
		size_t m = n >= (size_t)k ? n - (size_t)k + 1 : 0;
		const uint32_t *last = ids + k - 1;
		/*
		 * A gram with a dead part is looked up like any other: its key
		 * holds NG_DEAD_GRAM or NG_DEAD, which no hypothesis gram has, so
		 * it is found dead without a branch on it.  One branch ends a
		 * probe (an empty slot, or this key); conditional moves pick ids.
		 */
		if (g->frozen) {
			for (size_t i = 0; i < m; i++) {
				uint64_t key = (uint64_t)prev[i] << 32 | last[i];
				struct ng_gslot *e;
				uint32_t live;
				e = ng_probe(g, key, mask, gen, &live);
				lv[i] = ng_pick(live, e->id, NG_DEAD_GRAM);
			}
			continue;
		}
		uint32_t ngr = g->ngr;
		for (size_t i = 0; i < m; i++) {
			uint64_t key = (uint64_t)prev[i] << 32 | last[i];
			struct ng_gslot *e;
			uint32_t live;
			e = ng_probe(g, key, mask, gen, &live);
			uint32_t id = ng_pick(live, e->id, 2 * ngr + 3);
			*e = (struct ng_gslot){ key, id, gen };
			ngr += !live;
			lv[i] = id;
		}
		g->ngr = ngr;
	}
	return out;
}

/* From here on, units and grams the hypothesis lacks are dead (see the top). */
static inline void ng_freeze(struct ng *g)
{
	g->frozen = 1;
}

/* Zeroed counts for every gram id handed out so far: call after the last ng_grams() of a record. */
static inline void ng_counts(struct ng *g)
{
	size_t lim = 2 * (size_t)(g->nu > g->ngr ? g->nu : g->ngr) + 4;	/* past the largest id */
	if (g->ccap < lim) {
		size_t cap = g->ccap ? g->ccap : 256;
		while (cap < lim)
			cap *= 2;
		H->free(g->ch);
		g->ch = H->alloc(3 * cap * sizeof *g->ch);
		g->ccap = cap;
	}
	g->cc = g->ch + g->ccap;
	g->cm = g->cc + g->ccap;
	memset(g->ch, 0, lim * sizeof *g->ch);
	memset(g->cc, 0, lim * sizeof *g->cc);
	memset(g->cm, 0, lim * sizeof *g->cm);
}

/* The hypothesis's grams gr[0..m) of one order into its counts. */
static inline void ng_hyp(struct ng *g, const uint32_t *gr, size_t m)
{
	for (size_t i = 0; i < m; i++)
		g->ch[gr[i]]++;
}

/*
 * Clipped matches of a reference's grams gr[0..m) against the
 * hypothesis's: sum over grams of min(hypothesis count, reference count).
 * With keep_max, each gram's reference count also raises its best so far
 * (for ng_clip_best()).
 */
static inline uint64_t ng_match(struct ng *g, const uint32_t *gr, size_t m, int keep_max)
{
	uint64_t match = 0;
	for (size_t i = 0; i < m; i++)
		match += ++g->cc[gr[i]] <= g->ch[gr[i]];
	for (size_t i = 0; i < m; i++) {
		uint32_t id = gr[i];
		if (keep_max && g->cc[id] > g->cm[id])
			g->cm[id] = g->cc[id];
		g->cc[id] = 0;
	}
	return match;
}

/*
 * ng_match() for a lone reference, which spends the hypothesis's counts
 * instead of keeping its own: each of its grams matches while the
 * hypothesis has one left.  One pass, and no branch.
 */
static inline uint64_t ng_match_spend(struct ng *g, const uint32_t *gr, size_t m)
{
	uint64_t match = 0;
	uint32_t *ch = g->ch;
	for (size_t i = 0; i < m; i++) {
		uint32_t c = ch[gr[i]], left = c != 0;
		match += left;
		ch[gr[i]] = c - left;
	}
	return match;
}

/* Sum over the hypothesis's distinct grams gr[0..m) of min(its count, best reference count); spends ch. */
static inline uint64_t ng_clip_best(struct ng *g, const uint32_t *gr, size_t m)
{
	uint64_t c = 0;
	for (size_t i = 0; i < m; i++) {
		uint32_t id = gr[i];
		c += g->ch[id] < g->cm[id] ? g->ch[id] : g->cm[id];
		g->ch[id] = 0;
	}
	return c;
}

#endif
