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

struct node {
	struct swb_node_opts opts;
	char data_dir[SWB_PATH_MAX];
	char ipc_url[SWB_PATH_MAX + 8];
	unsigned char secret[SWB_SECRET_LEN];
	swb_core *core;
	swb_eventlog *events;
	swb_inbox *inbox;
	swb_nng_server *nng;
	int sigfd;
	bool stopping;

	/* answers wait here until the events they depend on are durable */
	struct outmsg *out_head, *out_tail;
	/* held events.next requests */
	struct pull *pulls;
	size_t npulls;
	uint64_t pulls_checked_seq;
	int64_t pulls_min_deadline;
	/* worker connections: pipe id -> workers, worker sid -> open pipes */
	swb_map *pipes, *wconns;
	size_t in_grace;
	int64_t grace_min_deadline;

	struct swb_journal *journal;
	uint64_t requests, errors;
};

/* node_ops.c */
int node_state_init(struct node *n);
void node_state_free(struct node *n);
void node_handle_nng(struct node *n, swb_nng_req *req);
void node_pipe_gone(struct node *n, uint32_t pipe);
void node_tick(struct node *n, int64_t now);
int64_t node_next_deadline(const struct node *n);
void node_commit_and_flush(struct node *n, int64_t now);
void node_release_pulls(struct node *n);
const char *node_workspace_name(struct node *n);

/* node.c */
void node_apply_config(struct node *n, json_t *doc);

/* journal.c: every change to the core goes through these two, so it is journaled */
enum swb_code node_exec(struct node *n, int64_t now, const struct swb_actor *a, const char *op, json_t *args,
			json_t **result, struct swb_err *err);
void node_core_tick(struct node *n, int64_t now);
void node_journal_event(struct node *n, const struct swb_event *ev);
void node_journal_commit(struct node *n);
void node_journal_close(struct node *n);
/* Opens DATA/journal: replays it into n->core, or starts a new one from doc. 0 or -1 (logged). */
int node_recover(struct node *n, json_t *doc, uint64_t seed, swb_event_sink sink);
typedef bool (*node_event_match)(const struct swb_evrec *r, json_t *args, int64_t from, int64_t to);
enum swb_code node_events_query(struct node *n, json_t *args, int64_t from, int64_t to, node_event_match match,
				json_t **out, struct swb_err *err);

#endif
