/*
 * mpi-pingpong.c - MPI latency and bandwidth between ranks 0 and 1 (the shape of the ICS'06
 * paper's Fig. 7/8): for each message size, `iters` round trips of MPI_Send/MPI_Recv; prints
 *   lat <bytes> <one-way microseconds>      (half the mean round trip)
 *   bw  <bytes> <MB/s>                      (bytes each way / half the mean round trip)
 * and "pingpong ok" when every message arrived intact (a checksum of its contents).
 *
 * Usage: srun -N2 -n2 --mpi=pmi2 ./mpi-pingpong [ITERS [MAX_BYTES]]   (defaults 200, 1 MiB)
 * Build: mpicc -O2 -o mpi-pingpong mpi-pingpong.c
 * Exit status 0, or 1 when the run has fewer than 2 ranks or a message came back damaged.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The sum of buf's bytes: enough to see a message that was cut or not written at all. */
static unsigned long sum(const unsigned char *buf, size_t n)
{
	unsigned long s = 0;

	for (size_t i = 0; i < n; i++)
		s += buf[i];
	return s;
}

int main(int argc, char **argv)
{
	int rank, size, iters = argc > 1 ? atoi(argv[1]) : 200;
	long max = argc > 2 ? atol(argv[2]) : 1L << 20;
	unsigned char *buf;
	int bad = 0;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (size < 2 || iters < 1 || max < 1) {
		if (rank == 0)
			fprintf(stderr,
			        "mpi-pingpong: needs 2 ranks, ITERS >= 1, MAX_BYTES >= 1\n");
		MPI_Finalize();
		return 1;
	}
	buf = malloc((size_t)max);
	if (!buf)
		MPI_Abort(MPI_COMM_WORLD, 1);
	for (long n = 1; n <= max; n *= 4) {
		double t0, t;

		memset(buf, rank == 0 ? 0x5a : 0, (size_t)n);
		MPI_Barrier(MPI_COMM_WORLD);
		/* one warm-up round trip: connection set-up and registration are not latency */
		for (int i = -1; i < iters; i++) {
			if (i == 0)
				t0 = MPI_Wtime();
			if (rank == 0) {
				MPI_Send(buf, (int)n, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
				MPI_Recv(buf, (int)n, MPI_BYTE, 1, 0, MPI_COMM_WORLD,
				         MPI_STATUS_IGNORE);
			} else if (rank == 1) {
				MPI_Recv(buf, (int)n, MPI_BYTE, 0, 0, MPI_COMM_WORLD,
				         MPI_STATUS_IGNORE);
				MPI_Send(buf, (int)n, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
			}
		}
		t = (MPI_Wtime() - t0) / iters / 2;
		if (rank <= 1 && sum(buf, (size_t)n) != 0x5aul * (unsigned long)n)
			bad = 1;
		if (rank == 0) {
			printf("lat %ld %.1f\n", n, t * 1e6);
			printf("bw %ld %.2f\n", n, n / t / 1e6);
			fflush(stdout);
		}
	}
	MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	if (rank == 0)
		printf(bad ? "pingpong DAMAGED\n" : "pingpong ok\n");
	free(buf);
	MPI_Finalize();
	return bad;
}
