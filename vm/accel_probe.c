/*
 * accel_probe.c - the KVM probe guest (see accel.h): does ring-0 guest code run at speed here?
 *
 * The payload is a 60-byte multiboot (v1, a.out kludge) flat binary written to a temporary file
 * and booted with QEMU's -kernel: it spins a 50-million-iteration dec/jnz loop in ring 0, then
 * writes a marker to isa-debug-exit, which ends QEMU with status (marker << 1) | 1.  The loop is
 * what tells hardware KVM (tens of ms) from a software hypervisor behind /dev/kvm (PVM emulates
 * ring 0 at ~2 MIPS: nearly a minute); reaching the marker within the timeout is the test.
 */
#include "vm/accel.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROBE_LOAD_ADDR 0x100000u /* 1 MiB: where multiboot kernels go */
#define PROBE_HDR_LEN 32u
#define PROBE_MARKER 0x2a
#define PROBE_EXIT ((PROBE_MARKER << 1) | 1) /* isa-debug-exit's status for the marker */
#define PROBE_LOOPS 50000000u

/* Store v little-endian at p. */
static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Build the payload into buf (at least 64 bytes).  Returns its length. */
static size_t probe_payload(unsigned char *buf)
{
	static const unsigned char code[] = {
	    0xfa, /* cli */
	    0xb9, 0,
	    0,    0,
	    0,                  /* mov ecx, PROBE_LOOPS (patched below) */
	    0x49,               /* 1: dec ecx */
	    0x75, 0xfd,         /* jnz 1b */
	    0xb0, PROBE_MARKER, /* mov al, marker */
	    0xe6, 0xf4,         /* out 0xf4, al: isa-debug-exit ends QEMU */
	    0xf4,               /* 2: hlt (only reached without the device) */
	    0xeb, 0xfd,         /* jmp 2b */
	};
	const uint32_t magic = 0x1badb002u, flags = 0x00010000u; /* a.out kludge: addresses below */
	size_t len = PROBE_HDR_LEN + sizeof(code);

	memset(buf, 0, PROBE_HDR_LEN);
	put32(buf + 0, magic);
	put32(buf + 4, flags);
	put32(buf + 8, (uint32_t)(0u - (magic + flags)));
	put32(buf + 12, PROBE_LOAD_ADDR);                 /* header_addr */
	put32(buf + 16, PROBE_LOAD_ADDR);                 /* load_addr */
	put32(buf + 20, PROBE_LOAD_ADDR + (uint32_t)len); /* load_end_addr */
	put32(buf + 24, 0);                               /* bss_end_addr: no bss */
	put32(buf + 28, PROBE_LOAD_ADDR + PROBE_HDR_LEN); /* entry_addr */
	memcpy(buf + PROBE_HDR_LEN, code, sizeof(code));
	put32(buf + PROBE_HDR_LEN + 2, PROBE_LOOPS);
	return len;
}

/* Write the payload to a new temporary file; its path into path (>= 64 bytes).  0, or -1. */
static int write_payload(char *path, size_t len, struct xerr *err)
{
	unsigned char buf[64];
	const char *tmp = getenv("TMPDIR");
	size_t n = probe_payload(buf);
	int fd, saved;

	if (snprintf(path, len, "%s/xenvm-accel-probe.XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
	    (int)len) {
		return xerr_errno(err, ENAMETOOLONG, "KVM probe: TMPDIR too long");
	}
	fd = mkstemp(path);
	if (fd < 0)
		return xerr_set(err, "KVM probe: %s: %s", path, strerror(errno));
	if (write(fd, buf, n) != (ssize_t)n) {
		saved = errno ? errno : EIO;
		close(fd);
		unlink(path);
		errno = saved;
		return xerr_set(err, "KVM probe: writing %s: %s", path, strerror(saved));
	}
	close(fd);
	return 0;
}

/* Milliseconds since t0 on the monotonic clock. */
static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The child: QEMU with the payload, silent, dying with its parent.  Never returns. */
static void __attribute__((noreturn))
run_qemu(const char *qemu, const char *accel, const char *payload)
{
	char *args[] = {(char *)qemu,
	                "-accel",
	                (char *)accel,
	                "-M",
	                "pc",
	                "-m",
	                "16",
	                "-nodefaults",
	                "-no-user-config",
	                "-display",
	                "none",
	                "-no-reboot",
	                "-kernel",
	                (char *)payload,
	                "-device",
	                "isa-debug-exit,iobase=0xf4,iosize=0x04",
	                NULL};
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	execvp(qemu, args);
	_exit(127);
}

int xvm_accel_probe_guest(const char *qemu, const char *accel, unsigned timeout_ms,
                          struct xerr *err)
{
	char payload[4200];
	struct timespec t0;
	int status = 0, rc = -1;
	bool have_payload = false;
	pid_t pid = -1, w = 0;

	if (!qemu || !accel)
		return xerr_errno(err, EINVAL, "KVM probe: invalid argument");
	if (write_payload(payload, sizeof(payload), err) < 0)
		goto out;
	have_payload = true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		xerr_set(err, "KVM probe: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		run_qemu(qemu, accel, payload);
	/* Poll rather than block: a hung guest is exactly the case this must survive. */
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && elapsed_ms(&t0) < (long)timeout_ms)
		usleep(10000);
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		xerr_set(err, "probe guest did not finish under -accel %s in %u ms", accel,
		         timeout_ms);
		rc = 0;
	} else if (w == pid && WIFEXITED(status) && WEXITSTATUS(status) == PROBE_EXIT) {
		xerr_set(err, "probe guest ran under -accel %s in %ld ms", accel, elapsed_ms(&t0));
		rc = 1;
	} else {
		/* ECHILD (SIGCHLD ignored by the caller) lands here too: not proven, so no KVM */
		xerr_set(err, "probe guest under -accel %s failed (%s %d)", accel,
		         w == pid && WIFSIGNALED(status) ? "signal" : "exit status",
		         w != pid              ? -1
		         : WIFSIGNALED(status) ? WTERMSIG(status)
		                               : WEXITSTATUS(status));
		rc = 0;
	}
out:
	if (have_payload)
		unlink(payload);
	return rc;
}
