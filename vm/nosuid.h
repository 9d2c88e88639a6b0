/*
 * nosuid.h - the seccomp filter QEMU runs under: no setuid/setgid bit and no device node from
 * it reaches the host.
 *
 * QEMU serves the guest's shares (virtio-9p, security model "none") as the job's user
 * (-runas): the kernel already refuses it another owner, a device node, a file the user cannot
 * read.  What the user may do on the host, and the guest's root must not, is give a file of
 * the user's a setuid or setgid bit (the guest would plant a set-id binary in the user's home).
 * A mount's nosuid does not stop a bit being set, so the filter refuses (EPERM) every call
 * that sets one: chmod, fchmod, fchmodat, fchmodat2, open/openat/creat with O_CREAT's mode,
 * mknod/mknodat (those also refuse a character or block device); openat2, whose mode sits in a
 * struct the filter cannot read, is ENOSYS (glibc falls back to openat).  QEMU itself never
 * sets such a bit.
 */
#ifndef XENVM_VM_NOSUID_H
#define XENVM_VM_NOSUID_H

/*
 * Install the filter on the calling thread (and what it execs; it sets no_new_privs).  Call in
 * the child, just before exec.  0, or -1 with errno (EINVAL on an architecture it does not
 * know, or what prctl said).
 */
int xvm_nosuid_filter(void);

#endif
