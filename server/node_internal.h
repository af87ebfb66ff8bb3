/*
 * node_internal.h - the node's state, shared by node.c (loop, start-up),
 * node_ops.c (requests, sessions, pulls) and journal.c (durability).
 * Everything here belongs to the routing thread.
 */
#ifndef SWB_NODE_INTERNAL_H
#define SWB_NODE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "eventlog.h"
#include "inbox.h"
#include "map.h"
#include "nng_server.h"
#include "node.h"
#include "paths.h"
#include "token.h"

struct pull;
struct outmsg;
struct swb_journal;
struct node;
struct calls_state;

/* One workspace: its core, its recent events and its journal (DATA/workspaces/WS.../journal). */
struct wspace {
	struct node *n;
	char sid[SWB_SID_SIZE];
	char dir[SWB_PATH_MAX + 64];
	swb_core *core;
	swb_eventlog *events;
	struct swb_journal *journal;
	uint64_t hooked_seq; /* durable events already handed to the event hooks */
	uint64_t callback_cursor; /* EventCallbackURL delivered (or skipped) through this seq: the last C record */
};

struct node {
	struct swb_node_opts opts;
	char data_dir[SWB_PATH_MAX];
	char ipc_url[SWB_PATH_MAX + 8];
	unsigned char secret[SWB_SECRET_LEN];
	/* Twilio-style credentials (DATA/credentials.json, 0600): REST auth and Access Tokens */
	char account_sid[SWB_SID_SIZE], auth_token[33], api_key_sid[SWB_SID_SIZE], api_key_secret[33];
	struct wspace **ws;  /* every workspace; ws[0] is the default one */
	size_t nws;
	swb_inbox *inbox;
	swb_nng_server *nng;
	int sigfd;
	bool stopping;
	bool created_default;
	struct swb_http *http;
	struct callout *callouts; /* outbound HTTP calls in flight */
	struct calls_state *calls; /* simulated calls and assignment callbacks (calls.c), made on first use */
	struct callbacks *callbacks; /* EventCallbackURL delivery state (callbacks.c) */
	struct eb_state *eb;      /* EventBridge sockets (eventbridge.c) */

	/* answers wait here until the events they depend on are durable */
	struct outmsg *out_head, *out_tail;
	/* held events.next requests */
	struct pull *pulls;        /* pulls.c: every held pull, */
	size_t npulls;
	swb_map *pull_keys;        /* by worker SID ("*": supervisor and admin), */
	struct pull **pull_heap;   /* and by deadline */
	size_t pull_heap_n, pull_heap_cap;
	/* worker connections: pipe id -> workers, worker sid -> open pipes */
	swb_map *pipes, *wconns;
	size_t in_grace;
	int64_t grace_min_deadline;

	uint64_t requests, errors;
};

/* node_ops.c */
int node_state_init(struct node *n);
void node_state_free(struct node *n);
void node_handle_nng(struct node *n, swb_nng_req *req);
/* The same for a request body from anywhere (req NULL: the answer is dropped; fuzzing). */
void node_handle_request(struct node *n, swb_nng_req *req, const char *body, size_t len, uint32_t pipe);
void node_pipe_gone(struct node *n, uint32_t pipe);
/* A worker connection other than an nng pipe (an EventBridge socket) opened or closed; the last one
 * closing starts the disconnect grace when offline is true. */
void node_worker_attach(struct node *n, const char *worker_sid);
void node_worker_detach(struct node *n, const char *worker_sid, bool offline);
void node_tick(struct node *n, int64_t now);
int64_t node_next_deadline(const struct node *n);
void node_commit_and_flush(struct node *n, int64_t now);
void node_release_pulls(struct node *n);
void node_drop_pulls(struct node *n, struct wspace *w);
const char *node_workspace_name(struct wspace *w);
/* Every item of a paged list op run as actor a (NULL: the system), as one array (new reference).
 * args (stolen) are the op's filters. */
json_t *node_list_all(struct wspace *w, const struct swb_actor *a, const char *op, const char *key, json_t *args);
/* events.list (supervisor or admin; a worker actor is refused): args borrowed, NULL means {}. */
enum swb_code node_events_list(struct wspace *w, const struct swb_actor *a, json_t *args, json_t **out,
			       struct swb_err *err);

/* node_http.c: the HTTP side's entry points and the shared plumbing for modules */
struct swb_http_msg;
int node_http_start(struct node *n);
void node_http_stop(struct node *n);
void node_handle_http(struct node *n, struct swb_http_msg *m); /* takes m */
/* Queues an HTTP answer; it is sent after the next commit (like nng answers). body copied. */
void node_http_respond(struct node *n, uint64_t conn, int status, const char *ctype, const char *headers,
		       const char *body, size_t len);
/* An outbound HTTP call; done(n, ctx, status, body, len) runs on the routing thread (status 0: failed
 * or timed out). Returns 0, or -1 when there is no HTTP side. */
typedef void (*node_call_done)(struct node *n, void *ctx, int status, const char *body, size_t len);
int node_http_call(struct node *n, const char *method, const char *url, const char *ctype, const char *headers,
		   const char *body, size_t len, int timeout_ms, node_call_done done, void *ctx);
/* Every durable event, once, in order, per workspace (for push and callbacks). */
void node_on_event(struct wspace *w, const struct swb_evrec *r);
void node_http_tick(struct node *n, int64_t now);
int64_t node_http_next_deadline(const struct node *n);

/* node.c */
void node_apply_config(struct wspace *w, json_t *doc);
/* The workspace named by SID or friendly name (NULL: the default), or NULL. */
struct wspace *node_ws_find(struct node *n, const char *ref);
/* Creates a workspace from a workspace document (see workspace_file.h), with its journal. */
enum swb_code node_ws_create(struct node *n, json_t *doc, struct wspace **out, struct swb_err *err);
/* Deletes a workspace and its journal. */
void node_ws_delete(struct node *n, struct wspace *w);
/* The workspace holding worker sid, or NULL. */
struct wspace *node_ws_of_worker(struct node *n, const char *worker_sid);

/* journal.c: every change to a core goes through these two, so it is journaled */
enum swb_code node_exec(struct wspace *w, int64_t now, const struct swb_actor *a, const char *op, json_t *args,
			json_t **result, struct swb_err *err);
void node_core_tick(struct wspace *w, int64_t now);
void node_journal_event(struct wspace *w, const struct swb_event *ev);
void node_journal_commit(struct wspace *w);
void node_journal_close(struct wspace *w);
/* Replays w->dir/journal into w->core (w->core NULL before). 0 or -1 (logged). */
int node_journal_open(struct wspace *w, swb_event_sink sink);
/* Starts w->dir/journal for a new workspace built from doc with seed. 0 or -1 (logged). */
int node_journal_create(struct wspace *w, json_t *doc, uint64_t seed, swb_event_sink sink);
typedef bool (*node_event_match)(const struct swb_evrec *r, json_t *args, int64_t from, int64_t to);
/* events.list: matching events in [from, to], newest first, paged (args: page, page_size); reads the
 * journal for what is older than the in-memory window. *out is a new reference. */
enum swb_code node_events_query(struct wspace *w, json_t *args, int64_t from, int64_t to, node_event_match match,
				json_t **out, struct swb_err *err);
/* Visits every durable event with time in [from, to] oldest first (journal, then memory) until visit
 * returns false. r is borrowed for the call. Events older than the retention are not visited. */
typedef bool (*node_event_visit)(void *ctx, const struct swb_evrec *r);
void node_events_scan(struct wspace *w, int64_t from, int64_t to, node_event_visit visit, void *ctx);
/* The oldest event time the node serves (now - retention). */
int64_t node_retention_cutoff(const struct node *n, int64_t now);

/* Reading E records back from w's journal file, oldest first, with bounded memory. */
struct node_jreader;
/* A reader of the events with seq > after and time >= from (started near them through the index);
 * NULL when the file cannot be read (logged). */
struct node_jreader *node_jreader_open(struct wspace *w, uint64_t after, int64_t from);
/* 1 and the next event in *r (r->json malloc'd: node_evrec_clear), or 0 when none with seq <= max_seq
 * is written yet (a later call continues from there). */
int node_jreader_next(struct node_jreader *rd, uint64_t max_seq, struct swb_evrec *r);
void node_jreader_close(struct node_jreader *rd);
void node_evrec_clear(struct swb_evrec *r);

/* Records that EventCallbackURL delivery is done through seq (a C record, durable at the next commit)
 * and sets w->callback_cursor. */
void node_journal_cursor(struct wspace *w, uint64_t seq, int64_t now);
/* Moves events staged outside a core call into the commit buffer (benchmarks feed events directly). */
void node_journal_flush_events(struct wspace *w);
struct node_journal_stats {
	uint64_t records, syncs, bytes_written; /* since the node started */
	uint64_t size;                          /* the file's size */
	uint64_t pending;                       /* bytes not yet written */
	uint64_t rotations;                     /* since the node started */
	uint64_t rotation_pause_ms;             /* the last rotation's time on the routing thread */
	uint64_t rotation_aside_ms;             /* ... and on its own thread (dump, write, sync) */
	uint64_t segments, segment_bytes;       /* rotated files kept, and their bytes */
};
/*
 * After a commit: rotates the journal when it is due (grown by --journal-segment-kb, or inputs arrived
 * and --snapshot-interval passed) and removes rotated files past the retention. now: wall ms.
 */
void node_journal_maintain(struct wspace *w, int64_t now);
/*
 * Rotation: the journal becomes DIR/journal.<last seq>.<now>, and a new journal starts with an S record
 * of the state, the newest event and the callback cursor (written and synced before the renames, so a
 * crash leaves the old journal or the new one). 0, or -1 when it could not (logged; nothing changed).
 */
int node_journal_rotate(struct wspace *w, int64_t now);
/* Removes the rotated files whose events are all older than cutoff and, when the workspace has an
 * EventCallbackURL, delivered to it (through w->callback_cursor); how many. */
int node_journal_prune(struct wspace *w, int64_t cutoff);
void node_journal_stats(const struct wspace *w, struct node_journal_stats *out);
/* The S record of w's state at its last seq, time now, as JSON text without its checksum (malloc'd), or
 * NULL when out of memory. */
char *node_journal_snapshot_text(struct wspace *w, int64_t now);
/* write(2) until all n bytes are written (EINTR retried); 0 or -1 with errno. */
int node_write_all(int fd, const char *p, size_t n);
/* fsync(2) of a directory, so renames and creations in it are durable; 0 or -1 with errno. */
int node_fsync_dir(const char *dir);
/* A journal line (without its newline) checked against its checksum and parsed: a new reference, or
 * NULL when torn or corrupt. */
json_t *node_journal_parse_line(const char *line, size_t len);

#endif
