/* fake_driver.c - see fake_driver.h. */
#include "tests/node/fake_driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct xvm {
	int idx; /* into vms[] */
};

static struct fake_vm vms[FAKE_MAX_VMS];
static size_t n_vms;
static int fail_errno[FAKE_N_OPS];
static unsigned calls[FAKE_N_OPS];

static const char *const op_names[FAKE_N_OPS] = {
    "probe", "boot", "wait_ready", "shutdown", "destroy", "attach", "list_job", "kill_info",
};

void fake_reset(void)
{
	memset(vms, 0, sizeof(vms));
	n_vms = 0;
	memset(fail_errno, 0, sizeof(fail_errno));
	memset(calls, 0, sizeof(calls));
}

void fake_fail(enum fake_op op, int err)
{
	fail_errno[op] = err;
}

unsigned fake_calls(enum fake_op op)
{
	return calls[op];
}

unsigned fake_alive(uint32_t job)
{
	unsigned n = 0;

	for (size_t i = 0; i < n_vms; i++)
		n += vms[i].alive && vms[i].job == job;
	return n;
}

const struct fake_vm *fake_vm_of(uint32_t job)
{
	for (size_t i = n_vms; i-- > 0;)
		if (vms[i].job == job)
			return &vms[i];
	return NULL;
}

/* Count the call; -1 with errno and err when the test made `op` fail. */
static int called(enum fake_op op, struct xerr *err)
{
	calls[op]++;
	if (!fail_errno[op])
		return 0;
	errno = fail_errno[op];
	return xerr_set(err, "fake %s fails: %s", op_names[op], strerror(errno));
}

static int fake_probe(struct xerr *err)
{
	return called(FAKE_PROBE, err);
}

static struct xvm *handle(int idx)
{
	struct xvm *vm = malloc(sizeof(*vm));

	if (vm)
		vm->idx = idx;
	return vm;
}

/* A failed boot still leaves the console.log a real driver would have started. */
static void console_log(const char *dir)
{
	char path[1100];
	FILE *f;

	snprintf(path, sizeof(path), "%s/console.log", dir);
	f = fopen(path, "we");
	if (f) {
		fputs("fake console\n", f);
		fclose(f);
	}
}

static int fake_boot(const struct xvm_spec *spec, struct xvm **out, struct xerr *err)
{
	struct fake_vm *v;

	console_log(spec->state_dir);
	if (called(FAKE_BOOT, err) < 0)
		return -1;
	if (n_vms == FAKE_MAX_VMS) {
		errno = ENOSPC;
		return xerr_set(err, "fake boot: more than %d VMs", FAKE_MAX_VMS);
	}
	v = &vms[n_vms];
	memset(v, 0, sizeof(*v));
	v->alive = true;
	v->job = spec->job_id;
	snprintf(v->name, sizeof(v->name), "xenvm-job%u-%s", (unsigned)spec->job_id, spec->name);
	snprintf(v->state_dir, sizeof(v->state_dir), "%s", spec->state_dir);
	snprintf(v->pci_bdf, sizeof(v->pci_bdf), "%s", spec->pci_bdf ? spec->pci_bdf : "");
	snprintf(v->cmdline, sizeof(v->cmdline), "%s", spec->cmdline ? spec->cmdline : "");
	snprintf(v->ip_cidr, sizeof(v->ip_cidr), "%s", spec->ip_cidr ? spec->ip_cidr : "");
	v->mem_bytes = spec->mem_bytes;
	v->vcpus = spec->vcpus;
	v->n_shares = spec->n_shares;
	*out = handle((int)n_vms);
	if (!*out) {
		errno = ENOMEM;
		return xerr_set(err, "out of memory");
	}
	n_vms++;
	return 0;
}

static int fake_wait_ready(struct xvm *vm, unsigned timeout_ms, struct xerr *err)
{
	return called(FAKE_WAIT_READY, err);
}

static int fake_shutdown(struct xvm *vm, unsigned grace_ms, struct xerr *err)
{
	if (called(FAKE_SHUTDOWN, err) < 0)
		return -1;
	vms[vm->idx].alive = false;
	return 0;
}

static int fake_destroy(struct xvm *vm, struct xerr *err)
{
	if (called(FAKE_DESTROY, err) < 0)
		return -1;
	vms[vm->idx].alive = false;
	return 0;
}

static int fake_attach(const char *state_dir, struct xvm **out, struct xerr *err)
{
	if (called(FAKE_ATTACH, err) < 0)
		return -1;
	for (size_t i = 0; i < n_vms; i++) {
		if (!vms[i].alive || strcmp(vms[i].state_dir, state_dir) != 0 ||
		    access(state_dir, F_OK) < 0)
			continue;
		*out = handle((int)i);
		if (!*out) {
			errno = ENOMEM;
			return xerr_set(err, "out of memory");
		}
		return 0;
	}
	errno = ENOENT;
	return xerr_set(err, "%s: no VM there", state_dir);
}

static int fake_list_job(uint32_t job_id, struct xvm_info *out, size_t max, struct xerr *err)
{
	int n = 0;

	if (called(FAKE_LIST, err) < 0)
		return -1;
	for (size_t i = 0; i < n_vms; i++) {
		if (!vms[i].alive || (job_id && vms[i].job != job_id))
			continue;
		if ((size_t)n < max) {
			memset(&out[n], 0, sizeof(out[n]));
			out[n].job_id = vms[i].job;
			snprintf(out[n].name, sizeof(out[n].name), "%s", vms[i].name);
			out[n].pid = (pid_t)(1000 + i);
		}
		n++;
	}
	return n;
}

static int fake_kill_info(const struct xvm_info *info, struct xerr *err)
{
	if (called(FAKE_KILL, err) < 0)
		return -1;
	for (size_t i = 0; i < n_vms; i++)
		if (vms[i].alive && strcmp(vms[i].name, info->name) == 0)
			vms[i].alive = false;
	return 0;
}

static void fake_release(struct xvm *vm)
{
	free(vm);
}

const struct xvm_driver fake_driver = {
    .name = "fake",
    .mac_oui = "52:54:00",
    .probe = fake_probe,
    .boot = fake_boot,
    .wait_ready = fake_wait_ready,
    .shutdown = fake_shutdown,
    .destroy = fake_destroy,
    .attach = fake_attach,
    .list_job = fake_list_job,
    .kill_info = fake_kill_info,
    .release = fake_release,
};
