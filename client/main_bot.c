/*
 * main_bot.c - swb-bot: headless agents and a call generator. Parses the
 * command line into a policy and a selection of workers, runs the engine
 * (bot_engine.c) until the duration passes or a signal arrives, and prints
 * the final report as JSON.
 *
 * Exit codes: 0 success, 1 an error, 2 a usage error, 3 a --require-* check
 * failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bot_engine.h"
#include "bot_policy.h"

#define MAX_NAMES 4096        /* --worker / --except names on one command line */
#define FDS_PER_WORKER 2      /* the client's socket and its event fd */
#define FDS_SPARE 64          /* the loop, the request threads, nng's own, stdio */
#define TOKEN_LINE_MAX 4096

static swb_bot *running;

static void on_signal(int sig)
{
	(void)sig;
	if (running)
		swb_bot_stop(running);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: swb-bot [OPTIONS]\n"
		"Headless agents: each worker has its own connection and worker token, as a console would.\n"
		"\n"
		"Connection:\n"
		"  --url URL              the node (default: $SWB_URL, else the local ipc socket)\n"
		"  --data DIR             the node's data directory, to mint tokens (default: $SWB_DATA, else\n"
		"                         $XDG_DATA_HOME/switchboard)\n"
		"  --admin-token-file F   an admin token, instead of one minted from the data directory\n"
		"Workers (none given: only the call generator runs):\n"
		"  --worker NAME[,NAME..] these workers (repeatable)\n"
		"  --all                  every worker of the workspace\n"
		"  --prefix P             every worker whose name starts with P\n"
		"  --except NAME[,NAME..] leave these out\n"
		"  --shard K/N            keep every N-th worker of the sorted selection from the K-th (0-based),\n"
		"                         to split a large selection over processes\n"
		"  --token-file FILE      the workers of these tokens, one a line: TOKEN or NAME TOKEN\n"
		"Policy (a JSON file with the same keys, flags after it override):\n"
		"  --policy FILE          {\"accept\":0.8,\"reject\":0.1,\"ignore\":0.1,\"think\":\"1s..3s\",...}\n"
		"  --seed N               the run's seed (default 1): the same seed repeats a run\n"
		"  --accept P --reject P --ignore P   what to do with a reservation (ignore: let it time out);\n"
		"                         accept defaults to what the others leave\n"
		"  --think D              before answering (default 0.5s..2s)\n"
		"  --handle D             accepted -> wrapping (default exp:30s)\n"
		"  --wrapup D             wrapping -> completed (default 2s..5s)\n"
		"  --break-every D        between breaks (default off); --break-length D (default 1m..3m)\n"
		"  --disconnect-every D   between chaos disconnects (default off); --disconnect-length D (1s..10s)\n"
		"  --recover D            moved out of Available by the node -> back (default 1s..3s)\n"
		"                         D: 250ms, 2s, 1.5m, uniform:1s:3s or 1s..3s, exp:20s, normal:60s:15s, off\n"
		"  --no-available         do not set the workers Available at start\n"
		"  --available-activity NAME, --break-activity NAME   (default Available, Break)\n"
		"  --exit-activity NAME   set when exiting (default Offline; none: leave it)\n"
		"Call generator:\n"
		"  --calls RATE           calls per second, or 12/m, 300/h (default: off)\n"
		"  --poisson              random gaps with that mean instead of a steady interval\n"
		"  --abandon P            the chance a caller hangs up unless answered within --patience\n"
		"  --patience D           (default 10s..60s)\n"
		"  --via auto|tasks|calls calls.create (the IVR) when the node has it, else tasks.create (default auto)\n"
		"  --to NUMBER            the number dialed with calls.create (default +15559870000)\n"
		"  --workflow NAME        for tasks.create (default: the workspace's only workflow)\n"
		"Run:\n"
		"  --duration D           stop after D (default: at SIGINT/SIGTERM)\n"
		"  --drain D              then wait up to D for every task to end (default 0)\n"
		"  --summary D            live summary on stderr every D (default 5s; 0: none)\n"
		"  --report FILE          the final report, JSON (default: stdout)\n"
		"  --ready-file FILE      created once every worker is set up\n"
		"  --call-threads N       request threads (default %d); --call-timeout MS (default 10000)\n"
		"  --token-ttl D          lifetime of minted worker tokens (default 7 days)\n"
		"  --require-answered N   exit 3 unless at least N calls were answered (reservations accepted)\n"
		"  --require-final        exit 3 unless every task the generator saw ended completed, or canceled\n"
		"                         with a reason\n"
		"  --quiet                no summary lines\n",
		SWB_BOT_DEFAULT_CALL_THREADS);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "swb-bot: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(swb-bot --help lists the options)\n");
	return 2;
}

/* Appends the comma-separated names of arg to list; false when there are too many. */
static bool add_names(char *arg, const char **list, size_t *n)
{
	for (char *save = NULL, *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n >= MAX_NAMES)
			return false;
		list[(*n)++] = tok;
	}
	return true;
}

/* "0.5" (per second), "12/m", "300/h", "2/s". */
static bool parse_rate(const char *s, double *per_s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || !isfinite(v) || v < 0)
		return false;
	double scale = 1;
	if (strcmp(end, "/m") == 0 || strcmp(end, "/min") == 0)
		scale = 60;
	else if (strcmp(end, "/h") == 0)
		scale = 3600;
	else if (*end && strcmp(end, "/s") != 0)
		return false;
	*per_s = v / scale;
	return true;
}

static bool parse_ms(const char *s, int64_t *ms)
{
	double v;
	struct swb_err err;
	if (swb_duration_parse(s, &v, &err) != SWB_OK)
		return false;
	*ms = (int64_t)v;
	return true;
}

static char *read_text(const char *path, struct swb_err *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		swb_err_set(err, SWB_EIO, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	size_t got;
	while (m && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
		fwrite(chunk, 1, got, m);
	fclose(f);
	if (!m) {
		swb_err_set(err, SWB_ENOMEM, "out of memory");
		return NULL;
	}
	fclose(m);
	return buf;
}

static enum swb_code add_token_file(swb_bot *b, const char *path, struct swb_err *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return swb_err_set(err, SWB_EIO, "cannot open '%s': %s", path, strerror(errno));
	char line[TOKEN_LINE_MAX];
	int lineno = 0;
	enum swb_code rc = SWB_OK;
	while (rc == SWB_OK && fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		char *save = NULL, *a = strtok_r(line, " \t", &save), *t = strtok_r(NULL, " \t", &save);
		if (!a || a[0] == '#')
			continue;
		if (strtok_r(NULL, " \t", &save))
			rc = swb_err_set(err, SWB_EINVAL, "%s:%d: expected TOKEN or NAME TOKEN", path, lineno);
		else
			rc = swb_bot_add_worker(b, t ? a : NULL, NULL, t ? t : a, err);
	}
	fclose(f);
	return rc;
}

/* Raises the soft limit on open files to the hard one; false if n fds still do not fit. */
static bool raise_fd_limit(size_t need, rlim_t *have)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return true;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	*have = rl.rlim_cur;
	return rl.rlim_cur == RLIM_INFINITY || need <= rl.rlim_cur;
}

enum {
	O_URL = 256, O_DATA, O_ADMIN_TOKEN_FILE, O_WORKER, O_ALL, O_PREFIX, O_EXCEPT, O_SHARD, O_TOKEN_FILE, O_POLICY,
	O_POLICY_KEY, O_NO_AVAILABLE, O_AVAILABLE_ACT, O_BREAK_ACT, O_EXIT_ACT, O_CALLS, O_POISSON, O_ABANDON,
	O_PATIENCE, O_VIA, O_TO, O_WORKFLOW, O_DURATION, O_DRAIN, O_SUMMARY, O_REPORT, O_READY_FILE, O_CALL_THREADS,
	O_CALL_TIMEOUT, O_TOKEN_TTL, O_REQUIRE_ANSWERED, O_REQUIRE_FINAL, O_QUIET, O_HELP,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, O_URL },
		{ "data", required_argument, NULL, O_DATA },
		{ "admin-token-file", required_argument, NULL, O_ADMIN_TOKEN_FILE },
		{ "worker", required_argument, NULL, O_WORKER },
		{ "all", no_argument, NULL, O_ALL },
		{ "prefix", required_argument, NULL, O_PREFIX },
		{ "except", required_argument, NULL, O_EXCEPT },
		{ "shard", required_argument, NULL, O_SHARD },
		{ "token-file", required_argument, NULL, O_TOKEN_FILE },
		{ "policy", required_argument, NULL, O_POLICY },
		{ "seed", required_argument, NULL, O_POLICY_KEY },
		{ "accept", required_argument, NULL, O_POLICY_KEY },
		{ "reject", required_argument, NULL, O_POLICY_KEY },
		{ "ignore", required_argument, NULL, O_POLICY_KEY },
		{ "think", required_argument, NULL, O_POLICY_KEY },
		{ "handle", required_argument, NULL, O_POLICY_KEY },
		{ "wrapup", required_argument, NULL, O_POLICY_KEY },
		{ "break-every", required_argument, NULL, O_POLICY_KEY },
		{ "break-length", required_argument, NULL, O_POLICY_KEY },
		{ "disconnect-every", required_argument, NULL, O_POLICY_KEY },
		{ "disconnect-length", required_argument, NULL, O_POLICY_KEY },
		{ "recover", required_argument, NULL, O_POLICY_KEY },
		{ "no-available", no_argument, NULL, O_NO_AVAILABLE },
		{ "available-activity", required_argument, NULL, O_AVAILABLE_ACT },
		{ "break-activity", required_argument, NULL, O_BREAK_ACT },
		{ "exit-activity", required_argument, NULL, O_EXIT_ACT },
		{ "calls", required_argument, NULL, O_CALLS },
		{ "poisson", no_argument, NULL, O_POISSON },
		{ "abandon", required_argument, NULL, O_ABANDON },
		{ "patience", required_argument, NULL, O_PATIENCE },
		{ "via", required_argument, NULL, O_VIA },
		{ "to", required_argument, NULL, O_TO },
		{ "workflow", required_argument, NULL, O_WORKFLOW },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "drain", required_argument, NULL, O_DRAIN },
		{ "summary", required_argument, NULL, O_SUMMARY },
		{ "report", required_argument, NULL, O_REPORT },
		{ "ready-file", required_argument, NULL, O_READY_FILE },
		{ "call-threads", required_argument, NULL, O_CALL_THREADS },
		{ "call-timeout", required_argument, NULL, O_CALL_TIMEOUT },
		{ "token-ttl", required_argument, NULL, O_TOKEN_TTL },
		{ "require-answered", required_argument, NULL, O_REQUIRE_ANSWERED },
		{ "require-final", no_argument, NULL, O_REQUIRE_FINAL },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct swb_bot_config cfg;
	swb_bot_config_default(&cfg);
	swb_bot_policy_default(&cfg.policy); /* unfinished: flags may still set accept */
	cfg.url = getenv("SWB_URL");
	cfg.data_dir = getenv("SWB_DATA");
	cfg.summary_ms = 5000;
	static const char *names[MAX_NAMES], *except[MAX_NAMES];
	struct swb_bot_select sel = { .names = names, .except = except };
	const char *token_file = NULL, *admin_file = NULL, *report_path = NULL;
	int64_t duration = 0, drain = 0;
	long require_answered = -1;
	bool require_final = false, quiet = false;
	struct swb_err err = { 0 };
	int c, idx;
	while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		switch (c) {
		case O_URL: cfg.url = optarg; break;
		case O_DATA: cfg.data_dir = optarg; break;
		case O_ADMIN_TOKEN_FILE: admin_file = optarg; break;
		case O_WORKER:
			if (!add_names(optarg, names, &sel.nnames))
				return usage_error("too many --worker names (at most %s)", "4096");
			break;
		case O_ALL: sel.all = true; break;
		case O_PREFIX: sel.prefix = optarg; break;
		case O_EXCEPT:
			if (!add_names(optarg, except, &sel.nexcept))
				return usage_error("too many --except names (at most %s)", "4096");
			break;
		case O_SHARD:
			if (sscanf(optarg, "%d/%d", &sel.shard, &sel.nshards) != 2 || sel.nshards < 1 || sel.shard < 0 ||
			    sel.shard >= sel.nshards)
				return usage_error("--shard wants K/N with 0 <= K < N, got '%s'", optarg);
			break;
		case O_TOKEN_FILE: token_file = optarg; break;
		case O_POLICY: {
			char *text = read_text(optarg, &err);
			json_error_t je;
			json_t *doc = text ? json_loads(text, JSON_REJECT_DUPLICATES, &je) : NULL;
			free(text);
			if (!doc && err.code == SWB_OK)
				swb_err_set(&err, SWB_EINVAL, "%s:%d: %s", optarg, je.line, je.text);
			if (doc && swb_bot_policy_from_json(&cfg.policy, doc, &err) != SWB_OK)
				swb_err_prefix(&err, "%s", optarg);
			json_decref(doc);
			if (err.code != SWB_OK)
				return usage_error("%s", err.msg);
			break;
		}
		case O_POLICY_KEY:
			if (swb_bot_policy_set(&cfg.policy, opts[idx].name, optarg, &err) != SWB_OK)
				return usage_error("%s", err.msg);
			break;
		case O_NO_AVAILABLE: cfg.set_available = false; break;
		case O_AVAILABLE_ACT: cfg.available_activity = optarg; break;
		case O_BREAK_ACT: cfg.break_activity = optarg; break;
		case O_EXIT_ACT: cfg.exit_activity = strcmp(optarg, "none") == 0 ? NULL : optarg; break;
		case O_CALLS:
			if (!parse_rate(optarg, &cfg.calls_per_s))
				return usage_error("--calls wants a rate (0.5, 12/m, 300/h), got '%s'", optarg);
			break;
		case O_POISSON: cfg.poisson = true; break;
		case O_ABANDON: {
			char *end;
			cfg.abandon = strtod(optarg, &end);
			if (end == optarg || *end || !(cfg.abandon >= 0 && cfg.abandon <= 1))
				return usage_error("--abandon wants a probability in 0..1, got '%s'", optarg);
			break;
		}
		case O_PATIENCE:
			if (swb_dist_parse(optarg, &cfg.patience, &err) != SWB_OK)
				return usage_error("--patience: %s", err.msg);
			break;
		case O_VIA:
			if (strcmp(optarg, "auto") == 0)
				cfg.via = SWB_BOT_VIA_AUTO;
			else if (strcmp(optarg, "tasks") == 0)
				cfg.via = SWB_BOT_VIA_TASKS;
			else if (strcmp(optarg, "calls") == 0)
				cfg.via = SWB_BOT_VIA_CALLS;
			else
				return usage_error("--via wants auto, tasks or calls, got '%s'", optarg);
			break;
		case O_TO: cfg.call_to = optarg; break;
		case O_WORKFLOW: cfg.workflow = optarg; break;
		case O_DURATION:
			if (!parse_ms(optarg, &duration))
				return usage_error("--duration wants a duration (90, 90s, 10m), got '%s'", optarg);
			break;
		case O_DRAIN:
			if (!parse_ms(optarg, &drain))
				return usage_error("--drain wants a duration (30, 30s), got '%s'", optarg);
			break;
		case O_SUMMARY: {
			int64_t ms;
			if (!parse_ms(optarg, &ms))
				return usage_error("--summary wants a duration (5s; 0: none), got '%s'", optarg);
			cfg.summary_ms = (int)ms;
			break;
		}
		case O_REPORT: report_path = optarg; break;
		case O_READY_FILE: cfg.ready_file = optarg; break;
		case O_CALL_THREADS:
			cfg.call_threads = atoi(optarg);
			if (cfg.call_threads < 1 || cfg.call_threads > SWB_BOT_MAX_CALL_THREADS)
				return usage_error("--call-threads wants 1..64, got '%s'", optarg);
			break;
		case O_CALL_TIMEOUT:
			cfg.call_timeout_ms = atoi(optarg);
			if (cfg.call_timeout_ms < 1)
				return usage_error("--call-timeout wants milliseconds > 0, got '%s'", optarg);
			break;
		case O_TOKEN_TTL: {
			int64_t ms;
			if (!parse_ms(optarg, &ms) || ms < 1000)
				return usage_error("--token-ttl wants a duration of at least 1s, got '%s'", optarg);
			cfg.token_ttl_s = ms / 1000;
			break;
		}
		case O_REQUIRE_ANSWERED:
			require_answered = atol(optarg);
			break;
		case O_REQUIRE_FINAL: require_final = true; break;
		case O_QUIET: quiet = true; break;
		case 'h':
		case O_HELP: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (swb_bot_policy_finish(&cfg.policy, &err) != SWB_OK)
		return usage_error("%s", err.msg);
	bool selecting = sel.all || sel.prefix || sel.nnames;
	if (!selecting && !token_file && cfg.calls_per_s <= 0)
		return usage_error("%s", "nothing to do: name workers (--worker, --all, --prefix, --token-file) or --calls");
	if (require_final && cfg.calls_per_s <= 0)
		return usage_error("%s", "--require-final needs the call generator (--calls)");
	if (quiet)
		cfg.summary_ms = 0;

	char *admin = NULL;
	if (admin_file) {
		if (!(admin = read_text(admin_file, &err))) {
			fprintf(stderr, "swb-bot: %s\n", err.msg);
			return 1;
		}
		admin[strcspn(admin, "\r\n")] = '\0';
		cfg.admin_token = admin;
	}
	signal(SIGPIPE, SIG_IGN);
	swb_bot *b = swb_bot_new(&cfg, &err);
	if (admin) {
		explicit_bzero(admin, strlen(admin));
		free(admin);
	}
	if (!b) {
		fprintf(stderr, "swb-bot: %s\n", err.msg);
		return 1;
	}
	enum swb_code rc = SWB_OK;
	if (selecting)
		rc = swb_bot_add_selected(b, &sel, NULL, &err);
	if (rc == SWB_OK && token_file)
		rc = add_token_file(b, token_file, &err);
	rlim_t have = 0;
	size_t need = swb_bot_worker_count(b) * FDS_PER_WORKER + FDS_SPARE;
	if (rc == SWB_OK && !raise_fd_limit(need, &have))
		rc = swb_err_set(&err, SWB_EINVAL,
				 "%zu workers need about %zu open files; the limit is %llu (raise ulimit -n or split them "
				 "with --shard over several processes)",
				 swb_bot_worker_count(b), need, (unsigned long long)have);
	if (rc != SWB_OK) {
		fprintf(stderr, "swb-bot: %s\n", err.msg);
		swb_bot_free(b);
		return 1;
	}

	running = b;
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	rc = swb_bot_run(b, duration, drain, &err);
	running = NULL;
	if (rc != SWB_OK)
		fprintf(stderr, "swb-bot: %s\n", err.msg);
	if (!quiet)
		swb_bot_print_summary(b, stderr);

	json_t *rep = swb_bot_report(b);
	FILE *out = report_path ? fopen(report_path, "w") : stdout;
	if (!out) {
		fprintf(stderr, "swb-bot: cannot write the report to '%s': %s\n", report_path, strerror(errno));
		rc = SWB_EIO;
	} else {
		json_dumpf(rep, out, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
		fputc('\n', out);
		if (out != stdout)
			fclose(out);
		else
			fflush(stdout);
	}
	int status = rc == SWB_OK ? 0 : 1;
	json_t *gen = json_object_get(rep, "generator");
	json_t *tasks = json_object_get(gen, "tasks");
	if (require_final) {
		json_int_t open = json_integer_value(json_object_get(tasks, "outstanding"));
		json_int_t noreason = json_integer_value(json_object_get(tasks, "canceled_without_reason"));
		if (open || noreason) {
			fprintf(stderr, "swb-bot: check failed: %lld task(s) did not end, %lld canceled without a reason\n",
				(long long)open, (long long)noreason);
			status = 3;
		}
	}
	if (require_answered >= 0) {
		json_int_t answered = gen ? json_integer_value(json_object_get(tasks, "answered"))
					  : json_integer_value(json_object_get(json_object_get(rep, "reservations"), "accepted"));
		if (answered < require_answered) {
			fprintf(stderr, "swb-bot: check failed: %lld call(s) answered, wanted at least %ld\n",
				(long long)answered, require_answered);
			status = 3;
		}
	}
	json_decref(rep);
	swb_bot_free(b);
	return status;
}
