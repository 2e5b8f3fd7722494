/*
 * lib/hash.c's values are behaviour: qa-route's buckets (a record stays on
 * its endpoint across runs), the mock provider's answers (the demo's
 * figures) and qa-diff's index all depend on them.  Published vectors
 * where there are some (FNV-1a, splitmix64), else values computed apart.
 */
#include "qa.h"
#include "t.h"

int main(void)
{
	/* FNV-1a 64: the offset basis for nothing, the reference vectors for "a" and "foobar" */
	CHECK(hash_fnv1a(HASH_FNV_BASIS, "", 0) == 0xcbf29ce484222325u);
	CHECK(hash_fnv1a(HASH_FNV_BASIS, "a", 1) == 0xaf63dc4c8601ec8cu);
	CHECK(hash_fnv1a(HASH_FNV_BASIS, "foobar", 6) == 0x85944171f73967e8u);
	/* continuing from a state is hashing the concatenation */
	CHECK(hash_fnv1a(hash_fnv1a(HASH_FNV_BASIS, "foo", 3), "bar", 3) == 0x85944171f73967e8u);
	/* splitmix64 seeded with 0: its first output */
	CHECK(hash_splitmix64(0) == 0xe220a8397b1dcdafu);
	CHECK(hash_fmix64(1) == 0xb456bcfc34c2cb2cu);
	CHECK(hash_fmix64(0) == 0);
	/* the host's hash64(), as the mock provider had it before it moved behind the host table */
	CHECK(hash64(0x746f6b, "Paris", 5) == 0x728e9c213055bc2eu);
	CHECK(qa_host_table.hash64 == hash64);
	/* qa-route's bucket of id-42 under salt "salt": fmix64(FNV-1a("salt:id-42")) mod 10000 */
	uint64_t h = hash_fnv1a(HASH_FNV_BASIS, "salt", 4);
	h = hash_fnv1a(h, ":", 1);
	CHECK(hash_fmix64(hash_fnv1a(h, "id-42", 5)) % 10000 == 3016);
	/* SHA-256 (FIPS 180-2's "abc" vector), whole and cut to 16 digits as response.sent.template has it */
	char hex[65];
	CHECK(hash_sha256_hex("abc", 3, hex, 64) == 0);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	CHECK(hash_sha256_hex("abc", 3, hex, 16) == 0 && strcmp(hex, "ba7816bf8f01cfea") == 0);
	return t_done("test_hash");
}
