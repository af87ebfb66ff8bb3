/*
 * rest_internal.h - what the REST module's files share: rest.c (entry,
 * authentication, the route table, errors, paging), rest_map.c (resources:
 * TaskRouter representations with url and links, and the handlers that map
 * routes to core ops) and rest_stats.c (statistics). All run on the routing
 * thread.
 */
#ifndef SWB_REST_INTERNAL_H
#define SWB_REST_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "http_modules.h"
#include "rest_form.h"

#define REST_MAX_SEGS 8     /* /v1/Workspaces/WS/Workers/WK/Reservations/WR is 6 */
#define REST_BASE_MAX 300   /* "http://" + the --http address */
#define REST_PAGE_SIZE_MAX 1000
#define REST_PAGE_SIZE_DEFAULT 50

/* How a parameter's value is checked and handed to the op. */
enum rest_ptype {
	P_STR,         /* a string, passed as is */
	P_INT,         /* a decimal integer, passed as a JSON integer */
	P_BOOL,        /* true/false (any case, or 1/0), passed as a JSON boolean */
	P_JSON,        /* a JSON document in a string (Attributes, Configuration), passed as the string */
	P_LIST,        /* may repeat; passed as an array of strings */
	P_DATE,        /* ISO 8601 (2026-11-26T00:00:00Z or 2026-11-26), passed as the string */
	P_FALSE_ONLY,  /* a boolean Switchboard only supports as false; not passed on */
	P_UNSUPPORTED, /* a Twilio parameter Switchboard does not implement: 400 */
	P_LOCAL,       /* read by the handler itself (from r->params); not passed on */
};

struct rest_param {
	const char *name; /* PascalCase, as on the wire */
	const char *arg;  /* snake_case op argument */
	enum rest_ptype type;
};

enum rest_kind {
	K_NONE,
	K_WORKSPACE,
	K_ACTIVITY,
	K_CHANNEL,
	K_WORKER,
	K_WORKER_CHANNEL,
	K_QUEUE,
	K_WORKFLOW,
	K_TASK,
	K_RES_TASK,   /* a reservation seen under its task */
	K_RES_WORKER, /* a reservation seen under its worker */
	K_EVENT,
};

struct rest_req;
struct rest_route;

/* A handler: on SWB_OK *body is the answer (NULL: an empty 204), else err says why. */
typedef enum swb_code (*rest_fn)(struct rest_req *r, json_t **body, struct swb_err *err);

struct rest_route {
	const char *pattern;  /* segments joined by '/'; a segment "*" is a path parameter (a SID or name) */
	const char *method;   /* GET, POST or DELETE */
	int status;           /* on success: 200, 201 or 204 */
	rest_fn fn;
	const char *op;       /* the core op, for the generic handlers */
	const char *parent;   /* the op argument the third path parameter fills (worker_sid...), or NULL */
	enum rest_kind kind;  /* what the answer holds, for url and links */
	bool list;            /* takes Page, PageSize, PageToken */
	bool json_body;       /* POST body is JSON (bulk statistics), not a form */
	const struct rest_param *params;
};

struct rest_req {
	struct node *n;
	struct swb_http_msg *m;
	const struct rest_route *route;
	struct swb_actor actor;
	struct swb_token_claims claims;   /* our token's claims (worker_sid storage) */
	char token_ws[SWB_SID_SIZE];      /* the one workspace a token allows: an Access Token's, a worker's ("" any) */
	char token_worker[SWB_SID_SIZE];  /* a worker token's worker (actor.worker_sid points here) */
	struct wspace *w;                 /* the workspace in the path, or NULL */
	char *segbuf;
	const char *seg[REST_MAX_SEGS];
	size_t nseg;
	json_t *params;                   /* validated wire parameters (owned) */
	json_t *args;                     /* the op's arguments, mapped (owned) */
	json_t *body_json;                /* a JSON body (owned), for json_body routes */
	long long page, page_size;
	char base[REST_BASE_MAX];         /* "http://127.0.0.1:7412" */
};

/* rest.c */
/* node_exec as the request's actor; strips the "op: " prefix from err's message. */
enum swb_code rest_exec(struct rest_req *r, const char *op, json_t *args, json_t **res, struct swb_err *err);
/* node_exec as the system (reads behind aggregates, after the caller's scope was checked); steals
 * args, returns a new reference or NULL. */
json_t *rest_sys_get(struct wspace *w, const char *op, json_t *args);
/* Every item of a list op (all pages) as the system; steals args. */
json_t *rest_sys_list_all(struct wspace *w, const char *op, const char *key, json_t *args);
/* An absolute URL: base + "/v1/" + the formatted path. New reference. */
json_t *rest_url(const struct rest_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* true/false in any case, or 1/0, into *out; false when s is neither. */
bool rest_parse_bool(const char *s, bool *out);
/* The string value of wire parameter name, or NULL. */
const char *rest_param(const struct rest_req *r, const char *name);
/* Wraps a list result {key: [...], meta: {page, page_size, total, key}} in Twilio's meta. Steals res. */
json_t *rest_list_answer(struct rest_req *r, json_t *res);
/* Pages items (stolen) the way the core does: {key: [...], meta: {page, page_size, total, key}}. */
json_t *rest_page(struct rest_req *r, json_t *items, const char *key);
/* Scope checks for routes that are not a single core op. */
enum swb_code rest_need_supervisor(const struct rest_req *r, struct swb_err *err);
enum swb_code rest_need_admin(const struct rest_req *r, struct swb_err *err);

/* rest_map.c */
/* Every route, ending with a zeroed entry; routes of one path are adjacent, literal paths first. */
extern const struct rest_route rest_routes[];
/* Adds url and links to one representation (borrowed, changed in place); in_list: attributes null. */
void rest_decorate(struct rest_req *r, enum rest_kind kind, json_t *item, bool in_list);

/* rest_stats.c: handlers for the Statistics routes (contract: rest_fn) */
enum swb_code rest_stats_workspace(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_workspace_rt(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_workspace_cum(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_queue(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_queue_rt(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_queue_cum(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_queues_list(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_queues_bulk(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_workflow(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_workflow_rt(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_workflow_cum(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_workers(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_workers_rt(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_workers_cum(struct rest_req *r, json_t **body, struct swb_err *err);
enum swb_code rest_stats_worker(struct rest_req *r, json_t **body, struct swb_err *err);

#endif
