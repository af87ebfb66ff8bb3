/*
 * expr.c - TaskRouter's expression language: lexer, recursive-descent parser
 * and evaluator for filter/target expressions, skip_if and order_by lists.
 *
 * Source text is compiled once into a small tree (struct node for the logic,
 * struct operand for values) and then evaluated many times against borrowed
 * jansson values; evaluation never allocates and never fails. AND/OR chains
 * are flat n-ary nodes, so recursion depth follows only the nesting of
 * parentheses and array literals, which the parser caps at
 * SWB_EXPR_MAX_DEPTH; input length is capped at SWB_EXPR_MAX_LEN.
 *
 * The semantics follow Twilio's "Using TaskRouter Expressions" and
 * "Ordering Workers" pages; expr.h states the contract.
 */
#define _GNU_SOURCE /* memmem */
#include "expr.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest array index accepted in a path (`a[123]`); far beyond any real attribute. */
#define EXPR_MAX_INDEX 1000000000u
/* Bytes of source quoted in "found ..." before it is cut with "...". */
#define EXPR_QUOTE_MAX 24
/* Significant digits kept from a real literal: a double holds no more. */
#define EXPR_SIG_DIGITS 17

/* ---- tokens ---------------------------------------------------------- */

enum tok_kind {
	T_END, T_BAD, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_COMMA,
	T_STRING, T_NUMBER, T_PATH,
	T_EQ, T_NE, T_LT, T_GT, T_LE, T_GE, T_ANDAND, T_OROR, T_BANG,
};

struct token {
	enum tok_kind kind;
	size_t start; /* byte offset of the lexeme in the source */
	size_t len;
};

/* Punctuation, longest first so "==" wins over "=". */
static const struct {
	const char *text;
	enum tok_kind kind;
} puncts[] = {
	{ "==", T_EQ }, { "!=", T_NE }, { "<=", T_LE }, { ">=", T_GE },
	{ "&&", T_ANDAND }, { "||", T_OROR },
	{ "=", T_EQ }, { "<", T_LT }, { ">", T_GT }, { "!", T_BANG },
	{ "(", T_LPAREN }, { ")", T_RPAREN }, { "[", T_LBRACK }, { "]", T_RBRACK },
	{ ",", T_COMMA },
};

enum kw {
	KW_NONE, KW_AND, KW_OR, KW_NOT, KW_IN, KW_HAS, KW_CONTAINS,
	KW_TRUE, KW_FALSE, KW_NULL, KW_ASC, KW_DESC, KW_COUNT
};

static const char *const kw_names[KW_COUNT] = {
	[KW_AND] = "AND", [KW_OR] = "OR", [KW_NOT] = "NOT", [KW_IN] = "IN",
	[KW_HAS] = "HAS", [KW_CONTAINS] = "CONTAINS", [KW_TRUE] = "TRUE",
	[KW_FALSE] = "FALSE", [KW_NULL] = "NULL", [KW_ASC] = "ASC", [KW_DESC] = "DESC",
};

/* ---- compiled form ----------------------------------------------------- */

enum op { OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE, OP_HAS, OP_IN, OP_NOT_IN, OP_CONTAINS };

enum root { ROOT_BARE, ROOT_TASK, ROOT_WORKER, ROOT_WORKERS };

struct seg {
	char *key;    /* object key, or NULL for an array index */
	size_t index;
};

struct path {
	enum root root; /* segs[0] names it; skipped when that root is present */
	size_t n;
	struct seg *segs;
};

enum operand_kind { OPD_CONST, OPD_PATH, OPD_LIST };

struct operand {
	enum operand_kind kind;
	json_t *value;          /* OPD_CONST (owned) */
	struct path path;       /* OPD_PATH */
	size_t n;               /* OPD_LIST */
	struct operand **items;
};

enum node_kind { N_AND, N_OR, N_NOT, N_CMP, N_TRUTH };

struct node {
	enum node_kind kind;
	size_t n;               /* N_AND, N_OR */
	struct node **kids;
	struct node *inner;     /* N_NOT */
	enum op op;             /* N_CMP */
	struct operand *lhs;    /* N_CMP, N_TRUTH */
	struct operand *rhs;    /* N_CMP */
};

struct swb_expr {
	struct node *root;
	char *source;
	bool always_true;
};

struct order_key {
	struct path path;
	bool desc;
};

struct swb_order {
	size_t n;
	struct order_key *keys;
};

struct parser {
	const char *src;
	size_t pos;       /* next byte to lex */
	struct token tok; /* current token */
	int depth;        /* open '(' and '[' */
	struct swb_err *err;
};

/* ---- freeing ----------------------------------------------------------- */

static void path_clear(struct path *pa)
{
	for (size_t i = 0; i < pa->n; i++)
		free(pa->segs[i].key);
	free(pa->segs);
	pa->segs = NULL;
	pa->n = 0;
}

static void operand_free(struct operand *o)
{
	if (!o)
		return;
	json_decref(o->value);
	path_clear(&o->path);
	for (size_t i = 0; i < o->n; i++)
		operand_free(o->items[i]);
	free(o->items);
	free(o);
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		node_free(n->kids[i]);
	free(n->kids);
	node_free(n->inner);
	operand_free(n->lhs);
	operand_free(n->rhs);
	free(n);
}

/* ---- errors ------------------------------------------------------------ */

static enum swb_code fail_oom(struct parser *p)
{
	return swb_err_set(p->err, SWB_ENOMEM, "out of memory compiling expression");
}

/* Writes src[0..len) to buf, quoted and cut, with bytes outside printable ASCII as \xNN. */
static void quote_bytes(const char *src, size_t len, char *buf, size_t size)
{
	size_t o = 0;
	size_t shown = len > EXPR_QUOTE_MAX ? EXPR_QUOTE_MAX : len;
	o += (size_t)snprintf(buf + o, size - o, "'");
	for (size_t i = 0; i < shown && o < size; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "%c", c);
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
	}
	if (o < size)
		snprintf(buf + o, size - o, "%s'", shown < len ? "..." : "");
}

/* Describes the byte at pos: "end of expression" or the quoted byte. */
static void describe_at(const struct parser *p, size_t pos, char *buf, size_t size)
{
	if (p->src[pos] == '\0')
		snprintf(buf, size, "end of expression");
	else
		quote_bytes(p->src + pos, 1, buf, size);
}

static void describe_tok(const struct parser *p, char *buf, size_t size)
{
	const struct token *t = &p->tok;
	if (t->kind == T_END) {
		snprintf(buf, size, "end of expression");
		return;
	}
	quote_bytes(p->src + t->start, t->len, buf, size);
	if (t->kind == T_BAD && p->src[t->start] == '-') {
		size_t o = strlen(buf);
		snprintf(buf + o, size - o, " (hyphens are not supported in names)");
	}
}

static enum swb_code fail_at(struct parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records "column N: <message>" for the byte offset at. */
static enum swb_code fail_at(struct parser *p, size_t at, const char *fmt, ...)
{
	char what[SWB_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return swb_err_set(p->err, SWB_EINVAL, "column %zu: %s", at + 1, what);
}

static enum swb_code fail_found(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Records "column N: <expected>, found <current token>". */
static enum swb_code fail_found(struct parser *p, const char *fmt, ...)
{
	char what[SWB_ERR_MSG_MAX];
	char found[EXPR_QUOTE_MAX * 4 + 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	describe_tok(p, found, sizeof found);
	return fail_at(p, p->tok.start, "%s, found %s", what, found);
}

/* ---- lexer ------------------------------------------------------------- */

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_start(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_ident_char(int c)
{
	return is_ident_start(c) || is_digit(c);
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* The keyword spelled by s[0..len) in any case, or KW_NONE. */
static enum kw keyword(const char *s, size_t len)
{
	for (int k = KW_NONE + 1; k < KW_COUNT; k++) {
		const char *name = kw_names[k];
		size_t i = 0;
		while (i < len && name[i] && ascii_upper(s[i]) == name[i])
			i++;
		if (i == len && name[i] == '\0')
			return (enum kw)k;
	}
	return KW_NONE;
}

static void set_tok(struct parser *p, enum tok_kind kind, size_t start, size_t len)
{
	p->tok.kind = kind;
	p->tok.start = start;
	p->tok.len = len;
}

static enum swb_code lex_string(struct parser *p, size_t i)
{
	char quote = p->src[i];
	size_t j = i + 1;
	while (p->src[j] && p->src[j] != quote)
		j++;
	if (!p->src[j])
		return fail_at(p, j, "expected a closing %c for the string that starts at column %zu, "
		               "found end of expression", quote, i + 1);
	set_tok(p, T_STRING, i, j + 1 - i);
	return SWB_OK;
}

static enum swb_code lex_number(struct parser *p, size_t i)
{
	const char *s = p->src;
	size_t j = i + (s[i] == '-');
	while (is_digit(s[j]))
		j++;
	if (s[j] == '.') {
		if (!is_digit(s[j + 1])) {
			char found[32];
			describe_at(p, j + 1, found, sizeof found);
			return fail_at(p, j + 1, "expected a digit after the decimal point, found %s", found);
		}
		j++;
		while (is_digit(s[j]))
			j++;
	}
	set_tok(p, T_NUMBER, i, j - i);
	return SWB_OK;
}

/* Lexes "[digits]" at j; stores the offset past ']' in *end. */
static enum swb_code lex_index(struct parser *p, size_t j, size_t *end)
{
	char found[32];
	size_t k = j + 1;
	if (!is_digit(p->src[k])) {
		describe_at(p, k, found, sizeof found);
		return fail_at(p, k, "expected an array index (0, 1, ...) after '[', found %s", found);
	}
	while (is_digit(p->src[k]))
		k++;
	if (p->src[k] != ']') {
		describe_at(p, k, found, sizeof found);
		return fail_at(p, k, "expected ']' after the array index, found %s", found);
	}
	*end = k + 1;
	return SWB_OK;
}

/* True for the keywords that join or compare, which an array literal may follow. */
static bool is_operator_kw(enum kw k)
{
	return k == KW_AND || k == KW_OR || k == KW_NOT || k == KW_IN || k == KW_HAS ||
	       k == KW_CONTAINS;
}

/*
 * A path: name { "." name | "[" digits "]" }. An operator keyword is never
 * indexed, so `x IN[1]` still reads as IN followed by an array.
 */
static enum swb_code lex_path(struct parser *p, size_t i)
{
	const char *s = p->src;
	size_t j = i;
	while (is_ident_char(s[j]))
		j++;
	bool lone = true;
	for (;;) {
		if (s[j] == '.') {
			if (!is_ident_char(s[j + 1])) {
				char found[32];
				describe_at(p, j + 1, found, sizeof found);
				return fail_at(p, j + 1, "expected an attribute name after '.', found %s", found);
			}
			j++;
			while (is_ident_char(s[j]))
				j++;
		} else if (s[j] == '[' && !(lone && is_operator_kw(keyword(s + i, j - i)))) {
			enum swb_code rc = lex_index(p, j, &j);
			if (rc)
				return rc;
		} else {
			break;
		}
		lone = false;
	}
	set_tok(p, T_PATH, i, j - i);
	return SWB_OK;
}

static void lex_punct(struct parser *p, size_t i)
{
	for (size_t k = 0; k < sizeof puncts / sizeof puncts[0]; k++) {
		size_t len = strlen(puncts[k].text);
		if (strncmp(p->src + i, puncts[k].text, len) == 0) {
			set_tok(p, puncts[k].kind, i, len);
			return;
		}
	}
	set_tok(p, T_BAD, i, 1);
}

/* Reads the next token into p->tok. */
static enum swb_code lex(struct parser *p)
{
	const char *s = p->src;
	size_t i = p->pos;
	while (is_space(s[i]))
		i++;
	unsigned char c = (unsigned char)s[i];
	enum swb_code rc = SWB_OK;
	if (c == '\0')
		set_tok(p, T_END, i, 0);
	else if (c == '\'' || c == '"')
		rc = lex_string(p, i);
	else if (is_digit(c) || (c == '-' && is_digit(s[i + 1])))
		rc = lex_number(p, i);
	else if (is_ident_start(c))
		rc = lex_path(p, i);
	else
		lex_punct(p, i);
	if (rc == SWB_OK)
		p->pos = p->tok.start + p->tok.len;
	return rc;
}

/* The keyword the current token spells, or KW_NONE (paths with '.' or '[' never are). */
static enum kw tok_kw(const struct parser *p)
{
	if (p->tok.kind != T_PATH)
		return KW_NONE;
	return keyword(p->src + p->tok.start, p->tok.len);
}

static bool at_kw(const struct parser *p, enum kw k)
{
	return tok_kw(p) == k;
}

/* The canonical spelling of the current keyword or punctuation token. */
static const char *tok_name(const struct parser *p)
{
	enum kw k = tok_kw(p);
	if (k != KW_NONE)
		return kw_names[k];
	for (size_t i = 0; i < sizeof puncts / sizeof puncts[0]; i++)
		if (puncts[i].kind == p->tok.kind && strlen(puncts[i].text) == p->tok.len)
			return puncts[i].text;
	return "?";
}

static enum swb_code parser_init(struct parser *p, const char *src, struct swb_err *err)
{
	memset(p, 0, sizeof *p);
	p->src = src;
	p->err = err;
	if (!src)
		return swb_err_set(err, SWB_EINVAL, "column 1: expected an expression, found nothing");
	if (strnlen(src, SWB_EXPR_MAX_LEN + 1) > SWB_EXPR_MAX_LEN)
		return fail_at(p, SWB_EXPR_MAX_LEN, "expression is longer than the limit of %d bytes",
		               SWB_EXPR_MAX_LEN);
	return lex(p);
}

/* Enters a '(' or '[' level, refusing to nest deeper than SWB_EXPR_MAX_DEPTH. */
static enum swb_code enter(struct parser *p)
{
	if (p->depth >= SWB_EXPR_MAX_DEPTH)
		return fail_at(p, p->tok.start, "expected at most %d levels of nested '(' and '['",
		               SWB_EXPR_MAX_DEPTH);
	p->depth++;
	return SWB_OK;
}

/* ---- parser: operands -------------------------------------------------- */

static struct operand *operand_new(enum operand_kind kind)
{
	struct operand *o = calloc(1, sizeof *o);
	if (o)
		o->kind = kind;
	return o;
}

static enum root root_of(const char *key)
{
	if (strcmp(key, "task") == 0)
		return ROOT_TASK;
	if (strcmp(key, "worker") == 0)
		return ROOT_WORKER;
	if (strcmp(key, "workers") == 0)
		return ROOT_WORKERS;
	return ROOT_BARE;
}

/* Fills seg from the lexeme piece at s (a name, or "[digits]"); *used gets its length. */
static enum swb_code seg_parse(struct parser *p, const char *s, struct seg *seg, size_t *used)
{
	size_t len = 0;
	if (s[0] != '[') {
		while (is_ident_char(s[len]))
			len++;
		seg->key = strndup(s, len);
		*used = len;
		return seg->key ? SWB_OK : fail_oom(p);
	}
	size_t index = 0;
	for (len = 1; is_digit(s[len]); len++) {
		index = index * 10 + (size_t)(s[len] - '0');
		if (index > EXPR_MAX_INDEX)
			return fail_at(p, (size_t)(s - p->src), "expected an array index of at most %u",
			               EXPR_MAX_INDEX);
	}
	seg->index = index;
	*used = len + 1;
	return SWB_OK;
}

/* Splits the current T_PATH token into segments. */
static enum swb_code path_parse(struct parser *p, struct path *pa)
{
	const char *s = p->src + p->tok.start;
	size_t len = p->tok.len;
	size_t n = 1;
	for (size_t i = 0; i < len; i++)
		n += s[i] == '.' || s[i] == '[';
	pa->segs = calloc(n, sizeof *pa->segs);
	if (!pa->segs)
		return fail_oom(p);
	size_t i = 0;
	while (pa->n < n) {
		i += s[i] == '.';
		size_t used = 0;
		enum swb_code rc = seg_parse(p, s + i, &pa->segs[pa->n++], &used);
		if (rc)
			return rc;
		i += used;
	}
	pa->root = root_of(pa->segs[0].key);
	return SWB_OK;
}

/* 10^e by repeated multiplication: exact up to 10^22, inf when far too large. */
static double pow10_of(int e)
{
	double p = 1;
	while (e-- > 0 && isfinite(p))
		p *= 10;
	return p;
}

/*
 * s[0..len) (an optional '-', digits, optional '.' digits) as a double. Up to
 * EXPR_SIG_DIGITS significant digits form the mantissa, so ordinary literals
 * such as 5.1 round as strtod would, without depending on the locale.
 */
static double parse_real(const char *s, size_t len)
{
	double m = 0;
	int sig = 0, exp10 = 0;
	bool fraction = false;
	for (size_t i = s[0] == '-'; i < len; i++) {
		if (s[i] == '.') {
			fraction = true;
		} else if (sig < EXPR_SIG_DIGITS) {
			m = m * 10 + (s[i] - '0');
			sig += m > 0;
			exp10 -= fraction;
		} else {
			exp10 += !fraction;
		}
	}
	m = exp10 >= 0 ? m * pow10_of(exp10) : m / pow10_of(-exp10);
	return s[0] == '-' ? -m : m;
}

/* s[0..len) as an integer; false when it has a fraction or does not fit. */
static bool parse_integer(const char *s, size_t len, json_int_t *out)
{
	bool neg = s[0] == '-';
	json_int_t v = 0;
	for (size_t i = neg; i < len; i++) {
		int d = s[i] - '0';
		if (s[i] == '.' || v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? -v : v;
	return true;
}

static enum swb_code const_operand(struct parser *p, json_t *value, struct operand **out)
{
	struct operand *o = value ? operand_new(OPD_CONST) : NULL;
	if (!o) {
		json_decref(value);
		return fail_oom(p);
	}
	o->value = value;
	*out = o;
	return SWB_OK;
}

static enum swb_code number_operand(struct parser *p, struct operand **out)
{
	const char *s = p->src + p->tok.start;
	json_int_t iv;
	if (parse_integer(s, p->tok.len, &iv))
		return const_operand(p, json_integer(iv), out);
	double dv = parse_real(s, p->tok.len);
	if (!isfinite(dv))
		return fail_found(p, "expected a number within the range of a double");
	return const_operand(p, json_real(dv), out);
}

static enum swb_code path_operand(struct parser *p, struct operand **out)
{
	struct operand *o = operand_new(OPD_PATH);
	if (!o)
		return fail_oom(p);
	enum swb_code rc = path_parse(p, &o->path);
	if (rc) {
		operand_free(o);
		return rc;
	}
	*out = o;
	return SWB_OK;
}

static enum swb_code operand_push(struct parser *p, struct operand *list, struct operand *item)
{
	struct operand **items = realloc(list->items, (list->n + 1) * sizeof *items);
	if (!items) {
		operand_free(item);
		return fail_oom(p);
	}
	list->items = items;
	list->items[list->n++] = item;
	return SWB_OK;
}

static enum swb_code parse_operand(struct parser *p, const char *after, struct operand **out);

/* "[" operand { "," operand } "]"; leaves the current token on the ']'. */
static enum swb_code list_operand(struct parser *p, struct operand **out)
{
	size_t open = p->tok.start;
	enum swb_code rc = enter(p);
	struct operand *list = rc ? NULL : operand_new(OPD_LIST);
	if (!rc && !list)
		rc = fail_oom(p);
	const char *after = "[";
	while (!rc) {
		struct operand *item = NULL;
		rc = lex(p);
		if (!rc)
			rc = parse_operand(p, after, &item);
		if (!rc)
			rc = operand_push(p, list, item);
		if (rc || p->tok.kind == T_RBRACK)
			break;
		if (p->tok.kind != T_COMMA)
			rc = fail_found(p, "expected ',' or ']' to close the '[' at column %zu", open + 1);
		after = ",";
	}
	if (rc) {
		operand_free(list);
		return rc;
	}
	p->depth--;
	*out = list;
	return SWB_OK;
}

/* Builds the operand the current token starts, without consuming its last token. */
static enum swb_code operand_at(struct parser *p, const char *after, struct operand **out)
{
	switch (p->tok.kind) {
	case T_STRING:
		return const_operand(p, json_stringn_nocheck(p->src + p->tok.start + 1, p->tok.len - 2), out);
	case T_NUMBER:
		return number_operand(p, out);
	case T_LBRACK:
		return list_operand(p, out);
	case T_PATH:
		switch (tok_kw(p)) {
		case KW_TRUE:
			return const_operand(p, json_true(), out);
		case KW_FALSE:
			return const_operand(p, json_false(), out);
		case KW_NULL:
			return const_operand(p, json_null(), out);
		case KW_NONE:
		case KW_ASC:
		case KW_DESC:
			return path_operand(p, out);
		default:
			break;
		}
		break;
	default:
		break;
	}
	if (after)
		return fail_found(p, "expected a value after '%s'", after);
	return fail_found(p, "expected a value");
}

/*
 * operand := string | number | true | false | null | array | path.
 * after names what came before, for the error ("expected a value after 'HAS'").
 */
static enum swb_code parse_operand(struct parser *p, const char *after, struct operand **out)
{
	struct operand *o = NULL;
	enum swb_code rc = operand_at(p, after, &o);
	if (!rc)
		rc = lex(p);
	if (rc) {
		operand_free(o);
		return rc;
	}
	*out = o;
	return SWB_OK;
}

/* ---- parser: logic ----------------------------------------------------- */

static struct node *node_new(enum node_kind kind)
{
	struct node *n = calloc(1, sizeof *n);
	if (n)
		n->kind = kind;
	return n;
}

static enum swb_code node_push(struct parser *p, struct node *list, struct node *kid)
{
	struct node **kids = realloc(list->kids, (list->n + 1) * sizeof *kids);
	if (!kids) {
		node_free(kid);
		return fail_oom(p);
	}
	list->kids = kids;
	list->kids[list->n++] = kid;
	return SWB_OK;
}

/* The comparison operator at the current token, if any ("NOT" starts "NOT IN"). */
static bool tok_op(const struct parser *p, enum op *op)
{
	static const enum op by_tok[] = {
		[T_EQ] = OP_EQ, [T_NE] = OP_NE, [T_LT] = OP_LT,
		[T_GT] = OP_GT, [T_LE] = OP_LE, [T_GE] = OP_GE,
	};
	if (p->tok.kind >= T_EQ && p->tok.kind <= T_GE) {
		*op = by_tok[p->tok.kind];
		return true;
	}
	switch (tok_kw(p)) {
	case KW_HAS: *op = OP_HAS; return true;
	case KW_IN: *op = OP_IN; return true;
	case KW_NOT: *op = OP_NOT_IN; return true;
	case KW_CONTAINS: *op = OP_CONTAINS; return true;
	default: return false;
	}
}

static bool at_joiner(const struct parser *p, enum node_kind kind)
{
	if (kind == N_OR)
		return p->tok.kind == T_OROR || at_kw(p, KW_OR);
	return p->tok.kind == T_ANDAND || at_kw(p, KW_AND);
}

/* After a lone value only AND, OR, ')' or the end may follow. */
static enum swb_code check_lone(struct parser *p)
{
	enum tok_kind k = p->tok.kind;
	if (k == T_END || k == T_RPAREN || at_joiner(p, N_AND) || at_joiner(p, N_OR))
		return SWB_OK;
	return fail_found(p, "expected an operator, AND or OR");
}

/* Reads the operator at the current token (known to be one) and the operand after it. */
static enum swb_code parse_rhs(struct parser *p, struct node *cmp)
{
	tok_op(p, &cmp->op);
	const char *name = cmp->op == OP_NOT_IN ? "NOT IN" : tok_name(p);
	enum swb_code rc = lex(p);
	if (!rc && cmp->op == OP_NOT_IN) {
		if (!at_kw(p, KW_IN))
			return fail_found(p, "expected IN after NOT");
		rc = lex(p);
	}
	if (!rc)
		rc = parse_operand(p, name, &cmp->rhs);
	return rc;
}

/* operand [ op operand ] */
static enum swb_code parse_comparison(struct parser *p, const char *after, struct node **out)
{
	struct node *n = node_new(N_TRUTH);
	if (!n)
		return fail_oom(p);
	enum swb_code rc = parse_operand(p, after, &n->lhs);
	enum op op;
	if (!rc && tok_op(p, &op)) {
		n->kind = N_CMP;
		rc = parse_rhs(p, n);
	} else if (!rc) {
		rc = check_lone(p);
	}
	if (rc) {
		node_free(n);
		return rc;
	}
	*out = n;
	return SWB_OK;
}

static enum swb_code parse_chain(struct parser *p, enum node_kind kind, const char *after,
                                 struct node **out);

/* "(" expr ")" */
static enum swb_code parse_group(struct parser *p, struct node **out)
{
	size_t open = p->tok.start;
	struct node *inner = NULL;
	enum swb_code rc = enter(p);
	if (!rc)
		rc = lex(p);
	if (!rc)
		rc = parse_chain(p, N_OR, "(", &inner);
	if (!rc && p->tok.kind != T_RPAREN)
		rc = fail_found(p, "expected AND, OR or ')' to close the '(' at column %zu", open + 1);
	if (!rc)
		rc = lex(p);
	if (rc) {
		node_free(inner);
		return rc;
	}
	p->depth--;
	*out = inner;
	return SWB_OK;
}

/* ["NOT" | "!"] primary, where NOT may only precede '('. */
static enum swb_code parse_unary(struct parser *p, const char *after, struct node **out)
{
	if (p->tok.kind == T_LPAREN)
		return parse_group(p, out);
	if (!at_kw(p, KW_NOT) && p->tok.kind != T_BANG)
		return parse_comparison(p, after, out);
	const char *name = tok_name(p);
	enum swb_code rc = lex(p);
	if (rc)
		return rc;
	if (p->tok.kind != T_LPAREN)
		return fail_found(p, "expected '(' after '%s'", name);
	struct node *n = node_new(N_NOT);
	if (!n)
		return fail_oom(p);
	rc = parse_group(p, &n->inner);
	if (rc) {
		node_free(n);
		return rc;
	}
	*out = n;
	return SWB_OK;
}

static enum swb_code parse_below(struct parser *p, enum node_kind kind, const char *after,
                                 struct node **out)
{
	if (kind == N_OR)
		return parse_chain(p, N_AND, after, out);
	return parse_unary(p, after, out);
}

/* or := and { OR and }; and := unary { AND unary }. A single term is returned as is. */
static enum swb_code parse_chain(struct parser *p, enum node_kind kind, const char *after,
                                 struct node **out)
{
	struct node *kid = NULL;
	enum swb_code rc = parse_below(p, kind, after, &kid);
	if (rc || !at_joiner(p, kind)) {
		*out = kid;
		return rc;
	}
	struct node *list = node_new(kind);
	if (!list) {
		node_free(kid);
		return fail_oom(p);
	}
	while (!rc && kid) {
		rc = node_push(p, list, kid);
		kid = NULL;
		if (rc || !at_joiner(p, kind))
			break;
		const char *name = tok_name(p);
		rc = lex(p);
		if (!rc)
			rc = parse_below(p, kind, name, &kid);
	}
	if (rc) {
		node_free(list);
		return rc;
	}
	*out = list;
	return SWB_OK;
}

/* ---- evaluation -------------------------------------------------------- */

/* A resolved operand: absent (missing or null), a JSON value, or an array literal. */
struct val {
	enum { V_NONE, V_JSON, V_LIST } kind;
	json_t *json;
	const struct operand *list;
};

static const swb_expr_ctx empty_ctx;

static json_t *seg_step(json_t *v, const struct seg *seg)
{
	if (seg->key)
		return json_is_object(v) ? json_object_get(v, seg->key) : NULL;
	return json_is_array(v) ? json_array_get(v, seg->index) : NULL;
}

/* The value a path names in ctx, or NULL. */
static json_t *path_resolve(const struct path *pa, const swb_expr_ctx *ctx)
{
	json_t *roots[] = {
		[ROOT_BARE] = NULL, [ROOT_TASK] = ctx->task,
		[ROOT_WORKER] = ctx->worker, [ROOT_WORKERS] = ctx->workers,
	};
	json_t *v = roots[pa->root];
	size_t i = 1;
	if (!v) {
		v = ctx->bare;
		i = 0;
	}
	for (; v && i < pa->n; i++)
		v = seg_step(v, &pa->segs[i]);
	return v;
}

static struct val resolve(const struct operand *o, const swb_expr_ctx *ctx)
{
	struct val v = { V_NONE, NULL, NULL };
	if (o->kind == OPD_LIST) {
		v.kind = V_LIST;
		v.list = o;
		return v;
	}
	v.json = o->kind == OPD_CONST ? o->value : path_resolve(&o->path, ctx);
	if (v.json && !json_is_null(v.json))
		v.kind = V_JSON;
	return v;
}

enum type_class { TC_NONE, TC_NUMBER, TC_STRING, TC_BOOL };

/* The scalar type of v; arrays, objects and absent values are TC_NONE. */
static enum type_class type_class(struct val v)
{
	if (v.kind != V_JSON)
		return TC_NONE;
	if (json_is_number(v.json))
		return TC_NUMBER;
	if (json_is_string(v.json))
		return TC_STRING;
	if (json_is_boolean(v.json))
		return TC_BOOL;
	return TC_NONE;
}

static int num_cmp(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);
		return (x > y) - (x < y);
	}
	double x = json_number_value(a), y = json_number_value(b);
	return (x > y) - (x < y);
}

static int str_cmp(const json_t *a, const json_t *b)
{
	size_t la = json_string_length(a), lb = json_string_length(b);
	int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
	if (c)
		return c;
	return (la > lb) - (la < lb);
}

/* Orders two scalars of one orderable type (numbers, strings); false otherwise. */
static bool scalar_order(struct val a, struct val b, int *out)
{
	enum type_class t = type_class(a);
	if (t != type_class(b))
		return false;
	if (t == TC_NUMBER)
		*out = num_cmp(a.json, b.json);
	else if (t == TC_STRING)
		*out = str_cmp(a.json, b.json);
	else
		return false;
	return true;
}

static bool scalar_eq(struct val a, struct val b)
{
	int c;
	if (scalar_order(a, b, &c))
		return c == 0;
	return type_class(a) == TC_BOOL && type_class(b) == TC_BOOL &&
	       json_is_true(a.json) == json_is_true(b.json);
}

static bool is_array(struct val v)
{
	return v.kind == V_LIST || (v.kind == V_JSON && json_is_array(v.json));
}

/* True when the array a holds an element equal to the scalar x. */
static bool array_has(struct val a, struct val x, const swb_expr_ctx *ctx)
{
	size_t n = a.kind == V_LIST ? a.list->n : json_array_size(a.json);
	for (size_t i = 0; i < n; i++) {
		struct val item;
		if (a.kind == V_LIST) {
			item = resolve(a.list->items[i], ctx);
		} else {
			json_t *j = json_array_get(a.json, i);
			item = (struct val){ json_is_null(j) ? V_NONE : V_JSON, j, NULL };
		}
		if (scalar_eq(item, x))
			return true;
	}
	return false;
}

static bool str_contains(struct val a, struct val b)
{
	if (type_class(a) != TC_STRING || type_class(b) != TC_STRING)
		return false;
	if (json_string_length(b.json) == 0)
		return true;
	return memmem(json_string_value(a.json), json_string_length(a.json),
	              json_string_value(b.json), json_string_length(b.json)) != NULL;
}

static bool eval_cmp(const struct node *n, const swb_expr_ctx *ctx)
{
	struct val l = resolve(n->lhs, ctx), r = resolve(n->rhs, ctx);
	int c = 0;
	switch (n->op) {
	case OP_EQ: return scalar_eq(l, r);
	case OP_NE: return type_class(l) != TC_NONE && type_class(l) == type_class(r) && !scalar_eq(l, r);
	case OP_LT: return scalar_order(l, r, &c) && c < 0;
	case OP_GT: return scalar_order(l, r, &c) && c > 0;
	case OP_LE: return scalar_order(l, r, &c) && c <= 0;
	case OP_GE: return scalar_order(l, r, &c) && c >= 0;
	case OP_CONTAINS: return str_contains(l, r);
	case OP_HAS: return is_array(l) && type_class(r) != TC_NONE && array_has(l, r, ctx);
	case OP_IN: return type_class(l) != TC_NONE && is_array(r) && array_has(r, l, ctx);
	case OP_NOT_IN: return type_class(l) != TC_NONE && is_array(r) && !array_has(r, l, ctx);
	}
	return false;
}

/* A lone value: true, a non-zero number or a non-empty string. */
static bool truthy(struct val v)
{
	switch (type_class(v)) {
	case TC_BOOL: return json_is_true(v.json);
	case TC_NUMBER: return json_number_value(v.json) != 0;
	case TC_STRING: return json_string_length(v.json) > 0;
	default: return false;
	}
}

static bool eval_node(const struct node *n, const swb_expr_ctx *ctx)
{
	switch (n->kind) {
	case N_AND:
		for (size_t i = 0; i < n->n; i++)
			if (!eval_node(n->kids[i], ctx))
				return false;
		return true;
	case N_OR:
		for (size_t i = 0; i < n->n; i++)
			if (eval_node(n->kids[i], ctx))
				return true;
		return false;
	case N_NOT:
		return !eval_node(n->inner, ctx);
	case N_CMP:
		return eval_cmp(n, ctx);
	case N_TRUTH:
		return truthy(resolve(n->lhs, ctx));
	}
	return false;
}

/* ---- constant folding (for swb_expr_is_always_true) -------------------- */

enum fold { FOLD_UNKNOWN, FOLD_FALSE, FOLD_TRUE };

static enum fold fold_node(const struct node *n);

static bool operand_is_const(const struct operand *o)
{
	if (o->kind == OPD_PATH)
		return false;
	for (size_t i = 0; i < o->n; i++)
		if (!operand_is_const(o->items[i]))
			return false;
	return true;
}

static enum fold fold_list(const struct node *n)
{
	enum fold stop = n->kind == N_AND ? FOLD_FALSE : FOLD_TRUE;
	enum fold rest = n->kind == N_AND ? FOLD_TRUE : FOLD_FALSE;
	for (size_t i = 0; i < n->n; i++) {
		enum fold f = fold_node(n->kids[i]);
		if (f == stop)
			return stop;
		if (f == FOLD_UNKNOWN)
			rest = FOLD_UNKNOWN;
	}
	return rest;
}

/* FOLD_TRUE/FALSE when n has that value in every context, else FOLD_UNKNOWN. */
static enum fold fold_node(const struct node *n)
{
	switch (n->kind) {
	case N_AND:
	case N_OR:
		return fold_list(n);
	case N_NOT: {
		enum fold f = fold_node(n->inner);
		return f == FOLD_UNKNOWN ? f : f == FOLD_TRUE ? FOLD_FALSE : FOLD_TRUE;
	}
	case N_CMP:
	case N_TRUTH:
		if (!operand_is_const(n->lhs) || (n->rhs && !operand_is_const(n->rhs)))
			return FOLD_UNKNOWN;
		return eval_node(n, &empty_ctx) ? FOLD_TRUE : FOLD_FALSE;
	}
	return FOLD_UNKNOWN;
}

/* ---- public: expressions ----------------------------------------------- */

enum swb_code swb_expr_compile(const char *src, swb_expr **out, struct swb_err *err)
{
	struct parser p;
	enum swb_code rc = parser_init(&p, src, err);
	if (rc)
		return rc;
	if (p.tok.kind == T_END)
		return fail_found(&p, "expected an expression");
	struct node *root = NULL;
	rc = parse_chain(&p, N_OR, NULL, &root);
	if (!rc && p.tok.kind != T_END)
		rc = fail_found(&p, "expected AND, OR or end of expression");
	swb_expr *e = rc ? NULL : calloc(1, sizeof *e);
	char *source = e ? strdup(src) : NULL;
	if (!rc && !source)
		rc = fail_oom(&p);
	if (rc) {
		free(e);
		node_free(root);
		return rc;
	}
	e->root = root;
	e->source = source;
	e->always_true = fold_node(root) == FOLD_TRUE;
	*out = e;
	return SWB_OK;
}

bool swb_expr_eval(const swb_expr *e, const swb_expr_ctx *ctx)
{
	if (!e)
		return false;
	return eval_node(e->root, ctx ? ctx : &empty_ctx);
}

bool swb_expr_is_always_true(const swb_expr *e)
{
	return e && e->always_true;
}

const char *swb_expr_source(const swb_expr *e)
{
	return e ? e->source : NULL;
}

void swb_expr_free(swb_expr *e)
{
	if (!e)
		return;
	node_free(e->root);
	free(e->source);
	free(e);
}

/* ---- public: order_by -------------------------------------------------- */

static enum swb_code order_push(struct parser *p, swb_order *o, struct order_key *key)
{
	struct order_key *keys = realloc(o->keys, (o->n + 1) * sizeof *keys);
	if (!keys) {
		path_clear(&key->path);
		return fail_oom(p);
	}
	o->keys = keys;
	o->keys[o->n++] = *key;
	return SWB_OK;
}

/* path [ASC | DESC], then ',' or the end. */
static enum swb_code parse_order_key(struct parser *p, const char *after, swb_order *o)
{
	enum kw k = tok_kw(p);
	if (p->tok.kind != T_PATH || k == KW_ASC || k == KW_DESC) {
		if (after)
			return fail_found(p, "expected an attribute path after '%s'", after);
		return fail_found(p, "expected an attribute path");
	}
	struct order_key key = { { ROOT_BARE, 0, NULL }, false };
	enum swb_code rc = path_parse(p, &key.path);
	if (!rc)
		rc = lex(p);
	bool direction = !rc && (at_kw(p, KW_ASC) || at_kw(p, KW_DESC));
	key.desc = direction && at_kw(p, KW_DESC);
	if (direction)
		rc = lex(p);
	if (!rc && p->tok.kind != T_COMMA && p->tok.kind != T_END)
		rc = direction ? fail_found(p, "expected ',' or end of expression")
		               : fail_found(p, "expected ASC, DESC, ',' or end of expression");
	if (rc) {
		path_clear(&key.path);
		return rc;
	}
	return order_push(p, o, &key);
}

enum swb_code swb_order_compile(const char *src, swb_order **out, struct swb_err *err)
{
	struct parser p;
	enum swb_code rc = parser_init(&p, src, err);
	if (rc)
		return rc;
	swb_order *o = calloc(1, sizeof *o);
	if (!o)
		return fail_oom(&p);
	rc = parse_order_key(&p, NULL, o);
	while (!rc && p.tok.kind == T_COMMA) {
		rc = lex(&p);
		if (!rc)
			rc = parse_order_key(&p, ",", o);
	}
	if (rc) {
		swb_order_free(o);
		return rc;
	}
	*out = o;
	return SWB_OK;
}

/* The number a path names in ctx; anything else (absent, string, ...) is NULL. */
static json_t *order_value(const struct path *pa, const swb_expr_ctx *ctx)
{
	json_t *v = path_resolve(pa, ctx ? ctx : &empty_ctx);
	return json_is_number(v) ? v : NULL;
}

static int key_cmp(const struct order_key *k, const swb_expr_ctx *a, const swb_expr_ctx *b)
{
	json_t *x = order_value(&k->path, a);
	json_t *y = order_value(&k->path, b);
	if (!x || !y)
		return (y != NULL) - (x != NULL); /* the present one first, whatever the direction */
	int c = num_cmp(x, y);
	return k->desc ? -c : c;
}

int swb_order_cmp(const swb_order *o, const swb_expr_ctx *a, const swb_expr_ctx *b)
{
	for (size_t i = 0; o && i < o->n; i++) {
		int c = key_cmp(&o->keys[i], a, b);
		if (c)
			return c;
	}
	return 0;
}

void swb_order_free(swb_order *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++)
		path_clear(&o->keys[i].path);
	free(o->keys);
	free(o);
}
