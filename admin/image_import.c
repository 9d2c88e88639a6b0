/*
 * image_import.c - `xenvm image import SOURCE`: a container image made a VM image (issue 16,
 * xenvm-image(1)).
 *
 * Runs as the user (never as root): skopeo copies SOURCE into one OCI layout in the user's cache
 * (blobs by digest, so a layer already there is not fetched again), umoci unpacks it rootless
 * (whiteouts and opaque directories applied, device nodes dropped: an unprivileged unpack cannot
 * make them), mksquashfs packs the root file system with the guest image's settings and fixed
 * times, so the same content gives the same bytes (and the same image digest) whatever archive
 * it came in.  The root disk is cached by the image config's digest: an unchanged image is not
 * unpacked again.  The site's kernel and initrd (a site image, --base) boot it; the kernel command
 * line's xenvm.container=1 tells the initrd's /init to make the root disk the root
 * (guest/rootfs/init).
 */
#include "image_import.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "admin.h"
#include "image_base.h"
#include "image_cache.h"
#include "image_inspect.h"
#include "image_owners.h"
#include "image_source.h"
#include "imgstore/client.h"
#include "lib/atomic_file.h"
#include "lib/catalog.h"
#include "lib/log.h"
#include "lib/run.h"
#include "lib/units.h"
#include "lib/yamldoc.h"

#define HOUR_MS (3600u * 1000u)

struct import {
	const char *source;
	struct xa_source src;
	char name[100]; /* NAME:TAG as pushed */
	const char *base;
	bool tls_verify;
	bool tty;
	char cache[2048];
	char layout[2100]; /* <cache>/oci */
	char ref[80];      /* the source's tag in the layout */
	char config_hex[IMGS_HEX_LEN + 1];
	char manifest_hex[IMGS_HEX_LEN + 1];
	/* the root disk's name in the cache: the image config and the base's root disk (modules) */
	char disk_hex[IMGS_HEX_LEN + 1];
	const struct xenvm_config *cfg;
	const struct xenvm_image *baseimg; /* --base, in basecat */
	struct xenvm_catalog *basecat;
	unsigned layers;
	char (*layer_hex)[IMGS_HEX_LEN + 1]; /* the manifest's layers, bottom first */
	uint64_t bytes;
	char env_workdir_user[8192]; /* /.xenvm/config's text */
	struct xa_cache *cachelock;
	char arch[32];
};

static void progress(struct import *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(struct import *im, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (im->tty) {
		fputs("\r\033[Kimport: ", stderr);
		vfprintf(stderr, fmt, ap);
	} else {
		fputs("import: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
	fflush(stderr);
}

static void progress_end(struct import *im)
{
	if (im->tty)
		fputc('\n', stderr);
}

static void sha256_hex(const char *s, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

/* Find a program on the fixed system path (never the user's PATH for what we exec). */
static const char *tool(const char *name, char *buf, size_t len, struct xerr *err)
{
	static const char *const dirs[] = {"/usr/bin", "/usr/sbin", "/bin", "/sbin", NULL};

	for (int i = 0; dirs[i]; i++) {
		snprintf(buf, len, "%s/%s", dirs[i], name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	xerr_set(err, "%s is not installed (scripts/install-deps: skopeo umoci squashfs-tools)",
	         name);
	return NULL;
}

/* Run argv, stderr's tail into err on failure. */
static int run(char *const argv[], const char *what, struct xerr *err)
{
	struct xenvm_run_result *r = calloc(1, sizeof(*r));
	char last[600];
	int rc = -1;

	if (!r)
		return xerr_set(err, "out of memory");
	if (xenvm_run(argv, NULL, HOUR_MS, r) < 0)
		xerr_set(err, "%s: cannot run %s: %s", what, argv[0], strerror(errno));
	else if (r->timed_out || !WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
		xenvm_last_line(r->err[0] ? r->err : r->out, last, sizeof(last));
		xerr_set(err, "%s failed: %s", what, last[0] ? last : "(no message)");
	} else
		rc = 0;
	free(r);
	return rc;
}

/* skopeo's error, said in the user's terms. */
static void skopeo_error(const struct import *im, const char *msg, struct xerr *err)
{
	const char *why = "cannot copy the image";

	if (strstr(msg, "no image found in manifest list for architecture") ||
	    strstr(msg, "choosing image instance"))
		why = "no amd64 image at this source (an image for another architecture)";
	else if (strstr(msg, "connection refused") || strstr(msg, "no such host") ||
	         strstr(msg, "dial tcp") || strstr(msg, "i/o timeout") ||
	         strstr(msg, "server gave HTTP response to HTTPS client") ||
	         strstr(msg, "network is unreachable"))
		why = "registry unreachable";
	else if (strstr(msg, "manifest unknown") || strstr(msg, "not found") ||
	         strstr(msg, "no such file or directory") || strstr(msg, "NAME_UNKNOWN") ||
	         strstr(msg, "no descriptor found"))
		why = "image not found";
	else if (strstr(msg, "unauthorized") || strstr(msg, "authentication required"))
		why = "not authorised by the registry";
	else if (strstr(msg, "no space left"))
		why = "no space left in the cache";
	xerr_set(err, "%s: %s (skopeo: %s)", im->source, why, msg);
}

/*
 * skopeo copy SOURCE oci:<layout>:<ref>, its lines read as they come: a redrawn progress line
 * ("Copying blob sha256:... done" per layer; "skipped: already exists" for a cached one).
 */
static int fetch(struct import *im, struct xerr *err)
{
	char skopeo[64], dst[2300], *argv[12];
	int argc = 0, pipefd[2], status;
	unsigned blobs = 0, cached = 0;
	char line[4096], errtail[2048] = "";
	size_t elen = 0;
	pid_t pid;
	FILE *f;

	if (!tool("skopeo", skopeo, sizeof(skopeo), err))
		return -1;
	snprintf(dst, sizeof(dst), "oci:%s:%s", im->layout, im->ref);
	argv[argc++] = skopeo;
	argv[argc++] = "copy";
	if (!im->tls_verify)
		argv[argc++] = "--src-tls-verify=false";
	argv[argc++] = "--override-arch=amd64";
	argv[argc++] = "--override-os=linux";
	argv[argc++] = (char *)im->source;
	argv[argc++] = dst;
	argv[argc] = NULL;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return xerr_set(err, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return xerr_set(err, "fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execv(skopeo, argv);
		_exit(127);
	}
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	progress(im, "copying %s", im->source);
	while (f && fgets(line, sizeof(line), f)) {
		size_t l = strlen(line);

		if (strncmp(line, "Copying blob", 12) == 0) {
			blobs++;
			if (strstr(line, "skipped"))
				cached++;
			progress(im, "layer %u fetched (%u already in the cache)", blobs, cached);
		} else if (strncmp(line, "Copying config", 14) != 0 &&
		           strncmp(line, "Getting image", 13) != 0 &&
		           strncmp(line, "Writing manifest", 16) != 0 &&
		           strncmp(line, "Storing signatures", 18) != 0) {
			if (elen + l >= sizeof(errtail))
				elen = 0;
			memcpy(errtail + elen, line, l + 1);
			elen += l;
		}
	}
	if (f)
		fclose(f);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		progress_end(im);
		while (elen && (errtail[elen - 1] == '\n'))
			errtail[--elen] = '\0';
		skopeo_error(im, errtail[0] ? errtail : "skopeo failed", err);
		return -1;
	}
	return 0;
}

static const char *scalar_at(const struct ydoc *d, const yaml_node_t *map, const char *key)
{
	yaml_node_t *v =
	    map && map->type == YAML_MAPPING_NODE ? ydoc_lookup(d, map, key, NULL) : NULL;

	return v && v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
}

/* "sha256:<hex>" -> hex into out; -1 otherwise. */
static int digest_hex(const char *s, char *out)
{
	if (!s || strncmp(s, "sha256:", 7) != 0 || !imgs_hex_valid(s + 7))
		return -1;
	snprintf(out, IMGS_HEX_LEN + 1, "%s", s + 7);
	return 0;
}

/* One line of /.xenvm/config; values with a newline are dropped (one line, one setting). */
static void config_line(struct import *im, const char *kind, const char *v)
{
	size_t n = strlen(im->env_workdir_user);

	if (!v || strchr(v, '\n') || !*v)
		return;
	snprintf(im->env_workdir_user + n, sizeof(im->env_workdir_user) - n, "%s %s\n", kind, v);
}

/* index.json -> manifest (layers, sizes) -> config (architecture, Env, WorkingDir, User). */
static int read_image(struct import *im, struct xerr *err)
{
	struct ydoc d = {0};
	char path[2400];
	yaml_node_t *root, *list, *cfg;
	const char *mdigest = NULL;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/index.json", im->layout);
	if (ydoc_load(&d, path, err) < 0)
		goto out;
	root = ydoc_root(&d);
	list = root && root->type == YAML_MAPPING_NODE ? ydoc_lookup(&d, root, "manifests", NULL)
	                                               : NULL;
	for (yaml_node_item_t *it =
	         list && list->type == YAML_SEQUENCE_NODE ? list->data.sequence.items.start : NULL;
	     it && it < list->data.sequence.items.top; it++) {
		yaml_node_t *m = ydoc_node(&d, *it);
		yaml_node_t *ann = m && m->type == YAML_MAPPING_NODE
		                       ? ydoc_lookup(&d, m, "annotations", NULL)
		                       : NULL;
		const char *name = scalar_at(&d, ann, "org.opencontainers.image.ref.name");

		if (name && strcmp(name, im->ref) == 0)
			mdigest = scalar_at(&d, m, "digest");
	}
	if (digest_hex(mdigest, im->manifest_hex) < 0) {
		xerr_set(err, "%s: no manifest for %s after the copy", path, im->ref);
		goto out;
	}
	ydoc_free(&d);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", im->layout, im->manifest_hex);
	if (ydoc_load(&d, path, err) < 0)
		goto out;
	root = ydoc_root(&d);
	cfg =
	    root && root->type == YAML_MAPPING_NODE ? ydoc_lookup(&d, root, "config", NULL) : NULL;
	if (digest_hex(scalar_at(&d, cfg, "digest"), im->config_hex) < 0) {
		xerr_set(err, "%s: the manifest names no config", path);
		goto out;
	}
	list = root ? ydoc_lookup(&d, root, "layers", NULL) : NULL;
	im->layers = 0;
	im->bytes = 0;
	for (yaml_node_item_t *it =
	         list && list->type == YAML_SEQUENCE_NODE ? list->data.sequence.items.start : NULL;
	     it && it < list->data.sequence.items.top; it++) {
		const char *size = scalar_at(&d, ydoc_node(&d, *it), "size");
		void *more = realloc(im->layer_hex, (im->layers + 1) * sizeof(*im->layer_hex));

		if (!more) {
			xerr_set(err, "out of memory");
			goto out;
		}
		im->layer_hex = more;
		if (digest_hex(scalar_at(&d, ydoc_node(&d, *it), "digest"),
		               im->layer_hex[im->layers]) < 0) {
			xerr_set(err, "%s: a layer without a sha256 digest", path);
			goto out;
		}
		im->layers++;
		im->bytes += size ? strtoull(size, NULL, 10) : 0;
	}
	ydoc_free(&d);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", im->layout, im->config_hex);
	if (ydoc_load(&d, path, err) < 0)
		goto out;
	root = ydoc_root(&d);
	snprintf(im->arch, sizeof(im->arch), "%s",
	         scalar_at(&d, root, "architecture") ? scalar_at(&d, root, "architecture") : "?");
	if (strcmp(im->arch, "amd64") != 0 ||
	    (scalar_at(&d, root, "os") && strcmp(scalar_at(&d, root, "os"), "linux") != 0)) {
		xerr_set(err, "%s: an image for %s/%s, not linux/amd64 (another architecture)",
		         im->source, scalar_at(&d, root, "os") ? scalar_at(&d, root, "os") : "?",
		         im->arch);
		goto out;
	}
	cfg =
	    root && root->type == YAML_MAPPING_NODE ? ydoc_lookup(&d, root, "config", NULL) : NULL;
	im->env_workdir_user[0] = '\0';
	list = cfg && cfg->type == YAML_MAPPING_NODE ? ydoc_lookup(&d, cfg, "Env", NULL) : NULL;
	for (yaml_node_item_t *it =
	         list && list->type == YAML_SEQUENCE_NODE ? list->data.sequence.items.start : NULL;
	     it && it < list->data.sequence.items.top; it++) {
		yaml_node_t *v = ydoc_node(&d, *it);

		if (v && v->type == YAML_SCALAR_NODE && strchr((char *)v->data.scalar.value, '='))
			config_line(im, "ENV", (const char *)v->data.scalar.value);
	}
	config_line(im, "WORKDIR", scalar_at(&d, cfg, "WorkingDir"));
	config_line(im, "USER", scalar_at(&d, cfg, "User"));
	rc = 0;
out:
	ydoc_free(&d);
	return rc;
}

static int write_text(const char *path, const char *text, struct xerr *err)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
		if (f)
			fclose(f);
		return xerr_set(err, "%s: %s", path, strerror(errno));
	}
	return 0;
}

static void remove_tree(const char *dir)
{
	char chmod_[64], rm[64];
	struct xerr ignored = {""};

	if (tool("chmod", chmod_, sizeof(chmod_), &ignored) &&
	    tool("rm", rm, sizeof(rm), &ignored)) {
		char *a[] = {chmod_, "-R", "u+rwX", (char *)dir, NULL};
		char *b[] = {rm, "-rf", (char *)dir, NULL};

		(void)run(a, "chmod", &ignored);
		(void)run(b, "rm", &ignored);
	}
}

struct sort_entry {
	char *path;
	unsigned layer;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct sort_entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : (x->layer > y->layer) - (x->layer < y->layer);
}

static int cmp_layer(const void *a, const void *b)
{
	const struct sort_entry *x = a, *y = b;

	return x->layer != y->layer ? (x->layer > y->layer) - (x->layer < y->layer)
	                            : strcmp(x->path, y->path);
}

/*
 * mksquashfs's sort file: every path at the priority of the first layer that has it, lower
 * layers first.  squashfs lays file data out in this order, so the next tag of an image (the
 * same layers plus one) keeps the old layers' data at the same offsets, its new files at the end:
 * imagecast's fixed-size chunks then move little more than the new layer (in plain directory
 * order one added package shifted, and moved, 97% of a Debian root disk).  Names come from
 * `tar -tf` of each layer blob; names with blanks keep the default order (the sort file is
 * "PATH PRIORITY" lines).
 */
static int write_sort_file(struct import *im, const char *rootfs, const char *out, struct xerr *err)
{
	struct sort_entry *e = NULL;
	size_t n = 0, cap = 0, u = 0;
	char tar[64], line[8192];
	FILE *f = NULL;
	int rc = -1;

	if (!tool("tar", tar, sizeof(tar), err))
		return -1;
	for (unsigned i = 0; i < im->layers; i++) {
		char blob[2400];
		char *argv[] = {tar, "-tf", blob, NULL};
		int pipefd[2], status;
		pid_t pid;
		FILE *in;

		snprintf(blob, sizeof(blob), "%s/blobs/sha256/%s", im->layout, im->layer_hex[i]);
		if (pipe2(pipefd, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
			xerr_set(err, "tar: %s", strerror(errno));
			goto out;
		}
		if (pid == 0) {
			int null = open("/dev/null", O_RDWR);

			dup2(null, 0);
			dup2(pipefd[1], 1);
			dup2(null, 2);
			execv(tar, argv);
			_exit(127);
		}
		close(pipefd[1]);
		in = fdopen(pipefd[0], "r");
		while (in && fgets(line, sizeof(line), in)) {
			char *p = line, *base;
			size_t l;

			while (p[0] == '.' && p[1] == '/')
				p += 2;
			while (*p == '/')
				p++;
			l = strlen(p);
			while (l && (p[l - 1] == '\n' || p[l - 1] == '/'))
				p[--l] = '\0';
			base = strrchr(p, '/');
			base = base ? base + 1 : p;
			if (!l || strncmp(base, ".wh.", 4) == 0 || strpbrk(p, " \t\r"))
				continue;
			if (n == cap) {
				void *more = realloc(e, (cap = cap ? 2 * cap : 4096) * sizeof(*e));

				if (!more)
					break;
				e = more;
			}
			e[n].layer = i;
			if (!(e[n].path = strdup(p)))
				break;
			n++;
		}
		if (in)
			fclose(in);
		else
			close(pipefd[0]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			xerr_set(err, "tar -tf %s failed (layer %u)", blob, i + 1);
			goto out;
		}
	}
	qsort(e, n, sizeof(*e), cmp_entry);
	f = fopen(out, "w");
	if (!f) {
		xerr_set(err, "%s: %s", out, strerror(errno));
		goto out;
	}
	/*
	 * Keep each path's first layer, then order by (layer, path).  mksquashfs places higher
	 * priorities first and reverses the order within one priority, so each path gets its own,
	 * by rank: the order of an image's files is then that of its layers, and of the paths
	 * within a layer, whatever the next tag adds after them (beyond 65,535 paths the tail
	 * shares the lowest priority).
	 */
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(e[i].path, e[u - 1].path) != 0)
			e[u++] = e[i];
		else
			free(e[i].path);
	n = u;
	qsort(e, n, sizeof(*e), cmp_layer);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s/%s %ld\n", rootfs, e[i].path,
		        i > 65535 ? -32768L : 32767L - (long)i);
	if (fclose(f) != 0) {
		f = NULL;
		xerr_set(err, "%s: %s", out, strerror(errno));
		goto out;
	}
	f = NULL;
	rc = 0;
out:
	if (f)
		fclose(f);
	for (size_t i = 0; i < n; i++)
		free(e[i].path);
	free(e);
	return rc;
}

/*
 * umoci unpack --rootless, facts, /.xenvm/config, mksquashfs:
 * <cache>/rootdisk/<config>.{sqfs,yaml}. Skipped when both are there (an unchanged image).
 */
static int build_rootdisk(struct import *im, char *sqfs, size_t slen, char *attrs, size_t alen,
                          struct xerr *err)
{
	char umoci[64], mksq[64], bundle[2300], rootfs[2400], tmp[2500], yaml[2400], xdir[2500];
	char image[2300], facts_yaml[4096], sortf[2400], ownf[2400], ruid[16], rgid[16];
	struct xa_image_facts facts;
	struct xa_owners own;
	struct stat st;
	int rc = -1;
	FILE *f;

	snprintf(sqfs, slen, "%s/rootdisk/%s.sqfs", im->cache, im->disk_hex);
	snprintf(yaml, sizeof(yaml), "%s/rootdisk/%s.yaml", im->cache, im->disk_hex);
	if (stat(sqfs, &st) == 0 && (f = fopen(yaml, "r"))) {
		size_t n = fread(attrs, 1, alen - 1, f);

		attrs[n] = '\0';
		fclose(f);
		snprintf(tmp, sizeof(tmp), "rootdisk/%s.sqfs", im->disk_hex);
		xa_cache_touch(im->cachelock, tmp);
		progress(im, "root disk of sha256:%.12s in the cache", im->config_hex);
		return 0;
	}
	if (!tool("umoci", umoci, sizeof(umoci), err) ||
	    !tool("mksquashfs", mksq, sizeof(mksq), err))
		return -1;
	snprintf(bundle, sizeof(bundle), "%s/unpack.%d", im->cache, (int)getpid());
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
	snprintf(image, sizeof(image), "%s:%s", im->layout, im->ref);
	remove_tree(bundle);
	progress(im, "unpacking %u layers (%.1f MB)", im->layers, (double)im->bytes / 1e6);
	{
		char *a[] = {umoci, "unpack", "--rootless", "--image", image, bundle, NULL};

		if (run(a, "umoci unpack", err) < 0)
			goto out;
	}
	if (xa_inspect_rootfs(rootfs, &facts, err) < 0)
		goto out;
	if (!facts.has_sh) {
		xerr_set(err,
		         "%s: the image has no /bin/sh (tasks and batch scripts need one; "
		         "a FROM scratch image cannot run as a VM job)",
		         im->source);
		goto out;
	}
	if (xa_facts_yaml(&facts, facts_yaml, sizeof(facts_yaml)) < 0) {
		xerr_set(err, "attributes too long");
		goto out;
	}
	/* The container's ENV/WORKDIR/USER for the guest's /init and agent (guest/rootfs/init). */
	snprintf(xdir, sizeof(xdir), "%s/.xenvm", rootfs);
	if (mkdir(xdir, 0755) < 0 && errno != EEXIST) {
		xerr_set(err, "%s: %s", xdir, strerror(errno));
		goto out;
	}
	snprintf(xdir, sizeof(xdir), "%s/.xenvm/config", rootfs);
	if (write_text(xdir, im->env_workdir_user, err) < 0)
		goto out;
	/* The base kernel's RDMA modules (guest/rootfs/init loads them from /.xenvm/modules) */
	snprintf(xdir, sizeof(xdir), "%s/.xenvm/modules", rootfs);
	switch (xa_base_modules(im->cfg->imagecast.store, im->baseimg, bundle, xdir, err)) {
	case -1:
		goto out;
	case 1:
		xwarn("import: base image %s has no kernel modules on its root disk: the VMs of %s "
		      "get no Soft-RoCE or VF driver",
		      im->base, im->name);
		break;
	}
	progress(im, "packing the root disk (squashfs)");
	snprintf(sortf, sizeof(sortf), "%s/sort", bundle);
	if (write_sort_file(im, rootfs, sortf, err) < 0)
		goto out;
	/* The layers' owners (umoci kept them in xattrs): the pseudo file's lines set them all */
	snprintf(ownf, sizeof(ownf), "%s/owners", bundle);
	if (xa_write_owners(rootfs, ownf, &own, err) < 0) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		xerr_set(err, "%s: %s", im->source, msg);
		goto out;
	}
	snprintf(ruid, sizeof(ruid), "%u", own.root_uid);
	snprintf(rgid, sizeof(rgid), "%u", own.root_gid);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", sqfs, (int)getpid());
	{
		/*
		 * guest/mkimage.sh's settings: same content, same bytes.  Not -all-root (it
		 * overrides the pseudo file): every entry has a line, the root -root-uid/gid.
		 */
		/* clang-format off */
		char *a[] = {mksq, rootfs, tmp,
		             "-comp", "xz", "-Xbcj", "x86", "-b", "1M", "-no-fragments",
		             "-noappend", "-no-xattrs", "-mkfs-time", "0", "-all-time", "0",
		             "-quiet", "-no-progress",
		             "-sort", sortf, "-pf", ownf, "-root-uid", ruid, "-root-gid", rgid,
		             NULL};
		/* clang-format on */

		if (run(a, "mksquashfs", err) < 0) {
			unlink(tmp);
			goto out;
		}
	}
	/* the .yaml whole first, the .sqfs last: the .sqfs says the entry is complete */
	if (xenvm_write_file_atomic(yaml, facts_yaml, strlen(facts_yaml), 0600, (uid_t)-1,
	                            (gid_t)-1) < 0) {
		xerr_set(err, "%s: %s", yaml, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, sqfs) < 0) {
		if (!err->msg[0])
			xerr_set(err, "%s: %s", sqfs, strerror(errno));
		unlink(tmp);
		goto out;
	}
	snprintf(attrs, alen, "%s", facts_yaml);
	rc = 0;
out:
	remove_tree(bundle);
	return rc;
}

/*
 * The site image whose kernel and initrd boot containers (--base), found in the catalog before
 * anything is unpacked; the root disk's cache name follows from it (its modules go in).
 */
static int find_base(struct import *im, struct xerr *err)
{
	char key[2 * IMGS_HEX_LEN + 16];

	if (xenvm_catalog_load(im->cfg->catalog, &im->basecat, err) < 0)
		return -1;
	im->baseimg = xenvm_catalog_find(im->basecat, im->base);
	if (!im->baseimg)
		return xerr_set(err,
		                "base image '%s' is not in %s (--base names the site image whose "
		                "kernel and initrd boot containers)",
		                im->base, im->cfg->catalog);
	snprintf(key, sizeof(key), "%s %s", im->config_hex,
	         im->baseimg->rootdisk.path ? im->baseimg->rootdisk.sha256 : "-");
	sha256_hex(key, im->disk_hex);
	return 0;
}

/* The base's kernel and initrd opened as the user (whole or chunked in the store). */
static int open_base(struct import *im, struct imgs_req *r, struct imgs_push_body *body,
                     char **cmdline, struct xerr *err)
{
	const struct xenvm_image *img = im->baseimg;
	const struct xenvm_image_file *fs[2] = {&img->kernel, &img->initrd};

	for (int i = 0; i < 2; i++) {
		body->fds[i] = xa_store_file_open(im->cfg->imagecast.store, fs[i], im->cache, err);
		if (body->fds[i] < 0) {
			char msg[sizeof(err->msg)];

			snprintf(msg, sizeof(msg), "%s", err->msg);
			return xerr_set(err, "base image %s: %s", im->base, msg);
		}
		r->files[i].present = true;
		r->files[i].size = fs[i]->size;
		snprintf(r->files[i].sha256, sizeof(r->files[i].sha256), "%s", fs[i]->sha256);
	}
	if (asprintf(cmdline, "%s%sxenvm.container=1", img->cmdline ? img->cmdline : "",
	             img->cmdline ? " " : "") < 0) {
		*cmdline = NULL;
		return xerr_set(err, "out of memory");
	}
	return 0;
}

static int push_image(const struct xenvm_config *cfg, const char *sock, struct import *im,
                      const char *sqfs, const char *facts, struct xerr *err)
{
	struct imgs_req r = {.op = "push", .nargs = 1};
	struct imgs_push_body body = {.attrs = NULL, .fds = {-1, -1, -1}};
	char *cmdline = NULL, *attrs = NULL;
	int rc = -1;

	if (open_base(im, &r, &body, &cmdline, err) < 0)
		goto out;
	body.fds[2] = open(sqfs, O_RDONLY | O_CLOEXEC);
	if (body.fds[2] < 0) {
		xerr_set(err, "%s: %s", sqfs, strerror(errno));
		goto out;
	}
	if (imgs_hash_fd(body.fds[2], &r.files[2].size, r.files[2].sha256, err) < 0)
		goto out;
	r.files[2].present = true;
	if (asprintf(&attrs,
	             "description: \"container %s (config sha256:%.12s)\"\n"
	             "cmdline: \"%s\"\n"
	             "%s",
	             im->src.transport == XA_T_DOCKER ? im->source + 9 : im->name, im->config_hex,
	             cmdline, facts) < 0) {
		attrs = NULL;
		xerr_set(err, "out of memory");
		goto out;
	}
	body.attrs = attrs;
	r.attrs_len = strlen(attrs);
	snprintf(r.args[0], sizeof(r.args[0]), "%s", im->name);
	progress(im, "pushing %s (root disk %.1f MB)", im->name, (double)r.files[2].size / 1e6);
	progress_end(im);
	if (imgs_call(sock, &r, &body, stdout, err) < 0)
		goto out;
	rc = 0;
out:
	for (int i = 0; i < IMGS_ROLES; i++)
		if (body.fds[i] >= 0)
			close(body.fds[i]);
	free(cmdline);
	free(attrs);
	return rc;
}

static const char *ref_used(const struct import *im, char *buf, size_t len)
{
	snprintf(buf, len, "used/%s", im->ref);
	return buf;
}

static void usage_import(void)
{
	fprintf(stderr,
	        "usage: xenvm image import SOURCE [--name NAME[:TAG]] [--base IMAGE]\n"
	        "                         [--tls-verify=false] [--cache DIR] [--cache-max SIZE]\n"
	        "  SOURCE: docker://REGISTRY/REPO:TAG, oci:DIR[:TAG], oci-archive:FILE,\n"
	        "          docker-archive:FILE\n");
}

bool image_import_is_vm(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--kernel") == 0 || strncmp(argv[i], "--kernel=", 9) == 0)
			return true;
	return false;
}

int image_import(const struct xenvm_config *cfg, const char *sock, int argc, char **argv)
{
	static const struct option opts[] = {
	    /* clang-format off */
	    {"name", required_argument, NULL, 'n'},
	    {"base", required_argument, NULL, 'b'},
	    {"tls-verify", required_argument, NULL, 't'},
	    {"cache", required_argument, NULL, 'c'},
	    {"cache-max", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	    /* clang-format on */
	};
	struct xa_cache cache = {.lock_fd = -1};
	uint64_t cache_max = cfg->image_store.import_cache_max;
	struct import *im = calloc(1, sizeof(*im));
	char sqfs[2400], facts[4096], hex[IMGS_HEX_LEN + 1], used[120];
	const char *name = NULL, *cachedir = NULL;
	struct xerr err = {""};
	struct passwd *pw;
	time_t t0 = time(NULL);
	int opt, rc = XA_EXIT_FAIL;

	if (!im)
		return XA_EXIT_FAIL;
	im->base = "ttylinux-mpi";
	im->tls_verify = true;
	while ((opt = getopt_long(argc, argv, "n:b:c:", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			name = optarg;
			break;
		case 'b':
			im->base = optarg;
			break;
		case 't':
			im->tls_verify = strcmp(optarg, "false") != 0;
			break;
		case 'c':
			cachedir = optarg;
			break;
		case 'm':
			if (xenvm_parse_size(optarg, &cache_max) < 0) {
				xerror(
				    "import: --cache-max %s: not a size (e.g. 4G, 0 for no bound)",
				    optarg);
				rc = XA_EXIT_USAGE;
				goto out;
			}
			break;
		default:
			usage_import();
			rc = XA_EXIT_USAGE;
			goto out;
		}
	}
	if (optind + 1 != argc) {
		usage_import();
		rc = XA_EXIT_USAGE;
		goto out;
	}
	im->source = argv[optind];
	if (xa_source_parse(im->source, &im->src, &err) < 0) {
		xerror("import: %s", err.msg);
		rc = XA_EXIT_USAGE;
		goto out;
	}
	if (geteuid() == 0) {
		xerror("import: run it as the user who will own the image, not as root (the "
		       "layers are unpacked without privileges)");
		rc = XA_EXIT_USAGE;
		goto out;
	}
	/* The user's namespace unless the name gives one: USER/NAME:TAG */
	pw = getpwuid(geteuid());
	if (!pw) {
		xerror("import: uid %u has no user name", (unsigned)geteuid());
		goto out;
	}
	snprintf(im->name, sizeof(im->name), "%s%s%s%s%s",
	         name && strchr(name, '/') ? "" : pw->pw_name, name && strchr(name, '/') ? "" : "/",
	         name ? name : im->src.name, name && strchr(name, ':') ? "" : ":",
	         name && strchr(name, ':') ? "" : im->src.tag);
	im->tty = isatty(STDERR_FILENO);
	if (cachedir)
		snprintf(im->cache, sizeof(im->cache), "%s", cachedir);
	else if (xa_cache_default_dir(im->cache, sizeof(im->cache)) < 0) {
		xerror("import: no cache directory (set HOME, XDG_CACHE_HOME or --cache)");
		goto out;
	}
	snprintf(im->layout, sizeof(im->layout), "%s/oci", im->cache);
	snprintf(sqfs, sizeof(sqfs), "%s/rootdisk", im->cache);
	if (xa_cache_open(&cache, im->cache, &err) < 0 || xenvm_mkdir_p(sqfs, 0700) < 0) {
		xerror("import: %s", err.msg[0] ? err.msg : strerror(errno));
		goto out;
	}
	im->cachelock = &cache;
	sha256_hex(im->source, hex);
	snprintf(im->ref, sizeof(im->ref), "src-%.32s", hex);
	if (fetch(im, &err) < 0) {
		progress_end(im);
		xerror("import: %s", err.msg);
		goto out;
	}
	xa_cache_touch(&cache, ref_used(im, used, sizeof(used)));
	im->cfg = cfg;
	if (read_image(im, &err) < 0 || find_base(im, &err) < 0 ||
	    build_rootdisk(im, sqfs, sizeof(sqfs), facts, sizeof(facts), &err) < 0 ||
	    push_image(cfg, sock, im, sqfs, facts, &err) < 0) {
		progress_end(im);
		xerror("import: %s", err.msg);
		goto out;
	}
	fprintf(stderr, "import: %s: %u layers, %.1f MB of layers, in %lds\n", im->name, im->layers,
	        (double)im->bytes / 1e6, (long)(time(NULL) - t0));
	rc = XA_EXIT_OK;
	if (cache_max) {
		char k1[120], k2[120];
		const char *keep[] = {k1, k2, NULL};
		bool busy;

		snprintf(k1, sizeof(k1), "ref %s", im->ref);
		snprintf(k2, sizeof(k2), "rootdisk %s", im->disk_hex);
		if (xa_cache_trim(&cache, cache_max, keep, true, &busy, NULL, &err) < 0)
			xwarn("import: the cache was not trimmed: %s", err.msg);
	}
out:
	xa_cache_close(&cache);
	xenvm_catalog_free(im->basecat);
	free(im->layer_hex);
	free(im);
	return rc;
}

/* Until the whole-VM path (image_import_vm.c) is linked in: a clear refusal. */
__attribute__((weak)) int image_import_vm(const struct xenvm_config *cfg, const char *sock,
                                          int argc, char **argv)
{
	(void)cfg;
	(void)sock;
	(void)argc;
	(void)argv;
	xerror("import --kernel: whole VM images are not built into this xenvm");
	return XA_EXIT_USAGE;
}
