/*
 * workspace_file.h - loading a workspace file (or the embedded default) into a
 * routing core.
 *
 * The file is JSON with TaskRouter's field names:
 *   { "friendly_name", "event_callback_url", "events_filter",
 *     "default_activity_sid", "timeout_activity_sid",   (SIDs or names)
 *     "activities": [{"friendly_name", "available"}],    (replaces the default set)
 *     "task_channels": [{"unique_name", "friendly_name"}], (added to the default five)
 *     "task_queues": [{"friendly_name", "target_workers", "task_order", "max_reserved_workers",
 *                      "reservation_activity_sid", "assignment_activity_sid"}],
 *     "workers": [{"friendly_name", "attributes", "activity_sid", "channels"}],
 *     "workflows": [{"friendly_name", "configuration", "task_reservation_timeout",
 *                    "assignment_callback_url", "fallback_assignment_callback_url"}],
 *     "numbers": [...] }                                  (calls: read by the call module)
 * References (activities, queues) may be SIDs or friendly names. Each resource is
 * applied through the same ops the wire uses, so the file is validated exactly as
 * requests are, and every error is reported with its place.
 */
#ifndef SWB_WORKSPACE_FILE_H
#define SWB_WORKSPACE_FILE_H

#include <jansson.h>

#include "core.h"

/* The embedded default workspace (a small contact center), NUL-terminated JSON. */
extern const char swb_default_workspace_json[];

/* Called once per error with a message that names its place. */
typedef void (*swb_ws_error_fn)(void *ctx, const char *msg);

/*
 * Builds a core from doc (borrowed) with opts (its sink is attached only after
 * loading, so loading emits nothing). Returns the number of errors (each passed
 * to on_error); on 0 stores the new core in *out, otherwise frees it.
 */
int swb_workspace_build(json_t *doc, const struct swb_core_opts *opts, swb_ws_error_fn on_error, void *ctx,
			swb_core **out);

/* Reads and parses path ("-" for stdin; NULL for the embedded default). NULL + message on error. */
json_t *swb_workspace_read(const char *path, struct swb_err *err);

#endif
