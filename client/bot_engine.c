/*
 * bot_engine.c - swb-bot's engine: many workers and a call generator on one
 * epoll loop with a timer heap, and a pool of request threads.
 *
 * Threads: the loop thread owns every worker, the generator, the timers and
 * the figures. Request threads only run swb_client_call on a job and hand it
 * back through a locked done-queue plus an eventfd. A job names its lane (a
 * worker's or one of the generator's two); a lane has at most one job in
 * flight, so a worker's requests reach the node in the order it made them, and
 * a client is never closed while a job uses it.
 *
 * A worker's life: open its client, fetch the snapshot (its reservations and
 * activity), follow events after the snapshot's sequence, set itself
 * Available. Each reservation.created draws a decision from the policy; accept
 * and reject are sent after a think time; an accepted task is moved to
 * wrapping after the handle time and completed after the wrap-up time. A
 * worker moved out of Available by the node (a reservation timed out, the
 * disconnect grace ran out) goes back after the recover time. Breaks and chaos
 * disconnects come from their own timers.
 */
#define _GNU_SOURCE
#include "bot_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "bot_hist.h"
#include "map.h"
#include "swb_client.h"
#include "timefmt.h"

#define SID_MAX 64               /* SIDs are 34 bytes; room to spare */
#define ACT_NAME_MAX 257         /* activity names are at most 256 bytes (docs/protocol.md) */
#define LIST_PAGE 1000           /* workers.list page size (the node's maximum) */
#define EVENTS_PER_WAKE 256      /* events taken from one client before looking at the others */
#define RETRY_MS 500             /* wait before retrying a request that found the node unreachable */
#define EXIT_WAIT_MS 3000        /* longest wait for the exit activity updates */
#define LOOP_MAX_SLEEP_MS 1000
#define OUTSTANDING_LISTED 20    /* outstanding task SIDs named in the report */
#define MAX_ERRORS_LOGGED 10     /* request errors written to the log; later ones are only counted */
#define TASK_REASON_ABANDON "caller hung up while waiting"
#define TASK_REASON_DONE "handled by swb-bot"

/* Epoll sources are told apart by tag in the event's data. */
enum src_kind { SRC_STOP = 1, SRC_DONE, SRC_WORKER, SRC_GEN };
struct src {
	enum src_kind kind;
	struct worker *w;
};

/* ---- jobs and lanes ---- */

enum job_kind {
	J_HELLO,
	J_SNAPSHOT,
	J_AVAILABLE,
	J_RECOVER,
	J_BREAK,
	J_ACCEPT,
	J_RECHECK,
	J_REJECT,
	J_WRAP,
	J_COMPLETE,
	J_EXIT,
	J_CREATE,
	J_CANCEL,
	J_FETCH,
};

struct lane;
struct worker;

struct job {
	enum job_kind kind;
	struct worker *w; /* NULL: the generator's */
	struct lane *lane;
	swb_client *c;    /* set when submitted */
	const char *op;   /* a static string */
	json_t *args;     /* owned */
	json_t *alt;      /* owned: J_CREATE's tasks.create form, for a fallback from calls.create */
	uint64_t ref;     /* a reservation id, or a struct gen_task * */
	int attempts;
	enum swb_code rc;
	struct swb_err err;
	json_t *result;
	struct job *next;
};

struct lane {
	swb_client *c;
	struct job *head, *tail;
	bool busy;
};

/* ---- workers ---- */

enum res_state { RS_DECIDING, RS_IGNORED, RS_ANSWERING, RS_HANDLING, RS_WRAPPING, RS_COMPLETING };

struct res {
	uint64_t id;
	char sid[SID_MAX], task_sid[SID_MAX];
	enum res_state st;
	enum swb_bot_decision decision;
	struct res *next;
};

struct worker {
	swb_bot *b;
	size_t idx;
	char *name;
	char sid[SID_MAX];
	char *token;
	struct lane lane;
	struct src src;
	swb_rng rng;
	uint64_t cursor;      /* saved across a chaos disconnect */
	struct res *res;
	size_t nres;
	bool started, ready, following, disconnected, disconnect_due;
	bool available;       /* as the node last said */
	bool want_available;  /* false while on a break or exiting */
	bool break_due, on_break, recover_armed, exit_sent;
};

/* ---- the generator ---- */

struct gen_task {
	char sid[SID_MAX];
	char call_sid[SID_MAX];
	int64_t created_ms;   /* event_date_ms of task.created (0: not seen yet) */
	bool answered, final, fetching;
	char status[16];
	char *reason;
	struct gen_task *next_all;
};

struct gen {
	struct lane create, cancel; /* create's client also follows every event */
	struct src src;
	swb_rng rng;
	enum swb_bot_via via;
	bool via_settled, stopped;
	swb_map *tasks;       /* task SID -> struct gen_task */
	swb_map *calls;       /* call SID -> struct gen_task */
	struct gen_task *all;
	uint64_t placed, place_failed, abandon_armed, hung_up, hangup_late;
	uint64_t created, answered, completed, canceled, canceled_no_reason, deleted;
	json_t *reasons;      /* reason -> count */
	struct swb_hist answer_us;
	uint64_t lanes_busy_skips;
};

/* ---- timers ---- */

enum timer_kind {
	T_THINK,
	T_HANDLE,
	T_WRAPUP,
	T_BREAK_DUE,
	T_BREAK_END,
	T_DISCONNECT,
	T_RECONNECT,
	T_RECOVER,
	T_RETRY,
	T_SUMMARY,
	T_GEN_CALL,
	T_GEN_ABANDON,
};

struct timer {
	int64_t at;
	uint64_t seq;
	enum timer_kind kind;
	struct worker *w;
	uint64_t ref;
};

/* ---- the engine ---- */

struct counts {
	uint64_t seen, decided_accept, decided_reject, decided_ignore;
	uint64_t accepted, rejected, timed_out, canceled, rescinded, stale;
	uint64_t wrapped, completed, breaks, recoveries, disconnects, reconnects, errors, resyncs;
};

enum phase { PH_RUN, PH_DRAIN, PH_EXIT, PH_DONE };

struct swb_bot {
	struct swb_bot_config cfg;
	char *url, *data_dir, *admin_token, *available_act, *break_act, *exit_act, *call_to, *workflow, *ready_file;
	FILE *log;

	struct worker **w;
	size_t nw, capw;
	size_t nready, nconnected;
	bool ready_told;
	uint64_t next_res_id;

	int epfd, stop_fd, done_fd;
	struct src stop_src, done_src;
	atomic_int stop_requests;
	int stops_seen;
	enum phase phase;
	int64_t start_ms, run_until, drain_ms, drain_until, exit_until, end_ms;

	struct timer *heap;
	size_t nheap, capheap;
	uint64_t timer_seq;

	pthread_t threads[SWB_BOT_MAX_CALL_THREADS];
	int nthreads;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct job *todo_head, *todo_tail, *done_head, *done_tail;
	bool pool_stop;
	size_t jobs_out; /* submitted and not yet handled */

	struct counts n;
	struct swb_hist latency_us;
	struct gen *gen;
	char last_error[SWB_ERR_MSG_MAX];
	char default_act[ACT_NAME_MAX], timeout_act[ACT_NAME_MAX]; /* the workspace's, from a snapshot */

	swb_bot_seen_fn *seen_fn;
	void *seen_ctx;
};

static int64_t now_ms(void)
{
	return swb_mono_ms();
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void copy_sid(char dst[SID_MAX], const char *src)
{
	snprintf(dst, SID_MAX, "%s", src ? src : "");
}

static void note_error(swb_bot *b, const char *who, const struct swb_err *err)
{
	b->n.errors++;
	int n = snprintf(b->last_error, sizeof b->last_error, "%.60s: %s: ", who, swb_code_name(err->code));
	if (n > 0 && (size_t)n < sizeof b->last_error)
		snprintf(b->last_error + n, sizeof b->last_error - (size_t)n, "%.*s", (int)(sizeof b->last_error - (size_t)n - 1),
			 err->msg);
	if (b->n.errors <= MAX_ERRORS_LOGGED)
		fprintf(b->log, "swb-bot: %s%s\n", b->last_error,
			b->n.errors == MAX_ERRORS_LOGGED ? " (further errors are only counted)" : "");
}

/* ---- closing clients off the loop ---- */

/*
 * swb_client_close can hang for good inside nng 1.5.2's nng_close when the
 * socket had requests in flight (nanomsg/nng#1543, fixed upstream after the
 * version Debian ships). A hung close must not stop the loop (every other
 * worker would stall) or the exit, so clients are closed by helper threads:
 * a hung one costs its thread and its client, nothing else. The last of the
 * threads and the waiter to let go of the batch frees it.
 */
#define CLOSE_THREADS 16          /* closers for a batch (at exit: every client at once) */
#define CLOSE_WAIT_MS 10000       /* how long the exit waits for its closes */

struct close_batch {
	swb_client **v;
	size_t n;
	atomic_size_t next, left;
	atomic_int refs;
};

static void close_batch_unref(struct close_batch *k)
{
	if (atomic_fetch_sub(&k->refs, 1) == 1) {
		free(k->v);
		free(k);
	}
}

static void *closer_main(void *arg)
{
	struct close_batch *k = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&k->next, 1);
		if (i >= k->n)
			break;
		swb_client_close(k->v[i]);
		atomic_fetch_sub(&k->left, 1);
	}
	close_batch_unref(k);
	return NULL;
}

/*
 * Closes the n clients of v (v is taken over; NULL entries are skipped) on
 * helper threads, waiting up to wait_ms (0: not at all). Returns how many
 * were still closing when the wait ended.
 */
static size_t close_clients(swb_client **v, size_t n, int wait_ms)
{
	struct close_batch *k = calloc(1, sizeof *k);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i])
			v[m++] = v[i];
	if (!k || m == 0) {
		for (size_t i = 0; !k && i < m; i++)
			swb_client_close(v[i]); /* out of memory: close here and hope */
		free(v);
		free(k);
		return 0;
	}
	k->v = v;
	k->n = m;
	atomic_init(&k->next, 0);
	atomic_init(&k->left, m);
	int threads = m < CLOSE_THREADS ? (int)m : CLOSE_THREADS;
	atomic_init(&k->refs, threads + 1);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int created = 0;
	for (int i = 0; i < threads; i++) {
		pthread_t th;
		if (pthread_create(&th, &attr, closer_main, k) == 0)
			created++;
		else
			close_batch_unref(k); /* the reference that thread would have held */
	}
	pthread_attr_destroy(&attr);
	if (created == 0) {
		atomic_fetch_add(&k->refs, 1);
		closer_main(k); /* no thread at all: close here */
	}
	int64_t until = swb_mono_ms() + wait_ms;
	while (atomic_load(&k->left) > 0 && swb_mono_ms() < until) {
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
	size_t left = atomic_load(&k->left);
	close_batch_unref(k);
	return left;
}

/* One client, without waiting. */
static void close_client_later(swb_client *c)
{
	swb_client **v = malloc(sizeof *v);
	if (!v) {
		swb_client_close(c);
		return;
	}
	v[0] = c;
	close_clients(v, 1, 0);
}

/* ---- the timer heap (min by time, then by insertion) ---- */

static bool timer_before(const struct timer *a, const struct timer *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void timer_add(swb_bot *b, int64_t delay_ms, enum timer_kind kind, struct worker *w, uint64_t ref)
{
	if (b->nheap == b->capheap) {
		size_t cap = b->capheap ? b->capheap * 2 : 256;
		struct timer *h = realloc(b->heap, cap * sizeof *h);
		if (!h)
			abort(); /* the loop cannot go on without its timers */
		b->heap = h;
		b->capheap = cap;
	}
	size_t i = b->nheap++;
	struct timer t = { .at = now_ms() + (delay_ms > 0 ? delay_ms : 0), .seq = b->timer_seq++, .kind = kind, .w = w,
			   .ref = ref };
	while (i > 0 && timer_before(&t, &b->heap[(i - 1) / 2])) {
		b->heap[i] = b->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	b->heap[i] = t;
}

static struct timer timer_pop(swb_bot *b)
{
	struct timer top = b->heap[0], last = b->heap[--b->nheap];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct timer *best = &last;
		if (l < b->nheap && timer_before(&b->heap[l], best))
			m = l, best = &b->heap[l];
		if (r < b->nheap && timer_before(&b->heap[r], best))
			m = r;
		if (m == i)
			break;
		b->heap[i] = b->heap[m];
		i = m;
	}
	if (b->nheap)
		b->heap[i] = last;
	return top;
}

/* ---- the request pool ---- */

static void job_free(struct job *j)
{
	if (!j)
		return;
	json_decref(j->args);
	json_decref(j->alt);
	json_decref(j->result);
	free(j);
}

static void *pool_main(void *arg)
{
	swb_bot *b = arg;
	pthread_mutex_lock(&b->mu);
	for (;;) {
		while (!b->todo_head && !b->pool_stop)
			pthread_cond_wait(&b->cond, &b->mu);
		if (b->pool_stop)
			break;
		struct job *j = b->todo_head;
		b->todo_head = j->next;
		if (!b->todo_head)
			b->todo_tail = NULL;
		pthread_mutex_unlock(&b->mu);

		j->next = NULL;
		j->attempts++;
		j->rc = swb_client_call(j->c, j->op, j->args, b->cfg.call_timeout_ms, &j->result, &j->err);

		pthread_mutex_lock(&b->mu);
		if (b->done_tail)
			b->done_tail->next = j;
		else
			b->done_head = j;
		b->done_tail = j;
		uint64_t one = 1;
		if (write(b->done_fd, &one, sizeof one) < 0) {
			/* an eventfd write fails only on overflow; the loop drains the queue anyway */
		}
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

static struct job *job_new(enum job_kind kind, struct worker *w, struct lane *lane, const char *op, json_t *args,
			   uint64_t ref)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		abort(); /* small and rare; the loop has no way to carry on without it */
	*j = (struct job){ .kind = kind, .w = w, .lane = lane, .op = op, .args = args, .ref = ref };
	return j;
}

/* Submits the lane's next job if it is free and connected. */
static void lane_kick(swb_bot *b, struct lane *l)
{
	if (l->busy || !l->head || !l->c)
		return;
	struct job *j = l->head;
	l->head = j->next;
	if (!l->head)
		l->tail = NULL;
	j->next = NULL;
	j->c = l->c;
	l->busy = true;
	b->jobs_out++;
	pthread_mutex_lock(&b->mu);
	if (b->todo_tail)
		b->todo_tail->next = j;
	else
		b->todo_head = j;
	b->todo_tail = j;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->mu);
}

static void lane_push(swb_bot *b, struct lane *l, struct job *j, bool front)
{
	if (front) {
		j->next = l->head;
		l->head = j;
		if (!l->tail)
			l->tail = j;
	} else {
		j->next = NULL;
		if (l->tail)
			l->tail->next = j;
		else
			l->head = j;
		l->tail = j;
	}
	lane_kick(b, l);
}

static void lane_clear(struct lane *l)
{
	while (l->head) {
		struct job *j = l->head;
		l->head = j->next;
		job_free(j);
	}
	l->tail = NULL;
}

static void worker_job(swb_bot *b, struct worker *w, enum job_kind kind, const char *op, json_t *args, uint64_t ref)
{
	lane_push(b, &w->lane, job_new(kind, w, &w->lane, op, args, ref), false);
}

static json_t *activity_args(const struct worker *w, const char *activity)
{
	return json_pack("{s:s, s:s}", "sid", w->sid, "activity_sid", activity);
}

/* ---- reservations of a worker ---- */

static struct res *res_find_id(struct worker *w, uint64_t id)
{
	for (struct res *r = w->res; r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

static struct res *res_find_sid(struct worker *w, const char *sid)
{
	for (struct res *r = w->res; r; r = r->next)
		if (strcmp(r->sid, sid) == 0)
			return r;
	return NULL;
}

static struct res *res_add(struct worker *w, const char *sid, const char *task_sid, enum res_state st)
{
	struct res *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	r->id = ++w->b->next_res_id;
	copy_sid(r->sid, sid);
	copy_sid(r->task_sid, task_sid);
	r->st = st;
	r->next = w->res;
	w->res = r;
	w->nres++;
	return r;
}

static void worker_idle_check(swb_bot *b, struct worker *w);

static void res_remove(swb_bot *b, struct worker *w, struct res *gone)
{
	for (struct res **pp = &w->res; *pp; pp = &(*pp)->next) {
		if (*pp == gone) {
			*pp = gone->next;
			free(gone);
			w->nres--;
			break;
		}
	}
	worker_idle_check(b, w);
}

/* ---- worker: connection ---- */

static void worker_epoll(swb_bot *b, struct worker *w, bool add)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &w->src };
	epoll_ctl(b->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, swb_client_event_fd(w->lane.c), &ev);
}

static void worker_open(swb_bot *b, struct worker *w)
{
	struct swb_err err = { 0 };
	w->lane.c = swb_client_open(b->url, w->token, &err);
	if (!w->lane.c) {
		note_error(b, w->name, &err);
		return;
	}
	w->src = (struct src){ SRC_WORKER, w };
}

static void worker_follow(swb_bot *b, struct worker *w, uint64_t after)
{
	struct swb_err err = { 0 };
	if (swb_client_follow(w->lane.c, after, &err) != SWB_OK) {
		note_error(b, w->name, &err);
		return;
	}
	w->following = true;
	worker_epoll(b, w, true);
}

static void worker_arm_chaos(swb_bot *b, struct worker *w)
{
	int64_t d = swb_dist_sample(&b->cfg.policy.disconnect_every, &w->rng);
	if (d >= 0)
		timer_add(b, d, T_DISCONNECT, w, 0);
}

static void worker_arm_break(swb_bot *b, struct worker *w)
{
	int64_t d = swb_dist_sample(&b->cfg.policy.break_every, &w->rng);
	if (d >= 0)
		timer_add(b, d, T_BREAK_DUE, w, 0);
}

static void worker_disconnect(swb_bot *b, struct worker *w)
{
	w->disconnect_due = false;
	if (!w->lane.c || w->disconnected)
		return;
	if (w->following) {
		worker_epoll(b, w, false);
		w->cursor = swb_client_cursor(w->lane.c);
	}
	close_client_later(w->lane.c);
	w->lane.c = NULL;
	if (w->following)
		b->nconnected--;
	w->following = false;
	w->disconnected = true;
	b->n.disconnects++;
	timer_add(b, swb_dist_sample(&b->cfg.policy.disconnect_length, &w->rng), T_RECONNECT, w, 0);
}

static void worker_reconnect(swb_bot *b, struct worker *w)
{
	worker_open(b, w);
	if (!w->lane.c) {
		timer_add(b, RETRY_MS * 4, T_RECONNECT, w, 0);
		return;
	}
	w->disconnected = false;
	b->n.reconnects++;
	/* pick up from where the stream stopped: the events missed while away come first */
	worker_follow(b, w, w->cursor);
	if (w->following)
		b->nconnected++;
	lane_kick(b, &w->lane);
	worker_arm_chaos(b, w);
}

/* ---- worker: activity ---- */

static void worker_start_break(swb_bot *b, struct worker *w)
{
	w->break_due = false;
	w->want_available = false;
	worker_job(b, w, J_BREAK, "workers.update", activity_args(w, b->break_act), 0);
}

/* After a reservation ends: a due break or disconnect waits for an idle worker. */
static void worker_idle_check(swb_bot *b, struct worker *w)
{
	if (w->nres == 0 && w->break_due && b->phase == PH_RUN && !w->on_break)
		worker_start_break(b, w);
}

/*
 * The node says the worker is now in activity act. Out of Available because of
 * the node itself (a reservation timed out, the connection's grace ran out:
 * the workspace's timeout or default activity, or a reason given), the agent
 * comes back after the recover time; put elsewhere by a supervisor, it stays
 * there until someone makes it Available again.
 */
static void worker_note_activity(swb_bot *b, struct worker *w, bool available, const char *act, bool has_reason)
{
	w->available = available;
	if (available) {
		if (!w->on_break && b->phase <= PH_DRAIN)
			w->want_available = true;
		return;
	}
	bool by_node = has_reason || !act || strcmp(act, b->default_act) == 0 || strcmp(act, b->timeout_act) == 0;
	if (!by_node && w->want_available && !w->on_break) {
		w->want_available = false; /* a person decided */
		return;
	}
	if (w->want_available && w->started && !w->recover_armed && b->phase <= PH_DRAIN) {
		w->recover_armed = true;
		timer_add(b, swb_dist_sample(&b->cfg.policy.recover, &w->rng), T_RECOVER, w, 0);
	}
}

/* ---- worker: reservations ---- */

/* A new reservation (fresh: from its reservation.created event, else from a snapshot). */
static void worker_seen(swb_bot *b, struct worker *w, json_t *ev, const char *rsid, const char *tsid, bool fresh)
{
	b->n.seen++;
	json_t *date = json_object_get(ev, "event_date_ms");
	if (fresh && json_is_integer(date))
		swb_hist_add(&b->latency_us, wall_us() - json_integer_value(date) * 1000);
	if (fresh && b->seen_fn)
		b->seen_fn(b->seen_ctx, tsid ? tsid : "", w->sid, mono_ns());
	struct res *r = res_add(w, rsid, tsid, RS_DECIDING);
	r->decision = swb_bot_policy_decide(&b->cfg.policy, &w->rng);
	if (b->phase >= PH_EXIT)
		r->decision = SWB_BOT_IGNORE; /* leaving: let it time out for someone else */
	switch (r->decision) {
	case SWB_BOT_ACCEPT: b->n.decided_accept++; break;
	case SWB_BOT_REJECT: b->n.decided_reject++; break;
	case SWB_BOT_IGNORE: b->n.decided_ignore++; break;
	}
	if (r->decision == SWB_BOT_IGNORE)
		r->st = RS_IGNORED;
	else
		timer_add(b, swb_dist_sample(&b->cfg.policy.think, &w->rng), T_THINK, w, r->id);
}

/*
 * Takes the worker's reservations and activity from a snapshot (at start, or
 * after events were missed): forgets reservations no longer active, picks up
 * ones it did not know, and recovers its activity if needed.
 */
static void worker_reconcile(swb_bot *b, struct worker *w, json_t *snap)
{
	json_t *list = json_object_get(snap, "reservations");
	size_t i;
	json_t *it;
	for (struct res *r = w->res, *next; r; r = next) {
		next = r->next;
		bool still = false;
		json_array_foreach(list, i, it) {
			const char *sid = json_string_value(json_object_get(it, "sid"));
			still |= sid && strcmp(sid, r->sid) == 0;
		}
		if (!still)
			res_remove(b, w, r);
	}
	json_array_foreach(list, i, it) {
		const char *rsid = json_string_value(json_object_get(it, "sid"));
		const char *st = json_string_value(json_object_get(it, "reservation_status"));
		if (!rsid || !st || res_find_sid(w, rsid))
			continue;
		const char *tsid = json_string_value(json_object_get(it, "task_sid"));
		if (strcmp(st, "pending") == 0) {
			worker_seen(b, w, it, rsid, tsid, false);
		} else {
			struct res *r = res_add(w, rsid, tsid, strcmp(st, "wrapping") == 0 ? RS_WRAPPING : RS_HANDLING);
			timer_add(b,
				  swb_dist_sample(r->st == RS_WRAPPING ? &b->cfg.policy.wrapup : &b->cfg.policy.handle,
						  &w->rng),
				  r->st == RS_WRAPPING ? T_WRAPUP : T_HANDLE, w, r->id);
		}
	}
	json_t *wsj = json_object_get(snap, "workspace");
	const char *def = json_string_value(json_object_get(wsj, "default_activity_name"));
	const char *tmo = json_string_value(json_object_get(wsj, "timeout_activity_name"));
	if (def)
		snprintf(b->default_act, sizeof b->default_act, "%s", def);
	if (tmo)
		snprintf(b->timeout_act, sizeof b->timeout_act, "%s", tmo);
	json_t *me = json_object_get(snap, "worker");
	if (json_is_boolean(json_object_get(me, "available")))
		worker_note_activity(b, w, json_is_true(json_object_get(me, "available")),
				     json_string_value(json_object_get(me, "activity_name")), false);
}

static void worker_event(swb_bot *b, struct worker *w, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "event_type"));
	if (!type)
		return;
	if (strcmp(type, SWB_EVENT_CONNECTION) == 0)
		return;
	if (strcmp(type, SWB_EVENT_ERROR) == 0) {
		struct swb_err err = { swb_code_from_name(json_string_value(json_object_get(ev, "code"))), "" };
		snprintf(err.msg, sizeof err.msg, "%s", json_string_value(json_object_get(ev, "message")));
		note_error(b, w->name, &err);
		return;
	}
	if (strcmp(type, SWB_EVENT_RESYNC) == 0) {
		b->n.resyncs++;
		worker_reconcile(b, w, json_object_get(ev, "snapshot"));
		return;
	}
	json_t *d = json_object_get(ev, "event_data");
	const char *rsid = json_string_value(json_object_get(d, "reservation_sid"));
	const char *tsid = json_string_value(json_object_get(d, "task_sid"));
	if (strcmp(type, "worker.activity.update") == 0) {
		worker_note_activity(b, w, json_is_true(json_object_get(d, "worker_available")),
				     json_string_value(json_object_get(d, "worker_activity_name")),
				     json_object_get(d, "reason") != NULL);
		return;
	}
	if (strncmp(type, "reservation.", 12) != 0 || !rsid)
		return;
	const char *what = type + 12;
	struct res *r = res_find_sid(w, rsid);
	if (strcmp(what, "created") == 0) {
		if (!r)
			worker_seen(b, w, ev, rsid, tsid, true);
	} else if (strcmp(what, "timeout") == 0) {
		b->n.timed_out++;
		if (r)
			res_remove(b, w, r);
	} else if (strcmp(what, "canceled") == 0) {
		b->n.canceled++;
		if (r)
			res_remove(b, w, r);
	} else if (strcmp(what, "rescinded") == 0) {
		b->n.rescinded++;
		if (r)
			res_remove(b, w, r);
	} else if (strcmp(what, "completed") == 0 && r && r->st != RS_COMPLETING) {
		res_remove(b, w, r); /* completed by someone else */
	}
}

/* ---- worker: answers to its requests ---- */

/* A request about reservation r failed: the node moved on (stale) or something broke. */
static void res_failed(swb_bot *b, struct worker *w, struct res *r, struct job *j)
{
	/*
	 * A retried request refused as invalid_state may have been applied by the
	 * first attempt, whose answer was lost with the connection: ask the node
	 * rather than drop a reservation the worker in fact holds.
	 */
	if (r && j->rc == SWB_ESTATE && j->attempts > 1) {
		if (j->kind == J_ACCEPT) {
			worker_job(b, w, J_RECHECK, "reservations.fetch", json_pack("{s:s}", "sid", r->sid), r->id);
			return;
		}
		if (j->kind == J_WRAP) {
			r->st = RS_COMPLETING;
			worker_job(b, w, J_COMPLETE, "tasks.update",
				   json_pack("{s:s, s:s, s:s}", "sid", r->task_sid, "assignment_status", "completed", "reason",
					     TASK_REASON_DONE),
				   r->id);
			return;
		}
	}
	if (j->rc == SWB_ESTATE || j->rc == SWB_ENOTFOUND)
		b->n.stale++;
	else
		note_error(b, w->name, &j->err);
	if (r)
		res_remove(b, w, r);
}

static void worker_started(swb_bot *b, struct worker *w)
{
	if (w->ready)
		return;
	w->ready = true;
	b->nready++;
	worker_arm_break(b, w);
	worker_arm_chaos(b, w);
}

static void worker_done(swb_bot *b, struct worker *w, struct job *j)
{
	struct res *r = j->ref ? res_find_id(w, j->ref) : NULL;
	bool ok = j->rc == SWB_OK;
	switch (j->kind) {
	case J_HELLO: {
		const char *sid = json_string_value(json_object_get(j->result, "worker_sid"));
		if (!ok || !sid) {
			if (ok)
				swb_err_set(&j->err, SWB_EAUTH, "the token is not a worker token");
			note_error(b, w->name, &j->err);
			return;
		}
		copy_sid(w->sid, sid);
		if (!w->name || strcmp(w->name, "?") == 0) {
			free(w->name);
			w->name = strdup(sid);
		}
		break;
	}
	case J_SNAPSHOT: {
		if (!ok) {
			note_error(b, w->name, &j->err);
			return;
		}
		json_t *seq = json_object_get(j->result, "seq");
		/* take what the worker holds, then follow from the snapshot's sequence */
		worker_reconcile(b, w, j->result);
		w->started = true;
		worker_follow(b, w, json_is_integer(seq) ? (uint64_t)json_integer_value(seq) : SWB_FOLLOW_NOW);
		if (w->following)
			b->nconnected++;
		bool avail = json_is_true(json_object_get(json_object_get(j->result, "worker"), "available"));
		if (b->cfg.set_available && !avail)
			worker_job(b, w, J_AVAILABLE, "workers.update", activity_args(w, b->available_act), 0);
		else
			worker_started(b, w);
		break;
	}
	case J_AVAILABLE:
		if (!ok)
			note_error(b, w->name, &j->err);
		else
			w->available = true;
		if (!w->ready) {
			worker_started(b, w);
		}
		break;
	case J_RECOVER:
		if (ok) {
			b->n.recoveries++;
			w->available = true;
		} else {
			note_error(b, w->name, &j->err);
		}
		break;
	case J_BREAK:
		if (!ok) {
			note_error(b, w->name, &j->err);
			w->want_available = true;
			worker_arm_break(b, w);
			break;
		}
		b->n.breaks++;
		w->on_break = true;
		timer_add(b, swb_dist_sample(&b->cfg.policy.break_length, &w->rng), T_BREAK_END, w, 0);
		break;
	case J_ACCEPT:
		if (!ok) {
			res_failed(b, w, r, j);
			break;
		}
		b->n.accepted++;
		if (r) {
			r->st = RS_HANDLING;
			timer_add(b, swb_dist_sample(&b->cfg.policy.handle, &w->rng), T_HANDLE, w, r->id);
		}
		break;
	case J_RECHECK: {
		/* after a retried accept: does the worker hold the reservation after all? */
		const char *st = ok ? json_string_value(json_object_get(j->result, "reservation_status")) : NULL;
		if (!r)
			break;
		if (st && strcmp(st, "accepted") == 0) {
			b->n.accepted++;
			r->st = RS_HANDLING;
			timer_add(b, swb_dist_sample(&b->cfg.policy.handle, &w->rng), T_HANDLE, w, r->id);
		} else if (st && strcmp(st, "wrapping") == 0) {
			b->n.accepted++;
			r->st = RS_WRAPPING;
			timer_add(b, swb_dist_sample(&b->cfg.policy.wrapup, &w->rng), T_WRAPUP, w, r->id);
		} else {
			b->n.stale++;
			res_remove(b, w, r);
		}
		break;
	}
	case J_REJECT:
		if (!ok) {
			res_failed(b, w, r, j);
			break;
		}
		b->n.rejected++;
		if (r)
			res_remove(b, w, r);
		break;
	case J_WRAP:
		if (!ok) {
			res_failed(b, w, r, j);
			break;
		}
		b->n.wrapped++;
		if (r) {
			r->st = RS_WRAPPING;
			timer_add(b, swb_dist_sample(&b->cfg.policy.wrapup, &w->rng), T_WRAPUP, w, r->id);
		}
		break;
	case J_COMPLETE:
		if (!ok) {
			res_failed(b, w, r, j);
			break;
		}
		b->n.completed++;
		if (r)
			res_remove(b, w, r);
		break;
	case J_EXIT:
		if (!ok && j->rc != SWB_EUNAVAIL)
			note_error(b, w->name, &j->err);
		break;
	default:
		break;
	}
}

/* ---- the generator ---- */

static struct gen_task *gen_task_get(struct gen *g, const char *sid, bool create)
{
	struct gen_task *t = swb_map_get(g->tasks, sid);
	if (t || !create)
		return t;
	t = calloc(1, sizeof *t);
	if (!t || swb_map_put(g->tasks, sid, t) != 0)
		abort();
	copy_sid(t->sid, sid);
	t->next_all = g->all;
	g->all = t;
	g->created++;
	return t;
}

static void gen_finish(struct gen *g, struct gen_task *t, const char *status, const char *reason)
{
	if (t->final)
		return;
	t->final = true;
	snprintf(t->status, sizeof t->status, "%s", status);
	if (strcmp(status, "completed") == 0) {
		g->completed++;
	} else if (strcmp(status, "canceled") == 0) {
		g->canceled++;
		if (!reason || !*reason) {
			g->canceled_no_reason++;
		} else {
			free(t->reason);
			t->reason = strdup(reason);
			json_t *n = json_object_get(g->reasons, reason);
			json_object_set_new(g->reasons, reason, json_integer(n ? json_integer_value(n) + 1 : 1));
		}
	} else {
		g->deleted++;
	}
}

static uint64_t gen_outstanding(const struct gen *g)
{
	return g->created - g->completed - g->canceled - g->deleted;
}

/* One caller: IVR-like attributes (language, department, priority) and a number. */
static void gen_place_call(swb_bot *b)
{
	struct gen *g = b->gen;
	double u = swb_rng_unit(&g->rng);
	bool spanish = u < 0.2;
	u = swb_rng_unit(&g->rng);
	const char *dept = u < 0.45 ? "sales" : u < 0.9 ? "support" : "billing";
	bool vip = swb_rng_unit(&g->rng) < 0.1;
	char from[24];
	snprintf(from, sizeof from, "+1555%07llu", (unsigned long long)(swb_rng_next(&g->rng) % 10000000ULL));
	const char *digits = spanish ? "3" : strcmp(dept, "sales") == 0 ? "1" : strcmp(dept, "support") == 0 ? "2" : "0";
	json_t *attrs = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "inbound", "from", from, "to",
				  b->call_to, "language", spanish ? "es" : "en", "department", dept, "customer_tier",
				  vip ? "gold" : "standard", "ivr_digits", digits);
	/* both forms go on the job; the answer decides which one the next calls use */
	json_t *task_args = json_pack("{s:o, s:i}", "attributes", attrs, "priority", vip ? 10 : 0);
	if (b->workflow)
		json_object_set_new(task_args, "workflow_sid", json_string(b->workflow));
	json_t *call_args = json_pack("{s:s, s:s, s:s}", "from", from, "to", b->call_to, "digits", digits);
	bool calls = g->via == SWB_BOT_VIA_CALLS || (g->via == SWB_BOT_VIA_AUTO && !g->via_settled);
	struct job *j;
	if (calls) {
		j = job_new(J_CREATE, NULL, &g->create, "calls.create", call_args, 0);
		j->alt = task_args; /* for a fallback to tasks.create */
	} else {
		j = job_new(J_CREATE, NULL, &g->create, "tasks.create", task_args, 0);
		json_decref(call_args);
	}
	lane_push(b, &g->create, j, false);
}

static void gen_arm_next(swb_bot *b)
{
	struct gen *g = b->gen;
	double gap = 1000.0 / b->cfg.calls_per_s;
	if (b->cfg.poisson)
		gap = -gap * log(1.0 - swb_rng_unit(&g->rng));
	timer_add(b, (int64_t)gap, T_GEN_CALL, NULL, 0);
}

static void gen_created(swb_bot *b, struct job *j)
{
	struct gen *g = b->gen;
	bool was_call = strcmp(j->op, "calls.create") == 0;
	if (j->rc != SWB_OK && was_call && g->via == SWB_BOT_VIA_AUTO && !g->via_settled && j->alt &&
	    j->rc != SWB_EUNAVAIL) {
		/* no simulated calls on this node (or no such number): create tasks directly */
		fprintf(b->log, "swb-bot: calls.create is not usable here (%s: %s); using tasks.create\n",
			swb_code_name(j->rc), j->err.msg);
		g->via = SWB_BOT_VIA_TASKS;
		g->via_settled = true;
		struct job *again = job_new(J_CREATE, NULL, &g->create, "tasks.create", j->alt, 0);
		j->alt = NULL;
		lane_push(b, &g->create, again, true);
		return;
	}
	if (j->rc != SWB_OK) {
		g->place_failed++;
		note_error(b, "call generator", &j->err);
		return;
	}
	if (!g->via_settled) {
		g->via = was_call ? SWB_BOT_VIA_CALLS : SWB_BOT_VIA_TASKS;
		g->via_settled = true;
	}
	g->placed++;
	const char *sid = json_string_value(json_object_get(j->result, "sid"));
	if (!sid)
		return;
	struct gen_task *t;
	if (was_call) {
		const char *tsid = json_string_value(json_object_get(j->result, "task_sid"));
		if (tsid) {
			t = gen_task_get(g, tsid, true);
		} else {
			/* tracked by its call until a task.created names the call */
			t = calloc(1, sizeof *t);
			if (!t)
				abort();
			t->next_all = g->all;
			g->all = t;
		}
		copy_sid(t->call_sid, sid);
		if (swb_map_put(g->calls, sid, t) != 0)
			abort();
	} else {
		t = gen_task_get(g, sid, true);
		const char *st = json_string_value(json_object_get(j->result, "assignment_status"));
		if (st && (strcmp(st, "completed") == 0 || strcmp(st, "canceled") == 0))
			gen_finish(g, t, st, json_string_value(json_object_get(j->result, "reason")));
	}
	int64_t patience = swb_dist_sample(&b->cfg.patience, &g->rng);
	if (b->cfg.abandon > 0 && swb_rng_unit(&g->rng) < b->cfg.abandon && patience >= 0) {
		g->abandon_armed++;
		timer_add(b, patience, T_GEN_ABANDON, NULL, (uint64_t)(uintptr_t)t);
	}
}

static void gen_abandon(swb_bot *b, struct gen_task *t)
{
	struct gen *g = b->gen;
	if (t->answered || t->final)
		return;
	struct job *j;
	if (t->call_sid[0])
		j = job_new(J_CANCEL, NULL, &g->cancel, "calls.hangup", json_pack("{s:s}", "sid", t->call_sid),
			    (uint64_t)(uintptr_t)t);
	else if (t->sid[0])
		j = job_new(J_CANCEL, NULL, &g->cancel, "tasks.update",
			    json_pack("{s:s, s:s, s:s}", "sid", t->sid, "assignment_status", "canceled", "reason",
				      TASK_REASON_ABANDON),
			    (uint64_t)(uintptr_t)t);
	else
		return;
	lane_push(b, &g->cancel, j, false);
}

static void gen_done(swb_bot *b, struct job *j)
{
	struct gen *g = b->gen;
	struct gen_task *t = (struct gen_task *)(uintptr_t)j->ref;
	switch (j->kind) {
	case J_CREATE:
		gen_created(b, j);
		break;
	case J_CANCEL:
		if (j->rc == SWB_OK)
			g->hung_up++;
		else if (j->rc == SWB_ESTATE || j->rc == SWB_ENOTFOUND)
			g->hangup_late++; /* answered or gone meanwhile */
		else
			note_error(b, "call generator", &j->err);
		break;
	case J_FETCH:
		t->fetching = false;
		if (j->rc == SWB_OK) {
			const char *st = json_string_value(json_object_get(j->result, "assignment_status"));
			if (st && (strcmp(st, "completed") == 0 || strcmp(st, "canceled") == 0))
				gen_finish(g, t, st, json_string_value(json_object_get(j->result, "reason")));
		} else if (j->rc == SWB_ENOTFOUND) {
			gen_finish(g, t, "deleted", NULL);
		}
		break;
	default:
		break;
	}
}

static void gen_event(swb_bot *b, json_t *ev)
{
	struct gen *g = b->gen;
	const char *type = json_string_value(json_object_get(ev, "event_type"));
	if (!type)
		return;
	if (strcmp(type, SWB_EVENT_RESYNC) == 0) {
		/* events were missed: ask the node about every task still open here */
		b->n.resyncs++;
		for (struct gen_task *t = g->all; t; t = t->next_all) {
			if (t->final || t->fetching || !t->sid[0])
				continue;
			t->fetching = true;
			lane_push(b, &g->cancel,
				  job_new(J_FETCH, NULL, &g->cancel, "tasks.fetch", json_pack("{s:s}", "sid", t->sid),
					  (uint64_t)(uintptr_t)t),
				  false);
		}
		return;
	}
	json_t *d = json_object_get(ev, "event_data");
	const char *tsid = json_string_value(json_object_get(d, "task_sid"));
	if (!tsid)
		return;
	json_t *date = json_object_get(ev, "event_date_ms");
	int64_t at = json_is_integer(date) ? json_integer_value(date) : 0;
	if (strcmp(type, "task.created") == 0) {
		struct gen_task *t = gen_task_get(g, tsid, false);
		if (!t) {
			/* a task from a call: link it to the call through its attributes */
			json_t *attrs = json_loads(json_string_value(json_object_get(d, "task_attributes")) ?: "{}", 0, NULL);
			const char *csid = json_string_value(json_object_get(attrs, "call_sid"));
			struct gen_task *call = csid ? swb_map_get(g->calls, csid) : NULL;
			if (call && !call->sid[0]) {
				copy_sid(call->sid, tsid);
				swb_map_put(g->tasks, tsid, call);
				g->created++;
				t = call;
			} else {
				t = gen_task_get(g, tsid, true);
			}
			json_decref(attrs);
		}
		t->created_ms = at;
		return;
	}
	struct gen_task *t = gen_task_get(g, tsid, false);
	if (!t)
		return; /* a task from before this run */
	if (strcmp(type, "reservation.accepted") == 0 && !t->answered) {
		t->answered = true;
		g->answered++;
		if (t->created_ms && at >= t->created_ms)
			swb_hist_add(&g->answer_us, (at - t->created_ms) * 1000);
	} else if (strcmp(type, "task.completed") == 0) {
		gen_finish(g, t, "completed", NULL);
	} else if (strcmp(type, "task.canceled") == 0) {
		gen_finish(g, t, "canceled", json_string_value(json_object_get(d, "task_canceled_reason")));
	} else if (strcmp(type, "task.deleted") == 0) {
		gen_finish(g, t, "deleted", NULL);
	}
}

static enum swb_code admin_token(swb_bot *b, struct swb_err *err)
{
	if (b->admin_token)
		return SWB_OK;
	return swb_client_local_token(b->data_dir, "admin", 24 * 3600, &b->admin_token, err);
}

static enum swb_code gen_start(swb_bot *b, struct swb_err *err)
{
	struct gen *g = calloc(1, sizeof *g);
	if (!g)
		return swb_err_set(err, SWB_ENOMEM, "out of memory");
	b->gen = g;
	g->tasks = swb_map_new();
	g->calls = swb_map_new();
	g->reasons = json_object();
	g->via = b->cfg.via;
	g->via_settled = g->via != SWB_BOT_VIA_AUTO;
	swb_bot_rng_init(&g->rng, b->cfg.policy.seed, UINT64_MAX);
	if (!g->tasks || !g->calls || !g->reasons)
		return swb_err_set(err, SWB_ENOMEM, "out of memory");
	enum swb_code rc = admin_token(b, err);
	if (rc != SWB_OK)
		return rc;
	if (!(g->create.c = swb_client_open(b->url, b->admin_token, err)) ||
	    !(g->cancel.c = swb_client_open(b->url, b->admin_token, err)))
		return err->code;
	json_t *hello = NULL;
	rc = swb_client_call(g->create.c, "session.hello", NULL, b->cfg.call_timeout_ms, &hello, err);
	if (rc != SWB_OK) {
		swb_err_prefix(err, "call generator");
		return rc;
	}
	json_t *seq = json_object_get(hello, "seq");
	rc = swb_client_follow(g->create.c, json_is_integer(seq) ? (uint64_t)json_integer_value(seq) : SWB_FOLLOW_NOW, err);
	json_decref(hello);
	if (rc != SWB_OK)
		return rc;
	g->src = (struct src){ SRC_GEN, NULL };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &g->src };
	epoll_ctl(b->epfd, EPOLL_CTL_ADD, swb_client_event_fd(g->create.c), &ev);
	gen_arm_next(b);
	return SWB_OK;
}

/* Frees the generator; its clients are closed by swb_bot_free. */
static void gen_free(struct gen *g)
{
	if (!g)
		return;
	lane_clear(&g->create);
	lane_clear(&g->cancel);
	while (g->all) {
		struct gen_task *t = g->all;
		g->all = t->next_all;
		free(t->reason);
		free(t);
	}
	swb_map_free(g->tasks);
	swb_map_free(g->calls);
	json_decref(g->reasons);
	free(g);
}

/* ---- configuration and workers ---- */

void swb_bot_config_default(struct swb_bot_config *c)
{
	memset(c, 0, sizeof *c);
	swb_bot_policy_default(&c->policy);
	swb_bot_policy_finish(&c->policy, NULL);
	c->call_timeout_ms = 10000;
	c->token_ttl_s = 7LL * 24 * 3600;
	c->available_activity = "Available";
	c->break_activity = "Break";
	c->exit_activity = "Offline";
	c->set_available = true;
	c->patience = (struct swb_dist){ SWB_DIST_UNIFORM, 10000, 60000 };
	c->call_to = "+15559870000";
	c->summary_ms = 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

swb_bot *swb_bot_new(const struct swb_bot_config *cfg, struct swb_err *err)
{
	swb_bot *b = calloc(1, sizeof *b);
	if (!b) {
		swb_err_set(err, SWB_ENOMEM, "out of memory");
		return NULL;
	}
	b->cfg = *cfg;
	b->log = cfg->log ? cfg->log : stderr;
	b->url = dup_or_null(cfg->url);
	b->data_dir = dup_or_null(cfg->data_dir);
	b->admin_token = dup_or_null(cfg->admin_token);
	b->available_act = strdup(cfg->available_activity ? cfg->available_activity : "Available");
	b->break_act = strdup(cfg->break_activity ? cfg->break_activity : "Break");
	b->exit_act = dup_or_null(cfg->exit_activity);
	b->call_to = strdup(cfg->call_to ? cfg->call_to : "+15559870000");
	b->workflow = dup_or_null(cfg->workflow);
	b->ready_file = dup_or_null(cfg->ready_file);
	if (b->cfg.call_timeout_ms <= 0)
		b->cfg.call_timeout_ms = 10000;
	if (b->cfg.token_ttl_s <= 0)
		b->cfg.token_ttl_s = 7LL * 24 * 3600;
	b->nthreads = cfg->call_threads > 0 ? cfg->call_threads : SWB_BOT_DEFAULT_CALL_THREADS;
	if (b->nthreads > SWB_BOT_MAX_CALL_THREADS)
		b->nthreads = SWB_BOT_MAX_CALL_THREADS;
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	b->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	b->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cond, NULL);
	atomic_init(&b->stop_requests, 0);
	if (!b->available_act || !b->break_act || !b->call_to || b->epfd < 0 || b->stop_fd < 0 || b->done_fd < 0) {
		swb_err_set(err, SWB_EIO, "cannot set up the loop: %s", strerror(errno));
		b->nthreads = 0;
		swb_bot_free(b);
		return NULL;
	}
	snprintf(b->default_act, sizeof b->default_act, "Offline"); /* until a snapshot says */
	snprintf(b->timeout_act, sizeof b->timeout_act, "Offline");
	b->stop_src = (struct src){ SRC_STOP, NULL };
	b->done_src = (struct src){ SRC_DONE, NULL };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &b->stop_src };
	epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->stop_fd, &ev);
	ev.data.ptr = &b->done_src;
	epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->done_fd, &ev);
	int started = 0;
	for (; started < b->nthreads; started++)
		if (pthread_create(&b->threads[started], NULL, pool_main, b) != 0)
			break;
	if (started < b->nthreads) {
		b->nthreads = started;
		swb_err_set(err, SWB_EIO, "cannot start the request threads");
		swb_bot_free(b);
		return NULL;
	}
	swb_hist_reset(&b->latency_us);
	return b;
}

static void pool_stop(swb_bot *b)
{
	pthread_mutex_lock(&b->mu);
	b->pool_stop = true;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->mu);
	for (int i = 0; i < b->nthreads; i++)
		pthread_join(b->threads[i], NULL);
	b->nthreads = 0;
	/* nothing runs now: free what is left in the queues */
	struct job *lists[2] = { b->todo_head, b->done_head };
	for (int i = 0; i < 2; i++)
		while (lists[i]) {
			struct job *j = lists[i];
			lists[i] = j->next;
			job_free(j);
		}
	b->todo_head = b->todo_tail = b->done_head = b->done_tail = NULL;
}

void swb_bot_free(swb_bot *b)
{
	if (!b)
		return;
	pool_stop(b);
	/* every connection at once, on helper threads (see close_clients) */
	swb_client **all = calloc(b->nw + 2, sizeof *all);
	for (size_t i = 0; all && i < b->nw; i++)
		all[i] = b->w[i]->lane.c;
	if (all && b->gen) {
		all[b->nw] = b->gen->create.c;
		all[b->nw + 1] = b->gen->cancel.c;
	}
	size_t stuck = all ? close_clients(all, b->nw + 2, CLOSE_WAIT_MS) : 0;
	if (stuck)
		fprintf(b->log, "swb-bot: %zu connection%s did not close within %d s (nng 1.5.2's nng_close hang); "
				"leaving them\n", stuck, stuck == 1 ? "" : "s", CLOSE_WAIT_MS / 1000);
	for (size_t i = 0; i < b->nw; i++) {
		struct worker *w = b->w[i];
		lane_clear(&w->lane);
		while (w->res) {
			struct res *r = w->res;
			w->res = r->next;
			free(r);
		}
		if (w->token) {
			explicit_bzero(w->token, strlen(w->token));
			free(w->token);
		}
		free(w->name);
		free(w);
	}
	free(b->w);
	for (size_t i = 0; i < b->nheap; i++)
		if (b->heap[i].kind == T_RETRY)
			job_free((struct job *)(uintptr_t)b->heap[i].ref);
	free(b->heap);
	gen_free(b->gen);
	if (b->epfd >= 0)
		close(b->epfd);
	if (b->stop_fd >= 0)
		close(b->stop_fd);
	if (b->done_fd >= 0)
		close(b->done_fd);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cond);
	if (b->admin_token) {
		explicit_bzero(b->admin_token, strlen(b->admin_token));
		free(b->admin_token);
	}
	free(b->url);
	free(b->data_dir);
	free(b->available_act);
	free(b->break_act);
	free(b->exit_act);
	free(b->call_to);
	free(b->workflow);
	free(b->ready_file);
	free(b);
}

enum swb_code swb_bot_add_worker(swb_bot *b, const char *name, const char *sid, const char *token, struct swb_err *err)
{
	if (!token || !*token)
		return swb_err_set(err, SWB_EINVAL, "worker '%s': no token", name ? name : "?");
	if (b->nw == b->capw) {
		size_t cap = b->capw ? b->capw * 2 : 16;
		struct worker **nw = realloc(b->w, cap * sizeof *nw);
		if (!nw)
			return swb_err_set(err, SWB_ENOMEM, "out of memory");
		b->w = nw;
		b->capw = cap;
	}
	struct worker *w = calloc(1, sizeof *w);
	if (!w)
		return swb_err_set(err, SWB_ENOMEM, "out of memory");
	w->b = b;
	w->idx = b->nw;
	w->name = strdup(name ? name : "?");
	w->token = strdup(token);
	copy_sid(w->sid, sid);
	w->want_available = b->cfg.set_available;
	if (!w->name || !w->token) {
		free(w->name);
		free(w->token);
		free(w);
		return swb_err_set(err, SWB_ENOMEM, "out of memory");
	}
	/* each worker's own stream of the run's seed: the same worker draws the same way each run */
	swb_bot_rng_init(&w->rng, b->cfg.policy.seed, b->nw + 1);
	b->w[b->nw++] = w;
	return SWB_OK;
}

size_t swb_bot_worker_count(const swb_bot *b)
{
	return b->nw;
}

void swb_bot_set_seen_hook(swb_bot *b, swb_bot_seen_fn *fn, void *ctx)
{
	b->seen_fn = fn;
	b->seen_ctx = ctx;
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static int by_name(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "friendly_name"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "friendly_name"));
	return strcmp(x ? x : "", y ? y : "");
}

enum swb_code swb_bot_add_selected(swb_bot *b, const struct swb_bot_select *sel, size_t *added, struct swb_err *err)
{
	enum swb_code rc = admin_token(b, err);
	if (rc != SWB_OK)
		return rc;
	swb_client *c = swb_client_open(b->url, b->admin_token, err);
	if (!c)
		return err->code;
	json_t *all = json_array();
	for (int page = 0; rc == SWB_OK; page++) {
		json_t *args = json_pack("{s:i, s:i}", "page", page, "page_size", LIST_PAGE), *res = NULL;
		rc = swb_client_call(c, "workers.list", args, b->cfg.call_timeout_ms, &res, err);
		json_decref(args);
		if (rc != SWB_OK)
			break;
		json_t *items = json_object_get(res, "workers");
		size_t got = json_array_size(items);
		json_array_extend(all, items);
		json_decref(res);
		if (got < LIST_PAGE)
			break;
	}
	swb_client_close(c);
	if (rc != SWB_OK) {
		json_decref(all);
		swb_err_prefix(err, "listing workers");
		return rc;
	}
	size_t n = json_array_size(all);
	json_t **v = calloc(n ? n : 1, sizeof *v);
	if (!v) {
		json_decref(all);
		return swb_err_set(err, SWB_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(all, i);
	qsort(v, n, sizeof *v, by_name);
	for (size_t k = 0; k < sel->nnames; k++) {
		bool found = false;
		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(json_string_value(json_object_get(v[i], "friendly_name")) ?: "", sel->names[k]) == 0;
		if (!found) {
			free(v);
			json_decref(all);
			return swb_err_set(err, SWB_ENOTFOUND, "no worker named '%s' in the workspace", sel->names[k]);
		}
	}
	size_t matched = 0, before = b->nw;
	for (size_t i = 0; i < n && rc == SWB_OK; i++) {
		const char *name = json_string_value(json_object_get(v[i], "friendly_name"));
		const char *sid = json_string_value(json_object_get(v[i], "sid"));
		if (!name || !sid)
			continue;
		bool want = sel->all || in_list(sel->names, sel->nnames, name) ||
			    (sel->prefix && strncmp(name, sel->prefix, strlen(sel->prefix)) == 0);
		if (!want || in_list(sel->except, sel->nexcept, name))
			continue;
		if (sel->nshards > 0 && (int)(matched++ % (size_t)sel->nshards) != sel->shard)
			continue;
		char scope[SID_MAX + 8], *token = NULL;
		snprintf(scope, sizeof scope, "worker:%s", sid);
		rc = swb_client_local_token(b->data_dir, scope, b->cfg.token_ttl_s, &token, err);
		if (rc == SWB_OK)
			rc = swb_bot_add_worker(b, name, sid, token, err);
		if (token) {
			explicit_bzero(token, strlen(token));
			free(token);
		}
	}
	free(v);
	json_decref(all);
	if (rc == SWB_OK && b->nw == before)
		rc = swb_err_set(err, SWB_EINVAL, "the selection matches no worker (the workspace has %zu)", n);
	if (added)
		*added = b->nw - before;
	return rc;
}

/* ---- the loop ---- */

void swb_bot_stop(swb_bot *b)
{
	atomic_fetch_add(&b->stop_requests, 1);
	uint64_t one = 1;
	if (write(b->stop_fd, &one, sizeof one) < 0) {
		/* nothing to do in a signal handler; the counter is set */
	}
}

static void handle_done(swb_bot *b)
{
	uint64_t n;
	if (read(b->done_fd, &n, sizeof n) < 0) {
		/* EAGAIN: drained already */
	}
	pthread_mutex_lock(&b->mu);
	struct job *list = b->done_head;
	b->done_head = b->done_tail = NULL;
	pthread_mutex_unlock(&b->mu);
	while (list) {
		struct job *j = list;
		list = j->next;
		j->next = NULL;
		b->jobs_out--;
		j->lane->busy = false;
		if (j->rc == SWB_EUNAVAIL && j->attempts < SWB_BOT_ATTEMPTS && b->phase < PH_EXIT && j->kind != J_CREATE) {
			/* the node was unreachable: try again shortly, ahead of the lane's other requests */
			json_decref(j->result);
			j->result = NULL;
			timer_add(b, RETRY_MS, T_RETRY, j->w, (uint64_t)(uintptr_t)j);
			j->lane->busy = true; /* hold the lane for the retry so order is kept */
			continue;
		}
		if (j->w) {
			worker_done(b, j->w, j);
			if (j->w->disconnect_due && !j->w->lane.busy)
				worker_disconnect(b, j->w);
		} else {
			gen_done(b, j);
		}
		struct lane *l = j->lane;
		job_free(j);
		lane_kick(b, l);
	}
}

static void handle_events(swb_bot *b, struct src *s)
{
	swb_client *c = s->kind == SRC_GEN ? b->gen->create.c : s->w->lane.c;
	if (!c)
		return;
	for (int i = 0; i < EVENTS_PER_WAKE; i++) {
		json_t *ev = swb_client_next_event(c);
		if (!ev)
			break;
		if (s->kind == SRC_GEN)
			gen_event(b, ev);
		else
			worker_event(b, s->w, ev);
		json_decref(ev);
	}
}

static void run_timer(swb_bot *b, const struct timer *t)
{
	struct worker *w = t->w;
	bool about_res = t->kind == T_THINK || t->kind == T_HANDLE || t->kind == T_WRAPUP;
	struct res *r = about_res ? res_find_id(w, t->ref) : NULL;
	switch (t->kind) {
	case T_THINK:
		if (!r || r->st != RS_DECIDING)
			break;
		r->st = RS_ANSWERING;
		if (r->decision == SWB_BOT_ACCEPT)
			worker_job(b, w, J_ACCEPT, "reservations.update",
				   json_pack("{s:s, s:s}", "sid", r->sid, "reservation_status", "accepted"), r->id);
		else
			worker_job(b, w, J_REJECT, "reservations.update",
				   json_pack("{s:s, s:s}", "sid", r->sid, "reservation_status", "rejected"), r->id);
		break;
	case T_HANDLE:
		if (r && r->st == RS_HANDLING)
			worker_job(b, w, J_WRAP, "tasks.update",
				   json_pack("{s:s, s:s}", "sid", r->task_sid, "assignment_status", "wrapping"), r->id);
		break;
	case T_WRAPUP:
		if (r && r->st == RS_WRAPPING) {
			r->st = RS_COMPLETING;
			worker_job(b, w, J_COMPLETE, "tasks.update",
				   json_pack("{s:s, s:s, s:s}", "sid", r->task_sid, "assignment_status", "completed", "reason",
					     TASK_REASON_DONE),
				   r->id);
		}
		break;
	case T_BREAK_DUE:
		if (b->phase != PH_RUN)
			break;
		if (w->nres == 0)
			worker_start_break(b, w);
		else
			w->break_due = true;
		break;
	case T_BREAK_END:
		w->on_break = false;
		if (b->phase >= PH_EXIT)
			break;
		w->want_available = true;
		worker_job(b, w, J_AVAILABLE, "workers.update", activity_args(w, b->available_act), 0);
		worker_arm_break(b, w);
		break;
	case T_DISCONNECT:
		if (b->phase >= PH_EXIT)
			break;
		if (w->lane.busy)
			w->disconnect_due = true;
		else
			worker_disconnect(b, w);
		break;
	case T_RECONNECT:
		if (b->phase < PH_EXIT)
			worker_reconnect(b, w);
		break;
	case T_RECOVER:
		w->recover_armed = false;
		if (!w->available && w->want_available && b->phase <= PH_DRAIN)
			worker_job(b, w, J_RECOVER, "workers.update", activity_args(w, b->available_act), 0);
		break;
	case T_RETRY: {
		struct job *j = (struct job *)(uintptr_t)t->ref;
		j->lane->busy = false;
		lane_push(b, j->lane, j, true);
		break;
	}
	case T_SUMMARY:
		swb_bot_print_summary(b, b->log);
		if (b->phase <= PH_DRAIN)
			timer_add(b, b->cfg.summary_ms, T_SUMMARY, NULL, 0);
		break;
	case T_GEN_CALL:
		if (b->gen && !b->gen->stopped) {
			gen_place_call(b);
			gen_arm_next(b);
		}
		break;
	case T_GEN_ABANDON:
		if (b->gen && b->phase <= PH_DRAIN)
			gen_abandon(b, (struct gen_task *)(uintptr_t)t->ref);
		break;
	}
}

static void start_workers(swb_bot *b)
{
	for (size_t i = 0; i < b->nw; i++) {
		struct worker *w = b->w[i];
		worker_open(b, w);
		if (!w->lane.c)
			continue;
		if (!w->sid[0])
			worker_job(b, w, J_HELLO, "session.hello", NULL, 0);
		worker_job(b, w, J_SNAPSHOT, "snapshot", NULL, 0);
	}
}

static void tell_ready(swb_bot *b)
{
	if (b->ready_told || b->nready < b->nw)
		return;
	b->ready_told = true;
	if (b->nw) {
		fprintf(b->log, "swb-bot: %zu worker%s ready (%.1f s)\n", b->nw, b->nw == 1 ? "" : "s",
			(double)(now_ms() - b->start_ms) / 1000.0);
		fflush(b->log);
	}
	if (b->ready_file) {
		int fd = open(b->ready_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
}

static void enter_exit(swb_bot *b)
{
	b->phase = PH_EXIT;
	b->exit_until = now_ms() + EXIT_WAIT_MS;
	if (b->gen)
		b->gen->stopped = true;
	for (size_t i = 0; i < b->nw; i++) {
		struct worker *w = b->w[i];
		w->want_available = false;
		/* drop what the worker had not sent yet; say goodbye if connected */
		lane_clear(&w->lane);
		if (b->exit_act && w->disconnected) {
			/* away on a chaos disconnect: come back just to say goodbye */
			worker_open(b, w);
			w->disconnected = !w->lane.c;
		}
		if (b->exit_act && w->ready && w->lane.c) {
			w->exit_sent = true;
			worker_job(b, w, J_EXIT, "workers.update", activity_args(w, b->exit_act), 0);
		}
	}
	if (b->gen) {
		lane_clear(&b->gen->create);
		lane_clear(&b->gen->cancel);
	}
}

static void phase_step(swb_bot *b)
{
	int64_t now = now_ms();
	int stops = atomic_load(&b->stop_requests);
	if (stops > b->stops_seen) {
		b->stops_seen = stops;
		if (b->phase == PH_RUN)
			b->run_until = now; /* fall through to the drain below */
		else if (b->phase == PH_DRAIN)
			b->drain_until = now;
		else
			b->exit_until = now;
	}
	if (b->phase == PH_RUN && b->run_until && now >= b->run_until) {
		b->phase = PH_DRAIN;
		if (b->gen)
			b->gen->stopped = true;
		b->drain_until = now + b->drain_ms;
	}
	if (b->phase == PH_DRAIN) {
		bool settled = !b->gen || (gen_outstanding(b->gen) == 0 && !b->gen->create.busy && !b->gen->create.head);
		if (settled || now >= b->drain_until)
			enter_exit(b);
	}
	if (b->phase == PH_EXIT && (b->jobs_out == 0 || now >= b->exit_until))
		b->phase = PH_DONE;
}

enum swb_code swb_bot_run(swb_bot *b, int64_t duration_ms, int64_t drain_ms, struct swb_err *err)
{
	b->start_ms = now_ms();
	b->run_until = duration_ms > 0 ? b->start_ms + duration_ms : 0;
	b->drain_ms = drain_ms > 0 ? drain_ms : 0;
	b->phase = PH_RUN;
	if (b->cfg.calls_per_s > 0) {
		enum swb_code rc = gen_start(b, err);
		if (rc != SWB_OK)
			return rc;
	}
	start_workers(b);
	if (b->nw == 0)
		tell_ready(b);
	if (b->cfg.summary_ms > 0)
		timer_add(b, b->cfg.summary_ms, T_SUMMARY, NULL, 0);
	struct epoll_event evs[256];
	while (b->phase != PH_DONE) {
		int64_t now = now_ms();
		int64_t next = now + LOOP_MAX_SLEEP_MS;
		if (b->nheap && b->heap[0].at < next)
			next = b->heap[0].at;
		if (b->phase == PH_RUN && b->run_until && b->run_until < next)
			next = b->run_until;
		int n = epoll_wait(b->epfd, evs, 256, next > now ? (int)(next - now) : 0);
		if (n < 0 && errno != EINTR)
			return swb_err_set(err, SWB_EIO, "epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct src *s = evs[i].data.ptr;
			if (s->kind == SRC_STOP) {
				uint64_t v;
				if (read(b->stop_fd, &v, sizeof v) < 0) {
					/* drained already */
				}
			} else if (s->kind == SRC_DONE) {
				handle_done(b);
			} else {
				handle_events(b, s);
			}
		}
		now = now_ms();
		while (b->nheap && b->heap[0].at <= now) {
			struct timer t = timer_pop(b);
			run_timer(b, &t);
		}
		tell_ready(b);
		phase_step(b);
	}
	b->end_ms = now_ms();
	return SWB_OK;
}

/* ---- figures ---- */

json_t *swb_bot_report(swb_bot *b)
{
	int64_t end = b->end_ms ? b->end_ms : now_ms();
	json_t *rep = json_pack("{s:f, s:o}", "duration_s", (double)(end - b->start_ms) / 1000.0, "policy",
				swb_bot_policy_to_json(&b->cfg.policy));
	json_object_set_new(rep, "workers",
			    json_pack("{s:I, s:I, s:I}", "count", (json_int_t)b->nw, "ready", (json_int_t)b->nready,
				      "connected", (json_int_t)b->nconnected));
	json_object_set_new(rep, "reservations",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "seen", (json_int_t)b->n.seen,
				      "decided_accept", (json_int_t)b->n.decided_accept, "decided_reject",
				      (json_int_t)b->n.decided_reject, "ignored", (json_int_t)b->n.decided_ignore,
				      "accepted", (json_int_t)b->n.accepted, "rejected", (json_int_t)b->n.rejected,
				      "timed_out", (json_int_t)b->n.timed_out, "canceled", (json_int_t)b->n.canceled,
				      "rescinded", (json_int_t)b->n.rescinded, "stale", (json_int_t)b->n.stale));
	json_object_set_new(rep, "tasks",
			    json_pack("{s:I, s:I}", "wrapped", (json_int_t)b->n.wrapped, "completed", (json_int_t)b->n.completed));
	json_object_set_new(rep, "activity",
			    json_pack("{s:I, s:I, s:I, s:I, s:I}", "breaks", (json_int_t)b->n.breaks, "recoveries",
				      (json_int_t)b->n.recoveries, "disconnects", (json_int_t)b->n.disconnects, "reconnects",
				      (json_int_t)b->n.reconnects, "resyncs", (json_int_t)b->n.resyncs));
	json_object_set_new(rep, "errors",
			    json_pack("{s:I, s:s}", "count", (json_int_t)b->n.errors, "last", b->last_error));
	json_object_set_new(rep, "latency_ms", swb_hist_to_json(&b->latency_us, 1000.0));
	if (!b->gen) {
		json_object_set_new(rep, "generator", json_null());
		return rep;
	}
	struct gen *g = b->gen;
	json_t *open = json_array();
	for (struct gen_task *t = g->all; t && json_array_size(open) < OUTSTANDING_LISTED; t = t->next_all)
		if (t->sid[0] && !t->final)
			json_array_append_new(open, json_string(t->sid));
	const char *via = g->via == SWB_BOT_VIA_CALLS ? "calls.create" : g->via == SWB_BOT_VIA_TASKS ? "tasks.create" : "auto";
	json_t *gj = json_pack("{s:s, s:f, s:I, s:I, s:I, s:I, s:I}", "via", via, "rate_per_s", b->cfg.calls_per_s,
			       "placed", (json_int_t)g->placed, "failed", (json_int_t)g->place_failed, "abandon_armed",
			       (json_int_t)g->abandon_armed, "hung_up", (json_int_t)g->hung_up, "hangup_too_late",
			       (json_int_t)g->hangup_late);
	json_object_set_new(gj, "tasks",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:O, s:o}", "created", (json_int_t)g->created,
				      "answered", (json_int_t)g->answered, "completed", (json_int_t)g->completed, "canceled",
				      (json_int_t)g->canceled, "canceled_without_reason", (json_int_t)g->canceled_no_reason,
				      "deleted", (json_int_t)g->deleted, "outstanding", (json_int_t)gen_outstanding(g),
				      "canceled_reasons", g->reasons, "outstanding_sids", open));
	json_object_set_new(gj, "answer_time_ms", swb_hist_to_json(&g->answer_us, 1000.0));
	json_object_set_new(rep, "generator", gj);
	return rep;
}

void swb_bot_print_summary(swb_bot *b, FILE *f)
{
	double t = (double)(now_ms() - b->start_ms) / 1000.0;
	fprintf(f, "swb-bot %5.0fs:", t);
	if (b->nw)
		fprintf(f,
			" %zu/%zu up | reservations %llu seen, %llu accepted, %llu rejected, %llu ignored, %llu timed out, "
			"%llu canceled | %llu completed | latency p50 %.1f ms p99 %.1f ms",
			b->nconnected, b->nw, (unsigned long long)b->n.seen, (unsigned long long)b->n.accepted,
			(unsigned long long)b->n.rejected, (unsigned long long)b->n.decided_ignore,
			(unsigned long long)b->n.timed_out, (unsigned long long)b->n.canceled,
			(unsigned long long)b->n.completed, (double)swb_hist_quantile(&b->latency_us, 0.5) / 1000.0,
			(double)swb_hist_quantile(&b->latency_us, 0.99) / 1000.0);
	if (b->gen)
		fprintf(f, "%s calls %llu placed, %llu answered, %llu canceled, %llu open", b->nw ? " |" : "",
			(unsigned long long)b->gen->placed, (unsigned long long)b->gen->answered,
			(unsigned long long)b->gen->canceled, (unsigned long long)gen_outstanding(b->gen));
	if (b->n.errors)
		fprintf(f, " | %llu errors", (unsigned long long)b->n.errors);
	fputc('\n', f);
	fflush(f);
}
