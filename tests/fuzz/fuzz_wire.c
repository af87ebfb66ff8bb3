/*
 * fuzz_wire.c - libFuzzer target for the node's wire decoder and op dispatch:
 * every input goes through node_handle_request as an nng request would. When the
 * input is a JSON object, half the time its "token" is replaced by a valid admin
 * token first, so the fuzzer reaches the ops and their argument checks too.
 * The node has one workspace (the embedded default) and no journal or sockets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "node_internal.h"
#include "timefmt.h"
#include "token.h"
#include "workspace_file.h"

static struct node *node;
static char *admin;

static void sink(void *ctx, const struct swb_event *ev)
{
	struct wspace *w = ctx;
	swb_eventlog_append(w->events, ev);
}

static void setup(void)
{
	node = calloc(1, sizeof *node);
	node->sigfd = -1;
	node_state_init(node);
	memset(node->secret, 7, sizeof node->secret);
	struct wspace *w = calloc(1, sizeof *w);
	w->n = node;
	snprintf(w->sid, sizeof w->sid, "WS00000000000000000000000000000001");
	w->events = swb_eventlog_new(1024);
	json_t *doc = swb_workspace_read(NULL, NULL);
	struct swb_core_opts o = { .seed = 1, .now_ms = swb_wall_ms(), .sink = sink, .sink_ctx = w,
				   .workspace_sid = w->sid };
	swb_workspace_build(doc, &o, NULL, NULL, &w->core);
	json_decref(doc);
	node->ws = calloc(1, sizeof *node->ws);
	node->ws[0] = w;
	node->nws = 1;
	struct swb_token_claims c = { .scope = SWB_SCOPE_ADMIN, .iat = swb_wall_ms() / 1000,
				      .exp = swb_wall_ms() / 1000 + 365 * 86400 };
	swb_token_sign(node->secret, sizeof node->secret, &c, &admin, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!node)
		setup();
	if (size > 0 && (data[0] & 1)) {
		json_error_t je;
		json_t *j = json_loadb((const char *)data + 1, size - 1, 0, &je);
		if (json_is_object(j)) {
			json_object_set_new(j, "token", json_string(admin));
			char *s = json_dumps(j, JSON_COMPACT);
			if (s) {
				node_handle_request(node, NULL, s, strlen(s), 1);
				free(s);
			}
			json_decref(j);
			node_commit_and_flush(node, swb_wall_ms());
			return 0;
		}
		json_decref(j);
	}
	node_handle_request(node, NULL, (const char *)data, size, 1);
	node_commit_and_flush(node, swb_wall_ms());
	return 0;
}
