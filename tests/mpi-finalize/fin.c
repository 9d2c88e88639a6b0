/*
 * fin.c - the shape of program that hangs MPICH 4.0.2's UCX finalize: ranks reach
 * MPI_Finalize at different times.  Usage: fin LATE_RANK DELAY_MS
 * Exits 0 when the allreduce saw every rank (and, under the test's timeout, when finalize ends).
 */
#include <mpi.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int rank, size, one = 1, sum = 0;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	if (argc > 2 && rank == atoi(argv[1]))
		usleep((useconds_t)atoi(argv[2]) * 1000);
	MPI_Finalize();
	return sum == size ? 0 : 1;
}
