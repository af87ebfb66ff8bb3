/*
 * fuzz_twiml.c - libFuzzer target for server/twiml.c, the reader of TwiML that
 * voice webhooks (outside input) answer with.
 *
 * Each input is parsed as a document; what parses is dumped (walking every
 * verb, child and task) and freed. The input is also run through the template
 * expander with a few parameters, and the expansion parsed, since inline
 * documents reach the reader that way. A failure must always say why.
 * Seeds: tests/fuzz/seeds/twiml (scripts/fuzz uses them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "twiml.h"

static void parse_one(const char *text, size_t len)
{
	struct twiml_doc *doc = NULL;
	struct swb_err err = { 0 };
	if (twiml_parse(text, len, &doc, &err) != SWB_OK) {
		if (doc || err.msg[0] == '\0')
			abort(); /* a failure leaves *out alone and says why */
		return;
	}
	json_t *dump = twiml_dump(doc);
	if (!json_is_array(dump) || json_array_size(dump) != doc->nverbs)
		abort();
	json_decref(dump);
	twiml_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_one((const char *)data, size);
	char *src = malloc(size + 1);
	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	json_t *params = json_pack("{s:s, s:s, s:i}", "Digits", "1#", "From", "<&'\">", "QueueTime", 3);
	struct swb_err err;
	char *expanded = twiml_expand(src, params, &err);
	if (expanded) {
		parse_one(expanded, strlen(expanded));
		free(expanded);
	}
	json_decref(params);
	free(src);
	return 0;
}
