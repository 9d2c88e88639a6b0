/*
 * sha.h - SHA-256 helpers (OpenSSL EVP) shared by the manifest, the store and the transfer code.
 */
#ifndef IC_SHA_H
#define IC_SHA_H

#include <stddef.h>
#include <stdint.h>

#define IC_SHA_LEN 32
#define IC_SHA_HEX 64

/* Hash `len` bytes of `buf` into out[IC_SHA_LEN].  Returns 0, or -1 with errno ENOMEM. */
int ic_sha256(const void *buf, size_t len, uint8_t out[IC_SHA_LEN]);

/*
 * Hash `len` bytes of `fd` starting at `off` (pread; the file offset is untouched) into out.
 * Returns 0, or -1 with errno from pread (EIO for a short file) or ENOMEM.
 */
int ic_sha256_fd_range(int fd, uint64_t off, uint64_t len, uint8_t out[IC_SHA_LEN]);

/* Lower-case hex of a digest into hex[IC_SHA_HEX + 1].  Returns hex. */
char *ic_sha_to_hex(const uint8_t sha[IC_SHA_LEN], char hex[IC_SHA_HEX + 1]);

/* Parse 64 hex digits (either case).  Returns 0, or -1 with errno EINVAL. */
int ic_sha_from_hex(const char *hex, uint8_t sha[IC_SHA_LEN]);

/* True when s is exactly 64 lower-case hex digits. */
int ic_is_sha_hex(const char *s);

/*
 * The SHA-256 chaining value after a prefix whose length is a multiple of 64 bytes (a "midstate").
 * With the midstates at chunk boundaries in the manifest, a node checks any chunk alone (compress
 * it from the midstate before it, compare with the one after it) and the last chunk of a file
 * from its midstate straight to the file's sha256: each byte is hashed once, yet the whole file
 * is checked against the catalog's sha256 (the chain runs from the fixed initial value to it).
 */
struct ic_sha_mid {
	uint32_t h[8];
	uint64_t bytes; /* length of the prefix; a multiple of 64 */
};
/* The state of the empty prefix. */
void ic_sha_mid_init(struct ic_sha_mid *s);
/* Advance over len bytes, len a multiple of 64.  Returns 0, or -1 with errno EINVAL. */
int ic_sha_mid_update(struct ic_sha_mid *s, const void *buf, size_t len);
/* The sha256 of the prefix followed by len bytes of buf (s is unchanged).  Returns 0, or -1 with
 * errno EINVAL. */
int ic_sha_mid_final(const struct ic_sha_mid *s, const void *buf, size_t len,
                     uint8_t out[IC_SHA_LEN]);
/* The chaining value as 32 bytes (big-endian words), as the manifest carries it. */
void ic_sha_mid_pack(const struct ic_sha_mid *s, uint8_t out[IC_SHA_LEN]);
/* The state from its packed form and the prefix length. */
void ic_sha_mid_unpack(struct ic_sha_mid *s, const uint8_t in[IC_SHA_LEN], uint64_t bytes);

/* An incremental hasher: an opaque EVP context. */
struct ic_sha_ctx;
/* Returns a new context, or NULL with errno ENOMEM. */
struct ic_sha_ctx *ic_sha_new(void);
/* Returns 0, or -1 with errno EIO on an OpenSSL failure. */
int ic_sha_update(struct ic_sha_ctx *c, const void *buf, size_t len);
/* Finish into out and free the context (NULL is ignored).  Returns 0, or -1 with errno EIO. */
int ic_sha_final(struct ic_sha_ctx *c, uint8_t out[IC_SHA_LEN]);
/* Free without finishing (NULL is ignored). */
void ic_sha_free(struct ic_sha_ctx *c);

#endif
