/* pack.c - MPI_Pack/MPI_Unpack of derived datatypes nested 1 to 3 levels deep, every kind yaksa
 * has a kernel for (contiguous, hvector, hindexed, hindexed_block, resized) at every level, over
 * char, int and double, block lengths 1 to 9 (yaksa's kernels are per block length 1-8 and
 * generic).  Prints one line per type: its description, the packed size, a hash of the packed
 * bytes and one of the buffer the packed bytes were unpacked into.  tests/mpi-slim/run.sh runs it
 * on Debian's libmpich and on guest/mpich-slim.sh's copy and compares the lines.  The first line
 * says which libmpich.so.12 the process mapped. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KINDS = 5, BUF = 1 << 22 };
static const char *const kind_name[KINDS] = {"contig", "hvector", "hindexed", "blkhindx",
                                             "resized"};

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* One level of kind k around child; blk is the block length where the kind has one. */
static MPI_Datatype wrap(int k, MPI_Datatype child, int blk)
{
	MPI_Datatype t;
	MPI_Aint lb, ext;
	MPI_Type_get_extent(child, &lb, &ext);
	switch (k) {
	case 0:
		MPI_Type_contiguous(2, child, &t);
		break;
	case 1:
		MPI_Type_create_hvector(3, blk, (blk + 1) * ext, child, &t);
		break;
	case 2: {
		int bl[3] = {blk, 1, blk + 1};
		MPI_Aint d[3] = {0, (blk + 2) * ext, (2 * blk + 5) * ext};
		MPI_Type_create_hindexed(3, bl, d, child, &t);
		break;
	}
	case 3: {
		MPI_Aint d[3] = {(blk + 1) * ext, 0, (2 * blk + 3) * ext};
		MPI_Type_create_hindexed_block(3, blk, d, child, &t);
		break;
	}
	default:
		MPI_Type_create_resized(child, 0, ext + 8, &t);
		break;
	}
	return t;
}

static void run(const int *kinds, int depth, MPI_Datatype base, const char *bname, int blk,
                unsigned char *in, unsigned char *packed, unsigned char *out)
{
	MPI_Datatype t = base, made[3];
	for (int l = depth - 1; l >= 0; l--) {
		t = wrap(kinds[l], t, blk);
		made[l] = t;
	}
	MPI_Type_commit(&t);
	int size, pos = 0, upos = 0, count = 2;
	MPI_Pack_size(count, t, MPI_COMM_SELF, &size);
	if (size > BUF) {
		printf("type too large\n");
		exit(2);
	}
	memset(packed, 0, BUF);
	memset(out, 0, BUF);
	MPI_Pack(in, count, t, packed, BUF, &pos, MPI_COMM_SELF);
	MPI_Unpack(packed, pos, &upos, out, count, t, MPI_COMM_SELF);
	printf("d=%d", depth);
	for (int l = 0; l < depth; l++)
		printf("%c%s", l ? '.' : ' ', kind_name[kinds[l]]);
	printf(" %s blk=%d: %d %016llx %016llx\n", bname, blk, pos,
	       (unsigned long long)fnv(packed, pos), (unsigned long long)fnv(out, BUF));
	for (int l = 0; l < depth; l++)
		MPI_Type_free(&made[l]);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	Dl_info di;
	if (dladdr((void *)MPI_Pack, &di) && di.dli_fname)
		printf("libmpich: %s\n", di.dli_fname);
	unsigned char *in = malloc(BUF), *packed = malloc(BUF), *out = malloc(BUF);
	if (!in || !packed || !out)
		return 1;
	for (size_t i = 0; i < BUF; i++)
		in[i] = (unsigned char)(i * 7 + 3);
	MPI_Datatype bases[3] = {MPI_CHAR, MPI_INT, MPI_DOUBLE};
	const char *bnames[3] = {"char", "int", "double"};
	int n = 0;
	for (int depth = 1; depth <= 3; depth++) {
		int combos = depth == 1   ? KINDS
		             : depth == 2 ? KINDS * KINDS
		                          : KINDS * KINDS * KINDS;
		for (int c = 0; c < combos; c++) {
			int kinds[3] = {c % KINDS, (c / KINDS) % KINDS, c / (KINDS * KINDS)};
			for (int b = 0; b < 3; b++, n++)
				run(kinds, depth, bases[b], bnames[b], 1 + n % 9, in, packed, out);
		}
	}
	free(in);
	free(packed);
	free(out);
	MPI_Finalize();
	return 0;
}
