/* require.c - the --vm-require grammar, see require.h and xenvm-require(7). */
#include "require.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* How a well-known attribute may be asked for. */
enum kind { K_STRING, K_VERSION, K_BOOL, K_LIST, K_SITE };

static const struct {
	const char *key;
	enum kind kind;
} known[] = {
    {"os", K_STRING}, {"mpi", K_STRING},     {"os_version", K_VERSION},  {"kernel", K_VERSION},
    {"ib", K_BOOL},   {"libraries", K_LIST}, {"mpi_version", K_VERSION},
};

static enum kind kind_of(const char *key)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i].key, key) == 0)
			return known[i].kind;
	return K_SITE;
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool value_char(char c)
{
	return is_lower(c) || is_digit(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' ||
	       c == '+' || c == '~' || c == ':' || c == '-';
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

const char *xenvm_req_op_name(enum xenvm_req_op op)
{
	static const char *const names[] = {"", "!", "=", "!=", ">=", "<=", ">", "<"};

	return (unsigned)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

const char *xenvm_req_term_format(const struct xenvm_req_term *t, char *buf, size_t len)
{
	if (!buf || !len)
		return "";
	if (t->op == XENVM_REQ_FALSE)
		snprintf(buf, len, "!%s", t->key);
	else
		snprintf(buf, len, "%s%s%s", t->key, xenvm_req_op_name(t->op), t->value);
	return buf;
}

const char *xenvm_require_format(const struct xenvm_requirements *r, char *buf, size_t len)
{
	size_t used = 0;

	if (!buf || !len)
		return "";
	buf[0] = '\0';
	for (size_t i = 0; i < r->n && used < len; i++) {
		char term[XENVM_REQUIRE_KEY_MAX + XENVM_REQUIRE_VALUE_MAX + 4];
		int n = snprintf(buf + used, len - used, "%s%s", i ? "," : "",
		                 xenvm_req_term_format(&r->t[i], term, sizeof(term)));

		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

/* The type rules of require.h for a parsed term; 0, or -1 with err. */
static int check_type(const char *what, const struct xenvm_req_term *t, const char *text,
                      struct xerr *err)
{
	bool ordered = t->op >= XENVM_REQ_GE;
	bool equality = t->op == XENVM_REQ_EQ || t->op == XENVM_REQ_NE;

	switch (kind_of(t->key)) {
	case K_STRING:
		if (ordered)
			return xerr_set(err, "%s: '%s': %s is a name, compared with = or != only",
			                what, text, t->key);
		break;
	case K_BOOL:
		if (ordered ||
		    (equality && strcmp(t->value, "true") != 0 && strcmp(t->value, "false") != 0))
			return xerr_set(
			    err, "%s: '%s': %s is true or false: write %s, !%s or %s=true|false",
			    what, text, t->key, t->key, t->key, t->key);
		break;
	case K_LIST:
		if (ordered)
			return xerr_set(err, "%s: '%s': %s is a list: write %s=NAME or %s!=NAME",
			                what, text, t->key, t->key, t->key);
		break;
	case K_VERSION:
		if ((ordered || equality) && !is_digit(t->value[0]))
			return xerr_set(err,
			                "%s: '%s': %s is a version: '%s' does not start with a "
			                "digit",
			                what, text, t->key, t->value);
		break;
	case K_SITE:
		if (ordered && !is_digit(t->value[0]))
			return xerr_set(
			    err,
			    "%s: '%s': %s compares versions: '%s' does not start with a "
			    "digit",
			    what, text, xenvm_req_op_name(t->op), t->value);
		break;
	}
	return 0;
}

/* One term, text[0..len), without surrounding blanks; 0 or -1 with err. */
static int parse_term(const char *what, const char *text, size_t len, struct xenvm_req_term *t,
                      struct xerr *err)
{
	char shown[XENVM_REQUIRE_MAX_LEN + 1];
	size_t i = 0, k, v;

	memcpy(shown, text, len);
	shown[len] = '\0';
	memset(t, 0, sizeof(*t));
	if (len == 0)
		return xerr_set(err, "%s: an empty term (two commas, or a comma at an end)", what);
	if (text[0] == '!') {
		t->op = XENVM_REQ_FALSE;
		i = 1;
	}
	k = i;
	if (i >= len || !is_lower(text[i]))
		return xerr_set(err,
		                "%s: '%.80s': an attribute name starts with a lowercase letter",
		                what, shown);
	while (i < len && (is_lower(text[i]) || is_digit(text[i]) || text[i] == '_'))
		i++;
	if (i - k > XENVM_REQUIRE_KEY_MAX)
		return xerr_set(err, "%s: '%.80s': an attribute name has at most %d characters",
		                what, shown, XENVM_REQUIRE_KEY_MAX);
	memcpy(t->key, text + k, i - k);
	t->key[i - k] = '\0';
	if (i == len)
		return check_type(what, t, shown, err);
	if (t->op == XENVM_REQ_FALSE)
		return xerr_set(err,
		                "%s: '%.80s': '!' negates a bare name (write !%s, or %s!=VALUE)",
		                what, shown, t->key, t->key);
	if (text[i] == '=') {
		t->op = XENVM_REQ_EQ;
		i++;
	} else if (text[i] == '!' && i + 1 < len && text[i + 1] == '=') {
		t->op = XENVM_REQ_NE;
		i += 2;
	} else if (text[i] == '>' || text[i] == '<') {
		bool eq = i + 1 < len && text[i + 1] == '=';

		t->op = text[i] == '>' ? (eq ? XENVM_REQ_GE : XENVM_REQ_GT)
		                       : (eq ? XENVM_REQ_LE : XENVM_REQ_LT);
		i += eq ? 2 : 1;
	} else {
		return xerr_set(err,
		                "%s: '%.80s': expected =, !=, >=, <=, > or < after '%s' (names are "
		                "lowercase letters, digits and '_')",
		                what, shown, t->key);
	}
	v = i;
	while (i < len && value_char(text[i]))
		i++;
	if (i == v)
		return xerr_set(err, "%s: '%.80s': no value after '%s'", what, shown,
		                xenvm_req_op_name(t->op));
	if (i < len)
		return xerr_set(err,
		                "%s: '%.80s': a value is letters, digits and . _ + ~ : - (found "
		                "'%c')",
		                what, shown, (unsigned char)text[i] >= 0x20 ? text[i] : '?');
	if (i - v > XENVM_REQUIRE_VALUE_MAX)
		return xerr_set(err, "%s: '%.80s': a value has at most %d characters", what, shown,
		                XENVM_REQUIRE_VALUE_MAX);
	memcpy(t->value, text + v, i - v);
	t->value[i - v] = '\0';
	return check_type(what, t, shown, err);
}

int xenvm_require_parse(const char *what, const char *s, struct xenvm_requirements *out,
                        struct xerr *err)
{
	struct xenvm_requirements r;
	size_t len;

	if (!what || !out)
		return xerr_errno(err, EINVAL,
		                  "internal error: bad arguments to xenvm_require_parse");
	if (!s || !*s)
		return xerr_set(err,
		                "%s: requirements are needed (e.g. %s='os=debian,os_version>=12')",
		                what, what);
	len = strlen(s);
	if (len > XENVM_REQUIRE_MAX_LEN)
		return xerr_set(err, "%s: %zu characters long; at most %d are allowed", what, len,
		                XENVM_REQUIRE_MAX_LEN);
	r.n = 0;
	for (const char *p = s;;) {
		const char *end = strchr(p, ',');
		const char *a = p, *b = end ? end : s + len;

		while (a < b && blank(*a))
			a++;
		while (b > a && blank(b[-1]))
			b--;
		if (r.n == XENVM_REQUIRE_MAX_TERMS)
			return xerr_set(err, "%s: more than %d terms", what,
			                XENVM_REQUIRE_MAX_TERMS);
		if (parse_term(what, a, (size_t)(b - a), &r.t[r.n], err) < 0)
			return -1;
		r.n++;
		if (!end)
			break;
		p = end + 1;
	}
	*out = r;
	return 0;
}
