/*
 * console_internal.h - what the console's modules share: the app state, the
 * panel and key-table types, and the drawing helpers. Only console_*.c
 * include it; the public face is console_app.h.
 *
 * Shape (after htop): the screen is a header line, an optional banner, the
 * view's panels, a message line and the function bar. Each panel draws itself
 * into its own curses window and is redrawn only when a VIEW_DIRTY_* bit it
 * listens to is set. Keys go through a table per view (key, label, action,
 * whether it needs the node); the function bar and the help overlay are drawn
 * from the same table, and a mouse click on the bar becomes that key.
 */
#ifndef SWB_CONSOLE_INTERNAL_H
#define SWB_CONSOLE_INTERNAL_H

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "console_app.h"
#include "console_opts.h"
#include "console_rpc.h"
#include "swb_client.h"
#include "theme.h"
#include "view_grid.h"
#include "view_state.h"

/* The smallest screen the layout supports; below it the console says so. */
#define CONSOLE_MIN_COLS 80
#define CONSOLE_MIN_ROWS 24

/* Redraw at most this often while events stream in (keys redraw at once). */
#define CONSOLE_FRAME_MS 50

/* Queue statistics: polled this often, and refreshed at most this often after events. */
#define CONSOLE_STATS_POLL_MS 2000
#define CONSOLE_STATS_EVENT_MS 300

/* Events drained per loop turn before input gets another look. */
#define CONSOLE_EVENTS_PER_TURN 2000

/* Call timeouts: actions the agent waits on, background refreshes. */
#define CONSOLE_ACTION_TIMEOUT_MS 5000
#define CONSOLE_FETCH_TIMEOUT_MS 8000

/* How long a message stays on the message line, and a new reservation stays highlighted. */
#define CONSOLE_MESSAGE_MS 8000
#define CONSOLE_NEW_MS 3000

/* Before the first snapshot, how long a silent node gets before the banner says so. */
#define CONSOLE_CONNECT_GRACE_MS 1500

/* Pop-up menu items (activities, plus "keep"). */
#define CONSOLE_MENU_MAX 64

/* Supervisor: active tasks whose holder is looked up after a snapshot. */
#define CONSOLE_HOLDINGS_MAX 5000

/* Supervisor: pages of 1000 events read per type to seed the sparklines. */
#define CONSOLE_HISTORY_PAGES 10

enum key_result { KR_IGNORED = 0, KR_HANDLED = 1, KR_QUIT = 2 };

struct app;

/* Key codes per key-table entry (aliases such as KEY_UP, 'k'). */
#define CONSOLE_KEY_ALIASES 6

/* Typed characters at or above KEY_MIN are passed on shifted by this, clear of curses key codes. */
#define CONSOLE_CHAR_OFFSET 0x1000000

struct console_key {
	int keys[CONSOLE_KEY_ALIASES]; /* key codes (0-terminated) */
	int lo, hi;           /* or a range of keys (lo..hi), e.g. '1'..'9' */
	const char *name;     /* as shown: "a", "Enter", "1-9" */
	const char *label;    /* "Accept" */
	const char *short_label; /* for narrow screens */
	const char *help;     /* one line in the help overlay */
	bool needs_node;      /* refused, with the reason, while the node is unreachable */
	bool in_bar;          /* shown in the function bar */
	int (*fn)(struct app *a, int key);
};

enum conn_state {
	CONN_STARTING, /* no snapshot yet */
	CONN_ONLINE,
	CONN_OFFLINE, /* the event stream was lost: reconnecting */
	CONN_REFUSED, /* the node refuses the token */
};

enum overlay { OV_NONE, OV_HELP, OV_MENU, OV_TEXT, OV_PROMPT };

enum menu_purpose { MENU_REJECT, MENU_MY_ACTIVITY, MENU_WORKER_ACTIVITY };

struct menu_item {
	char label[VIEW_NAME_MAX + 16];
	char value[VIEW_SID_MAX]; /* an activity SID; "" for "keep" */
	enum theme_role role;
};

struct menu {
	enum menu_purpose purpose;
	char title[128];
	char target[VIEW_SID_MAX]; /* the reservation or worker it acts on */
	char target_name[VIEW_NAME_MAX];
	struct menu_item items[CONSOLE_MENU_MAX];
	int n, sel;
	int y, x, h, w; /* where it was drawn (for clicks) */
};

struct panel {
	WINDOW *win;
	int y, x, h, w;
	const char *title;
	unsigned listens; /* VIEW_DIRTY_* bits that redraw it */
	bool focusable;
	int sel, top;       /* selected row and first row shown */
	int rows;           /* rows of content last drawn */
	int body_y;         /* first content row inside the window */
	char sel_sid[VIEW_SID_MAX]; /* the selected item's SID, kept across reorders */
};

/* One drawn item of the function bar, for mouse clicks. */
struct bar_hit {
	int x0, x1;
	int key;
};

enum agent_panel { AP_RESERVATIONS, AP_EVENTS, AP_ACTIVITIES, AP_QUEUES, AP_COUNT };
enum super_panel { SP_QUEUES, SP_WORKERS, SP_COUNT };
#define CONSOLE_PANELS_MAX 4

struct app {
	struct console_opts *o;
	swb_client *client;
	struct console_rpc *rpc;
	struct view *view;
	char url[512];
	bool utf8, color;
	char theme_note[512]; /* a theme problem, shown at start */

	/* connection */
	enum conn_state conn;
	int64_t conn_since;        /* local ms when conn last changed */
	char conn_msg[SWB_ERR_MSG_MAX];
	bool following;
	bool snapshot_inflight;
	int64_t next_snapshot_ms;  /* local ms */
	int64_t started_ms;
	int64_t clock_offset_ms;   /* node clock minus ours */
	struct console_token *renew; /* the console's own token, renewed when due; NULL: a given token */

	/* refreshes */
	bool stats_inflight, stats_wanted;
	int64_t last_stats_ms; /* local ms the last poll was sent */
	bool queues_inflight, acts_inflight;

	/* screen */
	int rows, cols;
	bool too_small, need_layout, need_clear;
	bool banner_shown;
	WINDOW *w_header, *w_banner, *w_msg, *w_bar, *w_overlay;
	struct panel panels[CONSOLE_PANELS_MAX];
	int npanels, focus;
	unsigned dirty;
	bool urgent;          /* redraw now (a key was pressed) */
	int64_t last_frame_ms;
	int64_t last_second;  /* the clock second last drawn */
	long frames;
	struct bar_hit bar[24];
	int nbar;

	/* message line */
	char msg[256];
	bool msg_error;
	int64_t msg_until;

	/* overlays */
	enum overlay ov;
	struct menu menu;
	char **text_lines; /* OV_TEXT */
	int text_n, text_top;
	char text_title[128];
	char prompt[128];     /* OV_PROMPT: the filter being typed */

	/* agent */
	uint64_t seen_events; /* view_event_total at the last draw of the events pane */

	/* supervisor */
	enum view_sort sort;
	bool sort_reverse;
	enum view_filter filter;
	char filter_text[128];
	int queue_top;        /* first queue tile row shown */
	int tiles_per_row, tile_rows_shown;
	int tile_w, tile_h;
	uint64_t history_seq; /* snapshot seq the history was seeded up to */
	unsigned history_gen; /* snapshots seen: only the latest one's history is applied */

	bool quit;
};

/* ---- console_app.c: shared behaviour ---- */

/* The node's clock now (ours corrected by the offset measured with session.hello). */
int64_t app_now(const struct app *a);

/* Shows msg on the message line (error: in the error color) for CONSOLE_MESSAGE_MS. */
void app_message(struct app *a, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* True when actions can reach the node; otherwise shows why not (naming what) and returns false. */
bool app_require_node(struct app *a, const char *what);

/* Submits an action (an urgent call) whose answer the app handles by kind. */
void app_call(struct app *a, int kind, const char *op, json_t *args_stolen, const char *ref, const char *ref2);

/* Opens the activity menu for purpose (reject / my activity / a worker's activity). */
void app_open_activity_menu(struct app *a, enum menu_purpose purpose, const char *target, const char *target_name,
			    const char *title);

/* Opens a scrollable text overlay with lines (copied). */
void app_open_text(struct app *a, const char *title, char **lines, int n);

/* The panel under screen position (y, x), or -1. */
int app_panel_at(const struct app *a, int y, int x);

/* Generic list movement for the focused panel (arrows, vi keys, pages); KR_IGNORED when not a move. */
int app_move_key(struct app *a, struct panel *p, int key, int count);

/* ---- call kinds (answers handled in console_app.c) ---- */
enum {
	JOB_SNAPSHOT = 1,
	JOB_HELLO,
	JOB_STATS,
	JOB_HOLDINGS,
	JOB_HISTORY,
	JOB_QUEUES,
	JOB_ACTIVITIES,
	JOB_ACCEPT,
	JOB_REJECT,
	JOB_WRAP,
	JOB_COMPLETE,
	JOB_MY_ACTIVITY,
	JOB_WORKER_ACTIVITY,
};

/* ---- console_draw.c ---- */

/* Display width of UTF-8 s (control bytes count 0, bad bytes 1). */
int draw_width(const char *s);

/*
 * Writes s at (y, x) in role's attributes, clipped to maxw columns (an
 * ellipsis marks a cut). Returns the columns written.
 */
int draw_text(WINDOW *w, int y, int x, int maxw, enum theme_role role, const char *s);

/* Same, right-aligned in the maxw columns ending before x + maxw. */
int draw_text_right(WINDOW *w, int y, int x, int maxw, enum theme_role role, const char *s);

/* Paints columns [x, x + n) of row y blank in role. */
void draw_fill(WINDOW *w, int y, int x, int n, enum theme_role role);

/* A frame around w with title (focused: the focus color) and an optional note at the right. */
void draw_frame(WINDOW *w, const char *title, bool focus, const char *note, enum theme_role note_role);

/* A piece of a header line; when the line is too long, higher `drop` values go first (0: never). */
struct draw_seg {
	const char *text;
	enum theme_role role;
	int drop;
};

/*
 * Draws segs on row y from column 0, separated by "|" in sep_role, within
 * width columns, leaving out segments (highest drop first) until the rest fit.
 * Returns the columns used.
 */
int draw_segments(WINDOW *w, int y, int width, const struct draw_seg *segs, int n, enum theme_role sep_role);

/* The bullet used for states ("●", or "*" without UTF-8). */
const char *draw_bullet(bool utf8);

/* ---- console_agent.c / console_super.c: the two views ---- */

struct view_ops {
	const struct console_key *keys;
	void (*layout)(struct app *a, int top, int bottom); /* panels between rows top and bottom (exclusive) */
	void (*draw_panel)(struct app *a, int idx);
	void (*header)(struct app *a, WINDOW *w);
	int (*click)(struct app *a, int panel, int row, int col); /* row/col inside the panel window */
	void (*menu_chosen)(struct app *a, const struct menu *m, const struct menu_item *it);
	unsigned tick_dirty; /* panels redrawn every second (clocks, countdowns) */
};

extern const struct view_ops agent_view_ops;
extern const struct view_ops super_view_ops;

/* Agent: the key attributes of a task as "k=v k=v" (by --show-attrs, else every scalar). */
void agent_attrs_text(const struct app *a, json_t *attrs, char *out, size_t len);

/* Agent: the lines of the task overlay for reservation r (malloc'd strings, *n set). */
char **agent_task_lines(const struct app *a, const struct view_reservation *r, int *n);

/* The available/unavailable role of an activity. */
enum theme_role activity_role(bool available);

#endif
