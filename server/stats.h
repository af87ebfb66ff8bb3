/*
 * stats.h - TaskRouter's statistics of a workspace, a task queue and workers:
 * {"realtime": {...}, "cumulative": {...}} with TaskRouter's field names.
 *
 * Real-time figures are the core's (task_queues.stats, workspace.stats,
 * workers). Cumulative figures are counted from the durable events of a window
 * (Minutes, or StartDate..EndDate; TaskRouter's default is the last 15
 * minutes): the in-memory window and, for anything older, the journal
 * (node_events_scan), so any window within the retention is exact.
 *
 * The node ops "stats.queue", "stats.workspace" and "stats.worker" call these;
 * so can the REST Statistics resources. All run on the routing thread.
 *
 * args (borrowed, snake_case, all optional unless said):
 *   sid                 stats_queue: the queue (WQ sid or name, required);
 *                       stats_worker: one worker (WK sid or name), else all workers
 *   minutes             1..the retention in minutes (not with start_date)
 *   start_date,end_date ISO 8601 ("2026-11-26T00:00:00Z")
 *   split_by_wait_time  "10,30,60" or [10,30,60]: seconds (queue and workspace)
 *   task_channel        a channel's unique name or TC sid: only its tasks
 * On SWB_OK *out is a new reference. Errors name the argument at fault.
 * Permissions are the core's: stats_queue any token (as task_queues.stats),
 * stats_workspace and all workers a supervisor, one worker also that worker.
 */
#ifndef SWB_STATS_H
#define SWB_STATS_H

#include "node_internal.h"

#define SWB_STATS_DEFAULT_MINUTES 15 /* TaskRouter's default window */
#define SWB_STATS_MAX_SPLITS 10      /* split_by_wait_time thresholds */

enum swb_code stats_queue(struct wspace *w, const struct swb_actor *a, json_t *args, json_t **out,
			  struct swb_err *err);
enum swb_code stats_workspace(struct wspace *w, const struct swb_actor *a, json_t *args, json_t **out,
			      struct swb_err *err);
enum swb_code stats_worker(struct wspace *w, const struct swb_actor *a, json_t *args, json_t **out,
			   struct swb_err *err);

#endif
