/*
 * qa-send: the settings with their defaults, the clock and the jitter,
 * apart from main.c so that a unit test links every file of the tool but
 * main.c (tests/unit/test_send.c).
 */

#include "qa-send.h"

struct send_opts opt = {
	.concurrency = 16, .retries = 2, .max_retries_total = -1, .retry_budget = 0.5, .grace_ms = 10e3,
	.timeout_ms = 300e3, .connect_timeout_ms = 10e3, .deadline_ms = 600e3,
	.backoff_base_ms = 500, .backoff_cap_ms = 8000, .retry_after_max_ms = 60e3,
	.cooldown_ms = 5000, .allowed_fails = 3,
};

double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* splitmix64: the backoff jitter, reproducible with --seed. */
uint64_t rng_state;

double rng_unif(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	z ^= z >> 31;
	return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}
