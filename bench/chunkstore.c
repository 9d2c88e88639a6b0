/*
 * chunkstore.c - `make bench-chunkstore` (issue 16's store figures): a synthetic root disk of
 * SIZE MiB pushed as v1, then v2 = v1 with a few scattered 4 KiB blocks rewritten (what a package
 * added to a sorted, fixed-timestamp root disk does: tests/oci measures the real case), into two
 * stores in the same run: one chunked (imgstore/chunk.h) and one of whole-file blobs (as before
 * chunking, imgs_chunk_min = max).  Prints the store bytes v2 added in each; then the time of
 * imagecast's root reading and hashing the v2 root disk from each store at imagecast's 1 MiB chunks
 * (ic_manifest_hash_store, what the root does before a broadcast), warm (page cache) and cold
 * (POSIX_FADV_DONTNEED on every store file first), REPS times alternated, medians and the
 * chunked/whole ratio.  Never judges. Usage: bench-chunkstore [SIZE_MIB [REPS [DIR]]]   (defaults
 * 64, 5, /var/tmp)
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imagecast/manifest.h"
#include "imgstore/chunk.h"
#include "imgstore/store.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Bytes of the regular files under dir (recursive). */
static uint64_t du(const char *dir, bool drop)
{
	char path[4096];
	uint64_t n = 0;
	struct dirent *e;
	DIR *dh = opendir(dir);

	if (!dh)
		return 0;
	while ((e = readdir(dh))) {
		struct stat sb;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &sb) < 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			n += du(path, drop);
		} else if (S_ISREG(sb.st_mode)) {
			n += (uint64_t)sb.st_size;
			if (drop) {
				int fd = open(path, O_RDONLY);

				if (fd >= 0) {
					(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
					close(fd);
				}
			}
		}
	}
	closedir(dh);
	return n;
}

static uint64_t store_bytes(const char *store)
{
	char p[4096];
	uint64_t n = 0;

	for (int i = 0; i < 3; i++) {
		static const char *const sub[] = {XENVM_BLOB_DIR, XENVM_BLOB_CHUNKED_DIR,
		                                  XENVM_BLOB_CHUNK_DIR};

		snprintf(p, sizeof(p), "%s/%s", store, sub[i]);
		n += du(p, false);
	}
	return n;
}

/* Push data (size bytes) into st as a blob; its hex into hex.  Exits on failure. */
static void put(struct imgs_store *st, const char *tmp, const unsigned char *data, uint64_t size,
                char *hex)
{
	struct xerr err = {""};
	uint8_t sha[IC_SHA_LEN];
	uint64_t added;
	bool created;
	FILE *f = fopen(tmp, "w");
	int fd;

	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		perror(tmp);
		exit(1);
	}
	ic_sha256(data, size, sha);
	ic_sha_to_hex(sha, hex);
	fd = open(tmp, O_RDONLY);
	if (fd < 0 || imgs_blob_receive(st, fd, size, hex, &created, &added, &err) < 0) {
		fprintf(stderr, "bench-chunkstore: %s\n", err.msg);
		exit(1);
	}
	close(fd);
	unlink(tmp);
}

/* The root's read + hash of blob hex from store.  Seconds. */
static double root_read(const char *store, const char *hex, uint64_t size, bool cold)
{
	struct ic_file f = {.role = "rootdisk", .size = size};
	struct ic_manifest *m = NULL;
	char path[128], digest[IC_DIGEST_LEN + 1];
	struct xerr err = {""};
	double t0;

	snprintf(path, sizeof(path), XENVM_BLOB_DIR "/%s", hex);
	f.path = path;
	ic_sha_from_hex(hex, f.sha);
	if (ic_digest_of(&f, 1, digest) < 0 ||
	    ic_manifest_new("bench", digest, 1u << 20, &f, 1, &m, &err) < 0) {
		fprintf(stderr, "bench-chunkstore: %s\n", err.msg);
		exit(1);
	}
	if (cold) {
		char p[4096];

		snprintf(p, sizeof(p), "%s", store);
		(void)du(p, true);
	}
	t0 = now();
	if (ic_manifest_hash_store(m, store, &err) < 0) {
		fprintf(stderr, "bench-chunkstore: %s\n", err.msg);
		exit(1);
	}
	t0 = now() - t0;
	ic_manifest_free(m);
	return t0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 64, size = mib << 20;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	const char *base = argc > 3 ? argv[3] : "/var/tmp";
	char top[4096], sdir[2][4200], tmp[4200], cmd[4300], h1[65], h2[65];
	struct imgs_store st[2];
	struct xerr err = {""};
	unsigned char *v1, *v2;
	uint64_t added[2], x = 88172645463325252ull, changed = 0;
	double t[2][2][64];

	if (mib < 8 || reps < 1 || reps > 64) {
		fprintf(stderr, "usage: bench-chunkstore [SIZE_MIB >= 8 [REPS <= 64 [DIR]]]\n");
		return 2;
	}
	snprintf(top, sizeof(top), "%s/xv-chunk-bench.XXXXXX", base);
	if (!mkdtemp(top)) {
		perror(top);
		return 1;
	}
	v1 = malloc(size);
	v2 = malloc(size);
	for (uint64_t i = 0; i < size; i += 8) { /* xorshift: incompressible, like a squashfs */
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(v1 + i, &x, 8);
	}
	memcpy(v2, v1, size);
	/* a package: its files' blocks, the directory's, the tables at the end */
	for (uint64_t off = size / 3; off < size / 3 + (48u << 10); off += 4096, changed += 4096)
		v2[off] ^= 1;
	for (uint64_t off = size - (64u << 10); off < size; off += 4096, changed += 4096)
		v2[off] ^= 1;
	v2[size / 7] ^= 1, changed += 4096;
	for (int k = 0; k < 2; k++) {
		uint64_t b1;

		snprintf(sdir[k], sizeof(sdir[k]), "%s/%s", top, k ? "whole" : "chunked");
		imgs_chunk_min = k ? UINT64_MAX : 4ull << 20;
		if (imgs_open(sdir[k], &st[k], NULL, &err) < 0) {
			fprintf(stderr, "bench-chunkstore: %s\n", err.msg);
			return 1;
		}
		snprintf(tmp, sizeof(tmp), "%s/in", top);
		put(&st[k], tmp, v1, size, h1);
		b1 = store_bytes(sdir[k]);
		put(&st[k], tmp, v2, size, h2);
		added[k] = store_bytes(sdir[k]) - b1;
	}
	printf("root disk %" PRIu64 " MiB, v2 = v1 with %" PRIu64 " KiB rewritten in 3 places\n",
	       mib, changed >> 10);
	printf("store bytes added by v2: chunked %" PRIu64
	       " (%.1f%% of the disk), whole-file %" PRIu64 " (%.1f%%)\n",
	       added[0], 100.0 * added[0] / size, added[1], 100.0 * added[1] / size);
	for (int r = 0; r < reps; r++)
		for (int c = 0; c < 2; c++)
			for (int j = 0; j < 2; j++) {
				int k = (r + j) % 2; /* alternate which store goes first */

				t[c][k][r] = root_read(sdir[k], h2, size, c == 1);
			}
	for (int c = 0; c < 2; c++) {
		double med[2];

		for (int k = 0; k < 2; k++) {
			qsort(t[c][k], (size_t)reps, sizeof(double), cmp_d);
			med[k] = t[c][k][reps / 2];
		}
		printf("imagecast root read+hash of v2 (%s, median of %d): chunked %.3f s (%.0f "
		       "MB/s), "
		       "whole-file %.3f s (%.0f MB/s), chunked/whole %.2f\n",
		       c ? "cold: page cache dropped" : "warm", reps, med[0], size / med[0] / 1e6,
		       med[1], size / med[1] / 1e6, med[0] / med[1]);
	}
	imgs_close(&st[0]);
	imgs_close(&st[1]);
	free(v1);
	free(v2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : 1;
}
