/*
 * core_routing.c - moving tasks through workflows and offering them to workers.
 *
 * A task matches the first filter whose expression is true (else the
 * default_filter), then tries that filter's targets in order (skip_if skips one,
 * a target's timeout escalates to the next). In its target's queue the task waits
 * in a priority bucket; the best eligible idle worker (order_by, else longest
 * idle) gets a reservation. A worker freed takes the best waiting task across its
 * queues. Reservations end as accepted, rejected, timeout, canceled or rescinded.
 */
#include "core_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void worker_restart_idle(swb_core *c, struct worker *w); /* core_workers.c (not yet in core_internal.h) */

/* ---- per-queue status counters ---- */

static void set_status(struct task *t, enum tstatus st)
{
	if (t->q) {
		t->q->by_status[t->st]--;
		t->q->by_status[st]++;
	}
	t->st = st;
}

/* ---- seeking buckets: tasks that still want a reservation ---- */

static bool task_before(const struct task *a, const struct task *b)
{
	if (a->created != b->created)
		return a->created < b->created;
	return strcmp(a->sid, b->sid) < 0;
}

static void bucket_insert(struct queue *q, struct task *t)
{
	struct bucket **pp = &q->buckets;
	while (*pp && (*pp)->priority > t->priority)
		pp = &(*pp)->next;
	if (!*pp || (*pp)->priority != t->priority) {
		struct bucket *b = core_alloc(sizeof *b);
		b->priority = t->priority;
		b->next = *pp;
		*pp = b;
	}
	struct bucket *b = *pp;
	struct task *after = b->tail;
	while (after && task_before(t, after))
		after = after->b_prev;
	t->b_prev = after;
	t->b_next = after ? after->b_next : b->head;
	if (t->b_next)
		t->b_next->b_prev = t;
	else
		b->tail = t;
	if (after)
		after->b_next = t;
	else
		b->head = t;
	t->bucket = b;
}

static void bucket_remove(struct queue *q, struct task *t)
{
	struct bucket *b = t->bucket;
	if (!b)
		return;
	if (t->b_prev)
		t->b_prev->b_next = t->b_next;
	else
		b->head = t->b_next;
	if (t->b_next)
		t->b_next->b_prev = t->b_prev;
	else
		b->tail = t->b_prev;
	t->b_prev = t->b_next = NULL;
	t->bucket = NULL;
	if (!b->head) {
		struct bucket **pp = &q->buckets;
		while (*pp != b)
			pp = &(*pp)->next;
		*pp = b->next;
		free(b);
	}
}

/* Tasks of q in offer order: buckets by priority, each oldest first (FIFO) or newest first (LIFO). */
static struct task *seek_first_in(const struct queue *q, const struct bucket *b)
{
	for (; b; b = b->next)
		if (b->head)
			return q->lifo ? b->tail : b->head;
	return NULL;
}

static struct task *seek_next(const struct queue *q, const struct task *t)
{
	struct task *n = q->lifo ? t->b_prev : t->b_next;
	return n ? n : seek_first_in(q, t->bucket->next);
}

void task_seek_update(swb_core *c, struct task *t)
{
	(void)c;
	/* A task whose target expired only waits for the reservations it has (doc §1). */
	bool want = t->waiting && t->q && t->n_pending < t->q->max_reserved && !t->target_expired &&
		    (t->st == T_PENDING || t->st == T_RESERVED);
	if (t->bucket && (!want || t->bucket->priority != t->priority))
		bucket_remove(t->q, t);
	if (want && !t->bucket)
		bucket_insert(t->q, t);
}

/* ---- waiting list (pending and reserved tasks, in entry order) ---- */

static void wait_link(struct task *t)
{
	struct queue *q = t->q;
	t->w_prev = q->wait_tail;
	t->w_next = NULL;
	if (q->wait_tail)
		q->wait_tail->w_next = t;
	else
		q->wait_head = t;
	q->wait_tail = t;
	t->waiting = true;
}

static void wait_unlink(struct task *t)
{
	struct queue *q = t->q;
	if (!t->waiting)
		return;
	if (t->w_prev)
		t->w_prev->w_next = t->w_next;
	else
		q->wait_head = t->w_next;
	if (t->w_next)
		t->w_next->w_prev = t->w_prev;
	else
		q->wait_tail = t->w_prev;
	t->w_prev = t->w_next = NULL;
	t->waiting = false;
}

/* Stops waiting (assigned, canceled, moving on); the task keeps t->q for its history. */
static void task_stop_waiting(swb_core *c, struct task *t)
{
	if (t->bucket)
		bucket_remove(t->q, t);
	wait_unlink(t);
	t->target_gen++;
	(void)c;
}

void task_leave_queue(swb_core *c, struct task *t)
{
	task_stop_waiting(c, t);
	if (t->q) {
		t->q->by_status[t->st]--;
		t->q = NULL;
	}
}

/* ---- candidate checks ---- */

/* w is not offered t again within the current target. */
void task_exclude(struct task *t, struct worker *w)
{
	if (t->nexcl == t->capexcl) {
		t->capexcl = t->capexcl ? t->capexcl * 2 : 4;
		t->excl = realloc(t->excl, t->capexcl * sizeof *t->excl);
		if (!t->excl)
			abort();
	}
	t->excl[t->nexcl++] = w;
}

static const struct target *current_target(const struct task *t)
{
	if (!t->filter || t->target_idx < 0)
		return NULL;
	return &t->filter->targets[t->target_idx];
}

static bool excluded(const struct task *t, const struct worker *w)
{
	for (size_t i = 0; i < t->nexcl; i++)
		if (t->excl[i] == w)
			return true;
	return false;
}

static bool has_live_reservation(const struct task *t, const struct worker *w)
{
	for (const struct reservation *r = t->r_head; r; r = r->t_next)
		if (r->w == w && (r->st == R_PENDING || r->st == R_ACCEPTED || r->st == R_WRAPPING))
			return true;
	return false;
}

/* The worker a known_worker target names: a task attribute ("task.agent_sid" or "agent_sid"). */
static const char *known_worker_ref(const struct target *tg, const struct task *t)
{
	const char *path = tg->known_worker;
	if (strncmp(path, "task.", 5) == 0)
		path += 5;
	json_t *v = t->attrs;
	char seg[SWB_NAME_MAX];
	while (v && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof seg)
			return NULL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		v = json_is_object(v) ? json_object_get(v, seg) : NULL;
		path += n + (path[n] == '.');
	}
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool known_worker_ok(const struct target *tg, const struct task *t, const struct worker *w)
{
	if (!tg->known_worker)
		return true;
	const char *ref = known_worker_ref(tg, t);
	if (!ref)
		return false;
	return strcmp(ref, tg->known_by_name ? w->name : w->sid) == 0;
}

static bool target_expr_ok(const struct target *tg, const struct task *t, const struct worker *w)
{
	if (!tg->expr || swb_expr_is_always_true(tg->expr))
		return true;
	swb_expr_ctx ctx = { .bare = w->attrs, .worker = w->attrs, .task = t->attrs };
	return swb_expr_eval(tg->expr, &ctx);
}

static bool worker_ok(const struct task *t, const struct target *tg, const struct worker *w)
{
	return worker_can_take(w, t->ch) && !excluded(t, w) && !has_live_reservation(t, w) &&
	       known_worker_ok(tg, t, w) && target_expr_ok(tg, t, w);
}

/* The best idle worker of q for t: by order_by when the target has one, else longest idle. */
static struct worker *pick_worker(const struct task *t, const struct target *tg, const struct queue *q)
{
	struct worker *best = NULL;
	for (struct member *m = q->idle_head; m; m = m->next) {
		if (!worker_ok(t, tg, m->w))
			continue;
		if (!tg->order)
			return m->w;
		if (!best) {
			best = m->w;
			continue;
		}
		swb_expr_ctx a = { .bare = m->w->attrs, .worker = m->w->attrs, .task = t->attrs };
		swb_expr_ctx b = { .bare = best->attrs, .worker = best->attrs, .task = t->attrs };
		if (swb_order_cmp(tg->order, &a, &b) < 0)
			best = m->w;
	}
	return best;
}

/* ---- reservations ---- */

static void link_reservation(struct reservation *r)
{
	struct task *t = r->t;
	struct worker *w = r->w;
	r->t_prev = t->r_tail;
	if (t->r_tail)
		t->r_tail->t_next = r;
	else
		t->r_head = r;
	t->r_tail = r;
	r->w_prev = w->r_tail;
	if (w->r_tail)
		w->r_tail->w_next = r;
	else
		w->r_head = r;
	w->r_tail = r;
}

static void count_res(swb_core *c, struct queue *q, size_t off)
{
	*(uint64_t *)((char *)&q->cum + off) += 1;
	*(uint64_t *)((char *)&c->cum + off) += 1;
}
#define COUNT(c, q, field) count_res((c), (q), offsetof(struct queue_counters, field))

static void create_reservation(swb_core *c, struct task *t, struct worker *w)
{
	struct reservation *r = core_alloc(sizeof *r);
	swb_sid_make(&c->rng, "WR", r->sid);
	r->t = t;
	r->w = w;
	r->q = t->q;
	r->st = R_PENDING;
	r->created = r->updated = c->now;
	r->deadline = c->now + (int64_t)t->wf->res_timeout_s * 1000;
	link_reservation(r);
	swb_map_put(c->by_sid, r->sid, r);
	timer_add(c, r->deadline, TM_RESERVATION, r->sid, 0);
	w->ch[t->ch->idx].used++;
	worker_refresh_idle(c, w);
	t->n_pending++;
	if (t->st == T_PENDING) {
		set_status(t, T_RESERVED);
		t->assign_count++;
	}
	t->updated = c->now;
	task_seek_update(c, t);
	COUNT(c, t->q, res_created);
	char desc[SWB_NAME_MAX + 64];
	snprintf(desc, sizeof desc, "Reservation created for Worker %s", w->name);
	core_emit(c, "reservation.created", "reservation", r->sid, desc, evd_reservation(c, r));
	if (t->q->res_act && w->act != t->q->res_act) {
		r->prev_act = w->act;
		worker_set_activity(c, w, t->q->res_act, "reservation_activity_sid");
	}
}

void route_task(swb_core *c, struct task *t)
{
	if (t->waiting && t->target_expired && t->n_pending == 0) {
		task_on_target_timeout(c, t);
		return;
	}
	const struct target *tg = current_target(t);
	while (tg && t->waiting && t->bucket) {
		if (t->st == T_PENDING && t->assign_count >= SWB_MAX_ASSIGNMENTS) {
			task_cancel(c, t, "Max assignment count exceeded", "task.canceled");
			return;
		}
		struct worker *w = pick_worker(t, tg, t->q);
		if (!w)
			return;
		create_reservation(c, t, w);
	}
}

static bool task_better(const struct task *a, const struct task *b)
{
	if (a->priority != b->priority)
		return a->priority > b->priority;
	return task_before(a, b);
}

/* The best task waiting in any of w's queues that w may take. */
static struct task *pick_task(const struct worker *w)
{
	struct task *best = NULL;
	for (size_t i = 0; i < w->nmem; i++) {
		const struct queue *q = w->mem[i]->q;
		for (struct task *t = seek_first_in(q, q->buckets); t; t = seek_next(q, t)) {
			if (best && t->priority < best->priority)
				break;
			if (worker_ok(t, current_target(t), w)) {
				if (!best || task_better(t, best))
					best = t;
				break;
			}
		}
	}
	return best;
}

void route_worker(swb_core *c, struct worker *w)
{
	while (worker_takes_work(w)) {
		struct task *t = pick_task(w);
		if (!t)
			return;
		create_reservation(c, t, w);
	}
}

/* Ends a pending reservation (not accepted). Frees the worker's capacity; does not route. */
void reservation_close(swb_core *c, struct reservation *r, enum rstatus st, const char *event, const char *desc)
{
	struct task *t = r->t;
	struct worker *w = r->w;
	r->st = st;
	r->updated = c->now;
	t->n_pending--;
	w->ch[t->ch->idx].used--;
	worker_refresh_idle(c, w);
	if (st == R_REJECTED || st == R_TIMEOUT)
		task_exclude(t, w);
	if (st == R_REJECTED)
		COUNT(c, r->q, res_rejected);
	else if (st == R_TIMEOUT)
		COUNT(c, r->q, res_timed_out);
	else if (st == R_CANCELED)
		COUNT(c, r->q, res_canceled);
	else if (st == R_RESCINDED)
		COUNT(c, r->q, res_rescinded);
	if (t->st == T_RESERVED && t->n_pending == 0)
		set_status(t, T_PENDING);
	t->updated = c->now;
	task_seek_update(c, t);
	core_emit(c, event, "reservation", r->sid, desc, evd_reservation(c, r));
	if ((st == R_RESCINDED || st == R_CANCELED) && r->prev_act && w->act == r->q->res_act)
		worker_set_activity(c, w, r->prev_act, "reservation ended");
}

/* Closes every pending reservation of t with st, then lets those workers take other work. */
static void close_pending(swb_core *c, struct task *t, enum rstatus st, const char *event, const char *desc)
{
	struct worker *freed[SWB_MAX_RESERVED + 1];
	size_t nfreed = 0;
	for (struct reservation *r = t->r_head; r; r = r->t_next) {
		if (r->st != R_PENDING)
			continue;
		reservation_close(c, r, st, event, desc);
		if (nfreed < SWB_MAX_RESERVED + 1)
			freed[nfreed++] = r->w;
	}
	for (size_t i = 0; i < nfreed; i++)
		route_worker(c, freed[i]);
}

void reservation_timeout(swb_core *c, struct reservation *r)
{
	struct worker *w = r->w;
	struct task *t = r->t;
	reservation_close(c, r, R_TIMEOUT, "reservation.timeout", "Reservation timed out");
	if (c->timeout_act && w->act != c->timeout_act)
		worker_set_activity(c, w, c->timeout_act, "reservation timeout");
	route_task(c, t);
	route_worker(c, w);
}

void reservation_reject(swb_core *c, struct reservation *r, struct activity *next)
{
	struct worker *w = r->w;
	struct task *t = r->t;
	reservation_close(c, r, R_REJECTED, "reservation.rejected", "Reservation rejected");
	if (!next && r->prev_act && w->act == r->t->q->res_act)
		next = r->prev_act; /* TaskRouter: WorkerPreviousActivitySid when none is given */
	if (next)
		worker_set_activity(c, w, next, "reservation rejected");
	route_task(c, t);
	route_worker(c, w);
}

void reservation_accept(swb_core *c, struct reservation *r)
{
	struct task *t = r->t;
	struct worker *w = r->w;
	r->st = R_ACCEPTED;
	r->updated = c->now;
	t->n_pending--;
	task_stop_waiting(c, t);
	set_status(t, T_ASSIGNED);
	t->updated = c->now;
	w->tasks_assigned++;
	worker_restart_idle(c, w);
	COUNT(c, r->q, res_accepted);
	r->q->cum.accept_time_total_ms += (uint64_t)(c->now - t->entered_ms);
	r->q->cum.accept_count++;
	char desc[SWB_NAME_MAX + 64];
	snprintf(desc, sizeof desc, "Reservation accepted by Worker %s", w->name);
	core_emit(c, "reservation.accepted", "reservation", r->sid, desc, evd_reservation(c, r));
	close_pending(c, t, R_RESCINDED, "reservation.rescinded", "Reservation rescinded: another worker accepted");
	if (r->q->assign_act)
		worker_set_activity(c, w, r->q->assign_act, "assignment_activity_sid");
	route_worker(c, w);
}

static struct reservation *accepted_reservation(const struct task *t)
{
	for (struct reservation *r = t->r_head; r; r = r->t_next)
		if (r->st == R_ACCEPTED || r->st == R_WRAPPING)
			return r;
	return NULL;
}

static void finish(swb_core *c, struct task *t)
{
	t->finished = c->now;
	t->wf->live_tasks--;
	timer_add(c, t->finished + SWB_TASK_RETENTION_MS, TM_PURGE, t->sid, 0);
}

void task_wrapup(swb_core *c, struct task *t, const char *reason)
{
	struct reservation *r = accepted_reservation(t);
	set_status(t, T_WRAPPING);
	t->updated = c->now;
	if (reason) {
		free(t->reason);
		t->reason = core_strdup(reason);
	}
	if (r) {
		r->st = R_WRAPPING;
		r->updated = c->now;
		core_emit(c, "reservation.wrapup", "reservation", r->sid, "Reservation wrapping", evd_reservation(c, r));
	}
	core_emit(c, "task.wrapup", "task", t->sid, "Task wrapping up", evd_task(c, t));
}

void task_complete(swb_core *c, struct task *t, const char *reason)
{
	struct reservation *r = accepted_reservation(t);
	set_status(t, T_COMPLETED);
	t->updated = c->now;
	free(t->reason);
	t->reason = core_strdup(reason ? reason : "completed");
	if (t->q) {
		t->q->cum.tasks_completed++;
		c->cum.tasks_completed++;
	}
	if (r) {
		r->st = R_COMPLETED;
		r->updated = c->now;
		r->w->ch[t->ch->idx].used--;
		worker_refresh_idle(c, r->w);
		worker_restart_idle(c, r->w);
		core_emit(c, "reservation.completed", "reservation", r->sid, "Reservation completed",
			  evd_reservation(c, r));
	}
	core_emit(c, "task.completed", "task", t->sid, "Task completed", evd_task(c, t));
	finish(c, t);
	if (r)
		route_worker(c, r->w);
}

void task_cancel(swb_core *c, struct task *t, const char *reason, const char *event)
{
	free(t->reason);
	t->reason = core_strdup(reason);
	struct worker *freed[SWB_MAX_RESERVED + 1];
	size_t nfreed = 0;
	for (struct reservation *r = t->r_head; r; r = r->t_next) {
		if (r->st != R_PENDING)
			continue;
		reservation_close(c, r, R_CANCELED, "reservation.canceled", "Reservation canceled: task canceled");
		if (nfreed < SWB_MAX_RESERVED + 1)
			freed[nfreed++] = r->w;
	}
	task_stop_waiting(c, t);
	set_status(t, T_CANCELED);
	t->updated = c->now;
	if (t->q) {
		t->q->cum.tasks_canceled++;
		c->cum.tasks_canceled++;
	}
	char desc[SWB_NAME_MAX + 64];
	snprintf(desc, sizeof desc, "Task canceled: %s", reason);
	core_emit(c, event, "task", t->sid, desc, evd_task(c, t));
	finish(c, t);
	for (size_t i = 0; i < nfreed; i++)
		route_worker(c, freed[i]);
}

/* Removes a task and its reservations from memory (after retention: silently, as TaskRouter does). */
void task_finish_cleanup(swb_core *c, struct task *t)
{
	task_leave_queue(c, t);
	struct reservation *r = t->r_head;
	while (r) {
		struct reservation *next = r->t_next;
		struct worker *w = r->w;
		if (r->w_prev)
			r->w_prev->w_next = r->w_next;
		else
			w->r_head = r->w_next;
		if (r->w_next)
			r->w_next->w_prev = r->w_prev;
		else
			w->r_tail = r->w_prev;
		swb_map_del(c->by_sid, r->sid);
		free(r);
		r = next;
	}
	t->r_head = t->r_tail = NULL;
	swb_map_del(c->by_sid, t->sid);
	task_list_remove(c, t);
	json_decref(t->attrs);
	free(t->reason);
	free(t->excl);
	wfconfig_release(t->cfg);
	free(t);
}

/* ---- workflow movement ---- */

/* skip_if sees the target queue's workers by activity: workers.available, .unavailable, .<WA sid>. */
static json_t *skip_context(const swb_core *c, const struct queue *q)
{
	json_t *w = json_object();
	size_t avail = 0;
	for (size_t i = 0; i < c->activities.n; i++) {
		const struct activity *a = c->activities.v[i];
		json_object_set_new(w, a->sid, json_integer((json_int_t)q->act_count[a->idx]));
		if (a->available)
			avail += q->act_count[a->idx];
	}
	json_object_set_new(w, "available", json_integer((json_int_t)avail));
	json_object_set_new(w, "unavailable", json_integer((json_int_t)(q->n_eligible - avail)));
	return w;
}

/* TaskRouter evaluates skip_if on entering a step, only when no worker can be reserved at once. */
static bool skip_target(const swb_core *c, struct task *t, const struct target *tg)
{
	if (!tg->skip_if)
		return false;
	size_t saved = t->nexcl;
	t->nexcl = 0;
	bool someone = pick_worker(t, tg, tg->q) != NULL;
	t->nexcl = saved;
	if (someone)
		return false;
	json_t *workers = skip_context(c, tg->q);
	swb_expr_ctx ctx = { .bare = t->attrs, .task = t->attrs, .workers = workers };
	bool skip = swb_expr_eval(tg->skip_if, &ctx);
	json_decref(workers);
	return skip;
}

static json_t *evd_target(const swb_core *c, const struct task *t, int idx)
{
	json_t *d = evd_task(c, t);
	json_object_set_new(d, "workflow_filter_name", json_string(t->filter->name));
	json_object_set_new(d, "workflow_filter_target_index", json_integer(idx));
	return d;
}

static void enter_target(swb_core *c, struct task *t, int idx)
{
	const struct target *tg = &t->filter->targets[idx];
	struct queue *prev = t->q;
	if (prev)
		task_leave_queue(c, t);
	t->target_idx = idx;
	t->nexcl = 0;
	t->target_expired = false;
	if (tg->has_priority)
		t->priority = tg->priority;
	t->q = tg->q;
	t->q->by_status[t->st]++;
	t->entered_ms = c->now;
	wait_link(t);
	t->target_gen++;
	t->target_deadline = 0;
	if (tg->deadline_s > 0) {
		/* Target timeouts add up and run on the task's age (TaskRouter's task evaluation). */
		t->target_deadline = t->created + (int64_t)tg->deadline_s * 1000;
		if (t->target_deadline < c->now)
			t->target_deadline = c->now;
		timer_add(c, t->target_deadline, TM_TARGET, t->sid, t->target_gen);
	}
	t->q->cum.tasks_entered++;
	c->cum.tasks_entered++;
	json_t *d = evd_target(c, t, idx);
	json_object_set_new(d, "task_queue_target_expression",
			    json_string(tg->expr ? swb_expr_source(tg->expr) : "1==1"));
	core_emit(c, "workflow.target-matched", "task", t->sid, "Task matched a workflow target", json_deep_copy(d));
	if (prev && prev != t->q) {
		t->q->cum.tasks_moved++;
		c->cum.tasks_moved++;
		core_emit(c, "task-queue.moved", "task", t->sid, "Task moved to another TaskQueue", json_deep_copy(d));
	}
	core_emit(c, "task-queue.entered", "task", t->sid, "Task entered a TaskQueue", d);
	task_seek_update(c, t);
}

/* Enters the first target from idx on that is not skipped; false when none is left. */
static bool go_to_target(swb_core *c, struct task *t, int idx)
{
	for (int i = idx; i < t->filter->ntargets; i++) {
		if (skip_target(c, t, &t->filter->targets[i]))
			continue; /* no event: workflow.skipped means the task left the workflow (doc §9) */
		enter_target(c, t, i);
		route_task(c, t);
		return true;
	}
	return false;
}

/* The first filter after `after` (or from the start when NULL) that matches t; never the default. */
static const struct filter *next_filter(const struct wfconfig *cfg, const struct task *t, const struct filter *after)
{
	swb_expr_ctx ctx = { .bare = t->attrs, .task = t->attrs };
	int from = after ? (int)(after - cfg->filters) + 1 : 0;
	if (after == &cfg->dflt)
		return NULL;
	for (int i = from; i < cfg->nfilters; i++)
		if (swb_expr_eval(cfg->filters[i].expr, &ctx))
			return &cfg->filters[i];
	return NULL;
}

/* Tries filters from `f` on (each matching one, then the default); false when the task fell out. */
static bool route_from_filter(swb_core *c, struct task *t, const struct filter *f, bool allow_default)
{
	for (; f; f = next_filter(t->cfg, t, f)) {
		t->filter = f;
		if (go_to_target(c, t, 0))
			return true;
	}
	if (allow_default && t->cfg->dflt.ntargets) {
		t->filter = &t->cfg->dflt;
		return go_to_target(c, t, 0);
	}
	return false;
}

void task_enter_workflow(swb_core *c, struct task *t)
{
	const struct filter *f = next_filter(t->cfg, t, NULL);
	t->filter = f ? f : t->cfg->dflt.ntargets ? &t->cfg->dflt : NULL;
	t->target_idx = -1;
	if (!t->filter) {
		/* Treated as falling out of the workflow (doc §5). */
		core_emit(c, "workflow.timeout", "task", t->sid, "No workflow filter matched the Task", evd_task(c, t));
		task_cancel(c, t, "No workflow filter matched and the workflow has no default_filter", "task.canceled");
		return;
	}
	json_t *d = evd_task(c, t);
	json_object_set_new(d, "workflow_filter_name", json_string(t->filter->name));
	core_emit(c, "workflow.entered", "task", t->sid, "Task entered a Workflow", d);
	if (route_from_filter(c, t, f ? f : NULL, true))
		return;
	core_emit(c, "workflow.skipped", "task", t->sid, "Task skipped out of its Workflow", evd_task(c, t));
	task_cancel(c, t, "Every workflow target was skipped", "task.canceled");
}

/*
 * The current target's timeout. A pending reservation is not cut short: the task
 * moves on once it ends (route_task checks target_expired). Then the next target,
 * else the next matching filter (never the default one), else the task falls out
 * of the workflow and is canceled.
 */
void task_on_target_timeout(swb_core *c, struct task *t)
{
	if (t->n_pending > 0) {
		t->target_expired = true;
		task_seek_update(c, t);
		return;
	}
	t->target_expired = false;
	core_emit(c, "task-queue.timeout", "task", t->sid, "Task timed out of a TaskQueue", evd_task(c, t));
	int next = t->target_idx + 1;
	if (next < t->filter->ntargets && go_to_target(c, t, next))
		return;
	if (route_from_filter(c, t, next_filter(t->cfg, t, t->filter), false))
		return;
	core_emit(c, "workflow.timeout", "task", t->sid, "Task timed out of its Workflow", evd_task(c, t));
	task_cancel(c, t, "Workflow Timeout", "task.canceled");
}

/* ---- dry run ---- */

static json_t *offer_order(const struct task *t, const struct target *tg)
{
	json_t *arr = json_array();
	struct vec cands = { 0 };
	for (struct member *m = tg->q->idle_head; m; m = m->next)
		if (worker_ok(t, tg, m->w))
			vec_push(&cands, m->w);
	/* With order_by, repeatedly pick the best (offer order); else idle order already is. */
	while (cands.n) {
		size_t best = 0;
		for (size_t i = 1; tg->order && i < cands.n; i++) {
			const struct worker *a = cands.v[i], *b = cands.v[best];
			swb_expr_ctx ca = { .bare = a->attrs, .worker = a->attrs, .task = t->attrs };
			swb_expr_ctx cb = { .bare = b->attrs, .worker = b->attrs, .task = t->attrs };
			if (swb_order_cmp(tg->order, &ca, &cb) < 0)
				best = i;
		}
		const struct worker *w = cands.v[best];
		json_array_append_new(arr, json_pack("{s:s, s:s}", "sid", w->sid, "friendly_name", w->name));
		memmove(&cands.v[best], &cands.v[best + 1], (cands.n - best - 1) * sizeof *cands.v);
		cands.n--;
	}
	free(cands.v);
	return arr;
}

/* Where a task with these attributes would go now, without changing anything. attrs: borrowed. */
enum swb_code route_preview(swb_core *c, struct workflow *wf, struct channel *ch, json_t *attrs, int priority,
			    json_t **out, struct swb_err *err)
{
	struct task t = { .attrs = attrs, .ch = ch, .wf = wf, .cfg = wf->cfg, .priority = priority };
	const struct filter *f = next_filter(wf->cfg, &t, NULL);
	bool dflt = !f;
	if (!f)
		f = wf->cfg->dflt.ntargets ? &wf->cfg->dflt : NULL;
	json_t *skipped = json_array();
	for (; f; f = dflt ? NULL : next_filter(wf->cfg, &t, f)) {
		t.filter = f;
		for (int i = 0; i < f->ntargets; i++) {
			const struct target *tg = &f->targets[i];
			if (skip_target(c, &t, tg)) {
				json_array_append_new(skipped, json_pack("{s:s, s:i}", "filter", f->name, "target", i));
				continue;
			}
			if (out)
				*out = json_pack("{s:s, s:s, s:b, s:s, s:i, s:s, s:s, s:i, s:o, s:I, s:o, s:s}", "workflow",
						 wf->name, "workflow_sid", wf->sid, "default_filter", f == &wf->cfg->dflt,
						 "filter", f->name, "target", i, "queue", tg->q->name, "queue_sid", tg->q->sid,
						 "priority", tg->has_priority ? tg->priority : priority, "timeout",
						 tg->deadline_s ? json_integer(tg->deadline_s) : json_null(),
						 "eligible_workers", (json_int_t)tg->q->n_eligible, "offer_order",
						 offer_order(&t, tg), "task_channel", ch->unique_name);
			if (out)
				json_object_set_new(*out, "skipped", skipped);
			else
				json_decref(skipped);
			return SWB_OK;
		}
		if (dflt)
			break;
	}
	json_decref(skipped);
	return swb_err_set(err, SWB_EINVAL, "no filter or target of workflow '%s' takes this task (it would be canceled)",
			   wf->name);
}
