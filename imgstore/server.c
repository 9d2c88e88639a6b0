/* server.c - the image manager's requests other than push (see server.h, wire.h). */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"
#include "lib/imageref.h"
#include "util.h"
#include "lib/small_file.h"

int imgs_parse_ref(const char *s, struct imgs_ns *ns, char *name, char *tag, struct xerr *err)
{
	struct xenvm_image_ref r;

	if (xenvm_image_ref_parse(s, &r) < 0 || (r.ns[0] && !imgs_user_valid(r.ns)) ||
	    !imgs_name_valid(r.name) || (r.tag[0] && !imgs_name_valid(r.tag)))
		return xerr_set(err,
		                "'%.80s' is not an image reference: [USER/]NAME[:TAG], names "
		                "of lowercase letters, digits, '.', '_', '-' (at most %d, "
		                "64 in all)",
		                s, IMGS_NAME_MAX);
	snprintf(ns->user, sizeof(ns->user), "%.32s", r.ns);
	strcpy(name, r.name);
	strcpy(tag, r.tag);
	return 0;
}

/* sha256:<hex> or <hex> into hex.  True when s is a digest. */
static bool parse_digest(const char *s, char *hex)
{
	if (strncmp(s, "sha256:", 7) == 0)
		s += 7;
	if (!imgs_hex_valid(s))
		return false;
	strcpy(hex, s);
	return true;
}

static void fmt_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", t);
}

static int do_list(const struct imgs_store *st, const struct imgs_client *c,
                   const struct imgs_req *r, FILE *out, struct xerr *err)
{
	struct imgs_tag *t = NULL;
	size_t n = 0;

	if (r->all && !c->admin)
		return xerr_set(err,
		                "list --all is for admins; you see the site's images, yours and "
		                "those shared with you");
	if (imgs_tags(st, &t, &n, err) < 0)
		return -1;
	fprintf(out, "%-40s %-19s %12s %s\n", "IMAGE", "DIGEST", "BYTES", "PUSHED");
	for (size_t i = 0; i < n; i++) {
		struct imgs_version_info vi;
		struct xerr ignored;
		char pre[64], ref[160], when[32];

		if (!imgs_may_see(st, c, &t[i].ns, t[i].name))
			continue;
		if (!r->all && c->admin && t[i].ns.user[0] && strcmp(t[i].ns.user, c->user) != 0)
			continue; /* an admin's plain list looks like anyone's */
		if (imgs_version_info(st, &t[i].ns, t[i].hex, &vi, &ignored) < 0)
			continue;
		imgs_ns_prefix(&t[i].ns, pre, sizeof(pre));
		snprintf(ref, sizeof(ref), "%s%s:%s", pre, t[i].name, t[i].tag);
		fmt_time(vi.created, when, sizeof(when));
		fprintf(out, "%-40s sha256:%.12s %12" PRIu64 " %s by %s\n", ref, t[i].hex, vi.bytes,
		        when, vi.owner);
	}
	free(t);
	return 0;
}

/* Resolve a reference or digest the client may see to (ns, hex).  0, or -1 with err. */
static int resolve(const struct imgs_store *st, const struct imgs_client *c, const char *arg,
                   struct imgs_ns *ns, char *hex, struct xerr *err)
{
	char name[IMGS_NAME_MAX + 1], tag[IMGS_NAME_MAX + 1];

	if (parse_digest(arg, hex)) {
		struct imgs_version_info *v = NULL;
		size_t n = 0;
		bool found = false;

		if (imgs_versions(st, &v, &n, err) < 0)
			return -1;
		for (size_t i = 0; i < n && !found; i++) {
			if (strcmp(v[i].hex, hex) != 0)
				continue;
			/* a digest is visible through a version the client may see */
			if (!v[i].ns.user[0] || c->admin || strcmp(v[i].ns.user, c->user) == 0) {
				*ns = v[i].ns;
				found = true;
			}
		}
		free(v);
		return found ? 0 : xerr_set(err, "no version sha256:%.64s that you can see", hex);
	}
	if (imgs_parse_ref(arg, ns, name, tag, err) < 0)
		return -1;
	if (!tag[0])
		strcpy(tag, "latest");
	if (!imgs_may_see(st, c, ns, name) || imgs_tag_get(st, ns, name, tag, hex, err) != 1)
		return xerr_set(err, "no image %.80s%s that you can see", arg,
		                strchr(arg, ':') ? "" : " (tag latest)");
	return 0;
}

static int do_show(const struct imgs_store *st, const struct imgs_client *c,
                   const struct imgs_req *r, FILE *out, struct xerr *err)
{
	struct imgs_ns ns;
	char hex[IMGS_HEX_LEN + 1], path[IMGS_PATH_MAX], *text = NULL;

	if (r->nargs != 1)
		return xerr_set(err, "show: one image or digest expected");
	if (resolve(st, c, r->args[0], &ns, hex, err) < 0)
		return -1;
	if (!imgs_version_path(st, &ns, hex, path, sizeof(path)) ||
	    xenvm_read_small_file(path, 1 << 20, &text) < 0)
		return xerr_set(err, "version sha256:%s: %s", hex, strerror(errno));
	fprintf(out, "digest: sha256:%s\nnamespace: %s\n%s", hex, ns.user[0] ? ns.user : "(site)",
	        text);
	free(text);
	return 0;
}

static int do_tag(const struct xenvm_config *cfg, struct imgs_store *st,
                  const struct imgs_client *c, const struct imgs_req *r, FILE *out,
                  struct xerr *err)
{
	struct imgs_ns src_ns, ns;
	char hex[IMGS_HEX_LEN + 1], name[IMGS_NAME_MAX + 1], tag[IMGS_NAME_MAX + 1];

	if (r->nargs != 2)
		return xerr_set(err, "tag: SOURCE (image or digest) and TARGET NAME:TAG expected");
	if (resolve(st, c, r->args[0], &src_ns, hex, err) < 0 ||
	    imgs_parse_ref(r->args[1], &ns, name, tag, err) < 0 ||
	    imgs_may_write(cfg, c, &ns, false, err) < 0)
		return -1;
	if (!tag[0])
		strcpy(tag, "latest");
	if (strcmp(src_ns.user, ns.user) != 0)
		return xerr_set(err,
		                "tag: %s and %s are in different namespaces: push the files "
		                "again into the target's",
		                r->args[0], r->args[1]);
	if (imgs_tag_set(st, &ns, name, tag, hex, c->user, err) < 0 ||
	    imgs_catalog_write(st, err) < 0)
		return -1;
	fprintf(out, "tagged %s -> sha256:%s\n", r->args[1], hex);
	return 0;
}

static int do_rm(const struct xenvm_config *cfg, struct imgs_store *st, const struct imgs_client *c,
                 const struct imgs_req *r, FILE *out, struct xerr *err)
{
	struct imgs_ns ns;
	char name[IMGS_NAME_MAX + 1], tag[IMGS_NAME_MAX + 1];
	struct imgs_tag *t = NULL;
	size_t n = 0;
	int removed = 0;

	if (r->nargs != 1)
		return xerr_set(err, "rm: one NAME or NAME:TAG expected");
	if (imgs_parse_ref(r->args[0], &ns, name, tag, err) < 0)
		return -1;
	if (!imgs_may_see(st, c, &ns, name))
		return xerr_set(err, "no image %s that you can see", r->args[0]);
	if (imgs_may_write(cfg, c, &ns, false, err) < 0 || imgs_tags(st, &t, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].ns.user, ns.user) != 0 || strcmp(t[i].name, name) != 0 ||
		    (tag[0] && strcmp(t[i].tag, tag) != 0))
			continue;
		if (imgs_tag_remove(st, &ns, name, t[i].tag, c->user, err) < 0) {
			free(t);
			return -1;
		}
		fprintf(out, "removed tag %s:%s (sha256:%s stays until collected)\n", name,
		        t[i].tag, t[i].hex);
		removed++;
	}
	free(t);
	if (!removed)
		return xerr_set(err, "no image %s", r->args[0]);
	return imgs_catalog_write(st, err);
}

static FILE *report_to;
static void report_line(const char *line)
{
	if (report_to)
		fprintf(report_to, "%s\n", line);
}

static int do_gc(const struct xenvm_config *cfg, struct imgs_store *st, FILE *out, struct xerr *err)
{
	char **live = NULL;
	size_t n = 0;
	int k;

	if (imgs_live_pins(&live, &n, err) < 0)
		return -1; /* without the jobs' pins nothing is collected */
	report_to = out;
	k = imgs_gc(st, (const char *const *)live, n, cfg->image_store.retention_s, time(NULL),
	            report_line, err);
	report_to = NULL;
	imgs_strv_free(live, n);
	if (k < 0)
		return -1;
	fprintf(out, "gc: %d version(s) removed\n", k);
	return 0;
}

static int do_history(const struct imgs_store *st, const struct imgs_client *c,
                      const struct imgs_req *r, FILE *out, struct xerr *err)
{
	struct imgs_ns ns;
	char name[IMGS_NAME_MAX + 1], tag[IMGS_NAME_MAX + 1], *text = NULL, *save = NULL;

	if (r->nargs != 1 || imgs_parse_ref(r->args[0], &ns, name, tag, err) < 0)
		return err->msg[0] ? -1 : xerr_set(err, "history: one NAME expected");
	if (!imgs_may_see(st, c, &ns, name))
		return xerr_set(err, "no image %s that you can see", r->args[0]);
	if (imgs_history(st, &ns, name, &text, err) < 0)
		return -1;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		long long t;
		char tg[64], dg[80], by[64], when[32];

		if (sscanf(l, "%lld %63s %79s %63s", &t, tg, dg, by) != 4)
			continue; /* a line cut by a crash */
		fmt_time(t, when, sizeof(when));
		fprintf(out, "%s %s:%s %s by %s\n", when, name, tg,
		        strcmp(dg, "-") ? dg : "(removed)", by);
	}
	free(text);
	return 0;
}

static int do_share(const struct xenvm_config *cfg, struct imgs_store *st,
                    const struct imgs_client *c, const struct imgs_req *r, bool add, FILE *out,
                    struct xerr *err)
{
	struct imgs_ns ns;
	char name[IMGS_NAME_MAX + 1], tag[IMGS_NAME_MAX + 1];

	if (r->nargs != 2)
		return xerr_set(err, "%s: USER/NAME and a user expected",
		                add ? "share" : "unshare");
	if (imgs_parse_ref(r->args[0], &ns, name, tag, err) < 0 ||
	    imgs_may_write(cfg, c, &ns, false, err) < 0 ||
	    imgs_shares_update(st, &ns, name, r->args[1], add, err) < 0 ||
	    imgs_catalog_write(st, err) < 0)
		return -1;
	fprintf(out, "%s %s/%s %s %s\n", add ? "shared" : "unshared", ns.user, name,
	        add ? "with" : "from", r->args[1]);
	return 0;
}

static int do_fsck(struct imgs_store *st, const struct imgs_client *c, FILE *out, struct xerr *err)
{
	int k;

	if (!c->admin)
		return xerr_set(err, "fsck is for admins");
	report_to = out;
	k = imgs_fsck_deep(st, true, report_line, err);
	report_to = NULL;
	if (k < 0)
		return -1;
	fprintf(out, "fsck: %d repair(s)\n", k);
	return 0;
}

int imgs_serve(const struct xenvm_config *cfg, struct imgs_store *st, int fd,
               const struct imgs_client *c)
{
	struct imgs_req r;
	struct xerr err = {""};
	char *body = NULL;
	size_t blen = 0;
	FILE *out = open_memstream(&body, &blen);
	int rc = -1;

	if (!out)
		return -1;
	if (imgs_req_read(fd, &r, &err) < 0)
		goto answer;
	if (strcmp(r.op, "list") == 0)
		rc = do_list(st, c, &r, out, &err);
	else if (strcmp(r.op, "show") == 0)
		rc = do_show(st, c, &r, out, &err);
	else if (strcmp(r.op, "push") == 0)
		rc = imgs_push(cfg, st, fd, c, &r, out, &err);
	else if (strcmp(r.op, "tag") == 0)
		rc = do_tag(cfg, st, c, &r, out, &err);
	else if (strcmp(r.op, "rm") == 0)
		rc = do_rm(cfg, st, c, &r, out, &err);
	else if (strcmp(r.op, "gc") == 0)
		rc = do_gc(cfg, st, out, &err);
	else if (strcmp(r.op, "history") == 0)
		rc = do_history(st, c, &r, out, &err);
	else if (strcmp(r.op, "share") == 0 || strcmp(r.op, "unshare") == 0)
		rc = do_share(cfg, st, c, &r, strcmp(r.op, "share") == 0, out, &err);
	else if (strcmp(r.op, "fsck") == 0)
		rc = do_fsck(st, c, out, &err);
	else
		xerr_set(&err, "unknown op '%.16s'", r.op);
answer:
	fclose(out);
	if (rc == 0) {
		(void)imgs_write_all(fd, "ok\n", 3);
		(void)imgs_write_all(fd, body, blen);
	} else {
		char line[sizeof(err.msg) + 16];
		int n = snprintf(line, sizeof(line), "error %s\n", err.msg[0] ? err.msg : "failed");

		/* a body (what was done before the failure) is not sent: the error says it */
		(void)imgs_write_all(fd, line,
		                     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
	free(body);
	return rc;
}
