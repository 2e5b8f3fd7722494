/*
 * llama-ppl: the llama engine (plugins/providers/llama/engine.c) alone,
 * for tests/57-llama-engine.bats and bench/llama-ppl.sh.
 *
 *   llama-ppl -m MODEL [-b BASE] -f TEXT -c N [-s STRIDE] [-t THREADS]
 *       teacher-forced perplexity (and exact drift against BASE): one JSON
 *       line of totals.
 *   llama-ppl -m MODEL -p PROMPT [-n MAX] [-T TEMP] [-S SEED] [-x STOP] [-C]
 *       one generation (-C: PROMPT is a user message put through the chat
 *       template): one JSON line.
 *   -a: abort every decode (the flag set before the call): the call must say so.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"

static void die(const char *msg)
{
	fprintf(stderr, "llama-ppl: %s\n", msg);
	exit(1);
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open the text");
	size_t cap = 1 << 16, len = 0, k;
	char *b = malloc(cap);
	while ((k = fread(b + len, 1, cap - len, f)) > 0) {
		len += k;
		if (len == cap)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	/* llama-perplexity drops one final newline of its -f file. */
	if (len && b[len - 1] == '\n')
		len--;
	b[len] = 0;
	*n = len;
	return b;
}

static void jstr(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

int main(int argc, char **argv)
{
	const char *model = NULL, *basep = NULL, *text = NULL, *prompt = NULL, *stop[8];
	int ctx = 0, stride = 0, threads = 0, maxt = 16, chat = 0, nstop = 0, opt;
	double temp = 0;
	unsigned seed = 0;
	volatile int abortflag = 0;
	while ((opt = getopt(argc, argv, "m:b:f:c:s:t:p:n:T:S:x:Ca")) != -1) {
		switch (opt) {
		case 'm': model = optarg; break;
		case 'b': basep = optarg; break;
		case 'f': text = optarg; break;
		case 'c': ctx = atoi(optarg); break;
		case 's': stride = atoi(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'p': prompt = optarg; break;
		case 'n': maxt = atoi(optarg); break;
		case 'T': temp = atof(optarg); break;
		case 'S': seed = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'x': if (nstop < 8) stop[nstop++] = optarg; break;
		case 'C': chat = 1; break;
		case 'a': abortflag = 1; break;
		default: die("bad option");
		}
	}
	if (!model || (!text && !prompt))
		die("usage: llama-ppl -m MODEL [-b BASE] -f TEXT -c N [-s S] [-t T] | -p PROMPT [-n MAX] [-T TEMP] [-S SEED] [-x STOP] [-C]");
	char err[256];
	le_engine *e = le_open(model, threads, err, sizeof err), *b = NULL;
	if (!e)
		die(err);
	le_set_abort(e, &abortflag);
	if (prompt) {
		char *p = (char *)prompt;
		if (chat) {
			struct le_msg m = { "user", prompt };
			if (!(p = le_chat(e, &m, 1, err, sizeof err)))
				die(err);
		}
		struct le_gen g = { .temperature = temp, .seed = seed, .max_tokens = maxt, .stop = stop,
			.nstop = (size_t)nstop };
		struct le_out o;
		int rc = le_generate(e, p, &g, &o, err, sizeof err);
		if (rc != LE_OK) {
			printf("{\"error\":");
			jstr(err);
			printf(",\"aborted\":%s}\n", rc == LE_ABORTED ? "true" : "false");
			if (p != prompt)
				free(p);
			le_close(e);
			return 2;
		}
		printf("{\"prompt\":");
		jstr(p);
		printf(",\"text\":");
		jstr(o.text);
		printf(",\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"finish_reason\":\"%s\"}\n", o.prompt_tokens,
		    o.completion_tokens, o.finish_reason);
		free(o.text);
		if (p != prompt)
			free(p);
		le_close(e);
		return 0;
	}
	if (basep) {
		if (!(b = le_open(basep, threads, err, sizeof err)))
			die(err);
		le_set_abort(b, &abortflag);
	}
	size_t len, n;
	char *t = slurp(text, &len);
	int32_t *tok = le_tokenize(e, t, len, 1, &n);
	if (!tok)
		die("cannot tokenize the text");
	struct le_sum s = { 0 };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = le_score(e, b, tok, n, ctx, stride, le_sum_add, &s, err, sizeof err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == LE_OK && s.n == 0) {
		snprintf(err, sizeof err, "no token to score: the text has %zu tokens, the context is %d", n, ctx);
		rc = LE_ERROR;
	}
	if (rc != LE_OK) {
		printf("{\"error\":");
		jstr(err);
		printf(",\"aborted\":%s}\n", rc == LE_ABORTED ? "true" : "false");
		free(tok);
		free(t);
		le_close(b);
		le_close(e);
		return 2;
	}
	double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
	double N = (double)s.n;
	printf("{\"text_tokens\":%zu,\"scored\":%ld,\"ppl\":%.10g", n, s.n, exp(s.nll / N));
	if (b)
		printf(",\"ppl_base\":%.10g,\"kld_mean\":%.10g,\"same_top_pct\":%.10g,\"dp_mean_pct\":%.10g,"
		    "\"rms_dp_pct\":%.10g", exp(s.nll_base / N), s.kld / N, 100.0 * (double)s.same_top / N,
		    100 * s.dp / N, 100 * sqrt(s.dp2 / N));
	printf(",\"seconds\":%.6f}\n", sec);
	free(tok);
	free(t);
	le_close(b);
	le_close(e);
	return 0;
}
