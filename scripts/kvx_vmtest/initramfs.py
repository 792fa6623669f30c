# SPDX-License-Identifier: GPL-2.0
"""The test machine's initramfs: busybox, an init, the modules, the tests.

The init (INIT) loads the modules, then runs every test of the run one
after the other, each framed by KVXT-* markers that parser.Parser reads on
the console, with the kernel log dumped after each.  With --nested it also
holds QEMU 10 and a nested guest (add_nested()).
"""

import os
import re
import shlex
import shutil
import subprocess

from . import BUILD, die
from .machine import copy_qemu10_firmware, qemu10


# Modules built by kvx (they replace the stock ones of the same name): the
# directories of the top-level Kbuild, built in build/modules/ (or, for the
# debug kernel, in its own module tree).
def kvx_modules(mod_m):
    mods = {}
    for d in (os.path.join(mod_m, "arch/x86/kvm"),
              os.path.join(mod_m, "drivers/vfio/mdev/kvx-mvf")):
        if os.path.isdir(d):
            for f in os.listdir(d):
                if f.endswith(".ko"):
                    mods[f[:-3].replace("-", "_")] = os.path.join(d, f)
    return mods


class Modules:
    """Resolve module load order from the stock image plus kvx's builds.

    stock_dir: the kernel's own modules (None: it has none); builtin: names
    of modules built into the kernel, which are not loaded.
    """

    def __init__(self, stock_dir, mod_m, builtin=(), stock_kvm=False):
        self.kvx = kvx_modules(mod_m)
        if stock_kvm:
            for m in ("kvm", "kvm_intel", "kvm_amd", "kvx_mvf"):
                self.kvx.pop(m, None)
        self.builtin = set(builtin)
        self.stock = {}
        for root, _, files in os.walk(stock_dir) if stock_dir else ():
            for f in files:
                m = re.match(r"(.*)\.ko(\.xz|\.zst|\.gz)?$", f)
                if m:
                    self.stock[m.group(1).replace("-", "_")] = os.path.join(root, f)

    def path(self, name):
        name = name.replace("-", "_")
        if name in self.kvx:
            return self.kvx[name]
        if name in self.stock:
            return self.stock[name]
        die("module %s not found in the image nor in build/" % name)

    def depends(self, name):
        out = subprocess.run(["modinfo", "-F", "depends", self.path(name)],
                             check=True, capture_output=True, text=True).stdout
        return [d for d in out.strip().split(",") if d]

    def order(self, names):
        done = []

        def visit(n, stack):
            n = n.replace("-", "_")
            if n in done or (n in self.builtin and n not in self.kvx):
                return
            if n in stack:
                die("module dependency cycle at " + n)
            for d in self.depends(n):
                visit(d, stack + [n])
            done.append(n)

        for n in names:
            visit(n, [])
        return done

    def install(self, name, destdir):
        """Copy a module, decompressed, into destdir; return its guest path."""
        src = self.path(name)
        dst = os.path.join(destdir, name + ".ko")
        if src.endswith(".xz"):
            with open(dst, "wb") as out:
                subprocess.run(["xz", "-dc", src], stdout=out, check=True)
        elif src.endswith(".zst"):
            with open(dst, "wb") as out:
                subprocess.run(["zstd", "-dcq", src], stdout=out, check=True)
        else:
            shutil.copy(src, dst)
        # Debug info makes up most of a module; the guest never needs it.
        subprocess.run(["strip", "--strip-debug", dst], check=True)
        return "/modules/" + name + ".ko"


# The start of both inits: busybox's applets, /proc, /sys and /dev.
INIT_START = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
"""

INIT = INIT_START + r"""mkdir -p /dev/pts /dev/shm /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ulimit -c 0
# Bochs writes its com1 file through a stdio buffer that is lost when the
# machine powers off: push markers out with 4 KiB of padding there.
flush_console() {{
{flush}
}}
# The kernel log since the last call, each line marked for the parser.
kmsg() {{
{kmsg}
}}
echo "KVXT-BOOTED $(uname -r)"
dmesg -c >/dev/null
fail=0
{loads}
kmsg
if [ $fail = 0 ]; then
	echo "KVXT-MODULES-OK"
	cat /sys/module/kvm/parameters/kvx_version 2>/dev/null | sed 's/^/KVXT-KVX-VERSION /'
	cd /tests
{runs}
fi
echo "KVXT-DONE"
flush_console
flush_console
{shell}
sync
poweroff -f
"""

# The guest's filter of its kernel log on a machine with a tolerated WARN
# (machine.Machine.known_warn_site(): Bochs's PML one comes a thousand
# times in a run): after that WARN's "WARNING:" line, the lines of its dump
# (registers, call trace, lockdep's irq stamps) are left out up to its end
# marker, which is kept.  Each costs the Bochs console about 64 lines, and
# on the debug kernel the frames of its call trace name lockdep functions.
# Any other line ends the dump, so a report interleaved from another CPU
# is kept, and the parser still sees every such WARNING: line.
DMESG_FOLD = r"""
fold && /---\[ end trace/ { fold = 0; print; next }
fold && /^(\[ *[0-9.]+\] )?(Modules linked in:|CPU: |Tainted: |Hardware name:|RIP: |Code: |RSP: |RAX: |RDX: |RBP: |R10: |R13: |FS: |CS: |CR2: |DR0: |DR3: |DR6: |PKRU: |Call Trace:|irq event stamp:|hardirqs last|softirqs last| *<\/?(TASK|IRQ|NMI)>| +(\? )?([A-Za-z0-9_.]+\+0x[0-9a-f]+\/0x[0-9a-f]+|0x[0-9a-f]+$))/ { next }
{ fold = 0 }
known != "" && index($0, known) { fold = 1 }
{ print }
"""


def kmsg_body(site):
    """Body of the guest init's kmsg(): the log, folded when site is set."""
    if site is None:
        return "\tdmesg -c | sed 's/^/KVXT-DMESG /'"
    return "\tdmesg -c | awk -v known=%s '%s' | sed 's/^/KVXT-DMESG /'" % (
        shlex.quote(site), DMESG_FOLD)


RUN = r"""	echo "KVXT-BEGIN {name}"
	timeout -s KILL {timeout} ./{path} {args} </dev/null 2>&1
	rc=$?
	[ $rc = 137 ] && echo "KVXT-TIMEOUT {name} {timeout}"
	kmsg
	echo "KVXT-END {name} rc=$rc"
	flush_console
"""

LOAD = r"""if [ $fail = 0 ]; then insmod {path} {params} || {{ echo "KVXT-INSMOD-FAILED {name}"; fail=1; }}; fi
"""


def build_initramfs(args, machine, tests, mods, vmlinuz, mod_m):
    """Write machine.workdir/initrd.cpio for these tests; return its path.

    args: vmtest's command line (--param, --module, --nested, --shell);
    mods: a Modules; vmlinuz and mod_m: the kernel and kvx's module tree
    (for --nested).
    """
    workdir = machine.workdir
    root = os.path.join(workdir, "root")
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "sbin", "proc", "sys", "dev", "tmp", "modules", "tests",
              "etc", "root"):
        os.makedirs(os.path.join(root, d))
    shutil.copy("/bin/busybox", os.path.join(root, "bin/busybox"))

    params = {}
    for p in args.param:
        mod, _, val = p.partition(":")
        params.setdefault(mod.replace("-", "_"), []).append(val)

    loads = ""
    for name in mods.order(machine.modules + args.module):
        gpath = mods.install(name, os.path.join(root, "modules"))
        loads += LOAD.format(path=gpath, name=name,
                             params=" ".join(params.get(name, [])))

    runs = ""
    for t in tests:
        src = os.path.join(BUILD, t["path"])
        if not os.path.isfile(src):
            die("test binary %s missing (make selftests)" % src)
        dst = os.path.join(root, "tests", t["path"])
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst):
            with open(src, "rb") as f:
                elf = f.read(4) == b"\x7fELF"
            if elf:
                subprocess.run(["strip", "--strip-debug", "-o", dst, src], check=True)
            else:               # a busybox sh script
                shutil.copy(src, dst)
        runs += RUN.format(name=t["name"], path=t["path"], timeout=t["timeout"],
                           args=" ".join(shlex.quote(a) for a in t["args"]))

    if args.nested:
        add_nested(root, vmlinuz, mod_m, workdir)

    shell = ""
    if args.shell:
        shell = 'echo "vmtest: interactive shell; exit to power off"\nsetsid cttyhack sh\n'
    init = INIT.format(loads=loads, runs=runs, shell=shell, flush=machine.console_flush(),
                       kmsg=kmsg_body(machine.known_warn_site(mod_m)))
    with open(os.path.join(root, "init"), "w") as f:
        f.write(init)
    os.chmod(os.path.join(root, "init"), 0o755)

    initrd = os.path.join(workdir, "initrd.cpio")
    cpio(root, initrd)
    return initrd


NESTED_INIT = INIT_START + r"""mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
echo "KVXG-BOOTED $(uname -r)"
cmd=
for a in $(cat /proc/cmdline); do
	case $a in kvxg=*) cmd=${a#kvxg=};; esac
done
cd /guest
sh ./$cmd
echo "KVXG-EXIT rc=$?"
poweroff -f
"""


def cpio(root, out_path):
    with open(out_path, "wb") as out:
        find = subprocess.Popen(["find", "."], cwd=root, stdout=subprocess.PIPE)
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root,
                       stdin=find.stdout, stdout=out, check=True)
        find.wait()


def add_nested(root, vmlinuz, mod_m, workdir):
    """Put QEMU 10 and a nested guest into the test machine's initramfs.

    /qemu10/bin/qemu-system-x86_64 with its shared libraries (ldd, at the
    paths the loader looks at), /qemu10/share (for -L) with the firmware,
    /nested/vmlinuz (the kernel the test machine boots) and
    /nested/initrd.cpio: busybox, an init that runs /guest/$kvxg (kvxg= on
    the kernel command line), build/selftests/kvx/guest/ and the VF's guest
    driver kvx-mvf-vf.ko.
    """
    q10 = qemu10()
    qbin = os.path.join(q10, "usr/bin/qemu-system-x86_64")
    os.makedirs(os.path.join(root, "qemu10/bin"))
    os.makedirs(os.path.join(root, "qemu10/share"))
    shutil.copy(qbin, os.path.join(root, "qemu10/bin"))
    out = subprocess.run(["ldd", qbin], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        m = re.search(r"(?:=> )?(/\S+) \(0x", line)
        if not m:
            continue
        dst = os.path.join(root, m.group(1).lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(os.path.realpath(m.group(1)), dst)
    copy_qemu10_firmware(q10, os.path.join(root, "qemu10/share"))

    nroot = os.path.join(workdir, "nested-root")
    shutil.rmtree(nroot, ignore_errors=True)
    for d in ("bin", "sbin", "proc", "sys", "dev", "tmp", "guest"):
        os.makedirs(os.path.join(nroot, d))
    shutil.copy("/bin/busybox", os.path.join(nroot, "bin/busybox"))
    with open(os.path.join(nroot, "init"), "w") as f:
        f.write(NESTED_INIT)
    os.chmod(os.path.join(nroot, "init"), 0o755)
    gsrc = os.path.join(BUILD, "selftests/kvx/guest")
    if os.path.isdir(gsrc):
        for f in os.listdir(gsrc):
            shutil.copy(os.path.join(gsrc, f), os.path.join(nroot, "guest", f))
    # The VF's guest driver, built with kvx-mvf for the same kernel.
    gko = os.path.join(mod_m, "drivers/vfio/mdev/kvx-mvf/guest/kvx-mvf-vf.ko")
    if not os.path.exists(gko):
        die("%s missing (make mvf)" % gko)
    subprocess.run(["strip", "--strip-debug", "-o",
                    os.path.join(nroot, "guest/kvx-mvf-vf.ko"), gko], check=True)
    os.makedirs(os.path.join(root, "nested"))
    shutil.copy(vmlinuz, os.path.join(root, "nested/vmlinuz"))
    cpio(nroot, os.path.join(root, "nested/initrd.cpio"))
    shutil.rmtree(nroot)
