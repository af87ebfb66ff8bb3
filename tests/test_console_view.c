/*
 * test_console_view.c - the console's logic without a terminal: the view
 * model (client/view_state.c) fed with snapshots and events, the worker grid
 * (view_grid.c), the arithmetic (view_stats.c: buckets, service level,
 * health, countdowns, sparklines), the command line (console_opts.c) and
 * when the console's own token is renewed (console_token.c).
 * Times are made up: nothing here reads a clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console_opts.h"
#include "console_token.h"
#include "timefmt.h"
#include "token.h"
#include "view_grid.h"
#include "view_state.h"
#include "view_stats.h"

/* A node time, ms (a whole minute, so bucket edges are easy to reason about). */
#define T0 1795652160000LL

static json_t *iso(int64_t ms)
{
	char buf[SWB_ISO_SIZE];
	swb_iso8601(ms, buf);
	return json_string(buf);
}

/* An event as events.next delivers it; data is stolen. */
static json_t *event(uint64_t seq, const char *type, int64_t ms, json_t *data)
{
	return json_pack("{s:I, s:s, s:I, s:s, s:o}", "seq", (json_int_t)seq, "event_type", type, "event_date_ms",
			 (json_int_t)ms, "description", type, "event_data", data);
}

/* event_data of a reservation event. */
static json_t *res_data(const char *rsid, const char *tsid, const char *wsid, const char *qsid, int prio,
			int timeout_s, int64_t task_created)
{
	json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:b, s:o, s:o}", "reservation_sid",
			      rsid, "task_sid", tsid, "worker_sid", wsid, "worker_name", "alice", "task_queue_sid", qsid,
			      "task_queue_name", strcmp(qsid, "WQ1") == 0 ? "Sales" : "Support", "task_priority", prio,
			      "task_attributes", "{\"department\":\"sales\",\"vip\":true}", "worker_activity_sid", "WA2",
			      "worker_activity_name", "Available", "worker_available", 1, "task_date_created",
			      iso(task_created), "task_queue_entered_date", iso(task_created));
	if (timeout_s)
		json_object_set_new(d, "reservation_timeout", json_integer(timeout_s));
	return d;
}

static json_t *activities(void)
{
	return json_pack("[{s:s, s:s, s:b}, {s:s, s:s, s:b}, {s:s, s:s, s:b}]", "sid", "WA1", "friendly_name",
			 "Offline", "available", 0, "sid", "WA2", "friendly_name", "Available", "available", 1, "sid",
			 "WA3", "friendly_name", "Break", "available", 0);
}

static json_t *queue_stats(const char *sid, long pending, long reserved, long longest)
{
	return json_pack("{s:s, s:{s:I, s:I, s:i, s:i}, s:i, s:i, s:I, s:{s:i, s:i}}", "task_queue_sid", sid,
			 "tasks_by_status", "pending", (json_int_t)pending, "reserved", (json_int_t)reserved, "assigned", 1,
			 "wrapping", 0, "total_available_workers", 3, "total_eligible_workers", 5,
			 "longest_task_waiting_age", (json_int_t)longest, "tasks_by_priority", "0", 2, "5", 1);
}

static json_t *agent_snapshot(uint64_t seq, const char *res_status)
{
	json_t *res = json_array();
	if (res_status) {
		json_array_append_new(
			res, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:{s:s, s:s, s:i, s:o, s:s, s:s}}", "sid", "WR1",
				       "task_sid", "WT1", "worker_sid", "WK1", "reservation_status", res_status,
				       "task_queue_sid", "WQ1", "date_created", iso(T0), "timeout_date", iso(T0 + 20000),
				       "task", "sid", "WT1", "attributes", "{\"department\":\"sales\"}", "priority", 2,
				       "date_created", iso(T0 - 5000), "task_queue_friendly_name", "Sales",
				       "task_channel_unique_name", "voice"));
	}
	return json_pack("{s:I, s:{s:s}, s:o, s:[{s:s, s:s, s:o}, {s:s, s:s}], s:{s:s, s:s, s:s, s:s, s:b, s:o}, s:o}",
			 "seq", (json_int_t)seq, "workspace", "friendly_name", "Demo", "activities", activities(),
			 "task_queues", "sid", "WQ1", "friendly_name", "Sales", "stats", queue_stats("WQ1", 1, 1, 30),
			 "sid", "WQ2", "friendly_name", "Support", "worker", "sid", "WK1", "friendly_name", "alice",
			 "activity_sid", "WA2", "activity_name", "Available", "available", 1, "date_status_changed",
			 iso(T0 - 60000), "reservations", res);
}

static unsigned apply(struct view *v, json_t *ev, int64_t now)
{
	unsigned d = view_apply_event(v, ev, now);
	json_decref(ev);
	return d;
}

static struct view *agent_view(void)
{
	struct view *v = view_new(VIEW_AGENT, 20);
	json_t *snap = agent_snapshot(10, NULL);
	view_apply_snapshot(v, snap, T0);
	json_decref(snap);
	return v;
}

/* ---- agent ---- */

static void test_snapshot_builds_the_agent_view(void **state)
{
	(void)state;
	struct view *v = view_new(VIEW_SUPERVISOR, 20);
	json_t *snap = agent_snapshot(42, "pending");
	unsigned d = view_apply_snapshot(v, snap, T0 + 1000);
	json_decref(snap);
	assert_true(d & VIEW_DIRTY_RESERVATIONS);
	assert_true(d & VIEW_NEED_STATS);
	assert_false(d & VIEW_NEW_RESERVATION); /* a snapshot is not news */
	assert_int_equal(view_mode(v), VIEW_AGENT); /* a snapshot with "worker" is an agent's */
	assert_true(view_synced(v));
	assert_int_equal(view_snapshot_seq(v), 42);
	assert_string_equal(view_workspace_name(v), "Demo");
	const struct view_worker *me = view_me(v);
	assert_non_null(me);
	assert_string_equal(me->name, "alice");
	assert_string_equal(me->activity_name, "Available");
	assert_true(me->available);
	assert_int_equal(me->since_ms, T0 - 60000);
	assert_int_equal(view_activity_count(v), 3);
	assert_string_equal(view_activity_find(v, "Break")->sid, "WA3");
	assert_int_equal(view_reservation_count(v), 1);
	const struct view_reservation *r = view_reservation_at(v, 0);
	assert_string_equal(r->sid, "WR1");
	assert_int_equal(r->status, VIEW_RES_PENDING);
	assert_int_equal(r->deadline_ms, T0 + 20000);
	assert_int_equal(r->timeout_s, 20);
	assert_int_equal(r->priority, 2);
	assert_int_equal(r->task_created_ms, T0 - 5000);
	assert_int_equal(r->arrived_ms, 0);
	assert_string_equal(r->queue_name, "Sales");
	assert_string_equal(r->channel, "voice");
	assert_string_equal(json_string_value(json_object_get(r->attributes, "department")), "sales");
	/* queues with their stats */
	assert_int_equal(view_queue_count(v), 2);
	const struct view_queue *q = view_queue_find(v, "WQ1");
	assert_true(q->has_stats);
	assert_int_equal(q->pending, 1);
	assert_int_equal(q->longest_wait_s, 30);
	assert_false(view_queue_find(v, "WQ2")->has_stats);
	view_free(v);
}

static void test_reservation_created_is_new_and_counts_down(void **state)
{
	(void)state;
	struct view *v = agent_view();
	unsigned d = apply(v, event(11, "reservation.created", T0 + 1000, res_data("WR9", "WT9", "WK1", "WQ1", 5, 15, T0)),
			   T0 + 1100);
	assert_true(d & VIEW_NEW_RESERVATION);
	assert_true(d & VIEW_DIRTY_RESERVATIONS);
	assert_true(d & VIEW_DIRTY_EVENTS);
	const struct view_reservation *r = view_reservation_find(v, "WR9");
	assert_non_null(r);
	assert_int_equal(r->deadline_ms, T0 + 16000); /* the event's time + reservation_timeout */
	assert_int_equal(r->arrived_ms, T0 + 1100);
	assert_int_equal(r->priority, 5);
	assert_string_equal(r->queue_name, "Sales");
	assert_true(json_is_true(json_object_get(r->attributes, "vip")));
	assert_int_equal(view_countdown_ms(r->deadline_ms, T0 + 6000), 10000);
	assert_int_equal(view_countdown_ms(r->deadline_ms, T0 + 99000), 0);
	/* expiring in the last quarter of a 15 s timeout (3.75 s), since that is under 5 s */
	assert_false(view_expiring(r->deadline_ms, r->timeout_s, T0 + 12000));
	assert_true(view_expiring(r->deadline_ms, r->timeout_s, T0 + 12500));
	view_free(v);
}

static void test_accept_wrap_complete_follow_the_events(void **state)
{
	(void)state;
	struct view *v = agent_view();
	apply(v, event(11, "reservation.created", T0, res_data("WR9", "WT9", "WK1", "WQ1", 0, 20, T0)), T0);
	unsigned d = apply(v, event(12, "reservation.accepted", T0 + 500, res_data("WR9", "WT9", "WK1", "WQ1", 0, 0, T0)),
			   T0 + 500);
	assert_false(d & VIEW_NEW_RESERVATION);
	assert_int_equal(view_reservation_find(v, "WR9")->status, VIEW_RES_ACCEPTED);
	apply(v, event(13, "reservation.wrapup", T0 + 900, res_data("WR9", "WT9", "WK1", "WQ1", 0, 0, T0)), T0 + 900);
	assert_int_equal(view_reservation_find(v, "WR9")->status, VIEW_RES_WRAPPING);
	apply(v, event(14, "reservation.completed", T0 + 990, res_data("WR9", "WT9", "WK1", "WQ1", 0, 0, T0)), T0 + 990);
	assert_null(view_reservation_find(v, "WR9"));
	assert_int_equal(view_reservation_count(v), 0);
	view_free(v);
}

static void test_ended_reservations_leave_the_panel(void **state)
{
	(void)state;
	static const char *const ends[] = { "reservation.rejected", "reservation.timeout", "reservation.canceled",
					    "reservation.rescinded", "reservation.failed" };
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		struct view *v = agent_view();
		apply(v, event(11, "reservation.created", T0, res_data("WR9", "WT9", "WK1", "WQ1", 0, 20, T0)), T0);
		apply(v, event(12, ends[i], T0 + 1, res_data("WR9", "WT9", "WK1", "WQ1", 0, 0, T0)), T0 + 1);
		assert_int_equal(view_reservation_count(v), 0);
		view_free(v);
	}
}

static void test_reservations_sorted_pending_by_deadline_then_assigned(void **state)
{
	(void)state;
	struct view *v = agent_view();
	apply(v, event(11, "reservation.created", T0, res_data("WRa", "WTa", "WK1", "WQ1", 0, 60, T0)), T0);
	apply(v, event(12, "reservation.created", T0 + 1000, res_data("WRb", "WTb", "WK1", "WQ1", 0, 10, T0)), T0);
	apply(v, event(13, "reservation.created", T0 + 2000, res_data("WRc", "WTc", "WK1", "WQ1", 0, 30, T0)), T0);
	apply(v, event(14, "reservation.accepted", T0 + 3000, res_data("WRb", "WTb", "WK1", "WQ1", 0, 0, T0)), T0);
	assert_string_equal(view_reservation_at(v, 0)->sid, "WRc"); /* due at +32 s */
	assert_string_equal(view_reservation_at(v, 1)->sid, "WRa"); /* due at +60 s */
	assert_string_equal(view_reservation_at(v, 2)->sid, "WRb"); /* assigned */
	assert_int_equal(view_reservation_index(v, "WRa"), 1);
	assert_int_equal(view_reservation_index(v, "nope"), -1);
	view_free(v);
}

static void test_agent_ignores_other_workers(void **state)
{
	(void)state;
	struct view *v = agent_view();
	unsigned d = apply(v, event(11, "reservation.created", T0, res_data("WR9", "WT9", "WK2", "WQ1", 0, 20, T0)), T0);
	assert_false(d & VIEW_NEW_RESERVATION);
	assert_int_equal(view_reservation_count(v), 0);
	assert_int_equal(view_event_count(v), 1); /* still listed in the events pane */
	view_free(v);
}

static void test_activity_update_moves_the_worker(void **state)
{
	(void)state;
	struct view *v = agent_view();
	json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:b}", "worker_sid", "WK1", "worker_name", "alice", "worker_activity_sid",
			      "WA3", "worker_activity_name", "Break", "worker_available", 0);
	unsigned dirty = apply(v, event(11, "worker.activity.update", T0 + 7000, d), T0 + 7000);
	assert_true(dirty & VIEW_DIRTY_HEADER);
	assert_true(dirty & VIEW_DIRTY_ACTIVITIES);
	const struct view_worker *me = view_me(v);
	assert_string_equal(me->activity_name, "Break");
	assert_false(me->available);
	assert_int_equal(me->since_ms, T0 + 7000);
	assert_string_equal(view_event_at(v, 0)->text, "worker.activity.update: Break");
	view_free(v);
}

static void test_structure_events_ask_for_lists(void **state)
{
	(void)state;
	struct view *v = agent_view();
	unsigned d = apply(v, event(11, "worker.attributes.update", T0, json_pack("{s:s}", "worker_sid", "WK1")), T0);
	assert_true(d & VIEW_NEED_QUEUES);
	d = apply(v, event(12, "activity.created", T0, json_pack("{s:s, s:s}", "activity_sid", "WA9", "activity_name", "Lunch")),
		  T0);
	assert_true(d & VIEW_NEED_ACTIVITIES);
	json_t *list = json_pack("[{s:s, s:s, s:b}]", "sid", "WA2", "friendly_name", "Ready", "available", 1);
	view_apply_activities(v, list);
	json_decref(list);
	assert_int_equal(view_activity_count(v), 1);
	assert_string_equal(view_me(v)->activity_name, "Ready"); /* renamed under the worker */
	view_free(v);
}

static void test_resync_shows_the_true_state_and_keeps_events(void **state)
{
	(void)state;
	struct view *v = agent_view();
	apply(v, event(11, "reservation.created", T0, res_data("WR1", "WT1", "WK1", "WQ1", 0, 20, T0)), T0);
	apply(v, event(12, "reservation.created", T0, res_data("WR7", "WT7", "WK1", "WQ1", 0, 20, T0)), T0);
	view_note(v, T0 + 10, "console.offline", "lost");
	/* meanwhile WR1 was accepted and WR7 timed out: the snapshot says so */
	json_t *snap = agent_snapshot(99, "accepted");
	unsigned d = view_apply_snapshot(v, snap, T0 + 5000);
	json_decref(snap);
	assert_int_equal(d & VIEW_DIRTY_ALL, VIEW_DIRTY_ALL);
	assert_int_equal(view_reservation_count(v), 1);
	assert_int_equal(view_reservation_at(v, 0)->status, VIEW_RES_ACCEPTED);
	assert_int_equal(view_snapshot_seq(v), 99);
	assert_int_equal(view_event_count(v), 3);
	assert_string_equal(view_event_at(v, 0)->type, "console.offline");
	view_free(v);
}

static void test_events_pane_newest_first_and_bounded(void **state)
{
	(void)state;
	struct view *v = agent_view();
	for (int i = 1; i <= VIEW_EVENTS_MAX + 25; i++)
		apply(v, event((uint64_t)i, "task.updated", T0 + i, json_object()), T0 + i);
	assert_int_equal(view_event_count(v), VIEW_EVENTS_MAX);
	assert_int_equal(view_event_total(v), VIEW_EVENTS_MAX + 25);
	assert_int_equal(view_event_at(v, 0)->seq, VIEW_EVENTS_MAX + 25);
	assert_int_equal(view_event_at(v, VIEW_EVENTS_MAX - 1)->seq, 26);
	assert_null(view_event_at(v, VIEW_EVENTS_MAX));
	view_free(v);
}

static void test_update_answers_show_before_their_events(void **state)
{
	(void)state;
	struct view *v = view_new(VIEW_AGENT, 20);
	json_t *snap = agent_snapshot(1, "pending");
	view_apply_snapshot(v, snap, T0);
	json_decref(snap);
	json_t *res = json_pack("{s:s, s:s, s:s, s:s}", "sid", "WR1", "task_sid", "WT1", "reservation_status", "accepted",
				"task_queue_sid", "WQ1");
	unsigned d = view_apply_reservation(v, res, T0 + 100);
	json_decref(res);
	assert_true(d & VIEW_DIRTY_RESERVATIONS);
	assert_int_equal(view_reservation_at(v, 0)->status, VIEW_RES_ACCEPTED);
	json_t *task = json_pack("{s:s, s:s}", "sid", "WT1", "assignment_status", "wrapping");
	view_apply_task(v, task, T0);
	json_decref(task);
	assert_int_equal(view_reservation_at(v, 0)->status, VIEW_RES_WRAPPING);
	task = json_pack("{s:s, s:s}", "sid", "WT1", "assignment_status", "completed");
	view_apply_task(v, task, T0);
	json_decref(task);
	assert_int_equal(view_reservation_count(v), 0);
	/* a rejected answer removes it too */
	snap = agent_snapshot(2, "pending");
	view_apply_snapshot(v, snap, T0);
	json_decref(snap);
	res = json_pack("{s:s, s:s}", "sid", "WR1", "reservation_status", "rejected");
	view_apply_reservation(v, res, T0);
	json_decref(res);
	assert_int_equal(view_reservation_count(v), 0);
	/* the worker's own update */
	json_t *w = json_pack("{s:s, s:s, s:s, s:s, s:b}", "sid", "WK1", "friendly_name", "alice", "activity_sid", "WA1",
			      "activity_name", "Offline", "available", 0);
	view_apply_worker(v, w, T0);
	json_decref(w);
	assert_string_equal(view_me(v)->activity_name, "Offline");
	view_free(v);
}

static void test_queue_stats_by_priority(void **state)
{
	(void)state;
	struct view *v = agent_view();
	json_t *s = json_pack("{s:s, s:{s:i, s:i, s:i, s:i}, s:i, s:i, s:i, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}}",
			      "task_queue_sid", "WQ2", "tasks_by_status", "pending", 7, "reserved", 2, "assigned", 4,
			      "wrapping", 1, "total_available_workers", 0, "total_eligible_workers", 2,
			      "longest_task_waiting_age", 95, "tasks_by_priority", "0", 1, "1", 1, "2", 1, "3", 1, "10", 2,
			      "20", 1, "30", 1, "-5", 1);
	unsigned d = view_apply_queue_stats(v, s, T0);
	json_decref(s);
	assert_true(d & VIEW_DIRTY_QUEUES);
	const struct view_queue *q = view_queue_find(v, "WQ2");
	assert_true(q->has_stats);
	assert_int_equal(q->pending, 7);
	assert_int_equal(q->wrapping, 1);
	assert_int_equal(q->eligible, 2);
	assert_int_equal(q->longest_wait_s, 95);
	assert_int_equal(q->n_prio, VIEW_PRIO_MAX);
	assert_int_equal(q->by_prio[0].priority, 30); /* highest first */
	assert_int_equal(q->by_prio[2].priority, 10);
	assert_int_equal(q->by_prio[2].count, 2);
	assert_int_equal(q->other_prio, 2); /* priorities 0 and -5 */
	/* stats for a queue the view does not show change nothing */
	s = queue_stats("WQ404", 1, 0, 0);
	assert_int_equal(view_apply_queue_stats(v, s, T0), 0);
	json_decref(s);
	view_free(v);
}

static void test_queue_list_keeps_known_queues(void **state)
{
	(void)state;
	struct view *v = agent_view();
	json_t *list = json_pack("[{s:s, s:s}, {s:s, s:s}]", "sid", "WQ3", "friendly_name", "Spanish", "sid", "WQ1",
				 "friendly_name", "Sales EMEA");
	view_apply_queue_list(v, list, T0);
	json_decref(list);
	assert_int_equal(view_queue_count(v), 2);
	assert_string_equal(view_queue_at(v, 0)->name, "Spanish");
	const struct view_queue *q = view_queue_find(v, "WQ1");
	assert_string_equal(q->name, "Sales EMEA");
	assert_true(q->has_stats); /* kept from before */
	assert_null(view_queue_find(v, "WQ2"));
	view_free(v);
}

/* ---- supervisor ---- */

static json_t *worker_rep(const char *sid, const char *name, const char *act_sid, const char *act, bool avail,
			  int64_t since)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "sid", sid, "friendly_name", name, "activity_sid", act_sid,
			 "activity_name", act, "available", avail, "date_status_changed", iso(since));
}

static struct view *super_view(void)
{
	struct view *v = view_new(VIEW_SUPERVISOR, 20);
	json_t *workers = json_array();
	json_array_append_new(workers, worker_rep("WK1", "alice", "WA2", "Available", true, T0 - 30000));
	json_array_append_new(workers, worker_rep("WK2", "bob", "WA1", "Offline", false, T0 - 90000));
	json_array_append_new(workers, worker_rep("WK3", "Carla", "WA2", "Available", true, T0 - 5000));
	json_array_append_new(workers, worker_rep("WK4", "diego", "WA3", "Break", false, T0 - 1000));
	json_t *snap = json_pack("{s:I, s:{s:s}, s:o, s:[{s:s, s:s}, {s:s, s:s}], s:o, s:[], s:{s:{s:i, s:i, s:i, s:i}, s:i, s:i, s:i}}",
				 "seq", (json_int_t)50, "workspace", "friendly_name", "Demo", "activities", activities(),
				 "task_queues", "sid", "WQ1", "friendly_name", "Sales", "sid", "WQ2", "friendly_name",
				 "Support", "workers", workers, "tasks", "stats", "tasks_by_status", "pending", 3, "reserved", 1,
				 "assigned", 2, "wrapping", 0, "total_workers", 4, "total_available_workers", 2,
				 "longest_task_waiting_age", 12);
	view_apply_snapshot(v, snap, T0);
	json_decref(snap);
	return v;
}

static void test_supervisor_snapshot_has_workers_and_totals(void **state)
{
	(void)state;
	struct view *v = super_view();
	assert_int_equal(view_mode(v), VIEW_SUPERVISOR);
	assert_null(view_me(v));
	assert_int_equal(view_worker_count(v), 4);
	const struct view_worker *w = view_worker_find(v, "WK2");
	assert_string_equal(w->name, "bob");
	assert_false(w->available);
	assert_int_equal(w->since_ms, T0 - 90000);
	const struct view_totals *t = view_totals(v);
	assert_true(t->has_stats);
	assert_int_equal(t->pending, 3);
	assert_int_equal(t->available, 2);
	assert_int_equal(t->longest_wait_s, 12);
	view_free(v);
}

static void test_worker_grid_follows_reservations(void **state)
{
	(void)state;
	struct view *v = super_view();
	unsigned d = apply(v, event(51, "reservation.created", T0, res_data("WR1", "WT1", "WK1", "WQ1", 0, 20, T0)), T0);
	assert_true(d & VIEW_DIRTY_WORKERS);
	assert_true(d & VIEW_NEED_STATS);
	const struct view_worker *w = view_worker_find(v, "WK1");
	assert_int_equal(w->ntasks, 1);
	assert_string_equal(w->tasks[0].task_sid, "WT1");
	assert_string_equal(w->tasks[0].queue_name, "Sales");
	assert_int_equal(w->tasks[0].status, VIEW_RES_PENDING);
	apply(v, event(52, "reservation.accepted", T0 + 1, res_data("WR1", "WT1", "WK1", "WQ1", 0, 0, T0)), T0);
	assert_int_equal(w->tasks[0].status, VIEW_RES_ACCEPTED);
	apply(v, event(53, "reservation.wrapup", T0 + 2, res_data("WR1", "WT1", "WK1", "WQ1", 0, 0, T0)), T0);
	assert_int_equal(w->tasks[0].status, VIEW_RES_WRAPPING);
	apply(v, event(54, "reservation.completed", T0 + 3, res_data("WR1", "WT1", "WK1", "WQ1", 0, 0, T0)), T0);
	assert_int_equal(w->ntasks, 0);
	/* a rejected offer frees the worker too */
	apply(v, event(55, "reservation.created", T0, res_data("WR2", "WT2", "WK3", "WQ2", 0, 20, T0)), T0);
	apply(v, event(56, "reservation.rejected", T0, res_data("WR2", "WT2", "WK3", "WQ2", 0, 0, T0)), T0);
	assert_int_equal(view_worker_find(v, "WK3")->ntasks, 0);
	/* activity changes and time in state */
	json_t *ad = json_pack("{s:s, s:s, s:s, s:b}", "worker_sid", "WK2", "worker_activity_sid", "WA2",
			       "worker_activity_name", "Available", "worker_available", 1);
	apply(v, event(57, "worker.activity.update", T0 + 4000, ad), T0 + 4000);
	w = view_worker_find(v, "WK2");
	assert_true(w->available);
	assert_int_equal(w->since_ms, T0 + 4000);
	view_free(v);
}

static void test_workers_come_and_go(void **state)
{
	(void)state;
	struct view *v = super_view();
	json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:b}", "worker_sid", "WK9", "worker_name", "zoe", "worker_activity_sid",
			      "WA1", "worker_activity_name", "Offline", "worker_available", 0);
	apply(v, event(51, "worker.created", T0, d), T0);
	assert_int_equal(view_worker_count(v), 5);
	assert_string_equal(view_worker_find(v, "WK9")->name, "zoe");
	apply(v, event(52, "worker.deleted", T0, json_pack("{s:s}", "worker_sid", "WK2")), T0);
	assert_int_equal(view_worker_count(v), 4);
	assert_null(view_worker_find(v, "WK2"));
	assert_non_null(view_worker_find(v, "WK9"));
	view_free(v);
}

static json_t *task_ev_data(const char *qsid, int64_t entered)
{
	return json_pack("{s:s, s:s, s:o, s:o}", "task_sid", "WTx", "task_queue_sid", qsid, "task_queue_entered_date",
			 iso(entered), "task_date_created", iso(entered));
}

static void test_history_gives_sparklines_and_service_level(void **state)
{
	(void)state;
	struct view *v = super_view();
	int64_t now = T0 + 60000;
	apply(v, event(51, "task-queue.entered", T0 + 1000, task_ev_data("WQ1", T0 + 1000)), now);
	apply(v, event(52, "task-queue.entered", T0 + 2000, task_ev_data("WQ1", T0 + 2000)), now);
	apply(v, event(53, "task-queue.entered", T0 + 45000, task_ev_data("WQ1", T0 + 45000)), now);
	/* answered after 10 s (within 20) and after 40 s (not); one abandoned */
	json_t *a1 = res_data("WR1", "WT1", "WK1", "WQ1", 0, 0, T0 + 1000);
	apply(v, event(54, "reservation.accepted", T0 + 11000, a1), now);
	json_t *a2 = res_data("WR2", "WT2", "WK3", "WQ1", 0, 0, T0 + 2000);
	apply(v, event(55, "reservation.accepted", T0 + 42000, a2), now);
	apply(v, event(56, "task.canceled", T0 + 50000, task_ev_data("WQ1", T0 + 45000)), now);
	const struct view_queue *q = view_queue_find(v, "WQ1");
	assert_int_equal(view_hist_sum(&q->hist, VIEW_HIST_ARRIVALS, now), 3);
	assert_int_equal(view_hist_sum(&q->hist, VIEW_HIST_ABANDONS, now), 1);
	assert_int_equal(view_hist_sum(&q->hist, VIEW_HIST_ANSWERED, now), 2);
	assert_int_equal(view_hist_sum(&q->hist, VIEW_HIST_ANSWERED_IN_SL, now), 1);
	int pct = -1;
	assert_true(view_service_level(&q->hist, now, &pct));
	assert_int_equal(pct, 33); /* 1 within 20 s of 3 that ended */
	uint32_t series[VIEW_HIST_BUCKETS];
	view_hist_series(&q->hist, VIEW_HIST_ARRIVALS, now, series);
	/* now is T0+60 s: the newest bucket is [T0+60, T0+70); T0+1 s and T0+2 s sit six back, T0+45 s two back */
	assert_int_equal(series[VIEW_HIST_BUCKETS - 1 - 6], 2);
	assert_int_equal(series[VIEW_HIST_BUCKETS - 1 - 2], 1);
	/* the other queue saw nothing */
	assert_false(view_service_level(&view_queue_find(v, "WQ2")->hist, now, &pct));
	/* five minutes later it is all gone */
	assert_int_equal(view_hist_sum(&q->hist, VIEW_HIST_ARRIVALS, now + VIEW_HIST_WINDOW_MS), 0);
	view_free(v);
}

static void test_seed_history_stops_at_the_snapshot(void **state)
{
	(void)state;
	struct view *v = super_view(); /* snapshot seq 50 */
	json_t *evs = json_array();
	json_array_append_new(evs, event(40, "task-queue.entered", T0 - 20000, task_ev_data("WQ2", T0 - 20000)));
	json_array_append_new(evs, event(49, "task-queue.entered", T0 - 10000, task_ev_data("WQ2", T0 - 10000)));
	json_array_append_new(evs, event(51, "task-queue.entered", T0 - 5000, task_ev_data("WQ2", T0 - 5000)));
	json_array_append_new(evs, event(45, "task.canceled", T0 - 8000, task_ev_data("WQ2", T0 - 20000)));
	view_seed_history(v, evs, view_snapshot_seq(v), T0);
	json_decref(evs);
	const struct view_queue *q = view_queue_find(v, "WQ2");
	assert_int_equal(view_hist_sum(&q->hist, VIEW_HIST_ARRIVALS, T0), 2); /* seq 51 comes from the stream */
	assert_int_equal(view_hist_sum(&q->hist, VIEW_HIST_ABANDONS, T0), 1);
	/* a new snapshot clears history for reseeding */
	json_t *snap = json_pack("{s:I, s:{s:s}, s:o, s:[{s:s, s:s}], s:[]}", "seq", (json_int_t)60, "workspace", "friendly_name",
				 "Demo", "activities", activities(), "task_queues", "sid", "WQ2", "friendly_name", "Support",
				 "workers");
	view_apply_snapshot(v, snap, T0);
	json_decref(snap);
	assert_int_equal(view_hist_sum(&view_queue_find(v, "WQ2")->hist, VIEW_HIST_ARRIVALS, T0), 0);
	view_free(v);
}

static void test_holdings_replace_what_workers_hold(void **state)
{
	(void)state;
	struct view *v = super_view();
	apply(v, event(51, "reservation.created", T0, res_data("WR1", "WT1", "WK1", "WQ1", 0, 20, T0)), T0);
	json_t *h = json_pack("[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}]", "sid",
			      "WR5", "task_sid", "WT5", "worker_sid", "WK2", "reservation_status", "accepted",
			      "task_queue_sid", "WQ2", "sid", "WR6", "task_sid", "WT6", "worker_sid", "WK2",
			      "reservation_status", "wrapping", "task_queue_sid", "WQ1", "sid", "WR7", "task_sid", "WT7",
			      "worker_sid", "WK404", "reservation_status", "pending", "task_queue_sid", "WQ1");
	view_apply_holdings(v, h);
	json_decref(h);
	assert_int_equal(view_worker_find(v, "WK1")->ntasks, 0);
	const struct view_worker *w = view_worker_find(v, "WK2");
	assert_int_equal(w->ntasks, 2);
	assert_string_equal(w->tasks[0].queue_name, "Support");
	assert_int_equal(w->tasks[1].status, VIEW_RES_WRAPPING);
	view_free(v);
}

static void test_grid_sorts_and_filters(void **state)
{
	(void)state;
	struct view *v = super_view();
	apply(v, event(51, "reservation.created", T0, res_data("WR1", "WT1", "WK3", "WQ2", 0, 20, T0)), T0);
	const struct view_worker *rows[8];
	size_t n = view_grid(v, VIEW_SORT_NAME, false, VIEW_FILTER_ALL, NULL, rows, 8);
	assert_int_equal(n, 4);
	assert_string_equal(rows[0]->name, "alice");
	assert_string_equal(rows[2]->name, "Carla"); /* case-insensitive */
	n = view_grid(v, VIEW_SORT_NAME, true, VIEW_FILTER_ALL, NULL, rows, 8);
	assert_string_equal(rows[0]->name, "diego");
	n = view_grid(v, VIEW_SORT_ACTIVITY, false, VIEW_FILTER_ALL, NULL, rows, 8);
	assert_string_equal(rows[0]->name, "alice"); /* available first, then by activity, then name */
	assert_string_equal(rows[1]->name, "Carla");
	assert_string_equal(rows[2]->name, "diego"); /* Break before Offline */
	n = view_grid(v, VIEW_SORT_TIME, false, VIEW_FILTER_ALL, NULL, rows, 8);
	assert_string_equal(rows[0]->name, "bob"); /* longest in state */
	assert_string_equal(rows[3]->name, "diego");
	n = view_grid(v, VIEW_SORT_TASKS, false, VIEW_FILTER_ALL, NULL, rows, 8);
	assert_string_equal(rows[0]->name, "Carla");
	n = view_grid(v, VIEW_SORT_NAME, false, VIEW_FILTER_AVAILABLE, NULL, rows, 8);
	assert_int_equal(n, 2);
	n = view_grid(v, VIEW_SORT_NAME, false, VIEW_FILTER_UNAVAILABLE, NULL, rows, 8);
	assert_int_equal(n, 2);
	n = view_grid(v, VIEW_SORT_NAME, false, VIEW_FILTER_BUSY, NULL, rows, 8);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0]->name, "Carla");
	n = view_grid(v, VIEW_SORT_NAME, false, VIEW_FILTER_IDLE, NULL, rows, 8);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0]->name, "alice");
	n = view_grid(v, VIEW_SORT_NAME, false, VIEW_FILTER_ALL, "SUPP", rows, 8); /* by held queue */
	assert_int_equal(n, 1);
	n = view_grid(v, VIEW_SORT_NAME, false, VIEW_FILTER_ALL, "off", rows, 8); /* by activity */
	assert_int_equal(n, 1);
	assert_string_equal(rows[0]->name, "bob");
	/* more matches than room: the count says so, only cap are written */
	n = view_grid(v, VIEW_SORT_NAME, false, VIEW_FILTER_ALL, "", rows, 2);
	assert_int_equal(n, 4);
	assert_string_equal(view_sort_name(VIEW_SORT_TIME), "time in state");
	assert_string_equal(view_filter_name(VIEW_FILTER_IDLE), "idle");
	view_free(v);
}

/* ---- arithmetic ---- */

static void test_hist_buckets_window(void **state)
{
	(void)state;
	struct view_hist h;
	view_hist_clear(&h);
	view_hist_add(&h, VIEW_HIST_ARRIVALS, T0, T0, 2);
	view_hist_add(&h, VIEW_HIST_ARRIVALS, T0 - VIEW_HIST_WINDOW_MS, T0, 5);   /* just outside */
	view_hist_add(&h, VIEW_HIST_ARRIVALS, T0 + VIEW_HIST_BUCKET_MS, T0, 1);   /* a little ahead: kept */
	view_hist_add(&h, VIEW_HIST_ARRIVALS, T0 + 5 * VIEW_HIST_BUCKET_MS, T0, 9); /* far ahead: dropped */
	assert_int_equal(view_hist_sum(&h, VIEW_HIST_ARRIVALS, T0), 3);
	uint32_t s[VIEW_HIST_BUCKETS];
	view_hist_series(&h, VIEW_HIST_ARRIVALS, T0, s);
	assert_int_equal(s[VIEW_HIST_BUCKETS - 1], 3);
	/* a bucket reused after a full turn starts from zero */
	int64_t later = T0 + VIEW_HIST_WINDOW_MS + VIEW_HIST_BUCKET_MS;
	view_hist_add(&h, VIEW_HIST_ARRIVALS, later, later, 1);
	assert_int_equal(view_hist_sum(&h, VIEW_HIST_ARRIVALS, later), 1);
}

static void test_service_level_and_health(void **state)
{
	(void)state;
	struct view_hist h;
	view_hist_clear(&h);
	int pct = -7;
	assert_false(view_service_level(&h, T0, &pct));
	assert_int_equal(pct, -7);
	view_hist_add(&h, VIEW_HIST_ANSWERED, T0, T0, 4);
	view_hist_add(&h, VIEW_HIST_ANSWERED_IN_SL, T0, T0, 4);
	assert_true(view_service_level(&h, T0, &pct));
	assert_int_equal(pct, 100);
	view_hist_add(&h, VIEW_HIST_ABANDONS, T0, T0, 1);
	assert_true(view_service_level(&h, T0, &pct));
	assert_int_equal(pct, 80);

	assert_int_equal(view_queue_health(0, 0, 3, 5, 20, -1), VIEW_HEALTH_OK);
	assert_int_equal(view_queue_health(2, 5, 3, 5, 20, -1), VIEW_HEALTH_OK);
	assert_int_equal(view_queue_health(2, 20, 3, 5, 20, -1), VIEW_HEALTH_WARNING);
	assert_int_equal(view_queue_health(2, 5, 0, 5, 20, -1), VIEW_HEALTH_WARNING);
	assert_int_equal(view_queue_health(0, 0, 3, 5, 20, 79), VIEW_HEALTH_WARNING);
	assert_int_equal(view_queue_health(0, 0, 3, 5, 20, 80), VIEW_HEALTH_OK);
	assert_int_equal(view_queue_health(2, 40, 3, 5, 20, -1), VIEW_HEALTH_CRITICAL);
	assert_int_equal(view_queue_health(1, 0, 0, 0, 20, -1), VIEW_HEALTH_CRITICAL);
	assert_int_equal(view_queue_health(0, 0, 0, 0, 20, -1), VIEW_HEALTH_OK); /* nobody waits */
}

static void test_durations_and_countdowns(void **state)
{
	(void)state;
	char b[32];
	view_fmt_duration(7000, b, sizeof b);
	assert_string_equal(b, "0:07");
	view_fmt_duration(723999, b, sizeof b);
	assert_string_equal(b, "12:03");
	view_fmt_duration(3723000, b, sizeof b);
	assert_string_equal(b, "1:02:03");
	view_fmt_duration(3LL * 86400000 + 4 * 3600000, b, sizeof b);
	assert_string_equal(b, "3d04h");
	view_fmt_duration(-5, b, sizeof b);
	assert_string_equal(b, "0:00");
	view_fmt_short(3723000, b, sizeof b);
	assert_string_equal(b, "1h02");
	view_fmt_short(200LL * 3600000, b, sizeof b);
	assert_string_equal(b, "8d08");
	view_fmt_short(59 * 60000 + 59000, b, sizeof b);
	assert_string_equal(b, "59:59");
	/* countdowns round up: 0:01 shows until the very end */
	view_fmt_countdown(1, b, sizeof b);
	assert_string_equal(b, "0:01");
	view_fmt_countdown(20000, b, sizeof b);
	assert_string_equal(b, "0:20");
	view_fmt_countdown(19001, b, sizeof b);
	assert_string_equal(b, "0:20");
	view_fmt_countdown(0, b, sizeof b);
	assert_string_equal(b, "0:00");
	view_fmt_countdown(-1, b, sizeof b);
	assert_string_equal(b, "--");
	assert_int_equal(view_countdown_ms(0, T0), -1);
	assert_false(view_expiring(0, 20, T0));
	assert_true(view_expiring(T0 + 5000, 120, T0)); /* long timeouts: the last 5 s */
	assert_false(view_expiring(T0 + 5001, 120, T0));
}

static void test_sparkline_levels(void **state)
{
	(void)state;
	uint32_t v[5] = { 0, 1, 4, 8, 2 };
	char out[64];
	view_sparkline(v, 5, false, out, sizeof out);
	assert_string_equal(out, " .~#_");
	view_sparkline(v, 5, true, out, sizeof out);
	assert_string_equal(out, " \u2581\u2584\u2588\u2582");
	uint32_t zero[3] = { 0, 0, 0 };
	view_sparkline(zero, 3, false, out, sizeof out);
	assert_string_equal(out, "   ");
	/* a short buffer cuts whole cells */
	view_sparkline(v, 5, true, out, 8);
	assert_string_equal(out, " \u2581\u2584");
	assert_int_equal(view_spark_level(1, 1000), 1); /* anything non-zero shows */
	assert_int_equal(view_spark_level(1000, 1000), 8);
	assert_int_equal(view_spark_level(0, 0), 0);
}

/* ---- command line ---- */

static enum swb_code parse(struct console_opts *o, struct swb_err *err, ...)
{
	char *argv[16] = { "swb-console" };
	int argc = 1;
	va_list ap;
	va_start(ap, err);
	char *s;
	while ((s = va_arg(ap, char *)) && argc < 15)
		argv[argc++] = s;
	va_end(ap);
	return console_parse_args(argc, argv, o, err);
}

static void test_console_options(void **state)
{
	(void)state;
	struct console_opts o;
	struct swb_err err;
	assert_int_equal(parse(&o, &err, NULL), SWB_OK);
	assert_int_equal(o.sl_threshold_s, CONSOLE_SL_DEFAULT);
	assert_int_equal(o.alert, CONSOLE_ALERT_BELL);
	assert_true(o.mouse);
	assert_int_equal(o.frames, 0);
	assert_int_equal(parse(&o, &err, "--worker", "alice", "--url=tcp://127.0.0.1:1", "--show-attrs", "department,,vip",
			       "--alert", "flash", "--frames", "3", "--theme", "light", "--no-mouse", NULL),
			 SWB_OK);
	assert_string_equal(o.worker, "alice");
	assert_string_equal(o.url, "tcp://127.0.0.1:1");
	assert_int_equal(o.n_show_attrs, 2);
	assert_string_equal(o.show_attrs[1], "vip");
	assert_int_equal(o.alert, CONSOLE_ALERT_FLASH);
	assert_int_equal(o.frames, 3);
	assert_string_equal(o.theme, "light");
	assert_false(o.mouse);
	assert_int_equal(parse(&o, &err, "--supervisor", "--sl-threshold", "30", NULL), SWB_OK);
	assert_true(o.supervisor);
	assert_int_equal(o.sl_threshold_s, 30);

	assert_int_equal(parse(&o, &err, "--alert", "loud", NULL), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "--alert must be bell, flash, both or none"));
	assert_int_equal(parse(&o, &err, "--sl-threshold", "0", NULL), SWB_EINVAL);
	assert_int_equal(parse(&o, &err, "--frames", "x", NULL), SWB_EINVAL);
	assert_int_equal(parse(&o, &err, "--token", NULL), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "--token needs a value"));
	assert_int_equal(parse(&o, &err, "--token", "t", "--worker", "bob", NULL), SWB_EINVAL);
	assert_int_equal(parse(&o, &err, "--worker", "bob", "--supervisor", NULL), SWB_EINVAL);
	assert_int_equal(parse(&o, &err, "--bogus", NULL), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "unknown option '--bogus'"));
	assert_int_equal(parse(&o, &err, "--supervisor=yes", NULL), SWB_EINVAL);
	assert_int_equal(parse(&o, &err, "--show-attrs", ",", NULL), SWB_EINVAL);
}

static void test_token_ttl_option(void **state)
{
	(void)state;
	struct console_opts o;
	struct swb_err err;
	assert_int_equal(parse(&o, &err, "--worker", "bob", NULL), SWB_OK);
	assert_int_equal(o.token_ttl_s, CONSOLE_TOKEN_TTL_DEFAULT);
	assert_false(o.token_ttl_given);
	assert_int_equal(parse(&o, &err, "--worker", "bob", "--token-ttl", "3", NULL), SWB_OK);
	assert_int_equal(o.token_ttl_s, 3);
	assert_true(o.token_ttl_given);
	assert_int_equal(parse(&o, &err, "--supervisor", "--token-ttl=2", NULL), SWB_OK);
	assert_int_equal(o.token_ttl_s, 2);
	assert_int_equal(parse(&o, &err, "--token-ttl", "1", NULL), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "--token-ttl must be seconds from 2 to"));
	assert_int_equal(parse(&o, &err, "--token-ttl", "99999999999", NULL), SWB_EINVAL);
	assert_int_equal(parse(&o, &err, "--token", "t", "--token-ttl", "60", NULL), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "not with --token"));
}

static void test_own_token_is_renewed_at_80_percent_and_retried(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_console_tokenXXXXXX";
	assert_non_null(mkdtemp(dir));
	unsigned char secret[SWB_SECRET_LEN];
	struct swb_err err = { 0 };
	assert_int_equal(swb_secret_load_or_create(dir, secret, &err), SWB_OK);
	/* minted half a second into second 1000: the schedule counts from the second's start */
	struct console_token *t = console_token_mint(dir, "supervisor", 10, 1000500, &err);
	assert_non_null(t);
	assert_int_equal(console_token_due_ms(t), 1008000);
	assert_int_equal(console_token_expires_ms(t), 1010000);
	assert_non_null(console_token_value(t));
	assert_int_equal(console_token_renew(t, NULL, 1008000, &err), SWB_OK);
	assert_int_equal(console_token_due_ms(t), 1016000);
	assert_int_equal(console_token_expires_ms(t), 1018000);

	/* the secret goes away: the token in use stays, the reason is told, a retry is due in a second */
	const char *before = console_token_value(t);
	char path[64];
	snprintf(path, sizeof path, "%s/secret", dir);
	unlink(path);
	assert_int_equal(console_token_renew(t, NULL, 1016000, &err), SWB_EIO);
	assert_non_null(strstr(err.msg, "cannot mint a token"));
	assert_ptr_equal(console_token_value(t), before);
	assert_int_equal(console_token_due_ms(t), 1016000 + CONSOLE_TOKEN_RETRY_MIN_MS);
	assert_int_equal(console_token_expires_ms(t), 1018000);
	console_token_free(t);

	/* a day-long token: renewed after 19.2 h, retried every 30 s at most */
	assert_int_equal(swb_secret_load_or_create(dir, secret, &err), SWB_OK);
	t = console_token_mint(dir, "supervisor", 86400, 0, &err);
	assert_non_null(t);
	assert_int_equal(console_token_due_ms(t), 86400LL * 800);
	unlink(path);
	assert_int_equal(console_token_renew(t, NULL, 86400LL * 800, &err), SWB_EIO);
	assert_int_equal(console_token_due_ms(t), 86400LL * 800 + CONSOLE_TOKEN_RETRY_MAX_MS);
	console_token_free(t);
	assert_null(console_token_mint(dir, "supervisor", 10, 0, &err));
	assert_int_equal(err.code, SWB_EIO);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_builds_the_agent_view),
		cmocka_unit_test(test_reservation_created_is_new_and_counts_down),
		cmocka_unit_test(test_accept_wrap_complete_follow_the_events),
		cmocka_unit_test(test_ended_reservations_leave_the_panel),
		cmocka_unit_test(test_reservations_sorted_pending_by_deadline_then_assigned),
		cmocka_unit_test(test_agent_ignores_other_workers),
		cmocka_unit_test(test_activity_update_moves_the_worker),
		cmocka_unit_test(test_structure_events_ask_for_lists),
		cmocka_unit_test(test_resync_shows_the_true_state_and_keeps_events),
		cmocka_unit_test(test_events_pane_newest_first_and_bounded),
		cmocka_unit_test(test_update_answers_show_before_their_events),
		cmocka_unit_test(test_queue_stats_by_priority),
		cmocka_unit_test(test_queue_list_keeps_known_queues),
		cmocka_unit_test(test_supervisor_snapshot_has_workers_and_totals),
		cmocka_unit_test(test_worker_grid_follows_reservations),
		cmocka_unit_test(test_workers_come_and_go),
		cmocka_unit_test(test_history_gives_sparklines_and_service_level),
		cmocka_unit_test(test_seed_history_stops_at_the_snapshot),
		cmocka_unit_test(test_holdings_replace_what_workers_hold),
		cmocka_unit_test(test_grid_sorts_and_filters),
		cmocka_unit_test(test_hist_buckets_window),
		cmocka_unit_test(test_service_level_and_health),
		cmocka_unit_test(test_durations_and_countdowns),
		cmocka_unit_test(test_sparkline_levels),
		cmocka_unit_test(test_console_options),
		cmocka_unit_test(test_token_ttl_option),
		cmocka_unit_test(test_own_token_is_renewed_at_80_percent_and_retried),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
