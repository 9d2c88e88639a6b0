/*
 * sha.c - SHA-256 through OpenSSL's EVP interface, and midstates through the low-level SHA256_*
 * calls: deprecated in OpenSSL 3, but the only interface that exposes the chaining value (EVP
 * hides it); they run the same SHA-NI/AVX2 code as EVP.  The define must precede every OpenSSL
 * header.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "sha.h"

struct ic_sha_ctx {
	EVP_MD_CTX *md;
};

struct ic_sha_ctx *ic_sha_new(void)
{
	struct ic_sha_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->md = EVP_MD_CTX_new();
	if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c->md);
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

int ic_sha_update(struct ic_sha_ctx *c, const void *buf, size_t len)
{
	if (!c || (!buf && len)) {
		errno = EINVAL;
		return -1;
	}
	if (EVP_DigestUpdate(c->md, buf, len) != 1) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int ic_sha_final(struct ic_sha_ctx *c, uint8_t out[IC_SHA_LEN])
{
	unsigned int n = 0;
	int rc = -1;

	if (!c || !out) {
		errno = EINVAL;
		goto out;
	}
	if (EVP_DigestFinal_ex(c->md, out, &n) != 1 || n != IC_SHA_LEN) {
		errno = EIO;
		goto out;
	}
	rc = 0;
out:
	ic_sha_free(c);
	return rc;
}

void ic_sha_free(struct ic_sha_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
}

int ic_sha256(const void *buf, size_t len, uint8_t out[IC_SHA_LEN])
{
	struct ic_sha_ctx *c = ic_sha_new();

	if (!c)
		return -1;
	if (ic_sha_update(c, buf, len) < 0) {
		ic_sha_free(c);
		return -1;
	}
	return ic_sha_final(c, out);
}

int ic_sha256_fd_range(int fd, uint64_t off, uint64_t len, uint8_t out[IC_SHA_LEN])
{
	/* 1 MiB: large enough that the hash, not the syscalls, is the cost. */
	const size_t bufsz = 1 << 20;
	struct ic_sha_ctx *c = NULL;
	uint8_t *buf = NULL;
	int rc = -1, saved;

	if (fd < 0 || !out) {
		errno = EINVAL;
		return -1;
	}
	c = ic_sha_new();
	buf = malloc(bufsz);
	if (!c || !buf) {
		errno = ENOMEM;
		goto out;
	}
	while (len > 0) {
		size_t want = len < bufsz ? (size_t)len : bufsz;
		ssize_t n = pread(fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0) {
			errno = EIO; /* the file is shorter than its manifest says */
			goto out;
		}
		if (ic_sha_update(c, buf, (size_t)n) < 0)
			goto out;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	rc = ic_sha_final(c, out);
	c = NULL;
out:
	saved = errno;
	ic_sha_free(c);
	free(buf);
	errno = saved;
	return rc;
}

char *ic_sha_to_hex(const uint8_t sha[IC_SHA_LEN], char hex[IC_SHA_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < IC_SHA_LEN; i++) {
		hex[2 * i] = digits[sha[i] >> 4];
		hex[2 * i + 1] = digits[sha[i] & 15];
	}
	hex[IC_SHA_HEX] = '\0';
	return hex;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ic_sha_from_hex(const char *hex, uint8_t sha[IC_SHA_LEN])
{
	if (!hex || !sha || strlen(hex) != IC_SHA_HEX) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < IC_SHA_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			errno = EINVAL;
			return -1;
		}
		sha[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int ic_is_sha_hex(const char *s)
{
	if (!s || strlen(s) != IC_SHA_HEX)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

/* A SHA256_CTX positioned after s's prefix (no buffered bytes). */
static void mid_ctx(const struct ic_sha_mid *s, SHA256_CTX *c)
{
	uint64_t bits = s->bytes * 8;

	SHA256_Init(c);
	memcpy(c->h, s->h, sizeof(c->h));
	c->Nl = (SHA_LONG)(bits & 0xffffffffu);
	c->Nh = (SHA_LONG)(bits >> 32);
}

void ic_sha_mid_init(struct ic_sha_mid *s)
{
	SHA256_CTX c;

	SHA256_Init(&c);
	memcpy(s->h, c.h, sizeof(s->h));
	s->bytes = 0;
}

int ic_sha_mid_update(struct ic_sha_mid *s, const void *buf, size_t len)
{
	SHA256_CTX c;

	if (!s || (!buf && len) || len % 64 != 0 || s->bytes % 64 != 0) {
		errno = EINVAL;
		return -1;
	}
	mid_ctx(s, &c);
	SHA256_Update(&c, buf, len);
	memcpy(s->h, c.h, sizeof(s->h));
	s->bytes += len;
	return 0;
}

int ic_sha_mid_final(const struct ic_sha_mid *s, const void *buf, size_t len,
                     uint8_t out[IC_SHA_LEN])
{
	SHA256_CTX c;

	if (!s || !out || (!buf && len) || s->bytes % 64 != 0) {
		errno = EINVAL;
		return -1;
	}
	mid_ctx(s, &c);
	SHA256_Update(&c, buf, len);
	SHA256_Final(out, &c);
	return 0;
}

void ic_sha_mid_pack(const struct ic_sha_mid *s, uint8_t out[IC_SHA_LEN])
{
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

void ic_sha_mid_unpack(struct ic_sha_mid *s, const uint8_t in[IC_SHA_LEN], uint64_t bytes)
{
	for (int i = 0; i < 8; i++)
		s->h[i] = (uint32_t)in[4 * i] << 24 | (uint32_t)in[4 * i + 1] << 16 |
		          (uint32_t)in[4 * i + 2] << 8 | in[4 * i + 3];
	s->bytes = bytes;
}
