/*
 * bench_journal.c - durable event throughput of the journal against the disk.
 *
 * For each fsync mode (group, every, none) it measures, in one run on the same
 * directory:
 *   journal  the node's durable path for events: serialize each event into its
 *            delivery form (swb_eventlog_append), frame it as an E record with
 *            its CRC (node_journal_event), and commit with the mode's cadence
 *            (node_journal_commit: one write + one fdatasync per batch for
 *            group, a write + fdatasync per record for every, a write per
 *            batch for none);
 *   raw      a loop that writes the very bytes the journal wrote, in the same
 *            chunks, to a new file in the same directory with the same flags
 *            and the same fdatasync cadence: what the disk allows.
 * The events are real: a routing core runs tasks through create, accept and
 * complete first and its events are replayed (with fresh sequence numbers)
 * into the journal. The routing itself is not timed (bench_core measures it).
 * Each measurement is the best of --runs; the two alternate so both see the
 * same disk state. The target is journal >= 50% of raw.
 *
 * A second table measures the pause a rotation makes on the routing thread
 * (node_journal_rotate: commit, snapshot the whole core into an S record, write
 * and fdatasync journal-next, two renames, a directory fsync). Workspaces of 1k
 * and 10k Available workers get 1k, then 10k open tasks through node_exec (the
 * journaled path); each size rotates the same journal --rotation-runs times.
 * Beside each rotation, in the same directory: the disk's cost for the new
 * file's bytes (new file, one write, fdatasync, rename, directory fsync), and the
 * CPU part alone (swb_core_snapshot, json_dumps of it, json_decref).
 *
 * Usage: bench_journal [--dir DIR] [--events N] [--every-events N] [--batch N] [--runs N]
 *                      [--rotation-runs N] [--rotation-only]
 *   DIR defaults to ./bench_journal.tmp (removed afterwards): put it on the disk
 *   the node's data directory lives on. --rotation-only skips the throughput table.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "eventlog.h"
#include "log.h"
#include "node_internal.h"
#include "timefmt.h"
#include "workspace_file.h"

#define POOL_TASKS 1000   /* tasks run through a core to make the event pool (~9 events each) */
#define START_MS 1700000000000LL

struct pool {
	struct swb_event *ev;
	size_t n, cap;
	char last_res[SWB_SID_SIZE];
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the event pool ---- */

static void capture(void *ctx, const struct swb_event *ev)
{
	struct pool *p = ctx;
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 4096;
		p->ev = realloc(p->ev, p->cap * sizeof *p->ev);
		if (!p->ev)
			abort();
	}
	p->ev[p->n++] = (struct swb_event){ .seq = ev->seq, .sid = strdup(ev->sid), .type = strdup(ev->type),
					    .ts_ms = ev->ts_ms, .resource_type = strdup(ev->resource_type),
					    .resource_sid = strdup(ev->resource_sid),
					    .description = strdup(ev->description), .data = json_deep_copy(ev->data) };
	if (strcmp(ev->type, "reservation.created") == 0)
		snprintf(p->last_res, sizeof p->last_res, "%s", ev->resource_sid);
}

static void make_pool(json_t *doc, struct pool *p)
{
	struct swb_core_opts co = { .seed = 42, .now_ms = START_MS, .sink = capture, .sink_ctx = p };
	swb_core *c = NULL;
	if (swb_workspace_build(doc, &co, NULL, NULL, &c) != 0) {
		fprintf(stderr, "bench_journal: the default workspace does not load\n");
		exit(1);
	}
	int64_t now = START_MS;
	for (int i = 0; i < POOL_TASKS; i++) {
		now += 50;
		json_t *t = NULL, *a = json_pack("{s:{s:s, s:i}}", "attributes", "department", i % 2 ? "sales" : "support",
						 "n", i);
		p->last_res[0] = '\0';
		swb_core_sys(c, now, "tasks.create", a, &t, NULL);
		json_decref(a);
		if (p->last_res[0]) {
			a = json_pack("{s:s, s:s}", "sid", p->last_res, "reservation_status", "accepted");
			swb_core_sys(c, now + 10, "reservations.update", a, NULL, NULL);
			json_decref(a);
			a = json_pack("{s:O, s:s, s:s}", "sid", json_object_get(t, "sid"), "assignment_status", "completed",
				      "reason", "done");
			swb_core_sys(c, now + 20, "tasks.update", a, NULL, NULL);
			json_decref(a);
		}
		json_decref(t);
	}
	swb_core_free(c);
}

static void free_pool(struct pool *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free((char *)p->ev[i].sid);
		free((char *)p->ev[i].type);
		free((char *)p->ev[i].resource_type);
		free((char *)p->ev[i].resource_sid);
		free((char *)p->ev[i].description);
		json_decref(p->ev[i].data);
	}
	free(p->ev);
}

/* ---- one measurement ---- */

struct result {
	double secs;      /* the journal: framing, write, fdatasync */
	double ser_secs;  /* serializing events into their delivery form (the eventlog's, not the journal's) */
	uint64_t bytes, syncs;
};

struct chunks {
	size_t *len;
	size_t n, cap;
};

static void noop_sink(void *ctx, const struct swb_event *ev)
{
	(void)ctx, (void)ev;
}

static void rm_dir(const char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_journal: could not remove %s\n", dir);
}

/* The node's path: eventlog + E record + commit every `batch` events. Records each commit's size. */
static struct result run_journal(const char *dir, const char *mode, json_t *doc, const struct pool *p, size_t nev,
				 size_t batch, struct chunks *ch, off_t *start, char *path, size_t pathlen)
{
	struct node *n = calloc(1, sizeof *n);
	struct wspace *w = calloc(1, sizeof *w);
	if (!n || !w)
		abort();
	n->opts.fsync_mode = mode;
	snprintf(n->account_sid, sizeof n->account_sid, "AC00000000000000000000000000000001");
	w->n = n;
	snprintf(w->sid, sizeof w->sid, "WS00000000000000000000000000000001");
	snprintf(w->dir, sizeof w->dir, "%s/journal-%s", dir, mode);
	rm_dir(w->dir);
	mkdir(w->dir, 0700);
	w->events = swb_eventlog_new(SWB_EVENTLOG_WINDOW);
	if (node_journal_create(w, doc, 7, noop_sink) != 0) {
		fprintf(stderr, "bench_journal: cannot create a journal in %s\n", w->dir);
		exit(1);
	}
	struct node_journal_stats js0, js;
	node_journal_stats(w, &js0);
	*start = (off_t)js0.size;
	snprintf(path, pathlen, "%s/journal", w->dir);
	ch->n = 0;
	uint64_t written = js0.bytes_written;
	int64_t t0 = mono_ns(), ser = 0;
	for (size_t i = 0; i < nev; i++) {
		struct swb_event ev = p->ev[i % p->n];
		ev.seq = i + 1;
		ev.ts_ms = START_MS + (int64_t)i;
		int64_t s0 = mono_ns();
		swb_eventlog_append(w->events, &ev);
		ser += mono_ns() - s0;
		node_journal_event(w, &ev);
		if ((i + 1) % batch == 0 || i + 1 == nev) {
			node_journal_flush_events(w);
			node_journal_commit(w);
			node_journal_stats(w, &js);
			if (ch->n == ch->cap) {
				ch->cap = ch->cap ? ch->cap * 2 : 4096;
				ch->len = realloc(ch->len, ch->cap * sizeof *ch->len);
				if (!ch->len)
					abort();
			}
			ch->len[ch->n++] = (size_t)(js.bytes_written - written);
			written = js.bytes_written;
		}
	}
	struct result r = { .secs = (double)(mono_ns() - t0 - ser) / 1e9, .ser_secs = (double)ser / 1e9 };
	node_journal_stats(w, &js);
	r.bytes = js.bytes_written - js0.bytes_written;
	r.syncs = js.syncs - js0.syncs;
	node_journal_close(w);
	swb_core_free(w->core);
	swb_eventlog_free(w->events);
	free(w);
	free(n);
	return r;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The same bytes, chunks and fdatasync cadence, straight to a file. */
static struct result run_raw(const char *dir, const char *mode, const char *data, const struct chunks *ch)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/raw-%s", dir, mode);
	unlink(path);
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "bench_journal: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	bool every = strcmp(mode, "every") == 0, group = strcmp(mode, "group") == 0;
	struct result r = { 0 };
	const char *p = data;
	int64_t t0 = mono_ns();
	for (size_t i = 0; i < ch->n; i++) {
		const char *end = p + ch->len[i];
		if (every) {
			while (p < end) {
				const char *nl = memchr(p, '\n', (size_t)(end - p));
				size_t n = (size_t)(nl - p) + 1;
				if (write_all(fd, p, n) != 0 || fdatasync(fd) != 0)
					abort();
				r.syncs++;
				p += n;
			}
		} else {
			if (write_all(fd, p, ch->len[i]) != 0 || (group && fdatasync(fd) != 0))
				abort();
			r.syncs += group;
			p = end;
		}
	}
	r.secs = (double)(mono_ns() - t0) / 1e9;
	r.bytes = (uint64_t)(p - data);
	close(fd);
	unlink(path);
	return r;
}

static char *read_range(const char *path, off_t start, uint64_t len)
{
	char *buf = malloc(len + 1);
	int fd = open(path, O_RDONLY);
	if (!buf || fd < 0 || pread(fd, buf, len, start) != (ssize_t)len) {
		fprintf(stderr, "bench_journal: cannot read back %s\n", path);
		exit(1);
	}
	close(fd);
	return buf;
}

/* ---- rotation: the pause of node_journal_rotate ---- */

#define ROT_BATCH 64 /* tasks per commit while filling a workspace, as a busy node's group commit */

/* A workspace as the node holds it, with a count of the reservations its core made. */
struct rot_ws {
	struct wspace w; /* first: the event sink's ctx is &w */
	struct node n;
	int64_t now;
	size_t tasks, reserved;
};

struct rot_row {
	size_t workers, tasks, reserved;
	size_t snap_bytes, file_bytes;                 /* the S line, the whole new journal */
	double build_ms, dumps_ms, free_ms;            /* swb_core_snapshot, json_dumps, decref (medians) */
	double rot_best, rot_med, base_best, base_med; /* ms */
	double pause_med;                              /* ms of it on the routing thread (the rest on its own) */
};

/* The node's sink (node.c's on_event): the window, then the journal. Counts reservations. */
static void rot_sink(void *ctx, const struct swb_event *ev)
{
	struct rot_ws *r = ctx;
	swb_eventlog_append(r->w.events, ev);
	node_journal_event(&r->w, ev);
	if (strcmp(ev->type, "reservation.created") == 0)
		r->reserved++;
}

/* The default workspace with its eight agents replaced by n generated ones, all Available. New reference. */
static json_t *rot_doc(const json_t *base, size_t n)
{
	static const char *const skills[] = { "sales", "support", "sales\",\"support" };
	json_t *doc = json_deep_copy(base), *workers = json_array();
	for (size_t i = 0; i < n; i++) {
		char name[32], attrs[256];
		snprintf(name, sizeof name, "agent%05zu", i);
		snprintf(attrs, sizeof attrs,
			 "{\"skills\":[\"%s\"],\"languages\":[\"en\"%s],\"level\":%zu,\"contact_uri\":\"client:%s\"}",
			 skills[i % 3], i % 4 ? "" : ",\"es\"", 1 + i % 3, name);
		json_array_append_new(workers, json_pack("{s:s, s:s, s:o}", "friendly_name", name, "activity_sid",
							 "Available", "attributes", json_loads(attrs, 0, NULL)));
	}
	json_object_set_new(doc, "workers", workers);
	return doc;
}

/* A node and a workspace of nworkers with its journal in DIR/rotation-N. */
static struct rot_ws *rot_open(const char *dir, const json_t *base, size_t nworkers)
{
	struct rot_ws *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	r->n.opts.fsync_mode = "group";
	snprintf(r->n.account_sid, sizeof r->n.account_sid, "AC00000000000000000000000000000001");
	r->w.n = &r->n;
	snprintf(r->w.sid, sizeof r->w.sid, "WS00000000000000000000000000000001");
	snprintf(r->w.dir, sizeof r->w.dir, "%s/rotation-%zu", dir, nworkers);
	rm_dir(r->w.dir);
	mkdir(r->w.dir, 0700);
	r->w.events = swb_eventlog_new(SWB_EVENTLOG_WINDOW);
	json_t *doc = rot_doc(base, nworkers);
	if (node_journal_create(&r->w, doc, 7, rot_sink) != 0) {
		fprintf(stderr, "bench_journal: cannot create a journal in %s\n", r->w.dir);
		exit(1);
	}
	json_decref(doc);
	r->now = swb_wall_ms();
	return r;
}

static void rot_close(struct rot_ws *r)
{
	node_journal_close(&r->w);
	swb_core_free(r->w.core);
	swb_eventlog_free(r->w.events);
	rm_dir(r->w.dir);
	free(r);
}

/* Creates tasks through the journaled path until the workspace holds `upto` (none is accepted or ended). */
static void rot_fill(struct rot_ws *r, size_t upto)
{
	struct swb_err err;
	while (r->tasks < upto) {
		json_t *a = json_pack("{s:{s:s, s:i, s:s}}", "attributes", "department",
				      r->tasks % 2 ? "sales" : "support", "n", (int)r->tasks, "from", "+15550100123");
		if (node_exec(&r->w, ++r->now, NULL, "tasks.create", a, NULL, &err) != SWB_OK) {
			fprintf(stderr, "bench_journal: tasks.create: %s\n", err.msg);
			exit(1);
		}
		json_decref(a);
		if (++r->tasks % ROT_BATCH == 0)
			node_journal_commit(&r->w);
	}
	node_journal_commit(&r->w);
	r->w.callback_cursor = swb_core_last_seq(r->w.core); /* no URL: the cursor follows the newest event */
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double ms_since(int64_t t0)
{
	return (double)(mono_ns() - t0) / 1e6;
}

/* The snapshot alone: build, serialize (as the S record does), free; ms into t[0..2]. Its length. */
static size_t rot_snapshot(const struct rot_ws *r, double t[3])
{
	int64_t t0 = mono_ns();
	json_t *snap = swb_core_snapshot(r->w.core);
	t[0] = ms_since(t0);
	t0 = mono_ns();
	char *s = json_dumps(snap, JSON_COMPACT | JSON_PRESERVE_ORDER);
	t[1] = ms_since(t0);
	size_t len = s ? strlen(s) : 0;
	t0 = mono_ns();
	free(s);
	json_decref(snap);
	t[2] = ms_since(t0);
	return len;
}

/* The rotated files (journal.<seq>.<t>) of dir removed: each run leaves one. */
static void rot_remove_segments(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[sizeof ((struct wspace *)0)->dir + 264]; /* dir, /, a d_name */
	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, "journal.", 8) == 0) {
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
}

/* ms for what the disk costs for the new journal's bytes: a new file, one write, fdatasync, a rename
 * and a directory fsync, in the journal's directory. */
static double rot_baseline(const char *dir, const char *data, size_t len)
{
	char next[4300], cur[4300];
	snprintf(next, sizeof next, "%s/base-next", dir);
	snprintf(cur, sizeof cur, "%s/base", dir);
	unlink(next);
	unlink(cur);
	int64_t t0 = mono_ns();
	int fd = open(next, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	int dfd = -1;
	if (fd < 0 || write_all(fd, data, len) != 0 || fdatasync(fd) != 0 || rename(next, cur) != 0 ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) != 0) {
		fprintf(stderr, "bench_journal: baseline in %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	double ms = ms_since(t0);
	close(dfd);
	close(fd);
	unlink(cur);
	return ms;
}

/* One rotation, timed; the new journal read back into *data (malloc'd), its size in *len. */
static double rot_once(struct rot_ws *r, char **data, size_t *len, double *pause_ms)
{
	int64_t t0 = mono_ns();
	if (node_journal_rotate(&r->w, ++r->now) != 0) {
		fprintf(stderr, "bench_journal: node_journal_rotate failed in %s\n", r->w.dir);
		exit(1);
	}
	double ms = ms_since(t0);
	struct node_journal_stats js;
	node_journal_stats(&r->w, &js);
	*pause_ms = (double)js.rotation_pause_ms;
	char path[4300];
	struct stat st;
	snprintf(path, sizeof path, "%s/journal", r->w.dir);
	if (stat(path, &st) != 0) {
		fprintf(stderr, "bench_journal: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	*len = (size_t)st.st_size;
	*data = read_range(path, 0, *len);
	rot_remove_segments(r->w.dir);
	return ms;
}

#define ROT_MAX_RUNS 64

/* runs rotations of the same journal, each followed by its baseline, and the snapshot alone. */
static void rot_measure(struct rot_ws *r, int runs, struct rot_row *row)
{
	double rot[ROT_MAX_RUNS], base[ROT_MAX_RUNS], part[3][ROT_MAX_RUNS], pause[ROT_MAX_RUNS];
	for (int i = 0; i < runs; i++) {
		char *data;
		size_t len;
		rot_fill(r, r->tasks + 1); /* a rotation needs an event since the last one */
		rot[i] = rot_once(r, &data, &len, &pause[i]);
		base[i] = rot_baseline(r->w.dir, data, len);
		row->file_bytes = len;
		row->snap_bytes = (size_t)((char *)memchr(data, '\n', len) + 1 - data);
		free(data);
		double t[3];
		rot_snapshot(r, t);
		for (int k = 0; k < 3; k++)
			part[k][i] = t[k];
	}
	row->pause_med = median(pause, runs);
	row->rot_med = median(rot, runs); /* sorts: [0] is the best */
	row->base_med = median(base, runs);
	row->rot_best = rot[0];
	row->base_best = base[0];
	row->build_ms = median(part[0], runs);
	row->dumps_ms = median(part[1], runs);
	row->free_ms = median(part[2], runs);
	row->tasks = r->tasks;
	row->reserved = r->reserved;
}

static void rot_print(const struct rot_row *x)
{
	printf("%7zu %6zu %8zu %9.0f %9.0f %8.1f %8.1f %7.1f %8.1f %8.1f %8.1f %8.1f %7.1fx %8.0f %7.1fx\n", x->workers,
	       x->tasks, x->reserved, (double)x->snap_bytes / 1024, (double)x->file_bytes / 1024, x->build_ms,
	       x->dumps_ms, x->free_ms, x->rot_best, x->rot_med, x->base_best, x->base_med, x->rot_med / x->base_med,
	       x->pause_med, x->pause_med / x->base_med);
}

/* The rotation table: 1k and 10k workers, each with 1k then 10k open tasks. */
static void run_rotation(const char *dir, const json_t *base, int runs)
{
	static const size_t workers[] = { 1000, 10000 }, tasks[] = { 1000, 10000 };
	printf("rotation: node_journal_rotate of a workspace with N Available workers (default workspace's queues and "
	       "workflow) and open tasks (created, not accepted: reserved while a skilled worker is free, else "
	       "pending); %d runs, each rotating the same journal again; ms\n\n", runs);
	printf("%7s %6s %8s %9s %9s %8s %8s %7s %8s %8s %8s %8s %8s %8s %8s\n", "workers", "tasks", "reserved", "S KB",
	       "file KB", "snapshot", "dumps", "free", "rot best", "rot med", "base bst", "base med", "rot/base",
	       "routing", "rt/base");
	for (size_t i = 0; i < 2; i++) {
		int64_t t0 = mono_ns();
		struct rot_ws *r = rot_open(dir, base, workers[i]);
		for (size_t k = 0; k < 2; k++) {
			rot_fill(r, tasks[k]);
			struct rot_row row = { 0 };
			rot_measure(r, runs, &row);
			row.workers = workers[i];
			rot_print(&row);
			fflush(stdout);
		}
		rot_close(r);
		fprintf(stderr, "bench_journal: %zu workers took %.1f s\n", workers[i], ms_since(t0) / 1000);
	}
	printf("\nsnapshot, dumps, free: swb_core_snapshot, json_dumps of it, json_decref (medians), the CPU part of a "
	       "rotation; base: a new file of the new journal's bytes, write, fdatasync, rename, directory fsync in the "
	       "same directory; rot/base: medians; routing: the median rotation's time on the routing thread (the "
	       "snapshot's tree, the last records, the renames; the dump, write and free run on a thread of their "
	       "own), rt/base: that over the baseline\n");
}

static void print_machine(const char *dir)
{
	struct utsname u;
	uname(&u);
	char model[256] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "model name", 10) == 0) {
			char *c = strchr(line, ':');
			snprintf(model, sizeof model, "%.200s", c ? c + 2 : line);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	if (f)
		fclose(f);
	struct statfs sf;
	char fs[64] = "?";
	if (statfs(dir, &sf) == 0)
		snprintf(fs, sizeof fs, "0x%lx", (unsigned long)sf.f_type);
	printf("machine: %s, %ld CPUs, %s, Linux %s\n", u.machine, sysconf(_SC_NPROCESSORS_ONLN), model, u.release);
	printf("disk: %s (filesystem type %s)\n", dir, fs);
}

struct args {
	const char *dir;
	size_t nev, nev_every, batch;
	int runs, rot_runs;
	bool rotation_only;
};

static int usage(void)
{
	fprintf(stderr, "usage: bench_journal [--dir DIR] [--events N] [--every-events N] [--batch N] [--runs N]\n"
			"                     [--rotation-runs N] [--rotation-only]\n");
	return 2;
}

/* 0, or the exit status for bad arguments (reported). */
static int parse_args(int argc, char **argv, struct args *a)
{
	*a = (struct args){ .dir = "bench_journal.tmp", .nev = 200000, .nev_every = 5000, .batch = 64, .runs = 3,
			    .rot_runs = 5 };
	for (int i = 1; i < argc; i++) {
		bool more = i + 1 < argc;
		if (strcmp(argv[i], "--dir") == 0 && more)
			a->dir = argv[++i];
		else if (strcmp(argv[i], "--events") == 0 && more)
			a->nev = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--every-events") == 0 && more)
			a->nev_every = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--batch") == 0 && more)
			a->batch = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--runs") == 0 && more)
			a->runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--rotation-runs") == 0 && more)
			a->rot_runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--rotation-only") == 0)
			a->rotation_only = true;
		else
			return usage();
	}
	if (!a->nev || !a->nev_every || !a->batch || a->runs < 1 || a->rot_runs < 1 || a->rot_runs > ROT_MAX_RUNS) {
		fprintf(stderr, "bench_journal: counts must be positive (--rotation-runs at most %d)\n", ROT_MAX_RUNS);
		return 2;
	}
	return 0;
}

/* The throughput table: journal against raw in each fsync mode. */
static void run_throughput(const struct args *a, json_t *doc)
{
	struct pool pool = { 0 };
	make_pool(doc, &pool);
	printf("events: %zu distinct ones from %d tasks (create, accept, complete) of the default workspace, replayed "
	       "with new sequence numbers; best of %d runs\n\n", pool.n, POOL_TASKS, a->runs);
	printf("%-6s %8s %6s %9s %8s %12s %12s %9s %9s %7s %14s %7s\n", "mode", "events", "batch", "bytes/ev", "fsyncs",
	       "journal ev/s", "raw ev/s", "jrnl MB/s", "raw MB/s", "j/raw", "+serialize/s", "s/raw");
	static const char *const modes[] = { "group", "every", "none" };
	bool met = true;
	for (size_t m = 0; m < 3; m++) {
		bool every = strcmp(modes[m], "every") == 0;
		size_t n = every ? a->nev_every : a->nev, b = every ? 1 : a->batch;
		struct result best_j = { 0 }, best_r = { 0 };
		struct chunks ch = { 0 };
		for (int r = 0; r < a->runs; r++) {
			char path[4300];
			off_t start;
			struct result j = run_journal(a->dir, modes[m], doc, &pool, n, b, &ch, &start, path, sizeof path);
			char *data = read_range(path, start, j.bytes);
			struct result raw = run_raw(a->dir, modes[m], data, &ch);
			free(data);
			if (!best_j.secs || j.secs + j.ser_secs < best_j.secs + best_j.ser_secs)
				best_j = j;
			if (!best_r.secs || raw.secs < best_r.secs)
				best_r = raw;
		}
		free(ch.len);
		double jr = (double)n / best_j.secs, rr = (double)n / best_r.secs;
		double sr = (double)n / (best_j.secs + best_j.ser_secs);
		printf("%-6s %8zu %6zu %9.0f %8llu %12.0f %12.0f %9.1f %9.1f %6.0f%% %14.0f %6.0f%%\n", modes[m], n, b,
		       (double)best_j.bytes / (double)n, (unsigned long long)best_j.syncs, jr, rr,
		       (double)best_j.bytes / best_j.secs / 1e6, (double)best_r.bytes / best_r.secs / 1e6, 100 * jr / rr,
		       sr, 100 * sr / rr);
		met &= jr >= rr / 2;
	}
	printf("\ntarget (journal >= 50%% of raw in every mode): %s\n\n", met ? "met" : "NOT met");
	free_pool(&pool);
}

int main(int argc, char **argv)
{
	struct args a;
	int rc = parse_args(argc, argv, &a);
	if (rc != 0)
		return rc;
	swb_log_init("bench_journal", SWB_LOG_WARN); /* not a line per rotation */
	mkdir(a.dir, 0700);
	struct swb_err err;
	json_t *doc = swb_workspace_read(NULL, &err);
	print_machine(a.dir);
	if (!a.rotation_only)
		run_throughput(&a, doc);
	else
		printf("\n");
	run_rotation(a.dir, doc, a.rot_runs);
	json_decref(doc);
	rm_dir(a.dir);
	return 0;
}
