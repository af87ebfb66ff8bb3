/*
 * test_rest_form.c - tests server/rest_form.c: decoding form bodies the way
 * twilio-node writes them (qs.stringify with arrayFormat "repeat"), every
 * malformed input it refuses, and the query-string encoding of the URLs the
 * REST API hands back (which must decode to what was encoded).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rest_form.h"

static json_t *decode_ok(const char *body)
{
	json_t *out = NULL;
	struct swb_err err = { 0 };
	enum swb_code rc = rest_form_decode(body, strlen(body), &out, &err);
	if (rc != SWB_OK)
		fail_msg("'%s' should decode: %s", body, err.msg);
	assert_non_null(out);
	return out;
}

static void decode_fails(const char *body, size_t len, const char *why)
{
	json_t *out = (json_t *)0x1;
	struct swb_err err = { 0 };
	assert_int_equal(rest_form_decode(body, len, &out, &err), SWB_EINVAL);
	assert_ptr_equal(out, (json_t *)0x1); /* untouched on failure */
	assert_non_null(strstr(err.msg, why));
}

static void test_decodes_pairs_in_order(void **state)
{
	(void)state;
	json_t *o = decode_ok("FriendlyName=alice&ActivitySid=WA01&Attributes=%7B%22a%22%3A1%7D");
	assert_int_equal(json_object_size(o), 3);
	assert_string_equal(json_string_value(json_object_get(o, "FriendlyName")), "alice");
	assert_string_equal(json_string_value(json_object_get(o, "ActivitySid")), "WA01");
	assert_string_equal(json_string_value(json_object_get(o, "Attributes")), "{\"a\":1}");
	json_decref(o);
}

static void test_plus_is_space_and_escapes_decode(void **state)
{
	(void)state;
	json_t *o = decode_ok("TargetWorkers=skills+HAS+%22sales%22&Name%20Two=a%2Bb%26c%3Dd&U=%C3%A9t%C3%A9");
	assert_string_equal(json_string_value(json_object_get(o, "TargetWorkers")), "skills HAS \"sales\"");
	assert_string_equal(json_string_value(json_object_get(o, "Name Two")), "a+b&c=d");
	assert_string_equal(json_string_value(json_object_get(o, "U")), "\xc3\xa9t\xc3\xa9");
	json_decref(o);
}

static void test_repeated_names_become_arrays(void **state)
{
	(void)state;
	json_t *o = decode_ok("AssignmentStatus=pending&X=1&AssignmentStatus=reserved&AssignmentStatus=assigned");
	json_t *a = json_object_get(o, "AssignmentStatus");
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "pending");
	assert_string_equal(json_string_value(json_array_get(a, 2)), "assigned");
	assert_string_equal(json_string_value(json_object_get(o, "X")), "1");
	json_decref(o);
}

static void test_empty_segments_and_values(void **state)
{
	(void)state;
	json_t *o = decode_ok("&&A=&B&&C=x=y&");
	assert_int_equal(json_object_size(o), 3);
	assert_string_equal(json_string_value(json_object_get(o, "A")), "");
	assert_string_equal(json_string_value(json_object_get(o, "B")), "");
	assert_string_equal(json_string_value(json_object_get(o, "C")), "x=y"); /* only the first '=' splits */
	json_decref(o);
	o = decode_ok("");
	assert_int_equal(json_object_size(o), 0);
	json_decref(o);
}

static void test_body_need_not_be_nul_terminated(void **state)
{
	(void)state;
	const char body[] = { 'A', '=', '1', '&', 'B', '=', '2' };
	json_t *out = NULL;
	assert_int_equal(rest_form_decode(body, sizeof body, &out, NULL), SWB_OK);
	assert_string_equal(json_string_value(json_object_get(out, "B")), "2");
	json_decref(out);
	assert_int_equal(rest_form_decode(body, 3, &out, NULL), SWB_OK); /* "A=1" */
	assert_int_equal(json_object_size(out), 1);
	json_decref(out);
}

static void test_rejects_bad_escapes(void **state)
{
	(void)state;
	decode_fails("A=%zz", 5, "percent escape");
	decode_fails("A=%4", 4, "percent escape");
	decode_fails("A=%", 3, "percent escape");
	decode_fails("A%G1=1", 6, "percent escape");
	decode_fails("A=1&B=%2", 8, "parameter 2");
}

static void test_rejects_nul_bytes(void **state)
{
	(void)state;
	decode_fails("A=a%00b", 7, "NUL");
	decode_fails("A=a\0b", 5, "NUL");
	decode_fails("%00=1", 5, "NUL");
}

static void test_rejects_invalid_utf8(void **state)
{
	(void)state;
	decode_fails("A=%C3%28", 8, "not UTF-8");
	decode_fails("A=\xff", 3, "not UTF-8");
	decode_fails("%FF=1", 5, "name that is not UTF-8");
}

static void test_rejects_empty_and_long_names(void **state)
{
	(void)state;
	decode_fails("=1", 2, "empty parameter name");
	decode_fails("A=1&=2", 6, "empty parameter name");
	char body[REST_FORM_NAME_MAX + 8];
	memset(body, 'N', REST_FORM_NAME_MAX + 1);
	memcpy(body + REST_FORM_NAME_MAX + 1, "=1", 3);
	decode_fails(body, strlen(body), "too long");
}

static void test_rejects_too_many_pairs(void **state)
{
	(void)state;
	size_t n = REST_FORM_MAX_PAIRS + 1;
	char *body = malloc(n * 4 + 1);
	assert_non_null(body);
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(body + len, "%sA=1", i ? "&" : "");
	decode_fails(body, len, "more than");
	/* exactly the limit is fine */
	json_t *out = NULL;
	assert_int_equal(rest_form_decode(body, len - 4, &out, NULL), SWB_OK);
	assert_int_equal(json_array_size(json_object_get(out, "A")), REST_FORM_MAX_PAIRS);
	json_decref(out);
	free(body);
}

static void test_unescape_keeps_plus_when_asked(void **state)
{
	(void)state;
	size_t n;
	char *s = rest_form_unescape("a+b%20c", 7, false, &n);
	assert_string_equal(s, "a+b c");
	assert_int_equal(n, 5);
	free(s);
	s = rest_form_unescape("a+b", 3, true, NULL);
	assert_string_equal(s, "a b");
	free(s);
	assert_null(rest_form_unescape("%0", 2, true, NULL));
}

static void test_escape_keeps_unreserved_only(void **state)
{
	(void)state;
	struct rest_buf b = { 0 };
	rest_form_escape(&b, "aZ09-_.~ /?&=+\"%\xc3\xa9");
	assert_string_equal(b.s, "aZ09-_.~%20%2F%3F%26%3D%2B%22%25%C3%A9");
	free(b.s);
}

static void test_append_builds_a_query(void **state)
{
	(void)state;
	struct rest_buf b = { 0 };
	rest_buf_addf(&b, "http://127.0.0.1:%d/v1/Workspaces?", 7412);
	rest_form_append(&b, "TargetWorkersExpression", "skills HAS \"sales\"");
	rest_form_append(&b, "AssignmentStatus", "pending");
	rest_form_append(&b, "PageSize", "50");
	assert_string_equal(b.s, "http://127.0.0.1:7412/v1/Workspaces?TargetWorkersExpression=skills%20HAS%20%22sales%22"
				 "&AssignmentStatus=pending&PageSize=50");
	free(b.s);
	struct rest_buf e = { 0 };
	rest_form_append(&e, "A", "1"); /* no leading '&' in an empty buffer */
	assert_string_equal(e.s, "A=1");
	free(e.s);
}

static void test_encode_then_decode_round_trips(void **state)
{
	(void)state;
	static const char *const values[] = { "", "plain", "a b+c&d=e", "100%", "{\"json\": [1, 2]}", "\xe2\x82\xac uro" };
	struct rest_buf b = { 0 };
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
		rest_form_append(&b, "V", values[i]);
	json_t *o = decode_ok(b.s);
	json_t *a = json_object_get(o, "V");
	assert_int_equal(json_array_size(a), sizeof values / sizeof values[0]);
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
		assert_string_equal(json_string_value(json_array_get(a, i)), values[i]);
	json_decref(o);
	free(b.s);
}

static void test_buf_grows_past_small_printf(void **state)
{
	(void)state;
	struct rest_buf b = { 0 };
	char big[1000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	rest_buf_addf(&b, "[%s]", big);
	assert_int_equal(b.len, sizeof big + 1);
	assert_int_equal(b.s[0], '[');
	assert_int_equal(b.s[b.len - 1], ']');
	free(b.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decodes_pairs_in_order),
		cmocka_unit_test(test_plus_is_space_and_escapes_decode),
		cmocka_unit_test(test_repeated_names_become_arrays),
		cmocka_unit_test(test_empty_segments_and_values),
		cmocka_unit_test(test_body_need_not_be_nul_terminated),
		cmocka_unit_test(test_rejects_bad_escapes),
		cmocka_unit_test(test_rejects_nul_bytes),
		cmocka_unit_test(test_rejects_invalid_utf8),
		cmocka_unit_test(test_rejects_empty_and_long_names),
		cmocka_unit_test(test_rejects_too_many_pairs),
		cmocka_unit_test(test_unescape_keeps_plus_when_asked),
		cmocka_unit_test(test_escape_keeps_unreserved_only),
		cmocka_unit_test(test_append_builds_a_query),
		cmocka_unit_test(test_encode_then_decode_round_trips),
		cmocka_unit_test(test_buf_grows_past_small_printf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
