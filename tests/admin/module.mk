# tests/admin/: the `xenvm` admin command end to end (check-admin), and the unit test of the qemu
# driver's KVM-or-TCG decision (its rule lives here because lib/vm/module.mk is another
# component's; it belongs beside test_vm_proto's when that file is next edited).
UNIT_TESTS += $(B)/tests/unit/test_vm_accel
$(B)/tests/unit/test_vm_accel.o: CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/unit/test_vm_accel: $(B)/tests/unit/test_vm_accel.o $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBXENVM_LIBS)

# Real QEMU/TCG boots of ttylinux-mpi through `xenvm boot`, then list/exec/status/destroy and bad
# input.  Root (taps, state under a private directory); bridge xvabr0, never xvgbr0 (tests/vm).
.PHONY: check-admin
CHECKS += check-admin
check-admin: $(XENVM_ADMIN) $(XENVM_EXEC) image
	tests/admin/run.sh $(XENVM_ADMIN) $(XENVM_EXEC) $(IMAGE_DIR)
