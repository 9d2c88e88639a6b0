/* tags.c - tags, their history, and the share lists of user images (see store.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/atomic_file.h"
#include "store.h"
#include "util.h"
#include "lib/small_file.h"

/* "<dir>/<what>/<ns>/<name>[/<tag>]" into buf; -1 when too long or a name is invalid. */
static int ns_path(const struct imgs_store *st, const char *what, const struct imgs_ns *ns,
                   const char *name, const char *tag, char *buf, size_t len)
{
	char d[64];
	int n;

	if ((ns->user[0] && !imgs_user_valid(ns->user)) || !imgs_name_valid(name) ||
	    (tag && !imgs_name_valid(tag))) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(buf, len, "%s/%s/%s/%s%s%s", st->dir, what, imgs_ns_dir(ns, d, sizeof(d)),
	             name, tag ? "/" : "", tag ? tag : "");
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int imgs_tag_get(const struct imgs_store *st, const struct imgs_ns *ns, const char *name,
                 const char *tag, char hex[IMGS_HEX_LEN + 1], struct xerr *err)
{
	char path[IMGS_PATH_MAX], *text = NULL;
	int rc = -1;

	if (ns_path(st, "tags", ns, name, tag, path, sizeof(path)) < 0)
		return xerr_set(err, "invalid image name or tag '%.64s:%.64s'", name, tag);
	if (xenvm_read_small_file(path, 256, &text) < 0)
		return errno == ENOENT || errno == ENOTDIR
		           ? 0
		           : xerr_set(err, "%s: %s", path, strerror(errno));
	if (strncmp(text, "sha256:", 7) != 0 || strlen(text) < 7 + IMGS_HEX_LEN ||
	    (memcpy(hex, text + 7, IMGS_HEX_LEN), hex[IMGS_HEX_LEN] = '\0', !imgs_hex_valid(hex))) {
		xerr_set(err, "%s: not a digest", path);
		goto out;
	}
	rc = 1;
out:
	free(text);
	return rc;
}

/* One history line: "<time> <tag> <sha256:hex|-> <by>". */
static void history_add(struct imgs_store *st, const struct imgs_ns *ns, const char *name,
                        const char *tag, const char *hex, const char *by)
{
	char path[IMGS_PATH_MAX], dir[IMGS_PATH_MAX], line[256], d[64];
	int fd, n;

	snprintf(dir, sizeof(dir), "%s/history/%s", st->dir, imgs_ns_dir(ns, d, sizeof(d)));
	if (ns_path(st, "history", ns, name, NULL, path, sizeof(path)) < 0 ||
	    xenvm_mkdir_p(dir, 0755) < 0)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%lld %s %s%s %s\n", (long long)time(NULL), tag,
	             hex ? "sha256:" : "-", hex ? hex : "", by);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)imgs_write_all(fd, line, (size_t)n);
	(void)fsync(fd);
	close(fd);
}

int imgs_tag_set(struct imgs_store *st, const struct imgs_ns *ns, const char *name, const char *tag,
                 const char *hex, const char *by, struct xerr *err)
{
	char path[IMGS_PATH_MAX], dir[IMGS_PATH_MAX], old[IMGS_HEX_LEN + 1], vpath[IMGS_PATH_MAX],
	    text[80];
	int had;

	if (!imgs_hex_valid(hex))
		return xerr_set(err, "invalid digest");
	if (!imgs_version_path(st, ns, hex, vpath, sizeof(vpath)) || access(vpath, F_OK) < 0)
		return xerr_set(err, "version sha256:%s is not in the store", hex);
	if (ns_path(st, "tags", ns, name, NULL, dir, sizeof(dir)) < 0 ||
	    ns_path(st, "tags", ns, name, tag, path, sizeof(path)) < 0)
		return xerr_set(err, "invalid image name or tag '%.64s:%.64s'", name, tag);
	had = imgs_tag_get(st, ns, name, tag, old, err);
	if (had < 0)
		return -1;
	if (xenvm_mkdir_p(dir, 0755) < 0)
		return xerr_set(err, "%s: %s", dir, strerror(errno));
	snprintf(text, sizeof(text), "sha256:%s\n", hex);
	if (xenvm_write_file_atomic(path, text, strlen(text), 0644, (uid_t)-1, (gid_t)-1) < 0)
		return xerr_set(err, "%s: %s", path, strerror(errno));
	imgs_step();
	if (had == 1 && strcmp(old, hex) != 0)
		imgs_version_touch(st, ns, old);
	history_add(st, ns, name, tag, hex, by);
	return 0;
}

int imgs_tag_remove(struct imgs_store *st, const struct imgs_ns *ns, const char *name,
                    const char *tag, const char *by, struct xerr *err)
{
	char path[IMGS_PATH_MAX], dir[IMGS_PATH_MAX], old[IMGS_HEX_LEN + 1];
	int had;

	if (ns_path(st, "tags", ns, name, tag, path, sizeof(path)) < 0 ||
	    ns_path(st, "tags", ns, name, NULL, dir, sizeof(dir)) < 0)
		return xerr_set(err, "invalid image name or tag '%.64s:%.64s'", name, tag);
	had = imgs_tag_get(st, ns, name, tag, old, err);
	if (had <= 0)
		return had;
	if (unlink(path) < 0)
		return xerr_set(err, "%s: %s", path, strerror(errno));
	(void)imgs_fsync_dir(path);
	(void)rmdir(dir); /* the name's last tag: the name goes too (ENOTEMPTY otherwise) */
	imgs_step();
	imgs_version_touch(st, ns, old);
	history_add(st, ns, name, tag, NULL, by);
	return 1;
}

static int tag_cmp(const void *a, const void *b)
{
	const struct imgs_tag *x = a, *y = b;
	int c = strcmp(x->ns.user, y->ns.user);

	if (!c)
		c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->tag, y->tag);
}

/* The tags of one namespace directory. */
static int tags_in(const struct imgs_store *st, const struct imgs_ns *ns, struct imgs_tag **v,
                   size_t *n, size_t *cap, struct xerr *err)
{
	char dir[IMGS_PATH_MAX], d[64];
	struct dirent *e, *t;
	DIR *dh, *th;

	snprintf(dir, sizeof(dir), "%s/tags/%s", st->dir, imgs_ns_dir(ns, d, sizeof(d)));
	dh = opendir(dir);
	if (!dh)
		return errno == ENOENT ? 0 : xerr_set(err, "%s: %s", dir, strerror(errno));
	while ((e = readdir(dh))) {
		char sub[IMGS_PATH_MAX];

		if (!imgs_name_valid(e->d_name))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >= (int)sizeof(sub))
			continue;
		th = opendir(sub);
		if (!th)
			continue;
		while ((t = readdir(th))) {
			struct imgs_tag tg;
			struct xerr ignored;

			if (!imgs_name_valid(t->d_name))
				continue;
			tg.ns = *ns;
			snprintf(tg.name, sizeof(tg.name), "%.40s", e->d_name);
			snprintf(tg.tag, sizeof(tg.tag), "%.40s", t->d_name);
			if (imgs_tag_get(st, ns, tg.name, tg.tag, tg.hex, &ignored) != 1)
				continue;
			if (*n == *cap) {
				size_t nc = *cap ? *cap * 2 : 16;
				struct imgs_tag *nv = realloc(*v, nc * sizeof(**v));

				if (!nv) {
					closedir(th);
					closedir(dh);
					return xerr_set(err, "out of memory");
				}
				*v = nv;
				*cap = nc;
			}
			(*v)[(*n)++] = tg;
		}
		closedir(th);
	}
	closedir(dh);
	return 0;
}

struct tags_acc {
	struct imgs_tag *v;
	size_t *n, cap;
};

static int tags_of_ns(const struct imgs_store *st, const struct imgs_ns *ns, void *ctx,
                      struct xerr *err)
{
	struct tags_acc *a = ctx;

	return tags_in(st, ns, &a->v, a->n, &a->cap, err);
}

int imgs_tags(const struct imgs_store *st, struct imgs_tag **out, size_t *n, struct xerr *err)
{
	struct tags_acc a = {NULL, n, 0};

	*n = 0;
	if (imgs_each_ns(st, "tags", tags_of_ns, &a, err) < 0) {
		free(a.v);
		*n = 0;
		return -1;
	}
	if (*n)
		qsort(a.v, *n, sizeof(*a.v), tag_cmp);
	*out = a.v;
	return 0;
}

int imgs_history(const struct imgs_store *st, const struct imgs_ns *ns, const char *name,
                 char **text, struct xerr *err)
{
	char path[IMGS_PATH_MAX];

	if (ns_path(st, "history", ns, name, NULL, path, sizeof(path)) < 0)
		return xerr_set(err, "invalid image name '%.64s'", name);
	if (xenvm_read_small_file(path, 16 << 20, text) < 0) {
		if (errno == ENOENT) {
			*text = strdup("");
			return *text ? 0 : xerr_set(err, "out of memory");
		}
		return xerr_set(err, "%s: %s", path, strerror(errno));
	}
	return 0;
}

/* ------------------------------------------------------------------ shares */

int imgs_shares_get(const struct imgs_store *st, const struct imgs_ns *ns, const char *name,
                    char ***users, size_t *n, struct xerr *err)
{
	char path[IMGS_PATH_MAX], *text = NULL, *save = NULL;
	char **v = NULL;

	*users = NULL;
	*n = 0;
	if (!ns->user[0])
		return 0;
	if (ns_path(st, "shares", ns, name, NULL, path, sizeof(path)) < 0)
		return xerr_set(err, "invalid image name '%.64s'", name);
	if (xenvm_read_small_file(path, 1 << 20, &text) < 0)
		return errno == ENOENT ? 0 : xerr_set(err, "%s: %s", path, strerror(errno));
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char **nv;

		if (!imgs_user_valid(l))
			continue;
		nv = realloc(v, (*n + 2) * sizeof(*v));
		if (!nv || !(nv[*n] = strdup(l))) {
			if (nv)
				v = nv;
			for (size_t i = 0; i < *n; i++)
				free(v[i]);
			free(v);
			free(text);
			*n = 0;
			return xerr_set(err, "out of memory");
		}
		v = nv;
		v[++*n] = NULL;
	}
	free(text);
	*users = v;
	return 0;
}

int imgs_shares_update(struct imgs_store *st, const struct imgs_ns *ns, const char *name,
                       const char *user, bool add, struct xerr *err)
{
	char path[IMGS_PATH_MAX], dir[IMGS_PATH_MAX], d[64];
	char **users = NULL;
	size_t n = 0, len = 0;
	char *text = NULL;
	int rc = -1;

	if (!ns->user[0])
		return xerr_set(err, "site images are shared through their 'allow' attribute");
	if (!imgs_user_valid(user))
		return xerr_set(err, "'%.64s' is not a user name", user);
	if (ns_path(st, "shares", ns, name, NULL, path, sizeof(path)) < 0)
		return xerr_set(err, "invalid image name '%.64s'", name);
	if (imgs_shares_get(st, ns, name, &users, &n, err) < 0)
		return -1;
	text = calloc(n + 1, IMGS_USER_MAX + 2);
	if (!text) {
		xerr_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(users[i], user) != 0)
			len += (size_t)sprintf(text + len, "%s\n", users[i]);
	if (add)
		len += (size_t)sprintf(text + len, "%s\n", user);
	snprintf(dir, sizeof(dir), "%s/shares/%s", st->dir, imgs_ns_dir(ns, d, sizeof(d)));
	if (xenvm_mkdir_p(dir, 0755) < 0 ||
	    xenvm_write_file_atomic(path, text, len, 0644, (uid_t)-1, (gid_t)-1) < 0) {
		xerr_set(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	imgs_step();
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(users[i]);
	free(users);
	free(text);
	return rc;
}
