/*
 * compact.c - swb-node --compact: retention for the journal, offline.
 *
 * A journal holds the workspace's inputs (H then X and T: what replay needs),
 * its event history (E) and its callback cursor (C). Compaction replaces the
 * inputs by a snapshot of the state they lead to and keeps only the history
 * the retention asks for. For each workspace:
 *   1. open the journal as the node does (flock, replay, torn tail cut), which
 *      proves it is readable and gives the final state, the callback cursor
 *      and the URL;
 *   2. write WSDIR/.compact/journal: an S record (swb_core_snapshot at the last
 *      seq), then every E record newer than the retention, or not yet delivered
 *      to a configured EventCallbackURL (a dead endpoint delays delivery, it
 *      never loses events), and always the newest one (so the in-memory window
 *      knows where the sequence stands), byte for byte, then one C record; fsync;
 *   3. replay the copy into a second core and require the same snapshot, the
 *      same cursor and the same answers to the read ops;
 *   4. rename it over WSDIR/journal and fsync the directory;
 *   5. remove the rotated files (journal.<seq>.<t>, see journal.c) whose events
 *      are all older than the retention and delivered.
 * A crash at any step leaves either the old journal or the new one in place.
 * Replay of the result restores the snapshot instead of re-running history,
 * so a compacted workspace also starts faster.
 */
#include "compact.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32.h"
#include "log.h"
#include "node_internal.h"
#include "paths.h"
#include "timefmt.h"

#define COMPACT_EVENT_WINDOW 16 /* the scratch workspaces keep few events in memory */

struct tally {
	uint64_t lines, events, dropped, cursors;
	off_t before, after;
};

static void sink(void *ctx, const struct swb_event *ev)
{
	struct wspace *w = ctx;
	swb_eventlog_append(w->events, ev);
}

static struct wspace *scratch_open(struct node *n, const char *sid, const char *dir)
{
	struct wspace *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->n = n;
	snprintf(w->sid, sizeof w->sid, "%s", sid);
	snprintf(w->dir, sizeof w->dir, "%s", dir);
	w->events = swb_eventlog_new(COMPACT_EVENT_WINDOW);
	if (!w->events || node_journal_open(w, sink) != 0) {
		node_journal_close(w);
		swb_core_free(w->core);
		swb_eventlog_free(w->events);
		free(w);
		return NULL;
	}
	return w;
}

static void scratch_close(struct wspace *w)
{
	if (!w)
		return;
	node_journal_close(w);
	swb_core_free(w->core);
	swb_eventlog_free(w->events);
	free(w);
}

static json_t *sys_get(struct wspace *w, const char *op, json_t *args)
{
	json_t *res = NULL;
	swb_core_sys(w->core, 0, op, args, &res, NULL);
	json_decref(args);
	return res;
}

/* The same state: same last event, same cursor, same workspace, workers and live tasks. */
static bool same_state(struct wspace *a, struct wspace *b, char *why, size_t len)
{
	if (swb_core_last_seq(a->core) != swb_core_last_seq(b->core)) {
		snprintf(why, len, "the copy replays to seq %llu, the journal to %llu",
			 (unsigned long long)swb_core_last_seq(b->core), (unsigned long long)swb_core_last_seq(a->core));
		return false;
	}
	if (a->callback_cursor != b->callback_cursor) {
		snprintf(why, len, "callback cursor %llu became %llu", (unsigned long long)a->callback_cursor,
			 (unsigned long long)b->callback_cursor);
		return false;
	}
	json_t *sa = swb_core_snapshot(a->core), *sb = swb_core_snapshot(b->core);
	bool same = sa && sb && json_equal(sa, sb);
	json_decref(sa);
	json_decref(sb);
	if (!same) {
		snprintf(why, len, "the copy's snapshot differs from the journal's state");
		return false;
	}
	static const char *const ops[] = { "workspace.fetch", "workspace.stats", "workers.list", "tasks.list",
					   "task_queues.list" };
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		json_t *args = strstr(ops[i], ".list") ? json_pack("{s:i}", "page_size", 1000) : NULL;
		json_t *x = sys_get(a, ops[i], args ? json_incref(args) : NULL), *y = sys_get(b, ops[i], args);
		bool eq = x && y && json_equal(x, y);
		json_decref(x);
		json_decref(y);
		if (!eq) {
			snprintf(why, len, "%s differs after replaying the copy", ops[i]);
			return false;
		}
	}
	return true;
}

/* Appends json (an object's text) as a journal line with its checksum. */
static int write_record(int fd, const char *json)
{
	size_t n = strlen(json);
	char tail[32];
	snprintf(tail, sizeof tail, ",\"crc\":\"%08x\"}\n", swb_crc32(json, n - 1));
	return node_write_all(fd, json, n - 1) != 0 || node_write_all(fd, tail, strlen(tail)) != 0 ? -1 : 0;
}

/* Writes the compacted journal of w (read from src) to dst. */
static int write_compacted(struct wspace *w, const char *src, int dst, int64_t cutoff, bool undelivered_kept,
			   struct tally *t)
{
	uint64_t cursor = w->callback_cursor;
	char *text = node_journal_snapshot_text(w, swb_wall_ms());
	int rc = text ? write_record(dst, text) : -1;
	free(text);
	FILE *f = rc == 0 ? fopen(src, "r") : NULL;
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] != '\n')
			break; /* the open already cut a torn tail; nothing else can be here */
		json_t *r = node_journal_parse_line(line, (size_t)len - 1);
		if (!r) {
			swb_error("%s: a line stopped checking out while compacting; nothing changed", src);
			rc = -1;
			break;
		}
		const char *k = json_string_value(json_object_get(r, "k"));
		if (k && strcmp(k, "E") == 0) {
			json_t *e = json_object_get(r, "e");
			uint64_t seq = (uint64_t)json_integer_value(json_object_get(e, "seq"));
			t->events++;
			if (json_integer_value(json_object_get(e, "event_date_ms")) >= cutoff ||
			    (undelivered_kept && seq > cursor) || seq == swb_core_last_seq(w->core)) {
				t->lines++;
				rc = node_write_all(dst, line, (size_t)len);
			} else {
				t->dropped++;
			}
		} else if (k && strcmp(k, "C") == 0) {
			t->cursors++;
		}
		json_decref(r);
	}
	free(line);
	fclose(f);
	if (rc == 0 && cursor) {
		char body[96];
		snprintf(body, sizeof body, "{\"k\":\"C\",\"t\":%lld,\"seq\":%llu}", (long long)swb_wall_ms(),
			 (unsigned long long)cursor);
		rc = write_record(dst, body);
	}
	return rc;
}

static int compact_one(struct node *n, const char *sid, int64_t cutoff)
{
	char dir[SWB_PATH_MAX + 64], tmpdir[SWB_PATH_MAX + 80], path[SWB_PATH_MAX + 96], tmp[SWB_PATH_MAX + 96];
	snprintf(dir, sizeof dir, "%s/workspaces/%.40s", n->data_dir, sid);
	snprintf(path, sizeof path, "%s/journal", dir);
	snprintf(tmpdir, sizeof tmpdir, "%s/.compact", dir);
	snprintf(tmp, sizeof tmp, "%s/journal", tmpdir);
	struct stat st;
	if (stat(path, &st) != 0)
		return 0; /* no journal: nothing to do */
	struct wspace *w = scratch_open(n, sid, dir);
	if (!w) {
		swb_error("%s: not compacted (see above)", sid);
		return -1;
	}
	json_t *ws = sys_get(w, "workspace.fetch", NULL);
	bool has_url = json_is_string(json_object_get(ws, "event_callback_url"));
	json_decref(ws);
	struct tally t = { .before = st.st_size };
	unlink(tmp);
	rmdir(tmpdir);
	int rc = -1, fd = -1;
	struct wspace *copy = NULL;
	char why[SWB_PATH_MAX + 512] = "";
	if (mkdir(tmpdir, 0700) != 0) {
		snprintf(why, sizeof why, "cannot create %.4200s: %s", tmpdir, strerror(errno));
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_compacted(w, path, fd, cutoff, has_url, &t) != 0 || fdatasync(fd) != 0) {
		snprintf(why, sizeof why, "cannot write %.4200s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	copy = scratch_open(n, sid, tmpdir);
	if (!copy) {
		snprintf(why, sizeof why, "the compacted copy does not replay");
		goto out;
	}
	if (!same_state(w, copy, why, sizeof why))
		goto out;
	scratch_close(copy);
	copy = NULL;
	if (stat(tmp, &st) == 0)
		t.after = st.st_size;
	/* The old journal's lock is held until the new file is in place. */
	if (rename(tmp, path) != 0 || node_fsync_dir(dir) != 0) {
		snprintf(why, sizeof why, "cannot move the copy into place: %s", strerror(errno));
		goto out;
	}
	rc = 0;
	int pruned = node_journal_prune(w, cutoff);
	printf("%s: %lld -> %lld bytes; state at seq %llu as a snapshot; %llu of %llu events dropped (older than the "
	       "retention%s); callback cursor %llu; %d rotated file%s removed\n", sid, (long long)t.before,
	       (long long)t.after, (unsigned long long)swb_core_last_seq(w->core), (unsigned long long)t.dropped,
	       (unsigned long long)t.events, has_url ? " and delivered" : "", (unsigned long long)w->callback_cursor,
	       pruned, pruned == 1 ? "" : "s");
out:
	if (fd >= 0)
		close(fd);
	scratch_close(copy);
	scratch_close(w);
	unlink(tmp);
	rmdir(tmpdir);
	if (rc != 0)
		swb_error("%s: not compacted, the journal is unchanged: %s", sid, why);
	return rc;
}

int swb_compact(const char *data_dir, int retention_days)
{
	swb_log_init("swb-node", SWB_LOG_INFO);
	struct node *n = calloc(1, sizeof *n);
	if (!n)
		return 1;
	if (data_dir)
		snprintf(n->data_dir, sizeof n->data_dir, "%s", data_dir);
	else
		swb_default_data_dir(n->data_dir, sizeof n->data_dir);
	n->opts.retention_days = retention_days;
	int64_t cutoff = retention_days > 0 ? swb_wall_ms() - (int64_t)retention_days * 86400 * 1000 : INT64_MAX;
	char dir[SWB_PATH_MAX + 16];
	snprintf(dir, sizeof dir, "%s/workspaces", n->data_dir);
	DIR *d = opendir(dir);
	if (!d) {
		swb_error("cannot read %s: %s", dir, strerror(errno));
		free(n);
		return 1;
	}
	int failed = 0, done = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!swb_sid_valid(e->d_name, "WS"))
			continue;
		if (compact_one(n, e->d_name, cutoff) != 0)
			failed++;
		else
			done++;
	}
	closedir(d);
	free(n);
	if (failed)
		return 1;
	printf("compacted %d workspace%s under %s (retention %d day%s)\n", done, done == 1 ? "" : "s", dir,
	       retention_days, retention_days == 1 ? "" : "s");
	return 0;
}
