/*
 * node.c - swb-node's serving mode: one routing thread owns the core and runs
 * the loop (poll the inbox and signals, handle requests, fire timers, commit,
 * answer). nng threads only hand requests over (nng_server.c). Wire decoding,
 * authentication and node-level ops (session, snapshot, events) live in
 * node_ops.c; this file is the loop, start-up, reload and shutdown.
 */
#include "node.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "node_internal.h"
#include "paths.h"
#include "timefmt.h"
#include "token.h"
#include "workspace_file.h"

void swb_node_opts_init(struct swb_node_opts *o)
{
	memset(o, 0, sizeof *o);
	o->disconnect_grace_ms = 30000;
}

int swb_node_opts_add_listen(struct swb_node_opts *o, const char *url)
{
	if (o->nlisten >= SWB_NODE_MAX_LISTEN)
		return -1;
	o->listen[o->nlisten++] = url;
	return 0;
}

/* ---- events: the core's sink ---- */

static void on_event(void *ctx, const struct swb_event *ev)
{
	struct wspace *w = ctx;
	swb_eventlog_append(w->events, ev);
	node_journal_event(w, ev);
}

/* ---- workspaces ---- */

static void log_load_error(void *ctx, const char *msg)
{
	swb_error("%s: %s", (const char *)ctx, msg);
}

static uint64_t random_seed(void)
{
	char hex[17];
	struct swb_err err;
	if (swb_random_hex(hex, 8, &err) != SWB_OK)
		return (uint64_t)swb_wall_ms() ^ (uint64_t)getpid();
	return strtoull(hex, NULL, 16);
}

static struct wspace *ws_alloc(struct node *n, const char *sid)
{
	struct wspace *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->n = n;
	snprintf(w->sid, sizeof w->sid, "%s", sid);
	snprintf(w->dir, sizeof w->dir, "%s/workspaces/%s", n->data_dir, sid);
	w->events = swb_eventlog_new(n->opts.event_window > 0 ? (size_t)n->opts.event_window : SWB_EVENTLOG_WINDOW);
	if (!w->events) {
		free(w);
		return NULL;
	}
	return w;
}

static void ws_free(struct wspace *w)
{
	if (!w)
		return;
	node_journal_close(w);
	swb_core_free(w->core);
	swb_eventlog_free(w->events);
	free(w);
}

static void ws_add(struct node *n, struct wspace *w)
{
	struct wspace **nw = realloc(n->ws, (n->nws + 1) * sizeof *nw);
	if (!nw)
		abort();
	n->ws = nw;
	n->ws[n->nws++] = w;
}

struct wspace *node_ws_find(struct node *n, const char *ref)
{
	if (!ref)
		return n->nws ? n->ws[0] : NULL;
	for (size_t i = 0; i < n->nws; i++)
		if (strcmp(n->ws[i]->sid, ref) == 0)
			return n->ws[i];
	for (size_t i = 0; i < n->nws; i++) {
		json_t *ws = NULL;
		swb_core_sys(n->ws[i]->core, swb_wall_ms(), "workspace.fetch", NULL, &ws, NULL);
		bool match = strcmp(json_string_value(json_object_get(ws, "friendly_name")), ref) == 0;
		json_decref(ws);
		if (match)
			return n->ws[i];
	}
	return NULL;
}

struct wspace *node_ws_of_worker(struct node *n, const char *worker_sid)
{
	for (size_t i = 0; worker_sid && i < n->nws; i++) {
		json_t *args = json_pack("{s:s}", "sid", worker_sid);
		enum swb_code rc = node_exec(n->ws[i], swb_wall_ms(), NULL, "workers.fetch", args, NULL, NULL);
		json_decref(args);
		if (rc == SWB_OK)
			return n->ws[i];
	}
	return NULL;
}

enum swb_code node_ws_create(struct node *n, json_t *doc, struct wspace **out, struct swb_err *err)
{
	char sid[SWB_SID_SIZE], hex[33];
	if (swb_random_hex(hex, 16, err) != SWB_OK)
		return SWB_EINTERNAL;
	snprintf(sid, sizeof sid, "WS%s", hex);
	struct swb_core_opts co = { .seed = 1, .now_ms = swb_wall_ms() };
	swb_core *scratch = NULL;
	if (swb_workspace_build(doc, &co, NULL, NULL, &scratch) != 0)
		return swb_err_set(err, SWB_EINVAL, "the workspace document does not load (swb-node --check-config tells why)");
	swb_core_free(scratch);
	struct wspace *w = ws_alloc(n, sid);
	if (!w)
		return swb_err_set(err, SWB_ENOMEM, "out of memory");
	if (swb_mkdir_p(w->dir, 0700) != 0 || node_journal_create(w, doc, random_seed(), on_event) != 0) {
		ws_free(w);
		return swb_err_set(err, SWB_EIO, "cannot create the workspace's journal under %s", n->data_dir);
	}
	ws_add(n, w);
	*out = w;
	return SWB_OK;
}

void node_ws_delete(struct node *n, struct wspace *w)
{
	for (size_t i = 0; i < n->nws; i++) {
		if (n->ws[i] != w)
			continue;
		memmove(&n->ws[i], &n->ws[i + 1], (n->nws - i - 1) * sizeof *n->ws);
		n->nws--;
		break;
	}
	node_drop_pulls(n, w);
	char gone[SWB_PATH_MAX + 128];
	snprintf(gone, sizeof gone, "%s.deleted-%lld", w->dir, (long long)swb_wall_ms());
	node_journal_close(w);
	if (rename(w->dir, gone) != 0)
		swb_warn("could not move %s aside: %s", w->dir, strerror(errno));
	ws_free(w);
}

/* Opens every workspace under DATA/workspaces, the default one (DATA/default) first. */
static int open_workspaces(struct node *n)
{
	char dir[SWB_PATH_MAX + 16], dflt[SWB_SID_SIZE] = "";
	snprintf(dir, sizeof dir, "%s/workspaces", n->data_dir);
	swb_mkdir_p(dir, 0700);
	char path[SWB_PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/default", n->data_dir);
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(dflt, sizeof dflt, f))
			dflt[0] = '\0';
		fclose(f);
	}
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (!swb_sid_valid(e->d_name, "WS"))
			continue;
		struct wspace *w = ws_alloc(n, e->d_name);
		if (!w || node_journal_open(w, on_event) != 0) {
			ws_free(w);
			rc = -1;
			break;
		}
		ws_add(n, w);
		if (strcmp(w->sid, dflt) == 0 && n->nws > 1) {
			n->ws[n->nws - 1] = n->ws[0];
			n->ws[0] = w;
		}
	}
	closedir(d);
	return rc;
}

static int create_default(struct node *n, json_t *doc)
{
	struct wspace *w;
	struct swb_err err;
	if (node_ws_create(n, doc, &w, &err) != SWB_OK) {
		swb_error("%s", err.msg);
		return -1;
	}
	if (n->nws > 1) {
		n->ws[n->nws - 1] = n->ws[0];
		n->ws[0] = w;
	}
	n->created_default = true;
	char path[SWB_PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/default", n->data_dir);
	FILE *f = fopen(path, "w");
	if (!f || fprintf(f, "%s\n", w->sid) < 0 || fclose(f) != 0) {
		swb_error("cannot write %s", path);
		return -1;
	}
	return 0;
}

/* DATA/credentials.json: the account SID, auth token and one API key, made on first start. */
static int load_credentials(struct node *n)
{
	char path[SWB_PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/credentials.json", n->data_dir);
	json_error_t je;
	json_t *c = json_load_file(path, 0, &je);
	if (!c) {
		char a[33], t[33], k[33], s[33];
		struct swb_err err;
		if (swb_random_hex(a, 16, &err) || swb_random_hex(t, 16, &err) || swb_random_hex(k, 16, &err) ||
		    swb_random_hex(s, 16, &err))
			return -1;
		char asid[40], ksid[40];
		snprintf(asid, sizeof asid, "AC%s", a);
		snprintf(ksid, sizeof ksid, "SK%s", k);
		c = json_pack("{s:s, s:s, s:s, s:s}", "account_sid", asid, "auth_token", t, "api_key_sid", ksid,
			      "api_key_secret", s);
		char tmp[SWB_PATH_MAX + 40];
		snprintf(tmp, sizeof tmp, "%s.tmp", path);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || json_dumpfd(c, fd, JSON_INDENT(2)) != 0 || fsync(fd) != 0 || close(fd) != 0 ||
		    rename(tmp, path) != 0) {
			swb_error("cannot write %s: %s", path, strerror(errno));
			json_decref(c);
			return -1;
		}
	}
	const char *a, *t, *k, *s;
	if (json_unpack_ex(c, &je, 0, "{s:s, s:s, s:s, s:s}", "account_sid", &a, "auth_token", &t, "api_key_sid", &k,
			   "api_key_secret", &s) != 0 || !swb_sid_valid(a, "AC") || !swb_sid_valid(k, "SK") ||
	    strlen(t) != 32 || strlen(s) != 32) {
		swb_error("%s is not valid (%s); move it aside to make new credentials", path, je.text);
		json_decref(c);
		return -1;
	}
	snprintf(n->account_sid, sizeof n->account_sid, "%s", a);
	snprintf(n->auth_token, sizeof n->auth_token, "%s", t);
	snprintf(n->api_key_sid, sizeof n->api_key_sid, "%s", k);
	snprintf(n->api_key_secret, sizeof n->api_key_secret, "%s", s);
	json_decref(c);
	return 0;
}

static int open_data_dir(struct node *n)
{
	if (n->opts.data_dir)
		snprintf(n->data_dir, sizeof n->data_dir, "%s", n->opts.data_dir);
	else
		swb_default_data_dir(n->data_dir, sizeof n->data_dir);
	if (swb_mkdir_p(n->data_dir, 0700) != 0) {
		swb_error("cannot create data directory %s: %s", n->data_dir, strerror(errno));
		return -1;
	}
	struct swb_err err;
	if (swb_secret_load_or_create(n->data_dir, n->secret, &err) != SWB_OK) {
		swb_error("%s", err.msg);
		return -1;
	}
	return load_credentials(n);
}

static int open_listeners(struct node *n)
{
	const char *urls[SWB_NODE_MAX_LISTEN + 2];
	int nurls = 0;
	if (n->opts.nlisten == 0) {
		swb_default_ipc_url(n->ipc_url, sizeof n->ipc_url, 1);
		unlink(n->ipc_url + 6); /* a stale socket from a killed node */
		urls[nurls++] = n->ipc_url;
		urls[nurls++] = SWB_DEFAULT_TCP_URL;
	}
	for (int i = 0; i < n->opts.nlisten; i++)
		urls[nurls++] = n->opts.listen[i];
	struct swb_nng_tls tls = { n->opts.tls_cert, n->opts.tls_key };
	struct swb_err err;
	if (swb_nng_server_open(n->inbox, urls, nurls, &tls, &n->nng, &err) != SWB_OK) {
		swb_error("%s", err.msg);
		return -1;
	}
	return 0;
}

static int block_signals(int *sfd)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any I/O thread starts, so they inherit the mask and only signalfd sees them. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	*sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return *sfd < 0 ? -1 : 0;
}

/* ---- reload (SIGHUP) ---- */

static void upsert(struct wspace *w, json_t *doc, const char *key, const char *prefix, const char *const *keep)
{
	json_t *arr = json_object_get(doc, key);
	size_t i;
	json_t *item;
	json_array_foreach(arr, i, item) {
		const char *name = json_string_value(json_object_get(item, strcmp(key, "task_channels") == 0 ?
									 "unique_name" : "friendly_name"));
		char op[64];
		json_t *args = json_object(), *found = NULL;
		snprintf(op, sizeof op, "%s.fetch", prefix);
		json_object_set_new(args, "sid", json_string(name));
		bool exists = node_exec(w, swb_wall_ms(), NULL, op, args, &found, NULL) == SWB_OK;
		json_decref(args);
		args = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(item, k, v) {
			bool ok = !exists;
			for (const char *const *kk = keep; *kk && !ok; kk++)
				ok = strcmp(*kk, k) == 0;
			if (ok)
				json_object_set(args, k, v);
		}
		if (exists)
			json_object_set(args, "sid", json_object_get(found, "sid"));
		snprintf(op, sizeof op, "%s.%s", prefix, exists ? "update" : "create");
		struct swb_err err;
		if ((!exists || json_object_size(args) > 1) &&
		    node_exec(w, swb_wall_ms(), NULL, op, args, NULL, &err) != SWB_OK)
			swb_warn("reload: %s[%zu] '%s': %s", key, i, name ? name : "?", err.msg);
		json_decref(found);
		json_decref(args);
	}
}

/*
 * Validates the configuration file on a scratch core first; only if it loads
 * cleanly are its resources applied to the live core (created when new, updated
 * when they exist). Resources missing from the file are left alone.
 */
static void reload(struct node *n)
{
	struct swb_err err;
	json_t *doc = swb_workspace_read(n->opts.config_path, &err);
	if (!doc) {
		swb_error("reload refused, keeping the running configuration: %s", err.msg);
		return;
	}
	struct swb_core_opts co = { .seed = 1, .now_ms = swb_wall_ms() };
	swb_core *scratch = NULL;
	int nerr = swb_workspace_build(doc, &co, log_load_error, (void *)"reload", &scratch);
	if (nerr) {
		swb_error("reload refused (%d error%s), keeping the running configuration", nerr, nerr == 1 ? "" : "s");
		json_decref(doc);
		return;
	}
	swb_core_free(scratch);
	node_apply_config(n->ws[0], doc);
	json_decref(doc);
	swb_info("configuration reloaded from %s", n->opts.config_path ? n->opts.config_path : "(default workspace)");
}

/* Applies a validated workspace document to the live core (create new, update existing). */
void node_apply_config(struct wspace *w, json_t *doc)
{
	static const char *const act_keys[] = { NULL };
	static const char *const ch_keys[] = { "friendly_name", NULL };
	static const char *const q_keys[] = { "target_workers", "task_order", "max_reserved_workers",
					      "reservation_activity_sid", "assignment_activity_sid", NULL };
	static const char *const wk_keys[] = { "attributes", NULL };
	static const char *const wf_keys[] = { "configuration", "task_reservation_timeout", "assignment_callback_url",
					       "fallback_assignment_callback_url", NULL };
	upsert(w, doc, "activities", "activities", act_keys);
	upsert(w, doc, "task_channels", "task_channels", ch_keys);
	upsert(w, doc, "task_queues", "task_queues", q_keys);
	upsert(w, doc, "workers", "workers", wk_keys);
	upsert(w, doc, "workflows", "workflows", wf_keys);
}

/* ---- the loop ---- */

static void handle_signals(struct node *n)
{
	struct signalfd_siginfo si;
	while (read(n->sigfd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGHUP) {
			reload(n);
		} else {
			swb_info("signal %u: stopping", si.ssi_signo);
			n->stopping = true;
		}
	}
}

static void drain_inbox(struct node *n)
{
	struct swb_in *list = swb_inbox_take(n->inbox);
	for (struct swb_in *it = list; it; it = it->next) {
		switch (it->kind) {
		case SWB_IN_NNG_REQUEST:
			node_handle_nng(n, it->ptr);
			break;
		case SWB_IN_PIPE_GONE:
			node_pipe_gone(n, it->u);
			break;
		case SWB_IN_HTTP:
			node_handle_http(n, it->ptr);
			break;
		default:
			break;
		}
	}
	swb_inbox_release(list);
	swb_nng_server_replenish(n->nng);
}

static int poll_timeout(struct node *n, int64_t now)
{
	int64_t next = INT64_MAX;
	for (size_t i = 0; i < n->nws; i++) {
		int64_t d = swb_core_next_deadline(n->ws[i]->core);
		if (d < next)
			next = d;
	}
	int64_t other = node_next_deadline(n);
	if (other < next)
		next = other;
	if (next == INT64_MAX)
		return 1000;
	int64_t ms = next - now;
	return ms < 0 ? 0 : ms > 1000 ? 1000 : (int)ms;
}

static void loop(struct node *n)
{
	struct pollfd fds[2] = { { .fd = swb_inbox_fd(n->inbox), .events = POLLIN },
				 { .fd = n->sigfd, .events = POLLIN } };
	while (!n->stopping) {
		int rv = poll(fds, 2, poll_timeout(n, swb_wall_ms()));
		/* 512..516: the kernel's ERESTART* codes, which leak out when a debugger attaches */
		if (rv < 0 && errno != EINTR && errno != EAGAIN && !(errno >= 512 && errno <= 516)) {
			swb_error("poll: %s", strerror(errno));
			break;
		}
		if (fds[1].revents & POLLIN)
			handle_signals(n);
		drain_inbox(n);
		int64_t now = swb_wall_ms();
		node_tick(n, now);
		node_http_tick(n, now);
		for (size_t i = 0; i < n->nws; i++)
			node_core_tick(n->ws[i], now);
		node_commit_and_flush(n, now);
	}
	/* Answer what is in flight, then stop accepting. */
	drain_inbox(n);
	node_commit_and_flush(n, swb_wall_ms());
	node_release_pulls(n);
	usleep(100 * 1000); /* let nng put the last answers on the wire */
}

static void cleanup(struct node *n)
{
	swb_nng_server_close(n->nng);
	node_http_stop(n);
	node_state_free(n);
	for (size_t i = 0; i < n->nws; i++)
		ws_free(n->ws[i]);
	free(n->ws);
	swb_inbox_free(n->inbox);
	if (n->sigfd >= 0)
		close(n->sigfd);
	if (n->ipc_url[0])
		unlink(n->ipc_url + 6);
}

int swb_node_run(const struct swb_node_opts *o)
{
	int level = swb_log_level_parse(o->log_level ? o->log_level : "info");
	if (level < 0) {
		fprintf(stderr, "swb-node: --log-level must be error, warn, info or debug\n");
		return 2;
	}
	swb_log_init("swb-node", (enum swb_log_level)level);
	struct node *n = calloc(1, sizeof *n);
	if (!n)
		return 1;
	n->opts = *o;
	if (n->opts.retention_days <= 0)
		n->opts.retention_days = SWB_NODE_RETENTION_DAYS;
	n->sigfd = -1;
	int rc = 1;
	json_t *doc = NULL;
	struct swb_err err;
	if (block_signals(&n->sigfd) != 0 || open_data_dir(n) != 0)
		goto out;
	if (!(doc = swb_workspace_read(o->config_path, &err))) {
		swb_error("%s", err.msg);
		goto out;
	}
	n->inbox = swb_inbox_new();
	if (!n->inbox || node_state_init(n) != 0)
		goto out;
	if (open_workspaces(n) != 0)
		goto out;
	if (n->nws == 0 && create_default(n, doc) != 0)
		goto out;
	if (o->config_path && !n->created_default)
		node_apply_config(n->ws[0], doc); /* the file may have changed since the journal began */
	if (open_listeners(n) != 0 || node_http_start(n) != 0)
		goto out;
	swb_info("serving %zu workspace%s (default '%s') from %s", n->nws, n->nws == 1 ? "" : "s",
		 node_workspace_name(n->ws[0]), n->data_dir);
	loop(n);
	rc = 0;
out:
	json_decref(doc);
	cleanup(n);
	free(n);
	return rc;
}
