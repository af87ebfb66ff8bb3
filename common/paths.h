/*
 * paths.h - where things live by default, shared by the node and its clients:
 * the data directory (secret, journal) and the local ipc endpoint.
 */
#ifndef SWB_PATHS_H
#define SWB_PATHS_H

#include <stddef.h>

#define SWB_DEFAULT_TCP_URL "tcp://127.0.0.1:7411"
#define SWB_PATH_MAX 4096

/* $SWB_DATA, else $XDG_DATA_HOME/switchboard, else ~/.local/share/switchboard. */
void swb_default_data_dir(char *out, size_t len);

/* ipc://$XDG_RUNTIME_DIR/switchboard/node.ipc, else ipc:///tmp/switchboard-UID/node.ipc.
 * Creates the directory (0700) when create is non-zero. */
void swb_default_ipc_url(char *out, size_t len, int create);

/* mkdir -p with mode for each created level; 0 or -1 with errno. */
int swb_mkdir_p(const char *path, unsigned mode);

#endif
