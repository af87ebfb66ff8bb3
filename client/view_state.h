/*
 * view_state.h - what the console shows, as data: the console's model of the
 * node, built from snapshots, events and statistics, and nothing else.
 *
 * Pure: no curses, no I/O and no clock. Every function that depends on time
 * takes now_ms (the node's clock, in ms since the epoch), so tests drive it
 * with made-up times. Each apply function returns VIEW_DIRTY_* bits saying
 * which panels changed (the console redraws only those) and VIEW_NEED_* bits
 * asking the console to fetch something.
 *
 * Two modes. An agent view (worker token) tracks its own worker, its pending
 * and accepted reservations with their tasks, and its queues. A supervisor
 * view tracks every worker with the tasks it holds, every queue, workspace
 * totals, and per-queue history (arrivals, abandons, answers) in time buckets
 * for sparklines and the service level.
 *
 * JSON arguments are borrowed. Strings returned point into the view and stay
 * valid until the next apply call.
 */
#ifndef SWB_VIEW_STATE_H
#define SWB_VIEW_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "view_stats.h"

/* Events kept for the events pane (newest first); older ones fall off. */
#define VIEW_EVENTS_MAX 500

/* Longest name kept (names on the wire may be 256 bytes; a screen shows far fewer). */
#define VIEW_NAME_MAX 96

/* A SID is 34 characters; room for the NUL. */
#define VIEW_SID_MAX 36

/* Tasks shown per worker in the grid (multitasking workers hold several). */
#define VIEW_WORKER_TASKS_MAX 4

/* Priorities listed per queue ("waiting by priority"); the rest are summed as "other". */
#define VIEW_PRIO_MAX 6

/* Longest event line kept. */
#define VIEW_EVENT_TEXT_MAX 160

enum view_dirty {
	VIEW_DIRTY_HEADER = 1 << 0,
	VIEW_DIRTY_RESERVATIONS = 1 << 1,
	VIEW_DIRTY_ACTIVITIES = 1 << 2,
	VIEW_DIRTY_QUEUES = 1 << 3,
	VIEW_DIRTY_EVENTS = 1 << 4,
	VIEW_DIRTY_WORKERS = 1 << 5,
	VIEW_DIRTY_ALL = 0xff,
	/* requests to the console */
	VIEW_NEED_STATS = 1 << 8,  /* queue statistics are stale */
	VIEW_NEED_QUEUES = 1 << 9, /* the set of queues may have changed: fetch the list */
	VIEW_NEED_ACTIVITIES = 1 << 10, /* an activity was created, renamed or deleted: fetch the list */
	VIEW_NEW_RESERVATION = 1 << 11, /* a reservation arrived: alert the agent */
};

enum view_mode { VIEW_AGENT, VIEW_SUPERVISOR };

enum view_res_status { VIEW_RES_PENDING, VIEW_RES_ACCEPTED, VIEW_RES_WRAPPING };

struct view_activity {
	char sid[VIEW_SID_MAX];
	char name[VIEW_NAME_MAX];
	bool available;
};

/* A reservation the agent holds, with what it knows of the task. */
struct view_reservation {
	char sid[VIEW_SID_MAX];
	char task_sid[VIEW_SID_MAX];
	char queue_sid[VIEW_SID_MAX];
	char queue_name[VIEW_NAME_MAX];
	char channel[VIEW_NAME_MAX];
	char workflow[VIEW_NAME_MAX];
	enum view_res_status status;
	int priority;
	int timeout_s;         /* the reservation timeout, seconds (0: unknown) */
	int64_t task_created_ms; /* task age is measured from here */
	int64_t created_ms;    /* when the reservation was offered */
	int64_t deadline_ms;   /* when a pending reservation times out (0: unknown) */
	int64_t arrived_ms;    /* when this console first saw it (new-reservation highlight) */
	json_t *attributes;    /* the task's attributes (an object, owned by the view) */
};

struct view_prio_count {
	int priority;
	long count;
};

struct view_queue {
	char sid[VIEW_SID_MAX];
	char name[VIEW_NAME_MAX];
	bool has_stats;
	int64_t stats_ms; /* node time of the statistics */
	long pending, reserved, assigned, wrapping;
	long available, eligible;
	long longest_wait_s; /* oldest waiting task's age at stats_ms */
	struct view_prio_count by_prio[VIEW_PRIO_MAX];
	int n_prio;
	long other_prio; /* waiting tasks in priorities past VIEW_PRIO_MAX */
	struct view_hist hist; /* supervisor: arrivals, abandons, answers */
};

struct view_worker_task {
	char task_sid[VIEW_SID_MAX];
	char reservation_sid[VIEW_SID_MAX];
	char queue_name[VIEW_NAME_MAX];
	enum view_res_status status;
};

struct view_worker {
	char sid[VIEW_SID_MAX];
	char name[VIEW_NAME_MAX];
	char activity_sid[VIEW_SID_MAX];
	char activity_name[VIEW_NAME_MAX];
	bool available;
	int64_t since_ms; /* when it entered its activity (0: unknown) */
	int ntasks;
	struct view_worker_task tasks[VIEW_WORKER_TASKS_MAX];
	int more_tasks; /* held beyond VIEW_WORKER_TASKS_MAX */
};

struct view_event {
	uint64_t seq; /* 0 for the console's own notes */
	int64_t ms;
	char type[48];
	char text[VIEW_EVENT_TEXT_MAX];
};

struct view_totals {
	bool has_stats;
	long pending, reserved, assigned, wrapping;
	long workers, available;
	long longest_wait_s;
	int64_t stats_ms;
};

struct view;

/* A new, empty view; sl_threshold_s is the service-level threshold (> 0). NULL when out of memory. */
struct view *view_new(enum view_mode mode, int sl_threshold_s);
void view_free(struct view *v);

enum view_mode view_mode(const struct view *v);
int view_sl_threshold(const struct view *v);

/* True once a snapshot has been applied. */
bool view_synced(const struct view *v);
uint64_t view_snapshot_seq(const struct view *v);
const char *view_workspace_name(const struct view *v);

/*
 * Replaces the view's picture with a snapshot (the node's snapshot op result).
 * A snapshot with "worker" switches the view to agent mode, one with "workers"
 * to supervisor mode. Events and queue history survive (the history of the
 * current buckets is cleared, to be reseeded by view_seed_history).
 */
unsigned view_apply_snapshot(struct view *v, json_t *snap, int64_t now_ms);

/* Applies one node event (as events.next delivers it). Synthetic events are the console's business. */
unsigned view_apply_event(struct view *v, json_t *ev, int64_t now_ms);

/* Applies a task_queues.stats result (matched by task_queue_sid; unknown queues are ignored). */
unsigned view_apply_queue_stats(struct view *v, json_t *stats, int64_t now_ms);

/* Applies a workspace.stats result to the totals. */
unsigned view_apply_workspace_stats(struct view *v, json_t *stats, int64_t now_ms);

/*
 * Supervisor: replaces every worker's held tasks with the given active
 * reservations (an array of reservation representations, with "task_sid",
 * "worker_sid", "reservation_status", "task_queue_sid").
 */
unsigned view_apply_holdings(struct view *v, json_t *reservations);

/*
 * Supervisor: adds past events (task-queue.entered, task.canceled,
 * reservation.accepted ...) with seq <= upto_seq to the queue history, so
 * sparklines and the service level survive a restart of the console.
 */
unsigned view_seed_history(struct view *v, json_t *events, uint64_t upto_seq, int64_t now_ms);

/* Adds a line of the console's own to the events pane ("resynced with the node"). */
unsigned view_note(struct view *v, int64_t now_ms, const char *type, const char *text);

/* Replaces the activities with an activities.list result's array (in order). */
unsigned view_apply_activities(struct view *v, json_t *activities);

/*
 * Replaces the queues with a task_queues.list result's array, keeping the
 * statistics and history of queues that stay.
 */
unsigned view_apply_queue_list(struct view *v, json_t *queues, int64_t now_ms);

/* ---- reading ---- */

size_t view_activity_count(const struct view *v);
const struct view_activity *view_activity_at(const struct view *v, size_t i);
const struct view_activity *view_activity_find(const struct view *v, const char *sid_or_name);

/* Agent: the worker itself (NULL before a snapshot). */
const struct view_worker *view_me(const struct view *v);

/* Agent: reservations in display order: pending by deadline, then accepted, then wrapping. */
size_t view_reservation_count(const struct view *v);
const struct view_reservation *view_reservation_at(const struct view *v, size_t i);
const struct view_reservation *view_reservation_find(const struct view *v, const char *sid);
/* The index of reservation sid in display order, or -1. */
long view_reservation_index(const struct view *v, const char *sid);

/* Queues in the snapshot's order. */
size_t view_queue_count(const struct view *v);
const struct view_queue *view_queue_at(const struct view *v, size_t i);
const struct view_queue *view_queue_find(const struct view *v, const char *sid);

/* Events, newest first (i = 0). */
size_t view_event_count(const struct view *v);
const struct view_event *view_event_at(const struct view *v, size_t i);
/* Events ever added (the pane uses it to keep its scroll position steady). */
uint64_t view_event_total(const struct view *v);

/* Supervisor: workers in the snapshot's order. */
size_t view_worker_count(const struct view *v);
const struct view_worker *view_worker_at(const struct view *v, size_t i);
const struct view_worker *view_worker_find(const struct view *v, const char *sid);

const struct view_totals *view_totals(const struct view *v);

/*
 * Agent: updates a reservation from an update answer (a reservation
 * representation), so the screen shows the result before its event arrives.
 */
unsigned view_apply_reservation(struct view *v, json_t *res, int64_t now_ms);

/* Agent: a task changed its assignment status (a tasks.update answer). */
unsigned view_apply_task(struct view *v, json_t *task, int64_t now_ms);

/* Agent: the worker changed (a workers.update answer). */
unsigned view_apply_worker(struct view *v, json_t *worker, int64_t now_ms);

#endif
