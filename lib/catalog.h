/*
 * catalog.h - the image catalog, images.yaml (see images.yaml(5)).
 *
 * The catalog maps an image name to its files (with sha256 and size), attributes, limits, the node
 * features it needs and who may use it.  An image's digest ("sha256:<64 hex>") is derived from its
 * files' roles (kernel, initrd, rootdisk), sizes and sha256 in a fixed order -- not their paths --
 * so it changes exactly when what would boot changes; the job_submit plugin pins it into the job
 * at submit time.  The exact definition is in images.yaml(5).
 *
 * Lookups are O(1) (hash index); slurmctld calls xenvm_catalog_find() for every job.
 */
#ifndef XENVM_CATALOG_H
#define XENVM_CATALOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"

#define XENVM_CATALOG_DEFAULT_PATH "/etc/xenvm/images.yaml"
#define XENVM_SHA256_HEX_LEN 64
#define XENVM_DIGEST_LEN (7 + XENVM_SHA256_HEX_LEN) /* "sha256:" + hex */
/* The longest image cmdline (bytes): room is left for what the drivers add (Linux takes 2047). */
#define XENVM_CMDLINE_MAX 1024

enum xenvm_guest_type {
	XENVM_GUEST_PVH = 0, /* default: the Xen driver boots PVH; qemu ignores it */
	XENVM_GUEST_PV,
};

struct xenvm_image_file {
	char *path; /* relative to the image store (or absolute) */
	char sha256[XENVM_SHA256_HEX_LEN + 1];
	uint64_t size;
};

/* How a value of attributes: is compared by --vm-require (xenvm-require(7)). */
enum xenvm_attr_type {
	XENVM_ATTR_STRING = 0, /* exactly */
	XENVM_ATTR_VERSION,    /* as versions, component by component */
	XENVM_ATTR_BOOL,
	XENVM_ATTR_LIST, /* of strings (libraries) */
};

/* One attribute beyond the well-known ones; its type is inferred from the YAML value. */
struct xenvm_attr {
	char *key;   /* [a-z][a-z0-9_]{0,31} */
	char *value; /* the text ("true" for a boolean) */
	enum xenvm_attr_type type;
	bool boolean; /* XENVM_ATTR_BOOL: the value */
};

struct xenvm_image {
	char *name;                       /* [A-Za-z0-9][A-Za-z0-9._-]{0,63} */
	char *description;                /* optional */
	struct xenvm_image_file kernel;   /* files.kernel (required) */
	struct xenvm_image_file initrd;   /* files.initrd (required) */
	struct xenvm_image_file rootdisk; /* files.rootdisk (optional: path NULL when absent) */
	char
	    *cmdline; /* extra kernel command line (optional; printable ASCII, XENVM_CMDLINE_MAX) */
	enum xenvm_guest_type guest_type;  /* xen.guest_type: pv | pvh */
	char digest[XENVM_DIGEST_LEN + 1]; /* derived, see above */

	struct {
		char *os;             /* attributes.os, the family ("debian") */
		char *os_version;     /* attributes.os_version (a version: "12") */
		char *kernel_version; /* attributes.kernel (a version: "6.1.0-28-amd64") */
		char *mpi;            /* attributes.mpi, the family ("mpich") */
		char *mpi_version;    /* attributes.mpi_version (a version: "4.0.2") */
		bool ib;              /* attributes.ib: the image has verbs/rxe support */
		char **libraries;     /* attributes.libraries */
		size_t n_libraries;
		/* any other key of attributes:, typed by its value (see images.yaml(5)) */
		struct xenvm_attr *extra;
		size_t n_extra;
	} attributes;
	uint32_t priority; /* priority: preferred by --vm-require among equal matches (0) */

	struct {
		uint64_t default_bytes; /* memory.default (size; 0: absent, vm.default_memory) */
		uint64_t max_bytes;     /* memory.max (size, >= default; UINT64_MAX: absent) */
		uint32_t vcpus_default; /* vcpus.default (1..512)          (1) */
		uint32_t vcpus_max;     /* vcpus.max (1..512, >= default)  (512) */
	} limits;

	/* Lists (features, libraries, allow.*) are NULL-terminated arrays of n strings, NULL when
	 * empty. */
	char **features; /* node features the image needs, added to the job's constraint */
	size_t n_features;

	struct {
		/* empty lists mean "everyone"; a name in any non-empty list admits the job */
		char **users, **groups, **accounts, **partitions;
		size_t n_users, n_groups, n_accounts, n_partitions;
	} allow;

	bool allow_root; /* root_allowed: --vm-root may be granted */
};

struct xenvm_catalog_memo;

struct xenvm_catalog {
	char *path;
	struct xenvm_image *images; /* in file order */
	size_t n_images;
	/* private: open-addressing index over images by name */
	size_t *index;
	size_t index_size;
	/* private: references held (xenvm_catalog_ref/_put); 1 after loading */
	atomic_uint refs;
	/* private: --vm-require results already computed for this catalog (catalog_match.c) */
	struct xenvm_catalog_memo *memo;
};

/* What one load of images.yaml may cost (the file is a regular file in every case). */
struct xenvm_catalog_limits {
	uint64_t max_bytes;        /* file size (64 MiB) */
	uint32_t max_ms;           /* parse and validation time, 0: unbounded (10 s) */
	const atomic_bool *cancel; /* may be NULL: set by another thread to stop a load */
};
#define XENVM_CATALOG_LIMITS_DEFAULT                                                               \
	{                                                                                          \
		.max_bytes = UINT64_C(64) << 20, .max_ms = 10000, .cancel = NULL                   \
	}

/*
 * Load and validate images.yaml.  Returns 0 and sets *out (free with xenvm_catalog_free), or -1
 * with err filled as "<file>:<line>:<col>: <key path>: <what is wrong>".  Duplicate names are
 * errors.
 */
int xenvm_catalog_load(const char *path, struct xenvm_catalog **out, struct xerr *err);
/*
 * xenvm_catalog_load() within `lim` (NULL: XENVM_CATALOG_LIMITS_DEFAULT, which _load applies
 * too): besides its errors, EFBIG (file too large), EINVAL for nesting deeper than 64 levels or
 * more than 2,000,000 YAML nodes (with file:line:col), ETIMEDOUT (over max_ms), ECANCELED.  A
 * FIFO, device or directory at the path is refused (EINVAL) without being read, so never blocks.
 */
int xenvm_catalog_load_limited(const char *path, const struct xenvm_catalog_limits *lim,
                               struct xenvm_catalog **out, struct xerr *err);
/* Free the catalog whatever references remain (single owner use).  NULL is a no-op. */
void xenvm_catalog_free(struct xenvm_catalog *cat);
/* Another reference to cat (shared between threads); returns cat.  NULL is a no-op. */
struct xenvm_catalog *xenvm_catalog_ref(struct xenvm_catalog *cat);
/* Drop a reference; the last one frees the catalog.  NULL is a no-op. */
void xenvm_catalog_put(struct xenvm_catalog *cat);

/* The image called `name`, or NULL (errno ENOENT; EINVAL for a NULL argument).  No allocation. */
const struct xenvm_image *xenvm_catalog_find(const struct xenvm_catalog *cat, const char *name);

/*
 * Up to `max` names close to `name` (edit distance, then prefix, then substring; ties in file
 * order), best first, into out[] (pointing into cat).  Returns how many were written.  Used for
 * "did you mean" in rejections.
 */
size_t xenvm_catalog_suggest(const struct xenvm_catalog *cat, const char *name, const char **out,
                             size_t max);

/* Who is asking, for xenvm_image_permits(). */
struct xenvm_requester {
	uid_t uid;
	gid_t gid;
	const char *user;      /* may be NULL: looked up from uid */
	const char *account;   /* may be NULL */
	const char *partition; /* may be NULL; may be a comma list (job submitted to several) */
};

/*
 * 0 if the requester may use the image; -1 with err naming the rule otherwise (errno EACCES;
 * EINVAL for a NULL argument; ENOMEM or the NSS error if users or groups cannot be looked up).
 * Group membership is the user's supplementary groups (getgrouplist) plus gid.
 */
int xenvm_image_permits(const struct xenvm_image *img, const struct xenvm_requester *who,
                        struct xerr *err);

/*
 * A catalog that reloads itself when its file changes (mtime, size, inode), keeping the last good
 * copy on a parse error.  xenvm_catalog_cache_get() returns the current catalog (NULL only if no
 * good copy was ever loaded); when a reload failed, *reload_err (if not NULL) is filled and
 * *reload_failed set, once per change of the file, so the caller can log it once.
 * The returned catalog stays valid until the next xenvm_catalog_cache_get() or _fini().
 * Not thread-safe: callers serialise.  init returns 0, or -1 with errno EINVAL or ENOMEM.
 */
struct xenvm_catalog_cache {
	char *path;
	struct xenvm_catalog *current;
	struct {
		dev_t dev;
		ino_t ino;
		off_t size;
		struct timespec mtime, ctime;
	} seen; /* the file state last tried (good or bad) */
	bool have_seen;
};

int xenvm_catalog_cache_init(struct xenvm_catalog_cache *cc, const char *path);
const struct xenvm_catalog *xenvm_catalog_cache_get(struct xenvm_catalog_cache *cc,
                                                    bool *reload_failed, struct xerr *reload_err);
void xenvm_catalog_cache_fini(struct xenvm_catalog_cache *cc);

#endif
