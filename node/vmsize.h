/*
 * vmsize.h - the memory and vCPUs of a VM, for a job's VM (node/job_start.c) and `xenvm boot`.
 *
 * Memory: what was asked, else the image's memory.default, else xenvm.yaml's
 * vm.default_memory; never above the image's memory.max; raised to XVM_MEM_MIN (what the
 * drivers need to boot a guest) when below it.
 * vCPUs: what was asked, else the job's CPUs on the node capped at the image's vcpus.max (MPI
 * ranks busy-poll, and two ranks on one vCPU crawl), else the image's vcpus.default, else 1;
 * never above vcpus.max.
 */
#ifndef XENVM_NODE_VMSIZE_H
#define XENVM_NODE_VMSIZE_H

#include <stdint.h>

#include "lib/catalog.h"
#include "lib/config.h"
#include "lib/error.h"

#define XVM_MEM_MIN (64ull << 20)

struct xvm_size_ask {
	uint64_t mem_bytes; /* 0: not asked */
	uint32_t vcpus;     /* 0: not asked */
	uint32_t cpus;      /* the job's CPUs on this node, 0: unknown or no job */
	/* how the asker names the two values in messages ("--mem", "--vm-mem") */
	const char *mem_what, *vcpus_what;
};

struct xvm_size {
	uint64_t mem_bytes;
	uint32_t vcpus;
};

/*
 * The VM's size by the rules above.  Returns 0 with *out, or -1 with errno EINVAL and err naming
 * the value and the image's limit it exceeds.
 */
int xvm_vm_size(const struct xenvm_config *cfg, const struct xenvm_image *img,
                const struct xvm_size_ask *ask, struct xvm_size *out, struct xerr *err);

#endif
