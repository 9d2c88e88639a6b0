/*
 * fuzz_imagecast_wire.c - libFuzzer target for what imagecastd reads from its peers and clients:
 * frame headers (imagecast/proto.c), manifests (manifest.c), fetch requests (spec.c) and node
 * lists (hosts.c).
 *
 * Boundary: node -> node.  Peers prove who they are with munge, but every frame header, the
 * HELLO's included, is parsed before that, and after it a manifest or fetch request comes from
 * whichever node is our parent in the broadcast tree.  One compromised or broken node must not
 * be able to crash (or corrupt) the imagecastd of the others, which run as root on every node.
 * Node lists are what a user gives the imagecast CLI.
 *
 * The first byte picks the parser and the rest is its input:
 *   'H' frame header, 'M' manifest, 'D' manifest whose digest line the harness first sets to the
 *   digest of its file lines (a mutated manifest otherwise never gets past the digest check),
 *   'S' fetch request, 'N' node list; any other byte runs the header, manifest and request
 *   parsers on the rest.  (Node lists only with 'N': libslurm leaks on a bad range, and each
 *   leak makes libFuzzer scan for leaks, 15 times slower; tests/lsan.supp.)
 * A manifest or request that parses must format and parse back to the same text.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imagecast/hosts.h"
#include "imagecast/manifest.h"
#include "imagecast/proto.h"
#include "imagecast/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_header(const uint8_t *p, size_t n)
{
	uint8_t h[IC_FRAME_HDR];
	unsigned type;
	uint32_t len;
	struct xerr err;

	if (n < IC_FRAME_HDR)
		return;
	memcpy(h, p, sizeof(h));
	if (ic_hdr_unpack(h, &type, &len, &err) == 0) {
		if (type == 0 || type >= IC_FRAME_TYPE_MAX || len > IC_FRAME_MAX)
			abort();
		(void)ic_frame_name(type);
	}
	(void)ic_frame_name(h[5]);
}

/*
 * The layout manifest.h promises: each file is cut into ceil(size / chunk_bytes) chunks, in
 * order, and ic_manifest_chunk finds every index below nchunks in one of them.
 */
static void check_chunks(const struct ic_manifest *m)
{
	uint32_t idx[] = {0, m->nchunks / 2, m->nchunks ? m->nchunks - 1 : 0, m->nchunks};
	uint64_t next = 0, total = 0;

	for (size_t i = 0; i < m->nfiles; i++) {
		const struct ic_file *f = &m->files[i];

		if (f->first_chunk != next || (uint64_t)f->nchunks * m->chunk_bytes < f->size ||
		    (f->nchunks && (uint64_t)(f->nchunks - 1) * m->chunk_bytes >= f->size))
			abort();
		next += f->nchunks;
		total += f->size;
	}
	if (next != m->nchunks || total != m->total_bytes)
		abort();
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		size_t file;
		uint64_t off;
		uint32_t len;
		int rc = ic_manifest_chunk(m, idx[i], &file, &off, &len);

		if ((rc == 0) != (idx[i] < m->nchunks))
			abort();
		if (rc == 0 && (file >= m->nfiles || len == 0 || len > m->chunk_bytes ||
		                off + len > m->files[file].size))
			abort();
	}
}

static void fuzz_manifest(const char *text, size_t n)
{
	struct ic_manifest *m = NULL, *back = NULL;
	struct xerr err;
	char *t1 = NULL, *t2 = NULL;
	long l1, l2;

	if (ic_manifest_parse(text, n, &m, &err) < 0) {
		if (m)
			abort();
		return;
	}
	check_chunks(m);
	l1 = ic_manifest_format(m, &t1);
	if (l1 < 0)
		abort();
	if (ic_manifest_parse(t1, (size_t)l1, &back, &err) < 0)
		abort(); /* what we format, we must read */
	l2 = ic_manifest_format(back, &t2);
	if (l2 != l1 || memcmp(t1, t2, (size_t)l1) != 0 || back->nchunks != m->nchunks ||
	    back->total_bytes != m->total_bytes)
		abort();
	free(t1);
	free(t2);
	ic_manifest_free(back);
	ic_manifest_free(m);
}

/*
 * The manifest with its digest line(s) replaced by the digest of its file lines, read as
 * ic_manifest_parse reads them, so that mutations reach the layout and the chunk lines.
 */
static void fuzz_manifest_fixed_digest(const char *text, size_t n)
{
	struct ic_file files[IC_MAX_FILES];
	char digest[IC_DIGEST_LEN + 1], *copy, *out = NULL, *line, *save = NULL;
	size_t nfiles = 0, olen = 0;
	FILE *f;

	memset(files, 0, sizeof(files));
	copy = strndup(text, n);
	if (!copy)
		abort();
	for (line = strtok_r(copy, "\n", &save); line && nfiles < IC_MAX_FILES;
	     line = strtok_r(NULL, "\n", &save)) {
		char a[IC_ROLE_MAX], c[PATH_MAX], path[PATH_MAX];
		uint64_t u;

		if (sscanf(line, "file %31s %" SCNu64 " %65s %4095s", a, &u, c, path) == 4 &&
		    ic_sha_from_hex(c, files[nfiles].sha) == 0) {
			snprintf(files[nfiles].role, IC_ROLE_MAX, "%s", a);
			files[nfiles].size = u;
			nfiles++;
		}
	}
	free(copy);
	if (nfiles == 0 || ic_digest_of(files, nfiles, digest) < 0) {
		fuzz_manifest(text, n);
		return;
	}
	copy = strndup(text, n);
	f = open_memstream(&out, &olen);
	if (!copy || !f)
		abort();
	save = NULL;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "digest ", 7) == 0)
			fprintf(f, "digest %s\n", digest);
		else
			fprintf(f, "%s\n", line);
	}
	free(copy);
	if (fclose(f) != 0)
		abort();
	fuzz_manifest(out, olen);
	free(out);
}

static void fuzz_spec(const char *text)
{
	struct ic_spec s, back;
	struct xerr err;
	char *t1 = NULL, *t2 = NULL;
	long l1, l2;

	if (ic_spec_parse(text, &s, &err) < 0) {
		if (s.nodes || s.store || s.pin || s.nfiles || s.nnodes)
			abort(); /* a failed parse leaves nothing to free */
		return;
	}
	for (size_t i = 0; i < s.nnodes; i++)
		if (ic_spec_rank(&s, s.nodes[i]) != (long)i)
			abort();
	l1 = ic_spec_format(&s, &t1);
	if (l1 < 0)
		abort();
	if (ic_spec_parse(t1, &back, &err) < 0)
		abort();
	l2 = ic_spec_format(&back, &t2);
	if (l2 != l1 || memcmp(t1, t2, (size_t)l1) != 0)
		abort();
	free(t1);
	free(t2);
	ic_spec_clear(&back);
	ic_spec_clear(&s);
}

static void fuzz_hosts(const char *expr)
{
	char **hosts = NULL;
	struct xerr err;
	long n;
	int brackets = 0;

	/*
	 * libslurm builds every name of a multi-dimensional range before we can count them:
	 * "a[1-966]b[1-675]c[1-2]" takes it 0.4 s, and over 10 s under ASan (realloc copies).
	 * That is libslurm's to fix; two bracket groups are enough to exercise ours.
	 */
	for (const char *c = expr; *c; c++)
		brackets += *c == '[';
	if (brackets > 2)
		return;
	n = ic_hosts_expand(expr, &hosts, &err);
	if (n == 0 || (n > 0 && !hosts) || n > IC_MAX_NODES)
		abort();
	for (long i = 0; i < n; i++) {
		/* a host name, and a line of a fetch request: not empty, no space or control */
		if (!hosts[i][0])
			abort();
		for (const char *c = hosts[i]; *c; c++)
			if ((unsigned char)*c <= ' ' || *c == 0x7f)
				abort();
	}
	if (n > 0)
		ic_hosts_free(hosts, (size_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	char mode;

	if (size == 0)
		return 0;
	mode = (char)data[0];
	data++;
	size--;
	/* the parsers that take a C string get one (they stop at an embedded NUL) */
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	switch (mode) {
	case 'H':
		fuzz_header(data, size);
		break;
	case 'M':
		fuzz_manifest((const char *)data, size); /* need not be NUL-terminated */
		break;
	case 'D':
		fuzz_manifest_fixed_digest(text, size);
		break;
	case 'S':
		fuzz_spec(text);
		break;
	case 'N':
		fuzz_hosts(text);
		break;
	default:
		fuzz_header(data, size);
		fuzz_manifest((const char *)data, size);
		fuzz_spec(text);
		break;
	}
	free(text);
	return 0;
}
