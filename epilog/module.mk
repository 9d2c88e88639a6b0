# epilog/: xenvm-epilog, slurmd's Epilog for VM jobs.
XENVM_EPILOG := $(B)/epilog/xenvm-epilog
SBINS += $(XENVM_EPILOG)
MAN8  += doc/man/xenvm-epilog.8

$(B)/epilog/main.o: CFLAGS += -DXENVM_BINDIR='"$(BINDIR)"'
# lib/vm's and xenib's archives are named by path: guest/module.mk, which defines it, is included later.
$(XENVM_EPILOG): $(B)/epilog/main.o $(B)/lib/vm/libxenvm_vm.a $(B)/xenib/libxenib.a $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $^ $(XVM_XEN_LINK) $(LIBXENVM_LIBS)
