# lib/vm/: the VM layer shared by the Prolog, the Epilog, xenvm-exec, the xenvm command and the
# guest agent: the agent protocol (proto), the driver interface and the drivers.
# Included from guest/module.mk (the top Makefile only includes */module.mk, one level deep).
LIBXENVM_VM     := $(B)/lib/vm/libxenvm_vm.a
LIBXENVM_VM_SRC := $(wildcard lib/vm/*.c)
LIBXENVM_VM_OBJ := $(patsubst %.c,$(B)/%.o,$(LIBXENVM_VM_SRC))

$(LIBXENVM_VM): $(LIBXENVM_VM_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
