/*
 * calls.c - simulated calls and assignment callbacks (placeholder until they land).
 */
#include "http_modules.h"

enum swb_code calls_op(struct node *n, struct wspace *w, const struct swb_actor *a, const char *op, json_t *args,
		       json_t **result, struct swb_err *err)
{
	(void)n, (void)w, (void)a, (void)args, (void)result;
	return swb_err_set(err, SWB_EUNKNOWN, "unknown op '%s' (calls are not available in this build)", op);
}

void calls_on_event(struct wspace *w, const struct swb_evrec *r)
{
	(void)w, (void)r;
}

void calls_tick(struct node *n, int64_t now)
{
	(void)n, (void)now;
}

void calls_free(struct node *n)
{
	(void)n;
}
