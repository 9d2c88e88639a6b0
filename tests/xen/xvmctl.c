/*
 * xvmctl.c - drive vm/'s xen driver from the Xen driver suite, in a Xen node's dom0.
 *
 *   xvmctl probe
 *   xvmctl boot STATE_DIR KERNEL INITRD JOBID UID GID [BRIDGE IP/NN]
 *          boot and wait_ready; prints "boot_ms=B ready_ms=R" (R from the boot call on)
 *          env: XVMCTL_ROOTDISK=file, XVMCTL_PVH=1, XVMCTL_NAME=vm (default vm0),
 *               XVMCTL_PCI=dddd:bb:dd.f (a PCI device passed through, spec.pci_bdf),
 *               XVMCTL_TIMEOUT=seconds (default 120), XVMCTL_MEM=MiB (default 256),
 *               XVMCTL_SHARE=dir (a 9pfs share: needs QEMU's xen-9pfs backend in dom0)
 *   xvmctl shutdown STATE_DIR SECONDS   shutdown with grace; prints "shutdown_ms=N"
 *   xvmctl destroy STATE_DIR            destroy; prints "destroy_ms=N"
 *   xvmctl list JOBID                   list_job: "<name> <domid>" lines
 *   xvmctl kill JOBID                   kill_info on every VM of the job
 *   xvmctl vmlinux KERNEL               derive KERNEL.vmlinux as the drivers do (vm/kernel.c), so
 *                                       the suite has it without a qemu-driver boot first
 * Exit 0 on success, 1 with the driver's message on stderr otherwise (a VM that booted but
 * did not become ready is destroyed first, as the Prolog would).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "vm/kernel.h"
#include "xen/driver.h"

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static unsigned env_num(const char *name, unsigned def)
{
	const char *v = getenv(name);

	return v && *v ? (unsigned)strtoul(v, NULL, 10) : def;
}

static int boot(const struct xvm_driver *d, int argc, char **argv, struct xvm **vm,
                struct xerr *err)
{
	struct xvm_spec s = {.name = getenv("XVMCTL_NAME") ? getenv("XVMCTL_NAME") : "vm0",
	                     .state_dir = argv[2],
	                     .kernel = argv[3],
	                     .initrd = argv[4],
	                     .job_id = (uint32_t)atoi(argv[5]),
	                     .uid = (uid_t)atoi(argv[6]),
	                     .gid = (gid_t)atoi(argv[7]),
	                     .mem_bytes = (uint64_t)env_num("XVMCTL_MEM", 256) << 20,
	                     .vcpus = 1,
	                     .rootdisk = getenv("XVMCTL_ROOTDISK"),
	                     .pci_bdf = getenv("XVMCTL_PCI"),
	                     .xen_pvh = env_num("XVMCTL_PVH", 0) == 1};
	struct xerr derr = {""};
	struct timespec t0;
	long boot_ms;

	if (argc >= 10) {
		s.bridge = argv[8];
		s.ip_cidr = argv[9];
	}
	if (getenv("XVMCTL_SHARE")) {
		s.shares[0].host_path = s.shares[0].guest_path = getenv("XVMCTL_SHARE");
		s.n_shares = 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (d->boot(&s, vm, err) < 0)
		return -1;
	boot_ms = ms_since(&t0);
	if (d->wait_ready(*vm, env_num("XVMCTL_TIMEOUT", 120) * 1000, err) < 0) {
		if (d->destroy(*vm, &derr) < 0)
			fprintf(stderr, "xvmctl: cleaning up: %s\n", derr.msg);
		return -1;
	}
	printf("boot_ms=%ld ready_ms=%ld\n", boot_ms, ms_since(&t0));
	return 0;
}

int main(int argc, char **argv)
{
	const struct xvm_driver *d = &xvm_driver_xen;
	struct xerr err = {.msg = ""};
	struct xvm *vm = NULL;
	struct timespec t0;
	int rc = 1;

	xlog_init("xvmctl", XLOG_INFO);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (argc == 3 && strcmp(argv[1], "vmlinux") == 0) {
		char path[4096];

		if (xvm_kernel_boot_path(argv[2], path, sizeof(path)) == 1) {
			printf("%s\n", path);
			return 0;
		}
		fprintf(stderr, "xvmctl: %s: no vmlinux could be derived from it\n", argv[2]);
		return 1;
	}
	if (argc == 2 && strcmp(argv[1], "probe") == 0) {
		rc = d->probe(&err) < 0;
	} else if (argc >= 8 && strcmp(argv[1], "boot") == 0) {
		rc = boot(d, argc, argv, &vm, &err) < 0;
	} else if (argc == 4 && strcmp(argv[1], "shutdown") == 0) {
		rc = d->attach(argv[2], &vm, &err) < 0 ||
		     d->shutdown(vm, (unsigned)atoi(argv[3]) * 1000, &err) < 0;
		if (!rc)
			printf("shutdown_ms=%ld\n", ms_since(&t0));
	} else if (argc == 3 && strcmp(argv[1], "destroy") == 0) {
		rc = d->attach(argv[2], &vm, &err) < 0 || d->destroy(vm, &err) < 0;
		if (!rc)
			printf("destroy_ms=%ld\n", ms_since(&t0));
	} else if (argc == 3 && (strcmp(argv[1], "list") == 0 || strcmp(argv[1], "kill") == 0)) {
		struct xvm_info info[64];
		int n = d->list_job((uint32_t)atoi(argv[2]), info, 64, &err);

		rc = n < 0;
		for (int i = 0; i < n && i < 64; i++) {
			if (argv[1][0] == 'l')
				printf("%s %d\n", info[i].name, info[i].domid);
			else if (d->kill_info(&info[i], &err) < 0)
				rc = 1;
		}
	} else {
		fprintf(stderr, "usage: see tests/xen/xvmctl.c\n");
		return 2;
	}
	if (rc)
		fprintf(stderr, "xvmctl: %s\n", err.msg);
	if (vm)
		d->release(vm);
	return rc;
}
