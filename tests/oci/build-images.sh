#!/bin/bash
# build-images.sh OUTDIR — the test container images of the OCI import tests, built from Debian's
# mirror alone (no registry, no internet): see tests/oci/README.md for what each image holds.
#
#   OUTDIR/oci/                OCI layout: tags v1 (Debian 12 minbase + libmpich12 + /usr/local/bin/
#                              allreduce, compiled inside that root) and v2 (v1 + the `hello` package,
#                              one more layer on v1's; the base layer is shared)
#   OUTDIR/v1.oci.tar          v1 as an oci-archive (skopeo copy)
#   OUTDIR/v1.docker.tar       v1 as a docker-archive (skopeo copy; what `docker save` writes)
#   OUTDIR/layers/             OCI layout, tag `test`: whiteouts, an opaque directory, hard links,
#                              symlinks out of the root, a device node, a setuid file and files
#                              owned by 1000:1000 and by daemon in a layer
#   OUTDIR/images.env          shell variables: digests, sizes, the cache key, the build time
#
# The images are built once per cache key (the script's and allreduce.c's hashes and the mirror's
# candidate versions of the packages that go in) under $XENVM_OCI_CACHE (default
# /var/cache/slurm-xenvm/oci-test/KEY), under a lock so concurrent suites build once; OUTDIR gets a
# copy.  XENVM_OCI_REBUILD=1 builds again.  Timestamps are fixed (SOURCE_DATE_EPOCH) so a rebuild of
# the same inputs gives the same root file systems.
#
# Needs root, mmdebstrap, umoci, skopeo, busybox-static and Debian's mirror (XENVM_DEBIAN_MIRROR,
# default http://deb.debian.org/debian).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
self="$here/$(basename "$0")"
out=${1:?usage: build-images.sh OUTDIR}
mirror=${XENVM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${XENVM_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
cache_root=${XENVM_OCI_CACHE:-/var/cache/slurm-xenvm/oci-test}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

# What goes into the images: the runtime keeps libmpich12; mpich's compiler wrapper, its headers
# and gcc are the build stage's only and are purged before the root is packed.
runtime_pkgs=libmpich12
build_pkgs="libmpich-dev gcc"
v2_extra=hello

die() { echo "build-images.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap's root mode, mknod and setuid files in the layer image)"
for t in mmdebstrap umoci skopeo sha256sum apt-cache; do
	command -v "$t" >/dev/null || die "$t is missing (scripts/install-deps installs it)"
done
[ -x /bin/busybox ] || die "/bin/busybox is missing (busybox-static)"

# The cache key: everything the images are made from.  The package versions are the mirror's
# candidates as the host's apt index has them (the host is Debian 12 on the same mirror); a mirror
# update that changes one of them builds anew.
key_input() {
	sha256sum "$self" "$here/allreduce.c" | cut -d' ' -f1
	echo "$mirror $security $SOURCE_DATE_EPOCH"
	# shellcheck disable=SC2086
	for p in base-files libc6 $runtime_pkgs $build_pkgs $v2_extra busybox-static; do
		printf '%s %s\n' "$p" "$(apt-cache policy "$p" | awk '/Candidate:/ {print $2}')"
	done
}
key=$(key_input | sha256sum | cut -c1-16)
cache="$cache_root/$key"

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9

if [ -f "$cache/images.env" ] && [ "${XENVM_OCI_REBUILD:-0}" != 1 ]; then
	echo "build-images.sh: cached ($cache)"
else
	t0=$(date +%s)
	rm -rf "$cache"
	work=$(mktemp -d "$cache_root/.build.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$work'" EXIT
	mkdir -p "$work/out"

	# --- v1: Debian 12 minbase, libmpich12, allreduce built inside the root -----------------
	# The docs, man pages and locales are left out (size); apt's lists and caches are emptied.
	echo "build-images.sh: mmdebstrap bookworm (minbase + $runtime_pkgs; build stage: $build_pkgs)"
	# shellcheck disable=SC2016
	# Merged /usr the way debootstrap makes it (the hook), not by the usrmerge package, which
	# would leave perl in the image.
	mmdebstrap --variant=minbase --include="$runtime_pkgs" \
		--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--customize-hook='mkdir -p "$1/usr/local/src"' \
		--customize-hook="copy-in $here/allreduce.c /usr/local/src" \
		--customize-hook="chroot \"\$1\" apt-get install -y -q --no-install-recommends $build_pkgs" \
		--customize-hook='chroot "$1" mpicc -O2 -o /usr/local/bin/allreduce /usr/local/src/allreduce.c' \
		--customize-hook="chroot \"\$1\" apt-get purge -y -q --autoremove -o APT::AutoRemove::RecommendsImportant=false -o APT::AutoRemove::SuggestsImportant=false $build_pkgs" \
		--customize-hook='chroot "$1" apt-get clean' \
		--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/apt/* "$1"/var/cache/ldconfig/aux-cache' \
		--customize-hook='test -x "$1/usr/local/bin/allreduce"' \
		bookworm "$work/rootfs" \
		"deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
		"deb $security bookworm-security main"
	# The libraries the program needs are all in the root (no gcc, no mpicc left).
	chroot "$work/rootfs" sh -c '! command -v gcc && ! command -v mpicc && ldd /usr/local/bin/allreduce' \
		| grep -q 'libmpi' || die "allreduce does not link the root's MPICH, or the build stage was not purged"

	# A container image carries no device nodes (the runtime makes /dev); mmdebstrap made some.
	find "$work/rootfs/dev" -mindepth 1 -delete
	# Fixed timestamps: the same content packs the same way on every rebuild.
	find "$work/rootfs" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch -h -d "@$SOURCE_DATE_EPOCH"

	oci="$work/out/oci"
	created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
	umoci init --layout "$oci"
	umoci new --image "$oci:v1"
	umoci config --image "$oci:v1" --created "$created" --author slurm-xenvm-tests \
		--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--config.env XENVM_TEST_IMAGE=v1 --config.workingdir /root \
		--config.cmd /bin/bash --os linux --architecture amd64
	umoci unpack --image "$oci:v1" "$work/b1"
	# umoci unpack made an empty rootfs with its mtree; fill it with the built root and pack.
	cp -a "$work/rootfs/." "$work/b1/rootfs/"
	umoci repack --image "$oci:v1" --history.created "$created" \
		--history.created_by "mmdebstrap bookworm minbase + $runtime_pkgs, allreduce" "$work/b1"

	# --- v2: v1 plus one small package, as a layer on v1's --------------------------------
	echo "build-images.sh: v2 = v1 + $v2_extra"
	umoci config --image "$oci:v1" --tag v2 --created "$created" --config.env XENVM_TEST_IMAGE=v2
	umoci unpack --image "$oci:v2" "$work/b2"
	(cd "$work" && apt-get download -q "$v2_extra" >/dev/null)
	cp "$work"/"${v2_extra}"_*.deb "$work/b2/rootfs/tmp/extra.deb"
	chroot "$work/b2/rootfs" dpkg -i /tmp/extra.deb >/dev/null
	rm -f "$work/b2/rootfs/tmp/extra.deb" "$work/b2/rootfs/var/log/dpkg.log"
	find "$work/b2/rootfs" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch -h -d "@$SOURCE_DATE_EPOCH"
	umoci repack --image "$oci:v2" --history.created "$created" \
		--history.created_by "dpkg -i $v2_extra" "$work/b2"

	# --- the layer test image -------------------------------------------------------------
	# Layer 1: busybox (a /bin/sh) and the files layer 2 removes or shadows.  Layer 2 is a tar
	# written by hand (GNU tar), since the point is its entries: whiteouts, an opaque directory,
	# hard links, symlinks out of the root, a device node, a setuid file.
	echo "build-images.sh: the layer test image"
	lay="$work/out/layers"
	umoci init --layout "$lay"
	umoci new --image "$lay:test"
	umoci config --image "$lay:test" --created "$created" --os linux --architecture amd64 \
		--config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin --config.cmd /bin/sh
	umoci unpack --image "$lay:test" "$work/b3"
	r="$work/b3/rootfs"
	mkdir -p "$r/bin" "$r/etc" "$r/opaque/sub" "$r/keep" "$r/gone-dir"
	cp /bin/busybox "$r/bin/busybox"
	ln -s busybox "$r/bin/sh"
	echo "root:x:0:0:root:/root:/bin/sh" >"$r/etc/passwd"
	echo "layer1" >"$r/keep/kept"
	echo "layer1" >"$r/keep/removed"
	echo "layer1" >"$r/opaque/old"
	echo "layer1" >"$r/opaque/sub/old"
	echo "layer1" >"$r/gone-dir/file"
	find "$r" -print0 | xargs -0r touch -h -d "@$SOURCE_DATE_EPOCH"
	umoci repack --image "$lay:test" --history.created "$created" --history.created_by layer1 "$work/b3"

	l2="$work/l2"
	mkdir -p "$l2/keep" "$l2/opaque" "$l2/links" "$l2/dev" "$l2/usr/bin"
	: >"$l2/keep/.wh.removed"                 # whiteout: keep/removed is gone
	: >"$l2/.wh.gone-dir"                     # whiteout of a whole directory
	: >"$l2/opaque/.wh..wh..opq"              # opaque: opaque/old and opaque/sub are gone
	echo "layer2" >"$l2/opaque/new"
	echo "hardlinked" >"$l2/links/a"
	ln "$l2/links/a" "$l2/links/b"            # hard link within the layer
	ln -s /etc/shadow "$l2/links/abs-out"     # absolute: resolves inside the guest's root
	ln -s ../../../../../../etc/shadow "$l2/links/rel-out"   # climbs out of the root
	mknod "$l2/dev/evil-mem" c 1 1            # /dev/mem: must be dropped
	mknod "$l2/dev/evil-sda" b 8 0            # a disk: must be dropped
	cp /bin/busybox "$l2/usr/bin/suid-sh"
	chmod 4755 "$l2/usr/bin/suid-sh"          # setuid root: kept, for the guest only
	mkdir -p "$l2/home/alice" "$l2/srv"       # owners that are not root's: kept in the root disk
	echo "alice's" >"$l2/home/alice/data"
	chown -R 1000:1000 "$l2/home/alice"
	echo "daemon's" >"$l2/srv/daemon-file"
	chown 1:1 "$l2/srv/daemon-file"           # daemon
	find "$l2" -print0 | xargs -0r touch -h -d "@$SOURCE_DATE_EPOCH"
	(cd "$l2" && tar --sort=name --numeric-owner --format=posix \
		--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
		-cf "$work/layer2.tar" .)
	umoci raw add-layer --image "$lay:test" --history.created "$created" \
		--history.created_by "layer2: whiteouts, opaque, links, devices, setuid" "$work/layer2.tar"
	umoci gc --layout "$oci"
	umoci gc --layout "$lay"

	# --- archives of v1 ------------------------------------------------------------------
	skopeo copy -q "oci:$oci:v1" "oci-archive:$work/out/v1.oci.tar:v1"
	skopeo copy -q "oci:$oci:v1" "docker-archive:$work/out/v1.docker.tar:xenvm-test/mpich:v1"

	t1=$(date +%s)
	digest() { skopeo inspect --format '{{.Digest}}' "$1"; }
	config_digest() { skopeo inspect --raw "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])'; }
	{
		echo "# written by tests/oci/build-images.sh; paths are relative to this file's directory"
		echo "OCI_KEY=$key"
		echo "OCI_BUILD_SECONDS=$((t1 - t0))"
		echo "OCI_BUILT_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "OCI_V1_DIGEST=$(digest "oci:$oci:v1")"
		echo "OCI_V2_DIGEST=$(digest "oci:$oci:v2")"
		echo "OCI_V1_CONFIG=$(config_digest "oci:$oci:v1")"
		echo "OCI_LAYERS_DIGEST=$(digest "oci:$lay:test")"
		echo "OCI_V1_OCI_ARCHIVE_BYTES=$(stat -c %s "$work/out/v1.oci.tar")"
		echo "OCI_V1_DOCKER_ARCHIVE_BYTES=$(stat -c %s "$work/out/v1.docker.tar")"
		echo "OCI_V1_ROOTFS_BYTES=$(du -sb --apparent-size "$work/b1/rootfs" | cut -f1)"
	} >"$work/out/images.env"
	mv "$work/out" "$cache"
	echo "build-images.sh: built in $((t1 - t0)) s ($cache)"
fi

mkdir -p "$out"
rm -rf "${out:?}/oci" "$out/layers"
cp -a "$cache/." "$out/"
