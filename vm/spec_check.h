/* spec_check.h - what every driver checks of a struct xvm_spec before anything else. */
#ifndef XENVM_VM_SPEC_CHECK_H
#define XENVM_VM_SPEC_CHECK_H

#include "lib/error.h"
#include "vm/driver.h"

/*
 * A name of [A-Za-z0-9_-]{1,16}; kernel, initrd and state_dir set; >= 64 MiB of memory; at most
 * XVM_MAX_SHARES shares, each with both paths.  0, or -1 with errno EINVAL and err.
 */
int xvm_spec_check(const struct xvm_spec *s, struct xerr *err);

#endif
