/*
 * lib/pace against a simulated provider, in virtual time: issue 21's
 * benchmark set-up (buckets of 1,200 requests and 120,000 tokens a minute,
 * full at the start; answers in 20 ms; 600 tasks of mixed size, the server
 * counting a token per 3 bytes plus max_tokens) played as discrete events.
 * It checks the decisions: the finish against the buckets' lower bound and
 * the 429s, with headers (1.10x, 1%) and without (1.25x, 3%); and that every
 * planned send had the budget the last headers said.  No clock is read.
 */
#include <stdlib.h>
#include "t.h"
#include "pace.h"

#define N 600
#define RPM 1200.0
#define TPM 120000.0
#define LAT 20.0

struct sbucket { double cap, rate, left, at; };

static double sleft(struct sbucket *b, double t)
{
	b->left = fmin(b->cap, b->left + (t - b->at) * b->rate);
	b->at = t;
	return b->left;
}

struct flight { long id; int task; double done; long status; pace_hdrs h; double ra; };

struct result { double finish; int sent, refused, planned_short; };

static size_t task_bytes[N];

static void tasks(void)
{
	unsigned long s = 42;	/* bench/ratelimit.sh's generator */
	for (int i = 0; i < N; i++) {
		s = s * 16807 % 2147483647UL;
		unsigned long r = s % 100;
		task_bytes[i] = r < 50 ? 90 + r * 4 : r < 85 ? 600 + r * 8 : 2000 + r * 10;
	}
}

static void add(pace_hdrs *h, const char *name, double v, int dur)
{
	char b[64];
	if (dur)
		snprintf(b, sizeof b, "%.3fs", v / 1000);
	else
		snprintf(b, sizeof b, "%.0f", floor(v));
	pace_hdrs_add(h, name, strlen(name), b, strlen(b), 0);
}

static struct result run(int headers)
{
	struct sbucket rq = { RPM, RPM / 60000, RPM, 0 }, tk = { TPM, TPM / 60000, TPM, 0 };
	pace_opts o = { .conc_cap = 64 };
	pace_t *p = pace_new(&o);
	int queue[N], qn = N, done = 0;
	double ready_at[N] = { 0 };
	for (int i = 0; i < N; i++)
		queue[i] = i;
	struct flight fl[256];
	int nf = 0;
	struct result res = { 0 };
	double now = 0;
	while (done < N && now < 1e7) {
		double next = HUGE_VAL;
		/* send what may go now, in task order, retries when their Retry-After is over */
		for (int qi = 0; qi < qn && nf < pace_concurrency(p);) {
			int t = queue[qi];
			if (ready_at[t] > now) {
				next = fmin(next, ready_at[t]);
				qi++;
				continue;
			}
			pace_decision d;
			double when = pace_when(p, task_bytes[t], 128, now, &d);
			if (when > now) {
				next = fmin(next, when);
				break;
			}
			/* what the client believed must be what the server has, less its own misestimate */
			double ptok = ceil((double)task_bytes[t] / 3), charge = ptok + 128;
			long id = pace_charge(p, task_bytes[t], 128, now);
			memmove(queue + qi, queue + qi + 1, (size_t)(qn - qi - 1) * sizeof *queue);
			qn--;
			res.sent++;
			struct flight *f = &fl[nf++];
			f->id = id;
			f->task = t;
			pace_hdrs_init(&f->h);
			double wr = sleft(&rq, now) >= 1 ? 0 : (1 - rq.left) / rq.rate;
			double wt = sleft(&tk, now) >= charge ? 0 : (charge - tk.left) / tk.rate;
			if (headers && d.left[PACE_TOK] >= 0 && d.left[PACE_TOK] >= charge && tk.left < charge - 1)
				res.planned_short++;
			if (wr > 0 || wt > 0) {
				f->status = 429;
				f->ra = ceil(fmax(wr, wt));
				f->done = now + 1;
			} else {
				rq.left -= 1;
				tk.left -= charge;
				f->status = 200;
				f->ra = -1;
				f->done = now + LAT;
			}
			if (headers) {
				add(&f->h, "x-ratelimit-limit-requests", RPM, 0);
				add(&f->h, "x-ratelimit-remaining-requests", rq.left, 0);
				add(&f->h, "x-ratelimit-reset-requests", (RPM - rq.left) / rq.rate, 1);
				add(&f->h, "x-ratelimit-limit-tokens", TPM, 0);
				add(&f->h, "x-ratelimit-remaining-tokens", tk.left, 0);
				add(&f->h, "x-ratelimit-reset-tokens", (TPM - tk.left) / tk.rate, 1);
			}
		}
		for (int i = 0; i < nf; i++)
			next = fmin(next, fl[i].done);
		if (!isfinite(next))
			break;
		now = fmax(now, next);
		for (int i = 0; i < nf;) {
			struct flight *f = &fl[i];
			if (f->done > now) {
				i++;
				continue;
			}
			double ptok = ceil((double)task_bytes[f->task] / 3);
			pace_answer(p, f->id, f->status, headers ? &f->h : NULL, f->status == 200 ? (long)ptok : -1,
			    f->done - (f->status == 200 ? LAT : 1), f->ra, NULL, 0, now);
			if (f->status == 200) {
				done++;
			} else {
				res.refused++;
				ready_at[f->task] = now + f->ra;
				memmove(queue + 1, queue, (size_t)qn * sizeof *queue);	/* a retry goes first */
				queue[0] = f->task;
				qn++;
			}
			fl[i] = fl[--nf];
		}
	}
	res.finish = now;
	pace_free(&p);
	return res;
}

int main(void)
{
	tasks();
	double tok = 0;
	for (int i = 0; i < N; i++)
		tok += ceil((double)task_bytes[i] / 3) + 128;
	double floor_ms = fmax((N - RPM) / RPM, (tok - TPM) / TPM) * 60000 + LAT;
	CHECK_NEAR(tok, 261257, 0);	/* the same tasks as bench/ratelimit.sh */
	struct result h = run(1), n = run(0);
	printf("# headers: %.0f ms (%.3fx the floor of %.0f ms), %d sent, %d refused (%.2f%%)\n", h.finish,
	    h.finish / floor_ms, floor_ms, h.sent, h.refused, 100.0 * h.refused / h.sent);
	printf("# no headers: %.0f ms (%.3fx), %d sent, %d refused (%.2f%%)\n", n.finish, n.finish / floor_ms,
	    n.sent, n.refused, 100.0 * n.refused / n.sent);
	CHECK(h.sent - h.refused == N);
	CHECK(n.sent - n.refused == N);
	CHECK(h.finish >= floor_ms);
	CHECK(h.finish <= 1.10 * floor_ms);
	CHECK(h.refused <= N / 100);
	CHECK(h.planned_short == 0);
	CHECK(n.finish <= 1.25 * floor_ms);
	CHECK(n.refused <= 3 * N / 100);
	return t_done("test_pace_sim");
}
