/*
 * accel.c - the qemu driver's KVM-or-TCG decision and its per-boot cache (see accel.h).
 */
#include "vm/accel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lib/atomic_file.h"
#include "lib/log.h"

#define ACCEL_QEMU_BIN "qemu-system-x86_64" /* the binary qemu.c runs */
#define CPUINFO_MAX 65536                   /* the first CPU's flags come long before this */

static struct {
	enum xvm_accel_mode mode;
	char cache_dir[4096];
} configured;

int xvm_accel_parse(const char *s, enum xvm_accel_mode *out)
{
	if (!out) {
		errno = EINVAL;
		return -1;
	}
	if (!s || !*s || strcmp(s, "auto") == 0)
		*out = XVM_ACCEL_AUTO;
	else if (strcmp(s, "kvm") == 0)
		*out = XVM_ACCEL_KVM;
	else if (strcmp(s, "tcg") == 0)
		*out = XVM_ACCEL_TCG;
	else {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

const char *xvm_accel_mode_name(enum xvm_accel_mode mode)
{
	return mode == XVM_ACCEL_KVM ? "kvm" : mode == XVM_ACCEL_TCG ? "tcg" : "auto";
}

bool xvm_cpuinfo_has_virt(const char *cpuinfo)
{
	const char *line = cpuinfo;

	while (line && *line) {
		const char *end = strchr(line, '\n'), *p = line;
		size_t n = end ? (size_t)(end - line) : strlen(line);

		/* "flags\t\t: fpu vme ... vmx ..." (not "vmx flags: ...", which lists sub-features)
		 */
		if (n > 5 && strncmp(line, "flags", 5) == 0 && memchr(line, ':', n)) {
			p = (const char *)memchr(line, ':', n) + 1;
			while (p < line + n) {
				size_t w;

				p += strspn(p, " \t");
				w = strcspn(p, " \t\n");
				if (p + w > line + n)
					w = (size_t)(line + n - p);
				if (w == 3 &&
				    (strncmp(p, "vmx", 3) == 0 || strncmp(p, "svm", 3) == 0))
					return true;
				p += w ? w : 1;
			}
		}
		line = end ? end + 1 : NULL;
	}
	return false;
}

/* Read a small file into buf (NUL-terminated, truncated).  0, or -1 with errno. */
static int read_small(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	return 0;
}

/* The real host behind struct xvm_accel_ops (contracts in accel.h). */
static int host_read_cpuinfo(char *buf, size_t len, void *arg)
{
	return read_small("/proc/cpuinfo", buf, len);
}

static bool host_kvm_opens(void *arg)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int host_boot_id(char *buf, size_t len, void *arg)
{
	if (read_small("/proc/sys/kernel/random/boot_id", buf, len) < 0)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int host_probe(unsigned timeout_ms, void *arg)
{
	struct xerr e;
	int r = xvm_accel_probe_guest(ACCEL_QEMU_BIN, "kvm", timeout_ms, &e);

	xverbose("KVM probe: %s", e.msg);
	return r == 1;
}

/*
 * The cached probe result for this boot: 1 (KVM ran the probe), 0 (it did not), or -1 when
 * there is no usable cache entry (missing, another boot's, unreadable).
 */
static int cache_read(const char *file, const char *boot_id, char *why, size_t len)
{
	char buf[1024], want[300];
	const char *p;
	int ok;

	if (read_small(file, buf, sizeof(buf)) < 0)
		return -1;
	snprintf(want, sizeof(want), "boot_id=%s\n", boot_id);
	if (strncmp(buf, want, strlen(want)) != 0)
		return -1;
	p = buf + strlen(want);
	if (sscanf(p, "kvm_probe=%d", &ok) != 1 || (ok != 0 && ok != 1))
		return -1;
	p = strstr(p, "\nwhy=");
	snprintf(why, len, "%.*s", p ? (int)strcspn(p + 5, "\n") : 0, p ? p + 5 : "");
	return ok;
}

/* Remember the probe's result; failures only cost a later re-probe, so they are logged. */
static void cache_write(const char *file, const char *boot_id, int ok, const char *why)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "boot_id=%s\nkvm_probe=%d\nwhy=%s\n", boot_id, ok, why);

	if (n < 0 || n >= (int)sizeof(buf) ||
	    xenvm_write_file_atomic(file, buf, (size_t)n, 0644, (uid_t)-1, (gid_t)-1) < 0)
		xwarn("KVM probe result not cached in %s: %s", file, strerror(errno));
}

/*
 * The probe's verdict, from the cache or by running it (once: concurrent callers wait on the
 * lock and then read what the first one wrote).  1 or 0; *probed says whether it ran here.
 */
static int probe_cached(const char *cache_dir, const struct xvm_accel_ops *ops, bool *probed,
                        char *why, size_t len)
{
	char file[4200], lock[4300], boot[256] = "";
	int lfd = -1, ok;

	*probed = false;
	if (!cache_dir || !*cache_dir || ops->boot_id(boot, sizeof(boot), ops->arg) < 0 || !*boot ||
	    strchr(boot, '\n') ||
	    snprintf(file, sizeof(file), "%s/%s", cache_dir, XVM_ACCEL_CACHE_FILE) >=
	        (int)sizeof(file)) {
		*probed = true;
		ok = ops->probe(XVM_ACCEL_PROBE_TIMEOUT_MS, ops->arg) == 1;
		snprintf(why, len, "probe guest %s under KVM (not cached)", ok ? "ran" : "failed");
		return ok;
	}
	if (snprintf(lock, sizeof(lock), "%s.lock", file) >= (int)sizeof(lock))
		lock[0] = '\0';
	lfd = lock[0] ? open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
	if (lfd >= 0 && flock(lfd, LOCK_EX) < 0) {
		close(lfd);
		lfd = -1;
	}
	ok = cache_read(file, boot, why, len);
	if (ok < 0) {
		*probed = true;
		ok = ops->probe(XVM_ACCEL_PROBE_TIMEOUT_MS, ops->arg) == 1;
		snprintf(why, len, "probe guest %s under KVM within %u ms",
		         ok ? "ran" : "did not run", XVM_ACCEL_PROBE_TIMEOUT_MS);
		cache_write(file, boot, ok, why);
	}
	if (lfd >= 0)
		close(lfd); /* releases the lock */
	return ok;
}

int xvm_accel_choose(enum xvm_accel_mode mode, const char *cache_dir,
                     const struct xvm_accel_ops *ops, struct xvm_accel_choice *out,
                     struct xerr *err)
{
	char *cpuinfo = NULL;
	struct xvm_accel_ops o = {host_read_cpuinfo, host_kvm_opens, host_boot_id, host_probe,
	                          NULL};
	char why[200] = "";

	if (!out)
		return xerr_errno(err, EINVAL, "xvm_accel_choose: invalid argument");
	memset(out, 0, sizeof(*out));
	if (ops) {
		o.arg = ops->arg;
		o.read_cpuinfo = ops->read_cpuinfo ? ops->read_cpuinfo : o.read_cpuinfo;
		o.kvm_opens = ops->kvm_opens ? ops->kvm_opens : o.kvm_opens;
		o.boot_id = ops->boot_id ? ops->boot_id : o.boot_id;
		o.probe = ops->probe ? ops->probe : o.probe;
	}
	if (mode == XVM_ACCEL_TCG) {
		snprintf(out->why, sizeof(out->why), "tcg: vm.accel is tcg");
		return 0;
	}
	if (mode == XVM_ACCEL_KVM) {
		out->kvm = true;
		snprintf(out->why, sizeof(out->why), "kvm: vm.accel is kvm (forced, not probed)");
		return 0;
	}
	/* The cheap checks first: the probe guest only runs where hardware KVM is plausible. */
	cpuinfo = malloc(CPUINFO_MAX);
	if (!cpuinfo || o.read_cpuinfo(cpuinfo, CPUINFO_MAX, o.arg) < 0) {
		snprintf(out->why, sizeof(out->why), "tcg: /proc/cpuinfo: %s", strerror(errno));
		goto out;
	}
	if (!xvm_cpuinfo_has_virt(cpuinfo)) {
		snprintf(out->why, sizeof(out->why), "tcg: no vmx/svm flag in /proc/cpuinfo");
		goto out;
	}
	if (!o.kvm_opens(o.arg)) {
		snprintf(out->why, sizeof(out->why),
		         "tcg: CPU has vmx/svm but /dev/kvm does not open");
		goto out;
	}
	out->kvm = probe_cached(cache_dir, &o, &out->probed, why, sizeof(why)) == 1;
	snprintf(out->why, sizeof(out->why), "%s: vmx/svm, /dev/kvm, %s", out->kvm ? "kvm" : "tcg",
	         why);
out:
	free(cpuinfo);
	return 0;
}

int xvm_accel_configure(enum xvm_accel_mode mode, const char *cache_dir, struct xerr *err)
{
	if (cache_dir && strlen(cache_dir) >= sizeof(configured.cache_dir))
		return xerr_errno(err, ENAMETOOLONG, "KVM probe cache directory too long: %s",
		                  cache_dir);
	configured.mode = mode;
	snprintf(configured.cache_dir, sizeof(configured.cache_dir), "%s",
	         cache_dir ? cache_dir : "");
	return 0;
}

enum xvm_accel_mode xvm_accel_configured_mode(void)
{
	return configured.mode;
}

const char *xvm_accel_configured_cache_dir(void)
{
	return configured.cache_dir;
}
