/*
 * tools.c - swb-node's one-shot modes: validate a workspace file, and show where a
 * task would be routed (filter, target, queue, priority, workers in offer order).
 */
#include "tools.h"

#include <stdio.h>

#include "timefmt.h"
#include "workspace_file.h"

static void print_error(void *ctx, const char *msg)
{
	fprintf(stderr, "%s: %s\n", (const char *)ctx, msg);
}

static swb_core *load(const char *path, int *nerr)
{
	struct swb_err err;
	const char *label = path ? path : "(default workspace)";
	json_t *doc = swb_workspace_read(path, &err);
	if (!doc) {
		fprintf(stderr, "%s\n", err.msg);
		*nerr = 1;
		return NULL;
	}
	struct swb_core_opts opts = { .seed = 1, .now_ms = swb_wall_ms() };
	swb_core *core = NULL;
	*nerr = swb_workspace_build(doc, &opts, print_error, (void *)label, &core);
	json_decref(doc);
	return core;
}

int swb_tool_check_config(const char *path)
{
	int nerr;
	swb_core *core = load(path, &nerr);
	if (!core) {
		fprintf(stderr, "%s: %d error%s\n", path ? path : "(default workspace)", nerr, nerr == 1 ? "" : "s");
		return 1;
	}
	json_t *stats = NULL;
	swb_core_sys(core, swb_wall_ms(), "workspace.stats", NULL, &stats, NULL);
	printf("%s: OK (%lld workers)\n", path ? path : "(default workspace)",
	       (long long)json_integer_value(json_object_get(stats, "total_workers")));
	json_decref(stats);
	swb_core_free(core);
	return 0;
}

int swb_tool_dry_run(const char *path, const char *task_json)
{
	json_error_t je;
	json_t *args = json_loads(task_json ? task_json : "{}", JSON_REJECT_DUPLICATES, &je);
	if (!args) {
		fprintf(stderr, "--task: column %d: %s\n", je.column, je.text);
		return 2;
	}
	int nerr;
	swb_core *core = load(path, &nerr);
	if (!core) {
		json_decref(args);
		return 1;
	}
	json_t *res = NULL;
	struct swb_err err;
	int rc = 0;
	if (swb_core_sys(core, swb_wall_ms(), "route.preview", args, &res, &err) != SWB_OK) {
		fprintf(stderr, "--task: %s\n", err.msg);
		rc = 1;
	} else {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	json_decref(res);
	json_decref(args);
	swb_core_free(core);
	return rc;
}
