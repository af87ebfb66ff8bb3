/*
 * compact.h - swb-node --compact: rewrites each workspace's journal without the
 * event records older than the retention (see docs/journal.md).
 */
#ifndef SWB_COMPACT_H
#define SWB_COMPACT_H

/*
 * Compacts every workspace journal under data_dir (NULL: the default data dir)
 * into a snapshot of its state (an S record) followed by the E records newer
 * than retention_days (0: none but the newest) or not yet delivered to the
 * workspace's EventCallbackURL, and its callback cursor. The new file must replay to the
 * same state before it replaces the old one. Refuses while a node holds the
 * journal. Returns the process exit code (0, or 1 with a message).
 */
int swb_compact(const char *data_dir, int retention_days);

#endif
