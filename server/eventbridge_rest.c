/*
 * eventbridge_rest.c - the TaskRouter calls twilio-taskrouter wraps in its POSTs
 * to /v1/wschannels ({"url", "method", "params", "token"}), mapped onto core ops
 * through node_exec (journaled; the same command table nng clients use), and the
 * EventBridge representations of workers, activities, worker channels, tasks,
 * reservations and task queues (shared/protocols/taskrouter-js.md, 3.2 and 3.3).
 *
 * Routes are one table of (wrapped method, url pattern, handler). A pattern's
 * two-letter segments stand for SIDs with that prefix. Parameters use
 * TaskRouter's PascalCase names; unknown ones are refused with a 400 naming
 * them, and the telephony and transfer calls Switchboard cannot do get a 400
 * that says so. Every check runs before the first op that changes state.
 * The token's workspace must be the url's, and a worker token may only use its
 * own worker's urls (the core checks ownership of reservations and tasks too).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventbridge_internal.h"
#include "timefmt.h"

#define EB_URL_MAX 512          /* longer wrapped urls are refused (the longest real one is ~110 bytes) */
#define EB_URL_SEGMENTS 8       /* Workspaces/WS/Workers/WK/Reservations/WR has 6 */
#define EB_PAGE_SIZE_DEFAULT 50 /* TaskRouter's default */
#define EB_PAGE_SIZE_MAX 1000   /* TaskRouter's largest page; the SDK asks for exactly this */
#define CORE_PAGE 1000          /* the core's largest page */

/* ---- errors ---- */

int eb_fail(struct eb_fail *f, int status, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof f->msg, fmt, ap);
	va_end(ap);
	f->status = status;
	f->code = code;
	return -1;
}

int eb_fail_core(struct eb_fail *f, enum swb_code rc, const struct swb_err *err)
{
	int status = http_status_of(rc);
	int code = status == 401 ? EB_CODE_AUTH : status == 403 ? EB_CODE_FORBIDDEN : status == 404 ? EB_CODE_NOT_FOUND :
		   status >= 500 ? EB_CODE_INTERNAL : EB_CODE_INVALID_PARAMETER;
	return eb_fail(f, status, code, "%s", err->msg);
}

/* ---- representations ---- */

/* An ISO 8601 date from a core representation as epoch seconds (new reference; null when absent). */
static json_t *epoch_s(json_t *iso)
{
	int64_t ms;
	if (!json_is_string(iso) || !swb_iso8601_parse(json_string_value(iso), &ms))
		return json_null();
	return json_integer(ms / 1000);
}

/*
 * The core keeps no per-resource version counter; date_updated (epoch seconds)
 * changes whenever the resource does, which is all the SDK needs: it only
 * echoes versions back in If-Match, which this server does not check.
 */
static json_t *version_of(json_t *core)
{
	json_t *v = epoch_s(json_object_get(core, "date_updated"));
	return json_is_null(v) ? json_integer(0) : v;
}

static void copy_keys(json_t *dst, json_t *src, const char *const *keys)
{
	for (const char *const *k = keys; *k; k++) {
		json_t *v = json_object_get(src, *k);
		json_object_set_new(dst, *k, v ? json_incref(v) : json_null());
	}
}

static void copy_dates(json_t *dst, json_t *src, const char *const *keys)
{
	for (const char *const *k = keys; *k; k++)
		json_object_set_new(dst, *k, epoch_s(json_object_get(src, *k)));
}

static const char *const base_dates[] = { "date_created", "date_updated", NULL };

/* Each rep_* takes a core representation (borrowed) and returns a new EventBridge one. */
static json_t *rep_worker(json_t *c)
{
	static const char *const keys[] = { "account_sid", "workspace_sid", "sid", "friendly_name", "activity_sid",
					    "activity_name", "available", "attributes", NULL };
	static const char *const dates[] = { "date_created", "date_updated", "date_status_changed", NULL };
	json_t *j = json_object();
	copy_keys(j, c, keys);
	copy_dates(j, c, dates);
	json_object_set_new(j, "version", version_of(c));
	return j;
}

static json_t *rep_activity(json_t *c)
{
	static const char *const keys[] = { "account_sid", "workspace_sid", "sid", "friendly_name", "available", NULL };
	json_t *j = json_object();
	copy_keys(j, c, keys);
	copy_dates(j, c, base_dates);
	return j;
}

static json_t *rep_worker_channel(json_t *c)
{
	static const char *const keys[] = { "account_sid", "workspace_sid", "sid", "worker_sid", "task_channel_sid",
					    "task_channel_unique_name", "configured_capacity", "assigned_tasks",
					    "available_capacity_percentage", "available", NULL };
	json_t *j = json_object();
	copy_keys(j, c, keys);
	copy_dates(j, c, base_dates);
	json_object_set_new(j, "last_reserved_time", json_null()); /* epoch ms on Twilio; not tracked here */
	return j;
}

static json_t *rep_task(json_t *c)
{
	static const char *const keys[] = { "account_sid", "workspace_sid", "sid", "attributes", "addons", "age",
					    "assignment_status", "priority", "reason", "timeout", "workflow_sid",
					    "task_channel_sid", "task_channel_unique_name", NULL };
	json_t *j = json_object();
	copy_keys(j, c, keys);
	copy_dates(j, c, base_dates);
	json_object_set(j, "workflow_name", json_object_get(c, "workflow_friendly_name"));
	json_t *qsid = json_object_get(c, "task_queue_sid"), *qname = json_object_get(c, "task_queue_friendly_name");
	json_object_set_new(j, "queue_sid", qsid ? json_incref(qsid) : json_null());
	json_object_set_new(j, "queue_name", qname ? json_incref(qname) : json_null());
	json_object_set_new(j, "routing_target", json_null());
	json_object_set_new(j, "counter", json_integer(0));
	json_object_set_new(j, "virtual_start_time", epoch_s(json_object_get(c, "date_created")));
	json_object_set_new(j, "version", version_of(c));
	return j;
}

static json_t *rep_queue(json_t *c)
{
	static const char *const keys[] = { "account_sid", "workspace_sid", "sid", "friendly_name", "target_workers",
					    "max_reserved_workers", "task_order", "reservation_activity_sid",
					    "reservation_activity_name", "assignment_activity_sid",
					    "assignment_activity_name", NULL };
	json_t *j = json_object();
	copy_keys(j, c, keys);
	copy_dates(j, c, base_dates);
	return j;
}

/* A read with the system actor (after the caller's own checks): a new reference or NULL. */
static json_t *sys_fetch(struct wspace *w, const char *op, const char *sid)
{
	json_t *args = json_pack("{s:s}", "sid", sid ? sid : ""), *res = NULL;
	if (node_exec(w, swb_wall_ms(), NULL, op, args, &res, NULL) != SWB_OK)
		res = NULL;
	json_decref(args);
	return res;
}

/* A core reservation (borrowed) in its EventBridge form, with the full task when with_task; NULL if the task is gone. */
static json_t *rep_reservation(struct wspace *w, json_t *c, bool with_task)
{
	static const char *const keys[] = { "account_sid", "workspace_sid", "sid", "worker_sid", "worker_name",
					    "reservation_status", "task_sid", NULL };
	json_t *task = sys_fetch(w, "tasks.fetch", json_string_value(json_object_get(c, "task_sid")));
	if (!task && with_task)
		return NULL;
	json_t *wf = task ? sys_fetch(w, "workflows.fetch", json_string_value(json_object_get(task, "workflow_sid"))) : NULL;
	json_t *j = json_object();
	copy_keys(j, c, keys);
	copy_dates(j, c, base_dates);
	json_t *tch = json_object_get(task, "task_channel_sid"), *timeout = json_object_get(wf, "task_reservation_timeout");
	json_object_set_new(j, "task_channel_sid", tch ? json_incref(tch) : json_null());
	json_object_set_new(j, "reservation_timeout", timeout ? json_incref(timeout) : json_null());
	json_object_set_new(j, "version", version_of(c));
	if (with_task)
		json_object_set_new(j, "task", rep_task(task));
	json_decref(task);
	json_decref(wf);
	return j;
}

json_t *eb_worker(struct wspace *w, const char *worker_sid)
{
	json_t *c = sys_fetch(w, "workers.fetch", worker_sid);
	json_t *j = c ? rep_worker(c) : NULL;
	json_decref(c);
	return j;
}

json_t *eb_task(struct wspace *w, const char *task_sid)
{
	json_t *c = sys_fetch(w, "tasks.fetch", task_sid);
	json_t *j = c ? rep_task(c) : NULL;
	json_decref(c);
	return j;
}

json_t *eb_reservation(struct wspace *w, const char *reservation_sid, bool with_task)
{
	json_t *c = sys_fetch(w, "reservations.fetch", reservation_sid);
	json_t *j = c ? rep_reservation(w, c, with_task) : NULL;
	json_decref(c);
	return j;
}

json_t *eb_worker_channel(struct wspace *w, const char *worker_sid, const char *channel_unique_name)
{
	json_t *args = json_pack("{s:s, s:i}", "sid", worker_sid, "page_size", CORE_PAGE), *res = NULL, *j = NULL;
	if (node_exec(w, swb_wall_ms(), NULL, "workers.channels.list", args, &res, NULL) == SWB_OK) {
		size_t i;
		json_t *ch;
		json_array_foreach(json_object_get(res, "channels"), i, ch)
			if (strcmp(json_string_value(json_object_get(ch, "task_channel_unique_name")), channel_unique_name) == 0)
				j = rep_worker_channel(ch);
	}
	json_decref(args);
	json_decref(res);
	return j;
}

/* ---- a request ---- */

struct eb_req {
	struct node *n;
	const struct eb_ident *id;
	struct wspace *w;
	const char *method;
	const char *url;
	json_t *params;
	char *seg[EB_URL_SEGMENTS];
	int nseg;
	struct eb_fail *f;
};

typedef int (*route_fn)(struct eb_req *r, json_t **payload);

/* Parameters TaskRouter knows that this server does not do, with the reason given back. */
static const struct {
	const char *name;
	const char *why;
} unsupported_params[] = {
	{ "Instruction", "call instructions (call, dequeue, redirect, conference) need telephony, which Switchboard "
			 "does not have: accept with ReservationStatus=accepted instead" },
	{ "VirtualStartTime", "VirtualStartTime is not supported" },
	{ "RoutingTarget", "RoutingTarget is not supported: tasks are routed by their workflow" },
	{ "TaskQueueSid", "TaskQueueSid is not supported: tasks are routed by their workflow" },
	{ "Ordering", "Ordering is not supported" },
	{ "NextToken", "NextToken paging is not supported (use AfterSid)" },
};

/* Refuses any parameter not in keys (NULL-terminated). */
static int params_only(struct eb_req *r, const char *const *keys)
{
	const char *k;
	json_t *v;
	json_object_foreach(r->params, k, v) {
		bool ok = false;
		for (const char *const *kk = keys; *kk && !ok; kk++)
			ok = strcmp(*kk, k) == 0;
		if (ok)
			continue;
		for (size_t i = 0; i < sizeof unsupported_params / sizeof unsupported_params[0]; i++)
			if (strcmp(unsupported_params[i].name, k) == 0)
				return eb_fail(r->f, 400, EB_CODE_INVALID_PARAMETER, "%s", unsupported_params[i].why);
		return eb_fail(r->f, 400, EB_CODE_INVALID_PARAMETER, "unknown parameter '%.60s' for %s %.120s", k, r->method,
			       r->url);
	}
	return 0;
}

/* Copies PascalCase parameter `from` (if given) to core argument `to`. */
static void map_param(struct eb_req *r, json_t *args, const char *from, const char *to)
{
	json_t *v = json_object_get(r->params, from);
	if (v)
		json_object_set(args, to, v);
}

/* A boolean parameter: true/false or "true"/"false". */
static int param_bool(struct eb_req *r, const char *key, bool *present, bool *out)
{
	json_t *v = json_object_get(r->params, key);
	*present = v != NULL;
	if (!v)
		return 0;
	if (json_is_boolean(v))
		*out = json_is_true(v);
	else if (json_is_string(v) && (strcmp(json_string_value(v), "true") == 0 || strcmp(json_string_value(v), "false") == 0))
		*out = strcmp(json_string_value(v), "true") == 0;
	else
		return eb_fail(r->f, 400, EB_CODE_INVALID_PARAMETER, "'%s' must be true or false", key);
	return 0;
}

/* Runs op as actor a (NULL: the system). args is stolen. */
static int core_call(struct eb_req *r, const struct swb_actor *a, const char *op, json_t *args, json_t **res)
{
	struct swb_err err;
	enum swb_code rc = node_exec(r->w, swb_wall_ms(), a, op, args, res, &err);
	json_decref(args);
	return rc == SWB_OK ? 0 : eb_fail_core(r->f, rc, &err);
}

/* Every item of a paged core list op. args is stolen; *items a new array. */
static int list_all(struct eb_req *r, const struct swb_actor *a, const char *op, const char *key, json_t *args,
		    json_t **items)
{
	json_t *all = json_array();
	for (json_int_t page = 0;; page++) {
		json_t *pa = json_deep_copy(args), *res = NULL;
		json_object_set_new(pa, "page", json_integer(page));
		json_object_set_new(pa, "page_size", json_integer(CORE_PAGE));
		if (core_call(r, a, op, pa, &res) != 0) {
			json_decref(all);
			json_decref(args);
			return -1;
		}
		json_t *got = json_object_get(res, key);
		json_array_extend(all, got);
		size_t n = json_array_size(got);
		json_decref(res);
		if (n < CORE_PAGE)
			break;
	}
	json_decref(args);
	*items = all;
	return 0;
}

/* One page of items (stolen) by PageSize and AfterSid, as {"contents", "after_sid", "meta"}. */
static int page(struct eb_req *r, json_t *items, json_t **payload)
{
	json_t *ps = json_object_get(r->params, "PageSize"), *after = json_object_get(r->params, "AfterSid");
	json_int_t size = EB_PAGE_SIZE_DEFAULT;
	if (json_is_integer(ps))
		size = json_integer_value(ps);
	else if (json_is_string(ps))
		size = strtoll(json_string_value(ps), NULL, 10);
	if ((ps && !json_is_integer(ps) && !json_is_string(ps)) || size < 1 || size > EB_PAGE_SIZE_MAX) {
		json_decref(items);
		return eb_fail(r->f, 400, EB_CODE_INVALID_PARAMETER, "'PageSize' must be 1..%d", EB_PAGE_SIZE_MAX);
	}
	if (after && !json_is_string(after)) {
		json_decref(items);
		return eb_fail(r->f, 400, EB_CODE_INVALID_PARAMETER, "'AfterSid' must be a SID");
	}
	size_t start = 0, n = json_array_size(items);
	if (after) { /* a sid that has gone meanwhile ends the listing */
		start = n;
		for (size_t i = 0; i < n; i++)
			if (strcmp(json_string_value(json_object_get(json_array_get(items, i), "sid")),
				   json_string_value(after)) == 0)
				start = i + 1;
	}
	json_t *contents = json_array();
	for (size_t i = start; i < n && i < start + (size_t)size; i++)
		json_array_append(contents, json_array_get(items, i));
	bool more = start + (size_t)size < n;
	json_t *last = json_array_get(contents, json_array_size(contents) - 1);
	*payload = json_pack("{s:o, s:o, s:{s:s, s:I}}", "contents", contents, "after_sid",
			     more ? json_incref(json_object_get(last, "sid")) : json_null(), "meta", "list_key", "contents",
			     "page_size", size);
	json_decref(items);
	return 0;
}

/* Maps every item of items (in place) through rep. */
static void map_items(json_t *items, json_t *(*rep)(json_t *))
{
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
		json_array_set_new(items, i, rep(it));
}

/* The url's worker sid (Workspaces/WS/Workers/WK/...), or NULL. */
static const char *url_worker(const struct eb_req *r)
{
	return r->nseg >= 4 && strcmp(r->seg[2], "Workers") == 0 ? r->seg[3] : NULL;
}

/* ---- activities, workers, channels ---- */

static int get_activities(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { "PageSize", "AfterSid", "FriendlyName", "Available", NULL };
	json_t *args = json_object(), *items;
	if (params_only(r, keys) != 0) {
		json_decref(args);
		return -1;
	}
	map_param(r, args, "FriendlyName", "friendly_name");
	map_param(r, args, "Available", "available");
	if (list_all(r, &r->id->actor, "activities.list", "activities", args, &items) != 0)
		return -1;
	map_items(items, rep_activity);
	if (page(r, items, payload) != 0)
		return -1;
	if (r->id->worker_sid[0])
		eb_note_fetch(r->n, r->w, r->id->worker_sid, EB_GOT_ACTIVITIES, NULL);
	return 0;
}

static int get_activity(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { NULL };
	json_t *res;
	if (params_only(r, keys) != 0 ||
	    core_call(r, &r->id->actor, "activities.fetch", json_pack("{s:s}", "sid", r->seg[3]), &res) != 0)
		return -1;
	*payload = rep_activity(res);
	json_decref(res);
	return 0;
}

static int get_workers(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { "PageSize", "AfterSid", "FriendlyName", "ActivitySid", "ActivityName",
					    "Available", "TargetWorkersExpression", "TaskQueueSid", "TaskQueueName", NULL };
	json_t *args = json_object(), *items;
	if (params_only(r, keys) != 0) {
		json_decref(args);
		return -1;
	}
	map_param(r, args, "FriendlyName", "friendly_name");
	map_param(r, args, "ActivitySid", "activity_sid");
	map_param(r, args, "ActivityName", "activity_name");
	map_param(r, args, "Available", "available");
	map_param(r, args, "TargetWorkersExpression", "target_workers_expression");
	map_param(r, args, "TaskQueueSid", "task_queue_sid");
	map_param(r, args, "TaskQueueName", "task_queue_name");
	if (list_all(r, &r->id->actor, "workers.list", "workers", args, &items) != 0)
		return -1;
	map_items(items, rep_worker);
	return page(r, items, payload);
}

static int get_worker(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { NULL };
	json_t *res;
	if (params_only(r, keys) != 0 ||
	    core_call(r, &r->id->actor, "workers.fetch", json_pack("{s:s}", "sid", r->seg[3]), &res) != 0)
		return -1;
	*payload = rep_worker(res);
	json_decref(res);
	eb_note_fetch(r->n, r->w, r->seg[3], EB_GOT_WORKER, NULL);
	return 0;
}

/* Rejects the worker's pending reservations, leaving it in activity act (RejectPendingReservations). */
static int reject_pending(struct eb_req *r, const char *act)
{
	json_t *items;
	if (list_all(r, NULL, "reservations.list", "reservations",
		     json_pack("{s:s, s:s}", "worker_sid", r->seg[3], "reservation_status", "pending"), &items) != 0)
		return -1;
	size_t i;
	json_t *res;
	int rc = 0;
	json_array_foreach(items, i, res) {
		json_t *args = json_pack("{s:O, s:s, s:s}", "sid", json_object_get(res, "sid"), "reservation_status",
					 "rejected", "worker_activity_sid", act);
		if ((rc = core_call(r, &r->id->actor, "reservations.update", args, NULL)) != 0)
			break;
	}
	json_decref(items);
	return rc;
}

static int post_worker(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { "ActivitySid", "Attributes", "FriendlyName", "RejectPendingReservations", NULL };
	bool has_reject, reject = false;
	if (params_only(r, keys) != 0 || param_bool(r, "RejectPendingReservations", &has_reject, &reject) != 0)
		return -1;
	const char *act = json_string_value(json_object_get(r->params, "ActivitySid"));
	if (reject) {
		json_t *a = act ? sys_fetch(r->w, "activities.fetch", act) : NULL;
		bool avail = json_is_true(json_object_get(a, "available"));
		json_decref(a);
		if (!a)
			return eb_fail(r->f, 400, EB_CODE_INVALID_PARAMETER,
				       "RejectPendingReservations needs ActivitySid naming an existing activity");
		if (avail)
			return eb_fail(r->f, 400, EB_CODE_INVALID_PARAMETER,
				       "RejectPendingReservations is only valid with an unavailable activity");
	}
	json_t *args = json_pack("{s:s}", "sid", r->seg[3]), *res = NULL;
	map_param(r, args, "ActivitySid", "activity_sid");
	map_param(r, args, "Attributes", "attributes");
	map_param(r, args, "FriendlyName", "friendly_name");
	if (core_call(r, &r->id->actor, "workers.update", args, &res) != 0)
		return -1;
	/* Rejecting cannot fail on input once the activity change went through (all was checked above). */
	if (reject) {
		json_decref(res);
		res = NULL;
		if (reject_pending(r, act) != 0 ||
		    core_call(r, &r->id->actor, "workers.fetch", json_pack("{s:s}", "sid", r->seg[3]), &res) != 0)
			return -1;
	}
	*payload = rep_worker(res);
	json_decref(res);
	return 0;
}

static int get_channels(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { "PageSize", "AfterSid", NULL };
	json_t *items;
	if (params_only(r, keys) != 0 ||
	    list_all(r, &r->id->actor, "workers.channels.list", "channels", json_pack("{s:s}", "sid", r->seg[3]), &items) != 0)
		return -1;
	map_items(items, rep_worker_channel);
	if (page(r, items, payload) != 0)
		return -1;
	eb_note_fetch(r->n, r->w, r->seg[3], EB_GOT_CHANNELS, NULL);
	return 0;
}

/* ---- reservations ---- */

static int get_reservations(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { "PageSize", "AfterSid", "Active", "ReservationStatus", NULL };
	bool has_active, active = false;
	if (params_only(r, keys) != 0 || param_bool(r, "Active", &has_active, &active) != 0)
		return -1;
	json_t *args = json_pack("{s:s}", "worker_sid", r->seg[3]), *items;
	if (has_active)
		json_object_set_new(args, "active", json_boolean(active));
	map_param(r, args, "ReservationStatus", "reservation_status");
	if (list_all(r, &r->id->actor, "reservations.list", "reservations", args, &items) != 0)
		return -1;
	json_t *full = json_array();
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		json_t *j = rep_reservation(r->w, it, true);
		if (j)
			json_array_append_new(full, j);
	}
	json_decref(items);
	eb_note_fetch(r->n, r->w, r->seg[3], EB_GOT_RESERVATIONS, full);
	return page(r, full, payload);
}

/* The reservation WR of the url, checked to belong to the url's worker (or task). */
static int fetch_reservation(struct eb_req *r, const char *wr, json_t **res)
{
	if (core_call(r, &r->id->actor, "reservations.fetch", json_pack("{s:s}", "sid", wr), res) != 0)
		return -1;
	const char *owner_key = url_worker(r) ? "worker_sid" : "task_sid";
	const char *owner = url_worker(r) ? url_worker(r) : r->seg[3];
	if (strcmp(json_string_value(json_object_get(*res, owner_key)), owner) != 0) {
		json_decref(*res);
		return eb_fail(r->f, 404, EB_CODE_NOT_FOUND, "reservation %s does not belong to %s", wr, owner);
	}
	return 0;
}

static int get_reservation(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { NULL };
	json_t *res;
	if (params_only(r, keys) != 0 || fetch_reservation(r, r->seg[5], &res) != 0)
		return -1;
	*payload = rep_reservation(r->w, res, true);
	json_decref(res);
	return *payload ? 0 : eb_fail(r->f, 404, EB_CODE_NOT_FOUND, "the task of reservation %s is gone", r->seg[5]);
}

static int post_reservation(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { "ReservationStatus", "WorkerActivitySid", NULL };
	json_t *res;
	if (params_only(r, keys) != 0)
		return -1;
	if (!json_is_string(json_object_get(r->params, "ReservationStatus")))
		return eb_fail(r->f, 400, EB_CODE_INVALID_PARAMETER,
			       "'ReservationStatus' (accepted, rejected, wrapping or completed) is required");
	if (fetch_reservation(r, r->seg[5], &res) != 0)
		return -1;
	json_decref(res);
	json_t *args = json_pack("{s:s}", "sid", r->seg[5]);
	map_param(r, args, "ReservationStatus", "reservation_status");
	map_param(r, args, "WorkerActivitySid", "worker_activity_sid");
	if (core_call(r, &r->id->actor, "reservations.update", args, NULL) != 0)
		return -1;
	*payload = eb_reservation(r->w, r->seg[5], false);
	return *payload ? 0 : eb_fail(r->f, 500, EB_CODE_INTERNAL, "reservation %s vanished", r->seg[5]);
}

/* ---- tasks and queues ---- */

static int get_task(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { NULL };
	json_t *res;
	if (params_only(r, keys) != 0 ||
	    core_call(r, &r->id->actor, "tasks.fetch", json_pack("{s:s}", "sid", r->seg[3]), &res) != 0)
		return -1;
	*payload = rep_task(res);
	json_decref(res);
	return 0;
}

static int post_task(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { "AssignmentStatus", "Reason", "Attributes", "Priority", NULL };
	json_t *res, *args = json_pack("{s:s}", "sid", r->seg[3]);
	if (params_only(r, keys) != 0) {
		json_decref(args);
		return -1;
	}
	map_param(r, args, "AssignmentStatus", "assignment_status");
	map_param(r, args, "Reason", "reason");
	map_param(r, args, "Attributes", "attributes");
	map_param(r, args, "Priority", "priority");
	if (core_call(r, &r->id->actor, "tasks.update", args, &res) != 0)
		return -1;
	*payload = rep_task(res);
	json_decref(res);
	return 0;
}

static int post_tasks(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { "WorkflowSid", "Attributes", "Priority", "Timeout", "TaskChannel",
					    "TaskChannelUniqueName", "TaskChannelSid", NULL };
	json_t *res, *args = json_object();
	if (params_only(r, keys) != 0) {
		json_decref(args);
		return -1;
	}
	map_param(r, args, "WorkflowSid", "workflow_sid");
	map_param(r, args, "Attributes", "attributes");
	map_param(r, args, "Priority", "priority");
	map_param(r, args, "Timeout", "timeout");
	map_param(r, args, "TaskChannelSid", "task_channel");
	map_param(r, args, "TaskChannelUniqueName", "task_channel");
	map_param(r, args, "TaskChannel", "task_channel");
	if (core_call(r, &r->id->actor, "tasks.create", args, &res) != 0)
		return -1;
	*payload = rep_task(res);
	json_decref(res);
	return 0;
}

static int get_task_reservation(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { NULL };
	json_t *res;
	if (params_only(r, keys) != 0 || fetch_reservation(r, r->seg[5], &res) != 0)
		return -1;
	*payload = rep_reservation(r->w, res, true);
	json_decref(res);
	return *payload ? 0 : eb_fail(r->f, 404, EB_CODE_NOT_FOUND, "the task of reservation %s is gone", r->seg[5]);
}

static int get_queues(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { "PageSize", "AfterSid", "FriendlyName", "WorkerSid", NULL };
	json_t *args = json_object(), *items;
	if (params_only(r, keys) != 0) {
		json_decref(args);
		return -1;
	}
	map_param(r, args, "FriendlyName", "friendly_name");
	map_param(r, args, "WorkerSid", "worker_sid");
	if (list_all(r, &r->id->actor, "task_queues.list", "task_queues", args, &items) != 0)
		return -1;
	map_items(items, rep_queue);
	return page(r, items, payload);
}

static int get_queue(struct eb_req *r, json_t **payload)
{
	static const char *const keys[] = { NULL };
	json_t *res;
	if (params_only(r, keys) != 0 ||
	    core_call(r, &r->id->actor, "task_queues.fetch", json_pack("{s:s}", "sid", r->seg[3]), &res) != 0)
		return -1;
	*payload = rep_queue(res);
	json_decref(res);
	return 0;
}

/* ---- what Switchboard does not do ---- */

static int no_transfers(struct eb_req *r, json_t **payload)
{
	return eb_fail(r->f, 400, EB_CODE_INVALID_PARAMETER, "task transfers are not supported by Switchboard");
}

static int no_participants(struct eb_req *r, json_t **payload)
{
	return eb_fail(r->f, 400, EB_CODE_INVALID_PARAMETER,
		       "conference participants (hold, kick, mute) are not supported by Switchboard: it has no telephony");
}

static int no_supervise(struct eb_req *r, json_t **payload)
{
	return eb_fail(r->f, 400, EB_CODE_INVALID_PARAMETER,
		       "supervise (monitor) instructions are not supported by Switchboard: it has no telephony");
}

/* ---- the table ---- */

static const struct route {
	const char *method;
	const char *pattern;
	route_fn fn;
} routes[] = {
	{ "GET", "Workspaces/WS/Activities", get_activities },
	{ "GET", "Workspaces/WS/Activities/WA", get_activity },
	{ "GET", "Workspaces/WS/Workers", get_workers },
	{ "GET", "Workspaces/WS/Workers/WK", get_worker },
	{ "POST", "Workspaces/WS/Workers/WK", post_worker },
	{ "GET", "Workspaces/WS/Workers/WK/WorkerChannels", get_channels },
	{ "GET", "Workspaces/WS/Workers/WK/Reservations", get_reservations },
	{ "GET", "Workspaces/WS/Workers/WK/Reservations/WR", get_reservation },
	{ "POST", "Workspaces/WS/Workers/WK/Reservations/WR", post_reservation },
	{ "POST", "Workspaces/WS/Workers/WK/Transfers", no_transfers },
	{ "POST", "Workspaces/WS/Workers/WK/Transfers/TT", no_transfers },
	{ "POST", "Workspaces/WS/Workers/WK/CustomerParticipant", no_participants },
	{ "POST", "Workspaces/WS/Workers/WK/WorkerParticipant", no_participants },
	{ "POST", "Workspaces/WS/Workers/WK/HoldWorkerParticipant", no_participants },
	{ "POST", "Workspaces/WS/Workers/WK/KickWorkerParticipant", no_participants },
	{ "POST", "Workspaces/WS/Tasks", post_tasks },
	{ "GET", "Workspaces/WS/Tasks/WT", get_task },
	{ "POST", "Workspaces/WS/Tasks/WT", post_task },
	{ "GET", "Workspaces/WS/Tasks/WT/Reservations/WR", get_task_reservation },
	{ "POST", "Workspaces/WS/Tasks/WT/Reservations/WR", no_supervise },
	{ "GET", "Workspaces/WS/TaskQueues", get_queues },
	{ "GET", "Workspaces/WS/TaskQueues/WQ", get_queue },
};

/* True when the url's segments fit pattern: literal words equal, two-letter placeholders valid SIDs. */
static bool matches(const struct eb_req *r, const char *pattern)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%s", pattern);
	int i = 0;
	char *save = NULL;
	for (char *p = strtok_r(buf, "/", &save); p; p = strtok_r(NULL, "/", &save), i++) {
		if (i >= r->nseg)
			return false;
		bool placeholder = strlen(p) == 2 && p[0] >= 'A' && p[0] <= 'Z' && p[1] >= 'A' && p[1] <= 'Z';
		if (placeholder ? !swb_sid_valid(r->seg[i], p) : strcmp(p, r->seg[i]) != 0)
			return false;
	}
	return i == r->nseg;
}

/* Splits url (copied into buf) into r->seg; false when it has too many or empty segments. */
static bool split_url(struct eb_req *r, const char *url, char *buf, size_t len)
{
	while (*url == '/')
		url++;
	snprintf(buf, len, "%s", url);
	size_t n = strlen(buf);
	if (n && buf[n - 1] == '/')
		buf[n - 1] = '\0';
	r->nseg = 0;
	for (char *p = buf; *p;) {
		if (r->nseg == EB_URL_SEGMENTS)
			return false;
		r->seg[r->nseg++] = p;
		char *slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
		if (!*p)
			return false;
	}
	for (int i = 0; i < r->nseg; i++)
		if (!*r->seg[i])
			return false;
	return r->nseg > 0;
}

/* The token may use this url: its own workspace, and (worker tokens) its own worker. */
static int check_access(struct eb_req *r)
{
	const char *ws = r->seg[1];
	if (r->id->w && strcmp(r->id->w->sid, ws) != 0)
		return eb_fail(r->f, 403, EB_CODE_FORBIDDEN, "this token is for workspace %s, not %s", r->id->w->sid, ws);
	r->w = r->id->w;
	for (size_t i = 0; !r->w && i < r->n->nws; i++)
		if (strcmp(r->n->ws[i]->sid, ws) == 0)
			r->w = r->n->ws[i];
	if (!r->w)
		return eb_fail(r->f, 404, EB_CODE_NOT_FOUND, "no workspace %s", ws);
	const char *wk = url_worker(r);
	if (wk && r->id->actor.kind == SWB_ACTOR_WORKER && strcmp(wk, r->id->worker_sid) != 0)
		return eb_fail(r->f, 403, EB_CODE_FORBIDDEN, "a worker token may only use its own worker (%s), not %s",
			       r->id->worker_sid, wk);
	return 0;
}

int eb_rest_call(struct node *n, const struct eb_ident *id, const char *method, const char *url, json_t *params,
		 json_t **payload, struct eb_fail *f)
{
	struct eb_req r = { .n = n, .id = id, .method = method, .url = url, .params = params, .f = f };
	char buf[EB_URL_MAX + 1];
	if (strlen(url) > EB_URL_MAX || !split_url(&r, url, buf, sizeof buf))
		return eb_fail(f, 404, EB_CODE_NOT_FOUND, "the requested resource /%.120s was not found", url);
	bool path_known = false;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (!matches(&r, routes[i].pattern))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, method) != 0)
			continue;
		if (check_access(&r) != 0)
			return -1;
		return routes[i].fn(&r, payload);
	}
	if (path_known)
		return eb_fail(f, 405, EB_CODE_METHOD, "%s is not allowed on %.120s", method, url);
	return eb_fail(f, 404, EB_CODE_NOT_FOUND, "the requested resource /%.120s was not found", url);
}
