/*
 * driver.c - the `xen` VM driver: one Xen domain per VM through libxenlight (xen/xl_domain.h),
 * the guest agent reached over a secondary PV console served by the VM's supervisor
 * (xen/xl_chan.h, xen/driver_supervise.c).  See driver.h for the contract.
 *
 * boot() does what can fail at once synchronously, so that the error names the cause: input
 * files, free memory, the domain's creation (paused), the agent console's xenstore nodes.
 * Then it starts the supervisor (vm/vmhost.h) and unpauses the domain.  The domain is named
 * xenvm-job<jobid>-<vm>, which is how list_job() finds a job's VMs after a crash.
 *
 * Knobs from the environment (dom0-wide facts, not per-VM choices):
 *   XENVM_XEN_CONSOLE_DIR  xenconsoled's --log-dir (default /var/log/xen/console): console.log
 *                          in the state directory is a link to its guest-<name>.log
 *   XENVM_XEN_NESTED_TCG=1 Xen itself runs under QEMU/TCG (the test bed): PVH guests need it
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/reader_acl.h"
#include "vm/guest_cmdline.h"
#include "vm/kernel.h"
#include "vm/mac.h"
#include "vm/tapname.h"
#include "vm/spec_check.h"
#include "vm/vmd.h"
#include "vm/vmhost.h"
#include "xen/driver.h"
#include "xen/driver_priv.h"
#include "xl_chan.h"
#include "xl_domain.h"
#include "xl_dmuser.h"

#define XEN_CONSOLE_DIR "/var/log/xen/console"
#define XEN_MIN_MEM (64ull << 20)
/* What a domain costs Xen beyond its RAM (page tables, p2m, shadow): a generous bound. */
#define XEN_OVERHEAD_MIB 8u
/* QEMU drops root (-runas) just after it tells libxenlight it runs: how long to wait. */
#define XEN_DM_DROP_MS 5000

static const char *console_dir(void)
{
	const char *d = getenv("XENVM_XEN_CONSOLE_DIR");

	return d && d[0] == '/' ? d : XEN_CONSOLE_DIR;
}

static int xen_probe(struct xerr *err)
{
	struct xl_domain_ctx *ctx = NULL;
	uint64_t mib = 0;
	int ret = -1, saved = 0;

	if (!xl_domain_is_dom0()) {
		saved = ENODEV;
		xerr_set(err, "not Xen's control domain (no \"control_d\" in "
		              "/proc/xen/capabilities): the xen driver runs in dom0");
		goto out;
	}
	if (xl_domain_open(&ctx, 0, err) == -1 || xl_domain_free_mib(ctx, &mib, err) == -1) {
		saved = errno;
		goto out;
	}
	if (mib < (XEN_MIN_MEM >> 20) + XEN_OVERHEAD_MIB) {
		saved = ENOMEM;
		xerr_set(err, "Xen has %llu MiB free, a VM needs at least %llu MiB",
		         (unsigned long long)mib,
		         (unsigned long long)(XEN_MIN_MEM >> 20) + XEN_OVERHEAD_MIB);
		goto out;
	}
	ret = 0;
out:
	xl_domain_close(ctx);
	if (ret)
		errno = saved;
	return ret;
}

/*
 * console.log -> xenconsoled's log of this domain, emptied first so that its tail is this
 * boot's, and made before xenconsoled opens it (it keeps the mode): root's, readable by the
 * job's user only, as it can hold the user's data.  Failure is not fatal (the VM runs; its
 * failures lose the console tail).
 */
static void link_console(const struct xen_vm *vm, const struct xvm_spec *s)
{
	const char *console = vm->host.console;
	char *target;
	int fd;

	if (asprintf(&target, "%s/guest-%s.log", console_dir(), vm->name) < 0) {
		xwarn("%s: %s", console, strerror(errno));
		return;
	}
	fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || xenvm_grant_reader(fd, s->uid, s->gid) < 0)
		xwarn("%s: %s", target, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(console);
	if (symlink(target, console) < 0)
		xwarn("%s -> %s: %s", console, target, strerror(errno));
	free(target);
}

/* xen.domain: "<name> <domid>" (atomically).  0, or -1 with errno. */
static int write_domfile(const struct xen_vm *vm)
{
	char tmp[XVM_PATH_LEN + 8];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", vm->domfile) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	f = fopen(tmp, "we");
	if (!f)
		return -1;
	fprintf(f, "%s %u\n", vm->name, vm->domid);
	if (fclose(f) != 0 || rename(tmp, vm->domfile) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Check the spec and resolve its files to absolute paths.  0, or -1 with errno and err. */
static int check_spec(const struct xvm_spec *s, char *k, char *i, char *r, struct xerr *err)
{
	static const char *const what[] = {"kernel", "initrd", "root disk"};
	const char *in[3] = {s->kernel, s->initrd, s->rootdisk};
	char *out[3] = {k, i, r};
	int saved;

	if (xvm_spec_check(s, err) == -1)
		return -1;
	if (s->n_shares > XL_DOMAIN_MAX_P9)
		return xerr_errno(err, E2BIG, "%zu shares: the xen driver gives at most %d",
		                  s->n_shares, XL_DOMAIN_MAX_P9);
	r[0] = '\0';
	for (int n = 0; n < 3; n++) {
		if (!in[n])
			continue;
		if (!realpath(in[n], out[n]) || access(out[n], R_OK) < 0) {
			saved = errno;
			xerr_set(err, "%s %s: %s", what[n], in[n], strerror(saved));
			errno = saved;
			return -1;
		}
	}
	return 0;
}

/* Undo a boot that failed after the domain was created: domain, nodes, socket.  Keeps errno. */
static void boot_undo(struct xen_vm *vm, int lfd)
{
	int saved = errno;

	if (vm->domid)
		xen_domain_remove(vm->name, vm->domid, NULL);
	if (lfd >= 0)
		close(lfd);
	unlink(vm->host.sock);
	unlink(vm->domfile);
	xl_dmuser_remove(vm->name);
	errno = saved;
}

/*
 * The 9pfs backend of a domain with shares runs as the job's user (xenvm-xen-dm(8), as
 * libxenlight's QEMU): checked, not trusted, since a dom0 without the wrapper runs it as
 * root.  Then root in the guest would be root on the shares: a VM that allows root
 * (--vm-root) fails to boot (EOPNOTSUPP: the job asked for what this node cannot give safely;
 * not a node fault a user could drain nodes with), any other gets a warning (the guest kernel's
 * checks are what stands between its user and the shares, as on a root backend before).
 */
static int check_dm_user(const struct xen_vm *vm, const struct xvm_spec *s, struct xerr *err)
{
	struct timespec t0;
	uid_t uid = 0;
	struct xerr e = {{0}};

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		e.msg[0] = '\0';
		if (xl_dm_backend_uid(vm->domid, &uid, &e) == 0 && uid == s->uid)
			return 0;
		if (xvm_ms_since(&t0) >= XEN_DM_DROP_MS)
			break;
		usleep(20000);
	}
	if (!e.msg[0])
		snprintf(e.msg, sizeof(e.msg), "runs as uid %u", (unsigned)uid);
	if (s->allow_root)
		return xerr_errno(err, EOPNOTSUPP,
		                  "%s: its 9pfs backend (dom0 QEMU) %s, not as the job's user %u: "
		                  "root in the guest is refused on this node (install "
		                  "xenvm-xen-dm(8) as libxenlight's QEMU)",
		                  vm->name, e.msg, (unsigned)s->uid);
	xwarn("%s: its 9pfs backend (dom0 QEMU) %s, not as the job's user %u (xenvm-xen-dm(8) "
	      "is not libxenlight's QEMU here)",
	      vm->name, e.msg, (unsigned)s->uid);
	return 0;
}

static int xen_boot(const struct xvm_spec *s, struct xvm **out, struct xerr *err)
{
	char kernel[4096], kboot[4096], initrd[4096], disk[4096], mac[XVM_MAC_LEN];
	char vif[XVM_TAP_NAME_LEN];
	static const char *const tags[XL_DOMAIN_MAX_P9] = {"xs0", "xs1", "xs2", "xs3",
	                                                   "xs4", "xs5", "xs6", "xs7"};
	const char *p9_paths[XL_DOMAIN_MAX_P9], *p9_tags[XL_DOMAIN_MAX_P9];
	struct xl_domain_spec ds = {0};
	struct xl_domain_ctx *ctx = NULL;
	struct xen_vm *vm = NULL;
	const char *nested = getenv("XENVM_XEN_NESTED_TCG");
	uint64_t free_mib = 0, mib = s->mem_bytes >> 20;
	char *cmd = NULL, agent_arg[64];
	int lfd = -1, saved = 0, ret = -1, dm_user = 0;

	*out = NULL;
	if (check_spec(s, kernel, initrd, disk, err) == -1)
		return -1;
	/* The agent on /dev/hvc1 (XL_CHAN_AGENT_DEVID); the line is guest_cmdline.h's, checked
	 * against Linux's limit (E2BIG: the image's cmdline is too long, the job's fault). */
	snprintf(agent_arg, sizeof(agent_arg), "console=hvc0 xenvm.agent=/dev/hvc%u",
	         XL_CHAN_AGENT_DEVID);
	cmd = xvm_guest_cmdline(s, agent_arg, err);
	if (!cmd)
		return -1;
	/* The PV/PVH domain builder loads a vmlinux as it is; a bzImage it decompresses in dom0
	 * first (15 s of a nested test node's boot).  vm/kernel.h. */
	if (xvm_kernel_boot_path(kernel, kboot, sizeof(kboot)) == -1) {
		saved = ENAMETOOLONG;
		xerr_set(err, "kernel path too long: %s", kernel);
		goto out;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		saved = ENOMEM;
		xerr_set(err, "out of memory");
		goto out;
	}
	if (xvm_host_init(&vm->host, s->state_dir, s->console_log, err) == -1 ||
	    xvm_host_path(&vm->host, "xen.domain", vm->domfile, sizeof(vm->domfile)) == -1 ||
	    xl_domain_name(vm->name, sizeof(vm->name), s->job_id, s->name) == -1) {
		saved = errno;
		xerr_set(err, "state directory or VM name too long");
		goto out;
	}
	if (xl_domain_open(&ctx, 0, err) == -1 || xl_domain_free_mib(ctx, &free_mib, err) == -1) {
		saved = errno;
		goto out;
	}
	if (free_mib < mib + XEN_OVERHEAD_MIB) {
		saved = ENOMEM;
		xerr_set(err, "%s needs %llu MiB, Xen has %llu MiB free", vm->name,
		         (unsigned long long)mib + XEN_OVERHEAD_MIB, (unsigned long long)free_mib);
		goto out;
	}
	lfd = xvm_host_listen(&vm->host, s->uid, s->gid, err);
	if (lfd < 0) {
		saved = errno;
		goto out;
	}
	link_console(vm, s);
	xvm_guest_mac(s, "00:16:3e", 0, mac, sizeof(mac)); /* Xen's OUI */
	ds.name = vm->name;
	ds.type = s->xen_pvh ? XL_DOMAIN_PVH : XL_DOMAIN_PV;
	ds.kernel = kboot;
	ds.ramdisk = initrd;
	ds.cmdline = cmd;
	ds.memory_mib = (unsigned int)mib;
	ds.vcpus = s->vcpus ? s->vcpus : 1;
	ds.disk = disk[0] ? disk : NULL;
	ds.bridge = s->bridge;
	ds.mac = s->bridge ? mac : NULL;
	/* The name node/netpin.h pins (a vif named by domid could not be known in advance). */
	if (s->bridge && xvm_tap_name(s->job_id, s->name, vif, sizeof(vif)) == 0)
		ds.vif_name = vif;
	ds.nested_tcg = nested && strcmp(nested, "1") == 0;
	/* The job's VF (jobib.h): xl_domain_create makes it assignable and lists it; stopping
	 * the domain (xen_domain_remove -> xl_domain_stop) gives it back. */
	ds.pci_bdf = s->pci_bdf;
	for (size_t n = 0; n < s->n_shares; n++) {
		p9_paths[n] = s->shares[n].host_path;
		p9_tags[n] = tags[n];
	}
	ds.p9_paths = p9_paths;
	ds.p9_tags = p9_tags;
	ds.n_p9 = s->n_shares;
	/*
	 * The 9pfs backend (dom0's QEMU, which libxenlight starts itself, as root, ignoring
	 * b_info.device_model_user for a PV domain) as the job's user: the note xenvm-xen-dm
	 * reads (xl_dmuser.h), read once when libxenlight starts QEMU.  Root's VMs (tests) keep
	 * libxenlight's default.
	 */
	dm_user = s->n_shares && s->uid != 0;
	if (dm_user && xl_dmuser_write(vm->name, s->uid, s->gid, err) == -1) {
		saved = errno;
		goto out;
	}
	/* Paused: the agent's console must exist before the guest's kernel looks for devices. */
	if (xl_domain_create(ctx, &ds, &vm->domid, err) == -1) {
		saved = errno;
		goto out;
	}
	if (dm_user)
		xl_dmuser_remove(vm->name);
	if ((dm_user && check_dm_user(vm, s, err) == -1) ||
	    xl_chan_add(vm->domid, XL_CHAN_AGENT_DEVID, "org.xenvm.agent", err) == -1) {
		saved = errno;
		goto out;
	}
	if (write_domfile(vm) == -1) {
		saved = errno;
		xerr_set(err, "%s: %s", vm->domfile, strerror(saved));
		goto out;
	}
	/* No libxenlight context crosses the fork: the supervisor opens its own. */
	xl_domain_close(ctx);
	ctx = NULL;
	saved = xvm_host_spawn(&vm->host, lfd, xen_supervise, (void *)s, err);
	lfd = -1; /* closed by xvm_host_spawn */
	if (saved == -1) {
		saved = errno;
		goto out;
	}
	if (xl_domain_open(&ctx, 0, err) == -1 || xl_domain_unpause(ctx, vm->domid, err) == -1) {
		saved = errno;
		xvm_host_fail(&vm->host, "%s", err ? err->msg : "cannot unpause");
		if (vm->host.vmd > 0)
			kill(vm->host.vmd, SIGTERM); /* it removes the domain */
		goto out;
	}
	xverbose("%s: domain %u (%s) unpaused, supervisor %d", vm->name, vm->domid,
	         s->xen_pvh ? "pvh" : "pv", (int)vm->host.vmd);
	*out = &vm->host;
	vm = NULL;
	ret = 0;
out:
	xl_domain_close(ctx);
	free(cmd);
	if (vm) {
		boot_undo(vm, lfd);
		free(vm);
	}
	if (ret)
		errno = saved;
	return ret;
}

static int xen_wait_ready(struct xvm *vm, unsigned timeout_ms, struct xerr *err)
{
	return xvm_host_wait_ready(vm, xen_vm_of(vm)->name, timeout_ms, err);
}

static int xen_destroy(struct xvm *h, struct xerr *err)
{
	struct xen_vm *vm = xen_vm_of(h);

	/* SIGTERM: the supervisor destroys the domain itself (xen_supervise). */
	if (xvm_host_stop(h, 5000, vm->name, err) == -1)
		return -1;
	/* Whatever the supervisor could not do (it was killed, or had died before). */
	if (xen_domain_remove(vm->name, vm->domid, err) == -1)
		return -1;
	/* xen.domain stays (like status and console.log): a later destroy finds the name. */
	xvm_host_unlink(h);
	return 0;
}

static int xen_shutdown(struct xvm *h, unsigned grace_ms, struct xerr *err)
{
	struct xen_vm *vm = xen_vm_of(h);
	struct xl_domain_ctx *ctx = NULL;
	struct timespec t0;
	uint32_t domid;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* 1. The agent powers the guest off (sync, then reboot(POWER_OFF)). */
	xvm_host_request_shutdown(h, grace_ms);
	/* 2. The agent did not (hung, or never started): Xen's own request, for what is left
	 * of the grace period.  3. destroy() then removes whatever remains. */
	left = (long)grace_ms - xvm_ms_since(&t0);
	if (left > 0 && (!h->vmd || xvm_pid_alive(h->vmd)) && xl_domain_open(&ctx, 0, NULL) == 0) {
		if (xl_domain_find(ctx, vm->name, &domid, NULL) == 0)
			xl_domain_stop(ctx, domid, (unsigned)left, 10000, NULL);
		xl_domain_close(ctx);
	}
	return xen_destroy(h, err);
}

static int xen_attach(const char *state_dir, struct xvm **out, struct xerr *err)
{
	struct xen_vm *vm = calloc(1, sizeof(*vm));
	FILE *f;

	*out = NULL;
	if (!vm)
		return xerr_errno(err, ENOMEM, "out of memory");
	if (xvm_host_attach(&vm->host, state_dir, err) == -1 ||
	    xvm_host_path(&vm->host, "xen.domain", vm->domfile, sizeof(vm->domfile)) == -1) {
		free(vm);
		return xerr_errno(err, ENAMETOOLONG, "state directory path too long: %s",
		                  state_dir);
	}
	f = fopen(vm->domfile, "re");
	if (f) {
		if (fscanf(f, "%63s %u", vm->name, &vm->domid) != 2)
			vm->domid = 0;
		fclose(f);
	}
	if (!vm->name[0]) {
		/* Booted by another driver's rules, or the file is gone: the name says it all
		 * only with the job id, which the state directory does not carry. */
		free(vm);
		return xerr_errno(err, ENOENT, "%s: no xen.domain file (not a xen driver VM?)",
		                  state_dir);
	}
	*out = &vm->host;
	return 0;
}

static int xen_list_job(uint32_t job_id, struct xvm_info *out, size_t max, struct xerr *err)
{
	struct xl_domain_ctx *ctx = NULL;
	struct xl_domain_entry *list = NULL;
	char prefix[64];
	size_t n = 0;
	int ret = -1;

	/* No Xen here: no Xen VMs either (xenvm list on a qemu node asks every driver). */
	if (!xl_domain_is_dom0())
		return 0;
	if (job_id)
		snprintf(prefix, sizeof(prefix), "xenvm-job%u-", job_id);
	else
		snprintf(prefix, sizeof(prefix), "xenvm-job");
	if (xl_domain_open(&ctx, 0, err) == -1 || xl_domain_list(ctx, prefix, &list, &n, err) == -1)
		goto out;
	for (size_t i = 0; i < n && i < max; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].name, sizeof(out[i].name), "%s", list[i].name);
		out[i].job_id = (uint32_t)strtoul(list[i].name + 9, NULL, 10);
		out[i].domid = (int)list[i].domid;
		/* The supervisor serving it, if it still runs: a domain without one is a stray
		 * (its agent cannot be reached) and is reported with pid 0. */
		out[i].pid = xl_chan_owner(list[i].domid, XL_CHAN_AGENT_DEVID);
		if (out[i].pid && !xvm_pid_alive(out[i].pid))
			out[i].pid = 0;
	}
	ret = (int)n;
out:
	xl_domain_list_free(list, n);
	xl_domain_close(ctx);
	return ret;
}

static int xen_kill_info(const struct xvm_info *info, struct xerr *err)
{
	/* By name: a domain id alone could have been reused by another VM since the listing. */
	return xen_domain_remove(info->name, (uint32_t)info->domid, err);
}

static void xen_release(struct xvm *vm)
{
	if (vm)
		free(xen_vm_of(vm));
}

const struct xvm_driver xvm_driver_xen = {
    .name = "xen",
    .mac_oui = "00:16:3e",
    .probe = xen_probe,
    .boot = xen_boot,
    .wait_ready = xen_wait_ready,
    .shutdown = xen_shutdown,
    .destroy = xen_destroy,
    .attach = xen_attach,
    .list_job = xen_list_job,
    .kill_info = xen_kill_info,
    .release = xen_release,
};
