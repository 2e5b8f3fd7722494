/* mock: the answer's text, right or plausibly wrong (mock.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

/* ---- answers ---- */

void add(struct qa_text *t, const char *s)
{
	H->text_add(t, s, strlen(s));
}

static int eq_ci(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b);
	if (an != bn)
		return 0;
	for (size_t i = 0; i < an; i++)
		if ((a[i] | 0x20) != (b[i] | 0x20))
			return 0;
	return 1;
}

static int contains_ci(const char *hay, size_t hn, const char *needle, size_t nn)
{
	if (!nn)
		return 0;
	for (size_t i = 0; i + nn <= hn; i++) {
		size_t k = 0;
		while (k < nn && (hay[i + k] | 0x20) == (needle[k] | 0x20))
			k++;
		if (k == nn)
			return 1;
	}
	return 0;
}

static int is_number(const char *s, size_t n)
{
	size_t st, len;
	return n && ref_number(s, n, &st, &len) && st == 0 && len == n;
}

/* Another number: +1, -1, x2 or +10, never the same. */
static void wrong_number(struct qa_text *t, double v, uint64_t h)
{
	static const double add_[] = { 1, -1, 0, 10 };
	int pick = (int)(unif(h) * 4);
	double w = pick == 2 ? v * 2 : v + add_[pick];
	if (w == v)
		w = v + 1;
	if (w == (double)(long long)w && w < 1e15 && w > -1e15)
		H->text_printf(t, "%lld", (long long)w);
	else
		H->text_printf(t, "%.6g", w);
}

/* A plausible wrong word for a reference. */
static void wrong_word(struct qa_text *t, const char *ref, size_t n, uint64_t h)
{
	static const char *const names[] = { "Paris", "London", "Berlin", "Madrid", "Rome", "Vienna",
		"Mercury", "Jupiter", "Shakespeare", "Newton", "Amazon", "Everest" };
	static const char *const plain[] = { "blue", "green", "seven", "twelve", "water", "oxygen",
		"iron", "winter", "north", "carbon", "silver", "triangle" };
	static const char *const pairs[][2] = { { "yes", "no" }, { "true", "false" }, { "positive", "negative" } };
	if (is_number(ref, n)) {
		wrong_number(t, ref_value(ref, n), h);
		return;
	}
	for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++)
		for (int k = 0; k < 2; k++)
			if (eq_ci(ref, n, pairs[i][k])) {
				add(t, pairs[i][1 - k]);
				return;
			}
	/* A name for a name, a word for a word. */
	const char *const *words = n && ref[0] >= 'A' && ref[0] <= 'Z' ? names : plain;
	size_t nw = sizeof names / sizeof *names, pick = (size_t)(unif(h) * (double)nw);
	for (size_t i = 0; i < nw; i++) {
		const char *w = words[(pick + i) % nw];
		if (!contains_ci(w, strlen(w), ref, n) && !contains_ci(ref, n, w, strlen(w))) {
			add(t, w);
			return;
		}
	}
	add(t, "unknown");
}

/* The first k words of s, or every word but each third one (k == 0). */
void some_words(struct qa_text *t, const char *s, size_t n, size_t k)
{
	size_t pos = 0, wl, i = 0, out = 0;
	const char *w;
	while ((w = H->word(s, n, &pos, &wl))) {
		i++;
		if (k ? i > k : i % 3 == 0)
			continue;
		if (out++)
			add(t, " ");
		H->text_add(t, w, wl);
	}
}

size_t count_words(const char *s, size_t n)
{
	size_t pos = 0, wl, c = 0;
	while (H->word(s, n, &pos, &wl))
		c++;
	return c;
}

static const char *const ordinals[] = { "first", "second", "third", "fourth", "fifth", "sixth",
	"seventh", "eighth", "ninth", "tenth" };

void answer(struct qa_text *t, const struct item *it, int right, int drift)
{
	const char *ref = it->ref;
	size_t n = it->reflen;
	uint64_t h = mix(it->mkey ^ 0x77726f6e67u);	/* "wrong" */
	enum kind k = it->kind;
	if (ref && k == K_NONE) {
		/* No metric named: guess from the reference's shape. */
		size_t st, len;
		if (choice_letter(ref, n) && n <= 4)
			k = K_CHOICE;
		else if (ref_number(ref, n, &st, &len) && (is_number(ref, n) || memmem(ref, n, "####", 4)))
			k = K_NUMERIC;
		else
			k = K_EXACT;
	}
	if (!ref) {
		add(t, "This is a mock answer to: ");
		size_t from = t->len;
		some_words(t, it->last, it->lastlen, 12);
		if (t->len - from > 120) {	/* a few words, not a few megabytes */
			size_t cut = from + 120;
			while (cut > from && ((unsigned char)t->p[cut] & 0xc0) == 0x80)
				cut--;
			t->len = cut;
			t->p[cut] = '\0';
			add(t, "...");
		}
		return;
	}
	switch (k) {
	case K_CHOICE: {
		char l = choice_letter(ref, n);
		if (!l) {
			k = K_EXACT;
			break;
		}
		char top = l > 'D' ? l : 'D';
		char pick = l;
		if (!right) {
			int span = top - 'A' + 1, r = 1 + (int)(unif(h) * (span - 1));
			pick = (char)('A' + ((l - 'A') + r) % span);
		}
		if (drift)
			H->text_printf(t, "I would go with the %s option.", ordinals[(pick - 'A') % 10]);
		else
			H->text_printf(t, "The answer is %c.", pick);
		return;
	}
	case K_NUMERIC: {
		size_t st, len;
		if (!ref_number(ref, n, &st, &len)) {
			k = K_EXACT;
			break;
		}
		struct qa_text num = { 0 };
		if (right)
			H->text_add(&num, ref + st, len);
		else
			wrong_number(&num, ref_value(ref + st, len), h);
		if (drift)
			H->text_printf(t, "Working through it step by step, the answer is %s.", num.p);
		else
			H->text_printf(t, "Working through it step by step, the answer is %s.\n#### %s", num.p, num.p);
		H->free(num.p);
		return;
	}
	default:
		break;
	}
	switch (k) {
	case K_CONTAINS: {
		struct qa_text w = { 0 };
		add(&w, "I believe the answer is ");
		if (right)
			H->text_add(&w, ref, n);
		else
			wrong_word(&w, ref, n, h);
		add(&w, ".");
		if (!right && contains_ci(w.p, w.len, ref, n)) {
			w.len = 0;
			add(&w, "I do not know.");
		}
		H->text_add(t, w.p, w.len);
		H->free(w.p);
		return;
	}
	case K_SQUAD:
	case K_TEXT: {
		size_t words = count_words(ref, n);
		if (right)
			H->text_add(t, ref, n);
		else if (words >= 3)
			some_words(t, ref, n, k == K_SQUAD ? (words + 1) / 2 : 0);
		else
			wrong_word(t, ref, n, h);
		return;
	}
	default:
		if (right)
			H->text_add(t, ref, n);
		else
			wrong_word(t, ref, n, h);
		return;
	}
}
