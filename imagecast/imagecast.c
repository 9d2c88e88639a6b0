/*
 * imagecast - the command-line client of imagecastd (see imagecast(8)): fetch an image for a job,
 * look at and manage the node's cache, or broadcast files to a list of nodes outside Slurm.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "lib/catalog.h"
#include "lib/image_version.h"
#include "lib/config.h"
#include "hosts.h"
#include "lib/log.h"
#include "progress.h"
#include "proto.h"
#include "spec.h"
#include "transport.h"
#include "tree.h"
#include "util.h"

#define IC_REPLY_MAX (16u << 20)

struct cli {
	struct xenvm_config *cfg;
	const char *socket;
	const char *munge_socket;
	uint16_t port;
	bool quiet;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: imagecast [-f xenvm.yaml] [-S socket] COMMAND ...\n"
	    "  fetch IMAGE --nodes HOSTLIST [--digest D] [--file ROLE=PATH:SHA256:SIZE]...\n"
	    "        [--catalog FILE] [--store DIR] [--shape SHAPE] [--chunk-size SIZE]\n"
	    "        [--pin HOLDER] [-q]\n"
	    "  status | list\n"
	    "  evict DIGEST | verify DIGEST | pin DIGEST HOLDER | unpin DIGEST HOLDER\n"
	    "  broadcast FILE... --to HOSTLIST [--name NAME] [--shape SHAPE] [--chunk-size SIZE]\n"
	    "  ping HOST                   check munge authentication with HOST's imagecastd\n"
	    "Shapes: two-tree (default), pipelined-chain, pipelined-binomial, "
	    "binomial (whole file).\n");
}

/* Receive PROGRESS frames until DONE.  Returns 0 and *done (free()), or -1 with err. */
static int follow(struct ic_conn *c, struct ic_progress *p, char **done, struct xerr *err)
{
	for (;;) {
		unsigned type;
		char *body = NULL, source[128] = "";
		uint64_t have = 0, total = 0;

		if (ic_recv(c, &type, &body, NULL, IC_REPLY_MAX, err) < 0)
			return -1;
		if (type == IC_DONE) {
			*done = body;
			return 0;
		}
		if (type != IC_PROGRESS) {
			free(body);
			return xerr_errno(err, EPROTO, "unexpected %s from imagecastd",
			                  ic_frame_name(type));
		}
		for (char *l = strtok(body, "\n"); l; l = strtok(NULL, "\n")) {
			if (sscanf(l, "have %" SCNu64, &have) == 1 ||
			    sscanf(l, "total %" SCNu64, &total) == 1)
				continue;
			if (strncmp(l, "source ", 7) == 0)
				snprintf(source, sizeof(source), "%s", l + 7);
		}
		if (p)
			ic_progress_update(p, have, total, source);
		free(body);
	}
}

/* The value of "key " in a reply, copied into buf. */
static const char *reply_get(const char *reply, const char *key, char *buf, size_t len)
{
	size_t k = strlen(key);

	for (const char *l = reply; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, k) == 0 && l[k] == ' ') {
			snprintf(buf, len, "%.*s", (int)strcspn(l + k + 1, "\n"), l + k + 1);
			return buf;
		}
	snprintf(buf, len, "?");
	return buf;
}

/* Fill spec->files from "ROLE=PATH:SHA256:SIZE".  Returns 0, or -1 with err. */
static int parse_file_arg(struct ic_spec *s, const char *arg, struct xerr *err)
{
	struct ic_file *f = &s->files[s->nfiles];
	const char *eq = strchr(arg, '='), *c2 = strrchr(arg, ':'), *c1;
	char hex[IC_SHA_HEX + 1];

	if (s->nfiles == IC_MAX_FILES || !eq || !c2)
		goto bad;
	for (c1 = c2 - 1; c1 > eq && *c1 != ':'; c1--)
		;
	if (c1 <= eq || (size_t)(eq - arg) >= sizeof(f->role) || c2 - c1 - 1 != IC_SHA_HEX)
		goto bad;
	snprintf(f->role, sizeof(f->role), "%.*s", (int)(eq - arg), arg);
	snprintf(hex, sizeof(hex), "%.*s", IC_SHA_HEX, c1 + 1);
	f->path = strndup(eq + 1, (size_t)(c1 - eq - 1));
	if (!f->path || ic_sha_from_hex(hex, f->sha) < 0 || ic_parse_size(c2 + 1, &f->size) < 0 ||
	    ic_valid_role(f->role) < 0 || ic_valid_path(f->path) < 0) {
		free(f->path);
		f->path = NULL;
		goto bad;
	}
	s->nfiles++;
	return 0;
bad:
	return xerr_errno(err, EINVAL, "--file '%s': expected ROLE=PATH:SHA256:SIZE", arg);
}

/*
 * The image store's version `digest` into *cat and *img, replacing the catalog (imagecast fetches a
 * job's pinned digest after its tag moved: lib/image_version.h).  Returns 0 (found, or not there:
 * *img unchanged), or -1 with the error printed.
 */
static int pinned_version(const char *store, const char *digest, struct xenvm_catalog **cat,
                          const struct xenvm_image **img)
{
	struct xenvm_catalog *v = NULL;
	struct xerr err = {""};
	int k = xenvm_image_version_load(store, digest, &v, &err);

	if (k < 0) {
		fprintf(stderr, "imagecast: %s\n", err.msg);
		return -1;
	}
	if (k == 1) {
		xenvm_catalog_free(*cat);
		*cat = v;
		*img = &v->images[0];
	}
	return 0;
}

/* Add one catalog file to the spec (skipped when absent).  Returns 0, or -1 on ENOMEM. */
static int add_catalog_file(struct ic_spec *s, const char *role, const struct xenvm_image_file *f)
{
	struct ic_file *d = &s->files[s->nfiles];

	if (!f->path)
		return 0;
	snprintf(d->role, sizeof(d->role), "%s", role);
	d->size = f->size;
	if (ic_sha_from_hex(f->sha256, d->sha) < 0)
		return -1;
	d->path = strdup(f->path);
	if (!d->path)
		return -1;
	s->nfiles++;
	return 0;
}

static int cmd_fetch(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"nodes", required_argument, NULL, 'N'},
	    {"digest", required_argument, NULL, 'd'},
	    {"file", required_argument, NULL, 'F'},
	    {"catalog", required_argument, NULL, 'c'},
	    {"store", required_argument, NULL, 's'},
	    {"shape", required_argument, NULL, 'x'},
	    {"chunk-size", required_argument, NULL, 'k'},
	    {"pin", required_argument, NULL, 'P'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"print-files", no_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	struct ic_spec spec;
	struct xenvm_catalog *cat = NULL;
	struct ic_conn *c = NULL;
	struct ic_progress prog;
	struct xerr err;
	const char *nodes = NULL, *digest = NULL, *catalog = cli->cfg->catalog;
	char *req = NULL, *done = NULL, buf[PATH_MAX];
	long len;
	int opt, rc = 1;
	bool print_files = false;

	memset(&spec, 0, sizeof(spec));
	spec.shape = cli->cfg->imagecast.shape;
	spec.chunk_bytes = cli->cfg->imagecast.chunk_bytes;
	optind = 0; /* 0: GNU getopt re-initialises (the global scan used "+") */
	while ((opt = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (opt) {
		case 'N':
			nodes = optarg;
			break;
		case 'd':
			digest = optarg;
			break;
		case 'F':
			if (parse_file_arg(&spec, optarg, &err) < 0) {
				fprintf(stderr, "imagecast: %s\n", err.msg);
				goto out;
			}
			break;
		case 'c':
			catalog = optarg;
			break;
		case 's':
			free(spec.store);
			spec.store = strdup(optarg);
			break;
		case 'x':
			if (ic_shape_parse(optarg, &spec.shape) < 0) {
				fprintf(stderr, "imagecast: unknown shape '%s'\n", optarg);
				goto out;
			}
			break;
		case 'k':
			if (ic_parse_size(optarg, &spec.chunk_bytes) < 0) {
				fprintf(stderr, "imagecast: --chunk-size: '%s' is not a size\n",
				        optarg);
				goto out;
			}
			break;
		case 'P':
			free(spec.pin);
			spec.pin = strdup(optarg);
			break;
		case 'p':
			print_files = true;
			break;
		case 'q':
			cli->quiet = true;
			break;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind + 1 != argc || !nodes) {
		fprintf(stderr, "imagecast: fetch needs IMAGE and --nodes\n");
		goto out;
	}
	snprintf(spec.name, sizeof(spec.name), "%s", argv[optind]);
	if (spec.nfiles == 0) {
		/* The files come from the catalog, as the job_submit plugin saw them. */
		const struct xenvm_image *img;

		if (xenvm_catalog_load(catalog, &cat, &err) < 0) {
			fprintf(stderr, "imagecast: %s\n", err.msg);
			goto out;
		}
		img = xenvm_catalog_find(cat, spec.name);
		/* A pin older than the tag's move: the version itself, by digest (image store). */
		if (digest && (!img || strcmp(img->digest, digest) != 0) &&
		    pinned_version(spec.store ? spec.store : cli->cfg->imagecast.store, digest,
		                   &cat, &img) < 0)
			goto out;
		if (!img) {
			fprintf(stderr, "imagecast: image %s is not in %s\n", spec.name, catalog);
			goto out;
		}
		if (add_catalog_file(&spec, "kernel", &img->kernel) < 0 ||
		    add_catalog_file(&spec, "initrd", &img->initrd) < 0 ||
		    add_catalog_file(&spec, "rootdisk", &img->rootdisk) < 0) {
			fprintf(stderr, "imagecast: image %s: bad catalog entry\n", spec.name);
			goto out;
		}
		if (!digest)
			digest = img->digest;
	}
	if (!digest) {
		if (ic_digest_of(spec.files, spec.nfiles, buf) < 0)
			goto out;
		digest = buf;
	}
	if (ic_valid_digest(digest) < 0) {
		fprintf(stderr, "imagecast: invalid digest %s\n", digest);
		goto out;
	}
	snprintf(spec.digest, sizeof(spec.digest), "%.71s", digest);
	len = ic_hosts_expand(nodes, &spec.nodes, &err);
	if (len < 0) {
		fprintf(stderr, "imagecast: %s\n", err.msg);
		goto out;
	}
	spec.nnodes = (size_t)len;
	len = ic_spec_format(&spec, &req);
	if (len < 0) {
		fprintf(stderr, "imagecast: out of memory\n");
		goto out;
	} else {
		/* Check here what the daemon will check, for an error message without a round trip.
		 */
		struct ic_spec check;

		if (ic_spec_parse(req, &check, &err) < 0) {
			fprintf(stderr, "imagecast: %s\n", err.msg);
			goto out;
		}
		ic_spec_clear(&check);
	}
	if (print_files) {
		for (size_t i = 0; i < spec.nfiles; i++) {
			char hex[65];

			printf("file %s %" PRIu64 " %s %s\n", spec.files[i].role,
			       spec.files[i].size, ic_sha_to_hex(spec.files[i].sha, hex),
			       spec.files[i].path);
		}
		rc = 0;
		goto out;
	}
	if (ic_unix_connect(cli->socket, &c, &err) < 0 ||
	    ic_send(c, IC_FETCH, req, (size_t)len) < 0) {
		fprintf(stderr, "imagecast: %s\n", err.msg);
		goto out;
	}
	ic_progress_init(&prog, stderr, spec.name);
	if (follow(c, cli->quiet ? NULL : &prog, &done, &err) < 0) {
		ic_progress_done(&prog);
		fprintf(stderr, "imagecast: %s\n", err.msg);
		goto out;
	}
	ic_progress_done(&prog);
	/* The last line of stdout is the image directory: what the Prolog reads. */
	printf("%s\n", reply_get(done, "path", buf, sizeof(buf)));
	if (!cli->quiet) {
		char net[32];

		fprintf(stderr, "imagecast: %s ready in %ss (%s bytes over the network)\n",
		        spec.name, reply_get(done, "seconds", net, sizeof(net)),
		        reply_get(done, "bytes_net", buf, sizeof(buf)));
	}
	rc = 0;
out:
	free(req);
	free(done);
	ic_conn_close(c);
	ic_spec_clear(&spec);
	xenvm_catalog_free(cat);
	return rc;
}

/* One local COMMAND, reply to stdout.  Returns the exit status. */
static int cmd_simple(struct cli *cli, const char *text)
{
	struct ic_conn *c = NULL;
	struct xerr err;
	char *reply = NULL;
	int rc = 1;

	if (ic_unix_connect(cli->socket, &c, &err) < 0 ||
	    ic_send(c, IC_COMMAND, text, strlen(text)) < 0 ||
	    ic_recv_expect(c, IC_REPLY, &reply, NULL, IC_REPLY_MAX, &err) < 0) {
		fprintf(stderr, "imagecast: %s\n", err.msg);
		goto out;
	}
	fputs(reply, stdout);
	rc = 0;
out:
	free(reply);
	ic_conn_close(c);
	return rc;
}

/* status and list: a table for people. */
static int cmd_table(struct cli *cli, bool status)
{
	struct ic_conn *c = NULL;
	struct xerr err;
	char *reply = NULL;
	int rc = 1;

	if (ic_unix_connect(cli->socket, &c, &err) < 0 ||
	    ic_send(c, IC_COMMAND, status ? "status" : "list", status ? 6 : 4) < 0 ||
	    ic_recv_expect(c, IC_REPLY, &reply, NULL, IC_REPLY_MAX, &err) < 0) {
		fprintf(stderr, "imagecast: %s\n", err.msg);
		goto out;
	}
	printf("%-20s %-20s %10s %-19s %4s %s\n", "IMAGE", "DIGEST", "SIZE", "LAST USE", "PINS",
	       "STATE");
	for (char *l = strtok(reply, "\n"); l; l = strtok(NULL, "\n")) {
		char name[80], digest[80], state[16], src[128], when[32], sz[32], h[32];
		uint64_t bytes, have;
		long long last, used;
		int pins;
		double secs;

		if (sscanf(l, "image %79s %79s %" SCNu64 " %lld %d %15s", name, digest, &bytes,
		           &last, &pins, state) == 6) {
			time_t t = (time_t)last;

			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
			printf("%-20s %-20.19s %10s %-19s %4d %s\n", name, digest,
			       ic_fmt_bytes((double)bytes, sz, sizeof(sz)), when, pins, state);
		} else if (sscanf(l, "transfer %79s %79s %" SCNu64 " %" SCNu64 " %lf %15s %127s",
		                  name, digest, &have, &bytes, &secs, state, src) == 7) {
			printf("transfer %s %.19s: %s of %s, %.1fs, %s, from %s\n", name, digest,
			       ic_fmt_bytes((double)have, h, sizeof(h)),
			       ic_fmt_bytes((double)bytes, sz, sizeof(sz)), secs, state, src);
		} else if (sscanf(l, "node %79s cache %127s used %lld max %" SCNu64, name, src,
		                  &used, &bytes) == 4) {
			printf("node %s, cache %s: %s used of %s\n", name, src,
			       ic_fmt_bytes((double)used, h, sizeof(h)),
			       bytes ? ic_fmt_bytes((double)bytes, sz, sizeof(sz)) : "unbounded");
		}
	}
	rc = 0;
out:
	free(reply);
	ic_conn_close(c);
	return rc;
}

static int cmd_ping(struct cli *cli, const char *host)
{
	struct ic_conn *c = NULL;
	struct ic_auth a = {.munge_socket = cli->munge_socket, .node = "imagecast-cli"};
	struct xerr err;

	if (ic_tcp_connect(host, cli->port, 3000, &c, &err) < 0 ||
	    ic_auth_connect(c, &a, &err) < 0) {
		fprintf(stderr, "imagecast: %s: %s\n", host, err.msg);
		ic_conn_close(c);
		return 1;
	}
	printf("%s: authenticated\n", host);
	ic_conn_close(c);
	return 0;
}

struct bcast_job {
	struct cli *cli;
	const char *node;
	const char *req;
	int rc;
	double secs;
	char msg[1024];
};

/* One node's side of a broadcast: FETCH over TCP and wait for DONE. */
static void *bcast_one(void *arg)
{
	struct bcast_job *j = arg;
	struct ic_auth a = {.munge_socket = j->cli->munge_socket, .node = "imagecast-cli"};
	struct ic_conn *c = NULL;
	struct xerr err;
	char *done = NULL;
	double t0 = ic_now();

	j->rc = 1;
	if (ic_tcp_connect(j->node, j->cli->port, 3000, &c, &err) < 0 ||
	    ic_auth_connect(c, &a, &err) < 0 || ic_send(c, IC_FETCH, j->req, strlen(j->req)) < 0 ||
	    follow(c, NULL, &done, &err) < 0) {
		snprintf(j->msg, sizeof(j->msg), "%s", err.msg);
		goto out;
	}
	j->secs = ic_now() - t0;
	reply_get(done, "path", j->msg, sizeof(j->msg));
	j->rc = 0;
out:
	free(done);
	ic_conn_close(c);
	return NULL;
}

static int cmd_broadcast(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"to", required_argument, NULL, 't'},
	    {"name", required_argument, NULL, 'n'},
	    {"shape", required_argument, NULL, 'x'},
	    {"chunk-size", required_argument, NULL, 'k'},
	    {NULL, 0, NULL, 0},
	};
	struct ic_spec spec;
	struct bcast_job *jobs = NULL;
	pthread_t *tids = NULL;
	struct xerr err;
	const char *to = NULL;
	char *req = NULL;
	double t0 = ic_now();
	long n;
	int opt, rc = 1, failed = 0;

	memset(&spec, 0, sizeof(spec));
	snprintf(spec.name, sizeof(spec.name), "broadcast");
	spec.shape = cli->cfg->imagecast.shape;
	spec.chunk_bytes = cli->cfg->imagecast.chunk_bytes;
	optind = 0; /* 0: GNU getopt re-initialises (the global scan used "+") */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			to = optarg;
			break;
		case 'n':
			snprintf(spec.name, sizeof(spec.name), "%s", optarg);
			break;
		case 'x':
			if (ic_shape_parse(optarg, &spec.shape) < 0) {
				fprintf(stderr, "imagecast: unknown shape '%s'\n", optarg);
				goto out;
			}
			break;
		case 'k':
			if (ic_parse_size(optarg, &spec.chunk_bytes) < 0) {
				fprintf(stderr, "imagecast: bad --chunk-size\n");
				goto out;
			}
			break;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (!to || optind >= argc || argc - optind > IC_MAX_FILES) {
		fprintf(stderr, "imagecast: broadcast needs 1..%d FILEs and --to HOSTLIST\n",
		        IC_MAX_FILES);
		goto out;
	}
	/* The files are the store (absolute paths): the first node of the list must read them. */
	for (int i = optind; i < argc; i++) {
		struct ic_file *f = &spec.files[spec.nfiles];
		char real[PATH_MAX], *base;
		int fd;
		struct stat st;

		if (!realpath(argv[i], real) || (fd = open(real, O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "imagecast: %s: %s\n", argv[i], strerror(errno));
			goto out;
		}
		if (fstat(fd, &st) < 0 ||
		    ic_sha256_fd_range(fd, 0, (uint64_t)st.st_size, f->sha) < 0) {
			fprintf(stderr, "imagecast: %s: %s\n", argv[i], strerror(errno));
			close(fd);
			goto out;
		}
		close(fd);
		f->size = (uint64_t)st.st_size;
		base = basename(real);
		snprintf(f->role, sizeof(f->role), "%s", base);
		f->path = strdup(real);
		if (!f->path || ic_valid_role(f->role) < 0 || ic_valid_path(f->path) < 0) {
			fprintf(stderr, "imagecast: %s: unusable file name\n", argv[i]);
			goto out;
		}
		spec.nfiles++;
	}
	if (ic_digest_of(spec.files, spec.nfiles, spec.digest) < 0) {
		perror("imagecast: digest");
		goto out;
	}
	spec.store = strdup("/");
	n = ic_hosts_expand(to, &spec.nodes, &err);
	if (n < 0 || !spec.store) {
		fprintf(stderr, "imagecast: %s\n", n < 0 ? err.msg : "out of memory");
		goto out;
	}
	spec.nnodes = (size_t)n;
	if (ic_spec_format(&spec, &req) < 0) {
		perror("imagecast");
		goto out;
	}
	jobs = calloc((size_t)n, sizeof(*jobs));
	tids = calloc((size_t)n, sizeof(*tids));
	if (!jobs || !tids) {
		perror("imagecast");
		goto out;
	}
	for (long i = 0; i < n; i++) {
		jobs[i] = (struct bcast_job){.cli = cli, .node = spec.nodes[i], .req = req};
		if (pthread_create(&tids[i], NULL, bcast_one, &jobs[i]) != 0) {
			fprintf(stderr, "imagecast: cannot start a thread\n");
			n = i;
			failed++;
			break;
		}
	}
	for (long i = 0; i < n; i++) {
		pthread_join(tids[i], NULL);
		if (jobs[i].rc) {
			failed++;
			fprintf(stderr, "imagecast: %s: %s\n", jobs[i].node, jobs[i].msg);
		} else if (!cli->quiet) {
			printf("%s: %s (%.2fs)\n", jobs[i].node, jobs[i].msg, jobs[i].secs);
		}
	}
	printf("broadcast %s %s to %ld nodes: %.3fs, %d failed\n", spec.name, spec.digest, n,
	       ic_now() - t0, failed);
	rc = failed ? 1 : 0;
out:
	free(jobs);
	free(tids);
	free(req);
	ic_spec_clear(&spec);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'f'},
	    {"socket", required_argument, NULL, 'S'},
	    {"munge-socket", required_argument, NULL, 'm'},
	    {"port", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cli cli = {0};
	struct xerr err;
	const char *cfg_path = NULL, *cmd;
	char line[256];
	long port = 0;
	int opt, rc = 2;

	signal(SIGPIPE, SIG_IGN);
	xlog_init("imagecast", XLOG_WARN);
	while ((opt = getopt_long(argc, argv, "+f:S:m:p:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			cfg_path = optarg;
			break;
		case 'S':
			cli.socket = optarg;
			break;
		case 'm':
			cli.munge_socket = optarg;
			break;
		case 'p':
			port = strtol(optarg, NULL, 10);
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
	if (xenvm_config_load(cfg_path, cfg_path == NULL, &cli.cfg, &err) < 0) {
		fprintf(stderr, "imagecast: %s\n", err.msg);
		return 1;
	}
	if (!cli.socket)
		cli.socket = cli.cfg->imagecast.socket;
	if (!cli.munge_socket)
		cli.munge_socket = cli.cfg->munge.socket;
	cli.port = port > 0 && port < 65536 ? (uint16_t)port : cli.cfg->imagecast.port;
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "fetch") == 0) {
		rc = cmd_fetch(&cli, argc, argv);
	} else if (strcmp(cmd, "status") == 0 && argc == 1) {
		rc = cmd_table(&cli, true);
	} else if (strcmp(cmd, "list") == 0 && argc == 1) {
		rc = cmd_table(&cli, false);
	} else if ((strcmp(cmd, "evict") == 0 || strcmp(cmd, "verify") == 0) && argc == 2) {
		snprintf(line, sizeof(line), "%s %s", cmd, argv[1]);
		rc = cmd_simple(&cli, line);
	} else if ((strcmp(cmd, "pin") == 0 || strcmp(cmd, "unpin") == 0) && argc == 3) {
		snprintf(line, sizeof(line), "%s %s %s", cmd, argv[1], argv[2]);
		rc = cmd_simple(&cli, line);
	} else if (strcmp(cmd, "broadcast") == 0) {
		rc = cmd_broadcast(&cli, argc, argv);
	} else if (strcmp(cmd, "ping") == 0 && argc == 2) {
		rc = cmd_ping(&cli, argv[1]);
	} else {
		usage(stderr);
	}
	xenvm_config_free(cli.cfg);
	return rc;
}
