/*
 * test_stats.c - statistics (server/stats.c) and /metrics (server/metrics.c)
 * through a real node whose in-memory window is smaller than the history, so
 * the cumulative figures are counted from the journal file: they must equal
 * the core's own since-creation counters when the window covers everything,
 * be zero for a window before anything happened, and /metrics must say the
 * same as the stats ops.
 */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "node_harness.h"

static json_t *task(struct h_node *h, const char *dept)
{
	return h_call(h, "tasks.create", json_pack("{s:{s:s}}", "attributes", "department", dept));
}

static json_t *pending_reservation(struct h_node *h, const char *task_sid)
{
	json_t *l = h_call(h, "reservations.list", json_pack("{s:s, s:s}", "task_sid", task_sid, "reservation_status", "pending"));
	json_t *r = json_incref(json_array_get(json_object_get(l, "reservations"), 0));
	json_decref(l);
	assert_non_null(r);
	return r;
}

static void set_res(struct h_node *h, json_t *r, const char *status)
{
	json_decref(h_call(h, "reservations.update", json_pack("{s:O, s:s}", "sid", json_object_get(r, "sid"),
							       "reservation_status", status)));
}

static json_int_t get_i(json_t *o, const char *path)
{
	char key[128];
	snprintf(key, sizeof key, "%s", path);
	json_t *cur = o;
	for (char *save = NULL, *k = strtok_r(key, ".", &save); k; k = strtok_r(NULL, ".", &save))
		cur = json_object_get(cur, k);
	if (!json_is_integer(cur))
		fail_msg("%s is not an integer", path);
	return json_integer_value(cur);
}

/* The value of the metric line that starts with prefix (labels included), or -1. */
static long long metric(const char *text, const char *prefix)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, strlen(prefix)) == 0 && p[strlen(prefix)] == ' ')
			return atoll(p + strlen(prefix) + 1);
	return -1;
}

static char *fetch_metrics(struct h_node *h)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "curl -sf http://127.0.0.1:%d/metrics", h->http_port);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char *buf = calloc(1, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, p);
	buf[n] = '\0';
	assert_int_equal(pclose(p), 0);
	return buf;
}

static void test_cumulative_counts_come_from_the_journal_and_match_the_core(void **state)
{
	struct h_node h;
	h_init(&h, true);
	h_arg(&h, "--event-window");
	h_arg(&h, "16");
	assert_true(h_start(&h));
	json_t *t[4];
	for (int i = 0; i < 4; i++)
		t[i] = task(&h, "support");
	json_t *r0 = pending_reservation(&h, h_str(t[0], "sid")), *r1 = pending_reservation(&h, h_str(t[1], "sid"));
	json_t *r2 = pending_reservation(&h, h_str(t[2], "sid"));
	set_res(&h, r0, "accepted");
	set_res(&h, r1, "accepted");
	set_res(&h, r2, "rejected");
	json_decref(h_call(&h, "tasks.update", json_pack("{s:s, s:s, s:s}", "sid", h_str(t[3], "sid"), "assignment_status",
							 "canceled", "reason", "caller hung up")));
	json_decref(h_call(&h, "tasks.update", json_pack("{s:s, s:s, s:s}", "sid", h_str(t[0], "sid"), "assignment_status",
							 "completed", "reason", "done")));

	json_t *st = h_call(&h, "stats.queue", json_pack("{s:s, s:i, s:s}", "sid", "Support", "minutes", 60,
						       "split_by_wait_time", "1,100"));
	json_t *cum = json_object_get(st, "cumulative"), *rt = json_object_get(st, "realtime");
	json_t *core = h_call(&h, "task_queues.stats", json_pack("{s:s}", "sid", "Support"));
	static const char *const same[] = { "tasks_entered", "tasks_canceled", "tasks_completed", "tasks_moved",
					    "tasks_deleted", "reservations_created", "reservations_accepted",
					    "reservations_rejected", "reservations_timed_out", "reservations_canceled",
					    "reservations_rescinded" };
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		json_int_t want = json_integer_value(json_object_get(json_object_get(core, "cumulative"), same[i]));
		if (get_i(cum, same[i]) != want)
			fail_msg("stats.queue cumulative %s = %lld, the core counted %lld", same[i],
				 (long long)get_i(cum, same[i]), (long long)want);
	}
	assert_int_equal(get_i(cum, "tasks_entered"), 4);
	assert_int_equal(get_i(cum, "reservations_accepted"), 2);
	assert_int_equal(get_i(cum, "reservations_rejected"), 1);
	assert_int_equal(get_i(cum, "tasks_canceled"), 1);
	assert_int_equal(get_i(cum, "tasks_completed"), 1);
	assert_true(get_i(cum, "reservations_created") >= 4);
	assert_true(get_i(cum, "reservations_canceled") >= 1); /* the canceled task's reservation */
	assert_int_equal(get_i(cum, "split_by_wait_time.100.below.reservations_accepted"), 2);
	assert_int_equal(get_i(cum, "split_by_wait_time.100.above.reservations_accepted"), 0);
	assert_int_equal(get_i(cum, "split_by_wait_time.100.below.tasks_canceled"), 1);
	assert_true(get_i(cum, "wait_duration_until_accepted.min") <= get_i(cum, "wait_duration_until_accepted.max"));
	assert_true(get_i(cum, "wait_duration_until_accepted.total") >= get_i(cum, "wait_duration_until_accepted.max"));
	assert_non_null(json_object_get(cum, "wait_duration_until_canceled"));
	assert_non_null(json_object_get(cum, "avg_task_acceptance_time"));
	assert_string_equal(h_str(cum, "task_queue_sid"), h_str(core, "task_queue_sid"));
	/* real time is the core's */
	assert_int_equal(get_i(rt, "tasks_by_status.assigned"), get_i(core, "tasks_by_status.assigned"));
	assert_int_equal(get_i(rt, "total_available_workers"), get_i(core, "total_available_workers"));
	assert_non_null(json_object_get(rt, "activity_statistics"));
	assert_null(json_object_get(rt, "cumulative"));

	/* a window before anything happened counts nothing */
	json_t *past = h_call(&h, "stats.queue", json_pack("{s:s, s:s, s:s}", "sid", "Support", "start_date",
							 "2020-01-01T00:00:00Z", "end_date", "2020-01-02T00:00:00Z"));
	assert_int_equal(get_i(past, "cumulative.tasks_entered"), 0);
	assert_int_equal(get_i(past, "cumulative.reservations_created"), 0);

	json_t *ws = h_call(&h, "stats.workspace", json_pack("{s:i}", "minutes", 60));
	assert_int_equal(get_i(ws, "cumulative.tasks_created"), 4);
	assert_int_equal(get_i(ws, "cumulative.reservations_accepted"), 2);
	assert_int_equal(get_i(ws, "realtime.total_workers"), 8);

	/* the worker who accepted t[0]: its reservations and its time per activity */
	json_t *wk = h_call(&h, "stats.worker", json_pack("{s:O, s:i}", "sid", json_object_get(r0, "worker_sid"), "minutes", 60));
	assert_int_equal(get_i(wk, "cumulative.reservations_accepted"), 1);
	assert_int_equal(get_i(wk, "cumulative.reservations_created"), 1);
	json_t *all = h_call(&h, "stats.worker", json_pack("{s:i}", "minutes", 60));
	json_t *durs = json_object_get(json_object_get(all, "cumulative"), "activity_durations");
	assert_int_equal(json_array_size(durs), 5);
	assert_int_equal(get_i(all, "realtime.total_workers"), 8);
	assert_int_equal(get_i(all, "cumulative.reservations_accepted"), 2);

	/* arguments are checked */
	enum swb_code rc;
	assert_null(h_call_rc(&h, "stats.queue", json_pack("{s:s, s:i}", "sid", "Support", "bogus", 1), &rc, NULL));
	assert_int_equal(rc, SWB_EINVAL);
	assert_null(h_call_rc(&h, "stats.queue", json_pack("{s:s, s:i, s:s}", "sid", "Support", "minutes", 5, "start_date",
							   "2020-01-01T00:00:00Z"), &rc, NULL));
	assert_int_equal(rc, SWB_EINVAL);
	assert_null(h_call_rc(&h, "stats.queue", json_pack("{s:s}", "sid", "Nope"), &rc, NULL));
	assert_int_equal(rc, SWB_ENOTFOUND);

	/* /metrics tells the same story */
	char *m = fetch_metrics(&h), prefix[256];
	snprintf(prefix, sizeof prefix, "swb_queue_reservations_total{workspace=\"%s\",queue=\"Support\",queue_sid=\"%s\",outcome=\"accepted\"}",
		 h_str(core, "workspace_sid"), h_str(core, "task_queue_sid"));
	assert_int_equal(metric(m, prefix), 2);
	snprintf(prefix, sizeof prefix, "swb_queue_tasks{workspace=\"%s\",queue=\"Support\",queue_sid=\"%s\",status=\"assigned\"}",
		 h_str(core, "workspace_sid"), h_str(core, "task_queue_sid"));
	assert_int_equal(metric(m, prefix), get_i(core, "tasks_by_status.assigned"));
	snprintf(prefix, sizeof prefix, "swb_journal_lag_events{workspace=\"%s\"}", h_str(core, "workspace_sid"));
	assert_int_equal(metric(m, prefix), 0);
	snprintf(prefix, sizeof prefix, "swb_callback_configured{workspace=\"%s\"}", h_str(core, "workspace_sid"));
	assert_int_equal(metric(m, prefix), 0);
	assert_true(metric(m, "swb_connected_consoles") >= 0);
	assert_non_null(strstr(m, "# TYPE swb_queue_reservations_total counter"));
	assert_non_null(strstr(m, "swb_workers{workspace="));
	free(m);

	json_decref(all);
	json_decref(wk);
	json_decref(ws);
	json_decref(past);
	json_decref(core);
	json_decref(st);
	json_decref(r0);
	json_decref(r1);
	json_decref(r2);
	for (int i = 0; i < 4; i++)
		json_decref(t[i]);
	h_cleanup(&h);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cumulative_counts_come_from_the_journal_and_match_the_core),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
