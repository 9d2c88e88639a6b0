# node/: a job's life on one node (spec from catalog + job, IB lease and release, guest address,
# shares, boot, wait ready, record, stop, recovery), and the table of VM drivers by name.
# Used by prolog/, epilog/ and admin/.  A program using it links $(NODE_LINK).
LIBXENVM_NODE     := $(B)/node/libxenvm_node.a
LIBXENVM_NODE_SRC := $(wildcard node/*.c)
LIBXENVM_NODE_OBJ := $(patsubst %.c,$(B)/%.o,$(LIBXENVM_NODE_SRC))

$(LIBXENVM_NODE): $(LIBXENVM_NODE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
# The xen driver is in the table where the build has libxenlight (xen/module.mk).
$(B)/node/drivers.o: CFLAGS += $(if $(XEN_ARCHIVES),-DXENVM_HAVE_XEN)

NODE_DEPS := $(LIBXENVM_NODE) $(XEN_ARCHIVES) $(LIBXENVM_VM) $(LIBXENIB) $(LIBXENVM)
NODE_LINK := $(NODE_DEPS) $(XEN_LINK) $(LIBXENVM_LIBS)

# The job's start, stop and recovery (node/job_*.c) with a fake VM driver that fails where told
# (tests/node/fake_driver.c), on the xenib sysfs fixture (xenib/module.mk's XENIB_FIXTURE_OBJ).
NODE_FAKE_OBJ := $(B)/tests/node/fake_driver.o
UNIT_TESTS += $(B)/tests/unit/test_node_job
$(B)/tests/unit/test_node_job.o: CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/unit/test_node_job: $(B)/tests/unit/test_node_job.o $(NODE_FAKE_OBJ) \
  $(XENIB_FIXTURE_OBJ) $(NODE_DEPS)
	$(CC) $(LDFLAGS) -o $@ $< $(NODE_FAKE_OBJ) $(XENIB_FIXTURE_OBJ) $(NODE_LINK) $(CMOCKA_LIBS)

# node/netpin.c for real, without a VM: veth pairs in namespaces stand in for the VMs' taps.
NETPINCTL := $(B)/tests/node/netpinctl
$(NETPINCTL): $(B)/tests/node/netpinctl.o $(NODE_DEPS)
	$(CC) $(LDFLAGS) -o $@ $< $(NODE_LINK)
.PHONY: check-netpin
check-netpin: $(NETPINCTL)
	tests/node/netpin.sh $(NETPINCTL)
CHECKS += check-netpin

# The share policy (node/sharepolicy.c): table-driven over a temporary tree (needs root: owners).
UNIT_TESTS += $(B)/tests/unit/test_node_sharepolicy
$(B)/tests/unit/test_node_sharepolicy.o: CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/unit/test_node_sharepolicy: $(B)/tests/unit/test_node_sharepolicy.o $(NODE_DEPS)
	$(CC) $(LDFLAGS) -o $@ $< $(NODE_LINK) $(CMOCKA_LIBS)
