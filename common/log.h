/*
 * log.h - one-line logs to stderr: "2026-11-26T00:15:53Z swb-node info: message".
 * Log once, at the boundary where an error is handled.
 */
#ifndef SWB_LOG_H
#define SWB_LOG_H

enum swb_log_level { SWB_LOG_ERROR, SWB_LOG_WARN, SWB_LOG_INFO, SWB_LOG_DEBUG };

/* Sets the program name and the most verbose level printed. */
void swb_log_init(const char *prog, enum swb_log_level level);

/* Parses "error", "warn", "info", "debug"; returns -1 when unknown. */
int swb_log_level_parse(const char *s);

void swb_log(enum swb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define swb_error(...) swb_log(SWB_LOG_ERROR, __VA_ARGS__)
#define swb_warn(...) swb_log(SWB_LOG_WARN, __VA_ARGS__)
#define swb_info(...) swb_log(SWB_LOG_INFO, __VA_ARGS__)
#define swb_debug(...) swb_log(SWB_LOG_DEBUG, __VA_ARGS__)

#endif
