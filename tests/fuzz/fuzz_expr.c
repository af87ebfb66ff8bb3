/*
 * fuzz_expr.c - libFuzzer target for common/expr.c.
 *
 * Compiles each input both as an expression and as an order_by list; whatever
 * compiles is evaluated against a small fixed context (every root present,
 * with nested objects, arrays, nulls and mixed types) so the evaluator's
 * paths run too. Everything allocated per input is freed per input.
 *
 *   clang -fsanitize=fuzzer,address,undefined -I common tests/fuzz/fuzz_expr.c \
 *       common/expr.c common/swb_error.c -ljansson -o /tmp/fuzz_expr
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"

static const char *const fixture_json =
	"{\"bare\": {\"type\": \"ticket\", \"skills\": [\"support\", 3, 2.5, true, null, [1], {\"k\": 1}],"
	" \"n\": 5, \"r\": 5.1, \"s\": \"Alice\", \"e\": \"\", \"z\": null, \"o\": {\"a\": {\"b\": [0, 1]}},"
	" \"task\": {\"x\": 1}},"
	" \"task\": {\"language\": \"en\", \"ids\": [\"WK1\", \"WK2\"], \"priority\": 3},"
	" \"worker\": {\"sid\": \"WK1\", \"level\": 7, \"langs\": [\"en\", \"es\"]},"
	" \"other\": {\"sid\": \"WK2\", \"level\": \"high\"},"
	" \"workers\": {\"available\": 0}}";

static json_t *fixture;

/* The fixture is built once and kept for the process: it is reachable, not leaked. */
static void load_fixture(swb_expr_ctx *a, swb_expr_ctx *b)
{
	if (!fixture)
		fixture = json_loads(fixture_json, 0, NULL);
	if (!fixture)
		abort();
	json_t *bare = json_object_get(fixture, "bare");
	json_t *task = json_object_get(fixture, "task");
	json_t *workers = json_object_get(fixture, "workers");
	*a = (swb_expr_ctx){ .bare = bare, .task = task, .worker = json_object_get(fixture, "worker"),
	                     .workers = workers };
	*b = (swb_expr_ctx){ .bare = bare, .worker = json_object_get(fixture, "other") };
}

static void run_expr(const char *src, const swb_expr_ctx *a, const swb_expr_ctx *b)
{
	swb_expr *e = NULL;
	struct swb_err err;
	if (swb_expr_compile(src, &e, &err) != SWB_OK) {
		if (err.msg[0] == '\0')
			abort(); /* every failure must say why */
		return;
	}
	bool always = swb_expr_is_always_true(e);
	bool ra = swb_expr_eval(e, a);
	bool rb = swb_expr_eval(e, b);
	swb_expr_eval(e, NULL);
	if (always && !(ra && rb))
		abort(); /* a constant-true expression evaluated false */
	if (strcmp(swb_expr_source(e), src) != 0)
		abort();
	swb_expr_free(e);
}

static void run_order(const char *src, const swb_expr_ctx *a, const swb_expr_ctx *b)
{
	swb_order *o = NULL;
	struct swb_err err;
	if (swb_order_compile(src, &o, &err) != SWB_OK)
		return;
	int ab = swb_order_cmp(o, a, b);
	int ba = swb_order_cmp(o, b, a);
	if ((ab > 0 && ba >= 0) || (ab < 0 && ba <= 0) || (ab == 0 && ba != 0))
		abort(); /* the order must be antisymmetric */
	if (swb_order_cmp(o, a, a) != 0)
		abort();
	swb_order_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	swb_expr_ctx a, b;
	load_fixture(&a, &b);
	char *src = malloc(size + 1);
	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	run_expr(src, &a, &b);
	run_order(src, &a, &b);
	free(src);
	return 0;
}
