/*
 * test_twiml.c - tests server/twiml.c (the TwiML reader and templates) and the
 * "numbers" check of server/calls.c that the workspace loader runs.
 *
 * Named tests pin the behaviours the call engine relies on; the data-driven
 * part reads tests/data/twiml/ in the style of jansson's suites:
 *   valid/NAME/input    a document, and valid/NAME/output.json its twiml_dump
 *   invalid/NAME/input  a document, and invalid/NAME/error a substring of the error
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "twiml.h"
#include "workspace_file.h"

/* ---- helpers ----------------------------------------------------------- */

static struct twiml_doc *parse_ok(const char *xml)
{
	struct twiml_doc *doc = NULL;
	struct swb_err err = { 0 };
	if (twiml_parse(xml, strlen(xml), &doc, &err) != SWB_OK)
		fail_msg("'%s' did not parse: %s", xml, err.msg);
	return doc;
}

/* Parses xml, expecting failure with code and an error containing want. */
static void parse_fails(const char *xml, enum swb_code code, const char *want)
{
	struct twiml_doc *doc = NULL;
	struct swb_err err = { 0 };
	enum swb_code rc = twiml_parse(xml, strlen(xml), &doc, &err);
	if (rc == SWB_OK) {
		twiml_free(doc);
		fail_msg("'%s' parsed, expected an error containing '%s'", xml, want);
	}
	assert_int_equal(rc, code);
	assert_null(doc);
	if (!strstr(err.msg, want))
		fail_msg("'%s': error '%s' does not contain '%s'", xml, err.msg, want);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	size_t got = fread(buf, 1, (size_t)n, f);
	fclose(f);
	buf[got] = '\0';
	if (len)
		*len = got;
	return buf;
}

static const char *data_dir(char *buf, size_t len, const char *sub)
{
	const char *src = getenv("SWB_SRC");
	if (src)
		snprintf(buf, len, "%s/tests/data/twiml/%s", src, sub);
	else
		snprintf(buf, len, "data/twiml/%s", sub);
	return buf;
}

/* ---- the reader -------------------------------------------------------- */

static void test_ivr_gather_holds_its_prompts(void **state)
{
	(void)state;
	struct twiml_doc *d = parse_ok("<Response><Gather numDigits=\"1\" action=\"/choice\"><Say>Press 1</Say>"
				       "<Pause length=\"2\"/></Gather><Say>Bye</Say><Hangup/></Response>");
	assert_int_equal(d->nverbs, 3);
	assert_int_equal(d->verbs[0].kind, TWIML_GATHER);
	assert_int_equal(d->verbs[0].num_digits, 1);
	assert_string_equal(d->verbs[0].action, "/choice");
	assert_int_equal(d->verbs[0].finish_on_key, '#');
	assert_int_equal(d->verbs[0].timeout, 5);
	assert_int_equal(d->verbs[0].nchildren, 2);
	assert_int_equal(d->verbs[0].children[0].kind, TWIML_SAY);
	assert_string_equal(d->verbs[0].children[0].text, "Press 1");
	assert_int_equal(d->verbs[0].children[1].length, 2);
	assert_int_equal(d->verbs[2].kind, TWIML_HANGUP);
	twiml_free(d);
}

static void test_enqueue_reads_task_json_priority_and_timeout(void **state)
{
	(void)state;
	struct twiml_doc *d = parse_ok("<Response><Enqueue workflowSid=\"Inbound Calls\" waitUrl=\"hold\" "
				       "action=\"done\"><Task priority=\"7\" timeout=\"60\">{\"department\": \"sales\"}"
				       "</Task></Enqueue></Response>");
	const struct twiml_verb *v = &d->verbs[0];
	assert_int_equal(v->kind, TWIML_ENQUEUE);
	assert_string_equal(v->workflow_sid, "Inbound Calls");
	assert_string_equal(v->wait_url, "hold");
	assert_string_equal(v->action, "done");
	assert_true(v->has_priority);
	assert_int_equal(v->priority, 7);
	assert_true(v->has_task_timeout);
	assert_int_equal(v->task_timeout, 60);
	assert_string_equal(json_string_value(json_object_get(v->task, "department")), "sales");
	twiml_free(d);
}

static void test_unknown_verb_is_an_error_naming_it_and_its_line(void **state)
{
	(void)state;
	parse_fails("<Response>\n<Say>hi</Say>\n<Reject/>\n</Response>", SWB_EINVAL, "line 3: unknown verb <Reject>");
}

static void test_dtd_is_refused_so_entities_cannot_expand(void **state)
{
	(void)state;
	parse_fails("<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
		    "<Response><Say>&b;</Say></Response>",
		    SWB_EINVAL, "DOCTYPE is not allowed");
}

static void test_unknown_attributes_are_ignored_as_twilio_does(void **state)
{
	(void)state;
	struct twiml_doc *d = parse_ok("<Response><Say voice=\"alice\" language=\"en-GB\" fancy=\"yes\">Hi</Say></Response>");
	assert_int_equal(d->verbs[0].loop, 1);
	twiml_free(d);
}

static void test_documents_over_64_kb_are_too_big(void **state)
{
	(void)state;
	size_t n = TWIML_MAX_BYTES + 100;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "<Response>", 10);
	memcpy(big + n - 11, "</Response>", 11);
	big[n] = '\0';
	struct twiml_doc *d = NULL;
	struct swb_err err;
	assert_int_equal(twiml_parse(big, n, &d, &err), SWB_ETOOBIG);
	assert_null(d);
	free(big);
}

static void test_too_many_verbs_are_too_big(void **state)
{
	(void)state;
	char *xml = malloc(20 * (TWIML_MAX_VERBS + 2) + 32);
	assert_non_null(xml);
	strcpy(xml, "<Response>");
	for (int i = 0; i <= TWIML_MAX_VERBS; i++)
		strcat(xml, "<Hangup/>");
	strcat(xml, "</Response>");
	parse_fails(xml, SWB_ETOOBIG, "more than");
	free(xml);
}

static void test_a_bad_document_leaks_nothing_half_built(void **state)
{
	(void)state;
	/* the error comes after verbs with strings, children and a task were built: all freed (ASan, valgrind) */
	parse_fails("<Response><Gather action=\"x\"><Say>a</Say></Gather><Enqueue workflowSid=\"w\">"
		    "<Task>{\"a\": 1}</Task></Enqueue><Say loop=\"-1\">b</Say></Response>",
		    SWB_EINVAL, "loop");
}

/* ---- templates --------------------------------------------------------- */

static void test_expand_replaces_parameters_xml_escaped(void **state)
{
	(void)state;
	json_t *p = json_pack("{s:s, s:s}", "Digits", "2", "From", "<\"bob\" & 'al'>");
	char *s = twiml_expand("<Say>{{From}} pressed {{ Digits }}</Say>", p, NULL);
	assert_string_equal(s, "<Say>&lt;&quot;bob&quot; &amp; &apos;al&apos;&gt; pressed 2</Say>");
	free(s);
	json_decref(p);
}

static void test_expand_missing_parameter_is_empty_and_other_braces_stay(void **state)
{
	(void)state;
	json_t *p = json_pack("{s:i}", "QueueTime", 42);
	char *s = twiml_expand("menu-{{Digits}} {{QueueTime}}s {{not a name}} {{{x}} {{", p, NULL);
	assert_string_equal(s, "menu- 42s {{not a name}} { {{");
	free(s);
	json_decref(p);
}

static void test_expand_refuses_to_grow_past_the_limit(void **state)
{
	(void)state;
	size_t n = TWIML_MAX_BYTES / 2;
	char *val = malloc(n + 1);
	assert_non_null(val);
	memset(val, '&', n); /* each becomes "&amp;" */
	val[n] = '\0';
	json_t *p = json_pack("{s:s}", "X", val);
	struct swb_err err = { 0 };
	assert_null(twiml_expand("{{X}}", p, &err));
	assert_int_equal(err.code, SWB_ETOOBIG);
	json_decref(p);
	free(val);
}

/* ---- numbers ----------------------------------------------------------- */

static int nproblems;
static char last_problem[512];

static void collect(void *ctx, const char *msg)
{
	(void)ctx;
	nproblems++;
	snprintf(last_problem, sizeof last_problem, "%s", msg);
}

static int check_numbers(const char *json)
{
	json_error_t je;
	json_t *j = json_loads(json, 0, &je);
	if (!j)
		fail_msg("bad test JSON: %s", je.text);
	nproblems = 0;
	last_problem[0] = '\0';
	int rc = calls_numbers_check(j, collect, NULL);
	assert_int_equal(rc, nproblems);
	json_decref(j);
	return rc;
}

static void test_numbers_accept_webhooks_and_inline_documents(void **state)
{
	(void)state;
	assert_int_equal(check_numbers("[{\"phone_number\": \"+15550001\", \"voice_url\": \"http://127.0.0.1:9/voice\","
				       " \"voice_method\": \"GET\", \"voice_fallback_url\": \"https://example.com/f\"},"
				       " {\"phone_number\": \"+15550002\", \"friendly_name\": \"IVR\","
				       " \"twiml\": \"<Response><Gather action='m'/></Response>\","
				       " \"documents\": {\"m\": \"<Response><Redirect>menu-{{Digits}}</Redirect></Response>\"}}]"),
			 0);
}

static void test_numbers_report_each_problem_with_its_place(void **state)
{
	(void)state;
	assert_int_equal(check_numbers("[{\"phone_number\": \"+1\", \"twiml\": \"<Response><Dance/></Response>\"}]"), 1);
	assert_non_null(strstr(last_problem, "numbers[0] '+1': twiml: line 1: unknown verb <Dance>"));
	assert_int_equal(check_numbers("[{\"phone_number\": \"+1\", \"twiml\": \"<Response/>\","
				       " \"documents\": {\"bad name\": \"<Response/>\"}}]"), 1);
	assert_non_null(strstr(last_problem, "document name 'bad name'"));
	assert_int_equal(check_numbers("[{\"phone_number\": \"+1\"}]"), 1);
	assert_non_null(strstr(last_problem, "exactly one of 'voice_url'"));
	assert_int_equal(check_numbers("[{\"phone_number\": \"+1\", \"voice_url\": \"ftp://x\", \"colour\": 1}]"), 2);
	assert_int_equal(check_numbers("[{\"phone_number\": \"+1\", \"twiml\": \"<Response/>\"},"
				       " {\"phone_number\": \"+1\", \"twiml\": \"<Response/>\"}]"), 1);
	assert_non_null(strstr(last_problem, "listed twice"));
	assert_int_equal(check_numbers("{\"phone_number\": \"+1\"}"), 1);
}

static void test_default_workspace_ships_a_valid_ivr(void **state)
{
	(void)state;
	json_t *doc = swb_workspace_read(NULL, NULL);
	assert_non_null(doc);
	json_t *numbers = json_object_get(doc, "numbers");
	assert_int_equal(json_array_size(numbers), 1);
	nproblems = 0;
	assert_int_equal(calls_numbers_check(numbers, collect, NULL), 0);
	json_t *docs = json_object_get(json_array_get(numbers, 0), "documents");
	for (const char *const *k = (const char *const[]){ "menu-1", "menu-2", "menu-3", NULL }; *k; k++)
		assert_non_null(json_object_get(docs, *k));
	json_decref(doc);
}

/* ---- data-driven ------------------------------------------------------- */

static int run_folder(const char *sub, void (*one)(const char *dir, const char *name))
{
	char path[1024];
	DIR *d = opendir(data_dir(path, sizeof path, sub));
	if (!d)
		fail_msg("cannot open %s", path);
	struct dirent *e;
	int count = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char dir[1400];
		snprintf(dir, sizeof dir, "%s/%s", path, e->d_name);
		one(dir, e->d_name);
		count++;
	}
	closedir(d);
	return count;
}

static void one_valid(const char *dir, const char *name)
{
	char p[1500];
	size_t len;
	snprintf(p, sizeof p, "%s/input", dir);
	char *xml = read_file(p, &len);
	snprintf(p, sizeof p, "%s/output.json", dir);
	char *want_text = read_file(p, NULL);
	if (!xml || !want_text)
		fail_msg("%s: needs input and output.json", name);
	struct twiml_doc *doc = NULL;
	struct swb_err err = { 0 };
	if (twiml_parse(xml, len, &doc, &err) != SWB_OK)
		fail_msg("valid/%s: %s", name, err.msg);
	json_error_t je;
	json_t *want = json_loads(want_text, 0, &je), *got = twiml_dump(doc);
	if (!want)
		fail_msg("valid/%s/output.json: %s", name, je.text);
	if (!json_equal(want, got)) {
		char *g = json_dumps(got, JSON_INDENT(2));
		fail_msg("valid/%s: got %s", name, g);
	}
	json_decref(want);
	json_decref(got);
	twiml_free(doc);
	free(xml);
	free(want_text);
}

static void one_invalid(const char *dir, const char *name)
{
	char p[1500];
	size_t len;
	snprintf(p, sizeof p, "%s/input", dir);
	char *xml = read_file(p, &len);
	snprintf(p, sizeof p, "%s/error", dir);
	char *want = read_file(p, NULL);
	if (!xml || !want)
		fail_msg("%s: needs input and error", name);
	want[strcspn(want, "\n")] = '\0';
	struct twiml_doc *doc = NULL;
	struct swb_err err = { 0 };
	if (twiml_parse(xml, len, &doc, &err) == SWB_OK)
		fail_msg("invalid/%s parsed", name);
	if (!strstr(err.msg, want))
		fail_msg("invalid/%s: error '%s' does not contain '%s'", name, err.msg, want);
	free(xml);
	free(want);
}

static void test_valid_documents_folder(void **state)
{
	(void)state;
	assert_true(run_folder("valid", one_valid) >= 5);
}

static void test_invalid_documents_folder(void **state)
{
	(void)state;
	assert_true(run_folder("invalid", one_invalid) >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ivr_gather_holds_its_prompts),
		cmocka_unit_test(test_enqueue_reads_task_json_priority_and_timeout),
		cmocka_unit_test(test_unknown_verb_is_an_error_naming_it_and_its_line),
		cmocka_unit_test(test_dtd_is_refused_so_entities_cannot_expand),
		cmocka_unit_test(test_unknown_attributes_are_ignored_as_twilio_does),
		cmocka_unit_test(test_documents_over_64_kb_are_too_big),
		cmocka_unit_test(test_too_many_verbs_are_too_big),
		cmocka_unit_test(test_a_bad_document_leaks_nothing_half_built),
		cmocka_unit_test(test_expand_replaces_parameters_xml_escaped),
		cmocka_unit_test(test_expand_missing_parameter_is_empty_and_other_braces_stay),
		cmocka_unit_test(test_expand_refuses_to_grow_past_the_limit),
		cmocka_unit_test(test_numbers_accept_webhooks_and_inline_documents),
		cmocka_unit_test(test_numbers_report_each_problem_with_its_place),
		cmocka_unit_test(test_default_workspace_ships_a_valid_ivr),
		cmocka_unit_test(test_valid_documents_folder),
		cmocka_unit_test(test_invalid_documents_folder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
