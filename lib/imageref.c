/* imageref.c - see imageref.h. */
#include "imageref.h"

#include <errno.h>
#include <string.h>

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A NAME or TAG part of n characters. */
static bool part_ok(const char *s, size_t n)
{
	if (n == 0 || !alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* A user name as a namespace: lowercase, as useradd(8) makes them. */
static bool ns_ok(const char *s, size_t n)
{
	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

int xenvm_image_ref_parse(const char *s, struct xenvm_image_ref *r)
{
	const char *slash, *colon, *name;
	size_t len, nlen;

	if (!s || !r || (len = strlen(s)) == 0 || len > XENVM_IMAGE_REF_MAX)
		goto bad;
	memset(r, 0, sizeof(*r));
	slash = strchr(s, '/');
	name = s;
	if (slash) {
		if (!ns_ok(s, (size_t)(slash - s)) || strchr(slash + 1, '/'))
			goto bad;
		memcpy(r->ns, s, (size_t)(slash - s));
		name = slash + 1;
	}
	colon = strchr(name, ':');
	nlen = colon ? (size_t)(colon - name) : strlen(name);
	if (!part_ok(name, nlen))
		goto bad;
	memcpy(r->name, name, nlen);
	if (colon) {
		if (!part_ok(colon + 1, strlen(colon + 1)))
			goto bad;
		strcpy(r->tag, colon + 1);
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

bool xenvm_image_ref_valid(const char *s)
{
	struct xenvm_image_ref r;

	return xenvm_image_ref_parse(s, &r) == 0;
}
