/*
 * test_routing.c - tests the routing core (server/core_*.c) through its public
 * API only: swb_core_new / swb_core_exec / swb_core_tick / swb_core_next_deadline
 * (and swb_core_timer_count).
 *
 * Time is a fake clock (f->now, milliseconds) that tests advance by hand; no test
 * sleeps. Every event the core emits is copied into f->ev, so a test can assert
 * the exact event types, in order, since a mark. Semantics follow
 * docs/taskrouter-semantics.md (section numbers are cited as "doc §N").
 *
 * JSON in this file is written in a shorthand (see J()): ' stands for " and `
 * for ', so that expressions can hold strings: J("{'expression': 'a == `x`'}").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define T0 1700000000000LL /* the fake clock's start (ms) */
#define SEC 1000LL

/* ---- the fixture: a core, a fake clock and an event recorder ------------ */

struct event {
	uint64_t seq;
	char *type, *rtype, *rsid;
	int64_t ts;
	json_t *data;
};

struct fx {
	swb_core *c;
	int64_t now;
	int64_t origin; /* what advance_to() counts from: T0, or the time of start_clock() */
	struct event *ev;
	size_t nev, cap;
	json_t *keep; /* strings handed out by helpers live here until fx_free */
};

static void record(void *ctx, const struct swb_event *e)
{
	struct fx *f = ctx;
	if (f->nev == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->ev = realloc(f->ev, f->cap * sizeof *f->ev);
		assert_non_null(f->ev);
	}
	f->ev[f->nev++] = (struct event){ .seq = e->seq, .type = strdup(e->type), .rtype = strdup(e->resource_type),
					  .rsid = strdup(e->resource_sid), .ts = e->ts_ms,
					  .data = json_deep_copy(e->data) };
}

static struct fx *fx_new_seeded(uint64_t seed)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->now = f->origin = T0;
	f->keep = json_array();
	struct swb_core_opts o = { .seed = seed, .now_ms = T0, .sink = record, .sink_ctx = f };
	f->c = swb_core_new(&o);
	assert_non_null(f->c);
	return f;
}

static struct fx *fx_new(void)
{
	return fx_new_seeded(42);
}

static void fx_free(struct fx *f)
{
	swb_core_free(f->c);
	for (size_t i = 0; i < f->nev; i++) {
		free(f->ev[i].type);
		free(f->ev[i].rtype);
		free(f->ev[i].rsid);
		json_decref(f->ev[i].data);
	}
	free(f->ev);
	json_decref(f->keep);
	free(f);
}

/* JSON from the shorthand: ' becomes " and ` becomes ' (after printf formatting). */
__attribute__((format(printf, 1, 2))) static json_t *J(const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof buf);
	for (char *p = buf; *p; p++)
		*p = *p == '\'' ? '"' : *p == '`' ? '\'' : *p;
	json_error_t je;
	json_t *j = json_loads(buf, 0, &je);
	if (!j)
		fail_msg("bad test JSON %s: %s", buf, je.text);
	return j;
}

static const char *keep(struct fx *f, const char *s)
{
	json_array_append_new(f->keep, json_string(s ? s : "(null)"));
	return json_string_value(json_array_get(f->keep, json_array_size(f->keep) - 1));
}

/* Runs op as actor (NULL: system) and returns its result; args are stolen; any error fails the test. */
static json_t *exec_as(struct fx *f, const struct swb_actor *actor, const char *op, json_t *args)
{
	json_t *res = NULL;
	struct swb_err err = { 0 };
	enum swb_code rc = swb_core_exec(f->c, f->now, actor, op, args, &res, &err);
	json_decref(args);
	if (rc != SWB_OK)
		fail_msg("%s failed: %s (%s)", op, err.msg, swb_code_name(rc));
	return res;
}

static json_t *exec(struct fx *f, const char *op, json_t *args)
{
	return exec_as(f, NULL, op, args);
}

static void run(struct fx *f, const char *op, json_t *args)
{
	json_decref(exec(f, op, args));
}

/* Runs a create op and returns the new resource's SID. */
static const char *create(struct fx *f, const char *op, json_t *args)
{
	json_t *r = exec(f, op, args);
	const char *sid = keep(f, json_string_value(json_object_get(r, "sid")));
	json_decref(r);
	return sid;
}

/* A string field of a fetched resource ("(null)" when null or absent). */
static const char *field(struct fx *f, const char *op, const char *sid, const char *key)
{
	json_t *r = exec(f, op, json_pack("{s:s}", "sid", sid));
	const char *v = keep(f, json_string_value(json_object_get(r, key)));
	json_decref(r);
	return v;
}

static json_int_t ifield(struct fx *f, const char *op, const char *sid, const char *key)
{
	json_t *r = exec(f, op, json_pack("{s:s}", "sid", sid));
	json_t *v = json_object_get(r, key);
	if (!json_is_integer(v))
		fail_msg("%s %s: '%s' is not an integer", op, sid, key);
	json_int_t n = json_integer_value(v);
	json_decref(r);
	return n;
}

static void advance(struct fx *f, int64_t ms)
{
	f->now += ms;
	swb_core_tick(f->c, f->now);
}

/* From now on advance_to() and the deadlines tests compute count from this moment. */
static void start_clock(struct fx *f)
{
	f->origin = f->now;
}

/* Moves the clock to origin + ms (never backwards). */
static void advance_to(struct fx *f, int64_t ms)
{
	assert_true(f->origin + ms >= f->now);
	advance(f, f->origin + ms - f->now);
}

/* ---- resources ----------------------------------------------------------- */

static const char *add_queue(struct fx *f, const char *name, const char *target_workers)
{
	return create(f, "task_queues.create", json_pack("{s:s, s:s}", "friendly_name", name, "target_workers",
							 target_workers));
}

/* A worker with attributes (shorthand JSON) in activity, created one second after the last. */
static const char *add_worker_in(struct fx *f, const char *name, const char *attrs, const char *activity)
{
	const char *sid =
		create(f, "workers.create",
		       J("{'friendly_name': '%s', 'attributes': %s, 'activity_sid': '%s'}", name, attrs, activity));
	advance(f, SEC);
	return sid;
}

static const char *add_worker(struct fx *f, const char *name, const char *attrs)
{
	return add_worker_in(f, name, attrs, "Available");
}

/* A workflow whose configuration is {"task_routing": routing} (shorthand JSON). */
static const char *add_workflow(struct fx *f, int reservation_timeout_s, const char *routing)
{
	return create(f, "workflows.create", J("{'friendly_name': 'Flow', 'task_reservation_timeout': %d, "
					       "'configuration': {'task_routing': %s}}",
					       reservation_timeout_s, routing));
}

static const char *add_task(struct fx *f, const char *attrs)
{
	return create(f, "tasks.create", J("{'attributes': %s}", attrs));
}

static const char *add_task_args(struct fx *f, json_t *args)
{
	return create(f, "tasks.create", args);
}

static const char *task_status(struct fx *f, const char *task)
{
	return field(f, "tasks.fetch", task, "assignment_status");
}

static const char *task_queue(struct fx *f, const char *task)
{
	return field(f, "tasks.fetch", task, "task_queue_friendly_name");
}

static const char *activity_of(struct fx *f, const char *worker)
{
	return field(f, "workers.fetch", worker, "activity_name");
}

static void set_activity(struct fx *f, const char *worker, const char *activity)
{
	run(f, "workers.update", json_pack("{s:s, s:s}", "sid", worker, "activity_sid", activity));
}

/* The task's reservations with status (NULL: any), in creation order: a new array. */
static json_t *reservations(struct fx *f, const char *task, const char *status)
{
	json_t *args = json_pack("{s:s}", "task_sid", task);
	if (status)
		json_object_set_new(args, "reservation_status", json_string(status));
	json_t *r = exec(f, "reservations.list", args);
	json_t *list = json_incref(json_object_get(r, "reservations"));
	json_decref(r);
	return list;
}

/* "alice,bob": who holds the task's reservations with status, in creation order ("" for none). */
static const char *holders(struct fx *f, const char *task, const char *status)
{
	json_t *list = reservations(f, task, status);
	char buf[1024] = "";
	size_t i;
	json_t *r;
	json_array_foreach(list, i, r) {
		size_t len = strlen(buf);
		snprintf(buf + len, sizeof buf - len, "%s%s", i ? "," : "",
			 json_string_value(json_object_get(r, "worker_name")));
	}
	json_decref(list);
	return keep(f, buf);
}

static const char *pending_holders(struct fx *f, const char *task)
{
	return holders(f, task, "pending");
}

/* The task's only pending reservation (fails unless there is exactly one). */
static const char *pending_res(struct fx *f, const char *task)
{
	json_t *list = reservations(f, task, "pending");
	if (json_array_size(list) != 1)
		fail_msg("task %s has %zu pending reservations, want 1", task, json_array_size(list));
	const char *sid = keep(f, json_string_value(json_object_get(json_array_get(list, 0), "sid")));
	json_decref(list);
	return sid;
}

/* The pending reservation of task held by worker_name. */
static const char *res_of(struct fx *f, const char *task, const char *worker_name)
{
	json_t *list = reservations(f, task, "pending");
	const char *sid = NULL;
	size_t i;
	json_t *r;
	json_array_foreach(list, i, r)
		if (strcmp(json_string_value(json_object_get(r, "worker_name")), worker_name) == 0)
			sid = keep(f, json_string_value(json_object_get(r, "sid")));
	json_decref(list);
	if (!sid)
		fail_msg("task %s has no pending reservation for %s", task, worker_name);
	return sid;
}

/* The task's accepted reservation. */
static const char *accepted_res(struct fx *f, const char *task)
{
	json_t *list = reservations(f, task, "accepted");
	if (json_array_size(list) != 1)
		fail_msg("task %s has %zu accepted reservations, want 1", task, json_array_size(list));
	const char *sid = keep(f, json_string_value(json_object_get(json_array_get(list, 0), "sid")));
	json_decref(list);
	return sid;
}

static const char *res_status(struct fx *f, const char *res)
{
	return field(f, "reservations.fetch", res, "reservation_status");
}

static void accept(struct fx *f, const char *res)
{
	run(f, "reservations.update", json_pack("{s:s, s:s}", "sid", res, "reservation_status", "accepted"));
}

static void reject(struct fx *f, const char *res, const char *activity)
{
	json_t *args = json_pack("{s:s, s:s}", "sid", res, "reservation_status", "rejected");
	if (activity)
		json_object_set_new(args, "worker_activity_sid", json_string(activity));
	run(f, "reservations.update", args);
}

static void complete(struct fx *f, const char *task)
{
	run(f, "tasks.update", json_pack("{s:s, s:s}", "sid", task, "assignment_status", "completed"));
}

/* Accepts the task's only pending reservation and returns the worker's name. */
static const char *accept_pending(struct fx *f, const char *task)
{
	const char *res = pending_res(f, task);
	const char *name = field(f, "reservations.fetch", res, "worker_name");
	accept(f, res);
	return name;
}

/* ---- events -------------------------------------------------------------- */

static size_t mark(const struct fx *f)
{
	return f->nev;
}

static const char *types_since(struct fx *f, size_t from)
{
	char buf[4096] = "";
	for (size_t i = from; i < f->nev; i++) {
		size_t len = strlen(buf);
		snprintf(buf + len, sizeof buf - len, "%s%s", i > from ? ", " : "", f->ev[i].type);
	}
	return keep(f, buf);
}

/* Asserts the events since `from` have exactly the types in want (NULL-terminated), in order. */
static void expect_events_(struct fx *f, size_t from, const char *const *want, const char *file, int line)
{
	char wbuf[4096] = "";
	for (size_t i = 0; want[i]; i++) {
		size_t len = strlen(wbuf);
		snprintf(wbuf + len, sizeof wbuf - len, "%s%s", i ? ", " : "", want[i]);
	}
	const char *got = types_since(f, from);
	if (strcmp(got, wbuf) != 0)
		fail_msg("%s:%d: events\n  got:  [%s]\n  want: [%s]", file, line, got, wbuf);
}
#define EXPECT_EVENTS(f, from, ...) \
	expect_events_((f), (from), (const char *const[]){ __VA_ARGS__, NULL }, __FILE__, __LINE__)
#define EXPECT_NO_EVENTS(f, from) expect_events_((f), (from), (const char *const[]){ NULL }, __FILE__, __LINE__)

/* The nth (from 0) event of type since from. */
static const struct event *event_of(struct fx *f, size_t from, const char *type, int nth)
{
	for (size_t i = from; i < f->nev; i++)
		if (strcmp(f->ev[i].type, type) == 0 && nth-- == 0)
			return &f->ev[i];
	fail_msg("no %s event since mark %zu: [%s]", type, from, types_since(f, from));
	return NULL;
}

static const char *ev_str(const struct event *e, const char *key)
{
	const char *s = json_string_value(json_object_get(e->data, key));
	if (!s)
		fail_msg("%s event has no string '%s'", e->type, key);
	return s;
}

static json_int_t ev_int(const struct event *e, const char *key)
{
	json_t *v = json_object_get(e->data, key);
	if (!json_is_integer(v))
		fail_msg("%s event has no integer '%s'", e->type, key);
	return json_integer_value(v);
}

/* ---- fixtures -------------------------------------------------------------- */

/*
 * The desk: queues Sales (skills HAS sales) and Support (skills HAS support);
 * workers alice (sales), bob (sales, support) and carol (support), Available and
 * created a second apart in that order; one workflow sending department 'sales' to
 * Sales and 'support' to Support, the rest to Sales. Reservation timeout 30 s.
 */
static struct fx *desk(void)
{
	struct fx *f = fx_new();
	add_queue(f, "Sales", "skills HAS 'sales'");
	add_queue(f, "Support", "skills HAS 'support'");
	add_worker(f, "alice", "{'skills': ['sales']}");
	add_worker(f, "bob", "{'skills': ['sales', 'support']}");
	add_worker(f, "carol", "{'skills': ['support']}");
	add_workflow(f, 30,
		     "{'filters': ["
		     "  {'filter_friendly_name': 'Sales', 'expression': 'department == `sales`',"
		     "   'targets': [{'queue': 'Sales'}]},"
		     "  {'filter_friendly_name': 'Support', 'expression': 'department == `support`',"
		     "   'targets': [{'queue': 'Support'}]}],"
		     " 'default_filter': {'queue': 'Sales'}}");
	return f;
}

/* Queues Q1, Q2, Q3 that match workers with skill q1, q2, q3. */
static void three_queues(struct fx *f)
{
	add_queue(f, "Q1", "skills HAS 'q1'");
	add_queue(f, "Q2", "skills HAS 'q2'");
	add_queue(f, "Q3", "skills HAS 'q3'");
}

/* ---- creation and filters -------------------------------------------------- */

static void test_new_task_is_offered_to_an_idle_worker_with_exact_events(void **state)
{
	struct fx *f = desk();
	size_t m = mark(f);
	const char *t = add_task(f, "{'department': 'support'}");
	EXPECT_EVENTS(f, m, "task.created", "workflow.entered", "workflow.target-matched", "task-queue.entered",
		      "reservation.created");
	const struct event *e = event_of(f, m, "reservation.created", 0);
	assert_string_equal(ev_str(e, "task_sid"), t);
	assert_string_equal(ev_str(e, "worker_name"), "bob"); /* bob idles longer than carol */
	assert_string_equal(ev_str(e, "task_queue_name"), "Support");
	assert_string_equal(e->rtype, "reservation");
	assert_string_equal(ev_str(event_of(f, m, "workflow.entered", 0), "workflow_filter_name"), "Support");
	assert_string_equal(task_status(f, t), "reserved");
	assert_string_equal(pending_holders(f, t), "bob");
	fx_free(f);
}

static void test_first_matching_filter_wins(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_workflow(f, 30,
		     "{'filters': ["
		     "  {'filter_friendly_name': 'X only', 'expression': 'type == `x`', 'targets': [{'queue': 'Q1'}]},"
		     "  {'filter_friendly_name': 'X or Y', 'expression': 'type == `x` OR type == `y`',"
		     "   'targets': [{'queue': 'Q2'}]}],"
		     " 'default_filter': {'queue': 'Q3'}}");
	size_t m = mark(f);
	const char *tx = add_task(f, "{'type': 'x'}");
	assert_string_equal(ev_str(event_of(f, m, "workflow.target-matched", 0), "workflow_filter_name"), "X only");
	const char *ty = add_task(f, "{'type': 'y'}");
	assert_string_equal(task_queue(f, tx), "Q1");
	assert_string_equal(task_queue(f, ty), "Q2");
	fx_free(f);
}

static void test_default_filter_takes_a_task_no_filter_matches(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_workflow(f, 30, "{'filters': [{'expression': 'type == `x`', 'targets': [{'queue': 'Q1'}]}],"
			    " 'default_filter': {'queue': 'Q3'}}");
	const char *t = add_task(f, "{'type': 'z'}");
	assert_string_equal(task_queue(f, t), "Q3");
	assert_string_equal(task_status(f, t), "pending");
	fx_free(f);
}

/* doc §5: no match and no default is treated as falling out of the workflow. */
static void test_no_matching_filter_and_no_default_cancels_with_workflow_timeout(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_workflow(f, 30, "{'filters': [{'expression': 'type == `x`', 'targets': [{'queue': 'Q1'}]}]}");
	size_t m = mark(f);
	const char *t = add_task(f, "{'type': 'z'}");
	EXPECT_EVENTS(f, m, "task.created", "workflow.timeout", "task.canceled");
	assert_string_equal(task_status(f, t), "canceled");
	assert_string_not_equal(field(f, "tasks.fetch", t, "reason"), "(null)");
	fx_free(f);
}

/* ---- targets and timeouts -------------------------------------------------- */

static const char *escalation_routing =
	"{'filters': [{'filter_friendly_name': 'All', 'expression': '1 == 1', 'targets': ["
	"  {'queue': 'Q1', 'timeout': 10}, {'queue': 'Q2', 'timeout': 20}, {'queue': 'Q3'}]}]}";

static void test_target_timeout_escalates_to_next_target(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_workflow(f, 30, escalation_routing);
	const char *t = add_task(f, "{}");
	assert_string_equal(task_queue(f, t), "Q1");
	assert_int_equal(swb_core_next_deadline(f->c), f->origin + 10 * SEC);

	size_t m = mark(f);
	advance_to(f, 10 * SEC - 1);
	EXPECT_NO_EVENTS(f, m);
	advance_to(f, 10 * SEC);
	EXPECT_EVENTS(f, m, "task-queue.timeout", "workflow.target-matched", "task-queue.moved", "task-queue.entered");
	assert_string_equal(ev_str(event_of(f, m, "task-queue.timeout", 0), "task_queue_name"), "Q1");
	assert_int_equal(ev_int(event_of(f, m, "workflow.target-matched", 0), "workflow_filter_target_index"), 1);
	assert_string_equal(ev_str(event_of(f, m, "task-queue.entered", 0), "task_queue_name"), "Q2");
	assert_string_equal(task_queue(f, t), "Q2");
	assert_string_equal(task_status(f, t), "pending");

	/* doc §3: target i expires at task age = sum of timeouts 0..i, so Q2 ends at 30 s. */
	assert_int_equal(swb_core_next_deadline(f->c), f->origin + 30 * SEC);
	m = mark(f);
	advance_to(f, 30 * SEC);
	EXPECT_EVENTS(f, m, "task-queue.timeout", "workflow.target-matched", "task-queue.moved", "task-queue.entered");
	assert_string_equal(task_queue(f, t), "Q3");
	fx_free(f);
}

/*
 * The reservation on Q1 outlives Q1's 10 s target timeout and times out at 15 s,
 * so the task reaches Q2 at 15 s; Q2's deadline is still task age 10 + 20 = 30 s
 * (not 15 + 20 = 35 s): timeouts add up on the task's age (doc §3).
 */
static void test_target_timeouts_add_up_on_task_age(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_worker(f, "wendy", "{'skills': ['q1']}");
	start_clock(f);
	add_workflow(f, 15, escalation_routing);
	const char *t = add_task(f, "{}");
	assert_string_equal(pending_holders(f, t), "wendy");

	size_t m = mark(f);
	advance_to(f, 15 * SEC);
	EXPECT_EVENTS(f, m, "reservation.timeout", "worker.activity.update", "task-queue.timeout",
		      "workflow.target-matched", "task-queue.moved", "task-queue.entered");
	assert_string_equal(task_queue(f, t), "Q2");
	assert_int_equal(swb_core_next_deadline(f->c), f->origin + 30 * SEC);
	advance_to(f, 30 * SEC - 1);
	assert_string_equal(task_queue(f, t), "Q2");
	advance_to(f, 30 * SEC);
	assert_string_equal(task_queue(f, t), "Q3");
	fx_free(f);
}

/* doc §1: a reservation is not cut short; the task moves on once it ends. */
static void test_pending_reservation_is_not_cut_short_by_target_timeout(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_worker(f, "wendy", "{'skills': ['q1']}");
	add_worker(f, "quinn", "{'skills': ['q2']}");
	start_clock(f);
	add_workflow(f, 120, escalation_routing);
	const char *t = add_task(f, "{}");
	const char *res = pending_res(f, t);

	size_t m = mark(f);
	advance_to(f, 11 * SEC);
	EXPECT_NO_EVENTS(f, m);
	assert_string_equal(res_status(f, res), "pending");
	assert_string_equal(task_queue(f, t), "Q1");
	assert_string_equal(task_status(f, t), "reserved");

	reject(f, res, NULL);
	EXPECT_EVENTS(f, m, "reservation.rejected", "task-queue.timeout", "workflow.target-matched", "task-queue.moved",
		      "task-queue.entered", "reservation.created");
	assert_string_equal(task_queue(f, t), "Q2");
	assert_string_equal(pending_holders(f, t), "quinn");
	fx_free(f);
}

static void test_last_target_timeout_moves_to_next_matching_filter(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_workflow(f, 30,
		     "{'filters': ["
		     "  {'filter_friendly_name': 'First', 'expression': 'type == `x`',"
		     "   'targets': [{'queue': 'Q1', 'timeout': 10}]},"
		     "  {'filter_friendly_name': 'Not me', 'expression': 'type == `y`', 'targets': [{'queue': 'Q3'}]},"
		     "  {'filter_friendly_name': 'Second', 'expression': 'type == `x`',"
		     "   'targets': [{'queue': 'Q2', 'timeout': 30}]}],"
		     " 'default_filter': {'queue': 'Q3'}}");
	const char *t = add_task(f, "{'type': 'x'}");
	size_t m = mark(f);
	advance_to(f, 10 * SEC);
	EXPECT_EVENTS(f, m, "task-queue.timeout", "workflow.target-matched", "task-queue.moved", "task-queue.entered");
	assert_string_equal(ev_str(event_of(f, m, "workflow.target-matched", 0), "workflow_filter_name"), "Second");
	advance_to(f, 10 * SEC + 1);
	assert_string_equal(task_queue(f, t), "Q2");
	assert_string_equal(task_status(f, t), "pending");
	/* However a fresh filter's timeouts are counted, 40 s is past both readings. */
	advance_to(f, 40 * SEC);
	assert_string_equal(task_status(f, t), "canceled");
	fx_free(f);
}

/* doc §1, §5: the default filter does not count as a next filter; the task falls out. */
static void test_last_target_timeout_without_next_filter_cancels_with_workflow_timeout(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_workflow(f, 30, "{'filters': [{'expression': 'type == `x`', 'targets': [{'queue': 'Q1', 'timeout': 10}]}],"
			    " 'default_filter': {'queue': 'Q3'}}");
	const char *t = add_task(f, "{'type': 'x'}");
	size_t m = mark(f);
	advance_to(f, 10 * SEC);
	EXPECT_EVENTS(f, m, "task-queue.timeout", "workflow.timeout", "task.canceled");
	const struct event *e = event_of(f, m, "task.canceled", 0);
	assert_string_equal(ev_str(e, "task_canceled_reason"), "Workflow Timeout");
	assert_string_equal(ev_str(e, "task_assignment_status"), "canceled");
	assert_string_equal(task_status(f, t), "canceled");
	assert_string_equal(field(f, "tasks.fetch", t, "reason"), "Workflow Timeout");
	fx_free(f);
}

/* ---- skip_if ------------------------------------------------------------- */

static const char *skip_routing =
	"{'filters': [{'filter_friendly_name': 'Try Q1', 'expression': '1 == 1', 'targets': ["
	"  {'queue': 'Q1', 'skip_if': 'workers.available == 0'}, {'queue': 'Q2'}]}]}";

static void test_skip_if_skips_target_when_nobody_is_available(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_worker_in(f, "olga", "{'skills': ['q1']}", "Offline");
	add_worker(f, "quinn", "{'skills': ['q2']}");
	add_workflow(f, 30, skip_routing);
	size_t m = mark(f);
	const char *t = add_task(f, "{}");
	/* workflow.skipped means "removed from the workspace" (doc §9): not emitted for one target. */
	EXPECT_EVENTS(f, m, "task.created", "workflow.entered", "workflow.target-matched", "task-queue.entered",
		      "reservation.created");
	assert_int_equal(ev_int(event_of(f, m, "workflow.target-matched", 0), "workflow_filter_target_index"), 1);
	assert_string_equal(task_queue(f, t), "Q2");
	assert_string_equal(pending_holders(f, t), "quinn");
	fx_free(f);
}

static void test_skip_if_does_not_skip_when_a_worker_can_be_reserved(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_worker(f, "wendy", "{'skills': ['q1']}");
	add_worker(f, "quinn", "{'skills': ['q2']}");
	add_workflow(f, 30, "{'filters': [{'expression': '1 == 1', 'targets': ["
			    "  {'queue': 'Q1', 'skip_if': '1 == 1'}, {'queue': 'Q2'}]}]}");
	const char *t = add_task(f, "{}");
	assert_string_equal(task_queue(f, t), "Q1");
	assert_string_equal(pending_holders(f, t), "wendy");
	fx_free(f);
}

/* doc §2: workers.available counts activities, not free capacity. */
static void test_skip_if_counts_available_activity_not_free_capacity(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_worker(f, "wendy", "{'skills': ['q1']}");
	add_worker(f, "quinn", "{'skills': ['q2']}");
	add_workflow(f, 30, skip_routing);
	const char *busy = add_task(f, "{}");
	assert_string_equal(accept_pending(f, busy), "wendy");
	const char *t = add_task(f, "{}"); /* wendy's default channel is full, but she is Available */
	assert_string_equal(task_queue(f, t), "Q1");
	assert_string_equal(task_status(f, t), "pending");
	assert_string_equal(pending_holders(f, t), "");
	fx_free(f);
}

/* doc §2/§18: skip_if may count workers.unavailable and workers.<ActivitySid> of the target's queue. */
static void test_skip_if_counts_workers_by_activity_sid_and_unavailable(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_worker_in(f, "olga", "{'skills': ['q1']}", "Offline");
	add_worker_in(f, "bree", "{'skills': ['q1']}", "Break");
	add_worker(f, "quinn", "{'skills': ['q2']}");
	const char *brk = field(f, "activities.fetch", "Break", "sid");
	char routing[1024];
	snprintf(routing, sizeof routing,
		 "{'filters': ["
		 "  {'expression': 'n == 1',"
		 "   'targets': [{'queue': 'Q1', 'skip_if': 'workers.%s == 1'}, {'queue': 'Q2'}]},"
		 "  {'expression': 'n == 2',"
		 "   'targets': [{'queue': 'Q1', 'skip_if': 'workers.unavailable == 2'}, {'queue': 'Q2'}]},"
		 "  {'expression': 'n == 3',"
		 "   'targets': [{'queue': 'Q1', 'skip_if': 'workers.unavailable == 3'}, {'queue': 'Q2'}]}]}",
		 brk);
	add_workflow(f, 30, routing);
	const char *t1 = add_task(f, "{'n': 1}");
	const char *t2 = add_task(f, "{'n': 2}");
	const char *t3 = add_task(f, "{'n': 3}");
	assert_string_equal(task_queue(f, t1), "Q2");
	assert_string_equal(task_queue(f, t2), "Q2");
	assert_string_equal(task_queue(f, t3), "Q1");
	fx_free(f);
}

static void test_all_targets_skipped_without_default_cancels_with_workflow_skipped(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_workflow(f, 30, "{'filters': [{'expression': '1 == 1', 'targets': ["
			    "  {'queue': 'Q1', 'skip_if': 'workers.available == 0'},"
			    "  {'queue': 'Q2', 'skip_if': 'workers.available == 0'}]}]}");
	size_t m = mark(f);
	const char *t = add_task(f, "{}");
	EXPECT_EVENTS(f, m, "task.created", "workflow.entered", "workflow.skipped", "task.canceled");
	assert_string_equal(task_status(f, t), "canceled");
	fx_free(f);
}

/* doc §2: "Tasks that skip a named filter still qualify for the default_filter". */
static void test_task_skipping_every_target_still_qualifies_for_default_filter(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_worker(f, "tess", "{'skills': ['q3']}");
	add_workflow(f, 30, "{'filters': [{'expression': '1 == 1', 'targets': ["
			    "  {'queue': 'Q1', 'skip_if': 'workers.available == 0'}]}],"
			    " 'default_filter': {'queue': 'Q3'}}");
	size_t m = mark(f);
	const char *t = add_task(f, "{}");
	EXPECT_EVENTS(f, m, "task.created", "workflow.entered", "workflow.target-matched", "task-queue.entered",
		      "reservation.created");
	assert_string_equal(task_queue(f, t), "Q3");
	assert_string_equal(pending_holders(f, t), "tess");
	fx_free(f);
}

/* ---- priority and queue order -------------------------------------------- */

static void test_target_priority_overrides_task_priority(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_workflow(f, 30, "{'filters': [{'expression': '1 == 1', 'targets': [{'queue': 'Q1', 'priority': 7}]}]}");
	size_t m = mark(f);
	const char *t = add_task_args(f, J("{'attributes': {}, 'priority': 2}"));
	assert_int_equal(ev_int(event_of(f, m, "task.created", 0), "task_priority"), 2);
	assert_int_equal(ev_int(event_of(f, m, "workflow.target-matched", 0), "task_priority"), 7);
	assert_int_equal(ifield(f, "tasks.fetch", t, "priority"), 7);
	fx_free(f);
}

static void test_target_without_priority_keeps_task_priority(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_workflow(f, 30, "{'filters': [{'expression': '1 == 1', 'targets': [{'queue': 'Q1'}]}]}");
	const char *t = add_task_args(f, J("{'priority': 3}"));
	assert_int_equal(ifield(f, "tasks.fetch", t, "priority"), 3);
	fx_free(f);
}

/* Makes w Available and returns the tasks it is offered one by one, accepting and completing each. */
static const char *serve_all(struct fx *f, const char *w, const char *const *tasks, size_t n)
{
	char order[256] = "";
	set_activity(f, w, "Available");
	for (size_t k = 0; k < n; k++) {
		const char *got = NULL;
		for (size_t i = 0; i < n; i++) {
			json_t *p = reservations(f, tasks[i], "pending");
			if (json_array_size(p)) {
				if (got)
					fail_msg("two tasks reserved at once");
				got = tasks[i];
				size_t len = strlen(order);
				snprintf(order + len, sizeof order - len, "%st%zu", k ? "," : "", i + 1);
			}
			json_decref(p);
		}
		if (!got)
			fail_msg("nothing offered after [%s]", order);
		accept_pending(f, got);
		advance(f, SEC);
		complete(f, got);
	}
	return keep(f, order);
}

static void test_higher_priority_task_is_offered_first_then_oldest(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	const char *w = add_worker_in(f, "wendy", "{'skills': ['q1']}", "Offline");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q1'}}");
	const char *t[4];
	t[0] = add_task_args(f, J("{'priority': 1}"));
	advance(f, SEC);
	t[1] = add_task_args(f, J("{'priority': 5}"));
	advance(f, SEC);
	t[2] = add_task_args(f, J("{'priority': 0}"));
	advance(f, SEC);
	t[3] = add_task_args(f, J("{'priority': 5}"));
	advance(f, SEC);
	assert_string_equal(serve_all(f, w, t, 4), "t2,t4,t1,t3");
	fx_free(f);
}

static void test_fifo_queue_offers_oldest_task_first(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	const char *w = add_worker_in(f, "wendy", "{'skills': ['q1']}", "Offline");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q1'}}");
	const char *t[3];
	for (int i = 0; i < 3; i++) {
		t[i] = add_task(f, "{}");
		advance(f, SEC);
	}
	assert_string_equal(serve_all(f, w, t, 3), "t1,t2,t3");
	fx_free(f);
}

static void test_lifo_queue_offers_newest_task_first_within_a_priority(void **state)
{
	struct fx *f = fx_new();
	create(f, "task_queues.create", J("{'friendly_name': 'Stack', 'task_order': 'LIFO'}"));
	const char *w = add_worker_in(f, "wendy", "{}", "Offline");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Stack'}}");
	const char *t[4];
	t[0] = add_task(f, "{}");
	advance(f, SEC);
	t[1] = add_task(f, "{}");
	advance(f, SEC);
	t[2] = add_task_args(f, J("{'priority': 9}"));
	advance(f, SEC);
	t[3] = add_task(f, "{}");
	advance(f, SEC);
	assert_string_equal(serve_all(f, w, t, 4), "t3,t4,t2,t1");
	fx_free(f);
}

/* doc §16: queue order is by task age since creation, not by time in the current queue. */
static void test_queue_order_uses_task_age_not_time_in_queue(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	const char *w = add_worker_in(f, "wendy", "{'skills': ['q2']}", "Offline");
	start_clock(f);
	add_workflow(f, 30,
		     "{'filters': ["
		     "  {'expression': 'type == `slow`', 'targets': [{'queue': 'Q1', 'timeout': 10}, {'queue': 'Q2'}]},"
		     "  {'expression': 'type == `fast`', 'targets': [{'queue': 'Q2'}]}]}");
	const char *t[2];
	t[0] = add_task(f, "{'type': 'slow'}"); /* enters Q2 at 10 s */
	advance_to(f, 5 * SEC);
	t[1] = add_task(f, "{'type': 'fast'}"); /* enters Q2 at 5 s, but is younger */
	advance_to(f, 10 * SEC);
	assert_string_equal(task_queue(f, t[0]), "Q2");
	assert_string_equal(serve_all(f, w, t, 2), "t1,t2");
	fx_free(f);
}

/* ---- worker choice --------------------------------------------------------- */

static void test_longest_idle_worker_is_reserved_first(void **state)
{
	struct fx *f = desk();
	const char *t1 = add_task(f, "{'department': 'sales'}");
	assert_string_equal(pending_holders(f, t1), "alice");
	const char *t2 = add_task(f, "{'department': 'sales'}");
	assert_string_equal(pending_holders(f, t2), "bob");
	const char *t3 = add_task(f, "{'department': 'support'}");
	assert_string_equal(pending_holders(f, t3), "carol");
	fx_free(f);
}

static void test_worker_back_from_offline_queues_behind_idle_workers(void **state)
{
	struct fx *f = fx_new();
	add_queue(f, "Q", "1 == 1");
	const char *ann = add_worker(f, "ann", "{}");
	add_worker(f, "ben", "{}");
	add_worker(f, "cat", "{}");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q'}}");
	set_activity(f, ann, "Offline");
	advance(f, SEC);
	set_activity(f, ann, "Available");
	const char *t = add_task(f, "{}");
	assert_string_equal(pending_holders(f, t), "ben");
	fx_free(f);
}

/*
 * "Without an order_by expression, the Worker who has waited the longest without
 * a Task will be the first reserved" (Twilio, Ordering Workers). ann has just
 * finished a task; ben has waited since he was created.
 */
static void test_worker_who_just_finished_a_task_queues_behind_idle_workers(void **state)
{
	struct fx *f = fx_new();
	add_queue(f, "Q", "1 == 1");
	add_worker(f, "ann", "{}");
	add_worker(f, "ben", "{}");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q'}}");
	const char *t1 = add_task(f, "{}");
	assert_string_equal(accept_pending(f, t1), "ann");
	advance(f, 5 * SEC);
	complete(f, t1);
	advance(f, SEC);
	const char *t2 = add_task(f, "{}");
	assert_string_equal(pending_holders(f, t2), "ben");
	fx_free(f);
}

static void test_order_by_decides_among_eligible_workers(void **state)
{
	struct fx *f = fx_new();
	add_queue(f, "Q", "1 == 1");
	add_worker(f, "low", "{'level': 1}");
	add_worker(f, "high", "{'level': 3}");
	add_worker(f, "mid", "{'level': 2}");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q', 'order_by': 'worker.level DESC'}}");
	const char *t = add_task(f, "{}");
	assert_string_equal(pending_holders(f, t), "high");
	reject(f, pending_res(f, t), NULL);
	assert_string_equal(pending_holders(f, t), "mid");
	reject(f, pending_res(f, t), NULL);
	assert_string_equal(pending_holders(f, t), "low");
	fx_free(f);
}

static void test_worker_without_free_capacity_on_the_task_channel_is_passed_over(void **state)
{
	struct fx *f = fx_new();
	add_queue(f, "Q", "1 == 1");
	create(f, "workers.create", J("{'friendly_name': 'novoice', 'activity_sid': 'Available',"
				      " 'channels': {'voice': {'capacity': 0}}}"));
	advance(f, SEC);
	create(f, "workers.create", J("{'friendly_name': 'muted', 'activity_sid': 'Available',"
				      " 'channels': {'voice': {'available': false}}}"));
	advance(f, SEC);
	add_worker(f, "caller", "{}");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q'}}");
	const char *voice = add_task_args(f, J("{'task_channel': 'voice'}"));
	assert_string_equal(pending_holders(f, voice), "caller");
	const char *chat = add_task_args(f, J("{'task_channel': 'chat'}"));
	assert_string_equal(pending_holders(f, chat), "novoice");
	fx_free(f);
}

/* doc §14: capacity per channel; chat capacity 2 takes two chats, voice capacity 1 one call. */
static void test_chat_capacity_two_takes_two_chats_voice_capacity_one_takes_one_call(void **state)
{
	struct fx *f = fx_new();
	add_queue(f, "Q", "1 == 1");
	create(f, "workers.create", J("{'friendly_name': 'multi', 'activity_sid': 'Available',"
				      " 'channels': {'chat': {'capacity': 2}}}"));
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q'}}");
	const char *c1 = add_task_args(f, J("{'task_channel': 'chat'}"));
	const char *c2 = add_task_args(f, J("{'task_channel': 'chat'}"));
	const char *c3 = add_task_args(f, J("{'task_channel': 'chat'}"));
	assert_string_equal(pending_holders(f, c1), "multi");
	assert_string_equal(pending_holders(f, c2), "multi");
	assert_string_equal(pending_holders(f, c3), "");
	assert_string_equal(task_status(f, c3), "pending");
	const char *v1 = add_task_args(f, J("{'task_channel': 'voice'}"));
	const char *v2 = add_task_args(f, J("{'task_channel': 'voice'}"));
	assert_string_equal(pending_holders(f, v1), "multi");
	assert_string_equal(pending_holders(f, v2), "");
	/* accepting keeps the capacity used; completing a chat frees one slot for c3 */
	accept_pending(f, c1);
	assert_string_equal(pending_holders(f, c3), "");
	complete(f, c1);
	assert_string_equal(pending_holders(f, c3), "multi");
	fx_free(f);
}

static void test_unavailable_worker_gets_nothing_until_available(void **state)
{
	struct fx *f = fx_new();
	add_queue(f, "Q", "1 == 1");
	const char *w = add_worker_in(f, "sleepy", "{}", "Unavailable");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q'}}");
	const char *t = add_task(f, "{}");
	assert_string_equal(task_status(f, t), "pending");
	set_activity(f, w, "Break");
	assert_string_equal(pending_holders(f, t), "");
	size_t m = mark(f);
	set_activity(f, w, "Available");
	EXPECT_EVENTS(f, m, "worker.activity.update", "reservation.created");
	assert_string_equal(pending_holders(f, t), "sleepy");
	fx_free(f);
}

static void test_target_expression_matches_worker_against_task_attributes(void **state)
{
	struct fx *f = fx_new();
	add_queue(f, "Q", "1 == 1");
	add_worker(f, "en", "{'languages': ['en']}");
	add_worker(f, "es", "{'languages': ['es', 'en']}");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q', 'expression': 'worker.languages HAS task.language'}}");
	const char *es = add_task(f, "{'language': 'es'}");
	assert_string_equal(pending_holders(f, es), "es");
	const char *fr = add_task(f, "{'language': 'fr'}");
	assert_string_equal(pending_holders(f, fr), "");
	assert_string_equal(task_status(f, fr), "pending");
	const char *en = add_task(f, "{'language': 'en'}");
	assert_string_equal(pending_holders(f, en), "en");
	fx_free(f);
}

/* ---- known agent ------------------------------------------------------------ */

static void test_known_worker_sid_target_reserves_only_that_worker(void **state)
{
	struct fx *f = fx_new();
	add_queue(f, "Q", "1 == 1");
	add_worker(f, "ann", "{}");
	add_worker(f, "ben", "{}");
	const char *cat = add_worker(f, "cat", "{}");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q', 'known_worker_sid': 'task.agent_sid'}}");
	char attrs[128];
	snprintf(attrs, sizeof attrs, "{'agent_sid': '%s'}", cat);
	const char *t = add_task(f, attrs);
	assert_string_equal(pending_holders(f, t), "cat");
	/* cat rejects: ann and ben idle longer, but the target names cat only */
	reject(f, pending_res(f, t), NULL);
	assert_string_equal(pending_holders(f, t), "");
	fx_free(f);
}

static void test_known_worker_friendly_name_target_reserves_that_worker(void **state)
{
	struct fx *f = fx_new();
	add_queue(f, "Q", "1 == 1");
	add_worker(f, "ann", "{}");
	add_worker(f, "ben", "{}");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q', 'known_worker_friendly_name': 'task.agent'}}");
	const char *t = add_task(f, "{'agent': 'ben'}");
	assert_string_equal(pending_holders(f, t), "ben");
	/* ben rejects: nobody else is offered the task */
	reject(f, pending_res(f, t), NULL);
	assert_string_equal(pending_holders(f, t), "");
	assert_string_equal(task_status(f, t), "pending");
	fx_free(f);
}

/* doc §4: a task with a missing key stays in the target until its timeout. */
static void test_known_worker_target_without_the_attribute_waits_for_timeout(void **state)
{
	struct fx *f = fx_new();
	add_queue(f, "Q", "1 == 1");
	add_worker(f, "ann", "{}");
	start_clock(f);
	add_workflow(f, 30,
		     "{'filters': [{'expression': '1 == 1', 'targets': ["
		     "  {'queue': 'Q', 'known_worker_sid': 'task.agent_sid', 'timeout': 20}, {'queue': 'Q'}]}]}");
	const char *t = add_task(f, "{}");
	assert_string_equal(pending_holders(f, t), "");
	advance_to(f, 20 * SEC - 1);
	assert_string_equal(pending_holders(f, t), "");
	size_t m = mark(f);
	advance_to(f, 20 * SEC);
	EXPECT_EVENTS(f, m, "task-queue.timeout", "workflow.target-matched", "task-queue.entered",
		      "reservation.created");
	assert_string_equal(pending_holders(f, t), "ann");
	fx_free(f);
}

/* ---- a freed worker --------------------------------------------------------- */

static void test_freed_worker_takes_best_waiting_task_across_its_queues(void **state)
{
	struct fx *f = fx_new();
	add_queue(f, "A", "skills HAS 'a'");
	add_queue(f, "B", "skills HAS 'b'");
	add_worker(f, "both", "{'skills': ['a', 'b']}");
	add_workflow(f, 30, "{'filters': ["
			    "  {'expression': 'q == `a`', 'targets': [{'queue': 'A'}]},"
			    "  {'expression': 'q == `b`', 'targets': [{'queue': 'B'}]}]}");
	const char *first = add_task(f, "{'q': 'a'}");
	accept_pending(f, first);
	advance(f, SEC);
	const char *a_old = add_task(f, "{'q': 'a'}");
	advance(f, SEC);
	const char *b_young = add_task(f, "{'q': 'b'}");
	advance(f, SEC);
	const char *b_urgent = add_task_args(f, J("{'attributes': {'q': 'b'}, 'priority': 3}"));
	advance(f, SEC);
	complete(f, first);
	assert_string_equal(pending_holders(f, b_urgent), "both");
	accept_pending(f, b_urgent);
	complete(f, b_urgent);
	assert_string_equal(pending_holders(f, a_old), "both");
	accept_pending(f, a_old);
	complete(f, a_old);
	assert_string_equal(pending_holders(f, b_young), "both");
	fx_free(f);
}

/* ---- reject and reservation timeout ----------------------------------------- */

static void test_reject_moves_task_to_next_worker(void **state)
{
	struct fx *f = desk();
	const char *t = add_task(f, "{'department': 'sales'}");
	const char *res = pending_res(f, t);
	size_t m = mark(f);
	reject(f, res, NULL);
	EXPECT_EVENTS(f, m, "reservation.rejected", "reservation.created");
	assert_string_equal(ev_str(event_of(f, m, "reservation.rejected", 0), "worker_name"), "alice");
	assert_string_equal(ev_str(event_of(f, m, "reservation.created", 0), "worker_name"), "bob");
	assert_string_equal(res_status(f, res), "rejected");
	assert_string_equal(task_status(f, t), "reserved");
	assert_string_equal(holders(f, t, NULL), "alice,bob");
	fx_free(f);
}

static void test_rejecting_worker_is_not_offered_the_task_again_in_the_same_target(void **state)
{
	struct fx *f = desk();
	const char *t = add_task(f, "{'department': 'sales'}");
	reject(f, pending_res(f, t), NULL); /* alice */
	size_t m = mark(f);
	reject(f, pending_res(f, t), NULL); /* bob */
	EXPECT_EVENTS(f, m, "reservation.rejected");
	assert_string_equal(task_status(f, t), "pending");
	/* alice stays Available and is freed again: still nothing for her */
	m = mark(f);
	const char *alice = field(f, "workers.fetch", "alice", "sid");
	assert_string_equal(activity_of(f, alice), "Available");
	set_activity(f, alice, "Offline");
	set_activity(f, alice, "Available");
	EXPECT_EVENTS(f, m, "worker.activity.update", "worker.activity.update");
	assert_string_equal(pending_holders(f, t), "");
	fx_free(f);
}

static void test_rejecting_worker_can_be_offered_the_task_in_the_next_target(void **state)
{
	struct fx *f = fx_new();
	add_queue(f, "Q", "1 == 1");
	add_worker(f, "ann", "{}");
	add_worker(f, "ben", "{}");
	start_clock(f);
	add_workflow(f, 30, "{'filters': [{'expression': '1 == 1', 'targets': ["
			    "  {'queue': 'Q', 'timeout': 30}, {'queue': 'Q', 'priority': 5}]}]}");
	const char *t = add_task(f, "{}");
	reject(f, pending_res(f, t), NULL);
	reject(f, pending_res(f, t), NULL);
	assert_string_equal(task_status(f, t), "pending");
	size_t m = mark(f);
	advance_to(f, 30 * SEC);
	EXPECT_EVENTS(f, m, "task-queue.timeout", "workflow.target-matched", "task-queue.entered",
		      "reservation.created");
	assert_string_equal(pending_holders(f, t), "ann");
	fx_free(f);
}

static void test_reservation_timeout_moves_worker_to_timeout_activity_and_task_to_next_worker(void **state)
{
	struct fx *f = desk();
	run(f, "workspace.update", J("{'timeout_activity_sid': 'Break'}"));
	const char *t = add_task(f, "{'department': 'sales'}");
	const char *res = pending_res(f, t);
	const char *alice = field(f, "reservations.fetch", res, "worker_sid");
	assert_int_equal(swb_core_next_deadline(f->c), f->now + 30 * SEC);
	size_t m = mark(f);
	advance(f, 30 * SEC - 1);
	EXPECT_NO_EVENTS(f, m);
	advance(f, 1);
	EXPECT_EVENTS(f, m, "reservation.timeout", "worker.activity.update", "reservation.created");
	const struct event *e = event_of(f, m, "worker.activity.update", 0);
	assert_string_equal(e->rsid, alice);
	assert_string_equal(ev_str(e, "worker_activity_name"), "Break");
	assert_string_equal(ev_str(e, "worker_previous_activity_name"), "Available");
	assert_string_equal(res_status(f, res), "timeout");
	assert_string_equal(activity_of(f, alice), "Break");
	assert_string_equal(pending_holders(f, t), "bob");
	fx_free(f);
}

static void test_timed_out_worker_is_not_offered_the_task_again_in_the_same_target(void **state)
{
	struct fx *f = desk();
	const char *t = add_task(f, "{'department': 'sales'}");
	const char *alice = field(f, "reservations.fetch", pending_res(f, t), "worker_sid");
	advance(f, 30 * SEC);
	assert_string_equal(activity_of(f, alice), "Offline");
	set_activity(f, alice, "Available");
	size_t m = mark(f);
	reject(f, pending_res(f, t), NULL); /* bob */
	EXPECT_EVENTS(f, m, "reservation.rejected");
	assert_string_equal(task_status(f, t), "pending");
	fx_free(f);
}

static void test_reject_with_worker_activity_sid_moves_the_worker(void **state)
{
	struct fx *f = desk();
	const char *t = add_task(f, "{'department': 'sales'}");
	const char *res = pending_res(f, t);
	const char *alice = field(f, "reservations.fetch", res, "worker_sid");
	size_t m = mark(f);
	reject(f, res, "Break");
	EXPECT_EVENTS(f, m, "reservation.rejected", "worker.activity.update", "reservation.created");
	assert_string_equal(activity_of(f, alice), "Break");
	assert_string_equal(pending_holders(f, t), "bob");
	fx_free(f);
}

static void test_reject_without_activity_leaves_the_worker_in_its_activity(void **state)
{
	struct fx *f = desk();
	const char *t = add_task(f, "{'department': 'sales'}");
	const char *res = pending_res(f, t);
	const char *alice = field(f, "reservations.fetch", res, "worker_sid");
	reject(f, res, NULL);
	assert_string_equal(activity_of(f, alice), "Available");
	fx_free(f);
}

/* ---- multi-reservation --------------------------------------------------- */

static struct fx *multi_desk(int max_reserved)
{
	struct fx *f = fx_new();
	create(f, "task_queues.create", J("{'friendly_name': 'Q', 'max_reserved_workers': %d}", max_reserved));
	add_worker(f, "ann", "{}");
	add_worker(f, "ben", "{}");
	add_worker(f, "cat", "{}");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q'}}");
	return f;
}

/* doc §17 */
static void test_max_reserved_workers_reserves_several_and_first_accept_wins(void **state)
{
	struct fx *f = multi_desk(2);
	size_t m = mark(f);
	const char *t = add_task(f, "{}");
	EXPECT_EVENTS(f, m, "task.created", "workflow.entered", "workflow.target-matched", "task-queue.entered",
		      "reservation.created", "reservation.created");
	assert_string_equal(pending_holders(f, t), "ann,ben");
	assert_string_equal(task_status(f, t), "reserved");
	const char *ann = res_of(f, t, "ann"), *ben = res_of(f, t, "ben");
	m = mark(f);
	accept(f, ben);
	EXPECT_EVENTS(f, m, "reservation.accepted", "reservation.rescinded");
	assert_string_equal(event_of(f, m, "reservation.rescinded", 0)->rsid, ann);
	assert_string_equal(res_status(f, ann), "rescinded");
	assert_string_equal(res_status(f, ben), "accepted");
	assert_string_equal(task_status(f, t), "assigned");
	fx_free(f);
}

static void test_multi_reserved_task_returns_to_pending_only_when_all_reservations_end(void **state)
{
	struct fx *f = multi_desk(2);
	const char *t = add_task(f, "{}");
	size_t m = mark(f);
	reject(f, res_of(f, t, "ann"), NULL);
	/* ann's place goes to cat; the task stays reserved */
	EXPECT_EVENTS(f, m, "reservation.rejected", "reservation.created");
	assert_string_equal(pending_holders(f, t), "ben,cat");
	assert_string_equal(task_status(f, t), "reserved");
	reject(f, res_of(f, t, "ben"), NULL);
	assert_string_equal(task_status(f, t), "reserved");
	reject(f, res_of(f, t, "cat"), NULL);
	assert_string_equal(task_status(f, t), "pending");
	assert_string_equal(pending_holders(f, t), "");
	fx_free(f);
}

/* ---- TTL ------------------------------------------------------------------ */

/* doc §7 */
static void test_task_ttl_cancels_with_task_ttl_exceeded_and_cancels_reservations(void **state)
{
	struct fx *f = desk();
	int64_t start = f->now;
	const char *t = add_task_args(f, J("{'attributes': {'department': 'sales'}, 'timeout': 20}"));
	const char *res = pending_res(f, t);
	assert_int_equal(swb_core_next_deadline(f->c), start + 20 * SEC);
	size_t m = mark(f);
	advance(f, 20 * SEC);
	EXPECT_EVENTS(f, m, "reservation.canceled", "task.canceled");
	const struct event *e = event_of(f, m, "task.canceled", 0);
	assert_string_equal(ev_str(e, "task_canceled_reason"), "Task TTL Exceeded");
	assert_string_equal(field(f, "tasks.fetch", t, "reason"), "Task TTL Exceeded");
	assert_string_equal(task_status(f, t), "canceled");
	assert_string_equal(res_status(f, res), "canceled");
	/* alice is free again: the next sales task is hers */
	const char *next = add_task(f, "{'department': 'sales'}");
	assert_string_equal(pending_holders(f, next), "alice");
	fx_free(f);
}

static void test_task_ttl_does_not_cancel_an_assigned_task(void **state)
{
	struct fx *f = desk();
	const char *t = add_task_args(f, J("{'attributes': {'department': 'sales'}, 'timeout': 20}"));
	accept_pending(f, t);
	size_t m = mark(f);
	advance(f, 60 * SEC);
	EXPECT_NO_EVENTS(f, m);
	assert_string_equal(task_status(f, t), "assigned");
	fx_free(f);
}

/* ---- queue activities ------------------------------------------------------- */

static struct fx *activity_desk(int max_reserved)
{
	struct fx *f = fx_new();
	create(f, "activities.create", J("{'friendly_name': 'Reserved', 'available': false}"));
	create(f, "activities.create", J("{'friendly_name': 'Busy', 'available': false}"));
	create(f, "task_queues.create", J("{'friendly_name': 'Q', 'max_reserved_workers': %d,"
					  " 'reservation_activity_sid': 'Reserved', 'assignment_activity_sid': 'Busy'}",
					  max_reserved));
	add_worker(f, "ann", "{}");
	add_worker(f, "ben", "{}");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q'}}");
	return f;
}

static void test_reservation_and_assignment_activities_move_the_worker(void **state)
{
	struct fx *f = activity_desk(1);
	size_t m = mark(f);
	const char *t = add_task(f, "{}");
	const char *res = pending_res(f, t);
	const char *ann = field(f, "reservations.fetch", res, "worker_sid");
	EXPECT_EVENTS(f, m, "task.created", "workflow.entered", "workflow.target-matched", "task-queue.entered",
		      "reservation.created", "worker.activity.update");
	assert_string_equal(activity_of(f, ann), "Reserved");
	m = mark(f);
	accept(f, res);
	EXPECT_EVENTS(f, m, "reservation.accepted", "worker.activity.update");
	assert_string_equal(activity_of(f, ann), "Busy");
	fx_free(f);
}

/* doc §6: reject without WorkerActivitySid -> the activity before the reservation. */
static void test_reject_returns_worker_to_activity_before_reservation_activity(void **state)
{
	struct fx *f = activity_desk(1);
	const char *t = add_task(f, "{}");
	const char *res = pending_res(f, t);
	const char *ann = field(f, "reservations.fetch", res, "worker_sid");
	reject(f, res, NULL);
	assert_string_equal(activity_of(f, ann), "Available");
	assert_string_equal(pending_holders(f, t), "ben");
	fx_free(f);
}

/* A rescinded or canceled reservation ends without the worker's doing: it goes back too. */
static void test_rescinded_worker_returns_to_activity_before_reservation_activity(void **state)
{
	struct fx *f = activity_desk(2);
	const char *t = add_task(f, "{}");
	assert_string_equal(pending_holders(f, t), "ann,ben");
	const char *ann = field(f, "reservations.fetch", res_of(f, t, "ann"), "worker_sid");
	accept(f, res_of(f, t, "ben"));
	assert_string_equal(activity_of(f, ann), "Available");
	fx_free(f);
}

static void test_canceled_task_returns_reserved_worker_to_previous_activity(void **state)
{
	struct fx *f = activity_desk(1);
	const char *t = add_task(f, "{}");
	const char *ann = field(f, "reservations.fetch", pending_res(f, t), "worker_sid");
	assert_string_equal(activity_of(f, ann), "Reserved");
	run(f, "tasks.update", J("{'sid': '%s', 'assignment_status': 'canceled', 'reason': 'hangup'}", t));
	assert_string_equal(activity_of(f, ann), "Available");
	fx_free(f);
}

/* ---- lifecycle -------------------------------------------------------------- */

static void test_accept_then_wrapup_then_complete(void **state)
{
	struct fx *f = desk();
	const char *t = add_task(f, "{'department': 'sales'}");
	const char *res = pending_res(f, t);
	size_t m = mark(f);
	accept(f, res);
	EXPECT_EVENTS(f, m, "reservation.accepted");
	assert_string_equal(task_status(f, t), "assigned");
	assert_string_equal(res_status(f, res), "accepted");

	m = mark(f);
	run(f, "reservations.update", json_pack("{s:s, s:s}", "sid", res, "reservation_status", "wrapping"));
	EXPECT_EVENTS(f, m, "reservation.wrapup", "task.wrapup");
	assert_string_equal(task_status(f, t), "wrapping");
	assert_string_equal(res_status(f, res), "wrapping");

	m = mark(f);
	run(f, "tasks.update", J("{'sid': '%s', 'assignment_status': 'completed', 'reason': 'resolved'}", t));
	EXPECT_EVENTS(f, m, "reservation.completed", "task.completed");
	assert_string_equal(ev_str(event_of(f, m, "task.completed", 0), "task_completed_reason"), "resolved");
	assert_string_equal(task_status(f, t), "completed");
	assert_string_equal(res_status(f, res), "completed");
	fx_free(f);
}

static void test_completing_frees_the_worker_for_the_next_task(void **state)
{
	struct fx *f = desk();
	const char *t1 = add_task(f, "{'department': 'support'}");
	assert_string_equal(accept_pending(f, t1), "bob");
	const char *t2 = add_task(f, "{'department': 'support'}");
	assert_string_equal(pending_holders(f, t2), "carol");
	reject(f, pending_res(f, t2), "Offline");
	assert_string_equal(task_status(f, t2), "pending");
	size_t m = mark(f);
	run(f, "reservations.update",
	    json_pack("{s:s, s:s}", "sid", accepted_res(f, t1), "reservation_status", "completed"));
	EXPECT_EVENTS(f, m, "reservation.completed", "task.completed", "reservation.created");
	assert_string_equal(pending_holders(f, t2), "bob");
	fx_free(f);
}

/* ---- changes while waiting ---------------------------------------------------- */

static void test_attribute_update_reroutes_a_waiting_task(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_worker(f, "quinn", "{'skills': ['q2']}");
	add_workflow(f, 30, "{'filters': ["
			    "  {'expression': 'type == `x`', 'targets': [{'queue': 'Q1'}]},"
			    "  {'expression': 'type == `y`', 'targets': [{'queue': 'Q2'}]}]}");
	const char *t = add_task(f, "{'type': 'x'}");
	assert_string_equal(task_queue(f, t), "Q1");
	size_t m = mark(f);
	run(f, "tasks.update", J("{'sid': '%s', 'attributes': {'type': 'y'}}", t));
	assert_string_equal(f->ev[m].type, "task.updated");
	assert_string_equal(f->ev[f->nev - 1].type, "reservation.created");
	assert_string_equal(ev_str(event_of(f, m, "task-queue.entered", 0), "task_queue_name"), "Q2");
	assert_string_equal(task_queue(f, t), "Q2");
	assert_string_equal(pending_holders(f, t), "quinn");
	fx_free(f);
}

static void test_queue_target_workers_update_recomputes_membership(void **state)
{
	struct fx *f = fx_new();
	const char *q = add_queue(f, "Q", "skills HAS 'a'");
	add_worker(f, "bea", "{'skills': ['b']}");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q'}}");
	const char *t = add_task(f, "{}");
	assert_int_equal(ifield(f, "task_queues.stats", q, "total_eligible_workers"), 0);
	assert_string_equal(task_status(f, t), "pending");
	size_t m = mark(f);
	run(f, "task_queues.update", J("{'sid': '%s', 'target_workers': 'skills HAS `b`'}", q));
	EXPECT_EVENTS(f, m, "task-queue.expression.updated", "task-queue.updated", "reservation.created");
	assert_int_equal(ifield(f, "task_queues.stats", q, "total_eligible_workers"), 1);
	assert_string_equal(pending_holders(f, t), "bea");
	run(f, "task_queues.update", J("{'sid': '%s', 'target_workers': 'skills HAS `c`'}", q));
	assert_int_equal(ifield(f, "task_queues.stats", q, "total_eligible_workers"), 0);
	fx_free(f);
}

static void test_worker_attribute_update_changes_queue_membership(void **state)
{
	struct fx *f = fx_new();
	const char *q = add_queue(f, "Q", "skills HAS 'a'");
	const char *w = add_worker(f, "bea", "{'skills': ['b']}");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q'}}");
	const char *t = add_task(f, "{}");
	size_t m = mark(f);
	run(f, "workers.update", J("{'sid': '%s', 'attributes': {'skills': ['a']}}", w));
	EXPECT_EVENTS(f, m, "worker.attributes.update", "reservation.created");
	assert_int_equal(ifield(f, "task_queues.stats", q, "total_eligible_workers"), 1);
	assert_string_equal(pending_holders(f, t), "bea");
	fx_free(f);
}

static void test_priority_update_reorders_waiting_tasks(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	const char *w = add_worker_in(f, "wendy", "{'skills': ['q1']}", "Offline");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q1'}}");
	const char *t[3];
	for (int i = 0; i < 3; i++) {
		t[i] = add_task(f, "{}");
		advance(f, SEC);
	}
	run(f, "tasks.update", J("{'sid': '%s', 'priority': 10}", t[2]));
	assert_int_equal(ifield(f, "tasks.fetch", t[2], "priority"), 10);
	assert_string_equal(serve_all(f, w, t, 3), "t3,t1,t2");
	fx_free(f);
}

static void test_capacity_increase_offers_a_waiting_task(void **state)
{
	struct fx *f = fx_new();
	add_queue(f, "Q", "1 == 1");
	const char *w = add_worker(f, "solo", "{}");
	add_workflow(f, 30, "{'default_filter': {'queue': 'Q'}}");
	const char *t1 = add_task_args(f, J("{'task_channel': 'chat'}"));
	const char *t2 = add_task_args(f, J("{'task_channel': 'chat'}"));
	assert_string_equal(pending_holders(f, t1), "solo");
	assert_string_equal(pending_holders(f, t2), "");
	size_t m = mark(f);
	run(f, "workers.channels.update", J("{'sid': '%s', 'channel': 'chat', 'capacity': 2}", w));
	EXPECT_EVENTS(f, m, "worker.capacity.update", "reservation.created");
	assert_string_equal(pending_holders(f, t2), "solo");
	fx_free(f);
}

/* skip_if is evaluated on entering a step, also when a timeout brings the task there. */
static void test_skip_if_applies_when_a_timeout_escalates_into_the_target(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_workflow(f, 30, "{'filters': [{'expression': '1 == 1', 'targets': ["
			    "  {'queue': 'Q1', 'timeout': 10}, {'queue': 'Q2', 'skip_if': 'workers.available == 0'},"
			    "  {'queue': 'Q3'}]}]}");
	const char *t = add_task(f, "{}");
	size_t m = mark(f);
	advance_to(f, 10 * SEC);
	EXPECT_EVENTS(f, m, "task-queue.timeout", "workflow.target-matched", "task-queue.moved", "task-queue.entered");
	assert_int_equal(ev_int(event_of(f, m, "workflow.target-matched", 0), "workflow_filter_target_index"), 2);
	assert_string_equal(task_queue(f, t), "Q3");
	fx_free(f);
}

/*
 * Once its target has expired, a task waits only for the reservations it already
 * has (doc §1): ann's reject must not start a new offer to cat in the old target.
 */
static void test_expired_target_makes_no_new_reservations_while_others_are_pending(void **state)
{
	struct fx *f = fx_new();
	create(f, "task_queues.create",
	       J("{'friendly_name': 'Q', 'max_reserved_workers': 2, 'target_workers': 'skills HAS `q`'}"));
	add_queue(f, "Next", "skills HAS 'next'");
	add_worker(f, "ann", "{'skills': ['q']}");
	add_worker(f, "ben", "{'skills': ['q']}");
	add_worker(f, "cat", "{'skills': ['q']}");
	add_worker(f, "nick", "{'skills': ['next']}");
	start_clock(f);
	add_workflow(f, 120, "{'filters': [{'expression': '1 == 1', 'targets': ["
			     "  {'queue': 'Q', 'timeout': 10}, {'queue': 'Next'}]}]}");
	const char *t = add_task(f, "{}");
	assert_string_equal(pending_holders(f, t), "ann,ben");
	advance_to(f, 12 * SEC);
	size_t m = mark(f);
	reject(f, res_of(f, t, "ann"), NULL);
	EXPECT_EVENTS(f, m, "reservation.rejected");
	assert_string_equal(pending_holders(f, t), "ben");
	m = mark(f);
	reject(f, res_of(f, t, "ben"), NULL);
	EXPECT_EVENTS(f, m, "reservation.rejected", "task-queue.timeout", "workflow.target-matched", "task-queue.moved",
		      "task-queue.entered", "reservation.created");
	assert_string_equal(pending_holders(f, t), "nick");
	fx_free(f);
}

/* ---- statistics ---------------------------------------------------------- */

static json_int_t qstat(struct fx *f, const char *q, const char *key)
{
	return ifield(f, "task_queues.stats", q, key);
}

static json_int_t qstat_status(struct fx *f, const char *q, const char *status)
{
	json_t *r = exec(f, "task_queues.stats", json_pack("{s:s}", "sid", q));
	json_int_t n = json_integer_value(json_object_get(json_object_get(r, "tasks_by_status"), status));
	json_decref(r);
	return n;
}

static json_int_t qstat_activity(struct fx *f, const char *q, const char *activity)
{
	json_t *r = exec(f, "task_queues.stats", json_pack("{s:s}", "sid", q));
	json_int_t n = -1;
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(r, "activity_statistics"), i, a)
		if (strcmp(json_string_value(json_object_get(a, "friendly_name")), activity) == 0)
			n = json_integer_value(json_object_get(a, "workers"));
	json_decref(r);
	return n;
}

static void test_queue_statistics_follow_tasks_and_workers(void **state)
{
	struct fx *f = fx_new();
	const char *q = add_queue(f, "Q", "1 == 1");
	/* solo can take one task on the default channel and nothing else */
	const char *solo = create(f, "workers.create", J("{'friendly_name': 'solo', 'activity_sid': 'Available',"
		" 'channels': {'voice': {'capacity': 0}, 'chat': {'capacity': 0}, 'sms': {'capacity': 0},"
		" 'video': {'capacity': 0}}}"));
	const char *late = add_worker_in(f, "late", "{}", "Offline");
	start_clock(f);
	add_workflow(f, 60, "{'default_filter': {'queue': 'Q'}}");
	assert_int_equal(qstat(f, q, "total_eligible_workers"), 2);
	assert_int_equal(qstat(f, q, "total_available_workers"), 1);
	assert_int_equal(qstat_activity(f, q, "Available"), 1);
	assert_int_equal(qstat_activity(f, q, "Offline"), 1);
	assert_int_equal(qstat(f, q, "total_tasks"), 0);
	assert_int_equal(qstat(f, q, "longest_task_waiting_age"), 0);

	const char *t1 = add_task(f, "{}");
	advance_to(f, 5 * SEC);
	const char *t2 = add_task(f, "{}");
	assert_int_equal(qstat_status(f, q, "reserved"), 1);
	assert_int_equal(qstat_status(f, q, "pending"), 1);
	assert_int_equal(qstat(f, q, "total_tasks"), 2);
	advance_to(f, 10 * SEC);
	assert_int_equal(qstat(f, q, "longest_task_waiting_age"), 10);
	assert_string_equal(field(f, "task_queues.stats", q, "longest_task_waiting_sid"), t1);

	accept(f, pending_res(f, t1));
	assert_int_equal(qstat_status(f, q, "assigned"), 1);
	assert_int_equal(qstat_status(f, q, "reserved"), 0);
	assert_int_equal(qstat(f, q, "longest_task_waiting_age"), 5);
	assert_string_equal(field(f, "task_queues.stats", q, "longest_task_waiting_sid"), t2);
	/* doc §12: available workers may already have active interactions */
	assert_int_equal(qstat(f, q, "total_available_workers"), 1);

	set_activity(f, late, "Available");
	assert_int_equal(qstat_activity(f, q, "Available"), 2);
	assert_int_equal(qstat_activity(f, q, "Offline"), 0);
	assert_int_equal(qstat(f, q, "total_available_workers"), 2);
	assert_int_equal(qstat_status(f, q, "reserved"), 1); /* t2 went to late */
	assert_string_equal(pending_holders(f, t2), "late");

	complete(f, t1);
	assert_int_equal(qstat_status(f, q, "assigned"), 0);
	assert_int_equal(qstat(f, q, "total_tasks"), 1);
	set_activity(f, solo, "Offline");
	assert_int_equal(qstat(f, q, "total_available_workers"), 1);
	assert_int_equal(qstat(f, q, "total_eligible_workers"), 2);
	fx_free(f);
}

/* doc §12/§16: longest_task_waiting_age is the task's age; time in this queue is the relative one. */
static void test_longest_waiting_age_is_task_age_and_relative_age_is_time_in_queue(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	const char *q2 = field(f, "task_queues.fetch", "Q2", "sid");
	add_workflow(f, 30, escalation_routing);
	const char *t = add_task(f, "{}");
	advance_to(f, 15 * SEC);
	assert_string_equal(task_queue(f, t), "Q2");
	assert_int_equal(qstat(f, q2, "longest_task_waiting_age"), 15);
	assert_int_equal(qstat(f, q2, "longest_relative_task_age_in_queue"), 5);
	assert_string_equal(field(f, "task_queues.stats", q2, "longest_relative_task_sid_in_queue"), t);
	fx_free(f);
}

/* ---- deadlines ----------------------------------------------------------------- */

static void test_next_deadline_reports_the_earliest_live_timer(void **state)
{
	struct fx *f = fx_new();
	assert_true(swb_core_next_deadline(f->c) == INT64_MAX);
	three_queues(f);
	add_worker(f, "wendy", "{'skills': ['q1']}");
	start_clock(f);
	add_workflow(f, 20, escalation_routing);
	const char *t = add_task_args(f, J("{'timeout': 3600}"));
	/* wendy's reservation ends at 20 s; Q1's target timeout at 10 s comes first */
	assert_int_equal(swb_core_next_deadline(f->c), f->origin + 10 * SEC);
	advance_to(f, 10 * SEC); /* target expires while reserved: nothing moves */
	assert_int_equal(swb_core_next_deadline(f->c), f->origin + 20 * SEC);
	advance_to(f, 12 * SEC);
	accept(f, pending_res(f, t));
	/* assigned: no reservation, target or TTL timer is left */
	assert_true(swb_core_next_deadline(f->c) == INT64_MAX);
	advance_to(f, 13 * SEC);
	complete(f, t);
	/* the finished task is purged five minutes later (doc §8) */
	assert_int_equal(swb_core_next_deadline(f->c), f->origin + 13 * SEC + 300 * SEC);
	size_t m = mark(f);
	advance_to(f, 13 * SEC + 300 * SEC);
	EXPECT_NO_EVENTS(f, m);
	assert_true(swb_core_next_deadline(f->c) == INT64_MAX);
	json_t *args = json_pack("{s:s}", "sid", t);
	struct swb_err err;
	assert_int_equal(swb_core_exec(f->c, f->now, NULL, "tasks.fetch", args, NULL, &err), SWB_ENOTFOUND);
	json_decref(args);
	fx_free(f);
}

/* One late tick acts as if the core had been ticked at each deadline. */
static void test_a_late_tick_fires_each_timer_at_its_own_time(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_worker(f, "quinn", "{'skills': ['q2']}");
	start_clock(f);
	add_workflow(f, 5, escalation_routing);
	const char *t = add_task(f, "{}");
	size_t m = mark(f);
	advance_to(f, 100 * SEC);
	/* Q1 times out at 10 s; quinn's reservation (5 s) times out at 15 s; Q2 times out at 30 s. */
	EXPECT_EVENTS(f, m, "task-queue.timeout", "workflow.target-matched", "task-queue.moved", "task-queue.entered",
		      "reservation.created", "reservation.timeout", "worker.activity.update", "task-queue.timeout",
		      "workflow.target-matched", "task-queue.moved", "task-queue.entered");
	assert_int_equal(event_of(f, m, "reservation.created", 0)->ts, f->origin + 10 * SEC);
	assert_int_equal(event_of(f, m, "reservation.timeout", 0)->ts, f->origin + 15 * SEC);
	assert_int_equal(event_of(f, m, "task-queue.timeout", 1)->ts, f->origin + 30 * SEC);
	assert_int_equal(ev_int(event_of(f, m, "task-queue.timeout", 1), "task_age"), 30);
	assert_string_equal(task_queue(f, t), "Q3");
	fx_free(f);
}

static void test_next_deadline_follows_ttl_when_no_other_timer(void **state)
{
	struct fx *f = fx_new();
	three_queues(f);
	add_workflow(f, 20, "{'default_filter': {'queue': 'Q1'}}");
	add_task_args(f, J("{'timeout': 100}"));
	assert_int_equal(swb_core_next_deadline(f->c), f->origin + 100 * SEC);
	fx_free(f);
}

/*
 * A task's 24 h TTL timer goes stale once it is assigned; a day of finished tasks
 * must not pile up behind it. The heap keeps the live timers (here the purges of
 * the ~300 tasks of the last 5 minutes) and a bounded number of stale ones.
 */
static void test_finished_tasks_leave_no_stale_timers_behind(void **state)
{
	struct fx *f = desk();
	for (int i = 0; i < 3000; i++) {
		const char *t = add_task(f, "{'department': 'sales'}");
		accept_pending(f, t);
		complete(f, t);
		advance(f, SEC);
	}
	assert_true(swb_core_timer_count(f->c) < 2000); /* 3000 without compaction */
	advance(f, 6 * 60 * SEC); /* every task purged */
	assert_int_equal(swb_core_next_deadline(f->c), INT64_MAX);
	fx_free(f);
}

/* ---- determinism ------------------------------------------------------------- */

/*
 * A scenario with reservations, a reject, timeouts, escalations and a completion.
 * Nothing in it happens at the same millisecond, so its path does not depend on
 * SID tie-breaks and any seed can run it.
 */
static char *scenario_transcript(uint64_t seed)
{
	struct fx *f = fx_new_seeded(seed);
	three_queues(f);
	add_worker(f, "wendy", "{'skills': ['q1', 'q2']}");
	add_worker(f, "quinn", "{'skills': ['q1']}");
	add_worker(f, "tess", "{'skills': ['q3']}");
	add_workflow(f, 15, escalation_routing);
	const char *a = add_task(f, "{'n': 1}");
	advance(f, SEC);
	add_task(f, "{'n': 2}");
	reject(f, pending_res(f, a), NULL);
	advance(f, 40 * SEC);
	assert_string_equal(task_queue(f, a), "Q3");
	assert_string_equal(pending_holders(f, a), "tess");
	accept(f, pending_res(f, a));
	complete(f, a);
	advance(f, 20 * SEC);
	json_t *all = json_array();
	for (size_t i = 0; i < f->nev; i++)
		json_array_append_new(all,
				      json_pack("{s:I, s:s, s:s, s:s, s:I, s:O}", "seq", (json_int_t)f->ev[i].seq,
						"type", f->ev[i].type, "rtype", f->ev[i].rtype, "rsid", f->ev[i].rsid,
						"ts", (json_int_t)f->ev[i].ts, "data", f->ev[i].data));
	char *s = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(all);
	assert_true(f->nev > 30);
	assert_int_equal(swb_core_last_seq(f->c), f->ev[f->nev - 1].seq);
	fx_free(f);
	return s;
}

static void test_same_seed_and_inputs_give_same_sids_and_events(void **state)
{
	char *a = scenario_transcript(7), *b = scenario_transcript(7);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void test_different_seed_gives_different_sids(void **state)
{

	char *a = scenario_transcript(7), *b = scenario_transcript(8);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_task_is_offered_to_an_idle_worker_with_exact_events),
		cmocka_unit_test(test_first_matching_filter_wins),
		cmocka_unit_test(test_default_filter_takes_a_task_no_filter_matches),
		cmocka_unit_test(test_no_matching_filter_and_no_default_cancels_with_workflow_timeout),
		cmocka_unit_test(test_target_timeout_escalates_to_next_target),
		cmocka_unit_test(test_target_timeouts_add_up_on_task_age),
		cmocka_unit_test(test_pending_reservation_is_not_cut_short_by_target_timeout),
		cmocka_unit_test(test_last_target_timeout_moves_to_next_matching_filter),
		cmocka_unit_test(test_last_target_timeout_without_next_filter_cancels_with_workflow_timeout),
		cmocka_unit_test(test_skip_if_skips_target_when_nobody_is_available),
		cmocka_unit_test(test_skip_if_does_not_skip_when_a_worker_can_be_reserved),
		cmocka_unit_test(test_skip_if_counts_available_activity_not_free_capacity),
		cmocka_unit_test(test_skip_if_counts_workers_by_activity_sid_and_unavailable),
		cmocka_unit_test(test_all_targets_skipped_without_default_cancels_with_workflow_skipped),
		cmocka_unit_test(test_task_skipping_every_target_still_qualifies_for_default_filter),
		cmocka_unit_test(test_target_priority_overrides_task_priority),
		cmocka_unit_test(test_target_without_priority_keeps_task_priority),
		cmocka_unit_test(test_higher_priority_task_is_offered_first_then_oldest),
		cmocka_unit_test(test_fifo_queue_offers_oldest_task_first),
		cmocka_unit_test(test_lifo_queue_offers_newest_task_first_within_a_priority),
		cmocka_unit_test(test_queue_order_uses_task_age_not_time_in_queue),
		cmocka_unit_test(test_longest_idle_worker_is_reserved_first),
		cmocka_unit_test(test_worker_back_from_offline_queues_behind_idle_workers),
		cmocka_unit_test(test_worker_who_just_finished_a_task_queues_behind_idle_workers),
		cmocka_unit_test(test_order_by_decides_among_eligible_workers),
		cmocka_unit_test(test_worker_without_free_capacity_on_the_task_channel_is_passed_over),
		cmocka_unit_test(test_chat_capacity_two_takes_two_chats_voice_capacity_one_takes_one_call),
		cmocka_unit_test(test_unavailable_worker_gets_nothing_until_available),
		cmocka_unit_test(test_target_expression_matches_worker_against_task_attributes),
		cmocka_unit_test(test_known_worker_sid_target_reserves_only_that_worker),
		cmocka_unit_test(test_known_worker_friendly_name_target_reserves_that_worker),
		cmocka_unit_test(test_known_worker_target_without_the_attribute_waits_for_timeout),
		cmocka_unit_test(test_freed_worker_takes_best_waiting_task_across_its_queues),
		cmocka_unit_test(test_reject_moves_task_to_next_worker),
		cmocka_unit_test(test_rejecting_worker_is_not_offered_the_task_again_in_the_same_target),
		cmocka_unit_test(test_rejecting_worker_can_be_offered_the_task_in_the_next_target),
		cmocka_unit_test(test_reservation_timeout_moves_worker_to_timeout_activity_and_task_to_next_worker),
		cmocka_unit_test(test_timed_out_worker_is_not_offered_the_task_again_in_the_same_target),
		cmocka_unit_test(test_reject_with_worker_activity_sid_moves_the_worker),
		cmocka_unit_test(test_reject_without_activity_leaves_the_worker_in_its_activity),
		cmocka_unit_test(test_max_reserved_workers_reserves_several_and_first_accept_wins),
		cmocka_unit_test(test_multi_reserved_task_returns_to_pending_only_when_all_reservations_end),
		cmocka_unit_test(test_task_ttl_cancels_with_task_ttl_exceeded_and_cancels_reservations),
		cmocka_unit_test(test_task_ttl_does_not_cancel_an_assigned_task),
		cmocka_unit_test(test_reservation_and_assignment_activities_move_the_worker),
		cmocka_unit_test(test_reject_returns_worker_to_activity_before_reservation_activity),
		cmocka_unit_test(test_rescinded_worker_returns_to_activity_before_reservation_activity),
		cmocka_unit_test(test_canceled_task_returns_reserved_worker_to_previous_activity),
		cmocka_unit_test(test_accept_then_wrapup_then_complete),
		cmocka_unit_test(test_completing_frees_the_worker_for_the_next_task),
		cmocka_unit_test(test_attribute_update_reroutes_a_waiting_task),
		cmocka_unit_test(test_queue_target_workers_update_recomputes_membership),
		cmocka_unit_test(test_worker_attribute_update_changes_queue_membership),
		cmocka_unit_test(test_priority_update_reorders_waiting_tasks),
		cmocka_unit_test(test_capacity_increase_offers_a_waiting_task),
		cmocka_unit_test(test_skip_if_applies_when_a_timeout_escalates_into_the_target),
		cmocka_unit_test(test_expired_target_makes_no_new_reservations_while_others_are_pending),
		cmocka_unit_test(test_queue_statistics_follow_tasks_and_workers),
		cmocka_unit_test(test_longest_waiting_age_is_task_age_and_relative_age_is_time_in_queue),
		cmocka_unit_test(test_next_deadline_reports_the_earliest_live_timer),
		cmocka_unit_test(test_a_late_tick_fires_each_timer_at_its_own_time),
		cmocka_unit_test(test_next_deadline_follows_ttl_when_no_other_timer),
		cmocka_unit_test(test_finished_tasks_leave_no_stale_timers_behind),
		cmocka_unit_test(test_same_seed_and_inputs_give_same_sids_and_events),
		cmocka_unit_test(test_different_seed_gives_different_sids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
