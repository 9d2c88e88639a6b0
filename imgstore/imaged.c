/*
 * imaged.c - xenvm-imaged, the image manager: owns the image store (imagecast.store) and its
 * catalog, serves `xenvm image` on a Unix socket (SO_PEERCRED names the client) and collects
 * garbage every image_store.gc_interval (xenvm-imaged(8)).
 *
 *   xenvm-imaged [-c xenvm.yaml] [--store DIR] [--socket PATH] [--foreground]
 *
 * One request at a time: writes never interleave, and the store's lock keeps a second manager
 * out.  A client that stalls is cut off after 60 s without progress.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"
#include "lib/config.h"
#include "lib/config_path.h"
#include "lib/log.h"
#include "policy.h"
#include "remote.h"
#include "server.h"
#include "store.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void report(const char *line)
{
	xinfo("%s", line);
}

/* Listen on path (replacing a stale socket), mode 0666: SO_PEERCRED decides, not the mode. */
static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 64) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void collect(const struct xenvm_config *cfg, struct imgs_store *st)
{
	char **live = NULL;
	size_t n = 0;
	struct xerr err = {""};
	int k;

	if (imgs_live_pins(&live, &n, &err) < 0) {
		xwarn("gc skipped: %s", err.msg);
		return;
	}
	k = imgs_gc(st, (const char *const *)live, n, cfg->image_store.retention_s, time(NULL),
	            report, &err);
	if (k < 0)
		xwarn("gc: %s", err.msg);
	imgs_strv_free(live, n);
}

/*
 * Close a connection so the client reads the answer. Closing with the client's request (or
 * the rest of a refused push) still unread makes the kernel send a reset, and the client sees
 * ECONNRESET instead of the reason: so stop writing and read what the client still sends, for
 * at most two seconds (the manager serves one connection at a time), then close.
 */
static void linger_close(int fd)
{
	struct timespec t0, now;
	char buf[16384];

	if (shutdown(fd, SHUT_WR) == 0 && clock_gettime(CLOCK_MONOTONIC, &t0) == 0) {
		for (;;) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			long ms;

			if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
				break;
			ms = 2000 - ((now.tv_sec - t0.tv_sec) * 1000 +
			             (now.tv_nsec - t0.tv_nsec) / 1000000);
			if (ms <= 0 || poll(&p, 1, (int)ms) <= 0 || read(fd, buf, sizeof(buf)) <= 0)
				break;
		}
	}
	close(fd);
}

/* Refuse a connection with a reason the client can read. */
static void refuse(int fd, const char *why)
{
	dprintf(fd, "error %s\n", why);
	linger_close(fd);
}

/*
 * One connection: on the Unix socket the peer's ids are SO_PEERCRED's; on image_store.listen
 * (tcp) they are what the munge line vouches for (remote.h), read before anything else.
 */
static void serve_one(const struct xenvm_config *cfg, struct imgs_store *st, int lfd, bool tcp)
{
	struct timeval tv = {.tv_sec = 60};
	struct ucred cred = {0};
	socklen_t len = sizeof(cred);
	struct imgs_client c;
	struct xerr err = {""};
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if ((!tcp && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		close(fd);
		return;
	}
	if (tcp && imgs_munge_accept(fd, cfg->munge.socket, &cred.uid, &cred.gid, &err) < 0) {
		xwarn("tcp client: %s", err.msg);
		refuse(fd, err.msg);
		return;
	}
	if (imgs_client_init(cfg, cred.uid, cred.gid, &c, &err) < 0) {
		refuse(fd, err.msg);
		return;
	}
	if (imgs_serve(cfg, st, fd, &c) == 0)
		xverbose("request of %s (uid %u) done", c.user, (unsigned)c.uid);
	linger_close(fd);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"store", required_argument, NULL, 's'},
	    {"socket", required_argument, NULL, 'S'}, {"foreground", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *store = NULL, *sock = NULL;
	char path[4096];
	struct xenvm_config *cfg = NULL;
	struct imgs_store st = {NULL, -1};
	struct xerr err = {""};
	struct sigaction sa;
	time_t next_gc;
	int opt, lfd = -1, tfd = -1, rc = 1;

	xlog_init("xenvm-imaged", XLOG_INFO);
	while ((opt = getopt_long(argc, argv, "c:s:S:fh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 's':
			store = optarg;
			break;
		case 'S':
			sock = optarg;
			break;
		case 'f':
			break; /* always in the foreground: systemd supervises it */
		case 'h':
			printf(
			    "usage: xenvm-imaged [-c xenvm.yaml] [--store DIR] [--socket PATH]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!xenvm_config_path(config, path, sizeof(path)) ||
	    xenvm_config_load(path, !config && !getenv("XENVM_CONFIG"), &cfg, &err) < 0) {
		xerror("%s", err.msg[0] ? err.msg : strerror(errno));
		return 3;
	}
	if (!store)
		store = cfg->imagecast.store;
	if (!sock)
		sock = cfg->image_store.socket;
	if (imgs_open(store, &st, report, &err) < 0) {
		xerror("%s", err.msg);
		goto out;
	}
	lfd = listen_on(sock);
	if (lfd < 0) {
		xerror("%s: %s", sock, strerror(errno));
		goto out;
	}
	if (cfg->image_store.listen) {
		tfd = imgs_tcp_listen(cfg->image_store.listen, &err);
		if (tfd < 0) {
			xerror("image_store.listen: %s", err.msg);
			goto out;
		}
		xinfo("listening on %s for munge-authenticated clients", cfg->image_store.listen);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	xinfo("store %s, socket %s, gc every %u s (retention %u s)", store, sock,
	      cfg->image_store.gc_interval_s, cfg->image_store.retention_s);
	next_gc = time(NULL) + cfg->image_store.gc_interval_s;
	while (!stop) {
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = tfd, .events = POLLIN}};
		long wait_ms = (long)(next_gc - time(NULL)) * 1000;

		if (wait_ms <= 0) {
			collect(cfg, &st);
			next_gc = time(NULL) + cfg->image_store.gc_interval_s;
			continue;
		}
		if (poll(p, tfd >= 0 ? 2 : 1, (int)(wait_ms > 60000 ? 60000 : wait_ms)) <= 0)
			continue;
		if (p[0].revents & POLLIN)
			serve_one(cfg, &st, lfd, false);
		if (tfd >= 0 && (p[1].revents & POLLIN))
			serve_one(cfg, &st, tfd, true);
	}
	xinfo("stopping");
	rc = 0;
out:
	if (tfd >= 0)
		close(tfd);
	if (lfd >= 0) {
		close(lfd);
		unlink(sock);
	}
	imgs_close(&st);
	xenvm_config_free(cfg);
	return rc;
}
