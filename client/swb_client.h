/*
 * swb_client.h - the client library: the only code on the client side that
 * speaks the node's wire protocol (docs/protocol.md). Used by swbctl, the
 * consoles and swb-bot.
 *
 * One client is one nng req0 socket dialed (without blocking) at the node; nng
 * reconnects by itself with a backoff of 100 ms doubling to 5 s. The socket has
 * two contexts: one for commands (swb_client_call, serialized by a mutex, so any
 * thread may call) and one for the held event pull (swb_client_follow's thread),
 * so a pull never blocks a command.
 *
 * Requests are sent at most once: if the connection drops while a request is
 * in flight, the call fails with SWB_EUNAVAIL instead of being resent on the
 * next connection (a resent tasks.create would create a second task). A request
 * made while disconnected waits, up to its timeout, for the connection.
 *
 * Event following: swb_client_follow starts a thread that pulls events.next and
 * queues each event; the caller polls swb_client_event_fd and drains the queue
 * with swb_client_next_event. Besides the node's events the queue carries
 * synthetic ones, told apart by their "event_type" and the absence of "seq":
 *   {"event_type":"switchboard.connection","connected":false|true}
 *       the event stream was lost (node unreachable or silent) / is back;
 *   {"event_type":"switchboard.resync","snapshot":{...}}
 *       the caller may have missed events (cursor outside the node's window,
 *       node restarted, connection lost): "snapshot" is the node's snapshot op
 *       result and the stream continues after snapshot.seq. On a reconnect the resync
 *       comes first, then connection:true, so a UI that drops its banner already
 *       shows the true state.
 *   {"event_type":"switchboard.error","code":"unauthorized","message":"..."}
 *       the node refuses the pull for a reason other than the connection (an
 *       expired token, ...); told once per distinct message, retried with backoff.
 *
 * Ownership of JSON: every json_t* argument is borrowed unless stated;
 * every json_t* returned or stored through an out pointer is a new reference
 * that the caller must json_decref.
 */
#ifndef SWB_CLIENT_H
#define SWB_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swb_error.h"

/* The node refuses larger requests (its SWB_WIRE_MAX: nng drops the connection),
 * so the client refuses them first, with a message that says why. */
#define SWB_CLIENT_WIRE_MAX (1024 * 1024)

/* Largest reply accepted: snapshots of big workspaces exceed the request limit. */
#define SWB_CLIENT_RECV_MAX (256 * 1024 * 1024)

/* nng's reconnect backoff, and the follow thread's retry backoff. */
#define SWB_CLIENT_BACKOFF_MIN_MS 100
#define SWB_CLIENT_BACKOFF_MAX_MS 5000

/* How long the follow thread asks the node to hold each events.next. */
#define SWB_CLIENT_PULL_WAIT_MS 10000

/* Extra time on top of the hold before a silent node counts as unreachable. */
#define SWB_CLIENT_PULL_GRACE_MS 5000

/* Events queued but not yet taken; the follow thread waits when it is full. */
#define SWB_CLIENT_QUEUE_MAX 65536

/* swb_client_follow's "after": start from the node's current sequence. */
#define SWB_FOLLOW_NOW UINT64_MAX

/* The synthetic event types. */
#define SWB_EVENT_CONNECTION "switchboard.connection"
#define SWB_EVENT_RESYNC "switchboard.resync"
#define SWB_EVENT_ERROR "switchboard.error"

typedef struct swb_client swb_client;

/*
 * Opens a client for url (NULL: the default ipc url, swb_default_ipc_url) that
 * sends token (copied; NULL for none) with every request. Does not wait for the
 * connection: a bad url fails here (SWB_EINVAL), an absent node does not.
 * Returns NULL and fills err on failure.
 */
swb_client *swb_client_open(const char *url, const char *token, struct swb_err *err);

/*
 * Stops the follow thread, closes the socket and frees everything. NULL is a
 * no-op; no call may be in progress. A client not connected yet, or whose
 * connection dropped, first waits for nng's dial in flight to finish its
 * handshake, until 250 ms after the open or the drop: with nng 1.5.2 a client
 * that hangs up mid-handshake stops the node's ipc listener for good (nng
 * issue #1518, fixed in nng 1.6.0).
 */
void swb_client_close(swb_client *c);

/*
 * True when no close given up on by swb_client_close (nng 1.5.2 hanging in
 * nng_close) is still running. A program calls nng_fini() at exit only then:
 * nng_fini would wait for that close for good.
 */
bool swb_client_all_closed(void);

/* The url dialed (owned by c). */
const char *swb_client_url(const swb_client *c);

/* True while nng has a connection to the node. */
bool swb_client_connected(swb_client *c);

/* Waits up to timeout_ms for a connection; true when connected. */
bool swb_client_wait_connected(swb_client *c, int timeout_ms);

/*
 * Names the workspace (a WS sid or a friendly name) that requests address;
 * NULL (the default) is the node's default workspace, or a worker token's own.
 * Copied. Call before swb_client_call or swb_client_follow: not thread-safe.
 * SWB_ENOMEM when the copy fails.
 */
enum swb_code swb_client_set_workspace(swb_client *c, const char *workspace, struct swb_err *err);

/*
 * Replaces the token sent with every later request (copied; NULL for none),
 * e.g. a renewed one before the old expires. Thread-safe: any thread may call
 * it while calls are running and the follow thread is pulling. A request
 * already sent keeps the token it was sent with; every request built after
 * the return carries the new one. A token longer than SWB_TOKEN_MAX_LEN is
 * SWB_EINVAL, a failed copy SWB_ENOMEM; either way the old token stays.
 */
enum swb_code swb_client_set_token(swb_client *c, const char *token, struct swb_err *err);

/*
 * Largest request sent, in bytes (default SWB_CLIENT_WIRE_MAX; 0: no limit, only
 * for testing the node's own limit). Larger requests fail with SWB_ETOOBIG.
 */
void swb_client_set_request_limit(swb_client *c, size_t max_bytes);

/*
 * Runs op with args (borrowed; NULL means {}) and waits up to timeout_ms
 * (> 0) for the answer. Thread-safe. On SWB_OK stores the result (a new
 * reference) in *result when result is non-NULL. An error answer returns its
 * code (swb_code_from_name) with the node's message in err. No answer within
 * timeout_ms (node down, or the connection lost) is SWB_EUNAVAIL,
 * "node unreachable (timed out after N ms)".
 */
enum swb_code swb_client_call(swb_client *c, const char *op, json_t *args, int timeout_ms, json_t **result,
			      struct swb_err *err);

/*
 * Starts the follow thread: events with seq > after (SWB_FOLLOW_NOW: from now).
 * SWB_ESTATE if already following.
 */
enum swb_code swb_client_follow(swb_client *c, uint64_t after, struct swb_err *err);

/* A descriptor that polls readable while events are queued (stays valid until close). */
int swb_client_event_fd(swb_client *c);

/* The next queued event (a new reference), or NULL when the queue is empty. */
json_t *swb_client_next_event(swb_client *c);

/* The follow thread's cursor: the last sequence delivered or skipped (0 before any). */
uint64_t swb_client_cursor(swb_client *c);

/*
 * Mints a token for scope ("admin", "supervisor", "worker:WK...") valid for
 * ttl_s seconds from now, signed with the secret in data_dir (NULL: the default
 * data dir, swb_default_data_dir). Only the node's user can read the secret.
 * On SWB_OK *out is malloc'd: the caller frees it. Bad scope or ttl is
 * SWB_EINVAL; an unreadable secret SWB_EIO.
 */
enum swb_code swb_client_local_token(const char *data_dir, const char *scope, long long ttl_s, char **out,
				     struct swb_err *err);

/* ---- the envelope (pure functions; exposed for tests) ---- */

/*
 * The request envelope {"v":1,"id":id,"op":op,"token":token,
 * "workspace":workspace,"args":args} as compact JSON (malloc'd, NUL-terminated;
 * the caller frees it). token or workspace NULL leaves the field out; args
 * (borrowed) NULL sends {}. NULL when out of memory or args is not an object.
 */
char *swb_wire_request(uint64_t id, const char *op, const char *token, const char *workspace, json_t *args);

/*
 * Decodes an answer to request want_id. On "ok":true returns SWB_OK and stores
 * "result" (a new reference; {} when absent) in *result if result is non-NULL.
 * On "ok":false returns the error's code (swb_code_from_name: an unknown name
 * is SWB_EINTERNAL) with "message" in err. A body that is not a valid answer,
 * or answers another id, is SWB_EINTERNAL with a message saying what is wrong.
 */
enum swb_code swb_wire_parse_reply(const char *body, size_t len, uint64_t want_id, json_t **result,
				   struct swb_err *err);

#endif
