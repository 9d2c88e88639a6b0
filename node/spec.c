/* spec.c - see spec.h. */
#include "node/spec.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "node/vmsize.h"

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

/* Add a share when it is an existing directory not already shared; js owns the string. */
static void add_share(struct xvm_job_spec *js, const char *path, const char *what)
{
	struct xvm_spec *s = &js->spec;
	char real[PATH_MAX];
	struct stat st;

	if (!path || !*path)
		return;
	errno = 0;
	if (!realpath(path, real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		xwarn("%s %s is not shared with the VM: %s", what, path,
		      errno ? strerror(errno) : "not a directory");
		return;
	}
	if (shared_already(s, real))
		return;
	/* Its guest path goes on the kernel command line (xenvm.9p=): a space would add a
	 * parameter of its own, a comma another share (vm/guest_cmdline.h). */
	for (const char *c = real; *c; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c > 0x7e || *c == ',') {
			xwarn("%s %s is not shared with the VM: it has a space, comma or control "
			      "character",
			      what, real);
			return;
		}
	if (s->n_shares == XVM_MAX_SHARES) {
		xwarn("%s %s is not shared with the VM: more than %d shares", what, real,
		      XVM_MAX_SHARES);
		return;
	}
	snprintf(js->shares[s->n_shares], PATH_MAX, "%s", real);
	s->shares[s->n_shares].host_path = js->shares[s->n_shares];
	s->shares[s->n_shares].guest_path = js->shares[s->n_shares];
	s->n_shares++;
}

/* Append to js->cmdline.  0, or -1 with errno E2BIG. */
static int cmdline_add(struct xvm_job_spec *js, const char *s, struct xerr *err)
{
	size_t have = strlen(js->cmdline), n = strlen(s);

	if (have + n >= sizeof(js->cmdline)) {
		errno = E2BIG;
		return xerr_set(err, "the VM's kernel command line is longer than %zu bytes",
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
		errno = ENAMETOOLONG;
		return xerr_set(err, "image directory %.200s...: path too long", in->image_dir);
	}
	s->name = SPEC_VM_NAME;
	s->job_id = rec->jobid;
	s->uid = rec->uid;
	s->gid = rec->gid;
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
	pw = getpwuid(rec->uid);
	add_share(js, pw ? pw->pw_dir : NULL, "home directory");
	add_share(js, in->workdir, "working directory");
	for (size_t i = 0; i < cfg->mounts.n_paths; i++)
		add_share(js, cfg->mounts.paths[i], "xenvm.yaml mounts entry");
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
