/*
 * core_workflow.c - compiling a Workflow `configuration` (TaskRouter's JSON:
 * task_routing.filters[] with targets[], and default_filter) into filters and
 * targets with compiled expressions and resolved queues. Every error names its
 * place: "filters[1] 'Sales': targets[0]: unknown queue 'Suport'".
 */
#include "core_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWB_MAX_FILTERS 256 /* filters per workflow */
#define SWB_MAX_TARGETS 32  /* targets per filter */

static void target_free(struct target *tg)
{
	swb_expr_free(tg->expr);
	swb_order_free(tg->order);
	swb_expr_free(tg->skip_if);
	free(tg->known_worker);
	free(tg->queue_ref);
}

static void filter_free(struct filter *f)
{
	for (int i = 0; i < f->ntargets; i++)
		target_free(&f->targets[i]);
	free(f->targets);
	swb_expr_free(f->expr);
	free(f->name);
}

void wfconfig_release(struct wfconfig *cfg)
{
	if (!cfg || --cfg->refs > 0)
		return;
	for (int i = 0; i < cfg->nfilters; i++) {
		for (int j = 0; j < cfg->filters[i].ntargets; j++)
			if (cfg->filters[i].targets[j].q)
				cfg->filters[i].targets[j].q->wf_refs--;
		filter_free(&cfg->filters[i]);
	}
	for (int j = 0; j < cfg->dflt.ntargets; j++)
		if (cfg->dflt.targets[j].q)
			cfg->dflt.targets[j].q->wf_refs--;
	filter_free(&cfg->dflt);
	free(cfg->filters);
	json_decref(cfg->json);
	free(cfg);
}

bool wfconfig_uses_queue(const struct wfconfig *cfg, const struct queue *q)
{
	for (int i = 0; i < cfg->nfilters; i++)
		for (int j = 0; j < cfg->filters[i].ntargets; j++)
			if (cfg->filters[i].targets[j].q == q)
				return true;
	return cfg->dflt.ntargets && cfg->dflt.targets[0].q == q;
}

static enum swb_code opt_string(json_t *obj, const char *key, const char **out, struct swb_err *err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return SWB_OK;
	if (!json_is_string(v))
		return swb_err_set(err, SWB_EINVAL, "'%s' must be a string", key);
	*out = json_string_value(v);
	return SWB_OK;
}

static enum swb_code opt_int(json_t *obj, const char *key, long long lo, long long hi, bool *has, int *out,
			     struct swb_err *err)
{
	json_t *v = json_object_get(obj, key);
	*has = false;
	if (!v || json_is_null(v))
		return SWB_OK;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return swb_err_set(err, SWB_EINVAL, "'%s' must be an integer from %lld to %lld", key, lo, hi);
	*has = true;
	*out = (int)json_integer_value(v);
	return SWB_OK;
}

static enum swb_code compile_expr_field(json_t *obj, const char *key, swb_expr **out, struct swb_err *err)
{
	const char *src;
	enum swb_code rc = opt_string(obj, key, &src, err);
	if (rc != SWB_OK || !src)
		return rc;
	rc = swb_expr_compile(src, out, err);
	if (rc != SWB_OK)
		swb_err_prefix(err, "%s", key);
	return rc;
}

static const char *const target_keys[] = { "queue", "expression", "priority", "timeout", "order_by", "skip_if",
					   "known_worker_sid", "known_worker_friendly_name", NULL };

static enum swb_code check_keys(json_t *obj, const char *const *allowed, struct swb_err *err)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(*a, key) == 0;
		if (!ok)
			return swb_err_set(err, SWB_EINVAL, "unknown field '%s'", key);
	}
	return SWB_OK;
}

static enum swb_code compile_known_worker(json_t *obj, struct target *tg, struct swb_err *err)
{
	const char *by_sid, *by_name;
	enum swb_code rc = opt_string(obj, "known_worker_sid", &by_sid, err);
	if (rc == SWB_OK)
		rc = opt_string(obj, "known_worker_friendly_name", &by_name, err);
	if (rc != SWB_OK)
		return rc;
	if (by_sid && by_name)
		return swb_err_set(err, SWB_EINVAL, "give known_worker_sid or known_worker_friendly_name, not both");
	if (by_sid || by_name) {
		tg->known_worker = core_strdup(by_sid ? by_sid : by_name);
		tg->known_by_name = by_name != NULL;
	}
	return SWB_OK;
}

/* inherit: the previous target's queue, which a target without `queue` uses (TaskRouter). */
static enum swb_code compile_target(swb_core *c, json_t *obj, struct target *tg, const struct target *inherit,
				    struct swb_err *err)
{
	if (!json_is_object(obj))
		return swb_err_set(err, SWB_EINVAL, "must be an object");
	enum swb_code rc = check_keys(obj, target_keys, err);
	const char *qref = NULL, *order = NULL;
	if (rc == SWB_OK)
		rc = opt_string(obj, "queue", &qref, err);
	if (rc == SWB_OK && !qref && inherit)
		qref = inherit->queue_ref;
	if (rc == SWB_OK && !qref)
		rc = swb_err_set(err, SWB_EINVAL, "missing 'queue'");
	if (rc == SWB_OK) {
		tg->queue_ref = core_strdup(qref);
		tg->q = find_queue(c, qref);
		if (!tg->q)
			rc = swb_err_set(err, SWB_EINVAL, "unknown queue '%s'", qref);
	}
	if (rc == SWB_OK)
		rc = compile_expr_field(obj, "expression", &tg->expr, err);
	if (rc == SWB_OK)
		rc = compile_expr_field(obj, "skip_if", &tg->skip_if, err);
	if (rc == SWB_OK)
		rc = opt_string(obj, "order_by", &order, err);
	if (rc == SWB_OK && order) {
		rc = swb_order_compile(order, &tg->order, err);
		if (rc != SWB_OK)
			swb_err_prefix(err, "order_by");
	}
	if (rc == SWB_OK)
		rc = opt_int(obj, "priority", 0, 2147483647LL, &tg->has_priority, &tg->priority, err);
	bool has_timeout;
	if (rc == SWB_OK)
		rc = opt_int(obj, "timeout", 1, SWB_MAX_TASK_TIMEOUT_S, &has_timeout, &tg->timeout_s, err);
	if (rc == SWB_OK)
		rc = compile_known_worker(obj, tg, err);
	return rc;
}

static enum swb_code compile_targets(swb_core *c, json_t *arr, struct filter *f, struct swb_err *err)
{
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return swb_err_set(err, SWB_EINVAL, "'targets' must be a non-empty array");
	if (json_array_size(arr) > SWB_MAX_TARGETS)
		return swb_err_set(err, SWB_ETOOBIG, "more than %d targets", SWB_MAX_TARGETS);
	f->targets = core_alloc(json_array_size(arr) * sizeof *f->targets);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		f->ntargets = (int)i + 1;
		enum swb_code rc = compile_target(c, json_array_get(arr, i), &f->targets[i], i ? &f->targets[i - 1] : NULL,
						  err);
		if (rc == SWB_OK)
			f->targets[i].deadline_s = f->targets[i].timeout_s ?
				(i ? f->targets[i - 1].deadline_s : 0) + f->targets[i].timeout_s : 0;
		if (rc != SWB_OK) {
			swb_err_prefix(err, "targets[%zu]", i);
			return rc;
		}
	}
	return SWB_OK;
}

static const char *const filter_keys[] = { "filter_friendly_name", "friendly_name", "expression", "targets", NULL };

static enum swb_code compile_filter(swb_core *c, json_t *obj, size_t idx, struct filter *f, struct swb_err *err)
{
	if (!json_is_object(obj))
		return swb_err_set(err, SWB_EINVAL, "filters[%zu]: must be an object", idx);
	const char *name = NULL, *alias = NULL;
	enum swb_code rc = check_keys(obj, filter_keys, err);
	if (rc == SWB_OK)
		rc = opt_string(obj, "filter_friendly_name", &name, err);
	if (rc == SWB_OK)
		rc = opt_string(obj, "friendly_name", &alias, err);
	char fallback[32];
	snprintf(fallback, sizeof fallback, "filter %zu", idx);
	f->name = core_strdup(name ? name : alias ? alias : fallback);
	const char *expr_src = NULL;
	if (rc == SWB_OK)
		rc = opt_string(obj, "expression", &expr_src, err);
	if (rc == SWB_OK && !expr_src)
		rc = swb_err_set(err, SWB_EINVAL, "missing 'expression'");
	if (rc == SWB_OK) {
		rc = swb_expr_compile(expr_src, &f->expr, err);
		if (rc != SWB_OK)
			swb_err_prefix(err, "expression");
	}
	if (rc == SWB_OK)
		rc = compile_targets(c, json_object_get(obj, "targets"), f, err);
	if (rc != SWB_OK)
		swb_err_prefix(err, "filters[%zu] '%s'", idx, f->name);
	return rc;
}

static enum swb_code compile_default(swb_core *c, json_t *obj, struct wfconfig *cfg, struct swb_err *err)
{
	cfg->dflt.name = core_strdup("Default Filter");
	if (!obj || json_is_null(obj))
		return SWB_OK;
	cfg->dflt.targets = core_alloc(sizeof *cfg->dflt.targets);
	cfg->dflt.ntargets = 1;
	enum swb_code rc = compile_target(c, obj, &cfg->dflt.targets[0], NULL, err);
	if (rc != SWB_OK)
		swb_err_prefix(err, "default_filter");
	return rc;
}

static void take_queue_refs(struct wfconfig *cfg)
{
	for (int i = 0; i < cfg->nfilters; i++)
		for (int j = 0; j < cfg->filters[i].ntargets; j++)
			cfg->filters[i].targets[j].q->wf_refs++;
	for (int j = 0; j < cfg->dflt.ntargets; j++)
		cfg->dflt.targets[j].q->wf_refs++;
}

/* Frees a config whose queue references were never taken. */
static void discard(struct wfconfig *cfg)
{
	for (int i = 0; i < cfg->nfilters; i++)
		filter_free(&cfg->filters[i]);
	filter_free(&cfg->dflt);
	free(cfg->filters);
	json_decref(cfg->json);
	free(cfg);
}

static enum swb_code compile_routing(swb_core *c, json_t *routing, struct wfconfig *cfg, struct swb_err *err)
{
	static const char *const routing_keys[] = { "filters", "default_filter", NULL };
	if (!json_is_object(routing))
		return swb_err_set(err, SWB_EINVAL, "'task_routing' must be an object");
	enum swb_code rc = check_keys(routing, routing_keys, err);
	if (rc != SWB_OK)
		return rc;
	json_t *filters = json_object_get(routing, "filters");
	if (filters && !json_is_array(filters))
		return swb_err_set(err, SWB_EINVAL, "'filters' must be an array");
	if (json_array_size(filters) > SWB_MAX_FILTERS)
		return swb_err_set(err, SWB_ETOOBIG, "more than %d filters", SWB_MAX_FILTERS);
	cfg->filters = core_alloc((json_array_size(filters) + 1) * sizeof *cfg->filters);
	for (size_t i = 0; i < json_array_size(filters); i++) {
		cfg->nfilters = (int)i + 1;
		rc = compile_filter(c, json_array_get(filters, i), i, &cfg->filters[i], err);
		if (rc != SWB_OK)
			return rc;
	}
	rc = compile_default(c, json_object_get(routing, "default_filter"), cfg, err);
	if (rc == SWB_OK && cfg->nfilters == 0 && cfg->dflt.ntargets == 0)
		rc = swb_err_set(err, SWB_EINVAL, "needs at least one filter or a default_filter");
	return rc;
}

/* config: borrowed; an object, or a string holding one. */
enum swb_code wfconfig_compile(swb_core *c, json_t *config, struct wfconfig **out, struct swb_err *err)
{
	json_t *doc = NULL;
	if (json_is_string(config)) {
		json_error_t je;
		doc = json_loadb(json_string_value(config), json_string_length(config), JSON_REJECT_DUPLICATES, &je);
		if (!doc)
			return swb_err_set(err, SWB_EINVAL, "configuration is not valid JSON: %s (line %d, column %d)",
					   je.text, je.line, je.column);
	} else if (json_is_object(config)) {
		doc = json_deep_copy(config);
	} else {
		return swb_err_set(err, SWB_EINVAL, "configuration must be a JSON object or a string holding one");
	}
	struct wfconfig *cfg = core_alloc(sizeof *cfg);
	cfg->refs = 1;
	cfg->json = doc;
	enum swb_code rc;
	if (!json_is_object(doc) || json_object_size(doc) != 1 || !json_object_get(doc, "task_routing"))
		rc = swb_err_set(err, SWB_EINVAL, "configuration must be {\"task_routing\": {...}}");
	else
		rc = compile_routing(c, json_object_get(doc, "task_routing"), cfg, err);
	if (rc != SWB_OK) {
		swb_err_prefix(err, "configuration");
		discard(cfg);
		return rc;
	}
	take_queue_refs(cfg);
	*out = cfg;
	return SWB_OK;
}
