#!/bin/bash
# mkimage.sh - build the ttylinux-mpi guest image from this machine's Debian packages.
#
# Usage: guest/mkimage.sh AGENT OUTDIR SHIM IBCHECK [SHIMDYN]
#   AGENT   the static xenvm-agent binary to put in the image
#   OUTDIR  e.g. build/images; writes OUTDIR/ttylinux-mpi/{vmlinuz,initrd.zst} and
#           OUTDIR/images.yaml (a catalog fragment with sizes and sha256)
#   SHIM    the static xenvm-exec: the initramfs's copy, injected into container roots
#   IBCHECK the (dynamic) xenvm-ibcheck: /init's verbs readiness check, /usr/bin/xenvm-ibcheck
#   SHIMDYN the dynamic xenvm-exec (default: SHIM): /usr/local/bin/{srun,sbatch,squeue,scancel,
#           sacct,scontrol,sinfo} on the root disk link to it, so those commands inside the VM run
#           on the host (guest/README.md); the root disk has the glibc it needs (39 KB, not 0.9 MB)
# Environment: GUEST_KERNEL=xenvm|debian (default xenvm): the project's kernel
#              (guest/kernel/, built or found in its cache by guest/kernel/build.sh), or Debian's
#              generic one;
#              KVER (debian only; default: newest /lib/modules/*), COMP=zst|gz|xz (default zst),
#              NAME (default ttylinux-mpi); XVG_PMIPROGRESS: the PMI progress preload (make
#              image sets it);
#              MPICH_SLIM=auto|1|0 (default auto): libmpich.so.12 without yaksa's 3-level datatype
#              kernels (guest/mpich-slim.sh; auto: unslimmed with a warning when it does not
#              apply), libslurm.so.38 with only what hydra calls.
# Needs: linux-source-6.1 (xenvm) or linux-image-amd64 (debian), busybox-static mpich libucx0 libibverbs1 ibverbs-providers iproute2
#        cpio zstd.  Exits non-zero with a message when something is missing: nothing is guessed.
set -euo pipefail
AGENT=${1:?usage: mkimage.sh AGENT OUTDIR SHIM}
OUT=${2:?usage: mkimage.sh AGENT OUTDIR SHIM}
SHIM=${3:?usage: mkimage.sh AGENT OUTDIR SHIM IBCHECK}
IBCHECK=${4:?usage: mkimage.sh AGENT OUTDIR SHIM IBCHECK}
SHIMDYN=${5:-$SHIM}
MPICH_SLIM=${MPICH_SLIM:-auto}
NAME=${NAME:-ttylinux-mpi}
COMP=${COMP:-zst}
HERE=$(cd "$(dirname "$0")" && pwd)
die() { echo "mkimage: $*" >&2; exit 1; }

GUEST_KERNEL=${GUEST_KERNEL:-xenvm}
case "$GUEST_KERNEL" in
debian)
	KVER=${KVER:-$(ls -1 /lib/modules 2>/dev/null | sort -V | tail -1)}
	[ -n "$KVER" ] && [ -d "/lib/modules/$KVER" ] || die "no kernel modules in /lib/modules (apt-get install linux-image-amd64)"
	KIMG=/boot/vmlinuz-$KVER
	MODBASE=
	KDESC="Debian $KVER kernel"
	;;
xenvm)
	KDIR=$(bash "$HERE/kernel/build.sh" | tail -n 1) || die "the guest kernel did not build (guest/kernel/build.sh)"
	KVER=$(cat "$KDIR/release")
	KIMG=$KDIR/vmlinuz
	MODBASE=$KDIR/modules
	KDESC="slurm-xenvm $KVER kernel (guest/kernel)"
	;;
*) die "GUEST_KERNEL must be xenvm or debian, not '$GUEST_KERNEL'" ;;
esac
[ -d "$MODBASE/lib/modules/$KVER" ] || die "no modules directory $MODBASE/lib/modules/$KVER"
[ -r "$KIMG" ] || die "missing $KIMG"
[ -x "$AGENT" ] || die "missing agent binary $AGENT"
for t in cpio busybox ldd modinfo depmod strip mksquashfs; do command -v $t >/dev/null || die "missing tool: $t"; done
file -L "$AGENT" | grep -q 'statically linked' || die "$AGENT is not statically linked"
[ -x "$SHIM" ] || die "missing shim binary $SHIM"
file -L "$SHIM" | grep -q 'statically linked' || die "$SHIM is not statically linked"
[ -x "$IBCHECK" ] || die "missing verbs check binary $IBCHECK"
[ -x "$SHIMDYN" ] || die "missing shim binary $SHIMDYN"
[ -x /bin/bash ] || die "bash missing (for #!/bin/bash batch scripts)"
MA=/usr/lib/x86_64-linux-gnu
[ -r $MA/libmpich.so.12 ] || die "MPICH missing (apt-get install mpich)"
[ -r $MA/libibverbs/librxe-rdmav34.so ] || die "rxe provider missing (apt-get install ibverbs-providers)"

W=$(mktemp -d "${TMPDIR:-/tmp}/xvg-mkimage.XXXXXX")
trap 'rm -rf "$W"' EXIT
R=$W/root
# Two parts: the initramfs (busybox, agent, modules, /init: ~3 MB, lives in guest RAM) and a
# read-only squashfs root disk mounted on /usr (MPI, UCX, verbs, every shared library: read on
# demand, its page cache reclaimable, so it costs the guest almost no memory when idle).
# /lib and /lib64 point into /usr, as on a merged-/usr Debian.
U=$W/usr
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,run,usr,etc/libibverbs.d,lib}
mkdir -p "$U"/{bin,lib64,lib/x86_64-linux-gnu/libibverbs,lib/x86_64-linux-gnu/ucx,local/bin}
ln -s ../usr/lib/x86_64-linux-gnu "$R/lib/x86_64-linux-gnu"
ln -s usr/lib64 "$R/lib64"

# --- busybox (static) and the agent; applet links are made at build time (no runtime cost)
cp /bin/busybox "$R/bin/busybox"
for a in $(/bin/busybox --list); do
	[ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done
# The same busybox on the root disk: /init points /bin/busybox at it once the disk is mounted,
# so the 2 MB copy in the initramfs (guest RAM for good) is freed (guest/README.md).
cp /bin/busybox "$U/bin/busybox"
install -m 0755 "$AGENT" "$R/sbin/xenvm-agent"
strip --strip-all "$R/sbin/xenvm-agent"
# The Slurm client commands a batch script runs inside the VM are run by the host (the guest has
# no munge or Slurm): one static shim, in /usr/local/bin because a user's PATH has it before
# /usr/bin and /bin (busybox) and the host's PATH is what tasks get.
install -m 0755 "$SHIMDYN" "$U/local/bin/xenvm-exec"
strip --strip-all "$U/local/bin/xenvm-exec"
# Also in /usr/bin for a PATH without /usr/local/bin (and hydra's execvp("srun")): host-only
# directories earlier in PATH do not exist in the guest, so the shim is always found.
for c in srun sbatch squeue scancel sacct scontrol sinfo; do
	ln -s xenvm-exec "$U/local/bin/$c"
	ln -s ../local/bin/xenvm-exec "$U/bin/$c"
done
# Container images (xenvm.container=1, guest/README.md): their root disk is the container's, so
# what /init injects into it comes from here: the shim and the PMI progress preload.
mkdir -p "$R/lib/xenvm"
install -m 0755 "$SHIM" "$R/lib/xenvm/xenvm-exec"
strip --strip-all "$R/lib/xenvm/xenvm-exec"
# bash, for #!/bin/bash batch scripts (busybox has only sh/ash): /bin/bash in the initramfs
# points to the root disk's copy; it needs only libtinfo besides libc (ldd below).
ln -sf ../usr/bin/bash "$R/bin/bash"

# --- kernel modules: the roots below plus their dependencies (modinfo), then depmod.
# Boot (initramfs, loaded by /init at once, then freed): virtio PCI (q35/pc) and MMIO (microvm)
# transports, net, console (the agent channel), blk, 9p; Xen netfront, pcifront (VF passthrough),
# 9pnet_xen (9pfs), blkfront; hvc_xen is built into both kernels.  Our kernel has all of these
# built in (guest/kernel/xenvm-guest.config): its initramfs carries no module at all.
BOOTROOTS="virtio_pci virtio_mmio virtio_net virtio_console virtio_blk squashfs 9p 9pnet_virtio 9pnet_xen
           xen-netfront xen-pcifront xen-blkfront af_packet overlay"
# On the root disk, loaded only by the VMs that use them (read from the squashfs on demand, so
# the others pay neither initramfs RAM nor boot time):
# Soft-RoCE (xenvm.rxe=1): rdma_rxe + crc32_generic (rxe asks the crypto API for "crc32"; without
# it rdma link add fails) + ib_uverbs (libibverbs).
RXEROOTS="rdma_rxe crc32_generic ib_uverbs"
# The VF driver for VMM-bypass (xenvm.ib=vf; mlx5: ConnectX-4 and later VFs): 5 MB of modules
# with Debian's kernel.
VFROOTS="mlx5_ib"
MODDIR=$MODBASE/lib/modules/$KVER
RD=$W/rdmods # the root disk's modules before they move under /usr
add_mod() { # add_mod MODULE DESTROOT ORDERVAR: depth-first, dependencies first in ORDERVAR
	local m=$1 dest=$2 f d rel
	local -n ord=$3
	local -n seen=${3}_seen
	m=${m//-/_}
	[ -n "${seen[$m]:-}" ] && return 0
	seen[$m]=1
	f=$(modinfo -b "${MODBASE:-/}" -k "$KVER" -F filename "$m" 2>/dev/null) ||
		die "module $m is neither built into kernel $KVER nor one of its modules ($MODDIR)"
	case "$f" in (*builtin*) return 0 ;; ("") die "modinfo gave no file for module $m ($KVER)" ;; esac
	for d in $(modinfo -b "${MODBASE:-/}" -k "$KVER" -F depends "$m" | tr ',' ' '); do add_mod "$d" "$dest" "$3"; done
	rel=${f#"$MODDIR"/}
	mkdir -p "$dest/lib/modules/$KVER/$(dirname "$rel")"
	cp "$f" "$dest/lib/modules/$KVER/$rel"
	ord+=("$rel")
}
declare -A bootorder_seen=() rxeorder_seen=() vforder_seen=()
bootorder=() rxeorder=() vforder=()
for m in $BOOTROOTS; do add_mod "$m" "$R" bootorder; done
if [ ${#bootorder[@]} -gt 0 ]; then
	cp "$MODDIR"/modules.builtin* "$MODDIR/modules.order" "$R/lib/modules/$KVER/"
	depmod -b "$R" "$KVER"
fi
printf '%s\n' "${bootorder[@]}" | sed '/^$/d' >"$R/etc/modules.load"
# Each list holds its whole dependency chain (ib_core is in both): loading one never relies on
# the other having been loaded.
for m in $RXEROOTS; do add_mod "$m" "$RD" rxeorder; done
for m in $VFROOTS; do add_mod "$m" "$RD" vforder; done
[ ${#rxeorder[@]} -gt 0 ] || die "no Soft-RoCE modules ($RXEROOTS) for $KVER"
[ ${#vforder[@]} -gt 0 ] || die "no VF driver modules ($VFROOTS) for $KVER"
cp "$MODDIR"/modules.builtin* "$MODDIR/modules.order" "$RD/lib/modules/$KVER/"
# modules.dep on the root disk: busybox modprobe (and the kernel's request_module) find these
# through /lib/modules -> /usr/lib/modules (init), and name a module the image lacks clearly.
depmod -b "$RD" "$KVER"
mkdir -p "$U/lib/modules"
mv "$RD/lib/modules/$KVER" "$U/lib/modules/$KVER"
printf '%s\n' "${rxeorder[@]}" >"$U/lib/modules/$KVER/rxe-modules.load"
printf '%s\n' "${vforder[@]}" >"$U/lib/modules/$KVER/vf-modules.load"
# A container VM (xenvm.container=1) has the container's root disk, not this one: `xenvm image
# import` copies this lib/modules into the container's root disk as /.xenvm/modules (with the
# kernel and initrd of this image, admin/image_base.c), so the initramfs carries no second copy.

# --- userspace: MPICH (hydra), UCX, libibverbs + rxe provider, rdma tool, ibv_devinfo,
# ibv_rc_pingpong (the verbs suite's and a user's first test), the verbs readiness check
[ -x /usr/bin/ibv_rc_pingpong ] || die "ibv_rc_pingpong missing (apt-get install ibverbs-utils)"
BINS="/usr/bin/mpiexec.hydra /usr/bin/hydra_pmi_proxy /usr/bin/rdma /usr/bin/ibv_devinfo /usr/bin/ibv_rc_pingpong /usr/bin/ibv_devices $IBCHECK /bin/bash"
LIBS="$MA/libmpich.so.12 $MA/libibverbs/librxe-rdmav34.so"
UCXMODS="$MA/ucx/libuct_ib.so.0 $MA/ucx/libuct_rdmacm.so.0 $MA/ucx/libuct_cma.so.0"
for b in $BINS; do cp -L "$b" "$U/bin/"; done
ln -s mpiexec.hydra "$U/bin/mpiexec"
ln -s mpiexec.hydra "$U/bin/mpirun"
cp -L $MA/libibverbs/librxe-rdmav34.so "$U/lib/x86_64-linux-gnu/libibverbs/"
echo "driver rxe" > "$R/etc/libibverbs.d/rxe.driver"
# the VF's userspace verbs provider (libmlx5; the kernel side is the root disk's mlx5_ib above)
[ -r $MA/libibverbs/libmlx5-rdmav34.so ] || die "mlx5 provider missing (apt-get install ibverbs-providers)"
cp -L $MA/libibverbs/libmlx5-rdmav34.so "$U/lib/x86_64-linux-gnu/libibverbs/"
echo "driver mlx5" > "$R/etc/libibverbs.d/mlx5.driver"
for u in $UCXMODS; do [ -r "$u" ] && cp -L "$u" "$U/lib/x86_64-linux-gnu/ucx/"; done
# Every shared library any of these needs, with its soname as the file name.
for lib in $(ldd $BINS $LIBS $UCXMODS 2>/dev/null | awk '/=> \//{print $3} /^\t\/lib64/{print $1}' | sort -u); do
	case "$lib" in
	/lib64/*) cp -L "$lib" "$U/lib64/" ;;
	*) cp -L "$lib" "$U/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
	esac
done
case "$MPICH_SLIM" in
auto | 1)
	# 29 of its 41 MB are yaksa's 3-level datatype kernels (5.9 of the root disk's MB): made
	# unreachable and zeroed, as upstream yaksa's default since 2024 (guest/mpich-slim.sh).
	# auto: a library the script does not recognise (another Debian build of MPICH) is copied
	# as it is, with a warning, rather than failing a site's image build; 1 makes that an error.
	# check-mpi-slim fails on such a library either way.
	[ -r $MA/libmpich.a ] || die "libmpich.a missing (apt-get install libmpich-dev; or MPICH_SLIM=0)"
	if ! bash "$HERE/mpich-slim.sh" $MA/libmpich.so.12 $MA/libmpich.a "$U/lib/x86_64-linux-gnu/libmpich.so.12"; then
		[ "$MPICH_SLIM" = auto ] || die "guest/mpich-slim.sh failed (MPICH_SLIM=1)"
		echo "mkimage: warning: libmpich.so.12 copied unslimmed (guest/mpich-slim.sh failed above); the root disk is about 6 MB larger" >&2
		cp -L $MA/libmpich.so.12 "$U/lib/x86_64-linux-gnu/libmpich.so.12"
	fi
	# hydra (mpiexec.hydra, hydra_pmi_proxy) calls three hostlist functions of libslurm (1.9 MB,
	# 0.57 MB on the root disk): the same functions from Debian's libslurm.a of the same version,
	# the rest of the library left out (0.39 MB).  The guest has no munge, so no other Slurm API
	# call could reach slurmctld from there anyway.
	if [ -e "$U/lib/x86_64-linux-gnu/libslurm.so.38" ]; then
		[ -r $MA/libslurm.a ] || die "libslurm.a missing (apt-get install libslurm-dev; or MPICH_SLIM=0)"
		nm -D --defined-only $MA/libslurm.so.38 | awk '{print $3}' | sort -u >"$W/slurm.def"
		for b in $BINS; do nm -D --undefined-only "$b" 2>/dev/null; done | awk '{print $2}' | sed 's/@.*//' |
			sort -u | comm -12 - "$W/slurm.def" >"$W/slurm.used"
		[ -s "$W/slurm.used" ] || die "no binary on the root disk calls libslurm: why is it there?"
		{ echo "{ global:"; sed 's/$/;/' "$W/slurm.used"; echo "local: *; };"; } >"$W/slurm.map"
		gcc -shared -o "$W/libslurm.so.38" -Wl,-soname,libslurm.so.38 -Wl,--version-script="$W/slurm.map" \
			$(sed 's/^/-Wl,-u,/' "$W/slurm.used") -Wl,--gc-sections $MA/libslurm.a -lresolv -lpthread -ldl -lm ||
			die "could not link libslurm.so.38 from $MA/libslurm.a"
		mv "$W/libslurm.so.38" "$U/lib/x86_64-linux-gnu/libslurm.so.38"
	fi
	;;
0) cp -L $MA/libmpich.so.12 "$U/lib/x86_64-linux-gnu/libmpich.so.12" ;;
*) die "MPICH_SLIM must be auto, 1 or 0, not '$MPICH_SLIM'" ;;
esac
# libmpi.so.12 is the name mpicc.mpich links against on the host (ldd of a user's program)
ln -sf libmpich.so.12 "$U/lib/x86_64-linux-gnu/libmpi.so.12"
# glibc dlopen()s libgcc_s for pthread_cancel / unwinding; ldd does not list it
cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$U/lib/x86_64-linux-gnu/"
# MPICH 4.0.2's finalize can hang on a rank that waits in the PMI barrier while a peer still needs
# its UCX progress; this preload keeps UCX progressing there (guest/pmiprogress/pmi_progress.c).
[ -r "${XVG_PMIPROGRESS:-}" ] || die "missing the PMI progress preload (XVG_PMIPROGRESS='${XVG_PMIPROGRESS:-}'; make image builds it)"
install -m 0644 "$XVG_PMIPROGRESS" "$U/lib/x86_64-linux-gnu/libxenvm-pmiprogress.so"
echo /usr/lib/x86_64-linux-gnu/libxenvm-pmiprogress.so > "$R/etc/ld.so.preload"
install -m 0644 "$XVG_PMIPROGRESS" "$R/lib/xenvm/libxenvm-pmiprogress.so"
# A container VM's RDMA set-up (`rdma link add` and the readiness check, guest/rdmadev): the
# agent's code, run under this name
ln -s ../../sbin/xenvm-agent "$R/lib/xenvm/xenvm-rdmadev"
find "$U" -type f \( -name '*.so*' -o -perm -u+x \) -exec strip --strip-unneeded {} + 2>/dev/null || true

# --- configuration
cat > "$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
printf 'hosts: files\npasswd: files\ngroup: files\n' > "$R/etc/nsswitch.conf"
echo "127.0.0.1 localhost" > "$R/etc/hosts"
install -m 0755 "$HERE/rootfs/init" "$R/init"
mkdir -p "$R/root"

# --- pack; reproducible order and timestamps
find "$R" "$U" -exec touch -h -d @0 {} +
mkdir -p "$OUT/$NAME"
case "$COMP" in
zst) INITRD=initrd.zst; PACK="zstd -19 -T0 -q --check" ;;
gz) INITRD=initrd.gz; PACK="gzip -9n" ;;
xz) INITRD=initrd.xz; PACK="xz -9e --check=crc32 -T1" ;;
*) die "COMP must be zst, gz or xz" ;;
esac
(cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) | $PACK > "$W/$INITRD"
UNC=$(du -sb "$R" | cut -f1)
rm -f "$OUT/$NAME"/initrd.* "$OUT/$NAME"/rootdisk.*
mv "$W/$INITRD" "$OUT/$NAME/$INITRD"
# xz with the x86 BCJ filter: the smallest; squashfs decompresses blocks on demand only.
# No fragments: the guest kernel then keeps no fragment cache (3 blocks, 3 MB of kmalloc for good
# with 1 MB blocks) for 0.1 MB more disk; the 1 MB blocks compress 1.3 MB better than 256 KB ones.
# A 512 KB xz dictionary: the guest's decompressor allocates the dictionary for good (vmalloc),
# 0.5 MB less guest RAM than the block-sized default for 0.12 MB more disk (measured 7 Dec:
# 13.46 -> 13.59 MB; 256 KB would cost 0.5 MB of disk).
mksquashfs "$U" "$OUT/$NAME/rootdisk.sqfs" -comp xz -Xbcj x86 -Xdict-size 512K -b 1M -no-fragments -all-root -noappend \
	-mkfs-time 0 -all-time 0 -quiet -no-progress >/dev/null
UNC=$((UNC + $(du -sb "$U" | cut -f1)))
# The drivers derive vmlinuz.vmlinux when it is older than vmlinuz; one of another kernel goes.
rm -f "$OUT/$NAME/vmlinuz.vmlinux"
cp "$KIMG" "$OUT/$NAME/vmlinuz"

# --- catalog fragment (images.yaml syntax, see lib/catalog.h)
ksha=$(sha256sum "$OUT/$NAME/vmlinuz" | cut -d' ' -f1)
isha=$(sha256sum "$OUT/$NAME/$INITRD" | cut -d' ' -f1)
ksz=$(stat -c %s "$OUT/$NAME/vmlinuz")
isz=$(stat -c %s "$OUT/$NAME/$INITRD")
rsha=$(sha256sum "$OUT/$NAME/rootdisk.sqfs" | cut -d' ' -f1)
rsz=$(stat -c %s "$OUT/$NAME/rootdisk.sqfs")
mpiver=$(dpkg-query -W -f='${Version}' libmpich12 | sed 's/-.*//')
ucxver=$(dpkg-query -W -f='${Version}' libucx0 | sed 's/-.*//')
ibvver=$(dpkg-query -W -f='${Version}' libibverbs1 | sed 's/-.*//')
osver=$(. /etc/os-release && echo "$ID-$VERSION_ID")
# xen_blkfront.feature_persistent=0: with persistent grants (QEMU's Xen disk backend offers
# them) blkfront allocates a page for every grant of its ring up front, (32 + 1) x 32 pages =
# 4.1 MiB of a Xen DomU's RAM for good: the difference between its idle memory and QEMU's
# (guest/README.md).  Without, each request's pages are granted and mapped as it goes.
cat > "$OUT/images.yaml" <<EOF
# Generated by guest/mkimage.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ); paths relative to this file.
images:
  $NAME:
    description: "$KDESC, busybox initramfs, MPICH $mpiver (ch4:ucx, hydra), UCX, verbs (rxe)"
    files:
      kernel: {path: $NAME/vmlinuz, sha256: $ksha, size: $ksz}
      initrd: {path: $NAME/$INITRD, sha256: $isha, size: $isz}
      rootdisk: {path: $NAME/rootdisk.sqfs, sha256: $rsha, size: $rsz}
    cmdline: "console=ttyS0 console=hvc0 quiet panic=-1 xen_blkfront.feature_persistent=0"
    attributes:
      os: $osver
      kernel: "$KVER"
      mpi: "mpich-$mpiver ch4:ucx"
      ib: true
      libraries: [ucx-$ucxver, libibverbs-$ibvver, rxe]
    memory: {default: 256M, max: 4G}
    vcpus: {default: 1, max: 16}
    features: [xenvm]
    root_allowed: false
EOF
echo "mkimage: $NAME: $KDESC $ksz + initrd ($COMP) $isz + rootdisk (squashfs xz) $rsz = $((ksz + isz + rsz)) bytes (uncompressed $UNC)"
