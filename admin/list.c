/*
 * list.c - `xenvm list` (one line per VM) and `xenvm status` (VMs, image cache, IB VFs, and the
 * qemu driver's accelerator with the reason it was chosen).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "lib/log.h"
#include "lib/units.h"
#include "vm/accel.h"

/* Driver plus accelerator ("qemu/tcg", or the driver alone) into buf; returns buf. */
static const char *driver_col(const struct xa_vm *v, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", v->driver, v->accel[0] ? "/" : "", v->accel);
	return buf;
}

/* A memory size, or "-" when unknown, into buf (>= 2 bytes); returns buf. */
static const char *mem_col(uint64_t bytes, char *buf, size_t len)
{
	return bytes ? xenvm_format_size(bytes, buf, len) : strcpy(buf, "-");
}

/* The table both commands print, to stdout. */
static void print_table(const struct xa_vm *vms, size_t n)
{
	printf("%-16s %-10s %-8s %-9s %-8s %-10s %-7s %-5s %s\n", "ID", "JOB", "VM", "DRIVER",
	       "STATE", "UPTIME", "MEMORY", "VCPUS", "IMAGE");
	for (size_t i = 0; i < n; i++) {
		const struct xa_vm *v = &vms[i];
		char id[128], drv[32], up[32], mem[32], cpus[16];

		snprintf(cpus, sizeof(cpus), "%u", v->vcpus);
		printf("%-16s %-10u %-8s %-9s %-8s %-10s %-7s %-5s %s\n",
		       xa_vm_id(v, id, sizeof(id)), v->job_id, v->vm,
		       driver_col(v, drv, sizeof(drv)), v->state,
		       xa_format_uptime(v->uptime_s, up, sizeof(up)),
		       mem_col(v->mem_bytes, mem, sizeof(mem)), v->vcpus ? cpus : "-",
		       v->image[0] ? v->image : "-");
	}
}

int xa_cmd_list(const struct xenvm_config *cfg, int argc, char **argv)
{
	struct xa_vm *vms = NULL;
	struct xerr err = {""};
	size_t n = 0;

	if (argc > 1) {
		xerror("list: takes no arguments");
		return XA_EXIT_USAGE;
	}
	if (xa_inventory(cfg, &vms, &n, &err) < 0) {
		xerror("list: %s", err.msg);
		return XA_EXIT_FAIL;
	}
	print_table(vms, n);
	free(vms);
	return XA_EXIT_OK;
}

int xa_cmd_status(const struct xenvm_config *cfg, int argc, char **argv)
{
	struct xa_vm *vms = NULL;
	struct xvm_accel_choice accel;
	struct xerr err = {""};
	size_t n = 0, ready = 0;
	uint64_t mem = 0;
	char total[32];

	if (argc > 1) {
		xerror("status: takes no arguments");
		return XA_EXIT_USAGE;
	}
	if (xa_inventory(cfg, &vms, &n, &err) < 0) {
		xerror("status: %s", err.msg);
		return XA_EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		ready += strcmp(vms[i].state, "ready") == 0;
		mem += vms[i].pid ? vms[i].mem_bytes : 0;
	}
	printf("VMs: %zu (%zu ready), %s of guest memory running, state in %s/job\n", n, ready,
	       xenvm_format_size(mem, total, sizeof(total)), cfg->state_dir);
	if (n)
		print_table(vms, n);
	for (size_t i = 0; i < n; i++)
		if (vms[i].reason[0])
			printf("  %s failed: %s\n", vms[i].name, vms[i].reason);
	free(vms);
	xa_print_cache(cfg);
	xa_print_ib(cfg);
	/* the cached verdict: this never boots a probe guest unless none was run this boot */
	if (xvm_accel_choose(xvm_accel_configured_mode(), xvm_accel_configured_cache_dir(), NULL,
	                     &accel, &err) == 0)
		printf("qemu accelerator (vm.accel %s): %s\n",
		       xvm_accel_mode_name(xvm_accel_configured_mode()), accel.why);
	return XA_EXIT_OK;
}
