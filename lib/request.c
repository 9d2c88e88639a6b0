/* request.c - see request.h. */
#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imageref.h"
#include "units.h"

const struct xenvm_request_source xenvm_source_options = {
    "--vm-image",   "--vm-mem", "--vm-vcpus",   "--vm-root",
    "--vm-verbose", "digest",   "--vm-require", "--vm-mounts"};
const struct xenvm_request_source xenvm_source_env = {
    XENVM_REQ_IMAGE,   XENVM_REQ_MEM,    XENVM_REQ_VCPUS,   XENVM_REQ_ROOT,
    XENVM_REQ_VERBOSE, XENVM_REQ_DIGEST, XENVM_REQ_REQUIRE, XENVM_REQ_MOUNTS};
const struct xenvm_request_source xenvm_source_spank = {
    "SPANK_" XENVM_REQ_IMAGE,   "SPANK_" XENVM_REQ_MEM,     "SPANK_" XENVM_REQ_VCPUS,
    "SPANK_" XENVM_REQ_ROOT,    "SPANK_" XENVM_REQ_VERBOSE, "SPANK_" XENVM_REQ_DIGEST,
    "SPANK_" XENVM_REQ_REQUIRE, "SPANK_" XENVM_REQ_MOUNTS};

/* An absolute path fit for a mount list and the guest's command line.  0, or -1. */
static int mount_path_ok(const char *p)
{
	if (p[0] != '/')
		return -1;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c > 0x7e)
			return -1;
	for (const char *c = p; (c = strstr(c, "/..")) != NULL; c += 3)
		if (c[3] == '\0' || c[3] == '/')
			return -1;
	return 0;
}

int xenvm_parse_mounts(const char *what, const char *s, char *buf,
                       struct xenvm_mount out[XENVM_MOUNTS_MAX], size_t *n, struct xerr *err)
{
	static const char syntax[] = "SRC[:DST[:ro]],... with absolute paths";
	size_t count = 0;
	char *save = NULL, *entry;

	*n = 0;
	if (!s || strlen(s) >= XENVM_MOUNTS_LEN)
		return xerr_set(err, "%s: expected %s, at most %d bytes", what, syntax,
		                XENVM_MOUNTS_LEN - 1);
	memcpy(buf, s, strlen(s) + 1);
	for (entry = strtok_r(buf, ",", &save); entry; entry = strtok_r(NULL, ",", &save)) {
		char *dst = strchr(entry, ':'), *mode = NULL;
		struct xenvm_mount m = {.src = entry};

		if (dst) {
			*dst++ = '\0';
			mode = strchr(dst, ':');
			if (mode)
				*mode++ = '\0';
			m.dst = dst;
		}
		if (mode && strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0)
			return xerr_set(err, "%s: '%.80s' in %s: expected ro or rw", what, mode,
			                entry);
		m.ro = mode && strcmp(mode, "ro") == 0;
		if (!m.dst)
			m.dst = m.src;
		if (mount_path_ok(m.src) < 0 || mount_path_ok(m.dst) < 0)
			return xerr_set(
			    err,
			    "%s: '%.80s' is not an absolute path without blanks or '..' "
			    "(expected %s)",
			    what, mount_path_ok(m.src) < 0 ? m.src : m.dst, syntax);
		if (strcmp(m.dst, "/") == 0)
			return xerr_set(err, "%s: %s: cannot mount over the guest's /", what,
			                m.src);
		if (count == XENVM_MOUNTS_MAX)
			return xerr_set(err, "%s: more than %d mounts", what, XENVM_MOUNTS_MAX);
		out[count++] = m;
	}
	if (!count)
		return xerr_set(err, "%s: empty (expected %s)", what, syntax);
	*n = count;
	return 0;
}

int xenvm_parse_image_name(const char *what, const char *s, char *out, struct xerr *err)
{
	size_t len;

	if (!s || !*s)
		return xerr_set(err, "%s: an image name is required (e.g. %s=ttylinux-mpi)", what,
		                what);
	len = strlen(s);
	if (len > XENVM_IMAGE_NAME_MAX)
		return xerr_set(err,
		                "%s: image name is %zu characters long; at most %d are allowed",
		                what, len, XENVM_IMAGE_NAME_MAX);
	if (!xenvm_image_ref_valid(s))
		return xerr_set(err,
		                "%s: invalid image name '%.80s': use letters, digits and "
		                "'.', '_', '-' (not first), as NAME, NAME:TAG or USER/NAME[:TAG]",
		                what, s);
	memcpy(out, s, len + 1);
	return 0;
}

int xenvm_parse_mem(const char *what, const char *s, uint64_t *out, struct xerr *err)
{
	uint64_t v;

	if (!s || xenvm_parse_size(s, &v) < 0)
		return xerr_set(err, "%s: '%.80s' is not a memory size (use e.g. 512M or 2G)", what,
		                s ? s : "");
	if (v < (16ULL << 20))
		return xerr_set(err, "%s: %.80s is too small; a VM needs at least 16M", what, s);
	*out = v;
	return 0;
}

int xenvm_parse_vcpus(const char *what, const char *s, uint32_t *out, struct xerr *err)
{
	char *end = NULL;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		goto bad;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > XENVM_VCPUS_MAX)
		goto bad;
	*out = (uint32_t)v;
	return 0;
bad:
	return xerr_set(err, "%s: '%.80s' is not a vCPU count (a whole number from 1 to %d)", what,
	                s ? s : "", XENVM_VCPUS_MAX);
}

int xenvm_parse_flag(const char *what, const char *s, bool *out, struct xerr *err)
{
	static const char *const yes[] = {"", "1", "yes", "true", "y"};
	static const char *const no[] = {"0", "no", "false", "n"};

	if (!s)
		s = "";
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	return xerr_set(err, "%s: '%.80s' is not a yes/no value (use 1 or 0)", what, s);
}

int xenvm_parse_digest(const char *what, const char *s, char *out, struct xerr *err)
{
	if (!s || strncmp(s, "sha256:", 7) != 0 || strlen(s) != XENVM_DIGEST_LEN)
		goto bad;
	for (const char *p = s + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			goto bad;
	memcpy(out, s, XENVM_DIGEST_LEN + 1);
	return 0;
bad:
	return xerr_set(err, "%s: '%.80s' is not an image digest (sha256:<64 hex digits>)", what,
	                s ? s : "");
}

int xenvm_parse_require(const char *what, const char *s, char *out, struct xerr *err)
{
	struct xenvm_requirements r;

	if (xenvm_require_parse(what, s, &r, err) < 0)
		return -1;
	xenvm_require_format(&r, out, XENVM_REQUIRE_MAX_LEN + 1);
	return 0;
}

static const char *lookup(xenvm_getenv_fn get, void *ctx, const char *prefix, const char *name)
{
	char key[128];

	snprintf(key, sizeof(key), "%s%s", prefix, name);
	return get(ctx, key);
}

int xenvm_request_from_env(struct xenvm_request *req, const char *prefix, xenvm_getenv_fn get,
                           void *ctx, const struct xenvm_request_source *src, struct xerr *err)
{
	struct xenvm_request r;
	const char *image, *mem, *vcpus, *root, *verbose, *digest, *require, *mounts;
	struct xenvm_mount m[XENVM_MOUNTS_MAX];
	char scratch[XENVM_MOUNTS_LEN];
	size_t n_mounts;

	if (!req || !prefix || !get || !src) {
		return xerr_errno(err, EINVAL,
		                  "internal error: bad arguments to xenvm_request_from_env");
	}
	memset(&r, 0, sizeof(r));
	image = lookup(get, ctx, prefix, XENVM_REQ_IMAGE);
	mem = lookup(get, ctx, prefix, XENVM_REQ_MEM);
	vcpus = lookup(get, ctx, prefix, XENVM_REQ_VCPUS);
	root = lookup(get, ctx, prefix, XENVM_REQ_ROOT);
	verbose = lookup(get, ctx, prefix, XENVM_REQ_VERBOSE);
	digest = lookup(get, ctx, prefix, XENVM_REQ_DIGEST);
	require = lookup(get, ctx, prefix, XENVM_REQ_REQUIRE);
	mounts = lookup(get, ctx, prefix, XENVM_REQ_MOUNTS);

	if (!image && !require) {
		const char *orphan = mem      ? src->mem
		                     : vcpus  ? src->vcpus
		                     : root   ? src->root
		                     : mounts ? src->mounts
		                              : NULL;

		memset(req, 0, sizeof(*req));
		if (orphan)
			return xerr_set(err,
			                "%s needs %s or %s: it sizes or configures the job's VM",
			                orphan, src->image, src->require);
		return 0;
	}
	if (image && xenvm_parse_image_name(src->image, image, r.image, err) < 0)
		return -1;
	if (require && xenvm_parse_require(src->require, require, r.require, err) < 0)
		return -1;
	if (mem && xenvm_parse_mem(src->mem, mem, &r.mem_bytes, err) < 0)
		return -1;
	if (vcpus && xenvm_parse_vcpus(src->vcpus, vcpus, &r.vcpus, err) < 0)
		return -1;
	if (root && xenvm_parse_flag(src->root, root, &r.root, err) < 0)
		return -1;
	if (verbose && xenvm_parse_flag(src->verbose, verbose, &r.verbose, err) < 0)
		return -1;
	if (digest && xenvm_parse_digest(src->digest, digest, r.digest, err) < 0)
		return -1;
	if (mounts && *mounts) {
		if (xenvm_parse_mounts(src->mounts, mounts, scratch, m, &n_mounts, err) < 0)
			return -1;
		memcpy(r.mounts, mounts, strlen(mounts) + 1);
	}
	*req = r;
	return 1;
}

const char *xenvm_getenv_process(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

const char *xenvm_getenv_array(void *ctx, const char *name)
{
	const struct xenvm_envv *e = ctx;
	size_t len = strlen(name);

	if (!e || !e->v)
		return NULL;
	/* The last assignment wins, as it would in a shell. */
	for (uint32_t i = e->n; i-- > 0;) {
		const char *s = e->v[i];

		if (s && strncmp(s, name, len) == 0 && s[len] == '=')
			return s + len + 1;
	}
	return NULL;
}
