/*
 * core_ops.c - the one command table (op name, scope, handler) and the handlers
 * for the workspace's configuration resources: the workspace itself, activities,
 * task channels, workers and task queues. Task, reservation and workflow handlers
 * live in core_ops_tasks.c. Every handler validates all of its input before it
 * changes anything.
 */
#include "core_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum swb_code (*op_fn)(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
			       struct swb_err *err);

/* handlers in core_ops_tasks.c */
enum swb_code op_workflows_create(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);
enum swb_code op_workflows_fetch(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);
enum swb_code op_workflows_list(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);
enum swb_code op_workflows_update(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);
enum swb_code op_workflows_delete(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);
enum swb_code op_tasks_create(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);
enum swb_code op_tasks_fetch(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);
enum swb_code op_tasks_list(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);
enum swb_code op_tasks_update(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);
enum swb_code op_tasks_delete(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);
enum swb_code op_res_fetch(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);
enum swb_code op_res_list(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);
enum swb_code op_res_update(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);
enum swb_code op_route_preview(swb_core *, const struct swb_actor *, json_t *, json_t **, struct swb_err *);

static bool is_worker(const struct swb_actor *a)
{
	return a->kind == SWB_ACTOR_WORKER;
}

static bool is_self(const struct swb_actor *a, const struct worker *w)
{
	return a->kind != SWB_ACTOR_WORKER || (a->worker_sid && strcmp(a->worker_sid, w->sid) == 0);
}

static enum swb_code name_taken(swb_map *names, const char *name, const void *self, const char *what,
				struct swb_err *err)
{
	void *other = swb_map_get(names, name);
	if (other && other != self)
		return swb_err_set(err, SWB_ECONFLICT, "%s %s named '%s' already exists",
				   strchr("aeiou", what[0]) ? "an" : "a", what, name);
	return SWB_OK;
}

static void rename_in(swb_map *names, char **field, const char *name, void *obj)
{
	swb_map_del(names, *field);
	free(*field);
	*field = core_strdup(name);
	swb_map_put(names, *field, obj);
}

/* ---------------- workspace ---------------- */

static enum swb_code op_ws_fetch(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				 struct swb_err *err)
{
	static const char *const keys[] = { NULL };
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK && res)
		*res = rep_workspace(c);
	return rc;
}

static enum swb_code parse_events_filter(json_t *v, json_t **out, struct swb_err *err)
{
	*out = NULL;
	if (!v || json_is_null(v))
		return SWB_OK;
	json_t *arr = json_array();
	if (json_is_string(v)) {
		char *copy = core_strdup(json_string_value(v)), *save = NULL;
		for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
			json_array_append_new(arr, json_string(tok));
		free(copy);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e)) {
				json_decref(arr);
				return swb_err_set(err, SWB_EINVAL, "'events_filter' must hold event type strings");
			}
			json_array_append(arr, e);
		}
	} else {
		json_decref(arr);
		return swb_err_set(err, SWB_EINVAL, "'events_filter' must be a comma-separated string or an array");
	}
	*out = arr;
	return SWB_OK;
}

static enum swb_code op_ws_update(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				  struct swb_err *err)
{
	static const char *const keys[] = { "friendly_name", "event_callback_url", "events_filter",
					    "default_activity_sid", "timeout_activity_sid", "multi_task_enabled", NULL };
	const char *name = NULL, *url = NULL, *dref = NULL, *tref = NULL; /* read below even when a check failed */
	bool has_mt, mt = true;
	json_t *filter = NULL;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "friendly_name", false, SWB_NAME_MAX, &name, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "event_callback_url", false, SWB_URL_MAX, &url, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "default_activity_sid", false, SWB_NAME_MAX, &dref, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "timeout_activity_sid", false, SWB_NAME_MAX, &tref, err);
	if (rc == SWB_OK)
		rc = arg_bool(args, "multi_task_enabled", &has_mt, &mt, err);
	struct activity *da = dref ? find_activity(c, dref) : NULL, *ta = tref ? find_activity(c, tref) : NULL;
	if (rc == SWB_OK && dref && !da)
		rc = swb_err_set(err, SWB_ENOTFOUND, "no activity '%s'", dref);
	if (rc == SWB_OK && tref && !ta)
		rc = swb_err_set(err, SWB_ENOTFOUND, "no activity '%s'", tref);
	if (rc == SWB_OK && url && *url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		rc = swb_err_set(err, SWB_EINVAL, "'event_callback_url' must be an http:// or https:// URL");
	if (rc == SWB_OK)
		rc = parse_events_filter(json_object_get(args, "events_filter"), &filter, err);
	if (rc != SWB_OK)
		return rc;
	if (name) {
		free(c->ws_name);
		c->ws_name = core_strdup(name);
	}
	if (url) {
		free(c->event_callback_url);
		c->event_callback_url = *url ? core_strdup(url) : NULL;
	}
	if (filter) {
		json_decref(c->events_filter);
		c->events_filter = json_array_size(filter) ? filter : (json_decref(filter), NULL);
	}
	if (da)
		c->default_act = da;
	if (ta)
		c->timeout_act = ta;
	if (has_mt)
		c->multitasking = mt;
	c->ws_updated = c->now;
	core_emit(c, "workspace.updated", "workspace", c->ws_sid, "Workspace updated", json_object());
	if (res)
		*res = rep_workspace(c);
	return SWB_OK;
}

static enum swb_code op_ws_stats(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				 struct swb_err *err)
{
	static const char *const keys[] = { NULL };
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK && res)
		*res = rep_workspace_stats(c);
	return rc;
}

/* ---------------- activities ---------------- */

static enum swb_code op_act_create(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				   struct swb_err *err)
{
	static const char *const keys[] = { "friendly_name", "available", NULL };
	const char *name;
	bool has, avail = false;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "friendly_name", true, SWB_NAME_MAX, &name, err);
	if (rc == SWB_OK)
		rc = arg_bool(args, "available", &has, &avail, err);
	if (rc == SWB_OK)
		rc = name_taken(c->activity_names, name, NULL, "activity", err);
	if (rc == SWB_OK && c->next_act_idx >= SWB_MAX_ACTIVITIES)
		rc = swb_err_set(err, SWB_ETOOBIG, "a workspace holds at most %d activities", SWB_MAX_ACTIVITIES);
	if (rc != SWB_OK)
		return rc;
	struct activity *act = core_alloc(sizeof *act);
	swb_sid_make(&c->rng, "WA", act->sid);
	act->name = core_strdup(name);
	act->available = avail;
	act->idx = c->next_act_idx++;
	act->created = act->updated = c->now;
	vec_push(&c->activities, act);
	swb_map_put(c->by_sid, act->sid, act);
	swb_map_put(c->activity_names, act->name, act);
	if (!c->default_act)
		c->default_act = act; /* a workspace started without defaults takes its first activity */
	if (!c->timeout_act)
		c->timeout_act = act;
	core_emit(c, "activity.created", "activity", act->sid, "Activity created", json_pack("{s:s, s:s}",
		  "activity_sid", act->sid, "activity_name", act->name));
	if (res)
		*res = rep_activity(c, act);
	return SWB_OK;
}

static enum swb_code get_activity(swb_core *c, json_t *args, struct activity **out, struct swb_err *err)
{
	const char *sid;
	enum swb_code rc = arg_sid(args, err, &sid);
	if (rc != SWB_OK)
		return rc;
	*out = find_activity(c, sid);
	return *out ? SWB_OK : swb_err_set(err, SWB_ENOTFOUND, "no activity '%s'", sid);
}

static enum swb_code op_act_fetch(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				  struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct activity *act;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_activity(c, args, &act, err);
	if (rc == SWB_OK && res)
		*res = rep_activity(c, act);
	return rc;
}

static enum swb_code op_act_list(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				 struct swb_err *err)
{
	static const char *const keys[] = { "friendly_name", "available", "page", "page_size", NULL };
	const char *name;
	bool has_avail, avail;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "friendly_name", false, SWB_NAME_MAX, &name, err);
	if (rc == SWB_OK)
		rc = arg_bool(args, "available", &has_avail, &avail, err);
	if (rc != SWB_OK)
		return rc;
	json_t *items = json_array();
	for (size_t i = 0; i < c->activities.n; i++) {
		struct activity *act = c->activities.v[i];
		if ((name && strcmp(name, act->name) != 0) || (has_avail && avail != act->available))
			continue;
		json_array_append_new(items, rep_activity(c, act));
	}
	return page_list(args, items, "activities", res, err);
}

static enum swb_code op_act_update(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				   struct swb_err *err)
{
	static const char *const keys[] = { "sid", "friendly_name", NULL };
	struct activity *act;
	const char *name;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_activity(c, args, &act, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "friendly_name", false, SWB_NAME_MAX, &name, err);
	if (rc == SWB_OK && name)
		rc = name_taken(c->activity_names, name, act, "activity", err);
	if (rc != SWB_OK)
		return rc;
	if (name)
		rename_in(c->activity_names, &act->name, name, act);
	act->updated = c->now;
	core_emit(c, "activity.updated", "activity", act->sid, "Activity updated",
		  json_pack("{s:s, s:s}", "activity_sid", act->sid, "activity_name", act->name));
	if (res)
		*res = rep_activity(c, act);
	return SWB_OK;
}

static bool activity_in_use(swb_core *c, const struct activity *act)
{
	if (act == c->default_act || act == c->timeout_act)
		return true;
	for (size_t i = 0; i < c->workers.n; i++)
		if (((struct worker *)c->workers.v[i])->act == act)
			return true;
	for (size_t i = 0; i < c->queues.n; i++) {
		struct queue *q = c->queues.v[i];
		if (q->res_act == act || q->assign_act == act)
			return true;
	}
	return false;
}

static enum swb_code op_act_delete(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				   struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct activity *act;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_activity(c, args, &act, err);
	if (rc == SWB_OK && activity_in_use(c, act))
		rc = swb_err_set(err, SWB_ECONFLICT,
				 "activity '%s' is in use (by a worker, a queue, or as the default or timeout activity)",
				 act->name);
	if (rc != SWB_OK)
		return rc;
	core_emit(c, "activity.deleted", "activity", act->sid, "Activity deleted",
		  json_pack("{s:s, s:s}", "activity_sid", act->sid, "activity_name", act->name));
	swb_map_del(c->by_sid, act->sid);
	swb_map_del(c->activity_names, act->name);
	vec_remove(&c->activities, act);
	free(act->name);
	free(act);
	if (res)
		*res = json_object();
	return SWB_OK;
}

/* ---------------- task channels ---------------- */

static enum swb_code get_channel(swb_core *c, json_t *args, struct channel **out, struct swb_err *err)
{
	const char *sid;
	enum swb_code rc = arg_sid(args, err, &sid);
	if (rc != SWB_OK)
		return rc;
	*out = find_channel(c, sid);
	return *out ? SWB_OK : swb_err_set(err, SWB_ENOTFOUND, "no task channel '%s'", sid);
}

static enum swb_code op_ch_create(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				  struct swb_err *err)
{
	static const char *const keys[] = { "unique_name", "friendly_name", "channel_optimized_routing", NULL };
	const char *uname, *fname;
	bool has_opt, opt = false;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "unique_name", true, SWB_NAME_MAX, &uname, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "friendly_name", false, SWB_NAME_MAX, &fname, err);
	if (rc == SWB_OK)
		rc = arg_bool(args, "channel_optimized_routing", &has_opt, &opt, err);
	if (rc == SWB_OK)
		rc = name_taken(c->channel_names, uname, NULL, "task channel", err);
	size_t used = 0;
	for (size_t i = 0; i < c->channels.n; i++)
		used = (size_t)((struct channel *)c->channels.v[i])->idx + 1 > used ?
			       (size_t)((struct channel *)c->channels.v[i])->idx + 1 : used;
	if (rc == SWB_OK && used >= SWB_MAX_CHANNELS)
		rc = swb_err_set(err, SWB_ETOOBIG, "a workspace holds at most %d task channels", SWB_MAX_CHANNELS);
	if (rc != SWB_OK)
		return rc;
	struct channel *ch = core_alloc(sizeof *ch);
	swb_sid_make(&c->rng, "TC", ch->sid);
	ch->unique_name = core_strdup(uname);
	ch->friendly_name = core_strdup(fname ? fname : uname);
	ch->optimized = opt;
	ch->idx = (int)used;
	ch->created = ch->updated = c->now;
	vec_push(&c->channels, ch);
	swb_map_put(c->by_sid, ch->sid, ch);
	swb_map_put(c->channel_names, ch->unique_name, ch);
	for (size_t i = 0; i < c->workers.n; i++) {
		struct worker *w = c->workers.v[i];
		w->ch[ch->idx] = (struct wchan){ .capacity = 1, .available = true };
		worker_refresh_idle(c, w);
	}
	core_emit(c, "task-channel.created", "task_channel", ch->sid, "Task channel created",
		  json_pack("{s:s, s:s}", "task_channel_sid", ch->sid, "task_channel_unique_name", ch->unique_name));
	if (res)
		*res = rep_channel(c, ch);
	return SWB_OK;
}

static enum swb_code op_ch_fetch(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				 struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct channel *ch;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_channel(c, args, &ch, err);
	if (rc == SWB_OK && res)
		*res = rep_channel(c, ch);
	return rc;
}

static enum swb_code op_ch_list(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				struct swb_err *err)
{
	static const char *const keys[] = { "page", "page_size", NULL };
	enum swb_code rc = arg_only(args, keys, err);
	if (rc != SWB_OK)
		return rc;
	json_t *items = json_array();
	for (size_t i = 0; i < c->channels.n; i++)
		json_array_append_new(items, rep_channel(c, c->channels.v[i]));
	return page_list(args, items, "channels", res, err);
}

static enum swb_code op_ch_update(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				  struct swb_err *err)
{
	static const char *const keys[] = { "sid", "friendly_name", "channel_optimized_routing", NULL };
	struct channel *ch;
	const char *fname;
	bool has_opt, opt;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_channel(c, args, &ch, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "friendly_name", false, SWB_NAME_MAX, &fname, err);
	if (rc == SWB_OK)
		rc = arg_bool(args, "channel_optimized_routing", &has_opt, &opt, err);
	if (rc != SWB_OK)
		return rc;
	if (fname) {
		free(ch->friendly_name);
		ch->friendly_name = core_strdup(fname);
	}
	if (has_opt)
		ch->optimized = opt;
	ch->updated = c->now;
	core_emit(c, "task-channel.updated", "task_channel", ch->sid, "Task channel updated",
		  json_pack("{s:s, s:s}", "task_channel_sid", ch->sid, "task_channel_unique_name", ch->unique_name));
	if (res)
		*res = rep_channel(c, ch);
	return SWB_OK;
}

static enum swb_code op_ch_delete(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				  struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct channel *ch;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_channel(c, args, &ch, err);
	FOR_EACH_TASK(c, t)
		if (rc == SWB_OK && t->ch == ch)
			rc = swb_err_set(err, SWB_ECONFLICT, "task channel '%s' is used by tasks", ch->unique_name);
	if (rc != SWB_OK)
		return rc;
	core_emit(c, "task-channel.deleted", "task_channel", ch->sid, "Task channel deleted",
		  json_pack("{s:s, s:s}", "task_channel_sid", ch->sid, "task_channel_unique_name", ch->unique_name));
	for (size_t i = 0; i < c->workers.n; i++) {
		struct worker *w = c->workers.v[i];
		w->ch[ch->idx] = (struct wchan){ 0 };
		worker_refresh_idle(c, w);
	}
	swb_map_del(c->by_sid, ch->sid);
	swb_map_del(c->channel_names, ch->unique_name);
	vec_remove(&c->channels, ch);
	free(ch->unique_name);
	free(ch->friendly_name);
	free(ch);
	if (res)
		*res = json_object();
	return SWB_OK;
}

/* ---------------- workers ---------------- */

static enum swb_code get_worker(swb_core *c, const struct swb_actor *a, json_t *args, struct worker **out,
				struct swb_err *err)
{
	const char *sid;
	enum swb_code rc = arg_sid(args, err, &sid);
	if (rc != SWB_OK)
		return rc;
	*out = find_worker(c, sid);
	if (!*out)
		return swb_err_set(err, SWB_ENOTFOUND, "no worker '%s'", sid);
	if (!is_self(a, *out))
		return swb_err_set(err, SWB_EPERM, "a worker token may only act on its own worker");
	return SWB_OK;
}

/* channels: {"voice": {"capacity": 1, "available": true}, ...}; validated into caps. */
static enum swb_code parse_channels(swb_core *c, json_t *v, struct wchan caps[SWB_MAX_CHANNELS], struct swb_err *err)
{
	if (!v || json_is_null(v))
		return SWB_OK;
	if (!json_is_object(v))
		return swb_err_set(err, SWB_EINVAL, "'channels' must be an object of channel name to {capacity, available}");
	const char *key;
	json_t *spec;
	json_object_foreach(v, key, spec) {
		struct channel *ch = find_channel(c, key);
		json_error_t je;
		int cap = caps[ch ? ch->idx : 0].capacity, avail = 1;
		if (!ch)
			return swb_err_set(err, SWB_EINVAL, "channels: unknown task channel '%s'", key);
		if (json_unpack_ex(spec, &je, JSON_STRICT, "{s?i, s?b}", "capacity", &cap, "available", &avail) != 0)
			return swb_err_set(err, SWB_EINVAL, "channels.%s: %s", key, je.text);
		if (cap < 0 || cap > 1000)
			return swb_err_set(err, SWB_EINVAL, "channels.%s: capacity must be from 0 to 1000", key);
		caps[ch->idx].capacity = cap;
		caps[ch->idx].available = avail;
	}
	return SWB_OK;
}

static enum swb_code op_wk_create(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				  struct swb_err *err)
{
	static const char *const keys[] = { "friendly_name", "attributes", "activity_sid", "channels", NULL };
	const char *name = NULL, *aref = NULL; /* read below even when a check failed */
	json_t *attrs = NULL;
	struct wchan caps[SWB_MAX_CHANNELS] = { { 0 } };
	for (size_t i = 0; i < c->channels.n; i++)
		caps[((struct channel *)c->channels.v[i])->idx] = (struct wchan){ .capacity = 1, .available = true };
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "friendly_name", true, SWB_NAME_MAX, &name, err);
	if (rc == SWB_OK)
		rc = name_taken(c->worker_names, name, NULL, "worker", err);
	if (rc == SWB_OK)
		rc = arg_str(args, "activity_sid", false, SWB_NAME_MAX, &aref, err);
	struct activity *act = aref ? find_activity(c, aref) : c->default_act;
	if (rc == SWB_OK && !act)
		rc = swb_err_set(err, SWB_ENOTFOUND, "no activity '%s'", aref);
	if (rc == SWB_OK)
		rc = parse_channels(c, json_object_get(args, "channels"), caps, err);
	if (rc == SWB_OK)
		rc = arg_attrs(args, "attributes", &attrs, err);
	if (rc != SWB_OK)
		return rc;
	struct worker *w = core_alloc(sizeof *w);
	swb_sid_make(&c->rng, "WK", w->sid);
	w->name = core_strdup(name);
	w->attrs = attrs ? attrs : json_object();
	w->act = act;
	w->created = w->updated = w->status_changed = w->idle_since = c->now;
	memcpy(w->ch, caps, sizeof caps);
	vec_push(&c->workers, w);
	swb_map_put(c->by_sid, w->sid, w);
	swb_map_put(c->worker_names, w->name, w);
	worker_recompute_membership(c, w);
	worker_refresh_idle(c, w);
	core_emit(c, "worker.created", "worker", w->sid, "Worker created", evd_worker(c, w));
	route_worker(c, w);
	if (res)
		*res = rep_worker(c, w);
	return SWB_OK;
}

static enum swb_code op_wk_fetch(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				 struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct worker *w;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_worker(c, a, args, &w, err);
	if (rc == SWB_OK && res)
		*res = rep_worker(c, w);
	return rc;
}

static bool worker_in_queue(const struct worker *w, const struct queue *q)
{
	for (size_t i = 0; i < w->nmem; i++)
		if (w->mem[i]->q == q)
			return true;
	return false;
}

static enum swb_code op_wk_list(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				struct swb_err *err)
{
	static const char *const keys[] = { "activity_sid", "activity_name", "available", "friendly_name",
					    "target_workers_expression", "task_queue_sid", "task_queue_name",
					    "page", "page_size", NULL };
	const char *act_sid = NULL, *act_name = NULL, *name = NULL, *expr_src = NULL, *qsid = NULL, *qname = NULL;
	bool has_avail, avail;
	swb_expr *expr = NULL;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "activity_sid", false, SWB_NAME_MAX, &act_sid, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "activity_name", false, SWB_NAME_MAX, &act_name, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "friendly_name", false, SWB_NAME_MAX, &name, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "task_queue_sid", false, SWB_NAME_MAX, &qsid, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "task_queue_name", false, SWB_NAME_MAX, &qname, err);
	if (rc == SWB_OK)
		rc = arg_bool(args, "available", &has_avail, &avail, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "target_workers_expression", false, SWB_EXPR_MAX_LEN, &expr_src, err);
	if (rc == SWB_OK && expr_src && (rc = swb_expr_compile(expr_src, &expr, err)) != SWB_OK)
		swb_err_prefix(err, "target_workers_expression");
	struct queue *q = qsid ? find_queue(c, qsid) : qname ? find_queue(c, qname) : NULL;
	if (rc == SWB_OK && (qsid || qname) && !q)
		rc = swb_err_set(err, SWB_ENOTFOUND, "no task queue '%s'", qsid ? qsid : qname);
	if (rc != SWB_OK) {
		swb_expr_free(expr);
		return rc;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < c->workers.n; i++) {
		struct worker *w = c->workers.v[i];
		swb_expr_ctx ctx = { .bare = w->attrs, .worker = w->attrs };
		if ((act_sid && strcmp(act_sid, w->act->sid) != 0) || (act_name && strcmp(act_name, w->act->name) != 0) ||
		    (name && strcmp(name, w->name) != 0) || (has_avail && avail != w->act->available) ||
		    (q && !worker_in_queue(w, q)) || (expr && !swb_expr_eval(expr, &ctx)) || !is_self(a, w))
			continue;
		json_array_append_new(items, rep_worker(c, w));
	}
	swb_expr_free(expr);
	return page_list(args, items, "workers", res, err);
}

static enum swb_code check_worker_update(const struct swb_actor *a, json_t *args, struct swb_err *err)
{
	if (a->kind != SWB_ACTOR_SUPERVISOR)
		return SWB_OK;
	static const char *const sup_keys[] = { "sid", "activity_sid", NULL };
	if (arg_only(args, sup_keys, err) != SWB_OK)
		return swb_err_set(err, SWB_EPERM, "a supervisor may only change a worker's activity");
	return SWB_OK;
}

static enum swb_code op_wk_update(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				  struct swb_err *err)
{
	static const char *const keys[] = { "sid", "friendly_name", "attributes", "activity_sid", NULL };
	struct worker *w;
	const char *name = NULL, *aref = NULL; /* read below even when a check failed */
	json_t *attrs = NULL;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = check_worker_update(a, args, err);
	if (rc == SWB_OK)
		rc = get_worker(c, a, args, &w, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "friendly_name", false, SWB_NAME_MAX, &name, err);
	if (rc == SWB_OK && name && is_worker(a))
		rc = swb_err_set(err, SWB_EPERM, "a worker token may not rename a worker");
	if (rc == SWB_OK && name)
		rc = name_taken(c->worker_names, name, w, "worker", err);
	if (rc == SWB_OK)
		rc = arg_str(args, "activity_sid", false, SWB_NAME_MAX, &aref, err);
	struct activity *act = aref ? find_activity(c, aref) : NULL;
	if (rc == SWB_OK && aref && !act)
		rc = swb_err_set(err, SWB_ENOTFOUND, "no activity '%s'", aref);
	if (rc == SWB_OK)
		rc = arg_attrs(args, "attributes", &attrs, err);
	if (rc != SWB_OK)
		return rc;
	if (name)
		rename_in(c->worker_names, &w->name, name, w);
	if (attrs) {
		json_decref(w->attrs);
		w->attrs = attrs;
		worker_recompute_membership(c, w);
		core_emit(c, "worker.attributes.update", "worker", w->sid, "Worker attributes updated", evd_worker(c, w));
	}
	w->updated = c->now;
	if (act)
		worker_set_activity(c, w, act, NULL);
	route_worker(c, w);
	if (res)
		*res = rep_worker(c, w);
	return SWB_OK;
}

static bool worker_busy(const struct worker *w)
{
	for (const struct reservation *r = w->r_head; r; r = r->w_next)
		if (r->st == R_PENDING || r->st == R_ACCEPTED || r->st == R_WRAPPING)
			return true;
	return false;
}

/* Forgets finished reservations of w so the worker can go (they stay in the journal). */
static void drop_finished_reservations(swb_core *c, struct worker *w)
{
	struct reservation *r = w->r_head;
	while (r) {
		struct reservation *next = r->w_next;
		struct task *t = r->t;
		if (r->t_prev)
			r->t_prev->t_next = r->t_next;
		else
			t->r_head = r->t_next;
		if (r->t_next)
			r->t_next->t_prev = r->t_prev;
		else
			t->r_tail = r->t_prev;
		swb_map_del(c->by_sid, r->sid);
		free(r);
		r = next;
	}
	w->r_head = w->r_tail = NULL;
	FOR_EACH_TASK(c, t) {
		for (size_t j = 0; j < t->nexcl; j++)
			if (t->excl[j] == w)
				t->excl[j--] = t->excl[--t->nexcl];
	}
}

static enum swb_code op_wk_delete(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				  struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct worker *w;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_worker(c, a, args, &w, err);
	if (rc == SWB_OK && worker_busy(w))
		rc = swb_err_set(err, SWB_ECONFLICT, "worker '%s' has pending or assigned reservations", w->name);
	if (rc != SWB_OK)
		return rc;
	core_emit(c, "worker.deleted", "worker", w->sid, "Worker deleted", evd_worker(c, w));
	drop_finished_reservations(c, w);
	worker_destroy(c, w);
	if (res)
		*res = json_object();
	return SWB_OK;
}

static enum swb_code op_wk_channels(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				    struct swb_err *err)
{
	static const char *const keys[] = { "sid", "page", "page_size", NULL };
	struct worker *w;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_worker(c, a, args, &w, err);
	if (rc != SWB_OK)
		return rc;
	json_t *items = json_array();
	for (size_t i = 0; i < c->channels.n; i++)
		json_array_append_new(items, rep_worker_channel(c, w, c->channels.v[i]));
	return page_list(args, items, "channels", res, err);
}

static enum swb_code op_wk_channel_update(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
					  struct swb_err *err)
{
	static const char *const keys[] = { "sid", "channel", "capacity", "available", NULL };
	struct worker *w;
	const char *cref;
	long long cap;
	bool has_cap, has_avail, avail;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_worker(c, a, args, &w, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "channel", true, SWB_NAME_MAX, &cref, err);
	struct channel *ch = rc == SWB_OK ? find_channel(c, cref) : NULL;
	if (rc == SWB_OK && !ch)
		rc = swb_err_set(err, SWB_ENOTFOUND, "no task channel '%s'", cref);
	if (rc == SWB_OK)
		rc = arg_int(args, "capacity", 0, 1000, &has_cap, &cap, err);
	if (rc == SWB_OK)
		rc = arg_bool(args, "available", &has_avail, &avail, err);
	if (rc != SWB_OK)
		return rc;
	if (has_cap)
		w->ch[ch->idx].capacity = (int)cap;
	if (has_avail)
		w->ch[ch->idx].available = avail;
	w->updated = c->now;
	worker_refresh_idle(c, w);
	json_t *d = evd_worker(c, w);
	json_object_set_new(d, "task_channel_unique_name", json_string(ch->unique_name));
	json_object_set_new(d, "worker_channel_capacity", json_integer(w->ch[ch->idx].capacity));
	json_object_set_new(d, "worker_channel_available", json_boolean(w->ch[ch->idx].available));
	core_emit(c, has_cap ? "worker.capacity.update" : "worker.channel.availability.update", "worker", w->sid,
		  "Worker channel updated", d);
	route_worker(c, w);
	if (res)
		*res = rep_worker_channel(c, w, ch);
	return SWB_OK;
}

/* ---------------- task queues ---------------- */

static enum swb_code get_queue(swb_core *c, json_t *args, struct queue **out, struct swb_err *err)
{
	const char *sid;
	enum swb_code rc = arg_sid(args, err, &sid);
	if (rc != SWB_OK)
		return rc;
	*out = find_queue(c, sid);
	return *out ? SWB_OK : swb_err_set(err, SWB_ENOTFOUND, "no task queue '%s'", sid);
}

struct queue_args {
	const char *name, *target, *order, *res_ref, *assign_ref;
	long long max_res;
	bool has_max;
	struct activity *res_act, *assign_act;
	swb_expr *expr;
};

static enum swb_code activity_ref(swb_core *c, const char *ref, struct activity **out, struct swb_err *err)
{
	*out = NULL;
	if (!ref || !*ref)
		return SWB_OK;
	*out = find_activity(c, ref);
	return *out ? SWB_OK : swb_err_set(err, SWB_ENOTFOUND, "no activity '%s'", ref);
}

static enum swb_code parse_queue_args(swb_core *c, json_t *args, bool create, struct queue_args *qa,
				      struct swb_err *err)
{
	enum swb_code rc = arg_str(args, "friendly_name", create, SWB_NAME_MAX, &qa->name, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "target_workers", false, SWB_EXPR_MAX_LEN, &qa->target, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "task_order", false, 8, &qa->order, err);
	if (rc == SWB_OK && qa->order && strcmp(qa->order, "FIFO") != 0 && strcmp(qa->order, "LIFO") != 0)
		rc = swb_err_set(err, SWB_EINVAL, "'task_order' must be FIFO or LIFO");
	if (rc == SWB_OK)
		rc = arg_int(args, "max_reserved_workers", 1, SWB_MAX_RESERVED, &qa->has_max, &qa->max_res, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "reservation_activity_sid", false, SWB_NAME_MAX, &qa->res_ref, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "assignment_activity_sid", false, SWB_NAME_MAX, &qa->assign_ref, err);
	if (rc == SWB_OK)
		rc = activity_ref(c, qa->res_ref, &qa->res_act, err);
	if (rc == SWB_OK)
		rc = activity_ref(c, qa->assign_ref, &qa->assign_act, err);
	if (rc == SWB_OK && qa->target) {
		rc = swb_expr_compile(qa->target, &qa->expr, err);
		if (rc != SWB_OK)
			swb_err_prefix(err, "target_workers");
	}
	return rc;
}

static void apply_queue_args(swb_core *c, struct queue *q, struct queue_args *qa)
{
	if (qa->name && (!q->name || strcmp(q->name, qa->name) != 0)) {
		if (q->name)
			swb_map_del(c->queue_names, q->name);
		free(q->name);
		q->name = core_strdup(qa->name);
		swb_map_put(c->queue_names, q->name, q);
	}
	if (qa->order)
		q->lifo = strcmp(qa->order, "LIFO") == 0;
	if (qa->has_max)
		q->max_reserved = (int)qa->max_res;
	if (qa->res_ref)
		q->res_act = qa->res_act;
	if (qa->assign_ref)
		q->assign_act = qa->assign_act;
	q->updated = c->now;
}

static enum swb_code op_q_create(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				 struct swb_err *err)
{
	static const char *const keys[] = { "friendly_name", "target_workers", "task_order", "max_reserved_workers",
					    "reservation_activity_sid", "assignment_activity_sid", NULL };
	struct queue_args qa = { 0 };
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = parse_queue_args(c, args, true, &qa, err);
	if (rc == SWB_OK)
		rc = name_taken(c->queue_names, qa.name, NULL, "task queue", err);
	if (rc == SWB_OK && !qa.expr)
		rc = swb_expr_compile("1==1", &qa.expr, err);
	if (rc != SWB_OK) {
		swb_expr_free(qa.expr);
		return rc;
	}
	struct queue *q = core_alloc(sizeof *q);
	swb_sid_make(&c->rng, "WQ", q->sid);
	q->target = qa.expr;
	q->target_src = core_strdup(qa.target ? qa.target : "1==1");
	q->max_reserved = 1;
	q->created = c->now;
	apply_queue_args(c, q, &qa);
	vec_push(&c->queues, q);
	swb_map_put(c->by_sid, q->sid, q);
	queue_recompute_membership(c, q);
	core_emit(c, "task-queue.created", "task_queue", q->sid, "TaskQueue created",
		  json_pack("{s:s, s:s, s:s}", "task_queue_sid", q->sid, "task_queue_name", q->name,
			    "task_queue_target_expression", q->target_src));
	if (res)
		*res = rep_queue(c, q);
	return SWB_OK;
}

static enum swb_code op_q_fetch(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct queue *q;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_queue(c, args, &q, err);
	if (rc == SWB_OK && res)
		*res = rep_queue(c, q);
	return rc;
}

static enum swb_code op_q_list(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
			       struct swb_err *err)
{
	static const char *const keys[] = { "friendly_name", "evaluate_worker_attributes", "worker_sid",
					    "page", "page_size", NULL };
	const char *name = NULL, *wsid = NULL; /* read below even when a check failed */
	json_t *wattrs = NULL;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "friendly_name", false, SWB_NAME_MAX, &name, err);
	if (rc == SWB_OK)
		rc = arg_str(args, "worker_sid", false, SWB_NAME_MAX, &wsid, err);
	struct worker *w = wsid ? find_worker(c, wsid) : NULL;
	if (rc == SWB_OK && wsid && !w)
		rc = swb_err_set(err, SWB_ENOTFOUND, "no worker '%s'", wsid);
	if (rc == SWB_OK)
		rc = arg_attrs(args, "evaluate_worker_attributes", &wattrs, err);
	if (rc != SWB_OK)
		return rc;
	json_t *items = json_array();
	for (size_t i = 0; i < c->queues.n; i++) {
		struct queue *q = c->queues.v[i];
		swb_expr_ctx ctx = { .bare = wattrs, .worker = wattrs };
		if ((name && strcmp(name, q->name) != 0) || (w && !worker_in_queue(w, q)) ||
		    (wattrs && !swb_expr_eval(q->target, &ctx)))
			continue;
		json_array_append_new(items, rep_queue(c, q));
	}
	json_decref(wattrs);
	return page_list(args, items, "task_queues", res, err);
}

static enum swb_code op_q_update(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				 struct swb_err *err)
{
	static const char *const keys[] = { "sid", "friendly_name", "target_workers", "task_order",
					    "max_reserved_workers", "reservation_activity_sid",
					    "assignment_activity_sid", NULL };
	struct queue *q;
	struct queue_args qa = { 0 };
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_queue(c, args, &q, err);
	if (rc == SWB_OK)
		rc = parse_queue_args(c, args, false, &qa, err);
	if (rc == SWB_OK && qa.name)
		rc = name_taken(c->queue_names, qa.name, q, "task queue", err);
	if (rc != SWB_OK) {
		swb_expr_free(qa.expr);
		return rc;
	}
	bool reorder = qa.order && q->lifo != (strcmp(qa.order, "LIFO") == 0);
	(void)reorder; /* buckets are kept oldest-first; LIFO reads them from the tail */
	apply_queue_args(c, q, &qa);
	if (qa.expr) {
		swb_expr_free(q->target);
		free(q->target_src);
		q->target = qa.expr;
		q->target_src = core_strdup(qa.target);
		queue_recompute_membership(c, q);
		core_emit(c, "task-queue.expression.updated", "task_queue", q->sid, "TaskQueue expression updated",
			  json_pack("{s:s, s:s, s:s}", "task_queue_sid", q->sid, "task_queue_name", q->name,
				    "task_queue_target_expression", q->target_src));
	}
	for (struct task *t = q->wait_head; t; t = t->w_next)
		task_seek_update(c, t);
	core_emit(c, "task-queue.updated", "task_queue", q->sid, "TaskQueue updated",
		  json_pack("{s:s, s:s}", "task_queue_sid", q->sid, "task_queue_name", q->name));
	for (struct member *m = q->idle_head; m;) {
		struct member *next = m->next;
		route_worker(c, m->w);
		m = next;
	}
	if (res)
		*res = rep_queue(c, q);
	return SWB_OK;
}

static enum swb_code op_q_delete(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				 struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct queue *q;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_queue(c, args, &q, err);
	if (rc == SWB_OK && q->wf_refs > 0)
		rc = swb_err_set(err, SWB_ECONFLICT, "task queue '%s' is a target of a workflow", q->name);
	FOR_EACH_TASK(c, t)
		if (rc == SWB_OK && t->q == q)
			rc = swb_err_set(err, SWB_ECONFLICT, "task queue '%s' still holds tasks", q->name);
	for (size_t i = 0; rc == SWB_OK && i < c->workers.n; i++)
		for (struct reservation *r = ((struct worker *)c->workers.v[i])->r_head; r && rc == SWB_OK; r = r->w_next)
			if (r->q == q)
				rc = swb_err_set(err, SWB_ECONFLICT, "task queue '%s' has reservations", q->name);
	if (rc != SWB_OK)
		return rc;
	core_emit(c, "task-queue.deleted", "task_queue", q->sid, "TaskQueue deleted",
		  json_pack("{s:s, s:s}", "task_queue_sid", q->sid, "task_queue_name", q->name));
	queue_drop_members(c, q);
	swb_map_del(c->by_sid, q->sid);
	swb_map_del(c->queue_names, q->name);
	vec_remove(&c->queues, q);
	swb_expr_free(q->target);
	free(q->target_src);
	free(q->name);
	free(q);
	if (res)
		*res = json_object();
	return SWB_OK;
}

static enum swb_code op_q_stats(swb_core *c, const struct swb_actor *a, json_t *args, json_t **res,
				struct swb_err *err)
{
	static const char *const keys[] = { "sid", NULL };
	struct queue *q;
	enum swb_code rc = arg_only(args, keys, err);
	if (rc == SWB_OK)
		rc = get_queue(c, args, &q, err);
	if (rc == SWB_OK && res)
		*res = rep_queue_stats(c, q);
	return rc;
}

/* ---------------- the table ---------------- */

/* Every op once: X(name, scope, mutates, handler, summary). Expanded into the two arrays below. */
#define SWB_OP_TABLE(X) \
	X("workspace.fetch", SWB_OP_WORKER, false, op_ws_fetch, "the workspace") \
	X("workspace.update", SWB_OP_ADMIN, true, op_ws_update, "change name, callback URL, default/timeout activity") \
	X("workspace.stats", SWB_OP_SUPERVISOR, false, op_ws_stats, "real-time and cumulative workspace statistics") \
	X("activities.create", SWB_OP_ADMIN, true, op_act_create, "create an activity") \
	X("activities.fetch", SWB_OP_WORKER, false, op_act_fetch, "one activity") \
	X("activities.list", SWB_OP_WORKER, false, op_act_list, "activities") \
	X("activities.update", SWB_OP_ADMIN, true, op_act_update, "rename an activity") \
	X("activities.delete", SWB_OP_ADMIN, true, op_act_delete, "delete an unused activity") \
	X("task_channels.create", SWB_OP_ADMIN, true, op_ch_create, "create a task channel") \
	X("task_channels.fetch", SWB_OP_WORKER, false, op_ch_fetch, "one task channel") \
	X("task_channels.list", SWB_OP_WORKER, false, op_ch_list, "task channels") \
	X("task_channels.update", SWB_OP_ADMIN, true, op_ch_update, "change a task channel") \
	X("task_channels.delete", SWB_OP_ADMIN, true, op_ch_delete, "delete an unused task channel") \
	X("workers.create", SWB_OP_ADMIN, true, op_wk_create, "create a worker") \
	X("workers.fetch", SWB_OP_WORKER, false, op_wk_fetch, "one worker (a worker token: itself)") \
	X("workers.list", SWB_OP_WORKER, false, op_wk_list, "workers, with filters") \
	X("workers.update", SWB_OP_WORKER, true, op_wk_update, "activity, attributes, name") \
	X("workers.delete", SWB_OP_ADMIN, true, op_wk_delete, "delete an idle worker") \
	X("workers.channels.list", SWB_OP_WORKER, false, op_wk_channels, "a worker's channels and capacity") \
	X("workers.channels.update", SWB_OP_ADMIN, true, op_wk_channel_update, "set a worker's channel capacity") \
	X("task_queues.create", SWB_OP_ADMIN, true, op_q_create, "create a task queue") \
	X("task_queues.fetch", SWB_OP_WORKER, false, op_q_fetch, "one task queue") \
	X("task_queues.list", SWB_OP_WORKER, false, op_q_list, "task queues") \
	X("task_queues.update", SWB_OP_ADMIN, true, op_q_update, "change a task queue") \
	X("task_queues.delete", SWB_OP_ADMIN, true, op_q_delete, "delete an unused task queue") \
	X("task_queues.stats", SWB_OP_WORKER, false, op_q_stats, "a queue's real-time statistics") \
	X("workflows.create", SWB_OP_ADMIN, true, op_workflows_create, "create a workflow") \
	X("workflows.fetch", SWB_OP_SUPERVISOR, false, op_workflows_fetch, "one workflow") \
	X("workflows.list", SWB_OP_SUPERVISOR, false, op_workflows_list, "workflows") \
	X("workflows.update", SWB_OP_ADMIN, true, op_workflows_update, "change a workflow") \
	X("workflows.delete", SWB_OP_ADMIN, true, op_workflows_delete, "delete a workflow with no live tasks") \
	X("tasks.create", SWB_OP_ADMIN, true, op_tasks_create, "create a task") \
	X("tasks.fetch", SWB_OP_WORKER, false, op_tasks_fetch, "one task (a worker token: its own)") \
	X("tasks.list", SWB_OP_WORKER, false, op_tasks_list, "tasks, with filters") \
	X("tasks.update", SWB_OP_WORKER, true, op_tasks_update, "attributes, priority, cancel, wrap up, complete") \
	X("tasks.delete", SWB_OP_ADMIN, true, op_tasks_delete, "delete a task") \
	X("reservations.fetch", SWB_OP_WORKER, false, op_res_fetch, "one reservation") \
	X("reservations.list", SWB_OP_WORKER, false, op_res_list, "a task's or a worker's reservations") \
	X("reservations.update", SWB_OP_WORKER, true, op_res_update, "accept, reject, wrap up, complete") \
	X("route.preview", SWB_OP_SUPERVISOR, false, op_route_preview, "where a task would go (dry run)")

#define OP_INFO(n, s, m, f, sum) { n, s, m, sum },
#define OP_FN(n, s, m, f, sum) f,
/* swb_core_ops() hands this array out, so it holds only swb_op_info entries (the stride callers step by). */
static const struct swb_op_info op_infos[] = { SWB_OP_TABLE(OP_INFO) { NULL, 0, false, NULL } };
static const op_fn op_fns[] = { SWB_OP_TABLE(OP_FN) NULL };

const struct swb_op_info *swb_core_ops(void)
{
	return op_infos;
}

/* The index of name in op_infos, or -1. */
static int op_index(const char *name)
{
	for (int i = 0; name && op_infos[i].name; i++)
		if (strcmp(op_infos[i].name, name) == 0)
			return i;
	return -1;
}

const struct swb_op_info *swb_core_op_find(const char *name)
{
	int i = op_index(name);
	return i >= 0 ? &op_infos[i] : NULL;
}

static enum swb_code check_scope(const struct swb_actor *a, const struct swb_op_info *e, struct swb_err *err)
{
	switch (a->kind) {
	case SWB_ACTOR_SYSTEM:
	case SWB_ACTOR_ADMIN:
		return SWB_OK;
	case SWB_ACTOR_SUPERVISOR:
		if (e->scope == SWB_OP_ADMIN || (e->mutates && strcmp(e->name, "workers.update") != 0))
			return swb_err_set(err, SWB_EPERM, "%s needs an admin token", e->name);
		return SWB_OK;
	case SWB_ACTOR_WORKER:
		if (e->scope != SWB_OP_WORKER)
			return swb_err_set(err, SWB_EPERM, "%s is not allowed with a worker token", e->name);
		return SWB_OK;
	}
	return swb_err_set(err, SWB_EPERM, "unknown actor");
}

enum swb_code core_dispatch(swb_core *c, const struct swb_actor *actor, const char *op, json_t *args,
			    json_t **result, struct swb_err *err)
{
	int i = op_index(op);
	if (i < 0)
		return swb_err_set(err, SWB_EUNKNOWN, "unknown op '%s'", op ? op : "(none)");
	enum swb_code rc = check_scope(actor, &op_infos[i], err);
	if (rc == SWB_OK)
		rc = op_fns[i](c, actor, args, result, err);
	if (rc != SWB_OK)
		swb_err_prefix(err, "%s", op);
	return rc;
}
