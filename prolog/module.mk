# prolog/: xenvm-prolog, slurmd's Prolog for VM jobs.
XENVM_PROLOG := $(B)/prolog/xenvm-prolog
XENVM_PROLOG_OBJ := $(B)/prolog/main.o $(B)/prolog/fetch.o $(B)/prolog/step.o $(B)/prolog/tell.o $(B)/prolog/orphan.o
SBINS += $(XENVM_PROLOG)
MAN8  += doc/man/xenvm-prolog.8

$(XENVM_PROLOG_OBJ): CFLAGS += -DXENVM_BINDIR='"$(BINDIR)"'
$(XENVM_PROLOG): $(XENVM_PROLOG_OBJ) $(NODE_DEPS)
	$(CC) $(LDFLAGS) -o $@ $(XENVM_PROLOG_OBJ) $(NODE_LINK) -lpthread
