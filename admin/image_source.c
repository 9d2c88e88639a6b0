/* image_source.c - see image_source.h. */
#include "image_source.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "image_import.h"

static const struct {
	const char *prefix;
	enum xa_transport t;
} transports[] = {
    {"docker://", XA_T_DOCKER},
    {"oci-archive:", XA_T_OCI_ARCHIVE},
    {"docker-archive:", XA_T_DOCKER_ARCHIVE},
    {"oci:", XA_T_OCI},
};

/* Store names are [a-z0-9][a-z0-9._-]{0,39}: lowercase, others become '-', at most 40. */
static void store_name(const char *s, size_t n, char *out, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < len && j < 40; i++) {
		char c = (char)tolower((unsigned char)s[i]);

		if (!(isalnum((unsigned char)c) || (j && strchr("._-", c))))
			c = j ? '-' : 'x';
		out[j++] = c;
	}
	out[j] = '\0';
	if (!j)
		strcpy(out, "image");
}

bool image_import_is_container_source(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz-");

	return n > 0 && s[n] == ':';
}

int xa_source_parse(const char *s, struct xa_source *out, struct xerr *err)
{
	const char *ref = NULL, *base, *colon, *end;
	size_t n;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (strncmp(s, transports[i].prefix, strlen(transports[i].prefix)) == 0) {
			out->transport = transports[i].t;
			ref = s + strlen(transports[i].prefix);
			break;
		}
	if (!ref) {
		n = strcspn(s, ":");
		return xerr_set(err,
		                "unknown transport '%.*s' in '%s' (docker://REGISTRY/REPO:TAG, "
		                "oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE)",
		                (int)n, s, s);
	}
	if (!*ref || strcmp(ref, "/") == 0)
		return xerr_set(err, "'%s': nothing after the transport", s);
	strcpy(out->tag, "latest");
	end = ref + strlen(ref);
	if (out->transport == XA_T_DOCKER) {
		const char *at = strchr(ref, '@');

		if (at)
			end = at;
		base = memrchr(ref, '/', (size_t)(end - ref));
		base = base ? base + 1 : ref;
		colon = memchr(base, ':', (size_t)(end - base));
		if (colon && !at) {
			store_name(colon + 1, (size_t)(end - colon - 1), out->tag,
			           sizeof(out->tag));
			end = colon;
		}
	} else {
		/* oci:DIR:TAG; archives may name an image after the colon too (FILE:REF) */
		colon = strchr(ref, ':');
		if (colon) {
			store_name(colon + 1, strlen(colon + 1), out->tag, sizeof(out->tag));
			end = colon;
		}
		while (end > ref && end[-1] == '/')
			end--;
		base = memrchr(ref, '/', (size_t)(end - ref));
		base = base ? base + 1 : ref;
		/* "mpich.tar" -> "mpich" */
		colon = memchr(base, '.', (size_t)(end - base));
		if (colon && colon > base)
			end = colon;
	}
	store_name(base, (size_t)(end - base), out->name, sizeof(out->name));
	return 0;
}
