/*
 * swbctl_args.h - swbctl's command line turned into what to do: an op and its
 * arguments, an event follow, or a token to mint. Pure apart from reading
 * "@FILE" values, so tests can check every mapping without a node.
 *
 *   swbctl [GLOBAL OPTIONS] COMMAND ...
 *   generic: RESOURCE VERB [SID-or-NAME] [--field value ...] -> op "RESOURCE.VERB",
 *            args {"sid": SID, "field": value}; --some-field is "some_field";
 *            a value that parses as JSON (number, object, array, true, false,
 *            null, "quoted string") is passed as JSON, else as a string, except
 *            that name-like fields (sid, *_sid, *_name, reason, ...) stay strings.
 *            "@FILE" reads the value from FILE ("@-": standard input).
 */
#ifndef SWBCTL_ARGS_H
#define SWBCTL_ARGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "swb_error.h"

#define SWBCTL_OP_MAX 64
#define SWBCTL_DEFAULT_TIMEOUT_MS 10000
#define SWBCTL_TTL_ADMIN (3600LL)           /* 1 h */
#define SWBCTL_TTL_DEFAULT (12LL * 3600)    /* 12 h: a shift, for workers and supervisors */
#define SWBCTL_VALUE_FILE_MAX (64 * 1024 * 1024) /* @FILE values; the wire limit is checked later */

enum swbctl_format { SWBCTL_FORMAT_AUTO, SWBCTL_FORMAT_JSON, SWBCTL_FORMAT_TABLE };

/* Options before the command. Strings are borrowed from argv. */
struct swbctl_opts {
	const char *url;      /* NULL: $SWB_URL, else the default ipc url */
	const char *token;    /* NULL: $SWB_TOKEN, else an admin token from the local secret */
	const char *data_dir; /* NULL: the default data directory */
	const char *workspace; /* NULL: $SWB_WORKSPACE, else the node's default workspace */
	enum swbctl_format format;
	int timeout_ms;
	bool has_request_limit;
	size_t request_limit; /* --request-limit BYTES (0: none; testing the node's own limit) */
	bool help;
};

enum swbctl_action {
	SWBCTL_CALL,   /* run op with args and print the result */
	SWBCTL_FOLLOW, /* events follow */
	SWBCTL_TOKEN,  /* print a token */
	SWBCTL_CREDENTIALS, /* print DATA/credentials.json (REST and Twilio SDK credentials) */
	SWBCTL_HELP,   /* print the usage */
};

struct swbctl_cmd {
	enum swbctl_action action;
	char op[SWBCTL_OP_MAX]; /* SWBCTL_CALL */
	json_t *args;           /* SWBCTL_CALL: owned (freed by swbctl_cmd_free) */
	uint64_t after;         /* SWBCTL_FOLLOW: SWB_FOLLOW_NOW unless --after */
	long long count;        /* SWBCTL_FOLLOW: stop after this many node events; 0: never */
	char scope[16];         /* SWBCTL_TOKEN: "admin", "supervisor" or "worker" */
	const char *worker;     /* SWBCTL_TOKEN worker: a name or WK sid (borrowed from argv) */
	long long ttl;          /* SWBCTL_TOKEN: seconds */
};

/*
 * Parses the global options at the start of argv (argv[0] is the program).
 * Returns the index of the command's first word (argc when there is none), or
 * -1 with err filled on a bad option.
 */
int swbctl_parse_opts(int argc, char **argv, struct swbctl_opts *o, struct swb_err *err);

/*
 * Takes the format flags "--json" and "--table" out of the command words
 * (they may come anywhere), setting o->format; updates *argc.
 */
void swbctl_take_format(int *argc, char **argv, struct swbctl_opts *o);

/*
 * Parses a command (argc words from argv, the command's first word first) into
 * out. SWB_EINVAL with a message on a usage error; out needs swbctl_cmd_free
 * either way.
 */
enum swb_code swbctl_parse(int argc, char **argv, struct swbctl_cmd *out, struct swb_err *err);

void swbctl_cmd_free(struct swbctl_cmd *cmd);

/* "--some-field" (or "some-field") -> "some_field" in out (len bytes). */
void swbctl_field_name(const char *flag, char *out, size_t len);

/*
 * A command-line value as JSON for field (may be NULL): see the header comment.
 * Returns a new reference, or NULL with err filled (unreadable @FILE).
 */
json_t *swbctl_value(const char *field, const char *s, struct swb_err *err);

/* The usage text (every command). */
void swbctl_usage(FILE *f);

#endif
