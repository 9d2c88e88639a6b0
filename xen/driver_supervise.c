/*
 * driver_supervise.c - the supervisor of one Xen VM (see driver_priv.h).
 *
 * The same multiplexer serves a Xen VM as a QEMU one (vmd.c): only the link differs.  Under
 * QEMU the link is QEMU's end of a virtio-serial port; under Xen it is one end of a socket
 * pair whose other end a child process relays to the domain's PV console ring (xl_chan.c).
 * That child plays the part of vmd's "hypervisor process": it exits when the domain shuts
 * down, crashes or is destroyed, which is how vmd learns that the VM ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "vm/vmd.h"
#include "xen/driver_priv.h"
#include "xl_chan.h"
#include "xl_domain.h"

/* How long a destroyed domain may stay "dying" before we call it stuck. */
#define XEN_GONE_MS 10000u

int xen_domain_remove(const char *name, uint32_t domid, struct xerr *err)
{
	struct xl_domain_ctx *ctx = NULL;
	uint32_t found;
	int ret = -1, saved = 0;

	if (xl_domain_open(&ctx, 0, err) == -1) {
		saved = errno;
		goto out;
	}
	/* By name first: the domain id may have been reused after a crash. */
	if (name && name[0]) {
		if (xl_domain_find(ctx, name, &found, NULL) == -1) {
			ret = 0; /* gone already */
			goto chan;
		}
		domid = found;
	}
	if (domid == 0) {
		ret = 0;
		goto out;
	}
	if (xl_domain_stop(ctx, domid, 0, XEN_GONE_MS, err) == -1) {
		saved = errno;
		goto out;
	}
	ret = 0;
chan:
	/* libxenlight never knew the agent's console device: its nodes are ours to remove. */
	if (domid && xl_chan_remove(domid, XL_CHAN_AGENT_DEVID, ret ? NULL : err) == -1) {
		saved = errno;
		ret = -1;
	}
out:
	xl_domain_close(ctx);
	if (ret)
		errno = saved;
	return ret;
}

/* The channel's relay: a child of the supervisor.  Never returns. */
static void __attribute__((noreturn)) relay(uint32_t domid, int fd)
{
	struct xerr err = {""};
	sigset_t none;

	prctl(PR_SET_NAME, "xenvm-xenchan");
	/* The supervisor's death must end the relay (nobody would read the link any more). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (xl_chan_serve(domid, XL_CHAN_AGENT_DEVID, fd, &err) == -1) {
		xerror("domain %u: agent channel: %s", domid, err.msg);
		_exit(1);
	}
	_exit(0);
}

void xen_supervise(struct xvm *h, int lfd, void *arg)
{
	const struct xvm_spec *s = arg;
	struct xen_vm *vm = xen_vm_of(h);
	struct vmd_config cfg;
	struct xerr err = {""};
	int sv[2] = {-1, -1}, rc = 1;
	sigset_t chld;
	pid_t child = -1;

	/* list_job() finds the domain by name, and its supervisor here. */
	if (xl_chan_set_owner(vm->domid, XL_CHAN_AGENT_DEVID, (int)getpid(), &err) == -1)
		xwarn("%s: %s", vm->name, err.msg);
	/* SIGCHLD blocked before the fork: a relay that fails at once must not be missed by
	 * vmd_run's signalfd (a pending signal stays pending while blocked). */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		xvm_host_fail(h, "agent link: %s", strerror(errno));
		goto out;
	}
	child = fork();
	if (child == 0) {
		close(sv[0]);
		close(lfd);
		relay(vm->domid, sv[1]);
	}
	close(sv[1]);
	if (child < 0) {
		xvm_host_fail(h, "fork: %s", strerror(errno));
		goto out;
	}
	xvm_host_vmd_config(h, s, sv[0], lfd, child, &cfg);
	rc = vmd_run(&cfg) < 0;
out:
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (sv[0] >= 0)
		close(sv[0]);
	/* libxenlight reaps its hotplug scripts (vif, block) on SIGCHLD, which vmd_run left
	 * blocked: destroy would wait for their timeout.  A SIGTERM now asks for what we do. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	sigemptyset(&chld);
	sigprocmask(SIG_SETMASK, &chld, NULL);
	/* The VM ends with its supervisor, whatever ended it. */
	if (xen_domain_remove(vm->name, vm->domid, &err) == -1)
		xerror("%s: %s", vm->name, err.msg);
	xvm_host_unlink(h);
	_exit(rc);
}
