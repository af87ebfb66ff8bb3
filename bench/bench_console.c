/*
 * bench_console.c - swb-console's CPU under an event burst, against its own idle baseline.
 *
 * Starts a swb-node (temporary data directory, ipc socket, no HTTP) and a
 * swb-console on a pseudo-terminal (120x40, xterm-256color, UTF-8), whose
 * output a thread reads and throws away as a terminal would. Then, for each
 * view (supervisor: sees every event; agent: sees its own):
 *
 *   1. idle: the console runs with nothing happening for --idle seconds;
 *   2. burst: a generator creates and cancels tasks so the node emits about
 *      --rate events a second for --burst seconds (paced; the achieved rate is
 *      measured from the node's sequence numbers);
 *   3. during the burst, --keys times: press '?' and time until the help
 *      overlay is on the terminal, then Escape (key-to-screen latency).
 *
 * CPU is the console process's time on a CPU (/proc/PID/task/TID/schedstat, summed over threads)
 * over wall time. It reports both percentages and their ratio, and the key
 * latency. The generator and the node share the machine; the console's share
 * is what is measured.
 *
 * Usage: bench_console [--rate N] [--burst S] [--idle S] [--keys N] [--view supervisor|agent|both]
 * Run by hand (see bench/README.md); it needs build/swb-node and build/swb-console beside it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "swb_client.h"

#define MARKER "Help: keys" /* the help overlay's title */
#define CALL_MS 5000

static char g_bindir[4096], g_tmp[256], g_url[512], g_data[512];
static pid_t g_node = -1;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_console: %s\n", what);
	if (g_node > 0)
		kill(g_node, SIGTERM);
	exit(1);
}

/* CPU time of pid in ns, every thread (/proc/PID/task/TID/schedstat: ns on a CPU), or -1. */
static long long cpu_ns(pid_t pid)
{
	char path[128];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	long long total = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char f[400];
		snprintf(f, sizeof f, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		FILE *fp = fopen(f, "r");
		long long ns = 0;
		if (fp) {
			if (fscanf(fp, "%lld", &ns) != 1)
				ns = 0;
			fclose(fp);
		}
		total += ns;
	}
	closedir(d);
	return total;
}

/* ---- the console on a pty ---- */

struct term {
	pid_t pid;
	int fd;
	pthread_t reader;
	atomic_long markers; /* times MARKER went by */
	atomic_bool stop;
	atomic_llong bytes;
};

static void *reader_main(void *arg)
{
	struct term *t = arg;
	char tail[64] = "", buf[8192 + 64];
	while (!atomic_load(&t->stop)) {
		struct pollfd p = { .fd = t->fd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(t->fd, buf + strlen(tail), 8192);
		if (n <= 0)
			break;
		atomic_fetch_add(&t->bytes, n);
		size_t tl = strlen(tail);
		memcpy(buf, tail, tl);
		size_t len = tl + (size_t)n;
		buf[len] = '\0';
		for (char *s = buf; (s = memmem(s, len - (size_t)(s - buf), MARKER, strlen(MARKER))); s++)
			atomic_fetch_add(&t->markers, 1);
		size_t keep = len < sizeof tail - 1 ? len : sizeof tail - 1;
		memcpy(tail, buf + len - keep, keep);
		tail[keep] = '\0';
		/* a marker inside the kept tail must not count twice */
		char *m = strstr(tail, MARKER);
		if (m)
			tail[0] = '\0';
	}
	return NULL;
}

static void term_start(struct term *t, const char *const *args)
{
	memset(t, 0, sizeof *t);
	struct winsize ws = { .ws_row = 40, .ws_col = 120 };
	t->pid = forkpty(&t->fd, NULL, NULL, &ws);
	if (t->pid < 0)
		die("forkpty failed");
	if (t->pid == 0) {
		setenv("TERM", "xterm-256color", 1);
		setenv("LANG", "C.UTF-8", 1);
		setenv("LC_ALL", "C.UTF-8", 1);
		unsetenv("NO_COLOR");
		execv(args[0], (char *const *)args);
		_exit(127);
	}
	pthread_create(&t->reader, NULL, reader_main, t);
}

static void term_keys(struct term *t, const char *s)
{
	if (write(t->fd, s, strlen(s)) < 0)
		die("writing to the console's pty failed");
}

static void term_stop(struct term *t)
{
	term_keys(t, "q");
	for (int i = 0; i < 50; i++) {
		if (waitpid(t->pid, NULL, WNOHANG) == t->pid) {
			t->pid = -1;
			break;
		}
		sleep_ms(50);
	}
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
	atomic_store(&t->stop, true);
	pthread_join(t->reader, NULL);
	close(t->fd);
}

/* ---- the node ---- */

static void node_start(void)
{
	char exe[4200];
	snprintf(exe, sizeof exe, "%s/swb-node", g_bindir);
	g_node = fork();
	if (g_node == 0) {
		char log[600];
		snprintf(log, sizeof log, "%s/node.log", g_tmp);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(exe, exe, "--data", g_data, "--listen", g_url, "--http", "none", "--log-level", "warn", (char *)NULL);
		_exit(127);
	}
}

static uint64_t node_seq(swb_client *c)
{
	json_t *res = NULL;
	struct swb_err err;
	if (swb_client_call(c, "session.hello", NULL, CALL_MS, &res, &err) != SWB_OK)
		die(err.msg);
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(res, "seq"));
	json_decref(res);
	return seq;
}

static void call(swb_client *c, const char *op, json_t *args, json_t **res)
{
	struct swb_err err;
	if (swb_client_call(c, op, args, CALL_MS, res, &err) != SWB_OK) {
		fprintf(stderr, "bench_console: %s: %s\n", op, err.msg);
		die("a call failed");
	}
	json_decref(args);
}

/* One cycle: create a task and cancel it (the node emits several events). */
static void cycle(swb_client *c, int i)
{
	static const char *const dept[] = { "sales", "support" };
	json_t *res = NULL;
	call(c, "tasks.create", json_pack("{s:{s:s, s:i}}", "attributes", "department", dept[i % 2], "n", i), &res);
	const char *sid = json_string_value(json_object_get(res, "sid"));
	call(c, "tasks.update", json_pack("{s:s, s:s, s:s}", "sid", sid, "assignment_status", "canceled", "reason", "bench"),
	     NULL);
	json_decref(res);
}

struct result {
	double idle_cpu, burst_cpu, rate;
	long long bytes_idle, bytes_burst;
	int64_t lat_max, lat_med;
	int nlat;
};

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void run_view(const char *view, swb_client *gen, int rate, int idle_s, int burst_s, int nkeys, struct result *r)
{
	char exe[4200];
	snprintf(exe, sizeof exe, "%s/swb-console", g_bindir);
	const char *args_sup[] = { exe, "--url", g_url, "--data", g_data, "--supervisor", "--alert", "none", NULL };
	const char *args_agent[] = { exe, "--url", g_url, "--data", g_data, "--worker", "alice", "--alert", "none", NULL };
	struct term t;
	term_start(&t, strcmp(view, "agent") == 0 ? args_agent : args_sup);
	sleep_ms(2000); /* connect, snapshot, first stats */
	/* idle */
	long long c0 = cpu_ns(t.pid), b0 = atomic_load(&t.bytes);
	int64_t t0 = now_ms();
	sleep_ms(idle_s * 1000LL);
	long long c1 = cpu_ns(t.pid), b1 = atomic_load(&t.bytes);
	int64_t t1 = now_ms();
	r->idle_cpu = 100.0 * (double)(c1 - c0) / 1e6 / (double)(t1 - t0);
	r->bytes_idle = b1 - b0;

	/* events per cycle, from a few cycles */
	uint64_t s0 = node_seq(gen);
	for (int i = 0; i < 20; i++)
		cycle(gen, i);
	double per_cycle = (double)(node_seq(gen) - s0) / 20.0;
	if (per_cycle < 1)
		per_cycle = 1;
	double cycles_per_s = rate / per_cycle;
	sleep_ms(1000);

	/* burst, with key presses spread over it */
	int64_t lat[64];
	int nlat = 0;
	uint64_t seq0 = node_seq(gen);
	c0 = cpu_ns(t.pid);
	b0 = atomic_load(&t.bytes);
	t0 = now_ms();
	int64_t end = t0 + burst_s * 1000LL, next_key = t0 + 1000, key_at = 0;
	long marks_before = 0;
	bool help_open = false;
	long done = 0;
	while (now_ms() < end) {
		int64_t due = t0 + (int64_t)((double)done * 1000.0 / cycles_per_s);
		int64_t now = now_ms();
		if (now < due)
			sleep_ms(due - now > 5 ? 5 : due - now);
		else
			cycle(gen, (int)done++);
		now = now_ms();
		if (!help_open && nlat < nkeys && nlat < 64 && now >= next_key) {
			marks_before = atomic_load(&t.markers);
			term_keys(&t, "?");
			key_at = now;
			help_open = true;
		} else if (help_open && atomic_load(&t.markers) > marks_before) {
			lat[nlat++] = now - key_at;
			term_keys(&t, "\033");
			help_open = false;
			next_key = now + (burst_s * 1000LL) / (nkeys + 1);
		} else if (help_open && now - key_at > 5000) {
			lat[nlat++] = 5000; /* counted as a 5 s stall */
			term_keys(&t, "\033");
			help_open = false;
			next_key = now + 500;
		}
	}
	c1 = cpu_ns(t.pid);
	b1 = atomic_load(&t.bytes);
	t1 = now_ms();
	uint64_t seq1 = node_seq(gen);
	r->burst_cpu = 100.0 * (double)(c1 - c0) / 1e6 / (double)(t1 - t0);
	r->rate = (double)(seq1 - seq0) / ((double)(t1 - t0) / 1000.0);
	r->bytes_burst = b1 - b0;
	qsort(lat, (size_t)nlat, sizeof lat[0], cmp64);
	r->nlat = nlat;
	r->lat_max = nlat ? lat[nlat - 1] : -1;
	r->lat_med = nlat ? lat[nlat / 2] : -1;
	if (help_open)
		term_keys(&t, "\033");
	sleep_ms(500);
	term_stop(&t);
}

int main(int argc, char **argv)
{
	int rate = 1000, burst = 10, idle = 5, nkeys = 8;
	const char *views = "both";
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--rate") == 0)
			rate = atoi(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--burst") == 0)
			burst = atoi(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--idle") == 0)
			idle = atoi(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--keys") == 0)
			nkeys = atoi(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--view") == 0)
			views = argv[++i];
		else {
			fprintf(stderr, "usage: bench_console [--rate N] [--burst S] [--idle S] [--keys N] "
					"[--view supervisor|agent|both]\n");
			return 2;
		}
	}
	if (rate < 1 || burst < 1 || idle < 1)
		die("rate, burst and idle must be positive");
	/* the programs live beside this one */
	snprintf(g_bindir, sizeof g_bindir, "%s", argv[0]);
	char *slash = strrchr(g_bindir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(g_bindir, sizeof g_bindir, ".");
	snprintf(g_tmp, sizeof g_tmp, "/tmp/swb-bench-console.XXXXXX");
	if (!mkdtemp(g_tmp))
		die("mkdtemp failed");
	snprintf(g_data, sizeof g_data, "%s/data", g_tmp);
	mkdir(g_data, 0700);
	snprintf(g_url, sizeof g_url, "ipc://%s/n.ipc", g_tmp);
	signal(SIGPIPE, SIG_IGN);

	node_start();
	char *admin = NULL;
	struct swb_err err;
	swb_client *gen = NULL;
	for (int i = 0; i < 100 && !gen; i++) {
		sleep_ms(100);
		if (!admin && swb_client_local_token(g_data, "admin", 3600, &admin, &err) != SWB_OK)
			continue;
		gen = swb_client_open(g_url, admin, &err);
		if (gen && !swb_client_wait_connected(gen, 200)) {
			swb_client_close(gen);
			gen = NULL;
		}
	}
	if (!gen)
		die("the node did not start");
	/* everyone available, so every task is reserved (more events) */
	printf("swb-console under a burst: %d events/s for %d s, idle baseline %d s, %d key presses; "
	       "120x40 pty, xterm-256color\n",
	       rate, burst, idle, nkeys);
	printf("%-11s %9s %10s %7s %11s %12s %12s %9s %9s\n", "view", "idle CPU", "burst CPU", "ratio", "events/s",
	       "out B/s idle", "out B/s burst", "key p50", "key max");
	const char *list[2] = { "supervisor", "agent" };
	for (int v = 0; v < 2; v++) {
		if (strcmp(views, "both") != 0 && strcmp(views, list[v]) != 0)
			continue;
		struct result r;
		run_view(list[v], gen, rate, idle, burst, nkeys, &r);
		char ratio[32];
		if (r.idle_cpu > 0)
			snprintf(ratio, sizeof ratio, "%.1fx", r.burst_cpu / r.idle_cpu);
		else
			snprintf(ratio, sizeof ratio, "inf");
		printf("%-11s %8.2f%% %9.2f%% %7s %11.0f %12lld %12lld %7lldms %7lldms\n", list[v], r.idle_cpu, r.burst_cpu,
		       ratio, r.rate, r.bytes_idle / idle, r.bytes_burst / burst, (long long)r.lat_med,
		       (long long)r.lat_max);
		fflush(stdout);
	}
	swb_client_close(gen);
	free(admin);
	kill(g_node, SIGTERM);
	waitpid(g_node, NULL, 0);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_console: could not remove %s\n", g_tmp);
	return 0;
}
