/*
 * sid.h - TaskRouter-style SIDs ("WK" + 32 lowercase hex) and the seeded
 * random source that makes them.
 *
 * The routing core draws SIDs from a swb_rng it owns, so a run with the same
 * seed and the same inputs produces the same SIDs (tests, journal replay).
 */
#ifndef SWB_SID_H
#define SWB_SID_H

#include <stdbool.h>
#include <stdint.h>

/* "WK" + 32 hex + NUL */
#define SWB_SID_LEN 34
#define SWB_SID_SIZE 35

typedef struct swb_rng {
	uint64_t s;
} swb_rng;

void swb_rng_seed(swb_rng *r, uint64_t seed);
uint64_t swb_rng_next(swb_rng *r);
/* Uniform double in [0, 1). */
double swb_rng_unit(swb_rng *r);

/* Writes prefix (2 letters) + 32 hex digits into out (SWB_SID_SIZE bytes). */
void swb_sid_make(swb_rng *r, const char *prefix, char out[SWB_SID_SIZE]);

/* True when s is exactly prefix + 32 hex digits (either case). */
bool swb_sid_valid(const char *s, const char *prefix);

/* True when s looks like any SID: two letters + 32 hex. */
bool swb_sid_like(const char *s);

#endif
