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
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32.h"
#include "log.h"
#include "node_internal.h"
#include "timefmt.h"
#include "workspace_file.h"

#define JOURNAL_LINE_MAX (8 * 1024 * 1024) /* a longer line is corrupt */
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
	int pend;          /* an index candidate: 0 none, 1 in staged, 2 in buf (off relative to it) */
	struct jidx pend_e;
};

static void idx_add(struct swb_journal *j, uint64_t seq, int64_t ts, off_t off)
{
	if (j->nidx == j->idxcap) {
		size_t cap = j->idxcap ? j->idxcap * 2 : 1024;
		struct jidx *ni = realloc(j->idx, cap * sizeof *ni);
		if (!ni)
			abort();
		j->idx = ni;
		j->idxcap = cap;
	}
	j->idx[j->nidx++] = (struct jidx){ seq, ts, off };
}

static bool idx_wants(const struct swb_journal *j, uint64_t seq)
{
	return j->nidx == 0 || seq >= j->idx[j->nidx - 1].seq + JOURNAL_INDEX_EVERY;
}

static void grow_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
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
	json_decref(rec);
	flush_staged(j);
}

void node_journal_event(struct wspace *w, const struct swb_event *ev)
{
	struct swb_journal *j = w->journal;
	if (!j || j->replaying)
		return;
	const struct swb_evrec *r = swb_eventlog_get_latest(w->events);
	static const char head[] = "{\"k\":\"E\",\"e\":";
	if (j->pend == 0 && idx_wants(j, r->seq)) {
		j->pend = 1;
		j->pend_e = (struct jidx){ r->seq, r->ts_ms, (off_t)j->slen };
	}
	/* framed in place: {"k":"E","e":EVENT,"crc":"…"} with the checksum of everything before ,"crc" */
	size_t at = j->slen;
	grow_append(&j->staged, &j->slen, &j->scap, head, sizeof head - 1);
	grow_append(&j->staged, &j->slen, &j->scap, r->json, r->len);
	static const char hex[] = "0123456789abcdef";
	char tail[] = ",\"crc\":\"00000000\"}\n";
	uint32_t crc = swb_crc32(j->staged + at, j->slen - at);
	for (int i = 0; i < 8; i++)
		tail[8 + i] = hex[(crc >> (28 - 4 * i)) & 0xf];
	grow_append(&j->staged, &j->slen, &j->scap, tail, sizeof tail - 1);
	j->records++;
	(void)ev;
}

static int write_all(int fd, const char *p, size_t n)
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
		if (write_all(j->fd, p, n) != 0 || fdatasync(j->fd) != 0)
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
		rc = write_all(j->fd, j->buf, j->len);
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

void node_journal_cursor(struct wspace *w, uint64_t seq, int64_t now)
{
	struct swb_journal *j = w->journal;
	w->callback_cursor = seq;
	if (!j || j->replaying)
		return;
	char line[96];
	snprintf(line, sizeof line, "{\"k\":\"C\",\"t\":%lld,\"seq\":%llu}", (long long)now, (unsigned long long)seq);
	add_line(&j->buf, &j->len, &j->cap, line);
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
}

void node_journal_close(struct wspace *w)
{
	struct swb_journal *j = w->journal;
	if (!j)
		return;
	node_journal_commit(w);
	close(j->fd);
	free(j->buf);
	free(j->staged);
	free(j->idx);
	free(j);
	w->journal = NULL;
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
	} else if (strcmp(k, "T") == 0) {
		swb_core_tick(w->core, t);
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
		if (complete && len < JOURNAL_LINE_MAX && w->core && e_peek(line, (size_t)len - 1, &pseq, &pts) &&
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
		json_t *rec = complete && len < JOURNAL_LINE_MAX ? parse_line(line, (size_t)len - 1) : NULL;
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
		json_decref(rec);
		good += len;
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
	struct swb_journal *j = open_file(w, &size);
	if (!j)
		return -1;
	w->journal = j;
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

struct node_jreader {
	int fd;
	off_t off;        /* file offset of buf[0] */
	char *buf;
	size_t len, pos, cap;
	off_t last_off;   /* where the record returned last starts */
	uint64_t after;   /* skip seq <= after */
	int64_t from;     /* skip ts < from */
};

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
}

struct node_jreader *node_jreader_open(struct wspace *w, uint64_t after, int64_t from)
{
	struct swb_journal *j = w->journal;
	if (!j)
		return NULL;
	struct node_jreader *rd = calloc(1, sizeof *rd);
	if (!rd)
		abort();
	rd->fd = open(j->path, O_RDONLY | O_CLOEXEC);
	if (rd->fd < 0) {
		swb_error("cannot read %s: %s", j->path, strerror(errno));
		free(rd);
		return NULL;
	}
	rd->cap = JOURNAL_READ_CHUNK;
	rd->buf = malloc(rd->cap);
	if (!rd->buf)
		abort();
	rd->after = after;
	rd->from = from;
	jreader_seek(rd, idx_start(j, after, from));
	return rd;
}

void node_jreader_close(struct node_jreader *rd)
{
	if (!rd)
		return;
	close(rd->fd);
	free(rd->buf);
	free(rd);
}

/* The next complete line (without '\n'), or NULL at the end of what is written. */
static const char *next_line(struct node_jreader *rd, size_t *len, off_t *at)
{
	for (;;) {
		char *s = rd->buf + rd->pos, *nl = memchr(s, '\n', rd->len - rd->pos);
		if (nl) {
			*len = (size_t)(nl - s);
			*at = rd->off + (off_t)rd->pos;
			rd->pos += *len + 1;
			return s;
		}
		memmove(rd->buf, s, rd->len - rd->pos);
		rd->off += (off_t)rd->pos;
		rd->len -= rd->pos;
		rd->pos = 0;
		if (rd->len == rd->cap) {
			if (rd->cap >= JOURNAL_LINE_MAX)
				return NULL;
			char *nb = realloc(rd->buf, rd->cap * 2);
			if (!nb)
				abort();
			rd->buf = nb;
			rd->cap *= 2;
		}
		ssize_t n = pread(rd->fd, rd->buf + rd->len, rd->cap - rd->len, rd->off + (off_t)rd->len);
		if (n <= 0)
			return NULL;
		rd->len += (size_t)n;
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
		if (r->seq <= rd->after || r->ts_ms < rd->from) {
			node_evrec_clear(r);
			continue;
		}
		rd->last_off = at;
		return 1;
	}
	return 0;
}

/* The event whose line starts at off; 1 or 0. */
static int jreader_read_at(struct node_jreader *rd, off_t off, struct swb_evrec *r)
{
	jreader_seek(rd, off);
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
					ring[jt % want] = rd->last_off;
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
