/*
 * mac.c - the MAC address of a VM's NIC (see mac.h for why it comes from the guest's address).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vm/mac.h"

static int oui_ok(const char *oui)
{
	if (strlen(oui) != 8)
		return 0;
	for (int i = 0; i < 8; i++)
		if (i % 3 == 2 ? oui[i] != ':' : !isxdigit((unsigned char)oui[i]))
			return 0;
	return 1;
}

int xvm_guest_mac(const struct xvm_spec *s, const char *oui, unsigned salt, char *mac, size_t len)
{
	unsigned h = 5381, a, b, c, d;

	if (!s || !oui || !mac || len < XVM_MAC_LEN || !oui_ok(oui)) {
		errno = EINVAL;
		return -1;
	}
	if (s->ip_cidr && sscanf(s->ip_cidr, "%u.%u.%u.%u", &a, &b, &c, &d) == 4 && a < 256 &&
	    b < 256 && c < 256 && d < 256) {
		snprintf(mac, len, "%s:%02x:%02x:%02x", oui, b, c, d);
		return 0;
	}
	for (const char *p = s->name ? s->name : ""; *p; p++)
		h = h * 33 + (unsigned char)*p;
	snprintf(mac, len, "%s:%02x:%02x:%02x", oui, (s->job_id >> 8) & 0x7f, s->job_id & 0xff,
	         (h ^ salt) & 0xff);
	return 0;
}
