/* jobvm.c - see jobvm.h. */
#include "node/jobvm.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/atomic_file.h"
#include "node/guestnet.h"
#include "lib/log.h"
#include "node/drivers.h"
#include "node/jobib.h"

#define JOBVM_NAME "vm0"
#define JOBVM_MIN_MEM (64ull << 20)
/* x86 Linux keeps 2048 bytes of command line; leave room for what the driver adds. */
#define JOBVM_HOSTS_MAX 1200

static uint32_t ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint32_t)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* The driver xenvm.yaml names, or NULL with err. */
static const struct xvm_driver *config_driver(const struct xenvm_config *cfg, struct xerr *err)
{
	const char *name = cfg->driver == XENVM_DRIVER_XEN ? "xen" : "qemu";
	const struct xvm_driver *d = xvm_driver_find(name);

	if (!d) {
		errno = ENOENT;
		xerr_set(err, "%s: driver: %s is not available in this build", cfg->path, name);
	}
	return d;
}

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

/* Add a share when it is an existing directory not already shared; keep[] owns the string. */
static void add_share(struct xvm_spec *s, char keep[][PATH_MAX], const char *path, const char *what)
{
	char real[PATH_MAX];
	struct stat st;

	if (!path || !*path)
		return;
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
	snprintf(keep[s->n_shares], PATH_MAX, "%s", real);
	s->shares[s->n_shares].host_path = keep[s->n_shares];
	s->shares[s->n_shares].guest_path = keep[s->n_shares];
	s->n_shares++;
}

/*
 * " xenvm.hosts=node1@ip,node2@ip": every node of the job under its own name.  A node whose
 * address cannot be resolved is left out (and said so); a list past the command line's room
 * is cut, since MPI over PMI needs no names, only hydra and scripts do.
 */
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
		if (n < 0 || (size_t)n >= len - off || off + (size_t)n > JOBVM_HOSTS_MAX) {
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
/*
 * What the guest's verbs check reported (<vm_dir>/guest.info, "ib=rxe0 port=1 ..." written by
 * vmd from the agent's hello) into rec->ib_info; missing is logged, not fatal: the guest said
 * ready, which it only does when the check passed.
 */
static void guest_ib_info(struct xenvm_job_record *rec)
{
	char path[1100], line[sizeof(rec->ib_info)];
	FILE *f;

	snprintf(path, sizeof(path), "%s/guest.info", rec->vm_dir);
	f = fopen(path, "re");
	if (!f || !fgets(line, sizeof(line), f)) {
		xwarn("job %" PRIu32 ": %s: no verbs report from the guest", rec->jobid, path);
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	snprintf(rec->ib_info, sizeof(rec->ib_info), "%s", line);
}

enum xvm_job_fault xvm_job_start(const struct xenvm_config *cfg, const struct xvm_job_inputs *in,
                                 struct xenvm_job_record *rec, struct xerr *err)
{
	static char keep[XVM_MAX_SHARES][PATH_MAX];
	const struct xvm_driver *drv;
	struct xvm_spec spec = {0};
	struct xvm *vm = NULL;
	struct xenvm_subnet sn;
	struct passwd *pw;
	struct timespec t0;
	char jobdir[4096], kernel[4200], initrd[4200], rootdisk[4200];
	char cidr[40], ip[INET_ADDRSTRLEN], *cmdline = NULL, hosts[JOBVM_HOSTS_MAX + 64];
	char juser[400];
	uint32_t node_addr, guest;
	enum xvm_job_fault fault = XVM_JOB_FAULT_NODE;
	struct xvm_job_ib ib;
	bool claimed = false, ib_held = false;

	/* Node faults first: nothing the job asked for matters if the node cannot run VMs. */
	drv = config_driver(cfg, err);
	if (!drv)
		goto out;
	if (drv->probe(err) < 0)
		goto out;
	if (!cfg->network.subnet) {
		errno = EINVAL;
		xerr_set(err, "%s: network.subnet is not set: VMs need addresses (xenvm.yaml(5))",
		         cfg->path);
		goto out;
	}
	if (cfg->network.bridge && if_nametoindex(cfg->network.bridge) == 0) {
		errno = ENODEV;
		xerr_set(err, "%s: network.bridge %s does not exist on this node", cfg->path,
		         cfg->network.bridge);
		goto out;
	}
	if (xenvm_subnet_parse(cfg->network.subnet, &sn, err) < 0 ||
	    xenvm_node_ipv4(rec->node, &node_addr, err) < 0)
		goto out;
	if (xenvm_job_dir(cfg->state_dir, rec->jobid, jobdir, sizeof(jobdir)) < 0 ||
	    (size_t)snprintf(rec->vm_dir, sizeof(rec->vm_dir), "%s/%s", jobdir, JOBVM_NAME) >=
	        sizeof(rec->vm_dir)) {
		errno = ENAMETOOLONG;
		xerr_set(err, "%s: state_dir too long", cfg->path);
		goto out;
	}
	if (xenvm_mkdir_p(rec->vm_dir, 0755) < 0) {
		xerr_set(err, "%s: cannot create: %s", rec->vm_dir, strerror(errno));
		goto out;
	}
	guest = xenvm_guest_addr(&sn, node_addr, rec->jobid);
	/* A held address is the job's problem (its id collides), not the node's. */
	if (xenvm_guest_addr_claim(cfg->state_dir, guest, rec->jobid, err) < 0) {
		if (errno == EADDRINUSE)
			fault = XVM_JOB_FAULT_JOB;
		goto out;
	}
	claimed = true;

	/* From here on, what fails is the job's image or request. */
	fault = XVM_JOB_FAULT_JOB;
	/* A cut path would name another file: all three fit or the job fails, saying why. */
	if ((size_t)snprintf(kernel, sizeof(kernel), "%s/kernel", in->image_dir) >=
	        sizeof(kernel) ||
	    (size_t)snprintf(initrd, sizeof(initrd), "%s/initrd", in->image_dir) >=
	        sizeof(initrd) ||
	    (size_t)snprintf(rootdisk, sizeof(rootdisk), "%s/rootdisk", in->image_dir) >=
	        sizeof(rootdisk)) {
		errno = ENAMETOOLONG;
		xerr_set(err, "image directory %.200s...: path too long", in->image_dir);
		goto out;
	}
	spec.name = JOBVM_NAME;
	spec.job_id = rec->jobid;
	spec.uid = rec->uid;
	spec.gid = rec->gid;
	spec.allow_root = rec->req.root;
	spec.kernel = kernel;
	spec.initrd = initrd;
	spec.rootdisk = access(rootdisk, R_OK) == 0 ? rootdisk : NULL;
	spec.mem_bytes = rec->req.mem_bytes              ? rec->req.mem_bytes
	                 : in->img->limits.default_bytes ? in->img->limits.default_bytes
	                                                 : cfg->vm.default_memory_bytes;
	if (spec.mem_bytes < JOBVM_MIN_MEM)
		spec.mem_bytes = JOBVM_MIN_MEM;
	/* One vCPU per allocated CPU: MPI ranks busy-poll, and two ranks on one vCPU crawl. */
	spec.vcpus = rec->req.vcpus ? rec->req.vcpus
	             : in->cpus     ? (in->cpus < in->img->limits.vcpus_max ? in->cpus
	                                                                    : in->img->limits.vcpus_max)
	             : in->img->limits.vcpus_default ? in->img->limits.vcpus_default
	                                             : 1;
	spec.state_dir = rec->vm_dir;
	spec.bridge = cfg->network.bridge;
	snprintf(cidr, sizeof(cidr), "%s/%u", xenvm_ipv4_str(guest, ip, sizeof(ip)), sn.prefix);
	spec.ip_cidr = cidr;
	spec.gateway = cfg->network.gateway;
	spec.hostname = rec->node;
	/* Runs srun & co. for the guest (vmd_guest.h); test clusters use the build tree's. */
	spec.host_agent = getenv("XENVM_HOST_AGENT");
	spec.qemu_binary = cfg->vm.qemu_binary; /* xenvm.yaml vm.qemu_binary; xen ignores it */
	pw = getpwuid(rec->uid);
	add_share(&spec, keep, pw ? pw->pw_dir : NULL, "home directory");
	add_share(&spec, keep, in->workdir, "working directory");
	for (size_t i = 0; i < cfg->mounts.n_paths; i++)
		add_share(&spec, keep, cfg->mounts.paths[i], "xenvm.yaml mounts entry");
	user_arg(rec, pw, juser, sizeof(juser));

	hosts_arg(&sn, in->nodes, rec->jobid, hosts, sizeof(hosts));
	/*
	 * Verbs (jobib.h): alloc -> record -> commit -> attach, all before the boot, so a Prolog
	 * killed at any point leaves either a lease that dies with it or a committed VF the
	 * Epilog finds in the pool and in job.state.
	 */
	fault = xvm_job_ib_reserve(cfg, rec->node, rec->jobid, JOBVM_NAME, in->img->attributes.ib,
	                           &ib, err);
	if (fault != XVM_JOB_FAULT_NONE)
		goto out;
	ib_held = ib.vf;
	snprintf(rec->ib, sizeof(rec->ib), "%s", ib.vf ? "vf" : ib.rxe ? "rxe" : "");
	snprintf(rec->ib_bdf, sizeof(rec->ib_bdf), "%s", ib.vf ? ib.bdf : "");
	rec->ib_info[0] = '\0';
	fault = XVM_JOB_FAULT_NODE;
	if (xenvm_job_record_write(cfg->state_dir, rec, err) < 0 ||
	    xvm_job_ib_commit(cfg, rec->node, rec->jobid, JOBVM_NAME, &ib, err) < 0 ||
	    xvm_job_ib_attach(cfg, &ib, err) < 0)
		goto out;
	fault = XVM_JOB_FAULT_JOB;
	spec.pci_bdf = ib.vf ? ib.bdf : NULL;
	if (asprintf(&cmdline, "%s%s%s%s", in->img->cmdline ? in->img->cmdline : "", hosts, juser,
	             ib.rxe  ? " xenvm.rxe=1"
	             : ib.vf ? " xenvm.ib=vf"
	                     : "") < 0) {
		cmdline = NULL;
		errno = ENOMEM;
		xerr_set(err, "out of memory");
		fault = XVM_JOB_FAULT_NODE;
		goto out;
	}
	spec.cmdline = cmdline;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (drv->boot(&spec, &vm, err) < 0) {
		/*
		 * The driver could not start it: the node's fault (tap, fork, QEMU missing), but
		 * for a kernel command line over Linux's limit (E2BIG: the image's cmdline and
		 * the job's node list) or a shared directory it cannot carry (EINVAL).
		 */
		fault = errno == E2BIG || errno == EINVAL ? XVM_JOB_FAULT_JOB : XVM_JOB_FAULT_NODE;
		goto out;
	}
	if (drv->wait_ready(vm, cfg->timeouts.ready_s * 1000u, err) < 0) {
		struct xerr derr;

		if (drv->destroy(vm, &derr) < 0)
			xerror("job %" PRIu32 ": removing the failed VM: %s", rec->jobid, derr.msg);
		goto out;
	}
	rec->boot_ms = ms_since(&t0);
	if (rec->ib[0])
		guest_ib_info(rec);
	/* The record now says what the VM got (the request may have left sizes to the image). */
	rec->req.mem_bytes = spec.mem_bytes;
	rec->req.vcpus = spec.vcpus;
	snprintf(rec->driver, sizeof(rec->driver), "%s", drv->name);
	snprintf(rec->guest_ip, sizeof(rec->guest_ip), "%s", ip);
	xinfo("job %" PRIu32 ": VM %s ready in %.1f s (%s, %s, %" PRIu64
	      " MiB, %u vcpus, %zu shares)",
	      rec->jobid, rec->vm_dir, rec->boot_ms / 1000.0, drv->name, cidr, spec.mem_bytes >> 20,
	      spec.vcpus, spec.n_shares);
	fault = XVM_JOB_FAULT_NONE;
out:
	if (fault != XVM_JOB_FAULT_NONE) {
		struct xerr ierr;

		if (claimed)
			xenvm_guest_addr_release_job(cfg->state_dir, rec->jobid);
		/* The VM is gone (or never started): its VF goes back now, not at the Epilog. */
		if (ib_held && xvm_job_ib_release(cfg, rec->node, rec->jobid, NULL, &ierr) < 0)
			xerror("job %" PRIu32 ": releasing its VF: %s", rec->jobid, ierr.msg);
		rec->driver[0] = rec->guest_ip[0] = rec->ib[0] = rec->ib_bdf[0] = '\0';
	}
	if (vm)
		drv->release(vm);
	free(cmdline);
	return fault;
}

/* SLURMD_NODENAME (the Epilog's environment), else the host name: the pool's node name. */
static const char *stop_node_name(char *buf, size_t len)
{
	const char *n = getenv("SLURMD_NODENAME");

	if (n && *n)
		return n;
	if (gethostname(buf, len - 1) < 0)
		snprintf(buf, len, "localhost");
	buf[len - 1] = '\0';
	return buf;
}

int xvm_job_stop(const struct xenvm_config *cfg, uint32_t jobid, struct xerr *err)
{
	const struct xvm_driver *drv;
	struct xvm_info found[16];
	char jobdir[4096], vmdir[4200];
	struct xvm *vm = NULL;
	struct xerr e;
	char node[256];
	int n, rc = 0;

	drv = config_driver(cfg, err);
	if (!drv)
		return -1;
	if (xenvm_job_dir(cfg->state_dir, jobid, jobdir, sizeof(jobdir)) < 0)
		return xerr_set(err, "job %" PRIu32 ": state path too long", jobid);
	snprintf(vmdir, sizeof(vmdir), "%s/%s", jobdir, JOBVM_NAME);
	/* The orderly way: the guest syncs and powers off. */
	if (drv->attach(vmdir, &vm, &e) == 0) {
		if (drv->shutdown(vm, cfg->timeouts.shutdown_grace_s * 1000u, &e) < 0 &&
		    drv->destroy(vm, &e) < 0)
			xerror("job %" PRIu32 ": VM %s: %s", jobid, vmdir, e.msg);
		drv->release(vm);
	}
	/* Whatever is left (a crash lost the state directory, or shutdown failed): by name. */
	n = drv->list_job(jobid, found, sizeof(found) / sizeof(found[0]), &e);
	if (n < 0)
		return xerr_set(err, "job %" PRIu32 ": listing its VMs: %s", jobid, e.msg);
	for (int i = 0; i < n && i < (int)(sizeof(found) / sizeof(found[0])); i++) {
		xwarn("job %" PRIu32 ": VM %s (pid %d) still running: killing it", jobid,
		      found[i].name, (int)found[i].pid);
		if (drv->kill_info(&found[i], &e) < 0) {
			xerr_set(err, "job %" PRIu32 ": cannot kill VM %s: %s", jobid,
			         found[i].name, e.msg);
			rc = -1;
		}
	}
	if (xenvm_guest_addr_release_job(cfg->state_dir, jobid) < 0)
		xwarn("job %" PRIu32 ": releasing its guest address: %s", jobid, strerror(errno));
	return rc;
	/* Only once no VM of the job is left: a VF still in a guest must not go to the next job. */
	if (rc == 0 &&
	    xvm_job_ib_release(cfg, stop_node_name(node, sizeof(node)), jobid, NULL, &e) < 0)
		rc = xerr_set(err, "job %" PRIu32 ": %s", jobid, e.msg);
}
