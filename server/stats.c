/*
 * stats.c - real-time and cumulative statistics (see stats.h).
 *
 * Cumulative figures follow TaskRouter's definitions, counted per event:
 *   reservations_*   reservation.created / accepted / rejected / timeout / canceled / rescinded
 *   tasks_entered    task-queue.entered (queue); tasks_created task.created (workspace)
 *   tasks_canceled / completed / deleted / moved   task.canceled / completed / deleted, task-queue.moved
 *   tasks_timed_out_in_workflow                   workflow.timeout (workspace)
 *   wait_duration_until_accepted / _canceled      the task's age (s) when it was accepted / canceled
 *   wait_duration_in_queue_until_accepted         seconds since it entered the queue (queue)
 *   avg_task_acceptance_time                      the average of wait_duration_until_accepted
 *   split_by_wait_time   per threshold T: accepted and canceled tasks that waited more than T
 *                        ("above") and at most T ("below")
 *   activity_durations   per activity, the seconds each worker spent in it during the window
 *                        (from worker.activity.update); avg/min/max over the workers, total their sum
 * A queue's events are those whose event_data names it (task_queue_sid).
 */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

struct window {
	int64_t from, to; /* ms */
	char channel[64]; /* unique name; "" for every channel */
	long long split[SWB_STATS_MAX_SPLITS];
	size_t nsplit;
};

struct dur {
	int64_t total, min, max;
	uint64_t n;
};

struct cum {
	uint64_t res_created, res_accepted, res_rejected, res_timed_out, res_canceled, res_rescinded;
	uint64_t tasks_created, tasks_entered, tasks_canceled, tasks_completed, tasks_deleted, tasks_moved;
	uint64_t tasks_timed_out_in_workflow;
	struct dur until_accepted, until_canceled, in_queue_until_accepted;
	uint64_t acc_above[SWB_STATS_MAX_SPLITS], acc_below[SWB_STATS_MAX_SPLITS];
	uint64_t can_above[SWB_STATS_MAX_SPLITS], can_below[SWB_STATS_MAX_SPLITS];
};

/* Which events count: a queue's, a worker's, any worker's, or all. */
enum scope_kind { SCOPE_WORKSPACE, SCOPE_QUEUE, SCOPE_WORKER, SCOPE_WORKERS };

/* Per-worker activity time while scanning (SCOPE_WORKER / SCOPE_WORKERS). */
struct wtrack {
	int act;         /* index into the activities, -1 unknown */
	int64_t since;   /* start of the current stay, clipped to the window */
	bool changed;    /* an activity change was seen in the window */
	int64_t *spent;  /* ms per activity */
};

struct scan {
	enum scope_kind kind;
	const char *sid;
	const struct window *win;
	struct cum c;
	/* activity durations */
	json_t *activities; /* [{sid, friendly_name}] */
	json_t *aidx, *widx; /* sid -> index */
	struct wtrack *wt;
	size_t nw, na;
	int64_t end;
};

/* ---- arguments ---- */

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static enum swb_code parse_split(json_t *v, struct window *win, struct swb_err *err)
{
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			if (!json_is_integer(x) || json_integer_value(x) <= 0 || win->nsplit == SWB_STATS_MAX_SPLITS)
				goto bad;
			win->split[win->nsplit++] = json_integer_value(x);
		}
		return SWB_OK;
	}
	if (!json_is_string(v))
		goto bad;
	for (const char *p = json_string_value(v); *p;) {
		char *end;
		long long s = strtoll(p, &end, 10);
		if (end == p || s <= 0 || (*end && *end != ',') || win->nsplit == SWB_STATS_MAX_SPLITS)
			goto bad;
		win->split[win->nsplit++] = s;
		p = *end ? end + 1 : end;
	}
	return SWB_OK;
bad:
	return swb_err_set(err, SWB_EINVAL, "'split_by_wait_time' must be up to %d positive seconds (\"10,30,60\")",
			   SWB_STATS_MAX_SPLITS);
}

static enum swb_code read_args(struct wspace *w, const struct swb_actor *a, json_t *args, bool splits,
			       struct window *win, struct swb_err *err)
{
	static const char *const keys[] = { "sid", "minutes", "start_date", "end_date", "split_by_wait_time",
					    "task_channel", NULL };
	const char *k;
	json_t *v;
	json_object_foreach(args, k, v) {
		bool known = false;
		for (const char *const *kk = keys; *kk && !known; kk++)
			known = strcmp(*kk, k) == 0;
		if (!known)
			return swb_err_set(err, SWB_EINVAL, "unknown argument '%.60s'", k);
	}
	int64_t now = swb_wall_ms();
	memset(win, 0, sizeof *win);
	win->to = now;
	win->from = now - (int64_t)SWB_STATS_DEFAULT_MINUTES * 60000;
	json_t *m = json_object_get(args, "minutes");
	json_t *sd = json_object_get(args, "start_date"), *ed = json_object_get(args, "end_date");
	int64_t max_min = (now - node_retention_cutoff(w->n, now)) / 60000;
	if (m && sd)
		return swb_err_set(err, SWB_EINVAL, "give 'minutes' or 'start_date', not both");
	if (m && (!json_is_integer(m) || json_integer_value(m) < 1 || json_integer_value(m) > max_min))
		return swb_err_set(err, SWB_EINVAL, "'minutes' must be 1..%lld (the retention)", (long long)max_min);
	if (m)
		win->from = now - json_integer_value(m) * 60000;
	if (sd && (!json_is_string(sd) || !swb_iso8601_parse(json_string_value(sd), &win->from)))
		return swb_err_set(err, SWB_EINVAL, "'start_date' must be ISO 8601 (2026-11-26T00:00:00Z)");
	if (ed && (!json_is_string(ed) || !swb_iso8601_parse(json_string_value(ed), &win->to)))
		return swb_err_set(err, SWB_EINVAL, "'end_date' must be ISO 8601 (2026-11-26T00:00:00Z)");
	if (win->to < win->from)
		return swb_err_set(err, SWB_EINVAL, "'end_date' is before the start of the window");
	json_t *split = json_object_get(args, "split_by_wait_time");
	if (split && !splits)
		return swb_err_set(err, SWB_EINVAL, "'split_by_wait_time' applies to queues and the workspace");
	if (split && parse_split(split, win, err) != SWB_OK)
		return SWB_EINVAL;
	json_t *ch = json_object_get(args, "task_channel");
	if (ch) {
		if (!json_is_string(ch))
			return swb_err_set(err, SWB_EINVAL, "'task_channel' must be a string");
		json_t *fa = json_pack("{s:O}", "sid", ch), *c = NULL;
		enum swb_code rc = node_exec(w, now, a, "task_channels.fetch", fa, &c, err);
		json_decref(fa);
		if (rc != SWB_OK)
			return rc;
		snprintf(win->channel, sizeof win->channel, "%s", str(c, "unique_name"));
		json_decref(c);
	}
	return SWB_OK;
}

/* ---- counting ---- */

static void dur_add(struct dur *d, int64_t v)
{
	if (v < 0)
		v = 0;
	if (!d->n || v < d->min)
		d->min = v;
	if (!d->n || v > d->max)
		d->max = v;
	d->total += v;
	d->n++;
}

static json_t *dur_json(const struct dur *d)
{
	return json_pack("{s:I, s:I, s:I, s:I}", "avg", (json_int_t)(d->n ? d->total / (int64_t)d->n : 0), "min",
			 (json_int_t)d->min, "max", (json_int_t)d->max, "total", (json_int_t)d->total);
}

static json_t *event_data(const struct swb_evrec *r, json_t **root)
{
	json_error_t je;
	*root = json_loads(r->json, 0, &je);
	return json_object_get(*root, "event_data");
}

/* The seconds a task had waited when r fired (its age), and since it entered its queue. */
static void waits(const struct swb_evrec *r, int64_t *age, int64_t *in_queue)
{
	json_t *root, *d = event_data(r, &root);
	*age = json_integer_value(json_object_get(d, "task_age"));
	int64_t entered;
	const char *ed = json_string_value(json_object_get(d, "task_queue_entered_date"));
	*in_queue = ed && swb_iso8601_parse(ed, &entered) ? (r->ts_ms - entered) / 1000 : *age;
	json_decref(root);
}

static void split_count(const struct window *win, int64_t wait, uint64_t *above, uint64_t *below)
{
	for (size_t i = 0; i < win->nsplit; i++) {
		if (wait > win->split[i])
			above[i]++;
		else
			below[i]++;
	}
}

static bool in_scope(const struct scan *s, const struct swb_evrec *r)
{
	switch (s->kind) {
	case SCOPE_WORKSPACE: return true;
	case SCOPE_QUEUE: return strcmp(r->queue_sid, s->sid) == 0;
	case SCOPE_WORKER: return strcmp(r->worker_sid, s->sid) == 0;
	case SCOPE_WORKERS: return r->worker_sid[0] != '\0';
	}
	return false;
}

static void count(struct scan *s, const struct swb_evrec *r)
{
	struct cum *c = &s->c;
	const char *t = r->type;
	int64_t age, in_queue;
	if (strncmp(t, "reservation.", 12) == 0) {
		t += 12;
		if (strcmp(t, "created") == 0)
			c->res_created++;
		else if (strcmp(t, "accepted") == 0) {
			c->res_accepted++;
			if (s->kind == SCOPE_QUEUE || s->kind == SCOPE_WORKSPACE) {
				waits(r, &age, &in_queue);
				dur_add(&c->until_accepted, age);
				dur_add(&c->in_queue_until_accepted, in_queue);
				split_count(s->win, age, c->acc_above, c->acc_below);
			}
		} else if (strcmp(t, "rejected") == 0)
			c->res_rejected++;
		else if (strcmp(t, "timeout") == 0)
			c->res_timed_out++;
		else if (strcmp(t, "canceled") == 0)
			c->res_canceled++;
		else if (strcmp(t, "rescinded") == 0)
			c->res_rescinded++;
		return;
	}
	if (strcmp(t, "task.created") == 0) {
		c->tasks_created++;
	} else if (strcmp(t, "task-queue.entered") == 0) {
		c->tasks_entered++;
	} else if (strcmp(t, "task.canceled") == 0) {
		c->tasks_canceled++;
		waits(r, &age, &in_queue);
		dur_add(&c->until_canceled, age);
		split_count(s->win, age, c->can_above, c->can_below);
	} else if (strcmp(t, "task.completed") == 0) {
		c->tasks_completed++;
	} else if (strcmp(t, "task.deleted") == 0) {
		c->tasks_deleted++;
	} else if (strcmp(t, "task-queue.moved") == 0) {
		c->tasks_moved++;
	} else if (strcmp(t, "workflow.timeout") == 0) {
		c->tasks_timed_out_in_workflow++;
	}
}

static int act_index(struct scan *s, const char *sid)
{
	json_t *i = json_object_get(s->aidx, sid);
	return i ? (int)json_integer_value(i) : -1;
}

/* A worker.activity.update: closes the stay it ends, opens the next. */
static void track_activity(struct scan *s, const struct swb_evrec *r)
{
	json_t *wi = json_object_get(s->widx, r->worker_sid);
	if (!wi)
		return;
	struct wtrack *t = &s->wt[json_integer_value(wi)];
	json_t *root, *d = event_data(r, &root);
	int in = t->changed ? t->act : act_index(s, str(d, "worker_previous_activity_sid"));
	if (!t->changed) {
		/* the stay began before the window, or when the worker was created */
		int64_t began = r->ts_ms - json_integer_value(json_object_get(d, "worker_time_in_previous_activity_ms"));
		if (began > t->since)
			t->since = began;
	}
	if (in >= 0 && r->ts_ms > t->since)
		t->spent[in] += r->ts_ms - t->since;
	t->since = r->ts_ms;
	t->act = act_index(s, str(d, "worker_activity_sid"));
	t->changed = true;
	json_decref(root);
}

static bool visit(void *ctx, const struct swb_evrec *r)
{
	struct scan *s = ctx;
	if (!in_scope(s, r))
		return true;
	if (s->wt && strcmp(r->type, "worker.activity.update") == 0)
		track_activity(s, r);
	if (s->win->channel[0] && strcmp(r->channel, s->win->channel) != 0)
		return true;
	count(s, r);
	return true;
}

static json_t *iso(int64_t ms)
{
	char buf[SWB_ISO_SIZE];
	swb_iso8601(ms, buf);
	return json_string(buf);
}

static json_t *split_json(const struct window *win, const struct cum *c)
{
	if (!win->nsplit)
		return json_null();
	json_t *o = json_object();
	for (size_t i = 0; i < win->nsplit; i++) {
		char key[32];
		snprintf(key, sizeof key, "%lld", win->split[i]);
		json_object_set_new(o, key, json_pack("{s:{s:I, s:I}, s:{s:I, s:I}}", "above", "tasks_canceled",
						      (json_int_t)c->can_above[i], "reservations_accepted",
						      (json_int_t)c->acc_above[i], "below", "tasks_canceled",
						      (json_int_t)c->can_below[i], "reservations_accepted",
						      (json_int_t)c->acc_below[i]));
	}
	return o;
}

static json_t *cumulative_json(struct wspace *w, const struct scan *s)
{
	const struct cum *c = &s->c;
	json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "reservations_created", (json_int_t)c->res_created,
			      "reservations_accepted", (json_int_t)c->res_accepted, "reservations_rejected",
			      (json_int_t)c->res_rejected, "reservations_timed_out", (json_int_t)c->res_timed_out,
			      "reservations_canceled", (json_int_t)c->res_canceled, "reservations_rescinded",
			      (json_int_t)c->res_rescinded);
	json_object_set_new(j, "account_sid", json_string(w->n->account_sid));
	json_object_set_new(j, "workspace_sid", json_string(w->sid));
	json_object_set_new(j, "start_time", iso(s->win->from));
	json_object_set_new(j, "end_time", iso(s->win->to));
	if (s->kind == SCOPE_WORKER || s->kind == SCOPE_WORKERS)
		return j;
	json_object_set_new(j, "avg_task_acceptance_time",
			    json_integer(c->until_accepted.n ? c->until_accepted.total / (int64_t)c->until_accepted.n : 0));
	json_object_set_new(j, "tasks_canceled", json_integer((json_int_t)c->tasks_canceled));
	json_object_set_new(j, "tasks_completed", json_integer((json_int_t)c->tasks_completed));
	json_object_set_new(j, "tasks_deleted", json_integer((json_int_t)c->tasks_deleted));
	json_object_set_new(j, "tasks_moved", json_integer((json_int_t)c->tasks_moved));
	json_object_set_new(j, "wait_duration_until_accepted", dur_json(&c->until_accepted));
	json_object_set_new(j, "wait_duration_until_canceled", dur_json(&c->until_canceled));
	json_object_set_new(j, "split_by_wait_time", split_json(s->win, c));
	if (s->kind == SCOPE_QUEUE) {
		json_object_set_new(j, "task_queue_sid", json_string(s->sid));
		json_object_set_new(j, "tasks_entered", json_integer((json_int_t)c->tasks_entered));
		json_object_set_new(j, "wait_duration_in_queue_until_accepted", dur_json(&c->in_queue_until_accepted));
	} else {
		json_object_set_new(j, "tasks_created", json_integer((json_int_t)c->tasks_created));
		json_object_set_new(j, "tasks_timed_out_in_workflow",
				    json_integer((json_int_t)c->tasks_timed_out_in_workflow));
	}
	return j;
}

/* ---- the ops ---- */

static json_t *without(json_t *j, const char *const *keys)
{
	for (; *keys; keys++)
		json_object_del(j, *keys);
	return j;
}

enum swb_code stats_queue(struct wspace *w, const struct swb_actor *a, json_t *args, json_t **out,
			  struct swb_err *err)
{
	static const char *const not_realtime[] = { "cumulative", "friendly_name", "avg_task_acceptance_time", NULL };
	struct window win;
	enum swb_code rc = read_args(w, a, args, true, &win, err);
	if (rc != SWB_OK)
		return rc;
	if (!json_is_string(json_object_get(args, "sid")))
		return swb_err_set(err, SWB_EINVAL, "stats.queue: give 'sid' (a WQ sid or the queue's name)");
	json_t *fa = json_pack("{s:O}", "sid", json_object_get(args, "sid")), *rt = NULL;
	rc = node_exec(w, swb_wall_ms(), a, "task_queues.stats", fa, &rt, err);
	json_decref(fa);
	if (rc != SWB_OK)
		return rc;
	struct scan s = { .kind = SCOPE_QUEUE, .sid = str(rt, "task_queue_sid"), .win = &win };
	node_events_scan(w, win.from, win.to, visit, &s);
	json_t *cum = cumulative_json(w, &s);
	json_object_set_new(rt, "account_sid", json_string(w->n->account_sid));
	json_object_set_new(rt, "workspace_sid", json_string(w->sid));
	*out = json_pack("{s:o, s:o}", "realtime", without(rt, not_realtime), "cumulative", cum);
	return SWB_OK;
}

enum swb_code stats_workspace(struct wspace *w, const struct swb_actor *a, json_t *args, json_t **out,
			      struct swb_err *err)
{
	static const char *const not_realtime[] = { "cumulative", NULL };
	struct window win;
	enum swb_code rc = read_args(w, a, args, true, &win, err);
	if (rc != SWB_OK)
		return rc;
	if (json_object_get(args, "sid"))
		return swb_err_set(err, SWB_EINVAL, "stats.workspace takes no 'sid' (the request's workspace counts)");
	json_t *rt = NULL;
	rc = node_exec(w, swb_wall_ms(), a, "workspace.stats", NULL, &rt, err);
	if (rc != SWB_OK)
		return rc;
	struct scan s = { .kind = SCOPE_WORKSPACE, .win = &win };
	node_events_scan(w, win.from, win.to, visit, &s);
	*out = json_pack("{s:o, s:o}", "realtime", without(rt, not_realtime), "cumulative", cumulative_json(w, &s));
	return SWB_OK;
}


/* activity_durations of the workers in s (in seconds), after the scan. */
static json_t *durations_json(struct scan *s)
{
	json_t *out = json_array();
	for (size_t i = 0; i < s->na; i++) {
		struct dur d = { 0 };
		for (size_t k = 0; k < s->nw; k++) {
			struct wtrack *t = &s->wt[k];
			int64_t ms = t->spent[i] + (t->act == (int)i && s->end > t->since ? s->end - t->since : 0);
			dur_add(&d, ms / 1000);
		}
		json_t *dj = dur_json(&d), *act = json_array_get(s->activities, i);
		json_object_set_new(dj, "sid", json_string(str(act, "sid")));
		json_object_set_new(dj, "friendly_name", json_string(str(act, "friendly_name")));
		json_array_append_new(out, dj);
	}
	return out;
}

enum swb_code stats_worker(struct wspace *w, const struct swb_actor *a, json_t *args, json_t **out,
			   struct swb_err *err)
{
	struct window win;
	enum swb_code rc = read_args(w, a, args, false, &win, err);
	if (rc != SWB_OK)
		return rc;
	json_t *one = NULL, *workers, *rt;
	const char *sid = json_string_value(json_object_get(args, "sid"));
	if (json_object_get(args, "sid") && !sid)
		return swb_err_set(err, SWB_EINVAL, "stats.worker: 'sid' must be a WK sid or a worker's name");
	if (sid) {
		json_t *fa = json_pack("{s:s}", "sid", sid);
		rc = node_exec(w, swb_wall_ms(), a, "workers.fetch", fa, &one, err);
		json_decref(fa);
		if (rc != SWB_OK)
			return rc;
		workers = json_pack("[O]", one);
		rt = json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:O}", "account_sid", w->n->account_sid, "workspace_sid",
			       w->sid, "worker_sid", str(one, "sid"), "activity_sid", json_object_get(one, "activity_sid"),
			       "activity_name", json_object_get(one, "activity_name"), "available",
			       json_object_get(one, "available"), "date_status_changed",
			       json_object_get(one, "date_status_changed"));
	} else {
		if (a && a->kind == SWB_ACTOR_WORKER)
			return swb_err_set(err, SWB_EPERM, "stats.worker for every worker needs a supervisor or admin token");
		json_t *ws = NULL;
		rc = node_exec(w, swb_wall_ms(), a, "workspace.stats", NULL, &ws, err);
		if (rc != SWB_OK)
			return rc;
		rt = json_pack("{s:s, s:s, s:O, s:O}", "account_sid", w->n->account_sid, "workspace_sid", w->sid,
			       "activity_statistics", json_object_get(ws, "activity_statistics"), "total_workers",
			       json_object_get(ws, "total_workers"));
		json_decref(ws);
		workers = node_list_all(w, NULL, "workers.list", "workers", json_object());
	}
	struct scan s = { .kind = sid ? SCOPE_WORKER : SCOPE_WORKERS, .sid = sid ? str(one, "sid") : NULL, .win = &win };
	s.activities = node_list_all(w, NULL, "activities.list", "activities", json_object());
	s.na = json_array_size(s.activities);
	s.nw = json_array_size(workers);
	s.aidx = json_object();
	s.widx = json_object();
	s.wt = calloc(s.nw + 1, sizeof *s.wt);
	int64_t *spent = calloc(s.nw * s.na + 1, sizeof *spent);
	if (!s.wt || !spent)
		abort();
	s.end = win.to < swb_wall_ms() ? win.to : swb_wall_ms();
	size_t i;
	json_t *it;
	json_array_foreach(s.activities, i, it)
		json_object_set_new(s.aidx, str(it, "sid"), json_integer((json_int_t)i));
	json_array_foreach(workers, i, it) {
		int64_t created = 0;
		swb_iso8601_parse(str(it, "date_created"), &created);
		s.wt[i] = (struct wtrack){ .act = act_index(&s, str(it, "activity_sid")),
					   .since = created > win.from ? created : win.from, .spent = spent + i * s.na };
		json_object_set_new(s.widx, str(it, "sid"), json_integer((json_int_t)i));
	}
	node_events_scan(w, win.from, win.to, visit, &s);
	json_t *cum = cumulative_json(w, &s);
	json_object_set_new(cum, "activity_durations", durations_json(&s));
	if (sid) {
		json_object_set_new(cum, "worker_sid", json_string(s.sid));
		json_object_set_new(cum, "tasks_assigned", json_integer((json_int_t)s.c.res_accepted));
	}
	*out = json_pack("{s:o, s:o}", "realtime", rt, "cumulative", cum);
	json_decref(s.activities);
	json_decref(s.aidx);
	json_decref(s.widx);
	json_decref(workers);
	json_decref(one);
	free(s.wt);
	free(spent);
	return SWB_OK;
}
