/*
 * xl_dmuser.h - who the dom0 QEMU that serves a domain's 9pfs shares runs as.
 *
 * libxenlight 4.17 starts that QEMU (the PV "qdisk" backend, `-M xenpv`) itself, as root, from
 * a path fixed at its build (/usr/libexec/xen-qemu-system-i386) and without
 * b_info.device_model_user.  So the site installs xenvm-xen-dm(8) in front of it, and the
 * driver leaves, before it creates the domain, a root-only note naming the job's user under the
 * domain's name: xenvm-xen-dm reads it and runs QEMU as that user.  After the create the driver
 * checks the QEMU's uid itself (xl_dm_backend_uid), so a node without the wrapper is found.
 */
#ifndef XENVM_XL_DMUSER_H
#define XENVM_XL_DMUSER_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

/* Root's 0700 directory of the notes, one file per domain name: "UID GID\n", root's 0600. */
#define XL_DMUSER_DIR "/run/xenvm/xen-dm"

/* Write the note for domain `name` (replacing one left by a crash).  0, or -1 with err. */
int xl_dmuser_write(const char *name, uid_t uid, gid_t gid, struct xerr *err);

/*
 * Read it: 1 and *uid, *gid; 0 when there is none (not a xenvm domain, or root's VM); -1 with
 * err when it exists but is not root's regular 0600 file or does not parse.
 */
int xl_dmuser_read(const char *name, uid_t *uid, gid_t *gid, struct xerr *err);

/* Remove it (none is fine). */
void xl_dmuser_remove(const char *name);

/* The same three in another directory than XL_DMUSER_DIR (which must exist): for tests. */
int xl_dmuser_write_in(const char *dir, const char *name, uid_t uid, gid_t gid, struct xerr *err);
int xl_dmuser_read_in(const char *dir, const char *name, uid_t *uid, gid_t *gid, struct xerr *err);
void xl_dmuser_remove_in(const char *dir, const char *name);

/*
 * The uid the domain's 9pfs backend QEMU runs as (its pid from xenstore's
 * /local/domain/<domid>/image/device-model-pid, or qdisk-backend-pid, then /proc/<pid>/status:
 * real, effective, saved and file-system uid must agree, else the highest privilege, 0, is
 * reported). 0 and *uid, or -1 with err (no backend, or it is gone).
 */
int xl_dm_backend_uid(uint32_t domid, uid_t *uid, struct xerr *err);

#endif
