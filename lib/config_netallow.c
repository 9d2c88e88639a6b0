/*
 * config_netallow.c - xenvm.yaml's network.allow: the services a job's VMs may reach beside
 * each other when node/netpin.h pins their taps (xenvm.yaml(5)).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "yamldoc.h"

/* A decimal number in 0..max with nothing after it.  0, or -1. */
static int parse_num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out > max ? -1 : 0;
}

/* Returns 0, or -1 with errno EINVAL and err naming the part that is wrong. */
int xenvm_net_allow_parse(const char *s, struct xenvm_net_allow *out, struct xerr *err)
{
	char buf[64], *proto = NULL, *port = NULL, *slash;
	struct xenvm_net_allow a = {.prefix = 32};
	struct in_addr in;
	unsigned long n;

	errno = EINVAL;
	if (!s || strlen(s) >= sizeof(buf))
		return xerr_set(err, "expected ADDR[/PREFIX][:tcp|udp|any[:PORT]]");
	memcpy(buf, s, strlen(s) + 1);
	proto = strchr(buf, ':');
	if (proto) {
		*proto++ = '\0';
		port = strchr(proto, ':');
		if (port)
			*port++ = '\0';
	}
	slash = strchr(buf, '/');
	if (slash) {
		*slash++ = '\0';
		if (parse_num(slash, 32, &n) < 0)
			return xerr_set(err, "prefix '%s' is not 0..32", slash);
		a.prefix = (uint8_t)n;
	}
	if (inet_pton(AF_INET, buf, &in) != 1)
		return xerr_set(err, "'%s' is not an IPv4 address", buf);
	a.addr = ntohl(in.s_addr);
	if (a.prefix < 32 && (a.addr & (a.prefix ? 0xffffffffu >> a.prefix : 0xffffffffu)))
		return xerr_set(err, "%s/%u has host bits set", buf, a.prefix);
	if (proto) {
		if (!strcmp(proto, "tcp"))
			a.proto = 6;
		else if (!strcmp(proto, "udp"))
			a.proto = 17;
		else if (strcmp(proto, "any") != 0)
			return xerr_set(err, "protocol '%s' is not tcp, udp or any", proto);
	}
	if (port) {
		if (!a.proto)
			return xerr_set(err, "a port needs tcp or udp");
		if (parse_num(port, 65535, &n) < 0 || n == 0)
			return xerr_set(err, "port '%s' is not 1..65535", port);
		a.port = (uint16_t)n;
	}
	*out = a;
	return 0;
}

/* Returns 0, or -1 with err and errno EINVAL or ENOMEM. */
int xenvm_config_net_allow_parse(const struct ydoc *d, const void *map, const struct ypath *at,
                                 struct xenvm_config *cfg, struct xerr *err)
{
	const yaml_node_t *m = map;
	struct xenvm_net_allow *v = NULL;
	char **strs = NULL;
	size_t n = 0;
	int rc = -1;

	if (!m)
		return 0;
	rc = ydoc_get_strlist(d, m, at, "allow", 0, &strs, &n, err);
	if (rc <= 0)
		return rc;
	rc = -1;
	if (n && !(v = calloc(n, sizeof(*v)))) {
		errno = ENOMEM;
		xerr_set(err, "%s: out of memory", d->file);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *seq = ydoc_lookup(d, m, "allow", NULL);
		const yaml_node_t *item = ydoc_node(d, seq->data.sequence.items.start[i]);
		const struct ypath elem = {.up = YPATH_KEY(at, "allow"), .key = NULL, .index = i};
		struct xerr why;

		if (xenvm_net_allow_parse(strs[i], &v[i], &why) < 0) {
			ydoc_error(d, err, item, &elem, "%s", why.msg);
			goto out;
		}
	}
	free(cfg->network.allow);
	cfg->network.allow = v;
	cfg->network.n_allow = n;
	v = NULL;
	rc = 0;
out:
	free(v);
	ydoc_strv_free(strs, n);
	return rc;
}
