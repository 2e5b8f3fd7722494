/*
 * hash.c - the hashes the tools and the mock provider share.  Their values
 * are part of qa's behaviour (routing stickiness, the mock's answers, the
 * demo's figures): tests/unit/test_hash.c pins them.
 */
#include <openssl/evp.h>
#include <stdio.h>

#include "qa.h"

uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3u;
	return h;
}

uint64_t hash_splitmix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15u;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

uint64_t hash_fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53u;
	return h ^ (h >> 33);
}

uint64_t hash64(uint64_t seed, const void *p, size_t n)
{
	return hash_splitmix64(hash_fnv1a(seed ^ HASH_FNV_BASIS, p, n) ^ n);
}

/* SHA-256 of p as lowercase hex, the first hexlen digits (at most 64) and a NUL; -1 when libcrypto fails. */
int hash_sha256_hex(const void *p, size_t n, char *out, size_t hexlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	out[0] = '\0';
	if (!EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -1;
	if (hexlen > 64)
		hexlen = 64;
	for (size_t i = 0; 2 * i < hexlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[hexlen] = '\0';
	return 0;
}
