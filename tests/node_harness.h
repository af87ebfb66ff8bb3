/*
 * node_harness.h - what the integration tests share: a real swb-node process
 * in a temporary data directory on free loopback ports, driven through the
 * client library with an admin token minted from the node's secret, killed
 * (SIGKILL) or stopped (SIGTERM) and restarted; plus reading the journal
 * file directly, as an operator would with jq.
 *
 * Header-only (static functions): each test is one executable.
 * The build directory comes from $SWB_BUILD (ctest sets it).
 */
#ifndef SWB_NODE_HARNESS_H
#define SWB_NODE_HARNESS_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "swb_client.h"

#define H_READY_MS 20000 /* a node must answer within this after start (replay included) */
#define H_CALL_MS 5000

struct h_node {
	char dir[256];   /* the data directory (under a temporary root) */
	char root[200];  /* the temporary root, removed at the end */
	char url[64];
	char log[300];
	int port, http_port; /* http_port 0: --http none */
	pid_t pid;
	const char *extra[16];
	int nextra;
	swb_client *c;
};

static inline long long h_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void h_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A loopback port nobody listens on now (never the defaults 7411/7412). */
static inline int h_free_port(void)
{
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof a;
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
			fprintf(stderr, "harness: no free port: %s\n", strerror(errno));
			exit(1);
		}
		close(fd);
		int port = ntohs(a.sin_port);
		if (port != 7411 && port != 7412)
			return port;
	}
}

static inline const char *h_build_dir(void)
{
	const char *b = getenv("SWB_BUILD");
	return b && *b ? b : "../build";
}

static inline int h_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static inline void h_rm_rf(const char *dir)
{
	if (dir && *dir)
		nftw(dir, h_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Sets up h with a fresh temporary data directory and ports. */
static inline void h_init(struct h_node *h, bool http)
{
	memset(h, 0, sizeof *h);
	snprintf(h->root, sizeof h->root, "%.150s/swb-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(h->root)) {
		fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	snprintf(h->dir, sizeof h->dir, "%s/data", h->root);
	snprintf(h->log, sizeof h->log, "%s/node.log", h->root);
	h->port = h_free_port();
	snprintf(h->url, sizeof h->url, "tcp://127.0.0.1:%d", h->port);
	h->http_port = http ? h_free_port() : 0;
}

static inline void h_arg(struct h_node *h, const char *arg)
{
	if (h->nextra < 15)
		h->extra[h->nextra++] = arg;
}

/* Starts swb-node (stdout and stderr appended to h->log); does not wait for it. */
static inline pid_t h_spawn(struct h_node *h)
{
	char exe[512], http[64];
	snprintf(exe, sizeof exe, "%s/swb-node", h_build_dir());
	if (h->http_port)
		snprintf(http, sizeof http, "127.0.0.1:%d", h->http_port);
	else
		snprintf(http, sizeof http, "none");
	const char *argv[40] = { exe, "--data", h->dir, "--listen", h->url, "--http", http, "--log-level", "info" };
	int argc = 9;
	for (int i = 0; i < h->nextra; i++)
		argv[argc++] = h->extra[i];
	argv[argc] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	h->pid = pid;
	return pid;
}

/* A client with an admin token (kept in h->c); NULL when the secret is not there yet. */
static inline swb_client *h_client(struct h_node *h)
{
	if (h->c)
		return h->c;
	char *tok = NULL;
	struct swb_err err;
	if (swb_client_local_token(h->dir, "admin", 86400, &tok, &err) != SWB_OK)
		return NULL;
	h->c = swb_client_open(h->url, tok, &err);
	free(tok);
	return h->c;
}

/* Waits until the node answers (or exits: false). */
static inline bool h_wait_ready(struct h_node *h)
{
	long long end = h_now_ms() + H_READY_MS;
	while (h_now_ms() < end) {
		int status;
		if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
			h->pid = 0;
			return false;
		}
		swb_client *c = h_client(h);
		struct swb_err err;
		if (c && swb_client_call(c, "session.hello", NULL, 300, NULL, &err) == SWB_OK)
			return true;
		if (!c)
			h_sleep_ms(20);
	}
	return false;
}

/* Starts the node and waits for it; a fresh client, so no reconnect backoff from a previous run delays it.
 * Nothing may use h->c meanwhile. */
static inline bool h_start(struct h_node *h)
{
	swb_client_close(h->c);
	h->c = NULL;
	h_spawn(h);
	return h_wait_ready(h);
}

static inline void h_kill9(struct h_node *h)
{
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
	}
	h->pid = 0;
}

/* SIGTERM and wait; the exit status (or -1). */
static inline int h_stop(struct h_node *h)
{
	int status = -1;
	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		waitpid(h->pid, &status, 0);
	}
	h->pid = 0;
	return status;
}

/* Stops everything and removes the temporary directory. */
static inline void h_cleanup(struct h_node *h)
{
	h_kill9(h);
	swb_client_close(h->c);
	h->c = NULL;
	if (!getenv("SWB_KEEP_TMP"))
		h_rm_rf(h->root);
}

/* Runs op; args is stolen (may be NULL). The result (new reference) or NULL; *rc gets the code. */
static inline json_t *h_call_rc(struct h_node *h, const char *op, json_t *args, enum swb_code *rc, struct swb_err *err)
{
	json_t *res = NULL;
	struct swb_err e2;
	if (!err)
		err = &e2;
	swb_client *c = h_client(h);
	enum swb_code r = c ? swb_client_call(c, op, args, H_CALL_MS, &res, err) : SWB_EUNAVAIL;
	json_decref(args);
	if (rc)
		*rc = r;
	return r == SWB_OK ? res : NULL;
}

/* Runs op and fails the process when it does not succeed. */
static inline json_t *h_call(struct h_node *h, const char *op, json_t *args)
{
	enum swb_code rc;
	struct swb_err err = { 0 };
	json_t *res = h_call_rc(h, op, args, &rc, &err);
	if (!res) {
		fprintf(stderr, "harness: %s failed: %s: %s\n", op, swb_code_name(rc), err.msg);
		exit(1);
	}
	return res;
}

/* The default workspace's journal path (the first WS directory). */
static inline bool h_journal_path(const struct h_node *h, char *out, size_t len)
{
	char dir[300];
	snprintf(dir, sizeof dir, "%s/workspaces", h->dir);
	DIR *d = opendir(dir);
	if (!d)
		return false;
	struct dirent *e;
	bool found = false;
	while (!found && (e = readdir(d)))
		if (strncmp(e->d_name, "WS", 2) == 0 && strlen(e->d_name) == 34) {
			snprintf(out, len, "%.300s/%.40s/journal", dir, e->d_name);
			found = true;
		}
	closedir(d);
	return found;
}

/* Appends the records of kinds in the journal file at path to out. */
static inline void h_file_records(const char *path, const char *kinds, json_t *out)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while (f && (n = getline(&line, &cap, f)) > 0) {
		json_error_t je;
		json_t *rec = json_loadb(line, (size_t)n, 0, &je);
		const char *k = json_string_value(json_object_get(rec, "k"));
		if (k && strchr(kinds, k[0]))
			json_array_append(out, rec);
		json_decref(rec);
	}
	free(line);
	if (f)
		fclose(f);
}

static inline int h_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The rotated journal files (journal.<seq>.<t>) of the default workspace, oldest first: *n paths to free. */
static inline char **h_journal_segments(const struct h_node *h, size_t *n)
{
	char path[512];
	*n = 0;
	if (!h_journal_path(h, path, sizeof path))
		return NULL;
	char *slash = strrchr(path, '/');
	*slash = '\0';
	DIR *d = opendir(path);
	char **out = NULL;
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, "journal.", 8) == 0) {
			out = realloc(out, (*n + 1) * sizeof *out);
			size_t len = strlen(path) + strlen(e->d_name) + 2;
			out[*n] = malloc(len);
			snprintf(out[(*n)++], len, "%s/%s", path, e->d_name);
		}
	if (d)
		closedir(d);
	if (*n)
		qsort(out, *n, sizeof *out, h_strcmp_p);
	return out;
}

static inline void h_free_paths(char **p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i]);
	free(p);
}

/*
 * Waits until no journal rotation is in progress, for tests that read the files while the node runs:
 * a rotation starts after a loop turn's answers (two requests make sure that turn is over) and ends
 * with journal-next renamed into place. False after 10 s.
 */
static inline bool h_journal_quiet(struct h_node *h)
{
	char path[512], next[600];
	json_decref(h_call(h, "session.hello", NULL));
	json_decref(h_call(h, "session.hello", NULL));
	if (!h_journal_path(h, path, sizeof path))
		return false;
	snprintf(next, sizeof next, "%s-next", path);
	for (int i = 0; i < 1000; i++) {
		if (access(next, F_OK) != 0)
			return true;
		h_sleep_ms(10);
	}
	return false;
}

static inline size_t h_journal_segment_count(const struct h_node *h)
{
	size_t n = 0;
	char **segs = h_journal_segments(h, &n);
	h_free_paths(segs, n);
	return n;
}

/* Every record of the journal and its rotated files ("k" kinds in kinds, e.g. "E"), parsed, oldest first;
 * a torn last line is skipped. */
static inline json_t *h_journal_records(const struct h_node *h, const char *kinds)
{
	char path[512];
	json_t *out = json_array();
	if (!h_journal_path(h, path, sizeof path))
		return out;
	size_t n;
	char **segs = h_journal_segments(h, &n);
	for (size_t i = 0; i < n; i++)
		h_file_records(segs[i], kinds, out);
	h_free_paths(segs, n);
	h_file_records(path, kinds, out);
	return out;
}

/* The E records' events ("e"), oldest first, each once (a rotated journal starts with a copy of the last event). */
static inline json_t *h_journal_events(const struct h_node *h)
{
	json_t *recs = h_journal_records(h, "E"), *out = json_array();
	size_t i;
	json_t *r;
	json_int_t last = 0;
	json_array_foreach(recs, i, r) {
		json_int_t seq = json_integer_value(json_object_get(json_object_get(r, "e"), "seq"));
		if (seq <= last)
			continue;
		json_array_append(out, json_object_get(r, "e"));
		last = seq;
	}
	json_decref(recs);
	return out;
}

/* The last C record's seq (0 when none). */
static inline unsigned long long h_journal_cursor(const struct h_node *h)
{
	json_t *recs = h_journal_records(h, "C");
	size_t n = json_array_size(recs);
	unsigned long long c = n ? (unsigned long long)json_integer_value(json_object_get(json_array_get(recs, n - 1), "seq")) : 0;
	json_decref(recs);
	return c;
}

/* Whether the node's log contains text. */
static inline bool h_log_has(const struct h_node *h, const char *text)
{
	FILE *f = fopen(h->log, "r");
	if (!f)
		return false;
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	while (!found && getline(&line, &cap, f) > 0)
		found = strstr(line, text) != NULL;
	free(line);
	fclose(f);
	return found;
}

static inline const char *h_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

#endif
