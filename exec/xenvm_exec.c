/*
 * xenvm_exec.c - xenvm-exec: run a command inside the job's VM (see doc/man/xenvm-exec.1).
 *
 *   xenvm-exec [--socket PATH] [--cwd DIR] [--root] [--relay-fd N]... [--no-pmi] -- ARGV...
 *   XENVM_EXEC_ARGV0=/path/app xenvm-exec ARGS...      (task launch: argv[0] was replaced)
 *
 *   srun ARGS... (in the guest: this program under a Slurm client command's name)
 *
 * The second form is how slurmstepd runs a task: spank-xenvm's task_init replaces the task's
 * argv[0] with this program (argv cannot grow) and leaves the original argv[0] in
 * XENVM_EXEC_ARGV0.  The command runs as the caller's uid, gid and groups, with the caller's
 * environment (minus XENVM_EXEC_*) and cwd.  PMI_FD, when set and open, is relayed to the
 * same fd number in the guest.  With XENVM_EXEC_BATCH=1 (the batch step) argv[0] is the batch
 * script on the host: it is copied into the guest first (xenvm_exec_batch.c) and run there.
 *
 * The third form is the guest's shim: the image links srun, sbatch, squeue, scancel, sacct,
 * scontrol and sinfo to this program; under one of those names it sends its own argv,
 * environment and cwd to the agent's host socket, and the host runs the real command as the
 * job's user (guest/agent/relay.c, vm/vmd_guest.c).
 */
#include "xenvm_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define XEXEC_DEFAULT_SOCKET_FMT "/run/xenvm/job/%s/vm0/agent.sock" /* the Prolog's VM */
#define XEXEC_HOST_SOCKET "/run/xenvm/host.sock" /* the guest agent's, for the shim */
#define XEXEC_CHAN 1
#define XEXEC_BATCH_CHAN 2

const char *xexec_prog = "xenvm-exec";
bool xexec_slurm_task;
static bool shim_mode;

/* The commands the shim stands for (the host refuses others: vm/vmd_guest.c). */
static const char *const shim_names[] = {"srun",  "sbatch",   "squeue", "scancel",
                                         "sacct", "scontrol", "sinfo"};

extern char **environ;

struct xexec_opts {
	const char *socket;
	const char *cwd;
	bool root;
	bool no_pmi;
	bool no_pty;
	int relay[XVP_MAX_RELAY];
	size_t nrelay;
	int connect_timeout_ms;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: xenvm-exec [--socket PATH] [--cwd DIR] [--root] [--relay-fd N]... "
	           "[--no-pmi] [--no-pty] -- COMMAND [ARG]...\n"
	           "       XENVM_EXEC_ARGV0=COMMAND xenvm-exec [ARG]...\n");
}

/* Connect to the control socket.  Returns the fd, or -1 with errno and a message printed. */
static int connect_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: socket path too long: %s\n", xexec_prog, path);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		fprintf(stderr, "%s: cannot reach %s at %s: %s\n", xexec_prog,
		        shim_mode ? "the host (the xenvm agent's socket)" : "the VM's agent", path,
		        strerror(e));
		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * Read the HELLO (and its readiness status) within timeout_ms.  Returns 0, or -1 with a
 * message printed (errno ETIMEDOUT, EPROTO, EPROTONOSUPPORT, EHOSTDOWN when not ready).
 */
static int handshake(struct xvp_conn *c, int timeout_ms)
{
	struct xvp_frame f;
	uint32_t version = 0;
	char status[512];
	int r;

	for (;;) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		ssize_t n;

		r = xvp_conn_next(c, &f);
		if (r > 0)
			break;
		if (r < 0)
			goto proto;
		r = poll(&p, 1, timeout_ms);
		if (r == 0) {
			fprintf(stderr, "%s: the VM's agent did not answer in %d ms\n", xexec_prog,
			        timeout_ms);
			errno = ETIMEDOUT;
			return -1;
		}
		if (r < 0 && errno != EINTR)
			return -1;
		n = xvp_conn_fill(c);
		if (n == 0) {
			fprintf(stderr,
			        "%s: the VM's agent closed the connection (is this "
			        "your job's VM?)\n",
			        xexec_prog);
			errno = ECONNREFUSED;
			return -1;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
	}
	if (xvp_parse_hello(&f, &version, status, sizeof(status)) < 0) {
		if (errno == EPROTONOSUPPORT)
			fprintf(stderr, "%s: agent speaks protocol %u, we speak %u\n", xexec_prog,
			        version, XVP_VERSION);
		else
			goto proto;
		return -1;
	}
	if (strncmp(status, "refused: ", 9) == 0) {
		/* over the supervisor's or the guest agent's bounds on connections (vmd.c, relay.c)
		 */
		fprintf(stderr, "%s: %s\n", xexec_prog, status);
		errno = EAGAIN;
		return -1;
	}
	if (strcmp(status, "ok") != 0) {
		fprintf(stderr, "%s: the VM is not ready: %s\n", xexec_prog, status);
		errno = EHOSTDOWN;
		return -1;
	}
	return 0;
proto:
	fprintf(stderr, "%s: not an xenvm agent (bad hello)\n", xexec_prog);
	errno = EPROTO;
	return -1;
}

/* Is fd open?  (PMI_FD may name an fd that was not passed to us.) */
static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Fill the request from our own identity and environment.  0, or -1 (ENOMEM). */
static int build_request(const struct xexec_opts *o, char **argv, size_t argc, struct xvp_exec *x,
                         char *cwdbuf, size_t cwdlen)
{
	static gid_t groups[NGROUPS_MAX];
	static uint32_t g32[NGROUPS_MAX];
	size_t envc = 0, i;
	int ng;

	memset(x, 0, sizeof(*x));
	x->argv = argv;
	x->argc = argc;
	for (i = 0; environ[i]; i++)
		;
	x->envp = calloc(i + 1, sizeof(char *));
	if (!x->envp)
		return -1;
	for (i = 0; environ[i]; i++)
		if (strncmp(environ[i], "XENVM_EXEC_", 11) != 0)
			x->envp[envc++] = environ[i];
	x->envc = envc;
	if (o->cwd) {
		x->cwd = (char *)o->cwd;
	} else if (getcwd(cwdbuf, cwdlen)) {
		x->cwd = cwdbuf;
	} else {
		x->cwd = (char *)"/";
	}
	x->uid = (uint32_t)getuid();
	x->gid = (uint32_t)getgid();
	ng = getgroups(NGROUPS_MAX, groups);
	for (i = 0; ng > 0 && i < (size_t)ng; i++)
		g32[i] = (uint32_t)groups[i];
	x->groups = g32;
	x->ngroups = ng > 0 ? (size_t)ng : 0;
	x->flags = o->root ? XVP_EXEC_ROOT : 0;
	memcpy(x->relay_fds, o->relay, sizeof(o->relay));
	x->nrelay = o->nrelay;
	return 0;
}

/* The node's name as slurmstepd calls itself after it ("slurmstepd-node1"). */
static const char *node_name(void)
{
	static char host[256];
	const char *n = getenv("SLURMD_NODENAME");

	if (n && *n)
		return n;
	if (gethostname(host, sizeof(host) - 1) < 0)
		return "?";
	host[strcspn(host, ".")] = '\0';
	return host;
}

/*
 * The exec could not start (ERROR: i32 errno, text[, NUL, what]): print why and return the exit
 * status.  As a Slurm task, a failed execve is reported as slurmstepd reports its own
 * (src/slurmd/slurmstepd/task.c, exec_task: error("execve(): %s: %m"), _exit(errno)); otherwise,
 * and for the other steps, the shell's 127 (not found) or 126.
 */
static int exec_error(const struct xvp_frame *f)
{
	const char *text = (const char *)f->payload + 4, *nul, *what = NULL;
	size_t tlen = f->len > 4 ? f->len - 4 : 0, wlen = 0;
	uint32_t e = 0;
	bool exec_stage;

	xvp_get_u32(f, 0, &e);
	nul = memchr(text, '\0', tlen);
	if (nul) {
		what = nul + 1;
		wlen = tlen - (size_t)(what - text);
		tlen = (size_t)(nul - text);
	}
	exec_stage = tlen > 5 && memcmp(text, "exec:", 5) == 0;
	if (xexec_slurm_task && exec_stage && what && wlen > 0 && e > 0 && e < 256) {
		fprintf(stderr, "slurmstepd-%s: error: execve(): %.*s: %s\n", node_name(),
		        (int)wlen, what, strerror((int)e));
		return (int)e;
	}
	fprintf(stderr, "%s: %s%.*s\n", xexec_prog, shim_mode ? "on the host: " : "", (int)tlen,
	        text);
	return e == ENOENT && exec_stage ? XEXEC_EXIT_NOTFOUND : XEXEC_EXIT_NOEXEC;
}

int xexec_wait_started(struct xvp_conn *c, uint32_t chan)
{
	struct xvp_frame f;
	int r;

	for (;;) {
		ssize_t n;

		r = xvp_conn_next(c, &f);
		if (r < 0)
			return -1;
		if (r == 0) {
			n = xvp_conn_fill(c);
			if (n == 0) {
				fprintf(stderr, "%s: the VM's agent went away\n", xexec_prog);
				return -1;
			}
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				return -1;
			continue;
		}
		if (f.chan != chan)
			continue;
		if (f.type == XVP_STARTED)
			return 0;
		if (f.type == XVP_ERROR)
			return exec_error(&f);
	}
}

/* argv[0]'s basename when it is one of the shim's names, else NULL. */
static const char *shim_name(const char *argv0)
{
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;

	base = base ? base + 1 : argv0;
	for (size_t i = 0; base && i < sizeof(shim_names) / sizeof(shim_names[0]); i++)
		if (strcmp(base, shim_names[i]) == 0)
			return shim_names[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'}, {"cwd", required_argument, NULL, 'C'},
	    {"root", no_argument, NULL, 'r'},         {"relay-fd", required_argument, NULL, 'f'},
	    {"no-pmi", no_argument, NULL, 'P'},       {"no-pty", no_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct xexec_opts o = {.connect_timeout_ms = 30000};
	char sockbuf[PATH_MAX], cwdbuf[PATH_MAX];
	char **cargv = NULL;
	size_t cargc;
	struct xvp_exec x = {0};
	struct xvp_buf req = {0};
	struct xvp_conn c;
	const char *argv0 = getenv("XENVM_EXEC_ARGV0"), *v, *shim = shim_name(argv[0]);
	char guest_script[PATH_MAX];
	uint8_t *script = NULL;
	size_t script_len = 0;
	bool batch = false, ended = false;
	int fd = -1, opt, rc = XEXEC_EXIT_INTERNAL, ws = 0;

	xvp_conn_init(&c, -1);
	if (shim) {
		/* In the guest: the host runs the real command with our argv (PATH finds it). */
		shim_mode = true;
		xexec_prog = shim;
		cargc = (size_t)argc;
		cargv = calloc(cargc + 1, sizeof(*cargv));
		if (!cargv)
			goto nomem;
		cargv[0] = (char *)shim;
		for (int i = 1; i < argc; i++)
			cargv[i] = argv[i];
		o.no_pmi = true;
		o.no_pty = true; /* the host's commands (srun, squeue) run on pipes */
		o.socket = getenv("XENVM_HOST_SOCKET");
		if (!o.socket || !*o.socket)
			o.socket = XEXEC_HOST_SOCKET;
	} else if (argv0 && *argv0) {
		/* Task-launch form: no options of ours, the whole argv is the task's. */
		cargc = (size_t)argc;
		cargv = calloc(cargc + 1, sizeof(*cargv));
		if (!cargv)
			goto nomem;
		cargv[0] = (char *)argv0;
		for (int i = 1; i < argc; i++)
			cargv[i] = argv[i];
		o.root = (v = getenv("XENVM_EXEC_ROOT")) && strcmp(v, "1") == 0;
		batch = (v = getenv("XENVM_EXEC_BATCH")) && strcmp(v, "1") == 0;
		xexec_slurm_task = !batch;
		if (batch) {
			rc = xexec_batch_read(argv0, &script, &script_len);
			if (rc != 0)
				goto out;
			rc = XEXEC_EXIT_INTERNAL;
		}
	} else {
		while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
			switch (opt) {
			case 's':
				o.socket = optarg;
				break;
			case 'C':
				o.cwd = optarg;
				break;
			case 'r':
				o.root = true;
				break;
			case 'f': {
				char *end;
				long n = strtol(optarg, &end, 10);

				if (*end || n < 3 || n > 1023 || o.nrelay >= XVP_MAX_RELAY) {
					fprintf(stderr, "%s: bad --relay-fd %s\n", xexec_prog,
					        optarg);
					return 2;
				}
				o.relay[o.nrelay++] = (int)n;
				break;
			}
			case 'P':
				o.no_pmi = true;
				break;
			case 'T':
				o.no_pty = true;
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
			}
		}
		if (optind >= argc) {
			usage(stderr);
			return 2;
		}
		cargc = (size_t)(argc - optind);
		cargv = calloc(cargc + 1, sizeof(*cargv));
		if (!cargv)
			goto nomem;
		memcpy(cargv, argv + optind, cargc * sizeof(*cargv));
	}
	/* srun --mpi=pmi2 gives the task PMI_FD: the guest process gets the same fd number. */
	if (!o.no_pmi && (v = getenv("PMI_FD")) && o.nrelay < XVP_MAX_RELAY) {
		int pfd = atoi(v);
		bool dup = false;

		for (size_t i = 0; i < o.nrelay; i++)
			dup = dup || o.relay[i] == pfd;
		if (pfd > 2 && pfd <= 1023 && !dup && fd_open(pfd))
			o.relay[o.nrelay++] = pfd;
	}
	if (!o.socket)
		o.socket = getenv("XENVM_SOCKET");
	if (!o.socket) {
		v = getenv("SLURM_JOB_ID");
		if (!v) {
			fprintf(stderr, "%s: no --socket, XENVM_SOCKET or SLURM_JOB_ID\n",
			        xexec_prog);
			goto out;
		}
		snprintf(sockbuf, sizeof(sockbuf), XEXEC_DEFAULT_SOCKET_FMT, v);
		o.socket = sockbuf;
	}
	fd = connect_socket(o.socket);
	if (fd < 0)
		goto out;
	xvp_conn_init(&c, fd);
	if (handshake(&c, o.connect_timeout_ms) < 0)
		goto out;
	if (build_request(&o, cargv, cargc, &x, cwdbuf, sizeof(cwdbuf)) < 0)
		goto nomem;
	if (xexec_slurm_task)
		x.flags |= XVP_EXEC_SLURM_PATH;
	/*
	 * A terminal on stdin and stdout (srun --pty gives the task slurmstepd's pty on all
	 * three): the command gets a pty of its own in the guest, with our terminal's modes.
	 */
	if (!o.no_pty && !batch && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) &&
	    xexec_tty_save(&x.tty) == 0)
		x.pty = true;
	if (batch) {
		const char *job = getenv("SLURM_JOB_ID");

		/* the id only names the directory: anything but digits is not used */
		if (!job || !*job || strspn(job, "0123456789") != strlen(job) || strlen(job) > 20)
			job = "0";
		rc = xexec_batch_copy(&c, XEXEC_BATCH_CHAN, script, script_len, job, &x,
		                      guest_script, sizeof(guest_script));
		if (rc != 0)
			goto out;
		rc = XEXEC_EXIT_INTERNAL;
		cargv[0] = guest_script; /* x.argv is cargv */
	}
	if (xvp_exec_encode(&x, &req) < 0) {
		if (errno == EMSGSIZE) {
			fprintf(stderr, "%s: argument list and environment too large\n",
			        xexec_prog);
			goto out;
		}
		goto nomem;
	}
	if (xvp_send(&c, XVP_EXEC, XEXEC_CHAN, 0, req.buf + req.off, req.len) < 0)
		goto nomem;
	if (xvp_conn_flush_all(&c) < 0) {
		fprintf(stderr, "%s: sending the request: %s\n", xexec_prog, strerror(errno));
		goto out;
	}
	rc = xexec_wait_started(&c, XEXEC_CHAN);
	if (rc != 0) {
		if (rc < 0)
			rc = XEXEC_EXIT_INTERNAL;
		goto out;
	}
	if (x.pty && xexec_tty_raw() < 0) {
		fprintf(stderr, "%s: terminal raw mode: %s\n", xexec_prog, strerror(errno));
		goto out;
	}
	ws = xexec_relay(&c, XEXEC_CHAN, o.relay, o.nrelay, x.pty);
	if (ws < 0) {
		rc = XEXEC_EXIT_INTERNAL;
		goto out;
	}
	ended = true;
	goto out;
nomem:
	fprintf(stderr, "%s: out of memory\n", xexec_prog);
	rc = XEXEC_EXIT_INTERNAL;
out:
	free(script);
	xvp_buf_free(&req);
	free(x.envp);
	free(cargv);
	xvp_conn_fini(&c);
	if (fd >= 0)
		close(fd);
	xexec_tty_restore();
	if (ended)
		xexec_end_like(ws); /* the command's exit code, or its death by signal */
	return rc;
}
