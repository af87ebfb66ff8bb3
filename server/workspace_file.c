/*
 * workspace_file.c - a workspace file applied through the core's own ops, with
 * every error collected and named by its place ("workers[2] 'bob': ...").
 */
#include "workspace_file.h"

#include <stdio.h>
#include <string.h>

#include "calls.h"

#define WS_FILE_MAX (16 * 1024 * 1024) /* a workspace file larger than this is refused */

static const char *const top_keys[] = { "friendly_name", "event_callback_url", "events_filter",
					"default_activity_sid", "timeout_activity_sid", "activities",
					"task_channels", "task_queues", "workers", "workflows", "numbers",
					"description", NULL };

struct loader {
	swb_core *core;
	int64_t now;
	swb_ws_error_fn on_error;
	void *ctx;
	int errors;
};

static void report(struct loader *l, const char *fmt, const char *a, const char *b)
{
	char msg[SWB_ERR_MSG_MAX * 4];
	snprintf(msg, sizeof msg, fmt, a, b);
	l->errors++;
	if (l->on_error)
		l->on_error(l->ctx, msg);
}

/* A problem in the "numbers" section (checked by the calls module, which reads it). */
static void report_number(void *ctx, const char *msg)
{
	report(ctx, "%s%s", msg, "");
}

static void apply(struct loader *l, const char *op, json_t *args, const char *place)
{
	struct swb_err err;
	if (swb_core_sys(l->core, l->now, op, args, NULL, &err) != SWB_OK)
		report(l, "%s: %s", place, err.msg);
}

static void apply_list(struct loader *l, json_t *doc, const char *key, const char *op)
{
	json_t *arr = json_object_get(doc, key);
	if (!arr)
		return;
	if (!json_is_array(arr)) {
		report(l, "%s: must be an array%s", key, "");
		return;
	}
	size_t i;
	json_t *item;
	json_array_foreach(arr, i, item) {
		char place[SWB_ERR_MSG_MAX];
		json_t *name = json_object_get(item, "friendly_name");
		if (!name)
			name = json_object_get(item, "unique_name");
		if (json_is_string(name))
			snprintf(place, sizeof place, "%s[%zu] '%s'", key, i, json_string_value(name));
		else
			snprintf(place, sizeof place, "%s[%zu]", key, i);
		if (!json_is_object(item)) {
			report(l, "%s: must be an object%s", place, "");
			continue;
		}
		apply(l, op, item, place);
	}
}

static void check_top(struct loader *l, json_t *doc)
{
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v) {
		bool ok = false;
		for (const char *const *k = top_keys; *k && !ok; k++)
			ok = strcmp(*k, key) == 0;
		if (!ok)
			report(l, "unknown top-level field '%s'%s", key, "");
	}
}

/* Default task channels that the file does not list itself (a file with activities starts empty). */
static void add_default_channels(struct loader *l, json_t *doc)
{
	static const char *const names[][2] = { { "default", "Default" }, { "voice", "Voice" }, { "chat", "Chat" },
						 { "sms", "SMS" }, { "video", "Video" } };
	json_t *listed = json_object_get(doc, "task_channels");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		bool present = false;
		size_t j;
		json_t *ch;
		json_array_foreach(listed, j, ch)
			present |= json_is_string(json_object_get(ch, "unique_name")) &&
				   strcmp(json_string_value(json_object_get(ch, "unique_name")), names[i][0]) == 0;
		if (present)
			continue;
		json_t *args = json_pack("{s:s, s:s}", "unique_name", names[i][0], "friendly_name", names[i][1]);
		apply(l, "task_channels.create", args, "task_channels (default)");
		json_decref(args);
	}
}

static void apply_workspace_fields(struct loader *l, json_t *doc)
{
	static const char *const keys[] = { "friendly_name", "event_callback_url", "events_filter",
					    "default_activity_sid", "timeout_activity_sid" };
	json_t *args = json_object();
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (json_object_get(doc, keys[i]))
			json_object_set(args, keys[i], json_object_get(doc, keys[i]));
	if (json_object_size(args))
		apply(l, "workspace.update", args, "workspace");
	json_decref(args);
}

int swb_workspace_build(json_t *doc, const struct swb_core_opts *opts, swb_ws_error_fn on_error, void *ctx,
			swb_core **out)
{
	struct loader l = { .now = opts->now_ms, .on_error = on_error, .ctx = ctx };
	if (!json_is_object(doc)) {
		report(&l, "the workspace file must be a JSON object%s%s", "", "");
		return l.errors;
	}
	struct swb_core_opts o = *opts;
	o.sink = NULL;
	o.no_default_resources = json_object_get(doc, "activities") != NULL;
	l.core = swb_core_new(&o);
	check_top(&l, doc);
	if (o.no_default_resources) {
		apply_list(&l, doc, "activities", "activities.create");
		add_default_channels(&l, doc);
	}
	apply_list(&l, doc, "task_channels", "task_channels.create");
	apply_workspace_fields(&l, doc);
	apply_list(&l, doc, "task_queues", "task_queues.create");
	apply_list(&l, doc, "workers", "workers.create");
	apply_list(&l, doc, "workflows", "workflows.create");
	calls_numbers_check(json_object_get(doc, "numbers"), report_number, &l);
	if (o.no_default_resources && json_array_size(json_object_get(doc, "activities")) == 0)
		report(&l, "activities: the workspace needs at least one activity%s%s", "", "");
	if (l.errors) {
		swb_core_free(l.core);
		return l.errors;
	}
	swb_core_set_sink(l.core, opts->sink, opts->sink_ctx);
	*out = l.core;
	return 0;
}

json_t *swb_workspace_read(const char *path, struct swb_err *err)
{
	json_error_t je;
	json_t *doc;
	if (!path) {
		doc = json_loads(swb_default_workspace_json, JSON_REJECT_DUPLICATES, &je);
	} else if (strcmp(path, "-") == 0) {
		doc = json_loadf(stdin, JSON_REJECT_DUPLICATES, &je);
	} else {
		FILE *f = fopen(path, "rb");
		if (!f) {
			swb_err_set(err, SWB_EIO, "%s: cannot open: %m", path);
			return NULL;
		}
		fseek(f, 0, SEEK_END);
		long size = ftell(f);
		rewind(f);
		if (size > WS_FILE_MAX) {
			fclose(f);
			swb_err_set(err, SWB_ETOOBIG, "%s: larger than %d bytes", path, WS_FILE_MAX);
			return NULL;
		}
		doc = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
		fclose(f);
	}
	if (!doc)
		swb_err_set(err, SWB_EINVAL, "%s: line %d, column %d: %s", path ? path : "(default workspace)", je.line,
			    je.column, je.text);
	return doc;
}
