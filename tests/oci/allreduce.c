/* allreduce.c — the MPI program of the test container image, compiled inside the image's own root
 * (tests/oci/build-images.sh), so a job that runs it proves the guest runs the container's MPICH
 * and not the host's or the project image's.
 *
 * Every rank contributes rank+1; rank 0 prints one line the tests match:
 *   allreduce: ranks N sum S expected E ok|WRONG
 * and the program exits 1 on a wrong sum, so a test cannot pass on a partial reduction. */
#include <mpi.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int rank = 0, size = 0;
	long mine, sum = 0, expected;
	char host[256] = "?";

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	gethostname(host, sizeof(host) - 1);
	mine = rank + 1;
	MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	expected = (long)size * (size + 1) / 2;
	printf("allreduce: rank %d of %d on %s\n", rank, size, host);
	fflush(stdout);
	MPI_Barrier(MPI_COMM_WORLD);
	if (rank == 0) {
		printf("allreduce: ranks %d sum %ld expected %ld %s\n", size, sum, expected,
		       sum == expected ? "ok" : "WRONG");
		fflush(stdout);
	}
	MPI_Finalize();
	return sum == expected ? 0 : 1;
}
