/*
 * yamldoc.h - a small typed layer over libyaml's document API, shared by the xenvm.yaml and
 * images.yaml parsers (internal to libxenvm).
 *
 * A file is loaded whole (yaml_parser_load); getters then look keys up in a mapping node and
 * convert the value, reporting faults as one line:
 *
 *     FILE:LINE:COL: KEY.PATH: message
 *
 * with LINE and COL 1-based and pointing at the offending node.  The key path is built from a
 * chain of `struct ypath` on the caller's stack, so nothing is formatted unless there is an error.
 *
 * Getters share one convention:
 *   1   the key is present and its value was stored in *out (replacing, and freeing, what was
 *       there for strings and lists);
 *   0   the key is absent, or its value is null (an empty value, "~" or "null"): *out untouched;
 *  -1   error: err filled, errno EINVAL (bad value) or ENOMEM; *out untouched.
 * Every getter takes the mapping to look in (already checked with ydoc_check_map(), so it has no
 * duplicate keys), the mapping's own path and the key.
 */
#ifndef XENVM_YAMLDOC_H
#define XENVM_YAMLDOC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "error.h"

struct ydoc {
	char *file;          /* as given to ydoc_load(), for messages */
	yaml_document_t doc; /* valid when have_doc */
	bool have_doc;
};

#define YDOC_INIT                                                                                  \
	{                                                                                          \
		.file = NULL, .have_doc = false                                                    \
	}

/* One element of a key path: a mapping key, or (key NULL) the index of a list item. */
struct ypath {
	const struct ypath *up; /* NULL at the top level */
	const char *key;
	size_t index;
};

#define YPATH_KEY(parent, k) (&(const struct ypath){.up = (parent), .key = (k), .index = 0})

/* String flags. */
#define YDOC_NONEMPTY 0x1u /* "" is an error */
#define YDOC_ABSPATH 0x2u  /* must be an absolute path (implies NONEMPTY) */
/* Integer flags. */
#define YDOC_HEX 0x4u /* also accept 0x... and show the range in hex */

/*
 * What one load may cost.  A file is input that an admin (and, with user images, a user) wrote:
 * a FIFO at its path, a huge file or deep nesting must fail in bounded time and memory, never
 * hang the caller (slurmctld, a Prolog).
 */
struct ydoc_limits {
	uint64_t max_bytes;        /* file size; larger is EFBIG */
	unsigned max_depth;        /* nesting of mappings and lists; deeper is EINVAL */
	uint64_t max_nodes;        /* scalars, mappings, lists and aliases; more is EINVAL */
	uint32_t max_ms;           /* wall time of the parse; 0: unbounded; over is ETIMEDOUT */
	const atomic_bool *cancel; /* may be NULL; once true, the load stops with ECANCELED */
};

#define YDOC_MAX_BYTES_DEFAULT (UINT64_C(64) << 20)
#define YDOC_MAX_DEPTH_DEFAULT 64u
#define YDOC_MAX_NODES_DEFAULT UINT64_C(2000000)
#define YDOC_MAX_MS_DEFAULT 10000u

/* The bounds ydoc_load() applies: the defaults above. */
extern const struct ydoc_limits ydoc_default_limits;

/*
 * Read and compose the single YAML document in `path`, within ydoc_default_limits.
 * Returns 0 (d->have_doc may be false for an empty file), or -1 with err filled and errno set:
 * the open/fstat/read error ("FILE: cannot open: ..."), EINVAL for a YAML syntax error
 * ("FILE:LINE:COL: problem (context at LINE:COL)"), for a second document, a file that is not a
 * regular file (a FIFO or device is never read, so opening one cannot block) or a bound on depth
 * or nodes, EFBIG for a file over the size bound, ETIMEDOUT over the time bound, ENOMEM.
 * Free with ydoc_free() in every case.
 */
int ydoc_load(struct ydoc *d, const char *path, struct xerr *err);
/* ydoc_load() within `lim` (NULL: the defaults); also ECANCELED when *lim->cancel was set. */
int ydoc_load_limited(struct ydoc *d, const char *path, const struct ydoc_limits *lim,
                      struct xerr *err);
/* Release what ydoc_load() allocated; d may be reused.  Never fails; NULL is a no-op. */
void ydoc_free(struct ydoc *d);

/* The root node, or NULL for an empty document (also when the root is a null scalar). */
yaml_node_t *ydoc_root(const struct ydoc *d);
/* The node with libyaml index `i`, or NULL. */
yaml_node_t *ydoc_node(const struct ydoc *d, int i);
/* True for a null scalar: plain "", "~", "null", "Null", "NULL" (or an explicit !!null tag). */
bool ydoc_is_null(const yaml_node_t *node);
/* The scalar's text, or NULL if node is NULL or not a scalar. */
const char *ydoc_scalar(const yaml_node_t *node);
/* True if the scalar holds a NUL byte (its text would be cut short). */
bool ydoc_has_nul(const yaml_node_t *node);
/* How a node is named in "expected X, found Y": "a mapping", "a list", "'text'"...; uses buf. */
const char *ydoc_describe(const yaml_node_t *node, char *buf, size_t len);
/* names (NULL-terminated) joined with ", " into buf, cut at len; returns buf. */
const char *ydoc_join(const char *const *names, char *buf, size_t len);

/*
 * Format "FILE:LINE:COL: PATH: message" into err for `node` (which may be NULL: no position).
 * Returns -1 and sets errno EINVAL, so callers can `return ydoc_error(...)`.
 */
int ydoc_error(const struct ydoc *d, struct xerr *err, const yaml_node_t *node,
               const struct ypath *at, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Quote a user-supplied value for a message: 'value', control characters shown as '?', and cut
 * with "..." after 80 characters.  Returns buf (always NUL-terminated when len > 0).
 */
const char *ydoc_quote(const char *s, char *buf, size_t len);
/* A buffer that always holds a whole ydoc_quote() result. */
#define YDOC_QUOTE_LEN 96

/*
 * Check that `node` (at path `at`) is a mapping with string keys, no duplicate keys and (when
 * `keys`, a NULL-terminated list, is not NULL) no key outside `keys`.
 * Returns 0, or -1 with err filled and errno EINVAL.
 */
int ydoc_check_map(const struct ydoc *d, const yaml_node_t *node, const struct ypath *at,
                   const char *const *keys, struct xerr *err);

/* The value node of `key` in the mapping `map` (NULL if absent); *key_node gets the key's node. */
yaml_node_t *ydoc_lookup(const struct ydoc *d, const yaml_node_t *map, const char *key,
                         yaml_node_t **key_node);

/* A mapping, checked with ydoc_check_map(child path, keys); *out is the mapping node. */
int ydoc_get_map(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                 const char *key, const char *const *keys, yaml_node_t **out, struct xerr *err);

/* A string (copied; flags YDOC_NONEMPTY, YDOC_ABSPATH).  Embedded NUL bytes are errors. */
int ydoc_get_str(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                 const char *key, unsigned flags, char **out, struct xerr *err);
/* Convert one scalar node (a list item, a mapping value) the same way as ydoc_get_str(). */
int ydoc_node_str(const struct ydoc *d, const yaml_node_t *node, const struct ypath *at,
                  unsigned flags, char **out, struct xerr *err);

/* true/True/TRUE/false/False/FALSE. */
int ydoc_get_bool(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                  const char *key, bool *out, struct xerr *err);

/* A decimal integer (with YDOC_HEX also 0x...) in min..max. */
int ydoc_get_uint(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                  const char *key, uint64_t min, uint64_t max, unsigned flags, uint64_t *out,
                  struct xerr *err);

/* A size (xenvm_parse_size) in min..max bytes. */
int ydoc_get_size(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                  const char *key, uint64_t min, uint64_t max, uint64_t *out, struct xerr *err);

/* A duration (xenvm_parse_duration) in min..max seconds. */
int ydoc_get_duration(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                      const char *key, uint32_t min, uint32_t max, uint32_t *out, struct xerr *err);

/* One of the NULL-terminated `names`; *out is its index. */
int ydoc_get_enum(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                  const char *key, const char *const *names, int *out, struct xerr *err);

/*
 * A list of strings, each checked with `flags` as ydoc_node_str() does.  *out gets a
 * NULL-terminated array of *n strings (NULL and 0 for an empty list); free with ydoc_strv_free().
 */
int ydoc_get_strlist(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                     const char *key, unsigned flags, char ***out, size_t *n, struct xerr *err);
/* Free an array of n strings and the array itself; NULL is a no-op. */
void ydoc_strv_free(char **v, size_t n);

#endif
