/*
 * pulls.h - held events.next requests, indexed so that a commit touches only
 * the pulls its events concern: a worker's pulls by its SID, supervisor and
 * admin pulls under one key, and every pull in a deadline heap for its expiry.
 * Routing thread only. node_ops.c answers them (try/collect); this file only
 * keeps them.
 */
#ifndef SWB_PULLS_H
#define SWB_PULLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "nng_server.h"
#include "sid.h"

struct wspace;
struct node;

struct pull {
	struct wspace *w;
	swb_nng_req *req;
	json_int_t id;
	uint64_t after;
	int64_t deadline;
	int max;
	bool all; /* supervisor/admin: every event */
	char worker_sid[SWB_SID_SIZE];
	/* bookkeeping (pulls.c) */
	struct pull *prev, *next;   /* every held pull */
	struct pull *kprev, *knext; /* the pulls of one key */
	struct pullkey *key;
	size_t heap_idx;
};

/* Starts holding p (allocated by the caller, owned by the set from now on). */
void pulls_add(struct node *n, struct pull *p);
/* Stops holding p (not freed). */
void pulls_remove(struct node *n, struct pull *p);
/* The held pulls of a worker (NULL: the all-seeing ones), as a list through knext. */
struct pull *pulls_of(struct node *n, const char *worker_sid);
/* The pull that expires first, or NULL. */
struct pull *pulls_first_deadline(const struct node *n);
/* Frees every held pull and the index (no answers). */
void pulls_free(struct node *n);

#endif
