/*
 * swb_client.c - the client side of the wire (docs/protocol.md): one req0
 * socket with a command context and a pull context, the envelope, the follow
 * thread that turns held events.next pulls into a local event queue (with
 * resync and reconnect handled here, once, for every program), and local
 * token minting.
 *
 * Threads: any thread may call swb_client_call (call_mu serializes the command
 * context). The follow thread owns the pull context. nng's pipe callbacks and
 * the follow thread meet the caller under mu: the connection state, the event
 * queue and its eventfd. The token is replaced while both contexts are in use
 * (swb_client_set_token), so it has its own lock, token_mu, held only to copy
 * it into a request or to swap it.
 */
#include "swb_client.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "paths.h"
#include "timefmt.h"
#include "token.h"

/* A dialer has one pipe at a time; a closing pipe may briefly overlap its successor. */
#define MAX_PIPES 8

/* How long the follow thread waits for a connection to take a request before
 * reporting the node down (a fresh dial, or a node restarting). */
#define CONNECT_GRACE_MS 1000

/*
 * nng 1.5.2 (Debian's) has a listener bug (nng issue #1518, fixed in 1.6.0): a
 * peer that hangs up during the SP handshake makes the node's ipc listener stop
 * accepting for good. A client closed right after open (a request refused
 * locally) or right after its connection dropped (nng redials within
 * SWB_CLIENT_BACKOFF_MIN_MS) could do exactly that. So close lets such a dial
 * finish: it waits for a connection until CLOSE_SETTLE_MS after the open or the
 * drop (a local handshake takes a millisecond; a refused dial is retried within
 * 100 ms). A client disconnected for longer closes at once.
 */
#define CLOSE_SETTLE_MS 250

/* Longest token lifetime minted locally: ten years. */
#define TOKEN_TTL_MAX (10LL * 366 * 24 * 3600)

struct evq_item {
	json_t *ev;
	struct evq_item *next;
};

struct swb_client {
	nng_socket sock;
	atomic_int close_state; /* CLOSE_RUNNING, then CLOSE_DONE (closer) or CLOSE_ABANDONED (waiter) */
	nng_dialer dialer;
	char *url;
	pthread_mutex_t token_mu; /* guards token: read by every request, replaced by swb_client_set_token */
	char *token;              /* NULL: none */
	char *workspace; /* NULL: the default */
	atomic_size_t request_limit;
	atomic_uint_fast64_t next_id;

	/* the command context, one call at a time */
	pthread_mutex_t call_mu;
	nng_ctx cmd_ctx;
	nng_aio *cmd_aio;

	/* the pull context: only the follow thread uses it */
	nng_ctx pull_ctx;
	nng_aio *pull_aio;
	bool pull_ctx_open;

	/* everything below is guarded by mu */
	pthread_mutex_t mu;
	pthread_cond_t cond; /* pipe changes, stop, queue space */
	uint32_t pipes[MAX_PIPES];
	int npipes;
	unsigned pipe_gen;
	bool ever_connected;
	int64_t opened_ms, lost_ms; /* monotonic: open, the last connection dropped */
	bool stop, following;
	pthread_t thread;
	uint64_t start_after, cursor;
	struct evq_item *head, *tail;
	size_t qlen;
	int efd;
};

/* ---- the envelope ---- */

char *swb_wire_request(uint64_t id, const char *op, const char *token, const char *workspace, json_t *args)
{
	if (!op || (args && !json_is_object(args)))
		return NULL;
	json_t *env = args ? json_pack("{s:i, s:I, s:s, s:O}", "v", 1, "id", (json_int_t)id, "op", op, "args", args)
			   : json_pack("{s:i, s:I, s:s, s:o}", "v", 1, "id", (json_int_t)id, "op", op, "args", json_object());
	if (!env)
		return NULL;
	if ((token && json_object_set_new(env, "token", json_string(token)) != 0) ||
	    (workspace && json_object_set_new(env, "workspace", json_string(workspace)) != 0)) {
		json_decref(env);
		return NULL;
	}
	char *s = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	return s;
}

enum swb_code swb_wire_parse_reply(const char *body, size_t len, uint64_t want_id, json_t **result,
				   struct swb_err *err)
{
	json_error_t je;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return swb_err_set(err, SWB_EINTERNAL, "malformed answer from the node: %s", je.text);
	int v = 0, ok = 0;
	json_t *id = NULL, *res = NULL, *e = NULL;
	enum swb_code rc = SWB_OK;
	if (json_unpack_ex(root, &je, JSON_STRICT, "{s:i, s:o, s:b, s?o, s?o}", "v", &v, "id", &id, "ok", &ok,
			   "result", &res, "error", &e) != 0)
		rc = swb_err_set(err, SWB_EINTERNAL, "bad answer envelope from the node: %s", je.text);
	else if (v != 1)
		rc = swb_err_set(err, SWB_EINTERNAL, "the node answers protocol version %d; this client speaks 1", v);
	else if (!(json_is_integer(id) && (uint64_t)json_integer_value(id) == want_id) && !(json_is_null(id) && !ok))
		rc = swb_err_set(err, SWB_EINTERNAL, "answer for request %s%lld, expected %llu",
				 json_is_integer(id) ? "" : "(not an integer) ",
				 json_is_integer(id) ? (long long)json_integer_value(id) : -1LL,
				 (unsigned long long)want_id);
	else if (ok && e)
		rc = swb_err_set(err, SWB_EINTERNAL, "bad answer envelope from the node: both 'ok' and 'error'");
	else if (!ok && (res || !e))
		rc = swb_err_set(err, SWB_EINTERNAL, "bad answer envelope from the node: failure without 'error'");
	if (rc != SWB_OK) {
		json_decref(root);
		return rc;
	}
	if (ok) {
		if (result)
			*result = res ? json_incref(res) : json_object();
		json_decref(root);
		return SWB_OK;
	}
	const char *code = NULL, *msg = NULL;
	if (json_unpack_ex(e, &je, JSON_STRICT, "{s:s, s:s}", "code", &code, "message", &msg) != 0) {
		rc = swb_err_set(err, SWB_EINTERNAL, "bad error in the node's answer: %s", je.text);
	} else {
		rc = swb_code_from_name(code);
		if (rc == SWB_OK)
			rc = SWB_EINTERNAL;
		if (rc == SWB_EINTERNAL && strcmp(code, "internal") != 0)
			swb_err_set(err, rc, "unknown error code '%s' from the node: %s", code, msg);
		else
			swb_err_set(err, rc, "%s", msg);
	}
	json_decref(root);
	return rc;
}

/* ---- one request on a context ---- */

/* Frees a copy of a token, wiping it first (NULL is a no-op). */
static void token_free(char *token)
{
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
}

/* The request envelope, with the token as it is now (copied under token_mu). NULL when out of memory. */
static char *build_request(swb_client *c, uint64_t id, const char *op, json_t *args)
{
	pthread_mutex_lock(&c->token_mu);
	char *token = c->token ? strdup(c->token) : NULL;
	bool lost = c->token && !token;
	pthread_mutex_unlock(&c->token_mu);
	if (lost)
		return NULL;
	char *body = swb_wire_request(id, op, token, c->workspace, args);
	token_free(token);
	return body;
}

static enum swb_code nng_failure(int rv, int timeout_ms, struct swb_err *err)
{
	switch (rv) {
	case NNG_ETIMEDOUT:
		return swb_err_set(err, SWB_EUNAVAIL, "node unreachable (timed out after %d ms)", timeout_ms);
	case NNG_ECONNRESET:
		return swb_err_set(err, SWB_EUNAVAIL,
				   "connection to the node lost before it answered (the request may have been applied)");
	case NNG_ECLOSED:
	case NNG_ECANCELED:
		return swb_err_set(err, SWB_EUNAVAIL, "client closed");
	default:
		return swb_err_set(err, SWB_EIO, "nng: %s", nng_strerror(rv));
	}
}

/*
 * Sends op on ctx (using aio) and waits for the answer; contract as
 * swb_client_call. send_ms (<= timeout_ms) bounds the wait for a connection to
 * take the request.
 */
static enum swb_code ctx_call(swb_client *c, nng_ctx ctx, nng_aio *aio, const char *op, json_t *args,
			      int timeout_ms, int send_ms, json_t **result, struct swb_err *err)
{
	if (timeout_ms <= 0)
		return swb_err_set(err, SWB_EINVAL, "%s: the timeout must be positive", op ? op : "?");
	uint64_t id = atomic_fetch_add(&c->next_id, 1);
	char *body = build_request(c, id, op, args);
	if (!body)
		return swb_err_set(err, args && !json_is_object(args) ? SWB_EINVAL : SWB_ENOMEM,
				   "%s: cannot build the request (args must be an object)", op ? op : "?");
	size_t len = strlen(body), limit = atomic_load(&c->request_limit);
	if (limit && len > limit) {
		free(body);
		return swb_err_set(err, SWB_ETOOBIG, "%s: the request is %zu bytes; the node accepts at most %zu", op,
				   len, limit);
	}
	nng_msg *msg;
	int rv = nng_msg_alloc(&msg, 0);
	if (rv == 0 && (rv = nng_msg_append(msg, body, len)) != 0)
		nng_msg_free(msg);
	free(body);
	if (rv != 0)
		return swb_err_set(err, SWB_ENOMEM, "%s: out of memory", op);

	int64_t deadline = swb_mono_ms() + timeout_ms;
	nng_aio_set_msg(aio, msg);
	nng_aio_set_timeout(aio, send_ms < timeout_ms ? send_ms : timeout_ms);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(aio)); /* a failed send leaves the message with us */
		nng_aio_set_msg(aio, NULL);
		return nng_failure(rv, send_ms < timeout_ms ? send_ms : timeout_ms, err);
	}
	int64_t left = deadline - swb_mono_ms();
	nng_aio_set_timeout(aio, left > 0 ? (nng_duration)left : 1);
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0)
		return nng_failure(rv, timeout_ms, err);
	msg = nng_aio_get_msg(aio);
	nng_aio_set_msg(aio, NULL);
	enum swb_code rc = swb_wire_parse_reply(nng_msg_body(msg), nng_msg_len(msg), id, result, err);
	nng_msg_free(msg);
	return rc;
}

enum swb_code swb_client_call(swb_client *c, const char *op, json_t *args, int timeout_ms, json_t **result,
			      struct swb_err *err)
{
	pthread_mutex_lock(&c->call_mu);
	enum swb_code rc = ctx_call(c, c->cmd_ctx, c->cmd_aio, op, args, timeout_ms, timeout_ms, result, err);
	pthread_mutex_unlock(&c->call_mu);
	return rc;
}

/* ---- connection state ---- */

static void pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	swb_client *c = arg;
	uint32_t id = (uint32_t)nng_pipe_id(p);
	pthread_mutex_lock(&c->mu);
	if (ev == NNG_PIPE_EV_ADD_POST && c->npipes < MAX_PIPES) {
		c->pipes[c->npipes++] = id;
		c->ever_connected = true;
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		for (int i = 0; i < c->npipes; i++)
			if (c->pipes[i] == id) {
				c->pipes[i] = c->pipes[--c->npipes];
				c->lost_ms = swb_mono_ms();
				break;
			}
	}
	c->pipe_gen++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
}

bool swb_client_connected(swb_client *c)
{
	pthread_mutex_lock(&c->mu);
	bool up = c->npipes > 0;
	pthread_mutex_unlock(&c->mu);
	return up;
}

static struct timespec abs_after(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Waits up to timeout_ms for a connection; stops early on close when abortable. */
static bool wait_connected(swb_client *c, int timeout_ms, bool abortable)
{
	struct timespec until = abs_after(timeout_ms > 0 ? timeout_ms : 0);
	pthread_mutex_lock(&c->mu);
	int rv = 0;
	while (c->npipes == 0 && !(abortable && c->stop) && rv != ETIMEDOUT)
		rv = pthread_cond_timedwait(&c->cond, &c->mu, &until);
	bool up = c->npipes > 0;
	pthread_mutex_unlock(&c->mu);
	return up;
}

bool swb_client_wait_connected(swb_client *c, int timeout_ms)
{
	return wait_connected(c, timeout_ms, true);
}

/* ---- the event queue ---- */

/* Queues ev (stolen); waits while the queue is full. False when stopping (ev freed). */
static bool push_event(swb_client *c, json_t *ev)
{
	struct evq_item *it = malloc(sizeof *it);
	if (!it || !ev) {
		free(it);
		json_decref(ev);
		return true; /* out of memory: the event is lost, the stream goes on */
	}
	it->ev = ev;
	it->next = NULL;
	pthread_mutex_lock(&c->mu);
	while (c->qlen >= SWB_CLIENT_QUEUE_MAX && !c->stop)
		pthread_cond_wait(&c->cond, &c->mu);
	if (c->stop) {
		pthread_mutex_unlock(&c->mu);
		json_decref(ev);
		free(it);
		return false;
	}
	if (c->tail)
		c->tail->next = it;
	else
		c->head = it;
	c->tail = it;
	c->qlen++;
	uint64_t one = 1;
	if (write(c->efd, &one, sizeof one) < 0 && errno != EAGAIN) {
		/* cannot happen with an eventfd short of overflow; the queue still holds the event */
	}
	pthread_mutex_unlock(&c->mu);
	return true;
}

int swb_client_event_fd(swb_client *c)
{
	return c->efd;
}

json_t *swb_client_next_event(swb_client *c)
{
	pthread_mutex_lock(&c->mu);
	struct evq_item *it = c->head;
	if (it) {
		c->head = it->next;
		if (!c->head)
			c->tail = NULL;
		if (c->qlen-- == SWB_CLIENT_QUEUE_MAX)
			pthread_cond_broadcast(&c->cond);
	}
	if (!c->head) {
		uint64_t n;
		if (read(c->efd, &n, sizeof n) < 0 && errno != EAGAIN) {
			/* nothing to do: the fd is only a wake-up */
		}
	}
	pthread_mutex_unlock(&c->mu);
	json_t *ev = it ? it->ev : NULL;
	free(it);
	return ev;
}

uint64_t swb_client_cursor(swb_client *c)
{
	pthread_mutex_lock(&c->mu);
	uint64_t v = c->cursor;
	pthread_mutex_unlock(&c->mu);
	return v;
}

/* ---- the follow thread ---- */

static bool stopping(swb_client *c)
{
	pthread_mutex_lock(&c->mu);
	bool s = c->stop;
	pthread_mutex_unlock(&c->mu);
	return s;
}

/* Sleeps up to ms, waking early when stopping or when a new connection comes up. */
static void backoff_sleep(swb_client *c, int ms)
{
	struct timespec until = abs_after(ms);
	pthread_mutex_lock(&c->mu);
	unsigned gen = c->pipe_gen;
	int rv = 0;
	while (!c->stop && rv != ETIMEDOUT && !(c->pipe_gen != gen && c->npipes > 0))
		rv = pthread_cond_timedwait(&c->cond, &c->mu, &until);
	pthread_mutex_unlock(&c->mu);
}

static json_t *synthetic_connection(bool up)
{
	return json_pack("{s:s, s:b}", "event_type", SWB_EVENT_CONNECTION, "connected", up);
}

static void set_cursor(swb_client *c, uint64_t seq)
{
	pthread_mutex_lock(&c->mu);
	c->cursor = seq;
	pthread_mutex_unlock(&c->mu);
}

/* Delivers the events of one events.next result; false when stopping. */
static bool deliver_batch(swb_client *c, json_t *res)
{
	size_t i;
	json_t *ev;
	json_array_foreach(json_object_get(res, "events"), i, ev) {
		if (!push_event(c, json_incref(ev)))
			return false;
	}
	return true;
}

/*
 * The follow loop. `up` is what the consumer was last told about the stream
 * (it starts out assuming a connection). After any failure the next success
 * starts with a snapshot, since events may have been missed.
 */
static void *follow_main(void *arg)
{
	swb_client *c = arg;
	bool up = true, need_snapshot = false, from_snapshot = false, have_after;
	uint64_t after;
	int backoff = SWB_CLIENT_BACKOFF_MIN_MS;
	char last_error[SWB_ERR_MSG_MAX] = "";
	pthread_mutex_lock(&c->mu);
	after = c->start_after;
	pthread_mutex_unlock(&c->mu);
	have_after = after != SWB_FOLLOW_NOW;
	if (!have_after)
		after = 0;

	/* A fresh dial: give it a moment before telling anyone the node is down. */
	swb_client_wait_connected(c, CONNECT_GRACE_MS);

	while (!stopping(c)) {
		struct swb_err err = { 0 };
		enum swb_code rc;
		json_t *res = NULL;
		if (!swb_client_connected(c)) {
			rc = swb_err_set(&err, SWB_EUNAVAIL, "not connected to %s", c->url);
		} else if (need_snapshot) {
			rc = ctx_call(c, c->pull_ctx, c->pull_aio, "snapshot", NULL,
				      SWB_CLIENT_PULL_WAIT_MS + SWB_CLIENT_PULL_GRACE_MS, CONNECT_GRACE_MS, &res, &err);
			if (rc == SWB_OK) {
				json_t *seq = json_object_get(res, "seq");
				after = json_is_integer(seq) ? (uint64_t)json_integer_value(seq) : 0;
				have_after = true;
				need_snapshot = false;
				from_snapshot = true;
				set_cursor(c, after);
				if (!push_event(c, json_pack("{s:s, s:o}", "event_type", SWB_EVENT_RESYNC, "snapshot", res)))
					break;
				if (!up && !push_event(c, synthetic_connection(true)))
					break;
				up = true;
				backoff = SWB_CLIENT_BACKOFF_MIN_MS;
				last_error[0] = '\0';
				continue;
			}
		} else {
			json_t *args = json_pack("{s:i}", "wait_ms", SWB_CLIENT_PULL_WAIT_MS);
			if (have_after)
				json_object_set_new(args, "after", json_integer((json_int_t)after));
			rc = ctx_call(c, c->pull_ctx, c->pull_aio, "events.next", args,
				      SWB_CLIENT_PULL_WAIT_MS + SWB_CLIENT_PULL_GRACE_MS, CONNECT_GRACE_MS, &res, &err);
			json_decref(args);
			if (rc == SWB_OK) {
				json_t *seqv = json_object_get(res, "seq");
				uint64_t seq = json_is_integer(seqv) ? (uint64_t)json_integer_value(seqv) : after;
				if (have_after && seq < after) {
					/* the node's sequence went back (a new data directory): start over */
					need_snapshot = true;
					json_decref(res);
					continue;
				}
				bool more = deliver_batch(c, res);
				json_decref(res);
				if (!more)
					break;
				after = seq;
				have_after = true;
				from_snapshot = false;
				set_cursor(c, after);
				if (!up && !push_event(c, synthetic_connection(true)))
					break;
				up = true;
				backoff = SWB_CLIENT_BACKOFF_MIN_MS;
				last_error[0] = '\0';
				continue;
			}
			if (rc == SWB_ERESYNC && !from_snapshot) {
				need_snapshot = true;
				continue;
			}
			/* a resync right after a snapshot is the node's bug: reported below, the pull retried with backoff */
		}
		/* failed: tell the consumer once, then retry with backoff */
		if (stopping(c))
			break;
		if (rc == SWB_EUNAVAIL || rc == SWB_EIO) {
			need_snapshot = true;
			if (up && !push_event(c, synthetic_connection(false)))
				break;
			up = false;
		} else if (strcmp(last_error, err.msg) != 0) {
			/* the node refuses us (expired token, ...): say why, keep trying */
			snprintf(last_error, sizeof last_error, "%s", err.msg);
			if (!push_event(c, json_pack("{s:s, s:s, s:s}", "event_type", SWB_EVENT_ERROR, "code",
						     swb_code_name(rc), "message", err.msg)))
				break;
		}
		backoff_sleep(c, backoff);
		backoff = backoff * 2 > SWB_CLIENT_BACKOFF_MAX_MS ? SWB_CLIENT_BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

enum swb_code swb_client_follow(swb_client *c, uint64_t after, struct swb_err *err)
{
	pthread_mutex_lock(&c->mu);
	if (c->following) {
		pthread_mutex_unlock(&c->mu);
		return swb_err_set(err, SWB_ESTATE, "already following events");
	}
	c->start_after = after;
	c->cursor = after == SWB_FOLLOW_NOW ? 0 : after;
	int rv = pthread_create(&c->thread, NULL, follow_main, c);
	c->following = rv == 0;
	pthread_mutex_unlock(&c->mu);
	if (rv != 0)
		return swb_err_set(err, SWB_EIO, "cannot start the event thread: %s", strerror(rv));
	return SWB_OK;
}

/* ---- open and close ---- */

static enum swb_code open_ctx(swb_client *c, nng_ctx *ctx, nng_aio **aio, struct swb_err *err)
{
	int rv = nng_ctx_open(ctx, c->sock);
	if (rv != 0)
		return swb_err_set(err, SWB_EIO, "nng: cannot open a context: %s", nng_strerror(rv));
	/* at most once: a request in flight when the connection drops fails instead of being resent */
	if ((rv = nng_ctx_set_ms(*ctx, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)) != 0 ||
	    (rv = nng_aio_alloc(aio, NULL, NULL)) != 0) {
		nng_ctx_close(*ctx);
		return swb_err_set(err, SWB_EIO, "nng: cannot set up a context: %s", nng_strerror(rv));
	}
	return SWB_OK;
}

/* Frees everything but the socket, which is closed (no callback or thread can touch c). */
static void free_client(swb_client *c)
{
	nng_aio_free(c->cmd_aio);
	nng_aio_free(c->pull_aio);
	while (c->head) {
		struct evq_item *it = c->head;
		c->head = it->next;
		json_decref(it->ev);
		free(it);
	}
	if (c->efd >= 0)
		close(c->efd);
	free(c->url);
	free(c->workspace);
	token_free(c->token);
	pthread_mutex_destroy(&c->token_mu);
	pthread_mutex_destroy(&c->call_mu);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cond);
	free(c);
}

/*
 * tls+tcp:// verifies the node's certificate against SWB_TLS_CA (a PEM file: the
 * node's certificate or its CA) for the URL's host, or SWB_TLS_SERVER_NAME.
 * There is no unverified mode: a console must know whom it talks to.
 */
static enum swb_code setup_tls(nng_dialer d, const char *url, struct swb_err *err)
{
	const char *ca = getenv("SWB_TLS_CA"), *name = getenv("SWB_TLS_SERVER_NAME");
	if (!ca || !*ca)
		return swb_err_set(err, SWB_EINVAL,
				   "%s: set SWB_TLS_CA to the node's certificate (or its CA) as a PEM file", url);
	char host[256];
	const char *h = url + 10, *end = strrchr(h, ':');
	snprintf(host, sizeof host, "%.*s", end ? (int)(end - h) : (int)strlen(h), h);
	nng_tls_config *cfg = NULL;
	int rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT);
	if (rv == 0)
		rv = nng_tls_config_ca_file(cfg, ca);
	if (rv == 0)
		rv = nng_tls_config_server_name(cfg, name && *name ? name : host);
	if (rv == 0)
		rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
	if (rv == 0)
		rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
	if (cfg)
		nng_tls_config_free(cfg); /* the dialer holds its own reference */
	if (rv != 0)
		return swb_err_set(err, SWB_EINVAL, "%s: TLS with CA '%s': %s", url, ca, nng_strerror(rv));
	return SWB_OK;
}

swb_client *swb_client_open(const char *url, const char *token, struct swb_err *err)
{
	char def[SWB_PATH_MAX + 8];
	if (!url) {
		swb_default_ipc_url(def, sizeof def, 0);
		url = def;
	}
	if (token && strlen(token) > SWB_TOKEN_MAX_LEN) {
		swb_err_set(err, SWB_EINVAL, "the token is longer than %d bytes", SWB_TOKEN_MAX_LEN);
		return NULL;
	}
	swb_client *c = calloc(1, sizeof *c);
	if (!c) {
		swb_err_set(err, SWB_ENOMEM, "out of memory");
		return NULL;
	}
	c->efd = -1;
	atomic_init(&c->next_id, 1);
	atomic_init(&c->request_limit, SWB_CLIENT_WIRE_MAX);
	c->opened_ms = swb_mono_ms();
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->call_mu, NULL);
	pthread_mutex_init(&c->token_mu, NULL);

	int rv;
	bool sock_open = false;
	enum swb_code rc = SWB_OK;
	c->url = strdup(url);
	c->token = token ? strdup(token) : NULL;
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!c->url || (token && !c->token))
		rc = swb_err_set(err, SWB_ENOMEM, "out of memory");
	else if (c->efd < 0)
		rc = swb_err_set(err, SWB_EIO, "eventfd: %s", strerror(errno));
	else if ((rv = nng_req0_open(&c->sock)) != 0)
		rc = swb_err_set(err, SWB_EIO, "nng: %s", nng_strerror(rv));
	else
		sock_open = true;
	if (rc == SWB_OK) {
		nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, SWB_CLIENT_RECV_MAX);
		nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, SWB_CLIENT_BACKOFF_MIN_MS);
		nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, SWB_CLIENT_BACKOFF_MAX_MS);
		nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, pipe_cb, c);
		nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, pipe_cb, c);
		rc = open_ctx(c, &c->cmd_ctx, &c->cmd_aio, err);
	}
	if (rc == SWB_OK) {
		rc = open_ctx(c, &c->pull_ctx, &c->pull_aio, err);
		c->pull_ctx_open = rc == SWB_OK;
	}
	if (rc == SWB_OK && (rv = nng_dialer_create(&c->dialer, c->sock, url)) != 0)
		rc = swb_err_set(err, rv == NNG_ENOMEM ? SWB_ENOMEM : SWB_EINVAL, "cannot dial '%s': %s", url,
				 nng_strerror(rv));
	if (rc == SWB_OK && strncmp(url, "tls+tcp://", 10) == 0)
		rc = setup_tls(c->dialer, url, err);
	if (rc == SWB_OK && (rv = nng_dialer_start(c->dialer, NNG_FLAG_NONBLOCK)) != 0)
		rc = swb_err_set(err, SWB_EIO, "cannot dial '%s': %s", url, nng_strerror(rv));
	if (rc != SWB_OK) {
		if (sock_open)
			nng_close(c->sock); /* closes the contexts and the dialer too */
		free_client(c);
		return NULL;
	}
	return c;
}

/* Before closing: lets a dial that may be in flight finish its handshake (see CLOSE_SETTLE_MS). */
static void settle(swb_client *c)
{
	pthread_mutex_lock(&c->mu);
	unsigned gen = c->pipe_gen;
	bool dropped = c->ever_connected && c->npipes == 0;
	int64_t since = c->ever_connected ? c->lost_ms : c->opened_ms;
	int64_t left = since + CLOSE_SETTLE_MS - swb_mono_ms();
	if ((!c->ever_connected || dropped) && left > 0) {
		struct timespec until = abs_after((int)left);
		int rv = 0;
		while (!(c->npipes > 0 && (!dropped || c->pipe_gen != gen)) && rv != ETIMEDOUT)
			rv = pthread_cond_timedwait(&c->cond, &c->mu, &until);
	}
	pthread_mutex_unlock(&c->mu);
}

const char *swb_client_url(const swb_client *c)
{
	return c->url;
}

enum swb_code swb_client_set_workspace(swb_client *c, const char *workspace, struct swb_err *err)
{
	char *copy = NULL;
	if (workspace && !(copy = strdup(workspace)))
		return swb_err_set(err, SWB_ENOMEM, "out of memory");
	free(c->workspace);
	c->workspace = copy;
	return SWB_OK;
}

enum swb_code swb_client_set_token(swb_client *c, const char *token, struct swb_err *err)
{
	if (token && strlen(token) > SWB_TOKEN_MAX_LEN)
		return swb_err_set(err, SWB_EINVAL, "the token is longer than %d bytes", SWB_TOKEN_MAX_LEN);
	char *copy = NULL;
	if (token && !(copy = strdup(token)))
		return swb_err_set(err, SWB_ENOMEM, "out of memory");
	pthread_mutex_lock(&c->token_mu);
	char *old = c->token;
	c->token = copy;
	pthread_mutex_unlock(&c->token_mu);
	token_free(old);
	return SWB_OK;
}

void swb_client_set_request_limit(swb_client *c, size_t max_bytes)
{
	atomic_store(&c->request_limit, max_bytes);
}

enum { CLOSE_RUNNING, CLOSE_DONE, CLOSE_ABANDONED };

/* closes given up on whose nng_close has not returned yet */
static atomic_int closes_abandoned;

static void *closer(void *arg)
{
	swb_client *c = arg;
	nng_close(c->sock); /* runs the last pipe callbacks before returning */
	int running = CLOSE_RUNNING;
	if (!atomic_compare_exchange_strong(&c->close_state, &running, CLOSE_DONE)) {
		/* the waiter gave up on us: the client is ours to free */
		free_client(c);
		atomic_fetch_sub(&closes_abandoned, 1);
	}
	return NULL;
}

bool swb_client_all_closed(void)
{
	return atomic_load(&closes_abandoned) == 0;
}

/*
 * nng 1.5.2 can hang in nng_close for good when a pipe still has traffic in
 * flight (nng issues 1543/1813, fixed in 1.8). The close runs on its own thread;
 * if it has not returned after CLOSE_WAIT_MS the client is left to that thread,
 * which frees it if nng ever returns, so that a console or bot quitting never
 * hangs.
 */
#define CLOSE_WAIT_MS 3000
static void close_socket_bounded(swb_client *c)
{
	pthread_t t;
	atomic_store(&c->close_state, CLOSE_RUNNING);
	if (pthread_create(&t, NULL, closer, c) != 0) {
		nng_close(c->sock);
		free_client(c);
		return;
	}
	for (int waited = 0; waited < CLOSE_WAIT_MS && atomic_load(&c->close_state) == CLOSE_RUNNING; waited += 5)
		usleep(5000);
	atomic_fetch_add(&closes_abandoned, 1); /* counted first: swb_client_all_closed never sees a gap */
	int running = CLOSE_RUNNING;
	if (atomic_compare_exchange_strong(&c->close_state, &running, CLOSE_ABANDONED)) {
		pthread_detach(t);
		return;
	}
	atomic_fetch_sub(&closes_abandoned, 1);
	pthread_join(t, NULL);
	free_client(c);
}

void swb_client_close(swb_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	bool joining = c->following;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	if (joining) {
		/* closing the pull context fails its operation in flight and every later one */
		nng_ctx_close(c->pull_ctx);
		c->pull_ctx_open = false;
		pthread_join(c->thread, NULL);
	}
	if (c->pull_ctx_open)
		nng_ctx_close(c->pull_ctx);
	nng_ctx_close(c->cmd_ctx);
	settle(c);
	close_socket_bounded(c);
}

/* ---- local tokens ---- */

enum swb_code swb_client_local_token(const char *data_dir, const char *scope, long long ttl_s, char **out,
				     struct swb_err *err)
{
	struct swb_token_claims cl;
	enum swb_code rc = swb_scope_parse(scope ? scope : "", &cl, err);
	if (rc != SWB_OK)
		return rc;
	if (ttl_s <= 0 || ttl_s > TOKEN_TTL_MAX)
		return swb_err_set(err, SWB_EINVAL, "token lifetime must be 1..%lld seconds, got %lld", TOKEN_TTL_MAX,
				   ttl_s);
	char dir[SWB_PATH_MAX], path[SWB_PATH_MAX + 16];
	if (data_dir)
		snprintf(dir, sizeof dir, "%s", data_dir);
	else
		swb_default_data_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/secret", dir);
	unsigned char secret[SWB_SECRET_LEN];
	rc = swb_secret_load(path, secret, err);
	if (rc != SWB_OK) {
		swb_err_prefix(err, "cannot mint a token (run as the node's user, pass --data DIR or --token)");
		return rc;
	}
	cl.iat = (long long)time(NULL);
	cl.exp = cl.iat + ttl_s;
	rc = swb_token_sign(secret, sizeof secret, &cl, out, err);
	explicit_bzero(secret, sizeof secret);
	return rc;
}
