/* catalog.c - loading images.yaml, see catalog.h and images.yaml(5). */
#include "catalog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog_priv.h"
#include "editdist.h"
#include "imageref.h"
#include "units.h"
#include "yamldoc.h"

#define MiB (UINT64_C(1) << 20)
#define VCPUS_MAX 512

static const char *const root_keys[] = {"images", NULL};
static const char *const image_keys[] = {"description", "files",        "cmdline",  "xen",
                                         "attributes",  "memory",       "vcpus",    "features",
                                         "allow",       "root_allowed", "priority", NULL};
static const char *const files_keys[] = {"kernel", "initrd", "rootdisk", NULL};
static const char *const file_keys[] = {"path", "sha256", "size", NULL};
static const char *const xen_keys[] = {"guest_type", NULL};
/* The well-known attributes; any other key is a generic one (parse_extra_attr). */
static const char *const attr_keys[] = {"os",          "os_version", "kernel",    "mpi",
                                        "mpi_version", "ib",         "libraries", NULL};
#define PRIORITY_MAX 1000000
#define ATTR_KEY_MAX 32
static const char *const limit_keys[] = {"default", "max", NULL};
static const char *const allow_keys[] = {"users", "groups", "accounts", "partitions", NULL};
/* Indexed by enum xenvm_guest_type. */
static const char *const guest_names[] = {"pvh", "pv", NULL};

/* Free what an image owns (not the struct); works on a partly filled image. */
static void image_fini(struct xenvm_image *img)
{
	free(img->name);
	free(img->description);
	free(img->kernel.path);
	free(img->initrd.path);
	free(img->rootdisk.path);
	free(img->cmdline);
	free(img->attributes.os);
	free(img->attributes.os_version);
	free(img->attributes.kernel_version);
	free(img->attributes.mpi);
	free(img->attributes.mpi_version);
	for (size_t i = 0; i < img->attributes.n_extra; i++) {
		free(img->attributes.extra[i].key);
		free(img->attributes.extra[i].value);
	}
	free(img->attributes.extra);
	ydoc_strv_free(img->attributes.libraries, img->attributes.n_libraries);
	ydoc_strv_free(img->features, img->n_features);
	ydoc_strv_free(img->allow.users, img->allow.n_users);
	ydoc_strv_free(img->allow.groups, img->allow.n_groups);
	ydoc_strv_free(img->allow.accounts, img->allow.n_accounts);
	ydoc_strv_free(img->allow.partitions, img->allow.n_partitions);
}

void xenvm_catalog_free(struct xenvm_catalog *cat)
{
	if (!cat)
		return;
	for (size_t i = 0; i < cat->n_images; i++)
		image_fini(&cat->images[i]);
	free(cat->images);
	free(cat->index);
	free(cat->path);
	xenvm_catalog_memo_free(cat->memo);
	free(cat);
}

struct xenvm_catalog *xenvm_catalog_ref(struct xenvm_catalog *cat)
{
	if (cat)
		atomic_fetch_add(&cat->refs, 1);
	return cat;
}

void xenvm_catalog_put(struct xenvm_catalog *cat)
{
	if (cat && atomic_fetch_sub(&cat->refs, 1) == 1)
		xenvm_catalog_free(cat);
}

/* ------------------------------------------------------------------ value checks */

/* [NAMESPACE/]NAME[:TAG] (lib/imageref.h): the image store generates entries per name and tag. */
static bool valid_name(const char *s)
{
	return xenvm_image_ref_valid(s);
}

static bool valid_sha256(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == XENVM_SHA256_HEX_LEN && s[n] == '\0';
}

/* A ".." component would step out of the image store. */
static bool has_dotdot(const char *path)
{
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += n;
		p += strspn(p, "/");
	}
	return false;
}

/* Characters that would break a Slurm constraint expression. */
static bool valid_feature(const char *s)
{
	return *s && !strpbrk(s, "&|,:*![]() \t\n\r\f\v\"'");
}

/* "missing required key" at the mapping that lacks it; returns -1, errno EINVAL. */
static int missing(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                   const char *key, struct xerr *err)
{
	return ydoc_error(d, err, map, at, "missing required key '%s'", key);
}

/* ------------------------------------------------------------------ attributes */

static bool version_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '.' || c == '+' || c == '~' || c == '-' || c == '_';
}

/*
 * A well-known version attribute: a digit first, then letters, digits and . + ~ - _ (so Debian
 * kernel versions such as 6.1.0-28-amd64 are versions).  Returns 0, or -1 (err, errno EINVAL).
 */
static int check_version(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                         const char *key, const char *v, struct xerr *err)
{
	char q[YDOC_QUOTE_LEN];
	bool ok = v[0] >= '0' && v[0] <= '9';

	for (const char *p = v; ok && *p; p++)
		ok = version_char(*p);
	if (ok)
		return 0;
	return ydoc_error(d, err, ydoc_lookup(d, map, key, NULL), YPATH_KEY(at, key),
	                  "%s is not a version (a digit, then letters, digits, '.', '+', '~', "
	                  "'-' or '_')",
	                  ydoc_quote(v, q, sizeof(q)));
}

/*
 * Catalogs written before os_version and mpi_version had "debian-12" and "mpich-4.0.2 ch4:ucx":
 * when the version key is absent, "FAMILY-VERSION[ anything]" is split into the family and the
 * version (the rest is dropped).  Returns 0, or -1 with errno ENOMEM.
 */
static int split_family(char **family, char **version)
{
	char *s = *family, *dash, *end, *v;

	if (!s || *version)
		return 0;
	for (dash = strchr(s, '-'); dash; dash = strchr(dash + 1, '-'))
		if (dash > s && dash[1] >= '0' && dash[1] <= '9')
			break;
	if (!dash)
		return 0;
	for (end = dash + 1; *end && version_char(*end); end++)
		;
	if (*end && *end != ' ')
		return 0;
	v = malloc((size_t)(end - dash));
	if (!v) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(v, dash + 1, (size_t)(end - dash - 1));
	v[end - dash - 1] = '\0';
	*dash = '\0';
	*version = v;
	return 0;
}

static bool valid_attr_key(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ATTR_KEY_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* A generic value's type: true/false is a boolean, digits and dots a version, else a string. */
static enum xenvm_attr_type infer_type(const yaml_node_t *v, bool *boolean)
{
	const char *s = (const char *)v->data.scalar.value;
	bool digits = false;

	if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
			*boolean = s[0] == 't';
			return XENVM_ATTR_BOOL;
		}
	}
	if (s[0] < '0' || s[0] > '9')
		return XENVM_ATTR_STRING;
	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits = true;
		else if (*p != '.' || !digits || p[1] == '.' || p[1] == '\0')
			return XENVM_ATTR_STRING;
	}
	return XENVM_ATTR_VERSION;
}

/*
 * One generic attribute (key node k, value node v) into img->attributes.extra[n_extra].  A key
 * one or two edits from a well-known one is taken for a typo of it.  Returns 0, or -1 (err,
 * errno EINVAL or ENOMEM).
 */
static int parse_extra_attr(const struct ydoc *d, const yaml_node_t *k, const yaml_node_t *v,
                            const struct ypath *at, struct xenvm_image *img, struct xerr *err)
{
	const char *key = (const char *)k->data.scalar.value;
	const struct ypath *here = YPATH_KEY(at, key);
	struct xenvm_attr *a = &img->attributes.extra[img->attributes.n_extra];
	char q[YDOC_QUOTE_LEN];

	if (!valid_attr_key(key))
		return ydoc_error(d, err, k, here,
		                  "an attribute's name is 1-%d lowercase letters, digits or '_', "
		                  "starting with a letter",
		                  ATTR_KEY_MAX);
	for (size_t i = 0; strlen(key) >= 4 && attr_keys[i]; i++)
		if (xenvm_edit_distance(key, attr_keys[i], 2) <= 2)
			return ydoc_error(
			    d, err, k, here,
			    "unknown attribute; did you mean '%s'? (other names are "
			    "site attributes, but this one is too close to a known one)",
			    attr_keys[i]);
	if (!v || v->type != YAML_SCALAR_NODE || ydoc_is_null(v))
		return ydoc_error(d, err, v ? v : k, here,
		                  "a site attribute is a string, a version or true/false; found %s",
		                  ydoc_describe(v, q, sizeof(q)));
	if (ydoc_node_str(d, v, here, YDOC_NONEMPTY, &a->value, err) < 0)
		return -1;
	a->key = strdup(key);
	if (!a->key) {
		free(a->value);
		a->value = NULL;
		return xerr_errno(err, ENOMEM, "%s: out of memory", d->file);
	}
	a->type = infer_type(v, &a->boolean);
	img->attributes.n_extra++;
	return 0;
}

/* attributes: the well-known keys, typed, and any other key as a generic attribute. */
static int parse_attributes(const struct ydoc *d, const yaml_node_t *attr, const struct ypath *at,
                            struct xenvm_image *img, struct xerr *err)
{
	struct xenvm_attr *extra;
	size_t n;

	if (!attr)
		return 0;
	if (ydoc_get_str(d, attr, at, "os", 0, &img->attributes.os, err) < 0 ||
	    ydoc_get_str(d, attr, at, "os_version", YDOC_NONEMPTY, &img->attributes.os_version,
	                 err) < 0 ||
	    ydoc_get_str(d, attr, at, "kernel", YDOC_NONEMPTY, &img->attributes.kernel_version,
	                 err) < 0 ||
	    ydoc_get_str(d, attr, at, "mpi", 0, &img->attributes.mpi, err) < 0 ||
	    ydoc_get_str(d, attr, at, "mpi_version", YDOC_NONEMPTY, &img->attributes.mpi_version,
	                 err) < 0 ||
	    ydoc_get_bool(d, attr, at, "ib", &img->attributes.ib, err) < 0 ||
	    ydoc_get_strlist(d, attr, at, "libraries", 0, &img->attributes.libraries,
	                     &img->attributes.n_libraries, err) < 0)
		return -1;
	if ((img->attributes.os_version &&
	     check_version(d, attr, at, "os_version", img->attributes.os_version, err) < 0) ||
	    (img->attributes.kernel_version &&
	     check_version(d, attr, at, "kernel", img->attributes.kernel_version, err) < 0) ||
	    (img->attributes.mpi_version &&
	     check_version(d, attr, at, "mpi_version", img->attributes.mpi_version, err) < 0))
		return -1;
	if (split_family(&img->attributes.os, &img->attributes.os_version) < 0 ||
	    split_family(&img->attributes.mpi, &img->attributes.mpi_version) < 0)
		return xerr_set(err, "%s: out of memory", d->file);
	n = (size_t)(attr->data.mapping.pairs.top - attr->data.mapping.pairs.start);
	extra = calloc(n ? n : 1, sizeof(*extra));
	if (!extra)
		return xerr_errno(err, ENOMEM, "%s: out of memory", d->file);
	img->attributes.extra = extra;
	for (size_t i = 0; i < n; i++) {
		const yaml_node_pair_t *p = &attr->data.mapping.pairs.start[i];
		const yaml_node_t *k = ydoc_node(d, p->key);
		size_t j;

		for (j = 0; attr_keys[j] && strcmp(attr_keys[j], ydoc_scalar(k)) != 0; j++)
			;
		if (!attr_keys[j] &&
		    parse_extra_attr(d, k, ydoc_node(d, p->value), at, img, err) < 0)
			return -1;
	}
	if (!img->attributes.n_extra) {
		free(img->attributes.extra);
		img->attributes.extra = NULL;
	}
	return 0;
}

/* ------------------------------------------------------------------ one image */

/*
 * files.<role> into *f.  Returns 1 (parsed), 0 (absent and not required) or -1 with err filled
 * and errno EINVAL or ENOMEM.
 */
static int parse_file(const struct ydoc *d, const yaml_node_t *files, const struct ypath *at,
                      const char *role, bool required, struct xenvm_image_file *f, struct xerr *err)
{
	const struct ypath *here = YPATH_KEY(at, role);
	char *sha = NULL, q[YDOC_QUOTE_LEN];
	yaml_node_t *m = NULL;
	int rc = ydoc_get_map(d, files, at, role, file_keys, &m, err);

	if (rc <= 0)
		return rc < 0 || !required ? rc : missing(d, files, at, role, err);
	rc = ydoc_get_str(d, m, here, "path", YDOC_NONEMPTY, &f->path, err);
	if (rc <= 0)
		return rc < 0 ? rc : missing(d, m, here, "path", err);
	if (has_dotdot(f->path))
		return ydoc_error(d, err, ydoc_lookup(d, m, "path", NULL), YPATH_KEY(here, "path"),
		                  "%s must not contain '..'", ydoc_quote(f->path, q, sizeof(q)));
	rc = ydoc_get_str(d, m, here, "sha256", 0, &sha, err);
	if (rc <= 0)
		return rc < 0 ? rc : missing(d, m, here, "sha256", err);
	if (!valid_sha256(sha)) {
		ydoc_error(d, err, ydoc_lookup(d, m, "sha256", NULL), YPATH_KEY(here, "sha256"),
		           "%s is not a sha256 digest (64 lowercase hex digits)",
		           ydoc_quote(sha, q, sizeof(q)));
		free(sha);
		return -1;
	}
	memcpy(f->sha256, sha, XENVM_SHA256_HEX_LEN + 1);
	free(sha);
	rc = ydoc_get_uint(d, m, here, "size", 1, UINT64_MAX, 0, &f->size, err);
	if (rc <= 0)
		return rc < 0 ? rc : missing(d, m, here, "size", err);
	return 1;
}

/* files: kernel, initrd and the optional rootdisk.  Returns 0, or -1 (err, errno). */
static int parse_files(const struct ydoc *d, const yaml_node_t *img_node, const struct ypath *at,
                       struct xenvm_image *img, struct xerr *err)
{
	const struct ypath *here = YPATH_KEY(at, "files");
	yaml_node_t *m = NULL;
	int rc = ydoc_get_map(d, img_node, at, "files", files_keys, &m, err);

	if (rc <= 0)
		return rc < 0 ? rc : missing(d, img_node, at, "files", err);
	if (parse_file(d, m, here, "kernel", true, &img->kernel, err) < 0 ||
	    parse_file(d, m, here, "initrd", true, &img->initrd, err) < 0 ||
	    parse_file(d, m, here, "rootdisk", false, &img->rootdisk, err) < 0)
		return -1;
	return 0;
}

/* memory and vcpus, with default <= max.  Returns 0, or -1 (err, errno). */
static int parse_limits(const struct ydoc *d, const yaml_node_t *img_node, const struct ypath *at,
                        struct xenvm_image *img, struct xerr *err)
{
	const struct ypath *mem_at = YPATH_KEY(at, "memory"), *cpu_at = YPATH_KEY(at, "vcpus");
	yaml_node_t *mem = NULL, *cpu = NULL;
	uint64_t vdef = img->limits.vcpus_default, vmax = img->limits.vcpus_max;
	char a[32], b[32];
	int has_def, has_max;

	if (ydoc_get_map(d, img_node, at, "memory", limit_keys, &mem, err) < 0)
		return -1;
	has_def = ydoc_get_size(d, mem, mem_at, "default", MiB, UINT64_MAX,
	                        &img->limits.default_bytes, err);
	if (has_def < 0)
		return -1;
	has_max =
	    ydoc_get_size(d, mem, mem_at, "max", MiB, UINT64_MAX, &img->limits.max_bytes, err);
	if (has_max < 0)
		return -1;
	if (has_def > 0 && has_max > 0 && img->limits.default_bytes > img->limits.max_bytes)
		return ydoc_error(d, err, ydoc_lookup(d, mem, "default", NULL), mem_at,
		                  "default %s is larger than max %s",
		                  xenvm_format_size(img->limits.default_bytes, a, sizeof(a)),
		                  xenvm_format_size(img->limits.max_bytes, b, sizeof(b)));

	if (ydoc_get_map(d, img_node, at, "vcpus", limit_keys, &cpu, err) < 0 ||
	    ydoc_get_uint(d, cpu, cpu_at, "default", 1, VCPUS_MAX, 0, &vdef, err) < 0 ||
	    ydoc_get_uint(d, cpu, cpu_at, "max", 1, VCPUS_MAX, 0, &vmax, err) < 0)
		return -1;
	if (vdef > vmax)
		return ydoc_error(d, err, ydoc_lookup(d, cpu, "default", NULL), cpu_at,
		                  "default %llu is larger than max %llu", (unsigned long long)vdef,
		                  (unsigned long long)vmax);
	img->limits.vcpus_default = (uint32_t)vdef;
	img->limits.vcpus_max = (uint32_t)vmax;
	return 0;
}

/* features, each usable in a Slurm constraint.  Returns 0, or -1 (err, errno). */
static int parse_features(const struct ydoc *d, const yaml_node_t *img_node, const struct ypath *at,
                          struct xenvm_image *img, struct xerr *err)
{
	const struct ypath *here = YPATH_KEY(at, "features");
	char q[YDOC_QUOTE_LEN];
	yaml_node_t *seq;

	int rc =
	    ydoc_get_strlist(d, img_node, at, "features", 0, &img->features, &img->n_features, err);

	if (rc <= 0)
		return rc;
	seq = ydoc_lookup(d, img_node, "features", NULL);
	for (size_t i = 0; i < img->n_features; i++) {
		const struct ypath elem = {.up = here, .key = NULL, .index = i};

		if (!valid_feature(img->features[i]))
			return ydoc_error(d, err, ydoc_node(d, seq->data.sequence.items.start[i]),
			                  &elem,
			                  "%s is not a node feature name (no spaces, quotes or any "
			                  "of & | , : * ! [ ] ( ))",
			                  ydoc_quote(img->features[i], q, sizeof(q)));
	}
	return 0;
}

/*
 * cmdline: at most XENVM_CMDLINE_MAX bytes of printable ASCII.  The drivers add their own
 * parameters (hostname, address, shares, the job's node list) and Linux takes 2047 bytes in all;
 * a control character or a newline has no place on a kernel command line.
 * Returns 0, or -1 with err ("FILE:LINE:COL: images.NAME.cmdline: ...") and errno EINVAL.
 */
static int check_cmdline(const struct ydoc *d, const yaml_node_t *img_node, const struct ypath *at,
                         const char *cmdline, struct xerr *err)
{
	const struct ypath *here = YPATH_KEY(at, "cmdline");
	const yaml_node_t *node;
	size_t len;

	if (!cmdline)
		return 0;
	node = ydoc_lookup(d, img_node, "cmdline", NULL);
	len = strlen(cmdline);
	if (len > XENVM_CMDLINE_MAX)
		return ydoc_error(
		    d, err, node, here,
		    "%zu bytes: a kernel command line of an image has at most %d (Linux "
		    "takes 2047 with what the drivers add)",
		    len, XENVM_CMDLINE_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)cmdline[i] < 0x20 || (unsigned char)cmdline[i] > 0x7e)
			return ydoc_error(
			    d, err, node, here,
			    "byte %zu is 0x%02x: only printable ASCII (no newline, tab "
			    "or control character) on a kernel command line",
			    i + 1, (unsigned char)cmdline[i]);
	return 0;
}

/*
 * One image: `key` is its name node, `node` its mapping; fills *img (which the caller frees
 * with image_fini() even on failure).  Returns 0, or -1 with err filled and errno EINVAL or ENOMEM.
 */
static int parse_image(const struct ydoc *d, const yaml_node_t *key, const yaml_node_t *node,
                       const struct ypath *images_at, struct xenvm_image *img, struct xerr *err)
{
	const char *name = (const char *)key->data.scalar.value;
	const struct ypath *at = YPATH_KEY(images_at, name);
	const struct ypath *xen_at = YPATH_KEY(at, "xen"), *attr_at = YPATH_KEY(at, "attributes"),
	                   *allow_at = YPATH_KEY(at, "allow");
	yaml_node_t *xen = NULL, *attr = NULL, *allow = NULL;
	char q[YDOC_QUOTE_LEN];
	int guest = XENVM_GUEST_PVH;
	uint64_t priority = 0;

	if (!valid_name(name))
		return ydoc_error(d, err, key, at,
		                  "%s is not a valid image name (1-64 letters, digits, '.', '_' "
		                  "or '-', starting with a letter or digit)",
		                  ydoc_quote(name, q, sizeof(q)));
	img->name = strdup(name);
	if (!img->name)
		return xerr_errno(err, ENOMEM, "%s: out of memory", d->file);
	img->limits.default_bytes = 0;      /* the site's vm.default_memory */
	img->limits.max_bytes = UINT64_MAX; /* no limit of the image's own */
	img->limits.vcpus_default = 1;
	img->limits.vcpus_max = VCPUS_MAX;
	if (ydoc_check_map(d, node, at, image_keys, err) < 0 ||
	    ydoc_get_str(d, node, at, "description", 0, &img->description, err) < 0 ||
	    parse_files(d, node, at, img, err) < 0 ||
	    ydoc_get_str(d, node, at, "cmdline", 0, &img->cmdline, err) < 0 ||
	    check_cmdline(d, node, at, img->cmdline, err) < 0 ||
	    ydoc_get_map(d, node, at, "xen", xen_keys, &xen, err) < 0 ||
	    ydoc_get_enum(d, xen, xen_at, "guest_type", guest_names, &guest, err) < 0 ||
	    ydoc_get_map(d, node, at, "attributes", NULL, &attr, err) < 0 ||
	    parse_attributes(d, attr, attr_at, img, err) < 0 ||
	    parse_limits(d, node, at, img, err) < 0 || parse_features(d, node, at, img, err) < 0 ||
	    ydoc_get_map(d, node, at, "allow", allow_keys, &allow, err) < 0 ||
	    ydoc_get_strlist(d, allow, allow_at, "users", 0, &img->allow.users, &img->allow.n_users,
	                     err) < 0 ||
	    ydoc_get_strlist(d, allow, allow_at, "groups", 0, &img->allow.groups,
	                     &img->allow.n_groups, err) < 0 ||
	    ydoc_get_strlist(d, allow, allow_at, "accounts", 0, &img->allow.accounts,
	                     &img->allow.n_accounts, err) < 0 ||
	    ydoc_get_strlist(d, allow, allow_at, "partitions", 0, &img->allow.partitions,
	                     &img->allow.n_partitions, err) < 0 ||
	    ydoc_get_bool(d, node, at, "root_allowed", &img->allow_root, err) < 0 ||
	    ydoc_get_uint(d, node, at, "priority", 0, PRIORITY_MAX, 0, &priority, err) < 0)
		return -1;
	img->priority = (uint32_t)priority;
	img->guest_type = (enum xenvm_guest_type)guest;
	if (xenvm_image_digest(img) < 0)
		return xerr_set(err, "%s: %s: cannot compute the digest: %s", d->file, name,
		                strerror(errno));
	return 0;
}

/* ------------------------------------------------------------------ the file */

/* Whether the load must end (cancelled, or out of time); sets errno and err. */
static bool must_stop(const char *path, const struct xenvm_catalog_limits *lim,
                      const struct timespec *t0, struct xerr *err)
{
	struct timespec now;
	int64_t ms;

	if (lim->cancel && atomic_load(lim->cancel)) {
		errno = ECANCELED;
		xerr_set(err, "%s: load cancelled", path);
		return true;
	}
	if (!lim->max_ms)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
	if (ms < lim->max_ms)
		return false;
	errno = ETIMEDOUT;
	xerr_set(err, "%s: loading took longer than %u ms: refused", path, lim->max_ms);
	return true;
}

/*
 * Returns 0 and *out, or -1 with err filled, *out untouched and errno EINVAL (bad argument or
 * content), ENOMEM, or the error from opening/reading the file (ENOENT, EACCES...).
 */
int xenvm_catalog_load(const char *path, struct xenvm_catalog **out, struct xerr *err)
{
	return xenvm_catalog_load_limited(path, NULL, out, err);
}

/* See catalog.h; the YAML bounds are ydoc's defaults but for the size and time given. */
int xenvm_catalog_load_limited(const char *path, const struct xenvm_catalog_limits *lim,
                               struct xenvm_catalog **out, struct xerr *err)
{
	static const struct xenvm_catalog_limits defaults = XENVM_CATALOG_LIMITS_DEFAULT;
	struct ydoc_limits ylim = ydoc_default_limits;
	struct timespec t0;
	const struct ypath *images_at = YPATH_KEY(NULL, "images");
	struct ydoc d = YDOC_INIT;
	struct xenvm_catalog *cat = NULL;
	yaml_node_t *root, *images = NULL;
	size_t n;
	int rc = -1, saved;

	if (!path || !out)
		return xerr_errno(err, EINVAL, "xenvm_catalog_load: invalid argument");
	if (!lim)
		lim = &defaults;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ylim.max_bytes = lim->max_bytes;
	ylim.max_ms = lim->max_ms;
	ylim.cancel = lim->cancel;
	cat = calloc(1, sizeof(*cat));
	if (!cat || !(cat->path = strdup(path))) {
		errno = ENOMEM;
		xerr_set(err, "%s: out of memory", path);
		goto out;
	}
	atomic_init(&cat->refs, 1);
	if (ydoc_load_limited(&d, path, &ylim, err) < 0)
		goto out;
	root = ydoc_root(&d);
	if (root && (ydoc_check_map(&d, root, NULL, root_keys, err) < 0 ||
	             ydoc_get_map(&d, root, NULL, "images", NULL, &images, err) < 0))
		goto out;
	n = images ? (size_t)(images->data.mapping.pairs.top - images->data.mapping.pairs.start)
	           : 0;
	if (n) {
		cat->images = calloc(n, sizeof(*cat->images));
		if (!cat->images) {
			errno = ENOMEM;
			xerr_set(err, "%s: out of memory", path);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const yaml_node_pair_t *p = &images->data.mapping.pairs.start[i];

		if (i % 256 == 0 && must_stop(path, lim, &t0, err))
			goto out;
		cat->n_images++; /* so that xenvm_catalog_free() sees a half-filled image */
		if (parse_image(&d, ydoc_node(&d, p->key), ydoc_node(&d, p->value), images_at,
		                &cat->images[i], err) < 0)
			goto out;
	}
	if (xenvm_catalog_index_build(cat) < 0) {
		xerr_set(err, "%s: cannot index the catalog: %s", path, strerror(errno));
		goto out;
	}
	cat->memo = xenvm_catalog_memo_new();
	if (!cat->memo) {
		xerr_set(err, "%s: out of memory", path);
		goto out;
	}
	*out = cat;
	cat = NULL;
	rc = 0;
out:
	saved = errno;
	xenvm_catalog_free(cat);
	ydoc_free(&d);
	errno = saved;
	return rc;
}
