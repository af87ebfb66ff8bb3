/*
 * test_token.c - tests common/token.c: signing and verifying our own tokens
 * and Twilio Access Tokens, every rejection path, the scope helpers, the
 * secret file and random hex.
 *
 * Hostile tokens are built with an independent signer (sign_raw: OpenSSL's
 * HMAC and base64) so that claims the module would never sign can still
 * carry a valid signature and reach the claim checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "token.h"

/* 2023-11-14T22:13:20Z */
#define NOW 1700000000LL

#define WORKER_SID "WK0123456789abcdef0123456789abcdef"

static const unsigned char SECRET[SWB_SECRET_LEN] = "0123456789abcdef0123456789abcde";
static const unsigned char OTHER_SECRET[SWB_SECRET_LEN] = "fedcba9876543210fedcba987654321";

/*
 * A Twilio Access Token as twilio-node's AccessToken.toJwt() makes it
 * (AccessToken(TW_ACCOUNT, TW_KEY, TW_SECRET, {identity:"alice", ttl:3600})
 * + TaskRouterGrant{workspaceSid, workerSid, role:"worker"} at iat
 * 1700000000). Computed with node 20 and only its crypto module, following
 * twilio-node src/jwt/AccessToken.ts and jsonwebtoken sign.js:
 *
 *   node -e 'const c=require("crypto"),b=s=>Buffer.from(s).toString("base64url");
 *     const h={alg:"HS256",typ:"JWT",cty:"twilio-fpa;v=1"};
 *     const p={jti:K+"-"+1700000000,grants:{identity:"alice",task_router:{workspace_sid:WS,
 *       worker_sid:WK,role:"worker"}},iat:1700000000,exp:1700003600,iss:K,sub:AC};
 *     const si=b(JSON.stringify(h))+"."+b(JSON.stringify(p));
 *     console.log(si+"."+c.createHmac("sha256",SECRET).update(si).digest("base64url"))'
 *
 * TWILIO_TOKEN_NBF is the same for identity "bob", grant {workspace_sid,
 * role:"admin"}, ttl 600 and nbf 1700000100 (payload order jti, grants,
 * nbf, iat, exp, iss, sub).
 */
#define TW_SECRET "Zq3VnX7pT1kL9sB2wE5rY8uI0oA4dF6g"
#define TW_KEY "SK0123456789abcdef0123456789abcdef"
#define TW_ACCOUNT "AC00112233445566778899aabbccddeeff"
#define TW_WORKSPACE "WSfedcba9876543210fedcba9876543210"
#define TW_WORKER "WK89abcdef0123456789abcdef01234567"
#define TW_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\"}"

static const char TWILIO_TOKEN[] =
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0xIn0."
	"eyJqdGkiOiJTSzAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmLTE3MDAwMDAwMDAiLCJncmFudHMiOnsiaWRl"
	"bnRpdHkiOiJhbGljZSIsInRhc2tfcm91dGVyIjp7IndvcmtzcGFjZV9zaWQiOiJXU2ZlZGNiYTk4NzY1NDMyMTBmZWRj"
	"YmE5ODc2NTQzMjEwIiwid29ya2VyX3NpZCI6IldLODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1NjciLCJyb2xl"
	"Ijoid29ya2VyIn19LCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMCwiaXNzIjoiU0swMTIzNDU2Nzg5YWJj"
	"ZGVmMDEyMzQ1Njc4OWFiY2RlZiIsInN1YiI6IkFDMDAxMTIyMzM0NDU1NjY3Nzg4OTlhYWJiY2NkZGVlZmYifQ."
	"7XsBkjDgUGFPr1jsj3fDb7DLjQamIzPmrGH-ATXc5Us";

static const char TWILIO_TOKEN_NBF[] =
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0xIn0."
	"eyJqdGkiOiJTSzAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmLTE3MDAwMDAwMDAiLCJncmFudHMiOnsiaWRl"
	"bnRpdHkiOiJib2IiLCJ0YXNrX3JvdXRlciI6eyJ3b3Jrc3BhY2Vfc2lkIjoiV1NmZWRjYmE5ODc2NTQzMjEwZmVkY2Jh"
	"OTg3NjU0MzIxMCIsInJvbGUiOiJhZG1pbiJ9fSwibmJmIjoxNzAwMDAwMTAwLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6"
	"MTcwMDAwMDYwMCwiaXNzIjoiU0swMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZiIsInN1YiI6IkFDMDAxMTIy"
	"MzM0NDU1NjY3Nzg4OTlhYWJiY2NkZGVlZmYifQ."
	"RdrNGxrapFNwAqyrrRCJwvHhhNcCnwFXm-IG7AcW828";

#define TW_SECRET_ARGS (const unsigned char *)TW_SECRET, strlen(TW_SECRET)

/* Asserts rc == want_code, err.code == want_code, and that err's message contains want. */
#define assert_err(rc, err, want_code, want) \
	do { \
		assert_int_equal((rc), (want_code)); \
		assert_int_equal((err).code, (want_code)); \
		if (!strstr((err).msg, (want))) \
			fail_msg("error message '%s' lacks '%s'", (err).msg, (want)); \
	} while (0)

/* ---- an independent signer ---- */

/* base64url without padding, malloc'd. */
static char *b64url(const void *data, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	assert_non_null(out);
	int len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

/* Joins three strings with dots into a malloc'd token. */
static char *join3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%s.%s.%s", a, b, c);
	return out;
}

/* Signs the literal header and claims text with HS256 (malloc'd token). */
static char *sign_raw_len(const void *secret, size_t secret_len, const char *header, const char *claims,
	size_t claims_len)
{
	char *h = b64url(header, strlen(header));
	char *c = b64url(claims, claims_len);
	size_t n = strlen(h) + 1 + strlen(c);
	char *input = malloc(n + 1);
	assert_non_null(input);
	snprintf(input, n + 1, "%s.%s", h, c);
	unsigned char mac[32];
	unsigned int mac_len = 0;
	assert_non_null(HMAC(EVP_sha256(), secret, (int)secret_len, (unsigned char *)input, n, mac, &mac_len));
	char *sig = b64url(mac, mac_len);
	char *tok = join3(h, c, sig);
	free(h);
	free(c);
	free(input);
	free(sig);
	return tok;
}

static char *sign_raw(const char *header, const char *claims)
{
	return sign_raw_len(SECRET, sizeof SECRET, header, claims, strlen(claims));
}

static char *sign_raw_twilio(const char *claims)
{
	return sign_raw_len(TW_SECRET, strlen(TW_SECRET), TW_HEADER, claims, strlen(claims));
}

#define OUR_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/* Verifies a raw-signed token of ours and expects an SWB_EAUTH containing want. */
static void expect_own_rejected(const char *header, const char *claims, const char *want)
{
	char *tok = sign_raw(header, claims);
	struct swb_err err = {0};
	struct swb_token_claims c;
	enum swb_code rc = swb_token_verify(SECRET, sizeof SECRET, tok, NOW, &c, &err);
	if (rc != SWB_EAUTH || !strstr(err.msg, want))
		fail_msg("claims %s: got %d '%s', wanted SWB_EAUTH with '%s'", claims, rc, err.msg, want);
	free(tok);
}

static void expect_twilio_rejected(const char *claims, const char *want)
{
	char *tok = sign_raw_twilio(claims);
	struct swb_err err = {0};
	struct swb_twilio_claims c;
	enum swb_code rc = swb_twilio_token_verify(TW_SECRET_ARGS, TW_KEY, tok, NOW, &c, &err);
	if (rc != SWB_EAUTH || !strstr(err.msg, want))
		fail_msg("claims %s: got %d '%s', wanted SWB_EAUTH with '%s'", claims, rc, err.msg, want);
	free(tok);
}

/* Verifies a literal token string and expects SWB_EAUTH containing want. */
static void expect_token_rejected(const char *tok, const char *want)
{
	struct swb_err err = {0};
	struct swb_token_claims c;
	enum swb_code rc = swb_token_verify(SECRET, sizeof SECRET, tok, NOW, &c, &err);
	if (rc != SWB_EAUTH || !strstr(err.msg, want))
		fail_msg("token '%.60s': got %d '%s', wanted SWB_EAUTH with '%s'", tok, rc, err.msg, want);
}

static char *sign_own(enum swb_scope scope, const char *worker_sid, long long iat, long long exp)
{
	struct swb_token_claims c = {.scope = scope, .iat = iat, .exp = exp};
	snprintf(c.worker_sid, sizeof c.worker_sid, "%s", worker_sid);
	char *tok = NULL;
	struct swb_err err = {0};
	if (swb_token_sign(SECRET, sizeof SECRET, &c, &tok, &err) != SWB_OK)
		fail_msg("sign: %s", err.msg);
	return tok;
}

/* ---- our own tokens: round trips ---- */

static void test_admin_token_round_trips(void **state)
{
	char *tok = sign_own(SWB_SCOPE_ADMIN, "", NOW, NOW + 3600);
	struct swb_token_claims c;
	struct swb_err err = {0};
	assert_int_equal(swb_token_verify(SECRET, sizeof SECRET, tok, NOW, &c, &err), SWB_OK);
	assert_int_equal(c.scope, SWB_SCOPE_ADMIN);
	assert_string_equal(c.worker_sid, "");
	assert_int_equal(c.iat, NOW);
	assert_int_equal(c.exp, NOW + 3600);
	free(tok);
}

static void test_supervisor_token_round_trips(void **state)
{
	char *tok = sign_own(SWB_SCOPE_SUPERVISOR, "", NOW - 10, NOW + 10);
	struct swb_token_claims c;
	assert_int_equal(swb_token_verify(SECRET, sizeof SECRET, tok, NOW, &c, NULL), SWB_OK);
	assert_int_equal(c.scope, SWB_SCOPE_SUPERVISOR);
	assert_int_equal(c.iat, NOW - 10);
	assert_int_equal(c.exp, NOW + 10);
	free(tok);
}

static void test_worker_token_round_trips_with_its_sid(void **state)
{
	char *tok = sign_own(SWB_SCOPE_WORKER, WORKER_SID, NOW, NOW + 60);
	struct swb_token_claims c;
	assert_int_equal(swb_token_verify(SECRET, sizeof SECRET, tok, NOW, &c, NULL), SWB_OK);
	assert_int_equal(c.scope, SWB_SCOPE_WORKER);
	assert_string_equal(c.worker_sid, WORKER_SID);
	free(tok);
}

static void test_verify_accepts_null_out_for_a_yes_no_check(void **state)
{
	char *tok = sign_own(SWB_SCOPE_ADMIN, "", NOW, NOW + 60);
	assert_int_equal(swb_token_verify(SECRET, sizeof SECRET, tok, NOW, NULL, NULL), SWB_OK);
	free(tok);
}

static void test_signed_token_has_the_documented_header_and_claims(void **state)
{
	char *tok = sign_own(SWB_SCOPE_WORKER, WORKER_SID, NOW, NOW + 3600);
	char *want = sign_raw(OUR_HEADER,
		"{\"scope\":\"worker:" WORKER_SID "\",\"iat\":1700000000,\"exp\":1700003600,\"iss\":\"switchboard\"}");
	assert_string_equal(tok, want);
	free(tok);
	free(want);
}

static void test_token_signed_elsewhere_with_our_secret_verifies(void **state)
{
	char *tok = sign_raw(OUR_HEADER,
		"{\"iss\":\"switchboard\",\"exp\":1700000100,\"scope\":\"supervisor\",\"iat\":1699999000}");
	struct swb_token_claims c;
	assert_int_equal(swb_token_verify(SECRET, sizeof SECRET, tok, NOW, &c, NULL), SWB_OK);
	assert_int_equal(c.scope, SWB_SCOPE_SUPERVISOR);
	assert_int_equal(c.exp, 1700000100);
	free(tok);
}

/* ---- our own tokens: signing refuses bad claims ---- */

static void test_sign_rejects_worker_scope_without_valid_sid(void **state)
{
	static const char *const bad[] = {
		"", "WK0123", "WK0123456789abcdef0123456789abcde", "WK0123456789ABCDEF0123456789abcdef",
		"WS0123456789abcdef0123456789abcdef", "WK0123456789abcdef0123456789abcdeg",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct swb_token_claims c = {.scope = SWB_SCOPE_WORKER, .iat = NOW, .exp = NOW + 1};
		snprintf(c.worker_sid, sizeof c.worker_sid, "%s", bad[i]);
		char *tok = (char *)"untouched";
		struct swb_err err = {0};
		assert_err(swb_token_sign(SECRET, sizeof SECRET, &c, &tok, &err), err, SWB_EINVAL, "worker sid");
		assert_string_equal(tok, "untouched");
	}
}

static void test_sign_rejects_missing_or_inverted_times(void **state)
{
	const long long times[][2] = {{NOW, 0}, {NOW, NOW}, {NOW, NOW - 1}, {-1, NOW}};
	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		struct swb_token_claims c = {.scope = SWB_SCOPE_ADMIN, .iat = times[i][0], .exp = times[i][1]};
		char *tok = NULL;
		struct swb_err err = {0};
		assert_err(swb_token_sign(SECRET, sizeof SECRET, &c, &tok, &err), err, SWB_EINVAL, "iat < exp");
		assert_null(tok);
	}
}

static void test_sign_rejects_unknown_scope_and_empty_secret(void **state)
{
	struct swb_token_claims c = {.scope = (enum swb_scope)7, .iat = NOW, .exp = NOW + 1};
	char *tok = NULL;
	struct swb_err err = {0};
	assert_err(swb_token_sign(SECRET, sizeof SECRET, &c, &tok, &err), err, SWB_EINVAL, "unknown scope");
	c.scope = SWB_SCOPE_ADMIN;
	assert_err(swb_token_sign(SECRET, 0, &c, &tok, &err), err, SWB_EINVAL, "secret");
	assert_err(swb_token_sign(NULL, 32, &c, &tok, &err), err, SWB_EINVAL, "secret");
	assert_null(tok);
}

/* ---- our own tokens: every rejection ---- */

static void test_verify_rejects_missing_token(void **state)
{
	struct swb_err err = {0};
	assert_err(swb_token_verify(SECRET, sizeof SECRET, NULL, NOW, NULL, &err), err, SWB_EAUTH, "no token");
}

static void test_verify_rejects_token_longer_than_limit_before_decoding(void **state)
{
	char *tok = malloc(SWB_TOKEN_MAX_LEN + 2);
	assert_non_null(tok);
	memset(tok, '!', SWB_TOKEN_MAX_LEN + 1);
	tok[SWB_TOKEN_MAX_LEN + 1] = '\0';
	expect_token_rejected(tok, "longer than 4096 bytes");
	/* At the limit the length passes and the next check speaks. */
	tok[SWB_TOKEN_MAX_LEN] = '\0';
	expect_token_rejected(tok, "not a JWT");
	free(tok);
}

static void test_verify_rejects_wrong_segment_count(void **state)
{
	expect_token_rejected("", "1 dot-separated part, expected 3");
	expect_token_rejected("abc", "1 dot-separated part, expected 3");
	expect_token_rejected("abc.def", "2 dot-separated parts");
	expect_token_rejected("a.b.c.d", "4 dot-separated parts");
	char *tok = sign_own(SWB_SCOPE_ADMIN, "", NOW, NOW + 60);
	char *longer = join3(tok, "x", "y");
	expect_token_rejected(longer, "5 dot-separated parts");
	free(longer);
	free(tok);
}

static void test_verify_rejects_bad_base64_in_header(void **state)
{
	char *good = sign_own(SWB_SCOPE_ADMIN, "", NOW, NOW + 60);
	const char *rest = strchr(good, '.');
	/* "{"alg"... with standard-alphabet, padded, impossible-length and non-canonical spellings. */
	static const char *const bad_headers[] = {
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9=",  /* padding */
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9==", /* padding */
		"eyJhbGciOiJIUzI1Ni+sInR5cCI6IkpXVCJ9",   /* '+' is standard base64, not base64url */
		"eyJhbGciOiJIUzI1Ni*sInR5cCI6IkpXVCJ9",   /* not base64 at all */
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9A",  /* 4n+1 characters */
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9e",  /* extra char, 4n+1 */
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ",    /* ok length, but ...CJ has nonzero unused bits */
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\n",
	};
	for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
		size_t n = strlen(bad_headers[i]) + strlen(rest) + 1;
		char *tok = malloc(n);
		assert_non_null(tok);
		snprintf(tok, n, "%s%s", bad_headers[i], rest);
		expect_token_rejected(tok, "token header is not unpadded base64url");
		free(tok);
	}
	free(good);
}

static void test_verify_rejects_non_canonical_or_short_signature(void **state)
{
	char *tok = sign_own(SWB_SCOPE_ADMIN, "", NOW, NOW + 60);
	size_t n = strlen(tok);
	/* The 43rd character carries 2 unused bits: flipping one is a second spelling of the same MAC. */
	char last = tok[n - 1];
	int v = last >= 'A' && last <= 'Z' ? last - 'A' : last >= 'a' && last <= 'z' ? last - 'a' + 26 :
		last >= '0' && last <= '9' ? last - '0' + 52 : last == '-' ? 62 : 63;
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	tok[n - 1] = digits[v ^ 1];
	expect_token_rejected(tok, "token signature is not unpadded base64url");
	tok[n - 1] = '\0';
	expect_token_rejected(tok, "token signature does not match");
	tok[n - 1] = last;
	free(tok);
}

static void test_verify_rejects_header_that_is_not_a_json_object(void **state)
{
	expect_own_rejected("{\"alg\":\"HS256\",", "{}", "token header is not valid JSON");
	expect_own_rejected("[\"HS256\"]", "{}", "token header is not a JSON object");
	expect_own_rejected("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"alg\":\"none\"}", "{}",
		"token header is not valid JSON: duplicate object key");
	expect_own_rejected("", "{}", "token header is not valid JSON");
}

static void test_verify_rejects_alg_none_even_without_signature(void **state)
{
	const char *claims = "{\"scope\":\"admin\",\"iat\":1700000000,\"exp\":1800000000,\"iss\":\"switchboard\"}";
	char *h = b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", 26);
	char *c = b64url(claims, strlen(claims));
	char *tok = join3(h, c, "");
	expect_token_rejected(tok, "token algorithm 'none' is not supported (only HS256)");
	free(tok);
	free(h);
	free(c);
	/* ... and with a signature that would match under HS256. */
	expect_own_rejected("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims, "algorithm 'none' is not supported");
}

static void test_verify_rejects_algorithms_other_than_hs256(void **state)
{
	const char *claims = "{\"scope\":\"admin\",\"iat\":1700000000,\"exp\":1800000000,\"iss\":\"switchboard\"}";
	expect_own_rejected("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", claims, "algorithm 'HS512' is not supported");
	expect_own_rejected("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", claims, "algorithm 'RS256' is not supported");
	expect_own_rejected("{\"alg\":\"hs256\",\"typ\":\"JWT\"}", claims, "algorithm 'hs256' is not supported");
	expect_own_rejected("{\"alg\":\"HS256\\u0000\",\"typ\":\"JWT\"}", claims, "token header is not valid JSON");
	expect_own_rejected("{\"alg\":\"\\u001b[31mred\",\"typ\":\"JWT\"}", claims,
		"algorithm '(unprintable or too long)'");
	expect_own_rejected("{\"typ\":\"JWT\"}", claims, "token header: Object item not found: alg");
	expect_own_rejected("{\"alg\":256,\"typ\":\"JWT\"}", claims, "token header: Expected string");
}

static void test_verify_rejects_unexpected_header_fields(void **state)
{
	const char *claims = "{\"scope\":\"admin\",\"iat\":1700000000,\"exp\":1800000000,\"iss\":\"switchboard\"}";
	expect_own_rejected("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", claims, "token header: ");
	expect_own_rejected("{\"alg\":\"HS256\"}", claims, "typ must be \"JWT\"");
	expect_own_rejected("{\"alg\":\"HS256\",\"typ\":\"JWS\"}", claims, "typ must be \"JWT\"");
	expect_own_rejected(TW_HEADER, claims, "unexpected cty");
}

static void test_verify_rejects_signature_made_with_another_secret(void **state)
{
	char *tok = sign_own(SWB_SCOPE_ADMIN, "", NOW, NOW + 60);
	struct swb_err err = {0};
	assert_err(swb_token_verify(OTHER_SECRET, sizeof OTHER_SECRET, tok, NOW, NULL, &err), err, SWB_EAUTH,
		"token signature does not match");
	assert_err(swb_token_verify(SECRET + 1, sizeof SECRET - 1, tok, NOW, NULL, &err), err, SWB_EAUTH,
		"token signature does not match");
	free(tok);
}

static void test_verify_rejects_tampered_claims(void **state)
{
	char *tok = sign_own(SWB_SCOPE_SUPERVISOR, "", NOW, NOW + 60);
	char *other = sign_own(SWB_SCOPE_ADMIN, "", NOW, NOW + 60);
	/* Swap in the admin claims under the supervisor signature. */
	char *sig = strrchr(tok, '.');
	*strrchr(other, '.') = '\0';
	size_t n = strlen(other) + strlen(sig) + 1;
	char *forged = malloc(n);
	assert_non_null(forged);
	snprintf(forged, n, "%s%s", other, sig);
	expect_token_rejected(forged, "token signature does not match");
	free(forged);
	free(other);
	free(tok);
}

static void test_verify_rejects_claims_that_are_not_json(void **state)
{
	expect_own_rejected(OUR_HEADER, "{\"scope\":\"admin\"", "token claims is not valid JSON");
	expect_own_rejected(OUR_HEADER, "\"admin\"", "token claims is not valid JSON");
	expect_own_rejected(OUR_HEADER, "[\"admin\"]", "token claims is not a JSON object");
	expect_own_rejected(OUR_HEADER, "", "token claims is not valid JSON");
	char *tok = sign_raw_len(SECRET, sizeof SECRET, OUR_HEADER, "{\"scope\":\"ad\0min\"}", 18);
	expect_token_rejected(tok, "token claims is not valid JSON");
	free(tok);
}

static void test_verify_rejects_claims_missing_extra_or_mistyped(void **state)
{
	expect_own_rejected(OUR_HEADER, "{\"scope\":\"admin\",\"iat\":1700000000,\"iss\":\"switchboard\"}",
		"token claims: Object item not found: exp");
	expect_own_rejected(OUR_HEADER,
		"{\"scope\":\"admin\",\"iat\":1700000000,\"exp\":1800000000,\"iss\":\"switchboard\",\"admin\":true}",
		"token claims: 1 object item(s) left unpacked: admin");
	expect_own_rejected(OUR_HEADER,
		"{\"scope\":\"admin\",\"iat\":\"1700000000\",\"exp\":1800000000,\"iss\":\"switchboard\"}",
		"token claims: Expected integer");
	expect_own_rejected(OUR_HEADER,
		"{\"scope\":\"admin\",\"iat\":1700000000,\"exp\":1.8e9,\"iss\":\"switchboard\"}",
		"token claims: Expected integer");
	expect_own_rejected(OUR_HEADER,
		"{\"scope\":\"admin\",\"iat\":1700000000,\"exp\":99999999999999999999,\"iss\":\"switchboard\"}",
		"token claims is not valid JSON");
	expect_own_rejected(OUR_HEADER,
		"{\"scope\":\"worker:" WORKER_SID "\",\"scope\":\"admin\",\"iat\":1700000000,\"exp\":1800000000,"
		"\"iss\":\"switchboard\"}",
		"duplicate object key");
}

static void test_verify_rejects_other_issuer(void **state)
{
	expect_own_rejected(OUR_HEADER,
		"{\"scope\":\"admin\",\"iat\":1700000000,\"exp\":1800000000,\"iss\":\"" TW_KEY "\"}",
		"token issuer '" TW_KEY "' is not switchboard");
}

static void test_verify_rejects_expired_token(void **state)
{
	char *tok = sign_own(SWB_SCOPE_ADMIN, "", NOW - 3600, NOW);
	struct swb_err err = {0};
	assert_err(swb_token_verify(SECRET, sizeof SECRET, tok, NOW, NULL, &err), err, SWB_EAUTH,
		"token expired at 2023-11-14T22:13:20Z (now 2023-11-14T22:13:20Z)");
	assert_err(swb_token_verify(SECRET, sizeof SECRET, tok, NOW + 86400, NULL, &err), err, SWB_EAUTH,
		"token expired at 2023-11-14T22:13:20Z (now 2023-11-15T22:13:20Z)");
	assert_int_equal(swb_token_verify(SECRET, sizeof SECRET, tok, NOW - 1, NULL, &err), SWB_OK);
	free(tok);
}

static void test_verify_rejects_token_issued_beyond_clock_skew(void **state)
{
	char *tok = sign_own(SWB_SCOPE_ADMIN, "", NOW + SWB_TOKEN_CLOCK_SKEW + 1, NOW + 3600);
	struct swb_err err = {0};
	assert_err(swb_token_verify(SECRET, sizeof SECRET, tok, NOW, NULL, &err), err, SWB_EAUTH,
		"token issued in the future at 2023-11-14T22:14:21Z");
	free(tok);
	tok = sign_own(SWB_SCOPE_ADMIN, "", NOW + SWB_TOKEN_CLOCK_SKEW, NOW + 3600);
	assert_int_equal(swb_token_verify(SECRET, sizeof SECRET, tok, NOW, NULL, &err), SWB_OK);
	free(tok);
}

static void test_verify_handles_extreme_times_without_overflow(void **state)
{
	expect_own_rejected(OUR_HEADER,
		"{\"scope\":\"admin\",\"iat\":-9223372036854775808,\"exp\":-9223372036854775808,\"iss\":\"switchboard\"}",
		"token expired at -9223372036854775808");
	char *tok = sign_raw(OUR_HEADER,
		"{\"scope\":\"admin\",\"iat\":9223372036854775807,\"exp\":9223372036854775807,\"iss\":\"switchboard\"}");
	struct swb_err err = {0};
	assert_err(swb_token_verify(SECRET, sizeof SECRET, tok, NOW, NULL, &err), err, SWB_EAUTH,
		"issued in the future at 9223372036854775807");
	assert_int_equal(swb_token_verify(SECRET, sizeof SECRET, tok, 9223372036854775806LL, NULL, &err), SWB_OK);
	free(tok);
}

static void test_verify_rejects_malformed_scope(void **state)
{
	static const char *const bad[] = {
		"root", "worker", "Admin", "admin ", "", "supervisor:x", ("workers:" WORKER_SID),
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char claims[256];
		snprintf(claims, sizeof claims,
			"{\"scope\":\"%s\",\"iat\":1700000000,\"exp\":1800000000,\"iss\":\"switchboard\"}", bad[i]);
		expect_own_rejected(OUR_HEADER, claims, "is not admin, supervisor or worker:WK<32 hex digits>");
	}
	expect_own_rejected(OUR_HEADER, "{\"scope\":3,\"iat\":1700000000,\"exp\":1800000000,\"iss\":\"switchboard\"}",
		"token claims: Expected string");
}

static void test_verify_rejects_worker_scope_with_invalid_sid(void **state)
{
	static const char *const bad[] = {
		"worker:", "worker:WK0123", ("worker:" WORKER_SID "0"), "worker:WK0123456789ABCDEF0123456789abcdef",
		"worker:WS0123456789abcdef0123456789abcdef", "worker:WK0123456789abcdef0123456789abcdeg",
		("worker: " WORKER_SID),
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char claims[256];
		snprintf(claims, sizeof claims,
			"{\"scope\":\"%s\",\"iat\":1700000000,\"exp\":1800000000,\"iss\":\"switchboard\"}", bad[i]);
		expect_own_rejected(OUR_HEADER, claims, "worker sid must be WK + 32 lowercase hex digits");
	}
}

static void test_verify_leaves_out_untouched_on_failure(void **state)
{
	char *tok = sign_own(SWB_SCOPE_WORKER, WORKER_SID, NOW - 100, NOW - 1);
	struct swb_token_claims c = {.scope = SWB_SCOPE_ADMIN, .worker_sid = "keep", .iat = 1, .exp = 2};
	struct swb_err err = {0};
	assert_int_equal(swb_token_verify(SECRET, sizeof SECRET, tok, NOW, &c, &err), SWB_EAUTH);
	assert_int_equal(c.scope, SWB_SCOPE_ADMIN);
	assert_string_equal(c.worker_sid, "keep");
	assert_int_equal(c.iat, 1);
	assert_int_equal(c.exp, 2);
	free(tok);
}

/* ---- scope helpers ---- */

static void test_scope_parse_accepts_the_three_scopes(void **state)
{
	struct swb_token_claims c = {.iat = 5, .exp = 6};
	assert_int_equal(swb_scope_parse("worker:" WORKER_SID, &c, NULL), SWB_OK);
	assert_int_equal(c.scope, SWB_SCOPE_WORKER);
	assert_string_equal(c.worker_sid, WORKER_SID);
	assert_int_equal(swb_scope_parse("supervisor", &c, NULL), SWB_OK);
	assert_int_equal(c.scope, SWB_SCOPE_SUPERVISOR);
	assert_string_equal(c.worker_sid, "");
	assert_int_equal(swb_scope_parse("admin", &c, NULL), SWB_OK);
	assert_int_equal(c.scope, SWB_SCOPE_ADMIN);
	assert_int_equal(c.iat, 5);
	assert_int_equal(c.exp, 6);
}

static void test_scope_parse_rejects_malformed_scopes_and_keeps_out(void **state)
{
	struct swb_token_claims c = {.scope = SWB_SCOPE_SUPERVISOR};
	struct swb_err err = {0};
	assert_err(swb_scope_parse("worker:WK12", &c, &err), err, SWB_EINVAL, "scope 'worker:WK12': worker sid");
	assert_err(swb_scope_parse("boss", &c, &err), err, SWB_EINVAL, "scope 'boss' is not admin");
	assert_err(swb_scope_parse(NULL, &c, &err), err, SWB_EINVAL, "no scope");
	assert_int_equal(c.scope, SWB_SCOPE_SUPERVISOR);
}

static void test_scope_format_round_trips_and_truncates(void **state)
{
	static const char *const scopes[] = {"admin", "supervisor", ("worker:" WORKER_SID)};
	for (size_t i = 0; i < 3; i++) {
		struct swb_token_claims c;
		char buf[SWB_SCOPE_MAX_LEN];
		assert_int_equal(swb_scope_parse(scopes[i], &c, NULL), SWB_OK);
		swb_scope_format(&c, buf, sizeof buf);
		assert_string_equal(buf, scopes[i]);
	}
	struct swb_token_claims c = {.scope = SWB_SCOPE_WORKER, .worker_sid = WORKER_SID};
	char small[8] = "xxxxxxx";
	swb_scope_format(&c, small, sizeof small);
	assert_string_equal(small, "worker:");
	swb_scope_format(&c, small, 0);
	assert_string_equal(small, "worker:");
}

/* ---- Twilio Access Tokens ---- */

static void test_token_from_twilio_library_verifies(void **state)
{
	struct swb_twilio_claims c;
	struct swb_err err = {0};
	if (swb_twilio_token_verify(TW_SECRET_ARGS, TW_KEY, TWILIO_TOKEN, NOW + 10, &c, &err) != SWB_OK)
		fail_msg("%s", err.msg);
	assert_string_equal(c.api_key_sid, TW_KEY);
	assert_string_equal(c.account_sid, TW_ACCOUNT);
	assert_string_equal(c.workspace_sid, TW_WORKSPACE);
	assert_string_equal(c.worker_sid, TW_WORKER);
	assert_string_equal(c.role, "worker");
	assert_string_equal(c.identity, "alice");
	assert_int_equal(c.iat, 1700000000);
	assert_int_equal(c.exp, 1700003600);
	assert_int_equal(c.nbf, 0);
}

static void test_twilio_sign_matches_twilio_library_byte_for_byte(void **state)
{
	struct swb_twilio_claims c = {
		.api_key_sid = TW_KEY, .account_sid = TW_ACCOUNT, .workspace_sid = TW_WORKSPACE,
		.worker_sid = TW_WORKER, .role = "worker", .identity = "alice",
		.iat = 1700000000, .exp = 1700003600,
	};
	char *tok = NULL;
	assert_int_equal(swb_twilio_token_sign(TW_SECRET_ARGS, &c, &tok, NULL), SWB_OK);
	assert_string_equal(tok, TWILIO_TOKEN);
	free(tok);

	struct swb_twilio_claims d = {
		.api_key_sid = TW_KEY, .account_sid = TW_ACCOUNT, .workspace_sid = TW_WORKSPACE,
		.role = "admin", .identity = "bob", .iat = 1700000000, .exp = 1700000600, .nbf = 1700000100,
	};
	assert_int_equal(swb_twilio_token_sign(TW_SECRET_ARGS, &d, &tok, NULL), SWB_OK);
	assert_string_equal(tok, TWILIO_TOKEN_NBF);
	free(tok);
}

static void test_twilio_token_is_refused_before_nbf_and_accepted_from_it(void **state)
{
	struct swb_twilio_claims c;
	struct swb_err err = {0};
	assert_err(swb_twilio_token_verify(TW_SECRET_ARGS, TW_KEY, TWILIO_TOKEN_NBF, NOW + 99, &c, &err), err,
		SWB_EAUTH, "token not valid before 2023-11-14T22:15:00Z (now 2023-11-14T22:14:59Z)");
	assert_int_equal(swb_twilio_token_verify(TW_SECRET_ARGS, TW_KEY, TWILIO_TOKEN_NBF, NOW + 100, &c, &err),
		SWB_OK);
	assert_int_equal(c.nbf, 1700000100);
	assert_string_equal(c.worker_sid, "");
	assert_string_equal(c.role, "admin");
	assert_string_equal(c.identity, "bob");
}

static void test_twilio_token_rejects_expired(void **state)
{
	struct swb_err err = {0};
	assert_err(swb_twilio_token_verify(TW_SECRET_ARGS, TW_KEY, TWILIO_TOKEN, 1700003600, NULL, &err), err,
		SWB_EAUTH, "token expired at 2023-11-14T23:13:20Z");
}

static void test_twilio_token_rejects_wrong_secret_and_tampering(void **state)
{
	struct swb_err err = {0};
	assert_err(swb_twilio_token_verify((const unsigned char *)"Zq3VnX7pT1kL9sB2wE5rY8uI0oA4dF6h", 32, TW_KEY,
			TWILIO_TOKEN, NOW, NULL, &err), err, SWB_EAUTH, "token signature does not match");
	char tok[sizeof TWILIO_TOKEN];
	memcpy(tok, TWILIO_TOKEN, sizeof tok);
	char *claims = strchr(tok, '.') + 1;
	claims[10] = claims[10] == 'A' ? 'B' : 'A';
	assert_err(swb_twilio_token_verify(TW_SECRET_ARGS, TW_KEY, tok, NOW, NULL, &err), err, SWB_EAUTH,
		"token signature does not match");
}

static void test_twilio_token_rejects_issuer_other_than_expected_key(void **state)
{
	struct swb_err err = {0};
	assert_err(swb_twilio_token_verify(TW_SECRET_ARGS, "SKffffffffffffffffffffffffffffffff", TWILIO_TOKEN, NOW,
			NULL, &err), err, SWB_EAUTH,
		"token issuer '" TW_KEY "' is not API key SKffffffffffffffffffffffffffffffff");
	assert_err(swb_twilio_token_verify(TW_SECRET_ARGS, NULL, TWILIO_TOKEN, NOW, NULL, &err), err, SWB_EINVAL,
		"no API key sid");
}

#define TW_CLAIMS(grants, rest) \
	"{\"jti\":\"" TW_KEY "-1700000000\",\"grants\":" grants ",\"iat\":1700000000,\"exp\":1700003600," \
	"\"iss\":\"" TW_KEY "\",\"sub\":" rest "}"
#define TW_GOOD_TR "{\"workspace_sid\":\"" TW_WORKSPACE "\"}"

static void test_twilio_token_requires_task_router_workspace_sid(void **state)
{
	expect_twilio_rejected(TW_CLAIMS("{\"identity\":\"a\",\"task_router\":{\"role\":\"worker\"}}",
		"\"" TW_ACCOUNT "\""), "token claims: Object item not found: workspace_sid");
	expect_twilio_rejected(TW_CLAIMS("{\"identity\":\"a\",\"voice\":{}}", "\"" TW_ACCOUNT "\""),
		"token claims: Object item not found: task_router");
	expect_twilio_rejected("{\"iat\":1700000000,\"exp\":1700003600,\"iss\":\"" TW_KEY "\",\"sub\":\"" TW_ACCOUNT "\"}",
		"token claims: Object item not found: grants");
	expect_twilio_rejected(TW_CLAIMS("{\"task_router\":{\"workspace_sid\":null}}", "\"" TW_ACCOUNT "\""),
		"token claims: Expected string");
}

static void test_twilio_token_rejects_invalid_sids_roles_and_fields(void **state)
{
	expect_twilio_rejected(TW_CLAIMS("{\"task_router\":" TW_GOOD_TR "}", "\"ACnothex\""),
		"sub is not an account sid");
	expect_twilio_rejected(TW_CLAIMS("{\"task_router\":{\"workspace_sid\":\"WS1\"}}", "\"" TW_ACCOUNT "\""),
		"workspace_sid is not a workspace sid");
	expect_twilio_rejected(TW_CLAIMS("{\"task_router\":{\"workspace_sid\":\"" TW_WORKSPACE "\","
		"\"worker_sid\":\"" TW_WORKSPACE "\"}}", "\"" TW_ACCOUNT "\""), "worker_sid is not a worker sid");
	expect_twilio_rejected(TW_CLAIMS("{\"task_router\":{\"workspace_sid\":\"" TW_WORKSPACE "\","
		"\"role\":\"owner\"}}", "\"" TW_ACCOUNT "\""), "role is not worker, supervisor or admin");
	expect_twilio_rejected(TW_CLAIMS("{\"task_router\":{\"workspace_sid\":\"" TW_WORKSPACE "\","
		"\"queue\":\"x\"}}", "\"" TW_ACCOUNT "\""), "left unpacked: queue");
	expect_twilio_rejected(TW_CLAIMS("{\"task_router\":" TW_GOOD_TR "}", "\"" TW_ACCOUNT "\",\"aud\":\"x\""),
		"left unpacked: aud");
	expect_twilio_rejected("{\"grants\":{\"task_router\":" TW_GOOD_TR "},\"nbf\":\"soon\",\"exp\":1700003600,"
		"\"iss\":\"" TW_KEY "\",\"sub\":\"" TW_ACCOUNT "\"}", "nbf must be an integer");
	expect_twilio_rejected("{\"grants\":{\"task_router\":" TW_GOOD_TR "},\"iat\":1.5,\"exp\":1700003600,"
		"\"iss\":\"" TW_KEY "\",\"sub\":\"" TW_ACCOUNT "\"}", "iat must be an integer");
}

static void test_twilio_token_rejects_identity_longer_than_127_bytes(void **state)
{
	char identity[129];
	memset(identity, 'x', 128);
	identity[128] = '\0';
	char claims[1024];
	snprintf(claims, sizeof claims, TW_CLAIMS("{\"identity\":\"%s\",\"task_router\":" TW_GOOD_TR "}",
		"\"" TW_ACCOUNT "\""), identity);
	expect_twilio_rejected(claims, "grants.identity is longer than 127 bytes");
	identity[127] = '\0';
	snprintf(claims, sizeof claims, TW_CLAIMS("{\"identity\":\"%s\",\"task_router\":" TW_GOOD_TR "}",
		"\"" TW_ACCOUNT "\""), identity);
	char *tok = sign_raw_twilio(claims);
	struct swb_twilio_claims c;
	assert_int_equal(swb_twilio_token_verify(TW_SECRET_ARGS, TW_KEY, tok, NOW, &c, NULL), SWB_OK);
	assert_string_equal(c.identity, identity);
	free(tok);
}

static void test_twilio_token_rejects_iat_beyond_clock_skew(void **state)
{
	expect_twilio_rejected("{\"grants\":{\"task_router\":" TW_GOOD_TR "},\"iat\":1700000061,\"exp\":1700003600,"
		"\"iss\":\"" TW_KEY "\",\"sub\":\"" TW_ACCOUNT "\"}", "token issued in the future");
}

static void test_twilio_and_own_tokens_are_not_interchangeable(void **state)
{
	struct swb_err err = {0};
	char *own = sign_own(SWB_SCOPE_ADMIN, "", NOW, NOW + 60);
	assert_err(swb_twilio_token_verify(SECRET, sizeof SECRET, TW_KEY, own, NOW, NULL, &err), err, SWB_EAUTH,
		"cty must be \"twilio-fpa;v=1\"");
	assert_err(swb_token_verify(TW_SECRET_ARGS, TWILIO_TOKEN, NOW, NULL, &err), err, SWB_EAUTH,
		"unexpected cty");
	free(own);
}

static void test_twilio_token_without_iat_like_twilio_python_verifies(void **state)
{
	/* twilio-python: header {"typ","alg","cty"}, claims without iat but with nbf. */
	const char *claims =
		"{\"jti\":\"" TW_KEY "-1700000000\",\"grants\":{\"task_router\":{\"workspace_sid\":\"" TW_WORKSPACE "\","
		"\"worker_sid\":\"" TW_WORKER "\",\"role\":\"supervisor\"},\"identity\":\"carol\"},"
		"\"iss\":\"" TW_KEY "\",\"nbf\":1700000000,\"exp\":1700003600,\"sub\":\"" TW_ACCOUNT "\"}";
	char *tok = sign_raw_len(TW_SECRET, strlen(TW_SECRET),
		"{\"typ\":\"JWT\",\"alg\":\"HS256\",\"cty\":\"twilio-fpa;v=1\",\"twr\":\"ie1\"}", claims, strlen(claims));
	struct swb_twilio_claims c;
	struct swb_err err = {0};
	if (swb_twilio_token_verify(TW_SECRET_ARGS, TW_KEY, tok, NOW, &c, &err) != SWB_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(c.iat, 0);
	assert_int_equal(c.nbf, 1700000000);
	assert_string_equal(c.role, "supervisor");
	assert_string_equal(c.identity, "carol");
	free(tok);
}

static void test_twilio_token_ignores_other_products_grants(void **state)
{
	char *tok = sign_raw_twilio(TW_CLAIMS("{\"identity\":\"a\",\"voice\":{\"incoming\":{\"allow\":true}},"
		"\"task_router\":" TW_GOOD_TR "}", "\"" TW_ACCOUNT "\""));
	struct swb_twilio_claims c;
	assert_int_equal(swb_twilio_token_verify(TW_SECRET_ARGS, TW_KEY, tok, NOW, &c, NULL), SWB_OK);
	assert_string_equal(c.workspace_sid, TW_WORKSPACE);
	assert_string_equal(c.worker_sid, "");
	assert_string_equal(c.role, "");
	free(tok);
}

static void test_twilio_round_trip_without_optional_fields(void **state)
{
	struct swb_twilio_claims in = {
		.api_key_sid = TW_KEY, .account_sid = TW_ACCOUNT, .workspace_sid = TW_WORKSPACE,
		.iat = NOW, .exp = NOW + 30,
	};
	char *tok = NULL;
	assert_int_equal(swb_twilio_token_sign((const unsigned char *)"k", 1, &in, &tok, NULL), SWB_OK);
	struct swb_twilio_claims out;
	assert_int_equal(swb_twilio_token_verify((const unsigned char *)"k", 1, TW_KEY, tok, NOW, &out, NULL), SWB_OK);
	assert_memory_equal(&in, &out, sizeof in);
	free(tok);
}

static void test_twilio_sign_rejects_invalid_claims(void **state)
{
	const struct swb_twilio_claims good = {
		.api_key_sid = TW_KEY, .account_sid = TW_ACCOUNT, .workspace_sid = TW_WORKSPACE,
		.iat = NOW, .exp = NOW + 30,
	};
	struct swb_twilio_claims c;
	char *tok = NULL;
	struct swb_err err = {0};

	c = good;
	c.api_key_sid[0] = 'X';
	assert_err(swb_twilio_token_sign(TW_SECRET_ARGS, &c, &tok, &err), err, SWB_EINVAL, "API key sid");
	c = good;
	c.account_sid[5] = 'Z';
	assert_err(swb_twilio_token_sign(TW_SECRET_ARGS, &c, &tok, &err), err, SWB_EINVAL, "account sid");
	c = good;
	c.workspace_sid[0] = '\0';
	assert_err(swb_twilio_token_sign(TW_SECRET_ARGS, &c, &tok, &err), err, SWB_EINVAL, "workspace sid");
	c = good;
	snprintf(c.worker_sid, sizeof c.worker_sid, "WK1");
	assert_err(swb_twilio_token_sign(TW_SECRET_ARGS, &c, &tok, &err), err, SWB_EINVAL, "worker sid");
	c = good;
	snprintf(c.role, sizeof c.role, "root");
	assert_err(swb_twilio_token_sign(TW_SECRET_ARGS, &c, &tok, &err), err, SWB_EINVAL, "role");
	c = good;
	c.exp = 0;
	assert_err(swb_twilio_token_sign(TW_SECRET_ARGS, &c, &tok, &err), err, SWB_EINVAL, "iat < exp");
	c = good;
	snprintf(c.identity, sizeof c.identity, "\xff\xfe");
	assert_err(swb_twilio_token_sign(TW_SECRET_ARGS, &c, &tok, &err), err, SWB_EINVAL, "not UTF-8");
	assert_null(tok);
}

/* ---- peeking at the issuer ---- */

static void test_peek_issuer_reads_switchboard_and_api_key_sid(void **state)
{
	char iss[SWB_SID_LEN + 1];
	char *own = sign_own(SWB_SCOPE_ADMIN, "", NOW, NOW + 60);
	assert_int_equal(swb_token_peek_issuer(own, iss, sizeof iss, NULL), SWB_OK);
	assert_string_equal(iss, SWB_TOKEN_ISSUER);
	assert_int_equal(swb_token_peek_issuer(TWILIO_TOKEN, iss, sizeof iss, NULL), SWB_OK);
	assert_string_equal(iss, TW_KEY);
	free(own);
}

static void test_peek_issuer_rejects_non_jwt_missing_or_oversized_iss(void **state)
{
	char iss[SWB_SID_LEN + 1];
	struct swb_err err = {0};
	assert_err(swb_token_peek_issuer("not a token", iss, sizeof iss, &err), err, SWB_EAUTH, "not a JWT");
	assert_err(swb_token_peek_issuer("a.%%%.c", iss, sizeof iss, &err), err, SWB_EAUTH, "not unpadded base64url");
	char *tok = sign_raw(OUR_HEADER, "{\"sub\":\"x\"}");
	assert_err(swb_token_peek_issuer(tok, iss, sizeof iss, &err), err, SWB_EAUTH, "Object item not found: iss");
	free(tok);
	tok = sign_raw(OUR_HEADER, "{\"iss\":7}");
	assert_err(swb_token_peek_issuer(tok, iss, sizeof iss, &err), err, SWB_EAUTH, "Expected string");
	free(tok);
	char small[8];
	assert_err(swb_token_peek_issuer(TWILIO_TOKEN, small, sizeof small, &err), err, SWB_EAUTH,
		"token issuer is longer than 7 bytes");
}

/* ---- the secret file ---- */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/swb_test_token_XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	DIR *d = opendir(tmpdir);
	if (!d)
		return -1;
	struct dirent *e;
	char path[256];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof path, "%s/%.100s", tmpdir, e->d_name) < (int)sizeof path)
			unlink(path);
	}
	closedir(d);
	return rmdir(tmpdir);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int count_entries(void)
{
	DIR *d = opendir(tmpdir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void test_secret_is_created_as_0600_hex_and_reloaded(void **state)
{
	unsigned char a[SWB_SECRET_LEN], b[SWB_SECRET_LEN], c[SWB_SECRET_LEN];
	struct swb_err err = {0};
	if (swb_secret_load_or_create(tmpdir, a, &err) != SWB_OK)
		fail_msg("%s", err.msg);
	char path[256];
	snprintf(path, sizeof path, "%s/secret", tmpdir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 2 * SWB_SECRET_LEN + 1);

	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char text[2 * SWB_SECRET_LEN + 2] = {0};
	assert_int_equal(fread(text, 1, sizeof text - 1, f), 2 * SWB_SECRET_LEN + 1);
	fclose(f);
	for (int i = 0; i < 2 * SWB_SECRET_LEN; i++) {
		unsigned v;
		assert_int_equal(sscanf(text + i, "%1x", &v), 1);
		if (i % 2 == 0) {
			unsigned lo;
			assert_int_equal(sscanf(text + i + 1, "%1x", &lo), 1);
			assert_int_equal(a[i / 2], v << 4 | lo);
		}
	}
	assert_int_equal(text[2 * SWB_SECRET_LEN], '\n');

	assert_int_equal(swb_secret_load_or_create(tmpdir, b, &err), SWB_OK);
	assert_memory_equal(a, b, SWB_SECRET_LEN);
	assert_int_equal(swb_secret_load(path, c, &err), SWB_OK);
	assert_memory_equal(a, c, SWB_SECRET_LEN);
	assert_int_equal(count_entries(), 1); /* no temporary file left behind */
}

static void test_existing_secret_is_loaded_not_replaced(void **state)
{
	write_file("secret", "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff", 0600);
	unsigned char s[SWB_SECRET_LEN];
	assert_int_equal(swb_secret_load_or_create(tmpdir, s, NULL), SWB_OK);
	static const unsigned char want[SWB_SECRET_LEN] = {
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	};
	assert_memory_equal(s, want, SWB_SECRET_LEN);
}

static void test_secret_readable_by_group_or_others_is_refused(void **state)
{
	static const mode_t modes[] = {0640, 0604, 0660, 0602, 0610};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		write_file("secret", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", modes[i]);
		unsigned char s[SWB_SECRET_LEN] = {1};
		struct swb_err err = {0};
		assert_err(swb_secret_load_or_create(tmpdir, s, &err), err, SWB_EIO,
			"is accessible by group or others");
		assert_non_null(strstr(err.msg, "chmod 600"));
		assert_int_equal(s[0], 1);
	}
}

static void test_malformed_secret_file_is_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeef\n",    /* 63 digits */
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0",    /* 65 digits */
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n\n", /* two newlines */
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeegg",     /* not hex */
		" 0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\r\n",
	};
	char path[256];
	snprintf(path, sizeof path, "%s/secret", tmpdir);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_file("secret", bad[i], 0600);
		unsigned char s[SWB_SECRET_LEN];
		struct swb_err err = {0};
		assert_err(swb_secret_load(path, s, &err), err, SWB_EIO, "must hold exactly 64 hex digits");
	}
}

static void test_secret_load_reports_missing_file_and_directory(void **state)
{
	unsigned char s[SWB_SECRET_LEN];
	struct swb_err err = {0};
	char path[256];
	snprintf(path, sizeof path, "%s/absent", tmpdir);
	assert_err(swb_secret_load(path, s, &err), err, SWB_EIO, "No such file or directory");
	assert_err(swb_secret_load_or_create(path, s, &err), err, SWB_EIO, "cannot create the secret in");
	assert_err(swb_secret_load(tmpdir, s, &err), err, SWB_EIO, "not a regular file");
}

/* ---- random hex ---- */

static void test_random_hex_writes_2n_lowercase_hex_digits(void **state)
{
	char a[2 * 100 + 1], b[2 * 100 + 1];
	memset(a, 'X', sizeof a);
	assert_int_equal(swb_random_hex(a, 100, NULL), SWB_OK);
	assert_int_equal(strlen(a), 200);
	assert_int_equal(strspn(a, "0123456789abcdef"), 200);
	assert_int_equal(swb_random_hex(b, 100, NULL), SWB_OK);
	assert_string_not_equal(a, b);
	char empty[1] = {'X'};
	assert_int_equal(swb_random_hex(empty, 0, NULL), SWB_OK);
	assert_string_equal(empty, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admin_token_round_trips),
		cmocka_unit_test(test_supervisor_token_round_trips),
		cmocka_unit_test(test_worker_token_round_trips_with_its_sid),
		cmocka_unit_test(test_verify_accepts_null_out_for_a_yes_no_check),
		cmocka_unit_test(test_signed_token_has_the_documented_header_and_claims),
		cmocka_unit_test(test_token_signed_elsewhere_with_our_secret_verifies),
		cmocka_unit_test(test_sign_rejects_worker_scope_without_valid_sid),
		cmocka_unit_test(test_sign_rejects_missing_or_inverted_times),
		cmocka_unit_test(test_sign_rejects_unknown_scope_and_empty_secret),
		cmocka_unit_test(test_verify_rejects_missing_token),
		cmocka_unit_test(test_verify_rejects_token_longer_than_limit_before_decoding),
		cmocka_unit_test(test_verify_rejects_wrong_segment_count),
		cmocka_unit_test(test_verify_rejects_bad_base64_in_header),
		cmocka_unit_test(test_verify_rejects_non_canonical_or_short_signature),
		cmocka_unit_test(test_verify_rejects_header_that_is_not_a_json_object),
		cmocka_unit_test(test_verify_rejects_alg_none_even_without_signature),
		cmocka_unit_test(test_verify_rejects_algorithms_other_than_hs256),
		cmocka_unit_test(test_verify_rejects_unexpected_header_fields),
		cmocka_unit_test(test_verify_rejects_signature_made_with_another_secret),
		cmocka_unit_test(test_verify_rejects_tampered_claims),
		cmocka_unit_test(test_verify_rejects_claims_that_are_not_json),
		cmocka_unit_test(test_verify_rejects_claims_missing_extra_or_mistyped),
		cmocka_unit_test(test_verify_rejects_other_issuer),
		cmocka_unit_test(test_verify_rejects_expired_token),
		cmocka_unit_test(test_verify_rejects_token_issued_beyond_clock_skew),
		cmocka_unit_test(test_verify_handles_extreme_times_without_overflow),
		cmocka_unit_test(test_verify_rejects_malformed_scope),
		cmocka_unit_test(test_verify_rejects_worker_scope_with_invalid_sid),
		cmocka_unit_test(test_verify_leaves_out_untouched_on_failure),
		cmocka_unit_test(test_scope_parse_accepts_the_three_scopes),
		cmocka_unit_test(test_scope_parse_rejects_malformed_scopes_and_keeps_out),
		cmocka_unit_test(test_scope_format_round_trips_and_truncates),
		cmocka_unit_test(test_token_from_twilio_library_verifies),
		cmocka_unit_test(test_twilio_sign_matches_twilio_library_byte_for_byte),
		cmocka_unit_test(test_twilio_token_is_refused_before_nbf_and_accepted_from_it),
		cmocka_unit_test(test_twilio_token_rejects_expired),
		cmocka_unit_test(test_twilio_token_rejects_wrong_secret_and_tampering),
		cmocka_unit_test(test_twilio_token_rejects_issuer_other_than_expected_key),
		cmocka_unit_test(test_twilio_token_requires_task_router_workspace_sid),
		cmocka_unit_test(test_twilio_token_rejects_invalid_sids_roles_and_fields),
		cmocka_unit_test(test_twilio_token_rejects_identity_longer_than_127_bytes),
		cmocka_unit_test(test_twilio_token_rejects_iat_beyond_clock_skew),
		cmocka_unit_test(test_twilio_and_own_tokens_are_not_interchangeable),
		cmocka_unit_test(test_twilio_token_without_iat_like_twilio_python_verifies),
		cmocka_unit_test(test_twilio_token_ignores_other_products_grants),
		cmocka_unit_test(test_twilio_round_trip_without_optional_fields),
		cmocka_unit_test(test_twilio_sign_rejects_invalid_claims),
		cmocka_unit_test(test_peek_issuer_reads_switchboard_and_api_key_sid),
		cmocka_unit_test(test_peek_issuer_rejects_non_jwt_missing_or_oversized_iss),
		cmocka_unit_test_setup_teardown(test_secret_is_created_as_0600_hex_and_reloaded, make_tmpdir,
			remove_tmpdir),
		cmocka_unit_test_setup_teardown(test_existing_secret_is_loaded_not_replaced, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(test_secret_readable_by_group_or_others_is_refused, make_tmpdir,
			remove_tmpdir),
		cmocka_unit_test_setup_teardown(test_malformed_secret_file_is_refused, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(test_secret_load_reports_missing_file_and_directory, make_tmpdir,
			remove_tmpdir),
		cmocka_unit_test(test_random_hex_writes_2n_lowercase_hex_digits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
