# tests/xen: Xen nodes (Xen 4.17 + a Linux dom0 inside QEMU/TCG, tests/xen/xen-node) and the
# xen driver tested on them for real.  Needs root.  See tests/xen/README.md.
.PHONY: check-xen
check-xen: $(XENVM_XL_TEST) image
	tests/xen/test_xen_driver.sh

CHECKS += check-xen

# Two Xen nodes, a domU on each, reaching each other across the nodes (item 4 of issue 4's
# networking; about 2 minutes).
.PHONY: check-xen-2nodes
check-xen-2nodes: $(XENVM_XL_TEST) image
	tests/xen/test_xen_2nodes.sh
CHECKS += check-xen-2nodes

# Unit test of the driver's checks before any Xen call (no Xen needed; runs in check-unit).
XL_SPEC_TEST := $(B)/tests/xen/test_xl_spec
UNIT_TESTS += $(XL_SPEC_TEST)
$(XL_SPEC_TEST).o: CFLAGS += $(CMOCKA_CFLAGS)
$(XL_SPEC_TEST): $(XL_SPEC_TEST).o $(B)/xen/xl_spec.o $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBXENVM_LIBS)

# The VM driver `xen` (xen/driver*.c) for real in a Xen node: `xenvm boot --driver xen`, exec
# through the agent's PV console, shutdown, destroy, a broken image, figures against `xl create`
# (tests/xen/test_xen_vm.sh; about 3 minutes).
XVMCTL := $(B)/tests/xen/xvmctl
$(XVMCTL): $(B)/tests/xen/xvmctl.o $(LIBXENVM_XEN) $(LIBXENVM_VM) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBXENVM_XEN) $(LIBXENVM_VM) $(LIBXENVM) $(XEN_LIBS) $(LIBXENVM_LIBS)
.PHONY: check-xen-driver
check-xen-driver: $(XVMCTL) $(XENVM_ADMIN) $(XENVM_EXEC) image
	B=$(B) tests/xen/test_xen_vm.sh
CHECKS += check-xen-driver

# Slurm on Xen nodes (issue 4): 2 Xen nodes whose dom0s run slurmd, munged, imagecastd, the
# Prolog/Epilog and the xen driver, slurmctld on the host (tests/xen/xen-slurm); the MPI job in
# DomUs, scancel, root in the guest contained (the 9pfs backend as the user, the pin), a broken
# image (tests/xen/test_xen_slurm.sh; 3 minutes at load 2, 6-8 under load).
.PHONY: check-xen-slurm
check-xen-slurm: all image
	tests/xen/test_xen_slurm.sh
CHECKS += check-xen-slurm

# PCI passthrough through the xen driver (issue 5): a Xen node with QEMU's emulated VT-d
# (q35, intel-iommu) and an e1000 standing in for the IB VF; xvmctl boots a PV domU with
# spec.pci_bdf, the guest sees the device, shutdown/kill give it back to dom0's driver
# (tests/xen/test_xen_pci.sh; about 1.5 minutes).
.PHONY: check-xen-pci
check-xen-pci: $(XVMCTL) $(XENVM_EXEC) image
	B=$(B) tests/xen/test_xen_pci.sh
CHECKS += check-xen-pci
