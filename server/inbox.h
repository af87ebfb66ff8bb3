/*
 * inbox.h - the routing thread's inbox: a locked FIFO that I/O threads push into,
 * and an eventfd that wakes the routing thread (poll it for POLLIN).
 */
#ifndef SWB_INBOX_H
#define SWB_INBOX_H

#include <stdint.h>

enum swb_in_kind {
	SWB_IN_NNG_REQUEST, /* ptr: struct swb_nng_req *, the request body is in it */
	SWB_IN_PIPE_GONE,   /* u: the nng pipe id that closed */
	SWB_IN_HTTP,        /* ptr: an HTTP gateway job */
	SWB_IN_CALLBACK,    /* ptr: a finished outbound HTTP callback */
	SWB_IN_WAKE,        /* nothing: a background job (journal rotation) finished; the loop turn picks it up */
};

struct swb_in {
	enum swb_in_kind kind;
	void *ptr;
	uint32_t u;
	struct swb_in *next;
};

typedef struct swb_inbox swb_inbox;

swb_inbox *swb_inbox_new(void);
void swb_inbox_free(swb_inbox *ib);

/* Any thread: queues a copy of item and wakes the reader. Returns 0, or -1 when out of memory. */
int swb_inbox_push(swb_inbox *ib, enum swb_in_kind kind, void *ptr, uint32_t u);

/* Routing thread: takes every queued item (oldest first, a list to free with swb_inbox_release). */
struct swb_in *swb_inbox_take(swb_inbox *ib);
void swb_inbox_release(struct swb_in *list);

/* The fd to poll; reading it is done by swb_inbox_take. */
int swb_inbox_fd(const swb_inbox *ib);

#endif
