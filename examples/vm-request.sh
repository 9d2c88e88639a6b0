#!/bin/bash
#SBATCH --job-name=vm-request
#SBATCH -N 4
#SBATCH --vm-image=ttylinux-mpi
# What each node's Prolog recorded for this job's VM (the stage before VMs boot).
srun -l sh -c 'echo "$(hostname): $(grep -E "^(image|digest|mem|node_index|node_count)=" \
	/run/xenvm/job/$SLURM_JOB_ID/job.state | tr "\n" " ")"' | sort
