#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# In the nested guest of mvf_qemu_test: the VF's guest driver
# (kvx-mvf-vf.ko) binds the VF, and this script configures it through the
# driver's sysfs files: MAC, VLANs, multicast, DMA rounds checked page by
# page; then it waits for a PF_LINK message (link down) and for a PF reset
# notice, which the test in the host sends when it sees KVXG-WAIT-*, and
# checks that the driver restored the configuration after the reset.
# Prints KVXG- lines; the host compares KVXG-CFG with the PF's view.

fail() {
	dmesg | grep -iE 'kvx|pci 0000:00:0[0-9]' | tail -n 20 | sed 's/^/KVXG-DMESG /'
	echo "KVXG-RESULT fail $*"
	exit 1
}

# wait_until SECONDS CMD...: poll every 0.2 s until CMD succeeds.
wait_until() {
	n=$(($1 * 5))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

stat() { sed -n "s/^$1 //p" "$D/stats"; }

echo "KVXG-STEP insmod"
insmod /guest/kvx-mvf-vf.ko || fail "insmod kvx-mvf-vf.ko"
echo "KVXG-STEP bound"
D=
for d in /sys/bus/pci/drivers/kvx-mvf-vf/0000:*; do
	[ -e "$d/kvx_mvf/stats" ] && D=$d/kvx_mvf
done
[ -n "$D" ] || fail "kvx-mvf-vf bound no device:" $(ls /sys/bus/pci/drivers/kvx-mvf-vf/) "/" $(ls /sys/bus/pci/devices/0000:00:02.0/)
echo "KVXG-INFO bound $D, MAC $(cat "$D/mac"), link $(cat "$D/link")"

echo "KVXG-STEP config"
echo 02:4b:56:58:00:01 >"$D/mac" || fail "SET_MAC"
for v in +10 +20 +30 -20; do
	echo $v >"$D/vlans" || fail "SET_VLAN $v"
done
echo "0x7ff 0x012 0x345" >"$D/mcast" || fail "SET_MCAST"
echo "KVXG-STEP dma"
echo 100 >"$D/dma" || fail "DMA rounds"
dma=$(cat "$D/dma")
echo "KVXG-INFO dma: $dma"
case $dma in *" bad 0 "*) ;; *) fail "DMA buffers differ from the descriptors: $dma" ;; esac

link_down() { grep -q '^down' "$D/link"; }
echo "KVXG-WAIT-LINK"
wait_until 60 link_down || fail "no PF_LINK message (link $(cat "$D/link"))"
echo "KVXG-INFO link $(cat "$D/link") after $(stat link_msgs) PF_LINK message(s)"

resets=$(stat resets)
reset_done() { [ "$(stat resets)" -gt "$resets" ] && [ "$(cat "$D/mac")" = 02:4b:56:58:00:01 ]; }
echo "KVXG-WAIT-RESET"
wait_until 60 reset_done || fail "no reset after the PF's notice"
sleep 1
echo 20 >"$D/dma" || fail "DMA rounds after the reset"

echo "KVXG-CFG mac $(cat "$D/mac")"
echo "KVXG-CFG vlans $(cat "$D/vlans")"
echo "KVXG-CFG mcast $(cat "$D/mcast")"
tr '\n' ' ' <"$D/stats" | sed 's/^/KVXG-INFO stats: /'
echo
[ "$(stat mbx_errors)" = 0 ] || fail "mailbox errors"
[ "$(stat nacks)" = 0 ] || fail "NACKs"
[ "$(stat dma_errors)" = 0 ] || fail "DMA errors"
echo "KVXG-RESULT ok"
