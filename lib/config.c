/* config.c - xenvm.yaml, see config.h and xenvm.yaml(5). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "yamldoc.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

static const char *const top_keys[] = {
    "driver", "state_dir", "catalog", "log_level", "cache",       "imagecast", "network", "ib",
    "munge",  "timeouts",  "vm",      "mounts",    "image_store", "shares",    NULL};
static const char *const cache_keys[] = {"dir", "max_size", NULL};
static const char *const cast_keys[] = {"store", "port",          "socket", "chunk_size",
                                        "shape", "allowed_users", NULL};
static const char *const net_keys[] = {"bridge", "interface", "subnet", "gateway",
                                       "mtu",    "pin",       "allow",  NULL};
static const char *const shares_keys[] = {"allowed", NULL};
static const char *const ib_keys[] = {
    "devices", "vfs_per_device", "fallback",        "partitions_file",
    "pkey",    "guid_prefix",    "opensm_pid_file", NULL};
static const char *const munge_keys[] = {"socket", NULL};
static const char *const timeout_keys[] = {"fetch", "boot", "ready", "shutdown_grace", NULL};
static const char *const vm_keys[] = {"memory_overhead", "default_memory", "qemu_binary",
                                      "accel",           "cgroup",         NULL};

/* Indexed by the enums in config.h. */
static const char *const driver_names[] = {"qemu", "xen", NULL};
static const char *const shape_names[] = {"pipelined-binomial", "pipelined-chain", "binomial",
                                          "two-tree", NULL};
static const char *const fallback_names[] = {"rxe", "none", "tcp", NULL};
static const char *const accel_names[] = {"auto", "kvm", "tcg", NULL};
static const char *const cgroup_names[] = {"auto", "required", "off", NULL};
static const char *const level_names[] = {"error", "warn", "info", "verbose", "debug", NULL};

void xenvm_config_free(struct xenvm_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->state_dir);
	free(cfg->catalog);
	free(cfg->log_level);
	free(cfg->cache.dir);
	free(cfg->imagecast.store);
	free(cfg->imagecast.socket);
	ydoc_strv_free(cfg->imagecast.allowed_users, cfg->imagecast.n_allowed_users);
	free(cfg->network.bridge);
	free(cfg->network.interface);
	free(cfg->network.subnet);
	free(cfg->network.gateway);
	free(cfg->network.allow);
	ydoc_strv_free(cfg->shares.allowed, cfg->shares.n_allowed);
	ydoc_strv_free(cfg->ib.devices, cfg->ib.n_devices);
	free(cfg->ib.partitions_file);
	free(cfg->ib.opensm_pid_file);
	free(cfg->munge.socket);
	free(cfg->vm.qemu_binary);
	free(cfg->vm.accel);
	free(cfg->vm.cgroup);
	ydoc_strv_free(cfg->mounts.paths, cfg->mounts.n_paths);
	xenvm_config_image_store_free(cfg);
	free(cfg);
}

/* strdup() into *dst, recording a failure in *ok. */
static void dup_into(char **dst, const char *s, bool *ok)
{
	*dst = strdup(s);
	if (!*dst)
		*ok = false;
}

/* The defaults with `path` as cfg->path; NULL with errno ENOMEM. */
static struct xenvm_config *defaults_for(const char *path)
{
	struct xenvm_config *cfg = calloc(1, sizeof(*cfg));
	bool ok = true;

	if (!cfg) {
		errno = ENOMEM;
		return NULL;
	}
	cfg->driver = XENVM_DRIVER_QEMU;
	dup_into(&cfg->path, path, &ok);
	dup_into(&cfg->state_dir, XENVM_DEFAULT_STATE_DIR, &ok);
	dup_into(&cfg->catalog, "/etc/xenvm/images.yaml", &ok);
	dup_into(&cfg->log_level, "info", &ok);
	dup_into(&cfg->cache.dir, "/var/cache/xenvm", &ok);
	cfg->cache.max_bytes = 20 * GiB;
	dup_into(&cfg->imagecast.store, "/srv/xenvm/images", &ok);
	cfg->imagecast.port = 7420;
	dup_into(&cfg->imagecast.socket, "/run/xenvm/imagecast.sock", &ok);
	cfg->imagecast.chunk_bytes = 1 * MiB;
	cfg->imagecast.shape = XENVM_CAST_TWO_TREE;
	dup_into(&cfg->network.bridge, "xenvmbr0", &ok);
	cfg->network.mtu = 1500;
	cfg->network.pin = true;
	cfg->ib.fallback = XENVM_IB_FALLBACK_RXE;
	cfg->ib.guid_prefix = 0x0200; /* top byte 0x02: a locally administered EUI-64 */
	dup_into(&cfg->munge.socket, "/run/munge/munge.socket.2", &ok);
	cfg->timeouts.fetch_s = 300;
	cfg->timeouts.boot_s = 60;
	cfg->timeouts.ready_s = 120;
	cfg->timeouts.shutdown_grace_s = 10;
	cfg->vm.memory_overhead_bytes = 64 * MiB;
	cfg->vm.default_memory_bytes = 512 * MiB;
	dup_into(&cfg->vm.qemu_binary, "qemu-system-x86_64", &ok);
	dup_into(&cfg->vm.accel, "auto", &ok);
	dup_into(&cfg->vm.cgroup, "auto", &ok);
	if (xenvm_config_image_store_defaults(cfg) < 0)
		ok = false;
	if (!ok) {
		xenvm_config_free(cfg);
		errno = ENOMEM;
		return NULL;
	}
	return cfg;
}

/* Returns the defaults (cfg->path is the default path), or NULL with errno ENOMEM. */
struct xenvm_config *xenvm_config_defaults(void)
{
	return defaults_for(XENVM_CONFIG_DEFAULT_PATH);
}

/* ------------------------------------------------------------------ value checks */

/* An enum key whose value is kept as its name (log_level, vm.accel).  Returns as ydoc_get_enum. */
static int get_name(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                    const char *key, const char *const *names, char **out, struct xerr *err)
{
	int idx = 0, rc = ydoc_get_enum(d, map, at, key, names, &idx, err);
	char *copy;

	if (rc <= 0)
		return rc;
	copy = strdup(names[idx]);
	if (!copy) {
		return xerr_errno(err, ENOMEM, "%s: out of memory", d->file);
	}
	free(*out);
	*out = copy;
	return 1;
}

/*
 * A network interface name as the kernel accepts it: 1..15 bytes, no '/', ':' or space.
 * Returns as ydoc_get_str (1 set, 0 absent, -1 error).
 */
static int get_ifname(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                      const char *key, char **out, struct xerr *err)
{
	char *s = NULL, q[YDOC_QUOTE_LEN];
	int rc = ydoc_get_str(d, map, at, key, YDOC_NONEMPTY, &s, err);

	if (rc <= 0)
		return rc;
	if (strlen(s) > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
	    strpbrk(s, "/: \t\n\r\f\v")) {
		ydoc_error(d, err, ydoc_lookup(d, map, key, NULL), YPATH_KEY(at, key),
		           "%s is not a network interface name (1-15 characters, no '/', ':' or "
		           "spaces)",
		           ydoc_quote(s, q, sizeof(q)));
		free(s);
		return -1;
	}
	free(*out);
	*out = s;
	return 1;
}

/* True if s is an IPv4 or IPv6 address; with `prefix`, also "/N" in range for the family. */
static bool is_address(const char *s, bool prefix)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	int family;

	if (!prefix != !slash || len == 0 || len >= sizeof(addr))
		return false;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, buf) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr, buf) == 1)
		family = AF_INET6;
	else
		return false;
	if (prefix) {
		const char *p = slash + 1;
		unsigned long bits = 0;

		if (!*p || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p))
			return false;
		bits = strtoul(p, NULL, 10);
		if (bits > (family == AF_INET ? 32u : 128u))
			return false;
	}
	return true;
}

/* An IP address (or with `prefix` a CIDR subnet).  Returns as ydoc_get_str. */
static int get_address(const struct ydoc *d, const yaml_node_t *map, const struct ypath *at,
                       const char *key, bool prefix, char **out, struct xerr *err)
{
	char *s = NULL, q[YDOC_QUOTE_LEN];
	int rc = ydoc_get_str(d, map, at, key, YDOC_NONEMPTY, &s, err);

	if (rc <= 0)
		return rc;
	if (!is_address(s, prefix)) {
		ydoc_error(d, err, ydoc_lookup(d, map, key, NULL), YPATH_KEY(at, key),
		           prefix ? "%s is not a subnet in CIDR notation (e.g. 10.20.0.0/16)"
		                  : "%s is not an IP address (e.g. 10.20.0.1)",
		           ydoc_quote(s, q, sizeof(q)));
		free(s);
		return -1;
	}
	free(*out);
	*out = s;
	return 1;
}

/* ------------------------------------------------------------------ sections */

/*
 * The sections: each reads its keys into cfg (absent keys keep their defaults).  Each returns 0,
 * or -1 with err filled and errno EINVAL or ENOMEM.
 */
static int parse_cache(const struct ydoc *d, const yaml_node_t *root, struct xenvm_config *cfg,
                       struct xerr *err)
{
	const struct ypath *at = YPATH_KEY(NULL, "cache");
	yaml_node_t *m = NULL;

	if (ydoc_get_map(d, root, NULL, "cache", cache_keys, &m, err) < 0 ||
	    ydoc_get_str(d, m, at, "dir", YDOC_ABSPATH, &cfg->cache.dir, err) < 0 ||
	    ydoc_get_size(d, m, at, "max_size", MiB, UINT64_MAX, &cfg->cache.max_bytes, err) < 0)
		return -1;
	return 0;
}

static int parse_imagecast(const struct ydoc *d, const yaml_node_t *root, struct xenvm_config *cfg,
                           struct xerr *err)
{
	const struct ypath *at = YPATH_KEY(NULL, "imagecast");
	yaml_node_t *m = NULL;
	uint64_t port = cfg->imagecast.port;
	int shape = (int)cfg->imagecast.shape;

	if (ydoc_get_map(d, root, NULL, "imagecast", cast_keys, &m, err) < 0 ||
	    ydoc_get_str(d, m, at, "store", YDOC_ABSPATH, &cfg->imagecast.store, err) < 0 ||
	    ydoc_get_uint(d, m, at, "port", 1, 65535, 0, &port, err) < 0 ||
	    ydoc_get_str(d, m, at, "socket", YDOC_ABSPATH, &cfg->imagecast.socket, err) < 0 ||
	    ydoc_get_size(d, m, at, "chunk_size", 64 << 10, 64 * MiB, &cfg->imagecast.chunk_bytes,
	                  err) < 0 ||
	    ydoc_get_enum(d, m, at, "shape", shape_names, &shape, err) < 0 ||
	    ydoc_get_strlist(d, m, at, "allowed_users", 0, &cfg->imagecast.allowed_users,
	                     &cfg->imagecast.n_allowed_users, err) < 0)
		return -1;
	cfg->imagecast.port = (uint16_t)port;
	cfg->imagecast.shape = (enum xenvm_cast_shape)shape;
	return 0;
}

static int parse_network(const struct ydoc *d, const yaml_node_t *root, struct xenvm_config *cfg,
                         struct xerr *err)
{
	const struct ypath *at = YPATH_KEY(NULL, "network");
	yaml_node_t *m = NULL;
	uint64_t mtu = cfg->network.mtu;

	if (ydoc_get_map(d, root, NULL, "network", net_keys, &m, err) < 0 ||
	    get_ifname(d, m, at, "bridge", &cfg->network.bridge, err) < 0 ||
	    get_ifname(d, m, at, "interface", &cfg->network.interface, err) < 0 ||
	    get_address(d, m, at, "subnet", true, &cfg->network.subnet, err) < 0 ||
	    get_address(d, m, at, "gateway", false, &cfg->network.gateway, err) < 0 ||
	    ydoc_get_uint(d, m, at, "mtu", 68, 65535, 0, &mtu, err) < 0 ||
	    ydoc_get_bool(d, m, at, "pin", &cfg->network.pin, err) < 0 ||
	    xenvm_config_net_allow_parse(d, m, at, cfg, err) < 0)
		return -1;
	cfg->network.mtu = (uint32_t)mtu;
	return 0;
}

static int parse_shares(const struct ydoc *d, const yaml_node_t *root, struct xenvm_config *cfg,
                        struct xerr *err)
{
	const struct ypath *at = YPATH_KEY(NULL, "shares");
	yaml_node_t *m = NULL;

	if (ydoc_get_map(d, root, NULL, "shares", shares_keys, &m, err) < 0 ||
	    ydoc_get_strlist(d, m, at, "allowed", YDOC_ABSPATH, &cfg->shares.allowed,
	                     &cfg->shares.n_allowed, err) < 0)
		return -1;
	return 0;
}

static int parse_ib(const struct ydoc *d, const yaml_node_t *root, struct xenvm_config *cfg,
                    struct xerr *err)
{
	const struct ypath *at = YPATH_KEY(NULL, "ib");
	yaml_node_t *m = NULL;
	uint64_t vfs = cfg->ib.vfs_per_device, pkey = cfg->ib.pkey, prefix = cfg->ib.guid_prefix;
	int fallback = (int)cfg->ib.fallback;

	if (ydoc_get_map(d, root, NULL, "ib", ib_keys, &m, err) < 0 ||
	    ydoc_get_strlist(d, m, at, "devices", 0, &cfg->ib.devices, &cfg->ib.n_devices, err) <
	        0 ||
	    ydoc_get_uint(d, m, at, "vfs_per_device", 0, 255, 0, &vfs, err) < 0 ||
	    ydoc_get_enum(d, m, at, "fallback", fallback_names, &fallback, err) < 0 ||
	    ydoc_get_str(d, m, at, "partitions_file", YDOC_ABSPATH, &cfg->ib.partitions_file, err) <
	        0 ||
	    ydoc_get_uint(d, m, at, "pkey", 0x0001, 0x7fff, YDOC_HEX, &pkey, err) < 0 ||
	    ydoc_get_uint(d, m, at, "guid_prefix", 0x0001, 0xfffe, YDOC_HEX, &prefix, err) < 0 ||
	    ydoc_get_str(d, m, at, "opensm_pid_file", YDOC_ABSPATH, &cfg->ib.opensm_pid_file, err) <
	        0)
		return -1;
	cfg->ib.guid_prefix = (uint16_t)prefix;
	cfg->ib.vfs_per_device = (uint32_t)vfs;
	cfg->ib.fallback = (enum xenvm_ib_fallback)fallback;
	cfg->ib.pkey = (uint16_t)pkey;
	return 0;
}

static int parse_timeouts(const struct ydoc *d, const yaml_node_t *root, struct xenvm_config *cfg,
                          struct xerr *err)
{
	const struct ypath *at = YPATH_KEY(NULL, "timeouts");
	yaml_node_t *m = NULL;

	if (ydoc_get_map(d, root, NULL, "timeouts", timeout_keys, &m, err) < 0 ||
	    ydoc_get_duration(d, m, at, "fetch", 1, UINT32_MAX, &cfg->timeouts.fetch_s, err) < 0 ||
	    ydoc_get_duration(d, m, at, "boot", 1, UINT32_MAX, &cfg->timeouts.boot_s, err) < 0 ||
	    ydoc_get_duration(d, m, at, "ready", 1, UINT32_MAX, &cfg->timeouts.ready_s, err) < 0 ||
	    ydoc_get_duration(d, m, at, "shutdown_grace", 1, UINT32_MAX,
	                      &cfg->timeouts.shutdown_grace_s, err) < 0)
		return -1;
	return 0;
}

static int parse_vm(const struct ydoc *d, const yaml_node_t *root, struct xenvm_config *cfg,
                    struct xerr *err)
{
	const struct ypath *at = YPATH_KEY(NULL, "vm");
	yaml_node_t *m = NULL;

	if (ydoc_get_map(d, root, NULL, "vm", vm_keys, &m, err) < 0 ||
	    ydoc_get_size(d, m, at, "memory_overhead", 0, UINT64_MAX,
	                  &cfg->vm.memory_overhead_bytes, err) < 0 ||
	    ydoc_get_size(d, m, at, "default_memory", MiB, UINT64_MAX,
	                  &cfg->vm.default_memory_bytes, err) < 0 ||
	    ydoc_get_str(d, m, at, "qemu_binary", YDOC_NONEMPTY, &cfg->vm.qemu_binary, err) < 0 ||
	    get_name(d, m, at, "accel", accel_names, &cfg->vm.accel, err) < 0 ||
	    get_name(d, m, at, "cgroup", cgroup_names, &cfg->vm.cgroup, err) < 0)
		return -1;
	return 0;
}

/* The whole document.  Returns 0, or -1 with err filled and errno EINVAL or ENOMEM. */
static int parse_root(const struct ydoc *d, const yaml_node_t *root, struct xenvm_config *cfg,
                      struct xerr *err)
{
	const struct ypath *munge_at = YPATH_KEY(NULL, "munge");
	yaml_node_t *munge = NULL;
	int driver = (int)cfg->driver;

	if (ydoc_check_map(d, root, NULL, top_keys, err) < 0 ||
	    ydoc_get_enum(d, root, NULL, "driver", driver_names, &driver, err) < 0 ||
	    ydoc_get_str(d, root, NULL, "state_dir", YDOC_ABSPATH, &cfg->state_dir, err) < 0 ||
	    ydoc_get_str(d, root, NULL, "catalog", YDOC_ABSPATH, &cfg->catalog, err) < 0 ||
	    get_name(d, root, NULL, "log_level", level_names, &cfg->log_level, err) < 0 ||
	    parse_cache(d, root, cfg, err) < 0 || parse_imagecast(d, root, cfg, err) < 0 ||
	    parse_network(d, root, cfg, err) < 0 || parse_ib(d, root, cfg, err) < 0 ||
	    ydoc_get_map(d, root, NULL, "munge", munge_keys, &munge, err) < 0 ||
	    ydoc_get_str(d, munge, munge_at, "socket", YDOC_ABSPATH, &cfg->munge.socket, err) < 0 ||
	    parse_timeouts(d, root, cfg, err) < 0 || parse_vm(d, root, cfg, err) < 0 ||
	    ydoc_get_strlist(d, root, NULL, "mounts", YDOC_ABSPATH, &cfg->mounts.paths,
	                     &cfg->mounts.n_paths, err) < 0 ||
	    parse_shares(d, root, cfg, err) < 0 ||
	    xenvm_config_image_store_parse(d, root, cfg, err) < 0)
		return -1;
	cfg->driver = (enum xenvm_driver_kind)driver;
	return 0;
}

/*
 * Returns 0 and *out, or -1 with err filled, *out untouched and errno: EINVAL (bad argument or
 * content), ENOMEM, or the error from opening/reading the file (ENOENT unless missing_ok, ...).
 */
int xenvm_config_load(const char *path, bool missing_ok, struct xenvm_config **out,
                      struct xerr *err)
{
	struct ydoc d = YDOC_INIT;
	struct xenvm_config *cfg = NULL;
	yaml_node_t *root;
	int rc = -1, saved;

	if (!out) {
		return xerr_errno(err, EINVAL, "xenvm_config_load: invalid argument");
	}
	if (!path)
		path = XENVM_CONFIG_DEFAULT_PATH;
	cfg = defaults_for(path);
	if (!cfg) {
		xerr_set(err, "%s: out of memory", path);
		goto out;
	}
	if (ydoc_load(&d, path, err) < 0) {
		if (errno == ENOENT && missing_ok) {
			if (err)
				err->msg[0] = '\0';
			goto done;
		}
		goto out;
	}
	root = ydoc_root(&d);
	if (root && parse_root(&d, root, cfg, err) < 0)
		goto out;
done:
	*out = cfg;
	cfg = NULL;
	rc = 0;
out:
	saved = errno;
	xenvm_config_free(cfg);
	ydoc_free(&d);
	errno = saved;
	return rc;
}
