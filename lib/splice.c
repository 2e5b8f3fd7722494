/*
 * The splice writer.  A tool owns a few top-level fields; it rewrites
 * those and copies every other byte of the record through, so key order,
 * number spelling, spacing and fields we have never heard of all survive.
 */
#include <string.h>

#include "qa.h"

/* The field this key names, or NULL. */
static const qa_field *owned(const qa_json *j, int key, const qa_field *fields, const size_t *keylen,
    size_t n)
{
	size_t len;
	const char *k = json_key(j, key, &len);
	for (size_t f = 0; f < n; f++)
		if (len == keylen[f] && memcmp(k, fields[f].key, len) == 0)
			return &fields[f];
	return NULL;
}

void splice_record(qa_buf *out, const qa_json *j, const char *text, size_t len,
    const qa_field *fields, size_t nfields)
{
	size_t members = json_count(j, 0);
	size_t pos = json_start(j, 0) + 1;	/* just past '{' */
	int emitted = 0;
	unsigned long present = 0;	/* bit f: fields[f] was found in the record */
	size_t keylen[64];

	for (size_t f = 0; f < nfields && f < 64; f++)
		keylen[f] = strlen(fields[f].key);
	if (nfields > 64)
		nfields = 64;
	/* text[from, pos) is still owed to out: runs of members we keep go out in one copy. */
	size_t from = 0;
	for (int k = 1, i = 0; i < (int)members; i++, k = json_next(j, k + 1)) {
		int v = k + 1;
		const qa_field *f = owned(j, k, fields, keylen, nfields);
		/* A key repeated in the record is rewritten where it last appears only. */
		if (f && json_member(j, 0, f->key, keylen[f - fields]) != v)
			f = NULL;
		if (f)
			present |= 1ul << (f - fields);
		if (f && !f->value) {
			buf_add(out, text + from, pos - from);
			from = pos = json_end(j, v);	/* dropped with the gap (and comma) before it */
			continue;
		}
		/* The gap before a member holds its comma; the first member we write has none. */
		if (!emitted && i > 0)
			from = json_start(j, k);
		if (f) {
			buf_add(out, text + from, json_start(j, v) - from);
			buf_add(out, f->value, f->len);
			from = json_end(j, v);
		}
		pos = json_end(j, v);
		emitted = 1;
	}
	buf_add(out, text + from, pos - from);
	for (size_t f = 0; f < nfields; f++) {
		if (!fields[f].value || (present & (1ul << f)))
			continue;
		if (emitted)
			buf_addc(out, ',');
		buf_json_string(out, fields[f].key, keylen[f]);
		buf_addc(out, ':');
		buf_add(out, fields[f].value, fields[f].len);
		emitted = 1;
	}
	/* Whatever followed the last member: spacing, the brace, trailing blanks. */
	buf_add(out, text + pos, len - pos);
}
