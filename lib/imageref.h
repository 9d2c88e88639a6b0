/*
 * imageref.h - what a user may write after --vm-image: [NAMESPACE/]NAME[:TAG].
 *
 * NAME and TAG are 1 or more of [A-Za-z0-9._-], starting with a letter or digit; NAMESPACE is a
 * user name ([a-z_][a-z0-9._-]*): the image store's user images ("alice/lammps:latest").  Site
 * images have no namespace ("ttylinux-mpi", "ttylinux-mpi:2026.12").  The whole reference is at
 * most XENVM_IMAGE_REF_MAX characters.  Plain names, as images.yaml always had them, are valid
 * references, so the catalog, the request parser and imagecast share this one rule.
 */
#ifndef XENVM_IMAGEREF_H
#define XENVM_IMAGEREF_H

#include <stdbool.h>

#define XENVM_IMAGE_REF_MAX 64

struct xenvm_image_ref {
	char ns[XENVM_IMAGE_REF_MAX + 1];   /* "" for a site image */
	char name[XENVM_IMAGE_REF_MAX + 1]; /* never empty */
	char tag[XENVM_IMAGE_REF_MAX + 1];  /* "" when the reference names no tag */
};

/* True when s is a valid reference (above).  NULL is invalid. */
bool xenvm_image_ref_valid(const char *s);

/* Split s into *r.  Returns 0, or -1 with errno EINVAL when s is not a valid reference. */
int xenvm_image_ref_parse(const char *s, struct xenvm_image_ref *r);

#endif
