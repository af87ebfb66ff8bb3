/*
 * http_modules.h - the modules behind the node's HTTP side, each a file of its
 * own, all running on the routing thread. node_http.c routes to them.
 *   rest.c         TaskRouter v1 REST API as twilio-node speaks it (/v1/Workspaces...)
 *   eventbridge.c  twilio-taskrouter's EventBridge: WebSocket + POST at /v1/wschannels
 *   metrics.c      /metrics in Prometheus text format
 *   callbacks.c    EventCallbackURL delivery from a recorded cursor
 * Each handler takes ownership of the message it is given.
 */
#ifndef SWB_HTTP_MODULES_H
#define SWB_HTTP_MODULES_H

#include "http.h"
#include "node_internal.h"

void rest_handle(struct node *n, struct swb_http_msg *m);

void eb_handle_post(struct node *n, struct swb_http_msg *m);
void eb_ws_open(struct node *n, struct swb_http_msg *m);
void eb_ws_close(struct node *n, struct swb_http_msg *m);
void eb_on_event(struct wspace *w, const struct swb_evrec *r);
void eb_tick(struct node *n, int64_t now);
void eb_free(struct node *n);
/* Open TaskRouter.js WebSockets (for /metrics). */
size_t eb_socket_count(const struct node *n);

void metrics_handle(struct node *n, struct swb_http_msg *m);

/* calls.c: simulated calls (<Enqueue> flow) and assignment callbacks (issue 7) */
enum swb_code calls_op(struct node *n, struct wspace *w, const struct swb_actor *a, const char *op, json_t *args,
		       json_t **result, struct swb_err *err);
void calls_on_event(struct wspace *w, const struct swb_evrec *r);
void calls_tick(struct node *n, int64_t now);
void calls_free(struct node *n);

void callbacks_on_event(struct wspace *w, const struct swb_evrec *r);
void callbacks_tick(struct node *n, int64_t now);
void callbacks_free(struct node *n);

/* Shared helpers (node_http.c) */
/* A Twilio-style JSON error answer: {"code", "message", "more_info", "status"}. */
void http_error(struct node *n, const struct swb_http_msg *m, int status, int code, const char *message);
/* Maps our error codes to HTTP statuses (not_found -> 404, ...). */
int http_status_of(enum swb_code rc);
/* CORS headers for a request's Origin (or NULL when none is needed). */
const char *http_cors(const struct swb_http_msg *m);

#endif
