/*
 * theme.h - the console's colors, named by meaning.
 *
 * Drawing code never names a hue: it asks for a role (THEME_HEADER,
 * THEME_RESERVATION_EXPIRING, ...) and gets curses attributes. The roles, their
 * theme-file keys, their compiled-in default and monochrome styles live in one
 * X-macro list (THEME_ROLES) so they cannot drift apart.
 *
 * Theme files (themes/NAME.theme) are lines of `key = style`, `#` comments and
 * blank lines. A style uses tmux's grammar: comma- or space-separated items
 * fg=COLOUR, bg=COLOUR, bold, dim, underscore, blink, reverse, italics, none
 * (or default: no attributes). COLOUR is default, black..white,
 * brightblack..brightwhite, colour0..colour255 (or color0..), or #rrggbb.
 * Unknown keys are skipped with a warning; missing keys keep the compiled-in
 * default; a bad style rejects the whole file with an error naming its line.
 *
 * Colors are mapped down to what the terminal has (256, 16 or 8 colors): an
 * #rrggbb picks the nearest xterm-256 entry, and so on down. The parsing and
 * the mapping are pure (no curses) so they are tested without a terminal;
 * theme_apply and theme_attr are the only curses-facing functions.
 */
#ifndef SWB_THEME_H
#define SWB_THEME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swb_error.h"

/*
 * X(ID, key, default style, monochrome style, what it colors)
 * The monochrome style is used with NO_COLOR, on terminals without colors, and
 * by the shipped mono theme; it must not rely on colors.
 */
#define THEME_ROLES(X)                                                                                          \
	X(TEXT, "text", "default", "none", "ordinary text in panels")                                            \
	X(TEXT_DIM, "text_dim", "fg=brightblack", "dim", "secondary text: SIDs, hints, empty-panel notes")      \
	X(HEADER, "header", "fg=white,bg=blue", "reverse", "the top line")                                      \
	X(HEADER_TITLE, "header_title", "fg=brightwhite,bg=blue,bold", "reverse,bold", "names in the top line") \
	X(STATUS_CONNECTED, "status_connected", "fg=brightgreen,bg=blue,bold", "reverse,bold",                   \
	  "connection state when online")                                                                        \
	X(STATUS_DISCONNECTED, "status_disconnected", "fg=brightwhite,bg=red,bold", "bold,underscore",               \
	  "connection state when offline or refused")                                                            \
	X(BANNER, "banner", "fg=black,bg=yellow,bold", "reverse,bold", "the reconnecting banner")                \
	X(PANEL_BORDER, "panel_border", "fg=blue", "none", "panel frames")                                      \
	X(PANEL_TITLE, "panel_title", "fg=cyan,bold", "bold", "panel titles")                                   \
	X(PANEL_TITLE_FOCUS, "panel_title_focus", "fg=black,bg=cyan,bold", "reverse,bold",                      \
	  "the focused panel's title")                                                                           \
	X(COLUMN_HEADER, "column_header", "fg=black,bg=green", "underscore", "column headings in tables")        \
	X(SELECTION, "selection", "fg=black,bg=cyan", "reverse", "the selected row of the focused panel")       \
	X(SELECTION_UNFOCUSED, "selection_unfocused", "fg=black,bg=white", "underscore",                        \
	  "the selected row of another panel")                                                                   \
	X(FUNCTION_KEY, "function_key", "fg=white,bg=black,bold", "bold", "keys in the bottom bar")             \
	X(FUNCTION_LABEL, "function_label", "fg=black,bg=cyan", "reverse", "labels in the bottom bar")          \
	X(FUNCTION_DISABLED, "function_disabled", "fg=brightblack,bg=cyan", "dim",                               \
	  "labels of keys that need the node while it is unreachable")                                           \
	X(ACTIVITY_AVAILABLE, "activity_available", "fg=green,bold", "bold", "available activities")            \
	X(ACTIVITY_UNAVAILABLE, "activity_unavailable", "fg=red", "none", "unavailable activities")             \
	X(RESERVATION_NEW, "reservation_new", "fg=black,bg=yellow,bold", "reverse,bold",                        \
	  "a reservation that just arrived")                                                                     \
	X(RESERVATION_PENDING, "reservation_pending", "fg=yellow", "bold", "pending reservations")              \
	X(RESERVATION_EXPIRING, "reservation_expiring", "fg=brightred,bold", "bold,underscore",                  \
	  "pending reservations about to time out")                                                              \
	X(RESERVATION_ASSIGNED, "reservation_assigned", "fg=green", "none", "accepted (assigned) tasks")         \
	X(RESERVATION_WRAPPING, "reservation_wrapping", "fg=magenta", "dim", "tasks in wrap-up")                \
	X(QUEUE_OK, "queue_ok", "fg=green", "none", "queues within their service level")                        \
	X(QUEUE_WARNING, "queue_warning", "fg=yellow,bold", "bold", "queues near their threshold")              \
	X(QUEUE_CRITICAL, "queue_critical", "fg=brightwhite,bg=red,bold", "reverse,bold",                       \
	  "queues past their threshold or without workers")                                                     \
	X(SPARK_ARRIVALS, "sparkline_arrivals", "fg=cyan", "none", "the arrivals sparkline")                    \
	X(SPARK_ABANDONS, "sparkline_abandons", "fg=red", "bold", "the abandons sparkline")                     \
	X(MESSAGE, "message", "fg=cyan", "none", "the message line: results of actions")                        \
	X(MESSAGE_ERROR, "message_error", "fg=brightred,bold", "bold", "the message line: errors")              \
	X(MENU, "menu", "fg=black,bg=white", "reverse", "pop-up menus and overlays")                            \
	X(MENU_SELECTION, "menu_selection", "fg=brightwhite,bg=blue,bold", "bold,underscore",                   \
	  "the chosen item of a pop-up menu")                                                                    \
	X(MENU_KEY, "menu_key", "fg=blue,bg=white,bold", "reverse,bold", "key hints inside menus and help")     \
	X(EVENT_TIME, "event_time", "fg=brightblack", "dim", "times in the events pane")                        \
	X(EVENT_TYPE, "event_type", "fg=cyan", "bold", "event types in the events pane")

enum theme_role {
#define THEME_X_ENUM(id, key, def, mono, what) THEME_##id,
	THEME_ROLES(THEME_X_ENUM)
#undef THEME_X_ENUM
	THEME_ROLE_COUNT
};

/* Colors: THEME_COLOR_DEFAULT, a palette index 0..255, or THEME_COLOR_RGB | 0xrrggbb. */
#define THEME_COLOR_DEFAULT (-1)
#define THEME_COLOR_RGB 0x1000000

/* Attribute bits (mapped to curses A_* by theme_apply). */
enum {
	THEME_ATTR_BOLD = 1 << 0,
	THEME_ATTR_DIM = 1 << 1,
	THEME_ATTR_UNDERSCORE = 1 << 2,
	THEME_ATTR_BLINK = 1 << 3,
	THEME_ATTR_REVERSE = 1 << 4,
	THEME_ATTR_ITALICS = 1 << 5,
};

struct theme_style {
	int32_t fg, bg;
	unsigned attrs;
};

/* Longest theme name kept, and longest theme file read (a theme is a few KiB). */
#define THEME_NAME_MAX 64
#define THEME_FILE_MAX (256 * 1024)

struct theme {
	char name[THEME_NAME_MAX];
	struct theme_style role[THEME_ROLE_COUNT];
};

/* The role's key in theme files ("reservation_expiring"), and what it colors. */
const char *theme_role_key(enum theme_role r);
const char *theme_role_help(enum theme_role r);

/* Fills t with the compiled-in default theme (name "default"). */
void theme_default(struct theme *t);

/* Fills t with the compiled-in monochrome theme (name "mono"). */
void theme_mono(struct theme *t);

/*
 * Parses one style ("fg=brightred,bg=#1c1c1c,bold") into out. On error returns
 * SWB_EINVAL with a message naming the bad item; out is unchanged.
 */
enum swb_code theme_parse_style(const char *s, struct theme_style *out, struct swb_err *err);

/*
 * Applies the `key = style` lines of text to t (which keeps its roles where the
 * text says nothing). origin names the text in messages ("themes/x.theme").
 * Unknown keys are skipped, each noted in warn ("origin:LINE: unknown role
 * 'x' (skipped)"; warn may be NULL; truncated at wlen). A bad line returns
 * SWB_EINVAL with "origin:LINE: ..." in err and leaves t unchanged.
 */
enum swb_code theme_parse(const char *text, const char *origin, struct theme *t, char *warn, size_t wlen,
			  struct swb_err *err);

/*
 * Finds theme name: a path if it contains '/', else NAME.theme in
 * $XDG_CONFIG_HOME/switchboard/themes (default ~/.config/...), then in the
 * installed themes directory (SWB_THEMES_DIR, or $SWB_THEMES_DIR when set).
 * Writes the path into path (len bytes). SWB_ENOTFOUND names where it looked.
 */
enum swb_code theme_find(const char *name, char *path, size_t len, struct swb_err *err);

/*
 * Loads theme name (theme_find, then theme_parse over the compiled-in default)
 * into t. On failure t holds the default theme and err says why; warnings as
 * theme_parse.
 */
enum swb_code theme_load(const char *name, struct theme *t, char *warn, size_t wlen, struct swb_err *err);

/*
 * The palette index to use for color on a terminal with ncolors colors (8, 16,
 * 88, 256 or more), or THEME_COLOR_DEFAULT. On 8-color terminals a bright color
 * maps to its base color with *brighten set (the caller adds bold to a
 * foreground); brighten may be NULL. Below 8 colors everything is the default.
 */
int theme_map_color(int32_t color, int ncolors, bool *brighten);

/* The xterm-256 palette entry nearest to 0xrrggbb among indexes [lo, hi). */
int theme_nearest(uint32_t rgb, int lo, int hi);

/* ---- curses ---- */

/*
 * Makes t the active theme: with use_color, one color pair per role mapped to
 * the terminal's COLORS (start_color must have run); without, attributes only.
 */
void theme_apply(const struct theme *t, bool use_color);

/* The curses attributes (color pair and A_* bits) of role in the active theme. */
unsigned long theme_attr(enum theme_role r);

#endif
