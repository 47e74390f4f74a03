# The cluster (src/cluster): N nodes of mote serve --cluster with etcd and HAProxy, on loopback.
#
#   make cluster-test    the issue's proof (tests/cluster/cluster.sh), part of make test
#   make bench-cluster   figures: calls/s through HAProxy with 1-3 nodes, a node killed under
#                        load, deploy-to-served-on-all, a new node's catch-up (bench/cluster.sh)
#   make run-cluster     etcd, three nodes and HAProxy on loopback with the example functions
.PHONY: cluster-test bench-cluster run-cluster

cluster-test: $(BUILD)/mote
	@tests/cluster/cluster.sh $(BUILD)

bench-cluster: $(BUILD)/mote functions
	@bench/cluster.sh $(BUILD)

run-cluster: $(BUILD)/mote functions
	@scripts/run-cluster.sh $(BUILD)
