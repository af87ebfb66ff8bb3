/*
 * test_bot_policy.c - the bot's policy engine (client/bot_policy.c) and its
 * latency histogram (client/bot_hist.c), driven with fixed seeds: parsing,
 * distributions, decision probabilities within tolerance, determinism.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bot_hist.h"
#include "bot_policy.h"

#define SAMPLES 200000 /* large enough that the tolerances below hold for any seed */

static double sample_mean(const struct swb_dist *d, uint64_t seed, int n, int64_t *lo, int64_t *hi, double *sd)
{
	swb_rng r;
	swb_bot_rng_init(&r, seed, 0);
	double sum = 0, sq = 0;
	*lo = INT64_MAX;
	*hi = INT64_MIN;
	for (int i = 0; i < n; i++) {
		int64_t v = swb_dist_sample(d, &r);
		sum += (double)v;
		sq += (double)v * (double)v;
		if (v < *lo)
			*lo = v;
		if (v > *hi)
			*hi = v;
	}
	double mean = sum / n;
	if (sd)
		*sd = sqrt(sq / n - mean * mean);
	return mean;
}

static struct swb_dist dist(const char *text)
{
	struct swb_dist d;
	struct swb_err err = { 0 };
	if (swb_dist_parse(text, &d, &err) != SWB_OK)
		fail_msg("'%s': %s", text, err.msg);
	return d;
}

static bool dist_equal(const struct swb_dist *a, const struct swb_dist *b)
{
	return a->kind == b->kind && a->a == b->a && a->b == b->b;
}

/* Field by field: the structs have padding, so memcmp would read uninitialised bytes. */
static bool policy_equal(const struct swb_bot_policy *a, const struct swb_bot_policy *b)
{
	return a->seed == b->seed && a->accept == b->accept && a->reject == b->reject && a->ignore == b->ignore &&
	       dist_equal(&a->think, &b->think) && dist_equal(&a->handle, &b->handle) &&
	       dist_equal(&a->wrapup, &b->wrapup) && dist_equal(&a->break_every, &b->break_every) &&
	       dist_equal(&a->break_length, &b->break_length) && dist_equal(&a->disconnect_every, &b->disconnect_every) &&
	       dist_equal(&a->disconnect_length, &b->disconnect_length) && dist_equal(&a->recover, &b->recover);
}

/* ---- the random source ---- */

static void test_same_seed_and_stream_repeat_the_sequence(void **state)
{
	(void)state;
	swb_rng a, b;
	swb_bot_rng_init(&a, 42, 7);
	swb_bot_rng_init(&b, 42, 7);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(swb_rng_next(&a), swb_rng_next(&b));
}

static void test_other_streams_and_seeds_differ(void **state)
{
	(void)state;
	swb_rng a, b, c;
	swb_bot_rng_init(&a, 42, 1);
	swb_bot_rng_init(&b, 42, 2);
	swb_bot_rng_init(&c, 43, 1);
	int same_ab = 0, same_ac = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = swb_rng_next(&a), y = swb_rng_next(&b), z = swb_rng_next(&c);
		same_ab += x == y;
		same_ac += x == z;
	}
	assert_int_equal(same_ab, 0);
	assert_int_equal(same_ac, 0);
}

static void test_unit_is_uniform_in_zero_one(void **state)
{
	(void)state;
	swb_rng r;
	swb_bot_rng_init(&r, 3, 0);
	int buckets[10] = { 0 };
	for (int i = 0; i < SAMPLES; i++) {
		double u = swb_rng_unit(&r);
		assert_true(u >= 0 && u < 1);
		buckets[(int)(u * 10)]++;
	}
	for (int i = 0; i < 10; i++)
		assert_true(fabs(buckets[i] / (double)SAMPLES - 0.1) < 0.005);
}

/* ---- durations and distributions ---- */

static void test_durations_take_units_and_bare_seconds(void **state)
{
	(void)state;
	double ms;
	struct swb_err err;
	assert_int_equal(swb_duration_parse("250ms", &ms, &err), SWB_OK);
	assert_true(ms == 250);
	assert_int_equal(swb_duration_parse("2s", &ms, &err), SWB_OK);
	assert_true(ms == 2000);
	assert_int_equal(swb_duration_parse("3", &ms, &err), SWB_OK);
	assert_true(ms == 3000);
	assert_int_equal(swb_duration_parse("1.5m", &ms, &err), SWB_OK);
	assert_true(ms == 90000);
	assert_int_equal(swb_duration_parse("1h", &ms, &err), SWB_OK);
	assert_true(ms == 3600000);
	assert_int_equal(swb_duration_parse("", &ms, &err), SWB_EINVAL);
	assert_int_equal(swb_duration_parse("-1s", &ms, &err), SWB_EINVAL);
	assert_int_equal(swb_duration_parse("5 parsecs", &ms, &err), SWB_EINVAL);
	assert_int_equal(swb_duration_parse("2d", &ms, &err), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "2d"));
	assert_int_equal(swb_duration_parse("25h", &ms, &err), SWB_EINVAL);
}

static void test_distributions_parse_every_form(void **state)
{
	(void)state;
	struct swb_dist d = dist("2s");
	assert_int_equal(d.kind, SWB_DIST_CONST);
	assert_true(d.a == 2000);
	d = dist("uniform:1s:3s");
	assert_int_equal(d.kind, SWB_DIST_UNIFORM);
	assert_true(d.a == 1000 && d.b == 3000);
	d = dist("500ms..1.5s");
	assert_int_equal(d.kind, SWB_DIST_UNIFORM);
	assert_true(d.a == 500 && d.b == 1500);
	d = dist("exp:20s");
	assert_int_equal(d.kind, SWB_DIST_EXP);
	assert_true(d.a == 20000);
	d = dist("normal:60s:15s");
	assert_int_equal(d.kind, SWB_DIST_NORMAL);
	assert_true(d.a == 60000 && d.b == 15000);
	assert_int_equal(dist("off").kind, SWB_DIST_OFF);

	struct swb_err err;
	static const char *const bad[] = { "uniform:3s:1s", "uniform:1s", "exp:", "normal:1s", "gamma:1s:2s", "3s..",
					   "fast", NULL };
	for (const char *const *s = bad; *s; s++) {
		d = (struct swb_dist){ SWB_DIST_CONST, 7, 7 };
		assert_int_equal(swb_dist_parse(*s, &d, &err), SWB_EINVAL);
		assert_true(d.kind == SWB_DIST_CONST && d.a == 7); /* untouched on failure */
	}
}

static void test_formatted_distributions_parse_back(void **state)
{
	(void)state;
	static const char *const forms[] = { "2s", "uniform:1s:3s", "exp:20s", "normal:60s:15s", "off", NULL };
	for (const char *const *s = forms; *s; s++) {
		struct swb_dist d = dist(*s), back;
		char text[SWB_DIST_TEXT_MAX];
		swb_dist_format(&d, text, sizeof text);
		back = dist(text);
		assert_int_equal(back.kind, d.kind);
		assert_true(back.a == d.a && back.b == d.b);
	}
}

static void test_constant_always_gives_its_value(void **state)
{
	(void)state;
	struct swb_dist d = dist("750ms");
	int64_t lo, hi;
	double mean = sample_mean(&d, 1, 1000, &lo, &hi, NULL);
	assert_int_equal(lo, 750);
	assert_int_equal(hi, 750);
	assert_true(mean == 750);
}

static void test_uniform_stays_in_bounds_with_the_right_mean(void **state)
{
	(void)state;
	struct swb_dist d = dist("uniform:1s:3s");
	int64_t lo, hi;
	double sd;
	double mean = sample_mean(&d, 11, SAMPLES, &lo, &hi, &sd);
	assert_true(lo >= 1000 && hi <= 3000);
	assert_true(lo < 1010 && hi > 2990); /* the whole range is used */
	assert_true(fabs(mean - 2000) < 2000 * 0.01);
	assert_true(fabs(sd - 2000 / sqrt(12)) < 2000 / sqrt(12) * 0.02);
	assert_true(swb_dist_mean(&d) == 2000);
}

static void test_exponential_has_its_mean_and_spread(void **state)
{
	(void)state;
	struct swb_dist d = dist("exp:1s");
	int64_t lo, hi;
	double sd;
	double mean = sample_mean(&d, 5, SAMPLES, &lo, &hi, &sd);
	assert_true(lo >= 0);
	assert_true(fabs(mean - 1000) < 1000 * 0.02);
	assert_true(fabs(sd - 1000) < 1000 * 0.03); /* an exponential's sd equals its mean */
	assert_true(hi > 8000);                      /* a long tail: P(> 8 mean) * n is about 67 */
}

static void test_normal_has_its_mean_and_sd_and_is_cut_at_zero(void **state)
{
	(void)state;
	struct swb_dist d = dist("normal:60s:15s");
	int64_t lo, hi;
	double sd;
	double mean = sample_mean(&d, 9, SAMPLES, &lo, &hi, &sd);
	assert_true(fabs(mean - 60000) < 60000 * 0.01);
	assert_true(fabs(sd - 15000) < 15000 * 0.02);
	d = dist("normal:1s:2s"); /* half the mass is below zero */
	mean = sample_mean(&d, 9, SAMPLES, &lo, &hi, NULL);
	assert_int_equal(lo, 0);
}

static void test_off_samples_never_and_only_fits_the_every_fields(void **state)
{
	(void)state;
	struct swb_dist d = dist("off");
	swb_rng r;
	swb_bot_rng_init(&r, 1, 1);
	assert_int_equal(swb_dist_sample(&d, &r), -1);
	struct swb_bot_policy p;
	struct swb_err err;
	swb_bot_policy_default(&p);
	assert_int_equal(swb_bot_policy_set(&p, "break-every", "off", &err), SWB_OK);
	assert_int_equal(swb_bot_policy_set(&p, "disconnect_every", "off", &err), SWB_OK);
	assert_int_equal(swb_bot_policy_set(&p, "handle", "off", &err), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "handle"));
}

/* ---- the policy ---- */

static void decide_many(const struct swb_bot_policy *p, uint64_t seed, int n, int counts[3])
{
	swb_rng r;
	swb_bot_rng_init(&r, seed, 1);
	counts[0] = counts[1] = counts[2] = 0;
	for (int i = 0; i < n; i++)
		counts[swb_bot_policy_decide(p, &r)]++;
}

static void test_decisions_follow_the_probabilities(void **state)
{
	(void)state;
	struct swb_bot_policy p;
	struct swb_err err;
	swb_bot_policy_default(&p);
	assert_int_equal(swb_bot_policy_set(&p, "accept", "0.7", &err), SWB_OK);
	assert_int_equal(swb_bot_policy_set(&p, "reject", "0.2", &err), SWB_OK);
	assert_int_equal(swb_bot_policy_set(&p, "ignore", "0.1", &err), SWB_OK);
	assert_int_equal(swb_bot_policy_finish(&p, &err), SWB_OK);
	int c[3];
	decide_many(&p, 123, SAMPLES, c);
	assert_true(fabs(c[SWB_BOT_ACCEPT] / (double)SAMPLES - 0.7) < 0.005);
	assert_true(fabs(c[SWB_BOT_REJECT] / (double)SAMPLES - 0.2) < 0.005);
	assert_true(fabs(c[SWB_BOT_IGNORE] / (double)SAMPLES - 0.1) < 0.005);
}

static void test_accept_takes_what_reject_and_ignore_leave(void **state)
{
	(void)state;
	struct swb_bot_policy p;
	struct swb_err err;
	swb_bot_policy_default(&p);
	assert_int_equal(swb_bot_policy_set(&p, "reject", "0.25", &err), SWB_OK);
	assert_int_equal(swb_bot_policy_finish(&p, &err), SWB_OK);
	assert_true(fabs(p.accept - 0.75) < 1e-12);
	int c[3];
	decide_many(&p, 77, SAMPLES, c);
	assert_int_equal(c[SWB_BOT_IGNORE], 0);
	assert_true(fabs(c[SWB_BOT_ACCEPT] / (double)SAMPLES - 0.75) < 0.005);

	swb_bot_policy_default(&p); /* the default policy always accepts */
	assert_int_equal(swb_bot_policy_finish(&p, &err), SWB_OK);
	decide_many(&p, 77, 1000, c);
	assert_int_equal(c[SWB_BOT_ACCEPT], 1000);
}

static void test_probabilities_that_do_not_sum_to_one_are_refused(void **state)
{
	(void)state;
	struct swb_bot_policy p;
	struct swb_err err;
	swb_bot_policy_default(&p);
	swb_bot_policy_set(&p, "accept", "0.5", &err);
	swb_bot_policy_set(&p, "reject", "0.1", &err);
	assert_int_equal(swb_bot_policy_finish(&p, &err), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "sum to 1"));

	swb_bot_policy_default(&p);
	swb_bot_policy_set(&p, "reject", "0.6", &err);
	swb_bot_policy_set(&p, "ignore", "0.6", &err);
	assert_int_equal(swb_bot_policy_finish(&p, &err), SWB_EINVAL);

	assert_int_equal(swb_bot_policy_set(&p, "accept", "1.5", &err), SWB_EINVAL);
	assert_int_equal(swb_bot_policy_set(&p, "accept", "lots", &err), SWB_EINVAL);
	assert_int_equal(swb_bot_policy_set(&p, "seed", "-3", &err), SWB_EINVAL);
	assert_int_equal(swb_bot_policy_set(&p, "patience", "3s", &err), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "patience"));
}

static void test_policy_documents_overlay_and_refuse_unknown_keys(void **state)
{
	(void)state;
	struct swb_bot_policy p;
	struct swb_err err;
	swb_bot_policy_default(&p);
	json_t *doc = json_pack("{s:f, s:s, s:i, s:s, s:i}", "ignore", 0.2, "think", "1s..2s", "handle", 45, "break_every",
				"exp:10m", "seed", 99);
	assert_int_equal(swb_bot_policy_from_json(&p, doc, &err), SWB_OK);
	json_decref(doc);
	assert_int_equal(swb_bot_policy_finish(&p, &err), SWB_OK);
	assert_true(fabs(p.accept - 0.8) < 1e-12);
	assert_int_equal(p.think.kind, SWB_DIST_UNIFORM);
	assert_true(p.handle.kind == SWB_DIST_CONST && p.handle.a == 45000); /* a number is seconds */
	assert_true(p.break_every.kind == SWB_DIST_EXP && p.break_every.a == 600000);
	assert_int_equal(p.seed, 99);
	assert_int_equal(p.wrapup.kind, SWB_DIST_UNIFORM); /* untouched keys keep their defaults */

	struct swb_bot_policy before = p;
	doc = json_pack("{s:s, s:s}", "think", "3s", "thinking", "5s");
	assert_int_equal(swb_bot_policy_from_json(&p, doc, &err), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "thinking"));
	assert_true(policy_equal(&p, &before)); /* a refused document changes nothing */
	json_decref(doc);
	doc = json_pack("{s:b}", "accept", 1);
	assert_int_equal(swb_bot_policy_from_json(&p, doc, &err), SWB_EINVAL);
	json_decref(doc);
	doc = json_pack("[]");
	assert_int_equal(swb_bot_policy_from_json(&p, doc, &err), SWB_EINVAL);
	json_decref(doc);
}

static void test_policy_round_trips_through_json(void **state)
{
	(void)state;
	struct swb_bot_policy p, back;
	struct swb_err err;
	swb_bot_policy_default(&p);
	swb_bot_policy_set(&p, "reject", "0.125", &err);
	swb_bot_policy_set(&p, "disconnect-every", "exp:2m", &err);
	swb_bot_policy_set(&p, "seed", "18446744073709551615", &err);
	assert_int_equal(swb_bot_policy_finish(&p, &err), SWB_OK);
	json_t *j = swb_bot_policy_to_json(&p);
	swb_bot_policy_default(&back);
	assert_int_equal(swb_bot_policy_from_json(&back, j, &err), SWB_OK);
	assert_int_equal(swb_bot_policy_finish(&back, &err), SWB_OK);
	json_decref(j);
	assert_true(back.seed == p.seed);
	assert_true(back.accept == p.accept && back.reject == p.reject && back.ignore == p.ignore);
	assert_true(back.disconnect_every.kind == SWB_DIST_EXP && back.disconnect_every.a == 120000);
	assert_true(back.handle.kind == p.handle.kind && back.handle.a == p.handle.a);
}

static void test_a_seeded_run_repeats_its_decisions_and_times(void **state)
{
	(void)state;
	struct swb_bot_policy p;
	struct swb_err err;
	swb_bot_policy_default(&p);
	swb_bot_policy_set(&p, "reject", "0.3", &err);
	swb_bot_policy_set(&p, "ignore", "0.2", &err);
	swb_bot_policy_finish(&p, &err);
	/* what one worker does with 500 reservations: decision, think time, handle time */
	int64_t run[2][500][3];
	for (int k = 0; k < 2; k++) {
		swb_rng r;
		swb_bot_rng_init(&r, 2024, 5);
		for (int i = 0; i < 500; i++) {
			run[k][i][0] = swb_bot_policy_decide(&p, &r);
			run[k][i][1] = swb_dist_sample(&p.think, &r);
			run[k][i][2] = swb_dist_sample(&p.handle, &r);
		}
	}
	assert_memory_equal(run[0], run[1], sizeof run[0]);
	swb_rng other;
	swb_bot_rng_init(&other, 2025, 5);
	int differ = 0;
	for (int i = 0; i < 500; i++)
		differ += swb_dist_sample(&p.handle, &other) != run[0][i][2];
	assert_true(differ > 400);
}

/* ---- the histogram ---- */

static void test_histogram_quantiles_are_within_three_percent(void **state)
{
	(void)state;
	struct swb_hist h;
	swb_hist_reset(&h);
	assert_int_equal(swb_hist_quantile(&h, 0.5), 0);
	for (int v = 1; v <= 100000; v++)
		swb_hist_add(&h, v);
	assert_int_equal(h.count, 100000);
	assert_int_equal(h.min, 1);
	assert_int_equal(h.max, 100000);
	static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
		double want = qs[i] * 100000, got = (double)swb_hist_quantile(&h, qs[i]);
		assert_true(got >= want && got <= want * 1.035);
	}
	assert_int_equal(swb_hist_quantile(&h, 1.0), 100000);
	assert_true(fabs(swb_hist_mean(&h) - 50000.5) < 1e-6);
}

static void test_histogram_is_exact_for_small_values_and_merges(void **state)
{
	(void)state;
	struct swb_hist a, b;
	swb_hist_reset(&a);
	swb_hist_reset(&b);
	for (int i = 0; i < 10; i++)
		swb_hist_add(&a, 7);
	for (int i = 0; i < 30; i++)
		swb_hist_add(&b, 40);
	swb_hist_add(&b, -5); /* counts as 0 */
	assert_int_equal(swb_hist_quantile(&a, 0.99), 7);
	swb_hist_merge(&a, &b);
	assert_int_equal(a.count, 41);
	assert_int_equal(a.min, 0);
	assert_int_equal(swb_hist_quantile(&a, 0.2), 7);
	assert_int_equal(swb_hist_quantile(&a, 0.9), 40);
	json_t *j = swb_hist_to_json(&a, 1000);
	assert_true(json_real_value(json_object_get(j, "max")) == 0.04);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 41);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_and_stream_repeat_the_sequence),
		cmocka_unit_test(test_other_streams_and_seeds_differ),
		cmocka_unit_test(test_unit_is_uniform_in_zero_one),
		cmocka_unit_test(test_durations_take_units_and_bare_seconds),
		cmocka_unit_test(test_distributions_parse_every_form),
		cmocka_unit_test(test_formatted_distributions_parse_back),
		cmocka_unit_test(test_constant_always_gives_its_value),
		cmocka_unit_test(test_uniform_stays_in_bounds_with_the_right_mean),
		cmocka_unit_test(test_exponential_has_its_mean_and_spread),
		cmocka_unit_test(test_normal_has_its_mean_and_sd_and_is_cut_at_zero),
		cmocka_unit_test(test_off_samples_never_and_only_fits_the_every_fields),
		cmocka_unit_test(test_decisions_follow_the_probabilities),
		cmocka_unit_test(test_accept_takes_what_reject_and_ignore_leave),
		cmocka_unit_test(test_probabilities_that_do_not_sum_to_one_are_refused),
		cmocka_unit_test(test_policy_documents_overlay_and_refuse_unknown_keys),
		cmocka_unit_test(test_policy_round_trips_through_json),
		cmocka_unit_test(test_a_seeded_run_repeats_its_decisions_and_times),
		cmocka_unit_test(test_histogram_quantiles_are_within_three_percent),
		cmocka_unit_test(test_histogram_is_exact_for_small_values_and_merges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
