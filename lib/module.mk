# lib/: libxenvm.a, the code shared by plugins, daemons and tools (position-independent so that
# plugins can link it in; their version scripts keep its symbols private).
LIBXENVM     := $(B)/lib/libxenvm.a
LIBXENVM_SRC := $(wildcard lib/*.c)
LIBXENVM_OBJ := $(patsubst %.c,$(B)/%.o,$(LIBXENVM_SRC))
# What a program that links libxenvm.a also needs (liblzma: vm/kernel.c, for programs that
# link the VM layer too; --as-needed drops it elsewhere).
LIBXENVM_LIBS := $(YAML_LIBS) $(CRYPTO_LIBS) $(SLURM_LIBS) -llzma

$(LIBXENVM_OBJ): CFLAGS += $(YAML_CFLAGS) $(CRYPTO_CFLAGS)

$(LIBXENVM): $(LIBXENVM_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# Unit tests of the parts of lib/ that plugins and the Prolog share (parsers: tests/module.mk).
LIB_UNIT_TESTS := $(B)/tests/unit/test_request $(B)/tests/unit/test_jobstate
UNIT_TESTS += $(LIB_UNIT_TESTS)
$(patsubst %,%.o,$(LIB_UNIT_TESTS)): CFLAGS += $(CMOCKA_CFLAGS)
$(LIB_UNIT_TESTS): %: %.o $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBXENVM) $(CMOCKA_LIBS) $(LIBXENVM_LIBS)
