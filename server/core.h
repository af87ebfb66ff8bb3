/*
 * core.h - the routing core: one workspace's whole state, as a plain state machine.
 *
 * The core takes commands (an op name, JSON arguments, the acting identity and
 * the current time) and timer ticks, changes state, and emits every change as a
 * TaskRouter-named event into a sink. It does no I/O and reads no clock: the
 * caller passes `now` (milliseconds since the epoch, never decreasing; a smaller
 * value is treated as the last one seen). Given the same seed and the same inputs
 * it produces the same SIDs, events and results, so a journal of inputs can be
 * replayed.
 *
 * Ops use TaskRouter's resource and field names in snake_case ("workers.create"
 * with {"friendly_name", "attributes", "activity_sid"}); see docs/protocol.md
 * and the op table in core_ops.c. Results are TaskRouter representations.
 *
 * Single-threaded: only the routing thread may call into a core.
 */
#ifndef SWB_CORE_H
#define SWB_CORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swb_error.h"

typedef struct swb_core swb_core;

/* Who asks. A worker may act only on itself and its own reservations. */
enum swb_actor_kind {
	SWB_ACTOR_SYSTEM,     /* the node itself, config loading, tests */
	SWB_ACTOR_ADMIN,
	SWB_ACTOR_SUPERVISOR, /* read everything; change workers' activities */
	SWB_ACTOR_WORKER,
};

struct swb_actor {
	enum swb_actor_kind kind;
	const char *worker_sid; /* for SWB_ACTOR_WORKER (borrowed) */
};

/* One state change. Everything is borrowed for the duration of the sink call. */
struct swb_event {
	uint64_t seq;              /* 1, 2, 3... per core */
	const char *sid;           /* "EV..." */
	const char *type;          /* TaskRouter event type, e.g. "reservation.created" */
	int64_t ts_ms;
	const char *resource_type; /* "task", "reservation", "worker", "task_queue", "workflow", "activity", "task_channel", "workspace" */
	const char *resource_sid;
	const char *description;
	json_t *data;              /* flat object of TaskRouter event_data fields (task_sid, worker_name, ...) */
};

typedef void (*swb_event_sink)(void *ctx, const struct swb_event *ev);

struct swb_core_opts {
	uint64_t seed;               /* SIDs are drawn from this */
	int64_t now_ms;              /* creation time */
	swb_event_sink sink;         /* may be NULL: then nothing is emitted and seq stays 0 */
	void *sink_ctx;
	const char *account_sid;     /* NULL: generated */
	const char *workspace_sid;   /* NULL: generated */
	const char *friendly_name;   /* NULL: "Switchboard" */
	bool no_default_resources;   /* true: start without the default activities and channels */
};

/* A new core, or NULL when out of memory. Emits nothing for the default resources. */
swb_core *swb_core_new(const struct swb_core_opts *opts);
void swb_core_free(swb_core *c);

/* Replaces the event sink (e.g. after loading configuration silently). */
void swb_core_set_sink(swb_core *c, swb_event_sink sink, void *ctx);

/*
 * Runs one op. args is borrowed (NULL means {}). On success returns SWB_OK and,
 * when result is non-NULL, stores a new reference in *result. On failure returns
 * the code, fills err, leaves *result untouched, and has changed nothing.
 */
enum swb_code swb_core_exec(swb_core *c, int64_t now, const struct swb_actor *actor, const char *op,
			    json_t *args, json_t **result, struct swb_err *err);

/* Fires every timer due at or before now (reservation, target, task timeouts). */
void swb_core_tick(swb_core *c, int64_t now);

/* The earliest pending deadline in ms, or INT64_MAX when none. */
int64_t swb_core_next_deadline(const swb_core *c);

/* The timers held, live or stale; stays within about twice the live ones (for tests and metrics). */
size_t swb_core_timer_count(const swb_core *c);

/* The last event sequence emitted (0 when none). */
uint64_t swb_core_last_seq(const swb_core *c);

/* Where an op may be called from, checked by the node before swb_core_exec. */
enum swb_op_scope {
	SWB_OP_WORKER,     /* any token; the handler checks ownership for workers */
	SWB_OP_SUPERVISOR, /* supervisor or admin (the handler may allow narrower worker use) */
	SWB_OP_ADMIN,      /* admin only */
};

struct swb_op_info {
	const char *name;
	enum swb_op_scope scope;
	bool mutates;      /* changes state (journaled) */
	const char *summary;
};

/* The op's table entry, or NULL if no such op. */
const struct swb_op_info *swb_core_op_find(const char *name);
/* The whole table, ending with a zeroed entry. */
const struct swb_op_info *swb_core_ops(void);

/*
 * The whole state as JSON (a new reference), and a core restored from it that
 * continues exactly as the original would (same SIDs, same events). The journal
 * starts a rotated file with a snapshot. NULL + err when snap is not valid.
 */
json_t *swb_core_snapshot(const swb_core *c);
swb_core *swb_core_restore(json_t *snap, swb_event_sink sink, void *ctx, struct swb_err *err);

/* Convenience: exec with the system actor; aborts nothing, returns the code. */
enum swb_code swb_core_sys(swb_core *c, int64_t now, const char *op, json_t *args, json_t **result,
			   struct swb_err *err);

#endif
