/*
 * callbacks.h - EventCallbackURL delivery: what the rest of the node may ask
 * about it (metrics). The hooks it is driven by are in http_modules.h
 * (callbacks_on_event, callbacks_tick, callbacks_free).
 */
#ifndef SWB_CALLBACKS_H
#define SWB_CALLBACKS_H

#include <stdbool.h>
#include <stdint.h>

#include "node_internal.h"

struct callbacks_status {
	bool configured;     /* the workspace has an event_callback_url */
	uint64_t cursor;     /* every event up to here was delivered (2xx) or needed no delivery */
	uint64_t delivered;  /* requests answered 2xx since the node started */
	uint64_t failed;     /* requests that failed (no answer, or not 2xx) since the node started */
	uint64_t consecutive_failures;
	bool from_journal;   /* delivery is behind the in-memory window and reads the journal file */
};

/* w's delivery state; all zero (cursor from the journal) before delivery has started. */
void callbacks_status(struct node *n, const struct wspace *w, struct callbacks_status *out);

#endif
