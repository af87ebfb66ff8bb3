/*
 * test_crash.c - durability under kill -9 (server/journal.c, DESIGN.md
 * "Durability"). A load thread keeps creating tasks, accepting their
 * reservations and completing them, and flips one worker between two
 * activities, remembering every change the node acknowledged. A killer thread
 * SIGKILLs the node at random moments (SWB_CRASH_KILLS times, 20 by default,
 * 0.8-3 s apart), restarts it and checks, each time and at the end:
 *   - every acknowledged task exists, at least in its acknowledged state;
 *   - the flipped worker is in its last acknowledged activity (or in the one a
 *     request lost in the crash asked for);
 *   - no task was ever accepted twice (reservation.accepted in the journal);
 *   - every worker's activity is the one its last event in the journal names.
 * The journal rotates every 32 KB (a snapshot every few dozen tasks), so kills
 * also land in rotations and restarts restore from their snapshots.
 * It prints how many kills the node survived.
 */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "node_harness.h"

#define KILLS_DEFAULT 20
#define KILL_MIN_MS 800
#define KILL_MAX_MS 3000
#define CALL_MS 2000
#define PACE_MS 15 /* between iterations: a steady load (~50 tasks/s) that keeps the journal, and replay, modest */

enum acked { ACK_CREATED = 1, ACK_ACCEPTED = 2, ACK_COMPLETED = 3 };

struct crash {
	struct h_node h;
	pthread_mutex_t mu;
	json_t *acked;   /* task sid -> enum acked */
	json_t *unchecked; /* task sids acknowledged since the last check */
	json_t *workers; /* sids of the routable workers */
	char flipper[40];
	char acts[2][40]; /* the two activities the flipper alternates between */
	int flip_acked;   /* index into acts of the last acknowledged, -1 none */
	int flip_pending; /* the target of a request not (yet) acknowledged, -1 none */
	atomic_bool stop, paused, idle;
	atomic_long ops_ok, ops_failed, acks;
};

static json_t *call(struct crash *cr, const char *op, json_t *args, enum swb_code *rc)
{
	json_t *res = NULL;
	struct swb_err err;
	*rc = swb_client_call(cr->h.c, op, args, CALL_MS, &res, &err);
	json_decref(args);
	atomic_fetch_add(*rc == SWB_OK ? &cr->ops_ok : &cr->ops_failed, 1);
	return res;
}

static void ack(struct crash *cr, const char *task, enum acked level)
{
	pthread_mutex_lock(&cr->mu);
	json_t *old = json_object_get(cr->acked, task);
	if (!old || json_integer_value(old) < level)
		json_object_set_new(cr->acked, task, json_integer(level));
	json_array_append_new(cr->unchecked, json_string(task));
	pthread_mutex_unlock(&cr->mu);
	atomic_fetch_add(&cr->acks, 1);
}

/* Accepts or completes what one worker holds. */
static void work_worker(struct crash *cr, const char *wk)
{
	enum swb_code rc;
	json_t *list = call(cr, "reservations.list", json_pack("{s:s, s:b}", "worker_sid", wk, "active", 1), &rc);
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(list, "reservations"), i, r) {
		const char *st = h_str(r, "reservation_status"), *task = h_str(r, "task_sid");
		if (strcmp(st, "pending") == 0) {
			json_decref(call(cr, "reservations.update",
					 json_pack("{s:s, s:s}", "sid", h_str(r, "sid"), "reservation_status", "accepted"), &rc));
			if (rc == SWB_OK)
				ack(cr, task, ACK_ACCEPTED);
		} else if (strcmp(st, "accepted") == 0) {
			json_decref(call(cr, "tasks.update",
					 json_pack("{s:s, s:s, s:s}", "sid", task, "assignment_status", "completed", "reason",
						   "done"), &rc));
			if (rc == SWB_OK)
				ack(cr, task, ACK_COMPLETED);
		}
	}
	json_decref(list);
}

/* Workers a reservation timeout moved to Offline go back to Available. */
static void revive(struct crash *cr)
{
	enum swb_code rc;
	json_t *list = call(cr, "workers.list", json_pack("{s:i}", "page_size", 1000), &rc);
	size_t i;
	json_t *w;
	json_array_foreach(json_object_get(list, "workers"), i, w)
		if (strcmp(h_str(w, "sid"), cr->flipper) != 0 && !json_is_true(json_object_get(w, "available")))
			json_decref(call(cr, "workers.update", json_pack("{s:O, s:s}", "sid", json_object_get(w, "sid"),
									 "activity_sid", "Available"), &rc));
	json_decref(list);
}

static void flip(struct crash *cr)
{
	pthread_mutex_lock(&cr->mu);
	int target = cr->flip_pending >= 0 ? cr->flip_pending : (cr->flip_acked + 1) % 2;
	cr->flip_pending = target;
	pthread_mutex_unlock(&cr->mu);
	enum swb_code rc;
	json_decref(call(cr, "workers.update", json_pack("{s:s, s:s}", "sid", cr->flipper, "activity_sid", cr->acts[target]),
			 &rc));
	if (rc == SWB_OK) {
		pthread_mutex_lock(&cr->mu);
		cr->flip_acked = target;
		cr->flip_pending = -1;
		pthread_mutex_unlock(&cr->mu);
		atomic_fetch_add(&cr->acks, 1);
	}
}

static void *load_main(void *arg)
{
	struct crash *cr = arg;
	size_t nw = json_array_size(cr->workers);
	for (unsigned long it = 0; !atomic_load(&cr->stop); it++) {
		if (atomic_load(&cr->paused)) {
			atomic_store(&cr->idle, true);
			h_sleep_ms(5);
			continue;
		}
		atomic_store(&cr->idle, false);
		enum swb_code rc;
		json_t *t = call(cr, "tasks.create",
				 json_pack("{s:{s:s, s:I}}", "attributes", "department", it % 2 ? "sales" : "support", "n",
					   (json_int_t)it), &rc);
		if (rc == SWB_OK)
			ack(cr, h_str(t, "sid"), ACK_CREATED);
		json_decref(t);
		work_worker(cr, json_string_value(json_array_get(cr->workers, it % nw)));
		if (it % 3 == 0)
			flip(cr);
		if (it % 40 == 0)
			revive(cr);
		h_sleep_ms(PACE_MS);
	}
	atomic_store(&cr->idle, true);
	return NULL;
}

static int rank(const char *status)
{
	if (strcmp(status, "completed") == 0)
		return ACK_COMPLETED;
	if (strcmp(status, "assigned") == 0 || strcmp(status, "wrapping") == 0)
		return ACK_ACCEPTED;
	if (strcmp(status, "pending") == 0 || strcmp(status, "reserved") == 0 || strcmp(status, "canceled") == 0)
		return ACK_CREATED;
	return 0;
}

/* Every task in sids exists with at least its acknowledged state. */
static void check_tasks(struct crash *cr, json_t *sids)
{
	size_t i;
	json_t *s;
	json_array_foreach(sids, i, s) {
		struct swb_err err;
		json_t *t = NULL, *args = json_pack("{s:O}", "sid", s);
		enum swb_code rc = swb_client_call(cr->h.c, "tasks.fetch", args, H_CALL_MS, &t, &err);
		json_decref(args);
		if (rc != SWB_OK)
			fail_msg("acknowledged task %s is gone after a restart: %s", json_string_value(s), err.msg);
		pthread_mutex_lock(&cr->mu);
		int want = (int)json_integer_value(json_object_get(cr->acked, json_string_value(s)));
		pthread_mutex_unlock(&cr->mu);
		if (rank(h_str(t, "assignment_status")) < want)
			fail_msg("task %s is %s after a restart, but level %d was acknowledged", json_string_value(s),
				 h_str(t, "assignment_status"), want);
		json_decref(t);
	}
}

static void check_flipper(struct crash *cr)
{
	json_t *w = h_call(&cr->h, "workers.fetch", json_pack("{s:s}", "sid", cr->flipper));
	const char *act = h_str(w, "activity_name");
	pthread_mutex_lock(&cr->mu);
	bool is_acked = cr->flip_acked >= 0 && strcmp(act, cr->acts[cr->flip_acked]) == 0;
	bool is_pending = cr->flip_pending >= 0 && strcmp(act, cr->acts[cr->flip_pending]) == 0;
	if (!is_acked && !is_pending)
		fail_msg("worker %s is %s after a restart; acknowledged %s", cr->flipper, act,
			 cr->flip_acked >= 0 ? cr->acts[cr->flip_acked] : "(none)");
	if (is_pending && !is_acked) { /* the lost request was applied: as good as acknowledged */
		cr->flip_acked = cr->flip_pending;
		cr->flip_pending = -1;
	}
	pthread_mutex_unlock(&cr->mu);
	json_decref(w);
}

/* The journal, read as an operator would: no double assignment; workers as their last events say. */
static void check_journal(struct crash *cr)
{
	assert_true(h_journal_quiet(&cr->h)); /* no rotation in progress while the files are read */
	json_t *events = h_journal_events(&cr->h), *accepted = json_object(), *last_act = json_object();
	size_t i, naccepted = 0;
	json_t *e;
	json_array_foreach(events, i, e) {
		json_t *d = json_object_get(e, "event_data");
		if (json_integer_value(json_object_get(e, "seq")) != (json_int_t)i + 1)
			fail_msg("event %zu of the journal and its rotated files has seq %lld: a gap", i + 1,
				 (long long)json_integer_value(json_object_get(e, "seq")));
		if (strcmp(h_str(e, "event_type"), "reservation.accepted") == 0) {
			const char *task = h_str(d, "task_sid");
			if (json_object_get(accepted, task))
				fail_msg("task %s was accepted twice (%s and %s)", task,
					 json_string_value(json_object_get(accepted, task)), h_str(d, "reservation_sid"));
			json_object_set_new(accepted, task, json_string(h_str(d, "reservation_sid")));
			naccepted++;
		}
		if (*h_str(d, "worker_sid") && *h_str(d, "worker_activity_sid"))
			json_object_set(last_act, h_str(d, "worker_sid"), json_object_get(d, "worker_activity_sid"));
	}
	json_t *workers = h_call(&cr->h, "workers.list", json_pack("{s:i}", "page_size", 1000));
	json_array_foreach(json_object_get(workers, "workers"), i, e) {
		const char *want = json_string_value(json_object_get(last_act, h_str(e, "sid")));
		if (want && strcmp(want, h_str(e, "activity_sid")) != 0)
			fail_msg("worker %s is in %s but its last event in the journal says %s", h_str(e, "friendly_name"),
				 h_str(e, "activity_sid"), want);
	}
	size_t nsegs = h_journal_segment_count(&cr->h);
	print_message("journal: %zu events in %zu rotated files and the journal, no gap, %zu accepted reservations, "
		      "each task at most once\n", json_array_size(events), nsegs, naccepted);
	json_decref(workers);
	json_decref(events);
	json_decref(accepted);
	json_decref(last_act);
}

static void test_kill9_under_load_loses_nothing_acknowledged(void **state)
{
	struct crash *cr = calloc(1, sizeof *cr);
	const char *k = getenv("SWB_CRASH_KILLS");
	int kills = k ? atoi(k) : KILLS_DEFAULT;
	pthread_mutex_init(&cr->mu, NULL);
	cr->acked = json_object();
	cr->unchecked = json_array();
	cr->flip_acked = cr->flip_pending = -1;
	h_init(&cr->h, false);
	h_arg(&cr->h, "--journal-segment-kb");
	h_arg(&cr->h, "32");
	assert_true(h_start(&cr->h));

	/* the flipper: in no queue's routing (two unavailable activities) */
	json_t *w = h_call(&cr->h, "workers.create",
			   json_pack("{s:s, s:s, s:{s:[]}}", "friendly_name", "flipper", "activity_sid", "Offline",
				     "attributes", "skills"));
	snprintf(cr->flipper, sizeof cr->flipper, "%s", h_str(w, "sid"));
	json_decref(w);
	snprintf(cr->acts[0], sizeof cr->acts[0], "Offline");
	snprintf(cr->acts[1], sizeof cr->acts[1], "Break");
	cr->flip_acked = 0;
	cr->workers = json_array();
	json_t *list = h_call(&cr->h, "workers.list", json_pack("{s:i}", "page_size", 1000));
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(list, "workers"), i, it)
		if (strcmp(h_str(it, "sid"), cr->flipper) != 0)
			json_array_append(cr->workers, json_object_get(it, "sid"));
	json_decref(list);

	pthread_t load;
	pthread_create(&load, NULL, load_main, cr);
	unsigned seed = (unsigned)time(NULL);
	print_message("seed %u, %d kills\n", seed, kills);
	long long t0 = h_now_ms();
	int survived = 0;
	for (int n = 0; n < kills; n++) {
		h_sleep_ms(KILL_MIN_MS + (int)(rand_r(&seed) % (KILL_MAX_MS - KILL_MIN_MS)));
		h_kill9(&cr->h);
		atomic_store(&cr->paused, true);
		while (!atomic_load(&cr->idle))
			h_sleep_ms(2);
		long long r0 = h_now_ms();
		if (!h_start(&cr->h))
			fail_msg("the node did not come back after kill %d (see %s)", n + 1, cr->h.log);
		if (getenv("SWB_CRASH_VERBOSE"))
			print_message("kill %d: back in %lld ms\n", n + 1, h_now_ms() - r0);
		survived++;
		pthread_mutex_lock(&cr->mu);
		json_t *batch = cr->unchecked;
		cr->unchecked = json_array();
		pthread_mutex_unlock(&cr->mu);
		check_tasks(cr, batch);
		json_decref(batch);
		check_flipper(cr);
		atomic_store(&cr->paused, false);
	}
	long long j0 = h_now_ms();
	atomic_store(&cr->stop, true);
	pthread_join(load, NULL);
	if (getenv("SWB_CRASH_VERBOSE"))
		print_message("load stopped in %lld ms\n", h_now_ms() - j0);

	/* the final state, from a fresh start */
	h_kill9(&cr->h);
	assert_true(h_start(&cr->h));
	json_t *all = json_array();
	const char *sid;
	json_t *v;
	json_object_foreach(cr->acked, sid, v)
		json_array_append_new(all, json_string(sid));
	long long f0 = h_now_ms();
	check_tasks(cr, all);
	long long f1 = h_now_ms();
	check_flipper(cr);
	check_journal(cr);
	if (getenv("SWB_CRASH_VERBOSE"))
		print_message("final checks: tasks %lld ms, journal %lld ms\n", f1 - f0, h_now_ms() - f1);
	long completed = 0;
	json_object_foreach(cr->acked, sid, v)
		completed += json_integer_value(v) == ACK_COMPLETED;
	print_message("survived %d kills in %.1f s: %zu tasks acknowledged (%ld completed), %ld acknowledged changes, "
		      "%ld requests answered, %ld lost to the kills; nothing acknowledged was lost\n",
		      survived, (double)(h_now_ms() - t0) / 1000, json_object_size(cr->acked), completed,
		      atomic_load(&cr->acks), atomic_load(&cr->ops_ok), atomic_load(&cr->ops_failed));
	assert_int_equal(survived, kills);
	assert_true(completed > 0);
	json_decref(all);
	json_decref(cr->acked);
	json_decref(cr->unchecked);
	json_decref(cr->workers);
	h_cleanup(&cr->h);
	pthread_mutex_destroy(&cr->mu);
	free(cr);
	(void)state;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill9_under_load_loses_nothing_acknowledged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
