/*
 * state.h - the pool state file, <state_dir>/xenib/pool.state (libxenib internal).
 *
 * Text, one line per VF that is not free, so an admin can read it:
 *
 *   xenib-pool 1
 *   <bdf> leased|assigned <jobid> <pid> <pid start time> <since> <vm>
 *
 * `pid` and its start time (field 22 of /proc/<pid>/stat, in clock ticks since boot) name the
 * allocator of a lease: a pid alone could have been reused by the time anyone checks.  Both are
 * 0 once assigned.  `since` is the epoch time of the lease or the commit.  Readers take the lock
 * first; writers replace the file atomically under it.
 */
#ifndef XENIB_STATE_H
#define XENIB_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "lib/error.h"
#include "xenib.h"

struct xenib_entry {
	char bdf[XENIB_BDF_MAX];
	enum xenib_vf_state state; /* LEASED or ASSIGNED */
	uint32_t jobid;
	pid_t pid;
	unsigned long long start;
	time_t since;
	char vm[XENIB_NAME_MAX];
};

struct xenib_state {
	struct xenib_entry *e;
	size_t n, cap;
};

/*
 * Read `path` into *st (empty when the file does not exist yet).  Returns 0, or -1 with errno
 * EBADMSG ("<path>:<line>: ..." - the file is damaged, nothing is guessed), ENOMEM, or the error
 * reading it.
 */
int xenib_state_load(const char *path, struct xenib_state *st, struct xerr *err);
/* Replace `path` atomically with *st (mode 0644).  Returns 0, or -1 with errno and err. */
int xenib_state_save(const char *path, const struct xenib_state *st, struct xerr *err);
/* Append a copy of *e.  Returns 0, or -1 with errno ENOMEM. */
int xenib_state_add(struct xenib_state *st, const struct xenib_entry *e);
/* Remove entry i (order kept). */
void xenib_state_del(struct xenib_state *st, size_t i);
/* The entry for `bdf`, or NULL. */
struct xenib_entry *xenib_state_find(struct xenib_state *st, const char *bdf);
void xenib_state_free(struct xenib_state *st);

/*
 * The pool's directory, lock file and state file under `state_dir` (each buffer PATH_MAX).
 * Returns 0, or -1 with errno ENAMETOOLONG/EINVAL and err.
 */
int xenib_state_paths(const char *state_dir, char *dir, char *lock, char *state, struct xerr *err);

/* True if s is a VM name the pool accepts: 1..63 of [A-Za-z0-9._-], not starting with '.'/'-'. */
bool xenib_valid_vm_name(const char *s);

/*
 * The start time of process `pid` (field 22 of /proc/<pid>/stat).  Returns 0, or -1 with errno
 * ESRCH when it does not exist or is a zombie (a dead allocator not yet reaped is dead).
 */
int xenib_proc_start(pid_t pid, unsigned long long *start);

#endif
