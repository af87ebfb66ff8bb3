/*
 * core_snapshot.c - the whole state of a core as JSON, and a core restored from
 * it that behaves exactly like the original (same SIDs, same event order): the
 * journal writes one as its first record when it rotates, so recovery does not
 * have to replay history from the beginning.
 *
 * Everything derived is recomputed on restore (queue membership, counters,
 * buckets, timers); what depends on history is stored: idle-list and waiting
 * orders, reservation list orders, exclusions, the random state and the clock.
 */
#include "core_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_VERSION 1

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *counters_out(const struct queue_counters *k)
{
	return json_pack("[I,I,I,I,I,I,I,I,I,I,I,I,I]", (json_int_t)k->tasks_entered, (json_int_t)k->tasks_canceled,
			 (json_int_t)k->tasks_completed, (json_int_t)k->tasks_moved, (json_int_t)k->tasks_deleted,
			 (json_int_t)k->res_created, (json_int_t)k->res_accepted, (json_int_t)k->res_rejected,
			 (json_int_t)k->res_timed_out, (json_int_t)k->res_canceled, (json_int_t)k->res_rescinded,
			 (json_int_t)k->accept_time_total_ms, (json_int_t)k->accept_count);
}

static void counters_in(json_t *a, struct queue_counters *k)
{
	uint64_t *f[] = { &k->tasks_entered, &k->tasks_canceled, &k->tasks_completed, &k->tasks_moved,
			  &k->tasks_deleted, &k->res_created, &k->res_accepted, &k->res_rejected,
			  &k->res_timed_out, &k->res_canceled, &k->res_rescinded, &k->accept_time_total_ms,
			  &k->accept_count };
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		*f[i] = (uint64_t)json_integer_value(json_array_get(a, i));
}

/* ---- out ---- */

static json_t *snap_activity(const struct activity *a)
{
	return json_pack("{s:s, s:s, s:b, s:i, s:I, s:I}", "sid", a->sid, "name", a->name, "available", a->available,
			 "idx", a->idx, "created", (json_int_t)a->created, "updated", (json_int_t)a->updated);
}

static json_t *snap_channel(const struct channel *ch)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:i, s:I, s:I}", "sid", ch->sid, "unique_name", ch->unique_name,
			 "friendly_name", ch->friendly_name, "optimized", ch->optimized, "idx", ch->idx, "created",
			 (json_int_t)ch->created, "updated", (json_int_t)ch->updated);
}

static json_t *snap_worker(const struct worker *w)
{
	json_t *ch = json_array(), *res = json_array();
	for (int i = 0; i < SWB_MAX_CHANNELS; i++)
		json_array_append_new(ch, json_pack("[i,i,b]", w->ch[i].capacity, w->ch[i].used, w->ch[i].available));
	for (const struct reservation *r = w->r_head; r; r = r->w_next)
		json_array_append_new(res, json_string(r->sid));
	return json_pack("{s:s, s:s, s:O, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:b}", "sid", w->sid, "name", w->name,
			 "attrs", w->attrs, "act", w->act->sid, "created", (json_int_t)w->created, "updated",
			 (json_int_t)w->updated, "status_changed", (json_int_t)w->status_changed, "idle_since",
			 (json_int_t)w->idle_since, "ch", ch, "res", res, "tasks_assigned", (json_int_t)w->tasks_assigned,
			 "taking", w->taking);
}

static json_t *snap_queue(const struct queue *q)
{
	json_t *idle = json_array(), *wait = json_array();
	for (const struct member *m = q->idle_head; m; m = m->next)
		json_array_append_new(idle, json_string(m->w->sid));
	for (const struct task *t = q->wait_head; t; t = t->w_next)
		json_array_append_new(wait, json_string(t->sid));
	return json_pack("{s:s, s:s, s:s, s:b, s:i, s:o, s:o, s:I, s:I, s:o, s:o, s:o}", "sid", q->sid, "name", q->name,
			 "target", q->target_src, "lifo", q->lifo, "max_reserved", q->max_reserved, "res_act",
			 jstr(q->res_act ? q->res_act->sid : NULL), "assign_act",
			 jstr(q->assign_act ? q->assign_act->sid : NULL), "created", (json_int_t)q->created, "updated",
			 (json_int_t)q->updated, "cum", counters_out(&q->cum), "idle", idle, "wait", wait);
}

static json_t *snap_workflow(const struct workflow *wf)
{
	return json_pack("{s:s, s:s, s:O, s:i, s:o, s:o, s:I, s:I, s:I}", "sid", wf->sid, "name", wf->name, "cfg",
			 wf->cfg->json, "res_timeout", wf->res_timeout_s, "acb", jstr(wf->acb_url), "fallback",
			 jstr(wf->fallback_url), "created", (json_int_t)wf->created, "updated", (json_int_t)wf->updated,
			 "live", (json_int_t)wf->live_tasks);
}

static int filter_index(const struct task *t)
{
	if (!t->filter)
		return -2;
	if (t->filter == &t->cfg->dflt)
		return -1;
	return (int)(t->filter - t->cfg->filters);
}

static json_t *snap_reservation(const struct reservation *r)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:o}", "sid", r->sid, "w", r->w->sid, "q", r->q->sid, "st",
			 (int)r->st, "created", (json_int_t)r->created, "updated", (json_int_t)r->updated, "deadline",
			 (json_int_t)r->deadline, "prev_act", jstr(r->prev_act ? r->prev_act->sid : NULL));
}

static json_t *snap_task(const struct task *t)
{
	json_t *res = json_array(), *excl = json_array();
	for (const struct reservation *r = t->r_head; r; r = r->t_next)
		json_array_append_new(res, snap_reservation(r));
	for (size_t i = 0; i < t->nexcl; i++)
		json_array_append_new(excl, json_string(t->excl[i]->sid));
	json_t *j = json_pack("{s:s, s:O, s:i, s:i, s:s, s:s, s:i, s:o, s:I, s:I, s:I, s:I, s:I, s:I}", "sid", t->sid,
			      "attrs", t->attrs, "priority", t->priority, "timeout", t->timeout_s, "ch", t->ch->sid, "wf",
			      t->wf->sid, "st", (int)t->st, "reason", jstr(t->reason), "created", (json_int_t)t->created,
			      "updated", (json_int_t)t->updated, "ttl", (json_int_t)t->ttl_deadline, "entered",
			      (json_int_t)t->entered_ms, "target_deadline", (json_int_t)t->target_deadline, "finished",
			      (json_int_t)t->finished);
	json_object_set_new(j, "q", jstr(t->q ? t->q->sid : NULL));
	json_object_set_new(j, "filter", json_integer(filter_index(t)));
	json_object_set_new(j, "target", json_integer(t->target_idx));
	json_object_set_new(j, "target_gen", json_integer((json_int_t)t->target_gen));
	json_object_set_new(j, "waiting", json_boolean(t->waiting));
	json_object_set_new(j, "assign_count", json_integer(t->assign_count));
	json_object_set_new(j, "target_expired", json_boolean(t->target_expired));
	json_object_set_new(j, "res", res);
	json_object_set_new(j, "excl", excl);
	if (t->cfg != t->wf->cfg)
		json_object_set(j, "cfg", t->cfg->json);
	return j;
}

#define SNAP_LIST(name, vec, fn)                                                                                       \
	do {                                                                                                           \
		json_t *arr = json_array();                                                                            \
		for (size_t i = 0; i < (vec).n; i++)                                                                   \
			json_array_append_new(arr, fn((vec).v[i]));                                                     \
		json_object_set_new(s, name, arr);                                                                     \
	} while (0)

json_t *swb_core_snapshot(const swb_core *c)
{
	char rng[24];
	snprintf(rng, sizeof rng, "%016llx", (unsigned long long)c->rng.s);
	json_t *s = json_pack("{s:i, s:s, s:I, s:I, s:s, s:s, s:s, s:o, s:O, s:s, s:s, s:I, s:I, s:b, s:o, s:i}", "v",
			      SNAP_VERSION, "rng", rng, "now", (json_int_t)c->now, "seq", (json_int_t)c->seq, "account_sid",
			      c->account_sid, "ws_sid", c->ws_sid, "ws_name", c->ws_name, "callback_url",
			      jstr(c->event_callback_url), "events_filter", c->events_filter ? c->events_filter : json_null(),
			      "default_act", c->default_act ? c->default_act->sid : "", "timeout_act",
			      c->timeout_act ? c->timeout_act->sid : "", "ws_created", (json_int_t)c->ws_created,
			      "ws_updated", (json_int_t)c->ws_updated, "multitasking", c->multitasking, "cum",
			      counters_out(&c->cum), "next_act_idx", c->next_act_idx);
	SNAP_LIST("activities", c->activities, snap_activity);
	SNAP_LIST("channels", c->channels, snap_channel);
	SNAP_LIST("queues", c->queues, snap_queue);
	SNAP_LIST("workers", c->workers, snap_worker);
	SNAP_LIST("workflows", c->workflows, snap_workflow);
	json_t *tasks = json_array();
	FOR_EACH_TASK(c, t)
		json_array_append_new(tasks, snap_task(t));
	json_object_set_new(s, "tasks", tasks);
	return s;
}

/* ---- in ---- */

struct restore {
	swb_core *c;
	struct swb_err *err;
	json_t *cfgs; /* dumped config -> index into cfg_list, to share compiled configs */
	struct vec cfg_list;
};

static const char *sget(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static int64_t iget(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static char *dup_opt(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? core_strdup(v) : NULL;
}

static void put(swb_core *c, const char *sid, void *obj, swb_map *names, const char *name)
{
	swb_map_put(c->by_sid, sid, obj);
	if (names)
		swb_map_put(names, name, obj);
}

static int restore_activities(struct restore *r, json_t *arr)
{
	size_t i;
	json_t *j;
	json_array_foreach(arr, i, j) {
		struct activity *a = core_alloc(sizeof *a);
		snprintf(a->sid, sizeof a->sid, "%s", sget(j, "sid"));
		a->name = core_strdup(sget(j, "name"));
		a->available = json_is_true(json_object_get(j, "available"));
		a->idx = (int)iget(j, "idx");
		a->created = iget(j, "created");
		a->updated = iget(j, "updated");
		if (a->idx < 0 || a->idx >= SWB_MAX_ACTIVITIES) {
			free(a->name);
			free(a);
			return swb_err_set(r->err, SWB_EINVAL, "snapshot: activity index out of range"), -1;
		}
		vec_push(&r->c->activities, a);
		put(r->c, a->sid, a, r->c->activity_names, a->name);
	}
	return 0;
}

static int restore_channels(struct restore *r, json_t *arr)
{
	size_t i;
	json_t *j;
	json_array_foreach(arr, i, j) {
		struct channel *ch = core_alloc(sizeof *ch);
		snprintf(ch->sid, sizeof ch->sid, "%s", sget(j, "sid"));
		ch->unique_name = core_strdup(sget(j, "unique_name"));
		ch->friendly_name = core_strdup(sget(j, "friendly_name"));
		ch->optimized = json_is_true(json_object_get(j, "optimized"));
		ch->idx = (int)iget(j, "idx");
		ch->created = iget(j, "created");
		ch->updated = iget(j, "updated");
		vec_push(&r->c->channels, ch);
		put(r->c, ch->sid, ch, r->c->channel_names, ch->unique_name);
		if (ch->idx < 0 || ch->idx >= SWB_MAX_CHANNELS)
			return swb_err_set(r->err, SWB_EINVAL, "snapshot: channel index out of range"), -1;
	}
	return 0;
}

static int restore_queues(struct restore *r, json_t *arr)
{
	size_t i;
	json_t *j;
	json_array_foreach(arr, i, j) {
		struct queue *q = core_alloc(sizeof *q);
		snprintf(q->sid, sizeof q->sid, "%s", sget(j, "sid"));
		q->name = core_strdup(sget(j, "name"));
		q->target_src = core_strdup(sget(j, "target"));
		vec_push(&r->c->queues, q);
		put(r->c, q->sid, q, r->c->queue_names, q->name);
		if (swb_expr_compile(q->target_src, &q->target, r->err) != SWB_OK)
			return -1;
		q->lifo = json_is_true(json_object_get(j, "lifo"));
		q->max_reserved = (int)iget(j, "max_reserved");
		q->res_act = find_activity(r->c, json_string_value(json_object_get(j, "res_act")));
		q->assign_act = find_activity(r->c, json_string_value(json_object_get(j, "assign_act")));
		q->created = iget(j, "created");
		q->updated = iget(j, "updated");
		counters_in(json_object_get(j, "cum"), &q->cum);
	}
	return 0;
}

static int restore_workers(struct restore *r, json_t *arr)
{
	size_t i;
	json_t *j;
	json_array_foreach(arr, i, j) {
		struct worker *w = core_alloc(sizeof *w);
		snprintf(w->sid, sizeof w->sid, "%s", sget(j, "sid"));
		w->name = core_strdup(sget(j, "name"));
		w->attrs = json_deep_copy(json_object_get(j, "attrs"));
		vec_push(&r->c->workers, w);
		put(r->c, w->sid, w, r->c->worker_names, w->name);
		w->act = find_activity(r->c, sget(j, "act"));
		if (!w->act || !json_is_object(w->attrs))
			return swb_err_set(r->err, SWB_EINVAL, "snapshot: worker %s is incomplete", w->sid), -1;
		w->created = iget(j, "created");
		w->updated = iget(j, "updated");
		w->status_changed = iget(j, "status_changed");
		w->idle_since = iget(j, "idle_since");
		w->tasks_assigned = (uint64_t)iget(j, "tasks_assigned");
		w->taking = json_is_true(json_object_get(j, "taking"));
		json_t *ch = json_object_get(j, "ch");
		for (int k = 0; k < SWB_MAX_CHANNELS; k++) {
			json_t *e = json_array_get(ch, (size_t)k);
			w->ch[k].capacity = (int)json_integer_value(json_array_get(e, 0));
			w->ch[k].used = (int)json_integer_value(json_array_get(e, 1));
			w->ch[k].available = json_is_true(json_array_get(e, 2));
		}
	}
	return 0;
}

static struct wfconfig *config_for(struct restore *r, json_t *json)
{
	char *key = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *idx = json_object_get(r->cfgs, key);
	struct wfconfig *cfg = NULL;
	if (idx) {
		cfg = r->cfg_list.v[json_integer_value(idx)];
		cfg->refs++;
	} else if (wfconfig_compile(r->c, json, &cfg, r->err) == SWB_OK) {
		json_object_set_new(r->cfgs, key, json_integer((json_int_t)r->cfg_list.n));
		vec_push(&r->cfg_list, cfg); /* the list's reference, dropped at the end */
		cfg->refs++;                 /* the caller's */
	}
	free(key);
	return cfg;
}

static int restore_workflows(struct restore *r, json_t *arr)
{
	size_t i;
	json_t *j;
	json_array_foreach(arr, i, j) {
		struct workflow *wf = core_alloc(sizeof *wf);
		snprintf(wf->sid, sizeof wf->sid, "%s", sget(j, "sid"));
		wf->name = core_strdup(sget(j, "name"));
		wf->res_timeout_s = (int)iget(j, "res_timeout");
		wf->acb_url = dup_opt(j, "acb");
		wf->fallback_url = dup_opt(j, "fallback");
		wf->created = iget(j, "created");
		wf->updated = iget(j, "updated");
		wf->live_tasks = (size_t)iget(j, "live");
		vec_push(&r->c->workflows, wf);
		put(r->c, wf->sid, wf, r->c->workflow_names, wf->name);
		wf->cfg = config_for(r, json_object_get(j, "cfg"));
		if (!wf->cfg)
			return -1;
	}
	return 0;
}

static struct reservation *restore_reservation(struct restore *r, struct task *t, json_t *j)
{
	struct reservation *res = core_alloc(sizeof *res);
	snprintf(res->sid, sizeof res->sid, "%s", sget(j, "sid"));
	res->t = t;
	res->w = find_worker(r->c, sget(j, "w"));
	res->q = find_queue(r->c, sget(j, "q"));
	res->st = (enum rstatus)iget(j, "st");
	res->created = iget(j, "created");
	res->updated = iget(j, "updated");
	res->deadline = iget(j, "deadline");
	res->prev_act = find_activity(r->c, json_string_value(json_object_get(j, "prev_act")));
	res->t_prev = t->r_tail;
	if (t->r_tail)
		t->r_tail->t_next = res;
	else
		t->r_head = res;
	t->r_tail = res;
	swb_map_put(r->c->by_sid, res->sid, res);
	if (!res->w || !res->q) {
		swb_err_set(r->err, SWB_EINVAL, "snapshot: reservation %s is incomplete", res->sid);
		return NULL;
	}
	return res;
}

static int restore_task_links(struct restore *r, struct task *t, json_t *j)
{
	const char *qsid = json_string_value(json_object_get(j, "q"));
	t->q = qsid ? find_queue(r->c, qsid) : NULL;
	int f = (int)iget(j, "filter");
	t->filter = f == -2 ? NULL : f == -1 ? &t->cfg->dflt : f < t->cfg->nfilters ? &t->cfg->filters[f] : NULL;
	t->target_idx = (int)iget(j, "target");
	if ((f != -2 && !t->filter) || (t->filter && t->target_idx >= t->filter->ntargets) || (qsid && !t->q))
		return swb_err_set(r->err, SWB_EINVAL, "snapshot: task %s refers to a missing target", t->sid), -1;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(j, "res"), i, e)
		if (!restore_reservation(r, t, e))
			return -1;
	json_array_foreach(json_object_get(j, "excl"), i, e) {
		struct worker *w = find_worker(r->c, json_string_value(e));
		if (w)
			task_exclude(t, w);
	}
	return 0;
}

static int restore_tasks(struct restore *r, json_t *arr)
{
	size_t i;
	json_t *j;
	json_array_foreach(arr, i, j) {
		struct task *t = core_alloc(sizeof *t);
		snprintf(t->sid, sizeof t->sid, "%s", sget(j, "sid"));
		task_list_add(r->c, t);
		swb_map_put(r->c->by_sid, t->sid, t);
		t->attrs = json_deep_copy(json_object_get(j, "attrs"));
		t->ch = find_channel(r->c, sget(j, "ch"));
		t->wf = find_workflow(r->c, sget(j, "wf"));
		if (!t->ch || !t->wf || !json_is_object(t->attrs))
			return swb_err_set(r->err, SWB_EINVAL, "snapshot: task %s is incomplete", t->sid), -1;
		json_t *cfg = json_object_get(j, "cfg");
		t->cfg = cfg ? config_for(r, cfg) : t->wf->cfg;
		if (!t->cfg)
			return -1;
		if (!cfg)
			t->cfg->refs++;
		t->priority = (int)iget(j, "priority");
		t->timeout_s = (int)iget(j, "timeout");
		t->st = (enum tstatus)iget(j, "st");
		t->reason = dup_opt(j, "reason");
		t->created = iget(j, "created");
		t->updated = iget(j, "updated");
		t->ttl_deadline = iget(j, "ttl");
		t->entered_ms = iget(j, "entered");
		t->target_deadline = iget(j, "target_deadline");
		t->finished = iget(j, "finished");
		t->target_gen = (uint64_t)iget(j, "target_gen");
		t->assign_count = (int)iget(j, "assign_count");
		t->target_expired = json_is_true(json_object_get(j, "target_expired"));
		if (restore_task_links(r, t, j) != 0)
			return -1;
	}
	return 0;
}

/* Worker reservation lists, queue idle and waiting lists, in their stored orders. */
static int restore_orders(struct restore *r, json_t *snap)
{
	swb_core *c = r->c;
	size_t i, k;
	json_t *j, *e;
	json_array_foreach(json_object_get(snap, "workers"), i, j) {
		struct worker *w = c->workers.v[i];
		json_array_foreach(json_object_get(j, "res"), k, e) {
			struct reservation *res = find_reservation(c, json_string_value(e));
			if (!res || res->w != w)
				return swb_err_set(r->err, SWB_EINVAL, "snapshot: worker %s lists a foreign reservation",
						   w->sid), -1;
			res->w_prev = w->r_tail;
			if (w->r_tail)
				w->r_tail->w_next = res;
			else
				w->r_head = res;
			w->r_tail = res;
		}
		bool taking = w->taking;
		w->taking = false; /* membership first, idle lists below in stored order */
		worker_recompute_membership(c, w);
		w->taking = taking;
	}
	json_array_foreach(json_object_get(snap, "queues"), i, j) {
		struct queue *q = c->queues.v[i];
		json_array_foreach(json_object_get(j, "idle"), k, e) {
			struct worker *w = find_worker(c, json_string_value(e));
			struct member *m = NULL;
			for (size_t x = 0; w && x < w->nmem && !m; x++)
				if (w->mem[x]->q == q)
					m = w->mem[x];
			if (!m)
				return swb_err_set(r->err, SWB_EINVAL, "snapshot: idle list of %s names a non-member", q->name), -1;
			m->prev = q->idle_tail;
			if (q->idle_tail)
				q->idle_tail->next = m;
			else
				q->idle_head = m;
			q->idle_tail = m;
			m->linked = true;
			q->n_idle++;
		}
		json_array_foreach(json_object_get(j, "wait"), k, e) {
			struct task *t = find_task(c, json_string_value(e));
			if (!t || t->q != q)
				return swb_err_set(r->err, SWB_EINVAL, "snapshot: waiting list of %s is inconsistent", q->name), -1;
			t->w_prev = q->wait_tail;
			if (q->wait_tail)
				q->wait_tail->w_next = t;
			else
				q->wait_head = t;
			q->wait_tail = t;
			t->waiting = true;
		}
	}
	return 0;
}

/* Counters, buckets and timers follow from the restored state. */
static void derive(swb_core *c)
{
	FOR_EACH_TASK(c, t) {
		if (t->q)
			t->q->by_status[t->st]++;
		for (struct reservation *r = t->r_head; r; r = r->t_next)
			if (r->st == R_PENDING) {
				t->n_pending++;
				timer_add(c, r->deadline, TM_RESERVATION, r->sid, 0);
			}
		task_seek_update(c, t);
		if (t->waiting && t->target_deadline)
			timer_add(c, t->target_deadline, TM_TARGET, t->sid, t->target_gen);
		if (t->st == T_PENDING || t->st == T_RESERVED)
			timer_add(c, t->ttl_deadline, TM_TASK_TTL, t->sid, 0);
		if (t->st == T_COMPLETED || t->st == T_CANCELED)
			timer_add(c, t->finished + SWB_TASK_RETENTION_MS, TM_PURGE, t->sid, 0);
	}
}

static int restore_all(struct restore *r, json_t *snap)
{
	swb_core *c = r->c;
	if (iget(snap, "v") != SNAP_VERSION)
		return swb_err_set(r->err, SWB_EINVAL, "snapshot: unsupported version"), -1;
	c->rng.s = strtoull(sget(snap, "rng"), NULL, 16);
	c->now = iget(snap, "now");
	c->seq = (uint64_t)iget(snap, "seq");
	snprintf(c->account_sid, sizeof c->account_sid, "%s", sget(snap, "account_sid"));
	snprintf(c->ws_sid, sizeof c->ws_sid, "%s", sget(snap, "ws_sid"));
	free(c->ws_name);
	c->ws_name = core_strdup(sget(snap, "ws_name"));
	c->event_callback_url = dup_opt(snap, "callback_url");
	json_t *ef = json_object_get(snap, "events_filter");
	c->events_filter = json_is_array(ef) ? json_deep_copy(ef) : NULL;
	c->ws_created = iget(snap, "ws_created");
	c->ws_updated = iget(snap, "ws_updated");
	c->multitasking = json_is_true(json_object_get(snap, "multitasking"));
	c->next_act_idx = (int)iget(snap, "next_act_idx");
	counters_in(json_object_get(snap, "cum"), &c->cum);
	if (restore_activities(r, json_object_get(snap, "activities")) || restore_channels(r, json_object_get(snap, "channels")))
		return -1;
	c->default_act = find_activity(c, sget(snap, "default_act"));
	c->timeout_act = find_activity(c, sget(snap, "timeout_act"));
	if (!c->default_act || !c->timeout_act)
		return swb_err_set(r->err, SWB_EINVAL, "snapshot: default or timeout activity missing"), -1;
	if (restore_queues(r, json_object_get(snap, "queues")) || restore_workers(r, json_object_get(snap, "workers")) ||
	    restore_workflows(r, json_object_get(snap, "workflows")) || restore_tasks(r, json_object_get(snap, "tasks")) ||
	    restore_orders(r, snap))
		return -1;
	derive(c);
	return 0;
}

swb_core *swb_core_restore(json_t *snap, swb_event_sink sink, void *ctx, struct swb_err *err)
{
	struct swb_core_opts o = { .no_default_resources = true, .account_sid = "AC00000000000000000000000000000000",
				   .workspace_sid = "WS00000000000000000000000000000000" };
	struct restore r = { .c = swb_core_new(&o), .err = err, .cfgs = json_object() };
	if (!json_is_object(snap)) {
		swb_err_set(err, SWB_EINVAL, "snapshot: not an object");
		swb_core_free(r.c);
		r.c = NULL;
	} else if (restore_all(&r, snap) != 0) {
		swb_core_free(r.c);
		r.c = NULL;
	}
	for (size_t i = 0; i < r.cfg_list.n; i++)
		wfconfig_release(r.cfg_list.v[i]);
	free(r.cfg_list.v);
	json_decref(r.cfgs);
	if (r.c)
		swb_core_set_sink(r.c, sink, ctx);
	return r.c;
}
