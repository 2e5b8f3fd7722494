/* qa-send: records: reading the input, admitting, resolving, the fallback chain, emitting in order. */

#include "qa-send.h"

/* ---- input: lines read as slots free up, never blocking the loop ---- */

void feed_next_file(struct feed *f)
{
	if (f->own)
		close(f->fd);
	f->own = 0;
	f->fd = -1;
	while (f->cur < f->nfiles) {
		const char *path = f->files[f->cur++];
		f->lineno = 0;
		f->eof = 0;
		f->name = path;
		if (strcmp(path, "-") == 0) {
			f->fd = 0;
			return;
		}
		f->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (f->fd >= 0) {
			f->own = 1;
			return;
		}
		warn_scrubbed(NULL, 0, "%s: %s", path, strerror(errno));
		f->failed = 1;
	}
	f->done = 1;
}

/* One read() of what is there.  Call it only when poll() says the fd is readable. */
void feed_fill(struct feed *f)
{
	if (f->done || f->eof)
		return;
	if (f->start == f->len) {
		f->start = f->len = f->scan = 0;
		if (f->cap > (16u << 20)) {	/* a huge line should not pin its buffer */
			xfree(&f->buf);
			f->cap = 0;
		}
	} else if (f->start > f->cap / 2) {
		memmove(f->buf, f->buf + f->start, f->len - f->start);
		f->len -= f->start;
		f->scan -= f->start;
		f->start = 0;
	}
	if (f->cap - f->len < 64 * 1024) {
		f->cap = f->cap ? f->cap * 2 : 256 * 1024;
		f->buf = xrealloc(f->buf, f->cap);
	}
	ssize_t n = read(f->fd, f->buf + f->len, f->cap - f->len);
	if (n > 0)
		f->len += (size_t)n;
	else if (n == 0)
		f->eof = 1;
	else if (errno != EINTR && errno != EAGAIN) {
		warn_scrubbed(NULL, 0, "%s: read error: %s", f->name, strerror(errno));
		f->failed = 1;
		f->eof = 1;
	}
}

/* 1 and the next line; 0 when more input is needed; -1 when all input is read. */
int feed_line(struct feed *f, char **line, size_t *len)
{
	for (;;) {
		if (f->done)
			return -1;
		char *nl = f->len > f->scan ? memchr(f->buf + f->scan, '\n', f->len - f->scan) : NULL;
		size_t end;
		if (nl) {
			end = (size_t)(nl - f->buf);
		} else {
			f->scan = f->len;
			if (!f->eof)
				return 0;
			if (f->len == f->start) {
				feed_next_file(f);
				continue;
			}
			end = f->len;	/* the last line, without a newline */
		}
		*line = f->buf + f->start;
		*len = end - f->start;
		if (*len && (*line)[*len - 1] == '\r')
			(*len)--;
		f->start = f->scan = end < f->len ? end + 1 : end;
		f->lineno++;
		return 1;
	}
}

int fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) > 0;
}

/* Lines in the input files, for the progress line; -1 when any is not a regular file. */
long count_lines(char **files, int n)
{
	long total = 0;
	char buf[1 << 16];
	for (int i = 0; i < n; i++) {
		int fd = strcmp(files[i], "-") == 0 ? dup(0) : open(files[i], O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (strcmp(files[i], "-") == 0 && lseek(fd, 0, SEEK_CUR) != 0)) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		ssize_t r;
		char last = '\n';
		off_t off = 0;
		while ((r = pread(fd, buf, sizeof buf, off)) > 0) {
			for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + r - p))); p++)
				total++;
			last = buf[r - 1];
			off += r;
		}
		if (last != '\n')
			total++;
		close(fd);
	}
	return total;
}

/* ---- tasks: one per record in the window ---- */

struct task *tasks;

size_t ntasks;

		/* the window */
uint64_t next_seq, head_seq;

	/* read so far; written so far (ordered) */
int *free_slots;

		/* unordered: a stack of free slots */
size_t nfree;

int ready_head = -1, ready_tail = -1;

long inflight, waiting, inwindow;

struct send_stats stats;

CURLM *multi;

CURL **easy_pool;

size_t neasy;

qa_json *scratch;

	/* checks JSON that plugins return */
qa_buf outbuf;

/* Tasks made ready: a turn that readied one has work for the next turn, not a wait. */
long readied;

void ready_push(struct task *t)
{
	int i = (int)(t - tasks);
	readied++;
	stream_ready(t);
	t->st = T_READY;
	t->next_ready = -1;
	if (ready_tail >= 0)
		tasks[ready_tail].next_ready = i;
	else
		ready_head = i;
	ready_tail = i;
}

void count_type(const char *type)
{
	for (size_t i = 0; i < stats.ntypes; i++)
		if (strcmp(stats.types[i], type) == 0) {
			stats.by_type[i]++;
			return;
		}
	if (stats.ntypes < 16) {
		stats.types[stats.ntypes] = type;
		stats.by_type[stats.ntypes++] = 1;
	}
}

void request_free(struct task *t)
{
	xfree(&t->req.url);
	xfree(&t->req.body);
	xfree(&t->req.headers);
	t->req.body_len = 0;
	if (t->hdrs)
		curl_slist_free_all(t->hdrs);
	t->hdrs = NULL;
	xfree(&t->sim.body);
	xfree(&t->sim.headers);
}

/* Ends a record: out holds its line.  The writer takes it from here. */
void task_done(struct task *t)
{
	cache_task_done(t);
	request_free(t);
	windows_free(t);
	stream_task_free(t);
	t->st = T_DONE;
	stats.done++;
	if (t->from.len) {
		stats.fell_back++;
		if (!t->failed) {
			stats.fb_served++;
			t->ep->served++;
		}
	}
	if (t->failed) {
		stats.errors++;
		count_type(t->etype);
		status_raise(QA_EXIT_DATA);
	}
}

/* The record with response set (ok) or error set (not), the other field removed. */
void emit(struct task *t, const char *response, size_t rlen, const char *error, size_t elen)
{
	qa_field f[] = {
		{ "response", response, rlen },
		{ "error", error, elen },
	};
	/*
	 * The record's own bytes and what a server sent were accepted by a
	 * scanner that lets raw control characters and bad UTF-8 through in
	 * strings: the line is re-escaped, so that it is one line of strict
	 * JSON whatever came in.
	 */
	static qa_buf line;
	line.len = 0;
	splice_record(&line, t->j, t->line, t->len, f, 2);
	t->out.len = 0;
	buf_json_clean(&t->out, line.p, line.len);
	buf_addc(&t->out, '\n');
	if (line.cap > (1u << 20))
		buf_free(&line);
}

/* A message as a JSON string: scrubbed of keys, cut at a character boundary. */
void add_message(qa_buf *b, const char *msg)
{
	qa_buf m = { 0 };
	buf_adds(&m, msg ? msg : "");
	scrub(&m);
	size_t n = m.len;
	if (n > MAX_MESSAGE) {
		n = MAX_MESSAGE;
		while (n > 0 && ((unsigned char)m.p[n] & 0xc0) == 0x80)
			n--;
	}
	buf_json_string(b, m.p ? m.p : "", n);
	if (n < m.len)
		b->len -= 1, buf_adds(b, "...\"");
	buf_free(&m);
}

void fail(struct task *t, const char *type, long status, const char *msg)
{
	qa_buf e = { 0 };
	buf_adds(&e, "{\"type\":");
	buf_json_string(&e, type, strlen(type));
	if (status > 0)
		buf_printf(&e, ",\"status\":%ld", status);
	buf_adds(&e, ",\"message\":");
	add_message(&e, msg);
	if (strcmp(type, "bad_record") == 0) {
		/* A valid line the run cannot send: say where it is, as for one that is not JSON. */
		buf_adds(&e, ",\"file\":");
		buf_json_string(&e, t->file, strlen(t->file));
		buf_printf(&e, ",\"line\":%lu", t->lineno);
		warn_scrubbed(t->file, t->lineno, "%s", msg ? msg : type);
	}
	buf_printf(&e, ",\"attempts\":%d", t->prior_attempts + t->attempts);
	if (t->ep) {
		buf_adds(&e, ",\"endpoint\":");
		buf_json_string(&e, t->ep->name, strlen(t->ep->name));
	}
	if (t->from.len) {
		buf_adds(&e, ",\"fallback_from\":[");
		buf_add(&e, t->from.p, t->from.len);
		buf_addc(&e, ']');
	}
	buf_addc(&e, '}');
	if (t->j) {
		emit(t, NULL, 0, e.p, e.len);
	} else {
		t->out.len = 0;
		buf_add(&t->out, e.p, e.len);
	}
	buf_free(&e);
	t->failed = 1;
	t->etype = type;
	task_done(t);
}

/* ---- fallback chains ---- */

/*
 * Whether another endpoint could fix this error (FACTS.md): the endpoint's
 * own trouble (its limits, its quota, its key, its health, the way to it)
 * yes, and an answer it sent that cannot be read too; a request that is
 * wrong (bad_request) or a record that is (bad_record) would only fail
 * again elsewhere.
 */
int fallback_worthy(const char *type)
{
	static const char *const worthy[] = {
		"auth", "quota", "rate_limit", "timeout", "network", "server", "bad_response",
	};
	for (size_t i = 0; i < sizeof worthy / sizeof *worthy; i++)
		if (strcmp(type, worthy[i]) == 0)
			return 1;
	return 0;
}

int cooling(const struct endpoint *e, double now)
{
	return opt.cooldown_ms > 0 && now < e->cool_until;
}

/* Whether the record has an endpoint after the one it is on. */
int has_next(const struct task *t)
{
	return t->link + 1 < t->nchain;
}

/*
 * Whether a cooldown may send the record past its endpoint: only when one
 * after it could take the record, so that the last endpoint left is never
 * skipped (one with no key, or stopped by the auth breaker, is no endpoint
 * left).
 */
int may_skip(const struct task *t, double now)
{
	if (!cooling(t->ep, now))
		return 0;
	for (int i = t->link + 1; i < t->nchain; i++)
		if (!t->chain[i]->why && !t->chain[i]->auth_broken)
			return 1;
	return 0;
}

/*
 * The record leaves its endpoint for the next in its chain: one entry of
 * fallback_from says why (an error, or skipped: a cooldown).
 */
void leave(struct task *t, const char *type, long status, const char *msg, const char *skipped)
{
	qa_buf *b = &t->from;
	if (b->len)
		buf_addc(b, ',');
	buf_adds(b, "{\"endpoint\":");
	buf_json_string(b, t->ep->name, strlen(t->ep->name));
	if (skipped) {
		buf_adds(b, ",\"skipped\":");
		buf_json_string(b, skipped, strlen(skipped));
	} else {
		buf_adds(b, ",\"type\":");
		buf_json_string(b, type, strlen(type));
		if (status > 0)
			buf_printf(b, ",\"status\":%ld", status);
	}
	buf_adds(b, ",\"message\":");
	add_message(b, msg);
	buf_printf(b, ",\"attempts\":%d}", t->attempts);
	t->prior_attempts += t->attempts;
	t->attempts = 0;
	t->ep = t->chain[++t->link];
	stats.moves++;
	windows_free(t);	/* another endpoint tokenizes its own way: its windows start over */
}

/*
 * The record's endpoint failed it.  0: it goes on to the next endpoint of
 * its chain (the caller makes its request, enter()), when another could
 * fix the error and the deadline leaves time; -1: the record ends with
 * this error.
 */
int fall_back(struct task *t, const char *type, long status, const char *msg, double now)
{
	if (!fallback_worthy(type) || !has_next(t)) {
		fail(t, type, status, msg);
		return -1;
	}
	if (t->deadline && now >= t->deadline) {
		qa_buf m = { 0 };
		buf_printf(&m, "%s (no time left for fallback '%s')", msg, t->chain[t->link + 1]->name);
		fail(t, type, status, buf_cstr(&m));
		buf_free(&m);
		return -1;
	}
	leave(t, type, status, msg, NULL);
	return 0;
}

/* ---- admitting records ---- */

struct task *slot_for(uint64_t seq)
{
	if (!opt.unordered)
		return &tasks[seq % ntasks];
	return &tasks[free_slots[--nfree]];
}

int window_has_room(void)
{
	return opt.unordered ? nfree > 0 : next_seq - head_seq < ntasks;
}

/* params: the record's own, then each --param it does not set. */
int merge_params(struct task *t, const char **why)
{
	qa_json *j = t->j;
	int p = json_member(j, 0, "params", 6);
	t->params.len = 0;
	buf_addc(&t->params, '{');
	size_t members = 0;
	if (p >= 0 && json_type(j, p) != QA_NULL) {
		if (json_type(j, p) != QA_OBJECT) {
			*why = "params is not an object";
			return -1;
		}
		size_t n;
		const char *raw = json_raw(j, p, &n);
		members = json_count(j, p);
		buf_add(&t->params, raw + 1, n - 2);	/* the members as written */
	}
	for (size_t i = 0; i < json_count(opt.params_j, 0); i++) {
		int k = json_key_at(opt.params_j, 0, i);
		size_t kl, vl;
		const char *key = json_str(opt.params_j, k, &kl);
		if (p >= 0 && json_member(j, p, key, kl) >= 0)
			continue;
		const char *kr = json_raw(opt.params_j, k, &kl), *vr = json_raw(opt.params_j, k + 1, &vl);
		if (members++)
			buf_addc(&t->params, ',');
		buf_add(&t->params, kr, kl);
		buf_addc(&t->params, ':');
		buf_add(&t->params, vr, vl);
	}
	buf_addc(&t->params, '}');
	const char *err;
	size_t off;
	if (!t->pj)
		t->pj = json_new();
	if (json_parse(t->pj, t->params.p, t->params.len, &err, &off) < 0) {
		*why = "params is not valid JSON";
		return -1;
	}
	return 0;
}

/*
 * Makes the record's request for its endpoint, chain[link], passing over
 * endpoints that cannot take any (a key variable not set) while another
 * follows.  0, or the record is done.
 */
int enter(struct task *t, double now)
{
	while (t->ep->why)
		if (fall_back(t, t->ep->why_type, 0, t->ep->why, now) < 0)
			return -1;
	request_free(t);
	/* The record's model is for the endpoint it names; a fallback brings its own. */
	qa_json *j = t->j;
	const char *model = json_str(j, json_member(j, 0, "model", 5), NULL);
	if (model && !*model)
		model = NULL;
	if (t->link > 0 && t->ep->model)
		model = t->ep->model;
	else if (!model)
		model = t->ep->model;
	xfree(&t->model);
	t->model = model ? xstrdup(model) : NULL;

	const struct qa_provider_ops *pl = t->ep->prov->l.plugin->provider;
	struct qa_endpoint qe = { t->ep->name, t->ep->base_url, t->model, t->pj };
	char *err = NULL;
	qa_set_where(t->file, t->lineno);
	t->req.size = sizeof t->req;
	t->req.stream = stream_wanted(t);
	int rc = pl->build(t->ep->prov->state, asked(t), &qe, &t->req, &err);
	host_reset();
	if (rc < 0 || !t->req.body || (!pl->respond && !pl->compute && !t->req.url)) {
		fail(t, "bad_record", 0, err ? err : "the provider could not build a request");
		free(err);
		return -1;
	}
	free(err);
	if (cache_serve(t))
		return -1;	/* answered before: done, nothing to send (nor headers to make) */
	if (!pl->respond && !pl->compute) {
		struct curl_slist *h = NULL;
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Accept: application/json");
		h = curl_slist_append(h, "Expect:");
		if (t->ep->auth)
			h = curl_slist_append(h, t->ep->auth);
		for (struct curl_slist *x = opt.headers; x; x = x->next)
			h = curl_slist_append(h, x->data);
		if (t->req.headers) {
			char *save = NULL;
			for (char *l = strtok_r(t->req.headers, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
				if (*l)
					h = curl_slist_append(h, l);
		}
		t->hdrs = h;
	}
	return 0;
}

/* Appends e to the record's chain, unless it is there already.  -1 when the chain is full. */
int chain_add(struct task *t, struct endpoint *e)
{
	for (int i = 0; i < t->nchain; i++)
		if (t->chain[i] == e)
			return 0;
	if (t->nchain == MAX_CHAIN)
		return -1;
	t->chain[t->nchain++] = e;
	return 0;
}

/*
 * The endpoints after the record's own: its fallback array, else
 * --fallback.  An endpoint that is not configured, or not usable as
 * configured, makes the record a bad_record before anything is sent.
 * 0, or the record is done.
 */
int resolve_fallback(struct task *t)
{
	qa_json *j = t->j;
	int f = json_member(j, 0, "fallback", 8);
	if (f < 0 || json_type(j, f) == QA_NULL) {
		for (size_t i = 0; i < opt.nfallback; i++)
			chain_add(t, opt.fallback[i]);
		return 0;
	}
	if (json_type(j, f) != QA_ARRAY) {
		fail(t, "bad_record", 0, "fallback is not an array of endpoint names");
		return -1;
	}
	if (json_count(j, f) >= MAX_CHAIN) {
		char msg[80];
		snprintf(msg, sizeof msg, "fallback names more than %d endpoints", MAX_CHAIN - 1);
		fail(t, "bad_record", 0, msg);
		return -1;
	}
	int v = json_index(j, f, 0);
	for (size_t i = 0; i < json_count(j, f); i++, v = json_next(j, v)) {
		size_t n;
		const char *name = json_str(j, v, &n);
		if (!name || !n || memchr(name, '\0', n)) {
			fail(t, "bad_record", 0, "fallback is not an array of endpoint names");
			return -1;
		}
		struct endpoint *e = default_ep && strcmp(default_ep->name, name) == 0 ? default_ep :
		    endpoint_named(name);
		if (e->why && strcmp(e->why_type, "bad_record") == 0) {
			qa_buf m = { 0 };
			buf_printf(&m, "fallback: %s", e->why);
			t->ep = e;
			fail(t, "bad_record", 0, buf_cstr(&m));
			buf_free(&m);
			return -1;
		}
		chain_add(t, e);
	}
	return 0;
}

/* The record's endpoint and its fallbacks, its params, and its first request.  0, or the record is done. */
int resolve(struct task *t)
{
	qa_json *j = t->j;
	int e = json_member(j, 0, "endpoint", 8);
	if (e >= 0 && json_type(j, e) != QA_NULL) {
		size_t n;
		const char *name = json_str(j, e, &n);
		if (!name || !n || memchr(name, '\0', n)) {
			fail(t, "bad_record", 0, "endpoint is not a name");
			return -1;
		}
		t->ep = default_ep && strcmp(default_ep->name, name) == 0 ? default_ep : endpoint_named(name);
	} else if (!(t->ep = default_ep)) {
		fail(t, "bad_record", 0, "no endpoint: the record names none, and no --endpoint or --provider was given");
		return -1;
	}
	if (t->ep->why && strcmp(t->ep->why_type, "bad_record") == 0) {
		fail(t, t->ep->why_type, 0, t->ep->why);
		return -1;
	}
	t->chain[0] = t->ep;
	t->nchain = 1;
	t->link = 0;
	if (resolve_fallback(t) < 0)
		return -1;
	const char *why;
	if (merge_params(t, &why) < 0) {
		fail(t, "bad_record", 0, why);
		return -1;
	}
	return enter(t, 0);
}

void admit(struct task *t, uint64_t seq, const char *file, unsigned long lineno, const char *line,
    size_t len)
{
	t->seq = seq;
	t->file = file;
	t->lineno = lineno;
	t->attempts = t->prior_attempts = 0;
	t->deadline = 0;
	t->failed = 0;
	t->etype = NULL;
	t->ep = NULL;
	t->nchain = t->link = 0;
	t->from.len = 0;
	if (t->cap < len + 1 || t->cap > (1u << 20)) {
		free(t->line);
		t->cap = len + 1 > 4096 ? len + 1 : 4096;
		t->line = xmalloc(t->cap);
	}
	memcpy(t->line, line, len);
	t->line[len] = '\0';
	t->len = len;
	inwindow++;
	stats.read++;

	if (t->j && len > (1u << 20))
		json_free(&t->j);	/* its tokens would stay at the size of a huge line */
	if (!t->j)
		t->j = json_new();
	char msg[160];
	if (record_parse(t->j, t->line, len, msg, sizeof msg) != 0) {
		warn_scrubbed(file, lineno, "%s", msg);
		t->out.len = 0;
		bad_record(&t->out, file, lineno, line, len, msg);
		buf_addc(&t->out, '\n');
		t->failed = 1;
		t->etype = "bad_record";
		json_free(&t->j);
		task_done(t);
		return;
	}
	if (resolve(t) == 0)
		ready_push(t);
}

/*
 * --samples N: each input record goes in N times, as N records, each with
 * "sample" set to 0..N-1 (replacing one it had); a line that is not a JSON
 * object goes in once, to come out as its bad_record error.
 */
static struct {
	qa_buf line;		/* the input line being fanned out */
	const char *file;
	unsigned long lineno;
	long next;		/* the next sample to admit; samples: done */
	qa_json *j;
	qa_buf out;
} fan;

static void admit_sample(void)
{
	char v[24];
	int n = snprintf(v, sizeof v, "%ld", fan.next++);
	qa_field fl = { "sample", v, (size_t)n };
	fan.out.len = 0;
	splice_record(&fan.out, fan.j, fan.line.p, fan.line.len, &fl, 1);
	uint64_t seq = next_seq++;
	admit(slot_for(seq), seq, fan.file, fan.lineno, fan.out.p, fan.out.len);
}

/* 1 when line is to be fanned out (the first sample is admitted next), 0 when it goes in as it is. */
static int fan_start(const char *file, unsigned long lineno, const char *line, size_t len)
{
	char msg[160];
	if (!fan.j)
		fan.j = json_new();
	if (record_parse(fan.j, line, len, msg, sizeof msg) != 0)
		return 0;
	fan.line.len = 0;
	buf_add(&fan.line, line, len);
	/* the tokens point into fan.line from here on */
	if (record_parse(fan.j, fan.line.p, fan.line.len, msg, sizeof msg) != 0)
		return 0;
	fan.file = file;
	fan.lineno = lineno;
	fan.next = 0;
	return 1;
}

/* 1 while an input record's samples are still to go in. */
int samples_pending(void)
{
	return opt.samples > 1 && fan.line.len && fan.next < opt.samples;
}

void samples_free(void)
{
	buf_free(&fan.line);
	buf_free(&fan.out);
	json_free(&fan.j);
}

/* Reads records while the window has room and input is there without waiting. */
void admit_input(struct feed *f)
{
	cache_read_batch();
	while (window_has_room()) {
		if (opt.samples > 1 && fan.line.len && fan.next < opt.samples) {
			admit_sample();
			continue;
		}
		char *line;
		size_t len;
		int r = feed_line(f, &line, &len);
		if (r < 0)
			return;
		if (r == 0) {
			if (f->done || !fd_readable(f->fd))
				return;
			feed_fill(f);
			continue;
		}
		if (strspn(line, " \t\r") == len)
			continue;	/* a blank line carries no record */
		if (opt.samples > 1 && fan_start(f->name, f->lineno, line, len))
			continue;	/* its samples go in at the top of the loop, as the window has room */
		uint64_t seq = next_seq++;
		admit(slot_for(seq), seq, f->name, f->lineno, line, len);
	}
}

/* ---- output ---- */

void release(struct task *t)
{
	t->st = T_FREE;
	inwindow--;
	if (opt.unordered)
		free_slots[nfree++] = (int)(t - tasks);
	if (t->out.cap > (1u << 20))
		buf_free(&t->out);
	if (t->body.cap > (1u << 20))
		buf_free(&t->body);
}

/* Moves finished records to the output: the head of the window, or any (--unordered). */
void collect(void)
{
	if (opt.unordered) {
		for (size_t i = 0; i < ntasks; i++)
			if (tasks[i].st == T_DONE) {
				buf_add(&outbuf, tasks[i].out.p, tasks[i].out.len);
				release(&tasks[i]);
			}
		return;
	}
	while (head_seq < next_seq) {
		struct task *t = &tasks[head_seq % ntasks];
		if (t->st != T_DONE)
			break;
		buf_add(&outbuf, t->out.p, t->out.len);
		release(t);
		head_seq++;
	}
}

/*
 * Writes the records collected; all: now, else they may wait with the
 * answers stored this turn for more to commit with (cache_hold).  The
 * answers of the records written are on disk before the records are.
 */
void flush_out(int all)
{
	if (!all && cache_hold(now_ms()))
		return;
	cache_commit();
	if (!outbuf.len)
		return;
	out_write(stdout, &outbuf);
	out_flush();
}

/* ---- signals: stop admitting, let what is in flight finish, write it all ---- */

volatile sig_atomic_t got_signal, nsignals;

int stopping;

double grace_end;

void on_signal(int sig)
{
	if (!got_signal)
		got_signal = sig;
	nsignals++;
	if (multi)
		curl_multi_wakeup(multi);	/* a write to curl's own socket pair: out of the wait at once */
}

void setup_signals(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;	/* a write of the output is finished, never cut */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* A record the signal caught before it was answered. */
void interrupt(struct task *t)
{
	char msg[96];
	snprintf(msg, sizeof msg, "interrupted by %s before an answer", strsignal(got_signal));
	fail(t, "interrupted", 0, msg);
}

/*
 * After a signal, every record that is not in flight is done at once;
 * those in flight get until the grace ends (or a second signal), then
 * they are taken off curl and done too.
 */
void stop_idle(double now)
{
	int all = nsignals > 1 || now >= grace_end;
	for (size_t i = 0; i < ntasks; i++) {
		struct task *t = &tasks[i];
		switch (t->st) {
		case T_READY:
			interrupt(t);
			break;
		case T_WAIT:
			waiting--;
			interrupt(t);
			break;
		case T_SIMWAIT:
			if (!all)
				break;
			waiting--;
			inflight--;
			t->ep->inflight--;
			interrupt(t);
			break;
		case T_ACTIVE:
			if (!all)
				break;
			curl_multi_remove_handle(multi, t->easy);
			easy_put(t->easy);
			t->easy = NULL;
			inflight--;
			t->ep->inflight--;
			interrupt(t);
			break;
		default:
			break;
		}
	}
	ready_head = ready_tail = -1;
}

/* Input records never admitted: those that can be read without waiting.  -1 after the count: more may follow. */
long never_admitted(struct feed *f, int *more)
{
	long n = 0;
	*more = 0;
	for (;;) {
		char *line;
		size_t len;
		int r = feed_line(f, &line, &len);
		if (r < 0)
			return n;
		if (r == 0) {
			if (!fd_readable(f->fd)) {
				*more = 1;
				return n;
			}
			feed_fill(f);
			continue;
		}
		if (strspn(line, " \t\r") != len)
			n++;
	}
}
