/*
 * guid.h - deterministic node and port GUIDs for a node's VFs.
 *
 * A VF's GUIDs depend only on the site prefix, the node's name and the VF's slot, so a VF keeps
 * its identity across reboots and re-allocations (the subnet manager's partition and routing
 * tables stay valid) and every node computes its own without coordination.  Layout (64 bits):
 *
 *   63        48 47                                   9 8        1   0
 *   | prefix 16 |      FNV-1a-64(node name) >> 25  (39) | slot (8) | port? |
 *
 * Uniqueness: GUIDs of one node differ by slot and kind.  Two nodes collide only when the top
 * 39 bits of their names' hashes do: about n^2 / 2^40 for n nodes (1e-4 at 10,000 nodes), and
 * the subnet manager reports a duplicate GUID if it ever happens.  Clusters sharing one fabric
 * must use different ib.guid_prefix values.  The default prefix 0x0200 sets the EUI-64
 * "locally administered" bit, so no vendor-assigned GUID can be equal to ours.  Slots are
 * assigned in discovery order (PFs in ib.devices order, else by name; then virtfn number), so
 * changing ib.devices renumbers them.
 */
#ifndef XENIB_GUID_H
#define XENIB_GUID_H

#include <stddef.h>
#include <stdint.h>

enum xenib_guid_kind {
	XENIB_NODE_GUID = 0,
	XENIB_PORT_GUID = 1,
};

/* FNV-1a, 64 bits, of a NUL-terminated string (FNV offset basis and prime). */
uint64_t xenib_fnv1a64(const char *s);

/*
 * The GUID of `kind` for VF `slot` (0..255) of node `node`.  Returns it, or 0 (never a valid
 * GUID) with errno EINVAL when node is NULL/empty, slot > 255 or prefix is 0 or 0xffff.
 */
uint64_t xenib_guid(uint16_t prefix, const char *node, unsigned slot, enum xenib_guid_kind kind);

/* "02:00:..:01" as the mlx5 sriov/<N>/{node,port} files take it.  buf needs 24 bytes. */
void xenib_guid_colon(uint64_t guid, char *buf, size_t len);
/* "0x0200...01" as OpenSM's partitions file and `xenib` print it.  buf needs 19 bytes. */
void xenib_guid_hex(uint64_t guid, char *buf, size_t len);

#endif
