# tests/oci/: container images imported as VM images (issue 16).
# check-oci-import: the import on the host (xenvm-imaged, xenvm image import as xvuser, no VM).
REQUIRE_PICK := $(B)/tests/oci/require_pick
$(REQUIRE_PICK): $(B)/tests/oci/require_pick.o $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBXENVM) $(LIBXENVM_LIBS)
.PHONY: check-oci-import
check-oci-import: $(XENVM_ADMIN) $(B)/imgstore/xenvm-imaged $(REQUIRE_PICK)
	tests/oci/run-import $(B)
CHECKS += check-oci-import
