/*
 * jobstate.h - what a node knows about a job's VM, under <state_dir>/job/<jobid>/.
 *
 * The Prolog writes `job.state` (atomically: readers see the whole record or none) and the
 * Epilog removes the directory.  The record is "key=value" lines; values never contain newlines
 * (writers refuse them).  Later stages add their own files beside it (the VM's state, the
 * control socket owned by the job's user).
 */
#ifndef XENVM_JOBSTATE_H
#define XENVM_JOBSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "request.h"

#define XENVM_JOB_RECORD "job.state"

struct xenvm_job_record {
	uint32_t jobid;
	uid_t uid;
	gid_t gid;
	char user[64];
	char node[256];      /* this node's name (SLURMD_NODENAME) */
	char *nodelist;      /* the job's nodes, as Slurm wrote them (malloc'ed) */
	uint32_t node_index; /* this node's place in the expanded list */
	uint32_t node_count;
	struct xenvm_request req;
	char *error; /* why the job's VM cannot run here, or NULL (malloc'ed) */
	/* What the user should know at task launch but does not stop the VM (a share refused by
	 * the site's policy, node/sharepolicy.h), "; "-separated, or NULL (malloc'ed). */
	char *warning;
	char *cwd_refused; /* the job's working directory when it was refused, or NULL */
	/* The VM, once the Prolog booted it ("" / 0 before). */
	char driver[16];     /* "qemu" | "xen" */
	char vm_dir[1024];   /* its state directory: agent.sock, status, console.log */
	char guest_ip[20];   /* "10.184.11.13" */
	uint32_t fetch_ms;   /* image fetch (cache hit or broadcast) */
	int64_t fetch_bytes; /* bytes this node received; 0: cache hit; -1: unknown */
	uint32_t boot_ms;    /* boot until the agent said ready */
	/* InfiniBand (node/jobib.h): "vf", "rxe" or "" (none); recorded before the VM boots */
	char ib[8];
	char ib_bdf[16];   /* "vf": the VF's PCI address passed through */
	char ib_info[200]; /* what the guest's verbs check reported ("rxe0 port 1 ACTIVE ...") */
	bool step_only;    /* booted for --vm-image steps of a job without a VM (prolog/step.h):
	                      only steps that ask for the image run in it */
};

/* "<state_dir>/job/<jobid>" into buf; returns 0, or -1 with errno ENAMETOOLONG/EINVAL. */
int xenvm_job_dir(const char *state_dir, uint32_t jobid, char *buf, size_t len);

/* Create the job's directory (0755, root) and write the record.  0, or -1 with err + errno. */
int xenvm_job_record_write(const char *state_dir, const struct xenvm_job_record *rec,
                           struct xerr *err);
/*
 * Read a record.  0 and *rec filled (release with xenvm_job_record_clear), -1 with errno
 * ENOENT when the job has no state here, other errno with err filled on a damaged record.
 */
int xenvm_job_record_read(const char *state_dir, uint32_t jobid, struct xenvm_job_record *rec,
                          struct xerr *err);
void xenvm_job_record_clear(struct xenvm_job_record *rec);

/*
 * Is job `jobid` still on this node: does <state_dir>/job/<jobid>/ exist (the Prolog creates
 * it, the Epilog removes it)?  True also when that cannot be told (a path too long, a stat error
 * other than ENOENT), so a caller never takes something from a job that may be running.
 */
bool xenvm_job_present(const char *state_dir, uint32_t jobid);

/* Remove the job's directory and all in it; missing is success.  0, or -1 with errno. */
int xenvm_job_remove(const char *state_dir, uint32_t jobid);

/* Parse a job id ("123"): 0, or -1 with err naming `what`. */
int xenvm_parse_jobid(const char *what, const char *s, uint32_t *out, struct xerr *err);
/* Parse a uid/gid ("1000"): 0, or -1 with err naming `what`. */
int xenvm_parse_id(const char *what, const char *s, uint32_t *out, struct xerr *err);

#endif
