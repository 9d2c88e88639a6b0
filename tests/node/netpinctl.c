/*
 * netpinctl.c - drive node/netpin.c from tests/node/netpin.sh (no VM needed: veth pairs in
 * network namespaces stand in for the VMs' taps).
 *
 *   netpinctl script|apply JOBID TAP OUI IP PEER[,PEER...] [ALLOW...]   ALLOW:
 * A.B.C.D/P[:tcp|udp[:PORT]] netpinctl remove JOBID Exit 0, or 1 with the message on stderr.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/netpin.h"

static int ip4(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

static int allow_parse(char *s, struct xvm_netpin_allow *a)
{
	char *slash = strchr(s, '/'), *colon;

	memset(a, 0, sizeof(*a));
	if (!slash)
		return -1;
	*slash = '\0';
	colon = strchr(slash + 1, ':');
	if (colon)
		*colon = '\0';
	a->prefix = (unsigned)atoi(slash + 1);
	if (ip4(s, &a->addr) < 0)
		return -1;
	if (colon) {
		char *port = strchr(colon + 1, ':');

		if (port)
			*port++ = '\0';
		a->proto = strcmp(colon + 1, "tcp") == 0   ? 6
		           : strcmp(colon + 1, "udp") == 0 ? 17
		                                           : 255;
		a->port = port ? (uint16_t)atoi(port) : 0;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct xvm_netpin p = {0};
	uint32_t peers[64];
	struct xvm_netpin_allow allow[8];
	struct xerr err = {""};
	char *script;

	if (argc == 3 && strcmp(argv[1], "remove") == 0) {
		if (xvm_netpin_remove((uint32_t)strtoul(argv[2], NULL, 10), &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (argc < 7 || argc > 7 + 8) {
		fprintf(stderr, "usage: netpinctl script|apply JOB TAP OUI IP PEERS [ALLOW...]\n");
		return 2;
	}
	p.jobid = (uint32_t)strtoul(argv[2], NULL, 10);
	p.tap = argv[3];
	p.oui = argv[4];
	if (ip4(argv[5], &p.ip) < 0)
		return 2;
	for (char *t = strtok(argv[6], ","); t && p.n_peers < 64; t = strtok(NULL, ","))
		if (ip4(t, &peers[p.n_peers++]) < 0)
			return 2;
	p.peers = peers;
	for (int i = 7; i < argc; i++)
		if (allow_parse(argv[i], &allow[p.n_allow++]) < 0)
			return 2;
	p.allow = allow;
	if (strcmp(argv[1], "script") == 0) {
		if (xvm_netpin_script(&p, &script, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		fputs(script, stdout);
		free(script);
		return 0;
	}
	if (xvm_netpin_apply(&p, "/tmp", &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return 0;
}
