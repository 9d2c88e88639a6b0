/*
 * image_import_vm.c - `xenvm image import --kernel FILE [--initrd FILE] --rootdisk FILE|qcow2
 * [--cmdline ...] --name NAME[:TAG]`: a whole VM image with its own kernel, pushed as a user
 * image (issue 16; xenvm-image(1), the contract the image must meet: xenvm-byo(7)).
 *
 * Runs as the user: every file is opened with the user's rights and streamed to the manager,
 * which decides (image_store.user_kernels: a kernel that is not one of the site's is refused
 * unless the site allows own kernels; quota, size).  A qcow2 root disk is converted to raw with
 * qemu-img into the user's cache, keyed by the qcow2's sha256, so a re-import does not convert
 * again; one with a backing file is refused (the image must be whole, and a backing file would
 * name a path on this host).  Without --initrd an empty initramfs is pushed (the catalog wants
 * one; the kernel then mounts root= itself).  The kernel's version, read from its bzImage
 * header, becomes the `kernel` attribute.
 */
#include "image_import.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin.h"
#include "image_cache.h"
#include "imgstore/client.h"
#include "imgstore/store.h"
#include "lib/atomic_file.h"
#include "lib/log.h"
#include "lib/run.h"

#define CONVERT_MS (3600u * 1000u)
/* What the guest boots when the user gives no --cmdline: the root disk (read-only, as the
 * drivers attach it) and the package's init (guest/byo, xenvm-byo(7)). */
#define DEFAULT_CMDLINE "root=/dev/vda ro init=/usr/sbin/xenvm-init"

struct vm_import {
	const char *spec[IMGS_ROLES]; /* kernel, initrd, rootdisk as given */
	const char *cmdline;
	char name[100];
	char cache[2048];
	char raw[2400];    /* the converted root disk, when the given one is qcow2 */
	char initrd[2400]; /* the empty initramfs, when no --initrd */
	char kver[65];     /* from the bzImage header; "" when not a bzImage */
};

static void usage_vm(void)
{
	fprintf(stderr,
	        "usage: xenvm image import --kernel FILE [--initrd FILE] --rootdisk FILE\n"
	        "                          [--cmdline TEXT] --name NAME[:TAG]\n"
	        "  FILE for --rootdisk: a raw disk image or qcow2 (converted with qemu-img)\n");
}

/* The Linux x86 boot protocol: "HdrS" at 0x202, the version string's offset - 0x200 at 0x20e. */
static void kernel_version(int fd, char *out, size_t len)
{
	unsigned char h[0x210];
	char v[65];
	ssize_t n;
	unsigned off;

	out[0] = '\0';
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h + 0x202, "HdrS", 4) != 0)
		return;
	off = (unsigned)(h[0x20e] | h[0x20f] << 8) + 0x200u;
	n = pread(fd, v, sizeof(v) - 1, off);
	if (n <= 0)
		return;
	v[n] = '\0';
	/* "6.1.0-28-amd64 (debian-kernel@...) #1 SMP ...": the first word, printable only */
	for (size_t i = 0; v[i] && i + 1 < len; i++) {
		if (v[i] == ' ' || v[i] < 0x21 || v[i] > 0x7e || v[i] == '"' || v[i] == '\\')
			break;
		out[i] = v[i];
		out[i + 1] = '\0';
	}
}

/* Is the file qcow2 (magic "QFI\xfb")? */
static int is_qcow2(const char *path, bool *yes, struct xerr *err)
{
	unsigned char m[4] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return xerr_set(err, "--rootdisk %s: %s", path, strerror(errno));
	*yes = read(fd, m, 4) == 4 && memcmp(m, "QFI\xfb", 4) == 0;
	close(fd);
	return 0;
}

static int run_tool(char *const argv[], struct xenvm_run_result *r, const char *what,
                    struct xerr *err)
{
	char last[600];

	if (xenvm_run(argv, NULL, CONVERT_MS, r) < 0)
		return xerr_set(err, "%s: cannot run %s: %s", what, argv[0], strerror(errno));
	if (r->timed_out || !WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
		xenvm_last_line(r->err[0] ? r->err : r->out, last, sizeof(last));
		return xerr_set(err, "%s failed: %s", what, last[0] ? last : "(no message)");
	}
	return 0;
}

/* qcow2 -> raw in the cache, named by the qcow2's sha256 (a re-import reuses it). */
static int convert_qcow2(struct vm_import *im, struct xerr *err)
{
	static const char qemu_img[] = "/usr/bin/qemu-img";
	struct xenvm_run_result *r = calloc(1, sizeof(*r));
	char hex[IMGS_HEX_LEN + 1], tmp[2500];
	uint64_t size;
	int fd = -1, rc = -1;

	if (!r)
		return xerr_set(err, "out of memory");
	fd = open(im->spec[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		xerr_set(err, "--rootdisk %s: %s", im->spec[2], strerror(errno));
		goto out;
	}
	if (imgs_hash_fd(fd, &size, hex, err) < 0)
		goto out;
	snprintf(im->raw, sizeof(im->raw), "%s/vm-%s.raw", im->cache, hex);
	if (access(im->raw, R_OK) == 0) {
		struct xa_cache c = {.lock_fd = -1};

		snprintf(c.dir, sizeof(c.dir), "%s", im->cache);
		xa_cache_touch(&c, strrchr(im->raw, '/') + 1);
		fprintf(stderr, "import: %s: converted before (%s)\n", im->spec[2], im->raw);
		rc = 0;
		goto out;
	}
	if (access(qemu_img, X_OK) < 0) {
		xerr_set(err, "%s is not installed (qemu-utils): needed to convert the qcow2 %s",
		         qemu_img, im->spec[2]);
		goto out;
	}
	{
		char *const info[] = {(char *)qemu_img,    "info", "--output=json", "-f", "qcow2",
		                      (char *)im->spec[2], NULL};

		if (run_tool(info, r, "qemu-img info", err) < 0)
			goto out;
		if (strstr(r->out, "\"backing-filename\"")) {
			xerr_set(
			    err,
			    "--rootdisk %s: the qcow2 has a backing file; import a whole image "
			    "(qemu-img convert -O qcow2 it first)",
			    im->spec[2]);
			goto out;
		}
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", im->raw);
	fprintf(stderr, "import: converting %s (qcow2) to raw\n", im->spec[2]);
	{
		char *const conv[] = {
		    (char *)qemu_img,    "convert", "-q", "-f", "qcow2", "-O", "raw",
		    (char *)im->spec[2], tmp,       NULL};

		if (run_tool(conv, r, "qemu-img convert", err) < 0) {
			unlink(tmp);
			goto out;
		}
	}
	if (rename(tmp, im->raw) < 0) {
		xerr_set(err, "%s: %s", im->raw, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(r);
	return rc;
}

/* An empty newc cpio archive (the trailer alone): a valid initramfs with nothing in it. */
static int empty_initrd(struct vm_import *im, struct xerr *err)
{
	char buf[512] = {0}; /* after the header and the name: the name's NUL and padding */
	int fd;

	snprintf(im->initrd, sizeof(im->initrd), "%s/vm-empty-initrd.cpio", im->cache);
	snprintf(buf, sizeof(buf), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s",
	         0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 11, 0, "TRAILER!!!");
	fd = open(im->initrd, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return xerr_set(err, "%s: %s", im->initrd, strerror(errno));
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || close(fd) < 0) {
		xerr_set(err, "%s: %s", im->initrd, strerror(errno));
		unlink(im->initrd);
		return -1;
	}
	return 0;
}

/* The command line as a YAML double-quoted scalar's content: printable ASCII, " and \ escaped. */
static int quote_cmdline(const char *s, char *out, size_t len, struct xerr *err)
{
	size_t o = 0;

	for (; *s; s++) {
		if (*s < 0x20 || *s > 0x7e)
			return xerr_set(err, "--cmdline: only printable ASCII is allowed");
		if (o + 3 >= len)
			return xerr_set(err, "--cmdline: too long (at most %zu bytes)", len / 2);
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = '\0';
	return 0;
}

static int push_vm(const char *sock, struct vm_import *im, struct xerr *err)
{
	struct imgs_req r = {.op = "push", .nargs = 1};
	struct imgs_push_body body = {.attrs = NULL, .fds = {-1, -1, -1}};
	const char *path[IMGS_ROLES];
	char cmd[2100], attrs[2600];
	int rc = -1;

	path[0] = im->spec[0];
	path[1] = im->spec[1] ? im->spec[1] : im->initrd;
	path[2] = im->raw[0] ? im->raw : im->spec[2];
	for (int i = 0; i < IMGS_ROLES; i++) {
		static const char *const opt[] = {"--kernel", "--initrd", "--rootdisk"};

		body.fds[i] = open(path[i], O_RDONLY | O_CLOEXEC);
		if (body.fds[i] < 0) {
			xerr_set(err, "%s %s: %s", opt[i], path[i], strerror(errno));
			goto out;
		}
		if (imgs_hash_fd(body.fds[i], &r.files[i].size, r.files[i].sha256, err) < 0)
			goto out;
		if (r.files[i].size == 0) {
			xerr_set(err, "%s %s: empty file", opt[i], path[i]);
			goto out;
		}
		r.files[i].present = true;
	}
	kernel_version(body.fds[0], im->kver, sizeof(im->kver));
	if (!im->kver[0]) {
		xerr_set(err, "--kernel %s: not a Linux bzImage (no boot protocol header)",
		         path[0]);
		goto out;
	}
	if (quote_cmdline(im->cmdline, cmd, sizeof(cmd), err) < 0)
		goto out;
	snprintf(attrs, sizeof(attrs),
	         "description: \"whole VM image, own kernel %s\"\n"
	         "cmdline: \"%s\"\n"
	         "attributes:\n"
	         "  kernel: \"%s\"\n",
	         im->kver, cmd, im->kver);
	body.attrs = attrs;
	r.attrs_len = strlen(attrs);
	snprintf(r.args[0], sizeof(r.args[0]), "%s", im->name);
	fprintf(stderr, "import: pushing %s (kernel %s, root disk %.1f MB)\n", im->name, im->kver,
	        (double)r.files[2].size / 1e6);
	if (imgs_call(sock, &r, &body, stdout, err) < 0)
		goto out;
	rc = 0;
out:
	for (int i = 0; i < IMGS_ROLES; i++)
		if (body.fds[i] >= 0)
			close(body.fds[i]);
	return rc;
}

int image_import_vm(const struct xenvm_config *cfg, const char *sock, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"kernel", required_argument, NULL, 'k'},
	    {"initrd", required_argument, NULL, 'i'},
	    {"rootdisk", required_argument, NULL, 'r'},
	    {"cmdline", required_argument, NULL, 'c'},
	    {"name", required_argument, NULL, 'n'},
	    {"cache", required_argument, NULL, 'C'},
	    {NULL, 0, NULL, 0},
	};
	struct vm_import *im = calloc(1, sizeof(*im));
	const char *name = NULL, *cachedir = NULL;
	struct xerr err = {""};
	struct passwd *pw;
	struct xa_cache cache = {.lock_fd = -1};
	bool qcow2 = false;
	int opt, rc = XA_EXIT_FAIL;

	/* the manager applies the site's policy (image_store.user_kernels); cfg bounds the cache */
	if (!im)
		return XA_EXIT_FAIL;
	im->cmdline = DEFAULT_CMDLINE;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			im->spec[0] = optarg;
			break;
		case 'i':
			im->spec[1] = optarg;
			break;
		case 'r':
			im->spec[2] = optarg;
			break;
		case 'c':
			im->cmdline = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'C':
			cachedir = optarg;
			break;
		default:
			usage_vm();
			rc = XA_EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc || !im->spec[0] || !im->spec[2] || !name) {
		if (optind != argc)
			xerror("import: unexpected argument '%s' (a whole VM image is given by "
			       "options only)",
			       argv[optind]);
		else
			xerror(
			    "import: --kernel, --rootdisk and --name are required for a whole VM "
			    "image");
		usage_vm();
		rc = XA_EXIT_USAGE;
		goto out;
	}
	pw = getpwuid(geteuid());
	if (!pw) {
		xerror("import: uid %u has no user name", (unsigned)geteuid());
		goto out;
	}
	/* The user's namespace unless the name gives one (USER/NAME:TAG); the manager checks it. */
	snprintf(im->name, sizeof(im->name), "%s%s%s%s", strchr(name, '/') ? "" : pw->pw_name,
	         strchr(name, '/') ? "" : "/", name, strchr(name, ':') ? "" : ":latest");
	if (cachedir)
		snprintf(im->cache, sizeof(im->cache), "%s", cachedir);
	else if (xa_cache_default_dir(im->cache, sizeof(im->cache)) < 0) {
		xerror("import: no cache directory (set HOME, XDG_CACHE_HOME or --cache)");
		goto out;
	}
	if (xa_cache_open(&cache, im->cache, &err) < 0) {
		xerror("import: %s", err.msg);
		goto out;
	}
	if (is_qcow2(im->spec[2], &qcow2, &err) < 0 || (qcow2 && convert_qcow2(im, &err) < 0) ||
	    (!im->spec[1] && empty_initrd(im, &err) < 0) || push_vm(sock, im, &err) < 0) {
		xerror("import: %s", err.msg);
		goto out;
	}
	rc = XA_EXIT_OK;
	if (cfg->image_store.import_cache_max) {
		char k[120];
		const char *keep[] = {k, NULL};
		const char *base = strrchr(im->raw, '/');
		bool busy;

		snprintf(k, sizeof(k), "raw %s", base ? base + 1 : "");
		if (xa_cache_trim(&cache, cfg->image_store.import_cache_max, keep, true, &busy,
		                  NULL, &err) < 0)
			xwarn("import: the cache was not trimmed: %s", err.msg);
	}
out:
	xa_cache_close(&cache);
	free(im);
	return rc;
}
