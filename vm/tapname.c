/* tapname.c - see tapname.h. */
#include "vm/tapname.h"

#include <errno.h>
#include <string.h>

static const char digits36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

/* v in base 36 into out (at least 8 bytes); returns its length. */
static size_t base36(uint32_t v, char *out)
{
	char rev[8];
	size_t n = 0;

	do {
		rev[n++] = digits36[v % 36];
		v /= 36;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	out[n] = '\0';
	return n;
}

int xvm_tap_name(uint32_t jobid, const char *vmname, char *buf, size_t len)
{
	size_t n, name_len = vmname ? strlen(vmname) : 0;
	uint32_t h = 2166136261u; /* FNV-1a */

	if (!buf || len < XVM_TAP_NAME_LEN || name_len == 0 || name_len > 16 ||
	    strspn(vmname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
	        name_len) {
		errno = EINVAL;
		return -1;
	}
	memcpy(buf, "xv", 2);
	n = 2 + base36(jobid, buf + 2);
	if (name_len <= 5) {
		buf[n++] = '_';
		memcpy(buf + n, vmname, name_len + 1);
		return 0;
	}
	for (const char *p = vmname; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	buf[n++] = '.';
	for (int i = 0; i < 5; i++, h /= 36)
		buf[n++] = digits36[h % 36];
	buf[n] = '\0';
	return 0;
}
