/* qa-score: what its files share (scorer instances, summaries, the run); private to the tool. */
#ifndef QA_QA_SCORE_H
#define QA_QA_SCORE_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"

/* ---- scorers: a plugin per name, an instance per distinct options (metric.c) ---- */

struct plug {
	char *name;
	qa_loaded loaded;
	char *err;		/* why it did not load */
	int warned;
};

struct inst {
	char *spec;		/* the text it came from: the cache key */
	char *key;		/* what scores are keyed by: the name, or "as" */
	struct plug *plug;
	void *state;
	char *err;		/* why it could not be made */
	int warned;
};

struct inst *inst_get(const char *spec, size_t len);
void spec_to_json(const char *arg, qa_buf *out);
void metrics_free(void);

/* ---- summaries: per task and metric, mergeable moments (summary.c) ---- */

struct msum {
	char *metric;
	qa_moments m;
	/*
	 * The plain sum beside the moments: for 0/1 scores it is exact, so the
	 * mean, the Wilson interval and m2 (k(n - k)/n) of shards merged come
	 * out bit for bit as one run's.
	 */
	double sum;
	long invalid;
	long nonfinite;
	int nonbinary;
	/*
	 * Perplexity scorers (details with sum_logprob and tokens): the sums
	 * lm-eval's corpus figures come from.  nowords/nobytes: some record
	 * did not say, so that figure is undefined.
	 */
	long ppl_n;
	double ppl_ll, ppl_tokens, ppl_words, ppl_bytes;
	int ppl_nowords, ppl_nobytes;
	/*
	 * Corpus scorers (a corpus() callback, qa-plugin(7)): their details'
	 * "stats" summed by name, and the instance that computes the corpus
	 * figure from the sums (the first one seen for this metric).
	 */
	struct inst *inst;
	char **snames;
	double *svals;
	size_t ns;
	size_t shint;	/* where stats_add looks first */
};

/* What a perplexity scorer's details add to the corpus sums. */
struct ppl_add {
	double ll, tokens, words, bytes;	/* words, bytes: NaN when absent */
};

struct tsum {
	char *task;		/* NULL: records without a task */
	long errors;
	struct msum *ms;
	size_t nms;
};

extern struct tsum *tasks;
extern size_t ntasks;
extern struct tsum overall;

/* A scorer's statistics as numbers, from its stats() callback (qa-plugin(7)); n 0: none. */
struct bin_stats {
	const char *const *names;
	const double *values;
	size_t n;
};

struct tsum *task_get(const char *name);
void stats_add_object(struct msum *m, const qa_json *j, int tok);
struct msum *metric_get(struct tsum *t, const char *metric);
void summary_add(struct tsum *t, struct inst *in, double score, int invalid,
    const struct ppl_add *ppl, const qa_json *details, const struct bin_stats *bs);
void summary_print(int table);
void summaries_free(void);

/* ---- one record (record.c), --merge (merge.c) ---- */

struct run {
	const char *answer_path;
	const char *answer_rest;	/* answer_path past its first key */
	size_t answer_rootlen;
	struct inst **cli;	/* --metric instances; NULL: the record's own */
	size_t ncli;
	int summary;
	long no_answer;
	qa_json *j;
	qa_json *scratch;	/* for checking what plugins return */
	qa_buf out;
};

void score_record(void *arg, const char *file, unsigned long lineno, const char *line, size_t len);
void merge_record(void *arg, const char *file, unsigned long lineno, const char *line, size_t len);

#endif
