/*
 * xenvm-xen-dm - run the dom0 QEMU that libxenlight starts for a domain's 9pfs shares as the
 * job's user.  See xenvm-xen-dm(8) and xl_dmuser.h.
 *
 *   xenvm-xen-dm QEMU [QEMU-ARGS...] -- LIBXL-ARGS...
 *
 * Installed (by the site) as libxenlight's QEMU path, /usr/libexec/xen-qemu-system-i386, as a
 * script that execs `xenvm-xen-dm /path/to/the/real/qemu -- "$@"`.  libxenlight runs it as root
 * with `-xen-domid N ...`.  When the driver left a note for that domain's name, QEMU gets
 * `-runas UID:GID`, the set-id filter of the qemu driver (vm/nosuid.h) and, in a mount namespace
 * of its own, a /dev/xen/evtchn and /dev/xen/gntdev the user may open: QEMU's 9pfs backend
 * opens its event channels when the guest connects, after it dropped root, and the nodes are
 * root's 0600.  No other process of the user's gets those nodes.  Without a note QEMU runs as
 * libxenlight would start it.  Exit status 1 (and the reason on stderr, libxenlight's
 * qemu-dm-NAME.log) when something fails: a note that cannot be honoured never leaves a root QEMU
 * behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <xenstore.h>

#include "lib/error.h"
#include "vm/nosuid.h"
#include "xen/xl_dmuser.h"

#define EVTCHN "/dev/xen/evtchn"
#define GNTDEV "/dev/xen/gntdev"
/* Root's 0700 directory on /dev (a device node works there): the user's nodes live there only
 * until they are bound over EVTCHN and GNTDEV in QEMU's mount namespace. */
#define NODE_DIR "/dev/.xenvm-dm"

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xenvm-xen-dm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* The domain's name from xenstore (malloc'ed), or NULL. */
static char *domain_name(const char *domid)
{
	char key[64];
	struct xs_handle *xs = xs_open(XS_OPEN_READONLY);
	unsigned int len = 0;
	char *v;

	if (!xs)
		return NULL;
	snprintf(key, sizeof(key), "/local/domain/%s/name", domid);
	v = xs_read(xs, XBT_NULL, key, &len);
	xs_close(xs);
	return v;
}

/*
 * The Xen devices QEMU opens after it dropped root, owned by uid in a mount namespace of this
 * process's own: the event channel device (the 9pfs backend binds its rings' channels when the
 * guest connects) and the grant device (a backend found after the start opens its own handle).
 * Neither gives QEMU more than the handles it opened as root at start already had.
 */
static int private_dev(const char *dev, const char *domid, uid_t uid, gid_t gid, struct xerr *err)
{
	char node[128];
	struct stat st;

	if (stat(dev, &st) == -1 || !S_ISCHR(st.st_mode))
		return xerr_set(err, "%s: not a character device (Xen's dom0 modules loaded?)",
		                dev);
	snprintf(node, sizeof(node), "%s/%s-%s", NODE_DIR, strrchr(dev, '/') + 1, domid);
	unlink(node);
	if (mknod(node, S_IFCHR | 0600, st.st_rdev) == -1 || chown(node, uid, gid) == -1 ||
	    mount(node, dev, NULL, MS_BIND, NULL) == -1) {
		int e = errno;
		unlink(node);
		return xerr_set(err, "%s over %s: %s", node, dev, strerror(e));
	}
	unlink(node); /* the bind mount holds it */
	return 0;
}

static int private_devs(const char *domid, uid_t uid, gid_t gid, struct xerr *err)
{
	if (unshare(CLONE_NEWNS) == -1)
		return xerr_set(err, "unshare(CLONE_NEWNS): %s", strerror(errno));
	/* Nothing this namespace mounts goes back to dom0's. */
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		return xerr_set(err, "making / private: %s", strerror(errno));
	if (mkdir(NODE_DIR, 0700) == -1 && errno != EEXIST)
		return xerr_set(err, "%s: %s", NODE_DIR, strerror(errno));
	if (private_dev(EVTCHN, domid, uid, gid, err) == -1 ||
	    private_dev(GNTDEV, domid, uid, gid, err) == -1)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *domid = NULL;
	struct xerr err = {{0}};
	char runas[64], *name;
	char **nargv;
	uid_t uid;
	gid_t gid;
	int sep = -1, n = 0, r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	}
	if (sep < 2)
		return fail("usage: xenvm-xen-dm QEMU [QEMU-ARGS...] -- LIBXL-ARGS...");
	for (int i = sep + 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "-xen-domid") == 0)
			domid = argv[i + 1];
	}
	nargv = calloc((size_t)argc + 3, sizeof(*nargv));
	if (!nargv)
		return fail("out of memory");
	for (int i = 1; i < sep; i++)
		nargv[n++] = argv[i];
	for (int i = sep + 1; i < argc; i++)
		nargv[n++] = argv[i];
	if (!domid || strspn(domid, "0123456789") != strlen(domid) || !domid[0])
		return fail("no -xen-domid N in libxenlight's arguments");
	name = domain_name(domid);
	if (!name)
		return fail("domain %s has no name in xenstore", domid);
	r = xl_dmuser_read(name, &uid, &gid, &err);
	if (r < 0)
		return fail("domain %s: %s", name, err.msg);
	if (r > 0) {
		if (private_devs(domid, uid, gid, &err) == -1)
			return fail("domain %s: %s", name, err.msg);
		if (xvm_nosuid_filter() == -1)
			return fail("domain %s: the set-id filter: %s", name, strerror(errno));
		snprintf(runas, sizeof(runas), "%u:%u", (unsigned)uid, (unsigned)gid);
		nargv[n++] = "-runas";
		nargv[n++] = runas;
	}
	nargv[n] = NULL;
	execv(nargv[0], nargv);
	return fail("%s: %s", nargv[0], strerror(errno));
}
