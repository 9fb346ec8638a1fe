#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""initramfs.py - the emulated test bed's initramfs, for scripts/kvm-testbed.

    initramfs.py OUT --base DIR [--payload DIR]... [--file PATH]... [--max-size BYTES] [-v]

Writes OUT, an uncompressed cpio archive (newc, owner root) that the kernel
unpacks as its root file system: first everything under --base (made by
kvm-testbed for this run: /init, the modules, the run's config), then host
files at their own paths, so that they resolve inside exactly as on the host:

  - the top directories /bin /sbin /lib /lib64 as they are here (with a
    merged /usr, /bin is a link to usr/bin, and it stays one);
  - each --payload directory and everything under it (no sockets);
  - each --file (busybox, the --tool programs, the command);
  - the shared libraries that the ELF files among these load, found as the
    dynamic loader finds them here (it is asked, as ldd does), and
    /etc/ld.so.cache.

Every symbolic link met on the way to a path is archived as a link and
followed, and every directory on the way is archived too (the kernel's
unpacker creates no missing parents). A file that vanishes while the archive
is written (a compiler's temporary file in a payload) is left out with a
warning. Exit status: 0; 1 if the archive would be larger than --max-size or
a file cannot be read; 2 on a usage error.
"""

import argparse
import os
import stat
import subprocess
import sys

RTLD = "/lib64/ld-linux-x86-64.so.2"
TOP_DIRS = ("/bin", "/sbin", "/lib", "/lib64")
MAX_LINKS = 40


class BuildError(Exception):
    status = 1


class UsageError(BuildError):
    status = 2


def warn(msg):
    print(f"kvm-testbed: warning: {msg}", file=sys.stderr)


class HostPaths:
    """The host paths (relative to root, without a leading /) to archive."""

    def __init__(self, root="/"):
        self.root = root.rstrip("/")
        self.entries = set()

    def _host(self, rel):
        return self.root + "/" + rel

    def add(self, path, depth=0):
        """Queue absolute `path` and what it takes to reach it; return its real path."""
        if depth >= MAX_LINKS:
            raise BuildError(f"too many levels of symbolic links: {path}")
        parts = [p for p in path.split("/") if p]
        prefix = []
        for i, part in enumerate(parts):
            if part == ".":
                continue
            if part == "..":
                # prefix holds no links (they were followed): ".." is its parent
                if prefix:
                    prefix.pop()
                continue
            prefix.append(part)
            rel = "/".join(prefix)
            self.entries.add(rel)
            host = self._host(rel)
            if os.path.islink(host):
                target = os.readlink(host)
                if not target.startswith("/"):
                    target = "/" + "/".join(prefix[:-1] + [target])
                rest = "/".join(parts[i + 1:])
                return self.add(target + ("/" + rest if rest else ""), depth + 1)
        return "/".join(prefix)

    def add_tree(self, directory):
        """A payload directory: the way to it, and everything under it. Returns its files."""
        real = self.add(directory)
        if not real:
            raise UsageError(f"--payload {directory}: that is /, the whole host will not fit")
        files = []
        for dirpath, dirnames, filenames in os.walk(self._host(real)):
            for name in dirnames + filenames:
                host = os.path.join(dirpath, name)
                try:
                    st = os.lstat(host)
                except FileNotFoundError:
                    continue
                if stat.S_ISSOCK(st.st_mode):
                    continue
                self.entries.add(os.path.relpath(host, self.root or "/"))
                if stat.S_ISREG(st.st_mode):
                    files.append(host)
        return files


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def may_load_libraries(path):
    """A file that loads libraries names them (libc.so.6...): one without ".so" loads none."""
    if path.endswith((".o", ".ko")) or os.path.islink(path) or not is_elf(path):
        return False
    try:
        with open(path, "rb") as f:
            return b".so" in f.read()
    except OSError:
        return False


def parse_loader_list(text):
    """The libraries in ldd's (or the loader's trace) output: (paths, names not found)."""
    libs, missing = [], []
    for line in text.splitlines():
        if not line.startswith("\t"):
            continue
        line = line[1:]
        if line.endswith(" => not found"):
            missing.append(line.split(" =>")[0])
            continue
        if " => /" in line:
            lib = line.split("=> ", 1)[1]
        elif line.startswith("/"):
            lib = line
        else:
            continue  # linux-vdso.so.1, "statically linked"
        libs.append(lib.split(" (0x")[0])
    return libs, missing


def loader_list(path):
    """Ask the dynamic loader (as ldd does) which libraries `path` loads: its trace output."""
    env = dict(os.environ, LC_ALL="C")
    if not os.access(RTLD, os.X_OK):
        r = subprocess.run(["ldd", "--", path], capture_output=True, text=True, env=env)
        return r.stdout
    # 0: a dynamic executable, 2: a shared library; else static (the loader would crash on it)
    r = subprocess.run([RTLD, "--verify", path], capture_output=True, env=env)
    if r.returncode not in (0, 2):
        return ""
    env["LD_TRACE_LOADED_OBJECTS"] = "1"
    r = subprocess.run([RTLD, path], capture_output=True, text=True, env=env)
    return r.stdout


def add_libraries(paths, elf_files):
    seen = set()
    for f in sorted(set(elf_files)):
        if not may_load_libraries(f):
            continue
        libs, missing = parse_loader_list(loader_list(f))
        for name in missing:
            warn(f"{f} needs {name}, which the dynamic loader cannot find here: "
                 "it will be missing inside too")
        for lib in libs:
            if lib not in seen:
                seen.add(lib)
                paths.add(lib)


class CpioWriter:
    """An uncompressed newc cpio archive, every entry owned by root."""

    def __init__(self, out):
        self.out = out
        self.ino = 0
        self.size = 0

    def _write(self, data):
        self.out.write(data)
        self.size += len(data)

    def _pad(self):
        if self.size % 4:
            self._write(b"\0" * (4 - self.size % 4))

    def entry(self, name, mode, data=b"", mtime=0, rdev=0):
        self.ino += 1
        encoded = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, 1, int(mtime), len(data), 0, 0,
                  os.major(rdev), os.minor(rdev), len(encoded), 0)
        self._write(b"070701" + b"".join(b"%08X" % v for v in fields))
        self._write(encoded)
        self._pad()
        self._write(data)
        self._pad()

    def add_file(self, name, host):
        """Archive host file `host` as `name`; False if it vanished."""
        try:
            st = os.lstat(host)
            if stat.S_ISLNK(st.st_mode):
                data = os.readlink(host).encode()
            elif stat.S_ISREG(st.st_mode):
                with open(host, "rb") as f:
                    data = f.read()
            else:
                data = b""
        except FileNotFoundError:
            return False
        except OSError as e:
            raise BuildError(f"cannot archive {host}: {e.strerror}") from e
        rdev = st.st_rdev if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else 0
        self.entry(name, st.st_mode, data, st.st_mtime, rdev)
        return True

    def finish(self):
        self.entry("TRAILER!!!", 0)


def tree_entries(base):
    """Everything under base, relative to it, parents first."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            entries.append(os.path.relpath(os.path.join(dirpath, name), base))
    return sorted(entries)


def build(out_path, base, payloads=(), files=(), root="/", max_size=0, verbose=False):
    paths = HostPaths(root)
    elf_files = []
    for d in TOP_DIRS:
        if os.path.lexists(paths._host(d.lstrip("/"))):
            paths.add(d)
    for d in payloads:
        elf_files += [f for f in paths.add_tree(d) if is_elf(f)]
    for f in files:
        real = paths.add(f)
        if is_elf(paths._host(real)):  # by its real path: it may be in a payload too
            elf_files.append(paths._host(real))
    add_libraries(paths, elf_files)
    # Lets the dynamic loader find libraries the way it does on the host.
    if os.path.isfile(paths._host("etc/ld.so.cache")):
        paths.add("/etc/ld.so.cache")

    vanished = 0
    with open(out_path, "wb") as out:
        cpio = CpioWriter(out)
        for rel in tree_entries(base):
            cpio.add_file(rel, os.path.join(base, rel))
        # Sorted, parents come before their children, which the unpacker needs.
        for rel in sorted(paths.entries):
            if not cpio.add_file(rel, paths._host(rel)):
                vanished += 1
        cpio.finish()
    if vanished:
        warn(f"{vanished} file(s) vanished while they were being archived")
    if max_size and cpio.size > max_size:
        raise BuildError(f"the initramfs is {cpio.size >> 20} MiB, too big for the test bed's "
                         "memory (it lives in guest RAM): choose smaller --payload "
                         "directories or a larger --mem")
    if verbose:
        print(f"kvm-testbed: initramfs: {cpio.size >> 10} KiB, {len(paths.entries)} host paths, "
              f"{len(elf_files)} ELF files", file=sys.stderr)
    return cpio.size


def main(argv=None):
    ap = argparse.ArgumentParser(prog="initramfs.py", description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--base", required=True)
    ap.add_argument("--payload", action="append", default=[])
    ap.add_argument("--file", action="append", default=[])
    ap.add_argument("--max-size", type=int, default=0)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    try:
        build(args.out, args.base, args.payload, args.file, max_size=args.max_size,
              verbose=args.verbose)
    except BuildError as e:
        print(f"kvm-testbed: {e}", file=sys.stderr)
        return e.status
    return 0


if __name__ == "__main__":
    sys.exit(main())
