/*
 * mac.h - the MAC address of a VM's NIC, one rule for every driver.
 *
 * The VMs of a job on different nodes share one L2 (the nodes' bridges) and the same name
 * (vm0), so a MAC from the job and the name alone is the same on every node: ARP then fails
 * between them, and RoCE's link-local GIDs (derived from the MAC) collide.  Guest IPv4
 * addresses are unique on the L2 and subnets are at most /8, so a MAC from the address's low
 * three bytes is unique too.  That is also why the guest may skip IPv6 duplicate address
 * detection on its link-local address (guest/rootfs/init).
 */
#ifndef XENVM_VM_MAC_H
#define XENVM_VM_MAC_H

#include <stddef.h>

#include "vm/driver.h"

/* The buffer size xvm_guest_mac needs: "xx:xx:xx:xx:xx:xx" and its NUL. */
#define XVM_MAC_LEN 18

/*
 * Writes the MAC for spec into mac (len >= XVM_MAC_LEN): oui ("52:54:00" for QEMU, "00:16:3e"
 * for Xen) and, when spec has an IPv4 address, that address's low three bytes.  Without an
 * address (no guest network configured): the job id's low 15 bits and a hash of the VM name
 * xor'ed with salt (QEMU passes its pid so that two nodes' VMs differ).
 * Returns 0, or -1 with errno EINVAL (NULL argument, oui not "xx:xx:xx", len too small).
 */
int xvm_guest_mac(const struct xvm_spec *spec, const char *oui, unsigned salt, char *mac,
                  size_t len);

#endif
