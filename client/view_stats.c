/*
 * view_stats.c - time buckets, service level, queue health, countdowns,
 * durations and sparklines for the console. See view_stats.h.
 */
#include "view_stats.h"

#include <stdio.h>
#include <string.h>

static int64_t slot_of(int64_t ms)
{
	/* floor division, so times before the epoch still land in one bucket */
	return ms >= 0 ? ms / VIEW_HIST_BUCKET_MS : -((-ms + VIEW_HIST_BUCKET_MS - 1) / VIEW_HIST_BUCKET_MS);
}

static size_t index_of(int64_t slot)
{
	int64_t m = slot % VIEW_HIST_BUCKETS;
	return (size_t)(m < 0 ? m + VIEW_HIST_BUCKETS : m);
}

void view_hist_clear(struct view_hist *h)
{
	memset(h, 0, sizeof *h);
}

void view_hist_add(struct view_hist *h, enum view_hist_field field, int64_t at_ms, int64_t now_ms, uint32_t n)
{
	int64_t s = slot_of(at_ms), now = slot_of(now_ms);
	/* a little slack ahead: the node's clock and ours disagree by a few ms */
	if (s <= now - VIEW_HIST_BUCKETS || s > now + 1 || field >= VIEW_HIST_FIELDS)
		return;
	size_t i = index_of(s);
	if (!h->used[i] || h->slot[i] != s) {
		memset(h->count[i], 0, sizeof h->count[i]);
		h->slot[i] = s;
		h->used[i] = true;
	}
	h->count[i][field] += n;
}

void view_hist_series(const struct view_hist *h, enum view_hist_field field, int64_t now_ms,
		      uint32_t out[VIEW_HIST_BUCKETS])
{
	int64_t now = slot_of(now_ms);
	for (int k = 0; k < VIEW_HIST_BUCKETS; k++) {
		int64_t s = now - (VIEW_HIST_BUCKETS - 1) + k;
		size_t i = index_of(s);
		out[k] = h->used[i] && h->slot[i] == s ? h->count[i][field] : 0;
	}
	/* an event stamped a little ahead of now counts in the newest bucket */
	size_t ahead = index_of(now + 1);
	if (h->used[ahead] && h->slot[ahead] == now + 1)
		out[VIEW_HIST_BUCKETS - 1] += h->count[ahead][field];
}

uint32_t view_hist_sum(const struct view_hist *h, enum view_hist_field field, int64_t now_ms)
{
	uint32_t series[VIEW_HIST_BUCKETS], sum = 0;
	view_hist_series(h, field, now_ms, series);
	for (int k = 0; k < VIEW_HIST_BUCKETS; k++)
		sum += series[k];
	return sum;
}

bool view_service_level(const struct view_hist *h, int64_t now_ms, int *pct)
{
	uint32_t answered = view_hist_sum(h, VIEW_HIST_ANSWERED, now_ms);
	uint32_t within = view_hist_sum(h, VIEW_HIST_ANSWERED_IN_SL, now_ms);
	uint32_t abandoned = view_hist_sum(h, VIEW_HIST_ABANDONS, now_ms);
	uint32_t ended = answered + abandoned;
	if (ended == 0)
		return false;
	if (within > answered)
		within = answered;
	*pct = (int)((uint64_t)within * 100 / ended);
	return true;
}

enum view_health view_queue_health(long waiting, long longest_wait_s, long available, long eligible,
				   int threshold_s, int sl_pct)
{
	if (waiting > 0 && (eligible == 0 || longest_wait_s >= 2L * threshold_s))
		return VIEW_HEALTH_CRITICAL;
	if ((waiting > 0 && (longest_wait_s >= threshold_s || available == 0)) || (sl_pct >= 0 && sl_pct < 80))
		return VIEW_HEALTH_WARNING;
	return VIEW_HEALTH_OK;
}

int64_t view_countdown_ms(int64_t deadline_ms, int64_t now_ms)
{
	if (deadline_ms <= 0)
		return -1;
	return deadline_ms > now_ms ? deadline_ms - now_ms : 0;
}

bool view_expiring(int64_t deadline_ms, int timeout_s, int64_t now_ms)
{
	int64_t left = view_countdown_ms(deadline_ms, now_ms);
	if (left < 0)
		return false;
	int64_t window = VIEW_EXPIRING_MS;
	if (timeout_s > 0 && (int64_t)timeout_s * 1000 / 4 < window)
		window = (int64_t)timeout_s * 1000 / 4;
	return left <= window;
}

void view_fmt_duration(int64_t ms, char *out, size_t len)
{
	if (ms < 0)
		ms = 0;
	int64_t s = ms / 1000;
	if (s < 3600)
		snprintf(out, len, "%d:%02d", (int)(s / 60), (int)(s % 60));
	else if (s < 86400)
		snprintf(out, len, "%d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
	else
		snprintf(out, len, "%lldd%02dh", (long long)(s / 86400), (int)(s / 3600 % 24));
}

void view_fmt_short(int64_t ms, char *out, size_t len)
{
	if (ms < 0)
		ms = 0;
	int64_t s = ms / 1000;
	if (s < 3600)
		snprintf(out, len, "%d:%02d", (int)(s / 60), (int)(s % 60));
	else if (s < 100 * 3600)
		snprintf(out, len, "%dh%02d", (int)(s / 3600), (int)(s / 60 % 60));
	else
		snprintf(out, len, "%lldd%02d", (long long)(s / 86400), (int)(s / 3600 % 24));
}

void view_fmt_countdown(int64_t ms_left, char *out, size_t len)
{
	if (ms_left < 0) {
		snprintf(out, len, "--");
		return;
	}
	view_fmt_duration((ms_left + 999) / 1000 * 1000, out, len);
}

int view_spark_level(uint32_t value, uint32_t max)
{
	if (value == 0)
		return 0;
	if (max < value)
		max = value;
	return (int)(((uint64_t)value * 8 + max - 1) / max);
}

void view_sparkline(const uint32_t *values, size_t n, bool utf8, char *out, size_t len)
{
	static const char *const blocks[9] = { " ", "\u2581", "\u2582", "\u2583", "\u2584",
					       "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[9] = { ' ', '.', '_', '-', '~', '=', '+', '*', '#' };
	uint32_t max = 1;
	for (size_t i = 0; i < n; i++)
		if (values[i] > max)
			max = values[i];
	size_t used = 0;
	if (!len)
		return;
	for (size_t i = 0; i < n; i++) {
		int lv = view_spark_level(values[i], max);
		const char *cell = blocks[lv];
		char one[2] = { ascii[lv], '\0' };
		if (!utf8)
			cell = one;
		size_t cl = strlen(cell);
		if (used + cl >= len)
			break;
		memcpy(out + used, cell, cl);
		used += cl;
	}
	out[used] = '\0';
}
