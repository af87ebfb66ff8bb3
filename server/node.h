/*
 * node.h - the routing node: one routing thread that owns the core, fed by an
 * inbox that the nng (and HTTP) I/O threads fill. See docs/protocol.md.
 */
#ifndef SWB_NODE_H
#define SWB_NODE_H

#define SWB_NODE_MAX_LISTEN 8

struct swb_node_opts {
	const char *config_path; /* NULL: the embedded default workspace */
	const char *data_dir;    /* NULL: $XDG_DATA_HOME/switchboard */
	const char *listen[SWB_NODE_MAX_LISTEN];
	int nlisten;             /* 0: the defaults (ipc in the runtime dir, tcp://127.0.0.1:7411) */
	const char *http_addr;   /* "ADDR:PORT"; NULL: 127.0.0.1:7412; "none": no HTTP side */
	const char *web_dir;     /* the browser agent page's files, served at /agent/ */
	const char *log_level;   /* NULL: info */
	const char *fsync_mode;  /* NULL: group */
	int disconnect_grace_ms; /* worker moves to the disconnect activity after this */
	const char *disconnect_activity; /* NULL: the workspace's default activity */
	const char *tls_cert, *tls_key;  /* PEM files for tls+tcp:// */
	int fsync_every;         /* 1: fsync each commit separately (no grouping) */
	int group_commit_ms;     /* group commit window */
	int retention_days;      /* events older than this are not served and --compact drops them; 0: 30 */
	int event_window;        /* events kept in memory per workspace; 0: SWB_EVENTLOG_WINDOW */
	int journal_segment_kb;  /* the journal rotates after growing this much; 0: 65536 (64 MiB) */
	int snapshot_interval_s; /* ... and at least this often while inputs arrive; 0: 3600 */
};

void swb_node_opts_init(struct swb_node_opts *o);
int swb_node_opts_add_listen(struct swb_node_opts *o, const char *url);

#define SWB_NODE_RETENTION_DAYS 30 /* TaskRouter keeps events 30 days */

/* Runs until SIGTERM/SIGINT; returns the process exit code. */
int swb_node_run(const struct swb_node_opts *o);

#endif
