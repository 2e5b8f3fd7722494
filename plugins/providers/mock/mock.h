/*
 * mock's private header: the pieces of the mock provider (mock.c, which
 * says what the provider does) by concern.  arith.c: hashing and the
 * draws, without libm; request.c: the model family and what a record
 * asks; answer.c: the answer's text; logprobs.c: tokens and their
 * logprobs.  Nothing here is exported from mock.so.
 */
#ifndef QA_MOCK_H
#define QA_MOCK_H

#include <stddef.h>
#include <stdint.h>

#include <qa/plugin.h>

#pragma GCC visibility push(hidden)

/* The host's table, set by qa_plugin_entry() (mock.c). */
#define H mock_host
extern const struct qa_host *mock_host;

struct profile {
	const char *name;
	double accuracy;	/* expected share right, before task modifiers */
	double flip;		/* the model's own flips, in both directions */
	double drift;		/* answers in a format the scorer may not read */
	double numeric_penalty;	/* extra accuracy lost on numeric items */
	double median_ms;	/* latency */
	double noise;		/* logprob noise (sd) */
	double shift;		/* logprobs lowered by this much on average */
};

enum kind { K_NONE, K_EXACT, K_CONTAINS, K_CHOICE, K_NUMERIC, K_SQUAD, K_TEXT };

struct item {
	const char *model;
	const struct profile *prof;
	uint64_t key;		/* the item: prompt and seed, not the model */
	uint64_t mkey;		/* the item for this model */
	const char *ref;	/* the first reference, or NULL */
	size_t reflen;
	enum kind kind;
	const char *prompt;	/* all prompt text, for tokens and usage */
	size_t promptlen;
	const char *last;	/* the last user text, for answers without a reference */
	size_t lastlen;
};

/* arith.c */
uint64_t mix(uint64_t z);
uint64_t hash(uint64_t h, const char *s, size_t n);
uint64_t hashs(uint64_t h, const char *s);
double unif(uint64_t h);
double m_exp(double x);
double m_log(double x);
double normal(uint64_t h);

/* request.c */
char choice_letter(const char *s, size_t n);
int ref_number(const char *s, size_t n, size_t *start, size_t *len);
double ref_value(const char *s, size_t n);
void item_of(const qa_json *rec, const struct qa_endpoint *ep, struct item *it, struct qa_text *all);

/* answer.c */
void add(struct qa_text *t, const char *s);
void some_words(struct qa_text *t, const char *s, size_t n, size_t k);
size_t count_words(const char *s, size_t n);
void answer(struct qa_text *t, const struct item *it, int right, int drift);

/* logprobs.c */
void logprobs(struct qa_text *t, const struct item *it, int echo, long ntop, const char *text,
    size_t textlen);

#pragma GCC visibility pop

#endif
