# xenib/: libxenib (the node's IB VF pool: discovery, leases, GUIDs/policy, partitions) and the
# `xenib` admin command.  libxenib is static and linked into the Prolog, the Epilog and xenvm.
XENIB_LIB_SRC := xenib/sysfs.c xenib/discover.c xenib/enable.c xenib/guid.c xenib/vfnl.c \
                 xenib/identity.c xenib/lock.c xenib/state.c xenib/pool.c xenib/pkey_opensm.c \
                 xenib/partition.c xenib/passthrough.c
XENIB_LIB_OBJ := $(patsubst %.c,$(B)/%.o,$(XENIB_LIB_SRC))
LIBXENIB      := $(B)/xenib/libxenib.a
XENIB_LIBS    := $(LIBXENIB) $(LIBXENVM) $(LIBXENVM_LIBS)


$(LIBXENIB): $(XENIB_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(B)/xenib/xenib: $(B)/xenib/xenib.o $(LIBXENIB) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(XENIB_LIBS)

SBINS += $(B)/xenib/xenib
MAN8  += doc/man/xenib.8

# Unit tests against a sysfs fixture tree (tests/xenib/fixture.c builds it in a temp dir).
XENIB_UNIT := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_xenib_*.c))
XENIB_FIXTURE_OBJ := $(B)/tests/xenib/fixture.o
UNIT_TESTS += $(patsubst %,$(B)/tests/unit/%,$(XENIB_UNIT))
$(patsubst %,$(B)/tests/unit/%.o,$(XENIB_UNIT)) $(XENIB_FIXTURE_OBJ): \
  CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/unit/test_xenib_%: $(B)/tests/unit/test_xenib_%.o $(XENIB_FIXTURE_OBJ) $(LIBXENIB) \
  $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(XENIB_FIXTURE_OBJ) $(XENIB_LIBS) $(CMOCKA_LIBS)

# The `xenib` command end to end on a fixture tree (tests/xenib/cli.sh).
$(B)/tests/xenib/mkfixture.o: CFLAGS += -Itests/xenib
$(B)/tests/xenib/mkfixture: $(B)/tests/xenib/mkfixture.o $(XENIB_FIXTURE_OBJ) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(XENIB_FIXTURE_OBJ) $(LIBXENVM) $(LIBXENVM_LIBS)

.PHONY: check-xenib
CHECKS += check-xenib
check-xenib: $(B)/xenib/xenib $(B)/tests/xenib/mkfixture
	@tests/xenib/cli.sh $(B)

# node/jobib.c (the job's VF, Soft-RoCE or nothing) and the qemu driver's -device argument, on
# the same fixture tree.
UNIT_TESTS += $(B)/tests/unit/test_vm_jobib
$(B)/tests/unit/test_vm_jobib.o: CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/unit/test_vm_jobib: $(B)/tests/unit/test_vm_jobib.o $(XENIB_FIXTURE_OBJ) \
  $(B)/node/libxenvm_node.a $(B)/vm/libxenvm_vm.a $(LIBXENIB) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(XENIB_FIXTURE_OBJ) $(B)/node/libxenvm_node.a \
	  $(B)/vm/libxenvm_vm.a $(XENIB_LIBS) $(CMOCKA_LIBS)
