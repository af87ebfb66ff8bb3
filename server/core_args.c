/*
 * core_args.c - decoding and checking op arguments, resolving references by
 * SID or name, and paging list results. Every check here runs before a handler
 * changes anything, so a rejected request changes nothing.
 */
#include "core_internal.h"

#include <stdio.h>
#include <string.h>

#define PAGE_SIZE_DEFAULT 50
#define PAGE_SIZE_MAX 1000

enum swb_code arg_only(json_t *args, const char *const *allowed, struct swb_err *err)
{
	const char *key;
	json_t *v;
	json_object_foreach(args, key, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(*a, key) == 0;
		if (!ok)
			return swb_err_set(err, SWB_EINVAL, "unknown argument '%s'", key);
	}
	return SWB_OK;
}

enum swb_code arg_str(json_t *args, const char *key, bool required, size_t max, const char **out,
		      struct swb_err *err)
{
	json_t *v = json_object_get(args, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return swb_err_set(err, SWB_EINVAL, "missing required argument '%s'", key);
		return SWB_OK;
	}
	if (!json_is_string(v))
		return swb_err_set(err, SWB_EINVAL, "'%s' must be a string", key);
	if (json_string_length(v) > max)
		return swb_err_set(err, SWB_ETOOBIG, "'%s' is longer than %zu bytes", key, max);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return swb_err_set(err, SWB_EINVAL, "'%s' contains a NUL byte", key);
	if (required && json_string_length(v) == 0)
		return swb_err_set(err, SWB_EINVAL, "'%s' must not be empty", key);
	*out = json_string_value(v);
	return SWB_OK;
}

/* Accepts numbers and numeric strings (REST form values arrive as strings). */
enum swb_code arg_int(json_t *args, const char *key, long long lo, long long hi, bool *present, long long *out,
		      struct swb_err *err)
{
	json_t *v = json_object_get(args, key);
	*present = false;
	if (!v || json_is_null(v))
		return SWB_OK;
	long long n;
	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (json_is_string(v)) {
		char *end;
		const char *s = json_string_value(v);
		n = strtoll(s, &end, 10);
		if (!*s || *end)
			return swb_err_set(err, SWB_EINVAL, "'%s' must be an integer, got '%.40s'", key, s);
	} else {
		return swb_err_set(err, SWB_EINVAL, "'%s' must be an integer", key);
	}
	if (n < lo || n > hi)
		return swb_err_set(err, SWB_EINVAL, "'%s' must be between %lld and %lld, got %lld", key, lo, hi, n);
	*present = true;
	*out = n;
	return SWB_OK;
}

enum swb_code arg_bool(json_t *args, const char *key, bool *present, bool *out, struct swb_err *err)
{
	json_t *v = json_object_get(args, key);
	*present = false;
	if (!v || json_is_null(v))
		return SWB_OK;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
	} else if (json_is_string(v) && (strcmp(json_string_value(v), "true") == 0 ||
					 strcmp(json_string_value(v), "false") == 0)) {
		*out = strcmp(json_string_value(v), "true") == 0;
	} else {
		return swb_err_set(err, SWB_EINVAL, "'%s' must be true or false", key);
	}
	*present = true;
	return SWB_OK;
}

/* Attributes arrive as an object or as a JSON string holding an object (TaskRouter's form). */
enum swb_code arg_attrs(json_t *args, const char *key, json_t **out, struct swb_err *err)
{
	json_t *v = json_object_get(args, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return SWB_OK;
	if (json_is_object(v)) {
		char *s = json_dumps(v, JSON_COMPACT);
		size_t n = s ? strlen(s) : 0;
		free(s);
		if (n > SWB_ATTRS_MAX)
			return swb_err_set(err, SWB_ETOOBIG, "'%s' is larger than %d bytes", key, SWB_ATTRS_MAX);
		*out = json_deep_copy(v);
		return SWB_OK;
	}
	if (!json_is_string(v))
		return swb_err_set(err, SWB_EINVAL, "'%s' must be a JSON object or a string holding one", key);
	if (json_string_length(v) > SWB_ATTRS_MAX)
		return swb_err_set(err, SWB_ETOOBIG, "'%s' is larger than %d bytes", key, SWB_ATTRS_MAX);
	json_error_t je;
	json_t *parsed = json_loadb(json_string_value(v), json_string_length(v), JSON_REJECT_DUPLICATES, &je);
	if (!parsed)
		return swb_err_set(err, SWB_EINVAL, "'%s' is not valid JSON: %s (column %d)", key, je.text, je.column);
	if (!json_is_object(parsed)) {
		json_decref(parsed);
		return swb_err_set(err, SWB_EINVAL, "'%s' must be a JSON object", key);
	}
	*out = parsed;
	return SWB_OK;
}

enum swb_code arg_sid(json_t *args, struct swb_err *err, const char **sid)
{
	return arg_str(args, "sid", true, SWB_NAME_MAX, sid, err);
}

static void *find_typed(swb_core *c, const char *ref, const char *prefix, swb_map *names)
{
	if (!ref)
		return NULL;
	if (swb_sid_valid(ref, prefix))
		return swb_map_get(c->by_sid, ref);
	return names ? swb_map_get(names, ref) : NULL;
}

struct activity *find_activity(swb_core *c, const char *ref)
{
	return find_typed(c, ref, "WA", c->activity_names);
}

struct channel *find_channel(swb_core *c, const char *ref)
{
	return find_typed(c, ref, "TC", c->channel_names);
}

struct worker *find_worker(swb_core *c, const char *ref)
{
	return find_typed(c, ref, "WK", c->worker_names);
}

struct queue *find_queue(swb_core *c, const char *ref)
{
	return find_typed(c, ref, "WQ", c->queue_names);
}

struct workflow *find_workflow(swb_core *c, const char *ref)
{
	return find_typed(c, ref, "WW", c->workflow_names);
}

struct task *find_task(swb_core *c, const char *sid)
{
	return find_typed(c, sid, "WT", NULL);
}

struct reservation *find_reservation(swb_core *c, const char *sid)
{
	return find_typed(c, sid, "WR", NULL);
}

/* Steals items. Result: {key: [page items], "meta": {page, page_size, total, key}}. */
enum swb_code page_list(json_t *args, json_t *items, const char *key, json_t **result, struct swb_err *err)
{
	bool has;
	long long page = 0, size = PAGE_SIZE_DEFAULT;
	enum swb_code rc = arg_int(args, "page", 0, 1000000000, &has, &page, err);
	if (rc == SWB_OK)
		rc = arg_int(args, "page_size", 1, PAGE_SIZE_MAX, &has, &size, err);
	if (rc != SWB_OK) {
		json_decref(items);
		return rc;
	}
	size_t total = json_array_size(items);
	json_t *slice = json_array();
	for (size_t i = (size_t)(page * size); i < total && i < (size_t)((page + 1) * size); i++)
		json_array_append(slice, json_array_get(items, i));
	json_decref(items);
	if (result)
		*result = json_pack("{s:o, s:{s:I, s:I, s:I, s:s}}", key, slice, "meta", "page", page, "page_size",
				    size, "total", (json_int_t)total, "key", key);
	else
		json_decref(slice);
	return SWB_OK;
}
