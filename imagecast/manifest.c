/*
 * manifest.c - image manifests: chunk layout, hashing from the store, text form.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"

#include "lib/blob.h"
#include "lib/imageref.h"

/* The catalog's own rule (lib/imageref.h): NAME, NAME:TAG or USER/NAME[:TAG]. */
int ic_valid_name(const char *s)
{
	if (!xenvm_image_ref_valid(s) || strlen(s) > IC_NAME_MAX) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int ic_valid_role(const char *s)
{
	size_t n;

	/* A role becomes a file name in the cache: no '/', no leading dot. */
	if (!s || !*s || *s == '.')
		goto bad;
	for (n = 0; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			goto bad;
	}
	if (n >= IC_ROLE_MAX)
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int ic_valid_path(const char *s)
{
	const char *p;

	if (!s || !*s || strlen(s) >= PATH_MAX)
		goto bad;
	for (p = s; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			goto bad;
	/* No ".." component: a request must not reach outside the store. */
	for (p = s; (p = strstr(p, "..")) != NULL; p += 2)
		if ((p == s || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int ic_valid_digest(const char *s)
{
	if (!s || strncmp(s, "sha256:", 7) != 0 || !ic_is_sha_hex(s + 7)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int ic_digest_of(const struct ic_file *files, size_t n, char out[IC_DIGEST_LEN + 1])
{
	struct ic_sha_ctx *c;
	uint8_t sha[IC_SHA_LEN];
	char hex[IC_SHA_HEX + 1], line[IC_ROLE_MAX + IC_SHA_HEX + 32];

	if (!files || !n || !out) {
		errno = EINVAL;
		return -1;
	}
	c = ic_sha_new();
	if (!c)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(line, sizeof(line), "%s %s %" PRIu64 "\n", files[i].role,
		                   ic_sha_to_hex(files[i].sha, hex), files[i].size);

		/* A role longer than IC_ROLE_MAX would hash a cut line (and len past the buffer).
		 */
		if (len < 0 || (size_t)len >= sizeof(line)) {
			ic_sha_free(c);
			errno = ENAMETOOLONG;
			return -1;
		}
		if (ic_sha_update(c, line, (size_t)len) < 0) {
			ic_sha_free(c);
			return -1;
		}
	}
	if (ic_sha_final(c, sha) < 0)
		return -1;
	snprintf(out, IC_DIGEST_LEN + 1, "sha256:%s", ic_sha_to_hex(sha, hex));
	return 0;
}

/* The chunks a file of `size` bytes is cut into (not rounded up by adding: no overflow). */
static uint64_t file_chunks(uint64_t size, uint64_t chunk_bytes)
{
	return size / chunk_bytes + (size % chunk_bytes != 0);
}

/* Lay the chunks out over the files; fails with EINVAL on an overflow of the 32-bit index. */
static int layout(struct ic_manifest *m)
{
	uint64_t total = 0, chunks = 0;

	for (size_t i = 0; i < m->nfiles; i++) {
		uint64_t nc = file_chunks(m->files[i].size, m->chunk_bytes);

		m->files[i].first_chunk = (uint32_t)chunks;
		m->files[i].nchunks = (uint32_t)nc;
		chunks += nc;
		total += m->files[i].size;
		if (chunks > UINT32_MAX / 2) {
			errno = EINVAL;
			return -1;
		}
	}
	m->total_bytes = total;
	m->nchunks = (uint32_t)chunks;
	return 0;
}

int ic_manifest_new(const char *name, const char *digest, uint64_t chunk_bytes,
                    const struct ic_file *files, size_t nfiles, struct ic_manifest **out,
                    struct xerr *err)
{
	struct ic_manifest *m = NULL;
	char computed[IC_DIGEST_LEN + 1];
	int rc = -1;

	if (!out || !files) {
		return xerr_errno(err, EINVAL, "internal error: no files");
	}
	*out = NULL;
	if (ic_valid_name(name) < 0)
		return xerr_set(err, "invalid image name '%s'", name ? name : "(null)");
	if (ic_valid_digest(digest) < 0)
		return xerr_set(err, "image %s: invalid digest '%s'", name,
		                digest ? digest : "(null)");
	if (chunk_bytes < IC_CHUNK_MIN || chunk_bytes > IC_CHUNK_MAX) {
		return xerr_errno(err, EINVAL, "chunk size %" PRIu64 " outside %u..%u", chunk_bytes,
		                  IC_CHUNK_MIN, IC_CHUNK_MAX);
	}
	if (nfiles == 0 || nfiles > IC_MAX_FILES) {
		return xerr_errno(err, EINVAL, "image %s: %zu files (1..%d allowed)", name, nfiles,
		                  IC_MAX_FILES);
	}
	for (size_t i = 0; i < nfiles; i++) {
		if (ic_valid_role(files[i].role) < 0 || ic_valid_path(files[i].path) < 0)
			return xerr_set(err, "image %s: invalid file '%s' '%s'", name,
			                files[i].role, files[i].path ? files[i].path : "(null)");
		for (size_t j = 0; j < i; j++)
			if (strcmp(files[i].role, files[j].role) == 0) {
				return xerr_errno(err, EINVAL, "image %s: file role '%s' twice",
				                  name, files[i].role);
			}
	}
	if (ic_digest_of(files, nfiles, computed) < 0)
		return xerr_set(err, "image %s: cannot compute digest: %s", name, strerror(errno));
	if (strcmp(computed, digest) != 0) {
		return xerr_errno(err, EINVAL,
		                  "image %s: files give digest %s, not the requested %s", name,
		                  computed, digest);
	}

	m = calloc(1, sizeof(*m));
	if (!m)
		goto nomem;
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->digest, sizeof(m->digest), "%s", digest);
	m->chunk_bytes = chunk_bytes;
	m->nfiles = nfiles;
	for (size_t i = 0; i < nfiles; i++) {
		m->files[i] = files[i];
		m->files[i].path = strdup(files[i].path);
		if (!m->files[i].path)
			goto nomem;
	}
	if (layout(m) < 0) {
		xerr_set(err, "image %s: too many chunks", name);
		goto out;
	}
	m->chunks = calloc(m->nchunks ? m->nchunks : 1, IC_SHA_LEN);
	if (!m->chunks)
		goto nomem;
	if (chunk_bytes % 64 == 0) {
		m->mids = calloc(m->nchunks ? m->nchunks : 1, IC_SHA_LEN);
		if (!m->mids)
			goto nomem;
	}
	*out = m;
	m = NULL;
	rc = 0;
	goto out;
nomem:
	errno = ENOMEM;
	xerr_set(err, "out of memory");
out:
	ic_manifest_free(m);
	return rc;
}

int ic_manifest_hash_store(struct ic_manifest *m, const char *store, struct xerr *err)
{
	char path[PATH_MAX];
	struct xenvm_blob *b = NULL;
	struct xerr berr;
	int rc = -1;

	if (!m || !store) {
		return xerr_errno(err, EINVAL, "internal error: no manifest or store");
	}
	for (size_t i = 0; i < m->nfiles; i++) {
		struct ic_file *f = &m->files[i];
		struct ic_sha_ctx *whole = NULL;
		struct ic_sha_mid mid;
		uint8_t sha[IC_SHA_LEN];
		uint8_t *buf = NULL;
		char hex[IC_SHA_HEX + 1];

		if (f->path[0] == '/')
			snprintf(path, sizeof(path), "%s", f->path);
		else if (snprintf(path, sizeof(path), "%s/%s", store, f->path) >=
		         (int)sizeof(path)) {
			errno = ENAMETOOLONG;
			xerr_set(err, "image %s: path too long", m->name);
			goto out;
		}
		/* whole or chunked in the store (lib/blob.h): the same bytes either way */
		if (xenvm_blob_open(store, f->path, &b, &berr) < 0) {
			xerr_set(err, "image %s: %s %s", m->name, f->role, berr.msg);
			goto out;
		}
		if (xenvm_blob_size(b) != f->size) {
			errno = EBADMSG;
			xerr_set(err,
			         "image %s: %s %s is %" PRIu64 " bytes, the catalog says %" PRIu64,
			         m->name, f->role, path, xenvm_blob_size(b), f->size);
			goto out;
		}
		/*
		 * One read: each chunk's hash and the file's chain of midstates (or, for a chunk
		 * size that is not a multiple of 64, the file's hash) from the same buffer.
		 */
		buf = malloc(m->chunk_bytes);
		if (!buf || (!m->mids && !(whole = ic_sha_new()))) {
			free(buf);
			errno = ENOMEM;
			xerr_set(err, "out of memory");
			goto out;
		}
		ic_sha_mid_init(&mid);
		for (uint32_t c = 0; c < f->nchunks; c++) {
			uint64_t off = (uint64_t)c * m->chunk_bytes;
			size_t len = (size_t)(f->size - off < m->chunk_bytes ? f->size - off
			                                                     : m->chunk_bytes);
			size_t got = 0;
			bool last = c + 1 == f->nchunks;
			int hrc;

			while (got < len) {
				ssize_t n = xenvm_blob_pread(b, buf + got, len - got, off + got);

				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					if (n == 0)
						errno = EIO;
					xerr_set(err, "image %s: reading %s: %s", m->name, path,
					         strerror(errno));
					ic_sha_free(whole);
					free(buf);
					goto out;
				}
				got += (size_t)n;
			}
			hrc = ic_sha256(buf, len, m->chunks[f->first_chunk + c]);
			if (hrc == 0 && whole)
				hrc = ic_sha_update(whole, buf, len);
			else if (hrc == 0 && !last)
				hrc = ic_sha_mid_update(&mid, buf, len);
			else if (hrc == 0)
				hrc = ic_sha_mid_final(&mid, buf, len, sha);
			if (hrc < 0) {
				xerr_set(err, "image %s: hashing %s: %s", m->name, path,
				         strerror(errno));
				ic_sha_free(whole);
				free(buf);
				goto out;
			}
			if (m->mids && !last)
				ic_sha_mid_pack(&mid, m->mids[f->first_chunk + c]);
			else if (m->mids)
				memcpy(m->mids[f->first_chunk + c], sha, IC_SHA_LEN);
		}
		free(buf);
		/* ic_sha_final frees whole; an empty file's hash is that of no bytes. */
		if ((whole && ic_sha_final(whole, sha) < 0) ||
		    (!whole && f->nchunks == 0 && ic_sha_mid_final(&mid, NULL, 0, sha) < 0)) {
			xerr_set(err, "image %s: hashing %s: %s", m->name, path, strerror(errno));
			goto out;
		}
		if (memcmp(sha, f->sha, IC_SHA_LEN) != 0) {
			errno = EBADMSG;
			xerr_set(err,
			         "image %s: %s %s has sha256 %s, not the catalog's (digest %s)",
			         m->name, f->role, path, ic_sha_to_hex(sha, hex), m->digest);
			goto out;
		}
		xenvm_blob_close(b);
		b = NULL;
	}
	rc = 0;
out:
	xenvm_blob_close(b);
	return rc;
}

int ic_manifest_check_chunk(const struct ic_manifest *m, uint32_t idx, const void *data, size_t len)
{
	uint8_t sha[IC_SHA_LEN];
	struct ic_sha_mid mid;
	uint64_t off;
	uint32_t clen;
	size_t fi;

	if (ic_manifest_chunk(m, idx, &fi, &off, &clen) < 0 || len != clen || (!data && len)) {
		errno = ERANGE;
		return -1;
	}
	if (!m->mids) {
		if (ic_sha256(data, len, sha) < 0)
			return -1;
		if (memcmp(sha, m->chunks[idx], IC_SHA_LEN) != 0)
			goto bad;
		return 0;
	}
	if (idx == m->files[fi].first_chunk)
		ic_sha_mid_init(&mid);
	else
		ic_sha_mid_unpack(&mid, m->mids[idx - 1], off);
	if (idx + 1 == m->files[fi].first_chunk + m->files[fi].nchunks) {
		/* The file's last chunk: the chain must end in the catalog's sha256. */
		if (ic_sha_mid_final(&mid, data, len, sha) < 0)
			return -1;
		if (memcmp(sha, m->files[fi].sha, IC_SHA_LEN) != 0)
			goto bad;
		return 0;
	}
	if (ic_sha_mid_update(&mid, data, len) < 0)
		return -1;
	ic_sha_mid_pack(&mid, sha);
	if (memcmp(sha, m->mids[idx], IC_SHA_LEN) != 0)
		goto bad;
	return 0;
bad:
	errno = EBADMSG;
	return -1;
}

int ic_manifest_chunk(const struct ic_manifest *m, uint32_t idx, size_t *file, uint64_t *off,
                      uint32_t *len)
{
	if (!m || idx >= m->nchunks) {
		errno = ERANGE;
		return -1;
	}
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct ic_file *f = &m->files[i];

		if (idx >= f->first_chunk && idx < f->first_chunk + f->nchunks) {
			uint64_t o = (uint64_t)(idx - f->first_chunk) * m->chunk_bytes;

			if (file)
				*file = i;
			if (off)
				*off = o;
			if (len)
				*len = (uint32_t)(f->size - o < m->chunk_bytes ? f->size - o
				                                               : m->chunk_bytes);
			return 0;
		}
	}
	errno = ERANGE;
	return -1;
}

long ic_manifest_format(const struct ic_manifest *m, char **out)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f;
	char hex[IC_SHA_HEX + 1];

	if (!m || !out) {
		errno = EINVAL;
		return -1;
	}
	f = open_memstream(&buf, &size);
	if (!f)
		return -1;
	fprintf(f, "imagecast-manifest %d\nname %s\ndigest %s\nchunk_bytes %" PRIu64 "\n",
	        m->mids ? 2 : 1, m->name, m->digest, m->chunk_bytes);
	for (size_t i = 0; i < m->nfiles; i++)
		fprintf(f, "file %s %" PRIu64 " %s %s\n", m->files[i].role, m->files[i].size,
		        ic_sha_to_hex(m->files[i].sha, hex), m->files[i].path);
	for (uint32_t c = 0; c < m->nchunks; c++) {
		fprintf(f, "chunk %s", ic_sha_to_hex(m->chunks[c], hex));
		fprintf(f, m->mids ? " %s\n" : "\n", m->mids ? ic_sha_to_hex(m->mids[c], hex) : "");
	}
	if (fclose(f) != 0) {
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	*out = buf;
	return (long)size;
}

/*
 * ic_manifest_new for parsed text: version 1 text carries no midstates, version 2 needs them
 * (and so a chunk size that is a multiple of 64).  The files must not need more chunks than the
 * text has chunk lines (`lines`): the chunk table is sized by what the files claim, and a few
 * bytes claiming a huge file must not allocate gigabytes.  Returns 0, or -1 with err (errno
 * EINVAL).
 */
static int build(const char *name, const char *digest, uint64_t chunk_bytes,
                 const struct ic_file *files, size_t nfiles, int version, uint64_t lines,
                 struct ic_manifest **m, struct xerr *err)
{
	uint64_t need = 0;

	/* (a chunk size out of bounds is ic_manifest_new's error) */
	for (size_t i = 0; chunk_bytes >= IC_CHUNK_MIN && i < nfiles; i++)
		need += file_chunks(files[i].size, chunk_bytes); /* < 2^48 each: no overflow */
	if (need > lines) {
		errno = EINVAL;
		return xerr_set(err,
		                "manifest: the files need %" PRIu64 " chunks, the text has %" PRIu64
		                " chunk lines",
		                need, lines);
	}
	if (ic_manifest_new(name, digest, chunk_bytes, files, nfiles, m, err) < 0)
		return -1;
	if (version == 1) {
		free((*m)->mids);
		(*m)->mids = NULL;
	} else if (!(*m)->mids) {
		ic_manifest_free(*m);
		*m = NULL;
		errno = EINVAL;
		return xerr_set(
		    err, "manifest: midstates with chunk size %" PRIu64 " (not a multiple of 64)",
		    chunk_bytes);
	}
	return 0;
}

int ic_manifest_parse(const char *text, size_t len, struct ic_manifest **out, struct xerr *err)
{
	struct ic_file files[IC_MAX_FILES];
	struct ic_manifest *m = NULL;
	char name[IC_NAME_MAX + 1] = "", digest[IC_DIGEST_LEN + 1] = "";
	uint64_t chunk_bytes = 0;
	size_t nfiles = 0, lineno = 0;
	uint32_t nchunk = 0;
	char *copy = NULL, *save = NULL, *line;
	uint64_t chunk_lines = 0;
	int rc = -1, have_magic = 0, version = 0;

	memset(files, 0, sizeof(files));
	if (!text || !out) {
		return xerr_errno(err, EINVAL, "internal error: no manifest text");
	}
	*out = NULL;
	copy = strndup(text, len);
	if (!copy) {
		return xerr_errno(err, ENOMEM, "out of memory");
	}
	/* The chunk lines bound the chunk table (build). */
	for (const char *p = copy;; p++) {
		if (strncmp(p, "chunk ", 6) == 0)
			chunk_lines++;
		p = strchr(p, '\n');
		if (!p)
			break;
	}
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char a[IC_ROLE_MAX], b[PATH_MAX], c[PATH_MAX];
		char path[PATH_MAX];
		uint64_t u;

		lineno++;
		if (!have_magic) {
			if (strcmp(line, "imagecast-manifest 1") == 0) {
				version = 1;
			} else if (strcmp(line, "imagecast-manifest 2") == 0) {
				version = 2;
			} else {
				xerr_set(err, "manifest line 1: not an imagecast manifest "
				              "(version 1 or 2)");
				goto bad;
			}
			have_magic = 1;
		} else if (sscanf(line, "name %64s", name) == 1 && !m) {
		} else if (sscanf(line, "digest %71s", digest) == 1 && !m) {
		} else if (sscanf(line, "chunk_bytes %" SCNu64, &chunk_bytes) == 1 && !m) {
		} else if (strncmp(line, "file ", 5) == 0 && !m) {
			if (nfiles == IC_MAX_FILES ||
			    sscanf(line, "file %31s %" SCNu64 " %65s %4095s", a, &u, c, path) !=
			        4 ||
			    ic_sha_from_hex(c, files[nfiles].sha) < 0) {
				xerr_set(err, "manifest line %zu: bad file line", lineno);
				goto bad;
			}
			snprintf(files[nfiles].role, IC_ROLE_MAX, "%s", a);
			files[nfiles].size = u;
			files[nfiles].path = strdup(path);
			if (!files[nfiles].path) {
				errno = ENOMEM;
				xerr_set(err, "out of memory");
				goto out;
			}
			nfiles++;
		} else if (strncmp(line, "chunk ", 6) == 0) {
			int nf = sscanf(line, "chunk %65s %65s", b, c);

			/* The first chunk line ends the header: build the manifest once. */
			if (!m && build(name, digest, chunk_bytes, files, nfiles, version,
			                chunk_lines, &m, err) < 0)
				goto out;
			if (nchunk >= m->nchunks || nf != (m->mids ? 2 : 1) ||
			    ic_sha_from_hex(b, m->chunks[nchunk]) < 0 ||
			    (m->mids && ic_sha_from_hex(c, m->mids[nchunk]) < 0)) {
				xerr_set(err, "manifest line %zu: bad or extra chunk line", lineno);
				goto bad;
			}
			nchunk++;
		} else {
			xerr_set(err, "manifest line %zu: unexpected '%.40s'", lineno, line);
			goto bad;
		}
	}
	/* An image of empty files has no chunk lines. */
	if (!m &&
	    build(name, digest, chunk_bytes, files, nfiles, version, chunk_lines, &m, err) < 0)
		goto out;
	if (nchunk != m->nchunks) {
		xerr_set(err, "manifest: %u chunk lines, the layout needs %u", nchunk, m->nchunks);
		goto bad;
	}
	/* Each file's chain ends in its sha256; a manifest that says otherwise is corrupt. */
	for (size_t i = 0; m->mids && i < m->nfiles; i++) {
		const struct ic_file *f = &m->files[i];

		if (f->nchunks &&
		    memcmp(m->mids[f->first_chunk + f->nchunks - 1], f->sha, IC_SHA_LEN) != 0) {
			xerr_set(err, "manifest: the midstates of %s do not end in its sha256",
			         f->role);
			goto bad;
		}
	}
	*out = m;
	m = NULL;
	rc = 0;
	goto out;
bad:
	errno = EINVAL;
out:
	for (size_t i = 0; i < nfiles; i++)
		free(files[i].path);
	ic_manifest_free(m);
	free(copy);
	return rc;
}

void ic_manifest_free(struct ic_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i].path);
	free(m->chunks);
	free(m->mids);
	free(m);
}
