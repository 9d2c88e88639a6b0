/* netpin.c - see netpin.h. */
#include "node/netpin.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/run.h"

#define NFT_TIMEOUT_MS 30000

/* A tap's part of the job's table: nft names are [A-Za-z_][A-Za-z0-9_]*, taps may hold - and . */
static void chain_suffix(const char *tap, char *out, size_t len)
{
	unsigned h = 5381;
	size_t i = 0;

	for (const char *p = tap; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (const char *p = tap; *p && i + 1 < len; p++)
		out[i++] = isalnum((unsigned char)*p) ? *p : '_';
	out[i] = '\0';
	/* Two taps that differ only in - . _ must not share chains. */
	snprintf(out + i, len - i, "_%04x", h & 0xffff);
}

static int tap_ok(const char *tap)
{
	size_t n = tap ? strlen(tap) : 0;

	if (n == 0 || n > 15)
		return 0;
	for (const char *p = tap; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return 0;
	return 1;
}

/* "xx:xx:xx" into 3 bytes.  0, or -1. */
static int parse_oui(const char *oui, unsigned char b[3])
{
	unsigned x[3];
	char tail;

	if (!oui || strlen(oui) != 8 ||
	    sscanf(oui, "%2x:%2x:%2x%c", &x[0], &x[1], &x[2], &tail) != 3)
		return -1;
	for (int i = 0; i < 3; i++)
		b[i] = (unsigned char)x[i];
	return 0;
}

/* The VM's MAC (vm/mac.c's rule: the oui, then the address's low three bytes). */
static void mac_of(const unsigned char oui[3], uint32_t ip, unsigned char mac[6])
{
	memcpy(mac, oui, 3);
	mac[3] = (unsigned char)(ip >> 16);
	mac[4] = (unsigned char)(ip >> 8);
	mac[5] = (unsigned char)ip;
}

static void put_mac(FILE *f, const unsigned char m[6])
{
	fprintf(f, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void put_ip(FILE *f, uint32_t a)
{
	fprintf(f, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

/* The IPv6 link-local address the guest's kernel forms from its MAC (EUI-64). */
static void put_ll(FILE *f, const unsigned char m[6])
{
	fprintf(f, "fe80::%02x%02x:%02xff:fe%02x:%02x%02x", m[0] ^ 2, m[1], m[2], m[3], m[4], m[5]);
}

/*
 * The listed services (and the gateway, for ARP) in chain <dir>_<s>: "from" matches what the VM
 * sends them (daddr, dport), "to" their replies (saddr, sport).
 */
static void put_allowed(FILE *f, const struct xvm_netpin *p, const char *s, const char *dir,
                        const char *addr, const char *port)
{
	const char *arp = strcmp(addr, "daddr") == 0 ? "daddr" : "saddr";

	if (p->gateway) {
		fprintf(f, "add rule bridge xenvm_job%u %s_%s ether type arp arp %s ip ", p->jobid,
		        dir, s, arp);
		put_ip(f, p->gateway);
		fputs(" accept\n", f);
	}
	for (size_t i = 0; i < p->n_allow; i++) {
		const struct xvm_netpin_allow *a = &p->allow[i];
		uint32_t net = a->prefix ? a->addr & (0xffffffffu << (32 - a->prefix)) : 0;

		fprintf(f, "add rule bridge xenvm_job%u %s_%s ether type arp arp %s ip ", p->jobid,
		        dir, s, arp);
		put_ip(f, net);
		fprintf(f, "/%u accept\n", a->prefix);
		fprintf(f, "add rule bridge xenvm_job%u %s_%s ether type ip ip %s ", p->jobid, dir,
		        s, addr);
		put_ip(f, net);
		fprintf(f, "/%u", a->prefix);
		if (a->proto)
			fprintf(f, " ip protocol %s", a->proto == 6 ? "tcp" : "udp");
		if (a->port)
			fprintf(f, " %s %s %u", a->proto == 6 ? "tcp" : "udp", port,
			        (unsigned)a->port);
		fputs(" accept\n", f);
	}
}

static int check(const struct xvm_netpin *p, unsigned char oui[3], struct xerr *err)
{
	errno = EINVAL;
	if (!tap_ok(p->tap))
		return xerr_set(err, "network pin: tap name '%s' is not an interface name",
		                p->tap ? p->tap : "");
	if (parse_oui(p->oui, oui) < 0)
		return xerr_set(err, "network pin: '%s' is not a MAC prefix xx:xx:xx",
		                p->oui ? p->oui : "");
	if (p->n_peers == 0 || !p->peers)
		return xerr_set(err, "network pin: job %u: no VM addresses", (unsigned)p->jobid);
	if (p->n_peers > XVM_NETPIN_MAX_PEERS)
		return xerr_set(err, "network pin: job %u: %zu VMs, at most %u", (unsigned)p->jobid,
		                p->n_peers, XVM_NETPIN_MAX_PEERS);
	for (size_t i = 0; i < p->n_allow; i++) {
		const struct xvm_netpin_allow *a = &p->allow[i];

		if (a->prefix > 32 || (a->proto != 0 && a->proto != 6 && a->proto != 17) ||
		    (a->port && !a->proto))
			return xerr_set(err,
			                "network pin: allowed service %zu: bad prefix, protocol "
			                "or port",
			                i + 1);
	}
	errno = 0;
	return 0;
}

int xvm_netpin_script(const struct xvm_netpin *p, char **out, struct xerr *err)
{
	unsigned char oui[3] = {0}, mac[6], pm[6];
	char s[48];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int rc = -1;

	*out = NULL;
	if (check(p, oui, err) < 0)
		goto out;
	f = open_memstream(&buf, &len);
	if (!f) {
		xerr_set(err, "network pin: %s", strerror(errno));
		goto out;
	}
	chain_suffix(p->tap, s, sizeof(s));
	mac_of(oui, p->ip, mac);
	fprintf(f, "add table bridge xenvm_job%u\n", (unsigned)p->jobid);
	/* Replacing a pin of the same tap: create what is missing, then empty it. */
	fprintf(f, "add set bridge xenvm_job%u p4_%s { type ipv4_addr; }\n", p->jobid, s);
	fprintf(f, "add set bridge xenvm_job%u p6_%s { type ipv6_addr; }\n", p->jobid, s);
	fprintf(f, "flush set bridge xenvm_job%u p4_%s\n", p->jobid, s);
	fprintf(f, "flush set bridge xenvm_job%u p6_%s\n", p->jobid, s);
	fprintf(f, "add element bridge xenvm_job%u p4_%s { ", p->jobid, s);
	for (size_t i = 0; i < p->n_peers; i++) {
		fputs(i ? ", " : "", f);
		put_ip(f, p->peers[i]);
	}
	fprintf(f, " }\nadd element bridge xenvm_job%u p6_%s { ", p->jobid, s);
	for (size_t i = 0; i < p->n_peers; i++) {
		fputs(i ? ", " : "", f);
		mac_of(oui, p->peers[i], pm);
		put_ll(f, pm);
	}
	fputs(" }\n", f);
	/* Base chains per tap, so that pinning a tap again replaces only its own rules. */
	fprintf(f,
	        "add chain bridge xenvm_job%1$u fwd_%2$s { type filter hook forward priority -10; "
	        "policy accept; }\n"
	        "add chain bridge xenvm_job%1$u in_%2$s { type filter hook input priority -10; "
	        "policy accept; }\n"
	        "add chain bridge xenvm_job%1$u out_%2$s { type filter hook output priority -10; "
	        "policy accept; }\n"
	        "add chain bridge xenvm_job%1$u from_%2$s\n"
	        "add chain bridge xenvm_job%1$u to_%2$s\n",
	        p->jobid, s);
	fprintf(f,
	        "flush chain bridge xenvm_job%1$u fwd_%2$s\n"
	        "flush chain bridge xenvm_job%1$u in_%2$s\n"
	        "flush chain bridge xenvm_job%1$u out_%2$s\n"
	        "flush chain bridge xenvm_job%1$u from_%2$s\n"
	        "flush chain bridge xenvm_job%1$u to_%2$s\n"
	        "add rule bridge xenvm_job%1$u fwd_%2$s iifname \"%3$s\" jump from_%2$s\n"
	        "add rule bridge xenvm_job%1$u fwd_%2$s oifname \"%3$s\" jump to_%2$s\n"
	        "add rule bridge xenvm_job%1$u in_%2$s iifname \"%3$s\" jump from_%2$s\n"
	        "add rule bridge xenvm_job%1$u out_%2$s oifname \"%3$s\" jump to_%2$s\n",
	        p->jobid, s, p->tap);
	/* From the VM: its own MAC and addresses only, to the job's VMs and listed services. */
	fprintf(f, "add rule bridge xenvm_job%u from_%s ether saddr != ", p->jobid, s);
	put_mac(f, mac);
	fprintf(f, " drop\nadd rule bridge xenvm_job%u from_%s ether type arp arp saddr ether != ",
	        p->jobid, s);
	put_mac(f, mac);
	fprintf(f, " drop\nadd rule bridge xenvm_job%u from_%s ether type arp arp saddr ip != ",
	        p->jobid, s);
	put_ip(f, p->ip);
	fprintf(f,
	        " drop\n"
	        "add rule bridge xenvm_job%1$u from_%2$s ether type arp arp daddr ip @p4_%2$s "
	        "accept\n"
	        "add rule bridge xenvm_job%1$u from_%2$s ether type ip ip saddr != ",
	        p->jobid, s);
	put_ip(f, p->ip);
	fprintf(f,
	        " drop\nadd rule bridge xenvm_job%1$u from_%2$s ether type ip ip daddr @p4_%2$s "
	        "accept\n",
	        p->jobid, s);
	put_allowed(f, p, s, "from", "daddr", "dport");
	fprintf(f, "add rule bridge xenvm_job%u from_%s ether type ip6 ip6 saddr != ", p->jobid, s);
	put_ll(f, mac);
	fprintf(f,
	        " drop\n"
	        "add rule bridge xenvm_job%1$u from_%2$s ether type ip6 ip6 daddr @p6_%2$s accept\n"
	        "add rule bridge xenvm_job%1$u from_%2$s ether type ip6 ip6 daddr ff02::/16 "
	        "accept\n"
	        "add rule bridge xenvm_job%1$u from_%2$s drop\n",
	        p->jobid, s);
	/* To the VM: only what the job's VMs send. */
	fprintf(
	    f,
	    "add rule bridge xenvm_job%1$u to_%2$s ether type arp arp saddr ip @p4_%2$s accept\n"
	    "add rule bridge xenvm_job%1$u to_%2$s ether type ip ip saddr @p4_%2$s accept\n"
	    "add rule bridge xenvm_job%1$u to_%2$s ether type ip6 ip6 saddr @p6_%2$s accept\n",
	    p->jobid, s);
	put_allowed(f, p, s, "to", "saddr", "sport");
	fprintf(f, "add rule bridge xenvm_job%u to_%s drop\n", p->jobid, s);
	if (fclose(f) != 0) {
		f = NULL;
		xerr_set(err, "network pin: %s", strerror(errno));
		goto out;
	}
	f = NULL;
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	if (f)
		fclose(f);
	free(buf);
	return rc;
}

static const char *nft_path(void)
{
	const char *p = getenv("XENVM_NFT");

	return p && p[0] == '/' ? p : "/usr/sbin/nft";
}

/*
 * nft's reason: its first "Error:" line and the statement it names (the line after; the last
 * line is only the "^^^" under it), else its last line.
 */
static void nft_reason(const char *s, char *buf, size_t len)
{
	const char *e = strstr(s, "Error:"), *nl, *stmt, *end;

	if (!e) {
		xenvm_last_line(s, buf, len);
		return;
	}
	nl = strchr(e, '\n');
	if (!nl) {
		snprintf(buf, len, "%s", e);
		return;
	}
	stmt = nl + 1;
	end = strchr(stmt, '\n');
	snprintf(buf, len, "%.*s: %.*s", (int)(nl - e), e,
	         (int)(end ? end - stmt : (ptrdiff_t)strlen(stmt)), stmt);
}

/* Run nft with argv[1..]; 0, or -1 with err from nft's error (nft_reason). */
static int run_nft(char **argv, struct xerr *err)
{
	struct xenvm_run_result *r = malloc(sizeof(*r));
	char line[512];
	int rc = -1;

	if (!r) {
		return xerr_errno(err, ENOMEM, "network pin: out of memory");
	}
	argv[0] = (char *)nft_path();
	if (xenvm_run(argv, NULL, NFT_TIMEOUT_MS, r) < 0) {
		int e = errno;

		xerr_set(err, "network pin: cannot run %s: %s", argv[0], strerror(e));
		errno = e;
		goto out;
	}
	if (r->timed_out || !WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
		nft_reason(r->err, line, sizeof(line));
		xerr_set(err, "network pin: %s %s: %s", argv[0], argv[1],
		         r->timed_out ? "did not finish in 30 s" : line);
		errno = EIO;
		goto out;
	}
	rc = 0;
out:
	free(r);
	return rc;
}

int xvm_netpin_apply(const struct xvm_netpin *p, const char *tmpdir, struct xerr *err)
{
	char path[4096], *script = NULL;
	char *argv[4] = {NULL, "-f", path, NULL};
	size_t n;
	int fd = -1, rc = -1;

	if (xvm_netpin_script(p, &script, err) < 0)
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/.netpin-job%u.XXXXXX", tmpdir,
	                     (unsigned)p->jobid) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		xerr_set(err, "network pin: %s: name too long", tmpdir);
		goto out;
	}
	fd = mkstemp(path);
	if (fd < 0) {
		int e = errno;

		xerr_set(err, "network pin: cannot create a file in %s: %s", tmpdir, strerror(e));
		errno = e;
		goto out;
	}
	n = strlen(script);
	if (write(fd, script, n) != (ssize_t)n) {
		int e = errno ? errno : EIO;

		xerr_set(err, "network pin: %s: %s", path, strerror(e));
		errno = e;
		goto out;
	}
	rc = run_nft(argv, err);
out:
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	free(script);
	return rc;
}

int xvm_netpin_remove(uint32_t jobid, struct xerr *err)
{
	char table[32];
	char *list[5] = {NULL, "list", "tables", "bridge", NULL};
	char *del[6] = {NULL, "delete", "table", "bridge", table, NULL};
	struct xenvm_run_result *r = malloc(sizeof(*r));
	char want[64];
	int rc = -1;

	if (!r) {
		return xerr_errno(err, ENOMEM, "network pin: out of memory");
	}
	snprintf(table, sizeof(table), "xenvm_job%u", (unsigned)jobid);
	/* Without nft nothing can have been pinned (the Prolog fails first): nothing to remove. */
	if (access(nft_path(), X_OK) < 0 && errno == ENOENT) {
		free(r);
		return 0;
	}
	/* Only delete what exists: nft's "no such table" is not worth parsing. */
	list[0] = (char *)nft_path();
	if (xenvm_run(list, NULL, NFT_TIMEOUT_MS, r) < 0 || r->timed_out || !WIFEXITED(r->status) ||
	    WEXITSTATUS(r->status) != 0) {
		errno = EIO;
		xerr_set(err, "network pin: %s list tables bridge failed", list[0]);
		goto out;
	}
	snprintf(want, sizeof(want), "table bridge %s\n", table);
	if (!strstr(r->out, want)) {
		rc = 0;
		goto out;
	}
	rc = run_nft(del, err);
out:
	free(r);
	return rc;
}
