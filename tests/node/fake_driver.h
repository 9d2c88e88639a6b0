/*
 * fake_driver.h - a VM driver (vm/driver.h) that starts nothing and fails where a test tells it.
 *
 * Its VMs are entries in a table: boot adds one (alive) and writes console.log in the spec's
 * state directory as a real driver would; attach finds an alive VM by its state directory while
 * that directory exists; list_job finds them by job id (by name, as after a crash);
 * shutdown, destroy and kill_info end them.  fake_fail() makes one operation fail with an errno
 * until fake_reset().
 */
#ifndef XENVM_TESTS_FAKE_DRIVER_H
#define XENVM_TESTS_FAKE_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "vm/driver.h"

enum fake_op {
	FAKE_PROBE,
	FAKE_BOOT,
	FAKE_WAIT_READY,
	FAKE_SHUTDOWN,
	FAKE_DESTROY,
	FAKE_ATTACH,
	FAKE_LIST,
	FAKE_KILL,
	FAKE_N_OPS
};

#define FAKE_MAX_VMS 8

/* What a booted VM was given (copied from the spec). */
struct fake_vm {
	bool alive;
	uint32_t job;
	char name[64]; /* xenvm-job<job>-<spec name> */
	char state_dir[1024];
	char pci_bdf[16];
	char cmdline[4096];
	char ip_cidr[40];
	uint64_t mem_bytes;
	uint32_t vcpus;
	size_t n_shares;
};

extern const struct xvm_driver fake_driver;

/* Forget every VM and failure, zero the call counts. */
void fake_reset(void);
/* Make `op` fail with errno `err` (0: succeed again). */
void fake_fail(enum fake_op op, int err);
/* How many times `op` was called since fake_reset(). */
unsigned fake_calls(enum fake_op op);
/* How many VMs of job `job` are alive. */
unsigned fake_alive(uint32_t job);
/* The last VM booted for job `job` (alive or not), or NULL. */
const struct fake_vm *fake_vm_of(uint32_t job);

#endif
