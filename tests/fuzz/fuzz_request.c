/*
 * fuzz_request.c - libFuzzer target for the VM request a user writes (lib/request.c, lib/units.c).
 *
 * Boundary: user -> Slurm.  --vm-image, --vm-mem, --vm-vcpus ... and the XENVM_* variables are
 * whatever the submitting user typed.  They are parsed by the SPANK plugin inside srun/sbatch,
 * by job_submit-vmimage inside slurmctld and by the Prolog as root (SPANK_XENVM_*), so a crash
 * there takes down the controller or fails a node for everyone.  Sizes and durations
 * (xenvm_parse_size, xenvm_parse_duration) also read xenvm.yaml and images.yaml.
 *
 * The input is cut at newlines: every line goes through each field parser, and the lines
 * together are the environment that xenvm_request_from_env reads (with and without the SPANK_
 * prefix).  A size that parses must format (xenvm_format_size) and parse back to the same value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/request.h"
#include "lib/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 64

static void fuzz_fields(const char *s)
{
	char image[XENVM_IMAGE_NAME_MAX + 1], digest[XENVM_DIGEST_LEN + 1], buf[32];
	char require[XENVM_REQUIRE_MAX_LEN + 1], again[XENVM_REQUIRE_MAX_LEN + 1];
	struct xerr err;
	uint64_t bytes, back;
	uint32_t u32;
	bool flag;

	if (xenvm_parse_image_name("image", s, image, &err) == 0 && strcmp(image, s) != 0)
		abort();
	if (xenvm_parse_mem("mem", s, &bytes, &err) == 0 && bytes < (16ULL << 20))
		abort();
	if (xenvm_parse_vcpus("vcpus", s, &u32, &err) == 0 && (u32 < 1 || u32 > XENVM_VCPUS_MAX))
		abort();
	(void)xenvm_parse_flag("flag", s, &flag, &err);
	if (xenvm_parse_digest("digest", s, digest, &err) == 0 && strcmp(digest, s) != 0)
		abort();
	/* --vm-require: the canonical form parses again to itself */
	if (xenvm_parse_require("require", s, require, &err) == 0 &&
	    (xenvm_parse_require("require", require, again, &err) < 0 || strcmp(require, again)))
		abort();
	(void)xenvm_parse_duration(s, &u32);
	if (xenvm_parse_size(s, &bytes) == 0) {
		/* units.h: the formatted size reads back as the same number of bytes */
		if (!xenvm_format_size(bytes, buf, sizeof(buf)) ||
		    xenvm_parse_size(buf, &back) < 0 || back != bytes)
			abort();
	}
}

static void fuzz_env(char **lines, uint32_t n)
{
	struct xenvm_envv e = {lines, n};
	struct xenvm_request r;
	struct xerr err;
	int rc;

	rc = xenvm_request_from_env(&r, "", xenvm_getenv_array, &e, &xenvm_source_env, &err);
	if (rc == 1 && ((!r.image[0] && !r.require[0]) || strlen(r.image) > XENVM_IMAGE_NAME_MAX ||
	                strlen(r.require) > XENVM_REQUIRE_MAX_LEN))
		abort();
	if (rc == 0 && (r.image[0] || r.require[0]))
		abort();
	rc =
	    xenvm_request_from_env(&r, "SPANK_", xenvm_getenv_array, &e, &xenvm_source_spank, &err);
	if (rc == 1 && ((!r.image[0] && !r.require[0]) ||
	                (r.mem_bytes && r.mem_bytes < (16ULL << 20)) || r.vcpus > XENVM_VCPUS_MAX))
		abort();
	(void)xenvm_request_from_env(&r, "", xenvm_getenv_array, &e, &xenvm_source_options, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *lines[MAX_LINES];
	const uint8_t *p = data, *end = data + size;
	uint32_t n = 0;

	/* each line in an allocation of its own, so that reading past its NUL is caught */
	while (n < MAX_LINES) {
		const uint8_t *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		size_t len = (size_t)((nl ? nl : end) - p);

		lines[n] = malloc(len + 1);
		if (!lines[n])
			abort();
		if (len)
			memcpy(lines[n], p, len);
		lines[n++][len] = '\0';
		if (!nl)
			break;
		p = nl + 1;
	}
	for (uint32_t i = 0; i < n; i++)
		fuzz_fields(lines[i]);
	fuzz_env(lines, n);
	for (uint32_t i = 0; i < n; i++)
		free(lines[i]);
	return 0;
}
