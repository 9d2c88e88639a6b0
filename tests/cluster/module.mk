# tests/cluster: the real Slurm test cluster harness (tests/cluster/cluster) and its own smoke test.
# Needs root. CLUSTER_SMOKE_FLAGS=--plugins also loads the project's plugins from build/plugins.
.PHONY: check-cluster-smoke
check-cluster-smoke:
	tests/cluster/test_smoke.sh $(CLUSTER_SMOKE_FLAGS)

CHECKS += check-cluster-smoke

# The request path through the project's plugins, Prolog and Epilog (issue 2).
.PHONY: check-cluster-request
# Its jobs boot real VMs since the Prolog does (issue 6).
check-cluster-request: all image
	tests/cluster/test_request_path.sh

CHECKS += check-cluster-request

# The whole job inside VMs (issue 6): Prolog fetch + boot, tasks, batch and srun in the guest,
# MPI across VMs, exit codes, scancel, broken image, other users, cache reuse, crash recovery.
.PHONY: check-vm-job
check-vm-job: all image
	tests/cluster/test_vm_job.sh

CHECKS += check-vm-job

# Verbs between a job's VMs (issue 5): the rxe fallback on 2 nodes, ibv_rc_pingpong and an MPI
# ping-pong over UCX rc_verbs (and over tcp, in the same VMs).
.PHONY: check-vm-verbs-job
check-vm-verbs-job: all image
	tests/cluster/test_vm_verbs.sh

CHECKS += check-vm-verbs-job

# --vm-require and a catalog that never stalls slurmctld (issue 15): matching, near misses,
# families; a FIFO, deep nesting and a huge failing catalog while other users submit.
.PHONY: check-cluster-require
check-cluster-require: all image
	tests/cluster/test_require.sh

CHECKS += check-cluster-require

# The image manager on a cluster (issue 15): pins that survive a tag's move, the GC against
# queued and running jobs, a user's image unshared and shared.
.PHONY: check-cluster-imgstore
check-cluster-imgstore: all image
	tests/cluster/test_image_pin.sh

CHECKS += check-cluster-imgstore
