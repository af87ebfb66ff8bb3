/*
 * test_core_ops.c - tests the routing core's resource ops (server/core_ops.c,
 * server/core_ops_tasks.c, server/core_args.c, server/core_workflow.c) through
 * swb_core_exec: bad input of every kind, delete rules, state transitions,
 * actor scopes, list filters and paging.
 *
 * Every rejected request is checked three ways: the returned code, a message
 * that starts with the op name and says what is wrong, and that NOTHING changed
 * (a dump of every list, the reservations and the last event seq is identical
 * before and after; a separate test checks that no SID was drawn either).
 *
 * JSON is written in a shorthand (see J()): ' stands for " and ` for '.
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

#define T0 1700000000000LL
#define SEC 1000LL
#define NO_WORKER "WK00000000000000000000000000000000"
#define NO_TASK "WT00000000000000000000000000000000"
#define NO_RES "WR00000000000000000000000000000000"
#define NO_ACTIVITY "WA00000000000000000000000000000000"

struct fx {
	swb_core *c;
	int64_t now;
	json_t *keep;
};

/* JSON from the shorthand, no formatting: ' becomes " and ` becomes '. */
static json_t *Jraw(const char *text)
{
	char *buf = strdup(text);
	assert_non_null(buf);
	for (char *p = buf; *p; p++)
		*p = *p == '\'' ? '"' : *p == '`' ? '\'' : *p;
	json_error_t je;
	json_t *j = json_loads(buf, JSON_DECODE_ANY, &je);
	if (!j)
		fail_msg("bad test JSON %s: %s", buf, je.text);
	free(buf);
	return j;
}

__attribute__((format(printf, 1, 2))) static json_t *J(const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof buf);
	return Jraw(buf);
}

static const char *keep(struct fx *f, const char *s)
{
	json_array_append_new(f->keep, json_string(s ? s : "(null)"));
	return json_string_value(json_array_get(f->keep, json_array_size(f->keep) - 1));
}

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

static const char *create(struct fx *f, const char *op, json_t *args)
{
	json_t *r = exec(f, op, args);
	const char *sid = keep(f, json_string_value(json_object_get(r, "sid")));
	json_decref(r);
	return sid;
}

static const char *field(struct fx *f, const char *op, const char *sid, const char *key)
{
	json_t *r = exec(f, op, json_pack("{s:s}", "sid", sid));
	const char *v = keep(f, json_string_value(json_object_get(r, key)));
	json_decref(r);
	return v;
}

static const char *sid_of(struct fx *f, const char *op, const char *name)
{
	return field(f, op, name, "sid");
}

static void advance(struct fx *f, int64_t ms)
{
	f->now += ms;
	swb_core_tick(f->c, f->now);
}

/* Everything a client could read, plus the event seq, as one string (malloc'd). */
static char *state_dump(struct fx *f)
{
	static const char *const lists[] = { "activities.list",
					     "task_channels.list",
					     "workers.list",
					     "task_queues.list",
					     "workflows.list",
					     "tasks.list",
					     NULL };
	json_t *all = json_object();
	for (const char *const *op = lists; *op; op++)
		json_object_set_new(all, *op, exec(f, *op, json_pack("{s:i}", "page_size", 1000)));
	json_object_set_new(all, "workspace", exec(f, "workspace.fetch", NULL));
	json_object_set_new(all, "workspace.stats", exec(f, "workspace.stats", NULL));
	size_t i;
	json_t *w;
	json_t *res = json_object();
	json_array_foreach(json_object_get(json_object_get(all, "workers.list"), "workers"), i, w) {
		const char *sid = json_string_value(json_object_get(w, "sid"));
		json_object_set_new(res, sid, exec(f, "reservations.list", json_pack("{s:s}", "worker_sid", sid)));
		char key[64];
		snprintf(key, sizeof key, "%s/channels", sid);
		json_object_set_new(res, key, exec(f, "workers.channels.list", json_pack("{s:s}", "sid", sid)));
	}
	json_object_set_new(all, "reservations", res);
	json_t *q;
	json_t *stats = json_object();
	json_array_foreach(json_object_get(json_object_get(all, "task_queues.list"), "task_queues"), i, q) {
		const char *sid = json_string_value(json_object_get(q, "sid"));
		json_object_set_new(stats, sid, exec(f, "task_queues.stats", json_pack("{s:s}", "sid", sid)));
	}
	json_object_set_new(all, "queue_stats", stats);
	json_object_set_new(all, "seq", json_integer((json_int_t)swb_core_last_seq(f->c)));
	json_object_set_new(all, "next_deadline", json_integer(swb_core_next_deadline(f->c)));
	char *s = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(all);
	return s;
}

/*
 * Runs op as actor, which must fail with code and a message that starts with
 * "op: " and contains want, and must change nothing. args are stolen.
 */
static void expect_fail_(struct fx *f, const struct swb_actor *actor, enum swb_code code, const char *op, json_t *args,
			 const char *want, const char *file, int line)
{
	char *before = state_dump(f);
	json_t *res = (json_t *)&res; /* a sentinel: must be left untouched */
	struct swb_err err = { 0 };
	char *shown = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
	enum swb_code rc = swb_core_exec(f->c, f->now, actor, op, args, &res, &err);
	json_decref(args);
	if (rc != code)
		fail_msg("%s:%d: %s %s: got %s (%s), want %s", file, line, op, shown, swb_code_name(rc),
			 rc ? err.msg : "", swb_code_name(code));
	if (res != (json_t *)&res)
		fail_msg("%s:%d: %s: a failed op stored a result", file, line, op);
	if (err.code != code)
		fail_msg("%s:%d: %s: err.code is %s", file, line, op, swb_code_name(err.code));
	size_t oplen = strlen(op);
	if (strncmp(err.msg, op, oplen) != 0 || strncmp(err.msg + oplen, ": ", 2) != 0)
		fail_msg("%s:%d: message \"%s\" does not start with \"%s: \"", file, line, err.msg, op);
	if (!strstr(err.msg, want))
		fail_msg("%s:%d: %s %s:\n  message \"%s\"\n  lacks   \"%s\"", file, line, op, shown, err.msg, want);
	char *after = state_dump(f);
	if (strcmp(before, after) != 0)
		fail_msg("%s:%d: %s %s was rejected but changed the state", file, line, op, shown);
	free(before);
	free(after);
	free(shown);
}
#define EXPECT_FAIL(f, code, op, args, want) expect_fail_((f), NULL, (code), (op), (args), (want), __FILE__, __LINE__)
#define EXPECT_FAIL_AS(f, actor, code, op, args, want) \
	expect_fail_((f), (actor), (code), (op), (args), (want), __FILE__, __LINE__)

/*
 * The office: activities Offline, Available, Unavailable, Break (defaults) and
 * Reserved; queues Sales (skills HAS sales, reservation activity Reserved) and
 * Support; workers alice (sales) and bob (sales, support) Available, carol
 * (support) Offline; workflow Main (department -> queue, default Sales), 30 s
 * reservations.
 */
static struct fx *office_seeded(uint64_t seed)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->now = T0;
	f->keep = json_array();
	struct swb_core_opts o = { .seed = seed, .now_ms = T0 };
	f->c = swb_core_new(&o);
	create(f, "activities.create", J("{'friendly_name': 'Reserved', 'available': false}"));
	create(f, "task_queues.create", J("{'friendly_name': 'Sales', 'target_workers': 'skills HAS `sales`',"
					  " 'reservation_activity_sid': 'Reserved'}"));
	create(f, "task_queues.create", J("{'friendly_name': 'Support', 'target_workers': 'skills HAS `support`'}"));
	create(f, "workers.create",
	       J("{'friendly_name': 'alice', 'attributes': {'skills': ['sales']}, 'activity_sid': 'Available'}"));
	advance(f, SEC);
	create(f, "workers.create",
	       J("{'friendly_name': 'bob', 'attributes': {'skills': ['sales', 'support']},"
		 " 'activity_sid': 'Available'}"));
	advance(f, SEC);
	create(f, "workers.create", J("{'friendly_name': 'carol', 'attributes': {'skills': ['support']}}"));
	advance(f, SEC);
	create(f, "workflows.create",
	       J("{'friendly_name': 'Main', 'task_reservation_timeout': 30, 'configuration': {"
		 "'task_routing': {'filters': ["
		 "  {'filter_friendly_name': 'Sales', 'expression': 'department == `sales`',"
		 "   'targets': [{'queue': 'Sales'}]},"
		 "  {'filter_friendly_name': 'Support', 'expression': 'department == `support`',"
		 "   'targets': [{'queue': 'Support'}]}],"
		 " 'default_filter': {'queue': 'Sales'}}}}"));
	return f;
}

static struct fx *office(void)
{
	return office_seeded(1);
}

static void fx_free(struct fx *f)
{
	swb_core_free(f->c);
	json_decref(f->keep);
	free(f);
}

static const char *add_task(struct fx *f, const char *department)
{
	return create(f, "tasks.create", J("{'attributes': {'department': '%s'}}", department));
}

static const char *pending_res(struct fx *f, const char *task)
{
	json_t *r = exec(f, "reservations.list", J("{'task_sid': '%s', 'reservation_status': 'pending'}", task));
	json_t *list = json_object_get(r, "reservations");
	if (json_array_size(list) != 1)
		fail_msg("task %s has %zu pending reservations", task, json_array_size(list));
	const char *sid = keep(f, json_string_value(json_object_get(json_array_get(list, 0), "sid")));
	json_decref(r);
	return sid;
}

static void set_res(struct fx *f, const char *res, const char *status)
{
	run(f, "reservations.update", json_pack("{s:s, s:s}", "sid", res, "reservation_status", status));
}

static json_int_t list_total(struct fx *f, const char *op, json_t *args)
{
	json_t *r = exec(f, op, args);
	json_int_t n = json_integer_value(json_object_get(json_object_get(r, "meta"), "total"));
	json_decref(r);
	return n;
}

/* "a,b,c": the field of each listed item, in list order. */
static const char *list_names(struct fx *f, const char *op, const char *key, const char *item_field, json_t *args)
{
	json_t *r = exec(f, op, args);
	char buf[1024] = "";
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(r, key), i, it) {
		size_t len = strlen(buf);
		snprintf(buf + len, sizeof buf - len, "%s%s", i ? "," : "",
			 json_string_value(json_object_get(it, item_field)));
	}
	json_decref(r);
	return keep(f, buf);
}

/* ---- every op: unknown arguments and non-object arguments -------------------- */

static void test_every_op_rejects_unknown_arguments(void **state)
{
	struct fx *f = office();
	size_t n = 0;
	for (const struct swb_op_info *op = swb_core_ops(); op->name; op++, n++)
		EXPECT_FAIL(f, SWB_EINVAL, op->name, J("{'bogus_arg': 1}"), "unknown argument 'bogus_arg'");
	assert_true(n >= 40);
	fx_free(f);
}

static void test_every_op_rejects_arguments_that_are_not_an_object(void **state)
{
	struct fx *f = office();
	for (const struct swb_op_info *op = swb_core_ops(); op->name; op++) {
		EXPECT_FAIL(f, SWB_EINVAL, op->name, json_array(), "arguments must be a JSON object");
		EXPECT_FAIL(f, SWB_EINVAL, op->name, json_string("{}"), "arguments must be a JSON object");
	}
	fx_free(f);
}

static void test_unknown_op_is_rejected(void **state)
{
	struct fx *f = office();
	char *before = state_dump(f);
	struct swb_err err = { 0 };
	assert_int_equal(swb_core_exec(f->c, f->now, NULL, "workers.explode", NULL, NULL, &err), SWB_EUNKNOWN);
	assert_non_null(strstr(err.msg, "unknown op 'workers.explode'"));
	assert_int_equal(swb_core_exec(f->c, f->now, NULL, NULL, NULL, NULL, &err), SWB_EUNKNOWN);
	assert_null(swb_core_op_find("workers.explode"));
	assert_non_null(swb_core_op_find("tasks.create"));
	char *after = state_dump(f);
	assert_string_equal(before, after);
	free(before);
	free(after);
	fx_free(f);
}

/* ---- the table of bad requests --------------------------------------------------- */

struct bad {
	const char *op;
	const char *args; /* shorthand JSON */
	enum swb_code code;
	const char *want; /* a substring of the message */
};

static const struct bad bad_requests[] = {
	/* missing required fields */
	{ "activities.create", "{'available': true}", SWB_EINVAL, "missing required argument 'friendly_name'" },
	{ "task_channels.create", "{'friendly_name': 'Fax'}", SWB_EINVAL, "missing required argument 'unique_name'" },
	{ "workers.create", "{'attributes': {}}", SWB_EINVAL, "missing required argument 'friendly_name'" },
	{ "workers.create", "{'friendly_name': ''}", SWB_EINVAL, "'friendly_name' must not be empty" },
	{ "task_queues.create", "{'target_workers': '1 == 1'}", SWB_EINVAL,
	  "missing required argument 'friendly_name'" },
	{ "workflows.create", "{'friendly_name': 'W2'}", SWB_EINVAL, "missing required argument 'configuration'" },
	{ "workers.fetch", "{}", SWB_EINVAL, "missing required argument 'sid'" },
	{ "tasks.update", "{'priority': 1}", SWB_EINVAL, "missing required argument 'sid'" },
	{ "workers.channels.update", "{'sid': 'alice', 'capacity': 2}", SWB_EINVAL,
	  "missing required argument 'channel'" },
	{ "reservations.list", "{}", SWB_EINVAL, "give 'task_sid' or 'worker_sid'" },
	/* wrong types */
	{ "workers.create", "{'friendly_name': 5}", SWB_EINVAL, "'friendly_name' must be a string" },
	{ "workers.create", "{'friendly_name': 'dave', 'attributes': 5}", SWB_EINVAL,
	  "'attributes' must be a JSON object or a string holding one" },
	{ "workers.create", "{'friendly_name': 'dave', 'attributes': '[1, 2]'}", SWB_EINVAL,
	  "'attributes' must be a JSON object" },
	{ "workers.create", "{'friendly_name': 'dave', 'attributes': '{`a`: 1'}", SWB_EINVAL,
	  "'attributes' is not valid JSON" },
	{ "workers.create", "{'friendly_name': 'dave', 'activity_sid': true}", SWB_EINVAL,
	  "'activity_sid' must be a string" },
	{ "workers.create", "{'friendly_name': 'dave', 'channels': ['chat']}", SWB_EINVAL,
	  "'channels' must be an object" },
	{ "workers.create", "{'friendly_name': 'dave', 'channels': {'chat': {'capacity': 'two'}}}", SWB_EINVAL,
	  "channels.chat: " },
	{ "workers.create", "{'friendly_name': 'dave', 'channels': {'chat': {'size': 2}}}", SWB_EINVAL,
	  "channels.chat: " },
	{ "workers.create", "{'friendly_name': 'dave', 'channels': {'fax': {'capacity': 1}}}", SWB_EINVAL,
	  "unknown task channel 'fax'" },
	{ "activities.create", "{'friendly_name': 'Lunch', 'available': 'yes'}", SWB_EINVAL,
	  "'available' must be true or false" },
	{ "task_queues.create", "{'friendly_name': 'Q', 'max_reserved_workers': 'two'}", SWB_EINVAL,
	  "'max_reserved_workers' must be an integer, got 'two'" },
	{ "task_queues.create", "{'friendly_name': 'Q', 'max_reserved_workers': 1.5}", SWB_EINVAL,
	  "'max_reserved_workers' must be an integer" },
	{ "task_queues.create", "{'friendly_name': 'Q', 'task_order': 'RANDOM'}", SWB_EINVAL,
	  "'task_order' must be FIFO or LIFO" },
	{ "task_queues.create", "{'friendly_name': 'Q', 'target_workers': ['a']}", SWB_EINVAL,
	  "'target_workers' must be a string" },
	{ "tasks.create", "{'priority': '1x'}", SWB_EINVAL, "'priority' must be an integer, got '1x'" },
	{ "tasks.create", "{'task_channel': 3}", SWB_EINVAL, "'task_channel' must be a string" },
	{ "tasks.list", "{'assignment_status': 5}", SWB_EINVAL, "'assignment_status' must be a string or an array" },
	{ "tasks.list", "{'assignment_status': 'pending,bogus'}", SWB_EINVAL, "unknown assignment_status 'bogus'" },
	{ "tasks.list", "{'assignment_status': ['pending', 3]}", SWB_EINVAL, "'assignment_status' must hold strings" },
	{ "tasks.list", "{'ordering': 'Age:asc'}", SWB_EINVAL, "'ordering' must be" },
	{ "reservations.list", "{'worker_sid': 'alice', 'reservation_status': 'lost'}", SWB_EINVAL,
	  "unknown reservation_status 'lost'" },
	{ "workspace.update", "{'event_callback_url': 'ftp://example.com/x'}", SWB_EINVAL,
	  "'event_callback_url' must be an http:// or https:// URL" },
	{ "workspace.update", "{'events_filter': 5}", SWB_EINVAL,
	  "'events_filter' must be a comma-separated string or an array" },
	{ "workspace.update", "{'events_filter': ['task.created', 5]}", SWB_EINVAL,
	  "'events_filter' must hold event type strings" },
	{ "workspace.update", "{'multi_task_enabled': 1}", SWB_EINVAL, "'multi_task_enabled' must be true or false" },
	{ "workflows.create", "{'friendly_name': 'W2', 'configuration': 5}", SWB_EINVAL,
	  "configuration must be a JSON object or a string holding one" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'assignment_callback_url': 'mailto:x', 'configuration': "
	  "{'task_routing': {'default_filter': {'queue': 'Sales'}}}}",
	  SWB_EINVAL, "'assignment_callback_url' must be an http:// or https:// URL" },
	{ "route.preview", "{'attributes': 5}", SWB_EINVAL, "'attributes' must be a JSON object" },
	/* out of range */
	{ "task_queues.create", "{'friendly_name': 'Q', 'max_reserved_workers': 0}", SWB_EINVAL,
	  "'max_reserved_workers' must be between 1 and 50, got 0" },
	{ "task_queues.create", "{'friendly_name': 'Q', 'max_reserved_workers': 51}", SWB_EINVAL,
	  "'max_reserved_workers' must be between 1 and 50, got 51" },
	{ "task_queues.update", "{'sid': 'Sales', 'max_reserved_workers': 0}", SWB_EINVAL,
	  "'max_reserved_workers' must be between 1 and 50, got 0" },
	{ "tasks.create", "{'timeout': 0}", SWB_EINVAL, "'timeout' must be between 1 and 1209600, got 0" },
	{ "tasks.create", "{'timeout': 1209601}", SWB_EINVAL, "'timeout' must be between 1 and 1209600" },
	{ "tasks.create", "{'priority': -1}", SWB_EINVAL, "'priority' must be between 0 and 2147483647, got -1" },
	{ "tasks.create", "{'priority': 2147483648}", SWB_EINVAL, "'priority' must be between 0 and 2147483647" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'task_reservation_timeout': 0, 'configuration': "
	  "{'task_routing': {'default_filter': {'queue': 'Sales'}}}}",
	  SWB_EINVAL, "'task_reservation_timeout' must be between 1 and 86400, got 0" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'task_reservation_timeout': 86401, 'configuration': "
	  "{'task_routing': {'default_filter': {'queue': 'Sales'}}}}",
	  SWB_EINVAL, "'task_reservation_timeout' must be between 1 and 86400, got 86401" },
	{ "workers.channels.update", "{'sid': 'alice', 'channel': 'chat', 'capacity': -1}", SWB_EINVAL,
	  "'capacity' must be between 0 and 1000, got -1" },
	{ "workers.channels.update", "{'sid': 'alice', 'channel': 'chat', 'capacity': 1001}", SWB_EINVAL,
	  "'capacity' must be between 0 and 1000, got 1001" },
	{ "workers.create", "{'friendly_name': 'dave', 'channels': {'chat': {'capacity': -1}}}", SWB_EINVAL,
	  "channels.chat: capacity must be from 0 to 1000" },
	{ "workers.list", "{'page_size': 0}", SWB_EINVAL, "'page_size' must be between 1 and 1000, got 0" },
	{ "workers.list", "{'page_size': 1001}", SWB_EINVAL, "'page_size' must be between 1 and 1000, got 1001" },
	{ "tasks.list", "{'page': -1}", SWB_EINVAL, "'page' must be between 0" },
	/* duplicate names */
	{ "activities.create", "{'friendly_name': 'Available'}", SWB_ECONFLICT,
	  "an activity named 'Available' already exists" },
	{ "task_channels.create", "{'unique_name': 'voice'}", SWB_ECONFLICT,
	  "a task channel named 'voice' already exists" },
	{ "workers.create", "{'friendly_name': 'alice'}", SWB_ECONFLICT, "a worker named 'alice' already exists" },
	{ "task_queues.create", "{'friendly_name': 'Sales'}", SWB_ECONFLICT,
	  "a task queue named 'Sales' already exists" },
	{ "workflows.create",
	  "{'friendly_name': 'Main', 'configuration': {'task_routing': {'default_filter': {'queue': 'Sales'}}}}",
	  SWB_ECONFLICT, "a workflow named 'Main' already exists" },
	{ "workers.update", "{'sid': 'bob', 'friendly_name': 'alice'}", SWB_ECONFLICT,
	  "a worker named 'alice' already exists" },
	{ "task_queues.update", "{'sid': 'Support', 'friendly_name': 'Sales'}", SWB_ECONFLICT,
	  "a task queue named 'Sales' already exists" },
	{ "activities.update", "{'sid': 'Break', 'friendly_name': 'Offline'}", SWB_ECONFLICT,
	  "an activity named 'Offline' already exists" },
	/* unknown references */
	{ "workers.create", "{'friendly_name': 'dave', 'activity_sid': 'Lunch'}", SWB_ENOTFOUND,
	  "no activity 'Lunch'" },
	{ "workers.create", "{'friendly_name': 'dave', 'activity_sid': '" NO_ACTIVITY "'}", SWB_ENOTFOUND,
	  "no activity '" NO_ACTIVITY "'" },
	{ "workers.update", "{'sid': 'alice', 'activity_sid': 'Lunch'}", SWB_ENOTFOUND, "no activity 'Lunch'" },
	{ "workers.update", "{'sid': 'zed', 'activity_sid': 'Break'}", SWB_ENOTFOUND, "no worker 'zed'" },
	{ "task_queues.create", "{'friendly_name': 'Q', 'reservation_activity_sid': 'Lunch'}", SWB_ENOTFOUND,
	  "no activity 'Lunch'" },
	{ "task_queues.create", "{'friendly_name': 'Q', 'assignment_activity_sid': 'Lunch'}", SWB_ENOTFOUND,
	  "no activity 'Lunch'" },
	{ "tasks.create", "{'workflow_sid': 'Nope'}", SWB_ENOTFOUND, "no workflow 'Nope'" },
	{ "tasks.create", "{'task_channel': 'fax'}", SWB_ENOTFOUND, "no task channel 'fax'" },
	{ "workers.fetch", "{'sid': '" NO_WORKER "'}", SWB_ENOTFOUND, "no worker '" NO_WORKER "'" },
	{ "tasks.fetch", "{'sid': '" NO_TASK "'}", SWB_ENOTFOUND, "no task '" NO_TASK "'" },
	{ "tasks.fetch", "{'sid': '" NO_WORKER "'}", SWB_ENOTFOUND, "no task '" NO_WORKER "'" },
	{ "reservations.fetch", "{'sid': '" NO_RES "'}", SWB_ENOTFOUND, "no reservation '" NO_RES "'" },
	{ "reservations.update", "{'sid': '" NO_RES "', 'reservation_status': 'accepted'}", SWB_ENOTFOUND,
	  "no reservation" },
	{ "reservations.list", "{'worker_sid': '" NO_WORKER "'}", SWB_ENOTFOUND, "no worker '" NO_WORKER "'" },
	{ "reservations.list", "{'task_sid': '" NO_TASK "'}", SWB_ENOTFOUND, "no task '" NO_TASK "'" },
	{ "workers.list", "{'task_queue_sid': 'Nope'}", SWB_ENOTFOUND, "no task queue 'Nope'" },
	{ "task_queues.list", "{'worker_sid': 'zed'}", SWB_ENOTFOUND, "no worker 'zed'" },
	{ "task_queues.stats", "{'sid': 'Nope'}", SWB_ENOTFOUND, "no task queue 'Nope'" },
	{ "workspace.update", "{'default_activity_sid': 'Lunch'}", SWB_ENOTFOUND, "no activity 'Lunch'" },
	{ "workspace.update", "{'timeout_activity_sid': 'Lunch'}", SWB_ENOTFOUND, "no activity 'Lunch'" },
	{ "activities.delete", "{'sid': 'Lunch'}", SWB_ENOTFOUND, "no activity 'Lunch'" },
	{ "workflows.delete", "{'sid': 'Nope'}", SWB_ENOTFOUND, "no workflow 'Nope'" },
	{ "workers.channels.update", "{'sid': 'alice', 'channel': 'fax', 'capacity': 2}", SWB_ENOTFOUND,
	  "no task channel 'fax'" },
	{ "task_channels.delete", "{'sid': 'fax'}", SWB_ENOTFOUND, "no task channel 'fax'" },
	/* bad expressions: the message says where */
	{ "task_queues.create", "{'friendly_name': 'Q', 'target_workers': 'skills HAS'}", SWB_EINVAL,
	  "target_workers: column 11: expected a value after 'HAS'" },
	{ "task_queues.update", "{'sid': 'Sales', 'target_workers': '(skills HAS `sales`'}", SWB_EINVAL,
	  "target_workers: column 20: expected AND, OR or ')' to close the '(' at column 1" },
	{ "workers.list", "{'target_workers_expression': 'level >'}", SWB_EINVAL,
	  "target_workers_expression: column 8: expected a value after '>'" },
	{ "tasks.list", "{'evaluate_task_attributes': 'a IN [1,'}", SWB_EINVAL,
	  "evaluate_task_attributes: column 9: expected a value after ','" },
	{ "task_queues.list", "{'evaluate_worker_attributes': 5}", SWB_EINVAL, "'evaluate_worker_attributes' must be" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': {'task_routing': {'filters': ["
	  "{'filter_friendly_name': 'Bad', 'expression': 'department ==', 'targets': [{'queue': 'Sales'}]}]}}}",
	  SWB_EINVAL, "configuration: filters[0] 'Bad': expression: column 14: expected a value after '=='" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': {'task_routing': {'filters': ["
	  "{'filter_friendly_name': 'F', 'expression': '1 == 1', 'targets': [{'queue': 'Sales'},"
	  " {'queue': 'Support', 'expression': 'worker.level >> 2'}]}]}}}",
	  SWB_EINVAL,
	  "configuration: filters[0] 'F': targets[1]: expression: column 15: expected a value after '>', found '>'" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': {'task_routing': {'filters': ["
	  "{'expression': '1 == 1', 'targets': [{'queue': 'Sales', 'skip_if': 'workers.available =='}]}]}}}",
	  SWB_EINVAL, "configuration: filters[0] 'filter 0': targets[0]: skip_if: column 21: " },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': {'task_routing': {"
	  "'default_filter': {'queue': 'Sales', 'order_by': 'worker.level SIDEWAYS'}}}}",
	  SWB_EINVAL, "configuration: default_filter: order_by: column " },
	/* malformed configuration */
	{ "workflows.create", "{'friendly_name': 'W2', 'configuration': '{\\'task_routing\\': '}", SWB_EINVAL,
	  "configuration is not valid JSON" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': '{\\'task_routing\\': {}, \\'task_routing\\': {}}'}", SWB_EINVAL,
	  "configuration is not valid JSON" },
	{ "workflows.create", "{'friendly_name': 'W2', 'configuration': {}}", SWB_EINVAL,
	  "configuration must be {\"task_routing\": {...}}" },
	{ "workflows.create", "{'friendly_name': 'W2', 'configuration': {'task_routing': {}, 'x': 1}}", SWB_EINVAL,
	  "configuration must be {\"task_routing\": {...}}" },
	{ "workflows.create", "{'friendly_name': 'W2', 'configuration': {'task_routing': []}}", SWB_EINVAL,
	  "'task_routing' must be an object" },
	{ "workflows.create", "{'friendly_name': 'W2', 'configuration': {'task_routing': {}}}", SWB_EINVAL,
	  "needs at least one filter or a default_filter" },
	{ "workflows.create", "{'friendly_name': 'W2', 'configuration': {'task_routing': {'filters': {}}}}", SWB_EINVAL,
	  "'filters' must be an array" },
	{ "workflows.create", "{'friendly_name': 'W2', 'configuration': {'task_routing': {'routes': []}}}", SWB_EINVAL,
	  "unknown field 'routes'" },
	{ "workflows.create", "{'friendly_name': 'W2', 'configuration': {'task_routing': {'filters': [5]}}}",
	  SWB_EINVAL, "filters[0]: must be an object" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': {'task_routing': {'filters': ["
	  "{'filter_friendly_name': 'F', 'targets': [{'queue': 'Sales'}]}]}}}",
	  SWB_EINVAL, "filters[0] 'F': missing 'expression'" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': {'task_routing': {'filters': ["
	  "{'filter_friendly_name': 'F', 'expression': '1 == 1', 'targets': []}]}}}",
	  SWB_EINVAL, "filters[0] 'F': 'targets' must be a non-empty array" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': {'task_routing': {'filters': ["
	  "{'filter_friendly_name': 'F', 'expression': '1 == 1', 'targets': [{'queue': 'Suport'}]}]}}}",
	  SWB_EINVAL, "filters[0] 'F': targets[0]: unknown queue 'Suport'" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': {'task_routing': {'filters': ["
	  "{'filter_friendly_name': 'F', 'expression': '1 == 1', 'targets': [{'expression': '1 == 1'}]}]}}}",
	  SWB_EINVAL, "filters[0] 'F': targets[0]: missing 'queue'" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': {'task_routing': {'filters': ["
	  "{'filter_friendly_name': 'F', 'expression': '1 == 1', 'targets': [{'queue_name': 'Sales'}]}]}}}",
	  SWB_EINVAL, "filters[0] 'F': targets[0]: unknown field 'queue_name'" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': {'task_routing': {'filters': ["
	  "{'filter_friendly_name': 'F', 'expression': '1 == 1', 'targets': [{'queue': 'Sales', 'timeout': 0}]}]}}}",
	  SWB_EINVAL, "filters[0] 'F': targets[0]: 'timeout' must be an integer from 1" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': {'task_routing': {'filters': ["
	  "{'filter_friendly_name': 'F', 'expression': '1 == 1', 'targets': [{'queue': 'Sales', 'priority': -1}]}]}}}",
	  SWB_EINVAL, "filters[0] 'F': targets[0]: 'priority' must be an integer from 0" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': {'task_routing': {'filters': ["
	  "{'filter_friendly_name': 'F', 'expression': '1 == 1', 'targets': [{'queue': 'Sales',"
	  " 'known_worker_sid': 'task.a', 'known_worker_friendly_name': 'task.b'}]}]}}}",
	  SWB_EINVAL, "give known_worker_sid or known_worker_friendly_name, not both" },
	{ "workflows.create",
	  "{'friendly_name': 'W2', 'configuration': {'task_routing': {'default_filter': {'queue': 'Nope'}}}}",
	  SWB_EINVAL, "configuration: default_filter: unknown queue 'Nope'" },
	{ "workflows.update",
	  "{'sid': 'Main', 'configuration': {'task_routing': {'default_filter': {'queue': 'Nope'}}}}", SWB_EINVAL,
	  "configuration: default_filter: unknown queue 'Nope'" },
	/* an early failure must not leave later references unread-but-used (these crashed once) */
	{ "workspace.update", "{'friendly_name': 5, 'default_activity_sid': 'Break'}", SWB_EINVAL,
	  "'friendly_name' must be a string" },
	{ "workers.create", "{'friendly_name': 'alice', 'activity_sid': 'Break'}", SWB_ECONFLICT, "already exists" },
	{ "workers.update", "{'sid': 'zed', 'activity_sid': 'Break'}", SWB_ENOTFOUND, "no worker 'zed'" },
	{ "workers.list", "{'activity_sid': 5, 'task_queue_sid': 'Sales'}", SWB_EINVAL,
	  "'activity_sid' must be a string" },
	{ "task_queues.list", "{'friendly_name': 5, 'worker_sid': 'alice'}", SWB_EINVAL,
	  "'friendly_name' must be a string" },
	{ "reservations.list", "{'task_sid': 5, 'worker_sid': 'alice'}", SWB_EINVAL, "'task_sid' must be a string" },
	{ "reservations.update",
	  "{'sid': '" NO_RES "', 'reservation_status': 'accepted', 'worker_activity_sid': 'Break'}", SWB_ENOTFOUND,
	  "no reservation" },
	/* attributes as a JSON string */
	{ "tasks.create", "{'attributes': '{\\'department\\': 1} trailing'}", SWB_EINVAL,
	  "'attributes' is not valid JSON" },
};

static void test_bad_requests_are_rejected_with_a_message_and_change_nothing(void **state)
{
	struct fx *f = office();
	for (size_t i = 0; i < sizeof bad_requests / sizeof bad_requests[0]; i++) {
		const struct bad *b = &bad_requests[i];
		expect_fail_(f, NULL, b->code, b->op, Jraw(b->args), b->want, "bad_requests[]", (int)i);
	}
	fx_free(f);
}

static void test_oversized_names_and_attributes_are_too_large(void **state)
{
	struct fx *f = office();
	char name[300];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	EXPECT_FAIL(f, SWB_ETOOBIG, "workers.create", json_pack("{s:s}", "friendly_name", name),
		    "'friendly_name' is longer than 256 bytes");
	size_t big = 70 * 1024;
	char *blob = malloc(big + 1);
	memset(blob, 'x', big);
	blob[big] = '\0';
	EXPECT_FAIL(f, SWB_ETOOBIG, "tasks.create", json_pack("{s:{s:s}}", "attributes", "blob", blob),
		    "'attributes' is larger than 65536 bytes");
	free(blob);
	fx_free(f);
}

/* A rejected request must not even draw a SID: replaying only the accepted ones gives the same SIDs. */
static void test_rejected_requests_draw_no_sids(void **state)
{
	struct fx *f = office_seeded(9), *twin = office_seeded(9);
	for (size_t i = 0; i < sizeof bad_requests / sizeof bad_requests[0]; i++) {
		json_t *args = Jraw(bad_requests[i].args);
		struct swb_err err;
		assert_int_not_equal(swb_core_exec(f->c, f->now, NULL, bad_requests[i].op, args, NULL, &err), SWB_OK);
		json_decref(args);
	}
	const char *a = create(f, "activities.create", J("{'friendly_name': 'Lunch'}"));
	const char *b = create(twin, "activities.create", J("{'friendly_name': 'Lunch'}"));
	assert_string_equal(a, b);
	assert_int_equal(swb_core_last_seq(f->c), swb_core_last_seq(twin->c));
	fx_free(f);
	fx_free(twin);
}

static void test_attributes_may_be_given_as_a_json_string(void **state)
{
	struct fx *f = office();
	const char *w = create(f, "workers.create",
			       J("{'friendly_name': 'dave', 'attributes': '{\\'skills\\': [\\'support\\']}'}"));
	assert_string_equal(field(f, "workers.fetch", w, "attributes"), "{\"skills\":[\"support\"]}");
	assert_int_equal(list_total(f, "workers.list", J("{'task_queue_name': 'Support'}")), 3);
	fx_free(f);
}

/* ---- delete rules -------------------------------------------------------------- */

static void test_queue_referenced_by_a_workflow_cannot_be_deleted(void **state)
{
	struct fx *f = office();
	EXPECT_FAIL(f, SWB_ECONFLICT, "task_queues.delete", J("{'sid': 'Sales'}"),
		    "task queue 'Sales' is a target of a workflow");
	run(f, "workflows.delete", J("{'sid': 'Main'}"));
	run(f, "task_queues.delete", J("{'sid': 'Sales'}"));
	assert_int_equal(list_total(f, "task_queues.list", NULL), 1);
	EXPECT_FAIL(f, SWB_ENOTFOUND, "task_queues.fetch", J("{'sid': 'Sales'}"), "no task queue 'Sales'");
	fx_free(f);
}

static void test_queue_dropped_from_a_workflow_update_can_be_deleted(void **state)
{
	struct fx *f = office();
	run(f, "workflows.update",
	    J("{'sid': 'Main', 'configuration': {'task_routing': {'default_filter': {'queue': 'Sales'}}}}"));
	run(f, "task_queues.delete", J("{'sid': 'Support'}"));
	EXPECT_FAIL(f, SWB_ECONFLICT, "task_queues.delete", J("{'sid': 'Sales'}"), "is a target of a workflow");
	fx_free(f);
}

static void test_activity_in_use_cannot_be_deleted(void **state)
{
	struct fx *f = office();
	EXPECT_FAIL(f, SWB_ECONFLICT, "activities.delete", J("{'sid': 'Available'}"), "activity 'Available' is in use");
	EXPECT_FAIL(f, SWB_ECONFLICT, "activities.delete", J("{'sid': 'Offline'}"), "activity 'Offline' is in use");
	EXPECT_FAIL(f, SWB_ECONFLICT, "activities.delete", J("{'sid': 'Reserved'}"), "activity 'Reserved' is in use");
	run(f, "workspace.update", J("{'timeout_activity_sid': 'Break'}"));
	EXPECT_FAIL(f, SWB_ECONFLICT, "activities.delete", J("{'sid': 'Break'}"), "activity 'Break' is in use");
	run(f, "activities.delete", J("{'sid': 'Unavailable'}"));
	EXPECT_FAIL(f, SWB_ENOTFOUND, "activities.fetch", J("{'sid': 'Unavailable'}"), "no activity 'Unavailable'");
	assert_int_equal(list_total(f, "activities.list", NULL), 4);
	fx_free(f);
}

static void test_worker_with_a_pending_reservation_cannot_be_deleted(void **state)
{
	struct fx *f = office();
	const char *t = add_task(f, "sales");
	const char *res = pending_res(f, t);
	assert_string_equal(field(f, "reservations.fetch", res, "worker_name"), "alice");
	EXPECT_FAIL(f, SWB_ECONFLICT, "workers.delete", J("{'sid': 'alice'}"),
		    "worker 'alice' has pending or assigned reservations");
	set_res(f, res, "rejected");
	run(f, "workers.delete", J("{'sid': 'alice'}"));
	assert_int_equal(list_total(f, "workers.list", NULL), 2);
	fx_free(f);
}

static void test_worker_with_an_assigned_task_cannot_be_deleted(void **state)
{
	struct fx *f = office();
	const char *t = add_task(f, "support");
	set_res(f, pending_res(f, t), "accepted");
	EXPECT_FAIL(f, SWB_ECONFLICT, "workers.delete", J("{'sid': 'bob'}"),
		    "worker 'bob' has pending or assigned reservations");
	fx_free(f);
}

static void test_workflow_with_live_tasks_cannot_be_deleted(void **state)
{
	struct fx *f = office();
	const char *t = add_task(f, "sales");
	EXPECT_FAIL(f, SWB_ECONFLICT, "workflows.delete", J("{'sid': 'Main'}"), "workflow 'Main' still has tasks");
	run(f, "tasks.update", J("{'sid': '%s', 'assignment_status': 'canceled'}", t));
	advance(f, 300 * SEC); /* the canceled task is purged */
	run(f, "workflows.delete", J("{'sid': 'Main'}"));
	assert_int_equal(list_total(f, "workflows.list", NULL), 0);
	fx_free(f);
}

static void test_channel_used_by_tasks_cannot_be_deleted(void **state)
{
	struct fx *f = office();
	create(f, "tasks.create", J("{'task_channel': 'chat'}"));
	EXPECT_FAIL(f, SWB_ECONFLICT, "task_channels.delete", J("{'sid': 'chat'}"),
		    "task channel 'chat' is used by tasks");
	run(f, "task_channels.delete", J("{'sid': 'video'}"));
	assert_int_equal(list_total(f, "task_channels.list", NULL), 4);
	fx_free(f);
}

/* ---- state transitions ------------------------------------------------------------ */

static void test_assigned_task_cannot_be_canceled(void **state)
{
	struct fx *f = office();
	const char *t = add_task(f, "sales");
	set_res(f, pending_res(f, t), "accepted");
	EXPECT_FAIL(f, SWB_ESTATE, "tasks.update", J("{'sid': '%s', 'assignment_status': 'canceled'}", t),
		    "a task can be canceled only while pending or reserved; it is assigned");
	fx_free(f);
}

static void test_pending_task_cannot_be_completed_or_wrapped(void **state)
{
	struct fx *f = office();
	run(f, "workers.update", J("{'sid': 'alice', 'activity_sid': 'Offline'}"));
	run(f, "workers.update", J("{'sid': 'bob', 'activity_sid': 'Offline'}"));
	const char *t = add_task(f, "sales");
	assert_string_equal(field(f, "tasks.fetch", t, "assignment_status"), "pending");
	EXPECT_FAIL(f, SWB_ESTATE, "tasks.update", J("{'sid': '%s', 'assignment_status': 'completed'}", t),
		    "only an assigned or wrapping task can be completed; it is pending");
	EXPECT_FAIL(f, SWB_ESTATE, "tasks.update", J("{'sid': '%s', 'assignment_status': 'wrapping'}", t),
		    "only an assigned task can move to wrapping; it is pending");
	EXPECT_FAIL(f, SWB_EINVAL, "tasks.update", J("{'sid': '%s', 'assignment_status': 'assigned'}", t),
		    "'assignment_status' must be canceled, wrapping or completed");
	fx_free(f);
}

static void test_finished_task_cannot_change(void **state)
{
	struct fx *f = office();
	const char *t = add_task(f, "sales");
	run(f, "tasks.update", J("{'sid': '%s', 'assignment_status': 'canceled'}", t));
	EXPECT_FAIL(f, SWB_ESTATE, "tasks.update", J("{'sid': '%s', 'attributes': {'a': 1}}", t),
		    "is canceled and can no longer change");
	EXPECT_FAIL(f, SWB_ESTATE, "tasks.update", J("{'sid': '%s', 'priority': 4}", t),
		    "is canceled and can no longer change");
	EXPECT_FAIL(f, SWB_ESTATE, "tasks.update", J("{'sid': '%s', 'assignment_status': 'canceled'}", t),
		    "it is canceled");
	fx_free(f);
}

static void test_rescinded_reservation_cannot_be_accepted(void **state)
{
	struct fx *f = office();
	run(f, "task_queues.update", J("{'sid': 'Sales', 'max_reserved_workers': 2}"));
	const char *t = add_task(f, "sales");
	json_t *r = exec(f, "reservations.list", J("{'task_sid': '%s'}", t));
	json_t *list = json_object_get(r, "reservations");
	assert_int_equal(json_array_size(list), 2);
	const char *first = keep(f, json_string_value(json_object_get(json_array_get(list, 0), "sid")));
	const char *second = keep(f, json_string_value(json_object_get(json_array_get(list, 1), "sid")));
	json_decref(r);
	set_res(f, second, "accepted");
	assert_string_equal(field(f, "reservations.fetch", first, "reservation_status"), "rescinded");
	EXPECT_FAIL(f, SWB_ESTATE, "reservations.update", J("{'sid': '%s', 'reservation_status': 'accepted'}", first),
		    "was rescinded: another worker accepted the task");
	EXPECT_FAIL(f, SWB_ESTATE, "reservations.update", J("{'sid': '%s', 'reservation_status': 'rejected'}", first),
		    "was rescinded");
	fx_free(f);
}

static void test_timed_out_reservation_cannot_be_accepted(void **state)
{
	struct fx *f = office();
	const char *t = add_task(f, "sales");
	const char *res = pending_res(f, t);
	/* the accept arrives exactly at the deadline: the timeout fires first */
	f->now += 30 * SEC;
	EXPECT_FAIL(f, SWB_ESTATE, "reservations.update", J("{'sid': '%s', 'reservation_status': 'accepted'}", res),
		    "is timeout, not pending");
	fx_free(f);
}

static void test_reservation_status_changes_out_of_order_are_rejected(void **state)
{
	struct fx *f = office();
	const char *t = add_task(f, "sales");
	const char *res = pending_res(f, t);
	EXPECT_FAIL(f, SWB_ESTATE, "reservations.update", J("{'sid': '%s', 'reservation_status': 'completed'}", res),
		    "only an accepted or wrapping one can complete");
	EXPECT_FAIL(f, SWB_ESTATE, "reservations.update", J("{'sid': '%s', 'reservation_status': 'wrapping'}", res),
		    "only an accepted one can wrap up");
	EXPECT_FAIL(f, SWB_EINVAL, "reservations.update", J("{'sid': '%s', 'reservation_status': 'pending'}", res),
		    "'reservation_status' must be accepted, rejected, wrapping or completed");
	EXPECT_FAIL(f, SWB_EINVAL, "reservations.update", J("{'sid': '%s'}", res),
		    "missing required argument 'reservation_status'");
	EXPECT_FAIL(f, SWB_ENOTFOUND, "reservations.update",
		    J("{'sid': '%s', 'reservation_status': 'rejected', 'worker_activity_sid': 'Lunch'}", res),
		    "no activity 'Lunch'");
	set_res(f, res, "accepted");
	EXPECT_FAIL(f, SWB_ESTATE, "reservations.update", J("{'sid': '%s', 'reservation_status': 'rejected'}", res),
		    "is accepted, not pending");
	EXPECT_FAIL(f, SWB_ESTATE, "reservations.update", J("{'sid': '%s', 'reservation_status': 'accepted'}", res),
		    "is accepted, not pending");
	fx_free(f);
}

/* ---- scopes ----------------------------------------------------------------------- */

static void test_worker_cannot_see_or_accept_another_workers_reservation(void **state)
{
	struct fx *f = office();
	const char *alice = sid_of(f, "workers.fetch", "alice");
	const char *t = add_task(f, "support");
	const char *res = pending_res(f, t); /* bob's */
	struct swb_actor as_alice = { SWB_ACTOR_WORKER, alice };
	EXPECT_FAIL_AS(f, &as_alice, SWB_EPERM, "reservations.fetch", J("{'sid': '%s'}", res),
		       "belongs to another worker");
	EXPECT_FAIL_AS(f, &as_alice, SWB_EPERM, "reservations.update",
		       J("{'sid': '%s', 'reservation_status': 'accepted'}", res), "belongs to another worker");
	EXPECT_FAIL_AS(f, &as_alice, SWB_EPERM, "reservations.list", J("{'task_sid': '%s', 'worker_sid': 'bob'}", t),
		       "a worker token may only list its own reservations");
	EXPECT_FAIL_AS(f, &as_alice, SWB_EPERM, "tasks.fetch", J("{'sid': '%s'}", t),
		       "may only see tasks reserved for it");
	EXPECT_FAIL_AS(f, &as_alice, SWB_EPERM, "tasks.update", J("{'sid': '%s', 'assignment_status': 'completed'}", t),
		       "may only see tasks reserved for it");
	/* bob may */
	struct swb_actor as_bob = { SWB_ACTOR_WORKER, sid_of(f, "workers.fetch", "bob") };
	json_decref(exec_as(f, &as_bob, "reservations.fetch", J("{'sid': '%s'}", res)));
	json_decref(exec_as(f, &as_bob, "tasks.fetch", J("{'sid': '%s'}", t)));
	/* a worker may name itself by name as well as by SID */
	json_t *mine = exec_as(f, &as_bob, "reservations.list", J("{'worker_sid': 'bob'}"));
	assert_int_equal(json_array_size(json_object_get(mine, "reservations")), 1);
	json_decref(mine);
	EXPECT_FAIL_AS(f, &as_bob, SWB_EPERM, "tasks.update", J("{'sid': '%s', 'assignment_status': 'canceled'}", t),
		       "a worker token may not cancel tasks");
	EXPECT_FAIL_AS(f, &as_bob, SWB_EPERM, "tasks.update", J("{'sid': '%s', 'assignment_status': 'completed'}", t),
		       "a worker may only wrap up or complete tasks it accepted");
	json_decref(exec_as(f, &as_bob, "reservations.update", J("{'sid': '%s', 'reservation_status': 'accepted'}", res)));
	json_decref(exec_as(f, &as_bob, "tasks.update", J("{'sid': '%s', 'assignment_status': 'completed'}", t)));
	assert_string_equal(field(f, "tasks.fetch", t, "assignment_status"), "completed");
	fx_free(f);
}

static void test_worker_cannot_create_tasks_or_change_configuration(void **state)
{
	struct fx *f = office();
	struct swb_actor as_alice = { SWB_ACTOR_WORKER, sid_of(f, "workers.fetch", "alice") };
	EXPECT_FAIL_AS(f, &as_alice, SWB_EPERM, "tasks.create", J("{'attributes': {}}"),
		       "tasks.create is not allowed with a worker token");
	EXPECT_FAIL_AS(f, &as_alice, SWB_EPERM, "workers.create", J("{'friendly_name': 'x'}"),
		       "not allowed with a worker token");
	EXPECT_FAIL_AS(f, &as_alice, SWB_EPERM, "task_queues.update", J("{'sid': 'Sales', 'max_reserved_workers': 2}"),
		       "not allowed with a worker token");
	EXPECT_FAIL_AS(f, &as_alice, SWB_EPERM, "workflows.list", NULL, "not allowed with a worker token");
	EXPECT_FAIL_AS(f, &as_alice, SWB_EPERM, "workspace.update", J("{'friendly_name': 'Mine'}"),
		       "not allowed with a worker token");
	fx_free(f);
}

static void test_worker_can_update_its_own_activity_only(void **state)
{
	struct fx *f = office();
	struct swb_actor as_alice = { SWB_ACTOR_WORKER, sid_of(f, "workers.fetch", "alice") };
	json_decref(exec_as(f, &as_alice, "workers.update", J("{'sid': 'alice', 'activity_sid': 'Break'}")));
	assert_string_equal(field(f, "workers.fetch", "alice", "activity_name"), "Break");
	EXPECT_FAIL_AS(f, &as_alice, SWB_EPERM, "workers.update", J("{'sid': 'bob', 'activity_sid': 'Break'}"),
		       "a worker token may only act on its own worker");
	EXPECT_FAIL_AS(f, &as_alice, SWB_EPERM, "workers.update", J("{'sid': 'alice', 'friendly_name': 'queen'}"),
		       "a worker token may not rename a worker");
	EXPECT_FAIL_AS(f, &as_alice, SWB_EPERM, "workers.fetch", J("{'sid': 'bob'}"), "may only act on its own worker");
	assert_string_equal(list_names(f, "workers.list", "workers", "friendly_name", NULL), "alice,bob,carol");
	json_t *mine = exec_as(f, &as_alice, "workers.list", NULL);
	assert_int_equal(json_array_size(json_object_get(mine, "workers")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(mine, "workers"), 0),
							      "friendly_name")), "alice");
	json_decref(mine);
	fx_free(f);
}

static void test_supervisor_reads_and_changes_activity_but_not_configuration(void **state)
{
	struct fx *f = office();
	struct swb_actor sup = { SWB_ACTOR_SUPERVISOR, NULL };
	const char *t = add_task(f, "sales");
	json_decref(exec_as(f, &sup, "workers.fetch", J("{'sid': 'carol'}")));
	json_decref(exec_as(f, &sup, "tasks.fetch", J("{'sid': '%s'}", t)));
	json_decref(exec_as(f, &sup, "workflows.list", NULL));
	json_decref(exec_as(f, &sup, "workspace.stats", NULL));
	json_decref(exec_as(f, &sup, "reservations.list", J("{'task_sid': '%s'}", t)));
	json_decref(exec_as(f, &sup, "workers.update", J("{'sid': 'carol', 'activity_sid': 'Available'}")));
	assert_string_equal(field(f, "workers.fetch", "carol", "activity_name"), "Available");
	EXPECT_FAIL_AS(f, &sup, SWB_EPERM, "workers.create", J("{'friendly_name': 'dave'}"),
		       "workers.create needs an admin token");
	EXPECT_FAIL_AS(f, &sup, SWB_EPERM, "workers.update", J("{'sid': 'carol', 'attributes': {'skills': []}}"),
		       "a supervisor may only change a worker's activity");
	EXPECT_FAIL_AS(f, &sup, SWB_EPERM, "workers.update", J("{'sid': 'carol', 'friendly_name': 'caroline'}"),
		       "a supervisor may only change a worker's activity");
	EXPECT_FAIL_AS(f, &sup, SWB_EPERM, "tasks.create", J("{'attributes': {}}"), "needs an admin token");
	EXPECT_FAIL_AS(f, &sup, SWB_EPERM, "tasks.update", J("{'sid': '%s', 'assignment_status': 'canceled'}", t),
		       "needs an admin token");
	EXPECT_FAIL_AS(f, &sup, SWB_EPERM, "reservations.update", J("{'sid': '%s', 'reservation_status': 'accepted'}",
								   pending_res(f, t)), "needs an admin token");
	EXPECT_FAIL_AS(f, &sup, SWB_EPERM, "workers.delete", J("{'sid': 'carol'}"), "needs an admin token");
	fx_free(f);
}

/* ---- lists -------------------------------------------------------------------------- */

static void test_list_paging_reports_total_and_slices_pages(void **state)
{
	struct fx *f = office();
	json_t *r = exec(f, "workers.list", J("{'page_size': 2}"));
	json_t *meta = json_object_get(r, "meta");
	assert_int_equal(json_integer_value(json_object_get(meta, "total")), 3);
	assert_int_equal(json_integer_value(json_object_get(meta, "page")), 0);
	assert_int_equal(json_integer_value(json_object_get(meta, "page_size")), 2);
	assert_string_equal(json_string_value(json_object_get(meta, "key")), "workers");
	json_decref(r);
	assert_string_equal(list_names(f, "workers.list", "workers", "friendly_name", J("{'page_size': 2}")),
			    "alice,bob");
	assert_string_equal(list_names(f, "workers.list", "workers", "friendly_name", J("{'page_size': 2, 'page': 1}")),
			    "carol");
	assert_string_equal(list_names(f, "workers.list", "workers", "friendly_name", J("{'page_size': 2, 'page': 5}")),
			    "");
	assert_string_equal(list_names(f, "workers.list", "workers", "friendly_name", J("{'page_size': '1', 'page': '2'}")),
			    "carol");
	assert_int_equal(list_total(f, "activities.list", J("{'available': true}")), 1);
	assert_int_equal(list_total(f, "activities.list", NULL), 5);
	assert_string_equal(list_names(f, "activities.list", "activities", "friendly_name", J("{'friendly_name': 'Break'}")),
			    "Break");
	fx_free(f);
}

static void test_workers_list_filters(void **state)
{
	struct fx *f = office();
	assert_string_equal(list_names(f, "workers.list", "workers", "friendly_name",
				       J("{'target_workers_expression': 'skills HAS `support`'}")), "bob,carol");
	assert_string_equal(list_names(f, "workers.list", "workers", "friendly_name",
			    J("{'target_workers_expression': 'skills HAS `sales` AND `support` IN skills'}")),
			    "bob");
	assert_string_equal(list_names(f, "workers.list", "workers", "friendly_name", J("{'available': true}")),
			    "alice,bob");
	assert_string_equal(list_names(f, "workers.list", "workers", "friendly_name", J("{'activity_name': 'Offline'}")), "carol");
	assert_string_equal(list_names(f, "workers.list", "workers", "friendly_name", J("{'task_queue_name': 'Sales'}")),
			    "alice,bob");
	assert_string_equal(list_names(f, "task_queues.list", "task_queues", "friendly_name", J("{'worker_sid': 'carol'}")),
			    "Support");
	assert_string_equal(list_names(f, "task_queues.list", "task_queues", "friendly_name",
				       J("{'evaluate_worker_attributes': {'skills': ['sales']}}")), "Sales");
	fx_free(f);
}

static void test_tasks_list_filters_by_status_queue_and_orders(void **state)
{
	struct fx *f = office();
	const char *t1 = create(f, "tasks.create", J("{'attributes': {'department': 'sales'}, 'priority': 1}"));
	advance(f, SEC);
	const char *t2 = create(f, "tasks.create", J("{'attributes': {'department': 'support'}, 'priority': 5}"));
	advance(f, SEC);
	const char *t3 = create(f, "tasks.create", J("{'attributes': {'department': 'sales'}, 'priority': 3}"));
	advance(f, SEC);
	const char *t4 = create(f, "tasks.create", J("{'attributes': {'department': 'sales'}}"));
	run(f, "tasks.update", J("{'sid': '%s', 'assignment_status': 'canceled', 'reason': 'gone'}", t4));
	assert_string_equal(field(f, "tasks.fetch", t1, "assignment_status"), "reserved");
	assert_string_equal(field(f, "tasks.fetch", t2, "assignment_status"), "reserved");
	assert_string_equal(field(f, "tasks.fetch", t3, "assignment_status"), "pending");
	set_res(f, pending_res(f, t2), "accepted");

	char want[200];
	snprintf(want, sizeof want, "%s,%s", t1, t3);
	assert_string_equal(list_names(f, "tasks.list", "tasks", "sid", J("{'assignment_status': 'pending,reserved'}")),
			    want);
	assert_string_equal(list_names(f, "tasks.list", "tasks", "sid", J("{'assignment_status': ['canceled']}")), t4);
	assert_string_equal(list_names(f, "tasks.list", "tasks", "sid", J("{'assignment_status': 'assigned'}")), t2);
	const char *sales = sid_of(f, "task_queues.fetch", "Sales");
	snprintf(want, sizeof want, "%s,%s,%s", t1, t3, t4);
	assert_string_equal(list_names(f, "tasks.list", "tasks", "sid", J("{'task_queue_sid': '%s'}", sales)), want);
	assert_string_equal(list_names(f, "tasks.list", "tasks", "sid", J("{'task_queue_name': 'Support'}")), t2);
	snprintf(want, sizeof want, "%s,%s", t2, t3);
	assert_string_equal(list_names(f, "tasks.list", "tasks", "sid",
			    J("{'evaluate_task_attributes': 'department == `support` OR department == `sales`',"
			    " 'assignment_status': 'assigned,pending'}")),
			    want);
	snprintf(want, sizeof want, "%s,%s,%s,%s", t2, t3, t1, t4);
	assert_string_equal(list_names(f, "tasks.list", "tasks", "sid", J("{'ordering': 'Priority:desc,DateCreated:asc'}")), want);
	snprintf(want, sizeof want, "%s,%s,%s,%s", t4, t3, t2, t1);
	assert_string_equal(list_names(f, "tasks.list", "tasks", "sid", J("{'ordering': 'DateCreated:desc'}")), want);
	snprintf(want, sizeof want, "%s,%s,%s,%s", t1, t2, t3, t4);
	assert_string_equal(list_names(f, "tasks.list", "tasks", "sid", J("{'ordering': 'DateCreated:asc'}")), want);
	assert_int_equal(list_total(f, "tasks.list", J("{'workflow_name': 'Main', 'page_size': 1}")), 4);
	fx_free(f);
}

static void test_reservations_list_filters_by_status_and_active(void **state)
{
	struct fx *f = office();
	const char *t = add_task(f, "sales");
	set_res(f, pending_res(f, t), "rejected");          /* alice */
	set_res(f, pending_res(f, t), "accepted");          /* bob */
	assert_int_equal(list_total(f, "reservations.list", J("{'task_sid': '%s'}", t)), 2);
	assert_string_equal(list_names(f, "reservations.list", "reservations", "worker_name",
				       J("{'task_sid': '%s', 'active': true}", t)), "bob");
	assert_string_equal(list_names(f, "reservations.list", "reservations", "worker_name",
				       J("{'task_sid': '%s', 'reservation_status': 'rejected'}", t)), "alice");
	assert_string_equal(list_names(f, "reservations.list", "reservations", "reservation_status",
				       J("{'worker_sid': 'bob'}")), "accepted");
	fx_free(f);
}

/* ---- workspace -------------------------------------------------------------------- */

static void test_workspace_update_changes_timeout_activity_and_events_filter(void **state)
{
	struct fx *f = office();
	run(f, "workspace.update", J("{'friendly_name': 'Desk', 'timeout_activity_sid': 'Break',"
				     " 'events_filter': 'task.created, task.canceled'}"));
	json_t *ws = exec(f, "workspace.fetch", NULL);
	assert_string_equal(json_string_value(json_object_get(ws, "friendly_name")), "Desk");
	assert_string_equal(json_string_value(json_object_get(ws, "timeout_activity_name")), "Break");
	assert_string_equal(json_string_value(json_object_get(ws, "default_activity_name")), "Offline");
	json_t *filter = json_object_get(ws, "events_filter");
	assert_int_equal(json_array_size(filter), 2);
	assert_string_equal(json_string_value(json_array_get(filter, 1)), "task.canceled");
	json_decref(ws);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op_rejects_unknown_arguments),
		cmocka_unit_test(test_every_op_rejects_arguments_that_are_not_an_object),
		cmocka_unit_test(test_unknown_op_is_rejected),
		cmocka_unit_test(test_bad_requests_are_rejected_with_a_message_and_change_nothing),
		cmocka_unit_test(test_oversized_names_and_attributes_are_too_large),
		cmocka_unit_test(test_rejected_requests_draw_no_sids),
		cmocka_unit_test(test_attributes_may_be_given_as_a_json_string),
		cmocka_unit_test(test_queue_referenced_by_a_workflow_cannot_be_deleted),
		cmocka_unit_test(test_queue_dropped_from_a_workflow_update_can_be_deleted),
		cmocka_unit_test(test_activity_in_use_cannot_be_deleted),
		cmocka_unit_test(test_worker_with_a_pending_reservation_cannot_be_deleted),
		cmocka_unit_test(test_worker_with_an_assigned_task_cannot_be_deleted),
		cmocka_unit_test(test_workflow_with_live_tasks_cannot_be_deleted),
		cmocka_unit_test(test_channel_used_by_tasks_cannot_be_deleted),
		cmocka_unit_test(test_assigned_task_cannot_be_canceled),
		cmocka_unit_test(test_pending_task_cannot_be_completed_or_wrapped),
		cmocka_unit_test(test_finished_task_cannot_change),
		cmocka_unit_test(test_rescinded_reservation_cannot_be_accepted),
		cmocka_unit_test(test_timed_out_reservation_cannot_be_accepted),
		cmocka_unit_test(test_reservation_status_changes_out_of_order_are_rejected),
		cmocka_unit_test(test_worker_cannot_see_or_accept_another_workers_reservation),
		cmocka_unit_test(test_worker_cannot_create_tasks_or_change_configuration),
		cmocka_unit_test(test_worker_can_update_its_own_activity_only),
		cmocka_unit_test(test_supervisor_reads_and_changes_activity_but_not_configuration),
		cmocka_unit_test(test_list_paging_reports_total_and_slices_pages),
		cmocka_unit_test(test_workers_list_filters),
		cmocka_unit_test(test_tasks_list_filters_by_status_queue_and_orders),
		cmocka_unit_test(test_reservations_list_filters_by_status_and_active),
		cmocka_unit_test(test_workspace_update_changes_timeout_activity_and_events_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
