/* qa-score: scorer plugins, loaded once per name, and their instances, made once per distinct options. */
#include "qa-score.h"

static struct plug **plugs;	/* pointers: instances keep them across reallocs */
static size_t nplugs;
static struct inst **insts;
static size_t ninsts;

static struct plug *plug_get(const char *name)
{
	for (size_t i = 0; i < nplugs; i++)
		if (strcmp(plugs[i]->name, name) == 0)
			return plugs[i];
	plugs = xreallocarray(plugs, nplugs + 1, sizeof *plugs);
	struct plug *p = plugs[nplugs++] = xcalloc(1, sizeof *p);
	p->name = xstrdup(name);
	char err[1024];
	if (plugin_load(name, QA_KIND_SCORER, &p->loaded, err, sizeof err) < 0)
		p->err = xstrdup(err);
	return p;
}

/*
 * A metric given as a JSON object: its "name" picks the plugin, "as"
 * renames the score, and the other members are the plugin's options.
 */
static struct inst *inst_make(const char *spec, const qa_json *obj)
{
	struct inst *in = xcalloc(1, sizeof *in);
	in->spec = xstrdup(spec);
	int name = json_member(obj, 0, "name", 4);
	size_t n;
	const char *s = json_str(obj, name, &n);
	if (!s || !n || memchr(s, '\0', n)) {
		in->err = xstrdup("metric has no \"name\"");
		return in;
	}
	in->plug = plug_get(s);
	const char *as = json_str(obj, json_member(obj, 0, "as", 2), NULL);
	in->key = xstrdup(as && *as ? as : s);
	if (in->plug->err) {
		in->err = xstrdup(in->plug->err);
		return in;
	}

	qa_buf opts = { 0 };
	buf_addc(&opts, '{');
	for (size_t i = 0, first = 1; i < json_count(obj, 0); i++) {
		int k = json_key_at(obj, 0, i);
		if (json_str_eq(obj, k, "name", 4) || json_str_eq(obj, k, "as", 2))
			continue;
		size_t kl, vl;
		const char *kr = json_raw(obj, k, &kl), *vr = json_raw(obj, k + 1, &vl);
		if (!first)
			buf_addc(&opts, ',');
		buf_add(&opts, kr, kl);
		buf_addc(&opts, ':');
		buf_add(&opts, vr, vl);
		first = 0;
	}
	buf_addc(&opts, '}');
	qa_json *oj = json_new();
	const char *perr;
	size_t off;
	json_parse(oj, opts.p, opts.len, &perr, &off);	/* valid: built from valid parts */

	const struct qa_scorer_ops *p = in->plug->loaded.plugin->scorer;
	char *ierr = NULL;
	if (p->init && p->init(oj, &in->state, &ierr) < 0) {
		/* Name the file: the same name may come from several directories. */
		qa_buf m = { 0 };
		buf_printf(&m, "%s (%s)", ierr ? ierr : "init failed", in->plug->loaded.path);
		in->err = xstrdup(buf_cstr(&m));
		buf_free(&m);
		free(ierr);
		if (in->state && p->fini)
			p->fini(in->state);	/* what a failed init built, it still owns */
		in->state = NULL;
	}
	host_reset();
	json_free(&oj);
	buf_free(&opts);
	return in;
}

/* The instance for a metric written as JSON text (a name string, or an object). */
struct inst *inst_get(const char *spec, size_t len)
{
	for (size_t i = 0; i < ninsts; i++)
		if (strlen(insts[i]->spec) == len && memcmp(insts[i]->spec, spec, len) == 0)
			return insts[i];
	char *text = xstrndup(spec, len);
	qa_json *j = json_new();
	const char *err;
	size_t off;
	struct inst *in;
	if (json_parse(j, text, len, &err, &off) < 0) {
		in = xcalloc(1, sizeof *in);
		in->spec = xstrdup(text);
		in->err = xstrdup("metric is not valid JSON");
	} else if (json_type(j, 0) == QA_STRING) {
		qa_buf obj = { 0 };
		buf_adds(&obj, "{\"name\":");
		buf_add(&obj, text, len);
		buf_addc(&obj, '}');
		qa_json *oj = json_new();
		json_parse(oj, obj.p, obj.len, &err, &off);
		in = inst_make(text, oj);
		json_free(&oj);
		buf_free(&obj);
	} else if (json_type(j, 0) == QA_OBJECT) {
		in = inst_make(text, j);
	} else {
		in = xcalloc(1, sizeof *in);
		in->spec = xstrdup(text);
		in->err = xstrdup("a metric is a name or an object with a \"name\"");
	}
	json_free(&j);
	free(text);
	insts = xreallocarray(insts, ninsts + 1, sizeof *insts);
	insts[ninsts++] = in;
	return in;
}

static int is_number(const char *s)
{
	qa_json *j = json_new();
	const char *err;
	size_t off;
	int ok = json_parse(j, s, strlen(s), &err, &off) == 0 && json_type(j, 0) == QA_NUMBER;
	json_free(&j);
	return ok;
}

/* --metric NAME[:key=value,...] or a JSON object, as JSON text. */
void spec_to_json(const char *arg, qa_buf *out)
{
	if (arg[0] == '{') {
		buf_adds(out, arg);
		return;
	}
	const char *colon = strchr(arg, ':');
	size_t nlen = colon ? (size_t)(colon - arg) : strlen(arg);
	if (!colon) {
		buf_json_string(out, arg, nlen);
		return;
	}
	buf_adds(out, "{\"name\":");
	buf_json_string(out, arg, nlen);
	char *opts = xstrdup(colon + 1), *save = NULL;
	for (char *kv = strtok_r(opts, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			qa_die(QA_EXIT_USAGE, "--metric %s: '%s' is not key=value (use a JSON object for lists)",
			    arg, kv);
		*eq = '\0';
		const char *v = eq + 1;
		buf_addc(out, ',');
		buf_json_string(out, kv, strlen(kv));
		buf_addc(out, ':');
		if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0 || is_number(v))
			buf_adds(out, v);
		else
			buf_json_string(out, v, strlen(v));
	}
	free(opts);
	buf_addc(out, '}');
}

/* Every instance and plugin back (their fini, then the unload). */
void metrics_free(void)
{
	for (size_t i = 0; i < ninsts; i++) {
		struct inst *in = insts[i];
		if (!in->err && in->state && in->plug->loaded.plugin->scorer->fini)
			in->plug->loaded.plugin->scorer->fini(in->state);
		free(in->spec);
		free(in->key);
		free(in->err);
		free(in);
	}
	free(insts);
	for (size_t i = 0; i < nplugs; i++) {
		if (!plugs[i]->err)
			plugin_unload(&plugs[i]->loaded);
		free(plugs[i]->name);
		free(plugs[i]->err);
		free(plugs[i]);
	}
	free(plugs);
}
