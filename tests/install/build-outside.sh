#!/bin/sh
# SPDX-License-Identifier: MIT
# build-outside.sh BUILD - build a program and a guest the way someone outside
# this source tree would, from the installed kvmrun only:
#   1. make install PREFIX=BUILD/outside/prefix (the library, headers,
#      pkg-config file and guest SDK of this build);
#   2. in a fresh temporary folder: guest/examples/hello.c built with the
#      installed SDK (make -f $sdkdir/guest.mk), and tests/install/outside.c
#      compiled with `pkg-config --cflags --libs kvmrun`, PKG_CONFIG_PATH
#      pointing at the installed .pc file and nothing else of the tree;
#   3. both land in BUILD/outside/ (outside, hello.elf; and hello32.elf, a
#      32-bit guest from the same SDK), which the KVM tests
#      run (tests/kvm/run-tests.sh: installed-library-runs-a-guest); the
#      program finds libkvmrun.so.0 through its rpath, the installed libdir.
# `make` runs this (target BUILD/outside/outside). CC may carry flags.
set -eu
build=${1:?usage: build-outside.sh BUILD}
top=$(pwd)
out=$top/$build/outside
prefix=$out/prefix
CC=${CC:-cc}

command -v pkg-config >/dev/null 2>&1 || {
	echo "build-outside: pkg-config is missing: apt-get install pkgconf (or run scripts/setup)" >&2
	exit 1
}
rm -rf "$out"
mkdir -p "$out"
${MAKE:-make} -s BUILD="$build" PREFIX="$prefix" install >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/guests"
cp guest/examples/hello.c guest/examples/hello32.c "$tmp/guests/"
cp tests/install/outside.c "$tmp/"
cd "$tmp"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
sdkdir=$(pkg-config --variable=sdkdir kvmrun)
libdir=$(pkg-config --variable=libdir kvmrun)
# Not the tree's make either: -f the installed guest.mk, from the temp folder.
${MAKE:-make} -s -f "$sdkdir/guest.mk" GUEST_SRC=guests GUEST_OUT=gout gout/hello.elf gout/32/hello32.elf
# shellcheck disable=SC2046 # pkg-config's flags are words
$CC -std=gnu11 -Wall -Wextra -Werror $(pkg-config --cflags kvmrun) -o outside outside.c \
	$(pkg-config --libs kvmrun) -Wl,-rpath,"$libdir"
cp outside "$out/outside"
cp gout/hello.elf "$out/hello.elf"
cp gout/32/hello32.elf "$out/hello32.elf"
