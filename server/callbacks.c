/*
 * callbacks.c - EventCallbackURL delivery.
 *
 * Each workspace with an event_callback_url gets its durable events POSTed
 * there, form-encoded with TaskRouter's parameter names (EventType,
 * ResourceSid, TaskSid, WorkerActivityName, ...: event_data's snake_case keys
 * in PascalCase), in order, at least once, one request in flight per
 * workspace, through node_http_call (the lws thread does the I/O; answers
 * come back on the routing thread).
 *
 * The journal is the queue. A workspace's cursor says "every event up to here
 * was answered 2xx, or needed no request (filtered by events_filter, or no URL
 * was set)". After each 2xx the cursor is recorded as a C record in the
 * journal, so it becomes durable with the next group commit and costs no fsync
 * of its own; replay restores it, and delivery resumes at cursor + 1. Events
 * are taken from the in-memory window while the cursor is inside it and read
 * back from the journal file (node_jreader) when it has fallen behind, so a
 * dead endpoint costs disk, never memory. A failed request (no answer within
 * CB_TIMEOUT_MS, or a non-2xx status) is retried with a backoff from 1 s
 * doubling to 60 s; nothing is ever skipped because of a failure.
 *
 * Which URL and filter apply is read when an event is about to be sent (the
 * workspace's current settings, reloaded on workspace.updated): with no URL the
 * cursor simply follows the newest event. Skipped (filtered) events move the
 * cursor without a request; that position is recorded at most once per
 * CB_RECORD_MS, so a crash may re-examine (never re-send) a second of them.
 *
 * Work per loop turn is bounded (CB_BUDGET_* events examined), so a long
 * backlog never holds up routing.
 */
#include "callbacks.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_modules.h"
#include "log.h"
#include "timefmt.h"

#define CB_TIMEOUT_MS 15000      /* TaskRouter asks endpoints to answer within 15 s */
#define CB_BACKOFF_MIN_MS 1000
#define CB_BACKOFF_MAX_MS 60000
#define CB_RECORD_MS 1000        /* a cursor moved only by skipped events is recorded this often */
#define CB_BUDGET_EVENT 64       /* events examined when a new event arrives */
#define CB_BUDGET_TICK 512       /* events examined per loop turn (journal reads included) */

struct param {
	char *key, *val;
};

/* One workspace's delivery. */
struct cbws {
	char sid[SWB_SID_SIZE];
	uint64_t cursor;       /* delivered or skipped through */
	uint64_t recorded;     /* the cursor last written to the journal */
	int64_t recorded_at;
	bool loaded, stale;    /* the workspace's settings */
	char *url;             /* NULL: no delivery */
	json_t *filter;        /* event types to send, NULL: all */
	char *ws_name;
	char account_sid[SWB_SID_SIZE];
	/* the event being delivered (seq 0: none) */
	uint64_t seq;
	char ev_sid[SWB_SID_SIZE];
	struct param *params;
	size_t nparams;
	bool in_flight;
	int64_t retry_at;
	int backoff_ms;
	uint64_t delivered, failed, consecutive;
	struct node_jreader *rd; /* reading the journal while behind the window */
	uint64_t rd_seq;         /* the last seq rd returned */
	bool gone;               /* the workspace was deleted: freed when its call returns */
	struct cbws *next;
};

struct callbacks {
	struct cbws *head;
};

/* ---- state ---- */

static void clear_event(struct cbws *st)
{
	for (size_t i = 0; i < st->nparams; i++) {
		free(st->params[i].key);
		free(st->params[i].val);
	}
	free(st->params);
	st->params = NULL;
	st->nparams = 0;
	st->seq = 0;
}

static void state_free(struct cbws *st)
{
	clear_event(st);
	node_jreader_close(st->rd);
	free(st->url);
	free(st->ws_name);
	json_decref(st->filter);
	free(st);
}

static struct wspace *ws_by_sid(struct node *n, const char *sid)
{
	for (size_t i = 0; i < n->nws; i++)
		if (strcmp(n->ws[i]->sid, sid) == 0)
			return n->ws[i];
	return NULL;
}

static struct cbws *find(const struct node *n, const char *sid)
{
	for (struct cbws *st = n->callbacks ? n->callbacks->head : NULL; st; st = st->next)
		if (!st->gone && strcmp(st->sid, sid) == 0)
			return st;
	return NULL;
}

static struct cbws *state_of(struct node *n, struct wspace *w)
{
	struct cbws *st = find(n, w->sid);
	if (st)
		return st;
	if (!n->callbacks && !(n->callbacks = calloc(1, sizeof *n->callbacks)))
		abort();
	st = calloc(1, sizeof *st);
	if (!st)
		abort();
	snprintf(st->sid, sizeof st->sid, "%s", w->sid);
	st->cursor = st->recorded = w->callback_cursor; /* from the journal's last C record */
	st->recorded_at = swb_wall_ms();
	st->stale = true;
	st->next = n->callbacks->head;
	n->callbacks->head = st;
	return st;
}

static void record(struct wspace *w, struct cbws *st, int64_t now)
{
	node_journal_cursor(w, st->cursor, now);
	st->recorded = st->cursor;
	st->recorded_at = now;
}

/* Reads the workspace's URL, filter and name. */
static void load_settings(struct wspace *w, struct cbws *st, int64_t now)
{
	json_t *ws = NULL;
	if (node_exec(w, now, NULL, "workspace.fetch", NULL, &ws, NULL) != SWB_OK)
		return;
	const char *url = json_string_value(json_object_get(ws, "event_callback_url"));
	if (url && !*url)
		url = NULL;
	bool changed = (url == NULL) != (st->url == NULL) || (url && strcmp(url, st->url) != 0);
	if (changed && st->loaded) {
		if (url)
			swb_info("workspace %s: events go to %s from seq %llu", w->sid, url,
				 (unsigned long long)st->cursor + 1);
		else
			swb_info("workspace %s: event callbacks off", w->sid);
		if (url && !st->url && st->cursor > st->recorded)
			record(w, st, now); /* a restart must not send what came before the URL */
		st->retry_at = 0;
		st->backoff_ms = 0;
		st->consecutive = 0;
	}
	free(st->url);
	st->url = url ? strdup(url) : NULL;
	json_decref(st->filter);
	json_t *f = json_object_get(ws, "events_filter");
	st->filter = json_array_size(f) ? json_incref(f) : NULL;
	free(st->ws_name);
	st->ws_name = strdup(json_string_value(json_object_get(ws, "friendly_name")) ?: "");
	snprintf(st->account_sid, sizeof st->account_sid, "%s", json_string_value(json_object_get(ws, "account_sid")) ?: "");
	st->loaded = true;
	st->stale = false;
	json_decref(ws);
}

static bool wanted(const struct cbws *st, const char *type)
{
	if (!st->filter)
		return true;
	size_t i;
	json_t *t;
	json_array_foreach(st->filter, i, t)
		if (json_is_string(t) && strcmp(json_string_value(t), type) == 0)
			return true;
	return false;
}

/* ---- the request ---- */

static void add_param(struct cbws *st, size_t *cap, const char *key, const char *val)
{
	if (st->nparams == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		struct param *np = realloc(st->params, *cap * sizeof *np);
		if (!np)
			abort();
		st->params = np;
	}
	st->params[st->nparams].key = strdup(key);
	st->params[st->nparams].val = strdup(val);
	if (!st->params[st->nparams].key || !st->params[st->nparams].val)
		abort();
	st->nparams++;
}

static bool has_param(const struct cbws *st, const char *key)
{
	for (size_t i = 0; i < st->nparams; i++)
		if (strcmp(st->params[i].key, key) == 0)
			return true;
	return false;
}

/* "worker_time_in_previous_activity_ms" -> "WorkerTimeInPreviousActivityMs" */
static void pascal(const char *snake, char *out, size_t len)
{
	size_t o = 0;
	bool up = true;
	for (const char *p = snake; *p && o + 1 < len; p++) {
		if (*p == '_') {
			up = true;
			continue;
		}
		out[o++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
		up = false;
	}
	out[o] = '\0';
}

/* A parameter's text: strings as they are, numbers in decimal, objects as JSON; NULL for null. */
static char *value_text(json_t *v)
{
	char buf[64];
	switch (json_typeof(v)) {
	case JSON_STRING: return strdup(json_string_value(v));
	case JSON_INTEGER: snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v)); return strdup(buf);
	case JSON_REAL: snprintf(buf, sizeof buf, "%.17g", json_real_value(v)); return strdup(buf);
	case JSON_TRUE: return strdup("true");
	case JSON_FALSE: return strdup("false");
	case JSON_NULL: return NULL;
	default: return json_dumps(v, JSON_COMPACT);
	}
}

/* The event's parameters, as TaskRouter names them. */
static void build_params(struct cbws *st, const struct swb_evrec *r)
{
	json_error_t je;
	json_t *e = json_loads(r->json, 0, &je);
	size_t cap = 0;
	char num[32];
	clear_event(st);
	st->seq = r->seq;
	snprintf(st->ev_sid, sizeof st->ev_sid, "%s", r->sid);
	add_param(st, &cap, "EventType", r->type);
	add_param(st, &cap, "EventDescription", json_string_value(json_object_get(e, "description")) ?: "");
	add_param(st, &cap, "ResourceType", json_string_value(json_object_get(e, "resource_type")) ?: "");
	add_param(st, &cap, "ResourceSid", json_string_value(json_object_get(e, "resource_sid")) ?: "");
	add_param(st, &cap, "Sid", r->sid);
	snprintf(num, sizeof num, "%lld", (long long)(r->ts_ms / 1000));
	add_param(st, &cap, "Timestamp", num);
	snprintf(num, sizeof num, "%lld", (long long)r->ts_ms);
	add_param(st, &cap, "TimestampMs", num);
	add_param(st, &cap, "AccountSid", st->account_sid);
	add_param(st, &cap, "WorkspaceSid", st->sid);
	add_param(st, &cap, "WorkspaceName", st->ws_name ? st->ws_name : "");
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(e, "event_data"), k, v) {
		char key[128];
		pascal(k, key, sizeof key);
		char *text = value_text(v);
		if (text && !has_param(st, key))
			add_param(st, &cap, key, text);
		free(text);
	}
	json_decref(e);
}

static void form_escape(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || *p == '.' || *p == '~')
			fputc(*p, f);
		else if (*p == ' ')
			fputc('+', f);
		else
			fprintf(f, "%%%02X", *p);
	}
}

static int by_key(const void *a, const void *b)
{
	const struct param *x = *(const struct param *const *)a, *y = *(const struct param *const *)b;
	return strcmp(x->key, y->key);
}

/* X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + each key and value, keys sorted)). */
static void signature(const struct node *n, const struct cbws *st, char out[64])
{
	const struct param **sorted = malloc((st->nparams + 1) * sizeof *sorted);
	if (!sorted)
		abort();
	for (size_t i = 0; i < st->nparams; i++)
		sorted[i] = &st->params[i];
	qsort(sorted, st->nparams, sizeof *sorted, by_key);
	char *data;
	size_t len;
	FILE *f = open_memstream(&data, &len);
	if (!f)
		abort();
	fputs(st->url, f);
	for (size_t i = 0; i < st->nparams; i++)
		fprintf(f, "%s%s", sorted[i]->key, sorted[i]->val);
	fclose(f);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;
	out[0] = '\0';
	if (HMAC(EVP_sha1(), n->auth_token, (int)strlen(n->auth_token), (const unsigned char *)data, len, mac, &mlen))
		EVP_EncodeBlock((unsigned char *)out, mac, (int)mlen);
	free(data);
	free(sorted);
}

static void on_done(struct node *n, void *ctx, int status, const char *body, size_t len);
static void pump(struct node *n, struct wspace *w, struct cbws *st, int64_t now, int budget);

static void failed(struct cbws *st, int64_t now, int status)
{
	st->failed++;
	st->consecutive++;
	int delay = st->backoff_ms ? st->backoff_ms : CB_BACKOFF_MIN_MS;
	st->retry_at = now + delay;
	st->backoff_ms = delay * 2 > CB_BACKOFF_MAX_MS ? CB_BACKOFF_MAX_MS : delay * 2;
	char what[32];
	snprintf(what, sizeof what, status ? "HTTP %d" : "no answer", status);
	if (st->consecutive == 1)
		swb_warn("workspace %s: event callback to %s failed (%s); retrying with a backoff up to %d s, "
			 "later events wait in the journal", st->sid, st->url, what, CB_BACKOFF_MAX_MS / 1000);
	else
		swb_debug("workspace %s: event callback seq %llu failed again (%d); next try in %d ms", st->sid,
			  (unsigned long long)st->seq, status, delay);
}

static void send_event(struct node *n, struct cbws *st, int64_t now)
{
	char *body;
	size_t len;
	FILE *f = open_memstream(&body, &len);
	if (!f)
		abort();
	for (size_t i = 0; i < st->nparams; i++) {
		if (i)
			fputc('&', f);
		form_escape(f, st->params[i].key);
		fputc('=', f);
		form_escape(f, st->params[i].val);
	}
	fclose(f);
	char sig[64], headers[256];
	signature(n, st, sig);
	snprintf(headers, sizeof headers, "X-Twilio-Signature: %s\r\nI-Twilio-Idempotency-Token: %s-%llu\r\n", sig,
		 st->ev_sid, (unsigned long long)st->seq);
	if (node_http_call(n, "POST", st->url, "application/x-www-form-urlencoded", headers, body, len, CB_TIMEOUT_MS,
			   on_done, st) == 0)
		st->in_flight = true;
	else
		failed(st, now, 0);
	free(body);
}

/* ---- choosing the next event ---- */

/* The first event after the cursor: from memory, or read back from the journal (*owned: clear it). */
static const struct swb_evrec *next_event(struct wspace *w, struct cbws *st, uint64_t durable, struct swb_evrec *tmp,
					  bool *owned)
{
	uint64_t s = st->cursor + 1, first = swb_eventlog_oldest(w->events);
	*owned = false;
	if (first && s >= first) {
		node_jreader_close(st->rd);
		st->rd = NULL;
		return swb_eventlog_get(w->events, s);
	}
	if (!st->rd || st->rd_seq != st->cursor) {
		node_jreader_close(st->rd);
		st->rd = node_jreader_open(w, st->cursor, INT64_MIN);
		st->rd_seq = st->cursor;
		if (!st->rd)
			return NULL;
	}
	if (node_jreader_next(st->rd, durable, tmp) == 1) {
		st->rd_seq = tmp->seq;
		*owned = true;
		return tmp;
	}
	if (first && first - 1 > st->cursor) {
		/* not in the journal any more (compacted while no URL was set): continue where memory starts */
		swb_warn("workspace %s: events %llu..%llu are no longer in the journal; callbacks continue at %llu",
			 st->sid, (unsigned long long)s, (unsigned long long)first - 1, (unsigned long long)first);
		st->cursor = first - 1;
		return swb_eventlog_get(w->events, first);
	}
	return NULL;
}

static void pump(struct node *n, struct wspace *w, struct cbws *st, int64_t now, int budget)
{
	if (st->in_flight || now < st->retry_at)
		return;
	if (st->stale)
		load_settings(w, st, now);
	uint64_t durable = swb_eventlog_durable(w->events);
	if (!st->url) {
		clear_event(st);
		node_jreader_close(st->rd);
		st->rd = NULL;
		if (durable > st->cursor)
			st->cursor = durable;
		return;
	}
	if (st->seq) {
		send_event(n, st, now); /* a retry */
		return;
	}
	while (budget-- > 0 && st->cursor < durable) {
		struct swb_evrec tmp;
		bool owned;
		const struct swb_evrec *r = next_event(w, st, durable, &tmp, &owned);
		if (!r)
			return;
		bool send = wanted(st, r->type);
		if (send)
			build_params(st, r);
		else
			st->cursor = r->seq;
		if (owned)
			node_evrec_clear(&tmp);
		if (send) {
			send_event(n, st, now);
			return;
		}
	}
}

static void on_done(struct node *n, void *ctx, int status, const char *body, size_t len)
{
	struct cbws *st = ctx;
	int64_t now = swb_wall_ms();
	st->in_flight = false;
	struct wspace *w = st->gone ? NULL : ws_by_sid(n, st->sid);
	if (!w) {
		st->gone = true; /* freed by the next tick */
		return;
	}
	if (status < 200 || status > 299) {
		failed(st, now, status);
		return;
	}
	if (st->consecutive)
		swb_info("workspace %s: event callbacks to %s delivered again after %llu failed attempts", st->sid,
			 st->url, (unsigned long long)st->consecutive);
	st->cursor = st->seq;
	st->delivered++;
	st->consecutive = 0;
	st->backoff_ms = 0;
	clear_event(st);
	record(w, st, now);
	pump(n, w, st, now, CB_BUDGET_EVENT);
	(void)body, (void)len;
}

/* ---- hooks ---- */

void callbacks_on_event(struct wspace *w, const struct swb_evrec *r)
{
	struct cbws *st = state_of(w->n, w);
	if (strcmp(r->type, "workspace.updated") == 0)
		st->stale = true;
	if (!st->rd) /* catching up from the journal is left to the tick's budget */
		pump(w->n, w, st, swb_wall_ms(), CB_BUDGET_EVENT);
}

void callbacks_tick(struct node *n, int64_t now)
{
	for (size_t i = 0; i < n->nws; i++) {
		struct wspace *w = n->ws[i];
		struct cbws *st = state_of(n, w);
		pump(n, w, st, now, CB_BUDGET_TICK);
		if (st->url && st->cursor > st->recorded && now - st->recorded_at >= CB_RECORD_MS)
			record(w, st, now);
	}
	for (struct cbws **pp = n->callbacks ? &n->callbacks->head : NULL; pp && *pp;) {
		struct cbws *st = *pp;
		if (!st->gone && !ws_by_sid(n, st->sid))
			st->gone = true;
		if (st->gone && !st->in_flight) {
			*pp = st->next;
			state_free(st);
			continue;
		}
		pp = &st->next;
	}
}

void callbacks_free(struct node *n)
{
	if (!n->callbacks)
		return;
	while (n->callbacks->head) {
		struct cbws *st = n->callbacks->head;
		n->callbacks->head = st->next;
		state_free(st);
	}
	free(n->callbacks);
	n->callbacks = NULL;
}

void callbacks_status(struct node *n, const struct wspace *w, struct callbacks_status *out)
{
	memset(out, 0, sizeof *out);
	const struct cbws *st = find(n, w->sid);
	out->cursor = w->callback_cursor;
	if (!st)
		return;
	out->configured = st->url != NULL;
	out->cursor = st->cursor;
	out->delivered = st->delivered;
	out->failed = st->failed;
	out->consecutive_failures = st->consecutive;
	out->from_journal = st->rd != NULL;
}
