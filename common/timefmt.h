/*
 * timefmt.h - time formats on the wire: ISO 8601 UTC ("2026-11-26T00:15:53Z")
 * as TaskRouter v1 JSON uses, from milliseconds since the epoch.
 */
#ifndef SWB_TIMEFMT_H
#define SWB_TIMEFMT_H

#include <stdbool.h>
#include <stdint.h>

#define SWB_ISO_SIZE 32

/* Formats ms as "YYYY-MM-DDTHH:MM:SSZ" into out (SWB_ISO_SIZE bytes). */
void swb_iso8601(int64_t ms, char out[SWB_ISO_SIZE]);

/* Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" or "YYYY-MM-DD" (UTC); false on bad input. */
bool swb_iso8601_parse(const char *s, int64_t *ms);

/* The wall clock in ms (only for adapters at the edge; the core never calls it). */
int64_t swb_wall_ms(void);
/* A monotonic clock in ms. */
int64_t swb_mono_ms(void);

#endif
