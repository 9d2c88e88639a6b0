/*
 * sharepolicy.h - which host directories a job's VM may get (xenvm.yaml shares, --vm-mounts).
 *
 * A guest whose user has root reads and writes a shared directory as any uid (9p passthrough:
 * files keep their owners), so what is shared is the site's policy, never an accident of where
 * the job was submitted from.  Three kinds of share:
 *   SITE  xenvm.yaml mounts: the site chose them; only the never-share rule applies.
 *   USER  the user's home, the job's working directory, --vm-mounts: the directory must lie
 *         under an allowed root (the user's home, xenvm.yaml shares.allowed) and be owned by the
 *         user or writable by them.
 * Never shared, whatever the kind (after realpath): /, /etc, /proc, /sys, /dev, /run, /boot,
 * /usr, /var and anything below them, and the node's state_dir, cache.dir and image store,
 * below them or above them (sharing /srv would carry /srv/xenvm/images along).
 *
 * "Writable by the user" is decided from the mode bits, the owner and the user's groups, not
 * with access(2): the Prolog runs as root, for which access() says yes to everything, and
 * switching identity (seteuid in a child, then faccessat(AT_EACCESS)) costs a fork per share
 * and still answers for root-squashed NFS differently than the guest will see it.  The bits
 * ignore ACLs: an ACL that grants the user more is not honoured (a refusal with the reason,
 * never a share the user could not have written).
 */
#ifndef XENVM_NODE_SHAREPOLICY_H
#define XENVM_NODE_SHAREPOLICY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"

enum xvm_share_kind {
	XVM_SHARE_SITE, /* xenvm.yaml mounts */
	XVM_SHARE_USER, /* home, working directory, --vm-mounts */
};

struct xvm_share_policy {
	const char *const *allowed; /* roots for USER shares (the home is one), absolute */
	size_t n_allowed;
	const char *const *never; /* the node's own directories (state, cache, image store) */
	size_t n_never;
};

/* Whose share it is. */
struct xvm_share_who {
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups */
	size_t n_groups;
};

/*
 * May `path` be shared as `kind` for `who`?  Returns 0 with its real path in real (PATH_MAX
 * bytes), or -1 with errno (ENOENT, ENOTDIR, EACCES, EPERM) and why saying why in words fit
 * for the user ("it is a system directory", "it is not under an allowed root (/home/u,
 * /scratch)", "it belongs to uid 1001 and is not writable by you").
 */
int xvm_share_check(const struct xvm_share_policy *pol, const struct xvm_share_who *who,
                    enum xvm_share_kind kind, const char *path, char *real, struct xerr *why);

#endif
