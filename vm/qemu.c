/*
 * qemu.c - the `qemu` VM driver: one supervised QEMU process per VM (see driver.h, vmd.h).
 *
 * boot() checks its inputs synchronously (so a missing kernel is an error at once), creates the
 * control socket (owner spec.uid, 0600), then double-forks a supervisor that starts QEMU with
 * PR_SET_PDEATHSIG, connects to QEMU's end of the agent's virtio-serial port and runs the
 * multiplexer (vmd.c).  The VM outlives the caller and dies with its supervisor.
 * KVM or TCG is decided by accel.c before the fork (vmx/svm, /dev/kvm, and a probe guest cached
 * per host boot): /dev/kvm alone is not trusted (on some hosts it is a software hypervisor far
 * slower than TCG).
 */
#include "vm/driver.h"
#include "vm/qemu_pci.h"

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
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "vm/accel.h"
#include "vm/kernel.h"
#include "vm/mac.h"
#include "vm/proto.h"
#include "vm/vmd.h"

#define QEMU_BIN "qemu-system-x86_64"
#ifndef XENVM_LIBEXECDIR
#define XENVM_LIBEXECDIR "/usr/local/libexec/xenvm" /* the Makefile's $(LIBEXECDIR) */
#endif
#define MAX_ARGS 96
#define ARG_LEN 4200

struct xvm {
	char state_dir[256];
	char sock[300], qsock[300], status[300], pidfile[300], console[300];
	pid_t vmd;
	const char *accel; /* "kvm" or "tcg", chosen in qemu_boot() */
};

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

static int paths(struct xvm *vm, const char *state_dir, const char *console)
{
	if (strlen(state_dir) >= sizeof(vm->state_dir) - 24) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(vm->state_dir, sizeof(vm->state_dir), "%s", state_dir);
	snprintf(vm->sock, sizeof(vm->sock), "%s/agent.sock", state_dir);
	snprintf(vm->qsock, sizeof(vm->qsock), "%s/.qemu-agent.sock", state_dir);
	snprintf(vm->status, sizeof(vm->status), "%s/status", state_dir);
	snprintf(vm->pidfile, sizeof(vm->pidfile), "%s/vmd.pid", state_dir);
	snprintf(vm->console, sizeof(vm->console), "%s", console ? console : "");
	if (!console)
		snprintf(vm->console, sizeof(vm->console), "%s/console.log", state_dir);
	return 0;
}

const char *xvm_control_socket(const struct xvm *vm)
{
	return vm->sock;
}

static int qemu_probe(struct xerr *err)
{
	const char *path = getenv("PATH");
	char buf[4096], *save = NULL, *dir;

	snprintf(buf, sizeof(buf), "%s", path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char p[4200];

		snprintf(p, sizeof(p), "%s/%s", dir, QEMU_BIN);
		if (access(p, X_OK) == 0)
			return 0;
	}
	errno = ENOENT;
	return xerr_set(err, "%s not found in PATH (apt-get install qemu-system-x86)", QEMU_BIN);
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

static int listen_at(const char *path, uid_t uid, gid_t gid, struct xerr *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return xerr_set(err, "socket path too long: %s", path);
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return xerr_set(err, "socket: %s", strerror(errno));
	unlink(path);
	/* 0600 from the start (umask), then handed to the job's user. */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));

	umask(old);
	if (r < 0 || chown(path, uid, gid) < 0 || chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		xerr_set(err, "control socket %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
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

/* Build QEMU's argv into args (strings in pool); mac: the NIC's, with tapfd.  Returns argc. */
static int qemu_argv(const struct xvm_spec *s, const struct xvm *vm, const char *kernel, int tapfd,
                     const char *mac, char **args, char pool[][ARG_LEN])
{
	int n = 0, p = 0, off;
	char *cmd;

#define ARG(...) (snprintf(pool[p], ARG_LEN, __VA_ARGS__), args[n++] = pool[p++])
	ARG(QEMU_BIN);
	ARG("-name");
	ARG("xenvm-job%u-%s,process=xvq-%u-%s", s->job_id, s->name, s->job_id, s->name);
	ARG("-M");
	ARG("pc");
	ARG("-accel");
	ARG("%s", vm->accel);
	ARG("-m");
	ARG("%lluM", (unsigned long long)(s->mem_bytes >> 20));
	ARG("-smp");
	ARG("%u", s->vcpus ? s->vcpus : 1);
	ARG("-nodefaults");
	ARG("-no-user-config");
	ARG("-display");
	ARG("none");
	ARG("-no-reboot");
	ARG("-kernel");
	ARG("%s", kernel);
	ARG("-initrd");
	ARG("%s", s->initrd);
	ARG("-append");
	cmd = pool[p];
	off = snprintf(cmd, ARG_LEN, "%s quiet panic=-1 console=ttyS0 xenvm.hostname=%s",
	               s->cmdline ? s->cmdline : "", s->hostname ? s->hostname : s->name);
	if (s->ip_cidr)
		off += snprintf(cmd + off, ARG_LEN - (size_t)off, " xenvm.ip=%s", s->ip_cidr);
	if (s->gateway)
		off += snprintf(cmd + off, ARG_LEN - (size_t)off, " xenvm.gw=%s", s->gateway);
	for (size_t i = 0; i < s->n_shares; i++)
		off += snprintf(cmd + off, ARG_LEN - (size_t)off, "%sxs%zu@%s",
		                i ? "," : " xenvm.9p=", i, s->shares[i].guest_path);
	args[n++] = pool[p++];
	ARG("-serial");
	ARG("file:%s", vm->console);
	ARG("-chardev");
	ARG("socket,id=ag,path=%s,server=on,wait=off", vm->qsock);
	ARG("-device");
	ARG("virtio-serial-pci");
	ARG("-device");
	ARG("virtserialport,chardev=ag,name=org.xenvm.agent");
	if (s->rootdisk) {
		/* read-only and shared by every VM booted from this image in the node's cache */
		ARG("-drive");
		ARG("file=%s,if=none,id=rd,format=raw,readonly=on", s->rootdisk);
		ARG("-device");
		ARG("virtio-blk-pci,drive=rd");
	}
	if (tapfd >= 0) {
		ARG("-netdev");
		ARG("tap,id=n0,fd=%d", tapfd);
		ARG("-device");
		ARG("virtio-net-pci,netdev=n0,mac=%s", mac);
	}
	if (s->pci_bdf && xvm_qemu_pci_arg(s->pci_bdf, pool[p + 1], ARG_LEN) == 0) {
		ARG("-device");
		args[n++] = pool[p++]; /* filled by xvm_qemu_pci_arg; qemu_boot checked it */
	}
	for (size_t i = 0; i < s->n_shares; i++) {
		ARG("-fsdev");
		ARG("local,id=fs%zu,path=%s,security_model=passthrough", i, s->shares[i].host_path);
		ARG("-device");
		ARG("virtio-9p-pci,fsdev=fs%zu,mount_tag=xs%zu", i, i);
	}
	args[n] = NULL;
#undef ARG
	return n;
}

/* The supervisor: never returns. */
static void __attribute__((noreturn))
supervise(const struct xvm_spec *s, struct xvm *vm, const char *kernel, int lfd)
{
	static char pool[MAX_ARGS][ARG_LEN];
	char *args[MAX_ARGS + 1], ifname[IFNAMSIZ] = "", tap[IFNAMSIZ], msg[1200], mac[XVM_MAC_LEN];
	struct xerr err;
	struct vmd_config cfg = {0};
	int tapfd = -1, afd, null, rc;
	pid_t q;
	FILE *f;

	setsid();
	prctl(PR_SET_NAME, "xenvm-vmd");
	/*
	 * Nothing of the booting process may live on in the supervisor: a Prolog's lock on the
	 * job, slurmstepd's sockets.  Only the control socket's listener is ours.
	 */
	if (lfd > 3)
		close_range(3, (unsigned)lfd - 1, 0);
	close_range((unsigned)lfd + 1, ~0U, 0);
	if (chdir("/") < 0)
		_exit(1);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	}
	/* stderr goes to the console log's neighbour so that QEMU's own errors are kept */
	snprintf(msg, sizeof(msg), "%s/vmd.log", vm->state_dir);
	int logfd = open(msg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd >= 0)
		dup2(logfd, 2);
	f = fopen(vm->pidfile, "we");
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	/* QEMU's OUI; cannot fail: s and the OUI are valid, mac is XVM_MAC_LEN */
	xvm_guest_mac(s, "52:54:00", (unsigned)getpid(), mac, sizeof(mac));
	if (s->bridge) {
		snprintf(tap, sizeof(tap), "xv%u%s", s->job_id, s->name);
		tapfd = make_tap(s->bridge, tap, mac, ifname, &err);
		if (tapfd < 0) {
			snprintf(msg, sizeof(msg), "failed: %s", err.msg);
			vmd_write_status(vm->status, msg);
			_exit(1);
		}
	}
	qemu_argv(s, vm, kernel, tapfd, mac, args, pool);
	unlink(vm->qsock);
	q = fork();
	if (q == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (tapfd >= 0)
			fcntl(tapfd, F_SETFD, 0);
		execvp(args[0], args);
		fprintf(stderr, "exec %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	if (tapfd >= 0)
		close(tapfd); /* QEMU holds the tap: it vanishes with QEMU */
	afd = q > 0 ? connect_retry(vm->qsock, q, 20000) : -1;
	if (afd < 0) {
		char tail[700];

		vmd_console_tail(msg, tail, sizeof(tail));
		snprintf(msg, sizeof(msg), "failed: QEMU did not start (see %s/vmd.log): %s",
		         vm->state_dir, tail);
		vmd_write_status(vm->status, msg);
		rc = 1;
		goto out;
	}
	cfg.agent_fd = afd;
	cfg.listen_fd = lfd;
	cfg.owner_uid = s->uid;
	cfg.owner_gid = s->gid;
	cfg.host_agent = s->host_agent ? s->host_agent : XENVM_LIBEXECDIR "/xenvm-agent";
	cfg.allow_root = s->allow_root;
	cfg.child = q;
	cfg.status_path = vm->status;
	cfg.console_log = vm->console;
	rc = vmd_run(&cfg) < 0;
	close(afd);
out:
	if (q > 0) {
		kill(q, SIGKILL);
		waitpid(q, NULL, 0);
	}
	unlink(vm->sock);
	unlink(vm->qsock);
	unlink(vm->pidfile);
	_exit(rc);
}

static int qemu_boot(const struct xvm_spec *s, struct xvm **out, struct xerr *err)
{
	struct xvm *vm = NULL;
	char kernel[4096], kabs[4096], iabs[4096], rabs[4096];
	struct xvm_spec spec;
	struct xvm_accel_choice accel;
	int lfd = -1, fd, saved;
	pid_t mid;

	*out = NULL;
	if (!s->name || !*s->name || strlen(s->name) > 16 ||
	    strspn(s->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
	        strlen(s->name)) {
		errno = EINVAL;
		return xerr_set(err, "bad VM name '%s'", s->name ? s->name : "");
	}
	if (!s->kernel || !s->initrd || !s->state_dir || s->mem_bytes < (64u << 20)) {
		errno = EINVAL;
		return xerr_set(err, "VM spec needs kernel, initrd, state_dir and >= 64M memory");
	}
	if (s->pci_bdf) {
		char a[64];

		if (xvm_qemu_pci_arg(s->pci_bdf, a, sizeof(a)) < 0)
			return xerr_set(err, "VF PCI address '%s': expected dddd:bb:dd.f",
			                s->pci_bdf);
	}
	/* Unreadable inputs are the caller's fault: say so now, not after a boot timeout. */
	for (int i = 0; i < 3; i++) {
		const char *what[] = {"kernel", "initrd", "root disk"};
		const char *p = i == 0 ? s->kernel : i == 1 ? s->initrd : s->rootdisk;

		if (!p)
			continue;

		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			saved = errno;
			xerr_set(err, "%s %s: %s", what[i], p, strerror(saved));
			errno = saved;
			return -1;
		}
		close(fd);
	}
	if (qemu_probe(err) < 0)
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
	if (!vm) {
		errno = ENOMEM;
		return xerr_set(err, "out of memory");
	}
	if (paths(vm, s->state_dir, s->console_log) < 0) {
		xerr_set(err, "state directory path too long");
		goto fail;
	}
	/* the uncompressed vmlinux beside the bzImage boots 3x faster under TCG (vm/kernel.h) */
	if (xvm_kernel_boot_path(s->kernel, kernel, sizeof(kernel)) < 0) {
		xerr_set(err, "kernel path too long: %s", s->kernel);
		goto fail;
	}
	/* Before the fork: the probe guest may run (once per host boot); the choice is logged. */
	if (xvm_accel_choose(xvm_accel_configured_mode(), xvm_accel_configured_cache_dir(), NULL,
	                     &accel, err) < 0)
		goto fail;
	vm->accel = accel.kvm ? "kvm" : "tcg";
	xverbose("%s: accelerator %s", s->state_dir, accel.why);
	lfd = listen_at(vm->sock, s->uid, s->gid, err);
	if (lfd < 0)
		goto fail;
	if (vmd_write_status(vm->status, "booting") < 0) {
		xerr_set(err, "%s: %s", vm->status, strerror(errno));
		goto fail;
	}
	unlink(vm->pidfile);
	mid = fork();
	if (mid < 0) {
		xerr_set(err, "fork: %s", strerror(errno));
		goto fail;
	}
	if (mid == 0) {
		/* Double fork: the supervisor is nobody's child but init's, so it outlives us. */
		if (fork() == 0)
			supervise(s, vm, kernel, lfd);
		_exit(0);
	}
	waitpid(mid, NULL, 0);
	close(lfd);
	/* the supervisor writes its pid first thing; wait for it briefly */
	for (int i = 0; i < 250 && !vm->vmd; i++) {
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
	*out = vm;
	return 0;
fail:
	saved = errno;
	if (lfd >= 0) {
		close(lfd);
		unlink(vm->sock);
	}
	free(vm);
	errno = saved;
	return -1;
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

static int qemu_wait_ready(struct xvm *vm, unsigned timeout_ms, struct xerr *err)
{
	char line[1300], tail[700];
	struct timespec t0, t;

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
		if (strncmp(line, "failed: ", 8) == 0 ||
		    (strcmp(line, "booting") != 0 && line[0] && strcmp(line, "ready") != 0)) {
			errno = EHOSTDOWN;
			return xerr_set(err, "VM in %s did not become ready: %s", vm->state_dir,
			                strncmp(line, "failed: ", 8) == 0 ? line + 8 : line);
		}
		if (vm->vmd && !pid_alive(vm->vmd)) {
			errno = EHOSTDOWN;
			return xerr_set(err, "VM in %s: its supervisor died", vm->state_dir);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >=
		    (long)timeout_ms) {
			vmd_console_tail(vm->console, tail, sizeof(tail));
			errno = ETIMEDOUT;
			return xerr_set(err, "VM in %s did not become ready in %u s: %s",
			                vm->state_dir, timeout_ms / 1000, tail);
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

static int qemu_destroy(struct xvm *vm, struct xerr *err)
{
	if (vm->vmd > 0 && pid_alive(vm->vmd)) {
		kill(vm->vmd, SIGTERM);
		if (wait_gone(vm->vmd, 3000) < 0) {
			/* QEMU has PR_SET_PDEATHSIG: it follows its supervisor */
			kill(vm->vmd, SIGKILL);
			if (wait_gone(vm->vmd, 2000) < 0) {
				errno = EBUSY;
				return xerr_set(err, "supervisor %d of %s does not die",
				                (int)vm->vmd, vm->state_dir);
			}
		}
	}
	unlink(vm->sock);
	unlink(vm->qsock);
	unlink(vm->pidfile);
	return 0;
}

static int qemu_shutdown(struct xvm *vm, unsigned grace_ms, struct xerr *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct xvp_conn c;
	int fd;

	fd = set_sun_path(&sa, vm->sock) < 0 ? -1 : socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
	return qemu_destroy(vm, err);
}

static int qemu_attach(const char *state_dir, struct xvm **out, struct xerr *err)
{
	struct xvm *vm = calloc(1, sizeof(*vm));
	FILE *f;
	int pid = 0;

	*out = NULL;
	if (!vm) {
		errno = ENOMEM;
		return xerr_set(err, "out of memory");
	}
	if (paths(vm, state_dir, NULL) < 0) {
		free(vm);
		return xerr_set(err, "state directory path too long");
	}
	f = fopen(vm->pidfile, "re");
	if (f) {
		if (fscanf(f, "%d", &pid) == 1)
			vm->vmd = pid;
		fclose(f);
	}
	*out = vm;
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
	return wait_gone(info->pid, 3000) < 0 ? xerr_set(err, "%s does not die", info->name) : 0;
}

static void qemu_release(struct xvm *vm)
{
	free(vm);
}

const struct xvm_driver xvm_driver_qemu = {
    .name = "qemu",
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
