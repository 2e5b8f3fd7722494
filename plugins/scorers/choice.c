/*
 * choice: multiple choice.  Finds the one letter an answer picks, in the
 * forms models write: "B", "(B)", "B)", "B. Paris", "Answer: B",
 * "The answer is B."; the reference goes through the same extraction, so
 * "B" and "(B) Paris" both work there.  letters= sets the choices
 * (default A-J).
 */
#include <string.h>

#include <qa/plugin.h>

QA_PLUGIN_HOST;

#define NFORMS 4

struct state {
	qa_regex *form[NFORMS];	/* tried in order; the first that matches decides */
	long select[NFORMS];
	char letters[27];
};

static void fini(void *st)
{
	struct state *s = st;
	if (!s)
		return;
	for (int i = 0; i < NFORMS; i++)
		if (s->form[i])
			H->regex_free(s->form[i]);
	H->free(s);
}

static int init(const qa_json *opts, void **state, char **err)
{
	struct state *s = H->alloc(sizeof *s);
	memset(s, 0, sizeof *s);
	*state = s;
	for (size_t i = 0; i < H->count(opts, ""); i++)
		if (strcmp(H->key(opts, "", i), "letters") != 0) {
			*err = H->format("unknown option '%s'", H->key(opts, "", i));
			return -1;
		}
	size_t n;
	const char *letters = H->string(opts, "letters", &n);
	if (!letters)
		letters = "ABCDEFGHIJ", n = 10;
	if (n == 0 || n > 26) {
		*err = H->format("letters must be 1 to 26 capital letters");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (letters[i] < 'A' || letters[i] > 'Z') {
			*err = H->format("letters must be capital letters A-Z");
			return -1;
		}
	memcpy(s->letters, letters, n);
	s->letters[n] = '\0';

	const char *L = s->letters;
	char *pat[NFORMS] = {
		/* the whole answer is the letter, in any case: "b", "(B)", "B." */
		H->format("^\\s*\\(?([%s%s])\\)?[.:)]?\\s*$", L, H->lower(L, n, &n)),
		/* "Answer: B", "the answer is (C)": the last one, since models restate */
		H->format("(?i:\\banswer(?:\\s+is)?)\\s*[:\\-]?\\s*\\(?([%s])\\)?(?!\\w)", L),
		/* "B) Paris", "B. Paris", "(B) Paris" */
		H->format("^\\s*\\(?([%s])[).:](?:\\s|$)", L),
		/* "I'd go with (B)" */
		H->format("\\(([%s])\\)", L),
	};
	long select[NFORMS] = { 0, -1, 0, -1 };
	const char *e = NULL;
	for (int i = 0; i < NFORMS; i++) {
		s->select[i] = select[i];
		if (!(s->form[i] = H->regex_new(pat[i], &e)))
			*err = H->format("letters: %s", e);
		H->free(pat[i]);
	}
	return *err ? -1 : 0;
}

/* The letter picked, upper-cased, or 0. */
static char pick(const struct state *s, const char *text, size_t len)
{
	for (int i = 0; i < NFORMS; i++) {
		size_t n;
		const char *x = H->regex_pick(s->form[i], text, len, s->select[i], &n);
		if (x && n == 1)
			return x[0] >= 'a' && x[0] <= 'z' ? (char)(x[0] - 'a' + 'A') : x[0];
	}
	return 0;
}

static int score(void *st, const struct qa_input *in, struct qa_output *out)
{
	struct state *s = st;
	char got = pick(s, in->answer, in->answer_len);
	if (!got) {
		out->invalid = 1;
		out->details = H->format("{\"extracted\":null}");
		return 0;
	}
	out->details = H->format("{\"extracted\":\"%c\"}", got);
	for (size_t i = 0; i < in->nrefs; i++)
		if (pick(s, in->refs[i], in->ref_lens[i]) == got)
			out->score = 1;
	return 0;
}

static const struct qa_scorer_ops ops = {
	QA_OPS(qa_scorer_ops),
	.init = init,
	.score = score,
	.fini = fini,
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "choice", "1.0",
	    "multiple choice: the letter picked, from B, (B), B), Answer: B, The answer is B."),
	.flags = QA_NEEDS_ANSWER | QA_NEEDS_REFERENCE,
	.scorer = &ops,
};

QA_PLUGIN_EXPORT(&plugin)
