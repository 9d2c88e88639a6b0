/*
 * test_imgstore_crash.c - the image store killed after every durable step of a push, a tag move,
 * a removal and a collection (imgs_fault_after, in a forked child): reopened (fsck), the store is
 * consistent every time (every tag names a readable version, every version's blobs exist, no
 * temporary file, the catalog loads); also tag moves and digest resolution, GC with a job's pin
 * and with retention.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "imgstore/client.h"
#include "imgstore/server.h"
#include "lib/catalog.h"
#include "lib/image_version.h"

static char dir[64];
static const char kernel[] = "kernel bytes", initrd1[] = "initrd one", initrd2[] = "initrd two!";

static void sha_hex(const char *data, char *hex)
{
	char path[128];
	FILE *f;
	int fd;
	uint64_t size;
	struct xerr err;

	snprintf(path, sizeof(path), "%s.h", dir);
	f = fopen(path, "w");
	fputs(data, f);
	fclose(f);
	fd = open(path, O_RDONLY);
	assert_int_equal(imgs_hash_fd(fd, &size, hex, &err), 0);
	close(fd);
	unlink(path);
}

/* Push name:tag with the given initrd through the real push path (a file stands for the socket). */
static int push(struct imgs_store *st, const char *ref, const char *initrd, struct xerr *err)
{
	struct xenvm_config *cfg = xenvm_config_defaults();
	struct imgs_client c = {.uid = 0, .user = "root", .admin = true};
	struct imgs_req r = {.op = "push", .nargs = 1};
	char path[128];
	FILE *f, *out = fopen("/dev/null", "w");
	int fd, rc;

	snprintf(r.args[0], sizeof(r.args[0]), "%s", ref);
	r.files[0] = (struct imgs_file){true, strlen(kernel), ""};
	r.files[1] = (struct imgs_file){true, strlen(initrd), ""};
	sha_hex(kernel, r.files[0].sha256);
	sha_hex(initrd, r.files[1].sha256);
	r.attrs_len = strlen("description: x\n");
	snprintf(path, sizeof(path), "%s.body", dir);
	f = fopen(path, "w");
	fprintf(f, "description: x\n%s%s", kernel, initrd);
	fclose(f);
	fd = open(path, O_RDONLY);
	rc = imgs_push(cfg, st, fd, &c, &r, out, err);
	close(fd);
	unlink(path);
	fclose(out);
	xenvm_config_free(cfg);
	return rc;
}

/* The invariants after a reopen. */
static void check_consistent(void)
{
	struct imgs_store st;
	struct imgs_tag *t = NULL;
	struct imgs_version_info *v = NULL;
	struct xenvm_catalog *cat = NULL;
	size_t nt = 0, nv = 0;
	struct xerr err = {""};
	char path[256];

	assert_int_equal(imgs_open(dir, &st, NULL, &err), 0);
	assert_int_equal(imgs_tags(&st, &t, &nt, &err), 0);
	for (size_t i = 0; i < nt; i++) {
		struct imgs_version_info vi;

		assert_int_equal(imgs_version_info(&st, &t[i].ns, t[i].hex, &vi, &err), 0);
	}
	assert_int_equal(imgs_versions(&st, &v, &nv, &err), 0);
	for (size_t i = 0; i < nv; i++)
		for (int r = 0; r < IMGS_ROLES; r++)
			if (v[i].files[r].present)
				assert_true(imgs_blob_exists(&st, v[i].files[r].sha256));
	snprintf(path, sizeof(path), "%s/catalog.yaml", dir);
	assert_int_equal(xenvm_catalog_load(path, &cat, &err), 0);
	assert_true(cat->n_images <= 2 * nt); /* NAME:TAG, and NAME for latest */
	xenvm_catalog_free(cat);
	snprintf(path, sizeof(path), "rmdir %s/tmp 2>/dev/null && mkdir %s/tmp", dir, dir);
	assert_int_equal(system(path), 0); /* tmp/ empty */
	free(t);
	free(v);
	imgs_close(&st);
}

/* Run op in a child killed after `step` steps.  Returns true when the child died there. */
static bool crash_at(int step, void (*op)(void))
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		imgs_fault_after = step;
		op();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status) == IMGS_FAULT_EXIT;
}

static void op_push_v2_and_gc(void)
{
	struct imgs_store st;
	struct xerr err = {""};
	struct imgs_ns site = {""};
	char hex[IMGS_HEX_LEN + 1];

	if (imgs_open(dir, &st, NULL, &err) < 0)
		_exit(1);
	if (push(&st, "tty:latest", initrd2, &err) < 0)
		_exit(2);
	if (imgs_tag_get(&st, &site, "tty", "latest", hex, &err) != 1 ||
	    imgs_tag_remove(&st, &site, "tty", "latest", "t", &err) < 0 ||
	    imgs_catalog_write(&st, &err) < 0 ||
	    imgs_gc(&st, NULL, 0, 0, time(NULL) + 10, NULL, &err) < 0)
		_exit(3);
	imgs_close(&st);
}

static void setup_v1(void)
{
	struct imgs_store st;
	struct xerr err = {""};

	snprintf(dir, sizeof(dir), "/tmp/imgs-unit.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(imgs_open(dir, &st, NULL, &err), 0);
	assert_int_equal(push(&st, "tty:latest", initrd1, &err), 0);
	imgs_close(&st);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_crash_every_step(void **state)
{
	int step, crashed = 0;

	(void)state;
	for (step = 1; step < 40; step++) {
		setup_v1();
		if (!crash_at(step, op_push_v2_and_gc)) {
			teardown();
			break; /* the whole operation ran: every step before was tried */
		}
		crashed++;
		check_consistent();
		teardown();
	}
	assert_true(crashed >= 6); /* blobs, manifest, tag, catalog, tag removal, gc... */
	assert_true(step < 40);
}

static void test_tag_moves_and_pinned_digest(void **state)
{
	struct imgs_store st;
	struct xerr err = {""};
	struct imgs_ns site = {""};
	char v1[IMGS_HEX_LEN + 1], v2[IMGS_HEX_LEN + 1], digest[80];
	struct xenvm_catalog *cat = NULL;
	const char *live[1];

	(void)state;
	setup_v1();
	assert_int_equal(imgs_open(dir, &st, NULL, &err), 0);
	assert_int_equal(imgs_tag_get(&st, &site, "tty", "latest", v1, &err), 1);
	assert_int_equal(push(&st, "tty:latest", initrd2, &err), 0);
	assert_int_equal(imgs_tag_get(&st, &site, "tty", "latest", v2, &err), 1);
	assert_string_not_equal(v1, v2);
	/* the old digest still resolves, by digest, to the old files */
	snprintf(digest, sizeof(digest), "sha256:%s", v1);
	assert_int_equal(xenvm_image_version_load(dir, digest, &cat, &err), 1);
	assert_int_equal(cat->images[0].initrd.size, strlen(initrd1));
	xenvm_catalog_free(cat);
	/* a job's pin keeps it; retention keeps it; then it goes */
	live[0] = v1;
	assert_int_equal(imgs_gc(&st, live, 1, 0, time(NULL) + 10, NULL, &err), 0);
	assert_int_equal(imgs_gc(&st, NULL, 0, 3600, time(NULL), NULL, &err), 0);
	assert_int_equal(imgs_gc(&st, NULL, 0, 0, time(NULL) + 10, NULL, &err), 1);
	assert_int_equal(xenvm_image_version_load(dir, digest, &cat, &err), 0);
	/* the tagged version stays */
	snprintf(digest, sizeof(digest), "sha256:%s", v2);
	assert_int_equal(xenvm_image_version_load(dir, digest, &cat, &err), 1);
	xenvm_catalog_free(cat);
	imgs_close(&st);
	teardown();
}

static void test_refused_push_leaves_nothing(void **state)
{
	struct imgs_store st;
	struct xerr err = {""};
	struct imgs_ns alice = {"alice"};
	char hex[IMGS_HEX_LEN + 1];

	(void)state;
	setup_v1();
	assert_int_equal(imgs_open(dir, &st, NULL, &err), 0);
	/* root pushing into a user's namespace is refused (admins do not write user images) */
	assert_int_equal(push(&st, "alice/x:latest", initrd2, &err), -1);
	assert_non_null(strstr(err.msg, "belong to alice"));
	assert_int_equal(imgs_tag_get(&st, &alice, "x", "latest", hex, &err), 0);
	sha_hex(initrd2, hex);
	assert_false(imgs_blob_exists(&st, hex));
	imgs_close(&st);
	teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crash_every_step),
	    cmocka_unit_test(test_tag_moves_and_pinned_digest),
	    cmocka_unit_test(test_refused_push_leaves_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
