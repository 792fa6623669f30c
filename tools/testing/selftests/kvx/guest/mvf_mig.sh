#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# In the nested guest of mvf_qemu_test, mvf_qemu_migration: the VF's guest
# driver binds the VF, sets MAC, VLANs and multicast, and starts its loop
# (DMA rounds into 32 DMA pages and a VLAN added and removed on the mailbox,
# without a pause).  The guest then prints a KVXG-TICK line every second
# while the host migrates it, with QEMU, to another QEMU and another VF.
# The host ends the work with a PF_LINK message (link down), sent on the
# destination's side once the guest ticks there; the guest stops the loop,
# checks every DMA page against what its last descriptor wrote (a page
# written by the device on the source and not sent again is caught here)
# and prints its configuration for the host to compare with the PF's view.

fail() {
	dmesg | grep -iE 'kvx|pci 0000:00:0[0-9]' | tail -n 20 | sed 's/^/KVXG-DMESG /'
	echo "KVXG-RESULT fail $*"
	exit 1
}

stat() { sed -n "s/^$1 //p" "$D/stats"; }

insmod /guest/kvx-mvf-vf.ko || fail "insmod kvx-mvf-vf.ko"
D=
for d in /sys/bus/pci/drivers/kvx-mvf-vf/0000:*; do
	[ -e "$d/kvx_mvf/stats" ] && D=$d/kvx_mvf
done
[ -n "$D" ] || fail "kvx-mvf-vf bound no device"
echo 02:4b:56:58:00:0a >"$D/mac" || fail "SET_MAC"
for v in +11 +22 +33; do
	echo $v >"$D/vlans" || fail "SET_VLAN $v"
done
echo "0x101 0x202" >"$D/mcast" || fail "SET_MCAST"
echo 10 >"$D/dma" || fail "DMA rounds"
echo 1 >"$D/loop" || fail "loop"
echo "KVXG-MIG-READY"

i=0
while grep -q '^up' "$D/link"; do
	i=$((i + 1))
	echo "KVXG-TICK $i iters $(stat loop_iters) errors $(stat loop_errors)"
	sleep 1
done
echo 0 >"$D/loop"
echo "KVXG-INFO link $(cat "$D/link") after $i ticks"
dma=$(cat "$D/dma")
echo "KVXG-INFO dma: $dma"
echo "KVXG-CFG mac $(cat "$D/mac")"
echo "KVXG-CFG vlans $(cat "$D/vlans")"
echo "KVXG-CFG mcast $(cat "$D/mcast")"
tr '\n' ' ' <"$D/stats" | sed 's/^/KVXG-INFO stats: /'
echo
case $dma in *" bad 0 "*) ;; *) fail "DMA pages differ from what the descriptors wrote: $dma" ;; esac
[ "$(stat loop_errors)" = 0 ] || fail "$(stat loop_errors) loop errors"
[ "$(stat dma_errors)" = 0 ] || fail "DMA errors"
[ "$(stat mbx_errors)" = 0 ] || fail "mailbox errors"
[ "$(stat nacks)" = 0 ] || fail "NACKs"
echo "KVXG-RESULT ok"
