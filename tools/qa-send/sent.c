/*
 * qa-send: response.sent, what a request was made with, so that qa-diff
 * can tell whether two runs asked the same thing (its comparability check).
 * It is read from the record, not from the request body, so that the same
 * question put to two providers (chat and completions bodies differ) reads
 * the same: the parameters after --param's defaults, a hash of the prompt
 * or messages, and a hash of the system prompt of its own, so that a
 * changed system prompt is named as such.
 */

#include "qa-send.h"

static void hash_field(qa_buf *b, const char *name, const char *s, size_t n)
{
	buf_printf(b, ",\"%s\":\"%016llx\"", name,
	    (unsigned long long)hash_fmix64(hash_fnv1a(HASH_FNV_BASIS, s, n)));
}

/* Appends ,"sent":{...} to the response object being written in b. */
void sent_add(qa_buf *b, const struct task *t)
{
	const qa_json *j = t->j, *p = t->pj;
	size_t n;
	const char *raw;

	if (t->win)
		return;	/* --context scores a text; it asks no question */
	buf_adds(b, ",\"sent\":{\"params\":");
	raw = p ? json_raw(p, 0, &n) : NULL;
	if (raw)
		buf_add(b, raw, n);
	else
		buf_adds(b, "{}");
	int m = json_member(j, 0, "messages", 8), sys = -1;
	if (json_type(j, m) == QA_ARRAY) {
		raw = json_raw(j, m, &n);
		hash_field(b, "prompt_hash", raw, n);
		for (size_t i = 0; i < json_count(j, m) && sys < 0; i++) {
			int msg = json_index(j, m, i);
			if (json_str_eq(j, json_member(j, msg, "role", 4), "system", 6))
				sys = json_member(j, msg, "content", 7);
		}
	} else if ((raw = json_raw(j, json_member(j, 0, "prompt", 6), &n))) {
		hash_field(b, "prompt_hash", raw, n);
	}
	if (sys < 0)
		sys = json_member(j, 0, "system", 6);
	if ((raw = json_raw(j, sys, &n)))
		hash_field(b, "system_hash", raw, n);
	buf_addc(b, '}');
}
