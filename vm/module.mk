# vm/: the VM machinery shared by the node side, xenvm-exec, the xenvm command and the guest agent:
# the driver interface, the host-side VM handle both drivers embed, the qemu driver, the
# accelerator probe, kernel derivation, MACs, the agent protocol, the supervisor (vmd).
# Depends on lib/ only.
LIBXENVM_VM     := $(B)/vm/libxenvm_vm.a
LIBXENVM_VM_SRC := $(wildcard vm/*.c)
LIBXENVM_VM_OBJ := $(patsubst %.c,$(B)/%.o,$(LIBXENVM_VM_SRC))

$(LIBXENVM_VM): $(LIBXENVM_VM_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
# The default host-side helper for commands from the guest (xvm_spec.host_agent NULL).
$(B)/vm/vmhost.o: CFLAGS += -DXENVM_LIBEXECDIR='"$(LIBEXECDIR)"'

# The VM's interface name (vm/tapname.c): unique within Linux's 15 characters.
UNIT_TESTS += $(B)/tests/unit/test_vm_tapname
$(B)/tests/unit/test_vm_tapname.o: CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/unit/test_vm_tapname: $(B)/tests/unit/test_vm_tapname.o $(LIBXENVM_VM) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBXENVM_LIBS)
