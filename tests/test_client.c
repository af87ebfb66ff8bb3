/*
 * test_client.c - tests client/swb_client.c and client/swbctl_args.c: the
 * envelope both ways, error-code mapping, swbctl's command-line mapping, local
 * token minting, and the client against a scripted fake node (a rep0 socket on
 * a temporary ipc path): calls, timeouts, the follow thread's resync and
 * reconnect events, and replacing the token while calls and pulls run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <sys/socket.h>
#include <stdint.h>
#include <cmocka.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "swb_client.h"
#include "swbctl_args.h"
#include "token.h"

/* ---- the envelope ---- */

static void test_request_envelope_has_every_field(void **state)
{
	(void)state;
	json_t *args = json_pack("{s:s}", "sid", "alice");
	char *s = swb_wire_request(7, "workers.fetch", "TOKEN", "WSone", args);
	assert_non_null(s);
	json_t *env = json_loads(s, 0, NULL);
	assert_non_null(env);
	assert_int_equal(json_integer_value(json_object_get(env, "v")), 1);
	assert_int_equal(json_integer_value(json_object_get(env, "id")), 7);
	assert_string_equal(json_string_value(json_object_get(env, "op")), "workers.fetch");
	assert_string_equal(json_string_value(json_object_get(env, "token")), "TOKEN");
	assert_string_equal(json_string_value(json_object_get(env, "workspace")), "WSone");
	assert_true(json_equal(json_object_get(env, "args"), args));
	assert_int_equal(json_object_size(env), 6);
	assert_int_equal(args->refcount, 1); /* borrowed, not kept */
	json_decref(env);
	json_decref(args);
	free(s);
}

static void test_request_envelope_leaves_out_absent_token_and_workspace(void **state)
{
	(void)state;
	char *s = swb_wire_request(1, "session.hello", NULL, NULL, NULL);
	assert_string_equal(s, "{\"v\":1,\"id\":1,\"op\":\"session.hello\",\"args\":{}}");
	free(s);
}

static void test_request_envelope_refuses_non_object_args(void **state)
{
	(void)state;
	json_t *arr = json_array();
	assert_null(swb_wire_request(1, "x", NULL, NULL, arr));
	assert_null(swb_wire_request(1, NULL, NULL, NULL, NULL));
	json_decref(arr);
}

static enum swb_code parse(const char *body, uint64_t id, json_t **res, struct swb_err *err)
{
	return swb_wire_parse_reply(body, strlen(body), id, res, err);
}

static void test_reply_ok_returns_result(void **state)
{
	(void)state;
	json_t *res = NULL;
	struct swb_err err = { 0 };
	assert_int_equal(parse("{\"v\":1,\"id\":3,\"ok\":true,\"result\":{\"a\":1}}", 3, &res, &err), SWB_OK);
	assert_int_equal(json_integer_value(json_object_get(res, "a")), 1);
	assert_int_equal(res->refcount, 1);
	json_decref(res);
	/* no result: {} */
	assert_int_equal(parse("{\"v\":1,\"id\":3,\"ok\":true}", 3, &res, &err), SWB_OK);
	assert_true(json_is_object(res) && json_object_size(res) == 0);
	json_decref(res);
	/* result pointer may be NULL */
	assert_int_equal(parse("{\"v\":1,\"id\":3,\"ok\":true,\"result\":[]}", 3, NULL, &err), SWB_OK);
}

static void test_reply_error_codes_map_to_swb_codes(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		enum swb_code code;
	} cases[] = {
		{ "bad_request", SWB_EINVAL },    { "unauthorized", SWB_EAUTH },   { "forbidden", SWB_EPERM },
		{ "not_found", SWB_ENOTFOUND },   { "conflict", SWB_ECONFLICT },   { "invalid_state", SWB_ESTATE },
		{ "too_large", SWB_ETOOBIG },     { "unknown_op", SWB_EUNKNOWN },  { "resync", SWB_ERESYNC },
		{ "unavailable", SWB_EUNAVAIL },  { "internal", SWB_EINTERNAL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char body[256];
		snprintf(body, sizeof body,
			 "{\"v\":1,\"id\":9,\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":\"why %zu\"}}",
			 cases[i].name, i);
		struct swb_err err = { 0 };
		json_t *res = (json_t *)0x1;
		assert_int_equal(parse(body, 9, &res, &err), cases[i].code);
		assert_int_equal(err.code, cases[i].code);
		char want[32];
		snprintf(want, sizeof want, "why %zu", i);
		assert_string_equal(err.msg, want);
		assert_ptr_equal(res, (json_t *)0x1); /* untouched on failure */
	}
}

static void test_reply_unknown_error_code_is_internal_and_named(void **state)
{
	(void)state;
	struct swb_err err = { 0 };
	assert_int_equal(parse("{\"v\":1,\"id\":1,\"ok\":false,\"error\":{\"code\":\"gremlins\",\"message\":\"m\"}}", 1,
			       NULL, &err),
			 SWB_EINTERNAL);
	assert_non_null(strstr(err.msg, "gremlins"));
	/* "ok" is not an error code */
	assert_int_equal(parse("{\"v\":1,\"id\":1,\"ok\":false,\"error\":{\"code\":\"ok\",\"message\":\"m\"}}", 1, NULL,
			       &err),
			 SWB_EINTERNAL);
}

static void test_reply_undecodable_request_answer_has_null_id(void **state)
{
	(void)state;
	struct swb_err err = { 0 };
	assert_int_equal(parse("{\"v\":1,\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad_request\",\"message\":"
			       "\"malformed JSON\"}}",
			       5, NULL, &err),
			 SWB_EINVAL);
	assert_string_equal(err.msg, "malformed JSON");
	/* but a success must answer our id */
	assert_int_equal(parse("{\"v\":1,\"id\":null,\"ok\":true,\"result\":{}}", 5, NULL, &err), SWB_EINTERNAL);
}

static void test_reply_bad_envelopes_are_internal(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"not json",
		"[1]",
		"{\"v\":2,\"id\":1,\"ok\":true,\"result\":{}}",
		"{\"v\":1,\"id\":2,\"ok\":true,\"result\":{}}",            /* another id */
		"{\"v\":1,\"id\":\"1\",\"ok\":true,\"result\":{}}",        /* id not an integer */
		"{\"v\":1,\"id\":1,\"ok\":true,\"result\":{},\"extra\":1}", /* unknown field */
		"{\"v\":1,\"id\":1,\"ok\":false}",                         /* failure without error */
		"{\"v\":1,\"id\":1,\"ok\":false,\"error\":{\"code\":\"x\"}}",
		"{\"v\":1,\"id\":1,\"ok\":true,\"error\":{\"code\":\"x\",\"message\":\"y\"}}",
		"{\"v\":1,\"id\":1,\"id\":1,\"ok\":true}", /* duplicate key */
		"{\"v\":1,\"ok\":true}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct swb_err err = { 0 };
		json_t *res = NULL;
		assert_int_equal(parse(bad[i], 1, &res, &err), SWB_EINTERNAL);
		assert_null(res);
		assert_true(err.msg[0] != '\0');
	}
}

/* ---- swbctl's command line ---- */

/* Parses a command line given as one string of space-separated words. */
static enum swb_code cmdline(const char *line, struct swbctl_cmd *cmd, struct swb_err *err)
{
	static char buf[1024];
	static char *words[64];
	snprintf(buf, sizeof buf, "%s", line);
	int n = 0;
	for (char *tok = strtok(buf, " "); tok && n < 64; tok = strtok(NULL, " "))
		words[n++] = tok;
	return swbctl_parse(n, words, cmd, err);
}

/* Checks that line maps to op with args equal to the JSON text want_args. */
static void expect_call(const char *line, const char *op, const char *want_args)
{
	struct swbctl_cmd cmd;
	struct swb_err err = { 0 };
	enum swb_code rc = cmdline(line, &cmd, &err);
	if (rc != SWB_OK)
		fail_msg("'%s': %s", line, err.msg);
	assert_int_equal(cmd.action, SWBCTL_CALL);
	assert_string_equal(cmd.op, op);
	json_t *want = json_loads(want_args, 0, NULL);
	assert_non_null(want);
	if (!json_equal(want, cmd.args)) {
		char *got = json_dumps(cmd.args, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("'%s': args %s, want %s", line, got, want_args);
	}
	json_decref(want);
	swbctl_cmd_free(&cmd);
}

static void expect_usage_error(const char *line, const char *msg_part)
{
	struct swbctl_cmd cmd;
	struct swb_err err = { 0 };
	assert_int_equal(cmdline(line, &cmd, &err), SWB_EINVAL);
	if (msg_part && !strstr(err.msg, msg_part))
		fail_msg("'%s': message '%s' lacks '%s'", line, err.msg, msg_part);
	swbctl_cmd_free(&cmd);
}

static void test_field_names_turn_dashes_into_underscores(void **state)
{
	(void)state;
	char out[32];
	swbctl_field_name("--activity-name", out, sizeof out);
	assert_string_equal(out, "activity_name");
	swbctl_field_name("page_size", out, sizeof out);
	assert_string_equal(out, "page_size");
	swbctl_field_name("--a-very-long-field-name-that-is-cut", out, 8);
	assert_string_equal(out, "a_very_");
}

static void test_values_are_json_when_they_parse_else_strings(void **state)
{
	(void)state;
	static const struct {
		const char *field, *in, *want;
	} cases[] = {
		{ "priority", "5", "5" },
		{ "available", "true", "true" },
		{ "attributes", "{\"language\":\"es\"}", "{\"language\":\"es\"}" },
		{ "channels", "[1,2]", "[1,2]" },
		{ "event_callback_url", "null", "\"null\"" }, /* *_url stays a string */
		{ "reason", "42", "\"42\"" },
		{ "friendly_name", "true", "\"true\"" },
		{ "activity_sid", "Available", "\"Available\"" },
		{ "attributes", "{bad", "\"{bad\"" }, /* not JSON: the node reports it */
		{ "note", "\"quoted\"", "\"quoted\"" },
		{ "note", "plain words", "\"plain words\"" },
		{ "note", "@@at", "\"@at\"" },
		{ "x", "-3", "-3" },
		{ NULL, "1.5", "1.5" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct swb_err err = { 0 };
		json_t *v = swbctl_value(cases[i].field, cases[i].in, &err);
		json_t *want = json_loads(cases[i].want, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		if (!json_equal(v, want))
			fail_msg("%s=%s: got %s", cases[i].field, cases[i].in, json_dumps(v, JSON_ENCODE_ANY));
		json_decref(v);
		json_decref(want);
	}
}

static void test_values_read_from_files(void **state)
{
	(void)state;
	char path[] = "/tmp/test_client_valueXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"big\": true}\n", 14), 14);
	close(fd);
	char arg[64];
	snprintf(arg, sizeof arg, "@%s", path);
	struct swb_err err = { 0 };
	json_t *v = swbctl_value("attributes", arg, &err);
	assert_true(json_is_true(json_object_get(v, "big")));
	json_decref(v);
	v = swbctl_value("reason", arg, &err); /* a string field takes the text, minus the newline */
	assert_string_equal(json_string_value(v), "{\"big\": true}");
	json_decref(v);
	unlink(path);
	assert_null(swbctl_value("attributes", arg, &err));
	assert_int_equal(err.code, SWB_EINVAL);
	assert_non_null(strstr(err.msg, path));
}

static void test_generic_form_maps_to_resource_verb(void **state)
{
	(void)state;
	expect_call("workers list --activity-name Available", "workers.list", "{\"activity_name\":\"Available\"}");
	expect_call("workers update alice --activity-sid Break", "workers.update",
		    "{\"sid\":\"alice\",\"activity_sid\":\"Break\"}");
	expect_call("workers update alice --activity Break", "workers.update",
		    "{\"sid\":\"alice\",\"activity_sid\":\"Break\"}");
	expect_call("queues fetch Sales", "task_queues.fetch", "{\"sid\":\"Sales\"}");
	expect_call("channels list", "task_channels.list", "{}");
	expect_call("task-queues create --name VIP --target-workers vip==1", "task_queues.create",
		    "{\"friendly_name\":\"VIP\",\"target_workers\":\"vip==1\"}");
	expect_call("workflows list --page 2 --page-size=10", "workflows.list", "{\"page\":2,\"page_size\":10}");
	expect_call("activities create --friendly-name Lunch --available false", "activities.create",
		    "{\"friendly_name\":\"Lunch\",\"available\":false}");
	expect_call("activities list --available", "activities.list", "{\"available\":true}");
	expect_call("workspace", "workspace.fetch", "{}");
	expect_call("workers", "workers.list", "{}");
	expect_call("workers --friendly-name bob", "workers.list", "{\"friendly_name\":\"bob\"}");
	expect_call("workspace stats", "workspace.stats", "{}");
	expect_call("workspaces list", "workspaces.list", "{}");
	expect_call("route preview --workflow Inbound --attributes {\"a\":1}", "route.preview",
		    "{\"workflow_sid\":\"Inbound\",\"attributes\":{\"a\":1}}");
	expect_call("session hello", "session.hello", "{}");
	expect_call("events next --after 5 --wait-ms 0", "events.next", "{\"after\":5,\"wait_ms\":0}");
	expect_call("bogus frob", "bogus.frob", "{}"); /* the node answers unknown_op */
	expect_call("workers channels list alice", "workers.channels.list", "{\"sid\":\"alice\"}");
	expect_call("workers channels update alice --channel chat --capacity 3", "workers.channels.update",
		    "{\"sid\":\"alice\",\"channel\":\"chat\",\"capacity\":3}");
}

static void test_tasks_create_maps_workflow_to_workflow_sid(void **state)
{
	(void)state;
	expect_call("tasks create --workflow Inbound --attributes {\"language\":\"es\"} --priority 5 --timeout 60",
		    "tasks.create",
		    "{\"workflow_sid\":\"Inbound\",\"attributes\":{\"language\":\"es\"},\"priority\":5,\"timeout\":60}");
}

static void test_sugar_verbs_set_the_status(void **state)
{
	(void)state;
	expect_call("reservations accept WR1", "reservations.update",
		    "{\"sid\":\"WR1\",\"reservation_status\":\"accepted\"}");
	expect_call("reservations reject WR1 --activity Break", "reservations.update",
		    "{\"sid\":\"WR1\",\"reservation_status\":\"rejected\",\"worker_activity_sid\":\"Break\"}");
	expect_call("reservations complete WR1", "reservations.update",
		    "{\"sid\":\"WR1\",\"reservation_status\":\"completed\"}");
	expect_call("tasks complete WT1 --reason done", "tasks.update",
		    "{\"sid\":\"WT1\",\"assignment_status\":\"completed\",\"reason\":\"done\"}");
	expect_call("tasks cancel WT1", "tasks.update", "{\"sid\":\"WT1\",\"assignment_status\":\"canceled\"}");
	expect_call("tasks wrap WT1", "tasks.update", "{\"sid\":\"WT1\",\"assignment_status\":\"wrapping\"}");
	expect_usage_error("reservations accept", "which one");
	expect_usage_error("tasks cancel WT1 --assignment-status pending", "set by the verb");
}

static void test_shortcuts_map_to_their_ops(void **state)
{
	(void)state;
	expect_call("stats queue Sales", "task_queues.stats", "{\"sid\":\"Sales\"}");
	expect_call("stats workspace", "workspace.stats", "{}");
	expect_call("hello", "session.hello", "{}");
	expect_call("snapshot", "snapshot", "{}");
	expect_call("ops", "ops.list", "{}");
	expect_call("events list --type reservation.created --minutes 5", "events.list",
		    "{\"event_type\":\"reservation.created\",\"minutes\":5}");
	expect_call("call tasks.list", "tasks.list", "{}");
	expect_call("call tasks.list {\"assignment_status\":\"pending\"}", "tasks.list",
		    "{\"assignment_status\":\"pending\"}");
	expect_call("reservations list --worker alice --status pending", "reservations.list",
		    "{\"worker_sid\":\"alice\",\"reservation_status\":\"pending\"}");
}

static void test_usage_errors_are_reported(void **state)
{
	(void)state;
	expect_usage_error("", "no command");
	expect_usage_error("call tasks.list {bad", "not valid JSON");
	expect_usage_error("call tasks.list [1]", "must be a JSON object");
	expect_usage_error("call", "usage");
	expect_usage_error("workers fetch alice bob", "unexpected argument 'bob'");
	expect_usage_error("workers list --page 1 --page 2", "given twice");
	expect_usage_error("hello extra", "unexpected");
	expect_usage_error("stats", "usage");
	expect_usage_error("stats queue", "which queue");
	expect_usage_error("token", "which scope");
	expect_usage_error("token root", "unknown scope");
	expect_usage_error("token worker", "which worker");
	expect_usage_error("token admin --ttl 0", "--ttl");
	expect_usage_error("token admin --ttl", "needs a value");
	expect_usage_error("events follow --after x", "--after");
	expect_usage_error("events follow --since 3", "unknown option");
	expect_usage_error("--url x hello", "options go before");
}

static void test_follow_and_token_commands(void **state)
{
	(void)state;
	struct swbctl_cmd cmd;
	struct swb_err err = { 0 };
	assert_int_equal(cmdline("events follow", &cmd, &err), SWB_OK);
	assert_int_equal(cmd.action, SWBCTL_FOLLOW);
	assert_true(cmd.after == SWB_FOLLOW_NOW);
	assert_int_equal(cmd.count, 0);
	swbctl_cmd_free(&cmd);
	assert_int_equal(cmdline("events follow --after 12 --count=3", &cmd, &err), SWB_OK);
	assert_int_equal(cmd.after, 12);
	assert_int_equal(cmd.count, 3);
	swbctl_cmd_free(&cmd);

	assert_int_equal(cmdline("token admin", &cmd, &err), SWB_OK);
	assert_int_equal(cmd.action, SWBCTL_TOKEN);
	assert_string_equal(cmd.scope, "admin");
	assert_int_equal(cmd.ttl, SWBCTL_TTL_ADMIN);
	swbctl_cmd_free(&cmd);
	assert_int_equal(cmdline("token supervisor", &cmd, &err), SWB_OK);
	assert_int_equal(cmd.ttl, 12 * 3600);
	swbctl_cmd_free(&cmd);
	assert_int_equal(cmdline("token worker alice --ttl 60", &cmd, &err), SWB_OK);
	assert_string_equal(cmd.scope, "worker");
	assert_string_equal(cmd.worker, "alice");
	assert_int_equal(cmd.ttl, 60);
	swbctl_cmd_free(&cmd);

	assert_int_equal(cmdline("workers list --help", &cmd, &err), SWB_OK);
	assert_int_equal(cmd.action, SWBCTL_HELP);
	swbctl_cmd_free(&cmd);
}

static void test_global_options_come_before_the_command(void **state)
{
	(void)state;
	char *argv[] = { "swbctl", "--url", "tcp://127.0.0.1:1", "--token=T", "--data", "/d", "--workspace", "W",
			 "--json", "--call-timeout", "250", "--request-limit", "0", "workers", "list", "--table", NULL };
	int argc = 16;
	struct swbctl_opts o;
	struct swb_err err = { 0 };
	int first = swbctl_parse_opts(argc, argv, &o, &err);
	assert_int_equal(first, 13);
	assert_string_equal(o.url, "tcp://127.0.0.1:1");
	assert_string_equal(o.token, "T");
	assert_string_equal(o.data_dir, "/d");
	assert_string_equal(o.workspace, "W");
	assert_int_equal(o.format, SWBCTL_FORMAT_JSON);
	assert_int_equal(o.timeout_ms, 250);
	assert_true(o.has_request_limit);
	assert_int_equal(o.request_limit, 0);
	int cargc = argc - first;
	swbctl_take_format(&cargc, argv + first, &o);
	assert_int_equal(cargc, 2);
	assert_int_equal(o.format, SWBCTL_FORMAT_TABLE);

	char *bad1[] = { "swbctl", "--bogus", "hello" };
	assert_int_equal(swbctl_parse_opts(3, bad1, &o, &err), -1);
	char *bad2[] = { "swbctl", "--url" };
	assert_int_equal(swbctl_parse_opts(2, bad2, &o, &err), -1);
	char *bad3[] = { "swbctl", "--call-timeout", "0", "hello" };
	assert_int_equal(swbctl_parse_opts(4, bad3, &o, &err), -1);
	char *bad4[] = { "swbctl", "--json=1", "hello" };
	assert_int_equal(swbctl_parse_opts(3, bad4, &o, &err), -1);
}

/* ---- local tokens ---- */

static void test_local_token_is_signed_with_the_data_dir_secret(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_client_dataXXXXXX";
	assert_non_null(mkdtemp(dir));
	unsigned char secret[SWB_SECRET_LEN];
	struct swb_err err = { 0 };
	assert_int_equal(swb_secret_load_or_create(dir, secret, &err), SWB_OK);
	char *tok = NULL;
	assert_int_equal(swb_client_local_token(dir, "worker:WK0123456789abcdef0123456789abcdef", 60, &tok, &err),
			 SWB_OK);
	struct swb_token_claims cl;
	long long now = (long long)time(NULL);
	assert_int_equal(swb_token_verify(secret, sizeof secret, tok, now, &cl, &err), SWB_OK);
	assert_int_equal(cl.scope, SWB_SCOPE_WORKER);
	assert_string_equal(cl.worker_sid, "WK0123456789abcdef0123456789abcdef");
	assert_true(cl.exp - cl.iat == 60);
	free(tok);
	tok = NULL;
	assert_int_equal(swb_client_local_token(dir, "admin", 3600, &tok, &err), SWB_OK);
	assert_int_equal(swb_token_verify(secret, sizeof secret, tok, now, &cl, &err), SWB_OK);
	assert_int_equal(cl.scope, SWB_SCOPE_ADMIN);
	free(tok);
	tok = NULL;

	assert_int_equal(swb_client_local_token(dir, "root", 60, &tok, &err), SWB_EINVAL);
	assert_int_equal(swb_client_local_token(dir, "admin", 0, &tok, &err), SWB_EINVAL);
	assert_null(tok);
	char path[128];
	snprintf(path, sizeof path, "%s/secret", dir);
	unlink(path);
	assert_int_equal(swb_client_local_token(dir, "admin", 60, &tok, &err), SWB_EIO);
	assert_non_null(strstr(err.msg, "--token"));
	assert_null(tok);
	rmdir(dir);
}

/* ---- against a fake node ---- */

/*
 * A scripted node: a rep0 socket answering session.hello (echoing the token it
 * got as "token", null for none), snapshot (seq 10), events.next (refused as
 * an expired token when the token is "EXPIRED"; else resync for after < 10,
 * one event for after 10, then empty batches), and "slow" (never answered). It runs in a child process (this program run with
 * --fake-node URL SNAP_SEQ): stopping it is a kill -9, as a node crash would be,
 * and no nng_close in this process can hang on it (nng 1.5.2 can hang closing
 * both ends of one connection in one process, which stalled CI). The child
 * writes one byte on its stdout pipe per events.next it answers.
 */
struct fake {
	char url[128];
	pid_t pid;
	int pulls_fd; /* read end: a byte per pull */
	int pulls;
	int snap_seq; /* the snapshot's seq; 0: 10 */
};

static void fake_answer(nng_socket s, json_t *id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *body = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	json_t *env = json_pack("{s:i, s:O, s:o}", "v", 1, "id", id, "ok", json_true());
	if (json_object_get(body, "code"))
		json_object_set_new(env, "ok", json_false()), json_object_set_new(env, "error", body);
	else
		json_object_set_new(env, "result", body);
	char *text = json_dumps(env, JSON_COMPACT);
	nng_send(s, text, strlen(text), 0);
	free(text);
	json_decref(env);
}

static void fake_reply(nng_socket s, json_t *req, int snap_seq)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	json_t *id = json_object_get(req, "id");
	json_t *after = json_object_get(json_object_get(req, "args"), "after");
	json_t *token = json_object_get(req, "token");
	if (!op)
		return;
	if (strcmp(op, "session.hello") == 0) {
		fake_answer(s, id, "{s:s, s:O}", "scope", "admin", "token", token ? token : json_null());
	} else if (strcmp(op, "snapshot") == 0) {
		fake_answer(s, id, "{s:i, s:{}}", "seq", snap_seq ? snap_seq : 10, "workspace");
	} else if (strcmp(op, "events.next") == 0) {
		if (write(STDOUT_FILENO, "p", 1) != 1)
			_exit(3);
		if (json_is_string(token) && strcmp(json_string_value(token), "EXPIRED") == 0)
			fake_answer(s, id, "{s:s, s:s}", "code", "unauthorized", "message",
				    "token expired at 2001-01-01T00:00:00Z (now 2001-01-02T00:00:00Z)");
		else if (after && json_integer_value(after) < 10)
			fake_answer(s, id, "{s:s, s:s}", "code", "resync", "message", "too old");
		else if (json_integer_value(after) == 10)
			fake_answer(s, id, "{s:[{s:i, s:s}], s:i}", "events", "seq", 11, "event_type", "task.created",
				    "seq", 11);
		else {
			usleep(20 * 1000);
			fake_answer(s, id, "{s:[], s:I}", "events", "seq", json_integer_value(after));
		}
	}
	/* "slow": no answer */
}

/* The child: listens, says "L" once it does, answers until killed. */
static int fake_node_main(const char *url, int snap_seq)
{
	nng_socket s;
	if (nng_rep0_open(&s) != 0 || nng_listen(s, url, NULL, 0) != 0)
		return 2;
	if (write(STDOUT_FILENO, "L", 1) != 1)
		return 3;
	for (;;) {
		char *buf = NULL;
		size_t len = 0;
		if (nng_recv(s, &buf, &len, NNG_FLAG_ALLOC) != 0)
			return 4;
		json_t *req = json_loadb(buf, len, 0, NULL);
		nng_free(buf, len);
		fake_reply(s, req, snap_seq);
		json_decref(req);
	}
}

static void fake_start(struct fake *f)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	char seq[16];
	snprintf(seq, sizeof seq, "%d", f->snap_seq);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl("/proc/self/exe", "test_client", "--fake-node", f->url, seq, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f->pulls_fd = fds[0];
	char c = 0;
	assert_int_equal(read(f->pulls_fd, &c, 1), 1); /* EOF: the child could not listen */
	assert_int_equal(c, 'L');
}

/* events.next requests the fake node answered so far. */
static int fake_pulls(struct fake *f)
{
	char buf[256];
	struct pollfd p = { .fd = f->pulls_fd, .events = POLLIN };
	while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
		ssize_t n = read(f->pulls_fd, buf, sizeof buf);
		if (n <= 0)
			break;
		f->pulls += (int)n;
	}
	return f->pulls;
}

static void fake_stop(struct fake *f)
{
	kill(f->pid, SIGKILL);
	int status = 0;
	waitpid(f->pid, &status, 0);
	close(f->pulls_fd);
}

/*
 * A free loopback port for the fake node. TCP rather than ipc: nng 1.5.2's ipc
 * transport can hang nng_close when a peer is mid-handshake (bug 1518 family),
 * which made this test hang about once in dozens of sanitizer runs.
 */
static void fake_url(struct fake *f)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	snprintf(f->url, sizeof f->url, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
}

/* The next event within ms, or NULL. */
static json_t *wait_event(swb_client *c, int ms)
{
	for (int waited = 0; waited <= ms; waited += 10) {
		json_t *ev = swb_client_next_event(c);
		if (ev)
			return ev;
		struct pollfd p = { .fd = swb_client_event_fd(c), .events = POLLIN };
		poll(&p, 1, 10);
	}
	return NULL;
}

static void expect_event_type(json_t *ev, const char *type)
{
	assert_non_null(ev);
	const char *got = json_string_value(json_object_get(ev, "event_type"));
	if (!got || strcmp(got, type) != 0)
		fail_msg("event %s, want %s", got ? got : "(none)", type);
}

static void test_call_to_absent_node_times_out_as_unavailable(void **state)
{
	(void)state;
	struct swb_err err = { 0 };
	swb_client *c = swb_client_open("ipc:///tmp/test_client_nobody_here.ipc", "T", &err);
	assert_non_null(c);
	assert_false(swb_client_connected(c));
	json_t *res = NULL;
	assert_int_equal(swb_client_call(c, "session.hello", NULL, 200, &res, &err), SWB_EUNAVAIL);
	assert_string_equal(err.msg, "node unreachable (timed out after 200 ms)");
	assert_null(res);
	swb_client_close(c);
}

static void test_open_refuses_a_bad_url(void **state)
{
	(void)state;
	struct swb_err err = { 0 };
	assert_null(swb_client_open("carrier-pigeon://x", NULL, &err));
	assert_int_equal(err.code, SWB_EINVAL);
	assert_non_null(strstr(err.msg, "carrier-pigeon"));
}

static void test_call_and_request_limit_against_fake_node(void **state)
{
	(void)state;
	struct fake f = { 0 };
	fake_url(&f);
	fake_start(&f);
	struct swb_err err = { 0 };
	swb_client *c = swb_client_open(f.url, "T", &err);
	assert_non_null(c);
	assert_true(swb_client_wait_connected(c, 2000));
	json_t *res = NULL;
	assert_int_equal(swb_client_call(c, "session.hello", NULL, 2000, &res, &err), SWB_OK);
	assert_string_equal(json_string_value(json_object_get(res, "scope")), "admin");
	json_decref(res);
	res = NULL;
	/* an unanswered request times out, and the context is usable afterwards */
	assert_int_equal(swb_client_call(c, "slow", NULL, 100, &res, &err), SWB_EUNAVAIL);
	assert_int_equal(swb_client_call(c, "session.hello", NULL, 2000, &res, &err), SWB_OK);
	json_decref(res);
	res = NULL;
	/* a request over the wire limit is refused before it is sent */
	size_t big = SWB_CLIENT_WIRE_MAX + 10;
	char *s = malloc(big + 1);
	memset(s, 'x', big);
	s[big] = '\0';
	json_t *args = json_pack("{s:s}", "attributes", s);
	free(s);
	assert_int_equal(swb_client_call(c, "tasks.create", args, 2000, &res, &err), SWB_ETOOBIG);
	assert_non_null(strstr(err.msg, "at most 1048576"));
	json_decref(args);
	swb_client_close(c);
	fake_stop(&f);
}

static void test_follow_resyncs_and_reports_reconnects(void **state)
{
	(void)state;
	struct fake f = { 0 };
	fake_url(&f);
	fake_start(&f);
	struct swb_err err = { 0 };
	swb_client *c = swb_client_open(f.url, "T", &err);
	assert_non_null(c);
	assert_int_equal(swb_client_follow(c, 5, &err), SWB_OK);
	assert_int_equal(swb_client_follow(c, 5, &err), SWB_ESTATE);

	/* cursor 5 is too old: a snapshot, then the stream from its seq */
	json_t *ev = wait_event(c, 3000);
	expect_event_type(ev, SWB_EVENT_RESYNC);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "snapshot"), "seq")), 10);
	json_decref(ev);
	ev = wait_event(c, 3000);
	expect_event_type(ev, "task.created");
	assert_int_equal(json_integer_value(json_object_get(ev, "seq")), 11);
	json_decref(ev);
	for (int i = 0; i < 200 && swb_client_cursor(c) != 11; i++)
		usleep(10 * 1000);
	assert_int_equal(swb_client_cursor(c), 11);

	/* the node goes away: connection false */
	fake_stop(&f);
	ev = wait_event(c, 5000);
	expect_event_type(ev, SWB_EVENT_CONNECTION);
	assert_true(json_is_false(json_object_get(ev, "connected")));
	json_decref(ev);
	/* nng fails the pull as the pipe closes and reports the pipe gone just after */
	for (int i = 0; i < 100 && swb_client_connected(c); i++)
		usleep(10 * 1000);
	assert_false(swb_client_connected(c));

	/* and comes back: a resync first, then connection true */
	fake_start(&f);
	ev = wait_event(c, 8000);
	expect_event_type(ev, SWB_EVENT_RESYNC);
	json_decref(ev);
	ev = wait_event(c, 3000);
	expect_event_type(ev, SWB_EVENT_CONNECTION);
	assert_true(json_is_true(json_object_get(ev, "connected")));
	json_decref(ev);
	assert_true(swb_client_connected(c));
	swb_client_close(c);
	fake_stop(&f);
}

static void test_follow_reports_a_resync_loop_once(void **state)
{
	(void)state;
	struct fake f = { .snap_seq = 3 }; /* a snapshot older than the window: the node's bug */
	fake_url(&f);
	fake_start(&f);
	struct swb_err err = { 0 };
	swb_client *c = swb_client_open(f.url, "T", &err);
	assert_int_equal(swb_client_follow(c, 5, &err), SWB_OK);
	json_t *ev = wait_event(c, 3000);
	expect_event_type(ev, SWB_EVENT_RESYNC);
	json_decref(ev);
	ev = wait_event(c, 3000);
	expect_event_type(ev, SWB_EVENT_ERROR);
	assert_string_equal(json_string_value(json_object_get(ev, "code")), "resync");
	json_decref(ev);
	/* the pull is retried with backoff (no snapshot storm), and the error told once */
	assert_null(wait_event(c, 800));
	assert_true(fake_pulls(&f) >= 3);
	swb_client_close(c);
	fake_stop(&f);
}

/* The token the fake node saw on a session.hello: a malloc'd copy, or NULL when none was sent. */
static char *hello_token(swb_client *c)
{
	struct swb_err err = { 0 };
	json_t *res = NULL;
	if (swb_client_call(c, "session.hello", NULL, 2000, &res, &err) != SWB_OK)
		fail_msg("session.hello: %s", err.msg);
	const char *t = json_string_value(json_object_get(res, "token"));
	char *copy = t ? strdup(t) : NULL;
	json_decref(res);
	return copy;
}

static void test_set_token_replaces_the_token_of_later_calls(void **state)
{
	(void)state;
	struct fake f = { 0 };
	fake_url(&f);
	fake_start(&f);
	struct swb_err err = { 0 };
	swb_client *c = swb_client_open(f.url, "OLD", &err);
	assert_non_null(c);
	assert_true(swb_client_wait_connected(c, 2000));
	char *t = hello_token(c);
	assert_string_equal(t, "OLD");
	free(t);
	assert_int_equal(swb_client_set_token(c, "NEW", &err), SWB_OK);
	t = hello_token(c);
	assert_string_equal(t, "NEW");
	free(t);
	/* too long: refused, and the token in use stays */
	char *big = malloc(SWB_TOKEN_MAX_LEN + 2);
	memset(big, 'x', SWB_TOKEN_MAX_LEN + 1);
	big[SWB_TOKEN_MAX_LEN + 1] = '\0';
	assert_int_equal(swb_client_set_token(c, big, &err), SWB_EINVAL);
	assert_non_null(strstr(err.msg, "longer than"));
	free(big);
	t = hello_token(c);
	assert_string_equal(t, "NEW");
	free(t);
	/* NULL: no token at all */
	assert_int_equal(swb_client_set_token(c, NULL, &err), SWB_OK);
	assert_null(hello_token(c));
	swb_client_close(c);
	fake_stop(&f);
}

static void test_follow_pulls_with_the_new_token(void **state)
{
	(void)state;
	struct fake f = { 0 };
	fake_url(&f);
	fake_start(&f);
	struct swb_err err = { 0 };
	swb_client *c = swb_client_open(f.url, "EXPIRED", &err);
	assert_non_null(c);
	assert_int_equal(swb_client_follow(c, 10, &err), SWB_OK);
	json_t *ev = wait_event(c, 3000);
	expect_event_type(ev, SWB_EVENT_ERROR);
	assert_string_equal(json_string_value(json_object_get(ev, "code")), "unauthorized");
	assert_non_null(strstr(json_string_value(json_object_get(ev, "message")), "token expired"));
	json_decref(ev);
	/* renewed: the follow thread's next pull carries the new token and gets the event */
	assert_int_equal(swb_client_set_token(c, "FRESH", &err), SWB_OK);
	ev = wait_event(c, 8000);
	expect_event_type(ev, "task.created");
	assert_int_equal(json_integer_value(json_object_get(ev, "seq")), 11);
	json_decref(ev);
	swb_client_close(c);
	fake_stop(&f);
}

struct swapper {
	swb_client *c;
	atomic_bool stop;
	int swaps;
};

/* Replaces the token with "A" and "B" in turn until told to stop. */
static void *swap_tokens(void *arg)
{
	struct swapper *sw = arg;
	struct swb_err err = { 0 };
	while (!atomic_load(&sw->stop)) {
		if (swb_client_set_token(sw->c, sw->swaps % 2 ? "B" : "A", &err) != SWB_OK)
			return NULL;
		sw->swaps++;
	}
	return NULL;
}

static void test_set_token_races_calls_and_the_follow_thread(void **state)
{
	(void)state;
	struct fake f = { 0 };
	fake_url(&f);
	fake_start(&f);
	struct swb_err err = { 0 };
	swb_client *c = swb_client_open(f.url, "A", &err);
	assert_non_null(c);
	assert_true(swb_client_wait_connected(c, 2000));
	assert_int_equal(swb_client_follow(c, 10, &err), SWB_OK);
	struct swapper sw = { .c = c };
	atomic_init(&sw.stop, false);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, swap_tokens, &sw), 0);
	/* every answer saw a whole token, one of the two (ASan would catch a read of a freed one) */
	for (int i = 0; i < 50; i++) {
		char *t = hello_token(c);
		assert_non_null(t);
		assert_true(strcmp(t, "A") == 0 || strcmp(t, "B") == 0);
		free(t);
	}
	atomic_store(&sw.stop, true);
	pthread_join(th, NULL);
	assert_true(sw.swaps > 0);
	json_t *ev = wait_event(c, 3000); /* the follow thread pulled throughout */
	expect_event_type(ev, "task.created");
	json_decref(ev);
	swb_client_close(c);
	fake_stop(&f);
}

static void test_follow_reports_an_absent_node(void **state)
{
	(void)state;
	struct swb_err err = { 0 };
	swb_client *c = swb_client_open("ipc:///tmp/test_client_nobody_here.ipc", "T", &err);
	assert_int_equal(swb_client_follow(c, SWB_FOLLOW_NOW, &err), SWB_OK);
	json_t *ev = wait_event(c, 4000);
	expect_event_type(ev, SWB_EVENT_CONNECTION);
	assert_true(json_is_false(json_object_get(ev, "connected")));
	json_decref(ev);
	assert_null(swb_client_next_event(c));
	swb_client_close(c); /* stops a thread that is backing off */
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--fake-node") == 0)
		return fake_node_main(argv[2], atoi(argv[3]));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_envelope_has_every_field),
		cmocka_unit_test(test_request_envelope_leaves_out_absent_token_and_workspace),
		cmocka_unit_test(test_request_envelope_refuses_non_object_args),
		cmocka_unit_test(test_reply_ok_returns_result),
		cmocka_unit_test(test_reply_error_codes_map_to_swb_codes),
		cmocka_unit_test(test_reply_unknown_error_code_is_internal_and_named),
		cmocka_unit_test(test_reply_undecodable_request_answer_has_null_id),
		cmocka_unit_test(test_reply_bad_envelopes_are_internal),
		cmocka_unit_test(test_field_names_turn_dashes_into_underscores),
		cmocka_unit_test(test_values_are_json_when_they_parse_else_strings),
		cmocka_unit_test(test_values_read_from_files),
		cmocka_unit_test(test_generic_form_maps_to_resource_verb),
		cmocka_unit_test(test_tasks_create_maps_workflow_to_workflow_sid),
		cmocka_unit_test(test_sugar_verbs_set_the_status),
		cmocka_unit_test(test_shortcuts_map_to_their_ops),
		cmocka_unit_test(test_usage_errors_are_reported),
		cmocka_unit_test(test_follow_and_token_commands),
		cmocka_unit_test(test_global_options_come_before_the_command),
		cmocka_unit_test(test_local_token_is_signed_with_the_data_dir_secret),
		cmocka_unit_test(test_open_refuses_a_bad_url),
		cmocka_unit_test(test_call_to_absent_node_times_out_as_unavailable),
		cmocka_unit_test(test_call_and_request_limit_against_fake_node),
		cmocka_unit_test(test_follow_resyncs_and_reports_reconnects),
		cmocka_unit_test(test_follow_reports_a_resync_loop_once),
		cmocka_unit_test(test_follow_reports_an_absent_node),
		cmocka_unit_test(test_set_token_replaces_the_token_of_later_calls),
		cmocka_unit_test(test_follow_pulls_with_the_new_token),
		cmocka_unit_test(test_set_token_races_calls_and_the_follow_thread),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (swb_client_all_closed())
		nng_fini(); /* nng's own threads, so valgrind sees no leak */
	return failed;
}
