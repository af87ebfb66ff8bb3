/*
 * core_internal.h - the routing core's data structures, shared by the core_*.c
 * files and nothing else. See core.h for the public contract.
 *
 * Layout for speed: each queue caches which workers are eligible (its
 * target_workers over worker attributes) as `member` nodes, keeps the eligible
 * workers that can take work in an idle list ordered by idle time (head = longest
 * idle), and keeps tasks that still want a worker in priority buckets (highest
 * first), each bucket ordered by age. Routing a task walks the idle list from its
 * head; freeing a worker walks the bucket lists of its queues. Neither scans every
 * worker or task.
 */
#ifndef SWB_CORE_INTERNAL_H
#define SWB_CORE_INTERNAL_H

#include "core.h"
#include "expr.h"
#include "map.h"
#include "sid.h"

#define SWB_MAX_CHANNELS 16            /* task channels per workspace (per-worker array) */
#define SWB_MAX_ACTIVITIES 64          /* activities per workspace (per-queue counters) */
#define SWB_DEFAULT_RES_TIMEOUT_S 120  /* workflow task_reservation_timeout */
#define SWB_MAX_RES_TIMEOUT_S 86400
#define SWB_DEFAULT_TASK_TIMEOUT_S 86400
#define SWB_MAX_TASK_TIMEOUT_S (365 * 86400)
#define SWB_MAX_RESERVED 50            /* TaskRouter's max_reserved_workers bound */
#define SWB_TASK_RETENTION_MS (5 * 60 * 1000) /* finished tasks kept, then task.system-deleted */
#define SWB_NAME_MAX 256               /* friendly_name and unique_name length */
#define SWB_ATTRS_MAX (64 * 1024)      /* serialized attributes */
#define SWB_URL_MAX 2048
#define SWB_MAX_ASSIGNMENTS 1000       /* TaskRouter's max assignment count per task */

enum tstatus { T_PENDING, T_RESERVED, T_ASSIGNED, T_WRAPPING, T_COMPLETED, T_CANCELED, T_NSTATUS };
enum rstatus { R_PENDING, R_ACCEPTED, R_REJECTED, R_TIMEOUT, R_CANCELED, R_RESCINDED, R_WRAPPING, R_COMPLETED };

struct activity {
	char sid[SWB_SID_SIZE];
	char *name;
	bool available;
	int idx; /* slot in per-queue activity counters */
	int64_t created, updated;
};

struct channel {
	char sid[SWB_SID_SIZE];
	char *unique_name;
	char *friendly_name;
	bool optimized;
	int idx; /* slot in worker channel arrays */
	int64_t created, updated;
};

struct wchan {
	int capacity;
	int used;
	bool available;
};

struct worker;
struct queue;

/* Worker w is eligible for queue q. Linked into q's idle list while w can take work. */
struct member {
	struct worker *w;
	struct queue *q;
	struct member *prev, *next;
	bool linked;
};

struct reservation;

struct worker {
	char sid[SWB_SID_SIZE];
	char *name;
	json_t *attrs;
	struct activity *act;
	int64_t created, updated, status_changed;
	int64_t idle_since; /* idle-list order: when it last became able to take work */
	struct wchan ch[SWB_MAX_CHANNELS];
	struct member **mem;
	size_t nmem, capmem;
	struct reservation *r_head, *r_tail; /* every reservation of live tasks */
	uint64_t tasks_assigned; /* cumulative */
	bool taking; /* linked in its queues' idle lists */
};

struct reservation {
	char sid[SWB_SID_SIZE];
	struct task *t;
	struct worker *w;
	struct queue *q;
	enum rstatus st;
	int64_t created, updated, deadline;
	struct activity *prev_act; /* worker's activity before reservation_activity_sid moved it */
	struct reservation *t_prev, *t_next, *w_prev, *w_next;
};

struct target {
	struct queue *q;
	char *queue_ref;     /* as written (name or SID) */
	swb_expr *expr;      /* worker expression, may reference task.* */
	swb_order *order;
	swb_expr *skip_if;
	char *known_worker;  /* known_worker_sid / _friendly_name expression (a path or a literal) */
	bool known_by_name;
	int priority;
	bool has_priority;
	int timeout_s;       /* 0: none */
	int deadline_s;      /* task age at which this target expires: sum of timeouts so far (0: none) */
};

struct filter {
	char *name;
	swb_expr *expr;
	struct target *targets;
	int ntargets;
};

/* A compiled workflow configuration; shared by the tasks that entered with it. */
struct wfconfig {
	int refs;
	json_t *json; /* as given (new ref kept) */
	struct filter *filters;
	int nfilters;
	struct filter dflt; /* default_filter as a one-target filter; ntargets 0 when absent */
};

struct workflow {
	char sid[SWB_SID_SIZE];
	char *name;
	struct wfconfig *cfg;
	int res_timeout_s;
	char *acb_url, *fallback_url;
	int64_t created, updated;
	size_t live_tasks;
};

struct bucket {
	int priority;
	struct task *head, *tail;
	struct bucket *next;
};

struct task {
	char sid[SWB_SID_SIZE];
	json_t *attrs;
	int priority;
	int timeout_s;
	struct channel *ch;
	struct workflow *wf;
	struct wfconfig *cfg;
	enum tstatus st;
	char *reason;
	int64_t created, updated, ttl_deadline, entered_ms, target_deadline, finished;
	struct queue *q;
	const struct filter *filter;
	int target_idx;   /* index in filter->targets; -1 none */
	uint64_t target_gen;
	/* seeking: in q's bucket `bucket` */
	struct bucket *bucket;
	struct task *b_prev, *b_next;
	/* waiting (pending or reserved) in q, in entry order */
	bool waiting;
	struct task *w_prev, *w_next;
	struct reservation *r_head, *r_tail;
	int n_pending;
	int assign_count;   /* pending->reserved transitions; TaskRouter cancels at 1000 */
	bool target_expired; /* target timed out while a reservation was pending */
	struct worker **excl; /* not to be offered again in this target */
	size_t nexcl, capexcl;
	struct task *all_prev, *all_next; /* every task in creation order */
};

struct queue_counters {
	uint64_t tasks_entered, tasks_canceled, tasks_completed, tasks_moved, tasks_deleted;
	uint64_t res_created, res_accepted, res_rejected, res_timed_out, res_canceled, res_rescinded;
	uint64_t accept_time_total_ms, accept_count;
};

struct queue {
	char sid[SWB_SID_SIZE];
	char *name;
	char *target_src;
	swb_expr *target;
	bool lifo;
	int max_reserved;
	struct activity *res_act, *assign_act;
	int64_t created, updated;
	struct bucket *buckets;
	struct member *idle_head, *idle_tail;
	size_t n_idle, n_eligible;
	struct task *wait_head, *wait_tail;
	size_t by_status[T_NSTATUS];
	size_t act_count[SWB_MAX_ACTIVITIES];
	struct queue_counters cum;
	size_t wf_refs;
};

enum timer_kind { TM_RESERVATION, TM_TARGET, TM_TASK_TTL, TM_PURGE };

struct timer {
	int64_t at;
	enum timer_kind kind;
	uint64_t gen;
	char sid[SWB_SID_SIZE];
};

/* A growable array of borrowed pointers in creation order (for stable listing). */
struct vec {
	void **v;
	size_t n, cap;
};

struct swb_core {
	swb_rng rng;
	int64_t now;
	swb_event_sink sink;
	void *sink_ctx;
	uint64_t seq;
	char account_sid[SWB_SID_SIZE];
	char ws_sid[SWB_SID_SIZE];
	char *ws_name;
	char *event_callback_url;
	json_t *events_filter; /* array of strings or NULL */
	struct activity *default_act, *timeout_act;
	int64_t ws_created, ws_updated;
	bool multitasking;

	swb_map *by_sid; /* every resource by SID */
	struct vec activities, channels, workers, queues, workflows;
	struct task *task_head, *task_tail; /* a list, so purging the oldest is O(1) */
	size_t ntasks;
	swb_map *worker_names, *activity_names, *channel_names, *queue_names, *workflow_names;
	struct timer *timers;
	size_t ntimers, captimers;
	size_t timers_compact_at; /* drop_stale_timers compacts the heap when ntimers reaches this */
	struct queue_counters cum; /* workspace-wide */
	int next_act_idx;
};

#define FOR_EACH_TASK(c, t) for (struct task *t = (c)->task_head; t; t = t->all_next)

/* core.c */
void task_list_add(swb_core *c, struct task *t);
void task_list_remove(swb_core *c, struct task *t);
void *core_alloc(size_t n);              /* calloc or abort: out of memory is not survivable mid-mutation */
char *core_strdup(const char *s);
void vec_push(struct vec *v, void *p);
void vec_remove(struct vec *v, void *p);
void core_emit(swb_core *c, const char *type, const char *rtype, const char *rsid, const char *desc, json_t *data);
void timer_add(swb_core *c, int64_t at, enum timer_kind kind, const char *sid, uint64_t gen);

/* core_json.c: representations and event data (all return new references) */
json_t *rep_activity(const swb_core *c, const struct activity *a);
json_t *rep_channel(const swb_core *c, const struct channel *ch);
json_t *rep_worker(const swb_core *c, const struct worker *w);
json_t *rep_worker_channel(const swb_core *c, const struct worker *w, const struct channel *ch);
json_t *rep_queue(const swb_core *c, const struct queue *q);
json_t *rep_workflow(const swb_core *c, const struct workflow *wf);
json_t *rep_task(const swb_core *c, const struct task *t);
json_t *rep_reservation(const swb_core *c, const struct reservation *r);
json_t *rep_workspace(const swb_core *c);
json_t *rep_queue_stats(const swb_core *c, const struct queue *q);
json_t *rep_workspace_stats(const swb_core *c);
json_t *evd_task(const swb_core *c, const struct task *t);
void evd_add_worker(const swb_core *c, json_t *d, const struct worker *w);
json_t *evd_reservation(const swb_core *c, const struct reservation *r);
json_t *evd_worker(const swb_core *c, const struct worker *w);
const char *tstatus_name(enum tstatus s);
const char *rstatus_name(enum rstatus s);
char *attrs_dump(const json_t *attrs); /* malloc'd compact JSON */

/* core_args.c: argument decoding shared by handlers */
enum swb_code arg_str(json_t *args, const char *key, bool required, size_t max, const char **out, struct swb_err *err);
enum swb_code arg_int(json_t *args, const char *key, long long lo, long long hi, bool *present, long long *out, struct swb_err *err);
enum swb_code arg_bool(json_t *args, const char *key, bool *present, bool *out, struct swb_err *err);
enum swb_code arg_attrs(json_t *args, const char *key, json_t **out, struct swb_err *err); /* new ref or NULL when absent */
enum swb_code arg_only(json_t *args, const char *const *allowed, struct swb_err *err);
enum swb_code arg_sid(json_t *args, struct swb_err *err, const char **sid);
struct activity *find_activity(swb_core *c, const char *ref);
struct channel *find_channel(swb_core *c, const char *ref);
struct worker *find_worker(swb_core *c, const char *ref);
struct queue *find_queue(swb_core *c, const char *ref);
struct workflow *find_workflow(swb_core *c, const char *ref);
struct task *find_task(swb_core *c, const char *sid);
struct reservation *find_reservation(swb_core *c, const char *sid);
enum swb_code page_list(json_t *args, json_t *items, const char *key, json_t **result, struct swb_err *err);

/* core_workers.c */
void worker_set_activity(swb_core *c, struct worker *w, struct activity *a, const char *why);
void worker_refresh_idle(swb_core *c, struct worker *w);
void worker_recompute_membership(swb_core *c, struct worker *w);
void queue_recompute_membership(swb_core *c, struct queue *q);
bool worker_can_take(const struct worker *w, const struct channel *ch);
bool worker_takes_work(const struct worker *w);
void member_unlink_all_for_queue(swb_core *c, struct queue *q);
void queue_drop_members(swb_core *c, struct queue *q);
void worker_destroy(swb_core *c, struct worker *w);

/* core_routing.c */
void task_enter_workflow(swb_core *c, struct task *t);
void route_task(swb_core *c, struct task *t);
void task_exclude(struct task *t, struct worker *w);
void route_worker(swb_core *c, struct worker *w);
void task_leave_queue(swb_core *c, struct task *t);
void task_seek_update(swb_core *c, struct task *t);
void reservation_close(swb_core *c, struct reservation *r, enum rstatus st, const char *event, const char *desc);
void task_cancel(swb_core *c, struct task *t, const char *reason, const char *event);
void task_on_target_timeout(swb_core *c, struct task *t);
void reservation_timeout(swb_core *c, struct reservation *r);
void reservation_reject(swb_core *c, struct reservation *r, struct activity *next);
void reservation_accept(swb_core *c, struct reservation *r);
void task_wrapup(swb_core *c, struct task *t, const char *reason);
void task_complete(swb_core *c, struct task *t, const char *reason);
void task_finish_cleanup(swb_core *c, struct task *t);
enum swb_code route_preview(swb_core *c, struct workflow *wf, struct channel *ch, json_t *attrs, int priority,
			    json_t **out, struct swb_err *err);
void queue_status_move(struct queue *q, enum tstatus from, enum tstatus to);

/* core_workflow.c */
enum swb_code wfconfig_compile(swb_core *c, json_t *config, struct wfconfig **out, struct swb_err *err);
void wfconfig_release(struct wfconfig *cfg);
bool wfconfig_uses_queue(const struct wfconfig *cfg, const struct queue *q);

/* core_ops.c */
enum swb_code core_dispatch(swb_core *c, const struct swb_actor *actor, const char *op, json_t *args,
			    json_t **result, struct swb_err *err);

#endif
