# tests/mpi-slim: guest/mpich-slim.sh's libmpich.so.12 packs and unpacks every kind of derived
# datatype, 1 to 3 levels deep, exactly as Debian's does (tests/mpi-slim/run.sh; about a minute).
.PHONY: check-mpi-slim
check-mpi-slim:
	tests/mpi-slim/run.sh
CHECKS += check-mpi-slim
