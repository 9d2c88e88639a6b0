#!/bin/bash
# build-vm-image.sh OUTDIR BYO_TARBALL — a whole VM image with its own kernel, made the way
# guest/byo/README.md tells a user to (the Debian recipe), for the whole-VM import test:
#
#   OUTDIR/vmlinuz       Debian 12's packaged kernel: the newest linux-image-6.1.0-N-amd64 on the
#                        mirror that is not the host's (the site image's) kernel
#   OUTDIR/initrd.img    its initramfs-tools initrd, with the modules xenvm-byo(7) lists
#   OUTDIR/root.raw      the root file system: ext4, raw (mke2fs -d), with the byo package
#   OUTDIR/root.qcow2    the same disk as qcow2
#   OUTDIR/vm.env        VM_KVER (the kernel's version), VM_BUILD_SECONDS, VM_KEY
#
# The disk holds Debian 12 minbase, kmod, iproute2, the kernel package and the byo package
# (xenvm-agent, xenvm-init).  Unlike a user's image, its /lib/modules is pruned after the initrd
# is made (the initrd loads all the guest needs): 60 MB instead of 400.
# Cached like build-images.sh: /var/cache/slurm-xenvm/oci-test/vm-KEY, KEY hashing this script,
# the tarball and the mirror's candidate versions; under the same lock.  Needs root, mmdebstrap,
# e2fsprogs, qemu-img.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
self="$here/$(basename "$0")"
out=${1:?usage: build-vm-image.sh OUTDIR BYO_TARBALL}
byo=$(readlink -f "${2:?usage: build-vm-image.sh OUTDIR BYO_TARBALL}")
mirror=${XENVM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${XENVM_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
cache_root=${XENVM_OCI_CACHE:-/var/cache/slurm-xenvm/oci-test}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
# The kernel: Debian's packaged 6.1, but another ABI version than the host's (whose kernel the
# site's image ttylinux-mpi boots), so the image's kernel is its own, not the site's.
site_kernels=$(dpkg-query -W -f '${Package}\n' 'linux-image-6.1.0-*-amd64' 2>/dev/null | tr '\n' ' ')
kpkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | cut -d' ' -f1 |
	grep -vxF -f <(printf '%s\n' _none_ $site_kernels) | sort -V | tail -1)
[ -n "$kpkg" ] || { echo "build-vm-image.sh: no Debian kernel other than the host's ($site_kernels) on the mirror" >&2; exit 1; }
pkgs="$kpkg initramfs-tools kmod iproute2"
# What the initrd must load for xenvm-init (xenvm-byo(7)): disk, root file system, overlay,
# the agent's channel, the network, the 9p shares.
modules="virtio_pci virtio_blk virtio_net virtio_console ext4 overlay 9pnet_virtio 9p"

die() { echo "build-vm-image.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root"
for t in mmdebstrap mke2fs qemu-img apt-cache; do
	command -v "$t" >/dev/null || die "$t is missing (scripts/install-deps)"
done
[ -r "$byo" ] || die "no byo tarball $byo (make byo)"

key=$({
	sha256sum "$self" "$byo" | cut -d' ' -f1
	echo "$mirror $security $SOURCE_DATE_EPOCH $modules"
	# shellcheck disable=SC2086
	for p in base-files libc6 $pkgs; do
		printf '%s %s\n' "$p" "$(apt-cache policy "$p" | awk '/Candidate:/ {print $2}')"
	done
} | sha256sum | cut -c1-16)
cache="$cache_root/vm-$key"
mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9

if [ -f "$cache/vm.env" ] && [ "${XENVM_OCI_REBUILD:-0}" != 1 ]; then
	echo "build-vm-image.sh: cached ($cache)"
else
	t0=$(date +%s)
	rm -rf "$cache"
	work=$(mktemp -d "$cache_root/.vmbuild.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$work'" EXIT
	mkdir -p "$work/out"
	echo "build-vm-image.sh: mmdebstrap bookworm minbase + $pkgs + the byo package"
	# shellcheck disable=SC2016
	mmdebstrap --variant=minbase --include="${pkgs// /,}" \
		--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--customize-hook="copy-in $byo /tmp" \
		--customize-hook='tar -xzf "$1/tmp/'"$(basename "$byo")"'" -C "$1" && rm "$1/tmp/'"$(basename "$byo")"'"' \
		--customize-hook="printf '%s\n' $modules >\"\$1/etc/initramfs-tools/modules\"" \
		--customize-hook='printf "MODULES=list\nCOMPRESS=gzip\n" >"$1/etc/initramfs-tools/conf.d/xenvm"' \
		--customize-hook='chroot "$1" update-initramfs -u -k all' \
		--customize-hook='chroot "$1" apt-get clean' \
		--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
		bookworm "$work/root" \
		"deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
		"deb $security bookworm-security main"
	r=$work/root
	kver=$(basename "$(ls -d "$r"/lib/modules/*)")
	cp "$r/boot/vmlinuz-$kver" "$work/out/vmlinuz"
	cp "$r/boot/initrd.img-$kver" "$work/out/initrd.img"
	chroot "$r" lsinitramfs "/boot/initrd.img-$kver" >"$work/initrd.list"
	for m in $modules; do
		grep -q "/$m\.ko" "$work/initrd.list" ||
			grep -qw "$m" "$r/lib/modules/$kver/modules.builtin" ||
			die "module $m is neither in the initrd nor built in"
	done
	rm -rf "$r/lib/modules/$kver/kernel" "$r/boot/"*
	find "$r/dev" -mindepth 1 -delete
	size=$(( $(du -sm "$r" | cut -f1) * 13 / 10 + 32 ))
	E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mke2fs -q -t ext4 -d "$r" \
		-U 6b2f7f1e-0e1c-4c3a-9a39-0c0a2f0b7e16 -E hash_seed=6b2f7f1e-0e1c-4c3a-9a39-0c0a2f0b7e16 \
		-L xenvm-byo "$work/out/root.raw" "${size}M"
	qemu-img convert -q -f raw -O qcow2 "$work/out/root.raw" "$work/out/root.qcow2"
	t1=$(date +%s)
	{
		echo "VM_KEY=$key"
		echo "VM_KVER=$kver"
		echo "VM_BUILD_SECONDS=$((t1 - t0))"
	} >"$work/out/vm.env"
	mv "$work/out" "$cache"
	echo "build-vm-image.sh: built in $((t1 - t0)) s ($cache)"
fi
mkdir -p "$out"
cp -a "$cache/." "$out/"
