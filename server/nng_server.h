/*
 * nng_server.h - the node's nng side: a rep0 socket with a growing pool of
 * contexts. nng's threads only receive a request and push it into the inbox; the
 * routing thread answers it (now, or later for a held events.next) with
 * swb_nng_reply. Pipe closures are reported to the inbox too.
 */
#ifndef SWB_NNG_SERVER_H
#define SWB_NNG_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "inbox.h"
#include "swb_error.h"

#define SWB_WIRE_MAX (1024 * 1024) /* largest request accepted, bytes */

typedef struct swb_nng_server swb_nng_server;
typedef struct swb_nng_req swb_nng_req;

struct swb_nng_tls {
	const char *cert_file; /* PEM; NULL: no TLS */
	const char *key_file;
};

/* Opens the socket and starts listening on every url. */
enum swb_code swb_nng_server_open(swb_inbox *ib, const char *const *urls, int nurls, const struct swb_nng_tls *tls,
				  swb_nng_server **out, struct swb_err *err);

/* Stops listening, abandons unanswered requests, frees everything. */
void swb_nng_server_close(swb_nng_server *s);

/* Routing thread: the request's body (borrowed until the reply) and the pipe it came on. */
const char *swb_nng_req_body(const swb_nng_req *r, size_t *len);
uint32_t swb_nng_req_pipe(const swb_nng_req *r);

/* Routing thread: sends the answer (copied) and returns the context to the pool. */
void swb_nng_reply(swb_nng_req *r, const char *body, size_t len);

/* Routing thread: called after taking requests, keeps enough contexts receiving. */
void swb_nng_server_replenish(swb_nng_server *s);

/* Contexts open, and how many are held by the routing thread. */
void swb_nng_server_counts(const swb_nng_server *s, size_t *open, size_t *held);

#endif
