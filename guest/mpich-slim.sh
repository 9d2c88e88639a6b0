#!/bin/bash
# mpich-slim.sh - Debian's libmpich.so.12 without yaksa's 3-level datatype kernels, for the image.
#
# Usage: guest/mpich-slim.sh IN.so ARCHIVE.a OUT.so
#   IN.so     Debian's libmpich.so.12 (libmpich12)
#   ARCHIVE.a Debian's libmpich.a of the same build (libmpich-dev): its symbols say where each
#             kernel is, which the stripped .so does not
#   OUT.so    the copy to write
#
# Why: 29 of the library's 41.6 MB (5.9 of its 8.8 MB in the squashfs) are yaksa's generated
# pack/unpack kernels for datatypes nested three levels deep (e.g. an hvector of hindexed of blkhindx of
# int32_t), one per pair of ops x 5^3 kinds x 9 block lengths x 13 element types.  yaksa decides
# per derived type whether a kernel exists (its populate functions fill type->seq.pack/unpack
# from a GOT entry per kernel); where none does it unrolls one nesting level itself and packs the
# children with their 2-level kernels (yaksi_ipack_backend's pack_backend fallback).  That is what
# upstream yaksa generates by default since 2024 ("Default nesting levels to 2": build time and
# binary size) and what YAKSA_ENV_MAX_NESTING_LEVEL=2 selects at run time.  Here the same is done
# to the binary: the GOT entries of the 3-level kernels are made NULL (their R_X86_64_RELATIVE
# relocations become R_X86_64_NONE, moved behind the DT_RELACOUNT ones, and the slots 0), so
# yaksa never finds one, and their code, now unreachable, is zeroed: squashfs stores the zeros
# for almost nothing.  gcc merged identical kernels into jmps to one body, so a 3-level kernel
# that kept code jumps into keeps its code (23 of 13,650).  The file keeps its size, layout and
# exports.
#
# Nothing is guessed: each kernel object's code is located in the .so by its bytes (relocated
# fields masked) and must be found as often as there are objects with that code; each 3-level
# kernel must have had exactly one GOT entry, and no relocation may point inside one.  Any
# mismatch (another Debian build) stops the image build with a message, and mkimage.sh can then
# be told MPICH_SLIM=0.
# Needs: binutils (ar, readelf, nm), perl.  Tested by tests/mpi-slim (make check-mpi-slim).
# Environment: MPICH_SLIM_DEPTH (default 3): kernels for this many levels and more go.
set -euo pipefail
export XVG_SLIM_DEPTH=${MPICH_SLIM_DEPTH:-3}
case "$XVG_SLIM_DEPTH" in 1 | 2 | 3) ;; *) echo "mpich-slim: MPICH_SLIM_DEPTH must be 1, 2 or 3" >&2; exit 1 ;; esac
IN=${1:?usage: mpich-slim.sh IN.so ARCHIVE.a OUT.so}
AR=${2:?usage: mpich-slim.sh IN.so ARCHIVE.a OUT.so}
OUT=${3:?usage: mpich-slim.sh IN.so ARCHIVE.a OUT.so}
die() { echo "mpich-slim: $*" >&2; exit 1; }
for t in ar readelf nm perl; do command -v $t >/dev/null || die "missing tool: $t"; done
[ -r "$IN" ] || die "cannot read $IN"
[ -r "$AR" ] || die "cannot read $AR (apt-get install libmpich-dev)"

W=$(mktemp -d "${TMPDIR:-/tmp}/xvg-mpich-slim.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir "$W/o"
objs=$(ar t "$AR" | grep '^yaksuri_seqi_pup_.*\.o$') || die "$AR has no yaksa seq kernels (yaksuri_seqi_pup_*.o)"
(cd "$W/o" && ar x "$AR" $objs)

# One line per kernel object: path, .text file offset and size, relocated offsets in .text;
# then one line per function: F path offset size depth name.
for f in "$W"/o/*.o; do
	read -r toff tsize < <(readelf -SW "$f" | sed -n 's/^ *\[ *[0-9]*\] //p' |
		awk '$1==".text"{print $4, $5; exit}')
	[ -n "${toff:-}" ] || die "$f: no .text"
	relocs=$(readelf -rW "$f" | awk '/^Relocation section/{s=($3=="'"'"'.rela.text'"'"'")} s && /R_X86_64/{printf "%s ", $1}')
	echo "O $f $toff $tsize $relocs"
	nm -S --defined-only "$f" | awk -v f="$f" '$3=="T"{n=$4; s=n; sub(/^yaksuri_seqi_(un)?pack_/,"",s);
		k=split(s,a,"_"); d=0; for(i=1;i<=k;i++) if(a[i] ~ /^(hvector|hindexed|blkhindx|contig|resized)$/) d++;
		print "F", f, $1, $2, d, n}'
done >"$W/objs.txt"

# The .so: .text (file offset = address is checked), .rela.dyn, .dynamic, the segments.
readelf -SW "$IN" | sed -n 's/^ *\[ *[0-9]*\] //p' | awk '$1==".text"||$1==".rela.dyn"||$1==".dynamic"{print $1, $3, $4, $5}' >"$W/sections.txt"
readelf -lW "$IN" | awk '$1=="LOAD"{print $2, $3, $5, $6}' >"$W/loads.txt"

cp "$IN" "$W/out.so"
perl - "$W" "$W/out.so" <<'PERL' || die "the kernels could not be located in $IN: not the build $AR comes from? (MPICH_SLIM=0 skips this)"
use strict; use warnings;
my ($w, $so) = @ARGV;
sub slurp { my $f = shift; open(my $h, '<:raw', $f) or die "$f: $!"; local $/; my $d = <$h>; close $h; return $d; }
my $img = slurp($so);
my %sec; for (split /\n/, slurp("$w/sections.txt")) { my @a = split; $sec{$a[0]} = [map { hex } @a[1..3]]; }
my ($taddr, $toff, $tsize) = @{$sec{'.text'}};
die ".text address != offset\n" if $taddr != $toff;
my @loads = map { [map { hex } split] } split /\n/, slurp("$w/loads.txt"); # off vaddr filesz memsz
sub v2o { my $v = shift; for my $l (@loads) { return $v - $l->[1] + $l->[0] if $v >= $l->[1] && $v < $l->[1] + $l->[2]; } die sprintf("address %x not in the file\n", $v); }
# locate the .text of each object with 3-level kernels in the .so's .text
my (%base, @dead, %group, %matches, %fns, %obj);
my $text = substr($img, $toff, $tsize);
for (split /\n/, slurp("$w/objs.txt")) {
	my @a = split;
	if ($a[0] eq 'O') { $obj{$a[1]} = \@a; }
	elsif ($a[0] eq 'F' && $a[4] >= $ENV{XVG_SLIM_DEPTH}) { push @{$fns{$a[1]}}, [hex($a[2]), hex($a[3]), $a[5]]; }
}
for my $f (sort keys %fns) {
		my (undef, undef, $o, $s, @rel) = @{$obj{$f}};
		my $code = substr(slurp($f), hex($o), hex($s));
		my @mask = sort { $a <=> $b } map { hex } @rel;
		my ($re, $p) = ('', 0);
		for my $r (@mask) { $re .= quotemeta(substr($code, $p, $r - $p)) . '.{4}'; $p = $r + 4; }
		$re .= quotemeta(substr($code, $p));
		# objects with the same code (kernels of _Bool, char and int8_t are) share the matches
		push @{$group{$re}}, $f;
		next if @{$group{$re}} > 1;
		my @at; while ($text =~ /$re/sg) { push @at, $-[0]; pos($text) = $-[0] + 1; }
		$matches{$re} = \@at;
}
# each object whose code appears as often as the objects with that code, the n-th object at the
# n-th place (which of two identical objects is where does not matter: the kernels sit at the
# same offsets in both)
for my $re (keys %group) {
	my ($objs, $at) = ($group{$re}, $matches{$re});
	die "$objs->[0]: its code is found " . scalar(@$at) . " times in the .so, not " . scalar(@$objs) . "\n"
		if @$at != @$objs;
	for my $k (0 .. $#$objs) { $base{$objs->[$k]} = $toff + $at->[$k]; }
}
for my $f (keys %fns) { push @dead, map { [$base{$f} + $_->[0], $_->[1], $_->[2]] } @{$fns{$f}}; }
die "no kernels to drop found\n" unless @dead;
@dead = sort { $a->[0] <=> $b->[0] } @dead;
# gcc merged identical kernels: a 2-level one may be a jmp into a 3-level one's body.  Any rel32
# of a jmp, call, jcc or rip-relative lea/mov in the code that is kept (or bytes that look like
# one, which only keeps more) that lands on a kernel's start keeps that kernel's code, until no
# new one is kept.
my %start = map { $_->[0] => $_ } @dead;
my @scan = ([$toff, $toff + $tsize]); # ranges of kept code still to scan
{
	my ($p, @gaps) = ($toff);
	for my $d (@dead) { push @gaps, [$p, $d->[0]] if $d->[0] > $p; $p = $d->[0] + $d->[1]; }
	push @gaps, [$p, $toff + $tsize];
	@scan = @gaps;
}
my $kept = 0;
while (@scan) {
	my @next;
	for my $r (@scan) {
		my ($lo, $hi) = @$r;
		for my $al (0 .. 3) {
			next if $lo + $al + 4 > $hi;
			my @disp = unpack('l<*', substr($img, $lo + $al, $hi - $lo - $al));
			my $at = $lo + $al - 4; # where the rel32 starts; it is relative to $at + 4
			for my $x (@disp) {
				$at += 4;
				my $d = $start{$at + 4 + $x};
				next unless $d && !$d->[3];
				# only where an instruction with a rel32 would put it: jmp/call, jcc, lea/mov rip
				my ($b1, $b2, $b3) = map { ord(substr($img, $at - $_, 1)) } 1 .. 3;
				next unless $b1 == 0xe8 || $b1 == 0xe9 || ($b2 == 0x0f && ($b1 & 0xf0) == 0x80) ||
					(($b3 == 0x48 || $b3 == 0x4c) && ($b2 == 0x8d || $b2 == 0x8b) && ($b1 & 0xc7) == 5);
				$d->[3] = 1; $kept++; push @next, [$d->[0], $d->[0] + $d->[1]];
			}
		}
	}
	@scan = @next;
}
# every 3-level kernel's GOT entry goes (yaksa then selects none, pack and unpack alike); the
# code of those another function jumps into stays
my @all = @dead;
@dead = grep { !$_->[3] } @dead;
sub in_all { my $v = shift; my ($lo, $hi) = (0, $#all);
	while ($lo <= $hi) { my $m = ($lo + $hi) >> 1; my $d = $all[$m];
		if ($v < $d->[0]) { $hi = $m - 1 } elsif ($v >= $d->[0] + $d->[1]) { $lo = $m + 1 } else { return $d } }
	return undef; }
# the relocations: each kernel's one GOT entry becomes 0 and its R_X86_64_RELATIVE relocation
# R_X86_64_NONE; nothing else may point there.  ld.so applies the first DT_RELACOUNT entries as
# RELATIVE without looking at their type, so the kept RELATIVE ones move to the front, the NONE
# ones after them, and DT_RELACOUNT says how many are left.
my ($roff, $rsize) = @{$sec{'.rela.dyn'}}[1, 2];
my ($doff, $dsize) = @{$sec{'.dynamic'}}[1, 2];
my ($relacount, $rcslot);
for (my $e = $doff; $e < $doff + $dsize; $e += 16) {
	my ($tag, $val) = unpack('q<Q<', substr($img, $e, 16));
	last if $tag == 0;
	($relacount, $rcslot) = ($val, $e) if $tag == 0x6ffffff9;
}
die "no DT_RELACOUNT\n" unless defined $relacount;
my (@keep, @none, @other, %seen);
for (my $i = 0; $i < $rsize / 24; $i++) {
	my $ent = substr($img, $roff + 24 * $i, 24);
	my ($r_off, $r_info, $r_add) = unpack('Q<Q<q<', $ent);
	my $rel = ($r_info & 0xffffffff) == 8;
	die "relocation $i: RELATIVE ones are not the first DT_RELACOUNT ($relacount)\n" if $rel != ($i < $relacount);
	if (!$rel) { push @other, $ent; next; }
	my $d = in_all($r_add);
	if (!$d) { push @keep, $ent; next; }
	die "$d->[2]: a relocation points inside it, not at its start\n" if $r_add != $d->[0];
	die "$d->[2]: more than one reference\n" if $seen{$d->[0]}++;
	my $slot = v2o($r_off);
	my $v = unpack('Q<', substr($img, $slot, 8));
	die sprintf("slot %x holds neither 0 nor the kernel's address\n", $r_off) unless $v == 0 || $v == $r_add;
	substr($img, $slot, 8) = pack('Q<', 0);
	push @none, pack('Q<Q<q<', $r_off, 0, 0);
}
substr($img, $roff, $rsize) = join('', @keep, @none, @other);
substr($img, $rcslot + 8, 8) = pack('Q<', scalar @keep);
my $n = 0; my $bytes = 0;
for my $d (@all) { die "$d->[2]: no GOT entry\n" unless $seen{$d->[0]}; }
for my $d (@dead) { substr($img, $d->[0], $d->[1]) = "\0" x $d->[1]; $n++; $bytes += $d->[1]; }
open(my $h, '>:raw', $so) or die "$so: $!"; print $h $img; close $h or die "$so: $!";
printf "mpich-slim: %d kernels of %d or more levels (%.1f MB of code) made unreachable and zeroed; %d more unreachable by yaksa but kept (other code jumps into them)\n", $n, $ENV{XVG_SLIM_DEPTH}, $bytes / 1e6, $kept;
PERL
mv "$W/out.so" "$OUT"
