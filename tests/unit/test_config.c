/* test_config.c - xenvm.yaml (lib/config.c, lib/yamldoc.c): defaults, every key, every error. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/config.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define TiB (UINT64_C(1) << 40)

static char tmpdir[] = "/tmp/xenvm-test-config-XXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Write text to tmpdir/name; returns the path (static storage, valid until the next call). */
static const char *write_file(const char *name, const char *text, size_t len)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static const char *write_yaml(const char *text)
{
	return write_file("xenvm.yaml", text, strlen(text));
}

/* The load fails and the message is exactly "<path>:<want>". */
static void load_fails(const char *path, const char *want)
{
	struct xenvm_config *cfg = (struct xenvm_config *)0x1;
	struct xerr err = {""};
	size_t plen = strlen(path);

	errno = 0;
	if (xenvm_config_load(path, false, &cfg, &err) != -1)
		fail_msg("loaded, expected \"%s\"", want);
	assert_ptr_equal(cfg, (struct xenvm_config *)0x1); /* untouched */
	assert_int_not_equal(errno, 0);
	if (strncmp(err.msg, path, plen) != 0 || strcmp(err.msg + plen, want) != 0)
		fail_msg("got  \"%s\"\nwant \"%s%s\"", err.msg, path, want);
}

static struct xenvm_config *load_ok(const char *path)
{
	struct xenvm_config *cfg = NULL;
	struct xerr err = {""};

	if (xenvm_config_load(path, false, &cfg, &err) != 0)
		fail_msg("load failed: %s", err.msg);
	assert_non_null(cfg);
	return cfg;
}

static void assert_defaults(const struct xenvm_config *c)
{
	assert_int_equal(c->driver, XENVM_DRIVER_QEMU);
	assert_string_equal(c->state_dir, "/run/xenvm");
	assert_string_equal(c->catalog, "/etc/xenvm/images.yaml");
	assert_string_equal(c->log_level, "info");
	assert_string_equal(c->cache.dir, "/var/cache/xenvm");
	assert_true(c->cache.max_bytes == 20 * GiB);
	assert_string_equal(c->imagecast.store, "/srv/xenvm/images");
	assert_int_equal(c->imagecast.port, 7420);
	assert_string_equal(c->imagecast.socket, "/run/xenvm/imagecast.sock");
	assert_true(c->imagecast.chunk_bytes == 1 * MiB);
	assert_int_equal(c->imagecast.shape, XENVM_CAST_TWO_TREE);
	assert_null(c->imagecast.allowed_users);
	assert_int_equal(c->imagecast.n_allowed_users, 0);
	assert_string_equal(c->network.bridge, "xenvmbr0");
	assert_null(c->network.interface);
	assert_null(c->network.subnet);
	assert_null(c->network.gateway);
	assert_int_equal(c->network.mtu, 1500);
	assert_true(c->network.pin);
	assert_null(c->network.allow);
	assert_int_equal(c->network.n_allow, 0);
	assert_null(c->shares.allowed);
	assert_null(c->ib.devices);
	assert_int_equal(c->ib.n_devices, 0);
	assert_int_equal(c->ib.vfs_per_device, 0);
	assert_int_equal(c->ib.fallback, XENVM_IB_FALLBACK_RXE);
	assert_null(c->ib.partitions_file);
	assert_int_equal(c->ib.pkey, 0);
	assert_int_equal(c->ib.guid_prefix, 0x0200);
	assert_null(c->ib.opensm_pid_file);
	assert_string_equal(c->munge.socket, "/run/munge/munge.socket.2");
	assert_int_equal(c->timeouts.fetch_s, 300);
	assert_int_equal(c->timeouts.boot_s, 60);
	assert_int_equal(c->timeouts.ready_s, 120);
	assert_int_equal(c->timeouts.shutdown_grace_s, 10);
	assert_true(c->vm.memory_overhead_bytes == 64 * MiB);
	assert_true(c->vm.default_memory_bytes == 512 * MiB);
	assert_string_equal(c->vm.qemu_binary, "qemu-system-x86_64");
	assert_string_equal(c->vm.accel, "auto");
	assert_string_equal(c->vm.cgroup, "auto");
	assert_null(c->mounts.paths);
	assert_int_equal(c->mounts.n_paths, 0);
}

static void test_defaults(void **state)
{
	struct xenvm_config *c = xenvm_config_defaults();

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->path, XENVM_CONFIG_DEFAULT_PATH);
	assert_defaults(c);
	xenvm_config_free(c);
	xenvm_config_free(NULL);
}

/* Files that say nothing: the defaults, with path set to the file. */
static void test_empty_files(void **state)
{
	static const char *const texts[] = {
	    "",
	    "# only a comment\n",
	    "---\n",
	    "---\n...\n",
	    "~\n",
	    "cache:\nimagecast: ~\nnetwork: null\nib:\nmunge:\ntimeouts:\nvm:\nmounts:\n"
	    "driver:\nstate_dir: ~\n",
	    "mounts: []\nib: {devices: []}\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *path = write_yaml(texts[i]);
		struct xenvm_config *c = load_ok(path);

		assert_string_equal(c->path, path);
		assert_defaults(c);
		xenvm_config_free(c);
	}
}

static void test_full_file(void **state)
{
	struct xenvm_config *c = load_ok(XENVM_SRCDIR "/tests/unit/fixtures/xenvm-full.yaml");

	(void)state;
	assert_string_equal(c->path, XENVM_SRCDIR "/tests/unit/fixtures/xenvm-full.yaml");
	assert_int_equal(c->driver, XENVM_DRIVER_XEN);
	assert_string_equal(c->state_dir, "/var/run/xenvm-test");
	assert_string_equal(c->catalog, "/etc/xenvm-test/images.yaml");
	assert_string_equal(c->log_level, "debug");
	assert_string_equal(c->cache.dir, "/scratch/xenvm-cache");
	assert_true(c->cache.max_bytes == TiB + TiB / 2);
	assert_string_equal(c->imagecast.store, "/srv/images");
	assert_int_equal(c->imagecast.port, 7421);
	assert_string_equal(c->imagecast.socket, "/var/run/xenvm-test/cast.sock");
	assert_true(c->imagecast.chunk_bytes == 64 * 1024);
	assert_int_equal(c->imagecast.shape, XENVM_CAST_PIPELINED_CHAIN);
	assert_int_equal(c->imagecast.n_allowed_users, 2);
	assert_string_equal(c->imagecast.allowed_users[0], "slurm");
	assert_string_equal(c->imagecast.allowed_users[1], "1001");
	assert_null(c->imagecast.allowed_users[2]);
	assert_string_equal(c->network.bridge, "br-vm");
	assert_string_equal(c->network.interface, "eth1");
	assert_string_equal(c->network.subnet, "10.20.0.0/16");
	assert_string_equal(c->network.gateway, "10.20.0.1");
	assert_int_equal(c->network.mtu, 9000);
	assert_int_equal(c->ib.n_devices, 2);
	assert_string_equal(c->ib.devices[0], "mlx5_0");
	assert_string_equal(c->ib.devices[1], "mlx5_1");
	assert_int_equal(c->ib.vfs_per_device, 16);
	assert_int_equal(c->ib.fallback, XENVM_IB_FALLBACK_NONE);
	assert_string_equal(c->ib.partitions_file, "/etc/opensm/partitions.conf");
	assert_int_equal(c->ib.pkey, 0x7fff);
	assert_string_equal(c->munge.socket, "/var/run/munge/alt.socket");
	assert_int_equal(c->timeouts.fetch_s, 600);
	assert_int_equal(c->timeouts.boot_s, 90);
	assert_int_equal(c->timeouts.ready_s, 3600);
	assert_int_equal(c->timeouts.shutdown_grace_s, 5);
	assert_true(c->vm.memory_overhead_bytes == 0);
	assert_true(c->vm.default_memory_bytes == GiB);
	assert_string_equal(c->vm.qemu_binary, "/usr/local/bin/qemu-system-x86_64");
	assert_string_equal(c->vm.accel, "tcg");
	assert_int_equal(c->mounts.n_paths, 2);
	assert_string_equal(c->mounts.paths[0], "/home");
	assert_string_equal(c->mounts.paths[1], "/scratch");
	xenvm_config_free(c);
}

/* Values at the edges of their ranges, other spellings, and the last value of a list winning. */
/* network.pin, network.allow and shares.allowed as a site writes them. */
static void test_pin_allow_shares(void **state)
{
	struct xenvm_config *c;

	(void)state;
	c = load_ok(write_yaml("network:\n  pin: false\n  allow: [10.0.0.5/32:tcp:2049, "
	                       "'10.1.0.0/16', '10.2.0.1:udp', '10.3.0.1:any']\n"
	                       "shares: {allowed: [/scratch, /work]}\n"));
	assert_false(c->network.pin);
	assert_int_equal(c->network.n_allow, 4);
	assert_int_equal(c->network.allow[0].addr, 0x0a000005);
	assert_int_equal(c->network.allow[0].prefix, 32);
	assert_int_equal(c->network.allow[0].proto, 6);
	assert_int_equal(c->network.allow[0].port, 2049);
	assert_int_equal(c->network.allow[1].addr, 0x0a010000);
	assert_int_equal(c->network.allow[1].prefix, 16);
	assert_int_equal(c->network.allow[1].proto, 0);
	assert_int_equal(c->network.allow[1].port, 0);
	assert_int_equal(c->network.allow[2].proto, 17);
	assert_int_equal(c->network.allow[3].proto, 0);
	assert_int_equal(c->shares.n_allowed, 2);
	assert_string_equal(c->shares.allowed[1], "/work");
	xenvm_config_free(c);
}

static void test_edges(void **state)
{
	struct xenvm_config *c;

	(void)state;
	c = load_ok(write_yaml("imagecast: {port: 1, chunk_size: 64M, shape: binomial}\n"
	                       "ib: {pkey: 1, vfs_per_device: 255}\n"
	                       "network: {mtu: 68, subnet: 'fd00::/64', gateway: 'fd00::1',"
	                       " bridge: abcdefghijklmno}\n"
	                       "timeouts: {fetch: 1, boot: 4294967295}\n"
	                       "cache: {max_size: 1M}\n"
	                       "vm: {default_memory: 1048576, accel: kvm, cgroup: required}\n"
	                       "log_level: error\n"));
	assert_int_equal(c->imagecast.port, 1);
	assert_true(c->imagecast.chunk_bytes == 64 * MiB);
	assert_int_equal(c->imagecast.shape, XENVM_CAST_BINOMIAL_WHOLE_FILE);
	assert_int_equal(c->ib.pkey, 1);
	assert_int_equal(c->ib.vfs_per_device, 255);
	assert_int_equal(c->network.mtu, 68);
	assert_string_equal(c->network.subnet, "fd00::/64");
	assert_string_equal(c->network.gateway, "fd00::1");
	assert_string_equal(c->network.bridge, "abcdefghijklmno");
	assert_int_equal(c->timeouts.fetch_s, 1);
	assert_int_equal(c->timeouts.boot_s, 4294967295u);
	assert_true(c->cache.max_bytes == MiB);
	assert_true(c->vm.default_memory_bytes == MiB);
	assert_string_equal(c->vm.accel, "kvm");
	assert_string_equal(c->vm.cgroup, "required");
	assert_string_equal(c->log_level, "error");
	xenvm_config_free(c);

	c = load_ok(write_yaml("ib:\n  pkey: 32767\nimagecast:\n  port: \"65535\"\n"
	                       "driver: qemu\nnetwork: {subnet: 0.0.0.0/0}\n"));
	assert_int_equal(c->ib.pkey, 0x7fff);
	assert_int_equal(c->imagecast.port, 65535);
	assert_int_equal(c->driver, XENVM_DRIVER_QEMU);
	xenvm_config_free(c);

	/* the VF GUID prefix at both ends of its range, and OpenSM's pid file */
	c = load_ok(write_yaml("ib: {guid_prefix: 0xfffe, opensm_pid_file: /run/opensm.pid}\n"));
	assert_int_equal(c->ib.guid_prefix, 0xfffe);
	assert_string_equal(c->ib.opensm_pid_file, "/run/opensm.pid");
	xenvm_config_free(c);
	c = load_ok(write_yaml("ib: {guid_prefix: 1}\n"));
	assert_int_equal(c->ib.guid_prefix, 1);
	xenvm_config_free(c);

	/* anchors and aliases are plain YAML and work */
	c = load_ok(write_yaml("mounts: &m [/a, /b]\nib: {devices: *m}\n"));
	assert_int_equal(c->ib.n_devices, 2);
	assert_string_equal(c->ib.devices[1], "/b");
	xenvm_config_free(c);
}

static void test_missing_file(void **state)
{
	struct xenvm_config *c = NULL;
	struct xerr err = {""};
	char path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/does-not-exist.yaml", tmpdir);
	errno = 0;
	assert_int_equal(xenvm_config_load(path, false, &c, &err), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(c);
	{
		char want[PATH_MAX + 64];

		snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
		assert_string_equal(err.msg, want);
	}
	/* missing_ok: the defaults, named after the file that was looked for */
	assert_int_equal(xenvm_config_load(path, true, &c, &err), 0);
	assert_non_null(c);
	assert_string_equal(c->path, path);
	assert_defaults(c);
	xenvm_config_free(c);
}

static void test_not_a_file(void **state)
{
	struct xenvm_config *c = NULL;
	struct xerr err = {""};
	char want[PATH_MAX + 64];

	(void)state;
	/* a directory is not ENOENT, so missing_ok does not hide it */
	assert_int_equal(xenvm_config_load(tmpdir, true, &c, &err), -1);
	assert_int_equal(errno, EINVAL);
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	assert_string_equal(err.msg, want);
	assert_null(c);
}

static void test_bad_args(void **state)
{
	struct xerr err = {""};

	(void)state;
	errno = 0;
	assert_int_equal(xenvm_config_load("/x", false, NULL, &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err.msg, "xenvm_config_load: invalid argument");
	/* a NULL err is allowed */
	assert_int_equal(xenvm_config_load(write_yaml("driver: kvm\n"), false,
	                                   &(struct xenvm_config *){NULL}, NULL),
	                 -1);
	assert_int_equal(errno, EINVAL);
}

static void test_reader_error(void **state)
{
	static const char bad_utf8[] = "driver: x\xff\n";

	(void)state;
	load_fails(write_file("xenvm.yaml", bad_utf8, sizeof(bad_utf8) - 1),
	           ": byte 9: invalid leading UTF-8 octet (#FF)");
}

static void test_nul_key(void **state)
{
	(void)state;
	load_fails(write_yaml("\"dri\\0ver\": xen\n"), ":1:1: key 'dri' contains a NUL byte");
}

static void test_example_file(void **state)
{
	struct xenvm_config *c = load_ok(XENVM_SRCDIR "/etc/xenvm.yaml.example");

	(void)state;
	/* the example spells out the defaults, plus the subnet VM jobs need and one user */
	assert_string_equal(c->network.subnet, "10.20.0.0/16");
	free(c->network.subnet);
	c->network.subnet = NULL;
	assert_int_equal(c->imagecast.n_allowed_users, 1);
	assert_string_equal(c->imagecast.allowed_users[0], "slurm");
	free(c->imagecast.allowed_users[0]);
	free(c->imagecast.allowed_users);
	c->imagecast.allowed_users = NULL;
	c->imagecast.n_allowed_users = 0;
	assert_defaults(c);
	xenvm_config_free(c);
}

/* ------------------------------------------------------------------ one test per message */

struct err_case {
	const char *name;
	const char *yaml;
	const char *want; /* the message after the file name */
};

static const struct err_case err_cases[] = {
    {"syntax: scanner", "driver: [xen\n",
     ":2:1: did not find expected ',' or ']' (while parsing a flow sequence at 1:9)"},
    {"syntax: block mapping", "driver: xen\n  state_dir: /x\n",
     ":2:12: mapping values are not allowed in this context"},
    {"syntax: tab", "cache:\n\tdir: /x\n",
     ":2:1: found character that cannot start any token (while scanning for the next token "
     "at 2:1)"},
    {"syntax: undefined alias", "driver: *nope\n", ":1:9: found undefined alias"},
    {"two documents", "driver: xen\n---\ndriver: qemu\n",
     ":3:1: only one YAML document is allowed"},
    {"root is a list", "- driver\n", ":1:1: expected a mapping, found a list"},
    {"root is a scalar", "hello\n", ":1:1: expected a mapping, found 'hello'"},
    {"key is a list", "[a, b]: 1\n", ":1:1: mapping keys must be strings, found a list"},
    {"unknown key, suggestion", "drvier: xen\n",
     ":1:1: drvier: unknown key (did you mean 'driver'? valid keys: driver, state_dir, "
     "catalog, log_level, cache, imagecast, network, ib, munge, timeouts, vm, mounts, "
     "image_store, shares)"},
    {"unknown key, nested", "cache:\n  zzzzzz: 1\n",
     ":2:3: cache.zzzzzz: unknown key (valid keys: dir, max_size)"},
    {"unknown key, control characters", "\"a\\tb\": 1\n",
     ":1:1: a?b: unknown key (valid keys: driver, state_dir, catalog, log_level, cache, "
     "imagecast, network, ib, munge, timeouts, vm, mounts, image_store, shares)"},
    {"duplicate key", "driver: xen\nstate_dir: /a\ndriver: qemu\n",
     ":3:1: driver: duplicate key (first defined at 1:1)"},
    {"duplicate key, nested and third", "vm:\n  accel: kvm\n  accel: tcg\n  accel: auto\n",
     ":3:3: vm.accel: duplicate key (first defined at 2:3)"},
    {"enum", "driver: kvm\n", ":1:9: driver: 'kvm' is not one of qemu, xen"},
    {"vm.cgroup enum", "vm: {cgroup: yes}\n",
     ":1:14: vm.cgroup: 'yes' is not one of auto, required, off"},
    {"enum is a list", "driver: [xen]\n", ":1:9: driver: expected a string, found a list"},
    {"log_level", "log_level: loud\n",
     ":1:12: log_level: 'loud' is not one of error, warn, info, verbose, debug"},
    {"shape", "imagecast:\n  shape: chain\n",
     ":2:10: imagecast.shape: 'chain' is not one of pipelined-binomial, pipelined-chain, "
     "binomial, two-tree"},
    {"fallback", "ib: {fallback: soft}\n",
     ":1:16: ib.fallback: 'soft' is not one of rxe, none, tcp"},
    {"accel", "vm: {accel: xen}\n", ":1:13: vm.accel: 'xen' is not one of auto, kvm, tcg"},
    {"relative path", "state_dir: run/xenvm\n",
     ":1:12: state_dir: 'run/xenvm' is not an absolute path"},
    {"empty path", "catalog: ''\n", ":1:10: catalog: must not be empty"},
    {"relative cache dir", "cache: {dir: cache}\n",
     ":1:14: cache.dir: 'cache' is not an absolute path"},
    {"relative store", "imagecast: {store: srv}\n",
     ":1:20: imagecast.store: 'srv' is not an absolute path"},
    {"relative socket", "imagecast: {socket: s.sock}\n",
     ":1:21: imagecast.socket: 's.sock' is not an absolute path"},
    {"relative munge socket", "munge:\n  socket: munge.socket.2\n",
     ":2:11: munge.socket: 'munge.socket.2' is not an absolute path"},
    {"relative partitions_file", "ib: {partitions_file: p.conf}\n",
     ":1:23: ib.partitions_file: 'p.conf' is not an absolute path"},
    {"string is a mapping", "state_dir: {a: 1}\n",
     ":1:12: state_dir: expected a string, found a mapping"},
    {"NUL in a value", "state_dir: \"/a\\0b\"\n", ":1:12: state_dir: '/a' contains a NUL byte"},
    {"section is a scalar", "cache: 5\n", ":1:8: cache: expected a mapping, found '5'"},
    {"section is a list", "timeouts: [1]\n", ":1:11: timeouts: expected a mapping, found a list"},
    {"not a size", "cache:\n  max_size: 9Q\n",
     ":2:13: cache.max_size: '9Q' is not a size (use e.g. 512M, 2G)"},
    {"size too large", "cache: {max_size: 99999999P}\n",
     ":1:19: cache.max_size: '99999999P' is too large"},
    {"size too small", "cache: {max_size: 512K}\n",
     ":1:19: cache.max_size: '512K' is too small (at least 1M)"},
    {"chunk_size above range", "imagecast: {chunk_size: 128M}\n",
     ":1:25: imagecast.chunk_size: '128M' is out of range (64K..64M)"},
    {"chunk_size below range", "imagecast: {chunk_size: 4K}\n",
     ":1:25: imagecast.chunk_size: '4K' is out of range (64K..64M)"},
    {"size is a list", "vm: {default_memory: [1G]}\n",
     ":1:22: vm.default_memory: expected a size, found a list"},
    {"default_memory too small", "vm: {default_memory: 1000}\n",
     ":1:22: vm.default_memory: '1000' is too small (at least 1M)"},
    {"not an integer", "imagecast: {port: abc}\n",
     ":1:19: imagecast.port: 'abc' is not an integer"},
    {"negative integer", "imagecast: {port: -1}\n",
     ":1:19: imagecast.port: '-1' is not an integer"},
    {"hex without YDOC_HEX", "imagecast: {port: 0x10}\n",
     ":1:19: imagecast.port: '0x10' is not an integer"},
    {"port above range", "imagecast: {port: 70000}\n",
     ":1:19: imagecast.port: '70000' is out of range (1..65535)"},
    {"port zero", "imagecast: {port: 0}\n",
     ":1:19: imagecast.port: '0' is out of range (1..65535)"},
    {"port overflows", "imagecast: {port: 99999999999999999999999}\n",
     ":1:19: imagecast.port: '99999999999999999999999' is out of range (1..65535)"},
    {"pin not a boolean", "network: {pin: maybe}\n",
     ":1:16: network.pin: 'maybe' is not a boolean (use true or false)"},
    {"allow not a list", "network: {allow: 10.0.0.5}\n",
     ":1:18: network.allow: expected a list of strings, found '10.0.0.5' (write [a, b])"},
    {"allow bad address", "network:\n  allow: [10.0.0.5/32:tcp:2049, 10.0.0.300]\n",
     ":2:33: network.allow[1]: '10.0.0.300' is not an IPv4 address"},
    {"allow bad prefix", "network: {allow: [10.0.0.0/33]}\n",
     ":1:19: network.allow[0]: prefix '33' is not 0..32"},
    {"allow host bits", "network: {allow: [10.0.0.1/24]}\n",
     ":1:19: network.allow[0]: 10.0.0.1/24 has host bits set"},
    {"allow protocol", "network: {allow: ['10.0.0.1:icmp']}\n",
     ":1:19: network.allow[0]: protocol 'icmp' is not tcp, udp or any"},
    {"allow port", "network: {allow: ['10.0.0.1:tcp:70000']}\n",
     ":1:19: network.allow[0]: port '70000' is not 1..65535"},
    {"allow port without protocol", "network: {allow: ['10.0.0.1:any:53']}\n",
     ":1:19: network.allow[0]: a port needs tcp or udp"},
    {"shares relative", "shares: {allowed: [scratch]}\n",
     ":1:20: shares.allowed[0]: 'scratch' is not an absolute path"},
    {"shares unknown key", "shares: {allow: [/scratch]}\n",
     ":1:10: shares.allow: unknown key (valid keys: allowed)"},
    {"mtu below range", "network: {mtu: 10}\n",
     ":1:16: network.mtu: '10' is out of range (68..65535)"},
    {"vfs_per_device", "ib: {vfs_per_device: 256}\n",
     ":1:22: ib.vfs_per_device: '256' is out of range (0..255)"},
    {"pkey above range", "ib: {pkey: 0x8000}\n",
     ":1:12: ib.pkey: '0x8000' is out of range (0x0001..0x7fff)"},
    {"pkey zero", "ib: {pkey: 0}\n", ":1:12: ib.pkey: '0' is out of range (0x0001..0x7fff)"},
    {"pkey garbage", "ib: {pkey: 0xzz}\n",
     ":1:12: ib.pkey: '0xzz' is not an integer (decimal, or hexadecimal with 0x)"},
    {"pkey empty hex", "ib: {pkey: 0x}\n",
     ":1:12: ib.pkey: '0x' is not an integer (decimal, or hexadecimal with 0x)"},
    {"guid_prefix zero", "ib: {guid_prefix: 0}\n",
     ":1:19: ib.guid_prefix: '0' is out of range (0x0001..0xfffe)"},
    {"guid_prefix all ones", "ib: {guid_prefix: 0xffff}\n",
     ":1:19: ib.guid_prefix: '0xffff' is out of range (0x0001..0xfffe)"},
    {"relative opensm_pid_file", "ib: {opensm_pid_file: opensm.pid}\n",
     ":1:23: ib.opensm_pid_file: 'opensm.pid' is not an absolute path"},
    {"not a duration", "timeouts:\n  boot: 5x\n",
     ":2:9: timeouts.boot: '5x' is not a duration (use e.g. 90, 60s, 2m, 1h)"},
    {"duration zero", "timeouts: {ready: 0s}\n",
     ":1:19: timeouts.ready: '0s' is too small (at least 1s)"},
    {"duration too large", "timeouts: {fetch: 99999d}\n",
     ":1:19: timeouts.fetch: '99999d' is too large"},
    {"shutdown_grace zero", "timeouts: {shutdown_grace: 0}\n",
     ":1:28: timeouts.shutdown_grace: '0' is too small (at least 1s)"},
    {"list is a scalar", "mounts: /home\n",
     ":1:9: mounts: expected a list of strings, found '/home' (write [a, b])"},
    {"list is a mapping", "mounts: {a: 1}\n",
     ":1:9: mounts: expected a list of strings, found a mapping"},
    {"list item relative", "mounts: [/home, scratch]\n",
     ":1:17: mounts[1]: 'scratch' is not an absolute path"},
    {"list item mapping", "mounts:\n  - /home\n  - {a: 1}\n",
     ":3:5: mounts[1]: expected a string, found a mapping"},
    {"list item empty", "ib: {devices: [mlx5_0, '']}\n", ":1:24: ib.devices[1]: must not be empty"},
    {"list item null", "imagecast:\n  allowed_users:\n    -\n",
     ":3:6: imagecast.allowed_users[0]: must not be empty"},
    {"bridge name too long", "network: {bridge: abcdefghijklmnop}\n",
     ":1:19: network.bridge: 'abcdefghijklmnop' is not a network interface name (1-15 "
     "characters, no '/', ':' or spaces)"},
    {"interface with slash", "network: {interface: eth/0}\n",
     ":1:22: network.interface: 'eth/0' is not a network interface name (1-15 characters, "
     "no '/', ':' or spaces)"},
    {"bridge empty", "network: {bridge: ''}\n", ":1:19: network.bridge: must not be empty"},
    {"subnet without prefix", "network: {subnet: 10.0.0.0}\n",
     ":1:19: network.subnet: '10.0.0.0' is not a subnet in CIDR notation (e.g. 10.20.0.0/16)"},
    {"subnet prefix too long", "network: {subnet: 10.0.0.0/33}\n",
     ":1:19: network.subnet: '10.0.0.0/33' is not a subnet in CIDR notation (e.g. "
     "10.20.0.0/16)"},
    {"subnet bad address", "network: {subnet: 10.0.0/8}\n",
     ":1:19: network.subnet: '10.0.0/8' is not a subnet in CIDR notation (e.g. 10.20.0.0/16)"},
    {"gateway with prefix", "network: {gateway: 10.0.0.1/24}\n",
     ":1:20: network.gateway: '10.0.0.1/24' is not an IP address (e.g. 10.20.0.1)"},
    {"qemu_binary empty", "vm: {qemu_binary: \"\"}\n", ":1:19: vm.qemu_binary: must not be empty"},
    {"long value is cut",
     "driver: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
     ":1:9: driver: "
     "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "...' is not one of qemu, xen"},
};

static void run_err_case(void **state)
{
	const struct err_case *c = *state;

	load_fails(write_yaml(c->yaml), c->want);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_defaults),         cmocka_unit_test(test_empty_files),
	    cmocka_unit_test(test_full_file),        cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_pin_allow_shares), cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_not_a_file),       cmocka_unit_test(test_bad_args),
	    cmocka_unit_test(test_reader_error),     cmocka_unit_test(test_nul_key),
	    cmocka_unit_test(test_example_file),
	};
	size_t n_fixed = sizeof(fixed) / sizeof(fixed[0]);
	size_t n_err = sizeof(err_cases) / sizeof(err_cases[0]);
	struct CMUnitTest *tests = calloc(n_fixed + n_err, sizeof(*tests));
	int rc;

	if (!tests)
		return 1;
	memcpy(tests, fixed, sizeof(fixed));
	for (size_t i = 0; i < n_err; i++) {
		tests[n_fixed + i].name = err_cases[i].name;
		tests[n_fixed + i].test_func = run_err_case;
		tests[n_fixed + i].initial_state = (void *)&err_cases[i];
	}
	rc = _cmocka_run_group_tests("config", tests, n_fixed + n_err, group_setup, group_teardown);
	free(tests);
	return rc;
}
