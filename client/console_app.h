/*
 * console_app.h - swb-console's screen: runs the agent or supervisor view over
 * a client until the user quits (or --frames updates have been drawn).
 */
#ifndef SWB_CONSOLE_APP_H
#define SWB_CONSOLE_APP_H

#include "console_opts.h"
#include "console_token.h"
#include "swb_error.h"

/*
 * Takes over the terminal, connects to url with token (both borrowed; url
 * NULL: the default ipc url) and runs until quit. renew (borrowed; NULL when
 * the token was given) is the console's own token, token its current value:
 * the console renews it when due and hands each new one to the client.
 * Returns 0, or 1 with err filled when the console could not start (no
 * terminal, bad url).
 */
int console_run(struct console_opts *o, const char *url, const char *token, struct console_token *renew,
		struct swb_err *err);

#endif
