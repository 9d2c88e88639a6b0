# tests/cluster: the real Slurm test cluster harness (tests/cluster/cluster) and its own smoke test.
# Needs root. CLUSTER_SMOKE_FLAGS=--plugins also loads the project's plugins from build/plugins.
.PHONY: check-cluster-smoke
check-cluster-smoke:
	tests/cluster/test_smoke.sh $(CLUSTER_SMOKE_FLAGS)

CHECKS += check-cluster-smoke

# The request path through the project's plugins, Prolog and Epilog (issue 2).
.PHONY: check-cluster-request
check-cluster-request: $(PLUGINS) $(XENVM_PROLOG) $(XENVM_EPILOG)
	tests/cluster/test_request_path.sh

CHECKS += check-cluster-request
