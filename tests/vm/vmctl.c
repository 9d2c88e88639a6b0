/*
 * vmctl.c - drive vm/'s drivers from the VM test suite (a stand-in for the xenvm command).
 *
 *   vmctl boot STATE_DIR KERNEL INITRD JOBID UID GID [BRIDGE IP/NN]   boot (returns at once)
 *              env: VMCTL_ROOTDISK=squashfs, VMCTL_SHARE=dir[:dir...] (9p, same path in the
 *                   guest), VMCTL_ALLOW_ROOT=1 (the job may be root in the guest),
 *                   VMCTL_HOST_AGENT=xenvm-agent for commands from the guest (srun shim),
 *                   VMCTL_CMDLINE=extra kernel command line (e.g. xenvm.rxe=1)
 *   vmctl wait STATE_DIR SECONDS       wait_ready
 *   vmctl shutdown STATE_DIR SECONDS   shutdown with grace
 *   vmctl destroy STATE_DIR            destroy
 *   vmctl list JOBID                   list-by-job: "<name> <pid>" lines
 *   vmctl kill JOBID                   kill every VM of the job found by name
 * Exit 0 on success, 1 with the driver's message on stderr otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "vm/driver.h"

int main(int argc, char **argv)
{
	const struct xvm_driver *d = &xvm_driver_qemu;
	struct xerr err = {.msg = ""};
	struct xvm *vm = NULL;
	int rc = 1;

	xlog_init("vmctl", XLOG_INFO);
	if (argc >= 8 && strcmp(argv[1], "boot") == 0) {
		struct xvm_spec s = {.name = "vm0",
		                     .state_dir = argv[2],
		                     .kernel = argv[3],
		                     .initrd = argv[4],
		                     .job_id = (uint32_t)atoi(argv[5]),
		                     .uid = (uid_t)atoi(argv[6]),
		                     .gid = (gid_t)atoi(argv[7]),
		                     .mem_bytes = 256u << 20,
		                     .vcpus = 1};
		const char *share = getenv("VMCTL_SHARE");

		s.rootdisk = getenv("VMCTL_ROOTDISK");
		s.host_agent = getenv("VMCTL_HOST_AGENT");
		s.cmdline = getenv("VMCTL_CMDLINE");

		if (argc >= 10) {
			s.bridge = argv[8];
			s.ip_cidr = argv[9];
		}
		s.allow_root = getenv("VMCTL_ALLOW_ROOT") != NULL;
		for (char *p = share ? strdup(share) : NULL, *save = NULL,
		          *dir = p ? strtok_r(p, ":", &save) : NULL;
		     dir && s.n_shares < XVM_MAX_SHARES; dir = strtok_r(NULL, ":", &save)) {
			/* p is never freed: vmctl exits after the boot */
			s.shares[s.n_shares].host_path = s.shares[s.n_shares].guest_path = dir;
			s.n_shares++;
		}
		rc = d->boot(&s, &vm, &err) < 0;
	} else if (argc == 4 && strcmp(argv[1], "wait") == 0) {
		rc = d->attach(argv[2], &vm, &err) < 0 ||
		     d->wait_ready(vm, (unsigned)atoi(argv[3]) * 1000, &err) < 0;
	} else if (argc == 4 && strcmp(argv[1], "shutdown") == 0) {
		rc = d->attach(argv[2], &vm, &err) < 0 ||
		     d->shutdown(vm, (unsigned)atoi(argv[3]) * 1000, &err) < 0;
	} else if (argc == 3 && strcmp(argv[1], "destroy") == 0) {
		rc = d->attach(argv[2], &vm, &err) < 0 || d->destroy(vm, &err) < 0;
	} else if (argc == 3 && (strcmp(argv[1], "list") == 0 || strcmp(argv[1], "kill") == 0)) {
		struct xvm_info info[64];
		int n = d->list_job((uint32_t)atoi(argv[2]), info, 64, &err);

		rc = n < 0;
		for (int i = 0; i < n && i < 64; i++) {
			if (argv[1][0] == 'l')
				printf("%s %d\n", info[i].name, (int)info[i].pid);
			else if (d->kill_info(&info[i], &err) < 0)
				rc = 1;
		}
	} else {
		fprintf(stderr, "usage: see tests/vm/vmctl.c\n");
		return 2;
	}
	if (rc)
		fprintf(stderr, "vmctl: %s\n", err.msg);
	if (vm)
		d->release(vm);
	return rc;
}
