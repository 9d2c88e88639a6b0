/*
 * spec.c - fetch requests, text form (see spec.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosts.h"
#include "spec.h"
#include "tree.h"

long ic_spec_format(const struct ic_spec *s, char **out)
{
	char *buf = NULL, hex[IC_SHA_HEX + 1];
	size_t size = 0;
	FILE *f;

	if (!s || !out) {
		errno = EINVAL;
		return -1;
	}
	f = open_memstream(&buf, &size);
	if (!f)
		return -1;
	fprintf(f, "name %s\ndigest %s\nshape %s\nchunk_bytes %" PRIu64 "\n", s->name, s->digest,
	        ic_shape_name(s->shape), s->chunk_bytes);
	if (s->store)
		fprintf(f, "store %s\n", s->store);
	if (s->pin)
		fprintf(f, "pin %s\n", s->pin);
	for (size_t i = 0; i < s->nnodes; i++)
		fprintf(f, "node %s\n", s->nodes[i]);
	for (size_t i = 0; i < s->nfiles; i++)
		fprintf(f, "file %s %" PRIu64 " %s %s\n", s->files[i].role, s->files[i].size,
		        ic_sha_to_hex(s->files[i].sha, hex), s->files[i].path);
	if (fclose(f) != 0) {
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	*out = buf;
	return (long)size;
}

void ic_spec_clear(struct ic_spec *s)
{
	if (!s)
		return;
	free(s->store);
	free(s->pin);
	ic_hosts_free(s->nodes, s->nnodes);
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i].path);
	memset(s, 0, sizeof(*s));
}

/* Set *dst to a copy of src.  Returns 0 or -1 (ENOMEM). */
static int set_str(char **dst, const char *src)
{
	char *c = strdup(src);

	if (!c)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

int ic_spec_parse(const char *text, struct ic_spec *s, struct xerr *err)
{
	char *copy = NULL, *save = NULL, *line;
	const char *dup;
	size_t cap = 0, lineno = 0;
	int rc = -1, dups;

	if (!text || !s) {
		return xerr_errno(err, EINVAL, "internal error: bad arguments");
	}
	memset(s, 0, sizeof(*s));
	copy = strdup(text);
	if (!copy)
		goto nomem;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' '), *val;

		lineno++;
		if (!sp) {
			xerr_set(err, "request line %zu: no value", lineno);
			goto bad;
		}
		*sp = '\0';
		val = sp + 1;
		if (strcmp(line, "name") == 0) {
			if (ic_valid_name(val) < 0) {
				xerr_set(err, "request: invalid image name '%s'", val);
				goto bad;
			}
			snprintf(s->name, sizeof(s->name), "%s", val);
		} else if (strcmp(line, "digest") == 0) {
			if (ic_valid_digest(val) < 0) {
				xerr_set(err, "request: invalid digest '%s'", val);
				goto bad;
			}
			snprintf(s->digest, sizeof(s->digest), "%s", val);
		} else if (strcmp(line, "shape") == 0) {
			if (ic_shape_parse(val, &s->shape) < 0) {
				xerr_set(err, "request: unknown shape '%s'", val);
				goto bad;
			}
		} else if (strcmp(line, "chunk_bytes") == 0) {
			char *end;

			errno = 0;
			s->chunk_bytes = strtoull(val, &end, 10);
			if (errno || *end || s->chunk_bytes < IC_CHUNK_MIN ||
			    s->chunk_bytes > IC_CHUNK_MAX) {
				xerr_set(err, "request: chunk_bytes '%s' outside %u..%u", val,
				         IC_CHUNK_MIN, IC_CHUNK_MAX);
				goto bad;
			}
		} else if (strcmp(line, "store") == 0) {
			if (ic_valid_path(val) < 0 || val[0] != '/') {
				xerr_set(err, "request: store must be an absolute path");
				goto bad;
			}
			if (set_str(&s->store, val) < 0)
				goto nomem;
		} else if (strcmp(line, "pin") == 0) {
			if (set_str(&s->pin, val) < 0)
				goto nomem;
		} else if (strcmp(line, "node") == 0) {
			if (!*val || s->nnodes >= IC_MAX_NODES) {
				xerr_set(err, "request: bad node line %zu", lineno);
				goto bad;
			}
			if (s->nnodes == cap) {
				char **grown;

				cap = cap ? cap * 2 : 16;
				grown = realloc(s->nodes, cap * sizeof(*s->nodes));
				if (!grown)
					goto nomem;
				s->nodes = grown;
			}
			s->nodes[s->nnodes] = strdup(val);
			if (!s->nodes[s->nnodes])
				goto nomem;
			s->nnodes++;
		} else if (strcmp(line, "file") == 0) {
			struct ic_file *f = &s->files[s->nfiles];
			char role[IC_ROLE_MAX], hex[IC_SHA_HEX + 2], path[PATH_MAX];

			if (s->nfiles == IC_MAX_FILES ||
			    sscanf(val, "%31s %" SCNu64 " %65s %4095s", role, &f->size, hex,
			           path) != 4 ||
			    ic_valid_role(role) < 0 || ic_sha_from_hex(hex, f->sha) < 0 ||
			    ic_valid_path(path) < 0) {
				xerr_set(err, "request: bad file line %zu", lineno);
				goto bad;
			}
			snprintf(f->role, sizeof(f->role), "%s", role);
			f->path = strdup(path);
			if (!f->path)
				goto nomem;
			s->nfiles++;
		} else {
			xerr_set(err, "request line %zu: unknown key '%s'", lineno, line);
			goto bad;
		}
	}
	if (!s->name[0] || !s->digest[0] || !s->nnodes || !s->nfiles || !s->chunk_bytes) {
		xerr_set(err, "request: name, digest, chunk_bytes, node and file are required");
		goto bad;
	}
	dups = ic_hosts_dup(s->nodes, s->nnodes, &dup);
	if (dups < 0)
		goto nomem;
	if (dups > 0) {
		xerr_set(err, "request: node %s appears twice", dup);
		goto bad;
	}
	rc = 0;
	goto out;
nomem:
	errno = ENOMEM;
	xerr_set(err, "out of memory");
	goto fail;
bad:
	errno = EINVAL;
fail : {
	int e = errno;

	ic_spec_clear(s);
	errno = e;
}
out:
	free(copy);
	return rc;
}

long ic_spec_rank(const struct ic_spec *s, const char *node)
{
	if (s && node)
		for (size_t i = 0; i < s->nnodes; i++)
			if (strcmp(s->nodes[i], node) == 0)
				return (long)i;
	errno = ENOENT;
	return -1;
}
