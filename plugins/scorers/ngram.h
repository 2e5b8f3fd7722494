/*
 * ngram.h - n-gram counting shared by bleu.c and chrf.c (included, not a
 * plugin of its own: the Makefile builds only the .c files of plugins/scorers).
 *
 * A gram is a run of `n` consecutive units of a token list (words, or code
 * points for chrF); units compare by their bytes.  A table holds the
 * hypothesis's grams of one order with their counts; references are then
 * counted against it, so clipped matches (Counter & Counter in Python)
 * cost one pass over each reference.
 */
#ifndef QA_NGRAM_H
#define QA_NGRAM_H

#include <stdint.h>
#include <string.h>

struct unit {
	const char *p;
	size_t n;
	uint64_t h;
};

struct gram {
	uint64_t h;
	size_t at;		/* first unit in the hypothesis */
	double hyp, ref, cur;	/* counts: hypothesis, best reference so far, this reference */
	int used;
};

struct gtab {
	struct gram *g;
	size_t cap;		/* a power of two */
	const struct unit *u;	/* the hypothesis's units */
	size_t order;
	size_t *touched;	/* slots used, for a fast reset and walk */
	size_t ntouched;
};

static uint64_t unit_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

static uint64_t gram_hash(const struct unit *u, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ u[i].h) * 0xff51afd7ed558ccdull + i;
	return h ? h : 1;
}

static int gram_eq(const struct unit *a, const struct unit *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].n != b[i].n || a[i].h != b[i].h || memcmp(a[i].p, b[i].p, a[i].n) != 0)
			return 0;
	return 1;
}

/* The slot of gram u[0..order) in t: its own, or the empty one where it would go. */
static struct gram *gtab_slot(struct gtab *t, const struct unit *u, uint64_t h)
{
	size_t i = (size_t)(h ^ (h >> 31)) & (t->cap - 1);	/* the high bits too: a product's low bits are weak */
	for (;;) {
		struct gram *g = &t->g[i];
		if (!g->used || (g->h == h && gram_eq(t->u + g->at, u, t->order)))
			return g;
		i = (i + 1) & (t->cap - 1);
	}
}

/* Fills t with the grams of order `order` of the hypothesis units u[0..n); alloc/free from the host. */
static void gtab_fill(struct gtab *t, const struct unit *u, size_t n, size_t order,
    void *(*alloc)(size_t), void (*dealloc)(void *))
{
	size_t want = 16;
	while (want < 2 * (n + 1))
		want *= 2;
	if (t->cap < want) {
		dealloc(t->g);
		dealloc(t->touched);
		t->g = alloc(want * sizeof *t->g);
		t->touched = alloc(want * sizeof *t->touched);
		memset(t->g, 0, want * sizeof *t->g);
		t->cap = want;
		t->ntouched = 0;
	}
	for (size_t k = 0; k < t->ntouched; k++)
		memset(&t->g[t->touched[k]], 0, sizeof *t->g);
	t->ntouched = 0;
	t->u = u;
	t->order = order;
	for (size_t i = 0; i + order <= n; i++) {
		uint64_t h = gram_hash(u + i, order);
		struct gram *g = gtab_slot(t, u + i, h);
		if (!g->used) {
			g->used = 1;
			g->h = h;
			g->at = i;
			t->touched[t->ntouched++] = (size_t)(g - t->g);
		}
		g->hyp++;
	}
}

/* Counts a reference's grams of the table's order into cur; returns how many it has. */
static size_t gtab_count_ref(struct gtab *t, const struct unit *r, size_t n)
{
	for (size_t k = 0; k < t->ntouched; k++)
		t->g[t->touched[k]].cur = 0;
	size_t total = 0;
	for (size_t i = 0; i + t->order <= n; i++, total++) {
		struct gram *g = gtab_slot(t, r + i, gram_hash(r + i, t->order));
		if (g->used)
			g->cur++;
	}
	return total;
}

static void gtab_free(struct gtab *t, void (*dealloc)(void *))
{
	dealloc(t->g);
	dealloc(t->touched);
	memset(t, 0, sizeof *t);
}

#endif
