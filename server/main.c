/*
 * main.c - swb-node: the routing node. Parses the command line and runs one of
 * its modes: serve (the default), --check-config, --dry-run, or --compact.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compact.h"
#include "node.h"
#include "tools.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: swb-node [--config FILE] [--data DIR] [--listen URL]... [--http ADDR:PORT|none]\n"
		"                [--tls-cert PEM --tls-key PEM] [--fsync group|every|none] [--web DIR]\n"
		"                [--disconnect-grace MS] [--disconnect-activity NAME]\n"
		"                [--log-level error|warn|info|debug] [--retention-days N] [--event-window N]\n"
		"                [--journal-segment-kb N] [--snapshot-interval SECONDS]\n"
		"       swb-node --check-config [FILE]\n"
		"       swb-node --dry-run [FILE] --task JSON\n"
		"       swb-node --compact [--data DIR] [--retention-days N]\n"
		"\n"
		"With no FILE the embedded default workspace is used. --compact rewrites each\n"
		"workspace's journal without the events older than the retention (see docs/journal.md).\n"
		"A running node rotates each journal with a snapshot after --journal-segment-kb (64 MiB)\n"
		"or --snapshot-interval (3600 s), and removes rotated files past the retention.\n");
}

/* A whole decimal number in lo..hi. */
static bool int_arg(const char *s, long lo, long hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },  { "data", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },  { "http", required_argument, NULL, 'H' },
		{ "log-level", required_argument, NULL, 'v' }, { "check-config", optional_argument, NULL, 'C' },
		{ "dry-run", optional_argument, NULL, 'D' }, { "task", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },          { "fsync", required_argument, NULL, 'f' },
		{ "tls-cert", required_argument, NULL, 'T' }, { "tls-key", required_argument, NULL, 'K' },
		{ "web", required_argument, NULL, 'w' },     { "disconnect-grace", required_argument, NULL, 'g' },
		{ "disconnect-activity", required_argument, NULL, 'a' },
		{ "retention-days", required_argument, NULL, 'R' }, { "event-window", required_argument, NULL, 'E' },
		{ "compact", no_argument, NULL, 'X' },
		{ "journal-segment-kb", required_argument, NULL, 'J' },
		{ "snapshot-interval", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct swb_node_opts no;
	swb_node_opts_init(&no);
	const char *task = NULL;
	int mode = 0;
	const char *mode_file = NULL;
	bool retention_set = false;
	int c;
	while ((c = getopt_long(argc, argv, "c:d:l:H:v:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': no.config_path = optarg; break;
		case 'd': no.data_dir = optarg; break;
		case 'l':
			if (swb_node_opts_add_listen(&no, optarg) != 0) {
				fprintf(stderr, "swb-node: too many --listen URLs\n");
				return 2;
			}
			break;
		case 'H': no.http_addr = optarg; break;
		case 'v': no.log_level = optarg; break;
		case 'f': no.fsync_mode = optarg; break;
		case 'T': no.tls_cert = optarg; break;
		case 'K': no.tls_key = optarg; break;
		case 'w': no.web_dir = optarg; break;
		case 'g': no.disconnect_grace_ms = atoi(optarg); break;
		case 'a': no.disconnect_activity = optarg; break;
		case 'R':
			if (!int_arg(optarg, 0, 36500, &no.retention_days)) {
				fprintf(stderr, "swb-node: --retention-days must be 0..36500\n");
				return 2;
			}
			retention_set = true;
			break;
		case 'E':
			if (!int_arg(optarg, 16, 16 * 1024 * 1024, &no.event_window)) {
				fprintf(stderr, "swb-node: --event-window must be 16..16777216 events\n");
				return 2;
			}
			break;
		case 'J':
			if (!int_arg(optarg, 16, 16 * 1024 * 1024, &no.journal_segment_kb)) {
				fprintf(stderr, "swb-node: --journal-segment-kb must be 16..16777216 (16 GiB)\n");
				return 2;
			}
			break;
		case 'S':
			if (!int_arg(optarg, 1, 30 * 86400, &no.snapshot_interval_s)) {
				fprintf(stderr, "swb-node: --snapshot-interval must be 1..2592000 seconds\n");
				return 2;
			}
			break;
		case 'X': mode = c; break;
		case 'C':
		case 'D':
			mode = c;
			mode_file = optarg;
			break;
		case 't': task = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if ((mode == 'C' || mode == 'D') && !mode_file && optind < argc)
		mode_file = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "swb-node: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (mode == 'X')
		return swb_compact(no.data_dir, retention_set ? no.retention_days : SWB_NODE_RETENTION_DAYS);
	if (retention_set && no.retention_days < 1) {
		fprintf(stderr, "swb-node: a serving node keeps events at least 1 day (--retention-days 0 is for --compact)\n");
		return 2;
	}
	if (mode == 'C')
		return swb_tool_check_config(mode_file ? mode_file : no.config_path);
	if (mode == 'D') {
		if (!task) {
			fprintf(stderr, "swb-node: --dry-run needs --task JSON\n");
			return 2;
		}
		return swb_tool_dry_run(mode_file ? mode_file : no.config_path, task);
	}
	return swb_node_run(&no);
}
