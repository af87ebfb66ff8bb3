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
 * Usage: bench_journal [--dir DIR] [--events N] [--every-events N] [--batch N] [--runs N]
 *   DIR defaults to ./bench_journal.tmp (removed afterwards): put it on the disk
 *   the node's data directory lives on.
 */
#define _GNU_SOURCE
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
#include "node_internal.h"
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

int main(int argc, char **argv)
{
	const char *dir = "bench_journal.tmp";
	size_t nev = 200000, nev_every = 5000, batch = 64;
	int runs = 3;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
			nev = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--every-events") == 0 && i + 1 < argc)
			nev_every = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
			batch = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_journal [--dir DIR] [--events N] [--every-events N] [--batch N] [--runs N]\n");
			return 2;
		}
	}
	if (!nev || !nev_every || !batch || runs < 1) {
		fprintf(stderr, "bench_journal: counts must be positive\n");
		return 2;
	}
	mkdir(dir, 0700);
	struct swb_err err;
	json_t *doc = swb_workspace_read(NULL, &err);
	struct pool pool = { 0 };
	make_pool(doc, &pool);
	print_machine(dir);
	printf("events: %zu distinct ones from %d tasks (create, accept, complete) of the default workspace, replayed "
	       "with new sequence numbers; best of %d runs\n\n", pool.n, POOL_TASKS, runs);
	printf("%-6s %8s %6s %9s %8s %12s %12s %9s %9s %7s %14s %7s\n", "mode", "events", "batch", "bytes/ev", "fsyncs",
	       "journal ev/s", "raw ev/s", "jrnl MB/s", "raw MB/s", "j/raw", "+serialize/s", "s/raw");
	static const char *const modes[] = { "group", "every", "none" };
	bool met = true;
	for (size_t m = 0; m < 3; m++) {
		bool every = strcmp(modes[m], "every") == 0;
		size_t n = every ? nev_every : nev, b = every ? 1 : batch;
		struct result best_j = { 0 }, best_r = { 0 };
		struct chunks ch = { 0 };
		for (int r = 0; r < runs; r++) {
			char path[4300];
			off_t start;
			struct result j = run_journal(dir, modes[m], doc, &pool, n, b, &ch, &start, path, sizeof path);
			char *data = read_range(path, start, j.bytes);
			struct result raw = run_raw(dir, modes[m], data, &ch);
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
	printf("\ntarget (journal >= 50%% of raw in every mode): %s\n", met ? "met" : "NOT met");
	free_pool(&pool);
	json_decref(doc);
	rm_dir(dir);
	return 0;
}
