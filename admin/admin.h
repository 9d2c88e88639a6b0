/*
 * admin.h - the `xenvm` admin command's parts (see doc/man/xenvm.8 and admin/README.md).
 *
 * Each subcommand is one file (boot.c, list.c, exec.c, destroy.c) over a shared view of the
 * node's VMs (inventory.c): the state directories under <state_dir>/job/<jobid>/<vm>/ joined
 * with the VMs each driver finds by process name.
 */
#ifndef XENVM_ADMIN_H
#define XENVM_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/config.h"
#include "lib/error.h"

struct xvm_driver;

/*
 * Admin VMs take job ids from the top of the 32-bit space: 0xFFFF0001..0xFFFFFFFD.  A Slurm job
 * id is a 26-bit local id (MaxJobId <= 0x03FFFFFF, default 0x03FF0000) under a 6-bit federation
 * cluster id, and 0xFFFFFFFE/0xFFFFFFFF are Slurm's NO_VAL/INFINITE: this range is reached only
 * by the 63rd cluster of a federation with MaxJobId raised above its default.  Allocation also
 * skips any id whose <state_dir>/job/<id>/ exists.
 */
#define XA_JOBID_FIRST 0xFFFF0001u
#define XA_JOBID_LAST 0xFFFFFFFDu
#define XA_IS_ADMIN_JOB(j) ((j) >= XA_JOBID_FIRST && (j) <= XA_JOBID_LAST)

/* The VM's own record, written by `xenvm boot` beside the driver's files. */
#define XA_VM_INFO "vm.info"

/* Exit statuses (xenvm(8), EXIT STATUS). */
enum xa_exit {
	XA_EXIT_OK = 0,
	XA_EXIT_FAIL = 1,     /* the operation failed (boot, readiness, destroy) */
	XA_EXIT_USAGE = 2,    /* bad command line: unknown option, bad --mem/--vcpus/--name */
	XA_EXIT_CONFIG = 3,   /* xenvm.yaml or the catalog cannot be loaded */
	XA_EXIT_NOTFOUND = 4, /* unknown image or VM, or an image file missing */
	XA_EXIT_NODRIVER = 5, /* the driver is not built in or cannot run on this node */
	XA_EXIT_EXEC = 255,   /* exec: the VM could not be reached (as xenvm-exec) */
};

/* One VM on the node as `xenvm list` shows it. */
struct xa_vm {
	uint32_t job_id;
	bool admin;         /* job_id is in the admin range */
	char vm[32];        /* the VM's name within its job ("vm0", or the admin VM's --name) */
	char name[64];      /* "xenvm-job<jobid>-<vm>" (process / domain name) */
	char dir[4096];     /* its state directory, "" when none was found */
	char driver[16];    /* "qemu", "xen", or "?" */
	char accel[8];      /* qemu: "kvm"/"tcg" from its command line, else "" */
	char state[16];     /* booting | ready | failed | stopped | orphan */
	char image[72];     /* from vm.info, else "" */
	char reason[200];   /* failed: why (status file) */
	pid_t pid;          /* the hypervisor process, 0 when none runs */
	uint64_t mem_bytes; /* 0 unknown */
	uint32_t vcpus;     /* 0 unknown */
	long uptime_s;      /* -1 unknown */
};

/*
 * Every VM on the node: state directories first (sorted by job, then name), then processes that
 * have none ("orphan").  Returns 0 with *out (free()) and *n, or -1 with errno and err (ENOMEM,
 * or the error listing <state_dir>/job; a missing directory is no VMs).
 */
int xa_inventory(const struct xenvm_config *cfg, struct xa_vm **out, size_t *n, struct xerr *err);

/*
 * The VM named by `id`: "xenvm-job<J>-<vm>", "<J>/<vm>", a job id with exactly one VM, or an
 * admin VM's name.  Returns 0 with *out, or -1 with errno ENOENT (no such VM), EEXIST (a job id
 * with several VMs: err lists them), or as xa_inventory.
 */
int xa_find(const struct xenvm_config *cfg, const char *id, struct xa_vm *out, struct xerr *err);

/* What `xenvm list` prints in its ID column (and xa_find accepts): into buf; returns buf. */
const char *xa_vm_id(const struct xa_vm *v, char *buf, size_t len);

/* "1d02:03:04" / "02:03:04", or "-" for a negative value; into buf; returns buf. */
const char *xa_format_uptime(long s, char *buf, size_t len);

/* vm.info: what the boot knew (image, driver, memory, vcpus, time) for list and status. */
struct xa_vm_info {
	char image[72];
	char driver[16];
	uint64_t mem_bytes;
	uint32_t vcpus;
	long booted; /* time(NULL) at boot */
};
/* Write <dir>/vm.info atomically.  0, or -1 with errno and err naming the file. */
int xa_vm_info_write(const char *dir, const struct xa_vm_info *info, struct xerr *err);
/* Read it.  0, or -1 with errno (ENOENT: none; EINVAL: damaged). */
int xa_vm_info_read(const char *dir, struct xa_vm_info *info);

/*
 * Take a free admin job id and create <state_dir>/job/<id>/<vm>/ for it, refusing a name an admin
 * VM already has; serialised by a lock so concurrent boots never share an id or a name.  An empty
 * vm (vmlen >= 12) is replaced by "admin<n>" from the id.  Returns 0 with *job_id and the VM
 * directory in dir, or -1 with errno EEXIST (name taken), ENOSPC (range exhausted) or the error
 * creating a directory, and err naming it.
 */
int xa_admin_id_take(const char *state_dir, char *vm, size_t vmlen, uint32_t *job_id, char *dir,
                     size_t len, struct xerr *err);

/* The driver called `name`, or NULL with err saying why (not built in, unknown). */
const struct xvm_driver *xa_driver(const char *name, struct xerr *err);

/* The subcommands: argv[0] is the subcommand's name.  Each returns an enum xa_exit value. */
int xa_cmd_boot(const struct xenvm_config *cfg, int argc, char **argv);
int xa_cmd_list(const struct xenvm_config *cfg, int argc, char **argv);
int xa_cmd_status(const struct xenvm_config *cfg, int argc, char **argv);
int xa_cmd_exec(const struct xenvm_config *cfg, int argc, char **argv);
int xa_cmd_destroy(const struct xenvm_config *cfg, int argc, char **argv);

/* check's exit status grows with what the fault would cost the site. */
#define XA_EXIT_CHECK_CATALOG XA_EXIT_FAIL /* the catalog: job_submit refuses VM jobs */
#define XA_EXIT_CHECK_NODE XA_EXIT_CONFIG  /* xenvm.yaml: the Prolog drains the node */
/*
 * `xenvm check`: xenvm.yaml (-c of the command, or --config) and the catalog by the Prolog's
 * and job_submit's rules, reported on stdout.  Needs no loaded configuration (judging it is
 * the point).  Returns XA_EXIT_OK, XA_EXIT_CHECK_CATALOG, XA_EXIT_CHECK_NODE or XA_EXIT_USAGE.
 */
int xa_check(const char *config_arg, int argc, char **argv);

/* status's sections: the image cache and the IB VF pool, printed to stdout. */
void xa_print_cache(const struct xenvm_config *cfg);
void xa_print_ib(const struct xenvm_config *cfg);

/* `xenvm image ...`: the image manager's client (image.c).  Returns an XA_EXIT_* status. */
int xa_cmd_image(const struct xenvm_config *cfg, int argc, char **argv);

#endif
