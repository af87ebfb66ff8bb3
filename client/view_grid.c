/*
 * view_grid.c - filtering and sorting the supervisor's worker grid. See view_grid.h.
 */
#define _GNU_SOURCE
#include "view_grid.h"

#include <stdlib.h>
#include <string.h>

static const char *const sort_names[VIEW_SORT_COUNT] = { "name", "activity", "time in state", "tasks" };
static const char *const filter_names[VIEW_FILTER_COUNT] = { "all", "available", "unavailable", "busy", "idle" };

const char *view_sort_name(enum view_sort s)
{
	return s < VIEW_SORT_COUNT ? sort_names[s] : "?";
}

const char *view_filter_name(enum view_filter f)
{
	return f < VIEW_FILTER_COUNT ? filter_names[f] : "?";
}

static bool passes(const struct view_worker *w, enum view_filter f, const char *text)
{
	switch (f) {
	case VIEW_FILTER_AVAILABLE:
		if (!w->available)
			return false;
		break;
	case VIEW_FILTER_UNAVAILABLE:
		if (w->available)
			return false;
		break;
	case VIEW_FILTER_BUSY:
		if (w->ntasks == 0)
			return false;
		break;
	case VIEW_FILTER_IDLE:
		if (!w->available || w->ntasks > 0)
			return false;
		break;
	default:
		break;
	}
	if (!text || !*text)
		return true;
	if (strcasestr(w->name, text) || strcasestr(w->activity_name, text))
		return true;
	for (int i = 0; i < w->ntasks; i++)
		if (strcasestr(w->tasks[i].queue_name, text) || strcasestr(w->tasks[i].task_sid, text))
			return true;
	return false;
}

struct sort_ctx {
	enum view_sort sort;
	bool reverse;
};

/* qsort has no context argument; the grid is drawn on one thread. */
static struct sort_ctx g_sort;

static int cmp_workers(const void *pa, const void *pb)
{
	const struct view_worker *a = *(const struct view_worker *const *)pa;
	const struct view_worker *b = *(const struct view_worker *const *)pb;
	int c = 0;
	switch (g_sort.sort) {
	case VIEW_SORT_ACTIVITY:
		c = (int)b->available - (int)a->available;
		if (!c)
			c = strcasecmp(a->activity_name, b->activity_name);
		break;
	case VIEW_SORT_TIME:
		/* unknown times (0) last */
		if (a->since_ms != b->since_ms) {
			if (!a->since_ms || !b->since_ms)
				c = a->since_ms ? -1 : 1;
			else
				c = a->since_ms < b->since_ms ? -1 : 1;
		}
		break;
	case VIEW_SORT_TASKS:
		c = (b->ntasks + b->more_tasks) - (a->ntasks + a->more_tasks);
		break;
	default:
		break;
	}
	if (!c)
		c = strcasecmp(a->name, b->name);
	if (!c)
		c = strcmp(a->sid, b->sid);
	return g_sort.reverse ? -c : c;
}

size_t view_grid(const struct view *v, enum view_sort sort, bool reverse, enum view_filter filter, const char *text,
		 const struct view_worker **out, size_t cap)
{
	size_t n = view_worker_count(v), k = 0;
	const struct view_worker **all = malloc((n ? n : 1) * sizeof *all);
	if (!all)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct view_worker *w = view_worker_at(v, i);
		if (passes(w, filter, text))
			all[k++] = w;
	}
	g_sort.sort = sort;
	g_sort.reverse = reverse;
	if (k > 1)
		qsort(all, k, sizeof *all, cmp_workers);
	memcpy(out, all, (k < cap ? k : cap) * sizeof *out);
	free(all);
	return k;
}
