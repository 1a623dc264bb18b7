#!/usr/bin/env python3
"""Tests of tools/testing/ktap.py: the guest-result checker must catch failures."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import ktap  # noqa: E402

RUN = """TAP version 13
1..2
# timeout set to 600
# selftests: rust_trace: rust_trace_test
# TAP version 13
# 1..2
# ok 1 rt.a
# not ok 2 rt.b
# # Totals: pass:1 fail:1 xfail:0 xpass:0 skip:0 error:0
not ok 1 selftests: rust_trace: rust_trace_test # exit=1
# selftests: rust_trace: capture.sh
# ok 1 x
# ok 2 y # SKIP one CPU
# # Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0
ok 2 selftests: rust_trace: capture.sh
"""


class Ktap(unittest.TestCase):
    def test_totals_count_subtests(self):
        p, f, s, failures = ktap.parse(RUN)
        self.assertEqual((p, f, s), (2, 1, 1))
        self.assertTrue(any("rt.b" in x for x in failures))

    def test_a_failed_subtest_carries_its_last_diagnostics(self):
        run = RUN.replace("# not ok 2 rt.b", "# # before a\n# ok 1 rt.a2\n# # why b broke\n# not ok 2 rt.b")
        _, _, _, failures = ktap.parse(run)
        b = [x for x in failures if "rt.b" in x]
        self.assertEqual(len(b), 1)
        self.assertIn("  | why b broke", b[0])
        self.assertNotIn("before a", b[0])

    def test_crashed_program_without_totals_counts_one_failure(self):
        p, f, s, _ = ktap.parse("not ok 1 selftests: rust_trace: x # TIMEOUT 600 seconds\n")
        self.assertEqual((p, f, s), (0, 1, 0))

    def test_not_ok_with_clean_totals_still_fails(self):
        log = "# # Totals: pass:3 fail:0 xfail:0 xpass:0 skip:0 error:0\nnot ok 1 selftests: r: t # exit=139\n"
        self.assertEqual(ktap.parse(log)[1], 1)

    def test_kernel_reports_are_found(self):
        for line in ["WARNING: CPU: 1 PID: 5 at kernel/x.c:1 f+0x1/0x2",
                     "BUG: sleeping function called from invalid context at mm/slab.c:1",
                     "BUG: KASAN: use-after-free in f",
                     "WARNING: possible circular locking dependency detected",
                     "Oops: 0000 [#1] PREEMPT SMP"]:
            self.assertTrue(ktap.kernel_reports(line), line)
        self.assertFalse(ktap.kernel_reports("rust_trace: loaded: 2 CPU ids"))

    def test_exit_status(self):
        with tempfile.TemporaryDirectory() as d:
            c, m = os.path.join(d, "c"), os.path.join(d, "m")
            open(c, "w").write("ok 1 selftests: r: t\n")
            open(m, "w").write("[ 1.0] fine\n")
            script = os.path.join(os.path.dirname(__file__), "ktap.py")
            self.assertEqual(subprocess.run([sys.executable, script, c, m], capture_output=True).returncode, 0)
            open(m, "w").write("[ 1.0] WARNING: CPU: 0 PID: 1 at x\n")
            self.assertEqual(subprocess.run([sys.executable, script, c, m], capture_output=True).returncode, 1)


if __name__ == "__main__":
    unittest.main()
