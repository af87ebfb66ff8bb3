/*
 * node_http.c - the routing thread's side of HTTP: starts the lws thread,
 * routes each request, WebSocket event and finished call-out to its module
 * (http_modules.h), times out call-outs, and hands durable events to the
 * modules that push or deliver them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_modules.h"
#include "log.h"
#include "timefmt.h"

#define DEFAULT_HTTP "127.0.0.1:7412"

struct callout {
	uint64_t id;
	int64_t deadline;
	node_call_done done;
	void *ctx;
	struct callout *next;
};

int node_http_start(struct node *n)
{
	const char *spec = n->opts.http_addr ? n->opts.http_addr : DEFAULT_HTTP;
	struct swb_http_opts o = { .idle_timeout_s = 15, .static_dir = n->opts.web_dir,
				   .tls_cert = n->opts.tls_cert, .tls_key = n->opts.tls_key };
#ifdef SWB_DEFAULT_WEB_DIR /* without --web: the agent page CMake copied into the build tree, if there */
	if (!o.static_dir && access(SWB_DEFAULT_WEB_DIR "/index.html", R_OK) == 0)
		o.static_dir = SWB_DEFAULT_WEB_DIR;
#endif
	char addr[128];
	if (strcmp(spec, "none") == 0) {
		o.port = 0; /* client only: callbacks still work */
	} else {
		const char *colon = strrchr(spec, ':');
		if (!colon || colon == spec || atoi(colon + 1) <= 0 || atoi(colon + 1) > 65535 ||
		    (size_t)(colon - spec) >= sizeof addr) {
			swb_error("--http must be ADDR:PORT (e.g. 127.0.0.1:7412) or none, got '%s'", spec);
			return -1;
		}
		snprintf(addr, sizeof addr, "%.*s", (int)(colon - spec), spec);
		o.addr = addr;
		o.port = atoi(colon + 1);
	}
	struct swb_err err;
	if (swb_http_start(n->inbox, &o, &n->http, &err) != SWB_OK) {
		swb_error("%s", err.msg);
		return -1;
	}
	return 0;
}

void node_http_stop(struct node *n)
{
	eb_free(n);
	callbacks_free(n);
	calls_free(n);
	swb_http_stop(n->http);
	n->http = NULL;
	/* What the lws thread posted while stopping (WebSockets closed by its shutdown) is dropped here. */
	struct swb_in *left = n->inbox ? swb_inbox_take(n->inbox) : NULL;
	for (struct swb_in *it = left; it; it = it->next)
		if (it->kind == SWB_IN_HTTP)
			swb_http_msg_free(it->ptr);
	swb_inbox_release(left);
	while (n->callouts) {
		struct callout *c = n->callouts;
		n->callouts = c->next;
		free(c);
	}
}

int node_http_call(struct node *n, const char *method, const char *url, const char *ctype, const char *headers,
		   const char *body, size_t len, int timeout_ms, node_call_done done, void *ctx)
{
	if (!n->http)
		return -1;
	struct callout *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->id = swb_http_client(n->http, method, url, ctype, headers, body, len);
	c->deadline = swb_wall_ms() + timeout_ms;
	c->done = done;
	c->ctx = ctx;
	c->next = n->callouts;
	n->callouts = c;
	return 0;
}

static struct callout *take_callout(struct node *n, uint64_t id)
{
	for (struct callout **pp = &n->callouts; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct callout *c = *pp;
			*pp = c->next;
			return c;
		}
	}
	return NULL;
}

void node_http_tick(struct node *n, int64_t now)
{
	for (struct callout **pp = &n->callouts; *pp;) {
		struct callout *c = *pp;
		if (c->deadline > now) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		c->done(n, c->ctx, 0, "", 0); /* a late answer finds no callout and is dropped */
		free(c);
	}
	eb_tick(n, now);
	callbacks_tick(n, now);
	calls_tick(n, now);
}

int64_t node_http_next_deadline(const struct node *n)
{
	int64_t d = INT64_MAX;
	for (const struct callout *c = n->callouts; c; c = c->next)
		if (c->deadline < d)
			d = c->deadline;
	/* EventBridge heartbeats and callback retries are checked at least once a second */
	return n->http ? (d < swb_wall_ms() + 1000 ? d : swb_wall_ms() + 1000) : d;
}

void node_on_event(struct wspace *w, const struct swb_evrec *r)
{
	eb_on_event(w, r);
	callbacks_on_event(w, r);
	calls_on_event(w, r);
}

int http_status_of(enum swb_code rc)
{
	switch (rc) {
	case SWB_OK: return 200;
	case SWB_EINVAL: return 400;
	case SWB_EAUTH: return 401;
	case SWB_EPERM: return 403;
	case SWB_ENOTFOUND: return 404;
	case SWB_ECONFLICT: return 409;
	case SWB_ESTATE: return 409;
	case SWB_ETOOBIG: return 413;
	case SWB_EUNAVAIL: return 503;
	default: return 500;
	}
}

const char *http_cors(const struct swb_http_msg *m)
{
	static char buf[512];
	if (!m->origin)
		return NULL;
	snprintf(buf, sizeof buf,
		 "Access-Control-Allow-Origin: %.300s\r\nVary: Origin\r\n"
		 "Access-Control-Allow-Headers: Authorization, Content-Type, If-Match\r\n"
		 "Access-Control-Allow-Methods: GET, POST, DELETE, OPTIONS\r\n",
		 m->origin);
	return buf;
}

void http_error(struct node *n, const struct swb_http_msg *m, int status, int code, const char *message)
{
	json_t *j = json_pack("{s:i, s:s, s:s, s:i}", "code", code, "message", message, "more_info",
			      "https://www.twilio.com/docs/errors", "status", status);
	char *body = json_dumps(j, JSON_COMPACT);
	node_http_respond(n, m->conn, status, "application/json", http_cors(m), body, strlen(body));
	free(body);
	json_decref(j);
}

static void client_done(struct node *n, struct swb_http_msg *m)
{
	struct callout *c = take_callout(n, m->conn);
	if (c) {
		c->done(n, c->ctx, m->status, m->body, m->body_len);
		free(c);
	}
	swb_http_msg_free(m);
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void node_handle_http(struct node *n, struct swb_http_msg *m)
{
	switch (m->kind) {
	case SWB_HTTP_CLIENT_DONE:
		client_done(n, m);
		return;
	case SWB_HTTP_WS_OPEN:
		eb_ws_open(n, m);
		return;
	case SWB_HTTP_WS_CLOSE:
		eb_ws_close(n, m);
		return;
	case SWB_HTTP_WS_TEXT: /* the SDK sends nothing on its socket; ignore */
		swb_http_msg_free(m);
		return;
	case SWB_HTTP_REQUEST:
		break;
	}
	if (m->bad_query) {
		http_error(n, m, 400, 20001, "The query string is not valid UTF-8");
		swb_http_msg_free(m);
	} else if (strcmp(m->path, "/metrics") == 0)
		metrics_handle(n, m);
	else if (starts(m->path, "/v1/wschannels"))
		eb_handle_post(n, m);
	else if (starts(m->path, "/v1/"))
		rest_handle(n, m);
	else if (strcmp(m->path, "/") == 0 || strcmp(m->path, "/agent") == 0) {
		node_http_respond(n, m->conn, 302, "text/plain", "Location: /agent/\r\n", "", 0);
		swb_http_msg_free(m);
	} else {
		http_error(n, m, 404, 20404, "The requested resource was not found");
		swb_http_msg_free(m);
	}
}
