/*
 * cgroup.h - a VM's own cgroup under its job's: the VM's memory and CPU count against the
 * job, and memory.max (v1: memory.limit_in_bytes) = the VM's memory + vm.memory_overhead stops
 * a runaway QEMU short of the node.
 *
 * Where: cgroup v2 at /sys/fs/cgroup when its root offers the memory controller, else the v1
 * memory hierarchy at /sys/fs/cgroup/memory; <root>/xenvm.slice/job<J>/<vm>.<supervisor pid>
 * (the pid keeps apart the VMs of one job that several test "nodes" run on one host).  The
 * supervisor creates it as root before it forks QEMU, the child joins it before exec, the
 * supervisor removes it once QEMU is gone.  CPU: accounted (v2 cpu.stat) but not capped.
 * xenvm.yaml vm.cgroup decides what happens when neither is there or one cannot be made: auto
 * (the VM runs without, and its vmd.log says why), required (the VM fails, naming the path and
 * the error), off (nothing is made).
 */
#ifndef XENVM_VM_CGROUP_H
#define XENVM_VM_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"
#include "vm/driver.h"

enum xvm_cgroup_mode { XVM_CGROUP_AUTO, XVM_CGROUP_REQUIRED, XVM_CGROUP_OFF };

/* A VM's cgroup; dir[0] == '\0': none. */
struct xvm_cgroup {
	char dir[512];
};

/* "auto" | "required" | "off" -> *mode.  0, or -1 with errno EINVAL. */
int xvm_cgroup_parse(const char *name, enum xvm_cgroup_mode *mode);

/* The mode and the overhead added to a VM's memory for its limit, for every later create
 * (process-wide, as xvm_accel_configure).  Unset: auto, 64 MiB. */
void xvm_cgroup_configure(enum xvm_cgroup_mode mode, uint64_t overhead_bytes);

/*
 * Make the cgroup of s's VM (tag: the supervisor's pid) with its memory limit.  0 (cg->dir
 * set, or "" when the mode is off, or auto could not make one: then err says why), or -1 with
 * errno and err (required mode: no cgroup hierarchy, ENOENT, or what mkdir/write said).
 */
int xvm_cgroup_create(const struct xvm_spec *s, pid_t tag, struct xvm_cgroup *cg, struct xerr *err);

/* Move the caller into cg (in the forked child, before exec; no allocation).  0 (also with no
 * cgroup), or -1 with errno. */
int xvm_cgroup_join(const struct xvm_cgroup *cg);

/* Remove cg (its processes must be gone) and the job's directory when it is empty. */
void xvm_cgroup_remove(const struct xvm_cgroup *cg);

/* After a crash (no supervisor cleaned up): remove job_id's VM cgroups whose supervisor is
 * dead, then the job's directory when it is empty. */
void xvm_cgroup_remove_job(uint32_t job_id);

#endif
