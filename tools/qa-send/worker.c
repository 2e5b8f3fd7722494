/*
 * worker.c: in-process providers that compute (the llama provider) run on
 * a worker thread qa-send owns, one per endpoint, so a decode of seconds
 * never blocks the network loop.  The loop hands a started record to the
 * endpoint's queue; the worker calls compute() and puts the record on the
 * done list, then wakes the loop through curl_multi_wakeup(); the loop
 * settles it as any answer.  The record's --timeout reaches the decode
 * through compute()'s stop(), which the engine polls between graph nodes.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "qa-send.h"

struct worker {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct task *head, *tail;	/* waiting to be computed */
	int quit;
	void *engine;
	struct endpoint *ep;
};

static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static struct task *done_head;
static struct worker **workers;
static size_t nworkers;
static atomic_int ending;	/* the run is over: a decode still going stops */

/* compute()'s stop(): the attempt's time is up, or the run is told to stop past its grace. */
static int past(void *arg)
{
	const struct task *t = arg;
	return atomic_load(&ending) || now_ms() > t->t0 + t->attempt_ms;
}

/* The finished tasks from head on (linked by wnext, n of them) to the done list, and the loop woken. */
static void finished(struct task *head, size_t n)
{
	pthread_mutex_lock(&done_mu);
	for (size_t i = 0; i < n; i++) {
		struct task *next = head->wnext;
		head->wnext = done_head;
		done_head = head;
		head = next;
	}
	pthread_mutex_unlock(&done_mu);
	curl_multi_wakeup(multi);
}

/*
 * Everything waiting, several at once when the provider has compute_many()
 * (one batched decode for the -c slots), else one by one.
 */
static void compute_batch(struct worker *w, struct task *head, size_t n)
{
	const struct qa_provider_ops *pl = w->ep->prov->l.plugin->provider;
	struct task *t = head;
	for (size_t i = 0; i < n; i++, t = t->wnext) {
		memset(&t->wreply, 0, sizeof t->wreply);
		t->wreply.size = sizeof t->wreply;
	}
	if (n > 1 && QA_HAS(pl, compute_many) && pl->compute_many) {
		const qa_json **recs = xreallocarray(NULL, n, sizeof *recs);
		const struct qa_request **reqs = xreallocarray(NULL, n, sizeof *reqs);
		void **args = xreallocarray(NULL, n, sizeof *args);
		struct qa_reply **out = xreallocarray(NULL, n, sizeof *out);
		t = head;
		for (size_t i = 0; i < n; i++, t = t->wnext) {
			recs[i] = t->wrec;
			reqs[i] = &t->req;
			args[i] = t;
			out[i] = &t->wreply;
		}
		double t0 = now_ms();
		pl->compute_many(w->engine, n, recs, reqs, past, args, out);
		double ms = now_ms() - t0;
		t = head;
		for (size_t i = 0; i < n; i++, t = t->wnext) {
			t->wrc = t->wreply.error ? -1 : 0;
			t->wms = ms;
			t->wbatch = n;
		}
		free(recs);
		free(reqs);
		free(args);
		free(out);
		finished(head, n);
		return;
	}
	while (n--) {
		struct task *next = head->wnext;
		double t0 = now_ms();
		head->wrc = pl->compute(w->engine, head->wrec, &head->req, past, head, &head->wreply);
		head->wms = now_ms() - t0;
		head->wbatch = 1;
		finished(head, 1);
		head = next;
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!w->head && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		struct task *head = w->head;
		if (!head) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		size_t n = 0;
		for (struct task *t = head; t; t = t->wnext)
			n++;
		w->head = w->tail = NULL;
		pthread_mutex_unlock(&w->mu);
		compute_batch(w, head, n);
	}
}

void engine_settings(struct endpoint *e, long threads, const char *kl_base)
{
	e->threads = threads;
	free(e->kl_base);
	e->kl_base = kl_base && *kl_base ? xstrdup(kl_base) : NULL;
}

static struct worker *worker_of(struct task *t, char **err)
{
	struct endpoint *e = t->ep;
	if (e->wk)
		return e->wk;
	const struct qa_provider_ops *pl = e->prov->l.plugin->provider;
	struct qa_endpoint qe = { e->name, NULL, e->model ? e->model : t->model, NULL };
	void *engine = NULL;
	/* The endpoint's settings, as open() reads them: {"threads":N,"kl_base":"FILE"} */
	qa_buf s = { 0 };
	buf_printf(&s, "{\"threads\":%ld,\"context\":%zu,\"stride\":%zu", e->threads, opt.context,
	    opt.context ? opt.stride_given : 0);
	if (e->kl_base) {
		buf_adds(&s, ",\"kl_base\":");
		buf_json_string(&s, e->kl_base, strlen(e->kl_base));
	}
	buf_adds(&s, "}");
	qa_json *settings = json_new();
	const char *jerr;
	size_t off;
	json_parse(settings, s.p, s.len, &jerr, &off);
	int rc = pl->open(e->prov->state, &qe, settings, &engine, err);
	json_free(&settings);
	buf_free(&s);
	if (rc < 0)
		return NULL;
	struct worker *w = xcalloc(1, sizeof *w);
	w->engine = engine;
	w->ep = e;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->th, NULL, work, w) != 0)
		qa_die(QA_EXIT_DATA, "endpoint '%s': cannot start its worker thread", e->name);
	workers = xreallocarray(workers, nworkers + 1, sizeof *workers);
	workers[nworkers++] = w;
	return e->wk = w;
}

void start_work(struct task *t, double now)
{
	char *err = NULL;
	qa_set_where(t->file, t->lineno);
	struct worker *w = worker_of(t, &err);
	host_reset();
	if (!w) {
		inflight--;
		t->ep->inflight--;
		if (fall_back(t, "bad_record", 0, err ? err : "the provider could not open its engine", now) == 0 &&
		    enter(t, now) == 0)
			ready_push(t);
		free(err);
		return;
	}
	t->wnext = NULL;
	t->wrec = asked(t);
	pthread_mutex_lock(&w->mu);
	if (w->tail)
		w->tail->wnext = t;
	else
		w->head = t;
	w->tail = t;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* What the workers finished, settled as answers or errors. */
void collect_work(double now)
{
	pthread_mutex_lock(&done_mu);
	struct task *t = done_head;
	done_head = NULL;
	pthread_mutex_unlock(&done_mu);
	while (t) {
		struct task *next = t->wnext;
		inflight--;
		t->ep->inflight--;
		struct outcome o = { 0 };
		o.hint_ms = HINT_NONE;
		o.reply = t->wreply;
		o.latency_ms = t->wms;
		if (t->wrc == 0 && !o.reply.error) {
			o.ok = 1;
		} else {
			o.type = o.reply.error_type ? o.reply.error_type : "server";
			o.message = xstrdup(o.reply.error ? o.reply.error : "the engine failed");
			o.retry = strcmp(o.type, "timeout") == 0 || o.reply.retry == QA_RETRY_YES;
		}
		memset(&t->wreply, 0, sizeof t->wreply);
		if (opt.trace) {
			/* --trace: how many requests the engine computed together with this one */
			qa_buf b = { 0 };
			trace_head(&b, t);
			buf_printf(&b, ",\"endpoint\":");
			buf_json_string(&b, t->ep->name, strlen(t->ep->name));
			buf_printf(&b, ",\"decision\":\"computed\",\"batch\":%zu}\n", t->wbatch);
			fwrite(b.p, 1, b.len, opt.trace);
			buf_free(&b);
		}
		settle(t, &o, now);
		t = next;
	}
}

/* At the end of the run: a decode still going stops, each worker ends and its engine closes. */
void workers_end(void)
{
	atomic_store(&ending, 1);
	for (size_t i = 0; i < nworkers; i++) {
		struct worker *w = workers[i];
		pthread_mutex_lock(&w->mu);
		w->quit = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
		w->ep->prov->l.plugin->provider->close(w->engine);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w);
	}
	free(workers);
	workers = NULL;
	nworkers = 0;
	/* what finished after the loop stopped (an interrupted run) is dropped */
	for (struct task *t = done_head; t; t = t->wnext)
		reply_free(&t->wreply);
	done_head = NULL;
}
