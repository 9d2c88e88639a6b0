/*
 * policy.h - who may do what in the image store (xenvm.yaml(5), image_store; xenvm-imaged(8)).
 *
 * Site images (no namespace) are written by admins only: root and image_store.admins.  A user's
 * images live in the namespace named after the user, written by that user only (admins may
 * remove them); they are visible to their owner, to the users they are shared with and to admins.
 * A push into a user namespace must pass, before a byte is stored: image_store.user_images and
 * the push lists, max_image_size, the quota (bytes and versions, counted over every version in
 * the namespace, tagged or in retention), user_kernels (the kernel must be one of the site's)
 * and user_root (root_allowed).
 */
#ifndef IMGS_POLICY_H
#define IMGS_POLICY_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/catalog.h"
#include "lib/config.h"
#include "store.h"

struct imgs_client {
	uid_t uid;
	gid_t gid;
	char user[IMGS_USER_MAX + 1];
	bool admin;
};

/* Fill *c for a peer uid/gid (the user's name from the password database).  0, or -1 with err. */
int imgs_client_init(const struct xenvm_config *cfg, uid_t uid, gid_t gid, struct imgs_client *c,
                     struct xerr *err);

/* May c write (push, tag, rm, share) in ns?  0, or -1 with err (errno EACCES). */
int imgs_may_write(const struct xenvm_config *cfg, const struct imgs_client *c,
                   const struct imgs_ns *ns, bool push, struct xerr *err);

/* May c see image `name` of ns?  True when it may. */
bool imgs_may_see(const struct imgs_store *st, const struct imgs_client *c,
                  const struct imgs_ns *ns, const char *name);

/*
 * The checks on a new version's declared files and validated attributes (img) before anything
 * is stored in a user namespace; site pushes pass.  hex is its digest.  0, or -1 with err
 * (errno EACCES for policy, EDQUOT for the quota, EFBIG for the size).
 */
int imgs_check_push(const struct xenvm_config *cfg, const struct imgs_store *st,
                    const struct imgs_ns *ns, const struct imgs_file *files,
                    const struct xenvm_image *img, const char *hex, struct xerr *err);

#endif
