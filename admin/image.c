/*
 * image.c - `xenvm image ...`: the image manager's client (xenvm(8), xenvm-imaged(8)).
 *
 * Files are opened and hashed here, as the user running the command, and streamed to the
 * manager, which checks every byte against the sha256 declared (so the manager never opens a
 * path a user names).  `import` pushes the images of an images.yaml of the old layout as site
 * images (what `make install-image` installs).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "image_cache.h"
#include "image_import.h"
#include "imgstore/client.h"
#include "imgstore/jobs.h"
#include "imgstore/yamlout.h"
#include "lib/catalog.h"
#include "lib/log.h"

/* munge.socket, for a manager reached as HOST:PORT (imgstore/remote.h) */
static const char *munge_sock;

static void usage(FILE *f)
{
	fprintf(f, "usage: xenvm image [--socket PATH|HOST:PORT] COMMAND\n"
	           "  list [--all]\n"
	           "  show NAME[:TAG]|sha256:DIGEST\n"
	           "  push [USER/]NAME[:TAG] --kernel FILE[:SHA256] --initrd FILE[:SHA256]\n"
	           "       [--rootdisk FILE[:SHA256]] [--attributes FILE.yaml]\n"
	           "  tag SOURCE [USER/]NAME:TAG\n"
	           "  rm [USER/]NAME[:TAG]\n"
	           "  share|unshare USER/NAME USER\n"
	           "  history [USER/]NAME\n"
	           "  gc | fsck\n"
	           "  job JOBID                which version a job is pinned to\n"
	           "  import SOURCE [--name NAME[:TAG]] [--base IMAGE] [--tls-verify=false]\n"
	           "                           a container image (docker://, oci:, oci-archive:,\n"
	           "                           docker-archive:) as your VM image\n"
	           "  import --kernel FILE [--initrd FILE] --rootdisk FILE [--cmdline ...]\n"
	           "                           a whole VM image with its own kernel\n"
	           "  import [IMAGES.YAML]     push an old-layout catalog's images as site images\n"
	           "  cache prune [--cache DIR] [--max SIZE]\n"
	           "                           empty your import cache (or trim it to SIZE)\n");
}

/* FILE[:SHA256] -> open fd, size, sha256 (the given one, checked by the manager). */
static int open_file(const char *spec, struct imgs_file *f, int *fd, struct xerr *err)
{
	char path[4096], *colon;

	snprintf(path, sizeof(path), "%s", spec);
	colon = strrchr(path, ':');
	if (colon && imgs_hex_valid(colon + 1))
		*colon = '\0';
	else
		colon = NULL;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return xerr_set(err, "%s: %s", path, strerror(errno));
	if (imgs_hash_fd(*fd, &f->size, f->sha256, err) < 0)
		return -1;
	if (f->size == 0)
		return xerr_set(err, "%s: empty file", path);
	if (colon)
		snprintf(f->sha256, sizeof(f->sha256), "%s", colon + 1); /* the manager checks it */
	f->present = true;
	return 0;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int c;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	while (m && (c = fgetc(f)) != EOF)
		fputc(c, m);
	if (m)
		fclose(m);
	fclose(f);
	return buf;
}

static int push(const char *sock, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"kernel", required_argument, NULL, 'k'},
	    {"initrd", required_argument, NULL, 'i'},
	    {"rootdisk", required_argument, NULL, 'r'},
	    {"attributes", required_argument, NULL, 'a'},
	    {NULL, 0, NULL, 0},
	};
	const char *spec[IMGS_ROLES] = {NULL, NULL, NULL}, *attrs_file = NULL;
	struct imgs_req r = {.op = "push"};
	struct imgs_push_body body = {.attrs = "", .fds = {-1, -1, -1}};
	struct xerr err = {""};
	char *attrs = NULL;
	int opt, rc = XA_EXIT_FAIL;

	while ((opt = getopt_long(argc, argv, "k:i:r:a:", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			spec[0] = optarg;
			break;
		case 'i':
			spec[1] = optarg;
			break;
		case 'r':
			spec[2] = optarg;
			break;
		case 'a':
			attrs_file = optarg;
			break;
		default:
			return XA_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !spec[0] || !spec[1]) {
		xerror("push: NAME, --kernel and --initrd are required");
		return XA_EXIT_USAGE;
	}
	snprintf(r.args[0], sizeof(r.args[0]), "%s", argv[optind]);
	r.nargs = 1;
	for (int i = 0; i < IMGS_ROLES; i++)
		if (spec[i] && open_file(spec[i], &r.files[i], &body.fds[i], &err) < 0) {
			xerror("push: %s", err.msg);
			goto out;
		}
	if (attrs_file) {
		attrs = read_all(attrs_file);
		if (!attrs) {
			xerror("push: %s: %s", attrs_file, strerror(errno));
			goto out;
		}
		body.attrs = attrs;
		r.attrs_len = strlen(attrs);
	}
	if (imgs_call_via(sock, munge_sock, &r, &body, stdout, &err) < 0) {
		xerror("%s", err.msg);
		goto out;
	}
	rc = XA_EXIT_OK;
out:
	for (int i = 0; i < IMGS_ROLES; i++)
		if (body.fds[i] >= 0)
			close(body.fds[i]);
	free(attrs);
	return rc;
}

/* The keys of an images.yaml entry other than files, as YAML text (free()), or NULL. */
static char *entry_attrs(yaml_document_t *doc, yaml_node_t *entry)
{
	yaml_document_t out;
	size_t budget = IMGS_YAML_NODES_MAX;
	char *text = NULL;
	int map;

	if (!yaml_document_initialize(&out, NULL, NULL, NULL, 1, 1))
		return NULL;
	map = imgs_yaml_map(&out);
	for (yaml_node_pair_t *p = entry->data.mapping.pairs.start;
	     map && p < entry->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		int kc, vc;

		if (k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, "files") == 0)
			continue;
		kc = imgs_yaml_copy(&out, doc, k, 0, &budget);
		vc = imgs_yaml_copy(&out, doc, yaml_document_get_node(doc, p->value), 0, &budget);
		if (!kc || !vc || !yaml_document_append_mapping_pair(&out, map, kc, vc))
			map = 0;
	}
	if (!map) {
		yaml_document_delete(&out);
		return NULL;
	}
	return imgs_yaml_emit(&out, NULL, &text) == 0 ? text : NULL;
}

/* Open a catalog file's path (relative to the store) as role i of r. */
static int import_file(const struct xenvm_config *cfg, const struct xenvm_image_file *f,
                       struct imgs_req *r, int i, int *fd, struct xerr *err)
{
	char path[4096];

	if (!f->path)
		return 0;
	if (f->path[0] == '/')
		snprintf(path, sizeof(path), "%s", f->path);
	else
		snprintf(path, sizeof(path), "%s/%s", cfg->imagecast.store, f->path);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return xerr_set(err, "%s: %s", path, strerror(errno));
	r->files[i].present = true;
	r->files[i].size = f->size;
	snprintf(r->files[i].sha256, sizeof(r->files[i].sha256), "%s", f->sha256);
	return 0;
}

static int import(const struct xenvm_config *cfg, const char *sock, const char *file)
{
	struct xenvm_catalog *cat = NULL;
	struct xerr err = {""};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *images = NULL;
	FILE *f = NULL;
	int failed = 0;

	if (xenvm_catalog_load(file, &cat, &err) < 0) {
		xerror("%s", err.msg);
		return XA_EXIT_CONFIG;
	}
	f = fopen(file, "r");
	if (!f || !yaml_parser_initialize(&parser)) {
		xerror("%s: %s", file, strerror(errno));
		xenvm_catalog_free(cat);
		return XA_EXIT_CONFIG;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		xerror("%s: YAML error", file);
		yaml_parser_delete(&parser);
		fclose(f);
		xenvm_catalog_free(cat);
		return XA_EXIT_CONFIG;
	}
	root = yaml_document_get_root_node(&doc);
	for (yaml_node_pair_t *p =
	         root && root->type == YAML_MAPPING_NODE ? root->data.mapping.pairs.start : NULL;
	     p && p < root->data.mapping.pairs.top; p++)
		images = yaml_document_get_node(&doc, p->value);
	for (yaml_node_pair_t *p = images && images->type == YAML_MAPPING_NODE
	                               ? images->data.mapping.pairs.start
	                               : NULL;
	     p && p < images->data.mapping.pairs.top; p++) {
		const char *name =
		    (const char *)yaml_document_get_node(&doc, p->key)->data.scalar.value;
		const struct xenvm_image *img = xenvm_catalog_find(cat, name);
		struct imgs_req r = {.op = "push", .nargs = 1};
		struct imgs_push_body body = {.attrs = NULL, .fds = {-1, -1, -1}};
		char *attrs = entry_attrs(&doc, yaml_document_get_node(&doc, p->value));

		snprintf(r.args[0], sizeof(r.args[0]), "%s:latest", name);
		err.msg[0] = '\0';
		if (!img || !attrs ||
		    import_file(cfg, &img->kernel, &r, 0, &body.fds[0], &err) < 0 ||
		    import_file(cfg, &img->initrd, &r, 1, &body.fds[1], &err) < 0 ||
		    import_file(cfg, &img->rootdisk, &r, 2, &body.fds[2], &err) < 0 ||
		    (body.attrs = attrs, r.attrs_len = strlen(attrs),
		     imgs_call_via(sock, munge_sock, &r, &body, stdout, &err) < 0)) {
			xerror("import %s: %s", name,
			       err.msg[0] ? err.msg : "cannot read the entry");
			failed++;
		}
		for (int i = 0; i < IMGS_ROLES; i++)
			if (body.fds[i] >= 0)
				close(body.fds[i]);
		free(attrs);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	xenvm_catalog_free(cat);
	return failed ? XA_EXIT_FAIL : XA_EXIT_OK;
}

static int job(const char *sock, const char *id)
{
	char hex[IMGS_HEX_LEN + 1], *end;
	struct imgs_req r = {.op = "show", .nargs = 1};
	struct xerr err = {""};
	unsigned long j = strtoul(id, &end, 10);
	int k;

	if (!*id || *end || j == 0 || j > UINT32_MAX) {
		xerror("job: '%s' is not a job id", id);
		return XA_EXIT_USAGE;
	}
	k = imgs_job_pin((uint32_t)j, hex, &err);
	if (k < 0) {
		xerror("%s", err.msg);
		return XA_EXIT_FAIL;
	}
	if (k == 0) {
		printf("job %lu: no image pinned (not a VM job, or submitted without the image "
		       "manager's pin)\n",
		       j);
		return XA_EXIT_NOTFOUND;
	}
	printf("job %lu runs sha256:%s\n", j, hex);
	snprintf(r.args[0], sizeof(r.args[0]), "sha256:%s", hex);
	if (imgs_call_via(sock, munge_sock, &r, NULL, stdout, &err) < 0)
		printf("(%s)\n", err.msg);
	return XA_EXIT_OK;
}

int xa_cmd_image(const struct xenvm_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"all", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *sock =
	    getenv("XENVM_IMAGED_SOCKET") ? getenv("XENVM_IMAGED_SOCKET") : cfg->image_store.socket;
	struct imgs_req r = {.op = ""};
	struct xerr err = {""};
	const char *cmd;
	int opt, nargs;

	munge_sock = cfg->munge.socket;
	/* "+": options before the verb; the verb's own (push) after it */
	while ((opt = getopt_long(argc, argv, "+s:ah", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'a':
			r.all = true;
			break;
		case 'h':
			usage(stdout);
			return XA_EXIT_OK;
		default:
			usage(stderr);
			return XA_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return XA_EXIT_USAGE;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "push") == 0) {
		int sub = optind;

		optind = 0;
		return push(sock, argc - sub, argv + sub);
	}
	if (strcmp(cmd, "import") == 0) {
		int sub = optind;

		optind = 0;
		if (image_import_is_vm(argc - sub, argv + sub))
			return image_import_vm(cfg, sock, argc - sub, argv + sub);
		if (argc - sub >= 2 && image_import_is_container_source(argv[sub + 1]))
			return image_import(cfg, sock, argc - sub, argv + sub);
		return import(cfg, sock, argc - sub >= 2 ? argv[sub + 1] : cfg->catalog);
	}
	if (strcmp(cmd, "cache") == 0) {
		int sub = optind;

		optind = 0;
		return image_cache_cmd(cfg, argc - sub, argv + sub);
	}
	if (strcmp(cmd, "job") == 0 && optind + 2 == argc)
		return job(sock, argv[optind + 1]);
	nargs = argc - optind - 1;
	if (strcmp(cmd, "list") == 0 && nargs == 1 && strcmp(argv[optind + 1], "--all") == 0) {
		r.all = true;
		nargs = 0;
	}
	if (nargs > IMGS_WIRE_ARGS || strlen(cmd) >= sizeof(r.op)) {
		usage(stderr);
		return XA_EXIT_USAGE;
	}
	strcpy(r.op, cmd);
	for (int i = 0; i < nargs; i++) {
		if (strlen(argv[optind + 1 + i]) >= IMGS_WIRE_ARG_MAX) {
			xerror("%s: argument too long", cmd);
			return XA_EXIT_USAGE;
		}
		strcpy(r.args[i], argv[optind + 1 + i]);
	}
	r.nargs = nargs;
	if (imgs_call_via(sock, munge_sock, &r, NULL, stdout, &err) < 0) {
		xerror("%s", err.msg);
		return XA_EXIT_FAIL;
	}
	return XA_EXIT_OK;
}
