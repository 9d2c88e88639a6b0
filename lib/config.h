/*
 * config.h - the site configuration, xenvm.yaml (see xenvm.yaml(5)).
 *
 * Loaded once by each program (plugins: at init; daemons: at start and on SIGHUP).  Every field
 * has a default so an empty file is a valid configuration; unknown keys, wrong types and values
 * out of range are errors that name file:line:column and the key.
 */
#ifndef XENVM_CONFIG_H
#define XENVM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define XENVM_CONFIG_DEFAULT_PATH "/etc/xenvm/xenvm.yaml"
#define XENVM_DEFAULT_STATE_DIR "/run/xenvm" /* state_dir when xenvm.yaml does not say */

enum xenvm_driver_kind {
	XENVM_DRIVER_QEMU = 0,
	XENVM_DRIVER_XEN,
};

/* clang-format off: the key and default columns below are a table */
enum xenvm_ib_fallback {
	XENVM_IB_FALLBACK_RXE =
	    0,                  /* no VF free or no HCA: Soft-RoCE in the guest if the image can */
	XENVM_IB_FALLBACK_NONE, /* no VF: fail the job's VM with a clear reason */
	XENVM_IB_FALLBACK_TCP,  /* no VF: no verbs device in the guest; MPI over the network */
};

enum xenvm_cast_shape {
	XENVM_CAST_PIPELINED_BINOMIAL = 0,
	XENVM_CAST_PIPELINED_CHAIN,
	XENVM_CAST_BINOMIAL_WHOLE_FILE, /* the ICS'06 paper's scheme, kept for comparison */
	XENVM_CAST_TWO_TREE, /* default: two pipelined trees, each carrying half the chunks */
};

/* One network.allow entry, "ADDR[/PREFIX][:tcp|udp|any[:PORT]]" (host byte order). */
struct xenvm_net_allow {
	uint32_t addr;
	uint8_t prefix; /* 0..32 (32 when not given) */
	uint8_t proto;  /* 6 tcp, 17 udp, 0 any */
	uint16_t port;  /* 0: any port */
};

struct xenvm_config {
	char *path;                    /* the file this came from (or the default path) */
	enum xenvm_driver_kind driver; /* driver: xen | qemu                  (qemu) */
	char *state_dir;               /* state_dir                           (/run/xenvm) */
	char *catalog;   /* catalog                             (/etc/xenvm/images.yaml) */
	char *log_level; /* log_level: error..debug             (info) */

	struct {
		char *dir;          /* cache.dir                      (/var/cache/xenvm) */
		uint64_t max_bytes; /* cache.max_size (size)           (20G) */
	} cache;

	struct {
		char *store;   /* imagecast.store: directory of images.  (/srv/xenvm/images) */
		uint16_t port; /* imagecast.port                         (7420) */
		char *
		    socket; /* imagecast.socket (local clients)       (/run/xenvm/imagecast.sock) */
		uint64_t chunk_bytes;        /* imagecast.chunk_size (size, 64K..64M)  (4M) */
		enum xenvm_cast_shape shape; /* imagecast.shape                  (two-tree) */
		char **allowed_users;        /* imagecast.allowed_users: peers' uids besides root
		                                (SlurmUser) */
		size_t n_allowed_users;
	} imagecast;

	struct {
		char *bridge;    /* network.bridge: the node bridge VMs attach to   (xenvmbr0) */
		char *interface; /* network.interface: the node's uplink, if any    (NULL) */
		char *subnet;  /* network.subnet: CIDR guests are addressed from (NULL: VM jobs fail
		                  the Prolog) */
		char *gateway; /* network.gateway                                 (NULL) */
		uint32_t mtu;  /* network.mtu                                     (1500) */
		bool pin;      /* network.pin: nftables pins each VM's tap        (true) */
		struct xenvm_net_allow *allow; /* network.allow: services the VMs may reach */
		size_t n_allow;
	} network;

	struct {
		char **devices; /* ib.devices: HCA names to take VFs from (empty = all) */
		size_t n_devices;
		uint32_t vfs_per_device; /* ib.vfs_per_device (0..255)      (0 = as enabled) */
		enum xenvm_ib_fallback fallback; /* ib.fallback: rxe | none | tcp    (rxe) */
		char *partitions_file; /* ib.partitions_file (OpenSM)      (NULL = none) */
		uint16_t pkey;         /* ib.pkey (0x0001..0x7fff)         (0 = default) */
		uint16_t guid_prefix;  /* ib.guid_prefix: VF GUIDs' top 16 bits (0x0200) */
		char *opensm_pid_file; /* ib.opensm_pid_file: HUP after edits (NULL = none) */
	} ib;

	struct {
		char *socket; /* munge.socket (/run/munge/munge.socket.2) */
	} munge;

	struct {
		uint32_t fetch_s;          /* timeouts.fetch (duration)      (300s) */
		uint32_t boot_s;           /* timeouts.boot                  (60s) */
		uint32_t ready_s;          /* timeouts.ready                 (120s) */
		uint32_t shutdown_grace_s; /* timeouts.shutdown_grace        (10s) */
	} timeouts;

	struct {
		uint64_t
		    memory_overhead_bytes; /* vm.memory_overhead: added to the job's memory (64M) */
		uint64_t
		    default_memory_bytes; /* vm.default_memory when the image names none (512M) */
		char *qemu_binary;        /* vm.qemu_binary       (qemu-system-x86_64) */
		char *accel;              /* vm.accel: auto | kvm | tcg (auto) */
		char *cgroup;             /* vm.cgroup: auto | required | off (auto; vm/cgroup.h) */
	} vm;

	/* image_store: the image manager's policy (xenvm-imaged(8); parsed in config_imagestore.c)
	 */
	struct {
		char *socket;  /* image_store.socket                 (/run/xenvm/imaged.sock) */
		char *listen;  /* image_store.listen: HOST:PORT for login nodes, munge (none) */
		char **admins; /* image_store.admins: users who may write site images, besides
		                  root */
		size_t n_admins;
		bool user_images;  /* image_store.user_images: users may push at all     (false) */
		char **push_users; /* image_store.push_users / push_groups: when either is
		                      non-empty, only those may push user images */
		size_t n_push_users;
		char **push_groups;
		size_t n_push_groups;
		uint64_t quota_bytes; /* image_store.quota_bytes: per user                  (10G) */
		uint64_t
		    quota_images; /* image_store.quota_images: versions per user          (10) */
		uint64_t
		    max_image_bytes; /* image_store.max_image_size: files of one version   (4G) */
		bool user_kernels; /* image_store.user_kernels: own kernel in user images (false) */
		bool user_root;    /* image_store.user_root: root_allowed in user images  (false) */
		uint32_t
		    retention_s; /* image_store.retention: untagged versions kept        (1d) */
		uint32_t
		    gc_interval_s; /* image_store.gc_interval: the manager's own GC        (1h) */
		bool verify_boot;  /* image_store.verify: none | boot (none): boot before tagging */
		uint32_t
		    verify_timeout_s; /* image_store.verify_timeout: to "ready" (timeouts.ready) */
		uint64_t import_cache_max; /* image_store.import_cache_max: each user's import
		                              cache, trimmed after an import; 0 unbounded (8G) */
	} image_store;

	struct {
		char **paths; /* mounts: extra host paths shared into guests at the same path */
		size_t n_paths;
	} mounts;

	struct {
		char **allowed; /* shares.allowed: roots under which a job's working directory and
		                   --vm-mounts may be shared, besides the user's home (none) */
		size_t n_allowed;
	} shares;
};
/* clang-format on */

/*
 * Load and validate xenvm.yaml at `path` (NULL: XENVM_CONFIG_DEFAULT_PATH).
 * Returns 0 and sets *out (free with xenvm_config_free), or -1 with err filled:
 * "<file>:<line>:<col>: <key>: <what is wrong>" and errno EINVAL (bad content or argument),
 * ENOMEM, or the error from opening the file.  A missing file (ENOENT) is an error unless
 * `missing_ok` is true, in which case the defaults are returned.  Lists are NULL-terminated
 * arrays of n strings, NULL when empty.
 */
int xenvm_config_load(const char *path, bool missing_ok, struct xenvm_config **out,
                      struct xerr *err);
/* image_store: defaults, parsing, freeing (config_imagestore.c, called by config.c).  Each returns
 * 0, or -1 with err filled and errno EINVAL or ENOMEM. */
struct ydoc;
int xenvm_config_image_store_defaults(struct xenvm_config *cfg);
int xenvm_config_image_store_parse(const struct ydoc *d, const void *root, struct xenvm_config *cfg,
                                   struct xerr *err);
void xenvm_config_image_store_free(struct xenvm_config *cfg);
/* network.allow (config_netallow.c): the list at `map`'s "allow" into cfg->network.allow.  Returns
 * 0 (also when absent), or -1 with err "FILE:LINE:COL: network.allow[i]: ..." and errno. */
struct ypath;
int xenvm_config_net_allow_parse(const struct ydoc *d, const void *map, const struct ypath *at,
                                 struct xenvm_config *cfg, struct xerr *err);
/* One network.allow entry "ADDR[/PREFIX][:tcp|udp|any[:PORT]]" into *out.  Returns 0, or -1 with
 * errno EINVAL and err saying what is wrong (without the file position). */
int xenvm_net_allow_parse(const char *s, struct xenvm_net_allow *out, struct xerr *err);

/* The defaults alone (never fails except ENOMEM: returns NULL). */
struct xenvm_config *xenvm_config_defaults(void);
void xenvm_config_free(struct xenvm_config *cfg);

#endif
