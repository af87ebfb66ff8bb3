/*
 * twiml.h - the TwiML reader: a voice document (as a number's webhook answers,
 * or as written inline in the workspace file) parsed with expat into a list of
 * verbs the call engine (calls.c) can run.
 *
 * The subset is what the <Enqueue> flow needs: <Say>, <Play>, <Pause>,
 * <Gather> (holding Say, Play, Pause), <Redirect>, <Hangup>, <Enqueue> with
 * its <Task> noun, <Leave> (in a waitUrl document) and <Dial> with one
 * <Queue reservationSid> noun (on a worker's leg, after the `call` assignment
 * instruction). Anything else, a DTD, text outside a verb, or a bad attribute
 * value is an error with a message naming the element; unknown attributes are
 * ignored, as Twilio does. Everything is checked against fixed limits before
 * it is stored.
 *
 * Also here: TwiML Bin style templates ({{Digits}} is replaced by the request
 * parameter, XML-escaped) for inline documents.
 */
#ifndef SWB_TWIML_H
#define SWB_TWIML_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "swb_error.h"

#define TWIML_MAX_BYTES (64 * 1024) /* Twilio refuses TwiML documents over 64 KB */
#define TWIML_MAX_VERBS 256         /* verbs and nouns in one document */
#define TWIML_MAX_TEXT 4096         /* <Say> text (Twilio's limit), URLs, <Task> JSON */
#define TWIML_MAX_DIGITS 64         /* numDigits */
#define TWIML_MAX_SECONDS 14400     /* any length or timeout: four hours */

/* Every element the reader knows: kind, element name. One list, so names cannot drift. */
#define TWIML_ELEMENTS(X)      \
	X(SAY, "Say")          \
	X(PLAY, "Play")        \
	X(PAUSE, "Pause")      \
	X(GATHER, "Gather")    \
	X(REDIRECT, "Redirect") \
	X(HANGUP, "Hangup")    \
	X(ENQUEUE, "Enqueue")  \
	X(LEAVE, "Leave")      \
	X(DIAL, "Dial")

enum twiml_kind {
#define TWIML_KIND_ENUM(k, name) TWIML_##k,
	TWIML_ELEMENTS(TWIML_KIND_ENUM)
#undef TWIML_KIND_ENUM
	TWIML_NKINDS
};

/* One verb. Strings are owned by the document; NULL when the attribute is absent. */
struct twiml_verb {
	enum twiml_kind kind;
	char *text;             /* Say: words; Play, Redirect: URL; Enqueue: queue name ("" when none) */
	int loop;               /* Say, Play: times to play; 0 means until the call moves on */
	int length;             /* Pause: seconds */
	int num_digits;         /* Gather: digits to collect (0: until finishOnKey or no more input) */
	char finish_on_key;     /* Gather: '#' by default; '\0' for none */
	int timeout;            /* Gather: seconds to wait for a first digit; Dial: ring time */
	bool action_on_empty;   /* Gather: request action even when no digits came */
	char *action, *method;  /* Gather, Enqueue, Dial: where to go next and how (GET/POST) */
	char *wait_url, *wait_method, *workflow_sid; /* Enqueue */
	json_t *task;           /* Enqueue: the <Task> JSON object (owned), or NULL */
	int priority, task_timeout;
	bool has_priority, has_task_timeout;
	char *reservation_sid;  /* Dial: the <Queue reservationSid> to connect */
	char *post_work_activity_sid; /* Dial: the <Queue postWorkActivitySid> */
	struct twiml_verb *children; /* Gather: the prompts it plays (Say, Play, Pause) */
	size_t nchildren;
};

struct twiml_doc {
	struct twiml_verb *verbs;
	size_t nverbs;
};

/* The element name of a kind ("Say"). */
const char *twiml_kind_name(enum twiml_kind k);

/*
 * Parses len bytes of xml. On success stores a new document in *out (free it
 * with twiml_free). On failure returns SWB_EINVAL (SWB_ETOOBIG over the limits)
 * with a message such as "line 3: unknown verb <Dial2>", and *out is untouched.
 */
enum swb_code twiml_parse(const char *xml, size_t len, struct twiml_doc **out, struct swb_err *err);

void twiml_free(struct twiml_doc *doc);

/* A JSON description of doc (a new reference), for tests and debug logs. */
json_t *twiml_dump(const struct twiml_doc *doc);

/*
 * Expands {{Name}} in src with the string value of params.Name (params is
 * borrowed), XML-escaped; a missing parameter expands to "". Other text is
 * copied as is. Returns a new NUL-terminated string (free it), or NULL with err
 * when the result would be larger than TWIML_MAX_BYTES.
 */
char *twiml_expand(const char *src, json_t *params, struct swb_err *err);

#endif
