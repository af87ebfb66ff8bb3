/*
 * fuzz_token.c - libFuzzer target for common/token.c: arbitrary bytes as a
 * token, and arbitrary JSON behind a valid signature.
 *
 * A random token almost never has a matching HMAC, so the claims parser
 * would stay out of reach. The first input byte therefore picks a mode:
 *   0: the rest is a token: verify it as ours and as Twilio's, peek at "iss";
 *   1: the rest is claims JSON under our header, correctly signed;
 *   2: the rest is claims JSON under a Twilio header, correctly signed;
 *   3: the rest is header JSON over fixed claims, correctly signed.
 * Whatever verifies is signed again and must verify again (round trip).
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -I common tests/fuzz/fuzz_token.c
 *        common/token.c common/swb_error.c -ljansson -lcrypto -o /tmp/fuzz_token
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "token.h"

#define NOW 1700000000LL
#define KEY_SID "SK0123456789abcdef0123456789abcdef"

static const unsigned char SECRET[SWB_SECRET_LEN] = "0123456789abcdef0123456789abcde";

static const char OUR_HEADER[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
static const char TWILIO_HEADER[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\"}";
static const char FIXED_CLAIMS[] =
	"{\"scope\":\"admin\",\"iat\":1700000000,\"exp\":1700003600,\"iss\":\"switchboard\"}";

/* Appends base64url (no padding) of data to out; returns the end. */
static char *b64url_append(char *out, const void *data, size_t n)
{
	int len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	for (int i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return out + len;
}

/* header.claims.HS256 signature, malloc'd; NULL if too long to matter. */
static char *sign_raw(const char *header, size_t hn, const char *claims, size_t cn)
{
	if (hn > SWB_TOKEN_MAX_LEN || cn > SWB_TOKEN_MAX_LEN)
		return NULL;
	char *tok = malloc(4 * ((hn + 2) / 3) + 4 * ((cn + 2) / 3) + 64);
	if (!tok)
		return NULL;
	char *p = b64url_append(tok, header, hn);
	*p++ = '.';
	p = b64url_append(p, claims, cn);
	unsigned char mac[32];
	unsigned int mac_len = 0;
	HMAC(EVP_sha256(), SECRET, sizeof SECRET, (unsigned char *)tok, (size_t)(p - tok), mac, &mac_len);
	*p++ = '.';
	p = b64url_append(p, mac, mac_len);
	*p = '\0';
	return tok;
}

static void check_own(const char *tok)
{
	struct swb_token_claims c;
	struct swb_err err;
	if (swb_token_verify(SECRET, sizeof SECRET, tok, NOW, &c, &err) != SWB_OK)
		return;
	char *again = NULL;
	if (swb_token_sign(SECRET, sizeof SECRET, &c, &again, &err) == SWB_OK) {
		struct swb_token_claims d;
		if (swb_token_verify(SECRET, sizeof SECRET, again, NOW, &d, &err) != SWB_OK ||
		    memcmp(&c, &d, sizeof c) != 0)
			abort();
		free(again);
	}
}

static void check_twilio(const char *tok)
{
	struct swb_twilio_claims c;
	struct swb_err err;
	if (swb_twilio_token_verify(SECRET, sizeof SECRET, KEY_SID, tok, NOW, &c, &err) != SWB_OK)
		return;
	char *again = NULL;
	/* Tokens without iat (twilio-python) sign as iat 0; other differences are fine to skip. */
	if (swb_twilio_token_sign(SECRET, sizeof SECRET, &c, &again, &err) == SWB_OK) {
		struct swb_twilio_claims d;
		if (swb_twilio_token_verify(SECRET, sizeof SECRET, KEY_SID, again, NOW, &d, &err) != SWB_OK ||
		    memcmp(&c, &d, sizeof c) != 0)
			abort();
		free(again);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	int mode = data[0] % 4;
	const char *rest = (const char *)data + 1;
	size_t n = size - 1;
	char *tok = NULL;

	if (mode == 0) {
		tok = malloc(n + 1);
		if (!tok)
			return 0;
		memcpy(tok, rest, n);
		tok[n] = '\0';
		char iss[64];
		struct swb_err err;
		swb_token_peek_issuer(tok, iss, sizeof iss, &err);
		struct swb_token_claims sc;
		swb_scope_parse(tok, &sc, &err);
	} else if (mode == 1) {
		tok = sign_raw(OUR_HEADER, strlen(OUR_HEADER), rest, n);
	} else if (mode == 2) {
		tok = sign_raw(TWILIO_HEADER, strlen(TWILIO_HEADER), rest, n);
	} else {
		tok = sign_raw(rest, n, FIXED_CLAIMS, strlen(FIXED_CLAIMS));
	}
	if (!tok)
		return 0;
	check_own(tok);
	check_twilio(tok);
	free(tok);
	return 0;
}
