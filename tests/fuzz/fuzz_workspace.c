/*
 * fuzz_workspace.c - libFuzzer target for server/workspace_file.c and, through
 * it, every resource op the loader applies (activities, channels, queues,
 * workers, workflow configurations and their expressions).
 *
 * The input is parsed with json_loadb as the node parses a workspace file, then
 * built into a core. A document that builds is driven a little further so the
 * routing code runs on fuzzed configurations: its "description" member (which
 * the loader ignores), when an object, becomes a task's attributes, and the
 * clock then runs through every timer for a simulated day. Everything is freed:
 * the target must be leak-free under ASan.
 *
 * Build: scripts/fuzz (CMake with -DSWB_FUZZ=ON and CC=clang links it with
 * swb_server); run: build-fuzz/fuzz_workspace tests/fuzz/seeds/workspace.
 * Seeds: tests/fuzz/seeds/workspace/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workspace_file.h"

#define NOW 1700000000000LL
#define DAY_MS (24LL * 3600 * 1000)
#define MAX_TICKS 1000 /* timer steps per input, to bound the work */

/* Every message must be a printable, terminated string that names something. */
static void check_error(void *ctx, const char *msg)
{
	(void)ctx;
	if (!msg || !*msg || strlen(msg) >= 4 * SWB_ERR_MSG_MAX)
		abort();
}

/* Creates a task from the document's "description" object and runs the clock for a day. */
static void drive(swb_core *c, json_t *doc)
{
	json_t *attrs = json_object_get(doc, "description");
	if (json_is_object(attrs)) {
		json_t *args = json_pack("{s:O}", "attributes", attrs);
		json_t *res = NULL;
		struct swb_err err;
		if (swb_core_sys(c, NOW, "tasks.create", args, &res, &err) == SWB_OK)
			json_decref(res);
		json_decref(args);
	}
	int64_t end = NOW + DAY_MS;
	for (int i = 0; i < MAX_TICKS; i++) {
		int64_t next = swb_core_next_deadline(c);
		if (next > end)
			break;
		swb_core_tick(c, next);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return 0;
	struct swb_core_opts opts = { .seed = 1, .now_ms = NOW };
	swb_core *c = NULL;
	if (swb_workspace_build(doc, &opts, check_error, NULL, &c) == 0) {
		if (!c)
			abort();
		drive(c, doc);
		swb_core_free(c);
	} else if (c) {
		abort(); /* a failed build hands out no core */
	}
	json_decref(doc);
	return 0;
}
