/*
 * job_start.c - xvm_job_start (jobvm.h) in phases, each saying whose fault its failure is.
 *
 * Node checks first: nothing the job asked for matters if the node cannot run VMs.  Then the
 * job's guest address, the spec from the image and the request, the IB lease (jobib.h: alloc ->
 * record -> commit -> attach, all before the boot, so a Prolog killed at any point leaves either
 * a lease that dies with it or a committed VF the Epilog finds in the pool and in job.state), the
 * network pin of the VM's tap (netpin.h; before the tap exists), the boot, the wait for the agent,
 * and the record of what the VM got.  A failure undoes what the phases before it took (undo()), so
 * a failed start leaves nothing to clean up.
 */
#include "node/jobvm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/atomic_file.h"
#include "lib/log.h"
#include "node/guestnet.h"
#include "node/jobib.h"
#include "node/netpin.h"
#include "node/sitecheck.h"
#include "node/spec.h"
#include "vm/tapname.h"

/* What the phases share: the inputs, and what each took (for undo()). */
struct start {
	const struct xvm_driver *drv;
	const struct xenvm_config *cfg;
	const struct xvm_job_inputs *in;
	struct xenvm_job_record *rec;
	struct xenvm_subnet sn;
	uint32_t guest; /* the VM's address (host byte order) */
	struct xvm_job_spec js;
	struct xvm_job_ib ib;
	struct xvm *vm;
	struct timespec t0;
	bool dir_made, claimed, ib_held, pinned, booted, ready;
};

typedef enum xvm_fault (*phase_fn)(struct start *s, struct xerr *err);

/* Driver, bridge, addresses, state directory: all the node's.  Makes rec->vm_dir. */
static enum xvm_fault node_checks(struct start *s, struct xerr *err)
{
	const struct xenvm_config *cfg = s->cfg;
	struct xenvm_job_record *rec = s->rec;
	char jobdir[4096];
	uint32_t node_addr;

	if (s->drv->probe(err) < 0)
		return XVM_FAULT_NODE;
	/* xenvm.yaml's own rules, as `xenvm check` applies them (node/sitecheck.h). */
	if (xvm_site_config_check(cfg, err) < 0)
		return XVM_FAULT_NODE;
	if (cfg->network.bridge && if_nametoindex(cfg->network.bridge) == 0) {
		errno = ENODEV;
		xerr_set(err, "%s: network.bridge %s does not exist on this node", cfg->path,
		         cfg->network.bridge);
		return XVM_FAULT_NODE;
	}
	if (xenvm_subnet_parse(cfg->network.subnet, &s->sn, err) < 0 ||
	    xenvm_node_ipv4(rec->node, &node_addr, err) < 0)
		return XVM_FAULT_NODE;
	s->guest = xenvm_guest_addr(&s->sn, node_addr, rec->jobid);
	if (xenvm_job_dir(cfg->state_dir, rec->jobid, jobdir, sizeof(jobdir)) < 0 ||
	    (size_t)snprintf(rec->vm_dir, sizeof(rec->vm_dir), "%s/%s", jobdir, XVM_JOB_VM) >=
	        sizeof(rec->vm_dir)) {
		errno = ENAMETOOLONG;
		xerr_set(err, "%s: state_dir too long", cfg->path);
		return XVM_FAULT_NODE;
	}
	if (xenvm_mkdir_p(rec->vm_dir, 0755) < 0) {
		xerr_set(err, "%s: cannot create: %s", rec->vm_dir, strerror(errno));
		return XVM_FAULT_NODE;
	}
	s->dir_made = true;
	return XVM_FAULT_NONE;
}

/* The job's guest address.  Held by another job: the job's fault (its id collides). */
static enum xvm_fault claim_address(struct start *s, struct xerr *err)
{
	if (xenvm_guest_addr_claim(s->cfg->state_dir, s->guest, s->rec->jobid, err) < 0)
		return errno == EADDRINUSE ? XVM_FAULT_JOB : XVM_FAULT_NODE;
	s->claimed = true;
	return XVM_FAULT_NONE;
}

/* "a" into *dst (replacing it) when not empty.  0, or -1 with errno ENOMEM. */
static int set_text(char **dst, const char *a)
{
	char *copy = NULL;

	if (*a && !(copy = strdup(a)))
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

/*
 * The image and the request: a size or command line they do not allow is the job's fault.
 * Shares the site's policy refused go into rec for the user at task launch.
 */
static enum xvm_fault build_spec(struct start *s, struct xerr *err)
{
	if (xvm_job_spec_build(s->cfg, s->in, s->rec, &s->sn, s->guest, &s->js, err) < 0)
		return XVM_FAULT_JOB;
	if (set_text(&s->rec->warning, s->js.warnings) < 0 ||
	    set_text(&s->rec->cwd_refused, s->js.cwd_refused) < 0) {
		errno = ENOMEM;
		xerr_set(err, "out of memory");
		return XVM_FAULT_NODE;
	}
	return XVM_FAULT_NONE;
}

/*
 * Pin the VM's tap to its MAC and address before it exists (the rules match the interface by
 * name, vm/tapname.h), so the guest never has an unpinned moment: its peers are every node's VM
 * of the job (guestnet.h), plus network.allow.  Off (network.pin: false) or no network: nothing
 * to do.  nft missing or failing is the node's fault.
 */
static enum xvm_fault pin(struct start *s, struct xerr *err)
{
	const struct xenvm_config *cfg = s->cfg;
	const struct xenvm_nodelist *nodes = s->in->nodes;
	struct xvm_netpin p = {.jobid = s->rec->jobid, .ip = s->guest, .oui = s->drv->mac_oui};
	struct xvm_netpin_allow *allow = NULL;
	uint32_t *peers = NULL, gw = 0;
	char tap[XVM_TAP_NAME_LEN];
	struct in_addr a;
	struct xerr e;
	enum xvm_fault fault = XVM_FAULT_NODE;

	if (!cfg->network.pin || !s->js.spec.bridge)
		return XVM_FAULT_NONE;
	if (xvm_tap_name(s->rec->jobid, XVM_JOB_VM, tap, sizeof(tap)) < 0) {
		xerr_set(err, "network pin: cannot name the VM's tap");
		return XVM_FAULT_NODE;
	}
	peers = calloc(nodes && nodes->n ? nodes->n : 1, sizeof(*peers));
	allow = calloc(cfg->network.n_allow ? cfg->network.n_allow : 1, sizeof(*allow));
	if (!peers || !allow) {
		errno = ENOMEM;
		xerr_set(err, "out of memory");
		goto out;
	}
	peers[p.n_peers++] = s->guest;
	for (size_t i = 0; nodes && i < nodes->n; i++) {
		uint32_t node_addr, g;

		/* A node that does not resolve is not reachable: hosts_arg() said so already. */
		if (xenvm_node_ipv4(nodes->names[i], &node_addr, &e) < 0)
			continue;
		g = xenvm_guest_addr(&s->sn, node_addr, s->rec->jobid);
		if (g != s->guest)
			peers[p.n_peers++] = g;
	}
	for (size_t i = 0; i < cfg->network.n_allow; i++) {
		allow[i].addr = cfg->network.allow[i].addr;
		allow[i].prefix = cfg->network.allow[i].prefix;
		allow[i].proto = cfg->network.allow[i].proto;
		allow[i].port = cfg->network.allow[i].port;
	}
	if (cfg->network.gateway && inet_pton(AF_INET, cfg->network.gateway, &a) == 1)
		gw = ntohl(a.s_addr);
	p.tap = tap;
	p.peers = peers;
	p.allow = allow;
	p.n_allow = cfg->network.n_allow;
	p.gateway = gw;
	if (xvm_netpin_apply(&p, s->rec->vm_dir, &e) < 0) {
		xerr_set(err, "%s: network.pin is on: %s", cfg->path, e.msg);
		goto out;
	}
	s->pinned = true;
	fault = XVM_FAULT_NONE;
out:
	free(peers);
	free(allow);
	return fault;
}

/* A VF, Soft-RoCE or nothing (jobib.h), recorded in job.state before it is committed. */
static enum xvm_fault lease_ib(struct start *s, struct xerr *err)
{
	const struct xenvm_config *cfg = s->cfg;
	struct xenvm_job_record *rec = s->rec;
	enum xvm_fault fault;

	fault = xvm_job_ib_reserve(cfg, rec->node, rec->jobid, XVM_JOB_VM,
	                           s->in->img->attributes.ib, &s->ib, err);
	if (fault != XVM_FAULT_NONE)
		return fault;
	s->ib_held = s->ib.vf;
	snprintf(rec->ib, sizeof(rec->ib), "%s", s->ib.vf ? "vf" : s->ib.rxe ? "rxe" : "");
	snprintf(rec->ib_bdf, sizeof(rec->ib_bdf), "%s", s->ib.vf ? s->ib.bdf : "");
	rec->ib_info[0] = '\0';
	if (xvm_job_spec_set_ib(&s->js, s->ib.vf ? s->ib.bdf : NULL, s->ib.rxe, err) < 0)
		return XVM_FAULT_JOB;
	if (xenvm_job_record_write(cfg->state_dir, rec, err) < 0 ||
	    xvm_job_ib_commit(cfg, rec->node, rec->jobid, XVM_JOB_VM, &s->ib, err) < 0 ||
	    xvm_job_ib_attach(cfg, &s->ib, err) < 0)
		return XVM_FAULT_NODE;
	return XVM_FAULT_NONE;
}

/*
 * The driver could not start it: the node's fault (tap, fork, QEMU missing), but for a kernel
 * command line over Linux's limit (E2BIG: the image's cmdline and the job's node list), a
 * shared directory it cannot carry (EINVAL), or root in the guest where the node cannot
 * contain it (EOPNOTSUPP: the xen driver's 9pfs backend not the user's), which are the job's:
 * a job must not be able to drain a node.
 */
static enum xvm_fault boot(struct start *s, struct xerr *err)
{
	clock_gettime(CLOCK_MONOTONIC, &s->t0);
	s->booted = true; /* a failed boot may have left a console.log worth keeping */
	if (s->drv->boot(&s->js.spec, &s->vm, err) < 0) {
		s->vm = NULL;
		return errno == E2BIG || errno == EINVAL || errno == EOPNOTSUPP ? XVM_FAULT_JOB
		                                                                : XVM_FAULT_NODE;
	}
	return XVM_FAULT_NONE;
}

/* A VM that does not come up is the image's: the job's fault. */
static enum xvm_fault wait_ready(struct start *s, struct xerr *err)
{
	if (s->drv->wait_ready(s->vm, s->cfg->timeouts.ready_s * 1000u, err) < 0)
		return XVM_FAULT_JOB;
	s->ready = true;
	return XVM_FAULT_NONE;
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

/*
 * What the VM got, into rec (the request may have left sizes to the image), and the VM claimed:
 * <vm_dir>/claimed tells its supervisor that a job took it (xvm_spec.claim_s).  A claim that
 * cannot be written is the node's fault: the supervisor would end the job's VM.
 */
static enum xvm_fault record(struct start *s, struct xerr *err)
{
	struct xenvm_job_record *rec = s->rec;
	const struct xvm_spec *spec = &s->js.spec;
	char claim[1100];
	struct timespec t;
	int fd;

	snprintf(claim, sizeof(claim), "%s/claimed", rec->vm_dir);
	fd = open(claim, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		xerr_set(err, "%s: %s", claim, strerror(errno));
		return XVM_FAULT_NODE;
	}
	close(fd);

	clock_gettime(CLOCK_MONOTONIC, &t);
	rec->boot_ms =
	    (uint32_t)((t.tv_sec - s->t0.tv_sec) * 1000 + (t.tv_nsec - s->t0.tv_nsec) / 1000000);
	if (rec->ib[0])
		guest_ib_info(rec);
	rec->req.mem_bytes = spec->mem_bytes;
	rec->req.vcpus = spec->vcpus;
	snprintf(rec->driver, sizeof(rec->driver), "%s", s->drv->name);
	snprintf(rec->guest_ip, sizeof(rec->guest_ip), "%s", s->js.ip);
	xinfo("job %" PRIu32 ": VM %s ready in %.1f s (%s, %s, %" PRIu64
	      " MiB, %u vcpus, %zu shares)",
	      rec->jobid, rec->vm_dir, rec->boot_ms / 1000.0, s->drv->name, s->js.cidr,
	      spec->mem_bytes >> 20, spec->vcpus, spec->n_shares);
	return XVM_FAULT_NONE;
}

/* Give back what the phases took, newest first; failures are logged (the start failed anyway). */
static void undo(struct start *s)
{
	struct xenvm_job_record *rec = s->rec;
	struct xerr e;

	if (s->vm && s->drv->destroy(s->vm, &e) < 0)
		xerror("job %" PRIu32 ": removing the failed VM: %s", rec->jobid, e.msg);
	if (s->pinned && xvm_netpin_remove(rec->jobid, &e) < 0)
		xerror("job %" PRIu32 ": removing its network pin: %s", rec->jobid, e.msg);
	/* The VM is gone (or never started): its VF goes back now, not at the Epilog. */
	if (s->ib_held && xvm_job_ib_release(s->cfg, rec->node, rec->jobid, NULL, &e) < 0)
		xerror("job %" PRIu32 ": releasing its VF: %s", rec->jobid, e.msg);
	if (s->claimed && xenvm_guest_addr_release_job(s->cfg->state_dir, rec->jobid) < 0)
		xerror("job %" PRIu32 ": releasing its guest address: %s", rec->jobid,
		       strerror(errno));
	if (s->dir_made && !s->booted && xenvm_remove_tree(rec->vm_dir) < 0)
		xerror("job %" PRIu32 ": removing %s: %s", rec->jobid, rec->vm_dir,
		       strerror(errno));
	rec->driver[0] = rec->guest_ip[0] = rec->ib[0] = rec->ib_bdf[0] = '\0';
}

enum xvm_fault xvm_job_start(const struct xvm_driver *drv, const struct xenvm_config *cfg,
                             const struct xvm_job_inputs *in, struct xenvm_job_record *rec,
                             struct xerr *err)
{
	static const phase_fn phases[] = {node_checks, claim_address, build_spec, lease_ib,
	                                  pin,         boot,          wait_ready, record};
	enum xvm_fault fault = XVM_FAULT_NONE;
	struct start *s = calloc(1, sizeof(*s));
	int saved;

	if (!s) {
		errno = ENOMEM;
		xerr_set(err, "out of memory");
		return XVM_FAULT_NODE;
	}
	s->drv = drv;
	s->cfg = cfg;
	s->in = in;
	s->rec = rec;
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]) && !fault; i++)
		fault = phases[i](s, err);
	saved = errno;
	if (fault)
		undo(s);
	if (s->vm)
		drv->release(s->vm);
	free(s);
	errno = saved;
	return fault;
}
