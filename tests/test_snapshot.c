/*
 * test_snapshot.c - a core restored from swb_core_snapshot behaves exactly like
 * the original: driven by the same seeded sequence of inputs after the split,
 * both emit the same events (types, resources, SIDs, seqs) and end in the same
 * state. Also: bad snapshots are refused with a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"
#include "sid.h"

struct rec {
	json_t *events; /* [[seq, type, resource_sid, sid], ...] */
	json_t *pending; /* reservation sids seen created, not yet answered */
};

static void sink(void *ctx, const struct swb_event *ev)
{
	struct rec *r = ctx;
	json_array_append_new(r->events, json_pack("[I, s, s, s]", (json_int_t)ev->seq, ev->type, ev->resource_sid, ev->sid));
	if (strcmp(ev->type, "reservation.created") == 0)
		json_array_append_new(r->pending, json_string(ev->resource_sid));
}

static void must(swb_core *c, int64_t now, const char *op, json_t *args)
{
	struct swb_err err;
	enum swb_code rc = swb_core_sys(c, now, op, args, NULL, &err);
	if (rc != SWB_OK)
		fail_msg("%s: %s", op, err.msg);
	json_decref(args);
}

static swb_core *build(struct rec *r, int64_t now)
{
	struct swb_core_opts o = { .seed = 42, .now_ms = now, .sink = sink, .sink_ctx = r };
	swb_core *c = swb_core_new(&o);
	must(c, now, "task_queues.create", json_pack("{s:s, s:s}", "friendly_name", "Sales", "target_workers", "skills HAS 'sales'"));
	must(c, now, "task_queues.create", json_pack("{s:s, s:s, s:i}", "friendly_name", "Any", "target_workers", "1==1",
						     "max_reserved_workers", 2));
	must(c, now, "workflows.create",
	     json_pack("{s:s, s:i, s:s}", "friendly_name", "WF", "task_reservation_timeout", 5, "configuration",
		       "{\"task_routing\":{\"filters\":[{\"expression\":\"dept=='sales'\",\"targets\":[{\"queue\":\"Sales\","
		       "\"timeout\":7},{\"queue\":\"Any\",\"priority\":3}]}],\"default_filter\":{\"queue\":\"Any\"}}}"));
	static const char *const names[] = { "ann", "ben", "cat", "dan", "eve" };
	for (int i = 0; i < 5; i++)
		must(c, now, "workers.create",
		     json_pack("{s:s, s:s, s:{s:[s]}}", "friendly_name", names[i], "activity_sid", "Available", "attributes",
			       "skills", i % 2 ? "sales" : "support"));
	return c;
}

/* One seeded step: create a task, answer a reservation, finish a task, change an activity, or let time pass. */
static int64_t step(swb_core *c, struct rec *r, swb_rng *rng, int64_t now)
{
	struct swb_err err;
	uint64_t dice = swb_rng_next(rng) % 10;
	now += (int64_t)(swb_rng_next(rng) % 3000);
	if (dice < 3) {
		json_t *a = json_pack("{s:{s:s}, s:i}", "attributes", "dept", dice == 0 ? "support" : "sales", "priority",
				      (int)(swb_rng_next(rng) % 3));
		swb_core_sys(c, now, "tasks.create", a, NULL, &err);
		json_decref(a);
	} else if (dice < 7 && json_array_size(r->pending)) {
		size_t i = swb_rng_next(rng) % json_array_size(r->pending);
		const char *st = dice < 6 ? "accepted" : "rejected";
		json_t *a = json_pack("{s:O, s:s}", "sid", json_array_get(r->pending, i), "reservation_status", st);
		swb_core_sys(c, now, "reservations.update", a, NULL, &err); /* may fail: timed out meanwhile */
		json_decref(a);
		json_array_remove(r->pending, i);
	} else if (dice < 9) {
		json_t *list = NULL, *a = json_pack("{s:s}", "assignment_status", "assigned");
		swb_core_sys(c, now, "tasks.list", a, &list, NULL);
		json_decref(a);
		json_t *tasks = json_object_get(list, "tasks");
		if (json_array_size(tasks)) {
			json_t *t = json_array_get(tasks, swb_rng_next(rng) % json_array_size(tasks));
			a = json_pack("{s:O, s:s}", "sid", json_object_get(t, "sid"), "assignment_status", "completed");
			swb_core_sys(c, now, "tasks.update", a, NULL, &err);
			json_decref(a);
		}
		json_decref(list);
	} else {
		static const char *const names[] = { "ann", "ben", "cat", "dan", "eve" };
		json_t *a = json_pack("{s:s, s:s}", "sid", names[swb_rng_next(rng) % 5], "activity_sid", "Available");
		swb_core_sys(c, now, "workers.update", a, NULL, &err);
		json_decref(a);
	}
	swb_core_tick(c, now);
	return now;
}

static void test_restored_core_continues_exactly_like_the_original(void **state)
{
	(void)state;
	struct rec ra = { json_array(), json_array() }, rb = { json_array(), json_array() };
	int64_t now = 1700000000000;
	swb_core *a = build(&ra, now);
	swb_rng rng;
	swb_rng_seed(&rng, 7);
	for (int i = 0; i < 300; i++)
		now = step(a, &ra, &rng, now);
	json_t *snap = swb_core_snapshot(a);
	/* through text, as the journal stores it */
	char *text = json_dumps(snap, JSON_COMPACT);
	json_t *back = json_loads(text, 0, NULL);
	struct swb_err err;
	swb_core *b = swb_core_restore(back, sink, &rb, &err);
	assert_non_null(b);
	json_t *snap_b = swb_core_snapshot(b);
	assert_true(json_equal(snap, snap_b));
	json_array_extend(rb.pending, ra.pending);
	size_t split = json_array_size(ra.events);
	swb_rng rng_b = rng;
	int64_t now_b = now;
	for (int i = 0; i < 400; i++) {
		now = step(a, &ra, &rng, now);
		now_b = step(b, &rb, &rng_b, now_b);
	}
	assert_true(json_array_size(ra.events) > split + 100);
	json_t *tail = json_array();
	for (size_t i = split; i < json_array_size(ra.events); i++)
		json_array_append(tail, json_array_get(ra.events, i));
	assert_int_equal(json_array_size(tail), json_array_size(rb.events));
	assert_true(json_equal(tail, rb.events));
	json_t *end_a = swb_core_snapshot(a), *end_b = swb_core_snapshot(b);
	assert_true(json_equal(end_a, end_b));
	json_decref(end_a);
	json_decref(end_b);
	json_decref(tail);
	json_decref(snap_b);
	json_decref(back);
	free(text);
	json_decref(snap);
	swb_core_free(a);
	swb_core_free(b);
	json_decref(ra.events);
	json_decref(ra.pending);
	json_decref(rb.events);
	json_decref(rb.pending);
}

static void test_bad_snapshots_are_refused_with_a_message(void **state)
{
	(void)state;
	struct swb_err err;
	json_t *bad = json_loads("{\"v\": 99}", 0, NULL);
	assert_null(swb_core_restore(bad, NULL, NULL, &err));
	assert_non_null(strstr(err.msg, "version"));
	json_decref(bad);
	bad = json_loads("[1,2]", 0, NULL);
	assert_null(swb_core_restore(bad, NULL, NULL, &err));
	assert_non_null(strstr(err.msg, "snapshot"));
	json_decref(bad);
	/* a snapshot whose worker points at a missing activity */
	struct rec r = { json_array(), json_array() };
	swb_core *c = build(&r, 1700000000000);
	json_t *snap = swb_core_snapshot(c);
	json_object_set_new(json_array_get(json_object_get(snap, "workers"), 0), "act", json_string("WAnope"));
	assert_null(swb_core_restore(snap, NULL, NULL, &err));
	assert_non_null(strstr(err.msg, "incomplete"));
	json_decref(snap);
	swb_core_free(c);
	json_decref(r.events);
	json_decref(r.pending);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restored_core_continues_exactly_like_the_original),
		cmocka_unit_test(test_bad_snapshots_are_refused_with_a_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
