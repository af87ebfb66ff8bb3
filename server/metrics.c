/*
 * metrics.c - /metrics (placeholder until it lands).
 */
#include "http_modules.h"

void metrics_handle(struct node *n, struct swb_http_msg *m)
{
	http_error(n, m, 404, 20404, "metrics are not available in this build");
	swb_http_msg_free(m);
}
