/*
 * boot.c - `xenvm boot`: start a VM from a catalog image outside any Slurm job.
 *
 * The image's files come from the node's image cache when imagecast published it there
 * (<cache.dir>/images/<digest hex>/<role>: verified copies), else from the catalog's paths
 * resolved against imagecast.store; a file the image store keeps in chunks is copied whole into
 * the VM's directory and checked against its sha256 there (removed with the VM).  The VM gets an
 * admin job id (admin.h) and lives in <state_dir>/job/<id>/<name>/, like a job's VM, so list, exec
 * and destroy treat both alike.
 *
 * --manifest FILE boots an image store version (a one-image images.yaml, its paths relative to
 * --store) and --check destroys the VM once ready: the image manager's `verify: boot`
 * (imgstore/verify.h) runs it so, leaving nothing behind either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "image_base.h"
#include "lib/atomic_file.h"
#include "lib/blob.h"
#include "lib/catalog.h"
#include "lib/log.h"
#include "imgstore/client.h"
#include "lib/units.h"
#include "node/vmsize.h"
#include "vm/driver.h"

struct boot_opts {
	const char *image, *driver, *mem, *vcpus, *name, *bridge, *ip, *timeout;
	const char *manifest, *store; /* an image store version (--manifest), its store */
	bool no_wait, check;
	bool runas; /* --runas UID:GID: QEMU drops to them (else the caller's ids) */
	uid_t uid;
	gid_t gid;
};

/* Resolved paths of the image's files; a chunked one is copied into the VM's directory. */
struct image_files {
	char kernel[4096], initrd[4096], rootdisk[4096];
	bool chunked[3]; /* kernel, initrd, rootdisk: stored in chunks, not in the cache */
};

/* Valid as a driver VM name: [A-Za-z0-9_-]{1,16}. */
static bool good_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 16 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

/*
 * One file of the image: the cache's verified copy, else the catalog path (absolute, or under
 * imagecast.store).  0; 1 when the file is stored in chunks (lib/blob.h: a VM needs one file,
 * copied by copy_chunked once the VM has its directory); or -1 with errno
 * ENOENT/EACCES/ENAMETOOLONG and err naming the file.
 */
static int resolve_file(const struct xenvm_config *cfg, const char *store,
                        const struct xenvm_image *img, const char *role,
                        const struct xenvm_image_file *f, char *out, size_t len, struct xerr *err)
{
	char cached[4200];
	int n;

	if (snprintf(cached, sizeof(cached), "%s/images/%s/%s", cfg->cache.dir,
	             img->digest + 7 /* after "sha256:" */, role) < (int)sizeof(cached) &&
	    access(cached, R_OK) == 0 && strlen(cached) < len) {
		memcpy(out, cached, strlen(cached) + 1);
		return 0;
	}
	if (f->path[0] == '/')
		n = snprintf(out, len, "%s", f->path);
	else
		n = snprintf(out, len, "%s/%s", store, f->path);
	if (n >= (int)len) {
		return xerr_errno(err, ENAMETOOLONG, "image %s: %s: path too long", img->name,
		                  role);
	}
	if (access(out, R_OK) < 0) {
		int e = errno;
		struct xenvm_blob *b = NULL;

		if (f->path[0] != '/' && xenvm_blob_open(store, f->path, &b, NULL) == 0 &&
		    xenvm_blob_chunked(b)) {
			xenvm_blob_close(b);
			return 1;
		}
		xenvm_blob_close(b);
		return xerr_errno(err, e,
		                  "image %s: %s file %s: %s (not in the cache %s/images either)",
		                  img->name, role, out, strerror(e), cfg->cache.dir);
	}
	return 0;
}

/* Every file of the image (rootdisk only when it has one).  0, or -1 as resolve_file. */
static int resolve_files(const struct xenvm_config *cfg, const char *store,
                         const struct xenvm_image *img, struct image_files *files, struct xerr *err)
{
	int r;

	files->rootdisk[0] = '\0';
	r = resolve_file(cfg, store, img, "kernel", &img->kernel, files->kernel,
	                 sizeof(files->kernel), err);
	if (r < 0)
		return -1;
	files->chunked[0] = r == 1;
	r = resolve_file(cfg, store, img, "initrd", &img->initrd, files->initrd,
	                 sizeof(files->initrd), err);
	if (r < 0)
		return -1;
	files->chunked[1] = r == 1;
	if (img->rootdisk.path) {
		r = resolve_file(cfg, store, img, "rootdisk", &img->rootdisk, files->rootdisk,
		                 sizeof(files->rootdisk), err);
		if (r < 0)
			return -1;
		files->chunked[2] = r == 1;
	}
	return 0;
}

/*
 * The files stored in chunks, copied whole into the VM's directory dir (removed with the VM)
 * and checked against the catalog's sha256 there.  0, or -1 with err naming the file.
 */
static int copy_chunked(const char *store, const struct xenvm_image *img, const char *dir,
                        struct image_files *files, struct xerr *err)
{
	static const char *const roles[3] = {"kernel", "initrd", "rootdisk"};
	const struct xenvm_image_file *fs[3] = {&img->kernel, &img->initrd, &img->rootdisk};
	char *out[3] = {files->kernel, files->initrd, files->rootdisk};

	for (int i = 0; i < 3; i++) {
		char fdpath[64], hex[65], dst[4096];
		uint64_t size = 0;
		int fd;

		if (!files->chunked[i])
			continue;
		if (snprintf(dst, sizeof(dst), "%s/%s", dir, roles[i]) >= (int)sizeof(dst))
			return xerr_set(err, "%s/%s: path too long", dir, roles[i]);
		fd = xa_store_file_open(store, fs[i], dir, err);
		if (fd < 0)
			return -1;
		if (imgs_hash_fd(fd, &size, hex, err) < 0) {
			close(fd);
			return -1;
		}
		if (size != fs[i]->size || strcmp(hex, fs[i]->sha256) != 0) {
			close(fd);
			return xerr_set(err,
			                "image %s: %s file %s: its chunks give sha256 %s, not %s",
			                img->name, roles[i], out[i], hex, fs[i]->sha256);
		}
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, fdpath, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) < 0 ||
		    fchmod(fd, 0644) < 0) {
			xerr_set(err, "%s: %s", dst, strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		snprintf(out[i], 4096, "%s", dst);
	}
	return 0;
}

/* Parse the command line into o.  XA_EXIT_OK, or the exit status with the error printed. */
static int parse(int argc, char **argv, struct boot_opts *o)
{
	static const struct option opts[] = {
	    {"image", required_argument, NULL, 'i'}, {"driver", required_argument, NULL, 'd'},
	    {"mem", required_argument, NULL, 'm'},   {"vcpus", required_argument, NULL, 'n'},
	    {"name", required_argument, NULL, 'N'},  {"bridge", required_argument, NULL, 'b'},
	    {"ip", required_argument, NULL, 'a'},    {"timeout", required_argument, NULL, 't'},
	    {"no-wait", no_argument, NULL, 'W'},     {"manifest", required_argument, NULL, 'M'},
	    {"store", required_argument, NULL, 'S'}, {"check", no_argument, NULL, 'C'},
	    {"runas", required_argument, NULL, 'R'}, {NULL, 0, NULL, 0},
	};
	unsigned u, g;
	char c;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			o->image = optarg;
			break;
		case 'd':
			o->driver = optarg;
			break;
		case 'm':
			o->mem = optarg;
			break;
		case 'n':
			o->vcpus = optarg;
			break;
		case 'N':
			o->name = optarg;
			break;
		case 'b':
			o->bridge = optarg;
			break;
		case 'a':
			o->ip = optarg;
			break;
		case 't':
			o->timeout = optarg;
			break;
		case 'W':
			o->no_wait = true;
			break;
		case 'M':
			o->manifest = optarg;
			break;
		case 'S':
			o->store = optarg;
			break;
		case 'C':
			o->check = true;
			break;
		case 'R':
			if (sscanf(optarg, "%u:%u%c", &u, &g, &c) != 2) {
				xerror("boot: --runas '%s': expected UID:GID", optarg);
				return XA_EXIT_USAGE;
			}
			o->runas = true;
			o->uid = (uid_t)u;
			o->gid = (gid_t)g;
			break;
		default:
			xerror("boot: see xenvm boot --image NAME [--driver xen|qemu] [--mem SIZE] "
			       "[--vcpus N] [--name NAME]");
			return XA_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		xerror("boot: unexpected argument '%s'", argv[optind]);
		return XA_EXIT_USAGE;
	}
	if (!o->image == !o->manifest) {
		xerror("boot: --image NAME (the images in the catalog) or --manifest FILE is "
		       "required");
		return XA_EXIT_USAGE;
	}
	if (o->check && o->no_wait) {
		xerror("boot: --check waits for ready: not with --no-wait");
		return XA_EXIT_USAGE;
	}
	if (o->name && !good_name(o->name)) {
		xerror("boot: --name '%s': 1 to 16 of A-Z a-z 0-9 _ -", o->name);
		return XA_EXIT_USAGE;
	}
	if (!o->bridge != !o->ip) {
		xerror("boot: --bridge and --ip go together");
		return XA_EXIT_USAGE;
	}
	return XA_EXIT_OK;
}

/*
 * Memory and vcpus: the options parsed here, the rules node/vmsize.h's (as for a job's VM).
 * XA_EXIT_OK, or XA_EXIT_USAGE with the error printed.
 */
static int sizes(const struct xenvm_config *cfg, const struct xenvm_image *img,
                 const struct boot_opts *o, uint64_t *mem, uint32_t *vcpus)
{
	struct xvm_size_ask ask = {.mem_what = "--mem", .vcpus_what = "--vcpus"};
	struct xvm_size size;
	struct xerr err = {""};
	char *end;
	unsigned long v;

	if (o->mem && xenvm_parse_size(o->mem, &ask.mem_bytes) < 0) {
		xerror("boot: --mem '%s' is not a size (e.g. 512M, 2G)", o->mem);
		return XA_EXIT_USAGE;
	}
	if (o->vcpus) {
		errno = 0;
		v = strtoul(o->vcpus, &end, 10);
		if (errno || *end || !*o->vcpus || v < 1 || v > UINT32_MAX) {
			xerror("boot: --vcpus '%s': expected 1..%u (image %s's vcpus.max)",
			       o->vcpus, img->limits.vcpus_max, img->name);
			return XA_EXIT_USAGE;
		}
		ask.vcpus = (uint32_t)v;
	}
	if (xvm_vm_size(cfg, img, &ask, &size, &err) < 0) {
		xerror("boot: %s", err.msg);
		return XA_EXIT_USAGE;
	}
	*mem = size.mem_bytes;
	*vcpus = size.vcpus;
	return XA_EXIT_OK;
}

/* The version in a manifest (one image).  0 with *cat, or the exit status, error printed. */
static int manifest_image(const char *path, struct xenvm_catalog **cat,
                          const struct xenvm_image **img)
{
	struct xerr err = {""};

	if (xenvm_catalog_load(path, cat, &err) < 0) {
		xerror("boot: --manifest: %s", err.msg);
		return XA_EXIT_CONFIG;
	}
	if ((*cat)->n_images != 1) {
		xerror("boot: --manifest %s: one image expected, not %zu", path, (*cat)->n_images);
		return XA_EXIT_CONFIG;
	}
	*img = &(*cat)->images[0];
	return XA_EXIT_OK;
}

/* The image from the catalog.  0 with *cat, or the exit status with the error printed. */
static int find_image(const struct xenvm_config *cfg, const char *name, struct xenvm_catalog **cat,
                      const struct xenvm_image **img)
{
	struct xerr err = {""};
	const char *near[3];
	size_t n;

	if (xenvm_catalog_load(cfg->catalog, cat, &err) < 0) {
		xerror("catalog: %s", err.msg);
		return XA_EXIT_CONFIG;
	}
	*img = xenvm_catalog_find(*cat, name);
	if (*img)
		return XA_EXIT_OK;
	n = xenvm_catalog_suggest(*cat, name, near, 3);
	xerror("unknown image '%s' in %s%s%s%s%s%s", name, (*cat)->path, n ? " (did you mean " : "",
	       n ? near[0] : "", n > 1 ? ", " : "", n > 1 ? near[1] : "", n ? "?)" : "");
	return XA_EXIT_NOTFOUND;
}

int xa_cmd_boot(const struct xenvm_config *cfg, int argc, char **argv)
{
	struct boot_opts o = {0};
	struct xenvm_catalog *cat = NULL;
	const struct xenvm_image *img = NULL;
	const struct xvm_driver *drv;
	struct image_files files;
	struct xa_vm_info info = {0};
	struct xvm_spec spec = {0};
	struct xvm *vm = NULL;
	struct xerr err = {""};
	char dir[4200] = "", jdir[4200], name[17], mem_s[32];
	uint32_t job = 0, vcpus = 1, timeout_s;
	uint64_t mem = 0;
	struct timespec t0, t1;
	int rc;

	rc = parse(argc, argv, &o);
	if (rc != XA_EXIT_OK)
		return rc;
	drv = xa_driver(o.driver                          ? o.driver
	                : cfg->driver == XENVM_DRIVER_XEN ? "xen"
	                                                  : "qemu",
	                &err);
	if (!drv) {
		xerror("boot: %s%s", err.msg, o.driver ? "" : " (xenvm.yaml: driver)");
		return o.driver && strcmp(o.driver, "xen") && strcmp(o.driver, "qemu")
		           ? XA_EXIT_USAGE
		           : XA_EXIT_NODRIVER;
	}
	timeout_s = cfg->timeouts.ready_s;
	if (o.timeout && xenvm_parse_duration(o.timeout, &timeout_s) < 0) {
		xerror("boot: --timeout '%s' is not a duration (e.g. 90, 2m)", o.timeout);
		return XA_EXIT_USAGE;
	}
	rc = o.manifest ? manifest_image(o.manifest, &cat, &img)
	                : find_image(cfg, o.image, &cat, &img);
	if (rc != XA_EXIT_OK)
		goto out;
	rc = sizes(cfg, img, &o, &mem, &vcpus);
	if (rc != XA_EXIT_OK)
		goto out;
	if (resolve_files(cfg, o.store ? o.store : cfg->imagecast.store, img, &files, &err) < 0) {
		xerror("boot: %s", err.msg);
		rc = XA_EXIT_NOTFOUND;
		goto out;
	}
	if (drv->probe(&err) < 0) {
		xerror("boot: driver %s cannot run here: %s", drv->name, err.msg);
		rc = XA_EXIT_NODRIVER;
		goto out;
	}
	/* Without --name the VM is named after its id, which is only known under the lock. */
	snprintf(name, sizeof(name), "%s", o.name ? o.name : "");
	rc = XA_EXIT_FAIL;
	if (xa_admin_id_take(cfg->state_dir, name, sizeof(name), &job, dir, sizeof(dir), &err) <
	    0) {
		rc = errno == EEXIST ? XA_EXIT_USAGE : XA_EXIT_FAIL;
		xerror("boot: %s", err.msg);
		dir[0] = '\0';
		goto out;
	}
	snprintf(info.image, sizeof(info.image), "%s", img->name);
	snprintf(info.driver, sizeof(info.driver), "%s", drv->name);
	info.mem_bytes = mem;
	info.vcpus = vcpus;
	info.booted = (long)time(NULL);
	if (xa_vm_info_write(dir, &info, &err) < 0 ||
	    copy_chunked(o.store ? o.store : cfg->imagecast.store, img, dir, &files, &err) < 0) {
		xerror("boot: %s", err.msg);
		goto out;
	}
	spec.name = name;
	spec.job_id = job;
	spec.uid = o.runas ? o.uid : getuid();
	spec.gid = o.runas ? o.gid : getgid();
	spec.allow_root = true; /* the admin's own VM */
	spec.kernel = files.kernel;
	spec.initrd = files.initrd;
	spec.rootdisk = files.rootdisk[0] ? files.rootdisk : NULL;
	spec.cmdline = img->cmdline;
	spec.mem_bytes = mem;
	spec.vcpus = vcpus;
	spec.state_dir = dir;
	spec.bridge = o.bridge;
	spec.ip_cidr = o.ip;
	spec.hostname = name;
	spec.qemu_binary = cfg->vm.qemu_binary; /* xenvm.yaml vm.qemu_binary; xen ignores it */
	spec.xen_pvh = img->guest_type == XENVM_GUEST_PVH; /* images.yaml xen.guest_type */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (drv->boot(&spec, &vm, &err) < 0) {
		xerror("boot: VM %s (image %s): %s", name, img->name, err.msg);
		goto out;
	}
	if (!o.no_wait && drv->wait_ready(vm, timeout_s * 1000u, &err) < 0) {
		struct xerr derr = {""};

		xerror("boot: VM %s (image %s): %s", name, img->name, err.msg);
		if (drv->destroy(vm, &derr) < 0)
			xerror("boot: cleaning up VM %s: %s", name, derr.msg);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (o.check) {
		struct xerr derr = {""};

		if (drv->destroy(vm, &derr) < 0) {
			xerror("boot: VM %s (image %s) was ready; destroying it: %s", name,
			       img->name, derr.msg);
			goto out;
		}
		printf("ready in %.1f s\n",
		       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		rc = XA_EXIT_OK;
		goto out;
	}
	xinfo("VM %s (job %u, image %s, %s, %s, %u vcpu%s) %s in %.1f s", name, job, img->name,
	      drv->name, xenvm_format_size(mem, mem_s, sizeof(mem_s)), vcpus, vcpus > 1 ? "s" : "",
	      o.no_wait ? "booting" : "ready",
	      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("%s\n", name); /* the ID for exec/destroy, alone on stdout for scripts */
	rc = XA_EXIT_OK;
out:
	/* a VM that did not come up (or --check's) leaves nothing: not its process, nor its dirs */
	if ((rc != XA_EXIT_OK || o.check) && dir[0]) {
		snprintf(jdir, sizeof(jdir), "%s/job/%u", cfg->state_dir, job);
		if (xenvm_remove_tree(jdir) < 0)
			xerror("boot: removing %s: %s", jdir, strerror(errno));
	}
	if (vm)
		drv->release(vm);
	xenvm_catalog_free(cat);
	return rc;
}
