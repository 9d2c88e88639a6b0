# Where the installed Slurm keeps its plugins, and which version it is.
# The job_submit plugin's plugin_version must equal the running slurmctld's version exactly
# (including the micro number) or slurmctld exits at start; so the build compares the headers
# it compiles against with the installed daemons and stops here, not in slurmctld, on a mismatch.
SLURM_HEADER_VERSION := $(shell sed -n 's/^\#define SLURM_VERSION_NUMBER \(0x[0-9a-fA-F]*\)/\1/p' \
                          /usr/include/slurm/slurm_version.h 2>/dev/null)
# "slurm-wlm 22.05.8" or "slurm 23.02.1" -> 22.05.8
SLURM_INSTALLED_VERSION := $(shell (slurmctld -V 2>/dev/null || sinfo -V 2>/dev/null) | awk '{print $$2}' | head -1)
SLURM_INSTALLED_NUMBER := $(shell echo '$(SLURM_INSTALLED_VERSION)' | \
                          awk -F. 'NF==3 {printf "0x%02x%02x%02x", $$1, $$2, $$3}')
SLURM_PLUGINDIR ?= $(or $(shell $(PKG_CONFIG) --variable=libdir slurm 2>/dev/null | sed 's,$$,/slurm,' | grep -v '^/slurm$$'),\
                        $(patsubst %/auth_munge.so,%,$(firstword $(wildcard /usr/lib/*/slurm-wlm/auth_munge.so /usr/lib/*/slurm/auth_munge.so /usr/lib64/slurm/auth_munge.so /usr/lib/slurm/auth_munge.so))),\
                        $(PREFIX)/lib/slurm)

.PHONY: slurm-version-check
slurm-version-check:
	@if [ -z "$(SLURM_HEADER_VERSION)" ]; then \
	  echo "error: /usr/include/slurm/slurm_version.h not found: install libslurm-dev (scripts/install-deps)" >&2; exit 1; fi
	@if [ -z "$(SLURM_INSTALLED_NUMBER)" ]; then \
	  echo "error: no installed slurmctld or sinfo to compare the Slurm headers with (scripts/install-deps)" >&2; exit 1; fi
	@if [ "$(SLURM_HEADER_VERSION)" != "$(SLURM_INSTALLED_NUMBER)" ]; then \
	  echo "error: Slurm headers are $(SLURM_HEADER_VERSION) but the installed Slurm is $(SLURM_INSTALLED_VERSION) ($(SLURM_INSTALLED_NUMBER))." >&2; \
	  echo "error: job_submit_vmimage.so must match slurmctld exactly or slurmctld refuses to start; install the matching libslurm-dev." >&2; \
	  exit 1; fi
