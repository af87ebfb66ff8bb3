/*
 * eventbridge.c - twilio-taskrouter's EventBridge (placeholder until it lands).
 */
#include "http_modules.h"

void eb_handle_post(struct node *n, struct swb_http_msg *m)
{
	http_error(n, m, 404, 20404, "The EventBridge is not available in this build");
	swb_http_msg_free(m);
}

void eb_ws_open(struct node *n, struct swb_http_msg *m)
{
	swb_http_ws_close(n->http, m->conn, 1008, "EventBridge not available");
	swb_http_msg_free(m);
}

void eb_ws_close(struct node *n, struct swb_http_msg *m)
{
	(void)n;
	swb_http_msg_free(m);
}

void eb_on_event(struct wspace *w, const struct swb_evrec *r)
{
	(void)w;
	(void)r;
}

void eb_tick(struct node *n, int64_t now)
{
	(void)n;
	(void)now;
}

void eb_free(struct node *n)
{
	(void)n;
}
