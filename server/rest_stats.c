/*
 * rest_stats.c - TaskRouter's Statistics resources over REST: real-time and
 * cumulative statistics of the workspace, its task queues (one, all as a list,
 * or in bulk), workflows, workers and one worker, shaped as twilio-node reads
 * them (Statistics = {realtime, cumulative}; RealTimeStatistics and
 * CumulativeStatistics flat), each with its absolute url.
 *
 * The figures are stats.c's (the node's stats.queue / stats.workspace /
 * stats.worker: the core's real-time stats plus cumulative counts over the
 * event window, journal included). What stats.c has no scope for is composed
 * here from the same sources: per-workflow and per-task-channel real-time task
 * counts from tasks.list; workers selected by queue or name as the sum of each
 * worker's stats.worker; and a workflow's cumulative counts from its events
 * (node_events_scan), counted with stats.c's definitions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rest_internal.h"
#include "stats.h"
#include "timefmt.h"

#define BULK_MAX 50 /* queues per bulk real-time request, as Twilio */

/* ---- helpers ---- */

static const char *str(const json_t *item, const char *key)
{
	const char *s = json_string_value(json_object_get(item, key));
	return s ? s : "";
}

/* Every item of a list op as the system (after the caller's scope was checked), with errors. Borrows args. */
static enum swb_code list_all(struct rest_req *r, const char *op, const char *key, json_t *args, json_t **out,
			      struct swb_err *err)
{
	json_t *all = json_array();
	for (json_int_t page = 0;; page++) {
		json_t *pa = args ? json_deep_copy(args) : json_object(), *res = NULL;
		json_object_set_new(pa, "page", json_integer(page));
		json_object_set_new(pa, "page_size", json_integer(REST_PAGE_SIZE_MAX));
		enum swb_code rc = node_exec(r->w, swb_wall_ms(), NULL, op, pa, &res, err);
		json_decref(pa);
		if (rc != SWB_OK) {
			size_t n = strlen(op);
			if (strncmp(err->msg, op, n) == 0 && err->msg[n] == ':')
				memmove(err->msg, err->msg + n + 2, strlen(err->msg + n + 2) + 1);
			json_decref(all);
			return rc;
		}
		json_t *items = json_object_get(res, key);
		size_t got = json_array_size(items);
		json_array_extend(all, items);
		json_decref(res);
		if (got < REST_PAGE_SIZE_MAX)
			break;
	}
	*out = all;
	return SWB_OK;
}

/* One resource by its path reference (SID or name) as the caller: checks it exists and may be seen. */
static enum swb_code fetch_as_caller(struct rest_req *r, const char *op, const char *ref, json_t **out,
				     struct swb_err *err)
{
	json_t *args = json_pack("{s:s}", "sid", ref);
	enum swb_code rc = rest_exec(r, op, args, out, err);
	json_decref(args);
	return rc;
}

/* stats.c's arguments: the request's window (and channel, splits) plus sid. New reference. */
static json_t *stats_args(struct rest_req *r, const char *sid, bool splits)
{
	static const char *const keys[] = { "minutes", "start_date", "end_date", "task_channel", "split_by_wait_time" };
	json_t *a = json_object();
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (json_object_get(r->args, keys[i]) && (splits || strcmp(keys[i], "split_by_wait_time") != 0))
			json_object_set(a, keys[i], json_object_get(r->args, keys[i]));
	if (sid)
		json_object_set_new(a, "sid", json_string(sid));
	return a;
}

/* The TaskChannel parameter as a unique name ("" when absent). */
static enum swb_code channel_name(struct rest_req *r, char *out, size_t size, struct swb_err *err)
{
	const char *ch = json_string_value(json_object_get(r->args, "task_channel"));
	out[0] = '\0';
	if (!ch)
		return SWB_OK;
	json_t *c = NULL;
	enum swb_code rc = fetch_as_caller(r, "task_channels.fetch", ch, &c, err);
	if (rc == SWB_OK)
		snprintf(out, size, "%s", str(c, "unique_name"));
	json_decref(c);
	return rc;
}

static json_t *with_ids(struct rest_req *r, json_t *j, json_t *url)
{
	json_object_set_new(j, "account_sid", json_string(r->n->account_sid));
	json_object_set_new(j, "workspace_sid", json_string(r->w->sid));
	json_object_set_new(j, "url", url);
	return j;
}

/* ---- real time ---- */

/* Task figures of the live tasks matching filter (borrowed), optionally of one channel. */
static enum swb_code task_realtime(struct rest_req *r, json_t *filter, const char *channel, json_t **out,
				   struct swb_err *err)
{
	json_t *args = filter ? json_deep_copy(filter) : json_object(), *tasks = NULL;
	json_object_set_new(args, "assignment_status", json_string("pending,reserved,assigned,wrapping"));
	enum swb_code rc = list_all(r, "tasks.list", "tasks", args, &tasks, err);
	json_decref(args);
	if (rc != SWB_OK)
		return rc;
	json_int_t pending = 0, reserved = 0, assigned = 0, wrapping = 0, oldest = -1;
	const char *oldest_sid = NULL;
	json_t *prio = json_object();
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t) {
		if (channel && *channel && strcmp(str(t, "task_channel_unique_name"), channel) != 0)
			continue;
		const char *st = str(t, "assignment_status");
		bool waiting = strcmp(st, "pending") == 0 || strcmp(st, "reserved") == 0;
		pending += strcmp(st, "pending") == 0;
		reserved += strcmp(st, "reserved") == 0;
		assigned += strcmp(st, "assigned") == 0;
		wrapping += strcmp(st, "wrapping") == 0;
		if (!waiting)
			continue;
		json_int_t age = json_integer_value(json_object_get(t, "age"));
		if (age > oldest) {
			oldest = age;
			oldest_sid = str(t, "sid");
		}
		char key[24];
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(t, "priority")));
		json_t *n = json_object_get(prio, key);
		json_object_set_new(prio, key, json_integer(n ? json_integer_value(n) + 1 : 1));
	}
	*out = json_pack("{s:{s:I, s:I, s:I, s:I}, s:I, s:o, s:I, s:o}", "tasks_by_status", "pending", pending,
			 "reserved", reserved, "assigned", assigned, "wrapping", wrapping, "total_tasks",
			 pending + reserved + assigned + wrapping, "tasks_by_priority", prio, "longest_task_waiting_age",
			 oldest < 0 ? (json_int_t)0 : oldest, "longest_task_waiting_sid",
			 oldest_sid ? json_string(oldest_sid) : json_null());
	json_decref(tasks);
	return SWB_OK;
}

/* stats.queue for ref; with a channel, its real-time task counts are that channel's. */
static enum swb_code queue_stats(struct rest_req *r, json_t *args, const char *channel, json_t **out,
				 struct swb_err *err)
{
	json_t *st = NULL, *tr = NULL;
	enum swb_code rc = stats_queue(r->w, &r->actor, args, &st, err);
	if (rc != SWB_OK)
		return rc;
	json_t *rt = json_object_get(st, "realtime");
	if (channel && *channel) {
		json_t *filter = json_pack("{s:s}", "task_queue_sid", str(rt, "task_queue_sid"));
		rc = task_realtime(r, filter, channel, &tr, err);
		json_decref(filter);
		if (rc != SWB_OK) {
			json_decref(st);
			return rc;
		}
		json_object_update(rt, tr);
		json_decref(tr);
	}
	*out = st;
	return SWB_OK;
}

static enum swb_code queue_stats_of_request(struct rest_req *r, const char *ref, json_t **out, struct swb_err *err)
{
	char channel[64];
	enum swb_code rc = channel_name(r, channel, sizeof channel, err);
	if (rc != SWB_OK)
		return rc;
	json_t *args = stats_args(r, ref, true);
	rc = queue_stats(r, args, channel, out, err);
	json_decref(args);
	return rc;
}

/* stats.workspace, its real-time part completed with tasks by priority and the longest waiting task. */
static enum swb_code workspace_stats(struct rest_req *r, json_t **out, struct swb_err *err)
{
	char channel[64];
	json_t *st = NULL, *tr = NULL, *args = NULL;
	enum swb_code rc = rest_need_supervisor(r, err);
	if (rc == SWB_OK)
		rc = channel_name(r, channel, sizeof channel, err);
	if (rc == SWB_OK) {
		args = stats_args(r, NULL, true);
		rc = stats_workspace(r->w, &r->actor, args, &st, err);
		json_decref(args);
	}
	if (rc == SWB_OK)
		rc = task_realtime(r, NULL, channel, &tr, err);
	if (rc != SWB_OK) {
		json_decref(st);
		return rc;
	}
	json_t *rt = json_object_get(st, "realtime");
	json_object_update(rt, tr);
	json_decref(tr);
	json_object_set_new(rt, "account_sid", json_string(r->n->account_sid));
	json_object_set_new(rt, "workspace_sid", json_string(r->w->sid));
	*out = st;
	return SWB_OK;
}

/* ---- workers ---- */

static bool workers_filtered(const struct rest_req *r)
{
	return json_object_get(r->args, "task_queue_sid") || json_object_get(r->args, "task_queue_name") ||
	       json_object_get(r->args, "friendly_name");
}

static void dur_add(json_int_t *d, json_int_t v, size_t n)
{
	/* d: avg, min, max, total over n values so far (n counts this one) */
	if (n == 1 || v < d[1])
		d[1] = v;
	if (n == 1 || v > d[2])
		d[2] = v;
	d[3] += v;
	d[0] = d[3] / (json_int_t)n;
}

/*
 * Workers chosen by TaskQueueSid, TaskQueueName or FriendlyName: real time counted
 * from their list, cumulative the sum of each one's stats.worker (activity durations
 * averaged over them).
 */
static enum swb_code workers_stats_composed(struct rest_req *r, json_t **out, struct swb_err *err)
{
	static const char *const filters[] = { "task_queue_sid", "task_queue_name", "friendly_name" };
	static const char *const counters[] = { "reservations_created", "reservations_accepted",
						"reservations_rejected", "reservations_timed_out",
						"reservations_canceled", "reservations_rescinded" };
	json_t *filter = json_object(), *workers = NULL, *acts = NULL;
	for (size_t i = 0; i < 3; i++)
		if (json_object_get(r->args, filters[i]))
			json_object_set(filter, filters[i], json_object_get(r->args, filters[i]));
	enum swb_code rc = list_all(r, "workers.list", "workers", filter, &workers, err);
	json_decref(filter);
	if (rc == SWB_OK)
		rc = list_all(r, "activities.list", "activities", NULL, &acts, err);
	if (rc != SWB_OK) {
		json_decref(workers);
		return rc;
	}
	size_t na = json_array_size(acts), nw = 0, i;
	json_int_t (*durs)[4] = calloc(na + 1, sizeof *durs);
	if (!durs)
		abort();
	json_t *cum = json_object(), *w, *stats = json_array();
	for (size_t k = 0; k < 6; k++)
		json_object_set_new(cum, counters[k], json_integer(0));
	json_array_foreach(workers, i, w) {
		json_t *args = stats_args(r, str(w, "sid"), false), *one = NULL;
		rc = stats_worker(r->w, NULL, args, &one, err);
		json_decref(args);
		if (rc != SWB_OK)
			break;
		json_t *c = json_object_get(one, "cumulative");
		for (size_t k = 0; k < 6; k++)
			json_object_set_new(cum, counters[k],
					    json_integer(json_integer_value(json_object_get(cum, counters[k])) +
							 json_integer_value(json_object_get(c, counters[k]))));
		nw++;
		size_t j;
		json_t *d;
		json_array_foreach(json_object_get(c, "activity_durations"), j, d)
			if (j < na)
				dur_add(durs[j], json_integer_value(json_object_get(d, "total")), nw);
		json_object_set(cum, "start_time", json_object_get(c, "start_time"));
		json_object_set(cum, "end_time", json_object_get(c, "end_time"));
		json_decref(one);
	}
	if (rc == SWB_OK && nw == 0) { /* nobody selected: the window still has bounds */
		json_t *args = stats_args(r, NULL, false), *all = NULL;
		rc = stats_worker(r->w, NULL, args, &all, err);
		json_decref(args);
		json_t *c = json_object_get(all, "cumulative");
		json_object_set(cum, "start_time", json_object_get(c, "start_time"));
		json_object_set(cum, "end_time", json_object_get(c, "end_time"));
		json_decref(all);
	}
	json_t *a, *adur = json_array();
	json_array_foreach(acts, i, a) {
		json_int_t n = 0;
		size_t k;
		json_array_foreach(workers, k, w)
			n += strcmp(str(w, "activity_sid"), str(a, "sid")) == 0;
		json_array_append_new(stats, json_pack("{s:s, s:s, s:I}", "sid", str(a, "sid"), "friendly_name",
						       str(a, "friendly_name"), "workers", n));
		json_array_append_new(adur, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "sid", str(a, "sid"),
						      "friendly_name", str(a, "friendly_name"), "avg", durs[i][0], "min",
						      durs[i][1], "max", durs[i][2], "total", durs[i][3]));
	}
	json_object_set_new(cum, "activity_durations", adur);
	json_object_set_new(cum, "account_sid", json_string(r->n->account_sid));
	json_object_set_new(cum, "workspace_sid", json_string(r->w->sid));
	json_t *rt = json_pack("{s:o, s:I, s:s, s:s}", "activity_statistics", stats, "total_workers",
			       (json_int_t)json_array_size(workers), "account_sid", r->n->account_sid, "workspace_sid",
			       r->w->sid);
	free(durs);
	json_decref(workers);
	json_decref(acts);
	if (rc != SWB_OK) {
		json_decref(cum);
		json_decref(rt);
		return rc;
	}
	*out = json_pack("{s:o, s:o}", "realtime", rt, "cumulative", cum);
	return SWB_OK;
}

static enum swb_code workers_stats(struct rest_req *r, json_t **out, struct swb_err *err)
{
	enum swb_code rc = rest_need_supervisor(r, err);
	if (rc != SWB_OK)
		return rc;
	if (workers_filtered(r))
		return workers_stats_composed(r, out, err);
	json_t *args = stats_args(r, NULL, false);
	rc = stats_worker(r->w, &r->actor, args, out, err);
	json_decref(args);
	return rc;
}

/* ---- workflows: cumulative counts of the workflow's events, with stats.c's definitions ---- */

#define MAX_SPLITS SWB_STATS_MAX_SPLITS

struct wf_count {
	const char *sid;
	int64_t from, to;
	long long split[MAX_SPLITS];
	size_t nsplit;
	json_int_t res[6], entered, canceled, completed, deleted, moved, timed_out;
	json_int_t acc[4], can[4]; /* avg, min, max, total */
	size_t nacc, ncan;
	json_int_t acc_above[MAX_SPLITS], acc_below[MAX_SPLITS], can_above[MAX_SPLITS], can_below[MAX_SPLITS];
	char channel[64];
};

static enum swb_code read_window(struct rest_req *r, struct wf_count *c, struct swb_err *err)
{
	int64_t now = swb_wall_ms(), max_min = (now - node_retention_cutoff(r->n, now)) / 60000;
	json_t *m = json_object_get(r->args, "minutes");
	const char *sd = json_string_value(json_object_get(r->args, "start_date"));
	const char *ed = json_string_value(json_object_get(r->args, "end_date"));
	const char *split = json_string_value(json_object_get(r->args, "split_by_wait_time"));
	c->to = now;
	c->from = now - (int64_t)SWB_STATS_DEFAULT_MINUTES * 60000;
	if (m && sd)
		return swb_err_set(err, SWB_EINVAL, "give 'Minutes' or 'StartDate', not both");
	if (m && (json_integer_value(m) < 1 || json_integer_value(m) > max_min))
		return swb_err_set(err, SWB_EINVAL, "'Minutes' must be 1..%lld (the retention)", (long long)max_min);
	if (m)
		c->from = now - json_integer_value(m) * 60000;
	if (sd)
		swb_iso8601_parse(sd, &c->from); /* rest.c checked the dates */
	if (ed)
		swb_iso8601_parse(ed, &c->to);
	if (c->to < c->from)
		return swb_err_set(err, SWB_EINVAL, "'EndDate' is before the start of the window");
	for (const char *p = split; p && *p;) {
		char *end;
		long long v = strtoll(p, &end, 10);
		if (end == p || v <= 0 || (*end && *end != ',') || c->nsplit == MAX_SPLITS)
			return swb_err_set(err, SWB_EINVAL, "'SplitByWaitTime' must be up to %d positive seconds (\"10,30,60\")",
					   MAX_SPLITS);
		c->split[c->nsplit++] = v;
		p = *end ? end + 1 : end;
	}
	return channel_name(r, c->channel, sizeof c->channel, err);
}

static json_int_t task_age(const struct swb_evrec *e)
{
	json_error_t je;
	json_t *ev = json_loads(e->json, 0, &je);
	json_int_t age = json_integer_value(json_object_get(json_object_get(ev, "event_data"), "task_age"));
	json_decref(ev);
	return age < 0 ? 0 : age;
}

static void wait_add(struct wf_count *c, json_int_t *d, size_t *n, json_int_t v, json_int_t *above, json_int_t *below)
{
	(*n)++;
	dur_add(d, v, *n);
	for (size_t i = 0; i < c->nsplit; i++) {
		if (v > c->split[i])
			above[i]++;
		else
			below[i]++;
	}
}

static bool wf_visit(void *ctx, const struct swb_evrec *e)
{
	static const char *const res[] = { "reservation.created", "reservation.accepted", "reservation.rejected",
					   "reservation.timeout", "reservation.canceled", "reservation.rescinded" };
	struct wf_count *c = ctx;
	if (strcmp(e->workflow_sid, c->sid) != 0 || (c->channel[0] && strcmp(e->channel, c->channel) != 0))
		return true;
	for (size_t i = 0; i < 6; i++)
		if (strcmp(e->type, res[i]) == 0)
			c->res[i]++;
	if (strcmp(e->type, "reservation.accepted") == 0)
		wait_add(c, c->acc, &c->nacc, task_age(e), c->acc_above, c->acc_below);
	else if (strcmp(e->type, "task.canceled") == 0)
		c->canceled++, wait_add(c, c->can, &c->ncan, task_age(e), c->can_above, c->can_below);
	else if (strcmp(e->type, "workflow.entered") == 0)
		c->entered++;
	else if (strcmp(e->type, "task.completed") == 0)
		c->completed++;
	else if (strcmp(e->type, "task.deleted") == 0)
		c->deleted++;
	else if (strcmp(e->type, "task-queue.moved") == 0)
		c->moved++;
	else if (strcmp(e->type, "workflow.timeout") == 0)
		c->timed_out++;
	return true;
}

static json_t *iso(int64_t ms)
{
	char buf[SWB_ISO_SIZE];
	swb_iso8601(ms, buf);
	return json_string(buf);
}

static json_t *dur_json(const json_int_t *d)
{
	return json_pack("{s:I, s:I, s:I, s:I}", "avg", d[0], "min", d[1], "max", d[2], "total", d[3]);
}

static json_t *workflow_cumulative(struct rest_req *r, struct wf_count *c)
{
	node_events_scan(r->w, c->from, c->to, wf_visit, c);
	json_t *split = json_null();
	if (c->nsplit) {
		split = json_object();
		for (size_t i = 0; i < c->nsplit; i++) {
			char key[32];
			snprintf(key, sizeof key, "%lld", c->split[i]);
			json_object_set_new(split, key, json_pack("{s:{s:I, s:I}, s:{s:I, s:I}}", "above", "tasks_canceled",
								  c->can_above[i], "reservations_accepted", c->acc_above[i],
								  "below", "tasks_canceled", c->can_below[i],
								  "reservations_accepted", c->acc_below[i]));
		}
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, "
			 "s:s, s:s, s:s}",
			 "reservations_created", c->res[0], "reservations_accepted", c->res[1], "reservations_rejected",
			 c->res[2], "reservations_timed_out", c->res[3], "reservations_canceled", c->res[4],
			 "reservations_rescinded", c->res[5], "tasks_entered", c->entered, "tasks_canceled", c->canceled,
			 "tasks_completed", c->completed, "tasks_deleted", c->deleted, "tasks_moved", c->moved,
			 "tasks_timed_out_in_workflow", c->timed_out, "avg_task_acceptance_time", c->acc[0],
			 "wait_duration_until_accepted", dur_json(c->acc), "wait_duration_until_canceled",
			 dur_json(c->can), "split_by_wait_time", split, "start_time", iso(c->from), "end_time",
			 iso(c->to), "workflow_sid", c->sid, "account_sid", r->n->account_sid, "workspace_sid", r->w->sid);
}

/* The workflow in the path with its window read; *wf holds the sid c points into. */
static enum swb_code workflow_prepare(struct rest_req *r, struct wf_count *c, json_t **wf, struct swb_err *err)
{
	memset(c, 0, sizeof *c);
	enum swb_code rc = rest_need_supervisor(r, err);
	if (rc == SWB_OK)
		rc = fetch_as_caller(r, "workflows.fetch", r->seg[3], wf, err);
	if (rc == SWB_OK)
		c->sid = str(*wf, "sid");
	if (rc == SWB_OK)
		rc = read_window(r, c, err);
	return rc;
}

static enum swb_code workflow_realtime(struct rest_req *r, struct wf_count *c, json_t **out, struct swb_err *err)
{
	json_t *filter = json_pack("{s:s}", "workflow_sid", c->sid);
	enum swb_code rc = task_realtime(r, filter, c->channel, out, err);
	json_decref(filter);
	if (rc == SWB_OK) {
		json_object_set_new(*out, "workflow_sid", json_string(c->sid));
		json_object_set_new(*out, "account_sid", json_string(r->n->account_sid));
		json_object_set_new(*out, "workspace_sid", json_string(r->w->sid));
	}
	return rc;
}

/* ---- handlers ---- */

enum swb_code rest_stats_workspace(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *st = NULL;
	enum swb_code rc = workspace_stats(r, &st, err);
	if (rc == SWB_OK)
		*body = with_ids(r, st, rest_url(r, "Workspaces/%s/Statistics", r->w->sid));
	return rc;
}

enum swb_code rest_stats_workspace_rt(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *st = NULL;
	enum swb_code rc = workspace_stats(r, &st, err);
	if (rc == SWB_OK) {
		*body = with_ids(r, json_incref(json_object_get(st, "realtime")),
				 rest_url(r, "Workspaces/%s/RealTimeStatistics", r->w->sid));
		json_decref(st);
	}
	return rc;
}

enum swb_code rest_stats_workspace_cum(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *st = NULL;
	enum swb_code rc = workspace_stats(r, &st, err);
	if (rc == SWB_OK) {
		*body = with_ids(r, json_incref(json_object_get(st, "cumulative")),
				 rest_url(r, "Workspaces/%s/CumulativeStatistics", r->w->sid));
		json_decref(st);
	}
	return rc;
}

/* {cumulative, realtime, task_queue_sid, account_sid, workspace_sid, url} of one queue. */
static json_t *queue_statistics_json(struct rest_req *r, json_t *st)
{
	const char *sid = str(json_object_get(st, "realtime"), "task_queue_sid");
	json_object_set_new(st, "task_queue_sid", json_string(sid));
	return with_ids(r, st, rest_url(r, "Workspaces/%s/TaskQueues/%s/Statistics", r->w->sid, sid));
}

enum swb_code rest_stats_queue(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *st = NULL;
	enum swb_code rc = queue_stats_of_request(r, r->seg[3], &st, err);
	if (rc == SWB_OK)
		*body = queue_statistics_json(r, st);
	return rc;
}

enum swb_code rest_stats_queue_rt(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *st = NULL;
	enum swb_code rc = queue_stats_of_request(r, r->seg[3], &st, err);
	if (rc != SWB_OK)
		return rc;
	json_t *rt = json_incref(json_object_get(st, "realtime"));
	json_decref(st);
	*body = with_ids(r, rt, rest_url(r, "Workspaces/%s/TaskQueues/%s/RealTimeStatistics", r->w->sid,
					 str(rt, "task_queue_sid")));
	return SWB_OK;
}

enum swb_code rest_stats_queue_cum(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *st = NULL;
	enum swb_code rc = queue_stats_of_request(r, r->seg[3], &st, err);
	if (rc != SWB_OK)
		return rc;
	json_t *c = json_incref(json_object_get(st, "cumulative"));
	json_decref(st);
	*body = with_ids(r, c, rest_url(r, "Workspaces/%s/TaskQueues/%s/CumulativeStatistics", r->w->sid,
					str(c, "task_queue_sid")));
	return SWB_OK;
}

enum swb_code rest_stats_queues_list(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *args = json_pack("{s:I, s:I}", "page", (json_int_t)r->page, "page_size", (json_int_t)r->page_size);
	if (json_object_get(r->args, "friendly_name"))
		json_object_set(args, "friendly_name", json_object_get(r->args, "friendly_name"));
	json_t *res = NULL;
	enum swb_code rc = rest_exec(r, "task_queues.list", args, &res, err);
	json_decref(args);
	if (rc != SWB_OK)
		return rc;
	json_t *stats = json_array();
	size_t i;
	json_t *q;
	json_array_foreach(json_object_get(res, "task_queues"), i, q) {
		json_t *st = NULL;
		rc = queue_stats_of_request(r, str(q, "sid"), &st, err);
		if (rc != SWB_OK) {
			json_decref(stats);
			json_decref(res);
			return rc;
		}
		json_array_append_new(stats, queue_statistics_json(r, st));
	}
	json_t *meta = json_object_get(res, "meta");
	json_object_set_new(meta, "key", json_string("task_queues_statistics"));
	json_t *out = json_pack("{s:o, s:O}", "task_queues_statistics", stats, "meta", meta);
	json_decref(res);
	*body = rest_list_answer(r, out);
	return SWB_OK;
}

/* Body: [{"task_queue_sid": "WQ…", "task_channel": "voice"}, …] (or {"task_queues": [...]}), up to 50. */
enum swb_code rest_stats_queues_bulk(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *list = json_is_object(r->body_json) ? json_object_get(r->body_json, "task_queues") : r->body_json;
	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > BULK_MAX)
		return swb_err_set(err, SWB_EINVAL, "the body must be a JSON array of 1 to %d {\"task_queue_sid\", "
				   "\"task_channel\"} objects", BULK_MAX);
	json_t *data = json_array();
	size_t i;
	json_t *it;
	json_array_foreach(list, i, it) {
		const char *sid = NULL, *channel = NULL;
		json_error_t je;
		if (json_unpack_ex(it, &je, JSON_STRICT, "{s:s, s?s}", "task_queue_sid", &sid, "task_channel", &channel)) {
			json_decref(data);
			return swb_err_set(err, SWB_EINVAL, "item %zu: %s", i, je.text);
		}
		json_t *st = NULL, *c = NULL, *args = json_pack("{s:s}", "sid", sid);
		char uname[64] = "";
		enum swb_code rc = SWB_OK;
		if (channel) {
			rc = fetch_as_caller(r, "task_channels.fetch", channel, &c, err);
			snprintf(uname, sizeof uname, "%s", str(c, "unique_name"));
			json_object_set_new(args, "task_channel", json_string(uname));
			json_decref(c);
		}
		if (rc == SWB_OK)
			rc = queue_stats(r, args, uname, &st, err);
		json_decref(args);
		if (rc != SWB_OK) {
			json_decref(data);
			return rc;
		}
		json_array_append(data, json_object_get(st, "realtime"));
		json_decref(st);
	}
	size_t n = json_array_size(data);
	*body = with_ids(r, json_pack("{s:o, s:I}", "task_queue_data", data, "task_queue_response_count", (json_int_t)n),
			 rest_url(r, "Workspaces/%s/TaskQueues/RealTimeStatistics", r->w->sid));
	return SWB_OK;
}

enum swb_code rest_stats_workflow(struct rest_req *r, json_t **body, struct swb_err *err)
{
	struct wf_count c;
	json_t *wf = NULL, *rt = NULL;
	enum swb_code rc = workflow_prepare(r, &c, &wf, err);
	if (rc == SWB_OK)
		rc = workflow_realtime(r, &c, &rt, err);
	if (rc == SWB_OK) {
		json_t *j = json_pack("{s:o, s:o, s:s}", "realtime", rt, "cumulative", workflow_cumulative(r, &c),
				      "workflow_sid", c.sid);
		*body = with_ids(r, j, rest_url(r, "Workspaces/%s/Workflows/%s/Statistics", r->w->sid, c.sid));
	}
	json_decref(wf);
	return rc;
}

enum swb_code rest_stats_workflow_rt(struct rest_req *r, json_t **body, struct swb_err *err)
{
	struct wf_count c;
	json_t *wf = NULL, *rt = NULL;
	enum swb_code rc = workflow_prepare(r, &c, &wf, err);
	if (rc == SWB_OK)
		rc = workflow_realtime(r, &c, &rt, err);
	if (rc == SWB_OK)
		*body = with_ids(r, rt, rest_url(r, "Workspaces/%s/Workflows/%s/RealTimeStatistics", r->w->sid, c.sid));
	json_decref(wf);
	return rc;
}

enum swb_code rest_stats_workflow_cum(struct rest_req *r, json_t **body, struct swb_err *err)
{
	struct wf_count c;
	json_t *wf = NULL;
	enum swb_code rc = workflow_prepare(r, &c, &wf, err);
	if (rc == SWB_OK)
		*body = with_ids(r, workflow_cumulative(r, &c),
				 rest_url(r, "Workspaces/%s/Workflows/%s/CumulativeStatistics", r->w->sid, c.sid));
	json_decref(wf);
	return rc;
}

enum swb_code rest_stats_workers(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *st = NULL;
	enum swb_code rc = workers_stats(r, &st, err);
	if (rc == SWB_OK)
		*body = with_ids(r, st, rest_url(r, "Workspaces/%s/Workers/Statistics", r->w->sid));
	return rc;
}

enum swb_code rest_stats_workers_rt(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *st = NULL;
	enum swb_code rc = workers_stats(r, &st, err);
	if (rc == SWB_OK) {
		*body = with_ids(r, json_incref(json_object_get(st, "realtime")),
				 rest_url(r, "Workspaces/%s/Workers/RealTimeStatistics", r->w->sid));
		json_decref(st);
	}
	return rc;
}

enum swb_code rest_stats_workers_cum(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *st = NULL;
	enum swb_code rc = workers_stats(r, &st, err);
	if (rc == SWB_OK) {
		*body = with_ids(r, json_incref(json_object_get(st, "cumulative")),
				 rest_url(r, "Workspaces/%s/Workers/CumulativeStatistics", r->w->sid));
		json_decref(st);
	}
	return rc;
}

/* One worker's statistics ({cumulative}); a worker token may read its own. */
enum swb_code rest_stats_worker(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *st = NULL, *args = stats_args(r, r->seg[3], false);
	enum swb_code rc = stats_worker(r->w, &r->actor, args, &st, err);
	json_decref(args);
	if (rc != SWB_OK)
		return rc;
	json_t *c = json_object_get(st, "cumulative");
	const char *sid = str(c, "worker_sid");
	json_t *j = json_pack("{s:O, s:s}", "cumulative", c, "worker_sid", sid);
	*body = with_ids(r, j, rest_url(r, "Workspaces/%s/Workers/%s/Statistics", r->w->sid, sid));
	json_decref(st);
	return SWB_OK;
}
