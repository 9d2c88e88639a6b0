/* spec.c - see spec.h. */
#include "node/spec.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "node/sharepolicy.h"
#include "node/vmsize.h"

#define XVM_STR_(x) #x
#define XVM_STR(x) XVM_STR_(x)

#define SPEC_VM_NAME "vm0"

/* Is `path` already covered by one of the shares (equal or below one)? */
static bool shared_already(const struct xvm_spec *s, const char *path)
{
	for (size_t i = 0; i < s->n_shares; i++) {
		size_t n = strlen(s->shares[i].host_path);

		if (strncmp(path, s->shares[i].host_path, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/' || n == 1))
			return true;
	}
	return false;
}

/* What the shares are checked against (sharepolicy.h), built once per job. */
struct share_ctx {
	struct xvm_share_policy pol;
	struct xvm_share_who who;
	const char *allowed[64];
	const char *never[3];
	gid_t groups[256];
	bool xen; /* no read-only 9p export in libxl: a read-only share is refused */
};

/* A refused share: in the log, and in js->warnings for the user. */
static void refuse(struct xvm_job_spec *js, uint32_t jobid, const char *what, const char *path,
                   const char *why)
{
	size_t off = strlen(js->warnings);

	xwarn("job %" PRIu32 ": %s %s is not shared with the VM: %s", jobid, what, path, why);
	snprintf(js->warnings + off, sizeof(js->warnings) - off,
	         "%s%s %s is not shared with the VM: %s", off ? "; " : "", what, path, why);
}

/*
 * Share host `path` at guest `dst` (NULL: the same path) when the policy allows it; js owns the
 * strings.  Returns true when it is shared (or already was).
 */
static bool add_share(struct xvm_job_spec *js, const struct share_ctx *c, uint32_t jobid,
                      enum xvm_share_kind kind, const char *path, const char *dst, bool ro,
                      const char *what)
{
	struct xvm_spec *s = &js->spec;
	char real[PATH_MAX];
	struct xerr why;

	if (!path || !*path)
		return false;
	if (xvm_share_check(&c->pol, &c->who, kind, path, real, &why) < 0) {
		refuse(js, jobid, what, path, why.msg);
		return false;
	}
	if (!dst && shared_already(s, real))
		return true;
	if (ro && c->xen) {
		refuse(js, jobid, what, path, "the xen driver cannot export a directory read-only");
		return false;
	}
	/* Its guest path goes on the kernel command line (xenvm.9p=): a space would add a
	 * parameter of its own, a comma another share (vm/guest_cmdline.h). */
	for (const char *p = real; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p > 0x7e || *p == ',') {
			refuse(js, jobid, what, real, "it has a space, comma or control character");
			return false;
		}
	if (s->n_shares == XVM_MAX_SHARES) {
		refuse(js, jobid, what, real, "more than " XVM_STR(XVM_MAX_SHARES) " shares");
		return false;
	}
	snprintf(js->shares[s->n_shares], PATH_MAX, "%s", real);
	snprintf(js->guest_paths[s->n_shares], PATH_MAX, "%s", dst ? dst : real);
	s->shares[s->n_shares].host_path = js->shares[s->n_shares];
	s->shares[s->n_shares].guest_path = js->guest_paths[s->n_shares];
	s->shares[s->n_shares].readonly = ro;
	s->n_shares++;
	return true;
}

/* The policy for rec's user: roots = the home and shares.allowed; never = the node's dirs. */
static void share_ctx_init(struct share_ctx *c, const struct xenvm_config *cfg,
                           const struct xenvm_job_record *rec, const struct passwd *pw)
{
	int ng = (int)(sizeof(c->groups) / sizeof(c->groups[0]));

	memset(c, 0, sizeof(*c));
	if (pw && pw->pw_dir && pw->pw_dir[0] == '/')
		c->allowed[c->pol.n_allowed++] = pw->pw_dir;
	for (size_t i = 0; i < cfg->shares.n_allowed && c->pol.n_allowed < 64; i++)
		c->allowed[c->pol.n_allowed++] = cfg->shares.allowed[i];
	c->never[0] = cfg->state_dir;
	c->never[1] = cfg->cache.dir;
	c->never[2] = cfg->imagecast.store;
	c->pol.allowed = c->allowed;
	c->pol.never = c->never;
	c->pol.n_never = 3;
	c->who.uid = rec->uid;
	c->who.gid = rec->gid;
	/* Too many groups (or an unknown user): the primary group alone, which can only refuse. */
	if (pw && getgrouplist(pw->pw_name, rec->gid, c->groups, &ng) >= 0) {
		c->who.groups = c->groups;
		c->who.n_groups = (size_t)ng;
	}
	c->xen = cfg->driver == XENVM_DRIVER_XEN;
}

/* The shares: home, working directory (its refusal noted), --vm-mounts, xenvm.yaml mounts. */
static void add_shares(struct xvm_job_spec *js, const struct xenvm_config *cfg,
                       const struct xvm_job_inputs *in, const struct xenvm_job_record *rec,
                       const struct passwd *pw)
{
	struct xenvm_mount m[XENVM_MOUNTS_MAX];
	char buf[XENVM_MOUNTS_LEN];
	struct share_ctx *c = calloc(1, sizeof(*c));
	struct xerr err;
	size_t n = 0;

	if (!c) {
		refuse(js, rec->jobid, "every directory", "", "out of memory");
		return;
	}
	share_ctx_init(c, cfg, rec, pw);
	add_share(js, c, rec->jobid, XVM_SHARE_USER, pw ? pw->pw_dir : NULL, NULL, false,
	          "home directory");
	if (in->workdir && *in->workdir &&
	    !add_share(js, c, rec->jobid, XVM_SHARE_USER, in->workdir, NULL, false,
	               "working directory"))
		snprintf(js->cwd_refused, sizeof(js->cwd_refused), "%s", in->workdir);
	if (rec->req.mounts[0] &&
	    xenvm_parse_mounts("--vm-mounts", rec->req.mounts, buf, m, &n, &err) < 0)
		refuse(js, rec->jobid, "--vm-mounts", rec->req.mounts, err.msg);
	for (size_t i = 0; i < n; i++)
		add_share(js, c, rec->jobid, XVM_SHARE_USER, m[i].src,
		          strcmp(m[i].src, m[i].dst) ? m[i].dst : NULL, m[i].ro, "--vm-mounts");
	for (size_t i = 0; i < cfg->mounts.n_paths; i++)
		add_share(js, c, rec->jobid, XVM_SHARE_SITE, cfg->mounts.paths[i], NULL, false,
		          "xenvm.yaml mounts entry");
	free(c);
}

/* Append to js->cmdline.  0, or -1 with errno E2BIG. */
static int cmdline_add(struct xvm_job_spec *js, const char *s, struct xerr *err)
{
	size_t have = strlen(js->cmdline), n = strlen(s);

	if (have + n >= sizeof(js->cmdline)) {
		return xerr_errno(err, E2BIG,
		                  "the VM's kernel command line is longer than %zu bytes",
		                  sizeof(js->cmdline) - 1);
	}
	memcpy(js->cmdline + have, s, n + 1);
	return 0;
}

/* " xenvm.hosts=node1@ip,node2@ip", cut at XVM_SPEC_HOSTS_MAX (see spec.h). */
static void hosts_arg(const struct xenvm_subnet *sn, const struct xenvm_nodelist *nodes,
                      uint32_t jobid, char *buf, size_t len)
{
	size_t off = 0;
	char ip[INET_ADDRSTRLEN];
	struct xerr err;

	buf[0] = '\0';
	for (size_t i = 0; i < nodes->n; i++) {
		uint32_t a;
		int n;

		if (xenvm_node_ipv4(nodes->names[i], &a, &err) < 0) {
			xwarn("job %" PRIu32 ": %s", jobid, err.msg);
			continue;
		}
		xenvm_ipv4_str(xenvm_guest_addr(sn, a, jobid), ip, sizeof(ip));
		n = snprintf(buf + off, len - off, "%s%s@%s",
		             off ? "," : " xenvm.hosts=", nodes->names[i], ip);
		if (n < 0 || (size_t)n >= len - off || off + (size_t)n > XVM_SPEC_HOSTS_MAX) {
			buf[off] = '\0';
			xwarn("job %" PRIu32 ": guest /etc/hosts lists the first %zu of %zu nodes",
			      jobid, i, nodes->n);
			return;
		}
		off += (size_t)n;
	}
}

/*
 * " xenvm.user=name:uid:gid:home" so the guest knows the job's user by name; empty when the
 * name or home would not survive the kernel command line (blanks, colons, odd bytes).
 */
static void user_arg(const struct xenvm_job_record *rec, const struct passwd *pw, char *buf,
                     size_t len)
{
	static const char name_ok[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	static const char home_ok[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/";
	const char *home = pw ? pw->pw_dir : "/";

	buf[0] = '\0';
	if (!rec->user[0] || strspn(rec->user, name_ok) != strlen(rec->user) || home[0] != '/' ||
	    strspn(home, home_ok) != strlen(home) || strlen(home) > 256)
		return;
	snprintf(buf, len, " xenvm.user=%s:%u:%u:%s", rec->user, (unsigned)rec->uid,
	         (unsigned)rec->gid, home);
}

int xvm_job_spec_build(const struct xenvm_config *cfg, const struct xvm_job_inputs *in,
                       const struct xenvm_job_record *rec, const struct xenvm_subnet *sn,
                       uint32_t guest, struct xvm_job_spec *js, struct xerr *err)
{
	struct xvm_spec *s = &js->spec;
	struct xvm_size_ask ask = {.mem_bytes = rec->req.mem_bytes,
	                           .vcpus = rec->req.vcpus,
	                           .cpus = in->cpus,
	                           .mem_what = "--vm-mem",
	                           .vcpus_what = "--vm-vcpus"};
	struct xvm_size size;
	char hosts[XVM_SPEC_HOSTS_MAX + 64], juser[400];
	struct passwd *pw;

	memset(js, 0, sizeof(*js));
	if (xvm_vm_size(cfg, in->img, &ask, &size, err) < 0)
		return -1;
	/* A cut path would name another file: all three fit or the job fails, saying why. */
	if ((size_t)snprintf(js->kernel, sizeof(js->kernel), "%s/kernel", in->image_dir) >=
	        sizeof(js->kernel) ||
	    (size_t)snprintf(js->initrd, sizeof(js->initrd), "%s/initrd", in->image_dir) >=
	        sizeof(js->initrd) ||
	    (size_t)snprintf(js->rootdisk, sizeof(js->rootdisk), "%s/rootdisk", in->image_dir) >=
	        sizeof(js->rootdisk)) {
		return xerr_errno(err, ENAMETOOLONG, "image directory %.200s...: path too long",
		                  in->image_dir);
	}
	s->name = SPEC_VM_NAME;
	s->job_id = rec->jobid;
	s->uid = rec->uid;
	s->gid = rec->gid;
	/*
	 * On Xen the dom0 QEMU that serves the shares runs as the job's user through
	 * xenvm-xen-dm(8); the xen driver checks that at boot and refuses a VM that allows root
	 * when it does not (xen/xl_dmuser.h).
	 */
	s->allow_root = rec->req.root;
	s->kernel = js->kernel;
	s->initrd = js->initrd;
	s->rootdisk = access(js->rootdisk, R_OK) == 0 ? js->rootdisk : NULL;
	s->mem_bytes = size.mem_bytes;
	s->vcpus = size.vcpus;
	s->state_dir = rec->vm_dir;
	s->bridge = cfg->network.bridge;
	xenvm_ipv4_str(guest, js->ip, sizeof(js->ip));
	snprintf(js->cidr, sizeof(js->cidr), "%s/%u", js->ip, sn->prefix);
	s->ip_cidr = js->cidr;
	s->gateway = cfg->network.gateway;
	s->hostname = rec->node;
	/* Runs srun & co. for the guest (vmd_guest.h); test clusters use the build tree's. */
	s->host_agent = getenv("XENVM_HOST_AGENT");
	s->qemu_binary = cfg->vm.qemu_binary; /* xenvm.yaml vm.qemu_binary; xen ignores it */
	/* unclaimed after the wait for the agent and the margin: the Prolog is gone (job_start.c)
	 */
	s->claim_s = cfg->timeouts.ready_s + XVM_CLAIM_MARGIN_S;
	pw = getpwuid(rec->uid);
	add_shares(js, cfg, in, rec, pw);
	user_arg(rec, pw, juser, sizeof(juser));
	hosts_arg(sn, in->nodes, rec->jobid, hosts, sizeof(hosts));
	if (cmdline_add(js, in->img->cmdline ? in->img->cmdline : "", err) < 0 ||
	    cmdline_add(js, hosts, err) < 0 || cmdline_add(js, juser, err) < 0)
		return -1;
	s->cmdline = js->cmdline;
	return 0;
}

int xvm_job_spec_set_ib(struct xvm_job_spec *js, const char *bdf, bool rxe, struct xerr *err)
{
	js->spec.pci_bdf = bdf;
	return cmdline_add(js, rxe ? " xenvm.rxe=1" : bdf ? " xenvm.ib=vf" : "", err);
}
