/*
 * journal.c - durability. DATA/journal is an append-only file of JSON lines
 * (readable with jq; see docs/journal.md), each ending in a CRC-32 of its bytes:
 *   {"k":"H", "v":1, "seed":"…", "workspace":{…}, "crc":"…"}   header: how the core was built
 *   {"k":"X", "t":ms, "a":"admin", "op":"…", "args":{…}, "seq":N, "crc":"…"}  an input that changed state
 *   {"k":"T", "t":ms, "seq":N, "crc":"…"}                      timers that fired at t
 *   {"k":"E", "e":{event}, "crc":"…"}                          an event (history, callbacks)
 * The core is deterministic, so replaying H, X and T rebuilds the exact state,
 * SIDs included; E records are checked against the replay. Records are buffered
 * during a loop turn and written with one fdatasync at commit (group commit);
 * answers and events leave the node only after that.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32.h"
#include "log.h"
#include "node_internal.h"
#include "timefmt.h"
#include "workspace_file.h"

#define JOURNAL_LINE_MAX (8 * 1024 * 1024) /* a longer line is corrupt */

enum fsync_mode { FSYNC_GROUP, FSYNC_EVERY, FSYNC_NONE };

struct swb_journal {
	int fd;
	char path[SWB_PATH_MAX + 96];
	enum fsync_mode mode;
	char *buf; /* records not yet written */
	size_t len, cap;
	char *staged; /* events of the core call in progress */
	size_t slen, scap;
	bool replaying;
	uint64_t records, syncs;
};

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
	grow_append(&j->buf, &j->len, &j->cap, j->staged, j->slen);
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
	char *line;
	size_t len;
	FILE *f = open_memstream(&line, &len);
	if (!f)
		abort();
	fprintf(f, "{\"k\":\"E\",\"e\":%s}", r->json);
	fclose(f);
	add_line(&j->staged, &j->slen, &j->scap, line);
	free(line);
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
	j->len = 0;
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
	free(j);
	w->journal = NULL;
}

/* ---- reading ---- */

/* Checks a line's checksum and parses it; NULL when torn or corrupt. */
static json_t *parse_line(char *line, size_t len)
{
	static const char marker[] = ",\"crc\":\"";
	if (len < 20 || line[len - 1] != '}')
		return NULL;
	char *m = NULL;
	for (char *p = line + len - 1; p >= line + 1 && !m; p--)
		if (*p == ',' && strncmp(p, marker, sizeof marker - 1) == 0)
			m = p;
	if (!m || line + len - (m + sizeof marker - 1) != 10)
		return NULL;
	uint32_t want = (uint32_t)strtoul(m + sizeof marker - 1, NULL, 16);
	if (swb_crc32(line, (size_t)(m - line)) != want)
		return NULL;
	json_error_t je;
	return json_loadb(line, len, 0, &je);
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

/* Applies one record during replay; -1 with a message when the journal does not replay. */
static int replay_record(struct wspace *w, json_t *rec, swb_event_sink sink, char *why, size_t whylen)
{
	const char *k = json_string_value(json_object_get(rec, "k"));
	if (!k)
		return snprintf(why, whylen, "record without a kind"), -1;
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
		seq = (uint64_t)json_integer_value(json_object_get(json_object_get(rec, "e"), "seq"));
		if (swb_core_last_seq(w->core) < seq)
			return snprintf(why, whylen, "event %llu was not reproduced", (unsigned long long)seq), -1;
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
	struct stat st;
	fstat(j->fd, &st);
	*size = st.st_size;
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

/* ---- queries ---- */

/* Events in [from, to] matching, newest first, paged. Reads the journal file when
 * the range reaches before the in-memory window. */
enum swb_code node_events_query(struct wspace *w, json_t *args, int64_t from, int64_t to, node_event_match match,
				json_t **out, struct swb_err *err)
{
	json_int_t page = json_integer_value(json_object_get(args, "page"));
	json_int_t size = json_object_get(args, "page_size") ? json_integer_value(json_object_get(args, "page_size")) : 50;
	if (page < 0 || size < 1 || size > 1000)
		return swb_err_set(err, SWB_EINVAL, "events.list: 'page' must be >= 0 and 'page_size' 1..1000");
	json_t *items = json_array();
	size_t skip = (size_t)(page * size), total = 0;
	uint64_t last = swb_eventlog_durable(w->events), first = swb_eventlog_oldest(w->events);
	for (uint64_t s = last; first && s >= first; s--) {
		const struct swb_evrec *r = swb_eventlog_get(w->events, s);
		if (!r || !match(r, args, from, to))
			continue;
		if (total >= skip && json_array_size(items) < (size_t)size) {
			json_error_t je;
			json_array_append_new(items, json_loads(r->json, 0, &je));
		}
		total++;
		if (s == 1)
			break;
	}
	*out = json_pack("{s:o, s:{s:I, s:I, s:I, s:s}}", "events", items, "meta", "page", page, "page_size", size,
			 "total", (json_int_t)total, "key", "events");
	return SWB_OK;
}
