/*
 * node.c - placeholder until the nng node lands.
 */
#include "node.h"

#include <stdio.h>
#include <string.h>

void swb_node_opts_init(struct swb_node_opts *o)
{
	memset(o, 0, sizeof *o);
	o->disconnect_grace_ms = 30000;
}

int swb_node_opts_add_listen(struct swb_node_opts *o, const char *url)
{
	if (o->nlisten >= SWB_NODE_MAX_LISTEN)
		return -1;
	o->listen[o->nlisten++] = url;
	return 0;
}

int swb_node_run(const struct swb_node_opts *o)
{
	(void)o;
	fprintf(stderr, "swb-node: serving is not built yet\n");
	return 1;
}
