# guest/: the guest agent (static C binary) and the ttylinux-mpi image recipe.
#   make image       build build/images/ttylinux-mpi/{vmlinuz,initrd.zst,rootdisk.sqfs} and
#                    build/images/images.yaml
#   make install-image IMAGE_STORE=DIR DESTDIR=   the image into a site's image store
#   make check-vm-agent   the agent + xenvm-exec on the host, no VM, under ASan

AGENT     := $(B)/guest/xenvm-agent
AGENT_SRC := $(wildcard guest/agent/*.c)
AGENT_OBJ := $(patsubst %.c,$(B)/%.o,$(AGENT_SRC))
# Static in the image: no loader or libc needed in the guest for the agent.  The sanitizer build
# (host tests only) links dynamically, as ASan requires.
ifeq ($(SANITIZE),1)
AGENT_LDSTATIC :=
else
AGENT_LDSTATIC := -static
endif

$(AGENT_OBJ): CFLAGS += -Iguest/agent

$(AGENT): $(AGENT_OBJ) $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_LDSTATIC) $(LDFLAGS) -o $@ $(AGENT_OBJ) $(LIBXENVM_VM) $(LIBXENVM)

LIBEXEC += $(AGENT)
MAN8    += doc/man/xenvm-agent.8 doc/man/xenvm-ibcheck.8
MAN7    += doc/man/ttylinux-mpi.7

# The guest's verbs readiness check (guest/ibcheck): dynamic, because libibverbs dlopen()s its
# providers; it goes on the image's root disk beside libibverbs.
IBCHECK := $(B)/guest/xenvm-ibcheck
$(IBCHECK): $(B)/guest/ibcheck/ibcheck.o $(B)/guest/ibcheck/ll_addr.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -libverbs
all: $(IBCHECK)

# Whether a RoCE GID's IPv6 address has finished duplicate address detection (ibcheck/ll_addr.c).
UNIT_TESTS += $(B)/tests/unit/test_guest_ll_addr
$(B)/tests/unit/test_guest_ll_addr.o: CFLAGS += $(CMOCKA_CFLAGS) -Iguest/ibcheck
$(B)/tests/unit/test_guest_ll_addr: $(B)/tests/unit/test_guest_ll_addr.o $(B)/guest/ibcheck/ll_addr.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

IMAGE_DIR := $(B)/images
.PHONY: image
image: $(IMAGE_DIR)/images.yaml
# The image's kernel: `xenvm` (guest/kernel/: our configuration of Debian's linux-source-6.1,
# built once per machine and cached by source version and config hash in XENVM_KERNEL_CACHE,
# default /var/cache/slurm-xenvm/kernel) or `debian` (linux-image-amd64 as installed).
# Ours is the default (every VM suite passes on it, guest/README.md "Our kernel"); every suite
# boots whatever $(IMAGE_DIR) holds, so `make check-vm GUEST_KERNEL=debian` runs one on Debian's.
GUEST_KERNEL ?= xenvm
export GUEST_KERNEL
GUEST_KERNEL_SRC := guest/kernel/build.sh guest/kernel/check-config.sh \
                    guest/kernel/xenvm-guest.config guest/kernel/required.txt
# Which kernel the image in $(IMAGE_DIR) has: rewritten only when it changes, so switching
# GUEST_KERNEL rebuilds the image and repeating it does not.
$(IMAGE_DIR)/.guest-kernel: FORCE
	@mkdir -p $(dir $@)
	@echo $(GUEST_KERNEL) | cmp -s - $@ || echo $(GUEST_KERNEL) > $@
.PHONY: FORCE
FORCE:
# Rebuilt when the agent, the recipe or the kernel choice changes (a Debian package update needs
# `make -B image`; the kernel's own build is keyed by its inputs, guest/kernel/build.sh).
# The guest's srun/sbatch/squeue... shim is xenvm-exec, static (spank-xenvm/exec.mk).
GUEST_SHIM := $(XENVM_EXEC_STATIC)
$(IMAGE_DIR)/images.yaml: $(AGENT) $(GUEST_SHIM) $(XENVM_EXEC) $(IBCHECK) guest/mkimage.sh guest/mpich-slim.sh guest/rootfs/init \
                          $(GUEST_KERNEL_SRC) $(IMAGE_DIR)/.guest-kernel
	bash guest/mkimage.sh $(AGENT) $(IMAGE_DIR) $(GUEST_SHIM) $(IBCHECK) $(XENVM_EXEC)

# Only the guest kernel, built or found in its cache (prints the cache directory).
.PHONY: guest-kernel
guest-kernel:
	bash guest/kernel/build.sh

# The image into a site's image store (xenvm.yaml's imagecast.store): its files under
# STORE/ttylinux-mpi/ and its catalog entry as STORE/ttylinux-mpi.images.yaml (paths relative to
# that file, as images.yaml(5) resolves them), for the admin to merge into the catalog.
IMAGE_STORE ?= /srv/xenvm/images
IMAGE_FILES := vmlinuz initrd.zst rootdisk.sqfs
.PHONY: install-image
install-image: image
	$(INSTALL) -d $(DESTDIR)$(IMAGE_STORE)/ttylinux-mpi
	$(INSTALL) -m 644 $(addprefix $(IMAGE_DIR)/ttylinux-mpi/,$(IMAGE_FILES)) \
	  $(DESTDIR)$(IMAGE_STORE)/ttylinux-mpi/
	$(INSTALL) -m 644 $(IMAGE_DIR)/images.yaml $(DESTDIR)$(IMAGE_STORE)/ttylinux-mpi.images.yaml
	@echo "installed ttylinux-mpi in $(IMAGE_STORE); merge ttylinux-mpi.images.yaml into the catalog"

UNIT_TESTS += $(B)/tests/unit/test_vm_proto
$(B)/tests/unit/test_vm_proto: $(B)/tests/unit/test_vm_proto.o $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)
$(B)/tests/unit/test_vm_proto.o: CFLAGS += $(CMOCKA_CFLAGS)

# The guest NIC's MAC, the same rule for both drivers (vm/mac.c).
UNIT_TESTS += $(B)/tests/unit/test_vm_mac
$(B)/tests/unit/test_vm_mac.o: CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/unit/test_vm_mac: $(B)/tests/unit/test_vm_mac.o $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

# The vmlinux the drivers derive from a bzImage (vm/kernel.c).
UNIT_TESTS += $(B)/tests/unit/test_vm_kernel
$(B)/tests/unit/test_vm_kernel.o: CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/unit/test_vm_kernel: $(B)/tests/unit/test_vm_kernel.o $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBXENVM_LIBS)

# The qemu driver's KVM-or-TCG decision (vm/accel.c).
UNIT_TESTS += $(B)/tests/unit/test_vm_accel
$(B)/tests/unit/test_vm_accel.o: CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/unit/test_vm_accel: $(B)/tests/unit/test_vm_accel.o $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBXENVM_LIBS)

# The agent and xenvm-exec on the host (no VM), and vmd with the agent in place of a VM
# (tests/vm/vmdhost.c: commands from the guest), all built with ASan+UBSan in $(B)/asan.
VMDHOST := $(B)/tests/vm/vmdhost
$(VMDHOST): $(B)/tests/vm/vmdhost.o $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBXENVM_LIBS)

.PHONY: check-vm-agent
check-vm-agent:
	$(MAKE) --no-print-directory B=$(B)/asan SANITIZE=1 $(B)/asan/guest/xenvm-agent \
	  $(B)/asan/exec/xenvm-exec $(B)/asan/tests/vm/vmdhost
	tests/vm/agent-host.sh $(B)/asan/guest/xenvm-agent $(B)/asan/exec/xenvm-exec \
	  $(B)/asan/tests/vm/vmdhost
CHECKS += check-vm-agent

# The VM suite: real QEMU/TCG boots of the image through the qemu driver.
VMCTL := $(B)/tests/vm/vmctl
$(VMCTL): $(B)/tests/vm/vmctl.o $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBXENVM_LIBS)

.PHONY: check-vm
check-vm: $(VMCTL) $(XENVM_EXEC) $(AGENT) image
	tests/vm/run.sh $(VMCTL) $(XENVM_EXEC) $(IMAGE_DIR)/ttylinux-mpi $(AGENT)
CHECKS += check-vm

# The guest's verbs readiness: Soft-RoCE brought up and reported, and the clear failure when it
# was requested but not brought up (tests/vm/verbs.sh, two TCG boots).
.PHONY: check-vm-verbs
check-vm-verbs: $(VMCTL) $(XENVM_EXEC) $(AGENT) $(IBCHECK) image
	tests/vm/verbs.sh $(VMCTL) $(XENVM_EXEC) $(IMAGE_DIR)/ttylinux-mpi $(AGENT) \
	  $(IBCHECK)
CHECKS += check-vm-verbs

# Issues 3 and 17's VM figures (boot ratio, shutdown, exec round trip, relay throughput, idle
# memory, size) for the image with each kernel, and the paper's Table 3 beside them, in one run.
# Both images are built apart from $(IMAGE_DIR) (the one the suites use is left as it is).
BENCH_IMAGES := $(B)/bench-images
BENCH_REPS ?= 3
$(BENCH_IMAGES)/%/images.yaml: $(AGENT) $(GUEST_SHIM) $(XENVM_EXEC) $(IBCHECK) $(PMIPROGRESS) guest/mkimage.sh guest/mpich-slim.sh \
                               guest/rootfs/init $(GUEST_KERNEL_SRC)
	GUEST_KERNEL=$* XVG_PMIPROGRESS=$(abspath $(PMIPROGRESS)) \
	  bash guest/mkimage.sh $(AGENT) $(BENCH_IMAGES)/$* $(GUEST_SHIM) $(IBCHECK) $(XENVM_EXEC)
.PHONY: bench-vm
bench-vm: $(VMCTL) $(XENVM_EXEC) $(BENCH_IMAGES)/xenvm/images.yaml $(BENCH_IMAGES)/debian/images.yaml
	bench/vm-bench.sh $(VMCTL) $(XENVM_EXEC) $(BENCH_REPS) \
	  xenvm=$(BENCH_IMAGES)/xenvm/ttylinux-mpi debian=$(BENCH_IMAGES)/debian/ttylinux-mpi
BENCHES += bench-vm

# The guest's PMI progress preload (guest/pmiprogress): MPICH 4.0.2's finalize hangs when a rank
# waits in the PMI barrier while a peer still needs its UCX progress.  /etc/ld.so.preload in the
# image loads it into every dynamic program; it only uses UCX's headers, not its library.
PMIPROGRESS := $(B)/guest/libxenvm-pmiprogress.so
$(B)/guest/pmiprogress/pmi_progress.o: CFLAGS += -fPIC
$(PMIPROGRESS): $(B)/guest/pmiprogress/pmi_progress.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libxenvm-pmiprogress.so -o $@ $<
all: $(PMIPROGRESS)
$(IMAGE_DIR)/images.yaml: $(PMIPROGRESS)
$(IMAGE_DIR)/images.yaml: export XVG_PMIPROGRESS := $(abspath $(PMIPROGRESS))

# The seccomp filter that keeps set-id bits and device nodes from QEMU's shares (vm/nosuid.c).
UNIT_TESTS += $(B)/tests/unit/test_vm_nosuid
$(B)/tests/unit/test_vm_nosuid.o: CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/unit/test_vm_nosuid: $(B)/tests/unit/test_vm_nosuid.o $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBXENVM_LIBS)

# QEMU's argv and the guest kernel's command line (vm/qemu_argv.c, vm/guest_cmdline.c), and what
# the qemu driver's boot refuses before it forks.
UNIT_TESTS += $(B)/tests/unit/test_vm_qemu_argv
$(B)/tests/unit/test_vm_qemu_argv.o: CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/unit/test_vm_qemu_argv: $(B)/tests/unit/test_vm_qemu_argv.o $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBXENVM_LIBS)

# The package a whole VM image with its own kernel adds (guest/byo/README.md, xenvm-byo(7)):
# the static agent and xenvm-init as usr/sbin/, a tarball to unpack at the image's root.  Fixed
# owner, order and times: the same files give the same tarball.
BYO := $(B)/byo/xenvm-byo.tar.gz
$(BYO): $(AGENT) guest/byo/xenvm-init
	@rm -rf $(B)/byo/root && mkdir -p $(B)/byo/root/usr/sbin
	install -m 755 $(AGENT) $(B)/byo/root/usr/sbin/xenvm-agent
	strip $(B)/byo/root/usr/sbin/xenvm-agent
	install -m 755 guest/byo/xenvm-init $(B)/byo/root/usr/sbin/xenvm-init
	tar -C $(B)/byo/root --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 \
	  -cf - usr | gzip -9n > $@.tmp && mv $@.tmp $@
.PHONY: byo
byo: $(BYO)
all: $(BYO)
MAN7 += doc/man/xenvm-byo.7

# A container image's ENV/WORKDIR merged into a task's (agent/container_env.c).
UNIT_TESTS += $(B)/tests/unit/test_guest_container_env
$(B)/tests/unit/test_guest_container_env.o: CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/unit/test_guest_container_env: $(B)/tests/unit/test_guest_container_env.o \
  $(B)/guest/agent/container_env.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)
