/*
 * bot_policy.h - how a headless agent (swb-bot) behaves: the probability of
 * accepting, rejecting or ignoring a reservation, and the time distributions
 * for thinking, handling, wrap-up, breaks and chaos disconnects. Also the
 * seeded random source they are drawn from, so a run can be repeated.
 *
 * Pure code (no I/O, no clock): tests/test_bot_policy.c drives it with a
 * fixed seed.
 *
 * Durations are written "250ms", "2s", "1.5m", "1h" or a bare number of
 * seconds. A distribution is one of
 *   "2s"                    constant
 *   "uniform:1s:3s"         uniform between the bounds ("1s..3s" is the same)
 *   "exp:20s"               exponential with that mean
 *   "normal:60s:15s"        normal (mean, standard deviation), cut at 0
 *   "off"                   never (only meaningful for break_every and disconnect_every)
 */
#ifndef SWB_BOT_POLICY_H
#define SWB_BOT_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sid.h"
#include "swb_error.h"

/* Longest sample a distribution returns, ms (a day): keeps timers and sums sane. */
#define SWB_DIST_MAX_MS (24LL * 3600 * 1000)

/* Room for a formatted distribution ("normal:86400000ms:86400000ms"). */
#define SWB_DIST_TEXT_MAX 64

/* ---- the random source ---- */

/*
 * Seeds r (common/sid.h's splitmix64) for one stream of a run: each worker of
 * a bot draws from its own stream, so the same (seed, stream) repeats what
 * that worker does whatever the others do.
 */
void swb_bot_rng_init(swb_rng *r, uint64_t seed, uint64_t stream);

/* ---- distributions of durations ---- */

enum swb_dist_kind { SWB_DIST_OFF, SWB_DIST_CONST, SWB_DIST_UNIFORM, SWB_DIST_EXP, SWB_DIST_NORMAL };

struct swb_dist {
	enum swb_dist_kind kind;
	double a, b; /* ms: const (a), uniform (a..b), exp (mean a), normal (mean a, sd b) */
};

/* Parses a duration ("250ms", "2s", "1.5m", "1h", "3" = 3 s) into ms. */
enum swb_code swb_duration_parse(const char *s, double *ms, struct swb_err *err);

/* Parses a distribution (see the top of this file). d is written only on success. */
enum swb_code swb_dist_parse(const char *s, struct swb_dist *d, struct swb_err *err);

/* Formats d the way swb_dist_parse reads it, into out (SWB_DIST_TEXT_MAX bytes). */
void swb_dist_format(const struct swb_dist *d, char *out, size_t len);

/* One sample in ms, in 0..SWB_DIST_MAX_MS; -1 for SWB_DIST_OFF. */
int64_t swb_dist_sample(const struct swb_dist *d, swb_rng *r);

/* The distribution's mean in ms (-1 for off; a normal's mean ignores the cut at 0). */
double swb_dist_mean(const struct swb_dist *d);

/* ---- the policy ---- */

enum swb_bot_decision { SWB_BOT_ACCEPT, SWB_BOT_REJECT, SWB_BOT_IGNORE };

struct swb_bot_policy {
	uint64_t seed;
	/* Probabilities; accept < 0 means "whatever reject and ignore leave". */
	double accept, reject, ignore;
	struct swb_dist think;             /* reservation seen -> accept/reject sent */
	struct swb_dist handle;            /* accepted -> task moved to wrapping */
	struct swb_dist wrapup;            /* wrapping -> task completed */
	struct swb_dist break_every;       /* time between breaks (off: never) */
	struct swb_dist break_length;      /* time on Break */
	struct swb_dist disconnect_every;  /* time between chaos disconnects (off: never) */
	struct swb_dist disconnect_length; /* time disconnected */
	struct swb_dist recover;           /* moved out of Available by the node -> back to Available */
};

/*
 * The defaults: always accept, think 0.5..2 s, handle exp 30 s, wrap-up 2..5 s,
 * no breaks, no disconnects, recover after 1..3 s, seed 1.
 */
void swb_bot_policy_default(struct swb_bot_policy *p);

/*
 * Sets one field by name from text: "seed", "accept", "reject", "ignore"
 * (numbers in 0..1) or a distribution field ("think", "handle", "wrapup",
 * "break_every", "break_length", "disconnect_every", "disconnect_length",
 * "recover"). A dash in the key is read as an underscore. Unknown keys and bad
 * values are SWB_EINVAL, naming the key; p is unchanged on failure.
 */
enum swb_code swb_bot_policy_set(struct swb_bot_policy *p, const char *key, const char *value, struct swb_err *err);

/*
 * Overlays a policy document (borrowed) onto p: an object with the keys
 * above; numbers or strings for probabilities and the seed, strings or numbers
 * (seconds) for distributions. Unknown keys are refused. p is unchanged on
 * failure.
 */
enum swb_code swb_bot_policy_from_json(struct swb_bot_policy *p, json_t *doc, struct swb_err *err);

/*
 * Checks the probabilities (each in 0..1; accept, reject and ignore must sum to
 * 1 when all three are set, reject + ignore at most 1 otherwise) and fills in
 * accept when it was left to the rest. Call once after the last set/overlay.
 */
enum swb_code swb_bot_policy_finish(struct swb_bot_policy *p, struct swb_err *err);

/* The policy as a document swb_bot_policy_from_json reads back (a new reference). */
json_t *swb_bot_policy_to_json(const struct swb_bot_policy *p);

/* Draws what to do with a reservation. The policy must be finished. */
enum swb_bot_decision swb_bot_policy_decide(const struct swb_bot_policy *p, swb_rng *r);

/* "accept", "reject" or "ignore". */
const char *swb_bot_decision_name(enum swb_bot_decision d);

#endif
