/*
 * calls.c - simulated calls. Switchboard has no telephone network, so a call
 * is a leg simulated here while the HTTP side speaks the real protocols: a
 * caller dials one of the workspace's numbers (calls.create), the number's
 * voice webhook is requested with Twilio's form parameters (or its inline
 * TwiML is read), and the TwiML runs verb by verb. <Gather> takes the digits
 * the caller "presses" (calls.create's digits); <Enqueue workflowSid> creates
 * a task through node_exec (so it is journaled) and holds the caller, running
 * the waitUrl document in a loop; the caller leaves the queue by hanging up
 * (the task is canceled), by <Leave>, when the task ends, on an error, or when
 * an assignment instruction redirects or bridges it to a worker (assignment.c).
 * When the bridge ends the task moves to wrapping and the Enqueue action is
 * requested with QueueResult and QueueTime.
 *
 * Calls live only in memory (they are not journaled: a restart drops every
 * leg); everything they change in a core goes through node_exec. Time spent
 * in <Say>, <Play> and <Pause> is simulated in wall-clock time (SIM_*), checked
 * on the node's loop, which turns at least once a second.
 *
 * Ops: calls.create, calls.hangup, calls.fetch, calls.list, calls.instruct
 * (see docs/calls.md). Routing thread only.
 */
#define _GNU_SOURCE /* asprintf */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calls.h"
#include "calls_internal.h"
#include "log.h"
#include "timefmt.h"
#include "token.h"
#include "workspace_file.h"

#define CALLS_MAX 20000                     /* calls kept (live and recently ended) per node */
#define CALLS_KEEP_ENDED_MS (10 * 60 * 1000) /* an ended call stays listable this long */
#define SIM_SAY_MS 1000                      /* one <Say> loop, in simulated time */
#define SIM_PLAY_MS 3000                     /* one <Play> loop */
#define WAIT_REFETCH_MIN_MS 1000             /* a waitUrl is requested at most once a second */
#define MAX_INSTANT_STEPS 100                /* verbs in a row that take no time: a loop; the call ends */
#define PURGE_EVERY_MS 5000

struct fetch {
	struct fetch *prev, *next;
	calls_done_fn done;
	void *arg;
	void (*free_arg)(void *);
	bool not_started; /* no HTTP side: fails on the next tick */
};

struct numcache {
	json_t *numbers; /* the workspace's "numbers" (own reference), or NULL */
	bool loaded;
	struct timespec mtime; /* of the --config file, for the default workspace */
};

struct calls_state {
	swb_map *by_sid;    /* call sid -> struct call */
	struct call **v;    /* every call, oldest first */
	size_t n, cap;
	struct fetch *fetches;
	swb_map *numbers;   /* workspace sid -> struct numcache */
	swb_rng rng;
	int64_t last_purge;
	int64_t queues_at; /* when the queued calls' queue_sid were last looked up */
};

enum purpose { DOC_MAIN, DOC_WAIT };

/* A document request in flight. */
struct docreq {
	char ws_sid[SWB_SID_SIZE], call_sid[SWB_SID_SIZE];
	uint64_t token;
	enum purpose purpose;
	char *url;
	bool voice_url; /* the number's voice_url: its voice_fallback_url applies */
};

static const char *const status_names[] = { "ringing", "in-progress", "queued", "bridged", "completed" };

const char *calls_status_name(enum call_status s)
{
	return status_names[s];
}

static void run(struct node *n, struct call *c);
static void call_end(struct node *n, struct call *c, const char *reason);
static void fetch_doc(struct node *n, struct call *c, const char *ref, const char *method, json_t *extra,
		      enum purpose purpose, bool voice_url);

/* ---- module state ---- */

static struct calls_state *state(struct node *n)
{
	if (n->calls)
		return n->calls;
	struct calls_state *s = calloc(1, sizeof *s);
	if (!s || !(s->by_sid = swb_map_new()) || !(s->numbers = swb_map_new()))
		abort();
	char hex[17];
	struct swb_err err;
	uint64_t seed = (uint64_t)swb_wall_ms();
	if (swb_random_hex(hex, 8, &err) == SWB_OK)
		seed ^= strtoull(hex, NULL, 16);
	swb_rng_seed(&s->rng, seed);
	n->calls = s;
	return s;
}

static char *xstrdup(const char *s)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

static void call_free(struct call *c)
{
	json_decref(c->number);
	free(c->doc_url);
	twiml_free(c->doc);
	free(c->wait_url);
	free(c->wait_method);
	free(c->wait_doc_url);
	twiml_free(c->wait_doc);
	free(c->post_work_activity_sid);
	free(c->status_callback_url);
	free(c);
}

void calls_free(struct node *n)
{
	struct calls_state *s = n->calls;
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		call_free(s->v[i]);
	free(s->v);
	swb_map_free(s->by_sid);
	while (s->fetches) {
		struct fetch *f = s->fetches;
		s->fetches = f->next;
		if (f->free_arg)
			f->free_arg(f->arg);
		free(f);
	}
	size_t pos = 0;
	void *v;
	while (swb_map_next(s->numbers, &pos, NULL, &v)) {
		json_decref(((struct numcache *)v)->numbers);
		free(v);
	}
	swb_map_free(s->numbers);
	free(s);
	n->calls = NULL;
}

struct call *calls_find(struct node *n, const char *ws_sid, const char *sid)
{
	struct call *c = sid ? swb_map_get(state(n)->by_sid, sid) : NULL;
	return c && (!ws_sid || strcmp(c->ws_sid, ws_sid) == 0) ? c : NULL;
}

static struct call *call_new(struct node *n, const char *ws_sid, const char *from, const char *to, bool outbound)
{
	struct calls_state *s = state(n);
	struct call *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	swb_sid_make(&s->rng, "CA", c->sid);
	snprintf(c->ws_sid, sizeof c->ws_sid, "%s", ws_sid);
	snprintf(c->from, sizeof c->from, "%s", from ? from : "");
	snprintf(c->to, sizeof c->to, "%s", to ? to : "");
	c->outbound = outbound;
	c->status = CALL_RINGING;
	c->created = c->updated = swb_wall_ms();
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (!s->v)
			abort();
	}
	s->v[s->n++] = c;
	if (swb_map_put(s->by_sid, c->sid, c) != 0)
		abort();
	return c;
}

/* Wakes c on the next tick (the node's loop runs calls_tick right after the current work). */
static void kick(struct call *c)
{
	if (c->status != CALL_COMPLETED && !c->wake_at)
		c->wake_at = 1;
}

/* ---- outbound requests ---- */

static void put_encoded(FILE *f, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
			fputc(*p, f);
		else
			fprintf(f, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
}

/* application/x-www-form-urlencoded, the way Twilio posts webhooks. Returns a malloc'd string. */
static char *form_encode(json_t *params)
{
	char *out;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		abort();
	const char *k;
	json_t *v;
	bool first = true;
	json_object_foreach(params, k, v) {
		char num[32];
		const char *s = json_string_value(v);
		if (json_is_integer(v)) {
			snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
			s = num;
		}
		if (!s)
			continue;
		if (!first)
			fputc('&', f);
		first = false;
		put_encoded(f, k);
		fputc('=', f);
		put_encoded(f, s);
	}
	fclose(f);
	return out;
}

static void fetch_unlink(struct calls_state *s, struct fetch *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		s->fetches = f->next;
	if (f->next)
		f->next->prev = f->prev;
}

static void fetch_finish(struct node *n, struct fetch *f, int status, const char *body, size_t len)
{
	fetch_unlink(state(n), f);
	if (f->done)
		f->done(n, f->arg, status, body ? body : "", body ? len : 0);
	if (f->free_arg)
		f->free_arg(f->arg);
	free(f);
}

static void fetch_done(struct node *n, void *ctx, int status, const char *body, size_t len)
{
	fetch_finish(n, ctx, status, body, len);
}

bool calls_url_ok(const char *url)
{
	return url && strlen(url) < CALLS_URL_MAX &&
	       ((strncmp(url, "http://", 7) == 0 && url[7]) || (strncmp(url, "https://", 8) == 0 && url[8]));
}

void calls_request(struct node *n, const char *method, const char *url, json_t *params, int timeout_ms,
		   calls_done_fn done, void *arg, void (*free_arg)(void *))
{
	struct calls_state *s = state(n);
	struct fetch *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->done = done;
	f->arg = arg;
	f->free_arg = free_arg;
	f->next = s->fetches;
	if (f->next)
		f->next->prev = f;
	s->fetches = f;
	char *body = form_encode(params);
	bool get = method && strcmp(method, "GET") == 0;
	char *full = NULL;
	if (get && asprintf(&full, "%s%s%s", url, strchr(url, '?') ? "&" : "?", body) < 0)
		abort();
	swb_debug("%s %s", get ? "GET" : "POST", url);
	if (node_http_call(n, get ? "GET" : "POST", get ? full : url,
			   get ? NULL : "application/x-www-form-urlencoded", NULL, get ? "" : body,
			   get ? 0 : strlen(body), timeout_ms, fetch_done, f) != 0)
		f->not_started = true;
	free(full);
	free(body);
}

/* The parameters Twilio sends with every request about a call; extra (borrowed) is merged in. */
static json_t *call_params(struct node *n, const struct call *c, json_t *extra)
{
	const char *st = c->status == CALL_RINGING ? "ringing" : c->status == CALL_COMPLETED ? "completed" : "in-progress";
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "AccountSid", n->account_sid, "CallSid",
			      c->sid, "From", c->from, "To", c->to, "Caller", c->from, "Called", c->to, "CallStatus", st,
			      "Direction", c->outbound ? "outbound-api" : "inbound", "ApiVersion", "2010-04-01");
	if (c->parent_sid[0])
		json_object_set_new(p, "ParentCallSid", json_string(c->parent_sid));
	if (extra)
		json_object_update(p, extra);
	return p;
}

/* Resolves ref against base (a URL or "inline:NAME") into a new string: a URL or "inline:NAME". */
static char *resolve(const char *base, const char *ref)
{
	char *out = NULL;
	if (!ref || !*ref || strlen(ref) >= CALLS_URL_MAX)
		return NULL;
	if (strncmp(ref, "inline:", 7) == 0)
		return xstrdup(ref);
	if (strncmp(ref, "http://", 7) == 0 || strncmp(ref, "https://", 8) == 0)
		return calls_url_ok(ref) ? xstrdup(ref) : NULL;
	if (!base || strncmp(base, "inline:", 7) == 0) {
		/* inline documents name each other; anything with a scheme or a slash is not a name */
		if (strpbrk(ref, ":/?# "))
			return NULL;
		if (asprintf(&out, "inline:%s", ref) < 0)
			abort();
		return out;
	}
	const char *auth = strstr(base, "://") + 3;
	size_t root = strcspn(auth, "/?#") + (size_t)(auth - base);
	if (ref[0] == '/') {
		if (asprintf(&out, "%.*s%s", (int)root, base, ref) < 0)
			abort();
	} else {
		size_t pathend = root + strcspn(base + root, "?#");
		size_t dir = pathend;
		while (dir > root && base[dir - 1] != '/')
			dir--;
		if (dir == root) {
			if (asprintf(&out, "%.*s/%s", (int)root, base, ref) < 0)
				abort();
		} else if (asprintf(&out, "%.*s%s", (int)dir, base, ref) < 0)
			abort();
	}
	if (strlen(out) >= CALLS_URL_MAX) {
		free(out);
		return NULL;
	}
	return out;
}

/* Fire and forget: the Enqueue action after a hang-up, status callbacks. Inline documents get nothing. */
static void notify(struct node *n, const struct call *c, const char *base, const char *ref, const char *method,
		   json_t *extra)
{
	char *url = resolve(base, ref);
	if (url && strncmp(url, "inline:", 7) != 0) {
		json_t *p = call_params(n, c, extra);
		calls_request(n, method ? method : "POST", url, p, CALLS_WEBHOOK_TIMEOUT_MS, NULL, NULL, NULL);
		json_decref(p);
	}
	free(url);
}

/* ---- numbers ---- */

static bool number_key_ok(const char *k)
{
	static const char *const keys[] = { "phone_number", "friendly_name", "voice_url", "voice_method",
					    "voice_fallback_url", "voice_fallback_method", "twiml", "documents", NULL };
	for (const char *const *p = keys; *p; p++)
		if (strcmp(*p, k) == 0)
			return true;
	return false;
}

static bool doc_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return false;
	return true;
}

struct checker {
	void (*report)(void *ctx, const char *msg);
	void *ctx;
	int problems;
	char place[160];
};

static void problem(struct checker *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct checker *k, const char *fmt, ...)
{
	char msg[SWB_ERR_MSG_MAX * 2];
	int off = snprintf(msg, sizeof msg, "%s: ", k->place);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + off, sizeof msg - (size_t)off, fmt, ap);
	va_end(ap);
	k->problems++;
	if (k->report)
		k->report(k->ctx, msg);
}

static void check_twiml(struct checker *k, const char *what, json_t *v)
{
	struct twiml_doc *doc;
	struct swb_err err;
	if (!json_is_string(v)) {
		problem(k, "%s: must be a TwiML document in a string", what);
		return;
	}
	if (twiml_parse(json_string_value(v), json_string_length(v), &doc, &err) != SWB_OK) {
		problem(k, "%s: %s", what, err.msg);
		return;
	}
	twiml_free(doc);
}

static void check_method(struct checker *k, json_t *num, const char *key)
{
	json_t *m = json_object_get(num, key);
	if (m && (!json_is_string(m) || (strcmp(json_string_value(m), "GET") != 0 &&
					 strcmp(json_string_value(m), "POST") != 0)))
		problem(k, "'%s' must be GET or POST", key);
}

static void check_number(struct checker *k, json_t *num, json_t *seen)
{
	const char *key;
	json_t *v;
	json_object_foreach(num, key, v) {
		if (!number_key_ok(key))
			problem(k, "unknown field '%s'", key);
	}
	json_t *pn = json_object_get(num, "phone_number");
	if (!json_is_string(pn) || json_string_length(pn) == 0 || json_string_length(pn) >= CALLS_ADDR_MAX)
		problem(k, "'phone_number' must be a string of 1..%d characters", CALLS_ADDR_MAX - 1);
	else if (json_object_get(seen, json_string_value(pn)))
		problem(k, "'phone_number' %s is listed twice", json_string_value(pn));
	else
		json_object_set_new(seen, json_string_value(pn), json_true());
	json_t *fn = json_object_get(num, "friendly_name");
	if (fn && !json_is_string(fn))
		problem(k, "'friendly_name' must be a string");
	json_t *url = json_object_get(num, "voice_url"), *twiml = json_object_get(num, "twiml");
	if (!url == !twiml)
		problem(k, "give exactly one of 'voice_url' (a webhook) and 'twiml' (an inline document)");
	if (url && !calls_url_ok(json_string_value(url)))
		problem(k, "'voice_url' must be an http:// or https:// URL");
	json_t *fb = json_object_get(num, "voice_fallback_url");
	if (fb && !calls_url_ok(json_string_value(fb)))
		problem(k, "'voice_fallback_url' must be an http:// or https:// URL");
	check_method(k, num, "voice_method");
	check_method(k, num, "voice_fallback_method");
	if (twiml)
		check_twiml(k, "twiml", twiml);
	json_t *docs = json_object_get(num, "documents");
	if (docs && !json_is_object(docs)) {
		problem(k, "'documents' must be an object of name: TwiML");
		return;
	}
	json_object_foreach(docs, key, v) {
		char what[96];
		snprintf(what, sizeof what, "documents.%.64s", key);
		if (!doc_name_ok(key))
			problem(k, "document name '%.64s': use 1..64 letters, digits, '-', '_' or '.'", key);
		else
			check_twiml(k, what, v);
	}
}

int calls_numbers_check(json_t *numbers, void (*report)(void *ctx, const char *msg), void *ctx)
{
	struct checker k = { .report = report, .ctx = ctx };
	if (!numbers)
		return 0;
	snprintf(k.place, sizeof k.place, "numbers");
	if (!json_is_array(numbers)) {
		problem(&k, "must be an array");
		return k.problems;
	}
	if (json_array_size(numbers) > CALLS_MAX_NUMBERS) {
		problem(&k, "more than %d numbers", CALLS_MAX_NUMBERS);
		return k.problems;
	}
	json_t *seen = json_object();
	size_t i;
	json_t *num;
	json_array_foreach(numbers, i, num) {
		json_t *pn = json_object_get(num, "phone_number");
		if (json_is_string(pn))
			snprintf(k.place, sizeof k.place, "numbers[%zu] '%.64s'", i, json_string_value(pn));
		else
			snprintf(k.place, sizeof k.place, "numbers[%zu]", i);
		if (!json_is_object(num))
			problem(&k, "must be an object");
		else
			check_number(&k, num, seen);
	}
	json_decref(seen);
	return k.problems;
}

static void log_number_problem(void *ctx, const char *msg)
{
	swb_warn("%s: %s", (const char *)ctx, msg);
}

/* The "numbers" of the document that built w: the first line of its journal (the H record). */
static json_t *journal_numbers(struct wspace *w)
{
	char path[sizeof w->dir + 16];
	snprintf(path, sizeof path, "%s/journal", w->dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len = getline(&line, &cap, f);
	fclose(f);
	json_t *numbers = NULL;
	json_error_t je;
	json_t *rec = len > 0 ? json_loadb(line, (size_t)len, 0, &je) : NULL;
	numbers = json_incref(json_object_get(json_object_get(rec, "workspace"), "numbers"));
	json_decref(rec);
	free(line);
	return numbers;
}

/*
 * The numbers of workspace w (borrowed). The default workspace of a node run
 * with --config follows that file (re-read when it changes, kept when the new
 * section is bad); every other workspace keeps the document it was made from.
 */
static json_t *ws_numbers(struct node *n, struct wspace *w)
{
	struct calls_state *s = state(n);
	struct numcache *nc = swb_map_get(s->numbers, w->sid);
	if (!nc) {
		nc = calloc(1, sizeof *nc);
		if (!nc || swb_map_put(s->numbers, w->sid, nc) != 0)
			abort();
	}
	const char *cfg = n->opts.config_path;
	struct stat st;
	if (w == n->ws[0] && cfg && strcmp(cfg, "-") != 0 && stat(cfg, &st) == 0) {
		if (nc->loaded && st.st_mtim.tv_sec == nc->mtime.tv_sec && st.st_mtim.tv_nsec == nc->mtime.tv_nsec)
			return nc->numbers;
		nc->mtime = st.st_mtim;
		nc->loaded = true;
		struct swb_err err;
		json_t *doc = swb_workspace_read(cfg, &err);
		json_t *numbers = json_object_get(doc, "numbers");
		if (!doc)
			swb_warn("calls: %s; keeping the numbers read before", err.msg);
		else if (calls_numbers_check(numbers, log_number_problem, (void *)cfg) == 0) {
			json_decref(nc->numbers);
			nc->numbers = json_incref(numbers);
		} else
			swb_warn("calls: %s has bad numbers; keeping the ones read before", cfg);
		json_decref(doc);
		return nc->numbers;
	}
	if (!nc->loaded) {
		nc->loaded = true;
		nc->numbers = journal_numbers(w);
		if (!nc->numbers && w == n->ws[0] && !cfg) {
			json_t *doc = swb_workspace_read(NULL, NULL);
			nc->numbers = json_incref(json_object_get(doc, "numbers"));
			json_decref(doc);
		}
	}
	return nc->numbers;
}

/* ---- representation ---- */

static json_t *jdate(int64_t ms)
{
	char buf[SWB_ISO_SIZE];
	if (!ms)
		return json_null();
	swb_iso8601(ms, buf);
	return json_string(buf);
}

static json_t *jsid(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

static json_t *call_rep(struct node *n, const struct call *c)
{
	int64_t end = c->ended ? c->ended : swb_wall_ms();
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "sid", c->sid, "account_sid",
			      n->account_sid, "workspace_sid", c->ws_sid, "from", c->from, "to", c->to, "status",
			      status_names[c->status], "direction", c->outbound ? "outbound-api" : "inbound",
			      "date_created", jdate(c->created), "date_updated", jdate(c->updated), "start_time",
			      jdate(c->answered), "end_time", jdate(c->ended));
	json_object_set_new(j, "duration", c->answered ? json_integer((end - c->answered) / 1000) : json_null());
	json_object_set_new(j, "parent_call_sid", jsid(c->parent_sid));
	json_object_set_new(j, "task_sid", jsid(c->task_sid));
	json_object_set_new(j, "worker_sid", jsid(c->worker_sid));
	json_object_set_new(j, "reservation_sid", jsid(c->reservation_sid));
	json_object_set_new(j, "connected_call_sid", jsid(c->peer_sid));
	json_object_set_new(j, "conference_sid", jsid(c->conference_sid));
	json_object_set_new(j, "queue_result", jsid(c->queue_result));
	json_object_set_new(j, "queue_time", c->queued_at ? json_integer(c->queue_result[0] ? c->queue_time_s :
									 (end - c->queued_at) / 1000) :
							    json_null());
	json_object_set_new(j, "end_reason", jsid(c->end_reason));
	json_t *fn = json_object_get(c->number, "friendly_name");
	json_object_set_new(j, "number_friendly_name", json_is_string(fn) ? json_copy(fn) : json_null());
	return j;
}

/* ---- the task a call carries ---- */

static struct wspace *ws_of(struct node *n, const struct call *c)
{
	return node_ws_find(n, c->ws_sid);
}

/* The task's assignment_status ("" when the task is gone). */
static void task_status(struct wspace *w, const char *task_sid, char *out, size_t len, char *queue_sid, size_t qlen)
{
	json_t *t = NULL, *args = json_pack("{s:s}", "sid", task_sid);
	out[0] = '\0';
	if (queue_sid)
		queue_sid[0] = '\0';
	if (w && node_exec(w, swb_wall_ms(), NULL, "tasks.fetch", args, &t, NULL) == SWB_OK) {
		snprintf(out, len, "%s", json_string_value(json_object_get(t, "assignment_status")));
		if (queue_sid && json_is_string(json_object_get(t, "task_queue_sid")))
			snprintf(queue_sid, qlen, "%s", json_string_value(json_object_get(t, "task_queue_sid")));
	}
	json_decref(t);
	json_decref(args);
}

static void core_change(struct wspace *w, const char *op, json_t *args, const char *what)
{
	struct swb_err err;
	if (node_exec(w, swb_wall_ms(), NULL, op, args, NULL, &err) != SWB_OK)
		swb_warn("calls: %s: %s", what, err.msg);
	json_decref(args);
}

/* The caller is gone before anyone took the call: the task is canceled, with the reason. */
static void cancel_task(struct node *n, struct call *c, const char *reason)
{
	struct wspace *w = ws_of(n, c);
	char st[16];
	task_status(w, c->task_sid, st, sizeof st, NULL, 0);
	if (strcmp(st, "pending") == 0 || strcmp(st, "reserved") == 0) {
		core_change(w, "tasks.update",
			    json_pack("{s:s, s:s, s:s}", "sid", c->task_sid, "assignment_status", "canceled", "reason", reason),
			    "canceling the task");
		swb_info("call %s: task %s canceled (%s)", c->sid, c->task_sid, reason);
	}
}

/* The call that carried a task ended: an assigned task moves to wrapping, a waiting one is canceled;
 * the worker moves to the post-work activity. */
static void finish_task(struct node *n, struct call *c)
{
	struct wspace *w = ws_of(n, c);
	if (!c->task_sid[0] || !w)
		return;
	char st[16];
	task_status(w, c->task_sid, st, sizeof st, NULL, 0);
	if (strcmp(st, "pending") == 0 || strcmp(st, "reserved") == 0)
		cancel_task(n, c, "hangup");
	else if (strcmp(st, "assigned") == 0)
		core_change(w, "tasks.update", json_pack("{s:s, s:s}", "sid", c->task_sid, "assignment_status", "wrapping"),
			    "moving the task to wrapping");
	if (c->worker_sid[0] && c->post_work_activity_sid)
		core_change(w, "workers.update",
			    json_pack("{s:s, s:s}", "sid", c->worker_sid, "activity_sid", c->post_work_activity_sid),
			    "moving the worker to its post-work activity");
	c->task_sid[0] = '\0';
}

/* ---- the queue ---- */

static const struct twiml_verb *enqueue_verb(const struct call *c)
{
	return c->doc && c->pc < c->doc->nverbs && c->doc->verbs[c->pc].kind == TWIML_ENQUEUE ? &c->doc->verbs[c->pc] :
												  NULL;
}

#define QUEUES_REFRESH_MS 1000 /* how stale another caller's queue may be in QueuePosition */

/* Looks up the task queue of every queued call (at most once per QUEUES_REFRESH_MS). */
static void refresh_queues(struct node *n, struct calls_state *s, int64_t now)
{
	if (now - s->queues_at < QUEUES_REFRESH_MS)
		return;
	s->queues_at = now;
	char st[16];
	for (size_t i = 0; i < s->n; i++) {
		struct call *o = s->v[i];
		if (o->status == CALL_QUEUED)
			task_status(ws_of(n, o), o->task_sid, st, sizeof st, o->queue_sid, sizeof o->queue_sid);
	}
}

/*
 * QueueSid (the task queue the task waits in), QueueTime, QueuePosition, CurrentQueueSize, TaskSid.
 * The others' queues come from a lookup at most a second old, so that every caller's wait document
 * costs one task lookup, not one per caller on hold.
 */
static json_t *queue_params(struct node *n, struct call *c)
{
	struct calls_state *s = state(n);
	char st[16];
	int64_t now = swb_wall_ms();
	refresh_queues(n, s, now);
	task_status(ws_of(n, c), c->task_sid, st, sizeof st, c->queue_sid, sizeof c->queue_sid);
	int position = 1, size = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct call *o = s->v[i];
		if (o->status != CALL_QUEUED || strcmp(o->ws_sid, c->ws_sid) != 0 || strcmp(o->queue_sid, c->queue_sid) != 0)
			continue;
		size++;
		if (o != c && (o->queued_at < c->queued_at || (o->queued_at == c->queued_at && strcmp(o->sid, c->sid) < 0)))
			position++;
	}
	return json_pack("{s:s, s:I, s:i, s:i, s:s, s:s}", "QueueSid", c->queue_sid, "QueueTime",
			 (json_int_t)((now - c->queued_at) / 1000), "QueuePosition", position, "CurrentQueueSize", size,
			 "AvgQueueTime", "0", "TaskSid", c->task_sid);
}

static void stop_waiting(struct call *c)
{
	c->token++;
	c->fetching = false;
	c->wake_at = 0;
	c->gather_waiting = false;
	twiml_free(c->wait_doc);
	c->wait_doc = NULL;
	c->wait_pc = 0;
	free(c->wait_doc_url);
	c->wait_doc_url = NULL;
}

/*
 * The call leaves the queue with QueueResult result. Unless it was redirected
 * (the task goes on with it), a task still waiting is canceled (one already
 * accepted moves to wrapping when the caller hung up). The Enqueue
 * action is requested (its TwiML runs next when the caller is still there, and
 * not redirected); without one the call goes on with the next verb.
 */
static void leave_queue(struct node *n, struct call *c, const char *result, const char *why)
{
	int64_t now = swb_wall_ms();
	const struct twiml_verb *enq = enqueue_verb(c);
	bool live = c->status != CALL_COMPLETED, redirected = strcmp(result, "redirected") == 0;
	stop_waiting(c);
	snprintf(c->queue_result, sizeof c->queue_result, "%s", result);
	c->queue_time_s = (now - c->queued_at) / 1000;
	swb_info("call %s left the queue: %s after %llds%s%s", c->sid, result, (long long)c->queue_time_s,
		 why ? ": " : "", why ? why : "");
	char st[16], qsid[SWB_SID_SIZE] = "";
	if (c->task_sid[0])
		task_status(ws_of(n, c), c->task_sid, st, sizeof st, qsid, sizeof qsid);
	json_t *extra = json_pack("{s:s, s:s, s:I, s:s}", "QueueResult", result, "QueueSid", qsid, "QueueTime",
				  (json_int_t)c->queue_time_s, "TaskSid", c->task_sid);
	if (!redirected && c->task_sid[0] && !live) {
		finish_task(n, c); /* hung up: a waiting task is canceled, an accepted one wraps up */
	} else if (!redirected && c->task_sid[0]) {
		cancel_task(n, c, result);
		c->task_sid[0] = '\0';
	}
	if (live)
		c->status = CALL_IN_PROGRESS;
	if (enq && enq->action && live && !redirected)
		fetch_doc(n, c, enq->action, enq->method, extra, DOC_MAIN, false);
	else {
		if (enq && enq->action)
			notify(n, c, c->doc_url, enq->action, enq->method, extra);
		if (live && !redirected)
			c->pc++;
	}
	json_decref(extra);
	c->updated = now;
	kick(c);
}

static void enqueue(struct node *n, struct call *c, const struct twiml_verb *v)
{
	struct wspace *w = ws_of(n, c);
	int64_t now = swb_wall_ms();
	json_t *attrs = v->task ? json_deep_copy(v->task) : json_object();
	json_object_set_new(attrs, "call_sid", json_string(c->sid));
	static const char *const keys[] = { "from", "to", "caller", "called" };
	const char *vals[] = { c->from, c->to, c->from, c->to };
	for (size_t i = 0; i < 4; i++)
		if (!json_object_get(attrs, keys[i]))
			json_object_set_new(attrs, keys[i], json_string(vals[i]));
	if (!json_object_get(attrs, "direction"))
		json_object_set_new(attrs, "direction", json_string(c->outbound ? "outbound-api" : "inbound"));
	if (!json_object_get(attrs, "account_sid"))
		json_object_set_new(attrs, "account_sid", json_string(n->account_sid));
	json_t *args = json_pack("{s:s, s:o, s:s}", "workflow_sid", v->workflow_sid, "attributes", attrs, "task_channel",
				 "voice");
	if (v->has_priority)
		json_object_set_new(args, "priority", json_integer(v->priority));
	if (v->has_task_timeout)
		json_object_set_new(args, "timeout", json_integer(v->task_timeout));
	json_t *task = NULL;
	struct swb_err err = { 0 };
	enum swb_code rc = w ? node_exec(w, now, NULL, "tasks.create", args, &task, &err) : SWB_ENOTFOUND;
	json_decref(args);
	c->status = CALL_QUEUED;
	c->queued_at = now;
	if (rc != SWB_OK) {
		swb_warn("call %s: <Enqueue workflowSid=\"%s\">: %s", c->sid, v->workflow_sid,
			 w ? err.msg : "the workspace is gone");
		leave_queue(n, c, "error", "the task could not be created");
		return;
	}
	snprintf(c->task_sid, sizeof c->task_sid, "%s", json_string_value(json_object_get(task, "sid")));
	json_decref(task);
	free(c->wait_url);
	free(c->wait_method);
	c->wait_url = v->wait_url ? resolve(c->doc_url, v->wait_url) : NULL;
	c->wait_method = xstrdup(v->wait_method ? v->wait_method : "POST");
	c->wait_fetched_at = 0;
	swb_info("call %s queued as task %s (workflow '%s')", c->sid, c->task_sid, v->workflow_sid);
	if (v->wait_url && !c->wait_url)
		leave_queue(n, c, "error", "waitUrl is not a usable URL");
}

/* ---- bridges ---- */

/* Connects caller (waiting in the queue) and the worker's leg. */
static void connect_legs(struct call *caller, struct call *leg, const char *worker_sid, const char *reservation_sid,
			 const char *post_work, bool conference, swb_rng *rng)
{
	int64_t now = swb_wall_ms();
	stop_waiting(caller);
	snprintf(caller->queue_result, sizeof caller->queue_result, "bridged");
	caller->queue_time_s = (now - caller->queued_at) / 1000;
	caller->status = leg->status = CALL_BRIDGED;
	caller->bridged_at = leg->bridged_at = now;
	caller->updated = leg->updated = now;
	snprintf(caller->peer_sid, sizeof caller->peer_sid, "%s", leg->sid);
	snprintf(leg->peer_sid, sizeof leg->peer_sid, "%s", caller->sid);
	snprintf(caller->worker_sid, sizeof caller->worker_sid, "%s", worker_sid);
	snprintf(leg->worker_sid, sizeof leg->worker_sid, "%s", worker_sid);
	snprintf(caller->reservation_sid, sizeof caller->reservation_sid, "%s", reservation_sid);
	snprintf(leg->reservation_sid, sizeof leg->reservation_sid, "%s", reservation_sid);
	if (post_work)
		set_str(&caller->post_work_activity_sid, post_work);
	if (conference) {
		swb_sid_make(rng, "CF", caller->conference_sid);
		snprintf(leg->conference_sid, sizeof leg->conference_sid, "%s", caller->conference_sid);
	}
	swb_info("call %s %s worker %s on %s (%s)", caller->sid, conference ? "in a conference with" : "bridged to",
		 worker_sid, leg->to, leg->sid);
}

void calls_bridge(struct node *n, struct call *caller, const char *worker_sid, const char *reservation_sid,
		  const struct calls_bridge_opts *o)
{
	struct call *leg = call_new(n, caller->ws_sid, o->from, o->to, true);
	leg->answered = swb_wall_ms();
	snprintf(leg->parent_sid, sizeof leg->parent_sid, "%s", caller->sid);
	if (o->status_callback_url)
		leg->status_callback_url = xstrdup(o->status_callback_url);
	connect_legs(caller, leg, worker_sid, reservation_sid, o->post_work_activity_sid, o->conference, &state(n)->rng);
}

/*
 * The bridge between caller and leg ends because `gone` hung up. The worker's
 * leg ends too (a <Dial> leg goes on with its next verb); the task moves to
 * wrapping; the caller, if still there, goes on with the Enqueue action
 * (QueueResult bridged) or its next verb.
 */
static void bridge_end(struct node *n, struct call *caller, struct call *leg, struct call *gone)
{
	if (leg) {
		leg->peer_sid[0] = '\0';
		if (leg != gone && leg->dialing) {
			leg->dialing = false;
			leg->status = CALL_IN_PROGRESS;
			leg->pc++;
			kick(leg);
		} else if (leg != gone) {
			leg->status = CALL_IN_PROGRESS;
			call_end(n, leg, "the caller hung up");
		} else {
			leg->dialing = false;
		}
	}
	caller->peer_sid[0] = '\0';
	char st[16], qsid[SWB_SID_SIZE] = "";
	if (caller->task_sid[0])
		task_status(ws_of(n, caller), caller->task_sid, st, sizeof st, qsid, sizeof qsid);
	json_t *extra = json_pack("{s:s, s:s, s:I, s:s}", "QueueResult", "bridged", "QueueSid", qsid, "QueueTime",
				  (json_int_t)caller->queue_time_s, "TaskSid", caller->task_sid);
	finish_task(n, caller);
	const struct twiml_verb *enq = enqueue_verb(caller);
	if (caller != gone) {
		caller->status = CALL_IN_PROGRESS;
		if (enq && enq->action)
			fetch_doc(n, caller, enq->action, enq->method, extra, DOC_MAIN, false);
		else
			caller->pc++;
		kick(caller);
	} else if (enq && enq->action) {
		notify(n, caller, caller->doc_url, enq->action, enq->method, extra);
	}
	json_decref(extra);
}

static void status_callback(struct node *n, const struct call *c)
{
	if (!c->status_callback_url)
		return;
	int64_t dur = c->answered ? (c->ended - c->answered) / 1000 : 0;
	json_t *extra = json_pack("{s:I, s:I}", "CallDuration", (json_int_t)dur, "Timestamp", (json_int_t)(c->ended / 1000));
	notify(n, c, NULL, c->status_callback_url, "POST", extra);
	json_decref(extra);
}

/* Ends leg c with reason; everything attached to it (queue, bridge, task) is settled first. */
static void call_end(struct node *n, struct call *c, const char *reason)
{
	if (c->status == CALL_COMPLETED)
		return;
	enum call_status was = c->status;
	int64_t now = swb_wall_ms();
	c->status = CALL_COMPLETED;
	c->ended = c->updated = now;
	snprintf(c->end_reason, sizeof c->end_reason, "%s", reason);
	if (was == CALL_QUEUED) {
		leave_queue(n, c, "hangup", NULL);
	} else if (was == CALL_BRIDGED) {
		struct call *peer = calls_find(n, c->ws_sid, c->peer_sid);
		if (c->outbound && peer && !peer->outbound)
			bridge_end(n, peer, c, c);
		else if (!c->outbound)
			bridge_end(n, c, peer, c);
		else if (peer) /* a <Dial> leg of ours bridged another worker leg: unusual, settle both */
			bridge_end(n, c, peer, c);
	} else if (c->task_sid[0]) {
		finish_task(n, c);
	}
	stop_waiting(c);
	twiml_free(c->doc);
	c->doc = NULL;
	c->dialing = false;
	if (c->outbound)
		status_callback(n, c);
	swb_info("call %s ended: %s", c->sid, reason);
}

/* ---- documents ---- */

static void apply_doc(struct node *n, struct call *c, enum purpose purpose, const char *url, struct twiml_doc *doc)
{
	int64_t now = swb_wall_ms();
	if (purpose == DOC_WAIT) {
		twiml_free(c->wait_doc);
		c->wait_doc = doc;
		c->wait_pc = 0;
		set_str(&c->wait_doc_url, url);
		return;
	}
	twiml_free(c->doc);
	c->doc = doc;
	c->pc = 0;
	set_str(&c->doc_url, url);
	if (c->status == CALL_RINGING) {
		c->status = CALL_IN_PROGRESS;
		c->answered = now;
	}
	c->updated = now;
}

static void docreq_free(void *p)
{
	struct docreq *d = p;
	free(d->url);
	free(d);
}

/* A document could not be had: the voice fallback, else the call ends (or, waiting, leaves the queue). */
static void doc_failed(struct node *n, struct call *c, enum purpose purpose, bool voice_url, const char *why)
{
	if (purpose == DOC_WAIT) {
		leave_queue(n, c, "error", why);
		return;
	}
	json_t *fb = voice_url ? json_object_get(c->number, "voice_fallback_url") : NULL;
	if (json_is_string(fb)) {
		swb_warn("call %s: %s; trying the number's voice_fallback_url", c->sid, why);
		const char *m = json_string_value(json_object_get(c->number, "voice_fallback_method"));
		fetch_doc(n, c, json_string_value(fb), m, NULL, DOC_MAIN, false);
		return;
	}
	char reason[sizeof c->end_reason];
	snprintf(reason, sizeof reason, "application error: %s", why);
	swb_warn("call %s: %s", c->sid, reason);
	call_end(n, c, reason);
}

static void doc_reply(struct node *n, void *arg, int status, const char *body, size_t len)
{
	struct docreq *d = arg;
	struct call *c = calls_find(n, d->ws_sid, d->call_sid);
	if (!c || c->token != d->token || c->status == CALL_COMPLETED)
		return; /* the call moved on: a stale answer */
	c->fetching = false;
	char why[SWB_ERR_MSG_MAX + 160];
	struct twiml_doc *doc = NULL;
	struct swb_err err;
	if (status < 200 || status > 299) {
		if (status)
			snprintf(why, sizeof why, "%.100s answered HTTP %d", d->url, status);
		else
			snprintf(why, sizeof why, "%.100s did not answer", d->url);
		doc_failed(n, c, d->purpose, d->voice_url, why);
	} else if (twiml_parse(body, len, &doc, &err) != SWB_OK) {
		snprintf(why, sizeof why, "%.100s: %s", d->url, err.msg);
		doc_failed(n, c, d->purpose, d->voice_url, why);
	} else {
		apply_doc(n, c, d->purpose, d->url, doc);
	}
	run(n, c);
}

/*
 * Loads the document ref names (relative to the running document) into c for
 * purpose: an inline document at once, a URL by a request whose answer
 * continues the call. extra (borrowed) joins the request's parameters.
 */
static void fetch_doc(struct node *n, struct call *c, const char *ref, const char *method, json_t *extra,
		      enum purpose purpose, bool voice_url)
{
	const char *base = purpose == DOC_WAIT && c->wait_doc_url ? c->wait_doc_url : c->doc_url;
	char *url = resolve(base, ref);
	char why[SWB_ERR_MSG_MAX + 96];
	if (!url) {
		snprintf(why, sizeof why, "'%.100s' is not a URL (or an inline document name) that can be requested",
			 ref ? ref : "");
		doc_failed(n, c, purpose, false, why);
		return;
	}
	json_t *params = call_params(n, c, extra);
	if (strncmp(url, "inline:", 7) == 0) {
		const char *name = url + 7;
		json_t *src = name[0] ? json_object_get(json_object_get(c->number, "documents"), name) :
					json_object_get(c->number, "twiml");
		struct swb_err err;
		struct twiml_doc *doc = NULL;
		char *text = json_is_string(src) ? twiml_expand(json_string_value(src), params, &err) : NULL;
		if (!json_is_string(src))
			snprintf(why, sizeof why, "no inline document '%.64s'", name);
		else if (!text || twiml_parse(text, strlen(text), &doc, &err) != SWB_OK)
			snprintf(why, sizeof why, "inline document '%.64s': %s", name, err.msg);
		free(text);
		json_decref(params);
		if (doc)
			apply_doc(n, c, purpose, url, doc);
		else
			doc_failed(n, c, purpose, false, why);
		free(url);
		return;
	}
	struct docreq *d = calloc(1, sizeof *d);
	if (!d)
		abort();
	snprintf(d->ws_sid, sizeof d->ws_sid, "%s", c->ws_sid);
	snprintf(d->call_sid, sizeof d->call_sid, "%s", c->sid);
	d->token = ++c->token;
	d->purpose = purpose;
	d->url = url;
	d->voice_url = voice_url;
	c->fetching = true;
	c->instant_steps = 0;
	calls_request(n, method ? method : "POST", url, params, CALLS_WEBHOOK_TIMEOUT_MS, doc_reply, d, docreq_free);
	json_decref(params);
}

/* ---- running TwiML ---- */

static bool busy(const struct call *c)
{
	return c->status == CALL_COMPLETED || c->status == CALL_BRIDGED || c->fetching || c->wake_at || c->dialing;
}

static int64_t verb_ms(const struct twiml_verb *v)
{
	switch (v->kind) {
	case TWIML_SAY: return v->loop ? (int64_t)SIM_SAY_MS * v->loop : INT64_MAX;
	case TWIML_PLAY: return v->loop ? (int64_t)SIM_PLAY_MS * v->loop : INT64_MAX;
	case TWIML_PAUSE: return (int64_t)v->length * 1000;
	default: return 0;
	}
}

static void wait_for(struct call *c, int64_t ms)
{
	if (ms <= 0)
		return;
	c->wake_at = ms == INT64_MAX ? INT64_MAX : swb_wall_ms() + ms;
	c->instant_steps = 0;
}

static void gather_submit(struct node *n, struct call *c, const struct twiml_verb *v, const char *digits, bool waiting)
{
	json_t *extra = json_pack("{s:s}", "Digits", digits);
	enum purpose p = waiting ? DOC_WAIT : DOC_MAIN;
	const char *self = waiting ? c->wait_doc_url : c->doc_url;
	fetch_doc(n, c, v->action ? v->action : self, v->method, extra, p, false);
	json_decref(extra);
}

/* <Gather>: takes the caller's next digits; none waits out the prompts and the timeout. */
static void gather(struct node *n, struct call *c, const struct twiml_verb *v, bool waiting)
{
	char got[CALLS_DIGITS_MAX + 1];
	size_t k = 0;
	while (c->digits[c->dpos]) {
		char ch = c->digits[c->dpos++];
		if (v->finish_on_key && ch == v->finish_on_key)
			break;
		got[k++] = ch;
		if (v->num_digits && k == (size_t)v->num_digits)
			break;
	}
	got[k] = '\0';
	if (k) {
		swb_debug("call %s pressed %s", c->sid, got);
		gather_submit(n, c, v, got, waiting);
		return;
	}
	int64_t ms = (int64_t)v->timeout * 1000;
	for (size_t i = 0; i < v->nchildren; i++) {
		int64_t d = verb_ms(&v->children[i]);
		ms = d == INT64_MAX || ms == INT64_MAX ? INT64_MAX : ms + d;
	}
	c->gather_waiting = true;
	wait_for(c, ms);
}

static void gather_timed_out(struct node *n, struct call *c)
{
	bool waiting = c->status == CALL_QUEUED;
	struct twiml_doc *doc = waiting ? c->wait_doc : c->doc;
	size_t *pc = waiting ? &c->wait_pc : &c->pc;
	c->gather_waiting = false;
	if (!doc || *pc >= doc->nverbs)
		return;
	const struct twiml_verb *v = &doc->verbs[*pc];
	if (v->action_on_empty)
		gather_submit(n, c, v, "", waiting);
	else
		(*pc)++;
}

/* <Dial><Queue reservationSid>: connects the call waiting for that reservation's task. */
static void dial_queue(struct node *n, struct call *c, const struct twiml_verb *v)
{
	struct wspace *w = ws_of(n, c);
	json_t *res = NULL, *task = NULL, *args = json_pack("{s:s}", "sid", v->reservation_sid);
	struct swb_err err = { 0 };
	const char *why = NULL;
	struct call *caller = NULL;
	if (!w || node_exec(w, swb_wall_ms(), NULL, "reservations.fetch", args, &res, &err) != SWB_OK)
		why = "no such reservation";
	json_decref(args);
	const char *rst = json_string_value(json_object_get(res, "reservation_status"));
	if (!why && strcmp(rst, "pending") != 0 && strcmp(rst, "accepted") != 0)
		why = "the reservation is no longer pending";
	if (!why) {
		args = json_pack("{s:O}", "sid", json_object_get(res, "task_sid"));
		node_exec(w, swb_wall_ms(), NULL, "tasks.fetch", args, &task, NULL);
		json_decref(args);
		json_error_t je;
		json_t *attrs = json_loads(json_string_value(json_object_get(task, "attributes")) ?: "{}", 0, &je);
		caller = calls_find(n, c->ws_sid, json_string_value(json_object_get(attrs, "call_sid")));
		json_decref(attrs);
		if (!caller || caller->status != CALL_QUEUED)
			why = "the reservation's task has no call waiting in the queue";
	}
	if (!why && strcmp(rst, "pending") == 0) {
		args = json_pack("{s:s, s:s}", "sid", v->reservation_sid, "reservation_status", "accepted");
		if (node_exec(w, swb_wall_ms(), NULL, "reservations.update", args, NULL, &err) != SWB_OK)
			why = err.msg;
		json_decref(args);
	}
	if (why) {
		swb_warn("call %s: <Dial><Queue reservationSid=\"%s\">: %s", c->sid, v->reservation_sid, why);
		c->pc++;
	} else {
		c->dialing = true;
		connect_legs(caller, c, json_string_value(json_object_get(res, "worker_sid")), v->reservation_sid,
			     v->post_work_activity_sid, false, &state(n)->rng);
	}
	json_decref(res);
	json_decref(task);
}

static void step_main(struct node *n, struct call *c)
{
	if (!c->doc || c->pc >= c->doc->nverbs) {
		call_end(n, c, "the document ended");
		return;
	}
	const struct twiml_verb *v = &c->doc->verbs[c->pc];
	switch (v->kind) {
	case TWIML_SAY:
	case TWIML_PLAY:
	case TWIML_PAUSE:
		c->pc++;
		wait_for(c, verb_ms(v));
		return;
	case TWIML_GATHER:
		gather(n, c, v, false);
		return;
	case TWIML_REDIRECT:
		fetch_doc(n, c, v->text, v->method, NULL, DOC_MAIN, false);
		return;
	case TWIML_HANGUP:
		call_end(n, c, "<Hangup>");
		return;
	case TWIML_ENQUEUE:
		enqueue(n, c, v);
		return;
	case TWIML_LEAVE: /* outside a queue there is nothing to leave */
		c->pc++;
		return;
	case TWIML_DIAL:
		dial_queue(n, c, v);
		return;
	case TWIML_NKINDS:
		break;
	}
	call_end(n, c, "unknown verb");
}

/* One step of the waitUrl document while the caller holds. False when there is nothing to do now. */
static bool step_wait(struct node *n, struct call *c)
{
	if (!c->wait_url)
		return false; /* the default hold music plays until something happens */
	if (!c->wait_doc || c->wait_pc >= c->wait_doc->nverbs) {
		int64_t due = c->wait_fetched_at + WAIT_REFETCH_MIN_MS, now = swb_wall_ms();
		if (now < due) {
			c->wake_at = due;
			return false;
		}
		c->wait_fetched_at = now;
		free(c->wait_doc_url);
		c->wait_doc_url = NULL;
		json_t *extra = queue_params(n, c);
		fetch_doc(n, c, c->wait_url, c->wait_method, extra, DOC_WAIT, false);
		json_decref(extra);
		return true;
	}
	const struct twiml_verb *v = &c->wait_doc->verbs[c->wait_pc];
	switch (v->kind) {
	case TWIML_SAY:
	case TWIML_PLAY:
	case TWIML_PAUSE:
		c->wait_pc++;
		wait_for(c, verb_ms(v));
		return true;
	case TWIML_GATHER:
		gather(n, c, v, true);
		return true;
	case TWIML_REDIRECT: {
		json_t *extra = queue_params(n, c);
		fetch_doc(n, c, v->text, v->method, extra, DOC_WAIT, false);
		json_decref(extra);
		return true;
	}
	case TWIML_HANGUP:
		call_end(n, c, "<Hangup> in the waitUrl document");
		return true;
	case TWIML_LEAVE:
		leave_queue(n, c, "leave", "<Leave>");
		return true;
	case TWIML_ENQUEUE:
	case TWIML_DIAL:
	case TWIML_NKINDS:
		break;
	}
	char why[96];
	snprintf(why, sizeof why, "<%s> is not allowed in a waitUrl document", twiml_kind_name(v->kind));
	leave_queue(n, c, "error", why);
	return true;
}

/* Runs c until it has to wait: for time, an answer, a worker, or the end. */
static void run(struct node *n, struct call *c)
{
	c->instant_steps = 0;
	while (!busy(c)) {
		if (++c->instant_steps > MAX_INSTANT_STEPS) {
			call_end(n, c, "application error: more than 100 verbs in a row without a pause (a redirect loop?)");
			return;
		}
		if (c->status == CALL_QUEUED) {
			if (!step_wait(n, c))
				return;
		} else {
			step_main(n, c);
		}
	}
}

/* ---- instructions (assignment.c) ---- */

void calls_redirect(struct node *n, struct call *c, const char *url, const char *post_work_activity_sid)
{
	if (c->status == CALL_QUEUED)
		leave_queue(n, c, "redirected", "the redirect instruction");
	if (post_work_activity_sid)
		set_str(&c->post_work_activity_sid, post_work_activity_sid);
	c->token++;
	c->wake_at = 0;
	c->gather_waiting = false;
	c->fetching = false;
	fetch_doc(n, c, url, "POST", NULL, DOC_MAIN, false);
	kick(c);
}

struct call *calls_dial_worker(struct node *n, const char *ws_sid, const char *worker_sid,
			       const char *reservation_sid, const char *from, const char *to, const char *url,
			       const char *status_callback_url)
{
	struct call *leg = call_new(n, ws_sid, from, to, true);
	snprintf(leg->worker_sid, sizeof leg->worker_sid, "%s", worker_sid);
	snprintf(leg->reservation_sid, sizeof leg->reservation_sid, "%s", reservation_sid);
	if (status_callback_url)
		leg->status_callback_url = xstrdup(status_callback_url);
	swb_info("call %s placed to worker %s at %s", leg->sid, worker_sid, to);
	fetch_doc(n, leg, url, "POST", NULL, DOC_MAIN, false);
	kick(leg);
	return leg;
}

/* ---- ops ---- */

static bool digits_ok(const char *s)
{
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != '*' && *s != '#')
			return false;
	return true;
}

static json_t *find_number(json_t *numbers, const char *to)
{
	size_t i;
	json_t *num;
	json_array_foreach(numbers, i, num) {
		const char *pn = json_string_value(json_object_get(num, "phone_number"));
		if (pn && strcmp(pn, to) == 0)
			return num;
	}
	return NULL;
}

static size_t live_calls(struct calls_state *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++)
		k += s->v[i]->status != CALL_COMPLETED;
	return k;
}

static enum swb_code op_create(struct node *n, struct wspace *w, const struct swb_actor *a, json_t *args,
			       json_t **result, struct swb_err *err)
{
	const char *from, *to;
	json_t *digits = NULL;
	json_error_t je;
	if (json_unpack_ex(args, &je, JSON_STRICT, "{s:s, s:s, s?o}", "from", &from, "to", &to, "digits", &digits) != 0)
		return swb_err_set(err, SWB_EINVAL, "calls.create: %s", je.text);
	char dbuf[CALLS_DIGITS_MAX + 1] = "";
	if (json_is_integer(digits) && json_integer_value(digits) >= 0)
		snprintf(dbuf, sizeof dbuf, "%lld", (long long)json_integer_value(digits));
	else if (json_is_string(digits) && json_string_length(digits) <= CALLS_DIGITS_MAX)
		snprintf(dbuf, sizeof dbuf, "%s", json_string_value(digits));
	else if (digits && !json_is_null(digits))
		return swb_err_set(err, SWB_EINVAL, "calls.create: 'digits' must be a string of up to %d keys (0-9 * #)",
				   CALLS_DIGITS_MAX);
	if (strlen(dbuf) > CALLS_DIGITS_MAX || !digits_ok(dbuf))
		return swb_err_set(err, SWB_EINVAL, "calls.create: 'digits' must be up to %d keys (0-9 * #)",
				   CALLS_DIGITS_MAX);
	if (!*from || strlen(from) >= CALLS_ADDR_MAX || !*to || strlen(to) >= CALLS_ADDR_MAX)
		return swb_err_set(err, SWB_EINVAL, "calls.create: 'from' and 'to' must be 1..%d characters",
				   CALLS_ADDR_MAX - 1);
	json_t *num = find_number(ws_numbers(n, w), to);
	if (!num)
		return swb_err_set(err, SWB_ENOTFOUND, "calls.create: the workspace has no number '%s' (see its \"numbers\")",
				   to);
	struct calls_state *s = state(n);
	if (s->n >= CALLS_MAX || live_calls(s) >= CALLS_MAX / 2)
		return swb_err_set(err, SWB_EUNAVAIL, "calls.create: too many calls (%zu kept); try again later", s->n);
	struct call *c = call_new(n, w->sid, from, to, false);
	c->number = json_incref(num);
	snprintf(c->digits, sizeof c->digits, "%s", dbuf);
	swb_info("call %s from %s to %s", c->sid, from, to);
	json_t *url = json_object_get(num, "voice_url");
	if (json_is_string(url)) {
		const char *m = json_string_value(json_object_get(num, "voice_method"));
		fetch_doc(n, c, json_string_value(url), m, NULL, DOC_MAIN, true);
	} else {
		fetch_doc(n, c, "inline:", "POST", NULL, DOC_MAIN, false);
	}
	run(n, c);
	*result = call_rep(n, c);
	return SWB_OK;
}

/* The call named by args.sid that actor a may see. */
static enum swb_code get_call(struct node *n, struct wspace *w, const struct swb_actor *a, json_t *args,
			      const char *op, struct call **out, struct swb_err *err)
{
	const char *sid;
	json_error_t je;
	if (json_unpack_ex(args, &je, JSON_STRICT, "{s:s}", "sid", &sid) != 0)
		return swb_err_set(err, SWB_EINVAL, "%s: %s", op, je.text);
	struct call *c = calls_find(n, w->sid, sid);
	if (!c)
		return swb_err_set(err, SWB_ENOTFOUND, "%s: no call '%s'", op, sid);
	if (a->kind == SWB_ACTOR_WORKER && (!a->worker_sid || strcmp(c->worker_sid, a->worker_sid) != 0))
		return swb_err_set(err, SWB_EPERM, "%s: a worker may only see its own calls", op);
	*out = c;
	return SWB_OK;
}

static enum swb_code op_hangup(struct node *n, struct wspace *w, const struct swb_actor *a, json_t *args,
			       json_t **result, struct swb_err *err)
{
	struct call *c;
	enum swb_code rc = get_call(n, w, a, args, "calls.hangup", &c, err);
	if (rc != SWB_OK)
		return rc;
	if (c->status == CALL_COMPLETED)
		return swb_err_set(err, SWB_ESTATE, "calls.hangup: call %s already ended (%s)", c->sid, c->end_reason);
	call_end(n, c, a->kind == SWB_ACTOR_WORKER ? "the worker hung up" : "hung up");
	*result = call_rep(n, c);
	return SWB_OK;
}

static enum swb_code op_fetch(struct node *n, struct wspace *w, const struct swb_actor *a, json_t *args,
			      json_t **result, struct swb_err *err)
{
	struct call *c;
	enum swb_code rc = get_call(n, w, a, args, "calls.fetch", &c, err);
	if (rc == SWB_OK)
		*result = call_rep(n, c);
	return rc;
}

static enum swb_code op_list(struct node *n, struct wspace *w, const struct swb_actor *a, json_t *args,
			     json_t **result, struct swb_err *err)
{
	const char *worker = NULL, *status = NULL, *task = NULL;
	json_int_t page = 0, size = 50;
	json_error_t je;
	if (json_unpack_ex(args, &je, JSON_STRICT, "{s?s, s?s, s?s, s?I, s?I}", "worker_sid", &worker, "status", &status,
			   "task_sid", &task, "page", &page, "page_size", &size) != 0)
		return swb_err_set(err, SWB_EINVAL, "calls.list: %s", je.text);
	if (page < 0 || size < 1 || size > 1000)
		return swb_err_set(err, SWB_EINVAL, "calls.list: 'page' must be >= 0 and 'page_size' 1..1000");
	int want = -1;
	for (int k = 0; status && k <= CALL_COMPLETED; k++)
		if (strcmp(status_names[k], status) == 0)
			want = k;
	if (status && want < 0)
		return swb_err_set(err, SWB_EINVAL,
				   "calls.list: 'status' must be ringing, in-progress, queued, bridged or completed");
	if (a->kind == SWB_ACTOR_WORKER) {
		if (worker && strcmp(worker, a->worker_sid) != 0)
			return swb_err_set(err, SWB_EPERM, "calls.list: a worker may only list its own calls");
		worker = a->worker_sid;
	}
	struct calls_state *s = state(n);
	json_t *items = json_array();
	size_t total = 0;
	for (size_t i = s->n; i-- > 0;) {
		const struct call *c = s->v[i];
		if (strcmp(c->ws_sid, w->sid) != 0 || (worker && strcmp(c->worker_sid, worker) != 0) ||
		    (want >= 0 && (int)c->status != want) || (task && strcmp(c->task_sid, task) != 0))
			continue;
		if (total >= (size_t)(page * size) && json_array_size(items) < (size_t)size)
			json_array_append_new(items, call_rep(n, c));
		total++;
	}
	*result = json_pack("{s:o, s:{s:I, s:I, s:I, s:s}}", "calls", items, "meta", "page", page, "page_size", size,
			    "total", (json_int_t)total, "key", "calls");
	return SWB_OK;
}

typedef enum swb_code (*calls_handler)(struct node *n, struct wspace *w, const struct swb_actor *a, json_t *args,
				       json_t **result, struct swb_err *err);

/* Who may call an op, checked in calls_op; handlers narrow a worker token to its own calls. */
enum calls_scope {
	CALLS_ANY,      /* any token */
	CALLS_ACTOR,    /* admin, or a worker acting on its own call or reservation (not a supervisor) */
	CALLS_ADMIN,
};

static const struct {
	const char *name;
	calls_handler fn;
	enum calls_scope scope;
	const char *summary;
} ops[] = {
	{ "calls.create", op_create, CALLS_ADMIN, "place a simulated call to one of the workspace's numbers" },
	{ "calls.hangup", op_hangup, CALLS_ACTOR, "hang up a call leg (admin, or the worker on it)" },
	{ "calls.fetch", op_fetch, CALLS_ANY, "one call (a worker token: its own)" },
	{ "calls.list", op_list, CALLS_ANY, "calls, newest first; filters worker_sid, status, task_sid" },
	{ "calls.instruct", assignment_instruct, CALLS_ACTOR,
	  "run an assignment instruction on a reservation (accept, reject, dequeue, conference, call, redirect)" },
};

enum swb_code calls_op(struct node *n, struct wspace *w, const struct swb_actor *a, const char *op, json_t *args,
		       json_t **result, struct swb_err *err)
{
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (strcmp(ops[i].name, op) != 0)
			continue;
		bool admin = a->kind == SWB_ACTOR_ADMIN || a->kind == SWB_ACTOR_SYSTEM;
		if ((ops[i].scope == CALLS_ADMIN && !admin) || (ops[i].scope == CALLS_ACTOR && a->kind == SWB_ACTOR_SUPERVISOR))
			return swb_err_set(err, SWB_EPERM, "%s needs an admin token%s", op,
					   ops[i].scope == CALLS_ACTOR ? " or the worker's own" : "");
		json_t *empty = args ? NULL : json_object();
		enum swb_code rc = ops[i].fn(n, w, a, args ? args : empty, result, err);
		json_decref(empty);
		return rc;
	}
	return swb_err_set(err, SWB_EUNKNOWN, "unknown op '%s' (calls ops: calls.create, calls.hangup, calls.fetch, "
			   "calls.list, calls.instruct)", op);
}

/* ---- events and time ---- */

void calls_on_event(struct wspace *w, const struct swb_evrec *r)
{
	struct node *n = w->n;
	if (strcmp(r->type, "reservation.created") == 0) {
		assignment_on_reservation(w, r);
		return;
	}
	if (strcmp(r->type, "task.canceled") != 0 && strcmp(r->type, "task.completed") != 0 &&
	    strcmp(r->type, "task.deleted") != 0)
		return;
	struct calls_state *s = state(n);
	for (size_t i = 0; i < s->n; i++) {
		struct call *c = s->v[i];
		if (c->status != CALL_QUEUED || strcmp(c->ws_sid, w->sid) != 0 || strcmp(c->task_sid, r->task_sid) != 0)
			continue;
		/* The task ended without the call (TTL, workflow timeout, canceled through the API). */
		c->task_sid[0] = '\0';
		char why[96];
		snprintf(why, sizeof why, "%s", r->type);
		leave_queue(n, c, "leave", why);
	}
}

static void purge(struct node *n, int64_t now)
{
	struct calls_state *s = state(n);
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct call *c = s->v[i];
		if (c->status != CALL_COMPLETED && !node_ws_find(n, c->ws_sid)) {
			c->status = CALL_COMPLETED; /* its workspace was deleted: nothing left to settle */
			c->ended = now;
			snprintf(c->end_reason, sizeof c->end_reason, "the workspace was deleted");
		}
		if (c->status == CALL_COMPLETED && now - c->ended > CALLS_KEEP_ENDED_MS) {
			swb_map_del(s->by_sid, c->sid);
			call_free(c);
			continue;
		}
		s->v[k++] = c;
	}
	s->n = k;
}

void calls_tick(struct node *n, int64_t now)
{
	struct calls_state *s = n->calls;
	if (!s)
		return;
	/* requests that could not start (no HTTP side) fail now, outside the code that made them;
	 * the ones their failure starts wait for the next tick */
	size_t nfailed = 0;
	for (struct fetch *f = s->fetches; f; f = f->next)
		nfailed += f->not_started;
	if (nfailed) {
		struct fetch **failed = malloc(nfailed * sizeof *failed);
		if (!failed)
			abort();
		size_t k = 0;
		for (struct fetch *f = s->fetches; f && k < nfailed; f = f->next)
			if (f->not_started)
				failed[k++] = f;
		for (size_t i = 0; i < k; i++)
			fetch_finish(n, failed[i], 0, "", 0);
		free(failed);
	}
	for (size_t i = 0; i < s->n; i++) {
		struct call *c = s->v[i];
		if (!c->wake_at || c->wake_at > now || c->status == CALL_COMPLETED)
			continue;
		c->wake_at = 0;
		if (c->gather_waiting)
			gather_timed_out(n, c);
		run(n, c);
	}
	if (now - s->last_purge >= PURGE_EVERY_MS) {
		s->last_purge = now;
		purge(n, now);
	}
}
