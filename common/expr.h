/*
 * expr.h - TaskRouter's expression language: compile once, evaluate many times.
 *
 * Used for workflow filter `expression`, TaskQueue `target_workers`, target
 * `expression`, `skip_if`, and (through swb_order) target `order_by`.
 *
 * Grammar (keywords case-insensitive):
 *   expr    := or
 *   or      := and { ("OR" | "||") and }
 *   and     := unary { ("AND" | "&&") unary }
 *   unary   := ["NOT" | "!"] primary        -- NOT only before '('
 *   primary := "(" expr ")" | operand [ op operand ]
 *   op      := "==" | "=" | "!=" | "<" | ">" | "<=" | ">=" | "HAS" | "IN" | "NOT IN" | "CONTAINS"
 *   operand := string ('..' or "..") | number | true | false | null | array "[" operand {"," operand} "]"
 *            | path (identifier { "." name | "[" index "]" })
 * Strings have no escapes (use the other quote to embed one). Numbers are
 * `-?digits[.digits]`; leading zeros are allowed (`0800` is 800). Identifiers are
 * [A-Za-z_][A-Za-z0-9_]*; Twilio does not support hyphens in them. Errors count
 * columns in bytes from 1.
 * A lone operand is true when it resolves to a true-ish value (true, non-zero number,
 * non-empty string).
 *
 * Paths: an identifier path `a.b.c` walks nested JSON objects and `a.list[2]`
 * indexes an array from 0 (Twilio's "References"). A first segment of
 * `task`, `worker` or `workers` selects that root of the context when the context
 * provides it; anything else is looked up in the context's `bare` root.
 *
 * Operators (Twilio, "Using TaskRouter Expressions", Comparison Operators):
 *   - ==, !=, <, >, <=, >= and CONTAINS are scalar operators: with an array (or
 *     object) on either side they are false. Numbers compare numerically (1 == 1.0),
 *     strings bytewise and case-sensitively, booleans only with == and !=.
 *   - CONTAINS: the string on the left contains the string on the right (bytewise,
 *     case-sensitive); false for non-strings.
 *   - HAS: the array on the left has an element equal to the scalar on the right.
 *   - IN / NOT IN: the scalar on the left is / is not an element of the array on
 *     the right. An array on the left, or a scalar on the right, gives false
 *     ("using array operators on two scalar values returns false"); `x HAS y` with
 *     x a string is false, not equality.
 *
 * Missing attributes (TaskRouter semantics): a comparison whose attribute does not
 * exist is false for every operator, including `!=` and `NOT IN`; it never fails.
 * A JSON null (and the `null` literal) is treated as missing, since Twilio resolves
 * missing keys to NULL. Type mismatches (a string compared with `<` to a number,
 * `"5" != 5`) are false as well.
 *
 * Ownership: every json_t * in a context is borrowed for the duration of the call.
 * Compiled expressions are immutable and may be shared by many readers.
 */
#ifndef SWB_EXPR_H
#define SWB_EXPR_H

#include <jansson.h>
#include <stdbool.h>

#include "swb_error.h"

/* Longest expression source accepted, to bound parser work on outside input. */
#define SWB_EXPR_MAX_LEN 4096
/* Deepest nesting of parentheses/arrays accepted. */
#define SWB_EXPR_MAX_DEPTH 64

typedef struct swb_expr swb_expr;
typedef struct swb_order swb_order;

/* The values an expression may read. Any root may be NULL (then it is absent). */
typedef struct swb_expr_ctx {
	json_t *bare;    /* roots of paths without a known prefix (borrowed) */
	json_t *task;    /* `task.` paths (borrowed) */
	json_t *worker;  /* `worker.` paths (borrowed) */
	json_t *workers; /* `workers.` paths, e.g. {"available": 3} for skip_if (borrowed) */
} swb_expr_ctx;

/*
 * Compiles src. On success stores a new expression in *out (free with
 * swb_expr_free) and returns SWB_OK; on failure returns SWB_EINVAL (SWB_ENOMEM when
 * out of memory), leaves *out untouched, and err says the 1-based column and what was expected, e.g.
 * "column 12: expected a value after 'HAS', found end of expression".
 */
enum swb_code swb_expr_compile(const char *src, swb_expr **out, struct swb_err *err);

/* Evaluates e against ctx. Never fails: missing or mistyped values are false. */
bool swb_expr_eval(const swb_expr *e, const swb_expr_ctx *ctx);

/* True when e is a constant true expression such as `1==1` (lets callers skip evaluation). */
bool swb_expr_is_always_true(const swb_expr *e);

/* The source text e was compiled from (owned by e). */
const char *swb_expr_source(const swb_expr *e);

void swb_expr_free(swb_expr *e);

/*
 * order_by: a comma-separated list of `path [ASC|DESC]` (ASC default), e.g.
 * "worker.english_level DESC, worker.age ASC". Same path rules as above. Errors as
 * for swb_expr_compile.
 */
enum swb_code swb_order_compile(const char *src, swb_order **out, struct swb_err *err);

/*
 * Compares two contexts by the order: negative when a comes first, positive when b
 * does, 0 when tied (callers break ties, e.g. by longest idle). Per Twilio's
 * "Ordering Workers", only numeric attributes order ("if ordering is attempted on
 * a non-integer attribute, then the expression is ignored"): numbers compare
 * numerically; a missing or non-numeric value (string, boolean, ...) sorts after
 * every number whatever the direction, and two such values tie on that key.
 */
int swb_order_cmp(const swb_order *o, const swb_expr_ctx *a, const swb_expr_ctx *b);

void swb_order_free(swb_order *o);

#endif
