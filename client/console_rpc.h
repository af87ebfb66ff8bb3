/*
 * console_rpc.h - the console's calls to the node, off the UI thread.
 *
 * swb_client_call blocks until the node answers or the timeout passes; the
 * screen must never wait for that. The UI thread submits jobs; one worker
 * thread runs them in order (actions ahead of background refreshes) and queues
 * the finished jobs; a descriptor polls readable while finished jobs wait, so
 * the console's poll loop picks them up with everything else.
 *
 * A job is one op (op + args) or a compound run function that makes several
 * calls (paged lists); either way the answer lands in job->result.
 */
#ifndef SWB_CONSOLE_RPC_H
#define SWB_CONSOLE_RPC_H

#include <jansson.h>
#include <stdbool.h>

#include "swb_client.h"
#include "swb_error.h"

#define CONSOLE_RPC_REF_MAX 96

struct console_job;

/* Runs in the worker thread: makes calls with c, fills j->result, returns the outcome. */
typedef enum swb_code (*console_job_fn)(swb_client *c, struct console_job *j, struct swb_err *err);

struct console_job {
	int kind;                     /* the console's: what to do with the answer */
	char op[48];                  /* the op, for plain jobs and messages */
	json_t *args;                 /* owned; NULL for {} */
	int timeout_ms;
	console_job_fn run;           /* NULL: call op with args */
	char ref[CONSOLE_RPC_REF_MAX]; /* the console's: a SID or label the answer is about */
	char ref2[CONSOLE_RPC_REF_MAX];
	bool urgent;                  /* ahead of queued background jobs */
	/* filled by the worker thread */
	enum swb_code rc;
	struct swb_err err;
	json_t *result; /* owned; NULL unless rc == SWB_OK */
	struct console_job *next;
};

struct console_rpc;

/* Starts the worker thread over client c (borrowed; must outlive the rpc). NULL on failure. */
struct console_rpc *console_rpc_new(swb_client *c, struct swb_err *err);

/* Stops the thread (after the call in flight, if any) and frees every job. */
void console_rpc_free(struct console_rpc *r);

/* A zeroed job (calloc) for the caller to fill and submit. */
struct console_job *console_job_new(int kind, const char *op, json_t *args_stolen, int timeout_ms);

/* Queues j (the rpc owns it until console_rpc_next hands it back). */
void console_rpc_submit(struct console_rpc *r, struct console_job *j);

/* Polls readable while finished jobs wait. */
int console_rpc_fd(struct console_rpc *r);

/* The next finished job (the caller frees it with console_job_free), or NULL. */
struct console_job *console_rpc_next(struct console_rpc *r);

/* Jobs submitted and not yet handed back. */
int console_rpc_pending(struct console_rpc *r);

/* True while the worker thread is inside a call. */
bool console_rpc_busy(struct console_rpc *r);

void console_job_free(struct console_job *j);

#endif
