# tests/fuzz/: libFuzzer targets for the parsers on trust boundaries (tests/fuzz/README.md).
#
#   make fuzz FUZZ_SECONDS=60   each target for that long, growing $(B)/fuzz/corpus/<target>
#                               (FUZZ_TARGETS=fuzz_request: only that one)
#   make check-fuzz             each target for a fixed number of runs from its seeds (-seed=1)
#
# Each target is its harness and exactly the project sources it parses with, built by clang with
# libFuzzer, ASan and UBSan (not the project's libraries: they are built by $(CC) without
# coverage, and would pull in more than a parser needs).
FUZZ_CC      ?= clang
FUZZ_DIR     := $(B)/fuzz
FUZZ_TARGETS := fuzz_vm_proto fuzz_imagecast_wire fuzz_request fuzz_qemu_argv
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -fno-omit-frame-pointer $(WARN) -D_GNU_SOURCE -I. \
                $(CRYPTO_CFLAGS) -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined

FUZZ_SRC_fuzz_vm_proto       := vm/proto.c lib/log.c
FUZZ_SRC_fuzz_imagecast_wire := imagecast/proto.c imagecast/manifest.c imagecast/spec.c \
                                imagecast/hosts.c imagecast/tree.c imagecast/sha.c lib/imageref.c lib/error.c \
                                lib/blob.c lib/small_file.c
FUZZ_LIBS_fuzz_imagecast_wire := $(CRYPTO_LIBS) $(SLURM_LIBS)
FUZZ_SRC_fuzz_request        := lib/request.c lib/require.c lib/imageref.c lib/units.c lib/error.c
FUZZ_SRC_fuzz_qemu_argv      := vm/qemu_argv.c vm/guest_cmdline.c vm/spec_check.c vm/qemu_pci.c \
                                lib/error.c

# Runs per target in check-fuzz: about 15-20 s each on the 2-core CI machine.
FUZZ_RUNS_fuzz_vm_proto       ?= 1000000
FUZZ_RUNS_fuzz_imagecast_wire ?= 85000
FUZZ_RUNS_fuzz_request        ?= 400000
FUZZ_RUNS_fuzz_qemu_argv      ?= 150000
FUZZ_SECONDS ?= 60

FUZZ_BINS := $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))

# A missing clang or libFuzzer runtime fails the build (and so check-fuzz) with what to install:
# a test that cannot run has failed, it is not skipped.
FUZZ_NONE = echo "fuzz: 0 passed, $(words $(FUZZ_TARGETS)) failed"; exit 1
$(FUZZ_DIR)/toolchain.ok:
	@mkdir -p $(dir $@)
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found;" \
	  "install clang and libclang-rt-14-dev (scripts/deps.txt)" >&2; $(FUZZ_NONE); }
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' | \
	  $(FUZZ_CC) -fsanitize=fuzzer,address,undefined -x c -o $@.probe - || { \
	  echo "fuzz: $(FUZZ_CC) cannot link libFuzzer with ASan and UBSan;" \
	  "install libclang-rt-14-dev (scripts/deps.txt)" >&2; $(FUZZ_NONE); }
	@rm -f $@.probe && touch $@

$(FUZZ_DIR)/obj/%.o: %.c | $(FUZZ_DIR)/toolchain.ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

define FUZZ_LINK
$(FUZZ_DIR)/$(1): $(FUZZ_DIR)/obj/tests/fuzz/$(1).o $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_SRC_$(1)))
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -o $$@ $$^ $(FUZZ_LIBS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_LINK,$(t))))

.PHONY: fuzz-build fuzz check-fuzz
fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@tests/fuzz/fuzz.sh run $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

CHECKS += check-fuzz
check-fuzz: $(FUZZ_BINS)
	@tests/fuzz/fuzz.sh check $(FUZZ_DIR) \
	  $(foreach t,$(FUZZ_TARGETS),$(t)=$(FUZZ_RUNS_$(t)))
