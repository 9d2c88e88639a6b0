#!/bin/bash
# --vm-require and a catalog that never stalls slurmctld (issue 15), on a real cluster:
# sbatch/srun --vm-require -> spank_xenvm.so -> job_submit/vmimage (the reload thread's catalog,
# matching, pinning) -> the Prolog -> the job's output.  Then pathological catalogs (a FIFO at the
# path, deep nesting, a huge file that fails at its end) while other users submit: their jobs go
# through while the catalog loads, and the last good catalog stays in force.
# Prints "require: N passed, N failed".
#
# Usage: tests/cluster/test_require.sh   (root; builds nothing: run `make all image` first)
T_SUITE=require
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"

export XENVM_CLUSTER_DIR=${XENVM_CLUSTER_DIR:-$repo/build/cluster-rq}
BASE=$XENVM_CLUSTER_DIR
CL=$here/cluster
U=xvuser U2=xvuser2
ETC=$BASE/etc
LOG=$BASE/log/slurmctld.log
T_LOGS=("$LOG" "$BASE/log/slurmd-node1.log")

# shellcheck source=vmcluster.sh
source "$here/vmcluster.sh"

SHA1=1111111111111111111111111111111111111111111111111111111111111111
fake_image() { # name, attributes, [extra line]
	printf '  %s:\n    files:\n      kernel: {path: %s/k, sha256: %s, size: 1}\n' "$1" "$1" "$SHA1"
	printf '      initrd: {path: %s/i, sha256: %s, size: 1}\n    attributes: %s\n' "$1" "$SHA1" "$2"
	[ -z "${3:-}" ] || printf '    %s\n' "$3"
}

# The real image (os: debian-12, mpi: "mpich-... ch4:ucx", ib: true: mkimage.sh's legacy forms)
# and images that never boot, to choose among.
write_catalog() {
	{
		sed -e 's/^    memory: .*/    memory: {default: 256M, max: 1G}/' \
			-e 's/^    vcpus: .*/    vcpus: {default: 1, max: 2}/' "$repo/build/images/images.yaml"
		fake_image deb11-mpich '{os: debian, os_version: 11, mpi: mpich, mpi_version: 3.4, ib: true}'
		fake_image deb13-openmpi '{os: debian, os_version: 13, mpi: openmpi, ib: true}'
		fake_image alma9 '{os: almalinux, os_version: 9.4, mpi: mpich, ib: false}'
		fake_image secret-deb13 '{os: debian, os_version: 13, mpi: mpich, ib: true}' \
			'allow: {users: [nobody-we-know]}'
		fake_image ttylinux-mpi-old '{os: debian, os_version: 11, mpi: mpich, ib: true}'
	} >"$ETC/images.yaml.new"
	mv "$ETC/images.yaml.new" "$ETC/images.yaml"
}

setup() {
	mkdir -p "$ETC"
	vmcluster_config "$BASE" xvrq 10.81.5 2 || return 1
	write_catalog
	"$CL" up
}

SHOW='echo "image=$XENVM_VM_IMAGE digest=$XENVM_VM_DIGEST"'
as_user() { "$CL" run --user "$U" -- "$@"; }
as_user2() { "$CL" run --user "$U2" -- "$@"; }
ctl() { "$CL" run -- "$@"; }
jobid_of() { sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' <<<"$1"; }
# The user's live jobs, counted; squeue failing fails the count (not a silent 0).
user_jobs() {
	local out
	out=$(ctl squeue -h -u "$U" -t PENDING,RUNNING,SUSPENDED -o %i) || return 1
	awk 'NF { n++ } END { print n + 0 }' <<<"$out"
}

wait_job() {
	local id=$1 st="" k
	for ((k = 0; k < 600; k++)); do
		st=$(ctl scontrol show job "$id" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
		case $st in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) break ;; esac
		sleep 0.1
	done
	echo "$st"
}

# Wait (up to $2 s) until slurmctld's log, past line $3, matches $1.
wait_log() {
	local k
	for ((k = 0; k < $2 * 10; k++)); do
		tail -n +"$3" "$LOG" | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}

now_ms() { date +%s%3N; }

# Submit, as two other users, a plain job and a held VM job; report each one's time.
submit_others() { # $1: label
	local t0 t1 id
	t0=$(now_ms)
	t_run_ok as_user2 sbatch -N1 --wrap true
	t1=$(now_ms)
	echo "    $1: plain sbatch by $U2 took $((t1 - t0)) ms"
	t0=$(now_ms)
	t_run_ok as_user sbatch -H -N1 --vm-image=ttylinux-mpi --wrap true
	t1=$(now_ms)
	echo "    $1: VM sbatch by $U took $((t1 - t0)) ms"
	id=$(jobid_of "$T_OUT")
	[ -z "$id" ] || ctl scancel "$id"
}

# ------------------------------------------------------------------------------------------
t_begin "cluster comes up with the plugins, Prolog and Epilog"
t_need "$repo/build/plugins/spank_xenvm.so" "$repo/build/plugins/job_submit_vmimage.so" \
	"$repo/build/prolog/xenvm-prolog" "$repo/build/images/images.yaml" || { t_summary; exit 1; }
t_run_ok setup || { t_summary; exit 1; }

t_begin "srun --help lists --vm-require"
t_run_ok ctl srun --help
t_match -- '--vm-require=TERMS' "$T_OUT" "srun --help"

t_begin "sbatch --vm-require: the best image the user may use, named at submit and in the output"
out=/home/$U/rq-match.out
rm -f "$out"
# secret-deb13 would win (os_version 13) but is not for this user
t_run_ok as_user sbatch -N1 --vm-require='os=debian,os_version>=12,mpi=mpich,ib' -o "$out" \
	--wrap "$SHOW"
t_match "xenvm: --vm-require matched ttylinux-mpi \(sha256:[0-9a-f]{64}\)" "$T_ERR" "sbatch stderr"
digest=$(sed -n 's/.*matched ttylinux-mpi (\(sha256:[0-9a-f]*\)).*/\1/p' <<<"$T_ERR")
id=$(jobid_of "$T_OUT")
t_eq COMPLETED "$(wait_job "$id")" "job state"
t_match "^xenvm: --vm-require matched ttylinux-mpi \($digest\)$" "$(cat "$out")" "the job's output"
t_match "image=ttylinux-mpi digest=$digest" "$(cat "$out")" "the VM the job ran in"

t_begin "XENVM_REQUIRE in the environment works the same (held job, then cancelled)"
t_run_ok as_user env XENVM_REQUIRE='os=debian,os_version<12' sbatch -H -N1 --wrap true
t_match "xenvm: --vm-require matched deb11-mpich \(sha256:" "$T_ERR" "sbatch stderr"
ctl scancel "$(jobid_of "$T_OUT")"

before=$(user_jobs)
t_begin "no match: the closest images the user may use, each with the terms it misses"
t_run_fails as_user sbatch -N1 --vm-require='os=debian,os_version>=14,mpi=mpich,ib' --wrap true
t_match "xenvm: no image you may use matches --vm-require='os=debian,os_version>=14,mpi=mpich,ib'; closest: ttylinux-mpi misses os_version>=14 \(has 12\); deb11-mpich misses os_version>=14 \(has 11\); ttylinux-mpi-old misses os_version>=14 \(has 11\)" "$T_ERR" "sbatch stderr"
t_nomatch "secret-deb13" "$T_ERR" "an image the user may not use"
t_run_fails as_user srun -N1 --vm-require='!ib,os=debian' true
t_match "closest: .*misses !ib \(has true\)" "$T_ERR" "srun stderr"

t_begin "--vm-image with --vm-require narrows to a family"
t_run_ok as_user sbatch -H -N1 --vm-image=ttylinux-mpi --vm-require='os_version<12' --wrap true
t_match "xenvm: --vm-require matched ttylinux-mpi-old \(sha256:" "$T_ERR" "sbatch stderr"
ctl scancel "$(jobid_of "$T_OUT")"
t_run_fails as_user sbatch -N1 --vm-image=deb11-mpich --vm-require='os_version>=12' --wrap true
t_match "no image you may use matches --vm-require='os_version>=12' in family 'deb11-mpich'; closest: deb11-mpich misses os_version>=12 \(has 11\)" "$T_ERR" "sbatch stderr"

t_begin "bad requirements are refused at the prompt, naming the term"
t_run_fails as_user sbatch -N1 --vm-require='os>=12' --wrap true
t_match "xenvm: --vm-require: 'os>=12': os is a name, compared with = or != only" "$T_ERR" "sbatch stderr"
t_run_fails as_user env XENVM_REQUIRE='os=debian,,ib' sbatch -N1 --wrap true
t_match "xenvm: XENVM_REQUIRE: an empty term" "$T_ERR" "sbatch stderr"
t_run_fails as_user sbatch -N1 --vm-mem=1G --wrap true
t_match "xenvm: --vm-mem needs --vm-image=NAME or --vm-require=TERMS" "$T_ERR" "sbatch stderr"
t_eq "$before" "$(user_jobs)" "the user's job count (refused jobs were not created)"

# ---- the catalog never stalls slurmctld ----------------------------------------------------
cp "$ETC/images.yaml" "$BASE/images.good"

t_begin "a FIFO at the catalog's path: other users' jobs go through, the last good catalog stays"
lines=$(wc -l <"$LOG")
rm -f "$ETC/images.yaml" && mkfifo -m 644 "$ETC/images.yaml"
wait_log "images.yaml: not a regular file .*keeping the last good catalog" 10 "$lines" ||
	t_fail "slurmctld's log does not say the FIFO was refused"
submit_others "FIFO"
t_run_ok as_user sbatch -H -N1 --vm-require='os=almalinux' --wrap true
t_match "matched alma9 " "$T_ERR" "--vm-require against the last good catalog"
ctl scancel "$(jobid_of "$T_OUT")"
rm -f "$ETC/images.yaml"

t_begin "deep nesting is refused at its line, fast; jobs go through"
lines=$(wc -l <"$LOG")
{ printf 'images:\n  x: '; head -c 5000000 /dev/zero | tr '\0' '['; echo; } >"$ETC/images.yaml.new"
mv "$ETC/images.yaml.new" "$ETC/images.yaml"
wait_log "images.yaml:2:[0-9]+: nested deeper than 64 levels: refused" 10 "$lines" ||
	t_fail "slurmctld's log does not refuse the nesting"
submit_others "deep nesting"

t_begin "a huge catalog that fails at its end: jobs go through while it loads, the last good stays"
lines=$(wc -l <"$LOG")
{
	echo "images:"
	# within every bound (64 MiB, 2,000,000 nodes) but slow: 60,000 images with long descriptions
	desc=$(head -c 700 /dev/zero | tr '\0' 'x')
	for ((i = 0; i < 60000; i++)); do
		printf '  big-%d:\n    description: %s\n    files:\n      kernel: {path: k, sha256: %s, size: 1}\n      initrd: {path: i, sha256: %s, size: 1}\n    attributes: {os: debian, os_version: 12, ib: true}\n' "$i" "$desc" "$SHA1" "$SHA1"
	done
	echo "  zz-broken: {files: {kernel: {path: k}}, memroy: 1}"
} >"$ETC/images.yaml.new"
ls -l "$ETC/images.yaml.new" | awk '{print "    catalog of " $5 " bytes"}'
mv "$ETC/images.yaml.new" "$ETC/images.yaml"
wait_log "catalog $ETC/images.yaml changed: loading it" 10 "$lines" ||
	t_fail "slurmctld's log does not show the load starting"
submit_others "huge catalog"
if tail -n +"$lines" "$LOG" | grep -Eq "images.yaml.*(keeping the last good|images, loaded)"; then
	t_fail "the load ended before the submissions did: the test did not submit during a load"
else
	echo "    the load was still under way when both submissions had returned"
fi
wait_log "keeping the last good catalog" 60 "$lines" || t_fail "the broken catalog was never refused"
t_match "zz-broken" "$(tail -n +"$lines" "$LOG" | grep "keeping the last good")" "the error names the bad image"
t_run_ok as_user sbatch -H -N1 --vm-require='os=almalinux' --wrap true
t_match "matched alma9 " "$T_ERR" "the last good catalog is in force"
ctl scancel "$(jobid_of "$T_OUT")"
tail -n +"$lines" "$LOG" | grep -E "catalog|images.yaml" | sed 's/^/    log: /' | cut -c1-200

t_begin "a good catalog again is picked up"
lines=$(wc -l <"$LOG")
cp "$BASE/images.good" "$ETC/images.yaml.new" && mv "$ETC/images.yaml.new" "$ETC/images.yaml"
wait_log "catalog $ETC/images.yaml: [0-9]+ images, loaded in" 10 "$lines" || t_fail "not reloaded"

t_begin "the cluster goes down cleanly"
t_run_ok "$CL" down
t_summary
