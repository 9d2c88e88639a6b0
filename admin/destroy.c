/*
 * destroy.c - `xenvm destroy ID`: kill a VM now and remove what it leaves.
 *
 * Through its state directory when it has one (the driver's destroy: processes, sockets, tap),
 * then by name for anything still running (a crash can leave a hypervisor process without a
 * supervisor).  An admin VM's job directory goes too; a Slurm job's state stays for its Epilog.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "lib/atomic_file.h"
#include "lib/log.h"
#include "vm/driver.h"

/* Kill every process the driver still finds under the VM's name.  0, or -1 with err. */
static int kill_leftovers(const struct xvm_driver *d, const struct xa_vm *v, struct xerr *err)
{
	struct xvm_info procs[16];
	int n = d->list_job(v->job_id, procs, 16, err), rc = 0;

	if (n < 0)
		return -1;
	for (int i = 0; i < n && i < 16; i++)
		if (strcmp(procs[i].name, v->name) == 0 && d->kill_info(&procs[i], err) < 0)
			rc = -1;
	return rc;
}

int xa_cmd_destroy(const struct xenvm_config *cfg, int argc, char **argv)
{
	const struct xvm_driver *d;
	struct xvm *vm = NULL;
	struct xa_vm v;
	struct xerr err = {""};
	char jdir[4200];
	int rc = XA_EXIT_FAIL;

	if (argc != 2 || argv[1][0] == '-') {
		xerror("destroy: usage: xenvm destroy ID");
		return XA_EXIT_USAGE;
	}
	if (xa_find(cfg, argv[1], &v, &err) < 0) {
		xerror("destroy: %s", err.msg);
		return errno == EEXIST   ? XA_EXIT_USAGE
		       : errno == ENOENT ? XA_EXIT_NOTFOUND
		                         : XA_EXIT_FAIL;
	}
	/* a VM whose driver is unknown (no vm.info, not running) was the qemu driver's: the only
	 * one */
	d = xa_driver(strcmp(v.driver, "?") == 0 ? "qemu" : v.driver, &err);
	if (!d) {
		xerror("destroy: VM %s: %s", v.name, err.msg);
		return XA_EXIT_NODRIVER;
	}
	if (v.dir[0] && (d->attach(v.dir, &vm, &err) < 0 || d->destroy(vm, &err) < 0)) {
		xerror("destroy: VM %s: %s", v.name, err.msg);
		goto out;
	}
	if (kill_leftovers(d, &v, &err) < 0) {
		xerror("destroy: VM %s: %s", v.name, err.msg);
		goto out;
	}
	if (v.admin) {
		snprintf(jdir, sizeof(jdir), "%s/job/%u", cfg->state_dir, v.job_id);
		if (xenvm_remove_tree(jdir) < 0) {
			xerror("destroy: VM %s is gone but %s stays: %s", v.name, jdir,
			       strerror(errno));
			goto out;
		}
	}
	xinfo("VM %s destroyed", v.name);
	rc = XA_EXIT_OK;
out:
	if (vm)
		d->release(vm);
	return rc;
}
