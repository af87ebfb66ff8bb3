/*
 * test_expr.c - tests common/expr.c: TaskRouter expressions and order_by.
 *
 * Named tests pin each operator, literal, path rule and error; the data-driven
 * part reads tests/data/expr/ (bad.txt, bad_order.txt: expression<TAB>expected
 * error substring; eval.txt: true|false<TAB>expression against context.json),
 * in the style of jansson's test suites.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"

/* ---- helpers ----------------------------------------------------------- */

static json_t *parse_json(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	if (!j)
		fail_msg("bad test JSON '%s': %s", text, jerr.text);
	return j;
}

static swb_expr *compile_ok(const char *src)
{
	swb_expr *e = NULL;
	struct swb_err err = { 0 };
	if (swb_expr_compile(src, &e, &err) != SWB_OK)
		fail_msg("'%s' did not compile: %s", src, err.msg);
	return e;
}

static bool eval_ctx(const char *src, const swb_expr_ctx *ctx)
{
	swb_expr *e = compile_ok(src);
	bool r = swb_expr_eval(e, ctx);
	swb_expr_free(e);
	return r;
}

/* Evaluates src with bare_json (NULL for none) as the bare root. */
static bool eval_bare(const char *src, const char *bare_json)
{
	json_t *bare = bare_json ? parse_json(bare_json) : NULL;
	swb_expr_ctx ctx = { .bare = bare };
	bool r = eval_ctx(src, &ctx);
	json_decref(bare);
	return r;
}

static bool always_true(const char *src)
{
	swb_expr *e = compile_ok(src);
	bool r = swb_expr_is_always_true(e);
	swb_expr_free(e);
	return r;
}

static int sentinel_target;
#define SENTINEL ((void *)&sentinel_target)

/* Asserts src fails with SWB_EINVAL, leaves *out alone, and the message holds want. */
static void assert_compile_error(const char *src, const char *want)
{
	swb_expr *e = SENTINEL;
	struct swb_err err = { 0 };
	assert_int_equal(swb_expr_compile(src, &e, &err), SWB_EINVAL);
	assert_ptr_equal(e, SENTINEL);
	assert_int_equal(err.code, SWB_EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("'%s': got error \"%s\", want \"%s\"", src, err.msg, want);
}

static void assert_order_error(const char *src, const char *want)
{
	swb_order *o = SENTINEL;
	struct swb_err err = { 0 };
	assert_int_equal(swb_order_compile(src, &o, &err), SWB_EINVAL);
	assert_ptr_equal(o, SENTINEL);
	if (!strstr(err.msg, want))
		fail_msg("'%s': got error \"%s\", want \"%s\"", src, err.msg, want);
}

static bool msg_is_printable(const char *msg)
{
	for (const unsigned char *c = (const unsigned char *)msg; *c; c++)
		if (*c < 0x20 || *c >= 0x7f)
			return false;
	return true;
}

/* ---- comparison operators ---------------------------------------------- */

static void test_double_equals_matches_equal_string(void **state)
{
	assert_true(eval_bare("type == 'ticket'", "{\"type\": \"ticket\"}"));
	assert_false(eval_bare("type == 'sales'", "{\"type\": \"ticket\"}"));
}

static void test_single_equals_is_equality(void **state)
{
	assert_true(eval_bare("day = 'Sat'", "{\"day\": \"Sat\"}"));
	assert_false(eval_bare("day = 'Sun'", "{\"day\": \"Sat\"}"));
}

static void test_not_equal_is_true_for_different_values(void **state)
{
	assert_true(eval_bare("\"apple\" != \"orange\"", NULL));
	assert_true(eval_bare("0 != 1", NULL));
	assert_false(eval_bare("n != 3", "{\"n\": 3}"));
}

static void test_less_and_greater_compare_numbers(void **state)
{
	const char *w = "{\"n\": 5}";
	assert_true(eval_bare("n < 6", w));
	assert_false(eval_bare("n < 5", w));
	assert_true(eval_bare("n > 4", w));
	assert_false(eval_bare("n > 5", w));
}

static void test_less_equal_and_greater_equal_include_equality(void **state)
{
	const char *w = "{\"n\": 5}";
	assert_true(eval_bare("n <= 5", w));
	assert_true(eval_bare("n >= 5", w));
	assert_false(eval_bare("n <= 4.9", w));
	assert_false(eval_bare("n >= 5.1", w));
}

static void test_integer_and_float_compare_numerically(void **state)
{
	assert_true(eval_bare("1 == 1.0", NULL));
	assert_true(eval_bare("r == 2", "{\"r\": 2.0}"));
	assert_true(eval_bare("r > 5", "{\"r\": 5.1}"));
}

static void test_large_integers_compare_exactly(void **state)
{
	const char *w = "{\"id\": 9007199254740993}";
	assert_true(eval_bare("id == 9007199254740993", w));
	assert_false(eval_bare("id == 9007199254740992", w));
}

static void test_strings_order_bytewise(void **state)
{
	assert_true(eval_bare("'abc' < 'abd'", NULL));
	assert_true(eval_bare("'ab' < 'abc'", NULL));
	assert_true(eval_bare("'B' < 'a'", NULL));
	assert_true(eval_bare("'b' >= 'b'", NULL));
}

static void test_string_equality_is_case_sensitive(void **state)
{
	assert_false(eval_bare("tier == 'gold'", "{\"tier\": \"Gold\"}"));
	assert_true(eval_bare("tier != 'gold'", "{\"tier\": \"Gold\"}"));
}

static void test_booleans_compare_with_equality_only(void **state)
{
	const char *w = "{\"vip\": true, \"off\": false}";
	assert_true(eval_bare("vip == true", w));
	assert_true(eval_bare("off == false", w));
	assert_true(eval_bare("vip != off", w));
	assert_false(eval_bare("vip > off", w));
	assert_false(eval_bare("off < vip", w));
}

/* ---- array and string operators ---------------------------------------- */

static void test_has_matches_array_member(void **state)
{
	const char *w = "{\"skills\": [\"support\", \"sales\"]}";
	assert_true(eval_bare("skills HAS 'support'", w));
	assert_false(eval_bare("skills HAS 'billing'", w));
}

static void test_has_compares_numbers_numerically(void **state)
{
	const char *w = "{\"levels\": [1, 2.5, 3]}";
	assert_true(eval_bare("levels HAS 3.0", w));
	assert_true(eval_bare("levels HAS 2.5", w));
	assert_false(eval_bare("levels HAS '3'", w));
}

static void test_has_on_string_is_false(void **state)
{
	assert_false(eval_bare("name HAS 'Alice'", "{\"name\": \"Alice\"}"));
}

static void test_has_with_array_on_right_is_false(void **state)
{
	assert_false(eval_bare("a HAS ['x']", "{\"a\": [\"x\"]}"));
}

static void test_has_ignores_nested_arrays_and_objects(void **state)
{
	const char *w = "{\"m\": [[1], {\"k\": 1}, null]}";
	assert_false(eval_bare("m HAS 1", w));
	assert_false(eval_bare("m HAS null", w));
}

static void test_in_matches_member_of_literal_array(void **state)
{
	const char *w = "{\"language\": \"en\"}";
	assert_true(eval_bare("language IN [\"en\", \"es\"]", w));
	assert_false(eval_bare("language IN ['fr', 'de']", w));
}

static void test_in_matches_member_of_attribute_array(void **state)
{
	json_t *task = parse_json("{\"preferred\": [\"WK1\", \"WK2\"]}");
	json_t *worker = parse_json("{\"sid\": \"WK2\"}");
	swb_expr_ctx ctx = { .task = task, .worker = worker };
	assert_true(eval_ctx("worker.sid IN task.preferred", &ctx));
	json_decref(task);
	json_decref(worker);
}

static void test_in_with_array_on_left_is_false(void **state)
{
	const char *w = "{\"langs\": [\"en\", \"es\"]}";
	assert_false(eval_bare("langs IN ['en', 'es']", w));
	assert_false(eval_bare("langs NOT IN ['fr']", w));
}

static void test_in_with_scalar_on_right_is_false(void **state)
{
	assert_false(eval_bare("'en' IN 'en'", NULL));
	assert_false(eval_bare("'en' NOT IN 'fr'", NULL));
}

static void test_not_in_is_true_when_absent_from_array(void **state)
{
	const char *w = "{\"sid\": \"WK1\", \"dnc\": [\"WK9\"]}";
	assert_true(eval_bare("sid NOT IN dnc", w));
	assert_false(eval_bare("'WK9' NOT IN dnc", w));
}

static void test_contains_matches_substring(void **state)
{
	const char *w = "{\"name\": \"Alice Smith\"}";
	assert_true(eval_bare("name CONTAINS 'Smith'", w));
	assert_true(eval_bare("name CONTAINS 'ce S'", w));
	assert_true(eval_bare("name CONTAINS ''", w));
	assert_false(eval_bare("name CONTAINS 'Jones'", w));
}

static void test_contains_is_case_sensitive(void **state)
{
	assert_false(eval_bare("name CONTAINS 'smith'", "{\"name\": \"Alice Smith\"}"));
}

static void test_contains_on_non_strings_is_false(void **state)
{
	assert_false(eval_bare("skills CONTAINS 'support'", "{\"skills\": [\"support\"]}"));
	assert_false(eval_bare("n CONTAINS 1", "{\"n\": 123}"));
}

/* ---- logic ------------------------------------------------------------- */

static void test_and_requires_both_sides(void **state)
{
	assert_true(eval_bare("1 == 1 AND 2 == 2", NULL));
	assert_false(eval_bare("1 == 1 AND 2 == 3", NULL));
	assert_false(eval_bare("1 == 2 AND 2 == 2", NULL));
}

static void test_or_requires_either_side(void **state)
{
	assert_true(eval_bare("1 == 2 OR 2 == 2", NULL));
	assert_true(eval_bare("1 == 1 OR 2 == 3", NULL));
	assert_false(eval_bare("1 == 2 OR 2 == 3", NULL));
}

static void test_symbolic_and_or_work_like_keywords(void **state)
{
	assert_true(eval_bare("1 == 1 && 2 == 2", NULL));
	assert_true(eval_bare("1 == 2 || 2 == 2", NULL));
	assert_false(eval_bare("1 == 2 || 2 == 3 && 1 == 1", NULL));
}

static void test_and_binds_tighter_than_or(void **state)
{
	assert_true(eval_bare("true OR true AND false", NULL));
	assert_false(eval_bare("(true OR true) AND false", NULL));
}

static void test_parentheses_group(void **state)
{
	const char *w = "{\"language\": \"fr\", \"skill_rating\": 5.1}";
	assert_true(eval_bare("(language == \"en\" OR language == \"fr\") AND skill_rating >= 5.1", w));
	assert_true(eval_bare("((((1 == 1))))", NULL));
}

static void test_not_before_parens_negates(void **state)
{
	assert_true(eval_bare("NOT (1 == 2)", NULL));
	assert_false(eval_bare("NOT (1 == 1)", NULL));
	assert_true(eval_bare("NOT (NOT (1 == 1))", NULL));
}

static void test_bang_before_parens_negates(void **state)
{
	assert_true(eval_bare("!(1 == 2)", NULL));
	assert_false(eval_bare("! (1 == 1)", NULL));
}

static void test_not_without_parens_is_rejected(void **state)
{
	assert_compile_error("NOT a == 1", "column 5: expected '(' after 'NOT', found 'a'");
}

static void test_lone_value_is_true_when_true_ish(void **state)
{
	const char *w = "{\"t\": true, \"f\": false, \"one\": 1, \"zero\": 0.0, \"s\": \"x\", "
	                "\"e\": \"\", \"arr\": [1], \"obj\": {\"a\": 1}, \"n\": null}";
	assert_true(eval_bare("t", w));
	assert_true(eval_bare("one", w));
	assert_true(eval_bare("s", w));
	assert_false(eval_bare("f", w));
	assert_false(eval_bare("zero", w));
	assert_false(eval_bare("e", w));
	assert_false(eval_bare("arr", w));
	assert_false(eval_bare("obj", w));
	assert_false(eval_bare("n", w));
	assert_false(eval_bare("missing", w));
}

/* ---- literals ---------------------------------------------------------- */

static void test_single_and_double_quoted_strings_are_equal(void **state)
{
	assert_true(eval_bare("'gold' == \"gold\"", NULL));
}

static void test_string_may_hold_the_other_quote(void **state)
{
	const char *w = "{\"q\": \"it's \\\"x\\\"\"}";
	assert_true(eval_bare("q CONTAINS \"it's\"", w));
	assert_true(eval_bare("q CONTAINS '\"x\"'", w));
}

static void test_string_keeps_backslashes_and_utf8(void **state)
{
	assert_true(eval_bare("p == 'C:\\dir'", "{\"p\": \"C:\\\\dir\"}"));
	assert_true(eval_bare("c == 'K\xc3\xb6ln'", "{\"c\": \"K\\u00f6ln\"}"));
}

static void test_negative_numbers(void **state)
{
	assert_true(eval_bare("t == -3", "{\"t\": -3}"));
	assert_true(eval_bare("-3 < -2.5", NULL));
	assert_true(eval_bare("t > -10", "{\"t\": -3}"));
}

static void test_float_literals(void **state)
{
	assert_true(eval_bare("r == 3.141529", "{\"r\": 3.141529}"));
	assert_true(eval_bare("1.00 == 1", NULL));
	assert_true(eval_bare("r >= 5.1", "{\"r\": 5.1}"));
}

static void test_leading_zeros_are_decimal(void **state)
{
	assert_true(eval_bare("0800 == 800", NULL));
	assert_true(eval_bare("t > 0800 AND t < 1830", "{\"t\": 900}"));
}

static void test_boolean_literals_match_json_booleans(void **state)
{
	const char *w = "{\"a\": true, \"b\": false}";
	assert_true(eval_bare("a == true AND b == false", w));
	assert_false(eval_bare("a == false", w));
	assert_true(eval_bare("(a == TRUE) OR (b == True)", w));
}

static void test_array_literals_may_hold_values_and_paths(void **state)
{
	const char *w = "{\"x\": \"en\", \"y\": \"fr\"}";
	assert_true(eval_bare("'fr' IN [x, y]", w));
	assert_true(eval_bare("2 IN [1, 2.0, 'three', true]", NULL));
	assert_true(eval_bare("[1, 2] HAS 2", NULL));
	assert_false(eval_bare("1 IN [[1], [2]]", NULL));
}

static void test_null_literal_compares_false(void **state)
{
	assert_false(eval_bare("null == null", NULL));
	assert_false(eval_bare("n == null", "{\"n\": null}"));
	assert_false(eval_bare("n != null", "{\"n\": 1}"));
}

static void test_huge_number_is_rejected(void **state)
{
	char src[420] = "a == ";
	memset(src + 5, '9', 400);
	src[405] = '\0';
	assert_compile_error(src, "column 6: expected a number within the range of a double");
	src[400] = '.';
	assert_compile_error(src, "column 6: expected a number within the range of a double");
}

static void test_long_number_literals_keep_their_magnitude(void **state)
{
	char src[420] = "a > 1";
	memset(src + 5, '0', 300);
	strcpy(src + 305, ".5"); /* 1e300 + 0.5 */
	assert_true(eval_bare(src, "{\"a\": 1e301}"));
	assert_false(eval_bare(src, "{\"a\": 1e299}"));
	assert_true(eval_bare("a > 0.000000000000000000000000000001", "{\"a\": 1e-29}"));
	assert_true(eval_bare("a == 0.30000000000000001", "{\"a\": 0.3}"));
}

static void test_integer_beyond_64_bits_becomes_a_double(void **state)
{
	assert_true(eval_bare("n > 18446744073709551616", "{\"n\": 1e20}"));
}

/* ---- paths ------------------------------------------------------------- */

static void test_nested_path_walks_objects(void **state)
{
	const char *w = "{\"a\": {\"b\": {\"c\": 7}}}";
	assert_true(eval_bare("a.b.c == 7", w));
	assert_false(eval_bare("a.b.d == 7", w));
	assert_false(eval_bare("a.b.c.d == 7", w));
}

static void test_array_index_in_path_counts_from_zero(void **state)
{
	const char *w = "{\"object\": {\"array\": [\"a\", \"b\", \"c\"]}, \"m\": [[1, 2], [3, 4]]}";
	assert_true(eval_bare("object.array[2] == \"c\"", w));
	assert_true(eval_bare("object.array[0] == 'a'", w));
	assert_false(eval_bare("object.array[3] == 'c'", w));
	assert_true(eval_bare("m[1][0] == 3", w));
	assert_false(eval_bare("object[0] == 'a'", w));
}

static void test_task_worker_and_workers_roots(void **state)
{
	json_t *task = parse_json("{\"lang\": \"en\", \"priority\": 2}");
	json_t *worker = parse_json("{\"langs\": [\"en\"], \"level\": 9}");
	json_t *workers = parse_json("{\"available\": 0}");
	swb_expr_ctx ctx = { .task = task, .worker = worker, .workers = workers };
	assert_true(eval_ctx("worker.langs HAS task.lang", &ctx));
	assert_true(eval_ctx("worker.level > task.priority", &ctx));
	assert_true(eval_ctx("workers.available == 0", &ctx));
	assert_false(eval_ctx("lang == 'en'", &ctx));
	json_decref(task);
	json_decref(worker);
	json_decref(workers);
}

static void test_root_prefix_reads_bare_when_root_absent(void **state)
{
	assert_true(eval_bare("task.priority == 1", "{\"task\": {\"priority\": 1}}"));
}

static void test_root_wins_over_bare_key_of_same_name(void **state)
{
	json_t *bare = parse_json("{\"task\": {\"priority\": 1}, \"x\": 5}");
	json_t *task = parse_json("{\"priority\": 2}");
	swb_expr_ctx ctx = { .bare = bare, .task = task };
	assert_true(eval_ctx("task.priority == 2", &ctx));
	assert_true(eval_ctx("x == 5", &ctx));
	json_decref(bare);
	json_decref(task);
}

static void test_root_names_are_case_sensitive(void **state)
{
	json_t *task = parse_json("{\"a\": 1}");
	swb_expr_ctx ctx = { .task = task };
	assert_false(eval_ctx("Task.a == 1", &ctx));
	json_decref(task);
}

static void test_keyword_named_path_segments_are_attributes(void **state)
{
	const char *w = "{\"o\": {\"in\": 1, \"and\": 2}, \"asc\": 3}";
	assert_true(eval_bare("o.in == 1 AND o.and == 2", w));
	assert_true(eval_bare("asc == 3", w));
	assert_true(eval_bare("desc[1] == 2", "{\"desc\": [1, 2]}"));
}

/* ---- constant expressions ---------------------------------------------- */

static void test_one_equals_one_is_always_true(void **state)
{
	assert_true(always_true("1==1"));
	assert_true(eval_bare("1==1", NULL));
}

static void test_constant_logic_is_always_true(void **state)
{
	assert_true(always_true("true"));
	assert_true(always_true("NOT (1 == 2)"));
	assert_true(always_true("x == 1 OR 1 == 1"));
	assert_true(always_true("(1 == 1) AND ('a' IN ['a', 'b'])"));
}

static void test_expressions_reading_attributes_are_not_always_true(void **state)
{
	assert_false(always_true("x == 1"));
	assert_false(always_true("1 == 1 AND x == 1"));
	assert_false(always_true("1 IN [x, 1] AND x"));
	assert_false(always_true("1 == 2"));
	assert_false(swb_expr_is_always_true(NULL));
}

/* ---- keywords ---------------------------------------------------------- */

static void test_keywords_are_case_insensitive(void **state)
{
	const char *w = "{\"s\": [\"a\"], \"l\": \"en\", \"n\": \"xyz\"}";
	assert_true(eval_bare("s has 'a' and l in ['en'] and l Not In ['fr'] and n contains 'y'", w));
	assert_true(eval_bare("s HaS 'a' oR false", w));
	assert_true(eval_bare("not (FALSE) AND NULL == 1 or TRUE", w));
}

static void test_keyword_before_bracket_without_space_is_not_indexed(void **state)
{
	assert_true(eval_bare("l IN['en']", "{\"l\": \"en\"}"));
	assert_true(eval_bare("l == 'en' AND[1] HAS 1", "{\"l\": \"en\"}"));
	assert_true(eval_bare("NOT(l NOT IN['en'])", "{\"l\": \"en\"}"));
}

/* ---- missing attributes and type mismatches ----------------------------- */

static const char *const all_ops[] = {
	"==", "=", "!=", "<", ">", "<=", ">=", "HAS", "IN", "NOT IN", "CONTAINS",
};

static void test_missing_attribute_is_false_for_every_operator(void **state)
{
	const char *rhs[] = { "1", "'a'", "true", "[1, 'a']", "other" };
	char src[64];
	for (size_t i = 0; i < sizeof all_ops / sizeof all_ops[0]; i++) {
		for (size_t j = 0; j < sizeof rhs / sizeof rhs[0]; j++) {
			snprintf(src, sizeof src, "missing %s %s", all_ops[i], rhs[j]);
			if (eval_bare(src, "{\"other\": [1]}"))
				fail_msg("'%s' was true", src);
			snprintf(src, sizeof src, "%s %s missing", rhs[j], all_ops[i]);
			if (eval_bare(src, "{\"other\": [1]}"))
				fail_msg("'%s' was true", src);
		}
	}
}

static void test_missing_attribute_is_false_for_not_equal(void **state)
{
	assert_false(eval_bare("tier != 'Gold'", "{}"));
}

static void test_missing_attribute_is_false_for_not_in(void **state)
{
	assert_false(eval_bare("sid NOT IN ['WK1']", "{}"));
}

static void test_json_null_attribute_is_treated_as_missing(void **state)
{
	const char *w = "{\"n\": null}";
	assert_false(eval_bare("n != 1", w));
	assert_false(eval_bare("n NOT IN [1]", w));
}

static void test_missing_roots_and_null_context_are_all_missing(void **state)
{
	swb_expr_ctx empty = { 0 };
	assert_false(eval_ctx("task.a != 1", &empty));
	assert_false(eval_ctx("a NOT IN [1]", NULL));
	assert_true(eval_ctx("NOT (a == 1)", NULL));
	assert_false(swb_expr_eval(NULL, &empty));
}

static void test_type_mismatch_is_false_for_every_operator(void **state)
{
	const char *w = "{\"s\": \"5\", \"n\": 5, \"b\": true}";
	const char *pairs[][2] = { { "s", "5" }, { "n", "'5'" }, { "b", "1" }, { "n", "true" } };
	char src[64];
	for (size_t i = 0; i < sizeof all_ops / sizeof all_ops[0]; i++) {
		for (size_t j = 0; j < sizeof pairs / sizeof pairs[0]; j++) {
			snprintf(src, sizeof src, "%s %s %s", pairs[j][0], all_ops[i], pairs[j][1]);
			if (eval_bare(src, w))
				fail_msg("'%s' was true", src);
		}
	}
}

static void test_scalar_operators_on_arrays_are_false(void **state)
{
	const char *w = "{\"a\": [1], \"b\": [1], \"o\": {\"k\": 1}}";
	assert_false(eval_bare("a == b", w));
	assert_false(eval_bare("a != [2]", w));
	assert_false(eval_bare("a < [2]", w));
	assert_false(eval_bare("o == o", w));
	assert_false(eval_bare("o != 1", w));
}

/* ---- source, errors, limits --------------------------------------------- */

static void test_source_returns_compiled_text(void **state)
{
	swb_expr *e = compile_ok("skills HAS 'support'");
	assert_string_equal(swb_expr_source(e), "skills HAS 'support'");
	swb_expr_free(e);
	swb_expr_free(NULL);
}

static void test_error_gives_column_and_expectation(void **state)
{
	assert_compile_error("a.skill HAS", "column 12: expected a value after 'HAS', found end of expression");
	assert_compile_error("", "column 1: expected an expression, found end of expression");
	assert_compile_error("'abc", "expected a closing ' for the string that starts at column 1");
}

static void test_null_source_is_rejected(void **state)
{
	swb_expr *e = SENTINEL;
	swb_order *o = SENTINEL;
	assert_int_equal(swb_expr_compile(NULL, &e, NULL), SWB_EINVAL);
	assert_int_equal(swb_order_compile(NULL, &o, NULL), SWB_EINVAL);
	assert_ptr_equal(e, SENTINEL);
	assert_ptr_equal(o, SENTINEL);
}

static void test_error_without_err_struct_still_fails(void **state)
{
	swb_expr *e = SENTINEL;
	assert_int_equal(swb_expr_compile("a ==", &e, NULL), SWB_EINVAL);
	assert_ptr_equal(e, SENTINEL);
}

/* Builds "x == 'aaa...'" of exactly len bytes. */
static char *expr_of_length(size_t len)
{
	char *s = malloc(len + 1);
	assert_non_null(s);
	memset(s, 'a', len);
	memcpy(s, "x == '", 6);
	s[len - 1] = '\'';
	s[len] = '\0';
	return s;
}

static void test_expression_at_max_length_is_accepted(void **state)
{
	char *s = expr_of_length(SWB_EXPR_MAX_LEN);
	swb_expr *e = compile_ok(s);
	swb_expr_free(e);
	free(s);
}

static void test_overlong_expression_is_rejected(void **state)
{
	char *s = expr_of_length(SWB_EXPR_MAX_LEN + 1);
	assert_compile_error(s, "column 4097: expression is longer than the limit of 4096 bytes");
	swb_order *o = SENTINEL;
	assert_int_equal(swb_order_compile(s, &o, NULL), SWB_EINVAL);
	free(s);
}

/* depth copies of open, then middle, then depth copies of close. */
static char *nested(int depth, const char *open, const char *middle, const char *close)
{
	size_t len = (size_t)depth * (strlen(open) + strlen(close)) + strlen(middle) + 1;
	char *s = calloc(1, len);
	assert_non_null(s);
	for (int i = 0; i < depth; i++)
		strcat(s, open);
	strcat(s, middle);
	for (int i = 0; i < depth; i++)
		strcat(s, close);
	return s;
}

static void test_nesting_at_limit_is_accepted(void **state)
{
	char *parens = nested(SWB_EXPR_MAX_DEPTH, "(", "1 == 1", ")");
	char *nots = nested(SWB_EXPR_MAX_DEPTH, "NOT (", "1 == 1", ")");
	char *arrays = nested(SWB_EXPR_MAX_DEPTH - 1, "[", "1", "]");
	char *in_array = malloc(strlen(arrays) + 16);
	assert_non_null(in_array);
	sprintf(in_array, "1 IN [%s]", arrays);
	assert_true(eval_bare(parens, NULL));
	assert_true(eval_bare(nots, NULL));
	assert_false(eval_bare(in_array, NULL));
	free(parens);
	free(nots);
	free(arrays);
	free(in_array);
}

static void test_too_deep_nesting_is_rejected(void **state)
{
	char *parens = nested(SWB_EXPR_MAX_DEPTH + 1, "(", "1 == 1", ")");
	char *arrays = nested(SWB_EXPR_MAX_DEPTH + 1, "[", "1", "]");
	char *in_array = malloc(strlen(arrays) + 8);
	assert_non_null(in_array);
	sprintf(in_array, "1 IN %s", arrays);
	assert_compile_error(parens, "column 65: expected at most 64 levels of nested '(' and '['");
	assert_compile_error(in_array, "column 70: expected at most 64 levels");
	free(parens);
	free(arrays);
	free(in_array);
}

static void test_hostile_unclosed_nesting_is_rejected(void **state)
{
	char *s = nested(2000, "(", "", "");
	assert_compile_error(s, "column 65: expected at most 64 levels");
	free(s);
	s = nested(800, "NOT (", "", "");
	assert_compile_error(s, "expected at most 64 levels");
	free(s);
}

static void test_long_and_chain_is_flat(void **state)
{
	char *s = malloc(SWB_EXPR_MAX_LEN + 1);
	assert_non_null(s);
	strcpy(s, "1 == 1");
	for (size_t i = 1; strlen(s) + 13 < SWB_EXPR_MAX_LEN; i++)
		strcat(s, i % 2 ? " AND 1 == 1" : " OR  1 == 1");
	assert_true(eval_bare(s, NULL));
	assert_true(always_true(s));
	free(s);
}

static void test_error_messages_are_printable_ascii(void **state)
{
	const char *bad[] = {
		"\xff", "a == \x80\x81", "'\xfe", "a.\x01", "a[\x7f]", "x IN [\x1b]",
		"a == 1 \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
		"a == 1 '\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9'",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		swb_expr *e = NULL;
		struct swb_err err = { 0 };
		assert_int_equal(swb_expr_compile(bad[i], &e, &err), SWB_EINVAL);
		if (!msg_is_printable(err.msg))
			fail_msg("case %zu: message has raw bytes: %s", i, err.msg);
	}
}

/* ---- order_by ---------------------------------------------------------- */

static swb_order *order_ok(const char *src)
{
	swb_order *o = NULL;
	struct swb_err err = { 0 };
	if (swb_order_compile(src, &o, &err) != SWB_OK)
		fail_msg("order '%s' did not compile: %s", src, err.msg);
	return o;
}

/* Compares two workers (JSON attribute objects) by the order src. */
static int order_cmp_workers(const char *src, const char *a_json, const char *b_json)
{
	swb_order *o = order_ok(src);
	json_t *a = parse_json(a_json), *b = parse_json(b_json);
	swb_expr_ctx ca = { .bare = a, .worker = a }, cb = { .bare = b, .worker = b };
	int c = swb_order_cmp(o, &ca, &cb);
	swb_order_free(o);
	json_decref(a);
	json_decref(b);
	return c;
}

static void test_order_asc_puts_smaller_first(void **state)
{
	assert_true(order_cmp_workers("worker.level ASC", "{\"level\": 1}", "{\"level\": 2}") < 0);
	assert_true(order_cmp_workers("worker.level", "{\"level\": 3}", "{\"level\": 2}") > 0);
	assert_true(order_cmp_workers("worker.level ASC", "{\"level\": 1.5}", "{\"level\": 2}") < 0);
}

static void test_order_desc_puts_larger_first(void **state)
{
	assert_true(order_cmp_workers("worker.level DESC", "{\"level\": 1}", "{\"level\": 2}") > 0);
	assert_true(order_cmp_workers("worker.level DESC", "{\"level\": 5}", "{\"level\": 2}") < 0);
}

static void test_order_second_key_breaks_tie(void **state)
{
	/* Twilio's example: Alice {finance 10, support 8}, Bob {finance 10, support 5}. */
	const char *alice = "{\"finance\": 10, \"support\": 8}";
	const char *bob = "{\"finance\": 10, \"support\": 5}";
	assert_true(order_cmp_workers("worker.finance ASC, worker.support ASC", alice, bob) > 0);
	assert_true(order_cmp_workers("worker.finance ASC, worker.support DESC", alice, bob) < 0);
}

static void test_order_missing_value_sorts_last_in_both_directions(void **state)
{
	const char *alice = "{\"finance\": 10, \"support\": 8}";
	const char *bob = "{\"finance\": 10}";
	assert_true(order_cmp_workers("worker.finance ASC, worker.support ASC", alice, bob) < 0);
	assert_true(order_cmp_workers("worker.finance ASC, worker.support DESC", alice, bob) < 0);
	assert_true(order_cmp_workers("worker.support DESC", bob, alice) > 0);
}

static void test_order_non_numeric_value_sorts_like_missing(void **state)
{
	assert_true(order_cmp_workers("worker.level", "{\"level\": 1}", "{\"level\": \"high\"}") < 0);
	assert_true(order_cmp_workers("worker.level DESC", "{\"level\": true}", "{\"level\": 0}") > 0);
	assert_int_equal(order_cmp_workers("worker.level", "{\"level\": \"a\"}", "{}"), 0);
}

static void test_order_full_tie_returns_zero(void **state)
{
	const char *w = "{\"a\": 1, \"b\": 2}";
	assert_int_equal(order_cmp_workers("worker.a, worker.b DESC", w, w), 0);
	assert_int_equal(order_cmp_workers("worker.a", "{\"a\": 1}", "{\"a\": 1.0}"), 0);
	assert_int_equal(order_cmp_workers("worker.x", "{}", "{}"), 0);
}

static void test_order_keywords_are_case_insensitive(void **state)
{
	assert_true(order_cmp_workers("worker.level desc", "{\"level\": 5}", "{\"level\": 2}") < 0);
	assert_true(order_cmp_workers("worker.level Asc", "{\"level\": 5}", "{\"level\": 2}") > 0);
}

static void test_order_reads_nested_and_bare_paths(void **state)
{
	assert_true(order_cmp_workers("worker.s.lvl[1] DESC", "{\"s\": {\"lvl\": [0, 9]}}",
	                              "{\"s\": {\"lvl\": [0, 3]}}") < 0);
	assert_true(order_cmp_workers("age", "{\"age\": 30}", "{\"age\": 40}") < 0);
}

static const swb_order *sort_order;

static int cmp_ctx(const void *a, const void *b)
{
	return swb_order_cmp(sort_order, a, b);
}

static void test_order_sorts_a_list_of_workers(void **state)
{
	const char *attrs[] = {
		"{\"id\": 0, \"lang\": 3, \"age\": 5}", "{\"id\": 1}",
		"{\"id\": 2, \"lang\": 9, \"age\": 1}", "{\"id\": 3, \"lang\": 3, \"age\": 2}",
		"{\"id\": 4, \"lang\": \"x\", \"age\": 0}",
	};
	enum { N = sizeof attrs / sizeof attrs[0] };
	const int want[N] = { 2, 0, 3, 4, 1 };
	swb_expr_ctx ctx[N];
	for (int i = 0; i < N; i++)
		ctx[i] = (swb_expr_ctx){ .worker = parse_json(attrs[i]) };
	swb_order *o = order_ok("worker.lang DESC, worker.age DESC");
	sort_order = o;
	qsort(ctx, N, sizeof ctx[0], cmp_ctx);
	for (int i = 0; i < N; i++) {
		assert_int_equal(json_integer_value(json_object_get(ctx[i].worker, "id")), want[i]);
		json_decref(ctx[i].worker);
	}
	swb_order_free(o);
}

static void test_order_errors_give_column(void **state)
{
	assert_order_error("", "column 1: expected an attribute path, found end of expression");
	assert_order_error("worker.a ASC,", "column 14: expected an attribute path after ','");
	swb_order_free(NULL);
	assert_int_equal(swb_order_cmp(NULL, NULL, NULL), 0);
}

/* ---- data-driven cases -------------------------------------------------- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes \t \n \\ and \xNN in place. */
static void unescape(char *s)
{
	char *o = s;
	while (*s) {
		if (s[0] == '\\' && s[1] == 't') {
			*o++ = '\t';
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'n') {
			*o++ = '\n';
			s += 2;
		} else if (s[0] == '\\' && s[1] == '\\') {
			*o++ = '\\';
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'x' && hex_digit(s[2]) >= 0 && hex_digit(s[3]) >= 0) {
			*o++ = (char)(hex_digit(s[2]) * 16 + hex_digit(s[3]));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

static FILE *open_data(const char *name)
{
	char path[4096];
	const char *src = getenv("SWB_SRC");
	if (src)
		snprintf(path, sizeof path, "%s/tests/data/expr/%s", src, name);
	else
		snprintf(path, sizeof path, "data/expr/%s", name);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s (run from tests/ or set SWB_SRC)", path);
	return f;
}

/* Calls check(first, second) for each "first<TAB>second" line; returns the failures. */
static int for_each_case(const char *file, int (*check)(const char *, const char *, int),
                         int *cases)
{
	FILE *f = open_data(file);
	char *line = NULL;
	size_t cap = 0;
	int failures = 0, lineno = 0;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		char *tab = strchr(line, '\t');
		if (line[0] == '#' || (line[0] == '\0'))
			continue;
		if (!tab)
			fail_msg("%s:%d: no TAB in line", file, lineno);
		*tab = '\0';
		failures += check(line, tab + 1, lineno);
		(*cases)++;
	}
	free(line);
	fclose(f);
	return failures;
}

static int check_bad_expr(const char *first, const char *want, int lineno)
{
	char src[1024];
	snprintf(src, sizeof src, "%s", first);
	unescape(src);
	swb_expr *e = NULL;
	struct swb_err err = { 0 };
	enum swb_code rc = swb_expr_compile(src, &e, &err);
	if (rc == SWB_EINVAL && strstr(err.msg, want) && msg_is_printable(err.msg))
		return 0;
	print_error("bad.txt:%d: '%s': got %s \"%s\", want \"%s\"\n", lineno, first,
	            swb_code_name(rc), err.msg, want);
	swb_expr_free(e);
	return 1;
}

static int check_bad_order(const char *first, const char *want, int lineno)
{
	char src[1024];
	snprintf(src, sizeof src, "%s", first);
	unescape(src);
	swb_order *o = NULL;
	struct swb_err err = { 0 };
	enum swb_code rc = swb_order_compile(src, &o, &err);
	if (rc == SWB_EINVAL && strstr(err.msg, want) && msg_is_printable(err.msg))
		return 0;
	print_error("bad_order.txt:%d: '%s': got %s \"%s\", want \"%s\"\n", lineno, first,
	            swb_code_name(rc), err.msg, want);
	swb_order_free(o);
	return 1;
}

static swb_expr_ctx eval_fixture;

static int check_eval(const char *want, const char *src, int lineno)
{
	swb_expr *e = NULL;
	struct swb_err err = { 0 };
	if (swb_expr_compile(src, &e, &err) != SWB_OK) {
		print_error("eval.txt:%d: '%s' did not compile: %s\n", lineno, src, err.msg);
		return 1;
	}
	bool got = swb_expr_eval(e, &eval_fixture);
	swb_expr_free(e);
	if (got == (strcmp(want, "true") == 0))
		return 0;
	print_error("eval.txt:%d: '%s' was %s, want %s\n", lineno, src, got ? "true" : "false", want);
	return 1;
}

static void test_bad_expressions_from_data_file(void **state)
{
	int cases = 0;
	assert_int_equal(for_each_case("bad.txt", check_bad_expr, &cases), 0);
	assert_true(cases > 50);
}

static void test_bad_order_by_from_data_file(void **state)
{
	int cases = 0;
	assert_int_equal(for_each_case("bad_order.txt", check_bad_order, &cases), 0);
	assert_true(cases > 10);
}

static void test_eval_cases_from_data_file(void **state)
{
	FILE *f = open_data("context.json");
	json_error_t jerr;
	json_t *root = json_loadf(f, 0, &jerr);
	fclose(f);
	if (!root)
		fail_msg("context.json: %s", jerr.text);
	eval_fixture = (swb_expr_ctx){
		.bare = json_object_get(root, "bare"), .task = json_object_get(root, "task"),
		.worker = json_object_get(root, "worker"), .workers = json_object_get(root, "workers"),
	};
	int cases = 0;
	int failures = for_each_case("eval.txt", check_eval, &cases);
	json_decref(root);
	assert_int_equal(failures, 0);
	assert_true(cases > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_double_equals_matches_equal_string),
		cmocka_unit_test(test_single_equals_is_equality),
		cmocka_unit_test(test_not_equal_is_true_for_different_values),
		cmocka_unit_test(test_less_and_greater_compare_numbers),
		cmocka_unit_test(test_less_equal_and_greater_equal_include_equality),
		cmocka_unit_test(test_integer_and_float_compare_numerically),
		cmocka_unit_test(test_large_integers_compare_exactly),
		cmocka_unit_test(test_strings_order_bytewise),
		cmocka_unit_test(test_string_equality_is_case_sensitive),
		cmocka_unit_test(test_booleans_compare_with_equality_only),
		cmocka_unit_test(test_has_matches_array_member),
		cmocka_unit_test(test_has_compares_numbers_numerically),
		cmocka_unit_test(test_has_on_string_is_false),
		cmocka_unit_test(test_has_with_array_on_right_is_false),
		cmocka_unit_test(test_has_ignores_nested_arrays_and_objects),
		cmocka_unit_test(test_in_matches_member_of_literal_array),
		cmocka_unit_test(test_in_matches_member_of_attribute_array),
		cmocka_unit_test(test_in_with_array_on_left_is_false),
		cmocka_unit_test(test_in_with_scalar_on_right_is_false),
		cmocka_unit_test(test_not_in_is_true_when_absent_from_array),
		cmocka_unit_test(test_contains_matches_substring),
		cmocka_unit_test(test_contains_is_case_sensitive),
		cmocka_unit_test(test_contains_on_non_strings_is_false),
		cmocka_unit_test(test_and_requires_both_sides),
		cmocka_unit_test(test_or_requires_either_side),
		cmocka_unit_test(test_symbolic_and_or_work_like_keywords),
		cmocka_unit_test(test_and_binds_tighter_than_or),
		cmocka_unit_test(test_parentheses_group),
		cmocka_unit_test(test_not_before_parens_negates),
		cmocka_unit_test(test_bang_before_parens_negates),
		cmocka_unit_test(test_not_without_parens_is_rejected),
		cmocka_unit_test(test_lone_value_is_true_when_true_ish),
		cmocka_unit_test(test_single_and_double_quoted_strings_are_equal),
		cmocka_unit_test(test_string_may_hold_the_other_quote),
		cmocka_unit_test(test_string_keeps_backslashes_and_utf8),
		cmocka_unit_test(test_negative_numbers),
		cmocka_unit_test(test_float_literals),
		cmocka_unit_test(test_leading_zeros_are_decimal),
		cmocka_unit_test(test_boolean_literals_match_json_booleans),
		cmocka_unit_test(test_array_literals_may_hold_values_and_paths),
		cmocka_unit_test(test_null_literal_compares_false),
		cmocka_unit_test(test_huge_number_is_rejected),
		cmocka_unit_test(test_long_number_literals_keep_their_magnitude),
		cmocka_unit_test(test_integer_beyond_64_bits_becomes_a_double),
		cmocka_unit_test(test_nested_path_walks_objects),
		cmocka_unit_test(test_array_index_in_path_counts_from_zero),
		cmocka_unit_test(test_task_worker_and_workers_roots),
		cmocka_unit_test(test_root_prefix_reads_bare_when_root_absent),
		cmocka_unit_test(test_root_wins_over_bare_key_of_same_name),
		cmocka_unit_test(test_root_names_are_case_sensitive),
		cmocka_unit_test(test_keyword_named_path_segments_are_attributes),
		cmocka_unit_test(test_one_equals_one_is_always_true),
		cmocka_unit_test(test_constant_logic_is_always_true),
		cmocka_unit_test(test_expressions_reading_attributes_are_not_always_true),
		cmocka_unit_test(test_keywords_are_case_insensitive),
		cmocka_unit_test(test_keyword_before_bracket_without_space_is_not_indexed),
		cmocka_unit_test(test_missing_attribute_is_false_for_every_operator),
		cmocka_unit_test(test_missing_attribute_is_false_for_not_equal),
		cmocka_unit_test(test_missing_attribute_is_false_for_not_in),
		cmocka_unit_test(test_json_null_attribute_is_treated_as_missing),
		cmocka_unit_test(test_missing_roots_and_null_context_are_all_missing),
		cmocka_unit_test(test_type_mismatch_is_false_for_every_operator),
		cmocka_unit_test(test_scalar_operators_on_arrays_are_false),
		cmocka_unit_test(test_source_returns_compiled_text),
		cmocka_unit_test(test_error_gives_column_and_expectation),
		cmocka_unit_test(test_null_source_is_rejected),
		cmocka_unit_test(test_error_without_err_struct_still_fails),
		cmocka_unit_test(test_expression_at_max_length_is_accepted),
		cmocka_unit_test(test_overlong_expression_is_rejected),
		cmocka_unit_test(test_nesting_at_limit_is_accepted),
		cmocka_unit_test(test_too_deep_nesting_is_rejected),
		cmocka_unit_test(test_hostile_unclosed_nesting_is_rejected),
		cmocka_unit_test(test_long_and_chain_is_flat),
		cmocka_unit_test(test_error_messages_are_printable_ascii),
		cmocka_unit_test(test_order_asc_puts_smaller_first),
		cmocka_unit_test(test_order_desc_puts_larger_first),
		cmocka_unit_test(test_order_second_key_breaks_tie),
		cmocka_unit_test(test_order_missing_value_sorts_last_in_both_directions),
		cmocka_unit_test(test_order_non_numeric_value_sorts_like_missing),
		cmocka_unit_test(test_order_full_tie_returns_zero),
		cmocka_unit_test(test_order_keywords_are_case_insensitive),
		cmocka_unit_test(test_order_reads_nested_and_bare_paths),
		cmocka_unit_test(test_order_sorts_a_list_of_workers),
		cmocka_unit_test(test_order_errors_give_column),
		cmocka_unit_test(test_bad_expressions_from_data_file),
		cmocka_unit_test(test_bad_order_by_from_data_file),
		cmocka_unit_test(test_eval_cases_from_data_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
