#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kvx-mvf with an unmodified VMM: QEMU 10 (Debian's, from bookworm-backports)
# runs a KVM guest that has a VF assigned with the default options of
# vfio-pci, inside the QEMU test machine (scripts/vmtest --nested puts QEMU
# in /qemu10 and the nested guest, the same kernel with a busybox initramfs,
# in /nested).
#
#   mvf_qemu_boot  the guest boots and runs a mailbox exchange (RESET) on
#                  the VF's BAR0 with busybox devmem (guest/mvf_mbx.sh); the
#                  reply carries the MAC the PF shows in debugfs.
#   mvf_qemu_driver  the VF's guest driver (kvx-mvf-vf.ko) binds it, sets
#                  MAC, VLANs and multicast and runs DMA rounds whose
#                  buffers it checks (guest/mvf_drv.sh); the PF takes the
#                  link down (PF_LINK) and sends a reset notice, after which
#                  the driver restores its config; the PF's view of the
#                  config (debugfs) equals the guest's.
#
# Output is KTAP, one result line per case, QEMU's and the guest's output
# as "# " lines, and a closing "N passed, N failed".

Q=/qemu10/bin/qemu-system-x86_64
TYPE=/sys/class/mdev_bus/kvx-mvf-pf0/mdev_supported_types/kvx-mvf-vf
DBG=/sys/kernel/debug/kvx-mvf/kvx-mvf-pf0
# Seconds the nested guest gets to boot and run its script.  It is L2 (KVM
# on kvm-amd, whose SVM is TCG): 25-35 s in all on a 2-core machine, but
# every exit it takes (a console character is one, hence "quiet") goes
# through emulated SVM, so it slows down far more than the host under load.
GUEST_TIMEOUT=${GUEST_TIMEOUT:-300}

# The nested guest's CPU: QEMU's default for KVM (qemu64 with the KVM
# paravirtual features), with kvm=off, which hides KVM's CPUID leaves, so
# that the guest uses none of them (kvmclock, PV EOI, async page faults,
# PV TLB flush, steal time), and with ARAT (the APIC timer keeps running in
# idle, no broadcast tick).  With the PV features on, the guest took an
# interrupt with RFLAGS.IF clear soon after its first write to the
# write-tracked mailbox page (KVM emulates it) and deadlocked on a lock of
# the interrupted handler (hrtimer_interrupt in hrtimer_interrupt, or
# handle_edge_irq in handle_edge_irq) or overflowed its stack
# (testing.rst, "An unmodified VMM").
NESTED_CPU=qemu64,+arat,kvm=off

passed=0
failed=0
n=0

result() {
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n $2"
		passed=$((passed + 1))
	else
		echo "not ok $n $2${3:+ # $3}"
		failed=$((failed + 1))
	fi
}

new_vf() {
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >"$TYPE/create" || return 1
	echo "$u"
}

# start_guest NAME VF_UUID SCRIPT: boot the nested guest with the VF in the
# background, running guest/SCRIPT; its console goes to /tmp/NAME.con and
# QEMU's output to /tmp/NAME.qemu.
start_guest() {
	name=$1 vf=$2
	con=/tmp/$name.con
	rm -f "$con"
	: >"/tmp/$name.qemu"
	rm -f "/tmp/$name.mon.in" "/tmp/$name.mon.out"
	mkfifo "/tmp/$name.mon.in" "/tmp/$name.mon.out"
	gstart=$(date +%s)
	ndiag=0
	# For the whole run: exits taken during an event's delivery and the
	# events KVM injected again after one (printed if the guest fails).
	T=/sys/kernel/tracing
	[ -e $T/trace ] || mount -t tracefs nodev $T
	echo 0 >$T/events/kvm/enable
	echo 4096 >$T/buffer_size_kb
	: >$T/trace
	echo 'intr_info & 0x80000000' >$T/events/kvm/kvm_exit/filter
	echo 'reinjected != 0' >$T/events/kvm/kvm_inj_virq/filter
	echo 1 >$T/events/kvm/kvm_exit/enable
	echo 1 >$T/events/kvm/kvm_inj_virq/enable
	echo 1 >$T/events/kvm/kvm_inj_exception/enable
	"$Q" -L /qemu10/share -accel kvm -m 256 -nodefaults -display none \
		-cpu $NESTED_CPU \
		-no-reboot -serial "file:$con" \
		-kernel /nested/vmlinuz -initrd /nested/initrd.cpio \
		-append "console=ttyS0 quiet loglevel=4 nokaslr no_timer_check panic=-1 kvxg=$3" \
		-device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$2" \
		-chardev "pipe,id=mon,path=/tmp/$name.mon" -mon chardev=mon,mode=readline \
		>"/tmp/$name.qemu" 2>&1 </dev/null &
	qpid=$!
	cat "/tmp/$name.mon.out" >"/tmp/$name.hmp" &
}

# diag: for a guest that is late, where its vCPU is (HMP: registers, PIC,
# APIC, the code at RIP, the stack with kernel text addresses named from
# /proc/kallsyms) and what exits it takes (KVM's trace events for one
# second).
diag() {
	el=$(($(date +%s) - gstart))
	echo "# $name: diag at ${el}s: kvm exits $(cat /sys/kernel/debug/kvm/exits) io $(cat /sys/kernel/debug/kvm/io_exits) halt $(cat /sys/kernel/debug/kvm/halt_exits) irq $(cat /sys/kernel/debug/kvm/irq_exits 2>/dev/null) irqwin $(cat /sys/kernel/debug/kvm/irq_window_exits 2>/dev/null) inj $(cat /sys/kernel/debug/kvm/irq_injections 2>/dev/null) hwi $(cat /sys/kernel/debug/kvm/halt_wakeup 2>/dev/null)"
	: >"/tmp/$name.hmp"
	for c in "info registers" "info pic" "info lapic" "x/32xb \$pc-16" "x/48gx \$sp"; do
		echo "$c" >"/tmp/$name.mon.in"
	done
	# A snapshot of every KVM event (the delivery trace of start_guest is
	# shown, then replaced by it).
	T=/sys/kernel/tracing
	grep -v '^#' $T/trace | tail -n 20 |
		sed 's/^.*\] [^ ]* *\([0-9.]*\): /\1 /' | sed "s/^/# $name: kvm trace: /"
	echo 0 >$T/events/kvm/kvm_exit/filter
	echo 0 >$T/events/kvm/kvm_inj_virq/filter
	: >$T/trace
	echo 1 >$T/events/kvm/enable
	sleep 1
	echo 0 >$T/events/kvm/enable
	sleep 2
	grep -E 'RIP|RFL|CR0|EFER|RSP|^ *(IRR|ISR|LVT|Timer|LVTT)|pic|irr|isr|imr|^ffff' "/tmp/$name.hmp" | head -n 60 | sed "s/^/# $name: hmp: /"
	# Kernel text addresses at RIP and on the stack, by name (the nested
	# guest runs the test machine's kernel, both with nokaslr).
	{ sed -n 's/.*RIP=\([0-9a-f]*\).*/\1/p' "/tmp/$name.hmp"
	  grep -o '0xffffffff8[0-9a-f]*' "/tmp/$name.hmp" | sed 's/^0x//'; } | head -n 30 >/tmp/addrs
	grep ' [tT] ' /proc/kallsyms | grep '^ffffffff8' >/tmp/ksyms
	awk 'NR == FNR { a[n++] = $1; next }
	     { for (i = 0; i < n; i++) if (($1 "") <= (a[i] "")) best[i] = $3 " " $1 }
	     END { for (i = 0; i < n; i++) print a[i], best[i] }' /tmp/addrs /tmp/ksyms |
		sed "s/^/# $name: sym: /"
	grep -v '^#' $T/trace | sed 's/.*: \(kvm_[a-z_]*\):.*/\1/' | sort | uniq -c | sort -rn | head -n 20 | sed "s/^/# $name: events: /"
	grep 'kvm_exit:' $T/trace | sed 's/.*kvm_exit: //; s/ info.*//' | sort | uniq -c | sort -rn | head -n 15 | sed "s/^/# $name: exits: /"
	# Exits in the middle of an event's delivery (EXITINTINFO on SVM).
	grep 'kvm_exit:' $T/trace | grep 'intr_info 0x[89a-f]' | head -n 10 |
		sed 's/.*kvm_exit: //' | sed "s/^/# $name: exit during delivery: /"
	grep -v '^#' $T/trace | head -n 40 | sed 's/^.*\] [^ ]* *[0-9.]*: //' | sed "s/^/# $name: trace: /"
}

# wait_guest PATTERN: wait for PATTERN on the guest's console; fails when
# the guest exits, QEMU exits or stops the VM, or at the timeout.
wait_guest() {
	while [ $(($(date +%s) - gstart)) -lt "$GUEST_TIMEOUT" ]; do
		grep -q "$1" "$con" 2>/dev/null && return 0
		grep -q KVXG-EXIT "$con" 2>/dev/null && return 1
		kill -0 $qpid 2>/dev/null || return 1
		# QEMU stops the VM and keeps running on a fatal KVM_RUN error.
		grep -q 'kvm run failed' "/tmp/$name.qemu" && return 1
		if [ $(($(date +%s) - gstart)) -ge $((90 + 90 * ndiag)) ] && [ $ndiag -lt 2 ]; then
			ndiag=$((ndiag + 1))
			diag
		fi
		sleep 1
	done
	return 1
}

# stop_guest: wait for the guest's end, stop QEMU, show both outputs;
# succeeds when the guest printed "KVXG-RESULT ok".
stop_guest() {
	if ! wait_guest KVXG-EXIT && kill -0 $qpid 2>/dev/null; then
		# Where QEMU's threads are, for a guest that hangs.
		for t in /proc/$qpid/task/*; do
			echo "# $name: QEMU thread ${t##*/} $(cat "$t/comm") in $(cat "$t/wchan"):"
			sed "s/^/#   /" "$t/stack" 2>/dev/null | head -n 12
		done
		# KVM's counters for the VM and the PF's view of the VF.
		for f in exits mmio_exits io_exits pf_taken pf_emulate pf_fixed \
			 halt_exits insn_emulation; do
			echo "# $name: kvm $f $(cat /sys/kernel/debug/kvm/$f 2>/dev/null)"
		done
		sed "s/^/# $name: VF /" "$DBG/$vf/config" 2>/dev/null | head -n 30
		tail -n 25 "$con" | sed "s/^/# $name: console tail: /"
	fi
	kill $qpid 2>/dev/null
	wait $qpid 2>/dev/null
	T=/sys/kernel/tracing
	echo 0 >$T/events/kvm/enable
	echo 0 >$T/events/kvm/kvm_exit/filter
	echo 0 >$T/events/kvm/kvm_inj_virq/filter
	if ! grep -q 'KVXG-RESULT ok' "$con" 2>/dev/null; then
		grep -v '^#' $T/trace | grep -c . | sed "s/^/# $name: kvm trace events: /"
		grep -v '^#' $T/trace | tail -n 30 |
			sed 's/^.*\] [^ ]* *\([0-9.]*\): /\1 /' | sed "s/^/# $name: kvm trace: /"
	fi
	echo "# $name: guest ran $(($(date +%s) - gstart))s"
	sed "s/^/# $name qemu: /" "/tmp/$name.qemu" | head -n 40
	grep -E "^KVXG-|kvx-mvf-vf|Kernel panic|BUG|WARNING|Call Trace" "$con" 2>/dev/null |
		sed "s/^/# $name guest: /"
	grep -q 'KVXG-RESULT ok' "$con" 2>/dev/null
}

# Why a guest failed, for the result line.
why() {
	w=$(grep -m 1 -E 'kvm run failed|: [Ee]rror|Failed' "/tmp/$1.qemu")
	[ -n "$w" ] && w="QEMU: $w"
	[ -n "$w" ] || w=$(sed -n 's/^KVXG-RESULT fail //p' "/tmp/$1.con" 2>/dev/null | head -n 1)
	[ -n "$w" ] || w="no result from the guest"
	echo "$w"
}

# The PF's view of a VF's config, one "key value" line.
pf_cfg() {
	sed -n "s/^$2 //p" "$DBG/$1/config"
}

# Words of a line, sorted: the PF keeps VLANs in its own order.
sorted() {
	echo "$*" | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' '
}

echo "TAP version 13"
echo "1..2"
echo "# $($Q --version | head -n 1)"

# ---- mvf_qemu_boot: the mailbox page from the guest, with devmem ----
vf1=$(new_vf)
if [ -z "$vf1" ]; then
	result fail mvf_qemu_boot "cannot create a VF"
else
	start_guest boot "$vf1" mvf_mbx.sh
	if ! stop_guest; then
		result fail mvf_qemu_boot "the guest's mailbox exchange failed: $(why boot)"
	else
		gmac=$(sed -n 's/^KVXG-MAC //p' /tmp/boot.con | tr -d '\r')
		pmac=$(pf_cfg "$vf1" mac)
		echo "# mvf_qemu_boot: guest MAC $gmac, PF's view $pmac"
		if [ -n "$gmac" ] && [ "$gmac" = "$pmac" ]; then
			result ok mvf_qemu_boot
		else
			result fail mvf_qemu_boot "MAC in the RESET reply differs from the PF's"
		fi
	fi
fi

# ---- mvf_qemu_driver: the guest driver, PF link change and reset notice ----
if [ -z "$vf1" ]; then
	result fail mvf_qemu_driver "cannot create a VF"
else
	start_guest drv "$vf1" mvf_drv.sh
	ok=1
	if wait_guest KVXG-WAIT-LINK; then
		echo down >"$DBG/link"
	else
		ok=0
	fi
	if [ $ok = 1 ] && wait_guest KVXG-WAIT-RESET; then
		echo reset >"$DBG/$vf1/event"
	fi
	stop_guest || ok=0
	echo up >"$DBG/link"
	if [ $ok = 0 ]; then
		result fail mvf_qemu_driver "$(why drv)"
	else
		bad=
		for k in mac vlans mcast; do
			g=$(sed -n "s/^KVXG-CFG $k //p" /tmp/drv.con | tr -d '\r')
			p=$(pf_cfg "$vf1" $k)
			echo "# mvf_qemu_driver: $k guest '$g' PF '$p'"
			[ "$(sorted $g)" = "$(sorted $p)" ] || bad="$bad $k"
		done
		if [ -n "$bad" ]; then
			result fail mvf_qemu_driver "guest and PF differ in:$bad"
		else
			result ok mvf_qemu_driver
		fi
	fi
fi
[ -n "$vf1" ] && echo 1 >"/sys/bus/mdev/devices/$vf1/remove"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
