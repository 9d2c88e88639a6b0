/*
 * xl_create.c - building a libxl_domain_config from a spec, creating and starting the domain.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "xl_pci.h"
#include "xl_priv.h"

/* strdup into a libxl config field; libxl_domain_config_dispose() frees it.  NULL stays NULL.
 * Returns 0, or -1 with errno ENOMEM. */
static int dup_field(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

/*
 * The kernel to hand libxenlight: "<kernel>.vmlinux" when the image build derived that
 * uncompressed ELF next to the bzImage (as it does for vm/'s qemu driver), else kernel.
 * libxenlight's domain builder decompresses a bzImage in dom0 user space; measured under nested
 * TCG: create 15.4 s with the bzImage, 2.1 s with the vmlinux (bench/xen-boot.sh).
 * Returns kernel or buf (filled).
 */
static const char *pick_kernel(const char *kernel, char *buf, size_t len)
{
	static const unsigned char elf_magic[4] = {0x7f, 'E', 'L', 'F'};
	unsigned char magic[4];
	struct stat st;
	const char *ret = kernel;
	int fd = -1, n;

	n = snprintf(buf, len, "%s.vmlinux", kernel);
	if (n < 0 || (size_t)n >= len)
		goto out;
	fd = open(buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto out;
	if (pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
	    memcmp(magic, elf_magic, sizeof(magic)) != 0)
		goto out;
	ret = buf;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* See xl_pci.h, where it is declared: the PCI device is what its unit tests check. */
int xl_domain_config_build(const struct xl_domain_spec *spec, libxl_domain_config *dc,
                           struct xerr *err)
{
	libxl_domain_type type;
	libxl_device_nic *nic;
	unsigned int mac[6];
	char vmlinux[4096];
	const char *kernel;
	int i;

	if (!spec || !dc)
		return xerr_errno(err, EINVAL, "%s: no spec or config", __func__);
	type = spec->type == XL_DOMAIN_PVH ? LIBXL_DOMAIN_TYPE_PVH : LIBXL_DOMAIN_TYPE_PV;
	dc->c_info.type = type;
	libxl_domain_build_info_init_type(&dc->b_info, type);
	kernel = pick_kernel(spec->kernel, vmlinux, sizeof(vmlinux));
	if (kernel != spec->kernel)
		xverbose("%s: using the uncompressed %s", spec->name, kernel);
	if (dup_field(&dc->c_info.name, spec->name) || dup_field(&dc->b_info.kernel, kernel) ||
	    dup_field(&dc->b_info.ramdisk, spec->ramdisk) ||
	    dup_field(&dc->b_info.cmdline, spec->cmdline))
		goto nomem;
	dc->b_info.max_vcpus = (int)spec->vcpus;
	/* What libxl_cpu_bitmap_alloc(ctx, .., vcpus) allocates, without needing a context (so
	 * the config builds without Xen); libxl_bitmap_dispose() frees the map. */
	dc->b_info.avail_vcpus.map = calloc((spec->vcpus + 7) / 8, 1);
	if (!dc->b_info.avail_vcpus.map)
		goto nomem;
	dc->b_info.avail_vcpus.size = (spec->vcpus + 7) / 8;
	for (i = 0; i < (int)spec->vcpus; i++)
		libxl_bitmap_set(&dc->b_info.avail_vcpus, i);
	dc->b_info.max_memkb = (uint64_t)spec->memory_mib * 1024;
	dc->b_info.target_memkb = dc->b_info.max_memkb;
	/* Nobody watches the domain (no xl monitor), so these only matter to a later `xl`; a VM
	 * that stops is over either way: the Epilog destroys whatever is left. */
	dc->on_poweroff = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	dc->on_reboot = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	dc->on_watchdog = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	dc->on_crash = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;

	/* One "feature=value" per call: the function does not split xl's comma lists. */
	if (type == LIBXL_DOMAIN_TYPE_PVH && spec->nested_tcg) {
		dc->b_info.tsc_mode = LIBXL_TSC_MODE_NATIVE;
		if (libxl_cpuid_parse_config(&dc->b_info.cpuid, "rdtscp=0") ||
		    libxl_cpuid_parse_config(&dc->b_info.cpuid, "xsave=0")) {
			return xerr_errno(err, EINVAL, "%s: cannot build the cpuid policy",
			                  spec->name);
		}
	}

	if (spec->disk) {
		dc->disks = calloc(1, sizeof(*dc->disks));
		if (!dc->disks)
			goto nomem;
		dc->num_disks = 1;
		libxl_device_disk_init(&dc->disks[0]);
		/* A file through blkback: the hotplug script binds it to a loop device.  PHY plus
		 * a script is what libxl accepts for a file without a QEMU disk backend in dom0. */
		dc->disks[0].backend = LIBXL_DISK_BACKEND_PHY;
		dc->disks[0].format = LIBXL_DISK_FORMAT_RAW;
		dc->disks[0].readwrite = 0;
		if (dup_field(&dc->disks[0].pdev_path, spec->disk) ||
		    dup_field(&dc->disks[0].vdev, "xvda") ||
		    dup_field(&dc->disks[0].script,
		              spec->disk_script ? spec->disk_script : "block"))
			goto nomem;
	}

	if (spec->n_p9) {
		dc->p9s = calloc(spec->n_p9, sizeof(*dc->p9s));
		if (!dc->p9s)
			goto nomem;
		dc->num_p9s = (int)spec->n_p9;
		for (i = 0; i < (int)spec->n_p9; i++) {
			libxl_device_p9_init(&dc->p9s[i]);
			dc->p9s[i].devid = i;
			/* none: the qemu driver's model (owners and modes are the host's); the
			 * backend runs as root in dom0, so it is passthrough in effect. */
			if (dup_field(&dc->p9s[i].tag, spec->p9_tags[i]) ||
			    dup_field(&dc->p9s[i].path, spec->p9_paths[i]) ||
			    dup_field(&dc->p9s[i].security_model, "none"))
				goto nomem;
		}
	}

	if (spec->bridge) {
		dc->nics = calloc(1, sizeof(*dc->nics));
		if (!dc->nics)
			goto nomem;
		dc->num_nics = 1;
		nic = &dc->nics[0];
		libxl_device_nic_init(nic);
		nic->devid = 0;
		nic->nictype = LIBXL_NIC_TYPE_VIF;
		if (dup_field(&nic->bridge, spec->bridge) ||
		    dup_field(&nic->script, spec->vif_script) ||
		    dup_field(&nic->ifname, spec->vif_name))
			goto nomem;
		/* Checked by xl_domain_spec_check(); all-zero lets libxl pick a random MAC. */
		if (spec->mac && sscanf(spec->mac, "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2],
		                        &mac[3], &mac[4], &mac[5]) == 6)
			for (i = 0; i < 6; i++)
				nic->mac[i] = (uint8_t)mac[i];
	}

	/* libxenlight attaches it while building the domain (pciback backend, pcifront in a PV
	 * guest); xl_domain_create() makes it assignable first. */
	if (spec->pci_bdf && xl_pci_config_add(dc, spec->pci_bdf, err) == -1) {
		if (errno == EINVAL)
			return xerr_set(err, "%s: PCI device '%s': expected dddd:bb:dd.f",
			                spec->name, spec->pci_bdf);
		return -1;
	}
	return 0;
nomem:
	return xerr_errno(err, ENOMEM, "%s: out of memory building the domain config", spec->name);
}

/* Whether dom0's PCI device bdf is bound to pciback (its sysfs driver link).  1 or 0. */
static int on_pciback(const char *bdf)
{
	char path[96], target[256];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	base = strrchr(target, '/');
	return strcmp(base ? base + 1 : target, "pciback") == 0;
}

/*
 * Make spec->pci_bdf assignable before the domain is built.  *was: 1 when it was on pciback
 * already (or nothing is to be undone), 0 when this call put it there, so that a failed create
 * gives back only what it took: a site that binds its VFs to pciback itself keeps them so.
 * Returns 0, or -1 with errno EBUSY (another domain holds it), EINVAL or EIO, and err naming
 * the device.
 */
static int pci_take(struct xl_domain_ctx *ctx, const struct xl_domain_spec *spec, int *was,
                    struct xerr *err)
{
	int before, saved;

	before = xl_pci_is_assignable(ctx, spec->pci_bdf, NULL);
	*was = before == 0 ? 0 : 1;
	/* On pciback but not assignable: a domain has it (libxl's list leaves those out).  Xen
	 * would only say "failed to quarantine", and the device must not be touched. */
	if (before == 0 && on_pciback(spec->pci_bdf)) {
		*was = 1;
		return xerr_errno(err, EBUSY, "%s: PCI device %s is in use by another domain",
		                  spec->name, spec->pci_bdf);
	}
	if (xl_pci_assignable_add(ctx, spec->pci_bdf, err) == 0) {
		xverbose("%s: PCI device %s assignable (%s)", spec->name, spec->pci_bdf,
		         before == 1 ? "already" : "bound to xen-pciback");
		return 0;
	}
	saved = errno;
	/* A failed add can still have unbound it from its driver (libxl binds it to pciback,
	 * then asks Xen to quarantine it, which fails without an IOMMU): the caller undoes that
	 * when it is on pciback now.  Not there (e.g. no such device): nothing to undo. */
	if (before == 0 && !on_pciback(spec->pci_bdf))
		*was = 1;
	errno = saved;
	return -1;
}

int xl_domain_create(struct xl_domain_ctx *ctx, const struct xl_domain_spec *spec, uint32_t *domid,
                     struct xerr *err)
{
	libxl_domain_config dc;
	uint32_t id = INVALID_DOMID, existing;
	int rc, ret = -1, saved, pci_was = 1;
	struct xerr undo = {""};
	char what[128];

	libxl_domain_config_init(&dc);
	if (!ctx || !domid) {
		errno = EINVAL;
		xerr_set(err, "xl_domain_create: no context or result pointer");
		goto out;
	}
	*domid = INVALID_DOMID;
	if (xl_domain_spec_check(spec, err) == -1)
		goto out;
	/* libxl refuses a duplicate name too, but only after building half a domain. */
	if (libxl_name_to_domid(ctx->libxl, spec->name, &existing) == 0) {
		errno = EEXIST;
		xerr_set(err, "%s: a domain of that name exists (domid %u)", spec->name, existing);
		goto out;
	}
	if (xl_domain_config_build(spec, &dc, err) == -1)
		goto out;
	if (spec->pci_bdf && pci_take(ctx, spec, &pci_was, err) == -1)
		goto out;

	ctx->log.first_error[0] = '\0';
	rc = libxl_domain_create_new(ctx->libxl, &dc, &id, NULL, NULL);
	if (rc) {
		if (spec->pci_bdf)
			snprintf(what, sizeof(what), "%s with PCI device %s", spec->name,
			         spec->pci_bdf);
		else
			snprintf(what, sizeof(what), "%s", spec->name);
		xl_fail(ctx, err, rc, what);
		/* libxl normally destroys what it built on failure; make sure, by name. */
		if (libxl_name_to_domid(ctx->libxl, spec->name, &existing) == 0) {
			xwarn("%s: create failed but domain %u exists; destroying it", spec->name,
			      existing);
			saved = errno;
			if (xl_domain_destroy(ctx, existing, NULL) == 0)
				xl_domain_wait_gone(ctx, existing, 10000, NULL);
			errno = saved;
		}
		goto out;
	}
	pci_was = 1; /* the domain owns it now: xl_domain_stop gives it back */
	*domid = id;
	xverbose("%s: created domain %u (%s, paused)", spec->name, id,
	         spec->type == XL_DOMAIN_PVH ? "pvh" : "pv");
	ret = 0;
out:
	saved = errno;
	/* Without an IOMMU libxl fails this too ("failed to de-quarantine") and leaves it on
	 * pciback; the Epilog's xvm_job_ib_release() returns a VF through sysfs then. */
	if (pci_was == 0 && xl_pci_assignable_remove(ctx, spec->pci_bdf, &undo) == -1)
		xwarn("%s: PCI device %s stays bound to xen-pciback: %s", spec->name, spec->pci_bdf,
		      undo.msg);
	libxl_domain_config_dispose(&dc);
	errno = saved;
	return ret;
}

int xl_domain_unpause(struct xl_domain_ctx *ctx, uint32_t domid, struct xerr *err)
{
	char what[64];
	int rc;

	if (!ctx)
		return xerr_errno(err, EINVAL, "%s: no context", __func__);

	ctx->log.first_error[0] = '\0';
	rc = libxl_domain_unpause(ctx->libxl, domid, NULL);
	if (rc == ERROR_DOMAIN_NOTFOUND)
		return xerr_errno(err, ESRCH, "unpause domain %u: no such domain", domid);
	if (rc) {
		snprintf(what, sizeof(what), "unpause domain %u", domid);
		return xl_fail(ctx, err, rc, what);
	}
	return 0;
}

int xl_domain_wait_running(struct xl_domain_ctx *ctx, uint32_t domid, unsigned int timeout_ms,
                           struct xerr *err)
{
	uint64_t deadline = xl_now_ms() + timeout_ms;
	libxl_dominfo info;
	int rc, done;

	if (!ctx)
		return xerr_errno(err, EINVAL, "%s: no context", __func__);

	for (;;) {
		rc = xl_info(ctx, domid, &info);
		if (rc == ERROR_DOMAIN_NOTFOUND || (rc == 0 && info.dying)) {
			libxl_dominfo_dispose(&info);
			return xerr_errno(err, ESRCH, "domain %u is gone", domid);
		}
		if (rc) {
			libxl_dominfo_dispose(&info);
			return xl_fail(ctx, err, rc, "domain info");
		}
		if (info.shutdown) {
			rc = info.shutdown_reason;
			libxl_dominfo_dispose(&info);
			return xerr_errno(err, ECANCELED,
			                  "domain %u shut down (%s) instead of running", domid,
			                  libxl_shutdown_reason_to_string(rc));
		}
		/* cpu_time > 0: the vCPU has been scheduled, i.e. the guest really started. */
		done = !info.paused && info.cpu_time > 0;
		libxl_dominfo_dispose(&info);
		if (done)
			return 0;
		if (xl_now_ms() >= deadline)
			return xerr_errno(err, ETIMEDOUT, "domain %u not running after %u ms",
			                  domid, timeout_ms);
		xl_sleep_ms(20);
	}
}
