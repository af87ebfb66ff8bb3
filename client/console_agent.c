/*
 * console_agent.c - the agent's view: reservations (accept, reject, wrap up,
 * complete), the worker's activity, its queues' statistics and its recent
 * events. Panels draw from view_state and handle their own rows; actions go to
 * the node through app_call and come back as messages and model updates.
 */
#define _GNU_SOURCE
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

/* Column widths of the reservations table. */
#define RES_W_STATUS 8
#define RES_W_QUEUE 9
#define RES_W_PRI 3
#define RES_W_AGE 5
#define RES_W_LEFT 5

/* ---- text for rows ---- */

static void short_sid(const char *sid, char *out, size_t len)
{
	snprintf(out, len, "%.10s", sid);
}

static void task_label(const struct view_reservation *r, char *out, size_t len)
{
	char s[16];
	short_sid(r->task_sid, s, sizeof s);
	snprintf(out, len, "task %s%s%.60s%s", s, *r->queue_name ? " (" : "", r->queue_name, *r->queue_name ? ")" : "");
}

static void value_text(json_t *v, char *out, size_t len)
{
	if (json_is_string(v)) {
		snprintf(out, len, "%s", json_string_value(v));
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		snprintf(out, len, "%s", s ? s : "?");
		free(s);
	}
}

void agent_attrs_text(const struct app *a, json_t *attrs, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	char val[128];
	if (a->o->n_show_attrs > 0) {
		for (int i = 0; i < a->o->n_show_attrs && used + 1 < len; i++) {
			json_t *v = json_object_get(attrs, a->o->show_attrs[i]);
			if (!v)
				continue;
			value_text(v, val, sizeof val);
			used += (size_t)snprintf(out + used, len - used, "%s%s=%s", used ? " " : "", a->o->show_attrs[i], val);
		}
		return;
	}
	/* every attribute, sorted, scalars first */
	const char *keys[64];
	size_t nk = 0;
	const char *k;
	json_t *v;
	json_object_foreach(attrs, k, v)
		if (nk < 64)
			keys[nk++] = k;
	for (size_t i = 1; i < nk; i++) {
		const char *x = keys[i];
		size_t j = i;
		for (; j > 0 && strcmp(keys[j - 1], x) > 0; j--)
			keys[j] = keys[j - 1];
		keys[j] = x;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nk && used + 1 < len; i++) {
			v = json_object_get(attrs, keys[i]);
			bool scalar = !json_is_object(v) && !json_is_array(v);
			if (scalar != (pass == 0))
				continue;
			value_text(v, val, sizeof val);
			used += (size_t)snprintf(out + used, len - used, "%s%s=%s", used ? " " : "", keys[i], val);
		}
	}
}

static void local_hms(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, len, "%H:%M:%S", &tm);
}

static void add_line(char ***lines, int *n, int *cap, const char *s)
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

char **agent_task_lines(const struct app *a, const struct view_reservation *r, int *n)
{
	char **lines = NULL, buf[512], d1[32], d2[32];
	int cap = 0;
	*n = 0;
	int64_t now = app_now(a);
	static const char *const st[] = { "pending", "accepted (assigned)", "wrapping" };
	snprintf(buf, sizeof buf, "Task\t%s", r->task_sid);
	add_line(&lines, n, &cap, buf);
	if (r->status == VIEW_RES_PENDING && r->deadline_ms) {
		view_fmt_countdown(view_countdown_ms(r->deadline_ms, now), d1, sizeof d1);
		snprintf(buf, sizeof buf, "Reservation\t%s: %s, %s left of %d s", r->sid, st[r->status], d1, r->timeout_s);
	} else {
		snprintf(buf, sizeof buf, "Reservation\t%s: %s", r->sid, st[r->status]);
	}
	add_line(&lines, n, &cap, buf);
	snprintf(buf, sizeof buf, "Queue\t%s", *r->queue_name ? r->queue_name : r->queue_sid);
	add_line(&lines, n, &cap, buf);
	snprintf(buf, sizeof buf, "Priority\t%d", r->priority);
	add_line(&lines, n, &cap, buf);
	if (*r->channel) {
		snprintf(buf, sizeof buf, "Channel\t%s", r->channel);
		add_line(&lines, n, &cap, buf);
	}
	if (*r->workflow) {
		snprintf(buf, sizeof buf, "Workflow\t%s", r->workflow);
		add_line(&lines, n, &cap, buf);
	}
	if (r->task_created_ms) {
		view_fmt_duration(now - r->task_created_ms, d1, sizeof d1);
		local_hms(r->task_created_ms, d2, sizeof d2);
		snprintf(buf, sizeof buf, "Age\t%s (created %s)", d1, d2);
		add_line(&lines, n, &cap, buf);
	}
	add_line(&lines, n, &cap, "");
	add_line(&lines, n, &cap, "Attributes");
	char *js = json_dumps(r->attributes, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (js) {
		for (char *line = js; line && *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			snprintf(buf, sizeof buf, "  %s", line);
			add_line(&lines, n, &cap, buf);
			line = nl ? nl + 1 : NULL;
		}
		free(js);
	}
	add_line(&lines, n, &cap, "");
	if (r->status == VIEW_RES_PENDING)
		add_line(&lines, n, &cap, "Close this (Esc), then a accepts or r rejects.");
	else
		add_line(&lines, n, &cap, "Close this (Esc), then w wraps up or c completes.");
	return lines;
}

/* ---- selection ---- */

static const struct view_reservation *selected_res(struct app *a)
{
	struct panel *p = &a->panels[AP_RESERVATIONS];
	const struct view_reservation *r = NULL;
	if (p->sel_sid[0])
		r = view_reservation_find(a->view, p->sel_sid);
	if (!r)
		r = view_reservation_at(a->view, (size_t)(p->sel >= 0 ? p->sel : 0));
	return r;
}

/* ---- layout ---- */

static void agent_layout(struct app *a, int top, int bottom)
{
	int h = bottom - top, w = a->cols;
	int right = w / 3;
	if (right < 30)
		right = 30;
	if (right > 44)
		right = 44;
	int left = w - right;
	int res_h = h / 2;
	if (res_h < 7)
		res_h = 7;
	int nact = (int)view_activity_count(a->view);
	if (nact < 5)
		nact = 5;
	int act_h = nact + 2;
	if (act_h > h / 2)
		act_h = h / 2;
	struct panel *p = a->panels, keep[AP_COUNT];
	memcpy(keep, p, sizeof keep);
	a->npanels = AP_COUNT;
	p[AP_RESERVATIONS] = (struct panel){ .y = top, .x = 0, .h = res_h, .w = left, .title = "Reservations",
					     .listens = VIEW_DIRTY_RESERVATIONS };
	p[AP_EVENTS] = (struct panel){ .y = top + res_h, .x = 0, .h = h - res_h, .w = left, .title = "Events",
				       .listens = VIEW_DIRTY_EVENTS };
	p[AP_ACTIVITIES] = (struct panel){ .y = top, .x = left, .h = act_h, .w = right, .title = "Activity",
					   .listens = VIEW_DIRTY_ACTIVITIES };
	p[AP_QUEUES] = (struct panel){ .y = top + act_h, .x = left, .h = h - act_h, .w = right, .title = "My queues",
				       .listens = VIEW_DIRTY_QUEUES };
	for (int i = 0; i < AP_COUNT; i++) {
		p[i].focusable = true;
		p[i].sel = keep[i].sel;
		p[i].top = keep[i].top;
		memcpy(p[i].sel_sid, keep[i].sel_sid, sizeof p[i].sel_sid);
	}
}

/* Keeps p->top so that p->sel is visible among `visible` rows. */
static void scroll_to_sel(struct panel *p, int visible)
{
	if (p->sel >= p->rows)
		p->sel = p->rows - 1;
	if (p->sel < 0)
		p->sel = 0;
	if (p->sel < p->top)
		p->top = p->sel;
	if (p->sel >= p->top + visible)
		p->top = p->sel - visible + 1;
	if (p->top > p->rows - visible)
		p->top = p->rows - visible;
	if (p->top < 0)
		p->top = 0;
}

static enum theme_role sel_role(const struct app *a, int idx)
{
	return a->focus == idx ? THEME_SELECTION : THEME_SELECTION_UNFOCUSED;
}

static void draw_reservations(struct app *a)
{
	struct panel *p = &a->panels[AP_RESERVATIONS];
	WINDOW *w = p->win;
	werase(w);
	int64_t now = app_now(a);
	size_t n = view_reservation_count(a->view);
	size_t pending = 0;
	for (size_t i = 0; i < n; i++)
		pending += view_reservation_at(a->view, i)->status == VIEW_RES_PENDING;
	char note[64] = "";
	if (n)
		snprintf(note, sizeof note, "%zu pending, %zu assigned", pending, n - pending);
	draw_frame(w, p->title, a->focus == AP_RESERVATIONS, note, pending ? THEME_RESERVATION_PENDING : THEME_TEXT_DIM);
	int iw = p->w - 2;
	int x_status = 1, x_queue = x_status + RES_W_STATUS + 1, x_pri = x_queue + RES_W_QUEUE + 1;
	int x_age = x_pri + RES_W_PRI + 1, x_left = x_age + RES_W_AGE + 1, x_task = x_left + RES_W_LEFT + 1;
	int task_w = p->w - 1 - x_task;
	p->body_y = 2;
	draw_fill(w, 1, 1, iw, THEME_COLUMN_HEADER);
	draw_text(w, 1, x_status + 1, RES_W_STATUS, THEME_COLUMN_HEADER, "Status");
	draw_text(w, 1, x_queue + 1, RES_W_QUEUE, THEME_COLUMN_HEADER, "Queue");
	draw_text_right(w, 1, x_pri + 1, RES_W_PRI, THEME_COLUMN_HEADER, "Pri");
	draw_text_right(w, 1, x_age + 1, RES_W_AGE, THEME_COLUMN_HEADER, "Age");
	draw_text_right(w, 1, x_left + 1, RES_W_LEFT, THEME_COLUMN_HEADER, "Left");
	draw_text(w, 1, x_task + 1, task_w - 1, THEME_COLUMN_HEADER, "Task");
	int visible = p->h - 3;
	p->rows = (int)n;
	if (p->sel_sid[0]) {
		long idx = view_reservation_index(a->view, p->sel_sid);
		if (idx >= 0)
			p->sel = (int)idx;
	}
	scroll_to_sel(p, visible);
	if (n == 0) {
		p->sel_sid[0] = '\0';
		const struct view_worker *me = view_me(a->view);
		if (!view_synced(a->view)) {
			draw_text(w, 3, 3, iw - 4, THEME_TEXT_DIM, "Waiting for the node...");
		} else if (me && !me->available) {
			char line[200];
			snprintf(line, sizeof line, "You are %s: no tasks will be offered.", me->activity_name);
			draw_text(w, 3, 3, iw - 4, THEME_TEXT_DIM, line);
			draw_text(w, 4, 3, iw - 4, THEME_TEXT_DIM, "Press a digit (1-9) or m to pick an available activity.");
		} else {
			draw_text(w, 3, 3, iw - 4, THEME_TEXT_DIM, "No reservations. Tasks offered to you appear here;");
			draw_text(w, 4, 3, iw - 4, THEME_TEXT_DIM, "a accepts, r rejects, Enter shows the task.");
		}
		return;
	}
	for (int row = 0; row < visible && p->top + row < (int)n; row++) {
		int idx = p->top + row;
		const struct view_reservation *r = view_reservation_at(a->view, (size_t)idx);
		int y = p->body_y + row;
		enum theme_role role;
		const char *status;
		char age[16] = "", left[16] = "", attrs[512];
		switch (r->status) {
		case VIEW_RES_PENDING:
			status = "PENDING";
			role = THEME_RESERVATION_PENDING;
			if (r->arrived_ms && now - r->arrived_ms < CONSOLE_NEW_MS) {
				status = "NEW";
				role = THEME_RESERVATION_NEW;
			}
			if (view_expiring(r->deadline_ms, r->timeout_s, now))
				role = THEME_RESERVATION_EXPIRING;
			view_fmt_countdown(view_countdown_ms(r->deadline_ms, now), left, sizeof left);
			break;
		case VIEW_RES_ACCEPTED:
			status = "ASSIGNED";
			role = THEME_RESERVATION_ASSIGNED;
			break;
		default:
			status = "WRAPPING";
			role = THEME_RESERVATION_WRAPPING;
			break;
		}
		if (r->task_created_ms)
			view_fmt_short(now - r->task_created_ms, age, sizeof age);
		agent_attrs_text(a, r->attributes, attrs, sizeof attrs);
		char pri[16];
		snprintf(pri, sizeof pri, "%d", r->priority);
		bool sel = idx == p->sel;
		if (sel)
			snprintf(p->sel_sid, sizeof p->sel_sid, "%s", r->sid);
		enum theme_role base = sel ? sel_role(a, AP_RESERVATIONS) : THEME_TEXT;
		draw_fill(w, y, 1, iw, sel ? base : (role == THEME_RESERVATION_NEW ? role : THEME_TEXT));
		enum theme_role cell = sel ? base : role == THEME_RESERVATION_NEW ? role : THEME_TEXT;
		draw_text(w, y, x_status + 1, RES_W_STATUS, sel ? base : role, status);
		draw_text(w, y, x_queue + 1, RES_W_QUEUE, cell, r->queue_name);
		draw_text_right(w, y, x_pri + 1, RES_W_PRI, cell, pri);
		draw_text_right(w, y, x_age + 1, RES_W_AGE, cell, age);
		draw_text_right(w, y, x_left + 1, RES_W_LEFT, sel ? base : role, left);
		draw_text(w, y, x_task + 1, task_w - 1, cell, attrs);
	}
}

static void draw_events(struct app *a)
{
	struct panel *p = &a->panels[AP_EVENTS];
	WINDOW *w = p->win;
	werase(w);
	/* keep the rows in place while scrolled back and new events arrive */
	uint64_t total = view_event_total(a->view);
	if (p->sel > 0 && total > a->seen_events)
		p->sel += (int)(total - a->seen_events);
	a->seen_events = total;
	int n = (int)view_event_count(a->view), visible = p->h - 2;
	p->rows = n > visible ? n - visible + 1 : 1; /* sel is the scroll offset from the newest */
	if (p->sel >= p->rows)
		p->sel = p->rows - 1;
	if (p->sel < 0)
		p->sel = 0;
	char note[48] = "";
	if (p->sel > 0)
		snprintf(note, sizeof note, "%d newer above", p->sel);
	draw_frame(w, p->title, a->focus == AP_EVENTS, note, THEME_TEXT_DIM);
	p->body_y = 1;
	int iw = p->w - 2;
	if (n == 0) {
		draw_text(w, 1, 2, iw - 2, THEME_TEXT_DIM, "Your events appear here.");
		return;
	}
	for (int row = 0; row < visible && p->sel + row < n; row++) {
		const struct view_event *e = view_event_at(a->view, (size_t)(p->sel + row));
		char t[16];
		local_hms(e->ms, t, sizeof t);
		int x = 1;
		x += draw_text(w, 1 + row, x, iw, THEME_EVENT_TIME, t) + 1;
		int tw = iw > 60 ? 22 : 20;
		draw_text(w, 1 + row, x, tw, THEME_EVENT_TYPE, e->type);
		x += tw + 1;
		draw_text(w, 1 + row, x, p->w - 1 - x, THEME_TEXT, e->text);
	}
}

static void draw_activities(struct app *a)
{
	struct panel *p = &a->panels[AP_ACTIVITIES];
	WINDOW *w = p->win;
	werase(w);
	draw_frame(w, p->title, a->focus == AP_ACTIVITIES, "1-9 switch", THEME_TEXT_DIM);
	const struct view_worker *me = view_me(a->view);
	int n = (int)view_activity_count(a->view), visible = p->h - 2, iw = p->w - 2;
	p->rows = n;
	p->body_y = 1;
	scroll_to_sel(p, visible);
	for (int row = 0; row < visible && p->top + row < n; row++) {
		int idx = p->top + row;
		const struct view_activity *act = view_activity_at(a->view, (size_t)idx);
		bool current = me && strcmp(me->activity_sid, act->sid) == 0;
		bool sel = idx == p->sel && a->focus == AP_ACTIVITIES;
		char line[200], key[16] = " ";
		if (idx < 9)
			snprintf(key, sizeof key, "%d", idx + 1);
		snprintf(line, sizeof line, "%s %s %s%s", key, current ? (a->utf8 ? "\u25b8" : ">") : " ", act->name,
			 current ? " (now)" : "");
		enum theme_role role = sel ? THEME_SELECTION : activity_role(act->available);
		draw_fill(w, 1 + row, 1, iw, sel ? THEME_SELECTION : THEME_TEXT);
		draw_text(w, 1 + row, 2, iw - 2, role, line);
	}
	if (n == 0)
		draw_text(w, 1, 2, iw - 2, THEME_TEXT_DIM, "(no activities yet)");
}

static void draw_queues(struct app *a)
{
	struct panel *p = &a->panels[AP_QUEUES];
	WINDOW *w = p->win;
	werase(w);
	draw_frame(w, p->title, a->focus == AP_QUEUES, NULL, THEME_TEXT);
	int64_t now = app_now(a);
	int iw = p->w - 2, n = (int)view_queue_count(a->view), visible = p->h - 3;
	p->body_y = 2;
	p->rows = n;
	scroll_to_sel(p, visible);
	/* Queue | Wait | Longest | Av/El */
	int wq = iw - 19;
	draw_fill(w, 1, 1, iw, THEME_COLUMN_HEADER);
	draw_text(w, 1, 2, wq - 1, THEME_COLUMN_HEADER, "Queue");
	draw_text_right(w, 1, 1 + wq, 5, THEME_COLUMN_HEADER, "Wait");
	draw_text_right(w, 1, 1 + wq + 5, 8, THEME_COLUMN_HEADER, "Longest");
	draw_text_right(w, 1, 1 + wq + 13, 6, THEME_COLUMN_HEADER, "Av/El");
	if (n == 0) {
		draw_text(w, 2, 2, iw - 2, THEME_TEXT_DIM, view_synced(a->view) ? "No queue targets you." : "...");
		return;
	}
	for (int row = 0; row < visible && p->top + row < n; row++) {
		int idx = p->top + row;
		const struct view_queue *q = view_queue_at(a->view, (size_t)idx);
		int y = 2 + row;
		bool sel = idx == p->sel && a->focus == AP_QUEUES;
		enum theme_role base = sel ? THEME_SELECTION : THEME_TEXT;
		draw_fill(w, y, 1, iw, base);
		draw_text(w, y, 2, wq - 1, base, q->name);
		if (!q->has_stats) {
			draw_text_right(w, y, 1 + wq, 5, THEME_TEXT_DIM, "...");
			continue;
		}
		long waiting = q->pending + q->reserved;
		long longest = q->longest_wait_s;
		if (waiting > 0 && now > q->stats_ms)
			longest += (long)((now - q->stats_ms) / 1000);
		enum view_health hl =
			view_queue_health(q->pending, longest, q->available, q->eligible, view_sl_threshold(a->view), -1);
		enum theme_role hr = sel ? base
				     : hl == VIEW_HEALTH_CRITICAL ? THEME_QUEUE_CRITICAL
				     : hl == VIEW_HEALTH_WARNING  ? THEME_QUEUE_WARNING
								  : THEME_QUEUE_OK;
		char wait[24], lg[24], av[48];
		snprintf(wait, sizeof wait, "%ld", waiting);
		if (waiting > 0)
			view_fmt_short(longest * 1000, lg, sizeof lg);
		else
			snprintf(lg, sizeof lg, "-");
		snprintf(av, sizeof av, "%ld/%ld", q->available, q->eligible);
		draw_text_right(w, y, 1 + wq, 5, hr, wait);
		draw_text_right(w, y, 1 + wq + 5, 8, hr, lg);
		draw_text_right(w, y, 1 + wq + 13, 6, base, av);
	}
}

static void agent_draw_panel(struct app *a, int idx)
{
	switch (idx) {
	case AP_RESERVATIONS:
		draw_reservations(a);
		break;
	case AP_EVENTS:
		draw_events(a);
		break;
	case AP_ACTIVITIES:
		draw_activities(a);
		break;
	default:
		draw_queues(a);
		break;
	}
}

static void agent_header(struct app *a, WINDOW *w)
{
	draw_fill(w, 0, 0, a->cols, THEME_HEADER);
	char clock[16], conn[64];
	local_hms(swb_wall_ms(), clock, sizeof clock);
	const char *state = a->conn == CONN_ONLINE ? "online" : a->conn == CONN_STARTING ? "connecting" :
			    a->conn == CONN_REFUSED ? "refused" : "reconnecting";
	snprintf(conn, sizeof conn, " %s %s ", draw_bullet(a->utf8), state);
	int cw = draw_width(conn), clw = draw_width(clock) + 2;
	int right = a->cols - cw - clw;
	const struct view_worker *me = view_me(a->view);
	char name[VIEW_NAME_MAX + 4], act[VIEW_NAME_MAX + 16], since[48] = "";
	snprintf(name, sizeof name, " %s ", me ? me->name : "agent");
	snprintf(act, sizeof act, " %s %s ", draw_bullet(a->utf8), me ? me->activity_name : "...");
	if (me && me->since_ms) {
		char d[16];
		view_fmt_duration(app_now(a) - me->since_ms, d, sizeof d);
		snprintf(since, sizeof since, " for %s ", d);
	}
	struct draw_seg segs[] = {
		{ " Switchboard ", THEME_HEADER_TITLE, 2 },
		{ name, THEME_HEADER_TITLE, 0 },
		{ act, me ? activity_role(me->available) : THEME_HEADER, 0 },
		{ since, THEME_HEADER, 1 },
	};
	draw_segments(w, 0, right - 1, segs, 4, THEME_HEADER);
	draw_text(w, 0, right, cw, a->conn == CONN_ONLINE ? THEME_STATUS_CONNECTED : THEME_STATUS_DISCONNECTED, conn);
	draw_text(w, 0, right + cw + 1, clw, THEME_HEADER, clock);
}

/* ---- actions ---- */

static int key_accept(struct app *a, int key)
{
	(void)key;
	const struct view_reservation *r = selected_res(a);
	if (!r || r->status != VIEW_RES_PENDING) {
		app_message(a, true, "No pending reservation selected: nothing to accept");
		return KR_HANDLED;
	}
	char label[96];
	task_label(r, label, sizeof label);
	app_call(a, JOB_ACCEPT, "reservations.update", json_pack("{s:s, s:s}", "sid", r->sid, "reservation_status", "accepted"),
		 "", label);
	app_message(a, false, "Accepting %s...", label);
	return KR_HANDLED;
}

static int key_reject(struct app *a, int key)
{
	(void)key;
	const struct view_reservation *r = selected_res(a);
	if (!r || r->status != VIEW_RES_PENDING) {
		app_message(a, true, "No pending reservation selected: nothing to reject");
		return KR_HANDLED;
	}
	char label[96], title[128];
	task_label(r, label, sizeof label);
	snprintf(title, sizeof title, " Reject %s, then go to: ", label);
	app_open_activity_menu(a, MENU_REJECT, r->sid, label, title);
	return KR_HANDLED;
}

static int task_action(struct app *a, bool complete)
{
	const struct view_reservation *r = selected_res(a);
	if (!r || r->status == VIEW_RES_PENDING || (!complete && r->status == VIEW_RES_WRAPPING)) {
		app_message(a, true, complete ? "Select an assigned or wrapping task to complete (accept it first)"
					       : "Select an assigned task to wrap up (accept it first)");
		return KR_HANDLED;
	}
	char label[96];
	task_label(r, label, sizeof label);
	app_call(a, complete ? JOB_COMPLETE : JOB_WRAP, "tasks.update",
		 json_pack("{s:s, s:s}", "sid", r->task_sid, "assignment_status", complete ? "completed" : "wrapping"), "",
		 label);
	return KR_HANDLED;
}

static int key_wrap(struct app *a, int key)
{
	(void)key;
	return task_action(a, false);
}

static int key_complete(struct app *a, int key)
{
	(void)key;
	return task_action(a, true);
}

static void set_my_activity(struct app *a, const struct view_activity *act)
{
	const struct view_worker *me = view_me(a->view);
	if (!me || !act)
		return;
	if (strcmp(me->activity_sid, act->sid) == 0) {
		app_message(a, false, "You are already %s", act->name);
		return;
	}
	app_call(a, JOB_MY_ACTIVITY, "workers.update", json_pack("{s:s, s:s}", "sid", me->sid, "activity_sid", act->sid),
		 act->name, "");
	app_message(a, false, "Switching to %s...", act->name);
}

static int key_digit(struct app *a, int key)
{
	const struct view_activity *act = view_activity_at(a->view, (size_t)(key - '1'));
	if (!act) {
		app_message(a, true, "No activity %c (there are %zu)", key, view_activity_count(a->view));
		return KR_HANDLED;
	}
	set_my_activity(a, act);
	return KR_HANDLED;
}

static int key_menu(struct app *a, int key)
{
	(void)key;
	const struct view_worker *me = view_me(a->view);
	app_open_activity_menu(a, MENU_MY_ACTIVITY, me ? me->sid : "", me ? me->name : "", " Switch activity to: ");
	return KR_HANDLED;
}

static int agent_enter(struct app *a)
{
	if (a->focus == AP_ACTIVITIES) {
		if (!app_require_node(a, "Switching activity"))
			return KR_HANDLED;
		set_my_activity(a, view_activity_at(a->view, (size_t)a->panels[AP_ACTIVITIES].sel));
		return KR_HANDLED;
	}
	const struct view_reservation *r = selected_res(a);
	if (!r) {
		app_message(a, true, "No reservation selected");
		return KR_HANDLED;
	}
	int n;
	char **lines = agent_task_lines(a, r, &n);
	char title[128], label[96];
	task_label(r, label, sizeof label);
	snprintf(title, sizeof title, " %s ", label);
	app_open_text(a, title, lines, n);
	for (int i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return KR_HANDLED;
}

static int key_enter(struct app *a, int key)
{
	(void)key;
	return agent_enter(a);
}

static void agent_menu_chosen(struct app *a, const struct menu *m, const struct menu_item *it)
{
	if (!app_require_node(a, m->purpose == MENU_REJECT ? "Reject" : "Switching activity"))
		return;
	if (m->purpose == MENU_REJECT) {
		json_t *args = json_pack("{s:s, s:s}", "sid", m->target, "reservation_status", "rejected");
		const struct view_activity *act = view_activity_find(a->view, it->value);
		if (act)
			json_object_set_new(args, "worker_activity_sid", json_string(act->sid));
		app_call(a, JOB_REJECT, "reservations.update", args, act ? act->name : "", m->target_name);
		app_message(a, false, "Rejecting %s...", m->target_name);
	} else {
		set_my_activity(a, view_activity_find(a->view, it->value));
	}
}

static int agent_click(struct app *a, int idx, int row, int col)
{
	(void)col;
	struct panel *p = &a->panels[idx];
	int r = row - p->body_y;
	if (r < 0 || r >= p->h - 1 - p->body_y)
		return KR_HANDLED;
	if (idx == AP_EVENTS)
		return KR_HANDLED;
	int target = p->top + r;
	if (target >= p->rows)
		return KR_HANDLED;
	p->sel = target;
	p->sel_sid[0] = '\0';
	a->dirty |= p->listens;
	if (idx == AP_ACTIVITIES && app_require_node(a, "Switching activity"))
		set_my_activity(a, view_activity_at(a->view, (size_t)target));
	return KR_HANDLED;
}

static const struct console_key agent_keys[] = {
	{ { 'a' }, 0, 0, "a", "Accept", "Acc", "accept the selected reservation", true, true, key_accept },
	{ { 'r' }, 0, 0, "r", "Reject", "Rej", "reject it, choosing the activity to move to", true, true, key_reject },
	{ { '\n', '\r', KEY_ENTER }, 0, 0, "Enter", "Task", "Task",
	  "show the selected task in full (in Activity: switch to the selected one)", false, true, key_enter },
	{ { 'w' }, 0, 0, "w", "Wrap", "Wrap", "wrap up the selected assigned task", true, true, key_wrap },
	{ { 'c' }, 0, 0, "c", "Complete", "Done", "complete the selected assigned or wrapping task", true, true,
	  key_complete },
	{ { 0 }, '1', '9', "1-9", "Activity", "Act", "switch to activity N (as numbered in the Activity panel)", true, true,
	  key_digit },
	{ { 'm' }, 0, 0, "m", "Menu", "Menu", "pick an activity from a menu", true, true, key_menu },
	{ { 0 }, 0, 0, NULL, NULL, NULL, NULL, false, false, NULL },
};

const struct view_ops agent_view_ops = {
	.keys = agent_keys,
	.layout = agent_layout,
	.draw_panel = agent_draw_panel,
	.header = agent_header,
	.click = agent_click,
	.menu_chosen = agent_menu_chosen,
	.tick_dirty = VIEW_DIRTY_RESERVATIONS | VIEW_DIRTY_QUEUES,
};
