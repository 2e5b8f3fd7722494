/* qa-send: providers, endpoints and their breakers, and the keys that never leave the process. */

#include <ctype.h>

#include "qa-send.h"

/* ---- keys never leave the process ---- */

/*
 * Every secret qa-send was given: the key variables' values, the values
 * of credential-like --header lines, the userinfo of base URLs.  A server
 * may quote one back in any case (a key echoed lower-cased), so they are
 * found case-insensitively.
 */
char **keys;

size_t nkeys;

const char *find_nocase(const char *h, size_t hl, const char *n, size_t nl)
{
	if (nl == 0)
		return h;
	if (nl > hl)
		return NULL;
	/*
	 * The first letter found by memchr, in either case (a call per byte of
	 * every record was a profile's tenth at 0 ms; a loop per byte, a
	 * streamed record's longer line's).
	 */
	int lo = tolower((unsigned char)n[0]), up = toupper((unsigned char)n[0]);
	const char *end = h + (hl - nl) + 1;
	const char *a = memchr(h, lo, (size_t)(end - h)), *b = lo == up ? NULL : memchr(h, up, (size_t)(end - h));
	while (a || b) {
		const char *c = !b || (a && a < b) ? a : b;
		if (strncasecmp(c, n, nl) == 0)
			return c;
		if (c == a)
			a = memchr(c + 1, lo, (size_t)(end - c - 1));
		else
			b = memchr(c + 1, up, (size_t)(end - c - 1));
	}
	return NULL;
}

/* Replaces every key in b with [redacted]. */
void scrub(qa_buf *b)
{
	for (size_t k = 0; k < nkeys; k++) {
		size_t kl = strlen(keys[k]), from = 0;
		const char *hit;
		while (b->len > from && (hit = find_nocase(b->p + from, b->len - from, keys[k], kl))) {
			static const char red[] = "[redacted]";
			size_t at = (size_t)(hit - b->p), rl = sizeof red - 1;
			if (rl > kl)
				buf_grow(b, rl - kl);
			memmove(b->p + at + rl, b->p + at + kl, b->len - at - kl);
			memcpy(b->p + at, red, rl);
			b->len = b->len - kl + rl;
			from = at + rl;
		}
	}
}

void remember_key(const char *key)
{
	/* Too short to scrub without mangling text; such a key is no secret anyway. */
	if (strlen(key) < 8)
		return;
	for (size_t k = 0; k < nkeys; k++)
		if (strcasecmp(keys[k], key) == 0)
			return;
	keys = xreallocarray(keys, nkeys + 1, sizeof *keys);
	keys[nkeys++] = xstrdup(key);
}

/*
 * A --header line's value is a secret when the name says so
 * (Authorization, api-key, x-api-key, anything with key, token, secret,
 * auth or cookie in it) or when it looks like a key: 8 or more
 * characters of one word that mixes letters and digits.  Its last word
 * is remembered too, so "Bearer sk-..." is scrubbed without "Bearer".
 */
void remember_header(const char *line)
{
	const char *colon = strchr(line, ':');
	size_t nl = (size_t)(colon - line);
	const char *v = colon + 1;
	v += strspn(v, " \t");
	static const char *const names[] = { "key", "token", "secret", "auth", "cookie", "password", "signature" };
	int named = 0;
	for (size_t i = 0; i < sizeof names / sizeof *names && !named; i++)
		named = find_nocase(line, nl, names[i], strlen(names[i])) != NULL;
	size_t vl = strlen(v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	char *val = xstrndup(v, vl);
	const char *last = strrchr(val, ' ');
	last = last ? last + 1 : val;
	int alpha = 0, digit = 0;
	for (const char *p = last; *p; p++)
		alpha |= (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'), digit |= *p >= '0' && *p <= '9';
	if (named || (strlen(last) >= 8 && alpha && digit)) {
		remember_key(val);
		remember_key(last);
	}
	free(val);
}

/* "https://user:pass@host/v1": the userinfo, and the password alone. */
void remember_userinfo(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return;
	p += 3;
	size_t auth = strcspn(p, "/?#");
	const char *at = memrchr(p, '@', auth);
	if (!at)
		return;
	char *ui = xstrndup(p, (size_t)(at - p));
	remember_key(ui);
	char *colon = strchr(ui, ':');
	if (colon)
		remember_key(colon + 1);
	free(ui);
}

/* qa_die() for a message that may hold a secret (a URL's userinfo). */
QA_NORETURN void die_scrubbed(const char *msg)
{
	qa_buf b = { 0 };
	buf_adds(&b, msg);
	scrub(&b);
	qa_die(QA_EXIT_USAGE, "%s", buf_cstr(&b));
}

/* ---- providers ---- */

struct provider **provs;

size_t nprovs;

struct provider *provider_get(const char *name)
{
	for (size_t i = 0; i < nprovs; i++)
		if (strcmp(provs[i]->name, name) == 0)
			return provs[i];
	provs = xreallocarray(provs, nprovs + 1, sizeof *provs);
	struct provider *p = provs[nprovs++] = xcalloc(1, sizeof *p);
	p->name = xstrdup(name);
	char err[1024];
	if (plugin_load(name, QA_KIND_PROVIDER, &p->l, err, sizeof err) < 0) {
		p->err = xstrdup(err);
		return p;
	}
	const struct qa_provider_ops *pl = p->l.plugin->provider;
	if (pl->init) {
		qa_json *empty = json_new();
		const char *e;
		size_t off;
		json_parse(empty, "{}", 2, &e, &off);
		char *ierr = NULL;
		if (pl->init(empty, &p->state, &ierr) < 0) {
			snprintf(err, sizeof err, "%s: init failed: %s", p->l.path, ierr ? ierr : "no reason given");
			p->err = xstrdup(err);
			free(ierr);
			if (p->state && pl->fini)
				pl->fini(p->state);
			p->state = NULL;
		}
		host_reset();
		json_free(&empty);
	}
	return p;
}

/* ---- endpoints ---- */

struct endpoint **eps;

size_t neps;

struct endpoint *default_ep;

qa_config config;

int config_loaded;

int url_ok(const char *u)
{
	return strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0;
}

/*
 * Fills in an endpoint from its provider's defaults: base URL from its
 * variable or default, key from key_env or the provider's variable.
 * strict: a missing key variable or base URL is a configuration error
 * (the default endpoint); else it makes the endpoint unusable.
 */
struct endpoint *endpoint_make(const char *name, const char *provider, const char *base_url,
    const char *model, const char *key_env, long concurrency, long rpm)
{
	struct endpoint *e = xcalloc(1, sizeof *e);
	e->name = xstrdup(name);
	e->concurrency = concurrency;
	e->rpm = rpm;
	e->model = model && *model ? xstrdup(model) : NULL;
	eps = xreallocarray(eps, neps + 1, sizeof *eps);
	eps[neps++] = e;
	char why[1200];
	e->prov = provider_get(provider ? provider : "openai");
	if (e->prov->err) {
		e->why = xstrdup(e->prov->err);
		e->why_type = "bad_record";
		return e;
	}
	const struct qa_provider_ops *pl = e->prov->l.plugin->provider;
	if (pl->respond || pl->compute)
		return e;	/* in-process: no URL, no key */
	const char *env = pl->base_url_env ? getenv(pl->base_url_env) : NULL;
	const char *url = base_url && *base_url ? base_url : env && *env ? env : pl->base_url;
	if (!url) {
		snprintf(why, sizeof why, "endpoint '%s': no base URL (give --base-url or base_url)", name);
		e->why = xstrdup(why);
		e->why_type = "bad_record";
		return e;
	}
	e->base_url = xstrdup(url);
	remember_userinfo(url);
	if (!url_ok(url)) {
		snprintf(why, sizeof why, "endpoint '%s': base URL '%s' is not http:// or https://", name, url);
		e->why = xstrdup(why);
		e->why_type = "bad_record";
		return e;
	}
	if (pl->auth_header) {
		const char *var = key_env && *key_env ? key_env : pl->key_env;
		const char *key = var ? getenv(var) : NULL;
		if (key && *key) {
			size_t n = strlen(pl->auth_header) + strlen(key) + 1;
			e->auth = xmalloc(n);
			snprintf(e->auth, n, "%s%s", pl->auth_header, key);
			remember_key(key);
		} else if (key_env && *key_env) {
			snprintf(why, sizeof why, "endpoint '%s': %s is not set (its key_env)", name, key_env);
			e->why = xstrdup(why);
			e->why_type = "auth";
		} else if (var) {
			warn_scrubbed(NULL, 0, "endpoint '%s': %s is not set: its requests carry no key", name, var);
		}
	}
	return e;
}

void endpoint_free(struct endpoint *e)
{
	free(e->name);
	free(e->base_url);
	free(e->model);
	free(e->auth);
	free(e->why);
	free(e->chat_prompt);
	free(e->kl_base);
	pace_free(&e->pace);
	free(e);
}

/* The endpoint a record names: the default one, one made before, or one from the config. */
struct endpoint *endpoint_named(const char *name)
{
	for (size_t i = 0; i < neps; i++)
		if (strcmp(eps[i]->name, name) == 0)
			return eps[i];
	const qa_endpoint_conf *c = config_loaded ? config_endpoint(&config, name) : NULL;
	if (!c) {
		struct endpoint *e = xcalloc(1, sizeof *e);
		e->name = xstrdup(name);
		char why[1200];
		snprintf(why, sizeof why, "unknown endpoint '%s' (%s%s)", name,
		    config.path ? "not in " : "no endpoint config", config.path ? config.path : "");
		e->why = xstrdup(why);
		e->why_type = "bad_record";
		eps = xreallocarray(eps, neps + 1, sizeof *eps);
		eps[neps++] = e;
		return e;
	}
	struct endpoint *e = endpoint_make(name, c->provider, c->base_url, c->model, c->key_env,
	    c->concurrency, c->rpm);
	engine_settings(e, c->threads, c->kl_base);
	if (e->why)
		warn_scrubbed(config.path, c->line, "%s", e->why);
	return e;
}
