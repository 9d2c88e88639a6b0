/*
 * xen.c - the `xen` VM driver: one Xen domain per VM through libxenlight (xen/xl_domain.h),
 * the guest agent reached over a secondary PV console served by the VM's supervisor
 * (xen/xl_chan.h, xen/driver_supervise.c).  See driver.h for the contract.
 *
 * boot() does what can fail at once synchronously, so that the error names the cause: input
 * files, free memory, the domain's creation (paused), the agent console's xenstore nodes.
 * Then it double-forks the supervisor and unpauses the domain.  The domain is named
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "vm/proto.h"
#include "vm/vmd.h"
#include "vm/kernel.h"
#include "vm/mac.h"
#include "xen/driver.h"
#include "xen/driver_priv.h"
#include "xl_chan.h"
#include "xl_domain.h"

#define XEN_CONSOLE_DIR "/var/log/xen/console"
#define XEN_MIN_MEM (64ull << 20)
/* What a domain costs Xen beyond its RAM (page tables, p2m, shadow): a generous bound. */
#define XEN_OVERHEAD_MIB 8u
#define XEN_CMDLINE_MAX 2048

static const char *console_dir(void)
{
	const char *d = getenv("XENVM_XEN_CONSOLE_DIR");

	return d && d[0] == '/' ? d : XEN_CONSOLE_DIR;
}

/* Fill vm's paths for state_dir; console: NULL for <state_dir>/console.log.  0, or -1
 * with errno ENAMETOOLONG. */
static int paths(struct xvm *vm, const char *state_dir, const char *console)
{
	if (strlen(state_dir) >= sizeof(vm->state_dir) - 24 ||
	    (console && strlen(console) >= sizeof(vm->console))) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(vm->state_dir, sizeof(vm->state_dir), "%s", state_dir);
	snprintf(vm->sock, sizeof(vm->sock), "%s/agent.sock", state_dir);
	snprintf(vm->status, sizeof(vm->status), "%s/status", state_dir);
	snprintf(vm->pidfile, sizeof(vm->pidfile), "%s/vmd.pid", state_dir);
	snprintf(vm->domfile, sizeof(vm->domfile), "%s/xen.domain", state_dir);
	if (console)
		snprintf(vm->console, sizeof(vm->console), "%s", console);
	else
		snprintf(vm->console, sizeof(vm->console), "%s/console.log", state_dir);
	return 0;
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

/* The guest's command line: the image's, then what the host passes (as qemu.c does), with
 * the agent on /dev/hvc1 (XL_CHAN_AGENT_DEVID).  0, or -1 with errno E2BIG. */
static int cmdline(const struct xvm_spec *s, char *buf, size_t len, struct xerr *err)
{
	size_t off;

	off = (size_t)snprintf(buf, len,
	                       "%s quiet panic=-1 console=hvc0 xenvm.hostname=%s "
	                       "xenvm.agent=/dev/hvc%u",
	                       s->cmdline ? s->cmdline : "", s->hostname ? s->hostname : s->name,
	                       XL_CHAN_AGENT_DEVID);
	if (s->ip_cidr && off < len)
		off += (size_t)snprintf(buf + off, len - off, " xenvm.ip=%s", s->ip_cidr);
	if (s->gateway && off < len)
		off += (size_t)snprintf(buf + off, len - off, " xenvm.gw=%s", s->gateway);
	/* Tags as the qemu driver names them; the image's init mounts them with trans=xen. */
	for (size_t i = 0; i < s->n_shares && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%sxs%zu@%s",
		                        i ? "," : " xenvm.9p=", i, s->shares[i].guest_path);
	if (off >= len) {
		errno = E2BIG;
		return xerr_set(err, "kernel command line longer than %zu bytes", len - 1);
	}
	return 0;
}

/* The control socket, 0600 and owned by uid:gid from the start.  fd, or -1 with err. */
static int listen_at(const char *path, uid_t uid, gid_t gid, struct xerr *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int fd, r, saved;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return xerr_set(err, "socket path too long: %s", path);
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return xerr_set(err, "socket: %s", strerror(errno));
	unlink(path);
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chown(path, uid, gid) < 0 || chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		saved = errno;
		xerr_set(err, "control socket %s: %s", path, strerror(saved));
		close(fd);
		unlink(path);
		errno = saved;
		return -1;
	}
	return fd;
}

/* console.log -> xenconsoled's log of this domain, emptied first so that its tail is this
 * boot's.  Failure is not fatal (the VM runs; its failures lose the console tail). */
static void link_console(const struct xvm *vm)
{
	char target[512];

	snprintf(target, sizeof(target), "%s/guest-%s.log", console_dir(), vm->name);
	if (truncate(target, 0) < 0 && errno != ENOENT)
		xwarn("%s: %s", target, strerror(errno));
	unlink(vm->console);
	if (symlink(target, vm->console) < 0)
		xwarn("%s -> %s: %s", vm->console, target, strerror(errno));
}

static int write_domfile(const struct xvm *vm)
{
	char tmp[320];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", vm->domfile);
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

	if (!s->name || !*s->name || strlen(s->name) > 16 ||
	    strspn(s->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
	        strlen(s->name)) {
		errno = EINVAL;
		return xerr_set(err, "bad VM name '%s'", s->name ? s->name : "");
	}
	if (!s->kernel || !s->initrd || !s->state_dir || s->mem_bytes < XEN_MIN_MEM) {
		errno = EINVAL;
		return xerr_set(err, "VM spec needs kernel, initrd, state_dir and >= 64M memory");
	}
	if (s->n_shares > XL_DOMAIN_MAX_P9) {
		errno = E2BIG;
		return xerr_set(err, "%zu shares: the xen driver gives at most %d", s->n_shares,
		                XL_DOMAIN_MAX_P9);
	}
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
static void boot_undo(struct xvm *vm, int lfd)
{
	int saved = errno;

	if (vm->domid)
		xen_domain_remove(vm->name, vm->domid, NULL);
	if (lfd >= 0)
		close(lfd);
	unlink(vm->sock);
	unlink(vm->domfile);
	errno = saved;
}

static int xen_boot(const struct xvm_spec *s, struct xvm **out, struct xerr *err)
{
	char kernel[4096], kboot[4096], initrd[4096], disk[4096], cmd[XEN_CMDLINE_MAX], mac[24],
	    msg[1200];
	static const char *const tags[XL_DOMAIN_MAX_P9] = {"xs0", "xs1", "xs2", "xs3",
	                                                   "xs4", "xs5", "xs6", "xs7"};
	const char *p9_paths[XL_DOMAIN_MAX_P9], *p9_tags[XL_DOMAIN_MAX_P9];
	struct xl_domain_spec ds = {0};
	struct xl_domain_ctx *ctx = NULL;
	struct xvm *vm = NULL;
	const char *nested = getenv("XENVM_XEN_NESTED_TCG");
	uint64_t free_mib = 0, mib = s->mem_bytes >> 20;
	int lfd = -1, saved = 0, ret = -1;
	pid_t mid;

	*out = NULL;
	if (check_spec(s, kernel, initrd, disk, err) == -1 ||
	    cmdline(s, cmd, sizeof(cmd), err) == -1)
		return -1;
	/* The PV/PVH domain builder loads a vmlinux as it is; a bzImage it decompresses in dom0
	 * first (15 s of a nested test node's boot).  vm/kernel.h. */
	if (xvm_kernel_boot_path(kernel, kboot, sizeof(kboot)) == -1) {
		errno = ENAMETOOLONG;
		return xerr_set(err, "kernel path too long: %s", kernel);
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		errno = ENOMEM;
		return xerr_set(err, "out of memory");
	}
	if (paths(vm, s->state_dir, s->console_log) == -1 ||
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
	lfd = listen_at(vm->sock, s->uid, s->gid, err);
	if (lfd < 0 || vmd_write_status(vm->status, "booting") == -1) {
		saved = errno;
		if (lfd >= 0)
			xerr_set(err, "%s: %s", vm->status, strerror(saved));
		goto out;
	}
	unlink(vm->pidfile);
	link_console(vm);
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
	/* Paused: the agent's console must exist before the guest's kernel looks for devices. */
	if (xl_domain_create(ctx, &ds, &vm->domid, err) == -1 ||
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
	mid = fork();
	if (mid < 0) {
		saved = errno;
		xerr_set(err, "fork: %s", strerror(saved));
		goto out;
	}
	if (mid == 0) {
		/* Double fork: the supervisor is nobody's child but init's, so it outlives us. */
		if (fork() == 0)
			xen_supervise(vm, s, lfd);
		_exit(0);
	}
	waitpid(mid, NULL, 0);
	close(lfd);
	lfd = -1;
	for (int n = 0; n < 250 && !vm->vmd; n++) {
		FILE *f = fopen(vm->pidfile, "re");
		int pid = 0;

		if (f) {
			if (fscanf(f, "%d", &pid) == 1)
				vm->vmd = pid;
			fclose(f);
		}
		if (!vm->vmd)
			usleep(20000);
	}
	if (xl_domain_open(&ctx, 0, err) == -1 || xl_domain_unpause(ctx, vm->domid, err) == -1) {
		saved = errno;
		snprintf(msg, sizeof(msg), "failed: %s", err ? err->msg : "cannot unpause");
		vmd_write_status(vm->status, msg);
		if (vm->vmd > 0)
			kill(vm->vmd, SIGTERM); /* it removes the domain */
		goto out;
	}
	xverbose("%s: domain %u (%s) unpaused, supervisor %d", vm->name, vm->domid,
	         s->xen_pvh ? "pvh" : "pv", (int)vm->vmd);
	*out = vm;
	vm = NULL;
	ret = 0;
out:
	xl_domain_close(ctx);
	if (vm) {
		boot_undo(vm, lfd);
		free(vm);
	}
	if (ret)
		errno = saved;
	return ret;
}

static bool pid_alive(pid_t pid)
{
	char path[64], st[256];
	FILE *f;
	bool alive;

	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	/* a zombie (not yet reaped by init) is dead for us */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	alive = fgets(st, sizeof(st), f) && !strstr(st, ") Z ");
	fclose(f);
	return alive;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static int xen_wait_ready(struct xvm *vm, unsigned timeout_ms, struct xerr *err)
{
	char line[1300], tail[700];
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		FILE *f = fopen(vm->status, "re");

		line[0] = '\0';
		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
			line[strcspn(line, "\n")] = '\0';
		}
		if (strcmp(line, "ready") == 0)
			return 0;
		if (line[0] && strcmp(line, "booting") != 0) {
			errno = EHOSTDOWN;
			return xerr_set(err, "VM %s did not become ready: %s", vm->name,
			                strncmp(line, "failed: ", 8) == 0 ? line + 8 : line);
		}
		if (vm->vmd && !pid_alive(vm->vmd)) {
			errno = EHOSTDOWN;
			return xerr_set(err, "VM %s: its supervisor died (see %s/vmd.log)",
			                vm->name, vm->state_dir);
		}
		if (ms_since(&t0) >= (long)timeout_ms) {
			vmd_console_tail(vm->console, tail, sizeof(tail));
			errno = ETIMEDOUT;
			return xerr_set(err, "VM %s did not become ready in %u s: %s", vm->name,
			                timeout_ms / 1000, tail[0] ? tail : "(console empty)");
		}
		usleep(50000);
	}
}

static int wait_gone(pid_t pid, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 20) {
		if (!pid_alive(pid))
			return 0;
		usleep(20000);
	}
	return pid_alive(pid) ? -1 : 0;
}

static int xen_destroy(struct xvm *vm, struct xerr *err)
{
	if (vm->vmd > 0 && pid_alive(vm->vmd)) {
		/* SIGTERM: the supervisor destroys the domain itself (xen_supervise). */
		kill(vm->vmd, SIGTERM);
		if (wait_gone(vm->vmd, 5000) < 0) {
			kill(vm->vmd, SIGKILL);
			if (wait_gone(vm->vmd, 2000) < 0) {
				errno = EBUSY;
				return xerr_set(err, "supervisor %d of %s does not die",
				                (int)vm->vmd, vm->name);
			}
		}
	}
	/* Whatever the supervisor could not do (it was killed, or had died before). */
	if (xen_domain_remove(vm->name, vm->domid, err) == -1)
		return -1;
	/* xen.domain stays (like status and console.log): a later destroy finds the name. */
	unlink(vm->sock);
	unlink(vm->pidfile);
	return 0;
}

static int xen_shutdown(struct xvm *vm, unsigned grace_ms, struct xerr *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct xl_domain_ctx *ctx = NULL;
	struct timespec t0;
	struct xvp_conn c;
	uint32_t domid;
	long left;
	int fd = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* 1. The agent powers the guest off (sync, then reboot(POWER_OFF)). */
	if (strlen(vm->sock) < sizeof(sa.sun_path)) {
		strcpy(sa.sun_path, vm->sock);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	}
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		xvp_conn_init(&c, fd);
		if (xvp_send(&c, XVP_SHUTDOWN, 0, 0, NULL, 0) == 0)
			xvp_conn_flush_all(&c);
		xvp_conn_fini(&c);
		if (vm->vmd > 0)
			wait_gone(vm->vmd, grace_ms);
	}
	if (fd >= 0)
		close(fd);
	/* 2. The agent did not (hung, or never started): Xen's own request, for what is left
	 * of the grace period.  3. destroy() then removes whatever remains. */
	left = (long)grace_ms - ms_since(&t0);
	if (left > 0 && (!vm->vmd || pid_alive(vm->vmd)) && xl_domain_open(&ctx, 0, NULL) == 0) {
		if (xl_domain_find(ctx, vm->name, &domid, NULL) == 0)
			xl_domain_stop(ctx, domid, (unsigned)left, 10000, NULL);
		xl_domain_close(ctx);
	}
	return xen_destroy(vm, err);
}

static int xen_attach(const char *state_dir, struct xvm **out, struct xerr *err)
{
	struct xvm *vm = calloc(1, sizeof(*vm));
	FILE *f;
	int pid = 0;

	*out = NULL;
	if (!vm) {
		errno = ENOMEM;
		return xerr_set(err, "out of memory");
	}
	if (paths(vm, state_dir, NULL) == -1) {
		free(vm);
		return xerr_set(err, "state directory path too long");
	}
	f = fopen(vm->pidfile, "re");
	if (f) {
		if (fscanf(f, "%d", &pid) == 1)
			vm->vmd = pid;
		fclose(f);
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
		errno = ENOENT;
		return xerr_set(err, "%s: no xen.domain file (not a xen driver VM?)", state_dir);
	}
	*out = vm;
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
		if (out[i].pid && !pid_alive(out[i].pid))
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
	free(vm);
}

const struct xvm_driver xvm_driver_xen = {
    .name = "xen",
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
