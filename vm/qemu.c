/*
 * qemu.c - the `qemu` VM driver: one supervised QEMU process per VM (see driver.h, vmd.h).
 *
 * boot() checks its inputs synchronously (so a missing kernel, a missing QEMU binary or a kernel
 * command line too long is an error at once), creates the control socket (owner spec.uid, 0600),
 * then starts a supervisor (vmhost.h) that starts QEMU with PR_SET_PDEATHSIG, connects to QEMU's
 * end of the agent's virtio-serial port and runs the multiplexer (vmd.c).  The VM outlives the
 * caller and dies with its supervisor.  QEMU's argv is qemu_argv.c's.
 * KVM or TCG is decided by accel.c before the fork (vmx/svm, /dev/kvm, and a probe guest cached
 * per host boot): /dev/kvm alone is not trusted (on some hosts it is a software hypervisor far
 * slower than TCG).
 */
#include "vm/driver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/reader_acl.h"
#include "vm/accel.h"
#include "vm/cgroup.h"
#include "vm/kernel.h"
#include "vm/mac.h"
#include "vm/nosuid.h"
#include "vm/tapname.h"
#include "vm/qemu_argv.h"
#include "vm/spec_check.h"
#include "vm/vmhost.h"

/* The qemu driver's VM: the host part every driver has, and QEMU's own. */
struct qemu_vm {
	struct xvm host;
	char qsock[XVM_PATH_LEN]; /* QEMU's end of the agent port */
	const char *accel;        /* "kvm" or "tcg", chosen in qemu_boot() */
	char kernel[4096];        /* what -kernel boots (vm/kernel.h) */
};

static struct qemu_vm *qvm(struct xvm *vm)
{
	return XVM_CONTAINER(vm, struct qemu_vm, host);
}

/* Fill a sockaddr_un; 0, or -1 with errno ENAMETOOLONG. */
static int set_sun_path(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path);

	if (n >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

/*
 * Find the QEMU binary: bin with a '/' as it is, else in PATH.  opt: how the user named it, for
 * the message (NULL: the default).  0, or -1 with errno ENOENT/EACCES and err.
 */
static int find_qemu(const char *bin, const char *opt, struct xerr *err)
{
	const char *path = getenv("PATH");
	char *dirs, *save = NULL, *dir;

	if (strchr(bin, '/')) {
		if (access(bin, X_OK) == 0)
			return 0;
		return xerr_set(err, "QEMU binary %s (%s): %s", bin, opt ? opt : "default",
		                strerror(errno));
	}
	dirs = strdup(path ? path : "/usr/bin:/bin");
	if (!dirs)
		return xerr_errno(err, ENOMEM, "out of memory");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *p;

		if (asprintf(&p, "%s/%s", dir, bin) < 0)
			continue;
		if (access(p, X_OK) == 0) {
			free(p);
			free(dirs);
			return 0;
		}
		free(p);
	}
	free(dirs);
	errno = ENOENT;
	if (opt)
		return xerr_set(err, "QEMU binary %s (%s) not found in PATH", bin, opt);
	return xerr_set(err, "%s not found in PATH (apt-get install qemu-system-x86)", bin);
}

/*
 * Nothing to check before the spec: which QEMU binary runs is the spec's (xenvm.yaml
 * vm.qemu_binary), and boot() looks for it before anything else.  Always 0.
 */
static int qemu_probe(struct xerr *err)
{
	(void)err;
	return 0;
}

/*
 * The host side of a VM's tap gets the guest's MAC with its first byte 0xfe (as libvirt does;
 * Xen's netback uses fe:ff:ff:ff:ff:ff).  A Linux bridge without an administratively set
 * address takes the lowest MAC among its ports, and a tap's random MAC is often lower than the
 * uplink's: the bridge, which holds the node's IP address, would change its MAC each time a VM
 * starts or stops, and its peers' ARP caches would send to the old one until they expire
 * (~30 s in which no srun reaches the node's slurmd).  0xfe is above any real NIC's first byte.
 * guest_mac is "xx:xx:xx:xx:xx:xx".  Returns 0, or -1 with errno set.
 */
static int set_host_mac(int s, const char *ifname, const char *guest_mac)
{
	struct ifreq ifr;
	unsigned b[6];
	int i;

	if (sscanf(guest_mac, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4],
	           &b[5]) != 6) {
		errno = EINVAL;
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	ifr.ifr_hwaddr.sa_data[0] = (char)0xfe;
	for (i = 1; i < 6; i++)
		ifr.ifr_hwaddr.sa_data[i] = (char)b[i];
	return ioctl(s, SIOCSIFHWADDR, &ifr);
}

/*
 * Create tap name, give it its host-side MAC (set_host_mac), bring it up and add it to bridge.
 * Returns the tap's fd (ifname: the name the kernel gave it), or -1 with err set.
 */
static int make_tap(const char *bridge, const char *name, const char *guest_mac, char *ifname,
                    struct xerr *err)
{
	struct ifreq ifr;
	int fd, s = -1, idx;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return xerr_set(err, "/dev/net/tun: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		xerr_set(err, "tap %s: %s", name, strerror(errno));
		goto fail;
	}
	snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		xerr_set(err, "tap %s flags: %s", name, strerror(errno));
		goto fail;
	}
	if (set_host_mac(s, ifname, guest_mac) < 0) {
		xerr_set(err, "tap %s address: %s", name, strerror(errno));
		goto fail;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0 || ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
		xerr_set(err, "tap %s up: %s", name, strerror(errno));
		goto fail;
	}
	idx = ifr.ifr_ifindex;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", bridge);
	ifr.ifr_ifindex = idx;
	if (ioctl(s, SIOCBRADDIF, &ifr) < 0) {
		xerr_set(err, "adding tap %s to bridge %s: %s", name, bridge, strerror(errno));
		goto fail;
	}
	close(s);
	return fd;
fail:
	if (s >= 0)
		close(s);
	close(fd);
	return -1;
}

/* Connect to QEMU's chardev, retrying while QEMU starts.  fd or -1. */
static int connect_retry(const char *path, pid_t qemu, int ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (set_sun_path(&sa, path) < 0)
		return -1;
	for (int t = 0; t < ms; t += 20) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		if (waitpid(qemu, NULL, WNOHANG) == qemu)
			return -1;
		usleep(20000);
	}
	return -1;
}

/*
 * The console log, made before QEMU opens it (QEMU keeps an existing file's owner and mode):
 * root's, readable by the job's user only (it can hold the user's data).  0, or -1 with err.
 */
static int make_console(const char *path, const struct xvm_spec *s, struct xerr *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0 || fchown(fd, 0, 0) < 0 || xenvm_grant_reader(fd, s->uid, s->gid) < 0) {
		xerr_set(err, "console log %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * QEMU's child before exec: into the VM's cgroup, under the filter that keeps set-id bits and
 * device nodes from the shares (nosuid.h), with the tap.  Never returns.
 */
static void __attribute__((noreturn))
exec_qemu(const struct xvm_argv *argv, const struct xvm_cgroup *cg, int tapfd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (xvm_cgroup_join(cg) < 0) {
		fprintf(stderr, "joining cgroup %s: %s\n", cg->dir, strerror(errno));
		_exit(127);
	}
	if (tapfd >= 0)
		fcntl(tapfd, F_SETFD, 0);
	if (xvm_nosuid_filter() < 0) {
		fprintf(stderr, "seccomp filter for QEMU: %s\n", strerror(errno));
		_exit(127);
	}
	execvp(argv->v[0], argv->v);
	fprintf(stderr, "exec %s: %s\n", argv->v[0], strerror(errno));
	_exit(127);
}

/* The supervisor (vmhost.h's xvm_supervisor_fn; arg: the spec).  Never returns. */
static void __attribute__((noreturn)) supervise(struct xvm *h, int lfd, void *arg)
{
	const struct xvm_spec *s = arg;
	struct qemu_vm *vm = qvm(h);
	char ifname[IFNAMSIZ] = "", tap[IFNAMSIZ], mac[XVM_MAC_LEN], tail[700];
	struct xvm_qemu_args qa = {.spec = s,
	                           .accel = vm->accel,
	                           .kernel = vm->kernel,
	                           .console = h->console,
	                           .agent_sock = vm->qsock,
	                           .tapfd = -1,
	                           .mac = mac};
	struct xvm_argv argv = {0};
	struct xvm_cgroup cg = {""};
	struct xerr err = {""};
	struct vmd_config cfg;
	int afd, rc = 1;
	pid_t q = -1;

	/* QEMU's OUI; cannot fail: s and the OUI are valid, mac is XVM_MAC_LEN */
	xvm_guest_mac(s, "52:54:00", (unsigned)getpid(), mac, sizeof(mac));
	if (s->bridge) {
		/* The name node/netpin.h pins; the spec's name was checked at boot. */
		if (xvm_tap_name(s->job_id, s->name, tap, sizeof(tap)) < 0) {
			xvm_host_fail(h, "VM name '%s' cannot name a tap", s->name);
			goto out;
		}
		qa.tapfd = make_tap(s->bridge, tap, mac, ifname, &err);
		if (qa.tapfd < 0) {
			xvm_host_fail(h, "%s", err.msg);
			goto out;
		}
	}
	/* boot checked the same spec: only memory can fail here */
	if (xvm_qemu_argv(&qa, &argv, &err) < 0) {
		xvm_host_fail(h, "%s", err.msg);
		goto out;
	}
	if (make_console(h->console, s, &err) < 0) {
		xvm_host_fail(h, "%s", err.msg);
		goto out;
	}
	err.msg[0] = '\0';
	if (xvm_cgroup_create(s, getpid(), &cg, &err) < 0) {
		xvm_host_fail(h, "%s", err.msg);
		goto out;
	}
	if (err.msg[0]) /* vm.cgroup auto, and no cgroup: said in vmd.log, not silently */
		fprintf(stderr, "xenvm-vmd: %s\n", err.msg);
	unlink(vm->qsock);
	q = fork();
	if (q == 0)
		exec_qemu(&argv, &cg, qa.tapfd);
	if (qa.tapfd >= 0)
		close(qa.tapfd); /* QEMU holds the tap: it vanishes with QEMU */
	afd = q > 0 ? connect_retry(vm->qsock, q, 20000) : -1;
	if (afd < 0) {
		char log[XVM_PATH_LEN];

		xvm_host_path(h, "vmd.log", log, sizeof(log));
		vmd_console_tail(log, tail, sizeof(tail));
		xvm_host_fail(h, "QEMU did not start (see %s/vmd.log): %s", h->state_dir, tail);
		goto out;
	}
	xvm_host_vmd_config(h, s, afd, lfd, q, &cfg);
	rc = vmd_run(&cfg) < 0;
	close(afd);
out:
	if (q > 0) {
		kill(q, SIGKILL);
		waitpid(q, NULL, 0);
	}
	xvm_cgroup_remove(&cg);
	xvm_argv_free(&argv);
	xvm_host_unlink(h);
	unlink(vm->qsock);
	_exit(rc);
}

/* Unreadable inputs are the caller's fault: say so now, not after a boot timeout.  0, or -1
 * with errno and err. */
static int check_inputs(const struct xvm_spec *s, struct xerr *err)
{
	static const char *const what[] = {"kernel", "initrd", "root disk"};
	const char *in[3] = {s->kernel, s->initrd, s->rootdisk};
	int fd, saved;

	for (int i = 0; i < 3; i++) {
		if (!in[i])
			continue;
		fd = open(in[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			saved = errno;
			xerr_set(err, "%s %s: %s", what[i], in[i], strerror(saved));
			errno = saved;
			return -1;
		}
		close(fd);
	}
	if (s->qemu_binary)
		return find_qemu(s->qemu_binary, "xenvm.yaml vm.qemu_binary", err);
	return find_qemu(XVM_QEMU_DEFAULT_BIN, NULL, err);
}

static int qemu_boot(const struct xvm_spec *s, struct xvm **out, struct xerr *err)
{
	struct qemu_vm *vm = NULL;
	char kabs[4096], iabs[4096], rabs[4096];
	struct xvm_spec spec;
	struct xvm_accel_choice accel;
	struct xvm_argv argv = {0};
	int lfd = -1, saved;

	*out = NULL;
	if (xvm_spec_check(s, err) < 0 || check_inputs(s, err) < 0)
		return -1;
	/* The supervisor runs in / (it must not pin the caller's cwd): absolute paths only. */
	if (!realpath(s->kernel, kabs) || !realpath(s->initrd, iabs))
		return xerr_set(err, "%s: %s", s->kernel, strerror(errno));
	spec = *s;
	spec.kernel = kabs;
	spec.initrd = iabs;
	if (s->rootdisk) {
		if (!realpath(s->rootdisk, rabs))
			return xerr_set(err, "%s: %s", s->rootdisk, strerror(errno));
		spec.rootdisk = rabs;
	}
	s = &spec;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return xerr_errno(err, ENOMEM, "out of memory");
	if (xvm_host_init(&vm->host, s->state_dir, s->console_log, err) < 0)
		goto fail;
	if (xvm_host_path(&vm->host, ".qemu-agent.sock", vm->qsock, sizeof(vm->qsock)) < 0) {
		xerr_set(err, "state directory path too long: %s", s->state_dir);
		goto fail;
	}
	/* the uncompressed vmlinux beside the bzImage boots 3x faster under TCG (vm/kernel.h) */
	if (xvm_kernel_boot_path(s->kernel, vm->kernel, sizeof(vm->kernel)) < 0) {
		xerr_set(err, "kernel path too long: %s", s->kernel);
		goto fail;
	}
	/*
	 * The argv the supervisor will build, with a stand-in tap and MAC: what is wrong with the
	 * spec (a kernel command line over Linux's 2047 bytes: E2BIG) fails the boot here, with
	 * its reason, rather than a supervisor that dies after the fork.
	 */
	{
		struct xvm_qemu_args qa = {.spec = s,
		                           .accel = "tcg",
		                           .kernel = vm->kernel,
		                           .console = vm->host.console,
		                           .agent_sock = vm->qsock,
		                           .tapfd = s->bridge ? 3 : -1,
		                           .mac = "52:54:00:00:00:00"};

		if (xvm_qemu_argv(&qa, &argv, err) < 0)
			goto fail;
	}
	/* Before the fork: the probe guest may run (once per host boot); the choice is logged. */
	if (xvm_accel_choose(xvm_accel_configured_mode(), xvm_accel_configured_cache_dir(), NULL,
	                     &accel, err) < 0)
		goto fail;
	vm->accel = accel.kvm ? "kvm" : "tcg";
	xverbose("%s: accelerator %s", s->state_dir, accel.why);
	lfd = xvm_host_listen(&vm->host, s->uid, s->gid, err);
	if (lfd < 0)
		goto fail;
	if (xvm_host_spawn(&vm->host, lfd, supervise, &spec, err) < 0) {
		unlink(vm->host.sock);
		goto fail;
	}
	xvm_argv_free(&argv);
	*out = &vm->host;
	return 0;
fail:
	saved = errno;
	xvm_argv_free(&argv);
	free(vm);
	errno = saved;
	return -1;
}

static int qemu_wait_ready(struct xvm *vm, unsigned timeout_ms, struct xerr *err)
{
	return xvm_host_wait_ready(vm, NULL, timeout_ms, err);
}

static int qemu_destroy(struct xvm *vm, struct xerr *err)
{
	/* QEMU has PR_SET_PDEATHSIG: it follows its supervisor */
	if (xvm_host_stop(vm, 3000, NULL, err) < 0)
		return -1;
	xvm_host_unlink(vm);
	unlink(qvm(vm)->qsock);
	return 0;
}

static int qemu_shutdown(struct xvm *vm, unsigned grace_ms, struct xerr *err)
{
	xvm_host_request_shutdown(vm, grace_ms);
	return qemu_destroy(vm, err);
}

static int qemu_attach(const char *state_dir, struct xvm **out, struct xerr *err)
{
	struct qemu_vm *vm = calloc(1, sizeof(*vm));

	*out = NULL;
	if (!vm)
		return xerr_errno(err, ENOMEM, "out of memory");
	if (xvm_host_attach(&vm->host, state_dir, err) < 0 ||
	    xvm_host_path(&vm->host, ".qemu-agent.sock", vm->qsock, sizeof(vm->qsock)) < 0) {
		free(vm);
		return xerr_errno(err, ENAMETOOLONG, "state directory path too long: %s",
		                  state_dir);
	}
	*out = &vm->host;
	return 0;
}

/*
 * Is process `pid` in our network namespace?  A node's VMs run in the node's namespace; on a
 * test machine several "nodes" share one process table, and one node must not take another's
 * VM of the same job for its own.  Unknown (no /proc access) counts as ours.
 */
static bool same_netns(const char *pid)
{
	char path[300];
	struct stat mine, theirs;

	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	if (stat("/proc/self/ns/net", &mine) < 0 || stat(path, &theirs) < 0)
		return true;
	return mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev;
}

static int qemu_list_job(uint32_t job_id, struct xvm_info *out, size_t max, struct xerr *err)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char prefix[64];
	int found = 0;

	if (!d)
		return xerr_set(err, "/proc: %s", strerror(errno));
	if (job_id)
		snprintf(prefix, sizeof(prefix), "xenvm-job%u-", job_id);
	else
		snprintf(prefix, sizeof(prefix), "xenvm-job");
	while ((e = readdir(d))) {
		char path[300], cmd[8192], *a;
		ssize_t n;
		int fd;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n <= 0)
			continue;
		cmd[n] = '\0';
		/* qemu-system-x86_64 ... -name xenvm-job<J>-<name>,process=... */
		for (a = cmd; a < cmd + n; a += strlen(a) + 1) {
			if (strcmp(a, "-name") != 0 || a + strlen(a) + 1 >= cmd + n)
				continue;
			a += strlen(a) + 1;
			if (strncmp(a, prefix, strlen(prefix)) != 0 || !same_netns(e->d_name))
				break;
			if ((size_t)found < max) {
				struct xvm_info *i = &out[found];

				memset(i, 0, sizeof(*i));
				snprintf(i->name, sizeof(i->name), "%.*s", (int)strcspn(a, ","), a);
				i->job_id = (uint32_t)strtoul(a + 9, NULL, 10);
				i->pid = (pid_t)atoi(e->d_name);
			}
			found++;
			break;
		}
	}
	closedir(d);
	return found;
}

static int qemu_kill_info(const struct xvm_info *info, struct xerr *err)
{
	if (info->pid > 0 && kill(info->pid, SIGKILL) < 0 && errno != ESRCH)
		return xerr_set(err, "kill %d: %s", (int)info->pid, strerror(errno));
	if (xvm_wait_gone(info->pid, 3000) < 0)
		return xerr_set(err, "%s does not die", info->name);
	xvm_cgroup_remove_job(info->job_id); /* its supervisor may not have lived to */
	return 0;
}

static void qemu_release(struct xvm *vm)
{
	if (vm)
		free(qvm(vm));
}

const struct xvm_driver xvm_driver_qemu = {
    .name = "qemu",
    .mac_oui = "52:54:00",
    .probe = qemu_probe,
    .boot = qemu_boot,
    .wait_ready = qemu_wait_ready,
    .shutdown = qemu_shutdown,
    .destroy = qemu_destroy,
    .attach = qemu_attach,
    .list_job = qemu_list_job,
    .kill_info = qemu_kill_info,
    .release = qemu_release,
};
