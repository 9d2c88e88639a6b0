/*
 * require_pick CATALOG USER REQUIRE - the image job_submit would pick for USER's --vm-require
 * (lib/require.c's parser, lib/catalog_match.c's rule, the catalog's permissions): prints its name
 * and exits 0, or exits 1 when none matches (the near misses on stderr), 2 on bad input.
 */
#include <pwd.h>
#include <stdio.h>

#include "lib/catalog.h"
#include "lib/catalog_match.h"
#include "lib/require.h"

static bool permits(const struct xenvm_image *img, void *ctx)
{
	struct xerr err = {""};

	return xenvm_image_permits(img, ctx, &err) == 0;
}

int main(int argc, char **argv)
{
	struct xenvm_catalog *cat = NULL;
	struct xenvm_requirements req;
	struct xenvm_near_miss near[XENVM_NEAR_MISS_MAX];
	const struct xenvm_image *img = NULL;
	struct xerr err = {""};
	struct passwd *pw;
	struct xenvm_requester who = {0};
	size_t n_near = 0;
	int k;

	if (argc != 4 || !(pw = getpwnam(argv[2]))) {
		fprintf(stderr, "usage: require_pick CATALOG USER REQUIRE\n");
		return 2;
	}
	who.uid = pw->pw_uid;
	who.gid = pw->pw_gid;
	who.user = argv[2];
	if (xenvm_catalog_load(argv[1], &cat, &err) < 0 ||
	    xenvm_require_parse("--vm-require", argv[3], &req, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	k = xenvm_catalog_match(cat, &req, NULL, permits, &who, &img, near, &n_near);
	if (k == 1)
		printf("%s\n", img->name);
	for (size_t i = 0; k != 1 && i < n_near; i++)
		fprintf(stderr, "near: %s misses %s\n", near[i].img->name, near[i].missed);
	xenvm_catalog_free(cat);
	return k == 1 ? 0 : 1;
}
