/*
 * main_console.c - swb-console: the agent's console and the supervisor's
 * panels. Parses the command line, settles the token (given, from
 * $SWB_TOKEN, or minted from the node's secret for --worker NAME or
 * --supervisor; a minted one is renewed while the console runs), then hands
 * the terminal to console_run.
 *
 * Exit codes: 0 after quitting, 1 when the console could not start, 2 for a
 * usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_app.h"
#include "console_opts.h"
#include "console_token.h"
#include "sid.h"
#include "swb_client.h"
#include "timefmt.h"

/* Looking a worker's name up before the screen starts. */
#define CONSOLE_LOOKUP_TIMEOUT_MS 5000

static int fail(const struct swb_err *err, int code)
{
	fprintf(stderr, "swb-console: %s\n", err->msg);
	if (code == 2)
		fprintf(stderr, "(swb-console --help shows the options)\n");
	return code;
}

/* Resolves name (a friendly name or WK sid) to a SID through the node, with an admin token minted locally. */
static enum swb_code resolve_worker(const char *url, const char *data_dir, const char *name, char sid[SWB_SID_SIZE],
				    struct swb_err *err)
{
	if (swb_sid_valid(name, "WK")) {
		snprintf(sid, SWB_SID_SIZE, "%s", name);
		return SWB_OK;
	}
	char *admin = NULL;
	enum swb_code rc = swb_client_local_token(data_dir, "admin", 300, &admin, err);
	if (rc != SWB_OK) {
		swb_err_prefix(err, "--worker %s: cannot read the node's secret to look the name up", name);
		return rc;
	}
	swb_client *c = swb_client_open(url, admin, err);
	free(admin);
	if (!c)
		return err->code;
	json_t *res = NULL, *args = json_pack("{s:s}", "friendly_name", name);
	rc = swb_client_call(c, "workers.list", args, CONSOLE_LOOKUP_TIMEOUT_MS, &res, err);
	json_decref(args);
	swb_client_close(c);
	if (rc != SWB_OK) {
		swb_err_prefix(err, "--worker %s: looking the name up at %s", name, url ? url : "the local node");
		return rc;
	}
	json_t *w = json_array_get(json_object_get(res, "workers"), 0);
	const char *s = json_string_value(json_object_get(w, "sid"));
	if (!s) {
		json_decref(res);
		return swb_err_set(err, SWB_ENOTFOUND, "--worker %s: no worker by that name (swbctl workers lists them)", name);
	}
	snprintf(sid, SWB_SID_SIZE, "%s", s);
	json_decref(res);
	return SWB_OK;
}

int main(int argc, char **argv)
{
	struct console_opts o;
	struct swb_err err = { 0 };
	if (console_parse_args(argc, argv, &o, &err) != SWB_OK)
		return fail(&err, 2);
	if (o.help) {
		console_usage(stdout);
		return 0;
	}
	const char *url = o.url ? o.url : getenv("SWB_URL");
	if (url && !*url)
		url = NULL;
	const char *token = o.token ? o.token : (o.worker ? NULL : getenv("SWB_TOKEN"));
	if (token && !*token)
		token = NULL;
	if (token && o.token_ttl_given) {
		swb_err_set(&err, SWB_EINVAL,
			    "--token-ttl is the lifetime of tokens the console mints; $SWB_TOKEN is used as given");
		return fail(&err, 2);
	}
	struct console_token *minted = NULL;
	if (!token) {
		char scope[64];
		if (o.worker) {
			char sid[SWB_SID_SIZE];
			if (resolve_worker(url, o.data_dir, o.worker, sid, &err) != SWB_OK)
				return fail(&err, 1);
			snprintf(scope, sizeof scope, "worker:%s", sid);
		} else if (o.supervisor) {
			snprintf(scope, sizeof scope, "supervisor");
		} else {
			swb_err_set(&err, SWB_EINVAL,
				    "whose console? give --worker NAME, --token TOKEN (or $SWB_TOKEN), or --supervisor");
			return fail(&err, 2);
		}
		minted = console_token_mint(o.data_dir, scope, o.token_ttl_s, swb_wall_ms(), &err);
		if (!minted) {
			swb_err_prefix(&err, "cannot mint a %s token", o.worker ? "worker" : "supervisor");
			return fail(&err, 1);
		}
		token = console_token_value(minted);
	}
	int rc = console_run(&o, url, token, minted, &err);
	console_token_free(minted);
	if (rc != 0)
		return fail(&err, 1);
	return 0;
}
