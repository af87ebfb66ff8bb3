/*
 * bot_rig.c - child processes and measurements for the benchmarks: a node in
 * a temporary directory, swb-bot processes, RSS from /proc, a raw nng echo
 * for the baseline round trip.
 */
#define _GNU_SOURCE
#include "bot_rig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bot_hist.h"
#include "swb_client.h"
#include "timefmt.h"

#define NODE_START_MS 20000 /* a node that does not answer by then has failed */
#define RTT_WARMUP 500
#define MAX_ARGS 64

/* ---- what to clean up ---- */

#define MAX_TRACKED_PIDS 256
#define MAX_TRACKED_DIRS 32

/* Plain arrays, so the signal handler can read them without locks. */
static volatile pid_t tracked_pids[MAX_TRACKED_PIDS];
static char tracked_dirs[MAX_TRACKED_DIRS][SWB_RIG_PATH_MAX];
static volatile sig_atomic_t tracked_dir_used[MAX_TRACKED_DIRS];

static void track_pid(pid_t pid)
{
	for (int i = 0; i < MAX_TRACKED_PIDS; i++)
		if (tracked_pids[i] == 0) {
			tracked_pids[i] = pid;
			return;
		}
}

static void untrack_pid(pid_t pid)
{
	for (int i = 0; i < MAX_TRACKED_PIDS; i++)
		if (tracked_pids[i] == pid)
			tracked_pids[i] = 0;
}

static void track_dir(const char *dir)
{
	for (int i = 0; i < MAX_TRACKED_DIRS; i++)
		if (!tracked_dir_used[i]) {
			snprintf(tracked_dirs[i], sizeof tracked_dirs[i], "%s", dir);
			tracked_dir_used[i] = 1;
			return;
		}
}

static void untrack_dir(const char *dir)
{
	for (int i = 0; i < MAX_TRACKED_DIRS; i++)
		if (tracked_dir_used[i] && strcmp(tracked_dirs[i], dir) == 0)
			tracked_dir_used[i] = 0;
}

/* rm -rf with fork and exec only: safe in a signal handler. */
static void remove_dir_now(const char *dir)
{
	if (dir[0] != '/')
		return;
	pid_t p = fork();
	if (p == 0) {
		execl("/bin/rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	if (p > 0)
		waitpid(p, NULL, 0);
}

/* Only async-signal-safe calls: kill, waitpid, nanosleep, fork, exec. */
static void cleanup_now(void)
{
	for (int i = 0; i < MAX_TRACKED_PIDS; i++)
		if (tracked_pids[i] > 0)
			kill(tracked_pids[i], SIGTERM);
	for (int round = 0; round < 100; round++) { /* up to 5 s for them to go */
		bool any = false;
		for (int i = 0; i < MAX_TRACKED_PIDS; i++) {
			pid_t p = tracked_pids[i];
			if (p > 0 && waitpid(p, NULL, WNOHANG) == 0)
				any = true;
			else if (p > 0)
				tracked_pids[i] = 0;
		}
		if (!any)
			break;
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < MAX_TRACKED_PIDS; i++)
		if (tracked_pids[i] > 0) {
			kill(tracked_pids[i], SIGKILL);
			waitpid(tracked_pids[i], NULL, 0);
			tracked_pids[i] = 0;
		}
	for (int i = 0; i < MAX_TRACKED_DIRS; i++)
		if (tracked_dir_used[i]) {
			remove_dir_now(tracked_dirs[i]);
			tracked_dir_used[i] = 0;
		}
}

void swb_rig_cleanup(void)
{
	cleanup_now();
}

static void on_fatal_signal(int sig)
{
	cleanup_now();
	signal(sig, SIG_DFL);
	raise(sig);
}

void swb_rig_install_cleanup(void)
{
	atexit(swb_rig_cleanup);
	struct sigaction sa = { .sa_handler = on_fatal_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

long swb_rig_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}

void swb_rig_machine(char *out, size_t len)
{
	struct utsname u;
	uname(&u);
	char model[128] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
			snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	struct sysinfo si;
	double gb = sysinfo(&si) == 0 ? (double)si.totalram * si.mem_unit / (1024.0 * 1024 * 1024) : 0;
	snprintf(out, len, "%s, %ld CPUs, %s, %.1f GB RAM, Linux %s", u.machine, sysconf(_SC_NPROCESSORS_ONLN), model, gb,
		 u.release);
}

const char *swb_rig_bin_dir(void)
{
	static char dir[SWB_RIG_PATH_MAX];
	const char *env = getenv("SWB_BUILD");
	if (env && *env) {
		snprintf(dir, sizeof dir, "%s", env);
		return dir;
	}
	char exe[SWB_RIG_PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return ".";
	exe[n] = '\0';
	snprintf(dir, sizeof dir, "%s", dirname(exe));
	return dir;
}

int swb_rig_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	int port = 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

long swb_rig_rss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* CPU time (user + system) in clock ticks, from /proc/PID/stat; -1 on error. */
static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	unsigned long long ut = 0, st = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

double swb_rig_cpu_percent(pid_t pid, int ms)
{
	long long c0 = cpu_ticks(pid);
	int64_t t0 = mono_ns();
	sleep_ms(ms);
	long long c1 = cpu_ticks(pid);
	double secs = (double)(mono_ns() - t0) / 1e9;
	if (c0 < 0 || c1 < 0 || secs <= 0)
		return -1;
	return (double)(c1 - c0) / (double)sysconf(_SC_CLK_TCK) / secs * 100.0;
}

enum swb_code swb_rig_write_json(const char *path, json_t *doc, struct swb_err *err)
{
	if (json_dump_file(doc, path, JSON_INDENT(1)) != 0)
		return swb_err_set(err, SWB_EIO, "cannot write %s", path);
	return SWB_OK;
}

enum swb_code swb_rig_spawn(const char *prog, const char *const *args, const char *log, pid_t *pid, struct swb_err *err)
{
	char path[SWB_RIG_PATH_MAX * 2];
	if (prog[0] == '/')
		snprintf(path, sizeof path, "%s", prog);
	else
		snprintf(path, sizeof path, "%s/%s", swb_rig_bin_dir(), prog);
	if (access(path, X_OK) != 0)
		return swb_err_set(err, SWB_EIO, "%s is not there (build it, or set SWB_BUILD)", path);
	const char *argv[MAX_ARGS + 2];
	int n = 0;
	argv[n++] = path;
	for (; args && args[n - 1] && n <= MAX_ARGS; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	fflush(NULL);
	pid_t p = fork();
	if (p < 0)
		return swb_err_set(err, SWB_EIO, "fork: %s", strerror(errno));
	if (p == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in >= 0)
			dup2(in, 0);
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		execv(path, (char *const *)argv);
		_exit(127);
	}
	track_pid(p);
	*pid = p;
	return SWB_OK;
}

static int exit_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

int swb_rig_wait(pid_t pid, int timeout_ms)
{
	int64_t until = swb_mono_ms() + timeout_ms;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			untrack_pid(pid);
			return exit_status(st);
		}
		if (r < 0) {
			untrack_pid(pid);
			return -1;
		}
		if (swb_mono_ms() >= until)
			return -2;
		sleep_ms(10);
	}
}

int swb_rig_stop(pid_t pid, int wait_ms)
{
	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	int rc = swb_rig_wait(pid, wait_ms);
	if (rc == -2) {
		kill(pid, SIGKILL);
		rc = swb_rig_wait(pid, 5000);
	}
	return rc;
}

bool swb_rig_wait_file(const char *path, int timeout_ms, pid_t watch)
{
	int64_t until = swb_mono_ms() + timeout_ms;
	while (swb_mono_ms() < until) {
		if (access(path, F_OK) == 0)
			return true;
		if (watch > 0 && waitpid(watch, NULL, WNOHANG) == watch) {
			untrack_pid(watch);
			return false;
		}
		sleep_ms(20);
	}
	return access(path, F_OK) == 0;
}

enum swb_code swb_rig_tmpdir(char *dir, size_t len, const char *what, struct swb_err *err)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, len, "%s/swb-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", what);
	if (!mkdtemp(dir))
		return swb_err_set(err, SWB_EIO, "mkdtemp %s: %s", dir, strerror(errno));
	track_dir(dir);
	return SWB_OK;
}

void swb_rig_rmdir(const char *dir)
{
	untrack_dir(dir);
	remove_dir_now(dir);
}

enum swb_code swb_rig_node_start(struct swb_rig_node *n, const char *config, bool tcp, const char *fsync,
				 const char *const *extra, struct swb_err *err)
{
	memset(n, 0, sizeof *n);
	enum swb_code rc = swb_rig_tmpdir(n->dir, sizeof n->dir, "bench", err);
	if (rc != SWB_OK)
		return rc;
	snprintf(n->data, sizeof n->data, "%s/data", n->dir);
	snprintf(n->log, sizeof n->log, "%s/node.log", n->dir);
	if (tcp) {
		int port = swb_rig_free_port();
		if (!port)
			return swb_err_set(err, SWB_EIO, "no free loopback port");
		snprintf(n->url, sizeof n->url, "tcp://127.0.0.1:%d", port);
	} else {
		snprintf(n->url, sizeof n->url, "ipc://%s/n.ipc", n->dir);
	}
	const char *args[MAX_ARGS];
	int k = 0;
	if (config) {
		args[k++] = "--config";
		args[k++] = config;
	}
	args[k++] = "--data";
	args[k++] = n->data;
	args[k++] = "--listen";
	args[k++] = n->url;
	args[k++] = "--http";
	args[k++] = "none";
	args[k++] = "--log-level";
	args[k++] = "warn";
	if (fsync) {
		args[k++] = "--fsync";
		args[k++] = fsync;
	}
	for (int i = 0; extra && extra[i] && k < MAX_ARGS - 1; i++)
		args[k++] = extra[i];
	args[k] = NULL;
	if ((rc = swb_rig_spawn("swb-node", args, n->log, &n->pid, err)) != SWB_OK)
		return rc;
	/* up when an admin token minted from its fresh secret gets an answer */
	int64_t until = swb_mono_ms() + NODE_START_MS;
	while (swb_mono_ms() < until) {
		if (waitpid(n->pid, NULL, WNOHANG) == n->pid) {
			n->pid = 0;
			return swb_err_set(err, SWB_EIO, "swb-node exited at start (see %s)", n->log);
		}
		char *token = NULL;
		struct swb_err e2;
		if (swb_client_local_token(n->data, "admin", 600, &token, &e2) == SWB_OK) {
			swb_client *c = swb_client_open(n->url, token, &e2);
			free(token);
			json_t *res = NULL;
			rc = c ? swb_client_call(c, "session.hello", NULL, 1000, &res, &e2) : SWB_EIO;
			json_decref(res);
			swb_client_close(c);
			if (rc == SWB_OK)
				return SWB_OK;
		}
		sleep_ms(50);
	}
	return swb_err_set(err, SWB_EUNAVAIL, "swb-node did not answer within %d s (see %s)", NODE_START_MS / 1000,
			   n->log);
}

void swb_rig_node_stop(struct swb_rig_node *n, bool keep)
{
	if (n->pid > 0)
		swb_rig_stop(n->pid, 10000);
	n->pid = 0;
	if (keep)
		untrack_dir(n->dir);
	else if (n->dir[0])
		swb_rig_rmdir(n->dir);
}

/* ---- the raw nng round trip ---- */

int swb_rig_echo_main(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "--rig-echo") != 0)
		return -1;
	nng_socket s;
	int rv = nng_rep0_open(&s);
	if (rv == 0)
		rv = nng_listen(s, argv[2], NULL, 0);
	if (rv != 0) {
		fprintf(stderr, "echo: %s: %s\n", argv[2], nng_strerror(rv));
		return 1;
	}
	for (;;) {
		char *buf = NULL;
		size_t len = 0;
		if ((rv = nng_recv(s, &buf, &len, NNG_FLAG_ALLOC)) != 0)
			break;
		if ((rv = nng_send(s, buf, len, NNG_FLAG_ALLOC)) != 0)
			nng_free(buf, len);
	}
	nng_close(s);
	return 0;
}

enum swb_code swb_rig_raw_rtt(bool tcp, const char *dir, size_t msg_bytes, int samples, struct swb_rig_rtt *out,
			      struct swb_err *err)
{
	char url[SWB_RIG_PATH_MAX + 16], log[SWB_RIG_PATH_MAX + 16];
	if (tcp)
		snprintf(url, sizeof url, "tcp://127.0.0.1:%d", swb_rig_free_port());
	else
		snprintf(url, sizeof url, "ipc://%s/echo.ipc", dir);
	snprintf(log, sizeof log, "%s/echo.log", dir);
	pid_t pid;
	const char *args[] = { "--rig-echo", url, NULL };
	/* the running program itself, even if a rebuild has replaced its file since */
	enum swb_code rc = swb_rig_spawn("/proc/self/exe", args, log, &pid, err);
	if (rc != SWB_OK)
		return rc;
	nng_socket s;
	int rv = nng_req0_open(&s);
	if (rv == 0)
		rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	for (int i = 0; rv == 0 && i < 250; i++) { /* the echo needs a moment to listen */
		if ((rv = nng_dial(s, url, NULL, 0)) == 0)
			break;
		rv = rv == NNG_ECONNREFUSED || rv == NNG_ENOENT ? 0 : rv;
		sleep_ms(20);
	}
	char *msg = malloc(msg_bytes ? msg_bytes : 1);
	struct swb_hist *h = calloc(1, sizeof *h);
	if (!msg || !h)
		rv = NNG_ENOMEM;
	else
		memset(msg, 'x', msg_bytes);
	for (int i = 0; rv == 0 && i < RTT_WARMUP + samples; i++) {
		int64_t t0 = mono_ns();
		char *back = NULL;
		size_t blen = 0;
		if ((rv = nng_send(s, msg, msg_bytes, 0)) == 0 && (rv = nng_recv(s, &back, &blen, NNG_FLAG_ALLOC)) == 0) {
			nng_free(back, blen);
			if (i >= RTT_WARMUP)
				swb_hist_add(h, mono_ns() - t0);
		}
	}
	nng_close(s);
	swb_rig_stop(pid, 2000);
	if (rv == 0) {
		out->p50_us = (double)swb_hist_quantile(h, 0.5) / 1000.0;
		out->p99_us = (double)swb_hist_quantile(h, 0.99) / 1000.0;
		out->mean_us = swb_hist_mean(h) / 1000.0;
		out->samples = samples;
	}
	free(msg);
	free(h);
	if (rv != 0)
		return swb_err_set(err, SWB_EIO, "raw nng round trip on %s: %s", url, nng_strerror(rv));
	return SWB_OK;
}
