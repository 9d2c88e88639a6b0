# prolog/: xenvm-prolog, slurmd's Prolog for VM jobs.
XENVM_PROLOG := $(B)/prolog/xenvm-prolog
SBINS += $(XENVM_PROLOG)
MAN8  += doc/man/xenvm-prolog.8

$(XENVM_PROLOG): $(B)/prolog/main.o $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBXENVM_LIBS)
