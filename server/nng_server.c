/*
 * nng_server.c - rep0 socket, context pool, and the hand-off to the routing
 * thread. Each context cycles RECV -> (inbox) HELD -> SEND -> RECV. Only the
 * aio callback touches a context in RECV or SEND; only the routing thread
 * touches it while HELD.
 */
#include "nng_server.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <nng/supplemental/tls/tls.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define POOL_START 64      /* contexts opened at start */
#define POOL_LOW_WATER 16  /* open more when fewer are receiving */
#define POOL_GROW 64
#define POOL_MAX 40000     /* bounds memory: every held events.next pins one */
#define MAX_LISTENERS 16
#define PROBE_EVERY_MS 5000  /* ipc listener health check period */
#define PROBE_TIMEOUT_MS 5000
#define PROBE_FAILS 2        /* consecutive failures before a listener is recreated */

enum req_state { REQ_RECV, REQ_HELD, REQ_SEND };

struct swb_nng_req {
	swb_nng_server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	nng_msg *msg; /* the request while HELD */
	enum req_state state;
	struct swb_nng_req *next_all;
};

struct listener {
	char url[1024];
	nng_listener l;
	int fails;
};

struct swb_nng_server {
	nng_socket sock;
	struct listener listeners[MAX_LISTENERS];
	int nlisteners;
	pthread_t watchdog;
	bool watching;
	nng_mtx *mu;
	nng_cv *cv;
	swb_inbox *ib;
	struct swb_nng_req *all;
	size_t open;
	atomic_size_t held;
	atomic_bool closing;
	nng_tls_config *tls;
};

static void req_cb(void *arg);

static void start_recv(struct swb_nng_req *r)
{
	r->state = REQ_RECV;
	nng_ctx_recv(r->ctx, r->aio);
}

static void req_cb(void *arg)
{
	struct swb_nng_req *r = arg;
	swb_nng_server *s = r->srv;
	int rv = nng_aio_result(r->aio);
	if (r->state == REQ_SEND) {
		if (rv != 0)
			nng_msg_free(nng_aio_get_msg(r->aio));
		if (!atomic_load(&s->closing))
			start_recv(r);
		return;
	}
	if (rv != 0) {
		if (rv != NNG_ECLOSED && rv != NNG_ECANCELED && !atomic_load(&s->closing))
			start_recv(r);
		return;
	}
	r->msg = nng_aio_get_msg(r->aio);
	nng_aio_set_msg(r->aio, NULL);
	r->state = REQ_HELD;
	atomic_fetch_add(&s->held, 1);
	if (swb_inbox_push(s->ib, SWB_IN_NNG_REQUEST, r, 0) != 0) {
		nng_msg_free(r->msg);
		r->msg = NULL;
		atomic_fetch_sub(&s->held, 1);
		start_recv(r);
	}
}

static int add_contexts(swb_nng_server *s, size_t n)
{
	for (size_t i = 0; i < n && s->open < POOL_MAX; i++) {
		struct swb_nng_req *r = calloc(1, sizeof *r);
		if (!r)
			return -1;
		r->srv = s;
		if (nng_aio_alloc(&r->aio, req_cb, r) != 0) {
			free(r);
			return -1;
		}
		if (nng_ctx_open(&r->ctx, s->sock) != 0) {
			nng_aio_free(r->aio);
			free(r);
			return -1;
		}
		r->next_all = s->all;
		s->all = r;
		s->open++;
		start_recv(r);
	}
	return 0;
}

void swb_nng_server_replenish(swb_nng_server *s)
{
	size_t held = atomic_load(&s->held);
	if (s->open - held < POOL_LOW_WATER && add_contexts(s, POOL_GROW) != 0)
		swb_warn("nng: could not open more contexts (%zu open)", s->open);
}

static void pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	swb_nng_server *s = arg;
	if (ev == NNG_PIPE_EV_REM_POST && !atomic_load(&s->closing))
		swb_inbox_push(s->ib, SWB_IN_PIPE_GONE, NULL, (uint32_t)nng_pipe_id(p));
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *buf = n >= 0 && n < (1 << 20) ? malloc((size_t)n + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

static enum swb_code setup_tls(swb_nng_server *s, const struct swb_nng_tls *tls, struct swb_err *err)
{
	char *cert = read_file(tls->cert_file), *key = read_file(tls->key_file);
	int rv = NNG_EINVAL;
	if (cert && key && (rv = nng_tls_config_alloc(&s->tls, NNG_TLS_MODE_SERVER)) == 0)
		rv = nng_tls_config_own_cert(s->tls, cert, key, NULL);
	free(cert);
	free(key);
	if (rv != 0)
		return swb_err_set(err, SWB_EIO, "TLS: cannot use certificate '%s' and key '%s': %s", tls->cert_file,
				   tls->key_file, cert && key ? nng_strerror(rv) : "cannot read the files");
	return SWB_OK;
}

static enum swb_code listen_one(swb_nng_server *s, const char *url, nng_listener *out, struct swb_err *err)
{
	nng_listener l;
	int rv = nng_listener_create(&l, s->sock, url);
	if (rv == 0 && strncmp(url, "ipc://", 6) == 0)
		rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600);
	if (rv == 0 && strncmp(url, "tls+tcp://", 10) == 0) {
		if (!s->tls)
			return swb_err_set(err, SWB_EINVAL, "%s: tls+tcp needs --tls-cert and --tls-key", url);
		rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, s->tls);
	}
	if (rv == 0)
		rv = nng_listener_start(l, 0);
	if (rv != 0)
		return swb_err_set(err, SWB_EIO, "cannot listen on %s: %s", url, nng_strerror(rv));
	*out = l;
	swb_info("listening on %s", url);
	return SWB_OK;
}

/* One request over a fresh connection; any answer (even an error) means the listener serves. */
static bool probe(const char *url)
{
	nng_socket q;
	if (nng_req0_open(&q) != 0)
		return true; /* cannot tell: do not act */
	nng_socket_set_ms(q, NNG_OPT_RECVTIMEO, PROBE_TIMEOUT_MS);
	nng_socket_set_ms(q, NNG_OPT_SENDTIMEO, PROBE_TIMEOUT_MS);
	nng_socket_set_ms(q, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	bool ok = false;
	char *reply = NULL;
	size_t len = 0;
	if (nng_dial(q, url, NULL, 0) == 0 && nng_send(q, "{}", 2, 0) == 0 &&
	    nng_recv(q, &reply, &len, NNG_FLAG_ALLOC) == 0) {
		ok = true;
		nng_free(reply, len);
	}
	nng_close(q);
	return ok;
}

/*
 * nng 1.5.2 (Debian 12) can stop serving an ipc listener for good when a peer
 * hangs up during the handshake (nng issue 1518, fixed in 1.6). The watchdog
 * probes each ipc listener and recreates one that stopped answering.
 */
static void recreate(swb_nng_server *s, struct listener *li)
{
	struct swb_err err;
	swb_warn("%s stopped answering; recreating the listener", li->url);
	nng_listener_close(li->l);
	unlink(li->url + 6);
	if (listen_one(s, li->url, &li->l, &err) != SWB_OK)
		swb_error("%s", err.msg);
	li->fails = 0;
}

static void *watchdog(void *arg)
{
	swb_nng_server *s = arg;
	nng_mtx_lock(s->mu);
	while (!atomic_load(&s->closing)) {
		nng_cv_until(s->cv, nng_clock() + PROBE_EVERY_MS);
		for (int i = 0; i < s->nlisteners && !atomic_load(&s->closing); i++) {
			struct listener *li = &s->listeners[i];
			if (strncmp(li->url, "ipc://", 6) != 0)
				continue;
			nng_mtx_unlock(s->mu);
			bool ok = probe(li->url);
			nng_mtx_lock(s->mu);
			li->fails = ok ? 0 : li->fails + 1;
			if (li->fails >= PROBE_FAILS && !atomic_load(&s->closing))
				recreate(s, li);
		}
	}
	nng_mtx_unlock(s->mu);
	return NULL;
}

enum swb_code swb_nng_server_open(swb_inbox *ib, const char *const *urls, int nurls, const struct swb_nng_tls *tls,
				  swb_nng_server **out, struct swb_err *err)
{
	swb_nng_server *s = calloc(1, sizeof *s);
	if (!s)
		return swb_err_set(err, SWB_ENOMEM, "out of memory");
	s->ib = ib;
	int rv = nng_rep0_open(&s->sock);
	if (rv != 0) {
		free(s);
		return swb_err_set(err, SWB_EIO, "nng: %s", nng_strerror(rv));
	}
	nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, SWB_WIRE_MAX);
	nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, pipe_cb, s);
	enum swb_code rc = SWB_OK;
	if (tls && tls->cert_file)
		rc = setup_tls(s, tls, err);
	for (int i = 0; rc == SWB_OK && i < nurls && i < MAX_LISTENERS; i++) {
		struct listener *li = &s->listeners[s->nlisteners];
		snprintf(li->url, sizeof li->url, "%s", urls[i]);
		rc = listen_one(s, urls[i], &li->l, err);
		if (rc == SWB_OK)
			s->nlisteners++;
	}
	if (rc == SWB_OK && (nng_mtx_alloc(&s->mu) != 0 || nng_cv_alloc(&s->cv, s->mu) != 0))
		rc = swb_err_set(err, SWB_ENOMEM, "nng: cannot allocate the watchdog's lock");
	if (rc == SWB_OK)
		s->watching = pthread_create(&s->watchdog, NULL, watchdog, s) == 0;
	if (rc == SWB_OK && add_contexts(s, POOL_START) != 0)
		rc = swb_err_set(err, SWB_ENOMEM, "nng: cannot open contexts");
	if (rc != SWB_OK) {
		swb_nng_server_close(s);
		return rc;
	}
	*out = s;
	return SWB_OK;
}

void swb_nng_server_close(swb_nng_server *s)
{
	if (!s)
		return;
	atomic_store(&s->closing, true);
	if (s->watching) {
		nng_mtx_lock(s->mu);
		nng_cv_wake(s->cv);
		nng_mtx_unlock(s->mu);
		pthread_join(s->watchdog, NULL);
	}
	if (s->cv)
		nng_cv_free(s->cv);
	if (s->mu)
		nng_mtx_free(s->mu);
	nng_close(s->sock);
	for (struct swb_nng_req *r = s->all; r; r = r->next_all)
		nng_aio_stop(r->aio);
	while (s->all) {
		struct swb_nng_req *r = s->all;
		s->all = r->next_all;
		if (r->msg)
			nng_msg_free(r->msg);
		nng_msg *pending = nng_aio_get_msg(r->aio);
		if (pending && r->state == REQ_SEND)
			nng_msg_free(pending);
		nng_aio_free(r->aio);
		free(r);
	}
	if (s->tls)
		nng_tls_config_free(s->tls);
	free(s);
}

const char *swb_nng_req_body(const swb_nng_req *r, size_t *len)
{
	*len = nng_msg_len(r->msg);
	return nng_msg_body(r->msg);
}

uint32_t swb_nng_req_pipe(const swb_nng_req *r)
{
	return (uint32_t)nng_pipe_id(nng_msg_get_pipe(r->msg));
}

void swb_nng_reply(swb_nng_req *r, const char *body, size_t len)
{
	swb_nng_server *s = r->srv;
	nng_msg *msg = r->msg;
	r->msg = NULL;
	nng_msg_clear(msg);
	if (nng_msg_append(msg, body, len) != 0) {
		nng_msg_free(msg);
		atomic_fetch_sub(&s->held, 1);
		start_recv(r);
		return;
	}
	atomic_fetch_sub(&s->held, 1);
	r->state = REQ_SEND;
	nng_aio_set_msg(r->aio, msg);
	nng_ctx_send(r->ctx, r->aio);
}

void swb_nng_server_counts(const swb_nng_server *s, size_t *open, size_t *held)
{
	*open = s->open;
	*held = atomic_load(&s->held);
}
