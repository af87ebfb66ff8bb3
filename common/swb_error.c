/*
 * swb_error.c - error codes, their wire names, and message formatting.
 */
#include "swb_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const code_names[SWB_CODE_COUNT] = {
	[SWB_OK] = "ok",
	[SWB_EINVAL] = "bad_request",
	[SWB_ENOTFOUND] = "not_found",
	[SWB_ECONFLICT] = "conflict",
	[SWB_ESTATE] = "invalid_state",
	[SWB_EPERM] = "forbidden",
	[SWB_EAUTH] = "unauthorized",
	[SWB_ETOOBIG] = "too_large",
	[SWB_ENOMEM] = "no_memory",
	[SWB_EIO] = "io_error",
	[SWB_EUNKNOWN] = "unknown_op",
	[SWB_EINTERNAL] = "internal",
	[SWB_ERESYNC] = "resync",
	[SWB_EUNAVAIL] = "unavailable",
};

const char *swb_code_name(enum swb_code code)
{
	if ((int)code < 0 || code >= SWB_CODE_COUNT)
		return "internal";
	return code_names[code];
}

enum swb_code swb_code_from_name(const char *name)
{
	for (int i = 0; name && i < SWB_CODE_COUNT; i++)
		if (strcmp(code_names[i], name) == 0)
			return (enum swb_code)i;
	return SWB_EINTERNAL;
}

static void mark_truncated(char *msg, int wanted)
{
	if (wanted >= SWB_ERR_MSG_MAX)
		memcpy(msg + SWB_ERR_MSG_MAX - 4, "...", 4);
}

enum swb_code swb_err_set(struct swb_err *err, enum swb_code code, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	mark_truncated(err->msg, n);
	err->code = code;
	return code;
}

void swb_err_prefix(struct swb_err *err, const char *fmt, ...)
{
	if (!err)
		return;
	char prefix[SWB_ERR_MSG_MAX];
	char old[SWB_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	int n = snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
	mark_truncated(err->msg, n);
}

void swb_err_clear(struct swb_err *err)
{
	if (!err)
		return;
	err->code = SWB_OK;
	err->msg[0] = '\0';
}
