/*
 * vmd.c - the per-VM supervisor's multiplexer (see vmd.h).
 *
 * Clients speak the agent protocol with their own channel ids; each exec gets a fresh id on the
 * VM link and frames are rewritten both ways.  The supervisor forwards stream data as it is,
 * so the agent's and the client's credits bound what it ever buffers.  Before forwarding an
 * EXEC it checks the request's uid/gid/groups against the client's SO_PEERCRED identity.
 * Channels the guest opens (ids with XVP_CHAN_GUEST: srun in the guest) go to vmd_guest.c.
 */
#include "vm/vmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "vm/proto.h"
#include "vm/vmd_guest.h"

/*
 * Bounds on the control socket (its mode admits only the job's user and root, but the job's
 * user may flood it): at most VMD_MAX_CLIENTS connections, VMD_MAX_PER_PEER from one process,
 * the excess refused at once with a reason in the HELLO; a connection that has not asked for
 * anything VMD_IDLE_MS after its HELLO is closed.  One thread whatever comes.
 */
#define VMD_MAX_CLIENTS 1024
#define VMD_MAX_PER_PEER 64
#define VMD_IDLE_MS 10000
#define VMD_FD_RESERVE 64 /* the supervisor's own descriptors besides its clients */

struct route {
	uint32_t client_chan, vm_chan;
};

struct client {
	struct xvp_conn conn;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool dead, greeted, asked; /* asked: sent something after the HELLO */
	long long greeted_ms;
	struct route *routes;
	size_t nroutes;
};

static struct client *clients[VMD_MAX_CLIENTS];
static size_t max_clients = VMD_MAX_CLIENTS;
static uint32_t next_vm_chan = 1;
/* Refusals are logged once a minute with their count, not once each. */
static struct xvp_refusals refusals;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Room for max_clients: the soft descriptor limit raised to the hard one; when the hard limit is
 * lower, fewer clients (each a descriptor), so that accept never meets EMFILE while we refuse.
 */
static void size_for_clients(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < VMD_MAX_CLIENTS + 2 * VMD_FD_RESERVE)
		max_clients =
		    rl.rlim_cur > 2 * VMD_FD_RESERVE ? rl.rlim_cur - 2 * VMD_FD_RESERVE : 1;
}

int vmd_write_status(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	f = fopen(tmp, "we");
	if (!f)
		return -1;
	fprintf(f, "%s\n", text);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * <dir of status_path>/guest.info: the report that followed "ok" in the agent's hello (e.g.
 * "ib=rxe0 port=1 state=ACTIVE ..."), one line, replaced atomically.  A failure is logged only:
 * the VM is ready either way.
 */
static void write_guest_info(const char *status_path, const char *info)
{
	char path[4096];
	const char *slash = strrchr(status_path, '/');
	int dl = slash ? (int)(slash - status_path) : 1;

	if (snprintf(path, sizeof(path), "%.*s/guest.info", dl, slash ? status_path : ".") >=
	        (int)sizeof(path) ||
	    vmd_write_status(path, info) < 0)
		xwarn("%s: cannot write the guest's report: %s", path, strerror(errno));
}

/* Append raw[from, to) to buf as printable text, lines joined with " | ". */
static size_t append_lines(char *buf, size_t o, size_t len, const char *raw, size_t from, size_t to)
{
	for (size_t i = from; i < to && o + 4 < len; i++) {
		char ch = raw[i];

		if (ch == '\n') {
			if (o > 0 && i + 1 < to) {
				memcpy(buf + o, " | ", 3);
				o += 3;
			}
		} else if (ch >= 0x20 && ch < 0x7f) {
			buf[o++] = ch;
		}
	}
	buf[o] = '\0';
	return o;
}

/* The start of the last line containing `what` in raw[0, n), or n. */
static size_t last_line_with(const char *raw, size_t n, const char *what)
{
	size_t found = n, wl = strlen(what);

	for (size_t i = 0; i + wl <= n; i++)
		if (memcmp(raw + i, what, wl) == 0)
			found = i;
	while (found < n && found > 0 && raw[found - 1] != '\n')
		found--;
	return found;
}

void vmd_console_tail(const char *path, char *buf, size_t len)
{
	static const char *const why[] = {"Kernel panic", "xenvm-init: FAILED",
	                                  "xenvm-agent: error"};
	char raw[16384];
	size_t n, o = 0, start, lines = 0;
	ssize_t r;
	off_t end;
	int fd;

	if (len == 0)
		return;
	buf[0] = '\0';
	fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	lseek(fd, end > (off_t)sizeof(raw) ? end - (off_t)sizeof(raw) : 0, SEEK_SET);
	r = read(fd, raw, sizeof(raw));
	close(fd);
	if (r <= 0)
		return;
	n = (size_t)r;
	/* The reason first (a panic or init's own FAILED line), then the last lines. */
	for (size_t w = 0; w < sizeof(why) / sizeof(why[0]); w++) {
		size_t at = last_line_with(raw, n, why[w]);

		if (at < n) {
			size_t eol = at;

			while (eol < n && raw[eol] != '\n')
				eol++;
			o = append_lines(buf, o, len, raw, at, eol);
			if (o + 8 < len) {
				memcpy(buf + o, " ... ", 5);
				o += 5;
			}
			break;
		}
	}
	start = n;
	while (start > 0 && lines < 5)
		if (raw[--start] == '\n' && start + 1 < n)
			lines++;
	append_lines(buf, o, len, raw, start, n);
}

static struct client *route_owner(uint32_t vm_chan, uint32_t *client_chan)
{
	for (size_t i = 0; i < VMD_MAX_CLIENTS; i++) {
		struct client *c = clients[i];

		if (!c)
			continue;
		for (size_t r = 0; r < c->nroutes; r++)
			if (c->routes[r].vm_chan == vm_chan) {
				*client_chan = c->routes[r].client_chan;
				return c;
			}
	}
	return NULL;
}

static struct route *route_of(struct client *c, uint32_t client_chan)
{
	for (size_t r = 0; r < c->nroutes; r++)
		if (c->routes[r].client_chan == client_chan)
			return &c->routes[r];
	return NULL;
}

static void route_drop(struct client *c, uint32_t vm_chan)
{
	for (size_t r = 0; r < c->nroutes; r++)
		if (c->routes[r].vm_chan == vm_chan) {
			c->routes[r] = c->routes[--c->nroutes];
			return;
		}
}

/* May the peer run this request?  0, or -1 with msg filled. */
static int check_exec(const struct client *c, const struct xvp_frame *f, bool allow_root, char *msg,
                      size_t len)
{
	struct xvp_exec x;
	int rc = -1;

	if (xvp_exec_decode(f->payload, f->len, &x) < 0) {
		snprintf(msg, len, "malformed exec request");
		return -1;
	}
	if (x.flags & XVP_EXEC_ROOT) {
		if (!allow_root && c->uid != 0) {
			snprintf(msg, len, "root in the guest was not granted to this job");
			goto out;
		}
	} else if (c->uid != 0 && (x.uid != c->uid || x.gid != c->gid)) {
		snprintf(msg, len, "request for uid %u gid %u from uid %u refused", x.uid, x.gid,
		         (unsigned)c->uid);
		goto out;
	}
	rc = 0;
out:
	xvp_exec_free(&x);
	return rc;
}

static void client_frame(struct client *c, struct xvp_conn *vm, const struct xvp_frame *f,
                         bool allow_root)
{
	struct route *r;
	char msg[256];

	if (f->type == XVP_HELLO)
		return;
	if (f->type == XVP_SHUTDOWN) {
		if (c->uid == 0 && xvp_send(vm, XVP_SHUTDOWN, 0, 0, NULL, 0) < 0)
			c->dead = true;
		return;
	}
	if (f->type == XVP_EXEC) {
		struct route *nr;

		if (route_of(c, f->chan) || check_exec(c, f, allow_root, msg, sizeof(msg)) < 0) {
			if (route_of(c, f->chan))
				snprintf(msg, sizeof(msg), "channel in use");
			xwarn("client pid %d uid %u: %s", (int)c->pid, (unsigned)c->uid, msg);
			if (xvp_send_error(&c->conn, f->chan, EPERM, msg) < 0)
				c->dead = true;
			return;
		}
		nr = realloc(c->routes, (c->nroutes + 1) * sizeof(*nr));
		if (!nr) {
			c->dead = true;
			return;
		}
		c->routes = nr;
		nr[c->nroutes].client_chan = f->chan;
		nr[c->nroutes].vm_chan = next_vm_chan++;
		/* the ids with XVP_CHAN_GUEST are the guest's */
		if (next_vm_chan >= XVP_CHAN_GUEST)
			next_vm_chan = 1;
		r = &nr[c->nroutes++];
	} else {
		r = route_of(c, f->chan);
		if (!r)
			return;
	}
	if (xvp_send(vm, f->type, r->vm_chan, f->stream, f->payload, f->len) < 0)
		c->dead = true;
}

static void vm_frame(struct xvp_conn *vm, const struct xvp_frame *f)
{
	struct client *c;
	uint32_t cc;

	if (f->chan & XVP_CHAN_GUEST)
		return vmd_guest_from_vm(vm, f);
	c = route_owner(f->chan, &cc);
	if (!c) {
		/* Its client is gone: stop the exec (a CLOSE was sent; this covers races). */
		if (f->type == XVP_STARTED)
			xvp_send(vm, XVP_CLOSE, f->chan, 0, NULL, 0);
		return;
	}
	if (xvp_send(&c->conn, f->type, cc, f->stream, f->payload, f->len) < 0)
		c->dead = true;
	if (f->type == XVP_EXIT || f->type == XVP_ERROR)
		route_drop(c, f->chan);
}

static void client_free(struct client *c, struct xvp_conn *vm)
{
	for (size_t r = 0; r < c->nroutes; r++)
		xvp_send(vm, XVP_CLOSE, c->routes[r].vm_chan, 0, NULL, 0);
	close(c->conn.fd);
	xvp_conn_fini(&c->conn);
	free(c->routes);
	free(c);
}

/* A refused connection, logged with the count of those since the last line (one a minute). */
/*
 * Over the bounds: tell the client why in its HELLO ("refused: ..." is what xenvm-exec prints)
 * and close.  True when fd was refused (and closed).
 */
static bool refuse_excess(int fd, pid_t pid)
{
	char why[160];
	size_t n = 0, same = 0;

	for (size_t i = 0; i < max_clients; i++)
		if (clients[i]) {
			n++;
			same += clients[i]->pid == pid;
		}
	if (n >= max_clients)
		snprintf(why, sizeof(why),
		         "refused: too many connections to the VM's supervisor (%zu open)", n);
	else if (same >= VMD_MAX_PER_PEER)
		snprintf(why, sizeof(why),
		         "refused: too many connections to the VM's supervisor from process %d "
		         "(%zu open)",
		         (int)pid, same);
	else
		return false;
	xvp_refuse(fd, why, "control socket", &refusals);
	return true;
}

/* 0, or -1 when out of descriptors (the caller pauses the socket). */
static int accept_client(int lfd, uid_t owner, bool ready, const char *status)
{
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	struct client *c;
	size_t i;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM
		           ? -1
		           : 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
	    (cr.uid != 0 && cr.uid != owner)) {
		char why[96];

		/* The socket's mode should have stopped it; refuse without a word. */
		snprintf(why, sizeof(why), "a client of uid %u (VM belongs to uid %u)",
		         (unsigned)cr.uid, (unsigned)owner);
		xvp_refusal_log(&refusals, "control socket", why);
		close(fd);
		return 0;
	}
	if (refuse_excess(fd, cr.pid))
		return 0;
	for (i = 0; i < max_clients && clients[i]; i++)
		;
	c = i < max_clients ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		close(fd);
		return 0;
	}
	xvp_conn_init(&c->conn, fd);
	c->uid = cr.uid;
	c->gid = cr.gid;
	c->pid = cr.pid;
	if (ready) {
		xvp_send_hello(&c->conn, status);
		c->greeted = true;
		c->greeted_ms = now_ms();
	}
	clients[i] = c;
	return 0;
}

int vmd_run(const struct vmd_config *cfg)
{
	struct xvp_conn vm;
	char status[512] = "", msg[1024], tail[700];
	bool ready = false, stop = false, claimed = !cfg->claim_ms;
	long long start = now_ms(), listen_after = 0;
	sigset_t set;
	int sfd, rc = -1;

	xvp_conn_init(&vm, cfg->agent_fd);
	fcntl(cfg->agent_fd, F_SETFL, O_NONBLOCK);
	fcntl(cfg->listen_fd, F_SETFL, O_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return -1;
	size_for_clients();
	vmd_guest_init(cfg->owner_uid, cfg->owner_gid, cfg->host_agent);
	while (!stop) {
		struct pollfd pfd[2 + 2 + VMD_MAX_CLIENTS];
		int idx[2 + 2 + VMD_MAX_CLIENTS];
		short hev = 0;
		int hfd = vmd_guest_fd(&hev);
		nfds_t n = 0;
		struct xvp_frame f;

		pfd[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
		idx[n++] = -1;
		pfd[n] = (struct pollfd){.fd = vm.fd, .events = POLLIN};
		if (xvp_conn_pending(&vm))
			pfd[n].events |= POLLOUT;
		idx[n++] = -2;
		/* (paused for a second after EMFILE: the pending connection would spin us) */
		if (now_ms() >= listen_after) {
			pfd[n] = (struct pollfd){.fd = cfg->listen_fd, .events = POLLIN};
			idx[n++] = -3;
		}
		if (hfd >= 0) {
			pfd[n] = (struct pollfd){.fd = hfd, .events = hev};
			idx[n++] = -4;
		}
		for (size_t i = 0; i < VMD_MAX_CLIENTS; i++)
			if (clients[i]) {
				pfd[n] =
				    (struct pollfd){.fd = clients[i]->conn.fd, .events = POLLIN};
				if (xvp_conn_pending(&clients[i]->conn))
					pfd[n].events |= POLLOUT;
				idx[n++] = (int)i;
			}
		/* a second's tick: idle clients, the claim deadline, the paused socket */
		if (poll(pfd, n, 1000) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (nfds_t k = 0; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			if (idx[k] == -1) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					if (si.ssi_signo == SIGCHLD)
						vmd_guest_reap();
					if (si.ssi_signo != SIGCHLD) {
						snprintf(msg, sizeof(msg), "destroyed");
						stop = true;
					} else if (waitpid(cfg->child, NULL, WNOHANG) ==
					           cfg->child) {
						vmd_console_tail(cfg->console_log, tail,
						                 sizeof(tail));
						snprintf(msg, sizeof(msg), "the VM exited%s: %s",
						         ready ? "" : " before its agent was ready",
						         tail);
						stop = true;
					}
				}
			} else if (idx[k] == -2) {
				ssize_t r;
				int more;

				if ((pfd[k].revents & POLLOUT) && xvp_conn_flush(&vm) < 0)
					goto vm_lost;
				if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				r = xvp_conn_fill(&vm);
				if (r == 0 || (r < 0 && errno != EAGAIN))
					goto vm_lost;
				while ((more = xvp_conn_next(&vm, &f)) > 0) {
					uint32_t ver;

					if (f.type == XVP_HELLO && f.chan == 0) {
						if (xvp_parse_hello(&f, &ver, status,
						                    sizeof(status)) < 0)
							snprintf(status, sizeof(status),
							         "agent speaks protocol %u", ver);
						/* "ok <report>": ready, with what the guest found
						 * (its verbs device); clients see plain "ok". */
						if (strncmp(status, "ok ", 3) == 0) {
							write_guest_info(cfg->status_path,
							                 status + 3);
							status[2] = '\0';
						}
						if (!ready) {
							ready = true;
							vmd_write_status(cfg->status_path,
							                 strcmp(status, "ok") == 0
							                     ? "ready"
							                     : status);
						}
						continue;
					}
					vm_frame(&vm, &f);
				}
				if (more < 0)
					goto vm_lost;
				continue;
			vm_lost:
				vmd_console_tail(cfg->console_log, tail, sizeof(tail));
				snprintf(msg, sizeof(msg), "lost the agent channel: %s", tail);
				stop = true;
			} else if (idx[k] == -3) {
				if (accept_client(cfg->listen_fd, cfg->owner_uid, ready, status) <
				    0)
					listen_after = now_ms() + 1000;
			} else if (idx[k] == -4) {
				vmd_guest_io(&vm, pfd[k].revents);
			} else {
				struct client *c = clients[idx[k]];
				ssize_t r;
				int more = 0;

				if (!c || c->dead)
					continue;
				if ((pfd[k].revents & POLLOUT) && xvp_conn_flush(&c->conn) < 0) {
					c->dead = true;
					continue;
				}
				if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				r = xvp_conn_fill(&c->conn);
				if (r == 0 || (r < 0 && errno != EAGAIN)) {
					c->dead = true;
					continue;
				}
				while (!c->dead && (more = xvp_conn_next(&c->conn, &f)) > 0) {
					c->asked = true;
					client_frame(c, &vm, &f, cfg->allow_root);
				}
				if (more < 0)
					c->dead = true;
			}
		}
		for (size_t i = 0; i < VMD_MAX_CLIENTS; i++) {
			struct client *c = clients[i];

			if (!c)
				continue;
			if (ready && !c->greeted) {
				xvp_send_hello(&c->conn, status);
				c->greeted = true;
				c->greeted_ms = now_ms();
			}
			if (c->greeted && !c->asked && now_ms() - c->greeted_ms >= VMD_IDLE_MS) {
				xdebug("client pid %d: nothing asked in %d s: closed", (int)c->pid,
				       VMD_IDLE_MS / 1000);
				c->dead = true;
			}
			if (!c->dead && xvp_conn_flush(&c->conn) < 0)
				c->dead = true;
			if (c->dead) {
				client_free(c, &vm);
				clients[i] = NULL;
			}
		}
		if (xvp_conn_flush(&vm) < 0 && !stop) {
			snprintf(msg, sizeof(msg), "lost the agent channel");
			stop = true;
		}
		/*
		 * A job's VM nobody took: its Prolog was killed (slurmd gone) before it recorded
		 * the VM.  Without this the VM would wait for an Epilog Slurm may never run.
		 */
		if (!claimed && !stop && now_ms() - start >= (long long)cfg->claim_ms) {
			claimed = access(cfg->claim_path, F_OK) == 0;
			if (!claimed) {
				snprintf(msg, sizeof(msg),
				         "unclaimed: no Prolog recorded this VM within %u s of its "
				         "boot (%s is missing)",
				         cfg->claim_ms / 1000, cfg->claim_path);
				stop = true;
			}
		}
	}
	xinfo("VM ends: %s", msg);
	if (!ready) {
		char line[1200];

		snprintf(line, sizeof(line), "failed: %s", msg);
		vmd_write_status(cfg->status_path, line);
	} else {
		rc = 0;
	}
	for (size_t i = 0; i < VMD_MAX_CLIENTS; i++)
		if (clients[i]) {
			close(clients[i]->conn.fd);
			xvp_conn_fini(&clients[i]->conn);
			free(clients[i]->routes);
			free(clients[i]);
			clients[i] = NULL;
		}
	vmd_guest_fini();
	xvp_conn_fini(&vm);
	close(sfd);
	return rc;
}
