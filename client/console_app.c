/*
 * console_app.c - swb-console's loop and everything both views share.
 *
 * One thread owns the screen and the view model. Its loop polls four
 * descriptors: the terminal, the client library's event queue, the call
 * thread's answers (console_rpc) and a self-pipe written by the SIGWINCH,
 * SIGINT and SIGTERM handlers. On each wake it drains input, applies answers
 * and events to the model (collecting VIEW_DIRTY_* bits), runs its timers,
 * and redraws the dirty panels with one doupdate() - at once after a key,
 * at most every CONSOLE_FRAME_MS while events stream in.
 *
 * The connection: the console first fetches a snapshot, then follows events
 * from its sequence. From then on the client library reports trouble as
 * synthetic events ("switchboard.connection", "switchboard.resync",
 * "switchboard.error"): a lost stream raises the reconnecting banner and
 * disables the keys that need the node; a resync replaces the model with the
 * node's snapshot, so the screen shows the true state after a restart.
 *
 * The token: one the console minted itself is minted again (console_token.c)
 * when 80% of its lifetime has passed and handed to the client library, which
 * sends it from then on; a failed renewal keeps the old token, says why on the
 * message line and is retried. A given token that expires is named as such in
 * the banner, with what to do about it.
 */
#define _GNU_SOURCE
#include "console_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "paths.h"
#include "timefmt.h"

/* Dirty bits of the app's own (inside VIEW_DIRTY_ALL, unused by the view). */
#define APP_DIRTY_CHROME (1u << 6)  /* message line and function bar */
#define APP_DIRTY_OVERLAY (1u << 7) /* the open overlay */

static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	char c = sig == SIGWINCH ? 'w' : 'q';
	if (write(sig_pipe[1], &c, 1) < 0) {
		/* the pipe is full: a wake-up is already pending */
	}
	errno = saved;
}

static const struct view_ops *ops_of(const struct app *a)
{
	return view_mode(a->view) == VIEW_SUPERVISOR ? &super_view_ops : &agent_view_ops;
}

int64_t app_now(const struct app *a)
{
	return swb_wall_ms() + a->clock_offset_ms;
}

void app_message(struct app *a, bool error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->msg, sizeof a->msg, fmt, ap);
	va_end(ap);
	a->msg_error = error;
	a->msg_until = swb_mono_ms() + CONSOLE_MESSAGE_MS;
	a->dirty |= APP_DIRTY_CHROME;
}

static void conn_set(struct app *a, enum conn_state st, const char *msg)
{
	bool banner_before = a->conn != CONN_ONLINE;
	if (a->conn != st)
		a->conn_since = swb_mono_ms();
	a->conn = st;
	snprintf(a->conn_msg, sizeof a->conn_msg, "%s", msg ? msg : "");
	if (banner_before != (st != CONN_ONLINE))
		a->need_layout = true;
	a->dirty |= VIEW_DIRTY_HEADER | APP_DIRTY_CHROME;
}

/* True when the node refuses the console because its token expired (swb_token_verify's wording). */
static bool token_expired(const struct app *a)
{
	return a->conn == CONN_REFUSED && strncmp(a->conn_msg, "token expired", 13) == 0;
}

/* What the user can do about an expired token. */
static const char *expired_remedy(const struct app *a)
{
	return a->renew ? "the console keeps trying to renew it (see the message line)"
			: "quit and start the console with a new token (--token or $SWB_TOKEN; swbctl token makes one)";
}

bool app_require_node(struct app *a, const char *what)
{
	if (a->conn == CONN_ONLINE && view_synced(a->view))
		return true;
	int secs = (int)((swb_mono_ms() - a->conn_since) / 1000);
	switch (a->conn) {
	case CONN_REFUSED:
		if (token_expired(a))
			app_message(a, true, "%s needs the node, which refuses this console's %s: %s", what, a->conn_msg,
				    expired_remedy(a));
		else
			app_message(a, true, "%s needs the node, which refuses this console: %s", what, a->conn_msg);
		break;
	case CONN_STARTING:
		app_message(a, true, "%s needs the node: still connecting to %s (%d s)", what, a->url, secs);
		break;
	default:
		app_message(a, true, "%s needs the node, which is unreachable: reconnecting (%d s)", what, secs);
		break;
	}
	return false;
}

void app_call(struct app *a, int kind, const char *op, json_t *args_stolen, const char *ref, const char *ref2)
{
	struct console_job *j = console_job_new(kind, op, args_stolen, CONSOLE_ACTION_TIMEOUT_MS);
	if (!j)
		return;
	snprintf(j->ref, sizeof j->ref, "%s", ref ? ref : "");
	snprintf(j->ref2, sizeof j->ref2, "%s", ref2 ? ref2 : "");
	j->urgent = true;
	console_rpc_submit(a->rpc, j);
}

/* ---- compound jobs (run on the call thread; they touch only the client and the job) ---- */

/* One call with args stolen. */
static enum swb_code call_steal(swb_client *c, const char *op, json_t *args, int timeout_ms, json_t **res,
				struct swb_err *err)
{
	enum swb_code rc = swb_client_call(c, op, args, timeout_ms, res, err);
	json_decref(args);
	return rc;
}

static enum swb_code run_stats_job(swb_client *c, struct console_job *j, struct swb_err *err)
{
	json_t *out = json_pack("{s:[]}", "queues");
	json_t *arr = json_object_get(out, "queues");
	size_t i;
	json_t *sid;
	json_array_foreach(json_object_get(j->args, "queues"), i, sid) {
		json_t *res = NULL;
		enum swb_code rc = call_steal(c, "task_queues.stats", json_pack("{s:O}", "sid", sid), j->timeout_ms, &res,
					      err);
		if (rc == SWB_ENOTFOUND)
			continue; /* the queue went away; the next list fetch drops it */
		if (rc != SWB_OK) {
			json_decref(out);
			return rc;
		}
		json_array_append_new(arr, res);
	}
	if (json_is_true(json_object_get(j->args, "workspace"))) {
		json_t *res = NULL;
		enum swb_code rc = call_steal(c, "workspace.stats", NULL, j->timeout_ms, &res, err);
		if (rc != SWB_OK) {
			json_decref(out);
			return rc;
		}
		json_object_set_new(out, "workspace", res);
	}
	j->result = out;
	return SWB_OK;
}

static enum swb_code run_holdings_job(swb_client *c, struct console_job *j, struct swb_err *err)
{
	json_t *out = json_array();
	size_t i;
	json_t *sid;
	json_array_foreach(json_object_get(j->args, "tasks"), i, sid) {
		json_t *res = NULL;
		enum swb_code rc = call_steal(c, "reservations.list", json_pack("{s:O, s:b}", "task_sid", sid, "active", 1),
					      j->timeout_ms, &res, err);
		if (rc == SWB_ENOTFOUND)
			continue; /* finished meanwhile */
		if (rc != SWB_OK) {
			json_decref(out);
			return rc;
		}
		json_array_extend(out, json_object_get(res, "reservations"));
		json_decref(res);
	}
	j->result = json_pack("{s:o}", "reservations", out);
	return SWB_OK;
}

static enum swb_code run_history_job(swb_client *c, struct console_job *j, struct swb_err *err)
{
	static const char *const types[] = { "task-queue.entered", "task.canceled", "reservation.accepted" };
	json_t *out = json_array();
	int minutes = (int)((VIEW_HIST_WINDOW_MS + 59999) / 60000);
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		for (int page = 0; page < CONSOLE_HISTORY_PAGES; page++) {
			json_t *res = NULL;
			enum swb_code rc = call_steal(c, "events.list",
						      json_pack("{s:s, s:i, s:i, s:i}", "event_type", types[t], "minutes",
								minutes, "page", page, "page_size", 1000),
						      j->timeout_ms, &res, err);
			if (rc != SWB_OK) {
				json_decref(out);
				return rc;
			}
			json_t *evs = json_object_get(res, "events");
			size_t got = json_array_size(evs);
			json_array_extend(out, evs);
			json_decref(res);
			if (got < 1000)
				break;
		}
	}
	j->result = json_pack("{s:o}", "events", out);
	return SWB_OK;
}

static enum swb_code run_hello_job(swb_client *c, struct console_job *j, struct swb_err *err)
{
	int64_t t0 = swb_wall_ms();
	json_t *res = NULL;
	enum swb_code rc = swb_client_call(c, "session.hello", NULL, j->timeout_ms, &res, err);
	int64_t t1 = swb_wall_ms();
	if (rc != SWB_OK)
		return rc;
	json_t *tm = json_object_get(res, "time_ms");
	long long offset = json_is_integer(tm) ? (long long)json_integer_value(tm) - (t0 + t1) / 2 : 0;
	json_object_set_new(res, "offset_ms", json_integer(offset));
	j->result = res;
	return SWB_OK;
}

static void submit_bg(struct app *a, int kind, const char *op, json_t *args, console_job_fn run)
{
	struct console_job *j = console_job_new(kind, op, args, CONSOLE_FETCH_TIMEOUT_MS);
	if (!j)
		return;
	j->run = run;
	console_rpc_submit(a->rpc, j);
}

static void request_stats(struct app *a)
{
	json_t *sids = json_array();
	for (size_t i = 0; i < view_queue_count(a->view); i++)
		json_array_append_new(sids, json_string(view_queue_at(a->view, i)->sid));
	bool ws = view_mode(a->view) == VIEW_SUPERVISOR;
	submit_bg(a, JOB_STATS, "task_queues.stats", json_pack("{s:o, s:b}", "queues", sids, "workspace", ws),
		  run_stats_job);
	a->stats_inflight = true;
	a->stats_wanted = false;
	a->last_stats_ms = swb_mono_ms();
}

static void request_queue_list(struct app *a)
{
	if (a->queues_inflight)
		return;
	json_t *args = json_object();
	const struct view_worker *me = view_me(a->view);
	if (view_mode(a->view) == VIEW_AGENT && me)
		json_object_set_new(args, "worker_sid", json_string(me->sid));
	json_object_set_new(args, "page_size", json_integer(1000));
	submit_bg(a, JOB_QUEUES, "task_queues.list", args, NULL);
	a->queues_inflight = true;
}

static void request_activities(struct app *a)
{
	if (a->acts_inflight)
		return;
	submit_bg(a, JOB_ACTIVITIES, "activities.list", json_pack("{s:i}", "page_size", 1000), NULL);
	a->acts_inflight = true;
}

/* ---- the model changes ---- */

static void apply_dirty(struct app *a, unsigned d)
{
	if (d & VIEW_NEED_STATS)
		a->stats_wanted = true;
	if (d & VIEW_NEED_QUEUES)
		request_queue_list(a);
	if (d & VIEW_NEED_ACTIVITIES)
		request_activities(a);
	if (d & VIEW_NEW_RESERVATION) {
		if (a->o->alert == CONSOLE_ALERT_BELL || a->o->alert == CONSOLE_ALERT_BOTH)
			beep();
		if (a->o->alert == CONSOLE_ALERT_FLASH || a->o->alert == CONSOLE_ALERT_BOTH)
			flash();
	}
	a->dirty |= d & VIEW_DIRTY_ALL;
}

static void on_snapshot(struct app *a, json_t *snap, bool resync)
{
	enum view_mode before = view_mode(a->view);
	apply_dirty(a, view_apply_snapshot(a->view, snap, app_now(a)));
	if (view_mode(a->view) != before) {
		a->need_layout = true;
		a->focus = 0;
	}
	uint64_t seq = view_snapshot_seq(a->view);
	char note[160];
	snprintf(note, sizeof note, "%s the node at %.100s (seq %llu)", resync ? "Resynced with" : "Connected to", a->url,
		 (unsigned long long)seq);
	apply_dirty(a, view_note(a->view, app_now(a), resync ? "console.resync" : "console.connected", note));
	if (!a->following) {
		struct swb_err err;
		if (swb_client_follow(a->client, seq, &err) == SWB_OK)
			a->following = true;
		else
			app_message(a, true, "cannot follow events: %s", err.msg);
	}
	if (!resync || a->conn == CONN_REFUSED)
		conn_set(a, CONN_ONLINE, NULL);
	submit_bg(a, JOB_HELLO, "session.hello", NULL, run_hello_job);
	request_stats(a);
	if (view_mode(a->view) == VIEW_SUPERVISOR) {
		json_t *tasks = json_array();
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(snap, "tasks"), i, t) {
			const char *st = json_string_value(json_object_get(t, "assignment_status"));
			if (st && strcmp(st, "pending") != 0 && json_array_size(tasks) < CONSOLE_HOLDINGS_MAX)
				json_array_append(tasks, json_object_get(t, "sid"));
		}
		submit_bg(a, JOB_HOLDINGS, "reservations.list", json_pack("{s:o}", "tasks", tasks), run_holdings_job);
		a->history_seq = seq;
		a->history_gen++;
		struct console_job *j = console_job_new(JOB_HISTORY, "events.list", NULL, CONSOLE_FETCH_TIMEOUT_MS);
		if (j) {
			j->run = run_history_job;
			snprintf(j->ref, sizeof j->ref, "%u", a->history_gen);
			console_rpc_submit(a->rpc, j);
		}
	}
}

static const char *job_label(int kind)
{
	switch (kind) {
	case JOB_ACCEPT:
		return "Accept";
	case JOB_REJECT:
		return "Reject";
	case JOB_WRAP:
		return "Wrap-up";
	case JOB_COMPLETE:
		return "Complete";
	case JOB_MY_ACTIVITY:
	case JOB_WORKER_ACTIVITY:
		return "Activity change";
	default:
		return "Request";
	}
}

static void handle_job(struct app *a, struct console_job *j)
{
	int64_t now = app_now(a);
	bool ok = j->rc == SWB_OK;
	switch (j->kind) {
	case JOB_SNAPSHOT:
		a->snapshot_inflight = false;
		if (ok) {
			on_snapshot(a, j->result, false);
		} else if (j->rc == SWB_EAUTH || j->rc == SWB_EPERM) {
			conn_set(a, CONN_REFUSED, j->err.msg);
			a->next_snapshot_ms = swb_mono_ms() + 5000;
		} else {
			snprintf(a->conn_msg, sizeof a->conn_msg, "%s", j->err.msg);
			a->next_snapshot_ms = swb_mono_ms() + 1000;
			a->dirty |= VIEW_DIRTY_HEADER;
		}
		break;
	case JOB_HELLO:
		if (ok && strcmp(j->ref, "renewed") == 0 && a->conn == CONN_REFUSED && a->following) {
			/* the node takes the renewed token: the follow thread's next pull will too */
			conn_set(a, CONN_ONLINE, NULL);
			app_message(a, false, "Token renewed: the node accepts this console again");
			a->stats_wanted = true;
		}
		if (ok) {
			json_t *off = json_object_get(j->result, "offset_ms");
			a->clock_offset_ms = json_is_integer(off) ? (int64_t)json_integer_value(off) : 0;
			/* a clock within a few ms is our own machine's: keep the countdowns steady */
			if (a->clock_offset_ms > -50 && a->clock_offset_ms < 50)
				a->clock_offset_ms = 0;
		}
		break;
	case JOB_STATS:
		a->stats_inflight = false;
		if (ok) {
			size_t i;
			json_t *s;
			unsigned d = 0;
			json_array_foreach(json_object_get(j->result, "queues"), i, s)
				d |= view_apply_queue_stats(a->view, s, now);
			json_t *ws = json_object_get(j->result, "workspace");
			if (json_is_object(ws))
				d |= view_apply_workspace_stats(a->view, ws, now);
			apply_dirty(a, d);
		}
		break;
	case JOB_HOLDINGS:
		if (ok)
			apply_dirty(a, view_apply_holdings(a->view, json_object_get(j->result, "reservations")));
		break;
	case JOB_HISTORY:
		/* only the history asked for with the latest snapshot: an older one would count twice */
		if (ok && strtoul(j->ref, NULL, 10) == a->history_gen)
			apply_dirty(a, view_seed_history(a->view, json_object_get(j->result, "events"), a->history_seq, now));
		break;
	case JOB_QUEUES:
		a->queues_inflight = false;
		if (ok)
			apply_dirty(a, view_apply_queue_list(a->view, json_object_get(j->result, "task_queues"), now));
		break;
	case JOB_ACTIVITIES:
		a->acts_inflight = false;
		if (ok)
			apply_dirty(a, view_apply_activities(a->view, json_object_get(j->result, "activities")));
		break;
	default:
		/* actions */
		if (!ok) {
			app_message(a, true, "%s failed: %s", job_label(j->kind), j->err.msg);
			break;
		}
		if (j->kind == JOB_ACCEPT) {
			apply_dirty(a, view_apply_reservation(a->view, j->result, now));
			app_message(a, false, "Accepted %s: the task is yours", j->ref2);
		} else if (j->kind == JOB_REJECT) {
			apply_dirty(a, view_apply_reservation(a->view, j->result, now));
			app_message(a, false, "Rejected %s%s%s", j->ref2, *j->ref ? "; now " : "", j->ref);
		} else if (j->kind == JOB_WRAP || j->kind == JOB_COMPLETE) {
			apply_dirty(a, view_apply_task(a->view, j->result, now));
			app_message(a, false, "%s %s", j->kind == JOB_WRAP ? "Wrapping up" : "Completed", j->ref2);
		} else if (j->kind == JOB_MY_ACTIVITY || j->kind == JOB_WORKER_ACTIVITY) {
			apply_dirty(a, view_apply_worker(a->view, j->result, now));
			const char *who = json_string_value(json_object_get(j->result, "friendly_name"));
			const char *act = json_string_value(json_object_get(j->result, "activity_name"));
			if (j->kind == JOB_MY_ACTIVITY)
				app_message(a, false, "You are now %s", act ? act : "?");
			else
				app_message(a, false, "%s is now %s", who ? who : "?", act ? act : "?");
		}
		a->stats_wanted = true;
		break;
	}
}

static void handle_event(struct app *a, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "event_type"));
	if (!type)
		return;
	if (!json_object_get(ev, "seq")) {
		/* synthetic: the client library's word on the stream */
		if (strcmp(type, SWB_EVENT_CONNECTION) == 0) {
			bool up = json_is_true(json_object_get(ev, "connected"));
			conn_set(a, up ? CONN_ONLINE : CONN_OFFLINE, NULL);
			apply_dirty(a, view_note(a->view, app_now(a), up ? "console.online" : "console.offline",
						 up ? "Connection to the node is back" : "Connection to the node lost: reconnecting"));
			if (up)
				a->stats_wanted = true;
		} else if (strcmp(type, SWB_EVENT_RESYNC) == 0) {
			json_t *snap = json_object_get(ev, "snapshot");
			if (json_is_object(snap))
				on_snapshot(a, snap, true);
		} else if (strcmp(type, SWB_EVENT_ERROR) == 0) {
			const char *m = json_string_value(json_object_get(ev, "message"));
			conn_set(a, CONN_REFUSED, m ? m : "error");
			apply_dirty(a, view_note(a->view, app_now(a), "console.error", m ? m : "error"));
		}
		return;
	}
	if (a->conn == CONN_REFUSED)
		conn_set(a, CONN_ONLINE, NULL);
	apply_dirty(a, view_apply_event(a->view, ev, app_now(a)));
}

/* ---- layout ---- */

static void free_windows(struct app *a)
{
	for (int i = 0; i < a->npanels; i++) {
		if (a->panels[i].win)
			delwin(a->panels[i].win);
		a->panels[i].win = NULL;
	}
	WINDOW **ws[] = { &a->w_header, &a->w_banner, &a->w_msg, &a->w_bar, &a->w_overlay };
	for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
		if (*ws[i])
			delwin(*ws[i]);
		*ws[i] = NULL;
	}
}

static bool banner_wanted(const struct app *a)
{
	if (a->conn == CONN_OFFLINE || a->conn == CONN_REFUSED)
		return true;
	return a->conn == CONN_STARTING && swb_mono_ms() - a->started_ms >= CONSOLE_CONNECT_GRACE_MS;
}

static void layout(struct app *a)
{
	a->need_layout = false;
	free_windows(a);
	getmaxyx(stdscr, a->rows, a->cols);
	a->too_small = a->rows < CONSOLE_MIN_ROWS || a->cols < CONSOLE_MIN_COLS;
	werase(stdscr);
	wnoutrefresh(stdscr);
	a->dirty = VIEW_DIRTY_ALL;
	if (a->too_small)
		return;
	a->banner_shown = banner_wanted(a);
	int top = 1;
	a->w_header = newwin(1, a->cols, 0, 0);
	if (a->banner_shown) {
		a->w_banner = newwin(1, a->cols, 1, 0);
		top = 2;
	}
	a->w_msg = newwin(1, a->cols, a->rows - 2, 0);
	a->w_bar = newwin(1, a->cols, a->rows - 1, 0);
	const struct view_ops *ops = ops_of(a);
	ops->layout(a, top, a->rows - 2);
	for (int i = 0; i < a->npanels; i++) {
		struct panel *p = &a->panels[i];
		p->win = newwin(p->h, p->w, p->y, p->x);
	}
	if (a->focus >= a->npanels || !a->panels[a->focus].focusable)
		a->focus = 0;
}

int app_panel_at(const struct app *a, int y, int x)
{
	for (int i = 0; i < a->npanels; i++) {
		const struct panel *p = &a->panels[i];
		if (y >= p->y && y < p->y + p->h && x >= p->x && x < p->x + p->w)
			return i;
	}
	return -1;
}

/* ---- chrome: banner, message line, function bar ---- */

static void draw_banner(struct app *a)
{
	WINDOW *w = a->w_banner;
	if (!w)
		return;
	werase(w);
	draw_fill(w, 0, 0, a->cols, THEME_BANNER);
	char line[512], since[32];
	view_fmt_duration(swb_mono_ms() - a->conn_since, since, sizeof since);
	const char *warn = a->utf8 ? "\u26a0" : "!";
	switch (a->conn) {
	case CONN_REFUSED:
		if (token_expired(a))
			snprintf(line, sizeof line, " %s This console's %.120s: %s. Actions are unavailable.", warn,
				 a->conn_msg, expired_remedy(a));
		else
			snprintf(line, sizeof line, " %s The node refuses this console: %.200s. Actions are unavailable.",
				 warn, a->conn_msg);
		break;
	case CONN_STARTING:
		snprintf(line, sizeof line, " %s Connecting to the node (%s): actions are unavailable until then. %.120s%s%.160s",
			 warn, since, a->url, *a->conn_msg ? ": " : "", a->conn_msg);
		break;
	default:
		snprintf(line, sizeof line,
			 " %s Reconnecting to the node (%s): showing the last known state; actions are unavailable. %.120s",
			 warn, since, a->url);
		break;
	}
	draw_text(w, 0, 0, a->cols, THEME_BANNER, line);
	wnoutrefresh(w);
}

static const struct console_key global_keys[];

static bool key_enabled(const struct app *a, const struct console_key *k)
{
	return !k->needs_node || (a->conn == CONN_ONLINE && view_synced(a->view));
}

static int first_key(const struct console_key *k)
{
	return k->keys[0] ? k->keys[0] : k->lo;
}

static void draw_bar(struct app *a)
{
	WINDOW *w = a->w_bar;
	werase(w);
	draw_fill(w, 0, 0, a->cols, THEME_FUNCTION_LABEL);
	const struct console_key *tables[2] = { ops_of(a)->keys, global_keys };
	const struct console_key *items[32];
	int n = 0;
	for (int t = 0; t < 2; t++)
		for (const struct console_key *k = tables[t]; k->fn && n < 32; k++)
			if (k->in_bar)
				items[n++] = k;
	/* full labels, short labels, then fewer items until it fits */
	int mode = 0, shown = n;
	for (;; mode++) {
		int total = -1; /* no separator after the last item */
		for (int i = 0; i < shown; i++) {
			const char *lab = mode == 0 ? items[i]->label : items[i]->short_label;
			total += draw_width(items[i]->name) + draw_width(lab) + 2;
		}
		if (total <= a->cols || (mode >= 1 && shown <= 3))
			break;
		if (mode >= 1) {
			/* drop from the middle, keeping the last two (help, quit) */
			for (int i = shown - 3; i < shown - 1; i++)
				items[i] = items[i + 1];
			shown--;
			mode = 0;
		}
	}
	int x = 0;
	a->nbar = 0;
	for (int i = 0; i < shown && x < a->cols; i++) {
		const struct console_key *k = items[i];
		const char *lab = mode == 0 ? k->label : k->short_label;
		int x0 = x;
		x += draw_text(w, 0, x, a->cols - x, THEME_FUNCTION_KEY, k->name);
		char spaced[64];
		snprintf(spaced, sizeof spaced, " %s", lab);
		x += draw_text(w, 0, x, a->cols - x, key_enabled(a, k) ? THEME_FUNCTION_LABEL : THEME_FUNCTION_DISABLED,
			       spaced);
		x++;
		if (a->nbar < (int)(sizeof a->bar / sizeof a->bar[0]))
			a->bar[a->nbar++] = (struct bar_hit){ x0, x, first_key(k) };
	}
	wnoutrefresh(w);
}

static void draw_msg(struct app *a)
{
	WINDOW *w = a->w_msg;
	werase(w);
	if (a->ov == OV_PROMPT) {
		char line[200];
		snprintf(line, sizeof line, " Filter workers: %s", a->prompt);
		int x = draw_text(w, 0, 0, a->cols, THEME_MESSAGE, line);
		draw_text(w, 0, x, a->cols - x, THEME_SELECTION, " ");
		draw_text_right(w, 0, 0, a->cols, THEME_TEXT_DIM, "Enter keeps, Esc clears ");
	} else if (a->msg[0] && swb_mono_ms() < a->msg_until) {
		char line[300];
		snprintf(line, sizeof line, " %s", a->msg);
		draw_text(w, 0, 0, a->cols, a->msg_error ? THEME_MESSAGE_ERROR : THEME_MESSAGE, line);
	}
	wnoutrefresh(w);
}

/* ---- overlays ---- */

static void text_free(struct app *a)
{
	for (int i = 0; i < a->text_n; i++)
		free(a->text_lines[i]);
	free(a->text_lines);
	a->text_lines = NULL;
	a->text_n = 0;
}

static void overlay_close(struct app *a)
{
	a->ov = OV_NONE;
	text_free(a);
	if (a->w_overlay) {
		delwin(a->w_overlay);
		a->w_overlay = NULL;
	}
	for (int i = 0; i < a->npanels; i++)
		if (a->panels[i].win)
			touchwin(a->panels[i].win);
	a->dirty |= VIEW_DIRTY_ALL;
}

void app_open_text(struct app *a, const char *title, char **lines, int n)
{
	overlay_close(a);
	a->text_lines = calloc((size_t)(n ? n : 1), sizeof *a->text_lines);
	if (!a->text_lines)
		return;
	for (int i = 0; i < n; i++)
		a->text_lines[i] = strdup(lines[i] ? lines[i] : "");
	a->text_n = n;
	a->text_top = 0;
	snprintf(a->text_title, sizeof a->text_title, "%s", title);
	a->ov = OV_TEXT;
	a->dirty |= APP_DIRTY_OVERLAY;
}

void app_open_activity_menu(struct app *a, enum menu_purpose purpose, const char *target, const char *target_name,
			    const char *title)
{
	overlay_close(a);
	struct menu *m = &a->menu;
	memset(m, 0, sizeof *m);
	m->purpose = purpose;
	snprintf(m->target, sizeof m->target, "%s", target ? target : "");
	snprintf(m->target_name, sizeof m->target_name, "%s", target_name ? target_name : "");
	snprintf(m->title, sizeof m->title, "%s", title);
	if (purpose == MENU_REJECT) {
		struct menu_item *it = &m->items[m->n++];
		snprintf(it->label, sizeof it->label, "0  Back to the activity before the offer");
		it->role = THEME_MENU;
		it->value[0] = '\0';
	}
	for (size_t i = 0; i < view_activity_count(a->view) && m->n < CONSOLE_MENU_MAX; i++) {
		const struct view_activity *act = view_activity_at(a->view, i);
		struct menu_item *it = &m->items[m->n++];
		char key[24] = "  ";
		if (i < 9)
			snprintf(key, sizeof key, "%zu", i + 1);
		snprintf(it->label, sizeof it->label, "%.3s  %.4s %.80s (%.11s)", key, draw_bullet(a->utf8), act->name,
			 act->available ? "available" : "unavailable");
		snprintf(it->value, sizeof it->value, "%s", act->sid);
		it->role = activity_role(act->available);
	}
	/* start on the first unavailable activity when rejecting: the usual choice */
	if (purpose == MENU_REJECT)
		for (int i = 1; i < m->n; i++)
			if (m->items[i].role == THEME_ACTIVITY_UNAVAILABLE) {
				m->sel = i;
				break;
			}
	a->ov = OV_MENU;
	a->dirty |= APP_DIRTY_OVERLAY;
}

static void draw_menu(struct app *a)
{
	struct menu *m = &a->menu;
	int wdt = draw_width(m->title) + 6;
	for (int i = 0; i < m->n; i++)
		if (draw_width(m->items[i].label) + 6 > wdt)
			wdt = draw_width(m->items[i].label) + 6;
	if (wdt > a->cols - 4)
		wdt = a->cols - 4;
	int h = m->n + 4;
	if (h > a->rows - 4)
		h = a->rows - 4;
	m->h = h;
	m->w = wdt;
	m->y = (a->rows - h) / 2;
	m->x = (a->cols - wdt) / 2;
	if (a->w_overlay)
		delwin(a->w_overlay);
	a->w_overlay = newwin(h, wdt, m->y, m->x);
	WINDOW *w = a->w_overlay;
	wbkgdset(w, (chtype)theme_attr(THEME_MENU) | ' ');
	werase(w);
	wattrset(w, (int)theme_attr(THEME_MENU));
	box(w, 0, 0);
	draw_text(w, 0, 2, wdt - 4, THEME_MENU_KEY, m->title);
	int visible = h - 4, first = 0;
	if (m->sel >= visible)
		first = m->sel - visible + 1;
	for (int i = 0; i < visible && first + i < m->n; i++) {
		const struct menu_item *it = &m->items[first + i];
		bool sel = first + i == m->sel;
		draw_fill(w, 1 + i, 1, wdt - 2, sel ? THEME_MENU_SELECTION : THEME_MENU);
		draw_text(w, 1 + i, 2, wdt - 4, sel ? THEME_MENU_SELECTION : THEME_MENU, it->label);
	}
	draw_text(w, h - 2, 2, wdt - 4, THEME_MENU, "Enter/digit choose, Esc cancel");
	wnoutrefresh(w);
}

static void draw_text_overlay(struct app *a)
{
	/* as big as the text, within the screen */
	int need = draw_width(a->text_title) + 6;
	for (int i = 0; i < a->text_n; i++) {
		const char *tab = strchr(a->text_lines[i], '\t');
		int lw = tab ? 14 + draw_width(tab + 1) : draw_width(a->text_lines[i]);
		if (lw + 6 > need)
			need = lw + 6;
	}
	int wdt = need < a->cols - 8 ? need : a->cols - 8;
	int h = a->text_n + 3 < a->rows - 4 ? a->text_n + 3 : a->rows - 4;
	if (wdt < 40)
		wdt = 40;
	if (a->w_overlay)
		delwin(a->w_overlay);
	a->w_overlay = newwin(h, wdt, (a->rows - h) / 2, (a->cols - wdt) / 2);
	WINDOW *w = a->w_overlay;
	wbkgdset(w, (chtype)theme_attr(THEME_MENU) | ' ');
	werase(w);
	wattrset(w, (int)theme_attr(THEME_MENU));
	box(w, 0, 0);
	draw_text(w, 0, 2, wdt - 4, THEME_MENU_KEY, a->text_title);
	int visible = h - 3;
	if (a->text_top > a->text_n - visible)
		a->text_top = a->text_n - visible;
	if (a->text_top < 0)
		a->text_top = 0;
	for (int i = 0; i < visible && a->text_top + i < a->text_n; i++) {
		const char *line = a->text_lines[a->text_top + i];
		/* "key<TAB>text" lines: the key in the key color */
		const char *tab = strchr(line, '\t');
		if (tab) {
			char key[32];
			snprintf(key, sizeof key, "%.*s", (int)(tab - line), line);
			draw_text(w, 1 + i, 2, 14, THEME_MENU_KEY, key);
			draw_text(w, 1 + i, 16, wdt - 18, THEME_MENU, tab + 1);
		} else {
			draw_text(w, 1 + i, 2, wdt - 4, THEME_MENU, line);
		}
	}
	char foot[96];
	snprintf(foot, sizeof foot, " %sEsc closes ", a->text_n > visible ? "Up/Down/PgUp/PgDn scroll, " : "");
	draw_text(w, h - 1, 2, wdt - 4, THEME_MENU, foot);
	wnoutrefresh(w);
}

static void draw_overlay(struct app *a)
{
	if (a->ov == OV_MENU)
		draw_menu(a);
	else if (a->ov == OV_TEXT)
		draw_text_overlay(a);
}

static void menu_choose(struct app *a, int idx)
{
	if (idx < 0 || idx >= a->menu.n)
		return;
	struct menu m = a->menu;
	overlay_close(a);
	ops_of(a)->menu_chosen(a, &m, &m.items[idx]);
}

static int menu_key(struct app *a, int key)
{
	struct menu *m = &a->menu;
	switch (key) {
	case 27:
	case 'q':
	case KEY_F(10):
		overlay_close(a);
		return KR_HANDLED;
	case KEY_UP:
	case 'k':
		if (m->sel > 0)
			m->sel--;
		break;
	case KEY_DOWN:
	case 'j':
		if (m->sel < m->n - 1)
			m->sel++;
		break;
	case KEY_HOME:
	case 'g':
		m->sel = 0;
		break;
	case KEY_END:
	case 'G':
		m->sel = m->n - 1;
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
	case ' ':
		menu_choose(a, m->sel);
		return KR_HANDLED;
	default:
		if (key >= '0' && key <= '9') {
			/* digits name activities as on the main screen; 0 is "keep" in the reject menu */
			int base = m->purpose == MENU_REJECT ? 0 : 1;
			menu_choose(a, key - '0' - base);
			return KR_HANDLED;
		}
		return KR_IGNORED;
	}
	a->dirty |= APP_DIRTY_OVERLAY;
	return KR_HANDLED;
}

static int text_key(struct app *a, int key)
{
	int visible = a->rows - 7;
	if (key == KEY_MOUSE)
		return KR_HANDLED;
	switch (key) {
	case KEY_UP:
	case 'k':
		a->text_top--;
		break;
	case KEY_DOWN:
	case 'j':
		a->text_top++;
		break;
	case KEY_PPAGE:
		a->text_top -= visible;
		break;
	case KEY_NPAGE:
	case ' ':
		a->text_top += visible;
		break;
	case KEY_HOME:
	case 'g':
		a->text_top = 0;
		break;
	case KEY_END:
	case 'G':
		a->text_top = a->text_n;
		break;
	default:
		overlay_close(a);
		return KR_HANDLED;
	}
	a->dirty |= APP_DIRTY_OVERLAY;
	return KR_HANDLED;
}

static int prompt_key(struct app *a, int key)
{
	size_t n = strlen(a->prompt);
	if (key == 27) {
		a->prompt[0] = '\0';
		a->ov = OV_NONE;
	} else if (key == '\n' || key == '\r' || key == KEY_ENTER) {
		a->ov = OV_NONE;
	} else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
		/* drop a whole UTF-8 character */
		while (n > 0 && ((unsigned char)a->prompt[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0)
			n--;
		a->prompt[n] = '\0';
	} else if ((key >= 0x20 && key < KEY_MIN && key != 0x7f) || key >= CONSOLE_CHAR_OFFSET) {
		char buf[8];
		mbstate_t st;
		memset(&st, 0, sizeof st);
		size_t len = wcrtomb(buf, (wchar_t)(key >= CONSOLE_CHAR_OFFSET ? key - CONSOLE_CHAR_OFFSET : key), &st);
		if (len != (size_t)-1 && n + len < sizeof a->prompt) {
			memcpy(a->prompt + n, buf, len);
			a->prompt[n + len] = '\0';
		}
	} else {
		return KR_HANDLED;
	}
	snprintf(a->filter_text, sizeof a->filter_text, "%s", a->prompt);
	a->dirty |= APP_DIRTY_CHROME | VIEW_DIRTY_WORKERS;
	return KR_HANDLED;
}

/* ---- keys ---- */

int app_move_key(struct app *a, struct panel *p, int key, int count)
{
	int page = p->h - 3 > 1 ? p->h - 3 : 1;
	int sel = p->sel;
	switch (key) {
	case KEY_UP:
	case 'k':
		sel -= count;
		break;
	case KEY_DOWN:
	case 'j':
		sel += count;
		break;
	case KEY_PPAGE:
		sel -= page;
		break;
	case KEY_NPAGE:
		sel += page;
		break;
	case KEY_HOME:
	case 'g':
		sel = 0;
		break;
	case KEY_END:
	case 'G':
		sel = p->rows - 1;
		break;
	default:
		return KR_IGNORED;
	}
	if (sel >= p->rows)
		sel = p->rows - 1;
	if (sel < 0)
		sel = 0;
	p->sel = sel;
	p->sel_sid[0] = '\0'; /* the draw takes the SID at the new row */
	a->dirty |= p->listens;
	return KR_HANDLED;
}

static int key_quit(struct app *a, int key)
{
	(void)key;
	a->quit = true;
	return KR_QUIT;
}

static int key_focus(struct app *a, int key)
{
	if (a->npanels == 0)
		return KR_HANDLED;
	int step = key == KEY_BTAB ? a->npanels - 1 : 1;
	int f = a->focus;
	for (int i = 0; i < a->npanels; i++) {
		f = (f + step) % a->npanels;
		if (a->panels[f].focusable)
			break;
	}
	a->focus = f;
	a->dirty |= VIEW_DIRTY_ALL;
	return KR_HANDLED;
}

static int key_move(struct app *a, int key)
{
	if (a->npanels == 0)
		return KR_HANDLED;
	return app_move_key(a, &a->panels[a->focus], key, 1) ? KR_HANDLED : KR_IGNORED;
}

static void add_help_line(char ***lines, int *n, int *cap, const char *s)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		char **p = realloc(*lines, (size_t)*cap * sizeof **lines);
		if (!p)
			abort();
		*lines = p;
	}
	(*lines)[(*n)++] = strdup(s);
}

static int key_help(struct app *a, int key)
{
	(void)key;
	char **lines = NULL, buf[256];
	int n = 0, cap = 0;
	const struct console_key *tables[2] = { ops_of(a)->keys, global_keys };
	for (int t = 0; t < 2; t++) {
		for (const struct console_key *k = tables[t]; k->fn; k++) {
			snprintf(buf, sizeof buf, "%s\t%s%s", k->name, k->help, k->needs_node ? " (needs the node)" : "");
			add_help_line(&lines, &n, &cap, buf);
		}
	}
	add_help_line(&lines, &n, &cap, "Mouse\tclick a row to select it, a bottom-bar item to press it; the wheel scrolls");
	add_help_line(&lines, &n, &cap, "");
	snprintf(buf, sizeof buf, "Node %.120s; colors: %s. Keys marked (needs the node) are refused while it is unreachable.",
		 a->url, a->color ? "on" : "off");
	add_help_line(&lines, &n, &cap, buf);
	app_open_text(a, "Help: keys", lines, n);
	for (int i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return KR_HANDLED;
}

static int key_redraw(struct app *a, int key)
{
	(void)key;
	a->need_clear = true;
	a->dirty |= VIEW_DIRTY_ALL;
	return KR_HANDLED;
}

#define UTF8_UPDOWN "\xe2\x86\x91\xe2\x86\x93"

static const struct console_key global_keys[] = {
	{ { KEY_UP, KEY_DOWN, 'k', 'j' }, 0, 0, UTF8_UPDOWN, "Move", "Move", "move in the focused panel (also j k)", false,
	  true, key_move },
	{ { KEY_PPAGE, KEY_NPAGE, KEY_HOME, KEY_END, 'g', 'G' }, 0, 0, "PgUp PgDn", "", "",
	  "a page up / down; Home or g, End or G: the first / last row", false, false, key_move },
	{ { '\t', KEY_BTAB }, 0, 0, "Tab", "Panel", "Pnl", "focus the next panel (Shift-Tab: the previous)", false,
	  true, key_focus },
	{ { '?', KEY_F(1), 'h' }, 0, 0, "?", "Help", "Hlp", "this help", false, true, key_help },
	{ { 12 }, 0, 0, "Ctrl-L", "", "", "redraw the screen", false, false, key_redraw },
	{ { 'q', KEY_F(10) }, 0, 0, "q", "Quit", "Quit", "quit (also F10)", false, true, key_quit },
	{ { 0 }, 0, 0, NULL, NULL, NULL, NULL, false, false, NULL },
};

static const struct console_key *key_find(const struct console_key *table, int key)
{
	for (const struct console_key *k = table; k->fn; k++) {
		for (int i = 0; i < CONSOLE_KEY_ALIASES && k->keys[i]; i++)
			if (k->keys[i] == key)
				return k;
		if (k->lo && key >= k->lo && key <= k->hi)
			return k;
	}
	return NULL;
}

static void handle_mouse(struct app *a);

static void handle_key(struct app *a, int key)
{
	a->urgent = true;
	if (key == KEY_MOUSE) {
		handle_mouse(a);
		return;
	}
	if (key == KEY_RESIZE) {
		a->need_layout = true;
		return;
	}
	if (a->too_small) {
		if (key == 'q' || key == KEY_F(10))
			a->quit = true;
		return;
	}
	switch (a->ov) {
	case OV_MENU:
		menu_key(a, key);
		return;
	case OV_TEXT:
		text_key(a, key);
		return;
	case OV_PROMPT:
		prompt_key(a, key);
		return;
	default:
		break;
	}
	const struct console_key *k = key_find(ops_of(a)->keys, key);
	if (!k)
		k = key_find(global_keys, key);
	if (!k)
		return;
	if (k->needs_node && !app_require_node(a, k->label))
		return;
	if (k->fn(a, key) == KR_QUIT)
		a->quit = true;
}

static void handle_mouse(struct app *a)
{
	MEVENT ev;
	if (getmouse(&ev) != OK)
		return;
	bool wheel_up = ev.bstate & BUTTON4_PRESSED;
#ifdef BUTTON5_PRESSED
	bool wheel_down = ev.bstate & BUTTON5_PRESSED;
#else
	bool wheel_down = false;
#endif
	if (a->too_small)
		return;
	if (a->ov == OV_MENU) {
		struct menu *m = &a->menu;
		int visible = m->h - 4, first = m->sel >= visible ? m->sel - visible + 1 : 0;
		if (wheel_up || wheel_down) {
			menu_key(a, wheel_up ? KEY_UP : KEY_DOWN);
			return;
		}
		if (!(ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)))
			return;
		if (ev.y > m->y && ev.y < m->y + 1 + visible && ev.x > m->x && ev.x < m->x + m->w - 1)
			menu_choose(a, first + ev.y - m->y - 1);
		else
			overlay_close(a);
		return;
	}
	if (a->ov == OV_TEXT) {
		if (wheel_up || wheel_down)
			text_key(a, wheel_up ? KEY_UP : KEY_DOWN);
		else if (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED))
			overlay_close(a);
		return;
	}
	if (!(ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) && !wheel_up && !wheel_down)
		return;
	if (ev.y == a->rows - 1 && !wheel_up && !wheel_down) {
		for (int i = 0; i < a->nbar; i++)
			if (ev.x >= a->bar[i].x0 && ev.x < a->bar[i].x1) {
				handle_key(a, a->bar[i].key);
				return;
			}
		return;
	}
	int pi = app_panel_at(a, ev.y, ev.x);
	if (pi < 0)
		return;
	struct panel *p = &a->panels[pi];
	if (p->focusable && a->focus != pi) {
		a->focus = pi;
		a->dirty |= VIEW_DIRTY_ALL;
	}
	if (wheel_up || wheel_down) {
		app_move_key(a, p, wheel_up ? KEY_UP : KEY_DOWN, 3);
		return;
	}
	ops_of(a)->click(a, pi, ev.y - p->y, ev.x - p->x);
}

static void read_input(struct app *a)
{
	for (;;) {
		wint_t wc;
		int rc = wget_wch(stdscr, &wc);
		if (rc == ERR)
			break;
		/* characters that would read as curses key codes are moved out of their way */
		int key = (int)wc;
		if (rc == OK && key >= KEY_MIN)
			key += CONSOLE_CHAR_OFFSET;
		handle_key(a, key);
		if (a->quit)
			break;
	}
}

/* ---- drawing ---- */

static void draw_too_small(struct app *a)
{
	werase(stdscr);
	char l1[128], l2[128];
	snprintf(l1, sizeof l1, "Terminal too small: %dx%d", a->cols, a->rows);
	snprintf(l2, sizeof l2, "Switchboard needs at least %dx%d. Resize, or press q to quit.", CONSOLE_MIN_COLS,
		 CONSOLE_MIN_ROWS);
	int y = a->rows / 2 - 1;
	if (y < 0)
		y = 0;
	int x1 = (a->cols - draw_width(l1)) / 2, x2 = (a->cols - draw_width(l2)) / 2;
	draw_text(stdscr, y, x1 > 0 ? x1 : 0, a->cols, THEME_MESSAGE_ERROR, l1);
	if (y + 1 < a->rows)
		draw_text(stdscr, y + 1, x2 > 0 ? x2 : 0, a->cols, THEME_TEXT, l2);
	wnoutrefresh(stdscr);
}

static void render(struct app *a)
{
	if (a->need_clear) {
		clearok(curscr, TRUE);
		a->need_clear = false;
	}
	if (a->too_small) {
		draw_too_small(a);
	} else {
		const struct view_ops *ops = ops_of(a);
		bool any = false;
		for (int i = 0; i < a->npanels; i++) {
			if (a->dirty & a->panels[i].listens) {
				ops->draw_panel(a, i);
				wnoutrefresh(a->panels[i].win);
				any = true;
			}
		}
		if (a->dirty & VIEW_DIRTY_HEADER) {
			werase(a->w_header);
			ops->header(a, a->w_header);
			wnoutrefresh(a->w_header);
			draw_banner(a);
			any = true;
		}
		if (a->dirty & (APP_DIRTY_CHROME | VIEW_DIRTY_HEADER)) {
			draw_msg(a);
			draw_bar(a);
			any = true;
		}
		if (a->ov != OV_NONE && a->ov != OV_PROMPT && (any || (a->dirty & APP_DIRTY_OVERLAY)))
			draw_overlay(a);
	}
	doupdate();
	a->dirty = 0;
	a->urgent = false;
	a->last_frame_ms = swb_mono_ms();
	a->frames++;
	if (a->o->frames > 0 && a->frames >= a->o->frames)
		a->quit = true;
}

/* ---- timers ---- */

/* Mints the console's token again (when due) and hands it to the client; on failure says why. */
static void renew_token(struct app *a)
{
	int64_t now = swb_wall_ms();
	struct swb_err err = { 0 };
	if (console_token_renew(a->renew, a->client, now, &err) != SWB_OK) {
		char left[32];
		int64_t ms = console_token_expires_ms(a->renew) - now;
		view_fmt_duration(ms > 0 ? ms : 0, left, sizeof left);
		app_message(a, true, "Cannot renew this console's token (%s, %s; retrying): %s",
			    ms > 0 ? "it expires in" : "it expired", ms > 0 ? left : "actions are refused", err.msg);
		/* keep the reason up until the next try */
		a->msg_until = swb_mono_ms() + (console_token_due_ms(a->renew) - now);
		return;
	}
	if (a->conn == CONN_REFUSED) {
		/* renewed too late (the machine slept, the secret was unreadable): ask whether the node takes it now */
		struct console_job *j = console_job_new(JOB_HELLO, "session.hello", NULL, CONSOLE_FETCH_TIMEOUT_MS);
		if (j) {
			j->run = run_hello_job;
			snprintf(j->ref, sizeof j->ref, "renewed");
			console_rpc_submit(a->rpc, j);
		}
	}
}

static void timers(struct app *a)
{
	int64_t now = swb_mono_ms();
	/* the first snapshot */
	if (!a->following && !a->snapshot_inflight && now >= a->next_snapshot_ms) {
		if (swb_client_connected(a->client)) {
			submit_bg(a, JOB_SNAPSHOT, "snapshot", NULL, NULL);
			a->snapshot_inflight = true;
		} else {
			a->next_snapshot_ms = now + 200;
		}
	}
	if (a->renew && swb_wall_ms() >= console_token_due_ms(a->renew))
		renew_token(a);
	if (banner_wanted(a) != a->banner_shown && !a->too_small)
		a->need_layout = true;
	/* statistics */
	if (a->following && a->conn == CONN_ONLINE && !a->stats_inflight) {
		int64_t since = now - a->last_stats_ms;
		if (since >= CONSOLE_STATS_POLL_MS || (a->stats_wanted && since >= CONSOLE_STATS_EVENT_MS))
			request_stats(a);
	}
	/* the clock, countdowns and ages move every second */
	int64_t sec = swb_wall_ms() / 1000;
	if (sec != a->last_second) {
		a->last_second = sec;
		a->dirty |= VIEW_DIRTY_HEADER | ops_of(a)->tick_dirty;
	}
	if (a->msg[0] && now >= a->msg_until) {
		a->msg[0] = '\0';
		a->dirty |= APP_DIRTY_CHROME;
	}
}

static int poll_timeout(const struct app *a)
{
	int64_t now = swb_mono_ms();
	int64_t next = 1000 - swb_wall_ms() % 1000; /* the next clock second */
	if (a->dirty && !a->urgent) {
		int64_t due = a->last_frame_ms + CONSOLE_FRAME_MS - now;
		if (due < next)
			next = due;
	}
	if (a->dirty && a->urgent)
		next = 0;
	if (!a->following && !a->snapshot_inflight) {
		int64_t due = a->next_snapshot_ms - now;
		if (due < next)
			next = due;
	}
	if (a->stats_wanted && !a->stats_inflight) {
		int64_t due = a->last_stats_ms + CONSOLE_STATS_EVENT_MS - now;
		if (due < next)
			next = due;
	}
	if (a->renew) {
		int64_t due = console_token_due_ms(a->renew) - swb_wall_ms();
		if (due < next)
			next = due;
	}
	return next < 0 ? 0 : (int)next;
}

static void drain_signals(struct app *a)
{
	char buf[64];
	ssize_t n;
	while ((n = read(sig_pipe[0], buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == 'q') {
				a->quit = true;
			} else if (buf[i] == 'w') {
				struct winsize ws;
				if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
					resizeterm(ws.ws_row, ws.ws_col);
				a->need_layout = true;
				a->need_clear = true;
				a->urgent = true;
			}
		}
	}
}

static void loop(struct app *a)
{
	while (!a->quit) {
		struct pollfd fds[4] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = swb_client_event_fd(a->client), .events = POLLIN },
			{ .fd = console_rpc_fd(a->rpc), .events = POLLIN },
			{ .fd = sig_pipe[0], .events = POLLIN },
		};
		int rc = poll(fds, 4, poll_timeout(a));
		if (rc < 0 && errno != EINTR)
			break;
		if (fds[3].revents)
			drain_signals(a);
		if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			a->quit = true; /* the terminal went away */
			break;
		}
		if (fds[0].revents & POLLIN)
			read_input(a);
		struct console_job *j;
		while ((j = console_rpc_next(a->rpc))) {
			handle_job(a, j);
			console_job_free(j);
		}
		json_t *ev;
		for (int i = 0; i < CONSOLE_EVENTS_PER_TURN && (ev = swb_client_next_event(a->client)); i++) {
			handle_event(a, ev);
			json_decref(ev);
		}
		timers(a);
		if (a->need_layout) {
			layout(a);
			a->urgent = true;
		}
		int64_t now = swb_mono_ms();
		if (a->dirty && (a->urgent || now - a->last_frame_ms >= CONSOLE_FRAME_MS))
			render(a);
	}
}

/* ---- start and stop ---- */

static void pick_theme(struct app *a, struct theme *t)
{
	const char *nc = getenv("NO_COLOR");
	bool no_color = nc && *nc;
	char warn[512] = "";
	struct swb_err err = { 0 };
	if (a->o->theme) {
		if (theme_load(a->o->theme, t, warn, sizeof warn, &err) != SWB_OK)
			snprintf(a->theme_note, sizeof a->theme_note, "using the default theme: %s", err.msg);
	} else if (no_color) {
		theme_mono(t);
	} else if (theme_load("default", t, warn, sizeof warn, &err) != SWB_OK) {
		/* no default.theme installed or readable: the compiled-in default */
		if (err.code != SWB_ENOTFOUND)
			snprintf(a->theme_note, sizeof a->theme_note, "using the built-in default theme: %s", err.msg);
		theme_default(t);
	}
	if (warn[0] && !a->theme_note[0])
		snprintf(a->theme_note, sizeof a->theme_note, "%s", warn);
	for (char *p = a->theme_note; *p; p++)
		if (*p == '\n')
			*p = ' ';
	a->color = !no_color || a->o->theme;
}

static bool locale_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

int console_run(struct console_opts *o, const char *url, const char *token, struct console_token *renew,
		struct swb_err *err)
{
	struct app app;
	memset(&app, 0, sizeof app);
	struct app *a = &app;
	a->o = o;
	a->renew = renew;
	setlocale(LC_ALL, "");
	a->utf8 = locale_utf8();
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return swb_err_set(err, SWB_EINVAL, "swb-console needs a terminal"), 1;
	if (url)
		snprintf(a->url, sizeof a->url, "%s", url);
	else
		swb_default_ipc_url(a->url, sizeof a->url, 0);
	a->client = swb_client_open(a->url, token, err);
	if (!a->client)
		return 1;
	a->rpc = console_rpc_new(a->client, err);
	a->view = view_new(o->supervisor ? VIEW_SUPERVISOR : VIEW_AGENT, o->sl_threshold_s);
	if (!a->rpc || !a->view) {
		if (a->view == NULL)
			swb_err_set(err, SWB_ENOMEM, "out of memory");
		console_rpc_free(a->rpc);
		view_free(a->view);
		swb_client_close(a->client);
		return 1;
	}
	struct theme theme;
	pick_theme(a, &theme);

	if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		swb_err_set(err, SWB_EIO, "pipe: %s", strerror(errno));
		console_rpc_free(a->rpc);
		view_free(a->view);
		swb_client_close(a->client);
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	set_escdelay(25);
	initscr();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	if (a->color && has_colors())
		start_color(); /* sets COLORS */
	if (a->color && has_colors() && COLORS >= 8) {
		use_default_colors();
		theme_apply(&theme, true);
	} else {
		if (!o->theme || !has_colors())
			theme_mono(&theme);
		a->color = false;
		theme_apply(&theme, false);
	}
	if (o->mouse) {
		mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
				  | BUTTON5_PRESSED
#endif
			  ,
			  NULL);
		mouseinterval(0);
	}
	a->started_ms = swb_mono_ms();
	a->conn = CONN_STARTING;
	a->conn_since = a->started_ms;
	a->need_layout = true;
	a->last_stats_ms = a->started_ms;
	if (a->theme_note[0])
		app_message(a, true, "theme: %s", a->theme_note);
	loop(a);

	endwin();
	if (a->theme_note[0])
		fprintf(stderr, "swb-console: theme: %s\n", a->theme_note);
	/* a call in flight to an unreachable node could hold the exit for its whole timeout */
	for (int i = 0; i < 30 && console_rpc_busy(a->rpc); i++)
		usleep(10000);
	if (console_rpc_busy(a->rpc)) {
		fflush(NULL);
		_exit(0);
	}
	free_windows(a);
	text_free(a);
	console_rpc_free(a->rpc);
	swb_client_close(a->client);
	view_free(a->view);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	return 0;
}
