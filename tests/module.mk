# Unit tests of lib/'s parsers: units, the YAML layer under both files (yamldoc), xenvm.yaml
# (config) and images.yaml (catalog: loading, lookups, permissions, the reloading cache, and every
# allocation failing in turn).
# XENVM_SRCDIR lets them find tests/unit/fixtures and the example files in etc/ from anywhere.
PARSER_UNIT_TESTS := $(addprefix $(B)/tests/unit/,test_units test_config test_catalog \
                       test_catalog_permits test_catalog_cache test_catalog_enomem \
                       test_require test_catalog_live \
                       test_config_yamldoc)
UNIT_TESTS += $(PARSER_UNIT_TESTS)
$(patsubst %,%.o,$(PARSER_UNIT_TESTS)): CFLAGS += $(CMOCKA_CFLAGS) -DXENVM_SRCDIR='"$(CURDIR)"'
$(PARSER_UNIT_TESTS): %: %.o $(LIBXENVM)
	$(CC) $(LDFLAGS) $(if $(filter %/test_catalog_enomem,$@),$(ENOMEM_WRAP)) -o $@ $< \
	  $(LIBXENVM) $(CMOCKA_LIBS) $(LIBXENVM_LIBS)
# test_catalog_enomem makes libxenvm's allocations fail one by one.
ENOMEM_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup
