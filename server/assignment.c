/*
 * assignment.c - TaskRouter's assignment callback, its first way to an agent
 * UI. On every reservation.created whose task's workflow has an
 * assignment_callback_url, the reservation is POSTed there with TaskRouter's
 * parameters; the JSON answer is an instruction carried out here:
 *   accept, reject (activity_sid), dequeue and conference (connect the queued
 *   caller to the worker's contact_uri), call (a leg to the worker running a
 *   TwiML url), redirect (send a live call to a TwiML url), or an empty answer
 *   (200 with no body or {}): the worker's own UI answers the reservation.
 * A failed request (no answer in ASSIGNMENT_TIMEOUT_MS, no connection, a
 * non-2xx status) is sent once more to the workflow's
 * fallback_assignment_callback_url; when that fails too nothing happens and
 * the reservation runs into its own timeout, as in TaskRouter. Requests are
 * asynchronous (calls_request), so routing never waits for a backend.
 *
 * The same instructions are the op calls.instruct, for consoles and tests
 * (TaskRouter's Reservation update with Instruction=...). Every instruction is
 * validated completely before it changes anything.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls_internal.h"
#include "log.h"
#include "timefmt.h"

#define ASSIGNMENT_TIMEOUT_MS 5000 /* how long a backend has to answer before the fallback is tried */
#define MAX_CALL_TIMEOUT_S 3600     /* an instruction's ring timeout */

/* ---- the callback ---- */

struct acb {
	char ws_sid[SWB_SID_SIZE], reservation_sid[SWB_SID_SIZE];
	char *url, *fallback; /* fallback: NULL once used, or when the workflow has none */
	json_t *params;
};

static void acb_free(void *p)
{
	struct acb *a = p;
	free(a->url);
	free(a->fallback);
	json_decref(a->params);
	free(a);
}

static char *dup_or_null(const char *s)
{
	char *d = s && *s ? strdup(s) : NULL;
	if (s && *s && !d)
		abort();
	return d;
}

static enum swb_code instruct(struct node *n, struct wspace *w, const struct swb_actor *a, json_t *args, bool strict,
			      json_t **result, struct swb_err *err);
static void acb_done(struct node *n, void *arg, int status, const char *body, size_t len);

static void acb_send(struct node *n, struct acb *a)
{
	swb_debug("assignment callback for %s: POST %s", a->reservation_sid, a->url);
	calls_request(n, "POST", a->url, a->params, ASSIGNMENT_TIMEOUT_MS, acb_done, a, acb_free);
}

void assignment_on_reservation(struct wspace *w, const struct swb_evrec *r)
{
	struct node *n = w->n;
	json_t *wf = NULL, *args = json_pack("{s:s}", "sid", r->workflow_sid);
	enum swb_code rc = node_exec(w, swb_wall_ms(), NULL, "workflows.fetch", args, &wf, NULL);
	json_decref(args);
	const char *url = rc == SWB_OK ? json_string_value(json_object_get(wf, "assignment_callback_url")) : NULL;
	if (!url || !*url) {
		json_decref(wf);
		return;
	}
	json_error_t je;
	json_t *ev = json_loads(r->json, 0, &je);
	json_t *d = json_object_get(ev, "event_data");
	struct acb *a = calloc(1, sizeof *a);
	if (!a)
		abort();
	snprintf(a->ws_sid, sizeof a->ws_sid, "%s", w->sid);
	snprintf(a->reservation_sid, sizeof a->reservation_sid, "%s", r->reservation_sid);
	a->url = dup_or_null(url);
	a->fallback = dup_or_null(json_string_value(json_object_get(wf, "fallback_assignment_callback_url")));
	a->params = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "AccountSid", n->account_sid, "WorkspaceSid",
			      w->sid, "WorkflowSid", r->workflow_sid, "TaskQueueSid", r->queue_sid, "WorkerSid",
			      r->worker_sid, "TaskSid", r->task_sid, "ReservationSid", r->reservation_sid, "Timestamp",
			      (json_int_t)(r->ts_ms / 1000));
	if (!a->params)
		abort();
	static const char *const fields[][3] = { { "TaskAge", "task_age", "0" },
						 { "TaskPriority", "task_priority", "0" },
						 { "TaskAttributes", "task_attributes", "{}" },
						 { "WorkerAttributes", "worker_attributes", "{}" } };
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		json_t *v = json_object_get(d, fields[i][1]);
		json_object_set_new(a->params, fields[i][0], v ? json_incref(v) : json_string(fields[i][2]));
	}
	json_decref(ev);
	json_decref(wf);
	acb_send(n, a);
}

static void handle_answer(struct node *n, struct wspace *w, const struct acb *a, const char *body, size_t len)
{
	while (len && isspace((unsigned char)*body))
		body++, len--;
	if (len == 0) {
		swb_info("assignment callback for %s: empty answer; the worker's UI answers the reservation",
			 a->reservation_sid);
		return;
	}
	json_error_t je;
	json_t *j = json_loadb(body, len, 0, &je);
	if (!json_is_object(j)) {
		swb_warn("assignment callback for %s: %s did not answer a JSON object (%s); nothing done",
			 a->reservation_sid, a->url, j ? "not an object" : je.text);
		json_decref(j);
		return;
	}
	if (!json_object_get(j, "instruction")) {
		if (json_object_size(j) == 0)
			swb_info("assignment callback for %s: {}; the worker's UI answers the reservation", a->reservation_sid);
		else
			swb_warn("assignment callback for %s: the answer has no 'instruction' (TaskRouter warning 40005); "
				 "nothing done", a->reservation_sid);
		json_decref(j);
		return;
	}
	json_object_set_new(j, "sid", json_string(a->reservation_sid));
	struct swb_err err = { 0 };
	json_t *res = NULL;
	const char *what = json_is_string(json_object_get(j, "instruction")) ?
				   json_string_value(json_object_get(j, "instruction")) : "?";
	if (instruct(n, w, NULL, j, false, &res, &err) != SWB_OK)
		swb_warn("assignment callback for %s: instruction '%s' not carried out: %s", a->reservation_sid, what,
			 err.msg);
	else
		swb_info("assignment callback for %s: %s", a->reservation_sid, what);
	json_decref(res);
	json_decref(j);
}

static void acb_done(struct node *n, void *arg, int status, const char *body, size_t len)
{
	struct acb *a = arg;
	struct wspace *w = node_ws_find(n, a->ws_sid);
	if (!w)
		return;
	if (status >= 200 && status <= 299) {
		handle_answer(n, w, a, body, len);
		return;
	}
	char what[64];
	if (status)
		snprintf(what, sizeof what, "answered HTTP %d", status);
	else
		snprintf(what, sizeof what, "did not answer within %d ms", ASSIGNMENT_TIMEOUT_MS);
	if (a->fallback) {
		swb_warn("assignment callback for %s: %s %s; trying fallback_assignment_callback_url %s", a->reservation_sid,
			 a->url, what, a->fallback);
		struct acb *b = calloc(1, sizeof *b);
		if (!b)
			abort();
		*b = (struct acb){ .url = dup_or_null(a->fallback), .params = json_incref(a->params) };
		memcpy(b->ws_sid, a->ws_sid, sizeof b->ws_sid);
		memcpy(b->reservation_sid, a->reservation_sid, sizeof b->reservation_sid);
		acb_send(n, b);
		return;
	}
	swb_warn("assignment callback for %s: %s %s; no fallback left: the reservation waits for a worker's answer "
		 "or its timeout", a->reservation_sid, a->url, what);
}

/* ---- instructions ---- */

struct ictx {
	struct node *n;
	struct wspace *w;
	const struct swb_actor *a;
	json_t *args;
	const char *instruction;
	const char *res_sid, *task_sid, *worker_sid, *rstatus;
	json_t *out;
};

static enum swb_code exec(struct ictx *x, const char *op, json_t *args, json_t **out, struct swb_err *err)
{
	enum swb_code rc = node_exec(x->w, swb_wall_ms(), x->a, op, args, out, err);
	json_decref(args);
	return rc;
}

static enum swb_code str_arg(struct ictx *x, const char *key, bool required, size_t max, const char **out,
			     struct swb_err *err)
{
	json_t *v = json_object_get(x->args, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return swb_err_set(err, SWB_EINVAL, "%s: '%s' is required", x->instruction, key);
		return SWB_OK;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
		return swb_err_set(err, SWB_EINVAL, "%s: '%s' must be a string of 1..%zu characters", x->instruction, key,
				   max);
	*out = json_string_value(v);
	return SWB_OK;
}

static enum swb_code url_arg(struct ictx *x, const char *key, bool required, const char **out, struct swb_err *err)
{
	enum swb_code rc = str_arg(x, key, required, CALLS_URL_MAX - 1, out, err);
	if (rc == SWB_OK && *out && !calls_url_ok(*out))
		return swb_err_set(err, SWB_EINVAL, "%s: '%s' must be an absolute http:// or https:// URL", x->instruction,
				   key);
	return rc;
}

/* TaskRouter takes booleans as JSON or as the strings "true"/"false". */
static enum swb_code bool_arg(struct ictx *x, const char *key, bool *out, struct swb_err *err)
{
	json_t *v = json_object_get(x->args, key);
	*out = false;
	if (!v || json_is_null(v))
		return SWB_OK;
	if (json_is_boolean(v))
		*out = json_is_true(v);
	else if (json_is_string(v) && (strcmp(json_string_value(v), "true") == 0 || strcmp(json_string_value(v), "false") == 0))
		*out = strcmp(json_string_value(v), "true") == 0;
	else
		return swb_err_set(err, SWB_EINVAL, "%s: '%s' must be true or false", x->instruction, key);
	return SWB_OK;
}

static enum swb_code timeout_arg(struct ictx *x, struct swb_err *err)
{
	json_t *v = json_object_get(x->args, "timeout");
	long long t = 0;
	if (!v || json_is_null(v))
		return SWB_OK;
	if (json_is_integer(v))
		t = json_integer_value(v);
	else if (json_is_string(v) && *json_string_value(v)) {
		char *end;
		t = strtoll(json_string_value(v), &end, 10);
		if (*end)
			t = -1;
	} else
		t = -1;
	if (t < 1 || t > MAX_CALL_TIMEOUT_S)
		return swb_err_set(err, SWB_EINVAL, "%s: 'timeout' must be 1..%d seconds", x->instruction, MAX_CALL_TIMEOUT_S);
	return SWB_OK; /* the simulated worker answers at once; the ring timeout is checked, not waited for */
}

static enum swb_code activity_arg(struct ictx *x, const char *key, const char **out, struct swb_err *err)
{
	enum swb_code rc = str_arg(x, key, false, 256, out, err);
	if (rc != SWB_OK || !*out)
		return rc;
	if (exec(x, "activities.fetch", json_pack("{s:s}", "sid", *out), NULL, NULL) != SWB_OK)
		return swb_err_set(err, SWB_ENOTFOUND, "%s: '%s': no activity '%s'", x->instruction, key, *out);
	return SWB_OK;
}

static enum swb_code need_status(struct ictx *x, bool allow_accepted, struct swb_err *err)
{
	if (strcmp(x->rstatus, "pending") == 0 || (allow_accepted && strcmp(x->rstatus, "accepted") == 0))
		return SWB_OK;
	return swb_err_set(err, SWB_ESTATE, "%s: reservation %s is %s, not pending", x->instruction, x->res_sid,
			   x->rstatus);
}

static enum swb_code accept_now(struct ictx *x, struct swb_err *err)
{
	if (strcmp(x->rstatus, "pending") != 0)
		return SWB_OK;
	return exec(x, "reservations.update", json_pack("{s:s, s:s}", "sid", x->res_sid, "reservation_status", "accepted"),
		    NULL, err);
}

/* The worker's contact_uri attribute (copied into buf), or "" when it has none. */
static void contact_uri(struct ictx *x, char *buf, size_t len)
{
	json_t *wk = NULL;
	buf[0] = '\0';
	if (exec(x, "workers.fetch", json_pack("{s:s}", "sid", x->worker_sid), &wk, NULL) == SWB_OK) {
		json_error_t je;
		json_t *attrs = json_loads(json_string_value(json_object_get(wk, "attributes")) ?: "{}", 0, &je);
		const char *uri = json_string_value(json_object_get(attrs, "contact_uri"));
		if (uri)
			snprintf(buf, len, "%s", uri);
		json_decref(attrs);
	}
	json_decref(wk);
}

/* The call waiting in the queue for the reservation's task (the task's call_sid attribute). */
static enum swb_code queued_call(struct ictx *x, struct call **out, struct swb_err *err)
{
	json_t *task = NULL;
	enum swb_code rc = exec(x, "tasks.fetch", json_pack("{s:s}", "sid", x->task_sid), &task, err);
	if (rc != SWB_OK)
		return rc;
	json_error_t je;
	json_t *attrs = json_loads(json_string_value(json_object_get(task, "attributes")) ?: "{}", 0, &je);
	const char *call_sid = json_string_value(json_object_get(attrs, "call_sid"));
	struct call *c = calls_find(x->n, x->w->sid, call_sid);
	if (!call_sid)
		rc = swb_err_set(err, SWB_EINVAL, "%s: task %s has no call_sid attribute (was it made by <Enqueue>?)",
				 x->instruction, x->task_sid);
	else if (!c)
		rc = swb_err_set(err, SWB_ENOTFOUND, "%s: call %s of task %s is not known (ended long ago, or before a "
				 "restart)", x->instruction, call_sid, x->task_sid);
	else if (c->status != CALL_QUEUED)
		rc = swb_err_set(err, SWB_ESTATE, "%s: call %s is %s, not waiting in the queue", x->instruction, c->sid,
				 calls_status_name(c->status));
	json_decref(attrs);
	json_decref(task);
	if (rc == SWB_OK)
		*out = c;
	return rc;
}

static enum swb_code do_accept(struct ictx *x, struct swb_err *err)
{
	enum swb_code rc = need_status(x, false, err);
	return rc == SWB_OK ? accept_now(x, err) : rc;
}

static enum swb_code do_reject(struct ictx *x, struct swb_err *err)
{
	const char *act;
	enum swb_code rc = activity_arg(x, "activity_sid", &act, err);
	if (rc == SWB_OK)
		rc = need_status(x, false, err);
	if (rc != SWB_OK)
		return rc;
	/* TaskRouter: "If no ActivitySid is provided, worker remains in the same activity." */
	json_t *wk = NULL;
	if (!act && (rc = exec(x, "workers.fetch", json_pack("{s:s}", "sid", x->worker_sid), &wk, err)) != SWB_OK)
		return rc;
	json_t *args = json_pack("{s:s, s:s, s:s}", "sid", x->res_sid, "reservation_status", "rejected",
				 "worker_activity_sid", act ? act : json_string_value(json_object_get(wk, "activity_sid")));
	json_decref(wk);
	return exec(x, "reservations.update", args, NULL, err);
}

/* dequeue and conference: the queued caller is connected to the worker's contact_uri. A reservation
 * already accepted (a console that accepts first, then connects) is connected without accepting again. */
static enum swb_code do_bridge(struct ictx *x, struct swb_err *err)
{
	const char *from, *to, *post, *scb;
	struct call *c = NULL;
	enum swb_code rc = str_arg(x, "from", false, CALLS_ADDR_MAX - 1, &from, err);
	if (rc == SWB_OK)
		rc = str_arg(x, "to", false, CALLS_ADDR_MAX - 1, &to, err);
	if (rc == SWB_OK)
		rc = activity_arg(x, "post_work_activity_sid", &post, err);
	if (rc == SWB_OK)
		rc = url_arg(x, "status_callback_url", false, &scb, err);
	if (rc == SWB_OK)
		rc = timeout_arg(x, err);
	if (rc == SWB_OK)
		rc = need_status(x, true, err);
	if (rc == SWB_OK)
		rc = queued_call(x, &c, err);
	char uri[CALLS_ADDR_MAX];
	if (rc == SWB_OK && !to) {
		contact_uri(x, uri, sizeof uri);
		to = uri;
		if (!*uri)
			rc = swb_err_set(err, SWB_EINVAL, "%s: worker %s has no contact_uri attribute and no 'to' was given",
					 x->instruction, x->worker_sid);
	}
	if (rc == SWB_OK)
		rc = accept_now(x, err);
	if (rc != SWB_OK)
		return rc;
	struct calls_bridge_opts o = { .conference = strcmp(x->instruction, "conference") == 0,
				       .from = from ? from : c->to, .to = to, .post_work_activity_sid = post,
				       .status_callback_url = scb };
	calls_bridge(x->n, c, x->worker_sid, x->res_sid, &o);
	x->out = json_pack("{s:s, s:s}", "call_sid", c->sid, "worker_call_sid", c->peer_sid);
	return SWB_OK;
}

/* call: a leg to the worker runs url's TwiML; accept=true accepts the reservation as it answers. */
static enum swb_code do_call(struct ictx *x, struct swb_err *err)
{
	const char *from, *to, *url, *scb;
	bool accept;
	enum swb_code rc = url_arg(x, "url", true, &url, err);
	if (rc == SWB_OK)
		rc = str_arg(x, "from", true, CALLS_ADDR_MAX - 1, &from, err);
	if (rc == SWB_OK)
		rc = str_arg(x, "to", false, CALLS_ADDR_MAX - 1, &to, err);
	if (rc == SWB_OK)
		rc = bool_arg(x, "accept", &accept, err);
	if (rc == SWB_OK)
		rc = url_arg(x, "status_callback_url", false, &scb, err);
	if (rc == SWB_OK)
		rc = timeout_arg(x, err);
	if (rc == SWB_OK)
		rc = need_status(x, false, err); /* TaskRouter error 40114: the reservation must be pending */
	char uri[CALLS_ADDR_MAX];
	if (rc == SWB_OK && !to) {
		contact_uri(x, uri, sizeof uri);
		to = uri;
		if (!*uri)
			rc = swb_err_set(err, SWB_EINVAL, "%s: worker %s has no contact_uri attribute and no 'to' was given",
					 x->instruction, x->worker_sid);
	}
	if (rc == SWB_OK && accept)
		rc = accept_now(x, err);
	if (rc != SWB_OK)
		return rc;
	struct call *leg = calls_dial_worker(x->n, x->w->sid, x->worker_sid, x->res_sid, from, to, url, scb);
	x->out = json_pack("{s:n, s:s}", "call_sid", "worker_call_sid", leg->sid);
	return SWB_OK;
}

/* redirect: a live call leaves the queue (QueueResult redirected) for url's TwiML. */
static enum swb_code do_redirect(struct ictx *x, struct swb_err *err)
{
	const char *call_sid, *url, *post;
	bool accept;
	enum swb_code rc = str_arg(x, "call_sid", true, SWB_SID_SIZE - 1, &call_sid, err);
	if (rc == SWB_OK)
		rc = url_arg(x, "url", true, &url, err);
	if (rc == SWB_OK)
		rc = bool_arg(x, "accept", &accept, err);
	if (rc == SWB_OK)
		rc = activity_arg(x, "post_work_activity_sid", &post, err);
	if (rc == SWB_OK)
		rc = need_status(x, true, err);
	struct call *c = rc == SWB_OK ? calls_find(x->n, x->w->sid, call_sid) : NULL;
	if (rc == SWB_OK && !c)
		rc = swb_err_set(err, SWB_ENOTFOUND, "redirect: no call '%s'", call_sid);
	if (rc == SWB_OK && c->status != CALL_QUEUED && c->status != CALL_IN_PROGRESS && c->status != CALL_RINGING)
		rc = swb_err_set(err, SWB_ESTATE, "redirect: call %s is %s", c->sid, calls_status_name(c->status));
	if (rc == SWB_OK && accept)
		rc = accept_now(x, err);
	if (rc != SWB_OK)
		return rc;
	snprintf(c->worker_sid, sizeof c->worker_sid, "%s", x->worker_sid);
	snprintf(c->reservation_sid, sizeof c->reservation_sid, "%s", x->res_sid);
	if (!c->task_sid[0])
		snprintf(c->task_sid, sizeof c->task_sid, "%s", x->task_sid);
	calls_redirect(x->n, c, url, post);
	x->out = json_pack("{s:s, s:n}", "call_sid", c->sid, "worker_call_sid");
	return SWB_OK;
}

/* Each instruction: its parameters, the documented ones not simulated (accepted, ignored), its handler. */
static const struct instruction {
	const char *name;
	const char *params;
	const char *ignored;
	enum swb_code (*fn)(struct ictx *x, struct swb_err *err);
} instructions[] = {
	{ "accept", "", "", do_accept },
	{ "reject", "activity_sid", "", do_reject },
	{ "dequeue", "from to post_work_activity_sid timeout status_callback_url",
	  "record status_callback_events sip_auth_username sip_auth_password", do_bridge },
	{ "conference", "from to post_work_activity_sid timeout status_callback_url",
	  "record status_callback status_callback_method status_callback_event muted beep start_conference_on_enter "
	  "end_conference_on_exit wait_url wait_method early_media max_participants conference_status_callback "
	  "conference_status_callback_method conference_status_callback_event conference_record conference_trim "
	  "recording_channels recording_status_callback recording_status_callback_method region sip_auth_username "
	  "sip_auth_password", do_bridge },
	{ "call", "url from to accept timeout status_callback_url", "record", do_call },
	{ "redirect", "call_sid url accept post_work_activity_sid", "", do_redirect },
};

static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static enum swb_code instruct(struct node *n, struct wspace *w, const struct swb_actor *a, json_t *args, bool strict,
			      json_t **result, struct swb_err *err)
{
	struct ictx x = { .n = n, .w = w, .a = a, .args = args };
	const char *sid = json_string_value(json_object_get(args, "sid"));
	x.instruction = json_string_value(json_object_get(args, "instruction"));
	if (!json_is_object(args) || !sid || !x.instruction)
		return swb_err_set(err, SWB_EINVAL, "calls.instruct: give 'sid' (the reservation) and 'instruction'");
	const struct instruction *in = NULL;
	for (size_t i = 0; i < sizeof instructions / sizeof instructions[0] && !in; i++)
		if (strcmp(instructions[i].name, x.instruction) == 0)
			in = &instructions[i];
	if (!in)
		return swb_err_set(err, SWB_EINVAL, "unknown instruction '%.40s' (accept, reject, dequeue, call, "
				   "conference, redirect)", x.instruction);
	const char *key;
	json_t *v;
	json_object_foreach(args, key, v) {
		if (strcmp(key, "sid") == 0 || strcmp(key, "instruction") == 0 || word_in(in->params, key))
			continue;
		if (word_in(in->ignored, key))
			swb_debug("%s: '%s' is accepted but not simulated", in->name, key);
		else if (strict)
			return swb_err_set(err, SWB_EINVAL, "%s: unknown parameter '%.60s' (takes: %s)", in->name, key,
					   *in->params ? in->params : "nothing");
		else
			swb_debug("%s: ignoring unknown parameter '%.60s'", in->name, key);
	}
	json_t *res = NULL;
	enum swb_code rc = exec(&x, "reservations.fetch", json_pack("{s:s}", "sid", sid), &res, err);
	if (rc != SWB_OK)
		return rc;
	x.res_sid = json_string_value(json_object_get(res, "sid"));
	x.task_sid = json_string_value(json_object_get(res, "task_sid"));
	x.worker_sid = json_string_value(json_object_get(res, "worker_sid"));
	x.rstatus = json_string_value(json_object_get(res, "reservation_status"));
	rc = in->fn(&x, err);
	if (rc == SWB_OK) {
		json_t *after = NULL;
		exec(&x, "reservations.fetch", json_pack("{s:s}", "sid", sid), &after, NULL);
		json_t *out = x.out ? x.out : json_object();
		json_object_set_new(out, "instruction", json_string(in->name));
		json_object_set_new(out, "reservation", after ? after : json_null());
		*result = out;
	} else {
		json_decref(x.out);
	}
	json_decref(res);
	return rc;
}

enum swb_code assignment_instruct(struct node *n, struct wspace *w, const struct swb_actor *a, json_t *args,
				  json_t **result, struct swb_err *err)
{
	return instruct(n, w, a, args, true, result, err);
}
