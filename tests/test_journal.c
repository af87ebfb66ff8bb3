/*
 * test_journal.c - the journal (server/journal.c, server/compact.c) through a
 * real node: a torn last record is dropped with a log line, a corrupt record
 * in the middle stops the start with a clear message, events.list serves
 * history older than the in-memory window from the file with TaskRouter's
 * filters and paging, and swb-node --compact keeps the state and the events
 * within the retention (and refuses while a node runs). A running node rotates
 * its journal with a snapshot (same state and history across restarts, an
 * interrupted rotation finished or undone at start) and removes rotated files
 * past the retention once the EventCallbackURL has had their events.
 */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "node_harness.h"

static void create_tasks(struct h_node *h, int n)
{
	for (int i = 0; i < n; i++)
		json_decref(h_call(h, "tasks.create",
				   json_pack("{s:{s:s, s:i}}", "attributes", "department", i % 2 ? "sales" : "support", "n", i)));
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The compact state to compare across restarts: tasks' sid and status, workers' sid and activity. */
static json_t *state_of(struct h_node *h)
{
	json_t *out = json_object(), *tasks = h_call(h, "tasks.list", json_pack("{s:i}", "page_size", 1000));
	json_t *workers = h_call(h, "workers.list", json_pack("{s:i}", "page_size", 1000));
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(tasks, "tasks"), i, it)
		json_object_set(out, h_str(it, "sid"), json_object_get(it, "assignment_status"));
	json_array_foreach(json_object_get(workers, "workers"), i, it)
		json_object_set(out, h_str(it, "sid"), json_object_get(it, "activity_sid"));
	json_decref(tasks);
	json_decref(workers);
	return out;
}

static json_t *list_events(struct h_node *h, json_t *args)
{
	if (!json_object_get(args, "minutes") && !json_object_get(args, "start_date"))
		json_object_set_new(args, "minutes", json_integer(60));
	return h_call(h, "events.list", args);
}

static json_int_t total_of(json_t *res)
{
	return json_integer_value(json_object_get(json_object_get(res, "meta"), "total"));
}

static void test_torn_last_record_is_dropped_with_a_log_line(void **state)
{
	struct h_node h;
	h_init(&h, false);
	assert_true(h_start(&h));
	create_tasks(&h, 3);
	json_t *before = state_of(&h);
	assert_int_equal(h_stop(&h), 0);
	char path[512];
	assert_true(h_journal_path(&h, path, sizeof path));
	long size = file_size(path);

	append(path, "{\"k\":\"E\",\"e\":{\"seq\":99999,\"sid\":\"EV"); /* power cut mid-write: no newline */
	assert_true(h_start(&h));
	assert_true(h_log_has(&h, "dropping a torn last record"));
	json_t *after = state_of(&h);
	assert_true(json_equal(before, after));
	assert_int_equal(h_stop(&h), 0);
	assert_true(file_size(path) >= size);

	/* a whole last line with a wrong checksum is torn too (its fsync never finished) */
	size = file_size(path);
	append(path, "{\"k\":\"T\",\"t\":1,\"seq\":99999,\"crc\":\"00000000\"}\n");
	assert_true(h_start(&h));
	json_decref(after);
	after = state_of(&h);
	assert_true(json_equal(before, after));
	assert_int_equal(h_stop(&h), 0);
	assert_int_equal(file_size(path), size);
	json_decref(before);
	json_decref(after);
	h_cleanup(&h);
	(void)state;
}

static void test_corrupt_middle_record_stops_the_start(void **state)
{
	struct h_node h;
	h_init(&h, false);
	assert_true(h_start(&h));
	create_tasks(&h, 3);
	assert_int_equal(h_stop(&h), 0);
	char path[512];
	assert_true(h_journal_path(&h, path, sizeof path));
	/* flip one character inside line 3 */
	FILE *f = fopen(path, "r+");
	assert_non_null(f);
	int c, line = 1;
	long off = 0;
	while ((c = fgetc(f)) != EOF && line < 3) {
		off++;
		line += c == '\n';
	}
	long target = off + 20;
	fseek(f, target, SEEK_SET);
	int orig = fgetc(f);
	fseek(f, target, SEEK_SET);
	fputc(orig == 'a' ? 'b' : 'a', f);
	fclose(f);

	h_spawn(&h);
	int status;
	long long end = h_now_ms() + 10000;
	while (waitpid(h.pid, &status, WNOHANG) == 0 && h_now_ms() < end)
		h_sleep_ms(20);
	assert_true(h_now_ms() < end); /* it stopped by itself */
	h.pid = 0;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	assert_true(h_log_has(&h, "line 3 is corrupt"));
	assert_true(h_log_has(&h, "refusing to start"));

	f = fopen(path, "r+"); /* put it back: the node starts again, nothing lost */
	fseek(f, target, SEEK_SET);
	fputc(orig, f);
	fclose(f);
	assert_true(h_start(&h));
	json_t *tasks = h_call(&h, "tasks.list", json_pack("{s:i}", "page_size", 1000));
	assert_int_equal(json_array_size(json_object_get(tasks, "tasks")), 3);
	json_decref(tasks);
	h_cleanup(&h);
	(void)state;
}

static void test_events_list_reads_history_older_than_the_window(void **state)
{
	struct h_node h;
	h_init(&h, false);
	h_arg(&h, "--event-window");
	h_arg(&h, "16");
	assert_true(h_start(&h));
	create_tasks(&h, 10);
	json_t *journal = h_journal_events(&h);
	size_t n = json_array_size(journal);
	assert_true(n > 40);

	/* everything, newest first, though only 16 are in memory */
	json_t *all = list_events(&h, json_pack("{s:i}", "page_size", 1000));
	json_t *items = json_object_get(all, "events");
	assert_int_equal(total_of(all), n);
	assert_int_equal(json_array_size(items), n);
	for (size_t i = 0; i < n; i++)
		assert_true(json_equal(json_array_get(items, i), json_array_get(journal, n - 1 - i)));

	/* paging crosses from memory into the file */
	for (int page = 0; page * 7 < (int)n; page++) {
		json_t *p = list_events(&h, json_pack("{s:i, s:i}", "page", page, "page_size", 7));
		json_t *pi = json_object_get(p, "events");
		for (size_t i = 0; i < json_array_size(pi); i++)
			assert_true(json_equal(json_array_get(pi, i), json_array_get(items, (size_t)page * 7 + i)));
		assert_int_equal(json_array_size(pi), n - (size_t)page * 7 < 7 ? n - (size_t)page * 7 : 7);
		json_decref(p);
	}

	/* TaskRouter's filters */
	json_t *created = list_events(&h, json_pack("{s:s}", "event_type", "task.created"));
	assert_int_equal(total_of(created), 10);
	const char *first_task = h_str(json_object_get(json_array_get(journal, n - 1), "event_data"), "task_sid");
	for (size_t i = 0; i < n && !*first_task; i++)
		first_task = h_str(json_object_get(json_array_get(journal, i), "event_data"), "task_sid");
	size_t want = 0;
	json_t *e;
	size_t i;
	json_array_foreach(journal, i, e)
		want += strcmp(h_str(json_object_get(e, "event_data"), "task_sid"), first_task) == 0;
	json_t *by_task = list_events(&h, json_pack("{s:s}", "task_sid", first_task));
	assert_int_equal(total_of(by_task), want);
	json_t *sid = list_events(&h, json_pack("{s:s}", "sid", h_str(json_array_get(journal, 0), "sid")));
	assert_int_equal(total_of(sid), 1);
	json_t *past = list_events(&h, json_pack("{s:s, s:s}", "start_date", "2020-01-01T00:00:00Z", "end_date",
						 "2020-01-02T00:00:00Z"));
	assert_int_equal(total_of(past), 0);
	json_t *range = list_events(&h, json_pack("{s:s, s:s}", "start_date", "2020-01-01T00:00:00Z", "end_date",
						  "2100-01-01T00:00:00Z"));
	assert_int_equal(total_of(range), n);

	/* after a restart the same history is served */
	assert_int_equal(h_stop(&h), 0);
	assert_true(h_start(&h));
	json_t *again = list_events(&h, json_pack("{s:i}", "page_size", 1000));
	assert_true(json_equal(json_object_get(again, "events"), items));
	json_decref(again);
	json_decref(range);
	json_decref(past);
	json_decref(sid);
	json_decref(by_task);
	json_decref(created);
	json_decref(all);
	json_decref(journal);
	h_cleanup(&h);
	(void)state;
}

static int run_compact(struct h_node *h, const char *retention)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "'%s/swb-node' --compact --data '%s' %s%s >> '%s' 2>&1", h_build_dir(), h->dir,
		 retention ? "--retention-days " : "", retention ? retention : "", h->log);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_compact_keeps_the_state_and_the_events_within_the_retention(void **state)
{
	struct h_node h;
	h_init(&h, false);
	h_arg(&h, "--event-window");
	h_arg(&h, "16");
	assert_true(h_start(&h));
	create_tasks(&h, 6);
	assert_int_equal(run_compact(&h, NULL), 1); /* the node holds the journal */
	assert_true(h_log_has(&h, "in use by another swb-node"));
	json_t *before = state_of(&h);
	json_t *events = list_events(&h, json_pack("{s:i}", "page_size", 1000));
	assert_int_equal(h_stop(&h), 0);

	/* default retention: every event is kept, the inputs become one snapshot */
	assert_int_equal(run_compact(&h, NULL), 0);
	json_t *recs = h_journal_records(&h, "HXTS");
	assert_int_equal(json_array_size(recs), 1);
	assert_string_equal(h_str(json_array_get(recs, 0), "k"), "S");
	json_decref(recs);
	assert_true(h_start(&h));
	json_t *after = state_of(&h);
	assert_true(json_equal(before, after));
	json_t *events2 = list_events(&h, json_pack("{s:i}", "page_size", 1000));
	assert_true(json_equal(json_object_get(events, "events"), json_object_get(events2, "events")));

	/* the compacted journal keeps growing and replaying */
	create_tasks(&h, 2);
	json_t *more = state_of(&h);
	assert_int_equal(h_stop(&h), 0);
	assert_true(h_start(&h));
	json_t *more2 = state_of(&h);
	assert_true(json_equal(more, more2));
	json_t *events3 = list_events(&h, json_pack("{s:i}", "page_size", 1000));
	assert_true(total_of(events3) > total_of(events2));
	assert_int_equal(h_stop(&h), 0);

	/* retention 0: only the newest event is kept, the state still is */
	json_t *newest = json_incref(json_array_get(json_object_get(events3, "events"), 0));
	assert_int_equal(run_compact(&h, "0"), 0);
	json_t *left = h_journal_events(&h);
	assert_int_equal(json_array_size(left), 1);
	assert_true(json_equal(json_array_get(left, 0), newest));
	json_decref(left);
	assert_true(h_start(&h));
	json_t *more3 = state_of(&h);
	assert_true(json_equal(more, more3));
	json_t *none = list_events(&h, json_pack("{s:i}", "page_size", 1000));
	assert_int_equal(total_of(none), 1);
	json_t *hello = h_call(&h, "session.hello", NULL);
	assert_int_equal(json_integer_value(json_object_get(hello, "seq")), json_integer_value(json_object_get(newest, "seq")));
	json_decref(hello);
	json_decref(newest);
	create_tasks(&h, 1); /* and routing goes on */
	json_t *one = list_events(&h, json_pack("{s:s}", "event_type", "task.created"));
	assert_int_equal(total_of(one), 1);
	json_decref(one);
	json_decref(none);
	json_decref(more3);
	json_decref(events3);
	json_decref(more2);
	json_decref(more);
	json_decref(events2);
	json_decref(after);
	json_decref(events);
	json_decref(before);
	h_cleanup(&h);
	(void)state;
}

static void test_compact_keeps_events_the_callback_url_has_not_had(void **state)
{
	struct h_node h;
	h_init(&h, false);
	assert_true(h_start(&h));
	int dead = h_free_port(); /* nothing listens there */
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/cb", dead);
	json_decref(h_call(&h, "workspace.update", json_pack("{s:s}", "event_callback_url", url)));
	create_tasks(&h, 2);
	json_t *hello = h_call(&h, "session.hello", NULL);
	json_int_t last = json_integer_value(json_object_get(hello, "seq"));
	json_decref(hello);
	assert_int_equal(h_stop(&h), 0);
	unsigned long long cursor = h_journal_cursor(&h);
	assert_int_equal(run_compact(&h, "0"), 0);
	json_t *left = h_journal_events(&h);
	/* everything after the cursor stays for delivery */
	assert_int_equal(json_array_size(left), (size_t)(last - (json_int_t)cursor));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(left, 0), "seq")), cursor + 1);
	assert_int_equal(h_journal_cursor(&h), cursor);
	json_decref(left);
	h_cleanup(&h);
	(void)state;
}

/* ---- rotation ---- */

static void start_rotating(struct h_node *h, const char *retention)
{
	h_init(h, false);
	h_arg(h, "--event-window");
	h_arg(h, "16");
	h_arg(h, "--journal-segment-kb");
	h_arg(h, "16");
	if (retention) {
		h_arg(h, "--retention-days");
		h_arg(h, retention);
	}
	assert_true(h_start(h));
}

/* The first record of the live journal file: "H" or "S". */
static const char *head_kind(struct h_node *h, char *buf, size_t len)
{
	char path[512];
	assert_true(h_journal_path(h, path, sizeof path));
	json_t *recs = json_array();
	h_file_records(path, "HS", recs);
	snprintf(buf, len, "%s", json_array_size(recs) ? h_str(json_array_get(recs, 0), "k") : "");
	json_decref(recs);
	return buf;
}

static json_int_t node_seq(struct h_node *h)
{
	json_t *hello = h_call(h, "session.hello", NULL);
	json_int_t seq = json_integer_value(json_object_get(hello, "seq"));
	json_decref(hello);
	return seq;
}

static void test_rotation_snapshots_the_state_and_keeps_the_history(void **state)
{
	struct h_node h;
	start_rotating(&h, NULL);
	create_tasks(&h, 40);
	assert_true(h_journal_quiet(&h));
	assert_true(h_journal_segment_count(&h) >= 2);
	char k[8];
	assert_string_equal(head_kind(&h, k, sizeof k), "S"); /* the live file starts with the state */
	assert_true(h_log_has(&h, "rotated at seq"));

	/* every event is in exactly one place, in order, and events.list serves them all across the files */
	size_t n = (size_t)node_seq(&h);
	json_t *journal = h_journal_events(&h);
	assert_int_equal(json_array_size(journal), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(json_integer_value(json_object_get(json_array_get(journal, i), "seq")), i + 1);
	json_t *all = list_events(&h, json_pack("{s:i}", "page_size", 1000));
	json_t *items = json_object_get(all, "events");
	assert_int_equal(total_of(all), n);
	for (size_t i = 0; i < n; i++)
		assert_true(json_equal(json_array_get(items, i), json_array_get(journal, n - 1 - i)));
	for (int page = 0; page * 9 < (int)n; page++) {
		json_t *p = list_events(&h, json_pack("{s:i, s:i}", "page", page, "page_size", 9));
		json_t *pi = json_object_get(p, "events");
		for (size_t i = 0; i < json_array_size(pi); i++)
			assert_true(json_equal(json_array_get(pi, i), json_array_get(items, (size_t)page * 9 + i)));
		json_decref(p);
	}
	json_t *created = list_events(&h, json_pack("{s:s}", "event_type", "task.created"));
	assert_int_equal(total_of(created), 40);
	json_decref(created);

	/* a restart restores the latest snapshot and replays what follows it: same state, same history */
	json_t *before = state_of(&h);
	assert_int_equal(h_stop(&h), 0);
	assert_true(h_start(&h));
	json_t *after = state_of(&h);
	assert_true(json_equal(before, after));
	json_t *again = list_events(&h, json_pack("{s:i}", "page_size", 1000));
	assert_true(json_equal(json_object_get(again, "events"), items));

	/* and it goes on: more rotations, another restart */
	size_t segs = h_journal_segment_count(&h);
	create_tasks(&h, 20);
	json_int_t seq = node_seq(&h);
	assert_true(h_journal_quiet(&h));
	assert_true(h_journal_segment_count(&h) > segs);
	json_t *more = state_of(&h);
	assert_int_equal(h_stop(&h), 0);
	assert_true(h_start(&h));
	json_t *more2 = state_of(&h);
	assert_true(json_equal(more, more2));
	assert_int_equal(node_seq(&h), seq);
	assert_true(h_journal_quiet(&h));
	json_t *journal2 = h_journal_events(&h);
	assert_int_equal(json_array_size(journal2), (size_t)seq);
	json_decref(journal2);
	json_decref(more2);
	json_decref(more);
	json_decref(again);
	json_decref(after);
	json_decref(before);
	json_decref(all);
	json_decref(journal);
	h_cleanup(&h);
	(void)state;
}

static void move(const char *from, const char *to)
{
	assert_int_equal(rename(from, to), 0);
}

static void test_an_interrupted_rotation_is_finished_or_undone_at_start(void **state)
{
	struct h_node h;
	start_rotating(&h, NULL);
	create_tasks(&h, 20);
	assert_true(h_journal_quiet(&h));
	assert_true(h_journal_segment_count(&h) >= 1);
	json_t *before = state_of(&h);
	json_int_t seq = node_seq(&h);
	assert_int_equal(h_stop(&h), 0);
	char path[512], next[600];
	assert_true(h_journal_path(&h, path, sizeof path));
	snprintf(next, sizeof next, "%s-next", path);

	/* killed between the two renames: the old journal is a rotated file, the new one not in place yet */
	move(path, next);
	assert_true(h_start(&h));
	assert_true(h_log_has(&h, "finishing a rotation"));
	assert_true(h_journal_quiet(&h)); /* the recovered file may be due for a rotation of its own */
	json_t *after = state_of(&h);
	assert_true(json_equal(before, after));
	assert_int_equal(node_seq(&h), seq);
	assert_int_equal(h_stop(&h), 0);

	/* killed while writing the new file: it is dropped, the journal is untouched */
	append(next, "{\"k\":\"S\",\"t\":1,\"seq\":1,\"core\":{");
	assert_true(h_start(&h));
	assert_true(h_log_has(&h, "did not finish"));
	assert_true(h_journal_quiet(&h));
	json_t *after2 = state_of(&h);
	assert_true(json_equal(before, after2));
	json_decref(after2);
	json_decref(after);
	json_decref(before);
	h_cleanup(&h);
	(void)state;
}

/* Renames every rotated file as if it had ended in 2020 (same order). */
static void age_segments(struct h_node *h)
{
	size_t n;
	char **segs = h_journal_segments(h, &n);
	for (size_t i = 0; i < n; i++) {
		char old[600];
		snprintf(old, sizeof old, "%s", segs[i]);
		char *dot = strrchr(segs[i], '.');
		snprintf(dot + 1, strlen(dot + 1) + 1, "%lld", 1577836800000LL + (long long)i); /* same length: 13 digits */
		move(old, segs[i]);
	}
	h_free_paths(segs, n);
}

static unsigned long long seg_last_seq(const char *path)
{
	const char *name = strrchr(path, '/') + 1;
	return strtoull(name + 8, NULL, 10);
}

/* The rotated files' last seqs, oldest first. */
static json_t *segment_seqs(struct h_node *h)
{
	size_t n;
	char **segs = h_journal_segments(h, &n);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(out, json_integer((json_int_t)seg_last_seq(segs[i])));
	h_free_paths(segs, n);
	return out;
}

static bool has_seq(json_t *seqs, json_int_t seq)
{
	size_t i;
	json_t *it;
	json_array_foreach(seqs, i, it)
		if (json_integer_value(it) == seq)
			return true;
	return false;
}

static void test_rotated_files_past_the_retention_go_once_delivered(void **state)
{
	struct h_node h;
	start_rotating(&h, "1");
	create_tasks(&h, 20);
	int dead = h_free_port(); /* nothing listens there: delivery stops at the cursor */
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/cb", dead);
	json_decref(h_call(&h, "workspace.update", json_pack("{s:s}", "event_callback_url", url)));
	create_tasks(&h, 20);
	json_t *before = state_of(&h);
	assert_int_equal(h_stop(&h), 0);
	unsigned long long cursor = h_journal_cursor(&h);
	json_t *seqs0 = segment_seqs(&h);
	size_t delivered = 0, i;
	json_t *it;
	json_array_foreach(seqs0, i, it)
		delivered += (unsigned long long)json_integer_value(it) <= cursor;
	assert_true(delivered >= 1);
	assert_true(json_array_size(seqs0) - delivered >= 1);

	/* a day later, as far as the files know: the delivered ones go, the others wait for the endpoint
	 * (the restarted node may also rotate once more: a new file, not aged) */
	age_segments(&h);
	assert_true(h_start(&h));
	assert_true(h_journal_quiet(&h)); /* the removal runs after the answers of the first loop turn */
	json_t *seqs1 = segment_seqs(&h);
	json_array_foreach(seqs1, i, it)
		assert_true((unsigned long long)json_integer_value(it) > cursor);
	json_array_foreach(seqs0, i, it)
		if ((unsigned long long)json_integer_value(it) > cursor)
			assert_true(has_seq(seqs1, json_integer_value(it)));
	assert_true(h_log_has(&h, "past the retention"));
	json_t *after = state_of(&h);
	assert_true(json_equal(before, after));

	/* with the URL removed nothing waits for delivery: the retention alone decides */
	json_decref(h_call(&h, "workspace.update", json_pack("{s:s}", "event_callback_url", "")));
	assert_int_equal(h_stop(&h), 0);
	age_segments(&h);
	assert_true(h_start(&h));
	assert_true(h_journal_quiet(&h));
	json_t *seqs2 = segment_seqs(&h);
	json_array_foreach(seqs1, i, it)
		assert_false(has_seq(seqs2, json_integer_value(it)));
	json_decref(seqs2);
	json_decref(seqs1);
	json_decref(seqs0);
	json_decref(after);
	json_decref(before);
	h_cleanup(&h);
	(void)state;
}

static void test_bad_rotation_options_are_refused(void **state)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "'%s/swb-node' --journal-segment-kb 1 --data /nonexistent 2>&1 | grep -q 'must be 16'",
		 h_build_dir());
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "'%s/swb-node' --snapshot-interval 0 --data /nonexistent 2>&1 | grep -q 'must be 1'",
		 h_build_dir());
	assert_int_equal(system(cmd), 0);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_torn_last_record_is_dropped_with_a_log_line),
		cmocka_unit_test(test_corrupt_middle_record_stops_the_start),
		cmocka_unit_test(test_events_list_reads_history_older_than_the_window),
		cmocka_unit_test(test_compact_keeps_the_state_and_the_events_within_the_retention),
		cmocka_unit_test(test_compact_keeps_events_the_callback_url_has_not_had),
		cmocka_unit_test(test_rotation_snapshots_the_state_and_keeps_the_history),
		cmocka_unit_test(test_an_interrupted_rotation_is_finished_or_undone_at_start),
		cmocka_unit_test(test_rotated_files_past_the_retention_go_once_delivered),
		cmocka_unit_test(test_bad_rotation_options_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
