/*
 * mkfixture.c - build the sysfs fixture tree of fixture.h for shell tests and demos.
 *
 *   mkfixture vendor|netlink|nosriov N          build a tree with N VFs, print its root
 *   mkfixture --numvfs ROOT vendor|netlink N    play the kernel after a write of sriov_numvfs
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

/* The fixture kind named `s`; -1 if none. */
static int kind_of(const char *s)
{
	if (strcmp(s, "vendor") == 0)
		return FIXTURE_VENDOR;
	if (strcmp(s, "netlink") == 0)
		return FIXTURE_NETLINK;
	if (strcmp(s, "nosriov") == 0)
		return FIXTURE_NO_SRIOV;
	return -1;
}

int main(int argc, char **argv)
{
	struct fixture f;
	int kind;

	if (argc == 5 && strcmp(argv[1], "--numvfs") == 0 && (kind = kind_of(argv[3])) >= 0 &&
	    strlen(argv[2]) < sizeof(f.root)) {
		memset(&f, 0, sizeof(f));
		f.kind = (enum fixture_kind)kind;
		snprintf(f.root, sizeof(f.root), "%s", argv[2]);
		if (fixture_set_numvfs(&f, (unsigned)atoi(argv[4])) < 0) {
			perror("mkfixture");
			return 1;
		}
		return 0;
	}
	if (argc != 3 || (kind = kind_of(argv[1])) < 0) {
		fprintf(stderr, "usage: mkfixture vendor|netlink|nosriov N\n"
		                "       mkfixture --numvfs ROOT vendor|netlink N\n");
		return 2;
	}
	if (fixture_build(&f, (enum fixture_kind)kind, (unsigned)atoi(argv[2])) < 0) {
		perror("mkfixture");
		fixture_destroy(&f);
		return 1;
	}
	printf("%s\n", f.root);
	return 0;
}
