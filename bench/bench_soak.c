/*
 * bench_soak.c - a soak: calls arriving at a steady rate for 10 minutes (by
 * default) on 1000 bot agents, with a verdict on two questions, and the numbers
 * behind it:
 *
 *  - is the node's memory flat? Its RSS is sampled every 10 s. The node keeps
 *    finished tasks for 5 minutes and its last 65536 events in memory, so RSS
 *    grows until those fill; the verdict compares the mean RSS over the first
 *    and the second half of the run after that warm-up (330 s; 630 s with
 *    calls, whose ended calls the node keeps 10 minutes; half the run when
 *    the run is shorter than 1.5 times that).
 *  - is any reservation lost? Every task must end completed, or canceled with
 *    a reason: the call generator follows every event and accounts for each
 *    task it saw created, then drains; the node's own tasks.list is checked too.
 *
 * The workspace is the embedded default (its queues, workflow and IVR number)
 * with 1000 generated agents (skills, languages, levels like the eight
 * defaults), a 10 s reservation timeout and 30 s target timeouts. Calls are
 * tasks.create with IVR-like attributes (--via calls: simulated calls through
 * the workspace's IVR, calls.create). The node runs with its default
 * durable journal (group fsync). The agents are one swb-bot process: they
 * accept 90%, reject 5%, let 5% time out, talk about 20 s, take breaks and
 * now and then (every 30 min on average) drop their connection. The callers
 * are a second swb-bot: Poisson arrivals, 5% hang up unless answered within 3-20 s.
 *
 * Usage: bench_soak [--minutes N] [--workers N] [--rate CALLS_PER_S] [--via tasks|calls|auto]
 *                   [--template FILE] [--keep]
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot_rig.h"
#include "swb_client.h"
#include "timefmt.h"

#define SAMPLE_MS 10000
#define WARMUP_S 330          /* the node's 5-minute task retention, plus half a minute */
#define WARMUP_CALLS_S 630    /* with calls: ended calls are kept 10 minutes (calls.c CALLS_KEEP_ENDED_MS) */
#define FLAT_TOLERANCE 0.05   /* second half at most 5% (+1 MB) over the first */
#define FLAT_SLACK_KB 1024
#define DRAIN_S 180
#define MAX_SAMPLES 100000
#define MAX_BOTS 16

static void die(const char *what, const struct swb_err *err)
{
	fprintf(stderr, "bench_soak: %s: %s\n", what, err ? err->msg : "failed");
	exit(1);
}

/* The default workspace with n generated agents and faster timeouts. */
static json_t *workspace(const char *template_path, int n, struct swb_err *err)
{
	json_error_t je;
	json_t *ws = json_load_file(template_path, 0, &je);
	if (!ws) {
		swb_err_set(err, SWB_EIO, "%s: %s", template_path, je.text);
		return NULL;
	}
	static const char *const skills[][2] = { { "sales", NULL }, { "support", NULL }, { "sales", "support" } };
	json_t *workers = json_array();
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "agent%05d", i);
		json_t *sk = json_array(), *langs = json_pack("[s]", "en");
		for (int k = 0; k < 2 && skills[i % 3][k]; k++)
			json_array_append_new(sk, json_string(skills[i % 3][k]));
		if (i % 4 == 0)
			json_array_append_new(langs, json_string("es"));
		json_array_append_new(workers, json_pack("{s:s, s:s, s:{s:o, s:o, s:i}}", "friendly_name", name, "activity_sid",
							 "Offline", "attributes", "skills", sk, "languages", langs, "level",
							 1 + i % 3));
	}
	json_object_set_new(ws, "workers", workers);
	json_object_set_new(ws, "friendly_name", json_string("bench_soak"));
	size_t i;
	json_t *wf;
	json_array_foreach(json_object_get(ws, "workflows"), i, wf) {
		json_object_set_new(wf, "task_reservation_timeout", json_integer(10));
		size_t j, k;
		json_t *f, *t;
		json_array_foreach(json_object_get(json_object_get(json_object_get(wf, "configuration"), "task_routing"), "filters"), j, f)
			json_array_foreach(json_object_get(f, "targets"), k, t)
				if (json_object_get(t, "timeout"))
					json_object_set_new(t, "timeout", json_integer(30));
	}
	return ws;
}

/* Loads a swb-bot report; NULL (with a message) if missing. */
static json_t *load_report(const char *path)
{
	json_error_t je;
	json_t *r = json_load_file(path, 0, &je);
	if (!r)
		fprintf(stderr, "bench_soak: no report in %s: %s\n", path, je.text);
	return r;
}

static long long jint(json_t *root, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(root, a);
	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	return json_is_number(v) ? (long long)json_number_value(v) : -1;
}

static double jnum(json_t *root, const char *a, const char *b)
{
	return json_number_value(json_object_get(json_object_get(root, a), b));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "minutes", required_argument, NULL, 'm' }, { "workers", required_argument, NULL, 'w' },
		{ "rate", required_argument, NULL, 'r' },    { "template", required_argument, NULL, 't' },
		{ "keep", no_argument, NULL, 'k' },          { "via", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
	};
	double minutes = 10, rate = 20;
	int nworkers = 1000;
	bool keep = false;
	const char *template_path = NULL, *via = "tasks";
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': minutes = atof(optarg); break;
		case 'w': nworkers = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 't': template_path = optarg; break;
		case 'k': keep = true; break;
		case 'v': via = optarg; break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"usage: bench_soak [--minutes N] [--workers N] [--rate CALLS_PER_S] [--via tasks|calls|auto]\n"
				"                  [--template FILE] [--keep]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (minutes <= 0 || nworkers < 1 || nworkers > MAX_BOTS * SWB_RIG_WORKERS_PER_BOT || rate <= 0) {
		fprintf(stderr, "bench_soak: --minutes > 0, --workers 1..%d, --rate > 0\n", MAX_BOTS * SWB_RIG_WORKERS_PER_BOT);
		return 2;
	}
	char tpl[SWB_RIG_PATH_MAX * 2];
	if (!template_path) {
		const char *src = getenv("SWB_SRC");
		if (src)
			snprintf(tpl, sizeof tpl, "%s/server/default_workspace.json", src);
		else
			snprintf(tpl, sizeof tpl, "%s/../server/default_workspace.json", swb_rig_bin_dir());
		if (access(tpl, R_OK) != 0)
			snprintf(tpl, sizeof tpl, "server/default_workspace.json");
		template_path = tpl;
	}
	swb_rig_raise_nofile();
	swb_rig_install_cleanup();
	char machine[256], date[SWB_ISO_SIZE];
	swb_rig_machine(machine, sizeof machine);
	swb_iso8601(swb_wall_ms(), date);
	printf("bench_soak %s\nmachine: %s\n", date, machine);
	printf("%.1f min at %.1f calls/s (Poisson, via %s) on %d bot agents; journal fsync group (the default)\n", minutes,
	       rate, strcmp(via, "tasks") == 0 ? "tasks.create" : "calls.create when the node has it", nworkers);
	fflush(stdout);

	struct swb_err err = { 0 };
	json_t *ws = workspace(template_path, nworkers, &err);
	if (!ws)
		die("workspace", &err);
	char wsdir[SWB_RIG_PATH_MAX];
	if (swb_rig_tmpdir(wsdir, sizeof wsdir, "bench-soak", &err) != SWB_OK)
		die("temporary directory", &err);
	char wspath[SWB_RIG_PATH_MAX + 16];
	snprintf(wspath, sizeof wspath, "%s/ws.json", wsdir);
	if (swb_rig_write_json(wspath, ws, &err) != SWB_OK)
		die("workspace", &err);
	json_decref(ws);

	struct swb_rig_node node;
	if (swb_rig_node_start(&node, wspath, false, NULL, NULL, &err) != SWB_OK)
		die("swb-node", &err);
	long rss_start = swb_rig_rss_kb(node.pid);

	/* the agents, at most SWB_RIG_WORKERS_PER_BOT per process */
	int nbots = (nworkers + SWB_RIG_WORKERS_PER_BOT - 1) / SWB_RIG_WORKERS_PER_BOT;
	pid_t bots[MAX_BOTS];
	char reports[MAX_BOTS][SWB_RIG_PATH_MAX + 32];
	for (int k = 0; k < nbots; k++) {
		char ready[SWB_RIG_PATH_MAX + 32], log[SWB_RIG_PATH_MAX + 32], shard[32], seed[32];
		snprintf(ready, sizeof ready, "%s/bots%d.ready", node.dir, k);
		snprintf(log, sizeof log, "%s/bots%d.log", node.dir, k);
		snprintf(reports[k], sizeof reports[k], "%s/bots%d.json", node.dir, k);
		snprintf(shard, sizeof shard, "%d/%d", k, nbots);
		snprintf(seed, sizeof seed, "%d", 1 + k);
		const char *args[] = { "--url", node.url, "--data", node.data, "--prefix", "agent", "--shard", shard, "--seed",
				       seed, "--accept", "0.9", "--reject", "0.05", "--ignore", "0.05", "--think", "0.5s..2s",
				       "--handle", "normal:20s:8s", "--wrapup", "1s..3s", "--break-every", "exp:10m", "--break-length",
				       "30s..60s", "--disconnect-every", "exp:30m", "--disconnect-length", "1s..5s", "--summary",
				       "60s", "--ready-file", ready, "--report", reports[k], NULL };
		if (swb_rig_spawn("swb-bot", args, log, &bots[k], &err) != SWB_OK)
			die("swb-bot", &err);
	}
	for (int k = 0; k < nbots; k++) {
		char ready[SWB_RIG_PATH_MAX + 32];
		snprintf(ready, sizeof ready, "%s/bots%d.ready", node.dir, k);
		if (!swb_rig_wait_file(ready, 120000, bots[k]))
			die("the agents did not come up (logs in the node's directory)", NULL);
	}
	long rss_ready = swb_rig_rss_kb(node.pid);

	/* the callers */
	char gen_report[SWB_RIG_PATH_MAX + 32], gen_log[SWB_RIG_PATH_MAX + 32], rate_s[32], dur_s[32], drain_s[32];
	snprintf(gen_report, sizeof gen_report, "%s/calls.json", node.dir);
	snprintf(gen_log, sizeof gen_log, "%s/calls.log", node.dir);
	snprintf(rate_s, sizeof rate_s, "%g", rate);
	snprintf(dur_s, sizeof dur_s, "%.0fs", minutes * 60);
	snprintf(drain_s, sizeof drain_s, "%ds", DRAIN_S);
	const char *gargs[] = { "--url", node.url, "--data", node.data, "--calls", rate_s, "--poisson", "--abandon", "0.05",
				"--patience", "3s..20s", "--seed", "99", "--duration", dur_s, "--drain", drain_s,
				"--require-final", "--summary", "60s", "--report", gen_report, "--via", via, NULL };
	pid_t gen;
	if (swb_rig_spawn("swb-bot", gargs, gen_log, &gen, &err) != SWB_OK)
		die("swb-bot (calls)", &err);

	/* sample the node while the calls run and drain */
	static double ts[MAX_SAMPLES];
	static long rss[MAX_SAMPLES];
	int ns = 0, gen_rc = -2;
	int64_t t0 = swb_mono_ms(), last_print = t0;
	double max_cpu = 0, sum_cpu = 0;
	printf("\n   min  node RSS MB  node CPU  agents RSS MB\n");
	while (gen_rc == -2) {
		double cpu = swb_rig_cpu_percent(node.pid, SAMPLE_MS);
		double t = (double)(swb_mono_ms() - t0) / 1000.0;
		long r = swb_rig_rss_kb(node.pid);
		gen_rc = swb_rig_wait(gen, 0);
		if (t <= minutes * 60 + 1 && ns < MAX_SAMPLES && r > 0) {
			ts[ns] = t;
			rss[ns++] = r;
			sum_cpu += cpu;
			if (cpu > max_cpu)
				max_cpu = cpu;
		}
		if (swb_mono_ms() - last_print >= 60000 || gen_rc != -2) {
			long bots_rss = 0;
			for (int k = 0; k < nbots; k++)
				bots_rss += swb_rig_rss_kb(bots[k]);
			printf(" %5.1f %12.1f %8.1f%% %14.1f%s\n", t / 60.0, r / 1024.0, cpu, bots_rss / 1024.0,
			       t > minutes * 60 + 1 ? "  (draining)" : "");
			fflush(stdout);
			last_print = swb_mono_ms();
		}
	}
	int bots_rc = 0;
	for (int k = 0; k < nbots; k++) {
		int rc = swb_rig_stop(bots[k], 30000);
		if (rc != 0)
			bots_rc = rc;
	}

	/* the node's own account of every task it still holds */
	long long node_tasks = 0, node_open = 0, node_noreason = 0;
	char *tok = NULL;
	swb_client *admin = NULL;
	if (swb_client_local_token(node.data, "admin", 3600, &tok, &err) == SWB_OK)
		admin = swb_client_open(node.url, tok, &err);
	free(tok);
	for (int page = 0; admin; page++) {
		json_t *args = json_pack("{s:i, s:i}", "page", page, "page_size", 1000), *res = NULL;
		if (swb_client_call(admin, "tasks.list", args, 30000, &res, &err) != SWB_OK)
			die("tasks.list", &err);
		json_decref(args);
		size_t i;
		json_t *t;
		json_t *list = json_object_get(res, "tasks");
		json_array_foreach(list, i, t) {
			const char *st = json_string_value(json_object_get(t, "assignment_status"));
			const char *why = json_string_value(json_object_get(t, "reason"));
			node_tasks++;
			if (!st || (strcmp(st, "completed") != 0 && strcmp(st, "canceled") != 0))
				node_open++;
			else if (strcmp(st, "canceled") == 0 && (!why || !*why))
				node_noreason++;
		}
		size_t got = json_array_size(list);
		json_decref(res);
		if (got < 1000)
			break;
	}
	swb_client_close(admin);
	long rss_end = swb_rig_rss_kb(node.pid);

	/* memory: the two halves after the warm-up */
	/* the warm-up, unless that leaves too little to compare: then the first half */
	double warmup = strcmp(via, "tasks") == 0 ? WARMUP_S : WARMUP_CALLS_S;
	double run_s = minutes * 60, warm = run_s >= 1.5 * warmup ? warmup : run_s / 2, mid = warm + (run_s - warm) / 2;
	double a = 0, b = 0;
	int na = 0, nb = 0;
	long rss_max = 0, rss_warm = 0;
	for (int i = 0; i < ns; i++) {
		if (rss[i] > rss_max)
			rss_max = rss[i];
		if (ts[i] < warm)
			rss_warm = rss[i];
		else if (ts[i] < mid)
			a += (double)rss[i], na++;
		else
			b += (double)rss[i], nb++;
	}
	a = na ? a / na : 0;
	b = nb ? b / nb : 0;
	bool flat = na && nb && b <= a * (1 + FLAT_TOLERANCE) + FLAT_SLACK_KB;

	json_t *g = load_report(gen_report);
	json_t *gt = json_object_get(json_object_get(g, "generator"), "tasks");
	long long created = jint(gt, "created", NULL, NULL), outstanding = jint(gt, "outstanding", NULL, NULL),
		  noreason = jint(gt, "canceled_without_reason", NULL, NULL);
	bool none_lost = g && gen_rc == 0 && outstanding == 0 && noreason == 0 && node_open == 0 && node_noreason == 0;

	printf("\nnode RSS: %.1f MB at start, %.1f MB with the agents connected, %.1f MB after the %.0f s warm-up, "
	       "max %.1f MB, %.1f MB at the end\n",
	       rss_start / 1024.0, rss_ready / 1024.0, rss_warm / 1024.0, warm, rss_max / 1024.0, rss_end / 1024.0);
	printf("          mean %.1f MB over %.0f..%.0f s, %.1f MB over %.0f..%.0f s (%+.1f%%); node CPU mean %.1f%%, max %.1f%%\n",
	       a / 1024.0, warm, mid, b / 1024.0, mid, run_s, a > 0 ? (b - a) / a * 100 : 0, ns ? sum_cpu / ns : 0, max_cpu);
	if (g) {
		json_t *gen_j = json_object_get(g, "generator");
		printf("calls (%s): %lld placed, %lld failed; %lld hung up while waiting\n",
		       json_string_value(json_object_get(gen_j, "via")), jint(gen_j, "placed", NULL, NULL),
		       jint(gen_j, "failed", NULL, NULL), jint(gen_j, "hung_up", NULL, NULL));
		printf("tasks: %lld created, %lld answered, %lld completed, %lld canceled (%lld without a reason), "
		       "%lld outstanding after the drain; answer time p50 %.1f s, p99 %.1f s\n",
		       created, jint(gt, "answered", NULL, NULL), jint(gt, "completed", NULL, NULL),
		       jint(gt, "canceled", NULL, NULL), noreason, outstanding,
		       jnum(gen_j, "answer_time_ms", "p50") / 1000.0, jnum(gen_j, "answer_time_ms", "p99") / 1000.0);
		char *reasons = json_dumps(json_object_get(gt, "canceled_reasons"), JSON_COMPACT);
		printf("       canceled by reason: %s\n", reasons ? reasons : "{}");
		free(reasons);
	}
	for (int k = 0; k < nbots; k++) {
		json_t *r = load_report(reports[k]);
		if (!r)
			continue;
		printf("agents%s: %lld reservations seen, %lld accepted, %lld rejected, %lld timed out, %lld canceled, "
		       "%lld rescinded; %lld tasks completed; %lld breaks, %lld disconnects, %lld errors; "
		       "reservation seen p50 %.1f ms, p99 %.1f ms after its creation\n",
		       nbots > 1 ? "" : "", jint(r, "reservations", "seen", NULL), jint(r, "reservations", "accepted", NULL),
		       jint(r, "reservations", "rejected", NULL), jint(r, "reservations", "timed_out", NULL),
		       jint(r, "reservations", "canceled", NULL), jint(r, "reservations", "rescinded", NULL),
		       jint(r, "tasks", "completed", NULL), jint(r, "activity", "breaks", NULL),
		       jint(r, "activity", "disconnects", NULL), jint(r, "errors", "count", NULL), jnum(r, "latency_ms", "p50"),
		       jnum(r, "latency_ms", "p99"));
		json_decref(r);
	}
	printf("node tasks.list at the end: %lld tasks kept (finished ones are purged after 5 min), %lld not final, "
	       "%lld canceled without a reason\n",
	       node_tasks, node_open, node_noreason);
	if (run_s < 1.5 * warmup)
		printf("note: shorter than 1.5 times the warm-up (%.0f s): the memory verdict covers the retention still "
		       "filling\n",
		       warmup);
	printf("\nverdict: RSS %s (%+.1f%% between the halves after warm-up; limit %+.0f%% + 1 MB); "
	       "no reservation lost: %s (%lld tasks, %lld outstanding, %lld canceled without a reason%s)\n",
	       flat ? "FLAT" : "GROWING", a > 0 ? (b - a) / a * 100 : 0, FLAT_TOLERANCE * 100, none_lost ? "YES" : "NO",
	       created, outstanding + node_open, noreason + node_noreason,
	       gen_rc != 0 ? "; the call generator's check failed" : "");
	if (bots_rc != 0)
		printf("(an agents process exited with status %d)\n", bots_rc);
	json_decref(g);
	swb_rig_node_stop(&node, keep);
	if (keep)
		printf("(kept %s)\n", node.dir);
	swb_rig_rmdir(wsdir);
	return flat && none_lost ? 0 : 1;
}
