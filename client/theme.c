/*
 * theme.c - color roles: the compiled-in themes, the theme-file parser (tmux
 * style grammar), the search path, mapping colors down to the terminal, and
 * turning a theme into curses color pairs. See theme.h.
 */
#define _GNU_SOURCE
#include "theme.h"

#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SWB_THEMES_DIR
#define SWB_THEMES_DIR "/usr/local/share/switchboard/themes"
#endif

static const struct {
	const char *key, *def, *mono, *help;
} roles[THEME_ROLE_COUNT] = {
#define THEME_X_TABLE(id, key, def, mono, what) [THEME_##id] = { key, def, mono, what },
	THEME_ROLES(THEME_X_TABLE)
#undef THEME_X_TABLE
};

const char *theme_role_key(enum theme_role r)
{
	return r < THEME_ROLE_COUNT ? roles[r].key : "?";
}

const char *theme_role_help(enum theme_role r)
{
	return r < THEME_ROLE_COUNT ? roles[r].help : "?";
}

/* ---- colors ---- */

static const char *const base_names[8] = { "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white" };

/* xterm's 16 system colors. */
static const uint32_t ansi_rgb[16] = { 0x000000, 0xcd0000, 0x00cd00, 0xcdcd00, 0x0000ee, 0xcd00cd,
				       0x00cdcd, 0xe5e5e5, 0x7f7f7f, 0xff0000, 0x00ff00, 0xffff00,
				       0x5c5cff, 0xff00ff, 0x00ffff, 0xffffff };

static const int cube_levels[6] = { 0x00, 0x5f, 0x87, 0xaf, 0xd7, 0xff };

/* The RGB value of xterm-256 palette entry i. */
static uint32_t palette_rgb(int i)
{
	if (i < 16)
		return ansi_rgb[i];
	if (i < 232) {
		int k = i - 16;
		return (uint32_t)(cube_levels[k / 36] << 16 | cube_levels[(k / 6) % 6] << 8 | cube_levels[k % 6]);
	}
	int g = 8 + (i - 232) * 10;
	return (uint32_t)(g << 16 | g << 8 | g);
}

static long rgb_dist(uint32_t a, uint32_t b)
{
	long dr = (long)(a >> 16 & 255) - (long)(b >> 16 & 255);
	long dg = (long)(a >> 8 & 255) - (long)(b >> 8 & 255);
	long db = (long)(a & 255) - (long)(b & 255);
	/* weighted toward green, as the eye is */
	return 3 * dr * dr + 4 * dg * dg + 2 * db * db;
}

int theme_nearest(uint32_t rgb, int lo, int hi)
{
	int best = lo;
	long bestd = -1;
	for (int i = lo; i < hi; i++) {
		long d = rgb_dist(rgb, palette_rgb(i));
		if (bestd < 0 || d < bestd) {
			bestd = d;
			best = i;
		}
	}
	return best;
}

int theme_map_color(int32_t color, int ncolors, bool *brighten)
{
	if (brighten)
		*brighten = false;
	if (color == THEME_COLOR_DEFAULT || ncolors < 8)
		return THEME_COLOR_DEFAULT;
	int idx;
	if (color & THEME_COLOR_RGB) {
		uint32_t rgb = (uint32_t)color & 0xffffff;
		idx = ncolors >= 256 ? theme_nearest(rgb, 16, 256) : theme_nearest(rgb, 0, 16);
		if (ncolors >= 256) {
			/* an exact system color is as good and survives palette changes */
			int sys = theme_nearest(rgb, 0, 16);
			if (palette_rgb(sys) == rgb)
				idx = sys;
		}
	} else {
		idx = color;
	}
	if (idx >= ncolors || (ncolors < 256 && idx >= 16)) {
		/* beyond the terminal: the nearest system color */
		idx = theme_nearest(palette_rgb(idx), 0, 16);
	}
	if (ncolors < 16 && idx >= 8) {
		if (brighten)
			*brighten = true;
		idx -= 8;
	}
	return idx;
}

/* Parses a colour word; false when it is not one. */
static bool parse_color(const char *s, int32_t *out)
{
	if (strcmp(s, "default") == 0 || strcmp(s, "terminal") == 0) {
		*out = THEME_COLOR_DEFAULT;
		return true;
	}
	for (int i = 0; i < 8; i++) {
		if (strcmp(s, base_names[i]) == 0) {
			*out = i;
			return true;
		}
		if (strncmp(s, "bright", 6) == 0 && strcmp(s + 6, base_names[i]) == 0) {
			*out = i + 8;
			return true;
		}
	}
	const char *num = NULL;
	if (strncmp(s, "colour", 6) == 0)
		num = s + 6;
	else if (strncmp(s, "color", 5) == 0)
		num = s + 5;
	if (num) {
		if (!*num || strlen(num) > 3)
			return false;
		for (const char *p = num; *p; p++)
			if (!isdigit((unsigned char)*p))
				return false;
		int v = atoi(num);
		if (v > 255)
			return false;
		*out = v;
		return true;
	}
	if (s[0] == '#' && strlen(s) == 7) {
		for (int i = 1; i < 7; i++)
			if (!isxdigit((unsigned char)s[i]))
				return false;
		*out = THEME_COLOR_RGB | (int32_t)strtol(s + 1, NULL, 16);
		return true;
	}
	return false;
}

static const struct {
	const char *name;
	unsigned bit;
} attr_names[] = {
	{ "bold", THEME_ATTR_BOLD },	     { "bright", THEME_ATTR_BOLD },	    { "dim", THEME_ATTR_DIM },
	{ "underscore", THEME_ATTR_UNDERSCORE }, { "underline", THEME_ATTR_UNDERSCORE }, { "blink", THEME_ATTR_BLINK },
	{ "reverse", THEME_ATTR_REVERSE },	     { "italics", THEME_ATTR_ITALICS },
};

enum swb_code theme_parse_style(const char *s, struct theme_style *out, struct swb_err *err)
{
	struct theme_style st = { THEME_COLOR_DEFAULT, THEME_COLOR_DEFAULT, 0 };
	char item[64];
	const char *p = s;
	bool any = false;
	while (*p) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, ", \t");
		if (n >= sizeof item)
			return swb_err_set(err, SWB_EINVAL, "style item '%.20s...' is too long", p);
		memcpy(item, p, n);
		item[n] = '\0';
		p += n;
		any = true;
		for (char *q = item; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		if (strncmp(item, "fg=", 3) == 0 || strncmp(item, "bg=", 3) == 0) {
			int32_t c;
			if (!parse_color(item + 3, &c))
				return swb_err_set(err, SWB_EINVAL,
						   "unknown colour '%s' (use default, red, brightred, colour0-colour255 or #rrggbb)",
						   item + 3);
			if (item[0] == 'f')
				st.fg = c;
			else
				st.bg = c;
			continue;
		}
		if (strcmp(item, "none") == 0 || strcmp(item, "default") == 0) {
			st.attrs = 0;
			continue;
		}
		bool neg = strncmp(item, "no", 2) == 0;
		const char *name = neg ? item + 2 : item;
		bool found = false;
		for (size_t i = 0; i < sizeof attr_names / sizeof attr_names[0]; i++) {
			if (strcmp(name, attr_names[i].name) == 0) {
				if (neg)
					st.attrs &= ~attr_names[i].bit;
				else
					st.attrs |= attr_names[i].bit;
				found = true;
			}
		}
		if (!found)
			return swb_err_set(err, SWB_EINVAL,
					   "unknown style item '%s' (expected fg=, bg=, bold, dim, underscore, blink, reverse, "
					   "italics or none)",
					   item);
	}
	if (!any)
		return swb_err_set(err, SWB_EINVAL, "empty style (write 'none' for no attributes)");
	*out = st;
	return SWB_OK;
}

static void fill_from(struct theme *t, const char *name, bool mono)
{
	snprintf(t->name, sizeof t->name, "%s", name);
	for (int r = 0; r < THEME_ROLE_COUNT; r++) {
		struct swb_err err;
		if (theme_parse_style(mono ? roles[r].mono : roles[r].def, &t->role[r], &err) != SWB_OK)
			abort(); /* the compiled-in table is ours: tests parse every entry */
	}
}

void theme_default(struct theme *t)
{
	fill_from(t, "default", false);
}

void theme_mono(struct theme *t)
{
	fill_from(t, "mono", true);
}

static void warn_add(char *warn, size_t wlen, const char *fmt, const char *origin, int line, const char *key)
{
	if (!warn || !wlen)
		return;
	size_t used = strlen(warn);
	if (used + 1 >= wlen)
		return;
	snprintf(warn + used, wlen - used, fmt, used ? "\n" : "", origin, line, key);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

enum swb_code theme_parse(const char *text, const char *origin, struct theme *t, char *warn, size_t wlen,
			  struct swb_err *err)
{
	struct theme out = *t;
	char buf[512];
	int line = 0;
	const char *p = text;
	if (warn && wlen)
		warn[0] = '\0';
	while (*p) {
		size_t n = strcspn(p, "\n");
		line++;
		if (n >= sizeof buf)
			return swb_err_set(err, SWB_EINVAL, "%s:%d: line too long", origin, line);
		memcpy(buf, p, n);
		buf[n] = '\0';
		p += n;
		if (*p == '\n')
			p++;
		char *s = trim(buf);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq)
			return swb_err_set(err, SWB_EINVAL, "%s:%d: expected 'key = style', got '%.60s'", origin, line, s);
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
			val[vl - 1] = '\0';
			val++;
		}
		if (strcmp(key, "name") == 0) {
			snprintf(out.name, sizeof out.name, "%s", val);
			continue;
		}
		int r;
		for (r = 0; r < THEME_ROLE_COUNT; r++)
			if (strcmp(key, roles[r].key) == 0)
				break;
		if (r == THEME_ROLE_COUNT) {
			warn_add(warn, wlen, "%s%s:%d: unknown role '%.60s' (skipped)", origin, line, key);
			continue;
		}
		struct swb_err e2;
		if (theme_parse_style(val, &out.role[r], &e2) != SWB_OK)
			return swb_err_set(err, SWB_EINVAL, "%s:%d: %s: %s", origin, line, key, e2.msg);
	}
	*t = out;
	return SWB_OK;
}

static bool readable(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	fclose(f);
	return true;
}

enum swb_code theme_find(const char *name, char *path, size_t len, struct swb_err *err)
{
	if (!name || !*name)
		return swb_err_set(err, SWB_EINVAL, "empty theme name");
	if (strchr(name, '/')) {
		snprintf(path, len, "%s", name);
		if (!readable(path))
			return swb_err_set(err, SWB_ENOTFOUND, "theme file %s: %s", name, strerror(errno));
		return SWB_OK;
	}
	char user[1024], installed[1024];
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(user, sizeof user, "%s/switchboard/themes", xdg);
	else
		snprintf(user, sizeof user, "%s/.config/switchboard/themes", home ? home : ".");
	const char *env_dir = getenv("SWB_THEMES_DIR");
	snprintf(installed, sizeof installed, "%s", env_dir && *env_dir ? env_dir : SWB_THEMES_DIR);
	const char *dirs[] = { user, installed };
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, len, "%s/%s.theme", dirs[i], name);
		if (readable(path))
			return SWB_OK;
	}
	return swb_err_set(err, SWB_ENOTFOUND, "no theme '%s' (looked for %s.theme in %s and %s)", name, name, user,
			   installed);
}

enum swb_code theme_load(const char *name, struct theme *t, char *warn, size_t wlen, struct swb_err *err)
{
	char path[1100];
	theme_default(t);
	if (warn && wlen)
		warn[0] = '\0';
	enum swb_code rc = theme_find(name, path, sizeof path, err);
	if (rc != SWB_OK)
		return rc;
	FILE *f = fopen(path, "r");
	if (!f)
		return swb_err_set(err, SWB_EIO, "theme file %s: %s", path, strerror(errno));
	char *text = malloc(THEME_FILE_MAX + 1);
	size_t n = text ? fread(text, 1, THEME_FILE_MAX + 1, f) : 0;
	fclose(f);
	if (!text)
		return swb_err_set(err, SWB_ENOMEM, "out of memory reading %s", path);
	if (n > THEME_FILE_MAX) {
		free(text);
		return swb_err_set(err, SWB_ETOOBIG, "theme file %s is over %d bytes", path, THEME_FILE_MAX);
	}
	text[n] = '\0';
	struct theme tmp;
	theme_default(&tmp);
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	snprintf(tmp.name, sizeof tmp.name, "%.*s", (int)strcspn(base, "."), base);
	rc = theme_parse(text, path, &tmp, warn, wlen, err);
	free(text);
	if (rc == SWB_OK)
		*t = tmp;
	return rc;
}

/* ---- curses ---- */

static unsigned long role_attr[THEME_ROLE_COUNT];

static unsigned long curses_attrs(unsigned a)
{
	unsigned long v = 0;
	if (a & THEME_ATTR_BOLD)
		v |= A_BOLD;
	if (a & THEME_ATTR_DIM)
		v |= A_DIM;
	if (a & THEME_ATTR_UNDERSCORE)
		v |= A_UNDERLINE;
	if (a & THEME_ATTR_BLINK)
		v |= A_BLINK;
	if (a & THEME_ATTR_REVERSE)
		v |= A_REVERSE;
	if (a & THEME_ATTR_ITALICS)
		v |= A_ITALIC;
	return v;
}

void theme_apply(const struct theme *t, bool use_color)
{
	for (int r = 0; r < THEME_ROLE_COUNT; r++) {
		const struct theme_style *st = &t->role[r];
		unsigned long a = curses_attrs(st->attrs);
		if (use_color && r + 1 < COLOR_PAIRS) {
			bool bright = false, unused;
			int fg = theme_map_color(st->fg, COLORS, &bright);
			int bg = theme_map_color(st->bg, COLORS, &unused);
			init_pair((short)(r + 1), (short)fg, (short)bg);
			a |= COLOR_PAIR(r + 1);
			if (bright)
				a |= A_BOLD;
		}
		role_attr[r] = a;
	}
}

unsigned long theme_attr(enum theme_role r)
{
	return r < THEME_ROLE_COUNT ? role_attr[r] : 0;
}
