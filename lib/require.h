/*
 * require.h - --vm-require / XENVM_REQUIRE: asking for an image by its attributes
 * (xenvm-require(7)).
 *
 *     REQUIRE := TERM ( "," TERM )*          at most 32 terms, 1024 characters
 *     TERM    := KEY | "!" KEY | KEY OP VALUE
 *     OP      := "=" | "!=" | ">=" | "<=" | ">" | "<"
 *     KEY     := [a-z][a-z0-9_]{0,31}
 *     VALUE   := [A-Za-z0-9._+~:-]{1,64}
 *
 * Blanks around a term are ignored.  The SPANK plugin, job_submit and the Prolog all parse it
 * with xenvm_require_parse(), so they agree on what is valid; matching against the catalog is in
 * catalog_match.c.
 */
#ifndef XENVM_REQUIRE_H
#define XENVM_REQUIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define XENVM_REQUIRE_MAX_LEN 1024
#define XENVM_REQUIRE_MAX_TERMS 32
#define XENVM_REQUIRE_KEY_MAX 32
#define XENVM_REQUIRE_VALUE_MAX 64

enum xenvm_req_op {
	XENVM_REQ_TRUE,  /* key: a true boolean, or any value present */
	XENVM_REQ_FALSE, /* !key: the opposite */
	XENVM_REQ_EQ,
	XENVM_REQ_NE,
	XENVM_REQ_GE,
	XENVM_REQ_LE,
	XENVM_REQ_GT,
	XENVM_REQ_LT,
};

struct xenvm_req_term {
	char key[XENVM_REQUIRE_KEY_MAX + 1];
	enum xenvm_req_op op;
	char value[XENVM_REQUIRE_VALUE_MAX + 1]; /* "" for TRUE and FALSE */
};

struct xenvm_requirements {
	size_t n;
	struct xenvm_req_term t[XENVM_REQUIRE_MAX_TERMS];
};

/*
 * Parse `s` into *out.  Besides the grammar, the well-known attributes' types are checked: os and
 * mpi are strings (= and != only), ib is a boolean (ib, !ib, ib=true|false), libraries a list
 * (libraries=NAME, libraries!=NAME), os_version, kernel and mpi_version versions; an ordering
 * operator needs a VALUE that starts with a digit.  Returns 0, or -1 with err naming `what` (the
 * option or variable), the term and what is wrong; *out is untouched on failure.
 */
int xenvm_require_parse(const char *what, const char *s, struct xenvm_requirements *out,
                        struct xerr *err);

/* The operator as written ("", "!", "=", "!=", ">=" ...). */
const char *xenvm_req_op_name(enum xenvm_req_op op);

/* One term as the user would write it, into buf (cut at len); returns buf. */
const char *xenvm_req_term_format(const struct xenvm_req_term *t, char *buf, size_t len);

/* The terms joined by "," (the canonical form: blanks dropped), into buf; returns buf. */
const char *xenvm_require_format(const struct xenvm_requirements *r, char *buf, size_t len);

#endif
