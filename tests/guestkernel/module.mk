# tests/guestkernel: the guest kernel's required options (guest/kernel/required.txt, both ways)
# and its modules in a VM booted from the image: the VF driver and Soft-RoCE load from the root
# disk, a module the image lacks gives a clear error (tests/guestkernel/run.sh, one TCG boot).
# The config checked is always the project's kernel (built or found in its cache); the VM runs
# whichever kernel the image has (GUEST_KERNEL).
.PHONY: check-guest-kernel
check-guest-kernel: $(VMCTL) $(XENVM_EXEC) image
	tests/guestkernel/run.sh $(VMCTL) $(XENVM_EXEC) $(IMAGE_DIR)/ttylinux-mpi \
	  "$$(bash guest/kernel/build.sh | tail -n 1)"
CHECKS += check-guest-kernel
