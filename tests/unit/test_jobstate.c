/*
 * test_jobstate.c - node-side job state, atomic files, node lists and the Prolog's environment
 * (lib/jobstate.c, lib/atomic_file.c, lib/small_file.c, lib/nodelist.c, lib/script_env.c,
 * lib/config_path.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/atomic_file.h"
#include "lib/config_path.h"
#include "lib/jobstate.h"
#include "lib/nodelist.h"
#include "lib/script_env.h"
#include "lib/small_file.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int setup_dir(void **state)
{
	char *dir = strdup("/tmp/xenvm-test-jobstate.XXXXXX");

	if (!dir || !mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int teardown_dir(void **state)
{
	xenvm_remove_tree(*state);
	free(*state);
	return 0;
}

/*
 * Readable by root and the job's user only (issue 14: it was 0644): mode 0600 plus an ACL
 * entry user:<uid>:r (the group bits show the ACL's mask, r), or where the file system has no
 * ACLs 0640 with the job's group.
 */
static void job_user_only(const char *path, const struct stat *st, uid_t uid, gid_t gid)
{
	struct {
		uint32_t version;
		struct {
			uint16_t tag, perm;
			uint32_t id;
		} e[8];
	} acl;
	ssize_t n = getxattr(path, "system.posix_acl_access", &acl, sizeof(acl));
	int named = 0;

	assert_int_equal(st->st_mode & 07777, 0640);
	if (n < 0) {
		assert_int_equal(errno, EOPNOTSUPP);
		assert_int_equal(st->st_gid, gid);
		return;
	}
	assert_int_equal(acl.version, 2);
	for (size_t i = 0; i < ((size_t)n - 4) / 8; i++) {
		if (acl.e[i].tag == 0x02) { /* ACL_USER: the job's user, read only */
			assert_int_equal(acl.e[i].id, uid);
			assert_int_equal(acl.e[i].perm, 4);
			named++;
		}
		if (acl.e[i].tag == 0x04 || acl.e[i].tag == 0x20) /* the group, others: nothing */
			assert_int_equal(acl.e[i].perm, 0);
	}
	assert_int_equal(named, 1);
}

static void record_roundtrip(void **state)
{
	const char *dir = *state;
	struct xenvm_job_record w, r;
	struct xerr err;
	char path[4096];
	struct stat st;

	memset(&w, 0, sizeof(w));
	w.jobid = 42;
	w.uid = 1001;
	w.gid = 1002;
	strcpy(w.user, "alice");
	strcpy(w.node, "node3");
	w.nodelist = "node[1-4]";
	w.node_index = 2;
	w.node_count = 4;
	strcpy(w.req.image, "ttylinux-mpi");
	strcpy(w.req.digest, DIGEST);
	w.req.mem_bytes = 512ULL << 20;
	w.req.vcpus = 2;
	w.req.verbose = true;
	assert_int_equal(xenvm_job_record_write(dir, &w, &err), 0);

	snprintf(path, sizeof(path), "%s/job/42/job.state", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid,
	                 getuid()); /* the writer's (root's): the user cannot change it */
	job_user_only(path, &st, 1001, 1002);

	assert_int_equal(xenvm_job_record_read(dir, 42, &r, &err), 0);
	assert_int_equal(r.jobid, 42);
	assert_int_equal(r.uid, 1001);
	assert_int_equal(r.gid, 1002);
	assert_string_equal(r.user, "alice");
	assert_string_equal(r.node, "node3");
	assert_string_equal(r.nodelist, "node[1-4]");
	assert_int_equal(r.node_index, 2);
	assert_int_equal(r.node_count, 4);
	assert_string_equal(r.req.image, "ttylinux-mpi");
	assert_string_equal(r.req.digest, DIGEST);
	assert_int_equal(r.req.mem_bytes, 512ULL << 20);
	assert_int_equal(r.req.vcpus, 2);
	assert_false(r.req.root);
	assert_true(r.req.verbose);
	assert_null(r.error);
	xenvm_job_record_clear(&r);

	/* an error recorded by the Prolog survives the round trip */
	w.error = "guest never became ready";
	assert_int_equal(xenvm_job_record_write(dir, &w, &err), 0);
	assert_int_equal(xenvm_job_record_read(dir, 42, &r, &err), 0);
	assert_string_equal(r.error, "guest never became ready");
	xenvm_job_record_clear(&r);

	/* no temporary files are left beside the record */
	snprintf(path, sizeof(path),
	         "ls -A %s/job/42 | grep -v '^job.state$' | wc -l | "
	         "grep -qx 0",
	         dir);
	assert_int_equal(system(path), 0);

	/* removal is idempotent */
	assert_int_equal(xenvm_job_remove(dir, 42), 0);
	assert_int_equal(xenvm_job_remove(dir, 42), 0);
	assert_int_equal(xenvm_job_record_read(dir, 42, &r, &err), -1);
	assert_int_equal(errno, ENOENT);
}

static void record_rejects_bad_input(void **state)
{
	const char *dir = *state;
	struct xenvm_job_record w, r;
	struct xerr err;
	char path[4096];
	FILE *f;

	memset(&w, 0, sizeof(w));
	w.jobid = 7;
	strcpy(w.user, "bob");
	w.nodelist = "node1\nuid=0";
	assert_int_equal(xenvm_job_record_write(dir, &w, &err), -1);
	assert_string_equal(err.msg, "job 7: a value contains a newline");

	/* a damaged record is reported with file and line, not half-read */
	snprintf(path, sizeof(path), "%s/job/8", dir);
	assert_int_equal(xenvm_mkdir_p(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/job/8/job.state", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("version=1\njobid=8\nuid=notanumber\n", f);
	fclose(f);
	assert_int_equal(xenvm_job_record_read(dir, 8, &r, &err), -1);
	assert_non_null(strstr(err.msg, "/job/8/job.state:3: damaged record"));
	assert_null(r.nodelist);

	/* a record for another job is refused */
	f = fopen(path, "w");
	fputs("version=1\njobid=9\n", f);
	fclose(f);
	assert_int_equal(xenvm_job_record_read(dir, 8, &r, &err), -1);
	assert_non_null(strstr(err.msg, "record is for job 9"));

	assert_int_equal(xenvm_job_dir(dir, 0, path, sizeof(path)), -1);
	assert_int_equal(errno, EINVAL);
}

static void atomic_write_and_tree(void **state)
{
	const char *dir = *state;
	char path[4096], buf[64];
	struct stat st;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(xenvm_mkdir_p(path, 0700), 0);
	assert_int_equal(xenvm_mkdir_p(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/b/c/f", dir);
	assert_int_equal(xenvm_write_file_atomic(path, "one", 3, 0600, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(xenvm_write_file_atomic(path, "two!", 4, 0640, (uid_t)-1, (gid_t)-1), 0);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "two!", 4);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* mkdir_p over a file is ENOTDIR */
	assert_int_equal(xenvm_mkdir_p(path, 0700), -1);
	assert_int_equal(errno, ENOTDIR);
	/* writing into a missing directory fails and leaves nothing */
	snprintf(path, sizeof(path), "%s/missing/f", dir);
	assert_int_equal(xenvm_write_file_atomic(path, "x", 1, 0600, (uid_t)-1, (gid_t)-1), -1);
	assert_int_equal(errno, ENOENT);

	/* remove_tree does not follow a symlink out of the tree */
	char outside[4096], link[4096];
	snprintf(outside, sizeof(outside), "%s/keep", dir);
	assert_int_equal(xenvm_write_file_atomic(outside, "k", 1, 0600, (uid_t)-1, (gid_t)-1), 0);
	snprintf(link, sizeof(link), "%s/a/b/c/link", dir);
	assert_int_equal(symlink(dir, link), 0);
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(xenvm_remove_tree(path), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(outside, F_OK), 0);
	assert_int_equal(xenvm_remove_tree(path), 0);
	assert_int_equal(xenvm_remove_tree(""), -1);
}

static void nodelists(void **state)
{
	struct xenvm_nodelist nl;
	struct xerr err;

	assert_int_equal(xenvm_nodelist_expand("SLURM_NODELIST", "node[1-3],gpu7", &nl, &err), 0);
	assert_int_equal(nl.n, 4);
	assert_string_equal(nl.names[0], "node1");
	assert_string_equal(nl.names[2], "node3");
	assert_string_equal(nl.names[3], "gpu7");
	assert_int_equal(xenvm_nodelist_index(&nl, "gpu7"), 3);
	assert_int_equal(xenvm_nodelist_index(&nl, "node4"), -1);
	xenvm_nodelist_free(&nl);
	assert_int_equal(nl.n, 0);

	assert_int_equal(xenvm_nodelist_expand("SLURM_NODELIST", "n[001-100]", &nl, &err), 0);
	assert_int_equal(nl.n, 100);
	assert_string_equal(nl.names[99], "n100");
	xenvm_nodelist_free(&nl);

	assert_int_equal(xenvm_nodelist_expand("SLURM_NODELIST", "", &nl, &err), -1);
	assert_string_equal(err.msg, "SLURM_NODELIST: the node list is empty");
	assert_int_equal(xenvm_nodelist_expand("SLURM_NODELIST", "node1;reboot", &nl, &err), -1);
	assert_string_equal(err.msg, "SLURM_NODELIST: 'node1;reboot' is not a valid node list");
	assert_int_equal(xenvm_nodelist_expand("SLURM_NODELIST", "n[1-100000]", &nl, &err), -1);
	/* libslurm refuses ranges over 64k hosts itself */
	assert_string_equal(err.msg, "SLURM_NODELIST: 'n[1-100000]' is not a valid node list");
}

static void script_env(void **state)
{
	struct xenvm_script_env se;
	struct xerr err;

	clearenv();
	assert_int_equal(xenvm_script_env_read(&se, 1, &err), -1);
	assert_string_equal(err.msg, "SLURM_JOB_ID: '(unset)' is not a job id");
	setenv("SLURM_JOB_ID", "4294967294", 1);
	assert_int_equal(xenvm_script_env_read(&se, 0, &err), -1);
	setenv("SLURM_JOB_ID", "12", 1);
	assert_int_equal(xenvm_script_env_read(&se, 0, &err), 0);
	assert_int_equal(se.jobid, 12);
	assert_int_equal(xenvm_script_env_read(&se, 1, &err), -1);
	assert_string_equal(err.msg, "SLURM_JOB_UID is not set");
	setenv("SLURM_JOB_UID", "10x", 1);
	assert_int_equal(xenvm_script_env_read(&se, 1, &err), -1);
	assert_string_equal(err.msg, "SLURM_JOB_UID: '10x' is not a numeric user or group id");
	setenv("SLURM_JOB_UID", "1000", 1);
	setenv("SLURM_JOB_GID", "100", 1);
	assert_int_equal(xenvm_script_env_read(&se, 1, &err), -1);
	assert_string_equal(err.msg, "SLURMD_NODENAME is not set");
	setenv("SLURMD_NODENAME", "node2", 1);
	assert_int_equal(xenvm_script_env_read(&se, 1, &err), -1);
	assert_string_equal(err.msg, "SLURM_NODELIST is not set");
	setenv("SLURM_NODELIST", "node[1-2]", 1);
	assert_int_equal(xenvm_script_env_read(&se, 1, &err), 0);
	assert_int_equal(se.uid, 1000);
	assert_int_equal(se.gid, 100);
	assert_string_equal(se.node, "node2");
}

static void config_paths(void **state)
{
	const char *dir = *state;
	char buf[4096], conf[4096], yaml[4096];

	clearenv();
	assert_string_equal(xenvm_config_path("/x/y.yaml", buf, sizeof(buf)), "/x/y.yaml");
	assert_string_equal(xenvm_config_path(NULL, buf, sizeof(buf)), "/etc/xenvm/xenvm.yaml");
	snprintf(conf, sizeof(conf), "%s/slurm.conf", dir);
	setenv("SLURM_CONF", conf, 1);
	/* beside slurm.conf only when it exists there */
	assert_string_equal(xenvm_config_path(NULL, buf, sizeof(buf)), "/etc/xenvm/xenvm.yaml");
	snprintf(yaml, sizeof(yaml), "%s/xenvm.yaml", dir);
	assert_int_equal(xenvm_write_file_atomic(yaml, "", 0, 0644, (uid_t)-1, (gid_t)-1), 0);
	assert_string_equal(xenvm_config_path(NULL, buf, sizeof(buf)), yaml);
	setenv("XENVM_CONFIG", "/from/env.yaml", 1);
	assert_string_equal(xenvm_config_path(NULL, buf, sizeof(buf)), "/from/env.yaml");
	assert_null(xenvm_config_path(NULL, buf, 4));
	assert_int_equal(errno, ENAMETOOLONG);
	clearenv();
}

/* A state file is read whole; a FIFO, a symlink, a directory or an oversized file is refused at
 * once. */
static void small_file_reads_only_small_regular_files(void **state)
{
	const char *dir = *state;
	char path[512], fifo[512], link[512], *text = (char *)"untouched";

	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(xenvm_write_file_atomic(path, "hello", 5, 0600, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(xenvm_read_small_file(path, 5, &text), 5);
	assert_string_equal(text, "hello");
	free(text);
	text = (char *)"untouched";

	errno = 0;
	assert_int_equal(xenvm_read_small_file(path, 4, &text), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	errno = 0; /* with no writer, a blocking open would hang here */
	assert_int_equal(xenvm_read_small_file(fifo, 64, &text), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(symlink(path, link), 0);
	errno = 0;
	assert_int_equal(xenvm_read_small_file(link, 64, &text), -1);
	assert_int_equal(errno, ELOOP);
	errno = 0;
	assert_int_equal(xenvm_read_small_file(dir, 1 << 20, &text), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(text, "untouched");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(record_roundtrip, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(record_rejects_bad_input, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(atomic_write_and_tree, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(small_file_reads_only_small_regular_files, setup_dir,
	                                    teardown_dir),
	    cmocka_unit_test(nodelists),
	    cmocka_unit_test(script_env),
	    cmocka_unit_test_setup_teardown(config_paths, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests_name("jobstate", tests, NULL, NULL);
}
