#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# In the nested guest of mvf_qemu_test: find the kvx-mvf VF (1b36:10f0),
# enable it, and run one mailbox exchange on its BAR0 with busybox devmem,
# as a VF driver would (mvf.rst, "Mailbox protocol"): read ID, then RESET,
# whose reply is ACK|CTS with the PF-assigned MAC.  Prints KVXG- lines.

fail() {
	echo "KVXG-RESULT fail $*"
	exit 1
}

dev=
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" = 0x1b36 ] && [ "$(cat "$d/device")" = 0x10f0 ]; then
		dev=$d
	fi
done
[ -n "$dev" ] || fail "no 1b36:10f0 device in the guest"
echo "KVXG-INFO VF at ${dev##*/}, revision $(cat "$dev/revision")"
echo 1 >"$dev/enable" || fail "cannot enable $dev"
bar=$(($(head -n 1 "$dev/resource" | cut -d' ' -f1)))
[ "$bar" != 0 ] || fail "BAR0 not assigned"
printf 'KVXG-INFO BAR0 at 0x%x\n' "$bar"

rd() { echo $(($(devmem $((bar + $1)) 32))); }
wr() { devmem $((bar + $1)) 32 $2; }

MBX=0x1000
MEM=0x1040
VFU=4
REQ=1
ACK=2
PFSTS=16
PFACK=32

id=$(rd 0)
[ "$id" = $((0x4b4d5646)) ] || fail "$(printf 'ID 0x%x, expected 0x4b4d5646' "$id")"
printf 'KVXG-INFO ID 0x%x VERSION 0x%x STATUS 0x%x\n' "$id" "$(rd 4)" "$(rd 8)"

# RESET: take VFU, post the message, REQ, wait for PFACK and PFSTS (read
# to clear: keep what was read), take VFU, read the reply, ACK.
wr $MBX $VFU
[ $(($(rd $MBX) & VFU)) != 0 ] || fail "VFU not granted"
wr $MEM 1
wr $MBX $((VFU | REQ))
seen=0
i=0
while [ $((seen & (PFSTS | PFACK))) != $((PFSTS | PFACK)) ]; do
	seen=$((seen | $(rd $MBX)))
	i=$((i + 1))
	[ $i -lt 1000 ] || fail "$(printf 'no reply, VFMAILBOX bits seen 0x%x' $seen)"
done
wr $MBX $VFU
w0=$(rd $MEM)
w1=$(rd $((MEM + 4)))
w2=$(rd $((MEM + 8)))
w3=$(rd $((MEM + 12)))
wr $MBX $ACK
printf 'KVXG-INFO RESET reply 0x%08x 0x%08x 0x%08x 0x%08x\n' $w0 $w1 $w2 $w3
[ "$w0" = $((0xa0000001)) ] || fail "$(printf 'RESET reply header 0x%x, expected 0xa0000001' $w0)"
[ "$w3" = $((0x100)) ] || fail "$(printf 'RESET reply API 0x%x, expected 0x100' $w3)"
printf 'KVXG-MAC %02x:%02x:%02x:%02x:%02x:%02x\n' $((w1 & 255)) $((w1 >> 8 & 255)) \
	$((w1 >> 16 & 255)) $((w1 >> 24 & 255)) $((w2 & 255)) $((w2 >> 8 & 255))
echo "KVXG-RESULT ok"
