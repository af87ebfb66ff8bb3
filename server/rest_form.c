/*
 * rest_form.c - application/x-www-form-urlencoded decoding and query-string
 * encoding for the REST API (see rest_form.h).
 */
#include "rest_form.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *rest_form_unescape(const char *s, size_t len, bool plus_is_space, size_t *outlen)
{
	char *out = malloc(len + 1);
	if (!out)
		abort();
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int hi = i + 1 < len ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(out);
				return NULL;
			}
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (c == '\0') {
			free(out);
			return NULL;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return out;
}

/* Adds value under name, turning a repeated name into an array. Steals value. */
static void add_value(json_t *obj, const char *name, json_t *value)
{
	json_t *old = json_object_get(obj, name);
	if (!old)
		json_object_set_new(obj, name, value);
	else if (json_is_array(old))
		json_array_append_new(old, value);
	else
		json_object_set_new(obj, name, json_pack("[O, o]", old, value));
}

enum swb_code rest_form_decode(const char *body, size_t len, json_t **out, struct swb_err *err)
{
	json_t *obj = json_object();
	size_t pairs = 0, pos = 0;
	while (pos < len) {
		const char *seg = body + pos;
		const char *amp = memchr(seg, '&', len - pos);
		size_t seglen = amp ? (size_t)(amp - seg) : len - pos;
		pos += seglen + (amp ? 1 : 0);
		if (seglen == 0)
			continue;
		if (++pairs > REST_FORM_MAX_PAIRS) {
			json_decref(obj);
			return swb_err_set(err, SWB_EINVAL, "the form body has more than %d parameters", REST_FORM_MAX_PAIRS);
		}
		const char *eq = memchr(seg, '=', seglen);
		size_t nlen = eq ? (size_t)(eq - seg) : seglen;
		size_t name_len, value_len;
		char *name = rest_form_unescape(seg, nlen, true, &name_len);
		char *value = rest_form_unescape(eq ? eq + 1 : "", eq ? seglen - nlen - 1 : 0, true, &value_len);
		const char *problem = NULL;
		if (!name || !value)
			problem = "a bad percent escape (or an encoded NUL byte)";
		else if (name_len == 0)
			problem = "an empty parameter name";
		else if (name_len > REST_FORM_NAME_MAX)
			problem = "a parameter name that is too long";
		json_t *jv = NULL;
		if (!problem) {
			json_t *probe = json_stringn(name, name_len);
			jv = json_stringn(value, value_len);
			if (!probe)
				problem = "a parameter name that is not UTF-8";
			else if (!jv)
				problem = "a value that is not UTF-8";
			json_decref(probe);
		}
		if (problem) {
			json_decref(jv);
			swb_err_set(err, SWB_EINVAL, "malformed form body: %s in parameter %zu", problem, pairs);
			free(name);
			free(value);
			json_decref(obj);
			return SWB_EINVAL;
		}
		add_value(obj, name, jv);
		free(name);
		free(value);
	}
	*out = obj;
	return SWB_OK;
}

void rest_buf_add(struct rest_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns)
			abort();
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void rest_buf_addf(struct rest_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[256];
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		rest_buf_add(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big)
		abort();
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rest_buf_add(b, big, (size_t)n);
	free(big);
}

void rest_form_escape(struct rest_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~') {
			rest_buf_add(b, (const char *)p, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			rest_buf_add(b, e, 3);
		}
	}
}

void rest_form_append(struct rest_buf *b, const char *name, const char *value)
{
	if (b->len && b->s[b->len - 1] != '?')
		rest_buf_add(b, "&", 1);
	rest_form_escape(b, name);
	rest_buf_add(b, "=", 1);
	rest_form_escape(b, value);
}
