/*
 * bench_core.c - how the routing core's cost per task grows with the number of workers.
 *
 * For each size (1k, 10k and 100k workers, plus a 100-worker baseline measured in
 * the same run) it builds a workspace of 50 queues (`skills HAS "qN"`), one
 * workflow of 50 filters (`q == "qN"` -> queue N) and N Available workers with
 * 2-3 skills each, then drives the core through its public API with a fake
 * clock: create a task (the core picks a filter, enters the queue and reserves
 * the longest-idle eligible worker), accept the reservation, complete the task
 * (which frees the worker again). Only the swb_core_exec calls are timed;
 * building argument JSON is not.
 *
 * Beside each size it times a naive router's cost: evaluating one queue's
 * target expression against every worker once, which is what routing by
 * scanning all workers would pay per task. The core caches queue membership
 * and keeps idle workers ordered, so its cost should stay near the baseline
 * while the naive scan grows with N.
 *
 * A second table holds the worker count and varies how many finished tasks the
 * core retains (it purges each one 5 minutes after it ends), since a purge's
 * cost may depend on that rather than on the workers.
 *
 * Usage: bench_core [--quick] [--tasks N] [--ms-per-task N]; see bench/README.md.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "expr.h"
#include "sid.h"

#define NQUEUES 50              /* the workspace shape */
#define BASELINE_WORKERS 100    /* small enough that any per-worker cost vanishes */
#define RES_TIMEOUT_S 3600      /* no reservation times out during a run */
#define FULL_TASKS 50000        /* measured tasks per size (full run) */
#define QUICK_TASKS 10000
#define WARMUP_TASKS 2000       /* routed before measuring, so lists and heaps are warm */
#define SCAN_BUDGET_EVALS 4000000 /* naive scan: about this many evaluations per size */
#define MAX_SIZES 8
#define RETENTION_MS 300000     /* the core's SWB_TASK_RETENTION_MS (core_internal.h, not public) */
#define RETENTION_WORKERS 1000
#define RETENTION_TASKS 10000
#define START_MS 1700000000000LL

/* ---- small helpers ---- */

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* splitmix64: a seeded PRNG, so every run builds the same workspaces and tasks. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int rng_below(uint64_t *s, int n)
{
	return (int)(rng_next(s) % (uint64_t)n);
}

static void die(const char *what, const struct swb_err *err)
{
	fprintf(stderr, "bench_core: %s: %s\n", what, err ? err->msg : "failed");
	exit(1);
}

static long peak_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/*
 * Worker i's skills: queue i % NQUEUES (so every queue has workers even in the
 * baseline) plus one or two other distinct random queues. Writes queue indexes
 * into out and returns how many.
 */
static int worker_skills(uint64_t *rng, size_t i, int out[3])
{
	int n = 2 + rng_below(rng, 2);
	out[0] = (int)(i % NQUEUES);
	for (int k = 1; k < n; k++) {
		int q;
		bool dup;
		do {
			q = rng_below(rng, NQUEUES);
			dup = false;
			for (int j = 0; j < k; j++)
				dup |= out[j] == q;
		} while (dup);
		out[k] = q;
	}
	return n;
}

/* A new reference: {"skills": ["q3", "q17"]}. */
static json_t *skills_attrs(const int *skills, int n)
{
	json_t *arr = json_array();
	for (int k = 0; k < n; k++) {
		char s[16];
		snprintf(s, sizeof s, "q%d", skills[k]);
		json_array_append_new(arr, json_string(s));
	}
	return json_pack("{s:o}", "skills", arr);
}

/* ---- the workspace under test ---- */

/* Counts events and remembers the latest reservation, which is how the bench finds it. */
struct sink {
	uint64_t events;
	uint64_t reservations;
	char last_res[SWB_SID_SIZE];
};

static void on_event(void *ctx, const struct swb_event *ev)
{
	struct sink *s = ctx;
	s->events++;
	if (strcmp(ev->type, "reservation.created") == 0) {
		s->reservations++;
		snprintf(s->last_res, sizeof s->last_res, "%s", ev->resource_sid);
	}
}

struct bench {
	swb_core *core;
	int64_t now;
	int ms_per_op;
	struct sink sink;
	char wf_sid[SWB_SID_SIZE];
	uint64_t rng;
};

/* Runs op with the system actor; args is stolen. Returns a new reference when want_result. */
static json_t *exec(struct bench *b, const char *op, json_t *args, bool want_result)
{
	struct swb_err err = { 0 };
	json_t *res = NULL;
	b->now += b->ms_per_op;
	enum swb_code rc = swb_core_sys(b->core, b->now, op, args, want_result ? &res : NULL, &err);
	json_decref(args);
	if (rc != SWB_OK)
		die(op, &err);
	return res;
}

static void build_workspace(struct bench *b, size_t nworkers, int ms_per_op)
{
	memset(b, 0, sizeof *b);
	b->now = START_MS;
	b->ms_per_op = ms_per_op;
	b->rng = 0x5eed0000 + nworkers;
	struct swb_core_opts opts = { .seed = 42, .now_ms = b->now, .sink = on_event, .sink_ctx = &b->sink };
	b->core = swb_core_new(&opts);
	if (!b->core)
		die("swb_core_new", NULL);

	json_t *filters = json_array();
	const char *first_queue = NULL;
	json_t *first_res = NULL;
	for (int q = 0; q < NQUEUES; q++) {
		char name[32], target[64], expr[32];
		snprintf(name, sizeof name, "Queue q%d", q);
		snprintf(target, sizeof target, "skills HAS \"q%d\"", q);
		snprintf(expr, sizeof expr, "q == \"q%d\"", q);
		json_t *res = exec(b, "task_queues.create", json_pack("{s:s, s:s}", "friendly_name", name,
									 "target_workers", target), true);
		const char *sid = json_string_value(json_object_get(res, "sid"));
		if (!sid)
			die("task_queues.create returned no sid", NULL);
		json_array_append_new(filters, json_pack("{s:s, s:s, s:[{s:s}]}", "filter_friendly_name", name,
							 "expression", expr, "targets", "queue", sid));
		if (!first_res) {
			first_res = res;
			first_queue = sid;
		} else {
			json_decref(res);
		}
	}
	json_t *config = json_pack("{s:{s:o, s:{s:s}}}", "task_routing", "filters", filters, "default_filter",
				   "queue", first_queue);
	json_t *wf = exec(b, "workflows.create", json_pack("{s:s, s:o, s:i}", "friendly_name", "Bench",
							     "configuration", config, "task_reservation_timeout",
							     RES_TIMEOUT_S), true);
	snprintf(b->wf_sid, sizeof b->wf_sid, "%s", json_string_value(json_object_get(wf, "sid")));
	json_decref(wf);
	json_decref(first_res);

	uint64_t skill_rng = 0xabcdef ^ nworkers;
	for (size_t i = 0; i < nworkers; i++) {
		int skills[3];
		int n = worker_skills(&skill_rng, i, skills);
		char name[32];
		snprintf(name, sizeof name, "worker-%zu", i);
		exec(b, "workers.create", json_pack("{s:s, s:o, s:s}", "friendly_name", name, "attributes",
						    skills_attrs(skills, n), "activity_sid", "Available"), false);
	}
}

/* ---- the measured cycle ---- */

struct cycle_stats {
	int64_t total_ns;  /* create + accept + complete, summed over the tasks */
	int64_t route_ns;  /* tasks.create alone */
	int64_t *route_each;
};

/* Creates, accepts and completes one task; adds the time spent in the core to st (when given). */
static void one_task(struct bench *b, struct cycle_stats *st, size_t idx)
{
	char q[16];
	snprintf(q, sizeof q, "q%d", rng_below(&b->rng, NQUEUES));
	json_t *args = json_pack("{s:s, s:{s:s}}", "workflow_sid", b->wf_sid, "attributes", "q", q);
	uint64_t before = b->sink.reservations;

	int64_t t0 = mono_ns();
	json_t *task = exec(b, "tasks.create", args, true);
	int64_t t1 = mono_ns();
	if (b->sink.reservations != before + 1)
		die("tasks.create did not reserve a worker (every worker should be idle)", NULL);
	char task_sid[SWB_SID_SIZE];
	snprintf(task_sid, sizeof task_sid, "%s", json_string_value(json_object_get(task, "sid")));
	json_decref(task);

	args = json_pack("{s:s, s:s}", "sid", b->sink.last_res, "reservation_status", "accepted");
	int64_t t2 = mono_ns();
	json_decref(exec(b, "reservations.update", args, true));
	int64_t t3 = mono_ns();

	args = json_pack("{s:s, s:s}", "sid", task_sid, "assignment_status", "completed");
	int64_t t4 = mono_ns();
	json_decref(exec(b, "tasks.update", args, true));
	int64_t t5 = mono_ns();

	if (st) {
		st->route_ns += t1 - t0;
		st->total_ns += (t1 - t0) + (t3 - t2) + (t5 - t4);
		st->route_each[idx] = t1 - t0;
	}
}

/* ---- the naive baseline: one full scan of the workers per routing decision ---- */

/* Nanoseconds for evaluating `skills HAS "q7"` against all n workers once (best of several scans). */
static double naive_scan_ns(size_t nworkers)
{
	json_t **attrs = calloc(nworkers, sizeof *attrs);
	if (!attrs)
		die("out of memory", NULL);
	uint64_t skill_rng = 0xabcdef ^ nworkers;
	for (size_t i = 0; i < nworkers; i++) {
		int skills[3];
		int n = worker_skills(&skill_rng, i, skills);
		attrs[i] = skills_attrs(skills, n);
	}
	swb_expr *e;
	struct swb_err err = { 0 };
	if (swb_expr_compile("skills HAS \"q7\"", &e, &err) != SWB_OK)
		die("swb_expr_compile", &err);
	size_t reps = SCAN_BUDGET_EVALS / nworkers;
	if (reps < 3)
		reps = 3;
	int64_t best = INT64_MAX;
	size_t matched = 0;
	for (size_t r = 0; r < reps; r++) {
		int64_t t0 = mono_ns();
		size_t m = 0;
		for (size_t i = 0; i < nworkers; i++) {
			swb_expr_ctx ctx = { .bare = attrs[i], .worker = attrs[i] };
			m += swb_expr_eval(e, &ctx);
		}
		int64_t dt = mono_ns() - t0;
		if (dt < best)
			best = dt;
		matched = m;
	}
	if (matched == 0)
		die("naive scan matched no worker", NULL);
	swb_expr_free(e);
	for (size_t i = 0; i < nworkers; i++)
		json_decref(attrs[i]);
	free(attrs);
	return (double)best;
}

/* ---- one size ---- */

struct result {
	size_t workers;
	double setup_s;
	long rss_kb;
	double ns_task, ns_route, p50_route, p99_route;
	double naive_ns;
	uint64_t events_per_task_x100;
};

/*
 * Builds a workspace of nworkers, routes `warmup` tasks, then measures ntasks.
 * The fake clock moves ms_per_task per task (a third per op). With naive, also
 * times the naive scan at this size (after freeing the core, so it does not
 * raise the peak RSS reported for the size).
 */
static void run_size(size_t nworkers, size_t warmup, size_t ntasks, int ms_per_task, bool naive,
		     struct result *out)
{
	struct bench b;
	int64_t t0 = mono_ns();
	build_workspace(&b, nworkers, ms_per_task / 3);
	int64_t t1 = mono_ns();

	for (size_t i = 0; i < warmup; i++)
		one_task(&b, NULL, i);

	struct cycle_stats st = { 0 };
	st.route_each = calloc(ntasks, sizeof *st.route_each);
	if (!st.route_each)
		die("out of memory", NULL);
	uint64_t ev0 = b.sink.events;
	for (size_t i = 0; i < ntasks; i++)
		one_task(&b, &st, i);
	uint64_t events = b.sink.events - ev0;
	qsort(st.route_each, ntasks, sizeof *st.route_each, cmp_i64);

	out->workers = nworkers;
	out->setup_s = (double)(t1 - t0) / 1e9;
	out->rss_kb = peak_rss_kb();
	out->ns_task = (double)st.total_ns / (double)ntasks;
	out->ns_route = (double)st.route_ns / (double)ntasks;
	out->p50_route = (double)st.route_each[ntasks / 2];
	out->p99_route = (double)st.route_each[ntasks * 99 / 100];
	out->events_per_task_x100 = events * 100 / ntasks;
	free(st.route_each);
	swb_core_free(b.core);

	out->naive_ns = naive ? naive_scan_ns(nworkers) : 0;
}

/* ---- report ---- */

static void print_machine(void)
{
	struct utsname u;
	char model[256] = "unknown";
	if (uname(&u) != 0)
		snprintf(u.machine, sizeof u.machine, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof line, f)) {
			char *colon = strchr(line, ':');
			if (colon && strncmp(line, "model name", 10) == 0) {
				colon++;
				while (*colon == ' ' || *colon == '\t')
					colon++;
				colon[strcspn(colon, "\n")] = '\0';
				snprintf(model, sizeof model, "%s", colon);
				break;
			}
		}
		fclose(f);
	}
	printf("machine: %s, %ld CPUs, %s\n", u.machine, sysconf(_SC_NPROCESSORS_ONLN), model);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_core [--quick] [--tasks N] [--ms-per-task N]\n"
			"  --quick          1k and 10k workers, %d tasks each (default: 1k, 10k, 100k, %d tasks)\n"
			"  --tasks N        measured tasks per size (the retention table measures at most %d)\n"
			"  --ms-per-task N  simulated milliseconds per task, at least 3 (default 3). Finished tasks\n"
			"                   are purged 5 minutes after they end, so purges start within the first\n"
			"                   table's runs once warm-up + tasks exceeds 300000 / N\n",
		QUICK_TASKS, FULL_TASKS, RETENTION_TASKS);
	exit(2);
}

int main(int argc, char **argv)
{
	bool quick = false;
	long tasks = 0, ms_per_task = 3;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--tasks") == 0 && i + 1 < argc)
			tasks = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--ms-per-task") == 0 && i + 1 < argc)
			ms_per_task = strtol(argv[++i], NULL, 10);
		else
			usage();
	}
	if (tasks <= 0)
		tasks = quick ? QUICK_TASKS : FULL_TASKS;
	if (ms_per_task < 3 || ms_per_task > 3000000)
		usage();

	size_t sizes[MAX_SIZES];
	size_t nsizes = 0;
	sizes[nsizes++] = BASELINE_WORKERS;
	sizes[nsizes++] = 1000;
	sizes[nsizes++] = 10000;
	if (!quick)
		sizes[nsizes++] = 100000;

	printf("Switchboard routing core: cost per task against the number of workers\n");
	print_machine();
	printf("workspace: %d queues (skills HAS \"qN\"), 1 workflow of %d filters (q == \"qN\"), 2-3 skills per worker\n",
	       NQUEUES, NQUEUES);
	printf("per size: %d warm-up tasks, then %ld measured; one task = tasks.create + reservations.update "
	       "accepted + tasks.update completed\n\n",
	       WARMUP_TASKS, tasks);
	fflush(stdout);

	struct result res[MAX_SIZES];
	printf("%8s %8s %8s %9s %8s %8s %9s %9s %7s %7s %12s %7s\n", "workers", "setup s", "RSS MB", "tasks/s",
	       "ns/task", "ns/route", "p50 route", "p99 route", "x task", "x route", "naive scan", "scan/rt");
	for (size_t i = 0; i < nsizes; i++) {
		run_size(sizes[i], WARMUP_TASKS, (size_t)tasks, (int)ms_per_task, true, &res[i]);
		const struct result *r = &res[i], *base = &res[0];
		printf("%8zu %8.2f %8.1f %9.0f %8.0f %8.0f %9.0f %9.0f %6.2fx %6.2fx %12.0f %6.1fx%s\n", r->workers,
		       r->setup_s, (double)r->rss_kb / 1024.0, 1e9 / r->ns_task, r->ns_task, r->ns_route, r->p50_route,
		       r->p99_route, r->ns_task / base->ns_task, r->ns_route / base->ns_route, r->naive_ns,
		       r->naive_ns / r->ns_route, i == 0 ? "  (baseline)" : "");
		fflush(stdout);
	}
	const struct result *big = &res[nsizes - 1];
	printf("\n%zu workers vs the %d-worker baseline: %.2fx the cost per task, %.2fx per routing decision;\n"
	       "the naive scan grew %.0fx over the same range. Events per task: %.2f.\n",
	       big->workers, BASELINE_WORKERS, big->ns_task / res[0].ns_task, big->ns_route / res[0].ns_route,
	       big->naive_ns / res[0].naive_ns, (double)big->events_per_task_x100 / 100.0);
	fflush(stdout);

	/*
	 * Finished tasks are kept for SWB_TASK_RETENTION (5 minutes), then purged: in
	 * a steady state one old task is purged per new one. How many are kept depends
	 * on the task rate, so this is measured apart from the table above (whose runs
	 * end before any task is old enough to be purged).
	 */
	size_t retained[] = { 1000, 10000, 100000 };
	size_t nretained = quick ? 2 : 3;
	size_t rtasks = tasks < RETENTION_TASKS ? (size_t)tasks : RETENTION_TASKS;
	printf("\nretention: %d workers, finished tasks purged %d s after they end; each size first routes "
	       "enough tasks\nthat one old task is purged per new one, then measures %zu tasks\n",
	       RETENTION_WORKERS, RETENTION_MS / 1000, rtasks);
	printf("%9s %8s %8s %8s %9s %7s\n", "retained", "tasks/s", "ns/task", "ns/route", "p99 route", "x task");
	struct result first = { 0 };
	for (size_t i = 0; i < nretained; i++) {
		struct result r;
		int per_task = (int)(RETENTION_MS / retained[i]);
		run_size(RETENTION_WORKERS, retained[i] + WARMUP_TASKS, rtasks, per_task, false, &r);
		if (i == 0)
			first = r;
		printf("%9zu %8.0f %8.0f %8.0f %9.0f %6.2fx\n", retained[i], 1e9 / r.ns_task, r.ns_task, r.ns_route,
		       r.p99_route, r.ns_task / first.ns_task);
		fflush(stdout);
	}
	return 0;
}
