/*
 * http.c - libwebsockets server and client on one thread. Per connection the
 * lws thread keeps what it is receiving or sending (struct pss); the routing
 * thread's answers arrive through a locked queue (struct job) drained on
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED, matched to connections by id.
 */
#include "http.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "map.h"

#define CHUNK 16384
#define HDR_BUF 4096
#define QUERY_ARG_MAX 4096

enum job_kind { JOB_RESPOND, JOB_WS_SEND, JOB_WS_CLOSE, JOB_CLIENT };

struct job {
	enum job_kind kind;
	uint64_t conn;
	int status;
	char *ctype, *headers, *body, *url, *method;
	size_t len;
	struct job *next;
};

struct frame {
	char *buf; /* LWS_PRE + payload */
	size_t len;
	struct frame *next;
};

struct pss {
	uint64_t id;
	struct lws *wsi;
	bool is_ws, is_client, dispatched, done;
	struct swb_http_msg *req; /* being received */
	size_t body_cap;
	struct job *resp;         /* being sent */
	size_t sent;
	bool headers_sent;
	struct frame *fq_head, *fq_tail;
	int close_code;
	char close_reason[124];
	char *rx;                 /* ws message being assembled */
	size_t rx_len;
	struct job *call;         /* client: the request */
	char *cbody;              /* client: the response */
	size_t clen;
	int cstatus;
};

struct swb_http {
	struct lws_context *ctx;
	swb_inbox *ib;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t mu;
	struct job *jq_head, *jq_tail;
	atomic_uint_fast64_t next_id;
	swb_map *conns; /* id -> pss, lws thread only */
	struct swb_http_opts opts;
	struct lws_http_mount mount;
};

void swb_http_msg_free(struct swb_http_msg *m)
{
	if (!m)
		return;
	free(m->path);
	json_decref(m->query);
	free(m->authorization);
	free(m->content_type);
	free(m->origin);
	free(m->if_match);
	free(m->body);
	free(m);
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->ctype);
	free(j->headers);
	free(j->body);
	free(j->url);
	free(j->method);
	free(j);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *dup_len(const char *s, size_t len)
{
	char *p = malloc(len + 1);
	if (!p)
		abort();
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* ---- routing thread -> lws thread ---- */

static void push_job(swb_http *h, struct job *j)
{
	pthread_mutex_lock(&h->mu);
	if (h->jq_tail)
		h->jq_tail->next = j;
	else
		h->jq_head = j;
	h->jq_tail = j;
	pthread_mutex_unlock(&h->mu);
	lws_cancel_service(h->ctx);
}

void swb_http_respond(swb_http *h, uint64_t conn, int status, const char *content_type, const char *extra_headers,
		      const char *body, size_t len)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	*j = (struct job){ .kind = JOB_RESPOND, .conn = conn, .status = status, .ctype = dup_or_null(content_type),
			   .headers = dup_or_null(extra_headers), .body = dup_len(body ? body : "", len), .len = len };
	push_job(h, j);
}

void swb_http_ws_send(swb_http *h, uint64_t conn, const char *text, size_t len)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	*j = (struct job){ .kind = JOB_WS_SEND, .conn = conn, .body = dup_len(text, len), .len = len };
	push_job(h, j);
}

void swb_http_ws_close(swb_http *h, uint64_t conn, int code, const char *reason)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	*j = (struct job){ .kind = JOB_WS_CLOSE, .conn = conn, .status = code, .body = dup_or_null(reason ? reason : "") };
	j->len = strlen(j->body);
	push_job(h, j);
}

uint64_t swb_http_client(swb_http *h, const char *method, const char *url, const char *content_type,
			 const char *extra_headers, const char *body, size_t len)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	uint64_t id = atomic_fetch_add(&h->next_id, 1);
	*j = (struct job){ .kind = JOB_CLIENT, .conn = id, .method = strdup(method), .url = strdup(url),
			   .ctype = dup_or_null(content_type), .headers = dup_or_null(extra_headers),
			   .body = dup_len(body ? body : "", len), .len = len };
	push_job(h, j);
	return id;
}

/* ---- lws thread helpers ---- */

static void conn_key(uint64_t id, char key[24])
{
	snprintf(key, 24, "%llu", (unsigned long long)id);
}

static void register_conn(swb_http *h, struct pss *p, struct lws *wsi)
{
	char key[24];
	p->id = atomic_fetch_add(&h->next_id, 1);
	p->wsi = wsi;
	conn_key(p->id, key);
	swb_map_put(h->conns, key, p);
}

static void forget_conn(swb_http *h, struct pss *p)
{
	char key[24];
	conn_key(p->id, key);
	if (swb_map_get(h->conns, key) == p)
		swb_map_del(h->conns, key);
	swb_http_msg_free(p->req);
	p->req = NULL;
	job_free(p->resp);
	p->resp = NULL;
	job_free(p->call);
	p->call = NULL;
	free(p->cbody);
	p->cbody = NULL;
	free(p->rx);
	p->rx = NULL;
	while (p->fq_head) {
		struct frame *f = p->fq_head;
		p->fq_head = f->next;
		free(f->buf);
		free(f);
	}
	p->fq_tail = NULL;
}

static char *hdr(struct lws *wsi, enum lws_token_indexes t)
{
	int n = lws_hdr_total_length(wsi, t);
	if (n <= 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (!s)
		abort();
	if (lws_hdr_copy(wsi, s, n + 1, t) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static json_t *read_query(struct lws *wsi, bool *bad)
{
	json_t *q = json_object();
	char buf[QUERY_ARG_MAX];
	for (int i = 0; lws_hdr_copy_fragment(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
		char *eq = strchr(buf, '=');
		const char *val = eq ? eq + 1 : "";
		if (eq)
			*eq = '\0';
		json_t *old = json_object_get(q, buf);
		json_t *sval = json_string(val), *skey = json_string(buf);
		bool ok = sval && skey;
		json_decref(sval);
		json_decref(skey);
		if (!ok) {
			*bad = true; /* not UTF-8: the request is refused rather than silently unfiltered */
			continue;
		}
		if (!old) {
			json_object_set_new(q, buf, json_string(val));
		} else if (json_is_array(old)) {
			json_array_append_new(old, json_string(val));
		} else {
			json_t *arr = json_pack("[O, s]", old, val);
			json_object_set_new(q, buf, arr);
		}
	}
	return q;
}

static const struct {
	enum lws_token_indexes tok;
	const char *name;
} methods[] = {
	{ WSI_TOKEN_GET_URI, "GET" },       { WSI_TOKEN_POST_URI, "POST" },   { WSI_TOKEN_OPTIONS_URI, "OPTIONS" },
	{ WSI_TOKEN_DELETE_URI, "DELETE" }, { WSI_TOKEN_PUT_URI, "PUT" },     { WSI_TOKEN_PATCH_URI, "PATCH" },
};

static struct swb_http_msg *new_msg(struct lws *wsi, enum swb_http_kind kind, const char *path)
{
	struct swb_http_msg *m = calloc(1, sizeof *m);
	if (!m)
		abort();
	m->kind = kind;
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (lws_hdr_total_length(wsi, methods[i].tok) > 0)
			snprintf(m->method, sizeof m->method, "%s", methods[i].name);
	m->path = strdup(path ? path : "/");
	m->query = read_query(wsi, &m->bad_query);
	m->authorization = hdr(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	m->content_type = hdr(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
	m->origin = hdr(wsi, WSI_TOKEN_ORIGIN);
	m->if_match = hdr(wsi, WSI_TOKEN_HTTP_IF_MATCH);
	lws_get_peer_simple(wsi, m->peer, sizeof m->peer);
	return m;
}

static void dispatch(swb_http *h, struct pss *p)
{
	struct swb_http_msg *m = p->req;
	p->req = NULL;
	p->dispatched = true;
	m->conn = p->id;
	if (!m->body)
		m->body = dup_len("", 0);
	if (swb_inbox_push(h->ib, SWB_IN_HTTP, m, 0) != 0)
		swb_http_msg_free(m);
}

static void post_simple(swb_http *h, enum swb_http_kind kind, uint64_t id, char *body, size_t len, int status)
{
	struct swb_http_msg *m = calloc(1, sizeof *m);
	if (!m)
		abort();
	m->kind = kind;
	m->conn = id;
	m->body = body ? body : dup_len("", 0);
	m->body_len = body ? len : 0;
	m->status = status;
	m->path = strdup("");
	m->query = json_object();
	if (swb_inbox_push(h->ib, SWB_IN_HTTP, m, 0) != 0)
		swb_http_msg_free(m);
}

/* Answers directly from the lws thread (limits, bad requests the router never sees). */
static void respond_local(struct pss *p, int status, const char *msg)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	char body[256];
	int n = snprintf(body, sizeof body, "{\"code\":%d,\"message\":\"%s\",\"more_info\":null,\"status\":%d}", status,
			 msg, status);
	*j = (struct job){ .kind = JOB_RESPOND, .conn = p->id, .status = status, .ctype = strdup("application/json"),
			   .body = dup_len(body, (size_t)n), .len = (size_t)n };
	p->resp = j;
	p->dispatched = true;
	lws_callback_on_writable(p->wsi);
}

/* ---- writing ---- */

/* Adds "Name: value\r\n" lines (names lowercased, as HTTP/2 wants) to a header block. */
static int add_header_lines(struct lws *wsi, const char *lines, unsigned char **pp, unsigned char *end)
{
	char *hs = lines ? strdup(lines) : NULL, *save = NULL;
	int rc = 0;
	for (char *line = hs ? strtok_r(hs, "\r\n", &save) : NULL; line && !rc; line = strtok_r(NULL, "\r\n", &save)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		char name[128];
		snprintf(name, sizeof name, "%.*s:", (int)(colon - line), line);
		for (char *c = name; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		const char *val = colon + 1;
		while (*val == ' ')
			val++;
		rc = lws_add_http_header_by_name(wsi, (unsigned char *)name, (unsigned char *)val, (int)strlen(val), pp, end);
	}
	free(hs);
	return rc;
}

static int write_headers(struct lws *wsi, struct pss *p)
{
	unsigned char buf[LWS_PRE + HDR_BUF], *start = buf + LWS_PRE, *pp = start, *end = buf + sizeof buf - 1;
	struct job *r = p->resp;
	if (lws_add_http_common_headers(wsi, (unsigned)r->status, r->ctype ? r->ctype : "application/json", r->len, &pp,
					end))
		return -1;
	if (add_header_lines(wsi, r->headers, &pp, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &pp, end))
		return -1;
	p->headers_sent = true;
	return 0;
}

static int http_writeable(struct lws *wsi, struct pss *p)
{
	if (!p->resp)
		return 0;
	if (!p->headers_sent) {
		if (write_headers(wsi, p))
			return -1;
		if (p->resp->len) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	}
	struct job *r = p->resp;
	size_t n = r->len - p->sent > CHUNK ? CHUNK : r->len - p->sent;
	bool final = p->sent + n >= r->len;
	if (n) {
		unsigned char *buf = malloc(LWS_PRE + n);
		if (!buf)
			return -1;
		memcpy(buf + LWS_PRE, r->body + p->sent, n);
		int w = lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
		free(buf);
		if (w < (int)n)
			return -1;
		p->sent += n;
	}
	if (!final) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	job_free(p->resp);
	p->resp = NULL;
	p->sent = 0;
	p->headers_sent = false;
	p->dispatched = false;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int ws_writeable(struct lws *wsi, struct pss *p)
{
	struct frame *f = p->fq_head;
	if (f) {
		p->fq_head = f->next;
		if (!p->fq_head)
			p->fq_tail = NULL;
		int w = lws_write(wsi, (unsigned char *)f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
		free(f->buf);
		free(f);
		if (w < 0)
			return -1;
		if (p->fq_head) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	}
	if (p->close_code) {
		lws_close_reason(wsi, (enum lws_close_status)p->close_code, (unsigned char *)p->close_reason,
				 strlen(p->close_reason));
		return -1;
	}
	return 0;
}

/* ---- jobs from the routing thread ---- */

static int start_client(swb_http *h, struct job *j);

static void run_job(swb_http *h, struct job *j)
{
	char key[24];
	conn_key(j->conn, key);
	if (j->kind == JOB_CLIENT) {
		if (start_client(h, j) != 0) {
			post_simple(h, SWB_HTTP_CLIENT_DONE, j->conn, NULL, 0, 0);
			job_free(j);
		}
		return;
	}
	struct pss *p = swb_map_get(h->conns, key);
	if (!p) { /* the connection went away meanwhile */
		job_free(j);
		return;
	}
	if (j->kind == JOB_RESPOND) {
		job_free(p->resp);
		p->resp = j;
		p->sent = 0;
		p->headers_sent = false;
	} else if (j->kind == JOB_WS_SEND) {
		struct frame *f = calloc(1, sizeof *f);
		if (!f)
			abort();
		f->buf = malloc(LWS_PRE + j->len + 1);
		if (!f->buf)
			abort();
		memcpy(f->buf + LWS_PRE, j->body, j->len);
		f->len = j->len;
		if (p->fq_tail)
			p->fq_tail->next = f;
		else
			p->fq_head = f;
		p->fq_tail = f;
		job_free(j);
	} else {
		p->close_code = j->status ? j->status : 1000;
		snprintf(p->close_reason, sizeof p->close_reason, "%s", j->body);
		job_free(j);
	}
	lws_callback_on_writable(p->wsi);
}

static void drain_jobs(swb_http *h)
{
	pthread_mutex_lock(&h->mu);
	struct job *list = h->jq_head;
	h->jq_head = h->jq_tail = NULL;
	pthread_mutex_unlock(&h->mu);
	while (list) {
		struct job *next = list->next;
		list->next = NULL;
		run_job(h, list);
		list = next;
	}
}

/* ---- client ---- */

static int start_client(swb_http *h, struct job *j)
{
	char buf[2048];
	const char *prot, *ads, *path;
	int port;
	snprintf(buf, sizeof buf, "%s", j->url);
	if (lws_parse_uri(buf, &prot, &ads, &port, &path))
		return -1;
	bool tls = strcmp(prot, "https") == 0;
	if (!tls && strcmp(prot, "http") != 0)
		return -1;
	char fullpath[2048];
	snprintf(fullpath, sizeof fullpath, "/%s", path);
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = h->ctx;
	ci.address = ads;
	ci.port = port;
	ci.path = fullpath;
	char host[300];
	bool default_port = (tls && port == 443) || (!tls && port == 80);
	if (default_port)
		snprintf(host, sizeof host, "%s", ads);
	else
		snprintf(host, sizeof host, "%s:%d", ads, port);
	ci.host = host;
	ci.origin = ads;
	ci.method = j->method;
	ci.protocol = "swb";
	ci.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
	ci.ssl_connection |= LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
	ci.opaque_user_data = j;
	return lws_client_connect_via_info(&ci) ? 0 : -1;
}

static int client_cb(swb_http *h, struct lws *wsi, enum lws_callback_reasons reason, struct pss *p, void *in,
		     size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		if (!p->call) {
			p->call = lws_get_opaque_user_data(wsi);
			p->is_client = true;
		}
		unsigned char **pp = (unsigned char **)in, *end = (*pp) + len;
		char clen[24];
		snprintf(clen, sizeof clen, "%zu", p->call->len);
		if (p->call->ctype && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
								  (unsigned char *)p->call->ctype,
								  (int)strlen(p->call->ctype), pp, end))
			return -1;
		if (add_header_lines(wsi, p->call->headers, pp, end))
			return -1;
		if (strcmp(p->call->method, "GET") != 0) {
			if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, (unsigned char *)clen,
							 (int)strlen(clen), pp, end))
				return -1;
			lws_client_http_body_pending(wsi, 1);
			lws_callback_on_writable(wsi);
		}
		return 0;
	}
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
		if (!p->call)
			return 0;
		unsigned char *buf = malloc(LWS_PRE + p->call->len + 1);
		if (!buf)
			return -1;
		memcpy(buf + LWS_PRE, p->call->body, p->call->len);
		int w = lws_write(wsi, buf + LWS_PRE, p->call->len, LWS_WRITE_HTTP_FINAL);
		free(buf);
		lws_client_http_body_pending(wsi, 0);
		return w < 0 ? -1 : 0;
	}
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		if (!p->call) {
			p->call = lws_get_opaque_user_data(wsi);
			p->is_client = true;
		}
		p->cstatus = (int)lws_http_client_http_response(wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		if (p->clen + len <= SWB_HTTP_BODY_MAX) {
			char *nb = realloc(p->cbody, p->clen + len + 1);
			if (!nb)
				return -1;
			p->cbody = nb;
			memcpy(p->cbody + p->clen, in, len);
			p->clen += len;
			p->cbody[p->clen] = '\0';
		}
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
		char buffer[1024 + LWS_PRE], *px = buffer + LWS_PRE;
		int lenx = (int)sizeof buffer - LWS_PRE;
		return lws_http_client_read(wsi, &px, &lenx) < 0 ? -1 : 0;
	}
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP: {
		struct job *call = p && p->call ? p->call : lws_get_opaque_user_data(wsi);
		if (!call || (p && p->done))
			return reason == LWS_CALLBACK_COMPLETED_CLIENT_HTTP ? -1 : 0;
		int status = reason == LWS_CALLBACK_COMPLETED_CLIENT_HTTP ? (p ? p->cstatus : 0) : 0;
		if (reason == LWS_CALLBACK_CLIENT_CONNECTION_ERROR && in)
			swb_debug("http client %s: %.*s", call->url, (int)len, (const char *)in);
		post_simple(h, SWB_HTTP_CLIENT_DONE, call->conn, p ? p->cbody : NULL, p ? p->clen : 0, status);
		if (p) {
			p->cbody = NULL;
			p->clen = 0;
			p->done = true;
			p->call = NULL;
		}
		lws_set_opaque_user_data(wsi, NULL);
		job_free(call);
		return reason == LWS_CALLBACK_COMPLETED_CLIENT_HTTP ? -1 : 0;
	}
	default:
		return 0;
	}
}

/* ---- the protocol callback ---- */

static int on_http(swb_http *h, struct lws *wsi, struct pss *p, const char *path)
{
	if (!p->id)
		register_conn(h, p, wsi);
	p->req = new_msg(wsi, SWB_HTTP_REQUEST, path);
	lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, h->opts.idle_timeout_s);
	char *cl = hdr(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
	long long clen = cl ? atoll(cl) : 0;
	free(cl);
	if (clen > SWB_HTTP_BODY_MAX) {
		swb_http_msg_free(p->req);
		p->req = NULL;
		respond_local(p, 413, "Request body too large");
		return 0;
	}
	bool has_body = clen > 0 || lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
	if (!has_body || strcmp(p->req->method, "GET") == 0)
		dispatch(h, p);
	return 0;
}

static int on_body(struct pss *p, const void *in, size_t len)
{
	struct swb_http_msg *m = p->req;
	if (!m)
		return 0;
	if (m->body_len + len > SWB_HTTP_BODY_MAX) {
		swb_http_msg_free(m);
		p->req = NULL;
		respond_local(p, 413, "Request body too large");
		return 0;
	}
	if (m->body_len + len + 1 > p->body_cap) {
		size_t cap = p->body_cap ? p->body_cap * 2 : 4096;
		while (cap < m->body_len + len + 1)
			cap *= 2;
		char *nb = realloc(m->body, cap);
		if (!nb)
			return -1;
		m->body = nb;
		p->body_cap = cap;
	}
	memcpy(m->body + m->body_len, in, len);
	m->body_len += len;
	m->body[m->body_len] = '\0';
	return 0;
}

static int on_ws_receive(swb_http *h, struct lws *wsi, struct pss *p, const void *in, size_t len)
{
	if (p->rx_len + len > SWB_HTTP_BODY_MAX)
		return -1;
	char *nb = realloc(p->rx, p->rx_len + len + 1);
	if (!nb)
		return -1;
	p->rx = nb;
	memcpy(p->rx + p->rx_len, in, len);
	p->rx_len += len;
	p->rx[p->rx_len] = '\0';
	if (lws_is_final_fragment(wsi)) {
		post_simple(h, SWB_HTTP_WS_TEXT, p->id, p->rx, p->rx_len, 0);
		p->rx = NULL;
		p->rx_len = 0;
	}
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	swb_http *h = ctx ? lws_context_user(ctx) : NULL;
	struct pss *p = user;
	if (!h)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		drain_jobs(h);
		return 0;
	case LWS_CALLBACK_HTTP:
		return on_http(h, wsi, p, in);
	case LWS_CALLBACK_HTTP_BODY:
		return on_body(p, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (p->req)
			dispatch(h, p);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_writeable(wsi, p);
	case LWS_CALLBACK_CLOSED_HTTP:
		if (p && p->id)
			forget_conn(h, p);
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
		char uri[256];
		if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 || strncmp(uri, "/v1/wschannels", 14) != 0)
			return 1; /* WebSockets only at /v1/wschannels */
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED: {
		char uri[256] = "";
		lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
		p->is_ws = true;
		register_conn(h, p, wsi);
		struct swb_http_msg *m = new_msg(wsi, SWB_HTTP_WS_OPEN, uri);
		m->conn = p->id;
		m->body = dup_len("", 0);
		if (swb_inbox_push(h->ib, SWB_IN_HTTP, m, 0) != 0)
			swb_http_msg_free(m);
		return 0;
	}
	case LWS_CALLBACK_RECEIVE:
		return on_ws_receive(h, wsi, p, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(wsi, p);
	case LWS_CALLBACK_CLOSED:
		post_simple(h, SWB_HTTP_WS_CLOSE, p->id, NULL, 0, 0);
		forget_conn(h, p);
		return 0;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		return client_cb(h, wsi, reason, p, in, len);
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
	{ "swb", callback, sizeof(struct pss), 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void *run(void *arg)
{
	swb_http *h = arg;
	while (!atomic_load(&h->stop))
		if (lws_service(h->ctx, 0) < 0)
			break;
	return NULL;
}

static void lws_to_log(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		n--;
	if (level & LLL_ERR)
		swb_warn("lws: %.*s", (int)n, line);
	else
		swb_debug("lws: %.*s", (int)n, line);
}

enum swb_code swb_http_start(swb_inbox *ib, const struct swb_http_opts *o, swb_http **out, struct swb_err *err)
{
	swb_http *h = calloc(1, sizeof *h);
	if (!h)
		return swb_err_set(err, SWB_ENOMEM, "out of memory");
	h->ib = ib;
	h->opts = *o;
	if (h->opts.idle_timeout_s <= 0)
		h->opts.idle_timeout_s = 15;
	h->conns = swb_map_new();
	atomic_store(&h->next_id, 1);
	pthread_mutex_init(&h->mu, NULL);
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_to_log);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = o->port ? o->port : CONTEXT_PORT_NO_LISTEN;
	info.iface = o->addr;
	info.protocols = protocols;
	info.user = h;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_IPV6;
	info.timeout_secs = (unsigned)h->opts.idle_timeout_s;
	info.keepalive_timeout = h->opts.idle_timeout_s;
	info.ssl_cert_filepath = o->tls_cert;
	info.ssl_private_key_filepath = o->tls_key;
	if (o->static_dir) {
		h->mount.mountpoint = "/agent";
		h->mount.mountpoint_len = 6;
		h->mount.origin = o->static_dir;
		h->mount.def = "index.html";
		h->mount.origin_protocol = LWSMPRO_FILE;
		info.mounts = &h->mount;
	}
	h->ctx = lws_create_context(&info);
	if (!h->ctx) {
		swb_map_free(h->conns);
		free(h);
		return swb_err_set(err, SWB_EIO, "cannot serve HTTP on %s:%d (port in use, or bad TLS files?)",
				   o->addr ? o->addr : "*", o->port);
	}
	if (pthread_create(&h->thread, NULL, run, h) != 0) {
		lws_context_destroy(h->ctx);
		swb_map_free(h->conns);
		free(h);
		return swb_err_set(err, SWB_EIO, "cannot start the HTTP thread");
	}
	if (o->port)
		swb_info("HTTP on %s://%s:%d", o->tls_cert ? "https" : "http", o->addr ? o->addr : "*", o->port);
	*out = h;
	return SWB_OK;
}

void swb_http_stop(swb_http *h)
{
	if (!h)
		return;
	atomic_store(&h->stop, true);
	lws_cancel_service(h->ctx);
	pthread_join(h->thread, NULL);
	lws_context_destroy(h->ctx);
	while (h->jq_head) {
		struct job *j = h->jq_head;
		h->jq_head = j->next;
		job_free(j);
	}
	swb_map_free(h->conns);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

int swb_http_port(const swb_http *h)
{
	return h->opts.port;
}
