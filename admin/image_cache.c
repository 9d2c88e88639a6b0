/* image_cache.c - see image_cache.h. */
#include "image_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "imgstore/client.h"
#include "lib/atomic_file.h"
#include "lib/log.h"
#include "lib/run.h"
#include "lib/units.h"
#include "lib/yamldoc.h"

#define HEX IMGS_HEX_LEN

int xa_cache_default_dir(char *buf, size_t len)
{
	const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");

	if (x && x[0] == '/')
		snprintf(buf, len, "%s/xenvm/import", x);
	else if (h && h[0] == '/')
		snprintf(buf, len, "%s/.cache/xenvm/import", h);
	else
		return -1;
	return 0;
}

int xa_cache_open(struct xa_cache *c, const char *dir, struct xerr *err)
{
	char path[2100];

	c->lock_fd = -1;
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	if (xenvm_mkdir_p(dir, 0700) < 0)
		return xerr_set(err, "%s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/lock", dir);
	c->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->lock_fd < 0)
		return xerr_set(err, "%s: %s", path, strerror(errno));
	while (flock(c->lock_fd, LOCK_SH) < 0)
		if (errno != EINTR)
			return xerr_set(err, "%s: lock: %s", path, strerror(errno));
	return 0;
}

void xa_cache_close(struct xa_cache *c)
{
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	c->lock_fd = -1;
}

void xa_cache_touch(struct xa_cache *c, const char *rel)
{
	char path[2400];

	snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
	if (strncmp(rel, "used/", 5) == 0) {
		char d[2100];
		int fd;

		snprintf(d, sizeof(d), "%s/used", c->dir);
		(void)mkdir(d, 0700);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			close(fd);
	}
	(void)utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW);
}

/* chmod -R u+rwX, rm -rf: umoci's rootless trees may hold read-only directories. */
static void rm_rf(const char *path)
{
	static char chmod_[] = "/bin/chmod", rm[] = "/bin/rm";
	char *a[] = {chmod_, "-R", "u+rwX", (char *)path, NULL};
	char *b[] = {rm, "-rf", (char *)path, NULL};
	struct xenvm_run_result *r = calloc(1, sizeof(*r));

	if (!r)
		return;
	(void)xenvm_run(a, NULL, 600000, r);
	(void)xenvm_run(b, NULL, 600000, r);
	free(r);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* What killed imports left: never trusted, removed when no import runs. */
static void sweep_temporaries(const struct xa_cache *c)
{
	static const char *const sub[] = {"", "/rootdisk", "/oci", NULL};

	for (int i = 0; sub[i]; i++) {
		char d[2200], p[2600];
		struct dirent *e;
		DIR *dh;

		snprintf(d, sizeof(d), "%s%s", c->dir, sub[i]);
		dh = opendir(d);
		while (dh && (e = readdir(dh))) {
			bool stale = false;

			if (i == 0)
				stale = strncmp(e->d_name, "unpack.", 7) == 0 ||
				        (strncmp(e->d_name, "vm-", 3) == 0 &&
				         ends_with(e->d_name, ".raw.tmp"));
			else if (i == 1)
				stale = strstr(e->d_name, ".tmp") != NULL;
			else
				stale = strncmp(e->d_name, "oci-put-blob", 12) == 0;
			if (!stale)
				continue;
			snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
			rm_rf(p);
		}
		if (dh)
			closedir(dh);
	}
}

struct entry {
	char kind[12];  /* ref, rootdisk, raw */
	char name[100]; /* tag, config hex, file name */
	char manifest[HEX + 1];
	struct timespec used;
	uint64_t bytes; /* rootdisk, raw */
	bool gone;
};

struct state {
	struct entry *e;
	size_t n;
	char (*keep)[HEX + 1]; /* blobs the remaining tags name */
	size_t nkeep, capkeep;
	bool unsure;       /* a manifest that did not parse: no blob is removed */
	bool index_unsure; /* index.json names something that is not a sha256 digest: same */
};

static int add_entry(struct state *s, const char *kind, const char *name, const struct stat *st)
{
	struct entry *more = realloc(s->e, (s->n + 1) * sizeof(*s->e));

	if (!more)
		return -1;
	s->e = more;
	memset(&s->e[s->n], 0, sizeof(s->e[0]));
	snprintf(s->e[s->n].kind, sizeof(s->e[0].kind), "%s", kind);
	snprintf(s->e[s->n].name, sizeof(s->e[0].name), "%s", name);
	if (st) {
		s->e[s->n].used = st->st_mtim;
		s->e[s->n].bytes = (uint64_t)st->st_size;
	}
	s->n++;
	return 0;
}

static const char *scalar(const struct ydoc *d, const yaml_node_t *m, const char *key)
{
	yaml_node_t *v = m && m->type == YAML_MAPPING_NODE ? ydoc_lookup(d, m, key, NULL) : NULL;

	return v && v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
}

static void keep_blob(struct state *s, const char *digest)
{
	if (!digest || strncmp(digest, "sha256:", 7) != 0 || !imgs_hex_valid(digest + 7)) {
		s->unsure = true;
		return;
	}
	if (s->nkeep == s->capkeep) {
		void *more = realloc(s->keep, (s->capkeep = s->capkeep ? 2 * s->capkeep : 64) *
		                                  sizeof(*s->keep));
		if (!more) {
			s->unsure = true;
			return;
		}
		s->keep = more;
	}
	snprintf(s->keep[s->nkeep++], HEX + 1, "%s", digest + 7);
}

/* A manifest's blobs (config, layers; an index's manifests, one level) into s->keep. */
static void keep_manifest(const struct xa_cache *c, struct state *s, const char *hex, int depth)
{
	char path[2400], digest[80];
	struct ydoc d = {0};
	struct xerr ignored = {""};
	yaml_node_t *root, *list;

	snprintf(digest, sizeof(digest), "sha256:%s", hex);
	keep_blob(s, digest);
	snprintf(path, sizeof(path), "%s/oci/blobs/sha256/%s", c->dir, hex);
	if (ydoc_load(&d, path, &ignored) < 0 || !(root = ydoc_root(&d)) ||
	    root->type != YAML_MAPPING_NODE) {
		s->unsure = true;
		goto out;
	}
	if (ydoc_lookup(&d, root, "config", NULL))
		keep_blob(s, scalar(&d, ydoc_lookup(&d, root, "config", NULL), "digest"));
	for (int k = 0; k < 2; k++) {
		list = ydoc_lookup(&d, root, k ? "manifests" : "layers", NULL);
		for (yaml_node_item_t *it = list && list->type == YAML_SEQUENCE_NODE
		                                ? list->data.sequence.items.start
		                                : NULL;
		     it && it < list->data.sequence.items.top; it++) {
			const char *dg = scalar(&d, ydoc_node(&d, *it), "digest");

			if (k && depth == 0 && dg && strncmp(dg, "sha256:", 7) == 0 &&
			    imgs_hex_valid(dg + 7))
				keep_manifest(c, s, dg + 7, 1);
			else
				keep_blob(s, dg);
		}
	}
out:
	ydoc_free(&d);
}

/* index.json's tags as entries; -1 when it exists but does not parse. */
static int read_refs(const struct xa_cache *c, struct state *s)
{
	char path[2400];
	struct ydoc d = {0};
	struct xerr ignored = {""};
	yaml_node_t *root, *list;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/oci/index.json", c->dir);
	if (access(path, F_OK) < 0)
		return 0;
	if (ydoc_load(&d, path, &ignored) < 0 || !(root = ydoc_root(&d)) ||
	    root->type != YAML_MAPPING_NODE)
		goto out;
	list = ydoc_lookup(&d, root, "manifests", NULL);
	for (yaml_node_item_t *it =
	         list && list->type == YAML_SEQUENCE_NODE ? list->data.sequence.items.start : NULL;
	     it && it < list->data.sequence.items.top; it++) {
		yaml_node_t *m = ydoc_node(&d, *it);
		const char *dg = scalar(&d, m, "digest");
		const char *tag = scalar(&d,
		                         m && m->type == YAML_MAPPING_NODE
		                             ? ydoc_lookup(&d, m, "annotations", NULL)
		                             : NULL,
		                         "org.opencontainers.image.ref.name");
		char used[2400];
		struct stat st;

		bool ours;

		if (!dg || strncmp(dg, "sha256:", 7) != 0 || !imgs_hex_valid(dg + 7)) {
			s->index_unsure = true;
			continue;
		}
		/* a tag we did not write (no src- name) is kept, with its blobs */
		ours = tag && strncmp(tag, "src-", 4) == 0 && strlen(tag) < sizeof(s->e[0].name) &&
		       !strchr(tag, '/');
		if (add_entry(s, ours ? "ref" : "pinned", ours ? tag : "", NULL) < 0)
			goto out;
		if (!ours) {
			snprintf(s->e[s->n - 1].manifest, HEX + 1, "%s", dg + 7);
			continue;
		}
		snprintf(s->e[s->n - 1].manifest, HEX + 1, "%s", dg + 7);
		snprintf(used, sizeof(used), "%s/used/%s", c->dir, tag);
		if (stat(used, &st) == 0)
			s->e[s->n - 1].used = st.st_mtim;
	}
	rc = 0;
out:
	ydoc_free(&d);
	return rc;
}

/* used/<tag> stamps of tags index.json no longer has. */
static void sweep_stamps(const struct xa_cache *c, const struct state *s)
{
	char d[2200], p[2600];
	struct dirent *e;
	DIR *dh;

	snprintf(d, sizeof(d), "%s/used", c->dir);
	dh = opendir(d);
	while (dh && (e = readdir(dh))) {
		bool known = e->d_name[0] == '.';

		for (size_t i = 0; i < s->n && !known; i++)
			known = strcmp(s->e[i].kind, "ref") == 0 &&
			        strcmp(s->e[i].name, e->d_name) == 0;
		if (!known) {
			snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
			unlink(p);
		}
	}
	if (dh)
		closedir(dh);
}

static int cmp_hex(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Blobs no remaining tag names, removed; their bytes. */
static uint64_t sweep_blobs(const struct xa_cache *c, struct state *s)
{
	char d[2200], p[2600];
	struct dirent *e;
	uint64_t freed = 0;
	DIR *dh;

	s->nkeep = 0;
	s->unsure = false;
	for (size_t i = 0; i < s->n; i++)
		if (!s->e[i].gone && s->e[i].manifest[0])
			keep_manifest(c, s, s->e[i].manifest, 0);
	if (s->unsure || s->index_unsure)
		return 0;
	if (s->nkeep)
		qsort(s->keep, s->nkeep, sizeof(*s->keep), cmp_hex);
	snprintf(d, sizeof(d), "%s/oci/blobs/sha256", c->dir);
	dh = opendir(d);
	while (dh && (e = readdir(dh))) {
		struct stat st;

		if (e->d_name[0] == '.' ||
		    (s->nkeep && bsearch(e->d_name, s->keep, s->nkeep, sizeof(*s->keep), cmp_hex)))
			continue;
		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		if (lstat(p, &st) == 0 && unlink(p) == 0)
			freed += (uint64_t)st.st_size;
	}
	if (dh)
		closedir(dh);
	return freed;
}

static uint64_t du_total;
static int du_visit(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F)
		du_total += (uint64_t)st->st_size;
	return 0;
}

static int cmp_used(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	if (x->used.tv_nsec != y->used.tv_nsec)
		return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool kept(const struct entry *e, const char *const *keep)
{
	for (int i = 0; keep && keep[i]; i++) {
		size_t k = strlen(e->kind);

		if (strncmp(keep[i], e->kind, k) == 0 && keep[i][k] == ' ' &&
		    strcmp(keep[i] + k + 1, e->name) == 0)
			return true;
	}
	return false;
}

/* umoci remove --image <oci>:<tag>: the tag out of index.json (umoci writes it). */
static int untag(const struct xa_cache *c, const char *tag, struct xerr *err)
{
	static const char *const dirs[] = {"/usr/bin", "/usr/sbin", "/bin", NULL};
	char umoci[64] = "", image[2300], last[600];
	struct xenvm_run_result *r;
	int rc = -1;

	for (int i = 0; dirs[i] && !umoci[0]; i++) {
		snprintf(umoci, sizeof(umoci), "%s/umoci", dirs[i]);
		if (access(umoci, X_OK) < 0)
			umoci[0] = '\0';
	}
	if (!umoci[0])
		return xerr_set(err, "umoci is not installed (scripts/install-deps)");
	snprintf(image, sizeof(image), "%s/oci:%s", c->dir, tag);
	{
		char *a[] = {umoci, "remove", "--image", image, NULL};

		if (!(r = calloc(1, sizeof(*r))))
			return xerr_set(err, "out of memory");
		if (xenvm_run(a, NULL, 600000, r) < 0)
			xerr_set(err, "cannot run %s: %s", umoci, strerror(errno));
		else if (r->timed_out || !WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
			xenvm_last_line(r->err[0] ? r->err : r->out, last, sizeof(last));
			xerr_set(err, "umoci remove %s failed: %s", image, last);
		} else
			rc = 0;
		free(r);
	}
	return rc;
}

static void collect_files(const struct xa_cache *c, struct state *s)
{
	char d[2200], p[2600], yaml[2600];
	struct dirent *e;
	DIR *dh;

	snprintf(d, sizeof(d), "%s/rootdisk", c->dir);
	dh = opendir(d);
	while (dh && (e = readdir(dh))) {
		struct stat st, ys;
		char hex[HEX + 1];

		if (strlen(e->d_name) != HEX + 5 || !ends_with(e->d_name, ".sqfs"))
			continue;
		snprintf(hex, sizeof(hex), "%.*s", HEX, e->d_name);
		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		snprintf(yaml, sizeof(yaml), "%s/%s.yaml", d, hex);
		if (lstat(p, &st) < 0 || add_entry(s, "rootdisk", hex, &st) < 0)
			continue;
		if (lstat(yaml, &ys) == 0)
			s->e[s->n - 1].bytes += (uint64_t)ys.st_size;
	}
	/* a .yaml whose .sqfs is gone (a removal cut short): not an entry, removed */
	if (dh)
		rewinddir(dh);
	while (dh && (e = readdir(dh))) {
		if (!ends_with(e->d_name, ".yaml"))
			continue;
		snprintf(p, sizeof(p), "%s/%.*s.sqfs", d, (int)(strlen(e->d_name) - 5), e->d_name);
		if (access(p, F_OK) < 0) {
			snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
			unlink(p);
		}
	}
	if (dh)
		closedir(dh);
	dh = opendir(c->dir);
	while (dh && (e = readdir(dh))) {
		struct stat st;

		if (strncmp(e->d_name, "vm-", 3) != 0 || !ends_with(e->d_name, ".raw"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", c->dir, e->d_name);
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
			(void)add_entry(s, "raw", e->d_name, &st);
	}
	if (dh)
		closedir(dh);
}

/* Remove one entry; the bytes it freed. */
static uint64_t evict(const struct xa_cache *c, struct state *s, struct entry *e, struct xerr *err)
{
	char p[2600];

	e->gone = true;
	if (strcmp(e->kind, "rootdisk") == 0) {
		snprintf(p, sizeof(p), "%s/rootdisk/%s.sqfs", c->dir, e->name);
		unlink(p); /* the commit point first: a cut removal leaves nothing trusted */
		snprintf(p, sizeof(p), "%s/rootdisk/%s.yaml", c->dir, e->name);
		unlink(p);
		return e->bytes;
	}
	if (strcmp(e->kind, "raw") == 0) {
		snprintf(p, sizeof(p), "%s/%s", c->dir, e->name);
		unlink(p);
		return e->bytes;
	}
	if (untag(c, e->name, err) < 0) {
		e->gone = false;
		return 0;
	}
	snprintf(p, sizeof(p), "%s/used/%s", c->dir, e->name);
	unlink(p);
	return sweep_blobs(c, s);
}

int xa_cache_trim(struct xa_cache *c, uint64_t max, const char *const *keep, bool log, bool *busy,
                  uint64_t *left, struct xerr *err)
{
	struct state s = {0};
	int removed = 0, rc = -1;

	*busy = false;
	if (flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		/* another import is in the cache: it trims when it ends */
		*busy = errno == EWOULDBLOCK;
		if (*busy) {
			rc = 0;
			goto out;
		}
		xerr_set(err, "%s/lock: %s", c->dir, strerror(errno));
		goto out;
	}
	sweep_temporaries(c);
	if (read_refs(c, &s) < 0) {
		xerr_set(err, "%s/oci/index.json does not parse: nothing removed", c->dir);
		goto out;
	}
	sweep_stamps(c, &s);
	collect_files(c, &s);
	(void)sweep_blobs(c, &s); /* what no tag names: killed copies, removals cut short */
	du_total = 0;
	if (nftw(c->dir, du_visit, 32, FTW_PHYS | FTW_MOUNT) < 0) {
		xerr_set(err, "%s: %s", c->dir, strerror(errno));
		goto out;
	}
	if (s.n)
		qsort(s.e, s.n, sizeof(*s.e), cmp_used);
	for (size_t i = 0; i < s.n && du_total > max; i++) {
		uint64_t freed;

		if (kept(&s.e[i], keep) || strcmp(s.e[i].kind, "pinned") == 0)
			continue;
		freed = evict(c, &s, &s.e[i], err);
		if (!s.e[i].gone)
			goto out;
		du_total -= freed < du_total ? freed : du_total;
		removed++;
		if (log)
			fprintf(stderr, "import cache: removed %s %s (%.1f MB)\n", s.e[i].kind,
			        s.e[i].name, (double)freed / 1e6);
	}
	if (left)
		*left = du_total;
	rc = removed;
out:
	free(s.e);
	free(s.keep);
	flock(c->lock_fd, LOCK_UN);
	return rc;
}

static void usage_cache(void)
{
	fprintf(stderr, "usage: xenvm image cache prune [--cache DIR] [--max SIZE]\n"
	                "  removes the import cache's entries, least recently used first, until\n"
	                "  it holds at most SIZE (default 0: all of it)\n");
}

int image_cache_cmd(const struct xenvm_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"cache", required_argument, NULL, 'c'},
	    {"max", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	struct xa_cache c = {.lock_fd = -1};
	struct xerr err = {""};
	char dir[2048];
	uint64_t max = 0, left = 0;
	const char *cachedir = NULL;
	bool busy = false;
	int opt, n;

	(void)cfg;
	if (argc < 2 || strcmp(argv[1], "prune") != 0) {
		usage_cache();
		return XA_EXIT_USAGE;
	}
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "c:m:", opts, NULL)) != -1) {
		if (opt == 'c')
			cachedir = optarg;
		else if (opt == 'm' && xenvm_parse_size(optarg, &max) == 0)
			continue;
		else {
			if (opt == 'm')
				xerror("cache prune: --max %s: not a size (e.g. 2G)", optarg);
			usage_cache();
			return XA_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage_cache();
		return XA_EXIT_USAGE;
	}
	if (cachedir)
		snprintf(dir, sizeof(dir), "%s", cachedir);
	else if (xa_cache_default_dir(dir, sizeof(dir)) < 0) {
		xerror("cache prune: no cache directory (set HOME, XDG_CACHE_HOME or --cache)");
		return XA_EXIT_USAGE;
	}
	if (access(dir, F_OK) < 0) {
		fprintf(stderr, "cache prune: %s: no cache\n", dir);
		return XA_EXIT_OK;
	}
	if (xa_cache_open(&c, dir, &err) < 0 ||
	    (n = xa_cache_trim(&c, max, NULL, true, &busy, &left, &err)) < 0) {
		xerror("cache prune: %s", err.msg);
		xa_cache_close(&c);
		return XA_EXIT_FAIL;
	}
	xa_cache_close(&c);
	if (busy) {
		xerror("cache prune: %s: an import is using the cache; nothing removed (try again "
		       "when it has finished)",
		       dir);
		return XA_EXIT_FAIL;
	}
	fprintf(stderr, "cache prune: %s: %d entries removed, %.1f MB left\n", dir, n,
	        (double)left / 1e6);
	return XA_EXIT_OK;
}
