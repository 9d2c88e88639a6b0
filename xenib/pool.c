/*
 * pool.c - leasing, committing and releasing VFs (see xenib.h).
 *
 * Every operation is one critical section: take <state_dir>/xenib/pool.lock, read pool.state,
 * reclaim the leases of dead allocators, change what it changes (sysfs/netlink writes included,
 * so no two processes ever program one VF), write pool.state atomically if anything changed,
 * drop the lock.  The lock dies with its holder, so a killed allocator leaves a lease on disk
 * but never a held lock; the next operation finds the lease's process gone and frees the VF.
 */
#include "xenib.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/atomic_file.h"
#include "guid.h"
#include "identity.h"
#include "lock.h"
#include "lib/log.h"
#include "state.h"
#include "vfnl.h"

struct xenib_pool {
	struct xenib_params p; /* pointers borrowed from the caller */
	struct xenib_topology topo;
	char lock_path[PATH_MAX];
	char state_path[PATH_MAX];
	const struct xenib_nl_ops *nl;
	void (*hook)(void *arg);
	void *hook_arg;
};

/* One locked view of the state. */
struct txn {
	int lock_fd;
	struct xenib_state st;
	bool dirty;
};

#define TXN_INIT                                                                                   \
	{                                                                                          \
		.lock_fd = -1, .st = {0}, .dirty = false                                           \
	}

const char *xenib_state_name(enum xenib_vf_state s)
{
	switch (s) {
	case XENIB_FREE:
		return "free";
	case XENIB_LEASED:
		return "leased";
	case XENIB_ASSIGNED:
		return "assigned";
	}
	return "?";
}

/* Returns 0 and *out, or -1 with errno and err (see xenib.h). */
int xenib_pool_open(const struct xenib_params *p, struct xenib_pool **out, struct xerr *err)
{
	struct xenib_pool *pool = NULL;
	char dir[PATH_MAX];
	int rc = -1, saved;

	if (!p || !out || !p->state_dir || !p->node || !*p->node || !p->guid_prefix) {
		return xerr_errno(err, EINVAL,
		                  "xenib_pool_open: invalid argument (state_dir, node and "
		                  "guid_prefix are required)");
	}
	pool = calloc(1, sizeof(*pool));
	if (!pool) {
		return xerr_errno(err, ENOMEM, "out of memory");
	}
	pool->p = *p;
	if (xenib_state_paths(p->state_dir, dir, pool->lock_path, pool->state_path, err) < 0)
		goto out;
	if (xenib_discover(p, &pool->topo, err) < 0)
		goto out;
	if (xenvm_mkdir_p(dir, 0755) < 0) {
		xerr_set(err, "%s: cannot create: %s", dir, strerror(errno));
		goto out;
	}
	*out = pool;
	pool = NULL;
	rc = 0;
out:
	saved = errno;
	xenib_pool_close(pool);
	errno = saved;
	return rc;
}

void xenib_pool_close(struct xenib_pool *pool)
{
	if (!pool)
		return;
	xenib_topology_free(&pool->topo);
	free(pool);
}

const struct xenib_params *xenib_pool_params(const struct xenib_pool *pool)
{
	return pool ? &pool->p : NULL;
}

const struct xenib_topology *xenib_pool_topology(const struct xenib_pool *pool)
{
	return pool ? &pool->topo : NULL;
}

void xenib_pool_set_lease_hook(struct xenib_pool *pool, void (*hook)(void *arg), void *arg)
{
	if (!pool)
		return;
	pool->hook = hook;
	pool->hook_arg = arg;
}

void xenib_pool_set_netlink(struct xenib_pool *pool, const struct xenib_nl_ops *ops)
{
	if (pool)
		pool->nl = ops;
}

/* The pool's VF at `bdf`, or NULL (it vanished: sriov_numvfs lowered, device removed). */
static const struct xenib_vf *find_vf(const struct xenib_pool *pool, const char *bdf)
{
	for (size_t i = 0; i < pool->topo.n_vfs; i++)
		if (strcmp(pool->topo.vfs[i].bdf, bdf) == 0)
			return &pool->topo.vfs[i];
	return NULL;
}

/* Is the process that took lease `e` still the one running under its pid? */
static bool allocator_alive(const struct xenib_entry *e)
{
	unsigned long long start = 0;

	return xenib_proc_start(e->pid, &start) == 0 && start == e->start;
}

/* Policy Down and GUIDs cleared on the VF of `e`, if it still exists.  As identity_reset. */
static int reset_vf(const struct xenib_pool *pool, const struct xenib_entry *e, struct xerr *err)
{
	const struct xenib_vf *vf = find_vf(pool, e->bdf);

	if (!vf)
		return 0; /* nothing left to reset */
	return xenib_identity_reset(pool->p.root, pool->nl, &pool->topo.pfs[vf->pf], vf, err);
}

/*
 * Lock, load, and reclaim dead allocators' leases.  Returns 0 with *t open (end with txn_end),
 * or -1 with errno and err (nothing held).
 */
static int txn_begin(struct xenib_pool *pool, struct txn *t, struct xerr *err)
{
	t->lock_fd = xenib_lock(pool->lock_path, err);
	if (t->lock_fd < 0)
		return -1;
	if (xenib_state_load(pool->state_path, &t->st, err) < 0) {
		int saved = errno;

		xenib_unlock(t->lock_fd);
		t->lock_fd = -1;
		errno = saved;
		return -1;
	}
	for (size_t i = 0; i < t->st.n;) {
		struct xenib_entry *e = &t->st.e[i];
		struct xerr why = {{0}};

		if (e->state != XENIB_LEASED || allocator_alive(e)) {
			i++;
			continue;
		}
		/*
		 * The allocator died before committing: its VM was never recorded, so nobody else
		 * will free this VF.  Its GUIDs may be half-written; the next allocation writes
		 * them all again, so a failed reset is only worth a warning here.
		 */
		xwarn("%s: reclaiming the VF leased to job %u VM %s by pid %ld, which died before "
		      "committing it",
		      e->bdf, e->jobid, e->vm, (long)e->pid);
		if (reset_vf(pool, e, &why) < 0)
			xwarn("%s", why.msg);
		xenib_state_del(&t->st, i);
		t->dirty = true;
	}
	return 0;
}

/*
 * Write the state if it changed, then unlock and free.  Returns 0, or -1 with
 * errno and err (logged instead when err is NULL) when the write failed: the on-disk state is
 * then the old one, whole.
 */
static int txn_end(struct xenib_pool *pool, struct txn *t, struct xerr *err)
{
	struct xerr why = {{0}};
	int rc = 0, saved = errno;

	if (t->dirty && xenib_state_save(pool->state_path, &t->st, &why) < 0) {
		saved = errno;
		rc = -1;
		/* the caller may already be reporting another failure: never lose this one */
		if (err)
			*err = why;
		else
			xerror("%s", why.msg);
	}
	xenib_state_free(&t->st);
	xenib_unlock(t->lock_fd);
	t->lock_fd = -1;
	errno = saved;
	return rc;
}

/* Fill *out for `vf`. */
static void describe(const struct xenib_pool *pool, const struct xenib_vf *vf, bool committed,
                     struct xenib_assignment *out)
{
	memset(out, 0, sizeof(*out));
	strcpy(out->bdf, vf->bdf);
	strcpy(out->pf, pool->topo.pfs[vf->pf].name);
	out->vf = vf->vf;
	out->slot = vf->slot;
	out->node_guid = xenib_guid(pool->p.guid_prefix, pool->p.node, vf->slot, XENIB_NODE_GUID);
	out->port_guid = xenib_guid(pool->p.guid_prefix, pool->p.node, vf->slot, XENIB_PORT_GUID);
	out->committed = committed;
}

/* Returns 0 and *out, or -1 with errno and err (see xenib.h). */
int xenib_alloc(struct xenib_pool *pool, uint32_t jobid, const char *vm,
                struct xenib_assignment *out, struct xerr *err)
{
	struct txn t = TXN_INIT;
	struct xenib_entry lease = {0}, *mine = NULL;
	const struct xenib_vf *vf = NULL;
	unsigned long long start = 0;
	int rc = -1, saved;

	if (!pool || !out || jobid == 0 || !xenib_valid_vm_name(vm)) {
		return xerr_errno(err, EINVAL,
		                  "xenib_alloc: invalid argument (job id > 0, VM name of 1-63 "
		                  "characters [A-Za-z0-9._-])");
	}
	if (xenib_proc_start(getpid(), &start) < 0)
		return xerr_set(err, "/proc/%ld/stat: cannot read own start time", (long)getpid());
	if (txn_begin(pool, &t, err) < 0)
		return -1;
	for (size_t i = 0; i < t.st.n; i++)
		if (t.st.e[i].jobid == jobid && strcmp(t.st.e[i].vm, vm) == 0)
			mine = &t.st.e[i];
	if (mine && mine->state == XENIB_ASSIGNED) {
		/* already committed (a retried Prolog step): hand back the same VF untouched */
		vf = find_vf(pool, mine->bdf);
		if (!vf) {
			errno = ENODEV;
			xerr_set(err, "%s: the VF assigned to job %u VM %s is no longer present",
			         mine->bdf, jobid, vm);
			goto out;
		}
		describe(pool, vf, true, out);
		rc = 0;
		goto out;
	}
	if (mine && mine->pid != getpid()) {
		errno = EBUSY;
		xerr_set(err, "job %u VM %s: pid %ld is allocating a VF for it right now", jobid,
		         vm, (long)mine->pid);
		goto out;
	}
	if (mine) {
		vf = find_vf(pool, mine->bdf);
	} else {
		for (size_t i = 0; i < pool->topo.n_vfs && !vf; i++)
			if (!xenib_state_find(&t.st, pool->topo.vfs[i].bdf))
				vf = &pool->topo.vfs[i];
		if (!vf) {
			errno = pool->topo.n_vfs ? ENOSPC : ENODEV;
			xerr_set(err,
			         pool->topo.n_vfs
			             ? "no free VF: all %zu VFs of this node are leased or assigned"
			             : "no free VF: this node has no SR-IOV InfiniBand VFs (%zu)",
			         pool->topo.n_vfs);
			goto out;
		}
		strcpy(lease.bdf, vf->bdf);
		lease.state = XENIB_LEASED;
		lease.jobid = jobid;
		lease.pid = getpid();
		lease.start = start;
		lease.since = time(NULL);
		strcpy(lease.vm, vm);
		if (xenib_state_add(&t.st, &lease) < 0) {
			xerr_set(err, "out of memory");
			goto out;
		}
		t.dirty = true;
		/* on disk before the VF is touched: if we die from here on, the lease says whose */
		if (xenib_state_save(pool->state_path, &t.st, err) < 0)
			goto out;
		t.dirty = false;
		if (pool->hook)
			pool->hook(pool->hook_arg);
	}
	if (!vf) {
		errno = ENODEV;
		xerr_set(err, "%s: the VF leased to job %u VM %s is no longer present", mine->bdf,
		         jobid, vm);
		goto out;
	}
	describe(pool, vf, false, out);
	if (xenib_identity_set(pool->p.root, pool->nl, &pool->topo.pfs[vf->pf], vf, out->node_guid,
	                       out->port_guid, err) < 0) {
		/* give the slot back; a VF we could not program is no use to this VM */
		struct xenib_entry *e = xenib_state_find(&t.st, vf->bdf);

		saved = errno;
		if (e) {
			xenib_state_del(&t.st, (size_t)(e - t.st.e));
			t.dirty = true;
		}
		errno = saved;
		goto out;
	}
	xinfo("job %u VM %s: VF %s (%s vf %u) leased", jobid, vm, vf->bdf, out->pf, vf->vf);
	rc = 0;
out:
	saved = errno;
	if (txn_end(pool, &t, rc < 0 ? NULL : err) < 0 && rc == 0) {
		saved = errno;
		rc = -1;
	}
	errno = saved;
	return rc;
}

/* Returns 0, or -1 with errno and err (see xenib.h). */
int xenib_commit(struct xenib_pool *pool, uint32_t jobid, const char *vm, struct xerr *err)
{
	struct txn t = TXN_INIT;
	struct xenib_entry *e = NULL;
	int rc = -1, saved;

	if (!pool || jobid == 0 || !xenib_valid_vm_name(vm)) {
		return xerr_errno(err, EINVAL, "xenib_commit: invalid argument");
	}
	if (txn_begin(pool, &t, err) < 0)
		return -1;
	for (size_t i = 0; i < t.st.n && !e; i++)
		if (t.st.e[i].jobid == jobid && strcmp(t.st.e[i].vm, vm) == 0)
			e = &t.st.e[i];
	if (!e) {
		errno = ENOENT;
		xerr_set(err,
		         "job %u VM %s holds no VF to commit (never allocated, released, or "
		         "reclaimed after its allocator died)",
		         jobid, vm);
		goto out;
	}
	if (e->state == XENIB_LEASED) {
		e->state = XENIB_ASSIGNED;
		e->pid = 0;
		e->start = 0;
		e->since = time(NULL);
		t.dirty = true;
	}
	rc = 0;
out:
	saved = errno;
	if (txn_end(pool, &t, rc < 0 ? NULL : err) < 0 && rc == 0) {
		saved = errno;
		rc = -1;
	}
	errno = saved;
	return rc;
}

/* Which entries a release frees. */
struct match {
	uint32_t jobid;           /* 0: any */
	const char *vm;           /* NULL: any */
	xenib_job_alive_fn alive; /* non-NULL: assigned entries of jobs it says are gone */
	void *arg;
};

static bool matches(const struct match *m, const struct xenib_entry *e)
{
	if (m->alive)
		return e->state == XENIB_ASSIGNED && !m->alive(e->jobid, m->arg);
	return (!m->jobid || e->jobid == m->jobid) && (!m->vm || strcmp(e->vm, m->vm) == 0);
}

/* Release what `m` matches.  Returns 0, or -1 with errno and err (the first failure). */
static int release(struct xenib_pool *pool, const struct match *m, unsigned *released,
                   struct xerr *err)
{
	struct txn t = TXN_INIT;
	unsigned count = 0;
	int rc = 0, saved = 0;

	if (released)
		*released = 0;
	if (txn_begin(pool, &t, err) < 0)
		return -1;
	for (size_t i = 0; i < t.st.n;) {
		struct xenib_entry *e = &t.st.e[i];
		struct xerr why = {{0}};

		if (!matches(m, e)) {
			i++;
			continue;
		}
		if (reset_vf(pool, e, &why) < 0) {
			/* keep it assigned: a VF that may still be up is never handed out again */
			xerror("%s: stays assigned to job %u VM %s: %s", e->bdf, e->jobid, e->vm,
			       why.msg);
			if (rc == 0) {
				saved = errno;
				xerr_set(err, "%s", why.msg);
			}
			rc = -1;
			i++;
			continue;
		}
		xinfo("job %u VM %s: VF %s released", e->jobid, e->vm, e->bdf);
		xenib_state_del(&t.st, i);
		t.dirty = true;
		count++;
	}
	if (txn_end(pool, &t, rc < 0 ? NULL : err) < 0 && rc == 0) {
		saved = errno;
		rc = -1;
	}
	if (released)
		*released = count;
	errno = saved;
	return rc;
}

/* Returns 0, or -1 with errno and err (see xenib.h). */
int xenib_release_job(struct xenib_pool *pool, uint32_t jobid, unsigned *released, struct xerr *err)
{
	struct match m = {.jobid = jobid};

	if (!pool || jobid == 0) {
		return xerr_errno(err, EINVAL, "xenib_release_job: invalid argument");
	}
	return release(pool, &m, released, err);
}

/* Returns 0, or -1 with errno and err (see xenib.h). */
int xenib_release_vm(struct xenib_pool *pool, const char *vm, unsigned *released, struct xerr *err)
{
	struct match m = {.vm = vm};

	if (!pool || !xenib_valid_vm_name(vm)) {
		return xerr_errno(err, EINVAL, "xenib_release_vm: invalid argument");
	}
	return release(pool, &m, released, err);
}

/* Returns 0, or -1 with errno and err (see xenib.h). */
int xenib_recover(struct xenib_pool *pool, xenib_job_alive_fn alive, void *arg, unsigned *released,
                  struct xerr *err)
{
	struct match m = {0};

	if (!pool || !alive) {
		return xerr_errno(err, EINVAL, "xenib_recover: invalid argument");
	}
	m.alive = alive;
	m.arg = arg;
	return release(pool, &m, released, err);
}

/* Returns 0 with *out and *n, or -1 with errno and err (see xenib.h). */
int xenib_pool_status(struct xenib_pool *pool, struct xenib_slot_status **out, size_t *n,
                      struct xerr *err)
{
	struct txn t = TXN_INIT;
	struct xenib_slot_status *s = NULL;
	size_t used = 0;
	int rc = -1, saved;

	if (!pool || !out || !n) {
		return xerr_errno(err, EINVAL, "xenib_pool_status: invalid argument");
	}
	if (txn_begin(pool, &t, err) < 0)
		return -1;
	s = calloc(pool->topo.n_vfs + t.st.n + 1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		xerr_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < pool->topo.n_vfs; i++, used++) {
		const struct xenib_entry *e = xenib_state_find(&t.st, pool->topo.vfs[i].bdf);

		s[used].vf = pool->topo.vfs[i];
		if (!e)
			continue;
		s[used].state = e->state;
		s[used].jobid = e->jobid;
		strcpy(s[used].vm, e->vm);
		s[used].pid = e->pid;
		s[used].since = e->since;
	}
	/* entries whose VF vanished (sriov_numvfs lowered under a job): shown with pf UINT_MAX */
	for (size_t i = 0; i < t.st.n; i++) {
		const struct xenib_entry *e = &t.st.e[i];

		if (find_vf(pool, e->bdf))
			continue;
		s[used].vf.pf = UINT_MAX;
		strcpy(s[used].vf.bdf, e->bdf);
		s[used].state = e->state;
		s[used].jobid = e->jobid;
		strcpy(s[used].vm, e->vm);
		s[used].pid = e->pid;
		s[used].since = e->since;
		used++;
	}
	*out = s;
	*n = used;
	s = NULL;
	rc = 0;
out:
	saved = errno;
	free(s);
	if (txn_end(pool, &t, rc < 0 ? NULL : err) < 0 && rc == 0) {
		saved = errno;
		free(*out);
		*out = NULL;
		rc = -1;
	}
	errno = saved;
	return rc;
}
