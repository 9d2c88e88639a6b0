# Unit tests of lib/'s parsers: units, xenvm.yaml (config) and images.yaml (catalog: loading,
# lookups, permissions, the reloading cache).  XENVM_SRCDIR lets them find tests/unit/fixtures and
# the example files in etc/ wherever they are run from.
PARSER_UNIT_TESTS := $(addprefix $(B)/tests/unit/,test_units test_config test_catalog \
                       test_catalog_permits test_catalog_cache)
UNIT_TESTS += $(PARSER_UNIT_TESTS)
$(patsubst %,%.o,$(PARSER_UNIT_TESTS)): CFLAGS += $(CMOCKA_CFLAGS) -DXENVM_SRCDIR='"$(CURDIR)"'
$(PARSER_UNIT_TESTS): %: %.o $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBXENVM) $(CMOCKA_LIBS) $(LIBXENVM_LIBS)
