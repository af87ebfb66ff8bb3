/*
 * eventlog.c - a ring of serialized events with the fields queries filter on.
 */
#include "eventlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

struct swb_eventlog {
	struct swb_evrec *ring;
	size_t cap;
	uint64_t first, last; /* seqs held: first..last (first 0 when empty) */
	uint64_t durable;
};

swb_eventlog *swb_eventlog_new(size_t window)
{
	swb_eventlog *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->ring = calloc(window, sizeof *l->ring);
	if (!l->ring) {
		free(l);
		return NULL;
	}
	l->cap = window;
	return l;
}

void swb_eventlog_free(swb_eventlog *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->cap; i++)
		free(l->ring[i].json);
	free(l->ring);
	free(l);
}

json_t *swb_event_to_json(const struct swb_event *ev)
{
	char date[SWB_ISO_SIZE];
	swb_iso8601(ev->ts_ms, date);
	return json_pack("{s:I, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:O}", "seq", (json_int_t)ev->seq, "sid", ev->sid,
			 "event_type", ev->type, "event_date", date, "event_date_ms", (json_int_t)ev->ts_ms,
			 "resource_type", ev->resource_type, "resource_sid", ev->resource_sid, "description",
			 ev->description, "event_data", ev->data);
}

static void copy_field(char *dst, size_t len, json_t *data, const char *key)
{
	json_t *v = json_object_get(data, key);
	snprintf(dst, len, "%s", json_is_string(v) ? json_string_value(v) : "");
}

const struct swb_evrec *swb_eventlog_append(swb_eventlog *l, const struct swb_event *ev)
{
	struct swb_evrec *r = &l->ring[ev->seq % l->cap];
	free(r->json);
	json_t *j = swb_event_to_json(ev);
	r->json = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!r->json)
		abort();
	r->len = strlen(r->json);
	r->seq = ev->seq;
	r->ts_ms = ev->ts_ms;
	snprintf(r->type, sizeof r->type, "%s", ev->type);
	snprintf(r->sid, sizeof r->sid, "%s", ev->sid);
	copy_field(r->worker_sid, sizeof r->worker_sid, ev->data, "worker_sid");
	copy_field(r->task_sid, sizeof r->task_sid, ev->data, "task_sid");
	copy_field(r->reservation_sid, sizeof r->reservation_sid, ev->data, "reservation_sid");
	copy_field(r->queue_sid, sizeof r->queue_sid, ev->data, "task_queue_sid");
	copy_field(r->workflow_sid, sizeof r->workflow_sid, ev->data, "workflow_sid");
	copy_field(r->channel, sizeof r->channel, ev->data, "task_channel_unique_name");
	if (!l->first)
		l->first = ev->seq;
	l->last = ev->seq;
	if (l->last - l->first >= l->cap)
		l->first = l->last - l->cap + 1;
	return r;
}

void swb_eventlog_mark_durable(swb_eventlog *l, uint64_t seq)
{
	if (seq > l->durable)
		l->durable = seq > l->last ? l->last : seq;
}

uint64_t swb_eventlog_durable(const swb_eventlog *l)
{
	return l->durable;
}

uint64_t swb_eventlog_oldest(const swb_eventlog *l)
{
	return l->first;
}

const struct swb_evrec *swb_eventlog_get(const swb_eventlog *l, uint64_t seq)
{
	if (!l->first || seq < l->first || seq > l->durable)
		return NULL;
	return &l->ring[seq % l->cap];
}

const struct swb_evrec *swb_eventlog_get_latest(const swb_eventlog *l)
{
	return l->first ? &l->ring[l->last % l->cap] : NULL;
}

bool swb_evrec_visible(const struct swb_evrec *r, const char *worker_sid)
{
	return !worker_sid || strcmp(r->worker_sid, worker_sid) == 0;
}
