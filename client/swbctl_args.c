/*
 * swbctl_args.c - swbctl's command line: global options, the command words and
 * their flags, turned into an op with JSON arguments (or a follow, or a token).
 * The tables below are the whole vocabulary: resource aliases, the sugar verbs
 * (reservations accept, tasks complete, ...), flag aliases and the name-like
 * fields that always stay strings. The usage text is written from the same
 * words, so it cannot drift from what is parsed.
 */
#include "swbctl_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_client.h"

/* ---- the vocabulary ---- */

static const struct {
	const char *word, *resource;
} resource_words[] = {
	{ "workspace", "workspace" },         { "activities", "activities" },   { "activity", "activities" },
	{ "channels", "task_channels" },      { "channel", "task_channels" },   { "task_channels", "task_channels" },
	{ "task-channels", "task_channels" }, { "queues", "task_queues" },      { "queue", "task_queues" },
	{ "task_queues", "task_queues" },     { "task-queues", "task_queues" }, { "workers", "workers" },
	{ "worker", "workers" },              { "workflows", "workflows" },     { "workflow", "workflows" },
	{ "tasks", "tasks" },                 { "task", "tasks" },              { "reservations", "reservations" },
	{ "reservation", "reservations" },    { "events", "events" },           { "route", "route" },
	{ "session", "session" },             { "workspaces", "workspaces" },   { "calls", "calls" },
};

/* Verbs that are an update with one field set. */
static const struct sugar {
	const char *resource, *verb, *op, *field, *value;
} sugars[] = {
	{ "reservations", "accept", "reservations.update", "reservation_status", "accepted" },
	{ "reservations", "reject", "reservations.update", "reservation_status", "rejected" },
	{ "reservations", "wrap", "reservations.update", "reservation_status", "wrapping" },
	{ "reservations", "complete", "reservations.update", "reservation_status", "completed" },
	{ "tasks", "complete", "tasks.update", "assignment_status", "completed" },
	{ "tasks", "cancel", "tasks.update", "assignment_status", "canceled" },
	{ "tasks", "wrap", "tasks.update", "assignment_status", "wrapping" },
};

/* Short flags for long field names; op NULL applies to every op without its own entry. */
static const struct alias {
	const char *op, *flag, *field;
} aliases[] = {
	{ "reservations.update", "activity", "worker_activity_sid" },
	{ "reservations.list", "status", "reservation_status" },
	{ "reservations.list", "worker", "worker_sid" },
	{ "reservations.list", "task", "task_sid" },
	{ "tasks.list", "status", "assignment_status" },
	{ "events.list", "type", "event_type" },
	{ "events.list", "worker", "worker_sid" },
	{ "events.list", "task", "task_sid" },
	{ "events.list", "reservation", "reservation_sid" },
	{ "events.list", "channel", "task_channel" },
	{ NULL, "workflow", "workflow_sid" },
	{ NULL, "queue", "task_queue_sid" },
	{ NULL, "activity", "activity_sid" },
	{ NULL, "name", "friendly_name" },
};

/* Name-like fields: "123" or "true" is a name there, not a number. */
static bool string_field(const char *f)
{
	static const char *const exact[] = { "sid", "friendly_name", "unique_name", "reason", "target_workers",
					     "task_channel", "channel", "event_type", "expression", "order_by" };
	static const char *const suffixes[] = { "_sid", "_name", "_url", "_expression", "_date" };
	if (!f)
		return false;
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (strcmp(f, exact[i]) == 0)
			return true;
	size_t n = strlen(f);
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		size_t m = strlen(suffixes[i]);
		if (n > m && strcmp(f + n - m, suffixes[i]) == 0)
			return true;
	}
	return strncmp(f, "evaluate_", 9) == 0;
}

void swbctl_usage(FILE *f)
{
	fprintf(f,
		"usage: swbctl [OPTIONS] COMMAND ...\n"
		"\n"
		"Options (before the command):\n"
		"  --url URL            node to talk to (default: $SWB_URL, else the local ipc socket)\n"
		"  --token TOKEN        token to send (default: $SWB_TOKEN, else an admin token minted\n"
		"                       from the secret in the data directory)\n"
		"  --data DIR           the node's data directory, for minting tokens (default: $SWB_DATA,\n"
		"                       else $XDG_DATA_HOME/switchboard)\n"
		"  --workspace WS       workspace to address, a WS sid or name (default: $SWB_WORKSPACE,\n"
		"                       else the node's default; a worker token's own)\n"
		"  --json | --table     output format (default: a table on a terminal, JSON otherwise)\n"
		"  --call-timeout MS    how long to wait for an answer (default %d)\n"
		"  --request-limit N    largest request sent, bytes (0: none; to test the node's limit)\n"
		"\n"
		"Resources (generic form):\n"
		"  swbctl RESOURCE VERB [SID-or-NAME] [--field value ...]   runs op RESOURCE.VERB\n"
		"    RESOURCE: workspace activities channels (task_channels) queues (task_queues)\n"
		"              workers workflows tasks reservations events route session\n"
		"              workspaces (the node's workspaces) calls\n"
		"    VERB:     create fetch list update delete (workspace: fetch update stats;\n"
		"              queues: stats; route: preview; events: list next; session: hello;\n"
		"              workspaces: list create delete)\n"
		"    --some-field V is args.some_field; V is JSON if it parses (42, true, {...}, [...],\n"
		"    \"str\"), else a string; name-like fields (sid, *_sid, *_name, reason, ...) stay\n"
		"    strings. @FILE reads V from FILE (@- from standard input). Short flags:\n"
		"    --workflow (workflow_sid), --queue (task_queue_sid), --activity (activity_sid;\n"
		"    for reservations worker_activity_sid), --name (friendly_name); events list:\n"
		"    --type --worker --task --reservation --channel; lists: --status.\n"
		"  swbctl RESOURCE                          same as RESOURCE list (workspace: fetch)\n"
		"  swbctl workers channels list|update WK.. [--channel C --capacity N --available B]\n"
		"\n"
		"Shortcuts:\n"
		"  swbctl reservations accept|reject|wrap|complete WR.. [--activity NAME]\n"
		"  swbctl tasks complete|cancel|wrap WT.. [--reason R]\n"
		"  swbctl tasks create [--workflow NAME] --attributes JSON [--priority N] [--timeout S]\n"
		"  swbctl stats queue NAME|SID              task_queues.stats\n"
		"  swbctl stats workspace                   workspace.stats\n"
		"  swbctl events list [--type T] [--minutes N] [--worker WK..] ...\n"
		"  swbctl events follow [--after SEQ] [--count N]   one event per line until interrupted\n"
		"  swbctl snapshot | hello | ops            snapshot, session.hello, ops.list\n"
		"  swbctl call OP [JSON-ARGS|@FILE]         any op, raw arguments\n"
		"\n"
		"Tokens (read the node's secret: run as the node's user):\n"
		"  swbctl token admin [--ttl S]             default ttl 1 h\n"
		"  swbctl token supervisor [--ttl S]        default ttl 12 h\n"
		"  swbctl token worker NAME|WK.. [--ttl S]  default ttl 12 h\n"
		"  swbctl token --twilio NAME|WK.. [--ttl S] a Twilio Access Token (twilio-taskrouter, /agent/)\n"
		"  swbctl credentials                       account SID, auth token, API key (REST, SDKs)\n"
		"\n"
		"Errors go to stderr as 'swbctl: CODE: message'; exit 1 (2 for usage errors).\n",
		SWBCTL_DEFAULT_TIMEOUT_MS);
}

/* ---- values ---- */

void swbctl_field_name(const char *flag, char *out, size_t len)
{
	if (len == 0)
		return;
	while (*flag == '-')
		flag++;
	size_t i = 0;
	for (; flag[i] && i + 1 < len; i++)
		out[i] = flag[i] == '-' ? '_' : flag[i];
	out[i] = '\0';
}

static char *read_value_file(const char *path, struct swb_err *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		swb_err_set(err, SWB_EINVAL, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 >= cap) {
			if (cap >= SWBCTL_VALUE_FILE_MAX) {
				swb_err_set(err, SWB_ETOOBIG, "'%s' is over %d bytes", path, SWBCTL_VALUE_FILE_MAX);
				free(buf);
				buf = NULL;
				break;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0) {
			if (ferror(f)) {
				swb_err_set(err, SWB_EINVAL, "cannot read '%s'", path);
				free(buf);
				buf = NULL;
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (!buf) {
		if (err && err->code == SWB_OK)
			swb_err_set(err, SWB_ENOMEM, "out of memory reading '%s'", path);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

json_t *swbctl_value(const char *field, const char *s, struct swb_err *err)
{
	char *file = NULL;
	if (s[0] == '@' && s[1] == '@') {
		s++; /* "@@x" is the string "@x" */
	} else if (s[0] == '@') {
		swb_err_clear(err);
		if (!(file = read_value_file(s + 1, err)))
			return NULL;
		size_t n = strlen(file);
		if (string_field(field) && n > 0 && file[n - 1] == '\n')
			file[n - 1] = '\0';
		s = file;
	} else if (string_field(field)) {
		return json_string(s);
	}
	json_t *v = NULL;
	if (!string_field(field))
		v = json_loads(s, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	if (!v)
		v = json_string(s);
	free(file);
	if (!v)
		swb_err_set(err, SWB_EINVAL, "value is not valid UTF-8");
	return v;
}

/* ---- parsing ---- */

static bool parse_ll(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int swbctl_parse_opts(int argc, char **argv, struct swbctl_opts *o, struct swb_err *err)
{
	memset(o, 0, sizeof *o);
	o->timeout_ms = SWBCTL_DEFAULT_TIMEOUT_MS;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-')
			break;
		const char *val = NULL;
		char name[64];
		const char *eq = strchr(a, '=');
		if (eq) {
			snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
			val = eq + 1;
		} else {
			snprintf(name, sizeof name, "%s", a);
		}
		bool takes = strcmp(name, "--url") == 0 || strcmp(name, "--token") == 0 || strcmp(name, "--data") == 0 ||
			     strcmp(name, "--workspace") == 0 ||
			     strcmp(name, "--call-timeout") == 0 || strcmp(name, "--request-limit") == 0;
		if (takes && !val) {
			if (i + 1 >= argc) {
				swb_err_set(err, SWB_EINVAL, "%s needs a value", name);
				return -1;
			}
			val = argv[++i];
		} else if (!takes && val) {
			swb_err_set(err, SWB_EINVAL, "%s takes no value", name);
			return -1;
		}
		long long n;
		if (strcmp(name, "--url") == 0) {
			o->url = val;
		} else if (strcmp(name, "--token") == 0) {
			o->token = val;
		} else if (strcmp(name, "--data") == 0) {
			o->data_dir = val;
		} else if (strcmp(name, "--workspace") == 0) {
			o->workspace = val;
		} else if (strcmp(name, "--json") == 0) {
			o->format = SWBCTL_FORMAT_JSON;
		} else if (strcmp(name, "--table") == 0) {
			o->format = SWBCTL_FORMAT_TABLE;
		} else if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
			o->help = true;
		} else if (strcmp(name, "--call-timeout") == 0) {
			if (!parse_ll(val, 1, 3600000, &n)) {
				swb_err_set(err, SWB_EINVAL, "--call-timeout must be 1..3600000 ms, got '%s'", val);
				return -1;
			}
			o->timeout_ms = (int)n;
		} else if (strcmp(name, "--request-limit") == 0) {
			if (!parse_ll(val, 0, 1LL << 40, &n)) {
				swb_err_set(err, SWB_EINVAL, "--request-limit must be a byte count, got '%s'", val);
				return -1;
			}
			o->has_request_limit = true;
			o->request_limit = (size_t)n;
		} else {
			swb_err_set(err, SWB_EINVAL, "unknown option '%s'", name);
			return -1;
		}
	}
	return i;
}

void swbctl_take_format(int *argc, char **argv, struct swbctl_opts *o)
{
	int n = 0;
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			o->format = SWBCTL_FORMAT_JSON;
		else if (strcmp(argv[i], "--table") == 0)
			o->format = SWBCTL_FORMAT_TABLE;
		else
			argv[n++] = argv[i];
	}
	*argc = n;
}

static const char *resource_of(const char *word)
{
	for (size_t i = 0; i < sizeof resource_words / sizeof resource_words[0]; i++)
		if (strcmp(word, resource_words[i].word) == 0)
			return resource_words[i].resource;
	return word; /* unknown: the node answers unknown_op */
}

static const char *field_of(const char *op, const char *name)
{
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (aliases[i].op && strcmp(aliases[i].op, op) == 0 && strcmp(aliases[i].flag, name) == 0)
			return aliases[i].field;
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (!aliases[i].op && strcmp(aliases[i].flag, name) == 0)
			return aliases[i].field;
	return name;
}

static bool is_flag(const char *w)
{
	return w[0] == '-' && w[1] == '-' && w[2];
}

static enum swb_code set_op(struct swbctl_cmd *out, const char *a, const char *b, const char *c,
			    struct swb_err *err)
{
	int n = snprintf(out->op, sizeof out->op, "%s%s%s%s%s", a, b ? "." : "", b ? b : "", c ? "." : "", c ? c : "");
	if (n >= (int)sizeof out->op)
		return swb_err_set(err, SWB_EINVAL, "op name '%s.%s' is too long", a, b ? b : "");
	return SWB_OK;
}

/*
 * Reads "[SID] [--field value ...]" from words into out->args for out->op.
 * allow_sid: whether one positional word (the sid) is allowed.
 */
static enum swb_code parse_fields(int argc, char **argv, bool allow_sid, struct swbctl_cmd *out,
				  struct swb_err *err)
{
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		char key[128];
		const char *val = NULL;
		if (!is_flag(w)) {
			if (!allow_sid)
				return swb_err_set(err, SWB_EINVAL, "%s: unexpected argument '%s'", out->op, w);
			if (json_object_get(out->args, "sid"))
				return swb_err_set(err, SWB_EINVAL, "%s: unexpected argument '%s' (the sid is already '%s')",
						   out->op, w, json_string_value(json_object_get(out->args, "sid")));
			json_object_set_new(out->args, "sid", json_string(w));
			continue;
		}
		const char *eq = strchr(w, '=');
		char flag[128];
		if (eq) {
			snprintf(flag, sizeof flag, "%.*s", (int)(eq - w), w);
			val = eq + 1;
		} else {
			snprintf(flag, sizeof flag, "%s", w);
			if (i + 1 < argc && !is_flag(argv[i + 1]))
				val = argv[++i];
		}
		swbctl_field_name(flag, key, sizeof key);
		const char *field = field_of(out->op, key);
		if (json_object_get(out->args, field))
			return swb_err_set(err, SWB_EINVAL, "%s: '%s' given twice", out->op, field);
		json_t *v = val ? swbctl_value(field, val, err) : json_true();
		if (!v) {
			swb_err_prefix(err, "%s", flag);
			return err ? err->code : SWB_EINVAL;
		}
		json_object_set_new(out->args, field, v);
	}
	return SWB_OK;
}

/* Flags of the local commands (events follow, token): only the named ones, integer values. */
static enum swb_code parse_int_flags(int argc, char **argv, const char *what, const char *const *names,
				     long long *const *outs, const long long *lo, const long long *hi,
				     struct swb_err *err)
{
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		if (!is_flag(w))
			return swb_err_set(err, SWB_EINVAL, "%s: unexpected argument '%s'", what, w);
		const char *eq = strchr(w, '=');
		char flag[64];
		const char *val;
		if (eq) {
			snprintf(flag, sizeof flag, "%.*s", (int)(eq - w), w);
			val = eq + 1;
		} else {
			snprintf(flag, sizeof flag, "%s", w);
			if (i + 1 >= argc)
				return swb_err_set(err, SWB_EINVAL, "%s: %s needs a value", what, flag);
			val = argv[++i];
		}
		int k = 0;
		while (names[k] && strcmp(names[k], flag + 2) != 0)
			k++;
		if (!names[k])
			return swb_err_set(err, SWB_EINVAL, "%s: unknown option '%s'", what, flag);
		if (!parse_ll(val, lo[k], hi[k], outs[k]))
			return swb_err_set(err, SWB_EINVAL, "%s: %s must be %lld..%lld, got '%s'", what, flag, lo[k], hi[k],
					   val);
	}
	return SWB_OK;
}

static enum swb_code parse_follow(int argc, char **argv, struct swbctl_cmd *out, struct swb_err *err)
{
	long long after = -1, count = 0;
	static const char *const names[] = { "after", "count", NULL };
	long long *const outs[] = { &after, &count };
	static const long long lo[] = { 0, 0 }, hi[] = { INT64_MAX - 1, INT64_MAX };
	enum swb_code rc = parse_int_flags(argc, argv, "events follow", names, outs, lo, hi, err);
	out->action = SWBCTL_FOLLOW;
	out->after = after < 0 ? SWB_FOLLOW_NOW : (uint64_t)after;
	out->count = count;
	return rc;
}

static enum swb_code parse_token(int argc, char **argv, struct swbctl_cmd *out, struct swb_err *err)
{
	if (argc < 1)
		return swb_err_set(err, SWB_EINVAL, "token: which scope? admin, supervisor or worker NAME");
	const char *scope = argv[0];
	argc--, argv++;
	if (strcmp(scope, "--twilio") == 0) {
		/* a Twilio Access Token, minted by the node (it holds the API key secret) */
		if (argc < 1 || is_flag(argv[0]))
			return swb_err_set(err, SWB_EINVAL, "token --twilio: which worker? (a name or WK sid)");
		set_op(out, "tokens.twilio", NULL, NULL, err);
		json_object_set_new(out->args, "worker", json_string(argv[0]));
		long long ttl = 0;
		static const char *const names[] = { "ttl", NULL };
		long long *const outs[] = { &ttl };
		static const long long lo[] = { 1 }, hi[] = { 24LL * 3600 };
		enum swb_code rc = parse_int_flags(argc - 1, argv + 1, "token --twilio", names, outs, lo, hi, err);
		if (rc == SWB_OK && ttl)
			json_object_set_new(out->args, "ttl", json_integer(ttl));
		return rc;
	}
	out->action = SWBCTL_TOKEN;
	if (strcmp(scope, "worker") == 0) {
		if (argc < 1 || is_flag(argv[0]))
			return swb_err_set(err, SWB_EINVAL, "token worker: which worker? (a name or WK sid)");
		out->worker = argv[0];
		argc--, argv++;
	} else if (strcmp(scope, "admin") != 0 && strcmp(scope, "supervisor") != 0) {
		return swb_err_set(err, SWB_EINVAL, "token: unknown scope '%s' (admin, supervisor or worker NAME)", scope);
	}
	snprintf(out->scope, sizeof out->scope, "%s", scope);
	out->ttl = strcmp(scope, "admin") == 0 ? SWBCTL_TTL_ADMIN : SWBCTL_TTL_DEFAULT;
	static const char *const names[] = { "ttl", NULL };
	long long *const outs[] = { &out->ttl };
	static const long long lo[] = { 1 }, hi[] = { 10LL * 365 * 24 * 3600 };
	return parse_int_flags(argc, argv, "token", names, outs, lo, hi, err);
}

static enum swb_code parse_call(int argc, char **argv, struct swbctl_cmd *out, struct swb_err *err)
{
	if (argc < 1 || argc > 2)
		return swb_err_set(err, SWB_EINVAL, "call: usage: swbctl call OP [JSON-ARGS|@FILE]");
	if (set_op(out, argv[0], NULL, NULL, err) != SWB_OK)
		return SWB_EINVAL;
	if (argc == 1)
		return SWB_OK;
	const char *src = argv[1];
	char *file = NULL;
	if (src[0] == '@') {
		if (!(file = read_value_file(src + 1, err)))
			return SWB_EINVAL;
		src = file;
	}
	json_error_t je;
	json_t *v = json_loads(src, JSON_REJECT_DUPLICATES, &je);
	free(file);
	if (!v)
		return swb_err_set(err, SWB_EINVAL, "call %s: the arguments are not valid JSON: %s (line %d, column %d)",
				   out->op, je.text, je.line, je.column);
	if (!json_is_object(v)) {
		json_decref(v);
		return swb_err_set(err, SWB_EINVAL, "call %s: the arguments must be a JSON object", out->op);
	}
	json_decref(out->args);
	out->args = v;
	return SWB_OK;
}

static enum swb_code parse_stats(int argc, char **argv, struct swbctl_cmd *out, struct swb_err *err)
{
	if (argc >= 1 && strcmp(argv[0], "workspace") == 0) {
		set_op(out, "workspace.stats", NULL, NULL, err);
		return parse_fields(argc - 1, argv + 1, false, out, err);
	}
	if (argc >= 1 && strcmp(resource_of(argv[0]), "task_queues") == 0) {
		set_op(out, "task_queues.stats", NULL, NULL, err);
		enum swb_code rc = parse_fields(argc - 1, argv + 1, true, out, err);
		if (rc == SWB_OK && !json_object_get(out->args, "sid"))
			rc = swb_err_set(err, SWB_EINVAL, "stats queue: which queue? (a name or WQ sid)");
		return rc;
	}
	return swb_err_set(err, SWB_EINVAL, "stats: usage: swbctl stats queue NAME | swbctl stats workspace");
}

static enum swb_code parse_resource(int argc, char **argv, struct swbctl_cmd *out, struct swb_err *err)
{
	const char *res = resource_of(argv[0]);
	if (argc == 1) /* a bare resource lists it */
		return set_op(out, res, strcmp(res, "workspace") == 0 ? "fetch" : "list", NULL, err);
	const char *verb = argv[1];
	if (is_flag(verb)) {
		if (set_op(out, res, strcmp(res, "workspace") == 0 ? "fetch" : "list", NULL, err) != SWB_OK)
			return SWB_EINVAL;
		return parse_fields(argc - 1, argv + 1, false, out, err);
	}
	if (strcmp(res, "events") == 0 && strcmp(verb, "follow") == 0)
		return parse_follow(argc - 2, argv + 2, out, err);
	if (strcmp(res, "workers") == 0 && strcmp(verb, "channels") == 0) {
		if (argc < 3 || is_flag(argv[2]))
			return swb_err_set(err, SWB_EINVAL, "workers channels: list or update?");
		if (set_op(out, "workers", "channels", argv[2], err) != SWB_OK)
			return SWB_EINVAL;
		return parse_fields(argc - 3, argv + 3, true, out, err);
	}
	for (size_t i = 0; i < sizeof sugars / sizeof sugars[0]; i++) {
		const struct sugar *s = &sugars[i];
		if (strcmp(s->resource, res) != 0 || strcmp(s->verb, verb) != 0)
			continue;
		set_op(out, s->op, NULL, NULL, err);
		enum swb_code rc = parse_fields(argc - 2, argv + 2, true, out, err);
		if (rc == SWB_OK && !json_object_get(out->args, "sid"))
			rc = swb_err_set(err, SWB_EINVAL, "%s %s: which one? (a sid)", argv[0], verb);
		if (rc == SWB_OK && json_object_get(out->args, s->field))
			rc = swb_err_set(err, SWB_EINVAL, "%s %s: '%s' is set by the verb", argv[0], verb, s->field);
		if (rc == SWB_OK)
			json_object_set_new(out->args, s->field, json_string(s->value));
		return rc;
	}
	if (set_op(out, res, verb, NULL, err) != SWB_OK)
		return SWB_EINVAL;
	return parse_fields(argc - 2, argv + 2, true, out, err);
}

enum swb_code swbctl_parse(int argc, char **argv, struct swbctl_cmd *out, struct swb_err *err)
{
	memset(out, 0, sizeof *out);
	out->action = SWBCTL_CALL;
	out->after = SWB_FOLLOW_NOW;
	out->args = json_object();
	if (!out->args)
		return swb_err_set(err, SWB_ENOMEM, "out of memory");
	if (argc < 1)
		return swb_err_set(err, SWB_EINVAL, "no command");
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || (i == 0 && strcmp(argv[i], "help") == 0)) {
			out->action = SWBCTL_HELP;
			return SWB_OK;
		}
	const char *w = argv[0];
	static const struct {
		const char *word, *op;
	} simple[] = { { "hello", "session.hello" }, { "snapshot", "snapshot" }, { "ops", "ops.list" } };
	for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
		if (strcmp(w, simple[i].word) == 0) {
			set_op(out, simple[i].op, NULL, NULL, err);
			return parse_fields(argc - 1, argv + 1, false, out, err);
		}
	if (strcmp(w, "call") == 0)
		return parse_call(argc - 1, argv + 1, out, err);
	if (strcmp(w, "stats") == 0)
		return parse_stats(argc - 1, argv + 1, out, err);
	if (strcmp(w, "token") == 0)
		return parse_token(argc - 1, argv + 1, out, err);
	if (strcmp(w, "credentials") == 0) {
		out->action = SWBCTL_CREDENTIALS;
		return argc > 1 ? swb_err_set(err, SWB_EINVAL, "credentials takes no arguments") : SWB_OK;
	}
	if (is_flag(w) || w[0] == '-')
		return swb_err_set(err, SWB_EINVAL, "'%s': options go before the command", w);
	return parse_resource(argc, argv, out, err);
}

void swbctl_cmd_free(struct swbctl_cmd *cmd)
{
	json_decref(cmd->args);
	cmd->args = NULL;
}
