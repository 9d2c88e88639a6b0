# tests/oci/: container images imported as VM images (issue 16).
# check-oci-fixture: the test images (build-images.sh, cached under /var/cache/slurm-xenvm/oci-test)
# and the test registry themselves.
.PHONY: check-oci-fixture
check-oci-fixture:
	tests/oci/run-fixture
CHECKS += check-oci-fixture
# check-oci-import: the import on the host (xenvm-imaged, xenvm image import as xvuser, no VM).
REQUIRE_PICK := $(B)/tests/oci/require_pick
$(REQUIRE_PICK): $(B)/tests/oci/require_pick.o $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBXENVM) $(LIBXENVM_LIBS)
.PHONY: check-oci-import
check-oci-import: $(XENVM_ADMIN) $(B)/imgstore/xenvm-imaged $(REQUIRE_PICK)
	tests/oci/run-import $(B)
CHECKS += check-oci-import
# check-oci-vm: whole VM images with their own kernel (admin/image_import_vm.c, guest/byo):
# a Debian image made by the byo recipe (build-vm-image.sh, cached), imported as xvuser, booted.
.PHONY: check-oci-vm
check-oci-vm: $(XENVM_ADMIN) $(B)/imgstore/xenvm-imaged $(BYO) $(XENVM_EXEC)
	tests/oci/run-vm $(B)
CHECKS += check-oci-vm
# check-oci-container: an imported busybox container booted by `xenvm boot` (QEMU/TCG) on the
# site's kernel and initrd (make image): /init's container root, injection, ENV/PATH/WORKDIR.
.PHONY: check-oci-container
check-oci-container: $(XENVM_ADMIN) $(B)/imgstore/xenvm-imaged $(IMAGE_DIR)/images.yaml $(XENVM_EXEC)
	tests/oci/run-container $(B)
CHECKS += check-oci-container
# check-oci-cluster: a container image imported from a registry in the test cluster runs as a
# 2-node VM job (sbatch, srun --mpi=pmi2 in the container), --vm-require, v2's delta.
.PHONY: check-oci-cluster
check-oci-cluster: all image
	tests/oci/run-cluster
CHECKS += check-oci-cluster
