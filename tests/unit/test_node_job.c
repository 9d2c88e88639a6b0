/*
 * test_node_job.c - a job's life on one node (node/jobvm.h) with a fake VM driver
 * (tests/node/fake_driver.h) and the VF pool on the xenib sysfs fixture (tests/xenib/fixture.h):
 *
 *   - each phase of the start fails in turn: the fault is the right one's (node or job) and
 *     nothing is left behind (no VF lease, no address claim, no VM directory, no VM);
 *   - the Epilog's stop gives the job's VFs back (it returned before doing so), twice is fine,
 *     a VM that will not die keeps its VF;
 *   - recovery by name after the state directory is gone;
 *   - two jobs on one node, and stopping one leaves the other alone.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/atomic_file.h"
#include "lib/config.h"
#include "lib/jobstate.h"
#include "lib/log.h"
#include "node/jobib.h"
#include "node/jobvm.h"
#include "node/vmsize.h"
#include "tests/node/fake_driver.h"
#include "tests/xenib/fixture.h"
#include "xenib/xenib.h"

#define NODE "localhost" /* resolves without DNS: the node's address for the guest's */
#define MiB (1ull << 20)

struct t {
	struct fixture f;
	struct xenvm_config *cfg;
	struct xenvm_image img;
	struct xenvm_nodelist nodes;
	char *node_names[1];
	struct xvm_job_inputs in;
	struct xenvm_job_record rec[3];
};

static void no_log(enum xlog_level level, const char *msg)
{
	(void)level;
	(void)msg;
}

/* Play the kernel binding VF n to vfio-pci, as the qemu attach asks (test_vm_jobib.c). */
static void vfio_bound(struct t *t, unsigned n)
{
	char bdf[32], rel[PATH_MAX], path[PATH_MAX + 300];

	fixture_vf_bdf(n, bdf, sizeof(bdf));
	snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s/driver", bdf);
	snprintf(path, sizeof(path), "%s%s", t->f.root, rel);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("../../../../bus/pci/drivers/vfio-pci", path), 0);
	snprintf(rel, sizeof(rel), "/dev/vfio/%s", fixture_iommu_group(bdf));
	assert_int_equal(fixture_write(&t->f, rel, ""), 0);
}

static void record_init(struct xenvm_job_record *rec, uint32_t jobid)
{
	memset(rec, 0, sizeof(*rec));
	rec->jobid = jobid;
	rec->uid = getuid();
	rec->gid = getgid();
	snprintf(rec->user, sizeof(rec->user), "tester");
	snprintf(rec->node, sizeof(rec->node), NODE);
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	xlog_set_sink(no_log);
	fake_reset();
	assert_int_equal(fixture_build(&t->f, FIXTURE_VENDOR, 2), 0);
	t->cfg = xenvm_config_defaults();
	assert_non_null(t->cfg);
	free(t->cfg->state_dir);
	t->cfg->state_dir = strdup(t->f.state_dir);
	free(t->cfg->path);
	t->cfg->path = strdup("/etc/xenvm/xenvm.yaml");
	free(t->cfg->network.bridge);
	t->cfg->network.bridge = NULL; /* no bridge: the fake needs none */
	t->cfg->network.pin = false;   /* test_network_pin turns it on, with a stand-in nft */
	free(t->cfg->network.subnet);
	t->cfg->network.subnet = strdup("10.184.0.0/16");
	t->cfg->ib.fallback = XENVM_IB_FALLBACK_NONE;
	assert_int_equal(setenv("XENVM_SYSFS_ROOT", t->f.root, 1), 0);

	t->img.name = "fake-image";
	t->img.cmdline = "console=ttyS0";
	t->img.attributes.ib = true;
	t->img.limits.default_bytes = 256 * MiB;
	t->img.limits.max_bytes = 1024 * MiB;
	t->img.limits.vcpus_default = 1;
	t->img.limits.vcpus_max = 4;
	t->node_names[0] = NODE;
	t->nodes.names = t->node_names;
	t->nodes.n = 1;
	t->in.img = &t->img;
	t->in.image_dir = t->f.root; /* the fake reads no file */
	t->in.nodes = &t->nodes;
	t->in.cpus = 2;
	vfio_bound(t, 0);
	vfio_bound(t, 1);
	for (size_t i = 0; i < 3; i++)
		record_init(&t->rec[i], (uint32_t)(11 + i));
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	for (size_t i = 0; i < 3; i++)
		xenvm_job_record_clear(&t->rec[i]);
	xenvm_config_free(t->cfg);
	fixture_destroy(&t->f);
	free(t);
	unsetenv("XENVM_SYSFS_ROOT");
	xlog_set_sink(NULL);
	return 0;
}

/* VFs of the pool held (leased or assigned) by `jobid`. */
static unsigned vfs_held(struct t *t, uint32_t jobid)
{
	struct xenib_params p;
	struct xenib_pool *pool = NULL;
	struct xenib_slot_status *slots = NULL;
	struct xerr err = {{0}};
	size_t n = 0;
	unsigned held = 0;

	xvm_job_ib_params(&p, t->cfg, t->f.root, NODE);
	assert_int_equal(xenib_pool_open(&p, &pool, &err), 0);
	assert_int_equal(xenib_pool_status(pool, &slots, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		held += slots[i].state != XENIB_FREE && slots[i].jobid == jobid;
	free(slots);
	xenib_pool_close(pool);
	return held;
}

/* Address claims (files in <state_dir>/addr/) holding `jobid`. */
static unsigned claims_of(struct t *t, uint32_t jobid)
{
	char dir[PATH_MAX], cmd[PATH_MAX + 64];
	FILE *p;
	unsigned n = 0;

	snprintf(dir, sizeof(dir), "%s/addr", t->cfg->state_dir);
	if (access(dir, F_OK) < 0)
		return 0;
	snprintf(cmd, sizeof(cmd), "grep -lx %u %s/* 2>/dev/null | wc -l", (unsigned)jobid, dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%u", &n), 1);
	pclose(p);
	return n;
}

/* Nothing of the job's start is left (the job's own directory may stay: the Prolog's record). */
static void nothing_left(struct t *t, const struct xenvm_job_record *rec, bool console_kept)
{
	char jobdir[PATH_MAX], vmdir[PATH_MAX + 8], log[PATH_MAX + 32];
	struct stat st;

	assert_int_equal(fake_alive(rec->jobid), 0);
	assert_int_equal(vfs_held(t, rec->jobid), 0);
	assert_int_equal(claims_of(t, rec->jobid), 0);
	assert_int_equal(xenvm_job_dir(t->cfg->state_dir, rec->jobid, jobdir, sizeof(jobdir)), 0);
	snprintf(vmdir, sizeof(vmdir), "%s/vm0", jobdir);
	snprintf(log, sizeof(log), "%s/console.log", vmdir);
	if (console_kept)
		assert_int_equal(stat(log, &st), 0); /* for the admin, until the Epilog */
	else
		assert_int_equal(stat(vmdir, &st) == 0 ? 0 : errno, ENOENT);
	assert_string_equal(rec->driver, "");
	assert_string_equal(rec->guest_ip, "");
	assert_string_equal(rec->ib, "");
}

static enum xvm_fault start(struct t *t, struct xenvm_job_record *rec, struct xerr *err)
{
	return xvm_job_start(&fake_driver, t->cfg, &t->in, rec, err);
}

static void test_start_ok(void **state)
{
	struct t *t = *state;
	struct xenvm_job_record *rec = &t->rec[0];
	struct xerr err = {{0}};
	const struct fake_vm *vm;

	assert_int_equal(start(t, rec, &err), XVM_FAULT_NONE);
	assert_int_equal(fake_alive(11), 1);
	vm = fake_vm_of(11);
	assert_non_null(vm);
	assert_string_equal(vm->name, "xenvm-job11-vm0");
	assert_string_equal(vm->pci_bdf, "0000:3b:00.1");
	assert_non_null(strstr(vm->cmdline, "console=ttyS0 xenvm.hosts=localhost@10.184."));
	assert_non_null(strstr(vm->cmdline, " xenvm.ib=vf"));
	assert_int_equal(vm->mem_bytes, 256 * MiB); /* the image's default */
	assert_int_equal(vm->vcpus, 2);             /* the job's CPUs */
	assert_string_equal(rec->driver, "fake");
	assert_string_equal(rec->ib, "vf");
	assert_string_equal(rec->ib_bdf, "0000:3b:00.1");
	assert_string_equal(vm->ip_cidr, "10.184.1.12/16"); /* 127.0.0.1: block 1; job 11: .12 */
	assert_string_equal(rec->guest_ip, "10.184.1.12");
	assert_int_equal(rec->req.mem_bytes, 256 * MiB);
	assert_int_equal(vfs_held(t, 11), 1);
	assert_int_equal(claims_of(t, 11), 1);
}

/* Node checks: the driver, the network settings and the state directory are the node's. */
static void test_node_checks_fail(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};
	char *saved;

	fake_fail(FAKE_PROBE, ENODEV);
	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NODE);
	assert_int_equal(errno, ENODEV);
	nothing_left(t, &t->rec[0], false);
	fake_fail(FAKE_PROBE, 0);

	saved = t->cfg->network.subnet;
	t->cfg->network.subnet = NULL;
	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NODE);
	assert_non_null(strstr(err.msg, "network.subnet is not set"));
	t->cfg->network.subnet = saved;
	nothing_left(t, &t->rec[0], false);

	t->cfg->network.bridge = "xvmnosuchbr0";
	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NODE);
	assert_int_equal(errno, ENODEV);
	t->cfg->network.bridge = NULL;
	nothing_left(t, &t->rec[0], false);

	/* the job's directory cannot be made: a file where it goes */
	{
		char dir[PATH_MAX];

		assert_int_equal(xenvm_job_dir(t->cfg->state_dir, 11, dir, sizeof(dir)), 0);
		assert_int_equal(xenvm_mkdir_p(dir, 0755), 0);
		strcat(dir, "/vm0");
		assert_int_equal(fixture_write(&t->f, dir + strlen(t->f.root), "in the way"), 0);
		assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NODE);
		assert_int_equal(unlink(dir), 0);
	}
	assert_int_equal(fake_calls(FAKE_BOOT), 0);
	nothing_left(t, &t->rec[0], false);
}

/* Job 261's address is job 11's (ids 250 apart): the second job's fault, the first untouched. */
static void test_address_held(void **state)
{
	struct t *t = *state;
	struct xenvm_job_record other;
	struct xerr err = {{0}};

	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NONE);
	record_init(&other, 261);
	assert_int_equal(start(t, &other, &err), XVM_FAULT_JOB);
	assert_int_equal(errno, EADDRINUSE);
	nothing_left(t, &other, false);
	assert_int_equal(claims_of(t, 11), 1);
	assert_int_equal(fake_alive(11), 1);
	xenvm_job_record_clear(&other);
}

/* The spec: a size the image does not allow is the job's. */
static void test_spec_fails(void **state)
{
	struct t *t = *state;
	struct xenvm_job_record *rec = &t->rec[0];
	struct xerr err = {{0}};

	rec->req.mem_bytes = 2048 * MiB;
	assert_int_equal(start(t, rec, &err), XVM_FAULT_JOB);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err.msg, "--vm-mem 2G is outside 64M..1G"));
	nothing_left(t, rec, false);
	rec->req.mem_bytes = 0;
	rec->req.vcpus = 5;
	assert_int_equal(start(t, rec, &err), XVM_FAULT_JOB);
	assert_non_null(strstr(err.msg, "--vm-vcpus '5': expected 1..4"));
	nothing_left(t, rec, false);
	/* Root in the guest on a Xen node is the xen driver's check at boot (xl_dmuser.h). */
	rec->req.vcpus = 0;
	assert_int_equal(fake_calls(FAKE_BOOT), 0);
}

/* IB: no VF and no fallback is the job's; a broken pool or a VF vfio-pci cannot take, the node's.
 */
static void test_ib_lease_fails(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};

	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NONE);
	assert_int_equal(start(t, &t->rec[1], &err), XVM_FAULT_NONE);
	assert_int_equal(start(t, &t->rec[2], &err), XVM_FAULT_JOB); /* both VFs in use */
	assert_int_equal(errno, ENOSPC);
	nothing_left(t, &t->rec[2], false);

	/* a damaged pool: a VF in an unknown state is not handed out */
	assert_int_equal(xvm_job_stop(&fake_driver, t->cfg, NODE, 12, &err), 0);
	{
		char rel[PATH_MAX];

		snprintf(rel, sizeof(rel), "%s/xenib/pool.state",
		         t->cfg->state_dir + strlen(t->f.root));
		assert_int_equal(fixture_write(&t->f, rel, "garbage\n"), 0);
		assert_int_equal(start(t, &t->rec[2], &err), XVM_FAULT_NODE);
		assert_int_equal(fake_alive(13), 0);
		assert_int_equal(claims_of(t, 13), 0);
		assert_int_equal(fixture_write(&t->f, rel, "xenib-pool 1\n"), 0);
	}
	nothing_left(t, &t->rec[2], false);
}

static void test_ib_attach_fails(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};
	char bdf[32], rel[PATH_MAX];

	/* VF 0 stays with mlx5_core: the kernel did not let vfio-pci take it */
	fixture_vf_bdf(0, bdf, sizeof(bdf));
	snprintf(rel, sizeof(rel), "%s/sys/bus/pci/devices/%s/driver", t->f.root, bdf);
	assert_int_equal(unlink(rel), 0);
	assert_int_equal(symlink("../../../../bus/pci/drivers/mlx5_core", rel), 0);
	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NODE);
	assert_int_equal(errno, EBUSY);
	nothing_left(t, &t->rec[0], false);
	assert_int_equal(fake_calls(FAKE_BOOT), 0);
}

/* The driver cannot start a VM: the node's; its console.log stays for the admin. */
static void test_boot_fails(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};

	fake_fail(FAKE_BOOT, ENOEXEC);
	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NODE);
	assert_int_equal(errno, ENOEXEC);
	nothing_left(t, &t->rec[0], true);
	/* root in the guest the node cannot contain (a Xen dom0 whose 9pfs backend is root): the
	 * job's, so that no job can drain a node by asking for it */
	fake_fail(FAKE_BOOT, EOPNOTSUPP);
	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_JOB);
	assert_int_equal(errno, EOPNOTSUPP);
	nothing_left(t, &t->rec[0], true);
}

/* The VM never says ready: the job's (its image); the VM is destroyed. */
static void test_wait_ready_fails(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};

	fake_fail(FAKE_WAIT_READY, ETIMEDOUT);
	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_JOB);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(fake_calls(FAKE_DESTROY), 1);
	nothing_left(t, &t->rec[0], true);
}

/*
 * The network pin (node/netpin.h) in the job's life: made before the boot for the VM's tap
 * (vm/tapname.h: job 11 -> "xvb_vm0") with the driver's OUI, deleted by the stop; nft missing is
 * the node's fault and leaves nothing.  A stand-in nft records what it is asked.
 */
static void test_network_pin(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};
	char nft[PATH_MAX], script[PATH_MAX], deleted[PATH_MAX], text[8192] = "";
	FILE *f;
	size_t n;

	snprintf(script, sizeof(script), "%s/nft.script", t->f.root);
	snprintf(deleted, sizeof(deleted), "%s/nft.deleted", t->f.root);
	snprintf(nft, sizeof(nft), "%s/nft", t->f.root);
	f = fopen(nft, "w");
	assert_non_null(f);
	fprintf(f,
	        "#!/bin/sh\ncase $1 in\n-f) cp \"$2\" %s ;;\nlist) [ -f %s ] && echo "
	        "'table bridge xenvm_job11' ;;\ndelete) echo \"$*\" >%s ;;\nesac\n",
	        script, script, deleted);
	fclose(f);
	assert_int_equal(chmod(nft, 0755), 0);
	t->cfg->network.pin = true;
	t->cfg->network.bridge = "lo"; /* exists everywhere; the fake driver does not use it */

	setenv("XENVM_NFT", "/nonexistent/nft", 1);
	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NODE);
	assert_non_null(strstr(err.msg, "network.pin is on"));
	assert_int_equal(fake_calls(FAKE_BOOT), 0);
	nothing_left(t, &t->rec[0], false);

	/* nft refuses a rule (as dom0 without nft_meta_bridge did): the reason and the rule,
	 * not the "^^^" line under it */
	{
		char bad[PATH_MAX];

		snprintf(bad, sizeof(bad), "%s/nft-bad", t->f.root);
		f = fopen(bad, "w");
		assert_non_null(f);
		fprintf(f,
		        "#!/bin/sh\n[ \"$1\" = -f ] || exit 0\n"
		        "echo \"$2:7:31-37: Error: Could not process rule: No such file or "
		        "directory\" >&2\necho 'add rule bridge xenvm_job11 from_x iifname x' >&2\n"
		        "echo '                               ^^^^^^^' >&2\nexit 1\n");
		fclose(f);
		assert_int_equal(chmod(bad, 0755), 0);
		setenv("XENVM_NFT", bad, 1);
		assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NODE);
		assert_non_null(strstr(err.msg, "Error: Could not process rule: No such file or "
		                                "directory: add rule bridge xenvm_job11 from_x"));
		assert_null(strstr(err.msg, "^^^"));
		assert_int_equal(fake_calls(FAKE_BOOT), 0);
		nothing_left(t, &t->rec[0], false);
	}

	setenv("XENVM_NFT", nft, 1);
	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NONE);
	f = fopen(script, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	assert_non_null(strstr(text, "table bridge xenvm_job11"));
	assert_non_null(strstr(text, "iifname \"xvb_vm0\""));
	assert_non_null(strstr(text, "52:54:00:b8:01:0c")); /* 10.184.1.12's MAC */
	assert_non_null(strstr(text, "10.184.1.12"));
	assert_int_equal(xvm_job_stop(&fake_driver, t->cfg, NODE, 11, &err), 0);
	f = fopen(deleted, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	assert_string_equal(text, "delete table bridge xenvm_job11\n");
	unsetenv("XENVM_NFT");
	t->cfg->network.bridge = NULL;
}

/* The Epilog: the VM shut down, the address and the VF given back; a second run is fine. */
static void test_stop_releases_vfs(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};

	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NONE);
	assert_int_equal(vfs_held(t, 11), 1);
	assert_int_equal(xvm_job_stop(&fake_driver, t->cfg, NODE, 11, &err), 0);
	assert_int_equal(fake_calls(FAKE_SHUTDOWN), 1);
	assert_int_equal(fake_alive(11), 0);
	assert_int_equal(claims_of(t, 11), 0);
	/* while its state directory is still there: the Epilog removes it only afterwards */
	assert_true(xenvm_job_present(t->cfg->state_dir, 11));
	assert_int_equal(vfs_held(t, 11), 0);
	assert_int_equal(xvm_job_stop(&fake_driver, t->cfg, NODE, 11, &err), 0);
}

/* Shutdown and destroy fail: found by name and killed; a VM that cannot be killed keeps its VF. */
static void test_stop_fallbacks(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};

	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NONE);
	fake_fail(FAKE_SHUTDOWN, EIO);
	fake_fail(FAKE_DESTROY, EIO);
	fake_fail(FAKE_KILL, EPERM);
	assert_int_equal(xvm_job_stop(&fake_driver, t->cfg, NODE, 11, &err), -1);
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(err.msg, "cannot kill VM xenvm-job11-vm0"));
	assert_int_equal(fake_alive(11), 1);
	assert_int_equal(vfs_held(t, 11), 1); /* never to the next job while a guest has it */
	fake_fail(FAKE_KILL, 0);
	assert_int_equal(xvm_job_stop(&fake_driver, t->cfg, NODE, 11, &err), 0);
	assert_int_equal(fake_alive(11), 0);
	assert_int_equal(vfs_held(t, 11), 0);
	assert_int_equal(claims_of(t, 11), 0);
	/* the driver cannot even list: the node's, and said so */
	fake_fail(FAKE_LIST, EIO);
	assert_int_equal(xvm_job_stop(&fake_driver, t->cfg, NODE, 11, &err), -1);
	assert_non_null(strstr(err.msg, "listing its VMs"));
}

/* After a crash the state directory is gone: the VM is found by name, its VF recovered. */
static void test_recover_without_state_dir(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};
	unsigned killed = 99;

	assert_int_equal(xvm_job_recover(&fake_driver, 11, &killed, &err), 0);
	assert_int_equal(killed, 0);
	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NONE);
	assert_int_equal(xenvm_job_remove(t->cfg->state_dir, 11), 0);
	assert_int_equal(xvm_job_stop(&fake_driver, t->cfg, NODE, 11, &err), 0);
	assert_int_equal(fake_calls(FAKE_SHUTDOWN), 0); /* nothing to attach to */
	assert_int_equal(fake_calls(FAKE_KILL), 1);
	assert_int_equal(fake_alive(11), 0);
	assert_int_equal(vfs_held(t, 11), 0);
	assert_int_equal(claims_of(t, 11), 0);

	/* xvm_job_recover alone: by name, counted */
	assert_int_equal(start(t, &t->rec[1], &err), XVM_FAULT_NONE);
	assert_int_equal(xenvm_job_remove(t->cfg->state_dir, 12), 0);
	assert_int_equal(xvm_job_recover(&fake_driver, 12, &killed, &err), 0);
	assert_int_equal(killed, 1);
	assert_int_equal(fake_alive(12), 0);
	/* the next Prolog's lease recovers the VF of the job whose directory is gone */
	assert_int_equal(start(t, &t->rec[2], &err), XVM_FAULT_NONE);
	assert_int_equal(vfs_held(t, 12), 0);
}

/* Two jobs on one node: their own VF and address; stopping one leaves the other running. */
static void test_two_jobs(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};

	assert_int_equal(start(t, &t->rec[0], &err), XVM_FAULT_NONE);
	assert_int_equal(start(t, &t->rec[1], &err), XVM_FAULT_NONE);
	assert_string_not_equal(t->rec[0].ib_bdf, t->rec[1].ib_bdf);
	assert_string_not_equal(t->rec[0].guest_ip, t->rec[1].guest_ip);
	assert_string_not_equal(t->rec[0].vm_dir, t->rec[1].vm_dir);
	assert_int_equal(xvm_job_stop(&fake_driver, t->cfg, NODE, 11, &err), 0);
	assert_int_equal(fake_alive(11), 0);
	assert_int_equal(fake_alive(12), 1);
	assert_int_equal(vfs_held(t, 11), 0);
	assert_int_equal(vfs_held(t, 12), 1);
	assert_int_equal(claims_of(t, 12), 1);
	assert_int_equal(xvm_job_stop(&fake_driver, t->cfg, NODE, 12, &err), 0);
	assert_int_equal(vfs_held(t, 12), 0);
}

/* The sizing rules, shared with `xenvm boot` (admin/boot.c). */
static void test_vm_size(void **state)
{
	struct t *t = *state;
	struct xvm_size_ask ask = {.mem_what = "--mem", .vcpus_what = "--vcpus"};
	struct xvm_size s;
	struct xerr err = {{0}};

	assert_int_equal(xvm_vm_size(t->cfg, &t->img, &ask, &s, &err), 0);
	assert_int_equal(s.mem_bytes, 256 * MiB);
	assert_int_equal(s.vcpus, 1); /* no job CPUs: the image's default */
	ask.cpus = 16;                /* capped at vcpus.max */
	assert_int_equal(xvm_vm_size(t->cfg, &t->img, &ask, &s, &err), 0);
	assert_int_equal(s.vcpus, 4);
	ask.vcpus = 3;            /* asked wins */
	ask.mem_bytes = 32 * MiB; /* below what a VM boots with: raised */
	assert_int_equal(xvm_vm_size(t->cfg, &t->img, &ask, &s, &err), 0);
	assert_int_equal(s.vcpus, 3);
	assert_int_equal(s.mem_bytes, XVM_MEM_MIN);
	t->img.limits.default_bytes = 0; /* xenvm.yaml's vm.default_memory */
	ask.mem_bytes = 0;
	assert_int_equal(xvm_vm_size(t->cfg, &t->img, &ask, &s, &err), 0);
	assert_int_equal(s.mem_bytes, t->cfg->vm.default_memory_bytes);
	ask.mem_bytes = 4096 * MiB;
	assert_int_equal(xvm_vm_size(t->cfg, &t->img, &ask, &s, &err), -1);
	assert_string_equal(err.msg, "--mem 4G is outside 64M..1G (image fake-image's memory.max)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_start_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_node_checks_fail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_address_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spec_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ib_lease_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ib_attach_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_boot_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_network_pin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wait_ready_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_releases_vfs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_fallbacks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recover_without_state_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_jobs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vm_size, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
