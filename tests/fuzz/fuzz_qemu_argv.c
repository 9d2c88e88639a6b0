/*
 * fuzz_qemu_argv.c - libFuzzer target for the spec -> QEMU argv path (vm/qemu_argv.c,
 * vm/guest_cmdline.c, vm/spec_check.c, vm/qemu_pci.c).
 *
 * Boundary: the catalog's cmdline, the job's node list and user name, its working directory
 * (a 9p share), xenvm.yaml's paths -> the root supervisor (vmd), which used to format them into
 * fixed 4,200-byte slots with `off += snprintf` and wrote past them.
 *
 * The input is "key=value" lines (name, job, mem, vcpus, cmdline, hostname, ip, gw, kernel,
 * initrd, rootdisk, pci, binary, share=<host>|<guest> (repeatable), tap=<fd>, mac).  Whatever it
 * holds, xvm_qemu_argv either fails with errno E2BIG/EINVAL/ENOMEM and a message, or returns a
 * NULL-terminated argv whose -append line is printable and under Linux's 2048 bytes and whose
 * option lists (-drive, -fsdev, -chardev) have exactly the properties the driver wrote.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/guest_cmdline.h"
#include "vm/qemu_argv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Count QEMU option-list properties: ',' separates, ',,' is a literal comma. */
static size_t props(const char *s)
{
	size_t n = 1;

	for (; *s; s++) {
		if (*s != ',')
			continue;
		if (s[1] == ',') {
			s++;
			continue;
		}
		n++;
	}
	return n;
}

static void check_argv(const struct xvm_argv *v)
{
	if (!v->v || v->n < 1 || v->v[v->n] != NULL)
		abort();
	for (size_t i = 0; i + 1 < v->n; i++) {
		const char *opt = v->v[i], *arg = v->v[i + 1];

		if (strcmp(opt, "-append") == 0) {
			if (strlen(arg) >= XVM_CMDLINE_MAX)
				abort();
			for (const char *c = arg; *c; c++)
				if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
					abort();
		} else if (strcmp(opt, "-drive") == 0 && props(arg) != 5) {
			abort(); /* file, if, id, format, readonly */
		} else if (strcmp(opt, "-fsdev") == 0 && props(arg) != 4) {
			abort(); /* local, id, path, security_model */
		} else if (strcmp(opt, "-chardev") == 0 && props(arg) != 5) {
			abort(); /* socket, id, path, server, wait */
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xvm_spec s = {.name = "vm0",
	                     .kernel = "/k",
	                     .initrd = "/i",
	                     .state_dir = "/run/x",
	                     .mem_bytes = 256ull << 20};
	struct xvm_qemu_args a = {.spec = &s,
	                          .accel = "tcg",
	                          .kernel = "/k",
	                          .console = "/run/x/console.log",
	                          .agent_sock = "/run/x/.qemu-agent.sock",
	                          .tapfd = -1};
	struct xvm_argv v = {0};
	struct xerr err = {""};
	char *buf = malloc(size + 1), *line, *save = NULL;
	int rc;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *val = strchr(line, '=');

		if (!val)
			continue;
		*val++ = '\0';
		if (strcmp(line, "name") == 0)
			s.name = val;
		else if (strcmp(line, "job") == 0)
			s.job_id = (uint32_t)strtoul(val, NULL, 10);
		else if (strcmp(line, "mem") == 0)
			s.mem_bytes = strtoull(val, NULL, 10);
		else if (strcmp(line, "vcpus") == 0)
			s.vcpus = (uint32_t)strtoul(val, NULL, 10);
		else if (strcmp(line, "cmdline") == 0)
			s.cmdline = val;
		else if (strcmp(line, "hostname") == 0)
			s.hostname = val;
		else if (strcmp(line, "ip") == 0)
			s.ip_cidr = val;
		else if (strcmp(line, "gw") == 0)
			s.gateway = val;
		else if (strcmp(line, "kernel") == 0)
			a.kernel = s.kernel = val;
		else if (strcmp(line, "initrd") == 0)
			s.initrd = val;
		else if (strcmp(line, "rootdisk") == 0)
			s.rootdisk = val;
		else if (strcmp(line, "pci") == 0)
			s.pci_bdf = val;
		else if (strcmp(line, "binary") == 0)
			s.qemu_binary = val;
		else if (strcmp(line, "tap") == 0)
			a.tapfd = atoi(val);
		else if (strcmp(line, "mac") == 0)
			a.mac = val;
		else if (strcmp(line, "share") == 0) {
			char *guest = strchr(val, '|');

			if (guest)
				*guest++ = '\0';
			/* one past the array is how the spec says "too many": it must be refused */
			if (s.n_shares < XVM_MAX_SHARES)
				s.shares[s.n_shares] =
				    (struct xvm_share){val, guest ? guest : val, false};
			if (s.n_shares <= XVM_MAX_SHARES)
				s.n_shares++;
		}
	}
	errno = 0;
	rc = xvm_qemu_argv(&a, &v, &err);
	if (rc == 0)
		check_argv(&v);
	else if (rc != -1 || !err.msg[0] || (errno != E2BIG && errno != EINVAL && errno != ENOMEM))
		abort();
	xvm_argv_free(&v);
	free(buf);
	return 0;
}
