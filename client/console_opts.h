/*
 * console_opts.h - swb-console's command line. Pure (no I/O besides the usage
 * text), so tests check every option without a terminal.
 *
 *   swb-console [--url URL] [--token T | --worker NAME | --supervisor] [--data DIR]
 *               [--token-ttl S] [--theme NAME] [--show-attrs a,b] [--alert bell|flash|both|none]
 *               [--sl-threshold S] [--frames N] [--no-mouse]
 */
#ifndef SWB_CONSOLE_OPTS_H
#define SWB_CONSOLE_OPTS_H

#include <stdbool.h>
#include <stdio.h>

#include "swb_error.h"

/* Attributes named with --show-attrs, and the longest name kept. */
#define CONSOLE_ATTRS_MAX 16
#define CONSOLE_ATTR_NAME_MAX 64

/* Default service-level threshold, seconds (a common contact-center target: 80% in 20 s). */
#define CONSOLE_SL_DEFAULT 20

/*
 * Lifetime of a token the console mints (renewed at 80% of it): a day by
 * default; a couple of seconds at least, so tests can watch it renew; a year at
 * most (a token that never needs renewing is what renewal is there to avoid).
 */
#define CONSOLE_TOKEN_TTL_DEFAULT (24L * 3600)
#define CONSOLE_TOKEN_TTL_MIN 2L
#define CONSOLE_TOKEN_TTL_MAX (366L * 24 * 3600)

enum console_alert { CONSOLE_ALERT_BELL, CONSOLE_ALERT_FLASH, CONSOLE_ALERT_BOTH, CONSOLE_ALERT_NONE };

/* Strings are borrowed from argv. */
struct console_opts {
	const char *url;      /* NULL: $SWB_URL, else the default ipc url */
	const char *token;    /* NULL: $SWB_TOKEN, else minted from --worker / --supervisor */
	const char *worker;   /* a worker's friendly name or WK sid: mint a worker token locally */
	const char *data_dir; /* the node's data directory (secret) for minting; NULL: default */
	long token_ttl_s;     /* lifetime of minted tokens */
	bool token_ttl_given; /* --token-ttl was on the command line */
	const char *theme;    /* NULL: "default" (or mono under NO_COLOR) */
	bool supervisor;
	char show_attrs[CONSOLE_ATTRS_MAX][CONSOLE_ATTR_NAME_MAX];
	int n_show_attrs; /* 0: show every scalar attribute that fits */
	enum console_alert alert;
	int sl_threshold_s;
	long frames; /* exit after this many screen updates; 0: run until quit */
	bool mouse;
	bool help;
};

/* Parses argv into o (defaults first). SWB_EINVAL with a message on a usage error. */
enum swb_code console_parse_args(int argc, char **argv, struct console_opts *o, struct swb_err *err);

void console_usage(FILE *f);

#endif
