/*
 * accel.h - which accelerator the qemu driver asks for: KVM or TCG.
 *
 * /dev/kvm alone is not trusted: on some hosts it is a software hypervisor (PVM) that runs a
 * guest kernel's ring-0 code ~300x slower than TCG (shared/notes/kvm-and-fast-boot.md).  In
 * `auto` mode KVM is used only when
 *   1. /proc/cpuinfo's flags name vmx or svm (hardware virtualisation), and
 *   2. /dev/kvm opens read-write, and
 *   3. a probe guest boots under -accel kvm and runs a ring-0 loop to completion within the
 *      timeout (a tiny multiboot payload, accel_probe.c: ~0.1 s on hardware KVM, minutes on PVM).
 * The probe's result is cached for the host's boot (keyed by /proc/sys/kernel/random/boot_id) in
 * <cache_dir>/qemu-accel, so it runs once per boot however many VMs start.  `kvm` forces KVM and
 * `tcg` forbids it (xenvm.yaml vm.accel); neither runs a check.
 */
#ifndef XENVM_VM_ACCEL_H
#define XENVM_VM_ACCEL_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

#define XVM_ACCEL_CACHE_FILE "qemu-accel"
#define XVM_ACCEL_PROBE_TIMEOUT_MS 3000

enum xvm_accel_mode {
	XVM_ACCEL_AUTO = 0,
	XVM_ACCEL_KVM, /* forced */
	XVM_ACCEL_TCG, /* KVM forbidden */
};

/* What the checks found, and what was chosen. */
struct xvm_accel_choice {
	bool kvm;      /* true: -accel kvm; false: -accel tcg */
	bool probed;   /* the probe guest ran in this call (not from the cache) */
	char why[256]; /* one line for logs and `xenvm status` */
};

/*
 * The host facts, injectable so the decision logic is tested without the host's CPU.
 * Each hook may be NULL: the real host is used (xvm_accel_host_ops()).
 */
struct xvm_accel_ops {
	/* /proc/cpuinfo's text into buf (NUL-terminated, truncated); 0, or -1 with errno. */
	int (*read_cpuinfo)(char *buf, size_t len, void *arg);
	/* Does /dev/kvm open read-write? */
	bool (*kvm_opens)(void *arg);
	/* This boot's id into buf (one line, no newline); 0, or -1 with errno. */
	int (*boot_id)(char *buf, size_t len, void *arg);
	/* Boot the probe guest under KVM: 1 it completed, 0 it did not (timeout or error). */
	int (*probe)(unsigned timeout_ms, void *arg);
	void *arg;
};

/* "auto" | "kvm" | "tcg" (NULL or "" is auto).  0, or -1 with errno EINVAL. */
int xvm_accel_parse(const char *s, enum xvm_accel_mode *out);
const char *xvm_accel_mode_name(enum xvm_accel_mode mode);

/* True when a "flags" line of a /proc/cpuinfo text names vmx or svm as a whole word. */
bool xvm_cpuinfo_has_virt(const char *cpuinfo);

/*
 * Decide (see the top of this file).  cache_dir may be NULL (no cache: the probe runs every
 * time it is needed); ops NULL means the real host.  A cache that cannot be written is not an
 * error (the choice is still right, only not remembered).  Returns 0 with *out filled, or -1 with
 * errno EINVAL (a NULL out) and err filled.  Never fails for the host's sake: anything that goes
 * wrong while checking means TCG, with the reason in out->why.
 */
int xvm_accel_choose(enum xvm_accel_mode mode, const char *cache_dir,
                     const struct xvm_accel_ops *ops, struct xvm_accel_choice *out,
                     struct xerr *err);

/*
 * Set what the qemu driver uses for every later boot of this process: the mode and where the
 * probe's result is cached (normally xenvm.yaml's state_dir; NULL: no cache).  Unconfigured, the
 * driver uses `auto` without a cache.  Returns 0, or -1 with errno ENAMETOOLONG (cache_dir) and
 * err filled.
 */
int xvm_accel_configure(enum xvm_accel_mode mode, const char *cache_dir, struct xerr *err);
/* The configured mode and cache directory ("" when none); pointers into static storage. */
enum xvm_accel_mode xvm_accel_configured_mode(void);
const char *xvm_accel_configured_cache_dir(void);

/*
 * Boot the probe payload with `qemu` (a binary in PATH or a path) under `accel` ("kvm"; "tcg"
 * to test the payload itself) and wait at most timeout_ms.  Returns 1 when the payload reached
 * its end (QEMU exits through isa-debug-exit with the payload's marker), 0 when it did not (timed
 * out, QEMU refused the accelerator, wrong exit), or -1 with errno and err filled when the probe
 * could not be run at all (no temporary file, fork failed).
 */
int xvm_accel_probe_guest(const char *qemu, const char *accel, unsigned timeout_ms,
                          struct xerr *err);

#endif
