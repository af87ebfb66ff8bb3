/*
 * console_token.h - the token swb-console mints for itself (--worker NAME or
 * --supervisor, no --token): minted from the node's secret with a lifetime of
 * --token-ttl seconds, and minted again with the same scope before it expires
 * so that a console left open all day keeps working.
 *
 * Times are wall-clock milliseconds (swb_wall_ms), like the token's own iat and
 * exp: a machine that slept past the renewal renews as soon as it wakes.
 * Not thread-safe: the console's UI thread owns it.
 */
#ifndef SWB_CONSOLE_TOKEN_H
#define SWB_CONSOLE_TOKEN_H

#include <stdint.h>

#include "swb_client.h"
#include "swb_error.h"

/* Renewed after this share (per mille) of its lifetime: a fifth is left for retries. */
#define CONSOLE_TOKEN_RENEW_PERMILLE 800

/* A failed renewal is retried after a tenth of the lifetime, within these bounds. */
#define CONSOLE_TOKEN_RETRY_MIN_MS 1000
#define CONSOLE_TOKEN_RETRY_MAX_MS 30000

/* The longest scope kept ("worker:" and a worker SID fit with room to spare). */
#define CONSOLE_TOKEN_SCOPE_MAX 64

struct console_token;

/*
 * Mints a token for scope ("supervisor", "worker:WK...") lasting ttl_s seconds,
 * signed with the secret in data_dir (NULL: the default data dir); now_ms is
 * the wall clock. NULL with err filled when it cannot (swb_client_local_token's
 * errors; SWB_ENOMEM).
 */
struct console_token *console_token_mint(const char *data_dir, const char *scope, long long ttl_s, int64_t now_ms,
					 struct swb_err *err);

/* The current token (owned by t; valid until the next successful renewal or the free). */
const char *console_token_value(const struct console_token *t);

/* When the next renewal (or retry) is due, wall-clock ms. */
int64_t console_token_due_ms(const struct console_token *t);

/* When the current token expires, wall-clock ms (at the latest: iat is whole seconds). */
int64_t console_token_expires_ms(const struct console_token *t);

/*
 * Mints a new token with the same scope and lifetime and hands it to client
 * (swb_client_set_token; client NULL: only keeps it). On failure the current
 * token stays in use, the next try is due a retry interval from now_ms, and
 * err says why.
 */
enum swb_code console_token_renew(struct console_token *t, swb_client *client, int64_t now_ms, struct swb_err *err);

/* Wipes and frees; NULL is a no-op. */
void console_token_free(struct console_token *t);

#endif
