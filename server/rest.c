/*
 * rest.c - TaskRouter v1 REST API (placeholder until the REST module lands).
 */
#include "http_modules.h"

void rest_handle(struct node *n, struct swb_http_msg *m)
{
	http_error(n, m, 404, 20404, "The TaskRouter REST API is not available in this build");
	swb_http_msg_free(m);
}
