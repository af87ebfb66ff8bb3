/*
 * test_theme.c - client/theme.c: the style grammar, theme files (errors name
 * their line, unknown roles are skipped), the search path, mapping colors
 * down to smaller terminals, and the shipped themes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "theme.h"

static const char *themes_dir(void)
{
	static char dir[1024];
	const char *src = getenv("SWB_SRC");
	snprintf(dir, sizeof dir, "%s/themes", src && *src ? src : "..");
	return dir;
}

static void test_every_compiled_role_parses(void **state)
{
	(void)state;
	struct theme t;
	theme_default(&t); /* aborts on a bad built-in style */
	theme_mono(&t);
	for (int r = 0; r < THEME_ROLE_COUNT; r++) {
		assert_non_null(theme_role_key((enum theme_role)r));
		assert_true(strlen(theme_role_help((enum theme_role)r)) > 0);
		/* mono never relies on colors */
		assert_int_equal(t.role[r].fg, THEME_COLOR_DEFAULT);
		assert_int_equal(t.role[r].bg, THEME_COLOR_DEFAULT);
	}
	assert_string_equal(theme_role_key(THEME_RESERVATION_EXPIRING), "reservation_expiring");
}

static void test_role_keys_are_unique(void **state)
{
	(void)state;
	for (int a = 0; a < THEME_ROLE_COUNT; a++)
		for (int b = a + 1; b < THEME_ROLE_COUNT; b++)
			assert_string_not_equal(theme_role_key((enum theme_role)a), theme_role_key((enum theme_role)b));
}

static void test_style_tmux_grammar(void **state)
{
	(void)state;
	struct theme_style st;
	struct swb_err err;
	assert_int_equal(theme_parse_style("fg=brightred,bg=#1c1c1c,bold", &st, &err), SWB_OK);
	assert_int_equal(st.fg, 9);
	assert_int_equal(st.bg, THEME_COLOR_RGB | 0x1c1c1c);
	assert_int_equal(st.attrs, THEME_ATTR_BOLD);

	assert_int_equal(theme_parse_style("fg=colour255 bg=color0 reverse,underscore", &st, &err), SWB_OK);
	assert_int_equal(st.fg, 255);
	assert_int_equal(st.bg, 0);
	assert_int_equal(st.attrs, THEME_ATTR_REVERSE | THEME_ATTR_UNDERSCORE);

	assert_int_equal(theme_parse_style("bold,italics,dim,blink,none", &st, &err), SWB_OK);
	assert_int_equal(st.attrs, 0); /* none clears what came before */

	assert_int_equal(theme_parse_style("bold,reverse,noreverse", &st, &err), SWB_OK);
	assert_int_equal(st.attrs, THEME_ATTR_BOLD);

	assert_int_equal(theme_parse_style("FG=Default,bg=WHITE", &st, &err), SWB_OK);
	assert_int_equal(st.fg, THEME_COLOR_DEFAULT);
	assert_int_equal(st.bg, 7);
}

static void test_style_errors_say_what(void **state)
{
	(void)state;
	struct theme_style st = { 1, 2, 3 };
	struct swb_err err;
	assert_int_equal(theme_parse_style("fg=reed", &st, &err), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "unknown colour 'reed'"));
	assert_int_equal(theme_parse_style("fg=colour256", &st, &err), SWB_EINVAL);
	assert_int_equal(theme_parse_style("bg=#12345", &st, &err), SWB_EINVAL);
	assert_int_equal(theme_parse_style("bg=#12345g", &st, &err), SWB_EINVAL);
	assert_int_equal(theme_parse_style("blinky", &st, &err), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "unknown style item 'blinky'"));
	assert_int_equal(theme_parse_style("  ", &st, &err), SWB_EINVAL);
	/* out is untouched on error */
	assert_int_equal(st.fg, 1);
	assert_int_equal(st.bg, 2);
	assert_int_equal(st.attrs, 3u);
}

static void test_file_applies_known_roles_and_keeps_the_rest(void **state)
{
	(void)state;
	struct theme t, def;
	theme_default(&t);
	theme_default(&def);
	char warn[512];
	struct swb_err err;
	const char *text = "# a comment\n"
			   "\n"
			   "name = sunset\n"
			   "header = fg=black,bg=#ff8700\n"
			   "  selection=\"reverse\"  \n"
			   "sparkles = fg=red\n";
	assert_int_equal(theme_parse(text, "sunset.theme", &t, warn, sizeof warn, &err), SWB_OK);
	assert_string_equal(t.name, "sunset");
	assert_int_equal(t.role[THEME_HEADER].bg, THEME_COLOR_RGB | 0xff8700);
	assert_int_equal(t.role[THEME_SELECTION].attrs, THEME_ATTR_REVERSE);
	assert_int_equal(t.role[THEME_SELECTION].fg, THEME_COLOR_DEFAULT);
	/* roles the file leaves out keep the default */
	assert_memory_equal(&t.role[THEME_QUEUE_CRITICAL], &def.role[THEME_QUEUE_CRITICAL], sizeof(struct theme_style));
	assert_string_equal(warn, "sunset.theme:6: unknown role 'sparkles' (skipped)");
}

static void test_bad_line_is_named_and_changes_nothing(void **state)
{
	(void)state;
	struct theme t, def;
	theme_default(&t);
	theme_default(&def);
	struct swb_err err;
	const char *text = "header = fg=red\n# fine so far\nqueue_ok = fg=grene\n";
	assert_int_equal(theme_parse(text, "x.theme", &t, NULL, 0, &err), SWB_EINVAL);
	assert_string_equal(err.msg, "x.theme:3: queue_ok: unknown colour 'grene' (use default, red, brightred, "
				     "colour0-colour255 or #rrggbb)");
	assert_memory_equal(t.role, def.role, sizeof def.role);

	assert_int_equal(theme_parse("header: red\n", "y.theme", &t, NULL, 0, &err), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "y.theme:1: expected 'key = style'"));
}

static void test_map_color_down(void **state)
{
	(void)state;
	bool bright;
	/* 256 colors: rgb to the nearest cube entry; system colors as they are */
	assert_int_equal(theme_map_color(THEME_COLOR_RGB | 0xff0000, 256, &bright), 9);
	assert_int_equal(theme_map_color(THEME_COLOR_RGB | 0xff5f00, 256, &bright), 202);
	assert_int_equal(theme_map_color(THEME_COLOR_RGB | 0x1c1c1c, 256, &bright), 234);
	assert_int_equal(theme_map_color(208, 256, &bright), 208);
	assert_false(bright);
	/* 16 colors */
	assert_int_equal(theme_map_color(196, 16, &bright), 9);
	assert_int_equal(theme_map_color(244, 16, &bright), 8);
	assert_int_equal(theme_map_color(THEME_COLOR_RGB | 0x00cdcd, 16, &bright), 6);
	/* 8 colors: bright becomes the base color plus bold */
	assert_int_equal(theme_map_color(9, 8, &bright), 1);
	assert_true(bright);
	assert_int_equal(theme_map_color(2, 8, &bright), 2);
	assert_false(bright);
	assert_int_equal(theme_map_color(THEME_COLOR_RGB | 0x0000ff, 8, &bright), 4);
	/* no colors, or the default */
	assert_int_equal(theme_map_color(3, 2, &bright), THEME_COLOR_DEFAULT);
	assert_int_equal(theme_map_color(THEME_COLOR_DEFAULT, 256, NULL), THEME_COLOR_DEFAULT);
	/* the 256 palette entries map to themselves; grays find the gray ramp */
	for (int i = 0; i < 256; i++)
		assert_int_equal(theme_map_color(i, 256, NULL), i);
	assert_int_equal(theme_nearest(0x808080, 16, 256), 244);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void test_shipped_themes_load_cleanly_and_set_every_role(void **state)
{
	(void)state;
	setenv("SWB_THEMES_DIR", themes_dir(), 1);
	setenv("XDG_CONFIG_HOME", "/nonexistent-swb-test", 1);
	static const char *const names[] = { "default", "light", "high-contrast", "mono" };
	for (size_t i = 0; i < 4; i++) {
		struct theme t;
		char warn[512], path[1100];
		struct swb_err err = { 0 };
		assert_int_equal(theme_find(names[i], path, sizeof path, &err), SWB_OK);
		int rc = theme_load(names[i], &t, warn, sizeof warn, &err);
		if (rc != SWB_OK)
			fail_msg("%s: %s", names[i], err.msg);
		assert_string_equal(warn, "");
		assert_string_equal(t.name, names[i]);
		const char *text = slurp(path);
		for (int r = 0; r < THEME_ROLE_COUNT; r++) {
			char key[64];
			snprintf(key, sizeof key, "\n%s ", theme_role_key((enum theme_role)r));
			if (!strstr(text, key))
				fail_msg("%s.theme does not set %s", names[i], theme_role_key((enum theme_role)r));
		}
	}
	/* default.theme is the compiled-in default, mono.theme the compiled-in mono */
	struct theme file, built;
	char warn[256];
	struct swb_err err;
	assert_int_equal(theme_load("default", &file, warn, sizeof warn, &err), SWB_OK);
	theme_default(&built);
	assert_memory_equal(file.role, built.role, sizeof built.role);
	assert_int_equal(theme_load("mono", &file, warn, sizeof warn, &err), SWB_OK);
	theme_mono(&built);
	assert_memory_equal(file.role, built.role, sizeof built.role);
}

static void test_user_themes_come_first(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/swb-theme-XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	char sub[512], file[600], path[1100];
	snprintf(sub, sizeof sub, "%s/switchboard", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof sub, "%s/switchboard/themes", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(file, sizeof file, "%s/light.theme", sub);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs("header = fg=red\n", f);
	fclose(f);
	setenv("SWB_THEMES_DIR", themes_dir(), 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	struct swb_err err;
	assert_int_equal(theme_find("light", path, sizeof path, &err), SWB_OK);
	assert_string_equal(path, file);
	struct theme t;
	char warn[128];
	assert_int_equal(theme_load("light", &t, warn, sizeof warn, &err), SWB_OK);
	assert_int_equal(t.role[THEME_HEADER].fg, 1);
	/* others still come from the installed directory */
	assert_int_equal(theme_find("mono", path, sizeof path, &err), SWB_OK);
	assert_non_null(strstr(path, themes_dir()));
	/* and a missing one says where it looked */
	assert_int_equal(theme_find("nope", path, sizeof path, &err), SWB_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no theme 'nope'"));
	assert_non_null(strstr(err.msg, sub));
	/* a bad file: the message names the line, and the result is the default theme */
	f = fopen(file, "w");
	fputs("# ok\nheader = fg=red\nbanner = bold,sparkly\n", f);
	fclose(f);
	assert_int_equal(theme_load("light", &t, warn, sizeof warn, &err), SWB_EINVAL);
	char want[700];
	snprintf(want, sizeof want, "%s:3: banner:", file);
	assert_non_null(strstr(err.msg, want));
	struct theme def;
	theme_default(&def);
	assert_memory_equal(t.role, def.role, sizeof def.role);
	/* a path works too */
	assert_int_equal(theme_find(file, path, sizeof path, &err), SWB_OK);
	unlink(file);
	rmdir(sub);
	snprintf(sub, sizeof sub, "%s/switchboard", dir);
	rmdir(sub);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_compiled_role_parses),
		cmocka_unit_test(test_role_keys_are_unique),
		cmocka_unit_test(test_style_tmux_grammar),
		cmocka_unit_test(test_style_errors_say_what),
		cmocka_unit_test(test_file_applies_known_roles_and_keeps_the_rest),
		cmocka_unit_test(test_bad_line_is_named_and_changes_nothing),
		cmocka_unit_test(test_map_color_down),
		cmocka_unit_test(test_shipped_themes_load_cleanly_and_set_every_role),
		cmocka_unit_test(test_user_themes_come_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
