/*
 * view_grid.h - the supervisor's worker grid as rows: which workers to show
 * (filter keys) and in what order (sort keys). Pure, over view_state.
 */
#ifndef SWB_VIEW_GRID_H
#define SWB_VIEW_GRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "view_state.h"

/* Sort keys, in the order the sort key cycles through them. */
enum view_sort {
	VIEW_SORT_NAME,     /* A to Z */
	VIEW_SORT_ACTIVITY, /* available activities first, then by activity name */
	VIEW_SORT_TIME,     /* longest in their current activity first */
	VIEW_SORT_TASKS,    /* most tasks held first */
	VIEW_SORT_COUNT
};

/* Filters, in the order the filter key cycles through them. */
enum view_filter {
	VIEW_FILTER_ALL,
	VIEW_FILTER_AVAILABLE,   /* in an available activity */
	VIEW_FILTER_UNAVAILABLE, /* in an unavailable activity */
	VIEW_FILTER_BUSY,        /* holding at least one task */
	VIEW_FILTER_IDLE,        /* available and holding nothing */
	VIEW_FILTER_COUNT
};

const char *view_sort_name(enum view_sort s);
const char *view_filter_name(enum view_filter f);

/*
 * Fills out (cap entries) with the workers passing filter and whose name,
 * activity or held queues contain text (case-insensitive; NULL or "" matches
 * all), sorted by sort (reversed when reverse), ties by name. Returns how many
 * workers pass (may exceed cap; only cap are written).
 */
size_t view_grid(const struct view *v, enum view_sort sort, bool reverse, enum view_filter filter, const char *text,
		 const struct view_worker **out, size_t cap);

#endif
