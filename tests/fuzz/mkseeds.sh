#!/bin/bash
# Write the seed inputs of the fuzz targets into tests/fuzz/seeds/<target>/ (they are committed;
# rerun this after a format change).  Valid inputs, small, one per shape worth starting from.
set -euo pipefail
S=$(cd "$(dirname "$0")" && pwd)/seeds
rm -rf "$S"
mkdir -p "$S/fuzz_vm_proto" "$S/fuzz_imagecast_wire" "$S/fuzz_request"

# Little-endian (agent protocol) and big-endian (imagecast) integers as printf escapes.
le16() { printf '\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)); }
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
	$(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) \
	$(($1 >> 8 & 255)) $(($1 & 255)); }
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# ---- fuzz_vm_proto: frames as the host reads them from the guest (vm/proto.h)
# frame TYPE CHAN STREAM PAYLOAD-ESCAPES: u32 len, u16 type, u16 stream, u32 chan, payload
frame() {
	local n
	n=$(printf %b "$4" | wc -c)
	printf %b "$(le32 "$n")$(le16 "$1")$(le16 "$3")$(le32 "$2")$4"
}
tlv() { printf '%s%s%s' "$(le16 "$1")" "$(le32 ${#2})" "$2"; }    # tag, string value
tlv32() { printf '%s%s%s' "$(le16 "$1")" "$(le32 4)" "$(le32 "$2")"; } # tag, u32 value
exec_payload=$(tlv 1 srun)$(tlv 1 -n)$(tlv 1 2)$(tlv 1 ./mpi-hello)$(tlv 2 PATH=/usr/bin:/bin)
exec_payload+=$(tlv 2 SLURM_JOB_ID=42)$(tlv 3 /home/alice)$(tlv32 4 1000)$(tlv32 5 1000)
exec_payload+=$(tlv32 7 0)$(tlv32 6 1000)$(tlv32 6 27)$(tlv32 8 3)$(tlv 99 optional)
hello=$(le32 1)$(le32 0)ok
P=$S/fuzz_vm_proto
frame 1 0 0 "$hello" >"$P/hello"
frame 2 $((0x80000001)) 0 "$exec_payload" >"$P/exec"
printf %b "$exec_payload" >"$P/exec-payload"
# the same request on a pseudo-terminal: TTY (tag 9) = 24x80, modes, 32 control characters
tty_value=$(le32 24)$(le32 80)$(le32 0)$(le32 0)$(le32 $((0x500)))$(le32 5)$(le32 $((0xbf)))
tty_value+=$(le32 $((0x8a3b)))$(le32 15)$(le32 15)$(printf '\\x%02x' 3 28 127 21 4 0 1 0 17 19 26 0 18 15 23 22 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)
exec_pty=$exec_payload$(le16 9)$(le32 72)$tty_value
frame 2 $((0x80000002)) 0 "$exec_pty" >"$P/exec-pty"
{
	frame 1 0 0 "$hello"
	frame 2 $((0x80000001)) 0 "$exec_payload"
	frame 3 $((0x80000001)) 0 "$(le32 4242)"
	frame 4 $((0x80000001)) 1 'hello from the host\n'
	frame 5 $((0x80000001)) 1 ''
	frame 6 $((0x80000001)) 0 "$(le32 65536)"
	frame 7 $((0x80000001)) 0 "$(le32 15)"
	frame 8 $((0x80000001)) 0 "$(le32 1)$(le32 15)"
	frame 8 $((0x80000001)) 0 "$(le32 1)$(le32 11)$(le32 $((0x8b)))"
	frame 12 $((0x80000001)) 0 "$(le32 50)$(le32 132)$(le32 0)$(le32 0)"
	frame 9 7 0 "$(le32 2)no such file"
	frame 10 7 0 ''
	frame 11 0 0 ''
} >"$P/session"
frame 4 7 2 'partial' | head -c 14 >"$P/partial"

# ---- fuzz_imagecast_wire: first byte picks the parser (see the harness)
W=$S/fuzz_imagecast_wire
printf %b "H$(be32 $((0x49435354)))\\x02\\x01\\x00\\x00$(be32 180)" >"$W/header-hello"
printf %b "H$(be32 $((0x49435354)))\\x02\\x07\\x00\\x00$(be32 $((4 + 65536)))" >"$W/header-chunk"
# files: kernel (1 chunk), initrd (empty: no chunk), rootdisk (2 chunks of 65536)
ks=$(sha kernel-bytes) is=$(sha '') rs=$(sha rootdisk-bytes)
digest=sha256:$(printf 'kernel %s 12\ninitrd %s 0\nrootdisk %s 100000\n' "$ks" "$is" "$rs" | \
	sha256sum | cut -d' ' -f1)
manifest() { # VERSION DIGEST
	printf 'imagecast-manifest %s\nname ttylinux-mpi\ndigest %s\nchunk_bytes 65536\n' "$1" "$2"
	printf 'file kernel 12 %s ttylinux-mpi/vmlinuz\n' "$ks"
	printf 'file initrd 0 %s ttylinux-mpi/initrd.zst\n' "$is"
	printf 'file rootdisk 100000 %s /srv/images/ttylinux-mpi/rootdisk.sqfs\n' "$rs"
	if [ "$1" = 2 ]; then
		printf 'chunk %s %s\n' "$ks" "$ks" "$(sha chunk0)" "$(sha mid0)" "$(sha chunk1)" "$rs"
	else
		printf 'chunk %s\n' "$ks" "$(sha chunk0)" "$(sha chunk1)"
	fi
}
{ printf M; manifest 2 "$digest"; } >"$W/manifest-v2"
{ printf M; manifest 1 "$digest"; } >"$W/manifest-v1"
{ printf D; manifest 2 "sha256:$(printf '%064d' 0)"; } >"$W/manifest-fixed-digest"
{ printf D; manifest 1 "sha256:$(printf '%064d' 0)" | sed 's/^chunk_bytes .*/chunk_bytes 100000/;/^chunk [0-9a-f]*$/d'; \
	printf 'chunk %s\n' "$ks" "$(sha c1)"; } >"$W/manifest-v1-odd-chunk"
spec() {
	printf 'name ttylinux-mpi\ndigest %s\nshape two-tree\nchunk_bytes 4194304\n' "$digest"
	printf 'store /srv/images\npin 42\nnode node01\nnode node02\nnode login\n'
	printf 'file kernel 12 %s ttylinux-mpi/vmlinuz\n' "$ks"
	printf 'file initrd 0 %s ttylinux-mpi/initrd.zst\n' "$is"
	printf 'file rootdisk 100000 %s ttylinux-mpi/rootdisk.sqfs\n' "$rs"
}
{ printf S; spec; } >"$W/spec"
{ printf S; spec | sed 's/two-tree/pipelined-chain/;/^pin /d;/^store /d'; } >"$W/spec-minimal"
printf 'Nnode[01-16],login' >"$W/hosts-range"
printf 'Nrack[1-2]n[001-004],gpu[7,9-10]' >"$W/hosts-nested"
printf 'Nn[1-2],n1' >"$W/hosts-duplicate"

# ---- fuzz_request: variables as sbatch/srun, slurmctld and the Prolog see them
R=$S/fuzz_request
d=sha256:$(sha image)
printf 'XENVM_IMAGE=ttylinux-mpi\nXENVM_MEM=1G\nXENVM_VCPUS=2\nXENVM_ROOT=yes\nXENVM_VERBOSE=0\nXENVM_DIGEST=%s' "$d" >"$R/env"
printf 'PATH=/usr/bin\nSPANK_XENVM_IMAGE=img.v2\nSPANK_XENVM_MEM=1.5GiB\nSPANK_XENVM_VERBOSE=\nSPANK_XENVM_DIGEST=%s' "$d" >"$R/spank-env"
printf 'XENVM_MEM=512M\nXENVM_VCPUS=512' >"$R/orphan"
printf '512M\n1.5G\n4096\n2TB\n0.5KiB\n90s\n2h\n7d\ntrue\nNo\n' >"$R/values"

# ---- fuzz_qemu_argv: "key=value" lines of a VM spec, as the Prolog builds it (vm/qemu_argv.h)
Q=$S/fuzz_qemu_argv
mkdir -p "$Q"
printf 'name=vm0\njob=42\nmem=536870912\nvcpus=2\ncmdline=rw xenvm.hosts=n1@10.83.0.10,n2@10.83.0.11 xenvm.user=alice:1000:1000\nhostname=n1\nip=10.83.0.10/24\ngw=10.83.0.1\nrootdisk=/var/cache/xenvm/img/rootdisk\ntap=7\nmac=52:54:00:53:00:0a\nshare=/home/alice\nshare=/scratch/job42\n' >"$Q/prolog"
printf 'name=admin1\njob=900001\nmem=268435456\ncmdline=\npci=0000:3b:00.1\nbinary=/opt/qemu/bin/qemu-system-x86_64\nshare=/srv/a,b|/srv/a\n' >"$Q/admin-vf-comma"
printf 'name=vm0\ncmdline=%s\n' "$(head -c 2100 /dev/zero | tr '\0' a)" >"$Q/too-long"
