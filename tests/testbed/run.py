#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""run.py - the test bed scripts' own tests (tests/testbed/test_*.py, unittest).

    python3 tests/testbed/run.py [--list] [SUBSTRING]

Prints "ok   testbed/NAME" or "FAIL testbed/NAME: why" for each test, then
"testbed: N passed, N failed"; exits 1 if any failed. --list prints the
names only. No /dev/kvm and no QEMU needed.
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from tests(t)
        else:
            yield t


def name(test):
    module, cls, method = test.id().rsplit(".", 2)
    return f"{module.removeprefix('test_')}.{method.removeprefix('test_')}"


def main(argv):
    listing = "--list" in argv
    args = [a for a in argv if a != "--list"]
    want = args[0] if args else ""
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    found = [t for t in tests(loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE))
             if want in name(t)]
    if listing:
        for t in found:
            print(name(t))
        return 0
    passed = failed = 0
    for t in found:
        result = unittest.TestResult()
        t.run(result)
        problems = result.errors + result.failures + [
            (c, f"skipped: {why} (a test bed test never skips)") for c, why in result.skipped]
        if result.wasSuccessful() and not result.skipped:
            passed += 1
            print(f"ok   testbed/{name(t)}", flush=True)
        else:
            failed += 1
            why = problems[0][1].strip().splitlines()
            print(f"FAIL testbed/{name(t)}: {why[-1] if why else '?'}")
            for line in why:
                print(f"    {line}")
            sys.stdout.flush()
    print(f"testbed: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
