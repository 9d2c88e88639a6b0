/* manifest.c - a version's manifest: built from a push, checked, read back (see manifest.h). */
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "yamlout.h"
#include "lib/small_file.h"

#define HEADER_FMT "# xenvm image version: owner %s, created %lld, pushed as %s\n"

/* The files: mapping with a path in the store for each present role.  Returns its id or 0. */
static int files_node(yaml_document_t *doc, const struct imgs_file *files)
{
	int map = imgs_yaml_map(doc);

	for (int r = 0; map && r < IMGS_ROLES; r++) {
		char path[96], size[32];
		int f;

		if (!files[r].present)
			continue;
		snprintf(path, sizeof(path), "blobs/sha256/%s", files[r].sha256);
		snprintf(size, sizeof(size), "%" PRIu64, files[r].size);
		f = yaml_document_add_mapping(doc, NULL, YAML_FLOW_MAPPING_STYLE);
		if (!f || imgs_yaml_put(doc, f, "path", imgs_yaml_scalar(doc, path)) < 0 ||
		    imgs_yaml_put(doc, f, "sha256", imgs_yaml_scalar(doc, files[r].sha256)) < 0 ||
		    imgs_yaml_put(doc, f, "size", imgs_yaml_scalar(doc, size)) < 0 ||
		    imgs_yaml_put(doc, map, imgs_roles[r], f) < 0)
			return 0;
	}
	return map;
}

int imgs_manifest_build(const char *attrs, size_t attrs_len, const struct imgs_file *files,
                        bool allow_ok, const char *owner, const char *pushed_as, long long created,
                        char **text, struct xerr *err)
{
	yaml_parser_t parser;
	yaml_document_t in, out;
	bool have_in = false, have_out = false, have_parser = false;
	yaml_node_t *root = NULL;
	size_t budget = IMGS_YAML_NODES_MAX;
	char header[256];
	int top, images, version, fnode;
	int rc = -1;

	if (attrs_len > IMGS_ATTRS_MAX)
		return xerr_set(err, "attributes: %zu bytes (at most %d)", attrs_len,
		                IMGS_ATTRS_MAX);
	if (!yaml_parser_initialize(&parser))
		return xerr_set(err, "out of memory");
	have_parser = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)(attrs ? attrs : ""),
	                             attrs ? attrs_len : 0);
	if (!yaml_parser_load(&parser, &in)) {
		xerr_set(err, "attributes:%zu:%zu: %s", parser.problem_mark.line + 1,
		         parser.problem_mark.column + 1,
		         parser.problem ? parser.problem : "bad YAML");
		goto out;
	}
	have_in = true;
	root = yaml_document_get_root_node(&in);
	if (root && !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0) &&
	    root->type != YAML_MAPPING_NODE) {
		xerr_set(err, "attributes: expected a mapping of images.yaml(5) keys");
		goto out;
	}
	if (!yaml_document_initialize(&out, NULL, NULL, NULL, 1, 1)) {
		xerr_set(err, "out of memory");
		goto out;
	}
	have_out = true;
	top = imgs_yaml_map(&out);
	images = imgs_yaml_map(&out);
	version = imgs_yaml_map(&out);
	fnode = files_node(&out, files);
	if (!top || !images || !version || !fnode ||
	    imgs_yaml_put(&out, top, "images", images) < 0 ||
	    imgs_yaml_put(&out, images, "version", version) < 0 ||
	    imgs_yaml_put(&out, version, "files", fnode) < 0) {
		xerr_set(err, "out of memory");
		goto out;
	}
	if (root && root->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
		     p < root->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(&in, p->key);
			const char *key = k && k->type == YAML_SCALAR_NODE
			                      ? (const char *)k->data.scalar.value
			                      : NULL;
			int kc, vc;

			if (!key) {
				xerr_set(err, "attributes: keys must be plain names");
				goto out;
			}
			if (strcmp(key, "files") == 0) {
				xerr_set(err, "attributes: 'files' is set by the push itself");
				goto out;
			}
			if (strcmp(key, "allow") == 0 && !allow_ok) {
				xerr_set(
				    err,
				    "attributes: 'allow' is not for user images: share them with "
				    "`xenvm image share`");
				goto out;
			}
			kc = imgs_yaml_copy(&out, &in, k, 2, &budget);
			vc = kc ? imgs_yaml_copy(&out, &in, yaml_document_get_node(&in, p->value),
			                         2, &budget)
			        : 0;
			if (!vc || !yaml_document_append_mapping_pair(&out, version, kc, vc)) {
				xerr_set(
				    err,
				    "attributes: too deep or too many values (at most %d levels "
				    "and %d values)",
				    IMGS_YAML_DEPTH_MAX, IMGS_YAML_NODES_MAX);
				goto out;
			}
		}
	}
	snprintf(header, sizeof(header), HEADER_FMT, owner, created, pushed_as);
	have_out = false;
	if (imgs_yaml_emit(&out, header, text) < 0) {
		xerr_set(err, "attributes: cannot be written out as YAML");
		goto out;
	}
	rc = 0;
out:
	if (have_out)
		yaml_document_delete(&out);
	if (have_in)
		yaml_document_delete(&in);
	if (have_parser)
		yaml_parser_delete(&parser);
	return rc;
}

int imgs_manifest_check(const char *tmpdir, const char *text, struct xenvm_catalog **cat,
                        struct xerr *err)
{
	char path[IMGS_PATH_MAX];
	struct xerr perr = {""};
	int fd, rc = -1;
	const char *msg, *p;

	snprintf(path, sizeof(path), "%s/check.XXXXXX", tmpdir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return xerr_set(err, "%s: %s", path, strerror(errno));
	if (imgs_write_all(fd, text, strlen(text)) < 0) {
		xerr_set(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (xenvm_catalog_load(path, cat, &perr) < 0) {
		/* "<tmp>:L:C: images.version.memory.max: ..." -> "attributes: memory.max: ..." */
		msg = perr.msg;
		p = strstr(msg, "images.version.");
		xerr_set(err, "attributes: %s", p ? p + strlen("images.version.") : msg);
		goto out;
	}
	if ((*cat)->n_images != 1) {
		xenvm_catalog_free(*cat);
		*cat = NULL;
		xerr_set(err, "attributes: not one image");
		goto out;
	}
	rc = 0;
out:
	close(fd);
	unlink(path);
	return rc;
}

int imgs_manifest_read(const char *path, struct imgs_manifest *m, struct xerr *err)
{
	struct xenvm_catalog *cat = NULL;
	const struct xenvm_image *img;
	const struct xenvm_image_file *f[IMGS_ROLES];
	char *text = NULL;
	struct xerr perr = {""};
	int rc = -1;

	memset(m, 0, sizeof(*m));
	if (xenvm_read_small_file(path, 1 << 20, &text) < 0)
		return xerr_set(err, "%s: %s", path, strerror(errno));
	if (sscanf(text, "# xenvm image version: owner %32[^,], created %lld, pushed as %127s",
	           m->owner, &m->created, m->pushed_as) != 3) {
		errno = EINVAL;
		xerr_set(err, "%s: no manifest header", path);
		goto out;
	}
	if (xenvm_catalog_load(path, &cat, &perr) < 0) {
		xerr_set(err, "%s", perr.msg);
		goto out;
	}
	img = xenvm_catalog_find(cat, "version");
	if (!img) {
		errno = EINVAL;
		xerr_set(err, "%s: no image 'version'", path);
		goto out;
	}
	f[0] = &img->kernel;
	f[1] = &img->initrd;
	f[2] = &img->rootdisk;
	for (int r = 0; r < IMGS_ROLES; r++) {
		if (!f[r]->path)
			continue;
		m->files[r].present = true;
		m->files[r].size = f[r]->size;
		snprintf(m->files[r].sha256, sizeof(m->files[r].sha256), "%s", f[r]->sha256);
	}
	snprintf(m->digest_hex, sizeof(m->digest_hex), "%s", img->digest + 7);
	rc = 0;
out:
	xenvm_catalog_free(cat);
	free(text);
	return rc;
}
