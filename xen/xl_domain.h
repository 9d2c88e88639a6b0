/*
 * xl_domain.h - Xen domains for VMs, through libxenlight: the narrow API the generic VM driver
 * interface (vm/) wraps for its `xen` driver.
 *
 * One job's VM on one node is one domain named xenvm-job<jobid>-<vm>, the name vm/driver.h
 * gives a job's VMs; it is how a VM is found again after a crash (xl_domain_list with the
 * job's prefix).  A domain is created paused
 * (libxenlight leaves it so), then unpaused; stopping is a clean shutdown with a grace period,
 * then destroy, then waiting until the hypervisor has really released it (a destroyed domain
 * lingers as "dying" for a short while and still holds its name and memory).
 *
 * No process watches a domain (there is no xl-style monitor): a guest that powers off or
 * crashes stays as a shut-down domain until xl_domain_stop()/xl_domain_destroy() removes it.
 * The console is logged by xenconsoled (`--log=guest`) to <log-dir>/guest-<name>.log.
 *
 * Every function that can fail returns 0 on success or -1 with errno set and, when err is not
 * NULL, a one-line message in err.  Not thread-safe per context: use one context per thread.
 */
#ifndef XENVM_XL_DOMAIN_H
#define XENVM_XL_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

struct xl_domain_ctx;

/* At most this many 9pfs shares per domain. */
#define XL_DOMAIN_MAX_P9 8

enum xl_domain_type {
	XL_DOMAIN_PV = 0,
	XL_DOMAIN_PVH,
};

struct xl_domain_spec {
	const char *name;         /* domain name, e.g. from xl_domain_name(); required */
	enum xl_domain_type type; /* PV or PVH */
	/* Kernel image path in dom0; required.  When "<kernel>.vmlinux" (an uncompressed ELF)
	 * exists, that is booted instead: the domain builder then skips decompressing it. */
	const char *kernel;
	const char *ramdisk;     /* initramfs path, or NULL */
	const char *cmdline;     /* kernel command line, or NULL */
	unsigned int memory_mib; /* 16 .. 1048576 */
	unsigned int vcpus;      /* 1 .. 128 */
	/* Raw image file given read-only as xvda (e.g. the image's squashfs root disk), or NULL;
	 * bound through the block hotplug script (NULL: libxl's default, "block"). */
	const char *disk;
	const char *disk_script;
	const char *bridge;     /* dom0 bridge for one vif, or NULL for no network */
	const char *mac;        /* "xx:xx:xx:xx:xx:xx" for the vif, or NULL: libxl picks one */
	const char *vif_script; /* hotplug script, or NULL for libxl's default (vif-bridge) */
	const char *vif_name;   /* dom0 name of the vif (vm/tapname.h), or NULL: vif<domid>.0 */
	/* dom0 directories given to the guest over Xen 9pfs: p9_paths[i] under tag p9_tags[i]
	 * (n_p9 of each, at most XL_DOMAIN_MAX_P9).  libxenlight then starts QEMU's xen-9pfs
	 * backend for the domain in dom0 (qemu-system-xen) and stops it with the domain. */
	const char *const *p9_paths;
	const char *const *p9_tags;
	size_t n_p9;
	/* PVH under nested, emulated SVM (Xen inside QEMU TCG) only; leave 0 on real hardware.
	 * Native TSC and no RDTSCP (else the guest loops on an RDTSCP intercept Xen cannot
	 * decode), and no XSAVE (else XRSTOR faults and the guest's init dies on its FPU state). */
	int nested_tcg;
	/* A PCI function passed through ("dddd:bb:dd.f", e.g. the job's IB VF), or NULL.  Made
	 * assignable (bound to xen-pciback, its driver remembered) before the domain is built,
	 * listed in its PCI devices; given back on a failed create when it was not assignable
	 * before (xen/xl_pci.h).  Xen needs an IOMMU for it (libxl: "passthrough not supported").
	 */
	const char *pci_bdf;
};

/* What xl_domain_list() reports about one domain. */
struct xl_domain_entry {
	uint32_t domid;
	char *name;   /* allocated; freed by xl_domain_list_free() */
	int paused;   /* nonzero when paused (e.g. created and not yet unpaused) */
	int shutdown; /* nonzero when the guest shut down or crashed and awaits destroy */
	int crashed;  /* nonzero when that shutdown was a crash (e.g. the guest panicked) */
	int dying;    /* nonzero while the hypervisor is still releasing a destroyed domain */
};

/* Open a libxenlight context (dom0 only; needs /dev/xen/privcmd and xenstored).
 * verbose: nonzero passes libxenlight's own debug log to stderr.  Returns 0 with *out set, or -1
 * (errno EACCES/ENOENT when Xen is not reachable, ENOMEM). */
int xl_domain_open(struct xl_domain_ctx **out, int verbose, struct xerr *err);
/* Close a context from xl_domain_open(); NULL is allowed. */
void xl_domain_close(struct xl_domain_ctx *ctx);

/* Format the name of job jobid's VM `node` (e.g. "vm0") into buf ("xenvm-job<jobid>-<vm>").
 * node must be non-empty and made of [A-Za-z0-9_.-].  Returns 0, or -1 with errno EINVAL (bad node)
 * or ENAMETOOLONG (buf too small). */
int xl_domain_name(char *buf, size_t len, uint32_t jobid, const char *node);

/* Check a spec without touching Xen: required fields, ranges, that kernel and ramdisk are
 * readable regular files and the ramdisk starts like an initramfs (cpio or a compressed
 * stream the kernel unpacks), the MAC's syntax.  Returns 0, or -1 with errno EINVAL, ENOENT,
 * EACCES or ENOEXEC (ramdisk not an initramfs). */
int xl_domain_spec_check(const struct xl_domain_spec *spec, struct xerr *err);

/* Create the domain of spec, paused.  On failure nothing is left behind: a domain libxenlight
 * created half-way is destroyed before returning, and spec->pci_bdf is given back to its driver
 * when this call made it assignable.  Returns 0 with *domid set, or -1 with errno EEXIST (name
 * in use), as xl_domain_spec_check(), EINVAL (malformed pci_bdf), EBUSY (pci_bdf held by
 * another domain) or EIO (libxenlight failed; the message names the PCI device when it was
 * the device). */
int xl_domain_create(struct xl_domain_ctx *ctx, const struct xl_domain_spec *spec, uint32_t *domid,
                     struct xerr *err);
/* Unpause a domain.  Returns 0, or -1 with errno ESRCH (no such domain) or EIO. */
int xl_domain_unpause(struct xl_domain_ctx *ctx, uint32_t domid, struct xerr *err);
/* Wait until the domain runs: unpaused, not shut down, and its vCPUs have consumed CPU time.
 * Returns 0, or -1 with errno ESRCH (gone), ECANCELED (shut down or crashed) or ETIMEDOUT. */
int xl_domain_wait_running(struct xl_domain_ctx *ctx, uint32_t domid, unsigned int timeout_ms,
                           struct xerr *err);

/* Ask the guest to power off (its xenstore control/shutdown node) unless it already shut down,
 * give it grace_ms to do so, then destroy the domain and wait up to gone_ms until it is gone;
 * then its PCI devices are given back to their drivers (assignable_remove with rebind; a refusal
 * is only logged, the Epilog returns the VF through sysfs too).  A domain already gone is success.
 * Returns 0, or -1 with errno ETIMEDOUT (still there) or EIO. */
int xl_domain_stop(struct xl_domain_ctx *ctx, uint32_t domid, unsigned int grace_ms,
                   unsigned int gone_ms, struct xerr *err);
/* Destroy at once (no shutdown request); does not wait.  A domain already gone is success.
 * Returns 0, or -1 with errno EIO. */
int xl_domain_destroy(struct xl_domain_ctx *ctx, uint32_t domid, struct xerr *err);
/* Wait until the domain is gone, dying state included.  Returns 0, or -1 with errno ETIMEDOUT
 * or EIO. */
int xl_domain_wait_gone(struct xl_domain_ctx *ctx, uint32_t domid, unsigned int timeout_ms,
                        struct xerr *err);

/* Find a domain by name.  Returns 0 with *domid set, or -1 with errno ESRCH. */
int xl_domain_find(struct xl_domain_ctx *ctx, const char *name, uint32_t *domid, struct xerr *err);
/* List the domains whose name starts with prefix ("" for all but Domain-0; e.g.
 * "xenvm-job42-" for job 42's VMs).  Returns 0 with *out (free with xl_domain_list_free(); NULL
 * when *n is 0) and *n set, or -1 with errno ENOMEM or EIO. */
int xl_domain_list(struct xl_domain_ctx *ctx, const char *prefix, struct xl_domain_entry **out,
                   size_t *n, struct xerr *err);
/* Free a list from xl_domain_list(); NULL is allowed. */
void xl_domain_list_free(struct xl_domain_entry *list, size_t n);

/* Whether this process runs in Xen's control domain (xenfs says "control_d").  1 or 0; never
 * fails (no xenfs mounted: 0). */
int xl_domain_is_dom0(void);
/* The memory Xen has free for new domains, in MiB.  Returns 0 with *mib set, or -1 with errno
 * EIO. */
int xl_domain_free_mib(struct xl_domain_ctx *ctx, uint64_t *mib, struct xerr *err);

#endif
