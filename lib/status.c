/*
 * The run status, OpenBSD's rval: one per process, raised as things go
 * wrong and never lowered, and the status of every way out: the end of
 * main, qa_die(), and a reader that went away (EPIPE).
 */
#include <stdlib.h>

#include "qa.h"

static int run_status = QA_EXIT_OK;

void status_raise(int status)
{
	if (status > run_status)
		run_status = status;
}

int status_get(void)
{
	return run_status;
}

void status_exit(void)
{
	out_close();
	exit(run_status);
}
