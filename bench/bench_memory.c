/*
 * bench_memory.c - the node's memory per connected worker: the growth of
 * swb-node's resident set (VmRSS in /proc/PID/status) from 0 to 10000
 * connected bots.
 *
 * It starts a swb-node on a workspace that already defines every worker (so
 * the workers' own records are in the baseline), measures its RSS with nobody
 * connected (the baseline, in the same run), then connects swb-bot processes
 * step by step: each worker has its own connection and worker token and holds
 * an events.next pull, as a console does. After each step the node's RSS is
 * read once the bots are set up and the node is quiet again. The bots do not
 * set themselves Available (--no-available) so that the start-up is
 * connection set-up only; the figure is what a connection and its held pull
 * cost.
 *
 * Usage: bench_memory [--quick] [--steps 1000,2500,5000,10000] [--tcp] [--keep]
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot_rig.h"
#include "timefmt.h"

#define MAX_STEPS 8
#define MAX_CHUNKS 64
#define TARGET_KB 16.0
#define SETTLE_MS 3000           /* after a step: start-up requests drain, allocator settles */
#define READY_MS_PER_WORKER 20

struct chunk {
	char prefix[16];
	int workers, step;
	pid_t pid;
};

static void die(const char *what, const struct swb_err *err)
{
	fprintf(stderr, "bench_memory: %s: %s\n", what, err ? err->msg : "failed");
	exit(1);
}

static json_t *workspace(const struct chunk *chunks, int nchunks)
{
	json_t *workers = json_array();
	for (int c = 0; c < nchunks; c++)
		for (int i = 0; i < chunks[c].workers; i++) {
			char name[32];
			snprintf(name, sizeof name, "%.15s%05d", chunks[c].prefix, i);
			json_array_append_new(workers, json_pack("{s:s, s:{s:[s], s:[s]}}", "friendly_name", name, "attributes",
								 "skills", "support", "languages", "en"));
		}
	return json_pack("{s:s, s:[{s:s, s:b}, {s:s, s:b}], s:s, s:s, s:[{s:s, s:s}], s:o, s:[{s:s, s:{s:{s:[], s:{s:s}}}}]}",
			 "friendly_name", "bench_memory", "activities", "friendly_name", "Offline", "available", 0,
			 "friendly_name", "Available", "available", 1, "default_activity_sid", "Offline",
			 "timeout_activity_sid", "Offline", "task_queues", "friendly_name", "Support", "target_workers",
			 "skills HAS \"support\"", "workers", workers, "workflows", "friendly_name", "Bench", "configuration",
			 "task_routing", "filters", "default_filter", "queue", "Support");
}

/* The node's RSS once it has been steady for a moment: the median of five readings. */
static long steady_rss(pid_t pid)
{
	long v[5];
	for (int i = 0; i < 5; i++) {
		v[i] = swb_rig_rss_kb(pid);
		usleep(200 * 1000);
	}
	for (int i = 1; i < 5; i++)
		for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
			long t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[2];
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' }, { "steps", required_argument, NULL, 's' },
		{ "tcp", no_argument, NULL, 't' },   { "keep", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },  { NULL, 0, NULL, 0 },
	};
	int steps[MAX_STEPS] = { 1000, 2500, 5000, 10000 }, nsteps = 4;
	bool tcp = false, keep = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			steps[0] = 500, steps[1] = 1000, steps[2] = 2000, nsteps = 3;
			break;
		case 's': {
			nsteps = 0;
			char *save = NULL;
			for (char *t = strtok_r(optarg, ",", &save); t && nsteps < MAX_STEPS; t = strtok_r(NULL, ",", &save)) {
				steps[nsteps] = atoi(t);
				if (steps[nsteps] < 1 || (nsteps && steps[nsteps] <= steps[nsteps - 1])) {
					fprintf(stderr, "bench_memory: --steps wants increasing numbers >= 1\n");
					return 2;
				}
				nsteps++;
			}
			break;
		}
		case 't': tcp = true; break;
		case 'k': keep = true; break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"usage: bench_memory [--quick] [--steps 1000,2500,5000,10000] [--tcp] [--keep]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	long nofile = swb_rig_raise_nofile();
	swb_rig_install_cleanup();
	char machine[256], date[SWB_ISO_SIZE];
	swb_rig_machine(machine, sizeof machine);
	swb_iso8601(swb_wall_ms(), date);
	printf("bench_memory %s\nmachine: %s\n", date, machine);
	printf("swb-node VmRSS with the workspace's %d workers defined and 0..%d of them connected over %s\n"
	       "(one swb-bot process per %d workers; open files limit %ld)\n\n",
	       steps[nsteps - 1], steps[nsteps - 1], tcp ? "tcp" : "ipc", SWB_RIG_WORKERS_PER_BOT, nofile);
	fflush(stdout);

	struct chunk chunks[MAX_CHUNKS];
	int nchunks = 0, have = 0;
	for (int i = 0; i < nsteps; i++)
		for (int need = steps[i] - have; need > 0 && nchunks < MAX_CHUNKS;) {
			struct chunk *ch = &chunks[nchunks];
			ch->workers = need > SWB_RIG_WORKERS_PER_BOT ? SWB_RIG_WORKERS_PER_BOT : need;
			ch->step = i;
			ch->pid = 0;
			snprintf(ch->prefix, sizeof ch->prefix, "m%02d-", nchunks);
			need -= ch->workers;
			have += ch->workers;
			nchunks++;
		}
	char wsdir[SWB_RIG_PATH_MAX];
	struct swb_err err = { 0 };
	if (swb_rig_tmpdir(wsdir, sizeof wsdir, "bench-memory", &err) != SWB_OK)
		die("temporary directory", &err);
	char wspath[SWB_RIG_PATH_MAX + 16];
	snprintf(wspath, sizeof wspath, "%s/ws.json", wsdir);
	json_t *ws = workspace(chunks, nchunks);
	if (swb_rig_write_json(wspath, ws, &err) != SWB_OK)
		die("workspace", &err);
	json_decref(ws);

	struct swb_rig_node node;
	if (swb_rig_node_start(&node, wspath, tcp, NULL, NULL, &err) != SWB_OK)
		die("swb-node", &err);
	usleep(SETTLE_MS * 1000);
	long base = steady_rss(node.pid);
	double base_cpu = swb_rig_cpu_percent(node.pid, 2000);
	printf(" connected  node RSS MB  growth MB  KB/worker  node idle CPU  bots RSS KB/worker  set-up s\n");
	printf(" %9d %11.1f %10.1f %10s %13.1f%% %19s %9s  (baseline)\n", 0, base / 1024.0, 0.0, "-", base_cpu, "-", "-");
	fflush(stdout);
	double last_kb = 0;
	for (int si = 0; si < nsteps; si++) {
		int64_t t0 = swb_mono_ms();
		for (int k = 0; k < nchunks; k++) {
			if (chunks[k].step != si)
				continue;
			char ready[SWB_RIG_PATH_MAX + 32], log[SWB_RIG_PATH_MAX + 32];
			snprintf(ready, sizeof ready, "%s/%.15s.ready", node.dir, chunks[k].prefix);
			snprintf(log, sizeof log, "%s/%.15s.log", node.dir, chunks[k].prefix);
			const char *bargs[] = { "--url", node.url, "--data", node.data, "--prefix", chunks[k].prefix,
						"--no-available", "--exit-activity", "none", "--quiet", "--ready-file", ready,
						"--report", "/dev/null", NULL };
			if (swb_rig_spawn("swb-bot", bargs, log, &chunks[k].pid, &err) != SWB_OK)
				die("swb-bot", &err);
		}
		for (int k = 0; k < nchunks; k++) {
			if (chunks[k].step != si)
				continue;
			char ready[SWB_RIG_PATH_MAX + 32];
			snprintf(ready, sizeof ready, "%s/%.15s.ready", node.dir, chunks[k].prefix);
			if (!swb_rig_wait_file(ready, 30000 + chunks[k].workers * READY_MS_PER_WORKER, chunks[k].pid)) {
				fprintf(stderr, "bench_memory: the bots of %s did not come up (logs in %s)\n", chunks[k].prefix,
					node.dir);
				for (int j = 0; j < nchunks; j++)
					if (chunks[j].pid > 0)
						swb_rig_stop(chunks[j].pid, 5000);
				swb_rig_node_stop(&node, true);
				return 1;
			}
		}
		double setup_s = (double)(swb_mono_ms() - t0) / 1000.0;
		usleep(SETTLE_MS * 1000);
		long rss = steady_rss(node.pid);
		double cpu = swb_rig_cpu_percent(node.pid, 2000);
		long bots = 0;
		for (int k = 0; k < nchunks; k++)
			if (chunks[k].pid > 0 && chunks[k].step <= si)
				bots += swb_rig_rss_kb(chunks[k].pid);
		int n = steps[si];
		last_kb = (double)(rss - base) / n;
		printf(" %9d %11.1f %10.1f %10.2f %13.1f%% %19.1f %9.1f\n", n, rss / 1024.0, (rss - base) / 1024.0, last_kb,
		       cpu, (double)bots / n, setup_s);
		fflush(stdout);
	}
	for (int k = 0; k < nchunks; k++)
		if (chunks[k].pid > 0)
			swb_rig_stop(chunks[k].pid, 20000);
	swb_rig_node_stop(&node, keep);
	swb_rig_rmdir(wsdir);
	printf("\ntarget: at most %.0f KB of node memory per connected worker at %d: %.2f KB: %s\n", TARGET_KB,
	       steps[nsteps - 1], last_kb, last_kb <= TARGET_KB ? "met" : "NOT met");
	return 0;
}
