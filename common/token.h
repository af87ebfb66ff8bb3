/*
 * token.h - signed bearer tokens (HS256 JWTs) and the node's secret.
 *
 * Switchboard authenticates every client with a JWT signed by HMAC-SHA256.
 * Two kinds are understood:
 *
 *  - Our own tokens, signed with the node's secret (DIR/secret):
 *      header {"alg":"HS256","typ":"JWT"}
 *      claims {"scope":"admin"|"supervisor"|"worker:WK...","iat":N,"exp":N,"iss":"switchboard"}
 *  - Twilio Access Tokens (what twilio.jwt.AccessToken + TaskRouterGrant
 *    make), signed with an API key secret and identified by "iss" = the key's
 *    SK sid. A server peeks at "iss" (swb_token_peek_issuer) to pick the
 *    secret, then verifies.
 *
 * Encoding rules (strict on purpose, so one token has one spelling):
 * base64url without padding; a segment containing '=' or with non-zero
 * unused trailing bits is rejected. JSON must be an object without duplicate
 * keys. Only "alg":"HS256" is accepted ("none" and every other algorithm is
 * rejected before the signature is even looked at). Signatures are compared
 * in constant time.
 *
 * Sids are a two-letter prefix plus 32 lowercase hex digits ("WK" + 32 hex),
 * as Twilio spells them.
 *
 * Every rejected token is SWB_EAUTH with a message saying why ("token
 * expired at 2023-11-14T23:13:20Z (now ...)", "token signature does not
 * match"). Bad arguments from our own code (empty secret, invalid claims to
 * sign) are SWB_EINVAL; secret-file and random-generator failures SWB_EIO.
 * Outputs are written only on success.
 */
#ifndef SWB_TOKEN_H
#define SWB_TOKEN_H

#include <stddef.h>

#include "swb_error.h"

/* Bytes of the node secret: 256 bits, the size of an HMAC-SHA256 output. */
#define SWB_SECRET_LEN 32

/* Longer tokens are rejected before any decoding (bounds all work per token). */
#define SWB_TOKEN_MAX_LEN 4096

/* How far "iat" may lie in the future before a token is refused (clock skew). */
#define SWB_TOKEN_CLOCK_SKEW 60

/* Length of a sid: two-letter prefix + 32 hex digits (without the NUL). */
#define SWB_SID_LEN 34

/* Room for the longest scope string, "worker:WK<32 hex>", plus NUL. */
#define SWB_SCOPE_MAX_LEN 48

/* The "iss" of our own tokens. */
#define SWB_TOKEN_ISSUER "switchboard"

enum swb_scope { SWB_SCOPE_ADMIN, SWB_SCOPE_SUPERVISOR, SWB_SCOPE_WORKER };

struct swb_token_claims {
	enum swb_scope scope;
	char worker_sid[SWB_SID_LEN + 1]; /* "WK" + 32 hex; only for SWB_SCOPE_WORKER, else "" */
	long long iat, exp;               /* unix seconds; exp is always set (no "never expires") */
};

/*
 * Signs c with secret (secret_len > 0 bytes) as one of our own tokens.
 * c must be valid: a known scope, a valid worker_sid for SWB_SCOPE_WORKER,
 * 0 <= iat < exp; otherwise SWB_EINVAL. On success *out is a NUL-terminated
 * token, malloc'd: the caller frees it.
 */
enum swb_code swb_token_sign(const unsigned char *secret, size_t secret_len,
	const struct swb_token_claims *c, char **out, struct swb_err *err);

/*
 * Verifies one of our own tokens against secret at time now (unix seconds):
 * well-formed, HS256, signature matches, iss is "switchboard", exp > now,
 * iat <= now + SWB_TOKEN_CLOCK_SKEW, scope valid. Fills *out (may be NULL)
 * on success; any rejection is SWB_EAUTH.
 */
enum swb_code swb_token_verify(const unsigned char *secret, size_t secret_len,
	const char *token, long long now, struct swb_token_claims *out, struct swb_err *err);

/*
 * Parses a scope string: "admin", "supervisor" or "worker:WK<32 hex>".
 * Sets out->scope and out->worker_sid (cleared for non-worker scopes) and
 * leaves iat/exp alone. SWB_EINVAL if malformed (swb_token_verify reports
 * the same problem as SWB_EAUTH).
 */
enum swb_code swb_scope_parse(const char *s, struct swb_token_claims *out, struct swb_err *err);

/*
 * Writes c's scope string into buf (len bytes, always NUL-terminated when
 * len > 0, truncated if short; SWB_SCOPE_MAX_LEN always suffices).
 */
void swb_scope_format(const struct swb_token_claims *c, char *buf, size_t len);

/*
 * A Twilio Access Token's identity. Strings are NUL-terminated; an empty
 * worker_sid, role or identity means absent; nbf 0 means absent.
 * role is "worker", "supervisor" or "admin".
 */
struct swb_twilio_claims {
	char api_key_sid[SWB_SID_LEN + 1];   /* "SK..." = iss */
	char account_sid[SWB_SID_LEN + 1];   /* "AC..." = sub */
	char workspace_sid[SWB_SID_LEN + 1]; /* "WS..." = grants.task_router.workspace_sid (required) */
	char worker_sid[SWB_SID_LEN + 1];    /* "WK..." = grants.task_router.worker_sid */
	char role[16];                       /* grants.task_router.role */
	char identity[128];                  /* grants.identity */
	long long iat, exp, nbf;
};

/*
 * Signs c as a Twilio Access Token with an API key secret (len > 0 bytes;
 * Twilio's secrets are the ASCII bytes of the secret string). The result is
 * byte-for-byte what twilio-node's AccessToken.toJwt() makes for the same
 * values: header {"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"},
 * claims jti "<SK>-<iat>", grants{identity, task_router{workspace_sid,
 * worker_sid, role}}, nbf, iat, exp, iss, sub. Invalid c is SWB_EINVAL.
 * On success *out is malloc'd: the caller frees it.
 */
enum swb_code swb_twilio_token_sign(const unsigned char *secret, size_t len,
	const struct swb_twilio_claims *c, char **out, struct swb_err *err);

/*
 * Verifies a Twilio Access Token with the secret of API key expected_key_sid:
 * well-formed, HS256 with cty "twilio-fpa;v=1", signature matches, iss equals
 * expected_key_sid, exp > now, nbf <= now (if present), iat <= now +
 * SWB_TOKEN_CLOCK_SKEW, sub a valid AC sid, grants.task_router.workspace_sid
 * present and valid, worker_sid/role valid if present. Other grants (voice,
 * chat, ...) are ignored. Fills *out (may be NULL) on success; any rejection
 * is SWB_EAUTH.
 */
enum swb_code swb_twilio_token_verify(const unsigned char *secret, size_t len,
	const char *expected_key_sid, const char *token, long long now,
	struct swb_twilio_claims *out, struct swb_err *err);

/*
 * Copies the token's "iss" claim into iss (len bytes) WITHOUT verifying
 * anything else, so a server can pick the secret to verify with
 * ("switchboard" for our tokens, an SK sid for Twilio's). SWB_EAUTH if the
 * token is not a JWT with a string "iss" that fits in len.
 */
enum swb_code swb_token_peek_issuer(const char *token, char *iss, size_t len, struct swb_err *err);

/*
 * Loads DIR/secret, creating it if absent. The file is text: exactly
 * 2 * SWB_SECRET_LEN hex digits, optionally followed by one newline. A new
 * secret comes from RAND_bytes and is written to a temporary file (mode 0600,
 * O_EXCL) that is then hard-linked into place, so the file appears complete or
 * not at all and a concurrent creator never overwrites the winner's secret.
 * DIR must exist. SWB_EIO on any file problem.
 */
enum swb_code swb_secret_load_or_create(const char *dir, unsigned char secret[SWB_SECRET_LEN],
	struct swb_err *err);

/*
 * Loads a secret file (format above). Refuses with SWB_EIO a file that is
 * not a regular file, is accessible by group or others (mode & 077), or is
 * malformed.
 */
enum swb_code swb_secret_load(const char *path, unsigned char secret[SWB_SECRET_LEN],
	struct swb_err *err);

/*
 * Writes 2 * nbytes lowercase hex digits plus NUL (out must hold
 * 2 * nbytes + 1 bytes) from RAND_bytes: for auth tokens and API key secrets.
 * SWB_EIO if the random generator fails.
 */
enum swb_code swb_random_hex(char *out, size_t nbytes, struct swb_err *err);

#endif
