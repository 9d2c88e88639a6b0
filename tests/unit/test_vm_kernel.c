/*
 * test_vm_kernel.c - the vmlinux the drivers derive from a bzImage (vm/kernel.c): payload
 * found behind a decompressor and followed by trailing bytes, holes for zero pages, the ELF
 * check, every failure leaving no file behind, and the path choice with its fallbacks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm/kernel.h"

#define PG 4096
#define ELF_BYTES (3 * PG + 100) /* a zero page in the middle, a partial page at the end */

static char dir[64];
static uint8_t elf[ELF_BYTES];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/xvm-kernel.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	memset(elf, 0, sizeof(elf));
	memcpy(elf,
	       "\x7f"
	       "ELF",
	       4);
	for (size_t i = 4; i < PG; i++)
		elf[i] = (uint8_t)(i * 7);
	for (size_t i = 2 * PG; i < sizeof(elf); i++)
		elf[i] = (uint8_t)(i * 13 + 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* Write path: 1000 bytes of "decompressor", payload xz-compressed, 512 trailing bytes. */
static void write_bzimage(const char *path, const uint8_t *payload, size_t len, int corrupt)
{
	static uint8_t xz[1 << 16];
	uint8_t pre[1000], post[512];
	size_t n = 0;
	FILE *f;

	memset(pre, 0x90, sizeof(pre));
	memset(post, 0xcc, sizeof(post));
	assert_int_equal(
	    lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, payload, len, xz, &n, sizeof(xz)),
	    LZMA_OK);
	if (corrupt)
		xz[n / 2] ^= 0x55;
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(pre, 1, sizeof(pre), f), sizeof(pre));
	assert_int_equal(fwrite(xz, 1, n, f), n);
	assert_int_equal(fwrite(post, 1, sizeof(post), f), sizeof(post));
	assert_int_equal(fclose(f), 0);
}

/* Temporary files (".tmp.") left in dir. */
static int tmp_files(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strstr(de->d_name, ".tmp.") != NULL;
	closedir(d);
	return n;
}

static void path_in(char *buf, size_t len, const char *leaf)
{
	assert_true(snprintf(buf, len, "%s/%s", dir, leaf) < (int)len);
}

static void test_extract_sparse_elf(void **state)
{
	char k[128], out[128];
	uint8_t got[ELF_BYTES + 1];
	struct stat st;
	ssize_t n;
	int fd;

	(void)state;
	path_in(k, sizeof(k), "vmlinuz");
	path_in(out, sizeof(out), "out");
	write_bzimage(k, elf, sizeof(elf), 0);
	assert_int_equal(xvm_kernel_extract_elf(k, out), 0);
	fd = open(out, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, got, sizeof(got));
	close(fd);
	assert_int_equal(n, sizeof(elf));
	assert_memory_equal(got, elf, sizeof(elf));
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_size, sizeof(elf));
	assert_int_equal(st.st_mode & 0777, 0644);
	/* the zero page is a hole: fewer blocks than bytes */
	assert_true((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size);
	/* an existing file is never overwritten */
	assert_int_equal(xvm_kernel_extract_elf(k, out), -1);
	assert_int_equal(errno, EEXIST);
}

/* Each failure: its errno, and no output file left. */
static void test_extract_failures(void **state)
{
	char k[128], out[128];
	uint8_t notelf[PG];

	(void)state;
	path_in(k, sizeof(k), "vmlinuz");
	path_in(out, sizeof(out), "out");

	/* no XZ stream at all */
	memset(notelf, 0x41, sizeof(notelf));
	int fd = open(k, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, notelf, sizeof(notelf)), sizeof(notelf));
	close(fd);
	assert_int_equal(xvm_kernel_extract_elf(k, out), -1);
	assert_int_equal(errno, ENOEXEC);
	assert_int_equal(access(out, F_OK), -1);

	/* a payload that is not an ELF */
	write_bzimage(k, notelf, sizeof(notelf), 0);
	assert_int_equal(xvm_kernel_extract_elf(k, out), -1);
	assert_int_equal(errno, ENOEXEC);
	assert_int_equal(access(out, F_OK), -1);

	/* a corrupt stream */
	write_bzimage(k, elf, sizeof(elf), 1);
	assert_int_equal(xvm_kernel_extract_elf(k, out), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(access(out, F_OK), -1);

	/* an empty file, a missing one, NULL */
	fd = open(k, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	close(fd);
	assert_int_equal(xvm_kernel_extract_elf(k, out), -1);
	assert_int_equal(errno, ENOEXEC);
	path_in(k, sizeof(k), "missing");
	assert_int_equal(xvm_kernel_extract_elf(k, out), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(xvm_kernel_extract_elf(NULL, out), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(access(out, F_OK), -1);
}

static void test_boot_path(void **state)
{
	char k[128], want[160], got[4200], other[128];
	struct stat st1, st2;

	(void)state;
	path_in(k, sizeof(k), "vmlinuz");
	write_bzimage(k, elf, sizeof(elf), 0);
	snprintf(want, sizeof(want), "%s.vmlinux", k);
	assert_int_equal(xvm_kernel_boot_path(k, got, sizeof(got)), 1);
	assert_string_equal(got, want);
	assert_int_equal(stat(want, &st1), 0);
	/* derived once: the second call reuses the file */
	assert_int_equal(xvm_kernel_boot_path(k, got, sizeof(got)), 1);
	assert_int_equal(stat(want, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);

	/* not a bzImage: the kernel itself, nothing derived, no temporary left */
	path_in(other, sizeof(other), "plain");
	int fd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a kernel", 12), 12);
	close(fd);
	assert_int_equal(xvm_kernel_boot_path(other, got, sizeof(got)), 0);
	assert_string_equal(got, other);
	snprintf(want, sizeof(want), "%s.vmlinux", other);
	assert_int_equal(access(want, F_OK), -1);
	assert_int_equal(tmp_files(), 0);

	/* out too small for the derived path: the kernel's path still fits, so use it */
	assert_int_equal(xvm_kernel_boot_path(k, got, strlen(k) + 1), 0);
	assert_string_equal(got, k);
	/* too small for either */
	assert_int_equal(xvm_kernel_boot_path(k, got, 4), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(xvm_kernel_boot_path(NULL, got, sizeof(got)), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_extract_sparse_elf, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extract_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_boot_path, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
