/*
 * sid.c - SIDs and a splitmix64 random source.
 */
#include "sid.h"

#include <ctype.h>
#include <string.h>

void swb_rng_seed(swb_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t swb_rng_next(swb_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double swb_rng_unit(swb_rng *r)
{
	return (double)(swb_rng_next(r) >> 11) / (double)(1ULL << 53);
}

void swb_sid_make(swb_rng *r, const char *prefix, char out[SWB_SID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	out[0] = prefix[0];
	out[1] = prefix[1];
	for (int half = 0; half < 2; half++) {
		uint64_t v = swb_rng_next(r);
		for (int i = 0; i < 16; i++)
			out[2 + half * 16 + i] = hex[(v >> (i * 4)) & 15];
	}
	out[SWB_SID_LEN] = '\0';
}

static bool hex32(const char *s)
{
	for (int i = 0; i < 32; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return s[32] == '\0';
}

bool swb_sid_valid(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, 2) == 0 && strlen(s) == SWB_SID_LEN && hex32(s + 2);
}

bool swb_sid_like(const char *s)
{
	return s && strlen(s) == SWB_SID_LEN && isupper((unsigned char)s[0]) &&
	       isupper((unsigned char)s[1]) && hex32(s + 2);
}
