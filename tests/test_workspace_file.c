/*
 * test_workspace_file.c - tests server/workspace_file.c: reading and building a
 * workspace file, in the style of jansson's own test suites.
 *
 * Data-driven part: every tests/data/workspace/good/NAME.json must load with no
 * error; every tests/data/workspace/bad/NAME.json must fail, and each line of
 * bad/NAME.error must appear in one of the messages reported (parse errors from
 * swb_workspace_read count too). The folders are found under $SWB_SRC/tests, or
 * relative to the working directory (ctest runs in tests/).
 *
 * Named tests cover the embedded default workspace (it loads, emits nothing
 * while loading, and routes a Spanish task to the Spanish queue) and what the
 * loader promises: sink attached afterwards, same seed gives same SIDs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workspace_file.h"

#define T0 1700000000000LL

/* ---- helpers ---------------------------------------------------------------- */

/* Every message the loader reported, one per line. */
struct errors {
	char text[16384];
	int n;
};

static void collect(void *ctx, const char *msg)
{
	struct errors *e = ctx;
	size_t len = strlen(e->text);
	snprintf(e->text + len, sizeof e->text - len, "%s\n", msg);
	e->n++;
}

static const char *data_dir(char *buf, size_t size, const char *sub)
{
	const char *src = getenv("SWB_SRC");
	if (src)
		snprintf(buf, size, "%s/tests/data/workspace/%s", src, sub);
	else
		snprintf(buf, size, "data/workspace/%s", sub);
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in dir ending with suffix (malloc'd array of malloc'd names, NULL-terminated). */
static char **list_dir(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open %s (run from tests/ or set SWB_SRC)", dir);
	size_t n = 0, cap = 16;
	char **names = malloc(cap * sizeof *names);
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), slen = strlen(suffix);
		if (len <= slen || strcmp(de->d_name + len - slen, suffix) != 0)
			continue;
		if (n + 1 == cap)
			names = realloc(names, (cap *= 2) * sizeof *names);
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	names[n] = NULL;
	return names;
}

static void free_list(char **names)
{
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	static char buf[8192];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

/* Reads and builds path; errors go to e. Returns the core or NULL. */
static swb_core *load(const char *path, const struct swb_core_opts *opts, struct errors *e)
{
	struct swb_err err = { 0 };
	json_t *doc = swb_workspace_read(path, &err);
	if (!doc) {
		collect(e, err.msg);
		return NULL;
	}
	swb_core *c = (swb_core *)&c; /* a sentinel: must be left alone on failure */
	int errors = swb_workspace_build(doc, opts, collect, e, &c);
	json_decref(doc);
	assert_int_equal(errors, e->n);
	if (errors) {
		assert_ptr_equal(c, (swb_core *)&c);
		return NULL;
	}
	assert_non_null(c);
	return c;
}

static json_t *exec(swb_core *c, const char *op, json_t *args)
{
	json_t *res = NULL;
	struct swb_err err = { 0 };
	enum swb_code rc = swb_core_exec(c, T0, NULL, op, args, &res, &err);
	json_decref(args);
	if (rc != SWB_OK)
		fail_msg("%s: %s", op, err.msg);
	return res;
}

static size_t list_total(swb_core *c, const char *op)
{
	json_t *r = exec(c, op, json_pack("{s:i}", "page_size", 1000));
	size_t n = (size_t)json_integer_value(json_object_get(json_object_get(r, "meta"), "total"));
	json_decref(r);
	return n;
}

/* ---- the data folders ---------------------------------------------------------- */

static void test_good_workspace_files_load(void **state)
{
	char dir[1024], path[2048];
	data_dir(dir, sizeof dir, "good");
	char **names = list_dir(dir, ".json");
	int count = 0;
	for (char **p = names; *p; p++, count++) {
		snprintf(path, sizeof path, "%s/%s", dir, *p);
		struct errors e = { .n = 0 };
		struct swb_core_opts o = { .seed = 1, .now_ms = T0 };
		swb_core *c = load(path, &o, &e);
		if (!c)
			fail_msg("%s should load, but:\n%s", *p, e.text);
		/* every listed resource is there */
		json_error_t je;
		json_t *doc = json_load_file(path, 0, &je);
		assert_non_null(doc);
		assert_int_equal(list_total(c, "workers.list"), json_array_size(json_object_get(doc, "workers")));
		assert_int_equal(list_total(c, "task_queues.list"),
				 json_array_size(json_object_get(doc, "task_queues")));
		assert_int_equal(list_total(c, "workflows.list"), json_array_size(json_object_get(doc, "workflows")));
		json_t *acts = json_object_get(doc, "activities");
		if (acts)
			assert_int_equal(list_total(c, "activities.list"), json_array_size(acts));
		json_decref(doc);
		swb_core_free(c);
	}
	free_list(names);
	assert_true(count >= 5);
}

static void test_bad_workspace_files_fail_with_the_expected_errors(void **state)
{
	char dir[1024], path[2048];
	data_dir(dir, sizeof dir, "bad");
	char **names = list_dir(dir, ".json");
	int count = 0;
	for (char **p = names; *p; p++, count++) {
		snprintf(path, sizeof path, "%s/%s", dir, *p);
		struct errors e = { .n = 0 };
		struct swb_core_opts o = { .seed = 1, .now_ms = T0 };
		swb_core *c = load(path, &o, &e);
		if (c) {
			swb_core_free(c);
			fail_msg("%s should fail to load", *p);
		}
		/* NAME.json -> NAME.error: each non-empty line must be in the messages */
		size_t len = strlen(path);
		snprintf(path + len - 5, sizeof path - (len - 5), ".error");
		char *want = read_text(path);
		char *save = NULL;
		int lines = 0;
		for (char *line = strtok_r(want, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lines++)
			if (!strstr(e.text, line))
				fail_msg("%s: no error says \"%s\"; got:\n%s", *p, line, e.text);
		assert_true(lines > 0);
		/* the count matches: one message per expected line for files listing several */
		if (lines > 1)
			assert_int_equal(e.n, lines);
		free(want);
	}
	free_list(names);
	assert_true(count >= 15);
}

/* ---- the embedded default workspace -------------------------------------------- */

struct recorder {
	int n;
	char types[64][48];
	json_t *data[64];
};

static void record(void *ctx, const struct swb_event *ev)
{
	struct recorder *r = ctx;
	if (r->n < 64) {
		snprintf(r->types[r->n], sizeof r->types[r->n], "%s", ev->type);
		r->data[r->n] = json_deep_copy(ev->data);
	}
	r->n++;
}

static void recorder_free(struct recorder *r)
{
	for (int i = 0; i < r->n && i < 64; i++)
		json_decref(r->data[i]);
}

static void test_default_workspace_routes_a_spanish_task_to_the_spanish_queue(void **state)
{
	struct swb_err err = { 0 };
	json_t *doc = swb_workspace_read(NULL, &err);
	assert_non_null(doc);
	struct recorder rec = { 0 };
	struct errors e = { .n = 0 };
	struct swb_core_opts o = { .seed = 3, .now_ms = T0, .sink = record, .sink_ctx = &rec };
	swb_core *c = NULL;
	assert_int_equal(swb_workspace_build(doc, &o, collect, &e, &c), 0);
	json_decref(doc);
	assert_non_null(c);
	assert_int_equal(rec.n, 0); /* loading emits nothing into the sink */
	assert_int_equal(list_total(c, "workers.list"), 8);

	json_t *task = exec(c, "tasks.create", json_pack("{s:{s:s}}", "attributes", "language", "es"));
	assert_string_equal(json_string_value(json_object_get(task, "task_queue_friendly_name")), "Spanish");
	assert_string_equal(json_string_value(json_object_get(task, "assignment_status")), "reserved");
	json_decref(task);
	const char *want[] = { "task.created", "workflow.entered", "workflow.target-matched", "task-queue.entered",
			       "reservation.created" };
	assert_int_equal(rec.n, 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(rec.types[i], want[i]);
	assert_string_equal(json_string_value(json_object_get(rec.data[1], "workflow_filter_name")),
			    "Spanish speakers");
	assert_string_equal(json_string_value(json_object_get(rec.data[4], "task_queue_name")), "Spanish");
	/* carla, diego and gabriela speak Spanish; carla was created first and has idled longest */
	assert_string_equal(json_string_value(json_object_get(rec.data[4], "worker_name")), "carla");
	recorder_free(&rec);
	swb_core_free(c);
}

static void test_default_workspace_sends_other_tasks_to_their_department(void **state)
{
	json_t *doc = swb_workspace_read(NULL, NULL);
	struct swb_core_opts o = { .seed = 3, .now_ms = T0 };
	swb_core *c = NULL;
	assert_int_equal(swb_workspace_build(doc, &o, NULL, NULL, &c), 0);
	json_decref(doc);
	json_t *t = exec(c, "tasks.create", json_pack("{s:{s:s}}", "attributes", "department", "support"));
	assert_string_equal(json_string_value(json_object_get(t, "task_queue_friendly_name")), "Support");
	json_decref(t);
	t = exec(c, "tasks.create", json_pack("{s:{s:s}}", "attributes", "department", "billing"));
	assert_string_equal(json_string_value(json_object_get(t, "task_queue_friendly_name")), "Everyone");
	json_decref(t);
	swb_core_free(c);
}

static void test_same_seed_builds_the_same_sids(void **state)
{
	char sids[2][64];
	for (int i = 0; i < 2; i++) {
		json_t *doc = swb_workspace_read(NULL, NULL);
		struct swb_core_opts o = { .seed = 11, .now_ms = T0 };
		swb_core *c = NULL;
		assert_int_equal(swb_workspace_build(doc, &o, NULL, NULL, &c), 0);
		json_decref(doc);
		json_t *w = exec(c, "workers.fetch", json_pack("{s:s}", "sid", "hana"));
		snprintf(sids[i], sizeof sids[i], "%s", json_string_value(json_object_get(w, "sid")));
		json_decref(w);
		swb_core_free(c);
	}
	assert_string_equal(sids[0], sids[1]);
	assert_int_equal(strncmp(sids[0], "WK", 2), 0);
}

static void test_reading_a_missing_file_is_an_io_error(void **state)
{
	struct swb_err err = { 0 };
	assert_null(swb_workspace_read("/nonexistent/switchboard.json", &err));
	assert_int_equal(err.code, SWB_EIO);
	assert_non_null(strstr(err.msg, "/nonexistent/switchboard.json: cannot open"));
}

static void test_building_a_non_object_reports_and_returns_no_core(void **state)
{
	struct errors e = { .n = 0 };
	struct swb_core_opts o = { .seed = 1, .now_ms = T0 };
	json_t *doc = json_string("workspace");
	swb_core *c = NULL;
	assert_int_equal(swb_workspace_build(doc, &o, collect, &e, &c), 1);
	assert_null(c);
	assert_non_null(strstr(e.text, "must be a JSON object"));
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_workspace_files_load),
		cmocka_unit_test(test_bad_workspace_files_fail_with_the_expected_errors),
		cmocka_unit_test(test_default_workspace_routes_a_spanish_task_to_the_spanish_queue),
		cmocka_unit_test(test_default_workspace_sends_other_tasks_to_their_department),
		cmocka_unit_test(test_same_seed_builds_the_same_sids),
		cmocka_unit_test(test_reading_a_missing_file_is_an_io_error),
		cmocka_unit_test(test_building_a_non_object_reports_and_returns_no_core),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
