/*
 * The plugin host: the function table plugins call, and the loader.
 *
 * Everything a host function returns lives in qa_host_arena (or in the
 * document's own arena) until the tool calls host_reset() after the
 * record, which is the "borrowed until the call returns" of plugin.h.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qa.h"

#ifndef QA_PLUGINDIR
#define QA_PLUGINDIR "/usr/local/lib/qa/plugins"
#endif

qa_arena *qa_host_arena;

/* Documents made by host->parse, reused from record to record. */
static qa_json **parsed;
static size_t nparsed, capparsed;

void host_reset(void)
{
	arena_reset(qa_host_arena);
	nparsed = 0;
}

static void *h_alloc(size_t n)
{
	return xmalloc(n);
}

static void h_free(void *p)
{
	free(p);
}

static char *h_format(const char *fmt, ...)
{
	va_list ap;
	char few[256];	/* most texts fit: formatted once, not measured then formatted */
	va_start(ap, fmt);
	int n = vsnprintf(few, sizeof few, fmt, ap);
	va_end(ap);
	char *s = xmalloc(n > 0 ? (size_t)n + 1 : 1);
	if (n >= 0 && (size_t)n < sizeof few) {
		memcpy(s, few, (size_t)n + 1);
		return s;
	}
	va_start(ap, fmt);
	vsnprintf(s, n > 0 ? (size_t)n + 1 : 1, fmt, ap);
	va_end(ap);
	return s;
}

static void h_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	qa_warn_at(NULL, 0, "%s", msg);
}

static enum qa_type h_type(const qa_json *doc, const char *path)
{
	return doc ? json_type(doc, json_find(doc, json_root(doc), path)) : QA_ABSENT;
}

static const char *h_string(const qa_json *doc, const char *path, size_t *len)
{
	size_t n;
	const char *s = doc ? json_str(doc, json_find(doc, json_root(doc), path), &n) : NULL;
	if (s && len)
		*len = n;
	return s;
}

static int h_number(const qa_json *doc, const char *path, double *out)
{
	return doc ? json_num(doc, json_find(doc, json_root(doc), path), out) : -1;
}

static int h_boolean(const qa_json *doc, const char *path)
{
	switch (h_type(doc, path)) {
	case QA_TRUE: return 1;
	case QA_FALSE: return 0;
	default: return -1;
	}
}

static size_t h_count(const qa_json *doc, const char *path)
{
	return doc ? json_count(doc, json_find(doc, json_root(doc), path)) : 0;
}

static const char *h_key(const qa_json *doc, const char *path, size_t i)
{
	if (!doc)
		return NULL;
	int k = json_key_at(doc, json_find(doc, json_root(doc), path), i);
	return k < 0 ? NULL : json_str(doc, k, NULL);
}

static const char *h_raw(const qa_json *doc, const char *path, size_t *len)
{
	size_t n;
	const char *s = doc ? json_raw(doc, json_find(doc, json_root(doc), path), &n) : NULL;
	if (s && len)
		*len = n;
	return s;
}

static const qa_json *h_parse(const char *text, size_t len, const char **err)
{
	if (nparsed == capparsed) {
		capparsed = capparsed ? capparsed * 2 : 4;
		parsed = xreallocarray(parsed, capparsed, sizeof *parsed);
		for (size_t i = nparsed; i < capparsed; i++)
			parsed[i] = NULL;
	}
	if (!parsed[nparsed])
		parsed[nparsed] = json_new();
	qa_json *j = parsed[nparsed];
	/* The text must outlive the document, so it is copied into the arena. */
	char *copy = arena_strndup(qa_host_arena, text, len);
	size_t off;
	const char *e;
	if (json_parse(j, copy, len, &e, &off) < 0) {
		if (err)
			*err = e;
		return NULL;
	}
	nparsed++;
	return j;
}

static const char *to_arena(qa_buf *b, size_t *out_len)
{
	char *s = arena_strndup(qa_host_arena, b->p ? b->p : "", b->len);
	if (out_len)
		*out_len = b->len;
	buf_free(b);
	return s;
}

static const char *h_quote(const char *s, size_t len)
{
	qa_buf b = { 0 };
	buf_json_string(&b, s, len);
	return to_arena(&b, NULL);
}

static const char *h_lower(const char *s, size_t len, size_t *out_len)
{
	qa_buf b = { 0 };
	text_lower(&b, s, len);
	return to_arena(&b, out_len);
}

static const char *h_nfkc(const char *s, size_t len, size_t *out_len)
{
	qa_buf b = { 0 };
	text_nfkc(&b, s, len);
	return to_arena(&b, out_len);
}

static const char *h_strip(const char *s, size_t len, size_t *out_len)
{
	size_t start, n;
	text_strip(s, len, &start, &n);
	*out_len = n;
	return arena_strndup(qa_host_arena, s + start, n);
}

static const char *h_word(const char *s, size_t len, size_t *pos, size_t *wlen)
{
	return text_word(s, len, pos, wlen);
}

static qa_regex *h_regex_new(const char *pattern, const char **err)
{
	static char msg[256];
	qa_regex *re = regex_new(pattern, msg, sizeof msg);
	if (!re && err)
		*err = msg;
	return re;
}

static const char *h_regex_sub(const qa_regex *re, const char *s, size_t len, const char *repl,
    size_t repl_len, size_t *out_len)
{
	qa_buf b = { 0 };
	regex_sub(re, &b, s, len, repl, repl_len);
	return to_arena(&b, out_len);
}

static qa_norm *h_norm_new(const qa_json *options, const char *const *own_keys, const char **err)
{
	static char msg[512];
	qa_norm *n = norm_new(options, own_keys, msg, sizeof msg);
	if (!n && err)
		*err = msg;
	return n;
}

static const char *h_norm_apply(const qa_norm *n, const char *s, size_t len, size_t *out_len)
{
	static qa_buf b;
	b.len = 0;
	norm_apply(n, &b, s, len);
	*out_len = b.len;
	return arena_strndup(qa_host_arena, b.p ? b.p : "", b.len);
}

static const char *h_regex_pick(const qa_regex *re, const char *s, size_t len, long select, size_t *out_len)
{
	size_t start, n;
	if (!regex_pick(re, s, len, select, &start, &n))
		return NULL;
	*out_len = n;
	return arena_strndup(qa_host_arena, s + start, n);
}

/* struct qa_text has qa_buf's layout, but is its own type: copy in and out, never cast. */
static void h_text_add(struct qa_text *t, const char *s, size_t len)
{
	qa_buf b = { t->p, t->len, t->cap };
	buf_add(&b, s, len);
	buf_cstr(&b);
	t->p = b.p, t->len = b.len, t->cap = b.cap;
}

static void h_text_printf(struct qa_text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[256];
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		h_text_add(t, small, (size_t)n);
		return;
	}
	char *big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	h_text_add(t, big, (size_t)n);
	free(big);
}

static void h_text_json(struct qa_text *t, const char *s, size_t len)
{
	qa_buf b = { t->p, t->len, t->cap };
	buf_json_string(&b, s, len);
	buf_cstr(&b);
	t->p = b.p, t->len = b.len, t->cap = b.cap;
}

/* A value's JSON text goes into records: re-escaped, never byte for byte (buf_json_clean). */
static char *h_copy_len(const qa_json *doc, const char *path, enum qa_type want, size_t *len)
{
	enum qa_type t = h_type(doc, path);
	if (t == QA_ABSENT || (want != QA_ABSENT && t != want))
		return NULL;
	size_t n;
	if (t == QA_STRING) {
		const char *s = h_string(doc, path, &n);
		char *d = xmalloc(n + 1);
		memcpy(d, s, n);
		d[n] = '\0';
		if (len)
			*len = n;
		return d;
	}
	const char *s = h_raw(doc, path, &n);
	qa_buf b = { 0 };
	buf_json_clean(&b, s, n);
	if (len)
		*len = b.len;
	return (char *)buf_cstr(&b);
}

static char *h_copy(const qa_json *doc, const char *path, enum qa_type want)
{
	return h_copy_len(doc, path, want, NULL);
}

static char *h_clean(const char *text, size_t len)
{
	const char *err;
	if (!h_parse(text, len, &err))
		return NULL;
	qa_buf b = { 0 };
	buf_json_clean(&b, text, len);
	return (char *)buf_cstr(&b);
}

/* "22s", "1.5s", "500ms", "2m": a Google duration, in milliseconds; 0 when unreadable. */
static double duration_ms(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return 0;
	if (strcmp(end, "ms") == 0)
		return v;
	if (strcmp(end, "s") == 0 || *end == '\0')
		return v * 1000;
	if (strcmp(end, "m") == 0)
		return v * 60000;
	return 0;
}

static int is_quota(const char *s)
{
	return s && (strcmp(s, "insufficient_quota") == 0 || strcmp(s, "billing_hard_limit_reached") == 0 ||
	    strcmp(s, "enforced_spend_limit_reached") == 0 || strcmp(s, "billing_error") == 0);
}

/*
 * Anthropic says a spent balance or a reached spend limit only in the
 * message of a 400 invalid_request_error: "Your credit balance is too low
 * to access the Anthropic API...", "You have reached your specified API
 * usage limits. You will regain access on 2026-04-01 at 00:00 UTC."  Its
 * 403 permission_error is a key's access (auth), its 429 rate_limit_error
 * a rate.
 */
static int is_quota_message(const char *type, const char *msg)
{
	return type && msg && strcmp(type, "invalid_request_error") == 0 &&
	    (strstr(msg, "credit balance is too low") || strstr(msg, "reached your specified API usage limits"));
}

/* plugin.h says which bodies; FACTS.md says where each provider puts what. */
static void h_error_body(long status, const char *body, size_t len, struct qa_reply *out)
{
	const qa_json *d = len ? h_parse(body, len, NULL) : NULL;
	const char *e = "error";
	if (h_type(d, "") == QA_ARRAY && h_type(d, "[0].error") == QA_OBJECT)
		e = "[0].error";
	char path[64];
#define AT(sub) (snprintf(path, sizeof path, "%s%s", e, sub), path)
	if (h_type(d, e) == QA_OBJECT) {
		out->error = h_copy(d, AT(".message"), QA_STRING);
		if (is_quota(h_string(d, AT(".type"), NULL)) || is_quota(h_string(d, AT(".code"), NULL)) ||
		    is_quota(h_string(d, AT(".details.error_code"), NULL)) ||
		    is_quota_message(h_string(d, AT(".type"), NULL), out->error))
			out->error_type = "quota";
		size_t nd = h_count(d, AT(".details"));
		for (size_t i = 0; i < nd; i++) {
			char p2[96];
			snprintf(p2, sizeof p2, "%s.details[%zu].retryDelay", e, i);
			const char *delay = h_string(d, p2, NULL);
			if (delay)
				out->retry_after_ms = duration_ms(delay);
		}
	} else {
		static const char *const flat[] = { "error", "message", "detail" };
		for (size_t i = 0; i < sizeof flat / sizeof *flat && !out->error; i++)
			out->error = h_copy(d, flat[i], QA_STRING);
	}
#undef AT
	if (!out->error) {
		/* Not a body we know: its first line, when it is short text (a proxy's page). */
		size_t n = 0;
		while (n < len && n < 200 && body[n] != '\n' && body[n] != '\r')
			n++;
		out->error = n ? h_format("HTTP %ld: %.*s", status, (int)n, body) : h_format("HTTP %ld", status);
	}
}

const struct qa_host qa_host_table = {
	.abi = QA_ABI_VERSION,
	.size = sizeof(struct qa_host),
	.alloc = h_alloc,
	.free = h_free,
	.format = h_format,
	.log = h_log,
	.type = h_type,
	.string = h_string,
	.number = h_number,
	.boolean = h_boolean,
	.count = h_count,
	.key = h_key,
	.raw = h_raw,
	.parse = h_parse,
	.quote = h_quote,
	.lower = h_lower,
	.nfkc = h_nfkc,
	.strip = h_strip,
	.word = h_word,
	.regex_new = h_regex_new,
	.regex_free = regex_free,
	.regex_sub = h_regex_sub,
	.regex_pick = h_regex_pick,
	.norm_new = h_norm_new,
	.norm_free = norm_free,
	.norm_apply = h_norm_apply,
	.text_add = h_text_add,
	.text_printf = h_text_printf,
	.text_json = h_text_json,
	.copy = h_copy,
	.error_body = h_error_body,
	.copy_len = h_copy_len,
	.clean = h_clean,
	.hash64 = hash64,
};

void host_init(void)
{
	if (!qa_host_arena)
		qa_host_arena = arena_new();
}

void host_fini(void)
{
	for (size_t i = 0; i < capparsed; i++)
		json_free(&parsed[i]);
	xfree(&parsed);
	nparsed = capparsed = 0;
	arena_free(&qa_host_arena);
}

/* ---- the search path ---- */

static char *search_path;

/* $QA_PLUGIN_PATH, the install directory, then the build tree beside the executable. */
const char *plugin_path(void)
{
	if (search_path)
		return search_path;
	qa_buf b = { 0 };
	const char *env = getenv("QA_PLUGIN_PATH");
	if (env && *env) {
		buf_adds(&b, env);
		buf_addc(&b, ':');
	}
	buf_adds(&b, QA_PLUGINDIR);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			buf_printf(&b, ":%s/../lib/qa/plugins", exe);
		}
	}
	search_path = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return search_path;
}

/* Names choose files, and records choose names: keep them to one path component. */
static int name_ok(const char *name)
{
	if (!*name || *name == '.')
		return 0;
	for (const char *p = name; *p; p++)
		if (!(*p == '_' || *p == '-' || *p == '.' || (*p >= '0' && *p <= '9') ||
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return 0;
	return 1;
}

static const char *kind_name(uint32_t kind)
{
	return kind == QA_KIND_SCORER ? "scorer" : kind == QA_KIND_PROVIDER ? "provider" : "plugin";
}

/* The smallest struct a plugin of this kind may have been built with: up to its kind's ops. */
static size_t min_size(uint32_t kind)
{
	if (kind == QA_KIND_PROVIDER)
		return offsetof(struct qa_plugin, provider) + sizeof(((struct qa_plugin *)0)->provider);
	return offsetof(struct qa_plugin, scorer) + sizeof(((struct qa_plugin *)0)->scorer);
}

/* The smallest ops struct of ABI 2: up to respond() for a provider, corpus() for a scorer. */
#define OPS_MIN(type, last) (offsetof(struct type, last) + sizeof(((struct type *)0)->last))

static int open_file(const char *path, const char *name, uint32_t kind, qa_loaded *out,
    char *err, size_t errlen)
{
	dlerror();
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(err, errlen, "%s", e ? e : path);
		return -1;
	}
	qa_plugin_entry_fn *entry = (qa_plugin_entry_fn *)dlsym(h, QA_PLUGIN_ENTRY);
	if (!entry) {
		snprintf(err, errlen, "%s: no %s symbol: not a qa plugin", path, QA_PLUGIN_ENTRY);
		dlclose(h);
		return -1;
	}
	const struct qa_plugin *p = entry(&qa_host_table, name);
	if (!p) {
		snprintf(err, errlen, "%s: serves no plugin named '%s'", path, name);
		dlclose(h);
		return -1;
	}
	if (p->abi != QA_ABI_VERSION || p->size < min_size(p->kind)) {
		snprintf(err, errlen, "%s: is not binary compatible (ABI %u, size %u; this qa has ABI %d)",
		    path, p->abi, p->size, QA_ABI_VERSION);
		dlclose(h);
		return -1;
	}
	if (kind && p->kind != kind) {
		snprintf(err, errlen, "%s: is a %s, not a %s", path, kind_name(p->kind), kind_name(kind));
		dlclose(h);
		return -1;
	}
	if ((p->kind == QA_KIND_SCORER && p->scorer && p->scorer->size < OPS_MIN(qa_scorer_ops, corpus)) ||
	    (p->kind == QA_KIND_PROVIDER && p->provider &&
	    p->provider->size < OPS_MIN(qa_provider_ops, respond))) {
		snprintf(err, errlen, "%s: is not binary compatible (its ops struct has size %u; this qa has ABI %d)",
		    path, p->kind == QA_KIND_SCORER ? p->scorer->size : p->provider->size, QA_ABI_VERSION);
		dlclose(h);
		return -1;
	}
	if (kind == QA_KIND_SCORER && (!p->scorer || !p->scorer->score)) {
		snprintf(err, errlen, "%s: scorer has no score function", path);
		dlclose(h);
		return -1;
	}
	if (kind == QA_KIND_PROVIDER && (!p->provider || !p->provider->build || !p->provider->parse)) {
		snprintf(err, errlen, "%s: provider has no %s function", path,
		    p->provider && p->provider->build ? "parse" : "build");
		dlclose(h);
		return -1;
	}
	out->plugin = p;
	out->path = xstrdup(path);
	out->handle = h;
	return 0;
}

int plugin_load(const char *name, uint32_t kind, qa_loaded *out, char *err, size_t errlen)
{
	if (!name_ok(name)) {
		snprintf(err, errlen, "'%s' is not a plugin name", name);
		return -1;
	}
	char *dirs = xstrdup(plugin_path()), *save = NULL;
	int rc = 1;
	for (char *d = strtok_r(dirs, ":", &save); d && rc > 0; d = strtok_r(NULL, ":", &save)) {
		if (!*d)
			continue;	/* an empty element would mean ".", which is never searched */
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s.so", d, name);
		if (access(path, F_OK) != 0)
			continue;
		rc = open_file(path, name, kind, out, err, errlen);
	}
	free(dirs);
	if (rc > 0)
		snprintf(err, errlen, "no %s named '%s' (searched %s)", kind_name(kind), name, plugin_path());
	return rc ? -1 : 0;
}

void plugin_unload(qa_loaded *p)
{
	if (p->handle)
		dlclose(p->handle);
	xfree(&p->path);
	p->handle = NULL;
	p->plugin = NULL;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void plugin_each(uint32_t kind, void (*fn)(const qa_loaded *p, const char *path, const char *err,
    void *arg), void *arg)
{
	char *dirs = xstrdup(plugin_path()), *save = NULL;
	char **seen = NULL;
	size_t nseen = 0;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		DIR *dir = *d ? opendir(d) : NULL;
		if (!dir)
			continue;
		char **names = NULL;
		size_t n = 0;
		for (struct dirent *e; (e = readdir(dir));) {
			size_t len = strlen(e->d_name);
			if (len > 3 && strcmp(e->d_name + len - 3, ".so") == 0) {
				names = xreallocarray(names, n + 1, sizeof *names);
				names[n++] = xstrndup(e->d_name, len - 3);
			}
		}
		closedir(dir);
		qsort(names, n, sizeof *names, by_name);
		for (size_t i = 0; i < n; i++) {
			/* The first directory that has a name hides it in the later ones. */
			int shadowed = 0;
			for (size_t s = 0; s < nseen && !shadowed; s++)
				shadowed = strcmp(seen[s], names[i]) == 0;
			qa_loaded p = { 0 };
			char err[512];
			if (!shadowed && name_ok(names[i])) {
				char path[PATH_MAX];
				snprintf(path, sizeof path, "%s/%s.so", d, names[i]);
				if (open_file(path, names[i], kind, &p, err, sizeof err) == 0) {
					fn(&p, path, NULL, arg);
					plugin_unload(&p);
				} else if (!kind) {
					fn(NULL, path, err, arg);
				}
			}
			seen = xreallocarray(seen, nseen + 1, sizeof *seen);
			seen[nseen++] = names[i];
		}
		free(names);
	}
	for (size_t s = 0; s < nseen; s++)
		free(seen[s]);
	free(seen);
	free(dirs);
}
