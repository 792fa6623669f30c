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
#
# Output is KTAP, one result line per case, QEMU's and the guest's output
# as "# " lines, and a closing "N passed, N failed".

Q=/qemu10/bin/qemu-system-x86_64
TYPE=/sys/class/mdev_bus/kvx-mvf-pf0/mdev_supported_types/kvx-mvf-vf
DBG=/sys/kernel/debug/kvx-mvf/kvx-mvf-pf0
# Seconds the nested guest gets to boot and run its script (it boots under
# KVM on kvm-amd, itself under TCG: about a minute on the 2-core machine).
GUEST_TIMEOUT=${GUEST_TIMEOUT:-400}

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

# run_guest NAME VF_UUID SCRIPT: boot the nested guest with the VF, running
# guest/SCRIPT; wait for its KVXG-EXIT line, QEMU's exit or the timeout.
# Leaves the guest's console in /tmp/NAME.con and QEMU's output in
# /tmp/NAME.qemu; returns 0 when the guest printed "KVXG-RESULT ok".
run_guest() {
	name=$1 vf=$2 script=$3
	con=/tmp/$name.con
	rm -f "$con"
	start=$(date +%s)
	"$Q" -L /qemu10/share -accel kvm -m 256 -nodefaults -display none \
		-no-reboot -serial "file:$con" \
		-kernel /nested/vmlinuz -initrd /nested/initrd.cpio \
		-append "console=ttyS0 panic=-1 loglevel=4 kvxg=$script" \
		-device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$vf" \
		>"/tmp/$name.qemu" 2>&1 </dev/null &
	qpid=$!
	while [ $(($(date +%s) - start)) -lt "$GUEST_TIMEOUT" ]; do
		grep -q KVXG-EXIT "$con" 2>/dev/null && break
		kill -0 $qpid 2>/dev/null || break
		# QEMU stops the VM and keeps running on a fatal KVM_RUN error.
		grep -q 'kvm run failed' "/tmp/$name.qemu" && sleep 1 && break
		sleep 1
	done
	secs=$(($(date +%s) - start))
	kill $qpid 2>/dev/null
	wait $qpid 2>/dev/null
	echo "# $name: guest ran ${secs}s"
	sed "s/^/# $name qemu: /" "/tmp/$name.qemu" | head -n 40
	grep -E '^KVXG-|Kernel panic|BUG|WARNING' "$con" 2>/dev/null |
		sed "s/^/# $name guest: /"
	grep -q 'KVXG-RESULT ok' "$con" 2>/dev/null
}

echo "TAP version 13"
echo "1..1"
echo "# $($Q --version | head -n 1)"

# ---- mvf_qemu_boot ----
vf1=$(new_vf)
if [ -z "$vf1" ]; then
	result fail mvf_qemu_boot "cannot create a VF"
elif ! run_guest boot "$vf1" mvf_mbx.sh; then
	why=$(grep -m 1 -E 'kvm run failed|error' /tmp/boot.qemu)
	result fail mvf_qemu_boot "the guest's mailbox exchange did not complete${why:+ (QEMU: $why)}"
else
	gmac=$(sed -n 's/^KVXG-MAC //p' /tmp/boot.con | tr -d '\r')
	pmac=$(sed -n 's/^mac //p' "$DBG/$vf1/config")
	echo "# mvf_qemu_boot: guest MAC $gmac, PF's view $pmac"
	if [ -n "$gmac" ] && [ "$gmac" = "$pmac" ]; then
		result ok mvf_qemu_boot
	else
		result fail mvf_qemu_boot "MAC in the RESET reply differs from the PF's"
	fi
fi
[ -n "$vf1" ] && echo 1 >"/sys/bus/mdev/devices/$vf1/remove"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
