/*
 * image_import.h - `xenvm image import`: what users already have, made VM images (issue 16;
 * xenvm-image(1)).
 *
 * Two paths share the verb and are told apart by the arguments:
 *   import SOURCE [--name NAME:TAG]               container images (image_import.c): SOURCE is
 *                                                 docker://REG/REPO:TAG, oci:DIR[:TAG],
 *                                                 oci-archive:FILE or docker-archive:FILE
 *   import --kernel F [--initrd F] --rootdisk F   whole VM images with their own kernel
 *          [--cmdline ...] [--name NAME:TAG]      (image_import_vm.c)
 *   import [IMAGES.YAML]                          the old layout's site catalog (image.c)
 * Both run as the user on the login node and push the result through the manager's socket.
 */
#ifndef XENVM_ADMIN_IMAGE_IMPORT_H
#define XENVM_ADMIN_IMAGE_IMPORT_H

#include <stdbool.h>

#include "lib/config.h"

/*
 * argv[0] is "import", the rest its arguments as the user gave them (getopt state reset by the
 * caller: optind = 0).  sock is the manager's socket.  Returns an enum xa_exit status.
 */
int image_import(const struct xenvm_config *cfg, const char *sock, int argc, char **argv);
int image_import_vm(const struct xenvm_config *cfg, const char *sock, int argc, char **argv);

/* True when argv (as above) asks for the whole-VM path: a --kernel option is present. */
bool image_import_is_vm(int argc, char **argv);

/* True when s starts with a transport this file knows (docker://, oci:, oci-archive:,
 * docker-archive:) or looks like one (LETTERS: or LETTERS://): the container path owns it. */
bool image_import_is_container_source(const char *s);

#endif
