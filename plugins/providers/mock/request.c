/* mock: the model family, and what a record asks of it (mock.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

/* ---- the model family ---- */

static const struct profile profiles[] = {
	{ "baseline", 0.86, 0.02, 0.0, 0.0, 400, 0.0, 0.0 },
	{ "int8", 0.85, 0.03, 0.005, 0.01, 330, 0.05, 0.002 },
	{ "int4", 0.78, 0.05, 0.03, 0.04, 250, 0.15, 0.01 },
	{ "fragile", 0.85, 0.03, 0.005, 0.01, 330, 0.05, 0.002 },
	{ "fragile, overloaded", 0.55, 0.06, 0.08, 0.10, 1200, 0.30, 0.05 },
};

#define FRAGILE (&profiles[3])
#define OVERLOADED (&profiles[4])
#define OVERLOAD_WEIGHT 60

static int has_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);
	for (; *s; s++) {
		size_t i = 0;
		while (i < n && s[i] && (s[i] | 0x20) == (needle[i] | 0x20))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

static const struct profile *profile_of(const char *model)
{
	static const char *const q4[] = { "int4", "q4", "4bit", "awq", "gptq" };
	static const char *const q8[] = { "int8", "q8", "8bit", "fp8" };
	if (has_ci(model, "fragile"))
		return FRAGILE;
	for (size_t i = 0; i < sizeof q4 / sizeof *q4; i++)
		if (has_ci(model, q4[i]))
			return &profiles[2];
	for (size_t i = 0; i < sizeof q8 / sizeof *q8; i++)
		if (has_ci(model, q8[i]))
			return &profiles[1];
	return &profiles[0];
}

/* ---- what the record asks ---- */

static enum kind kind_of_name(const char *name)
{
	if (!name)
		return K_NONE;
	if (strcmp(name, "choice") == 0)
		return K_CHOICE;
	if (strcmp(name, "numeric") == 0)
		return K_NUMERIC;
	if (strcmp(name, "exact_match") == 0 || strcmp(name, "regex") == 0)
		return K_EXACT;
	if (strcmp(name, "contains") == 0)
		return K_CONTAINS;
	if (strcmp(name, "squad_em") == 0 || strcmp(name, "squad_f1") == 0)
		return K_SQUAD;
	return K_TEXT;
}

/* The first metric the record names: "metrics" first, then "metric"; a name or {name}. */
static enum kind record_kind(const qa_json *rec)
{
	const char *m = H->type(rec, "metrics") != QA_ABSENT && H->type(rec, "metrics") != QA_NULL ?
	    "metrics" : "metric";
	char path[32];
	if (H->type(rec, m) == QA_ARRAY)
		snprintf(path, sizeof path, "%s[0]", m);
	else
		snprintf(path, sizeof path, "%s", m);
	if (H->type(rec, path) == QA_STRING)
		return kind_of_name(H->string(rec, path, NULL));
	char npath[40];
	snprintf(npath, sizeof npath, "%s.name", path);
	return kind_of_name(H->string(rec, npath, NULL));
}

/* A choice letter: "B", "(B)", "B)", "B. Paris"; 0 when the text is not one. */
char choice_letter(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '('))
		i++;
	if (i < n && s[i] >= 'A' && s[i] <= 'Z' &&
	    (i + 1 == n || s[i + 1] == ')' || s[i + 1] == '.' || s[i + 1] == ':' || s[i + 1] == ' '))
		return s[i];
	return 0;
}

/* Where the number of a numeric reference is: after "####", else the last number in it. */
int ref_number(const char *s, size_t n, size_t *start, size_t *len)
{
	size_t from = 0;
	for (size_t i = 0; i + 4 <= n; i++)
		if (memcmp(s + i, "####", 4) == 0)
			from = i + 4;
	size_t best = n, bestlen = 0;
	for (size_t i = from; i < n;) {
		size_t j = i;
		if (s[j] == '-' || s[j] == '$')
			j++;
		if (j < n && s[j] >= '0' && s[j] <= '9') {
			size_t k = j;
			while (k < n && ((s[k] >= '0' && s[k] <= '9') || s[k] == '.' || s[k] == ','))
				k++;
			while (k > j && (s[k - 1] == '.' || s[k - 1] == ','))
				k--;
			best = i, bestlen = k - i;
			if (from)
				break;	/* the first after "####" */
			i = k;
		} else {
			i++;
		}
	}
	if (best == n)
		return 0;
	*start = best;
	*len = bestlen;
	return 1;
}

double ref_value(const char *s, size_t n)
{
	char buf[64];
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < sizeof buf; i++)
		if (s[i] != ',' && s[i] != '$')
			buf[o++] = s[i];
	buf[o] = '\0';
	return strtod(buf, NULL);
}

/* Every piece of prompt text, separated by newlines: system, prompt, or each message's content. */
static void prompt_text(const qa_json *rec, struct qa_text *all, const char **last, size_t *lastlen)
{
	size_t n;
	const char *s = H->string(rec, "system", &n);
	add(all, "");
	if (s) {
		H->text_add(all, s, n);
		add(all, "\n");
	}
	*last = "";
	*lastlen = 0;
	if ((s = H->string(rec, "prompt", &n))) {
		H->text_add(all, s, n);
		*last = s, *lastlen = n;
		return;
	}
	size_t count = H->count(rec, "messages");
	for (size_t i = 0; i < count; i++) {
		char path[64];
		snprintf(path, sizeof path, "messages[%zu].content", i);
		if ((s = H->string(rec, path, &n))) {
			H->text_add(all, s, n);
			add(all, "\n");
			*last = s, *lastlen = n;
		}
	}
}

/* The item a record asks about: model and profile, prompt, the keys its draws come from, reference, kind. */
void item_of(const qa_json *rec, const struct qa_endpoint *ep, struct item *it, struct qa_text *all)
{
	const qa_json *p = ep->params;
	it->model = ep->model && *ep->model ? ep->model : "baseline";
	it->prof = profile_of(it->model);
	double weight;
	if (it->prof == FRAGILE && H->number(rec, "route.weight", &weight) == 0 && weight >= OVERLOAD_WEIGHT)
		it->prof = OVERLOADED;
	prompt_text(rec, all, &it->last, &it->lastlen);
	it->prompt = all->p;
	it->promptlen = all->len;
	size_t sl = 0;
	const char *seed = H->type(p, "seed") != QA_ABSENT ? H->raw(p, "seed", &sl) : "";
	it->key = hash(hash(0x71616d6f636bu, all->p, all->len), seed, sl);
	it->mkey = hashs(it->key, it->model);

	const char *refpath = H->type(rec, "expected") != QA_ABSENT && H->type(rec, "expected") != QA_NULL ?
	    "expected" : "ground_truth";
	char rp[32];
	snprintf(rp, sizeof rp, "%s%s", refpath, H->type(rec, refpath) == QA_ARRAY ? "[0]" : "");
	it->ref = H->string(rec, rp, &it->reflen);
	if (!it->ref && H->type(rec, rp) == QA_NUMBER)
		it->ref = H->raw(rec, rp, &it->reflen);
	it->kind = record_kind(rec);
}
