/*
 * The command line, from one table per tool (curl's tool_getparam.c keeps
 * its options the same way): getopt_long's table and short-option string,
 * --help and the range checks all come from the rows, so a new option is
 * one row and they cannot disagree.
 */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"

/*
 * What getopt_long is handed, and how often each row was used: file scope,
 * so that what a usage error exits with is still reachable (LeakSanitizer).
 */
static struct option *longopts;
static char *shortopts;
static int *uses;

static const char *help_lines(const char *s, int col, FILE *fp)
{
	const char *nl;
	while ((nl = strchr(s, '\n'))) {
		fprintf(fp, "%.*s\n%*s", (int)(nl - s), s, col, "");
		s = nl + 1;
	}
	return s;
}

static void help_row(const struct qa_opt *o, int col, FILE *fp)
{
	int n;
	if (o->flag)
		n = fprintf(fp, "  -%c, --%s", o->flag, o->name);
	else
		n = fprintf(fp, "      --%s", o->name);
	if (o->metavar)
		n += fprintf(fp, " %s", o->metavar);
	if (!o->help || !*o->help) {
		fputc('\n', fp);
		return;
	}
	fprintf(fp, "%*s", n + 2 <= col ? col - n : 2, "");
	fprintf(fp, "%s\n", help_lines(o->help, col, fp));
}

void opt_help(const struct qa_opts *t, FILE *fp)
{
	fprintf(fp, "%s\n", t->usage);
	for (const struct qa_opt *o = t->opt; o->kind != QA_OPT_END; o++) {
		if (o->kind == QA_OPT_TEXT)
			fprintf(fp, "%s\n", o->help);
		else
			help_row(o, t->col, fp);
	}
	if (t->tail)
		fprintf(fp, "\n%s", t->tail);
}

QA_NORETURN void opt_usage(const struct qa_opts *t, int status)
{
	opt_help(t, status ? stderr : stdout);
	exit(status);
}

const struct qa_opt *opt_find(const struct qa_opts *t, const char *name)
{
	for (const struct qa_opt *o = t->opt; o->kind != QA_OPT_END; o++)
		if (o->kind != QA_OPT_TEXT && strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

static int is_whole(enum qa_opt_kind k)
{
	return k == QA_OPT_LONG || k == QA_OPT_SIZE || k == QA_OPT_U64 || k == QA_OPT_WHOLE;
}

static QA_NORETURN void bad_number(const struct qa_opt *o, const char *arg, long lmin, long lmax, double max)
{
	char what[160];
	if (o->what)
		snprintf(what, sizeof what, "%s", o->what);
	else if (is_whole(o->kind))
		snprintf(what, sizeof what, "a whole number from %ld to %ld", lmin, lmax);
	else if (o->kind == QA_OPT_SECONDS)
		snprintf(what, sizeof what, "a number of seconds from %g", o->min);
	else
		snprintf(what, sizeof what, "a number from %g to %g", o->min, max);
	qa_die(QA_EXIT_USAGE, "--%s: '%s' is not %s", o->name, arg, what);
}

/* A whole number's bounds as longs: a max at or past 2^63 is LONG_MAX. */
static long whole(const struct qa_opt *o, const char *arg)
{
	long lmin = o->min <= (double)LONG_MIN ? LONG_MIN : (long)o->min;
	long lmax = o->max >= (double)LONG_MAX ? LONG_MAX : (long)o->max;
	long v;
	if (parse_long(arg, lmin, lmax, &v) < 0)
		bad_number(o, arg, lmin, lmax, o->max);
	return v;
}

double opt_number(const struct qa_opt *o, const char *arg)
{
	if (is_whole(o->kind))
		return (double)whole(o, arg);
	double max = o->kind == QA_OPT_SECONDS && o->max == 0 ? 1e7 : o->max, v;
	if (parse_double(arg, o->min, max, &v) < 0)
		bad_number(o, arg, 0, 0, max);
	return o->kind == QA_OPT_SECONDS ? v * 1000 : v;
}

/* The argument's index among the row's choices "a|b|c", or a one-line error naming them. */
int opt_choice(const struct qa_opt *o, const char *arg)
{
	const char *p = o->choices;
	size_t n = strlen(arg);
	for (int i = 0;; i++) {
		size_t len = strcspn(p, "|");
		if (len == n && strncmp(p, arg, n) == 0)
			return i;
		if (!p[len])
			break;
		p += len + 1;
	}
	qa_buf b = { 0 };
	for (p = o->choices; *p;) {
		size_t len = strcspn(p, "|");
		if (p != o->choices)
			buf_adds(&b, p[len] ? ", " : " or ");
		buf_add(&b, p, len);
		p += len + !!p[len];
	}
	qa_die(QA_EXIT_USAGE, "--%s: '%s' is not %s", o->name, arg, buf_cstr(&b));
}

static void apply(const struct qa_opts *t, const struct qa_opt *o, const char *arg, int *used)
{
	if (++*used > 1 && (o->flags & QA_OPT_ONCE))
		qa_die(QA_EXIT_USAGE, "--%s given twice", o->name);
	if (o->seen)
		*o->seen = 1;
	switch (o->kind) {
	case QA_OPT_FLAG: *(int *)o->target = 1; break;
	case QA_OPT_STRING: *(const char **)o->target = arg; break;
	case QA_OPT_CHOICE: opt_choice(o, arg); *(const char **)o->target = arg; break;
	case QA_OPT_ENUM: *(int *)o->target = opt_choice(o, arg); break;
	case QA_OPT_LONG: *(long *)o->target = whole(o, arg); break;
	case QA_OPT_SIZE: *(size_t *)o->target = (size_t)whole(o, arg); break;
	case QA_OPT_U64: *(uint64_t *)o->target = (uint64_t)whole(o, arg); break;
	case QA_OPT_WHOLE: *(double *)o->target = (double)whole(o, arg); break;
	case QA_OPT_DOUBLE:
	case QA_OPT_SECONDS: *(double *)o->target = opt_number(o, arg); break;
	case QA_OPT_CALL:
		if (o->call)
			o->call(o, arg);
		else
			o->set(arg);
		break;
	case QA_OPT_HELP: opt_usage(t, QA_EXIT_OK);
	case QA_OPT_VERSION:
		printf("%s %s\n", t->prog, QA_VERSION);
		exit(fflush(stdout) == 0 ? QA_EXIT_OK : QA_EXIT_USAGE);
	case QA_OPT_END:
	case QA_OPT_TEXT: break;
	}
}

void opt_parse(const struct qa_opts *t, int *argc, char ***argv)
{
	size_t n = 0, nlong = 0, nshort = 0;
	while (t->opt[n].kind != QA_OPT_END)
		n++;
	longopts = xcalloc(n + 1, sizeof *longopts);
	shortopts = xmalloc(2 * n + 1);
	uses = xcalloc(n + 1, sizeof *uses);
	for (size_t i = 0; i < n; i++) {
		const struct qa_opt *o = &t->opt[i];
		if (o->kind == QA_OPT_TEXT)
			continue;
		longopts[nlong++] = (struct option){ o->name, o->metavar ? required_argument : no_argument, NULL,
			256 + (int)i };
		if (o->flag) {
			shortopts[nshort++] = (char)o->flag;
			if (o->metavar)
				shortopts[nshort++] = ':';
		}
	}
	shortopts[nshort] = '\0';
	int c;
	while ((c = getopt_long(*argc, *argv, shortopts, longopts, NULL)) != -1) {
		size_t i = c >= 256 ? (size_t)(c - 256) : 0;
		if (c < 256)
			while (i < n && (t->opt[i].kind == QA_OPT_TEXT || t->opt[i].flag != c))
				i++;
		if (c == '?' || i >= n)
			opt_usage(t, QA_EXIT_USAGE);
		apply(t, &t->opt[i], optarg, &uses[i]);
	}
	xfree(&longopts);
	xfree(&shortopts);
	xfree(&uses);
	*argc -= optind;
	*argv += optind;
}
