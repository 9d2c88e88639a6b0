#!/bin/bash
# check-config.sh - does a kernel .config hold every option the guest needs?
# Usage: guest/kernel/check-config.sh CONFIG [REQUIRED]   (REQUIRED: default required.txt beside)
# Prints one line per option missing or set otherwise, naming both values, and exits 1 if any;
# exits 0 silently when all hold.  guest/kernel/build.sh runs it on every build, and
# tests/guestkernel checks it both ways.
set -euo pipefail
CONFIG=${1:?usage: check-config.sh CONFIG [REQUIRED]}
REQ=${2:-$(cd "$(dirname "$0")" && pwd)/required.txt}
[ -r "$CONFIG" ] || { echo "check-config: cannot read $CONFIG" >&2; exit 2; }
[ -r "$REQ" ] || { echo "check-config: cannot read $REQ" >&2; exit 2; }
missing=0 n=0
while read -r line; do
	opt=${line%%#*}
	opt=${opt//[[:space:]]/}
	[ -n "$opt" ] || continue
	case "$opt" in
	CONFIG_*=*) ;;
	*) echo "check-config: $REQ: not OPTION=VALUE: $line" >&2; exit 2 ;;
	esac
	n=$((n + 1))
	if ! grep -qxF -- "$opt" "$CONFIG"; then
		have=$(grep -E "^${opt%%=*}=|^# ${opt%%=*} is not set" "$CONFIG" || echo "absent")
		echo "check-config: ${opt%%=*}: the guest needs ${opt#*=} (${REQ##*/}: ${line#*#}), $CONFIG has: $have" >&2
		missing=$((missing + 1))
	fi
done <"$REQ"
[ "$n" -gt 0 ] || { echo "check-config: $REQ lists no option" >&2; exit 2; }
[ $missing = 0 ] || { echo "check-config: $missing of $n required options missing from $CONFIG" >&2; exit 1; }
