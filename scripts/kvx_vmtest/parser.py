# SPDX-License-Identifier: GPL-2.0
"""The guest's console in, KTAP out.

The guest's init (initramfs.py) frames everything it does with KVXT-*
markers: KVXT-BOOTED, KVXT-MODULES-OK (or KVXT-INSMOD-FAILED), then per test
KVXT-BEGIN NAME, the test's own output, KVXT-TIMEOUT when it was killed,
KVXT-DMESG lines (the kernel log since the last test) and KVXT-END NAME rc=N,
and finally KVXT-DONE.  Parser turns those lines, one at a time as the
console delivers them, into one KTAP result per test timed by the host's
clock, "# " diagnostics, two results of its own (modules-load,
kernel-log-clean) and the closing "N passed, N failed, N skipped" line.

Any line, marker or not, that matches BAD_KERNEL_LINE fails the test it
appeared in (or the boot) and kernel-log-clean.

Nothing here starts an emulator or reads a clock other than the one given:
vmtest_test.py feeds it captured consoles.
"""

import re
import time

from . import log as print_log

# Kernel log lines that fail a run wherever they appear.
BAD_KERNEL_LINE = re.compile(
    r"(WARNING: CPU:|WARNING: at |BUG: |BUG at |kernel BUG|Oops|"
    r"general protection fault|Kernel panic|Call Trace:|"
    r"possible recursive locking|possible circular locking|"
    r"inconsistent lock state|suspicious RCU usage|lockdep|"
    r"KASAN|UBSAN|KFENCE|list_\w+ corruption|INFO: task .* blocked|rcu_sched self-detected stall|"
    # SLUB_DEBUG's reports: "BUG kmalloc-64 (Not tainted): Poison overwritten".
    r"BUG \S+ \((Not t|T)ainted|"
    r"rcu: INFO:|soft lockup|hard LOCKUP)")

# "func+0x12/0x340": a code site in a RIP: line or in a WARNING: header.
SITE = re.compile(r"(\w+\+0x[0-9a-f]+)/0x[0-9a-f]+")
MARKER = re.compile(r"KVXT-(\S+) ?(.*)")

# The closing line, as scripts/check and scripts/bench read it.
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")


def plan(tests, machine, kernel, log=print_log):
    """The KTAP header: the tests, modules-load and kernel-log-clean."""
    log("TAP version 13")
    log("1..%d" % (len(tests) + 2))
    log("# vmtest: machine=%s kernel=%s tests=%d" % (machine, kernel, len(tests)))


class Parser:
    """Console lines of one run in, KTAP lines out (through log).

    tests: the run's tests (dicts with "name" and "timeout"), in list order;
    start: the host time the machine was started; no_skip: a skip (exit
    status 4) is a failure; known_warn: a regex of the one WARN that is
    tolerated (machine.Bochs.known_warn()), or None; clock: the host clock.
    """

    def __init__(self, tests, start, no_skip=False, known_warn=None,
                 log=print_log, clock=time.time):
        self.tests = tests
        self.timeouts = {t["name"]: t["timeout"] for t in tests}
        self.start = start
        self.no_skip = no_skip
        self.known_warn = known_warn
        self.log = log
        self.clock = clock
        self.results = {}       # name -> (status, seconds, reason)
        self.bad_lines = []     # (test name or "boot", line)
        # The tolerated WARN: how many, the sites they were at, the RIP
        # printed last, and call traces waiting to be attributed.
        self.known_count = 0
        self.known_sites = set()
        self.known_rip = None
        self.traces = []        # (test name or "boot", line, rip)
        self.current = None     # the test running, between BEGIN and END
        self.cur_start = 0
        self.booted = None      # host time of KVXT-BOOTED
        self.modules_ok = False
        self.done = False       # KVXT-DONE seen
        self.n = 0              # KTAP results printed

    def report(self, name, status, secs, reason=""):
        self.n += 1
        line = ("ok" if status != "fail" else "not ok") + " %d %s" % (self.n, name)
        if status == "skip":
            line += " # SKIP"
        line += " # time=%.1fs" % secs if status != "skip" else " time=%.1fs" % secs
        if reason:
            line += " " + reason
        self.log(line)

    def resolve_traces(self):
        """Call traces not under a tolerated WARN's RIP are bad lines."""
        for who, line, rip in self.traces:
            if rip not in self.known_sites:
                self.bad_lines.append((who, line))
        self.traces.clear()

    def scan(self, line):
        """Check one line, whatever it is, against the bad kernel lines."""
        site = SITE.search(line)
        if "RIP:" in line:
            self.known_rip = site.group(1) if site else None
        if self.known_warn and self.known_warn.search(line):
            # The tolerated WARN; its call trace (even if the console lost
            # this header line) is told apart by the RIP printed before it.
            self.known_count += 1
            if site:
                self.known_sites.add(site.group(1))
        elif self.known_warn and "Call Trace:" in line:
            self.traces.append((self.current or "boot", line, self.known_rip))
        elif BAD_KERNEL_LINE.search(line):
            self.bad_lines.append((self.current or "boot", line))

    def feed(self, line):
        """Handle one console line; True once the guest says it is done."""
        self.scan(line)
        m = MARKER.search(line)
        if not m:
            self.log("# " + line)
            return False
        tag, rest = m.groups()
        if tag == "PAD":
            return False
        if tag == "DMESG":
            self.log("# dmesg: " + rest)
        elif tag == "BOOTED":
            self.booted = self.clock()
            self.log("# vmtest: booted %s in %.1fs" % (rest, self.booted - self.start))
        elif tag == "MODULES-OK":
            self.modules_ok = True
            self.log("# vmtest: modules loaded in %.1fs" % (self.clock() - self.booted))
        elif tag == "INSMOD-FAILED":
            self.log("# vmtest: insmod %s failed" % rest)
        elif tag == "KVX-VERSION":
            self.log("# vmtest: kvm.ko reports kvx %s" % rest)
        elif tag == "BEGIN":
            self.current, self.cur_start = rest, self.clock()
        elif tag == "END":
            self.end(rest)
        elif tag == "TIMEOUT":
            self.log("# vmtest: %s killed at its timeout (%ss, guest clock)" % tuple(rest.split()))
        elif tag == "DONE":
            self.done = True
            return True
        else:
            self.log("# " + line)
        return False

    def end(self, rest):
        """KVXT-END NAME rc=N: the test's result."""
        name, rcs = rest.rsplit(" rc=", 1)
        secs = self.clock() - self.cur_start
        rc = int(rcs)
        status = "pass" if rc == 0 else "skip" if rc == 4 else "fail"
        reason = "(exit %d)" % rc if status == "fail" else ""
        if self.no_skip and status == "skip":
            status, reason = "fail", "(skipped, but skips are not allowed here)"
        self.resolve_traces()
        bad = [b[1] for b in self.bad_lines if b[0] == name]
        if bad:
            status, reason = "fail", "(kernel log: %s)" % bad[0].strip()
        self.results[name] = (status, secs, reason)
        self.report(name, status, secs, reason)
        self.current = None

    def hung(self, now):
        """The failure if the running test is past its host-side backstop.

        The guest kills a test at its timeout (by the guest clock); this
        backstop, twice the timeout plus a minute by the host's clock,
        catches a hung guest or a clock gone astray.
        """
        if not self.current:
            return None
        secs = now - self.cur_start
        if secs <= 2 * self.timeouts[self.current] + 60:
            return None
        failure = "%s hung: no result after %ds" % (self.current, secs)
        self.results[self.current] = ("fail", secs, "timeout")
        self.report(self.current, "fail", secs, "(timeout)")
        self.current = None
        return failure

    def finish(self, failure=None):
        """Results never seen, modules-load, kernel-log-clean, the failure."""
        for t in self.tests:
            if t["name"] not in self.results:
                self.results[t["name"]] = ("fail", 0, "missing result")
                self.report(t["name"], "fail", 0, "(no result: %s)" % (failure or "not run"))
        mod_status = "pass" if self.modules_ok else "fail"
        self.report("modules-load", mod_status, 0,
                    "" if self.modules_ok else "(insmod failed or no boot)")
        self.results["modules-load"] = (mod_status, 0, "")
        self.resolve_traces()
        if self.known_count:
            self.log("# vmtest: tolerated %d WARNs of KVM's PML alignment check: Bochs "
                     "logs unaligned GPAs in PML entries (testbed bug, see "
                     "bochs_known_warn())" % self.known_count)
        if self.bad_lines:
            for who, line in self.bad_lines[:20]:
                self.log("# vmtest: kernel log during %s: %s" % (who, line))
        klog = "fail" if self.bad_lines else "pass"
        self.report("kernel-log-clean", klog, 0,
                    "(%d bad lines)" % len(self.bad_lines) if self.bad_lines else "")
        self.results["kernel-log-clean"] = (klog, 0, "")
        if failure:
            self.log("# vmtest: " + failure)

    def counts(self):
        return {s: sum(1 for r in self.results.values() if r[0] == s)
                for s in ("pass", "fail", "skip")}

    def summary(self, failure=None):
        """The closing line; the exit status of the run."""
        counts = self.counts()
        self.log("%d passed, %d failed, %d skipped" % (counts["pass"], counts["fail"],
                                                      counts["skip"]))
        return 1 if counts["fail"] or failure else 0
