/* qa-cost: the usage the provider reported. */

#include "qa-cost.h"

/* ---- usage: what the provider reported ---- */

/*
 * A token count: 0 when absent or null, 1 with *out set, -1 with a message
 * in err when it is not a whole number of tokens, 0 or more.
 */
int count_of(qa_json *j, int t, const char *path, const char *key, double *out, qa_buf *err)
{
	*out = 0;
	if (t < 0 || json_type(j, t) == QA_NULL)
		return 0;
	size_t len;
	const char *raw = json_raw(j, t, &len);
	if (json_type(j, t) == QA_NUMBER && len <= 15) {
		/* The usual case, digits only, without strtod. */
		double v = 0;
		size_t i = 0;
		while (i < len && raw[i] >= '0' && raw[i] <= '9')
			v = v * 10 + (raw[i++] - '0');
		if (i == len) {
			*out = v;
			return 1;
		}
	}
	double v;
	if (json_type(j, t) != QA_NUMBER || json_num(j, t, &v) < 0) {
		buf_printf(err, "%s.%s is %.*s, not a token count", path, key, (int)(len > 40 ? 40 : len), raw);
		return -1;
	}
	if (!(v >= 0) || v != floor(v) || v > 9007199254740992.0) {
		buf_printf(err, "%s.%s is %.*s, not a token count (a whole number, 0 or more)", path, key,
		    (int)(len > 40 ? 40 : len), raw);
		return -1;
	}
	*out = v;
	return 1;
}

/* 0 read (u->style 0 when there is no usage), -1 with a message in err. */
int read_usage(qa_json *j, int usage, struct usage *u, qa_buf *err)
{
	enum { PT, CT, TT, PD, CD, IT, OT, CR, CW };
	static const char *const keys[] = { "prompt_tokens", "completion_tokens", "total_tokens",
		"prompt_tokens_details", "completion_tokens_details", "input_tokens", "output_tokens",
		"cache_read_input_tokens", "cache_creation_input_tokens" };
	static const size_t klen[] = { 13, 17, 12, 21, 25, 12, 13, 23, 27 };
	int m[9];
	const char *U = "response.usage";

	memset(u, 0, sizeof *u);
	if (usage < 0 || json_type(j, usage) == QA_NULL)
		return 0;
	if (json_type(j, usage) != QA_OBJECT) {
		buf_adds(err, "response.usage is not an object");
		return -1;
	}
	json_members(j, usage, keys, klen, 9, m);
	if (m[PT] >= 0 || m[CT] >= 0) {
		u->style = 1;
		if (count_of(j, m[PT], U, "prompt_tokens", &u->prompt, err) < 0 ||
		    count_of(j, m[CT], U, "completion_tokens", &u->completion, err) < 0)
			return -1;
		int t = count_of(j, m[TT], U, "total_tokens", &u->total, err);
		if (t < 0)
			return -1;
		u->has_total = t == 1;
		if (json_type(j, m[PD]) == QA_OBJECT &&
		    count_of(j, json_member(j, m[PD], "cached_tokens", 13), "response.usage.prompt_tokens_details",
		    "cached_tokens", &u->cached, err) < 0)
			return -1;
		if (json_type(j, m[CD]) == QA_OBJECT &&
		    count_of(j, json_member(j, m[CD], "reasoning_tokens", 16),
		    "response.usage.completion_tokens_details", "reasoning_tokens", &u->reasoning, err) < 0)
			return -1;
	} else if (m[IT] >= 0 || m[OT] >= 0) {
		u->style = 2;
		if (count_of(j, m[IT], U, "input_tokens", &u->input, err) < 0 ||
		    count_of(j, m[OT], U, "output_tokens", &u->output, err) < 0 ||
		    count_of(j, m[CR], U, "cache_read_input_tokens", &u->cache_read, err) < 0 ||
		    count_of(j, m[CW], U, "cache_creation_input_tokens", &u->cache_write, err) < 0)
			return -1;
	}
	return 0;
}
