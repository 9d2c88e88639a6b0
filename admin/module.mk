# admin/: the `xenvm` admin command (boot/list/exec/destroy/status of VMs on a node; xenvm(8)).
XENVM_ADMIN     := $(B)/admin/xenvm
XENVM_ADMIN_SRC := admin/xenvm.c admin/boot.c admin/list.c admin/exec.c admin/destroy.c \
                   admin/inventory.c admin/vminfo.c admin/adminid.c admin/cache.c admin/ib.c \
                   admin/check.c admin/image.c
# issue 16: container images imported (image_import.c), the whole-VM path (image_import_vm.c)
XENVM_ADMIN_SRC += admin/image_import.c admin/image_base.c admin/image_inspect.c admin/image_source.c \
                   admin/image_import_vm.c admin/image_owners.c admin/image_cache.c
XENVM_ADMIN_OBJ := $(patsubst %.c,$(B)/%.o,$(XENVM_ADMIN_SRC))

# exec finds xenvm-exec where `make install` puts it (XENVM_EXEC overrides).
$(XENVM_ADMIN_OBJ): CFLAGS += -DXENVM_LIBEXECDIR='"$(LIBEXECDIR)"'

$(B)/admin/image.o $(B)/admin/image_import.o $(B)/admin/image_cache.o: CFLAGS += $(YAML_CFLAGS)

$(XENVM_ADMIN): $(XENVM_ADMIN_OBJ) $(NODE_DEPS) $(LIBIMGSTORE)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(XENVM_ADMIN_OBJ) $(LIBIMGSTORE) $(NODE_LINK) $(MUNGE_LIBS)

SBINS += $(XENVM_ADMIN)
MAN8  += doc/man/xenvm.8

# The container import's pure parts (SOURCE, facts of a root file system): unit-tested.
UNIT_TESTS += $(B)/tests/unit/test_admin_import
$(B)/tests/unit/test_admin_import.o: CFLAGS += $(CMOCKA_CFLAGS)
TEST_ADMIN_IMPORT_OBJ := $(B)/admin/image_inspect.o $(B)/admin/image_source.o \
  $(B)/admin/image_owners.o $(B)/admin/image_cache.o
$(B)/tests/unit/test_admin_import: $(B)/tests/unit/test_admin_import.o $(TEST_ADMIN_IMPORT_OBJ) \
  $(LIBIMGSTORE) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_ADMIN_IMPORT_OBJ) $(LIBIMGSTORE) $(LIBXENVM) $(CMOCKA_LIBS) \
	  $(LIBXENVM_LIBS)
MAN1 += doc/man/xenvm-image.1
