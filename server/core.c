/*
 * core.c - the routing core's lifecycle, event emission, timer heap and the
 * exec/tick entry points. Resource handlers live in core_ops.c, routing in
 * core_routing.c, worker membership in core_workers.c.
 */
#include "core_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *core_alloc(size_t n)
{
	void *p = calloc(1, n);
	if (!p) {
		fprintf(stderr, "swb: out of memory allocating %zu bytes\n", n);
		abort();
	}
	return p;
}

char *core_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = core_alloc(n);
	memcpy(p, s, n);
	return p;
}

void vec_push(struct vec *v, void *p)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void **nv = realloc(v->v, cap * sizeof *nv);
		if (!nv)
			abort();
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = p;
}

void task_list_add(swb_core *c, struct task *t)
{
	t->all_prev = c->task_tail;
	t->all_next = NULL;
	if (c->task_tail)
		c->task_tail->all_next = t;
	else
		c->task_head = t;
	c->task_tail = t;
	c->ntasks++;
}

void task_list_remove(swb_core *c, struct task *t)
{
	if (t->all_prev)
		t->all_prev->all_next = t->all_next;
	else
		c->task_head = t->all_next;
	if (t->all_next)
		t->all_next->all_prev = t->all_prev;
	else
		c->task_tail = t->all_prev;
	t->all_prev = t->all_next = NULL;
	c->ntasks--;
}

/* Removes p keeping order; O(n), used only for deletes of configuration-sized vectors and task purges. */
void vec_remove(struct vec *v, void *p)
{
	for (size_t i = v->n; i-- > 0;) {
		if (v->v[i] == p) {
			memmove(&v->v[i], &v->v[i + 1], (v->n - i - 1) * sizeof *v->v);
			v->n--;
			return;
		}
	}
}

/* Steals data. Without a sink (configuration loading) nothing is emitted and no seq is used. */
void core_emit(swb_core *c, const char *type, const char *rtype, const char *rsid, const char *desc, json_t *data)
{
	if (!c->sink) {
		json_decref(data);
		return;
	}
	char sid[SWB_SID_SIZE];
	swb_sid_make(&c->rng, "EV", sid);
	c->seq++;
	if (!data)
		data = json_object();
	json_object_set_new(data, "workspace_sid", json_string(c->ws_sid));
	json_object_set_new(data, "workspace_name", json_string(c->ws_name));
	json_object_set_new(data, "account_sid", json_string(c->account_sid));
	struct swb_event ev = {
		.seq = c->seq, .sid = sid, .type = type, .ts_ms = c->now, .resource_type = rtype,
		.resource_sid = rsid, .description = desc, .data = data,
	};
	c->sink(c->sink_ctx, &ev);
	json_decref(data);
}

/* ---- timer heap (min-heap on `at`; stale entries are skipped when popped) ---- */

#define TIMER_COMPACT_MIN 1024 /* timers held before the first compaction: a small heap needs none */

/*
 * A total order, so timers due at the same moment always fire in the same order
 * whatever the heap's shape: a core restored from a snapshot then behaves exactly
 * like the one it was taken from.
 */
static bool timer_before(const struct timer *a, const struct timer *b)
{
	if (a->at != b->at)
		return a->at < b->at;
	if (a->kind != b->kind)
		return a->kind < b->kind;
	int c = strcmp(a->sid, b->sid);
	if (c != 0)
		return c < 0;
	return a->gen < b->gen;
}

static void heap_swap(struct timer *a, struct timer *b)
{
	struct timer t = *a;
	*a = *b;
	*b = t;
}

void timer_add(swb_core *c, int64_t at, enum timer_kind kind, const char *sid, uint64_t gen)
{
	if (c->ntimers == c->captimers) {
		size_t cap = c->captimers ? c->captimers * 2 : 64;
		struct timer *nt = realloc(c->timers, cap * sizeof *nt);
		if (!nt)
			abort();
		c->timers = nt;
		c->captimers = cap;
	}
	size_t i = c->ntimers++;
	c->timers[i] = (struct timer){ .at = at, .kind = kind, .gen = gen };
	memcpy(c->timers[i].sid, sid, SWB_SID_SIZE);
	while (i > 0 && timer_before(&c->timers[i], &c->timers[(i - 1) / 2])) {
		heap_swap(&c->timers[i], &c->timers[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static void timer_sift_down(swb_core *c, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < c->ntimers && timer_before(&c->timers[l], &c->timers[m]))
			m = l;
		if (r < c->ntimers && timer_before(&c->timers[r], &c->timers[m]))
			m = r;
		if (m == i)
			break;
		heap_swap(&c->timers[i], &c->timers[m]);
		i = m;
	}
}

static struct timer timer_pop(swb_core *c)
{
	struct timer top = c->timers[0];
	c->timers[0] = c->timers[--c->ntimers];
	timer_sift_down(c, 0);
	return top;
}

/* True while the timer would still act: stale entries (their object gone or moved on) are skipped. */
static bool timer_live(swb_core *c, const struct timer *tm)
{
	struct reservation *r;
	struct task *t;
	switch (tm->kind) {
	case TM_RESERVATION:
		r = find_reservation(c, tm->sid);
		return r && r->st == R_PENDING && r->deadline == tm->at;
	case TM_TARGET:
		t = find_task(c, tm->sid);
		return t && t->target_gen == tm->gen && t->waiting && t->target_deadline == tm->at;
	case TM_TASK_TTL:
		t = find_task(c, tm->sid);
		return t && (t->st == T_PENDING || t->st == T_RESERVED) && t->ttl_deadline == tm->at;
	case TM_PURGE:
		t = find_task(c, tm->sid);
		return t && (t->st == T_COMPLETED || t->st == T_CANCELED) &&
		       t->finished + SWB_TASK_RETENTION_MS == tm->at;
	}
	return false;
}

static void fire_timer(swb_core *c, const struct timer *tm)
{
	if (!timer_live(c, tm))
		return;
	switch (tm->kind) {
	case TM_RESERVATION:
		reservation_timeout(c, find_reservation(c, tm->sid));
		break;
	case TM_TARGET:
		task_on_target_timeout(c, find_task(c, tm->sid));
		break;
	case TM_TASK_TTL:
		task_cancel(c, find_task(c, tm->sid), "Task TTL Exceeded", "task.canceled");
		break;
	case TM_PURGE:
		task_finish_cleanup(c, find_task(c, tm->sid));
		break;
	}
}

/*
 * Rebuilds the heap from its live timers. A stale timer never becomes live again,
 * and the firing order does not depend on the heap's shape (timer_before).
 */
static void compact_timers(swb_core *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->ntimers; i++)
		if (timer_live(c, &c->timers[i]))
			c->timers[n++] = c->timers[i];
	c->ntimers = n;
	for (size_t i = n / 2; i-- > 0;)
		timer_sift_down(c, i);
	c->timers_compact_at = n * 2 > TIMER_COMPACT_MIN ? n * 2 : TIMER_COMPACT_MIN;
}

/*
 * Pops stale timers off the top, so swb_core_next_deadline reports a live one.
 * Stale timers deeper in the heap (a finished task's 24 h TTL) are dropped by a
 * compaction whenever the heap has doubled since the last one: amortized O(1).
 */
static void drop_stale_timers(swb_core *c)
{
	while (c->ntimers > 0 && !timer_live(c, &c->timers[0]))
		timer_pop(c);
	if (c->ntimers >= c->timers_compact_at)
		compact_timers(c);
}

static void advance(swb_core *c, int64_t now)
{
	if (now > c->now)
		c->now = now;
}

void swb_core_tick(swb_core *c, int64_t now)
{
	/* Each timer acts at its own due time, so the outcome does not depend on how late the tick is. */
	while (c->ntimers > 0 && c->timers[0].at <= now) {
		struct timer tm = timer_pop(c);
		advance(c, tm.at);
		fire_timer(c, &tm);
	}
	advance(c, now);
	drop_stale_timers(c);
}

size_t swb_core_timer_count(const swb_core *c)
{
	return c->ntimers;
}

int64_t swb_core_next_deadline(const swb_core *c)
{
	return c->ntimers ? c->timers[0].at : INT64_MAX;
}

uint64_t swb_core_last_seq(const swb_core *c)
{
	return c->seq;
}

void swb_core_set_sink(swb_core *c, swb_event_sink sink, void *ctx)
{
	c->sink = sink;
	c->sink_ctx = ctx;
}

enum swb_code swb_core_exec(swb_core *c, int64_t now, const struct swb_actor *actor, const char *op,
			    json_t *args, json_t **result, struct swb_err *err)
{
	/* Timers due now fire first, so a late accept cannot beat its own timeout. */
	swb_core_tick(c, now);
	json_t *empty = NULL;
	if (!args)
		args = empty = json_object();
	if (!json_is_object(args)) {
		json_decref(empty);
		return swb_err_set(err, SWB_EINVAL, "%s: arguments must be a JSON object", op ? op : "?");
	}
	static const struct swb_actor system_actor = { SWB_ACTOR_SYSTEM, NULL };
	enum swb_code rc = core_dispatch(c, actor ? actor : &system_actor, op, args, result, err);
	drop_stale_timers(c);
	json_decref(empty);
	return rc;
}

enum swb_code swb_core_sys(swb_core *c, int64_t now, const char *op, json_t *args, json_t **result,
			   struct swb_err *err)
{
	return swb_core_exec(c, now, NULL, op, args, result, err);
}

/* ---- construction ---- */

static struct activity *add_activity(swb_core *c, const char *name, bool available)
{
	struct activity *a = core_alloc(sizeof *a);
	swb_sid_make(&c->rng, "WA", a->sid);
	a->name = core_strdup(name);
	a->available = available;
	a->idx = c->next_act_idx++;
	a->created = a->updated = c->now;
	vec_push(&c->activities, a);
	swb_map_put(c->by_sid, a->sid, a);
	swb_map_put(c->activity_names, a->name, a);
	return a;
}

static void add_channel(swb_core *c, const char *unique, const char *friendly)
{
	struct channel *ch = core_alloc(sizeof *ch);
	swb_sid_make(&c->rng, "TC", ch->sid);
	ch->unique_name = core_strdup(unique);
	ch->friendly_name = core_strdup(friendly);
	ch->idx = (int)c->channels.n;
	ch->created = ch->updated = c->now;
	vec_push(&c->channels, ch);
	swb_map_put(c->by_sid, ch->sid, ch);
	swb_map_put(c->channel_names, ch->unique_name, ch);
}

static void add_defaults(swb_core *c)
{
	c->default_act = c->timeout_act = add_activity(c, "Offline", false);
	add_activity(c, "Available", true);
	add_activity(c, "Unavailable", false);
	add_activity(c, "Break", false);
	add_channel(c, "default", "Default");
	add_channel(c, "voice", "Voice");
	add_channel(c, "chat", "Chat");
	add_channel(c, "sms", "SMS");
	add_channel(c, "video", "Video");
}

swb_core *swb_core_new(const struct swb_core_opts *o)
{
	swb_core *c = core_alloc(sizeof *c);
	swb_rng_seed(&c->rng, o->seed);
	c->now = o->now_ms;
	c->sink = o->sink;
	c->sink_ctx = o->sink_ctx;
	if (o->account_sid)
		snprintf(c->account_sid, sizeof c->account_sid, "%s", o->account_sid);
	else
		swb_sid_make(&c->rng, "AC", c->account_sid);
	if (o->workspace_sid)
		snprintf(c->ws_sid, sizeof c->ws_sid, "%s", o->workspace_sid);
	else
		swb_sid_make(&c->rng, "WS", c->ws_sid);
	c->ws_name = core_strdup(o->friendly_name ? o->friendly_name : "Switchboard");
	c->ws_created = c->ws_updated = c->now;
	c->multitasking = true;
	c->timers_compact_at = TIMER_COMPACT_MIN;
	c->by_sid = swb_map_new();
	c->worker_names = swb_map_new();
	c->activity_names = swb_map_new();
	c->channel_names = swb_map_new();
	c->queue_names = swb_map_new();
	c->workflow_names = swb_map_new();
	if (!c->by_sid || !c->worker_names || !c->activity_names || !c->channel_names || !c->queue_names ||
	    !c->workflow_names)
		abort();
	if (!o->no_default_resources)
		add_defaults(c);
	return c;
}

static void free_task(struct task *t)
{
	struct reservation *r = t->r_head;
	while (r) {
		struct reservation *next = r->t_next;
		free(r);
		r = next;
	}
	json_decref(t->attrs);
	free(t->reason);
	free(t->excl);
	if (t->cfg)
		wfconfig_release(t->cfg);
	free(t);
}

static void free_queue(struct queue *q)
{
	struct bucket *b = q->buckets;
	while (b) {
		struct bucket *next = b->next;
		free(b);
		b = next;
	}
	swb_expr_free(q->target);
	free(q->target_src);
	free(q->name);
	free(q);
}

void swb_core_free(swb_core *c)
{
	if (!c)
		return;
	for (struct task *t = c->task_head; t;) {
		struct task *next = t->all_next;
		free_task(t);
		t = next;
	}
	for (size_t i = 0; i < c->workflows.n; i++) {
		struct workflow *wf = c->workflows.v[i];
		wfconfig_release(wf->cfg);
		free(wf->name);
		free(wf->acb_url);
		free(wf->fallback_url);
		free(wf);
	}
	for (size_t i = 0; i < c->workers.n; i++) {
		struct worker *w = c->workers.v[i];
		for (size_t j = 0; j < w->nmem; j++)
			free(w->mem[j]);
		free(w->mem);
		json_decref(w->attrs);
		free(w->name);
		free(w);
	}
	for (size_t i = 0; i < c->queues.n; i++)
		free_queue(c->queues.v[i]);
	for (size_t i = 0; i < c->activities.n; i++) {
		struct activity *a = c->activities.v[i];
		free(a->name);
		free(a);
	}
	for (size_t i = 0; i < c->channels.n; i++) {
		struct channel *ch = c->channels.v[i];
		free(ch->unique_name);
		free(ch->friendly_name);
		free(ch);
	}
	free(c->activities.v);
	free(c->channels.v);
	free(c->workers.v);
	free(c->queues.v);
	free(c->workflows.v);
	free(c->timers);
	swb_map_free(c->by_sid);
	swb_map_free(c->worker_names);
	swb_map_free(c->activity_names);
	swb_map_free(c->channel_names);
	swb_map_free(c->queue_names);
	swb_map_free(c->workflow_names);
	json_decref(c->events_filter);
	free(c->event_callback_url);
	free(c->ws_name);
	free(c);
}
