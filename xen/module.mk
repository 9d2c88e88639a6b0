# xen/: the Xen side of the VM layer, through libxenlight (see xen/README.md).
#   $(B)/xen/libxenvm_xen.a   xl_domain.h: create/start/stop/list domains (wrapped by lib/vm/)
#   $(B)/xen/xenvm-xl-test    a CLI over it, for the Xen tests and benchmarks (runs in dom0)
# xenevtchn and xengnttab: the agent channel's console backend (xl_chan.c).
XEN_PCS    := xenlight xentoollog xenstore xenevtchn xengnttab
XEN_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(XEN_PCS) 2>/dev/null)
XEN_LIBS   := $(shell $(PKG_CONFIG) --libs $(XEN_PCS) 2>/dev/null || echo -lxenlight -lxentoollog -lxenstore -lxenevtchn -lxengnttab)

LIBXENVM_XEN     := $(B)/xen/libxenvm_xen.a
LIBXENVM_XEN_SRC := xen/xl_ctx.c xen/xl_spec.c xen/xl_create.c xen/xl_stop.c xen/xl_list.c \
                    xen/xl_host.c xen/xl_chan.c xen/xl_pci.c
LIBXENVM_XEN_OBJ := $(patsubst %.c,$(B)/%.o,$(LIBXENVM_XEN_SRC))
XENVM_XL_TEST    := $(B)/xen/xenvm-xl-test

$(LIBXENVM_XEN_OBJ) $(B)/xen/xenvm-xl-test.o: CFLAGS += -Ixen $(XEN_CFLAGS)

$(LIBXENVM_XEN): $(LIBXENVM_XEN_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(XENVM_XL_TEST): $(B)/xen/xenvm-xl-test.o $(LIBXENVM_XEN) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBXENVM_XEN) $(LIBXENVM) $(XEN_LIBS) $(LIBXENVM_LIBS)

.PHONY: xen
xen: $(LIBXENVM_XEN) $(XENVM_XL_TEST)
all: $(LIBXENVM_XEN) $(XENVM_XL_TEST)

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
$(XL_PCI_TEST).o: CFLAGS += -Ixen $(XEN_CFLAGS) $(CMOCKA_CFLAGS)
$(XL_PCI_TEST): $(XL_PCI_TEST).o $(LIBXENVM_XEN) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBXENVM_XEN) $(LIBXENVM) $(XEN_LIBS) $(CMOCKA_LIBS) \
	  $(LIBXENVM_LIBS)
