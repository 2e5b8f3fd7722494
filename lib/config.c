/*
 * The endpoint config: INI (libinih), one [NAME] section per endpoint.
 *
 *	[cand]
 *	provider = openai
 *	base_url = https://relay.example/v1
 *	model = deepseek-v3.2
 *	key_env = RELAY_KEY
 *	input_per_mtok = 0.42
 *	output_per_mtok = 0.42
 *
 * Keys are never stored here, only the name of the variable holding one.
 */
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"

struct parse_state {
	qa_config *c;
	char *err;
	size_t errlen;
	const char *file;
	FILE *fp;
	int lineno;	/* Debian's inih hands the handler no line number: the reader counts */
	int failed;
};

static char *read_line(char *buf, int size, void *user)
{
	struct parse_state *ps = user;
	char *r = fgets(buf, size, ps->fp);
	if (r)
		ps->lineno++;
	return r;
}

static qa_endpoint_conf *section(qa_config *c, const char *name, unsigned long line)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->ep[i].name, name) == 0)
			return &c->ep[i];
	c->ep = xreallocarray(c->ep, c->n + 1, sizeof *c->ep);
	qa_endpoint_conf *e = &c->ep[c->n++];
	memset(e, 0, sizeof *e);
	e->name = xstrdup(name);
	e->input_per_mtok = e->output_per_mtok = NAN;
	e->cached_input_per_mtok = e->reasoning_per_mtok = NAN;
	e->line = line;
	return e;
}

static int on_value(void *user, const char *sect, const char *key, const char *value)
{
	struct parse_state *ps = user;
	int lineno = ps->lineno;
	if (ps->failed)
		return 0;
#define FAIL(...) do { int n_ = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->file, lineno); \
	snprintf(ps->err + n_, ps->errlen - (size_t)n_, __VA_ARGS__); ps->failed = 1; return 0; } while (0)
	if (!*sect)
		FAIL("'%s' is outside any [endpoint] section", key);
	qa_endpoint_conf *e = section(ps->c, sect, (unsigned long)lineno);
	char **str = NULL;
	double *price = NULL;
	long *limit = NULL;
	if (strcmp(key, "provider") == 0)
		str = &e->provider;
	else if (strcmp(key, "base_url") == 0)
		str = &e->base_url;
	else if (strcmp(key, "model") == 0)
		str = &e->model;
	else if (strcmp(key, "key_env") == 0)
		str = &e->key_env;
	else if (strcmp(key, "input_per_mtok") == 0)
		price = &e->input_per_mtok;
	else if (strcmp(key, "output_per_mtok") == 0)
		price = &e->output_per_mtok;
	else if (strcmp(key, "cached_input_per_mtok") == 0)
		price = &e->cached_input_per_mtok;
	else if (strcmp(key, "reasoning_per_mtok") == 0)
		price = &e->reasoning_per_mtok;
	else if (strcmp(key, "concurrency") == 0)
		limit = &e->concurrency;
	else if (strcmp(key, "rpm") == 0)
		limit = &e->rpm;
	else if (strcmp(key, "stream") == 0) {
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
			FAIL("[%s]: stream must be true or false, not '%s'", sect, value);
		e->stream = strcmp(value, "true") == 0;
	} else if (strcmp(key, "kl_base") == 0)
		str = &e->kl_base;
	else if (strcmp(key, "threads") == 0)
		limit = &e->threads;
	else if (strcmp(key, "tpm") == 0)
		limit = &e->tpm;
	else
		FAIL("[%s]: unknown key '%s'", sect, key);
	if (str) {
		free(*str);
		*str = xstrdup(value);
	} else if (price && parse_double(value, 0, 1e9, price) < 0) {
		FAIL("[%s]: %s must be a price per million tokens, not '%s'", sect, key, value);
	} else if (limit == &e->tpm && parse_long(value, 1, 1000000000, limit) < 0) {
		FAIL("[%s]: tpm must be a whole number from 1 to 1000000000, not '%s'", sect, value);
	} else if (limit && limit != &e->tpm && parse_long(value, 1, 1000000, limit) < 0) {
		FAIL("[%s]: %s must be a whole number from 1 to 1000000, not '%s'", sect, key, value);
	}
	return 1;
#undef FAIL
}

static int read_file(qa_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct parse_state ps = { c, err, errlen, path, f, 0, 0 };
	c->path = xstrdup(path);
	/* inih reports the first line it could not parse; on_value reports what it could not accept. */
	int line = ini_parse_stream(read_line, &ps, on_value, &ps);
	fclose(f);
	if (ps.failed)
		return -1;
	if (line != 0) {
		snprintf(err, errlen, "%s:%d: not INI: expected [section] or key = value", path, line);
		return -1;
	}
	return 0;
}

int config_load(qa_config *c, const char *path, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	if (path)
		return read_file(c, path, err, errlen);
	const char *env = getenv("QA_CONFIG");
	if (env && *env)
		return read_file(c, env, err, errlen);
	const char *home = getenv("HOME");
	if (!home || !*home)
		return 1;
	char def[4096];
	snprintf(def, sizeof def, "%s/.config/qa/endpoints.conf", home);
	FILE *f = fopen(def, "r");
	if (!f)
		return 1;
	fclose(f);
	return read_file(c, def, err, errlen);
}

const qa_endpoint_conf *config_endpoint(const qa_config *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->ep[i].name, name) == 0)
			return &c->ep[i];
	return NULL;
}

void config_free(qa_config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		qa_endpoint_conf *e = &c->ep[i];
		free(e->name);
		free(e->provider);
		free(e->base_url);
		free(e->model);
		free(e->key_env);
		free(e->kl_base);
	}
	free(c->ep);
	free(c->path);
	memset(c, 0, sizeof *c);
}
