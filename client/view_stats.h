/*
 * view_stats.h - the console's arithmetic, kept apart so it is tested alone:
 * time buckets for per-queue history (arrivals, abandons, answers), the
 * service level, queue health, countdowns and durations as text, sparklines.
 *
 * Pure: every function takes the time it needs (ms since the epoch, node clock).
 */
#ifndef SWB_VIEW_STATS_H
#define SWB_VIEW_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* History: VIEW_HIST_BUCKETS buckets of VIEW_HIST_BUCKET_MS: the last five minutes in 10 s steps. */
#define VIEW_HIST_BUCKETS 30
#define VIEW_HIST_BUCKET_MS 10000
#define VIEW_HIST_WINDOW_MS ((int64_t)VIEW_HIST_BUCKETS * VIEW_HIST_BUCKET_MS)

/* A pending reservation counts as expiring in its last VIEW_EXPIRING_MS (or last quarter, if shorter). */
#define VIEW_EXPIRING_MS 5000

enum view_hist_field {
	VIEW_HIST_ARRIVALS,  /* tasks entering the queue (task-queue.entered) */
	VIEW_HIST_ABANDONS,  /* tasks canceled while waiting (task.canceled) */
	VIEW_HIST_ANSWERED,  /* reservations accepted */
	VIEW_HIST_ANSWERED_IN_SL, /* ... within the service-level threshold */
	VIEW_HIST_FIELDS
};

/* A ring of time buckets; bucket k covers [slot*BUCKET_MS, (slot+1)*BUCKET_MS). Zero-initialized is empty. */
struct view_hist {
	int64_t slot[VIEW_HIST_BUCKETS];
	uint32_t count[VIEW_HIST_BUCKETS][VIEW_HIST_FIELDS];
	bool used[VIEW_HIST_BUCKETS];
};

void view_hist_clear(struct view_hist *h);

/* Adds n to field for an event at at_ms; ignored when at_ms is outside the window ending at now_ms. */
void view_hist_add(struct view_hist *h, enum view_hist_field field, int64_t at_ms, int64_t now_ms, uint32_t n);

/* The field's counts for the window ending at now_ms, oldest first, into out[VIEW_HIST_BUCKETS]. */
void view_hist_series(const struct view_hist *h, enum view_hist_field field, int64_t now_ms,
		      uint32_t out[VIEW_HIST_BUCKETS]);

/* The field's total over the window ending at now_ms. */
uint32_t view_hist_sum(const struct view_hist *h, enum view_hist_field field, int64_t now_ms);

/*
 * Service level over the window: answered within the threshold divided by
 * everything offered that ended (answered + abandoned), in percent (0-100,
 * rounded down). False (and *pct untouched) when nothing ended in the window.
 */
bool view_service_level(const struct view_hist *h, int64_t now_ms, int *pct);

enum view_health { VIEW_HEALTH_OK, VIEW_HEALTH_WARNING, VIEW_HEALTH_CRITICAL };

/*
 * A queue's health: critical when tasks wait and no worker is eligible, or the
 * longest wait is at least twice the threshold; warning when the longest wait
 * passed the threshold, tasks wait with no worker available, or the service
 * level (sl_pct < 0: unknown) is under 80%; otherwise ok.
 */
enum view_health view_queue_health(long waiting, long longest_wait_s, long available, long eligible,
				   int threshold_s, int sl_pct);

/* Milliseconds left before deadline_ms (never negative); -1 when the deadline is unknown (0). */
int64_t view_countdown_ms(int64_t deadline_ms, int64_t now_ms);

/* True when a pending reservation with this deadline and timeout should look urgent. */
bool view_expiring(int64_t deadline_ms, int timeout_s, int64_t now_ms);

/*
 * A duration as the console shows it: "0:07", "12:03", "1:02:03", "3d04h";
 * negative durations show as "0:00". Writes at most len bytes (always
 * NUL-terminated).
 */
void view_fmt_duration(int64_t ms, char *out, size_t len);

/* A duration in at most five columns for table cells: "0:07", "59:59", "1h02", "3d04". */
void view_fmt_short(int64_t ms, char *out, size_t len);

/* A countdown in whole seconds rounded up, so "0:01" shows until the very end. */
void view_fmt_countdown(int64_t ms_left, char *out, size_t len);

/*
 * Renders values as a sparkline of n cells scaled to max(values) (at least 1):
 * zero is a space, the rest one of eight levels ("▁".."█" in UTF-8, "._-~=+*#"
 * in ASCII). Writes a NUL-terminated string of at most len bytes (3 per cell
 * in UTF-8).
 */
void view_sparkline(const uint32_t *values, size_t n, bool utf8, char *out, size_t len);

/* The level (0..8) a value gets in a sparkline scaled to max. */
int view_spark_level(uint32_t value, uint32_t max);

#endif
