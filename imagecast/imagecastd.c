/*
 * imagecastd - the per-node image cache daemon: owns <cache.dir>, serves chunks to peers in the
 * job's broadcast tree and fetches images for local clients (the Prolog, the imagecast CLI).
 *
 * Runs in the foreground under systemd (etc/imagecastd.service); see imagecastd(8).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <munge.h>

#include "admit.h"
#include "handshake.h"
#include "lib/config.h"
#include "icd.h"
#include "lib/log.h"
#include "serve.h"
#include "transport.h"
#include "tree.h"
#include "util.h"

/* Defaults of the connection bounds (imagecastd(8), imagecast/README.md "Admission"). */
#define IC_HANDSHAKE_S 5.0
#define IC_MAX_CONNECTIONS 256
#define IC_MAX_PER_PEER 32
/* After accept(2) fails for want of descriptors, wait this long before trying again. */
#define IC_ACCEPT_PAUSE 0.1

struct conn_job {
	struct icd *d;
	struct ic_conn *c;
	bool local;
	char addr[IC_ADDR_MAX]; /* the slot to give back (TCP) */
};

static void *conn_thread(void *arg)
{
	struct conn_job *j = arg;

	serve_conn(j->d, j->c, j->local);
	if (!j->local)
		ic_admit_release(&j->d->admit, j->addr);
	free(j);
	return NULL;
}

/*
 * Hand a connection (local, or TCP and authenticated) to its own thread.  Returns 0, or -1 (the
 * connection is closed and its slot given back).
 */
static int spawn(struct icd *d, struct ic_conn *c, bool local)
{
	struct conn_job *j = malloc(sizeof(*j));
	char addr[IC_ADDR_MAX];
	pthread_attr_t ta;
	pthread_t tid;
	int e;

	snprintf(addr, sizeof(addr), "%s", c->peer);
	if (!j) {
		xerror("cannot serve %s: out of memory", addr);
		e = ENOMEM;
		goto fail;
	}
	j->d = d;
	j->c = c;
	j->local = local;
	memcpy(j->addr, addr, sizeof(addr));
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&tid, &ta, conn_thread, j);
	pthread_attr_destroy(&ta);
	if (e) {
		xerror("cannot start a thread: %s", strerror(e));
		goto fail;
	}
	return 0;
fail:
	free(j);
	ic_conn_close(c);
	if (!local)
		ic_admit_release(&d->admit, addr);
	errno = e;
	return -1;
}

/*
 * A TCP connection whose HELLO arrived whole (handshake.c): check the credential in this, the
 * accept thread (munged answers a decode in well under a millisecond, and a thread per credential
 * is what this stage is there to avoid), then give the authenticated connection its thread.
 */
static void hello_ready(void *arg, struct ic_conn *c, char *cred)
{
	struct icd *d = arg;
	char addr[IC_ADDR_MAX];
	struct xerr err;

	snprintf(addr, sizeof(addr), "%s", c->peer);
	/* WELCOME and ERROR are small; this only bounds a peer that stopped reading. */
	c->t->set_timeout(c, 1000);
	if (ic_auth_check(c, &d->auth, cred, NULL, &err) < 0) {
		long skipped = ic_admit_should_log(&d->admit, "auth", addr, ic_now());

		if (skipped > 0)
			xwarn("refused peer: %s (%ld more refusals of %s in the last minute not "
			      "logged)",
			      err.msg, skipped, addr);
		else if (skipped == 0)
			xwarn("refused peer: %s", err.msg);
		free(cred);
		ic_conn_close(c);
		ic_admit_release(&d->admit, addr);
		return;
	}
	free(cred);
	(void)spawn(d, c, false);
}

/* A count option: a whole number from 1 to INT_MAX.  Returns 0, or -1 with errno EINVAL. */
static int parse_count(const char *s, unsigned *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > INT_MAX) {
		errno = EINVAL;
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/*
 * SIGHUP: re-read xenvm.yaml and apply what can change under running transfers: log_level,
 * cache.max_size and timeouts.fetch (unless the command line fixed them).  Directories, port,
 * socket, munge and peers need a restart; a bad file keeps the running configuration.
 */
static void reload(struct icd *d, const char *path, bool keep_level, bool keep_max, bool keep_fetch)
{
	struct xenvm_config *cfg = NULL;
	enum xlog_level lvl;
	struct xerr err;

	if (xenvm_config_load(path, path == NULL, &cfg, &err) < 0) {
		xerror("SIGHUP: %s; keeping the running configuration", err.msg);
		return;
	}
	if (!keep_level && cfg->log_level && xlog_parse_level(cfg->log_level, &lvl) == 0)
		xlog_set_level(lvl);
	/* Read without a lock by the transfers: single aligned stores. */
	if (!keep_max)
		__atomic_store_n(&d->store.max_bytes, cfg->cache.max_bytes, __ATOMIC_RELAXED);
	if (!keep_fetch && cfg->timeouts.fetch_s)
		__atomic_store_n(&d->fetch_s, cfg->timeouts.fetch_s, __ATOMIC_RELAXED);
	xinfo("SIGHUP: reloaded %s (log_level, cache.max_size, timeouts.fetch; other keys need a "
	      "restart)",
	      cfg->path ? cfg->path : XENVM_CONFIG_DEFAULT_PATH);
	xenvm_config_free(cfg);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: imagecastd [OPTION]...\n"
	        "Per-node image cache and broadcast server for slurm-xenvm (see imagecastd(8)).\n\n"
	        "  -f, --config FILE        xenvm.yaml (default " XENVM_CONFIG_DEFAULT_PATH ")\n"
	        "  -n, --node NAME          this node's name in node lists (default: hostname)\n"
	        "  -C, --cache-dir DIR      override cache.dir\n"
	        "  -M, --cache-max SIZE     override cache.max_size\n"
	        "  -s, --store DIR          override imagecast.store\n"
	        "  -p, --port PORT          override imagecast.port\n"
	        "  -S, --socket PATH        override imagecast.socket\n"
	        "  -m, --munge-socket PATH  override munge.socket\n"
	        "  -u, --allow-user USER    accept peers running as USER too (repeatable)\n"
	        "      --stall-timeout SEC  give up on a silent peer after SEC (default 10)\n"
	        "      --handshake-timeout SEC  close a TCP connection not authenticated SEC\n"
	        "                           after accept (default 5)\n"
	        "      --max-connections N  TCP connections open at once (default 256)\n"
	        "      --max-per-peer N     TCP connections open at once from one address\n"
	        "                           (default 32)\n"
	        "      --fetch-timeout SEC  override timeouts.fetch\n"
	        "      --syslog             log to syslog as well as stderr\n"
	        "  -v, --verbose            more messages (repeat for debug)\n"
	        "  -h, --help\n");
}

/* Replace *dst by a copy of src.  Returns 0 or -1 (ENOMEM). */
static int set_str(char **dst, const char *src)
{
	char *c = strdup(src);

	if (!c)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'f'},
	    {"node", required_argument, NULL, 'n'},
	    {"cache-dir", required_argument, NULL, 'C'},
	    {"cache-max", required_argument, NULL, 'M'},
	    {"store", required_argument, NULL, 's'},
	    {"port", required_argument, NULL, 'p'},
	    {"socket", required_argument, NULL, 'S'},
	    {"munge-socket", required_argument, NULL, 'm'},
	    {"allow-user", required_argument, NULL, 'u'},
	    {"stall-timeout", required_argument, NULL, 'T'},
	    {"fetch-timeout", required_argument, NULL, 'F'},
	    {"handshake-timeout", required_argument, NULL, 'H'},
	    {"max-connections", required_argument, NULL, 'N'},
	    {"max-per-peer", required_argument, NULL, 'P'},
	    {"syslog", no_argument, NULL, 'L'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct xenvm_config *cfg = NULL;
	struct icd d;
	struct ic_hs hs;
	struct pollfd *p = NULL;
	struct xerr err;
	const char *cfg_path = NULL;
	char *o_cache = NULL, *o_store = NULL, *o_socket = NULL, *o_munge = NULL;
	char **users = NULL, host[256], sockdir[PATH_MAX];
	size_t nusers = 0;
	uint64_t o_max = 0;
	long o_port = -1, o_fetch = -1;
	double hs_timeout = IC_HANDSHAKE_S, accept_paused = 0;
	unsigned max_conn = IC_MAX_CONNECTIONS, max_peer = IC_MAX_PER_PEER;
	int verbose = 0, use_syslog = 0, opt, lfd = -1, ufd = -1, sfd = -1, rc = 1;
	enum xlog_level lvl = XLOG_INFO;
	sigset_t sigs;

	memset(&d, 0, sizeof(d));
	memset(&hs, 0, sizeof(hs));
	pthread_mutex_init(&d.lock, NULL);
	pthread_mutex_init(&d.wf_lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&d.wf_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	d.stall_ms = 10000;
	d.connect_ms = 3000;
	xlog_init("imagecastd", XLOG_INFO);
	while ((opt = getopt_long(argc, argv, "f:n:C:M:s:p:S:m:u:vh", opts, NULL)) != -1) {
		char **grown;

		switch (opt) {
		case 'f':
			cfg_path = optarg;
			break;
		case 'n':
			if (set_str(&d.node, optarg) < 0)
				goto nomem;
			break;
		case 'C':
			o_cache = optarg;
			break;
		case 'M':
			if (ic_parse_size(optarg, &o_max) < 0) {
				xerror("--cache-max: '%s' is not a size", optarg);
				goto out;
			}
			break;
		case 's':
			o_store = optarg;
			break;
		case 'p':
			o_port = strtol(optarg, NULL, 10);
			if (o_port <= 0 || o_port > 65535) {
				xerror("--port: '%s' is not a port", optarg);
				goto out;
			}
			break;
		case 'S':
			o_socket = optarg;
			break;
		case 'm':
			o_munge = optarg;
			break;
		case 'u':
			grown = realloc(users, (nusers + 1) * sizeof(*users));
			if (!grown)
				goto nomem;
			users = grown;
			users[nusers++] = optarg;
			break;
		case 'T':
			d.stall_ms = (int)(strtod(optarg, NULL) * 1000);
			if (d.stall_ms <= 0) {
				xerror("--stall-timeout: '%s' is not a positive number", optarg);
				goto out;
			}
			break;
		case 'F':
			o_fetch = strtol(optarg, NULL, 10);
			if (o_fetch <= 0) {
				xerror("--fetch-timeout: '%s' is not a positive number", optarg);
				goto out;
			}
			break;
		case 'H':
			hs_timeout = strtod(optarg, NULL);
			if (!(hs_timeout > 0) || hs_timeout > 3600) {
				xerror("--handshake-timeout: '%s' is not a number of seconds "
				       "(0-3600)",
				       optarg);
				goto out;
			}
			break;
		case 'N':
		case 'P':
			if (parse_count(optarg, opt == 'N' ? &max_conn : &max_peer) < 0) {
				xerror("--%s: '%s' is not a positive count",
				       opt == 'N' ? "max-connections" : "max-per-peer", optarg);
				goto out;
			}
			break;
		case 'L':
			use_syslog = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind != argc) {
		usage(stderr);
		goto out;
	}
	if (verbose)
		lvl = verbose > 1 ? XLOG_DEBUG : XLOG_VERBOSE;
	if (use_syslog)
		xlog_open_syslog(LOG_DAEMON);

	/* The configuration: xenvm.yaml (defaults when absent and not named), then options. */
	if (xenvm_config_load(cfg_path, cfg_path == NULL, &cfg, &err) < 0) {
		xerror("%s", err.msg);
		goto out;
	}
	if (!verbose && cfg->log_level)
		(void)xlog_parse_level(cfg->log_level, &lvl);
	xlog_set_level(lvl);
	if ((o_cache && set_str(&cfg->cache.dir, o_cache) < 0) ||
	    (o_store && set_str(&cfg->imagecast.store, o_store) < 0) ||
	    (o_socket && set_str(&cfg->imagecast.socket, o_socket) < 0) ||
	    (o_munge && set_str(&cfg->munge.socket, o_munge) < 0))
		goto nomem;
	if (o_max)
		cfg->cache.max_bytes = o_max;
	if (o_port > 0)
		cfg->imagecast.port = (uint16_t)o_port;
	if (o_fetch > 0)
		cfg->timeouts.fetch_s = (uint32_t)o_fetch;
	if (!d.node) {
		if (gethostname(host, sizeof(host)) < 0) {
			xerror("gethostname: %s", strerror(errno));
			goto out;
		}
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, ".")] = '\0'; /* Slurm node names are short names */
		if (set_str(&d.node, host) < 0)
			goto nomem;
	}
	d.port = cfg->imagecast.port;
	d.chunk_bytes = cfg->imagecast.chunk_bytes;
	d.shape = cfg->imagecast.shape;
	d.fetch_s = cfg->timeouts.fetch_s ? cfg->timeouts.fetch_s : 300;
	if (set_str(&d.store_dir, cfg->imagecast.store) < 0 ||
	    set_str(&d.socket_path, cfg->imagecast.socket) < 0)
		goto nomem;

	/* Peers: root, configured users, and -u users. */
	{
		char **all = calloc(cfg->imagecast.n_allowed_users + nusers + 1, sizeof(*all));
		size_t n = 0;

		if (!all)
			goto nomem;
		for (size_t i = 0; i < cfg->imagecast.n_allowed_users; i++)
			all[n++] = cfg->imagecast.allowed_users[i];
		for (size_t i = 0; i < nusers; i++)
			all[n++] = users[i];
		if (ic_auth_uids(all, n, &d.allowed, &err) < 0) {
			free(all);
			xerror("%s", err.msg);
			goto out;
		}
		free(all);
		d.auth.allowed = d.allowed;
		d.auth.n_allowed = n;
	}
	d.auth.munge_socket = cfg->munge.socket;
	d.auth.node = d.node;

	/* Refuse to run on a cache or socket directory others could tamper with. */
	if (ic_store_open(&d.store, cfg->cache.dir, cfg->cache.max_bytes, &err) < 0) {
		xerror("cache: %s", err.msg);
		goto out;
	}
	snprintf(sockdir, sizeof(sockdir), "%s", d.socket_path);
	if (ic_check_dir(dirname(sockdir), true, &err) < 0) {
		xerror("socket directory: %s", err.msg);
		goto out;
	}
	/* Fail now, not at the first peer, if munged is not there. */
	{
		munge_ctx_t ctx = munge_ctx_create();
		char *cred = NULL;
		munge_err_t me = EMUNGE_NO_MEMORY;

		if (ctx &&
		    (!d.auth.munge_socket ||
		     munge_ctx_set(ctx, MUNGE_OPT_SOCKET, d.auth.munge_socket) == EMUNGE_SUCCESS))
			me = munge_encode(&cred, ctx, NULL, 0);
		if (me != EMUNGE_SUCCESS)
			xerror("munge (%s): %s",
			       d.auth.munge_socket ? d.auth.munge_socket : "default socket",
			       ctx ? munge_ctx_strerror(ctx) : munge_strerror(me));
		free(cred);
		if (ctx)
			munge_ctx_destroy(ctx);
		if (me != EMUNGE_SUCCESS)
			goto out;
	}

	/* Every TCP connection holds a slot; unauthenticated ones wait in the handshake stage. */
	if (ic_admit_init(&d.admit, max_conn, max_peer) < 0 ||
	    ic_hs_init(&hs, &d.admit, d.node, hs_timeout, hello_ready, &d) < 0)
		goto nomem;
	p = calloc(3 + (size_t)max_conn, sizeof(*p));
	if (!p)
		goto nomem;

	/* Signals are read from a signalfd in the loop; no thread ever runs a handler. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN); /* sendfile(2) to a closed peer */
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	lfd = ic_tcp_listen(d.port, &err);
	if (lfd < 0) {
		xerror("%s", err.msg);
		goto out;
	}
	ufd = ic_unix_listen(d.socket_path, &err);
	if (ufd < 0 || sfd < 0) {
		xerror("%s", ufd < 0 ? err.msg : strerror(errno));
		goto out;
	}
	xinfo("node %s: serving port %u and %s; cache %s (max %" PRIu64 " bytes); store %s; "
	      "default shape %s, chunk %" PRIu64 "; at most %u connections, %u per peer, "
	      "handshake %g s",
	      d.node, d.port, d.socket_path, d.store.dir, d.store.max_bytes, d.store_dir,
	      ic_shape_name(d.shape), d.chunk_bytes, max_conn, max_peer, hs_timeout);

	for (;;) {
		double now = ic_now();
		bool accepting = now >= accept_paused;
		size_t nhs;
		int wait_ms, pr;
		struct ic_conn *c;

		/* An fd of -1 is ignored by poll(2): the listener rests while accept(2) cannot. */
		p[0] = (struct pollfd){.fd = accepting ? lfd : -1, .events = POLLIN};
		p[1] = (struct pollfd){.fd = ufd, .events = POLLIN};
		p[2] = (struct pollfd){.fd = sfd, .events = POLLIN};
		nhs = ic_hs_pollfds(&hs, p + 3);
		wait_ms = ic_hs_wait_ms(&hs, now);
		if (!accepting) {
			int rest = (int)((accept_paused - now) * 1000) + 1;

			wait_ms = wait_ms < 0 || rest < wait_ms ? rest : wait_ms;
		}
		pr = poll(p, 3 + nhs, wait_ms);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			xerror("poll: %s", strerror(errno));
			goto out;
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				reload(&d, cfg_path, verbose > 0, o_max != 0, o_fetch > 0);
			} else {
				/* Partial copies stay on disk: the next run resumes them. */
				xinfo("signal %u: exiting", si.ssi_signo);
				rc = 0;
				goto out;
			}
		}
		/* Before accepting: the stage's entries must still match p. */
		now = ic_now();
		ic_hs_run(&hs, p + 3, nhs, now);
		if (p[0].revents & POLLIN) {
			if (ic_accept(lfd, &c) == 0) {
				ic_hs_add(&hs, c, now);
			} else if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
			           errno == ENOBUFS) {
				if (ic_admit_should_log(&d.admit, "accept", "-", now) >= 0)
					xerror("accept: %s; pausing %g s", strerror(errno),
					       IC_ACCEPT_PAUSE);
				accept_paused = now + IC_ACCEPT_PAUSE;
			}
		}
		if ((p[1].revents & POLLIN) && ic_accept(ufd, &c) == 0)
			spawn(&d, c, true);
	}
nomem:
	xerror("out of memory");
out:
	if (ufd >= 0) {
		close(ufd);
		unlink(d.socket_path);
	}
	if (lfd >= 0)
		close(lfd);
	if (sfd >= 0)
		close(sfd);
	/* Slots of requests still running stay taken: the process exits right after. */
	ic_hs_destroy(&hs);
	free(p);
	/* Transfers may still run in other threads: exit without tearing their state down. */
	free(users);
	xenvm_config_free(cfg);
	return rc;
}
