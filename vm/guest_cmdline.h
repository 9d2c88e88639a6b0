/*
 * guest_cmdline.h - the guest kernel's command line both drivers pass: the image's (catalog
 * cmdline), then what the host tells the guest's init (hostname, address, 9p shares).
 */
#ifndef XENVM_VM_GUEST_CMDLINE_H
#define XENVM_VM_GUEST_CMDLINE_H

#include "lib/error.h"
#include "vm/driver.h"

/* COMMAND_LINE_SIZE of the x86 Linux kernel, with its NUL: a longer line is cut at boot. */
#define XVM_CMDLINE_MAX 2048

/*
 * "<spec.cmdline> quiet panic=-1 <driver_args> xenvm.hostname=<h>[ xenvm.ip=..][ xenvm.gw=..]
 * [ xenvm.9p=xs0@<guest path>,...]", malloc'd (free it).  NULL with errno and err:
 *   E2BIG   longer than XVM_CMDLINE_MAX - 1 bytes (err gives the length and the image's part)
 *   EINVAL  a hostname, address or share path with a space, comma or control character (it
 *           would add parameters of its own to the guest's command line)
 *   ENOMEM
 */
char *xvm_guest_cmdline(const struct xvm_spec *s, const char *driver_args, struct xerr *err);

#endif
