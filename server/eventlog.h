/*
 * eventlog.h - the node's in-memory window of recent events, serialized once in
 * their delivery form, for cursor pulls (events.next) and queries. Events become
 * visible to readers only once durable (swb_eventlog_mark_durable).
 */
#ifndef SWB_EVENTLOG_H
#define SWB_EVENTLOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "sid.h"

#define SWB_EVENTLOG_WINDOW 65536 /* events kept in memory for cursors */

struct swb_evrec {
	uint64_t seq;
	int64_t ts_ms;
	char *json; /* the delivery form, owned */
	size_t len;
	char type[48];
	char sid[SWB_SID_SIZE];
	char worker_sid[SWB_SID_SIZE];
	char task_sid[SWB_SID_SIZE];
	char reservation_sid[SWB_SID_SIZE];
	char queue_sid[SWB_SID_SIZE];
	char workflow_sid[SWB_SID_SIZE];
	char channel[32];
};

typedef struct swb_eventlog swb_eventlog;

swb_eventlog *swb_eventlog_new(size_t window);
void swb_eventlog_free(swb_eventlog *l);

/* Serializes ev (borrowed) and appends it; returns the record (owned by the log). */
const struct swb_evrec *swb_eventlog_append(swb_eventlog *l, const struct swb_event *ev);

/* Builds the delivery JSON of ev: a new reference. */
json_t *swb_event_to_json(const struct swb_event *ev);

/* Every event up to seq is durable and may be delivered. */
void swb_eventlog_mark_durable(swb_eventlog *l, uint64_t seq);
uint64_t swb_eventlog_durable(const swb_eventlog *l);
/* The oldest seq still in memory (0 when empty). */
uint64_t swb_eventlog_oldest(const swb_eventlog *l);

/* The record appended last (durable or not), or NULL. */
const struct swb_evrec *swb_eventlog_get_latest(const swb_eventlog *l);

/* The durable record with sequence seq, or NULL. */
const struct swb_evrec *swb_eventlog_get(const swb_eventlog *l, uint64_t seq);

/* Who may see what: NULL worker_sid sees everything. */
bool swb_evrec_visible(const struct swb_evrec *r, const char *worker_sid);

#endif
