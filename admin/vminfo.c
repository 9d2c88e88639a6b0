/*
 * vminfo.c - <vm dir>/vm.info: what `xenvm boot` knew about a VM, for list and status.
 *
 * "key=value" lines, written atomically.  The Prolog's VMs have none; inventory.c then reads
 * memory and vcpus from the hypervisor process instead.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "lib/atomic_file.h"

int xa_vm_info_write(const char *dir, const struct xa_vm_info *info, struct xerr *err)
{
	char path[4200], buf[512];
	int n;

	if (!dir || !info) {
		return xerr_errno(err, EINVAL, "vm.info: invalid argument");
	}
	if (snprintf(path, sizeof(path), "%s/%s", dir, XA_VM_INFO) >= (int)sizeof(path)) {
		return xerr_errno(err, ENAMETOOLONG, "%s: path too long", dir);
	}
	n = snprintf(buf, sizeof(buf),
	             "image=%s\ndriver=%s\nmemory=%" PRIu64 "\nvcpus=%u\nbooted=%ld\n", info->image,
	             info->driver, info->mem_bytes, info->vcpus, info->booted);
	if (n < 0 || n >= (int)sizeof(buf)) {
		return xerr_errno(err, EOVERFLOW, "%s: record too long", path);
	}
	if (xenvm_write_file_atomic(path, buf, (size_t)n, 0644, (uid_t)-1, (gid_t)-1) < 0)
		return xerr_set(err, "%s: %s", path, strerror(errno));
	return 0;
}

int xa_vm_info_read(const char *dir, struct xa_vm_info *info)
{
	char path[4200], line[256];
	unsigned long long u;
	long l;
	FILE *f;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	if (snprintf(path, sizeof(path), "%s/%s", dir, XA_VM_INFO) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "image=", 6) == 0)
			snprintf(info->image, sizeof(info->image), "%.*s",
			         (int)sizeof(info->image) - 1, line + 6);
		else if (strncmp(line, "driver=", 7) == 0)
			snprintf(info->driver, sizeof(info->driver), "%.*s",
			         (int)sizeof(info->driver) - 1, line + 7);
		else if (sscanf(line, "memory=%llu", &u) == 1)
			info->mem_bytes = u;
		else if (sscanf(line, "vcpus=%llu", &u) == 1 && u <= UINT32_MAX)
			info->vcpus = (uint32_t)u;
		else if (sscanf(line, "booted=%ld", &l) == 1)
			info->booted = l;
	}
	if (!info->image[0] || !info->driver[0]) {
		errno = EINVAL;
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}
