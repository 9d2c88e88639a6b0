/* identity.c - see identity.h. */
#include "identity.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "guid.h"
#include "lib/log.h"
#include "sysfs.h"

static const char *const policy_names[] = {"Follow", "Up", "Down"};

/* Write one of <dev>/device/sriov/<N>/<file>.  Returns as xenib_sysfs_write. */
static int vendor_write(const char *root, const struct xenib_pf *pf, const struct xenib_vf *vf,
                        const char *file, const char *value, struct xerr *err)
{
	char path[PATH_MAX];

	if (xenib_path(path, sizeof(path), root, err, "/sys/class/infiniband/%s/device/sriov/%u/%s",
	               pf->name, vf->vf, file) < 0)
		return -1;
	return xenib_sysfs_write(path, value, err);
}

/* Returns 0, or -1 with errno and err (see identity.h). */
int xenib_identity_set(const char *root, const struct xenib_nl_ops *nl, const struct xenib_pf *pf,
                       const struct xenib_vf *vf, uint64_t node_guid, uint64_t port_guid,
                       struct xerr *err)
{
	char g[32];

	if (!pf || !vf || !node_guid || !port_guid) {
		return xerr_errno(err, EINVAL, "xenib_identity_set: invalid argument");
	}
	if (pf->vendor_sriov) {
		xenib_guid_colon(node_guid, g, sizeof(g));
		if (vendor_write(root, pf, vf, "node", g, err) < 0)
			return -1;
		xenib_guid_colon(port_guid, g, sizeof(g));
		if (vendor_write(root, pf, vf, "port", g, err) < 0)
			return -1;
		return vendor_write(root, pf, vf, "policy", policy_names[XENIB_POLICY_FOLLOW], err);
	}
	if (pf->ifindex > 0) {
		struct xenib_nl_vf req = {.ifindex = pf->ifindex,
		                          .vf = vf->vf,
		                          .node_guid = &node_guid,
		                          .port_guid = &port_guid,
		                          .policy = XENIB_POLICY_FOLLOW};

		return xenib_nl_set_vf(nl, pf->netdev, &req, err);
	}
	errno = ENODEV;
	return xerr_set(err,
	                "%s: cannot set VF GUIDs: no device/sriov/ (mlx5 vendor driver) and no "
	                "IPoIB netdev under device/net/ (rtnetlink)",
	                pf->name);
}

/* Returns 0, or -1 with errno and err when policy Down could not be set. */
int xenib_identity_reset(const char *root, const struct xenib_nl_ops *nl, const struct xenib_pf *pf,
                         const struct xenib_vf *vf, struct xerr *err)
{
	struct xerr why = {{0}};
	const uint64_t zero = 0;

	if (!pf || !vf) {
		return xerr_errno(err, EINVAL, "xenib_identity_reset: invalid argument");
	}
	if (pf->vendor_sriov) {
		if (vendor_write(root, pf, vf, "policy", policy_names[XENIB_POLICY_DOWN], err) < 0)
			return -1;
		if (vendor_write(root, pf, vf, "node", "00:00:00:00:00:00:00:00", &why) < 0 ||
		    vendor_write(root, pf, vf, "port", "00:00:00:00:00:00:00:00", &why) < 0)
			xverbose("%s vf %u: GUIDs not cleared (%s)", pf->name, vf->vf, why.msg);
		return 0;
	}
	if (pf->ifindex > 0) {
		struct xenib_nl_vf down = {
		    .ifindex = pf->ifindex, .vf = vf->vf, .policy = XENIB_POLICY_DOWN};
		struct xenib_nl_vf clear = {.ifindex = pf->ifindex,
		                            .vf = vf->vf,
		                            .node_guid = &zero,
		                            .port_guid = &zero,
		                            .policy = XENIB_POLICY_KEEP};

		if (xenib_nl_set_vf(nl, pf->netdev, &down, err) < 0)
			return -1;
		if (xenib_nl_set_vf(nl, pf->netdev, &clear, &why) < 0)
			xverbose("%s vf %u: GUIDs not cleared (%s)", pf->name, vf->vf, why.msg);
		return 0;
	}
	return xerr_errno(err, ENODEV,
	                  "%s: cannot set VF policy Down: no device/sriov/ and no IPoIB netdev",
	                  pf->name);
}
