/* mock: hashing, uniforms, exp, log and normals, the same bits on every libc (mock.h). */
#include <stdint.h>
#include <string.h>

#include "mock.h"

/* ---- arithmetic: hashing, uniforms, exp, log, normals ---- */

uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15u;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* The host's hash64(): the same FNV-1a and splitmix64 as lib/hash.c, so the answers do not move. */
uint64_t hash(uint64_t h, const char *s, size_t n)
{
	return H->hash64(h, s, n);
}

uint64_t hashs(uint64_t h, const char *s)
{
	return hash(h, s, strlen(s));
}

/* A uniform in [0, 1) from a hash. */
double unif(uint64_t h)
{
	return (double)(mix(h) >> 11) * (1.0 / 9007199254740992.0);
}

double m_exp(double x)
{
	if (x < -700)
		return 0;
	if (x > 700)
		x = 700;
	/* x = k ln2 + r, |r| <= ln2 / 2; e^r by its series; 2^k by squaring. */
	const double ln2 = 0.6931471805599453;
	long k = (long)(x / ln2 + (x < 0 ? -0.5 : 0.5));
	double r = x - (double)k * ln2, term = 1, sum = 1;
	for (int i = 1; i < 20; i++) {
		term *= r / i;
		sum += term;
	}
	double p = 1, b = k < 0 ? 0.5 : 2;
	for (long e = k < 0 ? -k : k; e; e >>= 1, b *= b)
		if (e & 1)
			p *= b;
	return sum * p;
}

double m_log(double x)
{
	if (x <= 0)
		return -745;
	/* x = m 2^e with m in [0.75, 1.5); ln m = 2 atanh((m - 1) / (m + 1)). */
	int e = 0;
	while (x >= 1.5) {
		x /= 2;
		e++;
	}
	while (x < 0.75) {
		x *= 2;
		e--;
	}
	double y = (x - 1) / (x + 1), y2 = y * y, term = y, sum = 0;
	for (int i = 1; i < 60; i += 2) {
		sum += term / i;
		term *= y2;
	}
	return 2 * sum + e * 0.6931471805599453;
}

/* A standard normal, near enough: the sum of 12 uniforms less 6. */
double normal(uint64_t h)
{
	double s = 0;
	for (int i = 0; i < 12; i++)
		s += unif(h + (uint64_t)i * 0x632be59bd9b4e019u);
	return s - 6;
}
