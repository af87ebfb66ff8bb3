/*
 * core_json.c - TaskRouter representations of the core's resources, real-time
 * statistics, and the flat event_data objects attached to events. Everything
 * returned is a new reference owned by the caller. URLs and links are added by
 * the REST adapter, which knows its own base URL.
 */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

static const char *const tstatus_names[T_NSTATUS] = { "pending", "reserved", "assigned",
							"wrapping", "completed", "canceled" };
static const char *const rstatus_names[] = { "pending", "accepted", "rejected", "timeout",
					     "canceled", "rescinded", "wrapping", "completed" };

const char *tstatus_name(enum tstatus s)
{
	return tstatus_names[s];
}

const char *rstatus_name(enum rstatus s)
{
	return rstatus_names[s];
}

char *attrs_dump(const json_t *attrs)
{
	char *s = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		abort();
	return s;
}

static json_t *jdate(int64_t ms)
{
	char buf[SWB_ISO_SIZE];
	swb_iso8601(ms, buf);
	return json_string(buf);
}

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jattrs(const json_t *attrs)
{
	char *s = attrs_dump(attrs);
	json_t *j = json_string(s);
	free(s);
	return j;
}

static json_t *base(const swb_core *c, const char *sid, int64_t created, int64_t updated)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o}", "sid", sid, "account_sid", c->account_sid, "workspace_sid",
			 c->ws_sid, "date_created", jdate(created), "date_updated", jdate(updated));
}

json_t *rep_activity(const swb_core *c, const struct activity *a)
{
	json_t *j = base(c, a->sid, a->created, a->updated);
	json_object_set_new(j, "friendly_name", json_string(a->name));
	json_object_set_new(j, "available", json_boolean(a->available));
	return j;
}

json_t *rep_channel(const swb_core *c, const struct channel *ch)
{
	json_t *j = base(c, ch->sid, ch->created, ch->updated);
	json_object_set_new(j, "unique_name", json_string(ch->unique_name));
	json_object_set_new(j, "friendly_name", json_string(ch->friendly_name));
	json_object_set_new(j, "channel_optimized_routing", json_boolean(ch->optimized));
	return j;
}

json_t *rep_worker(const swb_core *c, const struct worker *w)
{
	json_t *j = base(c, w->sid, w->created, w->updated);
	json_object_set_new(j, "friendly_name", json_string(w->name));
	json_object_set_new(j, "activity_sid", json_string(w->act->sid));
	json_object_set_new(j, "activity_name", json_string(w->act->name));
	json_object_set_new(j, "available", json_boolean(w->act->available));
	json_object_set_new(j, "attributes", jattrs(w->attrs));
	json_object_set_new(j, "date_status_changed", jdate(w->status_changed));
	return j;
}

/* A worker channel's SID is derived from the worker's and the channel's, so it is stable. */
static void worker_channel_sid(const struct worker *w, const struct channel *ch, char out[SWB_SID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	out[0] = 'W';
	out[1] = 'C';
	for (int i = 2; i < SWB_SID_LEN; i++) {
		int a = (int)(strchr(hex, w->sid[i] | 0x20) - hex);
		int b = (int)(strchr(hex, ch->sid[i] | 0x20) - hex);
		out[i] = hex[(a ^ b ^ i) & 15];
	}
	out[SWB_SID_LEN] = '\0';
}

json_t *rep_worker_channel(const swb_core *c, const struct worker *w, const struct channel *ch)
{
	char sid[SWB_SID_SIZE];
	worker_channel_sid(w, ch, sid);
	const struct wchan *wc = &w->ch[ch->idx];
	int free_cap = wc->capacity - wc->used;
	json_t *j = base(c, sid, w->created, w->updated);
	json_object_set_new(j, "worker_sid", json_string(w->sid));
	json_object_set_new(j, "task_channel_sid", json_string(ch->sid));
	json_object_set_new(j, "task_channel_unique_name", json_string(ch->unique_name));
	json_object_set_new(j, "configured_capacity", json_integer(wc->capacity));
	json_object_set_new(j, "assigned_tasks", json_integer(wc->used));
	json_object_set_new(j, "available_capacity_percentage",
			    json_integer(wc->capacity > 0 ? (free_cap > 0 ? free_cap : 0) * 100 / wc->capacity : 0));
	json_object_set_new(j, "available", json_boolean(wc->available));
	return j;
}

json_t *rep_queue(const swb_core *c, const struct queue *q)
{
	json_t *j = base(c, q->sid, q->created, q->updated);
	json_object_set_new(j, "friendly_name", json_string(q->name));
	json_object_set_new(j, "target_workers", json_string(q->target_src));
	json_object_set_new(j, "task_order", json_string(q->lifo ? "LIFO" : "FIFO"));
	json_object_set_new(j, "max_reserved_workers", json_integer(q->max_reserved));
	json_object_set_new(j, "reservation_activity_sid", jstr_or_null(q->res_act ? q->res_act->sid : NULL));
	json_object_set_new(j, "reservation_activity_name", jstr_or_null(q->res_act ? q->res_act->name : NULL));
	json_object_set_new(j, "assignment_activity_sid", jstr_or_null(q->assign_act ? q->assign_act->sid : NULL));
	json_object_set_new(j, "assignment_activity_name", jstr_or_null(q->assign_act ? q->assign_act->name : NULL));
	return j;
}

json_t *rep_workflow(const swb_core *c, const struct workflow *wf)
{
	json_t *j = base(c, wf->sid, wf->created, wf->updated);
	json_object_set_new(j, "friendly_name", json_string(wf->name));
	json_object_set_new(j, "configuration", jattrs(wf->cfg->json));
	json_object_set_new(j, "task_reservation_timeout", json_integer(wf->res_timeout_s));
	json_object_set_new(j, "assignment_callback_url", jstr_or_null(wf->acb_url));
	json_object_set_new(j, "fallback_assignment_callback_url", jstr_or_null(wf->fallback_url));
	json_object_set_new(j, "document_content_type", json_string("application/json"));
	return j;
}

static int64_t task_age_s(const swb_core *c, const struct task *t)
{
	int64_t end = t->finished ? t->finished : c->now;
	return (end - t->created) / 1000;
}

json_t *rep_task(const swb_core *c, const struct task *t)
{
	json_t *j = base(c, t->sid, t->created, t->updated);
	json_object_set_new(j, "attributes", jattrs(t->attrs));
	json_object_set_new(j, "assignment_status", json_string(tstatus_name(t->st)));
	json_object_set_new(j, "priority", json_integer(t->priority));
	json_object_set_new(j, "reason", jstr_or_null(t->reason));
	json_object_set_new(j, "age", json_integer(task_age_s(c, t)));
	json_object_set_new(j, "timeout", json_integer(t->timeout_s));
	json_object_set_new(j, "workflow_sid", json_string(t->wf->sid));
	json_object_set_new(j, "workflow_friendly_name", json_string(t->wf->name));
	json_object_set_new(j, "task_queue_sid", jstr_or_null(t->q ? t->q->sid : NULL));
	json_object_set_new(j, "task_queue_friendly_name", jstr_or_null(t->q ? t->q->name : NULL));
	json_object_set_new(j, "task_queue_entered_date", t->q ? jdate(t->entered_ms) : json_null());
	json_object_set_new(j, "task_channel_sid", json_string(t->ch->sid));
	json_object_set_new(j, "task_channel_unique_name", json_string(t->ch->unique_name));
	json_object_set_new(j, "addons", json_string("{}"));
	return j;
}

json_t *rep_reservation(const swb_core *c, const struct reservation *r)
{
	json_t *j = base(c, r->sid, r->created, r->updated);
	json_object_set_new(j, "task_sid", json_string(r->t->sid));
	json_object_set_new(j, "worker_sid", json_string(r->w->sid));
	json_object_set_new(j, "worker_name", json_string(r->w->name));
	json_object_set_new(j, "reservation_status", json_string(rstatus_name(r->st)));
	json_object_set_new(j, "task_queue_sid", json_string(r->q->sid));
	if (r->st == R_PENDING)
		json_object_set_new(j, "timeout_date", jdate(r->deadline));
	return j;
}

json_t *rep_workspace(const swb_core *c)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:s, s:b, s:s}", "sid", c->ws_sid,
			      "account_sid", c->account_sid, "friendly_name", c->ws_name, "event_callback_url",
			      jstr_or_null(c->event_callback_url), "date_created", jdate(c->ws_created),
			      "date_updated", jdate(c->ws_updated), "default_activity_sid", c->default_act->sid,
			      "default_activity_name", c->default_act->name, "timeout_activity_sid",
			      c->timeout_act->sid, "timeout_activity_name", c->timeout_act->name,
			      "multi_task_enabled", c->multitasking, "prioritize_queue_order", "FIFO");
	json_object_set_new(j, "events_filter", c->events_filter ? json_copy(c->events_filter) : json_null());
	return j;
}

static json_t *by_status(const size_t counts[T_NSTATUS])
{
	return json_pack("{s:I, s:I, s:I, s:I}", "pending", (json_int_t)counts[T_PENDING], "reserved",
			 (json_int_t)counts[T_RESERVED], "assigned", (json_int_t)counts[T_ASSIGNED], "wrapping",
			 (json_int_t)counts[T_WRAPPING]);
}

static json_t *activity_stats(const swb_core *c, const size_t *counts)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < c->activities.n; i++) {
		const struct activity *a = c->activities.v[i];
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "sid", a->sid, "friendly_name", a->name,
						     "workers", (json_int_t)counts[a->idx]));
	}
	return arr;
}

static json_t *counters(const struct queue_counters *k)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "tasks_entered",
			 (json_int_t)k->tasks_entered, "tasks_canceled", (json_int_t)k->tasks_canceled,
			 "tasks_completed", (json_int_t)k->tasks_completed, "tasks_moved", (json_int_t)k->tasks_moved,
			 "tasks_deleted", (json_int_t)k->tasks_deleted, "reservations_created",
			 (json_int_t)k->res_created, "reservations_accepted", (json_int_t)k->res_accepted,
			 "reservations_rejected", (json_int_t)k->res_rejected, "reservations_timed_out",
			 (json_int_t)k->res_timed_out, "reservations_canceled", (json_int_t)k->res_canceled,
			 "reservations_rescinded", (json_int_t)k->res_rescinded);
}

json_t *rep_queue_stats(const swb_core *c, const struct queue *q)
{
	size_t total = q->by_status[T_PENDING] + q->by_status[T_RESERVED] + q->by_status[T_ASSIGNED] +
		       q->by_status[T_WRAPPING];
	/* Waiting tasks: the oldest by task age (doc §16) and the longest in this queue (wait_head). */
	const struct task *oldest = NULL, *longest_here = q->wait_head;
	/* Workers in an available activity, busy or not (doc §12). */
	size_t available = 0;
	for (size_t i = 0; i < c->activities.n; i++) {
		const struct activity *a = c->activities.v[i];
		if (a->available)
			available += q->act_count[a->idx];
	}
	json_t *prio = json_object();
	for (const struct task *t = q->wait_head; t; t = t->w_next) {
		if (!oldest || t->created < oldest->created)
			oldest = t;
		char key[24];
		snprintf(key, sizeof key, "%d", t->priority);
		json_t *n = json_object_get(prio, key);
		json_object_set_new(prio, key, json_integer(n ? json_integer_value(n) + 1 : 1));
	}
	json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:o, s:o, s:I, s:o}", "task_queue_sid", q->sid,
			      "friendly_name", q->name, "workspace_sid", c->ws_sid, "tasks_by_status",
			      by_status(q->by_status), "total_tasks", (json_int_t)total, "total_available_workers",
			      (json_int_t)available, "total_eligible_workers", (json_int_t)q->n_eligible,
			      "activity_statistics", activity_stats(c, q->act_count), "tasks_by_priority", prio,
			      "longest_task_waiting_age", (json_int_t)(oldest ? (c->now - oldest->created) / 1000 : 0),
			      "cumulative", counters(&q->cum));
	json_object_set_new(j, "longest_task_waiting_sid", jstr_or_null(oldest ? oldest->sid : NULL));
	json_object_set_new(j, "longest_relative_task_age_in_queue",
			    json_integer(longest_here ? (c->now - longest_here->entered_ms) / 1000 : 0));
	json_object_set_new(j, "longest_relative_task_sid_in_queue",
			    jstr_or_null(longest_here ? longest_here->sid : NULL));
	json_object_set_new(j, "account_sid", json_string(c->account_sid));
	if (q->cum.accept_count)
		json_object_set_new(j, "avg_task_acceptance_time",
				    json_integer((json_int_t)(q->cum.accept_time_total_ms / q->cum.accept_count / 1000)));
	else
		json_object_set_new(j, "avg_task_acceptance_time", json_integer(0));
	return j;
}

json_t *rep_workspace_stats(const swb_core *c)
{
	size_t counts[T_NSTATUS] = { 0 };
	size_t acts[SWB_MAX_ACTIVITIES] = { 0 };
	int64_t oldest = -1;
	FOR_EACH_TASK(c, t) {
		counts[t->st]++;
		if (t->waiting && (oldest < 0 || t->created < oldest))
			oldest = t->created; /* task age (doc §16) */
	}
	size_t available = 0;
	for (size_t i = 0; i < c->workers.n; i++) {
		const struct worker *w = c->workers.v[i];
		acts[w->act->idx]++;
		available += w->act->available;
	}
	size_t total = counts[T_PENDING] + counts[T_RESERVED] + counts[T_ASSIGNED] + counts[T_WRAPPING];
	return json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:o, s:I, s:o}", "workspace_sid", c->ws_sid, "account_sid",
			 c->account_sid, "tasks_by_status", by_status(counts), "total_tasks", (json_int_t)total,
			 "total_workers", (json_int_t)c->workers.n, "total_available_workers", (json_int_t)available,
			 "activity_statistics", activity_stats(c, acts), "longest_task_waiting_age",
			 (json_int_t)(oldest >= 0 ? (c->now - oldest) / 1000 : 0), "cumulative", counters(&c->cum));
}

json_t *evd_task(const swb_core *c, const struct task *t)
{
	char *attrs = attrs_dump(t->attrs);
	json_t *d = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "task_sid", t->sid,
			      "task_attributes", attrs, "task_age", (json_int_t)task_age_s(c, t), "task_priority",
			      (json_int_t)t->priority, "task_assignment_status", tstatus_name(t->st), "workflow_sid",
			      t->wf->sid, "workflow_name", t->wf->name, "task_channel_sid", t->ch->sid,
			      "task_channel_unique_name", t->ch->unique_name, "task_date_created", jdate(t->created));
	free(attrs);
	if (t->q) {
		json_object_set_new(d, "task_queue_sid", json_string(t->q->sid));
		json_object_set_new(d, "task_queue_name", json_string(t->q->name));
		json_object_set_new(d, "task_queue_entered_date", jdate(t->entered_ms));
	}
	if (t->reason && t->st == T_CANCELED)
		json_object_set_new(d, "task_canceled_reason", json_string(t->reason));
	if (t->reason && t->st == T_COMPLETED)
		json_object_set_new(d, "task_completed_reason", json_string(t->reason));
	return d;
}

void evd_add_worker(const swb_core *c, json_t *d, const struct worker *w)
{
	char *attrs = attrs_dump(w->attrs);
	json_object_set_new(d, "worker_sid", json_string(w->sid));
	json_object_set_new(d, "worker_name", json_string(w->name));
	json_object_set_new(d, "worker_attributes", json_string(attrs));
	json_object_set_new(d, "worker_activity_sid", json_string(w->act->sid));
	json_object_set_new(d, "worker_activity_name", json_string(w->act->name));
	json_object_set_new(d, "worker_available", json_boolean(w->act->available));
	free(attrs);
	(void)c;
}

json_t *evd_reservation(const swb_core *c, const struct reservation *r)
{
	json_t *d = evd_task(c, r->t);
	evd_add_worker(c, d, r->w);
	json_object_set_new(d, "reservation_sid", json_string(r->sid));
	json_object_set_new(d, "reservation_status", json_string(rstatus_name(r->st)));
	json_object_set_new(d, "task_queue_sid", json_string(r->q->sid));
	json_object_set_new(d, "task_queue_name", json_string(r->q->name));
	if (r->st == R_PENDING)
		json_object_set_new(d, "reservation_timeout", json_integer((r->deadline - r->created) / 1000));
	return d;
}

json_t *evd_worker(const swb_core *c, const struct worker *w)
{
	json_t *d = json_object();
	evd_add_worker(c, d, w);
	return d;
}
