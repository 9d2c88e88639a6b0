# tests/ociimport/: container images imported as VM images (issue 16).
# check-oci-import: the import on the host (xenvm-imaged, xenvm image import as xvuser, no VM).
REQUIRE_PICK := $(B)/tests/ociimport/require_pick
$(REQUIRE_PICK): $(B)/tests/ociimport/require_pick.o $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBXENVM) $(LIBXENVM_LIBS)
.PHONY: check-oci-import
check-oci-import: $(XENVM_ADMIN) $(B)/imgstore/xenvm-imaged $(REQUIRE_PICK)
	tests/ociimport/run $(B)
CHECKS += check-oci-import
# check-oci-vm: an imported busybox container booted by `xenvm boot` (QEMU/TCG) on the site's
# kernel and initrd (make image): /init's container root, injection, ENV/PATH/WORKDIR.
.PHONY: check-oci-vm
check-oci-vm: $(XENVM_ADMIN) $(B)/imgstore/xenvm-imaged $(IMAGE_DIR)/images.yaml $(XENVM_EXEC)
	tests/ociimport/run-vm $(B)
CHECKS += check-oci-vm
