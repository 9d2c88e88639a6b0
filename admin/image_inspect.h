/*
 * image_inspect.h - what an unpacked container root file system is, read from its files rather
 * than typed by the user (issue 16): os and os_version from /etc/os-release, the MPI library and
 * its version, libibverbs and its providers, glibc's version, whether /bin/sh exists.
 *
 * Every path is resolved inside the root (openat2 RESOLVE_IN_ROOT): an image's symlink pointing
 * at "/etc/passwd" or "../../.." names its own files, never the login node's.
 */
#ifndef XENVM_ADMIN_IMAGE_INSPECT_H
#define XENVM_ADMIN_IMAGE_INSPECT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

#define XA_FACT_MAX 65 /* an attribute value: [A-Za-z0-9._+~:-]{1,64} */
#define XA_PROVIDERS_MAX 16

struct xa_image_facts {
	char os[XA_FACT_MAX];         /* os-release ID ("debian"), "" unknown */
	char os_version[XA_FACT_MAX]; /* VERSION_ID ("12") */
	char mpi[XA_FACT_MAX];        /* "mpich" | "openmpi" | "" */
	char mpi_version[XA_FACT_MAX];
	char glibc[XA_FACT_MAX];   /* "2.36" */
	char ibverbs[XA_FACT_MAX]; /* libibverbs' version, "" when absent; "?" present, unknown */
	char providers[XA_PROVIDERS_MAX][XA_FACT_MAX]; /* "rxe", "mlx5", ... (sorted) */
	size_t n_providers;
	bool has_sh; /* /bin/sh resolves to an executable regular file inside the root */
};

/* Open path (as the image sees it) inside root, O_RDONLY|O_CLOEXEC plus flags; -1 with errno. */
int xa_root_open(int rootfd, const char *path, int flags);

/* Read the facts of the root file system at root.  0, or -1 with err (root unreadable). */
int xa_inspect_rootfs(const char *root, struct xa_image_facts *f, struct xerr *err);

/*
 * A Debian package version as an attribute version: no epoch, no Debian revision
 * ("1:2.36-9+deb12u7" -> "2.36"), characters outside the attribute alphabet dropped.
 */
void xa_upstream_version(const char *deb, char *out, size_t len);

/*
 * Whether the image can use the verbs devices a VM gets (a mlx5 VF, else Soft-RoCE): libibverbs
 * and its mlx5 or rxe provider.  The `ib` attribute.
 */
bool xa_facts_verbs(const struct xa_image_facts *f);

/* The facts as an images.yaml `attributes:` block (two-space indented keys), into buf. */
int xa_facts_yaml(const struct xa_image_facts *f, char *buf, size_t len);

#endif
