/*
 * bot_hist.c - log-linear latency histogram. Bucket i < 32 holds the value i;
 * above that each power of two is split into 32 equal buckets.
 */
#include "bot_hist.h"

#include <string.h>

void swb_hist_reset(struct swb_hist *h)
{
	memset(h, 0, sizeof *h);
}

static int bucket_of(uint64_t v)
{
	if (v < SWB_HIST_SUB)
		return (int)v;
	int e = 63 - __builtin_clzll(v); /* >= SWB_HIST_SUB_BITS */
	int shift = e - SWB_HIST_SUB_BITS;
	int mantissa = (int)(v >> shift); /* SWB_HIST_SUB .. 2 * SWB_HIST_SUB - 1 */
	return (shift + 1) * SWB_HIST_SUB + (mantissa - SWB_HIST_SUB);
}

/* The largest value bucket i holds. */
static uint64_t bucket_upper(int i)
{
	if (i < SWB_HIST_SUB)
		return (uint64_t)i;
	int shift = i / SWB_HIST_SUB - 1;
	uint64_t mantissa = (uint64_t)(SWB_HIST_SUB + i % SWB_HIST_SUB);
	return ((mantissa + 1) << shift) - 1;
}

void swb_hist_add(struct swb_hist *h, int64_t v)
{
	if (v < 0)
		v = 0;
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (h->count == 0 || v > h->max)
		h->max = v;
	h->count++;
	h->sum += (double)v;
	h->bucket[bucket_of((uint64_t)v)]++;
}

void swb_hist_merge(struct swb_hist *dst, const struct swb_hist *src)
{
	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (dst->count == 0 || src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	for (int i = 0; i < SWB_HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
}

int64_t swb_hist_quantile(const struct swb_hist *h, double q)
{
	if (h->count == 0)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	/* the rank of the wanted value, 1-based: at least 1, at most count */
	uint64_t rank = (uint64_t)(q * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	uint64_t seen = 0;
	for (int i = 0; i < SWB_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			int64_t up = (int64_t)bucket_upper(i);
			if (up > h->max)
				up = h->max;
			if (up < h->min)
				up = h->min;
			return up;
		}
	}
	return h->max;
}

double swb_hist_mean(const struct swb_hist *h)
{
	return h->count ? h->sum / (double)h->count : 0;
}

json_t *swb_hist_to_json(const struct swb_hist *h, double scale)
{
	if (scale <= 0)
		scale = 1;
	return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f}", "count", (json_int_t)h->count, "min",
			 (double)h->min / scale, "mean", swb_hist_mean(h) / scale, "p50",
			 (double)swb_hist_quantile(h, 0.50) / scale, "p90", (double)swb_hist_quantile(h, 0.90) / scale,
			 "p99", (double)swb_hist_quantile(h, 0.99) / scale, "max", (double)h->max / scale);
}
