# SPDX-License-Identifier: GPL-2.0
"""The test machines: QEMU TCG (AMD SVM) and Bochs tigerlake (Intel VMX).

A Machine knows how its emulator is started (command line, kernel command
line, memory, the modules KVM needs on it), where its console is (QEMU: a
pipe, copied to console.log; Bochs: its com1 file) and how a run on it is
watched: the overall and boot timeouts, the per-test backstop and the
emulator's exit (watch()).  What the console says is parser.Parser's.
"""

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time

from . import BUILD, die

# QEMU 10 (scripts/deps unpacks it into build/qemu10/) and the firmware files
# a pc machine with -kernel needs; with -nodefaults there is no VGA or NIC
# option ROM to load.
QEMU10_FIRMWARE = ["bios-256k.bin", "kvmvapic.bin", "linuxboot.bin",
                   "linuxboot_dma.bin", "multiboot.bin", "multiboot_dma.bin",
                   "pvh.bin"]


def qemu10():
    """build/qemu10, where scripts/deps unpacked QEMU 10."""
    q10 = os.path.join(BUILD, "qemu10")
    if not os.path.exists(os.path.join(q10, ".done")):
        die("%s missing: run scripts/deps" % q10)
    return q10


def copy_qemu10_firmware(q10, dst):
    for fw in QEMU10_FIRMWARE:
        # SeaBIOS's files are in its own package's directory.
        src = os.path.join(q10, "usr/share/qemu", fw)
        if not os.path.exists(src):
            src = os.path.join(q10, "usr/share/seabios", fw)
        shutil.copy(src, os.path.join(dst, fw))


def bochs_known_warn_site(mod_m):
    """The one WARN the Bochs testbed itself causes, or None.

    Bochs's PML logs the full guest-physical address of a write, where the
    SDM (and real CPUs) clear bits 11:0 of each PML entry; KVM's
    vmx_flush_pml_buffer() then hits WARN_ON(gpa & (PAGE_SIZE - 1)) for every
    write that was not to the start of a page.  KVM uses gpa >> PAGE_SHIFT,
    so nothing else changes.  Only that WARN, at that line of the vmx.c that
    was built, is tolerated, and only on Bochs; the run reports how many.
    Returned as the text its WARNING: line holds, "vmx/vmx.c:LINE
    vmx_handle_exit" (vmx_flush_pml_buffer() is inlined there).
    """
    src = os.path.join(mod_m, "arch/x86/kvm/vmx/vmx.c")
    try:
        with open(src) as f:
            for i, text in enumerate(f, 1):
                if "WARN_ON(gpa & (PAGE_SIZE - 1));" in text:
                    return "/vmx/vmx.c:%d vmx_handle_exit" % i
    except OSError:
        pass
    return None


def known_warn_regex(site):
    """Regex of the WARNING: line of the WARN at site, or None."""
    if site is None:
        return None
    return re.compile(r"WARNING: CPU: \d+ PID: \d+ at \S*" + re.escape(site))


def bochs_known_warn(mod_m):
    """Regex of bochs_known_warn_site()'s WARNING: line, or None."""
    return known_warn_regex(bochs_known_warn_site(mod_m))


class Console:
    """Line reader over the emulator's console (a pipe or a growing file).

    With copy (a file open for writing), every complete line read is also
    written there.
    """

    def __init__(self, fd=None, path=None, copy=None):
        self.path = path
        self.buf = b""
        self.file = None
        self.fd = fd
        self.copy = copy

    def lines(self, wait):
        """Return the complete lines available within `wait` seconds."""
        if self.path is None:
            if self.fd is None:         # end of the pipe
                return []
            r, _, _ = select.select([self.fd], [], [], wait)
            if r:
                data = os.read(self.fd, 65536)
                if not data:
                    self.fd = None
                self.buf += data
        else:
            if self.file is None and os.path.exists(self.path):
                self.file = open(self.path, "rb")
            data = self.file.read() if self.file else b""
            if not data:
                time.sleep(wait)
            self.buf += data
        *full, self.buf = self.buf.split(b"\n")
        lines = [l.decode("utf-8", "replace").rstrip("\r") for l in full]
        if self.copy:
            for line in lines:
                self.copy.write(line + "\n")
        return lines

    def close(self):
        if self.file:
            self.file.close()
        if self.copy:
            self.copy.close()


def kill(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


class Machine:
    """One emulator, started once per run.

    args: vmtest's command line (--mem, --smp, --ips, --kvm, --nested,
    --outer-qemu10, --kernel, --append, --shell); workdir: where its files
    and console.log go.
    """

    name = None
    # Seconds the guest gets to power off by itself once the run is over.
    poweroff_grace = 10
    # Modules loaded in the guest before --module's, in this order
    # (dependencies of stock modules are resolved from the image).
    modules = []

    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.console = os.path.join(workdir, "console.log")
        self.proc = None
        self.con = None

    def cmdline(self):
        """The guest kernel's command line."""
        args = self.args
        # A kernel log buffer large enough that no report between two of
        # the per-test "dmesg -c" reads is lost (the default 128 KiB lost
        # the head of a tolerated Bochs PML WARN and left its call trace
        # unattributed).  no_timer_check: the IO-APIC timer check times
        # the emulator; under QEMU TCG on a loaded host it failed and, with
        # interrupt remapping on, panicked at boot ("timer doesn't work
        # through Interrupt-remapped IO-APIC", seen on 2026-12-06 with a CI
        # run beside it).
        cmdline = "console=ttyS0,115200 loglevel=4 panic=-1 oops=panic " \
                  "panic_on_warn=0 nokaslr log_buf_len=16M no_timer_check " + \
                  args.append
        if args.nested:
            # The nested guest's QEMU runs on CPU 1 (mvf_qemu_test),
            # without the test machine's tick there: each host interrupt
            # that exits L2 while an event is being delivered to it makes
            # KVM inject the event again, and the emulated SVM under it
            # then delivered some twice, with RFLAGS.IF clear (testing.rst,
            # "An unmodified VMM").
            cmdline += " nohz_full=1"
        if args.kernel:
            # QEMU's -cpu max has LA57.  identify_cpu() clears
            # boot_cpu_data's capabilities while it re-reads them, so an
            # interrupt taken then sees pgtable_l5_enabled() false, and
            # KASAN reports the direct-map irq_desc it locks as a
            # wild-memory-access (seen at 0.002 s, in handle_edge_irq under
            # cpu_detect): 4-level paging for the debug kernel, whose tests
            # do not depend on the paging depth.
            cmdline += " no5lvl"
        return cmdline

    def command(self, vmlinuz, initrd, cmdline):
        """The emulator's command line (its files made in workdir)."""
        raise NotImplementedError

    def console_flush(self):
        """Body of the guest init's flush_console() shell function."""
        return "\t:"

    def known_warn_site(self, mod_m):
        """Where the one kernel WARN this machine is known to cause is."""
        return None

    def known_warn(self, mod_m):
        """Regex of the one kernel WARN this machine is known to cause."""
        return known_warn_regex(self.known_warn_site(mod_m))

    def start(self, cmd):
        """Start the emulator for a run; its console is then readable."""
        raise NotImplementedError

    def lines(self, wait):
        return self.con.lines(wait)

    def exited(self):
        return self.proc.poll() is not None

    def stop(self):
        """Give the guest a moment to power off by itself, then stop it."""
        end = time.time() + self.poweroff_grace
        while self.proc.poll() is None and time.time() < end:
            time.sleep(0.2)
        kill(self.proc)
        self.con.close()

    def watch(self, parser, start, timeout, boot_timeout):
        """Feed the console to parser until the guest is done.

        Returns None, or why the run stopped early: the overall timeout
        (host clock, from start), no KVXT-BOOTED within boot_timeout, a
        test past its backstop (parser.hung()), or the emulator's exit.
        The emulator is stopped in any case.
        """
        deadline = start + timeout
        boot_deadline = start + boot_timeout
        failure = None
        try:
            while True:
                now = time.time()
                if now > deadline:
                    failure = "overall timeout (%ds) reached" % timeout
                    break
                if not parser.booted and now > boot_deadline:
                    failure = "boot did not reach init in %ds" % boot_timeout
                    break
                failure = parser.hung(now)
                if failure:
                    break
                exited = self.exited()
                done = False
                # Once the emulator is gone, drain what it wrote last.
                for _ in range(1000 if exited else 1):
                    lines = self.lines(0 if exited else 0.5)
                    for line in lines:
                        if parser.feed(line):
                            done = True
                    if not lines:
                        break
                if done:
                    break
                if exited:
                    failure = "emulator exited (status %d) before the tests finished" % \
                              self.proc.returncode
                    break
        finally:
            self.stop()
        return failure


class Qemu(Machine):
    """QEMU TCG, -cpu max (AMD SVM with nested paging), q35 + intel-iommu.

    Console on the serial port, read from QEMU's stdout; the host copies it
    to console.log.  With --nested or --outer-qemu10 the machine runs on
    build/qemu10's QEMU instead of the system's.
    """

    name = "qemu"
    modules = ["kvm", "kvm_amd"]

    def command(self, vmlinuz, initrd, cmdline):
        args = self.args
        # One TCG thread: multi-threaded TCG races with the guest kernel's
        # cross-CPU code patching (int3 oops in text_poke_bp), and one
        # thread leaves the other core to Bochs.
        accel = "tcg,thread=single"
        if args.kvm:
            accel = "kvm"
        qemu = ["qemu-system-x86_64"]
        # A nested guest needs QEMU 10 as the outer machine: under QEMU
        # 7.2's TCG SVM, L2 took interrupts with RFLAGS.IF clear
        # (testing.rst, "An unmodified VMM").
        if args.outer_qemu10 or args.nested:
            q10 = os.path.join(BUILD, "qemu10")
            share = os.path.join(q10, "share-outer")
            if not os.path.isdir(share):
                os.makedirs(share)
                copy_qemu10_firmware(q10, share)
            qemu = [os.path.join(q10, "usr/bin/qemu-system-x86_64"), "-L", share]
        return qemu + ["-machine", "q35", "-accel", accel,
                       "-cpu", "host" if args.kvm else "max", "-m", str(args.mem or 4096),
                       "-smp", str(args.smp), "-nographic", "-no-reboot",
                       "-kernel", vmlinuz, "-initrd", initrd, "-append", cmdline,
                       "-device", "intel-iommu", "-nic", "none"]

    def start(self, cmd):
        copy = open(self.console, "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.con = Console(fd=self.proc.stdout.fileno(), copy=copy)


class Bochs(Machine):
    """Bochs 2.7 tigerlake (VMX, EPT, A/D, PML, VMFUNC, #VE), one CPU.

    Booted from an isolinux ISO; its console is com1, a file Bochs writes
    (the guest clock follows instruction counts, not wall time).
    """

    name = "bochs"
    modules = ["kvm", "kvm_intel"]

    def cmdline(self):
        # Bochs's clock follows instruction counts: no RCU stall reports.
        # Its tigerlake model is ITS-affected; the ITS mitigation of the
        # stock kernel then trips a CPA W^X WARN at every module load
        # (apply_retpolines -> set_memory_rw), unrelated to KVM.
        return super().cmdline() + " rcupdate.rcu_cpu_stall_suppress=1 tsc=reliable" \
                                   " indirect_target_selection=off"

    def console_flush(self):
        # Bochs writes its com1 file through a stdio buffer that is lost
        # when the machine powers off: the guest pushes markers out with
        # 4 KiB of padding (KVXT-PAD lines, which the parser drops).
        return "\ti=0\n\twhile [ $i -lt 64 ]; do echo KVXT-PAD %s; i=$((i + 1)); done" % \
               ("." * 53)

    def known_warn_site(self, mod_m):
        return bochs_known_warn_site(mod_m)

    def command(self, vmlinuz, initrd, cmdline):
        args = self.args
        workdir = self.workdir
        iso_root = os.path.join(workdir, "iso")
        shutil.rmtree(iso_root, ignore_errors=True)
        os.makedirs(os.path.join(iso_root, "isolinux"))
        shutil.copy("/usr/lib/ISOLINUX/isolinux.bin", os.path.join(iso_root, "isolinux"))
        shutil.copy("/usr/lib/syslinux/modules/bios/ldlinux.c32",
                    os.path.join(iso_root, "isolinux"))
        shutil.copy(vmlinuz, os.path.join(iso_root, "vmlinuz"))
        shutil.copy(initrd, os.path.join(iso_root, "initrd"))
        with open(os.path.join(iso_root, "isolinux/isolinux.cfg"), "w") as f:
            f.write("default linux\nprompt 0\ntimeout 0\nlabel linux\n"
                    "  kernel /vmlinuz\n  initrd /initrd\n  append %s\n" % cmdline)
        iso = os.path.join(workdir, "boot.iso")
        subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-o", iso,
                        "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
                        "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
                        iso_root], check=True, stderr=subprocess.DEVNULL)
        shutil.rmtree(iso_root)
        com1 = "mode=file, dev=%s" % self.console
        if args.shell:
            com1 = "mode=term, dev=%s" % os.ttyname(sys.stdin.fileno())
        rc = os.path.join(workdir, "bochs.rc")
        with open(rc, "w") as f:
            f.write("c\nquit\n")
        conf = os.path.join(workdir, "bochsrc")
        # No sound: Bochs 2.7's mixer thread aborts (a fortify "buffer
        # overflow") on a host with ALSA's libraries and no sound card.
        with open(conf, "w") as f:
            f.write("""megs: {mem}
cpu: model=tigerlake, count=1, ips={ips}, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
pci: enabled=1, chipset=i440fx
ata0-master: type=cdrom, path={iso}, status=inserted
boot: cdrom
com1: enabled=1, {com1}
display_library: rfb, options="timeout=0"
speaker: enabled=0
sound: driver=dummy
clock: sync=none, time0=local
log: {log}
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
""".format(mem=args.mem or 2048, ips=args.ips, iso=iso, com1=com1,
                log=os.path.join(workdir, "bochs.log")))
        return ["bochs", "-q", "-f", conf, "-rc", rc]

    def start(self, cmd):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.con = Console(path=self.console)


MACHINES = {m.name: m for m in (Qemu, Bochs)}
