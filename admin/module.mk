# admin/: the `xenvm` admin command (boot/list/exec/destroy/status of VMs on a node; xenvm(8)).
# Its libraries' variables are defined by module.mk files included after this one (guest/ for
# lib/vm, xenib/), and prerequisites expand at once: so they are named by path here.
XENVM_ADMIN     := $(B)/admin/xenvm
XENVM_ADMIN_SRC := admin/xenvm.c admin/boot.c admin/list.c admin/exec.c admin/destroy.c \
                   admin/inventory.c admin/vminfo.c admin/adminid.c admin/cache.c admin/ib.c
XENVM_ADMIN_OBJ := $(patsubst %.c,$(B)/%.o,$(XENVM_ADMIN_SRC))
XENVM_ADMIN_LIBS := $(B)/lib/vm/libxenvm_vm.a $(B)/xenib/libxenib.a $(LIBXENVM)

# exec finds xenvm-exec where `make install` puts it (XENVM_EXEC overrides).
$(XENVM_ADMIN_OBJ): CFLAGS += -Iadmin -Ixenib -DXENVM_LIBEXECDIR='"$(LIBEXECDIR)"'

$(XENVM_ADMIN): $(XENVM_ADMIN_OBJ) $(XENVM_ADMIN_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(XENVM_ADMIN_OBJ) $(XENVM_ADMIN_LIBS) $(XVM_XEN_LINK) $(LIBXENVM_LIBS)

SBINS += $(XENVM_ADMIN)
MAN8  += doc/man/xenvm.8
