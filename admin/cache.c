/*
 * cache.c - status's image cache section, read from cache.dir (see imagecast/README.md):
 *   <cache.dir>/images/<hex>/   published images     <cache.dir>/pins/<hex>/<holder>   leases
 *   <cache.dir>/partial/<hex>/  transfers under way
 * Read directly rather than asked of imagecastd, so the section works while the daemon is down.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin.h"
#include "lib/catalog.h"
#include "lib/units.h"

/* Bytes of the regular files directly in dir (an image directory is flat). */
static uint64_t dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t sum = 0;

	while (d && (e = readdir(d))) {
		char p[4400];
		struct stat st;

		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) < (int)sizeof(p) &&
		    lstat(p, &st) == 0 && S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_size;
	}
	if (d)
		closedir(d);
	return sum;
}

/* An approximate size for people ("84.0M"): cache contents are rarely a round number. */
static const char *human(uint64_t b, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	double v = (double)b;
	int u = -1;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%lluB", (unsigned long long)b);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
	return buf;
}

/* Entries of a directory other than . and .. (0 when it is missing). */
static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* The catalog name of a digest's hex, or "(not in the catalog)". */
static const char *image_name(const struct xenvm_catalog *cat, const char *hex)
{
	for (size_t i = 0; cat && i < cat->n_images; i++)
		if (strcmp(cat->images[i].digest + 7, hex) == 0)
			return cat->images[i].name;
	return "(not in the catalog)";
}

void xa_print_cache(const struct xenvm_config *cfg)
{
	char images[4200], sub[4400], used[32], max[32], sz[32];
	struct xenvm_catalog *cat = NULL;
	struct xerr err = {""};
	uint64_t total = 0;
	size_t n = 0;
	struct dirent *e;
	DIR *d;

	if (snprintf(images, sizeof(images), "%s/images", cfg->cache.dir) >= (int)sizeof(images)) {
		printf("image cache %s: path too long\n", cfg->cache.dir);
		return;
	}
	d = opendir(images);
	if (!d) {
		printf("image cache %s: %s (imagecastd creates it)\n", cfg->cache.dir,
		       strerror(errno));
		return;
	}
	if (xenvm_catalog_load(cfg->catalog, &cat, &err) < 0)
		cat = NULL; /* names only: the digests still say what is cached */
	while ((e = readdir(d))) {
		uint64_t b;

		if (e->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", images, e->d_name) >= (int)sizeof(sub))
			continue;
		b = dir_bytes(sub);
		total += b;
		n++;
		if (snprintf(sub, sizeof(sub), "%s/pins/%s", cfg->cache.dir, e->d_name) >=
		    (int)sizeof(sub))
			sub[0] = '\0';
		printf("  cached %-20s sha256:%.12s %8s  %zu lease(s)\n",
		       image_name(cat, e->d_name), e->d_name, human(b, sz, sizeof(sz)),
		       count_entries(sub));
	}
	closedir(d);
	if (snprintf(sub, sizeof(sub), "%s/partial", cfg->cache.dir) >= (int)sizeof(sub))
		sub[0] = '\0';
	printf("image cache %s: %zu image(s), %s of %s (%.0f%%), %zu in transfer\n", cfg->cache.dir,
	       n, human(total, used, sizeof(used)),
	       xenvm_format_size(cfg->cache.max_bytes, max, sizeof(max)),
	       cfg->cache.max_bytes ? 100.0 * (double)total / (double)cfg->cache.max_bytes : 0.0,
	       count_entries(sub));
	xenvm_catalog_free(cat);
}
