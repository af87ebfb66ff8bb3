/*
 * main_swbctl.c - swbctl: the scripting and admin command line. Parses the
 * command (swbctl_args.c), mints a token from the local secret when none is
 * given, runs one op through the client library, and prints the answer: JSON
 * when stdout is not a terminal (or with --json), a table on a terminal. Also
 * follows events (one per line) and mints tokens.
 *
 * Exit codes: 0 success, 1 an error (stderr "swbctl: CODE: message"),
 * 2 a usage error.
 */
#include <errno.h>
#include <nng/nng.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "paths.h"
#include "sid.h"
#include "swb_client.h"
#include "swbctl_args.h"

#define CELL_MAX 40   /* widest table cell, bytes */
#define VALUE_MAX 100 /* widest nested value in key: value output */

static int fail(const struct swb_err *err, int code)
{
	fprintf(stderr, "swbctl: %s: %s\n", swb_code_name(err->code), err->msg);
	if (code == 2)
		fprintf(stderr, "(swbctl --help lists the commands)\n");
	return code;
}

/* ---- output ---- */

static const struct {
	const char *key;
	const char *cols[7];
} preferred_cols[] = {
	{ "workers", { "sid", "friendly_name", "activity_name", "available", "attributes", NULL } },
	{ "tasks", { "sid", "assignment_status", "priority", "age", "task_queue_friendly_name", "attributes", NULL } },
	{ "reservations", { "sid", "reservation_status", "worker_name", "task_sid", "date_updated", NULL } },
	{ "task_queues", { "sid", "friendly_name", "target_workers", "task_order", NULL } },
	{ "activities", { "sid", "friendly_name", "available", NULL } },
	{ "channels", { "sid", "unique_name", "friendly_name", "configured_capacity", "available", NULL } },
	{ "workflows", { "sid", "friendly_name", "task_reservation_timeout", NULL } },
	{ "events", { "event_date", "event_type", "resource_sid", "description", NULL } },
	{ "ops", { "op", "scope", "mutates", "summary", NULL } },
	{ "workspaces", { "sid", "friendly_name", "default_activity_name", "timeout_activity_name", NULL } },
};

/* A cell's text (malloc'd): strings raw, null "-", others compact JSON; cut at max bytes. */
static char *cell_text(json_t *v, size_t max)
{
	char *s;
	if (!v || json_is_null(v))
		s = strdup("-");
	else if (json_is_string(v))
		s = strdup(json_string_value(v));
	else
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		return NULL;
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	if (max > 3 && strlen(s) > max)
		memcpy(s + max - 3, "...", 4);
	return s;
}

static void print_rows(json_t *rows, const char *key)
{
	const char *cols[8];
	size_t ncols = 0;
	json_t *first = json_array_get(rows, 0);
	for (size_t i = 0; i < sizeof preferred_cols / sizeof preferred_cols[0]; i++) {
		if (strcmp(preferred_cols[i].key, key) != 0)
			continue;
		for (const char *const *c = preferred_cols[i].cols; *c; c++)
			if (json_object_get(first, *c))
				cols[ncols++] = *c;
	}
	if (ncols == 0) {
		const char *k;
		json_t *v;
		json_object_foreach(first, k, v) {
			if (ncols < 6 && !json_is_object(v) && !json_is_array(v))
				cols[ncols++] = k;
		}
	}
	size_t nrows = json_array_size(rows);
	char **cells = calloc(nrows * (ncols ? ncols : 1) + 1, sizeof *cells);
	size_t width[8] = { 0 };
	if (!cells)
		return;
	for (size_t c = 0; c < ncols; c++)
		width[c] = strlen(cols[c]);
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols; c++) {
			char *s = cell_text(json_object_get(json_array_get(rows, r), cols[c]), CELL_MAX);
			cells[r * ncols + c] = s;
			if (s && strlen(s) > width[c])
				width[c] = strlen(s);
		}
	for (size_t c = 0; c < ncols; c++) {
		for (const char *p = cols[c]; *p; p++)
			putchar(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
		printf("%*s", c + 1 < ncols ? (int)(width[c] - strlen(cols[c]) + 2) : 0, "");
	}
	putchar('\n');
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c] ? cells[r * ncols + c] : "?";
			if (c + 1 < ncols)
				printf("%-*s  ", (int)width[c], s);
			else
				printf("%s", s);
		}
		putchar('\n');
	}
	for (size_t i = 0; i < nrows * ncols; i++)
		free(cells[i]);
	free(cells);
}

static void print_kv(json_t *obj)
{
	size_t w = 0;
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) {
		if (strlen(k) > w)
			w = strlen(k);
	}
	json_object_foreach(obj, k, v) {
		char *s = cell_text(v, VALUE_MAX);
		printf("%-*s  %s\n", (int)w, k, s ? s : "?");
		free(s);
	}
}

static void print_result(json_t *res, bool table)
{
	if (!table) {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
		putchar('\n');
		return;
	}
	json_t *meta = json_object_get(res, "meta");
	const char *key = json_string_value(json_object_get(meta, "key"));
	if (!key && json_is_object(res) && json_object_size(res) == 1) {
		const char *k;
		json_t *v;
		json_object_foreach(res, k, v) {
			if (json_is_array(v) && json_is_object(json_array_get(v, 0)))
				key = k;
		}
	}
	json_t *rows = key ? json_object_get(res, key) : NULL;
	if (json_is_array(rows)) {
		if (json_array_size(rows) == 0)
			printf("(no %s)\n", key);
		else
			print_rows(rows, key);
		json_t *total = json_object_get(meta, "total");
		if (json_is_integer(total) && (size_t)json_integer_value(total) > json_array_size(rows))
			printf("(%zu of %lld; --page N --page-size N for more)\n", json_array_size(rows),
			       (long long)json_integer_value(total));
	} else if (json_is_object(res)) {
		print_kv(res);
	} else {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
		putchar('\n');
	}
}

/* ---- tokens and connections ---- */

static const char *opt_url(const struct swbctl_opts *o)
{
	const char *env = getenv("SWB_URL");
	return o->url ? o->url : env && *env ? env : NULL;
}

/* The token to send: --token, $SWB_TOKEN, else a fresh admin token from the local secret. */
static enum swb_code request_token(const struct swbctl_opts *o, char **out, struct swb_err *err)
{
	const char *env = getenv("SWB_TOKEN");
	const char *t = o->token ? o->token : env && *env ? env : NULL;
	if (t) {
		*out = strdup(t);
		return *out ? SWB_OK : swb_err_set(err, SWB_ENOMEM, "out of memory");
	}
	return swb_client_local_token(o->data_dir, "admin", SWBCTL_TTL_ADMIN, out, err);
}

static swb_client *connect_node(const struct swbctl_opts *o, struct swb_err *err)
{
	char *token = NULL;
	if (request_token(o, &token, err) != SWB_OK)
		return NULL;
	swb_client *c = swb_client_open(opt_url(o), token, err);
	free(token);
	const char *env = getenv("SWB_WORKSPACE");
	const char *ws = o->workspace ? o->workspace : env && *env ? env : NULL;
	if (c && ws && swb_client_set_workspace(c, ws, err) != SWB_OK) {
		swb_client_close(c);
		return NULL;
	}
	if (c && o->has_request_limit)
		swb_client_set_request_limit(c, o->request_limit);
	return c;
}

/* A worker's sid from a name (workers.list friendly_name) or a sid as given. */
static enum swb_code resolve_worker(const struct swbctl_opts *o, const char *who, char sid[SWB_SID_SIZE],
				    struct swb_err *err)
{
	if (swb_sid_valid(who, "WK")) {
		snprintf(sid, SWB_SID_SIZE, "%s", who);
		return SWB_OK;
	}
	swb_client *c = connect_node(o, err);
	if (!c)
		return err->code;
	json_t *args = json_pack("{s:s}", "friendly_name", who), *res = NULL;
	enum swb_code rc = swb_client_call(c, "workers.list", args, o->timeout_ms, &res, err);
	json_decref(args);
	swb_client_close(c);
	if (rc != SWB_OK)
		return rc;
	json_t *workers = json_object_get(res, "workers");
	const char *found = json_string_value(json_object_get(json_array_get(workers, 0), "sid"));
	if (json_array_size(workers) != 1 || !found || !swb_sid_valid(found, "WK"))
		rc = swb_err_set(err, SWB_ENOTFOUND, "no worker named '%s'", who);
	else
		snprintf(sid, SWB_SID_SIZE, "%s", found);
	json_decref(res);
	return rc;
}

static int run_token(const struct swbctl_opts *o, const struct swbctl_cmd *cmd)
{
	struct swb_err err = { 0 };
	char scope[SWB_SID_SIZE + 16], sid[SWB_SID_SIZE];
	if (cmd->worker) {
		if (resolve_worker(o, cmd->worker, sid, &err) != SWB_OK)
			return fail(&err, 1);
		snprintf(scope, sizeof scope, "worker:%s", sid);
	} else {
		snprintf(scope, sizeof scope, "%s", cmd->scope);
	}
	char *tok = NULL;
	if (swb_client_local_token(o->data_dir, scope, cmd->ttl, &tok, &err) != SWB_OK)
		return fail(&err, 1);
	printf("%s\n", tok);
	free(tok);
	return 0;
}

/* DATA/credentials.json, as the node wrote it: read locally like the secret. */
static int run_credentials(const struct swbctl_opts *o, bool table)
{
	char dir[SWB_PATH_MAX], path[SWB_PATH_MAX + 32];
	if (o->data_dir)
		snprintf(dir, sizeof dir, "%s", o->data_dir);
	else
		swb_default_data_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/credentials.json", dir);
	json_error_t je;
	json_t *c = json_load_file(path, 0, &je);
	if (!c) {
		struct swb_err err;
		swb_err_set(&err, SWB_EIO, "cannot read %s: %s (has the node started with this --data?)", path, je.text);
		return fail(&err, 1);
	}
	print_result(c, table);
	json_decref(c);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int run_call(const struct swbctl_opts *o, const struct swbctl_cmd *cmd, bool table)
{
	struct swb_err err = { 0 };
	swb_client *c = connect_node(o, &err);
	if (!c)
		return fail(&err, 1);
	json_t *res = NULL;
	enum swb_code rc = swb_client_call(c, cmd->op, cmd->args, o->timeout_ms, &res, &err);
	swb_client_close(c);
	if (rc != SWB_OK)
		return fail(&err, 1);
	print_result(res, table);
	json_decref(res);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- events follow ---- */

static void print_event_line(json_t *ev, bool table)
{
	if (!table) {
		json_dumpf(ev, stdout, JSON_COMPACT);
		putchar('\n');
		return;
	}
	const char *type = json_string_value(json_object_get(ev, "event_type"));
	if (!type)
		type = "?";
	if (strcmp(type, SWB_EVENT_CONNECTION) == 0) {
		printf("-- %s --\n", json_is_true(json_object_get(ev, "connected")) ? "connected again" :
										    "connection to the node lost; retrying");
	} else if (strcmp(type, SWB_EVENT_RESYNC) == 0) {
		json_t *seq = json_object_get(json_object_get(ev, "snapshot"), "seq");
		printf("-- resynchronized from a snapshot at seq %lld (events may have been missed) --\n",
		       (long long)json_integer_value(seq));
	} else {
		printf("%-8lld %s  %-32s %s\n", (long long)json_integer_value(json_object_get(ev, "seq")),
		       json_string_value(json_object_get(ev, "event_date")) ?: "-", type,
		       json_string_value(json_object_get(ev, "description")) ?: "");
	}
}

static int run_follow(const struct swbctl_opts *o, const struct swbctl_cmd *cmd, bool table)
{
	struct swb_err err = { 0 };
	/* Blocked before the client's threads start, so only the signalfd sees them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return fail(&(struct swb_err){ SWB_EIO, "cannot block signals" }, 1);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		swb_err_set(&err, SWB_EIO, "signalfd: %s", strerror(errno));
		return fail(&err, 1);
	}
	swb_client *c = connect_node(o, &err);
	if (!c || swb_client_follow(c, cmd->after, &err) != SWB_OK) {
		swb_client_close(c);
		close(sfd);
		return fail(&err, 1);
	}
	int rc = 0;
	long long seen = 0;
	bool done = false;
	while (!done) {
		struct pollfd fds[2] = { { .fd = swb_client_event_fd(c), .events = POLLIN },
					 { .fd = sfd, .events = POLLIN } };
		if (poll(fds, 2, -1) < 0 && errno != EINTR) {
			swb_err_set(&err, SWB_EIO, "poll: %s", strerror(errno));
			rc = fail(&err, 1);
			break;
		}
		if (fds[1].revents & POLLIN)
			break; /* interrupted: a normal end */
		json_t *ev;
		while (!done && (ev = swb_client_next_event(c))) {
			const char *type = json_string_value(json_object_get(ev, "event_type"));
			if (type && strcmp(type, SWB_EVENT_ERROR) == 0) {
				swb_err_set(&err, swb_code_from_name(json_string_value(json_object_get(ev, "code"))), "%s",
					    json_string_value(json_object_get(ev, "message")) ?: "?");
				rc = fail(&err, 1);
				done = true;
			} else {
				print_event_line(ev, table);
				if (json_object_get(ev, "seq") && cmd->count > 0 && ++seen >= cmd->count)
					done = true;
			}
			json_decref(ev);
		}
		if (fflush(stdout) != 0) /* the reader went away */
			break;
	}
	swb_client_close(c);
	close(sfd);
	return rc;
}

int main(int argc, char **argv)
{
	struct swbctl_opts o;
	struct swb_err err = { 0 };
	int first = swbctl_parse_opts(argc, argv, &o, &err);
	if (first < 0)
		return fail(&err, 2);
	if (o.help) {
		swbctl_usage(stdout);
		return 0;
	}
	int cargc = argc - first;
	char **cargv = argv + first;
	swbctl_take_format(&cargc, cargv, &o);
	struct swbctl_cmd cmd;
	int rc;
	if (swbctl_parse(cargc, cargv, &cmd, &err) != SWB_OK) {
		rc = fail(&err, 2);
		swbctl_cmd_free(&cmd);
		return rc;
	}
	bool table = o.format == SWBCTL_FORMAT_TABLE || (o.format == SWBCTL_FORMAT_AUTO && isatty(STDOUT_FILENO));
	switch (cmd.action) {
	case SWBCTL_HELP:
		swbctl_usage(stdout);
		rc = 0;
		break;
	case SWBCTL_TOKEN:
		rc = run_token(&o, &cmd);
		break;
	case SWBCTL_CREDENTIALS:
		rc = run_credentials(&o, table);
		break;
	case SWBCTL_FOLLOW:
		rc = run_follow(&o, &cmd, table);
		break;
	case SWBCTL_CALL:
	default:
		rc = run_call(&o, &cmd, table);
		break;
	}
	swbctl_cmd_free(&cmd);
	if (swb_client_all_closed())
		nng_fini(); /* every client is closed: let valgrind see nng's threads end */
	return rc;
}
