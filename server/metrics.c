/*
 * metrics.c - GET /metrics in Prometheus' text format (version 0.0.4).
 *
 * Everything is read on the routing thread at scrape time from the cores and
 * the node's own counters; nothing is kept between scrapes. Per workspace
 * (label workspace = its SID) and queue (labels queue = name, queue_sid):
 *   swb_queue_tasks{status}                    tasks by assignment status (gauge)
 *   swb_queue_longest_task_waiting_seconds     oldest waiting task's age (gauge)
 *   swb_queue_available_workers / _eligible_workers
 *   swb_queue_reservations_total{outcome}      created, accepted, rejected, timed_out, canceled, rescinded
 *   swb_queue_tasks_total{event}               entered, canceled, completed, moved, deleted
 *   swb_workers{activity,available}            workers by activity (gauge)
 *   swb_event_seq, swb_event_durable_seq, swb_journal_lag_events
 *   swb_journal_bytes, swb_journal_records_total, swb_journal_fsyncs_total
 *   swb_callback_configured, swb_callback_cursor, swb_callback_lag_events,
 *   swb_callback_delivered_total, swb_callback_failed_total, swb_callback_reading_journal
 * and for the node: swb_connected_consoles (nng pipes with a worker session),
 * swb_held_event_pulls, swb_requests_total, swb_request_errors_total.
 * The queue counters come from the core and count since the workspace began
 * (replay rebuilds them), so they only go up. No authentication: the HTTP side
 * listens on loopback unless told otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callbacks.h"
#include "http_modules.h"
#include "timefmt.h"

struct wsdata {
	struct wspace *w;
	json_t *queues; /* task_queues.list items, each with "stats" */
	json_t *stats;  /* workspace.stats */
};

/* A label value with \ " and newline escaped. */
static void label(FILE *f, const char *name, const char *value)
{
	fprintf(f, "%s=\"", name);
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static json_int_t num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* name{workspace="..",queue="..",queue_sid=".."[,extra="value"]} v */
static void queue_sample(FILE *f, const char *name, const struct wsdata *d, json_t *q, const char *extra,
			 const char *extra_val, long long v)
{
	fprintf(f, "%s{", name);
	label(f, "workspace", d->w->sid);
	fputc(',', f);
	label(f, "queue", str(q, "friendly_name"));
	fputc(',', f);
	label(f, "queue_sid", str(q, "sid"));
	if (extra) {
		fputc(',', f);
		label(f, extra, extra_val);
	}
	fprintf(f, "} %lld\n", v);
}

static void ws_sample(FILE *f, const char *name, const struct wspace *w, unsigned long long v)
{
	fprintf(f, "%s{", name);
	label(f, "workspace", w->sid);
	fprintf(f, "} %llu\n", v);
}


static void collect(struct wspace *w, struct wsdata *d)
{
	d->w = w;
	d->queues = node_list_all(w, NULL, "task_queues.list", "task_queues", json_object());
	size_t i;
	json_t *q;
	json_array_foreach(d->queues, i, q) {
		json_t *args = json_pack("{s:O}", "sid", json_object_get(q, "sid")), *st = NULL;
		node_exec(w, swb_wall_ms(), NULL, "task_queues.stats", args, &st, NULL);
		json_decref(args);
		json_object_set_new(q, "stats", st ? st : json_object());
	}
	d->stats = NULL;
	node_exec(w, swb_wall_ms(), NULL, "workspace.stats", NULL, &d->stats, NULL);
}

static void queue_metrics(FILE *f, const struct wsdata *ds, size_t nws)
{
	static const char *const statuses[] = { "pending", "reserved", "assigned", "wrapping" };
	static const char *const outcomes[] = { "created", "accepted", "rejected", "timed_out", "canceled", "rescinded" };
	static const char *const task_events[] = { "entered", "canceled", "completed", "moved", "deleted" };
	size_t i;
	json_t *q;
	family(f, "swb_queue_tasks", "gauge", "Tasks in a TaskQueue by assignment status.");
	for (size_t k = 0; k < nws; k++)
		json_array_foreach(ds[k].queues, i, q)
			for (size_t s = 0; s < 4; s++)
				queue_sample(f, "swb_queue_tasks", &ds[k], q, "status", statuses[s],
					     num(json_object_get(json_object_get(q, "stats"), "tasks_by_status"), statuses[s]));
	family(f, "swb_queue_longest_task_waiting_seconds", "gauge", "Age of the oldest task waiting in a TaskQueue.");
	for (size_t k = 0; k < nws; k++)
		json_array_foreach(ds[k].queues, i, q)
			queue_sample(f, "swb_queue_longest_task_waiting_seconds", &ds[k], q, NULL, NULL,
				     num(json_object_get(q, "stats"), "longest_task_waiting_age"));
	family(f, "swb_queue_available_workers", "gauge", "Eligible workers in an available activity.");
	for (size_t k = 0; k < nws; k++)
		json_array_foreach(ds[k].queues, i, q)
			queue_sample(f, "swb_queue_available_workers", &ds[k], q, NULL, NULL,
				     num(json_object_get(q, "stats"), "total_available_workers"));
	family(f, "swb_queue_eligible_workers", "gauge", "Workers matching a TaskQueue's target_workers.");
	for (size_t k = 0; k < nws; k++)
		json_array_foreach(ds[k].queues, i, q)
			queue_sample(f, "swb_queue_eligible_workers", &ds[k], q, NULL, NULL,
				     num(json_object_get(q, "stats"), "total_eligible_workers"));
	family(f, "swb_queue_reservations_total", "counter", "Reservations of a TaskQueue's tasks by outcome.");
	for (size_t k = 0; k < nws; k++)
		json_array_foreach(ds[k].queues, i, q)
			for (size_t o = 0; o < sizeof outcomes / sizeof outcomes[0]; o++) {
				char key[48];
				snprintf(key, sizeof key, "reservations_%s", outcomes[o]);
				queue_sample(f, "swb_queue_reservations_total", &ds[k], q, "outcome", outcomes[o],
					     num(json_object_get(json_object_get(q, "stats"), "cumulative"), key));
			}
	family(f, "swb_queue_tasks_total", "counter", "Tasks that entered, left or finished in a TaskQueue.");
	for (size_t k = 0; k < nws; k++)
		json_array_foreach(ds[k].queues, i, q)
			for (size_t e = 0; e < sizeof task_events / sizeof task_events[0]; e++) {
				char key[48];
				snprintf(key, sizeof key, "tasks_%s", task_events[e]);
				queue_sample(f, "swb_queue_tasks_total", &ds[k], q, "event", task_events[e],
					     num(json_object_get(json_object_get(q, "stats"), "cumulative"), key));
			}
}

static void worker_metrics(FILE *f, struct wsdata *ds, size_t nws)
{
	family(f, "swb_workers", "gauge", "Workers by activity.");
	for (size_t k = 0; k < nws; k++) {
		json_t *acts = node_list_all(ds[k].w, NULL, "activities.list", "activities", json_object());
		size_t i;
		json_t *a;
		json_array_foreach(json_object_get(ds[k].stats, "activity_statistics"), i, a) {
			bool avail = false;
			size_t j;
			json_t *act;
			json_array_foreach(acts, j, act)
				if (strcmp(str(act, "sid"), str(a, "sid")) == 0)
					avail = json_is_true(json_object_get(act, "available"));
			fprintf(f, "swb_workers{");
			label(f, "workspace", ds[k].w->sid);
			fputc(',', f);
			label(f, "activity", str(a, "friendly_name"));
			fputc(',', f);
			label(f, "available", avail ? "true" : "false");
			fprintf(f, "} %lld\n", (long long)num(a, "workers"));
		}
		json_decref(acts);
	}
}

static void durability_metrics(FILE *f, struct node *n)
{
	struct {
		const char *name, *type, *help;
	} const fams[] = {
		{ "swb_event_seq", "gauge", "The last event sequence the core emitted." },
		{ "swb_event_durable_seq", "gauge", "The last event sequence on disk (visible to readers)." },
		{ "swb_journal_lag_events", "gauge", "Events emitted but not yet durable (group commit in progress)." },
		{ "swb_journal_bytes", "gauge", "Size of the workspace's journal file." },
		{ "swb_journal_records_total", "counter", "Journal records written since the node started." },
		{ "swb_journal_fsyncs_total", "counter", "fdatasync calls on the journal since the node started." },
		{ "swb_journal_rotations_total", "counter", "Journal rotations (each starts a file with a snapshot) since the node started." },
		{ "swb_journal_rotation_pause_ms", "gauge", "The last rotation's time on the routing thread (snapshot, last records, renames)." },
		{ "swb_journal_rotated_files", "gauge", "Rotated journal files kept (history within the retention, or undelivered)." },
		{ "swb_journal_rotated_bytes", "gauge", "Bytes in the rotated journal files." },
		{ "swb_callback_configured", "gauge", "1 when the workspace has an event_callback_url." },
		{ "swb_callback_cursor", "gauge", "EventCallbackURL delivery is done through this sequence." },
		{ "swb_callback_lag_events", "gauge", "Events not yet delivered to the EventCallbackURL." },
		{ "swb_callback_delivered_total", "counter", "Event callbacks answered 2xx since the node started." },
		{ "swb_callback_failed_total", "counter", "Event callback attempts that failed since the node started." },
		{ "swb_callback_reading_journal", "gauge", "1 while delivery is behind the in-memory window." },
	};
	for (size_t m = 0; m < sizeof fams / sizeof fams[0]; m++) {
		family(f, fams[m].name, fams[m].type, fams[m].help);
		for (size_t k = 0; k < n->nws; k++) {
			struct wspace *w = n->ws[k];
			struct node_journal_stats js;
			struct callbacks_status cs;
			node_journal_stats(w, &js);
			callbacks_status(n, w, &cs);
			uint64_t last = swb_core_last_seq(w->core), durable = swb_eventlog_durable(w->events);
			uint64_t v[] = { last, durable, last - durable, js.size, js.records, js.syncs, js.rotations,
					 js.rotation_pause_ms, js.segments, js.segment_bytes, cs.configured,
					 cs.cursor, cs.configured && last > cs.cursor ? last - cs.cursor : 0, cs.delivered,
					 cs.failed, cs.from_journal };
			ws_sample(f, fams[m].name, w, (unsigned long long)v[m]);
		}
	}
}

void metrics_handle(struct node *n, struct swb_http_msg *m)
{
	if (strcmp(m->method, "GET") != 0 && strcmp(m->method, "HEAD") != 0) {
		http_error(n, m, 405, 20004, "Method not allowed: /metrics answers GET");
		swb_http_msg_free(m);
		return;
	}
	struct wsdata *ds = calloc(n->nws + 1, sizeof *ds);
	if (!ds)
		abort();
	for (size_t k = 0; k < n->nws; k++)
		collect(n->ws[k], &ds[k]);
	char *body;
	size_t len;
	FILE *f = open_memstream(&body, &len);
	if (!f)
		abort();
	queue_metrics(f, ds, n->nws);
	worker_metrics(f, ds, n->nws);
	durability_metrics(f, n);
	family(f, "swb_connected_consoles", "gauge", "nng connections with a worker session (consoles, bots).");
	fprintf(f, "swb_connected_consoles %zu\n", n->pipes ? swb_map_count(n->pipes) : (size_t)0);
	family(f, "swb_sdk_sockets", "gauge", "open twilio-taskrouter (EventBridge) WebSockets.");
	fprintf(f, "swb_sdk_sockets %zu\n", eb_socket_count(n));
	family(f, "swb_held_event_pulls", "gauge", "events.next requests held until an event arrives.");
	fprintf(f, "swb_held_event_pulls %zu\n", n->npulls);
	family(f, "swb_requests_total", "counter", "nng requests handled since the node started.");
	fprintf(f, "swb_requests_total %llu\n", (unsigned long long)n->requests);
	family(f, "swb_request_errors_total", "counter", "nng requests answered with an error.");
	fprintf(f, "swb_request_errors_total %llu\n", (unsigned long long)n->errors);
	fclose(f);
	node_http_respond(n, m->conn, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, body, len);
	free(body);
	for (size_t k = 0; k < n->nws; k++) {
		json_decref(ds[k].queues);
		json_decref(ds[k].stats);
	}
	free(ds);
	swb_http_msg_free(m);
}
