/* The buffer, the JSON writers, the arena and number parsing. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"
#include "t.h"

static const char *quoted(const char *s, size_t n)
{
	static qa_buf b;
	b.len = 0;
	buf_json_string(&b, s, n);
	return buf_cstr(&b);
}

static const char *num(double v)
{
	static qa_buf b;
	b.len = 0;
	buf_json_number(&b, v);
	return buf_cstr(&b);
}

static const char *cleaned(const char *s, size_t n)
{
	static qa_buf b;
	b.len = 0;
	buf_json_clean(&b, s, n);
	return buf_cstr(&b);
}

int main(void)
{
	qa_buf b = { 0 };
	for (int i = 0; i < 10000; i++)
		buf_addc(&b, 'x');
	CHECK(b.len == 10000);
	buf_printf(&b, "%d-%s", 42, "y");
	CHECK(memcmp(b.p + 10000, "42-y", 4) == 0);
	buf_free(&b);
	CHECK(b.p == NULL && b.len == 0);

	CHECK_STR(quoted("plain", 5), "\"plain\"");
	CHECK_STR(quoted("a\"b\\c\n\t\r\b\f", 10), "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\"");
	CHECK_STR(quoted("\x01\x1f", 2), "\"\\u0001\\u001f\"");
	CHECK_STR(quoted("a\0b", 3), "\"a\\u0000b\"");
	CHECK_STR(quoted("\xc3\xa9\xf0\x9f\x98\x80", 6), "\"\xc3\xa9\xf0\x9f\x98\x80\"");
	CHECK_STR(quoted("a\xff" "b", 3), "\"a\\ufffdb\"");
	CHECK_STR(quoted("\xc3", 1), "\"\\ufffd\"");	/* truncated sequence */
	CHECK_STR(quoted("\xc0\xaf", 2), "\"\\ufffd\\ufffd\"");	/* overlong */
	CHECK_STR(quoted("\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\"");	/* a surrogate */

	/* Copied JSON made strict: one line, control characters escaped, bad UTF-8 replaced. */
	CHECK_STR(cleaned("{\"a\":[1,\"x\"]}", 13), "{\"a\":[1,\"x\"]}");
	CHECK_STR(cleaned("{\"a\":\"x\ny\"}", 12), "{\"a\":\"x\\u000ay\"}");
	CHECK_STR(cleaned("{\"a\n\":\n\"\x01\t\"}", 13), "{\"a\\u000a\": \"\\u0001\\u0009\"}");
	CHECK_STR(cleaned("[\"\\\"\n\",\"\\\\\"]", 12), "[\"\\\"\\u000a\",\"\\\\\"]");
	CHECK_STR(cleaned("[\"a\xff\xc3\",\"\xc3\xa9\"]", 12), "[\"a\\ufffd\\ufffd\",\"\xc3\xa9\"]");
	CHECK_STR(cleaned("[\"\\u0000\",\r\n1]", 14), "[\"\\u0000\",  1]");
	CHECK_STR(cleaned("[\"\xed\xa0\x80\"]", 7), "[\"\\ufffd\\ufffd\\ufffd\"]");
	{
		/* A bad byte found wherever it sits, whole words at a time or not (and the bounds 0x1f/0x20, 0x7f/0x80). */
		int good = 0;
		for (int pos = 0; pos < 40; pos++)
			for (int k = 0; k < 5; k++) {
				static const unsigned char bad[] = { 0x1f, 0x20, 0x7f, 0x80, 0xff };
				static const char *const want[] = { "\\u001f", " ", "\x7f", "\\ufffd", "\\ufffd" };
				char in[48], out[64];
				in[0] = '"';
				memset(in + 1, 'a', 40);
				in[1 + pos] = (char)bad[k];
				in[41] = '"';
				snprintf(out, sizeof out, "\"%.*s%s%.*s\"", pos, in + 1, want[k], 39 - pos, in + 2 + pos);
				good += strcmp(cleaned(in, 42), out) == 0;
			}
		CHECK(good == 200);
	}
	{
		/* Whatever the scanner lets through comes out as one line a strict reader takes. */
		static const char *const in[] = {
			"{\"u\":{\"k\":\"a\nb\rc\"},\"lp\":[\"\x7f\x80\",\"\x1b[0m\"]}",
			"[\"\\\"\",\"\xf0\x9f\x98\",\n\"\xf4\x90\x80\x80\"]",
		};
		qa_json *j = json_new();
		for (size_t k = 0; k < sizeof in / sizeof *in; k++) {
			const char *err;
			size_t off;
			CHECK(json_parse(j, in[k], strlen(in[k]), &err, &off) == 0);
			const char *c = cleaned(in[k], strlen(in[k]));
			for (const unsigned char *p = (const unsigned char *)c; *p; p++)
				CHECK(*p >= 0x20);
			CHECK(json_parse(j, c, strlen(c), &err, &off) == 0);
			qa_buf q = { 0 };
			buf_json_clean(&q, c, strlen(c));
			CHECK_STR(buf_cstr(&q), c);	/* clean text stays as it is */
			buf_free(&q);
		}
		json_free(&j);
	}

	CHECK_STR(num(0), "0");
	CHECK_STR(num(-0.0), "0");
	CHECK_STR(num(1), "1");
	CHECK_STR(num(-12), "-12");
	CHECK_STR(num(0.1), "0.1");
	CHECK_STR(num(1.0 / 3), "0.3333333333333333");
	CHECK_STR(num(2.0 / 3), "0.6666666666666666");
	CHECK_STR(num(1e300), "1e+300");
	CHECK_STR(num(1.0000000000000001e+299), "1e+299");
	CHECK_STR(num(0.1 + 0.2), "0.30000000000000004");
	CHECK_STR(num(NAN), "null");
	CHECK_STR(num(INFINITY), "null");
	CHECK(strtod(num(0.7224672001371106), NULL) == 0.7224672001371106);

	/* The fast path agrees with its definition: the first of %.15g..%.17g that reads back. */
	{
		uint64_t x = 88172645463325252ull;
		int bad = 0;
		for (int i = 0; i < 1000000 && bad < 5; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			double v = (double)(x >> 11) / 9007199254740992.0 * pow(10, (int)(x % 24) - 9);
			if (i & 1)
				v = -v;
			char want[32];
			for (int prec = 15; prec <= 17; prec++) {
				snprintf(want, sizeof want, "%.*g", prec, v);
				if (prec == 17 || strtod(want, NULL) == v)
					break;
			}
			if (v == 0 || v == 1 || (fabs(v) < 1e15 && v == (double)(long long)v))
				continue;
			const char *got = num(v);
			if (strcmp(got, want) != 0) {
				fprintf(stderr, "%.17g: got %s, want %s\n", v, got, want);
				bad++;
			}
		}
		CHECK(bad == 0);
	}

	qa_arena *a = arena_new();
	char *p = arena_strndup(a, "hello", 5);
	CHECK_STR(p, "hello");
	void *big = arena_alloc(a, 1 << 20);
	CHECK(big != NULL);
	memset(big, 1, 1 << 20);
	arena_reset(a);
	CHECK_STR(arena_strndup(a, "again", 5), "again");
	arena_free(&a);
	CHECK(a == NULL);

	/* the members of an object written piece by piece */
	{
		qa_buf o = { 0 };
		buf_adds(&o, "{\"n\":2");
		buf_kv_num(&o, "mean", 0.1 + 0.2);
		buf_kv_num(&o, "se", NAN);
		buf_kv_num(&o, "one", 1.0);
		buf_kv_long(&o, "errors", -3);
		buf_kv_str(&o, "task", "a\"b\n");
		buf_kv_str(&o, "model", NULL);
		buf_addc(&o, '}');
		CHECK(strcmp(buf_cstr(&o), "{\"n\":2,\"mean\":0.30000000000000004,\"se\":null,\"one\":1,"
		    "\"errors\":-3,\"task\":\"a\\\"b\\n\",\"model\":null}") == 0);
		buf_free(&o);
	}

	double d;
	long l;
	CHECK(parse_double("0.5", 0, 1, &d) == 0 && d == 0.5);
	CHECK(parse_double("1.5", 0, 1, &d) < 0);
	CHECK(parse_double("x", 0, 1, &d) < 0);
	CHECK(parse_double("", 0, 1, &d) < 0);
	CHECK(parse_double("nan", -1e9, 1e9, &d) < 0);
	CHECK(parse_long("64", 1, 100, &l) == 0 && l == 64);
	CHECK(parse_long("6x", 1, 100, &l) < 0);
	CHECK(parse_long("0", 1, 100, &l) < 0);
	CHECK(parse_long("99999999999999999999", 1, 100, &l) < 0);
	return t_done("buf");
}
