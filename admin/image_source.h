/*
 * image_source.h - a container image SOURCE as `xenvm image import` takes it (xenvm-image(1)):
 * docker://REG/REPO[:TAG|@DIGEST], oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE.
 * Only the transport is judged here; the rest is skopeo's (containers-transports(5)).
 */
#ifndef XENVM_ADMIN_IMAGE_SOURCE_H
#define XENVM_ADMIN_IMAGE_SOURCE_H

#include <stddef.h>

#include "lib/error.h"

enum xa_transport { XA_T_DOCKER, XA_T_OCI, XA_T_OCI_ARCHIVE, XA_T_DOCKER_ARCHIVE };

struct xa_source {
	enum xa_transport transport;
	char name[41]; /* the default store name: the repository's last part, lowercased */
	char tag[41];  /* the default tag: the source's tag, else "latest" */
};

/*
 * Judge s.  0, or -1 with err: "unknown transport 'X'" (naming the four), or an empty reference.
 * For archives and oci: without a tag the name is the file's or directory's base name.
 */
int xa_source_parse(const char *s, struct xa_source *out, struct xerr *err);

#endif
