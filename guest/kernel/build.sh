#!/bin/bash
# build.sh - build (or find cached) slurm-xenvm's guest kernel from Debian's linux-source-6.1.
#
# Usage: guest/kernel/build.sh
# Prints, as its last line on stdout, the cache directory holding the result:
#   vmlinuz         the bzImage (XZ payload: the drivers derive their vmlinux from it)
#   modules/        `make modules_install` tree: modules/lib/modules/<release>/...
#   config          the final .config;  release: `make kernelrelease`;  Module.symvers
#   build.log       the whole build's output
# The directory is named by the source package's version and a hash of what decides the build
# (the config fragment, the recipe version below, the compiler's version): an unchanged
# kernel is never rebuilt on a machine (CI included), and any change builds into a new one.
# The required list does not change what is built: a cached kernel is checked against it anew.
# Environment:
#   XENVM_KERNEL_CACHE  cache root (default /var/cache/slurm-xenvm/kernel); must survive runs
#   KERNEL_JOBS         make -j (default 2)
#   LINUX_SOURCE        the source tarball (default /usr/src/linux-source-6.1.tar.xz)
# Needs: linux-source-6.1 gcc make bc bison flex libelf-dev libssl-dev xz-utils (scripts/deps.txt).
set -euo pipefail
# Everything in main(): bash parses it whole before running it, so editing this file while a
# build runs does not change that build's steps.
main() {
# Bump when the steps below change what they produce (the cache key includes it; comments and
# messages do not need a bump, so editing them does not cost a rebuild).
RECIPE=1
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${XENVM_KERNEL_CACHE:-/var/cache/slurm-xenvm/kernel}
JOBS=${KERNEL_JOBS:-2}
SRC_TAR=${LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
FRAG=$HERE/xenvm-guest.config
REQ=$HERE/required.txt
die() { echo "kernel: $*" >&2; exit 1; }
log() { echo "kernel: $*" >&2; }

[ -r "$SRC_TAR" ] || die "missing $SRC_TAR (apt-get install linux-source-6.1)"
[ -r "$FRAG" ] || die "missing $FRAG"
[ -r "$REQ" ] || die "missing $REQ"
for t in gcc make bc bison flex xz tar perl; do
	command -v $t >/dev/null || die "missing tool: $t (scripts/deps.txt)"
done
[ -r /usr/include/libelf.h ] || die "missing libelf.h (apt-get install libelf-dev)"
[ -r /usr/include/openssl/opensslv.h ] || die "missing OpenSSL headers (apt-get install libssl-dev)"

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
	die "linux-source-6.1 is not installed (apt-get install linux-source-6.1)"
hash=$( { echo "recipe $RECIPE"; cat "$FRAG"; gcc --version | head -1; } | sha256sum | cut -c1-16)
KEY=$srcver-$hash
OUT=$CACHE/$KEY
if [ -e "$OUT/done" ]; then
	bash "$HERE/check-config.sh" "$OUT/config" "$REQ" ||
		die "the cached kernel $OUT lacks options the guest needs (fix guest/kernel/xenvm-guest.config)"
	log "cached: $OUT"
	echo "$OUT"
	exit 0
fi

mkdir -p "$CACHE" || die "cannot create the cache directory $CACHE (set XENVM_KERNEL_CACHE)"
# One build per key at a time (two `make image` on one machine): the second waits, then finds it.
exec 9>"$CACHE/.lock-$KEY"
flock 9
if [ -e "$OUT/done" ]; then
	bash "$HERE/check-config.sh" "$OUT/config" "$REQ" ||
		die "the cached kernel $OUT lacks options the guest needs (fix guest/kernel/xenvm-guest.config)"
	log "cached: $OUT"
	echo "$OUT"
	exit 0
fi

W=$OUT.tmp
rm -rf "$W" "$OUT"
mkdir -p "$W/src"
LOG=$W/build.log
: >"$LOG"
t0=$(date +%s)
fail() {
	echo "kernel: FAILED: $*; last lines of $LOG:" >&2
	tail -n 40 "$LOG" | sed 's/^/  | /' >&2
	exit 1
}
log "building the guest kernel ($KEY) in $W: linux-source-6.1 $srcver, make -j$JOBS"
tar -xf "$SRC_TAR" -C "$W/src" --strip-components=1 || die "cannot unpack $SRC_TAR"
cd "$W/src"
# Reproducible: the same key gives the same kernel, whoever builds it.
export KBUILD_BUILD_TIMESTAMP="Debian linux-source-6.1 $srcver" KBUILD_BUILD_USER=xenvm \
	KBUILD_BUILD_HOST=slurm-xenvm ARCH=x86_64
# allnoconfig with these fragments, in order (the later wins): `make tinyconfig`'s two, the
# kernel's own kvm_guest.config and xen.config, then ours.
frags="kernel/configs/tiny.config arch/x86/configs/tiny.config kernel/configs/kvm_guest.config
       kernel/configs/xen.config arch/x86/configs/xen.config $FRAG"
for f in $frags; do [ -r "$f" ] || die "missing config fragment $f in $SRC_TAR"; done
scripts/kconfig/merge_config.sh -n $frags >>"$LOG" 2>&1 || fail "merge_config.sh"
# merge_config reports each requested value Kconfig did not keep (a dependency missing, or a
# choice): kept beside the result for whoever edits the fragment; required.txt below decides.
sed -n '/^Value requested for/,+2p' "$LOG" >"$W/unmet.txt"
[ -s "$W/unmet.txt" ] && log "$(grep -c '^Value requested for' "$W/unmet.txt") requested values not kept by Kconfig (unmet.txt in the result)"
bash "$HERE/check-config.sh" .config "$REQ" ||
	die "the final .config lacks options the guest needs (fix guest/kernel/xenvm-guest.config)"

# Progress: a line per 250 objects built, so a long build is not silent.
progress() {
	local n=0 line
	while IFS= read -r line; do
		case "$line" in
		"  CC "* | "  AR "* | "  LD "*)
			n=$((n + 1))
			[ $((n % 250)) = 0 ] && echo "kernel: $n objects built, $(($(date +%s) - t0)) s" >&2
			;;
		esac
	done
	return 0
}
set +o pipefail
make -j"$JOBS" bzImage modules 2>&1 | tee -a "$LOG" | progress
rc=${PIPESTATUS[0]}
set -o pipefail
[ "$rc" = 0 ] || fail "make bzImage modules (exit $rc)"
release=$(make -s kernelrelease)
mkdir -p "$W/modules"
make -s INSTALL_MOD_PATH="$W/modules" INSTALL_MOD_STRIP=1 modules_install >>"$LOG" 2>&1 ||
	fail "make modules_install"
# Not links into the source tree, which goes below.
rm -f "$W/modules/lib/modules/$release/build" "$W/modules/lib/modules/$release/source"
cp arch/x86/boot/bzImage "$W/vmlinuz"
cp .config "$W/config"
cp Module.symvers "$W/Module.symvers"
echo "$release" >"$W/release"
cd /
rm -rf "$W/src"
t1=$(date +%s)
echo "$((t1 - t0))" >"$W/build-seconds"
touch "$W/done"
mv "$W" "$OUT"
log "built $release in $((t1 - t0)) s: $OUT (vmlinuz $(stat -c %s "$OUT/vmlinuz") bytes)"
echo "$OUT"
}
main "$@"
exit
