/*
 * eventbridge.c - twilio-taskrouter's EventBridge on the node: the WebSocket at
 * /v1/wschannels?token=... over which the SDK's Worker receives `init`, pushed
 * TaskRouter events and heartbeats, and the POST at /v1/wschannels that carries
 * every REST call ({url, method, params, token} -> {payload}; the calls and the
 * resource representations live in eventbridge_rest.c). The wire is described
 * in shared/protocols/taskrouter-js.md.
 *
 * A socket's life: open (token checked; `init` sent once) -> starting (the SDK
 * reads its worker, activities, channels and reservations; nothing is pushed,
 * since it subscribes only after those reads) -> ready (pushes flow: first the
 * events after what those reads showed, replayed from the event log, then live
 * ones) -> closed (by the client, at token expiry, by a newer session with
 * closeExistingSessions=true, or when its worker or workspace is deleted).
 * When a worker's last connection closes, the node's disconnect grace starts
 * (node_worker_detach) unless it connected with setWorkerOfflineIfDisconnected=false.
 *
 * Pushes only name reservations the client holds (listed at start-up or pushed
 * as reservation.created), because twilio-taskrouter throws on any other; and a
 * task's task.completed/task.canceled goes before the reservation's own end,
 * since the SDK forgets the task with the reservation.
 *
 * Tokens: Twilio Access Tokens (HS256 with the node's API key, TaskRouter
 * grant), as twilio-node's jwt.AccessToken makes them; our own worker tokens
 * (swbctl token worker NAME) are accepted too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventbridge_internal.h"
#include "log.h"
#include "timefmt.h"

#define EB_PATH "/v1/wschannels"
#define EB_HEARTBEAT_MS 15000     /* the SDK declares a silent socket dead after 30 s */
#define EB_READY_DELAY_MS 250     /* after the start-up reads are answered: the SDK subscribes once it has read
				     all four answers, which travel on other connections than the socket */
#define EB_READY_FALLBACK_MS 10000 /* a client that never does the start-up reads gets pushes after this */
#define EB_LOOKAHEAD 64           /* events searched for the task's end that must precede a reservation's end */
#define EB_LIFETIME_MAX_MS 2147483647LL /* token_lifetime feeds setTimeout, which overflows beyond this */
#define EB_CLOSE_AUTH 4001        /* bad or expired token */
#define EB_CLOSE_REPLACED 4002    /* a newer session of the worker asked for closeExistingSessions */
#define EB_CLOSE_GONE 4004        /* the worker or its workspace was deleted */
#define EB_CLOSE_BAD_REQUEST 1008 /* policy violation: bad query */

struct sock {
	uint64_t conn;
	char ws_sid[SWB_SID_SIZE];
	char worker_sid[SWB_SID_SIZE];
	int64_t exp_ms;                /* token expiry */
	int64_t next_beat;
	int64_t fallback_at;           /* ready by then even without the start-up reads */
	int64_t ready_at;              /* 0 until all start-up reads were answered */
	unsigned got;                  /* enum eb_fetched bits */
	bool ready, closing, offline_on_drop;
	uint64_t cut_worker, cut_channels, cut_res; /* events up to these are reflected in what the client read */
	swb_map *held;                 /* reservation sid -> its task sid (malloc'd): what the client holds */
	struct sock *next;
};

struct eb_state {
	struct sock *socks;
};

static struct eb_state *state(struct node *n)
{
	if (!n->eb) {
		n->eb = calloc(1, sizeof *n->eb);
		if (!n->eb)
			abort();
	}
	return n->eb;
}

size_t eb_socket_count(const struct node *n)
{
	size_t k = 0;
	for (const struct sock *s = n->eb ? n->eb->socks : NULL; s; s = s->next)
		k++;
	return k;
}

static struct wspace *ws_by_sid(struct node *n, const char *sid)
{
	for (size_t i = 0; i < n->nws; i++)
		if (strcmp(n->ws[i]->sid, sid) == 0)
			return n->ws[i];
	return NULL;
}

/* ---- tokens ---- */

static int token_fail(struct eb_fail *f, const struct swb_err *err)
{
	if (strncmp(err->msg, "token expired", 13) == 0) /* swb_token_verify's wording for exp <= now */
		return eb_fail(f, 401, EB_CODE_TOKEN_EXPIRED, "Access Token expired: %s", err->msg);
	return eb_fail(f, 401, EB_CODE_TOKEN_INVALID, "Invalid Access Token: %s", err->msg);
}

static bool worker_exists(struct wspace *w, const char *sid)
{
	json_t *args = json_pack("{s:s}", "sid", sid);
	bool ok = node_exec(w, swb_wall_ms(), NULL, "workers.fetch", args, NULL, NULL) == SWB_OK;
	json_decref(args);
	return ok;
}

/* One of our own tokens (iss "switchboard"): a worker's, or admin/supervisor for any workspace. */
static int own_token(struct node *n, const char *token, long long now, struct eb_ident *id, struct eb_fail *f)
{
	struct swb_token_claims c;
	struct swb_err err;
	if (swb_token_verify(n->secret, sizeof n->secret, token, now, &c, &err) != SWB_OK)
		return token_fail(f, &err);
	id->exp = c.exp;
	if (c.scope == SWB_SCOPE_ADMIN || c.scope == SWB_SCOPE_SUPERVISOR) {
		id->actor.kind = c.scope == SWB_SCOPE_ADMIN ? SWB_ACTOR_ADMIN : SWB_ACTOR_SUPERVISOR;
		return 0;
	}
	id->w = node_ws_of_worker(n, c.worker_sid);
	if (!id->w)
		return eb_fail(f, 401, EB_CODE_TOKEN_INVALID, "Invalid Access Token: worker %s no longer exists", c.worker_sid);
	snprintf(id->worker_sid, sizeof id->worker_sid, "%s", c.worker_sid);
	id->actor.kind = SWB_ACTOR_WORKER;
	id->actor.worker_sid = id->worker_sid;
	return 0;
}

int eb_authenticate(struct node *n, const char *token, struct eb_ident *id, struct eb_fail *f)
{
	memset(id, 0, sizeof *id);
	if (!token || !*token)
		return eb_fail(f, 401, EB_CODE_TOKEN_INVALID, "Invalid Access Token: no token");
	char iss[64];
	struct swb_err err;
	if (swb_token_peek_issuer(token, iss, sizeof iss, &err) != SWB_OK)
		return token_fail(f, &err);
	long long now = swb_wall_ms() / 1000;
	if (strcmp(iss, SWB_TOKEN_ISSUER) == 0)
		return own_token(n, token, now, id, f);
	struct swb_twilio_claims c;
	if (swb_twilio_token_verify((const unsigned char *)n->api_key_secret, strlen(n->api_key_secret), n->api_key_sid,
				    token, now, &c, &err) != SWB_OK)
		return token_fail(f, &err);
	if (strcmp(c.account_sid, n->account_sid) != 0)
		return eb_fail(f, 401, EB_CODE_TOKEN_INVALID, "Invalid Access Token: it is for account %s, not this node's %s",
			       c.account_sid, n->account_sid);
	id->w = ws_by_sid(n, c.workspace_sid);
	if (!id->w)
		return eb_fail(f, 401, EB_CODE_TOKEN_INVALID, "Invalid Access Token: workspace %s does not exist on this node",
			       c.workspace_sid);
	if (!c.role[0] || strcmp(c.role, "worker") == 0)
		id->actor.kind = SWB_ACTOR_WORKER;
	else
		id->actor.kind = strcmp(c.role, "admin") == 0 ? SWB_ACTOR_ADMIN : SWB_ACTOR_SUPERVISOR;
	if (id->actor.kind == SWB_ACTOR_WORKER && !c.worker_sid[0])
		return eb_fail(f, 401, EB_CODE_TOKEN_INVALID,
			       "Invalid Access Token: a worker token needs grants.task_router.worker_sid");
	if (c.worker_sid[0] && !worker_exists(id->w, c.worker_sid))
		return eb_fail(f, 401, EB_CODE_TOKEN_INVALID, "Invalid Access Token: no worker %s in workspace %s",
			       c.worker_sid, c.workspace_sid);
	snprintf(id->worker_sid, sizeof id->worker_sid, "%s", c.worker_sid);
	if (id->actor.kind == SWB_ACTOR_WORKER)
		id->actor.worker_sid = id->worker_sid;
	id->exp = c.exp;
	return 0;
}

/* ---- the POST ---- */

static bool path_ok(const char *path)
{
	return strcmp(path, EB_PATH) == 0 || strcmp(path, EB_PATH "/") == 0;
}

/* CORS headers for a browser on another origin (NULL when none is needed or the Origin is not printable). */
static const char *cors(const struct swb_http_msg *m)
{
	static char buf[640];
	if (!m->origin || strlen(m->origin) > 300)
		return NULL;
	for (const char *c = m->origin; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return NULL;
	snprintf(buf, sizeof buf,
		 "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n"
		 "Access-Control-Allow-Methods: POST, OPTIONS\r\n"
		 "Access-Control-Allow-Headers: apiVersion, clientVersion, If-Match, Content-Type\r\n"
		 "Access-Control-Max-Age: 600\r\n",
		 m->origin);
	return buf;
}

static void respond_json(struct node *n, const struct swb_http_msg *m, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);
	if (!s)
		abort();
	node_http_respond(n, m->conn, status, "application/json", cors(m), s, strlen(s));
	free(s);
}

static void respond_fail(struct node *n, const struct swb_http_msg *m, const struct eb_fail *f)
{
	json_t *j = json_pack("{s:i, s:s, s:s, s:i}", "code", f->code, "message", f->msg, "more_info",
			      "https://www.twilio.com/docs/errors", "status", f->status);
	respond_json(n, m, f->status, j);
	json_decref(j);
	swb_debug("EventBridge POST from %s: %d %s", m->peer, f->status, f->msg);
}

void eb_handle_post(struct node *n, struct swb_http_msg *m)
{
	struct eb_fail f;
	json_t *root = NULL, *params = NULL, *payload = NULL;
	const char *url, *method, *token = NULL;
	json_error_t je;
	struct eb_ident id;
	if (!path_ok(m->path)) {
		eb_fail(&f, 404, EB_CODE_NOT_FOUND, "the requested resource %.120s was not found", m->path);
	} else if (strcmp(m->method, "OPTIONS") == 0) {
		node_http_respond(n, m->conn, 204, "text/plain", cors(m), "", 0);
		swb_http_msg_free(m);
		return;
	} else if (strcmp(m->method, "POST") != 0) {
		eb_fail(&f, 405, EB_CODE_METHOD, "%s %s: the EventBridge takes POST (REST calls) and WebSocket upgrades",
			m->method, EB_PATH);
	} else if (!(root = json_loadb(m->body, m->body_len, JSON_REJECT_DUPLICATES, &je))) {
		eb_fail(&f, 400, EB_CODE_INVALID_PARAMETER, "malformed JSON body at column %d: %s", je.column, je.text);
	} else if (json_unpack_ex(root, &je, JSON_STRICT, "{s:s, s:s, s?o, s?s}", "url", &url, "method", &method, "params",
				  &params, "token", &token) != 0) {
		eb_fail(&f, 400, EB_CODE_INVALID_PARAMETER, "bad request body (want {url, method, params, token}): %s",
			je.text);
	} else if (params && !json_is_object(params) && !json_is_null(params)) {
		eb_fail(&f, 400, EB_CODE_INVALID_PARAMETER, "'params' must be an object");
	} else if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
		eb_fail(&f, 400, EB_CODE_INVALID_PARAMETER, "'method' must be GET or POST, got '%.20s'", method);
	} else if (eb_authenticate(n, token, &id, &f) == 0) {
		json_t *p = json_is_object(params) ? json_incref(params) : json_object();
		if (eb_rest_call(n, &id, method, url, p, &payload, &f) == 0) {
			json_t *body = json_pack("{s:o}", "payload", payload);
			respond_json(n, m, 200, body);
			json_decref(body);
			json_decref(p);
			json_decref(root);
			swb_http_msg_free(m);
			return;
		}
		json_decref(p);
	}
	respond_fail(n, m, &f);
	json_decref(root);
	swb_http_msg_free(m);
}

/* ---- sockets ---- */

static void sock_free(struct sock *s)
{
	size_t pos = 0;
	void *v;
	while (s->held && swb_map_next(s->held, &pos, NULL, &v))
		free(v);
	swb_map_free(s->held);
	free(s);
}

static void held_put(struct sock *s, const char *res_sid, const char *task_sid)
{
	char *t = strdup(task_sid ? task_sid : "");
	if (!t)
		abort();
	free(swb_map_del(s->held, res_sid));
	if (swb_map_put(s->held, res_sid, t) != 0)
		free(t);
}

static bool holds_task(const struct sock *s, const char *task_sid)
{
	size_t pos = 0;
	void *v;
	while (swb_map_next(s->held, &pos, NULL, &v))
		if (strcmp(v, task_sid) == 0)
			return true;
	return false;
}

static void sock_close(struct node *n, struct sock *s, int code, const char *reason)
{
	if (s->closing)
		return;
	s->closing = true;
	swb_http_ws_close(n->http, s->conn, code, reason);
	swb_info("EventBridge: closing worker %s's socket: %s", s->worker_sid, reason);
}

static void push(struct node *n, struct sock *s, const char *type, json_t *payload)
{
	json_t *frame = json_pack("{s:s, s:o}", "event_type", type, "payload", payload);
	char *text = json_dumps(frame, JSON_COMPACT);
	if (!text)
		abort();
	swb_http_ws_send(n->http, s->conn, text, strlen(text));
	free(text);
	json_decref(frame);
}

/* A query argument as a string, or NULL (absent or repeated). */
static const char *query_str(json_t *q, const char *key)
{
	return json_string_value(json_object_get(q, key));
}

static int query_bool(json_t *q, const char *key, bool *out)
{
	json_t *v = json_object_get(q, key);
	if (!v)
		return 0;
	const char *s = json_string_value(v);
	if (!s || (strcmp(s, "true") != 0 && strcmp(s, "false") != 0))
		return -1;
	*out = strcmp(s, "true") == 0;
	return 0;
}

void eb_ws_open(struct node *n, struct swb_http_msg *m)
{
	struct eb_state *st = state(n);
	bool close_existing = false, offline = true;
	struct eb_ident id;
	struct eb_fail f;
	if (!path_ok(m->path)) {
		swb_http_ws_close(n->http, m->conn, EB_CLOSE_BAD_REQUEST, "unknown WebSocket path");
		swb_http_msg_free(m);
		return;
	}
	if (query_bool(m->query, "closeExistingSessions", &close_existing) != 0 ||
	    query_bool(m->query, "setWorkerOfflineIfDisconnected", &offline) != 0) {
		swb_http_ws_close(n->http, m->conn, EB_CLOSE_BAD_REQUEST,
				  "closeExistingSessions and setWorkerOfflineIfDisconnected must be true or false");
		swb_http_msg_free(m);
		return;
	}
	int rc = eb_authenticate(n, query_str(m->query, "token"), &id, &f);
	if (rc == 0 && (!id.worker_sid[0] || !id.w))
		rc = eb_fail(&f, 401, EB_CODE_TOKEN_INVALID,
			     "Invalid Access Token: it names no worker (grants.task_router.worker_sid)");
	if (rc != 0) {
		swb_info("EventBridge: refused a socket from %s: %s", m->peer, f.msg);
		swb_http_ws_close(n->http, m->conn, EB_CLOSE_AUTH, f.msg);
		swb_http_msg_free(m);
		return;
	}
	struct sock *s = calloc(1, sizeof *s);
	if (!s || !(s->held = swb_map_new()))
		abort();
	int64_t now = swb_wall_ms();
	uint64_t seq = swb_core_last_seq(id.w->core);
	s->conn = m->conn;
	snprintf(s->ws_sid, sizeof s->ws_sid, "%s", id.w->sid);
	snprintf(s->worker_sid, sizeof s->worker_sid, "%s", id.worker_sid);
	s->exp_ms = id.exp * 1000;
	s->next_beat = now + EB_HEARTBEAT_MS;
	s->fallback_at = now + EB_READY_FALLBACK_MS;
	s->offline_on_drop = offline;
	s->cut_worker = s->cut_channels = s->cut_res = seq;
	if (close_existing)
		for (struct sock *o = st->socks; o; o = o->next)
			if (strcmp(o->ws_sid, s->ws_sid) == 0 && strcmp(o->worker_sid, s->worker_sid) == 0)
				sock_close(n, o, EB_CLOSE_REPLACED, "a newer session of this worker closed it (closeExistingSessions)");
	s->next = st->socks;
	st->socks = s;
	node_worker_attach(n, s->worker_sid);
	int64_t lifetime = s->exp_ms - now;
	json_t *init = json_pack("{s:s, s:s, s:s, s:I}", "channel_id", s->worker_sid, "account_sid", n->account_sid,
				 "workspace_sid", s->ws_sid, "token_lifetime",
				 (json_int_t)(lifetime > EB_LIFETIME_MAX_MS ? EB_LIFETIME_MAX_MS : lifetime));
	push(n, s, "init", init);
	swb_info("EventBridge: worker %s connected from %s (client %s%s)", s->worker_sid, m->peer,
		 query_str(m->query, "clientVersion") ? query_str(m->query, "clientVersion") : "?",
		 offline ? "" : ", stays online if disconnected");
	swb_http_msg_free(m);
}

void eb_ws_close(struct node *n, struct swb_http_msg *m)
{
	struct eb_state *st = n->eb;
	for (struct sock **pp = st ? &st->socks : NULL; pp && *pp; pp = &(*pp)->next) {
		struct sock *s = *pp;
		if (s->conn != m->conn)
			continue;
		*pp = s->next;
		swb_info("EventBridge: worker %s's socket closed", s->worker_sid);
		node_worker_detach(n, s->worker_sid, s->offline_on_drop);
		sock_free(s);
		break;
	}
	swb_http_msg_free(m);
}

/* ---- pushes ---- */

/* An event record with its parsed event_data, parsed on first use. */
struct evctx {
	const struct swb_evrec *r;
	json_t *ev;
};

static json_t *ev_data(struct evctx *e)
{
	if (!e->ev)
		e->ev = json_loadb(e->r->json, e->r->len, 0, NULL);
	return json_object_get(e->ev, "event_data");
}

/* Sets dst[key] from data[from] when present. */
static void take(json_t *dst, const char *key, json_t *data, const char *from)
{
	json_t *v = json_object_get(data, from);
	if (v)
		json_object_set(dst, key, v);
}

/* The resource as it was at the event: the fields the event recorded win over today's state. */
static void overlay_task(json_t *t, json_t *d)
{
	take(t, "assignment_status", d, "task_assignment_status");
	take(t, "attributes", d, "task_attributes");
	take(t, "priority", d, "task_priority");
	take(t, "age", d, "task_age");
	take(t, "reason", d, "task_completed_reason");
	take(t, "reason", d, "task_canceled_reason");
}

static void overlay_worker(json_t *p, json_t *d, int64_t ts_ms, bool status_changed)
{
	take(p, "activity_sid", d, "worker_activity_sid");
	take(p, "activity_name", d, "worker_activity_name");
	take(p, "available", d, "worker_available");
	take(p, "attributes", d, "worker_attributes");
	json_object_set_new(p, "date_updated", json_integer(ts_ms / 1000));
	if (status_changed)
		json_object_set_new(p, "date_status_changed", json_integer(ts_ms / 1000));
}

static void push_task_event(struct node *n, struct wspace *w, struct sock *s, struct evctx *e)
{
	json_t *t = eb_task(w, e->r->task_sid);
	if (!t)
		return;
	overlay_task(t, ev_data(e));
	json_object_set_new(t, "date_updated", json_integer(e->r->ts_ms / 1000));
	push(n, s, e->r->type, t);
}

/* The task's end (task.completed / task.canceled) recorded right after this reservation event, pushed first. */
static void push_task_end_first(struct node *n, struct wspace *w, struct sock *s, const struct swb_evrec *r)
{
	for (uint64_t k = 1; k <= EB_LOOKAHEAD; k++) {
		const struct swb_evrec *next = swb_eventlog_get(w->events, r->seq + k);
		if (!next)
			return;
		if (strcmp(next->task_sid, r->task_sid) != 0 ||
		    (strcmp(next->type, "task.completed") != 0 && strcmp(next->type, "task.canceled") != 0))
			continue;
		struct evctx e = { next, NULL };
		push_task_event(n, w, s, &e);
		json_decref(e.ev);
		return;
	}
}

static void deliver_worker(struct node *n, struct wspace *w, struct sock *s, struct evctx *e)
{
	const struct swb_evrec *r = e->r;
	const char *type = r->type;
	if (strcmp(type, "worker.deleted") == 0) {
		sock_close(n, s, EB_CLOSE_GONE, "the worker was deleted");
		return;
	}
	json_t *d = ev_data(e), *p = NULL;
	if (strcmp(type, "worker.activity.update") == 0 || strcmp(type, "worker.attributes.update") == 0) {
		if (r->seq <= s->cut_worker || !(p = eb_worker(w, s->worker_sid)))
			return;
		overlay_worker(p, d, r->ts_ms, strcmp(type, "worker.activity.update") == 0);
	} else if (strcmp(type, "worker.capacity.update") == 0 || strcmp(type, "worker.channel.availability.update") == 0) {
		const char *ch = json_string_value(json_object_get(d, "task_channel_unique_name"));
		if (r->seq <= s->cut_channels || !ch || !(p = eb_worker_channel(w, s->worker_sid, ch)))
			return;
		take(p, "configured_capacity", d, "worker_channel_capacity");
		take(p, "available", d, "worker_channel_available");
	} else {
		return;
	}
	push(n, s, type, p);
}

static void deliver_reservation(struct node *n, struct wspace *w, struct sock *s, struct evctx *e)
{
	const struct swb_evrec *r = e->r;
	const char *type = r->type + strlen("reservation.");
	bool created = strcmp(type, "created") == 0;
	bool ends = strcmp(type, "rejected") == 0 || strcmp(type, "timeout") == 0 || strcmp(type, "canceled") == 0 ||
		    strcmp(type, "rescinded") == 0 || strcmp(type, "completed") == 0;
	if (r->seq <= s->cut_res || (!created && !ends && strcmp(type, "accepted") != 0 && strcmp(type, "wrapup") != 0))
		return;
	if (!created && !swb_map_get(s->held, r->reservation_sid))
		return; /* the SDK throws on reservations it does not hold */
	json_t *p = eb_reservation(w, r->reservation_sid, true);
	if (!p)
		return;
	json_t *d = ev_data(e);
	take(p, "reservation_status", d, "reservation_status");
	json_object_set_new(p, "date_updated", json_integer(r->ts_ms / 1000));
	overlay_task(json_object_get(p, "task"), d);
	if (created)
		held_put(s, r->reservation_sid, r->task_sid);
	if (strcmp(type, "completed") == 0 || strcmp(type, "canceled") == 0)
		push_task_end_first(n, w, s, r);
	push(n, s, r->type, p);
	if (ends)
		free(swb_map_del(s->held, r->reservation_sid));
}

/* Sends s what it should see of event r, if anything. */
static void deliver(struct node *n, struct wspace *w, struct sock *s, const struct swb_evrec *r)
{
	struct evctx e = { r, NULL };
	bool mine = strcmp(r->worker_sid, s->worker_sid) == 0;
	if (mine && strncmp(r->type, "worker.", 7) == 0)
		deliver_worker(n, w, s, &e);
	else if (mine && strncmp(r->type, "reservation.", 12) == 0)
		deliver_reservation(n, w, s, &e);
	else if ((strcmp(r->type, "task.updated") == 0 || strcmp(r->type, "task.canceled") == 0 ||
		  strcmp(r->type, "task.completed") == 0 || strcmp(r->type, "task.wrapup") == 0) &&
		 r->seq > s->cut_res && holds_task(s, r->task_sid))
		push_task_event(n, w, s, &e);
	json_decref(e.ev);
}

void eb_on_event(struct wspace *w, const struct swb_evrec *r)
{
	struct eb_state *st = w->n->eb;
	if (!st || (strncmp(r->type, "worker.", 7) != 0 && strncmp(r->type, "reservation.", 12) != 0 &&
		    strncmp(r->type, "task.", 5) != 0))
		return;
	for (struct sock *s = st->socks; s; s = s->next)
		if (s->ready && !s->closing && strcmp(s->ws_sid, w->sid) == 0)
			deliver(w->n, w, s, r);
}

void eb_note_fetch(struct node *n, struct wspace *w, const char *worker_sid, unsigned what, json_t *reservations)
{
	struct eb_state *st = n->eb;
	uint64_t seq = swb_core_last_seq(w->core);
	for (struct sock *s = st ? st->socks : NULL; s; s = s->next) {
		if (s->ready || s->closing || strcmp(s->ws_sid, w->sid) != 0 || strcmp(s->worker_sid, worker_sid) != 0)
			continue;
		if (what & EB_GOT_WORKER)
			s->cut_worker = seq;
		if (what & EB_GOT_CHANNELS)
			s->cut_channels = seq;
		if (what & EB_GOT_RESERVATIONS) {
			s->cut_res = seq;
			size_t i;
			json_t *res;
			json_array_foreach(reservations, i, res)
				held_put(s, json_string_value(json_object_get(res, "sid")),
					 json_string_value(json_object_get(res, "task_sid")));
		}
		s->got |= what;
		if (s->got == EB_GOT_ALL && !s->ready_at)
			s->ready_at = swb_wall_ms() + EB_READY_DELAY_MS;
	}
}

/* Starts pushing to s: first the events since what its start-up reads showed. */
static void make_ready(struct node *n, struct wspace *w, struct sock *s)
{
	uint64_t from = s->cut_worker;
	if (s->cut_channels < from)
		from = s->cut_channels;
	if (s->cut_res < from)
		from = s->cut_res;
	s->ready = true;
	for (uint64_t seq = from + 1; seq <= w->hooked_seq && !s->closing; seq++) {
		const struct swb_evrec *r = swb_eventlog_get(w->events, seq);
		if (r)
			deliver(n, w, s, r);
	}
}

void eb_tick(struct node *n, int64_t now)
{
	struct eb_state *st = n->eb;
	for (struct sock *s = st ? st->socks : NULL; s; s = s->next) {
		if (s->closing)
			continue;
		struct wspace *w = ws_by_sid(n, s->ws_sid);
		if (!w) {
			sock_close(n, s, EB_CLOSE_GONE, "the workspace was deleted");
			continue;
		}
		if (now >= s->exp_ms) {
			sock_close(n, s, EB_CLOSE_AUTH, "Access Token expired");
			continue;
		}
		if (now >= s->next_beat) {
			swb_http_ws_send(n->http, s->conn, " ", 1);
			s->next_beat = now + EB_HEARTBEAT_MS;
		}
		if (!s->ready && ((s->ready_at && now >= s->ready_at) || now >= s->fallback_at))
			make_ready(n, w, s);
	}
}

void eb_free(struct node *n)
{
	struct eb_state *st = n->eb;
	if (!st)
		return;
	while (st->socks) {
		struct sock *s = st->socks;
		st->socks = s->next;
		sock_free(s);
	}
	free(st);
	n->eb = NULL;
}
