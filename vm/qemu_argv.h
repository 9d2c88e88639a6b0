/*
 * qemu_argv.h - QEMU's command line for one VM, built from its spec: a pure function (no
 * process, no file), so that the unit tests and tests/fuzz/fuzz_qemu_argv.c can drive it.
 */
#ifndef XENVM_VM_QEMU_ARGV_H
#define XENVM_VM_QEMU_ARGV_H

#include <stddef.h>

#include "lib/error.h"
#include "vm/driver.h"

/* The binary when spec.qemu_binary is NULL (found in PATH). */
#define XVM_QEMU_DEFAULT_BIN "qemu-system-x86_64"

/* What the argv is made of besides the spec (the driver decides these). */
struct xvm_qemu_args {
	const struct xvm_spec *spec;
	const char *accel;      /* "kvm" or "tcg" */
	const char *kernel;     /* what -kernel boots (vm/kernel.h: maybe the vmlinux) */
	const char *console;    /* the console log (-serial file:) */
	const char *agent_sock; /* QEMU's end of the agent's virtio-serial port */
	int tapfd;              /* the NIC's tap, or -1 for none */
	const char *mac;        /* the NIC's MAC (with tapfd) */
};

/* A NULL-terminated argv, every string malloc'd. */
struct xvm_argv {
	char **v;
	size_t n, cap;
};

/*
 * Build QEMU's argv into *out (initialise it to {0}; free with xvm_argv_free in every case).
 * Values inside QEMU option lists (paths of the drive, the 9p shares, the agent socket) have
 * their commas doubled, so a path cannot add options of its own.
 * 0, or -1 with errno and err naming what is wrong:
 *   E2BIG   the guest kernel's command line is over XVM_CMDLINE_MAX - 1 bytes (guest_cmdline.h)
 *   EINVAL  a bad spec (spec_check.h), VF address, or a word the command line cannot carry
 *   ENOMEM
 */
int xvm_qemu_argv(const struct xvm_qemu_args *a, struct xvm_argv *out, struct xerr *err);

/* Free what xvm_qemu_argv built; *a is {0} after.  NULL-safe. */
void xvm_argv_free(struct xvm_argv *a);

#endif
