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
# The migration cases share one guest (guest/mvf_mig.sh: the driver's loop
# of DMA rounds and mailbox requests, a KVXG-TICK line a second) on a VF of
# type kvx-mvf-vf-g1, migrated by QMP's migrate over a unix socket to a
# second QEMU (-incoming defer; return-path and switchover-ack, so that the
# destination has loaded the VF's initial pre-copy data before the source
# stops):
#   mvf_qemu_migration_cancel  at 4 MiB/s, cancelled once QEMU has set
#                  PRE_COPY; the guest goes on on the source.
#   mvf_qemu_migration_generation  to a VF of type kvx-mvf-vf-g2: refused
#                  (status failed) before the switchover; the guest goes
#                  on on the source.
#   mvf_qemu_migration  to a g1 VF: PRE_COPY set, completed, the guest's
#                  work goes on on the destination; then the PF takes the
#                  link down, the guest stops its loop and checks every DMA
#                  page against what its last descriptor wrote (a page the
#                  device wrote on the source that dirty tracking missed is
#                  stale there); its config equals the destination VF's.
#                  Prints QEMU's total time, downtime and VFIO bytes.
#   mvf_qemu_migration_novf  the same migration of a guest without a VF
#                  (guest/mvf_idle.sh), for the test machine's own downtime.
#
# Output is KTAP, one result line per case, QEMU's and the guest's output
# as "# " lines, and a closing "N passed, N failed".

Q=/qemu10/bin/qemu-system-x86_64
TYPES=/sys/class/mdev_bus/kvx-mvf-pf0/mdev_supported_types
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

# QEMU runs on the test machine's CPU 1 where it has one, which runs
# without a tick (scripts/vmtest --nested boots it with nohz_full=1): see
# testing.rst, "An unmodified VMM", for the emulator bug this keeps away.
PIN=
[ "$(nproc)" -ge 2 ] && PIN="taskset -c 1"

# The guests' RAM is in 2 MiB huge pages (what a VM host would give them),
# three guests' worth: KVM maps it with 2 MiB NPT entries, and the test
# machine's kernel never moves or reclaims it, so far fewer nested page
# faults, which, taken while an interrupt is being delivered, are one of
# the ways into the emulator bug of testing.rst.
echo 400 >/proc/sys/vm/nr_hugepages

# Options of vfio-pci (none by default).  The migration cases need
# enable-migration=on: QEMU 10's default (auto) migrates a VFIO device only
# with device dirty tracking (VFIO_DEVICE_FEATURE_DMA_LOGGING) or IOMMUFD's,
# and the VFIO core serves DMA logging only with CONFIG_IOMMUFD_DRIVER,
# which Debian's 6.12 lacks.  With it, QEMU takes the dirty pages from the
# type1 container (VFIO_IOMMU_DIRTY_PAGES), exact for an mdev: the pages
# kvx-mvf writes through vfio_dma_rw() (mvf.rst, "Dirty tracking").
VFIO_OPTS=

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

# new_vf [TYPE]: create a VF (default type kvx-mvf-vf), print its UUID.
new_vf() {
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >"$TYPES/${1:-kvx-mvf-vf}/create" || return 1
	echo "$u"
}

# start_guest NAME VF_UUID SCRIPT [QEMU ARGS...]: boot the nested guest
# with the VF in the background, running guest/SCRIPT; its console goes to
# /tmp/NAME.con, QEMU's output (with its trace of the VFIO migration states
# it sets) to /tmp/NAME.qemu, its QMP replies and events to /tmp/NAME.qmpo
# (commands: qmp NAME JSON).  QEMU's PID is in qpid and NAME_pid.
start_guest() {
	name=$1 vf=$2 script=$3
	shift 3
	con=/tmp/$name.con
	rm -f "$con"
	: >"/tmp/$name.qemu"
	rm -f "/tmp/$name.mon.in" "/tmp/$name.mon.out"
	rm -f "/tmp/$name.qmp.in" "/tmp/$name.qmp.out"
	mkfifo "/tmp/$name.mon.in" "/tmp/$name.mon.out"
	mkfifo "/tmp/$name.qmp.in" "/tmp/$name.qmp.out"
	: >"/tmp/$name.qmpo"
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
	dev="-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/$vf$VFIO_OPTS"
	[ "$vf" = none ] && dev=
	$PIN "$Q" -L /qemu10/share -accel kvm -m 256 -nodefaults -display none \
		-object memory-backend-memfd,id=ram,size=256M,hugetlb=on,hugetlbsize=2M \
		-machine memory-backend=ram \
		-cpu $NESTED_CPU \
		-no-reboot -serial "file:$con" \
		-kernel /nested/vmlinuz -initrd /nested/initrd.cpio \
		-append "console=ttyS0 quiet loglevel=4 nokaslr no_timer_check panic=-1 kvxg=$script" \
		$dev \
		-chardev "pipe,id=mon,path=/tmp/$name.mon" -mon chardev=mon,mode=readline \
		-chardev "pipe,id=qmp,path=/tmp/$name.qmp" -mon chardev=qmp,mode=control \
		-trace vfio_migration_set_device_state "$@" \
		>"/tmp/$name.qemu" 2>&1 </dev/null &
	qpid=$!
	eval "${name}_pid=$qpid"
	cat "/tmp/$name.mon.out" >"/tmp/$name.hmp" &
	cat "/tmp/$name.qmp.out" >"/tmp/$name.qmpo" &
	qmp "$name" '{"execute": "qmp_capabilities"}' >/dev/null
}

# qmp NAME JSON: send a QMP command to NAME's QEMU and print its reply (the
# next "return" or "error" line; events are skipped).  QEMU holds both ends
# of its pipes open, so each write is one command of the same session.
qmp() {
	qn=$(grep -c -E '"(return|error)"' "/tmp/$1.qmpo")
	echo "$2" >"/tmp/$1.qmp.in"
	qt=0
	while [ $qt -lt 300 ]; do
		qr=$(grep -E '"(return|error)"' "/tmp/$1.qmpo" | sed -n "$((qn + 1))p")
		if [ -n "$qr" ]; then
			echo "$qr"
			return 0
		fi
		sleep 0.1
		qt=$((qt + 1))
	done
	echo "{\"error\": \"no QMP reply from $1 in 30 s\"}"
	return 1
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
	echo "# $name: guest ran $(($(date +%s) - gstart))s; events re-injected by KVM: $(grep -c reinjected $T/trace)"
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

# "boots N": only boot the nested guest N times, without a VF (what
# testing.rst, "An unmodified VMM", uses to tell L1's KVM from L0's SVM).
if [ "${1:-}" = boots ]; then
	echo "TAP version 13"
	echo "1..$2"
	for i in $(seq "$2"); do
		start_guest "boot$i" none none
		if stop_guest; then
			result ok "nested_boot_$i"
		elif grep -q KVXG-EXIT "/tmp/boot$i.con"; then
			result ok "nested_boot_$i"
		else
			result fail "nested_boot_$i" "$(grep -m1 -E 'BUG|panic' "/tmp/boot$i.con")"
		fi
	done
	echo "$passed passed, $failed failed"
	exit 0
fi

echo "TAP version 13"
# "migration": only the migration cases.
only=${1:-all}
if [ "$only" = migration ]; then
	echo "1..4"
else
	echo "1..6"
fi
echo "# $($Q --version | head -n 1); nohz_full=$(cat /sys/devices/system/cpu/nohz_full 2>/dev/null); QEMU pinned: ${PIN:-no}; $(grep HugePages_Free /proc/meminfo | tr -s ' ') of 2 MiB"

# ---- mvf_qemu_boot: the mailbox page from the guest, with devmem ----
vf1=
[ "$only" = migration ] || vf1=$(new_vf)
if [ "$only" = migration ]; then
	:
elif [ -z "$vf1" ]; then
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
if [ "$only" = migration ]; then
	:
elif [ -z "$vf1" ]; then
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

# ---- migration: QEMU 10 migrates the guest while it works on the VF ----

# use NAME: the guest whose console and QEMU wait_guest and stop_guest
# watch (two QEMUs run at once during a migration).
use() {
	name=$1
	con=/tmp/$1.con
	eval "qpid=\$${1}_pid"
}

# start_dest NAME VF: a QEMU with the guest's command line that waits for
# a migration (-incoming defer, then switchover-ack and migrate-incoming).
start_dest() {
	start_guest "$1" "$2" none -incoming defer
	qmp "$1" '{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "return-path", "state": true}, {"capability": "switchover-ack", "state": true}]}}' >/dev/null
	qmp "$1" "{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"unix:/tmp/$1.sock\"}}" >/dev/null
}

# migrate SRC DST [BYTES_PER_S]: start migrating SRC's guest to DST.
migrate() {
	qmp "$1" "{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"max-bandwidth\": ${3:-1073741824}}}" >/dev/null
	qmp "$1" '{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "return-path", "state": true}, {"capability": "switchover-ack", "state": true}]}}' >/dev/null
	qmp "$1" "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:/tmp/$2.sock\"}}"
}

# status_of JSON: the "status" of a query-migrate reply.
status_of() {
	echo "$1" | sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p'
}

# mig_wait SRC STATUS...: wait until SRC's migration reaches one of the
# STATUSes (or another final one); prints query-migrate's last reply.
mig_wait() {
	mw_src=$1
	shift
	mw_t=0
	while [ $mw_t -lt $((GUEST_TIMEOUT * 2)) ]; do
		mw_r=$(qmp "$mw_src" '{"execute": "query-migrate"}')
		mw_s=$(status_of "$mw_r")
		for st in "$@" completed failed cancelled; do
			if [ "$mw_s" = "$st" ]; then
				echo "$mw_r"
				return 0
			fi
		done
		sleep 0.5
		mw_t=$((mw_t + 1))
	done
	echo "$mw_r"
	return 1
}

# num KEY JSON: the number after "KEY": in JSON.
num() {
	echo "$2" | sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p"
}

# ticks NAME: the guest's last tick number on NAME's console.
ticks() {
	t=$(grep -o 'KVXG-TICK [0-9]*' "/tmp/$1.con" 2>/dev/null | tail -n 1 | cut -d' ' -f2)
	echo "${t:-0}"
}

# more_ticks NAME N: wait until NAME's guest ticks N more times.
more_ticks() {
	mt_goal=$(($(ticks "$1") + $2))
	use "$1"
	mt_start=$(date +%s)
	while [ $(($(date +%s) - mt_start)) -lt "$GUEST_TIMEOUT" ]; do
		[ "$(ticks "$1")" -ge $mt_goal ] && return 0
		grep -q KVXG-EXIT "$con" 2>/dev/null && return 1
		kill -0 $qpid 2>/dev/null || return 1
		sleep 1
	done
	return 1
}

# show_con NAME VF: for a failed case, the end of NAME's console, its
# QEMU's messages and the PF's view of VF.
show_con() {
	tail -n 15 "/tmp/$1.con" 2>/dev/null | sed "s/^/# $1: console tail: /"
	grep -v vfio_migration_set_device_state "/tmp/$1.qemu" | tail -n 10 | sed "s/^/# $1 qemu: /"
	sed "s/^/# $1: VF /" "$DBG/$2/config" 2>/dev/null | head -n 40
}

# PRE_COPY states QEMU set on NAME's VF (QEMU's own trace).
precopies() {
	grep -c 'vfio_migration_set_device_state.*PRE_COPY$' "/tmp/$1.qemu"
}

# stop_qemu NAME: end a QEMU that ran no guest to its end.
stop_qemu() {
	eval "kill \$${1}_pid" 2>/dev/null
	eval "wait \$${1}_pid" 2>/dev/null
	sed "s/^/# $1 qemu: /" "/tmp/$1.qemu" | grep -v vfio_migration_set_device_state | head -n 20
}

VFIO_OPTS=,enable-migration=on
vfa=$(new_vf kvx-mvf-vf-g1)
vfb=$(new_vf kvx-mvf-vf-g1)
vfc=$(new_vf kvx-mvf-vf-g2)
src_ok=0
if [ -z "$vfa" ] || [ -z "$vfb" ] || [ -z "$vfc" ]; then
	echo "# migration: cannot create the VFs ($vfa, $vfb, $vfc)"
else
	start_guest src "$vfa" mvf_mig.sh
	if wait_guest KVXG-MIG-READY && more_ticks src 2; then
		src_ok=1
	else
		stop_guest
		echo "# migration: the source guest did not start its work: $(why src)"
	fi
fi

# src_case NAME: run the case NAME (a function) on the source guest; without
# one, NAME fails.
src_case() {
	if [ $src_ok = 1 ]; then
		"$1"
	else
		result fail "$1" "no source guest"
	fi
}

# ---- mvf_qemu_migration_cancel: cancelled in pre-copy, the source goes on ----
mvf_qemu_migration_cancel() {
	start_dest dstc "$vfb"
	# 4 MiB/s: the guest's RAM takes a minute, the cancel comes first.
	r=$(migrate src dstc 4194304)
	echo "# mvf_qemu_migration_cancel: migrate: $r"
	w=0
	while [ "$(precopies src)" = 0 ] && [ $w -lt 300 ]; do
		sleep 0.1
		w=$((w + 1))
	done
	pc=$(precopies src)
	qmp src '{"execute": "migrate_cancel"}' >/dev/null
	r=$(mig_wait src cancelled)
	st=$(status_of "$r")
	stop_qemu dstc
	echo "# mvf_qemu_migration_cancel: PRE_COPY set $pc time(s), then status $st"
	if [ "$pc" -ge 1 ] && [ "$st" = cancelled ] && more_ticks src 3; then
		echo "# mvf_qemu_migration_cancel: the source guest ticked on to $(ticks src)"
		result ok mvf_qemu_migration_cancel
	else
		show_con src "$vfa"
		result fail mvf_qemu_migration_cancel "PRE_COPY $pc, status '$st', source ticks $(ticks src)"
	fi
}
src_case mvf_qemu_migration_cancel

# ---- mvf_qemu_migration_generation: g1 to a g2 VF is refused before the switchover ----
mvf_qemu_migration_generation() {
	start_dest dstx "$vfc"
	r=$(migrate src dstx)
	r=$(mig_wait src)
	st=$(status_of "$r")
	err=$(echo "$r" | sed -n 's/.*"error-desc": "\([^"]*\)".*/\1/p')
	echo "# mvf_qemu_migration_generation: status $st: $err"
	stop_qemu dstx
	dmesg | grep 'device generation' | tail -n 1 | sed 's/^/# mvf_qemu_migration_generation: destination VF: /'
	# The source never stopped: the guest goes on where it was.
	if [ "$st" = failed ] && more_ticks src 3 && ! grep -q 'KVXG-TICK' /tmp/dstx.con 2>/dev/null; then
		result ok mvf_qemu_migration_generation
	else
		show_con src "$vfa"
		result fail mvf_qemu_migration_generation "status '$st', source ticks $(ticks src)"
	fi
}
src_case mvf_qemu_migration_generation

# ---- mvf_qemu_migration: pre-copy, switchover, the work goes on, nothing lost ----
mvf_qemu_migration() {
	start_dest dst "$vfb"
	before=$(ticks src)
	r=$(migrate src dst)
	r=$(mig_wait src)
	st=$(status_of "$r")
	total=$(num total-time "$r")
	down=$(num downtime "$r")
	ram=$(echo "$r" | sed -n 's/.*"ram": {\([^}]*\)}.*/\1/p')
	vfio=$(echo "$r" | sed -n 's/.*"vfio": {\([^}]*\)}.*/\1/p')
	pc=$(precopies src)
	echo "# mvf_qemu_migration: status $st, total ${total}ms, downtime ${down}ms, PRE_COPY set $pc time(s) in all"
	echo "# mvf_qemu_migration: ram {$ram}"
	echo "# mvf_qemu_migration: vfio {$vfio}"
	echo "# mvf_qemu_migration: device state $(num transferred "{$vfio}") bytes"
	# Exact dirty tracking: the RAM goes before the stop.  Without it QEMU
	# sends every page again while the guest is stopped.
	rtotal=$(num total "{$ram}")
	rdown=$(num downtime-bytes "{$ram}")
	echo "# mvf_qemu_migration: RAM sent while stopped: $rdown of $rtotal bytes"
	ok=1
	why_m=
	[ "$st" = completed ] || { ok=0; why_m="status '$st'"; }
	if [ $ok = 1 ] && [ -n "$rdown" ] && [ -n "$rtotal" ] &&
	   [ $((rdown * 20)) -gt "$rtotal" ]; then
		ok=0
		why_m="$rdown of $rtotal bytes of RAM sent while stopped (over 5%)"
	fi
	if [ $ok = 1 ] && ! more_ticks dst 3; then
		ok=0
		why_m="the guest did not go on on the destination"
	fi
	echo "# mvf_qemu_migration: source ticked to $before before, the destination to $(ticks dst)"
	echo down >"$DBG/link"
	use dst
	stop_guest || { [ $ok = 1 ] && why_m="$(why dst)"; ok=0; }
	echo up >"$DBG/link"
	stop_qemu src
	if [ $ok = 1 ]; then
		for k in mac vlans mcast; do
			g=$(sed -n "s/^KVXG-CFG $k //p" /tmp/dst.con | tr -d '\r')
			p=$(pf_cfg "$vfb" $k)
			echo "# mvf_qemu_migration: $k guest '$g' destination VF '$p'"
			[ "$(sorted $g)" = "$(sorted $p)" ] || { ok=0; why_m="$why_m $k differs"; }
		done
		[ "$(sorted $(pf_cfg "$vfb" vlans))" = "$(sorted 11 22 33)" ] ||
			{ ok=0; why_m="$why_m VLANs are not the guest's 11 22 33"; }
	fi
	if [ $ok = 1 ]; then
		result ok mvf_qemu_migration
	else
		result fail mvf_qemu_migration "$why_m"
	fi
}
src_case mvf_qemu_migration

# ---- mvf_qemu_migration_novf: the same migration without a VF ----
# What QEMU's downtime is on this test machine without the VF: the floor
# the VF's figures compare with.
start_guest base none mvf_idle.sh
if wait_guest KVXG-MIG-READY && more_ticks base 2; then
	start_dest based none
	r=$(migrate base based)
	r=$(mig_wait base)
	st=$(status_of "$r")
	echo "# mvf_qemu_migration_novf: status $st, total $(num total-time "$r")ms, downtime $(num downtime "$r")ms (with the VF: total ${total:-?}ms, downtime ${down:-?}ms)"
	if [ "$st" = completed ] && more_ticks based 2; then
		result ok mvf_qemu_migration_novf
	else
		show_con based none
		result fail mvf_qemu_migration_novf "status '$st', destination ticks $(ticks based)"
	fi
	stop_qemu based
else
	show_con base none
	result fail mvf_qemu_migration_novf "the guest without a VF did not start"
fi
stop_qemu base

for u in $vfa $vfb $vfc; do
	echo 1 >"/sys/bus/mdev/devices/$u/remove"
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
