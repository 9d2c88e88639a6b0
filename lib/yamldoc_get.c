/*
 * yamldoc_get.c - typed getters for the values of a mapping: mapping, string, boolean, integer,
 * size, duration, enum and list of strings.  See yamldoc.h for the return convention.
 */
#include "yamldoc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

#define MSG_LEN sizeof(((struct xerr *)0)->msg)

/*
 * Find key's value: 1 with *v set when it is there and not null, 0 when absent or null (also when
 * map is NULL: an absent section), -1 with errno EINVAL for a NULL d, key or out.
 */
static int present(const struct ydoc *d, const yaml_node_t *map, const char *key, const void *out,
                   yaml_node_t **v, struct xerr *err)
{
	*v = NULL;
	if (!d || !key || !out)
		return xerr_errno(err, EINVAL, "yamldoc: invalid argument");
	*v = ydoc_lookup(d, map, key, NULL);
	return *v && !ydoc_is_null(*v);
}

int ydoc_get_map(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                 const char *key, const char *const *keys, yaml_node_t **out, struct xerr *err)
{
	yaml_node_t *v;
	int rc = present(d, map, key, out, &v, err);

	if (rc <= 0)
		return rc;
	if (ydoc_check_map(d, v, YPATH_KEY(at, key), keys, err) < 0)
		return -1;
	*out = v;
	return 1;
}

/* ------------------------------------------------------------------ scalars */

/* The scalar's text, or an error naming what was found instead. */
static int want_scalar(const struct ydoc *d, const yaml_node_t *v, const struct ypath *at,
                       const char *what, const char **s, struct xerr *err)
{
	char q[YDOC_QUOTE_LEN];

	*s = ydoc_scalar(v);
	if (!*s)
		return ydoc_error(d, err, v, at, "expected %s, found %s", what,
		                  ydoc_describe(v, q, sizeof(q)));
	if (ydoc_has_nul(v))
		return ydoc_error(d, err, v, at, "%s contains a NUL byte",
		                  ydoc_quote(*s, q, sizeof(q)));
	return 0;
}

int ydoc_node_str(const struct ydoc *d, const yaml_node_t *node, const struct ypath *at,
                  unsigned flags, char **out, struct xerr *err)
{
	char q[YDOC_QUOTE_LEN];
	const char *s;
	char *copy;

	if (!d || !out)
		return xerr_errno(err, EINVAL, "ydoc_node_str: invalid argument");
	if (want_scalar(d, node, at, "a string", &s, err) < 0)
		return -1;
	if ((flags & (YDOC_NONEMPTY | YDOC_ABSPATH)) && !*s)
		return ydoc_error(d, err, node, at, "must not be empty");
	if ((flags & YDOC_ABSPATH) && s[0] != '/')
		return ydoc_error(d, err, node, at, "%s is not an absolute path",
		                  ydoc_quote(s, q, sizeof(q)));
	copy = strdup(s);
	if (!copy)
		return xerr_errno(err, ENOMEM, "%s: out of memory", d->file);
	free(*out);
	*out = copy;
	return 1;
}

int ydoc_get_str(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                 const char *key, unsigned flags, char **out, struct xerr *err)
{
	yaml_node_t *v;
	int rc = present(d, map, key, out, &v, err);

	if (rc <= 0)
		return rc;
	return ydoc_node_str(d, v, YPATH_KEY(at, key), flags, out, err);
}

int ydoc_get_bool(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                  const char *key, bool *out, struct xerr *err)
{
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};
	const struct ypath *here = YPATH_KEY(at, key);
	char q[YDOC_QUOTE_LEN];
	yaml_node_t *v;
	const char *s;
	int rc = present(d, map, key, out, &v, err);

	if (rc <= 0)
		return rc;
	if (want_scalar(d, v, here, "true or false", &s, err) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 1;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 1;
		}
	}
	return ydoc_error(d, err, v, here, "%s is not a boolean (use true or false)",
	                  ydoc_quote(s, q, sizeof(q)));
}

/* Decimal (or, with hex, 0x-prefixed hexadecimal) digits only.  0, or -1 with errno. */
static int parse_uint(const char *s, bool hex, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s) {
		errno = EINVAL;
		return -1;
	}
	for (; *s; s++) {
		unsigned dgt;

		if (*s >= '0' && *s <= '9')
			dgt = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			dgt = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			dgt = (unsigned)(*s - 'A' + 10);
		else {
			errno = EINVAL;
			return -1;
		}
		if (v > (UINT64_MAX - dgt) / base) {
			errno = ERANGE;
			return -1;
		}
		v = v * base + dgt;
	}
	*out = v;
	return 0;
}

int ydoc_get_uint(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                  const char *key, uint64_t min, uint64_t max, unsigned flags, uint64_t *out,
                  struct xerr *err)
{
	const struct ypath *here = YPATH_KEY(at, key);
	bool hex = flags & YDOC_HEX, too_big = false;
	char q[YDOC_QUOTE_LEN];
	yaml_node_t *v;
	const char *s;
	uint64_t val = 0;
	int rc = present(d, map, key, out, &v, err);

	if (rc <= 0)
		return rc;
	if (want_scalar(d, v, here, "an integer", &s, err) < 0)
		return -1;
	ydoc_quote(s, q, sizeof(q));
	if (parse_uint(s, hex, &val) < 0) {
		if (errno != ERANGE)
			return ydoc_error(d, err, v, here, "%s is not an integer%s", q,
			                  hex ? " (decimal, or hexadecimal with 0x)" : "");
		too_big = true;
	}
	if (!too_big && val < min && max == UINT64_MAX)
		return ydoc_error(d, err, v, here,
		                  hex ? "%s is too small (at least 0x%04llx)"
		                      : "%s is too small (at least %llu)",
		                  q, (unsigned long long)min);
	if (too_big || val < min || val > max)
		return ydoc_error(d, err, v, here,
		                  hex ? "%s is out of range (0x%04llx..0x%04llx)"
		                      : "%s is out of range (%llu..%llu)",
		                  q, (unsigned long long)min, (unsigned long long)max);
	*out = val;
	return 1;
}

int ydoc_get_size(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                  const char *key, uint64_t min, uint64_t max, uint64_t *out, struct xerr *err)
{
	const struct ypath *here = YPATH_KEY(at, key);
	char q[YDOC_QUOTE_LEN], lo[32], hi[32];
	yaml_node_t *v;
	const char *s;
	uint64_t val;
	int rc = present(d, map, key, out, &v, err);

	if (rc <= 0)
		return rc;
	if (want_scalar(d, v, here, "a size", &s, err) < 0)
		return -1;
	ydoc_quote(s, q, sizeof(q));
	if (xenvm_parse_size(s, &val) < 0) {
		if (errno == ERANGE)
			return ydoc_error(d, err, v, here, "%s is too large", q);
		return ydoc_error(d, err, v, here, "%s is not a size (use e.g. 512M, 2G)", q);
	}
	xenvm_format_size(min, lo, sizeof(lo));
	xenvm_format_size(max, hi, sizeof(hi));
	if (val < min && max == UINT64_MAX)
		return ydoc_error(d, err, v, here, "%s is too small (at least %s)", q, lo);
	if (val < min || val > max)
		return ydoc_error(d, err, v, here, "%s is out of range (%s..%s)", q, lo, hi);
	*out = val;
	return 1;
}

int ydoc_get_duration(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                      const char *key, uint32_t min, uint32_t max, uint32_t *out, struct xerr *err)
{
	const struct ypath *here = YPATH_KEY(at, key);
	char q[YDOC_QUOTE_LEN];
	yaml_node_t *v;
	const char *s;
	uint32_t val;
	int rc = present(d, map, key, out, &v, err);

	if (rc <= 0)
		return rc;
	if (want_scalar(d, v, here, "a duration", &s, err) < 0)
		return -1;
	ydoc_quote(s, q, sizeof(q));
	if (xenvm_parse_duration(s, &val) < 0) {
		if (errno == ERANGE)
			return ydoc_error(d, err, v, here, "%s is too large", q);
		return ydoc_error(d, err, v, here,
		                  "%s is not a duration (use e.g. 90, 60s, 2m, 1h)", q);
	}
	if (val < min && max == UINT32_MAX)
		return ydoc_error(d, err, v, here, "%s is too small (at least %us)", q, min);
	if (val < min || val > max)
		return ydoc_error(d, err, v, here, "%s is out of range (%us..%us)", q, min, max);
	*out = val;
	return 1;
}

int ydoc_get_enum(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                  const char *key, const char *const *names, int *out, struct xerr *err)
{
	const struct ypath *here = YPATH_KEY(at, key);
	char q[YDOC_QUOTE_LEN], list[MSG_LEN];
	yaml_node_t *v;
	const char *s;
	int rc = present(d, map, key, out, &v, err);

	if (rc <= 0)
		return rc;
	if (!names)
		return xerr_errno(err, EINVAL, "ydoc_get_enum: invalid argument");
	if (want_scalar(d, v, here, "a string", &s, err) < 0)
		return -1;
	for (int i = 0; names[i]; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 1;
		}
	}
	ydoc_join(names, list, sizeof(list));
	return ydoc_error(d, err, v, here, "%s is not one of %s", ydoc_quote(s, q, sizeof(q)),
	                  list);
}

void ydoc_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int ydoc_get_strlist(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                     const char *key, unsigned flags, char ***out, size_t *n, struct xerr *err)
{
	const struct ypath *here = YPATH_KEY(at, key);
	char q[YDOC_QUOTE_LEN];
	char **v = NULL;
	size_t count = 0, got = 0;
	yaml_node_t *seq;
	int rc = present(d, map, key, out, &seq, err);

	if (rc <= 0)
		return rc;
	if (!n)
		return xerr_errno(err, EINVAL, "ydoc_get_strlist: invalid argument");
	if (seq->type != YAML_SEQUENCE_NODE) {
		if (seq->type == YAML_SCALAR_NODE)
			return ydoc_error(d, err, seq, here,
			                  "expected a list of strings, found %s (write [a, b])",
			                  ydoc_describe(seq, q, sizeof(q)));
		return ydoc_error(d, err, seq, here, "expected a list of strings, found %s",
		                  ydoc_describe(seq, q, sizeof(q)));
	}
	count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	rc = -1;
	if (count) {
		v = calloc(count + 1, sizeof(*v));
		if (!v) {
			errno = ENOMEM;
			xerr_set(err, "%s: out of memory", d->file);
			goto out;
		}
	}
	for (got = 0; got < count; got++) {
		const yaml_node_t *item = ydoc_node(d, seq->data.sequence.items.start[got]);
		const struct ypath elem = {.up = here, .key = NULL, .index = got};

		if (ydoc_node_str(d, item, &elem, flags | YDOC_NONEMPTY, &v[got], err) < 0)
			goto out;
	}
	ydoc_strv_free(*out, *n);
	*out = v;
	*n = count;
	v = NULL;
	rc = 1;
out:
	ydoc_strv_free(v, got);
	return rc;
}
