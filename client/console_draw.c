/*
 * console_draw.c - drawing helpers shared by the console's panels: UTF-8
 * aware clipped text, filled rows, framed panels. Colors come only from theme
 * roles.
 */
#define _GNU_SOURCE
#include "console_internal.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Decodes one UTF-8 character at s (n bytes left); returns its length (1 for a bad byte) and its width. */
static size_t next_char(const char *s, size_t n, int *width)
{
	mbstate_t st;
	memset(&st, 0, sizeof st);
	wchar_t wc;
	size_t len = mbrtowc(&wc, s, n, &st);
	if (len == (size_t)-1 || len == (size_t)-2 || len == 0) {
		*width = (unsigned char)*s < 0x20 ? 0 : 1;
		return 1;
	}
	int wdt = wcwidth(wc);
	*width = wdt < 0 ? 0 : wdt;
	return len;
}

int draw_width(const char *s)
{
	int total = 0;
	size_t n = strlen(s);
	while (n) {
		int w;
		size_t len = next_char(s, n, &w);
		total += w;
		s += len;
		n -= len;
	}
	return total;
}

int draw_text(WINDOW *w, int y, int x, int maxw, enum theme_role role, const char *s)
{
	if (maxw <= 0 || !s)
		return 0;
	int total = draw_width(s);
	bool cut = total > maxw;
	int room = cut ? maxw - 1 : maxw;
	size_t n = strlen(s), bytes = 0;
	int used = 0;
	while (bytes < n) {
		int cw;
		size_t len = next_char(s + bytes, n - bytes, &cw);
		if (used + cw > room)
			break;
		used += cw;
		bytes += len;
	}
	wattrset(w, (int)theme_attr(role));
	/* control characters never reach the terminal */
	char buf[1024];
	size_t k = 0;
	for (size_t i = 0; i < bytes && k + 1 < sizeof buf; i++)
		buf[k++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	buf[k] = '\0';
	mvwaddstr(w, y, x, buf);
	if (cut) {
		/* cchar for the ellipsis; ASCII '~' when the locale cannot show it */
		if (MB_CUR_MAX > 1)
			waddstr(w, "\u2026");
		else
			waddch(w, '~');
		used++;
	}
	wattrset(w, 0);
	return used;
}

int draw_text_right(WINDOW *w, int y, int x, int maxw, enum theme_role role, const char *s)
{
	int wd = draw_width(s);
	if (wd > maxw)
		wd = maxw;
	return draw_text(w, y, x + maxw - wd, maxw, role, s);
}

void draw_fill(WINDOW *w, int y, int x, int n, enum theme_role role)
{
	if (n <= 0)
		return;
	wattrset(w, (int)theme_attr(role));
	mvwhline(w, y, x, ' ', n);
	wattrset(w, 0);
}

void draw_frame(WINDOW *w, const char *title, bool focus, const char *note, enum theme_role note_role)
{
	int h, wd;
	getmaxyx(w, h, wd);
	(void)h;
	wattrset(w, (int)theme_attr(THEME_PANEL_BORDER));
	box(w, 0, 0);
	wattrset(w, 0);
	if (title && *title) {
		char t[160];
		snprintf(t, sizeof t, " %s ", title);
		draw_text(w, 0, 2, wd - 4, focus ? THEME_PANEL_TITLE_FOCUS : THEME_PANEL_TITLE, t);
	}
	if (note && *note) {
		char t[160];
		snprintf(t, sizeof t, " %s ", note);
		int nw = draw_width(t);
		int tw = title ? draw_width(title) + 4 : 2;
		if (nw < wd - tw - 4)
			draw_text(w, 0, wd - 2 - nw, nw, note_role, t);
	}
}

int draw_segments(WINDOW *w, int y, int width, const struct draw_seg *segs, int n, enum theme_role sep_role)
{
	bool keep[16];
	if (n > 16)
		n = 16;
	for (int i = 0; i < n; i++)
		keep[i] = segs[i].text && *segs[i].text;
	for (;;) {
		int total = 0, shown = 0, worst = -1;
		for (int i = 0; i < n; i++) {
			if (!keep[i])
				continue;
			total += draw_width(segs[i].text) + (shown++ ? 1 : 0);
			if (segs[i].drop > 0 && (worst < 0 || segs[i].drop > segs[worst].drop))
				worst = i;
		}
		if (total <= width || worst < 0)
			break;
		keep[worst] = false;
	}
	int x = 0, shown = 0;
	for (int i = 0; i < n && x < width; i++) {
		if (!keep[i])
			continue;
		if (shown++)
			x += draw_text(w, y, x, width - x, sep_role, "|");
		x += draw_text(w, y, x, width - x, segs[i].role, segs[i].text);
	}
	return x;
}

const char *draw_bullet(bool utf8)
{
	return utf8 ? "\u25cf" : "*";
}

enum theme_role activity_role(bool available)
{
	return available ? THEME_ACTIVITY_AVAILABLE : THEME_ACTIVITY_UNAVAILABLE;
}
