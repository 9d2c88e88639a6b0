/*
 * tapname.h - the name of a VM's interface on the node's bridge, one rule for every driver.
 *
 * The node's firewall (node/netpin.h) pins a VM by its interface, so the Prolog must know the
 * name before the driver creates it, and two VMs on a node must never get the same one.  Linux
 * allows 15 characters; "xv<jobid><name>" in decimal (the old rule) was cut there, so jobs 1234567
 * and 12345678 could both end up as "xv12345678vm0"-like names.  The job id in base 36 is at most
 * 7 characters ("1z141z3" for 2^32-1), which leaves 6 after "xv" and one separator:
 *   xv<job36>_<name>    when the name is at most 5 characters ("xv9ix_vm0" for job 12345, vm0)
 *   xv<job36>.<hash36>  otherwise, a 5-character hash of the name ('.' is never in a VM name)
 * The separator is not a base-36 digit, so the job part is read back unambiguously.
 */
#ifndef XENVM_VM_TAPNAME_H
#define XENVM_VM_TAPNAME_H

#include <stddef.h>
#include <stdint.h>

#define XVM_TAP_NAME_LEN 16 /* IFNAMSIZ: 15 characters and the NUL */

/*
 * The interface name of VM `vmname` ([A-Za-z0-9_-]{1,16}) of job `jobid` into buf (len >=
 * XVM_TAP_NAME_LEN).  Returns 0, or -1 with errno EINVAL (NULL, empty or bad name, len too small).
 */
int xvm_tap_name(uint32_t jobid, const char *vmname, char *buf, size_t len);

#endif
