/*
 * eventbridge_internal.h - what the two halves of the TaskRouter.js EventBridge
 * share: eventbridge.c (the WebSocket sockets, pushed events, the POST envelope
 * and token checks) and eventbridge_rest.c (the TaskRouter calls wrapped in the
 * POST, and the EventBridge resource representations). Routing thread only.
 *
 * The wire is described in shared/protocols/taskrouter-js.md: the EventBridge
 * representations differ from the public REST ones (epoch-second dates, a
 * nested task in reservations, a version on everything).
 */
#ifndef SWB_EVENTBRIDGE_INTERNAL_H
#define SWB_EVENTBRIDGE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "http_modules.h"

/* Twilio's error codes for the answers we give (the SDK shows "code" and "message"). */
#define EB_CODE_INVALID_PARAMETER 20001
#define EB_CODE_AUTH 20003
#define EB_CODE_FORBIDDEN 20403
#define EB_CODE_NOT_FOUND 20404
#define EB_CODE_METHOD 20004
#define EB_CODE_INTERNAL 20500
#define EB_CODE_TOKEN_INVALID 20101
#define EB_CODE_TOKEN_EXPIRED 20104

/* Who a verified token names. */
struct eb_ident {
	struct wspace *w;               /* the token's workspace; NULL: any (our own admin/supervisor tokens) */
	char worker_sid[SWB_SID_SIZE];  /* "" when the token names no worker */
	long long exp;                  /* unix seconds */
	struct swb_actor actor;         /* actor.worker_sid points into worker_sid */
};

/* A failed call: the HTTP status, Twilio error code and a message a person can act on. */
struct eb_fail {
	int status;
	int code;
	char msg[SWB_ERR_MSG_MAX];
};

/* Fills f and returns -1, so callers can write `return eb_fail(f, ...)`. */
int eb_fail(struct eb_fail *f, int status, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same for a core error: status from http_status_of, code from the status. */
int eb_fail_core(struct eb_fail *f, enum swb_code rc, const struct swb_err *err);

/* eventbridge.c: verifies a Twilio Access Token (or one of our own worker tokens). 0, or -1 with f (401). */
int eb_authenticate(struct node *n, const char *token, struct eb_ident *id, struct eb_fail *f);

/* eventbridge.c: what the REST half tells the socket half. */
enum eb_fetched { EB_GOT_WORKER = 1, EB_GOT_ACTIVITIES = 2, EB_GOT_CHANNELS = 4, EB_GOT_RESERVATIONS = 8 };
#define EB_GOT_ALL (EB_GOT_WORKER | EB_GOT_ACTIVITIES | EB_GOT_CHANNELS | EB_GOT_RESERVATIONS)
/*
 * The worker's SDK fetched `what` (its start-up reads after init). Sockets of
 * that worker still starting take the core's current seq as the point from
 * which pushes continue the read, and the reservations listed (EventBridge
 * Reservations, borrowed; may be NULL) as the ones the client holds.
 */
void eb_note_fetch(struct node *n, struct wspace *w, const char *worker_sid, unsigned what, json_t *reservations);

/* eventbridge_rest.c: runs one wrapped call (method "GET"|"POST", url relative as the SDK sends it).
 * 0 with *payload a new reference, or -1 with f filled; a failed call changes nothing. */
int eb_rest_call(struct node *n, const struct eb_ident *id, const char *method, const char *url, json_t *params,
		 json_t **payload, struct eb_fail *f);

/*
 * eventbridge_rest.c: EventBridge representations read now from the core with
 * the system actor, new references, or NULL when the resource is gone.
 */
json_t *eb_worker(struct wspace *w, const char *worker_sid);
json_t *eb_task(struct wspace *w, const char *task_sid);
json_t *eb_reservation(struct wspace *w, const char *reservation_sid, bool with_task);
json_t *eb_worker_channel(struct wspace *w, const char *worker_sid, const char *channel_unique_name);

#endif
