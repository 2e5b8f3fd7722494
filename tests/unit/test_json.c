/* The JSON layer: validation, navigation, unescaping. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "qa.h"
#include "t.h"

static qa_json *J;

static int parses(const char *s)
{
	const char *err;
	size_t off;
	return json_parse(J, s, strlen(s), &err, &off) == 0;
}

static const char *str_at(const char *doc, const char *path)
{
	if (!parses(doc))
		return NULL;
	return json_str(J, json_find(J, 0, path), NULL);
}

int main(void)
{
	J = json_new();

	/* valid */
	CHECK(parses("{}"));
	CHECK(parses(" {\"a\" : [1, -2.5e3, true, false, null, \"x\"] } \r\n"));
	CHECK(parses("[]"));
	CHECK(parses("0"));
	CHECK(parses(" -1.5e-3 "));
	CHECK(parses("true"));
	CHECK(!parses("tru"));
	CHECK(!parses("1 2"));
	CHECK(parses("\"s\""));
	CHECK(parses("{\"a\":{\"b\":{\"c\":[[],[{}]]}}}"));
	/* invalid: everything a tokenizer alone would let through */
	CHECK(!parses(""));
	CHECK(!parses("   "));
	CHECK(!parses("{"));
	CHECK(!parses("{\"a\":1,}"));
	CHECK(!parses("[1,]"));
	CHECK(!parses("[1 2]"));
	CHECK(!parses("{\"a\" 1}"));
	CHECK(!parses("{\"a\":}"));
	CHECK(!parses("{\"a\"}"));
	CHECK(!parses("{1:2}"));
	CHECK(!parses("[tru]"));
	CHECK(!parses("[nul]"));
	CHECK(!parses("[01]"));
	CHECK(!parses("[1.]"));
	CHECK(!parses("[.5]"));
	CHECK(!parses("[1e]"));
	CHECK(!parses("[-]"));
	CHECK(!parses("[+1]"));
	CHECK(!parses("{} {}"));
	CHECK(!parses("{}x"));
	CHECK(!parses("[1:2]"));
	CHECK(!parses("[\"a\\x\"]"));
	CHECK(!parses("[\"\\u12\"]"));
	CHECK(!parses("{\"a\":1]"));
	{
		const char nul[] = "{\"a\":1}\0garbage";
		const char *err;
		size_t off;
		CHECK(json_parse(J, nul, sizeof nul - 1, &err, &off) < 0);
		CHECK(off == 7);
	}

	/* navigation */
	const char *doc = "{\"response\":{\"text\":\"Paris\",\"usage\":{\"n\":12}},\"expected\":[\"a\",\"b\"],"
	    "\"k\":1,\"k\":2}";
	CHECK_STR(str_at(doc, "response.text"), "Paris");
	CHECK_STR(str_at(doc, "expected[1]"), "b");
	CHECK(str_at(doc, "expected[2]") == NULL);
	CHECK(str_at(doc, "response.nope") == NULL);
	CHECK(str_at(doc, "response.usage.n") == NULL);	/* a number is not a string */
	double v = 0;
	CHECK(json_num(J, json_find(J, 0, "response.usage.n"), &v) == 0 && v == 12);
	CHECK(json_num(J, json_find(J, 0, "k"), &v) == 0 && v == 2);	/* the last of a repeated key */
	CHECK(json_count(J, json_find(J, 0, "expected")) == 2);
	/* json_num reads short integers itself: every form gives strtod's double, -0 included. */
	static const char *const nums[] = { "0", "-0", "7", "-42", "999999999999999", "-999999999999999",
		"9007199254740993", "12345678901234567890", "0.1", "1e3", "-2.5E-3", "100.0" };
	for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
		char docn[64];
		snprintf(docn, sizeof docn, "[%s]", nums[i]);
		double want = strtod(nums[i], NULL), got = 1;
		CHECK(parses(docn) && json_num(J, json_find(J, 0, "[0]"), &got) == 0 && got == want &&
		    signbit(got) == signbit(want));
	}
	CHECK(parses(doc));
	CHECK(json_type(J, json_find(J, 0, "")) == QA_OBJECT);
	CHECK(json_type(J, json_find(J, 0, "expected")) == QA_ARRAY);
	size_t n;
	const char *raw = json_raw(J, json_find(J, 0, "expected[0]"), &n);
	CHECK_MEM(raw, n, "\"a\"");

	/* unescaping */
	CHECK_STR(str_at("{\"s\":\"a\\n\\t\\\"\\\\\\/b\"}", "s"), "a\n\t\"\\/b");
	CHECK_STR(str_at("{\"s\":\"\\u00e9\\u4e2d\"}", "s"), "\xc3\xa9\xe4\xb8\xad");
	CHECK_STR(str_at("{\"s\":\"\\ud83d\\ude00\"}", "s"), "\xf0\x9f\x98\x80");	/* surrogate pair */
	CHECK_STR(str_at("{\"s\":\"\\ud83dx\"}", "s"), "\xef\xbf\xbdx");	/* lone high surrogate */
	CHECK_STR(str_at("{\"s\":\"\\ude00\"}", "s"), "\xef\xbf\xbd");	/* lone low surrogate */
	CHECK_STR(str_at("{\"s\":\"a\xff" "b\"}", "s"), "a\xef\xbf\xbd" "b");	/* invalid UTF-8 */
	{
		CHECK(parses("{\"s\":\"a\\u0000b\"}"));
		const char *s = json_str(J, json_find(J, 0, "s"), &n);
		CHECK(n == 3 && s[1] == '\0');
	}
	CHECK(parses("{\"key\":\"a\\u0062\"}"));
	CHECK(json_str_eq(J, json_find(J, 0, "key"), "ab", 2));
	/* Escapes shorten and invalid bytes lengthen: the key is still found under its own name. */
	CHECK(parses("{\"\xff\xff\xff\\u0041\":1}"));
	CHECK(json_str_eq(J, json_key_at(J, 0, 0), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "A", 10));
	CHECK(json_member(J, 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "A", 10) == 2);

	/* a deep line is neither a stack overflow nor slow */
	{
		size_t depth = 200000;
		char *deep = malloc(2 * depth + 1);
		memset(deep, '[', depth);
		memset(deep + depth, ']', depth);
		deep[2 * depth] = '\0';
		CHECK(parses(deep));
		deep[2 * depth - 1] = ' ';
		CHECK(!parses(deep));
		free(deep);
	}
	/* many siblings: parent links keep this linear */
	{
		size_t count = 300000;
		char *wide = malloc(3 * count + 3);
		size_t o = 0;
		wide[o++] = '[';
		for (size_t i = 0; i < count; i++) {
			wide[o++] = '[';
			wide[o++] = ']';
			wide[o++] = ',';
		}
		wide[o - 1] = ']';
		wide[o] = '\0';
		CHECK(parses(wide));
		CHECK(json_count(J, 0) == count);
		free(wide);
	}
	/*
	 * json_index() remembers where it was in a few arrays: walks side by
	 * side, backwards, past the cache's size, and after a new parse of the
	 * same shape must all land where a walk from the start does.
	 */
	{
		static const char *const paths[] = { "a", "b", "c", "d", "e" };
		const char *arrays = "{\"a\":[0,1,2,3,{\"x\":[9,8]},5],\"b\":[10,11,12,13,14,15],\"c\":[20,21,22,23,24,25],"
		    "\"d\":[30,31,32,33,34,35],\"e\":[40,41,42,43,44,45]}";
		static const int order[] = { 0, 1, 2, 5, 3, 3, 0, 4, 5, 1 };
		int ok = parses(arrays);
		/* three arrays fit the cache; five evict each other */
		for (size_t narrays = 3; narrays <= 5 && ok; narrays += 2) {
			for (size_t o = 0; o < sizeof order / sizeof *order; o++)
				for (size_t a = 0; a < narrays; a++) {
					double got = -1;
					char path[16];
					snprintf(path, sizeof path, "%s[%d]", paths[a], order[o]);
					int t = json_find(J, 0, path);
					if (a == 0 && order[o] == 4)
						ok &= json_type(J, t) == QA_OBJECT && json_num(J, json_find(J, t, "x[1]"), &got) == 0 && got == 8;
					else
						ok &= json_num(J, t, &got) == 0 && got == (double)(a * 10 + (size_t)order[o]);
				}
			ok &= parses("{\"a\":[7]}") && json_index(J, json_find(J, 0, "a"), 1) < 0;
			ok &= parses(arrays);
		}
		CHECK(ok);
	}
	/* json_members: several keys in one pass; absent -1, a repeat's last, an escaped key by its value */
	{
		static const char *const keys[] = { "a", "bb", "c", "d" };
		static const size_t klen[] = { 1, 2, 1, 1 };
		int mv[4];
		CHECK(parses("{\"bb\":1,\"a\":[2],\"bb\":3,\"\\u0063\":4,\"z\":5}"));
		int last = json_members(J, 0, keys, klen, 4, mv);
		CHECK(mv[0] == json_member(J, 0, "a", 1) && json_type(J, mv[0]) == QA_ARRAY);
		CHECK(mv[1] == json_member(J, 0, "bb", 2) && json_raw(J, mv[1], &(size_t){ 0 })[0] == '3');
		CHECK(mv[2] >= 0 && json_raw(J, mv[2], &(size_t){ 0 })[0] == '4');
		CHECK(mv[3] == -1);
		CHECK(last == json_member(J, 0, "z", 1));
		CHECK(parses("[1]"));
		CHECK(json_members(J, 0, keys, klen, 4, mv) == -1 && mv[0] == -1 && mv[3] == -1);
	}
	json_free(&J);
	return t_done("json");
}
