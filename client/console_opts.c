/*
 * console_opts.c - parsing swb-console's command line. See console_opts.h.
 */
#include "console_opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static enum swb_code parse_attrs(const char *s, struct console_opts *o, struct swb_err *err)
{
	o->n_show_attrs = 0;
	const char *p = s;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n == 0) {
			p++;
			continue;
		}
		if (o->n_show_attrs == CONSOLE_ATTRS_MAX)
			return swb_err_set(err, SWB_EINVAL, "--show-attrs: at most %d attributes", CONSOLE_ATTRS_MAX);
		if (n >= CONSOLE_ATTR_NAME_MAX)
			return swb_err_set(err, SWB_EINVAL, "--show-attrs: attribute name '%.20s...' is too long", p);
		memcpy(o->show_attrs[o->n_show_attrs], p, n);
		o->show_attrs[o->n_show_attrs][n] = '\0';
		o->n_show_attrs++;
		p += n;
	}
	if (o->n_show_attrs == 0)
		return swb_err_set(err, SWB_EINVAL, "--show-attrs: give attribute names, e.g. --show-attrs department,language");
	return SWB_OK;
}

enum swb_code console_parse_args(int argc, char **argv, struct console_opts *o, struct swb_err *err)
{
	memset(o, 0, sizeof *o);
	o->alert = CONSOLE_ALERT_BELL;
	o->sl_threshold_s = CONSOLE_SL_DEFAULT;
	o->token_ttl_s = CONSOLE_TOKEN_TTL_DEFAULT;
	o->mouse = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char name[32];
		const char *val = NULL;
		const char *eq = strchr(a, '=');
		if (strncmp(a, "--", 2) == 0 && eq && (size_t)(eq - a) < sizeof name) {
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = '\0';
			val = eq + 1;
		} else {
			snprintf(name, sizeof name, "%s", a);
		}
		static const char *const with_value[] = { "--url", "--token", "--worker", "--data", "--theme",
							  "--show-attrs", "--alert", "--sl-threshold", "--frames",
							  "--token-ttl", NULL };
		bool wants = false;
		for (const char *const *w = with_value; *w; w++)
			wants = wants || strcmp(name, *w) == 0;
		if (wants && !val) {
			if (i + 1 >= argc)
				return swb_err_set(err, SWB_EINVAL, "%s needs a value", name);
			val = argv[++i];
		} else if (!wants && val) {
			return swb_err_set(err, SWB_EINVAL, "%s takes no value", name);
		}
		long n;
		if (strcmp(name, "--url") == 0) {
			o->url = val;
		} else if (strcmp(name, "--token") == 0) {
			o->token = val;
		} else if (strcmp(name, "--worker") == 0) {
			o->worker = val;
		} else if (strcmp(name, "--data") == 0) {
			o->data_dir = val;
		} else if (strcmp(name, "--token-ttl") == 0) {
			if (!parse_long(val, CONSOLE_TOKEN_TTL_MIN, CONSOLE_TOKEN_TTL_MAX, &n))
				return swb_err_set(err, SWB_EINVAL, "--token-ttl must be seconds from %ld to %ld, not '%s'",
						   CONSOLE_TOKEN_TTL_MIN, CONSOLE_TOKEN_TTL_MAX, val);
			o->token_ttl_s = n;
			o->token_ttl_given = true;
		} else if (strcmp(name, "--theme") == 0) {
			o->theme = val;
		} else if (strcmp(name, "--show-attrs") == 0) {
			enum swb_code rc = parse_attrs(val, o, err);
			if (rc != SWB_OK)
				return rc;
		} else if (strcmp(name, "--alert") == 0) {
			static const char *const names[] = { "bell", "flash", "both", "none" };
			int k;
			for (k = 0; k < 4 && strcmp(val, names[k]) != 0; k++)
				;
			if (k == 4)
				return swb_err_set(err, SWB_EINVAL, "--alert must be bell, flash, both or none, not '%s'", val);
			o->alert = (enum console_alert)k;
		} else if (strcmp(name, "--sl-threshold") == 0) {
			if (!parse_long(val, 1, 86400, &n))
				return swb_err_set(err, SWB_EINVAL, "--sl-threshold must be seconds from 1 to 86400, not '%s'",
						   val);
			o->sl_threshold_s = (int)n;
		} else if (strcmp(name, "--frames") == 0) {
			if (!parse_long(val, 1, 1000000000L, &n))
				return swb_err_set(err, SWB_EINVAL, "--frames must be a positive number, not '%s'", val);
			o->frames = n;
		} else if (strcmp(name, "--supervisor") == 0) {
			o->supervisor = true;
		} else if (strcmp(name, "--no-mouse") == 0) {
			o->mouse = false;
		} else if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
			o->help = true;
		} else {
			return swb_err_set(err, SWB_EINVAL, "unknown option '%s'", a);
		}
	}
	if (o->token && o->worker)
		return swb_err_set(err, SWB_EINVAL, "give --token or --worker, not both");
	if (o->token && o->token_ttl_given)
		return swb_err_set(err, SWB_EINVAL, "--token-ttl is the lifetime of tokens the console mints; not with --token");
	if (o->worker && o->supervisor)
		return swb_err_set(err, SWB_EINVAL, "--worker opens an agent's console; --supervisor the supervisor's: pick one");
	return SWB_OK;
}

void console_usage(FILE *f)
{
	fputs("usage: swb-console [--url URL] [--token T | --worker NAME [--token-ttl S]] [--data DIR]\n"
	      "       swb-console --supervisor [--url URL] [--token T | --token-ttl S] [--data DIR]\n"
	      "\n"
	      "The agent's console (a worker token) or, with --supervisor, live queue panels\n"
	      "and a worker grid (a supervisor token).\n"
	      "\n"
	      "Connection:\n"
	      "  --url URL            node to talk to (default: $SWB_URL, else the local ipc socket)\n"
	      "  --token T            token to send (default: $SWB_TOKEN)\n"
	      "  --worker NAME|WK..   mint a worker token from the node's secret (local nodes only)\n"
	      "  --supervisor         the supervisor view; without --token, mints a supervisor token\n"
	      "  --data DIR           the node's data directory, for minting (default: $SWB_DATA,\n"
	      "                       else $XDG_DATA_HOME/switchboard)\n"
	      "  --token-ttl S        lifetime of a minted token in seconds (86400); the console\n"
	      "                       mints a new one at 80% of it, so it can stay open for good.\n"
	      "                       A given token is not renewed: restart with a new one\n"
	      "Display:\n"
	      "  --theme NAME         a theme from $XDG_CONFIG_HOME/switchboard/themes or the\n"
	      "                       installed themes (default, light, high-contrast, mono), or a path\n"
	      "  --show-attrs a,b     task attributes shown in the reservations panel (default: all)\n"
	      "  --alert KIND         a new reservation rings the bell, flashes, both or none (bell)\n"
	      "  --sl-threshold S     service-level threshold in seconds (20)\n"
	      "  --no-mouse           leave the mouse to the terminal\n"
	      "  --frames N           exit after N screen updates (smoke tests)\n"
	      "\n"
	      "Keys are listed on the bottom line; ? shows them all. NO_COLOR turns colors off\n"
	      "unless --theme is given.\n",
	      f);
}
