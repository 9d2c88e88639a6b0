/* guid.c - see guid.h. */
#include "guid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

/* Returns the hash; NULL hashes as "". */
uint64_t xenib_fnv1a64(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* Returns the GUID, or 0 with errno EINVAL. */
uint64_t xenib_guid(uint16_t prefix, const char *node, unsigned slot, enum xenib_guid_kind kind)
{
	if (!node || !*node || slot > 255 || prefix == 0 || prefix == 0xffff ||
	    (kind != XENIB_NODE_GUID && kind != XENIB_PORT_GUID)) {
		errno = EINVAL;
		return 0;
	}
	return (uint64_t)prefix << 48 | (xenib_fnv1a64(node) >> 25) << 9 | (uint64_t)slot << 1 |
	       (uint64_t)kind;
}

void xenib_guid_colon(uint64_t guid, char *buf, size_t len)
{
	if (!buf || !len)
		return;
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x:%02x:%02x", (unsigned)(guid >> 56) & 0xff,
	         (unsigned)(guid >> 48) & 0xff, (unsigned)(guid >> 40) & 0xff,
	         (unsigned)(guid >> 32) & 0xff, (unsigned)(guid >> 24) & 0xff,
	         (unsigned)(guid >> 16) & 0xff, (unsigned)(guid >> 8) & 0xff,
	         (unsigned)guid & 0xff);
}

void xenib_guid_hex(uint64_t guid, char *buf, size_t len)
{
	if (!buf || !len)
		return;
	snprintf(buf, len, "0x%016" PRIx64, guid);
}
