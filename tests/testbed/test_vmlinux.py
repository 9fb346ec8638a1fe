# SPDX-License-Identifier: MIT
"""scripts/testbed/vmlinux.py: the vmlinux out of a bzImage, as the boot protocol places it."""
import contextlib
import gzip
import io
import lzma
import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../scripts/testbed"))
import vmlinux  # noqa: E402

ELF = b"\x7fELF" + bytes(range(256)) * 40


def bzimage(compressed, setup_sects=2, offset=0x30, size=None):
    """A bzImage-like file: setup sectors, then the protected-mode part with the payload."""
    payload = compressed + struct.pack("<I", len(ELF) if size is None else size)
    head = bytearray((max(setup_sects, 4 if setup_sects == 0 else 0) + 1) * 512 + offset)
    head[0x1F1] = setup_sects
    struct.pack_into("<II", head, 0x248, offset, len(payload))
    return bytes(head) + payload + b"\0" * 100  # the decompressor's own bytes follow


class TestExtract(unittest.TestCase):
    def test_xz_payload(self):
        self.assertEqual(vmlinux.extract(bzimage(lzma.compress(ELF, format=lzma.FORMAT_XZ))), ELF)

    def test_gzip_payload(self):
        self.assertEqual(vmlinux.extract(bzimage(gzip.compress(ELF))), ELF)

    def test_setup_sects_0_means_4(self):
        self.assertEqual(vmlinux.extract(bzimage(gzip.compress(ELF), setup_sects=0)), ELF)

    def test_size_must_match_the_trailer(self):
        with self.assertRaisesRegex(vmlinux.ExtractError, "the payload says"):
            vmlinux.extract(bzimage(gzip.compress(ELF), size=len(ELF) + 1))

    def test_payload_must_be_elf(self):
        data = b"not an ELF file"
        bz = bzimage(gzip.compress(data), size=len(data))
        with self.assertRaisesRegex(vmlinux.ExtractError, "not an ELF"):
            vmlinux.extract(bz)

    def test_unknown_compression_and_bad_header(self):
        with self.assertRaisesRegex(vmlinux.ExtractError, "unknown compression"):
            vmlinux.extract(bzimage(b"LZ4?" + ELF))
        with self.assertRaisesRegex(vmlinux.ExtractError, "too short"):
            vmlinux.extract(b"\0" * 0x100)
        bz = bytearray(bzimage(gzip.compress(ELF)))
        struct.pack_into("<I", bz, 0x24C, len(bz))  # payload_length past the end
        with self.assertRaisesRegex(vmlinux.ExtractError, "outside the file"):
            vmlinux.extract(bytes(bz))

    def test_main_writes_out_or_removes_it(self):
        with tempfile.TemporaryDirectory() as d:
            good, bad, out = f"{d}/good", f"{d}/bad", f"{d}/out"
            with open(good, "wb") as f:
                f.write(bzimage(gzip.compress(ELF)))
            with open(bad, "wb") as f:
                f.write(bzimage(gzip.compress(ELF), size=1))
            self.assertEqual(vmlinux.main([good, out]), 0)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), ELF)
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                self.assertEqual(vmlinux.main([bad, out]), 1)
                self.assertEqual(vmlinux.main([good]), 2)
            self.assertFalse(os.path.exists(out))
            self.assertIn("no vmlinux: decompressed", err.getvalue())


if __name__ == "__main__":
    unittest.main()
