# guest/: the guest agent (static C binary) and the ttylinux-mpi image recipe.
#   make image       build build/images/ttylinux-mpi/{vmlinuz,initrd.zst} and build/images/images.yaml
#   make check-vm-agent   the agent + xenvm-exec on the host, no VM, under ASan
include lib/vm/module.mk

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

IMAGE_DIR := $(B)/images
.PHONY: image
image: $(IMAGE_DIR)/images.yaml
# Rebuilt when the agent or the recipe changes (a Debian package update needs `make -B image`).
$(IMAGE_DIR)/images.yaml: $(AGENT) guest/mkimage.sh guest/rootfs/init
	bash guest/mkimage.sh $(AGENT) $(IMAGE_DIR)

UNIT_TESTS += $(B)/tests/unit/test_vm_proto
$(B)/tests/unit/test_vm_proto: $(B)/tests/unit/test_vm_proto.o $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)
$(B)/tests/unit/test_vm_proto.o: CFLAGS += $(CMOCKA_CFLAGS)

# The qemu driver's KVM-or-TCG decision (lib/vm/accel.c).
UNIT_TESTS += $(B)/tests/unit/test_vm_accel
$(B)/tests/unit/test_vm_accel.o: CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/unit/test_vm_accel: $(B)/tests/unit/test_vm_accel.o $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBXENVM_LIBS)

# The agent and xenvm-exec on the host (no VM), both built with ASan+UBSan.
.PHONY: check-vm-agent
check-vm-agent:
	$(MAKE) --no-print-directory B=build/asan SANITIZE=1 build/asan/guest/xenvm-agent \
	  build/asan/spank-xenvm/xenvm-exec
	tests/vm/agent-host.sh build/asan/guest/xenvm-agent build/asan/spank-xenvm/xenvm-exec
CHECKS += check-vm-agent

# The VM suite: real QEMU/TCG boots of the image through the qemu driver.
VMCTL := $(B)/tests/vm/vmctl
$(VMCTL): $(B)/tests/vm/vmctl.o $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

.PHONY: check-vm
check-vm: $(VMCTL) $(XENVM_EXEC) image
	tests/vm/run.sh $(VMCTL) $(XENVM_EXEC) $(IMAGE_DIR)/ttylinux-mpi
CHECKS += check-vm

# Issue 3's VM figures (boot ratio, shutdown, exec round trip, relay throughput, idle memory, size).
.PHONY: bench-vm
bench-vm: $(VMCTL) $(XENVM_EXEC) image
	bench/vm-bench.sh $(VMCTL) $(XENVM_EXEC) $(IMAGE_DIR)/ttylinux-mpi
BENCHES += bench-vm
