# tests/admin/: the `xenvm` admin command end to end (check-admin).

# Real QEMU/TCG boots of ttylinux-mpi through `xenvm boot`, then list/exec/status/destroy and bad
# input.  Root (taps, state under a private directory); bridge xvabr0, never xvgbr0 (tests/vm).
.PHONY: check-admin
CHECKS += check-admin
check-admin: $(XENVM_ADMIN) $(XENVM_EXEC) image
	tests/admin/run.sh $(XENVM_ADMIN) $(XENVM_EXEC) $(IMAGE_DIR)
