/*
 * view_state.c - the console's model: snapshots, events and statistics turned
 * into the rows the panels draw. See view_state.h. Pure: no curses, no I/O,
 * no clock.
 */
#include "view_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "timefmt.h"

struct view {
	enum view_mode mode;
	int sl_threshold_s;
	bool synced;
	uint64_t snap_seq;
	char ws_name[VIEW_NAME_MAX];

	struct view_activity *acts;
	size_t nacts;

	/* agent */
	struct view_worker me;
	bool has_me;
	struct view_reservation **res; /* display order */
	size_t nres, capres;

	/* both: queues; supervisor: workers */
	struct view_queue **queues;
	size_t nq, capq;
	swb_map *qmap;
	struct view_worker **workers;
	size_t nw, capw;
	swb_map *wmap;

	struct view_event events[VIEW_EVENTS_MAX];
	size_t ev_next, ev_count;
	uint64_t ev_total;

	struct view_totals totals;
};

/* ---- JSON helpers (all borrow) ---- */

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static long long jint(json_t *o, const char *key, long long dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

static bool jbool(json_t *o, const char *key, bool dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* An ISO 8601 date field in ms (0 when absent or bad). */
static int64_t jdate(json_t *o, const char *key)
{
	int64_t ms;
	return swb_iso8601_parse(json_string_value(json_object_get(o, key)), &ms) ? ms : 0;
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

#define COPY(dst, src) copy((dst), sizeof(dst), (src))

/* Task attributes arrive as a JSON string (TaskRouter's form) or an object: returns a new object. */
static json_t *parse_attrs(json_t *v)
{
	if (json_is_object(v))
		return json_deep_copy(v);
	json_t *o = NULL;
	if (json_is_string(v))
		o = json_loads(json_string_value(v), 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	return o;
}

static void *grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return arr;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void *p = realloc(arr, n * elem);
	if (!p)
		abort(); /* the console cannot go on without its model */
	*cap = n;
	return p;
}

/* ---- life ---- */

struct view *view_new(enum view_mode mode, int sl_threshold_s)
{
	struct view *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->mode = mode;
	v->sl_threshold_s = sl_threshold_s > 0 ? sl_threshold_s : 20;
	v->qmap = swb_map_new();
	v->wmap = swb_map_new();
	if (!v->qmap || !v->wmap) {
		view_free(v);
		return NULL;
	}
	return v;
}

static void res_free(struct view_reservation *r)
{
	if (!r)
		return;
	json_decref(r->attributes);
	free(r);
}

static void clear_reservations(struct view *v)
{
	for (size_t i = 0; i < v->nres; i++)
		res_free(v->res[i]);
	v->nres = 0;
}

static void clear_workers(struct view *v)
{
	for (size_t i = 0; i < v->nw; i++)
		free(v->workers[i]);
	v->nw = 0;
	swb_map_free(v->wmap);
	v->wmap = swb_map_new();
	if (!v->wmap)
		abort();
}

void view_free(struct view *v)
{
	if (!v)
		return;
	clear_reservations(v);
	free(v->res);
	for (size_t i = 0; i < v->nq; i++)
		free(v->queues[i]);
	free(v->queues);
	for (size_t i = 0; i < v->nw; i++)
		free(v->workers[i]);
	free(v->workers);
	swb_map_free(v->qmap);
	swb_map_free(v->wmap);
	free(v->acts);
	free(v);
}

enum view_mode view_mode(const struct view *v)
{
	return v->mode;
}

int view_sl_threshold(const struct view *v)
{
	return v->sl_threshold_s;
}

bool view_synced(const struct view *v)
{
	return v->synced;
}

uint64_t view_snapshot_seq(const struct view *v)
{
	return v->snap_seq;
}

const char *view_workspace_name(const struct view *v)
{
	return v->ws_name;
}

/* ---- events pane ---- */

static void add_event(struct view *v, uint64_t seq, int64_t ms, const char *type, const char *text)
{
	struct view_event *e = &v->events[v->ev_next];
	e->seq = seq;
	e->ms = ms;
	COPY(e->type, type);
	COPY(e->text, text);
	v->ev_next = (v->ev_next + 1) % VIEW_EVENTS_MAX;
	if (v->ev_count < VIEW_EVENTS_MAX)
		v->ev_count++;
	v->ev_total++;
}

unsigned view_note(struct view *v, int64_t now_ms, const char *type, const char *text)
{
	add_event(v, 0, now_ms, type, text);
	return VIEW_DIRTY_EVENTS;
}

/* ---- activities ---- */

unsigned view_apply_activities(struct view *v, json_t *activities)
{
	size_t n = json_array_size(activities);
	struct view_activity *a = calloc(n ? n : 1, sizeof *a);
	if (!a)
		abort();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(activities, i);
		COPY(a[i].sid, jstr(o, "sid"));
		COPY(a[i].name, jstr(o, "friendly_name"));
		a[i].available = jbool(o, "available", false);
	}
	free(v->acts);
	v->acts = a;
	v->nacts = n;
	/* the worker's activity name may have changed */
	const struct view_activity *mine = v->has_me ? view_activity_find(v, v->me.activity_sid) : NULL;
	if (mine) {
		COPY(v->me.activity_name, mine->name);
		v->me.available = mine->available;
	}
	return VIEW_DIRTY_ACTIVITIES | VIEW_DIRTY_HEADER | VIEW_DIRTY_WORKERS;
}

/* ---- workers ---- */

/* Fills w's identity and activity from a worker representation or an event's worker fields. */
static void worker_from_rep(struct view_worker *w, json_t *o)
{
	COPY(w->sid, jstr(o, "sid"));
	COPY(w->name, jstr(o, "friendly_name"));
	COPY(w->activity_sid, jstr(o, "activity_sid"));
	COPY(w->activity_name, jstr(o, "activity_name"));
	w->available = jbool(o, "available", false);
	w->since_ms = jdate(o, "date_status_changed");
}

static void worker_from_event(struct view_worker *w, json_t *d, int64_t at_ms)
{
	COPY(w->sid, jstr(d, "worker_sid"));
	if (*jstr(d, "worker_name"))
		COPY(w->name, jstr(d, "worker_name"));
	COPY(w->activity_sid, jstr(d, "worker_activity_sid"));
	COPY(w->activity_name, jstr(d, "worker_activity_name"));
	w->available = jbool(d, "worker_available", w->available);
	w->since_ms = at_ms;
}

static struct view_worker *worker_get(const struct view *v, const char *sid)
{
	return sid && *sid ? swb_map_get(v->wmap, sid) : NULL;
}

static struct view_worker *worker_add(struct view *v, const char *sid)
{
	struct view_worker *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	COPY(w->sid, sid);
	v->workers = grow(v->workers, &v->capw, v->nw + 1, sizeof *v->workers);
	v->workers[v->nw++] = w;
	if (swb_map_put(v->wmap, w->sid, w) != 0)
		abort();
	return w;
}

static void worker_remove(struct view *v, const char *sid)
{
	struct view_worker *w = swb_map_del(v->wmap, sid);
	if (!w)
		return;
	for (size_t i = 0; i < v->nw; i++) {
		if (v->workers[i] == w) {
			memmove(&v->workers[i], &v->workers[i + 1], (v->nw - i - 1) * sizeof *v->workers);
			v->nw--;
			break;
		}
	}
	free(w);
}

static enum view_res_status res_status_parse(const char *s, bool *live)
{
	*live = true;
	if (strcmp(s, "pending") == 0)
		return VIEW_RES_PENDING;
	if (strcmp(s, "accepted") == 0)
		return VIEW_RES_ACCEPTED;
	if (strcmp(s, "wrapping") == 0)
		return VIEW_RES_WRAPPING;
	*live = false;
	return VIEW_RES_PENDING;
}

/* Sets (adding when absent) what worker w holds through reservation rsid. */
static void worker_hold(struct view *v, struct view_worker *w, const char *rsid, const char *tsid, const char *qsid,
			const char *qname, enum view_res_status st)
{
	for (int i = 0; i < w->ntasks; i++) {
		if (strcmp(w->tasks[i].reservation_sid, rsid) == 0) {
			w->tasks[i].status = st;
			return;
		}
	}
	if (w->ntasks == VIEW_WORKER_TASKS_MAX) {
		w->more_tasks++;
		return;
	}
	struct view_worker_task *t = &w->tasks[w->ntasks++];
	COPY(t->reservation_sid, rsid);
	COPY(t->task_sid, tsid);
	const struct view_queue *q = view_queue_find(v, qsid);
	COPY(t->queue_name, qname && *qname ? qname : q ? q->name : "");
	t->status = st;
}

static void worker_release(struct view_worker *w, const char *rsid)
{
	for (int i = 0; i < w->ntasks; i++) {
		if (strcmp(w->tasks[i].reservation_sid, rsid) == 0) {
			memmove(&w->tasks[i], &w->tasks[i + 1], (size_t)(w->ntasks - i - 1) * sizeof w->tasks[0]);
			w->ntasks--;
			return;
		}
	}
	if (w->more_tasks > 0)
		w->more_tasks--;
}

unsigned view_apply_holdings(struct view *v, json_t *reservations)
{
	for (size_t i = 0; i < v->nw; i++) {
		v->workers[i]->ntasks = 0;
		v->workers[i]->more_tasks = 0;
	}
	size_t i;
	json_t *r;
	json_array_foreach(reservations, i, r) {
		bool live;
		enum view_res_status st = res_status_parse(jstr(r, "reservation_status"), &live);
		struct view_worker *w = worker_get(v, jstr(r, "worker_sid"));
		if (live && w)
			worker_hold(v, w, jstr(r, "sid"), jstr(r, "task_sid"), jstr(r, "task_queue_sid"), NULL, st);
	}
	return VIEW_DIRTY_WORKERS;
}

/* ---- queues ---- */

static struct view_queue *queue_get(const struct view *v, const char *sid)
{
	return sid && *sid ? swb_map_get(v->qmap, sid) : NULL;
}

static void queue_stats_from(struct view_queue *q, json_t *s, int64_t now_ms)
{
	json_t *bs = json_object_get(s, "tasks_by_status");
	q->pending = (long)jint(bs, "pending", 0);
	q->reserved = (long)jint(bs, "reserved", 0);
	q->assigned = (long)jint(bs, "assigned", 0);
	q->wrapping = (long)jint(bs, "wrapping", 0);
	q->available = (long)jint(s, "total_available_workers", 0);
	q->eligible = (long)jint(s, "total_eligible_workers", 0);
	q->longest_wait_s = (long)jint(s, "longest_task_waiting_age", 0);
	/* waiting by priority, highest first */
	q->n_prio = 0;
	q->other_prio = 0;
	const char *k;
	json_t *cnt;
	struct view_prio_count all[64];
	int nall = 0;
	json_object_foreach(json_object_get(s, "tasks_by_priority"), k, cnt) {
		if (nall < 64 && json_is_integer(cnt)) {
			all[nall].priority = atoi(k);
			all[nall].count = (long)json_integer_value(cnt);
			nall++;
		}
	}
	for (int a = 1; a < nall; a++) {
		struct view_prio_count x = all[a];
		int b = a;
		for (; b > 0 && all[b - 1].priority < x.priority; b--)
			all[b] = all[b - 1];
		all[b] = x;
	}
	for (int a = 0; a < nall; a++) {
		if (q->n_prio < VIEW_PRIO_MAX)
			q->by_prio[q->n_prio++] = all[a];
		else
			q->other_prio += all[a].count;
	}
	q->has_stats = true;
	q->stats_ms = now_ms;
}

unsigned view_apply_queue_list(struct view *v, json_t *queues, int64_t now_ms)
{
	size_t n = json_array_size(queues);
	struct view_queue **nqs = calloc(n ? n : 1, sizeof *nqs);
	swb_map *nmap = swb_map_new();
	if (!nqs || !nmap)
		abort();
	size_t nn = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(queues, i);
		const char *sid = jstr(o, "sid");
		if (!*sid || swb_map_get(nmap, sid))
			continue;
		struct view_queue *q = swb_map_del(v->qmap, sid);
		if (!q && !(q = calloc(1, sizeof *q)))
			abort();
		COPY(q->sid, sid);
		COPY(q->name, jstr(o, "friendly_name"));
		json_t *stats = json_object_get(o, "stats");
		if (json_is_object(stats))
			queue_stats_from(q, stats, now_ms);
		nqs[nn++] = q;
		if (swb_map_put(nmap, q->sid, q) != 0)
			abort();
	}
	/* queues that went away */
	size_t pos = 0;
	const char *key;
	void *val;
	while (swb_map_next(v->qmap, &pos, &key, &val))
		free(val);
	swb_map_free(v->qmap);
	free(v->queues);
	v->qmap = nmap;
	v->queues = nqs;
	v->nq = nn;
	v->capq = n ? n : 1;
	return VIEW_DIRTY_QUEUES | VIEW_NEED_STATS;
}

unsigned view_apply_queue_stats(struct view *v, json_t *stats, int64_t now_ms)
{
	struct view_queue *q = queue_get(v, jstr(stats, "task_queue_sid"));
	if (!q)
		return 0;
	queue_stats_from(q, stats, now_ms);
	return VIEW_DIRTY_QUEUES;
}

unsigned view_apply_workspace_stats(struct view *v, json_t *s, int64_t now_ms)
{
	struct view_totals *t = &v->totals;
	json_t *bs = json_object_get(s, "tasks_by_status");
	t->pending = (long)jint(bs, "pending", 0);
	t->reserved = (long)jint(bs, "reserved", 0);
	t->assigned = (long)jint(bs, "assigned", 0);
	t->wrapping = (long)jint(bs, "wrapping", 0);
	t->workers = (long)jint(s, "total_workers", 0);
	t->available = (long)jint(s, "total_available_workers", 0);
	t->longest_wait_s = (long)jint(s, "longest_task_waiting_age", 0);
	t->has_stats = true;
	t->stats_ms = now_ms;
	return VIEW_DIRTY_HEADER;
}

/* ---- reservations (agent) ---- */

static int res_rank(const struct view_reservation *r)
{
	return r->status == VIEW_RES_PENDING ? 0 : r->status == VIEW_RES_ACCEPTED ? 1 : 2;
}

static int res_cmp(const void *pa, const void *pb)
{
	const struct view_reservation *a = *(struct view_reservation *const *)pa;
	const struct view_reservation *b = *(struct view_reservation *const *)pb;
	int ra = res_rank(a), rb = res_rank(b);
	if (ra != rb)
		return ra - rb;
	if (ra == 0 && a->deadline_ms != b->deadline_ms) {
		if (!a->deadline_ms || !b->deadline_ms)
			return a->deadline_ms ? -1 : 1;
		return a->deadline_ms < b->deadline_ms ? -1 : 1;
	}
	if (a->created_ms != b->created_ms)
		return a->created_ms < b->created_ms ? -1 : 1;
	return strcmp(a->sid, b->sid);
}

static void res_sort(struct view *v)
{
	if (v->nres > 1)
		qsort(v->res, v->nres, sizeof *v->res, res_cmp);
}

static struct view_reservation *res_get(const struct view *v, const char *sid)
{
	for (size_t i = 0; i < v->nres; i++)
		if (strcmp(v->res[i]->sid, sid) == 0)
			return v->res[i];
	return NULL;
}

static struct view_reservation *res_add(struct view *v, const char *sid, int64_t now_ms)
{
	struct view_reservation *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	COPY(r->sid, sid);
	r->arrived_ms = now_ms;
	r->attributes = json_object();
	v->res = grow(v->res, &v->capres, v->nres + 1, sizeof *v->res);
	v->res[v->nres++] = r;
	return r;
}

static void res_remove(struct view *v, const char *sid)
{
	for (size_t i = 0; i < v->nres; i++) {
		if (strcmp(v->res[i]->sid, sid) == 0) {
			res_free(v->res[i]);
			memmove(&v->res[i], &v->res[i + 1], (v->nres - i - 1) * sizeof *v->res);
			v->nres--;
			return;
		}
	}
}

/* The task's part of a reservation from a task representation. */
static void res_task_from_rep(struct view_reservation *r, json_t *t)
{
	if (!json_is_object(t))
		return;
	json_decref(r->attributes);
	r->attributes = parse_attrs(json_object_get(t, "attributes"));
	r->priority = (int)jint(t, "priority", r->priority);
	r->task_created_ms = jdate(t, "date_created");
	if (*jstr(t, "task_queue_friendly_name"))
		COPY(r->queue_name, jstr(t, "task_queue_friendly_name"));
	COPY(r->channel, jstr(t, "task_channel_unique_name"));
	COPY(r->workflow, jstr(t, "workflow_friendly_name"));
}

/* Applies a reservation representation (snapshot or update answer); removes finished ones. */
static unsigned res_from_rep(struct view *v, json_t *o, int64_t now_ms, bool from_snapshot)
{
	const char *sid = jstr(o, "sid");
	if (!*sid)
		return 0;
	bool live;
	enum view_res_status st = res_status_parse(jstr(o, "reservation_status"), &live);
	struct view_reservation *r = res_get(v, sid);
	if (!live) {
		if (!r)
			return 0;
		res_remove(v, sid);
		return VIEW_DIRTY_RESERVATIONS;
	}
	unsigned dirty = VIEW_DIRTY_RESERVATIONS;
	if (!r) {
		r = res_add(v, sid, now_ms);
		if (from_snapshot)
			r->arrived_ms = 0; /* not news: it was there before */
		else if (st == VIEW_RES_PENDING)
			dirty |= VIEW_NEW_RESERVATION;
	}
	r->status = st;
	if (*jstr(o, "task_sid"))
		COPY(r->task_sid, jstr(o, "task_sid"));
	if (*jstr(o, "task_queue_sid"))
		COPY(r->queue_sid, jstr(o, "task_queue_sid"));
	if (!r->created_ms)
		r->created_ms = jdate(o, "date_created");
	int64_t deadline = jdate(o, "timeout_date");
	if (deadline) {
		r->deadline_ms = deadline;
		if (r->created_ms && !r->timeout_s)
			r->timeout_s = (int)((deadline - r->created_ms + 500) / 1000);
	}
	res_task_from_rep(r, json_object_get(o, "task"));
	const struct view_queue *q = queue_get(v, r->queue_sid);
	if (!*r->queue_name && q)
		COPY(r->queue_name, q->name);
	res_sort(v);
	return dirty;
}

unsigned view_apply_reservation(struct view *v, json_t *res, int64_t now_ms)
{
	if (v->mode != VIEW_AGENT)
		return 0;
	return res_from_rep(v, res, now_ms, false) & ~(unsigned)VIEW_NEW_RESERVATION;
}

unsigned view_apply_task(struct view *v, json_t *task, int64_t now_ms)
{
	(void)now_ms;
	const char *tsid = jstr(task, "sid"), *st = jstr(task, "assignment_status");
	unsigned dirty = 0;
	for (size_t i = 0; i < v->nres; i++) {
		struct view_reservation *r = v->res[i];
		if (strcmp(r->task_sid, tsid) != 0)
			continue;
		if (strcmp(st, "wrapping") == 0) {
			r->status = VIEW_RES_WRAPPING;
		} else if (strcmp(st, "completed") == 0 || strcmp(st, "canceled") == 0) {
			res_remove(v, r->sid);
		} else {
			continue;
		}
		res_sort(v);
		dirty |= VIEW_DIRTY_RESERVATIONS;
		break;
	}
	return dirty;
}

unsigned view_apply_worker(struct view *v, json_t *worker, int64_t now_ms)
{
	(void)now_ms;
	if (v->mode == VIEW_AGENT) {
		if (!v->has_me || strcmp(jstr(worker, "sid"), v->me.sid) != 0)
			return 0;
		int nt = v->me.ntasks;
		worker_from_rep(&v->me, worker);
		v->me.ntasks = nt;
		return VIEW_DIRTY_HEADER | VIEW_DIRTY_ACTIVITIES;
	}
	struct view_worker *w = worker_get(v, jstr(worker, "sid"));
	if (!w)
		return 0;
	struct view_worker keep = *w;
	worker_from_rep(w, worker);
	memcpy(w->tasks, keep.tasks, sizeof keep.tasks);
	w->ntasks = keep.ntasks;
	w->more_tasks = keep.more_tasks;
	return VIEW_DIRTY_WORKERS | VIEW_DIRTY_HEADER;
}

/* ---- snapshot ---- */

unsigned view_apply_snapshot(struct view *v, json_t *snap, int64_t now_ms)
{
	json_t *ws = json_object_get(snap, "workspace");
	COPY(v->ws_name, jstr(ws, "friendly_name"));
	v->snap_seq = (uint64_t)jint(snap, "seq", 0);
	view_apply_activities(v, json_object_get(snap, "activities"));
	view_apply_queue_list(v, json_object_get(snap, "task_queues"), now_ms);
	json_t *me = json_object_get(snap, "worker");
	if (json_is_object(me)) {
		v->mode = VIEW_AGENT;
		memset(&v->me, 0, sizeof v->me);
		worker_from_rep(&v->me, me);
		v->has_me = true;
		clear_reservations(v);
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(snap, "reservations"), i, r)
			res_from_rep(v, r, now_ms, true);
	} else if (json_is_array(json_object_get(snap, "workers"))) {
		v->mode = VIEW_SUPERVISOR;
		v->has_me = false;
		clear_workers(v);
		size_t i;
		json_t *w;
		json_array_foreach(json_object_get(snap, "workers"), i, w) {
			const char *sid = jstr(w, "sid");
			if (!*sid || worker_get(v, sid))
				continue;
			worker_from_rep(worker_add(v, sid), w);
		}
		json_t *stats = json_object_get(snap, "stats");
		if (json_is_object(stats))
			view_apply_workspace_stats(v, stats, now_ms);
		/* history is reseeded from the node's event window (view_seed_history) */
		for (size_t k = 0; k < v->nq; k++)
			view_hist_clear(&v->queues[k]->hist);
	}
	v->synced = true;
	return VIEW_DIRTY_ALL | VIEW_NEED_STATS;
}

/* ---- events ---- */

/* Counts an event in its queue's history (supervisor). */
static void hist_event(struct view *v, const char *type, json_t *d, int64_t at_ms, int64_t now_ms)
{
	struct view_queue *q = queue_get(v, jstr(d, "task_queue_sid"));
	if (!q)
		return;
	if (strcmp(type, "task-queue.entered") == 0) {
		view_hist_add(&q->hist, VIEW_HIST_ARRIVALS, at_ms, now_ms, 1);
	} else if (strcmp(type, "task.canceled") == 0) {
		view_hist_add(&q->hist, VIEW_HIST_ABANDONS, at_ms, now_ms, 1);
	} else if (strcmp(type, "reservation.accepted") == 0) {
		view_hist_add(&q->hist, VIEW_HIST_ANSWERED, at_ms, now_ms, 1);
		int64_t entered = jdate(d, "task_queue_entered_date");
		if (!entered)
			entered = jdate(d, "task_date_created");
		/* dates on the wire have whole seconds: allow the rounding */
		if (entered && at_ms - entered < (int64_t)v->sl_threshold_s * 1000 + 1000)
			view_hist_add(&q->hist, VIEW_HIST_ANSWERED_IN_SL, at_ms, now_ms, 1);
	}
}

unsigned view_seed_history(struct view *v, json_t *events, uint64_t upto_seq, int64_t now_ms)
{
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		uint64_t seq = (uint64_t)jint(ev, "seq", 0);
		if (seq == 0 || seq > upto_seq)
			continue;
		hist_event(v, jstr(ev, "event_type"), json_object_get(ev, "event_data"), jint(ev, "event_date_ms", 0),
			   now_ms);
	}
	return VIEW_DIRTY_QUEUES;
}

/* A line for the events pane: the node's description, with the queue when there is one. */
static void event_text(json_t *ev, json_t *d, char *out, size_t len)
{
	const char *desc = jstr(ev, "description");
	const char *q = jstr(d, "task_queue_name");
	const char *st = jstr(d, "worker_activity_name");
	const char *type = jstr(ev, "event_type");
	if (*q)
		snprintf(out, len, "%s [%s]", desc, q);
	else if (strncmp(type, "worker.activity", 15) == 0 && *st)
		snprintf(out, len, "%s: %s", desc, st);
	else
		snprintf(out, len, "%s", desc);
}

static unsigned agent_event(struct view *v, const char *type, json_t *d, int64_t at_ms, int64_t now_ms)
{
	unsigned dirty = 0;
	const char *wsid = jstr(d, "worker_sid");
	bool mine = v->has_me && strcmp(wsid, v->me.sid) == 0;
	if (strncmp(type, "reservation.", 12) == 0 && mine) {
		const char *rsid = jstr(d, "reservation_sid");
		const char *what = type + 12;
		if (strcmp(what, "created") == 0) {
			struct view_reservation *r = res_get(v, rsid);
			if (!r) {
				r = res_add(v, rsid, now_ms);
				dirty |= VIEW_NEW_RESERVATION;
			}
			r->status = VIEW_RES_PENDING;
			COPY(r->task_sid, jstr(d, "task_sid"));
			COPY(r->queue_sid, jstr(d, "task_queue_sid"));
			COPY(r->queue_name, jstr(d, "task_queue_name"));
			COPY(r->channel, jstr(d, "task_channel_unique_name"));
			COPY(r->workflow, jstr(d, "workflow_name"));
			r->priority = (int)jint(d, "task_priority", 0);
			r->task_created_ms = jdate(d, "task_date_created");
			r->created_ms = at_ms;
			r->timeout_s = (int)jint(d, "reservation_timeout", 0);
			r->deadline_ms = r->timeout_s > 0 ? at_ms + (int64_t)r->timeout_s * 1000 : 0;
			json_decref(r->attributes);
			r->attributes = parse_attrs(json_object_get(d, "task_attributes"));
		} else if (strcmp(what, "accepted") == 0 || strcmp(what, "wrapup") == 0) {
			struct view_reservation *r = res_get(v, rsid);
			if (r)
				r->status = what[0] == 'a' ? VIEW_RES_ACCEPTED : VIEW_RES_WRAPPING;
		} else {
			/* completed, rejected, timeout, canceled, rescinded, failed */
			res_remove(v, rsid);
		}
		res_sort(v);
		dirty |= VIEW_DIRTY_RESERVATIONS | VIEW_NEED_STATS;
	}
	if (mine && strcmp(type, "worker.activity.update") == 0) {
		int nt = v->me.ntasks;
		worker_from_event(&v->me, d, at_ms);
		v->me.ntasks = nt;
		dirty |= VIEW_DIRTY_HEADER | VIEW_DIRTY_ACTIVITIES | VIEW_NEED_STATS;
	}
	if (mine && strcmp(type, "worker.attributes.update") == 0)
		dirty |= VIEW_NEED_QUEUES;
	return dirty;
}

static unsigned supervisor_event(struct view *v, const char *type, json_t *d, int64_t at_ms, int64_t now_ms)
{
	unsigned dirty = 0;
	hist_event(v, type, d, at_ms, now_ms);
	if (*jstr(d, "task_queue_sid"))
		dirty |= VIEW_DIRTY_QUEUES | VIEW_NEED_STATS;
	const char *wsid = jstr(d, "worker_sid");
	if (strcmp(type, "worker.created") == 0) {
		struct view_worker *w = worker_get(v, wsid);
		if (!w && *wsid)
			w = worker_add(v, wsid);
		if (w)
			worker_from_event(w, d, at_ms);
		return dirty | VIEW_DIRTY_WORKERS | VIEW_DIRTY_HEADER | VIEW_NEED_STATS;
	}
	if (strcmp(type, "worker.deleted") == 0) {
		worker_remove(v, wsid);
		return dirty | VIEW_DIRTY_WORKERS | VIEW_DIRTY_HEADER | VIEW_NEED_STATS;
	}
	struct view_worker *w = worker_get(v, wsid);
	if (!w)
		return dirty;
	if (strcmp(type, "worker.activity.update") == 0) {
		worker_from_event(w, d, at_ms);
		return dirty | VIEW_DIRTY_WORKERS | VIEW_DIRTY_HEADER | VIEW_NEED_STATS;
	}
	if (strncmp(type, "reservation.", 12) == 0) {
		const char *what = type + 12, *rsid = jstr(d, "reservation_sid");
		if (strcmp(what, "created") == 0)
			worker_hold(v, w, rsid, jstr(d, "task_sid"), jstr(d, "task_queue_sid"), jstr(d, "task_queue_name"),
				    VIEW_RES_PENDING);
		else if (strcmp(what, "accepted") == 0)
			worker_hold(v, w, rsid, jstr(d, "task_sid"), jstr(d, "task_queue_sid"), jstr(d, "task_queue_name"),
				    VIEW_RES_ACCEPTED);
		else if (strcmp(what, "wrapup") == 0)
			worker_hold(v, w, rsid, jstr(d, "task_sid"), jstr(d, "task_queue_sid"), jstr(d, "task_queue_name"),
				    VIEW_RES_WRAPPING);
		else
			worker_release(w, rsid);
		dirty |= VIEW_DIRTY_WORKERS;
	}
	return dirty;
}

unsigned view_apply_event(struct view *v, json_t *ev, int64_t now_ms)
{
	const char *type = jstr(ev, "event_type");
	json_t *d = json_object_get(ev, "event_data");
	int64_t at_ms = jint(ev, "event_date_ms", 0);
	if (!at_ms)
		at_ms = jdate(ev, "event_date");
	if (!at_ms)
		at_ms = now_ms;
	char text[VIEW_EVENT_TEXT_MAX];
	event_text(ev, d, text, sizeof text);
	add_event(v, (uint64_t)jint(ev, "seq", 0), at_ms, type, text);
	unsigned dirty = VIEW_DIRTY_EVENTS;
	if (strncmp(type, "activity.", 9) == 0)
		dirty |= VIEW_NEED_ACTIVITIES;
	if (strncmp(type, "task-queue.created", 18) == 0 || strncmp(type, "task-queue.deleted", 18) == 0 ||
	    strcmp(type, "task-queue.updated") == 0 || strcmp(type, "task-queue.expression.updated") == 0)
		dirty |= VIEW_NEED_QUEUES;
	if (strcmp(type, "workspace.updated") == 0)
		dirty |= VIEW_DIRTY_HEADER;
	if (v->mode == VIEW_AGENT)
		dirty |= agent_event(v, type, d, at_ms, now_ms);
	else
		dirty |= supervisor_event(v, type, d, at_ms, now_ms);
	return dirty;
}

/* ---- reading ---- */

size_t view_activity_count(const struct view *v)
{
	return v->nacts;
}

const struct view_activity *view_activity_at(const struct view *v, size_t i)
{
	return i < v->nacts ? &v->acts[i] : NULL;
}

const struct view_activity *view_activity_find(const struct view *v, const char *sid_or_name)
{
	if (!sid_or_name || !*sid_or_name)
		return NULL;
	for (size_t i = 0; i < v->nacts; i++)
		if (strcmp(v->acts[i].sid, sid_or_name) == 0 || strcmp(v->acts[i].name, sid_or_name) == 0)
			return &v->acts[i];
	return NULL;
}

const struct view_worker *view_me(const struct view *v)
{
	return v->has_me ? &v->me : NULL;
}

size_t view_reservation_count(const struct view *v)
{
	return v->nres;
}

const struct view_reservation *view_reservation_at(const struct view *v, size_t i)
{
	return i < v->nres ? v->res[i] : NULL;
}

const struct view_reservation *view_reservation_find(const struct view *v, const char *sid)
{
	return sid ? res_get(v, sid) : NULL;
}

long view_reservation_index(const struct view *v, const char *sid)
{
	for (size_t i = 0; sid && i < v->nres; i++)
		if (strcmp(v->res[i]->sid, sid) == 0)
			return (long)i;
	return -1;
}

size_t view_queue_count(const struct view *v)
{
	return v->nq;
}

const struct view_queue *view_queue_at(const struct view *v, size_t i)
{
	return i < v->nq ? v->queues[i] : NULL;
}

const struct view_queue *view_queue_find(const struct view *v, const char *sid)
{
	return queue_get(v, sid);
}

size_t view_event_count(const struct view *v)
{
	return v->ev_count;
}

const struct view_event *view_event_at(const struct view *v, size_t i)
{
	if (i >= v->ev_count)
		return NULL;
	size_t idx = (v->ev_next + VIEW_EVENTS_MAX - 1 - i) % VIEW_EVENTS_MAX;
	return &v->events[idx];
}

uint64_t view_event_total(const struct view *v)
{
	return v->ev_total;
}

size_t view_worker_count(const struct view *v)
{
	return v->nw;
}

const struct view_worker *view_worker_at(const struct view *v, size_t i)
{
	return i < v->nw ? v->workers[i] : NULL;
}

const struct view_worker *view_worker_find(const struct view *v, const char *sid)
{
	return worker_get(v, sid);
}

const struct view_totals *view_totals(const struct view *v)
{
	return &v->totals;
}
