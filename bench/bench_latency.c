/*
 * bench_latency.c - how long from a task's creation until a bot sees its
 * reservation, against the number of connected workers, over ipc and tcp,
 * beside the raw nng round trip measured in the same run.
 *
 * For each transport it starts a swb-node (journal fsync "none" by default, so
 * the figure is the node's fan-out and not the disk) on a workspace of one
 * probe worker and enough background workers for the largest size. The
 * background workers are real swb-bot processes: each worker has its own
 * connection and worker token and holds an events.next pull, exactly as a
 * console would; they are not in the probe's queue, so every task goes to the
 * probe. The probe is a worker client in this process, built like swb-bot's
 * (swb_client follow thread, event fd).
 *
 * One sample: a thread notes the time and sends tasks.create (admin token);
 * the main thread waits on the probe's event fd and notes the time the
 * reservation.created event is taken from the client's queue. Then the probe
 * accepts and completes the task, and the next sample starts: one task in
 * flight, so the figure is latency, not queueing.
 *
 * The baseline is an nng req/rep echo between two processes (rep0 in a child,
 * synchronous send/recv of a 320-byte message, about the size of the
 * tasks.create request) on the same transport. Beside it, the node's own
 * request round trip at each size (session.hello from the probe), which
 * separates the node's request path from the event fan-out.
 *
 * Usage: bench_latency [--quick] [--sizes 1,100,1000,10000] [--samples N]
 *                      [--transports ipc,tcp] [--fsync none|group|every] [--keep]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bot_hist.h"
#include "bot_rig.h"
#include "swb_client.h"
#include "timefmt.h"

#define MAX_SIZES 8
#define MAX_CHUNKS 64
#define RAW_MSG_BYTES 320        /* about a tasks.create request with its token */
#define RAW_SAMPLES 5000
#define WARMUP_SAMPLES 50
#define SAMPLE_TIMEOUT_MS 10000
#define READY_MS_PER_WORKER 20   /* how long a bot process may take to set up, per worker */
#define SETTLE_MS 2000           /* after the bots are up: their start-up requests drain */
#define CALL_MS 30000

struct chunk {
	char prefix[16];
	int workers;
	int step;                    /* the size index at which it connects */
	pid_t pid;
};

struct sample_thread {
	swb_client *admin;
	sem_t go, done;
	atomic_llong t0_ns, t1_ns;
	enum swb_code rc;
	struct swb_err err;
	bool stop;
	pthread_t th;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what, const struct swb_err *err)
{
	fprintf(stderr, "bench_latency: %s: %s\n", what, err ? err->msg : strerror(errno));
	exit(1);
}

/* The bench workspace: one probe in queue Probe, the background workers outside it. */
static json_t *workspace(const struct chunk *chunks, int nchunks)
{
	json_t *workers = json_array();
	json_array_append_new(workers, json_pack("{s:s, s:{s:i}}", "friendly_name", "probe", "attributes", "probe", 1));
	for (int c = 0; c < nchunks; c++)
		for (int i = 0; i < chunks[c].workers; i++) {
			char name[32];
			snprintf(name, sizeof name, "%.15s%05d", chunks[c].prefix, i);
			json_array_append_new(workers, json_pack("{s:s, s:{s:i}}", "friendly_name", name, "attributes", "probe", 0));
		}
	return json_pack("{s:s, s:[{s:s, s:b}, {s:s, s:b}], s:s, s:s, s:[{s:s, s:s}], s:o, s:[{s:s, s:i, s:{s:{s:[], s:{s:s}}}}]}",
			 "friendly_name", "bench_latency", "activities", "friendly_name", "Offline", "available", 0,
			 "friendly_name", "Available", "available", 1, "default_activity_sid", "Offline",
			 "timeout_activity_sid", "Offline", "task_queues", "friendly_name", "Probe", "target_workers",
			 "probe == 1", "workers", workers, "workflows", "friendly_name", "Bench", "task_reservation_timeout",
			 3600, "configuration", "task_routing", "filters", "default_filter", "queue", "Probe");
}

static void *sample_main(void *arg)
{
	struct sample_thread *s = arg;
	json_t *args = json_pack("{s:{s:s}}", "attributes", "bench", "latency");
	for (;;) {
		sem_wait(&s->go);
		if (s->stop)
			break;
		json_t *res = NULL;
		atomic_store(&s->t0_ns, mono_ns());
		s->rc = swb_client_call(s->admin, "tasks.create", args, CALL_MS, &res, &s->err);
		atomic_store(&s->t1_ns, mono_ns());
		json_decref(res);
		sem_post(&s->done);
	}
	json_decref(args);
	return NULL;
}

/* Waits for the probe's next reservation.created; its SIDs go to rsid/tsid. Time taken, or -1. */
static int64_t wait_reservation(swb_client *probe, char *rsid, char *tsid, size_t len)
{
	int64_t until = mono_ns() + (int64_t)SAMPLE_TIMEOUT_MS * 1000000;
	for (;;) {
		json_t *ev;
		while ((ev = swb_client_next_event(probe))) {
			int64_t t = mono_ns();
			const char *type = json_string_value(json_object_get(ev, "event_type"));
			if (type && strcmp(type, "reservation.created") == 0) {
				json_t *d = json_object_get(ev, "event_data");
				snprintf(rsid, len, "%s", json_string_value(json_object_get(d, "reservation_sid")));
				snprintf(tsid, len, "%s", json_string_value(json_object_get(d, "task_sid")));
				json_decref(ev);
				return t;
			}
			json_decref(ev);
		}
		int64_t left = (until - mono_ns()) / 1000000;
		if (left <= 0)
			return -1;
		struct pollfd p = { .fd = swb_client_event_fd(probe), .events = POLLIN };
		poll(&p, 1, (int)left);
	}
}

/* One sample: create, see, accept, complete. The latency in ns, or -1; *create_ns: tasks.create's round trip. */
static int64_t one_sample(struct sample_thread *st, swb_client *probe, int64_t *create_ns)
{
	char rsid[64], tsid[64];
	sem_post(&st->go);
	int64_t t1 = wait_reservation(probe, rsid, tsid, sizeof rsid);
	sem_wait(&st->done);
	if (st->rc != SWB_OK)
		die("tasks.create", &st->err);
	*create_ns = atomic_load(&st->t1_ns) - atomic_load(&st->t0_ns);
	if (t1 < 0)
		return -1;
	int64_t lat = t1 - atomic_load(&st->t0_ns);
	struct swb_err err;
	json_t *a = json_pack("{s:s, s:s}", "sid", rsid, "reservation_status", "accepted");
	json_t *c = json_pack("{s:s, s:s}", "sid", tsid, "assignment_status", "completed");
	if (swb_client_call(probe, "reservations.update", a, CALL_MS, NULL, &err) != SWB_OK ||
	    swb_client_call(probe, "tasks.update", c, CALL_MS, NULL, &err) != SWB_OK)
		die("the probe's answer", &err);
	json_decref(a);
	json_decref(c);
	return lat;
}

/* The node's own request round trip at this size: session.hello from the probe. */
static void node_rtt(swb_client *probe, int n, double *p50_us, double *p99_us)
{
	struct swb_hist *h = calloc(1, sizeof *h);
	struct swb_err err;
	for (int i = 0; h && i < n; i++) {
		json_t *res = NULL;
		int64_t t0 = mono_ns();
		if (swb_client_call(probe, "session.hello", NULL, CALL_MS, &res, &err) != SWB_OK)
			die("session.hello", &err);
		swb_hist_add(h, mono_ns() - t0);
		json_decref(res);
	}
	*p50_us = h ? (double)swb_hist_quantile(h, 0.5) / 1000.0 : 0;
	*p99_us = h ? (double)swb_hist_quantile(h, 0.99) / 1000.0 : 0;
	free(h);
}

struct row {
	const char *transport;
	int workers, samples, lost;
	double p50_us, p99_us, create_p50_us, hello_p50_us, hello_p99_us, idle_cpu;
	long node_rss_kb;
};

static int parse_sizes(const char *s, int *sizes)
{
	int n = 0;
	char *dup = strdup(s), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t && n < MAX_SIZES; t = strtok_r(NULL, ",", &save)) {
		int v = atoi(t);
		if (v < 1 || (n && v <= sizes[n - 1])) {
			fprintf(stderr, "bench_latency: --sizes wants increasing numbers >= 1\n");
			exit(2);
		}
		sizes[n++] = v;
	}
	free(dup);
	return n;
}

int main(int argc, char **argv)
{
	int echo = swb_rig_echo_main(argc, argv);
	if (echo >= 0)
		return echo;
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },        { "sizes", required_argument, NULL, 's' },
		{ "samples", required_argument, NULL, 'n' }, { "transports", required_argument, NULL, 't' },
		{ "fsync", required_argument, NULL, 'f' },  { "keep", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	int sizes[MAX_SIZES] = { 1, 100, 1000, 10000 }, nsizes = 4, samples = 1000;
	const char *transports = "ipc,tcp", *fsync = "none";
	bool keep = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			nsizes = parse_sizes("1,100,1000", sizes);
			samples = 300;
			break;
		case 's': nsizes = parse_sizes(optarg, sizes); break;
		case 'n': samples = atoi(optarg) > 0 ? atoi(optarg) : samples; break;
		case 't': transports = optarg; break;
		case 'f': fsync = optarg; break;
		case 'k': keep = true; break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"usage: bench_latency [--quick] [--sizes 1,100,1000,10000] [--samples N] "
				"[--transports ipc,tcp] [--fsync none|group|every] [--keep]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	long nofile = swb_rig_raise_nofile();
	swb_rig_install_cleanup();
	char machine[256], date[SWB_ISO_SIZE];
	swb_rig_machine(machine, sizeof machine);
	swb_iso8601(swb_wall_ms(), date);
	printf("bench_latency %s\nmachine: %s\n", date, machine);
	printf("one sample: tasks.create (admin, one task in flight) -> reservation.created taken from the probe bot's\n"
	       "event queue; journal fsync %s; %d samples per row after %d warm-up; open files limit %ld\n\n", fsync,
	       samples, WARMUP_SAMPLES, nofile);
	fflush(stdout);

	/* the background workers, in chunks of at most SWB_RIG_WORKERS_PER_BOT per swb-bot process */
	struct chunk chunks[MAX_CHUNKS];
	int nchunks = 0, have = 0;
	for (int i = 0; i < nsizes; i++) {
		int need = sizes[i] - 1 - have;
		while (need > 0 && nchunks < MAX_CHUNKS) {
			struct chunk *ch = &chunks[nchunks];
			ch->workers = need > SWB_RIG_WORKERS_PER_BOT ? SWB_RIG_WORKERS_PER_BOT : need;
			ch->step = i;
			ch->pid = 0;
			snprintf(ch->prefix, sizeof ch->prefix, "bg%02d-", nchunks);
			need -= ch->workers;
			have += ch->workers;
			nchunks++;
		}
	}
	char wsdir[SWB_RIG_PATH_MAX];
	struct swb_err err = { 0 };
	if (swb_rig_tmpdir(wsdir, sizeof wsdir, "bench-latency", &err) != SWB_OK)
		die("temporary directory", &err);
	char wspath[SWB_RIG_PATH_MAX + 16];
	snprintf(wspath, sizeof wspath, "%s/ws.json", wsdir);
	json_t *ws = workspace(chunks, nchunks);
	if (swb_rig_write_json(wspath, ws, &err) != SWB_OK)
		die("workspace", &err);
	json_decref(ws);

	struct row rows[2 * MAX_SIZES];
	struct swb_rig_rtt raw[2];
	int nrows = 0, ntrans = 0;
	const char *tnames[2];
	for (int tcp = 0; tcp <= 1; tcp++) {
		if (!strstr(transports, tcp ? "tcp" : "ipc"))
			continue;
		tnames[ntrans] = tcp ? "tcp" : "ipc";
		if (swb_rig_raw_rtt(tcp, wsdir, RAW_MSG_BYTES, RAW_SAMPLES, &raw[ntrans], &err) != SWB_OK)
			die("raw round trip", &err);
		printf("%s: raw nng req/rep round trip p50 %.1f us, p99 %.1f us (%d samples)\n", tnames[ntrans],
		       raw[ntrans].p50_us, raw[ntrans].p99_us, raw[ntrans].samples);
		fflush(stdout);

		struct swb_rig_node node;
		if (swb_rig_node_start(&node, wspath, tcp, fsync, NULL, &err) != SWB_OK)
			die("swb-node", &err);
		char *admin_tok = NULL, *probe_tok = NULL;
		if (swb_client_local_token(node.data, "admin", 24 * 3600, &admin_tok, &err) != SWB_OK)
			die("admin token", &err);
		struct sample_thread st = { 0 };
		st.admin = swb_client_open(node.url, admin_tok, &err);
		json_t *res = NULL, *args = json_pack("{s:s}", "friendly_name", "probe");
		if (!st.admin || swb_client_call(st.admin, "workers.list", args, CALL_MS, &res, &err) != SWB_OK)
			die("workers.list", &err);
		json_decref(args);
		char scope[80];
		snprintf(scope, sizeof scope, "worker:%s",
			 json_string_value(json_object_get(json_array_get(json_object_get(res, "workers"), 0), "sid")));
		json_decref(res);
		if (swb_client_local_token(node.data, scope, 24 * 3600, &probe_tok, &err) != SWB_OK)
			die("probe token", &err);
		swb_client *probe = swb_client_open(node.url, probe_tok, &err);
		args = json_pack("{s:s, s:s}", "sid", scope + 7, "activity_sid", "Available");
		if (!probe || swb_client_call(probe, "workers.update", args, CALL_MS, NULL, &err) != SWB_OK ||
		    swb_client_follow(probe, SWB_FOLLOW_NOW, &err) != SWB_OK)
			die("probe", &err);
		json_decref(args);
		sem_init(&st.go, 0, 0);
		sem_init(&st.done, 0, 0);
		pthread_create(&st.th, NULL, sample_main, &st);

		for (int si = 0; si < nsizes; si++) {
			/* connect this size's new background bots and wait until each worker is set up */
			for (int k = 0; k < nchunks; k++) {
				if (chunks[k].step != si)
					continue;
				char ready[SWB_RIG_PATH_MAX + 32], log[SWB_RIG_PATH_MAX + 32];
				snprintf(ready, sizeof ready, "%s/%s%.15s.ready", node.dir, tnames[ntrans], chunks[k].prefix);
				snprintf(log, sizeof log, "%s/%.15s.log", node.dir, chunks[k].prefix);
				const char *bargs[] = { "--url", node.url, "--data", node.data, "--prefix", chunks[k].prefix,
							"--no-available", "--exit-activity", "none", "--quiet", "--ready-file",
							ready, "--report", "/dev/null", NULL };
				if (swb_rig_spawn("swb-bot", bargs, log, &chunks[k].pid, &err) != SWB_OK)
					die("swb-bot", &err);
				if (!swb_rig_wait_file(ready, 30000 + chunks[k].workers * READY_MS_PER_WORKER, chunks[k].pid)) {
					fprintf(stderr, "bench_latency: the bots of %s did not come up (see %s)\n", chunks[k].prefix, log);
					exit(1);
				}
			}
			double idle = swb_rig_cpu_percent(node.pid, SETTLE_MS); /* and the bots' start-up settles */

			struct swb_hist *h = calloc(1, sizeof *h), *hc = calloc(1, sizeof *hc);
			int lost = 0;
			for (int i = 0; i < WARMUP_SAMPLES + samples; i++) {
				int64_t create_ns, lat = one_sample(&st, probe, &create_ns);
				if (lat < 0)
					lost++;
				else if (i >= WARMUP_SAMPLES)
					swb_hist_add(h, lat), swb_hist_add(hc, create_ns);
			}
			struct row *r = &rows[nrows++];
			*r = (struct row){ tnames[ntrans], sizes[si], (int)h->count, lost,
					   (double)swb_hist_quantile(h, 0.5) / 1000.0, (double)swb_hist_quantile(h, 0.99) / 1000.0,
					   (double)swb_hist_quantile(hc, 0.5) / 1000.0, 0, 0, idle, swb_rig_rss_kb(node.pid) };
			free(hc);
			node_rtt(probe, samples, &r->hello_p50_us, &r->hello_p99_us);
			printf("  %s %6d workers: p50 %8.1f us  p99 %8.1f us  (tasks.create round trip p50 %.1f us, "
			       "session.hello p50 %.1f us; node idle CPU %.1f%%, RSS %.1f MB)\n",
			       r->transport, r->workers, r->p50_us, r->p99_us, r->create_p50_us, r->hello_p50_us, r->idle_cpu,
			       (double)r->node_rss_kb / 1024.0);
			fflush(stdout);
			free(h);
		}
		st.stop = true;
		sem_post(&st.go);
		pthread_join(st.th, NULL);
		swb_client_close(probe);
		swb_client_close(st.admin);
		for (int k = 0; k < nchunks; k++)
			if (chunks[k].pid > 0) {
				swb_rig_stop(chunks[k].pid, 20000);
				chunks[k].pid = 0;
			}
		swb_rig_node_stop(&node, keep);
		if (keep)
			printf("  (kept %s)\n", node.dir);
		free(admin_tok);
		free(probe_tok);
		sem_destroy(&st.go);
		sem_destroy(&st.done);
		ntrans++;
	}
	swb_rig_rmdir(wsdir);

	printf("\n                      created -> seen by a bot  raw nng round trip   session.hello  create\n");
	printf(" transport  workers  samples    p50 us    p99 us    p50 us    p99 us    p50 us    p99 us  p50 us  "
	       "p99/raw p99  idle CPU  RSS MB\n");
	for (int i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		const struct swb_rig_rtt *b = &raw[strcmp(r->transport, tnames[0]) == 0 ? 0 : 1];
		printf(" %9s %8d %8d %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %7.1f %11.1fx %8.1f%% %7.1f%s\n", r->transport,
		       r->workers, r->samples, r->p50_us, r->p99_us, b->p50_us, b->p99_us, r->hello_p50_us, r->hello_p99_us,
		       r->create_p50_us, r->p99_us / b->p99_us, r->idle_cpu, (double)r->node_rss_kb / 1024.0,
		       r->lost ? "  (some samples lost)" : "");
	}
	for (int i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		if (r->workers != 1000)
			continue;
		const struct swb_rig_rtt *b = &raw[strcmp(r->transport, tnames[0]) == 0 ? 0 : 1];
		printf("target at 1000 workers over %s: p99 within 3x the raw round trip: %.2fx of p99 (%.1fx of p50): %s\n",
		       r->transport, r->p99_us / b->p99_us, r->p99_us / b->p50_us, r->p99_us <= 3 * b->p99_us ? "met" : "NOT met");
	}
	return 0;
}
