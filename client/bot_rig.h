/*
 * bot_rig.h - a test rig for benchmarks: start a swb-node and swb-bot
 * processes next to the running program, wait for them, measure them (RSS,
 * raw nng round trips), and stop them. Used by bench/bench_latency.c,
 * bench/bench_memory.c and bench/bench_soak.c; nothing in the programs
 * themselves depends on it.
 *
 * The programs are found next to the running executable (the build
 * directory) unless SWB_BUILD names another directory.
 */
#ifndef SWB_BOT_RIG_H
#define SWB_BOT_RIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "swb_error.h"

#define SWB_RIG_PATH_MAX 512

/* The most workers one swb-bot process gets: two descriptors each stay well under common limits. */
#define SWB_RIG_WORKERS_PER_BOT 2500

struct swb_rig_node {
	pid_t pid;
	char dir[SWB_RIG_PATH_MAX / 2]; /* the temporary directory (data, logs, ipc socket) */
	char data[SWB_RIG_PATH_MAX]; /* the data directory */
	char url[SWB_RIG_PATH_MAX];  /* the url clients use (ipc or tcp) */
	char log[SWB_RIG_PATH_MAX];
};

/*
 * Makes everything the rig starts go away however the program ends: at exit,
 * and on SIGINT, SIGTERM or SIGHUP, every child still running is stopped and
 * every temporary directory still registered is removed. Call once, early.
 */
void swb_rig_install_cleanup(void);

/* The cleanup itself (also run at exit once installed). */
void swb_rig_cleanup(void);

/* Creates a temporary directory "swb-WHAT.XXXXXX" under $TMPDIR or /tmp, removed at cleanup. */
enum swb_code swb_rig_tmpdir(char *out, size_t len, const char *what, struct swb_err *err);

/* Removes a directory made by swb_rig_tmpdir now. */
void swb_rig_rmdir(const char *dir);

/* Raises the soft open-files limit to the hard one; returns the new soft limit. */
long swb_rig_raise_nofile(void);

/* One line about the machine: "x86_64, 2 CPUs, <model>, 23.5 GB RAM, Linux 6.1". */
void swb_rig_machine(char *out, size_t len);

/* The directory holding swb-node and swb-bot (SWB_BUILD, else the running program's). */
const char *swb_rig_bin_dir(void);

/* A loopback TCP port that was free a moment ago. 0 on failure. */
int swb_rig_free_port(void);

/* The VmRSS of a process in KiB, or -1. */
long swb_rig_rss_kb(pid_t pid);

/* A process's CPU use (user + system) over the next ms milliseconds, in percent of one CPU; -1 on error. */
double swb_rig_cpu_percent(pid_t pid, int ms);

/* Writes doc (borrowed) as JSON to path. */
enum swb_code swb_rig_write_json(const char *path, json_t *doc, struct swb_err *err);

/*
 * Starts swb-node in a new temporary directory with the workspace file config
 * (NULL: the embedded default), listening on ipc (tcp false) or on a free
 * loopback port, journal fsync mode fsync (NULL: the node's default), and
 * extra arguments (NULL-terminated, may be NULL). Waits until it answers.
 */
enum swb_code swb_rig_node_start(struct swb_rig_node *n, const char *config, bool tcp, const char *fsync,
				 const char *const *extra, struct swb_err *err);

/* Stops the node (SIGTERM, then SIGKILL) and removes its directory (unless keep). */
void swb_rig_node_stop(struct swb_rig_node *n, bool keep);

/*
 * Starts a program from swb_rig_bin_dir() ("swb-bot") with args
 * (NULL-terminated), its output going to log. *pid on success.
 */
enum swb_code swb_rig_spawn(const char *prog, const char *const *args, const char *log, pid_t *pid, struct swb_err *err);

/*
 * Stops a child: SIGTERM, up to wait_ms for it to exit, then SIGKILL. Returns
 * its exit status (0..255), 128+signal if killed, or -1.
 */
int swb_rig_stop(pid_t pid, int wait_ms);

/* Waits up to timeout_ms for a child to exit; its status as swb_rig_stop, or -2 on timeout. */
int swb_rig_wait(pid_t pid, int timeout_ms);

/* Waits up to timeout_ms for path to exist; false on timeout or if watch (a child, 0: none) exits. */
bool swb_rig_wait_file(const char *path, int timeout_ms, pid_t watch);

/* The raw nng round trip over url's transport ("ipc" or "tcp"), as the node's baseline. */
struct swb_rig_rtt {
	double p50_us, p99_us, mean_us;
	int samples;
};

/*
 * Measures nng req/rep round trips of msg_bytes-byte messages: starts an echo
 * server (a rep0 socket in another process, like the node: the running
 * program again, with --rig-echo URL) on a fresh ipc path in dir or a free
 * loopback port, and times samples round trips from a req0 socket here after
 * a warm-up. The program's main must start with swb_rig_echo_main.
 */
enum swb_code swb_rig_raw_rtt(bool tcp, const char *dir, size_t msg_bytes, int samples, struct swb_rig_rtt *out,
			      struct swb_err *err);

/*
 * Call first in main: when argv is "PROG --rig-echo URL", serves the echo and
 * returns the exit status (>= 0); otherwise returns -1 and main goes on.
 */
int swb_rig_echo_main(int argc, char **argv);

#endif
