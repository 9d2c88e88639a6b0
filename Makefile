# slurm-xenvm top-level Makefile (non-recursive: every component adds itself in <dir>/module.mk).
#
#   make                 build every component into build/
#   make check           install missing dependencies, then run every test suite
#   make demo            install missing dependencies, then run the main job on a local cluster
#   make install         PREFIX=/usr/local DESTDIR=  SLURM_PLUGINDIR=<from the installed Slurm>
#   make asan            the ASan+UBSan build (build/asan/) the unit tests run under
#   make format          clang-format every C file in place (make check-format: only check)
#   make check-readmes   every directory's README.md lists the files it holds
#   make bench           every benchmark in bench/
#
# A component's module.mk appends to these lists:
#   BINS          programs installed to $(PREFIX)/bin or sbin (SBINS)
#   PLUGINS       Slurm plugins installed to SLURM_PLUGINDIR
#   UNIT_TESTS    cmocka test programs (built in the sanitizer variant, run by check-unit)
#   CHECKS        further phony check targets (integration suites), run in order by make check
#   MAN1 MAN5 MAN7 MAN8  man pages under doc/man
include mk/flags.mk
include mk/slurm.mk

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/xenvm
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc/xenvm
DOCDIR     ?= $(PREFIX)/share/doc/slurm-xenvm
INSTALL    ?= install

BINS       :=
SBINS      :=
LIBEXEC    :=
PLUGINS    :=
UNIT_TESTS :=
CHECKS     :=
BENCHES    :=
MAN1       :=
MAN5       :=
MAN7       :=
MAN8       :=

all:

# The components in layer order (mk/check-layers: lib <- {vm, xenib, imagecast} <- xen <- node <-
# the programs), so that a module.mk can use the variables of the layers below it.
LAYERED_MODULES := lib/module.mk vm/module.mk xenib/module.mk imagecast/module.mk imgstore/module.mk \
                   xen/module.mk \
                   node/module.mk exec/module.mk
include $(LAYERED_MODULES)
include $(filter-out $(LAYERED_MODULES),$(sort $(wildcard */module.mk)))
# Test suites keep their rules beside them (tests/cluster/, tests/imagecast/, ...).
include $(sort $(wildcard tests/*/module.mk))

.DEFAULT_GOAL := all
all: $(BINS) $(SBINS) $(LIBEXEC) $(PLUGINS)

# V=1 shows the full commands.
Q := $(if $(V),,@)
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- tests
# A suite that hangs fails after this many seconds instead of using up CI's time.
SUITE_TIMEOUT ?= 1800
.PHONY: deps check check-unit check-format check-readmes check-layers check-clang asan demo bench install format clean
deps:
	@scripts/install-deps

asan:
	$(MAKE) B=build/asan SANITIZE=1 $(patsubst $(B)/%,build/asan/%,$(UNIT_TESTS))

check-unit: asan
	@tests/run-unit $(patsubst $(B)/%,build/asan/%,$(UNIT_TESTS))

check: deps
	$(MAKE) check-format
	$(MAKE) check-readmes
	$(MAKE) check-layers
	$(MAKE) all
	$(MAKE) check-clang
	$(MAKE) check-unit
	@set -e; times=; for t in $(CHECKS); do s=$$(date +%s); \
	  timeout -k 30 $(SUITE_TIMEOUT) $(MAKE) --no-print-directory $$t || { rc=$$?; \
	    [ $$rc = 124 ] && echo "make check: $$t did not finish within $(SUITE_TIMEOUT) s" >&2; \
	    echo "make check: $$t failed (exit $$rc)" >&2; exit 1; }; \
	  times="$$times $$t=$$(($$(date +%s) - s))s"; done; \
	echo "make check: wall time per suite:$$times"
	@echo "make check: all suites passed"

# Includes only look down the floors (doc/ARCHITECTURE.md); no link papers over a cycle.
check-layers:
	@mk/check-layers

# The tree built by clang too, with warnings gcc does not have (code that can never run hid a
# bug gcc did not see: the Epilog's VF release after a return).
CLANG_WARN := -Wunreachable-code-aggressive -Wloop-analysis -Wconditional-uninitialized \
              -Wimplicit-fallthrough -Wassign-enum
check-clang:
	$(MAKE) B=build/clang CC=clang EXTRA_CFLAGS='$(CLANG_WARN)' all
	@echo "check-clang: ok"

demo: deps
	$(MAKE) all
	$(MAKE) image
	tests/cluster/demo

bench: all $(BENCHES)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# Every C file as .clang-format has it; tables that read better aligned by hand say
# "clang-format off".
check-format:
	@clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h') && echo "check-format: ok"

# Each directory's README.md names every file and subdirectory in it (mk/check-readmes).
README_DIRS := lib vm xen node exec xenib imagecast prolog epilog admin spank-xenvm \
               job_submit-vmimage guest tests bench mk etc doc
check-readmes:
	@mk/check-readmes $(README_DIRS)

clean:
	rm -rf build

# ---------------------------------------------------------------- install
install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) \
	  $(DESTDIR)$(SLURM_PLUGINDIR) $(DESTDIR)$(SYSCONFDIR) $(DESTDIR)$(DOCDIR)/examples \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	  $(DESTDIR)$(MANDIR)/man8
	$(if $(BINS),$(INSTALL) -m 755 $(BINS) $(DESTDIR)$(BINDIR)/)
	$(if $(SBINS),$(INSTALL) -m 755 $(SBINS) $(DESTDIR)$(SBINDIR)/)
	$(if $(LIBEXEC),$(INSTALL) -m 755 $(LIBEXEC) $(DESTDIR)$(LIBEXECDIR)/)
	$(if $(PLUGINS),$(INSTALL) -m 755 $(PLUGINS) $(DESTDIR)$(SLURM_PLUGINDIR)/)
	$(if $(MAN1),$(INSTALL) -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/)
	$(if $(MAN5),$(INSTALL) -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/)
	$(if $(MAN7),$(INSTALL) -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/)
	$(if $(MAN8),$(INSTALL) -m 644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/)
	$(INSTALL) -m 644 $(wildcard etc/*.example etc/*.service) $(DESTDIR)$(DOCDIR)/examples/
	@echo "installed; plugins in $(SLURM_PLUGINDIR); example configs in $(DOCDIR)/examples"
