#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""run.py - mutation testing: break the library's checks on purpose, one at a time,
and see whether the fast tests notice (`make mutants`).

Each mutant in tests/mutants/mutants.txt replaces one exact piece of text in
one file. The runner copies the tree (working copy, uncommitted changes
included) to a scratch directory, builds the tests there once, then for each
mutant: applies it, rebuilds incrementally, runs the test stages in order and
stops at the first that fails, restores the file. A mutant is

  caught     a test that passes on the unchanged tree failed, crashed or hung
  SURVIVED   every stage passed: no test guards that check
  BROKEN     its original text is not in the file exactly once, or it does
             not build: the list has rotted and must be fixed

The stages: the unit tests (build/unit-tests); the same under ASan + UBSan
(build-san/unit-tests), only for mutants the first stage missed; and, when
/dev/kvm works here, the KVM library tests (build/kvm-libtest), again only
for what is still alive. A KVM library test that fails on the unchanged tree
(a back end's limit) never counts as catching a mutant.

Exit status: 0 when every mutant is caught; 1 when one survived; 2 when the
list is broken or the unchanged tree fails its own tests.
"""
import argparse
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TREE = ["src", "include", "tests", "guest", "scripts", "mk", "Makefile"]
TEST_TIMEOUT = 120  # seconds; a hang counts as caught


class Mutant:
    def __init__(self, name, path, lineno):
        self.name, self.path, self.lineno = name, path, lineno
        self.original, self.replacement = [], []

    def text(self, lines):
        return "\n".join(lines)


def parse(list_path):
    """The list: entries of `[name] file`, `- original` lines, `+ replacement` lines."""
    mutants, errors, cur = [], [], None
    with open(list_path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            m = re.match(r"^\[([A-Za-z0-9_.-]+)\]\s+(\S+)$", line)
            if m:
                cur = Mutant(m.group(1), m.group(2), n)
                mutants.append(cur)
            elif cur and (line == "-" or line.startswith("- ")):
                cur.original.append(line[2:])
            elif cur and (line == "+" or line.startswith("+ ")):
                cur.replacement.append(line[2:])
            else:
                errors.append(f"{list_path}:{n}: cannot parse: {line!r}")
    names = set()
    for m in mutants:
        if m.name in names:
            errors.append(f"{list_path}:{m.lineno}: [{m.name}] is listed twice")
        names.add(m.name)
        if not m.original:
            errors.append(f"{list_path}:{m.lineno}: [{m.name}] has no '- original' line")
        if m.original == m.replacement:
            errors.append(f"{list_path}:{m.lineno}: [{m.name}] changes nothing")
    return mutants, errors


def check_applies(tree, m):
    """None if m's original occurs exactly once in its file, else why not."""
    path = os.path.join(tree, m.path)
    if not os.path.isfile(path):
        return f"{m.path} does not exist"
    with open(path) as f:
        count = f.read().count(m.text(m.original))
    if count != 1:
        return f"its original text occurs {count} times in {m.path}, not once"
    return None


def sh(cmd, cwd, timeout=None):
    """Run cmd; (status, output). A timeout is status 'timeout'; a signal is -N."""
    try:
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, start_new_session=True)
        return p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return "timeout", (e.stdout or b"").decode(errors="replace")


def run_on_tty(cmd, cwd, timeout):
    """Like sh(), but with the output on a pseudo-terminal: stdio then flushes
    every line, so a test program that crashes still shows how far it got."""
    master, slave = os.openpty()
    p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                         start_new_session=True)
    os.close(slave)
    chunks, status = [], None
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.killpg(p.pid, signal.SIGKILL)
                status = "timeout"
                break
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the program and all its children are gone
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        rc = p.wait()
    out = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
    return (status or rc), out


def results(output):
    """{test name: True (ok) / False (FAIL)} from the harness's lines."""
    r = {}
    for line in output.splitlines():
        m = re.match(r"^(ok  |FAIL) (\S+)$", line)
        if m:
            r[m.group(2)] = m.group(1) == "ok  "
    return r


def crash_line(output):
    for line in output.splitlines():
        if "ERROR: AddressSanitizer" in line or "runtime error:" in line or "LeakSanitizer" in line:
            return line.strip()
    return None


class Stage:
    def __init__(self, name, make_args, binary):
        self.name, self.make_args, self.binary = name, make_args, binary
        self.baseline = {}

    def build(self, tree, jobs):
        return sh(["make", "-s", f"-j{jobs}"] + self.make_args + [self.binary], tree)

    def run(self, tree):
        return run_on_tty([os.path.join(tree, self.binary)], tree, TEST_TIMEOUT)

    def verdict(self, status, output):
        """What in this run failed that passed on the unchanged tree; [] if nothing."""
        now = results(output)
        failed = [t for t, ok in now.items() if not ok and self.baseline.get(t, False)]
        # The harness prints a test's line when it ends: the first test of
        # the unchanged run with no line now is the one that died or hung.
        unreported = [t for t in self.baseline if t not in now]
        where = f" in {unreported[0]}" if unreported else ""
        if status == "timeout":
            return [f"{self.name}: hung{where} (killed after {TEST_TIMEOUT} s)"] + failed
        if isinstance(status, int) and status < 0:
            return [f"{self.name}: {signal.Signals(-status).name}{where}"] + failed
        crash = crash_line(output)
        if crash:
            return [f"{self.name}: {crash}{where}"] + failed
        if failed:
            return failed
        # A stage whose baseline was all green must also exit 0 now.
        if status != 0 and all(self.baseline.values()):
            return [f"{self.name}: exit status {status}"]
        return []


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        os.close(fd)
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", default=os.path.join(ROOT, "tests/mutants/mutants.txt"))
    ap.add_argument("--filter", default="", help="only mutants whose name contains this")
    ap.add_argument("--check", action="store_true", help="only check that every mutant applies")
    ap.add_argument("--no-san", action="store_true", help="skip the ASan + UBSan stage")
    ap.add_argument("--kvm", choices=["auto", "yes", "no"], default="auto",
                    help="the KVM library tests stage (auto: when /dev/kvm opens)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch tree")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    t0 = time.monotonic()

    mutants, errors = parse(args.list)
    for m in mutants:
        why = check_applies(ROOT, m)
        if why:
            errors.append(f"{args.list}:{m.lineno}: [{m.name}] {why}")
    if errors:
        print("mutants: the list does not apply to this tree; fix these entries:")
        for e in errors:
            print("  BROKEN " + e)
        return 2
    mutants = [m for m in mutants if args.filter in m.name]
    print(f"mutants: {len(mutants)} in {os.path.relpath(args.list, ROOT)}, all apply")
    if args.check:
        return 0

    stages = [Stage("unit", [], "build/unit-tests")]
    if not args.no_san:
        stages.append(Stage("unit-san", ["SAN=1"], "build-san/unit-tests"))
    if args.kvm == "yes" or (args.kvm == "auto" and kvm_usable()):
        stages.append(Stage("kvm-lib", [], "build/kvm-libtest"))

    scratch = tempfile.mkdtemp(prefix="kvmrun-mutants-")
    try:
        for part in TREE:
            src = os.path.join(ROOT, part)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(scratch, part), symlinks=True)
            elif os.path.exists(src):
                shutil.copy2(src, scratch)

        for st in stages:
            status, out = st.build(scratch, args.jobs)
            if status != 0:
                print(f"mutants: the unchanged tree does not build ({st.binary}):\n{out[-3000:]}")
                return 2
            status, out = st.run(scratch)
            st.baseline = results(out)
            passed = sum(st.baseline.values())
            if st.name.startswith("unit") and (status != 0 or passed != len(st.baseline)):
                print(f"mutants: the unchanged tree fails its {st.name} tests:\n{out[-3000:]}")
                return 2
            if passed == 0 and st.name == "kvm-lib" and args.kvm == "auto":
                # /dev/kvm opens but runs nothing: a host problem, not a mutant's.
                print("mutants: baseline kvm-lib: no test passes here; stage dropped")
                continue
            if not st.baseline:
                print(f"mutants: {st.binary} ran no tests on the unchanged tree:\n{out[-3000:]}")
                return 2
            print(f"mutants: baseline {st.name}: {passed} of {len(st.baseline)} tests pass")
        stages = [st for st in stages if st.baseline and any(st.baseline.values())]

        caught = survived = broken = 0
        for m in mutants:
            path = os.path.join(scratch, m.path)
            with open(path) as f:
                pristine = f.read()
            mutated = pristine.replace(m.text(m.original), m.text(m.replacement), 1)
            with open(path, "w") as f:
                f.write(mutated)
            verdict, by = "SURVIVED", []
            try:
                for st in stages:
                    status, out = st.build(scratch, args.jobs)
                    if status != 0:
                        verdict, by = "BROKEN", ["does not build: " + out.strip()[-400:]]
                        break
                    status, out = st.run(scratch)
                    failed = st.verdict(status, out)
                    if failed:
                        verdict, by = "caught", failed
                        break
            finally:
                with open(path, "w") as f:
                    f.write(pristine)
            if verdict == "caught":
                caught += 1
                shown = ", ".join(by[:4]) + (f" (+{len(by) - 4} more)" if len(by) > 4 else "")
                print(f"caught   {m.name:<34} by {shown}")
            elif verdict == "BROKEN":
                broken += 1
                print(f"BROKEN   {m.name:<34} {by[0]}")
            else:
                survived += 1
                print(f"SURVIVED {m.name:<34} {m.path}: no test failed")
            sys.stdout.flush()
        took = time.monotonic() - t0
        print(f"mutants: {caught} caught, {survived} survived, {broken} broken "
              f"({len(mutants)} in {took:.0f} s; stages: {', '.join(s.name for s in stages)})")
        if broken:
            return 2
        return 1 if survived else 0
    finally:
        if args.keep:
            print(f"mutants: scratch tree kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
