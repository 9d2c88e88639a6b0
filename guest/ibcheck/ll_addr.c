/*
 * ll_addr.c - the state of an IPv6 address from /proc/net/if_inet6 (see ll_addr.h for why).
 * /proc rather than rtnetlink: one small text file, no socket, and the unit test can feed it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ll_addr.h"

/* include/uapi/linux/if_addr.h */
#define IFA_F_DADFAILED 0x08
#define IFA_F_TENTATIVE 0x40

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 32 hex digits into 16 bytes; 0 on success, -1 if s is not exactly that. */
static int parse_addr(const char *s, unsigned char out[16])
{
	if (strlen(s) != 32)
		return -1;
	for (int i = 0; i < 16; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int ll_addr_state(FILE *f, const unsigned char addr[16], unsigned ifindex)
{
	char line[256];

	if (!f || !addr) {
		errno = EINVAL;
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char hex[40], name[32];
		unsigned idx, plen, scope, flags;
		unsigned char a[16];

		if (sscanf(line, "%39s %x %x %x %x %31s", hex, &idx, &plen, &scope, &flags, name) !=
		        6 ||
		    parse_addr(hex, a) != 0)
			continue;
		if (memcmp(a, addr, sizeof(a)) != 0 || (ifindex && idx != ifindex))
			continue;
		if (flags & IFA_F_DADFAILED)
			return LL_ADDR_DADFAILED;
		/* Optimistic too: whether the route lookup may use an optimistic address
		 * depends on more sysctls, and waiting for DAD to end costs a second. */
		if (flags & IFA_F_TENTATIVE)
			return LL_ADDR_TENTATIVE;
		return LL_ADDR_USABLE;
	}
	if (ferror(f)) {
		errno = EIO;
		return -1;
	}
	return LL_ADDR_ABSENT;
}

const char *ll_addr_state_name(int state)
{
	switch (state) {
	case LL_ADDR_USABLE:
		return "usable";
	case LL_ADDR_TENTATIVE:
		return "tentative";
	case LL_ADDR_DADFAILED:
		return "dadfailed";
	case LL_ADDR_ABSENT:
		return "absent";
	default:
		return "?";
	}
}
