/*
 * twiml.c - reads TwiML voice documents with expat (see twiml.h for the
 * subset). Expat calls back per element; a small stack of frames tracks where
 * we are (Response > verb > noun), each frame collecting its own text. The
 * first problem stops the parser and becomes the error, so a document is
 * either fully valid or rejected; nothing half-built escapes.
 */
#include "twiml.h"

#include <ctype.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sid.h"

#define MAX_DEPTH 8 /* Response > verb > noun, plus a little SSML inside <Say> */

static const char *const kind_names[TWIML_NKINDS] = {
#define TWIML_KIND_NAME(k, name) name,
	TWIML_ELEMENTS(TWIML_KIND_NAME)
#undef TWIML_KIND_NAME
};

const char *twiml_kind_name(enum twiml_kind k)
{
	return (unsigned)k < TWIML_NKINDS ? kind_names[k] : "?";
}

enum role {
	ROLE_RESPONSE,
	ROLE_VERB,  /* a verb directly in <Response> */
	ROLE_CHILD, /* a prompt inside <Gather> */
	ROLE_TASK,  /* <Enqueue><Task> */
	ROLE_QUEUE, /* <Dial><Queue> */
	ROLE_SSML,  /* markup inside <Say>: its text belongs to the Say */
};

struct frame {
	enum role role;
	char name[32];
	size_t idx, parent; /* verb index; for ROLE_CHILD the Gather's index and the child's */
	char *text;
	size_t len, cap;
};

struct reader {
	XML_Parser p;
	struct twiml_doc *doc;
	size_t vcap;
	size_t count; /* verbs and nouns so far */
	struct frame stack[MAX_DEPTH];
	int depth;
	bool failed;
	enum swb_code rc;
	struct swb_err *err;
};

/* ---- errors ---- */

static void fail(struct reader *r, enum swb_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(struct reader *r, enum swb_code code, const char *fmt, ...)
{
	if (r->failed)
		return;
	r->failed = true;
	r->rc = code;
	char msg[SWB_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	swb_err_set(r->err, code, "line %lu: %s", (unsigned long)XML_GetCurrentLineNumber(r->p), msg);
	XML_StopParser(r->p, XML_FALSE);
}

/* ---- building ---- */

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

static void verb_init(struct twiml_verb *v, enum twiml_kind kind)
{
	memset(v, 0, sizeof *v);
	v->kind = kind;
	v->loop = 1;
	v->length = 1;
	v->finish_on_key = '#';
	v->timeout = kind == TWIML_DIAL ? 30 : 5;
}

static void verb_clear(struct twiml_verb *v)
{
	free(v->text);
	free(v->action);
	free(v->method);
	free(v->wait_url);
	free(v->wait_method);
	free(v->workflow_sid);
	free(v->reservation_sid);
	free(v->post_work_activity_sid);
	json_decref(v->task);
	for (size_t i = 0; i < v->nchildren; i++)
		verb_clear(&v->children[i]);
	free(v->children);
}

void twiml_free(struct twiml_doc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->nverbs; i++)
		verb_clear(&doc->verbs[i]);
	free(doc->verbs);
	free(doc);
}

static struct twiml_verb *frame_verb(struct reader *r, const struct frame *f)
{
	if (f->role == ROLE_VERB)
		return &r->doc->verbs[f->idx];
	if (f->role == ROLE_CHILD)
		return &r->doc->verbs[f->parent].children[f->idx];
	return NULL;
}

static enum twiml_kind kind_of(const char *name)
{
	for (int k = 0; k < TWIML_NKINDS; k++)
		if (strcmp(kind_names[k], name) == 0)
			return (enum twiml_kind)k;
	return TWIML_NKINDS;
}

/* ---- attributes ---- */

static bool parse_int(struct reader *r, const char *el, const char *attr, const char *s, long lo, long hi, int *out)
{
	char *end;
	while (isspace((unsigned char)*s))
		s++;
	long v = strtol(s, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (*s == '\0' || *end != '\0' || !(isdigit((unsigned char)*s) || *s == '-') || v < lo || v > hi) {
		fail(r, SWB_EINVAL, "<%s %s=\"%.40s\">: must be an integer %ld..%ld", el, attr, s, lo, hi);
		return false;
	}
	*out = (int)v;
	return true;
}

static bool parse_method(struct reader *r, const char *el, const char *attr, const char *s, char **out)
{
	char up[8];
	size_t n = strlen(s);
	for (size_t i = 0; i < n && i < sizeof up - 1; i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	up[n < sizeof up - 1 ? n : sizeof up - 1] = '\0';
	if (n >= sizeof up || (strcmp(up, "GET") != 0 && strcmp(up, "POST") != 0)) {
		fail(r, SWB_EINVAL, "<%s %s=\"%.40s\">: must be GET or POST", el, attr, s);
		return false;
	}
	free(*out);
	*out = xstrdup(up);
	return true;
}

static bool parse_str(struct reader *r, const char *el, const char *attr, const char *s, char **out)
{
	if (strlen(s) > TWIML_MAX_TEXT) {
		fail(r, SWB_ETOOBIG, "<%s %s>: longer than %d bytes", el, attr, TWIML_MAX_TEXT);
		return false;
	}
	free(*out);
	*out = xstrdup(s);
	return true;
}

static bool parse_bool(struct reader *r, const char *el, const char *attr, const char *s, bool *out)
{
	if (strcmp(s, "true") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0)
		*out = false;
	else {
		fail(r, SWB_EINVAL, "<%s %s=\"%.40s\">: must be true or false", el, attr, s);
		return false;
	}
	return true;
}

/* Applies one attribute of a verb; unknown attributes are ignored, as Twilio does. */
static bool verb_attr(struct reader *r, struct twiml_verb *v, const char *a, const char *val)
{
	const char *el = kind_names[v->kind];
	switch (v->kind) {
	case TWIML_SAY:
	case TWIML_PLAY:
		if (strcmp(a, "loop") == 0)
			return parse_int(r, el, a, val, 0, 1000, &v->loop);
		return true;
	case TWIML_PAUSE:
		if (strcmp(a, "length") == 0)
			return parse_int(r, el, a, val, 0, TWIML_MAX_SECONDS, &v->length);
		return true;
	case TWIML_GATHER:
		if (strcmp(a, "action") == 0)
			return parse_str(r, el, a, val, &v->action);
		if (strcmp(a, "method") == 0)
			return parse_method(r, el, a, val, &v->method);
		if (strcmp(a, "numDigits") == 0)
			return parse_int(r, el, a, val, 1, TWIML_MAX_DIGITS, &v->num_digits);
		if (strcmp(a, "timeout") == 0)
			return parse_int(r, el, a, val, 1, TWIML_MAX_SECONDS, &v->timeout);
		if (strcmp(a, "actionOnEmptyResult") == 0)
			return parse_bool(r, el, a, val, &v->action_on_empty);
		if (strcmp(a, "finishOnKey") == 0) {
			if (val[0] == '\0' || (val[1] == '\0' && strchr("0123456789*#", val[0]))) {
				v->finish_on_key = val[0];
				return true;
			}
			fail(r, SWB_EINVAL, "<Gather finishOnKey=\"%.40s\">: must be one of 0-9, * or #, or empty", val);
			return false;
		}
		if (strcmp(a, "input") == 0 && !strstr(val, "dtmf")) {
			fail(r, SWB_EINVAL, "<Gather input=\"%.40s\">: only dtmf input is simulated", val);
			return false;
		}
		return true;
	case TWIML_REDIRECT:
		if (strcmp(a, "method") == 0)
			return parse_method(r, el, a, val, &v->method);
		return true;
	case TWIML_ENQUEUE:
		if (strcmp(a, "action") == 0)
			return parse_str(r, el, a, val, &v->action);
		if (strcmp(a, "method") == 0)
			return parse_method(r, el, a, val, &v->method);
		if (strcmp(a, "waitUrl") == 0)
			return parse_str(r, el, a, val, &v->wait_url);
		if (strcmp(a, "waitUrlMethod") == 0)
			return parse_method(r, el, a, val, &v->wait_method);
		if (strcmp(a, "workflowSid") == 0)
			return parse_str(r, el, a, val, &v->workflow_sid);
		return true;
	case TWIML_DIAL:
		if (strcmp(a, "action") == 0)
			return parse_str(r, el, a, val, &v->action);
		if (strcmp(a, "method") == 0)
			return parse_method(r, el, a, val, &v->method);
		if (strcmp(a, "timeout") == 0)
			return parse_int(r, el, a, val, 1, 600, &v->timeout);
		return true;
	case TWIML_HANGUP:
	case TWIML_LEAVE:
	case TWIML_NKINDS:
		return true;
	}
	return true;
}

static bool task_attr(struct reader *r, struct twiml_verb *enq, const char *a, const char *val)
{
	if (strcmp(a, "priority") == 0) {
		enq->has_priority = true;
		return parse_int(r, "Task", a, val, 0, 2147483647L, &enq->priority);
	}
	if (strcmp(a, "timeout") == 0) {
		enq->has_task_timeout = true;
		return parse_int(r, "Task", a, val, 1, 1209600, &enq->task_timeout);
	}
	return true;
}

static bool queue_attr(struct reader *r, struct twiml_verb *dial, const char *a, const char *val)
{
	if (strcmp(a, "reservationSid") == 0) {
		if (!swb_sid_valid(val, "WR")) {
			fail(r, SWB_EINVAL, "<Queue reservationSid=\"%.40s\">: not a reservation SID (WR...)", val);
			return false;
		}
		return parse_str(r, "Queue", a, val, &dial->reservation_sid);
	}
	if (strcmp(a, "postWorkActivitySid") == 0)
		return parse_str(r, "Queue", a, val, &dial->post_work_activity_sid);
	return true;
}

/* ---- expat callbacks ---- */

static struct frame *push(struct reader *r, enum role role, const char *name)
{
	if (r->depth >= MAX_DEPTH) {
		fail(r, SWB_EINVAL, "<%.30s> is nested too deeply", name);
		return NULL;
	}
	if (++r->count > TWIML_MAX_VERBS) {
		fail(r, SWB_ETOOBIG, "more than %d elements", TWIML_MAX_VERBS);
		return NULL;
	}
	struct frame *f = &r->stack[r->depth++];
	memset(f, 0, sizeof *f);
	f->role = role;
	snprintf(f->name, sizeof f->name, "%s", name);
	return f;
}

static struct twiml_verb *add_verb(struct reader *r, enum twiml_kind kind, struct frame *f)
{
	struct twiml_doc *d = r->doc;
	if (d->nverbs == r->vcap) {
		r->vcap = r->vcap ? r->vcap * 2 : 8;
		d->verbs = realloc(d->verbs, r->vcap * sizeof *d->verbs);
		if (!d->verbs)
			abort();
	}
	f->idx = d->nverbs++;
	verb_init(&d->verbs[f->idx], kind);
	return &d->verbs[f->idx];
}

static struct twiml_verb *add_child(struct reader *r, struct frame *parent, enum twiml_kind kind, struct frame *f)
{
	struct twiml_verb *g = &r->doc->verbs[parent->idx];
	struct twiml_verb *nc = realloc(g->children, (g->nchildren + 1) * sizeof *nc);
	if (!nc)
		abort();
	g->children = nc;
	f->parent = parent->idx;
	f->idx = g->nchildren++;
	verb_init(&g->children[f->idx], kind);
	return &g->children[f->idx];
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct reader *r = ud;
	if (r->failed)
		return;
	struct frame *parent = r->depth ? &r->stack[r->depth - 1] : NULL;
	if (!parent) {
		if (strcmp(name, "Response") != 0) {
			fail(r, SWB_EINVAL, "the root element must be <Response>, not <%.30s>", name);
			return;
		}
		push(r, ROLE_RESPONSE, name);
		return;
	}
	enum twiml_kind kind = kind_of(name);
	struct twiml_verb *pv = frame_verb(r, parent);
	struct twiml_verb *v = NULL;
	struct frame *f;
	switch (parent->role) {
	case ROLE_RESPONSE:
		if (kind == TWIML_NKINDS) {
			fail(r, SWB_EINVAL, "unknown verb <%.30s>", name);
			return;
		}
		if (!(f = push(r, ROLE_VERB, name)))
			return;
		v = add_verb(r, kind, f);
		break;
	case ROLE_VERB:
		if (pv->kind == TWIML_GATHER && (kind == TWIML_SAY || kind == TWIML_PLAY || kind == TWIML_PAUSE)) {
			if (!(f = push(r, ROLE_CHILD, name)))
				return;
			v = add_child(r, parent, kind, f);
		} else if (pv->kind == TWIML_ENQUEUE && strcmp(name, "Task") == 0) {
			if (pv->task) {
				fail(r, SWB_EINVAL, "<Enqueue> takes one <Task>");
				return;
			}
			if (!push(r, ROLE_TASK, name))
				return;
			for (const XML_Char **a = attrs; a[0] && !r->failed; a += 2)
				task_attr(r, frame_verb(r, parent), a[0], a[1]);
			return;
		} else if (pv->kind == TWIML_DIAL && strcmp(name, "Queue") == 0) {
			if (pv->reservation_sid) {
				fail(r, SWB_EINVAL, "<Dial> takes one <Queue>");
				return;
			}
			if (!push(r, ROLE_QUEUE, name))
				return;
			for (const XML_Char **a = attrs; a[0] && !r->failed; a += 2)
				queue_attr(r, frame_verb(r, parent), a[0], a[1]);
			if (!r->failed && !frame_verb(r, parent)->reservation_sid)
				fail(r, SWB_EINVAL, "<Queue> needs reservationSid (plain named queues are not simulated)");
			return;
		} else if (pv->kind == TWIML_DIAL) {
			fail(r, SWB_EINVAL, "<Dial><%.30s> is not simulated (only <Queue reservationSid>)", name);
			return;
		} else if (pv->kind == TWIML_SAY) {
			push(r, ROLE_SSML, name);
			return;
		} else {
			fail(r, SWB_EINVAL, "<%s> cannot contain <%.30s>", kind_names[pv->kind], name);
			return;
		}
		break;
	case ROLE_CHILD:
		if (pv->kind == TWIML_SAY) {
			push(r, ROLE_SSML, name);
			return;
		}
		fail(r, SWB_EINVAL, "<%s> cannot contain <%.30s>", kind_names[pv->kind], name);
		return;
	case ROLE_SSML:
		push(r, ROLE_SSML, name);
		return;
	case ROLE_TASK:
	case ROLE_QUEUE:
		fail(r, SWB_EINVAL, "<%s> cannot contain <%.30s>", parent->name, name);
		return;
	}
	for (const XML_Char **a = attrs; a[0] && !r->failed; a += 2)
		verb_attr(r, v, a[0], a[1]);
}

/* Where text in frame f goes: its own buffer, or the <Say> an SSML element sits in. */
static struct frame *text_owner(struct reader *r, int i)
{
	while (i > 0 && r->stack[i].role == ROLE_SSML)
		i--;
	return &r->stack[i];
}

static bool takes_text(struct reader *r, const struct frame *f)
{
	if (f->role == ROLE_TASK || f->role == ROLE_QUEUE)
		return true;
	const struct twiml_verb *v = frame_verb(r, f);
	return v && (v->kind == TWIML_SAY || v->kind == TWIML_PLAY || v->kind == TWIML_REDIRECT ||
		     v->kind == TWIML_ENQUEUE);
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

static void on_text(void *ud, const XML_Char *s, int n)
{
	struct reader *r = ud;
	if (r->failed || r->depth == 0 || n <= 0)
		return;
	struct frame *f = text_owner(r, r->depth - 1);
	if (!takes_text(r, f)) {
		if (!blank(s, (size_t)n))
			fail(r, SWB_EINVAL, "text is not allowed in <%s>", f->name);
		return;
	}
	if (f->len + (size_t)n > TWIML_MAX_BYTES) {
		fail(r, SWB_ETOOBIG, "<%s>: text longer than %d bytes", f->name, TWIML_MAX_BYTES);
		return;
	}
	if (f->len + (size_t)n + 1 > f->cap) {
		f->cap = (f->len + (size_t)n + 1) * 2;
		f->text = realloc(f->text, f->cap);
		if (!f->text)
			abort();
	}
	memcpy(f->text + f->len, s, (size_t)n);
	f->len += (size_t)n;
	f->text[f->len] = '\0';
}

/* The frame's text without surrounding white space, as a new string. */
static char *trimmed(const struct frame *f)
{
	const char *s = f->text ? f->text : "";
	size_t n = f->len;
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	char *t = malloc(n + 1);
	if (!t)
		abort();
	memcpy(t, s, n);
	t[n] = '\0';
	return t;
}

static void finish_verb(struct reader *r, struct frame *f, struct twiml_verb *v)
{
	if (!takes_text(r, f))
		return;
	v->text = trimmed(f);
	size_t n = strlen(v->text);
	const char *el = kind_names[v->kind];
	if ((v->kind == TWIML_PLAY || v->kind == TWIML_REDIRECT) && n == 0)
		fail(r, SWB_EINVAL, "<%s> needs a URL", el);
	else if (v->kind != TWIML_ENQUEUE && n > TWIML_MAX_TEXT)
		fail(r, SWB_ETOOBIG, "<%s>: text longer than %d bytes", el, TWIML_MAX_TEXT);
	else if (v->kind == TWIML_ENQUEUE && n > 64)
		fail(r, SWB_EINVAL, "<Enqueue>: a queue name is at most 64 characters");
	else if (v->kind == TWIML_ENQUEUE && !v->workflow_sid)
		fail(r, SWB_EINVAL, "<Enqueue> needs workflowSid (plain named queues are not simulated)");
	else if (v->kind == TWIML_ENQUEUE && v->workflow_sid[0] == '\0')
		fail(r, SWB_EINVAL, "<Enqueue workflowSid>: must not be empty");
}

static void finish_task(struct reader *r, struct frame *f)
{
	struct twiml_verb *enq = &r->doc->verbs[r->stack[r->depth - 1].idx];
	char *text = trimmed(f);
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!j) {
		fail(r, SWB_EINVAL, "<Task>: not JSON (%s)", je.text);
		return;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		fail(r, SWB_EINVAL, "<Task>: the attributes must be a JSON object");
		return;
	}
	enq->task = j;
}

static void on_end(void *ud, const XML_Char *name)
{
	struct reader *r = ud;
	(void)name;
	if (r->failed || r->depth == 0)
		return;
	struct frame *f = &r->stack[--r->depth];
	if (f->role == ROLE_VERB || f->role == ROLE_CHILD) {
		struct twiml_verb *v = frame_verb(r, f);
		finish_verb(r, f, v);
		if (!r->failed && v->kind == TWIML_DIAL && !v->reservation_sid)
			fail(r, SWB_EINVAL, "<Dial> without <Queue reservationSid> is not simulated");
	} else if (f->role == ROLE_TASK) {
		finish_task(r, f);
	}
	free(f->text);
	f->text = NULL;
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sys, const XML_Char *pub, int internal)
{
	(void)name, (void)sys, (void)pub, (void)internal;
	fail(ud, SWB_EINVAL, "a DOCTYPE is not allowed in TwiML");
}

/* ---- entry points ---- */

enum swb_code twiml_parse(const char *xml, size_t len, struct twiml_doc **out, struct swb_err *err)
{
	if (len > TWIML_MAX_BYTES)
		return swb_err_set(err, SWB_ETOOBIG, "the document is %zu bytes; TwiML is at most %d", len,
				   TWIML_MAX_BYTES);
	struct reader r = { .err = err };
	r.doc = calloc(1, sizeof *r.doc);
	r.p = XML_ParserCreate(NULL);
	if (!r.doc || !r.p)
		abort();
	XML_SetUserData(r.p, &r);
	XML_SetElementHandler(r.p, on_start, on_end);
	XML_SetCharacterDataHandler(r.p, on_text);
	XML_SetStartDoctypeDeclHandler(r.p, on_doctype);
	XML_SetParamEntityParsing(r.p, XML_PARAM_ENTITY_PARSING_NEVER);
	enum XML_Status st = XML_Parse(r.p, xml ? xml : "", (int)len, XML_TRUE);
	if (st != XML_STATUS_OK && !r.failed) {
		r.rc = SWB_EINVAL;
		swb_err_set(err, SWB_EINVAL, "line %lu: %s", (unsigned long)XML_GetCurrentLineNumber(r.p),
			    XML_ErrorString(XML_GetErrorCode(r.p)));
	}
	for (int i = 0; i < MAX_DEPTH; i++)
		free(r.stack[i].text);
	XML_ParserFree(r.p);
	if (st != XML_STATUS_OK || r.failed) {
		twiml_free(r.doc);
		return r.rc ? r.rc : SWB_EINVAL;
	}
	*out = r.doc;
	return SWB_OK;
}

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

static json_t *dump_verb(const struct twiml_verb *v)
{
	json_t *o = json_pack("{s:s}", "verb", kind_names[v->kind]);
	switch (v->kind) {
	case TWIML_SAY:
		set_str(o, "text", v->text);
		json_object_set_new(o, "loop", json_integer(v->loop));
		break;
	case TWIML_PLAY:
		set_str(o, "url", v->text);
		json_object_set_new(o, "loop", json_integer(v->loop));
		break;
	case TWIML_PAUSE:
		json_object_set_new(o, "length", json_integer(v->length));
		break;
	case TWIML_GATHER: {
		char key[2] = { v->finish_on_key, '\0' };
		set_str(o, "action", v->action);
		set_str(o, "method", v->method ? v->method : "POST");
		json_object_set_new(o, "num_digits", json_integer(v->num_digits));
		json_object_set_new(o, "finish_on_key", json_string(key));
		json_object_set_new(o, "timeout", json_integer(v->timeout));
		json_object_set_new(o, "action_on_empty_result", json_boolean(v->action_on_empty));
		json_t *kids = json_array();
		for (size_t i = 0; i < v->nchildren; i++)
			json_array_append_new(kids, dump_verb(&v->children[i]));
		json_object_set_new(o, "children", kids);
		break;
	}
	case TWIML_REDIRECT:
		set_str(o, "url", v->text);
		set_str(o, "method", v->method ? v->method : "POST");
		break;
	case TWIML_ENQUEUE:
		set_str(o, "name", v->text);
		set_str(o, "workflow_sid", v->workflow_sid);
		set_str(o, "action", v->action);
		set_str(o, "method", v->method ? v->method : "POST");
		set_str(o, "wait_url", v->wait_url);
		set_str(o, "wait_method", v->wait_method ? v->wait_method : "POST");
		if (v->task)
			json_object_set(o, "task", v->task);
		if (v->has_priority)
			json_object_set_new(o, "priority", json_integer(v->priority));
		if (v->has_task_timeout)
			json_object_set_new(o, "timeout", json_integer(v->task_timeout));
		break;
	case TWIML_DIAL:
		set_str(o, "reservation_sid", v->reservation_sid);
		set_str(o, "post_work_activity_sid", v->post_work_activity_sid);
		set_str(o, "action", v->action);
		set_str(o, "method", v->method ? v->method : "POST");
		json_object_set_new(o, "timeout", json_integer(v->timeout));
		break;
	case TWIML_HANGUP:
	case TWIML_LEAVE:
	case TWIML_NKINDS:
		break;
	}
	return o;
}

json_t *twiml_dump(const struct twiml_doc *doc)
{
	json_t *arr = json_array();
	for (size_t i = 0; doc && i < doc->nverbs; i++)
		json_array_append_new(arr, dump_verb(&doc->verbs[i]));
	return arr;
}

/* ---- templates ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool over;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->over || b->len + n > TWIML_MAX_BYTES) {
		b->over = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void put_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': put(b, "&amp;", 5); break;
		case '<': put(b, "&lt;", 4); break;
		case '>': put(b, "&gt;", 4); break;
		case '"': put(b, "&quot;", 6); break;
		case '\'': put(b, "&apos;", 6); break;
		default: put(b, s, 1); break;
		}
	}
}

/* Length of "{{ Name }}" at s when it is a template placeholder (name copied to name), else 0. */
static size_t placeholder(const char *s, char *name, size_t namelen)
{
	if (s[0] != '{' || s[1] != '{')
		return 0;
	const char *p = s + 2;
	while (*p == ' ')
		p++;
	size_t n = 0;
	while (isalnum((unsigned char)p[n]) || p[n] == '_')
		n++;
	if (n == 0 || n >= namelen)
		return 0;
	memcpy(name, p, n);
	name[n] = '\0';
	p += n;
	while (*p == ' ')
		p++;
	if (p[0] != '}' || p[1] != '}')
		return 0;
	return (size_t)(p + 2 - s);
}

char *twiml_expand(const char *src, json_t *params, struct swb_err *err)
{
	struct buf b = { 0 };
	put(&b, "", 0);
	for (const char *s = src; *s && !b.over;) {
		char name[64];
		size_t n = placeholder(s, name, sizeof name);
		if (n) {
			json_t *v = json_object_get(params, name);
			char num[32];
			if (json_is_string(v))
				put_escaped(&b, json_string_value(v));
			else if (json_is_integer(v)) {
				snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
				put(&b, num, strlen(num));
			}
			s += n;
			continue;
		}
		const char *next = strstr(s + 1, "{{");
		size_t run = next ? (size_t)(next - s) : strlen(s);
		put(&b, s, run);
		s += run;
	}
	if (b.over) {
		free(b.p);
		swb_err_set(err, SWB_ETOOBIG, "the expanded document is larger than %d bytes", TWIML_MAX_BYTES);
		return NULL;
	}
	return b.p;
}
