#!/bin/bash
# cli.sh - the `xenib` command end to end on a sysfs fixture tree.
#
# Real HCAs are not available here: tests/xenib/mkfixture builds a tree laid out like a
# ConnectX-5 node's /sys (the kernel's documented layout plus the mlx5 vendor sriov/<N>/ files,
# see tests/xenib/fixture.h) and `xenib --root` reads and writes it exactly as it would "/".
# Usage: tests/xenib/cli.sh BUILD_DIR     (prints one line per check, then "xenib-cli: N passed, N failed")
set -u
B=${1:?usage: cli.sh BUILD_DIR}
XENIB=$B/xenib/xenib
MK=$B/tests/xenib/mkfixture
T_SUITE=xenib-cli
# shellcheck source=../lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
roots=()
cleanup() { for r in "${roots[@]+"${roots[@]}"}"; do rm -rf -- "$r"; done; }
t_at_exit cleanup

# expect NAME WANT_STATUS WANT_OUTPUT_REGEX COMMAND...: runs it, checks status and output
expect() {
	local name=$1 want=$2 re=$3 out rc
	shift 3
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" -eq "$want" ] && [[ $out =~ $re ]]; then t_ok "$name"
	else t_ko "$name" "exit $rc (want $want)" "$out"; fi
}

R=$($MK vendor 8) || exit 1
roots+=("$R")
PF=$R/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0
cat >"$R/xenvm.yaml" <<YAML
state_dir: $R/run/xenvm
ib:
  vfs_per_device: 8
  partitions_file: $R/partitions.conf
  pkey: 0x0042
YAML
printf 'Default=0x7fff, ipoib : ALL=full ;\n' >"$R/partitions.conf"
X=("$XENIB" -c "$R/xenvm.yaml" --root "$R" --node node01)

expect "status lists the PF and 8 free VFs" 0 \
	'mlx5_0 +0000:3b:00.0 +8 +8 mlx5-sysfs.*0 +0000:3b:00.1 +mlx5_0 +0 mlx5_core +free' \
	"${X[@]}" status
[ "$("${X[@]}" status | grep -c ' free ')" -eq 8 ] && t_ok "8 slots free" || t_ko "8 slots free"

expect "alloc prints the VF's PCI address and GUIDs" 0 \
	'bdf=0000:3b:00.1 pf=mlx5_0 vf=0 slot=0 node_guid=0x0200e6f978c22000 port_guid=0x0200e6f978c22001' \
	"${X[@]}" alloc --job 42 --vm job42-node01
[ "$(cat "$PF/sriov/0/policy")" = Follow ] && [ "$(cat "$PF/sriov/0/port")" = 02:00:e6:f9:78:c2:20:01 ] &&
	t_ok "GUIDs and policy Follow written" || t_ko "GUIDs and policy Follow written" "$(cat "$PF/sriov/0/policy")"
[ "$(cat "$R/partitions.conf")" = "Default=0x7fff, ipoib : ALL=full ;
xenvm_job_42_node01=0x0042, ipoib : 0x0200e6f978c22001=full ;" ] &&
	t_ok "the job's partition written" || t_ko "the job's partition written" "$(cat "$R/partitions.conf")"
expect "status shows the assignment" 0 '0000:3b:00.1 +mlx5_0 +0 mlx5_core +assigned +42 job42-node01' \
	"${X[@]}" status

for i in 1 2 3 4 5 6 7; do "${X[@]}" alloc --job $((100 + i)) --vm vm$i >/dev/null 2>&1 || t_ko "alloc $i"; done
expect "the ninth VM: no free VF, exit 3" 3 'error: no free VF: all 8 VFs of this node are leased or assigned' \
	"${X[@]}" alloc --job 200 --vm vm8

expect "release --job" 0 'VF 0000:3b:00.1 released.*released 1 VF' "${X[@]}" release --job 42
[ "$(cat "$PF/sriov/0/policy")" = Down ] && t_ok "policy Down after release" || t_ko "policy Down after release"
! grep -q xenvm_job_42_ "$R/partitions.conf" && grep -q xenvm_job_101_node01 "$R/partitions.conf" &&
	t_ok "the job's partition removed, the others kept" ||
	t_ko "the job's partition removed, the others kept" "$(cat "$R/partitions.conf")"
expect "release twice is harmless (Epilog rerun)" 0 '^released 0 VFs$' "${X[@]}" release --job 42
expect "release --vm" 0 'released 1 VF' "${X[@]}" release --vm vm1
! grep -q xenvm_job_101_ "$R/partitions.conf" && t_ok "release --vm updates the partition" ||
	t_ko "release --vm updates the partition" "$(cat "$R/partitions.conf")"
mkdir -p "$R/run/xenvm/job/102"
expect "recover frees jobs without state, keeps job 102" 0 'released 5 VFs' "${X[@]}" recover
[ "$(cat "$R/partitions.conf")" = "Default=0x7fff, ipoib : ALL=full ;
xenvm_job_102_node01=0x0042, ipoib : 0x0200e6f978c22005=full ;" ] &&
	t_ok "recover removes the finished jobs' partitions" ||
	t_ko "recover removes the finished jobs' partitions" "$(cat "$R/partitions.conf")"
expect "job 102 still holds its VF" 0 'assigned +102 vm2' "${X[@]}" status

expect "alloc --no-commit leaves a lease that dies with the command" 0 'bdf=0000:3b:00.1 ' \
	"${X[@]}" alloc --job 300 --vm lease --no-commit
expect "commit of a dead command's lease fails clearly" 1 \
	'job 300 VM lease holds no VF to commit .*reclaimed after its allocator died' \
	"${X[@]}" commit --job 300 --vm lease

# enable on a node with SR-IOV off, then the kernel's part
E=$($MK vendor 0) || exit 1
roots+=("$E")
expect "enable writes sriov_numvfs" 0 "sriov_numvfs <- '8'.*1 PF changed" \
	"$XENIB" --root "$E" --state-dir "$E/run/xenvm" --node n -vv enable --vfs 8
[ "$(cat "$E/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/sriov_numvfs")" = 8 ] &&
	t_ok "sriov_numvfs is 8" || t_ko "sriov_numvfs is 8"
$MK --numvfs "$E" vendor 8
expect "enable again changes nothing" 0 '^0 PFs changed$' \
	"$XENIB" --root "$E" --state-dir "$E/run/xenvm" --node n enable --vfs 8
expect "enable beyond sriov_totalvfs" 1 'sriov_totalvfs: mlx5_0 supports at most 8 VFs, 9 asked' \
	"$XENIB" --root "$E" --state-dir "$E/run/xenvm" --node n enable --vfs 9

N=$($MK nosriov 0) || exit 1
roots+=("$N")
expect "no SR-IOV: enable says which file is missing" 1 \
	'sys/class/infiniband: no InfiniBand device with SR-IOV \(no device/sriov_totalvfs\)' \
	"$XENIB" --root "$N" --state-dir "$N/run/xenvm" --node n enable --vfs 4
expect "no SR-IOV: alloc exits 3" 3 'no free VF: this node has no SR-IOV InfiniBand VFs' \
	"$XENIB" --root "$N" --state-dir "$N/run/xenvm" --node n alloc --job 1 --vm a

expect "usage: unknown command" 2 'usage: xenib' "${X[@]}" frobnicate
expect "usage: alloc without --vm" 2 'usage: xenib' "${X[@]}" alloc --job 1
expect "bad job id" 2 '--job' "${X[@]}" release --job abc
expect "missing config file named with -c" 1 'nonexistent.yaml' "$XENIB" -c /nonexistent.yaml status

t_summary
