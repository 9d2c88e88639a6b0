/*
 * identity.h - give a VF its GUIDs and link policy, and take them back (libxenib internal).
 *
 * Two routes, chosen by what the node has:
 *  - the mlx5 vendor driver (MLNX_OFED) exposes <dev>/device/sriov/<N>/{node,port,policy}:
 *    GUIDs are written as "xx:xx:xx:xx:xx:xx:xx:xx" and policy as Follow/Up/Down;
 *  - otherwise the upstream kernel's rtnetlink IFLA_VF_IB_{NODE,PORT}_GUID and
 *    IFLA_VF_LINK_STATE on the PF's IPoIB netdev (vfnl.h).
 */
#ifndef XENIB_IDENTITY_H
#define XENIB_IDENTITY_H

#include <stdint.h>

#include "vfnl.h"
#include "xenib.h"

/*
 * Set the VF's node and port GUIDs, then policy Follow (so its port comes up with the PF's only
 * once it has its identity).  Returns 0, or -1 with errno and err naming the file or netdev;
 * ENODEV when the PF has neither route.
 */
int xenib_identity_set(const char *root, const struct xenib_nl_ops *nl, const struct xenib_pf *pf,
                       const struct xenib_vf *vf, uint64_t node_guid, uint64_t port_guid,
                       struct xerr *err);

/*
 * Policy Down first (the guest loses the port even if it still runs), then clear both GUIDs to
 * zero where the driver accepts it: a refusal to clear is logged, not an error, because the next
 * allocation overwrites them anyway.  Returns 0, or -1 with errno and err when Down failed.
 */
int xenib_identity_reset(const char *root, const struct xenib_nl_ops *nl, const struct xenib_pf *pf,
                         const struct xenib_vf *vf, struct xerr *err);

#endif
