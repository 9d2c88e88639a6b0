# xen/: the Xen side, built where libxenlight is (see xen/README.md):
#   the libxenlight layer (xl_*.c, xl_domain.h: create/start/stop/list domains, the agent
#   channel's console backend, PCI passthrough) and, on top of it and of vm/, the `xen` VM
#   driver (driver*.c).  node/'s driver table names it when XVM_HAVE_XEN is 1.
#   $(B)/xen/libxenvm_xen.a   both
#   $(B)/xen/xenvm-xl-test    a CLI over the libxenlight layer, for the Xen tests and benchmarks
#   $(B)/xen/xenvm-xen-dm     runs libxenlight's 9pfs backend QEMU as the job's user (xl_dmuser.h)
# xenevtchn and xengnttab: the agent channel's console backend (xl_chan.c).
XEN_PCS    := xenlight xentoollog xenstore xenevtchn xengnttab
XVM_HAVE_XEN := $(shell $(PKG_CONFIG) --exists $(XEN_PCS) && echo 1)
XEN_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(XEN_PCS) 2>/dev/null)
XEN_LIBS   := $(shell $(PKG_CONFIG) --libs $(XEN_PCS) 2>/dev/null || echo -lxenlight -lxentoollog -lxenstore -lxenevtchn -lxengnttab)

LIBXENVM_XEN     := $(B)/xen/libxenvm_xen.a
LIBXENVM_XEN_SRC := xen/xl_ctx.c xen/xl_spec.c xen/xl_create.c xen/xl_stop.c xen/xl_list.c \
                    xen/xl_host.c xen/xl_chan.c xen/xl_pci.c xen/xl_dmuser.c \
                    xen/driver.c xen/driver_supervise.c
LIBXENVM_XEN_OBJ := $(patsubst %.c,$(B)/%.o,$(LIBXENVM_XEN_SRC))
XENVM_XL_TEST    := $(B)/xen/xenvm-xl-test
XENVM_XEN_DM     := $(B)/xen/xenvm-xen-dm

$(LIBXENVM_XEN_OBJ) $(B)/xen/xenvm-xl-test.o $(B)/xen/xenvm-xen-dm.o: CFLAGS += $(XEN_CFLAGS)

$(LIBXENVM_XEN): $(LIBXENVM_XEN_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# What a program that may boot Xen VMs links (after node/'s archive, before vm/'s); empty where
# there is no libxenlight.
ifeq ($(XVM_HAVE_XEN),1)
XEN_ARCHIVES := $(LIBXENVM_XEN)
XEN_LINK     := $(XEN_LIBS)
endif

$(XENVM_XL_TEST): $(B)/xen/xenvm-xl-test.o $(LIBXENVM_XEN) $(LIBXENVM_VM) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBXENVM_XEN) $(LIBXENVM_VM) $(LIBXENVM) $(XEN_LIBS) $(LIBXENVM_LIBS)

$(XENVM_XEN_DM): $(B)/xen/xenvm-xen-dm.o $(LIBXENVM_XEN) $(LIBXENVM_VM) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBXENVM_XEN) $(LIBXENVM_VM) $(LIBXENVM) $(XEN_LIBS) $(LIBXENVM_LIBS)

.PHONY: xen
xen: $(LIBXENVM_XEN) $(XENVM_XL_TEST) $(XENVM_XEN_DM)
all: $(LIBXENVM_XEN) $(XENVM_XL_TEST) $(XENVM_XEN_DM)
ifeq ($(XVM_HAVE_XEN),1)
LIBEXEC += $(XENVM_XEN_DM)
endif
MAN8 += doc/man/xenvm-xen-dm.8

# Create/boot/stop times through the driver vs xl, on a Xen node (bench/xen-boot.sh).
.PHONY: bench-xen
bench-xen: $(XENVM_XL_TEST)
	bench/xen-boot.sh
BENCHES += bench-xen

# The libxl config of a passed-through IB VF (xen/xl_pci.c); no Xen needed, runs in check-unit.
XL_PCI_TEST := $(B)/tests/unit/test_xl_pci
ifeq ($(shell $(PKG_CONFIG) --exists xenlight && echo 1),1)
UNIT_TESTS += $(XL_PCI_TEST)
endif
$(XL_PCI_TEST).o: CFLAGS += $(XEN_CFLAGS) $(CMOCKA_CFLAGS)
$(XL_PCI_TEST): $(XL_PCI_TEST).o $(LIBXENVM_XEN) $(LIBXENVM_VM) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBXENVM_XEN) $(LIBXENVM_VM) $(LIBXENVM) $(XEN_LIBS) $(CMOCKA_LIBS) \
	  $(LIBXENVM_LIBS)

# The note xenvm-xen-dm reads (xen/xl_dmuser.c); no Xen needed, runs in check-unit.
XL_DMUSER_TEST := $(B)/tests/unit/test_xl_dmuser
ifeq ($(XVM_HAVE_XEN),1)
UNIT_TESTS += $(XL_DMUSER_TEST)
endif
$(XL_DMUSER_TEST).o: CFLAGS += $(XEN_CFLAGS) $(CMOCKA_CFLAGS)
$(XL_DMUSER_TEST): $(XL_DMUSER_TEST).o $(LIBXENVM_XEN) $(LIBXENVM_VM) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBXENVM_XEN) $(LIBXENVM_VM) $(LIBXENVM) $(XEN_LIBS) $(CMOCKA_LIBS) \
	  $(LIBXENVM_LIBS)
