# SPDX-License-Identifier: GPL-2.0
"""vmtest's command line, test lists and the run: kernel, initramfs, machine.

run() picks the kernel (the distribution's, or --kernel's debug kernel),
reads the lists, builds the initramfs (initramfs.py), starts the machine
(machine.py) and lets it feed its console to a parser.Parser, which prints
the KTAP.
"""

import argparse
import os
import re
import shlex
import subprocess
import time

from . import BUILD, die, log
from .initramfs import Modules, build_initramfs
from .machine import MACHINES
from .parser import Parser, plan


def read_kver():
    path = os.path.join(BUILD, "kver.mk")
    if not os.path.exists(path):
        die("build/kver.mk missing: run 'make deps' first")
    kv = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"(\w+) := (.*)", line.strip())
            if m:
                kv[m.group(1)] = m.group(2)
    return kv


def parse_lists(paths, only, exclude=()):
    """The tests of the list files: dicts of name, timeout, path, args."""
    tests = []
    for p in paths:
        with open(p) as f:
            for lineno, line in enumerate(f, 1):
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                words = shlex.split(line)
                if len(words) < 3 or not words[1].isdigit():
                    die("%s:%d: expected NAME TIMEOUT PATH [ARGS]" % (p, lineno))
                name, timeout, path, args = words[0], int(words[1]), words[2], words[3:]
                if only and not any(re.search(o, name) for o in only):
                    continue
                if any(re.search(x, name) for x in exclude):
                    continue
                tests.append({"name": name, "timeout": timeout,
                              "path": path, "args": args})
    names = [t["name"] for t in tests]
    if len(set(names)) != len(names):
        die("duplicate test names in the lists")
    return tests


def debug_kernel(kdir):
    """vmlinuz, release, module tree and built-in modules of a debug kernel."""
    vmlinuz = os.path.join(kdir, "vmlinuz")
    if not os.path.exists(vmlinuz):
        die("%s missing: run scripts/debug-kernel" % vmlinuz)
    with open(os.path.join(kdir, "kernelrelease")) as f:
        release = f.read().strip()
    builtin = set()
    with open(os.path.join(kdir, "modules.builtin")) as f:
        for line in f:
            builtin.add(os.path.basename(line.strip())[:-3].replace("-", "_"))
    return vmlinuz, release, os.path.join(kdir, "modules"), builtin


def kernel(args):
    """vmlinuz, release and module tree of the kernel to boot; its Modules."""
    if args.kernel:
        vmlinuz, abi, mod_m, builtin = debug_kernel(args.kernel)
        return vmlinuz, abi, mod_m, Modules(None, mod_m, builtin)
    kv = read_kver()
    abi = kv["KVX_ABI"]
    image_root = os.path.join(BUILD, "image", abi.replace("-amd64", ""))
    vmlinuz = os.path.join(image_root, "boot", "vmlinuz-" + abi)
    if not os.path.exists(vmlinuz):
        die("%s missing: run 'make deps'" % vmlinuz)
    mod_m = os.path.join(BUILD, "modules")
    mods = Modules(os.path.join(image_root, "lib/modules", abi, "kernel"), mod_m,
                   stock_kvm=args.stock_kvm)
    return vmlinuz, abi, mod_m, mods


def run(args):
    vmlinuz, abi, mod_m, mods = kernel(args)
    tests = parse_lists(args.list, args.only, args.exclude)
    workdir = args.keep or os.path.join(
        BUILD, "vmtest", ("debug-" if args.kernel else "") + args.machine)
    os.makedirs(workdir, exist_ok=True)
    machine = MACHINES[args.machine](args, workdir)
    initrd = build_initramfs(args, machine, tests, mods, vmlinuz, mod_m)
    cmd = machine.command(vmlinuz, initrd, machine.cmdline())
    if os.path.exists(machine.console):
        os.unlink(machine.console)

    if args.shell:
        log("vmtest: " + " ".join(cmd))
        return subprocess.call(cmd)

    plan(tests, args.machine, abi)
    start = time.time()
    parser = Parser(tests, start, args.no_skip, machine.known_warn(mod_m))
    machine.start(cmd)
    failure = machine.watch(parser, start, args.timeout, args.boot_timeout)
    total = time.time() - start
    parser.finish(failure)
    if args.keep:
        log("# vmtest: console log kept in " + machine.console)
    log("# vmtest: %s total %.1fs" % (args.machine, total))
    return parser.summary(failure)


def main(description):
    p = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--machine", choices=["qemu", "bochs"], required=True)
    p.add_argument("--list", action="append", default=[],
                   help="test list file (repeatable)")
    p.add_argument("--only", action="append", default=[],
                   help="run only tests whose name matches this regex")
    p.add_argument("--exclude", action="append", default=[],
                   help="leave out tests whose name matches this regex")
    p.add_argument("--module", action="append", default=[],
                   help="load this module too (with its dependencies)")
    p.add_argument("--param", action="append", default=[],
                   help="module parameter, e.g. kvm_intel:pml=0")
    p.add_argument("--append", default="", help="extra kernel command line")
    p.add_argument("--timeout", type=int, default=3600,
                   help="overall timeout in seconds (default 3600)")
    p.add_argument("--boot-timeout", type=int, default=600,
                   help="seconds to reach init (default 600)")
    p.add_argument("--no-skip", action="store_true",
                   help="count a skipped test as failed")
    p.add_argument("--mem", type=int, default=0, help="guest MiB")
    p.add_argument("--smp", type=int, default=2, help="QEMU vCPUs (default 2)")
    p.add_argument("--ips", type=int, default=80000000,
                   help="Bochs instructions per emulated second")
    p.add_argument("--kvm", action="store_true",
                   help="QEMU with KVM acceleration (only on a host whose /dev/kvm works)")
    p.add_argument("--stock-kvm", action="store_true",
                   help="load the kernel's own KVM modules, not kvx's")
    p.add_argument("--outer-qemu10", action="store_true",
                   help="run the test machine on build/qemu10's QEMU "
                   "(implied by --nested)")
    p.add_argument("--nested", action="store_true",
                   help="put QEMU 10 (build/qemu10) and a nested guest (this "
                   "kernel, busybox, build/selftests/kvx/guest) into the "
                   "initramfs, under /qemu10 and /nested")
    p.add_argument("--kernel", metavar="DIR",
                   help="boot the debug kernel built in DIR (scripts/debug-kernel) "
                   "with the kvx modules built against it")
    p.add_argument("--keep", metavar="DIR",
                   help="work in DIR and keep the console log and images there")
    p.add_argument("--shell", action="store_true",
                   help="interactive: run the tests, then a shell on the console")
    args = p.parse_args()
    if args.keep:
        args.keep = os.path.abspath(args.keep)
    if args.kernel:
        args.kernel = os.path.abspath(args.kernel)
    return run(args)
