/*
 * console_super.c - the supervisor's view: one live tile per queue (waiting
 * by priority, longest wait, reserved/assigned/wrapping, available and
 * eligible workers, service level, arrivals and abandons as sparklines), a
 * worker grid (activity, time in state, held tasks; sort, filter, change a
 * worker's activity), and workspace totals in the header.
 */
#define _GNU_SOURCE
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

/* A queue tile: at least this wide, this tall (frame + four lines). */
#define TILE_MIN_W 38
#define TILE_H 6

/* The worker grid keeps at least this many rows (frame, heading and five workers). */
#define GRID_MIN_H 8

/* Worker grid column widths. */
#define GRID_W_NAME 16
#define GRID_W_ACT 14
#define GRID_W_TIME 9

static void local_hms(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, len, "%H:%M:%S", &tm);
}

/* ---- layout ---- */

static void super_layout(struct app *a, int top, int bottom)
{
	int h = bottom - top;
	int per_row = a->cols / TILE_MIN_W;
	if (per_row < 1)
		per_row = 1;
	int nq = (int)view_queue_count(a->view);
	int rows_needed = nq ? (nq + per_row - 1) / per_row : 1;
	int rows_fit = (h - GRID_MIN_H) / TILE_H;
	if (rows_fit < 1)
		rows_fit = 1;
	a->tiles_per_row = per_row;
	a->tile_w = a->cols / per_row;
	a->tile_h = TILE_H;
	a->tile_rows_shown = rows_needed < rows_fit ? rows_needed : rows_fit;
	int qh = a->tile_rows_shown * TILE_H;
	struct panel *p = a->panels, keep[SP_COUNT];
	memcpy(keep, p, sizeof keep);
	a->npanels = SP_COUNT;
	p[SP_QUEUES] = (struct panel){ .y = top, .x = 0, .h = qh, .w = a->cols, .title = "Queues",
				       .listens = VIEW_DIRTY_QUEUES };
	p[SP_WORKERS] = (struct panel){ .y = top + qh, .x = 0, .h = h - qh, .w = a->cols, .title = "Workers",
					.listens = VIEW_DIRTY_WORKERS };
	for (int i = 0; i < SP_COUNT; i++) {
		p[i].focusable = true;
		p[i].sel = keep[i].sel;
		p[i].top = keep[i].top;
		memcpy(p[i].sel_sid, keep[i].sel_sid, sizeof p[i].sel_sid);
	}
}

/* ---- queue tiles ---- */

static void tile_box(WINDOW *w, int y, int x, int h, int wd, enum theme_role role)
{
	wattrset(w, (int)theme_attr(role));
	mvwhline(w, y, x + 1, ACS_HLINE, wd - 2);
	mvwhline(w, y + h - 1, x + 1, ACS_HLINE, wd - 2);
	mvwvline(w, y + 1, x, ACS_VLINE, h - 2);
	mvwvline(w, y + 1, x + wd - 1, ACS_VLINE, h - 2);
	mvwaddch(w, y, x, ACS_ULCORNER);
	mvwaddch(w, y, x + wd - 1, ACS_URCORNER);
	mvwaddch(w, y + h - 1, x, ACS_LLCORNER);
	mvwaddch(w, y + h - 1, x + wd - 1, ACS_LRCORNER);
	wattrset(w, 0);
}

static enum theme_role health_role(enum view_health h)
{
	return h == VIEW_HEALTH_CRITICAL ? THEME_QUEUE_CRITICAL : h == VIEW_HEALTH_WARNING ? THEME_QUEUE_WARNING
											    : THEME_QUEUE_OK;
}

static void spark_line(struct app *a, WINDOW *w, int y, int x, int width, const char *label, const struct view_queue *q,
		       enum view_hist_field field, enum theme_role role, int64_t now)
{
	uint32_t series[VIEW_HIST_BUCKETS];
	view_hist_series(&q->hist, field, now, series);
	uint32_t total = 0;
	for (int i = 0; i < VIEW_HIST_BUCKETS; i++)
		total += series[i];
	char count[16];
	snprintf(count, sizeof count, "%u", total);
	int lw = draw_width(label) + 1, cw = 5;
	int cells = width - lw - cw;
	if (cells > VIEW_HIST_BUCKETS)
		cells = VIEW_HIST_BUCKETS;
	if (cells < 1)
		cells = 1;
	char spark[VIEW_HIST_BUCKETS * 3 + 1];
	view_sparkline(series + VIEW_HIST_BUCKETS - cells, (size_t)cells, a->utf8, spark, sizeof spark);
	draw_text(w, y, x, lw, THEME_TEXT_DIM, label);
	draw_text(w, y, x + lw, cells, role, spark);
	draw_text_right(w, y, x + lw + cells, cw, THEME_TEXT, count);
}

static void draw_tile(struct app *a, WINDOW *w, int y, int x, int wd, const struct view_queue *q, bool sel, int64_t now)
{
	int sl = -1;
	bool has_sl = view_service_level(&q->hist, now, &sl);
	long waiting = 0;
	for (int i = 0; i < q->n_prio; i++)
		waiting += q->by_prio[i].count;
	waiting += q->other_prio;
	if (!waiting)
		waiting = q->pending;
	long longest = q->longest_wait_s;
	if (waiting > 0 && now > q->stats_ms)
		longest += (long)((now - q->stats_ms) / 1000);
	enum view_health hl = view_queue_health(waiting, longest, q->available, q->eligible, view_sl_threshold(a->view),
						has_sl ? sl : -1);
	bool focused = sel && a->focus == SP_QUEUES;
	tile_box(w, y, x, TILE_H, wd, focused ? THEME_PANEL_TITLE_FOCUS : THEME_PANEL_BORDER);
	/* title: a health bullet and the name; at the right, workers and the service level */
	char note[64], slt[24];
	if (has_sl)
		snprintf(slt, sizeof slt, "SL %d%%", sl);
	else
		snprintf(slt, sizeof slt, "SL --");
	snprintf(note, sizeof note, " avail %ld/%ld ", q->available, q->eligible);
	int slw = draw_width(slt) + 2, nw = q->has_stats ? draw_width(note) : 0;
	int right = x + wd - 2 - slw;
	char sls[32];
	snprintf(sls, sizeof sls, " %s ", slt);
	draw_text(w, y, right, slw, has_sl ? health_role(view_queue_health(0, 0, 1, 1, 1, sl)) : THEME_TEXT_DIM, sls);
	if (nw)
		draw_text(w, y, right - nw, nw,
			  q->eligible == 0 ? THEME_QUEUE_CRITICAL : q->available == 0 ? THEME_QUEUE_WARNING : THEME_TEXT, note);
	int tx = x + 2, room = right - nw - tx - 1;
	tx += draw_text(w, y, tx, room, THEME_PANEL_BORDER, " ");
	tx += draw_text(w, y, tx, room - 1, health_role(hl), draw_bullet(a->utf8));
	char name[VIEW_NAME_MAX + 4];
	snprintf(name, sizeof name, " %s ", q->name);
	draw_text(w, y, tx, room - 2,
		  focused ? THEME_PANEL_TITLE_FOCUS : sel ? THEME_SELECTION_UNFOCUSED : THEME_PANEL_TITLE, name);
	int iw = wd - 4, ix = x + 2;
	if (!q->has_stats) {
		draw_text(w, y + 1, ix, iw, THEME_TEXT_DIM, "waiting for statistics...");
		return;
	}
	/* line 1: waiting, by priority (highest first) */
	char line[256];
	int used = snprintf(line, sizeof line, "Waiting %ld", waiting);
	if (q->n_prio > 1 || (q->n_prio == 1 && q->by_prio[0].priority != 0)) {
		used += snprintf(line + used, sizeof line - (size_t)used, " (");
		for (int i = 0; i < q->n_prio && used < (int)sizeof line - 24; i++)
			used += snprintf(line + used, sizeof line - (size_t)used, "%sp%d:%ld", i ? " " : "",
					 q->by_prio[i].priority, q->by_prio[i].count);
		if (q->other_prio && used < (int)sizeof line - 24)
			used += snprintf(line + used, sizeof line - (size_t)used, " +%ld", q->other_prio);
		snprintf(line + used, sizeof line - (size_t)used, ")");
	}
	draw_text(w, y + 1, ix, iw, waiting ? health_role(hl) : THEME_TEXT, line);
	/* line 2: the longest wait; reserved, assigned, wrapping */
	char lg[16], lgt[32], counts[96];
	if (waiting > 0)
		view_fmt_duration(longest * 1000, lg, sizeof lg);
	else
		snprintf(lg, sizeof lg, "-");
	snprintf(lgt, sizeof lgt, "Longest %s", lg);
	snprintf(counts, sizeof counts, "Resv %ld Asgn %ld Wrap %ld", q->reserved, q->assigned, q->wrapping);
	int cw = draw_width(counts);
	draw_text_right(w, y + 2, ix + iw - cw, cw, THEME_TEXT, counts);
	draw_text(w, y + 2, ix, iw - cw - 1, waiting ? health_role(hl) : THEME_TEXT_DIM, lgt);
	/* lines 3-4: the last five minutes */
	spark_line(a, w, y + 3, ix, iw, "In ", q, VIEW_HIST_ARRIVALS, THEME_SPARK_ARRIVALS, now);
	spark_line(a, w, y + 4, ix, iw, "Out", q, VIEW_HIST_ABANDONS, THEME_SPARK_ABANDONS, now);
}

static void draw_queue_tiles(struct app *a)
{
	struct panel *p = &a->panels[SP_QUEUES];
	WINDOW *w = p->win;
	werase(w);
	int64_t now = app_now(a);
	int nq = (int)view_queue_count(a->view), per = a->tiles_per_row;
	p->rows = nq;
	if (p->sel >= nq)
		p->sel = nq - 1;
	if (p->sel < 0)
		p->sel = 0;
	int sel_row = p->sel / per;
	if (sel_row < a->queue_top)
		a->queue_top = sel_row;
	if (sel_row >= a->queue_top + a->tile_rows_shown)
		a->queue_top = sel_row - a->tile_rows_shown + 1;
	if (nq == 0) {
		draw_frame(w, "Queues", a->focus == SP_QUEUES, NULL, THEME_TEXT);
		draw_text(w, 1, 2, p->w - 4, THEME_TEXT_DIM, view_synced(a->view) ? "No queues." : "Waiting for the node...");
		return;
	}
	for (int r = 0; r < a->tile_rows_shown; r++) {
		for (int c = 0; c < per; c++) {
			int idx = (a->queue_top + r) * per + c;
			if (idx >= nq)
				break;
			int wd = c == per - 1 ? p->w - c * a->tile_w : a->tile_w;
			draw_tile(a, w, r * TILE_H, c * a->tile_w, wd, view_queue_at(a->view, (size_t)idx), idx == p->sel, now);
		}
	}
	int rows_total = (nq + per - 1) / per;
	if (rows_total > a->tile_rows_shown) {
		char more[64];
		snprintf(more, sizeof more, " queues %d-%d of %d (j/k) ", a->queue_top * per + 1,
			 (a->queue_top + a->tile_rows_shown) * per < nq ? (a->queue_top + a->tile_rows_shown) * per : nq,
			 nq);
		draw_text_right(w, p->h - 1, 0, p->w - 2, THEME_TEXT_DIM, more);
	}
}

/* ---- worker grid ---- */

static const struct view_worker **grid_rows(struct app *a, size_t *n)
{
	size_t total = view_worker_count(a->view);
	const struct view_worker **rows = malloc((total ? total : 1) * sizeof *rows);
	if (!rows)
		abort();
	*n = view_grid(a->view, a->sort, a->sort_reverse, a->filter, a->filter_text, rows, total);
	if (*n > total)
		*n = total;
	return rows;
}

/* The selected worker among the rows the grid shows (the filter may have hidden the last one). */
static const struct view_worker *selected_worker(struct app *a)
{
	struct panel *p = &a->panels[SP_WORKERS];
	size_t n;
	const struct view_worker **rows = grid_rows(a, &n), *w = NULL;
	for (size_t i = 0; p->sel_sid[0] && i < n && !w; i++)
		if (strcmp(rows[i]->sid, p->sel_sid) == 0)
			w = rows[i];
	if (!w && p->sel >= 0 && (size_t)p->sel < n)
		w = rows[p->sel];
	free(rows);
	return w;
}

static const char *res_status_name(enum view_res_status s)
{
	return s == VIEW_RES_PENDING ? "offered" : s == VIEW_RES_ACCEPTED ? "assigned" : "wrapping";
}

static void draw_workers(struct app *a)
{
	struct panel *p = &a->panels[SP_WORKERS];
	WINDOW *w = p->win;
	werase(w);
	int64_t now = app_now(a);
	size_t n;
	const struct view_worker **rows = grid_rows(a, &n);
	char note[200];
	const char *arrow = a->utf8 ? (a->sort_reverse ? "\u25b2" : "\u25bc") : (a->sort_reverse ? "^" : "v");
	snprintf(note, sizeof note, "%zu of %zu | sort: %s %s | filter: %s%s%s%s", n, view_worker_count(a->view),
		 view_sort_name(a->sort), arrow, view_filter_name(a->filter), a->filter_text[0] ? " | \"" : "",
		 a->filter_text, a->filter_text[0] ? "\"" : "");
	draw_frame(w, "Workers", a->focus == SP_WORKERS, note, THEME_TEXT_DIM);
	int iw = p->w - 2;
	p->body_y = 2;
	int xn = 2, xa = xn + GRID_W_NAME + 1, xt = xa + GRID_W_ACT + 1, xk = xt + GRID_W_TIME + 2;
	draw_fill(w, 1, 1, iw, THEME_COLUMN_HEADER);
	static const char *const heads[VIEW_SORT_COUNT] = { "Worker", "Activity", "In state", "Tasks" };
	int xs[VIEW_SORT_COUNT] = { xn, xa, xt, xk };
	int ws[VIEW_SORT_COUNT] = { GRID_W_NAME, GRID_W_ACT, GRID_W_TIME, p->w - 1 - xk };
	for (int c = 0; c < VIEW_SORT_COUNT; c++) {
		char h[32];
		snprintf(h, sizeof h, "%s%s%s", heads[c], (int)a->sort == c ? " " : "", (int)a->sort == c ? arrow : "");
		if (c == VIEW_SORT_TIME)
			draw_text_right(w, 1, xs[c], ws[c], THEME_COLUMN_HEADER, h);
		else
			draw_text(w, 1, xs[c], ws[c], THEME_COLUMN_HEADER, h);
	}
	int visible = p->h - 3;
	p->rows = (int)n;
	if (p->sel_sid[0]) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(rows[i]->sid, p->sel_sid) == 0) {
				p->sel = (int)i;
				break;
			}
	}
	if (p->sel >= (int)n)
		p->sel = (int)n - 1;
	if (p->sel < 0)
		p->sel = 0;
	if (p->sel < p->top)
		p->top = p->sel;
	if (p->sel >= p->top + visible)
		p->top = p->sel - visible + 1;
	if (p->top > (int)n - visible)
		p->top = (int)n - visible;
	if (p->top < 0)
		p->top = 0;
	if (n == 0) {
		p->sel_sid[0] = '\0';
		draw_text(w, 2, 2, iw - 2, THEME_TEXT_DIM,
			  view_worker_count(a->view) ? "No worker matches the filter (f cycles it, / edits the text)."
						     : "No workers.");
	}
	for (int row = 0; row < visible && p->top + row < (int)n; row++) {
		int idx = p->top + row;
		const struct view_worker *wk = rows[idx];
		int y = 2 + row;
		bool sel = idx == p->sel;
		if (sel)
			snprintf(p->sel_sid, sizeof p->sel_sid, "%s", wk->sid);
		enum theme_role base = sel ? (a->focus == SP_WORKERS ? THEME_SELECTION : THEME_SELECTION_UNFOCUSED)
					   : THEME_TEXT;
		draw_fill(w, y, 1, iw, base);
		draw_text(w, y, xn, GRID_W_NAME, base, wk->name);
		char act[VIEW_NAME_MAX + 8];
		snprintf(act, sizeof act, "%s %s", draw_bullet(a->utf8), wk->activity_name);
		draw_text(w, y, xa, GRID_W_ACT, sel ? base : activity_role(wk->available), act);
		char t[16] = "-";
		if (wk->since_ms)
			view_fmt_duration(now - wk->since_ms, t, sizeof t);
		draw_text_right(w, y, xt, GRID_W_TIME, base, t);
		char tasks[256] = "";
		int used = 0;
		for (int k = 0; k < wk->ntasks && used < (int)sizeof tasks - 40; k++) {
			used += snprintf(tasks + used, sizeof tasks - (size_t)used, "%s%s %s %.10s", k ? "; " : "",
					 wk->tasks[k].queue_name, res_status_name(wk->tasks[k].status), wk->tasks[k].task_sid);
		}
		if (wk->more_tasks)
			snprintf(tasks + used, sizeof tasks - (size_t)used, " +%d", wk->more_tasks);
		enum theme_role tr = base;
		if (!sel && wk->ntasks)
			tr = wk->tasks[0].status == VIEW_RES_PENDING  ? THEME_RESERVATION_PENDING
			     : wk->tasks[0].status == VIEW_RES_ACCEPTED ? THEME_RESERVATION_ASSIGNED
									: THEME_RESERVATION_WRAPPING;
		draw_text(w, y, xk, p->w - 1 - xk, tr, tasks);
	}
	free(rows);
}

static void super_draw_panel(struct app *a, int idx)
{
	if (idx == SP_QUEUES)
		draw_queue_tiles(a);
	else
		draw_workers(a);
}

static void super_header(struct app *a, WINDOW *w)
{
	draw_fill(w, 0, 0, a->cols, THEME_HEADER);
	const struct view_totals *t = view_totals(a->view);
	char clock[16], conn[64];
	local_hms(swb_wall_ms(), clock, sizeof clock);
	const char *state = a->conn == CONN_ONLINE ? "online" : a->conn == CONN_STARTING ? "connecting" :
			    a->conn == CONN_REFUSED ? "refused" : "reconnecting";
	snprintf(conn, sizeof conn, " %s %s ", draw_bullet(a->utf8), state);
	int cw = draw_width(conn), clw = draw_width(clock) + 2;
	int right = a->cols - cw - clw;
	char ws[VIEW_NAME_MAX + 4], tasks[160] = "", workers[96] = "", longest[64] = "";
	snprintf(ws, sizeof ws, " %s ", view_workspace_name(a->view));
	if (t->has_stats) {
		char lg[16];
		long lw = t->longest_wait_s;
		int64_t now = app_now(a);
		if (t->pending > 0 && now > t->stats_ms)
			lw += (long)((now - t->stats_ms) / 1000);
		view_fmt_duration(lw * 1000, lg, sizeof lg);
		snprintf(tasks, sizeof tasks, " %ld pending, %ld reserved, %ld assigned, %ld wrapping ", t->pending,
			 t->reserved, t->assigned, t->wrapping);
		snprintf(workers, sizeof workers, " %ld/%ld workers available ", t->available, t->workers);
		snprintf(longest, sizeof longest, " longest wait %s ", t->pending ? lg : "-");
		if (draw_width(tasks) + draw_width(workers) + 1 > right - 1) {
			/* narrow screens: the same numbers, shorter words */
			snprintf(tasks, sizeof tasks, " pend %ld resv %ld asgn %ld wrap %ld ", t->pending, t->reserved,
				 t->assigned, t->wrapping);
			snprintf(workers, sizeof workers, " avail %ld/%ld ", t->available, t->workers);
			snprintf(longest, sizeof longest, " oldest %s ", t->pending ? lg : "-");
		}
	}
	struct draw_seg segs[] = {
		{ " Switchboard supervisor ", THEME_HEADER_TITLE, 2 },
		{ ws, THEME_HEADER_TITLE, 4 },
		{ tasks, THEME_HEADER, 0 },
		{ workers, THEME_HEADER, 0 },
		{ longest, THEME_HEADER, 3 },
	};
	draw_segments(w, 0, right - 1, segs, 5, THEME_HEADER);
	draw_text(w, 0, right, cw, a->conn == CONN_ONLINE ? THEME_STATUS_CONNECTED : THEME_STATUS_DISCONNECTED, conn);
	draw_text(w, 0, right + cw + 1, clw, THEME_HEADER, clock);
}

/* ---- actions ---- */

static void set_worker_activity(struct app *a, const struct view_worker *wk, const struct view_activity *act)
{
	if (!wk || !act)
		return;
	if (strcmp(wk->activity_sid, act->sid) == 0) {
		app_message(a, false, "%s is already %s", wk->name, act->name);
		return;
	}
	app_call(a, JOB_WORKER_ACTIVITY, "workers.update", json_pack("{s:s, s:s}", "sid", wk->sid, "activity_sid", act->sid),
		 act->name, wk->name);
	app_message(a, false, "Moving %s to %s...", wk->name, act->name);
}

static int key_worker_menu(struct app *a, int key)
{
	(void)key;
	const struct view_worker *wk = selected_worker(a);
	if (!wk) {
		app_message(a, true, "No worker selected");
		return KR_HANDLED;
	}
	char title[160];
	snprintf(title, sizeof title, " Move %s to: ", wk->name);
	app_open_activity_menu(a, MENU_WORKER_ACTIVITY, wk->sid, wk->name, title);
	return KR_HANDLED;
}

static int key_worker_digit(struct app *a, int key)
{
	const struct view_worker *wk = selected_worker(a);
	const struct view_activity *act = view_activity_at(a->view, (size_t)(key - '1'));
	if (!wk) {
		app_message(a, true, "No worker selected");
		return KR_HANDLED;
	}
	if (!act) {
		app_message(a, true, "No activity %c (there are %zu)", key, view_activity_count(a->view));
		return KR_HANDLED;
	}
	set_worker_activity(a, wk, act);
	return KR_HANDLED;
}

static int super_enter(struct app *a)
{
	if (a->focus == SP_QUEUES) {
		const struct view_queue *q = view_queue_at(a->view, (size_t)a->panels[SP_QUEUES].sel);
		if (!q)
			return KR_HANDLED;
		/* the grid shows who holds this queue's tasks */
		snprintf(a->filter_text, sizeof a->filter_text, "%s", q->name);
		snprintf(a->prompt, sizeof a->prompt, "%s", q->name);
		a->focus = SP_WORKERS;
		app_message(a, false, "Workers holding %s tasks (or named like it); / edits the filter", q->name);
		a->dirty |= VIEW_DIRTY_ALL;
		return KR_HANDLED;
	}
	if (!app_require_node(a, "Changing a worker's activity"))
		return KR_HANDLED;
	return key_worker_menu(a, '\n');
}

static int key_enter(struct app *a, int key)
{
	(void)key;
	return super_enter(a);
}

static int key_sort(struct app *a, int key)
{
	if (key == 'S')
		a->sort_reverse = !a->sort_reverse;
	else
		a->sort = (enum view_sort)((a->sort + 1) % VIEW_SORT_COUNT);
	app_message(a, false, "Workers sorted by %s%s", view_sort_name(a->sort), a->sort_reverse ? ", reversed" : "");
	a->dirty |= VIEW_DIRTY_WORKERS;
	return KR_HANDLED;
}

static int key_filter(struct app *a, int key)
{
	(void)key;
	a->filter = (enum view_filter)((a->filter + 1) % VIEW_FILTER_COUNT);
	app_message(a, false, "Showing %s workers", view_filter_name(a->filter));
	a->dirty |= VIEW_DIRTY_WORKERS;
	return KR_HANDLED;
}

static int key_search(struct app *a, int key)
{
	(void)key;
	snprintf(a->prompt, sizeof a->prompt, "%s", a->filter_text);
	a->ov = OV_PROMPT;
	a->focus = SP_WORKERS;
	a->dirty |= VIEW_DIRTY_ALL;
	return KR_HANDLED;
}

static void super_menu_chosen(struct app *a, const struct menu *m, const struct menu_item *it)
{
	if (!app_require_node(a, "Changing a worker's activity"))
		return;
	set_worker_activity(a, view_worker_find(a->view, m->target), view_activity_find(a->view, it->value));
}

static int super_click(struct app *a, int idx, int row, int col)
{
	struct panel *p = &a->panels[idx];
	if (idx == SP_QUEUES) {
		int r = row / TILE_H, c = col / (a->tile_w ? a->tile_w : 1);
		if (c >= a->tiles_per_row)
			c = a->tiles_per_row - 1;
		int q = (a->queue_top + r) * a->tiles_per_row + c;
		if (q < p->rows) {
			p->sel = q;
			a->dirty |= VIEW_DIRTY_QUEUES;
		}
		return KR_HANDLED;
	}
	int r = row - p->body_y;
	if (row == 1) {
		/* a click on a column heading sorts by it */
		int xs[VIEW_SORT_COUNT] = { 2, 2 + GRID_W_NAME + 1, 2 + GRID_W_NAME + GRID_W_ACT + 2,
					    2 + GRID_W_NAME + GRID_W_ACT + GRID_W_TIME + 4 };
		for (int k = VIEW_SORT_COUNT - 1; k >= 0; k--)
			if (col >= xs[k]) {
				if ((int)a->sort == k)
					a->sort_reverse = !a->sort_reverse;
				a->sort = (enum view_sort)k;
				break;
			}
		a->dirty |= VIEW_DIRTY_WORKERS;
		return KR_HANDLED;
	}
	if (r < 0 || r >= p->h - 3 || p->top + r >= p->rows)
		return KR_HANDLED;
	p->sel = p->top + r;
	p->sel_sid[0] = '\0';
	a->dirty |= VIEW_DIRTY_WORKERS;
	return KR_HANDLED;
}

static const struct console_key super_keys[] = {
	{ { '\n', '\r', KEY_ENTER }, 0, 0, "Enter", "Activity", "Act",
	  "on a worker: change its activity; on a queue: show the workers holding its tasks", false, true, key_enter },
	{ { 'm' }, 0, 0, "m", "Menu", "Menu", "change the selected worker's activity from a menu", true, false,
	  key_worker_menu },
	{ { 0 }, '1', '9', "1-9", "Set", "Set", "move the selected worker to activity N (as in the menu)", true, true,
	  key_worker_digit },
	{ { 's', 'S' }, 0, 0, "s", "Sort", "Sort", "sort workers by the next column (S reverses)", false, true, key_sort },
	{ { 'f' }, 0, 0, "f", "Filter", "Filt", "show all, available, unavailable, busy or idle workers", false, true,
	  key_filter },
	{ { '/' }, 0, 0, "/", "Search", "Find", "filter workers by name, activity or queue", false, true, key_search },
	{ { 0 }, 0, 0, NULL, NULL, NULL, NULL, false, false, NULL },
};

const struct view_ops super_view_ops = {
	.keys = super_keys,
	.layout = super_layout,
	.draw_panel = super_draw_panel,
	.header = super_header,
	.click = super_click,
	.menu_chosen = super_menu_chosen,
	.tick_dirty = VIEW_DIRTY_QUEUES | VIEW_DIRTY_WORKERS,
};
