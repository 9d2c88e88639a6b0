/*
 * catalog_digest.c - an image's digest.
 *
 * digest = "sha256:" + hex(SHA-256(canonical)), where canonical is, for kernel, initrd and (when
 * present) rootdisk in that order, one line "<role> <sha256 hex> <size in decimal>\n".  Paths are
 * left out on purpose: moving a file inside the store does not change what boots.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "catalog_priv.h"

/*
 * Returns 0 with img->digest set, or -1 with errno EINVAL (NULL img), ENOMEM or EIO (OpenSSL
 * failed).
 */
int xenvm_image_digest(struct xenvm_image *img)
{
	static const char hex[] = "0123456789abcdef";
	const struct {
		const char *role;
		const struct xenvm_image_file *f;
	} parts[] = {
	    {"kernel", img ? &img->kernel : NULL},
	    {"initrd", img ? &img->initrd : NULL},
	    {"rootdisk", img ? &img->rootdisk : NULL},
	};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx = NULL;
	char line[128];
	int rc = -1;

	if (!img) {
		errno = EINVAL;
		return -1;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		errno = ENOMEM;
		return -1;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		int n;

		if (i == 2 && !parts[i].f->path)
			break;
		n = snprintf(line, sizeof(line), "%s %s %llu\n", parts[i].role, parts[i].f->sha256,
		             (unsigned long long)parts[i].f->size);
		if (n < 0 || (size_t)n >= sizeof(line) ||
		    EVP_DigestUpdate(ctx, line, (size_t)n) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len * 2 != XENVM_SHA256_HEX_LEN)
		goto out;
	memcpy(img->digest, "sha256:", 7);
	for (unsigned int i = 0; i < md_len; i++) {
		img->digest[7 + 2 * i] = hex[md[i] >> 4];
		img->digest[7 + 2 * i + 1] = hex[md[i] & 0xf];
	}
	img->digest[XENVM_DIGEST_LEN] = '\0';
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	if (rc < 0)
		errno = EIO;
	return rc;
}
