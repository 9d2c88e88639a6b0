# tests/oci/: container images imported as VM images (issue 16).
# check-oci-fixture: the test images (build-images.sh, cached under /var/cache/slurm-xenvm/oci-test)
# and the test registry themselves.
.PHONY: check-oci-fixture
check-oci-fixture:
	tests/oci/run-fixture
CHECKS += check-oci-fixture
