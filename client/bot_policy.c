/*
 * bot_policy.c - the bot's policy: parsing durations, distributions and policy
 * documents, and drawing decisions and times from a seeded splitmix64 source.
 */
#include "bot_policy.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROB_EPSILON 1e-9 /* slack when checking that probabilities sum to 1 */

/* ---- the random source ---- */

void swb_bot_rng_init(swb_rng *r, uint64_t seed, uint64_t stream)
{
	/* one splitmix round over seed and stream, so neighbouring streams do not overlap */
	swb_rng mix;
	swb_rng_seed(&mix, seed ^ (stream * 0xd1b54a32d192ed03ULL));
	swb_rng_seed(r, swb_rng_next(&mix) ^ stream);
}

/* ---- durations and distributions ---- */

enum swb_code swb_duration_parse(const char *s, double *ms, struct swb_err *err)
{
	if (!s || !*s)
		return swb_err_set(err, SWB_EINVAL, "empty duration (write 250ms, 2s, 1.5m or 1h)");
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v) || v < 0)
		return swb_err_set(err, SWB_EINVAL, "bad duration '%s' (write 250ms, 2s, 1.5m or 1h)", s);
	double scale;
	if (*end == '\0' || strcmp(end, "s") == 0)
		scale = 1000;
	else if (strcmp(end, "ms") == 0)
		scale = 1;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		scale = 60000;
	else if (strcmp(end, "h") == 0)
		scale = 3600000;
	else
		return swb_err_set(err, SWB_EINVAL, "bad unit in duration '%s' (ms, s, m or h)", s);
	v *= scale;
	if (v > (double)SWB_DIST_MAX_MS)
		return swb_err_set(err, SWB_EINVAL, "duration '%s' is longer than a day", s);
	*ms = v;
	return SWB_OK;
}

/* Splits s at the first occurrence of sep into buffers a and b; false if absent or too long. */
static bool split2(const char *s, const char *sep, char *a, char *b, size_t len)
{
	const char *p = strstr(s, sep);
	if (!p || (size_t)(p - s) >= len || strlen(p + strlen(sep)) >= len)
		return false;
	memcpy(a, s, (size_t)(p - s));
	a[p - s] = '\0';
	strcpy(b, p + strlen(sep));
	return true;
}

enum swb_code swb_dist_parse(const char *s, struct swb_dist *d, struct swb_err *err)
{
	char a[SWB_DIST_TEXT_MAX], b[SWB_DIST_TEXT_MAX];
	struct swb_dist out = { SWB_DIST_CONST, 0, 0 };
	enum swb_code rc;
	if (!s)
		return swb_err_set(err, SWB_EINVAL, "missing distribution");
	if (strcmp(s, "off") == 0 || strcmp(s, "never") == 0 || strcmp(s, "none") == 0) {
		*d = (struct swb_dist){ SWB_DIST_OFF, 0, 0 };
		return SWB_OK;
	}
	if (strncmp(s, "uniform:", 8) == 0 || (strstr(s, "..") && !strchr(s, ':'))) {
		const char *body = strncmp(s, "uniform:", 8) == 0 ? s + 8 : s;
		if (!split2(body, strncmp(s, "uniform:", 8) == 0 ? ":" : "..", a, b, sizeof a))
			return swb_err_set(err, SWB_EINVAL, "bad distribution '%s' (uniform:LOW:HIGH or LOW..HIGH)", s);
		out.kind = SWB_DIST_UNIFORM;
		if ((rc = swb_duration_parse(a, &out.a, err)) != SWB_OK || (rc = swb_duration_parse(b, &out.b, err)) != SWB_OK)
			return rc;
		if (out.b < out.a)
			return swb_err_set(err, SWB_EINVAL, "bad distribution '%s': the upper bound is below the lower", s);
	} else if (strncmp(s, "exp:", 4) == 0) {
		out.kind = SWB_DIST_EXP;
		if ((rc = swb_duration_parse(s + 4, &out.a, err)) != SWB_OK)
			return rc;
	} else if (strncmp(s, "normal:", 7) == 0) {
		if (!split2(s + 7, ":", a, b, sizeof a))
			return swb_err_set(err, SWB_EINVAL, "bad distribution '%s' (normal:MEAN:SD)", s);
		out.kind = SWB_DIST_NORMAL;
		if ((rc = swb_duration_parse(a, &out.a, err)) != SWB_OK || (rc = swb_duration_parse(b, &out.b, err)) != SWB_OK)
			return rc;
	} else if (strchr(s, ':')) {
		return swb_err_set(err, SWB_EINVAL, "unknown distribution '%s' (uniform:, exp:, normal: or a duration)", s);
	} else if ((rc = swb_duration_parse(s, &out.a, err)) != SWB_OK) {
		return rc;
	}
	*d = out;
	return SWB_OK;
}

void swb_dist_format(const struct swb_dist *d, char *out, size_t len)
{
	switch (d->kind) {
	case SWB_DIST_OFF: snprintf(out, len, "off"); break;
	case SWB_DIST_CONST: snprintf(out, len, "%.0fms", d->a); break;
	case SWB_DIST_UNIFORM: snprintf(out, len, "uniform:%.0fms:%.0fms", d->a, d->b); break;
	case SWB_DIST_EXP: snprintf(out, len, "exp:%.0fms", d->a); break;
	case SWB_DIST_NORMAL: snprintf(out, len, "normal:%.0fms:%.0fms", d->a, d->b); break;
	}
}

int64_t swb_dist_sample(const struct swb_dist *d, swb_rng *r)
{
	double v = 0;
	switch (d->kind) {
	case SWB_DIST_OFF:
		return -1;
	case SWB_DIST_CONST:
		v = d->a;
		break;
	case SWB_DIST_UNIFORM:
		v = d->a + (d->b - d->a) * swb_rng_unit(r);
		break;
	case SWB_DIST_EXP:
		v = -d->a * log(1.0 - swb_rng_unit(r)); /* 1 - u is in (0, 1] */
		break;
	case SWB_DIST_NORMAL: {
		/* Box-Muller; u1 in (0, 1] so the log is finite. */
		double u1 = 1.0 - swb_rng_unit(r), u2 = swb_rng_unit(r);
		v = d->a + d->b * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
		break;
	}
	}
	if (v < 0)
		v = 0;
	if (v > (double)SWB_DIST_MAX_MS)
		v = (double)SWB_DIST_MAX_MS;
	return (int64_t)llround(v);
}

double swb_dist_mean(const struct swb_dist *d)
{
	switch (d->kind) {
	case SWB_DIST_OFF: return -1;
	case SWB_DIST_UNIFORM: return (d->a + d->b) / 2;
	default: return d->a;
	}
}

/* ---- the policy ---- */

void swb_bot_policy_default(struct swb_bot_policy *p)
{
	*p = (struct swb_bot_policy){
		.seed = 1,
		.accept = -1,
		.reject = 0,
		.ignore = 0,
		.think = { SWB_DIST_UNIFORM, 500, 2000 },
		.handle = { SWB_DIST_EXP, 30000, 0 },
		.wrapup = { SWB_DIST_UNIFORM, 2000, 5000 },
		.break_every = { SWB_DIST_OFF, 0, 0 },
		.break_length = { SWB_DIST_UNIFORM, 60000, 180000 },
		.disconnect_every = { SWB_DIST_OFF, 0, 0 },
		.disconnect_length = { SWB_DIST_UNIFORM, 1000, 10000 },
		.recover = { SWB_DIST_UNIFORM, 1000, 3000 },
	};
}

/* The distribution fields, by name: one table for set, overlay and to_json. */
static const struct {
	const char *name;
	size_t off;
} dist_fields[] = {
	{ "think", offsetof(struct swb_bot_policy, think) },
	{ "handle", offsetof(struct swb_bot_policy, handle) },
	{ "wrapup", offsetof(struct swb_bot_policy, wrapup) },
	{ "break_every", offsetof(struct swb_bot_policy, break_every) },
	{ "break_length", offsetof(struct swb_bot_policy, break_length) },
	{ "disconnect_every", offsetof(struct swb_bot_policy, disconnect_every) },
	{ "disconnect_length", offsetof(struct swb_bot_policy, disconnect_length) },
	{ "recover", offsetof(struct swb_bot_policy, recover) },
};
#define N_DIST_FIELDS (sizeof dist_fields / sizeof dist_fields[0])

static const struct {
	const char *name;
	size_t off;
} prob_fields[] = {
	{ "accept", offsetof(struct swb_bot_policy, accept) },
	{ "reject", offsetof(struct swb_bot_policy, reject) },
	{ "ignore", offsetof(struct swb_bot_policy, ignore) },
};

enum swb_code swb_bot_policy_set(struct swb_bot_policy *p, const char *key, const char *value, struct swb_err *err)
{
	char k[32];
	size_t n = strlen(key);
	if (n >= sizeof k)
		return swb_err_set(err, SWB_EINVAL, "unknown policy key '%.40s'", key);
	for (size_t i = 0; i <= n; i++)
		k[i] = key[i] == '-' ? '_' : key[i];
	if (!value)
		return swb_err_set(err, SWB_EINVAL, "policy '%s': missing value", k);
	if (strcmp(k, "seed") == 0) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(value, &end, 0);
		if (end == value || *end || errno || value[0] == '-')
			return swb_err_set(err, SWB_EINVAL, "policy 'seed': '%s' is not a non-negative integer", value);
		p->seed = v;
		return SWB_OK;
	}
	for (size_t i = 0; i < sizeof prob_fields / sizeof prob_fields[0]; i++) {
		if (strcmp(k, prob_fields[i].name) != 0)
			continue;
		char *end;
		errno = 0;
		double v = strtod(value, &end);
		if (end == value || *end || errno || !(v >= 0 && v <= 1))
			return swb_err_set(err, SWB_EINVAL, "policy '%s': '%s' is not a probability in 0..1", k, value);
		*(double *)((char *)p + prob_fields[i].off) = v;
		return SWB_OK;
	}
	for (size_t i = 0; i < N_DIST_FIELDS; i++) {
		if (strcmp(k, dist_fields[i].name) != 0)
			continue;
		struct swb_dist d;
		enum swb_code rc = swb_dist_parse(value, &d, err);
		if (rc != SWB_OK) {
			swb_err_prefix(err, "policy '%s'", k);
			return rc;
		}
		if (d.kind == SWB_DIST_OFF && strcmp(k, "break_every") != 0 && strcmp(k, "disconnect_every") != 0)
			return swb_err_set(err, SWB_EINVAL, "policy '%s': 'off' is only for break_every and disconnect_every", k);
		*(struct swb_dist *)((char *)p + dist_fields[i].off) = d;
		return SWB_OK;
	}
	return swb_err_set(err, SWB_EINVAL,
			   "unknown policy key '%s' (seed, accept, reject, ignore, think, handle, wrapup, break_every, "
			   "break_length, disconnect_every, disconnect_length, recover)",
			   k);
}

enum swb_code swb_bot_policy_from_json(struct swb_bot_policy *p, json_t *doc, struct swb_err *err)
{
	if (!json_is_object(doc))
		return swb_err_set(err, SWB_EINVAL, "a policy must be a JSON object");
	struct swb_bot_policy tmp = *p;
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v) {
		char text[SWB_DIST_TEXT_MAX];
		if (json_is_string(v))
			snprintf(text, sizeof text, "%s", json_string_value(v));
		else if (json_is_integer(v))
			snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
		else if (json_is_real(v))
			snprintf(text, sizeof text, "%.17g", json_real_value(v));
		else
			return swb_err_set(err, SWB_EINVAL, "policy '%s': expected a number or a string", key);
		enum swb_code rc = swb_bot_policy_set(&tmp, key, text, err);
		if (rc != SWB_OK)
			return rc;
	}
	*p = tmp;
	return SWB_OK;
}

enum swb_code swb_bot_policy_finish(struct swb_bot_policy *p, struct swb_err *err)
{
	double rest = p->reject + p->ignore;
	if (p->accept < 0) {
		if (rest > 1 + PROB_EPSILON)
			return swb_err_set(err, SWB_EINVAL, "policy: reject + ignore is %.3f, more than 1", rest);
		p->accept = rest > 1 ? 0 : 1 - rest;
		return SWB_OK;
	}
	double sum = p->accept + rest;
	if (fabs(sum - 1) > PROB_EPSILON)
		return swb_err_set(err, SWB_EINVAL, "policy: accept + reject + ignore is %.3f; they must sum to 1", sum);
	return SWB_OK;
}

json_t *swb_bot_policy_to_json(const struct swb_bot_policy *p)
{
	json_t *j = json_pack("{s:f, s:f, s:f}", "accept", p->accept < 0 ? 1 - p->reject - p->ignore : p->accept,
			      "reject", p->reject, "ignore", p->ignore);
	if (p->seed <= (uint64_t)INT64_MAX) {
		json_object_set_new(j, "seed", json_integer((json_int_t)p->seed));
	} else {
		char seed[24];
		snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
		json_object_set_new(j, "seed", json_string(seed));
	}
	for (size_t i = 0; i < N_DIST_FIELDS; i++) {
		char text[SWB_DIST_TEXT_MAX];
		swb_dist_format((const struct swb_dist *)((const char *)p + dist_fields[i].off), text, sizeof text);
		json_object_set_new(j, dist_fields[i].name, json_string(text));
	}
	return j;
}

enum swb_bot_decision swb_bot_policy_decide(const struct swb_bot_policy *p, swb_rng *r)
{
	double u = swb_rng_unit(r);
	if (u < p->reject)
		return SWB_BOT_REJECT;
	if (u < p->reject + p->ignore)
		return SWB_BOT_IGNORE;
	return SWB_BOT_ACCEPT;
}

const char *swb_bot_decision_name(enum swb_bot_decision d)
{
	switch (d) {
	case SWB_BOT_ACCEPT: return "accept";
	case SWB_BOT_REJECT: return "reject";
	default: return "ignore";
	}
}
