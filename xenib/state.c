/* state.c - see state.h. */
#include "state.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/atomic_file.h"

#define STATE_MAGIC "xenib-pool 1"

void xenib_state_free(struct xenib_state *st)
{
	if (!st)
		return;
	free(st->e);
	memset(st, 0, sizeof(*st));
}

/* Returns 0, or -1 with errno ENOMEM. */
int xenib_state_add(struct xenib_state *st, const struct xenib_entry *e)
{
	if (!st || !e) {
		errno = EINVAL;
		return -1;
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 16;
		struct xenib_entry *grown = realloc(st->e, cap * sizeof(*grown));

		if (!grown) {
			errno = ENOMEM;
			return -1;
		}
		st->e = grown;
		st->cap = cap;
	}
	st->e[st->n++] = *e;
	return 0;
}

void xenib_state_del(struct xenib_state *st, size_t i)
{
	if (!st || i >= st->n)
		return;
	memmove(&st->e[i], &st->e[i + 1], (st->n - i - 1) * sizeof(*st->e));
	st->n--;
}

/* Returns the entry or NULL. */
struct xenib_entry *xenib_state_find(struct xenib_state *st, const char *bdf)
{
	for (size_t i = 0; st && bdf && i < st->n; i++)
		if (strcmp(st->e[i].bdf, bdf) == 0)
			return &st->e[i];
	return NULL;
}

/* Returns 0, or -1 with errno ENAMETOOLONG/EINVAL and err. */
int xenib_state_paths(const char *state_dir, char *dir, char *lock, char *state, struct xerr *err)
{
	if (!state_dir || !dir || !lock || !state || state_dir[0] != '/') {
		return xerr_errno(err, EINVAL, "state_dir '%s' is not an absolute path",
		                  state_dir ? state_dir : "(null)");
	}
	if ((size_t)snprintf(dir, PATH_MAX, "%s/xenib", state_dir) >= PATH_MAX ||
	    (size_t)snprintf(lock, PATH_MAX, "%s/pool.lock", dir) >= PATH_MAX ||
	    (size_t)snprintf(state, PATH_MAX, "%s/pool.state", dir) >= PATH_MAX) {
		return xerr_errno(err, ENAMETOOLONG, "%.200s...: state_dir too long", state_dir);
	}
	return 0;
}

bool xenib_valid_vm_name(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len == 0 || len >= XENIB_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	       len;
}

/* A PCI address as the kernel writes it: dddd:bb:dd.f, lower-case hex. */
static bool valid_bdf(const char *s)
{
	static const char pat[] = "xxxx:xx:xx.x";

	if (strlen(s) != sizeof(pat) - 1)
		return false;
	for (size_t i = 0; pat[i]; i++)
		if (pat[i] == 'x' ? !strchr("0123456789abcdef", s[i]) : s[i] != pat[i])
			return false;
	return true;
}

/* Parse one entry line.  Returns 0, or -1 (the caller reports the line). */
static int parse_line(char *line, struct xenib_entry *e)
{
	char bdf[32], state[16], vm[XENIB_NAME_MAX + 8];
	unsigned long jobid;
	long pid;
	unsigned long long start;
	long long since;
	int used = 0;

	memset(e, 0, sizeof(*e));
	if (sscanf(line, "%31s %15s %lu %ld %llu %lld %71s%n", bdf, state, &jobid, &pid, &start,
	           &since, vm, &used) != 7 ||
	    line[used] != '\0')
		return -1;
	if (!valid_bdf(bdf) || !xenib_valid_vm_name(vm) || jobid == 0 || jobid > UINT32_MAX ||
	    pid < 0 || since < 0)
		return -1;
	if (strcmp(state, "leased") == 0 && pid > 0)
		e->state = XENIB_LEASED;
	else if (strcmp(state, "assigned") == 0)
		e->state = XENIB_ASSIGNED;
	else
		return -1;
	strcpy(e->bdf, bdf);
	strcpy(e->vm, vm);
	e->jobid = (uint32_t)jobid;
	e->pid = (pid_t)pid;
	e->start = start;
	e->since = (time_t)since;
	return 0;
}

/* Returns 0, or -1 with errno EBADMSG/ENOMEM/... and err (see state.h). */
int xenib_state_load(const char *path, struct xenib_state *st, struct xerr *err)
{
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = -1, saved;

	if (!path || !st) {
		return xerr_errno(err, EINVAL, "xenib_state_load: invalid argument");
	}
	memset(st, 0, sizeof(*st));
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return xerr_set(err, "%s: cannot open: %s", path, strerror(errno));
	}
	for (;;) {
		struct xenib_entry e;
		ssize_t n;

		errno = 0;
		n = getline(&line, &cap, f);
		if (n < 0) {
			if (errno) {
				xerr_set(err, "%s: cannot read: %s", path, strerror(errno));
				goto out;
			}
			break;
		}
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (lineno == 1) {
			if (strcmp(line, STATE_MAGIC) != 0)
				goto bad;
			continue;
		}
		if (parse_line(line, &e) < 0 || xenib_state_find(st, e.bdf))
			goto bad;
		if (xenib_state_add(st, &e) < 0) {
			xerr_set(err, "%s: out of memory", path);
			goto out;
		}
	}
	if (lineno == 0) {
		/* an empty file is only ever left by hand: a writer always puts the header */
		lineno = 1;
		goto bad;
	}
	rc = 0;
	goto out;
bad:
	errno = EBADMSG;
	xerr_set(err,
	         "%s:%u: damaged pool state (expected '%s' then '<bdf> leased|assigned <job> "
	         "<pid> <start> <since> <vm>'); check the VFs' jobs and remove the file",
	         path, lineno, STATE_MAGIC);
out:
	saved = errno;
	free(line);
	if (f)
		fclose(f);
	if (rc < 0)
		xenib_state_free(st);
	errno = saved;
	return rc;
}

/* Returns 0, or -1 with errno and err. */
int xenib_state_save(const char *path, const struct xenib_state *st, struct xerr *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = NULL;
	int rc = -1, saved;

	if (!path || !st) {
		return xerr_errno(err, EINVAL, "xenib_state_save: invalid argument");
	}
	m = open_memstream(&buf, &len);
	if (!m) {
		xerr_set(err, "%s: out of memory", path);
		goto out;
	}
	fprintf(m, "%s\n", STATE_MAGIC);
	for (size_t i = 0; i < st->n; i++) {
		const struct xenib_entry *e = &st->e[i];

		fprintf(m, "%s %s %" PRIu32 " %ld %llu %lld %s\n", e->bdf,
		        xenib_state_name(e->state), e->jobid, (long)e->pid, e->start,
		        (long long)e->since, e->vm);
	}
	if (fclose(m) != 0) {
		m = NULL;
		errno = ENOMEM;
		xerr_set(err, "%s: out of memory", path);
		goto out;
	}
	m = NULL;
	if (xenvm_write_file_atomic(path, buf, len, 0644, (uid_t)-1, (gid_t)-1) < 0) {
		xerr_set(err, "%s: cannot write: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	saved = errno;
	if (m)
		fclose(m);
	free(buf);
	errno = saved;
	return rc;
}

/* Returns 0, or -1 with errno ESRCH (gone or zombie) or EINVAL. */
int xenib_proc_start(pid_t pid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;
	char state;

	if (pid <= 0 || !start) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "re");
	if (!f) {
		errno = ESRCH;
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: the fields start after the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1,
	                 " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
	                 "%*s %*s %*s %llu",
	                 &state, start) != 2) {
		errno = ESRCH;
		return -1;
	}
	if (state == 'Z' || state == 'X') {
		errno = ESRCH;
		return -1;
	}
	return 0;
}
