/*
 * lib/opt.c: a table parses argv into its targets, --help comes from the
 * same rows, and a number out of range or an unknown choice stops the run
 * with one line and exit 2 (checked in a child, since it exits).
 */
#include <getopt.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qa.h"
#include "t.h"

static int flag, fmt, called;
static long count = 16;
static size_t size;
static uint64_t seed;
static double ms, frac, rate;
static const char *str, *choice_s, *last_call;

static void on_call(const struct qa_opt *o, const char *arg)
{
	called++;
	last_call = arg;
	(void)o;
}

static void on_set(const char *arg)
{
	on_call(NULL, arg);
}

static const struct qa_opt rows[] = {
	QA_TEXT("Things:"),
	QA_ROW(QA_OPT_FLAG, "quiet", 'q', NULL, "no progress", &flag),
	QA_ROW(QA_OPT_LONG, "concurrency", 'c', "N", "requests at once\n(default 16)", &count, .min = 1, .max = 4096),
	QA_ROW(QA_OPT_SIZE, "context", 0, "N", "window", &size, .min = 2, .max = 1e8),
	QA_ROW(QA_OPT_U64, "seed", 0, "N", "seed", &seed, .max = 9.3e18),
	QA_ROW(QA_OPT_SECONDS, "timeout", 't', "SECONDS", "bound", &ms, .min = 0.001),
	QA_ROW(QA_OPT_DOUBLE, "max-drop", 0, "F", "gate", &frac, .max = 1, .what = "a fraction from 0 to 1"),
	QA_ROW(QA_OPT_WHOLE, "rpm", 0, "N", "per minute", &rate, .min = 1, .max = 1e8),
	QA_ROW(QA_OPT_STRING, "model", 'm', "MODEL", "model", &str),
	QA_ROW(QA_OPT_ENUM, "format", 'f', "FMT", "json, table or md", &fmt, .choices = "json|table|md"),
	QA_ROW(QA_OPT_CHOICE, "kl", 0, "EST", "estimator", &choice_s, .choices = "renormalized|raw"),
	QA_ROW(QA_OPT_CALL, "fallback", 'F', "NAME,...", "fallbacks", NULL, .call = on_call, .flags = QA_OPT_ONCE),
	QA_ROW(QA_OPT_CALL, "a-very-long-option-name", 0, "WITH-A-METAVAR", "past the column", NULL, .set = on_set),
	QA_ROW(QA_OPT_HELP, "help", 'h', NULL, "print the usage and exit", NULL),
	QA_END,
};
static const struct qa_opts table = { .prog = "qa-t", .usage = "usage: qa-t [-q] [file ...]\n", .opt = rows,
	.col = 24, .tail = "Exit status: 0.\n" };

/* Runs opt_parse on args in a child: its exit status and the first line of its stderr. */
static int child(const char *const *args, char *line, size_t n)
{
	int fd[2];
	if (pipe(fd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], 2);
		close(fd[0]);
		int argc = 0;
		while (args[argc])
			argc++;
		char **argv = (char **)args;
		optind = 1;
		opt_parse(&table, &argc, &argv);
		_exit(0);
	}
	close(fd[1]);
	size_t len = 0;
	ssize_t got;
	char sink[4096];
	while ((got = read(fd[0], len < n - 1 ? line + len : sink, len < n - 1 ? n - 1 - len : sizeof sink)) > 0)
		len += len < n - 1 ? (size_t)got : 0;	/* the rest read to the end, so the child never gets SIGPIPE */
	close(fd[0]);
	line[len] = '\0';
	line[strcspn(line, "\n")] = '\0';
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
	qa_set_prog("qa-t");
	char *argv[] = { "qa-t", "-q", "-c", "8", "--context=512", "--seed", "9223372036854775807", "-t", "1.5",
		"--max-drop", "0.02", "--rpm", "600", "-m", "m1", "-f", "md", "--kl", "raw", "-F", "a,b",
		"--a-very-long-option-name", "x", "in.jsonl", NULL };
	int argc = (int)(sizeof argv / sizeof *argv) - 1;
	char **args = argv;
	opt_parse(&table, &argc, &args);
	CHECK(argc == 1);
	CHECK_STR(args[0], "in.jsonl");
	CHECK(flag == 1 && count == 8 && size == 512 && seed == 9223372036854775807u);
	CHECK(ms == 1500 && frac == 0.02 && rate == 600);
	CHECK_STR(str, "m1");
	CHECK(fmt == 2);
	CHECK_STR(choice_s, "raw");
	CHECK(called == 2);
	CHECK_STR(last_call, "x");
	CHECK(opt_find(&table, "rpm") == &rows[7] && opt_find(&table, "nope") == NULL);
	CHECK(opt_number(&rows[5], "2") == 2000);

	char *help = NULL;
	size_t hlen = 0;
	FILE *fp = open_memstream(&help, &hlen);
	opt_help(&table, fp);
	fclose(fp);
	CHECK_STR(help, "usage: qa-t [-q] [file ...]\n"
	    "\n"
	    "Things:\n"
	    "  -q, --quiet           no progress\n"
	    "  -c, --concurrency N   requests at once\n"
	    "                        (default 16)\n"
	    "      --context N       window\n"
	    "      --seed N          seed\n"
	    "  -t, --timeout SECONDS  bound\n"
	    "      --max-drop F      gate\n"
	    "      --rpm N           per minute\n"
	    "  -m, --model MODEL     model\n"
	    "  -f, --format FMT      json, table or md\n"
	    "      --kl EST          estimator\n"
	    "  -F, --fallback NAME,...  fallbacks\n"
	    "      --a-very-long-option-name WITH-A-METAVAR  past the column\n"
	    "  -h, --help            print the usage and exit\n"
	    "\n"
	    "Exit status: 0.\n");
	free(help);

	char line[512];
	CHECK(child((const char *[]){ "qa-t", "-c", "0", NULL }, line, sizeof line) == 2);
	CHECK_STR(line, "qa-t: --concurrency: '0' is not a whole number from 1 to 4096");
	CHECK(child((const char *[]){ "qa-t", "--timeout", "0", NULL }, line, sizeof line) == 2);
	CHECK_STR(line, "qa-t: --timeout: '0' is not a number of seconds from 0.001");
	CHECK(child((const char *[]){ "qa-t", "--max-drop", "2", NULL }, line, sizeof line) == 2);
	CHECK_STR(line, "qa-t: --max-drop: '2' is not a fraction from 0 to 1");
	CHECK(child((const char *[]){ "qa-t", "--rpm", "1.5", NULL }, line, sizeof line) == 2);
	CHECK_STR(line, "qa-t: --rpm: '1.5' is not a whole number from 1 to 100000000");
	CHECK(child((const char *[]){ "qa-t", "-f", "xml", NULL }, line, sizeof line) == 2);
	CHECK_STR(line, "qa-t: --format: 'xml' is not json, table or md");
	CHECK(child((const char *[]){ "qa-t", "--kl", "", NULL }, line, sizeof line) == 2);
	CHECK_STR(line, "qa-t: --kl: '' is not renormalized or raw");
	CHECK(child((const char *[]){ "qa-t", "-F", "a", "--fallback", "b", NULL }, line, sizeof line) == 2);
	CHECK_STR(line, "qa-t: --fallback given twice");
	/* an unknown option: getopt's line, then the help, on stderr */
	CHECK(child((const char *[]){ "qa-t", "--bogus", NULL }, line, sizeof line) == 2);
	CHECK(strstr(line, "bogus") != NULL);
	CHECK(child((const char *[]){ "qa-t", "-c", NULL }, line, sizeof line) == 2);
	CHECK(child((const char *[]){ "qa-t", "-q", "x", NULL }, line, sizeof line) == 0);
	return t_done("test_opt");
}
