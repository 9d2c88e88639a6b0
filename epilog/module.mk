# epilog/: xenvm-epilog, slurmd's Epilog for VM jobs.
XENVM_EPILOG := $(B)/epilog/xenvm-epilog
SBINS += $(XENVM_EPILOG)
MAN8  += doc/man/xenvm-epilog.8

$(B)/epilog/main.o: CFLAGS += -DXENVM_BINDIR='"$(BINDIR)"'
$(XENVM_EPILOG): $(B)/epilog/main.o $(NODE_DEPS)
	$(CC) $(LDFLAGS) -o $@ $(B)/epilog/main.o $(NODE_LINK)
