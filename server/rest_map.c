/*
 * rest_map.c - the REST API's one route table and the resources behind it:
 * which TaskRouter path and method runs which core op (or node-level workspace
 * op), which wire parameters each takes and what they are called as op
 * arguments, and the TaskRouter representations with their absolute `url` and
 * `links`. Most routes are one op through the generic list/fetch/create/
 * update/delete handlers; the rest (workspaces, worker channels, reservations
 * under their task or worker, events) have small handlers here, and the
 * Statistics routes live in rest_stats.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rest_internal.h"
#include "timefmt.h"
#include "workspace_file.h"

#define FIFO_QUEUE "Sample Queue"              /* what Twilio's FIFO workspace template creates */
#define FIFO_WORKFLOW "Default Fifo Workflow"

/* ---- representations: url and links ---- */

static const char *str(const json_t *item, const char *key)
{
	const char *s = json_string_value(json_object_get(item, key));
	return s ? s : "";
}

static void set_links(json_t *item, json_t *links)
{
	json_object_set_new(item, "links", links);
}

/* events_filter is a comma-separated string in Twilio's JSON; the core keeps an array. */
static void workspace_rep(struct rest_req *r, json_t *item)
{
	const char *ws = str(item, "sid");
	json_t *f = json_object_get(item, "events_filter");
	if (json_is_array(f)) {
		struct rest_buf b = { 0 };
		size_t i;
		json_t *e;
		json_array_foreach(f, i, e) {
			if (i)
				rest_buf_add(&b, ",", 1);
			rest_buf_add(&b, json_string_value(e), json_string_length(e));
		}
		json_object_set_new(item, "events_filter", json_string(b.s ? b.s : ""));
		free(b.s);
	}
	json_object_set_new(item, "url", rest_url(r, "Workspaces/%s", ws));
	set_links(item, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "activities",
				  rest_url(r, "Workspaces/%s/Activities", ws), "statistics",
				  rest_url(r, "Workspaces/%s/Statistics", ws), "real_time_statistics",
				  rest_url(r, "Workspaces/%s/RealTimeStatistics", ws), "cumulative_statistics",
				  rest_url(r, "Workspaces/%s/CumulativeStatistics", ws), "task_queues",
				  rest_url(r, "Workspaces/%s/TaskQueues", ws), "tasks", rest_url(r, "Workspaces/%s/Tasks", ws),
				  "workers", rest_url(r, "Workspaces/%s/Workers", ws), "workflows",
				  rest_url(r, "Workspaces/%s/Workflows", ws), "task_channels",
				  rest_url(r, "Workspaces/%s/TaskChannels", ws), "events",
				  rest_url(r, "Workspaces/%s/Events", ws)));
}

static void worker_rep(struct rest_req *r, json_t *item)
{
	const char *ws = str(item, "workspace_sid"), *sid = str(item, "sid");
	json_object_set_new(item, "url", rest_url(r, "Workspaces/%s/Workers/%s", ws, sid));
	set_links(item, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "channels",
				  rest_url(r, "Workspaces/%s/Workers/%s/Channels", ws, sid), "worker_channels",
				  rest_url(r, "Workspaces/%s/Workers/%s/Channels", ws, sid), "activity",
				  rest_url(r, "Workspaces/%s/Activities/%s", ws, str(item, "activity_sid")), "workspace",
				  rest_url(r, "Workspaces/%s", ws), "reservations",
				  rest_url(r, "Workspaces/%s/Workers/%s/Reservations", ws, sid), "worker_statistics",
				  rest_url(r, "Workspaces/%s/Workers/%s/Statistics", ws, sid)));
}

static void queue_rep(struct rest_req *r, json_t *item)
{
	const char *ws = str(item, "workspace_sid"), *sid = str(item, "sid");
	json_object_set_new(item, "url", rest_url(r, "Workspaces/%s/TaskQueues/%s", ws, sid));
	json_t *links = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "workspace", rest_url(r, "Workspaces/%s", ws),
				  "statistics", rest_url(r, "Workspaces/%s/TaskQueues/%s/Statistics", ws, sid),
				  "real_time_statistics",
				  rest_url(r, "Workspaces/%s/TaskQueues/%s/RealTimeStatistics", ws, sid),
				  "cumulative_statistics",
				  rest_url(r, "Workspaces/%s/TaskQueues/%s/CumulativeStatistics", ws, sid),
				  "list_statistics", rest_url(r, "Workspaces/%s/TaskQueues/Statistics", ws),
				  "bulk_real_time_statistics", rest_url(r, "Workspaces/%s/TaskQueues/RealTimeStatistics", ws));
	if (*str(item, "assignment_activity_sid"))
		json_object_set_new(links, "assignment_activity",
				    rest_url(r, "Workspaces/%s/Activities/%s", ws, str(item, "assignment_activity_sid")));
	if (*str(item, "reservation_activity_sid"))
		json_object_set_new(links, "reservation_activity",
				    rest_url(r, "Workspaces/%s/Activities/%s", ws, str(item, "reservation_activity_sid")));
	set_links(item, links);
}

static void task_rep(struct rest_req *r, json_t *item)
{
	const char *ws = str(item, "workspace_sid"), *sid = str(item, "sid");
	json_object_set_new(item, "url", rest_url(r, "Workspaces/%s/Tasks/%s", ws, sid));
	if (!json_object_get(item, "virtual_start_time"))
		json_object_set(item, "virtual_start_time", json_object_get(item, "date_created"));
	if (!json_object_get(item, "ignore_capacity"))
		json_object_set_new(item, "ignore_capacity", json_false());
	if (!json_object_get(item, "routing_target"))
		json_object_set_new(item, "routing_target", json_null());
	json_t *links = json_pack("{s:o, s:o, s:o}", "workflow",
				  rest_url(r, "Workspaces/%s/Workflows/%s", ws, str(item, "workflow_sid")), "workspace",
				  rest_url(r, "Workspaces/%s", ws), "reservations",
				  rest_url(r, "Workspaces/%s/Tasks/%s/Reservations", ws, sid));
	if (*str(item, "task_queue_sid"))
		json_object_set_new(links, "task_queue",
				    rest_url(r, "Workspaces/%s/TaskQueues/%s", ws, str(item, "task_queue_sid")));
	set_links(item, links);
}

static void reservation_rep(struct rest_req *r, json_t *item, bool under_worker)
{
	const char *ws = str(item, "workspace_sid"), *sid = str(item, "sid");
	const char *task = str(item, "task_sid"), *worker = str(item, "worker_sid");
	json_object_set_new(item, "url", under_worker ?
				rest_url(r, "Workspaces/%s/Workers/%s/Reservations/%s", ws, worker, sid) :
				rest_url(r, "Workspaces/%s/Tasks/%s/Reservations/%s", ws, task, sid));
	set_links(item, json_pack("{s:o, s:o, s:o}", "task", rest_url(r, "Workspaces/%s/Tasks/%s", ws, task), "worker",
				  rest_url(r, "Workspaces/%s/Workers/%s", ws, worker), "workspace",
				  rest_url(r, "Workspaces/%s", ws)));
}

/* The REST URL of an event's resource, from its type and event_data. */
static json_t *event_resource_url(struct rest_req *r, const char *ws, const char *type, const char *sid, json_t *data)
{
	static const struct {
		const char *type, *path;
	} paths[] = { { "task", "Tasks" },         { "worker", "Workers" },       { "task_queue", "TaskQueues" },
		      { "workflow", "Workflows" }, { "activity", "Activities" }, { "task_channel", "TaskChannels" } };
	if (strcmp(type, "workspace") == 0)
		return rest_url(r, "Workspaces/%s", ws);
	if (strcmp(type, "reservation") == 0)
		return rest_url(r, "Workspaces/%s/Tasks/%s/Reservations/%s", ws, str(data, "task_sid"), sid);
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (strcmp(type, paths[i].type) == 0)
			return rest_url(r, "Workspaces/%s/%s/%s", ws, paths[i].path, sid);
	return json_null();
}

/* The delivery form of an event (eventlog.c) as TaskRouter's Event resource. */
static void event_rep(struct rest_req *r, json_t *item)
{
	json_t *data = json_object_get(item, "event_data");
	const char *ws = *str(data, "workspace_sid") ? str(data, "workspace_sid") : r->w->sid;
	json_object_del(item, "seq");
	json_object_set_new(item, "account_sid", json_string(r->n->account_sid));
	json_object_set_new(item, "workspace_sid", json_string(ws));
	json_object_set_new(item, "actor_type", json_string("workspace"));
	json_object_set_new(item, "actor_sid", json_string(ws));
	json_object_set_new(item, "actor_url", rest_url(r, "Workspaces/%s", ws));
	json_object_set_new(item, "resource_url",
			    event_resource_url(r, ws, str(item, "resource_type"), str(item, "resource_sid"), data));
	json_object_set_new(item, "source", json_string("twilio"));
	json_object_set_new(item, "source_ip_address", json_null());
	json_object_set_new(item, "url", rest_url(r, "Workspaces/%s/Events/%s", ws, str(item, "sid")));
}

void rest_decorate(struct rest_req *r, enum rest_kind kind, json_t *item, bool in_list)
{
	const char *ws = str(item, "workspace_sid"), *sid = str(item, "sid");
	switch (kind) {
	case K_NONE:
		return;
	case K_WORKSPACE:
		workspace_rep(r, item);
		return;
	case K_ACTIVITY:
		json_object_set_new(item, "url", rest_url(r, "Workspaces/%s/Activities/%s", ws, sid));
		set_links(item, json_pack("{s:o}", "workspace", rest_url(r, "Workspaces/%s", ws)));
		return;
	case K_CHANNEL:
		json_object_set_new(item, "url", rest_url(r, "Workspaces/%s/TaskChannels/%s", ws, sid));
		set_links(item, json_pack("{s:o}", "workspace", rest_url(r, "Workspaces/%s", ws)));
		return;
	case K_WORKER:
		worker_rep(r, item);
		if (in_list) /* Twilio: attributes only in the answer about one worker */
			json_object_set_new(item, "attributes", json_null());
		return;
	case K_WORKER_CHANNEL:
		json_object_set_new(item, "url",
				    rest_url(r, "Workspaces/%s/Workers/%s/Channels/%s", ws, str(item, "worker_sid"), sid));
		return;
	case K_QUEUE:
		queue_rep(r, item);
		return;
	case K_WORKFLOW:
		json_object_set_new(item, "url", rest_url(r, "Workspaces/%s/Workflows/%s", ws, sid));
		set_links(item, json_pack("{s:o, s:o, s:o}", "statistics",
					  rest_url(r, "Workspaces/%s/Workflows/%s/Statistics", ws, sid),
					  "real_time_statistics",
					  rest_url(r, "Workspaces/%s/Workflows/%s/RealTimeStatistics", ws, sid),
					  "cumulative_statistics",
					  rest_url(r, "Workspaces/%s/Workflows/%s/CumulativeStatistics", ws, sid)));
		return;
	case K_TASK:
		task_rep(r, item);
		if (in_list) /* Twilio: attributes only in the answer about one task */
			json_object_set_new(item, "attributes", json_null());
		return;
	case K_RES_TASK:
	case K_RES_WORKER:
		reservation_rep(r, item, kind == K_RES_WORKER);
		return;
	case K_EVENT:
		event_rep(r, item);
		return;
	}
}

/* ---- generic handlers: one route, one op ---- */

static const char *last_seg(const struct rest_req *r)
{
	return r->seg[r->nseg - 1];
}

static void set_str(json_t *args, const char *key, const char *v)
{
	json_object_set_new(args, key, json_string(v));
}

/* Decorates and answers *res on success. res is read after rc is computed (not an argument: C leaves
 * the order arguments are evaluated in open). */
static enum swb_code answer_one(struct rest_req *r, enum swb_code rc, json_t **res, json_t **body)
{
	if (rc == SWB_OK) {
		rest_decorate(r, r->route->kind, *res, false);
		*body = *res;
	}
	return rc;
}

static enum swb_code h_list(struct rest_req *r, json_t **body, struct swb_err *err)
{
	if (r->route->parent)
		set_str(r->args, r->route->parent, r->seg[3]);
	json_object_set_new(r->args, "page", json_integer(r->page));
	json_object_set_new(r->args, "page_size", json_integer(r->page_size));
	json_t *res = NULL;
	enum swb_code rc = rest_exec(r, r->route->op, r->args, &res, err);
	if (rc == SWB_OK)
		*body = rest_list_answer(r, res);
	return rc;
}

static enum swb_code h_fetch(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *res = NULL;
	set_str(r->args, "sid", last_seg(r));
	return answer_one(r, rest_exec(r, r->route->op, r->args, &res, err), &res, body);
}

static enum swb_code h_create(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *res = NULL;
	return answer_one(r, rest_exec(r, r->route->op, r->args, &res, err), &res, body);
}

static enum swb_code h_update(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *res = NULL;
	set_str(r->args, "sid", last_seg(r));
	return answer_one(r, rest_exec(r, r->route->op, r->args, &res, err), &res, body);
}

static enum swb_code h_delete(struct rest_req *r, json_t **body, struct swb_err *err)
{
	set_str(r->args, "sid", last_seg(r));
	return rest_exec(r, r->route->op, r->args, NULL, err);
}

/* ---- workspaces (node level) ---- */

static json_t *ws_fetch_sys(struct wspace *w)
{
	return rest_sys_get(w, "workspace.fetch", NULL);
}

/* A workspace other than self already named name, or NULL. */
static struct wspace *ws_named(struct node *n, const char *name, const struct wspace *self)
{
	for (size_t i = 0; name && i < n->nws; i++) {
		if (n->ws[i] == self)
			continue;
		json_t *ws = ws_fetch_sys(n->ws[i]);
		bool same = strcmp(str(ws, "friendly_name"), name) == 0;
		json_decref(ws);
		if (same)
			return n->ws[i];
	}
	return NULL;
}

static enum swb_code check_queue_order(const struct rest_req *r, struct swb_err *err)
{
	const char *order = rest_param(r, "PrioritizeQueueOrder");
	if (order && strcmp(order, "FIFO") != 0)
		return swb_err_set(err, SWB_EINVAL, "'PrioritizeQueueOrder' must be FIFO (LIFO is not supported by Switchboard)");
	return SWB_OK;
}

static enum swb_code h_ws_list(struct rest_req *r, json_t **body, struct swb_err *err)
{
	enum swb_code rc = rest_need_supervisor(r, err);
	if (rc != SWB_OK)
		return rc;
	const char *name = rest_param(r, "FriendlyName");
	json_t *all = json_array();
	for (size_t i = 0; i < r->n->nws; i++) {
		json_t *ws = ws_fetch_sys(r->n->ws[i]);
		if (name && strcmp(str(ws, "friendly_name"), name) != 0)
			json_decref(ws);
		else
			json_array_append_new(all, ws);
	}
	*body = rest_list_answer(r, rest_page(r, all, "workspaces"));
	return SWB_OK;
}

static void collect_error(void *ctx, const char *msg)
{
	struct swb_err *err = ctx;
	if (err->code == SWB_OK)
		swb_err_set(err, SWB_EINVAL, "%s", msg);
}

static enum swb_code h_ws_create(struct rest_req *r, json_t **body, struct swb_err *err)
{
	enum swb_code rc = rest_need_admin(r, err);
	const char *name = json_string_value(json_object_get(r->args, "friendly_name"));
	const char *tmpl = rest_param(r, "Template");
	if (rc == SWB_OK && (!name || !*name))
		rc = swb_err_set(err, SWB_EINVAL, "missing required parameter 'FriendlyName'");
	if (rc == SWB_OK && tmpl && strcmp(tmpl, "NONE") != 0 && strcmp(tmpl, "FIFO") != 0)
		rc = swb_err_set(err, SWB_EINVAL, "'Template' must be NONE or FIFO");
	if (rc == SWB_OK)
		rc = check_queue_order(r, err);
	if (rc == SWB_OK && ws_named(r->n, name, NULL))
		rc = swb_err_set(err, SWB_ECONFLICT, "a workspace named '%s' already exists", name);
	if (rc != SWB_OK)
		return rc;
	/* The document a workspace file would hold; without "activities" the core's defaults are used. */
	json_t *doc = json_pack("{s:s}", "friendly_name", name);
	static const char *const keys[] = { "event_callback_url", "events_filter" };
	for (size_t i = 0; i < 2; i++)
		if (json_object_get(r->args, keys[i]))
			json_object_set(doc, keys[i], json_object_get(r->args, keys[i]));
	if (tmpl && strcmp(tmpl, "FIFO") == 0) {
		json_object_set_new(doc, "task_queues",
				    json_pack("[{s:s, s:s}]", "friendly_name", FIFO_QUEUE, "target_workers", "1==1"));
		json_object_set_new(doc, "workflows",
				    json_pack("[{s:s, s:{s:{s:[], s:{s:s}}}}]", "friendly_name", FIFO_WORKFLOW,
					      "configuration", "task_routing", "filters", "default_filter", "queue",
					      FIFO_QUEUE));
	}
	/* Checked on a scratch core first, so the caller hears what is wrong. */
	struct swb_core_opts co = { .seed = 1, .now_ms = swb_wall_ms() };
	swb_core *scratch = NULL;
	swb_err_clear(err);
	if (swb_workspace_build(doc, &co, collect_error, err, &scratch) != 0) {
		json_decref(doc);
		return err->code ? err->code : swb_err_set(err, SWB_EINVAL, "the workspace does not load");
	}
	swb_core_free(scratch);
	struct wspace *w;
	rc = node_ws_create(r->n, doc, &w, err);
	json_decref(doc);
	if (rc != SWB_OK)
		return rc;
	json_t *mt = json_object_get(r->args, "multi_task_enabled");
	if (mt) {
		json_t *args = json_pack("{s:O}", "multi_task_enabled", mt);
		node_exec(w, swb_wall_ms(), &r->actor, "workspace.update", args, NULL, NULL);
		json_decref(args);
	}
	json_t *res = ws_fetch_sys(w);
	rest_decorate(r, K_WORKSPACE, res, false);
	*body = res;
	return SWB_OK;
}

static enum swb_code h_ws_fetch(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *res = NULL;
	return answer_one(r, rest_exec(r, "workspace.fetch", NULL, &res, err), &res, body);
}

static enum swb_code h_ws_update(struct rest_req *r, json_t **body, struct swb_err *err)
{
	const char *name = json_string_value(json_object_get(r->args, "friendly_name"));
	enum swb_code rc = check_queue_order(r, err);
	if (rc == SWB_OK && name && ws_named(r->n, name, r->w))
		rc = swb_err_set(err, SWB_ECONFLICT, "a workspace named '%s' already exists", name);
	if (rc != SWB_OK)
		return rc;
	json_t *res = NULL;
	return answer_one(r, rest_exec(r, "workspace.update", r->args, &res, err), &res, body);
}

static enum swb_code h_ws_delete(struct rest_req *r, json_t **body, struct swb_err *err)
{
	enum swb_code rc = rest_need_admin(r, err);
	if (rc == SWB_OK && r->w == r->n->ws[0])
		rc = swb_err_set(err, SWB_ECONFLICT, "the default workspace cannot be deleted");
	if (rc == SWB_OK)
		node_ws_delete(r->n, r->w);
	return rc;
}

/* ---- workers ---- */

/* RejectPendingReservations: after the move to an unavailable activity, the worker's pending offers are rejected. */
static enum swb_code h_worker_update(struct rest_req *r, json_t **body, struct swb_err *err)
{
	const char *reject_s = rest_param(r, "RejectPendingReservations");
	bool reject = false;
	if (reject_s && !rest_parse_bool(reject_s, &reject))
		return swb_err_set(err, SWB_EINVAL, "'RejectPendingReservations' must be true or false");
	/* Rejecting is a reservation change: a supervisor may move workers, not answer their offers. */
	if (reject && r->actor.kind == SWB_ACTOR_SUPERVISOR)
		return swb_err_set(err, SWB_EPERM, "'RejectPendingReservations' needs the account credentials, an admin "
				   "token or the worker's own token");
	json_t *res = NULL;
	set_str(r->args, "sid", last_seg(r));
	enum swb_code rc = rest_exec(r, "workers.update", r->args, &res, err);
	if (rc != SWB_OK)
		return rc;
	if (reject && json_object_get(r->args, "activity_sid") && !json_is_true(json_object_get(res, "available"))) {
		const char *wsid = str(res, "sid"), *act = str(res, "activity_sid");
		json_t *pending = rest_sys_list_all(r->w, "reservations.list", "reservations",
						    json_pack("{s:s, s:s}", "worker_sid", wsid, "reservation_status", "pending"));
		size_t i;
		json_t *p;
		json_array_foreach(pending, i, p) {
			json_t *args = json_pack("{s:O, s:s, s:s}", "sid", json_object_get(p, "sid"), "reservation_status",
						 "rejected", "worker_activity_sid", act);
			struct swb_err e2;
			if (rest_exec(r, "reservations.update", args, NULL, &e2) != SWB_OK)
				swb_err_clear(&e2); /* it may have ended meanwhile (rescinded by another's accept) */
			json_decref(args);
		}
		json_decref(pending);
		json_t *fargs = json_pack("{s:s}", "sid", wsid);
		json_decref(res);
		res = NULL;
		rc = rest_exec(r, "workers.fetch", fargs, &res, err);
		json_decref(fargs);
		if (rc != SWB_OK)
			return rc;
	}
	return answer_one(r, SWB_OK, &res, body);
}

/* The worker channel named by a WC sid, a TC sid or a task channel unique name, from the worker's list. */
static enum swb_code find_worker_channel(struct rest_req *r, json_t **out, struct swb_err *err)
{
	json_t *res = NULL, *args = json_pack("{s:s, s:i}", "sid", r->seg[3], "page_size", REST_PAGE_SIZE_MAX);
	enum swb_code rc = rest_exec(r, "workers.channels.list", args, &res, err);
	json_decref(args);
	if (rc != SWB_OK)
		return rc;
	const char *want = last_seg(r);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(res, "channels"), i, c) {
		if (strcmp(str(c, "sid"), want) == 0 || strcmp(str(c, "task_channel_sid"), want) == 0 ||
		    strcmp(str(c, "task_channel_unique_name"), want) == 0) {
			*out = json_incref(c);
			json_decref(res);
			return SWB_OK;
		}
	}
	json_decref(res);
	return swb_err_set(err, SWB_ENOTFOUND, "no channel '%s' for worker '%s'", want, r->seg[3]);
}

static enum swb_code h_wchan_fetch(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *c = NULL;
	return answer_one(r, find_worker_channel(r, &c, err), &c, body);
}

static enum swb_code h_wchan_update(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *c = NULL;
	enum swb_code rc = find_worker_channel(r, &c, err);
	if (rc != SWB_OK)
		return rc;
	set_str(r->args, "sid", str(c, "worker_sid"));
	set_str(r->args, "channel", str(c, "task_channel_sid"));
	json_decref(c);
	json_t *res = NULL;
	return answer_one(r, rest_exec(r, "workers.channels.update", r->args, &res, err), &res, body);
}

/* ---- reservations under a task or a worker ---- */

static enum swb_code fetch_reservation(struct rest_req *r, json_t **out, struct swb_err *err)
{
	json_t *res = NULL, *args = json_pack("{s:s}", "sid", last_seg(r));
	enum swb_code rc = rest_exec(r, "reservations.fetch", args, &res, err);
	json_decref(args);
	if (rc != SWB_OK)
		return rc;
	const char *parent = r->seg[3];
	bool mine = r->route->kind == K_RES_WORKER ?
			    strcmp(str(res, "worker_sid"), parent) == 0 || strcmp(str(res, "worker_name"), parent) == 0 :
			    strcmp(str(res, "task_sid"), parent) == 0;
	if (!mine) {
		json_decref(res);
		return swb_err_set(err, SWB_ENOTFOUND, "no reservation '%s' under %s '%s'", last_seg(r),
				   r->route->kind == K_RES_WORKER ? "worker" : "task", parent);
	}
	*out = res;
	return SWB_OK;
}

static enum swb_code h_res_fetch(struct rest_req *r, json_t **body, struct swb_err *err)
{
	json_t *res = NULL;
	return answer_one(r, fetch_reservation(r, &res, err), &res, body);
}

static enum swb_code h_res_update(struct rest_req *r, json_t **body, struct swb_err *err)
{
	/* Instruction=accept|reject is the older spelling of ReservationStatus; the voice ones need calls. */
	const char *ins = rest_param(r, "Instruction");
	const char *status = json_string_value(json_object_get(r->args, "reservation_status"));
	if (ins) {
		const char *as = strcmp(ins, "accept") == 0 ? "accepted" : strcmp(ins, "reject") == 0 ? "rejected" : NULL;
		if (!as)
			return swb_err_set(err, SWB_EINVAL, "'Instruction' %s is not supported by Switchboard (accept or reject)",
					   ins);
		if (status && strcmp(status, as) != 0)
			return swb_err_set(err, SWB_EINVAL, "'Instruction' and 'ReservationStatus' disagree");
		set_str(r->args, "reservation_status", as);
	}
	json_t *res = NULL;
	enum swb_code rc = fetch_reservation(r, &res, err);
	json_decref(res);
	res = NULL;
	if (rc != SWB_OK)
		return rc;
	set_str(r->args, "sid", last_seg(r));
	return answer_one(r, rest_exec(r, "reservations.update", r->args, &res, err), &res, body);
}

/* ---- events ---- */

/* TaskChannel may be a TC sid; the event log keeps unique names. */
static enum swb_code channel_unique_name(struct rest_req *r, struct swb_err *err)
{
	const char *ch = json_string_value(json_object_get(r->args, "task_channel"));
	if (!ch || !swb_sid_valid(ch, "TC"))
		return SWB_OK;
	json_t *res = NULL, *args = json_pack("{s:s}", "sid", ch);
	enum swb_code rc = rest_exec(r, "task_channels.fetch", args, &res, err);
	json_decref(args);
	if (rc == SWB_OK)
		set_str(r->args, "task_channel", str(res, "unique_name"));
	json_decref(res);
	return rc;
}

static enum swb_code h_events_list(struct rest_req *r, json_t **body, struct swb_err *err)
{
	enum swb_code rc = rest_need_supervisor(r, err);
	if (rc == SWB_OK)
		rc = channel_unique_name(r, err);
	if (rc != SWB_OK)
		return rc;
	json_object_set_new(r->args, "page", json_integer(r->page));
	json_object_set_new(r->args, "page_size", json_integer(r->page_size));
	json_t *res = NULL;
	rc = node_events_list(r->w, &r->actor, r->args, &res, err);
	if (rc == SWB_OK)
		*body = rest_list_answer(r, res);
	return rc;
}

static enum swb_code h_event_fetch(struct rest_req *r, json_t **body, struct swb_err *err)
{
	enum swb_code rc = rest_need_supervisor(r, err);
	if (rc != SWB_OK)
		return rc;
	json_t *res = NULL, *args = json_pack("{s:s, s:s, s:i}", "sid", last_seg(r), "start_date", "1970-01-01",
					      "page_size", 1);
	rc = node_events_list(r->w, &r->actor, args, &res, err);
	json_decref(args);
	if (rc != SWB_OK)
		return rc;
	json_t *ev = json_array_get(json_object_get(res, "events"), 0);
	if (!ev) {
		json_decref(res);
		return swb_err_set(err, SWB_ENOTFOUND, "no event '%s' (the node keeps the most recent %d)", last_seg(r),
				   SWB_EVENTLOG_WINDOW);
	}
	json_incref(ev);
	json_decref(res);
	return answer_one(r, SWB_OK, &ev, body);
}

/* ---- parameters ---- */

#define END { NULL, NULL, P_STR }
#define FRIENDLY { "FriendlyName", "friendly_name", P_STR }

static const struct rest_param no_p[] = { END };
static const struct rest_param name_p[] = { FRIENDLY, END };

static const struct rest_param ws_create_p[] = {
	FRIENDLY, { "EventCallbackUrl", "event_callback_url", P_STR }, { "EventsFilter", "events_filter", P_STR },
	{ "MultiTaskEnabled", "multi_task_enabled", P_BOOL }, { "Template", NULL, P_LOCAL },
	{ "PrioritizeQueueOrder", NULL, P_LOCAL }, END,
};
static const struct rest_param ws_update_p[] = {
	{ "DefaultActivitySid", "default_activity_sid", P_STR }, { "EventCallbackUrl", "event_callback_url", P_STR },
	{ "EventsFilter", "events_filter", P_STR }, FRIENDLY, { "MultiTaskEnabled", "multi_task_enabled", P_BOOL },
	{ "TimeoutActivitySid", "timeout_activity_sid", P_STR }, { "PrioritizeQueueOrder", NULL, P_LOCAL }, END,
};
static const struct rest_param act_p[] = { FRIENDLY, { "Available", "available", P_BOOL }, END };
static const struct rest_param ch_create_p[] = {
	FRIENDLY, { "UniqueName", "unique_name", P_STR },
	{ "ChannelOptimizedRouting", "channel_optimized_routing", P_BOOL }, END,
};
static const struct rest_param ch_update_p[] = {
	FRIENDLY, { "ChannelOptimizedRouting", "channel_optimized_routing", P_BOOL }, END,
};
static const struct rest_param wk_list_p[] = {
	{ "ActivityName", "activity_name", P_STR }, { "ActivitySid", "activity_sid", P_STR },
	{ "Available", "available", P_BOOL }, FRIENDLY,
	{ "TargetWorkersExpression", "target_workers_expression", P_STR },
	{ "TaskQueueName", "task_queue_name", P_STR }, { "TaskQueueSid", "task_queue_sid", P_STR },
	{ "Ordering", NULL, P_UNSUPPORTED }, END,
};
static const struct rest_param wk_create_p[] = {
	FRIENDLY, { "ActivitySid", "activity_sid", P_STR }, { "Attributes", "attributes", P_JSON }, END,
};
static const struct rest_param wk_update_p[] = {
	{ "ActivitySid", "activity_sid", P_STR }, { "Attributes", "attributes", P_JSON }, FRIENDLY,
	{ "RejectPendingReservations", NULL, P_LOCAL }, END,
};
static const struct rest_param wchan_update_p[] = {
	{ "Capacity", "capacity", P_INT }, { "Available", "available", P_BOOL }, END,
};
static const struct rest_param res_worker_list_p[] = { { "ReservationStatus", "reservation_status", P_STR }, END };
static const struct rest_param res_task_list_p[] = {
	{ "ReservationStatus", "reservation_status", P_STR }, { "WorkerSid", "worker_sid", P_STR }, END,
};
static const struct rest_param res_update_p[] = {
	{ "ReservationStatus", "reservation_status", P_STR }, { "WorkerActivitySid", "worker_activity_sid", P_STR },
	{ "Instruction", NULL, P_LOCAL }, END,
};
static const struct rest_param q_list_p[] = {
	FRIENDLY, { "EvaluateWorkerAttributes", "evaluate_worker_attributes", P_JSON },
	{ "WorkerSid", "worker_sid", P_STR }, { "Ordering", NULL, P_UNSUPPORTED }, END,
};
static const struct rest_param q_p[] = {
	FRIENDLY, { "TargetWorkers", "target_workers", P_STR }, { "MaxReservedWorkers", "max_reserved_workers", P_INT },
	{ "TaskOrder", "task_order", P_STR }, { "ReservationActivitySid", "reservation_activity_sid", P_STR },
	{ "AssignmentActivitySid", "assignment_activity_sid", P_STR }, END,
};
static const struct rest_param wf_create_p[] = {
	FRIENDLY, { "Configuration", "configuration", P_JSON },
	{ "AssignmentCallbackUrl", "assignment_callback_url", P_STR },
	{ "FallbackAssignmentCallbackUrl", "fallback_assignment_callback_url", P_STR },
	{ "TaskReservationTimeout", "task_reservation_timeout", P_INT }, END,
};
static const struct rest_param wf_update_p[] = {
	FRIENDLY, { "Configuration", "configuration", P_JSON },
	{ "AssignmentCallbackUrl", "assignment_callback_url", P_STR },
	{ "FallbackAssignmentCallbackUrl", "fallback_assignment_callback_url", P_STR },
	{ "TaskReservationTimeout", "task_reservation_timeout", P_INT }, { "ReEvaluateTasks", NULL, P_FALSE_ONLY }, END,
};
static const struct rest_param task_list_p[] = {
	{ "AssignmentStatus", "assignment_status", P_LIST }, { "WorkflowSid", "workflow_sid", P_STR },
	{ "WorkflowName", "workflow_name", P_STR }, { "TaskQueueSid", "task_queue_sid", P_STR },
	{ "TaskQueueName", "task_queue_name", P_STR }, { "EvaluateTaskAttributes", "evaluate_task_attributes", P_STR },
	{ "Ordering", "ordering", P_STR }, { "Priority", NULL, P_UNSUPPORTED }, { "RoutingTarget", NULL, P_UNSUPPORTED },
	{ "HasAddons", NULL, P_FALSE_ONLY }, END,
};
static const struct rest_param task_create_p[] = {
	{ "Timeout", "timeout", P_INT }, { "Priority", "priority", P_INT }, { "TaskChannel", "task_channel", P_STR },
	{ "WorkflowSid", "workflow_sid", P_STR }, { "Attributes", "attributes", P_JSON },
	{ "VirtualStartTime", NULL, P_UNSUPPORTED }, { "RoutingTarget", NULL, P_UNSUPPORTED },
	{ "IgnoreCapacity", NULL, P_FALSE_ONLY }, { "TaskQueueSid", NULL, P_UNSUPPORTED }, END,
};
static const struct rest_param task_update_p[] = {
	{ "Attributes", "attributes", P_JSON }, { "AssignmentStatus", "assignment_status", P_STR },
	{ "Reason", "reason", P_STR }, { "Priority", "priority", P_INT }, { "TaskChannel", NULL, P_UNSUPPORTED },
	{ "VirtualStartTime", NULL, P_UNSUPPORTED }, END,
};
static const struct rest_param ev_list_p[] = {
	{ "EndDate", "end_date", P_DATE }, { "EventType", "event_type", P_STR }, { "Minutes", "minutes", P_INT },
	{ "ReservationSid", "reservation_sid", P_STR }, { "StartDate", "start_date", P_DATE },
	{ "TaskQueueSid", "task_queue_sid", P_STR }, { "TaskSid", "task_sid", P_STR }, { "WorkerSid", "worker_sid", P_STR },
	{ "WorkflowSid", "workflow_sid", P_STR }, { "TaskChannel", "task_channel", P_STR }, { "Sid", "sid", P_STR }, END,
};

#define WINDOW { "Minutes", "minutes", P_INT }, { "StartDate", "start_date", P_DATE }, { "EndDate", "end_date", P_DATE }
#define CHANNEL { "TaskChannel", "task_channel", P_STR }
#define SPLIT { "SplitByWaitTime", "split_by_wait_time", P_STR }

static const struct rest_param stats_p[] = { WINDOW, CHANNEL, SPLIT, END };
static const struct rest_param rt_p[] = { CHANNEL, END };
static const struct rest_param worker_stats_p[] = { WINDOW, CHANNEL, END };
static const struct rest_param workers_stats_p[] = {
	WINDOW, CHANNEL, { "TaskQueueSid", "task_queue_sid", P_STR }, { "TaskQueueName", "task_queue_name", P_STR },
	FRIENDLY, END,
};
static const struct rest_param queues_stats_p[] = { WINDOW, CHANNEL, SPLIT, FRIENDLY, END };

/* ---- the table ---- */

#define LIST(pat, o, k, p, par) { .pattern = pat, .method = "GET", .status = 200, .fn = h_list, .op = o, .kind = k, .list = true, .params = p, .parent = par }
#define FETCH(pat, o, k) { .pattern = pat, .method = "GET", .status = 200, .fn = h_fetch, .op = o, .kind = k, .params = no_p }
#define CREATE(pat, o, k, p) { .pattern = pat, .method = "POST", .status = 201, .fn = h_create, .op = o, .kind = k, .params = p }
#define UPDATE(pat, o, k, p) { .pattern = pat, .method = "POST", .status = 200, .fn = h_update, .op = o, .kind = k, .params = p }
#define DELETE(pat, o) { .pattern = pat, .method = "DELETE", .status = 204, .fn = h_delete, .op = o, .params = no_p }
#define CUSTOM(pat, meth, st, f, k, p) { .pattern = pat, .method = meth, .status = st, .fn = f, .kind = k, .params = p }
#define CUSTOM_LIST(pat, f, k, p) { .pattern = pat, .method = "GET", .status = 200, .fn = f, .kind = k, .list = true, .params = p }
#define STATS(pat, f, p) CUSTOM(pat, "GET", 200, f, K_NONE, p)

/*
 * Every route. Routes of one path are adjacent, and a path with a literal
 * segment (Workers/Statistics) comes before the one with a parameter there
 * (Workers/{sid}): the first path that matches is the route's path.
 */
const struct rest_route rest_routes[] = {
	CUSTOM_LIST("Workspaces", h_ws_list, K_WORKSPACE, name_p),
	CUSTOM("Workspaces", "POST", 201, h_ws_create, K_WORKSPACE, ws_create_p),
	CUSTOM("Workspaces/*", "GET", 200, h_ws_fetch, K_WORKSPACE, no_p),
	CUSTOM("Workspaces/*", "POST", 200, h_ws_update, K_WORKSPACE, ws_update_p),
	CUSTOM("Workspaces/*", "DELETE", 204, h_ws_delete, K_NONE, no_p),
	STATS("Workspaces/*/Statistics", rest_stats_workspace, stats_p),
	STATS("Workspaces/*/RealTimeStatistics", rest_stats_workspace_rt, rt_p),
	STATS("Workspaces/*/CumulativeStatistics", rest_stats_workspace_cum, stats_p),

	LIST("Workspaces/*/Activities", "activities.list", K_ACTIVITY, act_p, NULL),
	CREATE("Workspaces/*/Activities", "activities.create", K_ACTIVITY, act_p),
	FETCH("Workspaces/*/Activities/*", "activities.fetch", K_ACTIVITY),
	UPDATE("Workspaces/*/Activities/*", "activities.update", K_ACTIVITY, name_p),
	DELETE("Workspaces/*/Activities/*", "activities.delete"),

	LIST("Workspaces/*/TaskChannels", "task_channels.list", K_CHANNEL, no_p, NULL),
	CREATE("Workspaces/*/TaskChannels", "task_channels.create", K_CHANNEL, ch_create_p),
	FETCH("Workspaces/*/TaskChannels/*", "task_channels.fetch", K_CHANNEL),
	UPDATE("Workspaces/*/TaskChannels/*", "task_channels.update", K_CHANNEL, ch_update_p),
	DELETE("Workspaces/*/TaskChannels/*", "task_channels.delete"),

	LIST("Workspaces/*/Workers", "workers.list", K_WORKER, wk_list_p, NULL),
	CREATE("Workspaces/*/Workers", "workers.create", K_WORKER, wk_create_p),
	STATS("Workspaces/*/Workers/Statistics", rest_stats_workers, workers_stats_p),
	STATS("Workspaces/*/Workers/RealTimeStatistics", rest_stats_workers_rt, rt_p),
	STATS("Workspaces/*/Workers/CumulativeStatistics", rest_stats_workers_cum, worker_stats_p),
	FETCH("Workspaces/*/Workers/*", "workers.fetch", K_WORKER),
	CUSTOM("Workspaces/*/Workers/*", "POST", 200, h_worker_update, K_WORKER, wk_update_p),
	DELETE("Workspaces/*/Workers/*", "workers.delete"),
	STATS("Workspaces/*/Workers/*/Statistics", rest_stats_worker, worker_stats_p),
	LIST("Workspaces/*/Workers/*/Reservations", "reservations.list", K_RES_WORKER, res_worker_list_p, "worker_sid"),
	CUSTOM("Workspaces/*/Workers/*/Reservations/*", "GET", 200, h_res_fetch, K_RES_WORKER, no_p),
	CUSTOM("Workspaces/*/Workers/*/Reservations/*", "POST", 200, h_res_update, K_RES_WORKER, res_update_p),
	LIST("Workspaces/*/Workers/*/Channels", "workers.channels.list", K_WORKER_CHANNEL, no_p, "sid"),
	CUSTOM("Workspaces/*/Workers/*/Channels/*", "GET", 200, h_wchan_fetch, K_WORKER_CHANNEL, no_p),
	CUSTOM("Workspaces/*/Workers/*/Channels/*", "POST", 200, h_wchan_update, K_WORKER_CHANNEL, wchan_update_p),

	LIST("Workspaces/*/TaskQueues", "task_queues.list", K_QUEUE, q_list_p, NULL),
	CREATE("Workspaces/*/TaskQueues", "task_queues.create", K_QUEUE, q_p),
	CUSTOM_LIST("Workspaces/*/TaskQueues/Statistics", rest_stats_queues_list, K_NONE, queues_stats_p),
	{ .pattern = "Workspaces/*/TaskQueues/RealTimeStatistics", .method = "POST", .status = 201,
	  .fn = rest_stats_queues_bulk, .json_body = true, .params = no_p },
	FETCH("Workspaces/*/TaskQueues/*", "task_queues.fetch", K_QUEUE),
	UPDATE("Workspaces/*/TaskQueues/*", "task_queues.update", K_QUEUE, q_p),
	DELETE("Workspaces/*/TaskQueues/*", "task_queues.delete"),
	STATS("Workspaces/*/TaskQueues/*/Statistics", rest_stats_queue, stats_p),
	STATS("Workspaces/*/TaskQueues/*/RealTimeStatistics", rest_stats_queue_rt, rt_p),
	STATS("Workspaces/*/TaskQueues/*/CumulativeStatistics", rest_stats_queue_cum, stats_p),

	LIST("Workspaces/*/Workflows", "workflows.list", K_WORKFLOW, name_p, NULL),
	CREATE("Workspaces/*/Workflows", "workflows.create", K_WORKFLOW, wf_create_p),
	FETCH("Workspaces/*/Workflows/*", "workflows.fetch", K_WORKFLOW),
	UPDATE("Workspaces/*/Workflows/*", "workflows.update", K_WORKFLOW, wf_update_p),
	DELETE("Workspaces/*/Workflows/*", "workflows.delete"),
	STATS("Workspaces/*/Workflows/*/Statistics", rest_stats_workflow, stats_p),
	STATS("Workspaces/*/Workflows/*/RealTimeStatistics", rest_stats_workflow_rt, rt_p),
	STATS("Workspaces/*/Workflows/*/CumulativeStatistics", rest_stats_workflow_cum, stats_p),

	LIST("Workspaces/*/Tasks", "tasks.list", K_TASK, task_list_p, NULL),
	CREATE("Workspaces/*/Tasks", "tasks.create", K_TASK, task_create_p),
	FETCH("Workspaces/*/Tasks/*", "tasks.fetch", K_TASK),
	UPDATE("Workspaces/*/Tasks/*", "tasks.update", K_TASK, task_update_p),
	DELETE("Workspaces/*/Tasks/*", "tasks.delete"),
	LIST("Workspaces/*/Tasks/*/Reservations", "reservations.list", K_RES_TASK, res_task_list_p, "task_sid"),
	CUSTOM("Workspaces/*/Tasks/*/Reservations/*", "GET", 200, h_res_fetch, K_RES_TASK, no_p),
	CUSTOM("Workspaces/*/Tasks/*/Reservations/*", "POST", 200, h_res_update, K_RES_TASK, res_update_p),

	CUSTOM_LIST("Workspaces/*/Events", h_events_list, K_EVENT, ev_list_p),
	CUSTOM("Workspaces/*/Events/*", "GET", 200, h_event_fetch, K_EVENT, no_p),
	{ .pattern = NULL },
};
