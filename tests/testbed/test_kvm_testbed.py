# SPDX-License-Identifier: MIT
"""scripts/kvm-testbed: its options, exit statuses and native path (no QEMU is started)."""
import os
import subprocess
import time
import unittest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
SCRIPT = os.path.join(ROOT, "scripts/kvm-testbed")


def kvm_usable():
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
        return True
    except OSError:
        return False


def testbed(*args, env=None, timeout=60):
    e = {k: v for k, v in os.environ.items() if not k.startswith("KVMRUN_")}
    e.update(env or {})
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=e,
                          timeout=timeout, cwd=ROOT, stdin=subprocess.DEVNULL)


class TestUsage(unittest.TestCase):
    def assert_usage_error(self, *args, message, env=None):
        r = testbed(*args, env=env)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(message, r.stderr)

    def test_help(self):
        r = testbed("--help")
        self.assertEqual(r.returncode, 0)
        for want in ("scripts/kvm-testbed [options] -- COMMAND", "--hang-timeout", "--retry-hang",
                     "Exit status:"):
            self.assertIn(want, r.stdout)

    def test_bad_values(self):
        for args, message in ((("--timeout", "0"), "--timeout wants whole seconds > 0"),
                              (("--hang-timeout", "5"), "--hang-timeout wants whole seconds >= 10"),
                              (("--retry-hang", "10"), "--retry-hang wants a count from 0 to 9"),
                              (("--mem", "100"), "--mem wants MiB >= 256"),
                              (("--smp", "9"), "--smp wants a number of vCPUs from 1 to 8")):
            with self.subTest(args=args):
                self.assert_usage_error(*args, "--", "true", message=message)

    def test_missing_value_unknown_option_no_command(self):
        self.assert_usage_error("--timeout", message="--timeout needs a value")
        self.assert_usage_error("--frobnicate", "--", "true", message="unknown option '--frobnicate'")
        self.assert_usage_error(message="no command given")
        self.assert_usage_error("check", "--bogus", message="check: unknown argument '--bogus'")

    def test_bad_mode_and_variable_name(self):
        self.assert_usage_error("--", "true", env={"KVMRUN_TESTBED": "bogus"},
                                message="KVMRUN_TESTBED must be emulated, native or auto")
        self.assert_usage_error("--emulated", "--env", "1BAD", "--", "true",
                                message="--env '1BAD': not a variable name")


class TestNative(unittest.TestCase):
    """The native path where /dev/kvm is usable; elsewhere --native must say it is missing."""

    def test_command_status_and_environment(self):
        r = testbed("-q", "--native", "--", "sh", "-c",
                    'echo "$KVMRUN_TESTBED_KIND $KVMRUN_TESTBED_INSIDE $KVMRUN_X"; exit 7',
                    env={"KVMRUN_X": "fwd"})
        if not kvm_usable():
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("--native: no usable /dev/kvm", r.stderr)
            return
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertEqual(r.stdout, "native 1 fwd\n")

    def test_timeout_is_124(self):
        start = time.monotonic()
        r = testbed("-q", "--native", "--timeout", "1", "--", "sleep", "30")
        if not kvm_usable():
            self.assertEqual(r.returncode, 3, r.stderr)
            return
        self.assertEqual(r.returncode, 124, r.stderr)
        self.assertIn("TIMEOUT", r.stderr)
        self.assertLess(time.monotonic() - start, 20)

    def test_check_names_the_path(self):
        r = testbed("check")
        self.assertIn(r.returncode, (0, 3), r.stderr)
        self.assertIn("path:           " + ("native" if kvm_usable() else "emulated"), r.stdout)
        self.assertIn("host /dev/kvm:", r.stdout)


if __name__ == "__main__":
    unittest.main()
