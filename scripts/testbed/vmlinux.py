#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""vmlinux.py - the ELF vmlinux inside a bzImage, for a direct (PVH) boot.

    vmlinux.py BZIMAGE OUT

QEMU can jump straight into a decompressed vmlinux that has a PVH entry point,
where a bzImage first decompresses itself (about 3 s under emulation).

A bzImage is the real-mode setup code, then a small decompressor carrying the
compressed ELF vmlinux. The x86 boot protocol header says where that payload
is: setup_sects (1 byte) at 0x1f1 (0 means 4), payload_offset and
payload_length (4 bytes each, little-endian) at 0x248 and 0x24c, counted from
the start of the protected-mode part, (setup_sects + 1) * 512 bytes in. The
payload's last 4 bytes are the uncompressed size. Exit status 0 if OUT is an
ELF file of exactly that size, 1 otherwise (OUT is then removed).
"""

import lzma
import os
import struct
import subprocess
import sys
import zlib


class ExtractError(Exception):
    pass


def payload(bz):
    """The compressed payload of bzImage bytes `bz`."""
    if len(bz) < 0x250:
        raise ExtractError("too short for a boot protocol header")
    setup_sects = bz[0x1F1] or 4
    offset, length = struct.unpack_from("<II", bz, 0x248)
    start = (setup_sects + 1) * 512 + offset
    if length < 4 or start + length > len(bz):
        raise ExtractError(f"payload [{start:#x}, +{length:#x}) is outside the file")
    return bz[start:start + length]


def decompress(data):
    if data.startswith(b"\xfd7zXZ"):
        # The kernel's xz stream may be followed by padding: one stream only.
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
    if data.startswith(b"\x1f\x8b"):
        # The trailing size word follows the gzip member: one member only.
        d = zlib.decompressobj(16 + 15)
        return d.decompress(data)
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        r = subprocess.run(["zstd", "-dcq"], input=data, capture_output=True)
        return r.stdout
    raise ExtractError(f"unknown compression (magic {data[:4].hex()})")


def extract(bz):
    """The vmlinux in bzImage bytes `bz`, checked: ELF, and the size the payload says."""
    p = payload(bz)
    (expected,) = struct.unpack_from("<I", p, len(p) - 4)
    out = decompress(p)
    if len(out) != expected:
        raise ExtractError(f"decompressed {len(out)} bytes, the payload says {expected}")
    if not out.startswith(b"\x7fELF"):
        raise ExtractError("the payload is not an ELF file")
    return out


def main(argv):
    if len(argv) != 2:
        print("usage: vmlinux.py BZIMAGE OUT", file=sys.stderr)
        return 2
    try:
        with open(argv[0], "rb") as f:
            data = extract(f.read())
    except (OSError, ExtractError, lzma.LZMAError, EOFError, zlib.error) as e:
        print(f"kvm-testbed: {argv[0]}: no vmlinux: {e}", file=sys.stderr)
        if os.path.exists(argv[1]):
            os.unlink(argv[1])
        return 1
    with open(argv[1], "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
