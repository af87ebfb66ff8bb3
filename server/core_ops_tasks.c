/*
 * core_ops_tasks.c - op handlers for workflows, tasks and reservations, and the
 * route preview behind `swb-node --dry-run`. Every handler validates all of its
 * input before it changes anything; a worker token may act only on its own
 * reservations and the tasks they hold.
 */
#include "core_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TASK_TIMEOUT_S 1209600 /* TaskRouter: two weeks */

/* ---------------- workflows ---------------- */

static enum swb_code get_workflow(swb_core *c, json_t *args, struct workflow **out, struct swb_err *err)
{
	const char *sid;
	enum swb_code rc = arg_sid(args, err, &sid);
	if (rc != SWB_OK)
		return rc;
	*out = find_workflow(c, sid);
	return *out ? SWB_OK : swb_err_set(err, SWB_ENOTFOUND, "no workflow '%s'", sid);
}

static enum swb_code check_url(const char *key, const char *url, struct swb_err *err)
{
	if (url && *url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return swb_err_set(err, SWB_EINVAL, "'%s' must be an http:// or https:// URL", key);
	return SWB_OK;
}

struct wf_args {
	const char *name, *acb, *fallback;
	long long timeout;
	bool has_timeout;
	struct wfconfig *cfg;
};

static enum swb_code parse_wf_args(swb_core *c, json_t *args, bool create, struct wf_args *wa, struct swb_err *err)
{
	enum swb_code rc = arg_str(args, "friendly_name", create, SWB_NAME_MAX, &wa->name, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "assignment_callback_url", false, SWB_URL_MAX, &wa->acb, err);
	if (rc == SWB_OK)
		rc = check_url("assignment_callback_url", wa->acb, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "fallback_assignment_callback_url", false, SWB_URL_MAX, &wa->fallback, err);
	if (rc == SWB_OK)
		rc = check_url("fallback_assignment_callback_url", wa->fallback, err);
	if (rc == SWB_OK)
		rc = arg_int(args, "task_reservation_timeout", 1, SWB_MAX_RES_TIMEOUT_S, &wa->has_timeout, &wa->timeout, err);
	json_t *config = json_object_get(args, "configuration");
	if (rc == SWB_OK && create && !config)
		rc = swb_err_set(err, SWB_EINVAL, "missing required argument 'configuration'");
	if (rc == SWB_OK && config)
		rc = wfconfig_compile(c, config, &wa->cfg, err);
	return rc;
}

static void set_opt_str(char **field, const char *v)
{
	if (!v)
		return;
	free(*field);
	*field = *v ? core_strdup(v) : NULL;
}

static json_t *evd_workflow(const struct workflow *wf)
{
	return json_pack("{s:s, s:s}", "workflow_sid", wf->sid, "workflow_name", wf->name);
}

enum swb_code op_workflows_create(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				  struct swb_err *err)
{
	static const char *const keys[] = { "friendly_name", "configuration", "task_reservation_timeout",
					    "assignment_callback_url", "fallback_assignment_callback_url", NULL };
	struct wf_args wa = { 0 };
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "friendly_name", true, SWB_NAME_MAX, &wa.name, err);
	if (rc == SWB_OK && swb_map_get(c->workflow_names, wa.name))
		rc = swb_err_set(err, SWB_ECONFLICT, "a workflow named '%s' already exists", wa.name);
	if (rc == SWB_OK)
		rc = parse_wf_args(c, args, true, &wa, err);
	if (rc != SWB_OK)
		return rc;
	struct workflow *wf = core_alloc(sizeof *wf);
	swb_sid_make(&c->rng, "WW", wf->sid);
	wf->name = core_strdup(wa.name);
	wf->cfg = wa.cfg;
	wf->res_timeout_s = wa.has_timeout ? (int)wa.timeout : SWB_DEFAULT_RES_TIMEOUT_S;
	set_opt_str(&wf->acb_url, wa.acb);
	set_opt_str(&wf->fallback_url, wa.fallback);
	wf->created = wf->updated = c->now;
	vec_push(&c->workflows, wf);
	swb_map_put(c->by_sid, wf->sid, wf);
	swb_map_put(c->workflow_names, wf->name, wf);
	core_emit(c, "workflow.created", "workflow", wf->sid, "Workflow created", evd_workflow(wf));
	if (res)
		*res = rep_workflow(c, wf);
	return SWB_OK;
}

enum swb_code op_workflows_fetch(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				 struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct workflow *wf;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_workflow(c, args, &wf, err);
	if (rc == SWB_OK && res)
		*res = rep_workflow(c, wf);
	return rc;
}

enum swb_code op_workflows_list(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				struct swb_err *err)
{
	static const char *const keys[] = { "friendly_name", "page", "page_size", NULL };
	const char *name;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "friendly_name", false, SWB_NAME_MAX, &name, err);
	if (rc != SWB_OK)
		return rc;
	json_t *items = json_array();
	for (size_t i = 0; i < c->workflows.n; i++) {
		struct workflow *wf = c->workflows.v[i];
		if (!name || strcmp(name, wf->name) == 0)
			json_array_append_new(items, rep_workflow(c, wf));
	}
	return page_list(args, items, "workflows", res, err);
}

enum swb_code op_workflows_update(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				  struct swb_err *err)
{
	static const char *const keys[] = { "sid", "friendly_name", "configuration", "task_reservation_timeout",
					    "assignment_callback_url", "fallback_assignment_callback_url", NULL };
	struct workflow *wf;
	struct wf_args wa = { 0 };
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_workflow(c, args, &wf, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "friendly_name", false, SWB_NAME_MAX, &wa.name, err);
	if (rc == SWB_OK && wa.name && swb_map_get(c->workflow_names, wa.name) &&
	    swb_map_get(c->workflow_names, wa.name) != wf)
		rc = swb_err_set(err, SWB_ECONFLICT, "a workflow named '%s' already exists", wa.name);
	if (rc == SWB_OK)
		rc = parse_wf_args(c, args, false, &wa, err);
	if (rc != SWB_OK)
		return rc;
	if (wa.name) {
		swb_map_del(c->workflow_names, wf->name);
		free(wf->name);
		wf->name = core_strdup(wa.name);
		swb_map_put(c->workflow_names, wf->name, wf);
	}
	if (wa.cfg) {
		/* Tasks already routed keep the configuration they entered with. */
		wfconfig_release(wf->cfg);
		wf->cfg = wa.cfg;
	}
	if (wa.has_timeout)
		wf->res_timeout_s = (int)wa.timeout;
	set_opt_str(&wf->acb_url, wa.acb);
	set_opt_str(&wf->fallback_url, wa.fallback);
	wf->updated = c->now;
	core_emit(c, "workflow.updated", "workflow", wf->sid, "Workflow updated", evd_workflow(wf));
	if (res)
		*res = rep_workflow(c, wf);
	return SWB_OK;
}

enum swb_code op_workflows_delete(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				  struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct workflow *wf;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_workflow(c, args, &wf, err);
	FOR_EACH_TASK(c, t)
		if (rc == SWB_OK && t->wf == wf)
			rc = swb_err_set(err, SWB_ECONFLICT, "workflow '%s' still has tasks", wf->name);
	if (rc != SWB_OK)
		return rc;
	core_emit(c, "workflow.deleted", "workflow", wf->sid, "Workflow deleted", evd_workflow(wf));
	swb_map_del(c->by_sid, wf->sid);
	swb_map_del(c->workflow_names, wf->name);
	vec_remove(&c->workflows, wf);
	wfconfig_release(wf->cfg);
	free(wf->name);
	free(wf->acb_url);
	free(wf->fallback_url);
	free(wf);
	if (res)
		*res = json_object();
	return SWB_OK;
}

/* ---------------- tasks ---------------- */

struct task_args {
	struct workflow *wf;
	struct channel *ch;
	json_t *attrs;
	long long priority, timeout;
	bool has_priority, has_timeout;
};

static enum swb_code parse_task_args(swb_core *c, json_t *args, struct task_args *ta, struct swb_err *err)
{
	const char *wref, *cref;
	enum swb_code rc = arg_str(args, "workflow_sid", false, SWB_NAME_MAX, &wref, err);
	if (rc == SWB_OK && wref) {
		ta->wf = find_workflow(c, wref);
		if (!ta->wf)
			rc = swb_err_set(err, SWB_ENOTFOUND, "no workflow '%s'", wref);
	} else if (rc == SWB_OK) {
		if (c->workflows.n != 1)
			rc = swb_err_set(err, SWB_EINVAL, "'workflow_sid' is required when the workspace has %zu workflows",
					 c->workflows.n);
		else
			ta->wf = c->workflows.v[0];
	}
	if (rc == SWB_OK)
		rc = arg_str(args, "task_channel", false, SWB_NAME_MAX, &cref, err);
	if (rc == SWB_OK) {
		ta->ch = find_channel(c, cref ? cref : "default");
		if (!ta->ch)
			rc = swb_err_set(err, SWB_ENOTFOUND, "no task channel '%s'", cref ? cref : "default");
	}
	if (rc == SWB_OK)
		rc = arg_int(args, "priority", 0, 2147483647LL, &ta->has_priority, &ta->priority, err);
	if (rc == SWB_OK)
		rc = arg_int(args, "timeout", 1, MAX_TASK_TIMEOUT_S, &ta->has_timeout, &ta->timeout, err);
	if (rc == SWB_OK)
		rc = arg_attrs(args, "attributes", &ta->attrs, err);
	return rc;
}

enum swb_code op_tasks_create(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
			      struct swb_err *err)
{
	static const char *const keys[] = { "workflow_sid", "attributes", "priority", "timeout", "task_channel", NULL };
	struct task_args ta = { 0 };
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = parse_task_args(c, args, &ta, err);
	if (rc != SWB_OK) {
		json_decref(ta.attrs);
		return rc;
	}
	struct task *t = core_alloc(sizeof *t);
	swb_sid_make(&c->rng, "WT", t->sid);
	t->attrs = ta.attrs ? ta.attrs : json_object();
	t->priority = ta.has_priority ? (int)ta.priority : 0;
	t->timeout_s = ta.has_timeout ? (int)ta.timeout : SWB_DEFAULT_TASK_TIMEOUT_S;
	t->ch = ta.ch;
	t->wf = ta.wf;
	t->cfg = ta.wf->cfg;
	t->cfg->refs++;
	t->st = T_PENDING;
	t->target_idx = -1;
	t->created = t->updated = c->now;
	t->ttl_deadline = c->now + (int64_t)t->timeout_s * 1000;
	ta.wf->live_tasks++;
	task_list_add(c, t);
	swb_map_put(c->by_sid, t->sid, t);
	timer_add(c, t->ttl_deadline, TM_TASK_TTL, t->sid, 0);
	core_emit(c, "task.created", "task", t->sid, "Task created", evd_task(c, t));
	/* Hold a reference: routing may finish (cancel) the task, but it stays in memory until purge. */
	task_enter_workflow(c, t);
	if (res)
		*res = rep_task(c, t);
	return SWB_OK;
}

static bool worker_holds_task(const struct swb_actor *a, const struct task *t)
{
	if (a->kind != SWB_ACTOR_WORKER)
		return true;
	for (const struct reservation *r = t->r_head; r; r = r->t_next)
		if (a->worker_sid && strcmp(r->w->sid, a->worker_sid) == 0)
			return true;
	return false;
}

static enum swb_code get_task(swb_core *c, const struct swb_actor *a, json_t *args, struct task **out,
			      struct swb_err *err)
{
	const char *sid;
	enum swb_code rc = arg_sid(args, err, &sid);
	if (rc != SWB_OK)
		return rc;
	*out = find_task(c, sid);
	if (!*out)
		return swb_err_set(err, SWB_ENOTFOUND, "no task '%s'", sid);
	if (!worker_holds_task(a, *out))
		return swb_err_set(err, SWB_EPERM, "a worker token may only see tasks reserved for it");
	return SWB_OK;
}

enum swb_code op_tasks_fetch(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
			     struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct task *t;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_task(c, a, args, &t, err);
	if (rc == SWB_OK && res)
		*res = rep_task(c, t);
	return rc;
}

/* assignment_status filter: an array or a comma-separated string of status names. */
static enum swb_code parse_status_filter(json_t *v, bool want[T_NSTATUS], bool *any, struct swb_err *err)
{
	*any = false;
	if (!v || json_is_null(v))
		return SWB_OK;
	char buf[256] = "";
	if (json_is_string(v)) {
		snprintf(buf, sizeof buf, "%s", json_string_value(v));
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e))
				return swb_err_set(err, SWB_EINVAL, "'assignment_status' must hold strings");
			size_t len = strlen(buf);
			snprintf(buf + len, sizeof buf - len, "%s%s", len ? "," : "", json_string_value(e));
		}
	} else {
		return swb_err_set(err, SWB_EINVAL, "'assignment_status' must be a string or an array");
	}
	char *save = NULL;
	for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		int k = 0;
		while (k < T_NSTATUS && strcmp(tstatus_name((enum tstatus)k), tok) != 0)
			k++;
		if (k == T_NSTATUS)
			return swb_err_set(err, SWB_EINVAL, "unknown assignment_status '%s'", tok);
		want[k] = true;
		*any = true;
	}
	return SWB_OK;
}

static int cmp_task_created_desc(const void *x, const void *y)
{
	const struct task *a = *(struct task *const *)x, *b = *(struct task *const *)y;
	return a->created < b->created ? 1 : a->created > b->created ? -1 : strcmp(a->sid, b->sid);
}

static int cmp_task_priority_desc(const void *x, const void *y)
{
	const struct task *a = *(struct task *const *)x, *b = *(struct task *const *)y;
	if (a->priority != b->priority)
		return a->priority < b->priority ? 1 : -1;
	return a->created < b->created ? -1 : a->created > b->created ? 1 : strcmp(a->sid, b->sid);
}

enum swb_code op_tasks_list(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
			    struct swb_err *err)
{
	static const char *const keys[] = { "assignment_status", "workflow_sid", "workflow_name", "task_queue_sid",
					    "task_queue_name", "evaluate_task_attributes", "ordering", "page",
					    "page_size", NULL };
	const char *wref, *wname, *qsid, *qname, *expr_src, *ordering;
	bool want[T_NSTATUS] = { false }, any_status;
	swb_expr *expr = NULL;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = parse_status_filter(json_object_get(args, "assignment_status"), want, &any_status, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "workflow_sid", false, SWB_NAME_MAX, &wref, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "workflow_name", false, SWB_NAME_MAX, &wname, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "task_queue_sid", false, SWB_NAME_MAX, &qsid, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "task_queue_name", false, SWB_NAME_MAX, &qname, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "ordering", false, 64, &ordering, err);
	if (rc == SWB_OK && ordering && strcmp(ordering, "DateCreated:desc") != 0 &&
	    strcmp(ordering, "DateCreated:asc") != 0 && strcmp(ordering, "Priority:desc,DateCreated:asc") != 0 &&
	    strcmp(ordering, "Priority:desc") != 0)
		rc = swb_err_set(err, SWB_EINVAL,
				 "'ordering' must be DateCreated:asc, DateCreated:desc or Priority:desc,DateCreated:asc");
	if (rc == SWB_OK)
		rc = arg_str(args, "evaluate_task_attributes", false, SWB_EXPR_MAX_LEN, &expr_src, err);
	if (rc == SWB_OK && expr_src && (rc = swb_expr_compile(expr_src, &expr, err)) != SWB_OK)
		swb_err_prefix(err, "evaluate_task_attributes");
	if (rc != SWB_OK)
		return rc;
	struct vec sel = { 0 };
	FOR_EACH_TASK(c, t) {
		swb_expr_ctx ctx = { .bare = t->attrs, .task = t->attrs };
		if ((any_status && !want[t->st]) || (wref && strcmp(wref, t->wf->sid) != 0 && strcmp(wref, t->wf->name) != 0) ||
		    (wname && strcmp(wname, t->wf->name) != 0) || (qsid && (!t->q || strcmp(qsid, t->q->sid) != 0)) ||
		    (qname && (!t->q || strcmp(qname, t->q->name) != 0)) || (expr && !swb_expr_eval(expr, &ctx)) ||
		    !worker_holds_task(a, t))
			continue;
		vec_push(&sel, t);
	}
	swb_expr_free(expr);
	if (sel.n == 0)
		; /* qsort's base must not be NULL, even for 0 items */
	else if (ordering && strncmp(ordering, "Priority", 8) == 0)
		qsort(sel.v, sel.n, sizeof *sel.v, cmp_task_priority_desc);
	else if (ordering && strcmp(ordering, "DateCreated:desc") == 0)
		qsort(sel.v, sel.n, sizeof *sel.v, cmp_task_created_desc);
	json_t *items = json_array();
	for (size_t i = 0; i < sel.n; i++)
		json_array_append_new(items, rep_task(c, sel.v[i]));
	free(sel.v);
	return page_list(args, items, "tasks", res, err);
}

static struct reservation *worker_accepted(const struct task *t, const char *worker_sid)
{
	for (struct reservation *r = t->r_head; r; r = r->t_next)
		if ((r->st == R_ACCEPTED || r->st == R_WRAPPING) && (!worker_sid || strcmp(r->w->sid, worker_sid) == 0))
			return r;
	return NULL;
}

static enum swb_code check_transition(const struct swb_actor *a, const struct task *t, const char *to,
				      struct swb_err *err)
{
	if (strcmp(to, "canceled") == 0) {
		if (a->kind == SWB_ACTOR_WORKER)
			return swb_err_set(err, SWB_EPERM, "a worker token may not cancel tasks");
		if (t->st != T_PENDING && t->st != T_RESERVED)
			return swb_err_set(err, SWB_ESTATE, "a task can be canceled only while pending or reserved; it is %s",
					   tstatus_name(t->st));
		return SWB_OK;
	}
	if (a->kind == SWB_ACTOR_WORKER && !worker_accepted(t, a->worker_sid))
		return swb_err_set(err, SWB_EPERM, "a worker may only wrap up or complete tasks it accepted");
	if (strcmp(to, "wrapping") == 0 && t->st != T_ASSIGNED)
		return swb_err_set(err, SWB_ESTATE, "only an assigned task can move to wrapping; it is %s",
				   tstatus_name(t->st));
	if (strcmp(to, "completed") == 0 && t->st != T_ASSIGNED && t->st != T_WRAPPING)
		return swb_err_set(err, SWB_ESTATE, "only an assigned or wrapping task can be completed; it is %s",
				   tstatus_name(t->st));
	if (strcmp(to, "wrapping") != 0 && strcmp(to, "completed") != 0)
		return swb_err_set(err, SWB_EINVAL, "'assignment_status' must be canceled, wrapping or completed");
	return SWB_OK;
}

/* New attributes for a waiting task send it through its workflow again, as TaskRouter does. */
static void reroute(swb_core *c, struct task *t)
{
	struct worker *freed[SWB_MAX_RESERVED + 1];
	size_t n = 0;
	for (struct reservation *r = t->r_head; r; r = r->t_next) {
		if (r->st != R_PENDING)
			continue;
		reservation_close(c, r, R_CANCELED, "reservation.canceled", "Reservation canceled: task attributes changed");
		if (n < SWB_MAX_RESERVED + 1)
			freed[n++] = r->w;
	}
	task_leave_queue(c, t);
	wfconfig_release(t->cfg);
	t->cfg = t->wf->cfg;
	t->cfg->refs++;
	task_enter_workflow(c, t);
	for (size_t i = 0; i < n; i++)
		route_worker(c, freed[i]);
}

static void apply_priority(swb_core *c, struct task *t, int priority)
{
	t->priority = priority;
	if (t->waiting) {
		task_seek_update(c, t);
		route_task(c, t);
	}
}

enum swb_code op_tasks_update(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
			      struct swb_err *err)
{
	static const char *const keys[] = { "sid", "attributes", "priority", "assignment_status", "reason", NULL };
	struct task *t;
	const char *status, *reason;
	json_t *attrs = NULL;
	bool has_prio;
	long long prio;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_task(c, a, args, &t, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "assignment_status", false, 32, &status, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "reason", false, 1024, &reason, err);
	if (rc == SWB_OK && status)
		rc = check_transition(a, t, status, err);
	if (rc == SWB_OK)
		rc = arg_int(args, "priority", 0, 2147483647LL, &has_prio, &prio, err);
	if (rc == SWB_OK && (has_prio || json_object_get(args, "attributes")) && a->kind == SWB_ACTOR_WORKER)
		rc = swb_err_set(err, SWB_EPERM, "a worker token may not change a task's attributes or priority");
	if (rc == SWB_OK && (has_prio || json_object_get(args, "attributes")) &&
	    (t->st == T_COMPLETED || t->st == T_CANCELED))
		rc = swb_err_set(err, SWB_ESTATE, "task %s is %s and can no longer change", t->sid, tstatus_name(t->st));
	if (rc == SWB_OK)
		rc = arg_attrs(args, "attributes", &attrs, err);
	if (rc != SWB_OK)
		return rc;
	if (attrs) {
		json_decref(t->attrs);
		t->attrs = attrs;
		t->updated = c->now;
		core_emit(c, "task.updated", "task", t->sid, "Task attributes updated", evd_task(c, t));
		if (t->waiting)
			reroute(c, t);
	}
	if (has_prio)
		apply_priority(c, t, (int)prio);
	if (status && strcmp(status, "canceled") == 0)
		task_cancel(c, t, reason ? reason : "canceled", "task.canceled");
	else if (status && strcmp(status, "wrapping") == 0)
		task_wrapup(c, t, reason);
	else if (status && strcmp(status, "completed") == 0)
		task_complete(c, t, reason);
	if (res)
		*res = rep_task(c, t);
	return SWB_OK;
}

enum swb_code op_tasks_delete(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
			      struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct task *t;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_task(c, a, args, &t, err);
	if (rc != SWB_OK)
		return rc;
	if (t->st == T_PENDING || t->st == T_RESERVED)
		task_cancel(c, t, "deleted", "task.canceled");
	struct reservation *held = worker_accepted(t, NULL);
	if (held && (t->st == T_ASSIGNED || t->st == T_WRAPPING)) {
		held->w->ch[t->ch->idx].used--;
		worker_refresh_idle(c, held->w);
		t->wf->live_tasks--;
	}
	struct worker *w = held ? held->w : NULL;
	core_emit(c, "task.deleted", "task", t->sid, "Task deleted", evd_task(c, t));
	task_finish_cleanup(c, t);
	if (w)
		route_worker(c, w);
	if (res)
		*res = json_object();
	return SWB_OK;
}

/* ---------------- reservations ---------------- */

static enum swb_code get_reservation(swb_core *c, const struct swb_actor *a, json_t *args,
				     struct reservation **out, struct swb_err *err)
{
	const char *sid;
	enum swb_code rc = arg_sid(args, err, &sid);
	if (rc != SWB_OK)
		return rc;
	*out = find_reservation(c, sid);
	if (!*out)
		return swb_err_set(err, SWB_ENOTFOUND, "no reservation '%s'", sid);
	if (a->kind == SWB_ACTOR_WORKER && (!a->worker_sid || strcmp(a->worker_sid, (*out)->w->sid) != 0))
		return swb_err_set(err, SWB_EPERM, "reservation %s belongs to another worker", sid);
	return SWB_OK;
}

enum swb_code op_res_fetch(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
			   struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct reservation *r;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_reservation(c, a, args, &r, err);
	if (rc == SWB_OK && res)
		*res = rep_reservation(c, r);
	return rc;
}

static int rstatus_parse(const char *s)
{
	for (int k = R_PENDING; k <= R_COMPLETED; k++)
		if (strcmp(rstatus_name((enum rstatus)k), s) == 0)
			return k;
	return -1;
}

enum swb_code op_res_list(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
			  struct swb_err *err)
{
	static const char *const keys[] = { "task_sid", "worker_sid", "reservation_status", "active", "page",
					    "page_size", NULL };
	const char *tsid = NULL, *wsid = NULL, *status = NULL; /* read below even when a check failed */
	bool has_active, active;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "task_sid", false, SWB_NAME_MAX, &tsid, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "worker_sid", false, SWB_NAME_MAX, &wsid, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "reservation_status", false, 32, &status, err);
	if (rc == SWB_OK)
		rc = arg_bool(args, "active", &has_active, &active, err);
	if (rc == SWB_OK && status && rstatus_parse(status) < 0)
		rc = swb_err_set(err, SWB_EINVAL, "unknown reservation_status '%s'", status);
	if (rc == SWB_OK && a->kind == SWB_ACTOR_WORKER && !wsid)
		wsid = a->worker_sid;
	if (rc == SWB_OK && !tsid && !wsid)
		rc = swb_err_set(err, SWB_EINVAL, "give 'task_sid' or 'worker_sid'");
	struct task *t = tsid ? find_task(c, tsid) : NULL;
	struct worker *w = wsid ? find_worker(c, wsid) : NULL;
	/* compared by the worker found, so a worker may name itself by SID or by name */
	if (rc == SWB_OK && a->kind == SWB_ACTOR_WORKER && (!w || strcmp(w->sid, a->worker_sid) != 0))
		rc = swb_err_set(err, SWB_EPERM, "a worker token may only list its own reservations");
	if (rc == SWB_OK && tsid && !t)
		rc = swb_err_set(err, SWB_ENOTFOUND, "no task '%s'", tsid);
	if (rc == SWB_OK && wsid && !w)
		rc = swb_err_set(err, SWB_ENOTFOUND, "no worker '%s'", wsid);
	if (rc != SWB_OK)
		return rc;
	int want = status ? rstatus_parse(status) : -1;
	json_t *items = json_array();
	struct reservation *r = t ? t->r_head : w->r_head;
	for (; r; r = t ? r->t_next : r->w_next) {
		bool live = r->st == R_PENDING || r->st == R_ACCEPTED || r->st == R_WRAPPING;
		if ((w && r->w != w) || (want >= 0 && (int)r->st != want) || (has_active && active != live))
			continue;
		json_array_append_new(items, rep_reservation(c, r));
	}
	return page_list(args, items, "reservations", res, err);
}

static enum swb_code check_res_transition(const struct reservation *r, const char *to, struct swb_err *err)
{
	int st = rstatus_parse(to);
	if (st == R_ACCEPTED || st == R_REJECTED) {
		if (r->st == R_RESCINDED)
			return swb_err_set(err, SWB_ESTATE, "reservation %s was rescinded: another worker accepted the task",
					   r->sid);
		if (r->st != R_PENDING)
			return swb_err_set(err, SWB_ESTATE, "reservation %s is %s, not pending", r->sid, rstatus_name(r->st));
		return SWB_OK;
	}
	if (st == R_WRAPPING) {
		if (r->st != R_ACCEPTED)
			return swb_err_set(err, SWB_ESTATE, "reservation %s is %s; only an accepted one can wrap up", r->sid,
					   rstatus_name(r->st));
		return SWB_OK;
	}
	if (st == R_COMPLETED) {
		if (r->st != R_ACCEPTED && r->st != R_WRAPPING)
			return swb_err_set(err, SWB_ESTATE, "reservation %s is %s; only an accepted or wrapping one can complete",
					   r->sid, rstatus_name(r->st));
		return SWB_OK;
	}
	return swb_err_set(err, SWB_EINVAL, "'reservation_status' must be accepted, rejected, wrapping or completed");
}

enum swb_code op_res_update(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
			    struct swb_err *err)
{
	static const char *const keys[] = { "sid", "reservation_status", "worker_activity_sid", NULL };
	struct reservation *r;
	const char *status = NULL, *aref = NULL; /* read below even when a check failed */
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_reservation(c, a, args, &r, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "reservation_status", true, 32, &status, err);
	if (rc == SWB_OK)
		rc = check_res_transition(r, status, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "worker_activity_sid", false, SWB_NAME_MAX, &aref, err);
	struct activity *act = aref ? find_activity(c, aref) : NULL;
	if (rc == SWB_OK && aref && !act)
		rc = swb_err_set(err, SWB_ENOTFOUND, "no activity '%s'", aref);
	if (rc != SWB_OK)
		return rc;
	int st = rstatus_parse(status);
	if (st == R_ACCEPTED) {
		reservation_accept(c, r);
		if (act) {
			worker_set_activity(c, r->w, act, "reservation accepted");
			route_worker(c, r->w);
		}
	} else if (st == R_REJECTED) {
		reservation_reject(c, r, act);
	} else if (st == R_WRAPPING) {
		task_wrapup(c, r->t, NULL);
	} else {
		task_complete(c, r->t, NULL);
	}
	if (res)
		*res = rep_reservation(c, r);
	return SWB_OK;
}

/* ---------------- route preview ---------------- */

enum swb_code op_route_preview(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
			       struct swb_err *err)
{
	static const char *const keys[] = { "workflow_sid", "attributes", "priority", "timeout", "task_channel", NULL };
	struct task_args ta = { 0 };
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = parse_task_args(c, args, &ta, err);
	if (rc == SWB_OK) {
		json_t *attrs = ta.attrs ? ta.attrs : json_object();
		rc = route_preview(c, ta.wf, ta.ch, attrs, ta.has_priority ? (int)ta.priority : 0, res, err);
		ta.attrs = attrs;
	}
	json_decref(ta.attrs);
	return rc;
}
