/*
 * qemu_argv.c - QEMU's argv for one VM (see qemu_argv.h).  Every string is sized to what it
 * holds: no fixed slot can overflow or cut an argument short.
 */
#include "vm/qemu_argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/guest_cmdline.h"
#include "vm/qemu_pci.h"
#include "vm/spec_check.h"

/* Append s (taken over; NULL: out of memory).  0, or -1 with errno ENOMEM. */
static int push(struct xvm_argv *a, char *s)
{
	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **v = realloc(a->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			errno = ENOMEM;
			return -1;
		}
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

static int argf(struct xvm_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int argf(struct xvm_argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return push(a, n < 0 ? NULL : s);
}

/* pre + v with each ',' doubled (QEMU's escape inside an option list) + post. */
static int arg_opt(struct xvm_argv *a, const char *pre, const char *v, const char *post)
{
	size_t commas = 0, lp = strlen(pre), lv = strlen(v), lq = strlen(post);
	char *s, *p;

	for (const char *c = v; *c; c++)
		commas += *c == ',';
	s = malloc(lp + lv + commas + lq + 1);
	if (!s)
		return push(a, NULL);
	memcpy(s, pre, lp);
	p = s + lp;
	for (const char *c = v; *c; c++) {
		*p++ = *c;
		if (*c == ',')
			*p++ = ',';
	}
	memcpy(p, post, lq + 1);
	return push(a, s);
}

void xvm_argv_free(struct xvm_argv *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

int xvm_qemu_argv(const struct xvm_qemu_args *a, struct xvm_argv *out, struct xerr *err)
{
	const struct xvm_spec *s = a->spec;
	char pci[64], *cmd;
	int r = 0;

	if (xvm_spec_check(s, err) < 0)
		return -1;
	if (!a->accel || !a->kernel || !a->console || !a->agent_sock ||
	    (a->tapfd >= 0 && !a->mac)) {
		errno = EINVAL;
		return xerr_set(err, "qemu argv: accelerator, kernel, console, agent socket or MAC "
		                     "missing");
	}
	if (s->pci_bdf && xvm_qemu_pci_arg(s->pci_bdf, pci, sizeof(pci)) < 0) {
		errno = EINVAL;
		return xerr_set(err, "VF PCI address '%.40s': expected dddd:bb:dd.f", s->pci_bdf);
	}
	cmd = xvm_guest_cmdline(s, "console=ttyS0", err);
	if (!cmd)
		return -1;
	r |= argf(out, "%s", s->qemu_binary ? s->qemu_binary : XVM_QEMU_DEFAULT_BIN);
	r |= argf(out, "-name");
	r |= argf(out, "xenvm-job%u-%s,process=xvq-%u-%s", s->job_id, s->name, s->job_id, s->name);
	r |= argf(out, "-M");
	r |= argf(out, "pc");
	r |= argf(out, "-accel");
	r |= argf(out, "%s", a->accel);
	r |= argf(out, "-m");
	r |= argf(out, "%lluM", (unsigned long long)(s->mem_bytes >> 20));
	r |= argf(out, "-smp");
	r |= argf(out, "%u", s->vcpus ? s->vcpus : 1);
	r |= argf(out, "-nodefaults");
	r |= argf(out, "-no-user-config");
	r |= argf(out, "-display");
	r |= argf(out, "none");
	r |= argf(out, "-no-reboot");
	/*
	 * QEMU opens what needs root (the kernel, initrd, disk, tap fd, VF, console log, agent
	 * socket, each share's root) while it starts, then becomes the job's user before the guest
	 * runs: a guest root holds on the host what the user holds, nothing more.  A VM of root's
	 * (tests, `xenvm boot` by root) keeps root: QEMU refuses to "drop" to uid 0 ("Dropping
	 * privileges failed", as it can still setuid(0)).
	 */
	if (s->uid != 0) {
		r |= argf(out, "-runas");
		r |= argf(out, "%u:%u", (unsigned)s->uid, (unsigned)s->gid);
	}
	r |= argf(out, "-kernel");
	r |= argf(out, "%s", a->kernel);
	r |= argf(out, "-initrd");
	r |= argf(out, "%s", s->initrd);
	r |= argf(out, "-append");
	r |= push(out, cmd);
	r |= argf(out, "-serial");
	r |= argf(out, "file:%s", a->console); /* the rest of "file:" is the path, as it is */
	r |= argf(out, "-chardev");
	r |= arg_opt(out, "socket,id=ag,path=", a->agent_sock, ",server=on,wait=off");
	r |= argf(out, "-device");
	r |= argf(out, "virtio-serial-pci");
	r |= argf(out, "-device");
	r |= argf(out, "virtserialport,chardev=ag,name=org.xenvm.agent");
	if (s->rootdisk) {
		/* read-only and shared by every VM booted from this image in the node's cache */
		r |= argf(out, "-drive");
		r |= arg_opt(out, "file=", s->rootdisk, ",if=none,id=rd,format=raw,readonly=on");
		r |= argf(out, "-device");
		r |= argf(out, "virtio-blk-pci,drive=rd");
	}
	if (a->tapfd >= 0) {
		r |= argf(out, "-netdev");
		r |= argf(out, "tap,id=n0,fd=%d", a->tapfd);
		r |= argf(out, "-device");
		r |= arg_opt(out, "virtio-net-pci,netdev=n0,mac=", a->mac, "");
	}
	if (s->pci_bdf) {
		r |= argf(out, "-device");
		r |= argf(out, "%s", pci);
	}
	for (size_t i = 0; i < s->n_shares; i++) {
		char pre[64];

		snprintf(pre, sizeof(pre), "local,id=fs%zu,path=", i); /* i < XVM_MAX_SHARES */
		r |= argf(out, "-fsdev");
		/*
		 * none: passthrough (owners and modes are the host's) whose chown to another owner
		 * is not an error, so a file the guest's root creates is the user's; an explicit
		 * chown still fails.  Setuid/setgid bits are stopped by vm/nosuid.c's filter.
		 */
		r |= arg_opt(out, pre, s->shares[i].host_path,
		             s->shares[i].readonly ? ",security_model=none,readonly=on"
		                                   : ",security_model=none");
		r |= argf(out, "-device");
		r |= argf(out, "virtio-9p-pci,fsdev=fs%zu,mount_tag=xs%zu", i, i);
	}
	if (r) {
		errno = ENOMEM;
		return xerr_set(err, "qemu argv: out of memory");
	}
	return 0;
}
