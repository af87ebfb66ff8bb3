/*
 * node_ops.c - what the node does with a request: decode the envelope (strictly),
 * authenticate the token, run a node op (session.hello, snapshot, events.next,
 * events.list, ops.list) or a core op through the one command table, and queue
 * the answer until the events it depends on are durable. Also held pulls and
 * worker connection tracking (disconnect grace).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_modules.h"
#include "log.h"
#include "node_internal.h"
#include "pulls.h"
#include "stats.h"
#include "timefmt.h"

#define PULL_MAX_WAIT_MS 30000
#define PULL_MAX_EVENTS 1000
#define PULL_DEFAULT_EVENTS 256
#define SWB_VERSION "0.1.0"

struct outmsg {
	swb_nng_req *req;  /* an nng answer, or */
	uint64_t conn;     /* an HTTP answer */
	int status;
	char *ctype, *headers;
	char *body;
	size_t len;
	struct outmsg *next;
};

struct pipeinfo {
	struct vec_sid {
		char (*v)[SWB_SID_SIZE];
		size_t n, cap;
	} workers;
};

struct wconn {
	int npipes;
	int64_t grace_deadline; /* 0: none */
};

/* A decoded request. */
struct rq {
	json_t *root;
	json_int_t id;
	bool has_id;
	const char *op;
	const char *token;
	const char *workspace;
	struct wspace *w;
	json_t *args;
	struct swb_actor actor;
	struct swb_token_claims claims;
	uint32_t pipe;
};

int node_state_init(struct node *n)
{
	n->pipes = swb_map_new();
	n->wconns = swb_map_new();
	n->pull_keys = swb_map_new();
	n->grace_min_deadline = INT64_MAX;
	return n->pipes && n->wconns && n->pull_keys ? 0 : -1;
}

void node_state_free(struct node *n)
{
	size_t pos = 0;
	void *v;
	while (n->pipes && swb_map_next(n->pipes, &pos, NULL, &v)) {
		struct pipeinfo *pi = v;
		free(pi->workers.v);
		free(pi);
	}
	pos = 0;
	while (n->wconns && swb_map_next(n->wconns, &pos, NULL, &v))
		free(v);
	swb_map_free(n->pipes);
	swb_map_free(n->wconns);
	while (n->out_head) {
		struct outmsg *m = n->out_head;
		n->out_head = m->next;
		free(m->body);
		free(m);
	}
	pulls_free(n);
}

const char *node_workspace_name(struct wspace *w)
{
	json_t *ws = NULL;
	static char name[SWB_ERR_MSG_MAX];
	node_exec(w, swb_wall_ms(), NULL, "workspace.fetch", NULL, &ws, NULL);
	snprintf(name, sizeof name, "%s", json_string_value(json_object_get(ws, "friendly_name")));
	json_decref(ws);
	return name;
}

/* ---- answers ---- */

static void queue_out(struct node *n, swb_nng_req *req, char *body)
{
	struct outmsg *m = calloc(1, sizeof *m);
	if (!m)
		abort();
	m->req = req;
	m->body = body;
	m->len = strlen(body);
	if (n->out_tail)
		n->out_tail->next = m;
	else
		n->out_head = m;
	n->out_tail = m;
}

static void answer_ok(struct node *n, swb_nng_req *req, const struct rq *q, json_t *result)
{
	json_t *env = json_pack("{s:i, s:o, s:b, s:o}", "v", 1, "id", q->has_id ? json_integer(q->id) : json_null(), "ok",
				1, "result", result ? result : json_object());
	queue_out(n, req, json_dumps(env, JSON_COMPACT));
	json_decref(env);
}

static void answer_err(struct node *n, swb_nng_req *req, const struct rq *q, enum swb_code code, const char *msg)
{
	json_t *env = json_pack("{s:i, s:o, s:b, s:{s:s, s:s}}", "v", 1, "id",
				q && q->has_id ? json_integer(q->id) : json_null(), "ok", 0, "error", "code",
				swb_code_name(code), "message", msg);
	queue_out(n, req, json_dumps(env, JSON_COMPACT));
	json_decref(env);
	n->errors++;
	swb_debug("request %s failed: %s: %s", q && q->op ? q->op : "?", swb_code_name(code), msg);
}

void node_http_respond(struct node *n, uint64_t conn, int status, const char *ctype, const char *headers,
		       const char *body, size_t len)
{
	char *copy = malloc(len + 1);
	if (!copy)
		abort();
	memcpy(copy, body ? body : "", len);
	copy[len] = '\0';
	queue_out(n, NULL, copy);
	struct outmsg *m = n->out_tail;
	m->len = len;
	m->conn = conn;
	m->status = status;
	m->ctype = ctype ? strdup(ctype) : NULL;
	m->headers = headers ? strdup(headers) : NULL;
}

/* ---- decoding and authentication ---- */

static enum swb_code decode(const char *body, size_t len, struct rq *q, struct swb_err *err)
{
	json_error_t je;
	q->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!q->root)
		return swb_err_set(err, SWB_EINVAL, "malformed JSON at column %d: %s", je.column, je.text);
	json_t *id = json_object_get(q->root, "id");
	if (json_is_integer(id)) {
		q->id = json_integer_value(id);
		q->has_id = true;
	}
	int v = 0;
	if (json_unpack_ex(q->root, &je, JSON_STRICT, "{s:i, s:I, s:s, s?s, s?s, s?o}", "v", &v, "id", &q->id, "op",
			   &q->op, "token", &q->token, "workspace", &q->workspace, "args", &q->args) != 0)
		return swb_err_set(err, SWB_EINVAL, "bad envelope: %s", je.text);
	if (v != 1)
		return swb_err_set(err, SWB_EINVAL, "unsupported protocol version %d (this node speaks 1)", v);
	if (q->args && !json_is_object(q->args))
		return swb_err_set(err, SWB_EINVAL, "'args' must be an object");
	return SWB_OK;
}

static enum swb_code authenticate(struct node *n, struct rq *q, struct swb_err *err)
{
	if (!q->token)
		return swb_err_set(err, SWB_EAUTH, "this request needs a token (swbctl token ...)");
	enum swb_code rc = swb_token_verify(n->secret, sizeof n->secret, q->token, swb_wall_ms() / 1000, &q->claims, err);
	if (rc != SWB_OK)
		return SWB_EAUTH;
	switch (q->claims.scope) {
	case SWB_SCOPE_ADMIN: q->actor.kind = SWB_ACTOR_ADMIN; break;
	case SWB_SCOPE_SUPERVISOR: q->actor.kind = SWB_ACTOR_SUPERVISOR; break;
	case SWB_SCOPE_WORKER:
		q->actor.kind = SWB_ACTOR_WORKER;
		q->actor.worker_sid = q->claims.worker_sid;
		break;
	}
	if (q->actor.kind == SWB_ACTOR_WORKER) {
		q->w = node_ws_of_worker(n, q->actor.worker_sid);
		if (!q->w)
			return swb_err_set(err, SWB_EAUTH, "the token's worker %s no longer exists", q->actor.worker_sid);
		if (q->workspace && strcmp(q->workspace, q->w->sid) != 0)
			return swb_err_set(err, SWB_EPERM, "a worker token is limited to its own workspace");
		return SWB_OK;
	}
	q->w = node_ws_find(n, q->workspace);
	if (!q->w)
		return swb_err_set(err, SWB_ENOTFOUND, "no workspace '%s'", q->workspace ? q->workspace : "(default)");
	return SWB_OK;
}

static json_int_t arg_i(json_t *args, const char *key, json_int_t dflt, json_int_t lo, json_int_t hi, bool *bad)
{
	json_t *v = json_object_get(args, key);
	if (!v)
		return dflt;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		*bad = true;
		return dflt;
	}
	return json_integer_value(v);
}

/* ---- worker connections ---- */

static void note_pipe(struct node *n, uint32_t pipe, const char *wsid)
{
	char key[16];
	snprintf(key, sizeof key, "%u", pipe);
	struct pipeinfo *pi = swb_map_get(n->pipes, key);
	if (!pi) {
		pi = calloc(1, sizeof *pi);
		if (!pi || swb_map_put(n->pipes, key, pi) != 0) {
			free(pi);
			return;
		}
	}
	for (size_t i = 0; i < pi->workers.n; i++)
		if (strcmp(pi->workers.v[i], wsid) == 0)
			return;
	if (pi->workers.n == pi->workers.cap) {
		size_t cap = pi->workers.cap ? pi->workers.cap * 2 : 2;
		void *nv = realloc(pi->workers.v, cap * sizeof *pi->workers.v);
		if (!nv)
			return;
		pi->workers.v = nv;
		pi->workers.cap = cap;
	}
	snprintf(pi->workers.v[pi->workers.n++], SWB_SID_SIZE, "%s", wsid);
	node_worker_attach(n, wsid);
}

void node_worker_attach(struct node *n, const char *wsid)
{
	struct wconn *wc = swb_map_get(n->wconns, wsid);
	if (!wc) {
		wc = calloc(1, sizeof *wc);
		if (!wc || swb_map_put(n->wconns, wsid, wc) != 0) {
			free(wc);
			return;
		}
	}
	if (wc->grace_deadline)
		n->in_grace--;
	wc->grace_deadline = 0;
	wc->npipes++;
}

void node_worker_detach(struct node *n, const char *wsid, bool offline)
{
	struct wconn *wc = swb_map_get(n->wconns, wsid);
	if (!wc || --wc->npipes > 0 || !offline)
		return;
	int64_t deadline = swb_wall_ms() + n->opts.disconnect_grace_ms;
	wc->grace_deadline = deadline;
	n->in_grace++;
	if (deadline < n->grace_min_deadline)
		n->grace_min_deadline = deadline;
	swb_info("worker %s disconnected; grace %d ms", wsid, n->opts.disconnect_grace_ms);
}

void node_pipe_gone(struct node *n, uint32_t pipe)
{
	char key[16];
	snprintf(key, sizeof key, "%u", pipe);
	struct pipeinfo *pi = swb_map_del(n->pipes, key);
	if (!pi)
		return;
	for (size_t i = 0; i < pi->workers.n; i++)
		node_worker_detach(n, pi->workers.v[i], true);
	free(pi->workers.v);
	free(pi);
}

static void disconnect_worker(struct node *n, const char *wsid, int64_t now)
{
	struct wspace *w = node_ws_of_worker(n, wsid);
	if (!w)
		return;
	json_t *ws = NULL;
	node_exec(w, now, NULL, "workspace.fetch", NULL, &ws, NULL);
	const char *act = n->opts.disconnect_activity ? n->opts.disconnect_activity :
			  json_string_value(json_object_get(ws, "default_activity_sid"));
	json_t *args = json_pack("{s:s, s:s}", "sid", wsid, "activity_sid", act);
	struct swb_err err;
	if (node_exec(w, now, NULL, "workers.update", args, NULL, &err) != SWB_OK)
		swb_warn("disconnect of %s: %s", wsid, err.msg);
	else
		swb_info("worker %s moved to %s after its connection dropped", wsid, act);
	json_decref(args);
	json_decref(ws);
}

void node_tick(struct node *n, int64_t now)
{
	if (!n->in_grace || now < n->grace_min_deadline)
		return;
	n->grace_min_deadline = INT64_MAX;
	size_t pos = 0;
	const char *sid;
	void *v;
	while (swb_map_next(n->wconns, &pos, &sid, &v)) {
		struct wconn *wc = v;
		if (!wc->grace_deadline)
			continue;
		if (wc->grace_deadline <= now) {
			wc->grace_deadline = 0;
			n->in_grace--;
			disconnect_worker(n, sid, now);
		} else if (wc->grace_deadline < n->grace_min_deadline) {
			n->grace_min_deadline = wc->grace_deadline;
		}
	}
}

int64_t node_next_deadline(const struct node *n)
{
	const struct pull *first = pulls_first_deadline(n);
	int64_t d = first ? first->deadline : INT64_MAX;
	if (n->in_grace && n->grace_min_deadline < d)
		d = n->grace_min_deadline;
	int64_t h = node_http_next_deadline(n);
	return h < d ? h : d;
}

/* ---- events.next ---- */

/* Appends visible events after p->after to buf; returns how many, and moves *seq. */
static int collect(struct wspace *w, uint64_t after, int max, const char *wsid, char **buf, size_t *len,
		   uint64_t *seq)
{
	uint64_t durable = swb_eventlog_durable(w->events);
	int count = 0;
	*seq = after > durable ? durable : after;
	FILE *f = open_memstream(buf, len);
	if (!f)
		abort();
	for (uint64_t s = after + 1; s <= durable && count < max; s++) {
		const struct swb_evrec *r = swb_eventlog_get(w->events, s);
		*seq = s;
		if (!r || !swb_evrec_visible(r, wsid))
			continue;
		fprintf(f, "%s%s", count ? "," : "", r->json);
		count++;
	}
	if (count < max)
		*seq = durable;
	fclose(f);
	return count;
}

static void answer_events(struct node *n, swb_nng_req *req, json_int_t id, const char *events, uint64_t seq)
{
	char *body;
	size_t len;
	FILE *f = open_memstream(&body, &len);
	if (!f)
		abort();
	fprintf(f, "{\"v\":1,\"id\":%lld,\"ok\":true,\"result\":{\"seq\":%llu,\"events\":[%s]}}", (long long)id,
		(unsigned long long)seq, events);
	fclose(f);
	queue_out(n, req, body);
}

/* Answers p if it has events or its time is up; true when answered. */
static bool try_pull(struct node *n, struct pull *p, int64_t now)
{
	char *buf;
	size_t len;
	uint64_t seq;
	int count = collect(p->w, p->after, p->max, p->all ? NULL : p->worker_sid, &buf, &len, &seq);
	bool done = count > 0 || now >= p->deadline || n->stopping;
	if (done)
		answer_events(n, p->req, p->id, buf, seq);
	else if (seq > p->after)
		p->after = seq; /* nothing visible so far: skip what was scanned */
	free(buf);
	return done;
}

static void op_events_next(struct node *n, swb_nng_req *req, struct rq *q)
{
	bool bad = false;
	uint64_t durable = swb_eventlog_durable(q->w->events);
	json_t *after_v = json_object_get(q->args, "after");
	json_int_t after = arg_i(q->args, "after", (json_int_t)durable, 0, INT64_MAX, &bad);
	json_int_t wait = arg_i(q->args, "wait_ms", 0, 0, PULL_MAX_WAIT_MS, &bad);
	json_int_t max = arg_i(q->args, "max", PULL_DEFAULT_EVENTS, 1, PULL_MAX_EVENTS, &bad);
	static const char *const keys[] = { "after", "wait_ms", "max" };
	const char *k;
	json_t *v;
	json_object_foreach(q->args, k, v) {
		bool known = false;
		for (size_t i = 0; i < 3; i++)
			known |= strcmp(k, keys[i]) == 0;
		if (!known) {
			char msg[128];
			snprintf(msg, sizeof msg, "events.next: unknown argument '%.60s'", k);
			answer_err(n, req, q, SWB_EINVAL, msg);
			return;
		}
	}
	if (bad) {
		answer_err(n, req, q, SWB_EINVAL, "events.next: 'after' must be a sequence >= 0, 'wait_ms' 0..30000, 'max' 1..1000");
		return;
	}
	uint64_t oldest = swb_eventlog_oldest(q->w->events);
	if (after_v && oldest > 1 && (uint64_t)after + 1 < oldest) {
		answer_err(n, req, q, SWB_ERESYNC, "events.next: cursor is older than the node's event window; fetch a snapshot");
		return;
	}
	struct pull *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	*p = (struct pull){ .w = q->w, .req = req, .id = q->id, .after = (uint64_t)after, .max = (int)max,
			    .deadline = swb_wall_ms() + wait, .all = q->actor.kind != SWB_ACTOR_WORKER };
	if (q->actor.worker_sid)
		snprintf(p->worker_sid, sizeof p->worker_sid, "%s", q->actor.worker_sid);
	if (try_pull(n, p, wait ? swb_wall_ms() : INT64_MAX)) {
		free(p);
		return;
	}
	pulls_add(n, p);
}

static void finish_pull(struct node *n, struct pull *p)
{
	pulls_remove(n, p);
	free(p);
}

/* Tries the pulls of one key in workspace w (worker_sid NULL: the all-seeing ones). */
static void wake(struct node *n, struct wspace *w, const char *worker_sid, int64_t now)
{
	for (struct pull *p = pulls_of(n, worker_sid); p;) {
		struct pull *next = p->knext;
		if (p->w == w && try_pull(n, p, now))
			finish_pull(n, p);
		p = next;
	}
}

/* Events (from, to] of w became durable: wake the pulls they concern, each key once. */
static void wake_for_events(struct node *n, struct wspace *w, uint64_t from, uint64_t to, int64_t now)
{
	swb_map *done = swb_map_new();
	for (uint64_t s = from + 1; s <= to; s++) {
		const struct swb_evrec *r = swb_eventlog_get(w->events, s);
		if (!r || !r->worker_sid[0] || swb_map_get(done, r->worker_sid))
			continue;
		swb_map_put(done, r->worker_sid, (void *)1);
		wake(n, w, r->worker_sid, now);
	}
	swb_map_free(done);
	wake(n, w, NULL, now);
}

/* Answers the pulls whose wait is over (empty, so their cursors move on). */
static void expire_pulls(struct node *n, int64_t now)
{
	struct pull *p;
	while ((p = pulls_first_deadline(n)) && (p->deadline <= now || n->stopping)) {
		try_pull(n, p, INT64_MAX);
		finish_pull(n, p);
	}
}

static void flush_out(struct node *n);

void node_release_pulls(struct node *n)
{
	n->stopping = true;
	expire_pulls(n, INT64_MAX);
	flush_out(n);
}

/* ---- other node ops ---- */

static json_t *core_get(struct wspace *n, const struct swb_actor *a, const char *op, json_t *args)
{
	json_t *res = NULL;
	node_exec(n, swb_wall_ms(), a, op, args, &res, NULL);
	json_decref(args);
	return res;
}

/* Every item of a paged list op (page_size 1000 per call); args is stolen. */
json_t *node_list_all(struct wspace *n, const struct swb_actor *a, const char *op, const char *key, json_t *args)
{
	json_t *all = json_array();
	for (json_int_t page = 0;; page++) {
		json_t *pa = json_deep_copy(args);
		json_object_set_new(pa, "page", json_integer(page));
		json_object_set_new(pa, "page_size", json_integer(1000));
		json_t *res = core_get(n, a, op, pa);
		json_t *items = json_object_get(res, key);
		json_array_extend(all, items);
		size_t got = json_array_size(items);
		json_decref(res);
		if (got < 1000)
			break;
	}
	json_decref(args);
	return all;
}

static json_t *queues_with_stats(struct wspace *n, const struct swb_actor *a, json_t *filter)
{
	json_t *queues = node_list_all(n, a, "task_queues.list", "task_queues", filter);
	size_t i;
	json_t *q;
	json_array_foreach(queues, i, q) {
		json_t *stats = core_get(n, a, "task_queues.stats", json_pack("{s:O}", "sid", json_object_get(q, "sid")));
		json_object_set_new(q, "stats", stats ? stats : json_null());
	}
	return queues;
}

static json_t *snapshot(struct wspace *n, const struct rq *q)
{
	const struct swb_actor *a = &q->actor;
	json_t *s = json_pack("{s:I, s:o, s:o}", "seq", (json_int_t)swb_core_last_seq(n->core), "workspace",
			      core_get(n, a, "workspace.fetch", NULL), "activities",
			      node_list_all(n, a, "activities.list", "activities", json_object()));
	if (a->kind == SWB_ACTOR_WORKER) {
		json_object_set_new(s, "worker", core_get(n, a, "workers.fetch", json_pack("{s:s}", "sid", a->worker_sid)));
		json_t *res = node_list_all(n, a, "reservations.list", "reservations",
					    json_pack("{s:s, s:b}", "worker_sid", a->worker_sid, "active", 1));
		size_t i;
		json_t *r;
		json_array_foreach(res, i, r)
			json_object_set_new(r, "task", core_get(n, a, "tasks.fetch",
								 json_pack("{s:O}", "sid", json_object_get(r, "task_sid"))));
		json_object_set_new(s, "reservations", res);
		json_object_set_new(s, "task_queues",
				    queues_with_stats(n, a, json_pack("{s:s}", "worker_sid", a->worker_sid)));
	} else {
		json_object_set_new(s, "task_queues", queues_with_stats(n, a, json_object()));
		json_object_set_new(s, "workers", node_list_all(n, a, "workers.list", "workers", json_object()));
		json_object_set_new(s, "tasks", node_list_all(n, a, "tasks.list", "tasks",
							      json_pack("{s:s}", "assignment_status",
									"pending,reserved,assigned,wrapping")));
		json_object_set_new(s, "stats", core_get(n, a, "workspace.stats", NULL));
	}
	return s;
}

static json_t *hello(struct wspace *n, const struct rq *q)
{
	json_t *ws = core_get(n, &q->actor, "workspace.fetch", NULL);
	char scope[SWB_SCOPE_MAX_LEN];
	swb_scope_format(&q->claims, scope, sizeof scope);
	json_t *h = json_pack("{s:s, s:s, s:O, s:O, s:O, s:I, s:I, s:I}", "version", SWB_VERSION, "scope", scope,
			      "workspace_sid", json_object_get(ws, "sid"), "account_sid", json_object_get(ws, "account_sid"),
			      "workspace_name", json_object_get(ws, "friendly_name"), "seq",
			      (json_int_t)swb_eventlog_durable(n->events), "token_expires", (json_int_t)q->claims.exp,
			      "time_ms", (json_int_t)swb_wall_ms());
	json_object_set_new(h, "worker_sid", q->actor.worker_sid ? json_string(q->actor.worker_sid) : json_null());
	json_decref(ws);
	return h;
}

static json_t *ops_list(void)
{
	static const char *const scopes[] = { "worker", "supervisor", "admin" };
	json_t *arr = json_array();
	for (const struct swb_op_info *o = swb_core_ops(); o->name; o++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:s}", "op", o->name, "scope", scopes[o->scope],
						     "mutates", o->mutates, "summary", o->summary));
	static const char *const node_ops[][2] = { { "session.hello", "who am I, and the node's sequence" },
						   { "snapshot", "everything the caller may see, with its seq" },
						   { "events.next", "held cursor pull of events" },
						   { "events.list", "events with TaskRouter's filters, paged, memory and journal (supervisor)" },
						   { "stats.queue", "a queue's real-time and cumulative statistics" },
						   { "stats.workspace", "the workspace's real-time and cumulative statistics" },
						   { "stats.worker", "one worker's (sid) or every worker's statistics" },
						   { "ops.list", "this table" } };
	for (size_t i = 0; i < sizeof node_ops / sizeof node_ops[0]; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:s}", "op", node_ops[i][0], "scope", "worker",
						     "mutates", 0, "summary", node_ops[i][1]));
	json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:s}", "op", "tokens.twilio", "scope", "admin", "mutates", 0,
					     "summary", "a Twilio Access Token for twilio-taskrouter and the agent page"));
	return json_pack("{s:o}", "ops", arr);
}

/* Filters as TaskRouter's Events list (snake_case): event_type, task_sid, worker_sid, ... */
static bool evrec_matches(const struct swb_evrec *r, json_t *args, int64_t from, int64_t to)
{
	static const struct { const char *key; size_t off; } f[] = {
		{ "event_type", offsetof(struct swb_evrec, type) },
		{ "sid", offsetof(struct swb_evrec, sid) },
		{ "task_sid", offsetof(struct swb_evrec, task_sid) },
		{ "worker_sid", offsetof(struct swb_evrec, worker_sid) },
		{ "reservation_sid", offsetof(struct swb_evrec, reservation_sid) },
		{ "task_queue_sid", offsetof(struct swb_evrec, queue_sid) },
		{ "workflow_sid", offsetof(struct swb_evrec, workflow_sid) },
		{ "task_channel", offsetof(struct swb_evrec, channel) },
	};
	if (r->ts_ms < from || r->ts_ms > to)
		return false;
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		json_t *v = json_object_get(args, f[i].key);
		if (v && strcmp(json_string_value(v), (const char *)r + f[i].off) != 0)
			return false;
	}
	return true;
}

static enum swb_code events_list_args(json_t *args, int64_t *from, int64_t *to, struct swb_err *err)
{
	static const char *const keys[] = { "event_type", "sid", "task_sid", "worker_sid", "reservation_sid",
					    "task_queue_sid", "workflow_sid", "task_channel", "minutes",
					    "start_date", "end_date", "page", "page_size", NULL };
	const char *k;
	json_t *v;
	json_object_foreach(args, k, v) {
		bool known = false;
		for (const char *const *kk = keys; *kk && !known; kk++)
			known = strcmp(*kk, k) == 0;
		if (!known)
			return swb_err_set(err, SWB_EINVAL, "events.list: unknown argument '%.60s'", k);
		if (!json_is_string(v) && strcmp(k, "minutes") != 0 && strcmp(k, "page") != 0 && strcmp(k, "page_size") != 0)
			return swb_err_set(err, SWB_EINVAL, "events.list: '%s' must be a string", k);
	}
	int64_t now = swb_wall_ms();
	*to = now;
	*from = now - 15 * 60 * 1000; /* TaskRouter's default: the last 15 minutes */
	json_t *m = json_object_get(args, "minutes");
	if (m && (!json_is_integer(m) || json_integer_value(m) < 1 || json_integer_value(m) > 43200))
		return swb_err_set(err, SWB_EINVAL, "events.list: 'minutes' must be 1..43200");
	if (m)
		*from = now - json_integer_value(m) * 60 * 1000;
	const char *sd = json_string_value(json_object_get(args, "start_date"));
	const char *ed = json_string_value(json_object_get(args, "end_date"));
	if (sd && !swb_iso8601_parse(sd, from))
		return swb_err_set(err, SWB_EINVAL, "events.list: 'start_date' must be ISO 8601 (2026-11-26T00:00:00Z)");
	if (ed && !swb_iso8601_parse(ed, to))
		return swb_err_set(err, SWB_EINVAL, "events.list: 'end_date' must be ISO 8601 (2026-11-26T00:00:00Z)");
	return SWB_OK;
}

enum swb_code node_events_list(struct wspace *n, const struct swb_actor *a, json_t *q_args, json_t **out,
			       struct swb_err *err)
{
	if (a->kind == SWB_ACTOR_WORKER)
		return swb_err_set(err, SWB_EPERM, "events.list needs a supervisor or admin token");
	int64_t from, to;
	json_t *args = q_args ? q_args : json_object();
	enum swb_code rc = events_list_args(args, &from, &to, err);
	if (rc == SWB_OK)
		rc = node_events_query(n, args, from, to, evrec_matches, out, err);
	if (!q_args)
		json_decref(args);
	return rc;
}

/* ---- workspaces (node level) ---- */

static enum swb_code workspaces_op(struct node *n, const struct rq *q, json_t **out, struct swb_err *err)
{
	bool admin = q->actor.kind == SWB_ACTOR_ADMIN;
	if (strcmp(q->op, "workspaces.list") == 0) {
		if (q->actor.kind == SWB_ACTOR_WORKER)
			return swb_err_set(err, SWB_EPERM, "workspaces.list needs a supervisor or admin token");
		json_t *arr = json_array();
		for (size_t i = 0; i < n->nws; i++)
			json_array_append_new(arr, core_get(n->ws[i], NULL, "workspace.fetch", NULL));
		*out = json_pack("{s:o}", "workspaces", arr);
		return SWB_OK;
	}
	if (!admin)
		return swb_err_set(err, SWB_EPERM, "%s needs an admin token", q->op);
	if (strcmp(q->op, "workspaces.create") == 0) {
		json_t *doc = q->args ? q->args : json_object();
		struct wspace *w;
		enum swb_code rc = node_ws_create(n, doc, &w, err);
		if (!q->args)
			json_decref(doc);
		if (rc == SWB_OK)
			*out = core_get(w, NULL, "workspace.fetch", NULL);
		return rc;
	}
	if (strcmp(q->op, "workspaces.delete") == 0) {
		const char *sid = json_string_value(json_object_get(q->args, "sid"));
		struct wspace *w = sid ? node_ws_find(n, sid) : NULL;
		if (!w)
			return swb_err_set(err, SWB_ENOTFOUND, "no workspace '%s'", sid ? sid : "(missing sid)");
		if (w == n->ws[0])
			return swb_err_set(err, SWB_ECONFLICT, "the default workspace cannot be deleted");
		node_ws_delete(n, w);
		*out = json_object();
		return SWB_OK;
	}
	return swb_err_set(err, SWB_EUNKNOWN, "unknown op '%s'", q->op);
}

/* ---- Twilio Access Tokens (node level) ---- */

#define TWILIO_TOKEN_TTL_DEFAULT 3600  /* twilio-node's AccessToken default */
#define TWILIO_TOKEN_TTL_MAX 86400     /* Twilio refuses Access Tokens valid for more than 24 h */

/*
 * tokens.twilio {worker: NAME|WK.., ttl?: seconds, role?: worker|supervisor|admin, identity?}: a Twilio
 * Access Token (TaskRouter grant) signed with the node's API key, for twilio-taskrouter's Worker and the
 * browser agent page (/agent/?token=...). Admin only: it mints credentials.
 */
static enum swb_code tokens_twilio(struct node *n, const struct rq *q, json_t **out, struct swb_err *err)
{
	if (q->actor.kind != SWB_ACTOR_ADMIN)
		return swb_err_set(err, SWB_EPERM, "tokens.twilio needs an admin token");
	const char *worker = NULL, *role = "worker", *identity = NULL;
	json_int_t ttl = TWILIO_TOKEN_TTL_DEFAULT;
	json_error_t je;
	json_t *args = q->args ? q->args : json_object();
	int bad = json_unpack_ex(args, &je, JSON_STRICT, "{s?s, s?I, s?s, s?s}", "worker", &worker, "ttl", &ttl, "role",
				 &role, "identity", &identity);
	if (!q->args)
		json_decref(args);
	if (bad)
		return swb_err_set(err, SWB_EINVAL, "tokens.twilio: %s", je.text);
	if (ttl < 1 || ttl > TWILIO_TOKEN_TTL_MAX)
		return swb_err_set(err, SWB_EINVAL, "tokens.twilio: 'ttl' must be 1..%d seconds", TWILIO_TOKEN_TTL_MAX);
	if (strcmp(role, "worker") != 0 && strcmp(role, "supervisor") != 0 && strcmp(role, "admin") != 0)
		return swb_err_set(err, SWB_EINVAL, "tokens.twilio: 'role' must be worker, supervisor or admin");
	if (!worker && strcmp(role, "worker") == 0)
		return swb_err_set(err, SWB_EINVAL, "tokens.twilio: give 'worker' (a name or WK sid)");
	struct swb_twilio_claims c = { 0 };
	if (worker) {
		json_t *wk = NULL, *fa = json_pack("{s:s}", "sid", worker);
		enum swb_code rc = node_exec(q->w, swb_wall_ms(), NULL, "workers.fetch", fa, &wk, err);
		json_decref(fa);
		if (rc != SWB_OK)
			return rc;
		snprintf(c.worker_sid, sizeof c.worker_sid, "%s", json_string_value(json_object_get(wk, "sid")));
		snprintf(c.identity, sizeof c.identity, "%s", json_string_value(json_object_get(wk, "friendly_name")));
		json_decref(wk);
	}
	if (identity)
		snprintf(c.identity, sizeof c.identity, "%s", identity);
	snprintf(c.api_key_sid, sizeof c.api_key_sid, "%s", n->api_key_sid);
	snprintf(c.account_sid, sizeof c.account_sid, "%s", n->account_sid);
	snprintf(c.workspace_sid, sizeof c.workspace_sid, "%s", q->w->sid);
	snprintf(c.role, sizeof c.role, "%s", role);
	c.iat = swb_wall_ms() / 1000;
	c.exp = c.iat + ttl;
	char *tok = NULL;
	enum swb_code rc = swb_twilio_token_sign((const unsigned char *)n->api_key_secret, strlen(n->api_key_secret), &c,
						&tok, err);
	if (rc != SWB_OK)
		return rc;
	char expires[SWB_ISO_SIZE];
	swb_iso8601(c.exp * 1000, expires);
	*out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "token", tok, "account_sid", c.account_sid,
			 "workspace_sid", c.workspace_sid, "role", c.role, "identity", c.identity, "exp", (json_int_t)c.exp,
			 "expires", expires);
	json_object_set_new(*out, "worker_sid", c.worker_sid[0] ? json_string(c.worker_sid) : json_null());
	const char *http = n->opts.http_addr ? n->opts.http_addr : "127.0.0.1:7412";
	if (strcmp(http, "none") != 0) {
		const char *s = n->opts.tls_cert ? "s" : "";
		char url[SWB_TOKEN_MAX_LEN + 256];
		snprintf(url, sizeof url, "ws%s://%s/v1/wschannels", s, http);
		json_object_set_new(*out, "ws_server", json_string(url));
		snprintf(url, sizeof url, "http%s://%s/v1/wschannels", s, http);
		json_object_set_new(*out, "eb_server", json_string(url));
		if (c.worker_sid[0]) {
			snprintf(url, sizeof url, "http%s://%s/agent/?token=%s", s, http, tok);
			json_object_set_new(*out, "agent_url", json_string(url));
		}
	}
	free(tok);
	return SWB_OK;
}

/* ---- dispatch ---- */

static void run(struct node *n, swb_nng_req *req, struct rq *q)
{
	struct swb_err err = { 0 };
	if (strcmp(q->op, "events.next") == 0) {
		if (!q->args)
			q->args = json_object(), json_object_set_new(q->root, "args", q->args);
		op_events_next(n, req, q);
		return;
	}
	json_t *result = NULL;
	enum swb_code rc = SWB_OK;
	if (strcmp(q->op, "session.hello") == 0)
		result = hello(q->w, q);
	else if (strcmp(q->op, "snapshot") == 0)
		result = snapshot(q->w, q);
	else if (strcmp(q->op, "ops.list") == 0)
		result = ops_list();
	else if (strcmp(q->op, "events.list") == 0)
		rc = node_events_list(q->w, &q->actor, q->args, &result, &err);
	else if (strcmp(q->op, "stats.queue") == 0)
		rc = stats_queue(q->w, &q->actor, q->args, &result, &err);
	else if (strcmp(q->op, "stats.workspace") == 0)
		rc = stats_workspace(q->w, &q->actor, q->args, &result, &err);
	else if (strcmp(q->op, "stats.worker") == 0)
		rc = stats_worker(q->w, &q->actor, q->args, &result, &err);
	else if (strncmp(q->op, "workspaces.", 11) == 0)
		rc = workspaces_op(n, q, &result, &err);
	else if (strcmp(q->op, "tokens.twilio") == 0)
		rc = tokens_twilio(n, q, &result, &err);
	else if (strncmp(q->op, "calls.", 6) == 0)
		rc = calls_op(n, q->w, &q->actor, q->op, q->args, &result, &err);
	else
		rc = node_exec(q->w, swb_wall_ms(), &q->actor, q->op, q->args, &result, &err);
	if (rc == SWB_OK)
		answer_ok(n, req, q, result);
	else
		answer_err(n, req, q, rc, err.msg);
}

void node_handle_nng(struct node *n, swb_nng_req *req)
{
	size_t len;
	const char *body = swb_nng_req_body(req, &len);
	node_handle_request(n, req, body, len, swb_nng_req_pipe(req));
}

void node_handle_request(struct node *n, swb_nng_req *req, const char *body, size_t len, uint32_t pipe)
{
	struct rq q = { .pipe = pipe };
	struct swb_err err;
	n->requests++;
	enum swb_code rc = decode(body, len, &q, &err);
	if (rc == SWB_OK)
		rc = authenticate(n, &q, &err);
	if (rc != SWB_OK) {
		answer_err(n, req, &q, rc, err.msg);
	} else {
		if (q.actor.kind == SWB_ACTOR_WORKER)
			note_pipe(n, q.pipe, q.actor.worker_sid);
		run(n, req, &q);
	}
	json_decref(q.root);
}

/* ---- commit ---- */

static void flush_out(struct node *n)
{
	for (struct outmsg *m = n->out_head; m; m = n->out_head) {
		n->out_head = m->next;
		if (m->req)
			swb_nng_reply(m->req, m->body, m->len);
		else if (n->http)
			swb_http_respond(n->http, m->conn, m->status, m->ctype, m->headers, m->body, m->len);
		free(m->body);
		free(m->ctype);
		free(m->headers);
		free(m);
	}
	n->out_tail = NULL;
}

/* Hands every newly durable event of w to the event hooks, once, in order. */
static void run_hooks(struct wspace *w)
{
	uint64_t durable = swb_eventlog_durable(w->events);
	for (uint64_t s = w->hooked_seq + 1; s <= durable; s++) {
		const struct swb_evrec *r = swb_eventlog_get(w->events, s);
		if (r)
			node_on_event(w, r);
	}
	w->hooked_seq = durable;
}

void node_commit_and_flush(struct node *n, int64_t now)
{
	uint64_t before[n->nws ? n->nws : 1];
	for (size_t i = 0; i < n->nws; i++) {
		struct wspace *w = n->ws[i];
		node_journal_commit(w);
		before[i] = swb_eventlog_durable(w->events);
		swb_eventlog_mark_durable(w->events, swb_core_last_seq(w->core));
	}
	flush_out(n);
	for (size_t i = 0; i < n->nws; i++) {
		uint64_t after = swb_eventlog_durable(n->ws[i]->events);
		if (after > before[i])
			wake_for_events(n, n->ws[i], before[i], after, now);
	}
	expire_pulls(n, now);
	flush_out(n); /* answers to pulls */
	for (size_t i = 0; i < n->nws; i++)
		run_hooks(n->ws[i]);
	int64_t wall = swb_wall_ms();
	for (size_t i = 0; i < n->nws; i++)
		node_journal_maintain(n->ws[i], wall); /* after the answers: a rotation delays no one's reply */
}

void node_drop_pulls(struct node *n, struct wspace *w)
{
	for (struct pull *p = n->pulls; p;) {
		struct pull *next = p->next;
		if (p->w == w) {
			answer_events(n, p->req, p->id, "", 0);
			finish_pull(n, p);
		}
		p = next;
	}
}
