/*
 * push.c - a new version: everything that can be judged from the header is judged before a
 * byte is stored (names, who, attributes against the schema, size, quota, kernel, root); then
 * the files are received into blobs, each checked against the sha256 the push declared; then
 * (image_store.verify: boot) the version booted in a throwaway VM (verify.h); then
 * the manifest, the tag and the catalog, in that order (store.h).  A refused or failed push
 * leaves the store as it was: blobs it added are removed again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chunk.h"
#include "lib/imageref.h"
#include "manifest.h"
#include "server.h"
#include "verify.h"

/*
 * Remove the blobs this push created (none is named by a manifest yet), and the chunks no
 * index names any more: a refused push costs no disk.
 */
static void undo_blobs(struct imgs_store *st, const struct imgs_req *r, const bool *created)
{
	bool any = false;

	for (int i = 0; i < IMGS_ROLES; i++) {
		struct xerr ignored;

		if (created[i])
			any |= imgs_blob_remove(st, r->files[i].sha256, &ignored) == 0;
	}
	if (any) {
		struct xerr ignored;

		(void)imgs_chunks_sweep(st, NULL, &ignored);
	}
}

int imgs_push(const struct xenvm_config *cfg, struct imgs_store *st, int fd,
              const struct imgs_client *c, const struct imgs_req *r, FILE *out, struct xerr *err)
{
	struct imgs_ns ns;
	char name[IMGS_NAME_MAX + 1], tag[IMGS_NAME_MAX + 1], ref[160], pre[64],
	    hex[IMGS_HEX_LEN + 1];
	char tmpdir[4096];
	char *attrs = NULL, *text = NULL;
	struct xenvm_catalog *cat = NULL;
	bool created[IMGS_ROLES] = {false, false, false};
	uint64_t bytes = 0, fresh = 0;
	size_t got = 0;
	int rc = -1;

	if (r->nargs != 1)
		return xerr_set(err, "push: one image reference expected");
	if (imgs_parse_ref(r->args[0], &ns, name, tag, err) < 0)
		return -1;
	if (!tag[0])
		strcpy(tag, "latest");
	if (imgs_may_write(cfg, c, &ns, true, err) < 0)
		return -1;
	if (!r->files[0].present || !r->files[1].present)
		return xerr_set(err, "push: a kernel and an initrd are required");
	if (r->attrs_len > IMGS_ATTRS_MAX)
		return xerr_set(err, "push: attributes of %" PRIu64 " bytes (at most %d)",
		                r->attrs_len, IMGS_ATTRS_MAX);
	attrs = calloc(1, (size_t)r->attrs_len + 1);
	if (!attrs)
		return xerr_set(err, "out of memory");
	while (got < r->attrs_len) {
		ssize_t n = read(fd, attrs + got, (size_t)r->attrs_len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			xerr_set(err, "push: connection closed in the attributes");
			goto out;
		}
		got += (size_t)n;
	}
	imgs_ns_prefix(&ns, pre, sizeof(pre));
	snprintf(ref, sizeof(ref), "%s%s:%s", pre, name, tag);
	if (!xenvm_image_ref_valid(ref)) {
		xerr_set(err, "push: '%s' is longer than an image reference may be (64)", ref);
		goto out;
	}
	if (imgs_manifest_build(attrs, got, r->files, !ns.user[0], c->user, ref,
	                        (long long)time(NULL), &text, err) < 0)
		goto out;
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", st->dir);
	if (imgs_manifest_check(tmpdir, text, &cat, err) < 0)
		goto out;
	snprintf(hex, sizeof(hex), "%s", cat->images[0].digest + 7);
	if (imgs_check_push(cfg, st, &ns, r->files, &cat->images[0], hex, err) < 0)
		goto out;
	for (int i = 0; i < IMGS_ROLES; i++) {
		struct xerr ferr = {""};
		uint64_t added = 0;

		if (!r->files[i].present)
			continue;
		if (imgs_blob_receive(st, fd, r->files[i].size, r->files[i].sha256, &created[i],
		                      &added, &ferr) < 0) {
			xerr_set(err, "push refused: file %s: %s; nothing was stored",
			         imgs_roles[i], ferr.msg);
			undo_blobs(st, r, created);
			goto out;
		}
		bytes += r->files[i].size;
		fresh += added;
	}
	/* verify: boot, before the version exists: one that does not boot is never written */
	if (cfg->image_store.verify_boot) {
		struct xerr verr = {""};

		if (imgs_verify_boot(cfg, st, text, r->files, c->uid, c->gid, &verr) < 0) {
			xerr_set(err, "push refused: verify: boot: %s; nothing was stored",
			         verr.msg);
			undo_blobs(st, r, created);
			goto out;
		}
	}
	if (imgs_version_write(st, &ns, hex, text, err) < 0) {
		undo_blobs(st, r, created);
		goto out;
	}
	/* From here the version is complete: a failure leaves it untagged, for the collector. */
	if (imgs_tag_set(st, &ns, name, tag, hex, c->user, err) < 0 ||
	    imgs_catalog_write(st, err) < 0)
		goto out;
	fprintf(out, "pushed %s sha256:%s (%" PRIu64 " bytes, %" PRIu64 " new)%s\n", ref, hex,
	        bytes, fresh, cfg->image_store.verify_boot ? ", booted to ready first" : "");
	rc = 0;
out:
	xenvm_catalog_free(cat);
	free(text);
	free(attrs);
	return rc;
}
