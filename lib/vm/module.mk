# lib/vm/: the VM layer shared by the Prolog, the Epilog, xenvm-exec, the xenvm command and the
# guest agent: the agent protocol (proto), the driver interface and the drivers.
# Included from guest/module.mk (the top Makefile only includes */module.mk, one level deep).
LIBXENVM_VM     := $(B)/lib/vm/libxenvm_vm.a
LIBXENVM_VM_SRC := $(filter-out lib/vm/xen%.c,$(wildcard lib/vm/*.c))
LIBXENVM_VM_OBJ := $(patsubst %.c,$(B)/%.o,$(LIBXENVM_VM_SRC))

$(LIBXENVM_VM): $(LIBXENVM_VM_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
# jobib (the job's VF or Soft-RoCE) calls libxenib: programs linking it add $(B)/xenib/libxenib.a.
$(B)/lib/vm/jobib.o: CFLAGS += -Ixenib
# The default host-side helper for commands from the guest (xvm_spec.host_agent NULL).
$(B)/lib/vm/qemu.o: CFLAGS += -DXENVM_LIBEXECDIR='"$(LIBEXECDIR)"'

# The xen driver (lib/vm/xen*.c) is its own archive, built where libxenlight is: programs that
# choose drivers by name (the xenvm command, the Prolog) add $(XVM_XEN_DEPS) to their
# prerequisites and $(XVM_XEN_LINK) after their libraries; elsewhere both are empty and
# xvm_driver_find("xen") says the driver is not in this build.
XVM_HAVE_XEN := $(shell $(PKG_CONFIG) --exists xenlight xenstore xenevtchn xengnttab && echo 1)
ifeq ($(XVM_HAVE_XEN),1)
LIBXENVM_VM_XEN     := $(B)/lib/vm/libxenvm_vm_xen.a
LIBXENVM_VM_XEN_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard lib/vm/xen*.c))
$(LIBXENVM_VM_XEN_OBJ): CFLAGS += -Ixen -DXENVM_LIBEXECDIR='"$(LIBEXECDIR)"'
$(LIBXENVM_VM_XEN): $(LIBXENVM_VM_XEN_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
XVM_XEN_DEPS := $(LIBXENVM_VM_XEN) $(B)/xen/libxenvm_xen.a $(LIBXENVM_VM) $(LIBXENVM)
# A group: the driver needs lib/vm (vmd) and lib/vm's callers of xvm_driver_find need the driver.
XVM_XEN_LINK = -Wl,--wrap=xvm_driver_find -Wl,--start-group $(XVM_XEN_DEPS) -Wl,--end-group \
               $(XEN_LIBS)
# The Prolog boots and the Epilog stops the job's VMs with the driver xenvm.yaml names.
# (by path: prolog/module.mk is read after this file)
$(XENVM_ADMIN) $(B)/prolog/xenvm-prolog $(XENVM_EPILOG): $(XVM_XEN_DEPS)
endif
