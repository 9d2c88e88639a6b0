/*
 * mpi-hello.c - each rank says where it runs: host, kernel, and the hypervisor underneath.
 *
 *   mpicc -O2 -o mpi-hello mpi-hello.c && srun --mpi=pmi2 ./mpi-hello [RESULT_FILE]
 *
 * With RESULT_FILE, rank 0 also writes the allreduce result and every rank's kernel there (in
 * the job's working directory, which the VM shares with the host).
 * Rank 0 also checks an allreduce over all ranks and prints "allreduce ok" or exits 1, so a
 * job that lost a rank or mixed up communicators fails rather than printing plausible lines.
 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

/* First line of a small file into buf, "" if it cannot be read. */
static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* "xen/PV", "QEMU/KVM or TCG", or "none" (bare metal or a hypervisor that does not say). */
static void hypervisor(char *buf, size_t len)
{
	char type[64], guest[64], vendor[64];

	read_line("/sys/hypervisor/type", type, sizeof(type));
	read_line("/sys/hypervisor/guest_type", guest, sizeof(guest));
	read_line("/sys/class/dmi/id/sys_vendor", vendor, sizeof(vendor));
	if (type[0])
		snprintf(buf, len, "%s%s%s", type, guest[0] ? "/" : "", guest);
	else if (vendor[0] && strcmp(vendor, "QEMU") == 0)
		snprintf(buf, len, "qemu");
	else
		snprintf(buf, len, "none");
}

int main(int argc, char **argv)
{
	char host[MPI_MAX_PROCESSOR_NAME], hv[160];
	struct utsname u;
	int rank, size, len, one = 1, sum = 0;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Get_processor_name(host, &len);
	uname(&u);
	hypervisor(hv, sizeof(hv));
	printf("rank %d of %d on %s: kernel %s, hypervisor %s, in a VM: %s\n", rank, size, host,
	       u.release, hv, strcmp(hv, "none") ? "yes" : "no");
	fflush(stdout);
	MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	if (rank == 0) {
		printf("allreduce %s: %d of %d ranks\n", sum == size ? "ok" : "FAILED", sum, size);
		fflush(stdout);
		if (argc > 1) {
			FILE *f = fopen(argv[1], "w");

			if (!f ||
			    fprintf(f, "ranks=%d sum=%d kernel=%s hypervisor=%s\n", size, sum,
			            u.release, hv) < 0 ||
			    fclose(f) != 0) {
				perror(argv[1]);
				sum = -1;
			}
		}
	}
	MPI_Finalize();
	return sum == size ? 0 : 1;
}
