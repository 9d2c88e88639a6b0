/*
 * test_imgstore_pin.c - what the Prolog boots for a pinned job (xenvm_image_for_pin): the pinned
 * version's own attributes after its tag moved or went, from the namespace the job named; and
 * the push policy of a user namespace (image_store: user_images, push lists, max_image_size,
 * quota bytes and count, user_kernels, user_root), each refusal with its own message and the
 * store left as it was (no tag, no new blob).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "imgstore/client.h"
#include "imgstore/server.h"
#include "lib/catalog.h"
#include "lib/image_version.h"

static char dir[64];
static const char site_kernel[] = "the site's kernel", initrd1[] = "initrd one",
                  initrd2[] = "initrd two!";
static const struct imgs_client root = {.uid = 0, .user = "root", .admin = true};
static const struct imgs_client alice = {.uid = 1000, .gid = 1000, .user = "alice"};
static const struct imgs_client bob = {.uid = 1001, .gid = 1001, .user = "bob"};

static void sha_hex(const char *data, char *hex)
{
	char path[128];
	FILE *f;
	int fd;
	uint64_t size;
	struct xerr err;

	snprintf(path, sizeof(path), "%s.h", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
	fd = open(path, O_RDONLY);
	assert_int_equal(imgs_hash_fd(fd, &size, hex, &err), 0);
	close(fd);
	unlink(path);
}

/* Push ref (kernel, initrd, attrs) as c through the real push path (a file stands for the socket).
 */
static int push(const struct xenvm_config *cfg, struct imgs_store *st, const struct imgs_client *c,
                const char *ref, const char *kernel, const char *initrd, const char *attrs,
                struct xerr *err)
{
	struct imgs_req r = {.op = "push", .nargs = 1};
	char path[128];
	FILE *f, *out = fopen("/dev/null", "w");
	int fd, rc, saved;

	snprintf(r.args[0], sizeof(r.args[0]), "%s", ref);
	r.files[0] = (struct imgs_file){true, strlen(kernel), ""};
	r.files[1] = (struct imgs_file){true, strlen(initrd), ""};
	sha_hex(kernel, r.files[0].sha256);
	sha_hex(initrd, r.files[1].sha256);
	r.attrs_len = strlen(attrs);
	snprintf(path, sizeof(path), "%s.body", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s%s%s", attrs, kernel, initrd);
	fclose(f);
	fd = open(path, O_RDONLY);
	err->msg[0] = '\0';
	rc = imgs_push(cfg, st, fd, c, &r, out, err);
	saved = errno;
	close(fd);
	unlink(path);
	fclose(out);
	errno = saved;
	return rc;
}

static struct xenvm_config *cfg_users(void)
{
	struct xenvm_config *cfg = xenvm_config_defaults();

	assert_non_null(cfg);
	cfg->image_store.user_images = true;
	return cfg;
}

static void open_store(struct imgs_store *st)
{
	struct xerr err = {""};

	snprintf(dir, sizeof(dir), "/tmp/imgs-pin.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(imgs_open(dir, st, NULL, &err), 0);
}

static void close_store(struct imgs_store *st)
{
	char cmd[128];

	imgs_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static struct xenvm_catalog *load_catalog(void)
{
	struct xenvm_catalog *cat = NULL;
	struct xerr err = {""};
	char path[128];

	snprintf(path, sizeof(path), "%s/catalog.yaml", dir);
	assert_int_equal(xenvm_catalog_load(path, &cat, &err), 0);
	return cat;
}

#define V1_ATTRS                                                                                   \
	"cmdline: \"mark=v1\"\nvcpus: {default: 2, max: 4}\nmemory: {default: 256M, max: 1G}\n"    \
	"attributes: {ib: false}\nroot_allowed: false\n"
#define V2_ATTRS                                                                                   \
	"cmdline: \"mark=v2\"\nvcpus: {default: 1, max: 8}\nmemory: {default: 512M, max: 2G}\n"    \
	"attributes: {ib: true}\nroot_allowed: true\n"

static void test_pin_boots_pinned_attributes(void **state)
{
	struct xenvm_config *cfg = cfg_users();
	struct imgs_store st;
	struct imgs_ns site = {""};
	struct xenvm_catalog *cat, *ver = NULL;
	const struct xenvm_image *img = NULL;
	struct xerr err = {""};
	char v1[IMGS_HEX_LEN + 1], v2[IMGS_HEX_LEN + 1], d1[80], d2[80];

	(void)state;
	open_store(&st);
	assert_int_equal(push(cfg, &st, &root, "tty:latest", site_kernel, initrd1, V1_ATTRS, &err),
	                 0);
	assert_int_equal(imgs_tag_get(&st, &site, "tty", "latest", v1, &err), 1);
	snprintf(d1, sizeof(d1), "sha256:%s", v1);

	/* tag unmoved: the catalog's entry itself, no second catalog */
	cat = load_catalog();
	assert_int_equal(xenvm_image_for_pin(cat, dir, "tty", d1, &ver, &img, &err), 0);
	assert_null(ver);
	assert_ptr_equal(img, xenvm_catalog_find(cat, "tty"));
	assert_string_equal(img->cmdline, "mark=v1");
	xenvm_catalog_free(cat);

	/* the admin pushes v2 under the same tag: a job pinned to v1 still gets v1's attributes */
	assert_int_equal(push(cfg, &st, &root, "tty:latest", site_kernel, initrd2, V2_ATTRS, &err),
	                 0);
	assert_int_equal(imgs_tag_get(&st, &site, "tty", "latest", v2, &err), 1);
	snprintf(d2, sizeof(d2), "sha256:%s", v2);
	cat = load_catalog();
	assert_string_equal(xenvm_catalog_find(cat, "tty")->cmdline, "mark=v2");
	assert_int_equal(xenvm_image_for_pin(cat, dir, "tty", d1, &ver, &img, &err), 0);
	assert_non_null(ver);
	assert_ptr_equal(img, &ver->images[0]);
	assert_string_equal(img->name, "tty"); /* messages name what the user asked for */
	assert_string_equal(img->digest, d1);
	assert_string_equal(img->cmdline, "mark=v1");
	assert_int_equal(img->limits.vcpus_default, 2);
	assert_int_equal(img->limits.vcpus_max, 4);
	assert_int_equal(img->limits.default_bytes, 256u << 20);
	assert_int_equal(img->limits.max_bytes, 1u << 30);
	assert_false(img->attributes.ib);
	assert_false(img->allow_root);
	assert_int_equal(img->initrd.size, strlen(initrd1));
	xenvm_catalog_free(ver);
	/* and a job pinned to v2 the catalog's */
	assert_int_equal(xenvm_image_for_pin(cat, dir, "tty:latest", d2, &ver, &img, &err), 0);
	assert_null(ver);
	assert_string_equal(img->cmdline, "mark=v2");
	assert_true(img->allow_root);
	xenvm_catalog_free(cat);

	/* the tag removed altogether: the version is still found by its digest */
	assert_int_equal(imgs_tag_remove(&st, &site, "tty", "latest", "root", &err), 1);
	assert_int_equal(imgs_catalog_write(&st, &err), 0);
	cat = load_catalog();
	assert_null(xenvm_catalog_find(cat, "tty"));
	assert_int_equal(xenvm_image_for_pin(cat, dir, "tty", d2, &ver, &img, &err), 0);
	assert_string_equal(img->cmdline, "mark=v2");
	xenvm_catalog_free(ver);
	/* no catalog at all (NULL) works the same */
	assert_int_equal(xenvm_image_for_pin(NULL, dir, "tty", d1, &ver, &img, &err), 0);
	assert_string_equal(img->cmdline, "mark=v1");
	xenvm_catalog_free(ver);
	xenvm_catalog_free(cat);
	imgs_close(&st);
	snprintf(d1, sizeof(d1), "rm -rf %s", dir);
	assert_int_equal(system(d1), 0);
	xenvm_config_free(cfg);
}

static void test_pin_missing_and_namespaces(void **state)
{
	struct xenvm_config *cfg = cfg_users();
	struct imgs_store st;
	struct imgs_ns ns_alice = {"alice"};
	struct xenvm_catalog *cat, *ver = NULL;
	const struct xenvm_image *img = NULL;
	struct xerr err = {""};
	char hex[IMGS_HEX_LEN + 1], d[80];

	(void)state;
	open_store(&st);
	assert_int_equal(push(cfg, &st, &root, "tty", site_kernel, initrd1, V1_ATTRS, &err), 0);
	/* alice pushes files of her own on the site's kernel, with her own attributes */
	assert_int_equal(push(cfg, &st, &alice, "alice/mine", site_kernel, initrd2,
	                      "cmdline: \"mark=alice\"\n", &err),
	                 0);
	assert_int_equal(imgs_tag_get(&st, &ns_alice, "mine", "latest", hex, &err), 1);
	snprintf(d, sizeof(d), "sha256:%s", hex);
	cat = load_catalog();
	assert_int_equal(xenvm_image_for_pin(cat, dir, "alice/mine", d, &ver, &img, &err), 0);
	assert_null(ver);
	assert_string_equal(img->cmdline, "mark=alice");
	/* a site name pinned to that digest never gets alice's manifest */
	assert_int_equal(xenvm_image_for_pin(cat, dir, "tty", d, &ver, &img, &err), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(ver);
	assert_null(img);
	assert_non_null(strstr(err.msg, "pinned at submit"));
	/* nor bob's name */
	assert_int_equal(xenvm_image_for_pin(cat, dir, "bob/mine", d, &ver, &img, &err), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err.msg, "no longer in the site's catalog"));
	/* a digest no one has, a malformed one, a hostile name */
	assert_int_equal(xenvm_image_for_pin(cat, dir, "tty",
	                                     "sha256:00000000000000000000000000000000000000000000"
	                                     "00000000000000000000",
	                                     &ver, &img, &err),
	                 -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(xenvm_image_for_pin(cat, dir, "tty", "sha256:../../etc", &ver, &img, &err),
	                 -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xenvm_image_for_pin(cat, dir, "../alice/mine", d, &ver, &img, &err), -1);
	assert_int_equal(errno, EINVAL);
	/* A site on images.yaml alone (no manager's versions/): the entry's current attributes,
	 * the pinned files (1); in a manager's store the refusal above holds. */
	assert_int_equal(xenvm_image_for_pin(cat, "/nonexistent-store", "tty", d, &ver, &img, &err),
	                 1);
	assert_null(ver);
	assert_ptr_equal(img, xenvm_catalog_find(cat, "tty"));
	xenvm_catalog_free(cat);
	close_store(&st);
	xenvm_config_free(cfg);
}

/* The store's tags and blobs, as one string, to compare before and after a refusal. */
static void store_listing(char *out, size_t len)
{
	char cmd[256];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "cd %s && find blobs tags versions shares -type f | sort", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
}

/* ref pushed as c is refused with errno want and a message holding `msg`; the store unchanged. */
static void refused(const struct xenvm_config *cfg, struct imgs_store *st,
                    const struct imgs_client *c, const char *ref, const char *kernel,
                    const char *initrd, const char *attrs, int want, const char *msg)
{
	char before[8192], after[8192];
	struct xerr err = {""};

	store_listing(before, sizeof(before));
	errno = 0;
	if (push(cfg, st, c, ref, kernel, initrd, attrs, &err) != -1)
		fail_msg("push %s was accepted; expected: %s", ref, msg);
	if (errno != want)
		fail_msg("push %s: errno %d (%s), not %d", ref, errno, err.msg, want);
	if (!strstr(err.msg, msg))
		fail_msg("push %s: '%s' does not say '%s'", ref, err.msg, msg);
	store_listing(after, sizeof(after));
	assert_string_equal(before, after);
}

static void test_policy(void **state)
{
	struct xenvm_config *cfg = cfg_users();
	struct imgs_store st;
	struct xerr err = {""};
	char *list[] = {"carol", NULL};

	(void)state;
	open_store(&st);
	assert_int_equal(push(cfg, &st, &root, "tty", site_kernel, initrd1, "", &err), 0);

	/* who may push */
	refused(cfg, &st, &alice, "tty", site_kernel, initrd2, "", EACCES,
	        "only admins write site images");
	refused(cfg, &st, &bob, "alice/x", site_kernel, initrd2, "", EACCES, "belong to alice");
	refused(cfg, &st, &root, "alice/x", site_kernel, initrd2, "", EACCES, "belong to alice");
	cfg->image_store.user_images = false;
	refused(cfg, &st, &alice, "alice/x", site_kernel, initrd2, "", EACCES,
	        "does not take user images");
	cfg->image_store.user_images = true;
	cfg->image_store.push_users = list;
	cfg->image_store.n_push_users = 1;
	refused(cfg, &st, &alice, "alice/x", site_kernel, initrd2, "", EACCES,
	        "may not push images");
	cfg->image_store.push_users = NULL;
	cfg->image_store.n_push_users = 0;

	/* size: the files of one version */
	cfg->image_store.max_image_bytes = strlen(site_kernel) + strlen(initrd2) - 1;
	refused(cfg, &st, &alice, "alice/x", site_kernel, initrd2, "", EFBIG, "image too large");
	cfg->image_store.max_image_bytes = strlen(site_kernel) + strlen(initrd2);
	assert_int_equal(push(cfg, &st, &alice, "alice/x", site_kernel, initrd2, "", &err), 0);
	cfg->image_store.max_image_bytes = 1 << 20;

	/* own kernel, root in the guest */
	refused(cfg, &st, &alice, "alice/k", "alice's own kernel", initrd2, "", EACCES,
	        "own kernel forbidden");
	refused(cfg, &st, &alice, "alice/r", site_kernel, initrd2,
	        "cmdline: \"r\"\nroot_allowed: true\n", EACCES, "user_root is false");

	/* quota: versions, then bytes (x holds one version; the same files are no new one) */
	cfg->image_store.quota_images = 1;
	refused(cfg, &st, &alice, "alice/y", site_kernel, "initrd y", "cmdline: \"y\"\n", EDQUOT,
	        "quota exceeded");
	/* re-pushing the version alice has is no new version */
	assert_int_equal(push(cfg, &st, &alice, "alice/x:again", site_kernel, initrd2, "", &err),
	                 0);
	cfg->image_store.quota_images = 10;
	cfg->image_store.quota_bytes = 2 * (strlen(site_kernel) + strlen(initrd2)) - 1;
	cfg->image_store.user_kernels = true;
	refused(cfg, &st, &alice, "alice/z", "another kernel bytes", initrd2, "", EDQUOT,
	        "quota_bytes");

	/* allowed now: own kernel and root, and the quota raised */
	cfg->image_store.quota_bytes = 1 << 20;
	cfg->image_store.user_root = true;
	assert_int_equal(push(cfg, &st, &alice, "alice/z", "another kernel bytes", initrd2,
	                      "root_allowed: true\n", &err),
	                 0);
	close_store(&st);
	xenvm_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pin_boots_pinned_attributes),
	    cmocka_unit_test(test_pin_missing_and_namespaces),
	    cmocka_unit_test(test_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
