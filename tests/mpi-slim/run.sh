#!/bin/bash
# run.sh - guest/mpich-slim.sh against Debian's libmpich.so.12, on the host.  Usage: run.sh
# Asserts: the slim copy is made; it keeps the original's size, exports and dependencies; a
# program packing and unpacking derived datatypes of every kind yaksa has kernels for, 1 to 3
# levels deep, over char/int/double and block lengths 1-9, gets byte for byte what it gets with
# Debian's library (so the 3-level types take yaksa's fallback and still come out right) and did
# run on the slim copy; the same holds with YAKSA_ENV_MAX_NESTING_LEVEL=3 set (it cannot bring
# a dropped kernel back); given a library it does not match (its own output, or a damaged copy)
# the script refuses with a message and writes nothing.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SLIM=$HERE/../../guest/mpich-slim.sh
MA=/usr/lib/x86_64-linux-gnu
W=$(mktemp -d /tmp/xvt-mpislim.XXXXXX)
T_SUITE=mpi-slim
# shellcheck source=../lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
t_at_exit 'rm -rf "$W"'
# a test of its own: REGEX STRING NAME
matches() { t_begin "$3"; t_match "$1" "$2" "$3"; }

command -v mpicc >/dev/null || t_fatal "prerequisite mpicc (apt-get install libmpich-dev)"
[ -r $MA/libmpich.so.12 ] && [ -r $MA/libmpich.a ] || t_fatal "prerequisite $MA/libmpich.{so.12,a} (apt-get install libmpich-dev)"
mkdir -p "$W/lib"
if out=$(bash "$SLIM" $MA/libmpich.so.12 $MA/libmpich.a "$W/lib/libmpich.so.12" 2>&1); then
	t_ok "mpich-slim.sh makes the copy ($out)"
else
	t_fatal "mpich-slim.sh failed: $out"
fi
[ "$(stat -L -c %s $MA/libmpich.so.12)" = "$(stat -L -c %s "$W/lib/libmpich.so.12")" ] &&
	t_ok "the copy has the original's size" || t_ko "size" "$(stat -L -c %s $MA/libmpich.so.12 "$W/lib/libmpich.so.12")"
exports() { nm -D --defined-only "$1" | awk '{print $2, $3}'; }
if diff <(exports $MA/libmpich.so.12) <(exports "$W/lib/libmpich.so.12") >"$W/d"; then
	t_ok "the copy exports the same $(exports "$W/lib/libmpich.so.12" | wc -l) symbols"
else
	t_ko "exports differ" "$(head -5 "$W/d")"
fi
needed() { readelf -d "$1" | grep NEEDED; }
[ "$(needed $MA/libmpich.so.12)" = "$(needed "$W/lib/libmpich.so.12")" ] &&
	t_ok "the copy needs the same libraries" || t_ko "NEEDED differs"
z=$(cmp -l $MA/libmpich.so.12 "$W/lib/libmpich.so.12" | awk '$3 == 0' | wc -l)
[ "$z" -gt 20000000 ] && t_ok "more than 20 MB of it are now zeros ($z bytes changed to 0)" || t_ko "too little zeroed" "$z bytes"

mpicc -O2 -o "$W/pack" "$HERE/pack.c" -ldl || t_fatal "mpicc pack.c"
"$W/pack" >"$W/orig" 2>"$W/orig.err" || t_fatal "pack on Debian's libmpich: $(tail -3 "$W/orig.err")"
n=$(grep -c '^d=3' "$W/orig")
[ "$n" = 375 ] || t_fatal "pack printed $n 3-level types, not 375"
for env in "" "YAKSA_ENV_MAX_NESTING_LEVEL=3"; do
	if env $env LD_LIBRARY_PATH="$W/lib" "$W/pack" >"$W/slim" 2>"$W/slim.err"; then
		matches "^libmpich: $W/lib/libmpich.so.12$" "$(head -1 "$W/slim")" "the program ran on the slim copy${env:+ ($env)}"
		if diff <(tail -n +2 "$W/orig") <(tail -n +2 "$W/slim") >"$W/d"; then
			t_ok "all $(($(wc -l <"$W/orig") - 1)) types (375 of 3 levels) pack and unpack as with Debian's${env:+ ($env)}"
		else
			t_ko "packed or unpacked bytes differ${env:+ ($env)}" "$(head -6 "$W/d")"
		fi
	else
		t_ko "pack on the slim copy failed${env:+ ($env)}" "$(tail -5 "$W/slim.err")"
	fi
done

# refusals: its own output (the kernels are gone, so they are not found), a damaged library
if out=$(bash "$SLIM" "$W/lib/libmpich.so.12" $MA/libmpich.a "$W/again.so" 2>&1); then
	t_ko "slimming the slim copy again succeeded" "$out"
else
	[ ! -e "$W/again.so" ] && matches "mpich-slim: .*not the build" "$out" "the slim copy itself is refused: $(echo "$out" | tail -1)"
fi
cp $MA/libmpich.so.12 "$W/bad.so"
off=$(readelf -SW "$W/bad.so" | sed -n 's/^ *\[ *[0-9]*\] //p' | awk '$1==".text"{print $4}')
printf 'junkjunkjunkjunk' | dd of="$W/bad.so" bs=1 seek=$((16#$off + 16#a35d28)) conv=notrunc status=none
if out=$(bash "$SLIM" "$W/bad.so" $MA/libmpich.a "$W/bad-out.so" 2>&1); then
	t_ko "a damaged library was slimmed" "$out"
else
	[ ! -e "$W/bad-out.so" ] && matches "found 0 times" "$out" "a library whose kernel code differs is refused"
fi
t_summary
