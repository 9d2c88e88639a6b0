/* catalog.c - loading images.yaml, see catalog.h and images.yaml(5). */
#include "catalog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_priv.h"
#include "imageref.h"
#include "units.h"
#include "yamldoc.h"

#define MiB (UINT64_C(1) << 20)
#define VCPUS_MAX 512

static const char *const root_keys[] = {"images", NULL};
static const char *const image_keys[] = {"description", "files",        "cmdline", "xen",
                                         "attributes",  "memory",       "vcpus",   "features",
                                         "allow",       "root_allowed", NULL};
static const char *const files_keys[] = {"kernel", "initrd", "rootdisk", NULL};
static const char *const file_keys[] = {"path", "sha256", "size", NULL};
static const char *const xen_keys[] = {"guest_type", NULL};
static const char *const attr_keys[] = {"os", "kernel", "mpi", "ib", "libraries", NULL};
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
	free(img->attributes.kernel_version);
	free(img->attributes.mpi);
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
	free(cat);
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

	if (!valid_name(name))
		return ydoc_error(d, err, key, at,
		                  "%s is not a valid image name (1-64 letters, digits, '.', '_' "
		                  "or '-', starting with a letter or digit)",
		                  ydoc_quote(name, q, sizeof(q)));
	img->name = strdup(name);
	if (!img->name) {
		errno = ENOMEM;
		return xerr_set(err, "%s: out of memory", d->file);
	}
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
	    ydoc_get_map(d, node, at, "attributes", attr_keys, &attr, err) < 0 ||
	    ydoc_get_str(d, attr, attr_at, "os", 0, &img->attributes.os, err) < 0 ||
	    ydoc_get_str(d, attr, attr_at, "kernel", 0, &img->attributes.kernel_version, err) < 0 ||
	    ydoc_get_str(d, attr, attr_at, "mpi", 0, &img->attributes.mpi, err) < 0 ||
	    ydoc_get_bool(d, attr, attr_at, "ib", &img->attributes.ib, err) < 0 ||
	    ydoc_get_strlist(d, attr, attr_at, "libraries", 0, &img->attributes.libraries,
	                     &img->attributes.n_libraries, err) < 0 ||
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
	    ydoc_get_bool(d, node, at, "root_allowed", &img->allow_root, err) < 0)
		return -1;
	img->guest_type = (enum xenvm_guest_type)guest;
	if (xenvm_image_digest(img) < 0)
		return xerr_set(err, "%s: %s: cannot compute the digest: %s", d->file, name,
		                strerror(errno));
	return 0;
}

/* ------------------------------------------------------------------ the file */

/*
 * Returns 0 and *out, or -1 with err filled, *out untouched and errno EINVAL (bad argument or
 * content), ENOMEM, or the error from opening/reading the file (ENOENT, EACCES...).
 */
int xenvm_catalog_load(const char *path, struct xenvm_catalog **out, struct xerr *err)
{
	const struct ypath *images_at = YPATH_KEY(NULL, "images");
	struct ydoc d = YDOC_INIT;
	struct xenvm_catalog *cat = NULL;
	yaml_node_t *root, *images = NULL;
	size_t n;
	int rc = -1, saved;

	if (!path || !out) {
		errno = EINVAL;
		return xerr_set(err, "xenvm_catalog_load: invalid argument");
	}
	cat = calloc(1, sizeof(*cat));
	if (!cat || !(cat->path = strdup(path))) {
		errno = ENOMEM;
		xerr_set(err, "%s: out of memory", path);
		goto out;
	}
	if (ydoc_load(&d, path, err) < 0)
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

		cat->n_images++; /* so that xenvm_catalog_free() sees a half-filled image */
		if (parse_image(&d, ydoc_node(&d, p->key), ydoc_node(&d, p->value), images_at,
		                &cat->images[i], err) < 0)
			goto out;
	}
	if (xenvm_catalog_index_build(cat) < 0) {
		xerr_set(err, "%s: cannot index the catalog: %s", path, strerror(errno));
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
