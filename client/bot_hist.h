/*
 * bot_hist.h - a latency histogram with bounded relative error (log-linear
 * buckets, in the manner of HdrHistogram): constant memory, O(1) to record,
 * percentiles within about 3% of the true value. Used by swb-bot's summary and
 * report and by the benchmarks. Values are non-negative integers in any unit
 * (the callers use microseconds).
 */
#ifndef SWB_BOT_HIST_H
#define SWB_BOT_HIST_H

#include <jansson.h>
#include <stdint.h>

/* 32 linear sub-buckets per power of two: about 3% relative error. */
#define SWB_HIST_SUB_BITS 5
#define SWB_HIST_SUB (1 << SWB_HIST_SUB_BITS)
#define SWB_HIST_BUCKETS (SWB_HIST_SUB * (64 - SWB_HIST_SUB_BITS + 1))

struct swb_hist {
	uint64_t count;
	int64_t min, max;
	double sum;
	uint64_t bucket[SWB_HIST_BUCKETS];
};

/* Empties h. */
void swb_hist_reset(struct swb_hist *h);

/* Records v (negative values count as 0). */
void swb_hist_add(struct swb_hist *h, int64_t v);

/* Adds every value of src into dst. */
void swb_hist_merge(struct swb_hist *dst, const struct swb_hist *src);

/*
 * The value below which a fraction q (0..1) of the recorded values fall: the
 * upper edge of its bucket, clamped to the recorded maximum; 0 when empty.
 */
int64_t swb_hist_quantile(const struct swb_hist *h, double q);

/* The mean, 0 when empty. */
double swb_hist_mean(const struct swb_hist *h);

/*
 * {"count", "min", "mean", "p50", "p90", "p99", "max"} with every value
 * divided by scale (1000 turns microseconds into milliseconds). A new reference.
 */
json_t *swb_hist_to_json(const struct swb_hist *h, double scale);

#endif
