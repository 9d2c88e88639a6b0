#!/bin/sh
#SBATCH --job-name=mpi-hello
#SBATCH -N 4
#SBATCH --vm-image=ttylinux-mpi
#SBATCH --vm-verbose
# The batch script itself runs inside the VM on the first node; srun (a shim in the image)
# asks the host to start the step, whose ranks land in the job's VMs on every node.
# Build first, on the login node:  mpicc -O2 -o mpi-hello mpi-hello.c
echo "batch script on $(hostname), kernel $(uname -r)"
srun --mpi=pmi2 ./mpi-hello | sort -n -k2
