# SPDX-License-Identifier: MIT
"""scripts/testbed/initramfs.py: paths as the host resolves them, libraries, the cpio archive."""
import io
import os
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../scripts/testbed"))
import initramfs  # noqa: E402


def read_cpio(data):
    """(name, mode, contents) of each entry of a newc archive, checking its layout."""
    entries, pos = [], 0
    while True:
        assert data[pos:pos + 6] == b"070701", f"no newc magic at {pos}"
        fields = [int(data[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        mode, uid, gid, size, namesize = fields[1], fields[2], fields[3], fields[6], fields[11]
        assert uid == 0 and gid == 0
        pos += 110
        name = data[pos:pos + namesize - 1].decode()
        assert data[pos + namesize - 1] == 0
        pos = (pos + namesize + 3) & ~3
        contents = data[pos:pos + size]
        pos = (pos + size + 3) & ~3
        if name == "TRAILER!!!":
            assert pos == len(data), "bytes after the trailer"
            return entries
        entries.append((name, mode, contents))


class FakeRoot(unittest.TestCase):
    """A host tree with a merged /usr: lib -> usr/lib, lib64/ld -> ../lib/x/ld."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        r = self.root
        os.makedirs(f"{r}/usr/lib/x")
        os.makedirs(f"{r}/lib64")
        os.symlink("usr/lib", f"{r}/lib")
        for f in ("libc.so.6", "ld"):
            with open(f"{r}/usr/lib/x/{f}", "wb") as fh:
                fh.write(b"\x7fELF" + f.encode())
        os.symlink("../lib/x/ld", f"{r}/lib64/ld")
        os.symlink("/lib/x/libc.so.6", f"{r}/lib64/libc-abs")
        os.makedirs(f"{r}/work/build/sub")
        with open(f"{r}/work/build/prog", "wb") as fh:
            fh.write(b"\x7fELF static, no shared objects")
        with open(f"{r}/work/build/notes.txt", "w") as fh:
            fh.write("text")
        os.symlink("prog", f"{r}/work/build/prog-link")
        self.paths = initramfs.HostPaths(self.root)

    def tearDown(self):
        self.tmp.cleanup()


class TestHostPaths(FakeRoot):
    def test_relative_link_is_kept_and_followed(self):
        real = self.paths.add("/lib/x/libc.so.6")
        self.assertEqual(real, "usr/lib/x/libc.so.6")
        self.assertEqual(self.paths.entries,
                         {"lib", "usr", "usr/lib", "usr/lib/x", "usr/lib/x/libc.so.6"})

    def test_dotdot_in_a_link_target(self):
        self.assertEqual(self.paths.add("/lib64/ld"), "usr/lib/x/ld")
        self.assertTrue({"lib64", "lib64/ld", "lib", "usr/lib/x/ld"} <= self.paths.entries)

    def test_absolute_link_resolves_inside_the_root(self):
        self.assertEqual(self.paths.add("/lib64/libc-abs"), "usr/lib/x/libc.so.6")
        self.assertIn("lib64/libc-abs", self.paths.entries)

    def test_link_loop_is_an_error(self):
        os.symlink("loop", f"{self.root}/loop")
        with self.assertRaisesRegex(initramfs.BuildError, "too many levels of symbolic links"):
            self.paths.add("/loop")

    def test_tree_has_everything_but_sockets(self):
        s = socket.socket(socket.AF_UNIX)
        s.bind(f"{self.root}/work/build/sock")
        self.addCleanup(s.close)
        files = self.paths.add_tree("/work/build")
        self.assertEqual(self.paths.entries,
                         {"work", "work/build", "work/build/sub", "work/build/prog",
                          "work/build/notes.txt", "work/build/prog-link"})
        self.assertEqual(sorted(os.path.basename(f) for f in files), ["notes.txt", "prog"])

    def test_payload_root_is_refused(self):
        with self.assertRaises(initramfs.UsageError):
            self.paths.add_tree("/")


class TestLibraries(unittest.TestCase):
    def test_parse_loader_output(self):
        text = ("/x/prog:\n"
                "\tlinux-vdso.so.1 (0x00007ffc)\n"
                "\tlibseccomp.so.2 => /lib/x86_64-linux-gnu/libseccomp.so.2 (0x00007f12)\n"
                "\tlibgone.so.1 => not found\n"
                "\t/lib64/ld-linux-x86-64.so.2 (0x00007f34)\n"
                "\tstatically linked\n")
        libs, missing = initramfs.parse_loader_list(text)
        self.assertEqual(libs, ["/lib/x86_64-linux-gnu/libseccomp.so.2",
                                "/lib64/ld-linux-x86-64.so.2"])
        self.assertEqual(missing, ["libgone.so.1"])

    def test_the_loader_names_libc_for_python(self):
        libs, _ = initramfs.parse_loader_list(initramfs.loader_list(os.path.realpath(sys.executable)))
        self.assertTrue(any(lib.endswith("/libc.so.6") for lib in libs), libs)

    def test_only_elf_files_naming_a_shared_object_are_asked(self):
        with tempfile.TemporaryDirectory() as d:
            for name, data in (("static", b"\x7fELF no libraries"), ("dyn", b"\x7fELF libc.so.6"),
                               ("x.o", b"\x7fELF libc.so.6"), ("text", b"libc.so.6")):
                with open(f"{d}/{name}", "wb") as f:
                    f.write(data)
            got = [n for n in ("static", "dyn", "x.o", "text")
                   if initramfs.may_load_libraries(f"{d}/{n}")]
            self.assertEqual(got, ["dyn"])


class TestCpio(FakeRoot):
    def test_entries_are_newc_owned_by_root_and_aligned(self):
        out = io.BytesIO()
        w = initramfs.CpioWriter(out)
        self.assertTrue(w.add_file("usr/lib/x/ld", f"{self.root}/usr/lib/x/ld"))
        self.assertTrue(w.add_file("lib", f"{self.root}/lib"))
        self.assertTrue(w.add_file("usr", f"{self.root}/usr"))
        self.assertFalse(w.add_file("gone", f"{self.root}/gone"))  # vanished: left out
        w.finish()
        self.assertEqual(w.size, len(out.getvalue()))
        entries = read_cpio(out.getvalue())
        self.assertEqual([e[0] for e in entries], ["usr/lib/x/ld", "lib", "usr"])
        self.assertEqual(entries[0][2], b"\x7fELFld")
        self.assertEqual(entries[1][2], b"usr/lib")  # a link's contents: its target
        self.assertEqual(entries[1][1] & 0o170000, 0o120000)
        self.assertEqual(entries[2][1] & 0o170000, 0o040000)

    def test_build_puts_the_base_first_then_host_paths_parents_first(self):
        base = f"{self.root}/base"
        os.makedirs(f"{base}/testbed")
        with open(f"{base}/init", "w") as f:
            f.write("#!/bin/busybox sh\n")
        with open(f"{base}/testbed/config", "w") as f:
            f.write("MARKER=x\n")
        out = f"{self.root}/out.cpio"
        size = initramfs.build(out, base, payloads=["/work/build"], files=["/lib64/ld"],
                               root=self.root)
        with open(out, "rb") as f:
            data = f.read()
        self.assertEqual(size, len(data))
        names = [e[0] for e in read_cpio(data)]
        self.assertEqual(names[:3], ["init", "testbed", "testbed/config"])
        host = names[3:]
        self.assertEqual(host, sorted(host))
        for want in ("lib", "lib64", "lib64/ld", "usr/lib/x/ld", "work/build/prog",
                     "work/build/prog-link"):
            self.assertIn(want, host)
        for i, n in enumerate(host):  # each parent is in, before its child
            if "/" in n:
                self.assertIn(n.rsplit("/", 1)[0], host[:i])

    def test_too_big_for_memory_is_an_error(self):
        base = f"{self.root}/base"
        os.makedirs(base)
        with self.assertRaisesRegex(initramfs.BuildError, "too big"):
            initramfs.build(f"{self.root}/out.cpio", base, payloads=["/work/build"],
                            root=self.root, max_size=512)


if __name__ == "__main__":
    unittest.main()
