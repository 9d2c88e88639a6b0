/* vmsize.c - see vmsize.h. */
#include "node/vmsize.h"

#include <errno.h>

#include "lib/log.h"
#include "lib/units.h"

int xvm_vm_size(const struct xenvm_config *cfg, const struct xenvm_image *img,
                const struct xvm_size_ask *ask, struct xvm_size *out, struct xerr *err)
{
	const uint32_t vmax = img->limits.vcpus_max;
	char a[32], b[32], c[32];

	out->mem_bytes = ask->mem_bytes              ? ask->mem_bytes
	                 : img->limits.default_bytes ? img->limits.default_bytes
	                                             : cfg->vm.default_memory_bytes;
	if (out->mem_bytes > img->limits.max_bytes) {
		return xerr_errno(err, EINVAL, "%s %s is outside %s..%s (image %s's memory.max)",
		                  ask->mem_what ? ask->mem_what : "memory",
		                  xenvm_format_size(out->mem_bytes, a, sizeof(a)),
		                  xenvm_format_size(XVM_MEM_MIN, b, sizeof(b)),
		                  xenvm_format_size(img->limits.max_bytes, c, sizeof(c)),
		                  img->name);
	}
	if (out->mem_bytes < XVM_MEM_MIN) {
		xwarn("image %s: %s memory raised to %s, the least a VM boots with", img->name,
		      xenvm_format_size(out->mem_bytes, a, sizeof(a)),
		      xenvm_format_size(XVM_MEM_MIN, b, sizeof(b)));
		out->mem_bytes = XVM_MEM_MIN;
	}
	out->vcpus = ask->vcpus                  ? ask->vcpus
	             : ask->cpus                 ? (ask->cpus < vmax ? ask->cpus : vmax)
	             : img->limits.vcpus_default ? img->limits.vcpus_default
	                                         : 1;
	if (out->vcpus > vmax) {
		return xerr_errno(err, EINVAL, "%s '%u': expected 1..%u (image %s's vcpus.max)",
		                  ask->vcpus_what ? ask->vcpus_what : "vcpus", (unsigned)out->vcpus,
		                  (unsigned)vmax, img->name);
	}
	return 0;
}
