/*
 * bot_engine.h - headless agents: one process drives many workers, each with
 * its own client connection and worker token, exactly as a console would (no
 * back door into the node). Also the call generator: tasks arriving at a
 * steady rate with IVR-like attributes, through calls.create when the node has
 * simulated calls and tasks.create otherwise.
 *
 * One thread runs a loop over every client's event fd (epoll) and a timer
 * heap; the policy (bot_policy.h) decides what each worker does and when.
 * Requests run on a small pool of threads so that a slow answer never holds
 * up the loop; each worker has at most one request in flight, in order.
 *
 * Lifecycle: swb_bot_new, then add workers (by name, resolved with an admin
 * token, or by token), then swb_bot_run, which returns after the duration or
 * swb_bot_stop; swb_bot_report describes the run; swb_bot_free.
 */
#ifndef SWB_BOT_ENGINE_H
#define SWB_BOT_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bot_policy.h"
#include "swb_error.h"

typedef struct swb_bot swb_bot;

/* Request threads when the configuration says 0. */
#define SWB_BOT_DEFAULT_CALL_THREADS 4
#define SWB_BOT_MAX_CALL_THREADS 64

/* How many times a request that found the node unreachable is tried. */
#define SWB_BOT_ATTEMPTS 3

enum swb_bot_via { SWB_BOT_VIA_AUTO, SWB_BOT_VIA_TASKS, SWB_BOT_VIA_CALLS };

struct swb_bot_config {
	const char *url;         /* NULL: the default ipc url */
	const char *data_dir;    /* the node's data directory for minting tokens (NULL: the default) */
	const char *admin_token; /* NULL: minted from data_dir when needed */
	struct swb_bot_policy policy; /* finished (swb_bot_policy_finish) */
	int call_threads;        /* request threads (0: SWB_BOT_DEFAULT_CALL_THREADS) */
	int call_timeout_ms;     /* per request */
	long long token_ttl_s;   /* lifetime of minted worker tokens */
	const char *available_activity; /* what a worker sets to take calls ("Available") */
	const char *break_activity;     /* what it sets on a break ("Break") */
	const char *exit_activity;      /* what it sets when the bot exits (NULL: leave it) */
	bool set_available;      /* set workers Available at start (default true) */

	/* The call generator: off while calls_per_s is 0. */
	double calls_per_s;
	bool poisson;            /* exponential gaps instead of a fixed interval */
	double abandon;          /* probability that a caller hangs up if not answered in time */
	struct swb_dist patience; /* how long such a caller waits */
	enum swb_bot_via via;
	const char *call_to;     /* the number dialed with calls.create */
	const char *workflow;    /* tasks.create's workflow_sid (NULL: the workspace's only one) */

	FILE *log;               /* live summary, warnings (NULL: stderr) */
	int summary_ms;          /* live summary interval (0: none) */
	const char *ready_file;  /* created once every worker is set up (NULL: none) */
};

/* Fills c with the defaults (the default policy, finished). */
void swb_bot_config_default(struct swb_bot_config *c);

/* A new engine with no workers; copies what it needs from cfg. NULL and err on failure. */
swb_bot *swb_bot_new(const struct swb_bot_config *cfg, struct swb_err *err);

/* Stops everything still running and frees b. NULL is a no-op. */
void swb_bot_free(swb_bot *b);

/* Which workers to drive, by friendly name (resolved with workers.list). */
struct swb_bot_select {
	const char *const *names;   /* exact names (nnames of them) */
	size_t nnames;
	const char *prefix;         /* every worker whose name starts with this */
	bool all;                   /* every worker */
	const char *const *except;  /* names left out (nexcept of them) */
	size_t nexcept;
	int shard, nshards;         /* keep every nshards-th worker of the sorted list, from shard (nshards 0: all) */
};

/*
 * Resolves sel with an admin token (workers.list over all pages) and adds each
 * worker, sorted by name, with a worker token minted from the data directory's
 * secret. A name in sel->names that does not exist is SWB_ENOTFOUND; a
 * selection that matches nobody is SWB_EINVAL. Returns how many were added
 * in *added (may be NULL).
 */
enum swb_code swb_bot_add_selected(swb_bot *b, const struct swb_bot_select *sel, size_t *added, struct swb_err *err);

/*
 * Adds one worker driven with token (copied). sid and name may be NULL: the
 * worker asks session.hello who it is when it starts.
 */
enum swb_code swb_bot_add_worker(swb_bot *b, const char *name, const char *sid, const char *token, struct swb_err *err);

/* How many workers b drives. */
size_t swb_bot_worker_count(const swb_bot *b);

/*
 * Called on the loop thread each time a worker sees a new reservation, with
 * the task's and the worker's SIDs (borrowed for the call) and the
 * CLOCK_MONOTONIC time in ns at which the event was taken from the client.
 * For benchmarks.
 */
typedef void swb_bot_seen_fn(void *ctx, const char *task_sid, const char *worker_sid, int64_t mono_ns);
void swb_bot_set_seen_hook(swb_bot *b, swb_bot_seen_fn *fn, void *ctx);

/*
 * Runs the loop: sets up every worker, starts the generator, and keeps going
 * until duration_ms passes (<= 0: until swb_bot_stop). Then the generator
 * stops, and for up to drain_ms the workers go on until every task the
 * generator has seen is completed or canceled; then the workers move to the
 * exit activity and everything is closed. A second swb_bot_stop skips the
 * drain. Returns SWB_OK unless the loop itself failed.
 */
enum swb_code swb_bot_run(swb_bot *b, int64_t duration_ms, int64_t drain_ms, struct swb_err *err);

/* Asks a running loop to stop; async-signal-safe, callable from any thread. */
void swb_bot_stop(swb_bot *b);

/*
 * The run's figures as JSON (a new reference): workers, reservations seen /
 * accepted / rejected / ignored / timed out / canceled / rescinded, tasks
 * wrapped and completed, breaks, disconnects, errors, the latency from a
 * reservation's creation (event_date_ms) to the bot seeing it, and the
 * generator's accounting (calls placed; tasks created, answered, completed,
 * canceled by reason, outstanding). Safe after swb_bot_run returns.
 */
json_t *swb_bot_report(swb_bot *b);

/* Writes the one-line live summary to f. */
void swb_bot_print_summary(swb_bot *b, FILE *f);

#endif
