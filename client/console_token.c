/*
 * console_token.c - swb-console's self-minted token and its renewal. See
 * console_token.h.
 */
#include "console_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct console_token {
	char *data_dir; /* NULL: the default */
	char scope[CONSOLE_TOKEN_SCOPE_MAX];
	long long ttl_s;
	char *value;
	int64_t issued_ms;  /* the wall-clock second the current token was minted in */
	int64_t due_ms;     /* the next renewal or retry */
};

/* Frees a token string, wiping it first. */
static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Mints a token into *out (malloc'd), recording when; the schedule moves to its renewal. */
static enum swb_code mint(struct console_token *t, int64_t now_ms, char **out, struct swb_err *err)
{
	/* iat is this second or a later one, so the token lives at least until issued + ttl */
	int64_t issued = now_ms / 1000 * 1000;
	enum swb_code rc = swb_client_local_token(t->data_dir, t->scope, t->ttl_s, out, err);
	if (rc != SWB_OK)
		return rc;
	t->issued_ms = issued;
	t->due_ms = issued + t->ttl_s * CONSOLE_TOKEN_RENEW_PERMILLE;
	return SWB_OK;
}

struct console_token *console_token_mint(const char *data_dir, const char *scope, long long ttl_s, int64_t now_ms,
					 struct swb_err *err)
{
	if (!scope || strlen(scope) >= CONSOLE_TOKEN_SCOPE_MAX) {
		swb_err_set(err, SWB_EINVAL, "token scope '%.40s' is too long", scope ? scope : "(none)");
		return NULL;
	}
	struct console_token *t = calloc(1, sizeof *t);
	if (!t || (data_dir && !(t->data_dir = strdup(data_dir)))) {
		free(t);
		swb_err_set(err, SWB_ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(t->scope, sizeof t->scope, "%s", scope);
	t->ttl_s = ttl_s;
	if (mint(t, now_ms, &t->value, err) != SWB_OK) {
		console_token_free(t);
		return NULL;
	}
	return t;
}

const char *console_token_value(const struct console_token *t)
{
	return t->value;
}

int64_t console_token_due_ms(const struct console_token *t)
{
	return t->due_ms;
}

int64_t console_token_expires_ms(const struct console_token *t)
{
	return t->issued_ms + t->ttl_s * 1000;
}

/* A tenth of the lifetime, within the retry bounds. */
static int64_t retry_ms(const struct console_token *t)
{
	int64_t ms = t->ttl_s * 100;
	if (ms < CONSOLE_TOKEN_RETRY_MIN_MS)
		ms = CONSOLE_TOKEN_RETRY_MIN_MS;
	if (ms > CONSOLE_TOKEN_RETRY_MAX_MS)
		ms = CONSOLE_TOKEN_RETRY_MAX_MS;
	return ms;
}

enum swb_code console_token_renew(struct console_token *t, swb_client *client, int64_t now_ms, struct swb_err *err)
{
	int64_t issued = t->issued_ms;
	char *fresh = NULL;
	enum swb_code rc = mint(t, now_ms, &fresh, err);
	if (rc == SWB_OK && client)
		rc = swb_client_set_token(client, fresh, err);
	if (rc != SWB_OK) {
		wipe_free(fresh);
		t->issued_ms = issued;
		t->due_ms = now_ms + retry_ms(t);
		return rc;
	}
	wipe_free(t->value);
	t->value = fresh;
	return SWB_OK;
}

void console_token_free(struct console_token *t)
{
	if (!t)
		return;
	wipe_free(t->value);
	free(t->data_dir);
	free(t);
}
