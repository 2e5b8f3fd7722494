/*
 * porter.c - NLTK 3.8's PorterStemmer() in its default NLTK_EXTENSIONS
 * mode, the stemmer Google's rouge-score calls with use_stemmer=True.
 *
 * Hand-written on purpose: Debian's libstemmer (Snowball "porter" and
 * "english") implements the original algorithm or Porter2, and both differ
 * from NLTK's variant on words ROUGE sees every day: NLTK maps irregular
 * forms (skies -> sky, dying -> die), treats "ies"/"ied" of 4-letter words
 * specially, adds "fulli" and "logi" rules to step 2, accepts a 2-letter
 * vowel-consonant stem as *o, and conditions step 1c on a consonant before
 * the y.  This file follows nltk/stem/porter.py rule for rule, in the same
 * order, so each function below names the Python method it mirrors.
 * tests/14-porter.bats checks it word by word against python3-nltk over
 * /usr/share/dict/words.
 *
 * Words are ASCII bytes, as rouge-score's tokenizer leaves them (only
 * [a-z0-9] runs survive it); a byte is a character here.
 */
#include <string.h>

#include "porter.h"

struct w {
	char *s;
	size_t n;
};

static int is_cons(const char *s, size_t i)
{
	switch (s[i]) {
	case 'a': case 'e': case 'i': case 'o': case 'u':
		return 0;
	case 'y':
		return i == 0 ? 1 : !is_cons(s, i - 1);
	default:
		return 1;
	}
}

/* _measure: the number of "vc" in the word's consonant/vowel sequence. */
static int measure(const char *s, size_t n)
{
	int m = 0;
	for (size_t i = 1; i < n; i++)
		if (is_cons(s, i) && !is_cons(s, i - 1))
			m++;
	return m;
}

static int contains_vowel(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_cons(s, i))
			return 1;
	return 0;
}

static int ends_double(const char *s, size_t n)
{
	return n >= 2 && s[n - 1] == s[n - 2] && is_cons(s, n - 1);
}

static int ends_cvc(const char *s, size_t n)
{
	if (n >= 3 && is_cons(s, n - 3) && !is_cons(s, n - 2) && is_cons(s, n - 1) &&
	    s[n - 1] != 'w' && s[n - 1] != 'x' && s[n - 1] != 'y')
		return 1;
	return n == 2 && !is_cons(s, 0) && is_cons(s, 1);
}

static int ends(const struct w *w, const char *suf)
{
	size_t k = strlen(suf);
	return w->n >= k && memcmp(w->s + w->n - k, suf, k) == 0;
}

/* Replace the last k bytes by rep (the buffer has room: no rule grows a word by more than 1). */
static void set(struct w *w, size_t k, const char *rep)
{
	size_t r = strlen(rep);
	memcpy(w->s + w->n - k, rep, r);
	w->n = w->n - k + r;
}

enum cond { ANY, M_POS, M_GT1, ION, LOGI };

struct rule {
	const char *suf, *rep;
	enum cond c;
};

static int cond_ok(enum cond c, const char *s, size_t n, const struct w *word)
{
	switch (c) {
	case ANY:
		return 1;
	case M_POS:
		return measure(s, n) > 0;
	case M_GT1:
		return measure(s, n) > 1;
	case ION:
		return measure(s, n) > 1 && n > 0 && (s[n - 1] == 's' || s[n - 1] == 't');
	case LOGI:
		/* NLTK: _has_positive_measure(word[:-3]), of the whole word. */
		return word->n >= 3 && measure(word->s, word->n - 3) > 0;
	}
	return 0;
}

/* _apply_rule_list: the first rule whose suffix matches decides, whether its condition holds or not. */
static void apply(struct w *w, const struct rule *r, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		if (ends(w, r[i].suf)) {
			size_t k = strlen(r[i].suf);
			if (cond_ok(r[i].c, w->s, w->n - k, w))
				set(w, k, r[i].rep);
			return;
		}
	}
}

static void step1a(struct w *w)
{
	if (ends(w, "ies") && w->n == 4) {
		set(w, 3, "ie");
		return;
	}
	static const struct rule r[] = {
		{ "sses", "ss", ANY }, { "ies", "i", ANY }, { "ss", "ss", ANY }, { "s", "", ANY },
	};
	apply(w, r, sizeof r / sizeof *r);
}

static void step1b(struct w *w)
{
	if (ends(w, "ied")) {
		set(w, 3, w->n == 4 ? "ie" : "i");
		return;
	}
	if (ends(w, "eed")) {
		if (measure(w->s, w->n - 3) > 0)
			set(w, 3, "ee");
		return;
	}
	size_t k = 0;
	if (ends(w, "ed") && contains_vowel(w->s, w->n - 2))
		k = 2;
	else if (ends(w, "ing") && contains_vowel(w->s, w->n - 3))
		k = 3;
	if (!k)
		return;
	w->n -= k;	/* the intermediate stem */
	if (ends(w, "at"))
		set(w, 2, "ate");
	else if (ends(w, "bl"))
		set(w, 2, "ble");
	else if (ends(w, "iz"))
		set(w, 2, "ize");
	else if (ends_double(w->s, w->n)) {
		char last = w->s[w->n - 1];
		if (last != 'l' && last != 's' && last != 'z')
			w->n--;
	} else if (measure(w->s, w->n) == 1 && ends_cvc(w->s, w->n))
		set(w, 0, "e");
}

static void step1c(struct w *w)
{
	if (ends(w, "y") && w->n - 1 > 1 && is_cons(w->s, w->n - 2))
		set(w, 1, "i");
}

static void step2(struct w *w)
{
	if (ends(w, "alli") && measure(w->s, w->n - 4) > 0) {
		set(w, 4, "al");
		step2(w);
		return;
	}
	static const struct rule r[] = {
		{ "ational", "ate", M_POS }, { "tional", "tion", M_POS }, { "enci", "ence", M_POS },
		{ "anci", "ance", M_POS }, { "izer", "ize", M_POS }, { "bli", "ble", M_POS },
		{ "alli", "al", M_POS }, { "entli", "ent", M_POS }, { "eli", "e", M_POS },
		{ "ousli", "ous", M_POS }, { "ization", "ize", M_POS }, { "ation", "ate", M_POS },
		{ "ator", "ate", M_POS }, { "alism", "al", M_POS }, { "iveness", "ive", M_POS },
		{ "fulness", "ful", M_POS }, { "ousness", "ous", M_POS }, { "aliti", "al", M_POS },
		{ "iviti", "ive", M_POS }, { "biliti", "ble", M_POS }, { "fulli", "ful", M_POS },
		{ "logi", "log", LOGI },
	};
	apply(w, r, sizeof r / sizeof *r);
}

static void step3(struct w *w)
{
	static const struct rule r[] = {
		{ "icate", "ic", M_POS }, { "ative", "", M_POS }, { "alize", "al", M_POS },
		{ "iciti", "ic", M_POS }, { "ical", "ic", M_POS }, { "ful", "", M_POS },
		{ "ness", "", M_POS },
	};
	apply(w, r, sizeof r / sizeof *r);
}

static void step4(struct w *w)
{
	static const struct rule r[] = {
		{ "al", "", M_GT1 }, { "ance", "", M_GT1 }, { "ence", "", M_GT1 }, { "er", "", M_GT1 },
		{ "ic", "", M_GT1 }, { "able", "", M_GT1 }, { "ible", "", M_GT1 }, { "ant", "", M_GT1 },
		{ "ement", "", M_GT1 }, { "ment", "", M_GT1 }, { "ent", "", M_GT1 }, { "ion", "", ION },
		{ "ou", "", M_GT1 }, { "ism", "", M_GT1 }, { "ate", "", M_GT1 }, { "iti", "", M_GT1 },
		{ "ous", "", M_GT1 }, { "ive", "", M_GT1 }, { "ize", "", M_GT1 },
	};
	apply(w, r, sizeof r / sizeof *r);
}

static void step5a(struct w *w)
{
	if (!ends(w, "e"))
		return;
	int m = measure(w->s, w->n - 1);
	if (m > 1 || (m == 1 && !ends_cvc(w->s, w->n - 1)))
		w->n--;
}

static void step5b(struct w *w)
{
	if (ends(w, "ll") && measure(w->s, w->n - 1) > 1)
		w->n--;
}

size_t porter_stem(const char *word, size_t n, char *out)
{
	static const char *const pool[][2] = {
		{ "sky", "sky" }, { "skies", "sky" }, { "dying", "die" }, { "lying", "lie" },
		{ "tying", "tie" }, { "news", "news" }, { "innings", "inning" }, { "inning", "inning" },
		{ "outings", "outing" }, { "outing", "outing" }, { "cannings", "canning" },
		{ "canning", "canning" }, { "howe", "howe" }, { "proceed", "proceed" },
		{ "exceed", "exceed" }, { "succeed", "succeed" },
	};
	for (size_t i = 0; i < sizeof pool / sizeof *pool; i++)
		if (strlen(pool[i][0]) == n && memcmp(pool[i][0], word, n) == 0) {
			size_t k = strlen(pool[i][1]);
			memcpy(out, pool[i][1], k);
			return k;
		}
	memcpy(out, word, n);
	if (n <= 2)
		return n;
	struct w w = { out, n };
	step1a(&w);
	step1b(&w);
	step1c(&w);
	step2(&w);
	step3(&w);
	step4(&w);
	step5a(&w);
	step5b(&w);
	return w.n;
}
