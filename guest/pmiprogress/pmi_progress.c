/*
 * pmi_progress.c - keep UCX progressing while an MPI rank waits in MPI_Finalize's PMI barrier.
 *
 * Debian 12's MPICH 4.0.2 (ch4:ucx) finalizes by closing every UCX endpoint, spinning in
 * ucp_worker_progress() until the closes complete, and only then entering a PMI barrier.  A
 * close can need the peer's progress (wire-up and flush replies), but a peer that finished its
 * own closes first sits in the barrier's blocking read() on the PMI socket and never progresses
 * UCX again: the job hangs with one rank spinning and the others in the PMI read.  Under TCG it
 * hit about one 4-rank job in five; with four ranks on one host over UCX's tcp transport, about
 * one in two.  MPICH fixed the order in 4.2 (commits 08d8105b, d6c7cd5b: barrier first).
 *
 * This library, preloaded into the guest's dynamic programs (/etc/ld.so.preload), changes
 * nothing until the program's first ucp_disconnect_nb() (MPICH calls it only in finalize).  From
 * then on a read() of the PMI descriptor (PMI_FD, as srun --mpi=pmi2 and hydra pass it) waits
 * for data while progressing the worker, as Open MPI's UCX PML does during its fence.  Programs
 * without UCX never reach these wrappers; without PMI_FD nothing changes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ucp/api/ucp.h>

typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ucs_status_t (*worker_create_fn)(ucp_context_h, const ucp_worker_params_t *,
                                         ucp_worker_h *);
typedef void (*worker_destroy_fn)(ucp_worker_h);
typedef unsigned (*worker_progress_fn)(ucp_worker_h);
typedef ucs_status_ptr_t (*disconnect_fn)(ucp_ep_h);

/* The first worker the program created (MPICH's VNI 0); NULL before and after. */
static ucp_worker_h progress_worker;
/* Set by the first endpoint close: the program is finalizing. */
static int finalizing;
/* PMI_FD of the process, -1 when it has none. */
static int pmi_fd = -1;

/*
 * next() - the definition of SYM that this library hides.
 * Returns the address, or NULL when no later object defines SYM (errno is not set).
 */
static void *next(const char *sym)
{
	return dlsym(RTLD_NEXT, sym);
}

/* Reads PMI_FD once at load time: getenv() in a read() wrapper could run at odd moments. */
__attribute__((constructor)) static void pmi_progress_init(void)
{
	const char *s = getenv("PMI_FD");
	char *end;
	long v;

	if (!s || !*s)
		return;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == 0 && *end == '\0' && v >= 0 && v <= 1048576)
		pmi_fd = (int)v;
}

/*
 * ucp_worker_create() - UCX's, remembering the first worker created.
 * Returns UCX's status; *worker_p as UCX sets it.
 */
ucs_status_t ucp_worker_create(ucp_context_h context, const ucp_worker_params_t *params,
                               ucp_worker_h *worker_p)
{
	worker_create_fn real = (worker_create_fn)next("ucp_worker_create");
	ucs_status_t st;

	if (!real)
		return UCS_ERR_UNSUPPORTED;
	st = real(context, params, worker_p);
	if (st == UCS_OK && !progress_worker)
		__atomic_store_n(&progress_worker, *worker_p, __ATOMIC_RELEASE);
	return st;
}

/* ucp_worker_destroy() - UCX's; a destroyed worker is never progressed again. */
void ucp_worker_destroy(ucp_worker_h worker)
{
	worker_destroy_fn real = (worker_destroy_fn)next("ucp_worker_destroy");

	if (worker == progress_worker)
		__atomic_store_n(&progress_worker, NULL, __ATOMIC_RELEASE);
	if (real)
		real(worker);
}

/*
 * ucp_disconnect_nb() - UCX's (deprecated, and used only by MPICH's finalize); marks the
 * process as finalizing.  Returns what UCX returns; UCS_ERR_UNSUPPORTED if UCX is absent.
 */
ucs_status_ptr_t ucp_disconnect_nb(ucp_ep_h ep)
{
	disconnect_fn real = (disconnect_fn)next("ucp_disconnect_nb");

	__atomic_store_n(&finalizing, 1, __ATOMIC_RELEASE);
	if (!real)
		return UCS_STATUS_PTR(UCS_ERR_UNSUPPORTED);
	return real(ep);
}

/*
 * wait_progressing() - returns when FD is readable (or in error/hang-up, which the read that
 * follows reports), calling ucp_worker_progress() on WORKER meanwhile.
 */
static void wait_progressing(int fd, ucp_worker_h worker)
{
	static worker_progress_fn progress;
	struct pollfd p;

	if (!progress)
		progress = (worker_progress_fn)next("ucp_worker_progress");
	if (!progress)
		return;
	for (;;) {
		p.fd = fd;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, 0) != 0)
			return; /* readable, error, or a poll failure the read will report */
		/* Nothing from the PMI server yet: serve the peers, then wait a little. */
		if (progress(worker) == 0 && poll(&p, 1, 1) != 0)
			return;
	}
}

/*
 * read() - libc's; on the PMI descriptor of a finalizing UCX program it first waits for data
 * while progressing UCX.  Returns and sets errno as read(2).
 */
ssize_t read(int fd, void *buf, size_t count)
{
	static read_fn real;
	ucp_worker_h w;

	if (!real) {
		real = (read_fn)next("read");
		if (!real) {
			errno = ENOSYS;
			return -1;
		}
	}
	if (fd == pmi_fd && __atomic_load_n(&finalizing, __ATOMIC_ACQUIRE) &&
	    (w = __atomic_load_n(&progress_worker, __ATOMIC_ACQUIRE)) != NULL)
		wait_progressing(fd, w);
	return real(fd, buf, count);
}
