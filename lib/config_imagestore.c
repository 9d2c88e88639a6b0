/*
 * config_imagestore.c - xenvm.yaml's image_store section: the image manager's policy
 * (xenvm-imaged(8), xenvm.yaml(5)).  Kept apart from config.c so that the manager's keys grow here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "yamldoc.h"

static const char *const store_keys[] = {"socket",
                                         "admins",
                                         "user_images",
                                         "push_users",
                                         "push_groups",
                                         "quota_bytes",
                                         "quota_images",
                                         "max_image_size",
                                         "user_kernels",
                                         "user_root",
                                         "retention",
                                         "gc_interval",
                                         "verify",
                                         "verify_timeout",
                                         "listen",
                                         "import_cache_max",
                                         NULL};

static const char *const verify_names[] = {"none", "boot", NULL};

#define GiB (1024ULL * 1024 * 1024)

/* Returns 0, or -1 with errno ENOMEM. */
int xenvm_config_image_store_defaults(struct xenvm_config *cfg)
{
	cfg->image_store.socket = strdup("/run/xenvm/imaged.sock");
	if (!cfg->image_store.socket) {
		errno = ENOMEM;
		return -1;
	}
	cfg->image_store.quota_bytes = 10 * GiB;
	cfg->image_store.quota_images = 10;
	cfg->image_store.max_image_bytes = 4 * GiB;
	cfg->image_store.retention_s = 86400;
	cfg->image_store.gc_interval_s = 3600;
	cfg->image_store.import_cache_max = 8 * GiB;
	return 0;
}

void xenvm_config_image_store_free(struct xenvm_config *cfg)
{
	free(cfg->image_store.socket);
	free(cfg->image_store.listen);
	ydoc_strv_free(cfg->image_store.admins, cfg->image_store.n_admins);
	ydoc_strv_free(cfg->image_store.push_users, cfg->image_store.n_push_users);
	ydoc_strv_free(cfg->image_store.push_groups, cfg->image_store.n_push_groups);
}

/* Returns 0 (section absent or valid), or -1 with err filled and errno EINVAL or ENOMEM. */
int xenvm_config_image_store_parse(const struct ydoc *d, const void *root, struct xenvm_config *cfg,
                                   struct xerr *err)
{
	const struct ypath *at = YPATH_KEY(NULL, "image_store");
	struct xenvm_config *c = cfg;
	yaml_node_t *m = NULL;
	int verify = 0;

	if (ydoc_get_map(d, root, NULL, "image_store", store_keys, &m, err) < 0)
		return -1;
	if (!m)
		return 0;
	if (ydoc_get_str(d, m, at, "socket", YDOC_ABSPATH, &c->image_store.socket, err) < 0 ||
	    ydoc_get_str(d, m, at, "listen", YDOC_NONEMPTY, &c->image_store.listen, err) < 0 ||
	    ydoc_get_strlist(d, m, at, "admins", YDOC_NONEMPTY, &c->image_store.admins,
	                     &c->image_store.n_admins, err) < 0 ||
	    ydoc_get_bool(d, m, at, "user_images", &c->image_store.user_images, err) < 0 ||
	    ydoc_get_strlist(d, m, at, "push_users", YDOC_NONEMPTY, &c->image_store.push_users,
	                     &c->image_store.n_push_users, err) < 0 ||
	    ydoc_get_strlist(d, m, at, "push_groups", YDOC_NONEMPTY, &c->image_store.push_groups,
	                     &c->image_store.n_push_groups, err) < 0 ||
	    ydoc_get_size(d, m, at, "quota_bytes", 0, UINT64_MAX, &c->image_store.quota_bytes,
	                  err) < 0 ||
	    ydoc_get_uint(d, m, at, "quota_images", 0, 1000000, 0, &c->image_store.quota_images,
	                  err) < 0 ||
	    ydoc_get_size(d, m, at, "max_image_size", 1, UINT64_MAX,
	                  &c->image_store.max_image_bytes, err) < 0 ||
	    ydoc_get_bool(d, m, at, "user_kernels", &c->image_store.user_kernels, err) < 0 ||
	    ydoc_get_bool(d, m, at, "user_root", &c->image_store.user_root, err) < 0 ||
	    ydoc_get_duration(d, m, at, "retention", 0, UINT32_MAX, &c->image_store.retention_s,
	                      err) < 0 ||
	    ydoc_get_duration(d, m, at, "gc_interval", 1, UINT32_MAX, &c->image_store.gc_interval_s,
	                      err) < 0 ||
	    ydoc_get_enum(d, m, at, "verify", verify_names, &verify, err) < 0 ||
	    ydoc_get_duration(d, m, at, "verify_timeout", 1, 3600, &c->image_store.verify_timeout_s,
	                      err) < 0 ||
	    ydoc_get_size(d, m, at, "import_cache_max", 0, UINT64_MAX,
	                  &c->image_store.import_cache_max, err) < 0)
		return -1;
	c->image_store.verify_boot = verify == 1;
	return 0;
}
