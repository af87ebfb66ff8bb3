/*
 * http.h - the node's HTTP side on libwebsockets: an HTTP/WebSocket server and
 * an HTTP client, run on their own thread. That thread only moves bytes: every
 * request, WebSocket open/close/message and finished client call becomes a
 * struct swb_http_msg in the inbox (SWB_IN_HTTP); the routing thread answers
 * through swb_http_respond / swb_http_ws_send / swb_http_ws_close and starts
 * callbacks with swb_http_client. Those hand the work back under a lock and
 * wake the lws thread with lws_cancel_service().
 */
#ifndef SWB_HTTP_H
#define SWB_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inbox.h"
#include "swb_error.h"

#define SWB_HTTP_BODY_MAX (1024 * 1024) /* request bodies over this get 413 */

enum swb_http_kind { SWB_HTTP_REQUEST, SWB_HTTP_WS_OPEN, SWB_HTTP_WS_CLOSE, SWB_HTTP_WS_TEXT, SWB_HTTP_CLIENT_DONE };

/* Handed to the routing thread; free with swb_http_msg_free. */
struct swb_http_msg {
	enum swb_http_kind kind;
	uint64_t conn;       /* connection (or client call) id */
	char method[8];      /* GET, POST, DELETE, OPTIONS, PUT, PATCH */
	char *path;          /* decoded path, no query */
	json_t *query;       /* {"Key": "value" | ["v1","v2"]} (owned) */
	char *authorization; /* header value or NULL */
	char *content_type;
	char *origin;
	char *if_match;
	char *body;          /* NUL-terminated; body_len bytes */
	size_t body_len;
	int status;          /* CLIENT_DONE: HTTP status, 0 when the call failed */
	bool bad_query;      /* a query argument was not valid UTF-8 (and is missing from query) */
	char peer[64];
};

void swb_http_msg_free(struct swb_http_msg *m);

typedef struct swb_http swb_http;

struct swb_http_opts {
	const char *addr;      /* "127.0.0.1" */
	int port;              /* 0: no server (client only) */
	const char *tls_cert;  /* PEM files: HTTPS/WSS when set */
	const char *tls_key;
	const char *static_dir;/* served under /agent/ (the browser agent page), NULL: none */
	int idle_timeout_s;    /* header/body/keep-alive timeouts */
};

/* Starts the lws thread. */
enum swb_code swb_http_start(swb_inbox *ib, const struct swb_http_opts *o, swb_http **out, struct swb_err *err);
void swb_http_stop(swb_http *h);

/* Routing thread -> lws thread. body/text are copied. extra_headers: "name: value\r\n" lines or NULL. */
void swb_http_respond(swb_http *h, uint64_t conn, int status, const char *content_type, const char *extra_headers,
		      const char *body, size_t len);
void swb_http_ws_send(swb_http *h, uint64_t conn, const char *text, size_t len);
void swb_http_ws_close(swb_http *h, uint64_t conn, int code, const char *reason);

/* Starts an HTTP call; the answer arrives as SWB_HTTP_CLIENT_DONE with the returned id. */
uint64_t swb_http_client(swb_http *h, const char *method, const char *url, const char *content_type,
			 const char *extra_headers, const char *body, size_t len);

/* The port actually bound (when opts.port was 0 for an ephemeral one: not supported; returns opts.port). */
int swb_http_port(const swb_http *h);

#endif
