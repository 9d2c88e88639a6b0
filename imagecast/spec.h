/*
 * spec.h - a fetch request: which image (name, digest), from where (the store, read by the root
 * of the tree), over which nodes (the job's ordered node list), in which shape and chunk size.
 *
 * The requester passes the image's files (role, path in the store, size, sha256), as the catalog
 * lists them: imagecastd needs no catalog of its own, and every node checks that the files give
 * the requested digest before it moves a byte.  Text form, one "key value" line each:
 *   name <image>            digest sha256:<hex>       shape <shape>     chunk_bytes <n>
 *   store <dir>             pin <holder>  (optional)
 *   node <name>             (one per node, in order)
 *   file <role> <size> <sha256> <path>   (one per file, in order)
 */
#ifndef IC_SPEC_H
#define IC_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"
#include "manifest.h"

struct ic_spec {
	char name[IC_NAME_MAX + 1];
	char digest[IC_DIGEST_LEN + 1];
	enum xenvm_cast_shape shape;
	uint64_t chunk_bytes;
	char *store;
	char *pin; /* lease to take on success (job id), or NULL */
	char **nodes;
	size_t nnodes;
	struct ic_file files[IC_MAX_FILES];
	size_t nfiles;
};

/* Text form into *out (free()).  Returns its length, or -1 with errno. */
long ic_spec_format(const struct ic_spec *s, char **out);
/* Parse and validate.  Returns 0 and fills *s (free with ic_spec_clear), or -1 with err. */
int ic_spec_parse(const char *text, struct ic_spec *s, struct xerr *err);
/* Free the members (not s itself). */
void ic_spec_clear(struct ic_spec *s);
/* Rank of `node` in the list, or -1 with errno ENOENT. */
long ic_spec_rank(const struct ic_spec *s, const char *node);

#endif
