# tests/mpi-finalize: the guest's PMI progress preload against MPICH 4.0.2's finalize hang, on the
# host with the image's MPICH and UCX (tests/mpi-finalize/run.sh; about a minute).
.PHONY: check-mpi-finalize
check-mpi-finalize: $(PMIPROGRESS)
	tests/mpi-finalize/run.sh $(PMIPROGRESS)
CHECKS += check-mpi-finalize
