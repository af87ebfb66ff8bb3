/*
 * swb_error.h - the one error vocabulary of Switchboard.
 *
 * Every fallible function returns an enum swb_code (0 is success) and, when
 * given a non-NULL struct swb_err, fills it with a message a person can act on
 * ("workflow 'Sales': target 2: unknown queue 'Suport'"). The code names are
 * also the wire error codes ("bad_request", "not_found", ...).
 */
#ifndef SWB_ERROR_H
#define SWB_ERROR_H

#include <stddef.h>

enum swb_code {
	SWB_OK = 0,
	SWB_EINVAL,     /* bad_request: malformed or invalid input */
	SWB_ENOTFOUND,  /* not_found: no such resource */
	SWB_ECONFLICT,  /* conflict: duplicate name, resource in use */
	SWB_ESTATE,     /* invalid_state: not allowed in the resource's state */
	SWB_EPERM,      /* forbidden: the token's scope does not allow it */
	SWB_EAUTH,      /* unauthorized: missing, bad or expired token */
	SWB_ETOOBIG,    /* too_large: message or field over its limit */
	SWB_ENOMEM,     /* no_memory */
	SWB_EIO,        /* io_error: file or socket failure */
	SWB_EUNKNOWN,   /* unknown_op: no such operation */
	SWB_EINTERNAL,  /* internal: a bug; never caused by input */
	SWB_ERESYNC,    /* resync: an event cursor older than the node's window */
	SWB_EUNAVAIL,   /* unavailable: the node is stopping or unreachable */
	SWB_CODE_COUNT
};

/* Longest message kept; longer ones are truncated with "...". */
#define SWB_ERR_MSG_MAX 256

struct swb_err {
	enum swb_code code;
	char msg[SWB_ERR_MSG_MAX];
};

/* The stable wire name of a code ("not_found"); never NULL. */
const char *swb_code_name(enum swb_code code);

/* Parses a wire name back to a code; SWB_EINTERNAL when unknown. */
enum swb_code swb_code_from_name(const char *name);

/*
 * Records code and a printf-style message in err (which may be NULL) and
 * returns code, so callers can write `return swb_err_set(err, ...)`.
 */
enum swb_code swb_err_set(struct swb_err *err, enum swb_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes err's message with "prefix: " (for adding context on the way up). */
void swb_err_prefix(struct swb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Clears err to SWB_OK with an empty message. */
void swb_err_clear(struct swb_err *err);

#endif
