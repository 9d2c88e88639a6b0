/* image_inspect.c - see image_inspect.h. */
#include "image_inspect.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Library directories of the distributions we know (Debian multiarch, RHEL-likes, others). */
static const char *const libdirs[] = {"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
                                      "/usr/lib64", "/usr/lib", NULL};

int xa_root_open(int rootfd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (unsigned long long)(O_RDONLY | O_CLOEXEC | flags),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

static bool attr_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("._+~:-", c);
}

/* Copy s into out keeping the attribute alphabet only, at most XA_FACT_MAX - 1 characters. */
static void clean(const char *s, size_t n, char *out, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; i < n && s[i] && j + 1 < len; i++)
		if (attr_char(s[i]))
			out[j++] = s[i];
	out[j] = '\0';
}

void xa_upstream_version(const char *deb, char *out, size_t len)
{
	const char *colon = strchr(deb, ':'), *start = colon ? colon + 1 : deb;
	const char *dash = strrchr(start, '-');

	clean(start, dash ? (size_t)(dash - start) : strlen(start), out, len);
}

/* Whole file at path inside root, NUL-terminated, at most max bytes; NULL when absent. */
static char *read_in_root(int rootfd, const char *path, size_t max)
{
	int fd = xa_root_open(rootfd, path, 0);
	char *buf;
	size_t n = 0;
	struct stat st;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(buf = malloc(max + 1))) {
		close(fd);
		return NULL;
	}
	while (n < max) {
		ssize_t k = read(fd, buf + n, max - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	return buf;
}

/* KEY=value or KEY="value" of an os-release text into out. */
static void os_release_key(const char *text, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *v, *end;

		if (strncmp(l, key, kl) != 0 || l[kl] != '=')
			continue;
		v = l + kl + 1;
		end = strchr(v, '\n');
		if (!end)
			end = v + strlen(v);
		if (*v == '"' || *v == '\'') {
			v++;
			if (end > v && (end[-1] == '"' || end[-1] == '\''))
				end--;
		}
		clean(v, (size_t)(end - v), out, len);
		return;
	}
}

/* The installed version of a package from dpkg's status text into out (or left ""). */
static void dpkg_version(const char *status, const char *pkg, char *out, size_t len)
{
	size_t pl = strlen(pkg);

	for (const char *s = status; s && *s;) {
		const char *next = strstr(s, "\n\n");
		size_t slen = next ? (size_t)(next - s) : strlen(s);
		const char *ver;

		if (strncmp(s, "Package: ", 9) == 0 && strncmp(s + 9, pkg, pl) == 0 &&
		    s[9 + pl] == '\n' && memmem(s, slen, "\nStatus: install ok installed", 29) &&
		    (ver = memmem(s, slen, "\nVersion: ", 10))) {
			char tmp[128];
			const char *e = memchr(ver + 10, '\n', (size_t)(s + slen - (ver + 10)));
			size_t vl = (size_t)((e ? e : s + slen) - (ver + 10));

			snprintf(tmp, sizeof(tmp), "%.*s", (int)(vl < 127 ? vl : 127), ver + 10);
			xa_upstream_version(tmp, out, len);
			return;
		}
		s = next ? next + 2 : NULL;
	}
}

/* Does a file named name exist in one of the library directories? */
static bool has_lib(int rootfd, const char *name)
{
	char p[256];

	for (int i = 0; libdirs[i]; i++) {
		int fd;

		snprintf(p, sizeof(p), "%s/%s", libdirs[i], name);
		fd = xa_root_open(rootfd, p, 0);
		if (fd >= 0) {
			close(fd);
			return true;
		}
	}
	return false;
}

static int cmp_fact(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* libibverbs providers: lib<name>-rdmav<N>.so in <libdir>/libibverbs/. */
static void providers(int rootfd, struct xa_image_facts *f)
{
	for (int i = 0; libdirs[i] && f->n_providers == 0; i++) {
		char p[256];
		int fd;
		DIR *d;
		struct dirent *e;

		snprintf(p, sizeof(p), "%s/libibverbs", libdirs[i]);
		fd = xa_root_open(rootfd, p, O_DIRECTORY);
		if (fd < 0 || !(d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((e = readdir(d)) && f->n_providers < XA_PROVIDERS_MAX) {
			const char *r = strstr(e->d_name, "-rdmav");

			if (strncmp(e->d_name, "lib", 3) != 0 || !r || r == e->d_name + 3 ||
			    !strstr(r, ".so"))
				continue;
			clean(e->d_name + 3, (size_t)(r - e->d_name - 3),
			      f->providers[f->n_providers++], XA_FACT_MAX);
		}
		closedir(d);
	}
	qsort(f->providers, f->n_providers, sizeof(f->providers[0]), cmp_fact);
}

int xa_inspect_rootfs(const char *root, struct xa_image_facts *f, struct xerr *err)
{
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *text, *status;
	struct stat st;
	int fd;

	memset(f, 0, sizeof(*f));
	if (rootfd < 0)
		return xerr_set(err, "%s: %s", root, strerror(errno));
	fd = xa_root_open(rootfd, "/bin/sh", 0);
	if (fd < 0 && errno == ENOSYS) {
		close(rootfd);
		return xerr_set(err, "openat2 is not available (Linux 5.6 or later is needed)");
	}
	f->has_sh = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
	if (fd >= 0)
		close(fd);

	text = read_in_root(rootfd, "/etc/os-release", 1 << 16);
	if (!text)
		text = read_in_root(rootfd, "/usr/lib/os-release", 1 << 16);
	if (text) {
		os_release_key(text, "ID", f->os, sizeof(f->os));
		os_release_key(text, "VERSION_ID", f->os_version, sizeof(f->os_version));
		free(text);
	}

	status = read_in_root(rootfd, "/var/lib/dpkg/status", 64u << 20);
	if (has_lib(rootfd, "libmpich.so.12")) {
		strcpy(f->mpi, "mpich");
		if (status)
			dpkg_version(status, "libmpich12", f->mpi_version, sizeof(f->mpi_version));
	} else if (has_lib(rootfd, "libmpi.so.40")) {
		strcpy(f->mpi, "openmpi");
		if (status)
			dpkg_version(status, "libopenmpi3", f->mpi_version, sizeof(f->mpi_version));
	}
	if (has_lib(rootfd, "libc.so.6") && status)
		dpkg_version(status, "libc6", f->glibc, sizeof(f->glibc));
	if (has_lib(rootfd, "libibverbs.so.1")) {
		if (status)
			dpkg_version(status, "libibverbs1", f->ibverbs, sizeof(f->ibverbs));
		if (!f->ibverbs[0])
			strcpy(f->ibverbs, "?");
		providers(rootfd, f);
	}
	free(status);
	close(rootfd);
	return 0;
}

bool xa_facts_verbs(const struct xa_image_facts *f)
{
	if (!f->ibverbs[0])
		return false;
	for (size_t i = 0; i < f->n_providers; i++)
		if (strcmp(f->providers[i], "rxe") == 0 || strcmp(f->providers[i], "mlx5") == 0)
			return true;
	return false;
}

int xa_facts_yaml(const struct xa_image_facts *f, char *buf, size_t len)
{
	FILE *m = fmemopen(buf, len, "w");
	bool first = true;
	int rc;

	if (!m)
		return -1;
	fprintf(m, "attributes:\n");
	if (f->os[0])
		fprintf(m, "  os: \"%s\"\n", f->os);
	if (f->os_version[0] && f->os_version[0] >= '0' && f->os_version[0] <= '9')
		fprintf(m, "  os_version: \"%s\"\n", f->os_version);
	if (f->mpi[0])
		fprintf(m, "  mpi: \"%s\"\n", f->mpi);
	if (f->mpi_version[0] >= '0' && f->mpi_version[0] <= '9')
		fprintf(m, "  mpi_version: \"%s\"\n", f->mpi_version);
	if (f->glibc[0] >= '0' && f->glibc[0] <= '9')
		fprintf(m, "  glibc: \"%s\"\n", f->glibc);
	/*
	 * ib means "boot me with verbs" to the Prolog: a VF (mlx5), else Soft-RoCE (rxe).  The
	 * guest's init sets the device up (the base's modules, xenvm-rdmadev), but only the
	 * container's own libibverbs with a provider for it can use it: one of those two.
	 */
	fprintf(m, "  ib: %s\n", xa_facts_verbs(f) ? "true" : "false");
	fprintf(m, "  libraries: [");
	if (f->ibverbs[0]) {
		fprintf(m, f->ibverbs[0] == '?' ? "libibverbs" : "libibverbs-%s", f->ibverbs);
		first = false;
	}
	for (size_t i = 0; i < f->n_providers; i++, first = false)
		fprintf(m, "%s%s", first ? "" : ", ", f->providers[i]);
	if (f->glibc[0])
		fprintf(m, "%sglibc-%s", first ? "" : ", ", f->glibc);
	fprintf(m, "]\n");
	rc = ferror(m) ? -1 : 0;
	if (fclose(m) != 0)
		rc = -1;
	return rc;
}
