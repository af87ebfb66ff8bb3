/*
 * token.c - HS256 JWTs (our own and Twilio Access Tokens) and the node secret.
 *
 * A token is three base64url segments, header.claims.signature. Verifying
 * works outside-in so unauthenticated bytes reach as little code as possible:
 * length bound, split, header (alg must be HS256), signature (constant-time
 * compare), and only then the claims JSON, their times and their sids.
 * Signing builds the JSON with jansson in a fixed key order, so our Twilio
 * tokens are byte-identical to twilio-node's for the same values.
 */
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/* Bytes of an HMAC-SHA256 signature, and its base64url length. */
#define HS256_LEN 32
#define HS256_B64_LEN 43

/* The "cty" header of Twilio Access Tokens. */
#define TWILIO_CTY "twilio-fpa;v=1"

/* Hex digits in a secret file. */
#define SECRET_HEX_LEN (2 * SWB_SECRET_LEN)

/* Longest value from a token quoted in an error message. */
#define QUOTE_MAX 40

/* Room for a formatted time ("2023-11-14T22:13:20Z", or a long long). */
#define TIME_BUF 40

/* ---- base64url (RFC 4648 section 5, no padding) ---- */

static const char b64url_digits[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

/* Writes b64url_encoded_len(n) characters to out (no NUL). */
static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
		*out++ = b64url_digits[v >> 18 & 63];
		*out++ = b64url_digits[v >> 12 & 63];
		*out++ = b64url_digits[v >> 6 & 63];
		*out++ = b64url_digits[v & 63];
	}
	if (n - i == 1) {
		unsigned long v = (unsigned long)in[i] << 16;
		*out++ = b64url_digits[v >> 18 & 63];
		*out++ = b64url_digits[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		*out++ = b64url_digits[v >> 18 & 63];
		*out++ = b64url_digits[v >> 12 & 63];
		*out++ = b64url_digits[v >> 6 & 63];
	}
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Decodes n characters of unpadded base64url into out (room for n / 4 * 3 + 2
 * bytes). False for a character outside the alphabet (including '='), a
 * length no encoder makes (n % 4 == 1), or non-zero unused bits in the last
 * character: every byte string then has exactly one accepted spelling.
 */
static bool b64url_decode(const char *in, size_t n, unsigned char *out, size_t *outlen)
{
	if (n % 4 == 1)
		return false;
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value(in[i]);
		if (v < 0)
			return false;
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return false;
	*outlen = o;
	return true;
}

/* ---- small checks and formatting ---- */

/* True if s is prefix (2 letters) + 32 lowercase hex digits. */
static bool sid_valid(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, 2) != 0)
		return false;
	for (int i = 2; i < SWB_SID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[SWB_SID_LEN] == '\0';
}

/*
 * Returns s if it is short printable ASCII, else a placeholder: values from
 * tokens go into error messages and logs, where control bytes do not belong.
 */
static const char *quotable(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (n >= QUOTE_MAX || s[n] < 0x20 || s[n] > 0x7e)
			return "(unprintable or too long)";
	return s;
}

/* Formats a unix time as "2023-11-14T22:13:20Z" (the number if out of range). */
static void fmt_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if ((long long)tt != t || !gmtime_r(&tt, &tm) ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", t);
}

/* Applies exp, nbf (if has_nbf) and iat (if has_iat) to now. */
static enum swb_code check_times(long long iat, bool has_iat, long long exp, long long nbf, bool has_nbf,
	long long now, struct swb_err *err)
{
	char when[TIME_BUF], at[TIME_BUF];
	fmt_time(now, at, sizeof at);
	if (exp <= now) {
		fmt_time(exp, when, sizeof when);
		return swb_err_set(err, SWB_EAUTH, "token expired at %s (now %s)", when, at);
	}
	if (has_nbf && nbf > now) {
		fmt_time(nbf, when, sizeof when);
		return swb_err_set(err, SWB_EAUTH, "token not valid before %s (now %s)", when, at);
	}
	if (has_iat && now <= LLONG_MAX - SWB_TOKEN_CLOCK_SKEW && iat > now + SWB_TOKEN_CLOCK_SKEW) {
		fmt_time(iat, when, sizeof when);
		return swb_err_set(err, SWB_EAUTH,
			"token issued in the future at %s (now %s, more than %d s clock skew)",
			when, at, SWB_TOKEN_CLOCK_SKEW);
	}
	return SWB_OK;
}

static enum swb_code check_secret(const unsigned char *secret, size_t len, struct swb_err *err)
{
	if (!secret || len == 0 || len > INT_MAX)
		return swb_err_set(err, SWB_EINVAL, "token secret is empty or too long");
	return SWB_OK;
}

static bool hs256(const unsigned char *secret, size_t secret_len, const char *data, size_t n,
	unsigned char mac[HS256_LEN])
{
	unsigned int mac_len = 0;
	return HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)data, n, mac, &mac_len) &&
	       mac_len == HS256_LEN;
}

/* ---- JWT framing ---- */

/* A token split into its three segments (pointing into the token). */
struct jwt {
	const char *seg[3];
	size_t len[3];
};

static enum swb_code jwt_split(const char *token, struct jwt *j, struct swb_err *err)
{
	if (!token)
		return swb_err_set(err, SWB_EAUTH, "no token");
	size_t n = strnlen(token, SWB_TOKEN_MAX_LEN + 1);
	if (n > SWB_TOKEN_MAX_LEN)
		return swb_err_set(err, SWB_EAUTH, "token is longer than %d bytes", SWB_TOKEN_MAX_LEN);
	int parts = 1;
	for (size_t i = 0; i < n; i++)
		parts += token[i] == '.';
	if (parts != 3)
		return swb_err_set(err, SWB_EAUTH,
			"token is not a JWT (%d dot-separated part%s, expected 3)", parts, parts == 1 ? "" : "s");
	const char *p = token;
	for (int i = 0; i < 3; i++) {
		const char *end = i < 2 ? strchr(p, '.') : token + n;
		j->seg[i] = p;
		j->len[i] = (size_t)(end - p);
		p = end + 1;
	}
	return SWB_OK;
}

/* Decodes segment i as a base64url JSON object; *out is a new reference. */
static enum swb_code jwt_json(const struct jwt *j, int i, const char *what, json_t **out, struct swb_err *err)
{
	unsigned char buf[SWB_TOKEN_MAX_LEN]; /* decoding only shrinks a segment */
	size_t n;
	if (!b64url_decode(j->seg[i], j->len[i], buf, &n))
		return swb_err_set(err, SWB_EAUTH, "token %s is not unpadded base64url", what);
	json_error_t je;
	json_t *v = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &je);
	if (!v)
		return swb_err_set(err, SWB_EAUTH, "token %s is not valid JSON: %s", what, je.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return swb_err_set(err, SWB_EAUTH, "token %s is not a JSON object", what);
	}
	*out = v;
	return SWB_OK;
}

/*
 * Checks the header: alg HS256, typ JWT, and cty equal to want_cty. With
 * want_cty NULL (our tokens) the header must be exactly {alg, typ}; Twilio's
 * may also carry its region, "twr".
 */
static enum swb_code jwt_check_header(const struct jwt *j, const char *want_cty, struct swb_err *err)
{
	json_t *h;
	enum swb_code rc = jwt_json(j, 0, "header", &h, err);
	if (rc)
		return rc;
	const char *alg, *typ = NULL, *cty = NULL, *twr = NULL;
	json_error_t je;
	if (json_unpack_ex(h, &je, 0, "{s:s}", "alg", &alg) != 0)
		rc = swb_err_set(err, SWB_EAUTH, "token header: %s", je.text);
	else if (strcmp(alg, "HS256") != 0)
		rc = swb_err_set(err, SWB_EAUTH, "token algorithm '%s' is not supported (only HS256)",
			quotable(alg));
	else if (json_unpack_ex(h, &je, JSON_STRICT, "{s:s, s?:s, s?:s, s?:s}", "alg", &alg,
			"typ", &typ, "cty", &cty, "twr", &twr) != 0)
		rc = swb_err_set(err, SWB_EAUTH, "token header: %s", je.text);
	else if (!typ || strcmp(typ, "JWT") != 0)
		rc = swb_err_set(err, SWB_EAUTH, "token header: typ must be \"JWT\"");
	else if (want_cty && (!cty || strcmp(cty, want_cty) != 0))
		rc = swb_err_set(err, SWB_EAUTH, "token header: cty must be \"%s\" (not a Twilio Access Token)",
			want_cty);
	else if (!want_cty && (cty || twr))
		rc = swb_err_set(err, SWB_EAUTH, "token header: unexpected %s (a Twilio Access Token?)",
			cty ? "cty" : "twr");
	json_decref(h);
	return rc;
}

static enum swb_code jwt_check_signature(const unsigned char *secret, size_t secret_len, const struct jwt *j,
	struct swb_err *err)
{
	unsigned char want[HS256_LEN], got[HS256_LEN + 2];
	size_t got_len;
	if (j->len[2] != HS256_B64_LEN)
		return swb_err_set(err, SWB_EAUTH, "token signature does not match");
	if (!b64url_decode(j->seg[2], j->len[2], got, &got_len))
		return swb_err_set(err, SWB_EAUTH, "token signature is not unpadded base64url");
	if (!hs256(secret, secret_len, j->seg[0], j->len[0] + 1 + j->len[1], want))
		return swb_err_set(err, SWB_EINTERNAL, "HMAC-SHA256 failed");
	if (got_len != HS256_LEN || CRYPTO_memcmp(want, got, HS256_LEN) != 0)
		return swb_err_set(err, SWB_EAUTH, "token signature does not match");
	return SWB_OK;
}

/*
 * Checks everything but what the claims mean; on success *claims is a new
 * reference to the claims object.
 */
static enum swb_code jwt_open(const unsigned char *secret, size_t secret_len, const char *token,
	const char *want_cty, json_t **claims, struct swb_err *err)
{
	struct jwt j;
	enum swb_code rc = check_secret(secret, secret_len, err);
	if (!rc)
		rc = jwt_split(token, &j, err);
	if (!rc)
		rc = jwt_check_header(&j, want_cty, err);
	if (!rc)
		rc = jwt_check_signature(secret, secret_len, &j, err);
	if (!rc)
		rc = jwt_json(&j, 1, "claims", claims, err);
	return rc;
}

/* Serializes header and claims (both borrowed), signs, and sets *out (malloc'd). */
static enum swb_code jwt_sign(const unsigned char *secret, size_t secret_len, json_t *header, json_t *claims,
	char **out, struct swb_err *err)
{
	enum swb_code rc = SWB_OK;
	char *h = json_dumps(header, JSON_COMPACT);
	char *c = json_dumps(claims, JSON_COMPACT);
	char *tok = NULL;
	if (!h || !c) {
		rc = swb_err_set(err, SWB_ENOMEM, "out of memory encoding a token");
		goto done;
	}
	size_t hl = b64url_encoded_len(strlen(h)), cl = b64url_encoded_len(strlen(c));
	size_t total = hl + 1 + cl + 1 + HS256_B64_LEN;
	if (total > SWB_TOKEN_MAX_LEN) {
		rc = swb_err_set(err, SWB_EINVAL, "token would be %zu bytes, over the %d-byte limit",
			total, SWB_TOKEN_MAX_LEN);
		goto done;
	}
	tok = malloc(total + 1);
	if (!tok) {
		rc = swb_err_set(err, SWB_ENOMEM, "out of memory encoding a token");
		goto done;
	}
	b64url_encode((const unsigned char *)h, strlen(h), tok);
	tok[hl] = '.';
	b64url_encode((const unsigned char *)c, strlen(c), tok + hl + 1);
	unsigned char mac[HS256_LEN];
	if (!hs256(secret, secret_len, tok, hl + 1 + cl, mac)) {
		rc = swb_err_set(err, SWB_EINTERNAL, "HMAC-SHA256 failed");
		goto done;
	}
	tok[hl + 1 + cl] = '.';
	b64url_encode(mac, HS256_LEN, tok + hl + 1 + cl + 1);
	tok[total] = '\0';
	*out = tok;
	tok = NULL;
done:
	free(tok);
	free(h);
	free(c);
	return rc;
}

/* ---- our own tokens ---- */

static enum swb_code scope_parse(const char *s, struct swb_token_claims *out, enum swb_code code,
	struct swb_err *err)
{
	static const char worker_prefix[] = "worker:";
	if (strcmp(s, "admin") == 0) {
		out->scope = SWB_SCOPE_ADMIN;
		out->worker_sid[0] = '\0';
	} else if (strcmp(s, "supervisor") == 0) {
		out->scope = SWB_SCOPE_SUPERVISOR;
		out->worker_sid[0] = '\0';
	} else if (strncmp(s, worker_prefix, sizeof worker_prefix - 1) == 0) {
		const char *sid = s + sizeof worker_prefix - 1;
		if (!sid_valid(sid, "WK"))
			return swb_err_set(err, code,
				"scope '%s': worker sid must be WK + 32 lowercase hex digits", quotable(s));
		out->scope = SWB_SCOPE_WORKER;
		memcpy(out->worker_sid, sid, SWB_SID_LEN + 1);
	} else {
		return swb_err_set(err, code,
			"scope '%s' is not admin, supervisor or worker:WK<32 hex digits>", quotable(s));
	}
	return SWB_OK;
}

enum swb_code swb_scope_parse(const char *s, struct swb_token_claims *out, struct swb_err *err)
{
	if (!s)
		return swb_err_set(err, SWB_EINVAL, "no scope");
	struct swb_token_claims c = *out;
	enum swb_code rc = scope_parse(s, &c, SWB_EINVAL, err);
	if (!rc)
		*out = c;
	return rc;
}

void swb_scope_format(const struct swb_token_claims *c, char *buf, size_t len)
{
	if (len == 0)
		return;
	switch (c->scope) {
	case SWB_SCOPE_ADMIN:
		snprintf(buf, len, "admin");
		break;
	case SWB_SCOPE_SUPERVISOR:
		snprintf(buf, len, "supervisor");
		break;
	case SWB_SCOPE_WORKER:
		snprintf(buf, len, "worker:%s", c->worker_sid);
		break;
	default:
		snprintf(buf, len, "invalid");
		break;
	}
}

enum swb_code swb_token_sign(const unsigned char *secret, size_t secret_len,
	const struct swb_token_claims *c, char **out, struct swb_err *err)
{
	enum swb_code rc = check_secret(secret, secret_len, err);
	if (rc)
		return rc;
	if (c->scope != SWB_SCOPE_ADMIN && c->scope != SWB_SCOPE_SUPERVISOR && c->scope != SWB_SCOPE_WORKER)
		return swb_err_set(err, SWB_EINVAL, "cannot sign a token: unknown scope %d", (int)c->scope);
	if (c->scope == SWB_SCOPE_WORKER && !sid_valid(c->worker_sid, "WK"))
		return swb_err_set(err, SWB_EINVAL,
			"cannot sign a token: worker sid must be WK + 32 lowercase hex digits");
	if (c->iat < 0 || c->exp <= c->iat)
		return swb_err_set(err, SWB_EINVAL, "cannot sign a token: need 0 <= iat < exp (iat %lld, exp %lld)",
			c->iat, c->exp);

	char scope[SWB_SCOPE_MAX_LEN];
	swb_scope_format(c, scope, sizeof scope);
	json_t *h = json_pack("{s:s, s:s}", "alg", "HS256", "typ", "JWT");
	json_t *cl = json_pack("{s:s, s:I, s:I, s:s}", "scope", scope, "iat", (json_int_t)c->iat,
		"exp", (json_int_t)c->exp, "iss", SWB_TOKEN_ISSUER);
	if (!h || !cl)
		rc = swb_err_set(err, SWB_ENOMEM, "out of memory encoding a token");
	else
		rc = jwt_sign(secret, secret_len, h, cl, out, err);
	json_decref(h);
	json_decref(cl);
	return rc;
}

enum swb_code swb_token_verify(const unsigned char *secret, size_t secret_len,
	const char *token, long long now, struct swb_token_claims *out, struct swb_err *err)
{
	json_t *claims;
	enum swb_code rc = jwt_open(secret, secret_len, token, NULL, &claims, err);
	if (rc)
		return rc;

	struct swb_token_claims c = {0};
	const char *scope, *iss;
	json_int_t iat, exp;
	json_error_t je;
	if (json_unpack_ex(claims, &je, JSON_STRICT, "{s:s, s:I, s:I, s:s}", "scope", &scope,
			"iat", &iat, "exp", &exp, "iss", &iss) != 0)
		rc = swb_err_set(err, SWB_EAUTH, "token claims: %s", je.text);
	else if (strcmp(iss, SWB_TOKEN_ISSUER) != 0)
		rc = swb_err_set(err, SWB_EAUTH, "token issuer '%s' is not %s", quotable(iss), SWB_TOKEN_ISSUER);
	else
		rc = check_times(iat, true, exp, 0, false, now, err);
	if (!rc && (rc = scope_parse(scope, &c, SWB_EAUTH, err)) != SWB_OK)
		swb_err_prefix(err, "token");
	json_decref(claims);
	if (rc)
		return rc;
	c.iat = iat;
	c.exp = exp;
	if (out)
		*out = c;
	return SWB_OK;
}

/* ---- Twilio Access Tokens ---- */

static bool twilio_role_valid(const char *role)
{
	return strcmp(role, "worker") == 0 || strcmp(role, "supervisor") == 0 || strcmp(role, "admin") == 0;
}

enum swb_code swb_twilio_token_sign(const unsigned char *secret, size_t len,
	const struct swb_twilio_claims *c, char **out, struct swb_err *err)
{
	enum swb_code rc = check_secret(secret, len, err);
	if (rc)
		return rc;
	const char *bad = NULL;
	if (!sid_valid(c->api_key_sid, "SK"))
		bad = "API key sid must be SK + 32 lowercase hex digits";
	else if (!sid_valid(c->account_sid, "AC"))
		bad = "account sid must be AC + 32 lowercase hex digits";
	else if (!sid_valid(c->workspace_sid, "WS"))
		bad = "workspace sid must be WS + 32 lowercase hex digits";
	else if (c->worker_sid[0] && !sid_valid(c->worker_sid, "WK"))
		bad = "worker sid must be WK + 32 lowercase hex digits";
	else if (c->role[0] && !twilio_role_valid(c->role))
		bad = "role must be worker, supervisor or admin";
	else if (!memchr(c->identity, '\0', sizeof c->identity))
		bad = "identity is not NUL-terminated";
	else if (c->iat < 0 || c->nbf < 0 || c->exp <= c->iat)
		bad = "need 0 <= iat < exp and nbf >= 0";
	if (bad)
		return swb_err_set(err, SWB_EINVAL, "cannot sign a Twilio token: %s", bad);

	/* Key order as twilio-node + jsonwebtoken emit it. */
	char jti[SWB_SID_LEN + 32];
	snprintf(jti, sizeof jti, "%s-%lld", c->api_key_sid, c->iat);
	json_t *h = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "typ", "JWT", "cty", TWILIO_CTY);
	json_t *tr = json_pack("{s:s}", "workspace_sid", c->workspace_sid);
	json_t *grants = json_object();
	json_t *cl = json_pack("{s:s}", "jti", jti);
	bool ok = h && tr && grants && cl;
	if (ok && c->worker_sid[0])
		ok = json_object_set_new(tr, "worker_sid", json_string(c->worker_sid)) == 0;
	if (ok && c->role[0])
		ok = json_object_set_new(tr, "role", json_string(c->role)) == 0;
	if (ok && c->identity[0])
		ok = json_object_set_new(grants, "identity", json_string(c->identity)) == 0;
	if (ok)
		ok = json_object_set(grants, "task_router", tr) == 0 &&
		     json_object_set(cl, "grants", grants) == 0;
	if (ok && c->nbf)
		ok = json_object_set_new(cl, "nbf", json_integer(c->nbf)) == 0;
	if (ok)
		ok = json_object_set_new(cl, "iat", json_integer(c->iat)) == 0 &&
		     json_object_set_new(cl, "exp", json_integer(c->exp)) == 0 &&
		     json_object_set_new(cl, "iss", json_string(c->api_key_sid)) == 0 &&
		     json_object_set_new(cl, "sub", json_string(c->account_sid)) == 0;
	if (!ok)
		rc = swb_err_set(err, SWB_EINVAL, "cannot sign a Twilio token: identity is not UTF-8 or out of memory");
	else
		rc = jwt_sign(secret, len, h, cl, out, err);
	json_decref(h);
	json_decref(tr);
	json_decref(grants);
	json_decref(cl);
	return rc;
}

/* Copies src into dst[size] or fails if it does not fit. */
static bool copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

enum swb_code swb_twilio_token_verify(const unsigned char *secret, size_t len,
	const char *expected_key_sid, const char *token, long long now,
	struct swb_twilio_claims *out, struct swb_err *err)
{
	if (!expected_key_sid)
		return swb_err_set(err, SWB_EINVAL, "no API key sid to verify against");
	json_t *claims;
	enum swb_code rc = jwt_open(secret, len, token, TWILIO_CTY, &claims, err);
	if (rc)
		return rc;

	/*
	 * Top level strict; grants may hold other products' grants (voice,
	 * chat, ...) but task_router is strict. twilio-python omits iat, so it
	 * is optional (0 = absent), like nbf and jti.
	 */
	struct swb_twilio_claims c = {0};
	const char *jti = "", *identity = "", *ws, *wk = "", *role = "", *iss, *sub;
	json_int_t iat = 0, exp, nbf = 0;
	json_t *iat_j = NULL, *nbf_j = NULL;
	json_error_t je;
	if (json_unpack_ex(claims, &je, 0,
			"{s?:s, s:{s?:s, s:{s:s, s?:s, s?:s !} *}, s?:o, s?:o, s:I, s:s, s:s !}",
			"jti", &jti, "grants", "identity", &identity, "task_router", "workspace_sid", &ws,
			"worker_sid", &wk, "role", &role, "nbf", &nbf_j, "iat", &iat_j, "exp", &exp,
			"iss", &iss, "sub", &sub) != 0) {
		rc = swb_err_set(err, SWB_EAUTH, "token claims: %s", je.text);
		goto done;
	}
	if ((nbf_j && !json_is_integer(nbf_j)) || (iat_j && !json_is_integer(iat_j))) {
		rc = swb_err_set(err, SWB_EAUTH, "token claims: %s must be an integer",
			nbf_j && !json_is_integer(nbf_j) ? "nbf" : "iat");
		goto done;
	}
	nbf = nbf_j ? json_integer_value(nbf_j) : 0;
	iat = iat_j ? json_integer_value(iat_j) : 0;
	if (strcmp(iss, expected_key_sid) != 0) {
		rc = swb_err_set(err, SWB_EAUTH, "token issuer '%s' is not API key %s", quotable(iss),
			quotable(expected_key_sid));
		goto done;
	}
	rc = check_times(iat, iat_j != NULL, exp, nbf, nbf_j != NULL, now, err);
	if (rc)
		goto done;

	const char *bad = NULL;
	if (!sid_valid(iss, "SK"))
		bad = "iss is not an API key sid (SK + 32 lowercase hex digits)";
	else if (!sid_valid(sub, "AC"))
		bad = "sub is not an account sid (AC + 32 lowercase hex digits)";
	else if (!sid_valid(ws, "WS"))
		bad = "grants.task_router.workspace_sid is not a workspace sid (WS + 32 lowercase hex digits)";
	else if (wk[0] && !sid_valid(wk, "WK"))
		bad = "grants.task_router.worker_sid is not a worker sid (WK + 32 lowercase hex digits)";
	else if (role[0] && !twilio_role_valid(role))
		bad = "grants.task_router.role is not worker, supervisor or admin";
	else if (!copy_str(c.identity, sizeof c.identity, identity))
		bad = "grants.identity is longer than 127 bytes";
	if (bad) {
		rc = swb_err_set(err, SWB_EAUTH, "token claims: %s", bad);
		goto done;
	}
	memcpy(c.api_key_sid, iss, SWB_SID_LEN + 1);
	memcpy(c.account_sid, sub, SWB_SID_LEN + 1);
	memcpy(c.workspace_sid, ws, SWB_SID_LEN + 1);
	if (wk[0])
		memcpy(c.worker_sid, wk, SWB_SID_LEN + 1);
	copy_str(c.role, sizeof c.role, role); /* fits: one of three known roles or "" */
	c.iat = iat;
	c.exp = exp;
	c.nbf = nbf;
	if (out)
		*out = c;
done:
	json_decref(claims);
	return rc;
}

enum swb_code swb_token_peek_issuer(const char *token, char *iss, size_t len, struct swb_err *err)
{
	struct jwt j;
	json_t *claims;
	enum swb_code rc = jwt_split(token, &j, err);
	if (!rc)
		rc = jwt_json(&j, 1, "claims", &claims, err);
	if (rc)
		return rc;
	const char *s;
	json_error_t je;
	if (json_unpack_ex(claims, &je, 0, "{s:s}", "iss", &s) != 0)
		rc = swb_err_set(err, SWB_EAUTH, "token claims: %s", je.text);
	else if (!iss || !copy_str(iss, len, s))
		rc = swb_err_set(err, SWB_EAUTH, "token issuer is longer than %zu bytes", len ? len - 1 : 0);
	json_decref(claims);
	return rc;
}

/* ---- the secret file and random hex ---- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

enum swb_code swb_random_hex(char *out, size_t nbytes, struct swb_err *err)
{
	unsigned char buf[64];
	for (size_t done = 0; done < nbytes;) {
		size_t n = nbytes - done < sizeof buf ? nbytes - done : sizeof buf;
		if (RAND_bytes(buf, (int)n) != 1) {
			OPENSSL_cleanse(buf, sizeof buf);
			return swb_err_set(err, SWB_EIO, "random number generator failed");
		}
		hex_encode(buf, n, out + 2 * done);
		done += n;
	}
	out[2 * nbytes] = '\0';
	OPENSSL_cleanse(buf, sizeof buf);
	return SWB_OK;
}

enum swb_code swb_secret_load(const char *path, unsigned char secret[SWB_SECRET_LEN], struct swb_err *err)
{
	char text[SECRET_HEX_LEN + 2]; /* hex, optional newline, one byte to notice more */
	enum swb_code rc = SWB_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return swb_err_set(err, SWB_EIO, "secret file %s: %s", path, strerror(errno));
	struct stat st;
	size_t n = 0;
	if (fstat(fd, &st) != 0) {
		rc = swb_err_set(err, SWB_EIO, "secret file %s: %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = swb_err_set(err, SWB_EIO, "secret file %s is not a regular file", path);
		goto done;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		rc = swb_err_set(err, SWB_EIO,
			"secret file %s is accessible by group or others (mode %03o); run: chmod 600 %s",
			path, (unsigned)(st.st_mode & 0777), path);
		goto done;
	}
	while (n < sizeof text) {
		ssize_t r = read(fd, text + n, sizeof text - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = swb_err_set(err, SWB_EIO, "secret file %s: %s", path, strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	bool ok = n == SECRET_HEX_LEN || (n == SECRET_HEX_LEN + 1 && text[SECRET_HEX_LEN] == '\n');
	unsigned char key[SWB_SECRET_LEN];
	for (size_t i = 0; ok && i < SWB_SECRET_LEN; i++) {
		int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
		ok = hi >= 0 && lo >= 0;
		if (ok)
			key[i] = (unsigned char)(hi << 4 | lo);
	}
	if (!ok)
		rc = swb_err_set(err, SWB_EIO, "secret file %s must hold exactly %d hex digits (and optionally a newline)",
			path, SECRET_HEX_LEN);
	else
		memcpy(secret, key, SWB_SECRET_LEN);
	OPENSSL_cleanse(key, sizeof key);
done:
	OPENSSL_cleanse(text, sizeof text);
	close(fd);
	return rc;
}

static enum swb_code write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return SWB_EIO;
		buf += w;
		n -= (size_t)w;
	}
	return SWB_OK;
}

/*
 * Writes a fresh secret to a temporary file and links it to path. Returns
 * SWB_OK also when another process created path first (EEXIST): the caller
 * then loads that one.
 */
static enum swb_code secret_create(const char *dir, const char *path, struct swb_err *err)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s/.secret.tmp.XXXXXX", dir) >= (int)sizeof tmp)
		return swb_err_set(err, SWB_EIO, "secret directory path is too long: %s", dir);
	char text[SECRET_HEX_LEN + 2];
	enum swb_code rc = swb_random_hex(text, SWB_SECRET_LEN, err);
	if (rc)
		return rc;
	text[SECRET_HEX_LEN] = '\n';
	text[SECRET_HEX_LEN + 1] = '\0';

	int fd = mkstemp(tmp); /* O_CREAT | O_EXCL, mode 0600 */
	if (fd < 0) {
		rc = swb_err_set(err, SWB_EIO, "cannot create the secret in %s: %s", dir, strerror(errno));
		goto wipe;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, text, SECRET_HEX_LEN + 1) != SWB_OK || fsync(fd) != 0) {
		rc = swb_err_set(err, SWB_EIO, "cannot write the secret %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto wipe;
	}
	if (close(fd) != 0) {
		rc = swb_err_set(err, SWB_EIO, "cannot write the secret %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto wipe;
	}
	/* link(), unlike rename(), never replaces a secret someone else just made. */
	if (link(tmp, path) != 0 && errno != EEXIST)
		rc = swb_err_set(err, SWB_EIO, "cannot create the secret %s: %s", path, strerror(errno));
	unlink(tmp);
	if (!rc) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd); /* best effort: makes the new name durable */
			close(dfd);
		}
	}
wipe:
	OPENSSL_cleanse(text, sizeof text);
	return rc;
}

enum swb_code swb_secret_load_or_create(const char *dir, unsigned char secret[SWB_SECRET_LEN],
	struct swb_err *err)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/secret", dir) >= (int)sizeof path)
		return swb_err_set(err, SWB_EIO, "secret directory path is too long: %s", dir);
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT)
			return swb_err_set(err, SWB_EIO, "secret file %s: %s", path, strerror(errno));
		enum swb_code rc = secret_create(dir, path, err);
		if (rc)
			return rc;
	}
	return swb_secret_load(path, secret, err);
}
