/*
 * callbacks.c - EventCallbackURL delivery (placeholder until it lands).
 */
#include "http_modules.h"

void callbacks_on_event(struct wspace *w, const struct swb_evrec *r)
{
	(void)w;
	(void)r;
}

void callbacks_tick(struct node *n, int64_t now)
{
	(void)n;
	(void)now;
}

void callbacks_free(struct node *n)
{
	(void)n;
}
