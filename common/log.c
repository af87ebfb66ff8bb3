/*
 * log.c - timestamped, levelled logging to stderr.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "timefmt.h"

static const char *log_prog = "swb";
static enum swb_log_level log_max = SWB_LOG_INFO;
static const char *const names[] = { "error", "warn", "info", "debug" };

void swb_log_init(const char *prog, enum swb_log_level level)
{
	log_prog = prog;
	log_max = level;
}

int swb_log_level_parse(const char *s)
{
	for (int i = 0; s && i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

void swb_log(enum swb_log_level level, const char *fmt, ...)
{
	if (level > log_max)
		return;
	char ts[SWB_ISO_SIZE], msg[1024];
	swb_iso8601(swb_wall_ms(), ts);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s %s %s: %s\n", ts, log_prog, names[level], msg);
}
