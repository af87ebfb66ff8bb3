/*
 * fuzz_form.c - libFuzzer target for server/rest_form.c: arbitrary bytes as a
 * form body (the REST API's POST bodies come straight from the network).
 *
 * Whatever decodes must hold only strings or arrays of strings with non-empty,
 * NUL-free names, within the pair limit; and encoding every pair again and
 * decoding that must give back the same object (the encoder is what builds the
 * API's paging URLs).
 *
 * Build: cmake -DSWB_FUZZ=ON -DCMAKE_C_COMPILER=clang ... && make fuzz_form
 *    or: clang -fsanitize=fuzzer,address,undefined -I server -I common tests/fuzz/fuzz_form.c
 *        server/rest_form.c common/swb_error.c -ljansson -o /tmp/fuzz_form
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rest_form.h"

static void check_value(json_t *v)
{
	if (!json_is_string(v))
		abort();
	if (strlen(json_string_value(v)) != json_string_length(v))
		abort(); /* a NUL byte got through */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *o = NULL;
	struct swb_err err;
	if (rest_form_decode((const char *)data, size, &o, &err) != SWB_OK) {
		if (o || err.code != SWB_EINVAL || !err.msg[0])
			abort();
		return 0;
	}
	struct rest_buf b = { 0 };
	size_t pairs = 0;
	const char *name;
	json_t *v;
	json_object_foreach(o, name, v) {
		if (!*name || strlen(name) > REST_FORM_NAME_MAX)
			abort();
		if (json_is_array(v)) {
			if (json_array_size(v) < 2)
				abort();
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e) {
				check_value(e);
				rest_form_append(&b, name, json_string_value(e));
				pairs++;
			}
		} else {
			check_value(v);
			rest_form_append(&b, name, json_string_value(v));
			pairs++;
		}
	}
	if (pairs > REST_FORM_MAX_PAIRS)
		abort();
	json_t *again = NULL;
	if (rest_form_decode(b.s ? b.s : "", b.len, &again, &err) != SWB_OK || !json_equal(o, again))
		abort();
	json_decref(again);
	json_decref(o);
	free(b.s);
	return 0;
}
