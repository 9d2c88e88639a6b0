/*
 * verify.h - image_store.verify: boot: a version booted to "ready" in a throwaway VM on the
 * manager's host before a tag may point at it (xenvm-imaged(8), "VERIFY").
 *
 * The boot is `xenvm boot --manifest FILE --store DIR --check --driver qemu` (xenvm(8)), run as
 * a child with a deadline: the VM, its QEMU and its state directory are gone when it returns,
 * whatever happened, and the manager links no driver (imgstore/ sits beside vm/, not above it).
 * The manifest is given as text (not yet published: a version that does not boot is never
 * written) with its files (IMGS_ROLES entries, as in the manifest), whose blobs must already be
 * in the store.  The boot runs in a private copy of the store's layout (tmp/verify.XXXXXX/:
 * the manifest and hard links to the blobs), removed afterwards, and by imgs_open() after a
 * crash: nothing a boot writes beside its files lands in blobs/.
 */
#ifndef IMGS_VERIFY_H
#define IMGS_VERIFY_H

#include <sys/types.h>

#include "lib/config.h"
#include "store.h"

/*
 * Boot the version described by manifest_text (imgs_manifest_build's output) and files with its own
 * attributes (cmdline, memory, vCPUs), QEMU running as uid:gid (the pusher; root for admins),
 * within image_store.verify_timeout (else timeouts.ready).  `xenvm` is the program:
 * $XENVM_ADMIN_PROGRAM when absolute (tests), else <bindir>/xenvm.  Returns 0 when the guest's
 * agent reported ready, or -1 with err: "did not boot to ready: <the console's tail>" (errno
 * EPROTO), or why it could not be tried (errno as it came).
 */
int imgs_verify_boot(const struct xenvm_config *cfg, const struct imgs_store *st,
                     const char *manifest_text, const struct imgs_file *files, uid_t uid, gid_t gid,
                     struct xerr *err);

#endif
