/*
 * journal.c - durability. DATA/journal is an append-only file of JSON lines
 * (readable with jq; see docs/journal.md), each ending in a CRC-32 of its bytes:
 *   {"k":"H", "v":1, "seed":"…", "workspace":{…}, "crc":"…"}   header: how the core was built
 *   {"k":"X", "t":ms, "a":"admin", "op":"…", "args":{…}, "seq":N, "crc":"…"}  an input that changed state
 *   {"k":"T", "t":ms, "seq":N, "crc":"…"}                      timers that fired at t
 *   {"k":"E", "e":{event}, "crc":"…"}                          an event (history, callbacks)
 *   {"k":"C", "t":ms, "seq":N, "crc":"…"}                      EventCallbackURL delivered through seq
 *   {"k":"S", "t":ms, "seq":N, "core":{snapshot}, "crc":"…"}   instead of H: the whole state at seq N
 * The core is deterministic, so replaying H, X and T rebuilds the exact state,
 * SIDs included; E records are checked against the replay. A compacted journal
 * (compact.c) starts with S instead: the core is restored from it, and the E
 * records up to N that follow it (history kept for the retention) are loaded
 * into the in-memory window as they are, since no replay re-emits them. Records are buffered
 * during a loop turn and written with one fdatasync at commit (group commit);
 * answers and events leave the node only after that.
 *
 * The file is also the event history: a sparse index (one entry per
 * JOURNAL_INDEX_EVERY events: seq, time, offset), built during replay and at
 * each commit, lets readers (node_jreader_*) start near a sequence or a time,
 * so queries and callback delivery older than the in-memory window read the
 * file instead of holding events in memory. A node holds an exclusive flock on
 * its journals, so a second node or --compact cannot touch them meanwhile.
 *
 * Rotation (node_journal_maintain, after each loop turn): once the file has
 * grown by --journal-segment-kb, or inputs arrived and --snapshot-interval
 * passed, the file becomes DIR/journal.<last seq>.<ms> and a new journal
 * starts with an S record, a copy of the newest event and a C record, written
 * by a thread of its own (struct rotation) and completed with the records
 * appended meanwhile, synced before the renames (a crash leaves one or the
 * other; the start finishes or undoes a half-done rotation). Readers go through the rotated
 * files and on into the live one; the rotated files whose events are past the
 * retention and delivered to the EventCallbackURL are removed.
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32.h"
#include "inbox.h"
#include "log.h"
#include "node_internal.h"
#include "timefmt.h"
#include "workspace_file.h"

#define JOURNAL_LINE_MAX (8 * 1024 * 1024) /* a longer line is corrupt, but for H and S records */
#define JOURNAL_STATE_LINE_MAX (1024L * 1024 * 1024) /* an H or S record (the whole state) */
#define JOURNAL_SEGMENT_KB 65536        /* rotate after this much is appended (--journal-segment-kb) */
#define JOURNAL_SNAPSHOT_INTERVAL_S 3600 /* and at least this often while inputs arrive (--snapshot-interval) */
#define JOURNAL_PRUNE_EVERY_MS 60000     /* how often segments past the retention are looked for */
#define JOURNAL_ROTATE_RETRY_MS 60000    /* after a rotation failed */
#define JOURNAL_INDEX_EVERY 256  /* events per index entry: 24 bytes per 256 events (~0.1 MB per 1M events) */
#define JOURNAL_READ_CHUNK 65536 /* a reader's buffer, grown only for longer lines */
#define QUERY_DEPTH_MAX 1000000  /* events.list: page * page_size reaching further into the journal is refused */

enum fsync_mode { FSYNC_GROUP, FSYNC_EVERY, FSYNC_NONE };

/* Where an event record starts in the file. */
struct jidx {
	uint64_t seq;
	int64_t ts;
	off_t off;
};

/*
 * A rotated file, DIR/journal.<last_seq, 20 digits>.<t_end ms>: every event
 * in it has seq <= last_seq and time <= t_end; the next file starts with a
 * snapshot at last_seq.
 */
struct jseg {
	uint64_t last_seq;
	int64_t t_end;
	off_t size;
};

struct swb_journal {
	int fd;
	char path[SWB_PATH_MAX + 96];
	enum fsync_mode mode;
	char *buf; /* records not yet written */
	size_t len, cap;
	char *staged; /* events of the core call in progress */
	size_t slen, scap;
	bool replaying;
	uint64_t records, syncs, bytes;
	off_t size; /* bytes in the file: everything committed */
	struct jidx *idx; /* sparse, ascending seq (and time) */
	size_t nidx, idxcap;
	uint64_t snap_seq; /* the journal starts with a snapshot at this seq (0: with a header) */
	char dir[SWB_PATH_MAX + 64];
	off_t body_off;    /* where the records after the H or S line start */
	off_t base_size;   /* the size right after the file was started (H or S, E, C) */
	int64_t opened_at; /* wall ms the file was started */
	uint64_t inputs;   /* X and T records in the file */
	struct jseg *segs; /* rotated files, oldest first */
	size_t nsegs, segcap;
	uint64_t rotations;
	int64_t pause_ms, aside_ms; /* the last rotation's time on the routing thread, and on its own */
	int64_t prune_at, rotate_retry_at;
	struct rotation *rot; /* a rotation in progress (below) */
	int pend;          /* an index candidate: 0 none, 1 in staged, 2 in buf (off relative to it) */
	struct jidx pend_e;
};

struct rotation;
static void rotation_abandon(struct rotation *r);
static bool e_peek(const char *line, size_t len, uint64_t *seq, int64_t *ts);

/* Makes room for one more element in an array of n (capacity *cap, doubling from first); the array. */
static void *grow_for_one(void *a, size_t n, size_t *cap, size_t elem, size_t first)
{
	if (n < *cap)
		return a;
	size_t c = *cap ? *cap * 2 : first;
	void *na = realloc(a, c * elem);
	if (!na)
		abort();
	*cap = c;
	return na;
}

static void idx_add(struct swb_journal *j, uint64_t seq, int64_t ts, off_t off)
{
	j->idx = grow_for_one(j->idx, j->nidx, &j->idxcap, sizeof *j->idx, 1024);
	j->idx[j->nidx++] = (struct jidx){ seq, ts, off };
}

static bool idx_wants(const struct swb_journal *j, uint64_t seq)
{
	return j->nidx == 0 || seq >= j->idx[j->nidx - 1].seq + JOURNAL_INDEX_EVERY;
}

static void grow_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (n == 0)
		return; /* s (and *buf) may be NULL */
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 65536;
		while (c < *len + n)
			c *= 2;
		char *nb = realloc(*buf, c);
		if (!nb)
			abort();
		*buf = nb;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
}

/* Appends `json` (an object's text) with its checksum as a line to buf. */
static void add_line(char **buf, size_t *len, size_t *cap, const char *json)
{
	size_t n = strlen(json);
	if (n < 2 || json[n - 1] != '}')
		abort();
	char tail[32];
	uint32_t crc = swb_crc32(json, n - 1);
	snprintf(tail, sizeof tail, ",\"crc\":\"%08x\"}\n", crc);
	grow_append(buf, len, cap, json, n - 1);
	grow_append(buf, len, cap, tail, strlen(tail));
}

static void add_record(struct swb_journal *j, json_t *rec)
{
	char *s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s)
		abort();
	add_line(&j->buf, &j->len, &j->cap, s);
	free(s);
	j->records++;
}

/* ---- recording ---- */

static const char *actor_name(const struct swb_actor *a, char *buf, size_t len)
{
	if (!a || a->kind == SWB_ACTOR_SYSTEM)
		return "system";
	if (a->kind == SWB_ACTOR_ADMIN)
		return "admin";
	if (a->kind == SWB_ACTOR_SUPERVISOR)
		return "supervisor";
	snprintf(buf, len, "worker:%s", a->worker_sid ? a->worker_sid : "");
	return buf;
}

static void flush_staged(struct swb_journal *j)
{
	if (j->pend == 1) {
		j->pend_e.off += (off_t)j->len;
		j->pend = 2;
	}
	if (j->len == 0) { /* nothing to keep in front: take the staged buffer as it is */
		char *b = j->buf;
		size_t c = j->cap;
		j->buf = j->staged;
		j->cap = j->scap;
		j->len = j->slen;
		j->staged = b;
		j->scap = c;
	} else {
		grow_append(&j->buf, &j->len, &j->cap, j->staged, j->slen);
	}
	j->slen = 0;
}

enum swb_code node_exec(struct wspace *w, int64_t now, const struct swb_actor *a, const char *op, json_t *args,
			json_t **result, struct swb_err *err)
{
	uint64_t before = swb_core_last_seq(w->core);
	enum swb_code rc = swb_core_exec(w->core, now, a, op, args, result, err);
	uint64_t after = swb_core_last_seq(w->core);
	const struct swb_op_info *info = swb_core_op_find(op);
	struct swb_journal *j = w->journal;
	if (!j || j->replaying || after == before)
		return rc; /* nothing changed: nothing to replay */
	char abuf[64];
	json_t *rec;
	if (info && info->mutates)
		rec = json_pack("{s:s, s:I, s:s, s:s, s:O, s:I}", "k", "X", "t", (json_int_t)now, "a",
				actor_name(a, abuf, sizeof abuf), "op", op, "args", args ? args : json_null(), "seq",
				(json_int_t)after);
	else
		rec = json_pack("{s:s, s:I, s:I}", "k", "T", "t", (json_int_t)now, "seq", (json_int_t)after);
	add_record(j, rec);
	j->inputs++;
	json_decref(rec);
	flush_staged(j);
	return rc;
}

void node_core_tick(struct wspace *w, int64_t now)
{
	uint64_t before = swb_core_last_seq(w->core);
	swb_core_tick(w->core, now);
	struct swb_journal *j = w->journal;
	if (!j || j->replaying || swb_core_last_seq(w->core) == before)
		return;
	json_t *rec = json_pack("{s:s, s:I, s:I}", "k", "T", "t", (json_int_t)now, "seq",
				(json_int_t)swb_core_last_seq(w->core));
	add_record(j, rec);
	j->inputs++;
	json_decref(rec);
	flush_staged(j);
}

/* Appends {"k":"E","e":EVENT,"crc":"…"}, framed in place with the checksum of everything before ,"crc". */
static void frame_event(char **buf, size_t *len, size_t *cap, const char *json, size_t n)
{
	static const char head[] = "{\"k\":\"E\",\"e\":", hex[] = "0123456789abcdef";
	size_t at = *len;
	grow_append(buf, len, cap, head, sizeof head - 1);
	grow_append(buf, len, cap, json, n);
	char tail[] = ",\"crc\":\"00000000\"}\n";
	uint32_t crc = swb_crc32(*buf + at, *len - at);
	for (int i = 0; i < 8; i++)
		tail[8 + i] = hex[(crc >> (28 - 4 * i)) & 0xf];
	grow_append(buf, len, cap, tail, sizeof tail - 1);
}

void node_journal_event(struct wspace *w, const struct swb_event *ev)
{
	struct swb_journal *j = w->journal;
	if (!j || j->replaying)
		return;
	const struct swb_evrec *r = swb_eventlog_get_latest(w->events);
	if (j->pend == 0 && idx_wants(j, r->seq)) {
		j->pend = 1;
		j->pend_e = (struct jidx){ r->seq, r->ts_ms, (off_t)j->slen };
	}
	frame_event(&j->staged, &j->slen, &j->scap, r->json, r->len);
	j->records++;
	(void)ev;
}

int node_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes one line at a time with an fdatasync after each event (the "every" mode). */
static int commit_every(struct swb_journal *j)
{
	char *p = j->buf, *end = j->buf + j->len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)(nl - p) + 1;
		if (node_write_all(j->fd, p, n) != 0 || fdatasync(j->fd) != 0)
			return -1;
		j->syncs++;
		p += n;
	}
	return 0;
}

void node_journal_commit(struct wspace *w)
{
	struct swb_journal *j = w->journal;
	if (!j || j->len == 0)
		return;
	int rc;
	if (j->mode == FSYNC_EVERY) {
		rc = commit_every(j);
	} else {
		rc = node_write_all(j->fd, j->buf, j->len);
		if (rc == 0 && j->mode == FSYNC_GROUP) {
			rc = fdatasync(j->fd);
			j->syncs++;
		}
	}
	if (rc != 0) {
		/* Nothing may be acknowledged that is not on disk: stop rather than lie. */
		swb_error("journal %s: write failed: %s; stopping", j->path, strerror(errno));
		abort();
	}
	if (j->pend == 2) {
		idx_add(j, j->pend_e.seq, j->pend_e.ts, j->size + j->pend_e.off);
		j->pend = 0;
	}
	j->size += (off_t)j->len;
	j->bytes += j->len;
	j->len = 0;
}

void node_journal_flush_events(struct wspace *w)
{
	if (w->journal && !w->journal->replaying)
		flush_staged(w->journal);
}

/* Appends a C record: EventCallbackURL delivery is done through seq. */
static void add_cursor(char **buf, size_t *len, size_t *cap, int64_t now, uint64_t seq)
{
	char line[96];
	snprintf(line, sizeof line, "{\"k\":\"C\",\"t\":%lld,\"seq\":%llu}", (long long)now, (unsigned long long)seq);
	add_line(buf, len, cap, line);
}

void node_journal_cursor(struct wspace *w, uint64_t seq, int64_t now)
{
	struct swb_journal *j = w->journal;
	w->callback_cursor = seq;
	if (!j || j->replaying)
		return;
	add_cursor(&j->buf, &j->len, &j->cap, now, seq);
	j->records++;
}

void node_journal_stats(const struct wspace *w, struct node_journal_stats *out)
{
	const struct swb_journal *j = w->journal;
	memset(out, 0, sizeof *out);
	if (!j)
		return;
	out->records = j->records;
	out->syncs = j->syncs;
	out->bytes_written = j->bytes;
	out->size = (uint64_t)j->size;
	out->pending = j->len + j->slen;
	out->rotations = j->rotations;
	out->rotation_pause_ms = (uint64_t)j->pause_ms;
	out->rotation_aside_ms = (uint64_t)j->aside_ms;
	out->segments = j->nsegs;
	for (size_t i = 0; i < j->nsegs; i++)
		out->segment_bytes += (uint64_t)j->segs[i].size;
}

void node_journal_close(struct wspace *w)
{
	struct swb_journal *j = w->journal;
	if (!j)
		return;
	node_journal_commit(w);
	if (j->rot)
		rotation_abandon(j->rot); /* the journal is complete without it */
	close(j->fd);
	free(j->buf);
	free(j->staged);
	free(j->idx);
	free(j->segs);
	free(j);
	w->journal = NULL;
}

/* ---- segments: rotation with a snapshot, retention ---- */

static void seg_path(const struct swb_journal *j, const struct jseg *g, char *out, size_t len)
{
	snprintf(out, len, "%s/journal.%020llu.%lld", j->dir, (unsigned long long)g->last_seq, (long long)g->t_end);
}

static void seg_add(struct swb_journal *j, struct jseg g)
{
	j->segs = grow_for_one(j->segs, j->nsegs, &j->segcap, sizeof *j->segs, 16);
	j->segs[j->nsegs++] = g;
}

static int seg_cmp(const void *a, const void *b)
{
	const struct jseg *x = a, *y = b;
	return x->last_seq < y->last_seq ? -1 : x->last_seq > y->last_seq;
}

/* A rotated file's name parsed: journal.<20 digits>.<digits>. */
static bool seg_name(const char *name, struct jseg *g)
{
	if (strncmp(name, "journal.", 8) != 0 || strlen(name) < 8 + 20 + 2 || name[8 + 20] != '.')
		return false;
	for (const char *c = name + 8; *c; c++)
		if ((*c < '0' || *c > '9') && c != name + 8 + 20)
			return false;
	g->last_seq = strtoull(name + 8, NULL, 10);
	g->t_end = strtoll(name + 8 + 21, NULL, 10);
	return true;
}

/* Finds the rotated files in j->dir, oldest first. */
static int segs_load(struct swb_journal *j)
{
	DIR *d = opendir(j->dir);
	if (!d) {
		swb_error("cannot read %s: %s", j->dir, strerror(errno));
		return -1;
	}
	struct dirent *e;
	struct jseg g;
	while ((e = readdir(d)))
		if (seg_name(e->d_name, &g)) {
			char path[SWB_PATH_MAX + 160];
			struct stat st;
			seg_path(j, &g, path, sizeof path);
			g.size = stat(path, &st) == 0 ? st.st_size : 0;
			seg_add(j, g);
		}
	closedir(d);
	if (j->nsegs > 1)
		qsort(j->segs, j->nsegs, sizeof *j->segs, seg_cmp);
	return 0;
}

int node_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * A rotation interrupted by a crash: journal-next is complete (it is synced
 * before any rename). With the journal still there, the rotation never
 * happened; without it, the journal was already renamed to its segment and
 * journal-next takes its place.
 */
static int recover_rotation(const char *dir)
{
	char next[SWB_PATH_MAX + 96], cur[SWB_PATH_MAX + 96];
	snprintf(next, sizeof next, "%s/journal-next", dir);
	snprintf(cur, sizeof cur, "%s/journal", dir);
	if (access(next, F_OK) != 0)
		return 0;
	if (access(cur, F_OK) == 0) {
		swb_warn("journal: removing %s, left by a rotation that did not finish", next);
		return unlink(next);
	}
	swb_warn("journal: finishing a rotation interrupted after the old journal was moved aside");
	if (rename(next, cur) != 0 || node_fsync_dir(dir) != 0) {
		swb_error("cannot rename %s to %s: %s", next, cur, strerror(errno));
		return -1;
	}
	return 0;
}

/* The S record of w's state at its last seq: a new reference, or NULL. */
static json_t *snapshot_record(struct wspace *w, int64_t now)
{
	return json_pack("{s:s, s:I, s:I, s:o}", "k", "S", "t", (json_int_t)now, "seq",
			 (json_int_t)swb_core_last_seq(w->core), "core", swb_core_snapshot(w->core));
}

char *node_journal_snapshot_text(struct wspace *w, int64_t now)
{
	json_t *rec = snapshot_record(w, now);
	char *text = rec ? json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(rec);
	return text;
}

/*
 * A rotation in progress. The routing thread takes the snapshot (the core's
 * state as a jansson tree, whose shared members, attributes and workflow
 * configurations, the core only ever replaces, never changes in place) and
 * the lines that follow it; a thread of its own turns the tree into text,
 * writes DIR/journal-next, syncs it and frees the tree, which is most of the
 * work. Meanwhile records keep going to the journal; when the thread is done,
 * the routing thread copies what was appended since (from `from`) to
 * journal-next, syncs it and does the renames.
 */
struct rotation {
	pthread_t thread;
	atomic_int state; /* ROT_RUNNING, then ROT_WRITTEN or ROT_FAILED */
	json_t *rec;      /* the S record: the thread's to dump and free */
	char *tail;       /* the newest event and the callback cursor, framed: written after the S line */
	size_t tail_len;
	int fd, err;
	char path[SWB_PATH_MAX + 96];
	uint64_t seq;     /* the snapshot's */
	int64_t t;
	off_t from;       /* journal bytes from here on are copied to journal-next at the end */
	size_t head_len;  /* the S line's length */
	off_t written;    /* bytes in journal-next */
	bool thread_started;
	int64_t written_ms; /* when the thread was done */
	swb_inbox *wake; /* told when the thread is done (NULL: nobody polls, e.g. a benchmark) */
	int64_t started_ms, built_ms;
};

enum { ROT_RUNNING, ROT_WRITTEN, ROT_FAILED };

/* The newest event (so a restarted node's window knows where the sequence stands) and the callback cursor,
 * as the lines that follow a new file's S record. */
static void head_lines(struct wspace *w, int64_t now, char **buf, size_t *len, size_t *cap)
{
	const struct swb_evrec *r = swb_eventlog_get_latest(w->events);
	if (r && r->seq == swb_core_last_seq(w->core))
		frame_event(buf, len, cap, r->json, r->len);
	if (w->callback_cursor)
		add_cursor(buf, len, cap, now, w->callback_cursor);
}

static void *rotation_main(void *arg)
{
	struct rotation *r = arg;
	char *text = json_dumps(r->rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(r->rec); /* most of a large snapshot's cost, off the routing thread */
	r->rec = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = -1;
	if (text) {
		add_line(&buf, &len, &cap, text);
		free(text);
		r->head_len = len;
		grow_append(&buf, &len, &cap, r->tail, r->tail_len);
		rc = node_write_all(r->fd, buf, len) == 0 && fdatasync(r->fd) == 0 ? 0 : -1;
		r->err = rc ? errno : 0;
	} else {
		r->err = ENOMEM;
	}
	free(buf);
	malloc_trim(0); /* the tree and its text were this thread's: give the pages back, RSS would keep them */
	r->written = (off_t)len;
	r->written_ms = swb_mono_ms();
	atomic_store(&r->state, rc == 0 ? ROT_WRITTEN : ROT_FAILED);
	if (r->wake)
		swb_inbox_push(r->wake, SWB_IN_WAKE, NULL, 0); /* the routing thread finishes the rotation */
	return NULL;
}

static void rotation_free(struct rotation *r)
{
	json_decref(r->rec);
	free(r->tail);
	free(r);
}

/* Starts a rotation at the last seq: 0, or -1 (logged or not at a record boundary; nothing changed). */
static int rotation_start(struct wspace *w, int64_t now)
{
	struct swb_journal *j = w->journal;
	node_journal_commit(w);
	if (j->slen)
		return -1; /* events staged outside a core call: not at a record boundary */
	struct rotation *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	r->started_ms = swb_mono_ms();
	r->seq = swb_core_last_seq(w->core);
	r->t = now;
	r->from = j->size;
	snprintf(r->path, sizeof r->path, "%s/journal-next", j->dir);
	r->rec = snapshot_record(w, now);
	size_t cap = 0;
	head_lines(w, now, &r->tail, &r->tail_len, &cap);
	r->fd = open(r->path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (!r->rec || r->fd < 0 || flock(r->fd, LOCK_EX | LOCK_NB) != 0) {
		swb_warn("journal %s: cannot start %s (%s); rotating later", j->path, r->path, strerror(errno));
		if (r->fd >= 0)
			close(r->fd);
		unlink(r->path);
		rotation_free(r);
		return -1;
	}
	r->built_ms = swb_mono_ms();
	r->wake = w->n ? w->n->inbox : NULL;
	if (pthread_create(&r->thread, NULL, rotation_main, r) != 0)
		rotation_main(r); /* no thread: do it here */
	else
		r->thread_started = true;
	j->rot = r;
	return 0;
}
/* Joins the thread; frees the rotation and its file when it did not make it. */
static void rotation_join(struct rotation *r)
{
	if (r->thread_started)
		pthread_join(r->thread, NULL);
	r->thread_started = false;
}

static void rotation_abandon(struct rotation *r)
{
	rotation_join(r);
	close(r->fd);
	unlink(r->path);
	rotation_free(r);
}

/* The journal's bytes from off to its end (committed), read back; NULL with errno. */
static char *read_back(struct swb_journal *j, off_t off, size_t n)
{
	char *buf = malloc(n ? n : 1);
	if (!buf)
		abort();
	for (size_t got = 0; got < n;) {
		ssize_t k = pread(j->fd, buf + got, n - got, off + (off_t)got);
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			free(buf);
			return NULL;
		}
		got += (size_t)k;
	}
	return buf;
}

/* Indexes the events and counts the inputs of records copied into the new file at base. */
static void index_copied(struct swb_journal *j, const char *buf, size_t n, off_t base)
{
	for (size_t at = 0; at < n;) {
		const char *nl = memchr(buf + at, '\n', n - at);
		size_t len = nl ? (size_t)(nl - (buf + at)) : n - at;
		uint64_t seq;
		int64_t ts;
		if (e_peek(buf + at, len, &seq, &ts)) {
			if (idx_wants(j, seq))
				idx_add(j, seq, ts, base + (off_t)at);
		} else if (len > 6 && (strncmp(buf + at, "{\"k\":\"X\"", 8) == 0 || strncmp(buf + at, "{\"k\":\"T\"", 8) == 0)) {
			j->inputs++;
		}
		at += len + 1;
	}
}

/* The renames: journal becomes segment g, journal-next the journal. 0, or -1 (nothing changed). */
static int rotation_rename(struct swb_journal *j, struct rotation *r, const struct jseg *g)
{
	char seg[SWB_PATH_MAX + 160];
	seg_path(j, g, seg, sizeof seg);
	if (rename(j->path, seg) != 0) {
		swb_warn("journal %s: cannot rename it to %s (%s); rotating later", j->path, seg, strerror(errno));
		return -1;
	}
	if (rename(r->path, j->path) != 0 || node_fsync_dir(j->dir) != 0) {
		/* the old file must not take more records under its new name: a restart finishes the rotation */
		swb_error("journal %s: cannot rename %s into place (%s); stopping", j->path, r->path, strerror(errno));
		abort();
	}
	return 0;
}

/* Ends the rotation in progress (its thread done): 0 when the journal rotated, -1 when it did not (logged). */
static int rotation_finish(struct wspace *w, int64_t now)
{
	struct swb_journal *j = w->journal;
	struct rotation *r = j->rot;
	j->rot = NULL;
	rotation_join(r);
	int64_t t0 = swb_mono_ms();
	if (atomic_load(&r->state) != ROT_WRITTEN) {
		swb_warn("journal %s: cannot write %s (%s); rotating later", j->path, r->path, strerror(r->err));
		rotation_abandon(r);
		return -1;
	}
	node_journal_commit(w);
	size_t n = (size_t)(j->size - r->from);
	char *copied = read_back(j, r->from, n);
	if (!copied || (n && (node_write_all(r->fd, copied, n) != 0 || fdatasync(r->fd) != 0))) {
		swb_warn("journal %s: cannot copy its last records to %s (%s); rotating later", j->path, r->path,
			 strerror(errno));
		free(copied);
		rotation_abandon(r);
		return -1;
	}
	struct jseg g = { .last_seq = swb_core_last_seq(w->core), .t_end = now, .size = j->size };
	if (j->nsegs && g.t_end <= j->segs[j->nsegs - 1].t_end)
		g.t_end = j->segs[j->nsegs - 1].t_end + 1; /* names stay unique and ordered */
	if (j->nsegs && g.last_seq <= j->segs[j->nsegs - 1].last_seq) {
		free(copied); /* no event since the last rotation: nothing to rotate (readers need distinct last seqs) */
		rotation_abandon(r);
		return -1;
	}
	if (rotation_rename(j, r, &g) != 0) {
		free(copied);
		rotation_abandon(r);
		return -1;
	}
	close(j->fd);
	j->fd = r->fd;
	seg_add(j, g);
	j->size = j->base_size = r->written + (off_t)n; /* growth counts from here: the copied records are not new */
	j->body_off = (off_t)r->head_len;
	j->nidx = 0;
	j->pend = 0;
	j->snap_seq = r->seq;
	j->opened_at = r->t;
	j->inputs = 0;
	index_copied(j, copied, n, r->written);
	free(copied);
	j->rotations++;
	j->bytes += (uint64_t)j->size;
	j->pause_ms = r->built_ms - r->started_ms + swb_mono_ms() - t0;
	j->aside_ms = r->written_ms - r->built_ms;
	swb_info("journal %s: rotated at seq %llu (%lld bytes); snapshot at seq %llu, %zu bytes: %lld ms on the routing "
		 "thread, %lld ms written aside", j->path, (unsigned long long)g.last_seq, (long long)g.size,
		 (unsigned long long)r->seq, r->head_len, (long long)j->pause_ms, (long long)j->aside_ms);
	rotation_free(r);
	return 0;
}

int node_journal_rotate(struct wspace *w, int64_t now)
{
	struct swb_journal *j = w->journal;
	if (!j || j->replaying || !w->core)
		return -1;
	if (j->rot && rotation_finish(w, now) == 0 && swb_core_last_seq(w->core) == j->snap_seq)
		return 0; /* the one in progress was enough */
	if (rotation_start(w, now) != 0)
		return -1;
	return rotation_finish(w, now);
}

/* Whether the workspace has an event_callback_url now (without one, no event waits for delivery). */
static bool has_callback_url(struct wspace *w)
{
	json_t *ws = NULL;
	if (node_exec(w, swb_wall_ms(), NULL, "workspace.fetch", NULL, &ws, NULL) != SWB_OK)
		return true; /* unknown: keep everything */
	const char *url = json_string_value(json_object_get(ws, "event_callback_url"));
	bool has = url && *url;
	json_decref(ws);
	return has;
}

int node_journal_prune(struct wspace *w, int64_t cutoff)
{
	struct swb_journal *j = w->journal;
	if (!j || !j->nsegs || j->segs[0].t_end >= cutoff)
		return 0;
	uint64_t delivered = has_callback_url(w) ? w->callback_cursor : UINT64_MAX;
	size_t k = 0;
	char path[SWB_PATH_MAX + 160];
	while (k < j->nsegs && j->segs[k].t_end < cutoff && j->segs[k].last_seq <= delivered) {
		seg_path(j, &j->segs[k], path, sizeof path);
		if (unlink(path) != 0 && errno != ENOENT) {
			swb_warn("journal: cannot remove %s: %s", path, strerror(errno));
			break;
		}
		k++;
	}
	if (k == 0)
		return 0;
	memmove(j->segs, j->segs + k, (j->nsegs - k) * sizeof *j->segs);
	j->nsegs -= k;
	node_fsync_dir(j->dir);
	swb_info("journal %s: removed %zu rotated file%s past the retention", j->path, k, k == 1 ? "" : "s");
	return (int)k;
}

void node_journal_maintain(struct wspace *w, int64_t now)
{
	struct swb_journal *j = w->journal;
	if (!j || j->replaying)
		return;
	const struct swb_node_opts *o = &w->n->opts;
	off_t seg_bytes = (off_t)(o->journal_segment_kb > 0 ? o->journal_segment_kb : JOURNAL_SEGMENT_KB) * 1024;
	int64_t every = (int64_t)(o->snapshot_interval_s > 0 ? o->snapshot_interval_s : JOURNAL_SNAPSHOT_INTERVAL_S) * 1000;
	/* a rotated file holds events past the one before it: file_after relies on distinct last seqs */
	bool fresh = swb_core_last_seq(w->core) > (j->nsegs ? j->segs[j->nsegs - 1].last_seq : j->snap_seq);
	bool due = fresh && (j->size - j->base_size >= seg_bytes || (j->inputs > 0 && now - j->opened_at >= every));
	bool rotated = false;
	if (j->rot) {
		if (atomic_load(&j->rot->state) != ROT_RUNNING && j->slen == 0) {
			rotated = rotation_finish(w, now) == 0;
			if (!rotated)
				j->rotate_retry_at = now + JOURNAL_ROTATE_RETRY_MS;
		}
	} else if (due && now >= j->rotate_retry_at && rotation_start(w, now) != 0) {
		j->rotate_retry_at = now + JOURNAL_ROTATE_RETRY_MS;
	}
	if (rotated || now >= j->prune_at) {
		node_journal_prune(w, node_retention_cutoff(w->n, now));
		j->prune_at = now + JOURNAL_PRUNE_EVERY_MS;
	}
}

/* ---- reading ---- */

/* The checksum marker's position in line, or NULL when the checksum does not match. */
static const char *crc_ok(const char *line, size_t len)
{
	static const char marker[] = ",\"crc\":\"";
	if (len < 20 || line[len - 1] != '}')
		return NULL;
	const char *m = line + len - 18; /* ,"crc":"xxxxxxxx"} */
	if (strncmp(m, marker, sizeof marker - 1) != 0)
		return NULL;
	char hex[9];
	memcpy(hex, m + sizeof marker - 1, 8);
	hex[8] = '\0';
	char *end;
	uint32_t want = (uint32_t)strtoul(hex, &end, 16);
	if (*end || swb_crc32(line, (size_t)(m - line)) != want)
		return NULL;
	return m;
}

json_t *node_journal_parse_line(const char *line, size_t len)
{
	if (!crc_ok(line, len))
		return NULL;
	json_error_t je;
	return json_loadb(line, len, 0, &je);
}

/* Checks a line's checksum and parses it; NULL when torn or corrupt. */
static json_t *parse_line(char *line, size_t len)
{
	return node_journal_parse_line(line, len);
}

static int parse_actor(const char *s, struct swb_actor *a, char *wsid)
{
	if (strcmp(s, "system") == 0)
		a->kind = SWB_ACTOR_SYSTEM;
	else if (strcmp(s, "admin") == 0)
		a->kind = SWB_ACTOR_ADMIN;
	else if (strcmp(s, "supervisor") == 0)
		a->kind = SWB_ACTOR_SUPERVISOR;
	else if (strncmp(s, "worker:", 7) == 0) {
		a->kind = SWB_ACTOR_WORKER;
		snprintf(wsid, SWB_SID_SIZE, "%s", s + 7);
		a->worker_sid = wsid;
	} else
		return -1;
	return 0;
}

static void no_errors(void *ctx, const char *msg)
{
	swb_error("journal header workspace: %s", msg);
	(void)ctx;
}

/* An event from before a snapshot goes into the in-memory window as it was recorded. */
static void window_add(struct wspace *w, json_t *e)
{
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(e, "seq"));
	const struct swb_evrec *last = swb_eventlog_get_latest(w->events);
	if (last && last->seq >= seq)
		return;
	struct swb_event ev = { .seq = seq, .sid = json_string_value(json_object_get(e, "sid")) ?: "",
				.type = json_string_value(json_object_get(e, "event_type")) ?: "",
				.ts_ms = json_integer_value(json_object_get(e, "event_date_ms")),
				.resource_type = json_string_value(json_object_get(e, "resource_type")) ?: "",
				.resource_sid = json_string_value(json_object_get(e, "resource_sid")) ?: "",
				.description = json_string_value(json_object_get(e, "description")) ?: "",
				.data = json_object_get(e, "event_data") };
	json_t *empty = json_object();
	if (!json_is_object(ev.data))
		ev.data = empty;
	swb_eventlog_append(w->events, &ev);
	json_decref(empty);
}

/* Applies one record during replay; -1 with a message when the journal does not replay. */
static int replay_record(struct wspace *w, json_t *rec, swb_event_sink sink, char *why, size_t whylen)
{
	const char *k = json_string_value(json_object_get(rec, "k"));
	if (!k)
		return snprintf(why, whylen, "record without a kind"), -1;
	if (strcmp(k, "S") == 0) {
		if (w->core)
			return snprintf(why, whylen, "a snapshot after the start"), -1;
		struct swb_err err;
		w->core = swb_core_restore(json_object_get(rec, "core"), sink, w, &err);
		if (!w->core)
			return snprintf(why, whylen, "the snapshot does not restore: %.200s", err.msg), -1;
		if (w->journal)
			w->journal->snap_seq = swb_core_last_seq(w->core);
		return 0;
	}
	if (strcmp(k, "H") == 0) {
		if (w->core)
			return snprintf(why, whylen, "a second header"), -1;
		const char *seed = json_string_value(json_object_get(rec, "seed"));
		struct swb_core_opts co = { .seed = seed ? strtoull(seed, NULL, 16) : 0,
					    .now_ms = json_integer_value(json_object_get(rec, "t")),
					    .sink = sink, .sink_ctx = w, .workspace_sid = w->sid,
					    .account_sid = json_string_value(json_object_get(rec, "account_sid")) };
		if (swb_workspace_build(json_object_get(rec, "workspace"), &co, no_errors, NULL, &w->core) != 0)
			return snprintf(why, whylen, "the header's workspace does not load"), -1;
		return 0;
	}
	if (!w->core)
		return snprintf(why, whylen, "records before the header"), -1;
	int64_t t = json_integer_value(json_object_get(rec, "t"));
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(rec, "seq"));
	if (strcmp(k, "X") == 0) {
		struct swb_actor a = { 0 };
		char wsid[SWB_SID_SIZE];
		json_t *args = json_object_get(rec, "args");
		if (parse_actor(json_string_value(json_object_get(rec, "a")) ?: "", &a, wsid) != 0)
			return snprintf(why, whylen, "bad actor"), -1;
		swb_core_exec(w->core, t, &a, json_string_value(json_object_get(rec, "op")), json_is_null(args) ? NULL : args,
			      NULL, NULL);
		if (w->journal)
			w->journal->inputs++;
	} else if (strcmp(k, "T") == 0) {
		swb_core_tick(w->core, t);
		if (w->journal)
			w->journal->inputs++;
	} else if (strcmp(k, "E") == 0) {
		json_t *e = json_object_get(rec, "e");
		seq = (uint64_t)json_integer_value(json_object_get(e, "seq"));
		if (swb_core_last_seq(w->core) < seq)
			return snprintf(why, whylen, "event %llu was not reproduced", (unsigned long long)seq), -1;
		if (w->journal && seq <= w->journal->snap_seq)
			window_add(w, e);
		return 0;
	} else if (strcmp(k, "C") == 0) {
		if (seq > swb_core_last_seq(w->core))
			return snprintf(why, whylen, "callback cursor %llu is past the last event %llu",
					(unsigned long long)seq, (unsigned long long)swb_core_last_seq(w->core)), -1;
		w->callback_cursor = seq;
		return 0;
	} else {
		return snprintf(why, whylen, "unknown record kind '%s'", k), -1;
	}
	if (swb_core_last_seq(w->core) != seq)
		return snprintf(why, whylen, "replay reached seq %llu where the journal says %llu",
				(unsigned long long)swb_core_last_seq(w->core), (unsigned long long)seq), -1;
	return 0;
}

/*
 * An event record's seq and time without parsing it (replay reads these lines
 * by the million): jansson writes "seq" first and "event_date_ms" before
 * event_data, and a quote inside a string value is escaped, so the first
 * "event_date_ms": is the event's own. False when the line is not in that form.
 */
static bool e_peek(const char *line, size_t len, uint64_t *seq, int64_t *ts)
{
	static const char head[] = "{\"k\":\"E\",\"e\":{\"seq\":", key[] = "\"event_date_ms\":";
	if (len < sizeof head + 18 || memcmp(line, head, sizeof head - 1) != 0)
		return false;
	char *end;
	*seq = strtoull(line + sizeof head - 1, &end, 10);
	if (end == line + sizeof head - 1 || *end != ',')
		return false;
	const char *k = memmem(line, len, key, sizeof key - 1);
	if (!k)
		return false;
	*ts = strtoll(k + sizeof key - 1, &end, 10);
	return *end == ',';
}

/* Whether a line of len bytes may be a record: H and S records hold the whole state. */
static bool line_fits(const char *line, ssize_t len)
{
	if (len < JOURNAL_LINE_MAX)
		return true;
	return len < JOURNAL_STATE_LINE_MAX && (strncmp(line, "{\"k\":\"S\"", 9) == 0 || strncmp(line, "{\"k\":\"H\"", 9) == 0);
}

/* Notes where the file's H or S line ends and when it was started. */
static void note_head(struct swb_journal *j, json_t *rec, off_t end)
{
	const char *k = json_string_value(json_object_get(rec, "k"));
	if (!j || j->body_off || !k || (strcmp(k, "H") != 0 && strcmp(k, "S") != 0))
		return;
	j->body_off = j->base_size = end;
	j->opened_at = json_integer_value(json_object_get(rec, "t"));
}

/*
 * Replays the journal at fd. A torn last line (no newline, bad checksum) is cut
 * off with a log line; anything else wrong stops the start.
 */
static int replay(struct wspace *w, FILE *f, swb_event_sink sink)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	off_t good = 0;
	uint64_t lineno = 0;
	int rc = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		bool complete = line[len - 1] == '\n';
		uint64_t pseq;
		int64_t pts;
		if (complete && line_fits(line, len) && w->core && e_peek(line, (size_t)len - 1, &pseq, &pts) &&
		    crc_ok(line, (size_t)len - 1) && (!w->journal || pseq > w->journal->snap_seq)) {
			/* an event the replay re-emits: only checked and indexed */
			if (swb_core_last_seq(w->core) < pseq) {
				swb_error("journal: line %llu does not replay: event %llu was not reproduced; refusing to start",
					  (unsigned long long)lineno, (unsigned long long)pseq);
				rc = -1;
				break;
			}
			if (w->journal && idx_wants(w->journal, pseq))
				idx_add(w->journal, pseq, pts, good);
			good += len;
			continue;
		}
		json_t *rec = complete && line_fits(line, len) ? parse_line(line, (size_t)len - 1) : NULL;
		if (!rec) {
			int c = fgetc(f);
			if (c == EOF) {
				swb_warn("journal: dropping a torn last record at line %llu (%zd bytes)",
					 (unsigned long long)lineno, len);
				if (ftruncate(fileno(f), good) != 0)
					rc = -1;
				break;
			}
			swb_error("journal: line %llu is corrupt (checksum or JSON) and is not the last; "
				  "refusing to start. Move the journal aside to start empty.", (unsigned long long)lineno);
			rc = -1;
			break;
		}
		json_t *e = json_object_get(rec, "e");
		if (e && w->journal) {
			uint64_t eseq = (uint64_t)json_integer_value(json_object_get(e, "seq"));
			if (idx_wants(w->journal, eseq))
				idx_add(w->journal, eseq, json_integer_value(json_object_get(e, "event_date_ms")), good);
		}
		char why[256];
		if (replay_record(w, rec, sink, why, sizeof why) != 0) {
			swb_error("journal: line %llu does not replay: %s; refusing to start", (unsigned long long)lineno, why);
			rc = -1;
			json_decref(rec);
			break;
		}
		good += len;
		note_head(w->journal, rec, good);
		json_decref(rec);
	}
	free(line);
	if (rc == 0 && !w->core) {
		swb_error("journal: no header; refusing to start");
		rc = -1;
	}
	if (w->journal)
		w->journal->size = good;
	return rc;
}

static enum fsync_mode parse_mode(const char *s)
{
	if (s && strcmp(s, "every") == 0)
		return FSYNC_EVERY;
	if (s && strcmp(s, "none") == 0)
		return FSYNC_NONE;
	return FSYNC_GROUP;
}

static struct swb_journal *open_file(struct wspace *w, off_t *size)
{
	struct swb_journal *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	snprintf(j->path, sizeof j->path, "%s/journal", w->dir);
	snprintf(j->dir, sizeof j->dir, "%s", w->dir);
	j->mode = parse_mode(w->n->opts.fsync_mode);
	j->fd = open(j->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		swb_error("cannot open %s: %s", j->path, strerror(errno));
		free(j);
		return NULL;
	}
	if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
		swb_error("%s is in use by another swb-node (or swb-node --compact); stop it first", j->path);
		close(j->fd);
		free(j);
		return NULL;
	}
	struct stat st;
	fstat(j->fd, &st);
	*size = st.st_size;
	j->size = st.st_size;
	return j;
}

int node_journal_create(struct wspace *w, json_t *doc, uint64_t seed, swb_event_sink sink)
{
	off_t size;
	struct swb_journal *j = open_file(w, &size);
	if (!j)
		return -1;
	w->journal = j;
	if (size != 0) {
		swb_error("%s already exists; refusing to overwrite it", j->path);
		return -1;
	}
	char hex[32];
	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)seed);
	json_int_t t = (json_int_t)swb_wall_ms();
	json_t *rec = json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:O}", "k", "H", "v", 1, "seed", hex, "workspace_sid",
				w->sid, "account_sid", w->n->account_sid, "t", t, "workspace", doc);
	add_record(j, rec);
	json_decref(rec);
	j->body_off = j->base_size = (off_t)j->len;
	j->opened_at = t;
	struct swb_core_opts co = { .seed = seed, .now_ms = t, .workspace_sid = w->sid,
				    .account_sid = w->n->account_sid };
	if (swb_workspace_build(doc, &co, no_errors, NULL, &w->core) != 0)
		return -1;
	node_journal_commit(w);
	swb_core_set_sink(w->core, sink, w);
	return 0;
}

int node_journal_open(struct wspace *w, swb_event_sink sink)
{
	off_t size;
	if (recover_rotation(w->dir) != 0)
		return -1;
	struct swb_journal *j = open_file(w, &size);
	if (!j)
		return -1;
	w->journal = j;
	if (segs_load(j) != 0)
		return -1;
	FILE *f = fdopen(dup(j->fd), "r");
	if (!f)
		return -1;
	j->replaying = true;
	int64_t t0 = swb_mono_ms();
	int rc = replay(w, f, sink);
	fclose(f);
	j->replaying = false;
	if (rc != 0)
		return -1;
	swb_info("journal: replayed %s to seq %llu in %lld ms", j->path, (unsigned long long)swb_core_last_seq(w->core),
		 (long long)(swb_mono_ms() - t0));
	swb_eventlog_mark_durable(w->events, swb_core_last_seq(w->core));
	w->hooked_seq = swb_core_last_seq(w->core);
	return 0;
}

/* ---- reading events back (node_jreader) ---- */

/*
 * A reader walks the rotated files and then the journal, oldest first. It
 * names the file it reads by `lo`, the seq the file starts after (the previous
 * file's last seq), which stays true when the journal rotates or old files are
 * removed between calls. Each file after the first starts with a copy of the
 * previous file's last event, skipped through last_seq.
 */
struct node_jreader {
	struct swb_journal *j;
	int fd;
	uint64_t lo;      /* the file holds the events after lo */
	off_t off;        /* file offset of buf[0] */
	char *buf;
	size_t len, pos, cap;
	bool skipping;    /* inside a line too long to hold (an H or S record) */
	off_t last_pos;   /* where the record returned last starts: file index << 40 | offset */
	uint64_t last_seq;/* the record returned last */
	uint64_t after;   /* skip seq <= after */
	int64_t from;     /* skip ts < from */
};

#define JPOS_SHIFT 40 /* a position: file index (segments, then the journal) << 40 | offset */

static const char e_prefix[] = "{\"k\":\"E\",\"e\":";

static void copy_str(char *dst, size_t len, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	snprintf(dst, len, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* Fills r from an E line (checksum not checked: the node wrote it, or replay checked it). */
static bool evrec_from_line(const char *line, size_t len, struct swb_evrec *r)
{
	size_t plen = sizeof e_prefix - 1;
	if (len < plen + 18 + 2 || memcmp(line, e_prefix, plen) != 0)
		return false;
	const char *ej = line + plen;
	size_t elen = len - plen - 18; /* ,"crc":"xxxxxxxx"} */
	json_error_t je;
	json_t *e = json_loadb(ej, elen, 0, &je);
	if (!json_is_object(e)) {
		json_decref(e);
		return false;
	}
	memset(r, 0, sizeof *r);
	r->seq = (uint64_t)json_integer_value(json_object_get(e, "seq"));
	r->ts_ms = json_integer_value(json_object_get(e, "event_date_ms"));
	copy_str(r->type, sizeof r->type, e, "event_type");
	copy_str(r->sid, sizeof r->sid, e, "sid");
	json_t *d = json_object_get(e, "event_data");
	copy_str(r->worker_sid, sizeof r->worker_sid, d, "worker_sid");
	copy_str(r->task_sid, sizeof r->task_sid, d, "task_sid");
	copy_str(r->reservation_sid, sizeof r->reservation_sid, d, "reservation_sid");
	copy_str(r->queue_sid, sizeof r->queue_sid, d, "task_queue_sid");
	copy_str(r->workflow_sid, sizeof r->workflow_sid, d, "workflow_sid");
	copy_str(r->channel, sizeof r->channel, d, "task_channel_unique_name");
	json_decref(e);
	r->json = malloc(elen + 1);
	if (!r->json)
		abort();
	memcpy(r->json, ej, elen);
	r->json[elen] = '\0';
	r->len = elen;
	return true;
}

void node_evrec_clear(struct swb_evrec *r)
{
	free(r->json);
	r->json = NULL;
}

/* The offset to start reading at to find every event with seq > after and ts >= from. */
static off_t idx_start(const struct swb_journal *j, uint64_t after, int64_t from)
{
	off_t off = 0;
	size_t lo = 0, hi = j->nidx; /* last entry with seq <= after + 1 */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (j->idx[mid].seq <= after + 1)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0)
		off = j->idx[lo - 1].off;
	lo = 0, hi = j->nidx; /* last entry with ts < from: everything before it is older still */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (j->idx[mid].ts < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && j->idx[lo - 1].off > off)
		off = j->idx[lo - 1].off;
	return off;
}

static void jreader_seek(struct node_jreader *rd, off_t off)
{
	rd->off = off;
	rd->len = rd->pos = 0;
	rd->skipping = false;
}

/* The index of the file holding the events after lo: the first rotated file ending past lo, or the journal. */
static size_t file_after(const struct swb_journal *j, uint64_t lo)
{
	size_t lo_i = 0, hi = j->nsegs;
	while (lo_i < hi) {
		size_t mid = (lo_i + hi) / 2;
		if (j->segs[mid].last_seq <= lo)
			lo_i = mid + 1;
		else
			hi = mid;
	}
	return lo_i;
}

/* Opens file k (k == nsegs: the journal) at off; false when it cannot be read (logged). */
static bool jreader_open_file(struct node_jreader *rd, size_t k, off_t off)
{
	struct swb_journal *j = rd->j;
	char path[SWB_PATH_MAX + 160];
	if (k < j->nsegs)
		seg_path(j, &j->segs[k], path, sizeof path);
	else
		snprintf(path, sizeof path, "%s", j->path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		swb_error("cannot read %s: %s", path, strerror(errno));
		return false;
	}
	if (rd->fd >= 0)
		close(rd->fd);
	rd->fd = fd;
	rd->lo = k > 0 ? j->segs[k - 1].last_seq : 0;
	if (k == j->nsegs && off < j->body_off)
		off = j->body_off;
	jreader_seek(rd, off);
	return true;
}

/* At the end of a file: on to the next one; false at the end of the journal itself. */
static bool jreader_next_file(struct node_jreader *rd)
{
	size_t k = file_after(rd->j, rd->lo);
	if (k == rd->j->nsegs)
		return false; /* reading the journal: its end is the end */
	return jreader_open_file(rd, k + 1, 0);
}

struct node_jreader *node_jreader_open(struct wspace *w, uint64_t after, int64_t from)
{
	struct swb_journal *j = w->journal;
	if (!j)
		return NULL;
	struct node_jreader *rd = calloc(1, sizeof *rd);
	if (!rd)
		abort();
	rd->j = j;
	rd->fd = -1;
	rd->cap = JOURNAL_READ_CHUNK;
	rd->buf = malloc(rd->cap);
	if (!rd->buf)
		abort();
	rd->after = after;
	rd->from = from;
	size_t k = 0; /* the first file with events past after and as late as from */
	while (k < j->nsegs && (j->segs[k].last_seq <= after || j->segs[k].t_end < from))
		k++;
	if (!jreader_open_file(rd, k, k == j->nsegs ? idx_start(j, after, from) : 0)) {
		node_jreader_close(rd);
		return NULL;
	}
	return rd;
}

void node_jreader_close(struct node_jreader *rd)
{
	if (!rd)
		return;
	if (rd->fd >= 0)
		close(rd->fd);
	free(rd->buf);
	free(rd);
}

/* Reads more of the current file into the buffer; false at its end. */
static bool fill(struct node_jreader *rd)
{
	memmove(rd->buf, rd->buf + rd->pos, rd->len - rd->pos);
	rd->off += (off_t)rd->pos;
	rd->len -= rd->pos;
	rd->pos = 0;
	if (rd->skipping) {
		rd->off += (off_t)rd->len; /* the long line's bytes are not kept */
		rd->len = 0;
	} else if (rd->len == rd->cap && rd->cap >= JOURNAL_LINE_MAX) {
		rd->skipping = true;
		rd->off += (off_t)rd->len;
		rd->len = 0;
	} else if (rd->len == rd->cap) {
		char *nb = realloc(rd->buf, rd->cap * 2);
		if (!nb)
			abort();
		rd->buf = nb;
		rd->cap *= 2;
	}
	ssize_t n = pread(rd->fd, rd->buf + rd->len, rd->cap - rd->len, rd->off + (off_t)rd->len);
	if (n <= 0)
		return false;
	rd->len += (size_t)n;
	return true;
}

/* The next complete line (without '\n'), or NULL at the end of what is written. */
static const char *next_line(struct node_jreader *rd, size_t *len, off_t *at)
{
	for (;;) {
		char *s = rd->buf + rd->pos, *nl = memchr(s, '\n', rd->len - rd->pos);
		if (nl && rd->skipping) {
			rd->pos += (size_t)(nl - s) + 1;
			rd->skipping = false;
			continue;
		}
		if (nl) {
			*len = (size_t)(nl - s);
			*at = rd->off + (off_t)rd->pos;
			rd->pos += *len + 1;
			return s;
		}
		if (!fill(rd) && !jreader_next_file(rd))
			return NULL;
	}
}

int node_jreader_next(struct node_jreader *rd, uint64_t max_seq, struct swb_evrec *r)
{
	size_t len;
	off_t at;
	const char *line;
	while ((line = next_line(rd, &len, &at))) {
		if (len < sizeof e_prefix || memcmp(line, e_prefix, sizeof e_prefix - 1) != 0)
			continue;
		if (!evrec_from_line(line, len, r))
			continue; /* unreadable: replay would have refused it; skip rather than stall */
		if (r->seq > max_seq) {
			node_evrec_clear(r);
			rd->pos = (size_t)(at - rd->off); /* not consumed */
			return 0;
		}
		if (r->seq <= rd->after || r->seq <= rd->last_seq || r->ts_ms < rd->from) {
			node_evrec_clear(r);
			continue;
		}
		rd->last_seq = r->seq;
		rd->last_pos = (off_t)file_after(rd->j, rd->lo) << JPOS_SHIFT | at;
		return 1;
	}
	return 0;
}

/* The event whose line starts at pos (a last_pos of this query: no rotation since); 1 or 0. */
static int jreader_read_at(struct node_jreader *rd, off_t pos, struct swb_evrec *r)
{
	size_t k = (size_t)(pos >> JPOS_SHIFT);
	off_t off = pos & (((off_t)1 << JPOS_SHIFT) - 1);
	if (k == file_after(rd->j, rd->lo))
		jreader_seek(rd, off);
	else if (!jreader_open_file(rd, k, off))
		return 0;
	rd->last_seq = 0;
	uint64_t after = rd->after;
	int64_t from = rd->from;
	rd->after = 0;
	rd->from = INT64_MIN;
	int got = node_jreader_next(rd, UINT64_MAX, r);
	rd->after = after;
	rd->from = from;
	return got;
}

/* ---- queries ---- */

int64_t node_retention_cutoff(const struct node *n, int64_t now)
{
	int days = n->opts.retention_days > 0 ? n->opts.retention_days : SWB_NODE_RETENTION_DAYS;
	return now - (int64_t)days * 86400 * 1000;
}

/*
 * Where the in-memory window stops covering [from, ...]: events with seq <= *upto
 * are read from the journal. False when memory covers the range.
 */
static bool journal_part(struct wspace *w, int64_t from, uint64_t *upto)
{
	uint64_t first = swb_eventlog_oldest(w->events), durable = swb_eventlog_durable(w->events);
	if (durable == 0 || !w->journal)
		return false;
	if (first == 0 || first > durable) {
		*upto = durable;
		return true;
	}
	const struct swb_evrec *f = swb_eventlog_get(w->events, first);
	if (first <= 1 || (f && f->ts_ms < from))
		return false;
	*upto = first - 1;
	return true;
}

void node_events_scan(struct wspace *w, int64_t from, int64_t to, node_event_visit visit, void *ctx)
{
	int64_t cutoff = node_retention_cutoff(w->n, swb_wall_ms());
	if (from < cutoff)
		from = cutoff;
	uint64_t upto = 0, durable = swb_eventlog_durable(w->events);
	if (journal_part(w, from, &upto)) {
		struct node_jreader *rd = node_jreader_open(w, 0, from);
		struct swb_evrec r;
		bool more = rd != NULL;
		while (more && node_jreader_next(rd, upto, &r) == 1) {
			more = r.ts_ms <= to && visit(ctx, &r);
			node_evrec_clear(&r);
		}
		node_jreader_close(rd);
		if (!more)
			return;
	}
	uint64_t first = swb_eventlog_oldest(w->events);
	for (uint64_t s = first > upto + 1 ? first : upto + 1; first && s <= durable; s++) {
		const struct swb_evrec *r = swb_eventlog_get(w->events, s);
		if (!r || r->ts_ms < from)
			continue;
		if (r->ts_ms > to || !visit(ctx, r))
			return;
	}
}

static void append_json(json_t *items, const char *text)
{
	json_error_t je;
	json_t *e = json_loads(text, 0, &je);
	if (e)
		json_array_append_new(items, e);
}

/* Events in [from, to] matching, newest first, paged: the in-memory window first,
 * then the journal file for what is older than the window. */
enum swb_code node_events_query(struct wspace *w, json_t *args, int64_t from, int64_t to, node_event_match match,
				json_t **out, struct swb_err *err)
{
	json_int_t page = json_integer_value(json_object_get(args, "page"));
	json_int_t size = json_object_get(args, "page_size") ? json_integer_value(json_object_get(args, "page_size")) : 50;
	if (page < 0 || size < 1 || size > 1000)
		return swb_err_set(err, SWB_EINVAL, "events.list: 'page' must be >= 0 and 'page_size' 1..1000");
	int64_t cutoff = node_retention_cutoff(w->n, swb_wall_ms());
	if (from < cutoff)
		from = cutoff;
	json_t *items = json_array();
	size_t skip = (size_t)(page * size), total = 0;
	uint64_t last = swb_eventlog_durable(w->events), first = swb_eventlog_oldest(w->events);
	for (uint64_t s = last; first && s >= first; s--) {
		const struct swb_evrec *r = swb_eventlog_get(w->events, s);
		if (r && r->ts_ms < from)
			break; /* times never decrease with seq */
		if (r && match(r, args, from, to)) {
			if (total >= skip && json_array_size(items) < (size_t)size)
				append_json(items, r->json);
			total++;
		}
		if (s == 1)
			break;
	}
	uint64_t upto;
	if (journal_part(w, from, &upto)) {
		/* Journal matches oldest first; the newest `want` of them are kept by offset in a ring. */
		size_t want = skip + (size_t)size > total ? skip + (size_t)size - total : 0;
		if (want > QUERY_DEPTH_MAX) {
			json_decref(items);
			return swb_err_set(err, SWB_EINVAL, "events.list: page %lld is too deep; narrow the time range "
				"(start_date/end_date) instead", (long long)page);
		}
		off_t *ring = want ? malloc(want * sizeof *ring) : NULL;
		struct node_jreader *rd = node_jreader_open(w, 0, from);
		size_t jt = 0;
		struct swb_evrec r;
		while (rd && node_jreader_next(rd, upto, &r) == 1) {
			bool stop = r.ts_ms > to;
			if (!stop && match(&r, args, from, to)) {
				if (want)
					ring[jt % want] = rd->last_pos;
				jt++;
			}
			node_evrec_clear(&r);
			if (stop)
				break;
		}
		/* position p (newest first, over memory then journal) maps to journal match jt-1-(p-total) */
		for (size_t p = skip > total ? skip : total; rd && p < skip + (size_t)size && p - total < jt; p++) {
			size_t k = jt - 1 - (p - total);
			if (jreader_read_at(rd, ring[k % want], &r) == 1) {
				append_json(items, r.json);
				node_evrec_clear(&r);
			}
		}
		node_jreader_close(rd);
		free(ring);
		total += jt;
	}
	*out = json_pack("{s:o, s:{s:I, s:I, s:I, s:s}}", "events", items, "meta", "page", page, "page_size", size,
			 "total", (json_int_t)total, "key", "events");
	return SWB_OK;
}
