/* porter.h - NLTK's PorterStemmer (NLTK_EXTENSIONS mode); see porter.c for why it is hand-written. */
#ifndef QA_PORTER_H
#define QA_PORTER_H
#include <stddef.h>

/* Stems the n lowercase ASCII bytes of word into out (room for n + 1 bytes); returns the stem's length. */
size_t porter_stem(const char *word, size_t n, char *out);

#endif
