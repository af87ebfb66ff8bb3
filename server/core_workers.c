/*
 * core_workers.c - which queues a worker belongs to, and whether it can take
 * work now. Queue membership depends only on worker attributes and the queue's
 * target_workers, so it is computed when either changes, never per task. A
 * worker that can take work sits in each of its queues' idle lists, ordered by
 * the time it became able to (head = longest idle).
 */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

bool worker_can_take(const struct worker *w, const struct channel *ch)
{
	const struct wchan *wc = &w->ch[ch->idx];
	return w->act->available && wc->available && wc->used < wc->capacity;
}

bool worker_takes_work(const struct worker *w)
{
	if (!w->act->available)
		return false;
	for (int i = 0; i < SWB_MAX_CHANNELS; i++)
		if (w->ch[i].available && w->ch[i].used < w->ch[i].capacity)
			return true;
	return false;
}

static void idle_unlink(struct member *m)
{
	struct queue *q = m->q;
	if (!m->linked)
		return;
	if (m->prev)
		m->prev->next = m->next;
	else
		q->idle_head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		q->idle_tail = m->prev;
	m->prev = m->next = NULL;
	m->linked = false;
	q->n_idle--;
}

/* Inserts keeping idle_since order; scanning from the tail makes the usual case O(1). */
static void idle_link(struct member *m)
{
	struct queue *q = m->q;
	struct member *after = q->idle_tail;
	while (after && after->w->idle_since > m->w->idle_since)
		after = after->prev;
	m->prev = after;
	m->next = after ? after->next : q->idle_head;
	if (m->next)
		m->next->prev = m;
	else
		q->idle_tail = m;
	if (after)
		after->next = m;
	else
		q->idle_head = m;
	m->linked = true;
	q->n_idle++;
}

void worker_refresh_idle(swb_core *c, struct worker *w)
{
	bool taking = worker_takes_work(w);
	if (taking == w->taking)
		return;
	w->taking = taking;
	if (taking)
		w->idle_since = c->now;
	for (size_t i = 0; i < w->nmem; i++) {
		if (taking)
			idle_link(w->mem[i]);
		else
			idle_unlink(w->mem[i]);
	}
}

/*
 * w just took on or finished a task: it has waited for work since now, so it goes
 * behind the workers that have waited longer ("the Worker who has waited the
 * longest without a Task will be the first reserved"). A worker with free capacity
 * on other channels stays linked while it works, so this is not implied by
 * worker_refresh_idle.
 */
void worker_restart_idle(swb_core *c, struct worker *w)
{
	w->idle_since = c->now;
	if (!w->taking)
		return;
	for (size_t i = 0; i < w->nmem; i++) {
		idle_unlink(w->mem[i]);
		idle_link(w->mem[i]);
	}
}

static bool eligible(const struct queue *q, const struct worker *w)
{
	if (swb_expr_is_always_true(q->target))
		return true;
	swb_expr_ctx ctx = { .bare = w->attrs, .worker = w->attrs };
	return swb_expr_eval(q->target, &ctx);
}

static struct member *member_find(const struct worker *w, const struct queue *q, size_t *idx)
{
	for (size_t i = 0; i < w->nmem; i++) {
		if (w->mem[i]->q == q) {
			if (idx)
				*idx = i;
			return w->mem[i];
		}
	}
	return NULL;
}

static void member_add(struct worker *w, struct queue *q, bool link)
{
	struct member *m = core_alloc(sizeof *m);
	m->w = w;
	m->q = q;
	if (w->nmem == w->capmem) {
		size_t cap = w->capmem ? w->capmem * 2 : 4;
		struct member **nm = realloc(w->mem, cap * sizeof *nm);
		if (!nm)
			abort();
		w->mem = nm;
		w->capmem = cap;
	}
	w->mem[w->nmem++] = m;
	q->n_eligible++;
	q->act_count[w->act->idx]++;
	if (link && w->taking)
		idle_link(m);
}

static void member_remove(struct worker *w, size_t idx)
{
	struct member *m = w->mem[idx];
	idle_unlink(m);
	m->q->n_eligible--;
	m->q->act_count[w->act->idx]--;
	w->mem[idx] = w->mem[--w->nmem];
	free(m);
}

static void sync_member(struct worker *w, struct queue *q, bool link)
{
	size_t idx;
	struct member *m = member_find(w, q, &idx);
	bool should = eligible(q, w);
	if (should && !m)
		member_add(w, q, link);
	else if (!should && m)
		member_remove(w, idx);
}

void worker_recompute_membership(swb_core *c, struct worker *w)
{
	for (size_t i = 0; i < c->queues.n; i++)
		sync_member(w, c->queues.v[i], true);
}

static int by_idle_since(const void *a, const void *b)
{
	const struct member *ma = *(struct member *const *)a, *mb = *(struct member *const *)b;
	if (ma->w->idle_since != mb->w->idle_since)
		return ma->w->idle_since < mb->w->idle_since ? -1 : 1;
	return strcmp(ma->w->sid, mb->w->sid);
}

/* Rebuilds q's membership; the idle list is rebuilt in one sorted pass. */
void queue_recompute_membership(swb_core *c, struct queue *q)
{
	member_unlink_all_for_queue(c, q);
	struct vec linkable = { 0 };
	for (size_t i = 0; i < c->workers.n; i++) {
		struct worker *w = c->workers.v[i];
		sync_member(w, q, false);
		struct member *m = member_find(w, q, NULL);
		if (m && w->taking)
			vec_push(&linkable, m);
	}
	if (linkable.n) /* qsort's base must not be NULL, even for 0 items */
		qsort(linkable.v, linkable.n, sizeof *linkable.v, by_idle_since);
	for (size_t i = 0; i < linkable.n; i++)
		idle_link(linkable.v[i]);
	free(linkable.v);
}

void member_unlink_all_for_queue(swb_core *c, struct queue *q)
{
	while (q->idle_head)
		idle_unlink(q->idle_head);
	(void)c;
}

/* Removes q from every worker's membership (queue deletion). */
void queue_drop_members(swb_core *c, struct queue *q)
{
	for (size_t i = 0; i < c->workers.n; i++) {
		struct worker *w = c->workers.v[i];
		size_t idx;
		if (member_find(w, q, &idx))
			member_remove(w, idx);
	}
}

void worker_set_activity(swb_core *c, struct worker *w, struct activity *a, const char *why)
{
	if (w->act == a)
		return;
	struct activity *prev = w->act;
	for (size_t i = 0; i < w->nmem; i++) {
		w->mem[i]->q->act_count[prev->idx]--;
		w->mem[i]->q->act_count[a->idx]++;
	}
	int64_t in_prev_ms = c->now - w->status_changed;
	w->act = a;
	w->status_changed = w->updated = c->now;
	worker_refresh_idle(c, w);
	json_t *d = evd_worker(c, w);
	json_object_set_new(d, "worker_previous_activity_sid", json_string(prev->sid));
	json_object_set_new(d, "worker_previous_activity_name", json_string(prev->name));
	json_object_set_new(d, "worker_time_in_previous_activity", json_integer(in_prev_ms / 1000));
	json_object_set_new(d, "worker_time_in_previous_activity_ms", json_integer(in_prev_ms));
	if (why)
		json_object_set_new(d, "reason", json_string(why));
	char desc[SWB_NAME_MAX * 2 + 64];
	snprintf(desc, sizeof desc, "Worker %s updated to %s Activity", w->name, a->name);
	core_emit(c, "worker.activity.update", "worker", w->sid, desc, d);
}

void worker_destroy(swb_core *c, struct worker *w)
{
	while (w->nmem)
		member_remove(w, w->nmem - 1);
	free(w->mem);
	swb_map_del(c->by_sid, w->sid);
	swb_map_del(c->worker_names, w->name);
	vec_remove(&c->workers, w);
	json_decref(w->attrs);
	free(w->name);
	free(w);
}
