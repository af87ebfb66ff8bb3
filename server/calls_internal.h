/*
 * calls_internal.h - what calls.c (simulated call legs running TwiML) and
 * assignment.c (assignment callbacks and their instructions) share: the call
 * resource, outbound Twilio-style requests, and the moves an instruction makes
 * on a call (bridge it to a worker, redirect it, place a call to a worker).
 * Everything here runs on the routing thread.
 */
#ifndef SWB_CALLS_INTERNAL_H
#define SWB_CALLS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "http_modules.h"
#include "sid.h"
#include "twiml.h"

#define CALLS_ADDR_MAX 64    /* a phone number, client:name or sip: URI */
#define CALLS_DIGITS_MAX 64  /* DTMF a simulated caller will press */
#define CALLS_URL_MAX 2048   /* any URL we request */
#define CALLS_WEBHOOK_TIMEOUT_MS 15000 /* Twilio waits 15 s for a voice webhook's TwiML */

enum call_status { CALL_RINGING, CALL_IN_PROGRESS, CALL_QUEUED, CALL_BRIDGED, CALL_COMPLETED };

/* One simulated call leg: a caller on a number, or a leg placed to a worker. */
struct call {
	char sid[SWB_SID_SIZE];
	char ws_sid[SWB_SID_SIZE];
	char from[CALLS_ADDR_MAX], to[CALLS_ADDR_MAX];
	bool outbound;            /* a leg to a worker (instructions call, dequeue, conference) */
	enum call_status status;
	int64_t created, updated, answered, ended;
	char end_reason[200];

	/* the TwiML it runs */
	json_t *number;           /* inbound: the number's workspace-file entry (own reference) */
	char *doc_url;            /* where the running document came from: a URL, or "inline:NAME" */
	struct twiml_doc *doc;
	size_t pc;                /* the verb being run */
	char digits[CALLS_DIGITS_MAX + 1]; /* what the caller presses, in order */
	size_t dpos;
	int64_t wake_at;          /* a verb that takes time ends then (INT64_MAX: until interrupted) */
	bool gather_waiting;      /* a <Gather> got no digits and waits out its timeout */
	bool fetching;            /* a document request is in flight */
	uint64_t token;           /* bumped whenever in-flight requests and timers become stale */
	int instant_steps;        /* verbs run without time passing, to stop redirect loops */

	/* in the queue (<Enqueue>) */
	char task_sid[SWB_SID_SIZE];
	int64_t queued_at;
	char queue_sid[SWB_SID_SIZE]; /* the task queue its task waits in, as last looked up (queue_params) */
	char *wait_url, *wait_method;
	struct twiml_doc *wait_doc;
	char *wait_doc_url;       /* where the running wait document came from */
	size_t wait_pc;
	int64_t wait_fetched_at;
	char queue_result[24];    /* how it left the queue */
	int64_t queue_time_s;

	/* connected to a worker */
	char worker_sid[SWB_SID_SIZE], reservation_sid[SWB_SID_SIZE];
	char peer_sid[SWB_SID_SIZE];       /* caller <-> worker leg */
	char parent_sid[SWB_SID_SIZE];     /* a worker leg: the call it serves */
	char conference_sid[SWB_SID_SIZE]; /* the conference instruction's conference */
	char *post_work_activity_sid;      /* the worker's activity once the call ends */
	char *status_callback_url;         /* a worker leg: POSTed when it completes */
	int64_t bridged_at;
	bool dialing;                      /* a worker leg inside <Dial><Queue> */
};

/* ---- calls.c ---- */

/* The wire name of a status ("in-progress"). */
const char *calls_status_name(enum call_status s);

/* The call sid of workspace w, or NULL. */
struct call *calls_find(struct node *n, const char *ws_sid, const char *sid);

/* How the bridge instructions (dequeue, conference) reach the worker. Strings borrowed. */
struct calls_bridge_opts {
	bool conference;
	const char *from, *to;
	const char *post_work_activity_sid;
	const char *status_callback_url;
};

/* Connects the queued call caller to worker_sid (reservation_sid's worker) over a new leg. */
void calls_bridge(struct node *n, struct call *caller, const char *worker_sid, const char *reservation_sid,
		  const struct calls_bridge_opts *o);

/* Takes call out of the queue (QueueResult "redirected") if it waits there, and runs url's TwiML. */
void calls_redirect(struct node *n, struct call *call, const char *url, const char *post_work_activity_sid);

/* Places a leg to worker_sid that runs url's TwiML (the call instruction); returns it. */
struct call *calls_dial_worker(struct node *n, const char *ws_sid, const char *worker_sid,
			       const char *reservation_sid, const char *from, const char *to, const char *url,
			       const char *status_callback_url);

/* True when url is an absolute http:// or https:// URL within CALLS_URL_MAX. */
bool calls_url_ok(const char *url);

/*
 * POSTs (or GETs) params (borrowed; form-encoded the way Twilio sends them) to
 * url. done(n, arg, status, body, len) runs later on the routing thread (status
 * 0: no answer in timeout_ms, or no connection); then free_arg(arg). If the node
 * stops first, only free_arg runs. done may be NULL (fire and forget).
 */
typedef void (*calls_done_fn)(struct node *n, void *arg, int status, const char *body, size_t len);
void calls_request(struct node *n, const char *method, const char *url, json_t *params, int timeout_ms,
		   calls_done_fn done, void *arg, void (*free_arg)(void *));

/* ---- assignment.c ---- */

/* reservation.created: POSTs the assignment callback when the task's workflow has one. */
void assignment_on_reservation(struct wspace *w, const struct swb_evrec *r);

/*
 * Runs one assignment instruction (args: {"sid": "WR...", "instruction": ..., its
 * parameters}) as actor a (NULL: the system). Validates everything first; a
 * refused instruction changes nothing.
 */
enum swb_code assignment_instruct(struct node *n, struct wspace *w, const struct swb_actor *a, json_t *args,
				  json_t **result, struct swb_err *err);

#endif
