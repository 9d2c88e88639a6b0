/*
 * request.h - a job's VM request, as it travels from sbatch/srun to the Prolog.
 *
 * The SPANK plugin hands the request on with spank_job_control_setenv(NAME, value); slurmctld
 * keeps it in job_desc->spank_job_env as "NAME=value" (where job_submit-vmimage validates it,
 * resolves defaults and adds XENVM_DIGEST), and the Prolog/Epilog receive it as SPANK_NAME.
 * Every consumer parses it with xenvm_request_parse() so that all of them agree on the syntax.
 */
#ifndef XENVM_REQUEST_H
#define XENVM_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "error.h"
#include "require.h"

/* Names given to spank_job_control_setenv() (the Prolog sees them with a "SPANK_" prefix). */
#define XENVM_REQ_IMAGE "XENVM_IMAGE"
#define XENVM_REQ_MEM "XENVM_MEM"
#define XENVM_REQ_VCPUS "XENVM_VCPUS"
#define XENVM_REQ_ROOT "XENVM_ROOT"
#define XENVM_REQ_VERBOSE "XENVM_VERBOSE"
#define XENVM_REQ_DIGEST "XENVM_DIGEST" /* set by job_submit-vmimage only */
#define XENVM_REQ_REQUIRE "XENVM_REQUIRE"
#define XENVM_REQ_MOUNTS "XENVM_MOUNTS"

#define XENVM_MOUNTS_LEN 1024 /* --vm-mounts, the whole list */
#define XENVM_MOUNTS_MAX 8    /* entries (vm/driver.h's XVM_MAX_SHARES) */

#define XENVM_IMAGE_NAME_MAX 64
#define XENVM_VCPUS_MAX 512

struct xenvm_request {
	/* "" = no VM requested, unless `require` chooses one; with `require`, the family */
	char image[XENVM_IMAGE_NAME_MAX + 1];
	char require[XENVM_REQUIRE_MAX_LEN + 1]; /* --vm-require, canonical form; "" = none */
	uint64_t mem_bytes;                      /* 0 = the image's default */
	uint32_t vcpus;                          /* 0 = sized from the allocation */
	bool root;
	bool verbose;
	char digest[XENVM_DIGEST_LEN + 1]; /* "" until pinned */
	char mounts[XENVM_MOUNTS_LEN];     /* --vm-mounts, checked by xenvm_parse_mounts; "" none */
};

/* One --vm-mounts entry, pointing into the caller's buffer. */
struct xenvm_mount {
	const char *src, *dst; /* absolute paths; dst is src when not given */
	bool ro;
};

/* Where a value came from, so errors can name it: "--vm-mem", "XENVM_MEM", "SPANK_XENVM_MEM". */
struct xenvm_request_source {
	const char *image, *mem, *vcpus, *root, *verbose, *digest, *require, *mounts;
};
extern const struct xenvm_request_source xenvm_source_options; /* --vm-image ... */
extern const struct xenvm_request_source xenvm_source_env;     /* XENVM_IMAGE ... */
extern const struct xenvm_request_source xenvm_source_spank;   /* SPANK_XENVM_IMAGE ... */

/*
 * Field parsers; each returns 0, or -1 with err naming `what` (an option or variable name) and
 * the accepted syntax.  They never modify *out on failure.
 */
int xenvm_parse_image_name(const char *what, const char *s, char *out, struct xerr *err);
int xenvm_parse_mem(const char *what, const char *s, uint64_t *out, struct xerr *err);
int xenvm_parse_vcpus(const char *what, const char *s, uint32_t *out, struct xerr *err);
/* "1"/"0", "yes"/"no", "true"/"false"; empty string (a flag option given) = true. */
int xenvm_parse_flag(const char *what, const char *s, bool *out, struct xerr *err);
int xenvm_parse_digest(const char *what, const char *s, char *out, struct xerr *err);
/*
 * --vm-require (xenvm-require(7)): the grammar and the well-known attributes' types checked
 * with xenvm_require_parse(); out (XENVM_REQUIRE_MAX_LEN + 1 bytes) gets the canonical form.
 */
int xenvm_parse_require(const char *what, const char *s, char *out, struct xerr *err);
/*
 * "SRC[:DST[:ro|rw]],..." (pyxis's --container-mounts): at most XENVM_MOUNTS_MAX entries of
 * absolute paths without blanks, control characters, ':' or ',' inside, no ".." component, DST
 * not "/".  buf (XENVM_MOUNTS_LEN bytes) gets a copy that out[] points into; *n the count.
 * Whether a SRC may be shared is the node's policy (node/sharepolicy.h), not syntax.
 */
int xenvm_parse_mounts(const char *what, const char *s, char *buf,
                       struct xenvm_mount out[XENVM_MOUNTS_MAX], size_t *n, struct xerr *err);

/* A lookup: the value of variable `name`, or NULL. */
typedef const char *(*xenvm_getenv_fn)(void *ctx, const char *name);

/*
 * Fill *req from variables named with `prefix` ("" for XENVM_*, "SPANK_" for the Prolog) found by
 * `get`.  Returns 1 if a VM was requested (an image, requirements, or both), 0 if not (req
 * zeroed), -1 with err on bad syntax.  A --vm-* value without an image or requirements is an
 * error.
 */
int xenvm_request_from_env(struct xenvm_request *req, const char *prefix, xenvm_getenv_fn get,
                           void *ctx, const struct xenvm_request_source *src, struct xerr *err);

/* getenv(3) as an xenvm_getenv_fn. */
const char *xenvm_getenv_process(void *ctx, const char *name);
/* A lookup in a "NAME=value" array of `n` entries (ctx = struct xenvm_envv *). */
struct xenvm_envv {
	char **v;
	uint32_t n;
};
const char *xenvm_getenv_array(void *ctx, const char *name);

#endif
