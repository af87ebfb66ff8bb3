/*
 * rest.c - the TaskRouter v1 REST API as twilio-node 6 speaks it: every request
 * under /v1/ (but /v1/wschannels) comes here on the routing thread. This file
 * answers CORS preflights, authenticates (HTTP Basic with the account SID and
 * auth token or the API key, or a Bearer token: ours or a Twilio Access Token),
 * finds the route in the one table (rest_map.c), checks and maps the
 * parameters (PascalCase form or query in, snake_case op arguments out) before
 * anything changes, runs the handler and answers exactly once: Twilio's error
 * body {code, message, more_info, status} on failure, and Twilio's list
 * envelope with absolute paging URLs for lists. Every change goes through
 * node_exec, so it is journaled like an nng request; answers leave after the
 * commit. See docs/rest.md.
 */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "rest_internal.h"
#include "timefmt.h"

#define DEFAULT_HTTP_ADDR "127.0.0.1:7412" /* as node_http.c */
#define AUTH_HEADER_MAX 8192               /* longer Authorization headers are refused unread */
#define MORE_INFO "https://www.twilio.com/docs/errors/"

/* ---- errors and answers ---- */

static int twilio_code(int status)
{
	switch (status) {
	case 400: return 20001; /* Invalid parameter */
	case 401: return 20003; /* Authentication failed */
	case 405: return 20004; /* Method not allowed */
	default: return 20000 + status; /* 20403, 20404, 20409, 20500, 20503 */
	}
}

static int http_status(enum swb_code rc)
{
	switch (rc) {
	case SWB_ETOOBIG: return 400; /* a field over its limit is a bad parameter, not a large body */
	case SWB_EUNKNOWN: return 404;
	default: return http_status_of(rc);
	}
}

static void respond(struct rest_req *r, int status, const char *extra, const char *body, size_t len)
{
	const char *cors = http_cors(r->m);
	char headers[1024];
	snprintf(headers, sizeof headers, "%s%s", cors ? cors : "", extra ? extra : "");
	node_http_respond(r->n, r->m->conn, status, "application/json", headers[0] ? headers : NULL, body, len);
}

static void respond_error(struct rest_req *r, int status, const char *extra, const char *message)
{
	int code = twilio_code(status);
	char more[64];
	snprintf(more, sizeof more, MORE_INFO "%d", code);
	json_t *j = json_pack("{s:i, s:s, s:s, s:i}", "code", code, "message", message, "more_info", more, "status",
			      status);
	if (!j) /* the message quoted input that is not UTF-8 */
		j = json_pack("{s:i, s:s, s:s, s:i}", "code", code, "message", "the request is not valid UTF-8",
			      "more_info", more, "status", status);
	char *body = json_dumps(j, JSON_COMPACT);
	respond(r, status, extra, body, strlen(body));
	free(body);
	json_decref(j);
	r->n->errors++;
	swb_debug("REST %s %s: %d %s", r->m->method, r->m->path, status, message);
}

/* Replaces every from in msg (size bytes) by to, when the result fits. */
static void replace_all(char *msg, size_t size, const char *from, const char *to, bool whole_word)
{
	size_t flen = strlen(from), tlen = strlen(to);
	for (char *at = strstr(msg, from); at; at = strstr(at, from)) {
		bool word = !whole_word || ((at == msg || !(at[-1] == '_' || (at[-1] >= 'a' && at[-1] <= 'z'))) &&
					    !(at[flen] == '_' || (at[flen] >= 'a' && at[flen] <= 'z')));
		if (!word || strlen(msg) - flen + tlen + 1 > size) {
			at += flen;
			continue;
		}
		memmove(at + tlen, at + flen, strlen(at + flen) + 1);
		memcpy(at, to, tlen);
		at += tlen;
	}
}

/*
 * Makes an op's message speak the caller's language: drops a leading op name
 * ("workers.create: ") and names parameters as they were sent ('FriendlyName',
 * not 'friendly_name'; snake_case names anywhere, plain words when quoted or leading).
 */
static void translate_names(const struct rest_route *rt, char *msg, size_t size)
{
	size_t op = strspn(msg, "abcdefghijklmnopqrstuvwxyz_.");
	if (op && msg[op] == ':' && msg[op + 1] == ' ' && memchr(msg, '.', op))
		memmove(msg, msg + op + 2, strlen(msg + op + 2) + 1);
	for (const struct rest_param *p = rt ? rt->params : NULL; p && p->name; p++) {
		if (!p->arg)
			continue;
		char from[96], to[96];
		snprintf(from, sizeof from, "'%s'", p->arg);
		snprintf(to, sizeof to, "'%s'", p->name);
		replace_all(msg, size, from, to, false);
		size_t alen = strlen(p->arg);
		if (strchr(p->arg, '_'))
			replace_all(msg, size, p->arg, p->name, true);
		else if (strncmp(msg, p->arg, alen) == 0 && (msg[alen] == ' ' || msg[alen] == ':') &&
			 strlen(msg) - alen + strlen(p->name) + 1 <= size) { /* "configuration is not valid JSON" */
			memmove(msg + strlen(p->name), msg + alen, strlen(msg + alen) + 1);
			memcpy(msg, p->name, strlen(p->name));
		}
	}
}

static void fail(struct rest_req *r, enum swb_code rc, const char *message)
{
	char msg[SWB_ERR_MSG_MAX + 64];
	snprintf(msg, sizeof msg, "%s", message);
	translate_names(r->route, msg, sizeof msg);
	const char *extra = rc == SWB_EAUTH ? "WWW-Authenticate: Basic realm=\"Switchboard\"\r\n" : NULL;
	respond_error(r, http_status(rc), extra, msg);
}

/* ---- helpers for the handlers ---- */

enum swb_code rest_exec(struct rest_req *r, const char *op, json_t *args, json_t **res, struct swb_err *err)
{
	enum swb_code rc = node_exec(r->w, swb_wall_ms(), &r->actor, op, args, res, err);
	size_t n = strlen(op);
	if (rc != SWB_OK && err && strncmp(err->msg, op, n) == 0 && err->msg[n] == ':' && err->msg[n + 1] == ' ')
		memmove(err->msg, err->msg + n + 2, strlen(err->msg + n + 2) + 1);
	return rc;
}

json_t *rest_sys_get(struct wspace *w, const char *op, json_t *args)
{
	json_t *res = NULL;
	node_exec(w, swb_wall_ms(), NULL, op, args, &res, NULL);
	json_decref(args);
	return res;
}

json_t *rest_sys_list_all(struct wspace *w, const char *op, const char *key, json_t *args)
{
	return node_list_all(w, NULL, op, key, args);
}

json_t *rest_url(const struct rest_req *r, const char *fmt, ...)
{
	char path[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof path, fmt, ap);
	va_end(ap);
	struct rest_buf b = { 0 };
	rest_buf_addf(&b, "%s/v1/%s", r->base, path);
	json_t *j = json_string(b.s);
	free(b.s);
	return j ? j : json_null();
}

const char *rest_param(const struct rest_req *r, const char *name)
{
	return json_string_value(json_object_get(r->params, name));
}

enum swb_code rest_need_supervisor(const struct rest_req *r, struct swb_err *err)
{
	if (r->actor.kind == SWB_ACTOR_WORKER)
		return swb_err_set(err, SWB_EPERM, "this resource needs a supervisor or admin credential, not a worker token");
	return SWB_OK;
}

enum swb_code rest_need_admin(const struct rest_req *r, struct swb_err *err)
{
	if (r->actor.kind != SWB_ACTOR_ADMIN && r->actor.kind != SWB_ACTOR_SYSTEM)
		return swb_err_set(err, SWB_EPERM, "this change needs the account credentials or an admin token");
	return SWB_OK;
}

/* ---- paging ---- */

json_t *rest_page(struct rest_req *r, json_t *items, const char *key)
{
	size_t total = json_array_size(items), from = (size_t)(r->page * r->page_size);
	json_t *slice = json_array();
	for (size_t i = from; i < total && i < from + (size_t)r->page_size; i++)
		json_array_append(slice, json_array_get(items, i));
	json_decref(items);
	return json_pack("{s:o, s:{s:I, s:I, s:I, s:s}}", key, slice, "meta", "page", (json_int_t)r->page, "page_size",
			 (json_int_t)r->page_size, "total", (json_int_t)total, "key", key);
}

/* base + the request's path (escaped again) + its filters + PageSize and Page; NULL page: none. */
static json_t *page_url(struct rest_req *r, long long page)
{
	if (page < 0)
		return json_null();
	struct rest_buf b = { 0 };
	rest_buf_add(&b, r->base, strlen(r->base));
	rest_buf_add(&b, "/v1", 3);
	for (size_t i = 0; i < r->nseg; i++) {
		rest_buf_add(&b, "/", 1);
		rest_form_escape(&b, r->seg[i]);
	}
	rest_buf_add(&b, "?", 1);
	for (const struct rest_param *p = r->route->params; p && p->name; p++) {
		json_t *v = json_object_get(r->params, p->name);
		if (json_is_string(v)) {
			rest_form_append(&b, p->name, json_string_value(v));
		} else if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e)
				rest_form_append(&b, p->name, json_string_value(e));
		}
	}
	char num[32];
	snprintf(num, sizeof num, "%lld", r->page_size);
	rest_form_append(&b, "PageSize", num);
	snprintf(num, sizeof num, "%lld", page);
	rest_form_append(&b, "Page", num);
	json_t *j = json_string(b.s);
	free(b.s);
	return j ? j : json_null();
}

json_t *rest_list_answer(struct rest_req *r, json_t *res)
{
	json_t *meta = json_object_get(res, "meta");
	const char *key = json_string_value(json_object_get(meta, "key"));
	json_t *items = key ? json_object_get(res, key) : NULL;
	if (!items) { /* an op without the list shape: a bug, not input */
		json_decref(res);
		return json_pack("{s:[], s:{s:I, s:I, s:s}}", "items", "meta", "page", (json_int_t)0, "page_size",
				 (json_int_t)r->page_size, "key", "items");
	}
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
		rest_decorate(r, r->route->kind, it, true);
	long long total = (long long)json_integer_value(json_object_get(meta, "total"));
	long long page = r->page;
	bool more = (page + 1) * r->page_size < total;
	json_t *m = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:s}", "page", (json_int_t)page, "page_size",
			      (json_int_t)r->page_size, "first_page_url", page_url(r, 0), "previous_page_url",
			      page_url(r, page > 0 ? page - 1 : -1), "next_page_url", page_url(r, more ? page + 1 : -1),
			      "url", page_url(r, page), "key", key);
	json_t *out = json_pack("{s:O, s:o}", key, items, "meta", m);
	json_decref(res);
	return out;
}

/* ---- authentication ---- */

static bool ct_equal(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	if (alen != blen || blen == 0) /* lengths are not secret: every SID, token and key has a fixed one */
		return false;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 (padding optional) into out (size bytes, NUL-terminated); length or -1. */
static long b64_decode(const char *in, char *out, size_t size)
{
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	const char *p = in;
	for (; *p && *p != '='; p++) {
		int v = b64val(*p);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= size)
				return -1;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	while (*p == '=')
		p++;
	if (*p)
		return -1;
	out[o] = '\0';
	return (long)o;
}

static enum swb_code auth_basic(struct rest_req *r, const char *cred, struct swb_err *err)
{
	char plain[512];
	long len = b64_decode(cred, plain, sizeof plain);
	const char *colon = len > 0 ? memchr(plain, ':', (size_t)len) : NULL;
	if (!colon)
		return swb_err_set(err, SWB_EAUTH, "Authenticate: malformed Basic credentials (base64 of SID:secret)");
	size_t ulen = (size_t)(colon - plain), plen = (size_t)len - ulen - 1;
	const struct node *n = r->n;
	/* Both pairs are always compared, so the time taken does not say which user name matched. */
	int account = (int)ct_equal(plain, ulen, n->account_sid) & (int)ct_equal(colon + 1, plen, n->auth_token);
	int key = (int)ct_equal(plain, ulen, n->api_key_sid) & (int)ct_equal(colon + 1, plen, n->api_key_secret);
	OPENSSL_cleanse(plain, sizeof plain);
	if (!account && !key)
		return swb_err_set(err, SWB_EAUTH,
				   "Authenticate: the account SID and auth token (or API key and secret) do not match "
				   "this node's DATA/credentials.json");
	r->actor.kind = SWB_ACTOR_ADMIN;
	return SWB_OK;
}

static enum swb_code auth_bearer(struct rest_req *r, const char *token, struct swb_err *err)
{
	char iss[64];
	if (swb_token_peek_issuer(token, iss, sizeof iss, err) != SWB_OK)
		return SWB_EAUTH;
	long long now = swb_wall_ms() / 1000;
	if (strcmp(iss, SWB_TOKEN_ISSUER) == 0) {
		if (swb_token_verify(r->n->secret, sizeof r->n->secret, token, now, &r->claims, err) != SWB_OK)
			return SWB_EAUTH;
		switch (r->claims.scope) {
		case SWB_SCOPE_ADMIN: r->actor.kind = SWB_ACTOR_ADMIN; break;
		case SWB_SCOPE_SUPERVISOR: r->actor.kind = SWB_ACTOR_SUPERVISOR; break;
		case SWB_SCOPE_WORKER:
			r->actor.kind = SWB_ACTOR_WORKER;
			snprintf(r->token_worker, sizeof r->token_worker, "%s", r->claims.worker_sid);
			break;
		}
	} else if (ct_equal(iss, strlen(iss), r->n->api_key_sid)) {
		struct swb_twilio_claims tc;
		if (swb_twilio_token_verify((const unsigned char *)r->n->api_key_secret, strlen(r->n->api_key_secret),
					    r->n->api_key_sid, token, now, &tc, err) != SWB_OK)
			return SWB_EAUTH;
		snprintf(r->token_ws, sizeof r->token_ws, "%s", tc.workspace_sid);
		if (strcmp(tc.role, "admin") == 0) {
			r->actor.kind = SWB_ACTOR_ADMIN;
		} else if (tc.worker_sid[0] && strcmp(tc.role, "supervisor") != 0) {
			r->actor.kind = SWB_ACTOR_WORKER;
			snprintf(r->token_worker, sizeof r->token_worker, "%s", tc.worker_sid);
		} else {
			r->actor.kind = SWB_ACTOR_SUPERVISOR;
		}
	} else {
		return swb_err_set(err, SWB_EAUTH, "Authenticate: the token's issuer '%s' is not this node", iss);
	}
	if (r->actor.kind == SWB_ACTOR_WORKER) {
		r->actor.worker_sid = r->token_worker;
		struct wspace *home = node_ws_of_worker(r->n, r->token_worker);
		if (!home)
			return swb_err_set(err, SWB_EAUTH, "Authenticate: the token's worker %s no longer exists", r->token_worker);
		if (r->token_ws[0] && strcmp(r->token_ws, home->sid) != 0)
			return swb_err_set(err, SWB_EAUTH, "Authenticate: the token's worker is not in its workspace %s",
					   r->token_ws);
		snprintf(r->token_ws, sizeof r->token_ws, "%s", home->sid);
	}
	return SWB_OK;
}

static enum swb_code authenticate(struct rest_req *r, struct swb_err *err)
{
	const char *h = r->m->authorization;
	if (!h || !*h)
		return swb_err_set(err, SWB_EAUTH, "Authenticate: this request needs HTTP Basic credentials "
				   "(account SID and auth token) or a Bearer token");
	if (strlen(h) > AUTH_HEADER_MAX)
		return swb_err_set(err, SWB_EAUTH, "Authenticate: the Authorization header is too long");
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Basic ", 6) == 0)
		return auth_basic(r, h + 6, err);
	if (strncasecmp(h, "Bearer ", 7) == 0)
		return auth_bearer(r, h + 7, err);
	return swb_err_set(err, SWB_EAUTH, "Authenticate: the Authorization header must be Basic or Bearer");
}

/* ---- routing ---- */

/* Splits the path after /v1/ into segments; false when empty or too deep. */
static bool split_path(struct rest_req *r)
{
	r->segbuf = strdup(r->m->path + 4);
	if (!r->segbuf)
		abort();
	size_t len = strlen(r->segbuf);
	if (len && r->segbuf[len - 1] == '/')
		r->segbuf[len - 1] = '\0'; /* one trailing slash is tolerated */
	char *p = r->segbuf;
	if (!*p)
		return false;
	while (p) {
		if (r->nseg == REST_MAX_SEGS)
			return false;
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		json_t *utf8 = json_string(p); /* a segment becomes an op argument: it must be UTF-8 */
		json_decref(utf8);
		if (!*p || !utf8)
			return false;
		r->seg[r->nseg++] = p;
		p = slash ? slash + 1 : NULL;
	}
	return true;
}

static bool pattern_matches(const char *pattern, const struct rest_req *r)
{
	size_t i = 0;
	const char *p = pattern;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (i >= r->nseg)
			return false;
		if (!(n == 1 && *p == '*') && (strlen(r->seg[i]) != n || strncmp(p, r->seg[i], n) != 0))
			return false;
		i++;
		p += n + (slash ? 1 : 0);
	}
	return i == r->nseg;
}

/* The route for the path and method; *allow lists the methods the path has when none matches. */
static const struct rest_route *find_route(const struct rest_req *r, char *allow, size_t size, bool *path_known)
{
	const struct rest_route *literal_hit = NULL;
	*path_known = false;
	allow[0] = '\0';
	for (const struct rest_route *rt = rest_routes; rt->pattern; rt++) {
		if (!pattern_matches(rt->pattern, r))
			continue;
		/* A literal segment (Statistics) wins over a path parameter: the table lists those first. */
		if (literal_hit && strcmp(literal_hit->pattern, rt->pattern) != 0)
			break;
		literal_hit = rt;
		*path_known = true;
		if (strcmp(rt->method, r->m->method) == 0)
			return rt;
		size_t len = strlen(allow);
		snprintf(allow + len, size - len, "%s%s", len ? ", " : "", rt->method);
	}
	return NULL;
}

/* ---- parameters ---- */

bool rest_parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*out = true;
	else if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*out = false;
	else
		return false;
	return true;
}

static bool parse_ll(const char *s, long long *out)
{
	char *end;
	if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	*out = strtoll(s, &end, 10);
	return *end == '\0';
}

static enum swb_code paging_param(struct rest_req *r, const char *name, const char *v, struct swb_err *err)
{
	long long n;
	if (strcmp(name, "PageToken") == 0)
		return SWB_OK; /* our next_page_url carries Page; a token is accepted and not needed */
	if (!parse_ll(v, &n))
		return swb_err_set(err, SWB_EINVAL, "'%s' must be an integer, got '%.40s'", name, v);
	if (strcmp(name, "PageSize") == 0) {
		if (n < 1 || n > REST_PAGE_SIZE_MAX)
			return swb_err_set(err, SWB_EINVAL, "'PageSize' must be from 1 to %d", REST_PAGE_SIZE_MAX);
		r->page_size = n;
	} else {
		if (n < 0 || n > 1000000)
			return swb_err_set(err, SWB_EINVAL, "'Page' must be from 0 to 1000000");
		r->page = n;
	}
	return SWB_OK;
}

static enum swb_code check_param(struct rest_req *r, const struct rest_param *p, json_t *v, struct swb_err *err)
{
	if (json_is_array(v) && p->type != P_LIST)
		return swb_err_set(err, SWB_EINVAL, "'%s' may be given only once", p->name);
	const char *s = json_string_value(v);
	long long n;
	bool b;
	switch (p->type) {
	case P_STR:
	case P_JSON:
		json_object_set(r->args, p->arg, v);
		return SWB_OK;
	case P_INT:
		if (!parse_ll(s, &n))
			return swb_err_set(err, SWB_EINVAL, "'%s' must be an integer, got '%.40s'", p->name, s);
		json_object_set_new(r->args, p->arg, json_integer(n));
		return SWB_OK;
	case P_BOOL:
		if (!rest_parse_bool(s, &b))
			return swb_err_set(err, SWB_EINVAL, "'%s' must be true or false, got '%.40s'", p->name, s);
		json_object_set_new(r->args, p->arg, json_boolean(b));
		return SWB_OK;
	case P_DATE: {
		int64_t ms;
		if (!swb_iso8601_parse(s, &ms))
			return swb_err_set(err, SWB_EINVAL, "'%s' must be an ISO 8601 date (2026-11-26T00:00:00Z), got '%.40s'",
					   p->name, s);
		json_object_set(r->args, p->arg, v);
		return SWB_OK;
	}
	case P_LIST: {
		json_t *arr = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
		json_object_set_new(r->args, p->arg, arr);
		return SWB_OK;
	}
	case P_FALSE_ONLY:
		if (!rest_parse_bool(s, &b))
			return swb_err_set(err, SWB_EINVAL, "'%s' must be true or false, got '%.40s'", p->name, s);
		if (b)
			return swb_err_set(err, SWB_EINVAL, "'%s=true' is not supported by Switchboard", p->name);
		return SWB_OK;
	case P_UNSUPPORTED:
		return swb_err_set(err, SWB_EINVAL, "'%s' is not supported by Switchboard", p->name);
	case P_LOCAL:
		return SWB_OK;
	}
	return SWB_OK;
}

/* Reads the parameters (query, form or JSON body) and maps them into r->args. Changes nothing. */
static enum swb_code read_params(struct rest_req *r, struct swb_err *err)
{
	const struct swb_http_msg *m = r->m;
	r->args = json_object();
	r->page_size = REST_PAGE_SIZE_DEFAULT;
	if (m->if_match)
		return swb_err_set(err, SWB_EINVAL, "If-Match (ETag) preconditions are not supported by Switchboard");
	bool post = strcmp(m->method, "POST") == 0;
	if (post && json_object_size(m->query))
		return swb_err_set(err, SWB_EINVAL, "a POST takes its parameters in the form body, not the query string");
	const char *ct = m->content_type ? m->content_type : "";
	size_t ctlen = strcspn(ct, "; ");
	if (post && r->route->json_body) {
		if (ctlen != 16 || strncasecmp(ct, "application/json", 16) != 0)
			return swb_err_set(err, SWB_EINVAL, "this resource takes an application/json body");
		json_error_t je;
		r->body_json = json_loadb(m->body, m->body_len, JSON_REJECT_DUPLICATES, &je);
		if (!r->body_json)
			return swb_err_set(err, SWB_EINVAL, "malformed JSON body at column %d: %s", je.column, je.text);
		r->params = json_object();
		return SWB_OK;
	}
	if (post) {
		if (m->body_len && (ctlen != 33 || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0))
			return swb_err_set(err, SWB_EINVAL, "the body must be application/x-www-form-urlencoded");
		enum swb_code rc = rest_form_decode(m->body, m->body_len, &r->params, err);
		if (rc != SWB_OK)
			return rc;
	} else {
		r->params = m->query ? json_incref(m->query) : json_object();
	}
	const char *name;
	json_t *v;
	json_object_foreach(r->params, name, v) {
		if (r->route->list && (strcmp(name, "Page") == 0 || strcmp(name, "PageSize") == 0 ||
				       strcmp(name, "PageToken") == 0)) {
			if (!json_is_string(v))
				return swb_err_set(err, SWB_EINVAL, "'%s' may be given only once", name);
			enum swb_code rc = paging_param(r, name, json_string_value(v), err);
			if (rc != SWB_OK)
				return rc;
			continue;
		}
		const struct rest_param *p = r->route->params;
		while (p && p->name && strcmp(p->name, name) != 0)
			p++;
		if (!p || !p->name)
			return swb_err_set(err, SWB_EINVAL, "Unknown parameter '%.60s' for %s %s", name, m->method, m->path);
		enum swb_code rc = check_param(r, p, v, err);
		if (rc != SWB_OK)
			return rc;
	}
	return SWB_OK;
}

/* ---- the entry point ---- */

static void base_url(struct rest_req *r)
{
	const char *spec = r->n->opts.http_addr ? r->n->opts.http_addr : DEFAULT_HTTP_ADDR;
	const char *scheme = r->n->opts.tls_cert ? "https" : "http";
	/* A wildcard bind is not an address a client can follow; loopback is the best guess without a Host header. */
	if (strncmp(spec, "0.0.0.0:", 8) == 0)
		snprintf(r->base, sizeof r->base, "%s://127.0.0.1:%s", scheme, spec + 8);
	else
		snprintf(r->base, sizeof r->base, "%s://%.200s", scheme, spec);
}

static enum swb_code resolve_workspace(struct rest_req *r, struct swb_err *err)
{
	if (r->nseg < 2 || strcmp(r->seg[0], "Workspaces") != 0) {
		if (r->token_ws[0]) /* a workspace's token does not see the others */
			return swb_err_set(err, SWB_EPERM, "the token is limited to workspace %s", r->token_ws);
		return SWB_OK;
	}
	r->w = node_ws_find(r->n, r->seg[1]);
	if (!r->w)
		return swb_err_set(err, SWB_ENOTFOUND, "The requested resource /Workspaces/%.60s was not found", r->seg[1]);
	if (r->token_ws[0] && strcmp(r->token_ws, r->w->sid) != 0)
		return swb_err_set(err, SWB_EPERM, "the token is limited to workspace %s", r->token_ws);
	return SWB_OK;
}

static void dispatch(struct rest_req *r)
{
	struct swb_err err = { 0 };
	const struct swb_http_msg *m = r->m;
	if (strcmp(m->method, "OPTIONS") == 0) { /* CORS preflight: no credentials are sent with it */
		respond(r, 204, NULL, "", 0);
		return;
	}
	if (authenticate(r, &err) != SWB_OK) {
		fail(r, SWB_EAUTH, err.msg);
		return;
	}
	char allow[64], msg[SWB_ERR_MSG_MAX];
	bool path_known = false;
	if (split_path(r))
		r->route = find_route(r, allow, sizeof allow, &path_known);
	if (!r->route && !path_known) {
		snprintf(msg, sizeof msg, "The requested resource %.200s was not found", m->path);
		respond_error(r, 404, NULL, msg);
		return;
	}
	if (!r->route) {
		char extra[96];
		snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
		snprintf(msg, sizeof msg, "Method %.8s not allowed on %.120s (allowed: %.60s)", m->method, m->path, allow);
		respond_error(r, 405, extra, msg);
		return;
	}
	enum swb_code rc = resolve_workspace(r, &err);
	if (rc == SWB_OK)
		rc = read_params(r, &err);
	json_t *body = NULL;
	if (rc == SWB_OK)
		rc = r->route->fn(r, &body, &err);
	if (rc != SWB_OK) {
		json_decref(body);
		fail(r, rc, err.msg);
		return;
	}
	if (!body || r->route->status == 204) {
		json_decref(body);
		respond(r, 204, NULL, "", 0);
		return;
	}
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!text) {
		respond_error(r, 500, NULL, "could not encode the answer");
		return;
	}
	respond(r, r->route->status, NULL, text, strlen(text));
	free(text);
}

void rest_handle(struct node *n, struct swb_http_msg *m)
{
	struct rest_req r = { .n = n, .m = m };
	n->requests++;
	base_url(&r);
	dispatch(&r);
	free(r.segbuf);
	json_decref(r.params);
	json_decref(r.args);
	json_decref(r.body_json);
	OPENSSL_cleanse(&r.claims, sizeof r.claims);
	swb_http_msg_free(m);
}
