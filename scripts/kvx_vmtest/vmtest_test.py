#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Unit tests of scripts/vmtest's modules; no emulator needed.

The parser is fed consoles from test_data/: real ones captured with
"scripts/vmtest --keep DIR" (DIR/console.log) next to the KTAP the script
printed for them (*.ktap; a QEMU and a Bochs run that passed, --nested
runs whose nested guest panicked, one with the test killed at its
timeout), and small made-up ones for what a passing run
never shows: a truncated run, a test killed at its timeout, a hung test,
oops/lockdep/KASAN lines in the kernel log dump, skips, a failed insmod and
Bochs's tolerated PML WARN.

Run directly (scripts/check's vmtest-unit step), it prints KTAP, one result
per test, and a closing "N passed, N failed, N skipped" line; with
"python3 -m unittest" it runs as usual.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kvx_vmtest import initramfs, machine, parser, runner  # noqa: E402

TEST_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_data")

TESTS = [{"name": "kvx_views_test", "timeout": 600,
          "path": "selftests/kvx/kvx_views_test", "args": []},
         {"name": "mvf_vfio_test", "timeout": 300,
          "path": "selftests/kvx/mvf_vfio_test", "args": []}]

# The test of lists/nested.list, which vmtest --nested runs.
NESTED_TESTS = [{"name": "mvf_qemu_test", "timeout": 1200,
                 "path": "selftests/kvx/mvf_qemu_test", "args": []}]


def data(name):
    """A file of test_data/ in lines, split as machine.Console splits them."""
    with open(os.path.join(TEST_DATA, name), "rb") as f:
        text = f.read()
    return [l.decode("utf-8", "replace").rstrip("\r") for l in text.split(b"\n")[:-1]]


class Clock:
    """A host clock that moves one step (0.5 s) each time it is read."""

    def __init__(self, step=0.5):
        self.t = 1000.0
        self.step = step

    def __call__(self):
        self.t += self.step
        return self.t


def run_console(lines, tests=TESTS, no_skip=False, known_warn=None, cut_failure=None,
                machine="qemu", kernel="6.12.0-test"):
    """Feed a console to a Parser as machine.watch() does; return its output.

    If the console ends before KVXT-DONE, the run failed with cut_failure
    (by default, the emulator's exit).  Returns (KTAP lines, exit status,
    parser).
    """
    out = []
    clock = Clock()
    parser.plan(tests, machine, kernel, log=out.append)
    p = parser.Parser(tests, clock.t, no_skip, known_warn, log=out.append, clock=clock)
    failure = None
    for line in lines:
        if p.feed(line):
            break
    else:
        failure = cut_failure or "emulator exited (status 0) before the tests finished"
    p.finish(failure)
    return out, p.summary(failure), p


def results(out):
    """{name: KTAP result line} of a run's output."""
    res = {}
    for line in out:
        m = re.match(r"(?:not )?ok \d+ (\S+)", line)
        if m:
            res[m.group(1)] = line
    return res


def mask_times(lines):
    return [re.sub(r"\d+\.\ds", "T", l) for l in lines]


BOOT = ["[    0.000000] Linux version 6.12.0-test",
        "KVXT-BOOTED 6.12.0-test",
        "KVXT-MODULES-OK",
        "KVXT-KVX-VERSION 1.2.3"]


def one_test(name, body, rc=0, dmesg=()):
    return (["KVXT-BEGIN " + name] + list(body) +
            ["KVXT-DMESG " + d for d in dmesg] +
            ["KVXT-END %s rc=%d" % (name, rc)])



def views_console(body, rc=0, dmesg=()):
    """A run's console: kvx_views_test prints body and exits rc, mvf_vfio_test passes."""
    return (BOOT + one_test("kvx_views_test", body, rc=rc, dmesg=dmesg) +
            one_test("mvf_vfio_test", []) + ["KVXT-DONE"])

class ParserTest(unittest.TestCase):

    def test_clean_run(self):
        lines = (BOOT + one_test("kvx_views_test", ["TAP version 13", "ok 1 views"]) +
                 one_test("mvf_vfio_test", ["ok 1 vfio"]) + ["KVXT-DONE"])
        out, rc, _ = run_console(lines)
        self.assertEqual(rc, 0)
        self.assertEqual(out[:3], ["TAP version 13", "1..4",
                                   "# vmtest: machine=qemu kernel=6.12.0-test tests=2"])
        self.assertIn("# vmtest: booted 6.12.0-test in 0.5s", out)
        self.assertIn("# vmtest: kvm.ko reports kvx 1.2.3", out)
        self.assertIn("# TAP version 13", out)
        self.assertEqual(results(out), {
            "kvx_views_test": "ok 1 kvx_views_test # time=0.5s",
            "mvf_vfio_test": "ok 2 mvf_vfio_test # time=0.5s",
            "modules-load": "ok 3 modules-load # time=0.0s",
            "kernel-log-clean": "ok 4 kernel-log-clean # time=0.0s"})
        self.assertEqual(out[-1], "4 passed, 0 failed, 0 skipped")

    def test_summary_line_is_what_check_reads(self):
        out, _, _ = run_console(BOOT + ["KVXT-DONE"])
        self.assertRegex(out[-1], r"^[0-9]+ passed, [0-9]+ failed")
        m = parser.SUMMARY.match(out[-1])
        self.assertEqual(m.groups(), ("2", "2", "0"))

    def test_truncated_run(self):
        # The console stops in the middle of the first test.
        lines = BOOT + ["KVXT-BEGIN kvx_views_test", "# views: step 1"]
        out, rc, p = run_console(lines)
        self.assertEqual(rc, 1)
        res = results(out)
        self.assertEqual(res["kvx_views_test"],
                         "not ok 1 kvx_views_test # time=0.0s (no result: emulator "
                         "exited (status 0) before the tests finished)")
        self.assertTrue(res["mvf_vfio_test"].startswith("not ok 2 mvf_vfio_test"))
        self.assertTrue(res["modules-load"].startswith("ok 3 "))
        self.assertTrue(res["kernel-log-clean"].startswith("ok 4 "))
        self.assertIn("# vmtest: emulator exited (status 0) before the tests finished", out)
        self.assertEqual(out[-1], "2 passed, 2 failed, 0 skipped")

    def test_no_boot(self):
        out, rc, p = run_console(["SeaBIOS (version 1.16.2)"],
                                 cut_failure="boot did not reach init in 600s")
        self.assertEqual(rc, 1)
        self.assertIsNone(p.booted)
        res = results(out)
        self.assertEqual(res["modules-load"],
                         "not ok 3 modules-load # time=0.0s (insmod failed or no boot)")
        self.assertIn("(no result: boot did not reach init in 600s)", res["kvx_views_test"])
        self.assertEqual(out[-2], "# vmtest: boot did not reach init in 600s")
        self.assertEqual(out[-1], "1 passed, 3 failed, 0 skipped")

    def test_guest_timeout(self):
        # The guest's timeout -s KILL: exit status 137 and a marker.
        lines = (BOOT + ["KVXT-BEGIN kvx_views_test", "KVXT-TIMEOUT kvx_views_test 600",
                         "KVXT-END kvx_views_test rc=137"] +
                 one_test("mvf_vfio_test", []) + ["KVXT-DONE"])
        out, rc, _ = run_console(lines)
        self.assertEqual(rc, 1)
        self.assertIn("# vmtest: kvx_views_test killed at its timeout (600s, guest clock)", out)
        self.assertEqual(results(out)["kvx_views_test"],
                         "not ok 1 kvx_views_test # time=0.5s (exit 137)")
        self.assertEqual(out[-1], "3 passed, 1 failed, 0 skipped")

    def test_hung_test(self):
        # No result by the host's backstop: 2 * timeout + 60 s.
        out = []
        clock = Clock()
        p = parser.Parser(TESTS, clock.t, log=out.append, clock=clock)
        for line in BOOT + ["KVXT-BEGIN mvf_vfio_test"]:
            p.feed(line)
        self.assertIsNone(p.hung(p.cur_start + 660))
        failure = p.hung(p.cur_start + 661)
        self.assertEqual(failure, "mvf_vfio_test hung: no result after 661s")
        self.assertEqual(out[-1], "not ok 1 mvf_vfio_test # time=661.0s (timeout)")
        self.assertIsNone(p.current)
        self.assertIsNone(p.hung(p.cur_start + 10000))
        p.finish(failure)
        self.assertEqual(p.summary(failure), 1)
        self.assertIn("not ok 2 kvx_views_test # time=0.0s (no result: %s)" % failure, out)
        self.assertEqual(out[-1], "2 passed, 2 failed, 0 skipped")

    def views_run(self, body, rc, want_rc, want_views, no_skip=False):
        """views_console(body, rc) through the runner: its exit status and
        kvx_views_test's result are want_rc and want_views; the output."""
        out, got_rc, _ = run_console(views_console(body, rc=rc), no_skip=no_skip)
        self.assertEqual(got_rc, want_rc)
        self.assertEqual(results(out)["kvx_views_test"], want_views)
        return out

    def test_skip(self):
        out = self.views_run(["1..0 # SKIP no VMFUNC"], 4, 0,
                             "ok 1 kvx_views_test # SKIP time=0.5s")
        self.assertEqual(out[-1], "3 passed, 0 failed, 1 skipped")

    def test_skip_not_allowed(self):
        out = self.views_run([], 4, 1, "not ok 1 kvx_views_test # time=0.5s "
                             "(skipped, but skips are not allowed here)", no_skip=True)
        self.assertEqual(out[-1], "3 passed, 1 failed, 0 skipped")

    def test_test_failure(self):
        self.views_run(["not ok 1 views"], 1, 1,
                       "not ok 1 kvx_views_test # time=0.5s (exit 1)")

    def check_bad_dmesg(self, dmesg, first):
        lines = views_console(["ok 1 views"], dmesg=dmesg)
        out, rc, p = run_console(lines)
        self.assertEqual(rc, 1)
        res = results(out)
        self.assertEqual(res["kvx_views_test"],
                         "not ok 1 kvx_views_test # time=0.5s (kernel log: %s)" % first)
        self.assertTrue(res["mvf_vfio_test"].startswith("ok 2 "))
        bad = [l for l in dmesg if parser.BAD_KERNEL_LINE.search(l)]
        self.assertEqual(res["kernel-log-clean"],
                         "not ok 4 kernel-log-clean # time=0.0s (%d bad lines)" % len(bad))
        self.assertIn("# vmtest: kernel log during kvx_views_test: KVXT-DMESG " + bad[0], out)
        self.assertIn("# dmesg: " + dmesg[0], out)
        self.assertEqual(out[-1], "2 passed, 2 failed, 0 skipped")

    def test_oops(self):
        self.check_bad_dmesg(
            ["[   42.1] BUG: kernel NULL pointer dereference, address: 0000000000000008",
             "[   42.1] Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI",
             "[   42.1] RIP: 0010:kvx_view_switch+0x1c/0x90 [kvm]",
             "[   42.1] Call Trace:"],
            "KVXT-DMESG [   42.1] BUG: kernel NULL pointer dereference, address: "
            "0000000000000008")

    def test_lockdep(self):
        self.check_bad_dmesg(
            ["[   50.0] ======================================================",
             "[   50.0] WARNING: possible circular locking dependency detected",
             "[   50.0] 6.12.0-test #1 Not tainted"],
            "KVXT-DMESG [   50.0] WARNING: possible circular locking dependency detected")

    def test_kasan(self):
        self.check_bad_dmesg(
            ["[   61.2] BUG: KASAN: slab-use-after-free in kvx_views_destroy+0x40/0x120 [kvm]",
             "[   61.2] Read of size 8 at addr ffff888012345678 by task kvx_views_test/97"],
            "KVXT-DMESG [   61.2] BUG: KASAN: slab-use-after-free in "
            "kvx_views_destroy+0x40/0x120 [kvm]")

    def test_slub_and_ubsan(self):
        for line in ["BUG kmalloc-64 (Not tainted): Poison overwritten",
                     "UBSAN: shift-out-of-bounds in arch/x86/kvm/kvx/views.c:12:3",
                     "watchdog: BUG: soft lockup - CPU#1 stuck for 22s!",
                     "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
                     "WARNING: CPU: 1 PID: 7 at arch/x86/kvm/x86.c:100 f+0x1/0x2"]:
            self.assertTrue(parser.BAD_KERNEL_LINE.search(line), line)
        for line in ["kvm: kvx 1.2.3 loaded", "ok 3 warnings_are_counted",
                     "Booting paravirtualized kernel on bare hardware"]:
            self.assertFalse(parser.BAD_KERNEL_LINE.search(line), line)

    def test_bad_line_at_boot(self):
        lines = (["[    0.5] WARNING: CPU: 0 PID: 1 at mm/slub.c:1 f+0x1/0x2"] + BOOT +
                 one_test("kvx_views_test", []) + one_test("mvf_vfio_test", []) +
                 ["KVXT-DONE"])
        out, rc, _ = run_console(lines)
        self.assertEqual(rc, 1)
        res = results(out)
        self.assertTrue(res["kvx_views_test"].startswith("ok 1 "))
        self.assertTrue(res["kernel-log-clean"].startswith("not ok 4 "))
        self.assertIn("# vmtest: kernel log during boot: [    0.5] WARNING: CPU: 0 PID: 1 "
                      "at mm/slub.c:1 f+0x1/0x2", out)
        self.assertEqual(out[-1], "3 passed, 1 failed, 0 skipped")

    def test_insmod_failed(self):
        lines = ["KVXT-BOOTED 6.12.0-test", "insmod: can't insert '/modules/kvm_amd.ko'",
                 "KVXT-INSMOD-FAILED kvm_amd", "KVXT-DMESG [    3.0] kvm_amd: SVM not supported",
                 "KVXT-DONE"]
        out, rc, _ = run_console(lines)
        self.assertEqual(rc, 1)
        self.assertIn("# vmtest: insmod kvm_amd failed", out)
        res = results(out)
        self.assertEqual(res["kvx_views_test"],
                         "not ok 1 kvx_views_test # time=0.0s (no result: not run)")
        self.assertTrue(res["modules-load"].startswith("not ok 3 "))
        self.assertEqual(out[-1], "1 passed, 3 failed, 0 skipped")

    def test_pad_and_other_markers(self):
        lines = (BOOT + ["KVXT-PAD " + "." * 53, "KVXT-SOMETHING new"] +
                 one_test("kvx_views_test", []) + one_test("mvf_vfio_test", []) +
                 ["KVXT-DONE", "KVXT-PAD ..."])
        out, rc, _ = run_console(lines)
        self.assertEqual(rc, 0)
        self.assertFalse([l for l in out if "PAD" in l])
        self.assertIn("# KVXT-SOMETHING new", out)

    def test_done(self):
        p = parser.Parser(TESTS, 0, log=[].append, clock=Clock())
        self.assertFalse(p.feed("KVXT-BOOTED 6.12"))
        self.assertTrue(p.feed("KVXT-DONE"))
        self.assertTrue(p.done)


def pml_warn(line, cpu=0, site="vmx_handle_exit+0x1a/0x30"):
    """A WARN at vmx.c:line (vmx_flush_pml_buffer() is inlined), RIP at site."""
    return ["[  12.0] WARNING: CPU: %d PID: 88 at arch/x86/kvm/vmx/vmx.c:%d "
            "vmx_handle_exit+0x1a/0x30 [kvm_intel]" % (cpu, line),
            "[  12.0] RIP: 0010:%s [kvm_intel]" % site,
            "[  12.0] Call Trace:"]


class BochsWarnTest(unittest.TestCase):
    """The tolerated PML WARN (machine.bochs_known_warn())."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        src = os.path.join(self.tmp.name, "arch/x86/kvm/vmx")
        os.makedirs(src)
        with open(os.path.join(src, "vmx.c"), "w") as f:
            f.write("// line 1\n\t\tWARN_ON(1);\n\t\tWARN_ON(gpa & (PAGE_SIZE - 1));\n")
        self.known = machine.bochs_known_warn(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_regex(self):
        self.assertIsNotNone(self.known)
        self.assertIsNone(machine.bochs_known_warn(os.path.join(self.tmp.name, "none")))
        self.assertTrue(self.known.search(pml_warn(3)[0]))
        self.assertFalse(self.known.search(pml_warn(2)[0]))

    def run_bochs(self, dmesg):
        lines = views_console([], dmesg=dmesg)
        return run_console(lines, known_warn=self.known)

    def test_tolerated(self):
        dmesg = pml_warn(3) + pml_warn(3, cpu=1)
        out, rc, p = self.run_bochs(dmesg)
        self.assertEqual(rc, 0)
        self.assertIn("# vmtest: tolerated 2 WARNs of KVM's PML alignment check: Bochs "
                      "logs unaligned GPAs in PML entries (testbed bug, see "
                      "bochs_known_warn())", out)
        self.assertEqual(out[-1], "4 passed, 0 failed, 0 skipped")

    def test_orphan_trace_under_known_rip(self):
        # The console lost a tolerated WARN's header but not an earlier
        # one at the same site: its call trace is still the known WARN's.
        dmesg = pml_warn(3) + pml_warn(3)[1:]
        out, rc, _ = self.run_bochs(dmesg)
        self.assertEqual(rc, 0)

    def test_other_warn(self):
        dmesg = pml_warn(2, site="other+0x1/0x2")
        out, rc, _ = self.run_bochs(dmesg)
        self.assertEqual(rc, 1)
        self.assertEqual(results(out)["kernel-log-clean"],
                         "not ok 4 kernel-log-clean # time=0.0s (2 bad lines)")

    def test_trace_under_other_rip(self):
        # A tolerated WARN, then a call trace under another RIP (header lost).
        dmesg = pml_warn(3) + pml_warn(2, site="other+0x1/0x2")[1:]
        out, rc, _ = self.run_bochs(dmesg)
        self.assertEqual(rc, 1)
        self.assertIn("(kernel log: KVXT-DMESG [  12.0] Call Trace:)",
                      results(out)["kvx_views_test"])


def debug_pml_warn(t="5.92"):
    """A whole tolerated PML WARN as the debug kernel logs it (64 lines cut
    to their kinds: registers, frames naming lockdep, irq stamps)."""
    head = ["------------[ cut here ]------------",
            "WARNING: CPU: 0 PID: 54 at /b/arch/x86/kvm/vmx/vmx.c:3 "
            "vmx_handle_exit+0xc75/0x1ab0 [kvm_intel]",
            "Modules linked in: kvx_mvf(O) kvm_intel(O) kvm(O)",
            "CPU: 0 UID: 0 PID: 54 Comm: kvx_wtrace_test Tainted: G        W  O",
            "Tainted: [W]=WARN, [O]=OOT_MODULE",
            "Hardware name:  , BIOS Bochs 2.7 29/12/2019",
            "RIP: 0010:vmx_handle_exit+0xc75/0x1ab0 [kvm_intel]",
            "Code: 48 89 0c 24 e8 4c 4d 43 c1 48 8b 0c 24 8b b3 8c 05 00 00",
            "RSP: 0018:ffff88800914f9d8 EFLAGS: 00010206",
            "RAX: 1ffff110010a33fd RBX: dffffc0000000000 RCX: 00000000000001fd",
            "RDX: 00000000000001ff RSI: 000000001000d130 RDI: ffff8880091b2628",
            "RBP: 0000000000000000 R08: 6602ef70f7f0b93c R09: fffffbfff08d7dbd",
            "R10: ffffffff846bedef R11: 0000000000000000 R12: 0000000000000030",
            "R13: ffff88800851a000 R14: ffff8880091b0040 R15: ffff888008519fe8",
            "FS:  000000003913c600(0000) GS:ffff888068000000(0000) knlGS:0",
            "CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033",
            "CR2: 0000000000000000 CR3: 000000000804e001 CR4: 0000000000f32ef0",
            "PKRU: 55555554",
            "Call Trace:",
            " <TASK>",
            " vcpu_enter_guest+0x1c2e/0x3ad0 [kvm]",
            " ? lockdep_hardirqs_on_prepare+0x275/0x410",
            " ? file_tty_write.constprop.0+0x50e/0x900",
            " ? 0xffffffffc0201234",
            " entry_SYSCALL_64_after_hwframe+0x77/0x7f",
            "RIP: 0033:0x465ecb",
            " </TASK>",
            "irq event stamp: 12909",
            "hardirqs last  enabled at (12915): [<ffffffff812e486d>] __up_console_sem+0x4d/0x60",
            "softirqs last disabled at (12539): [<ffffffff81187334>] irq_exit_rcu+0x94/0xc0",
            "---[ end trace 0000000000000000 ]---"]
    return ["[%12s] %s" % (t, l) for l in head]


class DmesgFoldTest(unittest.TestCase):
    """The guest's kmsg() filter (initramfs.DMESG_FOLD) under busybox awk,
    the same binary the initramfs gets."""

    SITE = "/vmx/vmx.c:3 vmx_handle_exit"

    def fold(self, lines, site=SITE):
        out = subprocess.run(["/bin/busybox", "awk", "-v", "known=" + site,
                              initramfs.DMESG_FOLD], input="\n".join(lines) + "\n",
                             capture_output=True, text=True, check=True).stdout
        return out.splitlines()

    def test_known_warn_folded(self):
        warn = debug_pml_warn()
        out = self.fold(["[ 5.0] kvx: views: switching by VMFUNC"] + warn + warn +
                        ["[ 6.0] after"])
        self.assertEqual(out, ["[ 5.0] kvx: views: switching by VMFUNC"] +
                         [warn[0], warn[1], warn[-1]] * 2 + ["[ 6.0] after"])

    def test_report_inside_kept(self):
        # A report from another CPU lands inside the dump: it ends the fold
        # and everything from it on is kept.
        warn = debug_pml_warn()
        bug = "[        5.93] BUG: KASAN: slab-use-after-free in kvx_x+0x1/0x2"
        out = self.fold(warn[:22] + [bug] + warn[22:])
        self.assertEqual(out, warn[:2] + [bug] + warn[22:])

    def test_other_warn_kept(self):
        other = [l.replace("vmx.c:3 ", "vmx.c:2 ") for l in debug_pml_warn()]
        self.assertEqual(self.fold(other), other)
        self.assertEqual(self.fold(debug_pml_warn(), site=""), debug_pml_warn())

    def test_init_uses_it_only_with_a_site(self):
        self.assertNotIn("awk", initramfs.kmsg_body(None))
        self.assertIn("awk -v known='%s'" % self.SITE, initramfs.kmsg_body(self.SITE))

    def test_parser_on_folded_debug_log(self):
        # Unfolded, the frames of the debug kernel's dump name lockdep and
        # fail the run; folded, the WARN is counted and tolerated.
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "arch/x86/kvm/vmx")
            os.makedirs(src)
            with open(os.path.join(src, "vmx.c"), "w") as f:
                f.write("// 1\n\t\tWARN_ON(1);\n\t\tWARN_ON(gpa & (PAGE_SIZE - 1));\n")
            self.assertEqual(machine.bochs_known_warn_site(tmp), self.SITE)
            known = machine.bochs_known_warn(tmp)
        for dmesg, rc in ((debug_pml_warn(), 1), (self.fold(debug_pml_warn()), 0)):
            lines = (BOOT + one_test("kvx_views_test", [], dmesg=dmesg) +
                     one_test("mvf_vfio_test", []) + ["KVXT-DONE"])
            out, got, _ = run_console(lines, known_warn=known)
            self.assertEqual(got, rc, "\n".join(out))


class CapturedTest(unittest.TestCase):
    """Consoles of real runs, against the KTAP the script printed for them.

    Times are masked: the host clock is not replayed.
    """

    def check(self, name, tests):
        console = data(name + ".console")
        want = data(name + ".ktap")
        m = re.match(r"# vmtest: machine=(\S+) kernel=(\S+) ", want[2])
        out, rc, _ = run_console(console, tests, no_skip=True,
                                 machine=m.group(1), kernel=m.group(2))
        # Less the lines runner.run() prints around the parser's.
        want = [l for l in want
                if not re.match(r"# vmtest: (\S+ total |console log kept in )", l)]
        self.assertEqual(mask_times(out), mask_times(want))
        return rc, out

    def test_qemu(self):
        rc, out = self.check("qemu-short", TESTS)
        self.assertEqual(rc, 0)
        self.assertEqual(out[-1], "4 passed, 0 failed, 0 skipped")

    def test_qemu_truncated(self):
        # The same console cut in the middle of mvf_vfio_test.
        console = data("qemu-short.console")
        begin = console.index("KVXT-BEGIN mvf_vfio_test")
        out, rc, p = run_console(console[:begin + 5], no_skip=True)
        self.assertEqual(rc, 1)
        res = results(out)
        self.assertTrue(res["kvx_views_test"].startswith("ok 1 "))
        self.assertIn("(no result: emulator exited", res["mvf_vfio_test"])
        self.assertEqual(out[-1], "3 passed, 1 failed, 0 skipped")

    def test_bochs(self):
        rc, out = self.check("bochs-short", TESTS[:1])
        self.assertEqual(rc, 0)
        self.assertEqual(out[-1], "3 passed, 0 failed, 0 skipped")

    def test_nested_guest_panic(self):
        # lists/nested.list with --nested: the nested guest (L2) panicked
        # on the migration's destination; its console, relayed by the
        # test as "# dst guest:" lines, fails the test and the kernel log.
        rc, out = self.check("nested-panic", NESTED_TESTS)
        self.assertEqual(rc, 1)
        res = results(out)
        self.assertEqual(res["mvf_qemu_test"], "not ok 1 mvf_qemu_test # time=0.5s "
                         "(kernel log: # dst guest: [   54.430124] Kernel panic - not "
                         "syncing: Fatal exception in interrupt)")
        self.assertEqual(res["kernel-log-clean"],
                         "not ok 3 kernel-log-clean # time=0.0s (1 bad lines)")
        self.assertEqual(out[-1], "1 passed, 2 failed, 0 skipped")

    def test_nested_timeout(self):
        # The same, the test hung in a migration and was killed at its
        # 1200 s by the guest's timeout -s KILL (exit status 137).
        rc, out = self.check("nested-timeout", NESTED_TESTS)
        self.assertEqual(rc, 1)
        self.assertIn("# vmtest: mvf_qemu_test killed at its timeout (1200s, guest clock)", out)
        self.assertRegex(results(out)["mvf_qemu_test"],
                         r"^not ok 1 mvf_qemu_test # time=\S+ \(kernel log: # src: console "
                         r"tail: .* Kernel panic")
        self.assertEqual(out[-1], "1 passed, 2 failed, 0 skipped")


class ListTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, text):
        path = os.path.join(self.tmp.name, "t.list")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_parse(self):
        path = self.write("# a comment\n\n"
                          "a_test  60 selftests/kvx/a_test  # trailing\n"
                          "b_test 120 selftests/kvm/x86_64/b -x 'two words'\n")
        tests = runner.parse_lists([path], [])
        self.assertEqual(tests, [
            {"name": "a_test", "timeout": 60, "path": "selftests/kvx/a_test", "args": []},
            {"name": "b_test", "timeout": 120, "path": "selftests/kvm/x86_64/b",
             "args": ["-x", "two words"]}])
        self.assertEqual([t["name"] for t in runner.parse_lists([path], ["^b"])], ["b_test"])
        self.assertEqual([t["name"] for t in runner.parse_lists([path], [], ["a_"])],
                         ["b_test"])

    def test_real_lists(self):
        lists = os.path.join(os.path.dirname(os.path.dirname(TEST_DATA)),
                             "../tools/testing/selftests/kvx/lists")
        for f in sorted(os.listdir(lists)):
            if f.endswith(".list"):
                tests = runner.parse_lists([os.path.join(lists, f)], [])
                self.assertTrue(tests, f)

    def check_dies(self, text):
        path = self.write(text)
        with self.assertRaises(SystemExit) as e, \
                open(os.devnull, "w") as null:
            stderr, sys.stderr = sys.stderr, null
            try:
                runner.parse_lists([path], [])
            finally:
                sys.stderr = stderr
        self.assertEqual(e.exception.code, 2)

    def test_bad_line(self):
        self.check_dies("a_test selftests/kvx/a_test\n")

    def test_duplicate(self):
        self.check_dies("a 1 x\na 2 y\n")


class ConsoleTest(unittest.TestCase):
    """machine.Console over a file that grows, as Bochs's com1 does."""

    def test_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "console.log")
            con = machine.Console(path=path)
            self.assertEqual(con.lines(0), [])          # not there yet
            with open(path, "wb") as f:
                f.write(b"KVXT-BOOTED 6.12\r\nKVXT-BEG")
                f.flush()
                self.assertEqual(con.lines(0), ["KVXT-BOOTED 6.12"])
                f.write(b"IN a\n\xff\n")
                f.flush()
                self.assertEqual(con.lines(0), ["KVXT-BEGIN a", "\ufffd"])
                self.assertEqual(con.lines(0), [])
            con.close()

    def test_pipe_with_copy(self):
        with tempfile.TemporaryDirectory() as tmp:
            r, w = os.pipe()
            copy = open(os.path.join(tmp, "copy.log"), "w")
            con = machine.Console(fd=r, copy=copy)
            os.write(w, b"one\ntwo\nthr")
            self.assertEqual(con.lines(1), ["one", "two"])
            os.close(w)
            self.assertEqual(con.lines(1), [])          # end of the pipe
            self.assertIsNone(con.fd)
            self.assertEqual(con.lines(1), [])
            con.close()
            os.close(r)
            with open(os.path.join(tmp, "copy.log")) as f:
                self.assertEqual(f.read(), "one\ntwo\n")


class WatchTest(unittest.TestCase):
    """machine.Machine.watch() over a shell script standing in for QEMU/Bochs."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.args = argparse.Namespace(append="", nested=False, kernel=None, shell=False)

    def tearDown(self):
        self.tmp.cleanup()

    def watch(self, cls, script, timeout=60, boot_timeout=60, tests=TESTS):
        m = cls(self.args, self.tmp.name)
        m.poweroff_grace = 0
        out = []
        start = time.time()
        p = parser.Parser(tests, start, log=out.append)
        m.start(["sh", "-c", script])
        failure = m.watch(p, start, timeout, boot_timeout)
        self.assertIsNotNone(m.proc.returncode)
        p.finish(failure)
        return failure, p.summary(failure), out, m

    def script(self, lines, then=""):
        return "printf '%s\\n' " % "\\n".join(lines) + then

    def test_qemu_done(self):
        lines = (BOOT + one_test("kvx_views_test", []) + one_test("mvf_vfio_test", []) +
                 ["KVXT-DONE"])
        failure, rc, out, m = self.watch(machine.Qemu, self.script(lines, "; sleep 30"))
        self.assertIsNone(failure)
        self.assertEqual(rc, 0)
        self.assertEqual(out[-1], "4 passed, 0 failed, 0 skipped")
        with open(m.console) as f:      # the host's copy of the console
            self.assertEqual(f.read().splitlines(), lines)

    def test_qemu_exits_early(self):
        lines = BOOT + one_test("kvx_views_test", [])
        failure, rc, out, _ = self.watch(machine.Qemu, self.script(lines, "; exit 3"))
        self.assertEqual(failure, "emulator exited (status 3) before the tests finished")
        self.assertEqual(rc, 1)
        self.assertEqual(results(out)["kvx_views_test"][:4], "ok 1")
        self.assertEqual(out[-1], "3 passed, 1 failed, 0 skipped")

    def test_boot_timeout(self):
        failure, rc, out, _ = self.watch(machine.Qemu, "echo SeaBIOS; sleep 30",
                                         boot_timeout=1)
        self.assertEqual(failure, "boot did not reach init in 1s")
        self.assertEqual(out[0], "# SeaBIOS")

    def test_overall_timeout(self):
        lines = BOOT + ["KVXT-BEGIN kvx_views_test"]
        failure, rc, out, _ = self.watch(machine.Qemu, self.script(lines, "; sleep 30"),
                                         timeout=2)
        self.assertEqual(failure, "overall timeout (2s) reached")
        self.assertIn("(no result: overall timeout (2s) reached)",
                      results(out)["kvx_views_test"])

    def test_bochs_console_file(self):
        # Bochs writes com1 to console.log, a bit at a time.
        lines = BOOT + one_test("kvx_views_test", []) + ["KVXT-PAD ....", "KVXT-DONE"]
        m = machine.Bochs(self.args, self.tmp.name)
        script = (self.script(lines[:3], " >%s; sleep 1; " % m.console) +
                  self.script(lines[3:], " >>%s; sleep 30" % m.console))
        failure, rc, out, _ = self.watch(machine.Bochs, script, tests=TESTS[:1])
        self.assertIsNone(failure)
        self.assertEqual(out[-1], "3 passed, 0 failed, 0 skipped")


class KtapResult(unittest.TestResult):
    """One KTAP line per test, as scripts/check's other steps print."""

    def __init__(self):
        super().__init__()
        self.n = 0
        self.counts = {"pass": 0, "fail": 0, "skip": 0}

    def ktap(self, test, status, detail=None):
        self.n += 1
        self.counts[status] += 1
        if detail:
            for line in detail.rstrip().splitlines():
                print("# " + line)
        line = ("not ok" if status == "fail" else "ok") + " %d %s" % (self.n, test.id().replace("__main__.", ""))
        if status == "skip":
            line += " # SKIP " + detail
        print(line, flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.ktap(test, "pass")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.ktap(test, "fail", self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self.ktap(test, "fail", self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.ktap(test, "skip", reason)


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    print("TAP version 13")
    print("1..%d" % suite.countTestCases(), flush=True)
    result = KtapResult()
    suite.run(result)
    c = result.counts
    print("%d passed, %d failed, %d skipped" % (c["pass"], c["fail"], c["skip"]))
    return 0 if result.wasSuccessful() and not c["skip"] else 1


if __name__ == "__main__":
    sys.exit(main())
