/*
 * rest_form.h - application/x-www-form-urlencoded for the REST API: decoding
 * request bodies (percent escapes, '+' as space, repeated keys as arrays, the
 * way twilio-node's qs.stringify(..., {arrayFormat: "repeat"}) writes them)
 * and encoding the query strings of the URLs the API hands back (paging).
 *
 * Decoding is strict, so a malformed body is refused before anything changes:
 * a bad escape ("%zz", a truncated "%4"), a NUL byte, text that is not UTF-8,
 * an empty name, or more than REST_FORM_MAX_PAIRS pairs is an error.
 */
#ifndef SWB_REST_FORM_H
#define SWB_REST_FORM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "swb_error.h"

#define REST_FORM_MAX_PAIRS 1000 /* twilio-node's largest request has ~60 parameters */
#define REST_FORM_NAME_MAX 128   /* the longest Twilio parameter name is ~30 bytes */

/*
 * Decodes body[0..len) (need not be NUL-terminated) into *out, a new object
 * {"Name": "value"} where a name given more than once holds an array of its
 * values in order. Empty segments ("a=1&&b=2") are skipped; a name without '='
 * has the value "". Returns SWB_OK, or SWB_EINVAL with a message (and *out
 * untouched).
 */
enum swb_code rest_form_decode(const char *body, size_t len, json_t **out, struct swb_err *err);

/*
 * Percent-decodes s[0..len) into a new NUL-terminated malloc'd string (its
 * length in *outlen), '+' becoming a space when plus_is_space. NULL on a bad
 * escape or a decoded NUL byte. Does not check UTF-8.
 */
char *rest_form_unescape(const char *s, size_t len, bool plus_is_space, size_t *outlen);

/* A growable NUL-terminated string. Zero-initialize; free s when done. */
struct rest_buf {
	char *s;
	size_t len, cap;
};

/* Appends n bytes of s (growing b; aborts when out of memory, like the core's allocations). */
void rest_buf_add(struct rest_buf *b, const char *s, size_t n);
/* Appends printf-style text. */
void rest_buf_addf(struct rest_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s percent-encoded for a URL query (unreserved characters kept, space as %20). */
void rest_form_escape(struct rest_buf *b, const char *s);

/* Appends "name=value" (both escaped), preceded by '&' unless b is empty or ends in '?'. */
void rest_form_append(struct rest_buf *b, const char *name, const char *value);

#endif
