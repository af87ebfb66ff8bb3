/*
 * calls.h - the part of the calls module the workspace loader needs: checking a
 * workspace file's "numbers" section (see docs/calls.md). The module's node
 * entry points (calls_op, calls_on_event, calls_tick, calls_free) are declared
 * in http_modules.h.
 */
#ifndef SWB_CALLS_H
#define SWB_CALLS_H

#include <jansson.h>

#define CALLS_MAX_NUMBERS 1000 /* numbers in one workspace file */

/*
 * Checks numbers (borrowed; NULL is fine: no numbers): an array of
 * {"phone_number", "friendly_name", "voice_url" | "twiml", "voice_method",
 *  "voice_fallback_url", "voice_fallback_method", "documents": {name: TwiML}}.
 * Inline TwiML must parse. Calls report(ctx, msg) once per problem, each
 * message naming its place ("numbers[0] '+15559870000': twiml: line 1: ...").
 * Returns the number of problems.
 */
int calls_numbers_check(json_t *numbers, void (*report)(void *ctx, const char *msg), void *ctx);

#endif
