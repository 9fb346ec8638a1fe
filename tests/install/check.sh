#!/bin/sh
# SPDX-License-Identifier: MIT
# check.sh [--list] [BUILD] - the library as others get it (no /dev/kvm needed):
#   exports          libkvmrun.so exports exactly the functions kvmrun.h declares
#                    (nm -D --defined-only against every kr_...( the preprocessed
#                    header declares), each in version node KVMRUN_0
#   soname           its soname is libkvmrun.so.MAJOR, and BUILD has the links
#                    libkvmrun.so.MAJOR and libkvmrun.so to libkvmrun.so.VERSION
#   install-files    make install DESTDIR=... PREFIX=/usr/local installs exactly the
#                    expected files
#   pkg-config       the installed kvmrun.pc gives the installed paths, and no
#                    other library, static or not (libseccomp is a build
#                    dependency only: the seccomp filter is compiled at build time)
#   runtime-deps     libkvmrun.so and kvmrun need libc (and its loader) alone
#                    (readelf -d NEEDED)
#   uninstall        make uninstall with the same DESTDIR and PREFIX leaves no file
#   outside-built    BUILD/outside (tests/install/build-outside.sh, run by make)
#                    holds a program linked against the installed libkvmrun.so.0
#                    and a guest built with the installed SDK
# Prints "ok   install/NAME" or "FAIL install/NAME: why", then
# "install: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
names="exports soname runtime-deps install-files pkg-config uninstall outside-built"
if [ "${1-}" = --list ]; then
	for n in $names; do echo "$n"; done
	exit 0
fi
build=${1:-build}
CC=${CC:-cc}
passed=0 failed=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

result() { # result NAME WHY (empty: passed)
	if [ -z "$2" ]; then
		passed=$((passed + 1))
		echo "ok   install/$1"
	else
		failed=$((failed + 1))
		echo "FAIL install/$1: $2"
	fi
}

version_part() { sed -n "s/^#define KR_VERSION_$1 \\([0-9]*\\)\$/\\1/p" include/kvmrun.h; }
major=$(version_part MAJOR)
version=$major.$(version_part MINOR).$(version_part PATCH)
so=$build/libkvmrun.so.$version

# ---- exports -----------------------------------------------------------------
# The header through the preprocessor: no comments (which name functions too).
echo '#include "kvmrun.h"' | $CC -E -P -Iinclude -x c - |
	grep -oE '\<kr_[a-z0-9_]+ *\(' | sed 's/ *($//' | sort -u >"$tmp/declared"
nm -D --defined-only "$so" >"$tmp/nm" 2>&1
# Every defined dynamic symbol but the version node's own (type A).
awk '$2 != "A" { print $3 }' "$tmp/nm" | sort >"$tmp/exported.v"
sed 's/@.*//' "$tmp/exported.v" | sort -u >"$tmp/exported"
why=
if [ ! -s "$tmp/declared" ]; then
	why="found no declaration in include/kvmrun.h"
elif [ ! -s "$tmp/exported" ]; then
	why="nm -D found no symbol in $so: $(head -n 3 "$tmp/nm")"
elif ! cmp -s "$tmp/declared" "$tmp/exported"; then
	why="exported and declared differ (< declared only, > exported only):
$(diff "$tmp/declared" "$tmp/exported" | grep '^[<>]')"
elif grep -qv '@@KVMRUN_0$' "$tmp/exported.v"; then
	why="symbols outside version node KVMRUN_0: $(grep -v '@@KVMRUN_0$' "$tmp/exported.v" | tr '\n' ' ')"
fi
result exports "$why"
echo "    $(wc -l <"$tmp/declared") functions declared and exported"

# ---- soname and links ---------------------------------------------------------------
why=
soname=$(readelf -d "$so" 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ "$soname" != "libkvmrun.so.$major" ]; then
	why="soname of $so is '$soname', expected libkvmrun.so.$major"
elif [ ! -f "$so" ] || [ -L "$so" ]; then
	why="$so is not a regular file"
else
	for link in "libkvmrun.so.$major" libkvmrun.so; do
		target=$(readlink -f "$build/$link")
		if [ ! -L "$build/$link" ] || [ "$target" != "$(readlink -f "$so")" ]; then
			why="$build/$link is not a link to libkvmrun.so.$version"
		fi
	done
fi
result soname "$why"

# ---- run-time dependencies ---------------------------------------------------------
why=
for f in "$so" "$build/kvmrun"; do
	needed=$(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p' |
		grep -v '^libc\.so\.\|^ld-linux' | tr '\n' ' ')
	[ -n "$needed" ] && why="$f needs $needed(libc and its loader alone expected)"
	readelf -d "$f" >/dev/null 2>&1 || why="readelf -d $f failed"
done
result runtime-deps "$why"

# ---- install, pkg-config, uninstall ----------------------------------------------------
dest=$tmp/dest
p=/usr/local
cat >"$tmp/want" <<LIST
$p/bin/kvmrun
$p/include/kvmrun.h
$p/include/kvmrun_abi.h
$p/lib/libkvmrun.a
$p/lib/libkvmrun.so -> libkvmrun.so.$major
$p/lib/libkvmrun.so.$major -> libkvmrun.so.$version
$p/lib/libkvmrun.so.$version
$p/lib/pkgconfig/kvmrun.pc
$p/share/kvmrun/sdk/abi-defs.c
$p/share/kvmrun/sdk/crt0-32.S
$p/share/kvmrun/sdk/crt0.S
$p/share/kvmrun/sdk/guest-higherhalf.ld
$p/share/kvmrun/sdk/guest-raw.ld
$p/share/kvmrun/sdk/guest.ld
$p/share/kvmrun/sdk/guest.mk
$p/share/kvmrun/sdk/guest32.ld
$p/share/kvmrun/sdk/heap.c
$p/share/kvmrun/sdk/kvmrun_abi.h
$p/share/kvmrun/sdk/kvmrun_guest.h
$p/share/kvmrun/sdk/printf.c
$p/share/kvmrun/sdk/string.c
$p/share/man/man1/kvmrun.1
LIST
listing() { # the files and links under $dest, "path" or "path -> target"
	(cd "$dest" && find . ! -type d | sed 's|^\.||' | sort | while read -r f; do
		if [ -L "$dest$f" ]; then echo "$f -> $(readlink "$dest$f")"; else echo "$f"; fi
	done)
}
why=
if ! make -s BUILD="$build" DESTDIR="$dest" PREFIX=$p install >"$tmp/install.out" 2>&1; then
	why="make install failed: $(tail -n 5 "$tmp/install.out")"
else
	listing >"$tmp/got"
	cmp -s "$tmp/want" "$tmp/got" ||
		why="installed files differ (< expected, > installed):
$(diff "$tmp/want" "$tmp/got" | grep '^[<>]')"
	[ -z "$why" ] && ! cmp -s "$so" "$dest$p/lib/libkvmrun.so.$version" &&
		why="the installed library is not $so"
fi
result install-files "$why"

# With PREFIX alone (no DESTDIR), as a user installs into a folder of theirs.
why=
q=$tmp/prefix
pc() { PKG_CONFIG_PATH=$q/lib/pkgconfig pkg-config "$@" kvmrun; }
if ! make -s BUILD="$build" PREFIX="$q" install >"$tmp/install.out" 2>&1; then
	why="make install PREFIX=$q failed: $(tail -n 5 "$tmp/install.out")"
fi
# (echo: pkg-config ends its output with a space)
cflags=$(echo $(pc --cflags 2>&1)) libs=$(echo $(pc --libs 2>&1))
static=$(echo $(pc --static --libs 2>&1))
sdkdir=$(pc --variable=sdkdir 2>&1) modversion=$(pc --modversion 2>&1)
if [ -n "$why" ]; then
	:
elif [ "$cflags" != "-I$q/include" ]; then
	why="--cflags is '$cflags', expected -I$q/include"
elif [ "$libs" != "-L$q/lib -lkvmrun" ]; then
	why="--libs is '$libs', expected -L$q/lib -lkvmrun"
elif [ "$static" != "-L$q/lib -lkvmrun" ]; then
	why="--static --libs is '$static', expected -L$q/lib -lkvmrun (no libseccomp at run time)"
fi
[ -z "$why" ] && [ "$sdkdir" != "$q/share/kvmrun/sdk" ] && why="sdkdir is '$sdkdir'"
[ -z "$why" ] && [ "$modversion" != "$version" ] && why="--modversion is '$modversion', expected $version"
result pkg-config "$why"

why=
if ! make -s BUILD="$build" DESTDIR="$dest" PREFIX=$p uninstall >"$tmp/uninstall.out" 2>&1; then
	why="make uninstall failed: $(tail -n 5 "$tmp/uninstall.out")"
elif [ -n "$(listing)" ]; then
	why="files left after uninstall: $(listing | tr '\n' ' ')"
elif [ -d "$dest$p/share/kvmrun" ]; then
	why="$p/share/kvmrun is left"
fi
result uninstall "$why"

# ---- what make built from the installed files alone ---------------------------------------
why=
out=$build/outside
if [ ! -x "$out/outside" ] || [ ! -f "$out/hello.elf" ]; then
	why="$out/outside or $out/hello.elf is missing (make builds them)"
else
	needed=$(readelf -d "$out/outside" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
	rpath=$(readelf -d "$out/outside" | sed -n 's/.*R[UN]*PATH.*\[\(.*\)\]/\1/p')
	case " $needed" in
	*" libkvmrun.so.$major "*) ;;
	*) why="$out/outside needs '$needed', not libkvmrun.so.$major" ;;
	esac
	[ -z "$why" ] && [ "$rpath" != "$(pwd)/$out/prefix/lib" ] &&
		why="$out/outside has rpath '$rpath', expected the installed libdir $(pwd)/$out/prefix/lib"
	[ -z "$why" ] && ! readelf -h "$out/hello.elf" | grep -q 'ELF64' && why="hello.elf is not ELF64"
fi
result outside-built "$why"

echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
