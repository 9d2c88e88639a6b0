/*
 * nosuid.c - see nosuid.h.
 */
#include "vm/nosuid.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define NOSUID_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NOSUID_ARCH AUDIT_ARCH_AARCH64
#endif

/* x32's calls carry this bit in the number: refused, QEMU is a 64-bit program. */
#define X32_BIT 0x40000000u

#define ARG_LO(i) offsetof(struct seccomp_data, args[(i)])
#define DENY_EPERM (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

/* if (nr == call) jump to the check of its mode argument at `to` (instructions ahead) */
#define ON(call, to) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (call), (to), 0)

/*
 * The mode check of argument i (its low 32 bits, where a mode_t is): set-id bit or a device
 * type -> EPERM, else allowed.  6 instructions.
 */
#define MODE_CHECK(i)                                                                              \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(i)),                                             \
	    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, S_ISUID | S_ISGID, 3, 0),                         \
	    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, S_IFMT),                                           \
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, S_IFCHR, 1, 0),                                    \
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, S_IFBLK, 0, 1),                                    \
	    BPF_STMT(BPF_RET | BPF_K, DENY_EPERM)

int xvm_nosuid_filter(void)
{
#ifdef NOSUID_ARCH
	/*
	 * Layout: arch check, number loads, one ON() per call jumping to the MODE_CHECK of its
	 * argument, ALLOW.  Offsets are counted from the instruction after each jump.
	 */
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NOSUID_ARCH, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, X32_BIT, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, DENY_EPERM),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
	/*
	 * Nine ON()s at 0..8, ALLOW at 9, MODE_CHECK(1) at 10, ALLOW at 16, MODE_CHECK(2)
	 * at 17, ALLOW at 23, MODE_CHECK(3) at 24, ALLOW at 30; ON() at k jumps k + 1 + to.
	 */
#ifdef SYS_chmod
	    ON(SYS_chmod, 9),
	    ON(SYS_creat, 8),
	    ON(SYS_mknod, 7),
#else
	    ON(~0u, 9),
	    ON(~0u, 8),
	    ON(~0u, 7),
#endif
	    ON(SYS_fchmod, 6),
	    ON(SYS_fchmodat, 12),
	    ON(452 /* fchmodat2, Linux 6.6 */, 11),
	    ON(SYS_mknodat, 10),
#ifdef SYS_open
	    ON(SYS_open, 9),
#else
	    ON(~0u, 9),
#endif
	    ON(SYS_openat, 15),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    MODE_CHECK(1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    MODE_CHECK(2),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    MODE_CHECK(3),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#else
	errno = EINVAL;
	return -1;
#endif
}
