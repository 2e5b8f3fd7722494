/*
 * The record scanner (lib/json.c) and the splice writer (lib/splice.c),
 * fed each line of a case as qa-score's line reader hands it over (no
 * newline, a CR before it dropped).  Oracles: everything the
 * scanner accepted can be walked and unescaped; a spliced record and a
 * bad_record line both scan again as one JSON object.
 */
#include <string.h>

#include "fuzz.h"

static qa_json *j, *again;
static qa_buf out;

static void fuzz_setup(void)
{
	j = json_new();
	again = json_new();
}

static void reparses(void)
{
	const char *err;
	size_t off;
	FUZZ_CHECK(json_parse(again, out.p, out.len, &err, &off) == 0);
	FUZZ_CHECK(json_type(again, 0) == QA_OBJECT);
	FUZZ_CHECK(memchr(out.p, '\n', out.len) == NULL);
}

static void one_line(const char *p, size_t n)
{
	char msg[160];
	int rc = record_parse(j, p, n, msg, sizeof msg);
	out.len = 0;
	if (rc < 0) {
		bad_record(&out, "fuzz.jsonl", 1, p, n, msg);
		reparses();
		return;
	}
	if (rc > 0)
		return;
	int nt = json_ntokens(j);
	for (int t = 0; t < nt; t++) {
		size_t len;
		double d;
		FUZZ_CHECK(json_start(j, t) <= json_end(j, t) && json_end(j, t) <= n);
		FUZZ_CHECK(json_next(j, t) > t && json_next(j, t) <= nt);
		switch (json_type(j, t)) {
		case QA_STRING:
			FUZZ_CHECK(json_str(j, t, &len) != NULL);
			break;
		case QA_NUMBER:
			FUZZ_CHECK(json_num(j, t, &d) == 0);
			break;
		case QA_OBJECT:
			for (size_t i = 0; i < json_count(j, t); i++) {
				int k = json_key_at(j, t, i);
				const char *key = json_key(j, k, &len);
				FUZZ_CHECK(json_member(j, t, key, len) >= 0);
			}
			break;
		case QA_ARRAY:
			for (size_t i = 0; i < json_count(j, t); i++)
				FUZZ_CHECK(json_index(j, t, i) > t);
			break;
		default:
			break;
		}
	}
	json_find(j, 0, "response.usage.prompt_tokens");
	json_find(j, 0, "messages[0].content");
	/* One field replaced or added, one removed, one added: the shapes qa-score and qa-send write. */
	qa_field f[] = {
		{ "scores", "{\"exact_match\":1}", 17 },
		{ "error", NULL, 0 },
		{ "response", "{\"text\":\"a\\n\"}", 14 },
	};
	splice_record(&out, j, p, n, f, 3);
	reparses();
	FUZZ_CHECK(json_member(again, 0, "scores", 6) >= 0 && json_member(again, 0, "error", 5) < 0);
}

static void fuzz_one(const char *p, size_t n)
{
	for (const char *line = p, *end; line <= p + n; line = end + 1) {
		end = memchr(line, '\n', (size_t)(p + n - line));
		if (!end)
			end = p + n;
		size_t len = (size_t)(end - line);
		if (len && line[len - 1] == '\r')
			len--;
		/* A line the reader gets is NUL-terminated; the case itself is, past n. */
		char *copy = xstrndup(line, len);
		one_line(copy, len);
		free(copy);
		if (end == p + n)
			break;
	}
}
