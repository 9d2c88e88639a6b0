# epilog/: xenvm-epilog, slurmd's Epilog for VM jobs.
XENVM_EPILOG := $(B)/epilog/xenvm-epilog
SBINS += $(XENVM_EPILOG)
MAN8  += doc/man/xenvm-epilog.8

$(XENVM_EPILOG): $(B)/epilog/main.o $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBXENVM_LIBS)
